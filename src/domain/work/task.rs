//! Tasks (API.md §7): the fields a client may set, how `completed` drives `completedAt`, and the
//! field-by-field changes that go into history.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::{custom, id_field, text, timestamp, Fingerprint, Refs, MAX_BODY, MAX_TEXT};
use crate::domain::error::ItemError;
use crate::domain::record::parse_external_id;
use crate::domain::refs::Known;
use crate::domain::request::json_type;

const TASK_FIELDS: &[&str] = &[
    "subject", "description", "type", "priority", "status", "ownerId", "dueDate", "contactId", "companyId", "completed",
    "completedAt", "externalId",
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

    /// The contact, company and owner the task names.
    pub fn refs(&self) -> Refs<'_> {
        Refs { contact: self.str("contactId"), company: self.str("companyId"), owner: self.str("ownerId") }
    }

    /// The task naming the survivor of a merged contact or company it names.
    pub fn acting(&self, known: &Known) -> TaskValues {
        let mut out = self.clone();
        for name in ["contactId", "companyId"] {
            if let Some(id) = self.str(name) {
                out.fields.insert(name.to_string(), json!(known.acting(id)));
            }
        }
        out
    }
}

fn set(values: &mut TaskValues, name: &str, value: Option<Option<String>>) {
    match value {
        None => {}
        Some(None) => {
            values.fields.remove(name);
        }
        Some(Some(v)) => {
            values.fields.insert(name.to_string(), json!(v));
        }
    }
}

/// Reads the task fields present in `object` into `values` (a `null` clears), checking types.
/// `completed` drives `completedAt`: set to `now` when it becomes true, cleared when false; a
/// `completedAt` sent by the client is ignored, so the two never disagree.
pub fn apply_task(values: &mut TaskValues, object: &Value, now: &str, creating: bool) -> Result<(), ItemError> {
    let object = object
        .as_object()
        .ok_or_else(|| ItemError::whole(format!("expected a task object, got {}", json_type(object))))?;
    for (name, max) in [("subject", MAX_TEXT), ("description", MAX_BODY), ("type", 100), ("priority", 100), ("status", 100)] {
        set(values, name, text(object, name, max)?);
    }
    for name in ["ownerId", "contactId", "companyId"] {
        set(values, name, id_field(object, name)?);
    }
    // The client's own id of the task, set once: a create retried with it creates no copy. An
    // update carrying it (a task sent back as read) leaves it as it is.
    if creating {
        set(values, "externalId", external_id(object)?);
    }
    set(values, "dueDate", timestamp(object, "dueDate")?);
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
        // On an update, `null` clears like for every field: the task is open again.
        Some(Value::Null) if !creating => {
            values.fields.insert("completed".into(), json!(false));
            values.fields.remove("completedAt");
        }
        Some(other) => return Err(ItemError::invalid("completed", format!("expected true or false, got {}", json_type(other)))),
    }
    for (k, v) in custom(object, TASK_FIELDS)? {
        if v.is_null() && !creating {
            values.properties.remove(&k);
        } else if !v.is_null() {
            values.properties.insert(k, v);
        }
    }
    if values.str("subject").is_none_or(|s| s.trim().is_empty()) {
        return Err(ItemError::invalid("subject", "is required"));
    }
    if creating {
        values.fields.entry("completed").or_insert(json!(false));
    }
    Ok(())
}

/// A task's `externalId`, read as a record's.
fn external_id(object: &Map<String, Value>) -> Result<Option<Option<String>>, ItemError> {
    match object.get("externalId") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => parse_external_id(value).map(|id| Some(Some(id))),
    }
}

/// The content fingerprint of a task to create (see `super::content`), or `None` when the task
/// has a key of its own (its `externalId`). Everything the client sent is content; `completedAt`,
/// which the server stamps, is not.
pub fn task_content(values: &TaskValues) -> Option<String> {
    if values.str("externalId").is_some() {
        return None;
    }
    Some(Fingerprint::new("task").map("fields", &values.fields, &["completedAt"]).map("properties", &values.properties, &[]).finish())
}

/// Checks a patch on its own, before any task is read: a bad patch is a `400` even when it names
/// no stored task.
pub fn check_patch(patch: &Value, now: &str) -> Result<(), ItemError> {
    let mut any = TaskValues::default();
    any.fields.insert("subject".into(), json!("any"));
    apply_task(&mut any, patch, now, false)
}

/// The task as the API returns it.
pub fn task_to_wire(id: &str, values: &TaskValues, created_at: &str, updated_at: &str) -> Value {
    let get = |name: &str| values.fields.get(name).cloned().unwrap_or(Value::Null);
    json!({
        "id": id,
        "externalId": get("externalId"),
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

/// The field-by-field changes between two versions of a task, for history: `{field, old?, new?}`
/// (absent = unset), custom properties as `properties.<name>`.
pub fn task_changes(old: &TaskValues, new: &TaskValues) -> Vec<Value> {
    let mut out = Vec::new();
    let mut diff = |prefix: &str, a: &Map<String, Value>, b: &Map<String, Value>| {
        let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for name in names {
            let (x, y) = (a.get(name), b.get(name));
            if x != y {
                let mut change = json!({ "field": format!("{prefix}{name}") });
                if let Some(x) = x {
                    change["old"] = x.clone();
                }
                if let Some(y) = y {
                    change["new"] = y.clone();
                }
                out.push(change);
            }
        }
    };
    diff("", &old.fields, &new.fields);
    diff("properties.", &old.properties, &new.properties);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2024-01-20T10:30:00.000Z";

    fn task(value: Value) -> Result<TaskValues, ItemError> {
        let mut t = TaskValues::default();
        apply_task(&mut t, &value, NOW, true).map(|_| t)
    }

    #[test]
    fn tasks_need_a_subject_and_keep_unknown_fields() {
        assert_eq!(task(json!({"type": "CALL"})).unwrap_err().field.as_deref(), Some("subject"));
        assert_eq!(task(json!({"subject": "  "})).unwrap_err().field.as_deref(), Some("subject"));
        let t = task(json!({"subject": "Call", "dueDate": "2024-02-01T12:00:00+01:00", "score": 3})).unwrap();
        assert_eq!(t.str("dueDate"), Some("2024-02-01T11:00:00.000Z"));
        assert_eq!(t.properties["score"], 3);
        assert!(!t.completed());
    }

    #[test]
    fn completed_drives_completed_at() {
        let mut t = task(json!({"subject": "x", "completedAt": "1999-01-01T00:00:00Z"})).unwrap();
        assert_eq!(t.str("completedAt"), None, "completedAt follows completed only");
        apply_task(&mut t, &json!({"completed": true}), NOW, false).unwrap();
        assert_eq!(t.str("completedAt"), Some(NOW));
        apply_task(&mut t, &json!({"completed": true}), "2030-01-01T00:00:00.000Z", false).unwrap();
        assert_eq!(t.str("completedAt"), Some(NOW), "completing twice keeps the first time");
        apply_task(&mut t, &json!({"completed": false}), NOW, false).unwrap();
        assert_eq!(t.str("completedAt"), None);
        apply_task(&mut t, &json!({"completed": true}), NOW, false).unwrap();
        apply_task(&mut t, &json!({"completed": null}), NOW, false).unwrap();
        assert!(!t.completed());
        assert_eq!(t.str("completedAt"), None);
        assert!(task(json!({"subject": "x", "completed": true})).unwrap().str("completedAt").is_some());
    }

    #[test]
    fn an_external_id_is_set_on_create_only() {
        let t = task(json!({"subject": "x", "externalId": 42})).unwrap();
        assert_eq!(t.str("externalId"), Some("42"));
        assert!(t.properties.is_empty(), "not a custom property");
        assert_eq!(task_to_wire("tk_1", &t, "a", "b")["externalId"], "42");
        let mut patched = t.clone();
        apply_task(&mut patched, &json!({"externalId": "other", "subject": "y"}), NOW, false).unwrap();
        assert_eq!(patched.str("externalId"), Some("42"), "an update leaves it");
        for bad in [json!(""), json!(true), json!("x".repeat(256))] {
            assert_eq!(task(json!({"subject": "x", "externalId": bad})).unwrap_err().field.as_deref(), Some("externalId"));
        }
    }

    #[test]
    fn task_errors_name_the_field() {
        for (body, field) in [
            (json!({"subject": 5}), Some("subject")),
            (json!({"subject": "x", "dueDate": "tomorrow"}), Some("dueDate")),
            (json!({"subject": "x", "completed": "yes"}), Some("completed")),
            (json!({"subject": "x", "completed": null}), Some("completed")),
            (json!({"subject": "x", "contactId": ""}), Some("contactId")),
            (json!({"subject": "x", "ownerId": 7}), Some("ownerId")),
            (json!({"subject": "x", "priority": ["high"]}), Some("priority")),
            (json!({"subject": "x".repeat(MAX_TEXT + 1)}), Some("subject")),
            (json!([1]), None),
        ] {
            assert_eq!(task(body.clone()).unwrap_err().field.as_deref(), field, "{body}");
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
    fn a_patch_is_checked_before_any_task_is_read() {
        assert!(check_patch(&json!({"completed": true}), NOW).is_ok());
        assert!(check_patch(&json!({}), NOW).is_ok());
        assert_eq!(check_patch(&json!({"dueDate": "soon"}), NOW).unwrap_err().field.as_deref(), Some("dueDate"));
        assert_eq!(check_patch(&json!({"subject": null}), NOW).unwrap_err().field.as_deref(), Some("subject"));
        assert_eq!(check_patch(&json!("done"), NOW).unwrap_err().field, None);
    }

    #[test]
    fn changes_list_every_field_that_moved() {
        let old = task(json!({"subject": "x", "status": "open", "tier": 1})).unwrap();
        let mut new = old.clone();
        apply_task(&mut new, &json!({"status": null, "completed": true, "tier": 2}), NOW, false).unwrap();
        let changes = task_changes(&old, &new);
        assert_eq!(
            changes,
            vec![
                json!({"field": "completed", "old": false, "new": true}),
                json!({"field": "completedAt", "new": NOW}),
                json!({"field": "status", "old": "open"}),
                json!({"field": "properties.tier", "old": 1, "new": 2}),
            ]
        );
        assert!(task_changes(&new, &new).is_empty());
    }

    #[test]
    fn a_keyless_task_is_fingerprinted_on_what_was_sent() {
        let fp = |v: Value| task_content(&task(v).unwrap());
        let base = json!({"subject": "Call Ana", "contactId": "ct_1", "dueDate": "2030-01-02T09:00:00Z", "type": "CALL"});
        let first = fp(base.clone()).expect("no key: fingerprinted");
        // The same task as the client sends it again, in another key order, time zone or spacing
        // of an id: the same fingerprint.
        assert_eq!(fp(json!({"type": "CALL", "dueDate": "2030-01-02T10:00:00+01:00", "contactId": " ct_1 ", "subject": "Call Ana"})), Some(first.clone()));
        // Completed on create: completedAt is the server's stamp, never content.
        let mut done = TaskValues::default();
        apply_task(&mut done, &json!({"subject": "x", "completed": true}), NOW, true).unwrap();
        let mut later = TaskValues::default();
        apply_task(&mut later, &json!({"subject": "x", "completed": true}), "2030-01-01T00:00:00.000Z", true).unwrap();
        assert_ne!(done.str("completedAt"), later.str("completedAt"));
        assert_eq!(task_content(&done), task_content(&later));
        // Anything different is another task.
        for (name, other) in [
            ("subject", json!("Call Bea")),
            ("contactId", json!("ct_2")),
            ("companyId", json!("co_1")),
            ("ownerId", json!("us_1")),
            ("dueDate", json!("2030-01-03T09:00:00Z")),
            ("type", json!("EMAIL")),
            ("description", json!("About the demo")),
            ("priority", json!("HIGH")),
            ("completed", json!(true)),
            ("tier", json!(1)),
        ] {
            let mut changed = base.clone();
            changed[name] = other;
            assert_ne!(fp(changed), Some(first.clone()), "{name}");
        }
        let mut undated = base.clone();
        undated.as_object_mut().unwrap().remove("dueDate");
        assert_ne!(fp(undated), Some(first.clone()), "no due time is another due time");
        // A task with its own key is never matched by content.
        assert_eq!(fp(json!({"subject": "Call Ana", "externalId": "t-1"})), None);
    }

    #[test]
    fn refs_are_what_the_task_names() {
        let t = task(json!({"subject": "x", "contactId": "ct_1", "ownerId": "us_1"})).unwrap();
        assert_eq!(t.refs(), Refs { contact: Some("ct_1"), company: None, owner: Some("us_1") });
    }
}
