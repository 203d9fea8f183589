//! Search, lists and exports at scale: `BENCH_ONLY=search` (`npm run bench` with it set).
//!
//! The store is seeded **directly into the local D1 database file** (SQLite, with the schema's
//! triggers filling the search index exactly as the Worker's writes do), because a million
//! records through the API would take hours here: `BENCH_SEARCH_RECORDS` contacts (1,000,000 by
//! default) of 20 owners, one task per ten contacts, a tag on about one in a hundred, an activity
//! date on two in three (spread over two years). The server is stopped while its file is written and served again after.
//!
//! Measured twice, at 10,000 contacts and at the full size, for each query: latency over HTTP
//! (`wrangler dev`, p50 and p95 of 20), D1 statements, and the **rows D1 reads** (its own `meta`:
//! the same statement with the same arguments run through a probe Worker bound to the same local
//! database), against the **floor**: the same statement run by SQLite directly on the file. Then
//! the rows D1 writes per record (create, update with and without a changed term, delete) with and
//! without search terms, and a full CSV export streamed over HTTP.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use edge_crm::domain::list::{parse_record_list, parse_task_list, WINDOW};
use edge_crm::domain::record::{display_name, search_text, RecordKind};
use edge_crm::domain::search::with_task_terms;
use edge_crm::store::sql_list::{self, Arg};
use serde_json::{json, Value};

use super::harness::{self, random_hex, Build, Client, Server, ServerOptions};
use super::{find_sqlite, percentile};

const FIRST: [&str; 40] = [
    "María", "José", "Ana", "Lucía", "Carmen", "Pablo", "Jorge", "Elena", "Marta", "Javier", "Laura", "David", "Sofía", "Daniel",
    "Paula", "Miguel", "Noah", "Emma", "Liam", "Olivia", "Chloé", "Zoë", "Björn", "Anaïs", "Łukasz", "Søren", "Amélie", "Iñaki",
    "Grace", "Ada", "Alan", "Linus", "Margaret", "Katherine", "Dorothy", "Edsger", "Barbara", "Frances", "Niklaus", "Radia",
];
const LAST: [&str; 40] = [
    "García", "Núñez", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Fernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
    "Romero", "Ruiz", "Hopper", "Lovelace", "Turing", "Torvalds", "Hamilton", "Johnson", "Vaughan", "Dijkstra", "Liskov",
    "Allen", "Wirth", "Perlman", "Müller", "Schröder", "Dubois", "Lefèvre", "Kowalski", "Nowak", "Jensen", "Nielsen", "O'Brien",
    "Jean-Baptiste", "Rossi", "Bianchi", "Costa", "Silva",
];
const TITLES: [&str; 10] = [
    "CEO", "CTO", "Head of Sales", "VP Engineering", "Sales Manager", "Account Executive", "Marketing Director", "Founder",
    "Operations Lead", "Procurement Manager",
];
const COMPANIES: [&str; 10] = ["Northwind", "Contoso", "Fabrikam", "Initech", "Globex", "Umbrella", "Hooli", "Vandelay", "Acme", "Tyrell"];

fn records() -> usize {
    std::env::var("BENCH_SEARCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

fn ascii(s: &str) -> String {
    edge_crm::domain::record::search_fold(s).chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// Contact `i`: the same data every run.
fn contact(i: usize) -> (Value, Value) {
    let (first, last) = (FIRST[i % 40], LAST[(i / 40) % 40]);
    let company = format!("{} {}", COMPANIES[i % 10], i % 5000);
    let domain = format!("{}{}.com", ascii(COMPANIES[i % 10]), i % 5000);
    let fields = json!({
        "firstName": first, "lastName": last,
        "email": format!("{}.{}.{i}@{domain}", ascii(first), ascii(last)),
        "phone": format!("+34 6{:02} {:03} {:03}", (i / 1_000_000) % 100, (i / 1000) % 1000, i % 1000),
        "company": company, "companyDomain": domain, "title": TITLES[i % 10],
        "linkedinUrl": format!("https://www.linkedin.com/in/{}-{}-{i:x}", ascii(first), ascii(last)),
    });
    let properties = if i % 97 == 0 { json!({"tags": ["vip"], "segment": "enterprise"}) } else { json!({"segment": "smb"}) };
    (fields, properties)
}

fn at(seconds: usize) -> String {
    edge_crm::domain::time::Timestamp::from_millis(1_700_000_000_000 + seconds as i64 * 1000).to_rfc3339()
}

/// Writes contacts `from..to` (and their tasks) into the database file, 50,000 per transaction.
fn seed(file: &Path, from: usize, to: usize, owners: &[String]) -> f64 {
    let started = Instant::now();
    let mut db = rusqlite::Connection::open(file).expect("the local D1 file opens");
    db.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;").ok();
    let mut i = from;
    while i < to {
        let end = (i + 50_000).min(to);
        let tx = db.transaction().unwrap();
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO contacts (id, fields, properties, owner_id, display_name, search_text, last_activity_at, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                )
                .unwrap();
            let mut task = tx
                .prepare(
                    "INSERT INTO tasks (id, subject, owner_id, due_date, contact_id, completed, properties, created_at, updated_at, search_text) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, '{}', ?7, ?7, ?8)",
                )
                .unwrap();
            for n in i..end {
                let (fields, properties) = contact(n);
                let map = fields.as_object().unwrap();
                // Owners spread independently of names (a multiplicative hash of the number).
                let owner = &owners[(n.wrapping_mul(2_654_435_761) >> 7) % owners.len()];
                let mut stored = fields.clone();
                stored["ownerId"] = json!(owner);
                let id = format!("ct_bench{n:010}");
                let activity = (n % 3 != 0).then(|| at((n * 7919) % 60_000_000));
                insert
                    .execute(rusqlite::params![
                        id,
                        stored.to_string(),
                        properties.to_string(),
                        owner,
                        display_name(RecordKind::Contact, map),
                        search_text(RecordKind::Contact, map, properties.as_object().unwrap()),
                        activity,
                        at(n),
                    ])
                    .unwrap();
                if n % 10 == 0 {
                    let subject = format!("Call {} about the {} renewal", FIRST[n % 40], COMPANIES[(n / 10) % 10]);
                    let terms = with_task_terms(&[json!({"fields": {"subject": subject}})])[0]["searchText"].as_str().unwrap().to_string();
                    task.execute(rusqlite::params![format!("tk_bench{n:010}"), subject, owner, at(n + 90 * 86_400), id, (n % 30 == 0) as i64, at(n), terms])
                        .unwrap();
                }
            }
        }
        tx.commit().unwrap();
        i = end;
        eprintln!("[bench] seeded {i} contacts ({:.0}s)", started.elapsed().as_secs_f64());
    }
    db.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;").ok();
    started.elapsed().as_secs_f64()
}

/// A Worker that runs one statement on the same local database and answers D1's `meta`.
pub(super) struct Probe {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Probe {
    pub(super) fn start(state: &Path) -> Probe {
        let dir = harness::scratch_dir().join(format!("probe-{}", random_hex(4)));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("probe.mjs"),
            "export default { async fetch(request, env) {\n\
               const { sql, args } = await request.json();\n\
               try { const r = await env.DB.prepare(sql).bind(...args).all();\n\
                 return Response.json({ meta: r.meta, rows: r.results.length }); }\n\
               catch (e) { return Response.json({ error: String(e) }, { status: 500 }); } } };\n",
        )
        .unwrap();
        // The project's D1 binding, so the probe opens the same database file.
        std::fs::write(
            dir.join("wrangler.toml"),
            "name = \"probe\"\nmain = \"probe.mjs\"\ncompatibility_date = \"2025-11-01\"\n[[d1_databases]]\nbinding = \"DB\"\n\
             database_name = \"edge-crm\"\ndatabase_id = \"00000000-0000-0000-0000-000000000000\"\n",
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let inspector = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(dir.join("probe.log")).unwrap();
        let child = Command::new(harness::repo_root().join("node_modules/.bin/wrangler"))
            .env("CI", "true")
            .env("WRANGLER_SEND_METRICS", "false")
            .args(["dev", "-c"])
            .arg(dir.join("wrangler.toml"))
            .args(["--ip", "127.0.0.1", "--port", &port.to_string(), "--inspector-port", &inspector.to_string()])
            .arg("--persist-to")
            .arg(state)
            .args(["--show-interactive-dev-session=false", "--log-level", "error"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("spawn the probe");
        let probe = Probe { child, base: format!("http://127.0.0.1:{port}"), agent: ureq::AgentBuilder::new().timeout(Duration::from_secs(600)).build() };
        let started = Instant::now();
        while probe.agent.post(&probe.base).send_json(json!({"sql": "SELECT 1", "args": []})).is_err() {
            assert!(started.elapsed() < Duration::from_secs(120), "the probe did not start");
            std::thread::sleep(Duration::from_millis(300));
        }
        probe
    }

    /// D1's figures for one statement: rows read, rows written, rows answered.
    pub(super) fn run(&self, sql: &str, args: &[Value]) -> (u64, u64, u64) {
        let answer: Value = match self.agent.post(&self.base).send_json(json!({"sql": sql, "args": args})) {
            Ok(r) => r.into_json().unwrap(),
            Err(ureq::Error::Status(_, r)) => panic!("probe: {}", r.into_string().unwrap_or_default()),
            Err(e) => panic!("probe: {e}"),
        };
        let m = &answer["meta"];
        (m["rows_read"].as_u64().unwrap_or(0), m["rows_written"].as_u64().unwrap_or(0), answer["rows"].as_u64().unwrap_or(0))
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-s", "TERM", "--", &group]).stderr(Stdio::null()).status();
        std::thread::sleep(Duration::from_millis(500));
        let _ = Command::new("kill").args(["-s", "KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.wait();
    }
}

fn json_args(args: Vec<Arg>) -> Vec<Value> {
    args.into_iter()
        .map(|a| match a {
            Arg::Text(t) => json!(t),
            Arg::Int(n) => json!(n),
            Arg::Null => Value::Null,
        })
        .collect()
}

fn sql_args(args: &[Value]) -> Vec<rusqlite::types::Value> {
    args.iter()
        .map(|a| match a {
            Value::String(s) => rusqlite::types::Value::Text(s.clone()),
            Value::Number(n) => rusqlite::types::Value::Integer(n.as_i64().unwrap()),
            _ => rusqlite::types::Value::Null,
        })
        .collect()
}

/// The statement and arguments the Worker runs for a list URL's query (its first page).
fn statement(path: &str) -> (&'static str, Vec<Value>) {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), percent_decode(v))
        })
        .collect();
    match route {
        "/tasks" => {
            let list = parse_task_list(&pairs).unwrap();
            (sql_list::task_statement(&list), json_args(sql_list::task_args(&list, WINDOW)))
        }
        _ => {
            let list = parse_record_list(RecordKind::Contact, &pairs).unwrap();
            (sql_list::record_statement(&list), json_args(sql_list::record_args(&list, WINDOW)))
        }
    }
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// The time SQLite itself takes for the statement (median of 20), on the live file.
fn floor(file: &Path, sql: &str, args: &[Value]) -> f64 {
    let db = rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = db.prepare(sql).unwrap();
    let mut times: Vec<f64> = (0..20)
        .map(|_| {
            let started = Instant::now();
            let n = stmt.query_map(rusqlite::params_from_iter(sql_args(args)), |_| Ok(())).unwrap().count();
            assert!(n >= 1, "the statement answers its last line");
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[10]
}

struct Query {
    label: &'static str,
    path: String,
}

fn queries() -> Vec<Query> {
    let q = |label: &'static str, path: String| Query { label, path };
    vec![
        q("search: a first name (many match)", "/contacts?q=maria".to_string()),
        q("search: first and last name", "/contacts?q=jose%20nunez".to_string()),
        q("search: national phone digits", "/contacts?q=600%20004%20321".to_string()),
        q("search: an e-mail domain", "/contacts?q=northwind10.com".to_string()),
        q("search: matches nothing", "/contacts?q=zzqxnothing".to_string()),
        q("list: by name, first page", "/contacts?sort=name".to_string()),
        q("list: ownerId, by name", "/contacts?ownerId=OWNER&sort=name".to_string()),
        q("list: tag + no activity since", "/contacts?tag=vip&lastActivityBefore=2024-01-01".to_string()),
        q("list: -lastActivityDate", "/contacts?sort=-lastActivityDate".to_string()),
        q("tasks: assignee, open", "/tasks?assignee=OWNER&status=open".to_string()),
        q("tasks: search a subject word", "/tasks?q=renewal".to_string()),
    ]
}

fn measure(label: &str, api: &Client, probe: &Probe, file: &Path, owner: &str) {
    println!();
    println!("search and lists, {label}");
    println!(
        "{:<36} {:>5} {:>9} {:>9} {:>10} {:>8} {:>10}",
        "query (first page, 50)", "stmts", "p50 ms", "p95 ms", "rows read", "found", "floor ms"
    );
    for q in queries() {
        let path = q.path.replace("OWNER", owner);
        let mut ms = Vec::new();
        let mut statements = String::new();
        let mut found = 0;
        for _ in 0..20 {
            let started = Instant::now();
            let resp = api.get(&path);
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(resp.status, 200, "{path}: {}", resp.text());
            statements = resp.header("x-d1-statements").unwrap_or("?").to_string();
            found = resp.json()["data"].as_array().map_or(0, Vec::len);
        }
        ms.sort_by(f64::total_cmp);
        let (sql, args) = statement(&path);
        let (read, _, _) = probe.run(sql, &args);
        let floor_ms = floor(file, sql, &args);
        println!(
            "{:<36} {:>5} {:>9.1} {:>9.1} {:>10} {:>8} {:>10.2}",
            q.label,
            statements,
            percentile(&ms, 50.0),
            percentile(&ms, 95.0),
            read,
            found,
            floor_ms
        );
    }
}

/// Rows D1 writes (and reads) per record for each write of a record, with its search terms and
/// with none (the index's own share is the difference).
fn writes_per_record(probe: &Probe) {
    println!();
    println!("rows per record written, D1 meta (one contact of the seed's shape, {} search terms)", {
        let (f, p) = contact(7);
        search_text(RecordKind::Contact, f.as_object().unwrap(), p.as_object().unwrap()).split(' ').count()
    });
    println!("{:<44} {:>12} {:>12}", "statement", "rows written", "rows read");
    let s = &edge_crm::store::sql::CONTACTS;
    let now = "2031-01-01T00:00:00.000Z";
    for (with_terms, label) in [(true, "with terms"), (false, "without terms")] {
        let (fields, properties) = contact(7);
        let map = fields.as_object().unwrap();
        let text = if with_terms { search_text(RecordKind::Contact, map, properties.as_object().unwrap()) } else { String::new() };
        let id = format!("ct_probe{}", random_hex(4));
        let write = |fields: &Value, text: &str| {
            json!([{"id": id, "externalId": null, "fields": fields, "properties": properties, "ownerId": null, "parentId": null,
                "displayName": "x", "searchText": text, "keys": [], "base": "", "changes": []}])
            .to_string()
        };
        let (r, w, _) = probe.run(s.insert_new, &[json!(write(&fields, &text)), json!(now)]);
        println!("{:<44} {:>12} {:>12}", format!("create ({label})"), w, r);
        let mut changed = fields.clone();
        changed["title"] = json!("Chief Revenue Officer");
        let changed_text = if with_terms { search_text(RecordKind::Contact, changed.as_object().unwrap(), properties.as_object().unwrap()) } else { String::new() };
        let (r, w, _) = probe.run(s.update, &[json!(write(&changed, &changed_text)), json!(now)]);
        println!("{:<44} {:>12} {:>12}", format!("update, the title's terms change ({label})"), w, r);
        let mut same = changed.clone();
        same["industry"] = json!("not a term");
        let (r, w, _) = probe.run(s.update, &[json!(write(&same, &changed_text)), json!(now)]);
        println!("{:<44} {:>12} {:>12}", format!("update, no term changes ({label})"), w, r);
        let (r, w, _) = probe.run(s.soft_delete, &[json!(id), json!(now)]);
        println!("{:<44} {:>12} {:>12}", format!("delete ({label})"), w, r);
    }
}

/// A full export over HTTP, streamed: the time to its first byte and to its end, its size and
/// rows, read as it arrives (nothing kept).
fn export(api: &Client, path: &str) {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(3600)).build();
    let started = Instant::now();
    let resp = agent.get(&format!("{}{}", api.base, path)).set("X-API-Key", &api.keys[0]).call().expect("the export answers");
    let first = started.elapsed().as_secs_f64();
    let mut reader = resp.into_reader();
    let mut buf = vec![0u8; 1 << 16];
    let (mut bytes, mut lines) = (0usize, 0usize);
    loop {
        let n = reader.read(&mut buf).expect("the export streams to its end");
        if n == 0 {
            break;
        }
        bytes += n;
        lines += buf[..n].iter().filter(|b| **b == b'\n').count();
    }
    let total = started.elapsed().as_secs_f64();
    println!(
        "{:<36} first byte {:>6.2} s, whole {:>7.1} s, {:>11} bytes, {:>9} lines ({:.0} records/s)",
        path,
        first,
        total,
        bytes,
        lines,
        lines as f64 / total
    );
}

pub fn run(build: &Build, key: &str, password: &str) {
    let total = records();
    let mut server = Server::spawn(build, ServerOptions {
        name: "bench-search",
        vars: vec![("MATCH_CACHE", "off".to_string())],
        secrets: vec![("API_KEYS", key.to_string()), ("DASHBOARD_PASSWORD", password.to_string())],
        apply_schema: true,
    });
    server.wait_ready(Duration::from_secs(120));
    let api = Client::new(&server.base, vec![key.to_string()]);
    let users: Vec<Value> = (0..20).map(|u| json!({"email": format!("owner{u}@bench.example"), "name": format!("Owner {u}")})).collect();
    let stored = api.json("POST", "/users", &json!({ "users": users })).json();
    let owners: Vec<String> = stored["results"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(owners.len(), 20, "{stored}");
    let state: PathBuf = server.state_dir().to_path_buf();
    let file = find_sqlite(&state).expect("the local D1 file");

    let small = 10_000.min(total);
    server.stop();
    let secs = seed(&file, 0, small, &owners);
    eprintln!("[bench] {small} contacts written in {secs:.0}s");
    server.restart();
    server.wait_ready(Duration::from_secs(120));
    let api = Client::new(&server.base, vec![key.to_string()]);
    {
        let probe = Probe::start(&state);
        measure(&format!("{small} contacts, {} tasks", small / 10), &api, &probe, &file, &owners[3]);
        export(&api, "/contacts?format=csv");
    }
    if total > small {
        server.stop();
        let secs = seed(&file, small, total, &owners);
        println!();
        println!("seeded {} more contacts directly into the local D1 file in {secs:.0}s", total - small);
        server.restart();
        server.wait_ready(Duration::from_secs(300));
        let api = Client::new(&server.base, vec![key.to_string()]);
        let probe = Probe::start(&state);
        measure(&format!("{total} contacts, {} tasks", total / 10), &api, &probe, &file, &owners[3]);
        writes_per_record(&probe);
        println!();
        export(&api, "/contacts?format=csv");
        export(&api, "/tasks?format=ndjson");
    } else {
        let probe = Probe::start(&state);
        writes_per_record(&probe);
    }
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    println!();
    println!("database file: {:.0} MB; rows read from D1's own meta through a probe Worker on the same file;", size as f64 / 1e6);
    println!("floor: the same statement and arguments run by SQLite on the file (median of 20), no Worker, no HTTP.");
}
