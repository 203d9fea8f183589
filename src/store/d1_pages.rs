//! Running the page statements of [`super::sql_pages`]: one statement per page (its possible
//! duplicates are read beside it, by `d1_merge`).

use wasm_bindgen::JsValue;

use super::d1::{text, Result, Store};
use super::sql_pages::{COMPANY_PAGE, CONTACT_PAGE, DASHBOARD, RECORD_LIST_LIMIT};
use crate::domain::pages::{DashboardRow, RecordRow};
use crate::domain::record::RecordKind;

fn number(n: usize) -> JsValue {
    JsValue::from_f64(n as f64)
}

impl Store {
    /// A live record with everything its page shows; `None` when it is unknown or deleted.
    pub async fn record_page(&self, kind: RecordKind, id: &str) -> Result<Option<RecordRow>> {
        let sql = match kind {
            RecordKind::Contact => CONTACT_PAGE,
            RecordKind::Company => COMPANY_PAGE,
        };
        Ok(self.rows(sql, &[text(id), number(RECORD_LIST_LIMIT)]).await?.pop())
    }

    /// The dashboard: `cursors` the last ids shown of the contacts, companies and tasks lists,
    /// `rows` per list (one more than a page shows), `recent` activities.
    pub async fn dashboard(&self, cursors: [&str; 3], rows: usize, recent: usize) -> Result<DashboardRow> {
        let args = [text(cursors[0]), text(cursors[1]), text(cursors[2]), number(rows), number(recent)];
        // One row always: the statement selects from a one-row CTE.
        Ok(self.rows::<DashboardRow>(DASHBOARD, &args).await?.pop().unwrap_or_default())
    }
}
