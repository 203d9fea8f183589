//! The pages for people (API.md §9): Basic auth with `DASHBOARD_PASSWORD`, a few D1 statements
//! per page sent together (the page's own, and its possible duplicates), HTML rendered by the pure
//! core (`domain::pages`). The merge review's form and a record page's undo button post back
//! here, checked against the session cookie every page starts (`domain::pages::form`). Every page answer carries the pages'
//! security headers, failures included: an error on our side returns through the pipeline (so
//! its log line keeps the cause), which answers it with [`error_page`].

use futures_util::future::{join, join3};
use worker::{Context as WorkerContext, Env, Request, Response};

use super::merge::group_page;
use super::{context, Ctx};
use crate::domain::auth::ApiKeys;
use crate::domain::config::Config;
use crate::domain::error::ApiError;
use crate::domain::feed::parse_limit;
use crate::domain::merge::{cursor_param, duplicate_fields, group_duplicates, MergeRequest};
use crate::domain::pages::dashboard::{DuplicatesList, SEARCH_WINDOW};
use crate::domain::pages::form::{self, check_post, parse_form, Post};
use crate::domain::pages::html::url_encode;
use crate::domain::pages::layout::{headers, message_page};
use crate::domain::pages::merge::{
    merge_body, merge_refused, review_href, review_ids, DuplicatesPage, MergeNotice, MergeReview, DASHBOARD_GROUPS, DUPLICATES_PAGE,
};
use crate::domain::pages::record::record_href;
use crate::domain::pages::{
    page_access, Dashboard, DashboardQuery, List, PageAccess, RecordPage, Settings, CHALLENGE,
};
use crate::domain::record::RecordKind;
use crate::domain::request::check_declared_length;
use crate::domain::routes::{ReadFrom, RouteId};
use crate::store::d1::Store;
use crate::store::sql_pages::{DASHBOARD_PAGE, RECENT_ACTIVITIES};

/// The most groups a page of possible duplicates shows (`?limit=`).
const MAX_DUPLICATES_PAGE: usize = 200;

/// Rows of a record's possible duplicates its page reads at most.
const DUPLICATE_ROWS: usize = 200;

type PageResult = Result<worker::Result<Response>, ApiError>;

/// What a page answers before the shared headers: status, HTML, and a redirect's target.
struct Answer {
    status: u16,
    body: String,
    location: Option<String>,
}

impl Answer {
    fn page(status: u16, body: String) -> Answer {
        Answer { status, body, location: None }
    }
}

pub async fn serve(mut req: Request, env: &Env, worker: &WorkerContext, request_id: &str, route: RouteId, params: &[&str]) -> PageResult {
    let nonce = nonce();
    // Who may see the page is decided first, even when the configuration is broken: without a
    // password there are no pages, and a stranger learns nothing about the server's state.
    let config = context::config(env);
    let (password, api_keys) = match &config {
        Ok(c) => (c.dashboard_password.clone(), c.auth.api_keys.clone()),
        Err(_) => {
            let raw = |name: &str| env.var(name).ok().map(|v| v.to_string()).filter(|v| !v.is_empty());
            (raw("DASHBOARD_PASSWORD"), raw("API_KEYS").and_then(|k| ApiKeys::parse(&k).ok()).unwrap_or_default())
        }
    };
    let authorization = req.headers().get("Authorization").ok().flatten();
    match page_access(password.as_deref(), &api_keys, authorization.as_deref()) {
        PageAccess::NoPages => {
            return Ok(html(404, &nonce, message_page(&nonce, "Not found", "There is no page here.")));
        }
        PageAccess::Denied => {
            // A wrong password counts against the client's address; over the limit, `429`.
            if let ApiError::RateLimited { retry_after } = context::refused(env, &req, authorization.as_deref(), ApiError::Unauthorized).await {
                let message = format!("Too many wrong passwords from this address. Try again in {retry_after} seconds.");
                return Ok(html(429, &nonce, message_page(&nonce, "Too many attempts", &message)).and_then(|mut r| {
                    r.headers_mut().set("Retry-After", &retry_after.to_string())?;
                    Ok(r)
                }));
            }
            let message = "This page needs the dashboard password (any user name will do).";
            return Ok(html(401, &nonce, message_page(&nonce, "Sign-in needed", message)).and_then(|mut r| {
                r.headers_mut().set("WWW-Authenticate", CHALLENGE)?;
                Ok(r)
            }));
        }
        PageAccess::Granted => {}
    }
    // The sentence that names a bad variable is for `/health`, behind the API key.
    let config = config?;
    let password = password.unwrap_or_default();

    // The session a form's token is tied to: the browser's, or a new one this answer starts.
    let secure = req.url().map(|u| u.scheme() == "https").unwrap_or(false);
    let cookie = req.headers().get("Cookie").ok().flatten();
    let sent_session = form::session_of(cookie.as_deref(), secure);
    let session = sent_session.clone().unwrap_or_else(|| form::new_session(random_bytes()));
    let set_cookie = sent_session.is_none().then(|| form::set_cookie(&session, secure));

    let bookmark = req.headers().get("X-D1-Bookmark").ok().flatten();
    let store = Store::open(env, ReadFrom::of(route, bookmark.as_deref()))?;
    let query = context::query_pairs(&req);
    let (answer, store) = match route {
        RouteId::PageRecord(kind) => {
            (record(&store, &config, kind, params[0], &query, &form::form_token(&password, &session), &nonce).await?, store)
        }
        RouteId::PageDashboard => {
            let settings = Settings {
                base_url: config.public_url.clone().unwrap_or_else(|| origin(&req)),
                api_key_header: config.auth.api_key_header.clone(),
            };
            (dashboard(&store, &config, &query, settings, &nonce).await?, store)
        }
        RouteId::PageDuplicates(kind) => (duplicates(&store, &config, kind, &query, &nonce).await?, store),
        RouteId::PageMergeReview(kind) => (review(&store, kind, &query, &form::form_token(&password, &session), &nonce).await?, store),
        RouteId::PageMerge(kind) | RouteId::PageMergeUndo(kind) => {
            let post = FormPost { password: &password, session: sent_session.as_deref() };
            let ctx = Ctx::new(env, worker, config.clone(), store, request_id);
            let answer = match read_form(&ctx, &mut req, post, &nonce).await? {
                Err(refused) => refused,
                Ok(fields) if matches!(route, RouteId::PageMerge(_)) => merge_form(&ctx, kind, &fields, &nonce).await?,
                Ok(fields) => undo_form(&ctx, kind, &fields, &nonce).await?,
            };
            (answer, ctx.store)
        }
        other => unreachable!("{other:?} is not a page"),
    };
    Ok(html(answer.status, &nonce, answer.body).and_then(|mut r| {
        if let Some(to) = &answer.location {
            r.headers_mut().set("Location", to)?;
        }
        if let Some(cookie) = &set_cookie {
            r.headers_mut().set("Set-Cookie", cookie)?;
        }
        context::store_figures(&mut r, &store)?;
        Ok(r)
    }))
}

/// A record's page, with its possible duplicates (two statements, run together) and, after a
/// merge through the review page, a notice of it. The id of a record merged into another
/// redirects to the survivor's page (a third statement, on that path only).
async fn record(
    store: &Store,
    config: &Config,
    kind: RecordKind,
    id: &str,
    query: &[(String, String)],
    token: &str,
    nonce: &str,
) -> Result<Answer, ApiError> {
    let rule = config.match_rule(kind);
    let fields = duplicate_fields(rule);
    let (row, duplicates) = join(store.record_page(kind, id), store.duplicates_of(kind, id, &fields, DUPLICATE_ROWS)).await;
    match row? {
        Some(row) => {
            let mut page = RecordPage::from_row(kind, row);
            page.duplicates = group_duplicates(rule, &duplicates?).into_iter().filter(|g| g.records.iter().any(|r| r.id == id)).collect();
            page.notice = MergeNotice::from_query(query, token);
            Ok(Answer::page(200, page.render(nonce)))
        }
        None => {
            // A crmId Enginy still holds after a merge ("Open in CRM") leads to the survivor.
            if let Some((_, survivor)) = store.merged_of(kind, &[id.to_string()]).await?.into_iter().next() {
                let location = format!("{}?mergedFrom={}", record_href(kind, &survivor), url_encode(id));
                return Ok(Answer { status: 302, body: String::new(), location: Some(location) });
            }
            let title = format!("{} not found", kind.noun());
            let message = format!(
                "There is no {} with the id {id}. It may have been deleted, or the link may be incomplete.",
                kind.noun().to_lowercase()
            );
            Ok(Answer::page(404, message_page(nonce, &title, &message)))
        }
    }
}

/// The dashboard (one statement) and the first groups of possible duplicates of each kind (one
/// statement each), the three run together.
async fn dashboard(store: &Store, config: &Config, query: &[(String, String)], settings: Settings, nonce: &str) -> Result<Answer, ApiError> {
    let query = DashboardQuery::parse(query);
    let cursors = [query.cursor(List::Contacts), query.cursor(List::Companies), query.cursor(List::Tasks)];
    let folded = query.folded();
    let first = (String::new(), String::new());
    let groups = |kind| group_page(store, config.match_rule(kind), kind, &first, DASHBOARD_GROUPS);
    let (row, contacts, companies) = join3(
        store.dashboard(&folded, cursors, DASHBOARD_PAGE + 1, RECENT_ACTIVITIES, SEARCH_WINDOW),
        groups(RecordKind::Contact),
        groups(RecordKind::Company),
    )
    .await;
    let mut page = Dashboard::from_row(row?, query, settings, DASHBOARD_PAGE);
    for (kind, (groups, next)) in [(RecordKind::Contact, contacts?), (RecordKind::Company, companies?)] {
        page.duplicates.push(DuplicatesList { kind, groups, more: next.is_some() });
    }
    Ok(Answer::page(200, page.render(nonce)))
}

/// Every group of possible duplicates of a kind, 50 per page (`?cursor=`, `?limit=` up to 200):
/// one statement.
async fn duplicates(store: &Store, config: &Config, kind: RecordKind, query: &[(String, String)], nonce: &str) -> Result<Answer, ApiError> {
    let after = match cursor_param(query) {
        Ok(after) => after,
        Err(_) => return Ok(Answer::page(400, message_page(nonce, "Not a page", "This link's cursor is not one these pages hand out."))),
    };
    let Ok(limit) = parse_limit(query, DUPLICATES_PAGE, MAX_DUPLICATES_PAGE) else {
        let message = format!("limit is a number of groups from 1 to {MAX_DUPLICATES_PAGE}.");
        return Ok(Answer::page(400, message_page(nonce, "Not a page", &message)));
    };
    let (groups, next) = group_page(store, config.match_rule(kind), kind, &after, limit).await?;
    let first = after.0.is_empty();
    Ok(Answer::page(200, DuplicatesPage { kind, groups, next, first, limit }.render(nonce)))
}

/// The merge review page of `?ids=…`: one statement. Every id must name a live record of this
/// kind; otherwise the page says which does not.
async fn review(store: &Store, kind: RecordKind, query: &[(String, String)], token: &str, nonce: &str) -> Result<Answer, ApiError> {
    let ids = match review_ids(query) {
        Ok(ids) => ids,
        Err(message) => return Ok(Answer::page(400, message_page(nonce, "Nothing to review", &message))),
    };
    let loaded = store.merge_load(kind, &ids).await?;
    let mut records = Vec::with_capacity(ids.len());
    for id in &ids {
        let problem = match loaded.iter().find(|r| &r.row.id == id) {
            None => format!("There is no {} with the id {id}.", kind.noun().to_lowercase()),
            Some(r) => match (&r.merged_into, &r.row.deleted_at) {
                (Some(into), _) => format!("{id} was already merged into {into}."),
                (None, Some(_)) => format!("{id} was deleted."),
                (None, None) => {
                    records.push(r.row.clone());
                    continue;
                }
            },
        };
        return Ok(Answer::page(404, message_page(nonce, "Cannot review this merge", &problem)));
    }
    Ok(Answer::page(200, MergeReview { kind, records, token: token.to_string() }.render(nonce)))
}

/// What a form post is checked against.
struct FormPost<'a> {
    password: &'a str,
    /// The session the browser's cookie names (none when it sent none).
    session: Option<&'a str>,
}

/// A page form's fields, once the post proved it came from a page this server rendered for this
/// browser's session; otherwise the page that refuses it (`403`, `413`, `415`), nothing written.
async fn read_form(ctx: &Ctx<'_>, req: &mut Request, post: FormPost<'_>, nonce: &str) -> Result<Result<Vec<(String, String)>, Answer>, ApiError> {
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let content_type = header("Content-Type").unwrap_or_default();
    if !content_type.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
        return Ok(Err(Answer::page(415, message_page(nonce, "Not a form", "This address takes the form of a page of this site."))));
    }
    check_declared_length(header("Content-Length").as_deref(), ctx.config.max_body_bytes)?;
    let (fetch_site, sent_origin) = (header("Sec-Fetch-Site"), header("Origin"));
    let bytes = req.bytes().await.map_err(|e| ApiError::bad_request(format!("could not read the form: {e}")))?;
    if bytes.len() > ctx.config.max_body_bytes {
        return Ok(Err(Answer::page(413, message_page(nonce, "Too large", "The form is larger than this server takes."))));
    }
    let fields = parse_form(&bytes);
    let own = match (&ctx.config.public_url, &sent_origin) {
        (Some(public), Some(o)) if public.trim_end_matches('/') == o => o.clone(),
        _ => origin(req),
    };
    let token = fields.iter().find(|(k, _)| k == "token").map(|(_, v)| v.as_str());
    let check = Post { session: post.session, token, fetch_site: fetch_site.as_deref(), origin: sent_origin.as_deref(), own_origin: &own };
    match check_post(post.password, &check) {
        Ok(()) => Ok(Ok(fields)),
        Err(refusal) => Ok(Err(Answer::page(403, message_page(nonce, "Nothing was changed", refusal.message())))),
    }
}

/// The ids of an answer's list `name`, joined for a page address.
fn id_list(answer: &serde_json::Value, name: &str) -> String {
    let ids: Vec<String> = answer[name].as_array().into_iter().flatten().filter_map(|v| v.as_str()).map(url_encode).collect();
    ids.join(",")
}

/// The review page's form: the API's merge with what the form chose. Done, it sends the browser
/// to the record that stayed (which offers to undo it); refused by the merge, it says why.
async fn merge_form(ctx: &Ctx<'_>, kind: RecordKind, fields: &[(String, String)], nonce: &str) -> Result<Answer, ApiError> {
    let outcome = match MergeRequest::parse(kind, &merge_body(fields)) {
        Ok(request) => super::merge::run(ctx, kind, &request).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(answer) => {
            let survivor = answer["crmId"].as_str().unwrap_or_default();
            let merge_id = answer["mergeId"].as_str().unwrap_or_default();
            let location = format!("{}?merged={}&merge={}", record_href(kind, survivor), id_list(&answer, "mergedIds"), url_encode(merge_id));
            Ok(Answer { status: 303, body: String::new(), location: Some(location) })
        }
        Err(e @ (ApiError::BadRequest { .. } | ApiError::Conflict(_))) => {
            let ids: Vec<&str> = fields.iter().filter(|(k, _)| k == "ids").map(|(_, v)| v.as_str()).collect();
            let message = format!("{} Nothing was changed.", e.message(ctx.request_id));
            Ok(Answer::page(e.status(), merge_refused(nonce, "Not merged", &message, Some(&review_href(kind, &ids)))))
        }
        Err(e) => Err(e),
    }
}

/// The record page's "Undo this merge" form: the API's undo. Done, it sends the browser to the
/// record that had stayed, with a notice naming the records restored; refused, it says why.
async fn undo_form(ctx: &Ctx<'_>, kind: RecordKind, fields: &[(String, String)], nonce: &str) -> Result<Answer, ApiError> {
    let merge_id = fields.iter().find(|(k, _)| k == "merge").map(|(_, v)| v.as_str()).unwrap_or_default();
    match super::merge::run_undo(ctx, kind, merge_id).await {
        Ok(answer) => {
            let survivor = answer["crmId"].as_str().unwrap_or_default();
            let location = format!("{}?restored={}", record_href(kind, survivor), id_list(&answer, "restoredIds"));
            Ok(Answer { status: 303, body: String::new(), location: Some(location) })
        }
        Err(e @ (ApiError::NotFound(_) | ApiError::Conflict(_) | ApiError::BadRequest { .. })) => {
            let message = format!("{} Nothing was changed.", e.message(ctx.request_id));
            Ok(Answer::page(e.status(), merge_refused(nonce, "Not undone", &message, None)))
        }
        Err(e) => Err(e),
    }
}

/// A page request that failed on our side (a broken configuration, D1 unreachable, a bug): the
/// friendly page with the pages' headers. The cause stays in the log line, never on the page.
pub fn error_page(err: &ApiError) -> worker::Result<Response> {
    let nonce = nonce();
    let (title, message) = match err {
        ApiError::Unavailable(_) => ("Unavailable", "The server cannot show this page right now. Its operator can see why at GET /health."),
        _ => ("Something went wrong", "The server could not show this page. Try again in a moment."),
    };
    html(err.status(), &nonce, message_page(&nonce, title, message))
}

/// The scheme, host and port the request came to, for the settings Enginy needs when
/// `PUBLIC_URL` is unset.
fn origin(req: &Request) -> String {
    req.url().map(|u| u.origin().ascii_serialization()).unwrap_or_default()
}

/// A fresh nonce for the page's stylesheet: 128 random bits, hex.
fn nonce() -> String {
    random_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// 128 random bits (a nonce, a session id).
fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("crypto.getRandomValues is available in Workers");
    bytes
}

fn html(status: u16, nonce: &str, body: String) -> worker::Result<Response> {
    let mut response = Response::from_html(body)?.with_status(status);
    for (name, value) in headers(nonce) {
        response.headers_mut().set(name, &value)?;
    }
    Ok(response)
}
