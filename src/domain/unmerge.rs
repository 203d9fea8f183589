//! Undoing a merge (`POST /{kind}/merge/{id}/undo`), pure: whether the merge can still be undone,
//! and what the undo writes to the survivor and the records it restores.
//!
//! The merge wrote everything it changed to history, in one range of history ids recorded with
//! the merge (`merges`). The undo reads the survivor's and the merged records' rows of that range
//! here (a few dozen at most); the moves (externalIds, links, tasks, activities, children, records
//! merged earlier) go back set-based in SQL from the same rows, however many there are. A later
//! write that touched what the merge changed makes the undo a `409` naming it: the undo never
//! overwrites a later change.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::matching::MatchField;
use super::merge::MergeRow;
use super::plan::{RecordChange, RecordWrite};
use super::record::{Change, KeySet, RecordKind, LAST_ACTIVITY};
use super::time::Timestamp;

/// How long a merge can be undone: 30 days after it.
pub const UNDO_WINDOW_DAYS: i64 = 30;

/// A merge as recorded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MergeRecord {
    pub id: String,
    pub kind: String,
    pub survivor: String,
    pub merged: Vec<String>,
    pub merged_at: String,
    pub undone_at: Option<String>,
}

/// A history row the merge wrote on the survivor or a merged record (values as JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct MergeHistory {
    pub entity_id: String,
    pub field: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// Something the merge changed that a later write changed again.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoConflict {
    /// `contact`, `company`, `task`, `activity`, `externalId` or `association`.
    pub entity: String,
    pub id: String,
    pub field: String,
    /// For a link: its company.
    pub other: Option<String>,
}

impl UndoConflict {
    fn describe(&self, survivor: &str) -> String {
        match (self.entity.as_str(), self.field.as_str()) {
            ("externalId", _) => format!("externalId {} is no longer linked to {survivor}", self.id),
            ("association", "primary") => format!(
                "contact {} has another primary company now, so its primary link to {} cannot come back",
                self.id,
                self.other.as_deref().unwrap_or("?")
            ),
            (_, "association") => format!("the link between {} and {} changed", self.id, self.other.as_deref().unwrap_or("?")),
            (_, field) if self.id == survivor => format!("field {field} of {survivor} changed"),
            (entity, field) => format!("{field} of {entity} {} changed", self.id),
        }
    }
}

/// What an undo writes.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoPlan {
    /// The survivor back to its values before the merge (its fields the merge changed), then each
    /// merged record as it was.
    pub writes: Vec<RecordChange>,
    /// `[{id, base}]` of the survivor: the write fails when it changed since. (The merged records
    /// are tombstones; the batch checks they are still merged into the survivor.)
    pub bases: Vec<Value>,
    pub restored: Vec<String>,
    /// Every record's keys before and after (the match cache forgets them).
    pub touched: Vec<KeySet>,
    /// Every externalId that moves back.
    pub external_ids: Vec<String>,
}

fn conflict(message: String) -> ApiError {
    ApiError::Conflict(message)
}

/// Whether the merge can be undone now, and the plan. `404` for a merge of the other kind (or
/// none); `409` when it was undone already, is past the window, its survivor was deleted or merged
/// since, or a later write changed what it changed (`conflicts`, named).
pub fn plan_undo(
    kind: RecordKind,
    merge: Option<&MergeRecord>,
    loaded: &[MergeRow],
    history: &[MergeHistory],
    conflicts: &[UndoConflict],
    now_millis: i64,
) -> Result<UndoPlan, ApiError> {
    let merge = merge.filter(|m| m.kind == kind.key_kind()).ok_or_else(|| ApiError::NotFound(format!("no merge of {} with this id", kind.collection()).into()))?;
    if let Some(at) = &merge.undone_at {
        return Err(conflict(format!("merge {} was already undone at {at}", merge.id)));
    }
    let window_ms = UNDO_WINDOW_DAYS * 24 * 3600 * 1000;
    if let Ok(at) = Timestamp::parse(&merge.merged_at) {
        if now_millis - at.millis() > window_ms {
            return Err(conflict(format!(
                "merge {} happened at {}: a merge can be undone for {UNDO_WINDOW_DAYS} days only",
                merge.id, merge.merged_at
            )));
        }
    }
    let survivor = loaded.iter().find(|r| r.row.id == merge.survivor).ok_or_else(|| conflict(format!("the survivor {} no longer exists", merge.survivor)))?;
    if let Some(into) = &survivor.merged_into {
        return Err(conflict(format!("the survivor {} was merged into {into} since; undo that merge first", merge.survivor)));
    }
    if survivor.row.deleted_at.is_some() {
        return Err(conflict(format!("the survivor {} was deleted since the merge", merge.survivor)));
    }
    for id in &merge.merged {
        let ok = loaded.iter().any(|r| &r.row.id == id && r.merged_into.as_deref() == Some(merge.survivor.as_str()));
        if !ok {
            return Err(conflict(format!("{id} is no longer merged into {}", merge.survivor)));
        }
    }
    if !conflicts.is_empty() {
        let named: BTreeSet<String> = conflicts.iter().map(|c| c.describe(&merge.survivor)).collect();
        return Err(conflict(format!(
            "later writes changed what merge {} changed: {}; nothing was written",
            merge.id,
            named.into_iter().collect::<Vec<_>>().join("; ")
        )));
    }

    // The survivor: each field the merge changed takes its old value again.
    let row = &survivor.row;
    let (mut fields, mut properties) = (row.fields.clone(), row.properties.clone());
    let mut changes = Vec::new();
    for h in history.iter().filter(|h| h.entity_id == merge.survivor && !h.field.starts_with('(')) {
        let change = Change { field: h.field.clone(), old: h.new.clone().filter(|v| !v.is_null()), new: h.old.clone().filter(|v| !v.is_null()), sent: None };
        // The last activity date is no field: the batch sets it from this row, the survivor's
        // own activities and later client dates (`undo_last_activity`).
        if h.field == LAST_ACTIVITY {
            changes.push(change);
            continue;
        }
        let (target, name) = match h.field.strip_prefix("properties.") {
            Some(name) => (&mut properties, name),
            None => (&mut fields, h.field.as_str()),
        };
        match h.old.clone().filter(|v| !v.is_null()) {
            Some(v) => target.insert(name.to_string(), v),
            None => target.remove(name),
        };
        changes.push(change);
    }
    let write = RecordWrite::of(kind, row.id.clone(), row.external_id.clone(), fields, properties);
    let keys_of = |w: &RecordWrite| KeySet::new(w.keys.iter().filter_map(|(f, k)| Some((MatchField::from_name(f)?, k.clone()))));
    let mut touched = vec![KeySet::of(kind, &row.fields), keys_of(&write)];
    let mut writes = vec![RecordChange { record: write, base: row.updated_at.clone(), changes, rekey: true, relist: true }];
    let mut external_ids: Vec<String> = Vec::new();

    // Each merged record, as its `(merged)` row says it was.
    for id in &merge.merged {
        let held = history
            .iter()
            .find(|h| &h.entity_id == id && h.field == "(merged)")
            .and_then(|h| h.old.as_ref())
            .ok_or_else(|| ApiError::Internal(format!("merge {} kept no (merged) row for {id}", merge.id)))?;
        let map = |name: &str| held.get(name).and_then(Value::as_object).cloned().unwrap_or_else(Map::new);
        let external_id = held.get("externalId").and_then(Value::as_str).map(str::to_string);
        external_ids.extend(held.get("externalIds").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string));
        let write = RecordWrite::of(kind, id.clone(), external_id, map("fields"), map("properties"));
        touched.push(keys_of(&write));
        let base = loaded.iter().find(|r| &r.row.id == id).map(|r| r.row.updated_at.clone()).unwrap_or_default();
        writes.push(RecordChange { record: write, base, changes: Vec::new(), rekey: true, relist: true });
    }
    Ok(UndoPlan {
        bases: vec![json!({"id": writes[0].record.id, "base": writes[0].base})],
        writes,
        restored: merge.merged.clone(),
        touched,
        external_ids,
    })
}

/// The undo's answer.
pub fn answer_undo(merge_id: &str, plan: &UndoPlan, record: Value) -> Value {
    let survivor = &plan.writes[0];
    let updated: Vec<&str> = survivor.changes.iter().map(|c| c.field.as_str()).collect();
    json!({"mergeId": merge_id, "crmId": survivor.record.id, "restoredIds": plan.restored, "updatedFields": updated, "record": record})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::RecordRow;

    const NOW: i64 = 1_780_000_000_000;

    fn at(ms: i64) -> String {
        Timestamp::from_millis(ms).to_rfc3339()
    }

    fn merge() -> MergeRecord {
        MergeRecord { id: "mg_1".into(), kind: "contact".into(), survivor: "ct_1".into(), merged: vec!["ct_2".into()], merged_at: at(NOW - 1000), undone_at: None }
    }

    fn row(id: &str, fields: Value, merged_into: Option<&str>) -> MergeRow {
        MergeRow {
            row: RecordRow {
                id: id.into(),
                fields: fields.as_object().unwrap().clone(),
                updated_at: format!("t-{id}"),
                deleted_at: merged_into.map(|_| "t".to_string()),
                ..Default::default()
            },
            merged_into: merged_into.map(str::to_string),
        }
    }

    fn loaded() -> Vec<MergeRow> {
        vec![
            row("ct_1", json!({"firstName": "Ann", "title": "CTO", "email": "ann@new.com"}), None),
            row("ct_2", json!({"firstName": "Annie", "title": "CTO", "email": "ann@new.com"}), Some("ct_1")),
        ]
    }

    fn history() -> Vec<MergeHistory> {
        let h = |entity: &str, field: &str, old: Option<Value>, new: Option<Value>| MergeHistory { entity_id: entity.into(), field: field.into(), old, new };
        vec![
            h("ct_1", "email", Some(json!("ann@old.com")), Some(json!("ann@new.com"))),
            h("ct_1", "title", None, Some(json!("CTO"))),
            h("ct_1", "(merge)", None, Some(json!({"mergedIds": ["ct_2"]}))),
            h(
                "ct_2",
                "(merged)",
                Some(json!({"externalId": "ext-2", "externalIds": ["ext-2", "ext-2b"], "fields": {"firstName": "Annie", "title": "CTO", "email": "ann@new.com"}, "properties": {"score": 3}})),
                Some(json!({"mergedInto": "ct_1"})),
            ),
        ]
    }

    fn message(e: ApiError) -> (u16, String) {
        (e.status(), e.message("r"))
    }

    #[test]
    fn an_undo_reverts_the_survivors_changed_fields_and_restores_the_merged_records() {
        let plan = plan_undo(RecordKind::Contact, Some(&merge()), &loaded(), &history(), &[], NOW).unwrap();
        let survivor = &plan.writes[0];
        assert_eq!(survivor.record.id, "ct_1");
        assert_eq!(survivor.record.fields, *json!({"firstName": "Ann", "email": "ann@old.com"}).as_object().unwrap());
        assert_eq!(survivor.base, "t-ct_1");
        let changed: Vec<(&str, Option<&Value>, Option<&Value>)> = survivor.changes.iter().map(|c| (c.field.as_str(), c.old.as_ref(), c.new.as_ref())).collect();
        assert_eq!(changed, [("email", Some(&json!("ann@new.com")), Some(&json!("ann@old.com"))), ("title", Some(&json!("CTO")), None)]);
        let restored = &plan.writes[1];
        assert_eq!((restored.record.id.as_str(), restored.record.external_id.as_deref()), ("ct_2", Some("ext-2")));
        assert_eq!(restored.record.properties.get("score"), Some(&json!(3)));
        assert_eq!(restored.base, "t-ct_2");
        assert!(restored.record.keys.iter().any(|(f, k)| *f == "email" && k == "ann@new.com"), "{:?}", restored.record.keys);
        assert_eq!(plan.external_ids, ["ext-2", "ext-2b"]);
        assert_eq!(plan.bases, [json!({"id": "ct_1", "base": "t-ct_1"})]);
        let answer = answer_undo("mg_1", &plan, json!({}));
        assert_eq!(answer["restoredIds"], json!(["ct_2"]));
        assert_eq!(answer["updatedFields"], json!(["email", "title"]));
    }

    #[test]
    fn later_changes_are_409_naming_them() {
        let conflicts = vec![
            UndoConflict { entity: "contact".into(), id: "ct_1".into(), field: "email".into(), other: None },
            UndoConflict { entity: "task".into(), id: "tk_9".into(), field: "contactId".into(), other: None },
            UndoConflict { entity: "contact".into(), id: "ct_1".into(), field: "association".into(), other: Some("co_5".into()) },
            UndoConflict { entity: "externalId".into(), id: "ext-2b".into(), field: "externalId".into(), other: None },
        ];
        let (s, m) = message(plan_undo(RecordKind::Contact, Some(&merge()), &loaded(), &history(), &conflicts, NOW).unwrap_err());
        assert_eq!(s, 409);
        for part in ["field email of ct_1", "contactId of task tk_9", "link between ct_1 and co_5", "externalId ext-2b", "nothing was written"] {
            assert!(m.contains(part), "{m} should name {part:?}");
        }
    }

    #[test]
    fn undone_late_unknown_and_moved_on_merges_are_refused() {
        let (s, _) = message(plan_undo(RecordKind::Contact, None, &loaded(), &history(), &[], NOW).unwrap_err());
        assert_eq!(s, 404);
        let (s, _) = message(plan_undo(RecordKind::Company, Some(&merge()), &loaded(), &history(), &[], NOW).unwrap_err());
        assert_eq!(s, 404, "a contact merge is not found among companies");
        let mut undone = merge();
        undone.undone_at = Some("2026-01-01T00:00:00.000Z".into());
        let (s, m) = message(plan_undo(RecordKind::Contact, Some(&undone), &loaded(), &history(), &[], NOW).unwrap_err());
        assert_eq!(s, 409);
        assert!(m.contains("already undone"), "{m}");
        let mut old = merge();
        old.merged_at = at(NOW - (UNDO_WINDOW_DAYS * 24 * 3600 * 1000 + 1));
        let (s, m) = message(plan_undo(RecordKind::Contact, Some(&old), &loaded(), &history(), &[], NOW).unwrap_err());
        assert_eq!(s, 409);
        assert!(m.contains("30 days"), "{m}");
        let mut moved = loaded();
        moved[0].merged_into = Some("ct_7".into());
        moved[0].row.deleted_at = Some("t".into());
        let (s, m) = message(plan_undo(RecordKind::Contact, Some(&merge()), &moved, &history(), &[], NOW).unwrap_err());
        assert_eq!(s, 409);
        assert!(m.contains("ct_7") && m.contains("undo that merge first"), "{m}");
        let mut deleted = loaded();
        deleted[0].row.deleted_at = Some("t".into());
        let (_, m) = message(plan_undo(RecordKind::Contact, Some(&merge()), &deleted, &history(), &[], NOW).unwrap_err());
        assert!(m.contains("deleted"), "{m}");
    }
}
