//! The benchmark: `npm run bench` (or `cargo test --release --test bench`).
//!
//! Starts the Worker under `wrangler dev` with a fresh local store, seeds it with 100,000
//! companies, then measures batch create and batch update of 10, 100 and 1,000 records:
//! statements per request (from the `X-D1-Statements` header), latency percentiles end to end, and
//! records per second. In the same run it measures two baselines on the same machine:
//! - "per-record requests": the same records sent one per request, the cost model of Enginy's
//!   reference server (a round trip and a query per record);
//! - "SQLite floor": the same insert statements run directly on a copy of the local D1 database
//!   file with SQLite, with no Worker, no HTTP and no D1 in between.
//! It prints figures; it asserts nothing about time.

#[path = "../e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::time::{Duration, Instant};

use harness::{random_hex, Client, Server, ServerOptions};
use serde_json::{json, Value};

/// Records stored before measuring; `BENCH_SEED` overrides (a multiple of 1,000).
fn seed_size() -> usize {
    std::env::var("BENCH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

fn company(tag: &str, i: usize) -> Value {
    json!({
        "externalId": format!("{tag}-{i}"),
        "name": format!("Company {tag} {i}"),
        // A registrable domain of its own: `x.example.com` would reduce to `example.com`.
        "domain": format!("{tag}-{i}.com"),
        "industry": "Software",
        "employeeCount": i % 5000,
        "linkedinUrl": format!("https://www.linkedin.com/company/{tag}-{i}"),
        "genesy_score": format!("{}", i % 100),
    })
}

struct Sample {
    millis: f64,
    statements: u32,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn report(label: &str, records: usize, samples: &[Sample]) {
    let mut ms: Vec<f64> = samples.iter().map(|s| s.millis).collect();
    ms.sort_by(f64::total_cmp);
    let statements: Vec<u32> = samples.iter().map(|s| s.statements).collect();
    let (min_s, max_s) = (statements.iter().min().unwrap(), statements.iter().max().unwrap());
    let total_ms: f64 = ms.iter().sum();
    let rps = (records * samples.len()) as f64 / (total_ms / 1000.0);
    let stmts = if min_s == max_s { format!("{min_s}") } else { format!("{min_s}-{max_s}") };
    println!(
        "{label:<34} {records:>6} {stmts:>10} {:>9.1} {:>9.1} {:>12.0}",
        percentile(&ms, 50.0),
        percentile(&ms, 95.0),
        rps
    );
}

fn header() {
    println!("{:<34} {:>6} {:>10} {:>9} {:>9} {:>12}", "operation", "batch", "statements", "p50 ms", "p95 ms", "records/s");
}

fn timed(client: &Client, method: &str, path: &str, body: &Value) -> (Sample, Value) {
    let started = Instant::now();
    let resp = client.json(method, path, body);
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(resp.status, 200, "{method} {path}: {}", resp.text());
    let statements = resp.header("x-d1-statements").and_then(|s| s.parse().ok()).unwrap_or(0);
    (Sample { millis, statements }, resp.json())
}

/// Seeds `seed` companies through the API, 1,000 per request.
fn seed_store(api: &Client, seed: usize, label: &str) {
    eprintln!("[bench] seeding {seed} companies into the {label} server, 1,000 per request");
    let started = Instant::now();
    for chunk in 0..seed / 1000 {
        let records: Vec<Value> = (0..1000).map(|i| company("seed", chunk * 1000 + i)).collect();
        timed(api, "POST", "/companies", &json!({ "companies": records }));
    }
    eprintln!("[bench] seeded in {:.1}s", started.elapsed().as_secs_f64());
}

/// A sync batch: half the records exist (by domain, under other externalIds), half do not.
fn sync_batch(size: usize, seed: usize, rep: usize) -> Value {
    let tag = format!("miss{rep}{}", random_hex(3));
    let records: Vec<Value> = (0..size)
        .map(|i| {
            if i % 2 == 0 {
                let n = (rep * 7919 + i * 104_729) % seed;
                json!({"externalId": format!("enginy-{tag}-{i}"), "name": format!("Company seed {n}"), "domain": format!("https://www.seed-{n}.com/")})
            } else {
                json!({"externalId": format!("enginy-{tag}-{i}"), "name": "Nobody", "domain": format!("{tag}-{i}.net")})
            }
        })
        .collect();
    json!({ "companies": records })
}

fn main() {
    let build = harness::build_worker();
    let key = format!("bench_{}", random_hex(16));
    let spawn = |name: &'static str, vars: Vec<(&'static str, String)>| {
        Server::spawn(&build, ServerOptions { name, vars, secrets: vec![("API_KEYS", key.clone())], apply_schema: true })
    };
    let mut server = spawn("bench", vec![]);
    let mut no_cache_server = spawn("bench-nocache", vec![("MATCH_CACHE", "off".to_string())]);
    server.wait_ready(Duration::from_secs(120));
    no_cache_server.wait_ready(Duration::from_secs(120));
    let api = Client::new(&server.base, vec![key.clone()]);
    let api_no_cache = Client::new(&no_cache_server.base, vec![key.clone()]);

    let seed = seed_size();
    seed_store(&api, seed, "cache-on");
    seed_store(&api_no_cache, seed, "cache-off");

    println!();
    println!("edge-crm benchmark: {seed} companies stored, wrangler dev (workerd + local D1) on 127.0.0.1");
    header();
    for (size, reps) in [(10, 30), (100, 20), (1000, 10)] {
        let mut creates = Vec::new();
        let mut updates = Vec::new();
        for rep in 0..reps {
            let tag = format!("c{size}r{rep}{}", random_hex(3));
            let records: Vec<Value> = (0..size).map(|i| company(&tag, i)).collect();
            let (sample, body) = timed(&api, "POST", "/companies", &json!({ "companies": records }));
            let created = body["results"].as_array().unwrap().iter().filter(|r| r["created"] == true).count();
            assert_eq!(created, size, "every record is new: {body}");
            creates.push(sample);
            let changes: Vec<Value> = body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| json!({"crmId": r["crmId"], "industry": "Fintech", "genesy_engagement_status": "ENGAGED"}))
                .collect();
            let (sample, body) = timed(&api, "PUT", "/companies", &json!({ "companies": changes }));
            assert!(body["results"].as_array().unwrap().iter().all(|r| r["success"] == true), "{body}");
            updates.push(sample);
        }
        report("create (new records, dedupe on)", size, &creates);
        report("update (2 fields each)", size, &updates);
    }
    for (size, reps) in [(10, 30), (100, 20), (1000, 10)] {
        for (label, client) in [("sync, half matching, cache on", &api), ("sync, half matching, cache off", &api_no_cache)] {
            let samples: Vec<Sample> = (0..reps)
                .map(|rep| {
                    let (sample, body) = timed(client, "POST", "/companies/sync", &sync_batch(size, seed, rep));
                    assert_eq!(body["results"].as_array().unwrap().len(), size / 2, "{body}");
                    sample
                })
                .collect();
            report(label, size, &samples);
        }
    }

    // Baseline 1: the same 100 records, one per request.
    let tag = format!("single{}", random_hex(3));
    let singles: Vec<Sample> =
        (0..100).map(|i| timed(&api, "POST", "/companies", &json!({ "companies": [company(&tag, i)] })).0).collect();
    let total_ms: f64 = singles.iter().map(|s| s.millis).sum();
    let statements: u32 = singles.iter().map(|s| s.statements).sum();
    println!(
        "{:<34} {:>6} {:>10} {:>9.1} {:>9} {:>12.0}",
        "baseline: per-record requests",
        100,
        statements,
        total_ms,
        "-",
        100.0 / (total_ms / 1000.0)
    );

    // Baseline 2: the SQLite floor for the same statements on a copy of the database file.
    match sqlite_floor(server.state_dir(), seed) {
        Some((create_ms, sync_ms)) => {
            println!("{:<34} {:>6} {:>10} {:>9.1} {:>9} {:>12.0}", "floor: SQLite create statements", 1000, 9, create_ms, "-", 1000.0 / (create_ms / 1000.0));
            println!("{:<34} {:>6} {:>10} {:>9.1} {:>9} {:>12.0}", "floor: SQLite sync lookup", 1000, 1, sync_ms, "-", 1000.0 / (sync_ms / 1000.0));
        }
        None => println!("floor: the local D1 database file was not found under {}", server.state_dir().display()),
    }
    println!();
    println!("statements: D1 statements per request; p50/p95: end-to-end latency over HTTP on loopback.");
    println!("per-record baseline: total time for 100 requests of one record (p50 column = total ms).");
    println!("floor: the same SQL run by SQLite on a copy of the local D1 file, no Worker, no HTTP (p50 column = ms).");
}

/// Runs, on a copy of the local D1 file, the create statements for 1,000 new records and the
/// sync lookup of a 1,000-record batch: the time SQLite itself needs, with nothing around it.
fn sqlite_floor(state: &std::path::Path, seed: usize) -> Option<(f64, f64)> {
    let file = find_sqlite(state)?;
    let copy = state.join("floor.sqlite");
    std::fs::copy(&file, &copy).ok()?;
    let db = rusqlite::Connection::open(&copy).ok()?;
    let tag = format!("floor{}", random_hex(3));
    let items: Vec<Value> = (0..1000)
        .map(|i| {
            let c = company(&tag, i);
            json!({"id": format!("co_floor{tag}{i:06}"), "externalId": c["externalId"], "fields": c, "properties": {},
                   "ownerId": null, "parentId": null, "displayName": c["name"], "searchText": "", "keys": [["domain", c["domain"]]]})
        })
        .collect();
    let items = Value::Array(items).to_string();
    let s = &edge_crm::store::sql::COMPANIES;
    let now = "2030-01-01T00:00:00.000Z";
    let started = Instant::now();
    let tx = db.unchecked_transaction().ok()?;
    tx.execute(s.insert_new, rusqlite::params![items, now]).ok()?;
    tx.execute(s.link_new, rusqlite::params![items, now]).ok()?;
    tx.execute(s.keys_new, [&items]).ok()?;
    tx.execute(s.history_new, rusqlite::params![items, now, "bench"]).ok()?;
    tx.prepare(s.resolve_external).ok()?.query_map([&items], |_| Ok(())).ok()?.for_each(drop);
    tx.commit().ok()?;
    let create_ms = started.elapsed().as_secs_f64() * 1000.0;

    // The sync lookup: the same candidates statement the Worker runs, for 1,000 inputs.
    let batch = sync_batch(1000, seed, 99);
    let externals: Vec<&Value> = batch["companies"].as_array()?.iter().map(|r| &r["externalId"]).collect();
    let keys: Vec<Value> = batch["companies"]
        .as_array()?
        .iter()
        .filter_map(|r| edge_crm::domain::normalize::normalize_domain(r["domain"].as_str()?))
        .map(|d| json!(["domain", d]))
        .collect();
    let started = Instant::now();
    let found = db
        .prepare(s.candidates)
        .ok()?
        .query_map([json!(externals).to_string(), Value::Array(keys).to_string()], |_| Ok(()))
        .ok()?
        .count();
    let sync_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(found, 500, "the floor query finds the same candidates");
    Some((create_ms, sync_ms))
}

/// The local D1 database: the largest `.sqlite` file under the state's `d1` folder (the others
/// are wrangler's metadata).
fn find_sqlite(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, found: &mut Vec<(u64, std::path::PathBuf)>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "sqlite")
                && path.to_string_lossy().contains("/d1/")
                && !path.ends_with("metadata.sqlite")
            {
                found.push((entry.metadata().map(|m| m.len()).unwrap_or(0), path));
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, &mut found);
    found.into_iter().max().map(|(_, p)| p)
}
