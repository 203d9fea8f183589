//! The one error type of the API and its one mapping to a status code and a body.
//!
//! Handlers return `Result<_, ApiError>`; the pipeline turns the error into
//! `{"error": "<short reason>", "message": "<a sentence naming the thing>", "code": "<snake_case>",
//! "details": [...]}` (Enginy's documents show `error` and `message`: `{"error": "Task not found",
//! "message": "No task exists with the id \"tk_x\"."}`). A batch item's failure has the same three
//! ([`ItemError`]). Both are decided here, and only here. An internal error's cause is logged by
//! the pipeline and never sent: the client gets "internal error" and the request id.

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
    /// The request is malformed: bad JSON or the wrong shape (`400`). `sentence`, when set, is
    /// the answer's `message` (otherwise the sentence of `message`).
    BadRequest { message: String, details: Vec<Detail>, sentence: Option<String> },
    /// Missing or wrong credential (`401`).
    Unauthorized,
    /// Unknown route or record (`404`).
    NotFound(Missing),
    /// Known route, other method (`405`); `allow` becomes the `Allow` header.
    MethodNotAllowed { allow: Vec<&'static str> },
    /// Body over `MAX_BODY_BYTES` or more records than `MAX_BATCH` (`413`).
    PayloadTooLarge(String),
    /// A body that is not JSON (`415`).
    UnsupportedMediaType(String),
    /// The request is in conflict with one still running (`409`): the same `Idempotency-Key`.
    Conflict(String),
    /// Well-formed but not acceptable (`422`): an `Idempotency-Key` too long, or reused with
    /// another body.
    Unprocessable(String),
    /// Configuration invalid or database unreachable (`503`).
    Unavailable(String),
    /// Other requests kept changing what this one writes, for longer than its retries may take
    /// (`503` with `Retry-After`, in seconds).
    Busy { message: String, retry_after: u32 },
    /// Too many failed credentials from this client (`429` with `Retry-After`, in seconds).
    RateLimited { retry_after: u32 },
    /// Anything else (`500`). The cause is for the log only.
    Internal(String),
}

/// What a `404` says: the short reason (`Task not found`) and the sentence naming what is missing
/// (`No task exists with the id "tk_x".`). From a text alone, the sentence is that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub error: String,
    pub message: String,
}

impl From<&str> for Missing {
    fn from(error: &str) -> Missing {
        Missing::from(error.to_string())
    }
}

impl From<String> for Missing {
    fn from(error: String) -> Missing {
        Missing { message: sentence(&error), error }
    }
}

/// `text` as a sentence: its first letter upper-cased when the first word is a plain lower-case
/// word (never a field name such as `subject:` or `companies[3]`), and a full stop at its end.
pub fn sentence(text: &str) -> String {
    let text = text.trim();
    let first = text.split_whitespace().next().unwrap_or("");
    let mut out = if !first.is_empty() && first.bytes().all(|b| b.is_ascii_lowercase()) {
        let mut chars = text.chars();
        chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars).collect()
    } else {
        text.to_string()
    };
    if !out.is_empty() && !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The `message` of a degraded `/health`: what keeps the CRM from serving, as one sentence.
pub fn degraded_sentence(problems: &[String]) -> String {
    sentence(&format!("This CRM cannot serve requests until this is fixed: {}", problems.join("; ")))
}

/// `noun` with its first letter upper-cased (`task` is `Task`).
fn capitalised(noun: &str) -> String {
    let mut chars = noun.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

impl ApiError {
    /// A `404` for a record, task, activity, user or merge that does not exist: `Task not found`,
    /// `No task exists with the id "tk_x".`
    pub fn not_found(noun: &str, id: &str) -> ApiError {
        ApiError::NotFound(Missing { error: format!("{} not found", capitalised(noun)), message: format!("No {noun} exists with the id {id:?}.") })
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest { message: message.into(), details: Vec::new(), sentence: None }
    }

    pub fn invalid(message: impl Into<String>, details: Vec<Detail>) -> ApiError {
        ApiError::BadRequest { message: message.into(), details, sentence: None }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest { .. } => 400,
            ApiError::Unauthorized => 401,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Conflict(_) => 409,
            ApiError::Unprocessable(_) => 422,
            ApiError::Unavailable(_) | ApiError::Busy { .. } => 503,
            ApiError::RateLimited { .. } => 429,
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
            ApiError::Conflict(_) => "conflict",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::Unavailable(_) | ApiError::Busy { .. } => "unavailable",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The short reason, the answer's `error` (the reference server's words where it has them:
    /// `Task not found`, `Unauthorized - invalid API key`).
    pub fn message(&self, request_id: &str) -> String {
        match self {
            ApiError::BadRequest { message, .. }
            | ApiError::PayloadTooLarge(message)
            | ApiError::UnsupportedMediaType(message)
            | ApiError::Conflict(message)
            | ApiError::Unprocessable(message)
            | ApiError::Unavailable(message)
            | ApiError::Busy { message, .. } => message.clone(),
            ApiError::NotFound(missing) => missing.error.clone(),
            ApiError::RateLimited { retry_after } => {
                format!("too many failed attempts to authenticate from this address; retry in {retry_after} s")
            }
            ApiError::Unauthorized => "Unauthorized - invalid API key".to_string(),
            ApiError::MethodNotAllowed { allow } => {
                format!("Method not allowed; this route accepts {}", allow.join(", "))
            }
            ApiError::Internal(_) => format!("internal error (request id {request_id})"),
        }
    }

    /// The sentence naming the thing at fault, the answer's `message`: for a person to read, and
    /// never holding internals (an internal error's cause stays in the log).
    pub fn sentence(&self, request_id: &str) -> String {
        match self {
            ApiError::NotFound(missing) => missing.message.clone(),
            ApiError::BadRequest { sentence: Some(sentence), .. } => sentence.clone(),
            ApiError::Unauthorized => {
                "The request carries no valid API key: send one of this CRM's keys in its API key header (X-API-Key unless configured otherwise).".to_string()
            }
            ApiError::MethodNotAllowed { allow } => format!("This route does not take this method; it takes {}.", allow.join(", ")),
            ApiError::RateLimited { retry_after } => format!(
                "Too many failed attempts to authenticate came from this address; retry in {retry_after} seconds."
            ),
            ApiError::Internal(_) => format!("The server failed to answer this request; its request id is {request_id}."),
            other => sentence(&other.message(request_id)),
        }
    }

    /// The `Retry-After` header's value, in seconds, when the answer has one.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            ApiError::Busy { retry_after, .. } | ApiError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// The response body.
    pub fn body(&self, request_id: &str) -> Value {
        let mut body = json!({ "error": self.message(request_id), "message": self.sentence(request_id), "code": self.code() });
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

/// Why one item of a batch failed. Every batch route (records, tasks, activities, users,
/// associations) reports its items' failures with this one type, so one cause has one code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemCode {
    /// The item itself is wrong: a field of the wrong type, too long, missing (`invalid`).
    Invalid,
    /// The item names a record, task, user or activity that does not exist (`not_found`).
    NotFound,
    /// Several stored records match the item and `AMBIGUOUS_MATCH=error` (`ambiguous`).
    Ambiguous,
    /// The item writes a name the CRM owns (`id`, `createdAt`, ...) (`read_only`).
    ReadOnly,
    /// The item claims what another record holds: an `externalId` linked to another record
    /// (`conflict`).
    Conflict,
}

impl ItemCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemCode::Invalid => "invalid",
            ItemCode::NotFound => "not_found",
            ItemCode::Ambiguous => "ambiguous",
            ItemCode::ReadOnly => "read_only",
            ItemCode::Conflict => "conflict",
        }
    }
}

/// One item's failure: a code, the field at fault (as the client wrote its path, `tags`,
/// `properties.score`; `None` when the item as a whole is at fault), the short text the client
/// reads as `error`, which starts with the field when there is one (`subject: is required`), and
/// the sentence it reads as `message` (`The field subject is required.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    pub code: ItemCode,
    pub field: Option<String>,
    pub message: String,
    pub sentence: String,
}

/// The sentence of a problem with one field: `The field subject is required.`, `The field
/// completed is not valid: expected true or false, got a string.`
fn field_sentence(field: &str, problem: &str) -> String {
    let reads_on = ["is ", "must ", "has ", "cannot "].iter().any(|verb| problem.starts_with(verb));
    match reads_on {
        true => sentence(&format!("The field {field} {problem}")),
        false => sentence(&format!("The field {field} is not valid: {problem}")),
    }
}

impl ItemError {
    /// `field: problem`.
    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> ItemError {
        let problem = problem.to_string();
        ItemError {
            code: ItemCode::Invalid,
            field: Some(field.to_string()),
            sentence: field_sentence(field, &problem),
            message: format!("{field}: {problem}"),
        }
    }

    /// A problem with the item as a whole.
    pub fn whole(message: impl Into<String>) -> ItemError {
        let message = message.into();
        ItemError { code: ItemCode::Invalid, field: None, sentence: sentence(&format!("The item is not valid: {message}")), message }
    }

    /// A reference to nothing: `ownerId: no user has the id "us_9"`.
    pub fn unknown(field: &str, what: &str, id: &str) -> ItemError {
        ItemError {
            code: ItemCode::NotFound,
            field: Some(field.to_string()),
            message: format!("{field}: no {what} has the id {id:?}"),
            sentence: format!("No {what} exists with the id {id:?}, which {field} names."),
        }
    }

    /// The record the item addresses does not exist: `Contact not found` (the reference server's
    /// words), `No contact exists with the id "ct_9".`, at `field` when the item names it by one.
    pub fn missing(field: Option<&str>, noun: &str, id: &str) -> ItemError {
        ItemError {
            code: ItemCode::NotFound,
            field: field.map(str::to_string),
            message: format!("{} not found", capitalised(noun)),
            sentence: format!("No {noun} exists with the id {id:?}."),
        }
    }

    /// A name the CRM owns, sent as data: never a silent success.
    pub fn read_only(field: &str) -> ItemError {
        let problem = "is set by the CRM and cannot be written";
        ItemError {
            code: ItemCode::ReadOnly,
            field: Some(field.to_string()),
            message: format!("{field}: {problem}"),
            sentence: field_sentence(field, problem),
        }
    }

    /// `field` claims a value another record holds.
    pub fn conflict(field: &str, message: impl std::fmt::Display) -> ItemError {
        ItemError {
            code: ItemCode::Conflict,
            field: Some(field.to_string()),
            sentence: sentence(&format!("The field {field} conflicts with another record: {message}")),
            message: format!("{field}: {message}"),
        }
    }

    pub fn ambiguous(message: impl Into<String>) -> ItemError {
        let message = message.into();
        ItemError { code: ItemCode::Ambiguous, field: None, sentence: sentence(&message), message }
    }

    /// The error's part of an item's answer: `{"error", "message", "code", "field"?}`. Routes add
    /// what locates the item (`index`, `externalId`, `crmId`, ...).
    pub fn to_json(&self) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        out.insert("error".into(), json!(self.message));
        out.insert("message".into(), json!(self.sentence));
        out.insert("code".into(), json!(self.code.as_str()));
        if let Some(field) = &self.field {
            out.insert("field".into(), json!(field));
        }
        out
    }

    /// An item's failure as its answer reports it: what locates the item (`index`, `externalId`,
    /// `crmId`, ...), then [`ItemError::to_json`].
    pub fn located<'a>(&self, locate: impl IntoIterator<Item = (&'a str, Value)>) -> serde_json::Map<String, Value> {
        let mut out: serde_json::Map<String, Value> = locate.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        out.extend(self.to_json());
        out
    }

    /// The error as a request-level [`Detail`], located under `item_path` (`companies[3]`, or
    /// `""` for the body itself).
    pub fn detail(&self, item_path: &str) -> Detail {
        let path = match (&self.field, item_path.is_empty()) {
            (Some(field), true) => field.clone(),
            (Some(field), false) => format!("{item_path}.{field}"),
            (None, _) => item_path.to_string(),
        };
        Detail::new(path, self.message.clone())
    }

    /// The `400` of a route that takes one item (`invalid task: subject: ...`; `The task was not
    /// accepted: the field subject is required.`).
    pub fn into_api_error(self, noun: &str) -> ApiError {
        let mut chars = self.sentence.chars();
        let item = match (chars.next(), chars.next()) {
            // `The field …`, `No user …` read on in lower case; `CRM …` or `Idempotency-Key` keep theirs.
            (Some(first), Some(second)) if second.is_lowercase() => format!("{}{}", first.to_lowercase(), &self.sentence[first.len_utf8()..]),
            _ => self.sentence.clone(),
        };
        ApiError::BadRequest {
            message: format!("invalid {noun}: {}", self.message),
            details: vec![self.detail("")],
            sentence: Some(format!("The {noun} was not accepted: {item}")),
        }
    }
}

impl std::fmt::Display for ItemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ItemError {}

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
            (ApiError::Conflict("x".into()), 409, "conflict"),
            (ApiError::Unprocessable("x".into()), 422, "unprocessable"),
            (ApiError::Unavailable("x".into()), 503, "unavailable"),
            (ApiError::Internal("x".into()), 500, "internal_error"),
            (ApiError::Busy { message: "x".into(), retry_after: 1 }, 503, "unavailable"),
            (ApiError::RateLimited { retry_after: 60 }, 429, "rate_limited"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status(), status);
            assert_eq!(err.code(), code);
            assert!(err.body("req_1")["error"].is_string());
        }
    }

    #[test]
    fn busy_and_rate_limited_answers_say_when_to_retry() {
        assert_eq!(ApiError::Busy { message: "x".into(), retry_after: 2 }.retry_after(), Some(2));
        assert_eq!(ApiError::RateLimited { retry_after: 60 }.retry_after(), Some(60));
        assert_eq!(ApiError::Unavailable("x".into()).retry_after(), None);
        assert!(ApiError::RateLimited { retry_after: 60 }.message("r").contains("60 s"));
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

    #[test]
    fn item_errors_name_their_field_once_and_one_code_per_cause() {
        let e = ItemError::invalid("tags", "expected a list");
        let message = "The field tags is not valid: expected a list.";
        assert_eq!(Value::Object(e.to_json()), json!({"error": "tags: expected a list", "message": message, "code": "invalid", "field": "tags"}));
        let whole = ItemError::whole("expected a contact object, got an array");
        assert!(!whole.to_json().contains_key("field"));
        let at = e.located([("index", json!(3)), ("externalId", json!("e-3"))]);
        assert_eq!(
            Value::Object(at),
            json!({"index": 3, "externalId": "e-3", "error": "tags: expected a list", "message": message, "code": "invalid", "field": "tags"})
        );
        let owner = ItemError::unknown("ownerId", "user", "us_9");
        assert_eq!((owner.code.as_str(), owner.message.as_str()), ("not_found", "ownerId: no user has the id \"us_9\""));
        assert_eq!(owner.detail("contacts[2]").path, "contacts[2].ownerId");
        let api = ItemError::invalid("subject", "is too long").into_api_error("task");
        assert_eq!(api.body("r")["details"][0], json!({"path": "subject", "message": "subject: is too long"}));
        assert_eq!(api.message("r"), "invalid task: subject: is too long");
        assert_eq!(api.body("r")["message"], "The task was not accepted: the field subject is too long.");
    }

    #[test]
    fn every_error_answer_has_a_message_naming_the_thing() {
        let cases = [
            (ApiError::not_found("task", "tk_9"), "Task not found", "No task exists with the id \"tk_9\"."),
            (ApiError::NotFound("no merge of contacts with id mg_1".into()), "no merge of contacts with id mg_1", "No merge of contacts with id mg_1."),
            (ApiError::bad_request("request body is empty"), "request body is empty", "Request body is empty."),
            (
                ApiError::invalid("companies[3] is invalid", vec![Detail::new("companies[3].x", "y")]),
                "companies[3] is invalid",
                "companies[3] is invalid.",
            ),
            (ApiError::Unprocessable("Idempotency-Key is blank: send a unique token".into()), "Idempotency-Key is blank: send a unique token", "Idempotency-Key is blank: send a unique token."),
            (ApiError::MethodNotAllowed { allow: vec!["GET", "HEAD"] }, "Method not allowed; this route accepts GET, HEAD", "This route does not take this method; it takes GET, HEAD."),
            (ApiError::RateLimited { retry_after: 60 }, "too many failed attempts to authenticate from this address; retry in 60 s", "Too many failed attempts to authenticate came from this address; retry in 60 seconds."),
        ];
        for (err, error, message) in cases {
            let body = err.body("req_1");
            assert_eq!((body["error"].as_str(), body["message"].as_str()), (Some(error), Some(message)), "{err:?}");
        }
        for err in [ApiError::Unauthorized, ApiError::Internal("x".into()), ApiError::Busy { message: "busy".into(), retry_after: 1 }] {
            let message = err.body("req_1")["message"].as_str().unwrap().to_string();
            assert!(message.ends_with('.') && message.chars().next().unwrap().is_uppercase(), "{message}");
        }
        assert!(ApiError::Unauthorized.sentence("r").contains("API key"));
        assert!(ApiError::Internal("D1_ERROR: boom".into()).sentence("req_7").contains("req_7"));
    }

    #[test]
    fn item_messages_are_sentences_naming_the_field_or_the_record() {
        let cases = [
            (ItemError::invalid("subject", "is required"), "subject: is required", "The field subject is required."),
            (ItemError::invalid("contactId", "must not be empty"), "contactId: must not be empty", "The field contactId must not be empty."),
            (
                ItemError::invalid("completed", "expected true or false, got a string"),
                "completed: expected true or false, got a string",
                "The field completed is not valid: expected true or false, got a string.",
            ),
            (ItemError::whole("expected a task object, got an array"), "expected a task object, got an array", "The item is not valid: expected a task object, got an array."),
            (ItemError::unknown("ownerId", "user", "us_9"), "ownerId: no user has the id \"us_9\"", "No user exists with the id \"us_9\", which ownerId names."),
            (ItemError::missing(None, "contact", "ct_9"), "Contact not found", "No contact exists with the id \"ct_9\"."),
            (ItemError::read_only("id"), "id: is set by the CRM and cannot be written", "The field id is set by the CRM and cannot be written."),
            (
                ItemError::conflict("externalId", "\"e-1\" is linked to another contact (ct_2)"),
                "externalId: \"e-1\" is linked to another contact (ct_2)",
                "The field externalId conflicts with another record: \"e-1\" is linked to another contact (ct_2).",
            ),
            (ItemError::ambiguous("Multiple companies match domain acme.com"), "Multiple companies match domain acme.com", "Multiple companies match domain acme.com."),
        ];
        for (e, error, message) in cases {
            let json = e.to_json();
            assert_eq!((json["error"].as_str(), json["message"].as_str()), (Some(error), Some(message)), "{e:?}");
        }
        let single = ItemError::unknown("ownerId", "user", "us_9").into_api_error("task");
        assert_eq!(single.sentence("r"), "The task was not accepted: no user exists with the id \"us_9\", which ownerId names.");
    }

    #[test]
    fn a_sentence_starts_upper_case_unless_it_starts_with_a_name() {
        assert_eq!(sentence("request body is empty"), "Request body is empty.");
        assert_eq!(sentence("subject: is required"), "subject: is required.");
        assert_eq!(sentence("ownerId names nobody"), "ownerId names nobody.");
        assert_eq!(sentence("Done already."), "Done already.");
        assert_eq!(sentence("Why?"), "Why?");
        assert_eq!(sentence(""), "");
        assert_eq!(
            degraded_sentence(&["MAX_BATCH: expected a number".into(), "database: no schema".into()]),
            "This CRM cannot serve requests until this is fixed: MAX_BATCH: expected a number; database: no schema."
        );
    }
}
