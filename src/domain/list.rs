//! Lists and search (API.md §4): `GET /{kind}?q=&ownerId=&tag=&...&sort=` and `GET
//! /tasks?q=&assignee=&status=&dueBefore=&dueAfter=`, what their query strings ask for, where a
//! page starts and where the next one does.
//!
//! A page reads one index in the order it shows, from its cursor, at most [`WINDOW`] entries:
//! - with `q`, the range of the search terms that start with the query's longest word, in term
//!   order, so exact matches come first (the word itself sorts before every longer term), then
//!   prefix matches by term; a record found by several of its terms is shown at the first;
//! - otherwise the index of the `sort` (name by default; `-updatedAt` reads the change feed's);
//!   tasks by state (open first), due date (undated last), id.
//!
//! The filters the index does not order by are checked on the records it reads; a bound on the
//! sort's own column (`createdAfter` with `sort=createdAt`, `lastActivityBefore/After` with
//! `sort=-lastActivityDate`, `dueAfter/dueBefore` for tasks) narrows the index range itself. So
//! a page costs at most a window of index entries and the records it reads, whatever the store
//! holds: a search that matches nothing reads nothing. When the filters keep few of the records
//! a window reads, the page comes back short, with a `nextCursor` that continues where the window
//! stopped; `nextCursor: null` means the list is complete.

use serde_json::{json, Value};

use super::base64;
use super::error::{ApiError, Detail};
use super::feed::parse_limit;
use super::normalize::normalize_email;
use super::record::RecordKind;
use super::search::{prefix_end, tag_term, SearchQuery};
use super::time::Timestamp;

/// Records per page when `limit` is not given, and at most.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;
/// Most index entries one page reads (see the module's documentation).
pub const WINDOW: usize = 2_000;
/// Longest cursor taken (a name-ordered cursor carries the name).
const MAX_CURSOR_CHARS: usize = 16_384;

/// Above every stored text: the start of a descending order, or "no upper bound".
pub const TOP: &str = "\u{10FFFF}";

/// The query parameters of the change feed: a request with only these is the feed.
const FEED_PARAMS: [&str; 3] = ["updatedAfter", "limit", "cursor"];

/// Whether `GET /{kind}` asks for a list or a search rather than the change feed: it names a
/// parameter of lists (`q`, a filter, `sort`, `format`). Without one it is the feed, exactly as
/// before (other unknown parameters are ignored there, as they always were).
pub fn is_list(pairs: &[(String, String)]) -> bool {
    pairs.iter().any(|(k, _)| {
        RECORD_PARAMS.contains(&k.as_str()) && !FEED_PARAMS.contains(&k.as_str()) || k.starts_with(PROPERTY_PREFIX)
    })
}

const PROPERTY_PREFIX: &str = "property.";

const RECORD_PARAMS: [&str; 11] = [
    "q", "ownerId", "tag", "hasOpenTask", "lastActivityBefore", "lastActivityAfter", "createdAfter", "sort", "format", "limit", "cursor",
];

const TASK_PARAMS: [&str; 8] = ["q", "assignee", "status", "dueBefore", "dueAfter", "format", "limit", "cursor"];

/// The order of a list of contacts or companies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// `name`: by display name, then id.
    Name,
    /// `-lastActivityDate`: newest activity first, records without one last.
    LastActivity,
    /// `-updatedAt`: most recently changed first.
    Updated,
    /// `createdAt`: oldest first.
    Created,
}

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::Name, Sort::LastActivity, Sort::Updated, Sort::Created];

    pub fn param(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::LastActivity => "-lastActivityDate",
            Sort::Updated => "-updatedAt",
            Sort::Created => "createdAt",
        }
    }

    fn parse(raw: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|s| s.param() == raw)
    }

    /// Whether the order runs from the largest key down.
    pub fn descending(self) -> bool {
        matches!(self, Sort::LastActivity | Sort::Updated)
    }

    fn tag(self) -> &'static str {
        match self {
            Sort::Name => "n",
            Sort::LastActivity => "a",
            Sort::Updated => "u",
            Sort::Created => "c",
        }
    }
}

/// What a list answers in: JSON pages, or every row as a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Ndjson,
}

impl Format {
    fn parse(raw: &str) -> Option<Format> {
        match raw {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "ndjson" => Some(Format::Ndjson),
            _ => None,
        }
    }

    pub fn is_export(self) -> bool {
        self != Format::Json
    }
}

/// A place in a list's order: the part of the order (a list read from several index ranges in
/// turn, such as records with and without an activity date), the key there, and the id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Position {
    pub part: u8,
    pub key: String,
    pub id: String,
}

impl Position {
    pub fn new(part: u8, key: impl Into<String>, id: impl Into<String>) -> Position {
        Position { part, key: key.into(), id: id.into() }
    }
}

/// What a list is ordered by, as its cursor names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// A search: by the term that found the record.
    Ranked,
    Sorted(Sort),
    /// Tasks: open before completed, by due date, undated last.
    Tasks,
}

impl Order {
    fn tag(self) -> &'static str {
        match self {
            Order::Ranked => "r",
            Order::Sorted(s) => s.tag(),
            Order::Tasks => "t",
        }
    }
}

/// The opaque cursor of the page after `position` in `order`.
pub fn encode_cursor(order: Order, position: &Position) -> String {
    let text = json!([order.tag(), position.part, position.key, position.id]).to_string();
    base64::encode(text.as_bytes(), base64::URL_SAFE, false)
}

fn decode_cursor(order: Order, cursor: &str) -> Option<Position> {
    if cursor.len() > MAX_CURSOR_CHARS {
        return None;
    }
    let bytes = base64::decode(cursor, base64::URL_SAFE)?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    let [tag, part, key, id] = value.as_array()?.as_slice() else {
        return None;
    };
    if tag.as_str()? != order.tag() {
        return None;
    }
    let part = u8::try_from(part.as_u64()?).ok().filter(|p| *p < 4)?;
    let id = id.as_str()?;
    if id.len() > 64 {
        return None;
    }
    Some(Position::new(part, key.as_str()?, id))
}

/// A filter on a core field or a custom property: the value, at the JSON path, of the record's
/// `fields` (`f`) or `properties` (`p`), compared as text (a number as written, a boolean as
/// `true`/`false`; a list matches when one of its items does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyFilter {
    pub column: &'static str,
    pub path: String,
    pub value: String,
}

/// The filters of a list of contacts or companies, as the statements bind them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFilters {
    pub owner: Option<String>,
    /// The tag's search term (`#tag`).
    pub tag: Option<String>,
    pub has_open_task: Option<bool>,
    /// `lastActivityDate` at or after this (`""`: no bound); a record without one counts as `""`.
    pub activity_from: String,
    /// `lastActivityDate` before this ([`TOP`]: no bound).
    pub activity_to: String,
    /// `createdAt` after this (`""`: no bound).
    pub created_after: String,
    pub properties: Vec<PropertyFilter>,
}

/// `GET /{kind}` as a list: what it reads, from where, how much, in what form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordList {
    pub kind: RecordKind,
    pub search: Option<SearchQuery>,
    pub filters: RecordFilters,
    pub sort: Sort,
    pub start: Position,
    pub limit: usize,
    pub format: Format,
}

impl RecordList {
    pub fn order(&self) -> Order {
        match self.search {
            Some(_) => Order::Ranked,
            None => Order::Sorted(self.sort),
        }
    }

    /// The index range of a search: the terms that start with the driving word.
    pub fn term_range(&self) -> (String, String) {
        match &self.search {
            Some(q) => (q.driving().to_string(), prefix_end(q.driving())),
            None => (String::new(), String::new()),
        }
    }

    /// The words checked on each record found (all but the driving one).
    pub fn other_words(&self) -> Vec<&str> {
        self.search.as_ref().map(SearchQuery::others).unwrap_or_default()
    }

    /// The filters as the statements' JSON (`[[column, path, value]]`).
    pub fn properties_json(&self) -> String {
        let items: Vec<Value> = self.filters.properties.iter().map(|p| json!([p.column, p.path, p.value])).collect();
        Value::Array(items).to_string()
    }
}

/// Which completion a task list keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    Open,
    Completed,
}

/// `GET /tasks` as a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskList {
    pub search: Option<SearchQuery>,
    /// A user id, or an e-mail naming one.
    pub assignee: Option<String>,
    /// The assignee's e-mail as users are keyed by it, when it is one.
    pub assignee_key: Option<String>,
    pub status: Option<TaskStatus>,
    /// `dueDate` after this, and before that ([`TOP`]: no bound).
    pub due_after: Option<String>,
    pub due_before: String,
    pub start: Position,
    pub limit: usize,
    pub format: Format,
}

impl TaskList {
    pub fn order(&self) -> Order {
        match self.search {
            Some(_) => Order::Ranked,
            None => Order::Tasks,
        }
    }

    pub fn term_range(&self) -> (String, String) {
        match &self.search {
            Some(q) => (q.driving().to_string(), prefix_end(q.driving())),
            None => (String::new(), String::new()),
        }
    }

    pub fn other_words(&self) -> Vec<&str> {
        self.search.as_ref().map(SearchQuery::others).unwrap_or_default()
    }

    /// The status as the statements bind it: completed `0` or `1`, or none.
    pub fn completed(&self) -> Option<bool> {
        self.status.map(|s| s == TaskStatus::Completed)
    }
}

fn bad(name: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(format!("invalid query parameter {name}"), vec![Detail::new(name, message)])
}

/// The query's pairs as (name, value), the last of a repeated name winning, with an unknown
/// name refused.
struct Params<'a> {
    pairs: &'a [(String, String)],
}

impl<'a> Params<'a> {
    fn check(pairs: &'a [(String, String)], known: &[&str], properties: bool) -> Result<Params<'a>, ApiError> {
        for (name, _) in pairs {
            let ok = known.contains(&name.as_str()) || (properties && name.starts_with(PROPERTY_PREFIX));
            if !ok {
                let hint = if name == "updatedAfter" {
                    "updatedAfter belongs to the change feed (GET without list parameters); a list filters with createdAfter or lastActivityAfter".to_string()
                } else {
                    format!("is not a filter of this list; known: {}", known.join(", "))
                };
                return Err(bad(name, hint));
            }
        }
        Ok(Params { pairs })
    }

    /// The value of `name` (trimmed, the last one given), `None` when absent or empty.
    fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    fn time(&self, name: &str) -> Result<Option<String>, ApiError> {
        self.get(name).map(|raw| parse_time(name, raw)).transpose()
    }

    fn format(&self) -> Result<Format, ApiError> {
        match self.get("format") {
            None => Ok(Format::Json),
            Some(raw) => Format::parse(raw).ok_or_else(|| bad("format", format!("expected csv, ndjson or json, got {raw:?}"))),
        }
    }

    fn search(&self) -> Option<SearchQuery> {
        self.get("q").and_then(SearchQuery::parse)
    }
}

/// A timestamp filter: RFC 3339, or a date alone (`2024-01-20`, the start of that day in UTC).
fn parse_time(name: &str, raw: &str) -> Result<String, ApiError> {
    let text = if raw.len() == 10 { format!("{raw}T00:00:00Z") } else { raw.to_string() };
    Timestamp::parse(&text)
        .map(|t| t.to_rfc3339())
        .map_err(|e| bad(name, format!("{e}, or a date such as 2024-01-20; got {raw:?}")))
}

fn parse_bool(name: &str, raw: &str) -> Result<bool, ApiError> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(name, format!("expected true or false, got {raw:?}"))),
    }
}

/// `property.<name>=<value>`: a custom property, or a core field of the kind by its name.
fn property_filter(kind: RecordKind, param: &str, value: &str) -> Result<PropertyFilter, ApiError> {
    let name = &param[PROPERTY_PREFIX.len()..];
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
        return Err(bad(param, "expected property.<name> with a field name of 1 to 100 characters, without quotes or backslashes"));
    }
    let column = if kind.is_core(name) { "f" } else { "p" };
    Ok(PropertyFilter { column, path: format!("$.\"{name}\""), value: value.to_string() })
}

fn start_of(order: Order, cursor: Option<&str>) -> Result<Option<Position>, ApiError> {
    cursor.map(|c| decode_cursor(order, c).ok_or_else(|| bad("cursor", "is not a cursor this list returned (a cursor belongs to its q and sort)"))).transpose()
}

/// `GET /{kind}` with list parameters.
pub fn parse_record_list(kind: RecordKind, pairs: &[(String, String)]) -> Result<RecordList, ApiError> {
    let p = Params::check(pairs, &RECORD_PARAMS, true)?;
    let search = p.search();
    let sort = match p.get("sort") {
        None => None,
        Some(raw) => Some(Sort::parse(raw).ok_or_else(|| {
            let known: Vec<&str> = Sort::ALL.iter().map(|s| s.param()).collect();
            bad("sort", format!("expected one of {}, got {raw:?}", known.join(", ")))
        })?),
    };
    if search.is_some() && sort.is_some() {
        return Err(bad("sort", "a search (q) is ordered by how well each record matches (exact before prefix); sort orders a list without q"));
    }
    let sort = sort.unwrap_or(Sort::Name);
    let has_open_task = p.get("hasOpenTask").map(|raw| parse_bool("hasOpenTask", raw)).transpose()?;
    let tag = match p.get("tag") {
        None => None,
        Some(raw) => Some(tag_term(raw).ok_or_else(|| bad("tag", "a tag needs a letter or a digit"))?),
    };
    let owner = p.get("ownerId").map(str::to_string);
    if owner.as_ref().is_some_and(|o| o.chars().count() > 100) {
        return Err(bad("ownerId", "expected a user id of at most 100 characters"));
    }
    let mut properties = Vec::new();
    for (name, value) in pairs.iter().filter(|(k, _)| k.starts_with(PROPERTY_PREFIX)) {
        properties.retain(|f: &PropertyFilter| f.path != format!("$.\"{}\"", &name[PROPERTY_PREFIX.len()..]));
        properties.push(property_filter(kind, name, value.trim())?);
    }
    if properties.len() > 10 {
        return Err(bad("property", "at most 10 property filters"));
    }
    let filters = RecordFilters {
        owner,
        tag,
        has_open_task,
        activity_from: p.time("lastActivityAfter")?.map(|t| format!("{t}\u{1}")).unwrap_or_default(),
        activity_to: p.time("lastActivityBefore")?.unwrap_or_else(|| TOP.to_string()),
        created_after: p.time("createdAfter")?.unwrap_or_default(),
        properties,
    };
    let format = p.format()?;
    let limit = parse_limit(pairs, DEFAULT_LIMIT, MAX_LIMIT)?;
    let order = match search {
        Some(_) => Order::Ranked,
        None => Order::Sorted(sort),
    };
    let cursor = start_of(order, p.get("cursor"))?;
    let mut list = RecordList { kind, search, filters, sort, start: Position::default(), limit, format };
    list.start = record_start(&list, cursor);
    Ok(list)
}

/// Where a list of records starts: after its cursor, and inside the range a bound on the sort's
/// own column allows.
fn record_start(list: &RecordList, cursor: Option<Position>) -> Position {
    if let Some(q) = &list.search {
        return cursor.unwrap_or_else(|| Position::new(0, q.driving(), ""));
    }
    let f = &list.filters;
    match list.sort {
        Sort::Name => cursor.unwrap_or_default(),
        Sort::Created => {
            // After `createdAfter` itself: every id sorts below U+007F.
            let bound = Position::new(0, f.created_after.clone(), if f.created_after.is_empty() { "" } else { "\u{7f}" });
            match cursor {
                Some(c) if (c.key.as_str(), c.id.as_str()) > (bound.key.as_str(), bound.id.as_str()) => c,
                _ => bound,
            }
        }
        Sort::Updated => cursor.unwrap_or_else(|| Position::new(0, TOP, "")),
        Sort::LastActivity => {
            let bound = Position::new(0, f.activity_to.clone(), "");
            match cursor {
                Some(c) if c.part > 0 || (c.key.as_str(), c.id.as_str()) < (bound.key.as_str(), "") => c,
                _ => bound,
            }
        }
    }
}

/// `GET /tasks`.
pub fn parse_task_list(pairs: &[(String, String)]) -> Result<TaskList, ApiError> {
    let p = Params::check(pairs, &TASK_PARAMS, false)?;
    let search = p.search();
    let status = match p.get("status") {
        None => None,
        Some("open") => Some(TaskStatus::Open),
        Some("completed") => Some(TaskStatus::Completed),
        Some(raw) => return Err(bad("status", format!("expected open or completed, got {raw:?}"))),
    };
    let assignee = p.get("assignee").map(str::to_string);
    if assignee.as_ref().is_some_and(|a| a.chars().count() > 320) {
        return Err(bad("assignee", "expected a user id or an e-mail"));
    }
    let assignee_key = assignee.as_deref().filter(|a| a.contains('@')).and_then(normalize_email);
    let due_after = p.time("dueAfter")?;
    let due_before = p.time("dueBefore")?.unwrap_or_else(|| TOP.to_string());
    let format = p.format()?;
    let limit = parse_limit(pairs, DEFAULT_LIMIT, MAX_LIMIT)?;
    let order = if search.is_some() { Order::Ranked } else { Order::Tasks };
    let cursor = start_of(order, p.get("cursor"))?;
    let mut list = TaskList { search, assignee, assignee_key, status, due_after, due_before, start: Position::default(), limit, format };
    list.start = task_start(&list, cursor);
    Ok(list)
}

/// The parts of the task order: open with a due date, open without, completed with, completed
/// without.
fn task_start(list: &TaskList, cursor: Option<Position>) -> Position {
    if let Some(q) = &list.search {
        return cursor.unwrap_or_else(|| Position::new(0, q.driving(), ""));
    }
    let first_part = if list.status == Some(TaskStatus::Completed) { 2 } else { 0 };
    let bound = match &list.due_after {
        Some(after) => Position::new(first_part, after.clone(), "\u{7f}"),
        None => Position::new(first_part, "", ""),
    };
    match cursor {
        Some(c) if (c.part, c.key.as_str(), c.id.as_str()) > (bound.part, bound.key.as_str(), bound.id.as_str()) => c,
        _ => bound,
    }
}

/// What one page read: the rows it keeps (each with its place in the order), and, when the
/// window was read to its end (the filters kept too few to fill the page), its last entry.
#[derive(Debug)]
pub struct Window<T> {
    pub rows: Vec<(Position, T)>,
    pub end: Option<Position>,
}

/// A row's place in the order, as a list statement answers it (`p`, `k`, `id`).
pub fn place(p: f64, k: Option<&str>, id: &str) -> Position {
    Position::new(p.clamp(0.0, 3.0) as u8, k.unwrap_or(""), id)
}

/// The window's last entry as the statement's last line holds it (`[p, k, id]`), when the window
/// was full.
pub fn window_end(last: Option<&str>) -> Result<Option<Position>, String> {
    let Some(text) = last else { return Ok(None) };
    let value: Value = serde_json::from_str(text).map_err(|e| format!("list window end: {e}"))?;
    match value.as_array().map(Vec::as_slice) {
        Some([p, k, id]) => Ok(Some(place(p.as_f64().ok_or("list window end")?, k.as_str(), id.as_str().ok_or("list window end")?))),
        _ => Err(format!("list window end: {text}")),
    }
}

/// A page: at most `limit` rows, and where the next page starts (`None`: the list is complete).
/// The statement reads one row more than `limit` to know that another follows; a full window
/// that kept fewer continues from its last entry.
pub fn page<T>(window: Window<T>, limit: usize) -> (Vec<T>, Option<Position>) {
    let Window { mut rows, end } = window;
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(|(p, _)| p.clone());
        return (rows.into_iter().map(|(_, r)| r).collect(), next);
    }
    (rows.into_iter().map(|(_, r)| r).collect(), end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn records(list: &[(&str, &str)]) -> Result<RecordList, ApiError> {
        parse_record_list(RecordKind::Company, &pairs(list))
    }

    fn bad_param(err: ApiError) -> String {
        assert_eq!(err.status(), 400);
        err.body("r")["details"][0]["path"].as_str().unwrap().to_string()
    }

    #[test]
    fn a_list_is_told_from_the_feed_by_its_parameters() {
        assert!(!is_list(&[]));
        assert!(!is_list(&pairs(&[("updatedAfter", "2024-01-01T00:00:00Z"), ("limit", "5"), ("cursor", "x")])));
        assert!(!is_list(&pairs(&[("unknown", "1")])), "the feed ignores what it does not know, as before");
        for name in ["q", "ownerId", "tag", "hasOpenTask", "lastActivityBefore", "lastActivityAfter", "createdAfter", "sort", "format", "property.tier"] {
            assert!(is_list(&pairs(&[(name, "x")])), "{name}");
        }
    }

    #[test]
    fn defaults_are_name_order_from_the_start() {
        let l = records(&[("sort", "name")]).unwrap();
        assert_eq!((l.sort, l.limit, l.format, l.search.clone()), (Sort::Name, DEFAULT_LIMIT, Format::Json, None));
        assert_eq!(l.start, Position::default());
        assert_eq!(l.order(), Order::Sorted(Sort::Name));
        assert_eq!(l.filters.activity_from, "");
        assert_eq!(l.filters.activity_to, TOP);
        assert_eq!(l.properties_json(), "[]");
    }

    #[test]
    fn a_search_starts_at_its_longest_word() {
        let l = records(&[("q", "Ana Núñez")]).unwrap();
        assert_eq!(l.order(), Order::Ranked);
        assert_eq!(l.start, Position::new(0, "nunez", ""));
        assert_eq!(l.term_range(), ("nunez".into(), format!("nunez{TOP}")));
        assert_eq!(l.other_words(), vec!["ana"]);
        // A blank query is no search.
        assert_eq!(records(&[("q", "  ")]).unwrap().search, None);
    }

    #[test]
    fn every_filter_is_read() {
        let l = records(&[
            ("ownerId", "us_1"),
            ("tag", "Key Account"),
            ("hasOpenTask", "false"),
            ("lastActivityBefore", "2024-02-01"),
            ("lastActivityAfter", "2024-01-01T00:00:00+01:00"),
            ("createdAfter", "2023-06-01T00:00:00Z"),
            ("property.tier", "gold"),
            ("property.industry", "Software"),
            ("format", "csv"),
            ("limit", "10"),
        ])
        .unwrap();
        let f = &l.filters;
        assert_eq!(f.owner.as_deref(), Some("us_1"));
        assert_eq!(f.tag.as_deref(), Some("#key-account"));
        assert_eq!(f.has_open_task, Some(false));
        assert_eq!(f.activity_to, "2024-02-01T00:00:00.000Z");
        assert_eq!(f.activity_from, "2023-12-31T23:00:00.000Z\u{1}");
        assert_eq!(f.created_after, "2023-06-01T00:00:00.000Z");
        assert_eq!(l.properties_json(), r#"[["p","$.\"tier\"","gold"],["f","$.\"industry\"","Software"]]"#);
        assert_eq!((l.format, l.limit), (Format::Csv, 10));
    }

    #[test]
    fn a_bad_filter_is_named() {
        for (name, value) in [
            ("sort", "size"),
            ("hasOpenTask", "yes"),
            ("lastActivityBefore", "last week"),
            ("lastActivityAfter", "2024-13-01"),
            ("createdAfter", "x"),
            ("format", "xlsx"),
            ("limit", "0"),
            ("cursor", "nope"),
            ("tag", "!!"),
            ("property.", "x"),
            ("property.a\"b", "x"),
            ("colour", "red"),
        ] {
            assert_eq!(bad_param(records(&[(name, value)]).unwrap_err()), name, "{name}={value}");
        }
        assert_eq!(bad_param(records(&[("q", "x"), ("updatedAfter", "2024-01-01T00:00:00Z")]).unwrap_err()), "updatedAfter");
        assert_eq!(bad_param(records(&[("q", "acme"), ("sort", "name")]).unwrap_err()), "sort");
    }

    #[test]
    fn cursors_round_trip_and_belong_to_their_order() {
        let p = Position::new(1, "Zoë \"x\"", "co_9");
        let c = encode_cursor(Order::Sorted(Sort::LastActivity), &p);
        assert!(c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let l = records(&[("sort", "-lastActivityDate"), ("cursor", &c)]).unwrap();
        assert_eq!(l.start, p);
        assert_eq!(bad_param(records(&[("sort", "name"), ("cursor", &c)]).unwrap_err()), "cursor");
        assert_eq!(bad_param(records(&[("q", "x"), ("cursor", &c)]).unwrap_err()), "cursor");
        let ranked = encode_cursor(Order::Ranked, &Position::new(0, "acme.com", "co_1"));
        assert_eq!(records(&[("q", "acme"), ("cursor", &ranked)]).unwrap().start, Position::new(0, "acme.com", "co_1"));
    }

    #[test]
    fn a_bound_on_the_sort_column_moves_the_start() {
        let l = records(&[("sort", "createdAt"), ("createdAfter", "2024-01-01")]).unwrap();
        assert_eq!(l.start, Position::new(0, "2024-01-01T00:00:00.000Z", "\u{7f}"));
        // A cursor past the bound wins; one before it does not.
        let later = encode_cursor(Order::Sorted(Sort::Created), &Position::new(0, "2024-05-01T00:00:00.000Z", "co_1"));
        let earlier = encode_cursor(Order::Sorted(Sort::Created), &Position::new(0, "2023-05-01T00:00:00.000Z", "co_1"));
        assert_eq!(records(&[("sort", "createdAt"), ("createdAfter", "2024-01-01"), ("cursor", &later)]).unwrap().start.key, "2024-05-01T00:00:00.000Z");
        assert_eq!(records(&[("sort", "createdAt"), ("createdAfter", "2024-01-01"), ("cursor", &earlier)]).unwrap().start.key, "2024-01-01T00:00:00.000Z");
        let l = records(&[("sort", "-lastActivityDate"), ("lastActivityBefore", "2024-01-01")]).unwrap();
        assert_eq!(l.start, Position::new(0, "2024-01-01T00:00:00.000Z", ""));
        assert_eq!(records(&[("sort", "-lastActivityDate")]).unwrap().start, Position::new(0, TOP, ""));
        assert_eq!(records(&[("sort", "-updatedAt")]).unwrap().start, Position::new(0, TOP, ""));
    }

    #[test]
    fn task_lists_read_their_filters() {
        let l = parse_task_list(&pairs(&[("assignee", "Ana@Example.com"), ("status", "completed"), ("dueAfter", "2024-01-01"), ("dueBefore", "2024-02-01")])).unwrap();
        assert_eq!(l.assignee_key.as_deref(), Some("ana@example.com"));
        assert_eq!(l.completed(), Some(true));
        assert_eq!(l.start, Position::new(2, "2024-01-01T00:00:00.000Z", "\u{7f}"));
        assert_eq!(l.due_before, "2024-02-01T00:00:00.000Z");
        let l = parse_task_list(&pairs(&[("assignee", "us_1")])).unwrap();
        assert_eq!((l.assignee.as_deref(), l.assignee_key.as_deref(), l.completed()), (Some("us_1"), None, None));
        assert_eq!(l.start, Position::new(0, "", ""));
        assert_eq!(l.order(), Order::Tasks);
        for (name, value) in [("status", "done"), ("dueBefore", "soon"), ("owner", "x"), ("sort", "name"), ("cursor", "x")] {
            assert_eq!(bad_param(parse_task_list(&pairs(&[(name, value)])).unwrap_err()), name, "{name}");
        }
        let l = parse_task_list(&pairs(&[("q", "call ana")])).unwrap();
        assert_eq!(l.start, Position::new(0, "call", ""));
    }

    #[test]
    fn a_page_continues_after_its_last_row_or_its_window() {
        let rows = |n: usize| (0..n).map(|i| (Position::new(0, format!("k{i}"), format!("id{i}")), i)).collect::<Vec<_>>();
        let end = Some(Position::new(0, "end", "x"));
        // More rows than the page: the next page starts after the last one shown.
        let (shown, next) = page(Window { rows: rows(4), end: end.clone() }, 3);
        assert_eq!((shown, next), (vec![0, 1, 2], Some(Position::new(0, "k2", "id2"))));
        // A full window that kept few: continue after the window.
        let (shown, next) = page(Window { rows: rows(1), end: end.clone() }, 3);
        assert_eq!((shown, next), (vec![0], end.clone()));
        // The index ran out: the list is complete.
        let (shown, next) = page(Window { rows: rows(2), end: None }, 3);
        assert_eq!((shown, next), (vec![0, 1], None));
        let (shown, next) = page::<usize>(Window { rows: Vec::new(), end: None }, 3);
        assert!(shown.is_empty() && next.is_none());
    }
}
