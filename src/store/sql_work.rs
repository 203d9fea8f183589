//! Statements for tasks, activities and users (API.md §7, §8). Same rules as `sql.rs`: a batch
//! is one JSON array in `?1`, read with `json_each`, joined to tables from the JSON side.

/// The columns of a task row, as the store reads them.
macro_rules! task_columns {
    ($t:literal) => {
        concat!(
            $t, ".id, ", $t, ".subject, ", $t, ".description, ", $t, ".type, ", $t, ".priority, ", $t, ".status, ",
            $t, ".owner_id, ", $t, ".due_date, ", $t, ".contact_id, ", $t, ".company_id, ", $t, ".completed, ",
            $t, ".completed_at, ", $t, ".properties, ", $t, ".created_at, ", $t, ".updated_at, ", $t, ".external_id"
        )
    };
}

pub mod tasks {
    /// `?1` `[{id, fields: {...}, properties, content?}]` (`content`: the fingerprint of a task
    /// sent without any key), `?2` time; `?3` the earliest creation time a retry by content still
    /// answers, `?4` and `?5` the key prefixes of this ten-minute bucket and of the previous one
    /// (`domain::work::content::Window`). Inserts the tasks of `?1`; a retried create is not
    /// inserted: one whose `externalId` a live task already holds, or whose content key (`?4` and
    /// its fingerprint) one does (the unique indexes refuse them, quietly, even for two retries at
    /// once), or whose previous bucket's key (`?5` and its fingerprint) a task created since `?3`
    /// holds: checked in this same statement, so no write slips between the check and the insert.
    pub const INSERT: &str = "INSERT OR IGNORE INTO tasks (id, subject, description, type, priority, status, owner_id, due_date, \
        contact_id, company_id, completed, completed_at, properties, created_at, updated_at, external_id, content_key) \
        SELECT j.value->>'id', j.value->'fields'->>'subject', j.value->'fields'->>'description', j.value->'fields'->>'type', \
        j.value->'fields'->>'priority', j.value->'fields'->>'status', j.value->'fields'->>'ownerId', j.value->'fields'->>'dueDate', \
        j.value->'fields'->>'contactId', j.value->'fields'->>'companyId', \
        CASE WHEN j.value->'fields'->>'completed' THEN 1 ELSE 0 END, j.value->'fields'->>'completedAt', \
        json(j.value->'properties'), ?2, ?2, j.value->'fields'->>'externalId', ?4 || (j.value->>'content') FROM json_each(?1) j \
        WHERE j.value->>'content' IS NULL \
        OR NOT EXISTS (SELECT 1 FROM tasks x WHERE x.content_key = ?5 || (j.value->>'content') AND x.created_at >= ?3)";
    /// History of the tasks this batch inserted (a proposed id exists only if inserted).
    pub const HISTORY_NEW: &str = "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) \
        SELECT 'task', j.value->>'id', '(created)', NULL, \
        json_object('fields', json(j.value->'fields'), 'properties', json(j.value->'properties')), ?2, ?3 \
        FROM json_each(?1) j WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.id = j.value->>'id')";
    /// For each item of `?1` (its position `i`), the task it is now: the one holding its
    /// `externalId`, else the one inserted under its proposed id, else the one holding its
    /// content key: this bucket's (`?3`), or the previous bucket's (`?4`) when created since `?2`.
    pub const RESOLVE: &str = concat!(
        "SELECT j.key AS i, ", task_columns!("t"), " FROM json_each(?1) j CROSS JOIN tasks t ON t.id = coalesce(",
        "(SELECT x.id FROM tasks x WHERE x.external_id = j.value->'fields'->>'externalId'), ",
        "(SELECT x.id FROM tasks x WHERE x.id = j.value->>'id'), ",
        "(SELECT x.id FROM tasks x WHERE x.content_key = ?3 || (j.value->>'content')), ",
        "(SELECT x.id FROM tasks x WHERE x.content_key = ?4 || (j.value->>'content') AND x.created_at >= ?2))"
    );
    /// Live tasks by id (`?1` JSON array), in the order asked.
    pub const BY_IDS: &str = concat!(
        "SELECT ", task_columns!("t"), " FROM json_each(?1) j CROSS JOIN tasks t ON t.id = j.value ",
        "WHERE +t.deleted_at IS NULL ORDER BY j.key"
    );
    /// Fails the batch when a task of `?1` (`[{id, base}]`) changed since it was read.
    pub const GUARD: &str = "INSERT INTO write_guard (ok) SELECT 0 FROM json_each(?1) j CROSS JOIN tasks t ON t.id = j.value->>'id' \
        WHERE t.updated_at <> j.value->>'base' OR t.deleted_at IS NOT NULL LIMIT 1";
    /// `updated_at` moves forward even when the clock has not: the guard compares it with the
    /// version read, so two writes within one millisecond must not leave the same stamp.
    pub const UPDATE: &str = "UPDATE tasks SET subject = j.value->'fields'->>'subject', description = j.value->'fields'->>'description', \
        type = j.value->'fields'->>'type', priority = j.value->'fields'->>'priority', status = j.value->'fields'->>'status', \
        owner_id = j.value->'fields'->>'ownerId', due_date = j.value->'fields'->>'dueDate', \
        contact_id = j.value->'fields'->>'contactId', company_id = j.value->'fields'->>'companyId', \
        completed = CASE WHEN j.value->'fields'->>'completed' THEN 1 ELSE 0 END, completed_at = j.value->'fields'->>'completedAt', \
        properties = json(j.value->'properties'), updated_at = \
        max(?2, strftime('%Y-%m-%dT%H:%M:%fZ', tasks.updated_at, '+0.001 seconds')) \
        FROM json_each(?1) j WHERE tasks.id = j.value->>'id'";
    /// `?1` `[{id, changes: [{field, old?, new?}]}]`.
    pub const HISTORY_CHANGES: &str = "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) \
        SELECT 'task', j.value->>'id', c.value->>'field', c.value->'old', c.value->'new', ?2, ?3 \
        FROM json_each(?1) j, json_each(j.value->'changes') c";
    pub const HISTORY_DELETE: &str = "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) \
        SELECT 'task', id, '(deleted)', json_object('subject', subject), NULL, ?2, ?3 FROM tasks WHERE id = ?1 AND +deleted_at IS NULL";
    /// Soft-deletes `?1`; its `externalId` and content key are released, so a later create with
    /// either is a new task.
    pub const DELETE: &str = "UPDATE tasks SET deleted_at = ?2, updated_at = ?2, external_id = NULL, content_key = NULL \
        WHERE id = ?1 AND +deleted_at IS NULL";
}

macro_rules! activity_columns {
    ($a:literal) => {
        concat!(
            $a, ".id, ", $a, ".type, ", $a, ".subject, ", $a, ".body, ", $a, ".direction, ", $a, ".owner_id, ",
            $a, ".occurred_at, ", $a, ".contact_id, ", $a, ".company_id, ", $a, ".metadata, ", $a, ".properties, ",
            $a, ".created_at, (SELECT u.name FROM users u WHERE u.id = ", $a, ".owner_id) AS owner_name"
        )
    };
}

pub mod activities {
    /// `?1` `[{id, type, subject, body, direction, ownerId, occurredAt, contactId, companyId,
    /// metadata, messageId, properties, content?}]`, `?2` time, `?3` `?4` `?5` as for
    /// `tasks::INSERT`. A retried `(type, messageId)`, or a keyless retry of the same content (see
    /// `tasks::INSERT`), is not inserted: the database, not a prior read, decides.
    pub const INSERT: &str = "INSERT OR IGNORE INTO activities (id, type, subject, body, direction, owner_id, occurred_at, \
        contact_id, company_id, metadata, message_id, properties, created_at, content_key) \
        SELECT j.value->>'id', j.value->>'type', j.value->>'subject', j.value->>'body', j.value->>'direction', \
        j.value->>'ownerId', j.value->>'occurredAt', j.value->>'contactId', j.value->>'companyId', \
        json(j.value->'metadata'), j.value->>'messageId', json(j.value->'properties'), ?2, ?4 || (j.value->>'content') FROM json_each(?1) j \
        WHERE j.value->>'content' IS NULL \
        OR NOT EXISTS (SELECT 1 FROM activities x WHERE x.content_key = ?5 || (j.value->>'content') AND x.created_at >= ?3)";
    /// History of the activities this batch inserted (a proposed id exists only if inserted).
    pub const HISTORY_NEW: &str = "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) \
        SELECT 'activity', a.id, '(created)', NULL, json_object('type', a.type, 'subject', a.subject, 'direction', a.direction), ?2, ?3 \
        FROM json_each(?1) j CROSS JOIN activities a ON a.id = j.value->>'id'";
    /// An activity moves its contact's and company's `last_activity_at` forward, never back. Only
    /// the activities this batch stored count (a proposed id exists only if it was inserted), so a
    /// retry carrying another `occurredAt` moves nothing. `updated_at` is left alone: logging an
    /// activity is not an edit of the record, and the change feed is for edits.
    pub const BUMP_CONTACTS: &str = "UPDATE contacts SET last_activity_at = x.t FROM \
        (SELECT a.contact_id AS id, max(a.occurred_at) AS t FROM json_each(?1) j \
         CROSS JOIN activities a ON a.id = j.value->>'id' WHERE a.contact_id IS NOT NULL GROUP BY 1) AS x \
        WHERE contacts.id = x.id AND (contacts.last_activity_at IS NULL OR contacts.last_activity_at < x.t)";
    pub const BUMP_COMPANIES: &str = "UPDATE companies SET last_activity_at = x.t FROM \
        (SELECT a.company_id AS id, max(a.occurred_at) AS t FROM json_each(?1) j \
         CROSS JOIN activities a ON a.id = j.value->>'id' WHERE a.company_id IS NOT NULL GROUP BY 1) AS x \
        WHERE companies.id = x.id AND (companies.last_activity_at IS NULL OR companies.last_activity_at < x.t)";
    /// For each item: the activity it is now (the first one logged with its type and messageId,
    /// or the one it inserted, or the one holding its content key: this bucket's (`?3`), or the
    /// previous bucket's (`?4`) when created since `?2`).
    pub const RESOLVE: &str = concat!(
        "SELECT j.key AS i, ", activity_columns!("a"), " FROM json_each(?1) j CROSS JOIN activities a ON a.id = coalesce(",
        "(SELECT x.id FROM activities x WHERE x.type = j.value->>'type' AND x.message_id = j.value->>'messageId'), ",
        "(SELECT x.id FROM activities x WHERE x.id = j.value->>'id'), ",
        "(SELECT x.id FROM activities x WHERE x.content_key = ?3 || (j.value->>'content')), ",
        "(SELECT x.id FROM activities x WHERE x.content_key = ?4 || (j.value->>'content') AND x.created_at >= ?2))"
    );
    /// The activities already logged under the `(type, messageId)`, or the content, of `?1`
    /// `[{i, type, messageId} | {i, content}]` (`?2` `?3` `?4` as for `RESOLVE`), each with the
    /// `i` it was asked for.
    pub const LOGGED: &str = concat!(
        "SELECT j.value->>'i' AS i, ", activity_columns!("a"), " FROM json_each(?1) j CROSS JOIN activities a ON a.id = coalesce(",
        "(SELECT x.id FROM activities x WHERE x.type = j.value->>'type' AND x.message_id = j.value->>'messageId'), ",
        "(SELECT x.id FROM activities x WHERE x.content_key = ?3 || (j.value->>'content')), ",
        "(SELECT x.id FROM activities x WHERE x.content_key = ?4 || (j.value->>'content') AND x.created_at >= ?2))"
    );
    pub const ONE: &str = concat!("SELECT ", activity_columns!("a"), " FROM activities a WHERE a.id = ?1");
    /// A contact's timeline, newest first, before `(?2 occurred_at, ?3 id)`, `?4` at most.
    pub const TIMELINE_CONTACT: &str = concat!(
        "SELECT ", activity_columns!("a"), " FROM activities a WHERE a.contact_id = ?1 AND (a.occurred_at, a.id) < (?2, ?3) ",
        "ORDER BY a.occurred_at DESC, a.id DESC LIMIT ?4"
    );
    pub const TIMELINE_COMPANY: &str = concat!(
        "SELECT ", activity_columns!("a"), " FROM activities a WHERE a.company_id = ?1 AND (a.occurred_at, a.id) < (?2, ?3) ",
        "ORDER BY a.occurred_at DESC, a.id DESC LIMIT ?4"
    );
}

pub mod users {
    pub const LIST: &str = "SELECT id, name, email FROM users ORDER BY name, id";
    /// Upsert by normalised email, `?1` `[{id, name?, email, emailKey, properties}]` with one item
    /// per email (`domain::work::merge_by_email`), `?2` time. First the users already stored are
    /// updated (a name not sent keeps the stored one, properties are merged), then the others are
    /// inserted; in one transaction, so a concurrent upsert of the same email cannot slip between.
    pub const UPDATE_EXISTING: &str = "UPDATE users SET name = coalesce(j.value->>'name', users.name), \
        email = j.value->>'email', properties = json_patch(users.properties, j.value->'properties'), updated_at = ?2 \
        FROM json_each(?1) j WHERE users.email_key = j.value->>'emailKey'";
    pub const INSERT_NEW: &str = "INSERT OR IGNORE INTO users (id, name, email, email_key, properties, created_at, updated_at) \
        SELECT j.value->>'id', coalesce(j.value->>'name', ''), j.value->>'email', j.value->>'emailKey', \
        json(j.value->'properties'), ?2, ?2 FROM json_each(?1) j";
    pub const RESOLVE: &str = "SELECT j.key AS i, u.id, u.name, u.email FROM json_each(?1) j \
        CROSS JOIN users u ON u.email_key = j.value->>'emailKey'";
    /// Fails the batch when the user `?1` does not exist, before anything is cleared: records
    /// stored while there were no users may name any owner, and deleting an unknown user must not
    /// clear them.
    pub const GUARD_EXISTS: &str = "INSERT INTO write_guard (ok) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = ?1)";
    /// The live contacts and companies the user `?1` owns, read inside the delete's transaction
    /// before the clearing: the match cache forgets their entries, which name the owner.
    pub const OWNED: &str = "SELECT 'contact' AS kind, id FROM contacts WHERE owner_id = ?1 AND deleted_at IS NULL \
        UNION ALL SELECT 'company', id FROM companies WHERE owner_id = ?1 AND deleted_at IS NULL";
    /// Deleting a user clears it as owner everywhere, each clearing kept in history (`?1` user id,
    /// `?2` time, `?3` request id); the records keep their ownerId history.
    pub const HISTORY_OWNERS: &str = "INSERT INTO history (entity_type, entity_id, field, old_value, new_value, changed_at, request_id) \
        SELECT 'contact', id, 'ownerId', json_quote(owner_id), NULL, ?2, ?3 FROM contacts WHERE owner_id = ?1 \
        UNION ALL SELECT 'company', id, 'ownerId', json_quote(owner_id), NULL, ?2, ?3 FROM companies WHERE owner_id = ?1 \
        UNION ALL SELECT 'task', id, 'ownerId', json_quote(owner_id), NULL, ?2, ?3 FROM tasks WHERE owner_id = ?1 \
        UNION ALL SELECT 'activity', id, 'ownerId', json_quote(owner_id), NULL, ?2, ?3 FROM activities WHERE owner_id = ?1";
    pub const CLEAR_CONTACTS: &str = concat!(
        "UPDATE contacts SET owner_id = NULL, fields = json_remove(fields, '$.ownerId'), updated_at = ",
        "(SELECT max(?2, coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', max(updated_at), '+0.001 seconds'), ?2)) FROM contacts) ",
        "WHERE owner_id = ?1"
    );
    pub const CLEAR_COMPANIES: &str = concat!(
        "UPDATE companies SET owner_id = NULL, fields = json_remove(fields, '$.ownerId'), updated_at = ",
        "(SELECT max(?2, coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', max(updated_at), '+0.001 seconds'), ?2)) FROM companies) ",
        "WHERE owner_id = ?1"
    );
    pub const CLEAR_TASKS: &str = "UPDATE tasks SET owner_id = NULL, updated_at = \
        max(?2, strftime('%Y-%m-%dT%H:%M:%fZ', updated_at, '+0.001 seconds')) WHERE owner_id = ?1";
    pub const CLEAR_ACTIVITIES: &str = "UPDATE activities SET owner_id = NULL WHERE owner_id = ?1";
    pub const DELETE: &str = "DELETE FROM users WHERE id = ?1";
}

pub fn all() -> Vec<(String, &'static str)> {
    let named: &[(&str, &str)] = &[
        ("tasks::INSERT", tasks::INSERT),
        ("tasks::HISTORY_NEW", tasks::HISTORY_NEW),
        ("tasks::BY_IDS", tasks::BY_IDS),
        ("tasks::RESOLVE", tasks::RESOLVE),
        ("tasks::GUARD", tasks::GUARD),
        ("tasks::UPDATE", tasks::UPDATE),
        ("tasks::HISTORY_CHANGES", tasks::HISTORY_CHANGES),
        ("tasks::HISTORY_DELETE", tasks::HISTORY_DELETE),
        ("tasks::DELETE", tasks::DELETE),
        ("activities::INSERT", activities::INSERT),
        ("activities::HISTORY_NEW", activities::HISTORY_NEW),
        ("activities::BUMP_CONTACTS", activities::BUMP_CONTACTS),
        ("activities::BUMP_COMPANIES", activities::BUMP_COMPANIES),
        ("activities::RESOLVE", activities::RESOLVE),
        ("activities::LOGGED", activities::LOGGED),
        ("activities::ONE", activities::ONE),
        ("activities::TIMELINE_CONTACT", activities::TIMELINE_CONTACT),
        ("activities::TIMELINE_COMPANY", activities::TIMELINE_COMPANY),
        ("users::LIST", users::LIST),
        ("users::UPDATE_EXISTING", users::UPDATE_EXISTING),
        ("users::INSERT_NEW", users::INSERT_NEW),
        ("users::RESOLVE", users::RESOLVE),
        ("users::GUARD_EXISTS", users::GUARD_EXISTS),
        ("users::OWNED", users::OWNED),
        ("users::HISTORY_OWNERS", users::HISTORY_OWNERS),
        ("users::CLEAR_CONTACTS", users::CLEAR_CONTACTS),
        ("users::CLEAR_COMPANIES", users::CLEAR_COMPANIES),
        ("users::CLEAR_TASKS", users::CLEAR_TASKS),
        ("users::CLEAR_ACTIVITIES", users::CLEAR_ACTIVITIES),
        ("users::DELETE", users::DELETE),
    ];
    named.iter().map(|(n, s)| (n.to_string(), *s)).collect()
}
