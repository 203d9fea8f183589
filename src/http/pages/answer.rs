//! The one place every page is answered: the HTML with the pages' security headers (CSP with the
//! page's nonce, no framing, no referrer), a redirect's `Location`, the session cookie a new
//! session needs. Refusals and failures are answered here too, so no page leaves without those
//! headers; what the request cost (`X-D1-Statements`, rows, KV reads) the pipeline adds to every
//! answer.

use worker::Response;

use crate::domain::error::ApiError;
use crate::domain::pages::layout::{headers, message_page};
use crate::domain::pages::{Refusal, Shell};

/// What a page handler answers: a page, or an API error the pipeline answers as a page.
pub type ViewResult = Result<Answer, ApiError>;

pub type PageResult = Result<worker::Result<Response>, ApiError>;

/// What a page handler answers: a status and its HTML, a redirect, or a file (a list's export).
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
    pub file: Option<Response>,
}

impl Answer {
    pub fn page(status: u16, body: String) -> Answer {
        Answer { status, body, location: None, file: None }
    }

    /// A file, answered as it is (its own content type), with the session's cookie.
    pub fn file(response: Response) -> Answer {
        Answer { status: 200, body: String::new(), location: None, file: Some(response) }
    }

    /// `303 See Other` after a form's write (the browser then asks for `to` with a GET, so a
    /// reload never posts again), `302` for a page that moved for this request, `308` for an
    /// address that moved for good.
    pub fn redirect(status: u16, to: String) -> Answer {
        Answer { status, body: String::new(), location: Some(to), file: None }
    }

    /// A page that only says something.
    pub fn message(status: u16, shell: &Shell, title: &str, message: &str) -> Answer {
        Answer::page(status, message_page(shell, title, message))
    }
}

/// The response of a page: `answer` with the pages' headers and the cookie of a new session (a
/// download is answered as it is, with the same).
pub fn finish(answer: Answer, nonce: &str, set_cookie: Option<&str>) -> worker::Result<Response> {
    let mut response = match answer.file {
        Some(file) => file,
        None => html(answer.status, nonce, answer.body)?,
    };
    if let Some(to) = &answer.location {
        response.headers_mut().set("Location", to)?;
    }
    if let Some(cookie) = set_cookie {
        response.headers_mut().set("Set-Cookie", cookie)?;
    }
    Ok(response)
}

/// The page of a refused sign-in: its status, its sentence and its headers, nothing of a record.
pub fn refusal(nonce: &str, refusal: &Refusal) -> worker::Result<Response> {
    let (title, message) = refusal.words();
    let mut response = html(refusal.status(), nonce, message_page(&Shell::bare(nonce), title, &message))?;
    for (name, value) in refusal.headers() {
        response.headers_mut().set(name, &value)?;
    }
    Ok(response)
}

/// A page request that failed on our side (a broken configuration, D1 unreachable, a bug): the
/// friendly page with the pages' headers. The cause stays in the log line, never on the page.
pub fn error_page(err: &ApiError) -> worker::Result<Response> {
    let nonce = nonce();
    let (title, message) = match err {
        ApiError::Unavailable(_) => ("Unavailable", "The server cannot show this page right now. Its operator can see why at GET /health."),
        _ => ("Something went wrong", "The server could not show this page. Try again in a moment."),
    };
    html(err.status(), &nonce, message_page(&Shell::bare(&nonce), title, message))
}

/// A fresh nonce for the page's stylesheet (and the seed of its form ids): 128 random bits, hex.
pub fn nonce() -> String {
    random_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// 128 random bits (a nonce, a session id).
pub fn random_bytes() -> [u8; 16] {
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
