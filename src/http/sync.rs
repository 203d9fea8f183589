//! `POST /{kind}/sync`: which incoming records already exist. Parse, load the candidates (one
//! statement), plan in the pure core (`domain::plan::plan_sync`), read the parents that
//! `MATCH_TO_PARENT` answers with when they were not candidates, link matched records that had
//! no externalId yet (one batch), answer.

use super::context::{now, HandlerResult};
use super::{candidates, respond, Ctx};
use crate::domain::plan::{answer_sync, plan_sync, SyncItem};
use crate::domain::record::{parse_new, RecordKind, RecordRow};
use crate::domain::request::{batch_items, sent};

pub async fn sync(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    let items = batch_items(ctx.body(), kind.collection(), ctx.config.max_batch)?;
    let parsed: Vec<_> = items.iter().map(|item| parse_new(kind, item).map(|r| SyncItem::of(kind, &r))).collect();
    let rule = ctx.config.match_rule(kind);
    let to_parent = kind == RecordKind::Company && ctx.config.match_to_parent;

    let incoming = parsed.iter().flatten().map(|i| (i.external_id.as_deref(), &i.keys));
    let candidates = candidates::load(ctx, kind, incoming).await?;
    let plan = plan_sync(kind, &parsed, candidates, rule, ctx.config.ambiguous_match, to_parent);
    let parents = match plan.parents_to_read.is_empty() {
        true => Vec::new(),
        false => ctx.store.by_ids(kind, &plan.parents_to_read).await?.iter().map(RecordRow::candidate).collect(),
    };
    if !plan.links.is_empty() {
        ctx.store.link_external(kind, &plan.links, &now(), ctx.request_id).await?;
    }
    let only = ctx.config.sync_back_fields(kind);
    respond::json(&answer_sync(kind, rule, &plan, &sent(items, "externalId"), &parents, to_parent, only), 200)
}
