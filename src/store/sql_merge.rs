//! The statements of duplicates and merges, one set per record kind, as constants
//! prepared against `schema.sql` by `tests/schema.rs` like every other statement.
//!
//! A merge is one D1 batch: the guard, the survivor's write, the moves (externalIds, links,
//! tasks, activities, children) each with its history, the tombstones and the answer. `?1` is
//! always a JSON array (the merged ids, unless said otherwise), `?2` the survivor, `?3` the time,
//! `?4` the request id.
//!
//! A merge records itself in `merges` with the range of history ids its batch writes. An undo's
//! statements take `?1` the merge id (and `?2` the time, `?3` the undo's request id) and read what
//! to put back from that range of history, set-based: nothing that moved passes through the
//! Worker.

/// The merge and duplicate statements of one kind.
pub struct MergeSql {
    /// Groups of live records sharing a key of one of the fields `?1` (JSON array of field
    /// names), after the group `(?2 field, ?3 key)`, at most `?4` groups: one row per member, with
    /// the member's keys, ordered by group then id. The groups come from `shared_keys` (the keys
    /// more than one record holds, kept by triggers), so a store with few duplicates answers
    /// from a few rows however many records it holds.
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
    /// Records the merge (`?5` its id) with the first history id its batch writes; run first.
    pub record: &'static str,
    /// History of the records merged earlier into a merged record (`mergedInto`, old and new),
    /// before `repoint`, so an undo can point them back.
    pub history_repoint: &'static str,
    /// History of the links the merged records lose (before they move).
    pub history_links_removed: &'static str,
    /// History of the survivor's links that the move adds or makes primary (before it).
    pub history_links_added: &'static str,
    /// Moves the merged records' non-primary links to the survivor, but for those it already has.
    pub links_move: &'static str,
    /// Drops the merged records' non-primary links left over (the survivor had them).
    pub links_drop: &'static str,
    /// Moves the remaining links (at most one primary per contact) to the survivor, replacing a
    /// non-primary one it had with the same other side.
    pub links_move_primary: &'static str,
    // Undo (`?1` the merge id, `?2` the time, `?3` the undo's request id).
    /// The survivor's and the merged records' history rows the merge wrote (not the moves).
    pub undo_history: &'static str,
    /// What later writes changed among what the merge changed (at most 20 rows).
    pub undo_conflicts: &'static str,
    /// Fails the batch (CHECK `concurrent_write`) when `undo_conflicts` finds anything.
    pub undo_guard: &'static str,
    /// Fails the batch (CHECK `concurrent_write`) when a merged record is no longer a tombstone
    /// merged into the survivor (the survivor itself is guarded by its `updated_at`).
    pub undo_guard_merged: &'static str,
    /// The undo's own rows: `(unmerge)` on the survivor, `(unmerged)` on each restored record.
    pub undo_history_marks: &'static str,
    /// The merged records are live again (they still hold what they held).
    pub undo_revive: &'static str,
    /// History of the owners the undo's records would name but that were deleted since
    /// (`?1` the undo's writes, `?2` the time, `?3` the request id): cleared, like a user's
    /// deletion clears them.
    pub undo_history_gone_owners: &'static str,
    /// Clears those owners (`?1` the undo's writes).
    pub undo_clear_gone_owners: &'static str,
    /// Records merged earlier into a merged record point at it again.
    pub undo_repoint: &'static str,
    /// Each externalId goes back to the record it came from.
    pub undo_external: &'static str,
    /// The survivor's first externalId is one it still has (or none).
    pub undo_external_column: &'static str,
    pub undo_tasks: &'static str,
    pub undo_activities: &'static str,
    /// The survivor's last activity date, when the merge moved it: the newest of its date before
    /// the merge, its own activities (after the undo's moves) and dates clients sent since.
    pub undo_last_activity: &'static str,
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

/// The merge a statement of an undo reads (`?1` its id): its history range, its request id and
/// its survivor.
macro_rules! undo_merge {
    () => {
        "WITH m AS (SELECT first_history AS a, last_history AS b, request_id AS req, survivor_id AS s, merged_ids AS ids FROM merges WHERE id = ?1) "
    };
}

/// The merge's history rows (`h`), after `undo_merge!`.
macro_rules! merge_rows {
    () => {
        "m CROSS JOIN history h ON h.id BETWEEN m.a AND m.b AND h.request_id = m.req "
    };
}

/// A link of the history row `h` as its JSON value: the side that is not the row's contact.
macro_rules! link_company {
    ($row:literal) => {
        concat!("coalesce(", $row, ".old_value, ", $row, ".new_value)->>'companyId'")
    };
}

/// What a later write changed among what the merge wrote (`?1` the merge id): `entity`, `id`,
/// `field` and, for a link, `other` (its company).
macro_rules! undo_conflicts {
    ($kind:literal) => {
        concat!(
            undo_merge!(),
            // A field, task, activity, child or link the merge changed, changed again later.
            "SELECT h.entity_type AS entity, h.entity_id AS id, h.field AS field, ",
            "CASE h.field WHEN 'association' THEN ", link_company!("h"), " END AS other FROM ", merge_rows!(),
            "WHERE h.field NOT IN ('(merge)', '(merged)', 'externalId', 'mergedInto', 'lastActivityDate') AND EXISTS (SELECT 1 FROM history l ",
            "WHERE l.entity_id = h.entity_id AND l.id > m.b AND l.field = h.field ",
            "AND (h.field <> 'association' OR ", link_company!("l"), " = ", link_company!("h"), ") ",
            // A later merge that was undone since, and its undo, cancel out: neither counts (so
            // a merge, then a merge of its survivor, both undone newest first, works).
            "AND NOT EXISTS (SELECT 1 FROM merges u WHERE u.undone_at IS NOT NULL AND u.id <> ?1 AND (l.id BETWEEN u.first_history AND u.last_history ",
            "OR (l.request_id = u.undo_request_id AND l.changed_at = u.undone_at AND l.id > u.last_history)))) ",
            // An externalId that moved to the survivor and is no longer its.
            "UNION ALL SELECT 'externalId', e.value, 'externalId', NULL FROM ", merge_rows!(),
            "CROSS JOIN json_each(h.old_value, '$.externalIds') e WHERE h.field = '(merged)' AND NOT EXISTS ",
            "(SELECT 1 FROM external_ids x WHERE x.kind = '", $kind, "' AND x.external_id = e.value AND x.record_id = m.s) ",
            // A primary link to put back whose contact has another primary company now (one the
            // undo does not take back).
            "UNION ALL SELECT 'association', h.entity_id, 'primary', h.old_value->>'companyId' FROM ", merge_rows!(),
            "WHERE h.field = 'association' AND h.new_value IS NULL AND h.old_value->>'primary' ",
            "AND EXISTS (SELECT 1 FROM associations a WHERE a.contact_id = h.entity_id AND a.is_primary = 1 AND NOT EXISTS ",
            "(SELECT 1 FROM history g WHERE g.entity_id = a.contact_id AND g.id BETWEEN m.a AND m.b AND g.request_id = m.req ",
            "AND g.field = 'association' AND g.new_value->>'companyId' = a.company_id AND g.new_value->>'primary')) ",
            "LIMIT 20"
        )
    };
}

macro_rules! merge_sql {
    ($table:literal, $kind:literal, $ref_col:literal, $ref_field:literal, $assoc:literal, $me:literal, $distinct:literal, $primary:literal) => {
        MergeSql {
            duplicates: concat!(
                "WITH g AS (SELECT s.field, s.key FROM shared_keys s WHERE s.kind = '", $kind, "' ",
                "AND s.field IN (SELECT value FROM json_each(?1)) AND (s.field, s.key) > (?2, ?3) ",
                "ORDER BY s.field, s.key LIMIT ?4) ",
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
                "'properties', json(r.properties), 'externalIds', (SELECT json_group_array(e.external_id) FROM external_ids e ",
                "WHERE e.kind = '", $kind, "' AND e.record_id = r.id)), json_object('mergedInto', ?2), ?3, ?4 ",
                "FROM json_each(?1) j CROSS JOIN ", $table, " r ON r.id = j.value WHERE +r.deleted_at IS NULL"
            ),
            tombstone: concat!(
                "UPDATE ", $table, " SET deleted_at = ", merge_time!($table), ", updated_at = ", merge_time!($table), ", merged_into = ?2 ",
                "WHERE id IN (SELECT value FROM json_each(?1)) AND +deleted_at IS NULL"
            ),
            history_merge: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
                "SELECT '", $kind, "', ?2, '(merge)', NULL, json_object('mergedIds', json(?1), 'mergeId', ?5), ?3, ?4"
            ),
            record: concat!(
                "INSERT INTO merges (id, kind, survivor_id, merged_ids, request_id, merged_at, first_history) ",
                "SELECT ?5, '", $kind, "', ?2, json(?1), ?4, ?3, (SELECT coalesce(max(id), 0) + 1 FROM history)"
            ),
            history_repoint: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
                "SELECT '", $kind, "', r.id, 'mergedInto', json_quote(r.merged_into), json_quote(?2), ?3, ?4 ",
                "FROM json_each(?1) j CROSS JOIN ", $table, " r ON r.merged_into = j.value"
            ),
            history_links_removed: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
                "SELECT 'contact', a.contact_id, 'association', json_object('companyId', a.company_id, 'primary', ",
                "json(CASE a.is_primary WHEN 1 THEN 'true' ELSE 'false' END)), NULL, ?3, ?4 ",
                "FROM json_each(?1) j CROSS JOIN associations a ON a.", $me, " = j.value"
            ),
            history_links_added: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
                "SELECT 'contact', x.contact_id, 'association', ",
                "CASE WHEN x.was IS NOT NULL THEN json_object('companyId', x.company_id, 'primary', json(CASE x.was WHEN 1 THEN 'true' ELSE 'false' END)) END, ",
                "json_object('companyId', x.company_id, 'primary', json(CASE WHEN x.now THEN 'true' ELSE 'false' END)), ?3, ?4 ",
                "FROM (SELECT y.*, ", $primary, " AS now FROM (SELECT DISTINCT ", $distinct, ") y) x ",
                "WHERE x.was IS NULL OR x.was <> x.now"
            ),
            links_move: concat!(
                "UPDATE OR IGNORE associations SET ", $me, " = ?2, updated_at = ?3 WHERE ", $me, " IN (SELECT value FROM json_each(?1)) AND is_primary = 0"
            ),
            links_drop: concat!(
                "DELETE FROM associations WHERE ", $me, " IN (SELECT value FROM json_each(?1)) AND is_primary = 0"
            ),
            links_move_primary: concat!(
                "UPDATE OR REPLACE associations SET ", $me, " = ?2, updated_at = ?3 WHERE ", $me, " IN (SELECT value FROM json_each(?1))"
            ),
            undo_history: concat!(
                undo_merge!(), "SELECT h.entity_id, h.field, h.old_value, h.new_value FROM ", merge_rows!(),
                "WHERE h.entity_type = '", $kind, "' AND ((h.entity_id = m.s AND h.field NOT IN ('(merge)', 'externalId', 'association')) OR h.field = '(merged)') ORDER BY h.id"
            ),
            undo_conflicts: undo_conflicts!($kind),
            undo_guard: concat!("INSERT INTO write_guard (ok) SELECT 0 FROM (", undo_conflicts!($kind), ")"),
            undo_guard_merged: concat!(
                "INSERT INTO write_guard (ok) ", undo_merge!(), "SELECT 0 FROM m, json_each(m.ids) j LEFT JOIN ", $table, " r ON r.id = j.value ",
                "WHERE r.merged_into IS NOT m.s OR r.deleted_at IS NULL LIMIT 1"
            ),
            undo_history_marks: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
                undo_merge!(), "SELECT '", $kind, "', m.s, '(unmerge)', NULL, json_object('mergeId', ?1, 'restoredIds', json(m.ids)), ?2, ?3 FROM m ",
                "UNION ALL SELECT '", $kind, "', h.entity_id, '(unmerged)', h.new_value, h.old_value, ?2, ?3 FROM ", merge_rows!(),
                "WHERE h.field = '(merged)'"
            ),
            undo_revive: concat!(
                undo_merge!(), "UPDATE ", $table, " SET deleted_at = NULL, merged_into = NULL ",
                "WHERE id IN (SELECT j.value FROM m, json_each(m.ids) j) AND merged_into = (SELECT s FROM m)"
            ),
            undo_repoint: concat!(
                undo_merge!(), "UPDATE ", $table, " SET merged_into = x.old FROM (SELECT h.entity_id AS id, h.old_value->>'$' AS old, m.s FROM ",
                merge_rows!(), "WHERE h.field = 'mergedInto' AND h.entity_type = '", $kind, "') x WHERE ", $table, ".id = x.id AND ", $table, ".merged_into = x.s"
            ),
            undo_external: concat!(
                undo_merge!(), "UPDATE external_ids SET record_id = x.rid FROM (SELECT h.entity_id AS rid, e.value AS ext, m.s FROM ", merge_rows!(),
                "CROSS JOIN json_each(h.old_value, '$.externalIds') e WHERE h.field = '(merged)') x ",
                "WHERE external_ids.kind = '", $kind, "' AND external_ids.external_id = x.ext AND external_ids.record_id = x.s"
            ),
            undo_external_column: concat!(
                undo_merge!(), "UPDATE ", $table, " SET external_id = (SELECT e.external_id FROM external_ids e WHERE e.record_id = ", $table, ".id ",
                "AND e.kind = '", $kind, "' ORDER BY e.created_at, e.external_id LIMIT 1) WHERE id = (SELECT s FROM m) AND NOT EXISTS ",
                "(SELECT 1 FROM external_ids e WHERE e.kind = '", $kind, "' AND e.external_id = ", $table, ".external_id AND e.record_id = ", $table, ".id)"
            ),
            undo_tasks: concat!(
                undo_merge!(), "UPDATE tasks SET ", $ref_col, " = (SELECT h.old_value->>'$' FROM ", merge_rows!(),
                "WHERE h.entity_id = tasks.id AND h.field = '", $ref_field, "'), updated_at = ?2 ",
                "WHERE id IN (SELECT h.entity_id FROM ", merge_rows!(), "WHERE h.entity_type = 'task' AND h.field = '", $ref_field, "')"
            ),
            undo_activities: concat!(
                undo_merge!(), "UPDATE activities SET ", $ref_col, " = (SELECT h.old_value->>'$' FROM ", merge_rows!(),
                "WHERE h.entity_id = activities.id AND h.field = '", $ref_field, "') ",
                "WHERE id IN (SELECT h.entity_id FROM ", merge_rows!(), "WHERE h.entity_type = 'activity' AND h.field = '", $ref_field, "')"
            ),
            undo_history_gone_owners: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
                "SELECT '", $kind, "', r.id, 'ownerId', json_quote(r.owner_id), NULL, ?2, ?3 FROM json_each(?1) j ",
                "CROSS JOIN ", $table, " r ON r.id = j.value->>'id' ",
                "WHERE r.owner_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.owner_id)"
            ),
            undo_clear_gone_owners: concat!(
                "UPDATE ", $table, " SET owner_id = NULL, fields = json_remove(fields, '$.ownerId') ",
                "WHERE id IN (SELECT j.value->>'id' FROM json_each(?1) j) AND owner_id IS NOT NULL ",
                "AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = ", $table, ".owner_id)"
            ),
            undo_last_activity: concat!(
                undo_merge!(), "UPDATE ", $table, " SET last_activity_at = (SELECT max(v) FROM (",
                "SELECT h.old_value->>'$' AS v FROM ", merge_rows!(), "WHERE h.entity_id = m.s AND h.field = 'lastActivityDate' ",
                "UNION ALL SELECT max(a.occurred_at) FROM activities a WHERE a.", $ref_col, " = (SELECT s FROM m) ",
                "UNION ALL SELECT max(l.new_value->>'$') FROM m CROSS JOIN history l ON l.entity_id = m.s AND l.id > m.b ",
                "AND l.field = 'lastActivityDate')) ",
                "WHERE id = (SELECT s FROM m) AND EXISTS (SELECT 1 FROM ", merge_rows!(),
                "WHERE h.entity_id = m.s AND h.field = 'lastActivityDate')"
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
     FROM associations a JOIN companies c ON c.id = a.company_id AND +c.deleted_at IS NULL WHERE a.contact_id = r.id)",
    "contact_id",
    "?2 AS contact_id, a.company_id AS company_id, (SELECT s.is_primary FROM associations s WHERE s.contact_id = ?2 AND s.company_id = a.company_id) AS was \
     FROM json_each(?1) j CROSS JOIN associations a ON a.contact_id = j.value",
    "(coalesce(y.was, 0) = 1 OR (y.company_id = (SELECT a.company_id FROM json_each(?1) j CROSS JOIN associations a \
     ON a.contact_id = j.value WHERE a.is_primary = 1 ORDER BY j.key LIMIT 1) \
     AND NOT EXISTS (SELECT 1 FROM associations p WHERE p.contact_id = ?2 AND p.is_primary = 1)))"
);

/// A contact survivor keeps its primary company, or takes the first merged contact's primary
/// when it has none: every other merged contact's primary link stops being primary (before the
/// links move).
pub const CONTACT_LINKS_DEMOTE: &str = concat!(
    "UPDATE associations SET is_primary = 0, updated_at = ?3 WHERE contact_id IN (SELECT value FROM json_each(?1)) AND is_primary = 1 ",
    "AND (EXISTS (SELECT 1 FROM associations p WHERE p.contact_id = ?2 AND p.is_primary = 1) ",
    "OR contact_id IS NOT (SELECT j.value FROM json_each(?1) j CROSS JOIN associations a ON a.contact_id = j.value WHERE a.is_primary = 1 ORDER BY j.key LIMIT 1))"
);

pub static COMPANIES: MergeSql = merge_sql!(
    "companies",
    "company",
    "company_id",
    "companyId",
    "(SELECT json_group_array(json_object('contactId', a.contact_id, 'primary', json(CASE a.is_primary WHEN 1 THEN 'true' ELSE 'false' END))) \
     FROM associations a JOIN contacts c ON c.id = a.contact_id AND +c.deleted_at IS NULL WHERE a.company_id = r.id)",
    "company_id",
    "a.contact_id AS contact_id, ?2 AS company_id, (SELECT s.is_primary FROM associations s WHERE s.contact_id = a.contact_id AND s.company_id = ?2) AS was \
     FROM json_each(?1) j CROSS JOIN associations a ON a.company_id = j.value",
    "(coalesce(y.was, 0) = 1 OR EXISTS (SELECT 1 FROM json_each(?1) k CROSS JOIN associations p ON p.company_id = k.value AND p.contact_id = y.contact_id WHERE p.is_primary = 1))"
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

/// Closes the merge's record with the last history id its batch wrote (`?1` the merge id); run
/// last among its writes.
pub const FINISH: &str = "UPDATE merges SET last_history = (SELECT max(id) FROM history) WHERE id = ?1";

/// A merge by id (`?1`).
pub const MERGE: &str = "SELECT id, kind, survivor_id, merged_ids, request_id, merged_at, first_history, last_history, undone_at \
    FROM merges WHERE id = ?1";

/// Fails the undo's batch (CHECK `concurrent_write`) when the merge `?1` was undone meanwhile.
pub const UNDO_ONCE: &str = "INSERT INTO write_guard (ok) SELECT 0 FROM merges WHERE id = ?1 AND undone_at IS NOT NULL";

/// Marks the merge `?1` undone at `?2` by request `?3`.
pub const UNDONE: &str = "UPDATE merges SET undone_at = ?2, undo_request_id = ?3 WHERE id = ?1";

/// The subsidiaries a company merge moved go back to the company they had (column and field).
pub const UNDO_CHILDREN: &str = concat!(
    undo_merge!(),
    "UPDATE companies SET parent_id = (SELECT h.old_value->>'$' FROM ", merge_rows!(), "WHERE h.entity_id = companies.id AND h.field = 'parentCrmId'), ",
    "fields = json_set(fields, '$.parentCrmId', (SELECT h.old_value->>'$' FROM ", merge_rows!(), "WHERE h.entity_id = companies.id AND h.field = 'parentCrmId')), ",
    "updated_at = (SELECT max(?2, coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', max(updated_at), '+0.001 seconds'), ?2)) FROM companies) ",
    "WHERE id IN (SELECT h.entity_id FROM ", merge_rows!(), "WHERE h.entity_type = 'company' AND h.field = 'parentCrmId' AND h.entity_id <> m.s)"
);

/// History of the undo: every row the merge wrote, old and new swapped (the `(merge)` and
/// `(merged)` rows excepted: `undo_history_marks` writes theirs), newest first.
pub const UNDO_HISTORY_REVERSED: &str = concat!(
    "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
    undo_merge!(),
    "SELECT h.entity_type, h.entity_id, h.field, h.new_value, h.old_value, ?2, ?3 FROM ", merge_rows!(),
    "WHERE h.field NOT IN ('(merge)', '(merged)') ORDER BY h.id DESC"
);

/// The links the merge added to the survivor are removed again.
pub const UNDO_LINKS_ADDED: &str = concat!(
    undo_merge!(),
    "DELETE FROM associations WHERE (contact_id, company_id) IN (SELECT h.entity_id, h.new_value->>'companyId' FROM ", merge_rows!(),
    "WHERE h.field = 'association' AND h.old_value IS NULL AND h.new_value IS NOT NULL)"
);

/// The survivor's links the merge made primary are not primary again.
pub const UNDO_LINKS_PRIMARY: &str = concat!(
    undo_merge!(),
    "UPDATE associations SET is_primary = 0, updated_at = ?2 WHERE (contact_id, company_id) IN (SELECT h.entity_id, h.new_value->>'companyId' FROM ",
    merge_rows!(),
    "WHERE h.field = 'association' AND h.old_value IS NOT NULL AND h.new_value IS NOT NULL AND NOT h.old_value->>'primary')"
);

/// The merged records' links are back, primary or not as they were.
pub const UNDO_LINKS_REMOVED: &str = concat!(
    undo_merge!(),
    "INSERT INTO associations (contact_id, company_id, is_primary, created_at, updated_at) ",
    "SELECT h.entity_id, h.old_value->>'companyId', CASE WHEN h.old_value->>'primary' THEN 1 ELSE 0 END, ?2, ?2 FROM ", merge_rows!(),
    "WHERE h.field = 'association' AND h.new_value IS NULL ON CONFLICT (contact_id, company_id) DO NOTHING"
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
            ("record", self.record),
            ("history_repoint", self.history_repoint),
            ("history_links_removed", self.history_links_removed),
            ("history_links_added", self.history_links_added),
            ("links_move", self.links_move),
            ("links_drop", self.links_drop),
            ("links_move_primary", self.links_move_primary),
            ("undo_history", self.undo_history),
            ("undo_conflicts", self.undo_conflicts),
            ("undo_guard", self.undo_guard),
            ("undo_guard_merged", self.undo_guard_merged),
            ("undo_history_marks", self.undo_history_marks),
            ("undo_revive", self.undo_revive),
            ("undo_repoint", self.undo_repoint),
            ("undo_external", self.undo_external),
            ("undo_external_column", self.undo_external_column),
            ("undo_tasks", self.undo_tasks),
            ("undo_activities", self.undo_activities),
            ("undo_last_activity", self.undo_last_activity),
            ("undo_history_gone_owners", self.undo_history_gone_owners),
            ("undo_clear_gone_owners", self.undo_clear_gone_owners),
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
    for (name, statement) in [
        ("CONTACT_LINKS_DEMOTE", CONTACT_LINKS_DEMOTE),
        ("FINISH", FINISH),
        ("MERGE", MERGE),
        ("UNDO_ONCE", UNDO_ONCE),
        ("UNDONE", UNDONE),
        ("UNDO_CHILDREN", UNDO_CHILDREN),
        ("UNDO_HISTORY_REVERSED", UNDO_HISTORY_REVERSED),
        ("UNDO_LINKS_ADDED", UNDO_LINKS_ADDED),
        ("UNDO_LINKS_PRIMARY", UNDO_LINKS_PRIMARY),
        ("UNDO_LINKS_REMOVED", UNDO_LINKS_REMOVED),
    ] {
        all.push((format!("merge::{name}"), statement));
    }
    all
}
