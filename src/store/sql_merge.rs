//! The statements of duplicates and merges (issue 14), one set per record kind, as constants
//! prepared against `schema.sql` by `tests/schema.rs` like every other statement.
//!
//! A merge is one D1 batch: the guard, the survivor's write, the moves (externalIds, links,
//! tasks, activities, children) each with its history, the tombstones and the answer. `?1` is
//! always a JSON array (the merged ids, unless said otherwise), `?2` the survivor, `?3` the time,
//! `?4` the request id.

/// The merge and duplicate statements of one kind.
pub struct MergeSql {
    /// Groups of live records sharing a key of one of the fields `?1` (JSON array of field
    /// names), after the group `(?2 field, ?3 key)`, at most `?4` groups: one row per member, with
    /// the member's keys, ordered by group then id.
    pub duplicates: &'static str,
    /// The members of the groups record `?1` belongs to: live records sharing one of its keys
    /// of the fields `?2` (JSON array), at most `?3` rows, shaped like `duplicates`.
    pub duplicates_of: &'static str,
    /// Records by id (`?1` JSON array), deleted and merged ones included, with their links.
    pub load: &'static str,
    /// `(id, merged_into)` of the ids of `?1` that were merged into another record.
    pub merged_of: &'static str,
    /// Records merged earlier into a record now merged follow it to the survivor (chains stay
    /// one step long).
    pub repoint: &'static str,
    /// History of the externalIds moving to the survivor (before the move).
    pub history_external: &'static str,
    /// Moves the externalIds of the merged records to the survivor.
    pub move_external: &'static str,
    /// History of the tasks moving to the survivor (before the move).
    pub history_tasks: &'static str,
    pub move_tasks: &'static str,
    /// History of the activities moving to the survivor (before the move).
    pub history_activities: &'static str,
    pub move_activities: &'static str,
    /// History of the merged records' tombstones: what they held, and where they went.
    pub history_merged: &'static str,
    /// Tombstones the merged records, naming the survivor.
    pub tombstone: &'static str,
    /// The survivor's history row naming the merge (`?1` the merged ids).
    pub history_merge: &'static str,
}

/// The next write time of a table (as in `sql.rs`): `?3` here.
macro_rules! merge_time {
    ($table:literal) => {
        concat!(
            "(SELECT max(?3, coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', max(updated_at), '+0.001 seconds'), ?3)) FROM ",
            $table,
            ")"
        )
    };
}

macro_rules! merge_sql {
    ($table:literal, $kind:literal, $ref_col:literal, $ref_field:literal, $assoc:literal) => {
        MergeSql {
            duplicates: concat!(
                "WITH g AS (SELECT m.field, m.key FROM match_keys m WHERE m.kind = '", $kind, "' ",
                "AND m.field IN (SELECT value FROM json_each(?1)) AND (m.field, m.key) > (?2, ?3) ",
                "GROUP BY m.field, m.key HAVING count(*) > 1 ORDER BY m.field, m.key LIMIT ?4) ",
                "SELECT g.field AS group_field, g.key AS group_key, r.id, r.external_id, r.fields, r.display_name, r.updated_at, ",
                "(SELECT json_group_array(json_array(k.field, k.key)) FROM match_keys k WHERE k.record_id = r.id) AS keys ",
                "FROM g CROSS JOIN match_keys m ON m.kind = '", $kind, "' AND m.field = g.field AND m.key = g.key ",
                "CROSS JOIN ", $table, " r ON r.id = m.record_id WHERE +r.deleted_at IS NULL ORDER BY g.field, g.key, r.id"
            ),
            duplicates_of: concat!(
                "WITH g AS (SELECT m.field, m.key FROM match_keys m WHERE m.record_id = ?1 ",
                "AND m.field IN (SELECT value FROM json_each(?2))) ",
                "SELECT g.field AS group_field, g.key AS group_key, r.id, r.external_id, r.fields, r.display_name, r.updated_at, ",
                "(SELECT json_group_array(json_array(k.field, k.key)) FROM match_keys k WHERE k.record_id = r.id) AS keys ",
                "FROM g CROSS JOIN match_keys m ON m.kind = '", $kind, "' AND m.field = g.field AND m.key = g.key ",
                "CROSS JOIN ", $table, " r ON r.id = m.record_id WHERE +r.deleted_at IS NULL ORDER BY g.field, g.key, r.id LIMIT ?3"
            ),
            load: concat!(
                "SELECT r.id, r.external_id, r.fields, r.properties, r.created_at, r.updated_at, r.last_activity_at, r.deleted_at, r.merged_into, ",
                $assoc, " AS associations FROM json_each(?1) j CROSS JOIN ", $table, " r ON r.id = j.value"
            ),
            merged_of: concat!(
                "SELECT r.id, r.merged_into FROM json_each(?1) j CROSS JOIN ", $table, " r ON r.id = j.value WHERE r.merged_into IS NOT NULL"
            ),
            repoint: concat!(
                "UPDATE ", $table, " SET merged_into = ?2 WHERE merged_into IN (SELECT value FROM json_each(?1))"
            ),
            history_external: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
                "SELECT '", $kind, "', ?2, 'externalId', NULL, json_quote(e.external_id), ?3, ?4 ",
                "FROM json_each(?1) j CROSS JOIN external_ids e ON e.record_id = j.value WHERE e.kind = '", $kind, "'"
            ),
            move_external: concat!(
                "UPDATE external_ids SET record_id = ?2 WHERE kind = '", $kind, "' AND record_id IN (SELECT value FROM json_each(?1))"
            ),
            history_tasks: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
                "SELECT 'task', t.id, '", $ref_field, "', json_quote(t.", $ref_col, "), json_quote(?2), ?3, ?4 ",
                "FROM json_each(?1) j CROSS JOIN tasks t ON t.", $ref_col, " = j.value"
            ),
            move_tasks: concat!(
                "UPDATE tasks SET ", $ref_col, " = ?2, updated_at = ?3 WHERE ", $ref_col, " IN (SELECT value FROM json_each(?1))"
            ),
            history_activities: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
                "SELECT 'activity', a.id, '", $ref_field, "', json_quote(a.", $ref_col, "), json_quote(?2), ?3, ?4 ",
                "FROM json_each(?1) j CROSS JOIN activities a ON a.", $ref_col, " = j.value"
            ),
            move_activities: concat!(
                "UPDATE activities SET ", $ref_col, " = ?2 WHERE ", $ref_col, " IN (SELECT value FROM json_each(?1))"
            ),
            history_merged: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
                "SELECT '", $kind, "', r.id, '(merged)', json_object('externalId', r.external_id, 'fields', json(r.fields), ",
                "'properties', json(r.properties)), json_object('mergedInto', ?2), ?3, ?4 ",
                "FROM json_each(?1) j CROSS JOIN ", $table, " r ON r.id = j.value WHERE +r.deleted_at IS NULL"
            ),
            tombstone: concat!(
                "UPDATE ", $table, " SET deleted_at = ", merge_time!($table), ", updated_at = ", merge_time!($table), ", merged_into = ?2 ",
                "WHERE id IN (SELECT value FROM json_each(?1)) AND +deleted_at IS NULL"
            ),
            history_merge: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
                "SELECT '", $kind, "', ?2, '(merge)', NULL, json_object('mergedIds', json(?1)), ?3, ?4"
            ),
        }
    };
}

pub static CONTACTS: MergeSql = merge_sql!(
    "contacts",
    "contact",
    "contact_id",
    "contactId",
    "(SELECT json_group_array(json_object('companyId', a.company_id, 'primary', json(CASE a.is_primary WHEN 1 THEN 'true' ELSE 'false' END))) \
     FROM associations a JOIN companies c ON c.id = a.company_id AND +c.deleted_at IS NULL WHERE a.contact_id = r.id)"
);

pub static COMPANIES: MergeSql = merge_sql!(
    "companies",
    "company",
    "company_id",
    "companyId",
    "(SELECT json_group_array(json_object('contactId', a.contact_id, 'primary', json(CASE a.is_primary WHEN 1 THEN 'true' ELSE 'false' END))) \
     FROM associations a JOIN contacts c ON c.id = a.contact_id AND +c.deleted_at IS NULL WHERE a.company_id = r.id)"
);

/// History of the subsidiaries of the merged companies moving to the survivor (before the move).
pub const HISTORY_CHILDREN: &str = "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) \
    SELECT 'company', c.id, 'parentCrmId', json_quote(c.parent_id), json_quote(?2), ?3, ?4 \
    FROM json_each(?1) j CROSS JOIN companies c ON c.parent_id = j.value \
    WHERE +c.deleted_at IS NULL AND c.id <> ?2 AND c.id NOT IN (SELECT value FROM json_each(?1))";

/// The subsidiaries of the merged companies become the survivor's (column and field alike).
pub const MOVE_CHILDREN: &str = concat!(
    "UPDATE companies SET parent_id = ?2, fields = json_set(fields, '$.parentCrmId', ?2), updated_at = ",
    "(SELECT max(?3, coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', max(updated_at), '+0.001 seconds'), ?3)) FROM companies) ",
    "WHERE parent_id IN (SELECT value FROM json_each(?1)) AND +deleted_at IS NULL AND id <> ?2 ",
    "AND id NOT IN (SELECT value FROM json_each(?1))"
);

impl MergeSql {
    fn all(&'static self, prefix: &'static str) -> Vec<(String, &'static str)> {
        [
            ("duplicates", self.duplicates),
            ("duplicates_of", self.duplicates_of),
            ("load", self.load),
            ("merged_of", self.merged_of),
            ("repoint", self.repoint),
            ("history_external", self.history_external),
            ("move_external", self.move_external),
            ("history_tasks", self.history_tasks),
            ("move_tasks", self.move_tasks),
            ("history_activities", self.history_activities),
            ("move_activities", self.move_activities),
            ("history_merged", self.history_merged),
            ("tombstone", self.tombstone),
            ("history_merge", self.history_merge),
        ]
        .into_iter()
        .map(|(n, s)| (format!("{prefix}.{n}"), s))
        .collect()
    }
}

/// Every statement with a name, for the preparation test.
pub fn all() -> Vec<(String, &'static str)> {
    let mut all = CONTACTS.all("merge::CONTACTS");
    all.extend(COMPANIES.all("merge::COMPANIES"));
    all.push(("merge::HISTORY_CHILDREN".to_string(), HISTORY_CHILDREN));
    all.push(("merge::MOVE_CHILDREN".to_string(), MOVE_CHILDREN));
    all
}
