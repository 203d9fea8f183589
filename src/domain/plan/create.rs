//! `POST /{kind}`: which items create a record, which are a record that already exists, and what
//! the write must guard.
//!
//! Items are decided in request order, and a record an earlier item creates counts as a candidate
//! for the later ones, so one request never creates the same record twice:
//! 1. an item that failed to parse, or names an owner or parent that does not exist, fails alone;
//! 2. an externalId seen earlier in the request is that earlier item's record, whatever the keys;
//! 3. with dedupe on, the item is decided against the candidates (see [`decide`]); a stored
//!    record it matches that has no externalId yet is linked to the item's, once; what the item
//!    carried is merged into it under `CREATE_MERGE`, and each value sent that the merge kept out
//!    (the stored one differs and stays) is listed for the answer (`keptFields`) and kept in
//!    history as sent, marked not applied: never dropped silently;
//! 4. otherwise it is a new record.
//!
//! With dedupe on, the write is guarded: it fails when another request created a record holding
//! one of the new records' lookup keys since the candidates were read, and the request decides
//! again.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{json, Map, Value};

use std::collections::BTreeMap;

use super::{record_refs, ExternalLink, KeyGuard, RecordChange, RecordWrite, Touched};
use crate::domain::config::{AmbiguousMatch, CreateMerge, FieldPolicy};
use crate::domain::error::ItemError;
use crate::domain::matching::MatchRule;
use crate::domain::record::{apply_update, Change, Kept, KeySet, NewRecord, RecordKind, RecordUpdate, StoredRecord, LAST_ACTIVITY};
use crate::domain::refs::{Known, RefFields, Refs};
use crate::domain::sync::{ambiguity_message, decide, lookup_keys, Candidate, CandidatePool, Decision, MatchedBy};

/// The configuration a create is decided under.
#[derive(Debug, Clone, Copy)]
pub struct CreateSettings<'r> {
    pub kind: RecordKind,
    pub rule: &'r MatchRule,
    /// `CREATE_DEDUPE`: match against stored records before creating.
    pub dedupe: bool,
    pub ambiguous: AmbiguousMatch,
    /// `CREATE_MERGE`: what becomes of the fields of an item that matched a stored record.
    pub merge: CreateMerge,
    /// `FIELD_POLICY`: a field it says to ignore is never merged either.
    pub policy: &'r BTreeMap<String, FieldPolicy>,
}

impl<'r> CreateSettings<'r> {
    /// The settings of the configuration for `kind`.
    pub fn of(config: &'r crate::domain::config::Config, kind: RecordKind) -> CreateSettings<'r> {
        CreateSettings {
            kind,
            rule: config.match_rule(kind),
            dedupe: config.create_dedupe,
            ambiguous: config.ambiguous_match,
            merge: config.create_merge,
            policy: &config.field_policy,
        }
    }
}

/// What became of one valid item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Created by this request (unless the write finds its externalId taken meanwhile).
    New { id: String },
    /// The same as a stored record, or as an earlier item of this request; `merged` names the
    /// fields the item's values changed on the stored record (`CREATE_MERGE`), `kept` those whose
    /// value it sent differs from the stored one, which stays.
    Same { id: String, by: MatchedBy, merged: Vec<String>, kept: Vec<String> },
}

/// The values an item sent that a deduplicated create kept out of the stored record `id`: the
/// history keeps each as sent, marked not applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeptWrite {
    pub id: String,
    pub kept: Vec<Kept>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreatePlan {
    /// One per item, in request order.
    pub outcomes: Vec<Result<Created, ItemError>>,
    pub inserts: Vec<RecordWrite>,
    /// Stored records the items matched, with the fields the items brought merged in.
    pub merges: Vec<RecordChange>,
    /// The values sent that the merges kept out, per stored record.
    pub kept: Vec<KeptWrite>,
    pub links: Vec<ExternalLink>,
    /// Present when dedupe is on and something is written.
    pub guard: Option<KeyGuard>,
    /// The new records' keys (the match cache forgets them after the write).
    pub touched: Touched,
}

impl CreatePlan {
    pub fn writes_nothing(&self) -> bool {
        self.inserts.is_empty() && self.links.is_empty() && self.merges.is_empty() && self.kept.is_empty()
    }

    /// What the write's reference guard checks again: the owners and parents of the new records
    /// and of the merged ones, and the stored records it links to externalIds (one deleted since
    /// it was read must not be linked: the request then decides again and creates the record).
    pub fn refs(&self, kind: RecordKind) -> Vec<Refs<'_>> {
        self.inserts
            .iter()
            .chain(self.merges.iter().map(|m| &m.record))
            .map(RecordWrite::refs)
            .chain(self.links.iter().map(|l| l.refs(kind)))
            .collect()
    }
}

/// Plans a create. `candidates` are the stored records that share an externalId or a lookup key
/// with the items (none when dedupe is off); `known` holds the owners and parents that exist;
/// `new_id` mints the id of each new record.
pub fn plan_create(
    settings: &CreateSettings<'_>,
    items: &[Result<NewRecord, ItemError>],
    candidates: Vec<Candidate>,
    known: &Known,
    mut new_id: impl FnMut() -> String,
) -> CreatePlan {
    let CreateSettings { kind, rule, dedupe, ambiguous, .. } = *settings;
    let seen: Vec<String> = candidates.iter().map(|c| c.id.clone()).collect();
    let mut pool = CandidatePool::new(candidates);
    let mut plan = CreatePlan {
        outcomes: Vec::with_capacity(items.len()),
        inserts: Vec::new(),
        merges: Vec::new(),
        kept: Vec::new(),
        links: Vec::new(),
        guard: None,
        touched: Vec::new(),
    };
    // The stored records merged into so far: later items merge on top.
    let mut merged: BTreeMap<String, Merged> = BTreeMap::new();
    let mut linked: HashSet<String> = HashSet::new();
    let mut by_external: HashMap<String, String> = HashMap::new();

    for item in items {
        let record = match item {
            Ok(record) => record,
            Err(e) => {
                plan.outcomes.push(Err(e.clone()));
                continue;
            }
        };
        if let Err(e) = known.check(record_refs(&record.fields), RefFields::RECORD) {
            plan.outcomes.push(Err(e));
            continue;
        }
        let ext = record.external_id.as_deref();
        if let Some(id) = ext.and_then(|e| by_external.get(e)) {
            plan.outcomes.push(Ok(Created::Same { id: id.clone(), by: MatchedBy::ExternalId, merged: Vec::new(), kept: Vec::new() }));
            continue;
        }
        let keys = KeySet::of(kind, &record.fields);
        let decision = if dedupe { decide(ext, &keys, &pool.relevant(ext, &keys), rule, ambiguous) } else { Decision::NoMatch };
        let outcome = match decision {
            Decision::Matched { id, by } => {
                // Only a stored record is linked: one this request creates has its own externalId.
                let candidate = pool.get(&id).filter(|c| c.is_stored());
                if let (Some(e), Some(c)) = (ext, candidate) {
                    if c.external_ids.is_empty() && linked.insert(id.clone()) {
                        plan.links.push(ExternalLink { id: id.clone(), external_id: e.to_string() });
                        by_external.insert(e.to_string(), id.clone());
                    }
                }
                // What the item carried is merged into the stored record it matched.
                let (fields, kept) = match (candidate, by) {
                    (Some(c), MatchedBy::Term(_)) => merge_into(settings, &mut merged, c, record),
                    _ => (Vec::new(), Vec::new()),
                };
                let kept_names = kept.iter().map(|k| k.field.clone()).collect();
                if !kept.is_empty() {
                    match plan.kept.iter_mut().find(|w| w.id == id) {
                        Some(write) => write.kept.extend(kept),
                        None => plan.kept.push(KeptWrite { id: id.clone(), kept }),
                    }
                }
                Ok(Created::Same { id, by, merged: fields, kept: kept_names })
            }
            Decision::Ambiguous { term, candidates } => Err(ItemError::ambiguous(format!(
                "{}; not created (candidates: {})",
                ambiguity_message(kind.collection(), &rule.terms()[term], &keys),
                candidates.join(", ")
            ))),
            Decision::NoMatch => {
                let id = new_id();
                if let Some(e) = ext {
                    by_external.insert(e.to_string(), id.clone());
                }
                pool.push(Candidate {
                    id: id.clone(),
                    keys: keys.clone(),
                    external_ids: record.external_id.iter().cloned().collect(),
                    updated_at: None,
                    ..Candidate::default()
                });
                let insert = RecordWrite::of(kind, id.clone(), record.external_id.clone(), record.fields.clone(), record.properties.clone())
                    .with_sent(record.sent.clone());
                plan.inserts.push(insert.with_last_activity(record.last_activity.clone()));
                plan.touched.push(keys);
                Ok(Created::New { id })
            }
        };
        plan.outcomes.push(outcome);
    }
    for (id, m) in merged {
        if m.changes.is_empty() {
            continue;
        }
        let mut write = RecordChange::rewrite(kind, id, &m.stored_fields, m.record.fields, m.record.properties, m.base, m.changes);
        write.record = write.record.with_last_activity(m.last_activity);
        plan.touched.push(KeySet::of(kind, &write.record.fields));
        plan.touched.push(m.old_keys);
        plan.merges.push(write);
    }
    if dedupe && !plan.writes_nothing() {
        let anchors = lookup_keys(rule, plan.touched.iter()).into_iter().map(|(f, k)| (f.name(), k)).collect();
        plan.guard = Some(KeyGuard { anchors, seen });
    }
    plan
}

/// A stored record as the merges of this request leave it.
struct Merged {
    record: StoredRecord,
    /// The fields as stored, before this request's merges.
    stored_fields: Map<String, Value>,
    base: String,
    old_keys: KeySet,
    last_activity: Option<String>,
    changes: Vec<Change>,
}

/// Merges `record` into the stored candidate `c` under `CREATE_MERGE` (on top of the earlier
/// items' merges), and answers the names of the fields it changed and the values it sent that
/// were kept out (with `none`, every value that differs from the stored one).
fn merge_into(settings: &CreateSettings<'_>, merged: &mut BTreeMap<String, Merged>, c: &Candidate, record: &NewRecord) -> (Vec<String>, Vec<Kept>) {
    let policy: BTreeMap<String, FieldPolicy> = match settings.merge {
        CreateMerge::None => record.fields.keys().chain(record.properties.keys()).map(|name| (name.clone(), FieldPolicy::Ignore)).collect(),
        CreateMerge::Overwrite => settings.policy.clone(),
        CreateMerge::FillEmpty => record
            .fields
            .keys()
            .chain(record.properties.keys())
            .map(|name| {
                let ignored = settings.policy.get(name) == Some(&FieldPolicy::Ignore);
                (name.clone(), if ignored { FieldPolicy::Ignore } else { FieldPolicy::FillEmpty })
            })
            .collect(),
    };
    let state = merged.entry(c.id.clone()).or_insert_with(|| Merged {
        record: c.stored(),
        stored_fields: c.fields.clone(),
        base: c.updated_at.clone().unwrap_or_default(),
        old_keys: c.keys.clone(),
        last_activity: None,
        changes: Vec::new(),
    });
    let update = RecordUpdate {
        crm_id: c.id.clone(),
        fields: record.fields.clone(),
        properties: record.properties.clone(),
        last_activity: None,
        external_id: None,
        sent: record.sent.clone(),
    };
    let applied = apply_update(&state.record, &update, &policy);
    if settings.merge == CreateMerge::None {
        return (Vec::new(), applied.kept);
    }
    let mut names: Vec<String> = applied.changes.iter().map(|ch| ch.field.clone()).collect();
    let current = state.last_activity.as_ref().or(c.last_activity_at.as_ref());
    if let Some(sent) = record.last_activity.as_ref().filter(|s| current.is_none_or(|d| d < *s)) {
        state.changes.push(Change { field: LAST_ACTIVITY.to_string(), old: current.map(|d| json!(d)), new: Some(json!(sent)), sent: None });
        state.last_activity = Some(sent.clone());
        names.push(LAST_ACTIVITY.to_string());
    }
    state.record.fields = applied.fields;
    state.record.properties = applied.properties;
    state.changes.extend(applied.changes);
    names.dedup();
    (names, applied.kept)
}

/// The answer of a create: `{results, errors}` in request order. `external_ids` are the items'
/// `externalId`s as sent; `resolved` maps a planned new id to the record that holds its
/// externalId after the write (another request may have created it meanwhile).
pub fn answer_create(rule: &MatchRule, plan: &CreatePlan, external_ids: &[Value], resolved: &HashMap<String, String>) -> Value {
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (i, outcome) in plan.outcomes.iter().enumerate() {
        let sent = external_ids.get(i).cloned().unwrap_or(Value::Null);
        // The results carry the externalId as stored: a number is sent back as its text.
        let ext = match &sent {
            Value::Number(n) => json!(n.to_string()),
            other => other.clone(),
        };
        let result = match outcome {
            Err(e) => {
                errors.push(Value::Object(e.located([("index", json!(i)), ("externalId", sent)])));
                continue;
            }
            Ok(Created::New { id }) => match resolved.get(id) {
                Some(actual) if actual != id => {
                    json!({"externalId": ext, "crmId": actual, "created": false, "matchedBy": "externalId"})
                }
                _ => json!({"externalId": ext, "crmId": id, "created": true}),
            },
            Ok(Created::Same { id, by, merged, kept }) => {
                let id = resolved.get(id).unwrap_or(id);
                let mut result = json!({"externalId": ext, "crmId": id, "created": false, "matchedBy": by.label(rule)});
                if !merged.is_empty() {
                    result["updatedFields"] = json!(merged);
                }
                if !kept.is_empty() {
                    result["keptFields"] = json!(kept);
                }
                result
            }
        };
        results.push(result);
    }
    json!({ "results": results, "errors": errors })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::matching::MatchField;
    use crate::domain::record::parse_new;
    use serde_json::json;

    fn items(kind: RecordKind, values: Value) -> Vec<Result<NewRecord, ItemError>> {
        values.as_array().unwrap().iter().map(|v| parse_new(kind, v)).collect()
    }

    fn ids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("co_new{n}")
        }
    }

    /// A stored company holding the domain of its key, as a stored record does.
    fn stored(id: &str, keys: &[(MatchField, &str)], ext: &[&str]) -> Candidate {
        let domain = keys.iter().find(|(f, _)| *f == MatchField::Domain).map(|(_, k)| json!({"domain": k}));
        Candidate {
            id: id.into(),
            keys: KeySet::new(keys.iter().map(|(f, k)| (*f, k.to_string()))),
            external_ids: ext.iter().map(|e| e.to_string()).collect(),
            updated_at: Some("2024-01-01T00:00:00.000Z".into()),
            fields: domain.and_then(|d| d.as_object().cloned()).unwrap_or_default(),
            ..Candidate::default()
        }
    }

    fn companies(dedupe: bool) -> (MatchRule, AmbiguousMatch, bool) {
        (MatchRule::parse(RecordKind::Company, "domain").unwrap(), AmbiguousMatch::Pick, dedupe)
    }

    fn plan(rule: &MatchRule, dedupe: bool, ambiguous: AmbiguousMatch, body: Value, candidates: Vec<Candidate>, known: &Known) -> CreatePlan {
        let none = BTreeMap::new();
        let settings = CreateSettings { kind: RecordKind::Company, rule, dedupe, ambiguous, merge: CreateMerge::None, policy: &none };
        plan_create(&settings, &items(RecordKind::Company, body), candidates, known, ids())
    }

    fn merging(merge: CreateMerge, policy: &BTreeMap<String, FieldPolicy>, body: Value, candidates: Vec<Candidate>) -> CreatePlan {
        let rule = MatchRule::parse(RecordKind::Company, "domain").unwrap();
        let settings = CreateSettings { kind: RecordKind::Company, rule: &rule, dedupe: true, ambiguous: AmbiguousMatch::Pick, merge, policy };
        plan_create(&settings, &items(RecordKind::Company, body), candidates, &Known::default(), ids())
    }

    fn acme() -> Candidate {
        let mut c = stored("co_old", &[(MatchField::Domain, "acme.com")], &[]);
        c.fields = json!({"name": "Acme", "domain": "acme.com", "industry": ""}).as_object().unwrap().clone();
        c
    }

    #[test]
    fn what_a_deduplicated_export_carries_is_merged_into_the_stored_record() {
        let body = json!([
            {"externalId": "e1", "domain": "acme.com", "name": "ACME Inc", "industry": "Software", "tier": "gold"},
            {"externalId": "e2", "domain": "acme.com", "employeeCount": 50, "industry": "Retail"},
        ]);
        let p = merging(CreateMerge::FillEmpty, &BTreeMap::new(), body.clone(), vec![acme()]);
        assert!(p.inserts.is_empty());
        assert_eq!(p.merges.len(), 1, "two items, one stored record: one write");
        let m = &p.merges[0];
        assert_eq!((m.record.id.as_str(), m.base.as_str()), ("co_old", "2024-01-01T00:00:00.000Z"));
        assert_eq!(m.record.fields["name"], "Acme", "a filled field is kept");
        assert_eq!(m.record.fields["industry"], "Software", "an empty one is filled, by the first item");
        assert_eq!(m.record.fields["employeeCount"], 50);
        assert_eq!(m.record.properties["tier"], "gold");
        assert_eq!(p.outcomes[0], Ok(Created::Same { id: "co_old".into(), by: MatchedBy::Term(0), merged: vec!["industry".into(), "properties.tier".into()], kept: vec!["name".into()] }));
        assert!(matches!(&p.outcomes[1], Ok(Created::Same { merged, kept, .. }) if merged == &vec!["employeeCount".to_string()] && kept == &vec!["industry".to_string()]));
        let a = answer_create(&MatchRule::parse(RecordKind::Company, "domain").unwrap(), &p, &[json!("e1"), json!("e2")], &HashMap::new());
        assert_eq!(a["results"][0]["updatedFields"], json!(["industry", "properties.tier"]));
        // overwrite: the update's policy; none: nothing.
        let p = merging(CreateMerge::Overwrite, &BTreeMap::new(), body.clone(), vec![acme()]);
        assert_eq!(p.merges[0].record.fields["industry"], "Retail");
        assert_eq!(p.merges[0].record.fields["name"], "ACME Inc");
        let ignore: BTreeMap<String, FieldPolicy> = [("industry".to_string(), FieldPolicy::Ignore)].into();
        let p = merging(CreateMerge::FillEmpty, &ignore, body.clone(), vec![acme()]);
        assert_eq!(p.merges[0].record.fields["industry"], "", "FIELD_POLICY ignore holds for merges too");
        let p = merging(CreateMerge::None, &BTreeMap::new(), body, vec![acme()]);
        assert!(p.merges.is_empty());
    }

    #[test]
    fn a_match_by_external_id_or_with_nothing_new_merges_nothing() {
        let mut linked = acme();
        linked.external_ids = vec!["e1".into()];
        let p = merging(CreateMerge::FillEmpty, &BTreeMap::new(), json!([{"externalId": "e1", "industry": "Software"}]), vec![linked]);
        assert!(p.merges.is_empty() && p.kept.is_empty(), "an externalId names the record; it is not an export to merge");
        assert!(p.writes_nothing());
        let p = merging(CreateMerge::FillEmpty, &BTreeMap::new(), json!([{"domain": "acme.com", "name": "Acme"}]), vec![acme()]);
        assert!(p.writes_nothing(), "the values sent are the stored ones");
    }

    #[test]
    fn a_value_sent_and_kept_out_is_answered_and_written_to_history_never_dropped() {
        let rule = MatchRule::parse(RecordKind::Company, "domain").unwrap();
        let body = json!([{"externalId": "e1", "domain": "https://www.acme.com/", "name": "Other name", "industry": "Fintech"}]);
        let p = merging(CreateMerge::FillEmpty, &BTreeMap::new(), body.clone(), vec![acme()]);
        // The domain is the stored one; the empty industry is filled; the name stays and is kept.
        assert_eq!(p.outcomes[0], Ok(Created::Same { id: "co_old".into(), by: MatchedBy::Term(0), merged: vec!["industry".into()], kept: vec!["name".into()] }));
        assert_eq!(p.kept, vec![KeptWrite { id: "co_old".into(), kept: vec![Kept { field: "name".into(), stored: Some(json!("Acme")), sent: json!("Other name") }] }]);
        let a = answer_create(&rule, &p, &[json!("e1")], &HashMap::new());
        assert_eq!(a["results"][0]["keptFields"], json!(["name"]));
        assert_eq!(a["results"][0]["updatedFields"], json!(["industry"]));
        // Only kept values: nothing merged, and still written (to history).
        let p = merging(CreateMerge::FillEmpty, &BTreeMap::new(), json!([{"domain": "acme.com", "name": "Other name"}]), vec![acme()]);
        assert!(p.merges.is_empty() && !p.writes_nothing());
        // CREATE_MERGE=none merges nothing and keeps every value that differs.
        let p = merging(CreateMerge::None, &BTreeMap::new(), body, vec![acme()]);
        assert!(p.merges.is_empty());
        let kept: Vec<&str> = p.kept[0].kept.iter().map(|k| k.field.as_str()).collect();
        assert_eq!(kept, vec!["industry", "name"]);
        // Two items kept out of one record: one write for the record.
        let two = json!([{"domain": "acme.com", "name": "One"}, {"domain": "acme.com", "name": "Two"}]);
        let p = merging(CreateMerge::FillEmpty, &BTreeMap::new(), two, vec![acme()]);
        assert_eq!(p.kept.len(), 1);
        assert_eq!(p.kept[0].kept.iter().map(|k| k.sent.clone()).collect::<Vec<_>>(), vec![json!("One"), json!("Two")]);
    }

    #[test]
    fn duplicates_inside_one_request_become_one_record() {
        let (rule, amb, dedupe) = companies(true);
        let body = json!([
            {"externalId": "e1", "name": "Acme", "domain": "acme.com"},
            {"externalId": "e2", "name": "Acme Inc", "domain": "https://www.acme.com/about"},
            {"externalId": "e1", "name": "Other", "domain": "other.com"},
        ]);
        let p = plan(&rule, dedupe, amb, body, vec![], &Known::default());
        assert_eq!(p.inserts.len(), 1);
        assert_eq!(p.outcomes[0], Ok(Created::New { id: "co_new1".into() }));
        assert_eq!(p.outcomes[1], Ok(Created::Same { id: "co_new1".into(), by: MatchedBy::Term(0), merged: vec![], kept: vec![] }), "same domain");
        assert_eq!(p.outcomes[2], Ok(Created::Same { id: "co_new1".into(), by: MatchedBy::ExternalId, merged: vec![], kept: vec![] }), "same externalId");
        assert!(p.links.is_empty(), "a record this request creates is never linked again");
    }

    #[test]
    fn without_dedupe_every_item_is_new_except_a_repeated_external_id() {
        let (rule, amb, _) = companies(false);
        let body = json!([{"externalId": "e1", "domain": "acme.com"}, {"domain": "acme.com"}, {"externalId": "e1"}]);
        let p = plan(&rule, false, amb, body, vec![stored("co_old", &[(MatchField::Domain, "acme.com")], &[])], &Known::default());
        assert_eq!(p.inserts.len(), 2);
        assert!(p.guard.is_none(), "no dedupe, no guard");
        assert!(matches!(p.outcomes[2], Ok(Created::Same { by: MatchedBy::ExternalId, .. })));
    }

    #[test]
    fn a_stored_match_is_linked_once_to_the_first_external_id() {
        let (rule, amb, dedupe) = companies(true);
        let body = json!([{"externalId": "e1", "domain": "acme.com"}, {"externalId": "e2", "domain": "acme.com"}]);
        let p = plan(&rule, dedupe, amb, body, vec![stored("co_old", &[(MatchField::Domain, "acme.com")], &[])], &Known::default());
        assert!(p.inserts.is_empty());
        assert_eq!(p.links, vec![ExternalLink { id: "co_old".into(), external_id: "e1".into() }]);
        assert_eq!(p.outcomes[1], Ok(Created::Same { id: "co_old".into(), by: MatchedBy::Term(0), merged: vec![], kept: vec![] }));
        assert_eq!(
            p.refs(RecordKind::Company),
            vec![Refs { contact: None, company: Some("co_old"), owner: None }],
            "the write re-checks that the record it links is still live"
        );
        // Already linked to some externalId: matched, never re-linked.
        let body = json!([{"externalId": "e3", "domain": "acme.com"}]);
        let p = plan(&rule, dedupe, amb, body, vec![stored("co_old", &[(MatchField::Domain, "acme.com")], &["e0"])], &Known::default());
        assert!(p.links.is_empty());
        assert!(p.guard.is_none(), "nothing written, nothing guarded");
    }

    #[test]
    fn the_guard_anchors_the_new_keys_and_names_the_candidates_seen() {
        let (rule, amb, dedupe) = companies(true);
        let body = json!([{"domain": "new.com"}, {"name": "No keys"}]);
        let p = plan(&rule, dedupe, amb, body, vec![stored("co_x", &[(MatchField::Domain, "x.com")], &[])], &Known::default());
        let guard = p.guard.expect("dedupe on and records written");
        assert_eq!(guard.anchors, vec![("domain", "new.com".to_string())]);
        assert_eq!(guard.seen, vec!["co_x".to_string()]);
    }

    #[test]
    fn ambiguity_is_an_item_error_in_error_mode() {
        let rule = MatchRule::parse(RecordKind::Company, "domain").unwrap();
        let two = vec![stored("co_b", &[(MatchField::Domain, "acme.com")], &[]), stored("co_a", &[(MatchField::Domain, "acme.com")], &[])];
        let p = plan(&rule, true, AmbiguousMatch::Error, json!([{"domain": "acme.com"}]), two, &Known::default());
        let err = p.outcomes[0].clone().unwrap_err();
        assert_eq!(err.code.as_str(), "ambiguous");
        assert!(err.message.ends_with("not created (candidates: co_a, co_b)"), "{}", err.message);
        assert!(p.inserts.is_empty());
    }

    #[test]
    fn an_unknown_owner_or_parent_fails_its_item_only() {
        let (rule, amb, dedupe) = companies(true);
        let known = Known { companies: ["co_parent".to_string()].into(), users_exist: true, owners: ["us_1".to_string()].into(), ..Known::default() };
        let body = json!([
            {"domain": "a.com", "ownerId": "us_gone"},
            {"domain": "b.com", "parentCrmId": "co_gone"},
            {"domain": "c.com", "parentCrmId": "co_parent", "ownerId": "us_1"},
        ]);
        let p = plan(&rule, dedupe, amb, body, vec![], &known);
        let codes: Vec<_> = p.outcomes.iter().map(|o| o.as_ref().err().map(|e| (e.code.as_str(), e.field.clone().unwrap()))).collect();
        assert_eq!(codes[0], Some(("not_found", "ownerId".into())));
        assert_eq!(codes[1], Some(("not_found", "parentCrmId".into())));
        assert_eq!(codes[2], None);
        assert_eq!(p.refs(RecordKind::Company), vec![Refs { contact: None, company: Some("co_parent"), owner: Some("us_1") }]);
    }

    #[test]
    fn the_answer_keeps_request_order_and_reports_a_lost_race_as_a_match() {
        let (rule, amb, dedupe) = companies(true);
        let body = json!([{"externalId": 7, "domain": "a.com"}, {"externalId": "e2", "domain": "nope"}, 5]);
        let mut p = plan(&rule, dedupe, amb, body.clone(), vec![], &Known::default());
        p.outcomes[1] = Ok(Created::Same { id: "co_new1".into(), by: MatchedBy::Term(0), merged: vec![], kept: vec![] });
        let sent: Vec<Value> = body.as_array().unwrap().iter().map(|v| v.get("externalId").cloned().unwrap_or(Value::Null)).collect();
        let resolved: HashMap<String, String> = [("co_new1".to_string(), "co_theirs".to_string())].into();
        let a = answer_create(&rule, &p, &sent, &resolved);
        assert_eq!(a["results"][0], json!({"externalId": "7", "crmId": "co_theirs", "created": false, "matchedBy": "externalId"}));
        assert_eq!(a["results"][1]["crmId"], "co_theirs");
        assert_eq!((a["errors"][0]["index"].as_u64(), a["errors"][0]["code"].as_str()), (Some(2), Some("invalid")));
        let fresh = answer_create(&rule, &p, &sent, &HashMap::new());
        assert_eq!(fresh["results"][0], json!({"externalId": "7", "crmId": "co_new1", "created": true}));
    }
}
