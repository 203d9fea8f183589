//! What a request cost (API.md §10) on every answer, and `MATCH_CACHE=auto` (API.md §11): off on
//! local D1, whose round trips are short, and on with `MATCH_CACHE_MIN_D1_MS=0`.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{basic_auth, unique, Client, Key, Resp, Server, ServerOptions};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("cost::every_response_says_what_it_cost", every_response_says_what_it_cost),
    ("cost::a_write_reports_rows_written_and_a_read_rows_read", a_write_reports_rows_written_and_a_read_rows_read),
    ("cost::auto_leaves_kv_alone_near_d1", auto_leaves_kv_alone_near_d1),
    ("cost::auto_with_the_threshold_at_zero_reads_kv_first", auto_with_the_threshold_at_zero_reads_kv_first),
    ("cost::past_four_gibibytes_of_database_the_counts_still_read", past_four_gibibytes_of_database_the_counts_still_read),
];

/// The four counts of a response, or a failure naming the one missing.
#[derive(Debug, PartialEq)]
struct Counts {
    statements: u64,
    rows_read: u64,
    rows_written: u64,
    kv_reads: u64,
}

fn counts(what: &str, resp: &Resp) -> Counts {
    let get = |name: &str| -> u64 {
        let value = resp.header(name).unwrap_or_else(|| panic!("{what} ({}) has no {name}: {:?}", resp.status, resp.headers));
        value.parse().unwrap_or_else(|_| panic!("{what}: {name} is not a count: {value:?}"))
    };
    let timing = resp.header("server-timing").unwrap_or_else(|| panic!("{what} has no Server-Timing"));
    assert!(["d1;dur=", "sql;dur=", "body;dur=", "own;dur="].iter().all(|t| timing.contains(t)), "{what}: Server-Timing {timing:?}");
    Counts {
        statements: get("X-D1-Statements"),
        rows_read: get("X-D1-Rows-Read"),
        rows_written: get("X-D1-Rows-Written"),
        kv_reads: get("X-KV-Reads"),
    }
}

fn json_send(c: &Client, method: &str, path: &str, body: &Value) -> Resp {
    c.json(method, path, body)
}

fn every_response_says_what_it_cost(app: &App) {
    let c = &app.api;
    let ext = unique("cost");
    let created = json_send(c, "POST", "/companies", &json!({"companies": [{"externalId": ext, "name": "Cost Co", "domain": format!("{ext}.com")}]}));
    assert_eq!(created.status, 200, "{}", created.text());
    let id = created.json()["results"][0]["crmId"].as_str().unwrap().to_string();
    let page = basic_auth("e2e", &app.dashboard_password);
    let responses: Vec<(&str, Resp)> = vec![
        ("create", created),
        ("update", json_send(c, "PUT", "/companies", &json!({"companies": [{"crmId": id, "industry": "Costs"}]}))),
        ("get", c.get(&format!("/companies/{id}"))),
        ("feed", c.get("/companies?limit=5")),
        ("history", c.get(&format!("/companies/{id}/history"))),
        ("timeline", c.get(&format!("/companies/{id}/activities"))),
        ("batch read", json_send(c, "POST", "/companies/batch", &json!({"ids": [id]}))),
        ("sync", json_send(c, "POST", "/companies/sync", &json!({"companies": [{"externalId": ext, "domain": format!("{ext}.com")}]}))),
        ("task", json_send(c, "POST", "/tasks", &json!({"subject": "Count the rows", "companyId": id}))),
        ("activity", json_send(c, "POST", "/activities", &json!({"type": "EMAIL", "companyId": id, "subject": "rows"}))),
        ("users", c.get("/users")),
        ("duplicates", c.get("/companies/duplicates")),
        ("health", c.get("/health")),
        ("description", c.send("GET", "/openapi.json", Key::None, &[], None)),
        ("no key", c.send("GET", "/companies", Key::None, &[], None)),
        ("unknown route", c.get("/no/such/route")),
        ("wrong method", c.send("DELETE", "/health", Key::Valid, &[], None)),
        ("bad body", c.send("POST", "/companies", Key::Valid, &[("Content-Type", "application/json")], Some(b"{"))),
        ("missing record", c.get("/companies/co_missing")),
        ("HEAD", c.send("HEAD", &format!("/companies/{id}"), Key::Valid, &[], None)),
        ("page", c.send("GET", "/view/", Key::None, &[("Authorization", page.as_str())], None)),
        ("record page", c.send("GET", &format!("/view/company/{id}"), Key::None, &[("Authorization", page.as_str())], None)),
        ("page without sign-in", c.send("GET", "/view/", Key::None, &[], None)),
        ("broken configuration", app.broken.get("/companies")),
    ];
    for (what, resp) in &responses {
        let n = counts(what, resp);
        if resp.status == 200 && !["description"].contains(what) {
            assert!(n.statements > 0, "{what} ran no statement: {n:?}");
        }
    }
    // Nothing reached the database: zeros, not missing headers.
    let zero = Counts { statements: 0, rows_read: 0, rows_written: 0, kv_reads: 0 };
    for what in ["description", "no key", "unknown route", "wrong method", "bad body", "page without sign-in", "broken configuration"] {
        let resp = &responses.iter().find(|(w, _)| *w == what).unwrap().1;
        assert_eq!(counts(what, resp), zero, "{what} ({})", resp.status);
    }
    // An error answered after the database was asked still says what asking cost.
    let missing = &responses.iter().find(|(w, _)| *w == "missing record").unwrap().1;
    assert_eq!(missing.status, 404);
    assert!(counts("missing record", missing).statements >= 1);
}

fn a_write_reports_rows_written_and_a_read_rows_read(app: &App) {
    // The server with the cache off: the sync reads D1.
    let c = &app.plain;
    let tag = unique("rows");
    let records: Vec<Value> = (0..20).map(|i| json!({"externalId": format!("{tag}-{i}"), "name": format!("Rows {i}"), "domain": format!("{tag}-{i}.com")})).collect();
    let created = json_send(c, "POST", "/companies", &json!({ "companies": records }));
    assert_eq!(created.status, 200, "{}", created.text());
    let write = counts("create", &created);
    // 20 records, each with its keys, externalId link and history rows, and their index entries.
    assert!(write.rows_written >= 20 * 3, "a create of 20 wrote {} rows", write.rows_written);
    let id = created.json()["results"][0]["crmId"].as_str().unwrap().to_string();

    let update = json_send(c, "PUT", "/companies", &json!({"companies": [{"crmId": id, "industry": "Rows"}]}));
    assert!(counts("update", &update).rows_written > 0, "{:?}", update.headers);

    let read = c.get(&format!("/companies/{id}"));
    assert_eq!(read.status, 200);
    let read = counts("get", &read);
    assert!(read.rows_read > 0 && read.rows_written == 0, "a read: {read:?}");

    let sync = json_send(c, "POST", "/companies/sync", &json!({ "companies": records }));
    let sync = counts("sync", &sync);
    assert!(sync.rows_read >= 20, "a sync of 20 known records read {} rows", sync.rows_read);
    assert_eq!((sync.statements, sync.kv_reads), (1, 0), "{sync:?}");
}

/// Makes a stopped server's D1 file hold `bytes` (its page count in the header, the file extended
/// to match): the pages added are empty and belong to no table, and the file is sparse, so this
/// costs neither time nor disk. SQLite, and D1's `meta.size_after`, then see a database that size.
fn grow_database(file: &Path, bytes: u64) {
    // Fold any write-ahead log into the file first, so its header is the database's.
    let db = rusqlite::Connection::open(file).expect("open the local D1 file");
    db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).expect("checkpoint");
    let page_size: u64 = db.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    let pages: u64 = db.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    drop(db);
    let grown = bytes.div_ceil(page_size).max(pages);
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    // The header's "in-header database size" (bytes 28..32, big-endian pages), valid while its
    // change counter is unchanged.
    f.seek(SeekFrom::Start(28)).unwrap();
    f.write_all(&u32::try_from(grown).unwrap().to_be_bytes()).unwrap();
    f.set_len(grown * page_size).unwrap();
    let db = rusqlite::Connection::open(file).unwrap();
    let seen: u64 = db.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    assert_eq!(seen * page_size, grown * page_size, "SQLite sees the database grown");
}

/// D1 reports each statement's database size after it in `meta` as well; past 4 GiB that size is
/// beyond 32 bits. The counts must still be read: a database near D1's 10 GB limit is where they
/// matter most.
fn past_four_gibibytes_of_database_the_counts_still_read(app: &App) {
    let key = app.api.keys[0].clone();
    let mut server = Server::spawn(
        &app.build,
        ServerOptions { name: "large", vars: vec![("MATCH_CACHE", "off".to_string())], secrets: vec![("API_KEYS", key.clone())], apply_schema: true },
    );
    server.wait_ready(Duration::from_secs(120));
    let c = Client::new(&server.base, vec![key.clone()]);
    let tag = unique("large");
    let records: Vec<Value> = (0..10).map(|i| json!({"externalId": format!("{tag}-{i}"), "name": format!("Large {i}"), "domain": format!("{tag}-{i}.com")})).collect();
    let created = json_send(&c, "POST", "/companies", &json!({ "companies": records }));
    assert_eq!(created.status, 200, "{}", created.text());
    let small = counts("sync of a small database", &json_send(&c, "POST", "/companies/sync", &json!({ "companies": records })));
    assert!(small.rows_read >= 10, "{small:?}");

    server.stop();
    let file = crate::races::d1_file(&server);
    grow_database(&file, (4 << 30) + (64 << 20));
    server.restart();
    server.wait_ready(Duration::from_secs(120));
    let c = Client::new(&server.base, vec![key]);

    // The same sync reads the same rows.
    let large = counts("sync of a large database", &json_send(&c, "POST", "/companies/sync", &json!({ "companies": records })));
    assert_eq!(large, small, "past 4 GiB a sync still says what it read");
    let more: Vec<Value> = (0..5).map(|i| json!({"externalId": format!("{tag}-more-{i}"), "name": format!("More {i}"), "domain": format!("{tag}-more-{i}.com")})).collect();
    let created = json_send(&c, "POST", "/companies", &json!({ "companies": more }));
    assert_eq!(created.status, 200, "{}", created.text());
    let write = counts("create in a large database", &created);
    assert!(write.rows_written >= 5 * 3, "a create past 4 GiB wrote {} rows", write.rows_written);
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 4 << 30, "the database is past 4 GiB: {size} bytes");
}

/// The files of a local KV namespace that a request made exist: none while nothing touched KV
/// (miniflare opens a namespace's storage on its first read or write).
fn kv_files(state: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let dir = state.join("v3").join("kv");
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("metadata.sqlite")) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

fn auto_leaves_kv_alone_near_d1(app: &App) {
    // The users server runs the defaults: MATCH_CACHE=auto, MATCH_CACHE_MIN_D1_MS=25; local D1
    // answers in a few milliseconds.
    let c = &app.users;
    let tag = unique("auto");
    let records: Vec<Value> = (0..10).map(|i| json!({"externalId": format!("{tag}-{i}"), "name": format!("Auto {i}"), "domain": format!("{tag}-{i}.com")})).collect();
    let created = json_send(c, "POST", "/companies", &json!({ "companies": records }));
    assert_eq!(created.status, 200, "{}", created.text());
    let id = created.json()["results"][0]["crmId"].as_str().unwrap().to_string();
    for round in 0..12 {
        let resp = json_send(c, "POST", "/companies/sync", &json!({ "companies": records }));
        assert_eq!(resp.status, 200, "{}", resp.text());
        let n = counts("sync", &resp);
        assert_eq!((n.kv_reads, n.statements), (0, 1), "sync {round}: auto must read D1, not KV, near D1");
        assert_eq!(resp.json()["results"].as_array().unwrap().len(), 10);
        let update = json_send(c, "PUT", "/companies", &json!({"companies": [{"crmId": id, "domain": format!("{tag}-moved-{round}.com")}]}));
        assert_eq!(update.status, 200, "{}", update.text());
    }
    // Nothing was read, stored or forgotten in KV on this server, by this test or any other.
    std::thread::sleep(Duration::from_millis(500));
    let files = kv_files(app.users_server.state_dir());
    assert!(files.is_empty(), "KV was touched under MATCH_CACHE=auto near D1: {files:?}");
}

fn auto_with_the_threshold_at_zero_reads_kv_first(app: &App) {
    // The policy server runs MATCH_CACHE=auto with MATCH_CACHE_MIN_D1_MS=0.
    let c = &app.policy;
    let tag = unique("auto0");
    let records: Vec<Value> = (0..10).map(|i| json!({"externalId": format!("{tag}-{i}"), "name": format!("Zero {i}"), "domain": format!("{tag}-{i}.com")})).collect();
    let created = json_send(c, "POST", "/companies", &json!({ "companies": records }));
    assert_eq!(created.status, 200, "{}", created.text());
    let first = json_send(c, "POST", "/companies/sync", &json!({ "companies": records }));
    assert!(counts("first sync", &first).kv_reads > 0, "the threshold at 0: KV is read first");
    let truth = first.json();
    // The answer refreshed KV after the response; soon a sync is answered from KV alone.
    let mut warm = None;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let resp = json_send(c, "POST", "/companies/sync", &json!({ "companies": records }));
        let n = counts("sync", &resp);
        if n.statements == 0 {
            assert!(n.kv_reads > 0 && n.rows_read == 0, "{n:?}");
            warm = Some(resp.json());
            break;
        }
    }
    assert_eq!(warm.expect("never answered from KV alone"), truth, "the cache's answer is the database's");
    assert!(!kv_files(app.policy_server.state_dir()).is_empty(), "KV holds the entries");
}
