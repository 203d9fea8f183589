//! `POST /{kind}/sync`: which incoming records already exist, in chunks (see `domain::chunk`). Per
//! chunk: parse, load the candidates (from the match cache, the rest in one statement), plan in
//! the pure core (`domain::plan::plan_sync`) whatever they came from, read the parents that
//! `MATCH_TO_PARENT` answers with when they were not candidates, link matched records that had no
//! externalId yet (one batch, which fails when one of them was deleted since the read: the sync
//! then decides again; after the response when the cache answered everything, so such a sync runs
//! no D1 statement), answer.

use serde_json::Value;

use super::context::{now, retry, HandlerResult};
use super::{candidates, records, Ctx};
use crate::domain::error::ApiError;
use crate::domain::plan::{answer_sync, plan_sync, SyncItem};
use crate::domain::record::{parse_new, RecordKind, RecordRow};
use crate::domain::request::sent;

pub async fn sync(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    records::chunked(ctx.batch(kind.collection())?, async |items, _| sync_chunk(ctx, kind, items).await).await
}

async fn sync_chunk(ctx: &Ctx<'_>, kind: RecordKind, items: &[Value]) -> Result<Value, ApiError> {
    let parsed: Vec<_> = items.iter().map(|item| parse_new(kind, item).map(|r| SyncItem::of(kind, &r))).collect();
    let rule = ctx.config.match_rule(kind);
    let to_parent = kind == RecordKind::Company && ctx.config.match_to_parent;

    let (plan, parents, read, defer) = retry("these records are being changed by other requests", async || {
        let incoming = parsed.iter().flatten().map(|i| (i.external_id.as_deref(), &i.keys));
        let (candidates, read) = candidates::load_for_sync(ctx, kind, incoming).await?;
        let plan = plan_sync(kind, &parsed, candidates, rule, ctx.config.ambiguous_match, to_parent);
        let parents: Vec<_> = match plan.parents_to_read.is_empty() {
            true => Vec::new(),
            false => ctx.store.by_ids(kind, &plan.parents_to_read).await?.iter().map(RecordRow::candidate).collect(),
        };
        // A sync the cache answered alone leaves its links to after the response.
        let defer = read.cached() && ctx.store.statements() == 0;
        if !plan.links.is_empty() && !defer {
            ctx.store.link_external(kind, &plan.links, &now(), ctx.request_id).await?;
        }
        Ok((plan, parents, read, defer))
    })
    .await?;
    candidates::after_sync(ctx, kind, read, plan.candidates(), plan.links.clone(), defer);
    let only = ctx.config.sync_back_fields(kind);
    Ok(answer_sync(kind, rule, &plan, &sent(items, "externalId"), &parents, to_parent, only))
}
