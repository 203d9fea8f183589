//! `POST /{kind}/sync`: which incoming records already exist.
//!
//! Each item is decided against the candidates (see [`decide`]). A matched record that has no
//! externalId yet is linked to the first incoming externalId that found it, so later calls match
//! by link. With `MATCH_TO_PARENT`, a matched company that has a parent answers with the parent
//! (`crmId` the parent's, `matchedRecordId` the match's); parents that were not among the
//! candidates are read with one more statement.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::ExternalLink;
use crate::domain::config::AmbiguousMatch;
use crate::domain::error::ItemError;
use crate::domain::matching::MatchRule;
use crate::domain::record::{sync_back, KeySet, NewRecord, RecordKind, LAST_ACTIVITY};
use crate::domain::sync::{ambiguity_message, decide, Candidate, CandidatePool, Decision, MatchedBy};

/// What a sync item is matched by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncItem {
    pub external_id: Option<String>,
    pub keys: KeySet,
}

impl SyncItem {
    pub fn of(kind: RecordKind, record: &NewRecord) -> SyncItem {
        SyncItem { external_id: record.external_id.clone(), keys: KeySet::of(kind, &record.fields) }
    }
}

/// What one sync item is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synced {
    /// A stored record: `id`, and what matched it.
    Matched { id: String, by: MatchedBy },
    /// Several records match (`AMBIGUOUS_MATCH=error`): the error and the candidates' ids.
    Ambiguous { error: ItemError, candidates: Vec<String> },
    NoMatch,
}

#[derive(Debug)]
pub struct SyncPlan {
    /// One per item, in request order.
    pub outcomes: Vec<Result<Synced, ItemError>>,
    pub links: Vec<ExternalLink>,
    /// Parents to answer with that are not among the candidates: the store reads them.
    pub parents_to_read: Vec<String>,
    pool: CandidatePool,
}

impl SyncPlan {
    /// The candidates it decided on.
    pub fn candidates(&self) -> &[Candidate] {
        self.pool.all()
    }
}

/// Decides every item against the candidates.
pub fn plan_sync(
    kind: RecordKind,
    items: &[Result<SyncItem, ItemError>],
    candidates: Vec<Candidate>,
    rule: &MatchRule,
    ambiguous: AmbiguousMatch,
    match_to_parent: bool,
) -> SyncPlan {
    let pool = CandidatePool::new(candidates);
    let outcomes: Vec<Result<Synced, ItemError>> = items
        .iter()
        .map(|item| {
            let item = item.as_ref().map_err(Clone::clone)?;
            let ext = item.external_id.as_deref();
            Ok(match decide(ext, &item.keys, &pool.relevant(ext, &item.keys), rule, ambiguous) {
                Decision::Matched { id, by } => Synced::Matched { id, by },
                Decision::NoMatch => Synced::NoMatch,
                Decision::Ambiguous { term, candidates } => Synced::Ambiguous {
                    error: ItemError::ambiguous(ambiguity_message(kind.collection(), &rule.terms()[term], &item.keys)),
                    candidates,
                },
            })
        })
        .collect();

    let mut links = Vec::new();
    // Each record gets one link, and each externalId one record: a sync that sends the same
    // externalId with two items matching two records links the first only.
    let mut linked: HashSet<&str> = HashSet::new();
    let mut taken: HashSet<&str> = HashSet::new();
    let mut parents = Vec::new();
    let mut wanted: HashSet<&str> = HashSet::new();
    for (item, outcome) in items.iter().zip(&outcomes) {
        let (Ok(item), Ok(Synced::Matched { id, .. })) = (item, outcome) else { continue };
        let matched = pool.get(id).expect("a match is a candidate");
        if let Some(ext) = &item.external_id {
            if matched.external_ids.is_empty() && !linked.contains(id.as_str()) && taken.insert(ext.as_str()) {
                linked.insert(id.as_str());
                links.push(ExternalLink { id: id.clone(), external_id: ext.clone() });
            }
        }
        if match_to_parent {
            if let Some(parent) = matched.parent_id.as_deref() {
                if pool.get(parent).is_none() && wanted.insert(parent) {
                    parents.push(parent.to_string());
                }
            }
        }
    }
    SyncPlan { outcomes, links, parents_to_read: parents, pool }
}

/// The answer of a sync: `{results, errors}`, results holding only the matched items, each with
/// the fields Enginy syncs back (`only`: `SYNC_BACK_FIELDS_*`, all by default). `external_ids`
/// are the items' `externalId`s as sent; `parents` the parents the store read.
pub fn answer_sync(
    kind: RecordKind,
    rule: &MatchRule,
    plan: &SyncPlan,
    external_ids: &[Value],
    parents: &[Candidate],
    match_to_parent: bool,
    only: Option<&[String]>,
) -> Value {
    let read: HashMap<&str, &Candidate> = parents.iter().map(|p| (p.id.as_str(), p)).collect();
    let parent_of = |c: &Candidate| -> Option<Candidate> {
        let id = c.parent_id.as_deref().filter(|_| match_to_parent && kind == RecordKind::Company)?;
        plan.pool.get(id).or_else(|| read.get(id).copied()).cloned()
    };
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (i, outcome) in plan.outcomes.iter().enumerate() {
        let sent = external_ids.get(i).cloned().unwrap_or(Value::Null);
        let error = |e: &ItemError| e.located([("index", json!(i)), ("externalId", sent.clone())]);
        match outcome {
            Err(e) => errors.push(Value::Object(error(e))),
            Ok(Synced::NoMatch) => {}
            Ok(Synced::Ambiguous { error: e, candidates }) => {
                let mut entry = error(e);
                entry.insert("candidates".into(), json!(candidates));
                errors.push(Value::Object(entry));
            }
            Ok(Synced::Matched { id, by }) => {
                let matched = plan.pool.get(id).expect("a match is a candidate");
                let parent = parent_of(matched);
                let answered = parent.as_ref().unwrap_or(matched);
                let mut result = json!({
                    "externalId": sent,
                    "crmId": answered.id,
                    "matchedBy": by.label(rule),
                    "properties": properties(kind, answered, only),
                });
                if parent.is_some() {
                    result["matchedRecordId"] = json!(id);
                }
                results.push(result);
            }
        }
    }
    json!({ "results": results, "errors": errors })
}

/// What a sync sends back of a record: its stored fields (see [`sync_back`]), then what the CRM
/// itself knows: `ownerId` with `ownerName` and `ownerEmail` when the owner is a stored user, and
/// the computed `lastActivityDate`. By default all of them; with a `SYNC_BACK_FIELDS_*` list,
/// those it names. Never an empty value: Enginy clears a field it receives empty.
fn properties(kind: RecordKind, record: &Candidate, only: Option<&[String]>) -> Map<String, Value> {
    let mut out = sync_back(kind, &record.fields, &record.properties, only);
    let owner = record.owner.as_ref();
    let known = [
        ("ownerId", record.fields.get("ownerId").and_then(Value::as_str).map(str::to_string)),
        ("ownerName", owner.and_then(|o| o.name.clone())),
        ("ownerEmail", owner.and_then(|o| o.email.clone())),
        (LAST_ACTIVITY, record.last_activity_at.clone()),
    ];
    for (name, value) in known {
        let wanted = only.is_none_or(|names| names.iter().any(|n| n == name));
        if let Some(value) = value.filter(|v| wanted && !v.trim().is_empty()) {
            out.insert(name.to_string(), Value::String(value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::matching::MatchField;
    use serde_json::json;

    fn item(ext: Option<&str>, keys: &[(MatchField, &str)]) -> Result<SyncItem, ItemError> {
        Ok(SyncItem { external_id: ext.map(str::to_string), keys: KeySet::new(keys.iter().map(|(f, k)| (*f, k.to_string()))) })
    }

    fn company(id: &str, domain: &str, ext: &[&str], parent: Option<&str>) -> Candidate {
        let mut fields = Map::new();
        fields.insert("name".into(), json!(format!("Name of {id}")));
        Candidate {
            id: id.into(),
            keys: KeySet::new([(MatchField::Domain, domain.to_string())]),
            external_ids: ext.iter().map(|e| e.to_string()).collect(),
            updated_at: Some("2024-01-01T00:00:00.000Z".into()),
            parent_id: parent.map(str::to_string),
            fields,
            ..Candidate::default()
        }
    }

    fn rule() -> MatchRule {
        MatchRule::parse(RecordKind::Company, "domain").unwrap()
    }

    #[test]
    fn an_unlinked_match_is_linked_once_to_the_first_external_id() {
        let items = vec![item(Some("e1"), &[(MatchField::Domain, "acme.com")]), item(Some("e2"), &[(MatchField::Domain, "acme.com")]), item(None, &[(MatchField::Domain, "beta.com")])];
        let candidates = vec![company("co_a", "acme.com", &[], None), company("co_b", "beta.com", &[], None)];
        let plan = plan_sync(RecordKind::Company, &items, candidates, &rule(), AmbiguousMatch::Pick, false);
        assert_eq!(plan.links, vec![ExternalLink { id: "co_a".into(), external_id: "e1".into() }]);
        assert!(matches!(&plan.outcomes[1], Ok(Synced::Matched { id, .. }) if id == "co_a"));
        let linked = vec![company("co_a", "acme.com", &["e0"], None)];
        let plan = plan_sync(RecordKind::Company, &items[..1], linked, &rule(), AmbiguousMatch::Pick, false);
        assert!(plan.links.is_empty(), "a record with an externalId is not linked again");
    }

    #[test]
    fn one_external_id_sent_for_two_records_links_the_first_only() {
        let items = vec![item(Some("e9"), &[(MatchField::Domain, "acme.com")]), item(Some("e9"), &[(MatchField::Domain, "beta.com")]), item(Some("e3"), &[(MatchField::Domain, "beta.com")])];
        let candidates = vec![company("co_a", "acme.com", &[], None), company("co_b", "beta.com", &[], None)];
        let plan = plan_sync(RecordKind::Company, &items, candidates, &rule(), AmbiguousMatch::Pick, false);
        assert_eq!(
            plan.links,
            vec![ExternalLink { id: "co_a".into(), external_id: "e9".into() }, ExternalLink { id: "co_b".into(), external_id: "e3".into() }],
            "e9 links co_a only; co_b, still unlinked, takes the next externalId sent for it"
        );
        assert!(matches!(&plan.outcomes[1], Ok(Synced::Matched { id, .. }) if id == "co_b"), "the item is still answered its match");
    }

    #[test]
    fn match_to_parent_answers_with_the_parent_and_reads_only_missing_parents() {
        let items = vec![item(Some("e1"), &[(MatchField::Domain, "child.com")]), item(Some("e2"), &[(MatchField::Domain, "other.com")])];
        let candidates = vec![company("co_child", "child.com", &[], Some("co_parent")), company("co_other", "other.com", &[], Some("co_here"))];
        let mut with_here = candidates.clone();
        with_here.push(company("co_here", "here.com", &[], None));
        let plan = plan_sync(RecordKind::Company, &items, with_here, &rule(), AmbiguousMatch::Pick, true);
        assert_eq!(plan.parents_to_read, vec!["co_parent".to_string()], "co_here was among the candidates");
        let parent = Candidate { id: "co_parent".into(), fields: json!({"name": "Parent"}).as_object().unwrap().clone(), ..Default::default() };
        let sent = vec![json!("e1"), json!("e2")];
        let a = answer_sync(RecordKind::Company, &rule(), &plan, &sent, &[parent], true, None);
        assert_eq!((a["results"][0]["crmId"].as_str(), a["results"][0]["matchedRecordId"].as_str()), (Some("co_parent"), Some("co_child")));
        assert_eq!(a["results"][0]["properties"]["name"], "Parent");
        assert_eq!(a["results"][1]["crmId"], "co_here");
        let off = plan_sync(RecordKind::Company, &items, candidates, &rule(), AmbiguousMatch::Pick, false);
        assert!(off.parents_to_read.is_empty());
        let a = answer_sync(RecordKind::Company, &rule(), &off, &sent, &[], false, None);
        assert_eq!(a["results"][0]["crmId"], "co_child");
        assert!(a["results"][0].get("matchedRecordId").is_none());
    }

    #[test]
    fn the_owner_and_the_last_activity_date_are_synced_back() {
        let mut c = company("co_a", "acme.com", &[], None);
        c.fields.insert("ownerId".into(), json!("us_1"));
        c.owner = Some(crate::domain::sync::Owner { name: Some("Ana".into()), email: Some("ana@x.test".into()) });
        c.last_activity_at = Some("2024-02-01T00:00:00.000Z".into());
        let items = vec![item(None, &[(MatchField::Domain, "acme.com")])];
        let plan = plan_sync(RecordKind::Company, &items, vec![c], &rule(), AmbiguousMatch::Pick, false);
        let a = answer_sync(RecordKind::Company, &rule(), &plan, &[json!(null)], &[], false, None);
        let p = &a["results"][0]["properties"];
        assert_eq!((p["ownerId"].as_str(), p["ownerName"].as_str(), p["ownerEmail"].as_str()), (Some("us_1"), Some("Ana"), Some("ana@x.test")));
        assert_eq!(p["lastActivityDate"], "2024-02-01T00:00:00.000Z");
        let only = vec!["name".to_string(), "lastActivityDate".to_string()];
        let a = answer_sync(RecordKind::Company, &rule(), &plan, &[json!(null)], &[], false, Some(&only));
        assert_eq!(a["results"][0]["properties"], json!({"name": "Name of co_a", "lastActivityDate": "2024-02-01T00:00:00.000Z"}));
    }

    #[test]
    fn ambiguity_and_bad_items_are_errors_and_no_match_is_silent() {
        let items = vec![
            item(None, &[(MatchField::Domain, "acme.com")]),
            Err(ItemError::invalid("domain", "expected a string, got a number")),
            item(None, &[(MatchField::Domain, "nobody.com")]),
        ];
        let candidates = vec![company("co_b", "acme.com", &[], None), company("co_a", "acme.com", &[], None)];
        let plan = plan_sync(RecordKind::Company, &items, candidates, &rule(), AmbiguousMatch::Error, false);
        let a = answer_sync(RecordKind::Company, &rule(), &plan, &[json!(1), json!(2), json!(3)], &[], false, None);
        assert_eq!(a["results"], json!([]));
        assert_eq!(a["errors"][0]["code"], "ambiguous");
        assert_eq!(a["errors"][0]["candidates"], json!(["co_a", "co_b"]));
        assert_eq!(a["errors"][0]["error"], "Multiple companies match domain acme.com");
        assert_eq!((a["errors"][1]["index"].as_u64(), a["errors"][1]["field"].as_str()), (Some(1), Some("domain")));
        assert_eq!(a["errors"].as_array().unwrap().len(), 2);
    }
}
