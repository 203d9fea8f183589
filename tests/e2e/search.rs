//! Search, lists and exports (API.md §4, §9): every searched field, ranking, every filter, a bad
//! filter, CSV and NDJSON exports, and the index kept right through update, merge, undo and
//! delete. Each test makes its own records, named by a random word, so tests never see each
//! other's records through a search.

use serde_json::{json, Value};

use crate::harness::{basic_auth, random_hex, unique, Client, Key, Resp};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("search::every_searched_field_finds_its_record", every_searched_field_finds_its_record),
    ("search::exact_matches_rank_before_prefix_ones_and_pages_follow", exact_matches_rank_before_prefix_ones_and_pages_follow),
    ("search::every_filter_and_sort_of_a_list", every_filter_and_sort_of_a_list),
    ("search::task_lists_filter_by_assignee_status_due_date_and_words", task_lists_filter_by_assignee_status_due_date_and_words),
    ("search::a_bad_filter_is_a_400_naming_it", a_bad_filter_is_a_400_naming_it),
    ("search::the_index_follows_update_merge_undo_and_delete", the_index_follows_update_merge_undo_and_delete),
    ("search::csv_export_escapes_and_neutralises_formulas", csv_export_escapes_and_neutralises_formulas),
    ("search::ndjson_export_is_a_record_a_line", ndjson_export_is_a_record_a_line),
    ("search::the_feed_is_unchanged_without_list_parameters", the_feed_is_unchanged_without_list_parameters),
    ("search::the_search_box_searches_every_kind", the_search_box_searches_every_kind),
    ("search::list_pages_keep_their_filters_in_the_address_and_download_csv", list_pages_keep_their_filters_in_the_address_and_download_csv),
    ("search::records_without_a_name_are_listed_last_and_shown_by_what_identifies_them", records_without_a_name_are_listed_last_and_shown_by_what_identifies_them),
];

/// A word no other test uses: letters first, so it is never read as a phone number.
fn word() -> String {
    format!("zq{}", random_hex(5))
}

/// Eight random digits.
fn digits() -> String {
    random_hex(8).bytes().map(|b| char::from(b'0' + b % 10)).collect()
}

fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn create(c: &Client, kind: &str, records: Value) -> Vec<String> {
    let resp = c.json("POST", &format!("/{kind}"), &json!({ kind: records }));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert!(body["errors"].as_array().is_none_or(|e| e.is_empty()), "{body}");
    body["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap().to_string()).collect()
}

/// One page of a list, checked against the API description.
fn list(app: &App, path: &str) -> Value {
    let resp = app.api.get(path);
    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    let pattern = path.split('?').next().unwrap();
    app.conforms(pattern, "GET", &resp);
    resp.json()
}

/// Every id of a list, following `nextCursor` to the end.
fn all_ids(app: &App, path: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..500 {
        let page = match &cursor {
            None => list(app, path),
            Some(c) => list(app, &format!("{path}&cursor={}", enc(c))),
        };
        ids.extend(page["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return ids,
        }
    }
    panic!("{path}: no end after 500 pages");
}

fn search(app: &App, kind: &str, q: &str) -> Vec<String> {
    all_ids(app, &format!("/{kind}?q={}", enc(q)))
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn every_searched_field_finds_its_record(app: &App) {
    let c = &app.api;
    let (w, dom, slug, phone) = (word(), word(), word(), digits());
    let contact = create(c, "contacts", json!([{
        "externalId": unique("s-ct"),
        "firstName": "Émilie", "lastName": format!("Ñúñez{w}"),
        "email": format!("emilie.{w}@{dom}.io"),
        "phone": format!("+34 6{} {} {}", &phone[..2], &phone[2..5], &phone[5..]),
        "title": format!("Directora {w}title"),
        "company": format!("{w}corp Ltd"),
        "linkedinUrl": format!("https://www.linkedin.com/in/{slug}-x9/"),
    }]))[0].clone();
    let national = format!("6{phone}");
    let found = |q: &str| search(app, "contacts", q);
    let me = vec![contact.clone()];
    assert_eq!(found(&format!("emilie nunez{w}")), me, "an accented name found unaccented");
    assert_eq!(found(&format!("ÉMILIE ÑÚÑEZ{}", w.to_uppercase())), me, "and by its accents, in any case");
    assert_eq!(found(&format!("emilie.{w}@{dom}.io")), me, "an email whole");
    assert_eq!(found(&format!("emilie.{w}")), me, "its local part");
    assert_eq!(found(&format!("{dom}.io")), me, "its domain");
    assert_eq!(found(&dom), me, "a prefix of its domain");
    assert_eq!(found(&format!("{} {} {}", &national[..3], &national[3..6], &national[6..])), me, "national digits, spaced");
    assert_eq!(found(&format!("{}-{}-{}", &national[..3], &national[3..6], &national[6..])), me, "national digits, dashed");
    assert_eq!(found(&format!("+34{national}")), me, "with the country code");
    assert_eq!(found(&format!("0034 {national}")), me, "with 00 and the country code");
    // Long enough that another test's phone cannot share it by chance (five digits once did).
    assert_eq!(found(&format!("34{}", &national[..8])), me, "a prefix of the digits");
    assert_eq!(found(&format!("{slug}-x9")), me, "a LinkedIn slug");
    assert_eq!(found(&slug), me, "a word of the slug");
    assert_eq!(found(&format!("{w}title")), me, "a word of the title");
    assert_eq!(found(&format!("{w}corp")), me, "the company name");
    assert!(found(&format!("{w}nothing")).is_empty());

    let company = create(c, "companies", json!([{
        "externalId": unique("s-co"), "name": format!("Café {w}co"), "domain": format!("https://www.{dom}co.com/about"),
        "phone": format!("+44 20 {}", &phone[..8]),
    }]))[0].clone();
    assert_eq!(search(app, "companies", &format!("cafe {w}co")), vec![company.clone()]);
    assert_eq!(search(app, "companies", &format!("{dom}co.com")), vec![company.clone()], "a domain");
    assert_eq!(search(app, "companies", &format!("20{}", &phone[..8])), vec![company.clone()], "national digits of a UK number");
    assert!(search(app, "contacts", &format!("{w}co")).contains(&contact), "contacts are searched apart");
    assert!(!search(app, "contacts", &format!("{w}co")).contains(&company));

    let task = c.json("POST", "/tasks", &json!({"subject": format!("Call Zoë about the {w}deal"), "contactId": contact}));
    assert_eq!(task.status, 200, "{}", task.text());
    let task = task.json()["id"].as_str().unwrap().to_string();
    assert_eq!(all_ids(app, &format!("/tasks?q={}", enc(&format!("{w}deal")))), vec![task.clone()], "a task by a word of its subject");
    assert_eq!(all_ids(app, &format!("/tasks?q={}", enc(&format!("zoe {w}")))), vec![task.clone()]);
    // A changed subject is found by its new words only.
    let patched = c.json("PATCH", &format!("/tasks/{task}"), &json!({"subject": format!("Email {w}renewal")}));
    assert_eq!(patched.status, 200);
    assert!(all_ids(app, &format!("/tasks?q={w}deal")).is_empty());
    assert_eq!(all_ids(app, &format!("/tasks?q={w}renewal")), vec![task.clone()]);
    assert_eq!(c.send("DELETE", &format!("/tasks/{task}"), Key::Valid, &[], None).status, 200);
    assert!(all_ids(app, &format!("/tasks?q={w}renewal")).is_empty(), "a deleted task is not found");
}

fn exact_matches_rank_before_prefix_ones_and_pages_follow(app: &App) {
    let c = &app.api;
    let w = word();
    // Created prefix matches first, so creation order would list them first.
    let ids = create(c, "contacts", json!([
        {"externalId": unique("r1"), "firstName": format!("{w}ston"), "lastName": "One"},
        {"externalId": unique("r2"), "firstName": format!("{w}a"), "lastName": "Two"},
        {"externalId": unique("r3"), "firstName": w, "lastName": "Exact"},
        {"externalId": unique("r4"), "firstName": "Other", "lastName": w, "email": format!("{w}@{w}.org")},
    ]));
    let got = search(app, "contacts", &w);
    assert_eq!(sorted(got[..2].to_vec()), sorted(vec![ids[2].clone(), ids[3].clone()]), "exact matches first: {got:?}");
    assert_eq!(got[2..].to_vec(), vec![ids[1].clone(), ids[0].clone()], "then prefix matches by term: {got:?}");
    assert_eq!(got.len(), 4, "a record found by two of its terms is listed once");
    // One per page, each page pointing at the next, the same order.
    let paged = all_ids(app, &format!("/contacts?q={w}&limit=1"));
    assert_eq!(paged, got);
    let first = list(app, &format!("/contacts?q={w}&limit=4"));
    assert!(first["nextCursor"].is_null(), "{first}");
    // A search that matches nothing reads nothing and says so on one page.
    let resp = c.get(&format!("/contacts?q={w}zzz"));
    assert_eq!(resp.json(), json!({"data": [], "nextCursor": null}));
    assert_eq!(resp.header("x-d1-statements"), Some("1"));
}

fn every_filter_and_sort_of_a_list(app: &App) {
    let c = &app.api;
    let batch = word();
    let email = |name: &str| format!("{name}.{batch}@example.com");
    let user = c.json("POST", "/users", &json!({"name": "Lists Owner", "email": email("owner")}));
    assert_eq!(user.status, 200, "{}", user.text());
    let owner = user.json()["id"].as_str().unwrap().to_string();
    // One request each, so each is created (and updated) later than the one before.
    let mut ids = Vec::new();
    for record in [
        json!({"externalId": unique("f1"), "firstName": "Alma", "lastName": "Zed", "email": email("alma"), "ownerId": owner, "batch": batch, "tags": ["vip"], "tier": 3}),
        json!({"externalId": unique("f2"), "firstName": "Bruno", "lastName": "Yu", "email": email("bruno"), "batch": batch, "tags": "vip, late"}),
        json!({"externalId": unique("f3"), "firstName": "Carla", "lastName": "Xi", "email": email("carla"), "ownerId": owner, "batch": batch, "tier": "gold"}),
    ] {
        ids.extend(create(c, "contacts", json!([record])));
    }
    let (alma, bruno, carla) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    // Bruno had a call in January, Carla one in March; Alma has an open task, Carla a done one.
    for (who, at) in [(&bruno, "2024-01-10T10:00:00Z"), (&carla, "2024-03-10T10:00:00Z")] {
        let logged = c.json("POST", "/activities", &json!({"type": "CALL", "subject": "call", "contactId": who, "occurredAt": at}));
        assert_eq!(logged.status, 200, "{}", logged.text());
    }
    assert_eq!(c.json("POST", "/tasks", &json!({"subject": "open one", "contactId": alma})).status, 200);
    assert_eq!(c.json("POST", "/tasks", &json!({"subject": "done one", "contactId": carla, "completed": true})).status, 200);

    let mine = |filters: &str| all_ids(app, &format!("/contacts?property.batch={batch}{filters}"));
    assert_eq!(mine(""), vec![alma.clone(), bruno.clone(), carla.clone()], "by name by default");
    assert_eq!(mine(&format!("&ownerId={owner}")), vec![alma.clone(), carla.clone()]);
    assert_eq!(mine("&tag=VIP"), vec![alma.clone(), bruno.clone()], "a tag, case folded");
    assert_eq!(mine("&tag=late"), vec![bruno.clone()]);
    assert_eq!(mine("&hasOpenTask=true"), vec![alma.clone()]);
    assert_eq!(mine("&hasOpenTask=false"), vec![bruno.clone(), carla.clone()]);
    assert_eq!(mine("&lastActivityAfter=2024-02-01"), vec![carla.clone()]);
    assert_eq!(mine("&lastActivityBefore=2024-02-01"), vec![alma.clone(), bruno.clone()], "no activity counts as before");
    assert_eq!(mine("&lastActivityAfter=2024-01-01&lastActivityBefore=2024-12-31T00:00:00Z"), vec![bruno.clone(), carla.clone()]);
    assert_eq!(mine("&property.tier=3"), vec![alma.clone()], "a number property compared as text");
    assert_eq!(mine("&property.tier=gold"), vec![carla.clone()]);
    assert_eq!(mine(&format!("&property.email={}", enc(&email("bruno")))), vec![bruno.clone()], "a core field by name");
    assert_eq!(mine("&createdAfter=2999-01-01"), Vec::<String>::new());
    assert_eq!(mine("&createdAfter=2020-01-01").len(), 3);
    assert_eq!(mine("&sort=-lastActivityDate"), vec![carla.clone(), bruno.clone(), alma.clone()]);
    assert_eq!(mine("&sort=createdAt"), vec![alma.clone(), bruno.clone(), carla.clone()]);
    // The last write first: touch Alma.
    assert_eq!(c.json("PUT", "/contacts", &json!({"contacts": [{"crmId": alma, "title": "CEO"}]})).status, 200);
    assert_eq!(mine("&sort=-updatedAt"), vec![alma.clone(), carla.clone(), bruno.clone()]);
    assert_eq!(mine(&format!("&ownerId={owner}&hasOpenTask=false&sort=name")), vec![carla.clone()], "filters combine");
    // With a search.
    assert_eq!(all_ids(app, &format!("/contacts?q={}&ownerId={owner}", enc(&format!("example.com {batch}")))), vec![alma.clone(), carla.clone()]);
    assert_eq!(all_ids(app, &format!("/contacts?q=bruno.{batch}&tag=vip")), vec![bruno.clone()]);
    // A company tagged X, not touched lately.
    let co = create(c, "companies", json!([{"externalId": unique("f-co"), "name": format!("{batch} Tagged"), "tags": ["Key Account"], "batch": batch}]))[0].clone();
    assert_eq!(all_ids(app, &format!("/companies?tag={}&lastActivityBefore=2030-01-01&property.batch={batch}", enc("key account"))), vec![co]);
}

fn task_lists_filter_by_assignee_status_due_date_and_words(app: &App) {
    let c = &app.api;
    let w = word();
    let mail = format!("{w}@example.com");
    let user = c.json("POST", "/users", &json!({"name": "Task Owner", "email": mail}));
    let owner = user.json()["id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for (subject, due, done) in [
        ("late call", Some("2024-01-05T09:00:00Z"), false),
        ("next call", Some("2024-06-05T09:00:00Z"), false),
        ("someday", None, false),
        ("old call", Some("2024-02-01T09:00:00Z"), true),
    ] {
        let mut body = json!({"subject": format!("{subject} {w}"), "ownerId": owner, "completed": done});
        if let Some(due) = due {
            body["dueDate"] = json!(due);
        }
        let resp = c.json("POST", "/tasks", &body);
        assert_eq!(resp.status, 200, "{}", resp.text());
        ids.push(resp.json()["id"].as_str().unwrap().to_string());
    }
    let tasks = |filters: &str| all_ids(app, &format!("/tasks?assignee={owner}{filters}"));
    assert_eq!(tasks(""), vec![ids[0].clone(), ids[1].clone(), ids[2].clone(), ids[3].clone()], "open by due date, undated last, then done");
    assert_eq!(all_ids(app, &format!("/tasks?assignee={}", enc(&mail.to_uppercase()))), tasks(""), "the assignee by e-mail");
    assert_eq!(tasks("&status=open"), ids[..3].to_vec());
    assert_eq!(tasks("&status=completed"), vec![ids[3].clone()]);
    assert_eq!(tasks("&dueAfter=2024-01-31"), vec![ids[1].clone(), ids[3].clone()]);
    assert_eq!(tasks("&dueBefore=2024-03-01&status=open"), vec![ids[0].clone()]);
    assert_eq!(all_ids(app, &format!("/tasks?q={}", enc(&format!("call {w}")))).len(), 3);
    assert_eq!(all_ids(app, &format!("/tasks?q={}&status=completed", enc(&format!("call {w}")))), vec![ids[3].clone()]);
    let page = list(app, &format!("/tasks?assignee={owner}&limit=2"));
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert!(page["nextCursor"].is_string());
    assert_eq!(page["data"][0]["subject"], format!("late call {w}"));
}

fn bad(resp: &Resp) -> String {
    assert_eq!(resp.status, 400, "{}", resp.text());
    resp.json()["details"][0]["path"].as_str().unwrap_or_default().to_string()
}

fn a_bad_filter_is_a_400_naming_it(app: &App) {
    let c = &app.api;
    for (query, name) in [
        ("q=x&colour=red", "colour"),
        ("sort=size", "sort"),
        ("q=x&sort=name", "sort"),
        ("hasOpenTask=maybe", "hasOpenTask"),
        ("lastActivityBefore=yesterday", "lastActivityBefore"),
        ("lastActivityAfter=2024-02-30", "lastActivityAfter"),
        ("createdAfter=soon", "createdAfter"),
        ("format=xlsx", "format"),
        ("q=x&limit=0", "limit"),
        ("q=x&cursor=nope", "cursor"),
        ("tag=%21%21", "tag"),
        ("q=x&updatedAfter=2024-01-01T00:00:00Z", "updatedAfter"),
    ] {
        let resp = c.get(&format!("/contacts?{query}"));
        assert_eq!(bad(&resp), name, "{query}");
        app.conforms("/contacts", "GET", &resp);
    }
    for (query, name) in [("status=done", "status"), ("dueBefore=later", "dueBefore"), ("owner=x", "owner")] {
        let resp = c.get(&format!("/tasks?{query}"));
        assert_eq!(bad(&resp), name, "{query}");
        app.conforms("/tasks", "GET", &resp);
    }
    // A cursor of one order is no cursor of another.
    let page = list(app, "/contacts?sort=createdAt&limit=1");
    let cursor = page["nextCursor"].as_str().expect("more than one contact on this server");
    assert_eq!(bad(&c.get(&format!("/contacts?sort=name&cursor={}", enc(cursor)))), "cursor");
}

fn the_index_follows_update_merge_undo_and_delete(app: &App) {
    let c = &app.api;
    let (a_word, b_word, new_word, a_mail, b_mail) = (word(), word(), word(), word(), word());
    let ids = create(c, "contacts", json!([
        {"externalId": unique("ix-a"), "firstName": "Keep", "lastName": a_word, "email": format!("k@a-{a_mail}.com")},
        {"externalId": unique("ix-b"), "firstName": "Gone", "lastName": b_word, "email": format!("g@b-{b_mail}.com")},
    ]));
    let (a, b) = (ids[0].clone(), ids[1].clone());
    assert_eq!(search(app, "contacts", &a_word), vec![a.clone()]);
    // An update: the new name is found, the old one no longer.
    assert_eq!(c.json("PUT", "/contacts", &json!({"contacts": [{"crmId": a, "lastName": new_word}]})).status, 200);
    assert_eq!(search(app, "contacts", &new_word), vec![a.clone()]);
    assert_eq!(search(app, "contacts", &format!("keep {a_word}")), Vec::<String>::new(), "the old last name is gone");
    assert_eq!(search(app, "contacts", &format!("a-{a_mail}.com")), vec![a.clone()], "what did not change is still found");
    // A merge: the merged record is found no more; its undo brings it back.
    let merged = c.json("POST", "/contacts/merge", &json!({"survivorId": a, "mergedIds": [b]}));
    assert_eq!(merged.status, 200, "{}", merged.text());
    assert!(search(app, "contacts", &format!("gone {b_word}")).is_empty(), "a merged record is not found");
    let merge_id = merged.json()["mergeId"].as_str().unwrap().to_string();
    let undone = c.send("POST", &format!("/contacts/merge/{merge_id}/undo"), Key::Valid, &[], None);
    assert_eq!(undone.status, 200, "{}", undone.text());
    assert_eq!(search(app, "contacts", &format!("gone {b_word}")), vec![b.clone()], "the undo brings its terms back");
    assert_eq!(search(app, "contacts", &new_word), vec![a.clone()]);
    // A deletion.
    assert_eq!(c.send("DELETE", &format!("/contacts/{b}"), Key::Valid, &[], None).status, 200);
    assert!(search(app, "contacts", &b_word).is_empty(), "a deleted record is not found");
}

/// The cells of a CSV text (RFC 4180: quoted cells may hold commas, quotes doubled, line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, other) => cell.push(other),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, other) => cell.push(other),
        }
    }
    assert!(cell.is_empty() && row.is_empty(), "the last row ends with CRLF");
    rows
}

fn csv_export_escapes_and_neutralises_formulas(app: &App) {
    let c = &app.api;
    let w = word();
    let id = create(c, "contacts", json!([{
        "externalId": unique("csv"), "firstName": format!("Ann \"The Boss\", {w}"), "lastName": "Two\nLines",
        "title": "=HYPERLINK(\"http://evil\")", "company": "@corp", "phone": "+34 600 000 000", "tier": "-1", "tags": ["a", "b"],
    }]))[0].clone();
    create(c, "contacts", json!([{"externalId": unique("csv2"), "firstName": "Plain", "lastName": w}]));
    let resp = c.get(&format!("/contacts?q={w}&format=csv"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(resp.header("content-disposition").unwrap().contains("contacts.csv"));
    let text = resp.text();
    let rows = parse_csv(&text);
    assert_eq!(rows.len(), 3, "a header and two records:\n{text}");
    let header = &rows[0];
    assert_eq!(&header[..3], &["id".to_string(), "externalId".into(), "firstName".into()]);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let ann = rows.iter().find(|r| r[0] == id).expect("the record is exported");
    assert_eq!(ann[col("firstName")], format!("Ann \"The Boss\", {w}"));
    assert_eq!(ann[col("lastName")], "Two\nLines");
    assert_eq!(ann[col("title")], "'=HYPERLINK(\"http://evil\")");
    assert_eq!(ann[col("company")], "'@corp");
    assert_eq!(ann[col("phone")], "'+34 600 000 000");
    let props: Value = serde_json::from_str(&ann[col("properties")]).unwrap();
    assert_eq!(props["tier"], "-1");
    assert!(ann.len() == header.len());
    // Every row has every column; the export of nothing is its header alone.
    assert!(rows.iter().all(|r| r.len() == header.len()));
    let empty = c.get(&format!("/contacts?q={w}nothing&format=csv")).text();
    assert_eq!(parse_csv(&empty).len(), 1);
    // Tasks too.
    let t = c.json("POST", "/tasks", &json!({"subject": format!("+call {w}"), "contactId": id}));
    assert_eq!(t.status, 200);
    let tasks = parse_csv(&c.get(&format!("/tasks?q={w}&format=csv")).text());
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[1][tasks[0].iter().position(|h| h == "subject").unwrap()], format!("'+call {w}"));
}

fn ndjson_export_is_a_record_a_line(app: &App) {
    let c = &app.api;
    let w = word();
    let ids = create(c, "companies", json!([
        {"externalId": unique("nd1"), "name": format!("{w} One"), "description": "line\nbreak"},
        {"externalId": unique("nd2"), "name": format!("{w} Two")},
    ]));
    let resp = c.get(&format!("/companies?q={w}&format=ndjson"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.header("content-type"), Some("application/x-ndjson; charset=utf-8"));
    let text = resp.text();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(sorted(lines.iter().map(|l| l["id"].as_str().unwrap().to_string()).collect()), sorted(ids));
    // Each line is the record as the API answers it.
    let one = lines.iter().find(|l| l["name"] == format!("{w} One")).unwrap();
    assert_eq!(one["description"], "line\nbreak");
    let page = list(app, &format!("/companies?q={}", enc(&format!("{w} one"))));
    assert_eq!(&page["data"][0], one);
}

fn the_feed_is_unchanged_without_list_parameters(app: &App) {
    let c = &app.api;
    let page = list(app, "/contacts?limit=2");
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    // The feed's cursor is the feed's: it pages by (updatedAt, id), tombstones included.
    let next = page["nextCursor"].as_str().unwrap();
    let second = c.get(&format!("/contacts?limit=2&cursor={}", enc(next)));
    assert_eq!(second.status, 200);
    // An unknown parameter is ignored by the feed, as it always was.
    assert_eq!(c.get("/contacts?limit=1&unknown=1").status, 200);
}

/// A page, signed in with the shared password.
fn view(app: &App, path: &str) -> Resp {
    app.api.send("GET", path, Key::None, &[("Authorization", &basic_auth("salesperson", &app.dashboard_password))], None)
}

fn html(app: &App, path: &str) -> String {
    let resp = view(app, path);
    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    assert_eq!(resp.header("content-type"), Some("text/html; charset=utf-8"));
    resp.text()
}

fn the_search_box_searches_every_kind(app: &App) {
    let c = &app.api;
    let w = word();
    let contact = create(c, "contacts", json!([{"externalId": unique("sb-ct"), "firstName": "Zoë", "lastName": format!("Sbox{w}")}]))[0].clone();
    let company = create(c, "companies", json!([{"externalId": unique("sb-co"), "name": format!("Sbox{w} Holdings")}]))[0].clone();
    let task = c.json("POST", "/tasks", &json!({"subject": format!("Visit sbox{w} offices"), "companyId": company}));
    assert_eq!(task.status, 200);
    // Every page's header has the box, sending to the results page.
    let dashboard = html(app, "/view/");
    assert!(dashboard.contains("<form class=\"search\" method=\"get\" action=\"/view/search\" role=\"search\">"));
    assert!(dashboard.contains("<label class=\"vh\" for=\"site-search\">Search contacts, companies and tasks</label>"));
    let resp = view(app, &format!("/view/search?q={}", enc(&format!("SBOX{w}"))));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-d1-statements"), Some("4"), "a search per kind and the users, run together");
    let page = resp.text();
    assert!(page.contains(&format!("<a href=\"/view/contact/{contact}\">Zoë Sbox{w}</a>")), "{page}");
    assert!(page.contains(&format!("<a href=\"/view/company/{company}\">Sbox{w} Holdings</a>")));
    assert!(page.contains(&format!("<strong>Visit sbox{w} offices</strong>")));
    assert!(page.contains(&format!("value=\"SBOX{w}\"")), "the box keeps the query");
    let none = html(app, &format!("/view/search?q={w}nothing"));
    assert!(none.contains("No contacts match") && none.contains("No companies match") && none.contains("No tasks match"));
}

fn list_pages_keep_their_filters_in_the_address_and_download_csv(app: &App) {
    let c = &app.api;
    let batch = word();
    let ids = create(c, "contacts", json!([
        {"externalId": unique("lp1"), "firstName": "Vip", "lastName": format!("One{batch}"), "batch": batch, "tags": ["vip"]},
        {"externalId": unique("lp2"), "firstName": "Plain", "lastName": format!("Two{batch}"), "batch": batch},
    ]));
    // The form's custom field and value become the API's property filter. On a store with many
    // contacts the one kept may be past the first window: follow the page's own links to it.
    let mut path = format!("/view/contacts?q=&pname=batch&pvalue={batch}&tag=vip&sort=name");
    let mut page = html(app, &path);
    let mut found = Vec::new();
    for _ in 0..200 {
        found.extend(ids.iter().filter(|id| page.contains(&format!("/view/contact/{id}\""))).cloned());
        let next = ["\">Next page »</a>", "\">Look further »</a>"].iter().find_map(|label| {
            let end = page.find(label)?;
            Some(page[page[..end].rfind("href=\"").unwrap() + 6..end].replace("&amp;", "&"))
        });
        match next {
            Some(next) if found.is_empty() => {
                path = next;
                page = html(app, &path);
            }
            _ => break,
        }
    }
    assert_eq!(found, vec![ids[0].clone()], "the tagged record of the batch, and not the other");
    assert!(page.contains("<table class=\"stack\"><caption>1 contact shown</caption>"), "{page}");
    for label in ["Search", "Owner", "Tag", "Open tasks", "Last activity after", "No activity since", "Created after", "Custom field", "Order"] {
        assert!(page.contains(&format!("\">{label}</label>")), "{label}");
    }
    assert!(page.contains("<th scope=\"col\">Name</th>"));
    assert!(page.contains("<option value=\"vip\"") || page.contains("value=\"vip\""), "the form shows the filter it applied");
    // "Download CSV" is the same list as a file.
    let start = page.find("\">Download CSV</a>").unwrap();
    let href = page[page[..start].rfind("href=\"").unwrap() + 6..start].replace("&amp;", "&");
    assert!(href.starts_with("/view/contacts?") && href.contains(&format!("property.batch={batch}")) && href.ends_with("format=csv"), "{href}");
    let file = view(app, &href);
    assert_eq!(file.status, 200, "{}", file.text());
    assert_eq!(file.header("content-type"), Some("text/csv; charset=utf-8"));
    let rows = parse_csv(&file.text());
    assert_eq!(rows.len(), 2, "the header and the one record");
    assert_eq!(rows[1][0], ids[0]);
    // A bad filter is named on the page.
    let bad = view(app, "/view/contacts?createdAfter=soon");
    assert_eq!(bad.status, 400);
    let text = bad.text();
    assert!(text.contains("There is a problem") && text.contains("<strong>createdAfter</strong>"), "{text}");
    // The task list.
    let t = c.json("POST", "/tasks", &json!({"subject": format!("Page task {batch}"), "contactId": ids[1], "dueDate": "2030-01-01T00:00:00Z"}));
    assert_eq!(t.status, 200);
    let tasks = html(app, &format!("/view/tasks?q={batch}&status=open"));
    assert!(tasks.contains(&format!("<strong>Page task {batch}</strong>")) && tasks.contains("2030-01-01 00:00 UTC"));
    assert!(tasks.contains(&format!("href=\"/view/contact/{}\">Plain Two{batch}</a>", ids[1])));
    for label in ["Assigned to", "Status", "Due after", "Due before"] {
        assert!(tasks.contains(&format!("\">{label}</label>")), "{label}");
    }
}

fn records_without_a_name_are_listed_last_and_shown_by_what_identifies_them(app: &App) {
    let c = &app.api;
    let batch = word();
    let ids = create(c, "contacts", json!([
        {"externalId": unique("nn1"), "linkedinUrl": format!("https://www.linkedin.com/in/{batch}-nameless/"), "batch": batch},
        {"externalId": unique("nn2"), "firstName": "Zed", "lastName": format!("Named{batch}"), "batch": batch},
        {"externalId": unique("nn3"), "phone": "+34 611 22 33 44", "batch": batch},
        {"externalId": unique("nn4"), "firstName": "Abe", "lastName": format!("Named{batch}"), "batch": batch},
    ]));
    // By name: the named ones by name, then the others (by id, so in either order).
    let got = all_ids(app, &format!("/contacts?property.batch={batch}&sort=name&limit=1"));
    assert_eq!(got[..2], [ids[3].clone(), ids[1].clone()], "named first, by name");
    assert_eq!(sorted(got[2..].to_vec()), sorted(vec![ids[0].clone(), ids[2].clone()]), "then the nameless");
    // A company page lists them by what identifies them.
    let company = create(c, "companies", json!([{"externalId": unique("nn-co"), "name": format!("Nameless{batch} Ltd")}]))[0].clone();
    let links: Vec<Value> = ids[..3].iter().map(|id| json!({"contactCRMId": id, "companyCRMId": company})).collect();
    let link = c.json("POST", "/associations", &json!({ "associations": links }));
    assert_eq!((link.status, link.json()["success"].as_bool()), (200, Some(true)), "{}", link.text());
    let page = html(app, &format!("/view/company/{company}"));
    let at = |text: &str| page.find(text).unwrap_or_else(|| panic!("`{text}` on the company page"));
    assert!(at(&format!("Zed Named{batch}")) < at(&format!("LinkedIn: in/{batch}-nameless")), "named before nameless");
    at("+34 611 22 33 44");
    assert!(!page.contains("(no name)"), "every linked record is shown by what identifies it");
}
