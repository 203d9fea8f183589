//! Applying a partial update to a stored record under `FIELD_POLICY` (API.md §4), and listing what
//! really changed, for the history (API.md §10).
//!
//! Policies are looked up by wire name for core and custom fields alike (`industry`,
//! `genesy_score`); a field without one is overwritten.
//! - `overwrite`: the incoming value replaces the stored one; `null` clears the field.
//! - `fill_empty`: written only while the stored value is empty: absent, `null`, a string that is
//!   blank (whitespace only: a person would call it empty), `[]` or `{}`. Once filled, later values
//!   (nulls included) are not written.
//! - `union`: when the incoming value is an array and the stored one an array or absent, the result
//!   is the stored items followed by the incoming ones, each value once, in order of first
//!   appearance. Anything else (a string, a `null`) is treated as `overwrite`, so `null` still
//!   clears. The union of two lists may exceed the 500 items one request may send.
//! - `ignore`: never written by the API.
//!
//! A value equal to the stored one is not a change, and a stored `null` counts as absent, so the
//! history lists only real changes. A value that differs and that `fill_empty` (the field is
//! filled) or `ignore` kept out is not dropped silently: it is listed as [`Kept`], for the answer
//! and the history to say so.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use super::parse::{RecordUpdate, PROPERTIES};
use crate::domain::config::FieldPolicy;

/// A record as stored: its core fields (without `externalId`) and custom properties.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoredRecord {
    pub id: String,
    pub fields: Map<String, Value>,
    pub properties: Map<String, Value>,
}

/// One change of one value, for the history (as the store writes it: `{field, old?, new?}`).
/// `None` is "absent".
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    /// Wire name of a core field, or `properties.<name>` for a custom one.
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    /// The value as the client sent it, when it was stored otherwise (a clean host for a page
    /// URL, a number for its text): history keeps what came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<Value>,
}

/// A value sent and not applied: its field's policy kept the stored value (`fill_empty` on a
/// filled field, `ignore`), and the value sent differs from it. The store keeps it in history as
/// sent, marked not applied.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Kept {
    /// Wire name of a core field, or `properties.<name>` for a custom one.
    pub field: String,
    /// The stored value that was kept (absent when the field was empty, under `ignore`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored: Option<Value>,
    /// The value as the client sent it.
    pub sent: Value,
}

/// The record after an update, the changes that took it there (core fields first, then custom
/// ones; each group in the order of its map), and the values sent that were kept out.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub fields: Map<String, Value>,
    pub properties: Map<String, Value>,
    pub changes: Vec<Change>,
    pub kept: Vec<Kept>,
}

impl Applied {
    /// Whether the update changed anything (an update that changes nothing need not be written).
    pub fn is_unchanged(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Applies `update` to `stored` under `policy` (field name → policy; see the module documentation).
pub fn apply_update(stored: &StoredRecord, update: &RecordUpdate, policy: &BTreeMap<String, FieldPolicy>) -> Applied {
    apply_to(&stored.fields, &stored.properties, update, policy)
}

/// Applies `update` to a record's `fields` and `properties` as they are (see [`apply_update`]).
pub fn apply_to(fields: &Map<String, Value>, properties: &Map<String, Value>, update: &RecordUpdate, policy: &BTreeMap<String, FieldPolicy>) -> Applied {
    let mut fields = fields.clone();
    let mut properties = properties.clone();
    let mut changes = Vec::new();
    let mut kept = Vec::new();
    let policy_of = |name: &str| policy.get(name).copied().unwrap_or(FieldPolicy::Overwrite);
    for (name, incoming) in &update.fields {
        let sent = || update.sent.get(name).cloned().unwrap_or_else(|| incoming.clone());
        match apply_one(&mut fields, name, incoming, policy_of(name)) {
            Some(change) => changes.push(Change { field: name.clone(), sent: update.sent.get(name).cloned(), ..change }),
            None if kept_out(fields.get(name), incoming, policy_of(name)) => {
                kept.push(Kept { field: name.clone(), stored: fields.get(name).filter(|v| !v.is_null()).cloned(), sent: sent() })
            }
            None => {}
        }
    }
    for (name, incoming) in &update.properties {
        match apply_one(&mut properties, name, incoming, policy_of(name)) {
            Some(change) => changes.push(Change { field: format!("{PROPERTIES}.{name}"), ..change }),
            None if kept_out(properties.get(name), incoming, policy_of(name)) => kept.push(Kept {
                field: format!("{PROPERTIES}.{name}"),
                stored: properties.get(name).filter(|v| !v.is_null()).cloned(),
                sent: incoming.clone(),
            }),
            None => {}
        }
    }
    Applied { fields, properties, changes, kept }
}

/// Whether `incoming`, not written over `stored`, was kept out by `policy` (rather than being
/// equal to what is stored, or empty): a filled field under `fill_empty`, any field under
/// `ignore`.
fn kept_out(stored: Option<&Value>, incoming: &Value, policy: FieldPolicy) -> bool {
    let stored = stored.filter(|v| !v.is_null());
    let blocked = match policy {
        FieldPolicy::Ignore => true,
        FieldPolicy::FillEmpty => !is_empty(stored),
        FieldPolicy::Overwrite | FieldPolicy::Union => false,
    };
    blocked && !is_empty(Some(incoming)) && stored != Some(incoming)
}

/// Writes one field into `target` if its policy allows it; the change, if there is one (with an
/// empty `field`, filled in by the caller).
fn apply_one(target: &mut Map<String, Value>, name: &str, incoming: &Value, policy: FieldPolicy) -> Option<Change> {
    let old = target.get(name).filter(|v| !v.is_null());
    let new = match policy {
        FieldPolicy::Ignore => return None,
        FieldPolicy::FillEmpty if !is_empty(old) => return None,
        FieldPolicy::Union => union(old, incoming),
        FieldPolicy::FillEmpty | FieldPolicy::Overwrite => present(incoming),
    };
    if old == new.as_ref() {
        return None;
    }
    let old = old.cloned();
    match &new {
        Some(value) => {
            target.insert(name.to_string(), value.clone());
        }
        None => {
            target.remove(name);
        }
    }
    Some(Change { field: String::new(), old, new, sent: None })
}

fn present(value: &Value) -> Option<Value> {
    (!value.is_null()).then(|| value.clone())
}

/// Whether a stored value counts as empty: absent, null, blank text, `[]` or `{}`.
pub fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(items)) => items.is_empty(),
        Some(Value::Object(map)) => map.is_empty(),
        Some(Value::Bool(_) | Value::Number(_)) => false,
    }
}

fn union(old: Option<&Value>, incoming: &Value) -> Option<Value> {
    let (old_items, new_items) = match (old, incoming) {
        (None, Value::Array(new)) => (&[][..], new),
        (Some(Value::Array(old)), Value::Array(new)) => (&old[..], new),
        _ => return present(incoming),
    };
    // Items are compared through their JSON text so a long list costs linear time, not quadratic.
    let mut seen = HashSet::new();
    let merged: Vec<Value> =
        old_items.iter().chain(new_items).filter(|item| seen.insert(item.to_string())).cloned().collect();
    Some(Value::Array(merged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn stored(fields: Value, properties: Value) -> StoredRecord {
        StoredRecord { id: "co_1".into(), fields: map(fields), properties: map(properties) }
    }

    fn update(fields: Value, properties: Value) -> RecordUpdate {
        RecordUpdate { crm_id: "co_1".into(), fields: map(fields), properties: map(properties), last_activity: None, external_id: None, sent: Map::new() }
    }

    fn policies(pairs: &[(&str, FieldPolicy)]) -> BTreeMap<String, FieldPolicy> {
        pairs.iter().map(|(k, p)| (k.to_string(), *p)).collect()
    }

    fn change(field: &str, old: Option<Value>, new: Option<Value>) -> Change {
        Change { field: field.into(), old, new, sent: None }
    }

    #[test]
    fn a_change_carries_the_value_as_sent_when_it_was_read_otherwise() {
        let mut u = update(json!({"domain": "acme.com", "name": "Acme"}), json!({}));
        u.sent.insert("domain".into(), json!("https://www.acme.com/en"));
        let applied = apply_update(&stored(json!({"domain": "old.com"}), json!({})), &u, &BTreeMap::new());
        let domain = applied.changes.iter().find(|c| c.field == "domain").unwrap();
        assert_eq!(domain.sent, Some(json!("https://www.acme.com/en")));
        assert_eq!(serde_json::to_value(domain).unwrap()["sent"], "https://www.acme.com/en");
        let name = applied.changes.iter().find(|c| c.field == "name").unwrap();
        assert_eq!(name.sent, None);
        assert!(serde_json::to_value(name).unwrap().get("sent").is_none());
    }

    #[test]
    fn overwrite_is_the_default_for_core_and_custom_fields() {
        let s = stored(json!({"name": "Acme", "industry": "Tech"}), json!({"score": 1}));
        let u = update(json!({"name": "Acme Inc", "city": "Madrid"}), json!({"score": "2", "tier": "gold"}));
        let a = apply_update(&s, &u, &BTreeMap::new());
        assert_eq!(a.fields, map(json!({"name": "Acme Inc", "industry": "Tech", "city": "Madrid"})));
        assert_eq!(a.properties, map(json!({"score": "2", "tier": "gold"})), "custom type preserved");
        assert_eq!(
            a.changes,
            vec![
                change("city", None, Some(json!("Madrid"))),
                change("name", Some(json!("Acme")), Some(json!("Acme Inc"))),
                change("properties.score", Some(json!(1)), Some(json!("2"))),
                change("properties.tier", None, Some(json!("gold"))),
            ]
        );
    }

    #[test]
    fn null_clears_core_and_custom_fields() {
        let s = stored(json!({"name": "Acme", "tags": ["a"]}), json!({"score": 1}));
        let u = update(json!({"name": null, "tags": null, "city": null}), json!({"score": null, "nothing": null}));
        let a = apply_update(&s, &u, &BTreeMap::new());
        assert!(a.fields.is_empty());
        assert!(a.properties.is_empty());
        assert_eq!(
            a.changes,
            vec![
                change("name", Some(json!("Acme")), None),
                change("tags", Some(json!(["a"])), None),
                change("properties.score", Some(json!(1)), None),
            ],
            "clearing an absent field is no change"
        );
    }

    #[test]
    fn equal_values_are_no_change() {
        let s = stored(json!({"name": "Acme", "employeeCount": 5}), json!({"x": {"a": [1]}}));
        let u = update(json!({"name": "Acme", "employeeCount": 5}), json!({"x": {"a": [1]}}));
        let a = apply_update(&s, &u, &BTreeMap::new());
        assert!(a.is_unchanged());
        assert_eq!(a.fields, s.fields);
        // A number and its string are different values: that is a change.
        let a = apply_update(&s, &update(json!({"employeeCount": "5"}), json!({})), &BTreeMap::new());
        assert_eq!(a.changes, vec![change("employeeCount", Some(json!(5)), Some(json!("5")))]);
    }

    #[test]
    fn a_stored_null_counts_as_absent() {
        let s = stored(json!({"name": null}), json!({}));
        let a = apply_update(&s, &update(json!({"name": null}), json!({})), &BTreeMap::new());
        assert!(a.is_unchanged());
        let a = apply_update(&s, &update(json!({"name": "Acme"}), json!({})), &BTreeMap::new());
        assert_eq!(a.changes, vec![change("name", None, Some(json!("Acme")))]);
    }

    #[test]
    fn fill_empty_writes_only_into_every_kind_of_emptiness() {
        let p = policies(&[("industry", FieldPolicy::FillEmpty), ("score", FieldPolicy::FillEmpty)]);
        for empty in [None, Some(json!(null)), Some(json!("")), Some(json!("  ")), Some(json!([])), Some(json!({}))] {
            let mut fields = Map::new();
            let mut properties = Map::new();
            if let Some(v) = &empty {
                fields.insert("industry".into(), v.clone());
                properties.insert("score".into(), v.clone());
            }
            let s = StoredRecord { id: "co_1".into(), fields, properties };
            let a = apply_update(&s, &update(json!({"industry": "Tech"}), json!({"score": 3})), &p);
            assert_eq!(a.fields["industry"], json!("Tech"), "{empty:?}");
            assert_eq!(a.properties["score"], json!(3), "{empty:?}");
            let old = empty.filter(|v| !v.is_null());
            assert_eq!(
                a.changes,
                vec![change("industry", old.clone(), Some(json!("Tech"))), change("properties.score", old, Some(json!(3)))]
            );
        }
    }

    #[test]
    fn a_value_kept_out_by_its_policy_is_listed_as_sent() {
        let p = policies(&[("industry", FieldPolicy::FillEmpty), ("city", FieldPolicy::FillEmpty), ("tier", FieldPolicy::Ignore), ("name", FieldPolicy::Ignore)]);
        let s = stored(json!({"industry": "Financial Services", "city": "Madrid", "domain": "acme.com"}), json!({"tier": "gold"}));
        let mut u = update(
            json!({"industry": "Fintech", "city": "Madrid", "name": "Acme", "country": "ES", "employeeCount": ""}),
            json!({"tier": "silver"}),
        );
        u.sent.insert("industry".into(), json!(" Fintech "));
        let a = apply_update(&s, &u, &p);
        assert_eq!(
            a.kept,
            vec![
                Kept { field: "industry".into(), stored: Some(json!("Financial Services")), sent: json!(" Fintech ") },
                Kept { field: "name".into(), stored: None, sent: json!("Acme") },
                Kept { field: "properties.tier".into(), stored: Some(json!("gold")), sent: json!("silver") },
            ],
            "a filled field under fill_empty and any field under ignore; the same value (city), a value applied (country) and an empty one are not kept"
        );
        assert_eq!(a.fields["industry"], "Financial Services");
        assert_eq!(a.changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(), vec!["country", "employeeCount"]);
        let kept = serde_json::to_value(&a.kept[1]).unwrap();
        assert_eq!(kept, json!({"field": "name", "sent": "Acme"}), "an empty stored value is absent");
        // Overwrite and union keep nothing out.
        let a = apply_update(&s, &update(json!({"industry": "Fintech"}), json!({})), &BTreeMap::new());
        assert!(a.kept.is_empty());
    }

    #[test]
    fn fill_empty_leaves_filled_values_alone() {
        let p = policies(&[("industry", FieldPolicy::FillEmpty), ("score", FieldPolicy::FillEmpty)]);
        for filled in [json!("Tech"), json!(0), json!(false), json!(["a"]), json!({"a": 1})] {
            let s = stored(json!({ "industry": filled.clone() }), json!({ "score": filled.clone() }));
            let a = apply_update(&s, &update(json!({"industry": "Other"}), json!({"score": "other"})), &p);
            assert!(a.is_unchanged(), "{filled}");
            // A null does not clear a filled value either: clearing is a write.
            let a = apply_update(&s, &update(json!({"industry": null}), json!({"score": null})), &p);
            assert!(a.is_unchanged(), "{filled}");
            assert_eq!(a.fields["industry"], filled);
        }
    }

    #[test]
    fn union_merges_in_order_without_repeats() {
        let p = policies(&[("tags", FieldPolicy::Union), ("lists", FieldPolicy::Union)]);
        let s = stored(json!({"tags": ["b", "a", "b"]}), json!({"lists": [1, {"x": 1}]}));
        let u = update(json!({"tags": ["c", "a", "d", "c"]}), json!({"lists": [{"x": 1}, 2, "1"]}));
        let a = apply_update(&s, &u, &p);
        assert_eq!(a.fields["tags"], json!(["b", "a", "c", "d"]));
        assert_eq!(a.properties["lists"], json!([1, {"x": 1}, 2, "1"]));
        assert_eq!(
            a.changes,
            vec![
                change("tags", Some(json!(["b", "a", "b"])), Some(json!(["b", "a", "c", "d"]))),
                change("properties.lists", Some(json!([1, {"x": 1}])), Some(json!([1, {"x": 1}, 2, "1"]))),
            ]
        );
    }

    #[test]
    fn union_into_an_absent_field_and_without_news() {
        let p = policies(&[("tags", FieldPolicy::Union)]);
        let a = apply_update(&stored(json!({}), json!({})), &update(json!({"tags": ["a", "a", "b"]}), json!({})), &p);
        assert_eq!(a.fields["tags"], json!(["a", "b"]));
        let s = stored(json!({"tags": ["a", "b"]}), json!({}));
        let a = apply_update(&s, &update(json!({"tags": ["b"]}), json!({})), &p);
        assert!(a.is_unchanged(), "nothing new is no change");
        let a = apply_update(&s, &update(json!({"tags": []}), json!({})), &p);
        assert!(a.is_unchanged());
    }

    #[test]
    fn union_of_a_non_array_is_an_overwrite() {
        let p = policies(&[("tags", FieldPolicy::Union), ("label", FieldPolicy::Union)]);
        let s = stored(json!({"tags": ["a"]}), json!({"label": "x"}));
        let a = apply_update(&s, &update(json!({"tags": null}), json!({"label": ["y"]})), &p);
        assert!(!a.fields.contains_key("tags"), "null still clears");
        assert_eq!(a.properties["label"], json!(["y"]), "a stored non-array is replaced");
        let a = apply_update(&s, &update(json!({}), json!({"label": "z"})), &p);
        assert_eq!(a.properties["label"], json!("z"));
    }

    #[test]
    fn ignore_never_writes() {
        let p = policies(&[("name", FieldPolicy::Ignore), ("score", FieldPolicy::Ignore)]);
        let s = stored(json!({"name": "Acme"}), json!({"score": 1}));
        let u = update(json!({"name": "Other", "city": "Madrid"}), json!({"score": 2}));
        let a = apply_update(&s, &u, &p);
        assert_eq!(a.fields, map(json!({"name": "Acme", "city": "Madrid"})));
        assert_eq!(a.properties, map(json!({"score": 1})));
        assert_eq!(a.changes, vec![change("city", None, Some(json!("Madrid")))]);
        let a = apply_update(&stored(json!({}), json!({})), &update(json!({"name": "New"}), json!({"score": 5})), &p);
        assert!(a.is_unchanged(), "not even into an empty field");
        let a = apply_update(&s, &update(json!({"name": null}), json!({})), &p);
        assert!(a.is_unchanged(), "nor a clear");
    }

    #[test]
    fn policies_apply_by_wire_name_only() {
        // A policy on "properties.score" is not a policy on the custom field "score".
        let p = policies(&[("properties.score", FieldPolicy::Ignore)]);
        let a = apply_update(&stored(json!({}), json!({"score": 1})), &update(json!({}), json!({"score": 2})), &p);
        assert_eq!(a.properties["score"], json!(2));
    }

    #[test]
    fn emptiness() {
        for empty in [None, Some(&json!(null)), Some(&json!("")), Some(&json!(" \t")), Some(&json!([])), Some(&json!({}))] {
            assert!(is_empty(empty), "{empty:?}");
        }
        for filled in [json!(0), json!(false), json!("a"), json!([null]), json!({"a": null})] {
            assert!(!is_empty(Some(&filled)), "{filled}");
        }
    }
}
