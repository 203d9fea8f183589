//! Lists, search and exports (API.md §4): `GET /{kind}` with list parameters and `GET /tasks`.
//! One statement per page (`store::d1_list`), decided by `domain::list`; an export streams the
//! same pages, one statement each, as CSV or NDJSON.

use serde_json::{json, Value};
use worker::{Env, Response};

use super::context::HandlerResult;
use super::{respond, tasks, Ctx};
use crate::domain::error::ApiError;
use crate::domain::export::{self, csv_header, record_columns, TASK_COLUMNS};
use crate::domain::list::{encode_cursor, page, parse_record_list, parse_task_list, Format, RecordList, TaskList, WINDOW};
use crate::domain::record::RecordKind;
use crate::domain::routes::ReadFrom;
use crate::store::d1::Store;

/// Records per page (and per statement) of an export, and the index entries one reads at most: a
/// million records take 500 statements, half the 1,000 one invocation may run on the Workers
/// Paid plan (the Free plan's 50 take 100,000).
pub const EXPORT_PAGE: usize = 2_000;
const EXPORT_WINDOW: usize = 2 * EXPORT_PAGE;

/// `GET /{kind}?q=&ownerId=&...`: a page of the list, or the whole list as a file.
pub async fn records(ctx: &Ctx<'_>, kind: RecordKind, query: &[(String, String)]) -> HandlerResult {
    let list = parse_record_list(kind, query)?;
    if list.format.is_export() {
        return export(ctx.env, list);
    }
    let (rows, next) = page(ctx.store.list_records(&list, WINDOW).await?, list.limit);
    let data: Vec<Value> = rows.iter().map(|r| r.to_wire(kind)).collect();
    respond::json(&json!({ "data": data, "nextCursor": next.map(|p| encode_cursor(list.order(), &p)) }), 200)
}

/// `GET /tasks?q=&assignee=&status=&dueBefore=&dueAfter=`.
pub async fn tasks(ctx: &Ctx<'_>, query: &[(String, String)]) -> HandlerResult {
    let list = parse_task_list(query)?;
    if list.format.is_export() {
        return export(ctx.env, list);
    }
    let (rows, next) = page(ctx.store.list_tasks(&list, WINDOW).await?, list.limit);
    let data: Vec<Value> = rows.iter().map(tasks::wire).collect();
    respond::json(&json!({ "data": data, "nextCursor": next.map(|p| encode_cursor(list.order(), &p)) }), 200)
}

/// A list an export can read page by page.
pub trait Exported: Sized + 'static {
    fn format(&self) -> Format;
    /// The file's name, without its extension.
    fn name(&self) -> &'static str;
    fn columns(&self) -> Vec<&'static str>;
    /// Reads `n` records per page from now on.
    fn read_by(&mut self, n: usize);
    /// The next page's records as the API answers them, and whether the list continues (this
    /// list then starts after them).
    async fn next_page(&mut self, store: &Store, window: usize) -> Result<(Vec<Value>, bool), ApiError>;
}

impl Exported for RecordList {
    fn format(&self) -> Format {
        self.format
    }

    fn name(&self) -> &'static str {
        self.kind.collection()
    }

    fn columns(&self) -> Vec<&'static str> {
        record_columns(self.kind)
    }

    fn read_by(&mut self, n: usize) {
        self.limit = n;
    }

    async fn next_page(&mut self, store: &Store, window: usize) -> Result<(Vec<Value>, bool), ApiError> {
        let (rows, next) = page(store.list_records(self, window).await?, self.limit);
        let more = next.is_some();
        if let Some(p) = next {
            self.start = p;
        }
        Ok((rows.iter().map(|r| r.to_wire(self.kind)).collect(), more))
    }
}

impl Exported for TaskList {
    fn format(&self) -> Format {
        self.format
    }

    fn name(&self) -> &'static str {
        "tasks"
    }

    fn columns(&self) -> Vec<&'static str> {
        TASK_COLUMNS.to_vec()
    }

    fn read_by(&mut self, n: usize) {
        self.limit = n;
    }

    async fn next_page(&mut self, store: &Store, window: usize) -> Result<(Vec<Value>, bool), ApiError> {
        let (rows, next) = page(store.list_tasks(self, window).await?, self.limit);
        let more = next.is_some();
        if let Some(p) = next {
            self.start = p;
        }
        Ok((rows.iter().map(tasks::wire).collect(), more))
    }
}

/// The whole list as a file, streamed: the header row, then a page of [`EXPORT_PAGE`] records
/// per statement, each written out before the next is read. Nothing is held but the page being
/// written, so memory stays flat however long the list; the statements read the primary (a
/// backup reads what was written). A failure after the first bytes ends the stream with an
/// error, so a client never takes a cut file for a whole one.
pub fn export<L: Exported>(env: &Env, mut list: L) -> HandlerResult {
    let store = Store::open(env, ReadFrom::Primary)?;
    let format = list.format();
    let columns = list.columns();
    let (content_type, file) = export::content(format, list.name());
    let header = (format == Format::Csv).then(|| csv_header(&columns));
    list.read_by(EXPORT_PAGE);
    let stream = futures_util::stream::unfold((store, list, header, true), move |(store, mut list, header, more)| {
        let columns = columns.clone();
        async move {
            if let Some(header) = header {
                return Some((Ok::<Vec<u8>, worker::Error>(header.into_bytes()), (store, list, None, more)));
            }
            if !more {
                return None;
            }
            let mut text = String::new();
            let mut more = true;
            // A page whose window kept nothing writes nothing: read on until something or the end.
            while text.is_empty() && more {
                match list.next_page(&store, EXPORT_WINDOW).await {
                    Ok((wires, continues)) => {
                        text = export::rows(format, &wires, &columns);
                        more = continues;
                    }
                    Err(e) => {
                        worker::console_error!("export failed: {e:?}");
                        return Some((Err(worker::Error::RustError("export failed".into())), (store, list, None, false)));
                    }
                }
            }
            Some((Ok(text.into_bytes()), (store, list, None, more)))
        }
    });
    let mut response = Response::from_stream(stream)?;
    let headers = response.headers_mut();
    headers.set("Content-Type", content_type)?;
    headers.set("Content-Disposition", &format!("attachment; filename=\"{file}\""))?;
    Ok(response)
}
