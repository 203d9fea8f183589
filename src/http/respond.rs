//! Building responses.

use serde::Serialize;
use worker::Response;

use crate::domain::error::ApiError;

pub fn json<T: Serialize>(value: &T, status: u16) -> worker::Result<Response> {
    Ok(Response::from_json(value)?.with_status(status))
}

/// A JSON document that is already text.
pub fn raw_json(text: &str, status: u16) -> worker::Result<Response> {
    let mut response = Response::ok(text)?.with_status(status);
    response.headers_mut().set("Content-Type", "application/json; charset=utf-8")?;
    Ok(response)
}

pub fn error(err: &ApiError, request_id: &str) -> worker::Result<Response> {
    let mut response = json(&err.body(request_id), err.status())?;
    if let ApiError::MethodNotAllowed { allow } = err {
        response.headers_mut().set("Allow", &allow.join(", "))?;
    }
    Ok(response)
}
