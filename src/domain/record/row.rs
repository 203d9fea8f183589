//! A contact or company as the store reads it back, typed: what the read routes answer and what
//! an update starts from.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::apply::StoredRecord;
use super::kind::RecordKind;
use super::view::to_wire;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordRow {
    pub id: String,
    pub external_id: Option<String>,
    pub fields: Map<String, Value>,
    pub properties: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
    /// Set on the change feed's tombstones.
    pub deleted_at: Option<String>,
    /// When the newest activity logged on the record happened (`lastActivityDate`).
    pub last_activity_at: Option<String>,
    /// The record's contact–company links, when the read asked for them.
    pub associations: Option<Vec<Value>>,
    /// On a tombstone: the record it was merged into.
    pub merged_into: Option<String>,
}

/// A record as the update's `load` statement packs it (one JSON object per record, in its
/// `records` column): what the Worker, and the benchmark's floor of the same statement, read back.
#[derive(Debug, Deserialize)]
pub struct LoadedRecord {
    id: String,
    external_id: Option<String>,
    fields: Map<String, Value>,
    properties: Map<String, Value>,
    created_at: String,
    updated_at: String,
    last_activity_at: Option<String>,
}

impl From<LoadedRecord> for RecordRow {
    fn from(r: LoadedRecord) -> RecordRow {
        RecordRow {
            id: r.id,
            external_id: r.external_id,
            fields: r.fields,
            properties: r.properties,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_activity_at: r.last_activity_at,
            ..RecordRow::default()
        }
    }
}

impl RecordRow {
    pub fn stored(&self) -> StoredRecord {
        StoredRecord { id: self.id.clone(), fields: self.fields.clone(), properties: self.properties.clone() }
    }

    /// The record as a sync answers it (a parent read by id: no keys, no owner's name).
    pub fn candidate(&self) -> crate::domain::sync::Candidate {
        crate::domain::sync::Candidate {
            id: self.id.clone(),
            fields: self.fields.clone(),
            properties: self.properties.clone(),
            updated_at: Some(self.updated_at.clone()),
            last_activity_at: self.last_activity_at.clone(),
            ..Default::default()
        }
    }

    /// The record as the API answers it, `lastActivityDate` included, and its associations when
    /// they were read.
    pub fn to_wire(&self, kind: RecordKind) -> Value {
        let mut record = to_wire(
            kind,
            &self.id,
            self.external_id.as_deref(),
            &self.fields,
            &self.properties,
            &self.created_at,
            &self.updated_at,
        );
        record["lastActivityDate"] = json!(self.last_activity_at);
        if let Some(links) = &self.associations {
            record["associations"] = Value::Array(links.clone());
        }
        record
    }

    /// A change-feed entry: the record, or its tombstone.
    pub fn to_feed_entry(&self, kind: RecordKind) -> Value {
        match &self.deleted_at {
            Some(_) => match &self.merged_into {
                Some(into) => json!({ "id": self.id, "deleted": true, "updatedAt": self.updated_at, "mergedInto": into }),
                None => json!({ "id": self.id, "deleted": true, "updatedAt": self.updated_at }),
            },
            None => self.to_wire(kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_form_carries_the_activity_date_and_links_only_when_read() {
        let row = RecordRow { id: "ct_1".into(), last_activity_at: Some("2024-01-01T00:00:00.000Z".into()), ..Default::default() };
        let w = row.to_wire(RecordKind::Contact);
        assert_eq!((w["crmId"].as_str(), w["lastActivityDate"].as_str()), (Some("ct_1"), Some("2024-01-01T00:00:00.000Z")));
        assert!(w.get("associations").is_none());
        let linked = RecordRow { associations: Some(vec![json!({"companyId": "co_1"})]), ..row.clone() };
        assert_eq!(linked.to_wire(RecordKind::Contact)["associations"][0]["companyId"], "co_1");
        let gone = RecordRow { deleted_at: Some("t".into()), updated_at: "t".into(), ..row };
        assert_eq!(gone.to_feed_entry(RecordKind::Contact), json!({"id": "ct_1", "deleted": true, "updatedAt": "t"}));
        let merged = RecordRow { merged_into: Some("ct_2".into()), ..gone };
        assert_eq!(merged.to_feed_entry(RecordKind::Contact)["mergedInto"], "ct_2");
    }
}
