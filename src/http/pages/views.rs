//! The pages a GET shows: the dashboard, My work, a record (with its possible duplicates), every
//! group of possible duplicates, the merge review, and a deletion's confirmation. Each runs a
//! fixed number of statements whatever the store holds, sent together where they can be.

use futures_util::future::{join, join3};

use super::super::merge::group_page;
use super::answer::{Answer, ViewResult};
use super::Page;
use crate::domain::feed::parse_limit;
use crate::domain::merge::{cursor_param, duplicate_fields, group_duplicates};
use crate::domain::pages::dashboard::DuplicatesList;
use crate::domain::pages::edit::{FormState, Notice};
use crate::domain::pages::html::{url_encode, Html};
use crate::domain::pages::layout::page as document;
use crate::domain::pages::merge::{review_ids, DuplicatesPage, MergeNotice, MergeReview, DASHBOARD_GROUPS, DUPLICATES_PAGE};
use crate::domain::pages::parts::record_href;
use crate::domain::pages::record_forms::delete_confirmation;
use crate::domain::pages::work::WorkPage;
use crate::domain::pages::{Dashboard, DashboardQuery, List, RecordPage, Settings, Shell};
use crate::domain::record::RecordKind;
use crate::domain::routes::RouteId;
use crate::store::sql_pages::{DASHBOARD_PAGE, RECENT_ACTIVITIES};

/// The most groups a page of possible duplicates shows (`?limit=`).
const MAX_DUPLICATES_PAGE: usize = 200;

/// Rows of a record's possible duplicates its page reads at most.
const DUPLICATE_ROWS: usize = 200;


/// One line per page: where each page's code lives.
pub async fn serve(page: &Page<'_>, route: RouteId) -> ViewResult {
    match route {
        RouteId::PageDashboard => dashboard(page).await,
        RouteId::PageWork => work(page).await,
        RouteId::PageRecord(kind) => record(page, kind, page.ctx.params[0], None).await,
        RouteId::PageRecordDeleteConfirm(kind) => confirm_delete(page, kind).await,
        RouteId::PageDuplicates(kind) => duplicates(page, kind).await,
        RouteId::PageMergeReview(kind) => review(page, kind).await,
        RouteId::PageImport(kind) => super::import::upload_form(page, kind),
        RouteId::PageImportJob(kind) => super::import::job(page, kind).await,
        RouteId::PageSearch => super::lists::search(page).await,
        RouteId::PageRecords(kind) => super::lists::records(page, kind).await,
        RouteId::PageTasks => super::lists::tasks(page).await,
        other => unreachable!("{other:?} is not a page to show"),
    }
}

/// A record's page, with its possible duplicates (two statements, run together) and, after a
/// form or a merge, a notice of it; `state` draws a refused form again (`400`, or `409` for a
/// stale edit). The id of a record merged into another redirects to the survivor's page (a
/// third statement, on that path only).
pub async fn record(page: &Page<'_>, kind: RecordKind, id: &str, state: Option<FormState>) -> ViewResult {
    let store = &page.ctx.store;
    let rule = page.ctx.config.match_rule(kind);
    let fields = duplicate_fields(rule);
    let (row, duplicates) = join(store.record_page(kind, id), store.duplicates_of(kind, id, &fields, DUPLICATE_ROWS)).await;
    let Some(row) = row? else {
        // A crmId Enginy still holds after a merge ("Open in CRM") leads to the survivor.
        if let Some((_, survivor)) = store.merged_of(kind, &[id.to_string()]).await?.into_iter().next() {
            return Ok(Answer::redirect(302, format!("{}?mergedFrom={}", record_href(kind, &survivor), url_encode(id))));
        }
        let noun = kind.noun().to_lowercase();
        let message = format!("There is no {noun} with the id {id}. It may have been deleted, or the link may be incomplete.");
        return Ok(page.message(404, &format!("{} not found", kind.noun()), &message));
    };
    let mut view = RecordPage::from_row(kind, row);
    view.duplicates = group_duplicates(rule, &duplicates?).into_iter().filter(|g| g.records.iter().any(|r| r.id == id)).collect();
    view.notice = MergeNotice::from_query(&page.query, &page.forms.token);
    view.done = Notice::from_query(&page.query);
    view.forms = page.forms.clone();
    let status = match &state {
        None => 200,
        Some(s) if !s.conflicts.is_empty() => 409,
        Some(_) => 400,
    };
    view.state = state;
    Ok(Answer::page(status, view.render(&page.shell)))
}

/// The dashboard (one statement) and the first groups of possible duplicates of each kind (one
/// statement each), the three run together.
async fn dashboard(page: &Page<'_>) -> ViewResult {
    let (store, config) = (&page.ctx.store, &page.ctx.config);
    let query = DashboardQuery::parse(&page.query);
    // The search box searches every kind on its own page now; a dashboard search bookmarked
    // before goes there.
    if !query.q.is_empty() {
        return Ok(Answer::redirect(302, format!("/view/search?q={}", url_encode(&query.q))));
    }
    let cursors = [query.cursor(List::Contacts), query.cursor(List::Companies), query.cursor(List::Tasks)];
    let first = (String::new(), String::new());
    let groups = |kind| group_page(store, config.match_rule(kind), kind, &first, DASHBOARD_GROUPS);
    let (row, contacts, companies) = join3(
        store.dashboard(cursors, DASHBOARD_PAGE + 1, RECENT_ACTIVITIES),
        groups(RecordKind::Contact),
        groups(RecordKind::Company),
    )
    .await;
    let settings = Settings { base_url: config.public_url.clone().unwrap_or_else(|| page.origin.clone()), api_key_header: config.auth.api_key_header.clone() };
    let mut view = Dashboard::from_row(row?, query, settings, DASHBOARD_PAGE);
    for (kind, (groups, next)) in [(RecordKind::Contact, contacts?), (RecordKind::Company, companies?)] {
        view.duplicates.push(DuplicatesList { kind, groups, more: next.is_some() });
    }
    view.done = Notice::from_query(&page.query);
    Ok(Answer::page(200, view.render(&page.shell)))
}

/// My work: the person's open tasks in four groups (one statement; none for someone with the
/// shared password who named no user, who is told how to become one).
async fn work(page: &Page<'_>) -> ViewResult {
    let claimed = page.person.email.clone().unwrap_or_else(|| page.person.actor().to_string());
    // Read when the page was opened, in place of the header's counts.
    let row = page.work.clone().unwrap_or_default();
    let view = WorkPage::from_row(row, &claimed);
    // The header's counts are the page's own (read in the same statement), so they agree.
    let shell = Shell { counts: view.user.as_ref().map(|_| view.counts), ..page.shell.clone() };
    let done = Notice::from_query(&page.query);
    Ok(Answer::page(
        200,
        document(view.title(), &shell, |h| {
            if let Some(done) = done {
                h.raw("<section class=\"notice\" role=\"status\"><p>").raw(done.sentence()).raw("</p></section>");
            }
            view.render_content(h, &page.forms);
        }),
    ))
}

/// Every group of possible duplicates of a kind, 50 per page (`?cursor=`, `?limit=` up to 200):
/// one statement.
async fn duplicates(page: &Page<'_>, kind: RecordKind) -> ViewResult {
    let Ok(after) = cursor_param(&page.query) else {
        return Ok(page.message(400, "Not a page", "This link's cursor is not one these pages hand out."));
    };
    let Ok(limit) = parse_limit(&page.query, DUPLICATES_PAGE, MAX_DUPLICATES_PAGE) else {
        return Ok(page.message(400, "Not a page", &format!("limit is a number of groups from 1 to {MAX_DUPLICATES_PAGE}.")));
    };
    let (groups, next) = group_page(&page.ctx.store, page.ctx.config.match_rule(kind), kind, &after, limit).await?;
    let first = after.0.is_empty();
    Ok(Answer::page(200, DuplicatesPage { kind, groups, next, first, limit }.render(&page.shell)))
}

/// The merge review page of `?ids=…`: one statement. Every id must name a live record of this
/// kind; otherwise the page says which does not.
async fn review(page: &Page<'_>, kind: RecordKind) -> ViewResult {
    let ids = match review_ids(&page.query) {
        Ok(ids) => ids,
        Err(message) => return Ok(page.message(400, "Nothing to review", &message)),
    };
    let loaded = page.ctx.store.merge_load(kind, &ids).await?;
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
        return Ok(page.message(404, "Cannot review this merge", &problem));
    }
    Ok(Answer::page(200, MergeReview { kind, records, token: page.forms.token.clone() }.render(&page.shell)))
}

/// "Delete this contact?": one statement (the record, to name it).
async fn confirm_delete(page: &Page<'_>, kind: RecordKind) -> ViewResult {
    let id = page.ctx.params[0];
    let Some(row) = page.ctx.store.one(kind, id).await? else {
        let noun = kind.noun().to_lowercase();
        return Ok(page.message(404, &format!("{} not found", kind.noun()), &format!("There is no {noun} with the id {id}.")));
    };
    let name = crate::domain::pages::parts::shown_identity(kind, &row.fields);
    let title = format!("Delete {name}?");
    Ok(Answer::page(200, document(&title, &page.shell, |h: &mut Html| delete_confirmation(h, kind, id, &name, &page.forms))))
}
