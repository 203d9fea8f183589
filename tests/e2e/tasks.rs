//! Tasks (API.md §7), in the reference server's wire format: one task answers the task, the
//! batch forms `{results, errors}`, and `/tasks/batch` bare arrays.

use serde_json::{json, Value};

use crate::harness::{unique, Client, Key, Resp};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("tasks::a_task_is_created_read_completed_and_deleted", a_task_is_created_read_completed_and_deleted),
    ("tasks::bad_tasks_are_400_naming_the_field_and_write_nothing", bad_tasks_are_400_naming_the_field_and_write_nothing),
    ("tasks::timestamps_are_taken_as_the_reference_server_takes_them", timestamps_are_taken_as_the_reference_server_takes_them),
    ("tasks::task_batches_answer_per_item_and_bare_arrays", task_batches_answer_per_item_and_bare_arrays),
    ("tasks::a_batch_patch_is_checked_before_anything_is_written", a_batch_patch_is_checked_before_anything_is_written),
    ("tasks::an_update_checks_only_the_references_it_changes", an_update_checks_only_the_references_it_changes),
    ("tasks::owners_are_checked_while_users_exist", owners_are_checked_while_users_exist),
    ("tasks::every_change_is_in_the_task_history", every_change_is_in_the_task_history),
    ("tasks::batch_forms_run_a_fixed_number_of_statements", batch_forms_run_a_fixed_number_of_statements),
    ("tasks::a_large_task_batch_is_served_in_chunks_in_request_order", a_large_task_batch_is_served_in_chunks_in_request_order),
];

pub fn ok(resp: Resp) -> Value {
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

/// A new contact on `c`, its crmId.
pub fn contact(c: &Client) -> String {
    let body = ok(c.json("POST", "/contacts", &json!({"contacts": [{"externalId": unique("work"), "firstName": "Work"}]})));
    body["results"][0]["crmId"].as_str().unwrap().to_string()
}

/// A new company on `c`, its crmId.
pub fn company(c: &Client) -> String {
    let body = ok(c.json("POST", "/companies", &json!({"companies": [{"externalId": unique("work"), "name": unique("Work Co")}]})));
    body["results"][0]["crmId"].as_str().unwrap().to_string()
}

/// A new user on `c` (owners are then checked on that server), its id.
pub fn user(c: &Client) -> String {
    let body = ok(c.json("POST", "/users", &json!({"name": "Owner", "email": format!("{}@e2e.test", unique("owner"))})));
    body["id"].as_str().unwrap().to_string()
}

fn create(app: &App, body: Value) -> Value {
    let resp = app.api.json("POST", "/tasks", &body);
    app.conforms("/tasks", "POST", &resp);
    ok(resp)
}

fn delete(c: &Client, path: &str) -> Resp {
    c.send("DELETE", path, Key::Valid, &[], None)
}

fn a_task_is_created_read_completed_and_deleted(app: &App) {
    let (ct, co) = (contact(&app.api), company(&app.api));
    let task = create(
        app,
        json!({"subject": "Call back", "description": "About the demo", "type": "CALL", "priority": "HIGH", "status": "open",
               "dueDate": "2030-01-02T09:00:00+02:00", "contactId": ct, "companyId": co, "playbook": "A", "properties": {"tier": 1}}),
    );
    let id = task["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("tk_"));
    assert_eq!((task["completed"].clone(), task["completedAt"].clone()), (json!(false), Value::Null));
    assert_eq!(task["dueDate"], "2030-01-02T07:00:00.000Z", "stored in UTC with milliseconds");
    assert_eq!((task["contactId"].as_str(), task["companyId"].as_str()), (Some(ct.as_str()), Some(co.as_str())));
    assert_eq!(task["properties"], json!({"playbook": "A", "tier": 1}), "unknown fields are properties");
    assert_eq!(task["createdAt"], task["updatedAt"]);
    let resp = app.api.get(&format!("/tasks/{id}"));
    app.conforms("/tasks/{id}", "GET", &resp);
    assert_eq!(ok(resp), task);

    let resp = app.api.json("PATCH", &format!("/tasks/{id}"), &json!({"completed": true}));
    app.conforms("/tasks/{id}", "PATCH", &resp);
    let done = ok(resp);
    assert_eq!(done["completed"], true);
    let completed_at = done["completedAt"].as_str().expect("completedAt set").to_string();
    assert!(done["updatedAt"].as_str() > task["updatedAt"].as_str());
    assert_eq!(done["subject"], "Call back", "a patch changes only what it sends");
    let again = ok(app.api.json("PATCH", &format!("/tasks/{id}"), &json!({"completed": true})));
    assert_eq!(again["completedAt"], completed_at.as_str(), "completing twice keeps the first time");
    let undone = ok(app.api.json("PATCH", &format!("/tasks/{id}"), &json!({"completed": false, "status": null, "playbook": null})));
    assert_eq!((undone["completed"].clone(), undone["completedAt"].clone()), (json!(false), Value::Null));
    assert_eq!(undone["status"], Value::Null, "null clears");
    assert_eq!(undone["properties"], json!({"tier": 1}));

    let resp = delete(&app.api, &format!("/tasks/{id}"));
    app.conforms("/tasks/{id}", "DELETE", &resp);
    assert_eq!(ok(resp), json!({"id": id, "deleted": true}));
    for resp in [
        app.api.get(&format!("/tasks/{id}")),
        app.api.json("PATCH", &format!("/tasks/{id}"), &json!({"completed": true})),
        delete(&app.api, &format!("/tasks/{id}")),
        app.api.get("/tasks/tk_nope"),
    ] {
        assert_eq!(resp.status, 404, "{}", resp.text());
        assert_eq!(resp.json()["error"], "Task not found");
        assert_eq!(resp.json()["code"], "not_found");
    }
    app.conforms("/tasks/{id}", "GET", &app.api.get("/tasks/tk_nope"));
}

fn bad_tasks_are_400_naming_the_field_and_write_nothing(app: &App) {
    for (body, field) in [
        (json!({"type": "CALL"}), "subject"),
        (json!({"subject": "  "}), "subject"),
        (json!({"subject": 42}), "subject"),
        (json!({"subject": "x", "dueDate": "next week"}), "dueDate"),
        (json!({"subject": "x", "dueDate": "2024-02-30T10:00:00Z"}), "dueDate"),
        (json!({"subject": "x", "completed": "yes"}), "completed"),
        (json!({"subject": "x", "contactId": "ct_missing"}), "contactId"),
        (json!({"subject": "x", "companyId": "co_missing"}), "companyId"),
        (json!({"subject": "x", "contactId": ""}), "contactId"),
        (json!({"subject": "x", "properties": "p"}), "properties"),
    ] {
        let resp = app.api.json("POST", "/tasks", &body);
        assert_eq!(resp.status, 400, "{body}: {}", resp.text());
        app.conforms("/tasks", "POST", &resp);
        let error = resp.json();
        assert_eq!(error["details"][0]["path"], field, "{body}");
        assert!(error["error"].as_str().unwrap().contains(field), "the sentence names the field: {error}");
    }
    // A contact deleted before the task names it is as unknown as one never created.
    let ct = contact(&app.api);
    assert_eq!(delete(&app.api, &format!("/contacts/{ct}")).status, 200);
    let resp = app.api.json("POST", "/tasks", &json!({"subject": "x", "contactId": ct}));
    assert_eq!((resp.status, resp.json()["details"][0]["path"].clone()), (400, json!("contactId")));
    for body in [json!(["not", "an", "object"]), json!("task"), json!({"tasks": "none"})] {
        let resp = app.api.json("POST", "/tasks", &body);
        assert_eq!(resp.status, 400, "{body}");
        app.conforms("/tasks", "POST", &resp);
    }
    let resp = app.api.send("POST", "/tasks", Key::Valid, &[("Content-Type", "text/plain")], Some(b"subject"));
    assert_eq!(resp.status, 415);
}

fn timestamps_are_taken_as_the_reference_server_takes_them(app: &App) {
    // The reference server passes dueDate to JavaScript's `new Date`: a calendar date and epoch
    // milliseconds are taken there, so here too.
    let date = create(app, json!({"subject": "Date only", "dueDate": "2030-05-06"}));
    assert_eq!(date["dueDate"], "2030-05-06T00:00:00.000Z");
    let epoch = create(app, json!({"subject": "Epoch", "dueDate": 1_705_746_600_000i64}));
    assert_eq!(epoch["dueDate"], "2024-01-20T10:30:00.000Z");
    let cleared = ok(app.api.json("PATCH", &format!("/tasks/{}", epoch["id"].as_str().unwrap()), &json!({"dueDate": null})));
    assert_eq!(cleared["dueDate"], Value::Null);
}

fn task_batches_answer_per_item_and_bare_arrays(app: &App) {
    let ct = contact(&app.api);
    let body = create(
        app,
        json!({"tasks": [
            {"subject": "One", "contactId": ct},
            {"description": "no subject"},
            {"subject": "Two", "dueDate": "bad"},
            {"subject": "Three"},
            {"subject": "Four", "companyId": "co_missing"},
            "not a task"
        ]}),
    );
    let ids: Vec<String> = body["results"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 2, "{body}");
    assert_eq!(body["results"][0]["subject"], "One");
    assert_eq!(body["results"][1]["subject"], "Three");
    // A problem with the item as a whole names no field.
    let errors: Vec<(u64, Option<&str>, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["index"].as_u64().unwrap(), e["field"].as_str(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        vec![(1, Some("subject"), "invalid"), (2, Some("dueDate"), "invalid"), (4, Some("companyId"), "not_found"), (5, None, "invalid")]
    );
    let empty = create(app, json!({"tasks": []}));
    assert_eq!(empty, json!({"results": [], "errors": []}));

    let resp = app.api.json("POST", "/tasks/batch", &json!({"ids": [ids[1], "tk_missing", ids[0]]}));
    app.conforms("/tasks/batch", "POST", &resp);
    let read = ok(resp);
    let read_ids: Vec<&str> = read.as_array().expect("a bare array").iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(read_ids, vec![ids[1].as_str(), ids[0].as_str()], "found tasks only, in the order asked");

    let resp = app.api.json("PATCH", "/tasks/batch", &json!({"ids": [ids[0], ids[1], ids[0], "tk_missing"], "completed": true, "status": "done"}));
    app.conforms("/tasks/batch", "PATCH", &resp);
    let updated = ok(resp);
    let updated = updated.as_array().expect("a bare array");
    assert_eq!(updated.len(), 2, "each task once: {updated:?}");
    assert!(updated.iter().all(|t| t["completed"] == true && t["completedAt"].is_string() && t["status"] == "done"));
    assert_eq!(updated[0]["contactId"], ct.as_str(), "untouched fields stay");
    assert_eq!(ok(app.api.json("PATCH", "/tasks/batch", &json!({"ids": [], "completed": true}))), json!([]));
    for body in [json!({"ids": "tk_1"}), json!({"ids": [1]}), json!({"completed": true})] {
        let resp = app.api.json("POST", "/tasks/batch", &body);
        assert_eq!(resp.status, 400, "{body}");
        app.conforms("/tasks/batch", "POST", &resp);
    }
}

fn a_batch_patch_is_checked_before_anything_is_written(app: &App) {
    let a = create(app, json!({"subject": "A"}));
    let b = create(app, json!({"subject": "B"}));
    let ids = json!([a["id"], b["id"]]);
    for (patch, field) in [
        (json!({"dueDate": "someday"}), "dueDate"),
        (json!({"subject": null}), "subject"),
        (json!({"contactId": "ct_missing"}), "contactId"),
        (json!({"completed": 1}), "completed"),
    ] {
        let mut body = patch.clone();
        body["ids"] = ids.clone();
        let resp = app.api.json("PATCH", "/tasks/batch", &body);
        assert_eq!(resp.status, 400, "{patch}: {}", resp.text());
        app.conforms("/tasks/batch", "PATCH", &resp);
        assert_eq!(resp.json()["details"][0]["path"], field);
        // Even when no task is named, a malformed patch is a bad request.
        if field != "contactId" {
            let mut nobody = patch.clone();
            nobody["ids"] = json!(["tk_missing"]);
            assert_eq!(app.api.json("PATCH", "/tasks/batch", &nobody).status, 400, "{patch}");
        }
        let single = app.api.json("PATCH", &format!("/tasks/{}", a["id"].as_str().unwrap()), &patch);
        assert_eq!((single.status, single.json()["details"][0]["path"].clone()), (400, json!(field)));
    }
    let read = ok(app.api.json("POST", "/tasks/batch", &json!({ "ids": ids })));
    assert_eq!(read, json!([a, b]), "nothing was written");

    // A patch that is fine for one task and not for the other writes neither: task C already
    // names a contact deleted since (keeping it is allowed), task D would be given that contact.
    let gone = contact(&app.api);
    let c = create(app, json!({"subject": "C", "contactId": gone}));
    let d = create(app, json!({"subject": "D"}));
    assert_eq!(delete(&app.api, &format!("/contacts/{gone}")).status, 200);
    let resp = app.api.json("PATCH", "/tasks/batch", &json!({"ids": [c["id"], d["id"]], "contactId": gone, "status": "moved"}));
    assert_eq!((resp.status, resp.json()["details"][0]["path"].clone()), (400, json!("contactId")), "{}", resp.text());
    let read = ok(app.api.json("POST", "/tasks/batch", &json!({"ids": [c["id"], d["id"]]})));
    assert_eq!(read, json!([c, d]), "neither task was written");
}

fn an_update_checks_only_the_references_it_changes(app: &App) {
    let ct = contact(&app.api);
    let task = create(app, json!({"subject": "Follow up", "contactId": ct}));
    let path = format!("/tasks/{}", task["id"].as_str().unwrap());
    assert_eq!(delete(&app.api, &format!("/contacts/{ct}")).status, 200);
    let done = ok(app.api.json("PATCH", &path, &json!({"completed": true})));
    assert_eq!((done["completed"].clone(), done["contactId"].clone()), (json!(true), json!(ct)), "the task keeps its history");
    let resp = app.api.json("PATCH", &path, &json!({"companyId": "co_missing"}));
    assert_eq!((resp.status, resp.json()["details"][0]["path"].clone()), (400, json!("companyId")));
    let co = company(&app.api);
    let moved = ok(app.api.json("PATCH", &path, &json!({"companyId": co, "contactId": null})));
    assert_eq!((moved["companyId"].clone(), moved["contactId"].clone()), (json!(co), Value::Null));
}

fn owners_are_checked_while_users_exist(app: &App) {
    // Owners are checked once any user exists on the server; this test makes sure one does.
    let owner = user(&app.api);
    let task = create(app, json!({"subject": "Owned", "ownerId": owner}));
    assert_eq!(task["ownerId"], owner.as_str());
    let resp = app.api.json("POST", "/tasks", &json!({"subject": "x", "ownerId": "us_nobody"}));
    assert_eq!((resp.status, resp.json()["details"][0]["path"].clone()), (400, json!("ownerId")), "{}", resp.text());
    let batch = create(app, json!({"tasks": [{"subject": "ok", "ownerId": owner}, {"subject": "bad", "ownerId": "us_nobody"}]}));
    assert_eq!(batch["results"].as_array().unwrap().len(), 1);
    assert_eq!((batch["errors"][0]["field"].clone(), batch["errors"][0]["code"].clone()), (json!("ownerId"), json!("not_found")));
    let resp = app.api.json("PATCH", &format!("/tasks/{}", task["id"].as_str().unwrap()), &json!({"ownerId": "us_nobody"}));
    assert_eq!(resp.status, 400);
}

fn every_change_is_in_the_task_history(app: &App) {
    let task = create(app, json!({"subject": "Tracked", "status": "open", "score": 1}));
    let id = task["id"].as_str().unwrap();
    ok(app.api.json("PATCH", &format!("/tasks/{id}"), &json!({"status": "waiting", "score": 2, "completed": true})));
    ok(app.api.json("PATCH", &format!("/tasks/{id}"), &json!({"status": "waiting"})));
    assert_eq!(delete(&app.api, &format!("/tasks/{id}")).status, 200);
    let resp = app.api.get(&format!("/tasks/{id}/history"));
    app.conforms("/tasks/{id}/history", "GET", &resp);
    let history = ok(resp);
    let fields: Vec<&str> = history["history"].as_array().unwrap().iter().map(|h| h["field"].as_str().unwrap()).collect();
    // Newest first; a patch that changes nothing adds nothing. One request's changes share its id.
    assert_eq!(fields[0], "(deleted)");
    assert_eq!(*fields.last().unwrap(), "(created)");
    let mut middle = fields[1..fields.len() - 1].to_vec();
    middle.sort();
    assert_eq!(middle, vec!["completed", "completedAt", "properties.score", "status"]);
    let status = history["history"].as_array().unwrap().iter().find(|h| h["field"] == "status").unwrap();
    assert_eq!((status["oldValue"].clone(), status["newValue"].clone()), (json!("open"), json!("waiting")));
    for path in ["/tasks/tk_missing/history".to_string(), format!("/tasks/{}/history", contact(&app.api))] {
        let resp = app.api.get(&path);
        assert_eq!((resp.status, resp.json()["error"].clone()), (404, json!("Task not found")), "{path}");
    }
}

fn batch_forms_run_a_fixed_number_of_statements(app: &App) {
    let (ct, co) = (contact(&app.api), company(&app.api));
    let statements = |method: &str, path: &str, body: Value| -> (String, Value) {
        let resp = app.api.json(method, path, &body);
        assert_eq!(resp.status, 200, "{}", resp.text());
        (resp.header("x-d1-statements").unwrap().to_string(), resp.json())
    };
    let create_n = |n: usize| {
        let tasks: Vec<Value> = (0..n).map(|i| json!({"subject": format!("T{i}"), "contactId": ct, "companyId": co})).collect();
        statements("POST", "/tasks", json!({ "tasks": tasks }))
    };
    let (one, small) = create_n(1);
    let (many, big) = create_n(300);
    assert_eq!(one, many, "creating 1 or 300 tasks runs the same statements");
    let ids = |body: &Value| -> Vec<Value> { body["results"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect() };
    let (one, _) = statements("POST", "/tasks/batch", json!({"ids": ids(&small)}));
    let (many, _) = statements("POST", "/tasks/batch", json!({"ids": ids(&big)}));
    assert_eq!((one.as_str(), many.as_str()), ("1", "1"));
    let (one, _) = statements("PATCH", "/tasks/batch", json!({"ids": ids(&small), "completed": true, "companyId": co}));
    let (many, updated) = statements("PATCH", "/tasks/batch", json!({"ids": ids(&big), "completed": true, "companyId": co}));
    assert_eq!(one, many, "updating 1 or 300 tasks runs the same statements");
    assert_eq!(updated.as_array().unwrap().len(), 300);
}

fn a_large_task_batch_is_served_in_chunks_in_request_order(app: &App) {
    let _turn = crate::heavy();
    // 2,500 tasks of 2 KB: 5 MB, over what one D1 statement binds; one item too large to store.
    let tag = crate::harness::unique("bulk");
    let description = "t".repeat(2_000);
    let mut tasks: Vec<Value> = (0..2500).map(|i| json!({"subject": format!("{tag} {i}"), "description": description})).collect();
    tasks.insert(1234, json!({"subject": "Too big", "description": "x".repeat(700_000)}));
    let resp = app.api.json("POST", "/tasks", &json!({ "tasks": tasks }));
    assert_eq!(resp.status, 200, "{}", &resp.text()[..resp.text().len().min(300)]);
    let body = resp.json();
    let subjects: Vec<String> = body["results"].as_array().unwrap().iter().map(|t| t["subject"].as_str().unwrap().to_string()).collect();
    let want: Vec<String> = (0..2500).map(|i| format!("{tag} {i}")).collect();
    assert!(subjects == want, "2,500 tasks in request order; first difference at {:?}", subjects.iter().zip(&want).position(|(a, b)| a != b));
    let errors = body["errors"].as_array().unwrap();
    assert_eq!((errors.len(), errors[0]["index"].as_u64(), errors[0]["code"].as_str()), (1, Some(1234), Some("invalid")));

    // Read back by id, 1,000 ids a statement: in the order asked (here reversed) across the
    // statements, an unknown id left out.
    let mut ids: Vec<Value> = body["results"].as_array().unwrap().iter().rev().map(|t| t["id"].clone()).collect();
    ids.insert(1500, json!("tk_missing"));
    let resp = app.api.json("POST", "/tasks/batch", &json!({ "ids": ids }));
    assert_eq!(resp.status, 200, "{}", &resp.text()[..resp.text().len().min(300)]);
    assert_eq!(resp.header("x-d1-statements"), Some("3"), "2,501 ids, 1,000 a statement");
    let read: Vec<String> = resp.json().as_array().unwrap().iter().map(|t| t["subject"].as_str().unwrap().to_string()).collect();
    let reversed: Vec<String> = want.into_iter().rev().collect();
    assert!(read == reversed, "2,500 tasks in the order asked; first difference at {:?}", read.iter().zip(&reversed).position(|(a, b)| a != b));
}
