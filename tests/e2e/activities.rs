//! Activities (API.md §8): LinkedIn and email events, idempotent on `metadata.messageId` with
//! `type`, moving the records' `lastActivityDate` forward, and read back as timelines.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::harness::{unique, Client};
use crate::tasks::{company, contact, ok};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("activities::an_activity_is_logged_once_per_message_id", an_activity_is_logged_once_per_message_id),
    ("activities::concurrent_retries_leave_one_activity", concurrent_retries_leave_one_activity),
    ("activities::a_retry_moves_nothing_and_adds_no_history", a_retry_moves_nothing_and_adds_no_history),
    ("activities::activities_bump_last_activity_and_form_a_timeline", activities_bump_last_activity_and_form_a_timeline),
    ("activities::bad_activities_are_errors_naming_the_field", bad_activities_are_errors_naming_the_field),
    ("activities::batch_log_runs_a_fixed_number_of_statements", batch_log_runs_a_fixed_number_of_statements),
    ("activities::a_large_activity_batch_is_served_in_chunks_in_request_order", a_large_activity_batch_is_served_in_chunks_in_request_order),
];

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
    let co = company(&app.api);
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
    // Activities at the same instant are paged by id: each once, however the pages fall.
    let same: Vec<Value> = (0..5)
        .map(|i| json!({"type": "EMAIL", "contactId": ct, "occurredAt": "2020-01-01T00:00:00Z", "subject": format!("same{i}")}))
        .collect();
    ok(app.api.json("POST", "/activities", &json!({ "activities": same })));
    let mut seen = Vec::new();
    let mut url = format!("/contacts/{ct}/activities?limit=2");
    loop {
        let page = ok(app.api.get(&url));
        seen.extend(page["data"].as_array().unwrap().iter().map(|a| a["subject"].as_str().unwrap().to_string()));
        match page["nextCursor"].as_str() {
            Some(c) => url = format!("/contacts/{ct}/activities?limit=2&cursor={c}"),
            None => break,
        }
    }
    let tied: HashSet<&str> = seen.iter().map(String::as_str).filter(|s| s.starts_with("same")).collect();
    assert_eq!((seen.len(), tied.len()), (11, 5), "{seen:?}");
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

fn a_retry_moves_nothing_and_adds_no_history(app: &App) {
    let ct = contact(&app.api);
    let message = unique("retry");
    let first = activity(
        &app.api,
        json!({"type": "EMAIL", "contactId": ct, "occurredAt": "2024-02-01T00:00:00Z", "metadata": {"messageId": message}}),
    );
    // The retry carries a later time (a client that stamps when it sends): it is the same
    // activity, so the contact's lastActivityDate stays where the logged one put it.
    let retry = activity(
        &app.api,
        json!({"type": "EMAIL", "contactId": ct, "occurredAt": "2025-02-01T00:00:00Z", "metadata": {"messageId": message}}),
    );
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(retry["occurredAt"], "2024-02-01T00:00:00.000Z", "the stored activity, not the retry's copy");
    assert_eq!(ok(app.api.get(&format!("/contacts/{ct}")))["lastActivityDate"], "2024-02-01T00:00:00.000Z");

    let id = first["id"].as_str().unwrap();
    let resp = app.api.get(&format!("/activities/{id}/history"));
    app.conforms("/activities/{id}/history", "GET", &resp);
    let history = ok(resp);
    let fields: Vec<&str> = history["history"].as_array().unwrap().iter().map(|h| h["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["(created)"], "the retry wrote no history");
    let missing = app.api.get("/activities/ac_missing/history");
    assert_eq!((missing.status, missing.json()["error"].clone()), (404, json!("Activity not found")));

    // The contact deleted since, a retry still answers the first activity, single and batch; a
    // new message naming that contact is refused.
    let resp = app.api.send("DELETE", &format!("/contacts/{ct}"), crate::harness::Key::Valid, &[], None);
    assert_eq!(resp.status, 200);
    let body = json!({"type": "EMAIL", "contactId": ct, "metadata": {"messageId": message}});
    assert_eq!(activity(&app.api, body.clone())["id"], first["id"]);
    let batch = ok(app.api.json("POST", "/activities", &json!({"activities": [body, {"type": "EMAIL", "contactId": ct}]})));
    assert_eq!(batch["results"].as_array().unwrap().len(), 1, "{batch}");
    assert_eq!(batch["results"][0]["id"], first["id"]);
    assert_eq!((batch["errors"][0]["index"].clone(), batch["errors"][0]["field"].clone()), (json!(1), json!("contactId")));
}

fn batch_log_runs_a_fixed_number_of_statements(app: &App) {
    let statements = |n: usize| -> String {
        let tag = unique("st");
        let items: Vec<Value> = (0..n).map(|i| json!({"type": "EMAIL", "metadata": {"messageId": format!("{tag}-{i}")}})).collect();
        let resp = app.api.json("POST", "/activities", &json!({ "activities": items }));
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(resp.json()["results"].as_array().unwrap().len(), n);
        resp.header("x-d1-statements").unwrap().to_string()
    };
    assert_eq!(statements(1), statements(300), "logging 1 or 300 activities runs the same statements");
}

fn a_large_activity_batch_is_served_in_chunks_in_request_order(app: &App) {
    let _turn = crate::heavy();
    // 2,500 emails of 2 KB: 5 MB, over what one D1 statement binds (read a chunk at a time from
    // the body's bytes); one bad item in a later chunk, answered at its place in the request.
    let tag = crate::harness::unique("bulk");
    let text = "b".repeat(2_000);
    let mut items: Vec<Value> = (0..2500)
        .map(|i| json!({"type": "EMAIL", "direction": "OUTBOUND", "subject": format!("{tag} {i}"), "body": text, "metadata": {"messageId": format!("{tag}-{i}")}}))
        .collect();
    items.insert(2100, json!({"type": 42, "subject": "No type"}));
    let resp = app.api.json("POST", "/activities", &json!({ "activities": items }));
    assert_eq!(resp.status, 200, "{}", &resp.text()[..resp.text().len().min(300)]);
    let body = resp.json();
    let errors = body["errors"].as_array().unwrap();
    assert_eq!((errors.len(), errors.first().and_then(|e| e["index"].as_u64())), (1, Some(2100)), "{errors:?}");
    let subjects: Vec<String> = body["results"].as_array().unwrap().iter().map(|a| a["subject"].as_str().unwrap().to_string()).collect();
    let want: Vec<String> = (0..2500).map(|i| format!("{tag} {i}")).collect();
    assert!(subjects == want, "2,500 activities in request order; first difference at {:?}", subjects.iter().zip(&want).position(|(a, b)| a != b));
}
