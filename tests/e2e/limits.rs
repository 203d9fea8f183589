//! Failed credentials are rate-limited per client (the `AUTH_LIMITER` binding, which `wrangler
//! dev` simulates): a burst of wrong API keys or dashboard passwords gets `429` with
//! `Retry-After`, and from then until the period ends every credential that client presents,
//! the right one too (else the first `200` would tell a guesser the password); other clients are
//! not affected. An IPv6 client is one /64.
//!
//! Each test speaks as its own client address (`CF-Connecting-IP`, which Cloudflare sets and the
//! local server keeps as sent), so the limit it reaches is its own.

use crate::harness::{basic_auth, random_hex, Key, Resp};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("limits::past_the_limit_of_wrong_api_keys_even_the_right_key_gets_429", past_the_limit_of_wrong_api_keys_even_the_right_key_gets_429),
    ("limits::past_the_limit_of_wrong_passwords_even_the_right_password_gets_429", past_the_limit_of_wrong_passwords_even_the_right_password_gets_429),
    ("limits::an_ipv6_client_is_limited_across_its_64", an_ipv6_client_is_limited_across_its_64),
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

fn past_the_limit_of_wrong_api_keys_even_the_right_key_gets_429(app: &App) {
    let ip = address();
    let from = |key: Key| app.api.send("GET", "/health", key, &[("CF-Connecting-IP", &ip)], None);
    let (refused, limited) = until_limited(|| from(Key::Given("e2e-wrong-key-0000000000")));
    assert!(refused >= 10, "a few mistakes are only 401: {refused}");
    assert_eq!(limited.header("retry-after"), Some("60"));
    assert_eq!(limited.json()["code"], "rate_limited");
    // Locked out: a wrong key and the right one alike, so the answer tells a guesser nothing.
    assert_eq!(from(Key::Given("e2e-wrong-key-0000000001")).status, 429);
    let right = from(Key::Valid);
    assert_eq!((right.status, right.header("retry-after")), (429, Some("60")), "{}", right.text());
    // A request with no key guesses nothing: still 401.
    assert_eq!(from(Key::None).status, 401);
    // Another address is not affected.
    let other = address();
    let send = |key: Key| app.api.send("GET", "/health", key, &[("CF-Connecting-IP", &other)], None).status;
    assert_eq!((send(Key::Given("e2e-wrong-key-0000000000")), send(Key::Valid)), (401, 200));
}

fn past_the_limit_of_wrong_passwords_even_the_right_password_gets_429(app: &App) {
    let ip = address();
    let page = |ip: &str, password: &str| {
        let auth = basic_auth("someone", password);
        app.api.send("GET", "/view/", Key::None, &[("CF-Connecting-IP", ip), ("Authorization", &auth)], None)
    };
    let (refused, limited) = until_limited(|| page(&ip, "not-the-password"));
    assert!(refused >= 10, "{refused}");
    assert_eq!(limited.header("retry-after"), Some("60"));
    assert!(limited.header("content-type").unwrap().starts_with("text/html"));
    assert!(limited.text().contains("Too many"), "{}", limited.text());
    let right = page(&ip, &app.dashboard_password);
    assert_eq!(right.status, 429, "the right password from a client over its limit would confirm a guess");
    assert!(right.text().contains("Too many"), "{}", right.text());
    // One limit for both credentials: the API key from this address waits too.
    assert_eq!(app.api.send("GET", "/health", Key::Valid, &[("CF-Connecting-IP", &ip)], None).status, 429);
    // Another address signs in.
    assert_eq!(page(&address(), &app.dashboard_password).status, 200);
}

/// An IPv6 client picks its source address in its /64 at will: its wrong guesses from many
/// addresses of the /64 reach one limit; another /64 is another client.
fn an_ipv6_client_is_limited_across_its_64(app: &App) {
    let prefix = format!("2001:db8:{}:{}", random_hex(2), random_hex(2));
    let n = std::cell::Cell::new(0u32);
    let from = |ip: &str, key: Key| app.api.send("GET", "/health", key, &[("CF-Connecting-IP", ip)], None);
    until_limited(|| {
        n.set(n.get() + 1);
        from(&format!("{prefix}::{:x}", n.get()), Key::Given("e2e-wrong-key-0000000000"))
    });
    assert!(n.get() > 10, "{} guesses", n.get());
    assert_eq!(from(&format!("{prefix}:ffff:ffff:ffff:fffe"), Key::Valid).status, 429, "the same /64");
    let other = format!("2001:db8:{}:{}::1", random_hex(2), random_hex(2));
    assert_eq!(from(&other, Key::Valid).status, 200, "another /64");
}
