//! The match cache (API.md §10): what KV holds so that a sync can be decided and answered with no
//! D1 round trip, and what a write makes stale. Pure: the glue (`store::kv`, `http::candidates`)
//! only reads and writes the names and texts decided here.
//!
//! One entry per subject a sync looks up: an anchor key of the identifier (`mk:<kind>:<field>:<key>`)
//! or an incoming externalId (`mx:<kind>:<externalId>`). An entry holds every live record holding
//! the subject, as the very [`Candidate`] the database path builds, so deciding on cached entries is
//! deciding on the same data with the same core (`plan_sync`). The union of the entries of a sync's
//! subjects is the set of candidates the one D1 statement would return: a key entry lists every
//! holder of the key (whatever its other keys), an externalId entry the record linked to it.
//!
//! An entry is a hint that may lag (KV is eventually consistent), never the truth of a write:
//! creates and updates decide on D1. An empty entry ("nobody holds this") is stored only while
//! `CREATE_DEDUPE` is on, so a stale "not found" can at worst lead to a create that dedupes.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::hash::{fnv1a, FNV_OFFSET};
use super::matching::{MatchField, MatchRule};
use super::plan::ExternalLink;
use super::record::{KeySet, RecordKind};
use super::sync::{anchor_fields, Candidate};

/// KV keys are at most 512 bytes; a longer subject is simply never cached (always read from D1).
pub const MAX_NAME_BYTES: usize = 512;

/// Raised by hand when the meaning of an entry changes without its shape changing.
const FORMAT: u32 = 1;

/// What an entry answers for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    /// An anchor key: the records holding it.
    Key(MatchField, String),
    /// An incoming externalId: the record linked to it.
    External(String),
}

impl Subject {
    /// Its KV name, or `None` when that would be longer than KV allows.
    pub fn name(&self, kind: RecordKind) -> Option<String> {
        let name = match self {
            Subject::Key(field, key) => format!("mk:{}:{}:{key}", kind.key_kind(), field.name()),
            Subject::External(ext) => format!("mx:{}:{ext}", kind.key_kind()),
        };
        (name.len() <= MAX_NAME_BYTES).then_some(name)
    }

    fn held_by(&self, c: &Candidate) -> bool {
        match self {
            Subject::Key(field, key) => c.keys.keys(*field).any(|k| k == key),
            Subject::External(ext) => c.external_ids.iter().any(|e| e == ext),
        }
    }
}

/// The subjects of a sync: its anchor keys and its externalIds, without repeats.
pub fn subjects<'a>(lookups: &[(MatchField, String)], external_ids: impl IntoIterator<Item = &'a str>) -> Vec<Subject> {
    let mut out: BTreeSet<Subject> = lookups.iter().map(|(f, k)| Subject::Key(*f, k.clone())).collect();
    out.extend(external_ids.into_iter().map(|e| Subject::External(e.to_string())));
    out.into_iter().collect()
}

/// One KV value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The format it was written in ([`format`]); an entry of another format is a miss.
    pub v: String,
    /// When it was written, in milliseconds since the epoch.
    pub at: i64,
    /// The live records holding the subject, by id.
    pub candidates: Vec<Candidate>,
}

/// The format of entries: [`FORMAT`] and a fingerprint of the fields of [`Candidate`], so that a
/// field added to `Candidate` makes every older entry a miss (rather than a record read with the
/// new field silently empty) with no change here.
pub fn format() -> String {
    let shape = serde_json::to_value(Candidate::default()).expect("a candidate serialises");
    let names: BTreeSet<&str> = shape.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    let hash = fnv1a(FNV_OFFSET, &[names.into_iter().collect::<Vec<_>>().join(",").as_bytes()]);
    format!("{FORMAT}-{hash:016x}")
}

impl Entry {
    pub fn new(mut candidates: Vec<Candidate>, at: i64, format: &str) -> Entry {
        candidates.sort_by(|a, b| a.id.cmp(&b.id));
        Entry { v: format.to_string(), at, candidates }
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("an entry serialises")
    }

    /// The entry in `text`, or `None` (a miss) when it does not parse or is of another format.
    pub fn decode(text: &str, format: &str) -> Option<Entry> {
        serde_json::from_str::<Entry>(text).ok().filter(|e| e.v == format)
    }
}

/// What the cache answered for a sync: the candidates its entries hold and the subjects it had
/// no entry for (those go to D1, in one statement).
#[derive(Debug, Default, PartialEq)]
pub struct Answered {
    pub candidates: Vec<Candidate>,
    pub missing: Vec<Subject>,
}

impl Answered {
    /// Every subject had an entry: nothing to read from D1.
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Splits `subjects` into what the `found` entries (by name) answer and what they do not. A record
/// found in several entries is taken from the newest one.
pub fn answer(kind: RecordKind, subjects: &[Subject], found: &HashMap<String, Entry>) -> Answered {
    let mut newest: HashMap<&str, (i64, &Candidate)> = HashMap::new();
    let mut missing = Vec::new();
    for subject in subjects {
        match subject.name(kind).and_then(|n| found.get(&n)) {
            Some(entry) => {
                for c in &entry.candidates {
                    let slot = newest.entry(c.id.as_str()).or_insert((entry.at, c));
                    if entry.at > slot.0 {
                        *slot = (entry.at, c);
                    }
                }
            }
            None => missing.push(subject.clone()),
        }
    }
    let mut candidates: Vec<Candidate> = newest.into_values().map(|(_, c)| c.clone()).collect();
    candidates.sort_by(|a, b| a.id.cmp(&b.id));
    Answered { candidates, missing }
}

/// The cached candidates with those just read from D1: the database's copy of a record wins.
pub fn merge(cached: Vec<Candidate>, fresh: Vec<Candidate>) -> Vec<Candidate> {
    let ids: HashSet<String> = fresh.iter().map(|c| c.id.clone()).collect();
    let mut out: Vec<Candidate> = cached.into_iter().filter(|c| !ids.contains(&c.id)).collect();
    out.extend(fresh);
    out
}

/// The externalIds and lookup fields of `subjects`, as the D1 candidates statement takes them.
pub fn split(subjects: &[Subject]) -> (Vec<&str>, Vec<(MatchField, String)>) {
    let mut external_ids = Vec::new();
    let mut keys = Vec::new();
    for s in subjects {
        match s {
            Subject::External(e) => external_ids.push(e.as_str()),
            Subject::Key(f, k) => keys.push((*f, k.clone())),
        }
    }
    (external_ids, keys)
}

/// The names a write makes stale: every anchor key of the identifier held by the records it
/// changed (pass their keys before and after the change) and their externalIds.
pub fn stale_names<'a>(
    kind: RecordKind,
    rule: &MatchRule,
    keys: impl IntoIterator<Item = &'a KeySet>,
    external_ids: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let fields = anchor_fields(rule);
    let mut names: BTreeSet<String> = BTreeSet::new();
    for set in keys {
        for field in &fields {
            names.extend(set.keys(*field).filter_map(|k| Subject::Key(*field, k.to_string()).name(kind)));
        }
    }
    names.extend(external_ids.into_iter().filter_map(|e| Subject::External(e.to_string()).name(kind)));
    names.into_iter().collect()
}

/// What a sync leaves in the cache, decided from what the database holds after it.
#[derive(Debug, Default, PartialEq)]
pub struct Refresh {
    /// Entries to store: the subjects read from D1, and those whose holders it linked.
    pub store: Vec<(String, Entry)>,
    /// Entries that now hold a stale copy of a linked record (its other anchor keys).
    pub forget: Vec<String>,
}

/// The cache's refresh after a sync: `candidates` are every candidate the sync decided on (from
/// KV and D1), `missing` the subjects D1 answered, `links` what the sync linked. An empty entry is
/// stored only when `negatives` (`CREATE_DEDUPE` on).
#[allow(clippy::too_many_arguments)]
pub fn refresh(
    kind: RecordKind,
    rule: &MatchRule,
    subjects: &[Subject],
    missing: &[Subject],
    candidates: &[Candidate],
    links: &[ExternalLink],
    negatives: bool,
    at: i64,
) -> Refresh {
    let format = format();
    let linked: HashMap<&str, &str> = links.iter().map(|l| (l.id.as_str(), l.external_id.as_str())).collect();
    // The candidates as the database holds them after the links.
    let after: Vec<Candidate> = candidates
        .iter()
        .map(|c| match linked.get(c.id.as_str()) {
            Some(ext) if !c.external_ids.iter().any(|e| e == ext) => {
                let mut c = c.clone();
                c.external_ids.push(ext.to_string());
                c
            }
            _ => c.clone(),
        })
        .collect();
    let missing: HashSet<&Subject> = missing.iter().collect();
    // Who holds what, indexed once: a sync of 1,000 has about 2,000 subjects and 1,000 candidates.
    let mut holding: HashMap<Subject, Vec<usize>> = HashMap::new();
    for (at, c) in after.iter().enumerate() {
        let held = c.keys.as_slice().iter().map(|(f, k)| Subject::Key(*f, k.clone()));
        for subject in held.chain(c.external_ids.iter().map(|e| Subject::External(e.clone()))) {
            holding.entry(subject).or_default().push(at);
        }
    }
    let mut store = Vec::new();
    let mut stored: HashSet<String> = HashSet::new();
    for subject in subjects {
        let mut indexes = holding.get(subject).cloned().unwrap_or_default();
        indexes.dedup();
        let holders: Vec<Candidate> = indexes.into_iter().map(|i| after[i].clone()).filter(|c| subject.held_by(c)).collect();
        let touches_link = holders.iter().any(|c| linked.contains_key(c.id.as_str()));
        if !missing.contains(subject) && !touches_link {
            continue;
        }
        if holders.is_empty() && !negatives {
            continue;
        }
        if let Some(name) = subject.name(kind) {
            stored.insert(name.clone());
            store.push((name, Entry::new(holders, at, &format)));
        }
    }
    let linked_keys = after.iter().filter(|c| linked.contains_key(c.id.as_str()));
    let linked_keys: Vec<&KeySet> = linked_keys.map(|c| &c.keys).collect();
    let forget = stale_names(kind, rule, linked_keys, links.iter().map(|l| l.external_id.as_str()))
        .into_iter()
        .filter(|n| !stored.contains(n))
        .collect();
    Refresh { store, forget }
}

/// The KV writes of one request, coalesced (one per name) and bounded: KV takes one write per key
/// per second and an invocation has a budget of operations. Forgetting comes first: a stale entry
/// costs correctness, a missing one only a D1 read.
#[derive(Debug, Default, PartialEq)]
pub struct Writes {
    pub deletes: Vec<String>,
    /// Entries to store, encoded by the glue after the response (encoding is most of a refresh's
    /// work, and the answer does not wait for it).
    pub puts: Vec<(String, Entry)>,
    /// Writes left out for the budget (forgotten entries left to expire, entries not stored).
    pub dropped: usize,
}

pub fn plan_writes(forget: Vec<String>, store: Vec<(String, Entry)>, budget: usize) -> Writes {
    let mut seen: HashSet<String> = HashSet::new();
    let mut deletes = Vec::new();
    let mut puts = Vec::new();
    let mut dropped = 0;
    // A name both stored and forgotten is stored: the entry is computed from after the change.
    let stored: HashSet<&str> = store.iter().map(|(n, _)| n.as_str()).collect();
    for name in forget {
        if stored.contains(name.as_str()) || !seen.insert(name.clone()) {
            continue;
        }
        if deletes.len() < budget {
            deletes.push(name);
        } else {
            dropped += 1;
        }
    }
    for (name, entry) in store {
        if !seen.insert(name.clone()) {
            continue;
        }
        if deletes.len() + puts.len() < budget {
            puts.push((name, entry));
        } else {
            dropped += 1;
        }
    }
    Writes { deletes, puts, dropped }
}

/// The names forgotten while this isolate still had refreshes to write. A refresh's entries are
/// computed before its response and written after it; a write that forgets a name in between
/// (an update answered right after the sync) must win, so a refresh stores no entry that a later
/// forget covered. Only while a refresh is pending is anything remembered.
#[derive(Debug, Default)]
pub struct Forgotten {
    seq: u64,
    pending: usize,
    names: HashMap<String, u64>,
}

impl Forgotten {
    /// A refresh was planned: its ticket.
    pub fn plan(&mut self) -> u64 {
        self.pending += 1;
        self.seq
    }

    /// A write forgot `names`.
    pub fn forget<'a>(&mut self, names: impl IntoIterator<Item = &'a String>) {
        if self.pending == 0 {
            return;
        }
        self.seq += 1;
        for name in names {
            self.names.insert(name.clone(), self.seq);
        }
    }

    /// The puts of the refresh holding `ticket` that no later forget covered, and how many were
    /// left out.
    pub fn keep(&self, ticket: u64, puts: Vec<(String, Entry)>) -> (Vec<(String, Entry)>, usize) {
        let before = puts.len();
        let kept: Vec<(String, Entry)> = puts.into_iter().filter(|(n, _)| self.names.get(n).is_none_or(|s| *s <= ticket)).collect();
        let left_out = before - kept.len();
        (kept, left_out)
    }

    /// The refresh holding a ticket has written.
    pub fn done(&mut self) {
        self.pending = self.pending.saturating_sub(1);
        if self.pending == 0 {
            self.names.clear();
        }
    }
}

/// KV calls a Worker has in flight at once (simultaneous connections per invocation); more wait
/// for a free one. The probe is one such wave, so on a warm sync it costs no extra round trip.
pub const PROBE_CALLS: usize = 6;

/// The bulk reads of a sync, in two waves: the probe, then the rest only when the probe finds the
/// cache warm ([`read_on`]). Each call is a spread sample of the names (call `j` of `c` reads names
/// `j`, `j + c`, `j + 2c`, ...), so the probe sees the whole sync and not one sorted corner of it.
#[derive(Debug, Default, PartialEq)]
pub struct ReadPlan {
    pub probe: Vec<Vec<String>>,
    pub rest: Vec<Vec<String>>,
}

/// Plans the reads of `names`: at most `per_call` names a call and `max_calls` calls (names past
/// them are misses, read from D1), the first [`PROBE_CALLS`] calls as the probe.
pub fn plan_reads(names: &[String], per_call: usize, max_calls: usize) -> ReadPlan {
    let calls = names.len().div_ceil(per_call.max(1)).min(max_calls);
    let covered = &names[..names.len().min(calls * per_call)];
    let mut chunks: Vec<Vec<String>> = vec![Vec::new(); calls];
    for (i, name) in covered.iter().enumerate() {
        chunks[i % calls].push(name.clone());
    }
    let rest = chunks.split_off(calls.min(PROBE_CALLS));
    ReadPlan { probe: chunks, rest }
}

/// Whether to read the rest after a probe that found `hits` of `probed` names. A probe that finds
/// fewer than half is a cold sync: the rest would mostly miss too, D1 has to run anyway, and every
/// further wave of KV calls would only delay it, so the rest goes to D1 in the same statement.
/// A probe that finds half or more reads on, so a warm sync still needs no D1 statement.
pub fn read_on(probed: usize, hits: usize) -> bool {
    hits * 2 >= probed
}

/// The subjects in the order a refresh should store them: those read and found missing first,
/// those the probe left unread last (they may hold entries already). With the per-request bound
/// on writes, this is what lets a sync seen again warm the cache further each time, instead of
/// rewriting the same entries.
pub fn read_first(subjects: &[Subject], unread: &HashSet<Subject>) -> Vec<Subject> {
    let (read, not_read): (Vec<&Subject>, Vec<&Subject>) = subjects.iter().partition(|s| !unread.contains(*s));
    read.into_iter().chain(not_read).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};
    use MatchField::*;

    fn cand(id: &str, keys: &[(MatchField, &str)], ext: &[&str]) -> Candidate {
        let mut fields = Map::new();
        fields.insert("name".into(), json!(format!("Name of {id}")));
        Candidate {
            id: id.into(),
            keys: KeySet::new(keys.iter().map(|(f, k)| (*f, k.to_string()))),
            external_ids: ext.iter().map(|e| e.to_string()).collect(),
            updated_at: Some("2024-01-01T00:00:00.000Z".into()),
            parent_id: Some("co_p".into()),
            fields,
            properties: json!({"tier": 1}).as_object().unwrap().clone(),
            owner: None,
            last_activity_at: None,
        }
    }

    fn rule(text: &str) -> MatchRule {
        MatchRule::parse(RecordKind::Company, text).unwrap()
    }

    #[test]
    fn names_say_kind_field_and_key_within_kv_limits() {
        assert_eq!(Subject::Key(Domain, "acme.com".into()).name(RecordKind::Company).as_deref(), Some("mk:company:domain:acme.com"));
        assert_eq!(Subject::External("e-1".into()).name(RecordKind::Contact).as_deref(), Some("mx:contact:e-1"));
        assert_eq!(Subject::Key(Domain, "a".repeat(600)).name(RecordKind::Company), None);
    }

    #[test]
    fn an_entry_round_trips_the_whole_candidate_and_refuses_another_format() {
        let entry = Entry::new(vec![cand("co_b", &[(Domain, "acme.com")], &["e"]), cand("co_a", &[(Domain, "acme.com")], &[])], 7, &format());
        assert_eq!(entry.candidates[0].id, "co_a", "sorted by id");
        let text = entry.encode();
        assert_eq!(Entry::decode(&text, &format()), Some(entry.clone()));
        assert_eq!(Entry::decode(&text, "0-0"), None, "another format is a miss");
        assert_eq!(Entry::decode("not json", &format()), None);
        // An entry written before a field was added to Candidate does not parse as today's.
        let mut old: serde_json::Value = serde_json::from_str(&text).unwrap();
        old["candidates"][0].as_object_mut().unwrap().remove("fields");
        assert_eq!(Entry::decode(&old.to_string(), &format()), None);
        assert!(format().starts_with("1-"));
    }

    #[test]
    fn the_cache_answers_the_subjects_it_has_and_names_the_rest() {
        let kind = RecordKind::Company;
        let subs = subjects(&[(Domain, "acme.com".into()), (Domain, "beta.com".into())], ["e1", "e2", "e1"]);
        assert_eq!(subs.len(), 4);
        let a_old = Entry::new(vec![Candidate { properties: Map::new(), ..cand("co_a", &[(Domain, "acme.com")], &["e1"]) }], 1, &format());
        let a_new = Entry::new(vec![cand("co_a", &[(Domain, "acme.com")], &["e1"])], 2, &format());
        let empty = Entry::new(vec![], 2, &format());
        let found: HashMap<String, Entry> = [
            ("mk:company:domain:acme.com".to_string(), a_old),
            ("mx:company:e1".to_string(), a_new),
            ("mx:company:e2".to_string(), empty),
        ]
        .into_iter()
        .collect();
        let got = answer(kind, &subs, &found);
        assert_eq!(got.missing, vec![Subject::Key(Domain, "beta.com".into())]);
        assert!(!got.complete());
        assert_eq!(got.candidates.len(), 1, "one record, found twice");
        assert_eq!(got.candidates[0].properties, json!({"tier": 1}).as_object().unwrap().clone(), "the newest copy");
        let (exts, keys) = split(&got.missing);
        assert!(exts.is_empty() && keys == vec![(Domain, "beta.com".to_string())]);
        let all: HashMap<String, Entry> = subs.iter().map(|s| (s.name(kind).unwrap(), Entry::new(vec![], 0, &format()))).collect();
        assert!(answer(kind, &subs, &all).complete());
    }

    #[test]
    fn merging_prefers_the_database_copy() {
        let cached = vec![cand("co_a", &[(Domain, "old.com")], &[]), cand("co_b", &[], &[])];
        let fresh = vec![cand("co_a", &[(Domain, "new.com")], &[])];
        let merged = merge(cached, fresh);
        assert_eq!(merged.len(), 2);
        assert!(merged.iter().any(|c| c.id == "co_a" && c.keys.keys(Domain).any(|k| k == "new.com")));
    }

    #[test]
    fn a_write_forgets_the_anchor_keys_before_and_after_and_the_external_ids() {
        let r = rule("domain | (name & country)");
        let before = KeySet::new([(Domain, "old.com".to_string()), (Name, "acme".to_string()), (Country, "es".to_string())]);
        let after = KeySet::new([(Domain, "new.com".to_string()), (Name, "acme".to_string())]);
        let names = stale_names(RecordKind::Company, &r, [&before, &after], ["e1"]);
        assert_eq!(names, vec!["mk:company:domain:new.com", "mk:company:domain:old.com", "mk:company:name:acme", "mx:company:e1"]);
    }

    #[test]
    fn a_refresh_stores_what_d1_answered_with_links_applied_and_negatives_only_when_allowed() {
        let kind = RecordKind::Company;
        let r = rule("domain | name");
        let a = cand("co_a", &[(Domain, "acme.com"), (Name, "acme")], &[]);
        let b = cand("co_b", &[(Domain, "beta.com")], &["eb"]);
        let subs = subjects(&[(Domain, "acme.com".into()), (Domain, "beta.com".into()), (Domain, "none.com".into())], ["ea", "eb"]);
        // acme.com and beta.com came from KV; none.com and ea from D1; co_a was linked to ea.
        let missing = vec![Subject::Key(Domain, "none.com".into()), Subject::External("ea".into())];
        let links = vec![ExternalLink { id: "co_a".into(), external_id: "ea".into() }];
        let got = refresh(kind, &r, &subs, &missing, &[a.clone(), b.clone()], &links, true, 5);
        let names: Vec<&str> = got.store.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["mk:company:domain:acme.com", "mk:company:domain:none.com", "mx:company:ea"]);
        assert_eq!(got.store[0].1.candidates[0].external_ids, vec!["ea".to_string()], "the cached copy is linked");
        assert!(got.store[1].1.candidates.is_empty());
        assert_eq!(got.forget, vec!["mk:company:name:acme"], "co_a's other anchor key held an unlinked copy");
        let off = refresh(kind, &r, &subs, &missing, &[a, b], &[], false, 5);
        assert!(off.store.is_empty(), "no negative entries without dedupe, and nothing else was missing: {off:?}");
    }

    #[test]
    fn writes_are_coalesced_bounded_and_forget_first() {
        let e = Entry::new(vec![], 1, &format());
        let w = plan_writes(vec!["a".into(), "b".into(), "a".into(), "c".into()], vec![("c".into(), e.clone()), ("d".into(), e.clone())], 10);
        assert_eq!(w.deletes, vec!["a", "b"]);
        assert_eq!(w.puts.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), vec!["c", "d"]);
        let w = plan_writes(vec!["a".into(), "b".into()], vec![("c".into(), e)], 1);
        assert_eq!((w.deletes.len(), w.puts.len(), w.dropped), (1, 0, 2));
    }

    #[test]
    fn reads_go_in_spread_chunks_within_the_budget_the_first_wave_probing() {
        let names: Vec<String> = (0..250).map(|i| format!("{i:03}")).collect();
        let plan = plan_reads(&names, 100, 10);
        assert_eq!(plan.probe.iter().map(Vec::len).collect::<Vec<_>>(), vec![84, 83, 83]);
        assert!(plan.rest.is_empty(), "three calls fit in the probe");
        assert_eq!(&plan.probe[1][..3], &["001", "004", "007"], "each call samples the whole sync");
        let mut all: Vec<&String> = plan.probe.iter().flatten().collect();
        all.sort();
        assert_eq!(all, names.iter().collect::<Vec<_>>(), "every name once");
        // Budget: two calls read 200 names, the rest are misses.
        let plan = plan_reads(&names, 100, 2);
        assert_eq!((plan.probe.len(), plan.probe.iter().map(Vec::len).sum::<usize>()), (2, 200));
        // 2,000 names: 20 calls of 100, six in the probe, all 2,000 read if the probe reads on.
        let names: Vec<String> = (0..2000).map(|i| format!("{i:04}")).collect();
        let plan = plan_reads(&names, 100, 400);
        assert_eq!((plan.probe.len(), plan.rest.len()), (PROBE_CALLS, 14));
        assert!(plan.probe.iter().chain(&plan.rest).all(|c| c.len() == 100));
        assert_eq!(plan_reads(&[], 100, 400), ReadPlan::default());
    }

    #[test]
    fn a_refresh_never_stores_over_a_later_forget() {
        let e = Entry::new(vec![], 1, &format());
        let puts = || vec![("a".to_string(), e.clone()), ("b".to_string(), e.clone())];
        let mut f = Forgotten::default();
        f.forget([&"a".to_string()]);
        let first = f.plan();
        assert_eq!(f.keep(first, puts()).1, 0, "forgotten before the refresh was planned: stored");
        f.forget([&"b".to_string()]);
        let second = f.plan();
        f.forget([&"a".to_string()]);
        let (kept, left_out) = f.keep(first, puts());
        assert_eq!((kept.len(), left_out), (0, 2), "both forgotten after the first refresh");
        let (kept, left_out) = f.keep(second, puts());
        assert_eq!((kept.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), left_out), (vec!["b"], 1));
        f.done();
        assert_eq!(f.names.len(), 2, "remembered while a refresh is pending");
        f.done();
        assert!(f.names.is_empty(), "forgotten once none is");
        f.forget([&"a".to_string()]);
        assert!(f.names.is_empty(), "nothing pending: nothing to remember");
    }

    #[test]
    fn a_probe_that_finds_less_than_half_stops_reading() {
        assert!(read_on(600, 600), "warm: read the rest, no D1");
        assert!(read_on(600, 300));
        assert!(!read_on(600, 299));
        assert!(!read_on(600, 0), "cold: straight to D1");
    }

    #[test]
    fn a_refresh_stores_what_was_read_missing_before_what_was_left_unread() {
        let s = |d: &str| Subject::Key(Domain, d.into());
        let subs = vec![s("a.com"), s("b.com"), s("c.com"), Subject::External("e".into())];
        let unread: HashSet<Subject> = [s("a.com"), s("c.com")].into_iter().collect();
        assert_eq!(read_first(&subs, &unread), vec![s("b.com"), Subject::External("e".into()), s("a.com"), s("c.com")]);
        assert_eq!(read_first(&subs, &HashSet::new()), subs);
    }
}
