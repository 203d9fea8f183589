//! Memory per request (`BENCH_ONLY=memory`, and first in a full run): the wasm linear memory's
//! size after the largest requests the contract accepts, 10,000 records in a body just under
//! `MAX_BODY_BYTES` (10 MiB): a create, a sync (half of it matching stored records) and an update,
//! then a batch of tasks and one of activities.
//!
//! The size is read from `X-Wasm-Memory-Bytes`, which the Worker sends only when `EXPOSE_MEMORY`
//! is set (it is here, on this benchmark's own server). A wasm memory never shrinks, so its size
//! after a request is the high-water mark of everything the isolate did so far. Each of the three
//! requests is therefore measured on a fresh isolate: the server is stopped and started again on
//! the same local store before each one (`wrangler dev` starts a new runtime, so a new isolate),
//! and the size after a small request on that fresh isolate (`GET /health`) is printed beside it.
//! The sync is measured once more with an `Idempotency-Key`, whose answer the Worker reads back.
//! Then the three run again one after the other on one isolate, which shows what an isolate that
//! serves all of them keeps.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{random_hex, Build, Client, Server, ServerOptions};

/// The records of a batch, padded so the body as sent is just under `limit` bytes.
fn padded(limit: usize, n: usize, item: impl Fn(usize, &str) -> Value, key: &str) -> Value {
    let bare = json!({ key: (0..n).map(|i| item(i, "")).collect::<Vec<_>>() }).to_string().len();
    // What is left, spread over the items, with 1 KB to spare.
    let pad = "p".repeat(limit.saturating_sub(bare + 1024) / n);
    let body = json!({ key: (0..n).map(|i| item(i, &pad)).collect::<Vec<_>>() });
    assert!(body.to_string().len() <= limit, "the body fits MAX_BODY_BYTES");
    body
}

fn memory_of(resp: &crate::harness::Resp) -> u64 {
    resp.header("x-wasm-memory-bytes").and_then(|v| v.parse().ok()).expect("X-Wasm-Memory-Bytes (EXPOSE_MEMORY is set)")
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// Sends `body`, checks the answer, and prints the memory after it.
fn measure(api: &Client, label: &str, method: &str, path: &str, body: &Value, fresh: Option<u64>) -> Value {
    measure_with(api, label, method, path, body, fresh, &[])
}

/// [`measure`] with more headers.
fn measure_with(api: &Client, label: &str, method: &str, path: &str, body: &Value, fresh: Option<u64>, headers: &[(&str, &str)]) -> Value {
    let text = body.to_string();
    let cpu = crate::cpu_now(api);
    let started = Instant::now();
    let headers: Vec<(&str, &str)> = [("Content-Type", "application/json")].into_iter().chain(headers.iter().copied()).collect();
    let resp = api.send(method, path, crate::harness::Key::Valid, &headers, Some(text.as_bytes()));
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let cpu = cpu.zip(crate::cpu_now(api)).map_or("-".to_string(), |(before, after)| format!("{:.0}", after - before));
    assert_eq!(resp.status, 200, "{method} {path}: {}", &resp.text()[..resp.text().len().min(500)]);
    print_row(label, text.len(), &resp, fresh, ms, &cpu);
    resp.json()
}

/// One row of the table: a request of 10,000 items, its body and answer, the memory of the fresh
/// isolate before it (when it was one) and after it, its time, own time and runtime CPU.
fn print_row(label: &str, body_len: usize, resp: &crate::harness::Resp, fresh: Option<u64>, ms: f64, cpu: &str) {
    let fresh = fresh.map(|b| format!("{:>10} MiB", mib(b))).unwrap_or_else(|| format!("{:>14}", "-"));
    println!(
        "{label:<44} {:>9} {:>11} {:>11} {fresh} {:>10} MiB {:>9.0} {:>8.0} {cpu:>8}",
        10_000,
        body_len,
        resp.body.len(),
        mib(memory_of(resp)),
        ms,
        crate::timing(resp, "own")
    );
}

/// Sends a CSV file to an import route, checks the answer, and prints the memory after it.
fn measure_text(api: &Client, label: &str, path: &str, csv: String, fresh: Option<u64>) {
    let started = Instant::now();
    let resp = api.send("POST", path, crate::harness::Key::Valid, &[("Content-Type", "text/csv")], Some(csv.as_bytes()));
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(resp.status, 200, "POST {path}: {}", &resp.text()[..resp.text().len().min(500)]);
    print_row(label, csv.len(), &resp, fresh, ms, "-");
}

/// The memory after a `GET /health` on the isolate as it is.
fn health(api: &Client) -> u64 {
    let resp = api.get("/health");
    assert_eq!(resp.status, 200, "{}", resp.text());
    memory_of(&resp)
}

pub fn run(build: &Build, key: &str, password: &str) {
    let limit = 10 * 1024 * 1024;
    let mut server = Server::spawn(
        build,
        ServerOptions {
            name: "bench-memory",
            vars: vec![("EXPOSE_MEMORY", "true".to_string())],
            secrets: vec![("API_KEYS", key.to_string()), ("DASHBOARD_PASSWORD", password.to_string())],
            apply_schema: true,
        },
    );
    let fresh = |server: &mut Server| -> (Client, u64) {
        server.wait_ready(Duration::from_secs(120));
        let api = Client::new(&server.base, vec![key.to_string()]);
        crate::probe_cpu(server, &api);
        let base = health(&api);
        (api, base)
    };

    let tag = format!("mem{}", random_hex(3));
    let company = |tag: String| {
        move |i: usize, pad: &str| {
            json!({
                "externalId": format!("{tag}-{i}"),
                "name": format!("Memory {tag} {i}"),
                "domain": format!("{tag}-{i}.com"),
                "industry": "Software",
                "employeeCount": i % 5000,
                "linkedinUrl": format!("https://www.linkedin.com/company/{tag}-{i}"),
                "genesy_score": format!("{}", i % 100),
                "description": pad,
            })
        }
    };
    let create = padded(limit, 10_000, company(tag.clone()), "companies");
    // Half of the sync matches the records created (by domain, under new externalIds), half not.
    let sync = padded(
        limit,
        10_000,
        |i, pad| match i % 2 {
            0 => json!({"externalId": format!("{tag}-s{i}"), "name": format!("Memory {tag} {i}"), "domain": format!("{tag}-{i}.com"), "description": pad}),
            _ => json!({"externalId": format!("{tag}-s{i}"), "name": format!("Nobody {i}"), "domain": format!("{tag}-new-{i}.net"), "description": pad}),
        },
        "companies",
    );

    println!();
    println!("memory per request: the wasm memory's size after the request (its high-water mark), EXPOSE_MEMORY=true");
    println!(
        "{:<44} {:>9} {:>11} {:>11} {:>14} {:>14} {:>9} {:>8} {:>8}",
        "request", "records", "body bytes", "answer B", "fresh isolate", "after", "ms", "own ms", "rt CPU"
    );

    // Each request on a fresh isolate, in turn, on one store.
    let (api, base) = fresh(&mut server);
    let created = measure(&api, "create of 10,000 (fresh isolate)", "POST", "/companies", &create, Some(base));
    let ids: Vec<String> = created["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 10_000, "every record created");
    let update = padded(
        limit,
        10_000,
        |i, pad| json!({"crmId": ids[i], "industry": "Hardware", "genesy_score": format!("{}", (i + 7) % 100), "description": pad}),
        "companies",
    );

    server.stop();
    server.restart();
    let (api, base) = fresh(&mut server);
    let synced = measure(&api, "sync of 10,000, half matching (fresh isolate)", "POST", "/companies/sync", &sync, Some(base));
    assert_eq!(synced["results"].as_array().unwrap().len(), 5_000, "half of the sync matched");

    server.stop();
    server.restart();
    let (api, base) = fresh(&mut server);
    let updated = measure(&api, "update of 10,000 (fresh isolate)", "PUT", "/companies", &update, Some(base));
    assert!(updated["results"].as_array().unwrap().iter().all(|r| r["success"] == true), "every record updated");

    // A batch of 10,000 tasks and one of 10,000 activities (keyless: each is fingerprinted).
    let tasks = padded(limit, 10_000, |i, pad| json!({"subject": format!("Follow up {tag} {i}"), "type": "CALL", "description": pad}), "tasks");
    let activities = padded(
        limit,
        10_000,
        |i, pad| json!({"type": "EMAIL", "direction": "OUTBOUND", "subject": format!("Mail {tag} {i}"), "body": pad}),
        "activities",
    );
    let mut task_ids: Vec<String> = Vec::new();
    for (label, path, body, key) in [
        ("tasks, a batch of 10,000 (fresh isolate)", "/tasks", &tasks, "tasks"),
        ("activities, a batch of 10,000 (fresh isolate)", "/activities", &activities, "activities"),
    ] {
        server.stop();
        server.restart();
        let (api, base) = fresh(&mut server);
        let answer = measure(&api, label, "POST", path, body, Some(base));
        assert_eq!(answer["results"].as_array().map(Vec::len), Some(10_000), "every {key} item answered");
        if key == "tasks" {
            task_ids = answer["results"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
        }
    }
    // The 10,000 tasks read back by id (a bare array).
    server.stop();
    server.restart();
    let (api, base) = fresh(&mut server);
    let read = measure(&api, "read of 10,000 tasks by id (fresh isolate)", "POST", "/tasks/batch", &json!({ "ids": task_ids }), Some(base));
    assert_eq!(read.as_array().map(Vec::len), Some(10_000), "every task read");

    // The 10,000 companies read back by id, and a CSV import of 10,000 rows near 10 MiB.
    server.stop();
    server.restart();
    let (api, base) = fresh(&mut server);
    let read = measure(&api, "read of 10,000 by id (fresh isolate)", "POST", "/companies/batch", &json!({ "ids": ids }), Some(base));
    assert_eq!(read["results"].as_array().map(Vec::len), Some(10_000), "every record read: {}", &read.to_string()[..200.min(read.to_string().len())]);
    let header = "Name,Domain,Industry,Description\n";
    let row_pad = "d".repeat((limit - 1024) / 10_000 - 60);
    let csv: String = std::iter::once(header.to_string())
        .chain((0..10_000).map(|i| format!("Import {tag} {i},{tag}-imp-{i}.com,Software,{row_pad}\n")))
        .collect();
    assert!(csv.len() < limit, "the file fits MAX_BODY_BYTES");
    server.stop();
    server.restart();
    let (api, base) = fresh(&mut server);
    measure_text(&api, "import of 10,000 CSV rows (fresh isolate)", "/companies/import", csv, Some(base));

    // The sync again with an `Idempotency-Key` (its answer is then read back to be kept, or not).
    server.stop();
    server.restart();
    let (api, base) = fresh(&mut server);
    let idem = format!("memory-{}", random_hex(8));
    let keyed = measure_with(&api, "sync of 10,000, Idempotency-Key (fresh isolate)", "POST", "/companies/sync", &sync, Some(base), &[("Idempotency-Key", &idem)]);
    assert_eq!(keyed["results"].as_array().unwrap().len(), 5_000, "half of the sync matched");

    // The three again on one isolate, one after the other (new records for the create).
    server.stop();
    server.restart();
    let (api, base) = fresh(&mut server);
    let again = padded(limit, 10_000, company(format!("{tag}b")), "companies");
    measure(&api, "create of 10,000 (then, on one isolate:)", "POST", "/companies", &again, Some(base));
    measure(&api, "  sync of 10,000 after it", "POST", "/companies/sync", &sync, None);
    measure(&api, "  update of 10,000 after those", "PUT", "/companies", &update, None);
    println!("fresh isolate: the memory after GET /health on a newly started server; after: the memory after the request;");
    println!("ms: end to end; own ms: the Worker's own time (Server-Timing own); rt CPU: CPU ms of the runtime's thread (see CpuProbe).");
    println!("MiB = 1,048,576 bytes. A Worker's isolate has 128 MB for its JavaScript heap and this memory together.");
    server.stop();
}
