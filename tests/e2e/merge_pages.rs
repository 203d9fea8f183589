//! The duplicates pages: possible duplicates on the dashboard and on a record's page, the merge
//! review page, its form's session and token, and a person merging two contacts in a real
//! browser (ChromeDriver), with screenshots in `target/screenshots/`.

use serde_json::{json, Value};

use crate::harness::{basic_auth, random_hex, repo_root, unique, Client, Key, Resp};
use crate::webdriver::Browser;
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("merge_pages::record_pages_and_the_dashboard_list_possible_duplicates", record_pages_and_the_dashboard_list_possible_duplicates),
    ("merge_pages::the_review_form_needs_this_sessions_token_from_this_site", the_review_form_needs_this_sessions_token_from_this_site),
    ("merge_pages::a_review_of_records_that_cannot_merge_says_why", a_review_of_records_that_cannot_merge_says_why),
    ("merge_pages::a_person_merges_two_contacts_in_the_browser", a_person_merges_two_contacts_in_the_browser),
];

fn create(c: &Client, kind: &str, records: Value) -> Vec<String> {
    let resp = c.json("POST", &format!("/{kind}"), &json!({ kind: records }));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert!(body["errors"].as_array().unwrap().is_empty(), "{body}");
    body["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap().to_string()).collect()
}

/// A page request with the dashboard password and any extra headers.
fn page(app: &App, c: &Client, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Resp {
    let auth = basic_auth("salesperson", &app.dashboard_password);
    let mut all = vec![("Authorization", auth.as_str())];
    all.extend_from_slice(headers);
    c.send(method, path, Key::None, &all, body)
}

/// Two contacts of one LinkedIn profile (the matching server does not deduplicate on create): a
/// pair the default identifier matches, so each is the other's possible duplicate.
fn duplicate_contacts(c: &Client, tag: &str) -> (String, String) {
    let profile = format!("https://www.linkedin.com/in/dora-{tag}");
    let ids = create(c, "contacts", json!([
        {"externalId": unique("pg-a"), "firstName": "Dora", "lastName": format!("Dup {tag}"), "linkedinUrl": profile, "title": "CTO"},
        {"externalId": unique("pg-b"), "firstName": "Dora", "lastName": format!("Dup {tag}"), "linkedinUrl": profile,
         "title": "Chief Technology Officer", "phone": "+34 600 999 000"},
    ]));
    (ids[0].clone(), ids[1].clone())
}

fn record_pages_and_the_dashboard_list_possible_duplicates(app: &App) {
    let c = &app.matching;
    let tag = unique("dora").replace('-', "");
    let (a, b) = duplicate_contacts(c, &tag);
    let resp = page(app, c, "GET", &format!("/view/contact/{a}"), &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let html = resp.text();
    let section = &html[html.find("id=\"duplicates-contact\"").expect("a possible-duplicates section")..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(section.contains(&format!("/view/contact/{b}")), "{section}");
    assert!(section.contains(&format!("href=\"/view/merge/contact?ids={a},{b}\"")), "this record is offered to stay: {section}");
    assert_eq!(resp.header("x-d1-statements"), Some("2"), "the record and its duplicates, read together");

    // A company whose key sorts before every other test's, so it is among the dashboard's first.
    let domain = format!("00{}.com", random_hex(8));
    let cos = create(c, "companies", json!([
        {"externalId": unique("pg-co"), "name": unique("Zero One"), "domain": domain},
        {"externalId": unique("pg-co"), "name": unique("Zero Two"), "domain": format!("https://www.{domain}/")},
        // A second pair, so the list has more than one group whatever else the store holds.
        {"externalId": unique("pg-co"), "name": unique("Zero Three"), "domain": format!("01{domain}")},
        {"externalId": unique("pg-co"), "name": unique("Zero Four"), "domain": format!("01{domain}")},
    ]));
    let resp = page(app, c, "GET", "/view/", &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let html = resp.text();
    let section = &html[html.find("id=\"duplicates-company\"").expect("the dashboard lists company duplicates")..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(section.contains(&format!("<code>{domain}</code>")), "{section}");
    let mut pair = cos[..2].to_vec();
    pair.sort();
    assert!(section.contains(&format!("/view/merge/company?ids={},{}", pair[0], pair[1])), "{section}");
    assert!(html.contains("id=\"duplicates-contact\""));
    assert_eq!(resp.header("x-d1-statements"), Some("3"));

    // Every group, page by page: the first page starts with this pair, and the pages' links
    // lead through all of them without repeating one.
    let resp = page(app, c, "GET", "/view/duplicates/company", &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.header("x-d1-statements"), Some("1"));
    let html = resp.text();
    assert!(html.contains(&format!("/view/merge/company?ids={},{}", pair[0], pair[1])), "{html}");
    let mut reviews = Vec::new();
    // One group a page, so the walk crosses pages.
    let resp = page(app, c, "GET", "/view/duplicates/company?limit=1", &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let mut html = resp.text();
    let mut pages = 0;
    for _ in 0..50 {
        pages += 1;
        reviews.extend(html.match_indices("/view/merge/company?ids=").map(|(i, _)| html[i..].split('"').next().unwrap().to_string()));
        let Some(at) = html.find("\">Next groups</a>") else { break };
        let href = html[..at].rsplit("href=\"").next().unwrap().replace("&amp;", "&");
        let resp = page(app, c, "GET", &href, &[], None);
        assert_eq!(resp.status, 200, "{href}: {}", resp.text());
        html = resp.text();
    }
    assert!(pages >= 2, "the walk crossed {pages} page(s)");
    assert!(reviews.iter().any(|r| r.ends_with(&format!("{},{}", pair[0], pair[1]))), "{reviews:?}");
    let mut unique_reviews = reviews.clone();
    unique_reviews.sort();
    unique_reviews.dedup();
    assert_eq!(unique_reviews.len(), reviews.len(), "a group was listed twice");
    let resp = page(app, c, "GET", "/view/duplicates/company?cursor=not-a-cursor", &[], None);
    assert_eq!(resp.status, 400);
}

/// The review page's form token and the session cookie it belongs to.
fn open_review(app: &App, c: &Client, a: &str, b: &str) -> (String, String) {
    let resp = page(app, c, "GET", &format!("/view/merge/contact?ids={a},{b}"), &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let cookie = resp.header("set-cookie").expect("a page starts a session").to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();
    let html = resp.text();
    let at = html.find("name=\"token\" value=\"").expect("the form carries a token") + "name=\"token\" value=\"".len();
    (session, html[at..at + 64].to_string())
}

/// Posts a page's form as a browser would (the harness does not follow the answer's redirect,
/// so the test sees the `303` itself).
fn post_form(app: &App, c: &Client, cookie: Option<&str>, extra: &[(&str, &str)], form: &str) -> Resp {
    post_form_to(app, c, "/view/merge/contact", cookie, extra, form)
}

fn post_form_to(app: &App, c: &Client, path: &str, cookie: Option<&str>, extra: &[(&str, &str)], form: &str) -> Resp {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(cookie) = cookie {
        headers.push(("Cookie", cookie));
    }
    headers.extend_from_slice(extra);
    page(app, c, "POST", path, &headers, Some(form.as_bytes()))
}

fn still_separate(c: &Client, a: &str, b: &str) {
    for id in [a, b] {
        let resp = c.get(&format!("/contacts/{id}"));
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(resp.json()["crmId"], id, "{id} was merged by a refused form");
    }
}

fn the_review_form_needs_this_sessions_token_from_this_site(app: &App) {
    let c = &app.matching;
    let tag = unique("csrf").replace('-', "");
    let (a, b) = duplicate_contacts(c, &tag);
    let (session, token) = open_review(app, c, &a, &b);
    let form = |token: &str| format!("token={token}&ids={a}&ids={b}&survivor={b}&field%3Atitle={a}");

    let refused = |resp: Resp, why: &str| {
        assert_eq!(resp.status, 403, "{why}: {}", resp.text());
        assert!(resp.text().contains("nothing was changed"), "{why}: {}", resp.text());
        assert!(resp.header("content-security-policy").is_some());
        still_separate(c, &a, &b);
    };
    refused(post_form(app, c, None, &[], &form(&token)), "no session cookie");
    refused(post_form(app, c, Some(&session), &[], &form(&"0".repeat(64))), "a token of no session");
    refused(post_form(app, c, Some(&session), &[], &format!("ids={a}&ids={b}&survivor={b}")), "no token");
    let (other_session, _) = open_review(app, c, &a, &b);
    refused(post_form(app, c, Some(&other_session), &[], &form(&token)), "another session's cookie");
    refused(post_form(app, c, Some(&session), &[("Sec-Fetch-Site", "cross-site")], &form(&token)), "from another site");
    refused(post_form(app, c, Some(&session), &[("Origin", "https://evil.example")], &form(&token)), "another origin");
    // Without the password, no form is even read.
    let resp = c.send("POST", "/view/merge/contact", Key::None, &[("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", &session)], Some(form(&token).as_bytes()));
    assert_eq!(resp.status, 401);
    still_separate(c, &a, &b);
    // Not a form: refused before anything is read.
    let resp = page(app, c, "POST", "/view/merge/contact", &[("Content-Type", "application/json"), ("Cookie", &session)], Some(b"{}"));
    assert_eq!(resp.status, 415, "{}", resp.text());

    // This session's token, from this site: merged, and the browser is sent to the survivor.
    let resp = post_form(app, c, Some(&session), &[("Sec-Fetch-Site", "same-origin")], &form(&token));
    assert_eq!(resp.status, 303, "{:?} {}", resp.headers, resp.text());
    let location = resp.header("location").unwrap_or_default().to_string();
    assert!(location.starts_with(&format!("/view/contact/{b}?merged={a}&merge=mg_")), "{location}");
    let merged = c.get(&format!("/contacts/{a}")).json();
    assert_eq!((merged["crmId"].as_str(), merged["mergedFrom"].as_str()), (Some(b.as_str()), Some(a.as_str())), "{merged}");
    assert_eq!(merged["title"], "CTO", "the title chosen from {a}: {merged}");
    assert_eq!(merged["phone"], "+34 600 999 000", "the survivor's own value kept: {merged}");
    // Enginy's "Open in CRM" link to the merged id leads to the survivor's page.
    let open = page(app, c, "GET", &format!("/view/contact/{a}"), &[], None);
    assert_eq!(open.status, 302, "{}", open.text());
    assert_eq!(open.header("location"), Some(format!("/view/contact/{b}?mergedFrom={a}").as_str()));
    let followed = page(app, c, "GET", &format!("/view/contact/{b}?mergedFrom={a}"), &[], None);
    assert!(followed.text().contains(&format!("named <code>{a}</code>, which was merged into this record")), "{}", followed.text());
    let after = page(app, c, "GET", &location, &[("Cookie", &session)], None);
    assert!(after.text().contains("Merged into this record"), "{}", after.text());
    assert!(after.text().contains("Undo this merge"), "{}", after.text());
    assert!(after.header("set-cookie").is_none(), "a browser with a session keeps it");

    // The same form again: the merge refuses it, and the page says why and links back.
    let resp = post_form(app, c, Some(&session), &[], &form(&token));
    assert_eq!(resp.status, 409, "{}", resp.text());
    assert!(resp.text().contains("already merged") && resp.text().contains("Back to the review"), "{}", resp.text());

    // The undo form needs the same proof; with it, the records are separate again.
    let merge_id = location.split("merge=").nth(1).unwrap().to_string();
    let undo = |cookie: Option<&str>, token: &str| {
        post_form_to(app, c, "/view/merge/contact/undo", cookie, &[], &format!("token={token}&merge={merge_id}"))
    };
    let resp = undo(None, &token);
    assert_eq!(resp.status, 403, "{}", resp.text());
    let resp = undo(Some(&other_session), &token);
    assert_eq!(resp.status, 403, "{}", resp.text());
    assert_eq!(c.get(&format!("/contacts/{a}")).json()["crmId"], b.as_str(), "a refused undo changed nothing");
    let resp = undo(Some(&session), &token);
    assert_eq!(resp.status, 303, "{}", resp.text());
    assert_eq!(resp.header("location"), Some(format!("/view/contact/{b}?restored={a}").as_str()));
    still_separate(c, &a, &b);
    let resp = undo(Some(&session), &token);
    assert_eq!(resp.status, 409, "{}", resp.text());
    assert!(resp.text().contains("Not undone"), "{}", resp.text());
}

fn a_review_of_records_that_cannot_merge_says_why(app: &App) {
    let c = &app.matching;
    let resp = page(app, c, "GET", "/view/merge/contact?ids=ct_only", &[], None);
    assert_eq!(resp.status, 400);
    assert!(resp.text().contains("at least two records"), "{}", resp.text());
    let tag = unique("gone").replace('-', "");
    let (a, _) = duplicate_contacts(c, &tag);
    let resp = page(app, c, "GET", &format!("/view/merge/contact?ids={a},ct_{}", random_hex(8)), &[], None);
    assert_eq!(resp.status, 404);
    assert!(resp.text().contains("There is no contact with the id"), "{}", resp.text());
    // A company id in a contact review is a record this review does not know.
    let resp = page(app, c, "GET", &format!("/view/merge/company?ids={a},co_x"), &[], None);
    assert_eq!(resp.status, 404);
    // The form names the survivor itself among the merged: the API's 400, shown as a page.
    let (b, d) = duplicate_contacts(c, &format!("{tag}x"));
    let (session, token) = open_review(app, c, &b, &d);
    let resp = post_form(app, c, Some(&session), &[], &format!("token={token}&ids={b}&ids={d}&survivor=&field%3Atitle={d}"));
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(resp.text().contains("survivorId"), "{}", resp.text());
    still_separate(c, &b, &d);
}

fn a_person_merges_two_contacts_in_the_browser(app: &App) {
    let c = &app.matching;
    let tag = unique("browser").replace('-', "");
    let (a, b) = duplicate_contacts(c, &tag);
    let port = c.base.rsplit(':').next().unwrap();
    let origin = format!("http://salesperson:{}@127.0.0.1:{port}", app.dashboard_password);
    let shots = repo_root().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let browser = Browser::start(1280, 1400);
    browser.goto(&format!("{origin}/view/contact/{a}"));
    let html = browser.source();
    assert!(html.contains("Possible duplicates") && html.contains(&format!("/view/contact/{b}")), "{html}");
    browser.click(".duplicates a[href^='/view/merge/contact']");
    browser.wait_for_url("/view/merge/contact?ids=");
    assert!(browser.selected(&format!("input[name='survivor'][value='{a}']")), "the record the review came from is offered to stay");
    assert!(browser.selected(&format!("input[name='field:title'][value='{a}']")));
    browser.screenshot(&shots.join("merge-review.png"));

    // Keep the other record, but this one's title.
    browser.click(&format!("input[name='survivor'][value='{b}']"));
    browser.click(&format!("input[name='field:title'][value='{a}']"));
    browser.click("form.review button[type='submit']");
    let url = browser.wait_for_url(&format!("/view/contact/{b}"));
    assert!(url.contains(&format!("merged={a}")), "{url}");
    let html = browser.source();
    assert!(html.contains("Merged into this record"), "{html}");
    assert!(html.contains("CTO") && html.contains("+34 600 999 000"), "{html}");
    browser.screenshot(&shots.join("merged.png"));

    // What Enginy sees: the old crmId answers the survivor, which holds the chosen values.
    let old = c.get(&format!("/contacts/{a}")).json();
    assert_eq!((old["crmId"].as_str(), old["title"].as_str()), (Some(b.as_str()), Some("CTO")), "{old}");

    // Enginy's "Open in CRM" link still names the merged contact: it leads here.
    let merged_page = browser.url();
    browser.goto(&format!("{origin}/view/contact/{a}"));
    browser.wait_for_url(&format!("mergedFrom={a}"));
    assert!(browser.source().contains("which was merged into this record"));
    browser.goto(&merged_page);
    browser.wait_for_url("merged=");

    // Second thoughts: the notice's button undoes the merge.
    browser.click("form.undo button[type='submit']");
    let url = browser.wait_for_url("restored=");
    assert!(url.contains(&format!("/view/contact/{b}?restored={a}")), "{url}");
    let html = browser.source();
    assert!(html.contains("The merge was undone"), "{html}");
    assert!(html.contains("Chief Technology Officer"), "the survivor's own title is back: {html}");
    browser.screenshot(&shots.join("merge-undone.png"));
    drop(browser);
    let back = c.get(&format!("/contacts/{a}")).json();
    assert_eq!((back["crmId"].as_str(), back["title"].as_str()), (Some(a.as_str()), Some("CTO")), "{back}");
    let survivor = c.get(&format!("/contacts/{b}")).json();
    assert_eq!(survivor["title"], "Chief Technology Officer", "{survivor}");
    eprintln!("[e2e] screenshots: merge-review.png, merged.png, merge-undone.png in {}", shots.display());
}
