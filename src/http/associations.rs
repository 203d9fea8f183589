//! `POST /associations` and `DELETE /associations`: parse, check the contacts and companies
//! named (one statement), write the live links (one batch), answer every item.

use super::context::{now, HandlerResult};
use super::{respond, Ctx};
use crate::domain::association::{answer_links, check_links, default_type, parse_link, plan_writes, Link};
use crate::domain::request::batch_items;

/// What a links route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkWrite {
    Add,
    Remove,
}

pub async fn write(ctx: &Ctx<'_>, how: LinkWrite) -> HandlerResult {
    let items = batch_items(ctx.body(), "associations", ctx.config.max_batch)?;
    let default = default_type(ctx.body())?;
    let parsed: Vec<_> = items.iter().map(|i| parse_link(i, default)).collect();
    let known = ctx.store.references(parsed.iter().flatten().map(Link::refs)).await?;
    let checked = check_links(parsed, &known);
    let writable: Vec<&Link> = checked.iter().flatten().collect();
    if !writable.is_empty() {
        let plan = plan_writes(&writable);
        match how {
            LinkWrite::Add => ctx.store.add_links(&plan, &now(), ctx.request_id).await?,
            LinkWrite::Remove => ctx.store.remove_links(&plan, &now(), ctx.request_id).await?,
        }
    }
    respond::json(&answer_links(items, &checked), 200)
}
