//! Contact–company links (API.md §6).

use serde_json::{json, Value};

use crate::harness::unique;
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("associations::link_types_keep_one_primary", link_types_keep_one_primary),
    ("associations::replace_removes_other_links_and_keeps_them_in_history", replace_removes_other_links_and_keeps_them_in_history),
    ("associations::unknown_ids_and_bad_items_are_per_item_errors", unknown_ids_and_bad_items_are_per_item_errors),
    ("associations::links_are_idempotent_and_removable", links_are_idempotent_and_removable),
    ("associations::a_batch_of_the_largest_size_links_and_unlinks", a_batch_of_the_largest_size_links_and_unlinks),
];

/// `MAX_BATCH` (10,000) links in one request, then their removal in one request: every item
/// answered, in order, whatever D1 takes in one statement.
fn a_batch_of_the_largest_size_links_and_unlinks(app: &App) {
    let _heavy = crate::heavy();
    let company = ids(app, "companies", 1).remove(0);
    let contacts = ids(app, "contacts", 10_000);
    assert_eq!(contacts.len(), 10_000);
    let items: Vec<Value> = contacts.iter().map(|c| json!({"contactCRMId": c, "companyCRMId": company, "type": "primary"})).collect();
    let added = link(app, json!({ "associations": items }));
    let results = added["results"].as_array().unwrap();
    assert_eq!(results.len(), 10_000);
    assert!(results.iter().all(|r| r["success"] == true), "{}", &added.to_string()[..500]);
    assert_eq!(links_of(app, &contacts[9_999]), vec![(company.clone(), true)]);
    let resp = app.api.json("DELETE", "/associations", &json!({ "associations": items }));
    assert_eq!(resp.status, 200, "{}", &resp.text()[..resp.text().len().min(500)]);
    let removed = resp.json();
    assert!(removed["results"].as_array().unwrap().iter().all(|r| r["success"] == true));
    assert!(links_of(app, &contacts[0]).is_empty());
    assert!(links_of(app, &contacts[9_999]).is_empty());
}

fn ids(app: &App, kind: &str, n: usize) -> Vec<String> {
    let field = if kind == "contacts" { "firstName" } else { "name" };
    let records: Vec<Value> = (0..n).map(|i| json!({"externalId": unique(kind), field: format!("Link {i}")})).collect();
    let resp = app.api.json("POST", &format!("/{kind}"), &json!({ kind: records }));
    resp.json()["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap().to_string()).collect()
}

fn link(app: &App, body: Value) -> Value {
    let resp = app.api.json("POST", "/associations", &body);
    assert_eq!(resp.status, 200, "{}", resp.text());
    app.conforms("/associations", "POST", &resp);
    resp.json()
}

/// The contact's links as (company id, primary).
fn links_of(app: &App, contact: &str) -> Vec<(String, bool)> {
    let mut links: Vec<(String, bool)> = app.api.get(&format!("/contacts/{contact}")).json()["associations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["companyId"].as_str().unwrap().to_string(), a["primary"].as_bool().unwrap()))
        .collect();
    links.sort();
    links
}

fn link_types_keep_one_primary(app: &App) {
    let ct = &ids(app, "contacts", 1)[0];
    let co = ids(app, "companies", 2);
    let body = link(app, json!({"associations": [
        {"contactCRMId": ct, "companyCRMId": co[0], "type": "primary"},
        {"contactCRMId": ct, "companyCRMId": co[1]},
    ]}));
    assert_eq!(body["success"], true, "{body}");
    let mut want = vec![(co[0].clone(), true), (co[1].clone(), false)];
    want.sort();
    assert_eq!(links_of(app, ct), want);
    // Body-wide associationType: co[1] becomes primary, co[0] stays linked.
    link(app, json!({"associationType": "primary", "associations": [{"contactCRMId": ct, "companyCRMId": co[1]}]}));
    let mut want = vec![(co[0].clone(), false), (co[1].clone(), true)];
    want.sort();
    assert_eq!(links_of(app, ct), want);
    // The company side lists the contact.
    let company = app.api.get(&format!("/companies/{}", co[1])).json();
    assert_eq!(company["associations"], json!([{"contactId": ct, "primary": true}]));
}

fn replace_removes_other_links_and_keeps_them_in_history(app: &App) {
    let ct = &ids(app, "contacts", 1)[0];
    let co = ids(app, "companies", 3);
    link(app, json!({"associations": [
        {"contactCRMId": ct, "companyCRMId": co[0], "type": "primary"},
        {"contactCRMId": ct, "companyCRMId": co[1]},
    ]}));
    link(app, json!({"associations": [{"contactCRMId": ct, "companyCRMId": co[2], "type": "primary_replace"}]}));
    assert_eq!(links_of(app, ct), vec![(co[2].clone(), true)]);
    let history = app.api.get(&format!("/contacts/{ct}/history")).json()["history"].as_array().unwrap().clone();
    let removed: Vec<&str> = history
        .iter()
        .filter(|h| h["field"] == "association" && h["newValue"].is_null())
        .map(|h| h["oldValue"]["companyId"].as_str().unwrap())
        .collect();
    assert_eq!(removed.len(), 2, "{history:?}");
    assert!(removed.contains(&co[0].as_str()) && removed.contains(&co[1].as_str()));
}

fn unknown_ids_and_bad_items_are_per_item_errors(app: &App) {
    let ct = &ids(app, "contacts", 1)[0];
    let co = &ids(app, "companies", 1)[0];
    let body = link(app, json!({"associations": [
        {"contactCRMId": ct, "companyCRMId": co},
        {"contactCRMId": "ct_missing", "companyCRMId": co},
        {"contactCRMId": ct, "companyCRMId": "co_missing"},
        {"contactCRMId": ct},
        {"contactCRMId": ct, "companyCRMId": co, "type": "best_friend"},
    ]}));
    assert_eq!(body["success"], false);
    let r = body["results"].as_array().unwrap();
    assert_eq!(r[0]["success"], true);
    assert_eq!((&r[1]["code"], &r[1]["error"]), (&json!("not_found"), &json!("Contact not found")));
    assert_eq!((&r[2]["code"], &r[2]["error"]), (&json!("not_found"), &json!("Company not found")));
    assert!(r[3]["error"].as_str().unwrap().contains("companyCRMId"));
    assert!(r[4]["error"].as_str().unwrap().contains("type"));
    assert_eq!(links_of(app, ct), vec![(co.clone(), false)], "the good item was written");
    let resp = app.api.json("POST", "/associations", &json!({"associationType": "sideways", "associations": []}));
    assert_eq!(resp.status, 400);
}

fn links_are_idempotent_and_removable(app: &App) {
    let ct = &ids(app, "contacts", 1)[0];
    let co = &ids(app, "companies", 1)[0];
    let item = json!({"associations": [{"contactCRMId": ct, "companyCRMId": co, "type": "primary"}]});
    link(app, item.clone());
    link(app, item.clone());
    assert_eq!(links_of(app, ct), vec![(co.clone(), true)]);
    let resp = app.api.json("DELETE", "/associations", &item);
    assert_eq!(resp.status, 200, "{}", resp.text());
    app.conforms("/associations", "DELETE", &resp);
    assert_eq!(resp.json()["success"], true);
    assert!(links_of(app, ct).is_empty());
    let again = app.api.json("DELETE", "/associations", &item);
    assert_eq!(again.json()["success"], true, "removing a missing link is not an error");
}
