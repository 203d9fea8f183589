//! The request pipeline (API.md §1): request ids, unknown routes, wrong methods, the API
//! description, and the log line every request leaves.

use std::collections::HashSet;

use crate::harness::{unique, Key};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("pipeline::every_response_has_a_request_id", every_response_has_a_request_id),
    ("pipeline::a_sane_caller_request_id_is_kept", a_sane_caller_request_id_is_kept),
    ("pipeline::unknown_routes_are_404_after_the_key", unknown_routes_are_404_after_the_key),
    ("pipeline::wrong_methods_are_405_with_allow", wrong_methods_are_405_with_allow),
    ("pipeline::head_answers_every_get_route_without_a_body", head_answers_every_get_route_without_a_body),
    ("pipeline::openapi_is_public_and_3_1", openapi_is_public_and_3_1),
    ("pipeline::logs_one_json_line_per_request_without_secrets", logs_one_json_line_per_request_without_secrets),
];

fn every_response_has_a_request_id(app: &App) {
    let mut seen = HashSet::new();
    let responses = [
        app.api.get("/health"),
        app.api.send("GET", "/health", Key::None, &[], None),
        app.api.get("/no/such/route"),
        app.api.send("DELETE", "/health", Key::Valid, &[], None),
        app.api.send("GET", "/openapi.json", Key::None, &[], None),
        app.broken.get("/health"),
    ];
    for resp in &responses {
        let id = resp.header("x-request-id").unwrap_or_else(|| panic!("no X-Request-Id on a {}", resp.status));
        assert!(id.starts_with("req_"), "{id}");
        assert!(seen.insert(id.to_string()), "request id {id} repeated");
    }
}

fn a_sane_caller_request_id_is_kept(app: &App) {
    let mine = unique("trace").replace('-', "_");
    let resp = app.api.send("GET", "/health", Key::Valid, &[("X-Request-Id", &mine)], None);
    assert_eq!(resp.header("x-request-id"), Some(mine.as_str()));
    // Not a token: replaced, so nothing odd reaches the logs.
    let resp = app.api.send("GET", "/health", Key::Valid, &[("X-Request-Id", "a b\"c<script>")], None);
    assert!(resp.header("x-request-id").unwrap().starts_with("req_"));
}

fn unknown_routes_are_404_after_the_key(app: &App) {
    for path in ["/nope", "/health/extra", "/contacts/x/y/z", "/%2e%2e/etc/passwd"] {
        let resp = app.api.get(path);
        assert_eq!(resp.status, 404, "{path}: {}", resp.text());
        assert_eq!(resp.json()["code"], "not_found");
        let stranger = app.api.send("GET", path, Key::None, &[], None);
        assert_eq!(stranger.status, 401, "{path} without a key");
    }
}

fn wrong_methods_are_405_with_allow(app: &App) {
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let resp = app.api.send(method, "/health", Key::Valid, &[("Content-Type", "application/json")], Some(b"{}"));
        assert_eq!(resp.status, 405, "{method}: {}", resp.text());
        assert_eq!(resp.header("allow"), Some("GET, HEAD"));
        assert_eq!(resp.json()["code"], "method_not_allowed");
    }
}

fn head_answers_every_get_route_without_a_body(app: &App) {
    let created = app.api.json("POST", "/contacts", &serde_json::json!({"contacts": [{"externalId": unique("head"), "firstName": "Head"}]}));
    let id = created.json()["results"][0]["crmId"].as_str().unwrap().to_string();
    for path in ["/health", "/openapi.json", "/contacts", &format!("/contacts/{id}"), &format!("/contacts/{id}/history"), &format!("/contacts/{id}/activities")] {
        let get = app.api.get(path);
        let head = app.api.send("HEAD", path, Key::Valid, &[], None);
        assert_eq!((head.status, get.status), (200, 200), "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path} has a body");
        assert_eq!(head.header("content-type"), get.header("content-type"), "HEAD {path}");
        assert!(head.header("x-request-id").is_some());
    }
    // HEAD follows GET's answers: a missing record, a missing key.
    assert_eq!(app.api.send("HEAD", "/contacts/ct_missing", Key::Valid, &[], None).status, 404);
    let stranger = app.api.send("HEAD", "/health", Key::None, &[], None);
    assert_eq!((stranger.status, stranger.body.len()), (401, 0));
    // A route with no GET does not take HEAD either.
    let resp = app.api.send("HEAD", "/associations", Key::Valid, &[], None);
    assert_eq!((resp.status, resp.header("allow")), (405, Some("POST, DELETE")));
}

fn openapi_is_public_and_3_1(app: &App) {
    let resp = app.api.send("GET", "/openapi.json", Key::None, &[], None);
    assert_eq!(resp.status, 200);
    assert!(resp.header("content-type").unwrap().starts_with("application/json"));
    let doc = resp.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/health"]["get"].is_object());
    app.conforms("/openapi.json", "GET", &resp);
}

fn logs_one_json_line_per_request_without_secrets(app: &App) {
    let marker = unique("logcheck").replace('-', "_");
    let resp = app.api.send("GET", "/health", Key::Valid, &[("X-Request-Id", &marker)], None);
    assert_eq!(resp.status, 200);
    // The log is written asynchronously by wrangler; give it a moment.
    let mut line = None;
    for _ in 0..50 {
        line = app.server.log_text().lines().find(|l| l.contains(&marker)).map(str::to_string);
        if line.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let line = line.expect("no log line for the request");
    let json_start = line.find('{').expect("log line has no JSON");
    let entry: serde_json::Value = serde_json::from_str(&line[json_start..]).expect("log line is one JSON object");
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["route"], "/health");
    assert_eq!(entry["status"], 200);
    assert!(entry["durationMs"].is_number());
    assert_eq!(entry["requestId"], marker.as_str());
    let log = app.server.log_text();
    for key in &app.api.keys {
        assert!(!log.contains(key.as_str()), "an API key appears in the server log");
    }
}
