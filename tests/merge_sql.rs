//! The merge's moves and the undo's statements, run on SQLite with data in the order the Worker's
//! batches run them (`store/d1_merge.rs`): links move set-based with the primary rules, whatever
//! the merge read before; an undo puts every link, externalId, task, activity, child and earlier
//! merged record back; a later write is reported as a conflict and fails the undo's guard.

use edge_crm::store::sql_merge::{self, MergeSql};
use rusqlite::{params, Connection};

const SCHEMA: &str = include_str!("../schema.sql");
const NOW: &str = "2026-03-01T00:00:00.000Z";

fn db() -> Connection {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db
}

/// Everything a merge moves, as sortable text: links, externalIds, tasks, activities, parents,
/// tombstones.
fn state(db: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    for q in [
        "SELECT 'link ' || contact_id || ' ' || company_id || ' ' || is_primary FROM associations",
        "SELECT 'ext ' || kind || ' ' || external_id || ' ' || record_id FROM external_ids",
        "SELECT 'task ' || id || ' ' || coalesce(contact_id, '-') || ' ' || coalesce(company_id, '-') FROM tasks",
        "SELECT 'activity ' || id || ' ' || coalesce(contact_id, '-') || ' ' || coalesce(company_id, '-') FROM activities",
        "SELECT 'contact ' || id || ' ' || coalesce(merged_into, '-') || ' ' || (deleted_at IS NULL) || ' ' || coalesce(external_id, '-') FROM contacts",
        "SELECT 'company ' || id || ' ' || coalesce(merged_into, '-') || ' ' || (deleted_at IS NULL) || ' ' || coalesce(parent_id, '-') \
         || ' ' || coalesce(fields->>'parentCrmId', '-') || ' ' || coalesce(external_id, '-') FROM companies",
    ] {
        let mut stmt = db.prepare(q).unwrap();
        out.extend(stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap));
    }
    out.sort();
    out
}

/// The moves of a merge batch (the survivor's own write left out: it is the update's).
fn merge(db: &Connection, m: &MergeSql, company: bool, survivor: &str, merged: &str, merge_id: &str) {
    let (req, five) = ("req-merge", params![merged, survivor, NOW, "req-merge", merge_id]);
    db.execute(m.record, five).unwrap();
    db.execute(m.history_merge, params![merged, survivor, NOW, req, merge_id]).unwrap();
    let four = params![merged, survivor, NOW, req];
    let three = params![merged, survivor, NOW];
    for s in [m.history_merged, m.history_repoint] {
        db.execute(s, four).unwrap();
    }
    db.execute(m.repoint, params![merged, survivor]).unwrap();
    db.execute(m.history_external, four).unwrap();
    db.execute(m.move_external, params![merged, survivor]).unwrap();
    db.execute(m.history_links_removed, four).unwrap();
    db.execute(m.history_links_added, four).unwrap();
    if !company {
        db.execute(sql_merge::CONTACT_LINKS_DEMOTE, three).unwrap();
    }
    db.execute(m.links_move, three).unwrap();
    db.execute(m.links_drop, [merged]).unwrap();
    db.execute(m.links_move_primary, three).unwrap();
    db.execute(m.history_tasks, four).unwrap();
    db.execute(m.move_tasks, three).unwrap();
    db.execute(m.history_activities, four).unwrap();
    db.execute(m.move_activities, params![merged, survivor]).unwrap();
    if company {
        db.execute(sql_merge::HISTORY_CHILDREN, four).unwrap();
        db.execute(sql_merge::MOVE_CHILDREN, three).unwrap();
    }
    db.execute(m.tombstone, three).unwrap();
    db.execute(sql_merge::FINISH, [merge_id]).unwrap();
}

fn conflicts(db: &Connection, m: &MergeSql, merge_id: &str) -> Vec<String> {
    let mut stmt = db.prepare(m.undo_conflicts).unwrap();
    let rows = stmt
        .query_map([merge_id], |r| {
            Ok(format!("{} {} {} {}", r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?.unwrap_or_default()))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// The undo batch's guards and moves (the records' own writes left out: they are the update's).
fn undo(db: &Connection, m: &MergeSql, company: bool, merge_id: &str) -> rusqlite::Result<()> {
    let tx = db.unchecked_transaction()?;
    tx.execute(sql_merge::UNDO_ONCE, [merge_id])?;
    tx.execute(m.undo_guard, [merge_id])?;
    tx.execute(m.undo_guard_merged, [merge_id])?;
    let three = params![merge_id, "2026-03-02T00:00:00.000Z", "req-undo"];
    let two = params![merge_id, "2026-03-02T00:00:00.000Z"];
    tx.execute(sql_merge::UNDO_HISTORY_REVERSED, three)?;
    tx.execute(m.undo_history_marks, three)?;
    for s in [m.undo_revive, m.undo_repoint, m.undo_external, m.undo_external_column, sql_merge::UNDO_LINKS_ADDED] {
        tx.execute(s, [merge_id])?;
    }
    tx.execute(sql_merge::UNDO_LINKS_PRIMARY, two)?;
    tx.execute(sql_merge::UNDO_LINKS_REMOVED, two)?;
    tx.execute(m.undo_tasks, two)?;
    tx.execute(m.undo_activities, [merge_id])?;
    if company {
        tx.execute(sql_merge::UNDO_CHILDREN, two)?;
    }
    tx.execute(sql_merge::UNDONE, three)?;
    tx.commit()
}

const CONTACTS: &str = "
INSERT INTO companies (id, fields, created_at, updated_at) VALUES ('co_1', '{}', 't', 't'), ('co_2', '{}', 't', 't'), ('co_3', '{}', 't', 't'), ('co_4', '{}', 't', 't');
INSERT INTO contacts (id, external_id, created_at, updated_at, deleted_at, merged_into) VALUES
  ('ct_s', NULL, 't', 't', NULL, NULL), ('ct_m1', 'e-m1', 't', 't', NULL, NULL), ('ct_m2', 'e-m2', 't', 't', NULL, NULL),
  ('ct_old', 'e-old', 't', 't', 't', 'ct_m1');
INSERT INTO external_ids (kind, external_id, record_id, created_at) VALUES
  ('contact', 'e-m1', 'ct_m1', 't1'), ('contact', 'e-m1b', 'ct_m1', 't2'), ('contact', 'e-m2', 'ct_m2', 't1'), ('contact', 'e-old', 'ct_m1', 't0');
INSERT INTO associations (contact_id, company_id, is_primary, created_at, updated_at) VALUES
  ('ct_s', 'co_1', 0, 't', 't'), ('ct_m1', 'co_1', 1, 't', 't'), ('ct_m1', 'co_2', 0, 't', 't'), ('ct_m2', 'co_3', 1, 't', 't');
INSERT INTO tasks (id, subject, contact_id, created_at, updated_at) VALUES ('tk_1', 'Call', 'ct_m1', 't', 't'), ('tk_2', 'Mail', 'ct_s', 't', 't');
INSERT INTO activities (id, type, occurred_at, contact_id, created_at) VALUES ('ac_1', 'EMAIL', 't', 'ct_m2', 't');
";

fn links(db: &Connection, contact: &str) -> Vec<(String, i64)> {
    let mut stmt = db.prepare("SELECT company_id, is_primary FROM associations WHERE contact_id = ?1 ORDER BY company_id").unwrap();
    let rows = stmt.query_map([contact], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn a_contact_merge_moves_links_by_the_primary_rules_and_its_undo_puts_everything_back() {
    let db = db();
    db.execute_batch(CONTACTS).unwrap();
    // Written after the merge "read" its records: the set-based move takes it all the same (the
    // merge used to move only the links it had loaded, leaving this one on a tombstone).
    db.execute("INSERT INTO associations VALUES ('ct_m2', 'co_4', 0, 't', 't')", []).unwrap();
    let before = state(&db);
    let m = &sql_merge::CONTACTS;
    merge(&db, m, false, "ct_s", r#"["ct_m1","ct_m2"]"#, "mg_1");
    // The survivor had no primary: the first merged contact's primary (co_1) becomes its own, on
    // the link it already had; ct_m2's primary (co_3) comes as an ordinary link.
    let expected: Vec<(String, i64)> = [("co_1", 1), ("co_2", 0), ("co_3", 0), ("co_4", 0)].iter().map(|(c, p)| (c.to_string(), *p)).collect();
    assert_eq!(links(&db, "ct_s"), expected);
    assert!(links(&db, "ct_m1").is_empty() && links(&db, "ct_m2").is_empty(), "no link is left on a tombstone");
    let after = state(&db);
    assert!(after.contains(&"contact ct_old ct_s 0 e-old".to_string()), "{after:?}");
    assert!(after.contains(&"task tk_1 ct_s -".to_string()) && after.contains(&"activity ac_1 ct_s -".to_string()), "{after:?}");
    assert!(after.contains(&"ext contact e-m1b ct_s".to_string()));
    let range: (i64, i64) = db.query_row("SELECT first_history, last_history FROM merges WHERE id = 'mg_1'", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    let written: i64 = db.query_row("SELECT count(*) FROM history", [], |r| r.get(0)).unwrap();
    assert_eq!((range.0, range.1), (1, written), "the merge's range holds every row it wrote");

    assert!(conflicts(&db, m, "mg_1").is_empty());
    let mut stmt = db.prepare(m.undo_history).unwrap();
    let fields: Vec<String> = stmt.query_map(["mg_1"], |r| r.get::<_, String>(1)).unwrap().map(Result::unwrap).collect();
    assert_eq!(fields, ["(merged)", "(merged)"], "the survivor's own rows come too; here the survivor's write was left out");
    undo(&db, m, false, "mg_1").unwrap();
    // The merged records are live again and everything that moved is back.
    assert_eq!(state(&db), before);
    let reversed: i64 = db.query_row("SELECT count(*) FROM history WHERE request_id = 'req-undo'", [], |r| r.get(0)).unwrap();
    assert_eq!(reversed, written, "every row reversed, the (merge) and (merged) rows replaced by the undo's marks");
    // Undone once: the guard fails the second.
    assert!(undo(&db, m, false, "mg_1").is_err());
}

#[test]
fn a_later_change_of_what_the_merge_moved_is_a_conflict_and_fails_the_undo() {
    let db = db();
    db.execute_batch(CONTACTS).unwrap();
    let m = &sql_merge::CONTACTS;
    merge(&db, m, false, "ct_s", r#"["ct_m1","ct_m2"]"#, "mg_1");
    db.execute(
        "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) \
         VALUES ('task', 'tk_1', 'contactId', '\"ct_s\"', '\"ct_x\"', 'later', 'req-later'), \
                ('contact', 'ct_s', 'association', '{\"companyId\":\"co_3\",\"primary\":false}', NULL, 'later', 'req-later'), \
                ('task', 'tk_2', 'contactId', '\"ct_s\"', '\"ct_x\"', 'later', 'req-later')",
        [],
    )
    .unwrap();
    db.execute("UPDATE external_ids SET record_id = 'ct_other' WHERE external_id = 'e-m2'", []).unwrap();
    let after = state(&db);
    let mut found = conflicts(&db, m, "mg_1");
    found.sort();
    assert_eq!(found, ["contact ct_s association co_3", "externalId e-m2 externalId ", "task tk_1 contactId "], "tk_2 was never moved");
    assert!(undo(&db, m, false, "mg_1").is_err());
    assert_eq!(state(&db)[..], after[..], "nothing was written");
}

#[test]
fn a_company_merge_moves_primaries_and_children_and_its_undo_puts_them_back() {
    let db = db();
    db.execute_batch(
        "INSERT INTO companies (id, fields, parent_id, created_at, updated_at) VALUES ('co_s', '{}', NULL, 't', 't'), ('co_m', '{}', NULL, 't', 't'), \
           ('co_child', '{\"parentCrmId\":\"co_m\"}', 'co_m', 't', 't');
         INSERT INTO contacts (id, created_at, updated_at) VALUES ('ct_x', 't', 't'), ('ct_y', 't', 't');
         INSERT INTO associations (contact_id, company_id, is_primary, created_at, updated_at) VALUES
           ('ct_x', 'co_m', 1, 't', 't'), ('ct_x', 'co_s', 0, 't', 't'), ('ct_y', 'co_m', 0, 't', 't');
         INSERT INTO tasks (id, subject, company_id, created_at, updated_at) VALUES ('tk_1', 'Call', 'co_m', 't', 't');",
    )
    .unwrap();
    let before = state(&db);
    let m = &sql_merge::COMPANIES;
    merge(&db, m, true, "co_s", r#"["co_m"]"#, "mg_2");
    assert_eq!(links(&db, "ct_x"), [("co_s".to_string(), 1)], "a contact whose primary was merged has the survivor as primary");
    assert_eq!(links(&db, "ct_y"), [("co_s".to_string(), 0)]);
    assert!(state(&db).contains(&"company co_child - 1 co_s co_s -".to_string()));
    assert!(conflicts(&db, m, "mg_2").is_empty());
    undo(&db, m, true, "mg_2").unwrap();
    assert_eq!(state(&db), before);
}
