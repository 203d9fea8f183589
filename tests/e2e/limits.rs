//! Failed credentials are rate-limited per client address (the `AUTH_LIMITER` binding, which
//! `wrangler dev` simulates): a burst of wrong API keys or dashboard passwords gets `429` with
//! `Retry-After`, a correct credential never does, and other addresses are not affected.
//!
//! Each test speaks as its own client address (`CF-Connecting-IP`, which Cloudflare sets and the
//! local server keeps as sent), so the limit it reaches is its own.

use crate::harness::{basic_auth, random_hex, Key, Resp};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("limits::wrong_api_keys_from_one_address_get_429_and_the_right_key_still_works", wrong_api_keys_from_one_address_get_429_and_the_right_key_still_works),
    ("limits::wrong_dashboard_passwords_get_429_and_the_right_password_still_works", wrong_dashboard_passwords_get_429_and_the_right_password_still_works),
];

/// Enough to pass the limit of `wrangler.toml` (100 a minute) even when the burst straddles the
/// start of a new period.
const BURST: usize = 250;

fn address() -> String {
    let b = random_hex(2);
    format!("198.51.{}.{}", u8::from_str_radix(&b[..2], 16).unwrap(), u8::from_str_radix(&b[2..], 16).unwrap())
}

/// Sends `attempt` until it is answered `429` (at most `BURST` times); answers how many `401`s
/// came first and the `429`.
fn until_limited(attempt: impl Fn() -> Resp) -> (usize, Resp) {
    for refused in 0..BURST {
        let resp = attempt();
        match resp.status {
            401 => continue,
            429 => return (refused, resp),
            other => panic!("attempt {refused}: {other} {}", resp.text()),
        }
    }
    panic!("{BURST} wrong credentials in a row were never limited");
}

fn wrong_api_keys_from_one_address_get_429_and_the_right_key_still_works(app: &App) {
    let ip = address();
    let from = |key: Key| app.api.send("GET", "/health", key, &[("CF-Connecting-IP", &ip)], None);
    let (refused, limited) = until_limited(|| from(Key::Given("e2e-wrong-key-0000000000")));
    assert!(refused >= 10, "a few mistakes are only 401: {refused}");
    assert_eq!(limited.header("retry-after"), Some("60"));
    assert_eq!(limited.json()["code"], "rate_limited");
    // Limited while it keeps guessing; the right key is never limited, nor a request with none.
    assert_eq!(from(Key::Given("e2e-wrong-key-0000000000")).status, 429);
    assert_eq!(from(Key::Valid).status, 200);
    assert_eq!(from(Key::None).status, 401);
    // Another address is not affected.
    let other = address();
    let resp = app.api.send("GET", "/health", Key::Given("e2e-wrong-key-0000000000"), &[("CF-Connecting-IP", &other)], None);
    assert_eq!(resp.status, 401);
}

fn wrong_dashboard_passwords_get_429_and_the_right_password_still_works(app: &App) {
    let ip = address();
    let page = |password: &str| {
        let auth = basic_auth("someone", password);
        app.api.send("GET", "/view/", Key::None, &[("CF-Connecting-IP", &ip), ("Authorization", &auth)], None)
    };
    let (refused, limited) = until_limited(|| page("not-the-password"));
    assert!(refused >= 10, "{refused}");
    assert_eq!(limited.header("retry-after"), Some("60"));
    assert!(limited.header("content-type").unwrap().starts_with("text/html"));
    assert!(limited.text().contains("Too many"), "{}", limited.text());
    assert_eq!(page(&app.dashboard_password).status, 200);
    // The API's own key is still served for this address (one limit for both, right ones pass).
    assert_eq!(app.api.send("GET", "/health", Key::Valid, &[("CF-Connecting-IP", &ip)], None).status, 200);
}
