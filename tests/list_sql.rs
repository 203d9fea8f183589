//! The list and search statements (`store::sql_list`) run on SQLite with data, read by the pure
//! core (`domain::list`) exactly as the Worker reads D1's one row: every sort walks every record
//! once, page by page, in its order; a search ranks exact before prefix and shows a record once;
//! every filter keeps what it should; a window that keeps few continues; and each statement reads
//! the index its order needs.

use edge_crm::domain::list::{page, parse_record_list, parse_task_list, place, window_end, RecordList, TaskList, Window, WINDOW};
use edge_crm::domain::record::{search_text, RecordKind};
use edge_crm::domain::search::with_task_terms;
use edge_crm::store::sql_list::{self, Arg};
use rusqlite::types::Value as Sql;
use rusqlite::{params, Connection};
use serde_json::{json, Map, Value};

#[path = "support/rows.rs"]
mod support_rows;
use support_rows::rows;

const SCHEMA: &str = include_str!("../schema.sql");

fn db() -> Connection {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db
}

fn contact(db: &Connection, id: &str, fields: Value, props: Value, created: &str, activity: Option<&str>) {
    let map = fields.as_object().unwrap().clone();
    let name = edge_crm::domain::record::display_name(RecordKind::Contact, &map);
    let search = search_text(RecordKind::Contact, &map, props.as_object().unwrap());
    db.execute(
        "INSERT INTO contacts (id, fields, properties, owner_id, display_name, search_text, last_activity_at, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![id, fields.to_string(), props.to_string(), map.get("ownerId").and_then(Value::as_str), name, search, activity, created],
    )
    .unwrap();
}

fn task(db: &Connection, id: &str, subject: &str, owner: Option<&str>, due: Option<&str>, completed: bool, contact: Option<&str>) {
    let item = &with_task_terms(&[json!({"fields": {"subject": subject}})])[0];
    db.execute(
        "INSERT INTO tasks (id, subject, owner_id, due_date, completed, contact_id, created_at, updated_at, search_text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 't', 't', ?7)",
        params![id, subject, owner, due, completed as i64, contact, item["searchText"].as_str().unwrap()],
    )
    .unwrap();
}

/// A statement's lines as the store reads D1's: the records (each a map of its columns, with its
/// place), then the window's figures from the last line.
fn run(db: &Connection, sql: &str, args: Vec<Sql>) -> Window<Map<String, Value>> {
    let args: Vec<&dyn rusqlite::ToSql> = args.iter().map(|a| a as &dyn rusqlite::ToSql).collect();
    let lines: Vec<Map<String, Value>> = rows(db, sql, &args)
        .into_iter()
        .map(|line| match line {
            Value::Object(object) => object,
            other => panic!("a line is an object: {other}"),
        })
        .collect();
    let (trailer, records) = lines.split_last().expect("a last line");
    let rows = records
        .iter()
        .map(|r| (place(r["p"].as_f64().unwrap(), r["k"].as_str(), r["id"].as_str().unwrap()), r.clone()))
        .collect();
    let last = window_end(trailer["last"].as_str()).unwrap();
    Window { rows, end: last }
}

fn bind(args: Vec<Arg>) -> Vec<Sql> {
    args.into_iter()
        .map(|a| match a {
            Arg::Text(t) => Sql::Text(t),
            Arg::Int(n) => Sql::Integer(n),
            Arg::Null => Sql::Null,
        })
        .collect()
}

/// The statement and its arguments for a record list, as `d1_list` binds them.
fn record_args(list: &RecordList, window: usize) -> (&'static str, Vec<Sql>) {
    (sql_list::record_statement(list), bind(sql_list::record_args(list, window)))
}

fn task_args(list: &TaskList, window: usize) -> (&'static str, Vec<Sql>) {
    (sql_list::task_statement(list), bind(sql_list::task_args(list, window)))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Every id of a list, walking its pages (`limit` per page, `window` entries per read), and the
/// number of pages.
fn walk(db: &Connection, query: &[(&str, &str)], window: usize) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = pairs(query);
        if let Some(c) = &cursor {
            q.push(("cursor".into(), c.clone()));
        }
        let list = parse_record_list(RecordKind::Contact, &q).unwrap();
        let (sql, args) = record_args(&list, window);
        let (rows, next) = page(run(db, sql, args), list.limit);
        pages += 1;
        ids.extend(rows.iter().map(|r: &Map<String, Value>| r["id"].as_str().unwrap().to_string()));
        match next {
            Some(p) => cursor = Some(edge_crm::domain::list::encode_cursor(list.order(), &p)),
            None => return (ids, pages),
        }
        assert!(pages < 1000, "no end");
    }
}

fn task_walk(db: &Connection, query: &[(&str, &str)], window: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = pairs(query);
        if let Some(c) = &cursor {
            q.push(("cursor".into(), c.clone()));
        }
        let list = parse_task_list(&q).unwrap();
        let (sql, args) = task_args(&list, window);
        let (rows, next) = page(run(db, sql, args), list.limit);
        ids.extend(rows.iter().map(|r: &Map<String, Value>| r["id"].as_str().unwrap().to_string()));
        match next {
            Some(p) => cursor = Some(edge_crm::domain::list::encode_cursor(list.order(), &p)),
            None => return ids,
        }
    }
}

/// Twelve contacts with what each filter looks at.
fn seeded() -> Connection {
    let db = db();
    db.execute_batch("INSERT INTO users (id, name, email, email_key, created_at, updated_at) VALUES ('us_1', 'Ana', 'ana@x.com', 'ana@x.com', 't', 't')").unwrap();
    let people = [
        ("ct_01", "José", "Núñez", "jose@acme.com", "us_1", "2024-01-01T00:00:00.000Z", Some("2024-03-01T00:00:00.000Z"), json!({"tier": "gold", "tags": ["vip"]})),
        ("ct_02", "Josefina", "Abad", "fina@beta.io", "us_1", "2024-01-02T00:00:00.000Z", None, json!({"tier": 1})),
        ("ct_03", "Ana", "Jos", "ana@jos.es", "us_2", "2024-01-03T00:00:00.000Z", Some("2024-02-01T00:00:00.000Z"), json!({})),
        ("ct_04", "Zoë", "Smith", "zoe@acme.com", "us_2", "2024-01-04T00:00:00.000Z", Some("2024-01-15T00:00:00.000Z"), json!({"tags": "vip, early"})),
        ("ct_05", "Bo", "Chen", "bo@beta.io", "us_1", "2024-01-05T00:00:00.000Z", None, json!({"active": true})),
    ];
    for (id, first, last, email, owner, created, activity, props) in people {
        contact(&db, id, json!({"firstName": first, "lastName": last, "email": email, "ownerId": owner}), props, created, activity);
    }
    for i in 6..=12 {
        let id = format!("ct_{i:02}");
        contact(&db, &id, json!({"firstName": format!("Filler{i}"), "phone": format!("+34 600 00 00 {i:02}")}), json!({}), &format!("2024-02-{i:02}T00:00:00.000Z"), None);
    }
    db.execute_batch("UPDATE contacts SET deleted_at = 't2' WHERE id = 'ct_12'").unwrap();
    task(&db, "tk_1", "Call José", Some("us_1"), Some("2024-05-01T00:00:00.000Z"), false, Some("ct_01"));
    task(&db, "tk_2", "Send contract", Some("us_1"), None, false, Some("ct_03"));
    task(&db, "tk_3", "Closed call", Some("us_2"), Some("2024-04-01T00:00:00.000Z"), true, Some("ct_02"));
    task(&db, "tk_4", "Plan Q3", None, Some("2024-04-15T00:00:00.000Z"), false, None);
    task(&db, "tk_5", "Archive", None, None, true, None);
    db
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_sort_walks_every_live_record_once_in_its_order() {
    let db = seeded();
    let live: Vec<String> = (1..=11).map(|i| format!("ct_{i:02}")).collect();
    for (sort, window) in [("name", WINDOW), ("createdAt", WINDOW), ("-updatedAt", WINDOW), ("-lastActivityDate", WINDOW), ("name", 2), ("-lastActivityDate", 3)] {
        let (got, _) = walk(&db, &[("sort", sort), ("limit", "2")], window);
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, live, "{sort} window {window}: every live record once");
        match sort {
            "createdAt" => assert_eq!(got, live),
            "-updatedAt" => assert_eq!(got, live.iter().rev().cloned().collect::<Vec<_>>()),
            "-lastActivityDate" => {
                assert_eq!(&got[..3], ids(&["ct_01", "ct_03", "ct_04"]).as_slice(), "newest activity first");
                let rest: Vec<String> = ["ct_11", "ct_10", "ct_09", "ct_08", "ct_07", "ct_06", "ct_05", "ct_02"].iter().map(|s| s.to_string()).collect();
                assert_eq!(&got[3..], rest.as_slice(), "then the records without activity, newest id first");
            }
            _ => assert_eq!(&got[..3], ids(&["ct_03", "ct_05", "ct_10"]).as_slice(), "Ana Jos, Bo Chen, Filler10..."),
        }
    }
}

/// A record without a name (no first or last name, no e-mail) sorts after the named ones, by id,
/// and the paging crosses from one part to the other whatever the window and the page.
#[test]
fn records_without_a_name_come_after_the_named_ones() {
    let db = db();
    let t = "2024-01-01T00:00:00.000Z";
    contact(&db, "ct_5", json!({"firstName": "Zoë"}), json!({}), t, None);
    contact(&db, "ct_9", json!({"lastName": "Abad"}), json!({}), t, None);
    contact(&db, "ct_1", json!({"linkedinUrl": "https://www.linkedin.com/in/nameless"}), json!({}), t, None);
    contact(&db, "ct_7", json!({"email": "bo@beta.io"}), json!({}), t, None);
    contact(&db, "ct_3", json!({"phone": "+34 600 000 000"}), json!({}), t, None);
    contact(&db, "ct_8", json!({}), json!({}), t, None);
    let expected = ids(&["ct_9", "ct_5", "ct_7", "ct_1", "ct_3", "ct_8"]);
    for (limit, window) in [("50", WINDOW), ("1", WINDOW), ("2", 2), ("1", 1), ("4", 3)] {
        let (got, _) = walk(&db, &[("sort", "name"), ("limit", limit)], window);
        assert_eq!(got, expected, "limit {limit}, window {window}");
    }
    // A task list names such a contact by what identifies it, as the record pages do.
    task(&db, "tk_1", "Call them", None, None, false, Some("ct_1"));
    let list = parse_task_list(&pairs(&[])).unwrap();
    let (sql, args) = task_args(&list, WINDOW);
    let (rows, _) = page(run(&db, sql, args), list.limit);
    assert_eq!(rows[0]["contact_name"], json!("https://www.linkedin.com/in/nameless"));
}

#[test]
fn a_search_ranks_exact_before_prefix_and_shows_a_record_once() {
    let db = seeded();
    // "jos": ct_03's last name is exactly "jos"; ct_01 (jose, jose@acme.com) and ct_02
    // (josefina) by prefix, in term order; ct_01 once although two of its terms match.
    for (limit, window) in [("50", WINDOW), ("1", WINDOW), ("1", 1), ("2", 2)] {
        let (got, _) = walk(&db, &[("q", "jos"), ("limit", limit)], window);
        assert_eq!(got, ids(&["ct_03", "ct_01", "ct_02"]), "limit {limit} window {window}");
    }
    assert_eq!(walk(&db, &[("q", "JOSÉ núñez")], WINDOW).0, ids(&["ct_01"]));
    assert_eq!(walk(&db, &[("q", "acme.com")], WINDOW).0, ids(&["ct_01", "ct_04"]));
    assert_eq!(walk(&db, &[("q", "zoe")], WINDOW).0, ids(&["ct_04"]));
    assert_eq!(walk(&db, &[("q", "600 00 00 07")], WINDOW).0, ids(&["ct_07"]));
    assert_eq!(walk(&db, &[("q", "+34 600 00 00 07")], WINDOW).0, ids(&["ct_07"]));
    assert!(walk(&db, &[("q", "600 00 00 12")], WINDOW).0.is_empty(), "a deleted record is not found");
    let (none, pages) = walk(&db, &[("q", "nobody")], WINDOW);
    assert!(none.is_empty() && pages == 1);
    let none = run(&db, record_args(&parse_record_list(RecordKind::Contact, &pairs(&[("q", "nobody")])).unwrap(), WINDOW).0,
        record_args(&parse_record_list(RecordKind::Contact, &pairs(&[("q", "nobody")])).unwrap(), WINDOW).1);
    assert!(none.rows.is_empty() && none.end.is_none(), "a search that matches nothing ends at once");
}

#[test]
fn every_filter_keeps_what_it_should() {
    let db = seeded();
    let got = |q: &[(&str, &str)]| {
        let mut g = walk(&db, q, WINDOW).0;
        g.sort();
        g
    };
    assert_eq!(got(&[("ownerId", "us_1")]), ids(&["ct_01", "ct_02", "ct_05"]));
    assert_eq!(got(&[("tag", "VIP")]), ids(&["ct_01", "ct_04"]));
    assert_eq!(got(&[("tag", "early")]), ids(&["ct_04"]));
    assert_eq!(got(&[("hasOpenTask", "true")]), ids(&["ct_01", "ct_03"]));
    assert_eq!(got(&[("hasOpenTask", "false"), ("ownerId", "us_1")]), ids(&["ct_02", "ct_05"]));
    assert_eq!(got(&[("lastActivityAfter", "2024-02-01")]), ids(&["ct_01"]));
    assert_eq!(got(&[("lastActivityAfter", "2024-01-31")]), ids(&["ct_01", "ct_03"]));
    let before = got(&[("lastActivityBefore", "2024-02-01")]);
    assert!(before.contains(&"ct_04".to_string()) && before.contains(&"ct_02".to_string()) && !before.contains(&"ct_03".to_string()), "{before:?}");
    assert_eq!(got(&[("createdAfter", "2024-01-02T12:00:00Z"), ("ownerId", "us_2")]), ids(&["ct_03", "ct_04"]));
    assert_eq!(got(&[("createdAfter", "2024-01-03T00:00:00Z"), ("ownerId", "us_2")]), ids(&["ct_04"]));
    assert_eq!(got(&[("property.tier", "gold")]), ids(&["ct_01"]));
    assert_eq!(got(&[("property.tier", "1")]), ids(&["ct_02"]));
    assert_eq!(got(&[("property.active", "true")]), ids(&["ct_05"]));
    assert_eq!(got(&[("property.tags", "vip")]), ids(&["ct_01"]));
    assert_eq!(got(&[("property.email", "bo@beta.io")]), ids(&["ct_05"]), "a core field by its name");
    assert_eq!(got(&[("q", "jos"), ("ownerId", "us_1")]), ids(&["ct_01", "ct_02"]));
    // The bounds on the sort's own column, read as index ranges.
    assert_eq!(walk(&db, &[("sort", "createdAt"), ("createdAfter", "2024-02-09")], WINDOW).0, ids(&["ct_10", "ct_11"]));
    assert_eq!(walk(&db, &[("sort", "-lastActivityDate"), ("lastActivityBefore", "2024-03-01"), ("lastActivityAfter", "2024-01-01")], WINDOW).0, ids(&["ct_03", "ct_04"]));
}

#[test]
fn a_window_that_keeps_few_continues_where_it_stopped() {
    let db = seeded();
    // Three records of us_1 among eleven, read two index entries at a time: short pages with a
    // cursor, until the index ends.
    let (got, pages) = walk(&db, &[("ownerId", "us_1"), ("limit", "50")], 2);
    assert_eq!(got.len(), 3);
    assert!(pages >= 6, "{pages} pages");
}

#[test]
fn task_lists_and_search() {
    let db = seeded();
    assert_eq!(task_walk(&db, &[("status", "open")], WINDOW), ids(&["tk_4", "tk_1", "tk_2"]), "by due date, undated last");
    assert_eq!(task_walk(&db, &[("limit", "1")], 1), ids(&["tk_4", "tk_1", "tk_2", "tk_3", "tk_5"]), "open first, then completed");
    assert_eq!(task_walk(&db, &[("status", "completed")], WINDOW), ids(&["tk_3", "tk_5"]));
    assert_eq!(task_walk(&db, &[("assignee", "us_1")], WINDOW), ids(&["tk_1", "tk_2"]));
    assert_eq!(task_walk(&db, &[("assignee", "ANA@x.com")], WINDOW), ids(&["tk_1", "tk_2"]), "by the user's e-mail");
    assert_eq!(task_walk(&db, &[("dueAfter", "2024-04-01"), ("limit", "1")], 1), ids(&["tk_4", "tk_1"]));
    assert_eq!(task_walk(&db, &[("dueBefore", "2024-04-20")], WINDOW), ids(&["tk_4", "tk_3"]));
    assert_eq!(task_walk(&db, &[("q", "call")], WINDOW), ids(&["tk_1", "tk_3"]));
    assert_eq!(task_walk(&db, &[("q", "call"), ("status", "open")], WINDOW), ids(&["tk_1"]));
    assert_eq!(task_walk(&db, &[("q", "jose")], WINDOW), ids(&["tk_1"]));
    assert!(task_walk(&db, &[("q", "nothing")], WINDOW).is_empty());
}

#[test]
fn each_list_reads_the_index_of_its_order() {
    let db = db();
    let plan = |sql: &str| -> String {
        let mut plan = db.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let n = plan.parameter_count();
        plan.query_map(rusqlite::params_from_iter(vec![Sql::Null; n]), |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect::<Vec<_>>().join("\n")
    };
    for (name, sql, needles) in [
        ("ranked", sql_list::CONTACTS.ranked, &["SEARCH t USING PRIMARY KEY (kind=? AND term>? AND term<?)"][..]),
        (
            "by_name",
            sql_list::CONTACTS.by_name,
            &[
                "SEARCH contacts USING COVERING INDEX contacts_name (deleted_at=? AND (display_name,id)>(?,?))",
                "SEARCH contacts USING COVERING INDEX contacts_name (deleted_at=? AND display_name=? AND id>?)",
            ][..],
        ),
        ("by_created", sql_list::COMPANIES.by_created, &["SEARCH companies USING COVERING INDEX companies_created ((created_at,id)>(?,?))"][..]),
        ("by_updated", sql_list::CONTACTS.by_updated, &["SEARCH contacts USING COVERING INDEX contacts_feed ((updated_at,id)<(?,?))"][..]),
        (
            "by_last_activity",
            sql_list::CONTACTS.by_last_activity,
            &["SEARCH contacts USING COVERING INDEX contacts_activity (last_activity_at>? AND (last_activity_at,id)<(?,?))", "SEARCH contacts USING COVERING INDEX contacts_activity (last_activity_at=? AND id<?)"][..],
        ),
        ("tasks", sql_list::TASKS, &["SEARCH tasks USING COVERING INDEX tasks_list (deleted_at=? AND completed=? AND (due_date,id)>(?,?)", "SEARCH tasks USING COVERING INDEX tasks_list (deleted_at=? AND completed=? AND due_date=? AND id>?)"][..]),
    ] {
        let text = plan(sql);
        for needle in needles {
            assert!(text.contains(needle), "{name}: missing `{needle}` in\n{text}");
        }
    }
}
