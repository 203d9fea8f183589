//! Every SQL statement the Worker runs, as constants. A native test applies `schema.sql` to SQLite
//! and prepares each one, so a typo fails in seconds rather than in the end-to-end suite.
//!
//! Batches are set-based: a statement binds the whole batch once, as a JSON array in `?1`, and
//! reads it with `json_each`, so a request runs the same number of statements for 1 record as for
//! 1,000, and never nears D1's limit of 100 bound parameters.
//!
//! `deleted_at IS NULL` is written `+deleted_at IS NULL`: the unary plus keeps SQLite from
//! looking records up through the list index `(deleted_at, display_name, id, search_text)`, which it would
//! otherwise prefer to the primary key and then read every live record (measured: the load of an
//! update read all 100,000 companies).
//!
//! A join between `json_each` and a table is written `json_each(...) CROSS JOIN table`: SQLite
//! then keeps `json_each` as the outer loop and probes the table's index once per item. Left to
//! itself the planner may scan the table and re-read the JSON for every row (measured: 3.2 s
//! instead of 3 ms for 1,000 externalIds).

/// The health check: reaches the database and proves the schema has been applied.
pub const HEALTH_CHECK: &str = "SELECT value FROM meta WHERE key = 'schema_version'";

/// The statements of one record kind. Contacts and companies have the same shape, so one macro
/// writes both sets, differing only in table, kind and the company-only `parent_id` column.
pub struct RecordSql {
    /// Inserts the new records of `?1` (`[{id, externalId, fields, properties, ownerId, parentId,
    /// displayName, searchText, keys}]`) whose externalId is not linked yet. `?2` is the request
    /// time; the stored time is later than every stored `updated_at` (see schema.sql).
    pub insert_new: &'static str,
    /// Links each inserted record to its externalId.
    pub link_new: &'static str,
    /// The inserted records' match keys.
    pub keys_new: &'static str,
    /// One history row per inserted record (`?3` the request id).
    pub history_new: &'static str,
    /// For each item of `?1` with an externalId: the record it names now (`i` the item's index).
    pub resolve_external: &'static str,
    /// Live records by id (`?1` a JSON array of ids), as one row holding one JSON array
    /// (`records`: `[{id, external_id, fields, properties, created_at, updated_at,
    /// last_activity_at}]`, fields and properties as objects): the Worker then decodes one string
    /// instead of a thousand rows, each with two JSON columns to decode again.
    pub load: &'static str,
    /// Fails the batch (CHECK constraint `concurrent_write`) when a record of `?1`
    /// (`[{id, base}]`) changed or was deleted since it was read at `base`.
    pub guard: &'static str,
    /// Writes the updated records of `?1` (`[{id, fields, properties, ownerId, parentId,
    /// displayName, searchText, lastActivityAt}]`); answers each one's new `updated_at`.
    pub update: &'static str,
    /// Writes the updated records of `?1` (`[{id, fields, properties, lastActivityAt}]`) whose
    /// list columns (display name, search text, owner, parent) stay as they are, so that their
    /// list, search, owner and parent index entries are not rewritten; answers each one's new
    /// `updated_at`.
    pub update_light: &'static str,
    /// Removes the match keys of the records of `?1` (`[{id, keys?}]`) that are not among their
    /// `keys` (all of them when it has none); `keys_new` then adds the missing ones, so a key a
    /// record keeps is neither deleted nor written again.
    pub keys_delete: &'static str,
    /// History rows for `?1` (`[{id, changes: [{field, old?, new?}]}]`), `?2` time, `?3` request.
    pub history_changes: &'static str,
    /// History rows for the values a deduplicated create sent and kept out, `?1` (`[{id, kept:
    /// [{field, stored?, sent}]}]`): the stored value as old and new (it did not change), the
    /// value as sent, `applied` 0.
    pub history_kept: &'static str,
    /// Live records by id (`?1` JSON array), in the order asked.
    pub by_ids: &'static str,
    /// One live record (`?1`) with its associations as a JSON array.
    pub one: &'static str,
    /// Soft-deletes `?1` at `?2`; changes nothing when it is unknown or already deleted.
    pub soft_delete: &'static str,
    /// Removes the externalId links of `?1` (a deleted record is not found by them again).
    pub unlink: &'static str,
    /// Removes the match keys of `?1`.
    pub keys_delete_one: &'static str,
    /// A history row for the deletion of `?1` (`?2` time, `?3` request).
    pub history_delete: &'static str,
    /// The change feed: records after the cursor (`?1` updated_at, `?2` id), `?3` at most.
    pub feed: &'static str,
    /// Whether `?1` was ever a record (deleted ones included).
    pub exists_any: &'static str,
    /// Live records linked to an externalId of `?1` (JSON array), having a match key of `?2`
    /// (`[[field, key]]`) or named by the match cache (`?3`, ids), with all their keys, links and
    /// parent: one row, whose `packed` column is a JSON array of `domain::sync::Candidate`s
    /// (one text crosses from D1 to the Worker, not a row object per candidate).
    pub candidates: &'static str,
    /// Links matched records to externalIds: `?1` `[{id, externalId}]`, `?2` time.
    pub link_matched: &'static str,
    /// Sets `external_id` on the records of `?1` (`[{id, externalId}]`) that have none and hold a
    /// link: the item's externalId when the record holds it (another request may have linked it
    /// elsewhere first), else the first link the record holds (a merge's survivor that took a
    /// link written to a merged record after the merge read it). So a live record has an
    /// `external_id` exactly when it has links, and it is one of them, which the sync's
    /// `Links::Deciding` relies on.
    pub set_external: &'static str,
    /// History of those links (`?2` time, `?3` request id), leaving out an externalId already
    /// linked (to another record, by a request that committed first); run before `link_matched`.
    pub history_link: &'static str,
    /// Fails the batch (CHECK `concurrent_write`) when an externalId of `?1` (`[{id,
    /// externalId}]`) is linked to another record than the item's: an update that links one lost
    /// a race.
    pub guard_links: &'static str,
    /// Makes the externalId of each item of `?1` the record's own (an update that sent one).
    pub relink: &'static str,
    /// Fails the batch (CHECK `concurrent_write`) when a record holding one of the keys of `?1`
    /// (`[[field, key]]`) exists that the request did not see (`?2`, the ids it saw): another
    /// request created a possible duplicate between this one's read and its write.
    pub guard_keys: &'static str,
}

/// The next write time of a table: the request time `?2`, or 1 ms after the newest stored
/// `updated_at` when the clock is behind it, so `updated_at` only grows.
macro_rules! write_time {
    ($table:literal) => {
        concat!(
            "(SELECT max(?2, coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', max(updated_at), '+0.001 seconds'), ?2)) FROM ",
            $table,
            ")"
        )
    };
}

macro_rules! record_sql {
    ($table:literal, $kind:literal, $extra_col:literal, $extra_val:literal, $extra_set:literal, $assoc:literal, $parent:literal) => {
        RecordSql {
            insert_new: concat!(
                "INSERT INTO ", $table, " (id, external_id, fields, properties, owner_id", $extra_col,
                ", display_name, search_text, last_activity_at, created_at, updated_at) ",
                "SELECT j.value->>'id', j.value->>'externalId', json(j.value->'fields'), json(j.value->'properties'), ",
                "j.value->>'ownerId'", $extra_val, ", j.value->>'displayName', j.value->>'searchText', j.value->>'lastActivityAt', w.t, w.t ",
                "FROM json_each(?1) j, (SELECT ", write_time!($table), " AS t) w ",
                "WHERE j.value->>'externalId' IS NULL OR NOT EXISTS (SELECT 1 FROM external_ids e WHERE e.kind = '", $kind,
                "' AND e.external_id = j.value->>'externalId')"
            ),
            link_new: concat!(
                "INSERT OR IGNORE INTO external_ids (kind, external_id, record_id, created_at) ",
                "SELECT '", $kind, "', j.value->>'externalId', j.value->>'id', ?2 FROM json_each(?1) j ",
                "WHERE j.value->>'externalId' IS NOT NULL AND EXISTS (SELECT 1 FROM ", $table, " r WHERE r.id = j.value->>'id')"
            ),
            keys_new: concat!(
                "INSERT OR IGNORE INTO match_keys (kind, field, key, record_id) ",
                "SELECT '", $kind, "', k.value->>0, k.value->>1, j.value->>'id' FROM json_each(?1) j, json_each(j.value->'keys') k ",
                "WHERE EXISTS (SELECT 1 FROM ", $table, " r WHERE r.id = j.value->>'id' AND +r.deleted_at IS NULL)"
            ),
            history_new: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id, sent_value) ",
                "SELECT '", $kind, "', j.value->>'id', '(created)', NULL, ",
                "json_object('externalId', j.value->>'externalId', 'fields', json(j.value->'fields'), 'properties', json(j.value->'properties')), ",
                "?2, ?3, j.value->'sent' FROM json_each(?1) j WHERE EXISTS (SELECT 1 FROM ", $table, " r WHERE r.id = j.value->>'id' AND r.created_at >= ?2)"
            ),
            resolve_external: concat!(
                "SELECT j.key AS i, e.record_id AS id FROM json_each(?1) j ",
                "CROSS JOIN external_ids e ON e.kind = '", $kind, "' AND e.external_id = j.value->>'externalId'"
            ),
            load: concat!(
                "SELECT json_group_array(json_object('id', r.id, 'external_id', r.external_id, 'fields', json(r.fields), ",
                "'properties', json(r.properties), 'created_at', r.created_at, 'updated_at', r.updated_at, ",
                "'last_activity_at', r.last_activity_at)) AS packed FROM ", $table, " r ",
                "WHERE r.id IN (SELECT value FROM json_each(?1)) AND +r.deleted_at IS NULL"
            ),
            guard: concat!(
                "INSERT INTO write_guard (ok) SELECT 0 FROM json_each(?1) j CROSS JOIN ", $table, " r ON r.id = j.value->>'id' ",
                "WHERE r.updated_at <> j.value->>'base' OR r.deleted_at IS NOT NULL LIMIT 1"
            ),
            update: concat!(
                "UPDATE ", $table, " SET fields = json(j.value->'fields'), properties = json(j.value->'properties'), ",
                "owner_id = j.value->>'ownerId'", $extra_set, ", display_name = j.value->>'displayName', ",
                "search_text = j.value->>'searchText', updated_at = ", write_time!($table), ", ",
                // A sent date moves the record's forward, never back.
                "last_activity_at = CASE WHEN ", $table, ".last_activity_at IS NULL OR ", $table, ".last_activity_at < j.value->>'lastActivityAt' ",
                "THEN j.value->>'lastActivityAt' ELSE ", $table, ".last_activity_at END ",
                "FROM json_each(?1) j WHERE ", $table, ".id = j.value->>'id' RETURNING id, updated_at"
            ),
            update_light: concat!(
                "UPDATE ", $table, " SET fields = json(j.value->'fields'), properties = json(j.value->'properties'), ",
                "updated_at = ", write_time!($table), ", ",
                "last_activity_at = CASE WHEN ", $table, ".last_activity_at IS NULL OR ", $table, ".last_activity_at < j.value->>'lastActivityAt' ",
                "THEN j.value->>'lastActivityAt' ELSE ", $table, ".last_activity_at END ",
                "FROM json_each(?1) j WHERE ", $table, ".id = j.value->>'id' RETURNING id, updated_at"
            ),
            keys_delete: concat!(
                "DELETE FROM match_keys WHERE kind = '", $kind, "' AND record_id IN (SELECT j.value->>'id' FROM json_each(?1) j) ",
                "AND (record_id, field, key) NOT IN ",
                "(SELECT j.value->>'id', k.value->>0, k.value->>1 FROM json_each(?1) j, json_each(j.value->'keys') k)"
            ),
            history_changes: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id, sent_value) ",
                "SELECT '", $kind, "', j.value->>'id', c.value->>'field', c.value->'old', c.value->'new', ?2, ?3, c.value->'sent' ",
                "FROM json_each(?1) j, json_each(j.value->'changes') c"
            ),
            history_kept: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id, sent_value, applied) ",
                "SELECT '", $kind, "', j.value->>'id', k.value->>'field', k.value->'stored', k.value->'stored', ?2, ?3, k.value->'sent', 0 ",
                "FROM json_each(?1) j, json_each(j.value->'kept') k"
            ),
            by_ids: concat!(
                "SELECT r.id, r.external_id, r.fields, r.properties, r.created_at, r.updated_at, r.last_activity_at FROM json_each(?1) j ",
                "CROSS JOIN ", $table, " r ON r.id = j.value WHERE +r.deleted_at IS NULL ORDER BY j.key"
            ),
            one: concat!(
                "SELECT r.id, r.external_id, r.fields, r.properties, r.created_at, r.updated_at, r.last_activity_at, ", $assoc, " AS associations ",
                "FROM ", $table, " r WHERE r.id = ?1 AND +r.deleted_at IS NULL"
            ),
            soft_delete: concat!(
                "UPDATE ", $table, " SET deleted_at = ", write_time!($table), ", updated_at = ", write_time!($table), " ",
                "WHERE id = ?1 AND +deleted_at IS NULL"
            ),
            unlink: concat!("DELETE FROM external_ids WHERE kind = '", $kind, "' AND record_id = ?1 RETURNING external_id"),
            keys_delete_one: concat!("DELETE FROM match_keys WHERE kind = '", $kind, "' AND record_id = ?1 RETURNING field, key"),
            history_delete: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
                "SELECT '", $kind, "', r.id, '(deleted)', json_object('externalId', r.external_id, 'fields', json(r.fields), ",
                "'properties', json(r.properties)), NULL, ?2, ?3 FROM ", $table, " r WHERE r.id = ?1 AND +r.deleted_at IS NULL"
            ),
            feed: concat!(
                "SELECT r.id, r.external_id, r.fields, r.properties, r.created_at, r.updated_at, r.last_activity_at, r.deleted_at, r.merged_into FROM ", $table, " r ",
                "WHERE (r.updated_at, r.id) > (?1, ?2) ORDER BY r.updated_at, r.id LIMIT ?3"
            ),
            exists_any: concat!("SELECT id FROM ", $table, " WHERE id = ?1"),
            // The record's keys are not read here: the Worker computes them from its fields
            // (`CandidateRow`), and takes the stored keys that found it from `found`. Its links
            // are read whole only when `?4` is true (1); otherwise the incoming externalIds it holds
            // (`linked`) and its `external_id`, one of its links, say what a decision needs.
            candidates: concat!(
                "WITH cand(id, field, key, ext) AS (",
                "SELECT e.record_id, NULL, NULL, x.value FROM json_each(?1) x CROSS JOIN external_ids e ON e.kind = '", $kind, "' AND e.external_id = x.value ",
                "UNION SELECT m.record_id, m.field, m.key, NULL FROM json_each(?2) j CROSS JOIN match_keys m ",
                "ON m.kind = '", $kind, "' AND m.field = j.value->>0 AND m.key = j.value->>1 ",
                "UNION SELECT value, NULL, NULL, NULL FROM json_each(?3)), ",
                "found(id, keys, linked) AS (SELECT id, json_group_array(json_array(field, key)) FILTER (WHERE field IS NOT NULL), ",
                "json_group_array(ext) FILTER (WHERE ext IS NOT NULL) FROM cand GROUP BY id) ",
                "SELECT json_group_array(json_object('id', r.id, 'fields', json(r.fields), 'properties', json(r.properties), ",
                "'updated_at', r.updated_at, 'last_activity_at', r.last_activity_at, 'parent_id', ", $parent, ", ",
                "'owner', json((SELECT json_object('name', u.name, 'email', u.email) FROM users u WHERE u.id = r.owner_id)), ",
                "'found', json(f.keys), 'linked', json(f.linked), 'external_id', r.external_id, ",
                "'external_ids', CASE WHEN ?4 THEN json((SELECT json_group_array(x.external_id) FROM external_ids x ",
                "WHERE x.record_id = r.id AND x.kind = '", $kind, "')) END)) ",
                "AS packed FROM found f CROSS JOIN ", $table, " r ON r.id = f.id WHERE +r.deleted_at IS NULL"
            ),
            link_matched: concat!(
                "INSERT OR IGNORE INTO external_ids (kind, external_id, record_id, created_at) ",
                "SELECT '", $kind, "', j.value->>'externalId', j.value->>'id', ?2 FROM json_each(?1) j"
            ),
            set_external: concat!(
                "UPDATE ", $table, " SET external_id = coalesce(",
                "(SELECT e.external_id FROM external_ids e WHERE e.kind = '", $kind, "' AND e.external_id = j.value->>'externalId' ",
                "AND e.record_id = ", $table, ".id), ",
                "(SELECT e.external_id FROM external_ids e WHERE e.record_id = ", $table, ".id AND e.kind = '", $kind, "' ",
                "ORDER BY e.created_at, e.external_id LIMIT 1)) FROM json_each(?1) j ",
                "WHERE ", $table, ".id = j.value->>'id' AND ", $table, ".external_id IS NULL AND EXISTS ",
                "(SELECT 1 FROM external_ids e WHERE e.record_id = ", $table, ".id AND e.kind = '", $kind, "')"
            ),
            guard_keys: concat!(
                "INSERT INTO write_guard (ok) SELECT 0 FROM json_each(?1) j CROSS JOIN match_keys m ",
                "ON m.kind = '", $kind, "' AND m.field = j.value->>0 AND m.key = j.value->>1 ",
                "WHERE m.record_id NOT IN (SELECT value FROM json_each(?2)) LIMIT 1"
            ),
            history_link: concat!(
                "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) ",
                "SELECT '", $kind, "', j.value->>'id', 'externalId', NULL, json_quote(j.value->>'externalId'), ?2, ?3 FROM json_each(?1) j ",
                "WHERE NOT EXISTS (SELECT 1 FROM external_ids e WHERE e.kind = '", $kind, "' AND e.external_id = j.value->>'externalId')"
            ),
            guard_links: concat!(
                "INSERT INTO write_guard (ok) SELECT 0 FROM json_each(?1) j CROSS JOIN external_ids e ",
                "ON e.kind = '", $kind, "' AND e.external_id = j.value->>'externalId' WHERE e.record_id <> j.value->>'id' LIMIT 1"
            ),
            relink: concat!(
                "UPDATE ", $table, " SET external_id = j.value->>'externalId' FROM json_each(?1) j WHERE ", $table, ".id = j.value->>'id'"
            ),
        }
    };
}

pub static CONTACTS: RecordSql = record_sql!(
    "contacts",
    "contact",
    "",
    "",
    "",
    "(SELECT json_group_array(json_object('companyId', a.company_id, 'primary', json(CASE a.is_primary WHEN 1 THEN 'true' ELSE 'false' END))) \
     FROM associations a JOIN companies c ON c.id = a.company_id AND +c.deleted_at IS NULL WHERE a.contact_id = r.id)",
    "NULL"
);

pub static COMPANIES: RecordSql = record_sql!(
    "companies",
    "company",
    ", parent_id",
    ", j.value->>'parentId'",
    ", parent_id = j.value->>'parentId'",
    "(SELECT json_group_array(json_object('contactId', a.contact_id, 'primary', json(CASE a.is_primary WHEN 1 THEN 'true' ELSE 'false' END))) \
     FROM associations a JOIN contacts c ON c.id = a.contact_id AND +c.deleted_at IS NULL WHERE a.company_id = r.id)",
    "r.parent_id"
);

/// Fails the write batch it opens when a reference the request checked is gone by the time of
/// the write (a contact or company deleted, a user deleted or the first user added meanwhile):
/// `?1` `[{contact?, company?, owner?}]`, the references the batch writes (a record's parent is
/// its `company`). The request then checks again and answers the item as unknown instead of
/// storing a dangling id. Tasks, activities, contacts and companies open their writes with it.
pub const REFERENCES_GUARD: &str = "INSERT INTO write_guard (ok) SELECT 0 FROM json_each(?1) j WHERE \
    (j.value->>'contact' IS NOT NULL AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = j.value->>'contact' AND +c.deleted_at IS NULL)) \
    OR (j.value->>'company' IS NOT NULL AND NOT EXISTS (SELECT 1 FROM companies c WHERE c.id = j.value->>'company' AND +c.deleted_at IS NULL)) \
    OR (j.value->>'owner' IS NOT NULL AND EXISTS (SELECT 1 FROM users) AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = j.value->>'owner')) \
    LIMIT 1";

/// Which of the referenced ids exist: contacts (`?1`) and companies (`?2`) as objects mapping each
/// named id to the live record it names (itself, or the record it was merged into), users (`?3`),
/// and whether any user exists at all (owners are only checked while some do). The one read of
/// references for records (owners, parents), tasks, activities and associations.
pub const REFERENCES: &str = "SELECT \
    (SELECT json_group_object(j.value, s.id) FROM json_each(?1) j CROSS JOIN contacts r ON r.id = j.value \
        CROSS JOIN contacts s ON s.id = coalesce(r.merged_into, r.id) WHERE +s.deleted_at IS NULL) AS contacts, \
    (SELECT json_group_object(j.value, s.id) FROM json_each(?2) j CROSS JOIN companies r ON r.id = j.value \
        CROSS JOIN companies s ON s.id = coalesce(r.merged_into, r.id) WHERE +s.deleted_at IS NULL) AS companies, \
    EXISTS (SELECT 1 FROM users) AS users, \
    (SELECT json_group_array(id) FROM users WHERE id IN (SELECT value FROM json_each(?3))) AS owners";

/// `Idempotency-Key`: the kept answers of POST and PATCH requests.
pub mod idempotency {
    /// Claims key `?1` for route `?2` with request fingerprint `?3` at `?4`: inserts it, or takes
    /// over a row older than `?5` (expired). Returns the row when this request claimed it, nothing
    /// when the key is in use.
    pub const CLAIM: &str = "INSERT INTO idempotency (key, route, body_hash, status, response, created_at) \
        VALUES (?1, ?2, ?3, NULL, NULL, ?4) \
        ON CONFLICT (key) DO UPDATE SET route = excluded.route, body_hash = excluded.body_hash, status = NULL, \
        response = NULL, created_at = excluded.created_at WHERE idempotency.created_at < ?5 \
        RETURNING key";
    /// The key's row.
    pub const GET: &str = "SELECT body_hash, status, response FROM idempotency WHERE key = ?1";
    /// Marks key `?1` committed (status 0): rides in each write batch of the request that
    /// claimed it, so its writes and the mark commit together.
    pub const COMMITTED: &str = "UPDATE idempotency SET status = 0 WHERE key = ?1 AND status IS NULL";
    /// Keeps the answer (`?2` status, `?3` body) of the request that claimed `?1`.
    pub const FINISH: &str = "UPDATE idempotency SET status = ?2, response = ?3 WHERE key = ?1 AND (status IS NULL OR status = 0)";
    /// Gives the key up (the request failed on our side before writing: a retry should run
    /// again). A committed key stays: its writes are in.
    pub const RELEASE: &str = "DELETE FROM idempotency WHERE key = ?1 AND status IS NULL";
}

/// A record's history, newest first: `?1` record id, `?2` before this history id, `?3` at most.
/// `actor` is who made the change: the person of a page's write, or `api`.
pub const HISTORY: &str = "SELECT h.id, h.field, h.old_value, h.new_value, h.changed_at, h.request_id, h.sent_value, h.applied, \
     coalesce((SELECT actor FROM request_actors WHERE request_id = h.request_id), 'api') AS actor FROM history h \
     WHERE h.entity_id = ?1 AND h.id < ?2 ORDER BY h.id DESC LIMIT ?3";

/// Names the person behind request `?1`'s writes (`?2`): rides first in each write batch of a
/// page's request, so history can say who did it (see `Store::act_as`).
pub const ACTOR: &str = "INSERT OR IGNORE INTO request_actors (request_id, actor) VALUES (?1, ?2)";

/// Contact–company links (API.md §6). `?1` is the plan of `domain::association::plan_writes`
/// (`[{contactId, companyId, primary, replace}]`), `?2` the time, `?3` the request id.
pub mod links {
    /// The links a `primary_replace` removes: the contact's links this request does not name.
    macro_rules! replaced {
        () => {
            "a.contact_id IN (SELECT j.value->>'contactId' FROM json_each(?1) j WHERE j.value->>'replace') \
        AND NOT EXISTS (SELECT 1 FROM json_each(?1) k WHERE k.value->>'contactId' = a.contact_id AND k.value->>'companyId' = a.company_id)"
        };
    }

    pub const HISTORY_REPLACED: &str = concat!(
        "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) \
         SELECT 'contact', a.contact_id, 'association', json_object('companyId', a.company_id, 'primary', json(CASE a.is_primary WHEN 1 THEN 'true' ELSE 'false' END)), NULL, ?2, ?3 \
         FROM associations a WHERE ",
        replaced!()
    );
    pub const DELETE_REPLACED: &str = concat!("DELETE FROM associations AS a WHERE ", replaced!());
    /// History of the links this request adds (before they are inserted).
    pub const HISTORY_ADDED: &str = "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) \
        SELECT 'contact', j.value->>'contactId', 'association', NULL, \
        json_object('companyId', j.value->>'companyId', 'primary', json(CASE WHEN j.value->>'primary' THEN 'true' ELSE 'false' END)), ?2, ?3 \
        FROM json_each(?1) j WHERE NOT EXISTS \
        (SELECT 1 FROM associations a WHERE a.contact_id = j.value->>'contactId' AND a.company_id = j.value->>'companyId')";
    /// A contact's old primary stops being primary when this request names another.
    pub const DEMOTE: &str = "UPDATE associations SET is_primary = 0, updated_at = ?2 WHERE is_primary = 1 \
        AND contact_id IN (SELECT j.value->>'contactId' FROM json_each(?1) j WHERE j.value->>'primary') \
        AND NOT EXISTS (SELECT 1 FROM json_each(?1) k WHERE k.value->>'primary' \
            AND k.value->>'contactId' = associations.contact_id AND k.value->>'companyId' = associations.company_id)";
    /// Adds the links; an existing link keeps its primary mark unless this request sets it.
    pub const UPSERT: &str = "INSERT INTO associations (contact_id, company_id, is_primary, created_at, updated_at) \
        SELECT j.value->>'contactId', j.value->>'companyId', CASE WHEN j.value->>'primary' THEN 1 ELSE 0 END, ?2, ?2 \
        FROM json_each(?1) j WHERE true \
        ON CONFLICT (contact_id, company_id) DO UPDATE SET is_primary = max(is_primary, excluded.is_primary), updated_at = ?2";
    /// History of the links a DELETE removes (`?1` `[{contactId, companyId}]`).
    pub const HISTORY_REMOVED: &str = "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) \
        SELECT 'contact', a.contact_id, 'association', json_object('companyId', a.company_id, 'primary', json(CASE a.is_primary WHEN 1 THEN 'true' ELSE 'false' END)), NULL, ?2, ?3 \
        FROM json_each(?1) j CROSS JOIN associations a ON a.contact_id = j.value->>'contactId' AND a.company_id = j.value->>'companyId'";
    pub const REMOVE: &str = "DELETE FROM associations WHERE (contact_id, company_id) IN \
        (SELECT j.value->>'contactId', j.value->>'companyId' FROM json_each(?1) j)";
}

impl RecordSql {
    fn all(&'static self, prefix: &'static str) -> Vec<(String, &'static str)> {
        let named = [
            ("insert_new", self.insert_new),
            ("link_new", self.link_new),
            ("keys_new", self.keys_new),
            ("history_new", self.history_new),
            ("resolve_external", self.resolve_external),
            ("load", self.load),
            ("guard", self.guard),
            ("update", self.update),
            ("update_light", self.update_light),
            ("keys_delete", self.keys_delete),
            ("history_changes", self.history_changes),
            ("history_kept", self.history_kept),
            ("by_ids", self.by_ids),
            ("one", self.one),
            ("soft_delete", self.soft_delete),
            ("unlink", self.unlink),
            ("keys_delete_one", self.keys_delete_one),
            ("history_delete", self.history_delete),
            ("feed", self.feed),
            ("exists_any", self.exists_any),
            ("candidates", self.candidates),
            ("link_matched", self.link_matched),
            ("set_external", self.set_external),
            ("history_link", self.history_link),
            ("guard_links", self.guard_links),
            ("relink", self.relink),
            ("guard_keys", self.guard_keys),
        ];
        named.into_iter().map(|(n, s)| (format!("{prefix}.{n}"), s)).collect()
    }
}

/// Every statement with a name, for the preparation test.
pub fn all() -> Vec<(String, &'static str)> {
    let mut all = vec![
        ("HEALTH_CHECK".to_string(), HEALTH_CHECK),
        ("HISTORY".to_string(), HISTORY),
        ("REFERENCES".to_string(), REFERENCES),
        ("idempotency::CLAIM".to_string(), idempotency::CLAIM),
        ("idempotency::GET".to_string(), idempotency::GET),
        ("idempotency::COMMITTED".to_string(), idempotency::COMMITTED),
        ("idempotency::FINISH".to_string(), idempotency::FINISH),
        ("idempotency::RELEASE".to_string(), idempotency::RELEASE),
        ("REFERENCES_GUARD".to_string(), REFERENCES_GUARD),
    ];
    all.extend(CONTACTS.all("CONTACTS"));
    all.extend(COMPANIES.all("COMPANIES"));
    all.extend(super::sql_work::all());
    all.extend(super::sql_pages::all());
    all.extend(super::sql_work_page::all());
    all.extend(super::sql_merge::all());
    all.extend(super::sql_import::all());
    all.extend(super::sql_list::all());
    for (name, statement) in [
        ("links::HISTORY_REPLACED", links::HISTORY_REPLACED),
        ("links::DELETE_REPLACED", links::DELETE_REPLACED),
        ("links::HISTORY_ADDED", links::HISTORY_ADDED),
        ("links::DEMOTE", links::DEMOTE),
        ("links::UPSERT", links::UPSERT),
        ("links::HISTORY_REMOVED", links::HISTORY_REMOVED),
        ("links::REMOVE", links::REMOVE),
    ] {
        all.push((name.to_string(), statement));
    }
    all
}
