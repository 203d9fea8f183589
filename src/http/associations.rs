//! `POST /associations` and `DELETE /associations`: parse, check the contacts and companies
//! named (one statement), write the live links (one batch, which re-checks them), answer every
//! item. A contact or company deleted between the check and the write is checked again.

use super::context::{now, retry, HandlerResult};
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
    let checked = retry("these contacts and companies are being changed by other requests", async || {
        let known = ctx.store.references(parsed.iter().flatten().map(Link::refs)).await?;
        let checked = check_links(parsed.clone(), &known);
        let writable: Vec<&Link> = checked.iter().flatten().collect();
        if !writable.is_empty() {
            let plan = plan_writes(&writable);
            match how {
                // A contact or company deleted since the check fails the write; checked again,
                // its items then answer `not_found`.
                LinkWrite::Add => {
                    let refs: Vec<_> = writable.iter().map(|l| l.refs()).collect();
                    ctx.store.add_links(&plan, &refs, &now(), ctx.request_id).await?
                }
                LinkWrite::Remove => ctx.store.remove_links(&plan, &now(), ctx.request_id).await?,
            }
        }
        Ok(checked)
    })
    .await?;
    respond::json(&answer_links(items, &checked), 200)
}
