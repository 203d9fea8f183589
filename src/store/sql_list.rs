//! The statements of lists and search (API.md §4, §9; `domain::list` decides what they read).
//!
//! Each reads one page in one statement: `s`, at most a window (`?5`) of entries of one index
//! from a position, in the list's order, streamed into the records behind them, checked against
//! the filters, until one more than the page (`?6`) is found: a page that fills reads as many
//! entries as it needs, not the window. It answers a line per record (with its place in the
//! order, `p`, `k`, `id`), then a last line: when the page did not fill, the window's last entry
//! (where the next page starts; none when the index ran out first). Lines, not one aggregated
//! row: a page of large records can exceed the 2 MB D1 allows a single value.
//!
//! The records' select has no ORDER BY of its own, so it streams in the window's order and stops
//! at the page's end instead of reading the whole window to sort it.
//!
//! Parameters of a contact or company list: `?1`/`?2` the term range of a search, `?3`/`?4` the
//! key and id to start after, `?5` the window, `?6` the page plus one, `?7` ownerId, `?8` the
//! tag's term, `?9` hasOpenTask (0, 1 or NULL), `?10`/`?11` the last activity's bounds (`>=`,
//! `<`; a record without one counts as `''`), `?12` createdAfter (`''` for none), `?13` the
//! property filters (`[[column, path, value]]`), `?14` the other words of a search, `?15` the part
//! of the order to start in. Of a task list: `?1`–`?6` the same, `?7` the assignee (an id, or an
//! e-mail with `?8` its key), `?9` completed (0, 1 or NULL), `?10` dueAfter (NULL for none),
//! `?11` dueBefore (U+10FFFF for none), `?12` the other words, `?13` the part to start in.

use super::sql_pages::label;
use crate::domain::list::{Order, RecordList, Sort, TaskList};
use crate::domain::record::RecordKind;

/// The terms of a search text, as rows: its space-separated terms as a JSON array (no valid
/// array, no terms), the same reading as the triggers of `schema.sql`.
macro_rules! terms_of {
    ($col:literal) => {
        concat!(
            "json_each(iif(json_valid('[\"' || replace(", $col, ", ' ', '\",\"') || '\"]'), '[\"' || replace(", $col,
            ", ' ', '\",\"') || '\"]', '[]'))"
        )
    };
}

/// Every word of a search but the driving one is the prefix of a term of the record.
macro_rules! other_words {
    ($param:literal) => {
        concat!("NOT EXISTS (SELECT 1 FROM json_each(", $param, ") w WHERE instr(' ' || r.search_text, ' ' || w.value) = 0)")
    };
}

/// A search shows a record at the first of its terms in the range: not again at a later one.
macro_rules! first_term {
    () => {
        concat!(" AND NOT EXISTS (SELECT 1 FROM ", terms_of!("r.search_text"), " x WHERE x.value >= ?1 AND x.value < s.k)")
    };
}

/// The filters of a contact or company list; `$col` is the tasks' column naming the record.
macro_rules! record_filters {
    ($col:literal) => {
        concat!(
            // `?15` is read by one order only; every statement names it, so all bind the same.
            "+r.deleted_at IS NULL AND ?15 >= 0 AND (?7 IS NULL OR r.owner_id = ?7) ",
            "AND (?8 IS NULL OR instr(' ' || r.search_text || ' ', ' ' || ?8 || ' ') > 0) ",
            "AND (?9 IS NULL OR ?9 = EXISTS (SELECT 1 FROM tasks t WHERE t.", $col, " = r.id AND t.completed = 0 AND +t.deleted_at IS NULL)) ",
            "AND coalesce(r.last_activity_at, '') >= ?10 AND coalesce(r.last_activity_at, '') < ?11 AND r.created_at > ?12 ",
            "AND NOT EXISTS (SELECT 1 FROM json_each(?13) f WHERE NOT EXISTS (SELECT 1 FROM ",
            "json_each(CASE f.value->>0 WHEN 'f' THEN r.fields ELSE r.properties END, f.value->>1) e ",
            "WHERE CASE WHEN e.type IN ('true', 'false') THEN e.type ELSE CAST(e.value AS TEXT) END = f.value->>2)) ",
            "AND ", other_words!("?14")
        )
    };
}

/// A record of a page, beside its place in the order.
macro_rules! record_columns {
    () => {
        "s.p AS p, s.k AS k, s.id AS id, r.external_id AS external_id, r.fields AS fields, r.properties AS properties, \
         r.created_at AS created_at, r.updated_at AS updated_at, r.last_activity_at AS last_activity_at"
    };
}

/// As many NULLs as `record_columns!` has columns, for the last line.
macro_rules! record_nulls {
    () => {
        "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
    };
}

macro_rules! task_filters {
    () => {
        concat!(
            "+r.deleted_at IS NULL AND ?13 >= 0 AND (?7 IS NULL OR r.owner_id = coalesce((SELECT u.id FROM users u WHERE u.email_key = ?8), ?7)) ",
            "AND (?9 IS NULL OR r.completed = ?9) AND (?10 IS NULL OR r.due_date > ?10) AND (?11 = char(1114111) OR r.due_date < ?11) ",
            "AND ", other_words!("?12")
        )
    };
}

macro_rules! task_columns {
    () => {
        concat!(
            "s.p AS p, s.k AS k, s.id AS id, r.subject AS subject, r.description AS description, r.type AS type, \
             r.priority AS priority, r.status AS status, r.owner_id AS owner_id, r.due_date AS due_date, r.contact_id AS contact_id, \
             r.company_id AS company_id, r.completed AS completed, r.completed_at AS completed_at, r.properties AS properties, \
             r.created_at AS created_at, r.updated_at AS updated_at, r.external_id AS external_id, ",
            // What the page calls each, as the record pages do (`sql_pages`' `label!`).
            "(SELECT ", label!("c"), " FROM contacts c WHERE c.id = r.contact_id AND +c.deleted_at IS NULL) AS contact_name, ",
            "(SELECT ", label!("c"), " FROM companies c WHERE c.id = r.company_id AND +c.deleted_at IS NULL) AS company_name"
        )
    };
}

macro_rules! task_nulls {
    () => {
        "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
    };
}

/// One page: the window (`$scan`, at most `?5` index entries from the cursor, in order) streamed
/// into the records of `$table` behind it that pass `$filters`, one line each with its place
/// (`p`, `k`, `id`) and `$columns`, until `?6`; then a last line of `$nulls` with, when those
/// were fewer than `?6`, the window's `?5`-th entry (`[p, k, id]`; none when the index ended
/// before it), read from the index alone. The last line is always there.
macro_rules! page {
    ($scan:expr, $table:literal, $filters:expr, $columns:expr, $nulls:expr) => {
        concat!(
            "WITH f AS (SELECT ", $columns, " FROM (", $scan, ") s CROSS JOIN ", $table, " r ON r.id = s.id WHERE ", $filters, " LIMIT ?6) ",
            "SELECT *, NULL AS last FROM f UNION ALL SELECT ", $nulls, ", CASE WHEN (SELECT count(*) FROM f) < ?6 THEN ",
            "(SELECT json_array(w.p, w.k, w.id) FROM (", $scan, ") w LIMIT 1 OFFSET ?5 - 1) END"
        )
    };
}

/// A search's window: the terms of kind `$kind` in the range `[?1, ?2)`, after `(?3, ?4)`.
macro_rules! ranked_scan {
    ($kind:literal) => {
        concat!(
            "SELECT 0 AS p, t.term AS k, t.record_id AS id FROM search_terms t WHERE t.kind = '", $kind, "' ",
            "AND t.term >= ?1 AND t.term < ?2 AND (t.term, t.record_id) > (?3, ?4) ORDER BY t.term, t.record_id LIMIT ?5"
        )
    };
}

/// The list statements of one record kind: a search, and one per sort.
pub struct ListSql {
    pub ranked: &'static str,
    pub by_name: &'static str,
    pub by_last_activity: &'static str,
    pub by_updated: &'static str,
    pub by_created: &'static str,
}

macro_rules! list_sql {
    ($table:literal, $kind:literal, $col:literal) => {
        ListSql {
            ranked: page!(ranked_scan!($kind), $table, concat!(record_filters!($col), first_term!()), record_columns!(), record_nulls!()),
            // Records with a name, by name, then those without one (shown by their LinkedIn or
            // phone), by id: two ranges of the index `(deleted_at, display_name, id)`. The first
            // starts after `('', U+10FFFF)`, past every nameless record, when it starts at all.
            by_name: page!(
                concat!(
                    "SELECT * FROM (SELECT 0 AS p, display_name AS k, id FROM ", $table, " WHERE ?15 <= 0 AND deleted_at IS NULL ",
                    "AND (display_name, id) > (?3, iif(?3 = '', char(1114111), ?4)) ORDER BY display_name, id LIMIT ?5) ",
                    "UNION ALL SELECT * FROM (SELECT 1 AS p, '' AS k, id FROM ", $table, " WHERE deleted_at IS NULL AND display_name = '' ",
                    "AND id > iif(?15 = 1, ?4, '') ORDER BY id LIMIT ?5) LIMIT ?5"
                ),
                $table,
                record_filters!($col),
                record_columns!(),
                record_nulls!()
            ),
            // Records with an activity date, newest first (a range of the index, bounded below by
            // `?10`), then those without one, by id (only when no lower bound is asked for).
            by_last_activity: page!(
                concat!(
                    "SELECT * FROM (SELECT 0 AS p, last_activity_at AS k, id FROM ", $table, " WHERE ?15 <= 0 AND last_activity_at >= ?10 ",
                    "AND (last_activity_at, id) < (iif(?15 = 0, ?3, char(1114111)), iif(?15 = 0, ?4, '')) ",
                    "ORDER BY last_activity_at DESC, id DESC LIMIT ?5) ",
                    "UNION ALL SELECT * FROM (SELECT 1 AS p, '' AS k, id FROM ", $table, " WHERE ?10 = '' AND last_activity_at IS NULL ",
                    "AND id < iif(?15 = 1, ?4, char(1114111)) ORDER BY id DESC LIMIT ?5) LIMIT ?5"
                ),
                $table,
                record_filters!($col),
                record_columns!(),
                record_nulls!()
            ),
            by_updated: page!(
                concat!(
                    "SELECT 0 AS p, updated_at AS k, id FROM ", $table, " WHERE (updated_at, id) < (?3, ?4) ",
                    "ORDER BY updated_at DESC, id DESC LIMIT ?5"
                ),
                $table,
                record_filters!($col),
                record_columns!(),
                record_nulls!()
            ),
            by_created: page!(
                concat!(
                    "SELECT 0 AS p, created_at AS k, id FROM ", $table, " WHERE (created_at, id) > (?3, ?4) ",
                    "ORDER BY created_at, id LIMIT ?5"
                ),
                $table,
                record_filters!($col),
                record_columns!(),
                record_nulls!()
            ),
        }
    };
}

pub static CONTACTS: ListSql = list_sql!("contacts", "contact", "contact_id");
pub static COMPANIES: ListSql = list_sql!("companies", "company", "company_id");

/// A task search.
pub const TASKS_RANKED: &str = page!(ranked_scan!("task"), "tasks", concat!(task_filters!(), first_term!()), task_columns!(), task_nulls!());

/// One part of the task order (`$part`): live tasks of completion `$done`, with a due date in
/// `(dueAfter, dueBefore)` by due date and id, or without one (`$dated` false) by id.
macro_rules! task_part {
    ($part:literal, $done:literal, true) => {
        concat!(
            "SELECT * FROM (SELECT ", $part, " AS p, due_date AS k, id FROM tasks WHERE ?13 <= ", $part, " AND coalesce(?9, ", $done, ") = ", $done,
            " AND deleted_at IS NULL AND completed = ", $done, " AND due_date < ?11 ",
            "AND (due_date, id) > (iif(?13 = ", $part, ", ?3, coalesce(?10, '')), iif(?13 = ", $part, ", ?4, iif(?10 IS NULL, '', char(127)))) ",
            "ORDER BY due_date, id LIMIT ?5)"
        )
    };
    ($part:literal, $done:literal, false) => {
        concat!(
            "SELECT * FROM (SELECT ", $part, " AS p, '' AS k, id FROM tasks WHERE ?13 <= ", $part, " AND coalesce(?9, ", $done, ") = ", $done,
            " AND ?10 IS NULL AND ?11 = char(1114111) AND deleted_at IS NULL AND completed = ", $done, " AND due_date IS NULL ",
            "AND id > iif(?13 = ", $part, ", ?4, '') ORDER BY id LIMIT ?5)"
        )
    };
}

/// A task list: open tasks by due date, then open undated ones, then completed ones the same way
/// (each part a range of the index `(deleted_at, completed, due_date, id)`).
pub const TASKS: &str = page!(
    concat!(
        task_part!("0", "0", true), " UNION ALL ", task_part!("1", "0", false), " UNION ALL ",
        task_part!("2", "1", true), " UNION ALL ", task_part!("3", "1", false), " LIMIT ?5"
    ),
    "tasks",
    task_filters!(),
    task_columns!(),
    task_nulls!()
);

impl ListSql {
    fn all(&'static self, prefix: &str) -> Vec<(String, &'static str)> {
        [
            ("ranked", self.ranked),
            ("by_name", self.by_name),
            ("by_last_activity", self.by_last_activity),
            ("by_updated", self.by_updated),
            ("by_created", self.by_created),
        ]
        .into_iter()
        .map(|(n, s)| (format!("{prefix}.{n}"), s))
        .collect()
    }
}

/// Every statement with a name, for the preparation and plan tests.
pub fn all() -> Vec<(String, &'static str)> {
    let mut all = CONTACTS.all("list::CONTACTS");
    all.extend(COMPANIES.all("list::COMPANIES"));
    all.push(("list::TASKS_RANKED".to_string(), TASKS_RANKED));
    all.push(("list::TASKS".to_string(), TASKS));
    all
}

/// A bound value of a list statement, the same for D1 and for the SQLite tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(String),
    Int(i64),
    Null,
}

fn text(s: &str) -> Arg {
    Arg::Text(s.to_string())
}

fn opt(s: Option<&str>) -> Arg {
    s.map_or(Arg::Null, text)
}

fn flag(b: Option<bool>) -> Arg {
    b.map_or(Arg::Null, |b| Arg::Int(b as i64))
}

/// The statement of a contact or company list: its search, or its sort's.
pub fn record_statement(list: &RecordList) -> &'static str {
    let s = match list.kind {
        RecordKind::Contact => &CONTACTS,
        RecordKind::Company => &COMPANIES,
    };
    match (list.order(), list.sort) {
        (Order::Ranked, _) => s.ranked,
        (_, Sort::Name) => s.by_name,
        (_, Sort::LastActivity) => s.by_last_activity,
        (_, Sort::Updated) => s.by_updated,
        (_, Sort::Created) => s.by_created,
    }
}

/// The arguments of a contact or company list's statement, reading `window` index entries.
pub fn record_args(list: &RecordList, window: usize) -> Vec<Arg> {
    let (lo, hi) = list.term_range();
    let f = &list.filters;
    vec![
        Arg::Text(lo),
        Arg::Text(hi),
        text(&list.start.key),
        text(&list.start.id),
        Arg::Int(window as i64),
        Arg::Int(list.limit as i64 + 1),
        opt(f.owner.as_deref()),
        opt(f.tag.as_deref()),
        flag(f.has_open_task),
        text(&f.activity_from),
        text(&f.activity_to),
        text(&f.created_after),
        Arg::Text(list.properties_json()),
        Arg::Text(serde_json::json!(list.other_words()).to_string()),
        Arg::Int(i64::from(list.start.part)),
    ]
}

/// The statement of a task list.
pub fn task_statement(list: &TaskList) -> &'static str {
    match list.order() {
        Order::Ranked => TASKS_RANKED,
        _ => TASKS,
    }
}

/// The arguments of a task list's statement.
pub fn task_args(list: &TaskList, window: usize) -> Vec<Arg> {
    let (lo, hi) = list.term_range();
    vec![
        Arg::Text(lo),
        Arg::Text(hi),
        text(&list.start.key),
        text(&list.start.id),
        Arg::Int(window as i64),
        Arg::Int(list.limit as i64 + 1),
        opt(list.assignee.as_deref()),
        opt(list.assignee_key.as_deref()),
        flag(list.completed()),
        opt(list.due_after.as_deref()),
        text(&list.due_before),
        Arg::Text(serde_json::json!(list.other_words()).to_string()),
        Arg::Int(i64::from(list.start.part)),
    ]
}
