//! Activities (API.md §7): `POST /activities` (one or `{"activities": [...]}`), idempotent on
//! `(type, metadata.messageId)`; `GET /activities/{id}`; and a record's timeline.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::context::{new_id, now, retry, HandlerResult};
use super::candidates;
use super::records::is_live;
use super::work::{check_refs, create_each, history as entity_history, stored_each};
use super::{respond, Ctx};
use crate::domain::error::ApiError;
use crate::domain::feed::encode_cursor;
use crate::domain::ids::IdKind;
use crate::domain::record::RecordKind;
use crate::domain::error::{ItemCode, ItemError};
use crate::domain::work::{parse_activity, ActivityInput, TimelineQuery, Window};
use crate::store::d1_work::ActivityRow;

fn wire(row: &ActivityRow) -> Value {
    json!({
        "id": row.id,
        "type": row.activity_type,
        "subject": row.subject,
        "body": row.body,
        "direction": row.direction,
        "ownerId": row.owner_id,
        "ownerName": row.owner_name,
        "occurredAt": row.occurred_at,
        "contactId": row.contact_id,
        "companyId": row.company_id,
        "metadata": row.metadata,
        "createdAt": row.created_at,
        "properties": row.properties,
    })
}

/// `POST /activities`. The same statements whatever the batch: the reference check (when an
/// activity names anything), then, in one transaction, the reference guard, insert, history, the
/// two `lastActivityDate` moves and the read-back. A retry of a logged `(type, messageId)`, even
/// one racing the first, is refused by the unique index and answered with the first activity; so
/// is a retry of an activity sent with no key at all and the content of one logged in the last ten
/// minutes (`domain::work::content`). The batch form says `created: false` of a retry.
pub async fn log(ctx: &Ctx<'_>) -> HandlerResult {
    create_each(ctx, "activities", "activity", async |part, batch| log_part(ctx, part, batch).await).await
}

/// Logs the activities of one chunk (one transaction); each item's outcome.
async fn log_part(ctx: &Ctx<'_>, items: &[&Value], batch: bool) -> Result<Vec<Result<Value, ItemError>>, ApiError> {
    let at = now();
    let window = Window::of(&at);
    let parsed: Vec<Result<ActivityInput, ItemError>> = items.iter().map(|item| parse_activity(item, &at)).collect();
    // The content fingerprints of the activities sent without any key.
    let content: Vec<Option<&str>> = parsed.iter().map(|p| p.as_ref().ok().filter(|_| !ctx.keyed).and_then(|a| a.content.as_deref())).collect();
    let (checked, retried, proposed, resolved) = retry("the contacts, companies or users these activities name are being changed", async || {
        let checked = check_refs(ctx, &parsed, ActivityInput::refs, ActivityInput::acting).await?;
        // A retry answers the activity logged first, even when what it names is gone since (it
        // failed the check, so it is not written again).
        let retried = logged_before(ctx, &parsed, &checked, &content, &window).await?;
        // Each item's proposed id and its place in the write.
        let mut proposed: Vec<Option<(usize, String)>> = Vec::with_capacity(checked.len());
        let (mut write, mut refs) = (Vec::new(), Vec::new());
        for (c, content) in checked.iter().zip(&content) {
            proposed.push(c.as_ref().ok().map(|a| {
                let id = new_id(IdKind::Activity).into_string();
                let mut item = json!({
                    "id": id,
                    "type": a.activity_type, "subject": a.subject, "body": a.body, "direction": a.direction,
                    "ownerId": a.owner_id, "occurredAt": a.occurred_at, "contactId": a.contact_id, "companyId": a.company_id,
                    "metadata": a.metadata, "messageId": a.message_id, "properties": a.properties,
                });
                if let Some(fingerprint) = content {
                    item["content"] = json!(fingerprint);
                }
                write.push(item);
                refs.push(a.refs());
                (write.len() - 1, id)
            }));
        }
        let resolved: HashMap<usize, ActivityRow> = if write.is_empty() {
            HashMap::new()
        } else {
            let rows = ctx.store.log_activities(&write, &refs, &at, &window, ctx.request_id).await?;
            rows.into_iter().filter_map(|r| Some((r.i? as usize, r))).collect()
        };
        Ok((checked, retried, proposed, resolved))
    })
    .await?;
    // The contacts and companies whose lastActivityDate moved: a sync answered from the cache
    // must not send back the old date.
    let logged = resolved.values();
    let contacts: Vec<&str> = logged.clone().filter_map(|r| r.contact_id.as_deref()).collect();
    let companies: Vec<&str> = logged.filter_map(|r| r.company_id.as_deref()).collect();
    candidates::forget_records(ctx, RecordKind::Contact, &contacts).await;
    candidates::forget_records(ctx, RecordKind::Company, &companies).await;
    let outcomes = checked.into_iter().enumerate().map(|(i, c)| if retried.contains_key(&i) { Ok(()) } else { c.map(|_| ()) }).collect();
    stored_each("activity", outcomes, |i| {
        let (row, created) = match (retried.get(&i), &proposed[i]) {
            (Some(row), _) => (row, false),
            (None, Some((w, id))) => resolved.get(w).map(|row| (row, &row.id == id))?,
            (None, None) => return None,
        };
        let mut activity = wire(row);
        if batch {
            activity["created"] = json!(created);
        }
        Some(activity)
    })
}

/// The activities already logged for the items that name something unknown and carry a
/// `messageId` or a content key: those are retries, answered with the first activity. One
/// statement, and only when such an item exists.
async fn logged_before(
    ctx: &Ctx<'_>,
    parsed: &[Result<ActivityInput, ItemError>],
    checked: &[Result<ActivityInput, ItemError>],
    content: &[Option<&str>],
    window: &Window,
) -> Result<HashMap<usize, ActivityRow>, ApiError> {
    let lookups: Vec<Value> = parsed
        .iter()
        .zip(checked)
        .zip(content)
        .enumerate()
        .filter_map(|(i, ((p, c), content))| match (p, c, content) {
            (Ok(a), Err(e), _) if e.code == ItemCode::NotFound && a.message_id.is_some() => {
                Some(json!({"i": i, "type": a.activity_type, "messageId": a.message_id}))
            }
            (Ok(_), Err(e), Some(fingerprint)) if e.code == ItemCode::NotFound => Some(json!({"i": i, "content": fingerprint})),
            _ => None,
        })
        .collect();
    if lookups.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = ctx.store.logged_activities(&lookups, window).await?;
    Ok(rows.into_iter().filter_map(|r| Some((r.i? as usize, r))).collect())
}

pub async fn get(ctx: &Ctx<'_>) -> HandlerResult {
    let row = ctx
        .store
        .activity(ctx.params[0])
        .await?
        .ok_or_else(|| ApiError::not_found("activity", ctx.params[0]))?;
    respond::json(&wire(&row), 200)
}

/// `GET /contacts/{id}/activities`, `GET /companies/{id}/activities?limit&cursor`: the live
/// record's timeline, newest first, `{"data", "nextCursor"}`.
pub async fn timeline(ctx: &Ctx<'_>, kind: RecordKind, query: &[(String, String)]) -> HandlerResult {
    let q = TimelineQuery::parse(query)?;
    let id = ctx.params[0];
    if !is_live(ctx, kind, id).await? {
        return Err(ApiError::not_found(kind.key_kind(), id));
    }
    // One more than the page: whether another page follows.
    let rows = ctx
        .store
        .timeline(kind, id, (&q.before_time, &q.before_id), q.limit + 1)
        .await?;
    let page = &rows[..rows.len().min(q.limit)];
    let next = if rows.len() > q.limit { page.last().map(|r| encode_cursor(&r.occurred_at, &r.id)) } else { None };
    let data: Vec<Value> = page.iter().map(wire).collect();
    respond::json(&json!({ "data": data, "nextCursor": next }), 200)
}

/// `GET /activities/{id}/history`.
pub async fn history(ctx: &Ctx<'_>, query: &[(String, String)]) -> HandlerResult {
    entity_history(ctx, IdKind::Activity, "activity", query).await
}
