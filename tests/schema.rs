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
    for (name, statement) in sql::all() {
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

/// Runs the create statements the way the Worker's batch does, on SQLite: a second identical
/// batch creates nothing, links resolve to the first record, and keys and history are written
/// for new records only.
#[test]
fn create_statements_are_idempotent_on_external_id() {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    let s = &sql::COMPANIES;
    let items = |a: &str, b: &str| {
        format!(
            r#"[{{"id":"{a}","externalId":"ext-1","fields":{{"name":"Acme"}},"properties":{{"tier":1}},"ownerId":null,"parentId":null,"displayName":"Acme","searchText":"acme","keys":[["name","acme"],["domain","acme.com"]]}},
                {{"id":"{b}","externalId":null,"fields":{{"name":"Beta"}},"properties":{{}},"ownerId":null,"parentId":null,"displayName":"Beta","searchText":"beta","keys":[]}}]"#
        )
    };
    let run = |json: &str, now: &str| {
        for statement in [s.insert_new, s.link_new] {
            db.execute(statement, rusqlite::params![json, now]).unwrap();
        }
        db.execute(s.keys_new, [json]).unwrap();
        db.execute(s.history_new, rusqlite::params![json, now, "req_1"]).unwrap();
        let mut stmt = db.prepare(s.resolve_external).unwrap();
        let rows: Vec<(i64, String)> = stmt
            .query_map([json], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows
    };
    let first = run(&items("co_a", "co_b"), "2024-01-01T00:00:00.000Z");
    assert_eq!(first, vec![(0, "co_a".to_string())]);
    let second = run(&items("co_c", "co_d"), "2024-01-01T00:00:00.000Z");
    assert_eq!(second, vec![(0, "co_a".to_string())], "the retried externalId resolves to the first record");
    let count = |q: &str| -> i64 { db.query_row(q, [], |r| r.get(0)).unwrap() };
    // co_a, co_b, and co_d (no externalId: a new record each time); never co_c.
    assert_eq!(count("SELECT count(*) FROM companies"), 3);
    assert_eq!(count("SELECT count(*) FROM companies WHERE id = 'co_c'"), 0);
    assert_eq!(count("SELECT count(*) FROM match_keys WHERE record_id = 'co_a'"), 2);
    assert_eq!(count("SELECT count(*) FROM history WHERE field = '(created)'"), 3);
    let props: String = db.query_row("SELECT properties FROM companies WHERE id = 'co_a'", [], |r| r.get(0)).unwrap();
    assert_eq!(props, r#"{"tier":1}"#, "stored as a JSON object, not a quoted string");
    // The clock did not move, yet the second write is later than the first.
    let stamps: Vec<String> = db
        .prepare("SELECT updated_at FROM companies ORDER BY updated_at")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(stamps, ["2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.001Z"]);
}

/// The guard fails the batch when a record changed after it was read, and lets it through when not.
#[test]
fn guard_refuses_stale_writes() {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db.execute(
        "INSERT INTO contacts (id, created_at, updated_at) VALUES ('ct_a', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')",
        [],
    )
    .unwrap();
    let fresh = r#"[{"id":"ct_a","base":"2024-01-01T00:00:00.000Z"}]"#;
    let stale = r#"[{"id":"ct_a","base":"2023-12-31T00:00:00.000Z"}]"#;
    assert_eq!(db.execute(sql::CONTACTS.guard, [fresh]).unwrap(), 0);
    let err = db.execute(sql::CONTACTS.guard, [stale]).unwrap_err().to_string();
    assert!(err.contains("concurrent_write"), "{err}");
}

/// An update rewrites only the keys that changed: `keys_delete` removes the keys a record no
/// longer has (all of them when the item names none, as a merge's tombstones do) and `keys_new`
/// adds the new ones, leaving a kept key untouched; `update_light` writes the fields and the stamp
/// and leaves the list columns as stored, `update` rewrites them; both answer the new stamp.
#[test]
fn updates_rewrite_only_what_changed() {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    let s = &sql::COMPANIES;
    for id in ["co_1", "co_2"] {
        db.execute(
            "INSERT INTO companies (id, fields, display_name, search_text, created_at, updated_at) VALUES (?1, '{}', 'Old', 'old', 't0', 't0')",
            [id],
        )
        .unwrap();
    }
    db.execute_batch(
        "INSERT INTO match_keys VALUES ('company', 'domain', 'a.com', 'co_1'), ('company', 'name', 'acme', 'co_1'),          ('company', 'domain', 'b.com', 'co_2')",
    )
    .unwrap();
    let keys_of = |id: &str| -> Vec<String> {
        let mut st = db.prepare("SELECT field || ':' || key FROM match_keys WHERE record_id = ?1 ORDER BY 1").unwrap();
        st.query_map([id], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let items = r#"[{"id":"co_1","keys":[["name","acme"],["domain","acme.io"]]}]"#;
    assert_eq!(db.execute(s.keys_delete, [items]).unwrap(), 1, "only a.com is gone");
    assert_eq!(db.execute(s.keys_new, [items]).unwrap(), 1, "only acme.io is new");
    assert_eq!(keys_of("co_1"), ["domain:acme.io", "name:acme"]);
    assert_eq!(keys_of("co_2"), ["domain:b.com"], "a record not named keeps its keys");
    assert_eq!(db.execute(s.keys_delete, [r#"[{"id":"co_2"}]"#]).unwrap(), 1, "no keys named: all go");
    assert!(keys_of("co_2").is_empty());

    let light = r#"[{"id":"co_1","fields":{"industry":"Fintech"},"properties":{"x":1},"lastActivityAt":null}]"#;
    let stamped: Vec<(String, String)> = db
        .prepare(s.update_light)
        .unwrap()
        .query_map(rusqlite::params![light, "t1"], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(stamped, [("co_1".to_string(), "t1".to_string())]);
    let row = |id: &str| -> (String, String, String) {
        db.query_row("SELECT fields, display_name, search_text FROM companies WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap()
    };
    assert_eq!(row("co_1"), (r#"{"industry":"Fintech"}"#.to_string(), "Old".to_string(), "old".to_string()));
    let full = r#"[{"id":"co_2","fields":{"name":"New"},"properties":{},"ownerId":null,"parentId":null,"displayName":"New","searchText":"new","lastActivityAt":null}]"#;
    let stamped: Vec<String> =
        db.prepare(s.update).unwrap().query_map(rusqlite::params![full, "t1"], |r| r.get(1)).unwrap().map(Result::unwrap).collect();
    assert_eq!(stamped.len(), 1);
    assert_eq!(row("co_2").1, "New");
    // The load answers one JSON array, the fields as objects.
    let packed: String = db.query_row(s.load, [r#"["co_1","co_9"]"#], |r| r.get(0)).unwrap();
    let loaded: serde_json::Value = serde_json::from_str(&packed).unwrap();
    assert_eq!(loaded.as_array().unwrap().len(), 1);
    assert_eq!(loaded[0]["fields"], serde_json::json!({"industry": "Fintech"}));
    assert_eq!((loaded[0]["updated_at"].as_str(), loaded[0]["last_activity_at"].is_null()), (Some("t1"), true));
    // Read back as the Worker reads it.
    let rows: Vec<edge_crm::domain::record::RecordRow> =
        serde_json::from_str::<Vec<edge_crm::domain::record::LoadedRecord>>(&packed).unwrap().into_iter().map(Into::into).collect();
    assert_eq!((rows[0].id.as_str(), rows[0].updated_at.as_str(), rows[0].last_activity_at.as_deref()), ("co_1", "t1", None));
    assert_eq!(rows[0].fields.get("industry"), Some(&serde_json::json!("Fintech")));
    let none: String = db.query_row(s.load, [r#"["co_9"]"#], |r| r.get(0)).unwrap();
    assert_eq!(none, "[]");
}

/// The candidates of a sync come packed in one row: a JSON array the Worker reads as
/// `Candidate`s, links, owner and parent included, deleted records left out. Their keys are those
/// of their fields, and the stored keys they were found by (a key a former normaliser wrote still
/// finds and matches its record).
#[test]
fn candidates_are_packed_as_the_worker_reads_them() {
    use edge_crm::domain::matching::MatchField;
    use edge_crm::domain::record::RecordKind;
    use edge_crm::domain::sync::{Candidate, CandidateRow};
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db.execute_batch(
        "INSERT INTO users (id, email, email_key, name, created_at, updated_at) VALUES ('us_1', 'ana@acme.com', 'ana@acme.com', 'Ana', 't', 't');
         INSERT INTO companies (id, external_id, fields, properties, owner_id, parent_id, created_at, updated_at, last_activity_at)
           VALUES ('co_1', 'e1', '{\"name\":\"Acme\",\"domain\":\"acme.com\"}', '{\"tier\":2}', 'us_1', 'co_0', 't0', 't1', '2026-01-02T00:00:00.000Z');
         INSERT INTO companies (id, fields, properties, created_at, updated_at) VALUES ('co_2', '{}', '{}', 't0', 't0');
         INSERT INTO companies (id, fields, properties, created_at, updated_at, deleted_at) VALUES ('co_3', '{}', '{}', 't0', 't0', 't2');
         INSERT INTO match_keys VALUES ('company', 'domain', 'acme.com', 'co_1'), ('company', 'name', 'acme', 'co_1'), ('company', 'domain', 'gone.com', 'co_3'),
           ('company', 'domain', 'acme-legacy.com', 'co_1');
         INSERT INTO external_ids (kind, external_id, record_id, created_at) VALUES ('company', 'e1', 'co_1', 't0'), ('company', 'e1b', 'co_1', 't0');",
    )
    .unwrap();
    let s = &sql::COMPANIES;
    let packed: String = db
        .query_row(s.candidates, rusqlite::params![r#"["e1","e-none"]"#, r#"[["domain","acme.com"],["domain","gone.com"],["domain","acme-legacy.com"]]"#, r#"["co_2"]"#, 1], |r| r.get(0))
        .unwrap();
    let rows: Vec<CandidateRow> = serde_json::from_str(&packed).unwrap();
    let mut found: Vec<Candidate> = rows.into_iter().map(|row| row.candidate(RecordKind::Company, &["e1", "e-none"].into_iter().collect())).collect();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(found.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["co_1", "co_2"], "by link, key and hint; never the deleted one");
    let acme = &found[0];
    assert_eq!(acme.keys.keys(MatchField::Domain).collect::<Vec<_>>(), ["acme-legacy.com", "acme.com"], "its fields' key and the stored key that found it");
    assert_eq!(acme.keys.keys(MatchField::DomainAnyTld).collect::<Vec<_>>(), ["acme"], "computed from its domain");
    assert_eq!(acme.keys.keys(MatchField::Name).collect::<Vec<_>>(), ["acme"]);
    let mut links = acme.external_ids.clone();
    links.sort();
    assert_eq!(links, ["e1", "e1b"]);
    assert_eq!(acme.fields["name"], serde_json::json!("Acme"));
    assert_eq!(acme.properties["tier"], serde_json::json!(2));
    assert_eq!((acme.updated_at.as_deref(), acme.parent_id.as_deref()), (Some("t1"), Some("co_0")));
    assert_eq!(acme.last_activity_at.as_deref(), Some("2026-01-02T00:00:00.000Z"));
    let owner = acme.owner.as_ref().expect("the owner is a stored user");
    assert_eq!((owner.name.as_deref(), owner.email.as_deref()), (Some("Ana"), Some("ana@acme.com")));
    let bare = &found[1];
    assert!(bare.keys.is_empty() && bare.external_ids.is_empty() && bare.owner.is_none() && bare.parent_id.is_none());
    let none: String = db.query_row(s.candidates, rusqlite::params!["[]", "[]", "[]", 1], |r| r.get(0)).unwrap();
    assert_eq!(none, "[]");
    // For deciding only: the links the request sent that it holds, and its own externalId,
    // without reading the rest.
    let deciding = |external_ids: &str| -> Vec<String> {
        let packed: String = db.query_row(s.candidates, rusqlite::params![external_ids, r#"[["domain","acme.com"]]"#, "[]", 0], |r| r.get(0)).unwrap();
        let rows: Vec<CandidateRow> = serde_json::from_str(&packed).unwrap();
        assert_eq!(rows.len(), 1, "{packed}");
        let sent: Vec<String> = serde_json::from_str(external_ids).unwrap();
        rows.into_iter().next().unwrap().candidate(RecordKind::Company, &sent.iter().map(String::as_str).collect()).external_ids
    };
    assert_eq!(deciding(r#"["e1b","e-none"]"#), ["e1b", "e1"]);
    assert_eq!(deciding(r#"["e1"]"#), ["e1"]);
    assert_eq!(deciding("[]"), ["e1"]);
}

/// The link statements in the Worker's order: primary moves, primary_replace removes the other
/// links (with history), a repeat changes nothing.
#[test]
fn link_statements_keep_one_primary_and_replace() {
    use sql::links;
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    let run = |plan: &str| {
        for statement in [links::HISTORY_REPLACED, links::HISTORY_ADDED] {
            db.execute(statement, rusqlite::params![plan, "t", "r"]).unwrap();
        }
        db.execute(links::DELETE_REPLACED, [plan]).unwrap();
        db.execute(links::DEMOTE, rusqlite::params![plan, "t"]).unwrap();
        db.execute(links::UPSERT, rusqlite::params![plan, "t"]).unwrap();
    };
    let links_of = || -> Vec<(String, i64)> {
        db.prepare("SELECT company_id, is_primary FROM associations WHERE contact_id = 'ct_1' ORDER BY company_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let entry = |co: &str, primary: bool, replace: bool| {
        format!(r#"{{"contactId":"ct_1","companyId":"{co}","primary":{primary},"replace":{replace}}}"#)
    };
    run(&format!("[{},{}]", entry("co_a", true, false), entry("co_b", false, false)));
    assert_eq!(links_of(), vec![("co_a".into(), 1), ("co_b".into(), 0)]);
    run(&format!("[{}]", entry("co_b", true, false)));
    assert_eq!(links_of(), vec![("co_a".into(), 0), ("co_b".into(), 1)], "primary moved");
    run(&format!("[{}]", entry("co_a", false, false)));
    assert_eq!(links_of(), vec![("co_a".into(), 0), ("co_b".into(), 1)], "additional keeps the primary");
    run(&format!("[{}]", entry("co_c", true, true)));
    assert_eq!(links_of(), vec![("co_c".into(), 1)], "primary_replace removed the others");
    let removed: i64 = db
        .query_row("SELECT count(*) FROM history WHERE field = 'association' AND new_value IS NULL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(removed, 2, "each removal is in history");
    let added: i64 = db
        .query_row("SELECT count(*) FROM history WHERE field = 'association' AND old_value IS NULL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(added, 3);
}

/// `shared_keys` follows `match_keys`: a key enters when a second record takes it and leaves when
/// at most one holder is left, and the duplicates statement lists groups from it.
#[test]
fn shared_keys_follow_the_keys_and_feed_the_duplicates_statement() {
    use edge_crm::store::sql_merge::COMPANIES;
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    for id in ["co_1", "co_2", "co_3"] {
        db.execute("INSERT INTO companies (id, fields, properties, display_name, search_text, created_at, updated_at) VALUES (?1, '{}', '{}', ?1, ?1, 't', 't')", [id]).unwrap();
    }
    let key = |id: &str, k: &str| db.execute("INSERT OR IGNORE INTO match_keys (kind, field, key, record_id) VALUES ('company', 'domain', ?2, ?1)", [id, k]).unwrap();
    let shared = || -> Vec<String> {
        let mut q = db.prepare("SELECT key FROM shared_keys ORDER BY key").unwrap();
        q.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    key("co_1", "acme.com");
    key("co_1", "acme.com");
    assert!(shared().is_empty(), "one holder, even written twice, shares nothing");
    key("co_2", "acme.com");
    key("co_3", "acme.com");
    key("co_3", "beta.com");
    assert_eq!(shared(), ["acme.com"]);
    let groups = |db: &Connection| -> Vec<(String, String)> {
        let mut q = db.prepare(COMPANIES.duplicates).unwrap();
        q.query_map(rusqlite::params![r#"["domain"]"#, "", "", 10], |r| Ok((r.get::<_, String>("group_key")?, r.get::<_, String>("id")?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(groups(&db).len(), 3, "{:?}", groups(&db));
    db.execute("DELETE FROM match_keys WHERE record_id = 'co_2'", []).unwrap();
    assert_eq!(shared(), ["acme.com"], "two holders are left");
    db.execute("DELETE FROM match_keys WHERE record_id = 'co_3'", []).unwrap();
    assert!(shared().is_empty(), "one holder is left");
    assert!(groups(&db).is_empty());
}

/// No statement reads a whole table: each finds its rows through an index, driven by the JSON
/// batch (a full scan of a table with 100,000 records costs seconds, not milliseconds). The plan
/// is asked of SQLite for every statement.
#[test]
fn no_statement_scans_a_whole_table() {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    // `users` is left out: a team has tens of owners, and "does any user exist" reads one row.
    let big = ["contacts", "companies", "external_ids", "match_keys", "associations", "history", "tasks", "activities", "search_terms"];
    let mut offenders = Vec::new();
    for (name, statement) in sql::all() {
        let mut plan = db.prepare(&format!("EXPLAIN QUERY PLAN {statement}")).unwrap();
        let nulls = vec![rusqlite::types::Null; plan.parameter_count()];
        let details: Vec<String> = plan
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for d in details {
            let scanned = d.strip_prefix("SCAN ").map(|rest| rest.split_whitespace().next().unwrap_or(""));
            if let Some(table) = scanned {
                if big.contains(&table) {
                    offenders.push(format!("{name}: {d}"));
                }
            }
            // An index searched by `deleted_at` alone reads every live record.
            if d.starts_with("SEARCH ") && d.ends_with("(deleted_at=?)") {
                offenders.push(format!("{name}: {d}"));
            }
        }
    }
    assert!(offenders.is_empty(), "full scans:\n{}", offenders.join("\n"));
}

/// A retried activity (same type and messageId, new proposed id) resolves to the first one, and
/// only the first is stored; last_activity_at only moves forward.
#[test]
fn activity_statements_are_idempotent_on_message_id() {
    use edge_crm::store::sql_work::activities;
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db.execute("INSERT INTO contacts (id, created_at, updated_at) VALUES ('ct_1', 't', 't')", []).unwrap();
    let item = |id: &str, at: &str| {
        format!(
            r#"[{{"id":"{id}","type":"EMAIL","subject":"s","body":null,"direction":"OUTBOUND","ownerId":null,"occurredAt":"{at}","contactId":"ct_1","companyId":null,"metadata":{{"messageId":"m-1"}},"messageId":"m-1","properties":{{}}}}]"#
        )
    };
    for (id, at) in
        [("ac_first", "2024-01-02T00:00:00.000Z"), ("ac_retry", "2024-01-01T00:00:00.000Z"), ("ac_later", "2024-03-01T00:00:00.000Z")]
    {
        let json = item(id, at);
        db.execute(activities::INSERT, rusqlite::params![json, "now", "since", "1:", "0:"]).unwrap();
        db.execute(activities::HISTORY_NEW, rusqlite::params![json, "now", "r"]).unwrap();
        db.execute(activities::BUMP_CONTACTS, [&json]).unwrap();
        let resolved: String = db.query_row(activities::RESOLVE, rusqlite::params![json, "since", "1:", "0:"], |r| r.get(1)).unwrap();
        assert_eq!(resolved, "ac_first");
    }
    let count = |q: &str| -> i64 { db.query_row(q, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM activities"), 1);
    assert_eq!(count("SELECT count(*) FROM history WHERE entity_type = 'activity'"), 1);
    let last: String = db.query_row("SELECT last_activity_at FROM contacts", [], |r| r.get(0)).unwrap();
    assert_eq!(last, "2024-01-02T00:00:00.000Z", "a retry, older or later, moves nothing: it logged nothing");
}

/// Keyless tasks are idempotent on their content within ten minutes, by the database: a retry in
/// the same bucket is refused by the unique index, one just after a bucket boundary by the insert
/// itself (the previous bucket's key, created since the window's start); the same content twice in
/// one batch is one task; later than ten minutes, or after the task is deleted, it is a new task.
/// Each item resolves to the task it is now.
#[test]
fn keyless_tasks_are_idempotent_on_content_across_a_bucket_boundary() {
    use edge_crm::domain::work::Window;
    use edge_crm::store::sql_work::tasks;
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    // 2024-01-20T10:30:00.000Z is a bucket boundary (a multiple of ten minutes).
    let boundary = 1_705_746_600_000i64;
    let at = |ms: i64| edge_crm::domain::time::Timestamp::from_millis(ms).to_rfc3339();
    let create = |ids: &[&str], fingerprint: &str, now_ms: i64| -> Vec<String> {
        let w = Window::at(now_ms);
        let items: Vec<serde_json::Value> = ids
            .iter()
            .map(|id| serde_json::json!({"id": id, "fields": {"subject": "Call", "completed": false}, "properties": {}, "content": fingerprint}))
            .collect();
        let json = serde_json::Value::Array(items).to_string();
        let now = at(now_ms);
        db.execute(tasks::INSERT, rusqlite::params![json, now, w.since(), w.prefix(), w.previous_prefix()]).unwrap();
        db.execute(tasks::HISTORY_NEW, rusqlite::params![json, now, "r"]).unwrap();
        let mut stmt = db.prepare(tasks::RESOLVE).unwrap();
        stmt.query_map(rusqlite::params![json, w.since(), w.prefix(), w.previous_prefix()], |r| r.get::<_, String>(1)).unwrap().map(Result::unwrap).collect()
    };
    let count = || -> i64 { db.query_row("SELECT count(*) FROM tasks WHERE deleted_at IS NULL", [], |r| r.get(0)).unwrap() };
    assert_eq!(create(&["tk_first"], "f", boundary - 1_000), vec!["tk_first"], "a second before the boundary");
    assert_eq!(create(&["tk_same_bucket"], "f", boundary - 500), vec!["tk_first"], "the same bucket: the unique index");
    assert_eq!(create(&["tk_next_bucket"], "f", boundary + 1_000), vec!["tk_first"], "a second after the boundary: the previous bucket");
    assert_eq!(create(&["tk_late"], "f", boundary + 9 * 60_000), vec!["tk_first"], "nine minutes later, still within ten");
    assert_eq!(count(), 1);
    assert_eq!(create(&["tk_twice_a", "tk_twice_b"], "g", boundary), vec!["tk_twice_a", "tk_twice_a"], "twice in one batch: one task");
    assert_eq!(create(&["tk_other"], "h", boundary), vec!["tk_other"], "other content: another task");
    assert_eq!(count(), 3);
    // Past ten minutes after the first (created 1 s before the boundary), in the next bucket: new.
    assert_eq!(create(&["tk_after"], "f", boundary + 599_001), vec!["tk_after"]);
    // A deleted task releases its key.
    db.execute(tasks::DELETE, rusqlite::params!["tk_other", at(boundary + 1)]).unwrap();
    assert_eq!(create(&["tk_again"], "h", boundary + 2), vec!["tk_again"]);
    let history: i64 = db.query_row("SELECT count(*) FROM history WHERE field = '(created)'", [], |r| r.get(0)).unwrap();
    assert_eq!(history, count() + 1, "a (created) entry per task stored, none for a retry");
    let key: String = db.query_row("SELECT content_key FROM tasks WHERE id = 'tk_first'", [], |r| r.get(0)).unwrap();
    assert_eq!(key, Window::at(boundary - 1_000).key("f"), "stored under the key the core names");
    // An item with no content key (an externalId, or an Idempotency-Key) is never matched by one.
    let keyed = r#"[{"id":"tk_keyed","fields":{"subject":"Call","completed":false},"properties":{}}]"#;
    let w = Window::at(boundary);
    db.execute(tasks::INSERT, rusqlite::params![keyed, at(boundary), w.since(), w.prefix(), w.previous_prefix()]).unwrap();
    let stored: i64 = db.query_row("SELECT count(*) FROM tasks WHERE id = 'tk_keyed' AND content_key IS NULL", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 1);
}

/// Keyless activities likewise, and a retry whose contact was deleted since is answered by the
/// `LOGGED` read with the activity logged first.
#[test]
fn keyless_activities_are_idempotent_on_content() {
    use edge_crm::domain::work::Window;
    use edge_crm::store::sql_work::activities;
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    let boundary = 1_705_746_600_000i64;
    let at = |ms: i64| edge_crm::domain::time::Timestamp::from_millis(ms).to_rfc3339();
    let item = |id: &str, now_ms: i64| {
        serde_json::json!([{"id": id, "type": "LINKEDIN", "subject": "Invited", "occurredAt": at(now_ms), "metadata": {}, "properties": {}, "content": "f"}])
            .to_string()
    };
    for (id, ms) in [("ac_first", boundary - 2_000), ("ac_retry", boundary + 2_000)] {
        let json = item(id, ms);
        let w = Window::at(ms);
        db.execute(activities::INSERT, rusqlite::params![json, at(ms), w.since(), w.prefix(), w.previous_prefix()]).unwrap();
        let resolved: String = db.query_row(activities::RESOLVE, rusqlite::params![json, w.since(), w.prefix(), w.previous_prefix()], |r| r.get(1)).unwrap();
        assert_eq!(resolved, "ac_first", "{id}");
    }
    let count: i64 = db.query_row("SELECT count(*) FROM activities", [], |r| r.get(0)).unwrap();
    assert_eq!(count, 1);
    let w = Window::at(boundary + 3_000);
    let lookup = serde_json::json!([{"i": 4, "content": "f"}]).to_string();
    let (i, id): (i64, String) = db
        .query_row(activities::LOGGED, rusqlite::params![lookup, w.since(), w.prefix(), w.previous_prefix()], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((i, id.as_str()), (4, "ac_first"));
}

/// A value a deduplicated create kept out is in history as sent, with the stored value as old and
/// new and `applied` 0; the history read answers it with the other entries.
#[test]
fn kept_values_are_history_marked_not_applied() {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    let kept = r#"[{"id":"co_1","kept":[{"field":"industry","stored":"Financial Services","sent":"Fintech"},{"field":"properties.tier","sent":"gold"}]}]"#;
    db.execute(sql::COMPANIES.history_kept, rusqlite::params![kept, "2024-01-01T00:00:00.000Z", "req_1"]).unwrap();
    db.execute(
        "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) VALUES ('company', 'co_1', 'name', NULL, '\"Acme\"', 't', 'req_0')",
        [],
    )
    .unwrap();
    let mut stmt = db.prepare(sql::HISTORY).unwrap();
    let rows: Vec<(String, Option<String>, Option<String>, Option<String>, i64)> = stmt
        .query_map(rusqlite::params!["co_1", f64::MAX, 10], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(6)?, r.get(7)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let fintech = (
        "industry".to_string(),
        Some("\"Financial Services\"".to_string()),
        Some("\"Financial Services\"".to_string()),
        Some("\"Fintech\"".to_string()),
        0,
    );
    assert_eq!(rows[2], fintech);
    assert_eq!(rows[1], ("properties.tier".to_string(), None, None, Some("\"gold\"".to_string()), 0));
    assert_eq!(rows[0].4, 1, "a change that was applied");
}

/// Users are upserted by normalised email: a stored user is updated (a name not sent keeps the
/// stored one, properties merge), a new one inserted, and every item resolves to its user.
#[test]
fn user_statements_upsert_by_email() {
    use edge_crm::store::sql_work::users;
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    let run = |json: &str| -> Vec<(i64, String, String, String)> {
        db.execute(users::UPDATE_EXISTING, rusqlite::params![json, "t2"]).unwrap();
        db.execute(users::INSERT_NEW, rusqlite::params![json, "t2"]).unwrap();
        let mut stmt = db.prepare(users::RESOLVE).unwrap();
        let rows = stmt.query_map([json], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap();
        rows.map(Result::unwrap).collect()
    };
    let first = run(r#"[{"id":"us_a","name":"Ana","email":"Ana@acme.es","emailKey":"ana@acme.es","properties":{"team":"x"}}]"#);
    assert_eq!(first, vec![(0, "us_a".into(), "Ana".into(), "Ana@acme.es".into())]);
    let second = run(
        r#"[{"id":"us_b","email":"ana@ACME.es","emailKey":"ana@acme.es","properties":{"region":"eu"}},
            {"id":"us_c","name":null,"email":"bo@acme.es","emailKey":"bo@acme.es","properties":{}}]"#,
    );
    assert_eq!(
        second,
        vec![(0, "us_a".into(), "Ana".into(), "ana@ACME.es".into()), (1, "us_c".into(), "".into(), "bo@acme.es".into())],
        "the stored user keeps its id and name; the new one is inserted"
    );
    let props: String = db.query_row("SELECT properties FROM users WHERE id = 'us_a'", [], |r| r.get(0)).unwrap();
    assert_eq!(props, r#"{"team":"x","region":"eu"}"#);
    let count: i64 = db.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).unwrap();
    assert_eq!(count, 2);
}

/// A task update takes a stamp later than the one it read even when the clock has not moved,
/// so the guard of a concurrent update of the same version fails instead of losing a write.
#[test]
fn task_updates_move_the_stamp_forward_and_guard_it() {
    use edge_crm::store::sql_work::tasks;
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    let t0 = "2024-01-01T00:00:00.000Z";
    let task = r#"[{"id":"tk_1","fields":{"subject":"Call","completed":false},"properties":{}}]"#;
    db.execute(tasks::INSERT, rusqlite::params![task, t0, t0, "1:", "0:"]).unwrap();
    db.execute(tasks::HISTORY_NEW, rusqlite::params![task, t0, "r1"]).unwrap();
    let update = |status: &str| {
        format!(
            r#"[{{"id":"tk_1","base":"{t0}","fields":{{"subject":"Call","status":"{status}","completed":true,"completedAt":"{t0}"}},"properties":{{}},"changes":[{{"field":"status","new":"{status}"}}]}}]"#
        )
    };
    let first = update("a");
    assert_eq!(db.execute(tasks::GUARD, [&first]).unwrap(), 0);
    db.execute(tasks::UPDATE, rusqlite::params![first, t0]).unwrap();
    db.execute(tasks::HISTORY_CHANGES, rusqlite::params![first, t0, "r2"]).unwrap();
    let (stamp, completed): (String, i64) =
        db.query_row("SELECT updated_at, completed FROM tasks WHERE id = 'tk_1'", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!((stamp.as_str(), completed), ("2024-01-01T00:00:00.001Z", 1));
    // A second writer that read the same version in the same millisecond is refused.
    let err = db.execute(tasks::GUARD, [&update("b")]).unwrap_err().to_string();
    assert!(err.contains("concurrent_write"), "{err}");
    let history: i64 = db.query_row("SELECT count(*) FROM history WHERE entity_type = 'task'", [], |r| r.get(0)).unwrap();
    assert_eq!(history, 2, "(created) and the status change");
}

/// The reference guard opening a task or activity write fails it when a contact, company or owner
/// the request checked is gone by the write, and passes references that still hold.
#[test]
fn reference_guard_refuses_what_is_gone() {
    use edge_crm::store::sql::REFERENCES_GUARD;
    use edge_crm::store::sql_work::users;
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db.execute_batch(
        "INSERT INTO contacts (id, created_at, updated_at) VALUES ('ct_live', 't', 't');
         INSERT INTO contacts (id, created_at, updated_at, deleted_at) VALUES ('ct_gone', 't', 't', 't');
         INSERT INTO companies (id, created_at, updated_at) VALUES ('co_live', 't', 't');",
    )
    .unwrap();
    let guard = |refs: &str| db.execute(REFERENCES_GUARD, [refs]).map_err(|e| e.to_string());
    // No users yet: any owner passes, as the check lets it.
    assert_eq!(guard(r#"[{"contact":"ct_live","company":"co_live","owner":"anyone"},{}]"#), Ok(0));
    for refs in [r#"[{"contact":"ct_live"},{"contact":"ct_gone"}]"#, r#"[{"company":"co_gone"}]"#, r#"[{"contact":"co_live"}]"#] {
        let err = guard(refs).unwrap_err();
        assert!(err.contains("concurrent_write"), "{refs}: {err}");
    }
    // Once a user exists, an owner must be one.
    let user = r#"[{"id":"us_1","name":"A","email":"a@b.co","emailKey":"a@b.co","properties":{}}]"#;
    db.execute(users::INSERT_NEW, rusqlite::params![user, "t"]).unwrap();
    assert_eq!(guard(r#"[{"owner":"us_1"}]"#), Ok(0));
    assert!(guard(r#"[{"owner":"anyone"}]"#).unwrap_err().contains("concurrent_write"));
}

/// An import's reads: the records among some ids that a request created (by their `(created)`
/// history rows), and the parts of a page's import as their keys stand.
#[test]
fn an_import_finds_the_records_it_created_and_its_parts() {
    use edge_crm::store::sql_import::{CREATED_BY, STEPS};
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db.execute_batch(
        "INSERT INTO history (entity_type, entity_id, field, changed_at, request_id) VALUES
           ('contact', 'ct_1', '(created)', 't', 'imp_a'), ('contact', 'ct_1', 'title', 't', 'imp_a'),
           ('contact', 'ct_2', '(created)', 't', 'req_other'), ('contact', 'ct_2', 'title', 't', 'imp_a'),
           ('contact', 'ct_3', '(created)', 't', 'imp_a');
         INSERT INTO idempotency (key, route, body_hash, status, response, created_at) VALUES
           ('import-imp_a-0', 'r', 'h', 200, '{}', 't1'), ('import-imp_a-1', 'r', 'h', NULL, NULL, 't2'), ('other', 'r', 'h', 200, '{}', 't3');",
    )
    .unwrap();
    let mut created = db.prepare(CREATED_BY).unwrap();
    let ids: Vec<String> = created.query_map(rusqlite::params![r#"["ct_1","ct_2","ct_9"]"#, "imp_a"], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(ids, vec!["ct_1".to_string()], "ct_2 was only changed by the import; ct_3 was not asked about");
    let mut steps = db.prepare(STEPS).unwrap();
    let mut rows: Vec<(String, Option<i64>)> =
        steps.query_map([r#"["import-imp_a-0","import-imp_a-1","import-imp_a-2"]"#], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    rows.sort();
    assert_eq!(rows, vec![("import-imp_a-0".to_string(), Some(200)), ("import-imp_a-1".to_string(), None)]);
}

/// The search index follows every write of a record's terms, by the triggers: a create adds the
/// terms, an update replaces the changed ones only, a deletion or a merge's tombstone removes
/// them, an undone merge brings them back; tasks likewise.
#[test]
fn search_terms_follow_every_write() {
    use edge_crm::domain::record::{search_text, RecordKind};
    use edge_crm::domain::search::with_task_terms;
    use edge_crm::store::{sql_merge, sql_work::tasks};
    use serde_json::json;
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    let terms = |id: &str| -> Vec<String> {
        let mut q = db.prepare("SELECT term FROM search_terms WHERE record_id = ?1 ORDER BY term").unwrap();
        q.query_map([id], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let write = |id: &str, fields: serde_json::Value| {
        let map = fields.as_object().unwrap().clone();
        json!([{"id": id, "externalId": null, "fields": fields, "properties": {}, "ownerId": null, "parentId": null,
            "displayName": "x", "searchText": search_text(RecordKind::Contact, &map, &Default::default()), "keys": [],
            "base": "", "changes": []}])
        .to_string()
    };
    let t = "2024-01-01T00:00:00.000Z";
    let c = &sql::CONTACTS;
    db.execute(c.insert_new, rusqlite::params![write("ct_1", json!({"firstName": "Ana", "phone": "+34 600 12 34 56"})), t]).unwrap();
    db.execute(c.insert_new, rusqlite::params![write("ct_2", json!({"firstName": "Bo"})), t]).unwrap();
    assert_eq!(terms("ct_1"), ["34600123456", "600123456", "ana"]);
    let changes = db.total_changes();
    db.prepare(c.update).unwrap().query_map(rusqlite::params![write("ct_1", json!({"firstName": "Ana", "phone": "+34 600 12 34 56", "title": "CEO"})), t], |_| Ok(())).unwrap().for_each(drop);
    assert_eq!(terms("ct_1"), ["34600123456", "600123456", "ana", "ceo"]);
    assert_eq!(db.total_changes() - changes, 2, "the record and one new term");
    let changes = db.total_changes();
    db.prepare(c.update).unwrap().query_map(rusqlite::params![write("ct_1", json!({"firstName": "Ana", "phone": "+34 600 12 34 56", "title": "CEO"})), t], |_| Ok(())).unwrap().for_each(drop);
    assert_eq!(db.total_changes() - changes, 1, "an update that changes no term writes no index row");
    db.execute(c.soft_delete, rusqlite::params!["ct_2", t]).unwrap();
    assert!(terms("ct_2").is_empty());
    // A merge tombstones ct_1 into ct_2 (revived for the test), and its undo revives it.
    db.execute("UPDATE contacts SET deleted_at = NULL WHERE id = 'ct_2'", []).unwrap();
    assert_eq!(terms("ct_2"), ["bo"]);
    db.execute(sql_merge::CONTACTS.tombstone, rusqlite::params![r#"["ct_1"]"#, "ct_2", t]).unwrap();
    assert!(terms("ct_1").is_empty());
    db.execute_batch(&format!(
        "INSERT INTO merges (id, kind, survivor_id, merged_ids, request_id, merged_at, first_history, last_history) \
         VALUES ('mg_1', 'contact', 'ct_2', '[\"ct_1\"]', 'r', '{t}', 1, 1)"
    ))
    .unwrap();
    db.execute(sql_merge::CONTACTS.undo_revive, rusqlite::params!["mg_1"]).unwrap();
    assert_eq!(terms("ct_1"), ["34600123456", "600123456", "ana", "ceo"]);
    // Tasks: the subject's words, through the task statements' searchText.
    let task = |subject: &str| json!(with_task_terms(&[json!({"id": "tk_1", "base": "", "fields": {"subject": subject}, "properties": {}, "changes": []})])).to_string();
    // `?3` the earliest creation a retry by content answers, `?4`/`?5` the content keys' buckets
    // (none of them matter here: the task has no content key).
    db.execute(tasks::INSERT, rusqlite::params![task("Call Zoë"), t, t, "b1:", "b0:"]).unwrap();
    assert_eq!(terms("tk_1"), ["call", "zoe"]);
    db.execute(tasks::UPDATE, rusqlite::params![task("Email Zoë"), t]).unwrap();
    assert_eq!(terms("tk_1"), ["email", "zoe"]);
    db.execute(tasks::DELETE, rusqlite::params!["tk_1", t]).unwrap();
    assert!(terms("tk_1").is_empty());
}
