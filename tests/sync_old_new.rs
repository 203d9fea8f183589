//! The sync's candidates read (a candidate's keys computed from its fields joined with the stored
//! keys the lookup found it by; with the match cache off, the links the lookup found and its own
//! `external_id` column) decides as the read that loaded every stored key and every link did
//! (the statement before 431701c, kept here). Each test writes the store with the Worker's own
//! statements, in the Worker's order, including the states a race or a repeated externalId
//! leaves, and asserts that both reads decide alike: the same record matched (or none, or
//! ambiguous) and the same links written. The one designed difference, a key today's normaliser
//! no longer gives, is checked against the same record written today instead.

use edge_crm::domain::config::AmbiguousMatch;
use edge_crm::domain::error::ItemError;
use edge_crm::domain::matching::{MatchField, MatchRule};
use edge_crm::domain::plan::{plan_sync, ExternalLink, RecordWrite, SyncItem, Synced};
use edge_crm::domain::record::{parse_new, KeySet, RecordKind};
use edge_crm::domain::sync::{lookup_keys, Candidate, CandidateRow};
use edge_crm::store::sql;
use rusqlite::{params, Connection};
use serde_json::{json, Value};

const SCHEMA: &str = include_str!("../schema.sql");
const NOW: &str = "2026-03-01T00:00:00.000Z";
const KIND: RecordKind = RecordKind::Company;

/// The companies' `candidates` statement as it was before 431701c (`git show 431701c^:src/store/sql.rs`):
/// every stored key and every link of each candidate.
const OLD_CANDIDATES: &str = concat!(
    "WITH cand(id) AS (",
    "SELECT e.record_id FROM json_each(?1) x CROSS JOIN external_ids e ON e.kind = 'company' AND e.external_id = x.value ",
    "UNION SELECT m.record_id FROM json_each(?2) j CROSS JOIN match_keys m ",
    "ON m.kind = 'company' AND m.field = j.value->>0 AND m.key = j.value->>1 ",
    "UNION SELECT value FROM json_each(?3)) ",
    "SELECT json_group_array(json_object('id', r.id, 'fields', json(r.fields), 'properties', json(r.properties), ",
    "'updated_at', r.updated_at, 'last_activity_at', r.last_activity_at, 'parent_id', r.parent_id, ",
    "'owner', json((SELECT json_object('name', u.name, 'email', u.email) FROM users u WHERE u.id = r.owner_id)), ",
    "'keys', json((SELECT json_group_array(json_array(k.field, k.key)) FROM match_keys k WHERE k.record_id = r.id)), ",
    "'external_ids', json((SELECT json_group_array(x.external_id) FROM external_ids x WHERE x.record_id = r.id AND x.kind = 'company')))) ",
    "AS packed FROM cand CROSS JOIN companies r ON r.id = cand.id WHERE +r.deleted_at IS NULL"
);

/// How the candidates are read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Read {
    /// The build before 431701c.
    Old,
    /// This build with the match cache off (`Links::Deciding`).
    NewCacheOff,
}

fn db() -> Connection {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db
}

/// Creates companies as `POST /companies` writes new records (`insert_new`, `link_new`,
/// `keys_new`): `(id, body)`, the body as a client sends it.
fn create(db: &Connection, records: &[(&str, Value)]) {
    let s = &sql::COMPANIES;
    let writes: Vec<RecordWrite> = records
        .iter()
        .map(|(id, body)| {
            let r = parse_new(KIND, body).unwrap();
            RecordWrite::of(KIND, id.to_string(), r.external_id.clone(), r.fields.clone(), r.properties.clone())
        })
        .collect();
    let items = serde_json::to_string(&writes).unwrap();
    db.execute(s.insert_new, params![items, NOW]).unwrap();
    db.execute(s.link_new, params![items, NOW]).unwrap();
    db.execute(s.keys_new, params![items]).unwrap();
}

/// Writes a sync's links as `Store::link_external` does (its statements, in its order).
fn link(db: &Connection, links: &[ExternalLink]) {
    let s = &sql::COMPANIES;
    let items = serde_json::to_string(links).unwrap();
    db.execute(s.history_link, params![items, NOW, "req-sync"]).unwrap();
    db.execute(s.link_matched, params![items, NOW]).unwrap();
    db.execute(s.set_external, params![items]).unwrap();
}

fn candidates(db: &Connection, read: Read, external_ids: &[&str], lookups: &[(MatchField, String)]) -> Vec<Candidate> {
    let pairs: Vec<(&str, &str)> = lookups.iter().map(|(f, k)| (f.name(), k.as_str())).collect();
    let (exts, pairs) = (serde_json::to_string(external_ids).unwrap(), serde_json::to_string(&pairs).unwrap());
    match read {
        Read::Old => {
            let packed: String = db.query_row(OLD_CANDIDATES, params![exts, pairs, "[]"], |r| r.get(0)).unwrap();
            serde_json::from_str(&packed).unwrap()
        }
        Read::NewCacheOff => {
            let packed: String = db.query_row(sql::COMPANIES.candidates, params![exts, pairs, "[]", 0], |r| r.get(0)).unwrap();
            let rows: Vec<CandidateRow> = serde_json::from_str(&packed).unwrap();
            rows.into_iter().map(|row| row.candidate(KIND, &external_ids.iter().copied().collect())).collect()
        }
    }
}

/// What a sync decides: each item's outcome and the links it writes.
type Decided = (Vec<Result<Synced, ItemError>>, Vec<ExternalLink>);

/// A sync of `body` (an array of companies as a client sends them) decided on `read`, as
/// `http::sync::sync_chunk` decides it.
fn sync(db: &Connection, rule: &MatchRule, read: Read, body: Value) -> Decided {
    let items: Vec<Result<SyncItem, ItemError>> =
        body.as_array().unwrap().iter().map(|v| parse_new(KIND, v).map(|r| SyncItem::of(KIND, &r))).collect();
    let external_ids: Vec<&str> = items.iter().flatten().filter_map(|i| i.external_id.as_deref()).collect();
    let lookups = lookup_keys(rule, items.iter().flatten().map(|i| &i.keys));
    let found = candidates(db, read, &external_ids, &lookups);
    let plan = plan_sync(KIND, &items, found, rule, AmbiguousMatch::Pick, false);
    (plan.outcomes, plan.links)
}

/// The sync decided on the old read and on the new one, which must agree.
fn assert_same_decision(db: &Connection, rule: &MatchRule, body: Value) -> Decided {
    let old = sync(db, rule, Read::Old, body.clone());
    let new = sync(db, rule, Read::NewCacheOff, body.clone());
    assert_eq!(new, old, "the sync of {body} decides otherwise with the match cache off (left: this build, right: before 431701c)");
    new
}

fn matched(id: &str, by: edge_crm::domain::sync::MatchedBy) -> Result<Synced, ItemError> {
    Ok(Synced::Matched { id: id.to_string(), by })
}

/// The store's links as `tests/e2e/races.rs::link_problems` checks them: a live record has an
/// `external_id` exactly when it has links, and it is one of them (what `Links::Deciding` relies on).
fn link_problems(db: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    let mut q = db
        .prepare(
            "SELECT r.id || ' has externalId ' || coalesce(r.external_id, 'none') || ' and links ' || \
             coalesce((SELECT group_concat(e.external_id) FROM external_ids e WHERE e.kind = 'company' AND e.record_id = r.id), 'none') \
             FROM companies r WHERE r.deleted_at IS NULL AND CASE WHEN r.external_id IS NULL \
             THEN EXISTS (SELECT 1 FROM external_ids e WHERE e.kind = 'company' AND e.record_id = r.id) \
             ELSE NOT EXISTS (SELECT 1 FROM external_ids e WHERE e.kind = 'company' AND e.external_id = r.external_id AND e.record_id = r.id) END",
        )
        .unwrap();
    out.extend(q.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap));
    out
}

/// Two stored companies without externalIds, then one sync whose two items send the same
/// externalId `e9` and match them both by domain (nothing refuses a repeated externalId in a
/// sync). The plan links `e9` to the first (`co_2`) only. The same state as a race would leave
/// it is then written too: another request's link of `e9` to `co_1`, committed after, which
/// `link_matched` ignores. Before the fix `set_external` still set `co_1`'s `external_id` to
/// `e9` (its column naming a link held by `co_2`) and its history said it was linked.
fn one_external_id_synced_for_two_records(rule: &MatchRule) -> Connection {
    let db = db();
    create(&db, &[("co_1", json!({"name": "Beta", "domain": "beta.com"})), ("co_2", json!({"name": "Acme", "domain": "acme.com"}))]);
    let (outcomes, links) = assert_same_decision(
        &db,
        rule,
        json!([{"externalId": "e9", "name": "Acme", "domain": "acme.com"}, {"externalId": "e9", "name": "Beta", "domain": "beta.com"}]),
    );
    use edge_crm::domain::sync::MatchedBy::Term;
    assert_eq!(outcomes, [matched("co_2", Term(0)), matched("co_1", Term(0))]);
    assert_eq!(links, [ExternalLink { id: "co_2".into(), external_id: "e9".into() }], "one externalId, one record");
    link(&db, &links);
    link(&db, &[ExternalLink { id: "co_1".into(), external_id: "e9".into() }]);
    let history: Vec<String> = db
        .prepare("SELECT entity_id FROM history WHERE field = 'externalId' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(history, ["co_2"], "history names the record that holds the link, and no other");
    db
}

/// After the repeated externalId, `e9` is `co_2`'s (its only link). A sync that sends `e9` with
/// `co_1`'s domain matched `co_2` by its link before; this build finds `co_1` holding `e9` in
/// its column and matches `co_1` "by externalId" instead: the client's record `e9` is answered
/// with another company's crmId.
#[test]
fn a_sync_by_an_external_id_matches_the_record_linked_to_it_not_one_whose_column_names_it() {
    let rule = MatchRule::parse(KIND, "domain").unwrap();
    let db = one_external_id_synced_for_two_records(&rule);
    let (outcomes, _) = assert_same_decision(&db, &rule, json!([{"externalId": "e9", "name": "Beta", "domain": "beta.com"}]));
    assert_eq!(outcomes, [matched("co_2", edge_crm::domain::sync::MatchedBy::ExternalId)]);
}

/// After the repeated externalId, `co_1` has no link. A sync that matches it by domain with a
/// new externalId `e10` linked it before (it had none); this build thinks it is linked (its
/// column) and writes no link, so `e10` never finds it by link.
#[test]
fn a_record_with_no_link_is_linked_by_its_next_match_whatever_its_column_says() {
    let rule = MatchRule::parse(KIND, "domain").unwrap();
    let db = one_external_id_synced_for_two_records(&rule);
    let (_, links) = assert_same_decision(&db, &rule, json!([{"externalId": "e10", "name": "Beta", "domain": "beta.com"}]));
    assert_eq!(links, [ExternalLink { id: "co_1".into(), external_id: "e10".into() }]);
}

/// A store written before the fix may still hold such a column (`co_1` naming `e9`, which
/// `co_2` holds): the read does not take it for a link to an externalId the request sent, so the
/// sync by `e9` still answers the record that holds it, and a match of `co_1` gets its link.
#[test]
fn a_stale_column_from_before_the_fix_decides_nothing() {
    let rule = MatchRule::parse(KIND, "domain").unwrap();
    let db = db();
    create(&db, &[("co_1", json!({"name": "Beta", "domain": "beta.com"})), ("co_2", json!({"externalId": "e9", "name": "Acme", "domain": "acme.com"}))]);
    db.execute("UPDATE companies SET external_id = 'e9' WHERE id = 'co_1'", []).unwrap();
    let (outcomes, links) = assert_same_decision(&db, &rule, json!([{"externalId": "e9", "name": "Beta", "domain": "beta.com"}]));
    assert_eq!((outcomes, links), (vec![matched("co_2", edge_crm::domain::sync::MatchedBy::ExternalId)], vec![]));
}

/// What `Links::Deciding` relies on (e8b44ee: "set to one of its links whenever it has any"):
/// the sync's own link statements never leave a record whose `external_id` is not one of its
/// links. The repeated externalId of one sync breaks it.
#[test]
fn a_sync_never_leaves_a_column_naming_an_external_id_linked_elsewhere() {
    let rule = MatchRule::parse(KIND, "domain").unwrap();
    let db = one_external_id_synced_for_two_records(&rule);
    assert_eq!(link_problems(&db), Vec::<String>::new());
}

/// A company stored before 85011f1 with a site on a builder (`acme.squarespace.com`): that
/// build's normaliser gave it the domain key `squarespace.com` (and `squarespace` for
/// domainAnyTld), which `match_keys` still holds (no write re-keys a record whose key fields did
/// not change); today's gives none. The read before 431701c let that key veto a weak name match
/// (`domain | name`: "Acme" at another domain was not matched); this build computes a
/// candidate's keys from its fields, so the sync decides on the legacy record exactly as on the
/// same company written today: matched by name, as today's rules say for a company whose only
/// site is on a shared host. A key the normaliser no longer gives neither finds a record (no
/// incoming record is looked up by it) nor vetoes one.
fn legacy_and_today() -> (Connection, Connection) {
    let company = json!({"name": "Acme", "website": "https://acme.squarespace.com"});
    let (legacy, today) = (db(), db());
    create(&legacy, &[("co_1", company.clone())]);
    create(&today, &[("co_1", company.clone())]);
    // The keys the build before 85011f1 wrote for this website (see the commit's `is_shared`:
    // `squarespace.com` has no Public Suffix List entry, so the registrable domain was the host's).
    legacy
        .execute_batch(
            "INSERT INTO match_keys (kind, field, key, record_id) VALUES ('company', 'domain', 'squarespace.com', 'co_1'), \
             ('company', 'domainAnyTld', 'squarespace', 'co_1')",
        )
        .unwrap();
    let keys = KeySet::of(KIND, company.as_object().unwrap());
    assert!(!keys.has(MatchField::Domain), "today's normaliser gives a builder's site no domain key: {keys:?}");
    (legacy, today)
}

#[test]
fn a_key_the_normaliser_no_longer_gives_decides_as_on_a_record_written_today() {
    let rule = MatchRule::parse(KIND, "domain | name").unwrap();
    let (legacy, today) = legacy_and_today();
    for body in [
        json!([{"externalId": "e1", "name": "Acme", "domain": "acme-robotics.com"}]),
        json!([{"externalId": "e2", "name": "Other", "website": "https://other.squarespace.com"}]),
    ] {
        let on_legacy = sync(&legacy, &rule, Read::NewCacheOff, body.clone());
        assert_eq!(on_legacy, sync(&today, &rule, Read::NewCacheOff, body.clone()), "{body}");
        assert_eq!(on_legacy, sync(&today, &rule, Read::Old, body.clone()), "{body}: the read before 431701c on today's store");
    }
    let (outcomes, _) = sync(&legacy, &rule, Read::NewCacheOff, json!([{"name": "Acme", "domain": "acme-robotics.com"}]));
    assert_eq!(outcomes, [matched("co_1", edge_crm::domain::sync::MatchedBy::Term(1))], "matched by name, as a record written today");
}

/// The same legacy record seen by a deduplicating create (`POST /companies`, `CREATE_DEDUPE`
/// on, `CREATE_MERGE` fill-empty, the defaults) decides as on the record written today.
#[test]
fn a_create_with_dedupe_decides_on_a_legacy_record_as_on_one_written_today() {
    use edge_crm::domain::config::CreateMerge;
    use edge_crm::domain::plan::{plan_create, CreateSettings};
    use edge_crm::domain::refs::Known;
    let rule = MatchRule::parse(KIND, "domain | name").unwrap();
    let (legacy, today) = legacy_and_today();
    let policy = Default::default();
    let settings = CreateSettings { kind: KIND, rule: &rule, dedupe: true, ambiguous: AmbiguousMatch::Pick, merge: CreateMerge::FillEmpty, policy: &policy };
    let body = json!({"externalId": "e1", "name": "Acme", "domain": "acme-robotics.com"});
    let decide = |db: &Connection, read: Read| {
        let items = vec![parse_new(KIND, &body)];
        let keys = KeySet::of(KIND, &items[0].as_ref().unwrap().fields);
        let lookups = lookup_keys(&rule, [&keys].into_iter());
        let found = candidates(db, read, &["e1"], &lookups);
        let plan = plan_create(&settings, &items, found, &Known::default(), || "co_new".to_string());
        (plan.outcomes, plan.links, plan.merges.len())
    };
    assert_eq!(decide(&legacy, Read::NewCacheOff), decide(&today, Read::Old), "left: the legacy record, right: today's, read as before 431701c");
}

/// A merge reads its records, then writes in one batch guarded by their `updated_at`. A sync
/// that links the merged record in between (it had no externalId) passes the guard (linking
/// changes no `updated_at`); the merge then moves that link to the survivor, whose
/// `external_id` it sets only from what it read (`MergePlan::external_link`: none). The survivor
/// has a link and no `external_id`. With the cache off the next sync that matches the survivor
/// by domain thinks it unlinked and links a second externalId to it, where the build before saw
/// its link and linked none.
#[test]
fn a_survivor_that_took_a_link_during_its_merge_is_not_linked_again() {
    use edge_crm::store::sql_merge;
    let rule = MatchRule::parse(KIND, "domain").unwrap();
    let db = db();
    create(&db, &[("co_1", json!({"name": "Acme", "domain": "acme.com"})), ("co_2", json!({"name": "Acme Inc", "domain": "acme.com"}))]);
    // The merge (survivor co_1, merged co_2) reads both: neither has an externalId, so its plan
    // sets none on the survivor.
    let bases: String = db
        .query_row("SELECT json_group_array(json_object('id', id, 'base', updated_at)) FROM companies", [], |r| r.get(0))
        .unwrap();
    // Meanwhile a sync matches co_2 and links it.
    link(&db, &[ExternalLink { id: "co_2".into(), external_id: "e1".into() }]);
    // The merge's batch, its link statements in `Store::merge`'s order.
    let (s, m) = (&sql::COMPANIES, &sql_merge::COMPANIES);
    db.execute(s.guard, params![bases]).expect("the guard passes: linking changed no updated_at");
    db.execute(m.move_external, params![r#"["co_2"]"#, "co_1"]).unwrap();
    db.execute(s.set_external, params![r#"[{"id":"co_1","externalId":null}]"#]).unwrap();
    db.execute(m.tombstone, params![r#"["co_2"]"#, "co_1", NOW]).unwrap();
    db.execute(s.keys_delete, params![r#"[{"id":"co_2"}]"#]).unwrap();
    let (_, links) = assert_same_decision(&db, &rule, json!([{"externalId": "e2", "name": "Acme", "domain": "acme.com"}]));
    assert!(links.is_empty(), "co_1 holds e1: {links:?}");
}

/// The control (passes): on a store every write left consistent, the two reads decide alike.
/// A record linked to two externalIds is found by either while the keys point at another; a
/// match by keys of a linked record links nothing; an ambiguous domain picks the linked record,
/// then the newest; a record written twice (re-keyed) matches by its new keys only.
#[test]
fn on_a_consistent_store_both_reads_decide_alike() {
    let rule = MatchRule::parse(KIND, "domain | name").unwrap();
    let db = db();
    create(&db, &[("co_a", json!({"externalId": "e1", "name": "Acme", "domain": "acme.com"})), ("co_b", json!({"name": "Beta", "domain": "beta.com"}))]);
    create(&db, &[("co_c", json!({"name": "Gamma", "domain": "shared.com"})), ("co_d", json!({"name": "Delta", "domain": "shared.com"}))]);
    // A second link for co_a, as an update that sends another externalId writes it.
    let relink = serde_json::to_string(&[ExternalLink { id: "co_a".into(), external_id: "e2".into() }]).unwrap();
    let s = &sql::COMPANIES;
    db.execute(s.link_matched, params![relink, NOW]).unwrap();
    db.execute(s.guard_links, params![relink]).unwrap();
    db.execute(s.relink, params![relink]).unwrap();
    link(&db, &[ExternalLink { id: "co_d".into(), external_id: "e4".into() }]);
    for body in [
        json!([{"externalId": "e1", "domain": "beta.com"}, {"externalId": "e2", "domain": "beta.com"}]),
        json!([{"externalId": "e3", "domain": "acme.com"}]),
        json!([{"externalId": "e5", "domain": "shared.com"}, {"name": "Gamma", "domain": "other.com"}]),
        json!([{"externalId": "e1"}, {"externalId": "e9", "name": "Beta"}]),
    ] {
        assert_same_decision(&db, &rule, body);
    }
    assert_eq!(link_problems(&db), Vec::<String>::new());
}
