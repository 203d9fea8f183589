//! The reads of an import (API.md §4, Import; §9): which of a part's candidates the import itself
//! created (its earlier parts, written by earlier requests), and how far a page's import got.
//!
//! A page's import runs one part per request, each under the `Idempotency-Key`
//! `import-<id>-<part>`, and writes its history under the import's id as the request id; the
//! two statements below read those back. `tests/schema.rs` runs them on SQLite with data.

/// The records among `?1` (a JSON array of ids) that request `?2` created: those whose
/// `(created)` history row it wrote. Read by the history's record index.
pub const CREATED_BY: &str = "SELECT DISTINCT h.entity_id AS id FROM history h \
     WHERE h.entity_id IN (SELECT value FROM json_each(?1)) AND h.field = '(created)' AND h.request_id = ?2";

/// The parts of a page's import that ran: the idempotency rows of the keys `?1` (a JSON array),
/// each with its status (`NULL` while running, `0` written but not answered, else the answer's
/// status) and when it was claimed.
pub const STEPS: &str = "SELECT key, status, created_at FROM idempotency WHERE key IN (SELECT value FROM json_each(?1))";

pub fn all() -> Vec<(String, &'static str)> {
    vec![("sql_import::CREATED_BY".to_string(), CREATED_BY), ("sql_import::STEPS".to_string(), STEPS)]
}
