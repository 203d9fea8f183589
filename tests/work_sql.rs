//! "My work" (`store::sql_work_page`) run on SQLite with data, its row read by the pure core
//! exactly as the Worker reads D1's: the groups and their order, the counts, the per-group limit,
//! a person who is no user, and the plans: every read of `tasks` is a range of the partial index
//! `tasks_owner_open`, so the page costs the same whatever the store holds beyond the person's own
//! open tasks (checked by plan, and by counting SQLite's steps before and after adding thousands
//! of other tasks).

#[path = "support/rows.rs"]
mod support_rows;
use support_rows::rows;

use edge_crm::domain::pages::form::Forms;
use edge_crm::domain::pages::layout::WorkCounts;
use edge_crm::domain::pages::work::{day_bounds, email_key, PersonRow, WorkPage, WorkRow};
use edge_crm::domain::pages::html::Html;
use edge_crm::domain::time::Timestamp;
use edge_crm::store::sql_work_page::{WORK_COUNTS, WORK_PAGE};
use rusqlite::{params, Connection, StatementStatus};


const SCHEMA: &str = include_str!("../schema.sql");

/// 12:00 UTC on 2024-01-10: today runs to 2024-01-11T00:00:00.000Z.
fn bounds() -> (String, String) {
    day_bounds(Timestamp::parse("2024-01-10T12:00:00.000Z").unwrap())
}


fn user(db: &Connection, id: &str, name: &str, email: &str) {
    db.execute(
        "INSERT INTO users (id, name, email, email_key, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 't', 't')",
        params![id, name, email, email_key(email).unwrap()],
    )
    .unwrap();
}

/// A task of `owner` due at `due`; `state` is "open", "done" or "deleted".
fn task(db: &Connection, id: &str, owner: Option<&str>, due: Option<&str>, state: &str) {
    db.execute(
        "INSERT INTO tasks (id, subject, owner_id, due_date, contact_id, company_id, completed, completed_at, created_at, updated_at, deleted_at) \
         VALUES (?1, 'Task ' || ?1, ?2, ?3, 'ct_ada', 'co_acme', ?4, iif(?4, 't', NULL), 't', 't', iif(?5, 't', NULL))",
        params![id, owner, due, state == "done", state == "deleted"],
    )
    .unwrap();
}

/// Sam's open tasks in every group (inserted out of order), the edges of the day, and tasks that
/// must not show: completed, deleted, Ana's, and unowned.
fn seeded() -> Connection {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    user(&db, "us_sam", "Sam Seller", "Sam@X.com");
    user(&db, "us_ana", "Ana Ruiz", "ana@x.com");
    db.execute(
        "INSERT INTO contacts (id, fields, display_name, search_text, created_at, updated_at) VALUES ('ct_ada', '{}', 'Ada Lovelace', '', 't', 't')",
        [],
    )
    .unwrap();
    db.execute(
        "INSERT INTO companies (id, fields, display_name, search_text, created_at, updated_at) VALUES ('co_acme', '{}', 'Acme', '', 't', 't')",
        [],
    )
    .unwrap();
    let sam = Some("us_sam");
    task(&db, "tk_o2", sam, Some("2024-01-10T11:59:59.999Z"), "open");
    task(&db, "tk_o1", sam, Some("2023-12-01T09:00:00.000Z"), "open");
    task(&db, "tk_t2", sam, Some("2024-01-10T23:59:59.999Z"), "open");
    task(&db, "tk_t1", sam, Some("2024-01-10T12:00:00.000Z"), "open");
    task(&db, "tk_u2", sam, Some("2024-03-01T00:00:00.000Z"), "open");
    task(&db, "tk_u1", sam, Some("2024-01-11T00:00:00.000Z"), "open");
    task(&db, "tk_n2", sam, None, "open");
    task(&db, "tk_n1", sam, None, "open");
    task(&db, "tk_done", sam, Some("2024-01-01T00:00:00.000Z"), "done");
    task(&db, "tk_gone", sam, Some("2024-01-10T13:00:00.000Z"), "deleted");
    task(&db, "tk_gone_n", sam, None, "deleted");
    task(&db, "tk_ana_o", Some("us_ana"), Some("2024-01-01T00:00:00.000Z"), "open");
    task(&db, "tk_ana_n", Some("us_ana"), None, "open");
    task(&db, "tk_nobody", None, Some("2024-01-10T15:00:00.000Z"), "open");
    db
}

fn work_row(db: &Connection, email: &str, per_group: i64) -> WorkRow {
    let (now, tomorrow) = bounds();
    let key = email_key(email).unwrap_or_default();
    let mut found = rows(db, WORK_PAGE, &[&key, &now, &tomorrow, &per_group]);
    assert_eq!(found.len(), 1, "one row always");
    serde_json::from_value(found.pop().unwrap()).unwrap()
}

fn person(db: &Connection, email: &str) -> PersonRow {
    let (now, tomorrow) = bounds();
    let key = email_key(email).unwrap_or_default();
    let mut found = rows(db, WORK_COUNTS, &[&key, &now, &tomorrow]);
    assert_eq!(found.len(), 1, "one row always");
    serde_json::from_value(found.pop().unwrap()).unwrap()
}

fn counts(db: &Connection, email: &str) -> WorkCounts {
    person(db, email).counts
}

fn ids(page: &WorkPage) -> [Vec<&str>; 4] {
    [&page.overdue, &page.today, &page.upcoming, &page.undated].map(|g| g.iter().map(|t| t.task.id.as_str()).collect())
}

#[test]
fn a_persons_open_tasks_in_four_groups_in_order() {
    let db = seeded();
    // Signed in with another spelling of the stored email.
    let page = WorkPage::from_row(work_row(&db, " sam@x.COM", 100), "sam@x.COM");
    let user = page.user.as_ref().expect("Sam is a user");
    assert_eq!((user.id.as_str(), user.name.as_str(), user.email.as_str()), ("us_sam", "Sam Seller", "Sam@X.com"));
    assert_eq!(
        ids(&page),
        [vec!["tk_o1", "tk_o2"], vec!["tk_t1", "tk_t2"], vec!["tk_u1", "tk_u2"], vec!["tk_n1", "tk_n2"]],
        "overdue oldest first; due at now is today; due at tomorrow's start is upcoming; undated by id"
    );
    assert_eq!(page.counts, WorkCounts { overdue: 2, today: 2, upcoming: 2, undated: 2 });
    assert_eq!(counts(&db, "Sam@x.com"), page.counts, "the header's statement agrees");
    let first = &page.overdue[0];
    assert_eq!(first.owner_id.as_deref(), Some("us_sam"));
    assert_eq!(first.task.contact_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(first.task.company_name.as_deref(), Some("Acme"));
    assert_eq!(first.task.due_date.as_deref(), Some("2023-12-01T09:00:00.000Z"));
    assert!(!first.task.completed);
    let users: Vec<&str> = page.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(users, ["us_ana", "us_sam"], "every user, by name");

    let mut h = Html::new();
    page.render_content(&mut h, &Forms::new("tok", "f"));
    let html = h.finish();
    assert!(html.contains("<h2>Overdue (2)</h2>"), "{html}");
    assert!(html.contains("action=\"/view/tasks/tk_o1\""));
    assert!(html.contains("<option value=\"us_sam\" selected>Sam Seller (Sam@X.com)</option>"));
    for hidden in ["tk_done", "tk_gone", "tk_ana_o", "tk_nobody"] {
        assert!(!html.contains(hidden), "{hidden} is not Sam's open task");
    }
}

#[test]
fn each_group_stops_at_the_limit_and_its_count_stays_whole() {
    let db = seeded();
    let page = WorkPage::from_row(work_row(&db, "sam@x.com", 1), "sam@x.com");
    assert_eq!(ids(&page), [vec!["tk_o1"], vec!["tk_t1"], vec!["tk_u1"], vec!["tk_n1"]]);
    assert_eq!(page.counts.total(), 8);
    let mut h = Html::new();
    page.render_content(&mut h, &Forms::new("tok", "f"));
    assert!(h.finish().contains("Showing the oldest 1 of 2."));
}

#[test]
fn writes_move_tasks_between_groups_and_out() {
    let db = seeded();
    db.execute("UPDATE tasks SET completed = 1 WHERE id = 'tk_o1'", []).unwrap();
    db.execute("UPDATE tasks SET due_date = NULL WHERE id = 'tk_t1'", []).unwrap();
    db.execute("UPDATE tasks SET owner_id = 'us_ana' WHERE id = 'tk_u1'", []).unwrap();
    db.execute("UPDATE tasks SET deleted_at = 't' WHERE id = 'tk_n2'", []).unwrap();
    let page = WorkPage::from_row(work_row(&db, "sam@x.com", 100), "sam@x.com");
    assert_eq!(ids(&page), [vec!["tk_o2"], vec!["tk_t2"], vec!["tk_u2"], vec!["tk_n1", "tk_t1"]]);
    assert_eq!(counts(&db, "sam@x.com"), WorkCounts { overdue: 1, today: 1, upcoming: 1, undated: 2 });
    assert_eq!(counts(&db, "ana@x.com"), WorkCounts { overdue: 1, today: 0, upcoming: 1, undated: 1 });
}

#[test]
fn a_person_who_is_no_user_has_no_tasks_and_the_page_says_so() {
    let db = seeded();
    let row = work_row(&db, "new@x.com", 100);
    assert!(row.user.is_none());
    let page = WorkPage::from_row(row, "new@x.com");
    assert!(ids(&page).iter().all(Vec::is_empty));
    assert_eq!(page.counts, WorkCounts::default());
    assert_eq!(page.users.len(), 2);
    assert_eq!(counts(&db, "new@x.com"), WorkCounts::default());
    assert_eq!(person(&db, "new@x.com").user(), None, "the header's read says who is no user");
    assert_eq!(person(&db, "SAM@x.com").user().map(|u| u.email.to_lowercase()), Some("sam@x.com".to_string()), "and who is one, by email key");
    // A name that is no email (the shared password's `dashboard`): the key is empty, no user.
    assert!(work_row(&db, "dashboard", 100).user.is_none());
    let mut h = Html::new();
    page.render_content(&mut h, &Forms::new("tok", "f"));
    assert!(h.finish().contains("has no user in the CRM"));
}

/// The plan of every statement: each read of `tasks` is a search of `tasks_owner_open` (no scan,
/// no other index), and the counts are answered from the index alone.
#[test]
fn every_read_of_tasks_is_a_range_of_the_owner_index() {
    let db = seeded();
    for (name, sql) in [("WORK_PAGE", WORK_PAGE), ("WORK_COUNTS", WORK_COUNTS)] {
        let mut plan = db.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls = vec![rusqlite::types::Null; plan.parameter_count()];
        let details: Vec<String> =
            plan.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
        let on_tasks: Vec<&String> = details.iter().filter(|d| d.split_whitespace().nth(1) == Some("tasks")).collect();
        let expected = if name == "WORK_PAGE" { 8 } else { 4 };
        assert_eq!(on_tasks.len(), expected, "{name}: {details:#?}");
        for d in &on_tasks {
            assert!(d.starts_with("SEARCH tasks USING ") && d.contains("INDEX tasks_owner_open (owner_id=?"), "{name}: {d}");
        }
        let counted = on_tasks.iter().filter(|d| d.contains("COVERING INDEX")).count();
        assert_eq!(counted, 4, "{name}: the four counts read the index alone: {details:#?}");
        // No group is sorted before its limit: each is read in the index's order and stops there.
        // (Only the few rows a group keeps are sorted again, by json_group_array's ORDER BY.)
        assert!(!details.iter().any(|d| d.starts_with("USE TEMP B-TREE FOR ORDER BY")), "{name}: {details:#?}");
    }
}

/// SQLite's own count of the steps a statement took.
fn steps(db: &Connection, sql: &str, args: &[&dyn rusqlite::ToSql]) -> i32 {
    let mut stmt = db.prepare(sql).unwrap();
    stmt.query(args).unwrap().next().unwrap().expect("one row");
    stmt.get_status(StatementStatus::VmStep)
}

#[test]
fn the_page_costs_the_same_whatever_else_the_store_holds() {
    let db = seeded();
    let (now, tomorrow) = bounds();
    let key = "sam@x.com".to_string();
    let limit = 100i64;
    let page_steps = |db: &Connection| steps(db, WORK_PAGE, &[&key, &now, &tomorrow, &limit]);
    let count_steps = |db: &Connection| steps(db, WORK_COUNTS, &[&key, &now, &tomorrow]);
    let before = (page_steps(&db), count_steps(&db));
    let tx = db.unchecked_transaction().unwrap();
    for i in 0..3000 {
        let due = format!("2024-01-{:02}T10:00:00.000Z", i % 28 + 1);
        task(&tx, &format!("tk_other_{i:05}"), Some("us_ana"), Some(&due), "open");
        task(&tx, &format!("tk_mine_done_{i:05}"), Some("us_sam"), Some(&due), if i % 2 == 0 { "done" } else { "deleted" });
        task(&tx, &format!("tk_none_{i:05}"), None, if i % 3 == 0 { None } else { Some(&due) }, "open");
    }
    tx.commit().unwrap();
    let after = (page_steps(&db), count_steps(&db));
    assert_eq!(before, after, "9,000 tasks that are not Sam's open ones cost Sam's page nothing");
    // Sam's own open tasks do cost: the counts read each of them.
    task(&db, "tk_more", Some("us_sam"), Some("2024-01-02T00:00:00.000Z"), "open");
    assert!(count_steps(&db) > before.1);
}
