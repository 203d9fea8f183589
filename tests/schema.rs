//! `schema.sql` applies cleanly, twice, and every SQL constant of the storage layer prepares
//! against it (SQLite bundled at a version close to D1's).

use edge_crm::store::sql;
use rusqlite::Connection;

const SCHEMA: &str = include_str!("../schema.sql");

#[test]
fn schema_applies_twice() {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db.execute_batch(SCHEMA).unwrap();
    let version: String = db
        .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, "1");
}

#[test]
fn every_statement_prepares() {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    for (name, statement) in sql::ALL {
        if let Err(e) = db.prepare(statement) {
            panic!("{name} does not prepare: {e}\n{statement}");
        }
    }
}

#[test]
fn every_table_the_contract_needs_exists() {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    for table in [
        "contacts", "companies", "associations", "tasks", "activities", "users", "history",
        "external_ids", "match_keys",
    ] {
        let n: i64 = db
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "table {table} is missing");
    }
}
