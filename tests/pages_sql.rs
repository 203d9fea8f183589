//! The page statements (`store::sql_pages`) run on SQLite with data, and their rows read by the
//! pure core exactly as the Worker reads D1's: the JSON the statements build and the types the
//! pages expect are checked against each other here, in milliseconds. Also the counts the schema's
//! triggers keep, and the plans that keep the dashboard fast on a large store.

#[path = "support/rows.rs"]
mod support_rows;
use support_rows::rows;

use edge_crm::domain::pages::{Dashboard, DashboardQuery, DashboardRow, List, RecordPage, RecordRow, Settings};
use edge_crm::domain::record::RecordKind;
use edge_crm::store::sql_pages::{COMPANY_PAGE, CONTACT_PAGE, DASHBOARD, RECORD_LIST_LIMIT};
use rusqlite::{params, Connection};
use serde_json::json;

const SCHEMA: &str = include_str!("../schema.sql");

fn db() -> Connection {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db
}


fn contact(db: &Connection, id: &str, first: &str, last: &str, email: &str) {
    let fields = json!({"firstName": first, "lastName": last, "email": email});
    let name = format!("{first} {last}");
    let search = edge_crm::domain::record::search_text(RecordKind::Contact, fields.as_object().unwrap(), &Default::default());
    db.execute(
        "INSERT INTO contacts (id, fields, display_name, search_text, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 't', 't')",
        params![id, fields.to_string(), name.trim(), search],
    )
    .unwrap();
}

fn company(db: &Connection, id: &str, name: &str, domain: &str, parent: Option<&str>) {
    let fields = json!({"name": name, "domain": domain});
    let search = edge_crm::domain::record::search_text(RecordKind::Company, fields.as_object().unwrap(), &Default::default());
    db.execute(
        "INSERT INTO companies (id, fields, parent_id, display_name, search_text, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 't', 't')",
        params![id, fields.to_string(), parent, name, search],
    )
    .unwrap();
}

fn task(db: &Connection, id: &str, subject: &str, contact: Option<&str>, due: Option<&str>, done: bool) {
    db.execute(
        "INSERT INTO tasks (id, subject, contact_id, due_date, completed, completed_at, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, iif(?5, '2024-01-09T00:00:00.000Z', NULL), 't', 't')",
        params![id, subject, contact, due, done],
    )
    .unwrap();
}

fn activity(db: &Connection, id: &str, contact: &str, company: Option<&str>, direction: &str, at: &str) {
    db.execute(
        "INSERT INTO activities (id, type, subject, direction, occurred_at, contact_id, company_id, created_at) \
         VALUES (?1, 'EMAIL', 'subject ' || ?1, ?2, ?3, ?4, ?5, 't')",
        params![id, direction, at, contact, company],
    )
    .unwrap();
}

/// Two contacts and three companies (one deleted), linked; tasks, activities, history, an owner.
fn seeded() -> Connection {
    let db = db();
    db.execute("INSERT INTO users (id, name, email, email_key, created_at, updated_at) VALUES ('us_1', 'Sam', 'sam@x.com', 'sam@x.com', 't', 't')", [])
        .unwrap();
    company(&db, "co_hold", "Holding", "hold.com", None);
    company(&db, "co_acme", "Acme", "acme.com", Some("co_hold"));
    company(&db, "co_gone", "Gone", "gone.com", None);
    db.execute("UPDATE companies SET deleted_at = 'now' WHERE id = 'co_gone'", []).unwrap();
    contact(&db, "ct_ada", "Ada", "Lovelace", "ada@acme.com");
    contact(&db, "ct_bob", "Bob", "Stone", "bob@beta.io");
    db.execute("UPDATE contacts SET owner_id = 'us_1' WHERE id = 'ct_ada'", []).unwrap();
    for (contact, company, primary) in [("ct_ada", "co_acme", 1), ("ct_ada", "co_gone", 0), ("ct_bob", "co_acme", 0)] {
        db.execute(
            "INSERT INTO associations (contact_id, company_id, is_primary, created_at, updated_at) VALUES (?1, ?2, ?3, 't', 't')",
            params![contact, company, primary],
        )
        .unwrap();
    }
    task(&db, "tk_undated", "Follow up", Some("ct_ada"), None, false);
    task(&db, "tk_due", "Call Ada", Some("ct_ada"), Some("2024-02-01T00:00:00.000Z"), false);
    task(&db, "tk_done", "Intro", Some("ct_ada"), Some("2024-01-01T00:00:00.000Z"), true);
    activity(&db, "ac_1", "ct_ada", None, "OUTBOUND", "2024-01-03T00:00:00.000Z");
    activity(&db, "ac_2", "ct_ada", Some("co_acme"), "INBOUND", "2024-01-04T00:00:00.000Z");
    db.execute(
        "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) \
         VALUES ('contact', 'ct_ada', 'email', '\"a@x.com\"', '\"ada@acme.com\"', '2024-01-02T00:00:00.000Z', 'req_1')",
        [],
    )
    .unwrap();
    db
}

fn record_page(db: &Connection, kind: RecordKind, id: &str) -> Option<RecordPage> {
    let sql = match kind {
        RecordKind::Contact => CONTACT_PAGE,
        RecordKind::Company => COMPANY_PAGE,
    };
    let limit = RECORD_LIST_LIMIT as i64;
    let mut found = rows(db, sql, &[&id, &limit]);
    assert!(found.len() <= 1);
    found.pop().map(|row| RecordPage::from_row(kind, serde_json::from_value::<RecordRow>(row).unwrap()))
}

#[test]
fn contact_page_reads_everything_in_one_row() {
    let db = seeded();
    let page = record_page(&db, RecordKind::Contact, "ct_ada").unwrap();
    assert_eq!(page.name(), "Ada Lovelace");
    assert_eq!(page.owner.as_ref().map(|o| o.name.as_str()), Some("Sam"));
    let links: Vec<(&str, bool)> = page.links.iter().map(|l| (l.id.as_str(), l.primary)).collect();
    assert_eq!(links, [("co_acme", true)], "the deleted company is left out");
    assert_eq!(page.link_count, 1);
    let open: Vec<&str> = page.open_tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(open, ["tk_due", "tk_undated"], "dated first, undated last");
    assert_eq!(page.done_tasks.len(), 1);
    assert!(page.done_tasks[0].completed);
    let timeline: Vec<(&str, Option<&str>)> = page.activities.iter().map(|a| (a.id.as_str(), a.direction.as_deref())).collect();
    assert_eq!(timeline, [("ac_2", Some("INBOUND")), ("ac_1", Some("OUTBOUND"))], "newest first");
    assert_eq!(page.activities[0].company_name.as_deref(), Some("Acme"));
    assert_eq!((page.activity_count, page.history_count), (2, 1));
    assert_eq!(page.history[0].new.as_deref(), Some("\"ada@acme.com\""));
    let html = page.render(&edge_crm::domain::pages::Shell::bare("n"));
    assert!(html.contains("<a href=\"/view/company/co_acme\">Acme</a>"));

    // An activity about a company deleted since names it without a link to its 404.
    activity(&db, "ac_3", "ct_ada", Some("co_gone"), "OUTBOUND", "2024-01-05T00:00:00.000Z");
    let html = record_page(&db, RecordKind::Contact, "ct_ada").unwrap().render(&edge_crm::domain::pages::Shell::bare("n"));
    assert!(html.contains("Company (deleted)"), "{html}");
    assert!(!html.contains("/view/company/co_gone"), "{html}");
}

#[test]
fn company_page_reads_contacts_parent_and_subsidiaries() {
    let db = seeded();
    let page = record_page(&db, RecordKind::Company, "co_acme").unwrap();
    let links: Vec<(&str, bool)> = page.links.iter().map(|l| (l.id.as_str(), l.primary)).collect();
    assert_eq!(links, [("ct_ada", true), ("ct_bob", false)], "by name, primary marked");
    assert_eq!(page.parent.as_ref().map(|p| p.name.as_str()), Some("Holding"));
    let hold = record_page(&db, RecordKind::Company, "co_hold").unwrap();
    assert_eq!(hold.children.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["co_acme"]);
    assert_eq!(page.activities.len(), 1, "the activity logged against the company");
    assert!(page.open_tasks.is_empty());
}

#[test]
fn unknown_and_deleted_records_have_no_page() {
    let db = seeded();
    assert!(record_page(&db, RecordKind::Contact, "ct_nope").is_none());
    assert!(record_page(&db, RecordKind::Company, "co_gone").is_none());
    assert!(record_page(&db, RecordKind::Contact, "co_acme").is_none(), "a company id is no contact");
}

fn dashboard(db: &Connection, query: &DashboardQuery, page: usize) -> Dashboard {
    let cursors = [query.cursor(List::Contacts), query.cursor(List::Companies), query.cursor(List::Tasks)];
    let (rows_per_list, recent) = ((page + 1) as i64, 10i64);
    let mut found = rows(db, DASHBOARD, &[&cursors[0], &cursors[1], &cursors[2], &rows_per_list, &recent]);
    assert_eq!(found.len(), 1);
    let row: DashboardRow = serde_json::from_value(found.pop().unwrap()).unwrap();
    let settings = Settings { base_url: "http://x".into(), api_key_header: "X-API-Key".into() };
    Dashboard::from_row(row, query.clone(), settings, page)
}

fn ask(pairs: &[(&str, &str)]) -> DashboardQuery {
    DashboardQuery::parse(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>())
}

#[test]
fn dashboard_counts_lists_and_recent_activity() {
    let db = seeded();
    let d = dashboard(&db, &DashboardQuery::default(), 25);
    assert_eq!(
        (d.counts.contacts, d.counts.companies, d.counts.tasks_open, d.counts.tasks_done, d.counts.activities),
        (2, 2, 2, 1, 2)
    );
    let names: Vec<&str> = d.contacts.items.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Ada Lovelace", "Bob Stone"]);
    let companies: Vec<&str> = d.companies.items.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(companies, ["Acme", "Holding"]);
    assert_eq!(d.contacts.items[0].columns["email"], "ada@acme.com");
    let tasks: Vec<&str> = d.tasks.items.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(tasks, ["tk_due", "tk_undated"]);
    assert_eq!(d.tasks.items[0].contact_name.as_deref(), Some("Ada Lovelace"));
    let recent: Vec<&str> = d.activities.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(recent, ["ac_2", "ac_1"]);
}

#[test]
fn counts_follow_every_write() {
    let db = seeded();
    let counts = |db: &Connection| {
        let c = dashboard(db, &DashboardQuery::default(), 25).counts;
        (c.contacts, c.companies, c.tasks_open, c.tasks_done, c.activities)
    };
    db.execute("UPDATE contacts SET deleted_at = 'now', updated_at = 'now' WHERE id = 'ct_bob'", []).unwrap();
    db.execute("UPDATE tasks SET completed = 1 WHERE id = 'tk_due'", []).unwrap();
    db.execute("UPDATE tasks SET deleted_at = 'now' WHERE id = 'tk_done'", []).unwrap();
    db.execute("DELETE FROM activities WHERE id = 'ac_1'", []).unwrap();
    assert_eq!(counts(&db), (1, 2, 1, 1, 1));
    // Updates that touch other columns (or set a column to what it was) move nothing.
    db.execute("UPDATE contacts SET fields = '{}', deleted_at = deleted_at", []).unwrap();
    db.execute("UPDATE tasks SET subject = 'x', completed = completed", []).unwrap();
    assert_eq!(counts(&db), (1, 2, 1, 1, 1));
    // A store that existed before the counts: applying the schema again counts once.
    db.execute("DELETE FROM page_counts", []).unwrap();
    db.execute_batch(SCHEMA).unwrap();
    assert_eq!(counts(&db), (1, 2, 1, 1, 1));
}

/// Walks a list page by page through the cursors, as the "next page" links do.
fn walk(db: &Connection, list: List, page: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 1..1000 {
        let query = ask(&[(param(list), &cursor)]);
        let d = dashboard(db, &query, page);
        let (ids, more): (Vec<String>, bool) = match list {
            List::Contacts => (d.contacts.items.iter().map(|c| c.id.clone()).collect(), d.contacts.more),
            List::Companies => (d.companies.items.iter().map(|c| c.id.clone()).collect(), d.companies.more),
            List::Tasks => (d.tasks.items.iter().map(|t| t.id.clone()).collect(), d.tasks.more),
        };
        assert!(ids.len() <= page);
        seen.extend(ids);
        if !more {
            return seen;
        }
        cursor = seen.last().unwrap().clone();
    }
    panic!("pagination did not end");
}

fn param(list: List) -> &'static str {
    match list {
        List::Contacts => "contacts",
        List::Companies => "companies",
        List::Tasks => "tasks",
    }
}

#[test]
fn pages_walk_every_record_once_in_name_order() {
    let db = db();
    // Names that sort differently from ids, and equal names (the id breaks the tie).
    let mut expected = Vec::new();
    for i in 0..60 {
        let id = format!("ct_{:03}", 100 - i);
        let last = format!("P{:02}", i / 2);
        contact(&db, &id, "Same", &last, &format!("p{i}@walk.test"));
        expected.push((format!("Same {last}"), id));
    }
    expected.sort();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    assert_eq!(walk(&db, List::Contacts, 25), expected);
    assert_eq!(walk(&db, List::Contacts, 7), expected);
}

/// A record without a name sorts after the named ones (by id), and a page shows what identifies
/// it; the cursor crosses from the named to the nameless.
#[test]
fn records_without_a_name_come_last_and_are_shown_by_what_identifies_them() {
    let db = db();
    for (id, fields) in [
        ("ct_1", json!({"linkedinUrl": "https://www.linkedin.com/in/no-name/"})),
        ("ct_2", json!({"firstName": "Zoë"})),
        ("ct_3", json!({"phone": "+34 600 000 000"})),
        ("ct_4", json!({"firstName": "Abe"})),
        ("ct_5", json!({"email": "bo@beta.io"})),
    ] {
        let name = edge_crm::domain::record::display_name(RecordKind::Contact, fields.as_object().unwrap());
        db.execute(
            "INSERT INTO contacts (id, fields, display_name, created_at, updated_at) VALUES (?1, ?2, ?3, 't', 't')",
            params![id, fields.to_string(), name],
        )
        .unwrap();
    }
    let expected = ["ct_4", "ct_2", "ct_5", "ct_1", "ct_3"];
    for page in [1, 2, 3, 25] {
        assert_eq!(walk(&db, List::Contacts, page), expected, "{page} per page");
    }
    company(&db, "co_1", "Acme", "acme.com", None);
    for contact in ["ct_1", "ct_3", "ct_4"] {
        db.execute(
            "INSERT INTO associations (contact_id, company_id, is_primary, created_at, updated_at) VALUES (?1, 'co_1', 0, 't', 't')",
            params![contact],
        )
        .unwrap();
    }
    let page = record_page(&db, RecordKind::Company, "co_1").unwrap();
    let html = page.render(&edge_crm::domain::pages::Shell::bare("n"));
    let shown: Vec<usize> = ["Abe", "LinkedIn: in/no-name", "+34 600 000 000"].iter().map(|t| html.find(t).unwrap_or_else(|| panic!("{t} in\n{html}"))).collect();
    assert!(shown.windows(2).all(|w| w[0] < w[1]), "named first, then by id: {shown:?}");
    assert!(!html.contains("(no name)"));
}

#[test]
fn task_pages_cross_from_dated_to_undated() {
    let db = db();
    for (id, due) in [("tk_a", Some("2024-03-01")), ("tk_b", None), ("tk_c", Some("2024-01-01")), ("tk_d", None), ("tk_e", Some("2024-02-01"))] {
        task(&db, id, "Task", None, due, false);
    }
    task(&db, "tk_done", "Task", None, Some("2023-01-01"), true);
    let expected = ["tk_c", "tk_e", "tk_a", "tk_b", "tk_d"];
    for page in [1, 2, 3, 10] {
        assert_eq!(walk(&db, List::Tasks, page), expected, "page size {page}");
    }
}

/// A tasks cursor that names no task (edited by hand, or taken from another list) starts the
/// list over instead of skipping the dated tasks.
#[test]
fn a_task_cursor_that_is_no_task_starts_over() {
    let db = db();
    task(&db, "tk_a", "Task", None, Some("2024-03-01"), false);
    task(&db, "tk_b", "Task", None, None, false);
    for cursor in ["ct_ada", "tk_nope", "zzz"] {
        let d = dashboard(&db, &ask(&[("tasks", cursor)]), 10);
        let ids: Vec<&str> = d.tasks.items.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["tk_a", "tk_b"], "cursor {cursor}");
    }
}

/// A contact's page lists its live companies, primary first then by name, before the list limit
/// cuts: deleted companies take no place in it.
#[test]
fn contact_companies_are_filtered_and_ordered_before_the_limit() {
    let db = db();
    contact(&db, "ct_1", "Many", "Links", "m@l.com");
    for (id, name, deleted, primary) in
        [("co_z", "Zeta", false, 1), ("co_d1", "Alpha", true, 0), ("co_d2", "Beta", true, 0), ("co_c", "Gamma", false, 0), ("co_b", "Delta", false, 0)]
    {
        company(&db, id, name, &format!("{id}.com"), None);
        if deleted {
            db.execute("UPDATE companies SET deleted_at = 'now' WHERE id = ?1", [id]).unwrap();
        }
        db.execute(
            "INSERT INTO associations (contact_id, company_id, is_primary, created_at, updated_at) VALUES ('ct_1', ?1, ?2, 't', 't')",
            params![id, primary],
        )
        .unwrap();
    }
    let mut found = rows(&db, CONTACT_PAGE, &[&"ct_1", &2i64]);
    let row: RecordRow = serde_json::from_value(found.pop().unwrap()).unwrap();
    let page = RecordPage::from_row(RecordKind::Contact, row);
    let links: Vec<&str> = page.links.iter().map(|l| l.id.as_str()).collect();
    assert_eq!((links, page.link_count), (vec!["co_z", "co_b"], 3));
}

/// The plans that make the dashboard fast on 100,000 records: each list is read from its own
/// index in page order (no sort), and a search reads only the covering search index.
#[test]
fn dashboard_lists_read_their_index_in_order() {
    let db = db();
    let mut plan = db.prepare(&format!("EXPLAIN QUERY PLAN {DASHBOARD}")).unwrap();
    let details: Vec<String> = plan
        .query_map(rusqlite::params_from_iter(vec![rusqlite::types::Null; plan.parameter_count()]), |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let text = details.join("\n");
    for needle in [
        "SEARCH contacts USING COVERING INDEX contacts_name (deleted_at=? AND (display_name,id)>(?,?))",
        "SEARCH companies USING COVERING INDEX companies_name (deleted_at=? AND (display_name,id)>(?,?))",
        "SEARCH contacts USING COVERING INDEX contacts_name (deleted_at=? AND display_name=? AND id>?)",
        "SEARCH companies USING COVERING INDEX companies_name (deleted_at=? AND display_name=? AND id>?)",
        "SEARCH tasks USING INDEX tasks_list (deleted_at=? AND completed=? AND (due_date,id)>(?,?))",
        "SEARCH tasks USING INDEX tasks_list (deleted_at=? AND completed=? AND due_date=? AND id>?)",
        "SEARCH activities USING INDEX activities_recent (occurred_at>?)",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in the plan:\n{text}");
    }
}
