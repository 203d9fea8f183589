//! Tasks, activities and users (API.md §7, §8): parsing and validation, pure.
//!
//! Each parser answers the stored shape or a [`WorkError`] naming the field, so the single form
//! of a route answers `400` with that detail and the batch form a per-item error.

use serde_json::{json, Map, Value};

use super::error::{ApiError, Detail};
use super::normalize::normalize_email;
use super::record::check_custom;
use super::request::json_type;
use super::time::Timestamp;

/// A problem with one item, at a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkError {
    pub field: String,
    pub message: String,
    /// `invalid`, or `not_found` for a reference to nothing.
    pub code: &'static str,
}

impl WorkError {
    pub fn at(field: &str, message: impl Into<String>) -> WorkError {
        WorkError { field: field.to_string(), message: message.into(), code: "invalid" }
    }

    pub fn not_found(field: &str, what: &str, id: &str) -> WorkError {
        WorkError { field: field.to_string(), message: format!("no {what} has the id {id:?}"), code: "not_found" }
    }

    /// `field: message`, the sentence of a per-item error.
    pub fn sentence(&self) -> String {
        if self.field.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.field, self.message)
        }
    }

    /// The `400` of a single-item route.
    pub fn into_api_error(self, noun: &str) -> ApiError {
        let status_message = format!("invalid {noun}: {}", self.sentence());
        ApiError::invalid(status_message, vec![Detail::new(self.field.clone(), self.message)])
    }
}

const MAX_TEXT: usize = 2_000;
const MAX_BODY: usize = 100_000;
const MAX_ID: usize = 100;

fn text(object: &Map<String, Value>, name: &str, max: usize) -> Result<Option<Option<String>>, WorkError> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(WorkError::at(name, format!("is longer than {max} characters")))
        }
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(other) => Err(WorkError::at(name, format!("expected a string, got {}", json_type(other)))),
    }
}

fn timestamp(object: &Map<String, Value>, name: &str) -> Result<Option<Option<String>>, WorkError> {
    match text(object, name, 64)? {
        Some(Some(raw)) => Timestamp::parse(&raw)
            .map(|t| Some(Some(t.to_rfc3339())))
            .map_err(|e| WorkError::at(name, format!("{e}, got {raw:?}"))),
        other => Ok(other),
    }
}

fn custom(object: &Map<String, Value>, core: &[&str]) -> Result<Map<String, Value>, WorkError> {
    let mut properties = Map::new();
    if let Some(nested) = object.get("properties") {
        match nested {
            Value::Object(map) => {
                for (k, v) in map {
                    check_custom(v).map_err(|m| WorkError::at(&format!("properties.{k}"), m))?;
                    properties.insert(k.clone(), v.clone());
                }
            }
            Value::Null => {}
            other => return Err(WorkError::at("properties", format!("expected an object, got {}", json_type(other)))),
        }
    }
    for (k, v) in object {
        if core.contains(&k.as_str()) || k == "properties" || k == "id" || k == "createdAt" || k == "updatedAt" {
            continue;
        }
        if k.is_empty() || k.chars().count() > 200 {
            return Err(WorkError::at(k, "a field name must have 1 to 200 characters"));
        }
        check_custom(v).map_err(|m| WorkError::at(k, m))?;
        properties.insert(k.clone(), v.clone());
    }
    Ok(properties)
}

const TASK_FIELDS: &[&str] = &[
    "subject", "description", "type", "priority", "status", "ownerId", "dueDate", "contactId", "companyId", "completed",
    "completedAt",
];

/// A task's stored values: the core fields (absent = unset) and its custom properties.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskValues {
    pub fields: Map<String, Value>,
    pub properties: Map<String, Value>,
}

impl TaskValues {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    pub fn completed(&self) -> bool {
        self.fields.get("completed").and_then(Value::as_bool).unwrap_or(false)
    }
}

/// Reads the task fields present in `object` into `values` (a `null` clears), checking types.
/// `completed` drives `completedAt`: set to `now` when it becomes true, cleared when false.
pub fn apply_task(values: &mut TaskValues, object: &Value, now: &str, creating: bool) -> Result<(), WorkError> {
    let object = object
        .as_object()
        .ok_or_else(|| WorkError::at("", format!("expected a task object, got {}", json_type(object))))?;
    for (name, max) in [("subject", MAX_TEXT), ("description", MAX_BODY), ("type", 100), ("priority", 100), ("status", 100)] {
        match text(object, name, max)? {
            None => {}
            Some(None) => {
                values.fields.remove(name);
            }
            Some(Some(v)) => {
                values.fields.insert(name.to_string(), json!(v));
            }
        }
    }
    for name in ["ownerId", "contactId", "companyId"] {
        match text(object, name, MAX_ID)? {
            None => {}
            Some(None) => {
                values.fields.remove(name);
            }
            Some(Some(v)) if v.trim().is_empty() => return Err(WorkError::at(name, "must not be empty")),
            Some(Some(v)) => {
                values.fields.insert(name.to_string(), json!(v));
            }
        }
    }
    match timestamp(object, "dueDate")? {
        None => {}
        Some(None) => {
            values.fields.remove("dueDate");
        }
        Some(Some(t)) => {
            values.fields.insert("dueDate".into(), json!(t));
        }
    }
    match object.get("completed") {
        None => {}
        Some(Value::Bool(done)) => {
            let was = values.completed();
            values.fields.insert("completed".into(), json!(done));
            if *done && !was {
                values.fields.insert("completedAt".into(), json!(now));
            } else if !done {
                values.fields.remove("completedAt");
            }
        }
        Some(Value::Null) if !creating => {
            values.fields.insert("completed".into(), json!(false));
            values.fields.remove("completedAt");
        }
        Some(other) => return Err(WorkError::at("completed", format!("expected true or false, got {}", json_type(other)))),
    }
    for (k, v) in custom(object, TASK_FIELDS)? {
        if v.is_null() && !creating {
            values.properties.remove(&k);
        } else if !v.is_null() {
            values.properties.insert(k, v);
        }
    }
    if values.str("subject").is_none_or(|s| s.trim().is_empty()) {
        return Err(WorkError::at("subject", "is required"));
    }
    Ok(())
}

/// The task as the API returns it.
pub fn task_to_wire(id: &str, values: &TaskValues, created_at: &str, updated_at: &str) -> Value {
    let get = |name: &str| values.fields.get(name).cloned().unwrap_or(Value::Null);
    json!({
        "id": id,
        "subject": get("subject"),
        "description": get("description"),
        "type": get("type"),
        "priority": get("priority"),
        "status": get("status"),
        "ownerId": get("ownerId"),
        "dueDate": get("dueDate"),
        "contactId": get("contactId"),
        "companyId": get("companyId"),
        "completed": values.completed(),
        "completedAt": get("completedAt"),
        "createdAt": created_at,
        "updatedAt": updated_at,
        "properties": values.properties,
    })
}

const ACTIVITY_FIELDS: &[&str] =
    &["type", "subject", "body", "direction", "ownerId", "occurredAt", "contactId", "companyId", "metadata"];

/// A validated activity.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityInput {
    pub activity_type: String,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub direction: Option<String>,
    pub owner_id: Option<String>,
    pub occurred_at: String,
    pub contact_id: Option<String>,
    pub company_id: Option<String>,
    pub metadata: Map<String, Value>,
    /// `metadata.messageId` as text: with the type, what makes a retried log the same activity.
    pub message_id: Option<String>,
    pub properties: Map<String, Value>,
}

pub fn parse_activity(value: &Value, now: &str) -> Result<ActivityInput, WorkError> {
    let object = value
        .as_object()
        .ok_or_else(|| WorkError::at("", format!("expected an activity object, got {}", json_type(value))))?;
    let activity_type = match text(object, "type", 100)? {
        Some(Some(t)) if !t.trim().is_empty() => t.trim().to_uppercase(),
        _ => return Err(WorkError::at("type", "is required (EMAIL, LINKEDIN, LINKEDIN_INMAIL, LINKEDIN_CONNECTION, ...)")),
    };
    let direction = match text(object, "direction", 20)?.flatten() {
        None => None,
        Some(d) => match d.trim().to_uppercase().as_str() {
            "INBOUND" => Some("INBOUND".to_string()),
            "OUTBOUND" => Some("OUTBOUND".to_string()),
            _ => return Err(WorkError::at("direction", format!("expected INBOUND or OUTBOUND, got {d:?}"))),
        },
    };
    let id = |name: &str| -> Result<Option<String>, WorkError> {
        match text(object, name, MAX_ID)?.flatten() {
            Some(v) if v.trim().is_empty() => Err(WorkError::at(name, "must not be empty")),
            other => Ok(other),
        }
    };
    let metadata = match object.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => {
            check_custom(&Value::Object(m.clone())).map_err(|e| WorkError::at("metadata", e))?;
            m.clone()
        }
        Some(other) => return Err(WorkError::at("metadata", format!("expected an object, got {}", json_type(other)))),
    };
    let message_id = match metadata.get("messageId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) if s.len() > 500 => return Err(WorkError::at("metadata.messageId", "is longer than 500 characters")),
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(WorkError::at("metadata.messageId", format!("expected a string, got {}", json_type(other))))
        }
    };
    Ok(ActivityInput {
        activity_type,
        subject: text(object, "subject", MAX_TEXT)?.flatten(),
        body: text(object, "body", MAX_BODY)?.flatten(),
        direction,
        owner_id: id("ownerId")?,
        occurred_at: timestamp(object, "occurredAt")?.flatten().unwrap_or_else(|| now.to_string()),
        contact_id: id("contactId")?,
        company_id: id("companyId")?,
        metadata,
        message_id,
        properties: custom(object, ACTIVITY_FIELDS)?,
    })
}

/// A validated user of `POST /users`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub name: String,
    pub email: String,
    /// The normalised email: the upsert key.
    pub email_key: String,
    pub properties: Map<String, Value>,
}

pub fn parse_user(value: &Value) -> Result<UserInput, WorkError> {
    let object = value
        .as_object()
        .ok_or_else(|| WorkError::at("", format!("expected a user object, got {}", json_type(value))))?;
    let email = match text(object, "email", 320)?.flatten() {
        Some(e) => e,
        None => return Err(WorkError::at("email", "is required")),
    };
    let email_key = normalize_email(&email)
        .filter(|k| k.rsplit('@').next().is_some_and(|d| d.contains('.')))
        .ok_or_else(|| WorkError::at("email", format!("is not an email address: {email:?}")))?;
    let name = text(object, "name", 200)?.flatten().unwrap_or_default();
    Ok(UserInput { name, email: email.trim().to_string(), email_key, properties: custom(object, &["name", "email"])? })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2024-01-20T10:30:00.000Z";

    fn task(value: Value) -> Result<TaskValues, WorkError> {
        let mut t = TaskValues::default();
        apply_task(&mut t, &value, NOW, true).map(|_| t)
    }

    #[test]
    fn tasks_need_a_subject_and_keep_unknown_fields() {
        assert_eq!(task(json!({"type": "CALL"})).unwrap_err().field, "subject");
        assert_eq!(task(json!({"subject": "  "})).unwrap_err().field, "subject");
        let t = task(json!({"subject": "Call", "dueDate": "2024-02-01T12:00:00+01:00", "score": 3})).unwrap();
        assert_eq!(t.str("dueDate"), Some("2024-02-01T11:00:00.000Z"));
        assert_eq!(t.properties["score"], 3);
        assert!(!t.completed());
    }

    #[test]
    fn completed_drives_completed_at() {
        let mut t = task(json!({"subject": "x"})).unwrap();
        apply_task(&mut t, &json!({"completed": true}), NOW, false).unwrap();
        assert_eq!(t.str("completedAt"), Some(NOW));
        apply_task(&mut t, &json!({"completed": true}), "2030-01-01T00:00:00.000Z", false).unwrap();
        assert_eq!(t.str("completedAt"), Some(NOW), "completing twice keeps the first time");
        apply_task(&mut t, &json!({"completed": false}), NOW, false).unwrap();
        assert_eq!(t.str("completedAt"), None);
    }

    #[test]
    fn task_errors_name_the_field() {
        for (body, field) in [
            (json!({"subject": 5}), "subject"),
            (json!({"subject": "x", "dueDate": "tomorrow"}), "dueDate"),
            (json!({"subject": "x", "completed": "yes"}), "completed"),
            (json!({"subject": "x", "contactId": ""}), "contactId"),
            (json!({"subject": "x", "ownerId": 7}), "ownerId"),
        ] {
            assert_eq!(task(body.clone()).unwrap_err().field, field, "{body}");
        }
        let err = task(json!({"subject": "x", "dueDate": "tomorrow"})).unwrap_err().into_api_error("task");
        assert_eq!(err.status(), 400);
        assert_eq!(err.body("r")["details"][0]["path"], "dueDate");
    }

    #[test]
    fn nulls_clear_on_update() {
        let mut t = task(json!({"subject": "x", "status": "open", "note": 1})).unwrap();
        apply_task(&mut t, &json!({"status": null, "note": null}), NOW, false).unwrap();
        assert_eq!(t.str("status"), None);
        assert!(t.properties.get("note").is_none());
        assert!(apply_task(&mut t, &json!({"subject": null}), NOW, false).is_err());
    }

    #[test]
    fn activities_are_upper_cased_and_keyed_by_message_id() {
        let a = parse_activity(
            &json!({"type": "email", "direction": "outbound", "metadata": {"messageId": "m-1", "sequenceIndex": 1}, "extra": true}),
            NOW,
        )
        .unwrap();
        assert_eq!(a.activity_type, "EMAIL");
        assert_eq!(a.direction.as_deref(), Some("OUTBOUND"));
        assert_eq!(a.message_id.as_deref(), Some("m-1"));
        assert_eq!(a.occurred_at, NOW);
        assert_eq!(a.metadata["sequenceIndex"], 1);
        assert_eq!(a.properties["extra"], true);
        let numeric = parse_activity(&json!({"type": "LINKEDIN", "metadata": {"messageId": 42}}), NOW).unwrap();
        assert_eq!(numeric.message_id.as_deref(), Some("42"));
    }

    #[test]
    fn activity_errors_name_the_field() {
        for (body, field) in [
            (json!({}), "type"),
            (json!({"type": "EMAIL", "direction": "sideways"}), "direction"),
            (json!({"type": "EMAIL", "occurredAt": "noon"}), "occurredAt"),
            (json!({"type": "EMAIL", "metadata": [1]}), "metadata"),
            (json!({"type": "EMAIL", "metadata": {"messageId": {}}}), "metadata.messageId"),
            (json!({"type": "EMAIL", "contactId": 3}), "contactId"),
        ] {
            assert_eq!(parse_activity(&body, NOW).unwrap_err().field, field, "{body}");
        }
    }

    #[test]
    fn users_need_a_valid_email() {
        let u = parse_user(&json!({"name": "John", "email": " John@Example.COM "})).unwrap();
        assert_eq!(u.email_key, "john@example.com");
        assert_eq!(u.email, "John@Example.COM");
        for bad in [json!({"name": "x"}), json!({"email": "nope"}), json!({"email": "a@b"}), json!({"email": 5})] {
            assert_eq!(parse_user(&bad).unwrap_err().field, "email", "{bad}");
        }
    }
}
