//! The reads behind "My work" (`GET /view/work`, API.md §9): a person's open tasks in four groups,
//! and the counts of those groups that every page's header shows. The groups are defined in
//! `domain::pages::work` (UTC): overdue `due_date < now`, due today `now <= due_date < tomorrow`,
//! upcoming `due_date >= tomorrow`, no date `due_date IS NULL`; open is
//! `deleted_at IS NULL AND completed = 0`.
//!
//! The person is the stored user whose `email_key` is `?1` (the signed-in email normalised like
//! `POST /users` normalises it). Each group and each count is one range of the partial index
//! `tasks_owner_open (owner_id, due_date, id, …)`, so a person's page costs what their own open
//! tasks cost, whatever the store holds besides, and the counts read the index alone.
//! `tests/work_sql.rs` runs the statements on SQLite with data and checks their plans and their
//! cost; `tests/schema.rs` checks they scan no big table.
//!
//! A person who is no stored user matches no task (`owner_id = NULL` is never true): their counts
//! are zero and their groups empty, and `user` is NULL.

use super::sql_pages::{label, task_json};

/// Most tasks shown per group on the page; the page says when a group was cut (its count is
/// whole).
pub const WORK_GROUP_LIMIT: usize = 100;

/// The person: `?1` the email key. A materialized CTE, read once by every part.
macro_rules! me {
    () => {
        "WITH me AS MATERIALIZED (SELECT id, name, email FROM users WHERE email_key = ?1) "
    };
}

/// The open tasks of the person in one group; `$range` bounds `due_date` (`?2` now, `?3` the
/// start of tomorrow).
macro_rules! open_tasks {
    ($range:expr) => {
        concat!("FROM tasks WHERE owner_id = (SELECT id FROM me) AND deleted_at IS NULL AND completed = 0 AND ", $range)
    };
}

// The groups' ranges of `due_date` (`?2` now, `?3` the start of tomorrow): disjoint, and together
// every dated task; `IS NULL` is the undated rest.
macro_rules! overdue {
    () => {
        "due_date < ?2"
    };
}
macro_rules! today {
    () => {
        "due_date >= ?2 AND due_date < ?3"
    };
}
macro_rules! upcoming {
    () => {
        "due_date >= ?3"
    };
}
macro_rules! undated {
    () => {
        "due_date IS NULL"
    };
}

/// The four counts as columns `overdue`, `today`, `upcoming`, `undated` (index ranges, counted
/// from the index alone).
macro_rules! counts {
    () => {
        concat!(
            "(SELECT count(*) ", open_tasks!(overdue!()), ") AS overdue, ",
            "(SELECT count(*) ", open_tasks!(today!()), ") AS today, ",
            "(SELECT count(*) ", open_tasks!(upcoming!()), ") AS upcoming, ",
            "(SELECT count(*) ", open_tasks!(undated!()), ") AS undated"
        )
    };
}

/// One group as a JSON array of tasks, at most `?4`, in `$order` (the index's own order within
/// the range, so SQLite reads no more than the limit and sorts nothing); `$t_order` is the same
/// order over the subquery `t`.
macro_rules! group {
    ($range:expr, $order:literal, $t_order:literal) => {
        concat!(
            "(SELECT json_group_array(", task_json!("t"), " ORDER BY ", $t_order, ") FROM ",
            "(SELECT * ", open_tasks!($range), " ORDER BY ", $order, " LIMIT ?4) t)"
        )
    };
}

/// "My work": `?1` the person's email key, `?2` now, `?3` the start of tomorrow (both RFC 3339 UTC
/// with milliseconds), `?4` the most tasks per group. One row always: `user` (JSON `{id, name,
/// email}`, or NULL when no user has that email), `counts` (JSON `{overdue, today, upcoming,
/// undated}`), the groups `overdue` (oldest first), `today` and `upcoming` (by due date) and
/// `undated` (by id, which is creation order) as JSON arrays of tasks, and `users` (every user,
/// `{id, name, email}` by name) for the reassign select. A team has tens of users, so they are
/// read whole.
pub const WORK_PAGE: &str = concat!(
    me!(),
    "SELECT (SELECT json_object('id', id, 'name', name, 'email', email) FROM me) AS user, ",
    "(SELECT json_object('overdue', c.overdue, 'today', c.today, 'upcoming', c.upcoming, 'undated', c.undated) FROM (SELECT ",
    counts!(),
    ") c) AS counts, ",
    group!(overdue!(), "due_date, id", "t.due_date, t.id"),
    " AS overdue, ",
    group!(today!(), "due_date, id", "t.due_date, t.id"),
    " AS today, ",
    group!(upcoming!(), "due_date, id", "t.due_date, t.id"),
    " AS upcoming, ",
    group!(undated!(), "id", "t.id"),
    " AS undated, ",
    "(SELECT json_group_array(json_object('id', u.id, 'name', u.name, 'email', u.email) ORDER BY u.name, u.id) FROM users u) AS users"
);

/// The person and their counts, for the header of every page (and, for a page's write, who the
/// person is): `?1` the email key, `?2` now, `?3` the start of tomorrow. One row always: `user`
/// (as in `WORK_PAGE`), `overdue`, `today`, `upcoming`, `undated`.
pub const WORK_COUNTS: &str = concat!(me!(), "SELECT (SELECT json_object('id', id, 'name', name, 'email', email) FROM me) AS user, ", counts!());

/// Every statement with a name, for the preparation and plan tests.
pub fn all() -> Vec<(String, &'static str)> {
    [("work_page::WORK_PAGE", WORK_PAGE), ("work_page::WORK_COUNTS", WORK_COUNTS)]
        .into_iter()
        .map(|(name, sql)| (name.to_string(), sql))
        .collect()
}
