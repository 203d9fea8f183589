//! Running the statements of [`super::sql`] against D1. Every function runs a fixed number of
//! statements, whatever the size of the batch it is given, and counts them for the response's
//! `X-D1-Statements` header (the benchmark reads it).

use std::cell::Cell;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use worker::{D1Database, D1PreparedStatement, Env};

use super::sql::{self, RecordSql, REFERENCES_GUARD};
use crate::domain::record::RecordKind;

/// Binding name in `wrangler.toml`.
pub const DB_BINDING: &str = "DB";

/// The largest string D1 binds (2 MB, less a margin).
pub const MAX_BOUND_BYTES: usize = 2_000_000;

pub struct Store {
    db: D1Database,
    statements: Cell<u32>,
    /// Milliseconds spent waiting for D1, for the `Server-Timing` header.
    waited: Cell<f64>,
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
    /// Anything else D1 reported.
    Database(String),
}

impl StoreError {
    pub(crate) fn from_d1(err: worker::Error) -> StoreError {
        let text = err.to_string();
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
            StoreError::Database(_) => "the database did not answer".to_string(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Binding(t) | StoreError::NoSchema(t) | StoreError::Database(t) => f.write_str(t),
            StoreError::Conflict => f.write_str("concurrent write"),
            StoreError::TooLarge(bytes) => write!(f, "bound value of {bytes} bytes"),
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

/// A contact or company row.
#[derive(Debug, Deserialize)]
pub struct RecordRow {
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
}

/// What a create writes, each part a JSON array.
pub struct NewRecords<'a> {
    /// The new records (see `RecordSql::insert_new`).
    pub items: &'a str,
    /// Matched records to link to their incoming externalId: `[{id, externalId}]`.
    pub links: &'a str,
    /// The owners and parents the batch names: `[{owner, company}]`.
    pub refs: &'a str,
    /// The anchor keys and the ids of the candidates seen, when dedupe is on.
    pub guard: Option<(&'a str, &'a str)>,
}

#[derive(Debug, Deserialize)]
pub struct HistoryRow {
    pub id: f64,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub changed_at: String,
    pub request_id: String,
}

/// Which referenced ids exist.
#[derive(Debug, Deserialize)]
pub struct References {
    pub users: f64,
    pub owners: String,
    pub parents: String,
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

fn record_sql(kind: RecordKind) -> &'static RecordSql {
    match kind {
        RecordKind::Contact => &sql::CONTACTS,
        RecordKind::Company => &sql::COMPANIES,
    }
}

impl Store {
    pub fn from_env(env: &Env) -> Result<Store> {
        env.d1(DB_BINDING)
            .map(|db| Store { db, statements: Cell::new(0), waited: Cell::new(0.0) })
            .map_err(|e| StoreError::Binding(e.to_string()))
    }

    /// Statements run so far by this request.
    pub fn statements(&self) -> u32 {
        self.statements.get()
    }

    /// Milliseconds this request spent waiting for D1 so far.
    pub fn waited_ms(&self) -> f64 {
        self.waited.get()
    }

    fn timed<T>(&self, started: f64, value: T) -> T {
        self.waited.set(self.waited.get() + (js_sys::Date::now() - started));
        value
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
        self.statements.set(self.statements.get() + 1);
        self.db.prepare(sql).bind(args).map_err(StoreError::from_d1)
    }

    pub(crate) async fn rows<T: DeserializeOwned>(&self, sql: &str, args: &[JsValue]) -> Result<Vec<T>> {
        let statement = self.prepare(sql, args)?;
        let started = js_sys::Date::now();
        let result = self.timed(started, statement.all().await).map_err(StoreError::from_d1)?;
        result.results::<T>().map_err(StoreError::from_d1)
    }

    /// Runs statements as one transaction: all or nothing.
    pub(crate) async fn batch(&self, statements: Vec<D1PreparedStatement>) -> Result<Vec<worker::D1Result>> {
        let started = js_sys::Date::now();
        self.timed(started, self.db.batch(statements).await).map_err(StoreError::from_d1)
    }

    /// Runs a transaction whose last statement reads, and answers that statement's rows.
    pub(crate) async fn batch_then_read<T: DeserializeOwned>(&self, statements: Vec<D1PreparedStatement>) -> Result<Vec<T>> {
        let results = self.batch(statements).await?;
        results
            .last()
            .ok_or_else(|| StoreError::Database("batch returned no results".into()))?
            .results()
            .map_err(StoreError::from_d1)
    }

    /// Reaches the database and checks the schema is there.
    pub async fn check(&self) -> Result<()> {
        let version: Option<String> =
            self.prepare(sql::HEALTH_CHECK, &[])?.first(Some("value")).await.map_err(StoreError::from_d1)?;
        match version {
            Some(_) => Ok(()),
            None => Err(StoreError::NoSchema("meta has no schema_version".into())),
        }
    }

    /// Which of the owner ids and parent company ids exist (JSON arrays in the answer).
    pub async fn references(&self, kind: RecordKind, owner_ids: &str, parent_ids: &str) -> Result<References> {
        let mut rows: Vec<References> =
            self.rows(record_sql(kind).references, &[text(owner_ids), text(parent_ids)]).await?;
        rows.pop().ok_or_else(|| StoreError::Database("references returned no row".into()))
    }

    /// Writes a create (see [`NewRecords`]) in one transaction and answers, for each item with an
    /// externalId, the id of the record it names now. The transaction fails with `Conflict` when
    /// an owner or parent of `refs` is gone since it was checked (see `REFERENCES_GUARD`), and
    /// with `guard` when a record with those keys appeared since the candidates were read.
    pub async fn create(&self, kind: RecordKind, batch: NewRecords<'_>, now: &str, request_id: &str) -> Result<Vec<(usize, String)>> {
        let s = record_sql(kind);
        let NewRecords { items, links, refs, guard } = batch;
        let mut statements = vec![self.prepare(REFERENCES_GUARD, &[text(refs)])?];
        if let Some((anchors, seen)) = guard {
            statements.push(self.prepare(s.guard_keys, &[text(anchors), text(seen)])?);
        }
        statements.extend([
            self.prepare(s.insert_new, &[text(items), text(now)])?,
            self.prepare(s.link_new, &[text(items), text(now)])?,
            self.prepare(s.keys_new, &[text(items)])?,
            self.prepare(s.history_new, &[text(items), text(now), text(request_id)])?,
            self.prepare(s.history_link, &[text(links), text(now), text(request_id)])?,
            self.prepare(s.link_matched, &[text(links), text(now)])?,
            self.prepare(s.set_external, &[text(links)])?,
            self.prepare(s.resolve_external, &[text(items)])?,
        ]);
        let resolved: Vec<Resolved> = self.batch_then_read(statements).await?;
        Ok(resolved.into_iter().map(|r| (r.i as usize, r.id)).collect())
    }

    /// Live records by id (`ids` a JSON array), in no particular order.
    pub async fn load(&self, kind: RecordKind, ids: &str) -> Result<Vec<RecordRow>> {
        self.rows(record_sql(kind).load, &[text(ids)]).await
    }

    /// Writes updates (JSON, see `RecordSql::update`) in one transaction, refusing with
    /// `Conflict` when any record changed since it was read, or an owner or parent of `refs` is
    /// gone since it was checked; answers each record's new `updated_at`.
    pub async fn update(&self, kind: RecordKind, items: &str, refs: &str, now: &str, request_id: &str) -> Result<Vec<(String, String)>> {
        let s = record_sql(kind);
        let statements = vec![
            self.prepare(REFERENCES_GUARD, &[text(refs)])?,
            self.prepare(s.guard, &[text(items)])?,
            self.prepare(s.update, &[text(items), text(now)])?,
            self.prepare(s.keys_delete, &[text(items)])?,
            self.prepare(s.keys_new, &[text(items)])?,
            self.prepare(s.history_changes, &[text(items), text(now), text(request_id)])?,
            self.prepare(s.stamps, &[text(items)])?,
        ];
        let stamps: Vec<Stamp> = self.batch_then_read(statements).await?;
        Ok(stamps.into_iter().map(|s| (s.id, s.updated_at)).collect())
    }

    /// Live records by id (`ids` a JSON array), in the order asked.
    pub async fn by_ids(&self, kind: RecordKind, ids: &str) -> Result<Vec<RecordRow>> {
        self.rows(record_sql(kind).by_ids, &[text(ids)]).await
    }

    /// One live record with its associations.
    pub async fn one(&self, kind: RecordKind, id: &str) -> Result<Option<RecordRow>> {
        Ok(self.rows(record_sql(kind).one, &[text(id)]).await?.pop())
    }

    /// Soft-deletes a record, its links and keys, with history; `false` when it was not live.
    pub async fn delete(&self, kind: RecordKind, id: &str, now: &str, request_id: &str) -> Result<bool> {
        let s = record_sql(kind);
        let statements = vec![
            self.prepare(s.history_delete, &[text(id), text(now), text(request_id)])?,
            self.prepare(s.soft_delete, &[text(id), text(now)])?,
            self.prepare(s.unlink, &[text(id)])?,
            self.prepare(s.keys_delete_one, &[text(id)])?,
        ];
        let results = self.batch(statements).await?;
        let changes = results
            .get(1)
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0);
        Ok(changes > 0)
    }

    /// The change feed after `(updated_at, id)`.
    pub async fn feed(&self, kind: RecordKind, after_time: &str, after_id: &str, limit: usize) -> Result<Vec<RecordRow>> {
        self.rows(record_sql(kind).feed, &[text(after_time), text(after_id), JsValue::from_f64(limit as f64)]).await
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

/// Which ids of a link batch name live records (JSON arrays).
#[derive(Debug, Deserialize)]
pub struct LinkTargets {
    pub contacts: String,
    pub companies: String,
}

impl Store {
    pub async fn link_targets(&self, contact_ids: &str, company_ids: &str) -> Result<LinkTargets> {
        let mut rows: Vec<LinkTargets> = self.rows(sql::links::EXISTING, &[text(contact_ids), text(company_ids)]).await?;
        rows.pop().ok_or_else(|| StoreError::Database("link targets returned no row".into()))
    }

    /// Adds the planned links in one transaction, with history.
    pub async fn add_links(&self, plan: &str, now: &str, request_id: &str) -> Result<()> {
        use sql::links::*;
        let logged = [text(plan), text(now), text(request_id)];
        let statements = vec![
            self.prepare(HISTORY_REPLACED, &logged)?,
            self.prepare(HISTORY_ADDED, &logged)?,
            self.prepare(DELETE_REPLACED, &[text(plan)])?,
            self.prepare(DEMOTE, &[text(plan), text(now)])?,
            self.prepare(UPSERT, &[text(plan), text(now)])?,
        ];
        self.batch(statements).await.map(|_| ())
    }

    /// Removes links in one transaction, with history.
    pub async fn remove_links(&self, plan: &str, now: &str, request_id: &str) -> Result<()> {
        use sql::links::*;
        let statements = vec![
            self.prepare(HISTORY_REMOVED, &[text(plan), text(now), text(request_id)])?,
            self.prepare(REMOVE, &[text(plan)])?,
        ];
        self.batch(statements).await.map(|_| ())
    }
}

/// A record that may match a sync or create, with its keys and links (JSON arrays).
#[derive(Debug, Deserialize)]
pub struct CandidateRow {
    pub id: String,
    pub external_id: Option<String>,
    pub fields: String,
    pub properties: String,
    pub created_at: String,
    pub updated_at: String,
    pub parent_id: Option<String>,
    pub keys: String,
    pub external_ids: String,
}

impl Store {
    /// Every live record linked to one of `external_ids`, holding one of `keys` or named in
    /// `hinted` (ids from the match cache), in one statement.
    pub async fn candidates(&self, kind: RecordKind, external_ids: &str, keys: &str, hinted: &str) -> Result<Vec<CandidateRow>> {
        self.rows(record_sql(kind).candidates, &[text(external_ids), text(keys), text(hinted)]).await
    }

    /// Links matched records to the incoming externalIds (`[{id, externalId}]`), with history.
    pub async fn link_external(&self, kind: RecordKind, items: &str, now: &str, request_id: &str) -> Result<()> {
        let s = record_sql(kind);
        let statements = vec![
            self.prepare(s.history_link, &[text(items), text(now), text(request_id)])?,
            self.prepare(s.link_matched, &[text(items), text(now)])?,
            self.prepare(s.set_external, &[text(items)])?,
        ];
        self.batch(statements).await.map(|_| ())
    }
}
