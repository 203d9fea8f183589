//! `POST /{kind}/sync` and dedupe on create (API.md §4, §5).

use serde_json::{json, Value};

use std::time::Duration;

use crate::harness::{unique, Client, Key, Resp};
use crate::App;

/// The matching scenarios run twice: on a server with the match cache off, and on one with it on,
/// where every sync is also repeated until KV answers it alone (`X-D1-Statements: 0`) and that
/// warm answer must equal the database's (see [`T::sync`]).
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        &[
            $((concat!("sync::off::", stringify!($name)), |app: &App| $name(&T { app, api: &app.plain, on: false })),)*
            $((concat!("sync::on::", stringify!($name)), |app: &App| $name(&T { app, api: &app.api, on: true })),)*
        ]
    };
}

pub const BOTH: &[(&str, crate::TestFn)] = both!(
    finds_companies_by_normalised_domain_and_links_them,
    a_linked_external_id_comes_first,
    a_record_with_two_external_ids_is_found_by_either_and_never_linked_again,
    one_external_id_sent_for_two_records_links_the_first_only,
    returns_only_matches_with_non_empty_properties,
    contacts_match_by_linkedin_or_name_and_company,
    keys_that_normalise_to_nothing_never_match,
    bad_keys_are_per_record_errors,
    deleted_records_never_match,
    ambiguity_picks_deterministically,
    statements_do_not_grow_with_the_batch,
    create_dedupes_against_stored_records,
    create_dedupes_inside_one_request,
);

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("sync::ambiguity_can_be_an_error_with_candidates", ambiguity_can_be_an_error_with_candidates),
    ("sync::match_to_parent_answers_with_the_parent", match_to_parent_answers_with_the_parent),
    ("sync::cache_on_and_off_give_the_same_answers", cache_on_and_off_give_the_same_answers),
    ("sync::the_cache_is_filled_and_read", the_cache_is_filled_and_read),
    ("sync::a_warm_sync_reads_kv_in_chunks_of_100_and_no_d1", a_warm_sync_reads_kv_in_chunks_of_100_and_no_d1),
    ("sync::a_cold_sync_reads_one_wave_of_kv_then_d1", a_cold_sync_reads_one_wave_of_kv_then_d1),
    ("sync::after_an_update_or_delete_the_next_sync_answers_the_new_truth", after_an_update_or_delete_the_next_sync_answers_the_new_truth),
    ("sync::a_bookmark_reads_its_own_writes", a_bookmark_reads_its_own_writes),
    ("sync::deleting_an_owner_forgets_the_entries_that_name_it", deleting_an_owner_forgets_the_entries_that_name_it),
];


fn post(c: &Client, path: &str, body: Value) -> Value {
    let resp = c.json("POST", path, &body);
    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    resp.json()
}

/// A scenario's server: `api` has the match cache on when `on`.
pub struct T<'a> {
    app: &'a App,
    api: &'a Client,
    on: bool,
}

impl T<'_> {
    /// Syncs and answers the first answer. With the cache on, the same sync is then repeated
    /// until KV answers it alone, and that answer must be the database's (the first sync may have
    /// linked records, so it is compared with a sync that bypasses the cache after it).
    fn sync(&self, kind: &str, records: Value) -> Value {
        let path = format!("/{kind}/sync");
        let body = json!({ kind: records });
        let resp = self.api.json("POST", &path, &body);
        assert_eq!(resp.status, 200, "{}", resp.text());
        self.app.conforms(&path, "POST", &resp);
        if self.on {
            warm_equals_d1(self.api, &path, &body, true);
        } else {
            assert_eq!(resp.header("x-kv-reads"), Some("0"), "the cache is off");
        }
        resp.json()
    }
}

fn no_cache(c: &Client, path: &str, body: &Value) -> Resp {
    let headers = [("Content-Type", "application/json"), ("Cache-Control", "no-cache")];
    let resp = c.send("POST", path, Key::Valid, &headers, Some(body.to_string().as_bytes()));
    assert_eq!((resp.status, resp.header("x-kv-reads")), (200, Some("0")), "{}", resp.text());
    resp
}

/// Repeats a sync until KV answers it with no D1 statement (required when `zero`: a server that
/// stores no negative entries, or answers with parents, may always need D1), and checks that
/// answer equals the database's now.
fn warm_equals_d1(c: &Client, path: &str, body: &Value, zero: bool) {
    // Links a KV-answered sync makes are written after its response: wait for a stable truth.
    let mut truth = no_cache(c, path, body).json();
    for _ in 0..20 {
        let again = no_cache(c, path, body).json();
        if again == truth {
            break;
        }
        truth = again;
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut warm = c.json("POST", path, body);
    for _ in 0..50 {
        if warm.header("x-d1-statements") == Some("0") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        warm = c.json("POST", path, body);
    }
    if zero {
        assert_eq!(warm.header("x-d1-statements"), Some("0"), "never answered from KV alone: {}", warm.text());
    }
    assert_eq!(warm.json(), truth, "the warm answer differs from the database's");
}

fn create_one(c: &Client, kind: &str, record: Value) -> String {
    let body = post(c, &format!("/{kind}"), json!({ kind: [record] }));
    body["results"][0]["crmId"].as_str().unwrap_or_else(|| panic!("{body}")).to_string()
}

fn finds_companies_by_normalised_domain_and_links_them(t: &T) {
    let d = unique("acme").to_lowercase();
    let id = create_one(t.api, "companies", json!({"name": "Acme", "domain": format!("https://www.{d}.co.uk/about")}));
    let ext = unique("enginy");
    let body = t.sync("companies", json!([{"externalId": ext, "domain": format!("shop.{d}.co.uk")}]));
    let r = &body["results"][0];
    assert_eq!(r["crmId"], id.as_str(), "{body}");
    assert_eq!(r["matchedBy"], "domain");
    assert_eq!(r["externalId"], ext.as_str());
    // Now linked: found by the externalId even with no keys at all.
    let body = t.sync("companies", json!([{"externalId": ext}]));
    assert_eq!(body["results"][0]["crmId"], id.as_str());
    assert_eq!(body["results"][0]["matchedBy"], "externalId");
    assert_eq!(t.api.get(&format!("/companies/{id}")).json()["externalId"], ext.as_str());
}

fn a_linked_external_id_comes_first(t: &T) {
    let d = unique("first").to_lowercase();
    let ext = unique("ext");
    let linked = create_one(t.api, "companies", json!({"externalId": ext, "name": "Linked", "domain": format!("{d}-a.com")}));
    let _other = create_one(t.api, "companies", json!({"name": "Other", "domain": format!("{d}-b.com")}));
    let body = t.sync("companies", json!([{"externalId": ext, "domain": format!("{d}-b.com")}]));
    assert_eq!(body["results"][0]["crmId"], linked.as_str());
    assert_eq!(body["results"][0]["matchedBy"], "externalId");
}

/// A record linked to two externalIds (an update linked the second; the first stays): a sync
/// finds it by either, even when its keys point elsewhere, and a match by its keys links no
/// third one. With the cache off the sync reads only the links it sent and the record's own
/// externalId (the second), so the first is found through the lookup alone.
fn a_record_with_two_external_ids_is_found_by_either_and_never_linked_again(t: &T) {
    let d = unique("twice").to_lowercase();
    let (first, second) = (unique("first"), unique("second"));
    let id = create_one(t.api, "companies", json!({"externalId": first, "name": "Twice", "domain": format!("{d}.com")}));
    let other = create_one(t.api, "companies", json!({"name": "Elsewhere", "domain": format!("{d}-other.com")}));
    let resp = t.api.json("PUT", "/companies", &json!({"companies": [{"crmId": id, "externalId": second}]}));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["results"][0]["success"], true, "{}", resp.text());
    for ext in [&first, &second] {
        let body = t.sync("companies", json!([{"externalId": ext, "domain": format!("{d}-other.com")}]));
        assert_eq!(body["results"][0]["crmId"], id.as_str(), "{ext}: {body}");
        assert_eq!(body["results"][0]["matchedBy"], "externalId", "{ext}: {body}");
    }
    // By its domain under a new externalId: matched, and not linked to it (it has links).
    let third = unique("third");
    let body = t.sync("companies", json!([{"externalId": third, "domain": format!("{d}.com")}]));
    assert_eq!((body["results"][0]["crmId"].as_str(), body["results"][0]["matchedBy"].as_str()), (Some(id.as_str()), Some("domain")), "{body}");
    let body = t.sync("companies", json!([{"externalId": third}]));
    assert!(body["results"].as_array().unwrap().is_empty(), "the third externalId was linked: {body}");
    assert_eq!(t.api.get(&format!("/companies/{id}")).json()["externalId"], second.as_str());
    // The other record, linked to none, gets the externalId it is matched under.
    let body = t.sync("companies", json!([{"externalId": third, "domain": format!("{d}-other.com")}]));
    assert_eq!(body["results"][0]["crmId"], other.as_str(), "{body}");
    assert_eq!(t.api.get(&format!("/companies/{other}")).json()["externalId"], third.as_str());
}

/// Two items of one sync send the same externalId and match two records linked to none: the
/// first gets it; the second is answered its match and stays unlinked (its own externalId does
/// not name a link another record holds), so a later sync by that externalId finds the first,
/// and the second takes the next externalId it is matched under.
fn one_external_id_sent_for_two_records_links_the_first_only(t: &T) {
    let d = unique("same-ext").to_lowercase();
    let acme = create_one(t.api, "companies", json!({"name": "Acme", "domain": format!("{d}-a.com")}));
    let beta = create_one(t.api, "companies", json!({"name": "Beta", "domain": format!("{d}-b.com")}));
    let ext = unique("e9");
    let body = t.sync("companies", json!([{"externalId": ext, "domain": format!("{d}-a.com")}, {"externalId": ext, "domain": format!("{d}-b.com")}]));
    let ids: Vec<&str> = body["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap()).collect();
    assert_eq!(ids, [acme.as_str(), beta.as_str()], "{body}");
    let own = |id: &str| t.api.get(&format!("/companies/{id}")).json()["externalId"].clone();
    assert_eq!((own(&acme), own(&beta)), (json!(ext), Value::Null));
    let body = t.sync("companies", json!([{"externalId": ext, "domain": format!("{d}-b.com")}]));
    assert_eq!((body["results"][0]["crmId"].as_str(), body["results"][0]["matchedBy"].as_str()), (Some(acme.as_str()), Some("externalId")), "{body}");
    let next = unique("e10");
    let body = t.sync("companies", json!([{"externalId": next, "domain": format!("{d}-b.com")}]));
    assert_eq!(body["results"][0]["crmId"], beta.as_str(), "{body}");
    assert_eq!(own(&beta), json!(next));
}

fn returns_only_matches_with_non_empty_properties(t: &T) {
    let d = unique("props").to_lowercase();
    let id = create_one(
        t.api,
        "companies",
        json!({"name": "Props", "domain": format!("{d}.com"), "industry": "Software", "website": "", "tags": [], "accountTier": "Enterprise", "blank": null}),
    );
    let body = t.sync(
        "companies",
        json!([{"externalId": unique("x"), "domain": format!("{d}.com")}, {"externalId": unique("y"), "domain": format!("{d}-nowhere.com")}]),
    );
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "only matches: {body}");
    assert_eq!(results[0]["crmId"], id.as_str());
    let p = results[0]["properties"].as_object().unwrap();
    assert_eq!(p["industry"], "Software");
    assert_eq!(p["accountTier"], "Enterprise");
    for (k, v) in p {
        assert!(!v.is_null() && v != "" && v != &json!([]) && v != &json!({}), "{k} is empty: {body}");
    }
    assert!(!p.contains_key("externalId") && !p.contains_key("createdAt"));
}

fn contacts_match_by_linkedin_or_name_and_company(t: &T) {
    let slug = unique("jane-doe").to_lowercase();
    let by_li = create_one(t.api, "contacts", json!({"firstName": "Jane", "linkedinUrl": format!("https://www.linkedin.com/in/{slug}/")}));
    let last = unique("Zamora");
    let by_name = create_one(t.api, "contacts", json!({"firstName": "José", "lastName": last, "company": "Acme, Inc."}));
    let body = t.sync(
        "contacts",
        json!([
            {"externalId": unique("c"), "linkedinUrl": format!("linkedin.com/in/{}?trk=x", slug.to_uppercase())},
            {"externalId": unique("c"), "firstName": "jose", "lastName": last.to_uppercase(), "company": "ACME"},
            {"externalId": unique("c"), "firstName": "Jose", "lastName": last},
        ]),
    );
    let r = body["results"].as_array().unwrap();
    assert_eq!(r.len(), 2, "the third lacks a company: {body}");
    assert_eq!((r[0]["crmId"].as_str().unwrap(), r[0]["matchedBy"].as_str().unwrap()), (by_li.as_str(), "linkedinUrl"));
    assert_eq!(
        (r[1]["crmId"].as_str().unwrap(), r[1]["matchedBy"].as_str().unwrap()),
        (by_name.as_str(), "firstName&lastName&company")
    );
}

fn keys_that_normalise_to_nothing_never_match(t: &T) {
    // Records whose keys are empty after normalisation are stored without keys...
    create_one(t.api, "companies", json!({"name": "Nothing", "domain": "http://"}));
    create_one(t.api, "contacts", json!({"firstName": "No", "linkedinUrl": "https://www.linkedin.com/in/"}));
    // ...and inputs like them match nothing.
    let body = t.sync("companies", json!([{"domain": "http://"}, {"domain": ""}, {"domain": "localhost"}, {"domain": "192.168.0.1"}]));
    assert_eq!(body["results"], json!([]), "{body}");
    let body = t.sync("contacts", json!([{"linkedinUrl": "https://www.linkedin.com/in/"}, {"linkedinUrl": "linkedin.com"}]));
    assert_eq!(body["results"], json!([]), "{body}");
}

fn bad_keys_are_per_record_errors(t: &T) {
    let d = unique("bad").to_lowercase();
    create_one(t.api, "companies", json!({"name": "Fine", "domain": format!("{d}.com")}));
    let body = t.sync("companies", json!([{"externalId": "e1", "domain": 42}, {"externalId": "e2", "domain": format!("{d}.com")}]));
    assert_eq!(body["errors"][0]["index"], 0);
    assert!(body["errors"][0]["error"].as_str().unwrap().contains("domain"));
    assert_eq!(body["results"].as_array().unwrap().len(), 1);
}

fn deleted_records_never_match(t: &T) {
    let d = unique("gone").to_lowercase();
    let ext = unique("ext");
    let id = create_one(t.api, "companies", json!({"externalId": ext, "name": "Gone", "domain": format!("{d}.com")}));
    t.api.send("DELETE", &format!("/companies/{id}"), crate::harness::Key::Valid, &[], None);
    let body = t.sync("companies", json!([{"externalId": ext, "domain": format!("{d}.com")}]));
    assert_eq!(body["results"], json!([]), "{body}");
}

fn ambiguity_picks_deterministically(t: &T) {
    // Create never makes twins here (dedupe), but an update can give two records one domain.
    let put = |id: &str, field: &str, value: Value| {
        let resp = t.api.json("PUT", "/companies", &json!({"companies": [{"crmId": id, field: value}]}));
        assert_eq!(resp.json()["results"][0]["success"], true, "{}", resp.text());
    };
    let d = unique("twin").to_lowercase();
    let unlinked = create_one(t.api, "companies", json!({"name": "Twin A", "domain": format!("{d}.com")}));
    let linked = create_one(t.api, "companies", json!({"externalId": unique("l"), "name": "Twin B", "domain": format!("{d}-b.com")}));
    put(&linked, "domain", json!(format!("{d}.com")));
    put(&unlinked, "industry", json!("most recent"));
    let body = t.sync("companies", json!([{"domain": format!("{d}.com")}]));
    assert_eq!(body["results"][0]["crmId"], linked.as_str(), "a linked record first: {body}");
    assert_eq!(body["results"][0]["matchedBy"], "domain");

    // Neither linked: the most recently updated.
    let e = unique("twin").to_lowercase();
    let first = create_one(t.api, "companies", json!({"name": "Twin C", "domain": format!("{e}.com")}));
    let second = create_one(t.api, "companies", json!({"name": "Twin D", "domain": format!("{e}-d.com")}));
    put(&second, "domain", json!(format!("{e}.com")));
    let pick = || t.sync("companies", json!([{"domain": format!("{e}.com")}]))["results"][0]["crmId"].clone();
    assert_eq!(pick(), second.as_str());
    assert_eq!(pick(), second.as_str(), "the same answer every time");
    put(&first, "industry", json!("touched"));
    assert_eq!(pick(), first.as_str());
}

fn ambiguity_can_be_an_error_with_candidates(app: &App) {
    let c = &app.matching;
    let d = unique("amb").to_lowercase();
    let a = create_one(c, "companies", json!({"name": "Amb One", "domain": format!("{d}.com")}));
    let b = create_one(c, "companies", json!({"name": "Amb Two", "domain": format!("www.{d}.com")}));
    let sent = json!({"companies": [{"externalId": "x", "domain": format!("{d}.com")}]});
    let body = c.json("POST", "/companies/sync", &sent).json();
    warm_equals_d1(c, "/companies/sync", &sent, false);
    assert!(body["results"].as_array().unwrap().is_empty(), "{body}");
    let e = &body["errors"][0];
    assert_eq!(e["code"], "ambiguous");
    assert_eq!(e["error"], format!("Multiple companies match domain {d}.com"));
    let mut got: Vec<&str> = e["candidates"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    got.sort();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort();
    assert_eq!(got, want);
}

fn match_to_parent_answers_with_the_parent(app: &App) {
    let c = &app.matching;
    let d = unique("sub").to_lowercase();
    let parent = create_one(c, "companies", json!({"name": unique("Parent Group"), "industry": "Holding"}));
    let child = create_one(c, "companies", json!({"name": "Child", "domain": format!("{d}.com"), "parentCrmId": parent}));
    let sent = json!({"companies": [{"externalId": unique("e"), "domain": format!("{d}.com")}]});
    let body = c.json("POST", "/companies/sync", &sent).json();
    warm_equals_d1(c, "/companies/sync", &sent, false);
    let r = &body["results"][0];
    assert_eq!(r["crmId"], parent.as_str(), "{body}");
    assert_eq!(r["matchedRecordId"], child.as_str());
    assert_eq!(r["properties"]["industry"], "Holding");
}

fn statements_do_not_grow_with_the_batch(t: &T) {
    let count = |n: usize| -> String {
        let tag = unique("sc").to_lowercase();
        let records: Vec<Value> = (0..n).map(|i| json!({"name": format!("S {i}"), "domain": format!("{tag}-{i}.com")})).collect();
        post(t.api, "/companies", json!({ "companies": records.clone() }));
        let probe: Vec<Value> = records.iter().map(|r| json!({"externalId": unique("p"), "domain": r["domain"]})).collect();
        let resp = t.api.json("POST", "/companies/sync", &json!({ "companies": probe }));
        assert_eq!(resp.json()["results"].as_array().unwrap().len(), n);
        resp.header("x-d1-statements").unwrap().to_string()
    };
    assert_eq!(count(1), count(500));
}

fn create_dedupes_against_stored_records(t: &T) {
    let d = unique("dd").to_lowercase();
    let id = create_one(t.api, "companies", json!({"name": "Stored", "domain": format!("{d}.com")}));
    let ext = unique("ext");
    let body = post(t.api, "/companies", json!({"companies": [{"externalId": ext, "name": "Again", "domain": format!("https://{d}.com/x")}]}));
    let r = &body["results"][0];
    assert_eq!(r["crmId"], id.as_str(), "{body}");
    assert_eq!(r["created"], false);
    assert_eq!(r["matchedBy"], "domain");
    // The stored record had no externalId: it is linked now.
    let stored = t.api.get(&format!("/companies/{id}")).json();
    assert_eq!(stored["externalId"], ext.as_str());
    assert_eq!(stored["name"], "Stored", "dedupe does not overwrite");
}

fn create_dedupes_inside_one_request(t: &T) {
    let d = unique("in").to_lowercase();
    let body = post(
        t.api,
        "/companies",
        json!({"companies": [
            {"externalId": unique("a"), "name": "First", "domain": format!("{d}.com")},
            {"externalId": unique("b"), "name": "Second", "domain": format!("www.{d}.com")},
        ]}),
    );
    let r = body["results"].as_array().unwrap();
    assert_eq!(r[0]["created"], true, "{body}");
    assert_eq!(r[1]["created"], false);
    assert_eq!(r[1]["crmId"], r[0]["crmId"]);
    assert_eq!(r[1]["matchedBy"], "domain");
}

/// Runs one scenario on a server with the match cache on (the main one) and one with it off, and compares every sync answer, with crm ids replaced by creation order.
fn cache_on_and_off_give_the_same_answers(app: &App) {
    let d = unique("cache").to_lowercase();
    let run = |c: &Client| -> Vec<Value> {
        let mut ids = Vec::new();
        for i in 0..6 {
            ids.push(create_one(c, "companies", json!({"externalId": format!("{d}-seed-{i}"), "name": format!("Cache {i}"), "domain": format!("{d}-{i}.com")})));
        }
        let probe = || {
            let records: Vec<Value> = (0..8)
                .map(|i| json!({"externalId": format!("{d}-probe-{i}"), "domain": format!("https://www.{d}-{i}.com/x")}))
                .collect();
            let body = post(c, "/companies/sync", json!({ "companies": records }));
            // Crm ids differ between servers: name them by creation order.
            let mut text = body.to_string();
            for (n, id) in ids.iter().enumerate() {
                text = text.replace(id.as_str(), &format!("record-{n}"));
            }
            serde_json::from_str::<Value>(&text).unwrap()
        };
        let mut answers = vec![probe(), probe()]; // cold, then warm cache
        // Record 1 takes record 2's domain: its old key and its new one change holders.
        let resp = c.json("PUT", "/companies", &json!({"companies": [{"crmId": ids[1], "domain": format!("{d}-2.com")}]}));
        assert_eq!(resp.json()["results"][0]["success"], true);
        answers.push(probe());
        c.send("DELETE", &format!("/companies/{}", ids[3]), crate::harness::Key::Valid, &[], None);
        answers.push(probe());
        answers
    };
    let on = run(&app.api);
    let off = run(&app.plain);
    assert_eq!(on, off);
    // And the answers are the expected ones: the first probe links records 0..5 by domain.
    assert_eq!(on[0]["results"].as_array().unwrap().len(), 6);
    // Then record 1 left domain 1 (nobody holds it now) and record 3 was deleted.
    let last: Vec<&str> = on[3]["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap()).collect();
    assert_eq!(last, vec!["record-0", "record-1", "record-4", "record-5"], "{}", on[3]);
}

/// The cache really is used: a repeated lookup is answered from KV alone once the first answer's
/// entries are written (after its response), the absent key as an empty entry; with the cache
/// off nothing reads KV.
fn the_cache_is_filled_and_read(app: &App) {
    let d = unique("kv").to_lowercase();
    let id = create_one(&app.api, "companies", json!({"name": format!("Cached {d}"), "domain": format!("{d}.com")}));
    let body = json!({"companies": [{"domain": format!("{d}.com")}, {"domain": format!("{d}-absent.com")}]});
    let first = app.api.json("POST", "/companies/sync", &body);
    assert_eq!((first.header("x-kv-reads"), first.header("x-d1-statements")), (Some("1"), Some("1")), "a cold cache, then D1");
    let mut warm = first;
    for _ in 0..50 {
        warm = app.api.json("POST", "/companies/sync", &body);
        if warm.header("x-d1-statements") == Some("0") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!((warm.header("x-kv-reads"), warm.header("x-d1-statements")), (Some("1"), Some("0")), "both keys cached, the absent one as empty");
    assert_eq!(warm.json()["results"][0]["crmId"], id.as_str());
    assert_eq!(warm.json()["results"].as_array().unwrap().len(), 1);
    let off = app.plain.json("POST", "/companies/sync", &body);
    assert_eq!((off.header("x-kv-reads"), off.header("x-d1-statements")), (Some("0"), Some("1")));
}

/// Waits until KV answers `body` alone, and answers that response.
fn until_warm(c: &Client, body: &Value) -> Resp {
    until_warm_at(c, "/companies/sync", body)
}

fn until_warm_at(c: &Client, path: &str, body: &Value) -> Resp {
    for _ in 0..80 {
        let resp = c.json("POST", path, body);
        if resp.header("x-d1-statements") == Some("0") {
            return resp;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("never answered from KV alone");
}

/// 200 known records, each with its externalId: 400 subjects, so 4 bulk reads and no statement.
fn a_warm_sync_reads_kv_in_chunks_of_100_and_no_d1(app: &App) {
    let tag = unique("bulk").to_lowercase();
    let records: Vec<Value> = (0..200).map(|i| json!({"externalId": format!("{tag}-{i}"), "name": format!("Bulk {i}"), "domain": format!("{tag}-{i}.com")})).collect();
    post(&app.api, "/companies", json!({ "companies": records.clone() }));
    let body = json!({ "companies": records });
    let cold = app.api.json("POST", "/companies/sync", &body);
    assert_eq!((cold.header("x-kv-reads"), cold.header("x-d1-statements")), (Some("4"), Some("1")));
    let warm = until_warm(&app.api, &body);
    assert_eq!(warm.header("x-kv-reads"), Some("4"));
    assert_eq!(warm.json(), cold.json());
    assert_eq!(warm.json()["results"].as_array().unwrap().len(), 200);
    assert!(warm.json()["results"].as_array().unwrap().iter().all(|r| r["matchedBy"] == "externalId"));
}

/// 350 known records, each with its externalId: 700 names, 7 bulk reads when warm. Cold, the probe
/// (the first 6 calls) finds nothing and the seventh call is never made: D1 answers everything.
fn a_cold_sync_reads_one_wave_of_kv_then_d1(app: &App) {
    let tag = unique("probe").to_lowercase();
    let records: Vec<Value> = (0..350).map(|i| json!({"externalId": format!("{tag}-{i}"), "name": format!("Probe {i}"), "domain": format!("{tag}-{i}.com")})).collect();
    post(&app.api, "/companies", json!({ "companies": records.clone() }));
    let body = json!({ "companies": records });
    let cold = app.api.json("POST", "/companies/sync", &body);
    assert_eq!((cold.header("x-kv-reads"), cold.header("x-d1-statements")), (Some("6"), Some("1")), "one wave, then D1");
    assert_eq!(cold.json(), no_cache(&app.api, "/companies/sync", &body).json());
    let warm = until_warm(&app.api, &body);
    assert_eq!(warm.header("x-kv-reads"), Some("7"), "warm: every name read, in 7 calls");
    assert_eq!(warm.json(), cold.json());
}

/// Staleness: with every key cached, an update and a delete through this Worker are seen by the
/// very next sync (writes forget the entries they change before answering).
fn after_an_update_or_delete_the_next_sync_answers_the_new_truth(app: &App) {
    let d = unique("stale").to_lowercase();
    let ext = unique("ext");
    let a = create_one(&app.api, "companies", json!({"externalId": ext, "name": "Stale A", "domain": format!("{d}-1.com"), "industry": "old"}));
    let b = create_one(&app.api, "companies", json!({"name": "Stale B", "domain": format!("{d}-3.com")}));
    let probe = json!({"companies": [
        {"externalId": ext, "domain": format!("{d}-1.com")},
        {"domain": format!("{d}-1.com")},
        {"domain": format!("{d}-2.com")},
        {"domain": format!("{d}-3.com")},
    ]});
    let before = until_warm(&app.api, &probe).json();
    let ids: Vec<&str> = before["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![a.as_str(), a.as_str(), b.as_str()], "{before}");
    assert_eq!(before["results"][0]["properties"]["industry"], "old");

    let resp = app.api.json("PUT", "/companies", &json!({"companies": [{"crmId": a, "domain": format!("{d}-2.com"), "industry": "new"}]}));
    assert_eq!(resp.json()["results"][0]["success"], true, "{}", resp.text());
    let after = app.api.json("POST", "/companies/sync", &probe).json();
    let got: Vec<(&str, &str)> = after["results"].as_array().unwrap().iter().map(|r| (r["crmId"].as_str().unwrap(), r["matchedBy"].as_str().unwrap())).collect();
    assert_eq!(got, vec![(a.as_str(), "externalId"), (a.as_str(), "domain"), (b.as_str(), "domain")], "domain 1 is nobody's now: {after}");
    assert_eq!(after["results"][0]["properties"]["industry"], "new", "{after}");
    assert_eq!(after["results"][1]["properties"]["domain"], format!("{d}-2.com"));
    assert_eq!(after, no_cache(&app.api, "/companies/sync", &probe).json());

    let resp = app.api.send("DELETE", &format!("/companies/{b}"), Key::Valid, &[], None);
    assert_eq!(resp.status, 200);
    let after = app.api.json("POST", "/companies/sync", &probe).json();
    assert_eq!(after["results"].as_array().unwrap().len(), 2, "B is gone: {after}");
    let resp = app.api.send("DELETE", &format!("/companies/{a}"), Key::Valid, &[], None);
    assert_eq!(resp.status, 200);
    let after = app.api.json("POST", "/companies/sync", &probe).json();
    assert_eq!(after["results"], json!([]), "A is gone, its externalId too: {after}");
}

/// Staleness through an owner: the entries of a user's records name it (a sync sends back
/// `ownerName`); deleting the user forgets them, so the very next sync no longer names it.
fn deleting_an_owner_forgets_the_entries_that_name_it(app: &App) {
    let email = format!("{}@owner.test", unique("gone"));
    let user = post(&app.api, "/users", json!({"name": "Gone Owner", "email": email}));
    let owner = user["id"].as_str().unwrap().to_string();
    let d = unique("owned").to_lowercase();
    let ext = unique("ext");
    post(&app.api, "/contacts", json!({"contacts": [{"externalId": format!("{ext}-c"), "firstName": "Owned", "lastName": d, "ownerId": owner}]}));
    post(&app.api, "/companies", json!({"companies": [{"externalId": ext, "name": "Owned", "domain": format!("{d}.com"), "ownerId": owner}]}));
    let probe = json!({"companies": [{"externalId": ext, "domain": format!("{d}.com")}, {"domain": format!("{d}.com")}]});
    let warm = until_warm(&app.api, &probe).json();
    assert_eq!(warm["results"][0]["properties"]["ownerName"], "Gone Owner", "{warm}");
    let contacts = json!({"contacts": [{"externalId": format!("{ext}-c")}]});
    let warm_contact = until_warm_at(&app.api, "/contacts/sync", &contacts).json();
    assert_eq!(warm_contact["results"][0]["properties"]["ownerName"], "Gone Owner", "{warm_contact}");

    let resp = app.api.send("DELETE", &format!("/users/{owner}"), Key::Valid, &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let after = app.api.json("POST", "/companies/sync", &probe).json();
    for r in after["results"].as_array().unwrap() {
        assert!(r["properties"].get("ownerId").is_none_or(Value::is_null), "the owner is gone: {after}");
        assert!(r["properties"].get("ownerName").is_none_or(Value::is_null), "the owner is gone: {after}");
    }
    assert_eq!(after, no_cache(&app.api, "/companies/sync", &probe).json());
    let after = app.api.json("POST", "/contacts/sync", &contacts).json();
    assert!(after["results"][0]["properties"].get("ownerName").is_none_or(Value::is_null), "the owner is gone: {after}");
    assert_eq!(after, no_cache(&app.api, "/contacts/sync", &contacts).json());
}

/// D1 sessions: every response carries a bookmark, and a read from a write's bookmark sees it.
fn a_bookmark_reads_its_own_writes(app: &App) {
    let created = app.api.json("POST", "/contacts", &json!({"contacts": [{"firstName": "Book", "lastName": unique("Mark")}]}));
    let bookmark = created.header("x-d1-bookmark").expect("a write answers its bookmark").to_string();
    assert!(!bookmark.is_empty());
    let id = created.json()["results"][0]["crmId"].as_str().unwrap().to_string();
    let read = app.api.send("GET", &format!("/contacts/{id}"), Key::Valid, &[("X-D1-Bookmark", &bookmark)], None);
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.json()["id"], id.as_str());
    let later = read.header("x-d1-bookmark").expect("a read answers its bookmark");
    assert!(later >= bookmark.as_str(), "bookmarks only move forward: {later} < {bookmark}");
    // A value that cannot be a bookmark is ignored: the read runs unconstrained.
    let read = app.api.send("GET", &format!("/contacts/{id}"), Key::Valid, &[("X-D1-Bookmark", "not a bookmark")], None);
    assert_eq!(read.status, 200);
    assert!(read.header("x-d1-bookmark").is_some());
    let sync = app.api.send("POST", "/contacts/sync", Key::Valid, &[("Content-Type", "application/json"), ("X-D1-Bookmark", &bookmark)], Some(br#"{"contacts":[{"externalId":"nobody-here","email":"no@body.example"}]}"#));
    assert_eq!(sync.status, 200);
}
