//! The Worker's request pipeline: request id, route, credential, body, handler, error mapping,
//! the body dropped for `HEAD`, one log line. Handlers live one module per resource and return `Result<Response, ApiError>`.

pub mod access;
mod associations;
mod candidates;
mod context;
mod health;
mod idempotency;
mod import;
mod lists;
mod merge;
mod pages;
mod records;
mod respond;
mod sync;
mod tasks;
mod activities;
mod users;
mod work;

use serde_json::Value;
use worker::{event, Context as WorkerContext, Env, Request, Response};

use crate::domain::error::{ApiError, Missing};
use crate::domain::log::RequestLog;
use crate::domain::request::{
    check_content_type, check_csv_content_type, check_declared_length, csv_body, parse_batch_body, parse_json_body, LazyBatch, LAZY_FROM_BYTES,
};
use crate::domain::routes::{match_route, Access, Matched, ReadFrom, RouteError, RouteId};
use crate::store::d1::Store;

pub use associations::LinkWrite;
pub use context::Ctx;

/// The API description, served as is.
const OPENAPI: &str = include_str!("../openapi.json");

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, worker_ctx: WorkerContext) -> worker::Result<Response> {
    install_panic_hook();
    let started = js_sys::Date::now();
    let request_id = context::request_id(&req);
    let method = req.method().to_string();
    let path = req.path();

    let mut route_label = path.clone();
    // Filled by the route once it opens a store; a request that never does says it cost nothing.
    let mut meter = context::Meter::default();
    let outcome = handle(req, &env, &worker_ctx, &request_id, &method, &path, &mut route_label, &mut meter).await;
    let (response, cause) = match outcome {
        Ok(response) => (response, None),
        Err(err) => {
            let cause = match &err {
                ApiError::Internal(cause) | ApiError::Unavailable(cause) => Some(cause.clone()),
                _ => None,
            };
            // A page answers its failures as a page, with the pages' security headers.
            let page = matches!(match_route(&method, &path), Ok(m) if m.route.access == Access::Page);
            let response = if page { pages::error_page(&err) } else { respond::error(&err, &request_id).map_err(to_worker) };
            (response, cause)
        }
    };
    let mut response = response?;
    // A HEAD is answered as its GET, less the body (RFC 9110 §9.3.2): same status and headers.
    if method.eq_ignore_ascii_case("HEAD") {
        let status = response.status_code();
        let headers = response.headers().clone();
        response = Response::empty()?.with_status(status).with_headers(headers);
    }
    // What the request cost, on every answer (API, pages, errors): D1 statements and rows, KV
    // reads, and where the time went.
    meter.apply(&mut response, js_sys::Date::now() - started)?;
    // The wasm memory's size now, which is its high-water mark (it never shrinks): only where the
    // configuration asks for it (`EXPOSE_MEMORY`, the benchmark's servers).
    if context::config(&env).is_ok_and(|c| c.expose_memory) {
        response.headers_mut().set("X-Wasm-Memory-Bytes", &wasm_memory_bytes().to_string())?;
    }
    let headers = response.headers_mut();
    headers.set("X-Request-Id", &request_id)?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("X-Content-Type-Options", "nosniff")?;

    worker::console_log!(
        "{}",
        RequestLog {
            method: &method,
            route: &route_label,
            status: response.status_code(),
            duration_ms: js_sys::Date::now() - started,
            request_id: &request_id,
            error: cause.as_deref(),
        }
        .to_line()
    );
    Ok(response)
}

/// The size of the wasm linear memory, in bytes (64 KiB pages).
fn wasm_memory_bytes() -> usize {
    core::arch::wasm32::memory_size::<0>() * 65_536
}

/// A panic in the Worker aborts the isolate; its message reaches the log before it does.
fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        std::panic::set_hook(Box::new(|info| worker::console_error!("panic: {info}")));
    });
}

/// The pipeline's last resort, for an error answer that could not itself be built.
fn to_worker(e: ApiError) -> worker::Error {
    worker::Error::RustError(format!("{e:?}"))
}

#[allow(clippy::too_many_arguments)]
async fn handle(
    req: Request,
    env: &Env,
    worker: &WorkerContext,
    request_id: &str,
    method: &str,
    path: &str,
    route_label: &mut String,
    meter: &mut context::Meter,
) -> Result<worker::Result<Response>, ApiError> {
    let matched = match_route(method, path);
    let access = match &matched {
        Ok(m) => m.route.access,
        // Unknown paths and methods need the key too, so the API tells strangers nothing.
        Err(_) => Access::ApiKey,
    };
    if access == Access::ApiKey {
        context::authenticate(env, &req).await?;
    }
    if access == Access::Moved {
        let query = req.url().ok().and_then(|u| u.query().map(str::to_string));
        return Ok(pages::moved(path, query.as_deref()));
    }
    let matched = match matched {
        Ok(m) => m,
        Err(RouteError::NotFound) => {
            return Err(ApiError::NotFound(Missing { error: format!("no route {method} {path}"), message: format!("No route answers {method} {path}.") }))
        }
        Err(RouteError::MethodNotAllowed(allow)) => return Err(ApiError::MethodNotAllowed { allow }),
    };
    *route_label = matched.route.pattern.to_string();
    // Pages for people check their own credential (Access, or the shared password) and answer
    // HTML (`pages/`).
    if access == Access::Page {
        return pages::serve(req, env, worker, request_id, matched.route.id, &matched.params, meter).await;
    }

    // Health reports a broken configuration itself, as `503 degraded`; the description needs none.
    match matched.route.id {
        RouteId::OpenApi => return Ok(respond::raw_json(OPENAPI, 200).map_err(to_worker)),
        RouteId::Health => return Ok(health::get(env, meter).await.map_err(to_worker)),
        _ => {}
    }
    Ok(Ok(api(req, env, worker, request_id, method, matched, meter).await?))
}

/// An API route: configuration, store, `Idempotency-Key` and body, then the handler; `meter`
/// then reads what the store and the cache spent, whatever the handler answered.
async fn api(
    mut req: Request,
    env: &Env,
    worker: &WorkerContext,
    request_id: &str,
    method: &str,
    matched: Matched<'_>,
    meter: &mut context::Meter,
) -> context::HandlerResult {
    let config = context::config(env)?;
    let bookmark = req.headers().get("X-D1-Bookmark").ok().flatten();
    let store = Store::open(env, ReadFrom::of(matched.route.id, bookmark.as_deref()))?;
    // `Cache-Control: no-cache`: the client wants the answer from the database, not the cache.
    let no_cache = req.headers().get("Cache-Control").ok().flatten().is_some_and(|v| v.to_ascii_lowercase().contains("no-cache"));
    let query = context::query_pairs(&req);
    // An Idempotency-Key is checked before anything is read or written: a bad one is `422`.
    let sent_key = match method {
        "POST" | "PATCH" => req.headers().get("Idempotency-Key").ok().flatten(),
        _ => None,
    };
    let idempotency_key = sent_key.as_deref().map(crate::domain::idempotency::check_key).transpose()?;
    let mut body_ms = 0.0;
    let (body, bytes, lazy) = match (matched.route.takes_body, matched.route.id.reads_csv()) {
        (true, false) => read_body(&mut req, config.max_body_bytes, lazy_key(matched.route.id), &mut body_ms).await?,
        // The file's text is the body (its bytes are not kept twice: the fingerprint reads it).
        (true, true) => (Some(Value::String(read_csv(&mut req, config.max_body_bytes, &mut body_ms).await?)), Vec::new(), None),
        (false, _) => (None, Vec::new(), None),
    };
    let (route, pattern) = (matched.route.id, matched.route.pattern);
    let hashed: &[u8] = match &body {
        Some(Value::String(text)) => text.as_bytes(),
        _ => &bytes,
    };
    // Only a keyed request is fingerprinted (the body is hashed, so not on every request).
    let keyed = idempotency_key.map(|key| (key, crate::domain::idempotency::fingerprint(method, pattern, &matched.params, hashed)));
    // The bytes stay only while the items are still to be read from them.
    let lazy = lazy.map(|batch| (bytes, batch));
    let ctx = Ctx { no_cache, body, lazy: std::cell::Cell::new(lazy), params: matched.params, keyed: keyed.is_some(), ..Ctx::new(env, worker, config, store, request_id) };
    *meter = context::Meter { body_ms, ..ctx.meter() };
    match keyed {
        Some((key, fingerprint)) => idempotency::run(&ctx, key, pattern, &fingerprint, dispatch(route, &ctx, &query)).await,
        None => dispatch(route, &ctx, &query).await,
    }
}

/// The routes whose batch a large body may hold as a `LazyBatch` (contacts and companies: create,
/// update, sync; tasks and activities: create), with the key of their items.
fn lazy_key(route: RouteId) -> Option<&'static str> {
    match route {
        RouteId::RecordCreate(kind) | RouteId::RecordUpdate(kind) | RouteId::RecordSync(kind) => Some(kind.collection()),
        RouteId::TaskCreate => Some("tasks"),
        RouteId::ActivityLog => Some("activities"),
        _ => None,
    }
}

/// A parsed JSON body, its bytes, and for a large batch of `lazy_key`'s route the batch read
/// lazily instead of the parsed body (`domain::request::parse_batch_body`): `415` unless it is
/// JSON, `413` past `max_bytes` (declared or read), `400` when it does not parse. `waited`: how
/// long its bytes took to arrive.
async fn read_body(
    req: &mut Request,
    max_bytes: usize,
    lazy_key: Option<&str>,
    waited: &mut f64,
) -> Result<(Option<Value>, Vec<u8>, Option<LazyBatch>), ApiError> {
    let header = |name: &str| req.headers().get(name).ok().flatten();
    check_content_type(header("Content-Type").as_deref())?;
    check_declared_length(header("Content-Length").as_deref(), max_bytes)?;
    let bytes = arrived(req, waited).await?;
    match lazy_key {
        Some(key) => match parse_batch_body(&bytes, max_bytes, key, LAZY_FROM_BYTES)? {
            Ok(batch) => Ok((None, bytes, Some(batch))),
            Err(value) => Ok((Some(value), bytes, None)),
        },
        None => Ok((Some(parse_json_body(&bytes, max_bytes)?), bytes, None)),
    }
}

/// The CSV body of an import: `415` unless it is CSV, `413` past `max_bytes`, `400` when it is
/// not UTF-8.
async fn read_csv(req: &mut Request, max_bytes: usize, waited: &mut f64) -> Result<String, ApiError> {
    let header = |name: &str| req.headers().get(name).ok().flatten();
    check_csv_content_type(header("Content-Type").as_deref())?;
    check_declared_length(header("Content-Length").as_deref(), max_bytes)?;
    csv_body(arrived(req, waited).await?, max_bytes)
}

/// The body's bytes, once they have all arrived; `waited` is how long that took (`body` in
/// `Server-Timing`, not the request's own time).
async fn arrived(req: &mut Request, waited: &mut f64) -> Result<Vec<u8>, ApiError> {
    let started = js_sys::Date::now();
    let bytes = req.bytes().await.map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")));
    *waited = js_sys::Date::now() - started;
    bytes
}

/// One line per route: where each route's code lives.
async fn dispatch(route: RouteId, ctx: &Ctx<'_>, query: &[(String, String)]) -> context::HandlerResult {
    match route {
        RouteId::Health | RouteId::OpenApi => unreachable!("answered before the configuration is read"),
        RouteId::PageDashboard
        | RouteId::PageWork
        | RouteId::PageRecord(_)
        | RouteId::PageRecordEdit(_)
        | RouteId::PageRecordDeleteConfirm(_)
        | RouteId::PageRecordDelete(_)
        | RouteId::PageActivity(_)
        | RouteId::PageTaskCreate(_)
        | RouteId::PageLinks(_)
        | RouteId::PageTask
        | RouteId::PageDuplicates(_)
        | RouteId::PageMergeReview(_)
        | RouteId::PageMerge(_)
        | RouteId::PageMergeUndo(_)
        | RouteId::PageImport(_)
        | RouteId::PageImportUpload(_)
        | RouteId::PageImportJob(_)
        | RouteId::PageImportStart(_)
        | RouteId::PageSearch
        | RouteId::PageRecords(_)
        | RouteId::PageTasks
        | RouteId::PageMoved => unreachable!("pages are served before the API's pipeline"),
        RouteId::RecordCreate(kind) => records::create(ctx, kind).await,
        RouteId::RecordUpdate(kind) => records::update(ctx, kind).await,
        RouteId::RecordFeed(kind) => records::feed(ctx, kind, query).await,
        RouteId::RecordBatch(kind) => records::batch(ctx, kind).await,
        RouteId::RecordSync(kind) => sync::sync(ctx, kind).await,
        RouteId::RecordGet(kind) => records::get(ctx, kind).await,
        RouteId::RecordDelete(kind) => records::delete(ctx, kind).await,
        RouteId::RecordHistory(kind) => records::history(ctx, kind, query).await,
        RouteId::RecordDuplicates(kind) => merge::duplicates(ctx, kind, query).await,
        RouteId::RecordMerge(kind) => merge::merge(ctx, kind).await,
        RouteId::RecordMergeUndo(kind) => merge::undo(ctx, kind).await,
        RouteId::RecordImport(kind) => import::import(ctx, kind, query).await,
        RouteId::LinksAdd => associations::write(ctx, LinkWrite::Add).await,
        RouteId::LinksRemove => associations::write(ctx, LinkWrite::Remove).await,
        RouteId::TaskCreate => tasks::create(ctx).await,
        RouteId::TaskList => lists::tasks(ctx, query).await,
        RouteId::TaskGet => tasks::get(ctx).await,
        RouteId::TaskUpdate => tasks::update(ctx).await,
        RouteId::TaskDelete => tasks::delete(ctx).await,
        RouteId::TaskHistory => tasks::history(ctx, query).await,
        RouteId::TasksRead => tasks::read_batch(ctx).await,
        RouteId::TasksUpdate => tasks::update_batch(ctx).await,
        RouteId::ActivityLog => activities::log(ctx).await,
        RouteId::ActivityGet => activities::get(ctx).await,
        RouteId::ActivityHistory => activities::history(ctx, query).await,
        RouteId::Timeline(kind) => activities::timeline(ctx, kind, query).await,
        RouteId::UsersList => users::list(ctx).await,
        RouteId::UsersUpsert => users::upsert(ctx).await,
        RouteId::UserDelete => users::delete(ctx).await,
    }
}
