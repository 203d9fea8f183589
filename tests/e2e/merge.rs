//! Duplicates and merges: what Enginy sees after a merge, the refusals, the race of
//! two overlapping merges, and the duplicate groups with the veto.

use serde_json::{json, Value};

use crate::harness::{unique, Client};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("merge::enginy_keeps_working_with_the_old_ids_after_a_merge", enginy_keeps_working_with_the_old_ids_after_a_merge),
    ("merge::bad_merges_are_400_naming_the_cause_and_write_nothing", bad_merges_are_400_naming_the_cause_and_write_nothing),
    ("merge::overlapping_concurrent_merges_one_wins_the_other_409", overlapping_concurrent_merges_one_wins_the_other_409),
    ("merge::duplicates_are_grouped_by_the_identifier_with_the_veto", duplicates_are_grouped_by_the_identifier_with_the_veto),
    ("merge::undo_restores_both_records_and_everything_that_moved", undo_restores_both_records_and_everything_that_moved),
    ("merge::undo_of_a_company_merge_gives_subsidiaries_and_primaries_back", undo_of_a_company_merge_gives_subsidiaries_and_primaries_back),
    ("merge::undo_after_a_later_write_is_409_naming_it_and_writes_nothing", undo_after_a_later_write_is_409_naming_it_and_writes_nothing),
    ("merge::chained_merges_undo_newest_first", chained_merges_undo_newest_first),
    ("merge::an_undo_never_revives_a_deleted_owner", an_undo_never_revives_a_deleted_owner),
];

/// The owner of a merged record is deleted while the record is merged: the undo brings the
/// record back without it (a user's deletion clears its records), and says so in history.
fn an_undo_never_revives_a_deleted_owner(app: &App) {
    let c = &app.users;
    let user = c.json("POST", "/users", &json!({"name": "Gone Owner", "email": format!("{}@x.test", unique("gone"))}));
    assert_eq!(user.status, 200, "{}", user.text());
    let owner = user.json()["id"].as_str().unwrap().to_string();
    let keeper = c.json("POST", "/users", &json!({"name": "Kept Owner", "email": format!("{}@x.test", unique("kept"))}));
    let keeper = keeper.json()["id"].as_str().unwrap().to_string();
    let ids = create(c, "contacts", json!([
        {"externalId": unique("go-a"), "firstName": "Kept", "lastName": unique("A"), "ownerId": keeper},
        {"externalId": unique("go-b"), "firstName": "Owned", "lastName": unique("B"), "ownerId": owner},
    ]));
    let (a, b) = (ids[0].clone(), ids[1].clone());
    let (status, merged) = merge(app, c, "contacts", json!({"survivorId": a, "mergedIds": [b]}));
    assert_eq!(status, 200, "{merged}");
    // B's owner goes while B is merged (a tombstone): nothing the merge changed is touched.
    assert_eq!(c.send("DELETE", &format!("/users/{owner}"), crate::harness::Key::Valid, &[], None).status, 200);
    let (status, undone) = undo(app, c, "contacts", merged["mergeId"].as_str().unwrap());
    assert_eq!(status, 200, "{undone}");
    let back = c.get(&format!("/contacts/{b}")).json();
    assert_eq!(back["crmId"], b.as_str());
    assert!(back["ownerId"].is_null(), "the restored record names a deleted user: {back}");
    assert_eq!(c.get(&format!("/contacts/{a}")).json()["ownerId"], keeper.as_str());
    let history = c.get(&format!("/contacts/{b}/history?limit=5")).json().to_string();
    assert!(history.contains(&format!("\"oldValue\":\"{owner}\"")), "{history}");
}

/// B merged into A, then A into C: the first merge waits for the second to be undone, and then
/// undoes too (the second merge and its undo cancel out), everything back where it started.
fn chained_merges_undo_newest_first(app: &App) {
    let c = &app.api;
    let ids = create(c, "contacts", json!([
        {"externalId": unique("ch-a"), "firstName": "Chain", "lastName": unique("A")},
        {"externalId": unique("ch-b"), "firstName": "Chain", "lastName": unique("B"), "title": "CFO"},
        {"externalId": unique("ch-c"), "firstName": "Chain", "lastName": unique("C")},
    ]));
    let (a, b, cc) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    let company = create(c, "companies", json!([{"externalId": unique("ch-co"), "name": unique("Chain Co")}]))[0].clone();
    assert_eq!(c.json("POST", "/associations", &json!({"associations": [{"contactCRMId": b, "companyCRMId": company}]})).status, 200);
    let task = c.json("POST", "/tasks", &json!({"subject": "Chain call", "contactId": b})).json()["id"].as_str().unwrap().to_string();

    let (status, first) = merge(app, c, "contacts", json!({"survivorId": a, "mergedIds": [b]}));
    assert_eq!(status, 200, "{first}");
    let (status, second) = merge(app, c, "contacts", json!({"survivorId": cc, "mergedIds": [a]}));
    assert_eq!(status, 200, "{second}");
    assert_eq!(c.get(&format!("/tasks/{task}")).json()["contactId"], cc.as_str());
    let (first_id, second_id) = (first["mergeId"].as_str().unwrap().to_string(), second["mergeId"].as_str().unwrap().to_string());

    let (status, early) = undo(app, c, "contacts", &first_id);
    assert_eq!(status, 409, "{early}");
    assert!(early.to_string().contains("undo that merge first"), "{early}");
    let (status, undone) = undo(app, c, "contacts", &second_id);
    assert_eq!(status, 200, "{undone}");
    assert_eq!(c.get(&format!("/tasks/{task}")).json()["contactId"], a.as_str());
    let (status, undone) = undo(app, c, "contacts", &first_id);
    assert_eq!(status, 200, "the second merge and its undo cancel out: {undone}");
    assert_eq!(c.get(&format!("/tasks/{task}")).json()["contactId"], b.as_str());
    let back = c.get(&format!("/contacts/{b}")).json();
    assert_eq!((back["crmId"].as_str(), back["title"].as_str()), (Some(b.as_str()), Some("CFO")), "{back}");
    assert_eq!(back["associations"], json!([{"companyId": company, "primary": false}]), "{back}");
    for id in [&a, &cc] {
        assert_eq!(c.get(&format!("/contacts/{id}")).json()["crmId"], id.as_str());
    }
}

/// Creates one record per item, answers their crmIds.
fn create(c: &Client, kind: &str, records: Value) -> Vec<String> {
    let resp = c.json("POST", &format!("/{kind}"), &json!({ kind: records }));
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap().to_string()).collect()
}

fn merge(app: &App, c: &Client, kind: &str, body: Value) -> (u16, Value) {
    let path = format!("/{kind}/merge");
    let resp = c.json("POST", &path, &body);
    app.conforms(&path, "POST", &resp);
    (resp.status, resp.json())
}

fn undo(app: &App, c: &Client, kind: &str, merge_id: &str) -> (u16, Value) {
    let resp = c.send("POST", &format!("/{kind}/merge/{merge_id}/undo"), crate::harness::Key::Valid, &[], None);
    app.conforms(&format!("/{kind}/merge/{{id}}/undo"), "POST", &resp);
    if resp.status == 200 {
        // Four reads and one batch, whatever the merge moved.
        let statements = if kind == "contacts" { "27" } else { "28" };
        assert_eq!(resp.header("x-d1-statements"), Some(statements), "{}", resp.text());
    }
    (resp.status, resp.json())
}

fn enginy_keeps_working_with_the_old_ids_after_a_merge(app: &App) {
    let c = &app.api;
    let (ext_a, ext_b) = (unique("ext-a"), unique("ext-b"));
    let ids = create(c, "contacts", json!([
        {"externalId": ext_a, "firstName": "Merge", "lastName": unique("Survivor"), "email": format!("{}@a.test", unique("m"))},
        {"externalId": ext_b, "firstName": "Merge", "lastName": unique("Merged"), "title": "CTO", "phone": "+34 600 111 222"},
    ]));
    let (a, b) = (ids[0].clone(), ids[1].clone());
    let company = create(c, "companies", json!([{"externalId": unique("co"), "name": unique("Merge Co")}]))[0].clone();
    let link = c.json("POST", "/associations", &json!({"associations": [{"contactCRMId": b, "companyCRMId": company, "type": "primary"}]}));
    assert_eq!(link.status, 200, "{}", link.text());
    let task = c.json("POST", "/tasks", &json!({"subject": "Call", "contactId": b}));
    assert!(task.status == 200 || task.status == 201, "{}", task.text());
    let task_id = task.json()["id"].as_str().unwrap().to_string();

    let (status, body) = merge(app, c, "contacts", json!({"survivorId": a, "mergedIds": [b]}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["crmId"], a.as_str());
    assert_eq!(body["record"]["title"], "CTO", "an empty field is filled from the merged record: {body}");
    let updated: Vec<&str> = body["updatedFields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(updated.contains(&"title") && updated.contains(&"phone"), "{body}");
    assert_eq!(body["record"]["associations"], json!([{"companyId": company, "primary": true}]), "the link moved, primary kept");

    // Sync by both old externalIds finds the survivor.
    let sync = c.json("POST", "/contacts/sync", &json!({"contacts": [{"externalId": ext_a, "firstName": "X"}, {"externalId": ext_b, "firstName": "Y"}]}));
    assert_eq!(sync.status, 200, "{}", sync.text());
    app.conforms("/contacts/sync", "POST", &sync);
    let results = sync.json()["results"].as_array().unwrap().clone();
    for ext in [&ext_a, &ext_b] {
        let hit = results.iter().find(|r| r["externalId"] == ext.as_str()).unwrap_or_else(|| panic!("{ext} unmatched: {results:?}"));
        assert_eq!(hit["crmId"], a.as_str(), "{ext} matches the survivor");
    }

    // PUT to the old crmId updates the survivor, and says which record acted.
    let put = c.json("PUT", "/contacts", &json!({"contacts": [{"crmId": b, "title": "CEO"}]}));
    assert_eq!(put.status, 200, "{}", put.text());
    app.conforms("/contacts", "PUT", &put);
    assert_eq!(put.json()["results"][0]["crmId"], a.as_str(), "{}", put.text());
    let survivor = c.get(&format!("/contacts/{a}"));
    assert_eq!(survivor.json()["title"], "CEO");

    // GET by the old crmId answers the survivor.
    let old = c.get(&format!("/contacts/{b}"));
    assert_eq!(old.status, 200, "{}", old.text());
    app.conforms("/contacts/{id}", "GET", &old);
    assert_eq!((old.json()["crmId"].as_str(), old.json()["mergedFrom"].as_str()), (Some(a.as_str()), Some(b.as_str())));

    // The task moved, with history naming the change.
    let moved = c.get(&format!("/tasks/{task_id}"));
    assert_eq!(moved.json()["contactId"], a.as_str(), "{}", moved.text());

    // Associations, tasks and activities naming the old crmId act on the survivor.
    let other = create(c, "companies", json!([{"externalId": unique("co"), "name": unique("Other Co")}]))[0].clone();
    let linked = c.json("POST", "/associations", &json!({"associations": [{"contactCRMId": b, "companyCRMId": other}]}));
    assert_eq!(linked.json()["results"][0]["contactCRMId"], a.as_str(), "{}", linked.text());
    let later = c.json("POST", "/tasks", &json!({"subject": "Later", "contactId": b}));
    assert_eq!(later.json()["contactId"], a.as_str(), "{}", later.text());
    let logged = c.json("POST", "/activities", &json!({"type": "EMAIL", "contactId": b}));
    assert_eq!(logged.json()["contactId"], a.as_str(), "{}", logged.text());

    // The change feed shows the tombstone with mergedInto.
    let mut cursor: Option<String> = None;
    let mut tombstone = None;
    for _ in 0..200 {
        let path = match &cursor {
            Some(cur) => format!("/contacts?limit=500&cursor={cur}"),
            None => "/contacts?limit=500".to_string(),
        };
        let page = c.get(&path);
        app.conforms("/contacts", "GET", &page);
        let page = page.json();
        if let Some(t) = page["data"].as_array().unwrap().iter().find(|e| e["id"] == b.as_str()) {
            tombstone = Some(t.clone());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let tombstone = tombstone.expect("the merged record's tombstone is in the feed");
    assert_eq!((tombstone["deleted"].as_bool(), tombstone["mergedInto"].as_str()), (Some(true), Some(a.as_str())));

    // The survivor's history names the merge.
    let history = c.get(&format!("/contacts/{a}/history")).json();
    assert!(history.to_string().contains("(merge)"), "{history}");
}

fn bad_merges_are_400_naming_the_cause_and_write_nothing(app: &App) {
    let c = &app.api;
    let ids = create(c, "contacts", json!([{"externalId": unique("bad"), "firstName": "Bad", "lastName": unique("A")}, {"externalId": unique("bad"), "firstName": "Bad", "lastName": unique("B")}]));
    let company = create(c, "companies", json!([{"externalId": unique("bad-co"), "name": unique("Bad Co")}]))[0].clone();
    let gone = create(c, "contacts", json!([{"externalId": unique("bad"), "firstName": "Gone"}]))[0].clone();
    assert_eq!(c.send("DELETE", &format!("/contacts/{gone}"), crate::harness::Key::Valid, &[], None).status, 200);
    let many: Vec<String> = (0..51).map(|_| ids[1].clone()).collect();
    for (body, cause) in [
        (json!({"survivorId": ids[0], "mergedIds": [ids[0]]}), "into itself"),
        (json!({"survivorId": ids[0], "mergedIds": [company]}), "company id"),
        (json!({"survivorId": ids[0], "mergedIds": ["ct_unknown"]}), "unknown"),
        (json!({"survivorId": ids[0], "mergedIds": [ids[1], gone]}), "deleted"),
        (json!({"survivorId": ids[0], "mergedIds": many}), "at most 50"),
    ] {
        let (status, answer) = merge(app, c, "contacts", body.clone());
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer.to_string().contains(cause), "{body}: {answer} should name {cause:?}");
    }
    // Nothing was written: both records are live and unchanged.
    for id in &ids {
        let r = c.get(&format!("/contacts/{id}"));
        assert_eq!(r.status, 200);
        assert!(r.json().get("mergedFrom").is_none());
    }
}

fn overlapping_concurrent_merges_one_wins_the_other_409(app: &App) {
    let c = &app.api;
    let ids = create(c, "companies", json!([
        {"externalId": unique("race"), "name": unique("Race A")},
        {"externalId": unique("race"), "name": unique("Race B")},
        {"externalId": unique("race"), "name": unique("Race C")},
    ]));
    let bodies = [json!({"survivorId": ids[0], "mergedIds": [ids[1]]}), json!({"survivorId": ids[2], "mergedIds": [ids[1]]})];
    let statuses: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = bodies.iter().map(|b| s.spawn(move || {
            let r = c.json("POST", "/companies/merge", b);
            (r.status, r.text())
        })).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut codes: Vec<u16> = statuses.iter().map(|s| s.0).collect();
    codes.sort();
    assert_eq!(codes, [200, 409], "{statuses:?}");
    // The loser moved nothing: its survivor has no externalId of the merged record.
    let winner = if statuses[0].0 == 200 { &ids[0] } else { &ids[2] };
    let loser = if statuses[0].0 == 200 { &ids[2] } else { &ids[0] };
    let b = c.get(&format!("/companies/{}", ids[1])).json();
    assert_eq!(b["crmId"], winner.as_str(), "{b}");
    let l = c.get(&format!("/companies/{loser}")).json();
    assert!(l.get("mergedFrom").is_none());
    let history = c.get(&format!("/companies/{loser}/history")).json();
    assert!(!history.to_string().contains("(merge)"), "{history}");
}

fn duplicates_are_grouped_by_the_identifier_with_the_veto(app: &App) {
    // The matching server: COMPANY_MATCH = domain | name, no dedupe on create.
    let c = &app.matching;
    let domain = format!("{}.com", unique("dup"));
    let name = unique("Dup Name Co");
    let ids = create(c, "companies", json!([
        {"externalId": unique("dup"), "name": unique("One"), "domain": domain},
        {"externalId": unique("dup"), "name": unique("Two"), "domain": format!("https://www.{domain}/about")},
        // Same name, different domains: the weak term `name` must not join these two...
        {"externalId": unique("dup"), "name": name, "domain": format!("{}.com", unique("x"))},
        {"externalId": unique("dup"), "name": name, "domain": format!("{}.com", unique("y"))},
        // ...but a third of that name with no domain is a duplicate of one of them.
        {"externalId": unique("dup"), "name": name},
    ]));
    let mut groups: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(cur) => format!("/companies/duplicates?limit=2&cursor={cur}"),
            None => "/companies/duplicates?limit=2".to_string(),
        };
        let resp = c.get(&path);
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(resp.header("x-d1-statements"), Some("1"));
        app.conforms("/companies/duplicates", "GET", &resp);
        let page = resp.json();
        groups.extend(page["data"].as_array().unwrap().iter().cloned());
        pages += 1;
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(pages < 1000, "paging ends");
    }
    let members = |g: &Value| -> Vec<String> { g["records"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap().to_string()).collect() };
    let mine: Vec<&Value> = groups.iter().filter(|g| members(g).iter().any(|m| ids.contains(m))).collect();
    let by_domain = mine.iter().find(|g| g["term"] == "domain").expect("the two records of one domain form a group");
    assert_eq!(members(by_domain), vec![ids[0].clone(), ids[1].clone()].into_iter().collect::<std::collections::BTreeSet<_>>().into_iter().collect::<Vec<_>>());
    assert_eq!(by_domain["key"], domain.as_str());
    let by_name: Vec<&&Value> = mine.iter().filter(|g| g["term"] == "name").collect();
    assert_eq!(by_name.len(), 1, "{by_name:?}");
    let named = members(by_name[0]);
    assert_eq!(named.len(), 2, "{named:?}");
    assert!(named.contains(&ids[4]), "the record with no domain joins one of them: {named:?}");
    assert!(!(named.contains(&ids[2]) && named.contains(&ids[3])), "the veto keeps different domains apart");
    // A bad cursor is refused.
    assert_eq!(c.get("/companies/duplicates?cursor=%%%").status, 400);
}

fn undo_restores_both_records_and_everything_that_moved(app: &App) {
    let c = &app.api;
    let (ext_a, ext_b) = (unique("undo-a"), unique("undo-b"));
    let email = format!("{}@a.test", unique("undo"));
    let ids = create(c, "contacts", json!([
        {"externalId": ext_a, "firstName": "Undo", "lastName": unique("Survivor"), "email": email},
        {"externalId": ext_b, "firstName": "Undone", "lastName": unique("Merged"), "title": "CTO", "phone": "+34 600 111 333"},
    ]));
    let (a, b) = (ids[0].clone(), ids[1].clone());
    let before_a = c.get(&format!("/contacts/{a}")).json();
    let companies = create(c, "companies", json!([{"externalId": unique("co"), "name": unique("Undo X")}, {"externalId": unique("co"), "name": unique("Undo Y")}]));
    let (x, y) = (companies[0].clone(), companies[1].clone());
    let link = c.json("POST", "/associations", &json!({"associations": [
        {"contactCRMId": b, "companyCRMId": x, "type": "primary"},
        {"contactCRMId": a, "companyCRMId": y},
    ]}));
    assert_eq!(link.status, 200, "{}", link.text());
    let task = c.json("POST", "/tasks", &json!({"subject": "Call", "contactId": b}));
    let task_id = task.json()["id"].as_str().unwrap().to_string();
    let activity = c.json("POST", "/activities", &json!({"type": "EMAIL", "contactId": b, "subject": "Hello"}));
    assert!(activity.status == 200 || activity.status == 201, "{}", activity.text());
    let activity_id = activity.json()["id"].as_str().unwrap().to_string();
    // Read after the activity, which moved b's last activity date.
    let before_b = c.get(&format!("/contacts/{b}")).json();
    assert!(before_b["lastActivityDate"].is_string(), "{before_b}");

    let (status, merged) = merge(app, c, "contacts", json!({"survivorId": a, "mergedIds": [b]}));
    assert_eq!(status, 200, "{merged}");
    let merge_id = merged["mergeId"].as_str().expect("the merge answers its mergeId").to_string();
    assert!(merge_id.starts_with("mg_"), "{merged}");
    assert_eq!(c.get(&format!("/tasks/{task_id}")).json()["contactId"], a.as_str());
    assert_eq!(c.get(&format!("/contacts/{a}")).json()["lastActivityDate"], before_b["lastActivityDate"], "the survivor took the newest date");

    let (status, undone) = undo(app, c, "contacts", &merge_id);
    assert_eq!(status, 200, "{undone}");
    assert_eq!((undone["crmId"].as_str(), undone["restoredIds"].clone()), (Some(a.as_str()), json!([b])));
    let reverted: Vec<&str> = undone["updatedFields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(reverted.contains(&"title") && reverted.contains(&"phone") && reverted.contains(&"lastActivityDate"), "{undone}");
    assert!(undone["record"].get("title").is_none_or(Value::is_null), "the survivor's filled field is empty again: {undone}");

    // Both records read as before, each under its own id.
    let (now_a, now_b) = (c.get(&format!("/contacts/{a}")).json(), c.get(&format!("/contacts/{b}")).json());
    assert!(now_b.get("mergedFrom").is_none(), "{now_b}");
    for (before, now) in [(&before_a, &now_a), (&before_b, &now_b)] {
        for field in ["crmId", "externalId", "firstName", "lastName", "email", "title", "phone", "lastActivityDate"] {
            assert_eq!(before.get(field), now.get(field), "{field}: {before} vs {now}");
        }
    }
    assert_eq!(now_b["associations"], json!([{"companyId": x, "primary": true}]), "{now_b}");
    assert_eq!(now_a["associations"], json!([{"companyId": y, "primary": false}]), "{now_a}");

    // A sync by each old externalId finds its own record again.
    let sync = c.json("POST", "/contacts/sync", &json!({"contacts": [{"externalId": ext_a, "firstName": "X"}, {"externalId": ext_b, "firstName": "Y"}]}));
    assert_eq!(sync.status, 200, "{}", sync.text());
    let results = sync.json()["results"].as_array().unwrap().clone();
    for (ext, id) in [(&ext_a, &a), (&ext_b, &b)] {
        let hit = results.iter().find(|r| r["externalId"] == ext.as_str()).unwrap_or_else(|| panic!("{ext} unmatched: {results:?}"));
        assert_eq!(hit["crmId"], id.as_str(), "{ext}");
    }
    assert_eq!(c.get(&format!("/tasks/{task_id}")).json()["contactId"], b.as_str());
    assert_eq!(c.get(&format!("/activities/{activity_id}")).json()["contactId"], b.as_str());
    let history = c.get(&format!("/contacts/{a}/history")).json().to_string();
    assert!(history.contains("(unmerge)") && history.contains(&merge_id), "{history}");

    // Twice is refused; an unknown merge is not found.
    let (status, again) = undo(app, c, "contacts", &merge_id);
    assert_eq!(status, 409, "{again}");
    assert!(again.to_string().contains("already undone"), "{again}");
    assert_eq!(undo(app, c, "contacts", "mg_0000000000000000000000000z").0, 404);
    assert_eq!(undo(app, c, "contacts", "nope").0, 404);
    assert_eq!(undo(app, c, "companies", &merge_id).0, 404, "a contact merge is not a company merge");
}

fn undo_of_a_company_merge_gives_subsidiaries_and_primaries_back(app: &App) {
    let c = &app.api;
    let ids = create(c, "companies", json!([
        {"externalId": unique("uc"), "name": unique("Undo Parent")},
        {"externalId": unique("uc"), "name": unique("Undo Merged"), "domain": format!("{}.com", unique("undo"))},
    ]));
    let (s, m) = (ids[0].clone(), ids[1].clone());
    let child = create(c, "companies", json!([{"externalId": unique("uc"), "name": unique("Undo Child"), "parentCrmId": m}]))[0].clone();
    let contact = create(c, "contacts", json!([{"externalId": unique("uc"), "firstName": "Link", "lastName": unique("Undo")}]))[0].clone();
    let link = c.json("POST", "/associations", &json!({"associations": [
        {"contactCRMId": contact, "companyCRMId": m, "type": "primary"},
        {"contactCRMId": contact, "companyCRMId": s},
    ]}));
    assert_eq!(link.status, 200, "{}", link.text());
    let (status, merged) = merge(app, c, "companies", json!({"survivorId": s, "mergedIds": [m]}));
    assert_eq!(status, 200, "{merged}");
    assert_eq!(c.get(&format!("/companies/{child}")).json()["parentCrmId"], s.as_str());
    assert_eq!(c.get(&format!("/contacts/{contact}")).json()["associations"], json!([{"companyId": s, "primary": true}]));
    let (status, undone) = undo(app, c, "companies", merged["mergeId"].as_str().unwrap());
    assert_eq!(status, 200, "{undone}");
    assert_eq!(c.get(&format!("/companies/{child}")).json()["parentCrmId"], m.as_str());
    let mut links = c.get(&format!("/contacts/{contact}")).json()["associations"].as_array().unwrap().clone();
    links.sort_by_key(|l| l["companyId"].as_str().unwrap().to_string());
    let mut expected = vec![json!({"companyId": m, "primary": true}), json!({"companyId": s, "primary": false})];
    expected.sort_by_key(|l| l["companyId"].as_str().unwrap().to_string());
    assert_eq!(links, expected);
    let restored = c.get(&format!("/companies/{m}")).json();
    assert!(restored.get("mergedFrom").is_none() && restored["crmId"] == m.as_str(), "{restored}");
    assert!(c.get(&format!("/companies/{s}")).json().get("domain").is_none_or(Value::is_null), "the filled domain is taken back");
}

fn undo_after_a_later_write_is_409_naming_it_and_writes_nothing(app: &App) {
    let c = &app.api;
    let ids = create(c, "contacts", json!([
        {"externalId": unique("late"), "firstName": "Late", "lastName": unique("Survivor")},
        {"externalId": unique("late"), "firstName": "Late", "lastName": unique("Merged"), "title": "CFO"},
    ]));
    let (a, b) = (ids[0].clone(), ids[1].clone());
    let (status, merged) = merge(app, c, "contacts", json!({"survivorId": a, "mergedIds": [b]}));
    assert_eq!(status, 200, "{merged}");
    let put = c.json("PUT", "/contacts", &json!({"contacts": [{"crmId": a, "title": "CEO"}]}));
    assert_eq!(put.status, 200, "{}", put.text());
    let (status, refused) = undo(app, c, "contacts", merged["mergeId"].as_str().unwrap());
    assert_eq!(status, 409, "{refused}");
    assert!(refused.to_string().contains("title"), "the message names the field: {refused}");
    // Nothing was written: the merged record still answers as the survivor, which kept the PUT.
    let old = c.get(&format!("/contacts/{b}")).json();
    assert_eq!((old["crmId"].as_str(), old["mergedFrom"].as_str(), old["title"].as_str()), (Some(a.as_str()), Some(b.as_str()), Some("CEO")));
    let history = c.get(&format!("/contacts/{a}/history")).json().to_string();
    assert!(!history.contains("(unmerge)"), "{history}");
}
