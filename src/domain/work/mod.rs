//! Tasks, activities and users (API.md §7, §8): parsing, validation and the decisions around
//! them, pure.
//!
//! Each parser answers the stored shape or a [`ItemError`] naming the field, so the single form
//! of a route answers `400` with that detail and the batch form a per-item error.

pub mod activity;
pub mod content;
pub mod task;
pub mod user;

use serde_json::{Map, Value};

use super::error::ItemError;
use super::record::{check_custom, each_data_field};
use super::request::json_type;
use super::time::Timestamp;

pub use activity::{parse_activity, ActivityInput, TimelineQuery};
pub use content::{Fingerprint, Window};
pub use task::{apply_task, check_patch, task_changes, task_content, task_to_wire, TaskValues};
pub use user::{merge_by_email, parse_user, UserInput};
pub use super::refs::Refs;

pub(crate) const MAX_TEXT: usize = 2_000;
pub(crate) const MAX_BODY: usize = 100_000;
pub(crate) const MAX_ID: usize = 100;

/// A text field: absent (`None`), sent as `null` (`Some(None)`), or a string within `max`
/// characters.
pub(crate) fn text(object: &Map<String, Value>, name: &str, max: usize) -> Result<Option<Option<String>>, ItemError> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(ItemError::invalid(name, format!("is longer than {max} characters")))
        }
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(other) => Err(ItemError::invalid(name, format!("expected a string, got {}", json_type(other)))),
    }
}

/// An id field (`contactId`, `ownerId`, ...): like [`text`], but an empty string names nothing
/// and is refused rather than stored.
pub(crate) fn id_field(object: &Map<String, Value>, name: &str) -> Result<Option<Option<String>>, ItemError> {
    match text(object, name, MAX_ID)? {
        Some(Some(v)) if v.trim().is_empty() => Err(ItemError::invalid(name, "must not be empty")),
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
pub(crate) fn timestamp(object: &Map<String, Value>, name: &str) -> Result<Option<Option<String>>, ItemError> {
    timestamp_value(object.get(name), name)
}

/// [`timestamp`] of a value found elsewhere than under its own name (`properties.lastActivityDate`),
/// `name` being what an error calls it.
pub(crate) fn timestamp_value(value: Option<&Value>, name: &str) -> Result<Option<Option<String>>, ItemError> {
    let expected = "expected an RFC 3339 timestamp such as 2024-01-20T10:30:00.000Z";
    match value {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(raw)) => {
            let trimmed = raw.trim();
            let is_date = trimmed.len() == 10 && trimmed.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
            let full = if is_date { format!("{trimmed}T00:00:00Z") } else { trimmed.to_string() };
            if raw.len() > 64 {
                return Err(ItemError::invalid(name, format!("{expected}, got a text of {} bytes", raw.len())));
            }
            Timestamp::parse(&full)
                .map(|t| Some(Some(t.to_rfc3339())))
                .map_err(|e| ItemError::invalid(name, format!("{e}, got {raw:?}")))
        }
        Some(Value::Number(n)) => {
            let out_of_range = || ItemError::invalid(name, format!("{n} milliseconds since 1970 is outside years 0 to 9999"));
            let ms = n.as_i64().ok_or_else(|| ItemError::invalid(name, format!("{expected}, or whole milliseconds since 1970, got {n}")))?;
            // Formatting clamps to years 0..=9999; reading the text back tells whether it did.
            let text = Timestamp::from_millis(ms).to_rfc3339();
            match Timestamp::parse(&text) {
                Ok(t) if t.millis() == ms => Ok(Some(Some(text))),
                _ => Err(out_of_range()),
            }
        }
        Some(other) => Err(ItemError::invalid(name, format!("{expected}, got {}", json_type(other)))),
    }
}

/// The custom properties of an item: its `properties` object merged with every top-level field
/// that is not one of `core` (unknown fields are data, kept as sent). Read-only fields a client may
/// echo back from a read (`id`, `createdAt`, `updatedAt`) are never data.
pub(crate) fn custom(object: &Map<String, Value>, core: &[&str]) -> Result<Map<String, Value>, ItemError> {
    let mut properties = Map::new();
    let read_only = |name: &str| matches!(name, "id" | "createdAt" | "updatedAt");
    each_data_field(object, read_only, |f| {
        if !f.nested && core.contains(&f.name) {
            return Ok(());
        }
        check_custom(f.value).map_err(|m| ItemError::invalid(&f.path, m))?;
        properties.insert(f.name.to_string(), f.value.clone());
        Ok(())
    })?;
    Ok(properties)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ts(value: Value) -> Result<Option<Option<String>>, ItemError> {
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
            assert_eq!((err.field.as_deref(), err.code.as_str()), (Some("at"), "invalid"), "{bad}");
        }
    }

    #[test]
    fn ids_are_trimmed_and_never_empty() {
        let o = json!({"a": " ct_1 ", "b": " ", "c": null});
        let o = o.as_object().unwrap();
        assert_eq!(id_field(o, "a").unwrap(), Some(Some("ct_1".into())));
        assert_eq!(id_field(o, "b").unwrap_err().field.as_deref(), Some("b"));
        assert_eq!(id_field(o, "c").unwrap(), Some(None));
        assert_eq!(id_field(o, "d").unwrap(), None);
    }

    #[test]
    fn unknown_fields_are_properties_and_read_only_fields_are_not() {
        let o = json!({"subject": "x", "id": "tk_1", "createdAt": "t", "score": 3, "properties": {"tier": "a"}});
        let p = custom(o.as_object().unwrap(), &["subject"]).unwrap();
        assert_eq!(Value::Object(p), json!({"score": 3, "tier": "a"}));
        let err = custom(json!({"properties": [1]}).as_object().unwrap(), &[]).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("properties"));
    }
}
