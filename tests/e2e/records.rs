//! Contacts and companies (API.md §4): batch create, update, read, delete, feed and history.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use crate::harness::{unique, Key};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("records::create_answers_in_request_order", create_answers_in_request_order),
    ("records::create_is_idempotent_on_external_id", create_is_idempotent_on_external_id),
    ("records::same_external_id_twice_in_one_request_is_one_record", same_external_id_twice_in_one_request_is_one_record),
    ("records::concurrent_identical_creates_leave_one_record", concurrent_identical_creates_leave_one_record),
    ("records::one_bad_record_does_not_fail_its_neighbours", one_bad_record_does_not_fail_its_neighbours),
    ("records::bad_values_are_per_record_errors_naming_the_field", bad_values_are_per_record_errors_naming_the_field),
    ("records::custom_fields_keep_their_json_type", custom_fields_keep_their_json_type),
    ("records::update_is_partial_and_null_clears", update_is_partial_and_null_clears),
    ("records::update_reports_unknown_ids_with_exact_messages", update_reports_unknown_ids_with_exact_messages),
    ("records::update_old_values_appear_in_history", update_old_values_appear_in_history),
    ("records::field_policies_fill_empty_union_and_ignore", field_policies_fill_empty_union_and_ignore),
    ("records::batch_read_returns_found_records_in_request_order", batch_read_returns_found_records_in_request_order),
    ("records::get_and_soft_delete", get_and_soft_delete),
    ("records::feed_returns_every_record_once_while_writes_happen", feed_returns_every_record_once_while_writes_happen),
    ("records::statements_per_request_do_not_grow_with_the_batch", statements_per_request_do_not_grow_with_the_batch),
    ("records::a_batch_of_ten_mebibytes_is_served_in_chunks_in_request_order", a_batch_of_ten_mebibytes_is_served_in_chunks_in_request_order),
    ("records::long_descriptions_and_a_record_too_big_for_a_row", long_descriptions_and_a_record_too_big_for_a_row),
    ("records::twenty_five_hundred_records_are_created_and_synced_in_order", twenty_five_hundred_records_are_created_and_synced_in_order),
    ("records::the_largest_create_sync_and_update_answer_every_item", the_largest_create_sync_and_update_answer_every_item),
    ("records::a_large_body_is_refused_as_a_small_one_is", a_large_body_is_refused_as_a_small_one_is),
];

fn create(app: &App, kind: &str, records: Value) -> Value {
    let resp = app.api.json("POST", &format!("/{kind}"), &json!({ kind: records }));
    assert_eq!(resp.status, 200, "{}", resp.text());
    app.conforms(&format!("/{kind}"), "POST", &resp);
    resp.json()
}

fn update(app: &App, kind: &str, records: Value) -> Value {
    let resp = app.api.json("PUT", &format!("/{kind}"), &json!({ kind: records }));
    assert_eq!(resp.status, 200, "{}", resp.text());
    app.conforms(&format!("/{kind}"), "PUT", &resp);
    resp.json()
}

fn get(app: &App, kind: &str, id: &str) -> Value {
    let resp = app.api.get(&format!("/{kind}/{id}"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    app.conforms(&format!("/{kind}/{{id}}"), "GET", &resp);
    resp.json()
}

fn create_answers_in_request_order(app: &App) {
    let (a, b, c) = (unique("ct"), unique("ct"), unique("ct"));
    let body = create(
        app,
        "contacts",
        json!([
            {"externalId": a, "firstName": "Ana", "lastName": "Ruiz", "email": "ana@example.com"},
            {"externalId": b, "firstName": "Ben"},
            {"externalId": c, "lastName": "Cole", "company": "Cole & Co"},
        ]),
    );
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert!(body["errors"].as_array().unwrap().is_empty());
    for (r, ext) in results.iter().zip([&a, &b, &c]) {
        assert_eq!(r["externalId"], ext.as_str());
        assert_eq!(r["created"], true);
        assert!(r["crmId"].as_str().unwrap().starts_with("ct_"), "{r}");
    }
    let stored = get(app, "contacts", results[0]["crmId"].as_str().unwrap());
    assert_eq!(stored["firstName"], "Ana");
    assert_eq!(stored["email"], "ana@example.com");
    assert_eq!(stored["externalId"], a.as_str());
}

fn create_is_idempotent_on_external_id(app: &App) {
    let ext = unique("co");
    let record = json!([{"externalId": ext, "name": "Idem Corp", "domain": "idem.example"}]);
    let first = create(app, "companies", record.clone());
    let second = create(app, "companies", record);
    assert_eq!(first["results"][0]["created"], true);
    assert_eq!(second["results"][0]["created"], false);
    assert_eq!(first["results"][0]["crmId"], second["results"][0]["crmId"]);
}

fn same_external_id_twice_in_one_request_is_one_record(app: &App) {
    let ext = unique("co");
    let body = create(
        app,
        "companies",
        json!([{"externalId": ext, "name": "Twice A"}, {"name": "Other"}, {"externalId": ext, "name": "Twice B"}]),
    );
    let r = body["results"].as_array().unwrap();
    assert_eq!(r[0]["crmId"], r[2]["crmId"]);
    assert_ne!(r[0]["crmId"], r[1]["crmId"]);
    assert_eq!(r[0]["created"], true);
    assert_eq!(r[2]["created"], false);
}

fn concurrent_identical_creates_leave_one_record(app: &App) {
    let ext = unique("co");
    let body = json!({"companies": [{"externalId": ext, "name": "Race Inc"}]});
    let answers: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| app.api.json("POST", "/companies", &body).json())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: HashSet<&str> = answers.iter().map(|a| a["results"][0]["crmId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    let created = answers.iter().filter(|a| a["results"][0]["created"] == true).count();
    assert_eq!(created, 1, "{answers:?}");
}

fn one_bad_record_does_not_fail_its_neighbours(app: &App) {
    let (a, b, c) = (unique("co"), unique("co"), unique("co"));
    let body = create(
        app,
        "companies",
        json!([
            {"externalId": a, "name": "Good One"},
            {"externalId": b, "name": "Bad", "employeeCount": {"n": 5}},
            {"externalId": c, "name": "Good Two"},
        ]),
    );
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{body}");
    assert_eq!(results[0]["externalId"], a.as_str());
    assert_eq!(results[1]["externalId"], c.as_str());
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["index"], 1);
    assert_eq!(errors[0]["externalId"], b.as_str());
    assert!(errors[0]["error"].as_str().unwrap().contains("employeeCount"), "{body}");
    for r in results {
        assert_eq!(get(app, "companies", r["crmId"].as_str().unwrap())["externalId"], r["externalId"]);
    }
}

fn bad_values_are_per_record_errors_naming_the_field(app: &App) {
    let huge = "x".repeat(100_000);
    let mut deep = json!("bottom");
    for _ in 0..40 {
        deep = json!({ "d": deep });
    }
    let cases = [
        (json!({"name": 42}), "name"),
        (json!({"name": "A", "tags": {"not": "a list"}}), "tags"),
        (json!({"name": "A", "tags": [1, 2]}), "tags"),
        (json!({"name": "A", "foundedYear": 19.5}), "foundedYear"),
        (json!({"name": "A", "customFields": []}), "customFields"),
        (json!({"name": huge}), "name"),
        (json!({"name": "A", "notes": huge.clone()}), "notes"),
        (json!({"name": "A", "nested": deep}), "nested"),
        (json!("just a string"), ""),
    ];
    let records: Vec<Value> = cases.iter().map(|(r, _)| r.clone()).collect();
    let resp = app.api.json("POST", "/companies", &json!({ "companies": records }));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert!(body["results"].as_array().unwrap().is_empty(), "{body}");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), cases.len(), "{body}");
    for (err, (_, field)) in errors.iter().zip(cases.iter()) {
        assert!(err["error"].as_str().unwrap().contains(field), "{field}: {err}");
        assert!(err["code"].is_string());
    }
}

fn custom_fields_keep_their_json_type(app: &App) {
    let ext = unique("ct");
    let body = create(
        app,
        "contacts",
        json!([{"externalId": ext, "firstName": "Typed", "genesy_score": "42", "visits": 7, "vip": true,
                "meta": {"a": [1, "b"]}, "nothing": null}]),
    );
    let id = body["results"][0]["crmId"].as_str().unwrap().to_string();
    let stored = get(app, "contacts", &id);
    let p = &stored["properties"];
    assert_eq!(p["genesy_score"], "42");
    assert_eq!(p["visits"], 7);
    assert_eq!(p["vip"], true);
    assert_eq!(p["meta"], json!({"a": [1, "b"]}));
}

fn update_is_partial_and_null_clears(app: &App) {
    let ext = unique("ct");
    let id = create(app, "contacts", json!([{"externalId": ext, "firstName": "Old", "lastName": "Keep", "title": "CTO", "stage": "lead"}]))
        ["results"][0]["crmId"]
        .as_str()
        .unwrap()
        .to_string();
    let body = update(
        app,
        "contacts",
        json!([{"crmId": id, "firstName": "New", "title": null, "genesy_engagement_status": "ENGAGED", "stage": null}]),
    );
    let r = &body["results"][0];
    assert_eq!(r["success"], true, "{body}");
    assert!(r["properties"]["lastUpdated"].is_string(), "{body}");
    let stored = get(app, "contacts", &id);
    assert_eq!(stored["firstName"], "New");
    assert_eq!(stored["lastName"], "Keep");
    assert_eq!(stored["title"], Value::Null);
    assert_eq!(stored["properties"]["genesy_engagement_status"], "ENGAGED");
    assert!(stored["properties"].get("stage").is_none_or(Value::is_null), "{stored}");
    assert_eq!(stored["updatedAt"], r["properties"]["lastUpdated"]);
}

fn update_reports_unknown_ids_with_exact_messages(app: &App) {
    let ext = unique("co");
    let id = create(app, "companies", json!([{"externalId": ext, "name": "Known"}]))["results"][0]["crmId"].clone();
    let body = update(
        app,
        "companies",
        json!([{"crmId": "co_doesnotexist", "name": "x"}, {"crmId": id, "industry": "Software"}, {"name": "no id"}, {"crmId": 5}]),
    );
    let r = body["results"].as_array().unwrap();
    assert_eq!(r.len(), 4);
    assert_eq!(r[0]["success"], false);
    assert_eq!(r[0]["error"], "Company not found");
    assert_eq!(r[0]["code"], "not_found");
    assert_eq!(r[1]["success"], true);
    assert_eq!(r[2]["success"], false);
    assert!(r[2]["error"].as_str().unwrap().contains("crmId"), "{body}");
    assert!(r[3]["error"].as_str().unwrap().contains("crmId"), "{body}");
    let body = update(app, "contacts", json!([{"crmId": "ct_nope", "firstName": "x"}]));
    assert_eq!(body["results"][0]["error"], "Contact not found");
}

fn update_old_values_appear_in_history(app: &App) {
    let ext = unique("co");
    let id = create(app, "companies", json!([{"externalId": ext, "name": "Hist", "industry": "Retail", "score": 1}]))["results"][0]
        ["crmId"]
        .as_str()
        .unwrap()
        .to_string();
    update(app, "companies", json!([{"crmId": id, "industry": "Software", "score": 2}]));
    update(app, "companies", json!([{"crmId": id, "industry": "Fintech"}]));
    let resp = app.api.get(&format!("/companies/{id}/history"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    app.conforms("/companies/{id}/history", "GET", &resp);
    let history = resp.json()["history"].as_array().unwrap().clone();
    let industry: Vec<(&Value, &Value)> = history
        .iter()
        .filter(|h| h["field"] == "industry")
        .map(|h| (&h["oldValue"], &h["newValue"]))
        .collect();
    // Newest first.
    assert_eq!(industry, vec![(&json!("Software"), &json!("Fintech")), (&json!("Retail"), &json!("Software"))]);
    let score = history.iter().find(|h| h["field"] == "properties.score").expect("custom field change in history");
    assert_eq!((&score["oldValue"], &score["newValue"]), (&json!(1), &json!(2)));
    assert!(history.iter().all(|h| h["requestId"].is_string() && h["changedAt"].is_string()));
    assert_eq!(history.last().unwrap()["field"], "(created)");
    assert_eq!(app.api.get("/companies/co_unknown/history").status, 404);
}

fn field_policies_fill_empty_union_and_ignore(app: &App) {
    // The policy server runs FIELD_POLICY = {"industry":"fill_empty","tags":"union","name":"ignore","tier":"fill_empty"}.
    let c = &app.policy;
    let ext = unique("co");
    let resp = c.json("POST", "/companies", &json!({"companies": [{"externalId": ext, "name": "Policy", "industry": "", "tags": ["a", "b"], "tier": "gold"}]}));
    let id = resp.json()["results"][0]["crmId"].as_str().unwrap().to_string();
    let resp = c.json(
        "PUT",
        "/companies",
        &json!({"companies": [{"crmId": id, "name": "Renamed", "industry": "Software", "tags": ["b", "c", "a", "d"], "tier": "silver"}]}),
    );
    assert_eq!(resp.json()["results"][0]["success"], true, "{}", resp.text());
    let stored = c.get(&format!("/companies/{id}")).json();
    assert_eq!(stored["name"], "Policy", "ignore: never written");
    assert_eq!(stored["industry"], "Software", "fill_empty: written while empty");
    assert_eq!(stored["tags"], json!(["a", "b", "c", "d"]), "union: order kept, no repeats");
    assert_eq!(stored["properties"]["tier"], "gold", "fill_empty on a custom field");
    c.json("PUT", "/companies", &json!({"companies": [{"crmId": id, "industry": "Retail"}]}));
    assert_eq!(c.get(&format!("/companies/{id}")).json()["industry"], "Software", "fill_empty: kept once set");
}

fn batch_read_returns_found_records_in_request_order(app: &App) {
    let r = create(
        app,
        "companies",
        json!([{"externalId": unique("co"), "name": "First"}, {"externalId": unique("co"), "name": "Second"}]),
    );
    let (a, b) = (r["results"][0]["crmId"].clone(), r["results"][1]["crmId"].clone());
    let resp = app.api.json("POST", "/companies/batch", &json!({"ids": [b, "co_missing", a]}));
    assert_eq!(resp.status, 200);
    app.conforms("/companies/batch", "POST", &resp);
    let results = resp.json()["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["crmId"], b);
    assert_eq!(results[0]["id"], b);
    assert_eq!(results[0]["name"], "Second");
    assert_eq!(results[1]["crmId"], a);
    assert!(results[0]["createdAt"].is_string() && results[0]["properties"].is_object());
}

fn get_and_soft_delete(app: &App) {
    let ext = unique("ct");
    let id = create(app, "contacts", json!([{"externalId": ext, "firstName": "Gone"}]))["results"][0]["crmId"]
        .as_str()
        .unwrap()
        .to_string();
    let stored = get(app, "contacts", &id);
    assert_eq!(stored["associations"], json!([]));
    let resp = app.api.send("DELETE", &format!("/contacts/{id}"), crate::harness::Key::Valid, &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    app.conforms("/contacts/{id}", "DELETE", &resp);
    assert_eq!(app.api.get(&format!("/contacts/{id}")).status, 404);
    let again = app.api.send("DELETE", &format!("/contacts/{id}"), crate::harness::Key::Valid, &[], None);
    assert_eq!(again.status, 404);
    assert_eq!(again.json()["error"], "Contact not found");
    // Deleted: a new create with the same externalId makes a new record.
    let recreated = create(app, "contacts", json!([{"externalId": ext, "firstName": "Back"}]));
    assert_eq!(recreated["results"][0]["created"], true);
    assert_ne!(recreated["results"][0]["crmId"], id.as_str());
    // And the deletion is in the history.
    let history = app.api.get(&format!("/contacts/{id}/history")).json();
    assert_eq!(history["history"][0]["field"], "(deleted)");
}

/// Reads the whole feed after `start`, page by page, calling `between` after each page.
fn read_feed(app: &App, kind: &str, start: &str, limit: usize, mut between: impl FnMut(usize)) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut url = format!("/{kind}?updatedAfter={start}&limit={limit}");
    for page in 0.. {
        let resp = app.api.get(&url);
        assert_eq!(resp.status, 200, "{}", resp.text());
        app.conforms(&format!("/{kind}"), "GET", &resp);
        let body = resp.json();
        seen.extend(body["data"].as_array().unwrap().iter().cloned());
        match body["nextCursor"].as_str() {
            Some(c) => url = format!("/{kind}?cursor={c}&limit={limit}"),
            None => break,
        }
        between(page);
    }
    seen
}

fn feed_returns_every_record_once_while_writes_happen(app: &App) {
    // A private window of the feed: start just before this test's first write.
    let start = app.api.get("/health").json()["timestamp"].as_str().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let tag = unique("feed");
    let initial: Vec<Value> = (0..30).map(|i| json!({"externalId": format!("{tag}-{i}"), "name": format!("{tag} {i}")})).collect();
    let ids: Vec<String> = create(app, "companies", Value::Array(initial))["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["crmId"].as_str().unwrap().to_string())
        .collect();
    let mut added = Vec::new();
    let mut deleted = None;
    let seen = read_feed(app, "companies", &start, 7, |page| {
        // Between pages: a new record, and once, an update and a delete of records already read.
        let r = create(app, "companies", json!([{"externalId": format!("{tag}-late-{page}"), "name": "Late"}]));
        added.push(r["results"][0]["crmId"].as_str().unwrap().to_string());
        if page == 1 {
            update(app, "companies", json!([{"crmId": ids[0], "industry": "Changed"}]));
            app.api.send("DELETE", &format!("/companies/{}", ids[1]), crate::harness::Key::Valid, &[], None);
            deleted = Some(ids[1].clone());
        }
    });
    // Only this test's records (other tests write concurrently).
    let mine: Vec<&Value> = seen
        .iter()
        .filter(|r| r["id"].as_str().is_some_and(|id| ids.contains(&id.to_string()) || added.contains(&id.to_string())))
        .collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for r in &mine {
        *count.entry(r["id"].as_str().unwrap()).or_default() += 1;
    }
    for id in ids.iter().chain(added.iter().take(added.len().saturating_sub(1))) {
        assert!(count.contains_key(id.as_str()), "record {id} was skipped");
    }
    // A record appears again only because it changed after it was read.
    for (id, n) in &count {
        let changed = *id == ids[0] || Some(id.to_string()) == deleted;
        assert!(*n == 1 || (changed && *n == 2), "record {id} appeared {n} times");
    }
    let tomb = mine.iter().rev().find(|r| r["id"] == deleted.clone().unwrap().as_str()).unwrap();
    assert_eq!(tomb["deleted"], true);
    // Pages are ordered by (updatedAt, id).
    let order: Vec<(String, String)> = seen
        .iter()
        .map(|r| (r["updatedAt"].as_str().unwrap().to_string(), r["id"].as_str().unwrap().to_string()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
}

fn statements_per_request_do_not_grow_with_the_batch(app: &App) {
    let count = |n: usize| -> (String, String) {
        let tag = unique("stmts");
        let records: Vec<Value> = (0..n).map(|i| json!({"externalId": format!("{tag}-{i}"), "name": format!("S {i}")})).collect();
        let resp = app.api.json("POST", "/companies", &json!({ "companies": records }));
        let created = resp.header("x-d1-statements").unwrap().to_string();
        let ids: Vec<Value> = resp.json()["results"].as_array().unwrap().iter().map(|r| json!({"crmId": r["crmId"], "industry": "X"})).collect();
        let resp = app.api.json("PUT", "/companies", &json!({ "companies": ids }));
        (created, resp.header("x-d1-statements").unwrap().to_string())
    };
    assert_eq!(count(1), count(300));
}

/// The externalIds of a create's or sync's results, in answer order.
fn result_external_ids(body: &Value) -> Vec<String> {
    body["results"].as_array().unwrap().iter().map(|r| r["externalId"].as_str().unwrap().to_string()).collect()
}

fn a_batch_of_ten_mebibytes_is_served_in_chunks_in_request_order(app: &App) {
    let _turn = crate::heavy();
    // 1,000 records of 9.5 KB: 9.5 MB of data, under MAX_BODY_BYTES but over what D1 binds at once.
    let tag = unique("big");
    let notes = "n".repeat(9_400);
    let sent: Vec<String> = (0..1000).map(|i| format!("{tag}-{i}")).collect();
    let records: Vec<Value> = sent.iter().enumerate().map(|(i, e)| json!({"externalId": e, "name": format!("Big {i}"), "notes": notes})).collect();
    let body = create(app, "companies", json!(records));
    assert_eq!(body["errors"], json!([]), "{}", &body["errors"].to_string()[..body["errors"].to_string().len().min(300)]);
    assert!(result_external_ids(&body) == sent, "every result, in request order");
    assert!(body["results"].as_array().unwrap().iter().all(|r| r["created"] == true));
    let ids: Vec<Value> = body["results"].as_array().unwrap().iter().map(|r| r["crmId"].clone()).collect();
    let read = app.api.json("POST", "/companies/batch", &json!({ "ids": [ids[0], ids[999]] })).json();
    assert_eq!(read["results"][1]["properties"]["notes"].as_str().map(str::len), Some(9_400));
    // The same batch as an update: every record in order, each changed.
    let changed = "m".repeat(9_400);
    let updates: Vec<Value> = ids.iter().map(|id| json!({"crmId": id, "notes": changed})).collect();
    let body = update(app, "companies", json!(updates));
    let answered: Vec<&Value> = body["results"].as_array().unwrap().iter().map(|r| &r["crmId"]).collect();
    assert!(answered == ids.iter().collect::<Vec<_>>(), "updates answered in request order");
    assert!(body["results"].as_array().unwrap().iter().all(|r| r["success"] == true));
    let read = app.api.json("POST", "/companies/batch", &json!({ "ids": [ids[500]] })).json();
    assert_eq!(read["results"][0]["properties"]["notes"], json!(changed));
}

fn long_descriptions_and_a_record_too_big_for_a_row(app: &App) {
    let _turn = crate::heavy();
    // 100 companies with 20,000-character descriptions (2 MB), and one record of 1.2 MB, which
    // no D1 row can hold: it alone fails, in its place.
    let tag = unique("desc");
    let description = "d".repeat(20_000);
    let mut records: Vec<Value> = (0..100).map(|i| json!({"externalId": format!("{tag}-{i}"), "name": format!("D {i}"), "description": description})).collect();
    records.insert(40, json!({"externalId": format!("{tag}-huge"), "name": "Huge", "description": "h".repeat(1_200_000)}));
    let body = create(app, "companies", json!(records));
    assert_eq!(body["results"].as_array().unwrap().len(), 100);
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0]["index"].as_u64(), errors[0]["code"].as_str()), (Some(40), Some("invalid")));
    let want: Vec<String> = (0..100).map(|i| format!("{tag}-{i}")).collect();
    assert_eq!(result_external_ids(&body), want);
}

fn twenty_five_hundred_records_are_created_and_synced_in_order(app: &App) {
    let _turn = crate::heavy();
    let tag = unique("many");
    let sent: Vec<String> = (0..2500).map(|i| format!("{tag}-{i}")).collect();
    // Every other record exists before the sync; the sync sends all 2,500 under new externalIds.
    let records: Vec<Value> = sent.iter().enumerate().filter(|(i, _)| i % 2 == 0).map(|(i, e)| json!({"externalId": e, "name": format!("M {i}"), "domain": format!("{tag}-{i}.com")})).collect();
    let first = create(app, "companies", json!(records));
    let all: Vec<Value> = sent.iter().enumerate().map(|(i, e)| json!({"externalId": e, "name": format!("M {i}"), "domain": format!("{tag}-{i}.com")})).collect();
    let body = create(app, "companies", json!(all));
    assert!(result_external_ids(&body) == sent, "2,500 results in request order");
    for (i, r) in body["results"].as_array().unwrap().iter().enumerate() {
        assert_eq!(r["created"], i % 2 == 1, "item {i}: {r}");
        if i % 2 == 0 {
            assert_eq!(r["crmId"], first["results"][i / 2]["crmId"], "item {i}");
        }
    }
    let synced: Vec<Value> = sent.iter().enumerate().map(|(i, e)| json!({"externalId": format!("{e}-s"), "domain": format!("{tag}-{i}.com")})).collect();
    let resp = app.api.json("POST", "/companies/sync", &json!({ "companies": synced }));
    assert_eq!(resp.status, 200, "{}", &resp.text()[..resp.text().len().min(500)]);
    app.conforms("/companies/sync", "POST", &resp);
    let want: Vec<String> = sent.iter().map(|e| format!("{e}-s")).collect();
    let body_sync = resp.json();
    let got = result_external_ids(&body_sync);
    assert_eq!(got.len(), want.len(), "every item matched");
    assert!(got == want, "in request order; first difference at {:?}", got.iter().zip(&want).position(|(a, b)| a != b));
    let crm: Vec<&Value> = body_sync["results"].as_array().unwrap().iter().map(|r| &r["crmId"]).collect();
    let created: Vec<&Value> = body["results"].as_array().unwrap().iter().map(|r| &r["crmId"]).collect();
    assert!(crm == created, "each matched the record the create answered");
}

/// A batch of `n` items padded (each item's `pad`) so the body as sent is just under 10 MiB, the
/// default `MAX_BODY_BYTES`.
fn near_ten_mebibytes(kind: &str, n: usize, item: impl Fn(usize, &str) -> Value) -> Value {
    let limit = 10 * 1024 * 1024;
    let bare = json!({ kind: (0..n).map(|i| item(i, "")).collect::<Vec<_>>() }).to_string().len();
    let pad = "p".repeat((limit - bare - 4096) / n);
    let body = json!({ kind: (0..n).map(|i| item(i, &pad)).collect::<Vec<_>>() });
    let size = body.to_string().len();
    assert!(size <= limit && size > limit - 20_000, "{size} bytes: just under MAX_BODY_BYTES");
    body
}

/// The largest requests the contract accepts (10,000 records in a body just under 10 MiB): a
/// create, a sync half of which matches, an update; each answers every item, in request order,
/// with one bad item answered in its place. On the server that tells its wasm memory
/// (`EXPOSE_MEMORY`), which the benchmark reports; the default server never tells it.
fn the_largest_create_sync_and_update_answer_every_item(app: &App) {
    let _turn = crate::heavy();
    let tag = unique("max");
    let send = |method: &str, path: &str, body: &Value| {
        let resp = app.plain.json(method, path, body);
        assert_eq!(resp.status, 200, "{method} {path}: {}", &resp.text()[..resp.text().len().min(500)]);
        app.conforms(path, method, &resp);
        let memory = resp.header("x-wasm-memory-bytes").expect("EXPOSE_MEMORY is set on this server");
        assert!(memory.parse::<u64>().is_ok_and(|b| b % 65_536 == 0), "{memory}: whole 64 KiB pages");
        resp.json()
    };
    let bad = 7_777;
    let create = near_ten_mebibytes("companies", 10_000, |i, pad| match i {
        i if i == bad => json!({"externalId": format!("{tag}-{i}"), "name": "Bad", "employeeCount": "many", "description": pad}),
        i => json!({"externalId": format!("{tag}-{i}"), "name": format!("Max {i}"), "domain": format!("{tag}-{i}.com"), "industry": "Software", "genesy_tier": i % 3, "description": pad}),
    });
    let body = send("POST", "/companies", &create);
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0]["index"].as_u64(), errors[0]["code"].as_str(), errors[0]["externalId"].as_str()), (Some(bad as u64), Some("invalid"), Some(format!("{tag}-{bad}").as_str())));
    let want: Vec<String> = (0..10_000).filter(|&i| i != bad).map(|i| format!("{tag}-{i}")).collect();
    assert!(result_external_ids(&body) == want, "9,999 results in request order");
    assert!(body["results"].as_array().unwrap().iter().all(|r| r["created"] == true));
    let ids: Vec<String> = body["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap().to_string()).collect();

    // Even items match a created record by domain, under a new externalId; odd ones match none;
    // one item is refused in its place.
    let refused = 4_321;
    let sync = near_ten_mebibytes("companies", 10_000, |i, pad| match i {
        i if i == refused => json!({"externalId": {}, "domain": "x.com", "description": pad}),
        i if i % 2 == 0 && i != bad => json!({"externalId": format!("{tag}-s{i}"), "name": format!("Max {i}"), "domain": format!("{tag}-{i}.com"), "description": pad}),
        i => json!({"externalId": format!("{tag}-s{i}"), "name": format!("None {i}"), "domain": format!("{tag}-none-{i}.net"), "description": pad}),
    });
    let body = send("POST", "/companies/sync", &sync);
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0]["index"].as_u64(), errors[0]["code"].as_str()), (Some(refused as u64), Some("invalid")));
    let matched: Vec<usize> = (0..10_000).filter(|&i| i % 2 == 0 && i != bad && i != refused).collect();
    let want: Vec<String> = matched.iter().map(|i| format!("{tag}-s{i}")).collect();
    assert!(result_external_ids(&body) == want, "every even item matched, in request order");
    let crm: Vec<&str> = body["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap()).collect();
    let created = |i: usize| ids[if i < bad { i } else { i - 1 }].as_str();
    assert!(crm.iter().zip(&matched).all(|(got, &i)| *got == created(i)), "each matched the record created from the same item");
    let first = &body["results"][0];
    assert_eq!((first["matchedBy"].as_str(), first["properties"]["genesy_tier"].as_u64()), (Some("domain"), Some(0)), "{first}");

    // Every record updated, one unknown crmId answered in its place.
    let unknown = 5_000;
    let update = near_ten_mebibytes("companies", 10_000, |i, pad| match i {
        i if i == unknown => json!({"crmId": "co_no_such_record", "industry": "Hardware", "description": pad}),
        i => json!({"crmId": ids[i.min(ids.len() - 1)], "industry": "Hardware", "genesy_tier": "updated", "description": pad}),
    });
    let body = send("PUT", "/companies", &update);
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 10_000);
    for (i, r) in results.iter().enumerate() {
        match i {
            i if i == unknown => assert_eq!((r["success"].as_bool(), r["code"].as_str()), (Some(false), Some("not_found")), "{r}"),
            _ => assert_eq!((r["success"].as_bool(), r["crmId"].as_str()), (Some(true), Some(ids[i.min(ids.len() - 1)].as_str())), "item {i}: {r}"),
        }
    }
    // All of them read back by id (1,000 a statement), in request order, one unknown id skipped.
    let mut asked: Vec<String> = ids.iter().rev().cloned().collect();
    asked.insert(4_000, "co_no_such_record".into());
    let read = send("POST", "/companies/batch", &json!({ "ids": asked }));
    let got: Vec<&str> = read["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(got.iter().eq(ids.iter().rev()), "9,999 records in request order, the unknown one skipped");
    assert_eq!(read["results"][0]["industry"], "Hardware");
    assert_eq!(read["results"][0]["properties"]["genesy_tier"], "updated");
    // Only a server configured to tell it says how large its memory is.
    assert_eq!(app.api.get("/health").header("x-wasm-memory-bytes"), None);
}

/// A body of more than a mebibyte (read without holding it whole) is refused as a small one is:
/// `400` with the place of the first error, and `413` past `MAX_BATCH`; nothing is written.
fn a_large_body_is_refused_as_a_small_one_is(app: &App) {
    let _turn = crate::heavy();
    let tag = unique("refused");
    let items: Vec<Value> = (0..5_000).map(|i| json!({"externalId": format!("{tag}-{i}"), "name": format!("R {i} {}", "r".repeat(200))})).collect();
    let good = json!({ "companies": items }).to_string();
    assert!(good.len() > 1024 * 1024);
    let post = |body: &[u8]| app.plain.send("POST", "/companies", Key::Valid, &[("Content-Type", "application/json")], Some(body));
    // Broken near the end: a number JSON cannot hold, a lone surrogate, a value missing, and
    // text after the document. Each answer names the place serde_json names for the whole body.
    let cut = good.len() - 200;
    for broken in [
        format!("{}, \"n\": 1e999}}]}}", &good[..good.len() - 3]),
        format!("{}, \"n\": \"\\ud800\"}}]}}", &good[..good.len() - 3]),
        format!("{}, {{\"name\": }}]}}", &good[..good.len() - 2]),
        format!("{good} x"),
        good[..cut].to_string(),
    ] {
        let resp = post(broken.as_bytes());
        assert_eq!(resp.status, 400, "{}", resp.text());
        let e = serde_json::from_slice::<Value>(broken.as_bytes()).expect_err("broken");
        let error = resp.json()["error"].as_str().unwrap().to_string();
        assert!(error.ends_with(&format!(" at line {}, column {}", e.line(), e.column())), "{error} ({e})");
        app.conforms("/companies", "POST", &resp);
    }
    // One more than MAX_BATCH, in more than a mebibyte.
    let many: Vec<Value> = (0..10_001).map(|i| json!({"name": format!("Many {i} {}", "m".repeat(100))})).collect();
    let resp = app.plain.json("POST", "/companies", &json!({ "companies": many }));
    assert_eq!(resp.status, 413, "{}", resp.text());
    assert_eq!(resp.json()["error"], "companies has 10001 records; at most 10000 are accepted in one request (MAX_BATCH)");
    // None of it was written.
    let sync: Vec<Value> = (0..3).map(|i| json!({"externalId": format!("{tag}-{i}")})).collect();
    let resp = app.plain.json("POST", "/companies/sync", &json!({ "companies": sync }));
    assert_eq!(resp.json()["results"], json!([]), "{}", resp.text());
}
