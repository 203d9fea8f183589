//! Running the duplicates and merge statements of [`super::sql_merge`] on D1.

use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::d1::{json_arg, text, Result, Store, StoreError};
use super::sql_merge::{self, MergeSql};
use crate::domain::matching::MatchField;
use crate::domain::merge::{DuplicateRow, MergePlan, MergeRow};
use crate::domain::unmerge::{MergeHistory, MergeRecord, UndoConflict, UndoPlan};
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
    /// The links move set-based from what the merged records hold when the batch runs, so a link
    /// written to one of them after the merge read it moves too. `merge_id` names the merge for an
    /// undo; its record holds the range of history ids the batch wrote.
    pub async fn merge(&self, kind: RecordKind, plan: &MergePlan, merge_id: &str, now: &str, request_id: &str) -> Result<Option<RecordRow>> {
        let s = super::d1::record_sql(kind);
        let m = merge_sql(kind);
        let survivor = text(&plan.survivor.record.id);
        let merged = json_arg(&plan.merged);
        let merged_items: Vec<serde_json::Value> = plan.merged.iter().map(|id| serde_json::json!({"id": id})).collect();
        let write = json_arg(std::slice::from_ref(&plan.survivor));
        let moved = |sql: &str| self.prepare(sql, &[merged.clone(), survivor.clone(), text(now), text(request_id)]);
        let moved3 = |sql: &str| self.prepare(sql, &[merged.clone(), survivor.clone(), text(now)]);
        let logged = |items: &JsValue| [items.clone(), text(now), text(request_id)];
        // The survivor always: with no planned externalId, `set_external` still gives it one of
        // the links it holds when it had none (one written to a merged record after the read).
        let links = [serde_json::json!({"id": plan.survivor.record.id, "externalId": plan.external_link})];
        let mut statements = vec![
            self.prepare(s.guard, &[json_arg(&plan.bases)])?,
            self.prepare(m.record, &[merged.clone(), survivor.clone(), text(now), text(request_id), text(merge_id)])?,
            self.prepare(s.update, &[write.clone(), text(now)])?,
            self.prepare(s.keys_delete, std::slice::from_ref(&write))?,
            self.prepare(s.keys_new, std::slice::from_ref(&write))?,
            self.prepare(s.history_changes, &logged(&write))?,
            self.prepare(m.history_merge, &[merged.clone(), survivor.clone(), text(now), text(request_id), text(merge_id)])?,
            // What the merged records held, their externalIds included, before anything moves.
            moved(m.history_merged)?,
            moved(m.history_repoint)?,
            self.prepare(m.repoint, &[merged.clone(), survivor.clone()])?,
            moved(m.history_external)?,
            self.prepare(m.move_external, &[merged.clone(), survivor.clone()])?,
            self.prepare(s.set_external, &[json_arg(&links)])?,
            moved(m.history_links_removed)?,
            moved(m.history_links_added)?,
        ];
        if kind == RecordKind::Contact {
            statements.push(moved3(sql_merge::CONTACT_LINKS_DEMOTE)?);
        }
        statements.extend([
            moved3(m.links_move)?,
            self.prepare(m.links_drop, std::slice::from_ref(&merged))?,
            moved3(m.links_move_primary)?,
            moved(m.history_tasks)?,
            moved3(m.move_tasks)?,
            moved(m.history_activities)?,
            self.prepare(m.move_activities, &[merged.clone(), survivor.clone()])?,
        ]);
        if kind == RecordKind::Company {
            statements.push(moved(sql_merge::HISTORY_CHILDREN)?);
            statements.push(moved3(sql_merge::MOVE_CHILDREN)?);
        }
        statements.extend([
            moved3(m.tombstone)?,
            self.prepare(s.keys_delete, &[json_arg(&merged_items)])?,
            self.prepare(sql_merge::FINISH, &[text(merge_id)])?,
            self.prepare(s.one, std::slice::from_ref(&survivor))?,
        ]);
        let rows = self.batch_then_read::<super::d1::RawRecord>(statements).await?;
        rows.into_iter().next().map(super::d1::decode_record).transpose()
    }
}

#[derive(Deserialize)]
struct RawMerge {
    id: String,
    kind: String,
    survivor_id: String,
    merged_ids: String,
    merged_at: String,
    undone_at: Option<String>,
}

#[derive(Deserialize)]
struct RawMergeHistory {
    entity_id: String,
    field: String,
    old_value: Option<String>,
    new_value: Option<String>,
}

#[derive(Deserialize)]
struct RawConflict {
    entity: String,
    id: String,
    field: String,
    other: Option<String>,
}

/// What an undo reads: the merge, its records now, its history rows of them, and what later
/// writes changed among what it changed.
pub struct UndoRead {
    pub merge: Option<MergeRecord>,
    pub loaded: Vec<MergeRow>,
    pub history: Vec<MergeHistory>,
    pub conflicts: Vec<UndoConflict>,
}

impl Store {
    /// The reads of an undo: four statements, whatever the merge moved (one when it is unknown).
    pub async fn undo_load(&self, kind: RecordKind, merge_id: &str) -> Result<UndoRead> {
        let m = merge_sql(kind);
        let raw: Vec<RawMerge> = self.rows(sql_merge::MERGE, &[text(merge_id)]).await?;
        let Some(r) = raw.into_iter().next().filter(|r| r.kind == kind.key_kind()) else {
            return Ok(UndoRead { merge: None, loaded: Vec::new(), history: Vec::new(), conflicts: Vec::new() });
        };
        let merge = MergeRecord {
            merged: decode("merged_ids", &r.id, &r.merged_ids)?,
            id: r.id,
            kind: r.kind,
            survivor: r.survivor_id,
            merged_at: r.merged_at,
            undone_at: r.undone_at,
        };
        let ids: Vec<String> = std::iter::once(merge.survivor.clone()).chain(merge.merged.iter().cloned()).collect();
        let loaded = self.merge_load(kind, &ids).await?;
        let rows: Vec<RawMergeHistory> = self.rows(m.undo_history, &[text(merge_id)]).await?;
        let value = |t: Option<String>, what: &str, id: &str| -> Result<Option<serde_json::Value>> {
            t.map(|t| decode(what, id, &t)).transpose()
        };
        let history = rows
            .into_iter()
            .map(|h| {
                Ok(MergeHistory {
                    old: value(h.old_value, "history old value", &h.entity_id)?,
                    new: value(h.new_value, "history new value", &h.entity_id)?,
                    entity_id: h.entity_id,
                    field: h.field,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let conflicts: Vec<RawConflict> = self.rows(m.undo_conflicts, &[text(merge_id)]).await?;
        let conflicts = conflicts.into_iter().map(|c| UndoConflict { entity: c.entity, id: c.id, field: c.field, other: c.other }).collect();
        Ok(UndoRead { merge: Some(merge), loaded, history, conflicts })
    }

    /// Writes an undo in one transaction and answers the survivor as read at its end. Fails with
    /// `Conflict` when a record it read changed, the merge was undone meanwhile, or a later write
    /// changed what the merge changed.
    pub async fn undo(&self, kind: RecordKind, merge_id: &str, plan: &UndoPlan, now: &str, request_id: &str) -> Result<Option<RecordRow>> {
        let s = super::d1::record_sql(kind);
        let m = merge_sql(kind);
        let id = text(merge_id);
        let writes = json_arg(&plan.writes);
        let undo = |sql: &str| self.prepare(sql, &[id.clone(), text(now), text(request_id)]);
        let undo2 = |sql: &str| self.prepare(sql, &[id.clone(), text(now)]);
        let by_id = |sql: &str| self.prepare(sql, std::slice::from_ref(&id));
        let mut statements = vec![
            self.prepare(s.guard, &[json_arg(&plan.bases)])?,
            by_id(sql_merge::UNDO_ONCE)?,
            by_id(m.undo_guard)?,
            by_id(m.undo_guard_merged)?,
            undo(sql_merge::UNDO_HISTORY_REVERSED)?,
            undo(m.undo_history_marks)?,
            by_id(m.undo_revive)?,
            self.prepare(s.update, &[writes.clone(), text(now)])?,
            self.prepare(m.undo_history_gone_owners, &[writes.clone(), text(now), text(request_id)])?,
            self.prepare(m.undo_clear_gone_owners, std::slice::from_ref(&writes))?,
            self.prepare(s.keys_delete, std::slice::from_ref(&writes))?,
            self.prepare(s.keys_new, std::slice::from_ref(&writes))?,
            by_id(m.undo_repoint)?,
            by_id(m.undo_external)?,
            by_id(m.undo_external_column)?,
            by_id(sql_merge::UNDO_LINKS_ADDED)?,
            undo2(sql_merge::UNDO_LINKS_PRIMARY)?,
            undo2(sql_merge::UNDO_LINKS_REMOVED)?,
            undo2(m.undo_tasks)?,
            by_id(m.undo_activities)?,
            by_id(m.undo_last_activity)?,
        ];
        if kind == RecordKind::Company {
            statements.push(undo2(sql_merge::UNDO_CHILDREN)?);
        }
        statements.extend([undo(sql_merge::UNDONE)?, self.prepare(s.one, &[text(&plan.writes[0].record.id)])?]);
        let rows = self.batch_then_read::<super::d1::RawRecord>(statements).await?;
        rows.into_iter().next().map(super::d1::decode_record).transpose()
    }
}
