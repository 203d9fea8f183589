//! The JSON arguments of the statements that write changed records (`sql::RecordSql`'s `guard`,
//! `update`, `update_light`, `keys_delete`, `keys_new` and `history_changes`), each holding only
//! what its statement reads. Pure, so the benchmark's SQLite floor binds exactly what the Worker
//! binds.
//!
//! Binding the whole changed records to every statement sent each record's fields to D1 six times
//! (measured: a 1,000-record update bound 4 MB for 700 KB of records).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::plan::RecordChange;
use crate::domain::record::Change;

/// The arguments, as JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeArgs {
    /// `[{id, base}]`: every record, for `guard`.
    pub bases: String,
    /// The records whose list columns change (`RecordChange::relist`), with them, for `update`.
    pub full: String,
    /// The others, with their fields only, for `update_light`.
    pub light: String,
    /// `[{id, keys}]`: the records whose keys change (`RecordChange::rekey`), for `keys_delete`
    /// and `keys_new`.
    pub keys: String,
    /// `[{id, changes}]`: every record, for `history_changes`.
    pub changes: String,
}

#[derive(Serialize)]
struct Base<'a> {
    id: &'a str,
    base: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row<'a> {
    id: &'a str,
    fields: &'a Map<String, Value>,
    properties: &'a Map<String, Value>,
    last_activity_at: &'a Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    listing: Option<Listing<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listing<'a> {
    owner_id: &'a Option<String>,
    parent_id: &'a Option<String>,
    display_name: &'a str,
    search_text: &'a str,
}

#[derive(Serialize)]
struct Keys<'a> {
    id: &'a str,
    keys: &'a [(&'static str, String)],
}

#[derive(Serialize)]
struct Changes<'a> {
    id: &'a str,
    changes: &'a [Change],
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

impl ChangeArgs {
    pub fn of(changes: &[RecordChange]) -> ChangeArgs {
        fn row(c: &RecordChange) -> Row<'_> {
            let r = &c.record;
            let listing = c.relist.then(|| Listing {
                owner_id: &r.owner_id,
                parent_id: &r.parent_id,
                display_name: &r.display_name,
                search_text: &r.search_text,
            });
            Row { id: &r.id, fields: &r.fields, properties: &r.properties, last_activity_at: &r.last_activity_at, listing }
        }
        ChangeArgs {
            bases: json(&changes.iter().map(|c| Base { id: &c.record.id, base: &c.base }).collect::<Vec<_>>()),
            full: json(&changes.iter().filter(|c| c.relist).map(row).collect::<Vec<_>>()),
            light: json(&changes.iter().filter(|c| !c.relist).map(row).collect::<Vec<_>>()),
            keys: json(&changes.iter().filter(|c| c.rekey).map(|c| Keys { id: &c.record.id, keys: &c.record.keys }).collect::<Vec<_>>()),
            changes: json(&changes.iter().map(|c| Changes { id: &c.record.id, changes: &c.changes }).collect::<Vec<_>>()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::RecordKind;
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn each_statement_gets_only_what_it_reads() {
        let before = object(json!({"name": "Acme", "domain": "acme.com"}));
        let change = |id: &str, after: Value| {
            let log = vec![Change { field: "x".into(), old: None, new: Some(json!(1)), sent: None }];
            RecordChange::rewrite(RecordKind::Company, id.into(), &before, object(after), object(json!({"p": 1})), "t0".into(), log)
        };
        let args = ChangeArgs::of(&[
            change("co_1", json!({"name": "Acme", "domain": "acme.com", "industry": "Fintech"})),
            change("co_2", json!({"name": "Acme Labs", "domain": "acme.com"})),
        ]);
        assert_eq!(args.bases, r#"[{"id":"co_1","base":"t0"},{"id":"co_2","base":"t0"}]"#);
        let light: Value = serde_json::from_str(&args.light).unwrap();
        assert_eq!(light, json!([{"id": "co_1", "fields": {"name": "Acme", "domain": "acme.com", "industry": "Fintech"}, "properties": {"p": 1}, "lastActivityAt": null}]));
        let full: Value = serde_json::from_str(&args.full).unwrap();
        assert_eq!(full[0]["id"], "co_2");
        assert_eq!((full[0]["displayName"].as_str(), full[0]["ownerId"].is_null()), (Some("Acme Labs"), true));
        // The name is a company key: co_2's keys change, co_1's do not.
        let keys: Value = serde_json::from_str(&args.keys).unwrap();
        assert_eq!(keys.as_array().unwrap().len(), 1);
        assert_eq!(keys[0]["id"], "co_2");
        assert!(keys[0]["keys"].as_array().unwrap().iter().any(|k| k == &json!(["name", "acme labs"])), "{keys}");
        let changes: Value = serde_json::from_str(&args.changes).unwrap();
        assert_eq!(changes.as_array().unwrap().len(), 2);
        assert_eq!(changes[0], json!({"id": "co_1", "changes": [{"field": "x", "new": 1}]}));
    }
}
