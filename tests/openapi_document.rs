//! The OpenAPI document on its own, without a Worker: it uses only keywords the end-to-end
//! checks understand, every route that reads a body documents it (and no other route does), and
//! the request check itself catches what it must. The end-to-end suite then checks the document
//! against the running Worker (`tests/e2e/schemas.rs` and every accepted request).

#[allow(dead_code)]
#[path = "e2e/openapi.rs"]
mod openapi;

#[allow(dead_code)]
#[path = "e2e/harness.rs"]
mod harness;

use edge_crm::domain::routes::{Access, ROUTES};
use serde_json::{json, Value};

fn spec() -> openapi::Spec {
    openapi::Spec::new(serde_json::from_str(include_str!("../src/openapi.json")).unwrap())
}

#[test]
fn the_document_uses_only_keywords_the_checks_understand() {
    let problems = spec().lint();
    assert!(problems.is_empty(), "openapi.json:\n{}", problems.join("\n"));
    // The lint itself finds an unknown keyword, a dangling reference and a bad `required`.
    let bad = openapi::Spec::new(json!({
        "paths": {"/x": {"post": {"requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": [1], "properties": {"a": {"type": "string", "pattern": "^a"}},
            "items": {"$ref": "#/components/schemas/Missing"}
        }}}}}}}
    }));
    let problems = bad.lint().join("\n");
    for expected in ["\"pattern\" is not checked", "dangling $ref", "required must list names"] {
        assert!(problems.contains(expected), "{expected:?} not in:\n{problems}");
    }
}

#[test]
fn exactly_the_routes_that_read_a_body_document_one() {
    let spec = spec();
    for route in ROUTES.iter().filter(|r| !matches!(r.access, Access::Page | Access::Moved)) {
        let media = spec.request_media(route.pattern, route.method).unwrap();
        assert_eq!(
            !media.is_empty(),
            route.takes_body,
            "{} {}: reads a body: {}, documents one: {:?}",
            route.method,
            route.pattern,
            route.takes_body,
            media
        );
        if !route.takes_body {
            continue;
        }
        // The media type documented is the one the Worker reads: CSV for an import, else JSON.
        let wanted = if route.id.reads_csv() { "text/csv" } else { "application/json" };
        assert_eq!(media, [wanted], "{} {}", route.method, route.pattern);
        if let Some(schema) = spec.request_schema(route.pattern, route.method).unwrap() {
            // A bare `{"type": "object"}` says nothing of the fields: each body names its own.
            let bare = schema.as_object().is_some_and(|s| s.keys().all(|k| k == "type" || k == "description"));
            assert!(!bare, "{} {}: the request schema describes no field", route.method, route.pattern);
        } else {
            assert!(route.id.reads_csv(), "{} {}: a JSON body documents its schema", route.method, route.pattern);
        }
    }
}

/// The statuses the pipeline can answer on a route, whatever its handler does: the credential
/// (`401`, and `429` after too many failed ones), the configuration and the database (`503`), an
/// internal failure (`500`), a body (`400`, `413`, `415`), an `Idempotency-Key` on `POST` and
/// `PATCH` (`409`, `422`), and an id in the path (`404`).
fn pipeline_statuses(route: &edge_crm::domain::routes::Route) -> Vec<&'static str> {
    let mut statuses = vec!["200"];
    if route.access == Access::Public {
        return statuses;
    }
    statuses.extend(["401", "429", "503"]);
    if route.pattern == "/health" {
        return statuses;
    }
    statuses.push("500");
    if route.takes_body {
        statuses.extend(["400", "413", "415"]);
    }
    if matches!(route.method, "POST" | "PATCH") {
        statuses.extend(["409", "422"]);
    }
    if route.pattern.contains('{') {
        statuses.push("404");
    }
    statuses
}

#[test]
fn every_route_documents_every_status_the_pipeline_can_answer() {
    let doc: Value = serde_json::from_str(include_str!("../src/openapi.json")).unwrap();
    let mut missing = Vec::new();
    for route in ROUTES.iter().filter(|r| !matches!(r.access, Access::Page | Access::Moved)) {
        let pointer = format!("/paths/{}/{}/responses", route.pattern.replace('/', "~1"), route.method.to_lowercase());
        let responses = doc.pointer(&pointer).and_then(Value::as_object).unwrap_or_else(|| panic!("{} {} is not documented", route.method, route.pattern));
        for status in pipeline_statuses(route) {
            if !responses.contains_key(status) {
                missing.push(format!("{} {}: {status}", route.method, route.pattern));
            }
        }
    }
    assert!(missing.is_empty(), "statuses a route can answer that openapi.json does not list:\n{}", missing.join("\n"));
    // Every error answer carries `error`, `message` and `code`.
    let error = &doc["components"]["schemas"]["Error"];
    assert_eq!(error["required"], json!(["error", "message", "code"]));
    for item in ["RecordFailure", "ItemFailure"] {
        let required = doc["components"]["schemas"][item]["required"].as_array().unwrap();
        assert!(required.contains(&json!("message")), "{item}");
    }
}

#[test]
fn every_response_documents_what_the_request_cost() {
    let doc: Value = serde_json::from_str(include_str!("../src/openapi.json")).unwrap();
    let cost = ["X-D1-Statements", "X-D1-Rows-Read", "X-D1-Rows-Written", "X-KV-Reads"];
    for name in cost {
        let header = &doc["components"]["headers"][name];
        assert_eq!(header["schema"]["type"], "integer", "{name} is described once, as a count");
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        // Operations only (a path item may also hold its `parameters`).
        for (method, op) in item.as_object().unwrap().iter().filter(|(_, op)| op.get("responses").is_some()) {
            for (status, response) in op["responses"].as_object().unwrap() {
                // A shared response carries the headers itself.
                let response = match response["$ref"].as_str() {
                    Some(r) => doc.pointer(r.strip_prefix('#').unwrap()).unwrap(),
                    None => response,
                };
                for name in cost {
                    let reference = response["headers"][name]["$ref"].as_str();
                    assert_eq!(reference, Some(format!("#/components/headers/{name}").as_str()), "{method} {path} {status} lacks {name}");
                }
            }
        }
    }
}

#[test]
fn concrete_paths_find_their_documented_route() {
    let spec = spec();
    for (method, path, route) in [
        ("POST", "/tasks/batch", Some("/tasks/batch")),
        ("PATCH", "/tasks/batch", Some("/tasks/batch")),
        ("PATCH", "/tasks/tk_123", Some("/tasks/{id}")),
        ("POST", "/contacts/sync", Some("/contacts/sync")),
        ("GET", "/contacts/ct_1/history?limit=5", Some("/contacts/{id}/history")),
        ("PUT", "/companies/", Some("/companies")),
        ("POST", "/contacts/import?dryRun=true", Some("/contacts/import")),
        ("POST", "/view/contact/ct_1", None),
        ("PUT", "/tasks/tk_1", None),
    ] {
        assert_eq!(spec.route_of(method, path).as_deref(), route, "{method} {path}");
    }
}

/// The mismatches of `body` on a route, or an empty list.
fn errors(method: &str, route: &str, body: Value) -> String {
    spec().check_request(route, method, &body).err().unwrap_or_default()
}

#[test]
fn the_request_check_accepts_what_the_worker_takes() {
    for (method, route, body) in [
        ("POST", "/contacts", json!({"contacts": [{"firstName": "Ada", "anything": {"x": [1]}, "externalId": 12}], "extra": 1})),
        ("PUT", "/companies", json!({"companies": [{"crmId": "co_1", "name": null, "externalId": "e-9", "tags": ["a"]}]})),
        ("POST", "/companies/sync", json!({"companies": [{"properties": {"domain": "acme.com", "x": 1}}]})),
        ("POST", "/associations", json!({"associations": [{"contactCRMId": "ct_1", "companyCRMId": "co_1", "type": null}]})),
        ("POST", "/tasks", json!({"subject": "Call", "dueDate": 1_700_000_000_000u64, "tier": 2})),
        ("POST", "/tasks", json!({"tasks": [{"subject": "Call"}], "subject": "a batch all the same"})),
        ("PATCH", "/tasks/{id}", json!({"completed": null, "status": null})),
        ("PATCH", "/tasks/batch", json!({"ids": ["tk_1"], "completed": true})),
        ("POST", "/tasks/batch", json!({"ids": []})),
        ("POST", "/activities", json!({"type": "EMAIL", "metadata": {"messageId": 5}})),
        ("POST", "/users", json!({"users": [{"email": "a@b.co", "name": null}]})),
    ] {
        assert_eq!(errors(method, route, body.clone()), "", "{method} {route} {body}");
    }
}

#[test]
fn the_request_check_names_the_route_and_the_place_of_each_mismatch() {
    for (method, route, body, expected) in [
        ("POST", "/contacts", json!({"contacts": [{}, {"email": 5}]}), "$.contacts[1].email: expected [\"string\", \"null\"], got 5"),
        ("POST", "/contacts", json!({"contacts": [{"properties": {"email": 5}}]}), "$.contacts[0].properties"),
        ("POST", "/contacts", json!({"people": []}), "$: missing required \"contacts\""),
        ("PUT", "/contacts", json!({"contacts": [{"firstName": "x"}]}), "$.contacts[0]: missing required \"crmId\""),
        ("POST", "/companies", json!({"companies": [{"technologies": ["a", 1]}]}), "$.companies[0].technologies[1]"),
        ("POST", "/companies", json!({"companies": [{"description": "x".repeat(20_001)}]}), "more than maxLength 20000"),
        ("POST", "/companies", json!({"companies": vec![json!({}); 10001]}), "more than maxItems 10000"),
        ("POST", "/associations", json!({"associations": [{"contactCRMId": "ct_1", "companyCRMId": "co_1", "type": 7}]}), "$.associations[0].type"),
        ("POST", "/associations", json!({"associations": [{"companyCRMId": "co_1"}]}), "$.associations[0]"),
        ("POST", "/tasks", json!({"description": "no subject"}), "missing required \"subject\""),
        ("POST", "/tasks", json!({"tasks": [{"subject": 5}]}), "$.tasks[0].subject"),
        ("POST", "/tasks", json!({"subject": "x", "completed": null}), "$.completed"),
        ("PATCH", "/tasks/{id}", json!({"subject": null}), "$.subject"),
        ("PATCH", "/tasks/batch", json!({"completed": true}), "missing required \"ids\""),
        ("POST", "/activities", json!({"subject": "no type"}), "missing required \"type\""),
        ("POST", "/users", json!({"users": [{"name": "no email"}]}), "$.users[0]: missing required \"email\""),
        ("POST", "/users", json!({"email": "a@b.co", "": 1}), "propertyNames"),
    ] {
        let found = errors(method, route, body.clone());
        assert!(found.starts_with(&format!("{method} {route} request: ")), "{method} {route}: {found:?}");
        assert!(found.contains(expected), "{method} {route} {body}: {expected:?} not in {found:?}");
    }
}

#[test]
fn only_the_items_a_batch_accepted_are_checked() {
    let body = json!({"contacts": [{"a": 1}, {"b": 2}, {"c": 3}], "other": true});
    let created = json!({"results": [], "errors": [{"index": 1, "code": "invalid"}]});
    assert_eq!(harness::accepted_part("POST", "/contacts", &body, &created), json!({"contacts": [{"a": 1}, {"c": 3}], "other": true}));
    let updated = json!({"results": [{"success": true}, {"success": true}, {"success": false, "code": "not_found"}]});
    assert_eq!(harness::accepted_part("PUT", "/contacts", &body, &updated), json!({"contacts": [{"a": 1}, {"b": 2}], "other": true}));
    let outcomes = harness::item_outcomes("PUT", "/contacts", &body, &updated).unwrap();
    assert_eq!(outcomes, ("contacts", vec![None, None, Some("not_found".to_string())]));
    // The single form of a one-or-batch route, and routes without item outcomes, are whole.
    let task = json!({"subject": "x"});
    assert_eq!(harness::accepted_part("POST", "/tasks", &task, &json!({"id": "tk_1"})), task);
    assert!(harness::item_outcomes("PATCH", "/tasks/batch", &json!({"ids": []}), &json!([])).is_none());
}
