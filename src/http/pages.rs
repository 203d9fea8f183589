//! The pages for people (API.md §9): Basic auth with `DASHBOARD_PASSWORD`, one D1 statement per
//! page, HTML rendered by the pure core (`domain::pages`). Every page answer, errors included,
//! carries the pages' security headers. A storage failure is the exception: it takes the API's
//! error path, so the log line keeps its cause.

use worker::{Env, Request, Response};

use super::context::{self, store_error};
use crate::domain::error::ApiError;
use crate::domain::pages::dashboard::SEARCH_WINDOW;
use crate::domain::pages::layout::{headers, message_page};
use crate::domain::pages::{
    page_access, Dashboard, DashboardQuery, List, PageAccess, RecordPage, Settings, CHALLENGE,
};
use crate::domain::record::RecordKind;
use crate::domain::routes::RouteId;
use crate::store::d1::Store;
use crate::store::sql_pages::{DASHBOARD_PAGE, RECENT_ACTIVITIES};

type PageResult = Result<worker::Result<Response>, ApiError>;

pub async fn serve(req: &Request, env: &Env, route: RouteId, params: &[&str]) -> PageResult {
    let nonce = nonce();
    // The sentence that names a bad variable is for `/health`, behind the API key.
    let Ok(config) = context::config(env) else {
        let message = "The server's configuration has a problem. Its operator can see which at GET /health.";
        return Ok(html(503, &nonce, message_page(&nonce, "Unavailable", message)));
    };
    let authorization = req.headers().get("Authorization").ok().flatten();
    match page_access(config.dashboard_password.as_deref(), &config.auth.api_keys, authorization.as_deref()) {
        PageAccess::NoPages => {
            return Ok(html(404, &nonce, message_page(&nonce, "Not found", "There is no page here.")));
        }
        PageAccess::Denied => {
            let message = "This page needs the dashboard password (any user name will do).";
            return Ok(html(401, &nonce, message_page(&nonce, "Sign-in needed", message)).and_then(|mut r| {
                r.headers_mut().set("WWW-Authenticate", CHALLENGE)?;
                Ok(r)
            }));
        }
        PageAccess::Granted => {}
    }

    let store = Store::from_env(env).map_err(store_error)?;
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
        // As on the API: how many D1 statements the page ran, and the time spent waiting for D1.
        r.headers_mut().set("X-D1-Statements", &store.statements().to_string())?;
        r.headers_mut().set("Server-Timing", &format!("d1;dur={:.1}", store.waited_ms()))?;
        Ok(r)
    }))
}

async fn record(store: &Store, kind: RecordKind, id: &str, nonce: &str) -> Result<(u16, String), ApiError> {
    match store.record_page(kind, id).await.map_err(store_error)? {
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
    let pairs: Vec<(String, String)> = req
        .url()
        .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default();
    let query = DashboardQuery::parse(&pairs);
    let cursors = [query.cursor(List::Contacts), query.cursor(List::Companies), query.cursor(List::Tasks)];
    let row = store
        .dashboard(&query.folded(), cursors, DASHBOARD_PAGE + 1, RECENT_ACTIVITIES, SEARCH_WINDOW)
        .await
        .map_err(store_error)?;
    Ok((200, Dashboard::from_row(row, query, settings, DASHBOARD_PAGE).render(nonce)))
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
