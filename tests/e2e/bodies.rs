//! Request bodies (API.md §1): bad JSON and shapes are `400`, oversize bodies and batches `413`,
//! other content types `415`, and never a `500`.

use serde_json::json;

use crate::harness::Key;
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("bodies::bad_json_is_400_with_a_position", bad_json_is_400_with_a_position),
    ("bodies::wrong_shapes_are_400_naming_the_key", wrong_shapes_are_400_naming_the_key),
    ("bodies::non_json_content_types_are_415", non_json_content_types_are_415),
    ("bodies::oversize_bodies_are_413", oversize_bodies_are_413),
    ("bodies::oversize_batches_are_413", oversize_batches_are_413),
    ("bodies::body_errors_need_the_key_first", body_errors_need_the_key_first),
    ("bodies::every_route_answers_its_documented_415_and_422", every_route_answers_its_documented_415_and_422),
];

fn post(app: &App, path: &str, content_type: &str, body: &[u8]) -> crate::harness::Resp {
    app.api.send("POST", path, Key::Valid, &[("Content-Type", content_type)], Some(body))
}

fn bad_json_is_400_with_a_position(app: &App) {
    let cases: [(&str, &[u8]); 5] = [
        ("/contacts", b"{\"contacts\": ["),
        ("/companies", b"not json"),
        ("/companies", b""),
        ("/contacts/batch", b"{\"ids\": [1,]}"),
        ("/companies", &[0xff, 0xfe, 0x00]),
    ];
    for (path, body) in cases {
        let resp = post(app, path, "application/json", body);
        assert_eq!(resp.status, 400, "{path} {:?}: {}", String::from_utf8_lossy(body), resp.text());
        let err = resp.json();
        assert_eq!(err["code"], "bad_request");
        assert!(err["error"].as_str().unwrap().contains("JSON") || err["error"].as_str().unwrap().contains("empty"), "{err}");
        app.conforms("/contacts", "POST", &resp);
    }
}

fn wrong_shapes_are_400_naming_the_key(app: &App) {
    for (path, key, body) in [
        ("/companies", "companies", json!({})),
        ("/companies", "companies", json!({"companies": null})),
        ("/companies", "companies", json!({"companies": {"name": "x"}})),
        ("/companies", "companies", json!([{"name": "x"}])),
        ("/contacts", "contacts", json!({"companies": []})),
        ("/contacts", "contacts", json!("contacts")),
        ("/contacts/batch", "ids", json!({"ids": "ct_1"})),
    ] {
        let resp = app.api.json("POST", path, &body);
        assert_eq!(resp.status, 400, "{path} {body}: {}", resp.text());
        let err = resp.json();
        assert!(err["error"].as_str().unwrap().contains(key), "{err}");
        assert_eq!(err["code"], "invalid_request");
        app.conforms("/companies", "POST", &resp);
    }
    let resp = app.api.json("PUT", "/contacts", &json!({"contacts": 5}));
    assert_eq!(resp.status, 400);
}

fn non_json_content_types_are_415(app: &App) {
    let body = br#"{"contacts": []}"#;
    for ct in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"] {
        let resp = post(app, "/contacts", ct, body);
        assert_eq!(resp.status, 415, "{ct}: {}", resp.text());
        assert_eq!(resp.json()["code"], "unsupported_media_type");
        app.conforms("/contacts", "POST", &resp);
    }
    let resp = app.api.send("POST", "/contacts", Key::Valid, &[], Some(body));
    assert_eq!(resp.status, 415, "no content type: {}", resp.text());
    let resp = post(app, "/contacts", "application/json; charset=utf-8", body);
    assert_eq!(resp.status, 200, "{}", resp.text());
}

fn oversize_bodies_are_413(app: &App) {
    // One byte over the default MAX_BODY_BYTES (10 MiB), as one valid JSON document.
    let limit = 10 * 1024 * 1024;
    let mut body = br#"{"contacts": [], "pad": ""#.to_vec();
    body.resize(limit - 1, b'x');
    body.extend_from_slice(b"\"}");
    assert_eq!(body.len(), limit + 1);
    let resp = post(app, "/contacts", "application/json", &body);
    assert_eq!(resp.status, 413, "{}", resp.text());
    let err = resp.json();
    assert_eq!(err["code"], "payload_too_large");
    assert!(err["error"].as_str().unwrap().contains("MAX_BODY_BYTES"), "{err}");
    app.conforms("/contacts", "POST", &resp);
}

fn oversize_batches_are_413(app: &App) {
    // One more than the default MAX_BATCH (10000).
    let records: Vec<_> = (0..10_001).map(|i| json!({"firstName": format!("n{i}")})).collect();
    let resp = app.api.json("POST", "/contacts", &json!({ "contacts": records }));
    assert_eq!(resp.status, 413, "{}", resp.text());
    assert!(resp.json()["error"].as_str().unwrap().contains("MAX_BATCH"));
    let ids: Vec<_> = (0..10_001).map(|i| format!("co_{i}")).collect();
    let resp = app.api.json("POST", "/companies/batch", &json!({ "ids": ids }));
    assert_eq!(resp.status, 413, "{}", resp.text());
}

fn body_errors_need_the_key_first(app: &App) {
    let resp = app.api.send("POST", "/contacts", Key::None, &[("Content-Type", "text/plain")], Some(b"nope"));
    assert_eq!(resp.status, 401);
}

/// Every route that takes a body answers `415` to one sent without a JSON `Content-Type`, and
/// every `POST` and `PATCH` answers `422` to an `Idempotency-Key` over 255 characters, each as the
/// OpenAPI document says, with `error`, `message` and `code`. Nothing is written.
fn every_route_answers_its_documented_415_and_422(app: &App) {
    use edge_crm::domain::routes::{Access, ROUTES};
    let long_key = "k".repeat(256);
    for route in ROUTES.iter().filter(|r| r.access == Access::ApiKey) {
        let path = route.pattern.replace("{id}", "xx_missing");
        if route.takes_body {
            let resp = app.api.send(route.method, &path, Key::Valid, &[], Some(b"{}"));
            assert_eq!(resp.status, 415, "{} {path}: {}", route.method, resp.text());
            app.conforms(route.pattern, route.method, &resp);
            let body = resp.json();
            assert!(body["message"].as_str().is_some_and(|m| m.ends_with('.')), "{} {path}: {body}", route.method);
        }
        if matches!(route.method, "POST" | "PATCH") {
            let headers = [("Content-Type", "application/json"), ("Idempotency-Key", long_key.as_str())];
            let resp = app.api.send(route.method, &path, Key::Valid, &headers, Some(b"{}"));
            assert_eq!(resp.status, 422, "{} {path}: {}", route.method, resp.text());
            app.conforms(route.pattern, route.method, &resp);
            assert!(resp.json()["message"].as_str().unwrap().contains("Idempotency-Key"), "{}", resp.text());
        }
    }
}
