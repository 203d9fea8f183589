//! Deciding which stored record an incoming record is (API.md §4 sync, §5): pure, so every rule
//! of the choice is unit-tested without a database.
//!
//! The glue loads, in one statement, every live record that shares an externalId link or an
//! anchor key with the batch ([`lookup_keys`]), and [`decide`] picks per incoming record:
//! 1. a record linked to the incoming `externalId`;
//! 2. otherwise the first term of the identifier that some candidate matches on every field and,
//!    for a term without a strong field, does not contradict on a strong one (the veto);
//!    several candidates for that term are ambiguous: with `AMBIGUOUS_MATCH=pick` the choice is
//!    a record already linked to some externalId first, then the most recently updated, then the
//!    smallest id; with `error` the candidates are reported.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::config::AmbiguousMatch;
use super::matching::{MatchField, MatchRule, MatchTerm};
use super::record::{KeySet, RecordKind, StoredRecord};

/// A record that may match: a stored one, or one that an earlier item of the same create is
/// creating.
/// It is also what the match cache stores per key (`domain::cache`): a field added here is cached
/// with no change there, and entries written before the field existed stop being read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: String,
    pub keys: KeySet,
    /// The externalIds linked to it: every one when they were read whole ([`Links::All`]), else
    /// those the request sent and its own `externalId` ([`Links::Deciding`]).
    pub external_ids: Vec<String>,
    /// When it was last written; `None` while this request is creating it.
    pub updated_at: Option<String>,
    /// A company's parent company.
    pub parent_id: Option<String>,
    /// Its core fields and custom properties, for the sync's answer.
    pub fields: Map<String, Value>,
    pub properties: Map<String, Value>,
    /// What the CRM itself knows, for the sync's answer: the owner when it is a stored user, and
    /// the date of the newest activity.
    pub owner: Option<Owner>,
    pub last_activity_at: Option<String>,
}

/// How much of each candidate's links a read takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Every externalId linked to it: for the match cache, which stores a record under each.
    All,
    /// What deciding needs, without a descent of the links' record index per candidate: the
    /// externalIds of the request it holds (a link to the incoming externalId wins) and its own
    /// `externalId`, which every write sets to one of its links when it gains its first (so
    /// "linked to none" stays exact, which decides whether a match gets linked).
    Deciding,
}

/// A candidate as the database reads it. Its keys are not read from `match_keys` (a descent of
/// that table's record index per candidate, a quarter of a sync's pages near D1's size limit):
/// they are computed from its fields, as every write computes the keys it stores
/// ([`KeySet::of`]), joined with the stored keys the lookup found it by. A key written under an
/// older normaliser therefore still matches what it matched, and every other key is the
/// normaliser's of today, the same as the incoming record's.
#[derive(Debug, Deserialize)]
pub struct CandidateRow {
    pub id: String,
    /// The stored keys the lookup found it by: none when found by externalId or by id.
    #[serde(default)]
    pub found: KeySet,
    /// Every externalId linked to it, read with [`Links::All`].
    #[serde(default)]
    pub external_ids: Option<Vec<String>>,
    /// The externalIds the lookup found it by.
    #[serde(default)]
    pub linked: Vec<String>,
    /// Its `externalId`.
    #[serde(default)]
    pub external_id: Option<String>,
    pub updated_at: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    pub fields: Map<String, Value>,
    pub properties: Map<String, Value>,
    pub owner: Option<Owner>,
    pub last_activity_at: Option<String>,
}

impl CandidateRow {
    /// The candidate, `sent` being the externalIds the lookup searched for (the request's).
    /// With [`Links::Deciding`] its own `externalId` counts as a link unless it is one of `sent`
    /// that the lookup did not find linked to it: linked, the lookup would have found it, so the
    /// column is not what the record holds (a store written before every write kept it so) and
    /// must not make the record "linked to" an externalId another record holds.
    pub fn candidate(self, kind: RecordKind, sent: &HashSet<&str>) -> Candidate {
        let mut keys = KeySet::of(kind, &self.fields);
        if !self.found.is_empty() {
            keys = keys.into_vec().into_iter().chain(self.found.into_vec()).collect();
        }
        let external_ids = self.external_ids.unwrap_or_else(|| {
            let mut links = self.linked;
            if let Some(own) = self.external_id.filter(|own| !links.contains(own) && !sent.contains(own.as_str())) {
                links.push(own);
            }
            links
        });
        Candidate {
            id: self.id,
            keys,
            external_ids,
            updated_at: self.updated_at,
            parent_id: self.parent_id,
            fields: self.fields,
            properties: self.properties,
            owner: self.owner,
            last_activity_at: self.last_activity_at,
        }
    }
}

/// A record's owner, as stored among the users.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub name: Option<String>,
    pub email: Option<String>,
}

impl Candidate {
    /// Whether it is stored (rather than being created by this request).
    pub fn is_stored(&self) -> bool {
        self.updated_at.is_some()
    }

    pub fn stored(&self) -> StoredRecord {
        StoredRecord { id: self.id.clone(), fields: self.fields.clone(), properties: self.properties.clone() }
    }
}

/// What made a record the match: its link to the incoming externalId, or a term of the rule (by
/// its position, so the label is always the rule's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    ExternalId,
    Term(usize),
}

impl MatchedBy {
    /// `matchedBy` on the wire: `externalId`, or the term's label (`firstName&lastName&company`).
    pub fn label(self, rule: &MatchRule) -> String {
        match self {
            MatchedBy::ExternalId => "externalId".to_string(),
            MatchedBy::Term(i) => rule.terms()[i].label(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Matched { id: String, by: MatchedBy },
    /// Several candidates match the term at this position (`AMBIGUOUS_MATCH=error`).
    Ambiguous { term: usize, candidates: Vec<String> },
    NoMatch,
}

/// How selective a field is as a lookup key: the term is looked up by its most selective field
/// only, and candidates are then checked on all of its fields. (Looking `firstName & lastName &
/// company` up by first name would load every "John".)
fn selectivity(field: MatchField) -> u8 {
    match field {
        MatchField::Email => 0,
        MatchField::LinkedinUrl => 1,
        MatchField::VatId => 2,
        MatchField::Domain => 3,
        MatchField::Phone => 4,
        MatchField::Name => 5,
        MatchField::Company => 6,
        MatchField::LastName => 7,
        MatchField::CompanyDomain => 8,
        MatchField::DomainAnyTld => 9,
        MatchField::FirstName => 10,
        MatchField::Country => 11,
    }
}

pub(crate) fn anchor(term: &MatchTerm) -> MatchField {
    *term.fields().iter().min_by_key(|f| selectivity(**f)).expect("a term has at least one field")
}

/// The fields a lookup may use under `rule`: the anchor of each term. The match cache keeps
/// entries for these fields only, so a write forgets the keys of these fields.
pub fn anchor_fields(rule: &MatchRule) -> Vec<MatchField> {
    let fields: BTreeSet<MatchField> = rule.terms().iter().map(anchor).collect();
    fields.into_iter().collect()
}

/// The `(field, key)` pairs to look candidates up by, for a batch of incoming key sets.
pub fn lookup_keys<'a>(rule: &MatchRule, incoming: impl Iterator<Item = &'a KeySet>) -> Vec<(MatchField, String)> {
    let mut out = BTreeSet::new();
    for keys in incoming {
        let keys = &*without_shared(rule, keys);
        for term in rule.terms() {
            if keys.applies(term) {
                let field = anchor(term);
                for key in keys.keys(field) {
                    out.insert((field, key.to_string()));
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Whether two records hold different values of some strong field of `kind` (both hold the field
/// and share no key of it), for a match under `term`. A value missing on either side is no
/// conflict. A term that compares `domainAnyTld` asked for `acme.es` to equal `acme.com`, so the
/// domain it is derived from is not held against it (a different LinkedIn page or VAT number
/// still is).
pub fn conflicts(kind: RecordKind, term: &MatchTerm, a: &KeySet, b: &KeySet) -> bool {
    let derived = |f: MatchField| f == MatchField::Domain && term.fields().contains(&MatchField::DomainAnyTld);
    kind.match_fields()
        .iter()
        .filter(|&&f| f.is_strong(kind) && !derived(f))
        .any(|&f| a.has(f) && b.has(f) && !a.keys(f).any(|k| b.keys(f).any(|o| o == k)))
}

/// The keys without the domains this deployment declared shared (`SHARED_DOMAINS`).
/// Borrowed as is when none is declared, which is the common case: no copy on the hot path.
fn without_shared<'k>(rule: &MatchRule, keys: &'k KeySet) -> Cow<'k, KeySet> {
    match rule.has_shared() {
        true => Cow::Owned(keys.filtered(|f, k| !rule.is_shared(f, k))),
        false => Cow::Borrowed(keys),
    }
}

/// Picks the stored record for one incoming record.
pub fn decide(
    external_id: Option<&str>,
    keys: &KeySet,
    candidates: &[&Candidate],
    rule: &MatchRule,
    ambiguous: AmbiguousMatch,
) -> Decision {
    if let Some(ext) = external_id {
        if let Some(c) = candidates.iter().find(|c| c.external_ids.iter().any(|e| e == ext)) {
            return Decision::Matched { id: c.id.clone(), by: MatchedBy::ExternalId };
        }
    }
    // Declared shared domains neither match nor veto, on either side: each candidate is compared
    // by its keys without them.
    let keys = &*without_shared(rule, keys);
    let compared: Vec<(&Candidate, Cow<KeySet>)> = candidates.iter().map(|c| (*c, without_shared(rule, &c.keys))).collect();
    for (at, term) in rule.terms().iter().enumerate() {
        if !keys.applies(term) {
            continue;
        }
        // A weak term (names, company, phone, ...) never joins two records that disagree on a
        // strong field: a wrong merge is worse than a duplicate.
        let strong = term.is_strong(rule.kind());
        let mut found: Vec<&Candidate> = compared
            .iter()
            .filter(|(_, their)| keys.matches(term, their) && (strong || !conflicts(rule.kind(), term, keys, their)))
            .map(|(c, _)| *c)
            .collect();
        if found.is_empty() {
            continue;
        }
        if found.len() > 1 && ambiguous == AmbiguousMatch::Error {
            let mut ids: Vec<String> = found.iter().map(|c| c.id.clone()).collect();
            ids.sort();
            return Decision::Ambiguous { term: at, candidates: ids };
        }
        found.sort_by(|a, b| {
            a.external_ids
                .is_empty()
                .cmp(&b.external_ids.is_empty())
                .then_with(|| b.updated_at.cmp(&a.updated_at))
                .then_with(|| a.id.cmp(&b.id))
        });
        return Decision::Matched { id: found[0].id.clone(), by: MatchedBy::Term(at) };
    }
    Decision::NoMatch
}

/// Candidates indexed by key and by externalId, so deciding a batch of n records against m
/// candidates costs about n + m, not n × m (a 1,000-record create compares each record with the
/// other 999 it may duplicate).
#[derive(Debug, Default)]
pub struct CandidatePool {
    candidates: Vec<Candidate>,
    by_key: HashMap<(MatchField, String), Vec<usize>>,
    by_external: HashMap<String, Vec<usize>>,
    by_id: HashMap<String, usize>,
}

impl CandidatePool {
    pub fn new(candidates: Vec<Candidate>) -> CandidatePool {
        let mut pool = CandidatePool::default();
        for c in candidates {
            pool.push(c);
        }
        pool
    }

    pub fn push(&mut self, candidate: Candidate) {
        let at = self.candidates.len();
        for (field, key) in candidate.keys.as_slice() {
            self.by_key.entry((*field, key.clone())).or_default().push(at);
        }
        for ext in &candidate.external_ids {
            self.by_external.entry(ext.clone()).or_default().push(at);
        }
        self.by_id.insert(candidate.id.clone(), at);
        self.candidates.push(candidate);
    }

    pub fn all(&self) -> &[Candidate] {
        &self.candidates
    }

    pub fn get(&self, id: &str) -> Option<&Candidate> {
        self.by_id.get(id).map(|i| &self.candidates[*i])
    }

    /// The candidates that share a key or the externalId with an incoming record: every record
    /// `decide` could pick is among them.
    pub fn relevant(&self, external_id: Option<&str>, keys: &KeySet) -> Vec<&Candidate> {
        let mut at: Vec<usize> = Vec::new();
        if let Some(list) = external_id.and_then(|e| self.by_external.get(e)) {
            at.extend(list);
        }
        for (field, key) in keys.as_slice() {
            if let Some(list) = self.by_key.get(&(*field, key.clone())) {
                at.extend(list);
            }
        }
        at.sort_unstable();
        at.dedup();
        at.into_iter().map(|i| &self.candidates[i]).collect()
    }
}

/// The words of an ambiguity error: `Multiple companies match domain acme.com`.
pub fn ambiguity_message(plural: &str, term: &MatchTerm, keys: &KeySet) -> String {
    let values: Vec<String> = term
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), keys.keys(*f).next().unwrap_or("")))
        .collect();
    format!("Multiple {plural} match {}", values.join(" and "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::RecordKind;

    fn keys(list: &[(MatchField, &str)]) -> KeySet {
        KeySet::new(list.iter().map(|(f, k)| (*f, k.to_string())))
    }

    fn cand(id: &str, list: &[(MatchField, &str)], ext: &[&str], updated: &str) -> Candidate {
        Candidate {
            id: id.into(),
            keys: keys(list),
            external_ids: ext.iter().map(|e| e.to_string()).collect(),
            updated_at: Some(updated.into()),
            ..Candidate::default()
        }
    }

    fn rule(kind: RecordKind, text: &str) -> MatchRule {
        MatchRule::parse(kind, text).unwrap()
    }

    use MatchField::*;

    fn row(packed: serde_json::Value) -> CandidateRow {
        serde_json::from_value(packed).unwrap()
    }

    #[test]
    fn a_candidates_keys_are_its_fields_keys() {
        let fields = serde_json::json!({"name": "Acme, Inc.", "domain": "https://www.acme.co.uk/x", "website": "acme.com", "linkedinUrl": "linkedin.com/company/acme"});
        let c = row(serde_json::json!({"id": "co_1", "external_ids": ["e1"], "updated_at": "t", "fields": fields, "properties": {},
            "owner": null, "last_activity_at": null}))
        .candidate(RecordKind::Company, &HashSet::new());
        assert_eq!(c.keys, KeySet::of(RecordKind::Company, fields.as_object().unwrap()));
        assert_eq!(c.keys.keys(Domain).collect::<Vec<_>>(), ["acme.co.uk", "acme.com"]);
        assert_eq!((c.id.as_str(), c.external_ids.as_slice(), c.updated_at.as_deref()), ("co_1", &["e1".to_string()][..], Some("t")));
    }

    #[test]
    fn a_stored_key_that_found_the_candidate_is_kept_beside_its_fields_keys() {
        // A key a former normaliser wrote: not what the fields give today, but what the lookup
        // found the record by, so the record still matches the record that sent it.
        let c = row(serde_json::json!({"id": "co_1", "found": [["domain", "acme-legacy.com"], ["domain", "acme.com"]], "external_ids": [],
            "updated_at": "t", "fields": {"domain": "acme.com"}, "properties": {}, "owner": null, "last_activity_at": null}))
        .candidate(RecordKind::Company, &HashSet::new());
        assert_eq!(c.keys.keys(Domain).collect::<Vec<_>>(), ["acme-legacy.com", "acme.com"], "sorted, no repeat");
        let incoming = keys(&[(Domain, "acme-legacy.com")]);
        let decided = decide(None, &incoming, &[&c], &rule(RecordKind::Company, "domain"), AmbiguousMatch::Pick);
        assert_eq!(decided, Decision::Matched { id: "co_1".into(), by: MatchedBy::Term(0) });
        let unknown = serde_json::json!({"id": "co_2", "found": [["shoeSize", "42"]], "external_ids": [], "updated_at": "t",
            "fields": {}, "properties": {}, "owner": null, "last_activity_at": null});
        assert!(serde_json::from_value::<CandidateRow>(unknown).is_err(), "a key of no known field is refused, not dropped");
    }

    #[test]
    fn a_candidates_links_are_all_of_them_or_what_deciding_needs() {
        let base = |links: serde_json::Value| {
            let mut v = serde_json::json!({"id": "co_1", "updated_at": "t", "fields": {}, "properties": {}, "owner": null, "last_activity_at": null});
            v.as_object_mut().unwrap().extend(links.as_object().unwrap().clone());
            row(v).candidate(RecordKind::Company, &HashSet::new())
        };
        // Read whole: every link, whatever else came.
        let all = base(serde_json::json!({"external_ids": ["e1", "e2", "e3"], "linked": ["e2"], "external_id": "e3"}));
        assert_eq!(all.external_ids, ["e1", "e2", "e3"]);
        // For deciding: the incoming externalIds it holds, then its own, once.
        let deciding = base(serde_json::json!({"external_ids": null, "linked": ["e2"], "external_id": "e3"}));
        assert_eq!(deciding.external_ids, ["e2", "e3"]);
        assert_eq!(base(serde_json::json!({"external_ids": null, "linked": ["e3"], "external_id": "e3"})).external_ids, ["e3"]);
        // Linked to none: nothing, so a match gets the incoming externalId.
        assert!(base(serde_json::json!({"external_ids": null, "linked": [], "external_id": null})).external_ids.is_empty());
        // An incoming externalId it holds decides for it, read whole or not.
        let incoming = keys(&[(Domain, "other.com")]);
        let decided = decide(Some("e2"), &incoming, &[&deciding], &rule(RecordKind::Company, "domain"), AmbiguousMatch::Pick);
        assert_eq!(decided, Decision::Matched { id: "co_1".into(), by: MatchedBy::ExternalId });
    }

    #[test]
    fn an_own_external_id_the_lookup_did_not_find_linked_is_no_link() {
        // The record's column names e9, which the request sent, yet the lookup by e9 did not find
        // it linked (another record holds e9): the column is stale, so the record is neither
        // "linked to e9" (which would answer it for another record's externalId) nor linked.
        let row = |own: &str| {
            row(serde_json::json!({"id": "co_1", "external_ids": null, "linked": [], "external_id": own, "updated_at": "t",
                "fields": {"domain": "beta.com"}, "properties": {}, "owner": null, "last_activity_at": null}))
        };
        let sent: HashSet<&str> = ["e9"].into_iter().collect();
        let stale = row("e9").candidate(RecordKind::Company, &sent);
        assert!(stale.external_ids.is_empty(), "{:?}", stale.external_ids);
        let holder = cand("co_2", &[(Domain, "acme.com")], &["e9"], "2024-01-01");
        let d = decide(Some("e9"), &keys(&[(Domain, "beta.com")]), &[&stale, &holder], &rule(RecordKind::Company, "domain"), AmbiguousMatch::Pick);
        assert_eq!(d, Decision::Matched { id: "co_2".into(), by: MatchedBy::ExternalId }, "the record that holds e9");
        // Its own externalId the request did not send still says it is linked.
        assert_eq!(row("e1").candidate(RecordKind::Company, &sent).external_ids, ["e1"]);
    }

    #[test]
    fn a_linked_external_id_wins_over_every_key() {
        let a = cand("co_a", &[(Domain, "acme.com")], &[], "2024-01-02");
        let b = cand("co_b", &[(Domain, "other.com")], &["ext-1"], "2024-01-01");
        let incoming = keys(&[(Domain, "acme.com")]);
        let d = decide(Some("ext-1"), &incoming, &[&a, &b], &rule(RecordKind::Company, "domain"), AmbiguousMatch::Pick);
        assert_eq!(d, Decision::Matched { id: "co_b".into(), by: MatchedBy::ExternalId });
    }

    #[test]
    fn terms_are_tried_in_order() {
        let by_name = cand("co_n", &[(Name, "acme")], &[], "2024-01-09");
        let by_domain = cand("co_d", &[(Domain, "acme.com")], &[], "2024-01-01");
        let incoming = keys(&[(Domain, "acme.com"), (Name, "acme")]);
        let r = rule(RecordKind::Company, "name | domain");
        let d = decide(None, &incoming, &[&by_name, &by_domain], &r, AmbiguousMatch::Pick);
        assert_eq!(d, Decision::Matched { id: "co_n".into(), by: MatchedBy::Term(0) });
        let r = rule(RecordKind::Company, "domain | name");
        let d = decide(None, &incoming, &[&by_name, &by_domain], &r, AmbiguousMatch::Pick);
        assert_eq!(d, Decision::Matched { id: "co_d".into(), by: MatchedBy::Term(0) });
        assert_eq!((MatchedBy::Term(1).label(&r), MatchedBy::ExternalId.label(&r)), ("name".to_string(), "externalId".to_string()));
    }

    #[test]
    fn a_record_this_request_creates_counts_as_the_least_recent() {
        let stored = cand("co_z", &[(Domain, "acme.com")], &[], "2024-01-01");
        let planned = Candidate { updated_at: None, ..cand("co_a", &[(Domain, "acme.com")], &[], "") };
        assert!(!planned.is_stored() && stored.is_stored());
        let incoming = keys(&[(Domain, "acme.com")]);
        let d = decide(None, &incoming, &[&planned, &stored], &rule(RecordKind::Company, "domain"), AmbiguousMatch::Pick);
        assert_eq!(d, Decision::Matched { id: "co_z".into(), by: MatchedBy::Term(0) });
    }

    #[test]
    fn every_field_of_a_term_must_match() {
        let half = cand("ct_1", &[(FirstName, "ana"), (LastName, "ruiz"), (Company, "beta")], &[], "x");
        let full = cand("ct_2", &[(FirstName, "ana"), (LastName, "ruiz"), (Company, "acme")], &[], "x");
        let incoming = keys(&[(FirstName, "ana"), (LastName, "ruiz"), (Company, "acme")]);
        let r = rule(RecordKind::Contact, "name_company");
        let d = decide(None, &incoming, &[&half, &full], &r, AmbiguousMatch::Pick);
        assert_eq!(d, Decision::Matched { id: "ct_2".into(), by: MatchedBy::Term(0) });
        let partial = keys(&[(FirstName, "ana"), (LastName, "ruiz")]);
        assert_eq!(decide(None, &partial, &[&half, &full], &r, AmbiguousMatch::Pick), Decision::NoMatch, "an empty field never matches");
    }

    #[test]
    fn pick_prefers_linked_then_recent_then_smallest_id() {
        let old_linked = cand("co_b", &[(Domain, "acme.com")], &["x"], "2024-01-01");
        let new_unlinked = cand("co_a", &[(Domain, "acme.com")], &[], "2024-06-01");
        let incoming = keys(&[(Domain, "acme.com")]);
        let r = rule(RecordKind::Company, "domain");
        let d = decide(None, &incoming, &[&new_unlinked, &old_linked], &r, AmbiguousMatch::Pick);
        assert_eq!(d, Decision::Matched { id: "co_b".into(), by: MatchedBy::Term(0) });
        let older = cand("co_c", &[(Domain, "acme.com")], &[], "2024-01-01");
        let d = decide(None, &incoming, &[&older, &new_unlinked], &r, AmbiguousMatch::Pick);
        assert_eq!(d, Decision::Matched { id: "co_a".into(), by: MatchedBy::Term(0) });
        let twin = cand("co_0", &[(Domain, "acme.com")], &[], "2024-06-01");
        let d = decide(None, &incoming, &[&new_unlinked, &twin], &r, AmbiguousMatch::Pick);
        assert_eq!(d, Decision::Matched { id: "co_0".into(), by: MatchedBy::Term(0) });
        // The same answer whatever the order the database returned them in.
        let d2 = decide(None, &incoming, &[&twin, &new_unlinked], &r, AmbiguousMatch::Pick);
        assert_eq!(d, d2);
    }

    #[test]
    fn error_mode_reports_the_candidates() {
        let a = cand("co_b", &[(Domain, "acme.com")], &[], "1");
        let b = cand("co_a", &[(Domain, "acme.com")], &[], "2");
        let incoming = keys(&[(Domain, "acme.com")]);
        let r = rule(RecordKind::Company, "domain");
        let d = decide(None, &incoming, &[&a, &b], &r, AmbiguousMatch::Error);
        assert_eq!(d, Decision::Ambiguous { term: 0, candidates: vec!["co_a".into(), "co_b".into()] });
        assert_eq!(ambiguity_message("companies", &r.terms()[0], &incoming), "Multiple companies match domain acme.com");
    }

    #[test]
    fn conflicting_strong_fields_veto_a_weak_match() {
        let r = rule(RecordKind::Contact, "linkedin_or_name_company");
        let name = [(FirstName, "john"), (LastName, "smith"), (Company, "acme")];
        let with = |extra: &[(MatchField, &'static str)]| {
            let mut all: Vec<(MatchField, &str)> = name.to_vec();
            all.extend_from_slice(extra);
            all
        };
        let stored = cand("ct_1", &with(&[(LinkedinUrl, "in/john-smith-1"), (Email, "john@acme.com")]), &[], "1");
        // Another John Smith at Acme: another profile, another email. Two people.
        let other = keys(&with(&[(LinkedinUrl, "in/john-smith-2"), (Email, "jsmith@acme.com")]));
        assert_eq!(decide(None, &other, &[&stored], &r, AmbiguousMatch::Pick), Decision::NoMatch);
        // Only the email differs: still a conflict.
        let other_mail = keys(&with(&[(Email, "john.smith@acme.com")]));
        assert_eq!(decide(None, &other_mail, &[&stored], &r, AmbiguousMatch::Pick), Decision::NoMatch);
        // A missing value is no conflict: the same name with no profile and no email matches.
        let bare = keys(&name);
        assert_eq!(decide(None, &bare, &[&stored], &r, AmbiguousMatch::Pick), Decision::Matched { id: "ct_1".into(), by: MatchedBy::Term(1) });
        // Same profile: the strong term matches first, never vetoed, even with another email.
        let same = keys(&with(&[(LinkedinUrl, "in/john-smith-1"), (Email, "other@acme.com")]));
        assert_eq!(decide(None, &same, &[&stored], &r, AmbiguousMatch::Pick), Decision::Matched { id: "ct_1".into(), by: MatchedBy::Term(0) });
    }

    #[test]
    fn companies_with_one_name_and_two_domains_stay_two() {
        let r = rule(RecordKind::Company, "domain_or_name");
        let stored = cand("co_1", &[(Domain, "acme.com"), (Name, "acme")], &[], "1");
        let beta = keys(&[(Domain, "beta.com"), (Name, "acme")]);
        assert_eq!(decide(None, &beta, &[&stored], &r, AmbiguousMatch::Pick), Decision::NoMatch);
        let no_domain = keys(&[(Name, "acme")]);
        assert_eq!(decide(None, &no_domain, &[&stored], &r, AmbiguousMatch::Pick), Decision::Matched { id: "co_1".into(), by: MatchedBy::Term(1) });
        // A different VAT number vetoes too; the same one is no conflict.
        let vat_stored = cand("co_2", &[(Name, "globex"), (VatId, "ESB1")], &[], "1");
        let r = rule(RecordKind::Company, "domain | name");
        assert_eq!(decide(None, &keys(&[(Name, "globex"), (VatId, "ESB2")]), &[&vat_stored], &r, AmbiguousMatch::Pick), Decision::NoMatch);
        assert!(matches!(decide(None, &keys(&[(Name, "globex"), (VatId, "ESB1")]), &[&vat_stored], &r, AmbiguousMatch::Pick), Decision::Matched { .. }));
        // domainAnyTld is weak, but the domain it derives from is not held against it: acme.es is
        // acme.com under domain_any_tld, unless their LinkedIn pages differ.
        let any = rule(RecordKind::Company, "domain_any_tld");
        let es = cand("co_es", &[(Domain, "acme.es"), (DomainAnyTld, "acme"), (LinkedinUrl, "company/acme-es")], &[], "1");
        let com = keys(&[(Domain, "acme.com"), (DomainAnyTld, "acme")]);
        assert!(matches!(decide(None, &com, &[&es], &any, AmbiguousMatch::Pick), Decision::Matched { .. }));
        let other_page = keys(&[(Domain, "acme.com"), (DomainAnyTld, "acme"), (LinkedinUrl, "company/acme-inc")]);
        assert_eq!(decide(None, &other_page, &[&es], &any, AmbiguousMatch::Pick), Decision::NoMatch);
    }

    #[test]
    fn declared_shared_domains_neither_match_nor_veto() {
        let shared = vec!["https://partner-hosting.com".to_string()];
        let r = rule(RecordKind::Company, "domain | name").with_shared_domains(&shared);
        let stored = cand("co_1", &[(Domain, "partner-hosting.com"), (Name, "acme")], &[], "1");
        assert_eq!(decide(None, &keys(&[(Domain, "partner-hosting.com")]), &[&stored], &r, AmbiguousMatch::Pick), Decision::NoMatch);
        // Not a conflict either: Acme at another domain still matches by name.
        let by_name = keys(&[(Domain, "acme.com"), (Name, "acme")]);
        assert_eq!(decide(None, &by_name, &[&stored], &r, AmbiguousMatch::Pick), Decision::Matched { id: "co_1".into(), by: MatchedBy::Term(1) });
        assert!(lookup_keys(&r, [&keys(&[(Domain, "partner-hosting.com")])].into_iter()).is_empty());
        // Without the declaration, the same pair is a domain match.
        let plain = rule(RecordKind::Company, "domain | name");
        assert!(matches!(decide(None, &keys(&[(Domain, "partner-hosting.com")]), &[&stored], &plain, AmbiguousMatch::Pick), Decision::Matched { .. }));
    }

    #[test]
    fn the_pool_offers_exactly_the_candidates_sharing_a_key_or_the_external_id() {
        let a = cand("co_a", &[(Domain, "acme.com"), (Name, "acme")], &[], "1");
        let b = cand("co_b", &[(Domain, "beta.com")], &["ext-b"], "1");
        let c = cand("co_c", &[(Name, "acme")], &[], "1");
        let mut pool = CandidatePool::new(vec![a, b]);
        pool.push(c);
        let ids = |v: Vec<&Candidate>| v.into_iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(pool.relevant(None, &keys(&[(Name, "acme")]))), vec!["co_a", "co_c"]);
        assert_eq!(ids(pool.relevant(Some("ext-b"), &keys(&[(Name, "acme")]))), vec!["co_a", "co_b", "co_c"]);
        assert!(pool.relevant(Some("nope"), &keys(&[(Domain, "zeta.com")])).is_empty());
        assert_eq!(pool.get("co_c").map(|c| c.id.as_str()), Some("co_c"));
        assert!(pool.get("co_z").is_none());
        // Deciding on the relevant subset is deciding on all.
        let incoming = keys(&[(Domain, "acme.com"), (Name, "acme")]);
        let r = rule(RecordKind::Company, "domain_or_name");
        let everything: Vec<&Candidate> = pool.all().iter().collect();
        assert_eq!(
            decide(None, &incoming, &pool.relevant(None, &incoming), &r, AmbiguousMatch::Pick),
            decide(None, &incoming, &everything, &r, AmbiguousMatch::Pick)
        );
    }

    #[test]
    fn lookups_use_the_most_selective_field_of_each_term() {
        let r = rule(RecordKind::Contact, "email | linkedinUrl | (firstName & lastName & company)");
        let a = keys(&[(Email, "a@x.com"), (FirstName, "ana"), (LastName, "ruiz"), (Company, "acme")]);
        let b = keys(&[(FirstName, "ben")]);
        let got = lookup_keys(&r, [&a, &b].into_iter());
        assert_eq!(got, vec![(Email, "a@x.com".to_string()), (Company, "acme".to_string())]);
        assert_eq!(anchor_fields(&r), vec![LinkedinUrl, Email, Company]);
    }
}

/// Precision beside completeness, preset by preset: pairs that look alike and must stay apart, and
/// pairs that must still match, decided from raw fields as Enginy sends them (normalisation,
/// shared domains and the veto all take part).
#[cfg(test)]
mod precision {
    use super::*;
    use serde_json::{json, Value};

    fn stored(kind: RecordKind, id: &str, fields: Value) -> Candidate {
        let fields = fields.as_object().unwrap().clone();
        Candidate { id: id.into(), keys: KeySet::of(kind, &fields), updated_at: Some("t".into()), fields, ..Candidate::default() }
    }

    fn matches(kind: RecordKind, preset: &str, incoming: Value, existing: Value) -> bool {
        let rule = MatchRule::parse(kind, preset).unwrap();
        let c = stored(kind, "x_1", existing);
        let keys = KeySet::of(kind, incoming.as_object().unwrap());
        matches!(decide(None, &keys, &[&c], &rule, AmbiguousMatch::Pick), Decision::Matched { .. })
    }

    #[test]
    fn companies_apart_and_together_under_every_preset() {
        use RecordKind::Company;
        let same = [
            ("domain", json!({"domain": "https://www.acme.com/about"}), json!({"domain": "acme.com"})),
            ("domain", json!({"domain": "shop.acme.co.uk"}), json!({"website": "http://acme.co.uk"})),
            ("domain", json!({"domain": "ana@acme.com"}), json!({"domain": "ACME.COM"})),
            ("domain_any_tld", json!({"domain": "acme.es"}), json!({"domain": "acme.com"})),
            ("domain_or_name", json!({"name": "Acme, Inc."}), json!({"name": "ACME", "domain": "acme.com"})),
            ("domain_or_name", json!({"name": "Acme", "domain": "acme.com"}), json!({"name": "Acme Holdings", "domain": "acme.com"})),
        ];
        for (preset, a, b) in same {
            assert!(matches(Company, preset, a.clone(), b.clone()), "{preset}: {a} should match {b}");
        }
        let apart = [
            ("domain", json!({"domain": "sites.google.com/view/acme"}), json!({"domain": "sites.google.com/view/beta"})),
            ("domain", json!({"domain": "facebook.com/acme"}), json!({"domain": "facebook.com/beta"})),
            ("domain", json!({"domain": "linktr.ee/acme"}), json!({"domain": "linktr.ee/acme-two"})),
            ("domain", json!({"domain": "gmail.com"}), json!({"domain": "gmail.com"})),
            ("domain", json!({"domain": "acme.github.io"}), json!({"domain": "beta.github.io"})),
            ("domain", json!({"domain": "acme.com"}), json!({"domain": "acme.co"})),
            ("domain_any_tld", json!({"domain": "acme.es", "linkedinUrl": "linkedin.com/company/acme-es"}), json!({"domain": "acme.com", "linkedinUrl": "linkedin.com/company/acme-corp"})),
            ("domain_any_tld", json!({"domain": "acme.github.io"}), json!({"domain": "acme.com"})),
            ("domain_or_name", json!({"name": "Acme", "domain": "beta.com"}), json!({"name": "Acme", "domain": "acme.com"})),
            ("domain_or_name", json!({"name": "Acme", "vatId": "ESB11111111"}), json!({"name": "Acme", "vatId": "ESB22222222"})),
            ("domain_or_name", json!({"name": "Acme Labs"}), json!({"name": "Acme"})),
        ];
        for (preset, a, b) in apart {
            assert!(!matches(Company, preset, a.clone(), b.clone()), "{preset}: {a} must stay apart from {b}");
        }
    }

    #[test]
    fn contacts_apart_and_together_under_every_preset() {
        use RecordKind::Contact;
        let john = |extra: Value| {
            let mut v = json!({"firstName": "John", "lastName": "Smith", "company": "Acme Inc"});
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            v
        };
        let same = [
            ("name_company", john(json!({})), json!({"firstName": "JOHN", "lastName": "smith", "company": "ACME"})),
            ("name_company", john(json!({"email": "john@acme.com"})), john(json!({}))),
            ("linkedin_or_name_company", json!({"linkedinUrl": "https://www.linkedin.com/in/jsmith/"}), json!({"linkedinUrl": "linkedin.com/in/JSmith"})),
            ("linkedin_or_name_company", john(json!({"linkedinUrl": "linkedin.com/in/jsmith"})), john(json!({"email": "other@acme.com"}))),
            ("email_or_linkedin_or_name_company", json!({"email": " John@Acme.com "}), json!({"email": "john@acme.com"})),
            ("email_or_linkedin_or_name_company", john(json!({"linkedinUrl": "linkedin.com/in/jsmith", "email": "new@acme.com"})), john(json!({"linkedinUrl": "linkedin.com/in/jsmith", "email": "old@acme.com"}))),
        ];
        for (preset, a, b) in same {
            assert!(matches(Contact, preset, a.clone(), b.clone()), "{preset}: {a} should match {b}");
        }
        let apart = [
            ("name_company", john(json!({"linkedinUrl": "linkedin.com/in/jsmith-1"})), john(json!({"linkedinUrl": "linkedin.com/in/jsmith-2"}))),
            ("name_company", john(json!({"email": "john@acme.com"})), john(json!({"email": "jsmith@acme.com"}))),
            ("name_company", john(json!({})), json!({"firstName": "John", "lastName": "Smith", "company": "Beta"})),
            ("name_company", json!({"firstName": "John", "lastName": "Smith"}), john(json!({}))),
            ("linkedin_or_name_company", john(json!({"linkedinUrl": "linkedin.com/in/jsmith-1"})), john(json!({"linkedinUrl": "linkedin.com/in/jsmith-2"}))),
            ("linkedin_or_name_company", json!({"linkedinUrl": "linkedin.com/in/jsmith"}), json!({"linkedinUrl": "linkedin.com/company/jsmith"})),
            ("email_or_linkedin_or_name_company", john(json!({"email": "a@acme.com"})), john(json!({"email": "b@acme.com"}))),
            ("email_or_linkedin_or_name_company", json!({"email": "john@acme.com"}), json!({"email": "john@acme.co"})),
        ];
        for (preset, a, b) in apart {
            assert!(!matches(Contact, preset, a.clone(), b.clone()), "{preset}: {a} must stay apart from {b}");
        }
    }
}
