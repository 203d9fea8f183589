//! Running the duplicates and merge statements of [`super::sql_merge`] on D1.

use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::d1::{json_arg, text, Result, Store, StoreError};
use super::sql::links;
use super::sql_merge::{self, MergeSql};
use crate::domain::matching::MatchField;
use crate::domain::merge::{DuplicateRow, MergePlan, MergeRow};
use crate::domain::record::{KeySet, RecordKind, RecordRow};

fn merge_sql(kind: RecordKind) -> &'static MergeSql {
    match kind {
        RecordKind::Contact => &sql_merge::CONTACTS,
        RecordKind::Company => &sql_merge::COMPANIES,
    }
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, id: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Decode(format!("{what} of {id}: {e}")))
}

#[derive(Deserialize)]
struct RawDuplicate {
    group_field: String,
    group_key: String,
    id: String,
    external_id: Option<String>,
    fields: String,
    display_name: String,
    updated_at: String,
    keys: String,
}

#[derive(Deserialize)]
struct RawMergeRow {
    id: String,
    external_id: Option<String>,
    fields: String,
    properties: String,
    created_at: String,
    updated_at: String,
    last_activity_at: Option<String>,
    deleted_at: Option<String>,
    merged_into: Option<String>,
    associations: Option<String>,
}

impl RawDuplicate {
    fn decode(self) -> Result<DuplicateRow> {
        let r = self;
        let pairs: Vec<(String, String)> = decode("keys", &r.id, &r.keys)?;
        let keys = pairs.into_iter().map(|(f, k)| Ok((field(&f, &r.id)?, k))).collect::<Result<Vec<_>>>()?;
        Ok(DuplicateRow {
            group_field: field(&r.group_field, &r.id)?,
            group_key: r.group_key,
            fields: decode("fields", &r.id, &r.fields)?,
            keys: KeySet::new(keys),
            id: r.id,
            external_id: r.external_id,
            name: r.display_name,
            updated_at: r.updated_at,
        })
    }
}

fn field(name: &str, id: &str) -> Result<MatchField> {
    MatchField::from_name(name).ok_or_else(|| StoreError::Decode(format!("key field {name:?} of {id}")))
}

impl Store {
    /// Members of at most `limit` groups of records sharing a key of `fields`, after the group
    /// `(after_field, after_key)`: one statement.
    pub async fn duplicates(&self, kind: RecordKind, fields: &[&str], after: (&str, &str), limit: usize) -> Result<Vec<DuplicateRow>> {
        let args = [json_arg(fields), text(after.0), text(after.1), JsValue::from_f64(limit as f64)];
        let rows: Vec<RawDuplicate> = self.rows(merge_sql(kind).duplicates, &args).await?;
        rows.into_iter().map(RawDuplicate::decode).collect()
    }

    /// The members of the groups record `id` belongs to (sharing one of its keys of `fields`),
    /// at most `limit` rows: one statement. A record's page lists its possible duplicates so.
    pub async fn duplicates_of(&self, kind: RecordKind, id: &str, fields: &[&str], limit: usize) -> Result<Vec<DuplicateRow>> {
        let args = [text(id), json_arg(fields), JsValue::from_f64(limit as f64)];
        let rows: Vec<RawDuplicate> = self.rows(merge_sql(kind).duplicates_of, &args).await?;
        rows.into_iter().map(RawDuplicate::decode).collect()
    }

    /// The records a merge names, deleted and merged ones included, with their links.
    pub async fn merge_load(&self, kind: RecordKind, ids: &[String]) -> Result<Vec<MergeRow>> {
        let rows: Vec<RawMergeRow> = self.rows(merge_sql(kind).load, &[json_arg(ids)]).await?;
        rows.into_iter()
            .map(|r| {
                Ok(MergeRow {
                    row: RecordRow {
                        fields: decode("fields", &r.id, &r.fields)?,
                        properties: decode("properties", &r.id, &r.properties)?,
                        associations: match &r.associations {
                            Some(t) => Some(decode("associations", &r.id, t)?),
                            None => None,
                        },
                        id: r.id,
                        external_id: r.external_id,
                        created_at: r.created_at,
                        updated_at: r.updated_at,
                        deleted_at: r.deleted_at,
                        last_activity_at: r.last_activity_at,
                        merged_into: r.merged_into.clone(),
                    },
                    merged_into: r.merged_into,
                })
            })
            .collect()
    }

    /// The survivor of each id of `ids` that was merged into another record.
    pub async fn merged_of(&self, kind: RecordKind, ids: &[String]) -> Result<Vec<(String, String)>> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            merged_into: String,
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<Row> = self.rows(merge_sql(kind).merged_of, &[json_arg(ids)]).await?;
        Ok(rows.into_iter().map(|r| (r.id, r.merged_into)).collect())
    }

    /// Writes a merge in one transaction and answers the survivor as read at its end. Fails with
    /// `Conflict` when a record it read changed or was deleted (or merged) since.
    pub async fn merge(&self, kind: RecordKind, plan: &MergePlan, now: &str, request_id: &str) -> Result<Option<RecordRow>> {
        let s = super::d1::record_sql(kind);
        let m = merge_sql(kind);
        let survivor = text(&plan.survivor.record.id);
        let merged = json_arg(&plan.merged);
        let merged_items: Vec<serde_json::Value> = plan.merged.iter().map(|id| serde_json::json!({"id": id})).collect();
        let write = json_arg(std::slice::from_ref(&plan.survivor));
        let moved = |sql: &str| self.prepare(sql, &[merged.clone(), survivor.clone(), text(now), text(request_id)]);
        let moved3 = |sql: &str| self.prepare(sql, &[merged.clone(), survivor.clone(), text(now)]);
        let (removed, added) = (json_arg(&plan.links_removed), json_arg(&plan.links_added));
        let logged = |items: &JsValue| [items.clone(), text(now), text(request_id)];
        let links: Vec<serde_json::Value> = plan
            .external_link
            .iter()
            .map(|(id, e)| serde_json::json!({"id": id, "externalId": e}))
            .collect();
        let mut statements = vec![
            self.prepare(s.guard, &[json_arg(&plan.bases)])?,
            self.prepare(s.update, &[write.clone(), text(now)])?,
            self.prepare(s.keys_delete, std::slice::from_ref(&write))?,
            self.prepare(s.keys_new, std::slice::from_ref(&write))?,
            self.prepare(s.history_changes, &logged(&write))?,
            moved(m.history_merge)?,
            self.prepare(m.repoint, &[merged.clone(), survivor.clone()])?,
            moved(m.history_external)?,
            self.prepare(m.move_external, &[merged.clone(), survivor.clone()])?,
            self.prepare(s.set_external, &[json_arg(&links)])?,
            self.prepare(links::HISTORY_REMOVED, &logged(&removed))?,
            self.prepare(links::REMOVE, &[removed])?,
            self.prepare(links::HISTORY_ADDED, &logged(&added))?,
            self.prepare(links::UPSERT, &[added, text(now)])?,
            moved(m.history_tasks)?,
            moved3(m.move_tasks)?,
            moved(m.history_activities)?,
            self.prepare(m.move_activities, &[merged.clone(), survivor.clone()])?,
        ];
        if kind == RecordKind::Company {
            statements.push(moved(sql_merge::HISTORY_CHILDREN)?);
            statements.push(moved3(sql_merge::MOVE_CHILDREN)?);
        }
        statements.extend([
            moved(m.history_merged)?,
            moved3(m.tombstone)?,
            self.prepare(s.keys_delete, &[json_arg(&merged_items)])?,
            self.prepare(s.one, std::slice::from_ref(&survivor))?,
        ]);
        let rows = self.batch_then_read::<super::d1::RawRecord>(statements).await?;
        rows.into_iter().next().map(super::d1::decode_record).transpose()
    }
}
