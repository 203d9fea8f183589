//! `POST /{kind}/sync` and dedupe on create (API.md §4, §5).

use serde_json::{json, Value};

use crate::harness::{unique, Client};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("sync::finds_companies_by_normalised_domain_and_links_them", finds_companies_by_normalised_domain_and_links_them),
    ("sync::a_linked_external_id_comes_first", a_linked_external_id_comes_first),
    ("sync::returns_only_matches_with_non_empty_properties", returns_only_matches_with_non_empty_properties),
    ("sync::contacts_match_by_linkedin_or_name_and_company", contacts_match_by_linkedin_or_name_and_company),
    ("sync::keys_that_normalise_to_nothing_never_match", keys_that_normalise_to_nothing_never_match),
    ("sync::bad_keys_are_per_record_errors", bad_keys_are_per_record_errors),
    ("sync::deleted_records_never_match", deleted_records_never_match),
    ("sync::ambiguity_picks_deterministically", ambiguity_picks_deterministically),
    ("sync::ambiguity_can_be_an_error_with_candidates", ambiguity_can_be_an_error_with_candidates),
    ("sync::match_to_parent_answers_with_the_parent", match_to_parent_answers_with_the_parent),
    ("sync::statements_do_not_grow_with_the_batch", statements_do_not_grow_with_the_batch),
    ("sync::create_dedupes_against_stored_records", create_dedupes_against_stored_records),
    ("sync::create_dedupes_inside_one_request", create_dedupes_inside_one_request),
    ("sync::cache_on_and_off_give_the_same_answers", cache_on_and_off_give_the_same_answers),
    ("sync::the_cache_is_filled_and_read", the_cache_is_filled_and_read),
];

fn post(c: &Client, path: &str, body: Value) -> Value {
    let resp = c.json("POST", path, &body);
    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    resp.json()
}

fn sync(app: &App, kind: &str, records: Value) -> Value {
    let resp = app.api.json("POST", &format!("/{kind}/sync"), &json!({ kind: records }));
    assert_eq!(resp.status, 200, "{}", resp.text());
    app.conforms(&format!("/{kind}/sync"), "POST", &resp);
    resp.json()
}

fn create_one(c: &Client, kind: &str, record: Value) -> String {
    let body = post(c, &format!("/{kind}"), json!({ kind: [record] }));
    body["results"][0]["crmId"].as_str().unwrap_or_else(|| panic!("{body}")).to_string()
}

fn finds_companies_by_normalised_domain_and_links_them(app: &App) {
    let d = unique("acme").to_lowercase();
    let id = create_one(&app.api, "companies", json!({"name": "Acme", "domain": format!("https://www.{d}.co.uk/about")}));
    let ext = unique("enginy");
    let body = sync(app, "companies", json!([{"externalId": ext, "domain": format!("shop.{d}.co.uk")}]));
    let r = &body["results"][0];
    assert_eq!(r["crmId"], id.as_str(), "{body}");
    assert_eq!(r["matchedBy"], "domain");
    assert_eq!(r["externalId"], ext.as_str());
    // Now linked: found by the externalId even with no keys at all.
    let body = sync(app, "companies", json!([{"externalId": ext}]));
    assert_eq!(body["results"][0]["crmId"], id.as_str());
    assert_eq!(body["results"][0]["matchedBy"], "externalId");
    assert_eq!(app.api.get(&format!("/companies/{id}")).json()["externalId"], ext.as_str());
}

fn a_linked_external_id_comes_first(app: &App) {
    let d = unique("first").to_lowercase();
    let ext = unique("ext");
    let linked = create_one(&app.api, "companies", json!({"externalId": ext, "name": "Linked", "domain": format!("{d}-a.com")}));
    let _other = create_one(&app.api, "companies", json!({"name": "Other", "domain": format!("{d}-b.com")}));
    let body = sync(app, "companies", json!([{"externalId": ext, "domain": format!("{d}-b.com")}]));
    assert_eq!(body["results"][0]["crmId"], linked.as_str());
    assert_eq!(body["results"][0]["matchedBy"], "externalId");
}

fn returns_only_matches_with_non_empty_properties(app: &App) {
    let d = unique("props").to_lowercase();
    let id = create_one(
        &app.api,
        "companies",
        json!({"name": "Props", "domain": format!("{d}.com"), "industry": "Software", "website": "", "tags": [], "accountTier": "Enterprise", "blank": null}),
    );
    let body = sync(
        app,
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

fn contacts_match_by_linkedin_or_name_and_company(app: &App) {
    let slug = unique("jane-doe").to_lowercase();
    let by_li = create_one(&app.api, "contacts", json!({"firstName": "Jane", "linkedinUrl": format!("https://www.linkedin.com/in/{slug}/")}));
    let last = unique("Zamora");
    let by_name = create_one(&app.api, "contacts", json!({"firstName": "José", "lastName": last, "company": "Acme, Inc."}));
    let body = sync(
        app,
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

fn keys_that_normalise_to_nothing_never_match(app: &App) {
    // Records whose keys are empty after normalisation are stored without keys...
    create_one(&app.api, "companies", json!({"name": "Nothing", "domain": "http://"}));
    create_one(&app.api, "contacts", json!({"firstName": "No", "linkedinUrl": "https://www.linkedin.com/in/"}));
    // ...and inputs like them match nothing.
    let body = sync(app, "companies", json!([{"domain": "http://"}, {"domain": ""}, {"domain": "localhost"}, {"domain": "192.168.0.1"}]));
    assert_eq!(body["results"], json!([]), "{body}");
    let body = sync(app, "contacts", json!([{"linkedinUrl": "https://www.linkedin.com/in/"}, {"linkedinUrl": "linkedin.com"}]));
    assert_eq!(body["results"], json!([]), "{body}");
}

fn bad_keys_are_per_record_errors(app: &App) {
    let d = unique("bad").to_lowercase();
    create_one(&app.api, "companies", json!({"name": "Fine", "domain": format!("{d}.com")}));
    let body = sync(app, "companies", json!([{"externalId": "e1", "domain": 42}, {"externalId": "e2", "domain": format!("{d}.com")}]));
    assert_eq!(body["errors"][0]["index"], 0);
    assert!(body["errors"][0]["error"].as_str().unwrap().contains("domain"));
    assert_eq!(body["results"].as_array().unwrap().len(), 1);
}

fn deleted_records_never_match(app: &App) {
    let d = unique("gone").to_lowercase();
    let ext = unique("ext");
    let id = create_one(&app.api, "companies", json!({"externalId": ext, "name": "Gone", "domain": format!("{d}.com")}));
    app.api.send("DELETE", &format!("/companies/{id}"), crate::harness::Key::Valid, &[], None);
    let body = sync(app, "companies", json!([{"externalId": ext, "domain": format!("{d}.com")}]));
    assert_eq!(body["results"], json!([]), "{body}");
}

fn ambiguity_picks_deterministically(app: &App) {
    // Create never makes twins here (dedupe), but an update can give two records one domain.
    let put = |id: &str, field: &str, value: Value| {
        let resp = app.api.json("PUT", "/companies", &json!({"companies": [{"crmId": id, field: value}]}));
        assert_eq!(resp.json()["results"][0]["success"], true, "{}", resp.text());
    };
    let d = unique("twin").to_lowercase();
    let unlinked = create_one(&app.api, "companies", json!({"name": "Twin A", "domain": format!("{d}.com")}));
    let linked = create_one(&app.api, "companies", json!({"externalId": unique("l"), "name": "Twin B", "domain": format!("{d}-b.com")}));
    put(&linked, "domain", json!(format!("{d}.com")));
    put(&unlinked, "industry", json!("most recent"));
    let body = sync(app, "companies", json!([{"domain": format!("{d}.com")}]));
    assert_eq!(body["results"][0]["crmId"], linked.as_str(), "a linked record first: {body}");
    assert_eq!(body["results"][0]["matchedBy"], "domain");

    // Neither linked: the most recently updated.
    let e = unique("twin").to_lowercase();
    let first = create_one(&app.api, "companies", json!({"name": "Twin C", "domain": format!("{e}.com")}));
    let second = create_one(&app.api, "companies", json!({"name": "Twin D", "domain": format!("{e}-d.com")}));
    put(&second, "domain", json!(format!("{e}.com")));
    let pick = |app: &App| sync(app, "companies", json!([{"domain": format!("{e}.com")}]))["results"][0]["crmId"].clone();
    assert_eq!(pick(app), second.as_str());
    assert_eq!(pick(app), second.as_str(), "the same answer every time");
    put(&first, "industry", json!("touched"));
    assert_eq!(pick(app), first.as_str());
}

fn ambiguity_can_be_an_error_with_candidates(app: &App) {
    let c = &app.matching;
    let d = unique("amb").to_lowercase();
    let a = create_one(c, "companies", json!({"name": "Amb One", "domain": format!("{d}.com")}));
    let b = create_one(c, "companies", json!({"name": "Amb Two", "domain": format!("www.{d}.com")}));
    let resp = c.json("POST", "/companies/sync", &json!({"companies": [{"externalId": "x", "domain": format!("{d}.com")}]}));
    let body = resp.json();
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
    let resp = c.json("POST", "/companies/sync", &json!({"companies": [{"externalId": unique("e"), "domain": format!("{d}.com")}]}));
    let body = resp.json();
    let r = &body["results"][0];
    assert_eq!(r["crmId"], parent.as_str(), "{body}");
    assert_eq!(r["matchedRecordId"], child.as_str());
    assert_eq!(r["properties"]["industry"], "Holding");
}

fn statements_do_not_grow_with_the_batch(app: &App) {
    let count = |n: usize| -> String {
        let tag = unique("sc").to_lowercase();
        let records: Vec<Value> = (0..n).map(|i| json!({"name": format!("S {i}"), "domain": format!("{tag}-{i}.com")})).collect();
        post(&app.api, "/companies", json!({ "companies": records.clone() }));
        let probe: Vec<Value> = records.iter().map(|r| json!({"externalId": unique("p"), "domain": r["domain"]})).collect();
        let resp = app.api.json("POST", "/companies/sync", &json!({ "companies": probe }));
        assert_eq!(resp.json()["results"].as_array().unwrap().len(), n);
        resp.header("x-d1-statements").unwrap().to_string()
    };
    assert_eq!(count(1), count(500));
}

fn create_dedupes_against_stored_records(app: &App) {
    let d = unique("dd").to_lowercase();
    let id = create_one(&app.api, "companies", json!({"name": "Stored", "domain": format!("{d}.com")}));
    let ext = unique("ext");
    let body = post(&app.api, "/companies", json!({"companies": [{"externalId": ext, "name": "Again", "domain": format!("https://{d}.com/x")}]}));
    let r = &body["results"][0];
    assert_eq!(r["crmId"], id.as_str(), "{body}");
    assert_eq!(r["created"], false);
    assert_eq!(r["matchedBy"], "domain");
    // The stored record had no externalId: it is linked now.
    let stored = app.api.get(&format!("/companies/{id}")).json();
    assert_eq!(stored["externalId"], ext.as_str());
    assert_eq!(stored["name"], "Stored", "dedupe does not overwrite");
}

fn create_dedupes_inside_one_request(app: &App) {
    let d = unique("in").to_lowercase();
    let body = post(
        &app.api,
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

/// Runs one scenario on a server with the match cache on (the main one) and one with it off (the
/// policy server), and compares every sync answer, with crm ids replaced by creation order.
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
    let off = run(&app.policy);
    assert_eq!(on, off);
    // And the answers are the expected ones: the first probe links records 0..5 by domain.
    assert_eq!(on[0]["results"].as_array().unwrap().len(), 6);
    // Then record 1 left domain 1 (nobody holds it now) and record 3 was deleted.
    let last: Vec<&str> = on[3]["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap()).collect();
    assert_eq!(last, vec!["record-0", "record-1", "record-4", "record-5"], "{}", on[3]);
}

/// The cache really is used: a repeated lookup finds its entries (written after the first
/// response), and a server with the cache off says nothing about it.
fn the_cache_is_filled_and_read(app: &App) {
    let d = unique("kv").to_lowercase();
    // The domain arrives by an update: a create would look its key up (to dedupe) and may leave
    // an entry behind, so the first probe would not be cold.
    let id = create_one(&app.api, "companies", json!({"name": format!("Cached {d}")}));
    let resp = app.api.json("PUT", "/companies", &json!({"companies": [{"crmId": id, "domain": format!("{d}.com")}]}));
    assert_eq!(resp.json()["results"][0]["success"], true);
    let body = json!({"companies": [{"domain": format!("{d}.com")}, {"domain": format!("{d}-absent.com")}]});
    let first = app.api.json("POST", "/companies/sync", &body);
    assert_eq!(first.header("x-match-cache"), Some("0/2"), "a cold cache");
    let mut hits = String::new();
    for _ in 0..50 {
        hits = app.api.json("POST", "/companies/sync", &body).header("x-match-cache").unwrap_or("").to_string();
        if hits == "2/2" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(hits, "2/2", "both keys cached, the absent one as empty");
    let off = app.policy.json("POST", "/companies/sync", &body);
    assert_eq!(off.header("x-match-cache"), None);
}
