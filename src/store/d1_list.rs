//! Running the list statements of [`super::sql_list`]: one statement per page, whose lines are
//! the page's records and, last, what its window read (see `domain::list`).

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use wasm_bindgen::JsValue;

use super::d1::{decode_record, RawRecord, Result, Store, StoreError};
use super::d1_work::TaskRow;
use super::sql_list::{self, Arg};
use crate::domain::list::{place, window_end, RecordList, TaskList, Window};
use crate::domain::record::RecordRow;

fn bind(args: Vec<Arg>) -> Vec<JsValue> {
    args.into_iter()
        .map(|a| match a {
            Arg::Text(t) => JsValue::from_str(&t),
            // D1 takes numbers, not BigInts.
            Arg::Int(n) => JsValue::from_f64(n as f64),
            Arg::Null => JsValue::NULL,
        })
        .collect()
}

/// The lines of a page: each record line typed with its place, the last line read as where a
/// full window ended.
fn window<T: DeserializeOwned>(mut lines: Vec<Map<String, Value>>) -> Result<Window<T>> {
    let bad = |what: String| StoreError::Decode(what);
    let trailer = lines.pop().ok_or_else(|| bad("a list statement answered no line".into()))?;
    let end = window_end(trailer.get("last").and_then(Value::as_str)).map_err(bad)?;
    let mut rows = Vec::with_capacity(lines.len());
    for line in lines {
        let id = line.get("id").and_then(Value::as_str).ok_or_else(|| bad("list row without an id".into()))?;
        let at = place(line.get("p").and_then(Value::as_f64).unwrap_or(0.0), line.get("k").and_then(Value::as_str), id);
        let row: T = serde_json::from_value(Value::Object(line)).map_err(|e| bad(format!("list row {}: {e}", at.id)))?;
        rows.push((at, row));
    }
    Ok(Window { rows, end })
}

impl Store {
    /// One page of a contact or company list, reading at most `window` index entries.
    pub async fn list_records(&self, list: &RecordList, window_size: usize) -> Result<Window<RecordRow>> {
        let lines: Vec<Map<String, Value>> = self.rows(sql_list::record_statement(list), &bind(sql_list::record_args(list, window_size))).await?;
        let raw: Window<RawRecord> = window(lines)?;
        let rows = raw.rows.into_iter().map(|(at, r)| Ok((at, decode_record(r)?))).collect::<Result<Vec<_>>>()?;
        Ok(Window { rows, end: raw.end })
    }

    /// One page of a task list.
    pub async fn list_tasks(&self, list: &TaskList, window_size: usize) -> Result<Window<TaskRow>> {
        self.list_task_lines(list, window_size).await
    }

    /// One page of a task list, each task read as `T` (the pages read the names of what a task
    /// is about too: `contact_name`, `company_name`).
    pub async fn list_task_lines<T: DeserializeOwned>(&self, list: &TaskList, window_size: usize) -> Result<Window<T>> {
        let lines: Vec<Map<String, Value>> = self.rows(sql_list::task_statement(list), &bind(sql_list::task_args(list, window_size))).await?;
        window(lines)
    }
}
