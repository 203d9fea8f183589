//! Where a keyless batch's database time goes (docs/performance.md, "What keyless retries cost"):
//! the statements of a batch create of 1,000 tasks or activities (insert, history, read-back, and
//! the commit) run by SQLite on a file with the schema, with and without what content
//! idempotency adds, beside batches keyed by the client and beside the design not built (each
//! keyless item's id derived from its content, so the primary key refuses a retry). It measures;
//! it asserts nothing about time:
//!
//! `cargo test --release --test keyless_floor -- --ignored --nocapture` (`ROUNDS`: batches per
//! variant, default 40).
//!
//! Every variant runs once per round, in turn, so that the tables grow alike; the bucket changes
//! every fifth round, as a benchmark run fills about one bucket.

#[path = "../src/store/sql_work.rs"]
#[allow(dead_code)]
mod sql_work;

use std::time::Instant;

use rusqlite::{Connection, ToSql};
use serde_json::{json, Value};
use sql_work::{activities, tasks};

const SCHEMA: &str = include_str!("../schema.sql");
const NOW: &str = "2026-12-04T10:00:00.000Z";
const SINCE: &str = "2026-12-04T09:50:00.000Z";

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Task,
    Activity,
}

/// What the items of a batch carry.
#[derive(Clone, Copy, PartialEq)]
enum Key {
    /// A content fingerprint (keyless, as the Worker sends it).
    Content,
    /// Nothing: a keyless item with no content key, i.e. without the guarantee.
    Nothing,
    /// A task's externalId or an activity's messageId as the benchmark sends them
    /// (`{tag}-{rep}-{i}`: one batch's keys sit together).
    ClientSequential,
    /// The same as a client might send it: 40 characters, in no order (a mail's Message-ID).
    ClientRandom,
    /// Keyless, its id made of the bucket and the fingerprint, and the previous bucket's id
    /// probed instead of a content key.
    DerivedId,
}

struct Variant {
    name: &'static str,
    kind: Kind,
    key: Key,
    insert: String,
    history: &'static str,
    resolve: String,
}

/// `from` with `old` replaced by `new`, which must be in it.
fn edit(from: &str, old: &str, new: &str) -> String {
    assert!(from.contains(old), "the statement no longer contains {old:?}: {from}");
    from.replace(old, new)
}

/// An INSERT without the previous bucket's probe.
fn without_probe(insert: &str) -> String {
    let at = insert.find(" WHERE j.value->>'content' IS NULL").expect("the probe");
    insert[..at].to_string()
}

/// A RESOLVE without its last subquery (the previous bucket's key).
fn without_previous(resolve: &str) -> String {
    let at = resolve.rfind(", (SELECT x.id").expect("the previous bucket's subquery");
    format!("{})", &resolve[..at])
}

/// A RESOLVE whose content subqueries are one: the previous bucket's id, created since `?2`.
fn derived_resolve(resolve: &str, table: &str) -> String {
    let at = resolve.find(&format!(", (SELECT x.id FROM {table} x WHERE x.content_key = ?3")).expect("the content subqueries");
    format!("{}, (SELECT x.id FROM {table} x WHERE x.id = j.value->>'previous' AND x.created_at >= ?2))", &resolve[..at])
}

fn variants() -> Vec<Variant> {
    let task = |name, key, insert: String, resolve: String| Variant { name, kind: Kind::Task, key, insert, history: tasks::HISTORY_NEW, resolve };
    let activity =
        |name, key, insert: String, resolve: String| Variant { name, kind: Kind::Activity, key, insert, history: activities::HISTORY_NEW, resolve };
    let derived_task = edit(
        &edit(&edit(tasks::INSERT, ", content_key, search_text)", ", search_text)"), ", ?4 || (j.value->>'content'), coalesce", ", coalesce"),
        "x.content_key = ?5 || (j.value->>'content')",
        "x.id = j.value->>'previous'",
    );
    let derived_activity = edit(
        &edit(&edit(activities::INSERT, ", created_at, content_key)", ", created_at)"), ", ?2, ?4 || (j.value->>'content') FROM", ", ?2 FROM"),
        "x.content_key = ?5 || (j.value->>'content')",
        "x.id = j.value->>'previous'",
    );
    vec![
        task("tasks, no key (as built)", Key::Content, tasks::INSERT.into(), tasks::RESOLVE.into()),
        task("tasks, no key, no probe", Key::Content, without_probe(tasks::INSERT), without_previous(tasks::RESOLVE)),
        task("tasks, no key, no content key", Key::Nothing, tasks::INSERT.into(), tasks::RESOLVE.into()),
        task("tasks, externalId (bench's)", Key::ClientSequential, tasks::INSERT.into(), tasks::RESOLVE.into()),
        task("tasks, externalId (random)", Key::ClientRandom, tasks::INSERT.into(), tasks::RESOLVE.into()),
        task("tasks, no key, id from content", Key::DerivedId, derived_task, derived_resolve(tasks::RESOLVE, "tasks")),
        activity("activities, no key (as built)", Key::Content, activities::INSERT.into(), activities::RESOLVE.into()),
        activity("activities, no key, no probe", Key::Content, without_probe(activities::INSERT), without_previous(activities::RESOLVE)),
        activity("activities, no key, no content key", Key::Nothing, activities::INSERT.into(), activities::RESOLVE.into()),
        activity("activities, messageId (bench's)", Key::ClientSequential, activities::INSERT.into(), activities::RESOLVE.into()),
        activity("activities, messageId (random)", Key::ClientRandom, activities::INSERT.into(), activities::RESOLVE.into()),
        activity("activities, no key, id from content", Key::DerivedId, derived_activity, derived_resolve(activities::RESOLVE, "activities")),
    ]
}

/// 22 characters in no order, as a fingerprint is.
fn scattered(n: u64) -> String {
    format!("{:022x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn items(v: &Variant, round: usize, counter: &mut u64) -> Vec<Value> {
    let prefix = if v.kind == Kind::Task { "tk" } else { "ac" };
    let tag = format!("{:04x}", (*counter / 1000) % 65_536);
    (0..1000)
        .map(|i| {
            *counter += 1;
            let n = *counter;
            let fingerprint = scattered(n);
            let id = match v.key {
                Key::DerivedId => format!("{prefix}_{:010}{}", round / 5, &fingerprint[..16]),
                _ => format!("{prefix}_{n:026}"),
            };
            let client_key = match v.key {
                Key::ClientSequential => Some(format!("{tag}-{round}-{i}")),
                Key::ClientRandom => Some(format!("<{fingerprint}@mail{}.example.com>", n % 7)),
                _ => None,
            };
            let mut item = match v.kind {
                Kind::Task => json!({"id": id, "fields": {"subject": format!("Follow up {tag} {i}"), "type": "CALL", "completed": false},
                                     "properties": {}, "searchText": format!("follow up {tag} {i}")}),
                Kind::Activity => json!({"id": id, "type": "LINKEDIN", "subject": format!("Invite {tag} {i}"), "body": null, "direction": "OUTBOUND",
                                         "ownerId": null, "occurredAt": NOW, "contactId": null, "companyId": null, "metadata": {}, "messageId": null,
                                         "properties": {}}),
            };
            match (v.kind, client_key) {
                (Kind::Task, Some(k)) => item["fields"]["externalId"] = json!(k),
                (Kind::Activity, Some(k)) => {
                    item["metadata"] = json!({"messageId": k});
                    item["messageId"] = json!(k);
                }
                _ => {}
            }
            match v.key {
                Key::Content => item["content"] = json!(fingerprint),
                Key::DerivedId => item["previous"] = json!(format!("{prefix}_{:010}{}", round / 5 + 1_000_000, &fingerprint[..16])),
                _ => {}
            }
            item
        })
        .collect()
}

/// Runs `sql` with as many of `args` as it takes.
fn run(db: &Connection, sql: &str, args: &[&dyn ToSql]) -> usize {
    let mut statement = db.prepare(sql).unwrap();
    let n = statement.parameter_count();
    if statement.readonly() {
        statement.query_map(&args[..n], |_| Ok(())).unwrap().count()
    } else {
        statement.execute(&args[..n]).unwrap()
    }
}

#[test]
#[ignore = "a measurement: cargo test --release --test keyless_floor -- --ignored --nocapture"]
fn where_a_keyless_batch_spends_its_database_time() {
    let path = std::env::temp_dir().join(format!("edge-crm-keyless-floor-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let db = Connection::open(&path).unwrap();
    db.pragma_update(None, "journal_mode", "WAL").unwrap();
    db.execute_batch(SCHEMA).unwrap();
    let variants = variants();
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    let mut times: Vec<Vec<[f64; 5]>> = vec![Vec::new(); variants.len()];
    let mut counter = 0u64;
    // Round 0 warms up and is not counted.
    for round in 0..=rounds {
        let (prefix, previous) = (format!("{}:", 2_949_000 + round / 5), format!("{}:", 2_948_999 + round / 5));
        for (v, times) in variants.iter().zip(times.iter_mut()) {
            let batch = serde_json::to_string(&items(v, round, &mut counter)).unwrap();
            let started = Instant::now();
            db.execute_batch("BEGIN").unwrap();
            let t0 = Instant::now();
            run(&db, &v.insert, &[&batch, &NOW, &SINCE, &prefix, &previous]);
            let t1 = Instant::now();
            run(&db, v.history, &[&batch, &NOW, &"req"]);
            let t2 = Instant::now();
            assert_eq!(run(&db, &v.resolve, &[&batch, &SINCE, &prefix, &previous]), 1000, "{}", v.name);
            let t3 = Instant::now();
            db.execute_batch("COMMIT").unwrap();
            let t4 = Instant::now();
            let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
            if round > 0 {
                times.push([ms(t0, t1), ms(t1, t2), ms(t2, t3), ms(t3, t4), ms(started, t4)]);
            }
        }
    }
    println!("batch of 1,000, median ms of {rounds}          insert  history resolve   commit    total");
    for (v, times) in variants.iter().zip(&times) {
        let median = |k: usize| {
            let mut xs: Vec<f64> = times.iter().map(|t| t[k]).collect();
            xs.sort_by(f64::total_cmp);
            xs[xs.len() / 2]
        };
        println!("{:<40} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}", v.name, median(0), median(1), median(2), median(3), median(4));
    }
    let _ = std::fs::remove_file(&path);
}
