//! `Idempotency-Key` around a `POST` or `PATCH` handler (the decisions are in
//! `domain::idempotency`): claim the key (one statement), run the handler and keep its answer, or
//! answer the kept one again with `Idempotent-Replayed: true`.

use std::borrow::Cow;
use std::future::Future;

use worker::ResponseBody;

use super::context::{now, now_millis, HandlerResult};
use super::{respond, Ctx};
use crate::domain::error::ApiError;
use crate::domain::idempotency::{keeps, kept_since, replay, Replay};

pub async fn run(ctx: &Ctx<'_>, key: &str, route: &str, fingerprint: &str, handler: impl Future<Output = HandlerResult>) -> HandlerResult {
    let claimed = ctx.store.claim_key(key, route, fingerprint, &now(), &kept_since(now_millis())).await?;
    if !claimed {
        let used = ctx.store.used_key(key).await?;
        // Gone between the two reads (expired and taken over, or released): ask for a retry.
        let used = used.ok_or_else(|| ApiError::Conflict("this Idempotency-Key changed hands; retry".into()))?;
        return match replay(&used, fingerprint) {
            Replay::Answer { status, body } => {
                let mut response = respond::raw_json(&body, status)?;
                response.headers_mut().set("Idempotent-Replayed", "true")?;
                Ok(response)
            }
            Replay::Refuse(e) => Err(e),
        };
    }
    // The handler's write batches mark the key committed in their own transactions.
    ctx.store.hold_key(key);
    let mut outcome = handler.await;
    let (status, body): (u16, Cow<str>) = match &mut outcome {
        // The answer's own bytes, read where they are (no copy through the runtime and back).
        Ok(response) if matches!(response.body(), ResponseBody::Body(_)) => {
            let ResponseBody::Body(bytes) = response.body() else { unreachable!("matched above") };
            let text = std::str::from_utf8(bytes).map_err(|e| ApiError::Internal(format!("the answer is not UTF-8: {e}")))?;
            (response.status_code(), Cow::Borrowed(text))
        }
        Ok(response) => (response.status_code(), Cow::Owned(response.cloned()?.text().await?)),
        Err(e) => (e.status(), Cow::Owned(e.body(ctx.request_id).to_string())),
    };
    // Keeping the answer must never fail the request it answers: a key left claimed is
    // answered `409` until it expires, and the writes themselves are idempotent.
    let kept = match keeps(status, body.len()) {
        true => ctx.store.finish_key(key, status, &body).await,
        false => ctx.store.release_key(key).await,
    };
    if let Err(e) = kept {
        worker::console_error!("idempotency key not kept: {e}");
    }
    outcome
}
