//! The list pages (`/view/contacts`, `/view/companies`, `/view/tasks`) and the search results of
//! the header's box (`/view/search`), rendered from what the list statements read.
//!
//! A list page is the API's list (`domain::list`) with its filters as a form: the form is sent
//! with GET, so the filters live in the address and a bookmark is a saved view; "Download CSV"
//! is the same address with `format=csv`. The page's query is the API's, but for two form
//! controls a form cannot name freely: `pname` and `pvalue` (a custom field and its value)
//! become `property.<pname>=<pvalue>`. A search orders by best match, so with `q` the page
//! leaves `sort` out (the API refuses the two together).

use serde::Deserialize;

use super::html::{url_encode, Html};
use super::layout::{page, plural, when, Shell};
use super::parts::{about_links, record_href, shown_identity, Owner};
use crate::domain::list::Sort;
use crate::domain::record::{RecordKind, RecordRow};

/// Which list a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListPage {
    Records(RecordKind),
    Tasks,
}

impl ListPage {
    pub fn path(self) -> &'static str {
        match self {
            ListPage::Records(RecordKind::Contact) => "/view/contacts",
            ListPage::Records(RecordKind::Company) => "/view/companies",
            ListPage::Tasks => "/view/tasks",
        }
    }

    fn title(self) -> &'static str {
        match self {
            ListPage::Records(RecordKind::Contact) => "Contacts",
            ListPage::Records(RecordKind::Company) => "Companies",
            ListPage::Tasks => "Tasks",
        }
    }

    /// One of what the list holds, as a caption counts it.
    fn one(self) -> &'static str {
        match self {
            ListPage::Records(RecordKind::Contact) => "contact",
            ListPage::Records(RecordKind::Company) => "company",
            ListPage::Tasks => "task",
        }
    }
}

/// The search results page shows this many of each kind; the list page has the rest.
pub const SEARCH_PAGE: usize = 10;

/// Rows per list page.
pub const LIST_PAGE: usize = 50;

/// The API's query for a list page's own: empty values dropped (an unset form control), the
/// custom field's pair made a `property.` filter, `sort` left out of a search, the export's
/// `format` left out (the handler reads it apart).
pub fn api_query(list: ListPage, pairs: &[(String, String)]) -> Vec<(String, String)> {
    let get = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    let searching = get("q").is_some();
    let mut out: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, v)| !v.trim().is_empty() && !matches!(k.as_str(), "pname" | "pvalue" | "format" | "done"))
        .filter(|(k, _)| !(searching && k == "sort"))
        .map(|(k, v)| (k.clone(), v.trim().to_string()))
        .collect();
    if let (ListPage::Records(_), Some(name), Some(value)) = (list, get("pname"), get("pvalue")) {
        out.retain(|(k, _)| k.strip_prefix("property.") != Some(name));
        out.push((format!("property.{name}"), value.to_string()));
    }
    out
}

/// A page's address with these parameters (and `extra` after them).
pub fn href(list: ListPage, query: &[(String, String)], extra: &[(&str, &str)]) -> String {
    let parts: Vec<String> = query
        .iter()
        .filter(|(k, _)| k != "cursor" && !extra.iter().any(|(e, _)| e == k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(extra.iter().copied())
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
        .collect();
    match parts.is_empty() {
        true => list.path().to_string(),
        false => format!("{}?{}", list.path(), parts.join("&")),
    }
}

/// A task as the list pages read it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TaskLine {
    pub id: String,
    pub subject: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub priority: Option<String>,
    pub owner_id: Option<String>,
    pub due_date: Option<String>,
    pub completed: f64,
    pub completed_at: Option<String>,
    pub contact_id: Option<String>,
    pub contact_name: Option<String>,
    pub company_id: Option<String>,
    pub company_name: Option<String>,
}

/// A list page: the API query it shows (without its cursor), one page of rows, the cursor of
/// the next, and the users the owner control offers.
pub struct ListView<T> {
    pub list: ListPage,
    pub query: Vec<(String, String)>,
    pub rows: Vec<T>,
    pub next: Option<String>,
    pub users: Vec<Owner>,
    /// A filter the API refused: the control's name and why (the page answers `400`).
    pub problem: Option<(String, String)>,
}

impl<T> ListView<T> {
    fn get(&self, name: &str) -> &str {
        self.query.iter().rev().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    fn owner_name<'a>(&'a self, id: Option<&'a str>) -> Option<&'a str> {
        let id = id?;
        Some(self.users.iter().find(|u| u.id == id).map_or(id, |u| u.name.as_str()))
    }

    /// How many filters the address sets (the search, the order and the page are not filters).
    fn active_filters(&self) -> usize {
        let mut names: Vec<&str> = self
            .query
            .iter()
            .filter(|(k, v)| !v.trim().is_empty() && !matches!(k.as_str(), "q" | "sort" | "cursor" | "limit" | "format" | "pvalue" | "done"))
            .map(|(k, _)| k.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names.len()
    }

    fn searching(&self) -> bool {
        !self.get("q").is_empty()
    }

    fn paged(&self) -> bool {
        !self.get("cursor").is_empty()
    }
}

fn field(h: &mut Html, id: &'static str, label: &'static str, control: impl FnOnce(&mut Html)) {
    h.raw("<div class=\"field\"><label for=\"").raw(id).raw("\">").raw(label).raw("</label>");
    control(h);
    h.raw("</div>");
}

fn input(h: &mut Html, id: &'static str, name: &'static str, kind: &'static str, value: &str) {
    h.raw("<input id=\"").raw(id).raw("\" name=\"").raw(name).raw("\" type=\"").raw(kind).raw("\" value=\"").text(value).raw("\">");
}

/// A date control: shows the day of a timestamp filter.
fn date(h: &mut Html, id: &'static str, name: &'static str, value: &str) {
    let day = value.get(..10).filter(|d| d.bytes().all(|b| b.is_ascii_digit() || b == b'-')).unwrap_or("");
    input(h, id, name, "date", day);
}

fn select(h: &mut Html, id: &'static str, name: &'static str, value: &str, options: &[(&str, &str)]) {
    h.raw("<select id=\"").raw(id).raw("\" name=\"").raw(name).raw("\">");
    for (v, label) in options {
        h.raw("<option value=\"").text(v).raw("\"");
        if *v == value {
            h.raw(" selected");
        }
        h.raw(">").text(label).raw("</option>");
    }
    h.raw("</select>");
}

fn users_select<T>(h: &mut Html, view: &ListView<T>, id: &'static str, name: &'static str, anyone: &str) {
    let value = view.get(name);
    let mut options: Vec<(&str, &str)> = vec![("", anyone)];
    options.extend(view.users.iter().map(|u| (u.id.as_str(), u.name.as_str())));
    // A bookmark may name someone the list of users no longer has (or an e-mail): keep it.
    if !value.is_empty() && !view.users.iter().any(|u| u.id == value) {
        options.push((value, value));
    }
    select(h, id, name, value, &options);
}

fn problem<T>(h: &mut Html, view: &ListView<T>) {
    if let Some((name, message)) = &view.problem {
        h.raw("<section class=\"error-summary\" role=\"alert\"><h2>There is a problem</h2><p>");
        h.element("<strong>", name, "</strong>").raw(": ").text(message).raw("</p></section>");
    }
}

fn filters_form<T>(h: &mut Html, view: &ListView<T>) {
    // Folded away until a filter is set (a saved view shows its filters), so that on a phone the
    // list comes first; one keystroke opens it.
    let active = view.active_filters();
    h.raw("<section><details class=\"filters\"").raw(if active > 0 || view.problem.is_some() { " open" } else { "" });
    h.raw("><summary>Filters");
    if active > 0 {
        h.raw(" <span class=\"mute\">(").number(active).raw(" active)</span>");
    }
    h.raw("</summary><form method=\"get\" action=\"").raw(view.list.path()).raw("\"><div class=\"grid\">");
    field(h, "f-q", "Search", |h| input(h, "f-q", "q", "search", view.get("q")));
    match view.list {
        ListPage::Records(_) => {
            field(h, "f-owner", "Owner", |h| users_select(h, view, "f-owner", "ownerId", "Anyone"));
            field(h, "f-tag", "Tag", |h| input(h, "f-tag", "tag", "text", view.get("tag")));
            field(h, "f-open", "Open tasks", |h| {
                select(h, "f-open", "hasOpenTask", view.get("hasOpenTask"), &[("", "Any"), ("true", "Has an open task"), ("false", "Has no open task")])
            });
            field(h, "f-after", "Last activity after", |h| date(h, "f-after", "lastActivityAfter", view.get("lastActivityAfter")));
            field(h, "f-before", "No activity since", |h| date(h, "f-before", "lastActivityBefore", view.get("lastActivityBefore")));
            field(h, "f-created", "Created after", |h| date(h, "f-created", "createdAfter", view.get("createdAfter")));
            // The first custom-field filter in the two controls, any others kept as they are.
            let properties: Vec<(&str, &str)> =
                view.query.iter().filter_map(|(k, v)| Some((k.strip_prefix("property.")?, v.as_str()))).collect();
            let (pname, pvalue) = properties.first().copied().unwrap_or(("", ""));
            field(h, "f-pname", "Custom field", |h| input(h, "f-pname", "pname", "text", pname));
            field(h, "f-pvalue", "Custom field value", |h| input(h, "f-pvalue", "pvalue", "text", pvalue));
            let sorts: Vec<(&str, &str)> = Sort::ALL
                .iter()
                .map(|s| {
                    (s.param(), match s {
                        Sort::Name => "Name",
                        Sort::LastActivity => "Latest activity first",
                        Sort::Updated => "Last changed first",
                        Sort::Created => "Oldest first",
                    })
                })
                .collect();
            field(h, "f-sort", "Order", |h| select(h, "f-sort", "sort", view.get("sort"), &sorts));
            if view.searching() {
                h.raw("<p class=\"hint\">A search lists the best matches first (exact before the rest); the order applies without one.</p>");
            }
            h.raw("</div>");
            for (name, value) in properties.iter().skip(1) {
                h.raw("<input type=\"hidden\" name=\"property.").text(name).raw("\" value=\"").text(value).raw("\">");
            }
        }
        ListPage::Tasks => {
            field(h, "f-assignee", "Assigned to", |h| users_select(h, view, "f-assignee", "assignee", "Anyone"));
            field(h, "f-status", "Status", |h| select(h, "f-status", "status", view.get("status"), &[("", "Any"), ("open", "Open"), ("completed", "Completed")]));
            field(h, "f-due-after", "Due after", |h| date(h, "f-due-after", "dueAfter", view.get("dueAfter")));
            field(h, "f-due-before", "Due before", |h| date(h, "f-due-before", "dueBefore", view.get("dueBefore")));
            h.raw("</div>");
        }
    }
    h.raw("<div class=\"actions\"><button>Apply filters</button> <a href=\"").raw(view.list.path()).raw("\">Clear filters</a></div></form></details></section>");
}

/// "First page", "Next page" (or "Look further" when the part read held no match), and
/// "Download CSV" of the whole list.
fn pager<T>(h: &mut Html, view: &ListView<T>) {
    if view.rows.is_empty() {
        let message = match (view.next.is_some(), view.paged()) {
            (true, _) => "No match in this part of the list.",
            (false, true) => "No more matches.",
            (false, false) => "Nothing matches these filters.",
        };
        h.element("<p class=\"mute\">", message, "</p>");
    }
    h.raw("<p class=\"pager\">");
    if view.paged() {
        h.link(&href(view.list, &view.query, &[]), "« First page");
    }
    if let Some(next) = &view.next {
        let label = if view.rows.is_empty() { "Look further »" } else { "Next page »" };
        h.link(&href(view.list, &view.query, &[("cursor", next)]), label);
    }
    h.link(&href(view.list, &view.query, &[("format", "csv")]), "Download CSV");
    h.raw("</p>");
}

fn cell(h: &mut Html, label: &'static str, text: Option<&str>) {
    h.raw("<td data-label=\"").raw(label).raw("\">");
    if let Some(t) = text.filter(|t| !t.trim().is_empty()) {
        h.text(t);
    }
    h.raw("</td>");
}

/// A date cell: kept on one line (a long value beside it wraps instead).
fn date_cell(h: &mut Html, label: &'static str, at: Option<&str>) {
    h.raw("<td class=\"date\" data-label=\"").raw(label).raw("\">");
    if let Some(at) = at {
        h.text(&when(at));
    }
    h.raw("</td>");
}

fn text_of<'a>(row: &'a RecordRow, name: &str) -> Option<&'a str> {
    row.fields.get(name).and_then(|v| v.as_str())
}

/// The columns a list of records shows after the name: (field, heading).
fn record_columns(kind: RecordKind) -> [(&'static str, &'static str); 3] {
    match kind {
        RecordKind::Contact => [("email", "Email"), ("company", "Company"), ("title", "Title")],
        RecordKind::Company => [("domain", "Domain"), ("industry", "Industry"), ("country", "Country")],
    }
}

fn record_table(h: &mut Html, kind: RecordKind, caption: &str, rows: &[RecordRow], owner: impl Fn(Option<&str>) -> Option<String>) {
    let columns = record_columns(kind);
    h.raw("<table class=\"stack\"><caption>").text(caption).raw("</caption><thead><tr><th scope=\"col\">Name</th>");
    for (_, heading) in columns {
        h.raw("<th scope=\"col\">").raw(heading).raw("</th>");
    }
    h.raw("<th scope=\"col\">Owner</th><th scope=\"col\">Last activity</th></tr></thead><tbody>");
    for row in rows {
        h.raw("<tr><td>").link(&record_href(kind, &row.id), &shown_identity(kind, &row.fields)).raw("</td>");
        for (name, heading) in columns {
            cell(h, heading, text_of(row, name));
        }
        cell(h, "Owner", owner(text_of(row, "ownerId")).as_deref());
        date_cell(h, "Last activity", row.last_activity_at.as_deref());
        h.raw("</tr>");
    }
    h.raw("</tbody></table>");
}

fn task_table(h: &mut Html, caption: &str, rows: &[TaskLine], owner: impl Fn(Option<&str>) -> Option<String>) {
    h.raw("<table class=\"stack\"><caption>").text(caption).raw("</caption><thead><tr><th scope=\"col\">Task</th>");
    h.raw("<th scope=\"col\">Due</th><th scope=\"col\">Status</th><th scope=\"col\">Assigned to</th><th scope=\"col\">About</th></tr></thead><tbody>");
    for t in rows {
        h.raw("<tr><td>").element("<strong>", t.subject.as_deref().unwrap_or(""), "</strong>");
        if let Some(kind) = t.kind.as_deref().filter(|k| !k.is_empty()) {
            h.raw("<span class=\"badge\">").text(kind).raw("</span>");
        }
        h.raw("</td>");
        date_cell(h, "Due", t.due_date.as_deref());
        let status = if t.completed > 0.0 { "Completed" } else { "Open" };
        cell(h, "Status", Some(status));
        cell(h, "Assigned to", owner(t.owner_id.as_deref()).as_deref());
        h.raw("<td data-label=\"About\">");
        about_links(h, [(RecordKind::Contact, &t.contact_id, &t.contact_name), (RecordKind::Company, &t.company_id, &t.company_name)], None, "<br>", false);
        h.raw("</td></tr>");
    }
    h.raw("</tbody></table>");
}

fn caption<T>(view: &ListView<T>) -> String {
    let what = plural(view.rows.len(), view.list.one(), &view.list.title().to_lowercase());
    match view.searching() {
        true => format!("{what} matching “{}”, best matches first", view.get("q")),
        false => format!("{what} shown"),
    }
}

impl ListView<RecordRow> {
    pub fn render(&self, shell: &Shell) -> String {
        let ListPage::Records(kind) = self.list else { unreachable!("a record list") };
        let title = if self.problem.is_some() { format!("Error: {}", self.list.title()) } else { self.list.title().to_string() };
        page(&title, shell, |h| {
            h.element("<h1>", self.list.title(), "</h1>");
            problem(h, self);
            filters_form(h, self);
            h.raw("<section>");
            if !self.rows.is_empty() {
                record_table(h, kind, &caption(self), &self.rows, |id| self.owner_name(id).map(str::to_string));
            }
            pager(h, self);
            h.raw("</section>");
        })
    }
}

impl ListView<TaskLine> {
    pub fn render(&self, shell: &Shell) -> String {
        let title = if self.problem.is_some() { "Error: Tasks" } else { "Tasks" };
        page(title, shell, |h| {
            h.raw("<h1>Tasks</h1>");
            problem(h, self);
            filters_form(h, self);
            h.raw("<section>");
            if !self.rows.is_empty() {
                task_table(h, &caption(self), &self.rows, |id| self.owner_name(id).map(str::to_string));
            }
            pager(h, self);
            h.raw("</section>");
        })
    }
}

/// The search box's results: the best matches of each kind, and whether more exist.
pub struct SearchResults {
    pub q: String,
    pub contacts: (Vec<RecordRow>, bool),
    pub companies: (Vec<RecordRow>, bool),
    pub tasks: (Vec<TaskLine>, bool),
    pub users: Vec<Owner>,
}

impl SearchResults {
    fn owner(&self, id: Option<&str>) -> Option<String> {
        let id = id?;
        Some(self.users.iter().find(|u| u.id == id).map_or(id, |u| u.name.as_str()).to_string())
    }

    pub fn render(&self, shell: &Shell) -> String {
        let title = if self.q.is_empty() { "Search".to_string() } else { format!("Search: {}", self.q) };
        page(&title, shell, |h| {
            h.raw("<h1>Search</h1>");
            if self.q.trim().is_empty() {
                h.raw("<section><p>Type a name, an e-mail or its domain, a phone number (with or without its country code), a LinkedIn profile or a word of a task in the search box above.</p></section>");
                return;
            }
            let all = |list: ListPage| href(list, &[("q".to_string(), self.q.clone())], &[]);
            for (list, found) in [(ListPage::Records(RecordKind::Contact), &self.contacts), (ListPage::Records(RecordKind::Company), &self.companies)] {
                let ListPage::Records(kind) = list else { continue };
                let what = list.title();
                h.raw("<section><h2>").text(what).raw("</h2>");
                if found.0.is_empty() {
                    h.raw("<p class=\"mute\">No ").text(&what.to_lowercase()).raw(" match “").text(&self.q).raw("”.</p>");
                } else {
                    let caption = format!("{what} matching “{}”, best matches first", self.q);
                    record_table(h, kind, &caption, &found.0, |id| self.owner(id));
                    if found.1 {
                        h.raw("<p class=\"pager\">").link(&all(list), &format!("All {} matching “{}” »", what.to_lowercase(), self.q)).raw("</p>");
                    }
                }
                h.raw("</section>");
            }
            h.raw("<section><h2>Tasks</h2>");
            if self.tasks.0.is_empty() {
                h.raw("<p class=\"mute\">No tasks match “").text(&self.q).raw("”.</p>");
            } else {
                task_table(h, &format!("Tasks matching “{}”, best matches first", self.q), &self.tasks.0, |id| self.owner(id));
                if self.tasks.1 {
                    h.raw("<p class=\"pager\">").link(&all(ListPage::Tasks), &format!("All tasks matching “{}” »", self.q)).raw("</p>");
                }
            }
            h.raw("</section>");
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map};

    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn contact(id: &str, fields: serde_json::Value) -> RecordRow {
        RecordRow { id: id.into(), fields: fields.as_object().unwrap().clone(), properties: Map::new(), ..Default::default() }
    }

    #[test]
    fn a_page_query_is_the_api_query() {
        let contacts = ListPage::Records(RecordKind::Contact);
        let q = api_query(contacts, &pairs(&[("q", ""), ("ownerId", "us_1"), ("tag", " vip "), ("pname", "tier"), ("pvalue", "gold"), ("sort", "name"), ("format", "csv")]));
        assert_eq!(q, pairs(&[("ownerId", "us_1"), ("tag", "vip"), ("sort", "name"), ("property.tier", "gold")]));
        // A search leaves the order out; the form's custom field replaces the same filter.
        let q = api_query(contacts, &pairs(&[("q", "ana"), ("sort", "-updatedAt"), ("property.tier", "x"), ("pname", "tier"), ("pvalue", "y")]));
        assert_eq!(q, pairs(&[("q", "ana"), ("property.tier", "y")]));
        assert_eq!(api_query(ListPage::Tasks, &pairs(&[("status", "open"), ("pname", "x"), ("pvalue", "y")])), pairs(&[("status", "open")]));
    }

    #[test]
    fn links_keep_the_filters_and_move_the_cursor() {
        let list = ListPage::Records(RecordKind::Company);
        let q = pairs(&[("q", "Núñez & co"), ("cursor", "abc")]);
        assert_eq!(href(list, &q, &[]), "/view/companies?q=N%C3%BA%C3%B1ez%20%26%20co");
        assert_eq!(href(list, &q, &[("cursor", "def")]), "/view/companies?q=N%C3%BA%C3%B1ez%20%26%20co&cursor=def");
        assert_eq!(href(list, &q, &[("format", "csv")]), "/view/companies?q=N%C3%BA%C3%B1ez%20%26%20co&format=csv");
        assert_eq!(href(ListPage::Tasks, &[], &[]), "/view/tasks");
    }

    fn view(rows: Vec<RecordRow>, query: &[(&str, &str)], next: Option<&str>) -> ListView<RecordRow> {
        ListView {
            list: ListPage::Records(RecordKind::Contact),
            query: pairs(query),
            rows,
            next: next.map(str::to_string),
            users: vec![Owner { id: "us_1".into(), name: "Ana <Boss>".into(), email: "ana@x.com".into() }],
            problem: None,
        }
    }

    #[test]
    fn the_filters_are_folded_until_one_is_set() {
        let bare = view(vec![], &[("q", "ana"), ("sort", "name"), ("cursor", "c1")], None).render(&Shell::bare("n"));
        assert!(bare.contains("<details class=\"filters\"><summary>Filters</summary>"), "{bare}");
        let set = view(vec![], &[("tag", "vip"), ("pname", "tier"), ("pvalue", "gold"), ("ownerId", "")], None).render(&Shell::bare("n"));
        assert!(set.contains("<details class=\"filters\" open><summary>Filters <span class=\"mute\">(2 active)</span></summary>"), "{set}");
    }

    #[test]
    fn a_list_page_has_labelled_filters_a_table_and_its_links() {
        let rows = vec![contact("ct_1", json!({"firstName": "José", "email": "<b>@x.com", "ownerId": "us_1"}))];
        let html = view(rows, &[("ownerId", "us_1"), ("pname", "tier"), ("property.tier", "gold"), ("property.size", "big"), ("cursor", "c1")], Some("c2"))
            .render(&Shell::bare("n"));
        for id in ["f-q", "f-owner", "f-tag", "f-open", "f-after", "f-before", "f-created", "f-pname", "f-pvalue", "f-sort"] {
            assert!(html.contains(&format!("<label for=\"{id}\">")) && html.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(html.contains("<form method=\"get\" action=\"/view/contacts\">"));
        assert!(html.contains("<option value=\"us_1\" selected>Ana &lt;Boss&gt;</option>"));
        assert!(html.contains("<caption>1 contact shown</caption>") && html.contains("<th scope=\"col\">Name</th>"));
        assert!(html.contains("<table class=\"stack\">"), "phone layout");
        assert!(html.contains("&lt;b&gt;@x.com") && !html.contains("<b>@x.com"));
        assert!(html.contains("href=\"/view/contact/ct_1\">José</a>"));
        assert!(html.contains("<td data-label=\"Owner\">Ana &lt;Boss&gt;</td>"));
        assert!(html.contains("value=\"tier\"") && html.contains("value=\"gold\""), "the first custom filter in the form");
        assert!(html.contains("<input type=\"hidden\" name=\"property.size\" value=\"big\">"));
        assert!(html.contains("Next page »") && html.contains("cursor=c2") && html.contains("« First page"));
        assert!(html.contains("format=csv\">Download CSV</a>") && !html.contains("cursor=c1&amp;format"), "{html}");
    }

    #[test]
    fn an_empty_part_of_a_list_offers_to_look_further() {
        let html = view(Vec::new(), &[("tag", "rare")], Some("c2")).render(&Shell::bare("n"));
        assert!(html.contains("No match in this part of the list.") && html.contains("Look further »"));
        let html = view(Vec::new(), &[("tag", "rare")], None).render(&Shell::bare("n"));
        assert!(html.contains("Nothing matches these filters.") && !html.contains("Look further"));
    }

    #[test]
    fn a_refused_filter_is_named_at_the_top() {
        let mut v = view(Vec::new(), &[("createdAfter", "soon")], None);
        v.problem = Some(("createdAfter".into(), "expected a date".into()));
        let html = v.render(&Shell::bare("n"));
        assert!(html.contains("<title>Error: Contacts · edge-crm</title>"));
        assert!(html.contains("There is a problem") && html.contains("<strong>createdAfter</strong>: expected a date"));
    }

    #[test]
    fn search_results_show_each_kind_and_link_to_the_rest() {
        let task = TaskLine {
            id: "tk_1".into(), subject: Some("Call José".into()), kind: Some("CALL".into()), priority: None, owner_id: None,
            due_date: Some("2024-01-20T10:30:00.000Z".into()), completed: 0.0, completed_at: None,
            contact_id: Some("ct_1".into()), contact_name: Some("José".into()), company_id: None, company_name: None,
        };
        let results = SearchResults {
            q: "josé".into(),
            contacts: (vec![contact("ct_1", json!({"firstName": "José"}))], true),
            companies: (Vec::new(), false),
            tasks: (vec![task], false),
            users: Vec::new(),
        };
        let html = results.render(&Shell::bare("n"));
        assert!(html.contains("<title>Search: josé · edge-crm</title>"));
        assert!(html.contains("All contacts matching “josé” »") && html.contains("/view/contacts?q=jos%C3%A9"));
        assert!(html.contains("No companies match “josé”."));
        assert!(html.contains("<strong>Call José</strong>") && html.contains("2024-01-20 10:30 UTC") && html.contains("href=\"/view/contact/ct_1\">José</a>"));
        assert!(!html.contains("All tasks matching"));
        let empty = SearchResults { q: String::new(), contacts: (vec![], false), companies: (vec![], false), tasks: (vec![], false), users: vec![] };
        assert!(empty.render(&Shell::bare("n")).contains("Type a name"));
    }
}
