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
pub mod layout;
pub mod merge;
pub mod record;
pub mod record_forms;
pub mod work;

pub use auth::{sign_in, Person, Refusal, SignIn, CHALLENGE};
pub use dashboard::{Dashboard, DashboardQuery, DashboardRow, List, Settings};
pub use layout::Shell;
pub use work::WorkCounts;
pub use record::{RecordPage, RecordRow};
