//! The pages for people (API.md §9): Basic auth with `DASHBOARD_PASSWORD`, one D1 statement per
//! page, HTML rendered by the pure core (`domain::pages`). Every page answer carries the pages'
//! security headers, failures included: an error on our side returns through the pipeline (so
//! its log line keeps the cause), which answers it with [`error_page`].

use worker::{Env, Request, Response};

use super::context;
use crate::domain::auth::ApiKeys;
use crate::domain::error::ApiError;
use crate::domain::pages::dashboard::SEARCH_WINDOW;
use crate::domain::pages::layout::{headers, message_page};
use crate::domain::pages::{
    page_access, Dashboard, DashboardQuery, List, PageAccess, RecordPage, Settings, CHALLENGE,
};
use crate::domain::record::RecordKind;
use crate::domain::routes::{ReadFrom, RouteId};
use crate::store::d1::Store;
use crate::store::sql_pages::{DASHBOARD_PAGE, RECENT_ACTIVITIES};

type PageResult = Result<worker::Result<Response>, ApiError>;

pub async fn serve(req: &Request, env: &Env, route: RouteId, params: &[&str]) -> PageResult {
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
            if let ApiError::RateLimited { retry_after } = context::refused(env, req, authorization.as_deref(), ApiError::Unauthorized).await {
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

    let bookmark = req.headers().get("X-D1-Bookmark").ok().flatten();
    let store = Store::open(env, ReadFrom::of(route, bookmark.as_deref()))?;
    let (status, body) = match route {
        RouteId::PageRecord(kind) => record(&store, kind, params[0], &nonce).await?,
        RouteId::PageDashboard => {
            let settings = Settings {
                base_url: config.public_url.clone().unwrap_or_else(|| origin(req)),
                api_key_header: config.auth.api_key_header.clone(),
            };
            dashboard(&store, req, settings, &nonce).await?
        }
        other => unreachable!("{other:?} is not a page"),
    };
    Ok(html(status, &nonce, body).and_then(|mut r| {
        context::store_figures(&mut r, &store)?;
        Ok(r)
    }))
}

async fn record(store: &Store, kind: RecordKind, id: &str, nonce: &str) -> Result<(u16, String), ApiError> {
    match store.record_page(kind, id).await? {
        Some(row) => Ok((200, RecordPage::from_row(kind, row).render(nonce))),
        None => {
            let title = format!("{} not found", kind.noun());
            let message = format!(
                "There is no {} with the id {id}. It may have been deleted, or the link may be incomplete.",
                kind.noun().to_lowercase()
            );
            Ok((404, message_page(nonce, &title, &message)))
        }
    }
}

async fn dashboard(store: &Store, req: &Request, settings: Settings, nonce: &str) -> Result<(u16, String), ApiError> {
    let query = DashboardQuery::parse(&context::query_pairs(req));
    let cursors = [query.cursor(List::Contacts), query.cursor(List::Companies), query.cursor(List::Tasks)];
    let row = store
        .dashboard(&query.folded(), cursors, DASHBOARD_PAGE + 1, RECENT_ACTIVITIES, SEARCH_WINDOW)
        .await
        ?;
    Ok((200, Dashboard::from_row(row, query, settings, DASHBOARD_PAGE).render(nonce)))
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
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("crypto.getRandomValues is available in Workers");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn html(status: u16, nonce: &str, body: String) -> worker::Result<Response> {
    let mut response = Response::from_html(body)?.with_status(status);
    for (name, value) in headers(nonce) {
        response.headers_mut().set(name, &value)?;
    }
    Ok(response)
}
