//! The pages for people (API.md §9), one pipeline like the API's: sign in (`signin`), open the
//! session and the store, read who the person is and their open tasks for the header (one
//! statement), then the page's handler: a view (`views`, GET) or a form (`forms`, POST, whose
//! write is the API's own handler), answered in one place (`answer`) with the pages' headers.
//!
//! Every decision is the pure core's (`domain::pages`): who may see a page, what a form asks for,
//! what a page shows. Here the headers and bodies are read and the statements run.

mod answer;
mod forms;
mod import;
mod lists;
mod signin;
mod views;

use std::rc::Rc;

use worker::{Context as WorkerContext, Env, Request};

use super::context::{self, now_millis, Ctx};
use crate::domain::config::Config;
use crate::domain::error::ApiError;
use crate::domain::pages::form::{self, check_post, Forms, Post};
use crate::domain::pages::parts::Owner;
use crate::domain::pages::work::{day_bounds, email_key, WorkRow};
use crate::domain::pages::{Person, Shell};
use crate::domain::routes::{ReadFrom, RouteId};
use crate::domain::time::Timestamp;
use crate::store::d1::Store;
use crate::store::sql_work_page::WORK_GROUP_LIMIT;
pub use answer::error_page;
use answer::{Answer, PageResult};
use signin::Signed;

/// What every page handler gets: the API's context (configuration, store, request id, and the
/// path's parameters, so a form can run the API's handler), who the person is, and the frame of
/// the page.
pub struct Page<'a> {
    pub ctx: Ctx<'a>,
    pub person: Person,
    /// The person's user, when they are one: the owner of what they log, their tasks.
    pub user: Option<Owner>,
    pub shell: Shell,
    pub forms: Forms,
    /// The session the browser's cookie named (`None`: this answer starts one).
    pub session: Option<String>,
    /// The key of the session's form tokens.
    pub form_key: String,
    pub query: Vec<(String, String)>,
    /// The scheme, host and port the request came to (the settings Enginy needs, when
    /// `PUBLIC_URL` is unset).
    pub origin: String,
    /// My work's row, read in place of the header's (it holds the header's counts too).
    pub work: Option<WorkRow>,
}

/// `meter` reads what the page's store and cache spent, whatever the page answers.
pub async fn serve(req: Request, env: &Env, worker: &WorkerContext, request_id: &str, route: RouteId, params: &[&str], meter: &mut context::Meter) -> PageResult {
    let nonce = answer::nonce();
    let signed = match signin::who(env, &req).await {
        Ok(signed) => signed,
        Err(refusal) => return Ok(answer::refusal(&nonce, &refusal)),
    };
    // The sentence that names a bad variable is for `/health`, behind the API key.
    let config = context::config(env)?;
    let secure = req.url().map(|u| u.scheme() == "https").unwrap_or(false);
    let sent = form::session_of(req.headers().get("Cookie").ok().flatten().as_deref(), secure);
    let session = sent.clone().unwrap_or_else(|| form::new_session(answer::random_bytes()));
    let set_cookie = sent.is_none().then(|| form::set_cookie(&session, secure));
    let bookmark = req.headers().get("X-D1-Bookmark").ok().flatten();
    let store = Store::open(env, ReadFrom::of(route, bookmark.as_deref()))?;
    let ctx = Ctx { params: params.to_vec(), ..Ctx::new(env, worker, Rc::clone(&config), store, request_id) };
    *meter = ctx.meter();
    let mut page = Page::open(ctx, &config, signed, &session, sent, &nonce, &req, route).await?;
    let answer = match route.is_form() {
        true => forms::serve(&mut page, route, req).await?,
        false => views::serve(&page, route).await?,
    };
    Ok(answer::finish(answer, &nonce, set_cookie.as_deref()))
}

/// An old page address: the same page under `/view/`, query kept (`308`, so a form posted to an
/// old address is posted again to the new one).
pub fn moved(path: &str, query: Option<&str>) -> worker::Result<worker::Response> {
    let to = crate::domain::pages::moved_to(path, query);
    let mut response = worker::Response::empty()?.with_status(308);
    response.headers_mut().set("Location", &to)?;
    Ok(response)
}

impl<'a> Page<'a> {
    /// The page of a signed-in person: their user and open tasks read (one statement, none for a
    /// shared password that named no email; on My work, the page's own), the header's frame, and
    /// the forms' token.
    #[allow(clippy::too_many_arguments)]
    async fn open(
        ctx: Ctx<'a>,
        config: &Config,
        signed: Signed,
        session: &str,
        sent: Option<String>,
        nonce: &str,
        req: &Request,
        route: RouteId,
    ) -> Result<Page<'a>, ApiError> {
        let (claimed, verified) = match signed {
            Signed::Access { email } => (email, true),
            Signed::Password { user } => (user, false),
        };
        let (user, counts, work) = match email_key(&claimed) {
            Some(key) => {
                let (now, tomorrow) = day_bounds(Timestamp::from_millis(now_millis()));
                let (row, work) = match route {
                    RouteId::PageWork => {
                        let work = ctx.store.work_page(&key, &now, &tomorrow, WORK_GROUP_LIMIT).await?;
                        (work.person(), Some(work))
                    }
                    _ => (ctx.store.work_counts(&key, &now, &tomorrow).await?, None),
                };
                (row.user(), Some(row.counts).filter(|_| row.user.is_some()), work)
            }
            None => (None, None, None),
        };
        // With the shared password, the user name names a person only when it is a user's email.
        let email = match verified {
            true => Some(claimed),
            false => user.as_ref().map(|u| u.email.clone()),
        };
        let person = Person { email };
        let secret = config.dashboard_password.clone().unwrap_or_else(|| config.auth.api_keys.secret_material());
        let form_key = form::form_key(&secret, person.actor());
        let forms = Forms::new(&form::form_token(&form_key, session), nonce);
        let query = context::query_pairs(req);
        let origin = req.url().map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        let q = query.iter().find(|(k, _)| k == "q").map(|(_, v)| v.clone()).unwrap_or_default();
        let shell = Shell { nonce: nonce.to_string(), person: Some(person.label()), counts, q, refresh: None };
        Ok(Page { ctx, person, user, shell, forms, session: sent, form_key, query, origin, work })
    }

    /// The `403` page of a post that did not come from a page this server rendered for this
    /// browser's session and person (`form::check_post`; `token` is the form's); `None` when it did.
    pub fn refuse_post(&self, req: &Request, token: Option<&str>) -> Option<Answer> {
        let header = |name: &str| req.headers().get(name).ok().flatten();
        let (fetch_site, sent_origin) = (header("Sec-Fetch-Site"), header("Origin"));
        let own_origin = req.url().map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        let own = match (&self.ctx.config.public_url, &sent_origin) {
            (Some(public), Some(o)) if public.trim_end_matches('/') == o => o.clone(),
            _ => own_origin,
        };
        let check = Post { session: self.session.as_deref(), token, fetch_site: fetch_site.as_deref(), origin: sent_origin.as_deref(), own_origin: &own };
        check_post(&self.form_key, &check).err().map(|refusal| self.message(403, "Nothing was changed", refusal.message()))
    }

    /// A page that only says something, in this page's frame.
    pub fn message(&self, status: u16, title: &str, message: &str) -> Answer {
        Answer::message(status, &self.shell, title, message)
    }
}
