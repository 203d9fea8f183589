//! Tasks, activities and users (API.md §7, §8), wire-compatible with Enginy's reference server:
//! the single forms answer the object, the batch forms `{results, errors}`, and
//! `/tasks/batch` and `GET /users` bare arrays.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};
use worker::Response;

use super::context::{new_id, now, store_error};
use super::{respond, Ctx};
use crate::domain::error::{ApiError, Detail};
use crate::domain::feed::{decode_cursor, encode_cursor};
use crate::domain::ids::IdKind;
use crate::domain::record::RecordKind;
use crate::domain::request::{batch_items, json_type};
use crate::domain::work::{
    apply_task, parse_activity, parse_user, task_to_wire, ActivityInput, TaskValues, WorkError,
};
use crate::store::d1::StoreError;
use crate::store::d1_work::{ActivityRow, TaskRow, UserRow};

type HandlerResult = Result<worker::Result<Response>, ApiError>;

const ATTEMPTS: usize = 4;

fn object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Whether the body is the batch form (`{"tasks": [...]}`) or one object.
fn batch_form<'a>(ctx: &'a Ctx<'_>, key: &str) -> Result<Option<&'a [Value]>, ApiError> {
    let body = ctx.body.as_ref().expect("route takes a body");
    if !body.is_object() {
        return Err(ApiError::invalid(
            format!("request body must be an object, or an object with a {key:?} array"),
            vec![Detail::new("", format!("expected an object, got {}", json_type(body)))],
        ));
    }
    if body.get(key).is_some() {
        return batch_items(body, key, ctx.config.max_batch).map(Some);
    }
    Ok(None)
}

fn item_error(index: usize, e: &WorkError) -> Value {
    json!({ "index": index, "error": e.sentence(), "code": e.code, "field": e.field })
}

/// The answer of a one-or-batch route from each item's outcome: the object (or `400`) for the
/// single form, `{results, errors}` for the batch form. `stored(i)` is what item `i` became.
fn answer(
    noun: &str,
    batch: bool,
    parsed: Vec<Result<(), WorkError>>,
    stored: impl Fn(usize) -> Option<Value>,
) -> HandlerResult {
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (i, p) in parsed.into_iter().enumerate() {
        match p {
            Err(e) if !batch => return Err(e.into_api_error(noun)),
            Err(e) => errors.push(item_error(i, &e)),
            Ok(()) => results.push(stored(i).ok_or_else(|| ApiError::Internal(format!("written {noun} not read back")))?),
        }
    }
    if !batch {
        return Ok(respond::json(&results.pop().expect("one item"), 200));
    }
    Ok(respond::json(&json!({ "results": results, "errors": errors }), 200))
}

/// Checks that the contacts, companies and owners a batch names exist (owners only while any
/// user exists). One statement.
struct References {
    contacts: HashSet<String>,
    companies: HashSet<String>,
    users_exist: bool,
    owners: HashSet<String>,
}

impl References {
    async fn load(ctx: &Ctx<'_>, named: &[(Option<&str>, Option<&str>, Option<&str>)]) -> Result<References, ApiError> {
        let contacts: Vec<&str> = named.iter().filter_map(|n| n.0).collect();
        let companies: Vec<&str> = named.iter().filter_map(|n| n.1).collect();
        let owners: Vec<&str> = named.iter().filter_map(|n| n.2).collect();
        if contacts.is_empty() && companies.is_empty() && owners.is_empty() {
            return Ok(References { contacts: HashSet::new(), companies: HashSet::new(), users_exist: false, owners: HashSet::new() });
        }
        let found = ctx
            .store
            .work_references(&json!(contacts).to_string(), &json!(companies).to_string(), &json!(owners).to_string())
            .await
            .map_err(store_error)?;
        let set = |t: &str| -> HashSet<String> { serde_json::from_str(t).unwrap_or_default() };
        Ok(References {
            contacts: set(&found.contacts),
            companies: set(&found.companies),
            users_exist: found.users > 0.0,
            owners: set(&found.owners),
        })
    }

    fn check(&self, contact: Option<&str>, company: Option<&str>, owner: Option<&str>) -> Result<(), WorkError> {
        if let Some(id) = contact.filter(|id| !self.contacts.contains(*id)) {
            return Err(WorkError::not_found("contactId", "contact", id));
        }
        if let Some(id) = company.filter(|id| !self.companies.contains(*id)) {
            return Err(WorkError::not_found("companyId", "company", id));
        }
        if let Some(id) = owner.filter(|id| self.users_exist && !self.owners.contains(*id)) {
            return Err(WorkError::not_found("ownerId", "user", id));
        }
        Ok(())
    }
}

fn task_values(row: &TaskRow) -> TaskValues {
    let mut fields = Map::new();
    let mut put = |name: &str, v: &Option<String>| {
        if let Some(v) = v {
            fields.insert(name.to_string(), json!(v));
        }
    };
    put("subject", &row.subject);
    put("description", &row.description);
    put("type", &row.task_type);
    put("priority", &row.priority);
    put("status", &row.status);
    put("ownerId", &row.owner_id);
    put("dueDate", &row.due_date);
    put("contactId", &row.contact_id);
    put("companyId", &row.company_id);
    put("completedAt", &row.completed_at);
    fields.insert("completed".into(), json!(row.completed > 0.0));
    TaskValues { fields, properties: object(&row.properties) }
}

fn task_wire(row: &TaskRow) -> Value {
    task_to_wire(&row.id, &task_values(row), &row.created_at, &row.updated_at)
}

fn task_refs(v: &TaskValues) -> (Option<&str>, Option<&str>, Option<&str>) {
    (v.str("contactId"), v.str("companyId"), v.str("ownerId"))
}

/// The field-by-field changes between two versions of a task, for history.
fn task_changes(old: &TaskValues, new: &TaskValues) -> Vec<Value> {
    let mut out = Vec::new();
    let mut diff = |prefix: &str, a: &Map<String, Value>, b: &Map<String, Value>| {
        let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for name in names {
            let (x, y) = (a.get(name), b.get(name));
            if x != y {
                let mut change = json!({ "field": format!("{prefix}{name}") });
                if let Some(x) = x {
                    change["old"] = x.clone();
                }
                if let Some(y) = y {
                    change["new"] = y.clone();
                }
                out.push(change);
            }
        }
    };
    diff("", &old.fields, &new.fields);
    diff("properties.", &old.properties, &new.properties);
    out
}

/// `POST /tasks`: one task, or `{"tasks": [...]}`.
pub async fn create_tasks(ctx: &Ctx<'_>) -> HandlerResult {
    let batch = batch_form(ctx, "tasks")?;
    let single = [ctx.body.clone().unwrap_or(Value::Null)];
    let items: &[Value] = batch.unwrap_or(&single);
    let at = now();
    let mut parsed: Vec<Result<TaskValues, WorkError>> = items
        .iter()
        .map(|item| {
            let mut v = TaskValues::default();
            apply_task(&mut v, item, &at, true).map(|_| v)
        })
        .collect();
    let named: Vec<_> = parsed.iter().filter_map(|p| p.as_ref().ok()).map(task_refs).collect();
    let refs = References::load(ctx, &named).await?;
    for p in parsed.iter_mut() {
        if let Ok(v) = p {
            let (c, co, o) = task_refs(v);
            if let Err(e) = refs.check(c, co, o) {
                *p = Err(e);
            }
        }
    }
    let mut ids = Vec::new();
    let mut write = Vec::new();
    for p in parsed.iter() {
        if let Ok(v) = p {
            let id = new_id(IdKind::Task).into_string();
            write.push(json!({"id": id, "fields": v.fields, "properties": v.properties}));
            ids.push(Some(id));
        } else {
            ids.push(None);
        }
    }
    let rows: HashMap<String, TaskRow> = if write.is_empty() {
        HashMap::new()
    } else {
        let written: Vec<&String> = ids.iter().flatten().collect();
        ctx.store
            .insert_tasks(&Value::Array(write).to_string(), &json!(written).to_string(), &at, ctx.request_id)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect()
    };
    let outcomes = parsed.into_iter().map(|p| p.map(|_| ())).collect();
    answer("task", batch.is_some(), outcomes, |i| ids[i].as_ref().and_then(|id| rows.get(id)).map(task_wire))
}

fn task_not_found() -> ApiError {
    ApiError::NotFound("Task not found".into())
}

pub async fn get_task(ctx: &Ctx<'_>) -> HandlerResult {
    let rows = ctx.store.tasks_by_ids(&json!([ctx.params[0]]).to_string()).await.map_err(store_error)?;
    let row = rows.first().ok_or_else(task_not_found)?;
    Ok(respond::json(&task_wire(row), 200))
}

/// Applies one patch to the given tasks and writes them, retrying on a concurrent change.
/// Answers the tasks as stored, in the order of `ids` (unknown ids left out).
async fn patch_tasks(ctx: &Ctx<'_>, ids: &[String], patch: &Value) -> Result<Vec<TaskRow>, ApiError> {
    let ids_json = json!(ids).to_string();
    for _ in 0..ATTEMPTS {
        let rows = ctx.store.tasks_by_ids(&ids_json).await.map_err(store_error)?;
        if rows.is_empty() {
            return Ok(rows);
        }
        let at = now();
        let mut write = Vec::new();
        let mut named = Vec::new();
        let mut updated = Vec::new();
        for row in &rows {
            let old = task_values(row);
            let mut new = old.clone();
            apply_task(&mut new, patch, &at, false).map_err(|e| e.into_api_error("task"))?;
            updated.push((row, old, new));
        }
        for (_, _, new) in &updated {
            named.push(task_refs(new));
        }
        let refs = References::load(ctx, &named).await?;
        for (row, old, new) in &updated {
            let (c, co, o) = task_refs(new);
            refs.check(c, co, o).map_err(|e| e.into_api_error("task"))?;
            let changes = task_changes(old, new);
            if !changes.is_empty() {
                write.push(json!({"id": row.id, "base": row.updated_at, "fields": new.fields, "properties": new.properties, "changes": changes}));
            }
        }
        if write.is_empty() {
            return Ok(rows);
        }
        match ctx.store.update_tasks(&Value::Array(write).to_string(), &ids_json, &at, ctx.request_id).await {
            Ok(rows) => return Ok(rows),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(store_error(e)),
        }
    }
    Err(ApiError::Unavailable("these tasks are being changed by other requests; retry".into()))
}

/// `PATCH /tasks/{id}`: partial update, the task back.
pub async fn update_task(ctx: &Ctx<'_>) -> HandlerResult {
    let patch = ctx.body.clone().expect("route takes a body");
    if !patch.is_object() {
        return Err(ApiError::invalid("request body must be a task object", vec![Detail::new("", "expected an object")]));
    }
    let rows = patch_tasks(ctx, &[ctx.params[0].to_string()], &patch).await?;
    let row = rows.first().ok_or_else(task_not_found)?;
    Ok(respond::json(&task_wire(row), 200))
}

pub async fn delete_task(ctx: &Ctx<'_>) -> HandlerResult {
    let id = ctx.params[0];
    if !ctx.store.delete_task(id, &now(), ctx.request_id).await.map_err(store_error)? {
        return Err(task_not_found());
    }
    Ok(respond::json(&json!({ "id": id, "deleted": true }), 200))
}

fn ids_of(ctx: &Ctx<'_>) -> Result<Vec<String>, ApiError> {
    let body = ctx.body.as_ref().expect("route takes a body");
    let ids = batch_items(body, "ids", ctx.config.max_batch)?;
    let mut out = Vec::with_capacity(ids.len());
    let mut details = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        match id.as_str() {
            Some(s) => out.push(s.to_string()),
            None => details.push(Detail::new(format!("ids[{i}]"), format!("expected a string, got {}", json_type(id)))),
        }
    }
    if !details.is_empty() {
        return Err(ApiError::invalid("ids must be strings", details));
    }
    Ok(out)
}

/// `POST /tasks/batch`: the found tasks, a bare array.
pub async fn read_tasks(ctx: &Ctx<'_>) -> HandlerResult {
    let ids = ids_of(ctx)?;
    let rows = ctx.store.tasks_by_ids(&json!(ids).to_string()).await.map_err(store_error)?;
    Ok(respond::json(&rows.iter().map(task_wire).collect::<Vec<_>>(), 200))
}

/// `PATCH /tasks/batch {"ids": [...], ...fields}`: the updated tasks, a bare array.
pub async fn update_tasks(ctx: &Ctx<'_>) -> HandlerResult {
    let ids = ids_of(ctx)?;
    let mut patch = ctx.body.clone().expect("route takes a body");
    patch.as_object_mut().expect("checked by ids_of").remove("ids");
    let rows = patch_tasks(ctx, &ids, &patch).await?;
    Ok(respond::json(&rows.iter().map(task_wire).collect::<Vec<_>>(), 200))
}

fn activity_wire(row: &ActivityRow) -> Value {
    json!({
        "id": row.id,
        "type": row.activity_type,
        "subject": row.subject,
        "body": row.body,
        "direction": row.direction,
        "ownerId": row.owner_id,
        "occurredAt": row.occurred_at,
        "contactId": row.contact_id,
        "companyId": row.company_id,
        "metadata": object(&row.metadata),
        "createdAt": row.created_at,
        "properties": object(&row.properties),
    })
}

/// `POST /activities`: one activity, or `{"activities": [...]}`; idempotent on
/// `(type, metadata.messageId)`.
pub async fn log_activities(ctx: &Ctx<'_>) -> HandlerResult {
    let batch = batch_form(ctx, "activities")?;
    let single = [ctx.body.clone().unwrap_or(Value::Null)];
    let items: &[Value] = batch.unwrap_or(&single);
    let at = now();
    let mut parsed: Vec<Result<ActivityInput, WorkError>> = items.iter().map(|i| parse_activity(i, &at)).collect();
    let named: Vec<_> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .map(|a| (a.contact_id.as_deref(), a.company_id.as_deref(), a.owner_id.as_deref()))
        .collect();
    let refs = References::load(ctx, &named).await?;
    for p in parsed.iter_mut() {
        if let Ok(a) = p {
            if let Err(e) = refs.check(a.contact_id.as_deref(), a.company_id.as_deref(), a.owner_id.as_deref()) {
                *p = Err(e);
            }
        }
    }
    let mut write = Vec::new();
    let mut position = vec![None; parsed.len()];
    for (i, p) in parsed.iter().enumerate() {
        if let Ok(a) = p {
            position[i] = Some(write.len());
            write.push(json!({
                "id": new_id(IdKind::Activity).into_string(),
                "type": a.activity_type, "subject": a.subject, "body": a.body, "direction": a.direction,
                "ownerId": a.owner_id, "occurredAt": a.occurred_at, "contactId": a.contact_id, "companyId": a.company_id,
                "metadata": a.metadata, "messageId": a.message_id, "properties": a.properties,
            }));
        }
    }
    let resolved: HashMap<usize, ActivityRow> = if write.is_empty() {
        HashMap::new()
    } else {
        ctx.store
            .log_activities(&Value::Array(write).to_string(), &at, ctx.request_id)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|r| (r.i.unwrap_or(-1.0) as usize, r))
            .collect()
    };
    let outcomes = parsed.into_iter().map(|p| p.map(|_| ())).collect();
    answer("activity", batch.is_some(), outcomes, |i| position[i].and_then(|p| resolved.get(&p)).map(activity_wire))
}

pub async fn get_activity(ctx: &Ctx<'_>) -> HandlerResult {
    let row = ctx
        .store
        .activity(ctx.params[0])
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::NotFound("Activity not found".into()))?;
    Ok(respond::json(&activity_wire(&row), 200))
}

/// `GET /{kind}/{id}/activities?limit&cursor`: the timeline, newest first.
pub async fn timeline(ctx: &Ctx<'_>, kind: RecordKind, query: &[(String, String)]) -> HandlerResult {
    let id = ctx.params[0];
    let live = ctx.store.load(kind, &json!([id]).to_string()).await.map_err(store_error)?;
    if live.is_empty() {
        return Err(ApiError::NotFound(kind.not_found_message().into()));
    }
    let get = |name: &str| query.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let bad = |path: &str, message: &str| ApiError::invalid(format!("invalid query parameter {path}"), vec![Detail::new(path, message)]);
    let limit = match get("limit") {
        None | Some("") => 50,
        Some(raw) => raw.parse::<usize>().ok().filter(|n| (1..=200).contains(n)).ok_or_else(|| bad("limit", "expected a whole number from 1 to 200"))?,
    };
    // Before everything: a time later than any and an id that sorts after every id.
    let before = match get("cursor").filter(|c| !c.is_empty()) {
        Some(c) => decode_cursor(c).ok_or_else(|| bad("cursor", "is not a cursor this API returned"))?,
        None => ("~".to_string(), String::new()),
    };
    let rows = ctx
        .store
        .timeline(kind == RecordKind::Company, id, (&before.0, &before.1), limit + 1)
        .await
        .map_err(store_error)?;
    let page = &rows[..rows.len().min(limit)];
    let next = (rows.len() > limit).then(|| page.last().map(|r| encode_cursor(&r.occurred_at, &r.id))).flatten();
    let data: Vec<Value> = page.iter().map(activity_wire).collect();
    Ok(respond::json(&json!({ "data": data, "nextCursor": next }), 200))
}

fn user_wire(row: &UserRow) -> Value {
    json!({ "id": row.id, "name": row.name, "email": row.email })
}

/// `GET /users`: a bare array, or `404` while none exist (Enginy reads that as "owners off").
pub async fn list_users(ctx: &Ctx<'_>) -> HandlerResult {
    let rows = ctx.store.users().await.map_err(store_error)?;
    if rows.is_empty() {
        return Err(ApiError::NotFound("No users: owner assignment is disabled until one is added".into()));
    }
    Ok(respond::json(&rows.iter().map(user_wire).collect::<Vec<_>>(), 200))
}

/// `POST /users`: one user or `{"users": [...]}`, upserted by email.
pub async fn upsert_users(ctx: &Ctx<'_>) -> HandlerResult {
    let batch = batch_form(ctx, "users")?;
    let single = [ctx.body.clone().unwrap_or(Value::Null)];
    let items: &[Value] = batch.unwrap_or(&single);
    let parsed: Vec<_> = items.iter().map(parse_user).collect();
    let mut write = Vec::new();
    let mut position = vec![None; parsed.len()];
    for (i, p) in parsed.iter().enumerate() {
        if let Ok(u) = p {
            position[i] = Some(write.len());
            write.push(json!({"id": new_id(IdKind::User).into_string(), "name": u.name, "email": u.email, "emailKey": u.email_key, "properties": u.properties}));
        }
    }
    let resolved: HashMap<usize, UserRow> = if write.is_empty() {
        HashMap::new()
    } else {
        ctx.store
            .upsert_users(&Value::Array(write).to_string(), &now())
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|r| (r.i.unwrap_or(-1.0) as usize, r))
            .collect()
    };
    let outcomes = parsed.into_iter().map(|p| p.map(|_| ())).collect();
    answer("user", batch.is_some(), outcomes, |i| position[i].and_then(|p| resolved.get(&p)).map(user_wire))
}

pub async fn delete_user(ctx: &Ctx<'_>) -> HandlerResult {
    let id = ctx.params[0];
    if !ctx.store.delete_user(id, &now(), ctx.request_id).await.map_err(store_error)? {
        return Err(ApiError::NotFound("User not found".into()));
    }
    Ok(respond::json(&json!({ "id": id, "deleted": true }), 200))
}
