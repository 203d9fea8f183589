//! The migrations in `migrations/`, applied in order the way `wrangler d1 migrations apply` does
//! (pending files only, by name, each recorded in `d1_migrations`), give exactly the schema of
//! `schema.sql`, and upgrade a store holding data without losing a row.
//!
//! Starting points checked:
//! - an empty database;
//! - a store created before migrations existed, with `schema.sql` as released in b5921e6
//!   (`tests/fixtures/migrations/pre_0001_schema.sql`), holding data;
//! - a store created with the last pre-migration `schema.sql` (equal to migration 0001) by
//!   `wrangler d1 execute --file`, which records nothing in `d1_migrations`, holding data: its
//!   first `migrations apply` runs every migration from 0001 over it;
//! - for every migration N before the last, a store at migration N holding data
//!   (`seed_0001.sql` and what each later state adds, up to `seed_NNNN.sql`), to which the later
//!   migrations are applied.
//!
//! Adding migration N+1 therefore needs `seed_NNNN.sql` with the rows state N adds (the test names
//! the missing file), and `schema.sql` updated to the new whole schema.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::Connection;

const SCHEMA: &str = include_str!("../schema.sql");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/migrations")
}

struct Migration {
    number: u32,
    name: String,
    sql: String,
}

/// Every `migrations/NNNN_*.sql`, in the order wrangler applies them (by file name).
fn migrations() -> Vec<Migration> {
    let mut found: Vec<Migration> = std::fs::read_dir(root().join("migrations"))
        .expect("migrations/ exists")
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".sql"))
        .map(|name| {
            let number = name
                .get(..4)
                .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()) && name.as_bytes().get(4) == Some(&b'_'))
                .unwrap_or_else(|| panic!("migrations/{name}: the name must be NNNN_description.sql"))
                .parse()
                .unwrap();
            let sql = std::fs::read_to_string(root().join("migrations").join(&name)).unwrap();
            Migration { number, name, sql }
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(!found.is_empty(), "migrations/ holds no migration");
    for (i, m) in found.iter().enumerate() {
        assert_eq!(m.number as usize, i + 1, "migrations must be numbered 0001, 0002, ... without gaps or repeats: {}", m.name);
    }
    found
}

/// What `wrangler d1 migrations apply` does: create its table, then apply every migration not
/// recorded there yet, in order, each in its own transaction, and record it.
fn apply_pending(db: &mut Connection, migrations: &[Migration]) -> Vec<String> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS d1_migrations (
           id INTEGER PRIMARY KEY AUTOINCREMENT,
           name TEXT UNIQUE,
           applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
    )
    .unwrap();
    let mut applied = Vec::new();
    for m in migrations {
        let done: i64 = db.query_row("SELECT count(*) FROM d1_migrations WHERE name = ?1", [&m.name], |r| r.get(0)).unwrap();
        if done > 0 {
            continue;
        }
        let tx = db.transaction().unwrap();
        tx.execute_batch(&m.sql).unwrap_or_else(|e| panic!("{} fails: {e}", m.name));
        tx.execute("INSERT INTO d1_migrations (name) VALUES (?1)", [&m.name]).unwrap();
        tx.commit().unwrap();
        applied.push(m.name.clone());
    }
    applied
}

/// Objects wrangler or SQLite own, not the schema.
fn is_ours(name: &str) -> bool {
    !(name.starts_with("sqlite_") || name.starts_with("_cf_") || name == "d1_migrations")
}

/// SQL text without comments and with canonical spacing, so that a column added by `ALTER TABLE`
/// (SQLite appends it to the stored text) equals the same column written in `schema.sql`.
fn normalise(sql: &str) -> String {
    let without_comments: String = sql
        .lines()
        .map(|line| match line.find("--") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join(" ");
    let collapsed = without_comments.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(collapsed.len());
    for c in collapsed.chars() {
        if matches!(c, '(' | ')' | ',') && out.ends_with(' ') {
            out.pop();
        }
        if c == ' ' && (out.ends_with('(') || out.ends_with(',')) {
            continue;
        }
        out.push(c);
    }
    out
}

/// The schema as SQLite holds it: every table, index and trigger with its normalised SQL, and
/// every table's columns (name, type, not null, default, primary key position).
fn schema_of(db: &Connection) -> BTreeMap<String, String> {
    let mut schema = BTreeMap::new();
    let mut stmt = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name").unwrap();
    let objects: Vec<(String, String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    for (kind, name, sql) in objects.into_iter().filter(|(_, name, _)| is_ours(name)) {
        if kind == "table" {
            let mut cols = db.prepare(&format!("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{name}')")).unwrap();
            let columns: Vec<String> = cols
                .query_map([], |r| {
                    Ok(format!(
                        "{} {} notnull={} default={:?} pk={}",
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, i64>(4)?
                    ))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            schema.insert(format!("table {name} columns"), columns.join("; "));
        }
        schema.insert(format!("{kind} {name}"), normalise(&sql));
    }
    schema
}

fn tables(db: &Connection) -> Vec<String> {
    let mut stmt = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).filter(|n| is_ours(n)).collect()
}

/// One table's rows: primary key (or rowid) -> column -> value.
type Rows = BTreeMap<Vec<String>, BTreeMap<String, Value>>;

fn rows_of(db: &Connection, table: &str) -> Rows {
    let mut info = db.prepare(&format!("SELECT name, pk FROM pragma_table_info('{table}')")).unwrap();
    let columns: Vec<(String, i64)> = info.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    let mut key_columns: Vec<(i64, String)> = columns.iter().filter(|(_, pk)| *pk > 0).map(|(n, pk)| (*pk, n.clone())).collect();
    key_columns.sort();
    let key_sql = if key_columns.is_empty() {
        "quote(rowid)".to_string()
    } else {
        key_columns.iter().map(|(_, n)| format!("quote(\"{n}\")")).collect::<Vec<_>>().join(", ")
    };
    let width = key_columns.len().max(1);
    let select = columns.iter().map(|(n, _)| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
    let mut stmt = db.prepare(&format!("SELECT {key_sql}, {select} FROM \"{table}\"")).unwrap();
    let mut rows = Rows::new();
    let mut result = stmt.query([]).unwrap();
    while let Some(row) = result.next().unwrap() {
        let key: Vec<String> = (0..width).map(|i| row.get::<_, String>(i).unwrap()).collect();
        let values = columns.iter().enumerate().map(|(i, (n, _))| (n.clone(), row.get::<_, Value>(width + i).unwrap())).collect();
        rows.insert(key, values);
    }
    rows
}

fn all_rows(db: &Connection) -> BTreeMap<String, Rows> {
    tables(db).into_iter().map(|t| (t.clone(), rows_of(db, &t))).collect()
}

fn fresh_from_schema_sql() -> Connection {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db
}

fn assert_same_schema(db: &Connection, context: &str) {
    let want = schema_of(&fresh_from_schema_sql());
    let got = schema_of(db);
    for (object, sql) in &want {
        match got.get(object) {
            None => panic!("{context}: {object} is in schema.sql but not in the migrated store"),
            Some(g) if g != sql => panic!("{context}: {object} differs\n schema.sql: {sql}\n migrated:   {g}"),
            _ => {}
        }
    }
    for object in got.keys() {
        assert!(want.contains_key(object), "{context}: {object} is in the migrated store but not in schema.sql");
    }
}

/// Every row present before is still there after, with the same value in every column that both
/// states have; no table disappeared.
fn assert_no_row_lost(before: &BTreeMap<String, Rows>, db: &Connection, context: &str) {
    let after = all_rows(db);
    for (table, rows) in before {
        let Some(now) = after.get(table) else {
            panic!("{context}: table {table} ({} rows) is gone after the migrations", rows.len());
        };
        for (key, values) in rows {
            let Some(kept) = now.get(key) else {
                panic!("{context}: {table} row {key:?} is lost");
            };
            for (column, value) in values {
                // Derived from the record's fields, not data: migration 0011 recomputes it as
                // the record's search terms.
                if column == "search_text" {
                    continue;
                }
                if let Some(v) = kept.get(column) {
                    assert_eq!(v, value, "{context}: {table} row {key:?} column {column} changed");
                }
            }
        }
    }
}

/// The store's own invariants after an upgrade: SQLite's integrity check, and the dashboard
/// counts kept by triggers equal to real counts (no row counted twice or missed).
fn assert_consistent(db: &Connection, context: &str) {
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok", "{context}");
    let version: String = db.query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0)).unwrap();
    assert!(!version.is_empty(), "{context}: /health needs meta.schema_version");
    for (name, real) in [
        ("contacts", "SELECT count(*) FROM contacts WHERE deleted_at IS NULL"),
        ("companies", "SELECT count(*) FROM companies WHERE deleted_at IS NULL"),
        ("tasks_open", "SELECT count(*) FROM tasks WHERE deleted_at IS NULL AND completed = 0"),
        ("tasks_done", "SELECT count(*) FROM tasks WHERE deleted_at IS NULL AND completed <> 0"),
        ("activities", "SELECT count(*) FROM activities"),
    ] {
        let kept: i64 = db.query_row("SELECT n FROM page_counts WHERE name = ?1", [name], |r| r.get(0)).unwrap();
        let counted: i64 = db.query_row(real, [], |r| r.get(0)).unwrap();
        assert_eq!(kept, counted, "{context}: page_counts.{name}");
    }
    // shared_keys holds exactly the keys more than one record holds (migration 0007 found the
    // ones already shared; its triggers keep the rest).
    let keys = |sql: &str| -> Vec<(String, String, String)> {
        let mut q = db.prepare(sql).unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    };
    let shared = keys("SELECT kind, field, key FROM match_keys GROUP BY kind, field, key HAVING count(*) > 1 ORDER BY 1, 2, 3");
    assert_eq!(keys("SELECT kind, field, key FROM shared_keys ORDER BY 1, 2, 3"), shared, "{context}: shared_keys");
    // search_terms holds exactly the terms of every live record's search text (migration 0011
    // filled it; its triggers keep it).
    let terms_of = |table: &str, kind: &str| {
        format!(
            "SELECT '{kind}', j.value, r.id FROM {table} r, json_each('[\"' || replace(r.search_text, ' ', '\",\"') || '\"]') j \
             WHERE r.deleted_at IS NULL AND j.value <> ''"
        )
    };
    let expected = format!(
        "SELECT DISTINCT * FROM ({} UNION ALL {} UNION ALL {}) ORDER BY 1, 2, 3",
        terms_of("contacts", "contact"),
        terms_of("companies", "company"),
        terms_of("tasks", "task")
    );
    assert_eq!(keys("SELECT kind, term, record_id FROM search_terms ORDER BY 1, 2, 3"), keys(&expected), "{context}: search_terms");
}

fn seed(db: &Connection, file: &Path) -> BTreeMap<String, Rows> {
    let sql = std::fs::read_to_string(file).unwrap_or_else(|_| panic!("{} is missing: every state a later migration starts from needs rows to upgrade", file.display()));
    db.execute_batch(&sql).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let rows = all_rows(db);
    let total: usize = rows.values().map(|r| r.len()).sum();
    assert!(total > 20, "{}: too few rows to mean anything", file.display());
    rows
}

/// The rows of a store at migration `at`: `seed_0001.sql`, then what each later state adds to its
/// rows (`seed_0002.sql` … `seed_NNNN.sql`), applied in order.
fn seed_state(db: &Connection, at: usize) -> BTreeMap<String, Rows> {
    let mut rows = BTreeMap::new();
    for state in 1..=at {
        rows = seed(db, &fixtures().join(format!("seed_{state:04}.sql")));
    }
    rows
}

#[test]
fn migrations_from_empty_give_schema_sql() {
    let all = migrations();
    let mut db = Connection::open_in_memory().unwrap();
    let applied = apply_pending(&mut db, &all);
    assert_eq!(applied.len(), all.len());
    assert_same_schema(&db, "empty store, every migration");
    // The rows the schema itself writes (schema_version, the zero counts) are the same too.
    assert_eq!(all_rows(&db), all_rows(&fresh_from_schema_sql()));
    assert_consistent(&db, "empty store");
    // A second run, as after every deploy, applies nothing.
    assert!(apply_pending(&mut db, &all).is_empty());
}

#[test]
fn a_store_created_before_migrations_upgrades_without_losing_a_row() {
    let mut db = Connection::open_in_memory().unwrap();
    db.execute_batch(&std::fs::read_to_string(fixtures().join("pre_0001_schema.sql")).unwrap()).unwrap();
    let before = seed(&db, &fixtures().join("seed_0001.sql"));
    assert!(!before.contains_key("page_counts"), "the fixture predates the dashboard counts");
    apply_pending(&mut db, &migrations());
    assert_same_schema(&db, "pre-migration store");
    assert_no_row_lost(&before, &db, "pre-migration store");
    assert_consistent(&db, "pre-migration store");
    // The counts 0001 took at upgrade are kept by the triggers afterwards.
    db.execute_batch("UPDATE contacts SET deleted_at = '2026-03-01T00:00:00.000Z' WHERE id = 'ct_2'; UPDATE tasks SET completed = 1 WHERE id = 'tk_1';").unwrap();
    assert_consistent(&db, "pre-migration store, written after the upgrade");
}

#[test]
fn every_migration_upgrades_a_store_holding_data() {
    let all = migrations();
    // State N (after migration N, holding data) to the last migration, for every N before the last.
    for at in 1..all.len() {
        let context = format!("store at {}", all[at - 1].name);
        let mut db = Connection::open_in_memory().unwrap();
        apply_pending(&mut db, &all[..at]);
        let before = seed_state(&db, at);
        assert_eq!(apply_pending(&mut db, &all), all[at..].iter().map(|m| m.name.clone()).collect::<Vec<_>>());
        assert_same_schema(&db, &context);
        assert_no_row_lost(&before, &db, &context);
        assert_consistent(&db, &context);
    }
}

#[test]
fn a_store_created_with_the_last_pre_migration_schema_sql_adopts_migrations() {
    // The last release before migrations had schema.sql equal to migration 0001, applied with
    // `wrangler d1 execute --file`, which records nothing in d1_migrations: the first
    // `migrations apply` on such a store runs every migration from 0001 over it.
    let all = migrations();
    let mut db = Connection::open_in_memory().unwrap();
    db.execute_batch(&all[0].sql).unwrap();
    let before = seed(&db, &fixtures().join("seed_0001.sql"));
    assert_eq!(apply_pending(&mut db, &all).len(), all.len());
    assert_same_schema(&db, "store from schema.sql at 0001");
    assert_no_row_lost(&before, &db, "store from schema.sql at 0001");
    assert_consistent(&db, "store from schema.sql at 0001");
}

#[test]
fn normalise_ignores_comments_spacing_and_appended_columns() {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch("CREATE TABLE a (x TEXT, -- the x\n  y INTEGER NOT NULL DEFAULT 0\n); ALTER TABLE a ADD COLUMN z TEXT;").unwrap();
    db.execute_batch("CREATE TABLE b (x TEXT, y INTEGER NOT NULL DEFAULT 0, z TEXT);").unwrap();
    let sql = |name: &str| -> String { db.query_row("SELECT sql FROM sqlite_master WHERE name = ?1", [name], |r| r.get(0)).unwrap() };
    assert_eq!(normalise(&sql("a")).replacen("TABLE a", "TABLE b", 1), normalise(&sql("b")));
    assert_ne!(normalise("CREATE TABLE a (x TEXT)"), normalise("CREATE TABLE a (x INTEGER)"));
}

#[test]
fn migration_0011_indexes_what_was_stored_before() {
    let all = migrations();
    let at = all.iter().position(|m| m.name.starts_with("0011_")).expect("migration 0011 exists");
    let mut db = Connection::open_in_memory().unwrap();
    apply_pending(&mut db, &all[..at]);
    seed_state(&db, at);
    apply_pending(&mut db, &all);
    let found = |kind: &str, term: &str| -> Vec<String> {
        let mut q = db.prepare("SELECT record_id FROM search_terms WHERE kind = ?1 AND term = ?2 ORDER BY 1").unwrap();
        q.query_map([kind, term], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    for term in ["marta", "vidal", "marta.vidal@zeta.io", "marta.vidal", "zeta.io", "34600123456", "600123456", "head", "sales", "emea", "marta-vidal-9"] {
        assert_eq!(found("contact", term), ["ct_s1"], "{term}");
    }
    assert_eq!(found("contact", "931234567"), ["ct_s2"]);
    assert!(found("contact", "15550100").is_empty() && found("contact", "gone").is_empty(), "a deleted contact has no terms");
    for term in ["zeta", "labs", "zeta.io", "442079460958", "2079460958", "zeta-labs"] {
        assert_eq!(found("company", term), ["co_s1"], "{term}");
    }
    for term in ["q3", "draft"] {
        assert_eq!(found("task", term), ["tk_s1"], "{term}");
    }
    // seed_0009's keyed task is "Send the proposal" too.
    assert_eq!(found("task", "proposal"), ["tk_keyed", "tk_s1"]);
    assert!(found("task", "deleted").is_empty());
    // The triggers keep the index from then on: a write of new terms replaces the old ones, a
    // deletion removes them, a revival brings them back.
    db.execute_batch(
        "UPDATE contacts SET search_text = 'marta vidal-roca' WHERE id = 'ct_s1';
         UPDATE contacts SET deleted_at = '2026-04-01T00:00:00.000Z' WHERE id = 'ct_s2';
         UPDATE contacts SET deleted_at = NULL WHERE id = 'ct_s3';
         UPDATE tasks SET search_text = 'final proposal' WHERE id = 'tk_s1';",
    )
    .unwrap();
    assert_eq!(found("contact", "vidal-roca"), ["ct_s1"]);
    assert!(found("contact", "600123456").is_empty() && found("contact", "931234567").is_empty());
    assert_eq!(found("contact", "gone"), ["ct_s3"]);
    assert_eq!(found("task", "final"), ["tk_s1"]);
    assert!(found("task", "draft").is_empty());
    assert_consistent(&db, "after writes");
}
