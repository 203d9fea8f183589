//! The one error type of the API and its one mapping to a status code and a body.
//!
//! Handlers return `Result<_, ApiError>`; the pipeline turns the error into
//! `{"error": "<sentence>", "code": "<snake_case>", "details": [...]}`. An internal error's cause
//! is logged by the pipeline and never sent: the client gets "internal error" and the request id.

use serde::Serialize;
use serde_json::{json, Value};

/// One problem with one part of the input, located by a path such as `companies[3].employeeCount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detail {
    pub path: String,
    pub message: String,
}

impl Detail {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Detail {
        Detail { path: path.into(), message: message.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request is malformed: bad JSON or the wrong shape (`400`).
    BadRequest { message: String, details: Vec<Detail> },
    /// Missing or wrong credential (`401`).
    Unauthorized,
    /// Unknown route or record (`404`).
    NotFound(String),
    /// Known route, other method (`405`); `allow` becomes the `Allow` header.
    MethodNotAllowed { allow: Vec<&'static str> },
    /// Body over `MAX_BODY_BYTES` or more records than `MAX_BATCH` (`413`).
    PayloadTooLarge(String),
    /// A body that is not JSON (`415`).
    UnsupportedMediaType(String),
    /// Configuration invalid or database unreachable (`503`).
    Unavailable(String),
    /// Anything else (`500`). The cause is for the log only.
    Internal(String),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest { message: message.into(), details: Vec::new() }
    }

    pub fn invalid(message: impl Into<String>, details: Vec<Detail>) -> ApiError {
        ApiError::BadRequest { message: message.into(), details }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest { .. } => 400,
            ApiError::Unauthorized => 401,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { details, .. } if !details.is_empty() => "invalid_request",
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The sentence the client sees.
    pub fn message(&self, request_id: &str) -> String {
        match self {
            ApiError::BadRequest { message, .. }
            | ApiError::NotFound(message)
            | ApiError::PayloadTooLarge(message)
            | ApiError::UnsupportedMediaType(message)
            | ApiError::Unavailable(message) => message.clone(),
            ApiError::Unauthorized => "Unauthorized - invalid API key".to_string(),
            ApiError::MethodNotAllowed { allow } => {
                format!("Method not allowed; this route accepts {}", allow.join(", "))
            }
            ApiError::Internal(_) => format!("internal error (request id {request_id})"),
        }
    }

    /// The response body.
    pub fn body(&self, request_id: &str) -> Value {
        let mut body = json!({ "error": self.message(request_id), "code": self.code() });
        if let ApiError::BadRequest { details, .. } = self {
            if !details.is_empty() {
                body["details"] = json!(details);
            }
        }
        if let ApiError::Internal(_) = self {
            body["requestId"] = json!(request_id);
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_status_and_code() {
        let cases = [
            (ApiError::bad_request("x"), 400, "bad_request"),
            (ApiError::invalid("x", vec![Detail::new("a", "b")]), 400, "invalid_request"),
            (ApiError::Unauthorized, 401, "unauthorized"),
            (ApiError::NotFound("x".into()), 404, "not_found"),
            (ApiError::MethodNotAllowed { allow: vec!["GET"] }, 405, "method_not_allowed"),
            (ApiError::PayloadTooLarge("x".into()), 413, "payload_too_large"),
            (ApiError::UnsupportedMediaType("x".into()), 415, "unsupported_media_type"),
            (ApiError::Unavailable("x".into()), 503, "unavailable"),
            (ApiError::Internal("x".into()), 500, "internal_error"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status(), status);
            assert_eq!(err.code(), code);
            assert!(err.body("req_1")["error"].is_string());
        }
    }

    #[test]
    fn details_are_listed_with_paths() {
        let err = ApiError::invalid(
            "companies[3] is invalid",
            vec![Detail::new("companies[3].employeeCount", "expected a number")],
        );
        let body = err.body("r");
        assert_eq!(body["details"][0]["path"], "companies[3].employeeCount");
        assert_eq!(body["details"][0]["message"], "expected a number");
    }

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let err = ApiError::Internal("D1_ERROR: no such table: contacts: SQLITE_ERROR".into());
        let body = err.body("req_abc").to_string();
        assert!(!body.contains("SQLITE"), "{body}");
        assert!(!body.contains("contacts"), "{body}");
        assert!(body.contains("req_abc"));
    }
}
