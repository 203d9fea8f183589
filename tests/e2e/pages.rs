//! Pages for people (API.md §9): Basic auth and its separation from the API key, the pages'
//! security headers, escaping of every stored value, record pages, the dashboard's search and
//! pagination, and a real browser (headless Chromium) rendering them, with screenshots in
//! `target/screenshots/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{basic_auth, random_hex, repo_root, unique, Client, Key, Resp};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("pages::no_password_means_every_page_is_404", no_password_means_every_page_is_404),
    ("pages::pages_need_the_dashboard_password", pages_need_the_dashboard_password),
    ("pages::the_page_password_never_opens_the_api", the_page_password_never_opens_the_api),
    ("pages::unknown_ids_get_a_friendly_404", unknown_ids_get_a_friendly_404),
    ("pages::a_broken_server_asks_for_the_password_first_and_answers_a_page", a_broken_server_asks_for_the_password_first_and_answers_a_page),
    ("pages::every_page_carries_the_security_headers", every_page_carries_the_security_headers),
    ("pages::every_stored_value_is_escaped", every_stored_value_is_escaped),
    ("pages::record_page_shows_fields_links_tasks_and_timeline", record_page_shows_fields_links_tasks_and_timeline),
    ("pages::dashboard_searches_and_pages", dashboard_searches_and_pages),
    ("pages::dashboard_shows_the_enginy_settings_without_a_key", dashboard_shows_the_enginy_settings_without_a_key),
    ("pages::chromium_renders_the_pages", chromium_renders_the_pages),
];

/// Both payloads of the escaping test, in one value: a script element, and an attribute breakout.
const XSS: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>";

fn basic(password: &str) -> String {
    basic_auth("salesperson", password)
}

/// A page fetched with the dashboard password.
fn page(app: &App, path: &str) -> Resp {
    app.api.send("GET", path, Key::None, &[("Authorization", &basic(&app.dashboard_password))], None)
}

fn ok_page(app: &App, path: &str) -> String {
    let resp = page(app, path);
    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    assert_eq!(resp.header("content-type"), Some("text/html; charset=utf-8"));
    resp.text()
}

fn ok(resp: Resp) -> Value {
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

fn create(c: &Client, kind: &str, record: Value) -> String {
    let body = ok(c.json("POST", &format!("/{kind}"), &json!({ kind: [record] })));
    assert!(body["errors"].as_array().unwrap().is_empty(), "{body}");
    body["results"][0]["crmId"].as_str().unwrap().to_string()
}

fn no_password_means_every_page_is_404(app: &App) {
    // The policy server has no DASHBOARD_PASSWORD.
    let password = &app.dashboard_password;
    for path in ["/view/", "/view/contact/ct_x", "/view/company/co_x", "/view/?q=a"] {
        for (key, headers) in [
            (Key::None, vec![]),
            (Key::Valid, vec![]),
            (Key::None, vec![("Authorization", basic(password))]),
            (Key::None, vec![("Authorization", basic(&app.policy.keys[0]))]),
        ] {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let resp = app.policy.send("GET", path, key, &headers, None);
            assert_eq!(resp.status, 404, "{path}: {}", resp.text());
            assert!(resp.header("www-authenticate").is_none(), "no sign-in is offered for pages that do not exist");
        }
    }
}

fn pages_need_the_dashboard_password(app: &App) {
    let ct = create(&app.api, "contacts", json!({"firstName": "Guarded"}));
    for path in ["/view/".to_string(), format!("/view/contact/{ct}"), "/view/company/co_x".to_string()] {
        let wrong = basic(&format!("{}x", app.dashboard_password));
        let key_as_password = basic(&app.api.keys[0]);
        let bearer = format!("Bearer {}", app.dashboard_password);
        for (key, auth) in [
            (Key::None, None),
            (Key::None, Some(wrong.as_str())),
            (Key::Valid, None),
            (Key::None, Some(key_as_password.as_str())),
            (Key::None, Some(bearer.as_str())),
        ] {
            let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", *a)).collect();
            let resp = app.api.send("GET", &path, key, &headers, None);
            assert_eq!(resp.status, 401, "{path} {auth:?}: {}", resp.text());
            assert_eq!(resp.header("www-authenticate"), Some("Basic realm=\"edge-crm\", charset=\"UTF-8\""));
            assert!(!resp.text().contains("Guarded"));
        }
    }
    assert!(ok_page(app, &format!("/view/contact/{ct}")).contains("Guarded"));
}

fn the_page_password_never_opens_the_api(app: &App) {
    let password = app.dashboard_password.as_str();
    let auth = basic(password);
    for (method, path) in [("GET", "/health"), ("GET", "/contacts/ct_x"), ("GET", "/users"), ("GET", "/nope")] {
        let as_key = app.api.send(method, path, Key::Given(password), &[], None);
        assert_eq!(as_key.status, 401, "{path} with the password as the key");
        let as_basic = app.api.send(method, path, Key::None, &[("Authorization", &auth)], None);
        assert_eq!(as_basic.status, 401, "{path} with Basic auth");
        assert_eq!(as_basic.json()["code"], "unauthorized");
    }
}

fn unknown_ids_get_a_friendly_404(app: &App) {
    let co = create(&app.api, "companies", json!({"name": "Soon Gone", "domain": format!("{}.com", unique("gone"))}));
    assert_eq!(app.api.send("DELETE", &format!("/companies/{co}"), Key::Valid, &[], None).status, 200);
    for (path, title) in [
        ("/view/contact/ct_nope".to_string(), "Contact not found"),
        (format!("/view/company/{co}"), "Company not found"),
        (format!("/view/contact/{co}"), "Contact not found"),
        ("/view/company/%3Cscript%3E".to_string(), "Company not found"),
    ] {
        let resp = page(app, &path);
        assert_eq!(resp.status, 404, "{path}");
        assert_eq!(resp.header("content-type"), Some("text/html; charset=utf-8"));
        let html = resp.text();
        assert!(html.contains(&format!("<h1>{title}</h1>")), "{html}");
        assert!(html.contains("<a href=\"/view/\">Go to the dashboard</a>"));
        assert!(!html.contains("<script"), "the id is escaped in the message");
    }
    // Characters a path carries as they are, escaped on the page.
    let html = page(app, "/view/company/a'b&c").text();
    assert!(html.contains("a&#39;b&amp;c"), "{html}");
    assert!(!html.contains("a'b&c"), "{html}");
}

/// A server whose configuration is broken still asks for the password before saying anything,
/// then answers the signed-in user with a page (not the API's JSON) that carries every security
/// header and names no variable.
fn a_broken_server_asks_for_the_password_first_and_answers_a_page(app: &App) {
    for path in ["/view/", "/view/contact/ct_x"] {
        let resp = app.broken.send("GET", path, Key::None, &[], None);
        assert_eq!(resp.status, 401, "{path}: {}", resp.text());
        assert!(!resp.text().contains("navailable"), "nothing about the server's state before sign-in");
        check_security_headers(&resp, path);
        let resp = app.broken.send("GET", path, Key::None, &[("Authorization", &basic(&app.dashboard_password))], None);
        assert_eq!(resp.status, 503, "{path}: {}", resp.text());
        assert_eq!(resp.header("content-type"), Some("text/html; charset=utf-8"));
        check_security_headers(&resp, path);
        let html = resp.text();
        assert!(html.contains("<h1>Unavailable</h1>"), "{html}");
        assert!(!html.contains("MAX_BATCH"), "the bad variable is for /health, behind the key: {html}");
    }
}

fn check_security_headers(resp: &Resp, what: &str) {
    let csp = resp.header("content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(csp.starts_with("default-src 'none';"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("base-uri 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe") && !csp.contains("script-src"), "{what}: {csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a style nonce");
    assert!(nonce.len() >= 32, "{what}: a 128-bit nonce");
    assert!(resp.text().contains(&format!("<style nonce=\"{nonce}\">")), "{what}: the page's style carries the nonce");
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"), "{what}");
    assert_eq!(resp.header("referrer-policy"), Some("no-referrer"), "{what}");
    assert_eq!(resp.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(resp.header("cache-control"), Some("no-store"), "{what}");
}

fn every_page_carries_the_security_headers(app: &App) {
    let ct = create(&app.api, "contacts", json!({"firstName": "Headers"}));
    let co = create(&app.api, "companies", json!({"name": "Headers Inc"}));
    let pages = [
        ("dashboard", page(app, "/view/")),
        ("search", page(app, "/view/search?q=headers")),
        ("list", page(app, "/view/contacts?q=headers")),
        ("contact", page(app, &format!("/view/contact/{ct}"))),
        ("company", page(app, &format!("/view/company/{co}"))),
        ("not found", page(app, "/view/contact/ct_nope")),
        ("sign-in", app.api.send("GET", "/view/", Key::None, &[], None)),
        ("no pages", app.policy.send("GET", "/view/", Key::None, &[], None)),
    ];
    let mut nonces = Vec::new();
    for (what, resp) in &pages {
        check_security_headers(resp, what);
        nonces.push(resp.header("content-security-policy").unwrap().to_string());
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), pages.len(), "a fresh nonce per response");
}

/// Stores the payload in every field that holds text, core and custom, of a company and a
/// contact, and in the owner, task and activities around them. Answers (contact, company).
fn store_payloads(app: &App) -> (String, String) {
    let owner = ok(app.api.json("POST", "/users", &json!({"name": XSS, "email": format!("{}@pages.test", unique("owner"))})));
    let owner = owner["id"].as_str().unwrap();
    let mut company = json!({
        "externalId": format!("{}{XSS}", unique("xss")),
        "employeeCount": 5, "foundedYear": 1999, "revenue": XSS,
        "technologies": [XSS, "rust"], "tags": [XSS], "customFields": { XSS: XSS },
        "ownerId": owner, XSS: XSS, "genesy_note": XSS,
    });
    for field in ["name", "domain", "website", "industry", "employeeRange", "description", "location", "city", "state",
        "country", "phone", "linkedinUrl", "twitterUrl", "facebookUrl", "vatId"] {
        company[field] = json!(XSS);
    }
    let co = create(&app.api, "companies", company);
    let mut contact = json!({"externalId": format!("{}{XSS}", unique("xss")), "ownerId": owner, XSS: XSS, "genesy_last_reply": XSS});
    for field in ["firstName", "lastName", "email", "phone", "company", "companyDomain", "title", "linkedinUrl"] {
        contact[field] = json!(XSS);
    }
    let ct = create(&app.api, "contacts", contact);
    let links = json!({"associations": [{"contactCRMId": ct, "companyCRMId": co, "type": "primary"}]});
    assert_eq!(ok(app.api.json("POST", "/associations", &links))["success"], true);
    for (subject, completed) in [(XSS, false), (XSS, true)] {
        let task = json!({"subject": subject, "description": XSS, "type": XSS, "priority": XSS, "status": XSS,
            "contactId": ct, "companyId": co, "completed": completed});
        ok(app.api.json("POST", "/tasks", &task));
    }
    for direction in ["INBOUND", "OUTBOUND"] {
        let activity = json!({"type": XSS, "subject": XSS, "body": XSS, "direction": direction, "contactId": ct, "companyId": co,
            "metadata": {"messageId": unique("m")}});
        ok(app.api.json("POST", "/activities", &activity));
    }
    // A change, so the history holds the payload as an old value too.
    let update = json!({"contacts": [{"crmId": ct, "title": format!("{XSS}!")}]});
    assert_eq!(ok(app.api.json("PUT", "/contacts", &update))["results"][0]["success"], true);
    (ct, co)
}

fn assert_inert(html: &str, what: &str) {
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "{what}: a script element");
    assert!(!lower.contains("<img"), "{what}: an img element");
    assert!(!lower.contains("alert(1)>"), "{what}: a tag closed by data");
    assert!(!lower.contains("href=\"javascript") && !lower.contains("href=\"&lt;"), "{what}: a link to data");
}

fn every_stored_value_is_escaped(app: &App) {
    let (ct, co) = store_payloads(app);
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;";
    let contact = ok_page(app, &format!("/view/contact/{ct}"));
    assert_inert(&contact, "contact page");
    // 8 core fields, externalId, 2 custom names and values, owner, company link, 2 tasks with 5 parts,
    // 2 activities with 2 parts (the type upper-cased), and the history.
    assert!(contact.matches(escaped).count() >= 20, "{contact}");
    let company = ok_page(app, &format!("/view/company/{co}"));
    assert_inert(&company, "company page");
    assert!(company.matches(escaped).count() >= 25, "{company}");
    assert_inert(&ok_page(app, "/view/"), "dashboard");
    let search = ok_page(app, &format!("/view/search?q={}", url_encode(XSS)));
    assert_inert(&search, "search results");
    assert!(search.contains(&format!("value=\"{escaped}\"")), "the search box keeps the query, escaped");
    let list = ok_page(app, &format!("/view/contacts?q={}&limit=500", url_encode(XSS)));
    assert_inert(&list, "contacts list");
    assert!(list.contains(&format!("<a href=\"/view/contact/{ct}\">{escaped} {escaped}</a>")), "found by its name");
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn record_page_shows_fields_links_tasks_and_timeline(app: &App) {
    let tag = unique("acme").replace('-', "");
    let co = create(&app.api, "companies", json!({"name": format!("Acme {tag}"), "domain": format!("{tag}.com"),
        "industry": "Software", "tags": ["b2b", "saas"], "genesy_score": 87}));
    let ct = create(&app.api, "contacts", json!({"firstName": "Ada", "lastName": tag, "email": format!("ada@{tag}.com"),
        "title": "CTO", "linkedinUrl": "https://www.linkedin.com/in/ada", "genesy_last_engaged_at": "2024-05-01"}));
    let links = json!({"associations": [{"contactCRMId": ct, "companyCRMId": co, "type": "primary"}]});
    ok(app.api.json("POST", "/associations", &links));
    ok(app.api.json("POST", "/tasks", &json!({"subject": "Send the proposal", "dueDate": "2030-01-02T09:00:00Z", "contactId": ct})));
    ok(app.api.json("POST", "/tasks", &json!({"subject": "Intro call", "contactId": ct, "completed": true})));
    for (direction, subject, at) in [("OUTBOUND", "First touch", "2024-05-01T10:00:00Z"), ("INBOUND", "Re: First touch", "2024-05-02T10:00:00Z")] {
        ok(app.api.json("POST", "/activities", &json!({"type": "EMAIL", "subject": subject, "direction": direction,
            "occurredAt": at, "contactId": ct, "metadata": {"messageId": unique("m")}})));
    }
    ok(app.api.json("PUT", "/contacts", &json!({"contacts": [{"crmId": ct, "title": "CEO"}]})));

    let resp = page(app, &format!("/view/contact/{ct}"));
    assert_eq!(
        resp.header("x-d1-statements"),
        Some("2"),
        "one statement for the whole page, one for its possible duplicates (and none for the header: the shared password named no user)"
    );
    let html = resp.text();
    assert!(html.contains(&format!("<h1>Ada {tag}</h1>")));
    assert!(html.contains(&format!("<a href=\"mailto:ada@{tag}.com\">")));
    assert!(html.contains("<th>Title</th><td>CEO</td>"));
    assert!(html.contains("<a href=\"https://www.linkedin.com/in/ada\">"));
    assert!(html.contains("<th>genesy_last_engaged_at</th><td>2024-05-01</td>"), "engagement fields as custom properties");
    assert!(html.contains(&format!("<a href=\"/view/company/{co}\">Acme {tag}</a><span class=\"badge\">primary</span>")));
    assert!(html.contains("Send the proposal") && html.contains("2030-01-02 09:00 UTC"));
    let completed = html.find("<caption>Completed tasks</caption>").unwrap();
    assert!(html.find("Intro call").unwrap() > completed, "the completed task under Completed");
    let inbound = html.find("← Inbound").expect("inbound told apart");
    let outbound = html.find("→ Outbound").expect("outbound told apart");
    assert!(inbound < outbound, "newest first");
    assert!(html.contains("<details><summary>History ("), "history folded away");
    assert!(html.contains("&quot;CTO&quot;") && html.contains("&quot;CEO&quot;"), "the change's old and new values");

    let resp = page(app, &format!("/view/company/{co}"));
    assert_eq!(resp.header("x-d1-statements"), Some("2"));
    let html = resp.text();
    assert!(html.contains(&format!("<a href=\"/view/contact/{ct}\">Ada {tag}</a><span class=\"badge\">primary company</span>")));
    assert!(html.contains("<th>Tags</th><td>b2b, saas</td>"));
    assert!(html.contains("<th>genesy_score</th><td>87</td>"));
}

/// The `href` of a list page's "Next page" link, unescaped.
fn next_link(html: &str) -> Option<String> {
    let end = html.find("\">Next page »</a>")?;
    let start = html[..end].rfind("href=\"")? + 6;
    Some(html[start..end].replace("&amp;", "&"))
}

fn listed_contacts(html: &str) -> Vec<String> {
    html.split("<a href=\"/view/contact/").skip(1).map(|s| s[..s.find('"').unwrap()].to_string()).collect()
}

/// The search box now has its own page; the contacts list pages a search by keyset, the search
/// kept in every link, and a search bookmarked on the dashboard goes to the search page.
fn dashboard_searches_and_pages(app: &App) {
    let tag = unique("Pg").replace('-', "");
    let records: Vec<Value> = (0..30)
        .map(|i| json!({"firstName": format!("Émile{i:02}"), "lastName": "Walker", "email": format!("e{i}@{tag}.example")}))
        .collect();
    let body = ok(app.api.json("POST", "/contacts", &json!({ "contacts": records })));
    let ids: Vec<String> = body["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 30);

    // Upper case and a domain: folded like the stored terms.
    let mut path = format!("/view/contacts?q={}&limit=25", tag.to_uppercase());
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let resp = page(app, &path);
        assert_eq!(resp.status, 200, "{path}");
        assert_eq!(resp.header("x-d1-statements"), Some("2"), "one statement for the page of the list, one for the owners it offers");
        let html = resp.text();
        let listed = listed_contacts(&html);
        assert!(listed.len() <= 25);
        seen.extend(listed);
        pages += 1;
        match next_link(&html) {
            Some(next) => {
                assert!(next.contains(&format!("q={}", tag.to_uppercase())), "the search is kept: {next}");
                path = next;
            }
            None => break,
        }
        assert!(pages < 5, "pagination did not end");
    }
    assert_eq!(pages, 2);
    seen.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(seen, want, "every match once");

    // Accents folded: "emile05 walker" finds the one.
    let html = ok_page(app, "/view/search?q=EMILE05%20walker");
    let listed = listed_contacts(&html);
    assert!(listed.contains(&ids[5]) && !listed.contains(&ids[4]), "{listed:?}");
    // The dashboard's search, bookmarked, goes to the search page.
    let moved = page(app, "/view/?q=EMILE05");
    assert_eq!((moved.status, moved.header("location")), (302, Some("/view/search?q=EMILE05")));
}

fn dashboard_shows_the_enginy_settings_without_a_key(app: &App) {
    let html = ok_page(app, "/view/");
    let base = &app.api.base;
    assert!(html.contains(&format!("<code>{base}</code>")), "the base URL is the request's origin");
    assert!(html.contains("<code>X-API-Key</code>"));
    assert!(html.contains(&format!("<code>{base}/view/contact/{{{{crmId}}}}</code>")));
    assert!(html.contains(&format!("<code>{base}/view/company/{{{{crmId}}}}</code>")));
    for key in &app.api.keys {
        assert!(!html.contains(key.as_str()), "an API key on the page");
    }
    assert!(!html.contains(&app.dashboard_password));
    for label in ["Contacts", "Companies", "Open tasks", "Recent activity", "Connect Enginy"] {
        assert!(html.contains(label), "{label}");
    }

    // With PUBLIC_URL set (its trailing slash dropped), the settings use it, not the request's.
    let resp = app.matching.send("GET", "/view/", Key::None, &[("Authorization", &basic(&app.dashboard_password))], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let html = resp.text();
    assert!(html.contains("<code>https://crm.e2e.test</code>"), "{html}");
    assert!(html.contains("<code>https://crm.e2e.test/view/contact/{{crmId}}</code>"), "{html}");
    assert!(!html.contains(&app.matching.base), "the request's origin is not shown");
}

/// Runs Debian's Chromium headless, with the flags this machine needs (no sandbox as root, no
/// background networking against a closed network), in a fresh profile; answers stdout and stderr.
fn chromium(args: &[String]) -> (String, String) {
    let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chromium is not installed: `bash scripts/setup.sh` installs it (apt-get install chromium)");
    let profile = std::env::temp_dir().join(format!("edge-crm-chromium-{}", random_hex(6)));
    let mut child = Command::new(binary)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .args(["--hide-scrollbars", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Read both pipes while waiting, so a full pipe never stalls the browser.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish in 90 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let _ = std::fs::remove_dir_all(&profile);
    assert!(status.success(), "chromium {args:?} failed ({status}):\n{err}");
    (out, err)
}

fn screenshots_dir() -> PathBuf {
    let dir = repo_root().join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The page's DOM after Chromium parsed and rendered it, and what the browser logged meanwhile.
fn browse(url: &str) -> (String, String) {
    chromium(&["--virtual-time-budget=2000".to_string(), "--dump-dom".to_string(), url.to_string()])
}

fn screenshot(url: &str, file: &str, width: u32, height: u32) -> PathBuf {
    let path = screenshots_dir().join(file);
    let _ = std::fs::remove_file(&path);
    chromium(&[format!("--screenshot={}", path.display()), format!("--window-size={width},{height}"), url.to_string()]);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{} is not a picture of a page", path.display());
    path
}

fn chromium_renders_the_pages(app: &App) {
    let tag = unique("Browser").replace('-', "");
    let co = create(&app.api, "companies", json!({"name": format!("Northwind {tag}"), "domain": format!("{tag}.com"),
        "industry": "Logistics", "city": "Bilbao", "country": "ES", "employeeCount": 240, "tags": ["enterprise"],
        "genesy_score": 91}));
    let ct = create(&app.api, "contacts", json!({"firstName": "Grace", "lastName": format!("Hopper {tag}"),
        "email": format!("grace@{tag}.com"), "title": "VP Engineering", "phone": "+34 600 123 456",
        "linkedinUrl": "https://www.linkedin.com/in/grace", "genesy_last_engaged_at": "2024-05-02T10:00:00.000Z"}));
    ok(app.api.json("POST", "/associations", &json!({"associations": [{"contactCRMId": ct, "companyCRMId": co, "type": "primary"}]})));
    ok(app.api.json("POST", "/tasks", &json!({"subject": "Send the pricing deck", "type": "EMAIL", "priority": "HIGH",
        "dueDate": "2030-06-01T09:00:00Z", "contactId": ct, "companyId": co})));
    ok(app.api.json("POST", "/tasks", &json!({"subject": "Connection request", "contactId": ct, "completed": true})));
    for (direction, kind, subject, body, at) in [
        ("OUTBOUND", "LINKEDIN_CONNECTION", "Connection request", "Hi Grace, let's connect.", "2024-05-01T09:00:00Z"),
        ("OUTBOUND", "EMAIL", "[1/3] Faster deliveries", "Hi Grace,\nA short note about routes.", "2024-05-01T10:00:00Z"),
        ("INBOUND", "EMAIL", "Re: [1/3] Faster deliveries", "Sounds interesting. Next week?", "2024-05-02T10:00:00Z"),
    ] {
        ok(app.api.json("POST", "/activities", &json!({"type": kind, "subject": subject, "body": body, "direction": direction,
            "occurredAt": at, "contactId": ct, "companyId": co, "metadata": {"messageId": unique("m")}})));
    }
    let (xss_contact, _) = store_payloads(app);
    // An export deduplicated onto the company carries another industry (kept out, with a button to
    // apply it), and a contact known only by its LinkedIn profile works there.
    let export = ok(app.api.json("POST", "/companies", &json!({"companies": [{"externalId": unique("kept"), "domain": format!("{tag}.com"), "industry": "Freight forwarding"}]})));
    assert_eq!(export["results"][0]["keptFields"], json!(["industry"]), "{export}");
    let nameless = create(&app.api, "contacts", json!({"linkedinUrl": format!("https://www.linkedin.com/in/{}-nameless", tag.to_lowercase())}));
    ok(app.api.json("POST", "/associations", &json!({"associations": [{"contactCRMId": nameless, "companyCRMId": co}]})));

    // Basic auth from the URL's user information: Chromium answers the 401 challenge with it.
    let port = app.api.base.rsplit(':').next().unwrap();
    let origin = format!("http://salesperson:{}@127.0.0.1:{port}", app.dashboard_password);

    // The browser's log does report a refused inline style, so the checks of the log below can
    // fail: a page whose policy refuses its own style, from a file.
    let canary = std::env::temp_dir().join(format!("edge-crm-csp-{tag}.html"));
    std::fs::write(&canary, "<!doctype html><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\"><style>p{}</style><p>x")
        .unwrap();
    let (_, log) = browse(&format!("file://{}", canary.display()));
    let _ = std::fs::remove_file(&canary);
    assert!(log.contains("Content Security Policy"), "Chromium's log does not show policy violations:\n{log}");

    let (dom, log) = browse(&format!("{origin}/view/contact/{ct}"));
    assert!(dom.contains(&format!("<h1>Grace Hopper {tag}</h1>")), "the record's name on the page:\n{dom}");
    assert!(dom.contains(&format!("Northwind {tag}")) && dom.contains("Send the pricing deck") && dom.contains("← Inbound"));
    assert!(!log.contains("Content Security Policy"), "the policy refused something the page needs:\n{log}");

    let (dom, log) = browse(&format!("{origin}/view/contact/{xss_contact}"));
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the payload shows as text:\n{dom}");
    let lower = dom.to_lowercase();
    assert!(!lower.contains("<img") && !lower.contains("onerror=\"") && !lower.contains("<script"), "the payload became markup:\n{dom}");
    assert!(!log.contains("Content Security Policy"), "{log}");

    // A search bookmarked on the old dashboard address lands on the search results.
    let (dom, _) = browse(&format!("{origin}/?q={}", url_encode(&tag)));
    assert!(dom.contains("<h1>Search</h1>") && dom.contains(&format!("Grace Hopper {tag}")), "{dom}");
    let (dom, _) = browse(&format!("http://127.0.0.1:{port}/"));
    // Without credentials the browser is challenged (headless, it shows nothing): no dashboard.
    assert!(!dom.contains("Dashboard</h1>"), "no password, no dashboard:\n{dom}");

    let shots = [
        screenshot(&format!("{origin}/view/contact/{ct}"), "contact.png", 1280, 2000),
        screenshot(&format!("{origin}/view/company/{co}"), "company.png", 1280, 1800),
        screenshot(&format!("{origin}/view/company/{co}"), "company-phone.png", 390, 2400),
        screenshot(&format!("{origin}/view/"), "dashboard.png", 1280, 1800),
        screenshot(&format!("{origin}/view/search?q={}", url_encode(&tag)), "search.png", 1280, 1400),
        screenshot(&format!("{origin}/view/contacts?q={}", url_encode(&tag)), "contacts-list-phone.png", 390, 2400),
        screenshot(&format!("{origin}/view/contact/{ct}"), "contact-phone.png", 390, 1600),
        screenshot(&format!("{origin}/view/contact/{xss_contact}"), "escaped-payload.png", 1280, 1600),
    ];
    eprintln!("[e2e] screenshots: {}", shots.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
}
