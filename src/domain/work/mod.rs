//! Tasks, activities and users (API.md §7, §8): parsing, validation and the decisions around
//! them, pure.
//!
//! Each parser answers the stored shape or a [`WorkError`] naming the field, so the single form
//! of a route answers `400` with that detail and the batch form a per-item error.

pub mod activity;
pub mod task;
pub mod user;

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::error::{ApiError, Detail};
use super::record::check_custom;
use super::request::json_type;
use super::time::Timestamp;

pub use activity::{parse_activity, ActivityInput, TimelineQuery};
pub use task::{apply_task, check_patch, task_changes, task_to_wire, TaskValues};
pub use user::{merge_by_email, parse_user, UserInput};

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

pub(crate) const MAX_TEXT: usize = 2_000;
pub(crate) const MAX_BODY: usize = 100_000;
pub(crate) const MAX_ID: usize = 100;

/// A text field: absent (`None`), sent as `null` (`Some(None)`), or a string within `max`
/// characters.
pub(crate) fn text(object: &Map<String, Value>, name: &str, max: usize) -> Result<Option<Option<String>>, WorkError> {
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

/// An id field (`contactId`, `ownerId`, ...): like [`text`], but an empty string names nothing
/// and is refused rather than stored.
pub(crate) fn id_field(object: &Map<String, Value>, name: &str) -> Result<Option<Option<String>>, WorkError> {
    match text(object, name, MAX_ID)? {
        Some(Some(v)) if v.trim().is_empty() => Err(WorkError::at(name, "must not be empty")),
        Some(Some(v)) => Ok(Some(Some(v.trim().to_string()))),
        other => Ok(other),
    }
}

/// A timestamp field, stored as RFC 3339 UTC with milliseconds.
///
/// Besides RFC 3339, two forms the reference server takes (it hands the value to JavaScript's
/// `new Date`) are accepted, so nothing Enginy could send it is refused here: a calendar date
/// (`2024-01-20`, midnight UTC, as `new Date` reads it) and a whole number of milliseconds since
/// 1970. Anything else, a local time without an offset included, is an error naming the field.
pub(crate) fn timestamp(object: &Map<String, Value>, name: &str) -> Result<Option<Option<String>>, WorkError> {
    let expected = "expected an RFC 3339 timestamp such as 2024-01-20T10:30:00.000Z";
    match object.get(name) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(raw)) => {
            let trimmed = raw.trim();
            let is_date = trimmed.len() == 10 && trimmed.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
            let full = if is_date { format!("{trimmed}T00:00:00Z") } else { trimmed.to_string() };
            if raw.len() > 64 {
                return Err(WorkError::at(name, format!("{expected}, got a text of {} bytes", raw.len())));
            }
            Timestamp::parse(&full)
                .map(|t| Some(Some(t.to_rfc3339())))
                .map_err(|e| WorkError::at(name, format!("{e}, got {raw:?}")))
        }
        Some(Value::Number(n)) => {
            let out_of_range = || WorkError::at(name, format!("{n} milliseconds since 1970 is outside years 0 to 9999"));
            let ms = n.as_i64().ok_or_else(|| WorkError::at(name, format!("{expected}, or whole milliseconds since 1970, got {n}")))?;
            // Formatting clamps to years 0..=9999; reading the text back tells whether it did.
            let text = Timestamp::from_millis(ms).to_rfc3339();
            match Timestamp::parse(&text) {
                Ok(t) if t.millis() == ms => Ok(Some(Some(text))),
                _ => Err(out_of_range()),
            }
        }
        Some(other) => Err(WorkError::at(name, format!("{expected}, got {}", json_type(other)))),
    }
}

/// The custom properties of an item: its `properties` object merged with every top-level field
/// that is not one of `core` (API.md §1: unknown fields are data, kept as sent).
pub(crate) fn custom(object: &Map<String, Value>, core: &[&str]) -> Result<Map<String, Value>, WorkError> {
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
        // Read-only fields a client may echo back from a read: never data.
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

/// The contact, company and owner an item names; as JSON, what the store's reference guard
/// checks again at the write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Refs<'a> {
    pub contact: Option<&'a str>,
    pub company: Option<&'a str>,
    pub owner: Option<&'a str>,
}

impl<'a> Refs<'a> {
    /// Only the references that differ from `before`: an update checks what it changes, so a
    /// task whose contact was deleted since (or whose owner predates the first user) can still
    /// be completed.
    pub fn changed_from(self, before: Refs<'_>) -> Refs<'a> {
        Refs {
            contact: self.contact.filter(|id| before.contact != Some(*id)),
            company: self.company.filter(|id| before.company != Some(*id)),
            owner: self.owner.filter(|id| before.owner != Some(*id)),
        }
    }
}

/// Which of the ids a request names exist, as one store read found them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub contacts: HashSet<String>,
    pub companies: HashSet<String>,
    pub owners: HashSet<String>,
    /// Whether any user exists: owners are checked only then (API.md §8).
    pub users_exist: bool,
}

impl Known {
    /// `not_found` naming the first reference that names nothing.
    pub fn check(&self, refs: Refs<'_>) -> Result<(), WorkError> {
        if let Some(id) = refs.contact.filter(|id| !self.contacts.contains(*id)) {
            return Err(WorkError::not_found("contactId", "contact", id));
        }
        if let Some(id) = refs.company.filter(|id| !self.companies.contains(*id)) {
            return Err(WorkError::not_found("companyId", "company", id));
        }
        if let Some(id) = refs.owner.filter(|id| self.users_exist && !self.owners.contains(*id)) {
            return Err(WorkError::not_found("ownerId", "user", id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ts(value: Value) -> Result<Option<Option<String>>, WorkError> {
        timestamp(json!({ "at": value }).as_object().unwrap(), "at")
    }

    #[test]
    fn timestamps_are_stored_in_utc_with_milliseconds() {
        assert_eq!(ts(json!("2024-02-01T12:00:00+01:00")).unwrap(), Some(Some("2024-02-01T11:00:00.000Z".into())));
        assert_eq!(ts(json!(" 2024-02-01T12:00:00.5Z ")).unwrap(), Some(Some("2024-02-01T12:00:00.500Z".into())));
        assert_eq!(ts(json!(null)).unwrap(), Some(None));
        assert_eq!(timestamp(&Map::new(), "at").unwrap(), None);
    }

    #[test]
    fn timestamps_take_what_new_date_takes_from_enginy() {
        assert_eq!(ts(json!("2024-01-20")).unwrap(), Some(Some("2024-01-20T00:00:00.000Z".into())));
        assert_eq!(ts(json!(1_705_746_600_000i64)).unwrap(), Some(Some("2024-01-20T10:30:00.000Z".into())));
        assert_eq!(ts(json!(0)).unwrap(), Some(Some("1970-01-01T00:00:00.000Z".into())));
    }

    #[test]
    fn bad_timestamps_name_the_field() {
        for bad in [
            json!("tomorrow"),
            json!("2024-02-30"),
            json!("2024-01-20T10:30:00"),
            json!("2024-1-20"),
            json!(""),
            json!(1.5),
            json!(1e300),
            json!(i64::MAX),
            json!(true),
            json!({"at": 1}),
            json!("2024-01-20T10:30:00.000Z".repeat(10)),
        ] {
            let err = ts(bad.clone()).unwrap_err();
            assert_eq!((err.field.as_str(), err.code), ("at", "invalid"), "{bad}");
        }
    }

    #[test]
    fn ids_are_trimmed_and_never_empty() {
        let o = json!({"a": " ct_1 ", "b": " ", "c": null});
        let o = o.as_object().unwrap();
        assert_eq!(id_field(o, "a").unwrap(), Some(Some("ct_1".into())));
        assert_eq!(id_field(o, "b").unwrap_err().field, "b");
        assert_eq!(id_field(o, "c").unwrap(), Some(None));
        assert_eq!(id_field(o, "d").unwrap(), None);
    }

    #[test]
    fn unknown_fields_are_properties_and_read_only_fields_are_not() {
        let o = json!({"subject": "x", "id": "tk_1", "createdAt": "t", "score": 3, "properties": {"tier": "a"}});
        let p = custom(o.as_object().unwrap(), &["subject"]).unwrap();
        assert_eq!(Value::Object(p), json!({"score": 3, "tier": "a"}));
        let err = custom(json!({"properties": [1]}).as_object().unwrap(), &[]).unwrap_err();
        assert_eq!(err.field, "properties");
    }

    #[test]
    fn references_are_checked_owners_only_while_users_exist() {
        let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
        let mut known = Known { contacts: set(&["ct_1"]), companies: set(&["co_1"]), owners: set(&["us_1"]), users_exist: false };
        let refs = |c, co, o| Refs { contact: c, company: co, owner: o };
        assert!(known.check(refs(Some("ct_1"), Some("co_1"), Some("anyone"))).is_ok(), "owners off");
        let err = known.check(refs(Some("ct_2"), None, None)).unwrap_err();
        assert_eq!((err.field.as_str(), err.code), ("contactId", "not_found"));
        assert_eq!(known.check(refs(None, Some("co_2"), None)).unwrap_err().field, "companyId");
        known.users_exist = true;
        assert_eq!(known.check(refs(None, None, Some("anyone"))).unwrap_err().field, "ownerId");
        assert!(known.check(refs(None, None, Some("us_1"))).is_ok());
    }

    #[test]
    fn an_update_checks_only_the_references_it_changes() {
        let before = Refs { contact: Some("ct_gone"), company: Some("co_1"), owner: Some("legacy") };
        let after = Refs { contact: Some("ct_gone"), company: Some("co_2"), owner: Some("legacy") };
        assert_eq!(after.changed_from(before), Refs { contact: None, company: Some("co_2"), owner: None });
        assert_eq!(before.changed_from(Refs::default()), before);
    }
}
