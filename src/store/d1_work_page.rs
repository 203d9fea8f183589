//! Running the statements of [`super::sql_work_page`]: "My work" in one statement, and the counts
//! for every page's header in another. The rows are the pure core's types
//! (`domain::pages::work`), read exactly as `tests/work_sql.rs` reads them from SQLite.

use wasm_bindgen::JsValue;

use super::d1::{text, Result, Store};
use super::sql_work_page::{WORK_COUNTS, WORK_PAGE};
use crate::domain::pages::work::{PersonRow, WorkRow};

/// An integer bound as a JavaScript number (D1 refuses a BigInt).
fn number(n: usize) -> JsValue {
    JsValue::from_f64(n as f64)
}

impl Store {
    /// The open tasks of the user whose `email_key` is `email_key`, in their four groups of at most
    /// `per_group` tasks, with the counts and every user (see `WORK_PAGE`). `now` and `tomorrow`
    /// (the start of the next UTC day) come from `domain::pages::work::day_bounds`. A person who is
    /// no user gets a row without `user`, zero counts and empty groups.
    pub async fn work_page(&self, email_key: &str, now: &str, tomorrow: &str, per_group: usize) -> Result<WorkRow> {
        let args = [text(email_key), text(now), text(tomorrow), number(per_group)];
        // One row always: the statement selects no table at its top.
        Ok(self.rows::<WorkRow>(WORK_PAGE, &args).await?.pop().unwrap_or_default())
    }

    /// The user whose `email_key` is `email_key`, if any, and the counts of their four groups,
    /// for the header of every page.
    pub async fn work_counts(&self, email_key: &str, now: &str, tomorrow: &str) -> Result<PersonRow> {
        let args = [text(email_key), text(now), text(tomorrow)];
        Ok(self.rows::<PersonRow>(WORK_COUNTS, &args).await?.pop().unwrap_or_default())
    }
}
