//! Users, the owners of records (API.md §8): upserted by normalised email.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{custom, text, ItemError};
use crate::domain::normalize::normalize_email;
use crate::domain::request::json_type;

/// A validated user of `POST /users`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    /// `None` when not sent: an upsert then keeps the stored name.
    pub name: Option<String>,
    /// The address as sent (trimmed, without a `mailto:`).
    pub email: String,
    /// The normalised email: the upsert key.
    pub email_key: String,
    pub properties: Map<String, Value>,
}

pub fn parse_user(value: &Value) -> Result<UserInput, ItemError> {
    let object = value
        .as_object()
        .ok_or_else(|| ItemError::whole(format!("expected a user object, got {}", json_type(value))))?;
    let raw = match text(object, "email", 320)?.flatten() {
        Some(e) if !e.trim().is_empty() => e,
        _ => return Err(ItemError::invalid("email", "is required")),
    };
    let email_key = normalize_email(&raw)
        // A domain without a dot (`a@b`) is not an address anyone can be mailed at.
        .filter(|k| k.rsplit_once('@').is_some_and(|(_, d)| d.contains('.') && !d.starts_with('.') && !d.ends_with('.')))
        .ok_or_else(|| ItemError::invalid("email", format!("is not an email address: {raw:?}")))?;
    let trimmed = raw.trim();
    let email = match trimmed.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("mailto:") => trimmed[7..].split('?').next().unwrap_or_default().trim(),
        _ => trimmed,
    };
    let name = text(object, "name", 200)?.map(|n| n.unwrap_or_default());
    Ok(UserInput { name, email: email.to_string(), email_key, properties: custom(object, &["name", "email"])? })
}

/// One write per email: the items of a batch that name the same person merged in request order
/// (a later email spelling, name or property wins; an absent name keeps an earlier one). Answers
/// the writes and, per item, the index of its write (`None` for a failed item).
pub fn merge_by_email(parsed: &[Result<UserInput, ItemError>]) -> (Vec<UserInput>, Vec<Option<usize>>) {
    let mut writes: Vec<UserInput> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut position = Vec::with_capacity(parsed.len());
    for item in parsed {
        let Ok(user) = item else {
            position.push(None);
            continue;
        };
        match by_key.get(&user.email_key) {
            Some(&w) => {
                let merged = &mut writes[w];
                merged.email = user.email.clone();
                if user.name.is_some() {
                    merged.name = user.name.clone();
                }
                merged.properties.extend(user.properties.clone());
                position.push(Some(w));
            }
            None => {
                by_key.insert(user.email_key.clone(), writes.len());
                position.push(Some(writes.len()));
                writes.push(user.clone());
            }
        }
    }
    (writes, position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_need_a_valid_email() {
        let u = parse_user(&json!({"name": "John", "email": " John@Example.COM "})).unwrap();
        assert_eq!(u.email_key, "john@example.com");
        assert_eq!(u.email, "John@Example.COM");
        assert_eq!(u.name.as_deref(), Some("John"));
        let m = parse_user(&json!({"email": "MAILTO:ana@acme.es?subject=hi"})).unwrap();
        assert_eq!((m.email.as_str(), m.email_key.as_str(), m.name), ("ana@acme.es", "ana@acme.es", None));
        for bad in [
            json!({"name": "x"}),
            json!({"email": "nope"}),
            json!({"email": "a@b"}),
            json!({"email": "a@b."}),
            json!({"email": "a b@c.com"}),
            json!({"email": ""}),
            json!({"email": 5}),
            json!({"email": null}),
        ] {
            assert_eq!(parse_user(&bad).unwrap_err().field.as_deref(), Some("email"), "{bad}");
        }
        assert_eq!(parse_user(&json!({"email": "a@b.co", "name": 3})).unwrap_err().field.as_deref(), Some("name"));
        assert_eq!(parse_user(&json!(["a@b.co"])).unwrap_err().field, None);
    }

    #[test]
    fn a_batch_writes_each_person_once() {
        let parsed = vec![
            parse_user(&json!({"name": "Ana", "email": "ana@acme.es", "team": "a"})),
            parse_user(&json!({"email": "nope"})),
            parse_user(&json!({"email": "bo@acme.es"})),
            parse_user(&json!({"email": "ANA@acme.es", "region": "eu"})),
        ];
        let (writes, position) = merge_by_email(&parsed);
        assert_eq!(position, vec![Some(0), None, Some(1), Some(0)]);
        assert_eq!(writes.len(), 2);
        assert_eq!(writes[0].name.as_deref(), Some("Ana"), "an absent name keeps the earlier one");
        assert_eq!(writes[0].email, "ANA@acme.es", "the later spelling wins");
        assert_eq!(Value::Object(writes[0].properties.clone()), json!({"team": "a", "region": "eu"}));
    }
}
