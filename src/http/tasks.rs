//! Tasks (API.md §7): `POST /tasks` (one or `{"tasks": [...]}`), `GET`/`PATCH`/`DELETE
//! /tasks/{id}`, and `POST`/`PATCH /tasks/batch`, which answer bare arrays as the reference
//! server does.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::context::{new_id, now, retry, HandlerResult};
use super::work::{check_refs, create_each, history as entity_history, stored_each};
use super::{respond, Ctx};
use crate::domain::chunk::{ArrayText, RECORD_CHUNKS};
use crate::domain::error::{ApiError, Detail};
use crate::domain::ids::IdKind;
use crate::domain::request::batch_ids;
use crate::domain::error::ItemError;
use crate::domain::refs::RefFields;
use crate::domain::work::{apply_task, check_patch, task_changes, task_content, task_to_wire, TaskValues, Window};
use crate::store::d1_work::TaskRow;

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("task", id)
}

fn values(row: &TaskRow) -> TaskValues {
    let mut fields = Map::new();
    for (name, v) in [
        ("subject", &row.subject),
        ("description", &row.description),
        ("type", &row.task_type),
        ("priority", &row.priority),
        ("status", &row.status),
        ("ownerId", &row.owner_id),
        ("dueDate", &row.due_date),
        ("contactId", &row.contact_id),
        ("companyId", &row.company_id),
        ("completedAt", &row.completed_at),
        ("externalId", &row.external_id),
    ] {
        if let Some(v) = v {
            fields.insert(name.to_string(), json!(v));
        }
    }
    fields.insert("completed".into(), json!(row.completed > 0.0));
    TaskValues { fields, properties: row.properties.clone() }
}

pub(super) fn wire(row: &TaskRow) -> Value {
    task_to_wire(&row.id, &values(row), &row.created_at, &row.updated_at)
}

/// `POST /tasks`: one task, or `{"tasks": [...]}`. The same statements whatever the batch: the
/// reference check (when a task names anything), then, in one transaction, the reference guard,
/// insert, history and read-back. A reference gone between the check and the write makes the
/// request check again. A retry makes no copy: one with the `externalId` of a live task, or one
/// with no key at all and the content of a task created in the last ten minutes
/// (`domain::work::content`), answers that task (`created: false` in the batch form).
pub async fn create(ctx: &Ctx<'_>) -> HandlerResult {
    create_each(ctx, "tasks", "task", async |part, batch| create_part(ctx, part, batch).await).await
}

/// Creates the tasks of one chunk (one transaction); each item's outcome.
async fn create_part(ctx: &Ctx<'_>, items: &[&Value], batch: bool) -> Result<Vec<Result<Value, ItemError>>, ApiError> {
    let at = now();
    let window = Window::of(&at);
    let parsed: Vec<Result<TaskValues, ItemError>> = items
        .iter()
        .map(|item| {
            let mut v = TaskValues::default();
            apply_task(&mut v, item, &at, true).map(|_| v)
        })
        .collect();
    // The content fingerprints of the tasks sent without any key, from what was sent (before a
    // merged contact is replaced by its survivor, so a retry has the same fingerprint).
    let content: Vec<Option<String>> = parsed.iter().map(|p| p.as_ref().ok().filter(|_| !ctx.keyed).and_then(task_content)).collect();
    let (checked, proposed, rows) = retry("the contacts, companies or users these tasks name are being changed", async || {
        let checked = check_refs(ctx, &parsed, TaskValues::refs, TaskValues::acting).await?;
        // Each item's proposed id and its place in the write.
        let mut proposed: Vec<Option<(usize, String)>> = Vec::with_capacity(checked.len());
        let (mut write, mut refs) = (Vec::new(), Vec::new());
        for (c, content) in checked.iter().zip(&content) {
            proposed.push(c.as_ref().ok().map(|v| {
                let id = new_id(IdKind::Task).into_string();
                let mut item = json!({"id": id, "fields": v.fields, "properties": v.properties});
                if let Some(fingerprint) = content {
                    item["content"] = json!(fingerprint);
                }
                write.push(item);
                refs.push(v.refs());
                (write.len() - 1, id)
            }));
        }
        if write.is_empty() {
            return Ok((checked, proposed, HashMap::new()));
        }
        let rows = ctx.store.insert_tasks(&write, &refs, &at, &window, ctx.request_id).await?;
        Ok((checked, proposed, rows.into_iter().filter_map(|r| Some((r.i? as usize, r))).collect::<HashMap<usize, TaskRow>>()))
    })
    .await?;
    let outcomes = checked.into_iter().map(|c| c.map(|_| ())).collect();
    stored_each("task", outcomes, |i| {
        let (w, id) = proposed[i].as_ref()?;
        let row = rows.get(w)?;
        let mut task = wire(row);
        if batch {
            task["created"] = json!(&row.id == id);
        }
        Some(task)
    })
}

pub async fn get(ctx: &Ctx<'_>) -> HandlerResult {
    let rows = ctx.store.tasks_by_ids(&[ctx.params[0]]).await?;
    respond::json(&wire(rows.first().ok_or_else(|| not_found(ctx.params[0]))?), 200)
}

/// Applies one patch to the given live tasks and writes them, with history, retrying on a
/// concurrent change. Answers the tasks as stored, in the order of `ids` (unknown ids left out,
/// each task once). A bad patch, or a reference it introduces to nothing, is a `400` naming the
/// field, and nothing is written.
async fn patch(ctx: &Ctx<'_>, ids: &[String], patch: &Value) -> Result<Vec<TaskRow>, ApiError> {
    check_patch(patch, &now()).map_err(|e| e.into_api_error("task"))?;
    let mut seen = HashSet::new();
    let ids: Vec<&String> = ids.iter().filter(|id| seen.insert(id.as_str())).collect();
    retry("these tasks are being changed by other requests", async || {
        let rows = ctx.store.tasks_by_ids(&ids).await?;
        let at = now();
        let mut updated = Vec::with_capacity(rows.len());
        for row in &rows {
            let old = values(row);
            let mut new = old.clone();
            apply_task(&mut new, patch, &at, false).map_err(|e| e.into_api_error("task"))?;
            updated.push((row, old, new));
        }
        // Only what the patch changes is checked: completing a task whose contact was deleted
        // since, or whose owner predates the first user, must still work.
        let introduced: Vec<_> = updated.iter().map(|(_, old, new)| new.refs().changed_from(old.refs())).collect();
        let known = ctx.store.references(introduced.iter().copied()).await?;
        for r in &introduced {
            known.check(*r, RefFields::WORK).map_err(|e| e.into_api_error("task"))?;
        }
        let write: Vec<Value> = updated
            .iter()
            .filter_map(|(row, old, new)| {
                let changes = task_changes(old, new);
                (!changes.is_empty()).then(|| {
                    json!({"id": row.id, "base": row.updated_at, "fields": new.fields, "properties": new.properties, "changes": changes})
                })
            })
            .collect();
        if write.is_empty() {
            return Ok(rows);
        }
        Ok(ctx.store.update_tasks(&write, &introduced, &ids, &at, ctx.request_id).await?)
    })
    .await
}

/// `PATCH /tasks/{id}`: partial update, the task back.
pub async fn update(ctx: &Ctx<'_>) -> HandlerResult {
    let body = ctx.body();
    if !body.is_object() {
        return Err(ApiError::invalid("request body must be a task object", vec![Detail::new("", "expected an object")]));
    }
    let rows = patch(ctx, &[ctx.params[0].to_string()], body).await?;
    respond::json(&wire(rows.first().ok_or_else(|| not_found(ctx.params[0]))?), 200)
}

/// `DELETE /tasks/{id}`: soft delete (history keeps the task), `{"id", "deleted": true}`.
pub async fn delete(ctx: &Ctx<'_>) -> HandlerResult {
    let id = ctx.params[0];
    if !ctx.store.delete_task(id, &now(), ctx.request_id).await? {
        return Err(not_found(id));
    }
    respond::json(&json!({ "id": id, "deleted": true }), 200)
}

/// `POST /tasks/batch {"ids": [...]}`: the found tasks, a bare array, read 1,000 ids a statement
/// and written out as text as they are read (10,000 tasks with long descriptions answer tens of
/// MB: held as `Value`s whole, they outgrew the isolate's memory).
pub async fn read_batch(ctx: &Ctx<'_>) -> HandlerResult {
    let ids = batch_ids(ctx.body(), ctx.config.max_batch)?;
    let mut out = ArrayText::default();
    for chunk in ids.chunks(RECORD_CHUNKS.max_items) {
        out.extend(ctx.store.tasks_by_ids(chunk).await?.iter().map(wire));
    }
    respond::json_text(out.finish(), 200)
}

/// `PATCH /tasks/batch {"ids": [...], ...fields}`: the same patch on every task named, the
/// updated tasks as a bare array.
pub async fn update_batch(ctx: &Ctx<'_>) -> HandlerResult {
    let ids = batch_ids(ctx.body(), ctx.config.max_batch)?;
    let mut body = ctx.body.clone().expect("route takes a body");
    body.as_object_mut().expect("checked by batch_ids").remove("ids");
    let rows = patch(ctx, &ids, &body).await?;
    let mut out = ArrayText::default();
    out.extend(rows.iter().map(wire));
    respond::json_text(out.finish(), 200)
}

/// `GET /tasks/{id}/history`.
pub async fn history(ctx: &Ctx<'_>, query: &[(String, String)]) -> HandlerResult {
    entity_history(ctx, IdKind::Task, "task", query).await
}
