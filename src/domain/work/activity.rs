//! Activities (API.md §7): what Enginy's sequences log, and the timeline query.

use serde_json::{Map, Value};

use super::{custom, id_field, text, timestamp, Fingerprint, Refs, MAX_BODY, MAX_TEXT};
use crate::domain::error::{ApiError, Detail, ItemError};
use crate::domain::refs::Known;
use crate::domain::feed::{decode_cursor, parse_limit};
use crate::domain::record::{check_custom, parse_external_id};
use crate::domain::request::json_type;

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
    /// Without a `messageId` or `externalId`: the fingerprint of what was sent (see
    /// `super::content`), which makes a retry within ten minutes the same activity.
    pub content: Option<String>,
    pub properties: Map<String, Value>,
}

impl ActivityInput {
    pub fn refs(&self) -> Refs<'_> {
        Refs { contact: self.contact_id.as_deref(), company: self.company_id.as_deref(), owner: self.owner_id.as_deref() }
    }

    /// The activity naming the survivor of a merged contact or company it names.
    pub fn acting(&self, known: &Known) -> ActivityInput {
        let mut out = self.clone();
        out.contact_id = self.contact_id.as_deref().map(|id| known.acting(id).to_string());
        out.company_id = self.company_id.as_deref().map(|id| known.acting(id).to_string());
        out
    }
}

/// Reads one activity. `type` is required and upper-cased (any type is kept, the four Enginy
/// sends among them); `direction` is `INBOUND` or `OUTBOUND` in any case; `occurredAt` defaults
/// to `now`; `metadata` is kept exactly as sent.
pub fn parse_activity(value: &Value, now: &str) -> Result<ActivityInput, ItemError> {
    let object = value
        .as_object()
        .ok_or_else(|| ItemError::whole(format!("expected an activity object, got {}", json_type(value))))?;
    let activity_type = match text(object, "type", 100)? {
        Some(Some(t)) if !t.trim().is_empty() => t.trim().to_uppercase(),
        _ => return Err(ItemError::invalid("type", "is required (EMAIL, LINKEDIN, LINKEDIN_INMAIL, LINKEDIN_CONNECTION, ...)")),
    };
    let direction = match text(object, "direction", 20)?.flatten() {
        None => None,
        Some(d) => match d.trim().to_uppercase().as_str() {
            "INBOUND" => Some("INBOUND".to_string()),
            "OUTBOUND" => Some("OUTBOUND".to_string()),
            _ => return Err(ItemError::invalid("direction", format!("expected INBOUND or OUTBOUND, got {d:?}"))),
        },
    };
    let metadata = match object.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => {
            check_custom(&Value::Object(m.clone())).map_err(|e| ItemError::invalid("metadata", e))?;
            m.clone()
        }
        Some(other) => return Err(ItemError::invalid("metadata", format!("expected an object, got {}", json_type(other)))),
    };
    let message_id = match metadata.get("messageId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) if s.len() > 500 => return Err(ItemError::invalid("metadata.messageId", "is longer than 500 bytes")),
        Some(Value::String(s)) => Some(s.clone()),
        // A numeric id is the same message as its decimal text.
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(ItemError::invalid("metadata.messageId", format!("expected a string, got {}", json_type(other))))
        }
    };
    // Without a messageId, the activity's own externalId makes a retry the same activity (in its
    // own key space, so it never meets a messageId of the same text). It stays in the properties.
    let message_id = match (message_id, object.get("externalId")) {
        (Some(m), _) => Some(m),
        (None, None | Some(Value::Null)) => None,
        (None, Some(value)) => Some(format!("externalId:{}", parse_external_id(value)?)),
    };
    let sent_at = timestamp(object, "occurredAt")?.flatten();
    let mut activity = ActivityInput {
        activity_type,
        subject: text(object, "subject", MAX_TEXT)?.flatten(),
        body: text(object, "body", MAX_BODY)?.flatten(),
        direction,
        owner_id: id_field(object, "ownerId")?.flatten(),
        occurred_at: sent_at.clone().unwrap_or_else(|| now.to_string()),
        contact_id: id_field(object, "contactId")?.flatten(),
        company_id: id_field(object, "companyId")?.flatten(),
        metadata,
        message_id,
        content: None,
        properties: custom(object, ACTIVITY_FIELDS)?,
    };
    if activity.message_id.is_none() {
        // The time as sent: one the server filled in is now, and a retry's now is another.
        let a = &activity;
        let fingerprint = Fingerprint::new("activity")
            .optional("type", Some(&a.activity_type))
            .optional("subject", a.subject.as_deref())
            .optional("body", a.body.as_deref())
            .optional("direction", a.direction.as_deref())
            .optional("ownerId", a.owner_id.as_deref())
            .optional("occurredAt", sent_at.as_deref())
            .optional("contactId", a.contact_id.as_deref())
            .optional("companyId", a.company_id.as_deref())
            .map("metadata", &a.metadata, &[])
            .map("properties", &a.properties, &[])
            .finish();
        activity.content = Some(fingerprint);
    }
    Ok(activity)
}

/// `GET /{kind}/{id}/activities?limit&cursor`: a page of the timeline, newest first, before
/// `(occurred_at, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineQuery {
    pub limit: usize,
    pub before_time: String,
    pub before_id: String,
}

pub const TIMELINE_DEFAULT_LIMIT: usize = 50;
pub const TIMELINE_MAX_LIMIT: usize = 200;

impl TimelineQuery {
    pub fn parse(query: &[(String, String)]) -> Result<TimelineQuery, ApiError> {
        let get = |name: &str| query.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let bad = |path: &str, message: String| {
            ApiError::invalid(format!("invalid query parameter {path}"), vec![Detail::new(path, message)])
        };
        let limit = parse_limit(query, TIMELINE_DEFAULT_LIMIT, TIMELINE_MAX_LIMIT)?;
        let (before_time, before_id) = match get("cursor").filter(|c| !c.is_empty()) {
            Some(c) => decode_cursor(c).ok_or_else(|| bad("cursor", "is not a cursor this API returned".into()))?,
            // Before everything: `~` sorts after every timestamp.
            None => ("~".to_string(), String::new()),
        };
        Ok(TimelineQuery { limit, before_time, before_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::feed::encode_cursor;
    use serde_json::json;

    const NOW: &str = "2024-01-20T10:30:00.000Z";

    #[test]
    fn an_external_id_keys_an_activity_without_a_message_id() {
        let a = parse_activity(&json!({"type": "LINKEDIN", "externalId": "act-7"}), NOW).unwrap();
        assert_eq!(a.message_id.as_deref(), Some("externalId:act-7"));
        assert_eq!(a.properties["externalId"], "act-7", "kept as sent");
        let m = parse_activity(&json!({"type": "EMAIL", "externalId": "act-7", "metadata": {"messageId": "m-1"}}), NOW).unwrap();
        assert_eq!(m.message_id.as_deref(), Some("m-1"), "a messageId comes first");
        assert_eq!(parse_activity(&json!({"type": "EMAIL", "externalId": true}), NOW).unwrap_err().field.as_deref(), Some("externalId"));
    }

    #[test]
    fn activities_are_upper_cased_and_keyed_by_message_id() {
        let a = parse_activity(
            &json!({"type": " email ", "direction": "outbound", "metadata": {"messageId": "m-1", "sequenceIndex": 1}, "extra": true}),
            NOW,
        )
        .unwrap();
        assert_eq!(a.activity_type, "EMAIL");
        assert_eq!(a.direction.as_deref(), Some("OUTBOUND"));
        assert_eq!(a.message_id.as_deref(), Some("m-1"));
        assert_eq!(a.occurred_at, NOW);
        assert_eq!(Value::Object(a.metadata), json!({"messageId": "m-1", "sequenceIndex": 1}), "kept as sent");
        assert_eq!(a.properties["extra"], true);
        let numeric = parse_activity(&json!({"type": "LINKEDIN", "metadata": {"messageId": 42}}), NOW).unwrap();
        assert_eq!(numeric.message_id.as_deref(), Some("42"));
        let none = parse_activity(&json!({"type": "LINKEDIN_INMAIL", "metadata": {"messageId": ""}}), NOW).unwrap();
        assert_eq!(none.message_id, None, "an empty messageId identifies nothing");
        let other = parse_activity(&json!({"type": "call", "direction": null}), NOW).unwrap();
        assert_eq!((other.activity_type.as_str(), other.direction), ("CALL", None));
    }

    #[test]
    fn a_keyless_activity_is_fingerprinted_on_what_was_sent() {
        let fp = |v: Value, now: &str| parse_activity(&v, now).unwrap().content;
        let base = json!({"type": "LINKEDIN", "subject": "Invited", "direction": "OUTBOUND", "contactId": "ct_1"});
        let first = fp(base.clone(), NOW).expect("no key: fingerprinted");
        // Sent again a minute later without occurredAt: stored at another time, the same content.
        assert_eq!(fp(base.clone(), "2024-01-20T10:31:00.000Z"), Some(first.clone()));
        assert_eq!(fp(json!({"direction": "outbound", "contactId": "ct_1", "subject": "Invited", "type": "linkedin"}), NOW), Some(first.clone()));
        let at = |t: &str| {
            let mut v = base.clone();
            v["occurredAt"] = json!(t);
            fp(v, NOW)
        };
        assert_eq!(at("2024-05-01T12:00:00+02:00"), at("2024-05-01T10:00:00Z"));
        assert_ne!(at("2024-05-01T10:00:00Z"), Some(first.clone()), "a time sent is content, unlike the server's");
        for (name, other) in [
            ("type", json!("EMAIL")),
            ("subject", json!("Accepted")),
            ("body", json!("Hi")),
            ("direction", json!("INBOUND")),
            ("ownerId", json!("us_1")),
            ("contactId", json!("ct_2")),
            ("companyId", json!("co_1")),
            ("metadata", json!({"sequenceIndex": 2})),
            ("campaign", json!("Q3")),
        ] {
            let mut changed = base.clone();
            changed[name] = other;
            assert_ne!(fp(changed, NOW), Some(first.clone()), "{name}");
        }
        // A key of its own comes first: no content key.
        assert_eq!(fp(json!({"type": "EMAIL", "metadata": {"messageId": "m-1"}}), NOW), None);
        assert_eq!(fp(json!({"type": "EMAIL", "externalId": "a-1"}), NOW), None);
    }

    #[test]
    fn activity_errors_name_the_field() {
        for (body, field) in [
            (json!({}), Some("type")),
            (json!({"type": "  "}), Some("type")),
            (json!({"type": "EMAIL", "direction": "sideways"}), Some("direction")),
            (json!({"type": "EMAIL", "direction": 1}), Some("direction")),
            (json!({"type": "EMAIL", "occurredAt": "noon"}), Some("occurredAt")),
            (json!({"type": "EMAIL", "metadata": [1]}), Some("metadata")),
            (json!({"type": "EMAIL", "metadata": {"messageId": {}}}), Some("metadata.messageId")),
            (json!({"type": "EMAIL", "contactId": 3}), Some("contactId")),
            (json!({"type": "EMAIL", "companyId": ""}), Some("companyId")),
            (json!("EMAIL"), None),
        ] {
            assert_eq!(parse_activity(&body, NOW).unwrap_err().field.as_deref(), field, "{body}");
        }
    }

    fn query(pairs: &[(&str, &str)]) -> Result<TimelineQuery, ApiError> {
        let owned: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        TimelineQuery::parse(&owned)
    }

    #[test]
    fn timeline_queries_page_by_cursor() {
        let first = query(&[]).unwrap();
        assert_eq!(first.limit, TIMELINE_DEFAULT_LIMIT);
        assert!(first.before_time.as_str() > "9999-12-31T23:59:59.999Z");
        let cursor = encode_cursor(NOW, "ac_1");
        let next = query(&[("limit", "2"), ("cursor", &cursor)]).unwrap();
        assert_eq!(next, TimelineQuery { limit: 2, before_time: NOW.into(), before_id: "ac_1".into() });
        for (name, value) in [("limit", "0"), ("limit", "201"), ("limit", "x"), ("cursor", "nope")] {
            let err = query(&[(name, value)]).unwrap_err();
            assert_eq!(err.body("r")["details"][0]["path"], name, "{name}={value}");
        }
    }
}
