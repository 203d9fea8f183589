//! `POST /{kind}/sync` (API.md §4, §5): which incoming records already exist.
//!
//! One statement loads every candidate (records linked to an incoming externalId or sharing an
//! anchor key), the pure core decides, and one batch links matched records that had no
//! externalId yet. Two statements whatever the batch size (three with `MATCH_TO_PARENT` when a
//! parent was not among the candidates).

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use super::context::{now, store_error, HandlerResult};
use super::records::record_error;
use super::respond::{self, object};
use super::Ctx;
use crate::domain::error::ApiError;
use crate::domain::matching::MatchField;
use crate::domain::record::{parse_new, sync_back, KeySet, RecordKind, StoredRecord};
use crate::domain::request::batch_items;
use crate::domain::sync::{
    ambiguity_message, cache_entries, cache_key, decide, lookup_keys, Candidate, CandidatePool, Decision,
};
use crate::store::d1::CandidateRow;


fn candidate(row: &CandidateRow) -> Candidate {
    let pairs: Vec<(String, String)> = serde_json::from_str(&row.keys).unwrap_or_default();
    Candidate {
        id: row.id.clone(),
        keys: KeySet::new(pairs.into_iter().filter_map(|(f, k)| MatchField::from_name(&f).map(|f| (f, k)))),
        external_ids: serde_json::from_str(&row.external_ids).unwrap_or_default(),
        updated_at: row.updated_at.clone(),
    }
}

/// The candidates for a batch of incoming records: every live record linked to one of their
/// externalIds or sharing one of their anchor keys. One statement; with the match cache on, the
/// cached ids of those keys join the statement as hints and the cache is refreshed afterwards.
pub(super) async fn load_candidates(
    ctx: &Ctx<'_>,
    kind: RecordKind,
    external_ids: &[&str],
    keys: &[&KeySet],
) -> Result<Vec<CandidateRow>, ApiError> {
    let rule = ctx.config.match_rule(kind.match_kind());
    let lookups = lookup_keys(rule, keys.iter().copied());
    if external_ids.is_empty() && lookups.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<Option<String>> = lookups.iter().map(|(f, k)| cache_key(kind.key_kind(), *f, k)).collect();
    let cached = match &ctx.cache {
        Some(cache) => cache.read(&names.iter().flatten().cloned().collect::<Vec<_>>()).await,
        None => HashMap::new(),
    };
    let (found, looked_up) = ctx.cache_use.get();
    ctx.cache_use.set((found + cached.len(), looked_up + names.iter().flatten().count()));
    let hinted: HashSet<&String> = cached.values().flatten().collect();
    let pairs: Vec<Value> = lookups.iter().map(|(f, k)| json!([f.name(), k])).collect();
    let rows = ctx
        .store
        .candidates(kind, &json!(external_ids).to_string(), &Value::Array(pairs).to_string(), &json!(hinted).to_string())
        .await
        .map_err(store_error)?;
    if let Some(cache) = &ctx.cache {
        // Refresh the entries that were missing or differ from the database's answer.
        let truth = cache_entries(&lookups, &candidates_of(&rows));
        let changed: Vec<(String, Vec<String>)> = truth
            .into_iter()
            .zip(names)
            .filter_map(|((_, ids), name)| {
                let name = name?;
                (cached.get(&name) != Some(&ids)).then_some((name, ids))
            })
            .collect();
        cache.write_later(ctx.worker, changed);
    }
    Ok(rows)
}

/// Forgets the cache entries of these keys: a write changed who holds them.
pub(super) fn forget_keys<'a>(ctx: &Ctx<'_>, kind: RecordKind, keys: impl Iterator<Item = &'a KeySet>) {
    if let Some(cache) = &ctx.cache {
        let names: HashSet<String> = keys
            .flat_map(|k| k.as_slice().iter().filter_map(|(f, key)| cache_key(kind.key_kind(), *f, key)))
            .collect();
        cache.forget_later(ctx.worker, names.into_iter().collect());
    }
}

pub(super) fn candidates_of(rows: &[CandidateRow]) -> Vec<Candidate> {
    rows.iter().map(candidate).collect()
}

pub async fn sync(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    let body = ctx.body.as_ref().expect("route takes a body");
    let items = batch_items(body, kind.collection(), ctx.config.max_batch)?;
    let rule = ctx.config.match_rule(kind.match_kind());
    let parsed: Vec<_> = items
        .iter()
        .map(|item| parse_new(kind, item).map(|r| {
            let keys = KeySet::of(kind, &r.fields);
            (r.external_id, keys)
        }))
        .collect();
    let valid: Vec<&(Option<String>, KeySet)> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
    let external_ids: Vec<&str> = valid.iter().filter_map(|(e, _)| e.as_deref()).collect();
    let keysets: Vec<&KeySet> = valid.iter().map(|(_, k)| k).collect();
    let rows = load_candidates(ctx, kind, &external_ids, &keysets).await?;
    let pool = CandidatePool::new(candidates_of(&rows));
    let by_id: HashMap<&str, &CandidateRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();

    let mut decisions = Vec::with_capacity(parsed.len());
    for p in &parsed {
        decisions.push(p.as_ref().map(|(ext, keys)| {
            decide(ext.as_deref(), keys, &pool.relevant(ext.as_deref(), keys), rule, ctx.config.ambiguous_match)
        }));
    }

    // MATCH_TO_PARENT: a matched company with a parent answers with the parent.
    let mut parents: HashMap<String, StoredRecord> = HashMap::new();
    if kind == RecordKind::Company && ctx.config.match_to_parent {
        let wanted: Vec<&str> = decisions
            .iter()
            .filter_map(|d| match d {
                Ok(Decision::Matched { id, .. }) => by_id.get(id.as_str()).and_then(|r| r.parent_id.as_deref()),
                _ => None,
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !wanted.is_empty() {
            let rows = ctx.store.by_ids(kind, &json!(wanted).to_string()).await.map_err(store_error)?;
            for r in rows {
                parents.insert(
                    r.id.clone(),
                    StoredRecord { id: r.id.clone(), fields: object(&r.fields), properties: object(&r.properties) },
                );
            }
        }
    }

    // Link each matched record that has no externalId to the first incoming one that found it.
    let mut links = Vec::new();
    let mut linked: HashSet<&str> = HashSet::new();
    for (p, d) in parsed.iter().zip(&decisions) {
        if let (Ok((Some(ext), _)), Ok(Decision::Matched { id, .. })) = (p, d) {
            let unlinked = pool.get(id).is_some_and(|c| c.external_ids.is_empty());
            if unlinked && linked.insert(id.as_str()) {
                links.push(json!({"id": id, "externalId": ext}));
            }
        }
    }
    if !links.is_empty() {
        ctx.store
            .link_external(kind, &Value::Array(links).to_string(), &now(), ctx.request_id)
            .await
            .map_err(store_error)?;
    }

    let only = ctx.config.sync_back_fields(kind.match_kind());
    let plural = kind.collection();
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (i, (p, d)) in parsed.iter().zip(decisions).enumerate() {
        let external_id = items[i].get("externalId").cloned().unwrap_or(Value::Null);
        match (p, d) {
            (Err(e), _) => errors.push(record_error(i, items[i].get("externalId"), e)),
            (Ok(_), Err(_)) => unreachable!("a decision exists for every valid record"),
            (Ok(_), Ok(Decision::NoMatch)) => {}
            (Ok((_, keys)), Ok(Decision::Ambiguous { term, candidates })) => {
                let term = rule.terms().iter().find(|t| t.label() == term).expect("the term came from this rule");
                errors.push(json!({
                    "index": i,
                    "externalId": external_id,
                    "error": ambiguity_message(plural, term, keys),
                    "code": "ambiguous",
                    "candidates": candidates,
                }));
            }
            (Ok(_), Ok(Decision::Matched { id, matched_by })) => {
                let row = by_id[id.as_str()];
                let parent = row.parent_id.as_ref().and_then(|p| parents.get(p));
                let (crm_id, stored) = match parent {
                    Some(parent) => (parent.id.clone(), parent.clone()),
                    None => (id.clone(), StoredRecord { id: id.clone(), fields: object(&row.fields), properties: object(&row.properties) }),
                };
                let mut result = json!({
                    "externalId": external_id,
                    "crmId": crm_id,
                    "matchedBy": matched_by,
                    "properties": sync_back(kind, &stored, only),
                });
                if parent.is_some() {
                    result["matchedRecordId"] = json!(id);
                }
                results.push(result);
            }
        }
    }
    Ok(respond::json(&json!({ "results": results, "errors": errors }), 200))
}
