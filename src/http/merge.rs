//! Duplicates and merges: parse, load, plan in the pure core (`domain::merge`), write
//! in one batch, answer.

use serde_json::json;

use super::context::{new_id, now, now_millis, HandlerResult};
use super::{candidates, respond, Ctx};
use crate::domain::error::ApiError;
use crate::domain::feed::parse_limit;
use crate::domain::matching::MatchRule;
use crate::domain::merge::{answer_merge, cursor_param, duplicate_fields, page_groups, plan_merge, DuplicateGroup, MergeRequest};
use crate::domain::ids::IdKind;
use crate::domain::record::RecordKind;
use crate::domain::unmerge::{answer_undo, plan_undo};
use crate::store::d1::{Store, StoreError};

/// Groups per page of `GET /{kind}/duplicates`: default and most.
const DEFAULT_GROUPS: usize = 50;
const MAX_GROUPS: usize = 200;

/// `GET /{kind}/duplicates?limit&cursor`: one statement. The SQL groups records by a shared key of
/// each term's anchor field; the core keeps the groups the whole term joins without a veto.
pub async fn duplicates(ctx: &Ctx<'_>, kind: RecordKind, query: &[(String, String)]) -> HandlerResult {
    let limit = parse_limit(query, DEFAULT_GROUPS, MAX_GROUPS)?;
    let after = cursor_param(query)?;
    let (groups, next) = group_page(&ctx.store, ctx.config.match_rule(kind), kind, &after, limit).await?;
    let groups: Vec<_> = groups.iter().map(|g| g.to_json()).collect();
    respond::json(&json!({"data": groups, "nextCursor": next}), 200)
}

/// One page of duplicate groups after the group `after` (`("", "")` for the first): `limit`
/// groups and the cursor of the next page, in one statement. The API's list, the dashboard and
/// the duplicates page read through here.
pub async fn group_page(
    store: &Store,
    rule: &MatchRule,
    kind: RecordKind,
    after: &(String, String),
    limit: usize,
) -> Result<(Vec<DuplicateGroup>, Option<String>), ApiError> {
    let rows = store.duplicates(kind, &duplicate_fields(rule), (&after.0, &after.1), limit + 1).await?;
    Ok(page_groups(rule, rows, limit))
}

/// `POST /{kind}/merge`: checked, then [`run`].
pub async fn merge(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    let request = MergeRequest::parse(kind, ctx.body())?;
    respond::json(&run(ctx, kind, &request).await?, 200)
}

/// A checked merge, loaded (one statement), planned, written in one batch, and its answer. A
/// record that changed or was merged by another request between the read and the write is
/// `409`: overlapping merges never both apply. The API's route and the review page's form both
/// merge through here.
pub async fn run(ctx: &Ctx<'_>, kind: RecordKind, request: &MergeRequest) -> Result<serde_json::Value, ApiError> {
    let loaded = ctx.store.merge_load(kind, &request.ids()).await?;
    let plan = plan_merge(kind, request, &loaded)?;
    let merge_id = new_id(IdKind::Merge).into_string();
    let survivor = match ctx.store.merge(kind, &plan, &merge_id, &now(), ctx.request_id).await {
        Ok(row) => row,
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict("a record of this merge changed or was merged by another request meanwhile; nothing was written".into()))
        }
        Err(e) => return Err(e.into()),
    };
    candidates::forget(ctx, kind, &plan.touched, plan.external_ids.iter().map(String::as_str)).await;
    let record = survivor.map(|r| r.to_wire(kind)).unwrap_or(serde_json::Value::Null);
    Ok(answer_merge(&plan, &merge_id, record))
}

/// `POST /{kind}/merge/{id}/undo`: [`run_undo`].
pub async fn undo(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    let merge_id = ctx.params.first().copied().unwrap_or_default();
    respond::json(&run_undo(ctx, kind, merge_id).await?, 200)
}

/// Undoes the merge `merge_id`: loaded (four statements), planned in the pure core
/// (`domain::unmerge`), written in one batch whose moves run set-based from the merge's history.
/// A later write to what the merge changed is `409` naming it, and so is one that lands between
/// this read and the write. The API's route and the record page's undo button both undo here.
pub async fn run_undo(ctx: &Ctx<'_>, kind: RecordKind, merge_id: &str) -> Result<serde_json::Value, ApiError> {
    let not_found = || ApiError::NotFound(format!("no merge of {} with id {merge_id}", kind.collection()).into());
    if !crate::domain::ids::looks_like(IdKind::Merge, merge_id) {
        return Err(not_found());
    }
    let read = ctx.store.undo_load(kind, merge_id).await?;
    if read.merge.is_none() {
        return Err(not_found());
    }
    let plan = plan_undo(kind, read.merge.as_ref(), &read.loaded, &read.history, &read.conflicts, now_millis())?;
    let survivor = match ctx.store.undo(kind, merge_id, &plan, &now(), ctx.request_id).await {
        Ok(row) => row,
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict("a record of this merge changed, or the merge was undone, by another request meanwhile; nothing was written".into()))
        }
        Err(e) => return Err(e.into()),
    };
    candidates::forget(ctx, kind, &plan.touched, plan.external_ids.iter().map(String::as_str)).await;
    let record = survivor.map(|r| r.to_wire(kind)).unwrap_or(serde_json::Value::Null);
    Ok(answer_undo(merge_id, &plan, record))
}
