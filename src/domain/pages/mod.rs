//! Pages for people (API.md §9): the record pages Enginy's "Open in CRM" links open, and the
//! dashboard. Everything here is pure: who may see a page ([`auth`]), how text becomes safe HTML
//! ([`html`]), each page rendered from plain data ([`record`], [`dashboard`], the duplicates
//! lists and merge review of [`merge`]), and what a page's form must carry ([`form`]). The Worker
//! reads the data in one statement per page (`store::sql_pages`), plus the possible duplicates
//! beside it, and sends what these return.
//!
//! No page needs JavaScript, and none may run any: the Content-Security-Policy of
//! [`layout::headers`] allows only the page's own stylesheet.

pub mod auth;
pub mod dashboard;
pub mod edit;
pub mod form;
pub mod html;
pub mod import;
pub mod layout;
pub mod merge;
pub mod parts;
pub mod record;
pub mod record_forms;
pub mod work;

pub use auth::{sign_in, Person, Refusal, SignIn, CHALLENGE};
pub use dashboard::{Dashboard, DashboardQuery, DashboardRow, List, Settings};
pub use layout::Shell;
pub use layout::WorkCounts;
pub use record::{RecordPage, RecordRow};

/// Where an old page address lives now: the same path under `/view/` (`/` is the dashboard,
/// `/view/`), with its query.
pub fn moved_to(path: &str, query: Option<&str>) -> String {
    let path = path.trim_end_matches('/');
    let mut to = format!("/view{path}");
    if path.is_empty() {
        to.push('/');
    }
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        to.push('?');
        to.push_str(q.trim_start_matches('?'));
    }
    to
}

#[cfg(test)]
mod tests {
    use super::moved_to;

    #[test]
    fn old_addresses_move_under_view_with_their_query() {
        assert_eq!(moved_to("/", None), "/view/");
        assert_eq!(moved_to("/", Some("q=acme")), "/view/?q=acme");
        assert_eq!(moved_to("/duplicates/contact", Some("cursor=x&limit=2")), "/view/duplicates/contact?cursor=x&limit=2");
        assert_eq!(moved_to("/merge/company/undo", Some("")), "/view/merge/company/undo");
    }
}

