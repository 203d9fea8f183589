//! Running the statements of [`super::sql`] against D1. Every function runs a fixed number of
//! statements, whatever the size of the batch it is given, and counts them for the response's
//! `X-D1-Statements` header (the benchmark reads it).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wasm_bindgen::{JsCast, JsValue};
use worker::serde_wasm_bindgen;
use worker::wasm_bindgen_futures::JsFuture;
use worker::worker_sys::types::{D1DatabaseSession as SessionSys, D1Result as ResultSys};
use worker::{D1DatabaseSession, D1PreparedStatement, Env};

use super::args::ChangeArgs;
use super::sql::{self, RecordSql, REFERENCES, REFERENCES_GUARD};
use crate::domain::cost::{count, round_trip_ms, Cost, StatementMeta};
use crate::domain::error::ApiError;
use crate::domain::matching::MatchField;
use crate::domain::plan::{link_refs, CreatePlan, ExternalLink, RecordChange, UpdatePlan};
use crate::domain::record::{KeySet, LoadedRecord, RecordKind, RecordRow};
use crate::domain::refs::{Known, Named, Refs};
use crate::domain::routes::ReadFrom;
use crate::domain::sync::{Candidate, CandidateRow, Links};

/// Binding name in `wrangler.toml`.
pub const DB_BINDING: &str = "DB";

/// The largest string D1 binds (2 MB, less a margin).
pub const MAX_BOUND_BYTES: usize = 2_000_000;

/// A request's D1 session (the Sessions API): every statement of the request goes through it, so
/// its reads are sequentially consistent, and its bookmark after the last one is what the response
/// hands back as `X-D1-Bookmark`.
pub struct Store {
    db: Rc<D1DatabaseSession>,
    /// What the request's statements cost so far; shared with its [`StoreMeter`].
    spent: Rc<RefCell<Cost>>,
    /// D1 calls in flight, and since when one has been (for `Cost::d1_busy_ms`).
    in_flight: std::cell::Cell<(u32, f64)>,
    /// The `Idempotency-Key` this request claimed: every write batch marks it committed, in the
    /// batch's own transaction (see [`Store::hold_key`]).
    held_key: std::cell::RefCell<Option<String>>,
    /// The request id and the person a page's writes are made for (see [`Store::act_as`]).
    actor: std::cell::RefCell<Option<(String, String)>>,
}

/// One statement's result, read from the object D1 hands back: its rows, and its `meta` a field
/// at a time. (workers-rs decodes the whole `meta` at once, `size_after` into a 32-bit `usize` on
/// wasm32, so past 4 GiB of database it fails and every figure would read 0.)
pub(crate) struct Answer(ResultSys);

impl Answer {
    /// The statement's rows.
    pub(crate) fn rows<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        let Some(rows) = self.0.results().map_err(js_failure)? else { return Ok(Vec::new()) };
        let mut out = Vec::with_capacity(rows.length() as usize);
        for row in rows.iter() {
            out.push(serde_wasm_bindgen::from_value(row).map_err(|e| StoreError::Decode(e.to_string()))?);
        }
        Ok(out)
    }

    /// The `meta` figures named, in order, each read on its own (`None` where D1 leaves one out);
    /// the `meta` object is fetched from JavaScript once.
    fn figures<const N: usize>(&self, names: [&str; N]) -> [Option<f64>; N] {
        let meta = self.0.meta().ok();
        names.map(|name| meta.as_ref().and_then(|m| js_sys::Reflect::get(m, &JsValue::from_str(name)).ok()?.as_f64()))
    }

    /// Rows the statement changed (`meta.changes`).
    pub(crate) fn changes(&self) -> u64 {
        let [changes] = self.figures(["changes"]);
        count(changes)
    }

    /// Rows read and written, and the database's time; zero where D1 leaves a field out.
    fn meta(&self) -> StatementMeta {
        let [read, written, duration] = self.figures(["rows_read", "rows_written", "duration"]);
        StatementMeta::read(read, written, duration)
    }
}

/// A JavaScript failure of a D1 call as a store error, its text with the cause's (the cause is
/// where D1 says what SQLite refused).
fn js_failure(err: JsValue) -> StoreError {
    let text = match err.dyn_ref::<js_sys::Error>() {
        Some(e) => {
            let message = String::from(e.message());
            match e.cause().dyn_ref::<js_sys::Error>() {
                Some(cause) => format!("{message}: {}", String::from(cause.message())),
                None => message,
            }
        }
        None => err.as_string().unwrap_or_else(|| format!("{err:?}")),
    };
    StoreError::from_text(text)
}

/// A request's D1 figures, readable after its handler ran, whatever it answered (an error too).
pub struct StoreMeter {
    db: Rc<D1DatabaseSession>,
    spent: Rc<RefCell<Cost>>,
}

impl StoreMeter {
    /// Statements, rows and D1 time so far (the KV and total fields are the caller's).
    pub fn cost(&self) -> Cost {
        self.spent.borrow().clone()
    }

    /// The latest bookmark of the request's session, once it ran a statement.
    pub fn bookmark(&self) -> Option<String> {
        self.db.get_bookmark().ok().flatten()
    }
}

/// A storage failure. Its full text goes to the log; clients see `public_message`.
#[derive(Debug)]
pub enum StoreError {
    /// The binding is missing from the Worker's configuration.
    Binding(String),
    /// The tables do not exist: `schema.sql` was not applied.
    NoSchema(String),
    /// A record changed between this request's read and its write; the request may retry.
    Conflict,
    /// A bound value is over D1's limit for one string (the batch's JSON, in bytes).
    TooLarge(usize),
    /// A row the store could not read back (a column that is not the JSON it should hold).
    Decode(String),
    /// Anything else D1 reported.
    Database(String),
}

impl StoreError {
    pub(crate) fn from_d1(err: worker::Error) -> StoreError {
        StoreError::from_text(err.to_string())
    }

    fn from_text(text: String) -> StoreError {
        if text.contains("no such table") {
            StoreError::NoSchema(text)
        } else if text.contains("concurrent_write") {
            StoreError::Conflict
        } else {
            StoreError::Database(text)
        }
    }

    /// What may be said to an API client: no SQL, no internals.
    pub fn public_message(&self) -> String {
        match self {
            StoreError::Binding(_) => format!("the D1 binding {DB_BINDING} is missing from wrangler.toml"),
            StoreError::NoSchema(_) => {
                "the schema has not been applied: run `wrangler d1 execute DB --file schema.sql`".to_string()
            }
            StoreError::Conflict => "the records changed during the request; retry".to_string(),
            StoreError::TooLarge(bytes) => format!(
                "this batch holds {bytes} bytes of data; one transaction takes at most {MAX_BOUND_BYTES}: send fewer or smaller records per request"
            ),
            StoreError::Database(_) | StoreError::Decode(_) => "the database did not answer".to_string(),
        }
    }
}

/// A storage failure as the client sees it: `503` when the database is missing or unprepared,
/// `413` for a batch over D1's limit, `500` (cause logged, not sent) otherwise.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Binding(_) | StoreError::NoSchema(_) => ApiError::Unavailable(e.public_message()),
            StoreError::TooLarge(_) => ApiError::PayloadTooLarge(e.public_message()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Binding(t) | StoreError::NoSchema(t) | StoreError::Database(t) => f.write_str(t),
            StoreError::Decode(t) => write!(f, "undecodable row: {t}"),
            StoreError::Conflict => f.write_str("concurrent write"),
            StoreError::TooLarge(bytes) => write!(f, "bound value of {bytes} bytes"),
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

/// A contact or company row as D1 answers it; [`decode_record`] types it.
#[derive(Debug, Deserialize)]
pub(crate) struct RawRecord {
    pub id: String,
    pub external_id: Option<String>,
    pub fields: String,
    pub properties: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub deleted_at: Option<String>,
    #[serde(default)]
    pub associations: Option<String>,
    /// When the newest activity logged on the record happened (`lastActivityDate`).
    #[serde(default)]
    pub last_activity_at: Option<String>,
    /// Set on the tombstone of a record merged into another.
    #[serde(default)]
    pub merged_into: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct HistoryRow {
    pub id: f64,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub changed_at: String,
    pub request_id: String,
    /// The value as sent, when it was stored otherwise.
    #[serde(default)]
    pub sent_value: Option<String>,
    /// 0 on a value sent and not applied (kept out by `CREATE_MERGE` or `FIELD_POLICY`).
    #[serde(default = "applied")]
    pub applied: f64,
    /// Who made the change: a person's email, `dashboard` or `api`.
    pub actor: String,
}

fn applied() -> f64 {
    1.0
}

#[derive(Deserialize)]
struct Resolved {
    i: f64,
    id: String,
}

#[derive(Deserialize)]
struct Stamp {
    id: String,
    updated_at: String,
}

pub(crate) fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

/// A typed value bound as its JSON text (the statements read it with `json_each`).
pub(crate) fn json_arg<T: Serialize + ?Sized>(value: &T) -> JsValue {
    JsValue::from_str(&serde_json::to_string(value).expect("plain data serialises"))
}

/// A column that holds a JSON value, decoded; a row that does not is an error, never a default.
fn decode<T: DeserializeOwned>(what: &str, id: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Decode(format!("{what} of {id}: {e}")))
}

fn decode_object(what: &str, id: &str, text: &str) -> Result<Map<String, Value>> {
    decode(what, id, text)
}

pub(crate) fn decode_record(raw: RawRecord) -> Result<RecordRow> {
    let associations = match &raw.associations {
        Some(text) => Some(decode::<Vec<Value>>("associations", &raw.id, text)?),
        None => None,
    };
    Ok(RecordRow {
        fields: decode_object("fields", &raw.id, &raw.fields)?,
        properties: decode_object("properties", &raw.id, &raw.properties)?,
        associations,
        id: raw.id,
        external_id: raw.external_id,
        created_at: raw.created_at,
        updated_at: raw.updated_at,
        deleted_at: raw.deleted_at,
        last_activity_at: raw.last_activity_at,
        merged_into: raw.merged_into,
    })
}

fn decode_records(rows: Vec<RawRecord>) -> Result<Vec<RecordRow>> {
    rows.into_iter().map(decode_record).collect()
}

/// Which referenced ids exist, as D1 answers it.
#[derive(Debug, Deserialize)]
struct RawReferences {
    contacts: String,
    companies: String,
    users: f64,
    owners: String,
}

pub(crate) fn record_sql(kind: RecordKind) -> &'static RecordSql {
    match kind {
        RecordKind::Contact => &sql::CONTACTS,
        RecordKind::Company => &sql::COMPANIES,
    }
}

impl Store {
    /// A store on the primary (writes, and reads that must see the latest).
    pub fn from_env(env: &Env) -> Result<Store> {
        Store::open(env, ReadFrom::Primary)
    }

    /// A store whose first statement is answered by the primary, by any replica, or by one at
    /// least as new as a client's bookmark. Writes always go to the primary.
    pub fn open(env: &Env, from: ReadFrom) -> Result<Store> {
        let db = env.d1(DB_BINDING).map_err(|e| StoreError::Binding(e.to_string()))?;
        let session = match &from {
            ReadFrom::Primary => db.with_session(Some("first-primary")),
            ReadFrom::AnyReplica => db.with_session(Some("first-unconstrained")),
            ReadFrom::Bookmark(b) => db.with_session(Some(b)),
        };
        let db = Rc::new(session.map_err(StoreError::from_d1)?);
        Ok(Store { db, spent: Default::default(), in_flight: Default::default(), held_key: Default::default(), actor: Default::default() })
    }

    /// Statements run so far by this request.
    pub fn statements(&self) -> u32 {
        self.spent.borrow().statements
    }

    /// What this request's statements cost, readable whatever the request answers.
    pub fn meter(&self) -> StoreMeter {
        StoreMeter { db: Rc::clone(&self.db), spent: Rc::clone(&self.spent) }
    }

    /// Counts the time waited for one D1 call (started at `started`) and its statements' `meta`,
    /// and gives this isolate's measure of D1 round trips the call's (`super::isolate`).
    /// A D1 call leaves: answers its start.
    fn begin(&self) -> f64 {
        let now = js_sys::Date::now();
        let (calls, since) = self.in_flight.get();
        self.in_flight.set((calls + 1, if calls == 0 { now } else { since }));
        now
    }

    /// A D1 call came back: the time since the first call in flight counts once.
    fn end(&self) {
        let (calls, since) = self.in_flight.get();
        self.in_flight.set((calls.saturating_sub(1), since));
        if calls == 1 {
            self.spent.borrow_mut().d1_busy_ms += js_sys::Date::now() - since;
        }
    }

    fn account(&self, started: f64, results: &[Answer]) {
        self.end();
        let waited = js_sys::Date::now() - started;
        let mut sql_ms = 0.0;
        let mut spent = self.spent.borrow_mut();
        for result in results {
            let meta = result.meta();
            sql_ms += meta.sql_ms;
            spent.add(meta);
        }
        spent.d1_ms += waited;
        drop(spent);
        super::isolate::record_d1_round_trip(round_trip_ms(waited, sql_ms));
    }

    /// A failed call still took its time.
    fn account_failed(&self, started: f64) {
        self.end();
        self.spent.borrow_mut().d1_ms += js_sys::Date::now() - started;
    }

    pub(crate) fn prepare(&self, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement> {
        // D1 refuses a string over 2 MB; say so as a client error before it fails the request.
        for arg in args {
            // UTF-16 length first, so the common small case copies nothing out of JavaScript.
            let Some(units) = arg.dyn_ref::<js_sys::JsString>().map(|s| s.length() as usize) else { continue };
            if units * 3 > MAX_BOUND_BYTES {
                let bytes = arg.as_string().map_or(units, |s| s.len());
                if bytes > MAX_BOUND_BYTES {
                    return Err(StoreError::TooLarge(bytes));
                }
            }
        }
        self.spent.borrow_mut().statements += 1;
        self.db.prepare(sql).bind(args).map_err(StoreError::from_d1)
    }

    pub(crate) async fn rows<T: DeserializeOwned>(&self, sql: &str, args: &[JsValue]) -> Result<Vec<T>> {
        let statement = self.prepare(sql, args)?;
        let started = self.begin();
        let answer = match statement.inner().all() {
            Ok(promise) => JsFuture::from(promise).await,
            Err(e) => Err(e),
        };
        let answer = match answer {
            Ok(value) => Answer(value.unchecked_into()),
            Err(e) => {
                self.account_failed(started);
                return Err(js_failure(e));
            }
        };
        self.account(started, std::slice::from_ref(&answer));
        answer.rows()
    }

    /// The rows of a statement that packs them into one JSON array, in the one column `packed` of
    /// its one row: a single text crosses from D1 into the Worker, where a row object per record
    /// would each be read field by field through JavaScript.
    pub(crate) async fn packed<T: DeserializeOwned>(&self, what: &str, sql: &str, args: &[JsValue]) -> Result<Vec<T>> {
        #[derive(Deserialize)]
        struct Packed {
            packed: String,
        }
        match self.rows::<Packed>(sql, args).await?.pop() {
            Some(row) => serde_json::from_str(&row.packed).map_err(|e| StoreError::Decode(format!("{what}: {e}"))),
            None => Ok(Vec::new()),
        }
    }

    /// From now on, every write batch of this request also marks `key` committed, inside its
    /// transaction: once the request's writes are in, a retry with the key is never run again,
    /// even when the answer is lost before it is kept.
    pub fn hold_key(&self, key: &str) {
        *self.held_key.borrow_mut() = Some(key.to_string());
    }

    /// Runs statements as one transaction: all or nothing; answers each statement's result, in
    /// order. With a held `Idempotency-Key`, the transaction also marks it committed (a statement
    /// of its own, first, whose result is left out of the answer: callers read results by
    /// position).
    pub(crate) async fn batch(&self, mut statements: Vec<D1PreparedStatement>) -> Result<Vec<Answer>> {
        let mut riders = Vec::new();
        if let Some(key) = self.held_key.borrow().clone() {
            riders.push(self.prepare(sql::idempotency::COMMITTED, &[text(&key)])?);
        }
        if let Some((request_id, actor)) = self.actor.borrow().clone() {
            riders.push(self.prepare(sql::ACTOR, &[text(&request_id), text(&actor)])?);
        }
        let added = riders.len();
        statements.splice(0..0, riders);
        let started = self.begin();
        let session: &SessionSys = self.db.as_ref().unchecked_ref();
        let statements: js_sys::Array = statements.iter().map(|s| JsValue::from(s.inner().clone())).collect();
        let answers = match session.session_batch(statements) {
            Ok(promise) => JsFuture::from(promise).await,
            Err(e) => Err(e),
        };
        let mut results: Vec<Answer> = match answers.and_then(|a| a.dyn_into::<js_sys::Array>()) {
            Ok(answers) => answers.iter().map(|a| Answer(a.unchecked_into())).collect(),
            Err(e) => {
                self.account_failed(started);
                return Err(js_failure(e));
            }
        };
        self.account(started, &results);
        results.drain(..added.min(results.len()));
        Ok(results)
    }

    /// From now on, every write batch of this request also names `actor` (a person's email, or
    /// `dashboard`) as who made request `request_id`'s changes, inside its transaction: history
    /// then says who did what. API writes never call this: their actor is `api`.
    pub fn act_as(&self, request_id: &str, actor: &str) {
        *self.actor.borrow_mut() = Some((request_id.to_string(), actor.to_string()));
    }

    /// Runs a transaction whose last statement reads, and answers that statement's rows.
    pub(crate) async fn batch_then_read<T: DeserializeOwned>(&self, statements: Vec<D1PreparedStatement>) -> Result<Vec<T>> {
        let results = self.batch(statements).await?;
        results
            .last()
            .ok_or_else(|| StoreError::Database("batch returned no results".into()))?
            .rows()
    }

    /// Reaches the database and checks the schema is there.
    pub async fn check(&self) -> Result<()> {
        #[derive(Deserialize)]
        struct Version {
            #[allow(dead_code)]
            value: Option<String>,
        }
        match self.rows::<Version>(sql::HEALTH_CHECK, &[]).await?.pop() {
            Some(Version { value: Some(_) }) => Ok(()),
            _ => Err(StoreError::NoSchema("meta has no schema_version".into())),
        }
    }

    /// Which of the contacts, companies and owners `refs` name exist: one statement, none when
    /// they name nothing.
    pub async fn references<'a>(&self, refs: impl IntoIterator<Item = Refs<'a>>) -> Result<Known> {
        let named = Named::of(refs);
        if named.is_empty() {
            return Ok(Known::default());
        }
        let args = [json_arg(&named.contacts), json_arg(&named.companies), json_arg(&named.owners)];
        let row: RawReferences =
            self.rows(REFERENCES, &args).await?.pop().ok_or_else(|| StoreError::Database("references returned no row".into()))?;
        let set = |what: &str, text: &str| decode::<HashSet<String>>(what, "references", text);
        let map = |what: &str, text: &str| decode::<HashMap<String, String>>(what, "references", text);
        let (contacts, companies) = (map("contacts", &row.contacts)?, map("companies", &row.companies)?);
        let survivors = contacts.iter().chain(companies.iter()).filter(|(named, live)| named != live).map(|(n, l)| (n.clone(), l.clone())).collect();
        Ok(Known {
            contacts: contacts.into_keys().collect(),
            companies: companies.into_keys().collect(),
            survivors,
            owners: set("owners", &row.owners)?,
            users_exist: row.users > 0.0,
        })
    }

    /// Writes a create in one transaction: the reference guard, the key guard (with dedupe), the
    /// new records with their links, keys and history, and the links of matched records. Answers,
    /// for each new record with an externalId, the record that holds it now (another request may
    /// have created it meanwhile). Fails with `Conflict` when an owner or parent is gone since it
    /// was checked (see `REFERENCES_GUARD`), or a record with the new keys appeared since the
    /// candidates were read.
    pub async fn create(&self, kind: RecordKind, plan: &CreatePlan, now: &str, request_id: &str) -> Result<HashMap<String, String>> {
        let s = record_sql(kind);
        let (items, links) = (json_arg(&plan.inserts), json_arg(&plan.links));
        let mut statements = vec![self.prepare(REFERENCES_GUARD, &[json_arg(&plan.refs(kind))])?];
        if let Some(guard) = &plan.guard {
            statements.push(self.prepare(s.guard_keys, &[json_arg(&guard.anchors), json_arg(&guard.seen)])?);
        }
        let logged = |items: &JsValue| [items.clone(), text(now), text(request_id)];
        // Stored records the items matched, with what they carried merged in: written like an
        // update, refused when the record changed since it was read.
        if !plan.merges.is_empty() {
            statements.extend(self.change_statements(kind, &plan.merges, now, request_id)?);
        }
        // The values the items sent and the merges kept out: in history, as sent, not applied.
        if !plan.kept.is_empty() {
            statements.push(self.prepare(s.history_kept, &logged(&json_arg(&plan.kept)))?);
        }
        statements.extend([
            self.prepare(s.insert_new, &[items.clone(), text(now)])?,
            self.prepare(s.link_new, &[items.clone(), text(now)])?,
            self.prepare(s.keys_new, std::slice::from_ref(&items))?,
            self.prepare(s.history_new, &logged(&items))?,
            self.prepare(s.history_link, &logged(&links))?,
            self.prepare(s.link_matched, &[links.clone(), text(now)])?,
            self.prepare(s.set_external, &[links])?,
            self.prepare(s.resolve_external, &[items])?,
        ]);
        let resolved: Vec<Resolved> = self.batch_then_read(statements).await?;
        resolved
            .into_iter()
            .map(|r| {
                let planned = plan.inserts.get(r.i as usize).ok_or_else(|| StoreError::Decode(format!("resolved item {} of {}", r.i, plan.inserts.len())))?;
                Ok((planned.id.clone(), r.id))
            })
            .collect()
    }

    /// Live records by id, in no particular order (one row of one JSON array: see `sql::load`).
    pub async fn load(&self, kind: RecordKind, ids: &[String]) -> Result<Vec<RecordRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let loaded: Vec<LoadedRecord> = self.packed("load", record_sql(kind).load, &[json_arg(ids)]).await?;
        Ok(loaded.into_iter().map(RecordRow::from).collect())
    }

    /// Writes the changes of an update plan in one transaction, refusing with `Conflict` when a
    /// record changed since it was read, or a reference of `refs` is gone since it was checked;
    /// answers each written record's new `updated_at`.
    pub async fn update(&self, kind: RecordKind, plan: &UpdatePlan, refs: &[Refs<'_>], now: &str, request_id: &str) -> Result<HashMap<String, String>> {
        let s = record_sql(kind);
        let mut statements = vec![self.prepare(REFERENCES_GUARD, &[json_arg(refs)])?];
        statements.extend(self.change_statements(kind, &plan.writes, now, request_id)?);
        // The externalIds the update sent: linked, refused when another record took one since.
        if !plan.links.is_empty() {
            let links = json_arg(&plan.links);
            statements.extend([
                self.prepare(s.link_matched, &[links.clone(), text(now)])?,
                self.prepare(s.guard_links, std::slice::from_ref(&links))?,
                self.prepare(s.relink, &[links])?,
            ]);
        }
        let results = self.batch(statements).await?;
        // The two updates answer the records' new stamps (see `change_statements`).
        let mut stamps = HashMap::new();
        for at in [2, 3] {
            let rows: Vec<Stamp> = results.get(at).map(Answer::rows).transpose()?.unwrap_or_default();
            stamps.extend(rows.into_iter().map(|s| (s.id, s.updated_at)));
        }
        Ok(stamps)
    }

    /// The statements that write changed records (see [`super::args::ChangeArgs`]), always these
    /// six, in this order: the guard that they are as they were read, the update of those whose
    /// list columns changed (it answers their stamps), the update of the others (it answers
    /// theirs), the removal of the keys they no longer hold and the addition of their new ones
    /// (only for the records whose keys changed), and their history.
    fn change_statements(&self, kind: RecordKind, changes: &[RecordChange], now: &str, request_id: &str) -> Result<Vec<D1PreparedStatement>> {
        let s = record_sql(kind);
        let args = ChangeArgs::of(changes);
        let keys = text(&args.keys);
        Ok(vec![
            self.prepare(s.guard, &[text(&args.bases)])?,
            self.prepare(s.update, &[text(&args.full), text(now)])?,
            self.prepare(s.update_light, &[text(&args.light), text(now)])?,
            self.prepare(s.keys_delete, std::slice::from_ref(&keys))?,
            self.prepare(s.keys_new, std::slice::from_ref(&keys))?,
            self.prepare(s.history_changes, &[text(&args.changes), text(now), text(request_id)])?,
        ])
    }

    /// Live records by id, in the order asked.
    pub async fn by_ids(&self, kind: RecordKind, ids: &[String]) -> Result<Vec<RecordRow>> {
        decode_records(self.rows(record_sql(kind).by_ids, &[json_arg(ids)]).await?)
    }

    /// One live record with its associations.
    pub async fn one(&self, kind: RecordKind, id: &str) -> Result<Option<RecordRow>> {
        decode_records(self.rows(record_sql(kind).one, &[text(id)]).await?).map(|mut rows| rows.pop())
    }

    /// Soft-deletes a record, its links and keys, with history. Answers the keys and externalIds
    /// it held (the match cache forgets them), or `None` when it was not live.
    pub async fn delete(&self, kind: RecordKind, id: &str, now: &str, request_id: &str) -> Result<Option<(KeySet, Vec<String>)>> {
        #[derive(Deserialize)]
        struct Key {
            field: String,
            key: String,
        }
        #[derive(Deserialize)]
        struct Link {
            external_id: String,
        }
        let s = record_sql(kind);
        let statements = vec![
            self.prepare(s.history_delete, &[text(id), text(now), text(request_id)])?,
            self.prepare(s.soft_delete, &[text(id), text(now)])?,
            self.prepare(s.unlink, &[text(id)])?,
            self.prepare(s.keys_delete_one, &[text(id)])?,
        ];
        let results = self.batch(statements).await?;
        let changes = results.get(1).map_or(0, Answer::changes);
        if changes == 0 {
            return Ok(None);
        }
        let links: Vec<Link> = results.get(2).map(Answer::rows).transpose()?.unwrap_or_default();
        let keys: Vec<Key> = results.get(3).map(Answer::rows).transpose()?.unwrap_or_default();
        let keys = keys.into_iter().filter_map(|k| Some((MatchField::from_name(&k.field)?, k.key))).collect();
        Ok(Some((keys, links.into_iter().map(|l| l.external_id).collect())))
    }

    /// The change feed after `(updated_at, id)`.
    pub async fn feed(&self, kind: RecordKind, after_time: &str, after_id: &str, limit: usize) -> Result<Vec<RecordRow>> {
        let args = [text(after_time), text(after_id), JsValue::from_f64(limit as f64)];
        let rows: Vec<RawRecord> = self.rows(record_sql(kind).feed, &args).await?;
        // Tombstones carry no data: only live rows are decoded.
        rows.into_iter()
            .map(|r| match r.deleted_at {
                Some(_) => Ok(RecordRow { id: r.id, updated_at: r.updated_at, deleted_at: r.deleted_at, merged_into: r.merged_into, ..RecordRow::default() }),
                None => decode_record(r),
            })
            .collect()
    }

    /// Whether the id was ever a record of this kind.
    pub async fn exists_any(&self, kind: RecordKind, id: &str) -> Result<bool> {
        #[derive(Deserialize)]
        struct Row {
            #[allow(dead_code)]
            id: String,
        }
        Ok(!self.rows::<Row>(record_sql(kind).exists_any, &[text(id)]).await?.is_empty())
    }

    /// History of an entity, newest first, before history id `before`.
    pub async fn history(&self, id: &str, before: f64, limit: usize) -> Result<Vec<HistoryRow>> {
        self.rows(sql::HISTORY, &[text(id), JsValue::from_f64(before), JsValue::from_f64(limit as f64)]).await
    }
}

impl Store {
    /// Adds the planned links in one transaction, with history. Fails with `Conflict` when a
    /// contact or company of `refs` was deleted since it was checked (see `REFERENCES_GUARD`).
    pub async fn add_links(&self, plan: &Value, refs: &[Refs<'_>], now: &str, request_id: &str) -> Result<()> {
        use sql::links::*;
        let plan = json_arg(plan);
        let logged = [plan.clone(), text(now), text(request_id)];
        let statements = vec![
            self.prepare(REFERENCES_GUARD, &[json_arg(refs)])?,
            self.prepare(HISTORY_REPLACED, &logged)?,
            self.prepare(HISTORY_ADDED, &logged)?,
            self.prepare(DELETE_REPLACED, std::slice::from_ref(&plan))?,
            self.prepare(DEMOTE, &[plan.clone(), text(now)])?,
            self.prepare(UPSERT, &[plan, text(now)])?,
        ];
        self.batch(statements).await.map(|_| ())
    }

    /// Removes links in one transaction, with history.
    pub async fn remove_links(&self, plan: &Value, now: &str, request_id: &str) -> Result<()> {
        use sql::links::*;
        let plan = json_arg(plan);
        let statements = vec![
            self.prepare(HISTORY_REMOVED, &[plan.clone(), text(now), text(request_id)])?,
            self.prepare(REMOVE, &[plan])?,
        ];
        self.batch(statements).await.map(|_| ())
    }
}

/// A used `Idempotency-Key`, as D1 answers it.
#[derive(Debug, Deserialize)]
struct RawUsedKey {
    body_hash: String,
    status: Option<f64>,
    response: Option<String>,
}

impl Store {
    /// Claims an `Idempotency-Key` for this request: `true` when it is ours to run, `false` when
    /// the key is in use (read it with [`Store::used_key`]). One statement.
    pub async fn claim_key(&self, key: &str, route: &str, fingerprint: &str, now: &str, kept_since: &str) -> Result<bool> {
        #[derive(Deserialize)]
        struct Claimed {
            #[allow(dead_code)]
            key: String,
        }
        let args = [text(key), text(route), text(fingerprint), text(now), text(kept_since)];
        Ok(!self.rows::<Claimed>(sql::idempotency::CLAIM, &args).await?.is_empty())
    }

    pub async fn used_key(&self, key: &str) -> Result<Option<crate::domain::idempotency::UsedKey>> {
        let row: Option<RawUsedKey> = self.rows(sql::idempotency::GET, &[text(key)]).await?.pop();
        Ok(row.map(|r| crate::domain::idempotency::UsedKey {
            fingerprint: r.body_hash,
            status: r.status.map(|s| s as u16),
            response: r.response,
        }))
    }

    /// Keeps the answer of the request that claimed `key`.
    pub async fn finish_key(&self, key: &str, status: u16, body: &str) -> Result<()> {
        let args = [text(key), JsValue::from_f64(f64::from(status)), text(body)];
        self.rows::<serde_json::Value>(sql::idempotency::FINISH, &args).await.map(|_| ())
    }

    /// Gives up a claimed key, so a retry runs again.
    pub async fn release_key(&self, key: &str) -> Result<()> {
        self.rows::<serde_json::Value>(sql::idempotency::RELEASE, &[text(key)]).await.map(|_| ())
    }
}

impl Store {
    /// Every live record linked to one of `external_ids`, holding one of the `(field, key)`
    /// lookups or named in `hinted` (ids from the match cache), in one statement, with as much
    /// of its links as `links` asks.
    pub async fn candidates(
        &self,
        kind: RecordKind,
        external_ids: &[&str],
        lookups: &[(MatchField, String)],
        hinted: &[&str],
        links: Links,
    ) -> Result<Vec<Candidate>> {
        let pairs: Vec<(&str, &str)> = lookups.iter().map(|(f, k)| (f.name(), k.as_str())).collect();
        let all = JsValue::from(u32::from(links == Links::All));
        let args = [json_arg(external_ids), json_arg(&pairs), json_arg(hinted), all];
        let rows: Vec<CandidateRow> = self.packed("candidates", record_sql(kind).candidates, &args).await?;
        let sent: std::collections::HashSet<&str> = external_ids.iter().copied().collect();
        Ok(rows.into_iter().map(|row| row.candidate(kind, &sent)).collect())
    }

    /// Links matched records to the incoming externalIds, with history. Fails with `Conflict`
    /// when a linked record was deleted since it was read (see `REFERENCES_GUARD`): an externalId
    /// never names a deleted record.
    pub async fn link_external(&self, kind: RecordKind, links: &[ExternalLink], now: &str, request_id: &str) -> Result<()> {
        let s = record_sql(kind);
        let items = json_arg(links);
        let statements = vec![
            self.prepare(REFERENCES_GUARD, &[json_arg(&link_refs(kind, links))])?,
            self.prepare(s.history_link, &[items.clone(), text(now), text(request_id)])?,
            self.prepare(s.link_matched, &[items.clone(), text(now)])?,
            self.prepare(s.set_external, &[items])?,
        ];
        self.batch(statements).await.map(|_| ())
    }
}
