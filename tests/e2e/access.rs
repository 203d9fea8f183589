//! Per-person sign-in through Cloudflare Access (API.md §2), against a server with
//! `ACCESS_TEAM_DOMAIN` pointing at the run's own stand-in team (`jwt.rs`) and its `ACCESS_AUD`,
//! and with a `DASHBOARD_PASSWORD` too, to show that the password opens nothing once Access is
//! set. Every refusal shows nothing of the record it was asked for.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{basic_auth, random_hex, unique, Key, Resp};
use crate::jwt::{b64, hs256, now, public_text, signed, with_signature, RsaKey};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("access::a_valid_token_opens_the_pages_as_its_person", a_valid_token_opens_the_pages_as_its_person),
    ("access::times_hold_with_a_minute_of_leeway", times_hold_with_a_minute_of_leeway),
    ("access::invalid_tokens_are_refused_and_show_nothing", invalid_tokens_are_refused_and_show_nothing),
    ("access::a_service_token_is_forbidden", a_service_token_is_forbidden),
    ("access::the_shared_password_opens_nothing_with_access_set", the_shared_password_opens_nothing_with_access_set),
    ("access::access_never_opens_the_api_and_the_key_never_opens_a_page", access_never_opens_the_api_and_the_key_never_opens_a_page),
    ("access::forged_kids_do_not_hammer_the_team_and_a_rotated_key_is_found", forged_kids_do_not_hammer_the_team_and_a_rotated_key_is_found),
];

const HEADER: &str = "Cf-Access-Jwt-Assertion";

/// A page of the Access server with this token (and no other credential).
fn page(app: &App, path: &str, token: &str) -> Resp {
    app.access.send("GET", path, Key::None, &[(HEADER, token)], None)
}

/// A contact on the Access server, made through the API; its id and its (unique) name.
fn contact(app: &App) -> (String, String) {
    let name = unique("Confidential");
    let resp = app.access.json("POST", "/contacts", &json!({"contacts": [{"firstName": name, "lastName": "Record"}]}));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    (body["results"][0]["crmId"].as_str().expect("created").to_string(), name)
}

fn person() -> String {
    format!("ada.{}@example.com", random_hex(4))
}

/// A refused page: the status, nothing of the record, no password prompt, no token echoed.
fn assert_refused(resp: &Resp, status: u16, secret: &str, token: &str, case: &str) {
    assert_eq!(resp.status, status, "{case}: {}", resp.text());
    let html = resp.text();
    assert!(!html.contains(secret), "{case}: the refused page shows the record");
    assert!(token.is_empty() || !html.contains(token), "{case}: the token is echoed");
    assert!(
        resp.header("www-authenticate").is_none_or(|v| !v.to_ascii_lowercase().starts_with("basic")),
        "{case}: with Access set no password is asked for"
    );
}

fn a_valid_token_opens_the_pages_as_its_person(app: &App) {
    let (id, name) = contact(app);
    let email = person();
    let token = app.team.token(&app.team.current, &app.team.claims(&email));
    let resp = page(app, &format!("/view/contact/{id}"), &token);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let html = resp.text();
    assert!(html.contains(&name), "the record is shown");
    assert!(html.contains(&email), "the page names the signed-in person");
    let dashboard = page(app, "/view/", &token);
    assert_eq!(dashboard.status, 200, "{}", dashboard.text());
    assert!(dashboard.text().contains(&email));
    // `aud` as a single string, as some issuers write it.
    let mut claims = app.team.claims(&email);
    claims["aud"] = json!(app.team.aud);
    assert_eq!(page(app, &format!("/view/contact/{id}"), &app.team.token(&app.team.current, &claims)).status, 200);
}

fn times_hold_with_a_minute_of_leeway(app: &App) {
    let (id, name) = contact(app);
    let path = format!("/view/contact/{id}");
    let email = person();
    let at = |exp: i64, nbf: i64| {
        let mut claims = app.team.claims(&email);
        claims["exp"] = json!(exp);
        claims["nbf"] = json!(nbf);
        app.team.token(&app.team.current, &claims)
    };
    let now = now();
    // Half a minute off either way is within the leeway; five minutes is not.
    assert_eq!(page(app, &path, &at(now - 30, now - 600)).status, 200, "expired 30 s ago");
    assert_eq!(page(app, &path, &at(now + 600, now + 30)).status, 200, "valid in 30 s");
    let expired = at(now - 300, now - 900);
    assert_refused(&page(app, &path, &expired), 401, &name, &expired, "expired");
    let early = at(now + 900, now + 300);
    assert_refused(&page(app, &path, &early), 401, &name, &early, "not yet valid");
    let mut no_nbf = app.team.claims(&email);
    no_nbf.as_object_mut().unwrap().remove("nbf");
    assert_eq!(page(app, &path, &app.team.token(&app.team.current, &no_nbf)).status, 200, "nbf is optional");
    let mut no_exp = app.team.claims(&email);
    no_exp.as_object_mut().unwrap().remove("exp");
    let no_exp = app.team.token(&app.team.current, &no_exp);
    assert_refused(&page(app, &path, &no_exp), 401, &name, &no_exp, "no exp");
}

fn invalid_tokens_are_refused_and_show_nothing(app: &App) {
    let (id, name) = contact(app);
    let team = &app.team;
    let email = person();
    let good = team.claims(&email);
    let with = |field: &str, value: Value| {
        let mut claims = good.clone();
        claims[field] = value;
        claims
    };
    let current = &team.current;
    let header = |alg: &str, kid: &str| json!({"alg": alg, "kid": kid, "typ": "JWT"});
    let valid = team.token(current, &good);
    let (signed_part, _) = valid.rsplit_once('.').unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("no token", String::new()),
        ("wrong audience", team.token(current, &with("aud", json!(["another-application"])))),
        ("no audience", team.token(current, &with("aud", json!([])))),
        ("wrong issuer", team.token(current, &with("iss", json!("https://another-team.cloudflareaccess.com")))),
        ("issuer with a trailing slash", team.token(current, &with("iss", json!(format!("{}/", team.origin))))),
        ("expired", team.token(current, &with("exp", json!(now() - 3600)))),
        ("not yet valid", team.token(current, &with("nbf", json!(now() + 3600)))),
        ("unknown kid", signed(current, &header("RS256", &format!("unknown-{}", random_hex(4))), &good)),
        ("wrong key", signed(&team.stray, &header("RS256", &current.kid), &good)),
        ("a key the team never published", team.token(&team.stray, &good)),
        ("no kid", signed(current, &json!({"alg": "RS256", "typ": "JWT"}), &good)),
        ("alg none", with_signature(&header("none", &current.kid), &good, b"")),
        ("alg none with a signature", signed(current, &header("none", &current.kid), &good)),
        ("HS256 with the public key as secret", hs256(&current.kid, &good, &public_text(current))),
        ("RS512 label", signed(current, &header("RS512", &current.kid), &good)),
        ("claims changed after signing", swap_claims(&valid, &with("email", json!("boss@example.com")))),
        ("signature cut short", valid[..valid.len() - 8].to_string()),
        ("not base64", format!("{signed_part}.!!!")),
        ("not a token", "Bearer something".to_string()),
        ("claims not JSON, signed", signed_raw(current, &header("RS256", &current.kid), b"{not json")),
    ];
    for path in [format!("/view/contact/{id}"), "/view/".to_string()] {
        for (case, token) in &cases {
            let headers: Vec<(&str, &str)> = if token.is_empty() { vec![] } else { vec![(HEADER, token.as_str())] };
            let resp = app.access.send("GET", &path, Key::None, &headers, None);
            assert_refused(&resp, 401, &name, token, &format!("{path}: {case}"));
        }
    }
    // The token belongs in its header: the same valid token elsewhere opens nothing.
    let bearer = format!("Bearer {valid}");
    let resp = app.access.send("GET", &format!("/view/contact/{id}"), Key::None, &[("Authorization", &bearer)], None);
    assert_refused(&resp, 401, &name, &valid, "the token as a bearer token");
    let cookie = format!("CF_Authorization={valid}");
    let resp = app.access.send("GET", &format!("/view/contact/{id}"), Key::None, &[("Cookie", &cookie)], None);
    assert_refused(&resp, 401, &name, &valid, "the token only in the cookie");
    // And the valid one still opens the page (the refusals above changed nothing).
    assert_eq!(page(app, &format!("/view/contact/{id}"), &valid).status, 200);
}

/// `token` with other claims and its original signature.
fn swap_claims(token: &str, claims: &Value) -> String {
    let mut parts = token.split('.');
    let (header, _, signature) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
    format!("{header}.{}.{signature}", b64(claims.to_string().as_bytes()))
}

/// A correctly signed token whose claims part is `payload`, whatever it is.
fn signed_raw(key: &RsaKey, header: &Value, payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(payload));
    format!("{input}.{}", b64(&key.sign(input.as_bytes())))
}

fn a_service_token_is_forbidden(app: &App) {
    let (id, name) = contact(app);
    let mut claims = app.team.claims("unused@example.com");
    let claims_map = claims.as_object_mut().unwrap();
    claims_map.remove("email");
    claims_map.insert("common_name".into(), json!(format!("{}.access", random_hex(16))));
    claims_map.insert("sub".into(), json!(""));
    let token = app.team.token(&app.team.current, &claims);
    for path in [format!("/view/contact/{id}"), "/view/".to_string()] {
        assert_refused(&page(app, &path, &token), 403, &name, &token, &format!("{path}: a service token"));
    }
    // A service token that fails another check is refused as such (401), not as a service token.
    claims["aud"] = json!(["another-application"]);
    let token = app.team.token(&app.team.current, &claims);
    assert_refused(&page(app, &format!("/view/contact/{id}"), &token), 401, &name, &token, "a service token for another application");
}

fn the_shared_password_opens_nothing_with_access_set(app: &App) {
    let (id, name) = contact(app);
    let basic = basic_auth("ada@example.com", &app.dashboard_password);
    for path in [format!("/view/contact/{id}"), "/view/".to_string()] {
        let resp = app.access.send("GET", &path, Key::None, &[("Authorization", &basic)], None);
        assert_refused(&resp, 401, &name, "", &format!("{path}: the shared password"));
    }
    // With a valid token beside it the token decides, and names its own person.
    let email = person();
    let token = app.team.token(&app.team.current, &app.team.claims(&email));
    let resp = app.access.send("GET", &format!("/view/contact/{id}"), Key::None, &[("Authorization", &basic), (HEADER, &token)], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp.text().contains(&email));
}

fn access_never_opens_the_api_and_the_key_never_opens_a_page(app: &App) {
    let (id, name) = contact(app);
    let token = app.team.token(&app.team.current, &app.team.claims(&person()));
    for path in ["/health".to_string(), format!("/contacts/{id}"), "/users".to_string()] {
        let resp = app.access.send("GET", &path, Key::None, &[(HEADER, &token)], None);
        assert_eq!(resp.status, 401, "{path} with a valid Access token and no key: {}", resp.text());
        assert_eq!(resp.json()["code"], "unauthorized");
        assert!(!resp.text().contains(&name));
    }
    // The key works on the API of this server...
    assert_eq!(app.access.get("/health").status, 200);
    // ...and opens no page, alone or as a token.
    let key = app.access.keys[0].clone();
    let resp = app.access.send("GET", &format!("/view/contact/{id}"), Key::Valid, &[], None);
    assert_refused(&resp, 401, &name, "", "the API key on a page");
    let resp = app.access.send("GET", &format!("/view/contact/{id}"), Key::None, &[(HEADER, &key)], None);
    assert_refused(&resp, 401, &name, &key, "the API key as the token");
}

/// Tokens naming keys the team never published refuse without a fetch each (at most one a
/// minute); a key the team rotates to is found once a minute has passed since the last fetch.
fn forged_kids_do_not_hammer_the_team_and_a_rotated_key_is_found(app: &App) {
    let (id, name) = contact(app);
    let path = format!("/view/contact/{id}");
    let team = &app.team;
    let email = person();
    // Make sure the keys were fetched once, so the burst below meets a warm cache.
    assert_eq!(page(app, &path, &team.token(&team.current, &team.claims(&email))).status, 200);
    let before = team.fetches();
    for _ in 0..10 {
        let forged = signed(&team.stray, &json!({"alg": "RS256", "kid": format!("forged-{}", random_hex(4))}), &team.claims(&email));
        assert_refused(&page(app, &path, &forged), 401, &name, &forged, "a forged kid");
    }
    // One fetch at most may fall in the burst (a minute may just have passed); other tests
    // running beside this one may add one more.
    let during = team.fetches() - before;
    assert!(during <= 2, "ten unknown kids fetched the keys {during} times");

    // The rotation: the team publishes its next key and signs with it. Within about a minute
    // (the refetch interval) a token of the new key opens the page.
    team.publish(&team.next);
    let started = Instant::now();
    let fetched_before = team.fetches();
    loop {
        let token = team.token(&team.next, &team.claims(&email));
        let resp = page(app, &path, &token);
        if resp.status == 200 {
            assert!(resp.text().contains(&email));
            break;
        }
        assert_refused(&resp, 401, &name, &token, "a new key before the refetch");
        assert!(started.elapsed() < Duration::from_secs(90), "a rotated key was not picked up in 90 s");
        std::thread::sleep(Duration::from_secs(5));
    }
    let fetched = team.fetches() - fetched_before;
    assert!(fetched <= 3, "polling for the new key every 5 s fetched the keys {fetched} times");
    eprintln!("[e2e] access: the rotated key was found after {:.0} s and {fetched} fetches", started.elapsed().as_secs_f64());
    // The old key stays valid beside the new one.
    assert_eq!(page(app, &path, &team.token(&team.current, &team.claims(&email))).status, 200);
}
