//! Contacts and companies (API.md §4): one code path for both kinds. Each handler validates with
//! the pure core, reads and writes through the store in a fixed number of statements, and shapes
//! the answer.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Map, Value};
use worker::Response;

use super::context::{self, now, store_error};
use super::{respond, Ctx};
use crate::domain::error::{ApiError, Detail};
use crate::domain::feed::{encode_cursor, FeedQuery};
use crate::domain::record::{
    apply_update, display_name, match_keys, parse_new, parse_update, search_text, to_wire, RecordError, RecordKind,
    StoredRecord,
};
use crate::domain::request::batch_items;
use crate::store::d1::{RecordRow, StoreError};

/// How often an update is retried when another request changed the same records in between.
const UPDATE_ATTEMPTS: usize = 4;

type HandlerResult = Result<worker::Result<Response>, ApiError>;

fn object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn stored(row: &RecordRow) -> StoredRecord {
    StoredRecord { id: row.id.clone(), fields: object(&row.fields), properties: object(&row.properties) }
}

fn wire(kind: RecordKind, row: &RecordRow) -> Value {
    to_wire(
        kind,
        &row.id,
        row.external_id.as_deref(),
        &object(&row.fields),
        &object(&row.properties),
        &row.created_at,
        &row.updated_at,
    )
}

fn record_error(index: usize, external_id: Option<&Value>, err: &RecordError) -> Value {
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

/// `POST /{kind}`: batch create, idempotent on externalId.
pub async fn create(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    let body = ctx.body.as_ref().expect("route takes a body");
    let items = batch_items(body, kind.collection(), ctx.config.max_batch)?;
    let mut parsed: Vec<Result<_, RecordError>> = items.iter().map(|item| parse_new(kind, item)).collect();
    let refs = ReferenceCheck::load(ctx, kind, parsed.iter().filter_map(|p| p.as_ref().ok()).map(|r| &r.fields)).await?;
    for p in parsed.iter_mut() {
        if let Ok(record) = p {
            if let Err(e) = refs.check(&record.fields) {
                *p = Err(e);
            }
        }
    }

    // The first record with an externalId creates it; later ones in the same request share it.
    let mut first_with_external: HashMap<String, usize> = HashMap::new();
    let mut proposed: Vec<Option<String>> = vec![None; items.len()];
    let mut write = Vec::new();
    for (i, p) in parsed.iter().enumerate() {
        let Ok(record) = p else { continue };
        if let Some(ext) = &record.external_id {
            if first_with_external.contains_key(ext) {
                continue;
            }
            first_with_external.insert(ext.clone(), i);
        }
        let id = context::new_id(kind.id_kind()).into_string();
        let mut item = write_item(kind, &id, &record.fields, &record.properties);
        item["externalId"] = json!(record.external_id);
        item["i"] = json!(i);
        write.push(item);
        proposed[i] = Some(id);
    }

    let resolved: HashMap<usize, String> = if write.is_empty() {
        HashMap::new()
    } else {
        let rid = ctx.request_id;
        let pairs = ctx.store.create(kind, &Value::Array(write.clone()).to_string(), &now(), rid).await.map_err(store_error)?;
        // `resolve_external` answers positions in `write`; map them back to request indexes.
        pairs.into_iter().map(|(pos, id)| (write[pos]["i"].as_u64().unwrap_or(0) as usize, id)).collect()
    };

    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (i, p) in parsed.iter().enumerate() {
        match p {
            Err(e) => errors.push(record_error(i, items[i].get("externalId"), e)),
            Ok(record) => {
                let first = record.external_id.as_ref().and_then(|ext| first_with_external.get(ext)).copied().unwrap_or(i);
                let own = proposed[first].clone().unwrap_or_default();
                let crm_id = resolved.get(&first).cloned().unwrap_or_else(|| own.clone());
                let created = first == i && crm_id == own;
                results.push(json!({
                    "externalId": record.external_id,
                    "crmId": crm_id,
                    "created": created,
                }));
            }
        }
    }
    Ok(respond::json(&json!({ "results": results, "errors": errors }), 200))
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

    for _attempt in 0..UPDATE_ATTEMPTS {
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
            match ctx.store.update(kind, &Value::Array(write).to_string(), &now(), ctx.request_id).await {
                Ok(written) => stamps.extend(written),
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
    let ids = batch_items(body, "ids", ctx.config.max_batch)?;
    let mut details = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if !id.is_string() {
            details.push(Detail::new(format!("ids[{i}]"), "expected a string"));
        }
    }
    if !details.is_empty() {
        return Err(ApiError::invalid("ids must be strings", details));
    }
    let rows = ctx.store.by_ids(kind, &Value::Array(ids.to_vec()).to_string()).await.map_err(store_error)?;
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
    let limit = query
        .iter()
        .find(|(k, _)| k == "limit")
        .map(|(_, v)| v.parse::<usize>().ok().filter(|n| (1..=500).contains(n)))
        .unwrap_or(Some(100))
        .ok_or_else(|| ApiError::invalid("invalid query parameter limit", vec![Detail::new("limit", "expected a whole number from 1 to 500")]))?;
    let rows = ctx.store.history(id, f64::MAX, limit).await.map_err(store_error)?;
    let parse = |v: &Option<String>| v.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()).unwrap_or(Value::Null);
    let data: Vec<Value> = rows
        .iter()
        .map(|h| {
            json!({
                "field": h.field,
                "oldValue": parse(&h.old_value),
                "newValue": parse(&h.new_value),
                "changedAt": h.changed_at,
                "requestId": h.request_id,
            })
        })
        .collect();
    Ok(respond::json(&json!({ "id": id, "history": data }), 200))
}
