//! Sync and update at the size limit: `BENCH_ONLY=scale` (`npm run bench` with it set).
//!
//! The store grows through 20,000, 100,000 and 1,000,000 companies (and 5,000,000 with
//! `BENCH_SCALE_MAX=5000000`; `BENCH_SCALE_MAX` caps the sizes in general). The companies are
//! written **directly into the local D1 database file** (SQLite) while the server is stopped,
//! because 5,000,000 records through the API take hours here. They are written by the Worker's
//! own create statements (`insert_new`, `link_new`, `keys_new`, `history_new` of
//! `store::sql::COMPANIES`) with the arguments the Worker binds: each chunk of 1,000 is parsed by
//! `parse_new` and planned by `plan_create`, so the rows, their keys, display names, search texts,
//! externalId links and history, and everything the schema's triggers fill (search terms, page
//! counts, shared keys), are those a create through the API writes. Only the ids' random part
//! comes from a seeded generator instead of the OS, so a record's id follows from its number.
//!
//! At each size, served again by `wrangler dev`, over HTTP (default configuration with the match
//! cache off, as near D1): a sync of 1,000 companies with fresh random keys (half of them stored
//! records picked at random, found by domain under new externalIds, half new domains), the same
//! sync sent again (its pages now read once), and an update of 1,000 random stored records (a
//! core field and a custom property each). Each 10 times: p50 and p95 latency, D1 statements,
//! rows read and written (`X-D1-…`), D1 time (`Server-Timing`). Then, with the server stopped,
//! the **SQLite floor**: the same statements with arguments of the same shape, fresh random
//! records again, run by SQLite on the same file (`synchronous = OFF`; SQLite's default page
//! cache, as a fresh connection has), with the pages each had to read from the file (SQLite's
//! cache misses). The sync's rows read are also taken from D1's `meta` through a probe Worker
//! (`search::Probe`), a check on the Worker's own headers (which read 0 past 4 GiB until the store
//! read D1's `meta` itself). It prints
//! figures; it asserts only that the answers are right.
//!
//! `BENCH_BASELINE=<checkout>` names a baseline: a checkout of another commit whose Worker is
//! built there (`bash scripts/build.sh`). At every size it then serves the same file for a block
//! of syncs (fresh random keys) by the baseline, then one by this build, `BENCH_BASELINE_ROUNDS`
//! times (2 by default), each after as many unmeasured syncs, so the two builds are compared on
//! the same data in the same run.

use std::path::Path;
use std::time::{Duration, Instant};

use edge_crm::domain::config::Config;
use edge_crm::domain::ids::{CrmId, IdKind, RANDOM_BYTES};
use edge_crm::domain::plan::{plan_create, plan_update, CreateSettings, SyncItem};
use edge_crm::domain::record::{parse_new, parse_update, LoadedRecord, RecordKind, RecordRow};
use edge_crm::domain::refs::Known;
use edge_crm::domain::sync::lookup_keys;
use edge_crm::domain::time::Timestamp;
use edge_crm::store::args::ChangeArgs;
use edge_crm::store::sql::{COMPANIES, REFERENCES_GUARD};
use serde_json::{json, Value};

use super::harness::{random_hex, snapshot, Build, Client, Server, ServerOptions};
use super::search::Probe;
use super::{company, find_sqlite, percentile, timed, Sample};

/// The sizes measured: 20,000, 100,000, 1,000,000 and 5,000,000, up to `BENCH_SCALE_MAX`
/// (1,000,000 by default).
fn sizes() -> Vec<usize> {
    let max: usize = std::env::var("BENCH_SCALE_MAX").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let mut sizes: Vec<usize> = [20_000, 100_000, 1_000_000, 5_000_000].into_iter().filter(|&s| s <= max).collect();
    if sizes.last() != Some(&max) && max % 1000 == 0 && max > 0 {
        sizes.push(max);
    }
    sizes
}

const REPS: usize = 10;
/// The seed's first write time: every seeded record is older than anything the run writes.
const SEED_EPOCH_MS: i64 = 1_735_689_600_000; // 2025-01-01

/// A small, fast generator (splitmix64): the ids' random part, and the run's random picks.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `count` different numbers below `n`.
    fn distinct(&mut self, count: usize, n: usize) -> Vec<usize> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let k = self.below(n);
            if seen.insert(k) {
                out.push(k);
            }
        }
        out
    }

    fn from_os() -> Rng {
        Rng(u64::from_str_radix(&random_hex(8), 16).unwrap())
    }
}

/// The write time of seed chunk `chunk` (1,000 records): one second apart.
fn chunk_millis(chunk: usize) -> i64 {
    SEED_EPOCH_MS + chunk as i64 * 1000
}

/// The id of seeded company `n`: its chunk's time, and random bits that follow from `n`.
fn seeded_id(n: usize) -> String {
    let mut rng = Rng(n as u64 ^ 0x5EED_C0DE);
    let bytes: [u8; RANDOM_BYTES] = std::array::from_fn(|_| rng.next() as u8);
    CrmId::new(IdKind::Company, chunk_millis(n / 1000), bytes).into_string()
}

/// Writes companies `from..to` (multiples of 1,000) into the database file by the Worker's create
/// statements, 1,000 a statement, 100,000 a transaction. Answers the seconds it took.
fn seed(file: &Path, from: usize, to: usize, config: &Config) -> f64 {
    let started = Instant::now();
    let mut db = rusqlite::Connection::open(file).expect("the local D1 file opens");
    // A larger cache for the seed only (this connection's); the measurements use the default.
    db.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;").unwrap();
    let settings = CreateSettings::of(config, RecordKind::Company);
    let s = &COMPANIES;
    let mut chunk = from / 1000;
    while chunk < to / 1000 {
        let end = (chunk + 100).min(to / 1000);
        let tx = db.transaction().unwrap();
        {
            let mut statements: Vec<rusqlite::Statement> =
                [s.insert_new, s.link_new, s.keys_new, s.history_new].iter().map(|sql| tx.prepare(sql).unwrap()).collect();
            for c in chunk..end {
                let items: Vec<_> = (0..1000).map(|i| parse_new(RecordKind::Company, &company("seed", c * 1000 + i))).collect();
                let mut n = c * 1000;
                let plan = plan_create(&settings, &items, Vec::new(), &Known::default(), || {
                    n += 1;
                    seeded_id(n - 1)
                });
                assert_eq!(plan.inserts.len(), 1000, "every seeded company is new");
                let inserts = serde_json::to_string(&plan.inserts).unwrap();
                let now = Timestamp::from_millis(chunk_millis(c)).to_rfc3339();
                let request = CrmId::new(IdKind::Request, chunk_millis(c), [c as u8; RANDOM_BYTES]).into_string();
                let inserted = statements[0].execute(rusqlite::params![inserts, now]).unwrap();
                assert_eq!(inserted, 1000, "chunk {c}: every company inserted");
                statements[1].execute(rusqlite::params![inserts, now]).unwrap();
                statements[2].execute(rusqlite::params![inserts]).unwrap();
                statements[3].execute(rusqlite::params![inserts, now, request]).unwrap();
            }
        }
        tx.commit().unwrap();
        chunk = end;
        eprintln!("[bench] seeded {} companies ({:.0}s)", chunk * 1000, started.elapsed().as_secs_f64());
    }
    db.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").ok();
    started.elapsed().as_secs_f64()
}

/// A sync of 1,000 with fresh random keys: even items a stored company picked at random (by its
/// domain, written another way, under a new externalId), odd items a new company.
fn sync_body(rng: &mut Rng, stored: usize) -> Value {
    let tag = format!("s{:x}", rng.next() & 0xFFFF_FFFF);
    let picked = rng.distinct(500, stored);
    let records: Vec<Value> = (0..1000)
        .map(|i| match i % 2 {
            0 => {
                let n = picked[i / 2];
                json!({"externalId": format!("enginy-{tag}-{i}"), "name": format!("Company seed {n}"), "domain": format!("https://www.seed-{n}.com/")})
            }
            _ => json!({"externalId": format!("enginy-{tag}-{i}"), "name": format!("Newco {tag} {i}"), "domain": format!("{tag}-{i}.net")}),
        })
        .collect();
    json!({ "companies": records })
}

/// An update of 1,000 random stored companies: a core field and a custom property each.
/// The values are the run's own, so every record changes.
fn update_body(rng: &mut Rng, stored: usize, rep: usize) -> Value {
    let rep = format!("{rep}-{:x}", rng.next() & 0xFFFF_FFFF);
    let records: Vec<Value> = rng
        .distinct(1000, stored)
        .into_iter()
        .map(|n| json!({"crmId": seeded_id(n), "industry": format!("Scale {rep}"), "genesy_engagement_status": format!("ENGAGED {rep}")}))
        .collect();
    json!({ "companies": records })
}

/// What the SQLite floor measured: milliseconds and pages read from the file, per run.
#[derive(Default)]
struct Floor {
    millis: Vec<f64>,
    pages: Vec<f64>,
    /// Pages read by each step (statement), per run.
    steps: Vec<(&'static str, Vec<f64>)>,
}

impl Floor {
    fn p(&self, p: f64) -> f64 {
        let mut v = self.millis.clone();
        v.sort_by(f64::total_cmp);
        percentile(&v, p)
    }

    fn pages(&self) -> f64 {
        let mut v = self.pages.clone();
        v.sort_by(f64::total_cmp);
        percentile(&v, 50.0)
    }

    fn step(&mut self, label: &'static str, pages: f64) {
        match self.steps.iter_mut().find(|(l, _)| *l == label) {
            Some((_, v)) => v.push(pages),
            None => self.steps.push((label, vec![pages])),
        }
    }

    /// `label: median pages` of each step.
    fn steps(&self) -> String {
        let median = |v: &Vec<f64>| {
            let mut v = v.clone();
            v.sort_by(f64::total_cmp);
            percentile(&v, 50.0)
        };
        self.steps.iter().map(|(l, v)| format!("{l} {:.0}", median(v))).collect::<Vec<_>>().join(", ")
    }
}

/// The steps of the sync's `candidates` statement, one statement each, so their pages can be
/// told apart: each item's externalId, each item's key, then each stored record found, its row
/// (the one read of `candidates` per record with the match cache off: its keys the Worker
/// computes from its fields, and its links are those the lookup found and its own externalId).
const SYNC_STEPS: [(&str, &str); 3] = [
    ("externalIds", "SELECT count(e.record_id) FROM json_each(?1) x CROSS JOIN external_ids e ON e.kind = 'company' AND e.external_id = x.value"),
    (
        "keys",
        "SELECT count(m.record_id) FROM json_each(?1) j CROSS JOIN match_keys m ON m.kind = 'company' AND m.field = j.value->>0 AND m.key = j.value->>1",
    ),
    ("found: rows", "SELECT count(r.fields) FROM json_each(?1) x CROSS JOIN companies r ON r.id = x.value WHERE +r.deleted_at IS NULL"),
];

/// Pages the connection read from the file since the last call (SQLite's cache misses).
fn cache_misses(db: &rusqlite::Connection) -> f64 {
    let (mut current, mut high) = (0, 0);
    // SAFETY: a valid open connection; the status call only reads counters (and resets them).
    unsafe { rusqlite::ffi::sqlite3_db_status(db.handle(), rusqlite::ffi::SQLITE_DBSTATUS_CACHE_MISS, &mut current, &mut high, 1) };
    current as f64
}

/// The Worker's sync lookup (`candidates`) with the arguments it binds for `body` (with the
/// match cache off: the links that decide, not all of them).
fn sync_args(config: &Config, body: &Value) -> [String; 4] {
    let items: Vec<SyncItem> =
        body["companies"].as_array().unwrap().iter().map(|v| SyncItem::of(RecordKind::Company, &parse_new(RecordKind::Company, v).unwrap())).collect();
    let external_ids: Vec<&str> = items.iter().filter_map(|i| i.external_id.as_deref()).collect();
    let lookups = lookup_keys(config.match_rule(RecordKind::Company), items.iter().map(|i| &i.keys));
    let pairs: Vec<(&str, &str)> = lookups.iter().map(|(f, k)| (f.name(), k.as_str())).collect();
    [serde_json::to_string(&external_ids).unwrap(), serde_json::to_string(&pairs).unwrap(), "[]".to_string(), "0".to_string()]
}

/// The sync's statement for fresh random batches, then its steps (`SYNC_STEPS`) for others.
fn sync_floor(db: &rusqlite::Connection, config: &Config, rng: &mut Rng, stored: usize) -> Floor {
    let mut floor = Floor::default();
    for _ in 0..REPS {
        let args = sync_args(config, &sync_body(rng, stored));
        cache_misses(db);
        let started = Instant::now();
        let packed: String = db.query_row(COMPANIES.candidates, rusqlite::params_from_iter(&args), |r| r.get(0)).unwrap();
        let found = serde_json::from_str::<Vec<Value>>(&packed).unwrap().len();
        floor.millis.push(started.elapsed().as_secs_f64() * 1000.0);
        floor.pages.push(cache_misses(db));
        assert_eq!(found, 500, "the floor's lookup finds the stored half");
        // The same statement's steps, one at a time, on another fresh batch.
        let body = sync_body(rng, stored);
        let [external_ids, keys, _, _] = sync_args(config, &body);
        let ids: Vec<String> = body["companies"].as_array().unwrap().iter().step_by(2).map(|c| {
            let n: usize = c["name"].as_str().unwrap().trim_start_matches("Company seed ").parse().unwrap();
            seeded_id(n)
        }).collect();
        let ids = serde_json::to_string(&ids).unwrap();
        for ((label, sql), arg) in SYNC_STEPS.iter().zip([&external_ids, &keys, &ids]) {
            cache_misses(db);
            db.query_row(sql, [arg], |_| Ok(())).unwrap();
            floor.step(label, cache_misses(db));
        }
    }
    floor
}

/// The Worker's update statements: `load`, then the write batch (the reference guard, the
/// record guard, the two updates, the keys' removal and addition, history) in one transaction.
fn update_floor(db: &rusqlite::Connection, rng: &mut Rng, stored: usize) -> Floor {
    let mut floor = Floor::default();
    for rep in 0..REPS {
        let body = update_body(rng, stored, 100 + rep);
        let items = body["companies"].as_array().unwrap();
        let ids: Vec<String> = items.iter().map(|i| i["crmId"].as_str().unwrap().to_string()).collect();
        cache_misses(db);
        let started = Instant::now();
        let packed: String = db.query_row(COMPANIES.load, [serde_json::to_string(&ids).unwrap()], |r| r.get(0)).unwrap();
        let loaded = started.elapsed();
        floor.step("load", cache_misses(db));
        let stored_rows: Vec<RecordRow> = serde_json::from_str::<Vec<LoadedRecord>>(&packed)
            .unwrap()
            .into_iter()
            .map(RecordRow::from)
            .collect();
        assert_eq!(stored_rows.len(), 1000, "the floor loads every record");
        let parsed: Vec<_> = items.iter().map(|i| parse_update(RecordKind::Company, i)).collect();
        let sent: Vec<Value> = ids.iter().map(|id| json!(id)).collect();
        let plan = plan_update(RecordKind::Company, &parsed, &sent, &stored_rows, &Default::default(), &Default::default(), &Default::default());
        let args = ChangeArgs::of(&plan.writes);
        let refs = serde_json::to_string(&plan.refs(&stored_rows)).unwrap();
        let now = Timestamp::from_millis(SEED_EPOCH_MS + 400 * 86_400_000 + rep as i64).to_rfc3339();
        let s = &COMPANIES;
        let started = Instant::now();
        let tx = db.unchecked_transaction().unwrap();
        tx.execute(REFERENCES_GUARD, [&refs]).unwrap();
        let mut pages = 0.0;
        let mut step = |floor: &mut Floor, label: &'static str| {
            let n = cache_misses(db);
            pages += n;
            floor.step(label, n);
        };
        step(&mut floor, "references guard");
        tx.execute(s.guard, [&args.bases]).unwrap();
        step(&mut floor, "guard");
        let stamped = |sql: &str, rows: &str| tx.prepare(sql).unwrap().query_map(rusqlite::params![rows, now], |_| Ok(())).unwrap().count();
        let written = stamped(s.update, &args.full) + stamped(s.update_light, &args.light);
        step(&mut floor, "update + update_light");
        tx.execute(s.keys_delete, [&args.keys]).unwrap();
        tx.execute(s.keys_new, [&args.keys]).unwrap();
        step(&mut floor, "keys");
        tx.execute(s.history_changes, rusqlite::params![args.changes, now, "floor"]).unwrap();
        step(&mut floor, "history");
        tx.commit().unwrap();
        step(&mut floor, "commit");
        floor.millis.push((loaded + started.elapsed()).as_secs_f64() * 1000.0);
        let load_pages = floor.steps[0].1.last().copied().unwrap_or(0.0);
        floor.pages.push(load_pages + pages);
        assert_eq!(written, 1000, "the floor writes every record: {} planned; {:?}", plan.writes.len(),
            plan.outcomes.iter().filter(|o| o.result.is_err()).take(3).map(|o| format!("{:?}", o.result)).collect::<Vec<_>>());
    }
    floor
}

/// One row: the Worker's figures (medians of `samples`, p50/p95 latency) beside the floor's.
fn row(label: &str, samples: &[Sample], floor: Option<&Floor>) {
    let mut ms: Vec<f64> = samples.iter().map(|s| s.millis).collect();
    ms.sort_by(f64::total_cmp);
    let med = |f: &dyn Fn(&Sample) -> f64| {
        let mut v: Vec<f64> = samples.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        percentile(&v, 50.0)
    };
    let floor = match floor {
        Some(f) => format!("{:>9.1} {:>9.1} {:>9.0}", f.p(50.0), f.p(95.0), f.pages()),
        None => format!("{:>9} {:>9} {:>9}", "-", "-", "-"),
    };
    println!(
        "{label:<40} {:>5.0} {:>9.1} {:>9.1} {:>8.1} {:>8.1} {:>8.1} {:>10.0} {:>10.0} {floor}",
        med(&|s| s.statements as f64),
        percentile(&ms, 50.0),
        percentile(&ms, 95.0),
        med(&|s| s.d1_millis),
        med(&|s| s.own_millis),
        med(&|s| s.body_millis),
        med(&|s| s.rows_read as f64),
        med(&|s| s.rows_written as f64),
    );
}

/// The query plan SQLite chooses for `sql` on the file, one line per step.
fn plan_of(db: &rusqlite::Connection, sql: &str, args: usize) -> Vec<String> {
    let mut statement = db.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let nulls: Vec<rusqlite::types::Value> = (0..args).map(|_| rusqlite::types::Value::Text("[]".into())).collect();
    statement.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect()
}

pub fn run(build: &Build, key: &str, password: &str) {
    // The Worker's defaults (the key only makes the configuration complete).
    let config = Config::from_lookup(|name| (name == "API_KEYS").then(|| key.to_string())).expect("the default configuration");
    // `BENCH_BASELINE=<checkout>`: a checkout of another commit with its Worker built
    // (`bash scripts/build.sh` there), measured on the same file at every size.
    let baseline: Option<(String, Build)> = std::env::var("BENCH_BASELINE").ok().filter(|v| !v.is_empty()).map(|root| {
        let root = Path::new(&root);
        let head = std::process::Command::new("git").arg("-C").arg(root).args(["rev-parse", "--short", "HEAD"]).output().ok();
        let label = head.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).filter(|h| !h.is_empty());
        (label.unwrap_or_else(|| root.display().to_string()), snapshot(root))
    });
    let mut server = Server::spawn(build, ServerOptions {
        name: "bench-scale",
        vars: vec![("MATCH_CACHE", "off".to_string())],
        secrets: vec![("API_KEYS", key.to_string()), ("DASHBOARD_PASSWORD", password.to_string())],
        apply_schema: true,
    });
    server.wait_ready(Duration::from_secs(120));
    let file = find_sqlite(server.state_dir()).expect("the local D1 file");
    let mut rng = Rng::from_os();
    let mut stored = 0;
    let mut rows_per_sync: Vec<(usize, f64, u64)> = Vec::new();
    println!();
    println!("edge-crm at the size limit: sync and update of 1,000 with fresh random keys, wrangler dev (workerd + local D1) on 127.0.0.1");
    for size in sizes() {
        server.stop();
        let secs = seed(&file, stored, size, &config);
        stored = size;
        let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        server.restart();
        server.wait_ready(Duration::from_secs(600));
        let api = Client::new(&server.base, vec![key.to_string()]);
        // The first request after a start compiles the Worker and opens the database.
        assert_eq!(api.get("/health").status, 200);
        timed(&api, "POST", "/companies/sync", &sync_body(&mut rng, stored));

        let (mut syncs, mut again, mut updates) = (Vec::new(), Vec::new(), Vec::new());
        for rep in 0..REPS {
            let body = sync_body(&mut rng, stored);
            let (sample, answer) = timed(&api, "POST", "/companies/sync", &body);
            assert_eq!(answer["results"].as_array().unwrap().len(), 500, "the stored half is found: {answer}");
            syncs.push(sample);
            again.push(timed(&api, "POST", "/companies/sync", &body).0);
            let (sample, answer) = timed(&api, "PUT", "/companies", &update_body(&mut rng, stored, rep));
            assert!(answer["results"].as_array().unwrap().iter().all(|r| r["success"] == true), "{answer}");
            updates.push(sample);
        }
        // The baseline build on the same file, then this build again: sync blocks A, then B.
        let compared = baseline.as_ref().map(|(label, base)| {
            let mut block = |build: &Build, rng: &mut Rng| -> Vec<Sample> {
                server.restart_with(build);
                server.wait_ready(Duration::from_secs(600));
                let api = Client::new(&server.base, vec![key.to_string()]);
                // Neither build's block starts cold: as many unmeasured syncs first.
                for _ in 0..REPS {
                    timed(&api, "POST", "/companies/sync", &sync_body(rng, stored));
                }
                (0..REPS)
                    .map(|_| {
                        let (sample, answer) = timed(&api, "POST", "/companies/sync", &sync_body(rng, stored));
                        assert_eq!(answer["results"].as_array().unwrap().len(), 500, "the stored half is found: {answer}");
                        sample
                    })
                    .collect()
            };
            let rounds: usize = std::env::var("BENCH_BASELINE_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
            let pairs: Vec<(Vec<Sample>, Vec<Sample>)> = (0..rounds).map(|_| (block(base, &mut rng), block(build, &mut rng))).collect();
            (label.clone(), pairs)
        });
        server.stop();
        // The sync's one statement with the arguments the Worker binds, through a probe Worker
        // that reads D1's `meta` in JavaScript: a check on the Worker's own headers, which read 0
        // past 4 GiB while the store let workers-rs decode `meta` (its `size_after` in 32 bits).
        let probed: Vec<u64> = {
            let probe = Probe::start(server.state_dir());
            (0..3)
                .map(|_| {
                    let args = sync_args(&config, &sync_body(&mut rng, stored));
                    let (read, _, answered) = probe.run(COMPANIES.candidates, &args.map(Value::from));
                    assert_eq!(answered, 1, "the probe's lookup answers its candidates packed in one row");
                    read
                })
                .collect()
        };

        let db = rusqlite::Connection::open(&file).unwrap();
        db.execute_batch("PRAGMA synchronous = OFF").unwrap();
        let page_size: i64 = db.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        let sync_floor = sync_floor(&db, &config, &mut rng, stored);
        let update_floor = update_floor(&db, &mut rng, stored);
        println!();
        println!(
            "{size} companies stored (seeded in {secs:.0}s; database file {:.2} GB, {page_size}-byte pages); medians of {REPS}",
            bytes as f64 / 1e9
        );
        println!(
            "{:<40} {:>5} {:>9} {:>9} {:>8} {:>8} {:>8} {:>10} {:>10} {:>9} {:>9} {:>9}",
            "operation (1,000 records)", "stmts", "p50 ms", "p95 ms", "D1 ms", "own ms", "body ms", "rows read", "rows wrtn", "floor p50", "floor p95", "pages"
        );
        row("sync, half stored, fresh random keys", &syncs, Some(&sync_floor));
        row("sync, the same batch again", &again, None);
        if let Some((label, pairs)) = &compared {
            for (theirs, ours) in pairs {
                row(&format!("sync, baseline ({label}) then"), theirs, None);
                row("sync, this build again", ours, None);
            }
        }
        row("update, 2 fields each, random records", &updates, Some(&update_floor));
        println!("pages read by step (floor, median): sync: {}", sync_floor.steps());
        println!("pages read by step (floor, median): update: {}", update_floor.steps());
        println!(
            "rows read by the sync's statement, D1's meta through a probe Worker (3 fresh batches): {}",
            probed.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        );
        let mut read: Vec<f64> = syncs.iter().map(|s| s.rows_read as f64).collect();
        read.sort_by(f64::total_cmp);
        rows_per_sync.push((size, percentile(&read, 50.0), probed[1]));
        if sizes().last() == Some(&size) {
            println!();
            println!("query plans on the file:");
            for (name, sql, args) in [
                ("sync: candidates", COMPANIES.candidates, 4),
                ("update: load", COMPANIES.load, 1),
                ("update: guard", COMPANIES.guard, 1),
                ("update: update_light", COMPANIES.update_light, 2),
                ("update: history_changes", COMPANIES.history_changes, 3),
            ] {
                println!("  {name}");
                for step in plan_of(&db, sql, args) {
                    println!("    {step}");
                }
            }
        }
    }
    println!();
    println!(
        "rows read per 1,000-record sync (half stored), X-D1-Rows-Read / probe: {}",
        rows_per_sync.iter().map(|(n, r, p)| format!("{r:.0} / {p} at {n}")).collect::<Vec<_>>().join(", ")
    );
    println!("(X-D1-Rows-Read and X-D1-Rows-Written read 0 once the database file passes 4 GiB: see the probe above.)");
    println!("D1 ms: the Worker's wait for D1; body ms: its wait for the request's body; own ms: the rest of its time");
    println!("(Server-Timing); rows: D1's meta (X-D1-Rows-…).");
    println!("floor: the same statements, arguments of the same shape (fresh random records), run by SQLite on the same file");
    println!("with the server stopped; pages: pages SQLite read from the file (cache misses of its default 2 MB cache), median.");
}
