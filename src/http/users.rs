//! Users, the owners (API.md §8): `GET /users` (a bare array, `404` while none exist, which
//! Enginy reads as "owner assignment off"), `POST /users` (one or `{"users": [...]}`, upserted by
//! email) and `DELETE /users/{id}`.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::context::{new_id, now, HandlerResult};
use super::work::{answer, items};
use super::{candidates, respond, Ctx};
use crate::domain::error::ApiError;
use crate::domain::ids::IdKind;
use crate::domain::record::RecordKind;
use crate::domain::work::{merge_by_email, parse_user};
use crate::store::d1_work::UserRow;

fn wire(row: &UserRow) -> Value {
    json!({ "id": row.id, "name": row.name, "email": row.email })
}

pub async fn list(ctx: &Ctx<'_>) -> HandlerResult {
    let rows = ctx.store.users().await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound("No users: owner assignment is disabled until one is added".into()));
    }
    respond::json(&rows.iter().map(wire).collect::<Vec<_>>(), 200)
}

/// `POST /users`: three statements in one transaction, whatever the batch.
pub async fn upsert(ctx: &Ctx<'_>) -> HandlerResult {
    let (batch, items) = items(ctx, "users")?;
    let parsed: Vec<_> = items.iter().map(|item| parse_user(item)).collect();
    let (merged, position) = merge_by_email(&parsed);
    let write: Vec<Value> = merged
        .iter()
        .map(|u| json!({"id": new_id(IdKind::User).into_string(), "name": u.name, "email": u.email, "emailKey": u.email_key, "properties": u.properties}))
        .collect();
    let resolved: HashMap<usize, UserRow> = if write.is_empty() {
        HashMap::new()
    } else {
        ctx.store
            .upsert_users(&write, &now())
            .await
            ?
            .into_iter()
            .filter_map(|r| Some((r.i? as usize, r)))
            .collect()
    };
    let outcomes = parsed.into_iter().map(|p| p.map(|_| ())).collect();
    answer("user", batch, outcomes, |i| position[i].and_then(|w| resolved.get(&w)).map(wire))
}

/// `DELETE /users/{id}`: the user is cleared as owner of every contact, company, task and
/// activity (each clearing kept in history, so records keep their `ownerId` history), then
/// removed; all in one transaction. The match cache then forgets the entries of the contacts and
/// companies it owned (their entries name the owner a sync sends back): one statement per kind,
/// and only with the cache on.
pub async fn delete(ctx: &Ctx<'_>) -> HandlerResult {
    let id = ctx.params[0];
    let Some(owned) = ctx.store.delete_user(id, &now(), ctx.request_id).await? else {
        return Err(ApiError::not_found("user", id));
    };
    let contacts: Vec<&str> = owned.contacts.iter().map(String::as_str).collect();
    let companies: Vec<&str> = owned.companies.iter().map(String::as_str).collect();
    candidates::forget_records(ctx, RecordKind::Contact, &contacts).await;
    candidates::forget_records(ctx, RecordKind::Company, &companies).await;
    respond::json(&json!({ "id": id, "deleted": true }), 200)
}
