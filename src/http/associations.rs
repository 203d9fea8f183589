//! `POST /associations` and `DELETE /associations` (API.md §6).

use std::collections::HashSet;

use serde_json::{json, Value};

use super::context::{now, store_error, HandlerResult};
use super::{respond, Ctx};
use crate::domain::association::{default_type, parse_link, plan_writes, Link, LinkError};
use crate::domain::record::RecordKind;
use crate::domain::request::batch_items;


/// Adds (`remove == false`) or removes links; every item gets its own outcome.
pub async fn write(ctx: &Ctx<'_>, remove: bool) -> HandlerResult {
    let body = ctx.body.as_ref().expect("route takes a body");
    let items = batch_items(body, "associations", ctx.config.max_batch)?;
    let default = default_type(body)?;
    let mut parsed: Vec<Result<Link, LinkError>> = items.iter().map(|i| parse_link(i, default)).collect();

    let valid: Vec<&Link> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
    if !valid.is_empty() {
        let contacts: Vec<&str> = valid.iter().map(|l| l.contact_id.as_str()).collect();
        let companies: Vec<&str> = valid.iter().map(|l| l.company_id.as_str()).collect();
        let found = ctx
            .store
            .link_targets(&json!(contacts).to_string(), &json!(companies).to_string())
            .await
            .map_err(store_error)?;
        let live_contacts: HashSet<String> = serde_json::from_str(&found.contacts).unwrap_or_default();
        let live_companies: HashSet<String> = serde_json::from_str(&found.companies).unwrap_or_default();
        for p in parsed.iter_mut() {
            let missing = match p {
                Ok(l) if !live_contacts.contains(&l.contact_id) => Some(RecordKind::Contact),
                Ok(l) if !live_companies.contains(&l.company_id) => Some(RecordKind::Company),
                _ => None,
            };
            if let Some(kind) = missing {
                *p = Err(LinkError { code: "not_found", message: kind.not_found_message().to_string() });
            }
        }
    }

    let writable: Vec<&Link> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
    if !writable.is_empty() {
        let plan = plan_writes(&writable).to_string();
        let result = if remove {
            ctx.store.remove_links(&plan, &now(), ctx.request_id).await
        } else {
            ctx.store.add_links(&plan, &now(), ctx.request_id).await
        };
        result.map_err(store_error)?;
    }

    let results: Vec<Value> = parsed
        .iter()
        .zip(items)
        .map(|(p, item)| match p {
            Ok(l) => json!({"contactCRMId": l.contact_id, "companyCRMId": l.company_id, "success": true}),
            Err(e) => json!({
                "contactCRMId": item.get("contactCRMId").cloned().unwrap_or(Value::Null),
                "companyCRMId": item.get("companyCRMId").cloned().unwrap_or(Value::Null),
                "success": false,
                "error": e.message,
                "code": e.code,
            }),
        })
        .collect();
    let success = parsed.iter().all(Result::is_ok);
    Ok(respond::json(&json!({ "success": success, "results": results }), 200))
}
