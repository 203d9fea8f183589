//! The request schemas of `openapi.json` agree with the Worker item by item, in both directions.
//!
//! Every client already fails a test when the Worker accepts a body the schemas refuse (see
//! `harness::Client`). These tests also send bodies the Worker must refuse, as batch items with
//! their own outcomes, and check that the schema refuses the same items. Where a rule cannot be
//! said in the document's keywords (a blank string, a string that must hold a number, JSON size
//! and depth, an email address, a timestamp's form, a case-insensitive word), the case is marked
//! `Looser`: the schema accepts it, only its description states the rule, and the Worker refuses
//! it. Each case names the exact verdicts expected, so a change on either side fails here.

use serde_json::{json, Value};

use crate::harness::{item_outcomes, unique, Client};
use crate::tasks::ok;
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("schemas::record_fields_agree_with_the_worker", record_fields_agree_with_the_worker),
    ("schemas::record_updates_agree_with_the_worker", record_updates_agree_with_the_worker),
    ("schemas::associations_agree_with_the_worker", associations_agree_with_the_worker),
    ("schemas::tasks_agree_with_the_worker", tasks_agree_with_the_worker),
    ("schemas::activities_and_users_agree_with_the_worker", activities_and_users_agree_with_the_worker),
];

/// What both sides should say of one item.
#[derive(Clone, Copy)]
enum Expect {
    /// The Worker and the schema both accept it.
    Accepted,
    /// The Worker refuses it (`invalid`) and the schema refuses it.
    Refused,
    /// The Worker refuses it but the schema cannot say why; the reason is in its description.
    Looser(&'static str),
    /// It writes a name the CRM owns: the Worker refuses it (`read_only`) and the schema too.
    ReadOnly,
}
use Expect::{Accepted, Looser, ReadOnly, Refused};

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Accepted => f.write_str("accepted by both"),
            Refused => f.write_str("refused by both"),
            Looser(why) => write!(f, "refused by the Worker only ({why})"),
            ReadOnly => f.write_str("refused by both as read_only"),
        }
    }
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

/// `{name: value}`.
fn field(name: &str, value: Value) -> Value {
    let mut object = serde_json::Map::new();
    object.insert(name.to_string(), value);
    Value::Object(object)
}

/// A number no other item of this run uses (as an external or message id).
fn random_number() -> u64 {
    u64::from_str_radix(&crate::harness::random_hex(6), 16).unwrap()
}

/// A value nested `levels` deep (`1` is `[0]`).
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(0), |inner, _| json!([inner]))
}

/// Sends `cases` as the items of one batch request and checks each item's verdicts.
fn agree(app: &App, c: &Client, method: &str, route: &str, key: &str, extra: Value, cases: &[(Value, Expect)]) {
    let mut body = extra;
    body[key] = Value::Array(cases.iter().map(|(item, _)| item.clone()).collect());
    let resp = c.json(method, route, &body);
    assert_eq!(resp.status, 200, "{method} {route}: {}", resp.text());
    app.conforms(route, method, &resp);
    let (_, outcomes) = item_outcomes(method, route, &body, &resp.json()).expect("a batch route");
    let mut wrong = Vec::new();
    for (i, ((item, expect), outcome)) in cases.iter().zip(&outcomes).enumerate() {
        let mut single = body.clone();
        single[key] = json!([item]);
        let schema = app.spec.check_request(route, method, &single);
        let worker_ok = match outcome.as_deref() {
            None => true,
            Some("invalid") => false,
            Some("read_only") if matches!(expect, ReadOnly) => false,
            Some(code) => {
                wrong.push(format!("item {i}: the Worker failed it with {code:?}, not for its shape"));
                continue;
            }
        };
        let fine = match expect {
            Accepted => worker_ok && schema.is_ok(),
            Refused => !worker_ok && schema.is_err(),
            Looser(_) => !worker_ok && schema.is_ok(),
            ReadOnly => !worker_ok && schema.is_err(),
        };
        if !fine {
            let mut shown = item.to_string();
            shown.truncate(160);
            wrong.push(format!(
                "item {i} {shown}: expected {expect}; the Worker {}, the schema {}",
                if worker_ok { "accepted it" } else { "refused it" },
                match &schema {
                    Ok(()) => "accepts it".to_string(),
                    Err(e) => format!("refuses it ({e})"),
                }
            ));
        }
    }
    assert!(wrong.is_empty(), "{method} {route}: the request schema and the Worker disagree:\n{}", wrong.join("\n"));
}

fn contact_cases() -> Vec<(Value, Expect)> {
    vec![
        (json!({"firstName": "Ada", "lastName": unique("lovelace"), "externalId": unique("ext")}), Accepted),
        (json!({"externalId": random_number()}), Accepted),
        (json!({"firstName": long(2000), "email": null, "ownerId": null}), Accepted),
        (json!({"Email": 5, "score": {"a": [1, {"b": null}]}, "flag": true}), Accepted),
        (json!({"properties": {"title": "CTO", "tier": 3, "externalId": {}}}), Accepted),
        (json!({"properties": null}), Accepted),
        (json!({"id": 5}), ReadOnly),
        (json!({"createdAt": "2024-01-01T00:00:00Z"}), ReadOnly),
        (json!({"properties": {"updatedAt": []}}), ReadOnly),
        (field(&long(200), json!(1)), Accepted),
        (json!({"deep": nested(8)}), Accepted),
        (json!({"firstName": 5}), Refused),
        (json!({"title": long(2001)}), Refused),
        (json!({"externalId": true}), Refused),
        (json!({"externalId": ""}), Refused),
        (json!({"externalId": long(256)}), Refused),
        (json!({"ownerId": ""}), Refused),
        (json!({"ownerId": long(101)}), Refused),
        (json!({"properties": "x"}), Refused),
        (json!({"properties": {"email": 7}}), Refused),
        (json!({"": 1}), Refused),
        (field(&long(201), json!(1)), Refused),
        (json!(5), Refused),
        (json!({"externalId": "   "}), Looser("externalId must not be blank")),
        (json!({"ownerId": "  "}), Looser("an id must not be blank")),
        (json!({"big": long(40_000)}), Looser("a custom value is at most 32 KiB as JSON")),
        (json!({"deep": nested(9)}), Looser("a custom value nests at most 8 levels")),
    ]
}

fn company_cases() -> Vec<(Value, Expect)> {
    let name = || unique("schema-co");
    vec![
        (json!({"name": name(), "employeeCount": 5, "foundedYear": 1999, "revenue": "100M-250M"}), Accepted),
        (json!({"name": name(), "employeeCount": "12.5", "foundedYear": "1999", "revenue": 250000}), Accepted),
        (json!({"name": name(), "employeeCount": "", "foundedYear": " "}), Accepted),
        (json!({"name": name(), "foundedYear": 1999.0}), Accepted),
        (json!({"name": name(), "technologies": ["rust", long(2000)], "tags": [], "customFields": {"a": {"b": 1}}}), Accepted),
        (json!({"name": name(), "description": long(20_000), "parentCrmId": null, "tags": null}), Accepted),
        (json!({"name": name(), "technologies": vec!["t"; 500]}), Accepted),
        (json!({"employeeCount": {}}), Refused),
        (json!({"foundedYear": 1999.5}), Refused),
        (json!({"revenue": true}), Refused),
        (json!({"technologies": [1]}), Refused),
        (json!({"technologies": vec!["t"; 501]}), Refused),
        (json!({"name": name(), "tags": "a, b", "technologies": "rust"}), Accepted),
        (json!({"tags": 5}), Refused),
        (json!({"tags": [long(2001)]}), Refused),
        (json!({"customFields": []}), Refused),
        (json!({"description": long(20_001)}), Refused),
        (json!({"industry": long(2001)}), Refused),
        (json!({"parentCrmId": 5}), Refused),
        (json!({"employeeCount": long(101)}), Refused),
        (json!({"properties": {"foundedYear": "soon"}}), Looser("a string in foundedYear must hold a whole number")),
        (json!({"employeeCount": "many"}), Looser("a string in employeeCount must hold a number")),
        (json!({"customFields": {"x": long(40_000)}}), Looser("customFields is at most 32 KiB as JSON")),
    ]
}

fn record_fields_agree_with_the_worker(app: &App) {
    // The server without dedupe on create: every accepted item is created, none is an ambiguity.
    let c = &app.matching;
    agree(app, c, "POST", "/contacts", "contacts", json!({}), &contact_cases());
    agree(app, c, "POST", "/companies", "companies", json!({}), &company_cases());
    // Sync reads records as a create does (the default server picks among ambiguous matches).
    agree(app, &app.api, "POST", "/contacts/sync", "contacts", json!({}), &contact_cases());
    agree(app, &app.api, "POST", "/companies/sync", "companies", json!({}), &company_cases());
}

fn record_updates_agree_with_the_worker(app: &App) {
    let c = &app.matching;
    for (kind, cases) in [("contacts", contact_cases()), ("companies", company_cases())] {
        // One stored record per case, so no two items of the batch change the same record.
        let seeds: Vec<Value> = cases.iter().map(|_| json!({"externalId": unique("seed")})).collect();
        let created = ok(c.json("POST", &format!("/{kind}"), &field(kind, Value::Array(seeds))));
        let ids: Vec<String> =
            created["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap().to_string()).collect();
        assert_eq!(ids.len(), cases.len(), "{created}");
        let mut updates: Vec<(Value, Expect)> = cases
            .into_iter()
            .zip(&ids)
            .filter(|((item, _), _)| item.is_object())
            .map(|((mut item, expect), id)| {
                item["crmId"] = json!(id);
                // An externalId in an update links the record, checked as on create.
                (item, expect)
            })
            .collect();
        updates.extend([
            (json!({"firstName": "no id"}), Refused),
            (json!({"crmId": null}), Refused),
            (json!({"crmId": ""}), Refused),
            (json!({"crmId": 5}), Refused),
            (json!({"crmId": ids[0], "externalId": {"any": "thing"}}), Refused),
            (json!({"crmId": ids[1], "ownerId": null, "tags": null}), Accepted),
        ]);
        agree(app, c, "PUT", &format!("/{kind}"), kind, json!({}), &updates);
    }
}

fn associations_agree_with_the_worker(app: &App) {
    let c = &app.matching;
    let ct = |n: usize| -> Vec<String> {
        let items: Vec<Value> = (0..n).map(|_| json!({"externalId": unique("link-ct")})).collect();
        let body = ok(c.json("POST", "/contacts", &json!({ "contacts": items })));
        body["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap().to_string()).collect()
    };
    let contacts = ct(4);
    let company = ok(c.json("POST", "/companies", &json!({"companies": [{"externalId": unique("link-co")}]})))["results"][0]["crmId"]
        .as_str()
        .unwrap()
        .to_string();
    let cases = vec![
        (json!({"contactCRMId": contacts[0], "companyCRMId": company}), Accepted),
        (json!({"contactCRMId": contacts[1], "companyCRMId": company, "type": "primary"}), Accepted),
        (json!({"contactCRMId": contacts[2], "companyCRMId": company, "type": null, "note": "ignored"}), Accepted),
        (json!({"contactCRMId": contacts[3], "companyCRMId": company, "type": "primary_replace"}), Accepted),
        (json!({"companyCRMId": company}), Refused),
        (json!({"contactCRMId": contacts[0], "companyCRMId": 5}), Refused),
        (json!({"contactCRMId": "", "companyCRMId": company}), Refused),
        (json!({"contactCRMId": long(101), "companyCRMId": company}), Refused),
        (json!({"contactCrmId": contacts[0], "companyCrmId": company, "type": "Add association as Primary"}), Accepted),
        (json!({"contactCRMId": contacts[0], "companyCRMId": company, "type": "secondary"}), Looser("a type is read in any case, with Enginy's labels")),
        (json!({"contactCRMId": contacts[0], "companyCRMId": company, "type": 1}), Refused),
        (json!("link"), Refused),
        (json!({"contactCRMId": "  ", "companyCRMId": company}), Looser("an id must not be blank")),
        (json!({"contactCRMId": "é".repeat(60), "companyCRMId": company}), Looser("an id is at most 100 bytes")),
    ];
    agree(app, c, "POST", "/associations", "associations", json!({"associationType": "additional"}), &cases);
    agree(app, c, "DELETE", "/associations", "associations", json!({}), &cases);
    // The body-wide type: a bad one refuses the whole request; the schema, which reads types in
    // any case and Enginy's labels, can only say so in words.
    let body = json!({"associations": [], "associationType": "sideways"});
    assert_eq!(c.json("POST", "/associations", &body).status, 400);
    assert!(app.spec.check_request("/associations", "POST", &body).is_ok());
    let bad = json!({"associations": [], "associationType": 7});
    assert!(app.spec.check_request("/associations", "POST", &bad).is_err());
}

fn tasks_agree_with_the_worker(app: &App) {
    let c = &app.api;
    let cases = vec![
        (json!({"subject": "Call"}), Accepted),
        (json!({"subject": "Call", "completed": true, "dueDate": "2030-01-02", "type": "CALL", "priority": "HIGH"}), Accepted),
        (json!({"subject": "Call", "dueDate": 1_900_000_000_000u64, "status": null, "description": long(100_000)}), Accepted),
        (json!({"subject": "Call", "dueDate": "2030-01-02T09:00:00+02:00", "completedAt": "ignored", "id": 1}), Accepted),
        (json!({"subject": long(2000), "playbook": {"step": 2}, "properties": {"tier": 1}}), Accepted),
        (json!({"type": "CALL"}), Refused),
        (json!({"subject": 42}), Refused),
        (json!({"subject": ""}), Refused),
        (json!({"subject": long(2001)}), Refused),
        (json!({"subject": "x", "completed": null}), Refused),
        (json!({"subject": "x", "completed": "yes"}), Refused),
        (json!({"subject": "x", "priority": long(101)}), Refused),
        (json!({"subject": "x", "contactId": ""}), Refused),
        (json!({"subject": "x", "properties": "p"}), Refused),
        (json!({"subject": "x", "dueDate": true}), Refused),
        (json!({"subject": "x", "dueDate": long(65)}), Refused),
        (json!({"subject": "x", "": 1}), Refused),
        (json!(["task"]), Refused),
        (json!({"subject": "  "}), Looser("subject must not be blank")),
        (json!({"subject": "x", "dueDate": "next week"}), Looser("a timestamp must be RFC 3339, a date or milliseconds")),
        (json!({"subject": "x", "dueDate": 1.9e12}), Looser("milliseconds are a whole number written without a fraction")),
    ];
    agree(app, c, "POST", "/tasks", "tasks", json!({}), &cases);

    // A patch is one request: PATCH /tasks/batch with no ids checks the patch and writes nothing.
    for (patch, expect) in [
        (json!({"subject": "new"}), Accepted),
        (json!({"completed": null, "status": null, "dueDate": null, "x": null}), Accepted),
        (json!({"completed": false, "dueDate": "2030-01-02"}), Accepted),
        (json!({"subject": null}), Refused),
        (json!({"subject": ""}), Refused),
        (json!({"completed": "x"}), Refused),
        (json!({"ownerId": ""}), Refused),
        (json!({"subject": "  "}), Looser("subject must not be blank")),
    ] {
        let mut body = patch.clone();
        body["ids"] = json!([]);
        let resp = c.json("PATCH", "/tasks/batch", &body);
        let worker_ok = match resp.status {
            200 => true,
            400 => false,
            other => panic!("PATCH /tasks/batch {body}: {other} {}", resp.text()),
        };
        let schema = app.spec.check_request("/tasks/batch", "PATCH", &body);
        let fine = match expect {
            Accepted => worker_ok && schema.is_ok(),
            Refused => !worker_ok && schema.is_err(),
            Looser(_) => !worker_ok && schema.is_ok(),
            ReadOnly => !worker_ok && schema.is_err(),
        };
        assert!(fine, "PATCH /tasks/batch {body}: expected {expect}; Worker {}, schema {schema:?}", resp.status);
    }
}

fn activities_and_users_agree_with_the_worker(app: &App) {
    let c = &app.api;
    let msg = || unique("msg");
    let activities = vec![
        (json!({"type": "email", "metadata": {"messageId": msg()}}), Accepted),
        (json!({"type": "LINKEDIN", "direction": "inbound", "metadata": {"messageId": random_number()}}), Accepted),
        (json!({"type": "LINKEDIN", "direction": " OUTBOUND ", "occurredAt": "2024-01-20T10:30:00+02:00", "metadata": {"messageId": ""}}), Accepted),
        (json!({"type": "X", "subject": long(2000), "body": long(100_000), "direction": null, "metadata": null, "campaign": [1]}), Accepted),
        (json!({}), Refused),
        (json!({"type": 5}), Refused),
        (json!({"type": ""}), Refused),
        (json!({"type": long(101)}), Refused),
        (json!({"type": "EMAIL", "direction": "up"}), Refused),
        (json!({"type": "EMAIL", "metadata": "x"}), Refused),
        (json!({"type": "EMAIL", "metadata": {"messageId": true}}), Refused),
        (json!({"type": "EMAIL", "metadata": {"messageId": long(501)}}), Refused),
        (json!({"type": "EMAIL", "subject": long(2001)}), Refused),
        (json!({"type": "EMAIL", "occurredAt": false}), Refused),
        (json!({"type": "  "}), Looser("type must not be blank")),
        (json!({"type": "EMAIL", "direction": "sideways"}), Looser("direction is INBOUND or OUTBOUND in any case")),
        (json!({"type": "EMAIL", "metadata": {"messageId": "é".repeat(300)}}), Looser("messageId is at most 500 bytes")),
    ];
    agree(app, c, "POST", "/activities", "activities", json!({}), &activities);

    let email = || format!("{}@e2e.test", unique("schema-user"));
    let users = vec![
        (json!({"email": email(), "name": "Owner"}), Accepted),
        (json!({"email": format!("mailto:{}", email()), "name": null, "team": "sales"}), Accepted),
        (json!({"email": email(), "name": long(200)}), Accepted),
        (json!({}), Refused),
        (json!({"email": 5}), Refused),
        (json!({"email": ""}), Refused),
        (json!({"email": email(), "name": 5}), Refused),
        (json!({"email": email(), "name": long(201)}), Refused),
        (json!({"email": format!("{}{}", long(320), "@e2e.test")}), Refused),
        (json!({"email": "not an address"}), Looser("email must be an address")),
        (json!({"email": "  "}), Looser("email must not be blank")),
    ];
    agree(app, c, "POST", "/users", "users", json!({}), &users);
}

