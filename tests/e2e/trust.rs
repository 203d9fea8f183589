//! Trust (precision of matching, nothing refused, dropped or mangled): what Enginy sends is kept
//! as meant, and two different people or companies are never made one.

use serde_json::{json, Value};

use crate::harness::{unique, Client, Key};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("trust::two_people_with_one_name_and_two_profiles_stay_two", two_people_with_one_name_and_two_profiles_stay_two),
    ("trust::one_company_name_at_two_domains_stays_two", one_company_name_at_two_domains_stays_two),
    ("trust::pages_on_shared_sites_never_collapse_companies", pages_on_shared_sites_never_collapse_companies),
    ("trust::values_are_read_leniently_on_create_and_update", values_are_read_leniently_on_create_and_update),
    ("trust::names_the_crm_owns_are_refused_by_name", names_the_crm_owns_are_refused_by_name),
    ("trust::domains_are_stored_and_synced_back_clean", domains_are_stored_and_synced_back_clean),
    ("trust::a_base_url_with_a_trailing_slash_works", a_base_url_with_a_trailing_slash_works),
    ("trust::associations_take_aliases_and_enginy_labels", associations_take_aliases_and_enginy_labels),
    ("trust::a_deduplicated_export_keeps_what_it_carried", a_deduplicated_export_keeps_what_it_carried),
    ("trust::sync_sends_back_the_owner_and_the_last_activity", sync_sends_back_the_owner_and_the_last_activity),
    ("trust::an_idempotency_key_replays_the_first_answer", an_idempotency_key_replays_the_first_answer),
    ("trust::a_concurrent_retry_with_one_key_creates_one_task", a_concurrent_retry_with_one_key_creates_one_task),
    ("trust::a_retry_of_a_request_whose_answer_was_not_kept_writes_nothing", a_retry_of_a_request_whose_answer_was_not_kept_writes_nothing),
    ("trust::a_retried_task_or_activity_makes_no_copy", a_retried_task_or_activity_makes_no_copy),
    ("trust::concurrent_keyless_task_creates_leave_one_task", concurrent_keyless_task_creates_leave_one_task),
    ("trust::a_keyless_activity_retried_after_a_lost_answer_is_logged_once", a_keyless_activity_retried_after_a_lost_answer_is_logged_once),
    ("trust::the_timeline_names_the_user_who_acted", the_timeline_names_the_user_who_acted),
    ("trust::an_external_id_sent_on_update_links_the_record", an_external_id_sent_on_update_links_the_record),
    ("trust::a_cached_sync_sends_back_the_date_an_activity_moved", a_cached_sync_sends_back_the_date_an_activity_moved),
];

fn post(c: &Client, path: &str, body: Value) -> Value {
    let resp = c.json("POST", path, &body);
    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    resp.json()
}

fn two_people_with_one_name_and_two_profiles_stay_two(app: &App) {
    let company = unique("Initech");
    let person = |ext: &str, profile: &str, email: &str| {
        json!({"externalId": ext, "firstName": "John", "lastName": "Smith", "company": company, "linkedinUrl": profile, "email": email})
    };
    let (p1, p2) = (unique("js1"), unique("js2"));
    let first = post(&app.api, "/contacts", json!({"contacts": [person(&unique("e"), &format!("https://linkedin.com/in/{p1}"), &format!("{p1}@x.test"))]}));
    let first_id = first["results"][0]["crmId"].clone();
    // Same name and company, another profile and email: another person.
    let second = post(&app.api, "/contacts", json!({"contacts": [person(&unique("e"), &format!("https://linkedin.com/in/{p2}"), &format!("{p2}@x.test"))]}));
    assert_eq!(second["results"][0]["created"], true, "{second}");
    assert_ne!(second["results"][0]["crmId"], first_id);
    // Sync says the same: the second profile matches only the second record.
    let synced = post(&app.api, "/contacts/sync", json!({"contacts": [person(&unique("e"), &format!("https://linkedin.com/in/{p2}"), "")]}));
    assert_eq!(synced["results"][0]["crmId"], second["results"][0]["crmId"], "{synced}");
    assert_eq!(synced["results"][0]["matchedBy"], "linkedinUrl");
}

fn one_company_name_at_two_domains_stays_two(app: &App) {
    // The matching server identifies companies by `domain | name`.
    let (name, d1, d2) = (unique("Acme"), format!("{}.com", unique("acme")), format!("{}.com", unique("beta")));
    let stored = post(&app.matching, "/companies", json!({"companies": [{"externalId": unique("e"), "name": name, "domain": d1}]}));
    let id = stored["results"][0]["crmId"].clone();
    let other = post(&app.matching, "/companies/sync", json!({"companies": [{"externalId": unique("e"), "name": name, "domain": d2}]}));
    assert_eq!(other["results"], json!([]), "a name shared by two domains is two companies: {other}");
    let by_name = post(&app.matching, "/companies/sync", json!({"companies": [{"externalId": unique("e"), "name": name}]}));
    assert_eq!((by_name["results"][0]["crmId"].clone(), by_name["results"][0]["matchedBy"].clone()), (id, json!("name")), "{by_name}");
}

fn pages_on_shared_sites_never_collapse_companies(app: &App) {
    // Pages on platforms, a shortened link, and a customer's site on a site builder whose sites
    // the Public Suffix List does not keep apart: each names no company.
    let pages = ["https://sites.google.com/view/{}", "https://www.facebook.com/{}", "linktr.ee/{}", "https://bit.ly/{}", "https://{}.squarespace.com/"];
    for page in pages {
        let a = page.replace("{}", &unique("a"));
        let b = page.replace("{}", &unique("b"));
        let body = json!({"companies": [
            {"externalId": unique("e"), "name": unique("Page A"), "domain": a},
            {"externalId": unique("e"), "name": unique("Page B"), "domain": b},
        ]});
        let created = post(&app.api, "/companies", body);
        let r = &created["results"];
        assert_eq!((r[0]["created"].clone(), r[1]["created"].clone()), (json!(true), json!(true)), "{page}: {created}");
        assert_ne!(r[0]["crmId"], r[1]["crmId"]);
    }
}

fn values_are_read_leniently_on_create_and_update(app: &App) {
    let created = post(&app.api, "/companies", json!({"companies": [{"externalId": unique("e"), "name": unique("Lenient"), "employeeCount": "120", "technologies": "rust, wasm"}]}));
    let id = created["results"][0]["crmId"].as_str().unwrap().to_string();
    let resp = app.api.json("PUT", "/companies", &json!({"companies": [{"crmId": id, "tags": "Interested, Follow up", "foundedYear": "1999"}]}));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["results"][0]["success"], true, "{}", resp.text());
    let record = app.api.get(&format!("/companies/{id}")).json();
    assert_eq!(record["employeeCount"], 120);
    assert_eq!(record["foundedYear"], 1999);
    assert_eq!(record["technologies"], json!(["rust", "wasm"]));
    assert_eq!(record["tags"], json!(["Interested", "Follow up"]));
    // What still does not fit is an error naming the field.
    let bad = app.api.json("PUT", "/companies", &json!({"companies": [{"crmId": id, "employeeCount": "a few"}]})).json();
    assert_eq!((bad["results"][0]["success"].clone(), bad["results"][0]["field"].clone()), (json!(false), json!("employeeCount")), "{bad}");
    // A contact's companyName is its company.
    let contact = post(&app.api, "/contacts", json!({"contacts": [{"externalId": unique("e"), "firstName": "Ana", "companyName": "Globex"}]}));
    let ct = contact["results"][0]["crmId"].as_str().unwrap();
    assert_eq!(app.api.get(&format!("/contacts/{ct}")).json()["company"], "Globex");
}

fn names_the_crm_owns_are_refused_by_name(app: &App) {
    let created = post(&app.api, "/companies", json!({"companies": [
        {"externalId": unique("e"), "name": "With an id", "id": "co_mine"},
        {"externalId": unique("e"), "name": "Fine"},
    ]}));
    assert_eq!((created["errors"][0]["code"].clone(), created["errors"][0]["field"].clone()), (json!("read_only"), json!("id")), "{created}");
    let id = created["results"][0]["crmId"].as_str().unwrap();
    let updated = app.api.json("PUT", "/companies", &json!({"companies": [{"crmId": id, "updatedAt": "2020-01-01T00:00:00Z"}]})).json();
    let r = &updated["results"][0];
    assert_eq!((r["success"].clone(), r["code"].clone(), r["field"].clone()), (json!(false), json!("read_only"), json!("updatedAt")), "{updated}");
}

fn domains_are_stored_and_synced_back_clean(app: &App) {
    let host = format!("{}.com", unique("hooli"));
    let sent = format!("http://{host}/en/home?utm_source=x");
    let ext = unique("e");
    let created = post(&app.api, "/companies", json!({"companies": [{"externalId": ext, "name": "Hooli", "domain": sent}]}));
    let id = created["results"][0]["crmId"].as_str().unwrap();
    let record = app.api.get(&format!("/companies/{id}")).json();
    assert_eq!((record["domain"].as_str(), record["website"].as_str()), (Some(host.as_str()), Some(sent.as_str())));
    let synced = post(&app.api, "/companies/sync", json!({"companies": [{"externalId": ext, "domain": host}]}));
    assert_eq!(synced["results"][0]["properties"]["domain"], json!(host), "{synced}");

    // History keeps what was sent: on the created entry, and on an update's change of the field.
    let other = format!("{}.com", unique("hooli-new"));
    let sent_again = format!("HTTPS://www.{}/careers#jobs", other.to_uppercase());
    let updated = app.api.json("PUT", "/companies", &json!({"companies": [{"crmId": id, "domain": sent_again, "employeeCount": "120"}]}));
    assert_eq!(updated.status, 200, "{}", updated.text());
    let history = app.api.get(&format!("/companies/{id}/history")).json();
    let entry = |field: &str| history["history"].as_array().unwrap().iter().find(|h| h["field"] == field).cloned().unwrap_or_else(|| panic!("{field}: {history}"));
    let created = entry("(created)");
    assert_eq!(created["newValue"]["fields"]["domain"], json!(host), "{created}");
    assert_eq!(created["sentValue"], json!({"domain": sent}), "{created}");
    let domain = entry("domain");
    assert_eq!((domain["oldValue"].clone(), domain["newValue"].clone(), domain["sentValue"].clone()), (json!(host), json!(other), json!(sent_again)), "{domain}");
    let employees = entry("employeeCount");
    assert_eq!((employees["newValue"].clone(), employees["sentValue"].clone()), (json!(120), json!("120")), "{employees}");
    // A value stored as sent carries no sentValue.
    let renamed = app.api.json("PUT", "/companies", &json!({"companies": [{"crmId": id, "name": "Hooli XYZ"}]}));
    assert_eq!(renamed.status, 200);
    let history = app.api.get(&format!("/companies/{id}/history?limit=1")).json();
    assert_eq!(history["history"][0]["field"], "name");
    assert!(history["history"][0].get("sentValue").is_none(), "{history}");
    app.conforms("/companies/{id}/history", "GET", &app.api.get(&format!("/companies/{id}/history")));
}

fn a_base_url_with_a_trailing_slash_works(app: &App) {
    assert_eq!(app.api.get("//health").status, 200);
    let name = unique("Slash");
    post(&app.api, "//companies", json!({"companies": [{"externalId": unique("e"), "name": name, "domain": format!("{}.com", unique("slash"))}]}));
    let resp = app.api.json("POST", "//companies//sync", &json!({"companies": []}));
    assert_eq!(resp.status, 200, "{}", resp.text());
}

fn associations_take_aliases_and_enginy_labels(app: &App) {
    let ct = post(&app.api, "/contacts", json!({"contacts": [{"externalId": unique("e"), "firstName": "Al"}]}))["results"][0]["crmId"].clone();
    let co = post(&app.api, "/companies", json!({"companies": [{"externalId": unique("e"), "name": unique("Aliased")}]}))["results"][0]["crmId"].clone();
    let body = json!({"associations": [{"contactCrmId": ct, "companyCrmId": co, "type": "Add association as Primary"}]});
    let linked = post(&app.api, "/associations", body);
    assert_eq!(linked["success"], true, "{linked}");
    let contact = app.api.get(&format!("/contacts/{}", ct.as_str().unwrap())).json();
    let link = &contact["associations"][0];
    assert_eq!((link["companyId"].clone(), link["primary"].clone()), (co, json!(true)), "{contact}");
}

fn a_deduplicated_export_keeps_what_it_carried(app: &App) {
    let domain = format!("{}.com", unique("merge"));
    let stored = post(&app.api, "/companies", json!({"companies": [{"externalId": unique("e"), "name": "Merge Co", "domain": domain}]}));
    let id = stored["results"][0]["crmId"].as_str().unwrap().to_string();
    let ext = unique("e");
    let export = json!({"companies": [{"externalId": ext, "name": "MERGE CO INC", "domain": format!("https://www.{domain}/about"), "industry": "Software", "tier": "gold"}]});
    let answer = post(&app.api, "/companies", export);
    let r = &answer["results"][0];
    assert_eq!((r["crmId"].as_str(), r["created"].as_bool()), (Some(id.as_str()), Some(false)), "{answer}");
    // The page URL sent as the domain fills the empty website too.
    assert_eq!(r["updatedFields"], json!(["industry", "website", "properties.tier"]), "{answer}");
    // The name it carried differs from the stored one, which stays: said, not dropped.
    assert_eq!(r["keptFields"], json!(["name"]), "{answer}");
    let record = app.api.get(&format!("/companies/{id}")).json();
    assert_eq!((record["name"].as_str(), record["industry"].as_str()), (Some("Merge Co"), Some("Software")), "filled, not overwritten");
    assert_eq!(record["properties"]["tier"], "gold");
    let resp = app.api.get(&format!("/companies/{id}/history"));
    app.conforms("/companies/{id}/history", "GET", &resp);
    let history = resp.json();
    assert!(history["history"].as_array().unwrap().iter().any(|h| h["field"] == "industry" && h["newValue"] == "Software"), "{history}");
    let name = history["history"].as_array().unwrap().iter().find(|h| h["field"] == "name").cloned().unwrap_or_else(|| panic!("{history}"));
    assert_eq!(
        (name["oldValue"].clone(), name["newValue"].clone(), name["sentValue"].clone(), name["applied"].clone()),
        (json!("Merge Co"), json!("Merge Co"), json!("MERGE CO INC"), json!(false)),
        "the value as sent, marked not applied: {name}"
    );
    // Another export with another industry: the stored one stays, and the one sent is kept as sent.
    let again = post(&app.api, "/companies", json!({"companies": [{"externalId": unique("e"), "domain": domain, "industry": "Retail"}]}));
    let r = &again["results"][0];
    assert!(r.get("updatedFields").is_none(), "{again}");
    assert_eq!(r["keptFields"], json!(["industry"]), "{again}");
    let history = app.api.get(&format!("/companies/{id}/history?limit=1")).json();
    let entry = &history["history"][0];
    assert_eq!((entry["field"].as_str(), entry["sentValue"].as_str(), entry["applied"].as_bool()), (Some("industry"), Some("Retail"), Some(false)), "{history}");
    assert_eq!(app.api.get(&format!("/companies/{id}")).json()["industry"], "Software");
    // The same values again: nothing differs, nothing kept.
    let same = post(&app.api, "/companies", json!({"companies": [{"externalId": ext, "domain": domain, "name": "Merge Co", "industry": "Software"}]}));
    assert!(same["results"][0].get("keptFields").is_none() && same["results"][0].get("updatedFields").is_none(), "{same}");
}

fn sync_sends_back_the_owner_and_the_last_activity(app: &App) {
    // The users server has users, so owners are stored users there.
    let c = &app.users;
    let email = format!("{}@x.test", unique("owner"));
    let user = post(c, "/users", json!({"name": "Olive Owner", "email": email}));
    let owner = user["id"].as_str().unwrap();
    let domain = format!("{}.com", unique("owned"));
    let ext = unique("e");
    post(c, "/companies", json!({"companies": [{"externalId": ext, "name": "Owned", "domain": domain, "ownerId": owner, "lastActivityDate": "2024-03-01T09:00:00Z"}]}));
    let synced = post(c, "/companies/sync", json!({"companies": [{"externalId": unique("e"), "domain": domain}]}));
    let p = &synced["results"][0]["properties"];
    assert_eq!((p["ownerId"].as_str(), p["ownerName"].as_str(), p["ownerEmail"].as_str()), (Some(owner), Some("Olive Owner"), Some(email.as_str())), "{synced}");
    assert_eq!(p["lastActivityDate"], "2024-03-01T09:00:00.000Z");
    // A date sent later only moves it forward.
    let id = synced["results"][0]["crmId"].as_str().unwrap();
    let back = c.json("PUT", "/companies", &json!({"companies": [{"crmId": id, "lastActivityDate": "2023-01-01T00:00:00Z"}]}));
    assert_eq!(back.json()["results"][0]["success"], true);
    assert_eq!(c.get(&format!("/companies/{id}")).json()["lastActivityDate"], "2024-03-01T09:00:00.000Z");
}

fn with_key(c: &Client, method: &str, path: &str, key: &str, body: &Value) -> crate::harness::Resp {
    let bytes = body.to_string();
    c.send(method, path, Key::Valid, &[("Content-Type", "application/json"), ("Idempotency-Key", key)], Some(bytes.as_bytes()))
}

fn an_idempotency_key_replays_the_first_answer(app: &App) {
    let key = unique("idem");
    let body = json!({"subject": unique("Call back")});
    let first = with_key(&app.api, "POST", "/tasks", &key, &body);
    assert_eq!(first.status, 200, "{}", first.text());
    assert!(first.header("idempotent-replayed").is_none());
    let again = with_key(&app.api, "POST", "/tasks", &key, &body);
    assert_eq!((again.status, again.header("idempotent-replayed")), (200, Some("true")));
    assert_eq!(again.json()["id"], first.json()["id"], "the retry answers the first task: no copy");
    assert_eq!(again.header("x-d1-statements"), Some("2"), "a replay reads the key and writes nothing");
    // The same key for another body, or a key too long: 422 naming the cause.
    let other = with_key(&app.api, "POST", "/tasks", &key, &json!({"subject": "Something else"}));
    assert_eq!((other.status, other.json()["code"].clone()), (422, json!("unprocessable")), "{}", other.text());
    assert!(other.json()["error"].as_str().unwrap().contains("another request"));
    // The same key and body on another task's path is another request: 422, not the first answer.
    let (one, two) = (first.json()["id"].as_str().unwrap().to_string(), with_key(&app.api, "POST", "/tasks", &unique("k2"), &body).json()["id"].as_str().unwrap().to_string());
    let patch_key = unique("idem-patch");
    let patch = json!({"subject": unique("Renamed")});
    assert_eq!(with_key(&app.api, "PATCH", &format!("/tasks/{one}"), &patch_key, &patch).status, 200);
    let other_task = with_key(&app.api, "PATCH", &format!("/tasks/{two}"), &patch_key, &patch);
    assert_eq!(other_task.status, 422, "{}", other_task.text());
    assert_ne!(app.api.get(&format!("/tasks/{two}")).json()["subject"], patch["subject"], "the second task was not renamed");
    let long = with_key(&app.api, "POST", "/tasks", &"k".repeat(256), &body);
    assert_eq!(long.status, 422);
    assert!(long.json()["error"].as_str().unwrap().contains("Idempotency-Key"), "{}", long.text());
}

/// An answer too large to keep (over 1 MB) is not replayed, but its writes are in: a retry with
/// the key is refused, never run again (before, the key was released and the retry created every
/// task a second time).
fn a_retry_of_a_request_whose_answer_was_not_kept_writes_nothing(app: &App) {
    let _heavy = crate::heavy();
    let key = unique("big");
    let tag = unique("Big answer");
    let tasks: Vec<Value> = (0..60).map(|i| json!({"subject": format!("{tag} {i}"), "description": "d".repeat(19_000)})).collect();
    let body = json!({ "tasks": tasks });
    let first = with_key(&app.api, "POST", "/tasks", &key, &body);
    assert_eq!(first.status, 200, "{}", first.text());
    assert!(first.body.len() > 1_000_000, "the answer must be too large to keep: {} bytes", first.body.len());
    let created: Vec<String> = first.json()["results"].as_array().unwrap().iter().filter_map(|r| r["id"].as_str().map(String::from)).collect();
    assert_eq!(created.len(), 60, "{}", &first.text()[..300]);
    let again = with_key(&app.api, "POST", "/tasks", &key, &body);
    assert_eq!(again.status, 409, "{}", &again.text()[..again.text().len().min(300)]);
    assert!(again.json()["error"].as_str().unwrap().contains("has written its changes"), "{}", again.text());
}

fn a_concurrent_retry_with_one_key_creates_one_task(app: &App) {
    for _round in 0..3 {
        let key = unique("race");
        let body = json!({"subject": unique("Race")});
        let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| s.spawn(|| {
                    let r = with_key(&app.api, "POST", "/tasks", &key, &body);
                    (r.status, if r.status == 200 { r.json() } else { Value::Null })
                }))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let ids: std::collections::HashSet<String> =
            answers.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(ids.len(), 1, "one task, whoever answered: {answers:?}");
        assert!(answers.iter().all(|(s, _)| *s == 200 || *s == 409), "{answers:?}");
        // Once done, every retry gets the task.
        let after = with_key(&app.api, "POST", "/tasks", &key, &body);
        assert_eq!(after.json()["id"].as_str().map(str::to_string), ids.into_iter().next());
    }
}

fn a_retried_task_or_activity_makes_no_copy(app: &App) {
    let ext = unique("task");
    let first = post(&app.api, "/tasks", json!({"subject": "Follow up", "externalId": ext}));
    assert_eq!(first["externalId"], json!(ext));
    let retry = post(&app.api, "/tasks", json!({"subject": "Follow up", "externalId": ext}));
    assert_eq!(retry["id"], first["id"], "a retried create answers the first task");
    // In a batch, and twice in one batch.
    let other = unique("task");
    let batch = post(&app.api, "/tasks", json!({"tasks": [{"subject": "A", "externalId": ext}, {"subject": "B", "externalId": other}, {"subject": "B", "externalId": other}]}));
    let ids: Vec<Value> = batch["results"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect();
    assert_eq!(ids[0], first["id"], "{batch}");
    assert_eq!(ids[1], ids[2], "the same externalId twice is one task: {batch}");
    // A deleted task releases its externalId.
    let id = first["id"].as_str().unwrap();
    assert_eq!(app.api.send("DELETE", &format!("/tasks/{id}"), Key::Valid, &[], None).status, 200);
    let again = post(&app.api, "/tasks", json!({"subject": "Follow up", "externalId": ext}));
    assert_ne!(again["id"], first["id"]);
    // An activity without a messageId is keyed by its externalId.
    let act = unique("act");
    let a1 = post(&app.api, "/activities", json!({"type": "LINKEDIN", "externalId": act, "subject": "Connected"}));
    let a2 = post(&app.api, "/activities", json!({"type": "LINKEDIN", "externalId": act, "subject": "Connected"}));
    assert_eq!(a1["id"], a2["id"], "a retried log answers the first activity");
    assert_eq!(a1["properties"]["externalId"], json!(act));
}

/// Enginy sends tasks with no key at all and retries after a timeout: the same task sent again
/// within ten minutes, even eight times at once, is one task; another contact or another due time
/// is another task.
fn concurrent_keyless_task_creates_leave_one_task(app: &App) {
    let ct = crate::tasks::contact(&app.api);
    let subject = unique("Call back");
    let body = json!({"subject": subject, "type": "CALL", "contactId": ct, "dueDate": "2030-03-04T09:00:00Z"});
    let ids: std::collections::HashSet<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let resp = app.api.json("POST", "/tasks", &body);
                    app.conforms("/tasks", "POST", &resp);
                    assert_eq!(resp.status, 200, "{}", resp.text());
                    resp.json()["id"].as_str().unwrap().to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(ids.len(), 1, "eight identical creates, one task: {ids:?}");
    let id = ids.into_iter().next().unwrap();
    let history = app.api.get(&format!("/tasks/{id}/history")).json();
    let created = history["history"].as_array().unwrap().iter().filter(|h| h["field"] == "(created)").count();
    assert_eq!(created, 1, "one task stored: {history}");

    // The batch form says which item was a retry, and a copy inside one batch is the same task.
    let other_contact = crate::tasks::contact(&app.api);
    let batch = post(&app.api, "/tasks", json!({"tasks": [
        body.clone(),
        {"subject": subject, "type": "CALL", "contactId": other_contact, "dueDate": "2030-03-04T09:00:00Z"},
        {"subject": subject, "type": "CALL", "contactId": ct, "dueDate": "2030-03-05T09:00:00Z"},
        {"subject": subject, "type": "CALL", "contactId": ct, "dueDate": "2030-03-05T09:00:00Z"},
    ]}));
    let r = batch["results"].as_array().unwrap();
    assert_eq!((r[0]["id"].as_str(), r[0]["created"].as_bool()), (Some(id.as_str()), Some(false)), "{batch}");
    assert_eq!(r[1]["created"], true, "the same subject on another contact is a second task: {batch}");
    assert_eq!(r[2]["created"], true, "another due time is a second task: {batch}");
    assert_eq!((r[3]["id"].clone(), r[3]["created"].clone()), (r[2]["id"].clone(), json!(false)), "twice in one batch: {batch}");
    let distinct: std::collections::HashSet<&str> = r.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(distinct.len(), 3, "{batch}");
    // A request with its own Idempotency-Key is keyed by it: another key is another task.
    let keyed = with_key(&app.api, "POST", "/tasks", &unique("idem"), &body);
    assert_eq!(keyed.status, 200, "{}", keyed.text());
    assert_ne!(keyed.json()["id"].as_str(), Some(id.as_str()));
    // A deleted task is not answered again: the same content is then a new task.
    assert_eq!(app.api.send("DELETE", &format!("/tasks/{id}"), Key::Valid, &[], None).status, 200);
    let again = post(&app.api, "/tasks", body.clone());
    assert_ne!(again["id"].as_str(), Some(id.as_str()));
    // And that new task answers its own retries: it holds the content now.
    let retried = post(&app.api, "/tasks", json!({"tasks": [body.clone(), body]}));
    let r = retried["results"].as_array().unwrap();
    for t in r {
        assert_eq!((t["id"].clone(), t["created"].clone()), (again["id"].clone(), json!(false)), "{retried}");
    }
    let live = app.api.get(&format!("/tasks/{}", again["id"].as_str().unwrap()));
    assert_eq!(live.status, 200, "the new task is live: {}", live.text());
}

/// An activity without a messageId or externalId whose answer was lost and which is sent again
/// (without an occurredAt, so the server stamps each send with its own time) is logged once.
fn a_keyless_activity_retried_after_a_lost_answer_is_logged_once(app: &App) {
    let ct = crate::tasks::contact(&app.api);
    let body = json!({"type": "LINKEDIN_CONNECTION", "subject": unique("Invited"), "direction": "OUTBOUND", "contactId": ct});
    let first = post(&app.api, "/activities", body.clone());
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let resp = app.api.json("POST", "/activities", &body);
    app.conforms("/activities", "POST", &resp);
    let retry = resp.json();
    assert_eq!(retry["id"], first["id"], "the retry answers the first activity: {retry}");
    assert_eq!(retry["occurredAt"], first["occurredAt"]);
    let batch = post(&app.api, "/activities", json!({"activities": [body, {"type": "LINKEDIN_CONNECTION", "subject": unique("Accepted"), "contactId": ct}]}));
    assert_eq!((batch["results"][0]["id"].clone(), batch["results"][0]["created"].clone()), (first["id"].clone(), json!(false)), "{batch}");
    assert_eq!(batch["results"][1]["created"], true, "{batch}");
    let timeline = app.api.get(&format!("/contacts/{ct}/activities")).json();
    assert_eq!(timeline["data"].as_array().unwrap().len(), 2, "one activity per content: {timeline}");
}

fn the_timeline_names_the_user_who_acted(app: &App) {
    let c = &app.users;
    let user = post(c, "/users", json!({"name": "Tim Line", "email": format!("{}@x.test", unique("tim"))}));
    let owner = user["id"].as_str().unwrap();
    let ct = post(c, "/contacts", json!({"contacts": [{"externalId": unique("e"), "firstName": "Acted", "ownerId": owner}]}))["results"][0]["crmId"].clone();
    let ct = ct.as_str().unwrap();
    let logged = post(c, "/activities", json!({"type": "LINKEDIN", "contactId": ct, "ownerId": owner, "subject": "Invited"}));
    assert_eq!(logged["ownerName"], "Tim Line", "{logged}");
    let timeline = c.get(&format!("/contacts/{ct}/activities")).json();
    assert_eq!((timeline["data"][0]["ownerId"].as_str(), timeline["data"][0]["ownerName"].as_str()), (Some(owner), Some("Tim Line")), "{timeline}");
}

fn an_external_id_sent_on_update_links_the_record(app: &App) {
    let (old, new) = (unique("old"), unique("new"));
    let created = post(&app.api, "/contacts", json!({"contacts": [
        {"externalId": old, "firstName": "Linda"},
        {"externalId": unique("other"), "firstName": "Other"},
    ]}));
    let (id, other) = (created["results"][0]["crmId"].as_str().unwrap(), created["results"][1]["crmId"].as_str().unwrap());
    let updated = app.api.json("PUT", "/contacts", &json!({"contacts": [{"crmId": id, "externalId": new}]})).json();
    assert_eq!(updated["results"][0]["success"], true, "{updated}");
    // Enginy's new id finds the record, and so does the old one.
    for ext in [&new, &old] {
        let synced = post(&app.api, "/contacts/sync", json!({"contacts": [{"externalId": ext}]}));
        assert_eq!(synced["results"][0]["crmId"], json!(id), "{ext}: {synced}");
    }
    assert_eq!(app.api.get(&format!("/contacts/{id}")).json()["externalId"], json!(new));
    let history = app.api.get(&format!("/contacts/{id}/history")).json();
    assert!(history["history"].as_array().unwrap().iter().any(|h| h["field"] == "externalId" && h["oldValue"] == json!(old) && h["newValue"] == json!(new)), "{history}");
    // Another record's externalId: conflict, nothing written.
    let taken = app.api.json("PUT", "/contacts", &json!({"contacts": [{"crmId": other, "externalId": new, "firstName": "Stolen"}]})).json();
    let r = &taken["results"][0];
    assert_eq!((r["success"].clone(), r["code"].clone(), r["field"].clone()), (json!(false), json!("conflict"), json!("externalId")), "{taken}");
    assert_eq!(app.api.get(&format!("/contacts/{other}")).json()["firstName"], "Other");
}

fn a_cached_sync_sends_back_the_date_an_activity_moved(app: &App) {
    // The api server runs with the match cache on: the second sync is answered from KV.
    let domain = format!("{}.com", unique("cached"));
    let co = post(&app.api, "/companies", json!({"companies": [{"externalId": unique("e"), "name": "Cached", "domain": domain}]}))["results"][0]["crmId"].clone();
    let sync = || post(&app.api, "/companies/sync", json!({"companies": [{"externalId": unique("e"), "domain": domain}]}));
    sync();
    let warm = sync();
    assert!(warm["results"][0]["properties"].get("lastActivityDate").is_none(), "{warm}");
    post(&app.api, "/activities", json!({"type": "EMAIL", "companyId": co, "occurredAt": "2030-01-01T00:00:00Z"}));
    let after = sync();
    assert_eq!(after["results"][0]["properties"]["lastActivityDate"], "2030-01-01T00:00:00.000Z", "{after}");
}
