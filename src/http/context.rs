//! What a handler gets: the environment, the parsed configuration, the request id, the parsed
//! body and the path parameters. Also where configuration is read (once per isolate) and the API
//! key is checked.

use std::rc::Rc;

use serde_json::Value;
use worker::{Context as WorkerContext, Env, Request};

use crate::domain::auth::{failure_counts, limit_key, Lockout, AUTH_LIMITER, AUTH_LIMIT_PERIOD_SECS};
use crate::domain::backoff::{unit_from_bytes, WRITE_BACKOFF};
use crate::domain::cache_mode::CacheMode;
use crate::domain::config::{AuthConfig, Config, ConfigError};
use crate::domain::cost::Cost;
use crate::domain::error::ApiError;
use crate::domain::ids::{CrmId, IdKind, RANDOM_BYTES};
use crate::domain::request::{batch_items, check_batch_len, LazyBatch};
use crate::domain::time::Timestamp;
use crate::store::d1::{Store, StoreError, StoreMeter};
use crate::store::isolate::use_match_cache;
use crate::store::kv::MatchCache;

pub struct Ctx<'a> {
    pub env: &'a Env,
    /// The invocation, for work after the response (`wait_until`).
    pub worker: &'a WorkerContext,
    /// The KV match cache, unless `MATCH_CACHE` is off (or the binding is missing). Whether a
    /// request uses it is [`Ctx::cache`]'s to say.
    pub cache: Option<MatchCache>,
    /// The client sent `Cache-Control: no-cache`: a sync reads D1, not the cache.
    pub no_cache: bool,
    /// KV operations this request has used or queued on the match cache (see
    /// `candidates::KV_BUDGET`): a batch served in chunks shares one invocation's allowance.
    pub kv_ops: std::cell::Cell<usize>,
    pub config: Rc<Config>,
    pub store: Store,
    pub request_id: &'a str,
    pub body: Option<Value>,
    /// A large batch body as its bytes and where its items are (`domain::request::LazyBatch`),
    /// instead of `body`: its items are parsed a chunk at a time. Taken by [`Ctx::batch`], whose
    /// caller drops the bytes once the last chunk is parsed.
    pub lazy: std::cell::Cell<Option<(Vec<u8>, LazyBatch)>>,
    pub params: Vec<&'a str>,
    /// The request carries an `Idempotency-Key`: its items have a key, so tasks and activities
    /// are not made idempotent on their content as well.
    pub keyed: bool,
}

impl<'a> Ctx<'a> {
    /// A context with no body, no path parameters and the cache as configured.
    pub fn new(env: &'a Env, worker: &'a WorkerContext, config: Rc<Config>, store: Store, request_id: &'a str) -> Ctx<'a> {
        let cache = if config.match_cache == CacheMode::Off { None } else { MatchCache::from_env(env) };
        Ctx { env, worker, cache, no_cache: false, kv_ops: Default::default(), config, store, request_id, body: None, lazy: Default::default(), params: Vec::new(), keyed: false }
    }

    /// The parsed body of a route that takes one.
    pub fn body(&self) -> &Value {
        self.body.as_ref().expect("the pipeline parses the body of every route that takes one")
    }

    /// The items of a batch body `{"<key>": [...]}`: `400` when it has no such array, `413` over
    /// `MAX_BATCH` items. Items still in the body's bytes are handed over with them (once).
    pub fn batch(&self, key: &str) -> Result<Items<'_>, ApiError> {
        match self.lazy.take() {
            Some((bytes, batch)) => {
                check_batch_len(key, batch.items.len(), self.config.max_batch)?;
                Ok(Items::Lazy(bytes, batch))
            }
            None => Ok(Items::Values(batch_items(self.body(), key, self.config.max_batch)?)),
        }
    }

    /// The match cache, when this request uses it now: always with `MATCH_CACHE=on`; with
    /// `auto`, while this isolate's D1 round trips are long enough (`domain::cache_mode`). Asked
    /// where it is used (a write asks after its commit, so on a measured round trip).
    pub fn cache(&self) -> Option<&MatchCache> {
        self.cache.as_ref().filter(|_| use_match_cache(self.config.match_cache, self.config.match_cache_min_d1_ms))
    }

    /// What this request spends, readable once its handler is done, whatever it answered.
    pub fn meter(&self) -> Meter {
        Meter { store: Some(self.store.meter()), cache: self.cache.clone(), body_ms: 0.0 }
    }
}

/// The items of a batch: parsed with the body, or still in the body's bytes.
pub enum Items<'a> {
    Values(&'a [Value]),
    Lazy(Vec<u8>, LazyBatch),
}

/// A request's figures (API.md §10): its store's and its match cache's.
#[derive(Default)]
pub struct Meter {
    pub store: Option<StoreMeter>,
    pub cache: Option<MatchCache>,
    /// Milliseconds spent waiting for the request's body.
    pub body_ms: f64,
}

impl Meter {
    /// The cost so far; `total_ms` is the caller's.
    pub fn cost(&self) -> Cost {
        let mut cost = self.store.as_ref().map(StoreMeter::cost).unwrap_or_default();
        cost.body_ms = self.body_ms;
        if let Some(cache) = &self.cache {
            cost.kv_reads = cache.calls();
            cost.kv_ms = cache.waited_ms();
        }
        cost
    }

    /// Sets what the request cost on its response, with the session's latest bookmark for the
    /// client to send back (`X-D1-Bookmark`). `total_ms`: the request's time so far.
    pub fn apply(&self, response: &mut worker::Response, total_ms: f64) -> worker::Result<()> {
        let cost = Cost { total_ms, ..self.cost() };
        let headers = response.headers_mut();
        for (name, value) in cost.headers() {
            headers.set(name, &value)?;
        }
        if let Some(bookmark) = self.store.as_ref().and_then(StoreMeter::bookmark) {
            headers.set("X-D1-Bookmark", &bookmark)?;
        }
        Ok(())
    }
}

thread_local! {
    /// Variables cannot change while an isolate lives, so they are parsed once.
    static CONFIG: std::cell::OnceCell<Result<Rc<Config>, ConfigError>> = const { std::cell::OnceCell::new() };
}

fn lookup(env: &Env) -> impl Fn(&str) -> Option<String> + '_ {
    |name| env.var(name).ok().map(|v| v.to_string())
}

/// What a route's handler answers: a response, or the one error the pipeline turns into one.
pub type HandlerResult = Result<worker::Response, ApiError>;

/// A failure of the Workers runtime itself (building a response, reading a header): a `500`
/// whose cause is logged, never sent.
impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

/// Why one attempt of a read-decide-write did not finish: another request changed what it read
/// (try again), or a failure to answer as is.
pub enum Retry {
    Conflict,
    Fail(ApiError),
}

impl From<ApiError> for Retry {
    fn from(e: ApiError) -> Retry {
        Retry::Fail(e)
    }
}

impl From<StoreError> for Retry {
    fn from(e: StoreError) -> Retry {
        match e {
            StoreError::Conflict => Retry::Conflict,
            other => Retry::Fail(other.into()),
        }
    }
}

/// Runs `attempt` (read, decide, write) until it finishes without a conflict. After each
/// conflict it waits as [`WRITE_BACKOFF`] says (growing, with jitter, so colliding requests
/// spread out) and decides again on fresh data; once the time budget is spent, `503` saying
/// `busy` ("these records are being changed by other requests") with `Retry-After`.
pub async fn retry<T>(busy: &str, mut attempt: impl AsyncFnMut() -> Result<T, Retry>) -> Result<T, ApiError> {
    let started = js_sys::Date::now();
    let mut failures = 0;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Retry::Fail(e)) => return Err(e),
            Err(Retry::Conflict) => {
                failures += 1;
                let mut draw = [0u8; 4];
                getrandom::getrandom(&mut draw).expect("crypto.getRandomValues is available in Workers");
                match WRITE_BACKOFF.next(failures, js_sys::Date::now() - started, unit_from_bytes(draw)) {
                    Some(ms) => worker::Delay::from(std::time::Duration::from_micros((ms * 1000.0) as u64)).await,
                    None => {
                        return Err(ApiError::Busy { message: format!("{busy}; retry"), retry_after: WRITE_BACKOFF.retry_after_secs })
                    }
                }
            }
        }
    }
}

/// The configuration, or `503` naming every bad variable.
pub fn config(env: &Env) -> Result<Rc<Config>, ApiError> {
    CONFIG.with(|cell| {
        cell.get_or_init(|| Config::from_lookup(lookup(env)).map(Rc::new))
            .clone()
            .map_err(|e| ApiError::Unavailable(e.to_string()))
    })
}

/// The configuration's problems, if any, for `/health`.
pub fn config_problem(env: &Env) -> Option<String> {
    config(env).err().map(|e| match e {
        ApiError::Unavailable(message) => message,
        other => format!("{other:?}"),
    })
}

thread_local! {
    /// The clients this isolate saw go over their failure limit (see [`Lockout`]).
    static LOCKOUT: std::cell::RefCell<Lockout> = std::cell::RefCell::new(Lockout::default());
}

fn client_key(req: &Request) -> String {
    limit_key(req.headers().get("CF-Connecting-IP").ok().flatten().as_deref())
}

/// Whether the client went over its failure limit and its period is not over: then a credential
/// it presents is not checked, right or wrong, and the answer is `429`.
pub fn locked_out(req: &Request) -> bool {
    let key = client_key(req);
    LOCKOUT.with(|l| l.borrow().is_locked(&key, js_sys::Date::now() as i64))
}

/// Checks the API key header. When the configuration as a whole is broken but its key part is
/// sound, a wrong key still gets `401`; when the keys themselves are unusable, `503`. A wrong key
/// counts against the client's address, and once those failures are over the limit the answer
/// is `429` with `Retry-After` (see [`refused`]), to every key that client presents, the right
/// one too, until the period is over.
pub async fn authenticate(env: &Env, req: &Request) -> Result<(), ApiError> {
    let auth = match config(env) {
        Ok(config) => config.auth.clone(),
        Err(_) => AuthConfig::from_lookup(lookup(env)).map_err(|e| ApiError::Unavailable(e.to_string()))?,
    };
    let presented = req.headers().get(&auth.api_key_header).ok().flatten();
    if failure_counts(presented.as_deref()) && locked_out(req) {
        return Err(ApiError::RateLimited { retry_after: AUTH_LIMIT_PERIOD_SECS });
    }
    if auth.api_keys.verify(presented.as_deref()) {
        Ok(())
    } else {
        Err(refused(env, req, presented.as_deref(), ApiError::Unauthorized).await)
    }
}

/// What a refused credential gets: `refusal`, or `429` when it was a presented, wrong credential
/// and this client's failures are over the limit of the `AUTH_LIMITER` binding, which locks the
/// client out in this isolate for the period (see [`locked_out`]). Without the binding, or when
/// it fails, nothing is counted (a broken limiter never locks anyone out).
pub async fn refused(env: &Env, req: &Request, presented: Option<&str>, refusal: ApiError) -> ApiError {
    if !failure_counts(presented) {
        return refusal;
    }
    let Ok(limiter) = env.rate_limiter(AUTH_LIMITER) else { return refusal };
    let key = client_key(req);
    match limiter.limit(key.clone()).await {
        Ok(outcome) if !outcome.success => {
            LOCKOUT.with(|l| l.borrow_mut().over(&key, js_sys::Date::now() as i64, AUTH_LIMIT_PERIOD_SECS));
            ApiError::RateLimited { retry_after: AUTH_LIMIT_PERIOD_SECS }
        }
        _ => refusal,
    }
}

/// The query string's pairs, decoded, in order.
pub fn query_pairs(req: &worker::Request) -> Vec<(String, String)> {
    req.url().map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()).unwrap_or_default()
}

/// Random bytes from the platform's CSPRNG (`crypto.getRandomValues`).
pub fn random_bytes() -> [u8; RANDOM_BYTES] {
    let mut bytes = [0u8; RANDOM_BYTES];
    getrandom::getrandom(&mut bytes).expect("crypto.getRandomValues is available in Workers");
    bytes
}

pub fn now_millis() -> i64 {
    js_sys::Date::now() as i64
}

/// Now, as the API writes timestamps.
pub fn now() -> String {
    Timestamp::from_millis(now_millis()).to_rfc3339()
}

pub fn new_id(kind: IdKind) -> CrmId {
    CrmId::new(kind, now_millis(), random_bytes())
}

/// The caller's `X-Request-Id` when it is a sane token (so a client can follow its own id through
/// our logs), otherwise a fresh one.
pub fn request_id(req: &Request) -> String {
    let given = req.headers().get("X-Request-Id").ok().flatten();
    match given {
        Some(id)
            if (8..=64).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            id
        }
        _ => new_id(IdKind::Request).into_string(),
    }
}
