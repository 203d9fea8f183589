//! The route table: every route the API serves, the methods it takes, whether it takes a body and
//! which credential it needs. Matching is pure, so `404` and `405` are decided (and tested) here.
//! Patterns use OpenAPI's `{param}` syntax; a unit test keeps this table and `openapi.json` equal.

use super::record::RecordKind::{self, Company, Contact};
use Access::{ApiKey, Moved, Page, Public};

/// Where a request's D1 session starts (API.md §10): writes on the primary; reads that may lag
/// on any replica, or on one at least as new as the bookmark the client sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFrom {
    Primary,
    AnyReplica,
    Bookmark(String),
}

/// The longest bookmark taken from a client (D1's are about 60 characters).
const MAX_BOOKMARK: usize = 256;

impl ReadFrom {
    /// The session of `route`, given the client's `X-D1-Bookmark`. A value that cannot be a
    /// bookmark (empty, too long, not a plain token) is ignored.
    pub fn of(route: RouteId, bookmark: Option<&str>) -> ReadFrom {
        if !route.may_read_a_replica() {
            return ReadFrom::Primary;
        }
        match bookmark.map(str::trim) {
            Some(b)
                if !b.is_empty()
                    && b.len() <= MAX_BOOKMARK
                    && !b.starts_with("first-")
                    && b.bytes().all(|c| c.is_ascii_alphanumeric() || b"-_.:+/=".contains(&c)) =>
            {
                ReadFrom::Bookmark(b.to_string())
            }
            _ => ReadFrom::AnyReplica,
        }
    }
}

/// What a route is, for dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteId {
    Health,
    OpenApi,
    /// `POST /{kind}`
    RecordCreate(RecordKind),
    /// `PUT /{kind}`
    RecordUpdate(RecordKind),
    /// `GET /{kind}`: the change feed, or with list parameters a list, a search or an export.
    RecordFeed(RecordKind),
    /// `POST /{kind}/sync`: which records already exist.
    RecordSync(RecordKind),
    /// `POST /{kind}/batch`: read by ids.
    RecordBatch(RecordKind),
    /// `GET /{kind}/{id}`
    RecordGet(RecordKind),
    /// `DELETE /{kind}/{id}`
    RecordDelete(RecordKind),
    /// `GET /{kind}/{id}/history`
    RecordHistory(RecordKind),
    /// `GET /{kind}/duplicates`: groups of records the identifier would match with each other.
    RecordDuplicates(RecordKind),
    /// `POST /{kind}/merge`: merge records into a survivor.
    RecordMerge(RecordKind),
    /// `POST /{kind}/merge/{id}/undo`: undo a merge.
    RecordMergeUndo(RecordKind),
    /// `POST /{kind}/import`: a CSV file through the create path (or its plan, `?dryRun=true`).
    RecordImport(RecordKind),
    /// `POST /associations`
    LinksAdd,
    /// `DELETE /associations`
    LinksRemove,
    TaskCreate,
    /// `GET /tasks`: the task list and search.
    TaskList,
    TaskGet,
    TaskUpdate,
    TaskDelete,
    /// `GET /tasks/{id}/history`
    TaskHistory,
    /// `POST /tasks/batch`
    TasksRead,
    /// `PATCH /tasks/batch`
    TasksUpdate,
    ActivityLog,
    ActivityGet,
    /// `GET /activities/{id}/history`
    ActivityHistory,
    /// `GET /{kind}/{id}/activities`
    Timeline(RecordKind),
    UsersList,
    UsersUpsert,
    UserDelete,
    /// `GET /view/`: the dashboard (HTML).
    PageDashboard,
    /// `GET /view/work`: the signed-in person's open tasks (HTML).
    PageWork,
    /// `GET /view/contact/{id}`, `GET /view/company/{id}`: a record's page (HTML).
    PageRecord(RecordKind),
    /// `POST /view/{kind}/{id}`: the record page's edit form (fields, custom properties, owner).
    PageRecordEdit(RecordKind),
    /// `GET /view/{kind}/{id}/delete`: the confirmation page of a deletion.
    PageRecordDeleteConfirm(RecordKind),
    /// `POST /view/{kind}/{id}/delete`: the confirmed deletion.
    PageRecordDelete(RecordKind),
    /// `POST /view/{kind}/{id}/activities`: log a note or a call on the record.
    PageActivity(RecordKind),
    /// `POST /view/{kind}/{id}/tasks`: create a task on the record.
    PageTaskCreate(RecordKind),
    /// `POST /view/{kind}/{id}/associations`: add or remove a link.
    PageLinks(RecordKind),
    /// `POST /view/tasks/{id}`: complete, reopen, reschedule or reassign a task.
    PageTask,
    /// `GET /view/duplicates/contact`, `GET /view/duplicates/company`: every group of possible
    /// duplicates, paged (HTML).
    PageDuplicates(RecordKind),
    /// `GET /view/merge/contact?ids=…`, `GET /view/merge/company?ids=…`: the merge review page.
    PageMergeReview(RecordKind),
    /// `POST /view/merge/contact`, `POST /view/merge/company`: the review page's form.
    PageMerge(RecordKind),
    /// `POST /view/merge/contact/undo`, `POST /view/merge/company/undo`: "Undo this merge".
    PageMergeUndo(RecordKind),
    /// `GET /view/import/contact`, `GET /view/import/company`: the upload form.
    PageImport(RecordKind),
    /// `POST /view/import/contact`, `POST /view/import/company`: the uploaded file (a
    /// `multipart/form-data` form), kept for its preview.
    PageImportUpload(RecordKind),
    /// `GET /view/import/{kind}/{id}`: an uploaded file's preview, its import's progress (and,
    /// with `?next`, its next part imported), or its result.
    PageImportJob(RecordKind),
    /// `POST /view/import/{kind}/{id}`: the preview's "Import" button: the first part imported.
    PageImportStart(RecordKind),
    /// `GET /view/search?q=`: the header's search over contacts, companies and tasks (HTML).
    PageSearch,
    /// `GET /view/contacts`, `GET /view/companies`: a list with its filters (HTML, or its CSV).
    PageRecords(RecordKind),
    /// `GET /view/tasks`: the task list with its filters (HTML, or its CSV).
    PageTasks,
    /// `/` and the pages' paths from before they moved under `/view/`: a redirect there.
    PageMoved,
}

/// Which credential a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (only the API description).
    Public,
    /// The API key header.
    ApiKey,
    /// A person (Cloudflare Access, or the shared password): the HTML pages, which are not API.
    Page,
    /// Nobody: an old page address that only redirects to its place under `/view/`.
    Moved,
}

#[derive(Debug)]
pub struct Route {
    pub pattern: &'static str,
    pub method: &'static str,
    pub id: RouteId,
    /// Whether the route reads a body (and so checks its content type and size): JSON, or CSV for
    /// the routes [`RouteId::reads_csv`] names.
    pub takes_body: bool,
    pub access: Access,
}

const fn route(pattern: &'static str, method: &'static str, id: RouteId, takes_body: bool, access: Access) -> Route {
    Route { pattern, method, id, takes_body, access }
}

pub static ROUTES: &[Route] = &[
    route("/health", "GET", RouteId::Health, false, ApiKey),
    route("/openapi.json", "GET", RouteId::OpenApi, false, Public),
    route("/contacts", "POST", RouteId::RecordCreate(Contact), true, ApiKey),
    route("/contacts", "PUT", RouteId::RecordUpdate(Contact), true, ApiKey),
    route("/contacts", "GET", RouteId::RecordFeed(Contact), false, ApiKey),
    route("/contacts/batch", "POST", RouteId::RecordBatch(Contact), true, ApiKey),
    route("/contacts/sync", "POST", RouteId::RecordSync(Contact), true, ApiKey),
    route("/contacts/duplicates", "GET", RouteId::RecordDuplicates(Contact), false, ApiKey),
    route("/contacts/merge", "POST", RouteId::RecordMerge(Contact), true, ApiKey),
    route("/contacts/merge/{id}/undo", "POST", RouteId::RecordMergeUndo(Contact), false, ApiKey),
    route("/contacts/import", "POST", RouteId::RecordImport(Contact), true, ApiKey),
    route("/contacts/{id}", "GET", RouteId::RecordGet(Contact), false, ApiKey),
    route("/contacts/{id}", "DELETE", RouteId::RecordDelete(Contact), false, ApiKey),
    route("/contacts/{id}/history", "GET", RouteId::RecordHistory(Contact), false, ApiKey),
    route("/companies", "POST", RouteId::RecordCreate(Company), true, ApiKey),
    route("/companies", "PUT", RouteId::RecordUpdate(Company), true, ApiKey),
    route("/companies", "GET", RouteId::RecordFeed(Company), false, ApiKey),
    route("/companies/batch", "POST", RouteId::RecordBatch(Company), true, ApiKey),
    route("/companies/sync", "POST", RouteId::RecordSync(Company), true, ApiKey),
    route("/companies/duplicates", "GET", RouteId::RecordDuplicates(Company), false, ApiKey),
    route("/companies/merge", "POST", RouteId::RecordMerge(Company), true, ApiKey),
    route("/companies/merge/{id}/undo", "POST", RouteId::RecordMergeUndo(Company), false, ApiKey),
    route("/companies/import", "POST", RouteId::RecordImport(Company), true, ApiKey),
    route("/companies/{id}", "GET", RouteId::RecordGet(Company), false, ApiKey),
    route("/companies/{id}", "DELETE", RouteId::RecordDelete(Company), false, ApiKey),
    route("/companies/{id}/history", "GET", RouteId::RecordHistory(Company), false, ApiKey),
    route("/associations", "POST", RouteId::LinksAdd, true, ApiKey),
    route("/associations", "DELETE", RouteId::LinksRemove, true, ApiKey),
    route("/tasks", "POST", RouteId::TaskCreate, true, ApiKey),
    route("/tasks", "GET", RouteId::TaskList, false, ApiKey),
    route("/tasks/batch", "POST", RouteId::TasksRead, true, ApiKey),
    route("/tasks/batch", "PATCH", RouteId::TasksUpdate, true, ApiKey),
    route("/tasks/{id}", "GET", RouteId::TaskGet, false, ApiKey),
    route("/tasks/{id}", "PATCH", RouteId::TaskUpdate, true, ApiKey),
    route("/tasks/{id}", "DELETE", RouteId::TaskDelete, false, ApiKey),
    route("/tasks/{id}/history", "GET", RouteId::TaskHistory, false, ApiKey),
    route("/activities", "POST", RouteId::ActivityLog, true, ApiKey),
    route("/activities/{id}", "GET", RouteId::ActivityGet, false, ApiKey),
    route("/activities/{id}/history", "GET", RouteId::ActivityHistory, false, ApiKey),
    route("/contacts/{id}/activities", "GET", RouteId::Timeline(Contact), false, ApiKey),
    route("/companies/{id}/activities", "GET", RouteId::Timeline(Company), false, ApiKey),
    route("/users", "GET", RouteId::UsersList, false, ApiKey),
    route("/users", "POST", RouteId::UsersUpsert, true, ApiKey),
    route("/users/{id}", "DELETE", RouteId::UserDelete, false, ApiKey),
    route("/view", "GET", RouteId::PageDashboard, false, Page),
    route("/view/work", "GET", RouteId::PageWork, false, Page),
    route("/view/search", "GET", RouteId::PageSearch, false, Page),
    route("/view/contacts", "GET", RouteId::PageRecords(Contact), false, Page),
    route("/view/companies", "GET", RouteId::PageRecords(Company), false, Page),
    route("/view/tasks", "GET", RouteId::PageTasks, false, Page),
    route("/view/contact/{id}", "GET", RouteId::PageRecord(Contact), false, Page),
    route("/view/contact/{id}", "POST", RouteId::PageRecordEdit(Contact), false, Page),
    route("/view/contact/{id}/delete", "GET", RouteId::PageRecordDeleteConfirm(Contact), false, Page),
    route("/view/contact/{id}/delete", "POST", RouteId::PageRecordDelete(Contact), false, Page),
    route("/view/contact/{id}/activities", "POST", RouteId::PageActivity(Contact), false, Page),
    route("/view/contact/{id}/tasks", "POST", RouteId::PageTaskCreate(Contact), false, Page),
    route("/view/contact/{id}/associations", "POST", RouteId::PageLinks(Contact), false, Page),
    route("/view/company/{id}", "GET", RouteId::PageRecord(Company), false, Page),
    route("/view/company/{id}", "POST", RouteId::PageRecordEdit(Company), false, Page),
    route("/view/company/{id}/delete", "GET", RouteId::PageRecordDeleteConfirm(Company), false, Page),
    route("/view/company/{id}/delete", "POST", RouteId::PageRecordDelete(Company), false, Page),
    route("/view/company/{id}/activities", "POST", RouteId::PageActivity(Company), false, Page),
    route("/view/company/{id}/tasks", "POST", RouteId::PageTaskCreate(Company), false, Page),
    route("/view/company/{id}/associations", "POST", RouteId::PageLinks(Company), false, Page),
    route("/view/tasks/{id}", "POST", RouteId::PageTask, false, Page),
    route("/view/duplicates/contact", "GET", RouteId::PageDuplicates(Contact), false, Page),
    route("/view/duplicates/company", "GET", RouteId::PageDuplicates(Company), false, Page),
    route("/view/merge/contact", "GET", RouteId::PageMergeReview(Contact), false, Page),
    route("/view/merge/contact", "POST", RouteId::PageMerge(Contact), false, Page),
    route("/view/merge/company", "GET", RouteId::PageMergeReview(Company), false, Page),
    route("/view/merge/company", "POST", RouteId::PageMerge(Company), false, Page),
    route("/view/merge/contact/undo", "POST", RouteId::PageMergeUndo(Contact), false, Page),
    route("/view/merge/company/undo", "POST", RouteId::PageMergeUndo(Company), false, Page),
    route("/view/import/contact", "GET", RouteId::PageImport(Contact), false, Page),
    route("/view/import/contact", "POST", RouteId::PageImportUpload(Contact), false, Page),
    route("/view/import/contact/{id}", "GET", RouteId::PageImportJob(Contact), false, Page),
    route("/view/import/contact/{id}", "POST", RouteId::PageImportStart(Contact), false, Page),
    route("/view/import/company", "GET", RouteId::PageImport(Company), false, Page),
    route("/view/import/company", "POST", RouteId::PageImportUpload(Company), false, Page),
    route("/view/import/company/{id}", "GET", RouteId::PageImportJob(Company), false, Page),
    route("/view/import/company/{id}", "POST", RouteId::PageImportStart(Company), false, Page),
    // Where the pages were before they moved under `/view/` (one Access application on `/view`
    // protects them all): bookmarks and open forms land in the same place.
    route("/", "GET", RouteId::PageMoved, false, Moved),
    route("/duplicates/contact", "GET", RouteId::PageMoved, false, Moved),
    route("/duplicates/company", "GET", RouteId::PageMoved, false, Moved),
    route("/merge/contact", "GET", RouteId::PageMoved, false, Moved),
    route("/merge/contact", "POST", RouteId::PageMoved, false, Moved),
    route("/merge/company", "GET", RouteId::PageMoved, false, Moved),
    route("/merge/company", "POST", RouteId::PageMoved, false, Moved),
    route("/merge/contact/undo", "POST", RouteId::PageMoved, false, Moved),
    route("/merge/company/undo", "POST", RouteId::PageMoved, false, Moved),
];

/// A route matched to a request, with its path parameters in pattern order.
#[derive(Debug)]
pub struct Matched<'p> {
    pub route: &'static Route,
    pub params: Vec<&'p str>,
    /// A `HEAD` request: served as the route's `GET`, answered without a body (RFC 9110 §9.3.2).
    pub head: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    /// The path exists under these methods only.
    MethodNotAllowed(Vec<&'static str>),
}

/// Matches a request to its route. `HEAD` matches every `GET` route (and is listed in `Allow`
/// beside it).
pub fn match_route<'p>(method: &str, path: &'p str) -> Result<Matched<'p>, RouteError> {
    // One trailing slash is forgiven: `/health/` is `/health`.
    let path = if path.len() > 1 { path.strip_suffix('/').unwrap_or(path) } else { path };
    let head = method.eq_ignore_ascii_case("HEAD");
    let method = if head { "GET" } else { method };
    let mut allowed: Vec<&'static str> = Vec::new();
    for route in ROUTES {
        if let Some(params) = match_pattern(route.pattern, path) {
            if route.method.eq_ignore_ascii_case(method) {
                return Ok(Matched { route, params, head });
            }
            let methods: &[&'static str] = if route.method == "GET" { &["GET", "HEAD"] } else { std::slice::from_ref(&route.method) };
            for m in methods {
                if !allowed.contains(m) {
                    allowed.push(m);
                }
            }
        }
    }
    if allowed.is_empty() {
        Err(RouteError::NotFound)
    } else {
        Err(RouteError::MethodNotAllowed(allowed))
    }
}

/// Segment by segment. Empty segments do not count, so a doubled slash (`//health`, from a base URL
/// pasted with a trailing slash) reads as one.
fn match_pattern<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut params = Vec::new();
    let mut want = pattern.split('/').filter(|s| !s.is_empty());
    let mut have = path.split('/').filter(|s| !s.is_empty());
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') => {
                if h.is_empty() {
                    return None;
                }
                params.push(h);
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return None,
        }
    }
}

impl RouteId {
    /// Whether the route is a page's form: a `POST` a person makes (read from the route table, so
    /// a new form needs no other list).
    pub fn is_form(self) -> bool {
        ROUTES.iter().any(|r| r.id == self && r.method == "POST" && r.access == Access::Page)
    }

    /// Whether the route only reads, or writes nothing it must read back in the same request, so
    /// a read replica may answer it (a sync's links go to the primary like every write).
    pub fn may_read_a_replica(self) -> bool {
        use RouteId::*;
        matches!(
            self,
            RecordFeed(_) | RecordSync(_) | RecordBatch(_) | RecordDuplicates(_) | RecordGet(_) | RecordHistory(_) | TaskList | TaskGet | TaskHistory | TasksRead
                | ActivityGet | ActivityHistory | Timeline(_) | UsersList | PageDashboard | PageWork | PageRecord(_) | PageRecordDeleteConfirm(_)
                | PageDuplicates(_) | PageMergeReview(_) | PageImport(_) | PageSearch | PageRecords(_) | PageTasks
        )
    }

    /// Whether the route's body is a CSV file (`text/csv`) rather than JSON.
    pub fn reads_csv(self) -> bool {
        matches!(self, RouteId::RecordImport(_))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_form_is_a_pages_post() {
        for id in [RouteId::PageRecordEdit(RecordKind::Contact), RouteId::PageTask, RouteId::PageImportUpload(RecordKind::Company)] {
            assert!(id.is_form(), "{id:?}");
        }
        for id in [RouteId::PageRecord(RecordKind::Contact), RouteId::PageWork, RouteId::RecordCreate(RecordKind::Contact), RouteId::PageMoved] {
            assert!(!id.is_form(), "{id:?}");
        }
    }
    use super::*;

    #[test]
    fn reads_may_use_a_replica_or_the_clients_bookmark_and_writes_the_primary() {
        let sync = RouteId::RecordSync(Company);
        assert_eq!(ReadFrom::of(sync, None), ReadFrom::AnyReplica);
        assert_eq!(ReadFrom::of(sync, Some("0000000a-00000001-00004f9a-abc")), ReadFrom::Bookmark("0000000a-00000001-00004f9a-abc".into()));
        for junk in ["", "  ", "first-primary", "a b", "x;y", &"a".repeat(300)] {
            assert_eq!(ReadFrom::of(RouteId::RecordGet(Contact), Some(junk)), ReadFrom::AnyReplica, "{junk:?}");
        }
        for write in [RouteId::RecordCreate(Contact), RouteId::RecordUpdate(Company), RouteId::RecordDelete(Contact), RouteId::LinksAdd, RouteId::TaskUpdate, RouteId::UsersUpsert, RouteId::ActivityLog] {
            assert_eq!(ReadFrom::of(write, Some("0000000a-00000001")), ReadFrom::Primary, "{write:?}");
        }
        assert!(RouteId::PageDashboard.may_read_a_replica() && !RouteId::Health.may_read_a_replica());
    }

    #[test]
    fn matches_known_routes() {
        let m = match_route("GET", "/health").unwrap();
        assert_eq!(m.route.id, RouteId::Health);
        assert!(m.params.is_empty());
        assert_eq!(match_route("get", "/health/").unwrap().route.id, RouteId::Health);
        // A base URL pasted with a trailing slash doubles the first one.
        assert_eq!(match_route("GET", "//health").unwrap().route.id, RouteId::Health);
        let m = match_route("POST", "//companies//sync").unwrap();
        assert_eq!(m.route.id, RouteId::RecordSync(RecordKind::Company));
        let m = match_route("POST", "/companies/merge/mg_1/undo").unwrap();
        assert_eq!((m.route.id, m.params), (RouteId::RecordMergeUndo(RecordKind::Company), vec!["mg_1"]));
        let m = match_route("GET", "//contacts//ct_1").unwrap();
        assert_eq!(m.params, vec!["ct_1"]);
        assert_eq!(match_route("GET", "/openapi.json").unwrap().route.access, Access::Public);
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in ["/healthz", "/health/x", "/HEALTH", "/contacts/a/b", "/people"] {
            assert_eq!(match_route("GET", path).unwrap_err(), RouteError::NotFound, "{path}");
        }
    }

    #[test]
    fn other_methods_are_not_allowed_with_the_allowed_list() {
        assert_eq!(match_route("POST", "/health").unwrap_err(), RouteError::MethodNotAllowed(vec!["GET", "HEAD"]));
        assert_eq!(match_route("DELETE", "/openapi.json").unwrap_err(), RouteError::MethodNotAllowed(vec!["GET", "HEAD"]));
        assert_eq!(match_route("GET", "/associations").unwrap_err(), RouteError::MethodNotAllowed(vec!["POST", "DELETE"]));
    }

    #[test]
    fn head_is_answered_by_every_get_route_and_only_those() {
        for route in ROUTES {
            let path = route.pattern.replace("{id}", "x_1");
            match match_route("HEAD", &path) {
                Ok(m) => {
                    assert!(m.head && m.route.method == "GET", "{path}");
                    assert!(!match_route("GET", &path).unwrap().head);
                }
                Err(e) => {
                    assert!(ROUTES.iter().all(|r| r.method != "GET" || match_pattern(r.pattern, &path).is_none()), "{path}: {e:?}");
                    assert_eq!(e, RouteError::MethodNotAllowed(ROUTES.iter().filter(|r| match_pattern(r.pattern, &path).is_some()).map(|r| r.method).collect()));
                }
            }
        }
        assert_eq!(match_route("head", "/contacts/ct_1").unwrap().route.id, RouteId::RecordGet(Contact));
        assert_eq!(match_route("HEAD", "/nope").unwrap_err(), RouteError::NotFound);
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        assert_eq!(match_route("POST", "/companies/batch").unwrap().route.id, RouteId::RecordBatch(Company));
        let m = match_route("GET", "/contacts/ct_1").unwrap();
        assert_eq!(m.route.id, RouteId::RecordGet(Contact));
        assert_eq!(m.params, vec!["ct_1"]);
        assert_eq!(
            match_route("PATCH", "/contacts/ct_1").unwrap_err(),
            RouteError::MethodNotAllowed(vec!["GET", "HEAD", "DELETE"])
        );
        assert_eq!(
            match_route("DELETE", "/companies").unwrap_err(),
            RouteError::MethodNotAllowed(vec!["POST", "PUT", "GET", "HEAD"])
        );
    }

    #[test]
    fn task_batch_routes_win_over_task_ids() {
        assert_eq!(match_route("PATCH", "/tasks/batch").unwrap().route.id, RouteId::TasksUpdate);
        assert_eq!(match_route("PATCH", "/tasks/tk_1").unwrap().route.id, RouteId::TaskUpdate);
        assert_eq!(match_route("GET", "/tasks/batch").unwrap().route.id, RouteId::TaskGet);
    }

    #[test]
    fn parameters_are_captured_and_never_empty() {
        assert_eq!(match_pattern("/contacts/{id}", "/contacts/ct_1"), Some(vec!["ct_1"]));
        assert_eq!(match_pattern("/contacts/{id}", "/contacts/"), None);
        assert_eq!(match_pattern("/contacts/{id}/history", "/contacts/a/history"), Some(vec!["a"]));
        assert_eq!(match_pattern("/contacts/{id}", "/contacts/a/b"), None);
    }

    #[test]
    fn pages_are_routes_of_their_own_credential() {
        let m = match_route("GET", "/view/").unwrap();
        assert_eq!((m.route.id, m.route.access), (RouteId::PageDashboard, Access::Page));
        assert_eq!(match_route("GET", "/view").unwrap().route.id, RouteId::PageDashboard);
        assert_eq!(match_route("GET", "/view/work").unwrap().route.id, RouteId::PageWork);
        let m = match_route("POST", "/view/tasks/tk_1").unwrap();
        assert_eq!((m.route.id, m.params), (RouteId::PageTask, vec!["tk_1"]));
        let m = match_route("POST", "/view/contact/ct_1/activities").unwrap();
        assert_eq!((m.route.id, m.route.access), (RouteId::PageActivity(Contact), Access::Page));
        let m = match_route("GET", "/view/company/co_1").unwrap();
        assert_eq!((m.route.id, m.route.access, m.params), (RouteId::PageRecord(Company), Access::Page, vec!["co_1"]));
        assert_eq!(match_route("GET", "/view/contact/ct_1/").unwrap().route.id, RouteId::PageRecord(Contact));
        assert_eq!(match_route("POST", "/view/").unwrap_err(), RouteError::MethodNotAllowed(vec!["GET", "HEAD"]));
        for path in ["/view/contact", "/view/contact/", "/view/person/x", "/view/contact/a/b"] {
            assert_eq!(match_route("GET", path).unwrap_err(), RouteError::NotFound, "{path}");
        }
    }

    #[test]
    fn import_routes_are_literal_and_their_job_pages_write_on_the_primary() {
        let m = match_route("POST", "/contacts/import").unwrap();
        assert_eq!((m.route.id, m.route.takes_body, m.route.access), (RouteId::RecordImport(Contact), true, Access::ApiKey));
        assert!(m.route.id.reads_csv() && !RouteId::RecordCreate(Contact).reads_csv());
        assert_eq!(match_route("GET", "/companies/import").unwrap().route.id, RouteId::RecordGet(Company), "a GET names a record");
        let m = match_route("GET", "/view/import/company/imp_1").unwrap();
        assert_eq!((m.route.id, m.params), (RouteId::PageImportJob(Company), vec!["imp_1"]));
        assert_eq!(ReadFrom::of(RouteId::PageImportJob(Company), None), ReadFrom::Primary, "a job page imports its next part");
        assert_eq!(ReadFrom::of(RouteId::PageImport(Contact), None), ReadFrom::AnyReplica);
        assert_eq!(match_route("POST", "/view/import/contact").unwrap().route.id, RouteId::PageImportUpload(Contact));
    }

    #[test]
    fn the_old_page_addresses_only_redirect() {
        for (method, path) in [("GET", "/"), ("GET", "/duplicates/contact"), ("GET", "/merge/company"), ("POST", "/merge/contact/undo")] {
            let m = match_route(method, path).unwrap();
            assert_eq!((m.route.id, m.route.access), (RouteId::PageMoved, Access::Moved), "{method} {path}");
        }
    }

    #[test]
    fn every_pattern_and_method_is_listed_once() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(!(a.pattern == b.pattern && a.method == b.method), "{} {} twice", a.method, a.pattern);
            }
        }
    }

    /// The served API description and this table list the same routes, methods and credentials.
    #[test]
    fn openapi_document_describes_exactly_these_routes() {
        let doc: serde_json::Value = serde_json::from_str(include_str!("../openapi.json")).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let mut documented = Vec::new();
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    continue;
                }
                let public = op.get("security").is_some_and(|s| s.as_array().is_some_and(|a| a.is_empty()));
                documented.push((path.clone(), method.to_uppercase(), public));
            }
        }
        // Pages are for browsers, not API clients: the API description leaves them out.
        let mut table: Vec<_> = ROUTES
            .iter()
            .filter(|r| !matches!(r.access, Access::Page | Access::Moved))
            .map(|r| (r.pattern.to_string(), r.method.to_string(), r.access == Access::Public))
            .collect();
        documented.sort();
        table.sort();
        assert_eq!(documented, table);
    }
}
