//! `GET /health`: configuration and database, checked for real on every call.

use serde_json::json;
use worker::Env;

use super::context::{self, HandlerResult};
use super::respond;
use crate::domain::error::degraded_sentence;
use crate::domain::time::Timestamp;
use crate::store::d1::Store;

/// `meter` gets the check's statement, for the response's figures.
pub async fn get(env: &Env, meter: &mut context::Meter) -> HandlerResult {
    let mut problems = Vec::new();
    if let Some(problem) = context::config_problem(env) {
        problems.push(problem);
    }
    let database = match Store::from_env(env) {
        Ok(store) => {
            meter.store = Some(store.meter());
            store.check().await
        }
        Err(e) => Err(e),
    };
    let database_ok = match database {
        Ok(()) => true,
        Err(e) => {
            problems.push(format!("database: {}", e.public_message()));
            false
        }
    };
    let mut body = json!({
        "status": if problems.is_empty() { "ok" } else { "degraded" },
        "timestamp": Timestamp::from_millis(context::now_millis()).to_rfc3339(),
        "version": env!("CARGO_PKG_VERSION"),
        "database": if database_ok { "ok" } else { "error" },
    });
    if problems.is_empty() {
        return respond::json(&body, 200);
    }
    body["error"] = json!(problems.join("; "));
    body["message"] = json!(degraded_sentence(&problems));
    body["code"] = json!("unavailable");
    respond::json(&body, 503)
}
