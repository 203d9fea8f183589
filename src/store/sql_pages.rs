//! The reads behind the pages for people (API.md §9): one statement per page, beside which a
//! record page and the dashboard also read their possible duplicates (`sql_merge`), sent at the
//! same time. Each answers one row whose columns are the page's parts, the lists among them as
//! JSON arrays built by `json_group_array` in subqueries, so a page costs one D1 round trip
//! however much it shows.
//! Every list is bounded (`LIMIT`) and found through an index; `tests/pages_sql.rs` runs these
//! statements on SQLite with data, and `tests/schema.rs` checks their plans.
//!
//! A JSON boolean is written `json(iif(x, 'true', 'false'))`: SQLite has no boolean type, and a
//! bare `x` would reach the page as `0`/`1`.

/// Most rows of each list on a record page: tasks (open and completed apiece), activities,
/// history entries and associated records. The page says when a list was cut.
pub const RECORD_LIST_LIMIT: usize = 100;

/// Rows of each dashboard list per page.
pub const DASHBOARD_PAGE: usize = 25;

/// Activities in the dashboard's "recent activity".
pub const RECENT_ACTIVITIES: usize = 10;

/// What a page calls the record `$r`: its display name (a contact's name or e-mail; a company's
/// name, domain or website), else its LinkedIn URL, else its phone, else `''` (the same order as
/// `domain::pages::parts::shown_identity`, which shortens a LinkedIn URL for the page).
macro_rules! label {
    ($r:literal) => {
        concat!(
            "coalesce(nullif(", $r, ".display_name, ''), nullif(trim(", $r, ".fields->>'linkedinUrl'), ''), nullif(trim(", $r,
            ".fields->>'phone'), ''), '')"
        )
    };
}

/// An activity as the pages show it: the names of its contact and company, and of the user who
/// did it, come along, read by primary key for the few rows a page shows.
macro_rules! activity_json {
    ($a:literal) => {
        concat!(
            "json_object('id', ", $a, ".id, 'type', ", $a, ".type, 'subject', ", $a, ".subject, 'body', ", $a, ".body, ",
            "'direction', ", $a, ".direction, 'occurredAt', ", $a, ".occurred_at, ",
            "'ownerName', (SELECT name FROM users WHERE id = ", $a, ".owner_id), ",
            "'contactId', ", $a, ".contact_id, 'contactName', (SELECT ", label!("l"), " FROM contacts l WHERE l.id = ", $a, ".contact_id AND +l.deleted_at IS NULL), ",
            "'companyId', ", $a, ".company_id, 'companyName', (SELECT ", label!("l"), " FROM companies l WHERE l.id = ", $a, ".company_id AND +l.deleted_at IS NULL))"
        )
    };
}

/// A task as the pages show it, with the names of what it is about (also read by
/// `sql_work_page`). Its `ownerId` is what a reassign form shows selected.
macro_rules! task_json {
    ($t:literal) => {
        concat!(
            "json_object('id', ", $t, ".id, 'subject', ", $t, ".subject, 'description', ", $t, ".description, ",
            "'type', ", $t, ".type, 'priority', ", $t, ".priority, 'status', ", $t, ".status, 'dueDate', ", $t, ".due_date, ",
            "'ownerId', ", $t, ".owner_id, 'ownerName', (SELECT name FROM users WHERE id = ", $t, ".owner_id), ",
            "'completed', json(iif(", $t, ".completed, 'true', 'false')), 'completedAt', ", $t, ".completed_at, ",
            "'contactId', ", $t, ".contact_id, 'contactName', (SELECT ", label!("l"), " FROM contacts l WHERE l.id = ", $t, ".contact_id AND +l.deleted_at IS NULL), ",
            "'companyId', ", $t, ".company_id, 'companyName', (SELECT ", label!("l"), " FROM companies l WHERE l.id = ", $t, ".company_id AND +l.deleted_at IS NULL))"
        )
    };
}
pub(crate) use {label, task_json};

/// The parts both record pages share: owner, tasks, activities and history of the record `?1`.
/// `$column` is the tasks' and activities' column that names a record of this kind.
macro_rules! record_parts {
    ($column:literal) => {
        concat!(
            "(SELECT json_object('id', u.id, 'name', u.name, 'email', u.email) FROM users u WHERE u.id = r.owner_id) AS owner, ",
            "(SELECT json_group_array(", task_json!("t"), " ORDER BY t.due_date IS NULL, t.due_date, t.id) FROM ",
            "(SELECT * FROM tasks WHERE ", $column, " = ?1 AND completed = 0 AND +deleted_at IS NULL ",
            "ORDER BY due_date IS NULL, due_date, id LIMIT ?2) t) AS open_tasks, ",
            "(SELECT json_group_array(", task_json!("t"), " ORDER BY t.completed_at DESC, t.id DESC) FROM ",
            "(SELECT * FROM tasks WHERE ", $column, " = ?1 AND completed <> 0 AND +deleted_at IS NULL ",
            "ORDER BY completed_at DESC, id DESC LIMIT ?2) t) AS done_tasks, ",
            "(SELECT json_group_array(", activity_json!("a"), " ORDER BY a.occurred_at DESC, a.id DESC) FROM ",
            "(SELECT * FROM activities WHERE ", $column, " = ?1 ORDER BY occurred_at DESC, id DESC LIMIT ?2) a) AS activities, ",
            "(SELECT count(*) FROM activities WHERE ", $column, " = ?1) AS activity_count, ",
            "(SELECT json_group_array(json_object('field', h.field, 'old', h.old_value, 'new', h.new_value, ",
            "'at', h.changed_at, 'requestId', h.request_id, 'sent', h.sent_value, ",
            "'applied', json(CASE h.applied WHEN 0 THEN 'false' ELSE 'true' END), ",
            "'actor', coalesce((SELECT actor FROM request_actors WHERE request_id = h.request_id), 'api')) ORDER BY h.id DESC) FROM ",
            "(SELECT * FROM history WHERE entity_id = ?1 ORDER BY id DESC LIMIT ?2) h) AS history, ",
            "(SELECT count(*) FROM history WHERE entity_id = ?1) AS history_count, ",
            "(SELECT json_group_array(json_object('id', u.id, 'name', u.name, 'email', u.email) ORDER BY u.name, u.id) FROM ",
            "(SELECT id, name, email FROM users ORDER BY name, id LIMIT 500) u) AS users"
        )
    };
}

/// A contact's page: `?1` the id, `?2` the most rows of each list. No row when the contact is
/// unknown or deleted. Its companies come primary first, then by name.
pub const CONTACT_PAGE: &str = concat!(
    "SELECT r.id, r.external_id, r.fields, r.properties, r.created_at, r.updated_at, r.last_activity_at, ",
    "(SELECT json_group_array(json_object('id', c.id, 'name', c.label, 'primary', json(iif(c.is_primary, 'true', 'false'))) ",
    "ORDER BY c.is_primary DESC, c.display_name = '', c.display_name, c.id) FROM ",
    "(SELECT c.id, c.display_name, ", label!("c"), " AS label, a.is_primary FROM associations a CROSS JOIN companies c ON c.id = a.company_id ",
    "WHERE a.contact_id = ?1 AND +c.deleted_at IS NULL ORDER BY a.is_primary DESC, c.display_name = '', c.display_name, c.id LIMIT ?2) c) AS links, ",
    "(SELECT count(*) FROM associations a CROSS JOIN companies c ON c.id = a.company_id ",
    "WHERE a.contact_id = ?1 AND +c.deleted_at IS NULL) AS link_count, ",
    "NULL AS parent, '[]' AS children, ",
    record_parts!("contact_id"),
    " FROM contacts r WHERE r.id = ?1 AND +r.deleted_at IS NULL"
);

/// A company's page: `?1` the id, `?2` the most rows of each list. Its contacts come by name
/// (those whose primary company it is marked); its parent and subsidiaries come along.
pub const COMPANY_PAGE: &str = concat!(
    "SELECT r.id, r.external_id, r.fields, r.properties, r.created_at, r.updated_at, r.last_activity_at, ",
    "(SELECT json_group_array(json_object('id', c.id, 'name', c.label, 'primary', json(iif(c.is_primary, 'true', 'false'))) ",
    "ORDER BY c.display_name = '', c.display_name, c.id) FROM ",
    "(SELECT c.id, c.display_name, ", label!("c"), " AS label, a.is_primary FROM associations a CROSS JOIN contacts c ON c.id = a.contact_id ",
    "WHERE a.company_id = ?1 AND +c.deleted_at IS NULL ORDER BY c.display_name = '', c.display_name, c.id LIMIT ?2) c) AS links, ",
    "(SELECT count(*) FROM associations a CROSS JOIN contacts c ON c.id = a.contact_id ",
    "WHERE a.company_id = ?1 AND +c.deleted_at IS NULL) AS link_count, ",
    "(SELECT json_object('id', p.id, 'name', ", label!("p"), ") FROM companies p WHERE p.id = r.parent_id AND +p.deleted_at IS NULL) AS parent, ",
    "(SELECT json_group_array(json_object('id', s.id, 'name', s.label) ORDER BY s.display_name = '', s.display_name, s.id) FROM ",
    "(SELECT c.id, c.display_name, ", label!("c"), " AS label FROM companies c WHERE c.parent_id = ?1 AND +c.deleted_at IS NULL ",
    "ORDER BY c.display_name = '', c.display_name, c.id LIMIT ?2) s) AS children, ",
    record_parts!("company_id"),
    " FROM companies r WHERE r.id = ?1 AND +r.deleted_at IS NULL"
);

/// One page of a record list in name order: the records after the cursor `$cursor` (the last id
/// shown, `''` for the start; its own name is looked up, so a link carries only an id), at most
/// `?4`: those with a name by name, then those without one by id, two ranges of the index
/// `(deleted_at, display_name, id)`. Rows are opened for the page's own records only.
macro_rules! record_list {
    ($table:literal, $cursor:literal, $columns:literal) => {
        concat!(
            "(SELECT json_group_array(json_object('id', r.id, 'name', r.display_name", $columns, ") ",
            "ORDER BY p.display_name = '', p.display_name, p.id) FROM (",
            "WITH c AS (SELECT coalesce((SELECT display_name FROM ", $table, " WHERE id = ", $cursor, "), '') AS name) ",
            "SELECT * FROM (SELECT id, display_name FROM ", $table, " WHERE deleted_at IS NULL ",
            "AND (", $cursor, " = '' OR (SELECT name FROM c) > '') ",
            "AND (display_name, id) > ((SELECT name FROM c), iif((SELECT name FROM c) = '', char(1114111), ", $cursor, ")) ",
            "ORDER BY display_name, id LIMIT ?4) ",
            "UNION ALL SELECT * FROM (SELECT id, display_name FROM ", $table, " WHERE deleted_at IS NULL AND display_name = '' ",
            "AND id > iif((SELECT name FROM c) = '', ", $cursor, ", '') ORDER BY id LIMIT ?4) LIMIT ?4) p ",
            "CROSS JOIN ", $table, " r ON r.id = p.id)"
        )
    };
}

/// The dashboard: `?1`/`?2`/`?3` the contacts', companies' and tasks' cursors (the last id shown;
/// `''` for the first page), `?4` rows per list (one more than shown, so the page knows whether
/// another follows), `?5` recent activities. (Search has its own page: `sql_list`.)
///
/// Tasks are the open ones, dated first by due date, then undated by id. The index `(deleted_at,
/// completed, due_date, id)` holds undated tasks apart (NULL sorts first), so the list is two
/// index ranges joined: the cursor's due date says which range it is in.
pub const DASHBOARD: &str = concat!(
    "SELECT (SELECT json_group_object(name, n) FROM page_counts) AS counts, ",
    // `occurred_at > ''` is every activity: a range, so SQLite reads the index backwards from the
    // newest and stops at the limit.
    "(SELECT json_group_array(", activity_json!("a"), " ORDER BY a.occurred_at DESC, a.id DESC) FROM ",
    "(SELECT * FROM activities WHERE occurred_at > '' ORDER BY occurred_at DESC, id DESC LIMIT ?5) a) AS activities, ",
    record_list!("contacts", "?1", ", 'email', r.fields->>'email', 'company', r.fields->>'company', 'title', r.fields->>'title', 'linkedinUrl', r.fields->>'linkedinUrl', 'phone', r.fields->>'phone'"),
    " AS contacts, ",
    record_list!("companies", "?2", ", 'domain', r.fields->>'domain', 'industry', r.fields->>'industry', 'country', r.fields->>'country', 'website', r.fields->>'website', 'linkedinUrl', r.fields->>'linkedinUrl', 'phone', r.fields->>'phone'"),
    " AS companies, ",
    "(SELECT json_group_array(", task_json!("t"), " ORDER BY t.part, t.due_date, t.id) FROM (",
    "SELECT * FROM (SELECT 0 AS part, * FROM tasks WHERE deleted_at IS NULL AND completed = 0 ",
    "AND NOT (EXISTS (SELECT 1 FROM tasks WHERE id = ?3) AND (SELECT due_date FROM tasks WHERE id = ?3) IS NULL) ",
    "AND (due_date, id) > (coalesce((SELECT due_date FROM tasks WHERE id = ?3), ''), ?3) ORDER BY due_date, id LIMIT ?4) ",
    "UNION ALL SELECT * FROM (SELECT 1 AS part, * FROM tasks WHERE deleted_at IS NULL AND completed = 0 AND due_date IS NULL ",
    "AND id > iif(EXISTS (SELECT 1 FROM tasks WHERE id = ?3) AND (SELECT due_date FROM tasks WHERE id = ?3) IS NULL, ?3, '') ORDER BY id LIMIT ?4) ",
    "ORDER BY part, due_date, id LIMIT ?4) t) AS tasks"
);

/// Every statement with a name, for the preparation and plan tests.
pub fn all() -> Vec<(String, &'static str)> {
    [("pages::CONTACT_PAGE", CONTACT_PAGE), ("pages::COMPANY_PAGE", COMPANY_PAGE), ("pages::DASHBOARD", DASHBOARD)]
        .into_iter()
        .map(|(name, sql)| (name.to_string(), sql))
        .collect()
}
