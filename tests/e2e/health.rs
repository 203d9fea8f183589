//! `GET /health` and API-key authentication (API.md §2, §3).

use crate::harness::Key;
use crate::openapi::is_rfc3339_millis;
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("health::reports_ok_with_a_real_database_check", reports_ok_with_a_real_database_check),
    ("health::needs_a_valid_key", needs_a_valid_key),
    ("health::both_rotated_keys_work", both_rotated_keys_work),
    ("health::key_header_name_is_case_insensitive", key_header_name_is_case_insensitive),
    ("health::degraded_names_the_bad_variable_and_the_database", degraded_names_the_bad_variable_and_the_database),
    ("health::broken_configuration_still_refuses_wrong_keys", broken_configuration_still_refuses_wrong_keys),
];

fn reports_ok_with_a_real_database_check(app: &App) {
    let resp = app.api.get("/health");
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(is_rfc3339_millis(body["timestamp"].as_str().unwrap()), "{body}");
    app.conforms("/health", "GET", &resp);
}

fn needs_a_valid_key(app: &App) {
    let wrong = format!("{}x", app.api.keys[0]);
    for key in [Key::None, Key::Given(""), Key::Given("nope"), Key::Given(&wrong)] {
        let resp = app.api.send("GET", "/health", key, &[], None);
        assert_eq!(resp.status, 401, "{}", resp.text());
        let body = resp.json();
        assert_eq!(body["code"], "unauthorized");
        assert!(body["error"].is_string());
        assert!(!resp.text().contains(&app.api.keys[0]), "the key is echoed");
        app.conforms("/health", "GET", &resp);
    }
}

fn both_rotated_keys_work(app: &App) {
    assert_eq!(app.api.keys.len(), 2);
    for key in &app.api.keys {
        let resp = app.api.send("GET", "/health", Key::Given(key), &[], None);
        assert_eq!(resp.status, 200, "{}", resp.text());
    }
}

fn key_header_name_is_case_insensitive(app: &App) {
    for name in ["x-api-key", "X-API-KEY", "X-Api-Key"] {
        let resp = app.api.send("GET", "/health", Key::None, &[(name, &app.api.keys[1])], None);
        assert_eq!(resp.status, 200, "{name}: {}", resp.text());
    }
}

fn degraded_names_the_bad_variable_and_the_database(app: &App) {
    let resp = app.broken.get("/health");
    assert_eq!(resp.status, 503, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"], "error");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("MAX_BATCH"), "{error}");
    assert!(error.contains("schema"), "{error}");
    assert!(!error.contains("SQLITE"), "internals leaked: {error}");
    app.conforms("/health", "GET", &resp);
}

fn broken_configuration_still_refuses_wrong_keys(app: &App) {
    let resp = app.broken.send("GET", "/health", Key::Given("wrong-key-wrong-key"), &[], None);
    assert_eq!(resp.status, 401, "{}", resp.text());
    assert!(!resp.text().contains("MAX_BATCH"), "configuration described to a stranger");
}
