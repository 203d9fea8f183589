//! Tasks, activities and users (API.md §7, §8), in the reference server's wire format.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::harness::{unique, Client, Key};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("work::a_task_is_created_read_completed_and_deleted", a_task_is_created_read_completed_and_deleted),
    ("work::bad_tasks_are_400_naming_the_field", bad_tasks_are_400_naming_the_field),
    ("work::task_batches_answer_per_item_and_bare_arrays", task_batches_answer_per_item_and_bare_arrays),
    ("work::an_activity_is_logged_once_per_message_id", an_activity_is_logged_once_per_message_id),
    ("work::concurrent_retries_leave_one_activity", concurrent_retries_leave_one_activity),
    ("work::activities_bump_last_activity_and_form_a_timeline", activities_bump_last_activity_and_form_a_timeline),
    ("work::bad_activities_are_errors_naming_the_field", bad_activities_are_errors_naming_the_field),
    ("work::batch_forms_run_a_fixed_number_of_statements", batch_forms_run_a_fixed_number_of_statements),
    ("work::users_flip_from_404_and_own_records", users_flip_from_404_and_own_records),
];

fn ok(resp: crate::harness::Resp) -> Value {
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

fn contact(c: &Client) -> String {
    let body = ok(c.json("POST", "/contacts", &json!({"contacts": [{"externalId": unique("w"), "firstName": "Work"}]})));
    body["results"][0]["crmId"].as_str().unwrap().to_string()
}

fn a_task_is_created_read_completed_and_deleted(app: &App) {
    let ct = contact(&app.api);
    let resp = app.api.json(
        "POST",
        "/tasks",
        &json!({"subject": "Call back", "type": "CALL", "dueDate": "2030-01-02T09:00:00+02:00", "contactId": ct, "playbook": "A"}),
    );
    app.conforms("/tasks", "POST", &resp);
    let task = ok(resp);
    let id = task["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("tk_"));
    assert_eq!(task["completed"], false);
    assert_eq!(task["completedAt"], Value::Null);
    assert_eq!(task["dueDate"], "2030-01-02T07:00:00.000Z");
    assert_eq!(task["properties"]["playbook"], "A");
    let resp = app.api.get(&format!("/tasks/{id}"));
    app.conforms("/tasks/{id}", "GET", &resp);
    assert_eq!(ok(resp)["subject"], "Call back");

    let resp = app.api.json("PATCH", &format!("/tasks/{id}"), &json!({"completed": true}));
    app.conforms("/tasks/{id}", "PATCH", &resp);
    let done = ok(resp);
    assert_eq!(done["completed"], true);
    assert!(done["completedAt"].is_string());
    let undone = ok(app.api.json("PATCH", &format!("/tasks/{id}"), &json!({"completed": false, "status": "open"})));
    assert_eq!(undone["completedAt"], Value::Null);
    assert_eq!(undone["status"], "open");

    let resp = app.api.send("DELETE", &format!("/tasks/{id}"), Key::Valid, &[], None);
    assert_eq!(resp.status, 200);
    let gone = app.api.get(&format!("/tasks/{id}"));
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()["error"], "Task not found");
    assert_eq!(app.api.json("PATCH", "/tasks/tk_nope", &json!({"completed": true})).status, 404);
}

fn bad_tasks_are_400_naming_the_field(app: &App) {
    for (body, field) in [
        (json!({"type": "CALL"}), "subject"),
        (json!({"subject": "x", "dueDate": "next week"}), "dueDate"),
        (json!({"subject": "x", "contactId": "ct_missing"}), "contactId"),
        (json!({"subject": "x", "companyId": "co_missing"}), "companyId"),
        (json!({"subject": 42}), "subject"),
    ] {
        let resp = app.api.json("POST", "/tasks", &body);
        assert_eq!(resp.status, 400, "{body}: {}", resp.text());
        app.conforms("/tasks", "POST", &resp);
        assert_eq!(resp.json()["details"][0]["path"], field, "{body}");
    }
    let resp = app.api.json("POST", "/tasks", &json!(["not", "an", "object"]));
    assert_eq!(resp.status, 400);
}

fn task_batches_answer_per_item_and_bare_arrays(app: &App) {
    let body = ok(app.api.json(
        "POST",
        "/tasks",
        &json!({"tasks": [{"subject": "One"}, {"description": "no subject"}, {"subject": "Two", "dueDate": "bad"}, {"subject": "Three"}]}),
    ));
    let ids: Vec<String> = body["results"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 2, "{body}");
    let errors: Vec<(u64, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["index"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, vec![(1, "subject"), (2, "dueDate")]);

    let resp = app.api.json("POST", "/tasks/batch", &json!({"ids": [ids[1], "tk_missing", ids[0]]}));
    app.conforms("/tasks/batch", "POST", &resp);
    let read = ok(resp);
    assert_eq!(read.as_array().unwrap().iter().map(|t| t["id"].clone()).collect::<Vec<_>>(), vec![json!(ids[1]), json!(ids[0])]);
    let resp = app.api.json("PATCH", "/tasks/batch", &json!({"ids": ids, "completed": true}));
    app.conforms("/tasks/batch", "PATCH", &resp);
    let updated = ok(resp);
    assert_eq!(updated.as_array().unwrap().len(), 2);
    assert!(updated.as_array().unwrap().iter().all(|t| t["completed"] == true && t["completedAt"].is_string()));
}

fn activity(c: &Client, body: Value) -> Value {
    ok(c.json("POST", "/activities", &body))
}

fn an_activity_is_logged_once_per_message_id(app: &App) {
    let ct = contact(&app.api);
    let message = unique("msg");
    let body = json!({
        "type": "email", "subject": "[1/3] [FROM Acme] Ana", "body": "Hi", "direction": "outbound", "contactId": ct,
        "occurredAt": "2024-05-01T10:00:00Z", "metadata": {"messageId": message, "sequenceIndex": 1, "sequenceMessageCount": 3}
    });
    let resp = app.api.json("POST", "/activities", &body);
    app.conforms("/activities", "POST", &resp);
    let first = ok(resp);
    assert_eq!(first["type"], "EMAIL");
    assert_eq!(first["direction"], "OUTBOUND");
    assert_eq!(first["metadata"]["sequenceMessageCount"], 3);
    assert_eq!(first["occurredAt"], "2024-05-01T10:00:00.000Z");
    let retry = activity(&app.api, body.clone());
    assert_eq!(retry["id"], first["id"], "a retry returns the first activity");
    // The same messageId under another type is another activity.
    let other = activity(&app.api, json!({"type": "LINKEDIN", "contactId": ct, "metadata": {"messageId": message}}));
    assert_ne!(other["id"], first["id"]);
    let resp = app.api.get(&format!("/activities/{}", first["id"].as_str().unwrap()));
    app.conforms("/activities/{id}", "GET", &resp);
    assert_eq!(ok(resp)["id"], first["id"]);
    let missing = app.api.get("/activities/ac_missing");
    assert_eq!((missing.status, missing.json()["error"].clone()), (404, json!("Activity not found")));
}

fn concurrent_retries_leave_one_activity(app: &App) {
    let body = json!({"type": "LINKEDIN", "metadata": {"messageId": unique("race")}});
    let ids: HashSet<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| activity(&app.api, body.clone())["id"].as_str().unwrap().to_string())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(ids.len(), 1, "{ids:?}");
    // And inside one batch.
    let m = unique("dup");
    let batch = ok(app.api.json(
        "POST",
        "/activities",
        &json!({"activities": [{"type": "EMAIL", "metadata": {"messageId": m}}, {"type": "EMAIL", "metadata": {"messageId": m}}]}),
    ));
    assert_eq!(batch["results"][0]["id"], batch["results"][1]["id"]);
}

fn activities_bump_last_activity_and_form_a_timeline(app: &App) {
    let ct = contact(&app.api);
    let co = ok(app.api.json("POST", "/companies", &json!({"companies": [{"name": unique("Timeline Co")}]})))["results"][0]["crmId"]
        .as_str()
        .unwrap()
        .to_string();
    let items: Vec<Value> = (0..5)
        .map(|i| {
            json!({"type": "EMAIL", "direction": if i % 2 == 0 { "OUTBOUND" } else { "INBOUND" }, "contactId": ct, "companyId": co,
                   "occurredAt": format!("2024-06-0{}T12:00:00Z", i + 1), "subject": format!("m{i}")})
        })
        .collect();
    let body = ok(app.api.json("POST", "/activities", &json!({ "activities": items })));
    assert_eq!(body["results"].as_array().unwrap().len(), 5);
    // An older activity afterwards does not move lastActivityDate back.
    activity(&app.api, json!({"type": "EMAIL", "contactId": ct, "occurredAt": "2023-01-01T00:00:00Z", "subject": "old"}));
    let record = ok(app.api.get(&format!("/contacts/{ct}")));
    assert_eq!(record["lastActivityDate"], "2024-06-05T12:00:00.000Z");
    assert_eq!(ok(app.api.get(&format!("/companies/{co}")))["lastActivityDate"], "2024-06-05T12:00:00.000Z");

    let mut subjects = Vec::new();
    let mut url = format!("/contacts/{ct}/activities?limit=2");
    loop {
        let resp = app.api.get(&url);
        app.conforms("/contacts/{id}/activities", "GET", &resp);
        let page = ok(resp);
        subjects.extend(page["data"].as_array().unwrap().iter().map(|a| a["subject"].as_str().unwrap().to_string()));
        match page["nextCursor"].as_str() {
            Some(c) => url = format!("/contacts/{ct}/activities?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(subjects, vec!["m4", "m3", "m2", "m1", "m0", "old"], "newest first, each once");
    let company_page = ok(app.api.get(&format!("/companies/{co}/activities")));
    assert_eq!(company_page["data"].as_array().unwrap().len(), 5);
    assert_eq!(app.api.get("/contacts/ct_missing/activities").status, 404);
}

fn bad_activities_are_errors_naming_the_field(app: &App) {
    for (body, field) in [
        (json!({"subject": "no type"}), "type"),
        (json!({"type": "EMAIL", "direction": "sideways"}), "direction"),
        (json!({"type": "EMAIL", "occurredAt": "yesterday"}), "occurredAt"),
        (json!({"type": "EMAIL", "contactId": "ct_missing"}), "contactId"),
        (json!({"type": "EMAIL", "metadata": "m"}), "metadata"),
    ] {
        let resp = app.api.json("POST", "/activities", &body);
        assert_eq!(resp.status, 400, "{body}: {}", resp.text());
        assert_eq!(resp.json()["details"][0]["path"], field);
    }
    let body = ok(app.api.json("POST", "/activities", &json!({"activities": [{"type": "EMAIL"}, {"type": "EMAIL", "direction": "up"}]})));
    assert_eq!(body["results"].as_array().unwrap().len(), 1);
    assert_eq!(body["errors"][0]["index"], 1);
    assert_eq!(body["errors"][0]["field"], "direction");
}

fn batch_forms_run_a_fixed_number_of_statements(app: &App) {
    let statements = |path: &str, key: &str, n: usize, item: &dyn Fn(usize) -> Value| -> String {
        let items: Vec<Value> = (0..n).map(item).collect();
        let resp = app.api.json("POST", path, &json!({ key: items }));
        assert_eq!(resp.status, 200, "{}", resp.text());
        resp.header("x-d1-statements").unwrap().to_string()
    };
    let task = |i: usize| json!({"subject": format!("T{i}")});
    assert_eq!(statements("/tasks", "tasks", 1, &task), statements("/tasks", "tasks", 300, &task));
    let tag = unique("st");
    let act = |i: usize| json!({"type": "EMAIL", "metadata": {"messageId": format!("{tag}-{i}")}});
    assert_eq!(statements("/activities", "activities", 1, &act), statements("/activities", "activities", 300, &act));
}

fn users_flip_from_404_and_own_records(app: &App) {
    // The users server starts with no user at all.
    let c = &app.users;
    let none = c.get("/users");
    assert_eq!(none.status, 404, "{}", none.text());
    app.conforms("/users", "GET", &none);
    // With no users, any ownerId is accepted (owners are off).
    let free = ok(c.json("POST", "/contacts", &json!({"contacts": [{"firstName": "Free", "ownerId": "anyone"}]})));
    assert_eq!(free["results"][0]["created"], true, "{free}");

    let resp = c.json("POST", "/users", &json!({"name": "John Smith", "email": "John@Example.com"}));
    app.conforms("/users", "POST", &resp);
    let john = ok(resp);
    assert!(john["id"].as_str().unwrap().starts_with("us_"));
    let list = c.get("/users");
    app.conforms("/users", "GET", &list);
    assert_eq!(ok(list), json!([{"id": john["id"], "name": "John Smith", "email": "John@Example.com"}]));
    // Upsert by email: the same user, renamed.
    let again = ok(c.json("POST", "/users", &json!({"users": [{"name": "John S.", "email": "john@example.com"}, {"email": "not-an-email"}]})));
    assert_eq!(again["results"][0]["id"], john["id"]);
    assert_eq!(again["errors"][0]["field"], "email");
    assert_eq!(c.json("POST", "/users", &json!({"name": "x"})).status, 400);

    // Now owners are checked.
    let id = john["id"].as_str().unwrap();
    let body = ok(c.json("POST", "/contacts", &json!({"contacts": [{"firstName": "Owned", "ownerId": id}, {"firstName": "Bad", "ownerId": "us_nobody"}]})));
    assert_eq!(body["errors"][0]["code"], "unknown_owner", "{body}");
    let owned = body["results"][0]["crmId"].as_str().unwrap().to_string();
    assert_eq!(c.json("POST", "/tasks", &json!({"subject": "x", "ownerId": "us_nobody"})).status, 400);

    let resp = c.send("DELETE", &format!("/users/{id}"), Key::Valid, &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let record = ok(c.get(&format!("/contacts/{owned}")));
    assert_eq!(record["ownerId"], Value::Null, "the owner is cleared, not dangling");
    let history = ok(c.get(&format!("/contacts/{owned}/history")));
    let change = history["history"].as_array().unwrap().iter().find(|h| h["field"] == "ownerId").expect("owner change in history");
    assert_eq!(change["oldValue"], id);
    assert_eq!(c.send("DELETE", &format!("/users/{id}"), Key::Valid, &[], None).status, 404);
    assert_eq!(c.get("/users").status, 404, "no users again");
}
