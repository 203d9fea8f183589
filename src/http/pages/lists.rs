//! The list pages and the search results (API.md §9): each the API's list (`http::lists`,
//! `domain::list`) drawn as a page by `domain::pages::lists`. A list page runs its list's
//! statement and reads the users its owner control offers, together; the search results run the
//! three searches (contacts, companies, tasks) and the users, together. "Download CSV" is the
//! list's export, streamed.

use futures_util::future::{join, join4};

use super::super::lists::export;
use super::answer::{Answer, ViewResult};
use super::Page;
use crate::domain::error::ApiError;
use crate::domain::list::{self, encode_cursor, parse_record_list, parse_task_list, Window, WINDOW};
use crate::domain::pages::lists::{api_query, ListPage, ListView, SearchResults, TaskLine, LIST_PAGE, SEARCH_PAGE};
use crate::domain::pages::parts::Owner;
use crate::domain::pages::Shell;
use crate::domain::record::{RecordKind, RecordRow};
use crate::store::d1::Store;


async fn owners(store: &Store) -> Result<Vec<Owner>, ApiError> {
    Ok(store.users().await?.into_iter().map(|u| Owner { id: u.id, name: u.name, email: u.email }).collect())
}

/// The filter the API refused, for the page to name: the detail's path and message.
fn refused(err: &ApiError) -> (String, String) {
    let body = err.body("");
    let detail = &body["details"][0];
    match (detail["path"].as_str(), detail["message"].as_str()) {
        (Some(path), Some(message)) => (path.to_string(), message.to_string()),
        _ => ("filters".to_string(), body["error"].as_str().unwrap_or("not a filter of this list").to_string()),
    }
}

fn wants_file(page: &Page<'_>) -> bool {
    page.query.iter().any(|(k, v)| k == "format" && (v == "csv" || v == "ndjson"))
}

/// The page's query with the export's format, for the API's parser.
fn with_format(page: &Page<'_>, query: &[(String, String)]) -> Vec<(String, String)> {
    let mut q = query.to_vec();
    if let Some((_, v)) = page.query.iter().rev().find(|(k, _)| k == "format") {
        q.push(("format".into(), v.clone()));
    }
    q
}

/// `/view/contacts`, `/view/companies`: the list with its filters, or its CSV.
pub async fn records(page: &Page<'_>, kind: RecordKind) -> ViewResult {
    let list_page = ListPage::Records(kind);
    let query = api_query(list_page, &page.query);
    let parsed = parse_record_list(kind, &with_format(page, &query));
    let mut view = ListView { list: list_page, query: Vec::new(), rows: Vec::<RecordRow>::new(), next: None, users: Vec::new(), problem: None };
    match parsed {
        Ok(list) if wants_file(page) => return Ok(Answer::file(export(page.ctx.env, list)?)),
        Ok(mut list) => {
            list.limit = limit(&query);
            let (window, users) = join(page.ctx.store.list_records(&list, WINDOW), owners(&page.ctx.store)).await;
            let (rows, next) = list::page(window?, list.limit);
            view.rows = rows;
            view.next = next.map(|p| encode_cursor(list.order(), &p));
            view.users = users?;
        }
        Err(err) => refuse(page, &mut view, &err).await?,
    }
    answer(page, view, query, ListView::<RecordRow>::render)
}

/// A list the store could not be asked for: the filter named, beside the form (`400`).
async fn refuse<T>(page: &Page<'_>, view: &mut ListView<T>, err: &ApiError) -> Result<(), ApiError> {
    view.problem = Some(refused(err));
    view.users = owners(&page.ctx.store).await?;
    Ok(())
}

/// The list page, with the address's filters in its form (without the cursor of a refused one).
fn answer<T>(page: &Page<'_>, mut view: ListView<T>, mut query: Vec<(String, String)>, render: fn(&ListView<T>, &Shell) -> String) -> ViewResult {
    let status = if view.problem.is_some() { 400 } else { 200 };
    query.retain(|(k, _)| view.problem.is_none() || k != "cursor");
    view.query = query;
    Ok(Answer::page(status, render(&view, &page.shell)))
}

/// Rows a list page shows: its `limit` when the address names one (the API's bounds), else
/// [`LIST_PAGE`].
fn limit(query: &[(String, String)]) -> usize {
    crate::domain::feed::parse_limit(query, LIST_PAGE, crate::domain::list::MAX_LIMIT).unwrap_or(LIST_PAGE)
}

/// `/view/tasks`.
pub async fn tasks(page: &Page<'_>) -> ViewResult {
    let query = api_query(ListPage::Tasks, &page.query);
    let parsed = parse_task_list(&with_format(page, &query));
    let mut view = ListView { list: ListPage::Tasks, query: Vec::new(), rows: Vec::<TaskLine>::new(), next: None, users: Vec::new(), problem: None };
    match parsed {
        Ok(list) if wants_file(page) => return Ok(Answer::file(export(page.ctx.env, list)?)),
        Ok(mut list) => {
            list.limit = limit(&query);
            let (window, users) = join(page.ctx.store.list_task_lines::<TaskLine>(&list, WINDOW), owners(&page.ctx.store)).await;
            let (rows, next) = list::page(window?, list.limit);
            view.rows = rows;
            view.next = next.map(|p| encode_cursor(list.order(), &p));
            view.users = users?;
        }
        Err(err) => refuse(page, &mut view, &err).await?,
    }
    answer(page, view, query, ListView::<TaskLine>::render)
}

/// `/view/search?q=`: the best matches of each kind (four statements, run together; none for an
/// empty box).
pub async fn search(page: &Page<'_>) -> ViewResult {
    let q = page.query.iter().rev().find(|(k, _)| k == "q").map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let mut results = SearchResults { q: q.clone(), contacts: (Vec::new(), false), companies: (Vec::new(), false), tasks: (Vec::new(), false), users: Vec::new() };
    if !q.is_empty() {
        let ask = vec![("q".to_string(), q.clone()), ("limit".to_string(), SEARCH_PAGE.to_string())];
        let contacts = parse_record_list(RecordKind::Contact, &ask)?;
        let companies = parse_record_list(RecordKind::Company, &ask)?;
        let tasks = parse_task_list(&ask)?;
        let store = &page.ctx.store;
        let (c, co, t, users) = join4(
            store.list_records(&contacts, WINDOW),
            store.list_records(&companies, WINDOW),
            store.list_task_lines::<TaskLine>(&tasks, WINDOW),
            owners(store),
        )
        .await;
        let found = |w: Window<RecordRow>| {
            let (rows, next) = list::page(w, SEARCH_PAGE);
            (rows, next.is_some())
        };
        results.contacts = found(c?);
        results.companies = found(co?);
        let (rows, next) = list::page(t?, SEARCH_PAGE);
        results.tasks = (rows, next.is_some());
        results.users = users?;
    }
    Ok(Answer::page(200, results.render(&page.shell)))
}
