//! Contacts and companies (API.md §4): one code path for both kinds. Each handler validates with
//! the pure core, reads and writes through the store in a fixed number of statements, and shapes
//! the answer.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::context::{self, now, store_error, HandlerResult, WRITE_ATTEMPTS};
use super::respond::{self, object};
use super::{sync, Ctx};
use crate::domain::error::ApiError;
use crate::domain::feed::{encode_cursor, parse_limit, FeedQuery, DEFAULT_LIMIT, MAX_LIMIT};
use crate::domain::record::{
    apply_update, display_name, match_keys, parse_new, parse_update, search_text, to_wire, KeySet, RecordError,
    RecordKind, StoredRecord,
};
use crate::domain::sync::{ambiguity_message, decide, lookup_keys, Candidate, CandidatePool, Decision};
use crate::domain::request::{batch_ids, batch_items};
use crate::store::d1::{NewRecords, RecordRow, StoreError};


pub(super) fn stored(row: &RecordRow) -> StoredRecord {
    StoredRecord { id: row.id.clone(), fields: object(&row.fields), properties: object(&row.properties) }
}

fn wire(kind: RecordKind, row: &RecordRow) -> Value {
    let mut record = to_wire(
        kind,
        &row.id,
        row.external_id.as_deref(),
        &object(&row.fields),
        &object(&row.properties),
        &row.created_at,
        &row.updated_at,
    );
    record["lastActivityDate"] = json!(row.last_activity_at);
    record
}

pub(super) fn record_error(index: usize, external_id: Option<&Value>, err: &RecordError) -> Value {
    json!({
        "index": index,
        "externalId": external_id.cloned().unwrap_or(Value::Null),
        "error": err.message,
        "code": err.code,
        "field": err.field,
    })
}

fn str_field<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields.get(name).and_then(Value::as_str)
}

/// What the store's reference guard checks again at the write, for records whose fields passed
/// [`ReferenceCheck`]: the owner, and the parent company.
fn guarded_refs<'a>(records: impl Iterator<Item = &'a Map<String, Value>>) -> String {
    let refs: Vec<Value> =
        records.map(|f| json!({"owner": str_field(f, "ownerId"), "company": str_field(f, "parentCrmId")})).collect();
    Value::Array(refs).to_string()
}

/// The reference checks shared by create and update: `ownerId` must name a user while any exist,
/// `parentCrmId` a live company. One statement for the whole batch.
struct ReferenceCheck {
    users_exist: bool,
    owners: HashSet<String>,
    parents: HashSet<String>,
}

impl ReferenceCheck {
    async fn load<'a>(
        ctx: &Ctx<'_>,
        kind: RecordKind,
        records: impl Iterator<Item = &'a Map<String, Value>>,
    ) -> Result<ReferenceCheck, ApiError> {
        let mut owner_ids = Vec::new();
        let mut parent_ids = Vec::new();
        for fields in records {
            owner_ids.extend(str_field(fields, "ownerId"));
            parent_ids.extend(str_field(fields, "parentCrmId"));
        }
        if owner_ids.is_empty() && parent_ids.is_empty() {
            return Ok(ReferenceCheck { users_exist: false, owners: HashSet::new(), parents: HashSet::new() });
        }
        let found = ctx
            .store
            .references(kind, &json!(owner_ids).to_string(), &json!(parent_ids).to_string())
            .await
            .map_err(store_error)?;
        let set = |text: &str| -> HashSet<String> { serde_json::from_str(text).unwrap_or_default() };
        Ok(ReferenceCheck { users_exist: found.users > 0.0, owners: set(&found.owners), parents: set(&found.parents) })
    }

    fn check(&self, fields: &Map<String, Value>) -> Result<(), RecordError> {
        if let Some(owner) = str_field(fields, "ownerId") {
            if self.users_exist && !self.owners.contains(owner) {
                return Err(RecordError {
                    code: "unknown_owner",
                    field: Some("ownerId".into()),
                    message: format!("ownerId: no user has the id {owner:?}"),
                });
            }
        }
        if let Some(parent) = str_field(fields, "parentCrmId") {
            if !self.parents.contains(parent) {
                return Err(RecordError {
                    code: "not_found",
                    field: Some("parentCrmId".into()),
                    message: format!("parentCrmId: Company not found ({parent:?})"),
                });
            }
        }
        Ok(())
    }
}

/// The write-side JSON of one record: what `insert_new` and `update` read.
fn write_item(kind: RecordKind, id: &str, fields: &Map<String, Value>, properties: &Map<String, Value>) -> Value {
    let keys: Vec<Value> = match_keys(kind, fields).into_iter().map(|(field, key)| json!([field.name(), key])).collect();
    json!({
        "id": id,
        "fields": fields,
        "properties": properties,
        "ownerId": str_field(fields, "ownerId"),
        "parentId": str_field(fields, "parentCrmId"),
        "displayName": display_name(kind, fields),
        "searchText": search_text(kind, fields),
        "keys": keys,
    })
}

/// What became of one valid record of a create.
enum Planned {
    /// Created by this request (or found by its externalId when the batch ran).
    New { id: String },
    /// The same as an earlier record of this request or a stored record.
    Same { id: String, matched_by: String },
}

/// `POST /{kind}`: batch create, idempotent on externalId, deduplicated by the identifier.
pub async fn create(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    let body = ctx.body.as_ref().expect("route takes a body");
    let items = batch_items(body, kind.collection(), ctx.config.max_batch)?;
    let valid: Vec<Result<_, RecordError>> = items.iter().map(|item| parse_new(kind, item)).collect();
    let keysets: Vec<Option<KeySet>> =
        valid.iter().map(|p| p.as_ref().ok().map(|r| KeySet::of(kind, &r.fields))).collect();

    for _attempt in 0..WRITE_ATTEMPTS {
        // References are checked on every attempt: the write's guard fails when one is gone since.
        let mut parsed = valid.clone();
        let refs = ReferenceCheck::load(ctx, kind, parsed.iter().filter_map(|p| p.as_ref().ok()).map(|r| &r.fields)).await?;
        for p in parsed.iter_mut() {
            if let Ok(record) = p {
                if let Err(e) = refs.check(&record.fields) {
                    *p = Err(e);
                }
            }
        }
        // Stored records this batch may duplicate (one statement), when dedupe is on.
        let rows = if ctx.config.create_dedupe {
            let external_ids: Vec<&str> =
                parsed.iter().filter_map(|p| p.as_ref().ok().and_then(|r| r.external_id.as_deref())).collect();
            let keys: Vec<&KeySet> = keysets.iter().flatten().collect();
            sync::load_candidates(ctx, kind, &external_ids, &keys).await?
        } else {
            Vec::new()
        };
        let mut pool = CandidatePool::new(sync::candidates_of(&rows));
        let rule = ctx.config.match_rule(kind.match_kind());

        // Decide record by record, in request order: an earlier record of this request counts
        // as stored for the later ones.
        let mut planned_keys: Vec<&KeySet> = Vec::new();
        let mut plan: Vec<Option<Result<Planned, RecordError>>> = Vec::with_capacity(items.len());
        let mut write = Vec::new();
        let mut links = Vec::new();
        let mut linked: HashSet<String> = HashSet::new();
        let mut by_external: HashMap<String, String> = HashMap::new();
        for (i, p) in parsed.iter().enumerate() {
            let Ok(record) = p else {
                plan.push(None);
                continue;
            };
            let keys = keysets[i].as_ref().expect("valid records have keys");
            let ext = record.external_id.as_deref();
            // The same externalId earlier in this request is the same record, whatever its keys.
            if let Some(id) = ext.and_then(|e| by_external.get(e)) {
                plan.push(Some(Ok(Planned::Same { id: id.clone(), matched_by: "externalId".into() })));
                continue;
            }
            let decision = if ctx.config.create_dedupe {
                decide(ext, keys, &pool.relevant(ext, keys), rule, ctx.config.ambiguous_match)
            } else {
                Decision::NoMatch
            };
            match decision {
                Decision::Matched { id, matched_by } => {
                    // Only a stored record is linked here: one created by this request has its own.
                    let unlinked = pool.get(&id).is_some_and(|c| c.external_ids.is_empty() && !c.updated_at.is_empty());
                    if let (Some(e), true) = (ext, unlinked) {
                        if linked.insert(id.clone()) {
                            links.push(json!({"id": id, "externalId": e}));
                            by_external.insert(e.to_string(), id.clone());
                        }
                    }
                    plan.push(Some(Ok(Planned::Same { id, matched_by })));
                }
                Decision::Ambiguous { term, candidates } => {
                    let term = rule.terms().iter().find(|t| t.label() == term).expect("term of this rule");
                    plan.push(Some(Err(RecordError {
                        code: "ambiguous",
                        field: None,
                        message: format!(
                            "{}; not created (candidates: {})",
                            ambiguity_message(kind.collection(), term, keys),
                            candidates.join(", ")
                        ),
                    })));
                }
                Decision::NoMatch => {
                    let id = context::new_id(kind.id_kind()).into_string();
                    let mut item = write_item(kind, &id, &record.fields, &record.properties);
                    item["externalId"] = json!(record.external_id);
                    item["i"] = json!(i);
                    write.push(item);
                    // Later records of this request may be the same: they see it as a candidate
                    // (with no `updated_at`: it is not stored yet).
                    pool.push(Candidate {
                        id: id.clone(),
                        keys: keys.clone(),
                        external_ids: record.external_id.iter().cloned().collect(),
                        updated_at: String::new(),
                    });
                    planned_keys.push(keys);
                    if let Some(e) = ext {
                        by_external.insert(e.to_string(), id.clone());
                    }
                    plan.push(Some(Ok(Planned::New { id })));
                }
            }
        }

        // Without dedupe, an externalId that is already linked is resolved by the batch itself.
        let resolved: HashMap<String, String> = if write.is_empty() && links.is_empty() {
            HashMap::new()
        } else {
            let guard = if ctx.config.create_dedupe {
                let anchors: Vec<Value> = lookup_keys(rule, planned_keys.iter().copied())
                    .into_iter()
                    .map(|(f, k)| json!([f.name(), k]))
                    .collect();
                let seen: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
                Some((Value::Array(anchors).to_string(), json!(seen).to_string()))
            } else {
                None
            };
            let outcome = ctx
                .store
                .create(
                    kind,
                    NewRecords {
                        items: &Value::Array(write.clone()).to_string(),
                        links: &Value::Array(links).to_string(),
                        refs: &guarded_refs(parsed.iter().filter_map(|p| p.as_ref().ok()).map(|r| &r.fields)),
                        guard: guard.as_ref().map(|(a, s)| (a.as_str(), s.as_str())),
                    },
                    &now(),
                    ctx.request_id,
                )
                .await;
            if outcome.is_ok() {
                sync::forget_keys(ctx, kind, planned_keys.iter().copied());
            }
            match outcome {
                Ok(pairs) => pairs
                    .into_iter()
                    .map(|(pos, id)| (write[pos]["id"].as_str().unwrap_or_default().to_string(), id))
                    .collect(),
                // A record with the same keys was created meanwhile: decide again, seeing it.
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(store_error(e)),
            }
        };

        let mut results = Vec::new();
        let mut errors = Vec::new();
        for (i, p) in parsed.iter().enumerate() {
            let ext_value = items[i].get("externalId");
            let planned = match (p, &plan[i]) {
                (Err(e), _) | (Ok(_), Some(Err(e))) => {
                    errors.push(record_error(i, ext_value, e));
                    continue;
                }
                (Ok(_), Some(Ok(planned))) => planned,
                (Ok(_), None) => unreachable!("every valid record has a plan"),
            };
            let external_id = p.as_ref().ok().and_then(|r| r.external_id.clone());
            let result = match planned {
                // The batch may have found the externalId linked after all (a concurrent create).
                Planned::New { id } => match resolved.get(id) {
                    Some(actual) if actual != id => {
                        json!({"externalId": external_id, "crmId": actual, "created": false, "matchedBy": "externalId"})
                    }
                    _ => json!({"externalId": external_id, "crmId": id, "created": true}),
                },
                Planned::Same { id, matched_by } => {
                    let id = resolved.get(id).unwrap_or(id);
                    json!({"externalId": external_id, "crmId": id, "created": false, "matchedBy": matched_by})
                }
            };
            results.push(result);
        }
        return Ok(respond::json(&json!({ "results": results, "errors": errors }), 200));
    }
    Err(ApiError::Unavailable("records with the same keys are being created by other requests; retry".into()))
}

/// `PUT /{kind}`: partial batch update under FIELD_POLICY, every change in history.
pub async fn update(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    let body = ctx.body.as_ref().expect("route takes a body");
    let items = batch_items(body, kind.collection(), ctx.config.max_batch)?;
    let parsed: Vec<_> = items.iter().map(|item| parse_update(kind, item)).collect();
    let ids: Vec<&str> = {
        let mut seen = HashSet::new();
        parsed.iter().filter_map(|p| p.as_ref().ok()).map(|u| u.crm_id.as_str()).filter(|id| seen.insert(*id)).collect()
    };

    for _attempt in 0..WRITE_ATTEMPTS {
        let rows = if ids.is_empty() {
            Vec::new()
        } else {
            ctx.store.load(kind, &json!(ids).to_string()).await.map_err(store_error)?
        };
        let base: HashMap<&str, &RecordRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
        // Updates of one record apply in request order on top of each other.
        let mut current: BTreeMap<String, StoredRecord> = rows.iter().map(|r| (r.id.clone(), stored(r))).collect();
        let mut changes: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut outcome: Vec<Result<String, Value>> = Vec::with_capacity(items.len());

        for (i, p) in parsed.iter().enumerate() {
            let crm_id_of = || items[i].get("crmId").cloned().unwrap_or(Value::Null);
            let update = match p {
                Ok(u) => u,
                Err(e) => {
                    outcome.push(Err(json!({"crmId": crm_id_of(), "success": false, "error": e.message, "code": e.code, "field": e.field})));
                    continue;
                }
            };
            let Some(state) = current.get(&update.crm_id) else {
                outcome.push(Err(json!({"crmId": update.crm_id, "success": false, "error": kind.not_found_message(), "code": "not_found"})));
                continue;
            };
            let applied = apply_update(state, update, &ctx.config.field_policy);
            outcome.push(Ok(update.crm_id.clone()));
            if applied.changes.is_empty() {
                continue;
            }
            let log = changes.entry(update.crm_id.clone()).or_default();
            for c in &applied.changes {
                let mut entry = json!({ "field": c.field });
                if let Some(old) = &c.old {
                    entry["old"] = old.clone();
                }
                if let Some(new) = &c.new {
                    entry["new"] = new.clone();
                }
                log.push(entry);
            }
            current.insert(
                update.crm_id.clone(),
                StoredRecord { id: update.crm_id.clone(), fields: applied.fields, properties: applied.properties },
            );
        }

        // References are checked on the final values of the changed records.
        let refs = ReferenceCheck::load(ctx, kind, changes.keys().filter_map(|id| current.get(id)).map(|r| &r.fields)).await?;
        let mut refused: HashMap<String, RecordError> = HashMap::new();
        for id in changes.keys() {
            if let Err(e) = refs.check(&current[id].fields) {
                refused.insert(id.clone(), e);
            }
        }

        let mut write = Vec::new();
        for (id, log) in &changes {
            if refused.contains_key(id) {
                continue;
            }
            let record = &current[id];
            let mut item = write_item(kind, id, &record.fields, &record.properties);
            item["base"] = json!(base[id.as_str()].updated_at);
            item["changes"] = Value::Array(log.clone());
            write.push(item);
        }
        let mut stamps: HashMap<String, String> = base.iter().map(|(id, r)| (id.to_string(), r.updated_at.clone())).collect();
        if !write.is_empty() {
            let guarded = guarded_refs(changes.keys().filter(|id| !refused.contains_key(*id)).map(|id| &current[id].fields));
            match ctx.store.update(kind, &Value::Array(write).to_string(), &guarded, &now(), ctx.request_id).await {
                Ok(written) => {
                    // Who holds the old and the new keys changed.
                    let touched: Vec<KeySet> = changes
                        .keys()
                        .filter(|id| !refused.contains_key(*id))
                        .flat_map(|id| {
                            let old = base.get(id.as_str()).map(|r| KeySet::of(kind, &object(&r.fields)));
                            let new = current.get(id).map(|r| KeySet::of(kind, &r.fields));
                            old.into_iter().chain(new)
                        })
                        .collect();
                    sync::forget_keys(ctx, kind, touched.iter());
                    stamps.extend(written)
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(store_error(e)),
            }
        }
        let results: Vec<Value> = outcome
            .into_iter()
            .map(|o| match o {
                Err(v) => v,
                Ok(id) => match refused.get(&id) {
                    Some(e) => json!({"crmId": id, "success": false, "error": e.message, "code": e.code, "field": e.field}),
                    None => json!({"crmId": id, "success": true, "properties": {"lastUpdated": stamps.get(&id)}}),
                },
            })
            .collect();
        return Ok(respond::json(&json!({ "results": results }), 200));
    }
    Err(ApiError::Unavailable("these records are being changed by other requests; retry".into()))
}

/// `POST /{kind}/batch`: found records in request order.
pub async fn batch(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    let body = ctx.body.as_ref().expect("route takes a body");
    let ids = batch_ids(body, ctx.config.max_batch)?;
    let rows = ctx.store.by_ids(kind, &json!(ids).to_string()).await.map_err(store_error)?;
    let results: Vec<Value> = rows.iter().map(|r| wire(kind, r)).collect();
    Ok(respond::json(&json!({ "results": results }), 200))
}

fn not_found(kind: RecordKind) -> ApiError {
    ApiError::NotFound(kind.not_found_message().to_string())
}

/// `GET /{kind}/{id}`: the record with its associations.
pub async fn get(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    let id = ctx.params[0];
    let row = ctx.store.one(kind, id).await.map_err(store_error)?.ok_or_else(|| not_found(kind))?;
    let mut record = wire(kind, &row);
    let associations: Vec<Value> =
        row.associations.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or_default();
    record["associations"] = Value::Array(associations);
    Ok(respond::json(&record, 200))
}

/// `DELETE /{kind}/{id}`: soft delete.
pub async fn delete(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    let id = ctx.params[0];
    let deleted = ctx.store.delete(kind, id, &now(), ctx.request_id).await.map_err(store_error)?;
    if !deleted {
        return Err(not_found(kind));
    }
    Ok(respond::json(&json!({ "id": id, "deleted": true }), 200))
}

/// `GET /{kind}?updatedAfter&limit&cursor`: the change feed, tombstones included.
pub async fn feed(ctx: &Ctx<'_>, kind: RecordKind, query: &[(String, String)]) -> HandlerResult {
    let q = FeedQuery::parse(query)?;
    let rows = ctx.store.feed(kind, &q.after_time, &q.after_id, q.limit + 1).await.map_err(store_error)?;
    let more = rows.len() > q.limit;
    let page = &rows[..rows.len().min(q.limit)];
    let data: Vec<Value> = page
        .iter()
        .map(|r| match r.deleted_at {
            Some(_) => json!({ "id": r.id, "deleted": true, "updatedAt": r.updated_at }),
            None => wire(kind, r),
        })
        .collect();
    let next = if more { page.last().map(|r| encode_cursor(&r.updated_at, &r.id)) } else { None };
    Ok(respond::json(&json!({ "data": data, "nextCursor": next }), 200))
}

/// `GET /{kind}/{id}/history`: newest first.
pub async fn history(ctx: &Ctx<'_>, kind: RecordKind, query: &[(String, String)]) -> HandlerResult {
    let id = ctx.params[0];
    if !ctx.store.exists_any(kind, id).await.map_err(store_error)? {
        return Err(not_found(kind));
    }
    let limit = parse_limit(query, DEFAULT_LIMIT, MAX_LIMIT)?;
    let rows = ctx.store.history(id, f64::MAX, limit).await.map_err(store_error)?;
    Ok(respond::history(id, &rows))
}
