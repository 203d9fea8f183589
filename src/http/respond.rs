//! Building responses.

use serde::Serialize;
use serde_json::{json, Value};
use worker::Response;

use crate::domain::error::ApiError;
use crate::store::d1::HistoryRow;

pub fn json<T: Serialize>(value: &T, status: u16) -> Result<Response, ApiError> {
    Ok(Response::from_json(value)?.with_status(status))
}

/// A JSON answer already written as text, with the headers of [`json`]'s (the text becomes the
/// body as it is: no second copy).
pub fn json_text(text: String, status: u16) -> Result<Response, ApiError> {
    let mut response = Response::from_bytes(text.into_bytes())?.with_status(status);
    response.headers_mut().set("Content-Type", "application/json")?;
    Ok(response)
}

/// A JSON document that is already text.
pub fn raw_json(text: &str, status: u16) -> Result<Response, ApiError> {
    let mut response = Response::ok(text)?.with_status(status);
    response.headers_mut().set("Content-Type", "application/json; charset=utf-8")?;
    Ok(response)
}

pub fn error(err: &ApiError, request_id: &str) -> Result<Response, ApiError> {
    let mut response = json(&err.body(request_id), err.status())?;
    if let ApiError::MethodNotAllowed { allow } = err {
        response.headers_mut().set("Allow", &allow.join(", "))?;
    }
    if let Some(seconds) = err.retry_after() {
        response.headers_mut().set("Retry-After", &seconds.to_string())?;
    }
    Ok(response)
}

/// An entity's history (a record's, a task's, an activity's), newest first: `{id, history}` with
/// each change's old and new value as the JSON they were, and the value as sent where it was
/// stored otherwise (`sentValue`).
pub fn history(id: &str, rows: &[HistoryRow]) -> Result<Response, ApiError> {
    // A value that is not the JSON it was written as is an error, never shown as `null`.
    let parse = |v: &Option<String>| match v.as_deref() {
        None => Ok(Value::Null),
        Some(t) => serde_json::from_str::<Value>(t).map_err(|e| ApiError::Internal(format!("history of {id}: {e}"))),
    };
    let data = rows
        .iter()
        .map(|h| {
            let mut entry = json!({
                "field": h.field,
                "oldValue": parse(&h.old_value)?,
                "newValue": parse(&h.new_value)?,
                "changedAt": h.changed_at,
                "requestId": h.request_id,
                "actor": h.actor,
            });
            // What the client sent, where it was stored otherwise (a page URL sent as a domain).
            if h.sent_value.is_some() {
                entry["sentValue"] = parse(&h.sent_value)?;
            }
            // A value sent and not applied: the stored one stayed (old and new), this one is the
            // value as sent.
            if h.applied == 0.0 {
                entry["applied"] = json!(false);
            }
            Ok(entry)
        })
        .collect::<Result<Vec<Value>, ApiError>>()?;
    json(&json!({ "id": id, "history": data }), 200)
}
