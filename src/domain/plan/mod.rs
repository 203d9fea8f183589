//! The decisions of the record write paths, pure. Each planner takes the parsed request and what
//! the store loaded for it, and answers what to write and what to tell each item; the handler
//! only parses, loads, plans, writes and answers:
//! - [`plan_create`]: new records, links of matched records, the guard against concurrent
//!   creates, each item's outcome (`POST /{kind}`);
//! - [`plan_update`]: the changed records with their history, the refusals (`PUT /{kind}`);
//! - [`plan_sync`]: each item's match, the links to write, the parents to answer with
//!   (`POST /{kind}/sync`).
//!
//! What the store writes is typed here ([`RecordWrite`], [`ExternalLink`], [`KeyGuard`]); the
//! store serialises it itself.

mod create;
mod sync;
mod update;

pub use create::{answer_create, plan_create, CreatePlan, CreateSettings, Created, KeptWrite};
pub use sync::{answer_sync, plan_sync, SyncItem, SyncPlan, Synced};
pub use update::{answer_update, plan_update, to_survivors, update_external_ids, update_ids, update_refs, UpdateOutcome, UpdatePlan};


use serde::Serialize;
use serde_json::{Map, Value};

use super::record::{display_name, key_fields, listing_fields, search_text, Change, KeySet, RecordKind};
use super::refs::Refs;

/// One contact or company as the store writes it (created or updated).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordWrite {
    pub id: String,
    pub external_id: Option<String>,
    pub fields: Map<String, Value>,
    pub properties: Map<String, Value>,
    pub owner_id: Option<String>,
    /// A company's parent company.
    pub parent_id: Option<String>,
    pub display_name: String,
    pub search_text: String,
    /// The normalised match keys, as `[field, key]` pairs.
    pub keys: Vec<(&'static str, String)>,
    /// A `lastActivityDate` the client sent: the stored date moves forward to it, never back.
    pub last_activity_at: Option<String>,
    /// On a create: the core fields stored otherwise than they came, as sent (the `(created)`
    /// history row keeps them).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub sent: Map<String, Value>,
}

impl RecordWrite {
    pub fn of(kind: RecordKind, id: String, external_id: Option<String>, fields: Map<String, Value>, properties: Map<String, Value>) -> RecordWrite {
        let keys = KeySet::of(kind, &fields);
        RecordWrite::with_keys(kind, id, external_id, fields, properties, &keys, true)
    }

    /// A write whose keys are `keys`, and whose display name and search text are derived from
    /// its fields when `listing` (left empty otherwise: see [`RecordChange::relist`]).
    fn with_keys(kind: RecordKind, id: String, external_id: Option<String>, fields: Map<String, Value>, properties: Map<String, Value>, keys: &KeySet, listing: bool) -> RecordWrite {
        let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_string);
        RecordWrite {
            keys: keys.as_slice().iter().map(|(field, key)| (field.name(), key.clone())).collect(),
            owner_id: text("ownerId"),
            parent_id: text("parentCrmId"),
            display_name: if listing { display_name(kind, &fields) } else { String::new() },
            search_text: if listing { search_text(kind, &fields) } else { String::new() },
            last_activity_at: None,
            sent: Map::new(),
            id,
            external_id,
            fields,
            properties,
        }
    }

    pub fn with_sent(mut self, sent: Map<String, Value>) -> RecordWrite {
        self.sent = sent;
        self
    }

    pub fn with_last_activity(mut self, at: Option<String>) -> RecordWrite {
        self.last_activity_at = at;
        self
    }

    /// What the write's reference guard checks again: the owner, and the parent company.
    pub fn refs(&self) -> Refs<'_> {
        record_refs(&self.fields)
    }
}

/// The references of a record's fields: `ownerId`, and `parentCrmId` as its company.
pub fn record_refs(fields: &Map<String, Value>) -> Refs<'_> {
    let text = |name: &str| fields.get(name).and_then(Value::as_str);
    Refs { contact: None, company: text("parentCrmId"), owner: text("ownerId") }
}

/// An updated record as the store writes it: the record, the `updated_at` it was read at (the
/// write fails when the record changed since), and the changes for its history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordChange {
    #[serde(flatten)]
    pub record: RecordWrite,
    pub base: String,
    pub changes: Vec<Change>,
    /// Its match keys differ from those of its stored fields: the store rewrites its keys (an
    /// update of other fields leaves `match_keys` alone, each key a row and an index entry).
    #[serde(skip)]
    pub rekey: bool,
    /// A field its list columns come from changed (name, domain, e-mail, owner, parent...): the
    /// store rewrites `display_name`, `search_text`, `owner_id` and `parent_id`, and with them
    /// the list, search, owner and parent indexes. Otherwise those stay as stored, and the
    /// record's `display_name` and `search_text` here are left empty.
    #[serde(skip)]
    pub relist: bool,
}

impl RecordChange {
    /// A stored record whose fields were `before`, written with `fields` and `properties`: its
    /// keys computed (and compared with the old ones) only when a field they come from changed,
    /// its list columns only when theirs did. Otherwise its `keys` are left empty: the store
    /// writes keys only for a record that [`RecordChange::rekey`]s.
    pub fn rewrite(
        kind: RecordKind,
        id: String,
        before: &Map<String, Value>,
        fields: Map<String, Value>,
        properties: Map<String, Value>,
        base: String,
        changes: Vec<Change>,
    ) -> RecordChange {
        let same = |mut names: Box<dyn Iterator<Item = &'static str>>| names.all(|n| before.get(n) == fields.get(n));
        let (keys, rekey) = match same(Box::new(key_fields(kind))) {
            true => (KeySet::default(), false),
            false => {
                let keys = KeySet::of(kind, &fields);
                let rekey = keys != KeySet::of(kind, before);
                (keys, rekey)
            }
        };
        let relist = !same(Box::new(listing_fields(kind)));
        let record = RecordWrite::with_keys(kind, id, None, fields, properties, &keys, relist);
        RecordChange { record, base, changes, rekey, relist }
    }
}

/// A matched record linked to the incoming externalId that found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalLink {
    pub id: String,
    pub external_id: String,
}

impl ExternalLink {
    /// What the write's reference guard checks again: the linked record is still live, so an
    /// externalId never ends up naming a record deleted between the read and the write.
    pub fn refs(&self, kind: RecordKind) -> Refs<'_> {
        match kind {
            RecordKind::Contact => Refs { contact: Some(&self.id), company: None, owner: None },
            RecordKind::Company => Refs { contact: None, company: Some(&self.id), owner: None },
        }
    }
}

/// The references a write of these links re-checks (see [`ExternalLink::refs`]).
pub fn link_refs(kind: RecordKind, links: &[ExternalLink]) -> Vec<Refs<'_>> {
    links.iter().map(|l| l.refs(kind)).collect()
}

/// What a create's guard checks at the write: no record holding one of `anchors` exists besides
/// the `seen` candidates (another request created a possible duplicate in between).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGuard {
    pub anchors: Vec<(&'static str, String)>,
    pub seen: Vec<String>,
}

/// The keys whose holders a write changes: the match cache forgets them after the commit.
pub type Touched = Vec<KeySet>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_guarded_by_the_liveness_of_the_record_it_names() {
        let links = [ExternalLink { id: "ct_1".into(), external_id: "e1".into() }];
        assert_eq!(link_refs(RecordKind::Contact, &links), vec![Refs { contact: Some("ct_1"), company: None, owner: None }]);
        let links = [ExternalLink { id: "co_1".into(), external_id: "e1".into() }];
        assert_eq!(link_refs(RecordKind::Company, &links), vec![Refs { contact: None, company: Some("co_1"), owner: None }]);
    }

    fn object(v: serde_json::Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_change_rewrites_keys_and_list_columns_only_when_their_fields_changed() {
        let kind = RecordKind::Company;
        let before = object(serde_json::json!({"name": "Acme", "domain": "acme.com", "industry": "Software"}));
        let rewrite = |after: serde_json::Value| {
            RecordChange::rewrite(kind, "co_1".into(), &before, object(after), Map::new(), "t0".into(), Vec::new())
        };
        // Another field and a property: nothing derived is computed or written again.
        let w = rewrite(serde_json::json!({"name": "Acme", "domain": "acme.com", "industry": "Fintech"}));
        assert!(!w.rekey && !w.relist);
        assert!(w.record.keys.is_empty());
        assert_eq!((w.record.display_name.as_str(), w.record.search_text.as_str()), ("", ""), "kept as stored");
        // The domain as written differently but normalised the same: the same keys, a new list.
        let w = rewrite(serde_json::json!({"name": "Acme", "domain": "https://www.acme.com/", "industry": "Software"}));
        assert!(!w.rekey && w.relist);
        // Another domain: new keys, new list columns.
        let w = rewrite(serde_json::json!({"name": "Acme", "domain": "acme.io", "industry": "Software"}));
        assert!(w.rekey && w.relist);
        assert_eq!(w.record.display_name, "Acme");
        assert_eq!(w.record.keys, KeySet::of(kind, &w.record.fields).as_slice().iter().map(|(f, k)| (f.name(), k.clone())).collect::<Vec<_>>());
        // A new owner: the owner index, not the keys.
        let w = rewrite(serde_json::json!({"name": "Acme", "domain": "acme.com", "industry": "Software", "ownerId": "us_1"}));
        assert!(!w.rekey && w.relist);
        assert_eq!(w.record.owner_id.as_deref(), Some("us_1"));
        // A contact's name is a key and a list column.
        let before = object(serde_json::json!({"firstName": "Ana", "lastName": "Ruiz"}));
        let w = RecordChange::rewrite(RecordKind::Contact, "ct_1".into(), &before, object(serde_json::json!({"firstName": "Ana", "lastName": "Ruíz"})), Map::new(), "t0".into(), Vec::new());
        assert!(w.relist);
        assert_eq!(w.record.display_name, "Ana Ruíz");
    }
}
