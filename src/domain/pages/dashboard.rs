//! The dashboard (`GET /view/`): counts, the three lists, recent activity, and the settings to
//! paste into Enginy. Built from the one row of `store::sql_pages::DASHBOARD`.
//!
//! Lists page by keyset: a "next page" link carries the last id shown, and the statement
//! continues after that record in list order, so a page deep in 100,000 records costs what the
//! first one does. Each list keeps its own cursor, so paging one leaves the others in place.
//!
//! Search has its own page (`/view/search`, the header's box, `lists.rs`); a dashboard address
//! with `?q=` (bookmarked before) is sent there.

use serde::Deserialize;
use serde_json::Map;

use super::html::{url_encode, Html};
use super::layout::{grouped, page, when, Shell};
use super::merge::duplicates_section;
use super::edit::Notice;
use super::parts::{about_links, activity_item, record_href, shown_identity, task_summary, Activity, Task};
use crate::domain::merge::DuplicateGroup;
use crate::domain::record::RecordKind;

/// Longest search query kept, in characters; a longer one is cut (nobody types more).
pub const MAX_QUERY_CHARS: usize = 200;

/// The lists of the dashboard, and their query parameter (a cursor: the last id shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Contacts,
    Companies,
    Tasks,
}

impl List {
    const ALL: [List; 3] = [List::Contacts, List::Companies, List::Tasks];

    fn param(self) -> &'static str {
        match self {
            List::Contacts => "contacts",
            List::Companies => "companies",
            List::Tasks => "tasks",
        }
    }
}

/// What the dashboard's URL asks for: a cursor per list (and `?q=`, a search bookmarked before
/// the search page, which the dashboard sends on there).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardQuery {
    /// A search (trimmed, at most [`MAX_QUERY_CHARS`]).
    pub q: String,
    cursors: [String; 3],
}

/// A cursor is an id of ours; anything else (edited by hand, or an attack) means the first page.
fn cursor(value: &str) -> String {
    let ok = !value.is_empty() && value.len() <= 64 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        value.to_string()
    } else {
        String::new()
    }
}

impl DashboardQuery {
    pub fn parse(pairs: &[(String, String)]) -> DashboardQuery {
        let mut query = DashboardQuery::default();
        for (name, value) in pairs {
            if name == "q" {
                query.q = value.trim().chars().take(MAX_QUERY_CHARS).collect::<String>().trim_end().to_string();
            }
            for (i, list) in List::ALL.iter().enumerate() {
                if name == list.param() {
                    query.cursors[i] = cursor(value);
                }
            }
        }
        query
    }

    /// The last id shown of a list (`""` for its first page).
    pub fn cursor(&self, list: List) -> &str {
        &self.cursors[list as usize]
    }

    /// This dashboard's link with one list moved to `cursor` (`""`: its first page); the other
    /// lists' places are kept.
    pub fn href(&self, list: List, cursor: &str) -> String {
        let mut parts = Vec::new();
        for other in List::ALL {
            let value = if other == list { cursor } else { self.cursor(other) };
            if !value.is_empty() {
                parts.push(format!("{}={}", other.param(), url_encode(value)));
            }
        }
        if parts.is_empty() {
            "/view/".to_string()
        } else {
            format!("/view/?{}", parts.join("&"))
        }
    }
}

/// The row as the store reads it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DashboardRow {
    pub counts: Option<String>,
    pub activities: Option<String>,
    pub contacts: Option<String>,
    pub companies: Option<String>,
    pub tasks: Option<String>,
}

/// A record in a list: its name and a few columns of `fields`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Listed {
    pub id: String,
    pub name: String,
    #[serde(flatten)]
    pub columns: Map<String, serde_json::Value>,
}

impl Listed {
    fn column(&self, name: &str) -> &str {
        self.columns.get(name).and_then(|v| v.as_str()).unwrap_or("")
    }

    /// What the list calls the record: its name, or what identifies it (see
    /// `record::identity`).
    pub fn label(&self, kind: RecordKind) -> String {
        match self.name.trim() {
            "" => shown_identity(kind, &self.columns),
            name => name.to_string(),
        }
    }
}

/// The headings of a list's columns, for the phone layout's cell labels.
fn column_labels(list: List) -> [&'static str; 3] {
    match list {
        List::Contacts => ["Email", "Company", "Title"],
        _ => ["Domain", "Industry", "Country"],
    }
}

/// What a list's cursor is made of: the id of the last item shown.
trait Keyed {
    fn key(&self) -> &str;
}

impl Keyed for Listed {
    fn key(&self) -> &str {
        &self.id
    }
}

impl Keyed for Task {
    fn key(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Counts {
    #[serde(default)]
    pub contacts: i64,
    #[serde(default)]
    pub companies: i64,
    #[serde(default)]
    pub tasks_open: i64,
    #[serde(default)]
    pub tasks_done: i64,
    #[serde(default)]
    pub activities: i64,
}

/// What Enginy's Custom CRM settings need (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `PUBLIC_URL`, or the origin the request came to; no trailing slash.
    pub base_url: String,
    pub api_key_header: String,
}

/// One page of a list, and whether another follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: bool,
}

impl<T: for<'de> Deserialize<'de>> Page<T> {
    /// The statement reads one row more than a page shows: its presence says another page follows.
    fn from_column(column: Option<&str>, page_size: usize) -> Page<T> {
        let mut items: Vec<T> = column.and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default();
        let more = items.len() > page_size;
        items.truncate(page_size);
        Page { items, more }
    }
}

/// The possible duplicates of one kind the dashboard shows.
#[derive(Debug, Clone)]
pub struct DuplicatesList {
    pub kind: RecordKind,
    pub groups: Vec<DuplicateGroup>,
    /// More groups exist than are shown.
    pub more: bool,
}


pub struct Dashboard {
    /// Possible duplicates, contacts then companies.
    pub duplicates: Vec<DuplicatesList>,
    pub query: DashboardQuery,
    pub settings: Settings,
    pub counts: Counts,
    pub activities: Vec<Activity>,
    pub contacts: Page<Listed>,
    pub companies: Page<Listed>,
    pub tasks: Page<Task>,
    /// What a form just did (`?done=`: a deletion comes back here).
    pub done: Option<Notice>,
}

impl Dashboard {
    pub fn from_row(row: DashboardRow, query: DashboardQuery, settings: Settings, page_size: usize) -> Dashboard {
        Dashboard {
            counts: row.counts.as_deref().and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default(),
            activities: row.activities.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or_default(),
            contacts: Page::from_column(row.contacts.as_deref(), page_size),
            companies: Page::from_column(row.companies.as_deref(), page_size),
            tasks: Page::from_column(row.tasks.as_deref(), page_size),
            duplicates: Vec::new(),
            done: None,
            query,
            settings,
        }
    }

    pub fn render(&self, shell: &Shell) -> String {
        page("Dashboard", shell, |h| {
            if let Some(done) = self.done {
                h.raw("<section class=\"notice\" role=\"status\"><p>").raw(done.sentence()).raw("</p></section>");
            }
            h.raw("<h1>Dashboard</h1><div class=\"counts\">");
            let c = &self.counts;
            for (label, n) in [
                ("Contacts", c.contacts),
                ("Companies", c.companies),
                ("Open tasks", c.tasks_open),
                ("Completed tasks", c.tasks_done),
                ("Activities", c.activities),
            ] {
                h.raw("<div><b>").text(&grouped(n)).raw("</b>").text(label).raw("</div>");
            }
            h.raw("</div>");
            self.record_list(h, List::Contacts, &self.contacts, &["email", "company", "title"]);
            self.record_list(h, List::Companies, &self.companies, &["domain", "industry", "country"]);
            self.task_list(h);
            self.duplicate_lists(h);
            self.recent(h);
            self.enginy(h);
        })
    }

    fn record_list(&self, h: &mut Html, list: List, page: &Page<Listed>, columns: &[&'static str; 3]) {
        let (title, kind, headings) = match list {
            List::Contacts => (
                "Contacts",
                RecordKind::Contact,
                "<th scope=\"col\">Name</th><th scope=\"col\">Email</th><th scope=\"col\">Company</th><th scope=\"col\">Title</th>",
            ),
            _ => (
                "Companies",
                RecordKind::Company,
                "<th scope=\"col\">Name</th><th scope=\"col\">Domain</th><th scope=\"col\">Industry</th><th scope=\"col\">Country</th>",
            ),
        };
        h.raw("<section id=\"").raw(list.param()).raw("\"><h2>").text(title).raw("</h2>");
        if page.items.is_empty() {
            self.nothing(h, list);
        } else {
            h.raw("<table class=\"stack\"><caption class=\"vh\">").text(title).raw("</caption><thead><tr>").raw(headings).raw("</tr></thead><tbody>");
            for record in &page.items {
                h.raw("<tr><td>").link(&record_href(kind, &record.id), &record.label(kind)).raw("</td>");
                for (column, heading) in columns.iter().zip(column_labels(list)) {
                    let text = record.column(column);
                    if !text.is_empty() {
                        h.raw("<td data-label=\"").raw(heading).raw("\">").text(text).raw("</td>");
                    } else {
                        h.raw("<td></td>");
                    }
                }
                h.raw("</tr>");
            }
            h.raw("</tbody></table>");
        }
        self.pager(h, list, page);
        h.raw("<p><a href=\"/view/import/").raw(kind.key_kind()).raw("\">Import ").text(&title.to_lowercase()).raw(" from a CSV file</a></p>");
        h.raw("</section>");
    }

    fn duplicate_lists(&self, h: &mut Html) {
        for list in &self.duplicates {
            let title = match list.kind {
                RecordKind::Contact => "Possible duplicates: contacts",
                RecordKind::Company => "Possible duplicates: companies",
            };
            duplicates_section(h, title, list.kind, &list.groups, None, list.more);
        }
    }

    fn task_list(&self, h: &mut Html) {
        h.raw("<section id=\"tasks\"><h2>Open tasks</h2>");
        if self.tasks.items.is_empty() {
            self.nothing(h, List::Tasks);
        } else {
            h.raw("<table class=\"stack\"><caption class=\"vh\">Open tasks, soonest first</caption><thead><tr><th scope=\"col\">Due</th>");
            h.raw("<th scope=\"col\">Task</th><th scope=\"col\">About</th><th scope=\"col\">Priority</th></tr></thead><tbody>");
            for task in &self.tasks.items {
                h.raw("<tr><td class=\"date\">");
                match task.due_date.as_deref() {
                    Some(due) => h.text(&when(due)),
                    None => h.raw("<span class=\"mute\">—</span>"),
                };
                h.raw("</td><td>");
                task_summary(h, task);
                h.raw("</td><td>");
                let about = [
                    (RecordKind::Contact, &task.contact_id, &task.contact_name),
                    (RecordKind::Company, &task.company_id, &task.company_name),
                ];
                about_links(h, about, None, "<br>", false);
                h.raw("</td><td>").text(task.priority.as_deref().unwrap_or_default()).raw("</td></tr>");
            }
            h.raw("</tbody></table>");
        }
        self.pager(h, List::Tasks, &self.tasks);
        h.raw("</section>");
    }

    /// What an empty list says.
    fn nothing(&self, h: &mut Html, list: List) {
        let what = match list {
            List::Contacts => "contacts",
            List::Companies => "companies",
            List::Tasks => "open tasks",
        };
        if self.query.cursor(list).is_empty() {
            h.raw("<p class=\"mute\">No ").raw(what).raw(" yet.</p>");
        } else {
            h.raw("<p class=\"mute\">No more ").raw(what).raw(".</p>");
        }
    }

    /// "First page" when past it; "Next page" when another follows.
    fn pager<T: Keyed>(&self, h: &mut Html, list: List, page: &Page<T>) {
        let first = !self.query.cursor(list).is_empty();
        let next = match (page.more, page.items.last()) {
            (true, Some(last)) => Some((last.key(), "Next page »")),
            _ => None,
        };
        if !first && next.is_none() {
            return;
        }
        h.raw("<p class=\"pager\">");
        if first {
            h.link(&self.query.href(list, ""), "« First page");
        }
        if let Some((cursor, label)) = next {
            h.link(&self.query.href(list, cursor), label);
        }
        h.raw("</p>");
    }

    fn recent(&self, h: &mut Html) {
        h.raw("<section><h2>Recent activity</h2>");
        if self.activities.is_empty() {
            h.raw("<p class=\"mute\">No activity yet.</p>");
        } else {
            h.raw("<ol class=\"timeline\">");
            for activity in &self.activities {
                activity_item(h, activity, None);
            }
            h.raw("</ol>");
        }
        h.raw("</section>");
    }

    /// How to connect Enginy's Custom CRM: the settings field by field, and the JSON body of
    /// Enginy's `POST /v1/custom-crm/test` and `/connect` calls. The key is named, never shown:
    /// this page is behind a different credential than the API.
    fn enginy(&self, h: &mut Html) {
        let base = &self.settings.base_url;
        h.raw("<section><h2>Connect Enginy</h2><p>Enginy's Custom CRM takes these settings:</p>");
        h.raw("<div class=\"scroll\"><table class=\"kv\">");
        let rows = [
            ("Base URL", base.clone()),
            ("API key header", self.settings.api_key_header.clone()),
            ("Contact link template", format!("{base}/view/contact/{{{{crmId}}}}")),
            ("Company link template", format!("{base}/view/company/{{{{crmId}}}}")),
        ];
        for (name, value) in rows {
            h.raw("<tr><th>").text(name).raw("</th><td><code>").text(&value).raw("</code></td></tr>");
        }
        h.raw("<tr><th>API key</th><td>One of the keys in the <code>API_KEYS</code> secret ");
        h.raw("(not shown here).</td></tr></table></div>");
        h.raw("<p>Through Enginy's public API, send this body to <code>POST /v1/custom-crm/test</code>, then to ");
        h.raw("<code>/v1/custom-crm/connect</code>, with one of your keys as <code>apiKey</code> ");
        h.raw("(or run <code>scripts/connect-enginy.sh</code>, which fills it in):</p><pre class=\"scroll\"><code>");
        h.text(&self.connect_body());
        h.raw("</code></pre></section>");
    }

    /// The body of Enginy's `/connect` call, with a placeholder for the key.
    pub fn connect_body(&self) -> String {
        let base = &self.settings.base_url;
        let body = serde_json::json!({
            "baseUrl": base,
            "apiKey": "<one of API_KEYS>",
            "apiKeyHeader": self.settings.api_key_header,
            "contactLinkTemplate": format!("{base}/view/contact/{{{{crmId}}}}"),
            "companyLinkTemplate": format!("{base}/view/company/{{{{crmId}}}}"),
        });
        serde_json::to_string_pretty(&body).expect("a JSON value serialises")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn settings() -> Settings {
        Settings { base_url: "https://crm.example.com".into(), api_key_header: "X-API-Key".into() }
    }

    #[test]
    fn query_keeps_the_search_and_sane_cursors() {
        let q = DashboardQuery::parse(&pairs(&[("q", "  José Núñez "), ("contacts", "ct_01ABC"), ("companies", "co_1'--"), ("x", "y")]));
        assert_eq!(q.q, "José Núñez", "kept for the redirect to the search page");
        assert_eq!(q.cursor(List::Contacts), "ct_01ABC");
        assert_eq!(q.cursor(List::Companies), "", "not an id: the first page");
        assert_eq!(q.cursor(List::Tasks), "");
        let long = "a".repeat(500);
        assert_eq!(DashboardQuery::parse(&pairs(&[("q", &long)])).q.len(), MAX_QUERY_CHARS);
    }

    #[test]
    fn links_move_one_list_and_keep_the_rest() {
        let q = DashboardQuery::parse(&pairs(&[("companies", "co_9")]));
        assert_eq!(q.href(List::Contacts, "ct_5"), "/view/?contacts=ct_5&companies=co_9");
        assert_eq!(q.href(List::Companies, ""), "/view/");
        assert_eq!(DashboardQuery::default().href(List::Tasks, ""), "/view/");
    }

    fn row() -> DashboardRow {
        let contacts: Vec<_> = (0..4)
            .map(|i| json!({"id": format!("ct_{i}"), "name": format!("Person {i}"), "email": format!("p{i}@x.com"), "company": null, "title": "CEO"}))
            .collect();
        DashboardRow {
            counts: Some(json!({"contacts": 120000, "companies": 3, "tasks_open": 2, "tasks_done": 1, "activities": 9}).to_string()),
            activities: Some(json!([{"id": "ac_1", "type": "EMAIL", "subject": "Hello", "body": null, "direction": "OUTBOUND",
                "occurredAt": "2024-01-04T10:00:00.000Z", "contactId": "ct_0", "contactName": "Person 0", "companyId": null, "companyName": null}]).to_string()),
            contacts: Some(json!(contacts).to_string()),
            companies: Some("[]".into()),
            tasks: Some(json!([{"id": "tk_1", "subject": "Call", "description": null, "type": null, "priority": "HIGH", "status": null,
                "dueDate": null, "completed": false, "completedAt": null, "contactId": "ct_0", "contactName": "Person 0",
                "companyId": "co_1", "companyName": "Acme"}]).to_string()),
        }
    }

    #[test]
    fn one_extra_row_means_a_next_page() {
        let d = Dashboard::from_row(row(), DashboardQuery::default(), settings(), 3);
        assert_eq!(d.contacts.items.len(), 3);
        assert!(d.contacts.more);
        assert!(!d.tasks.more);
        let html = d.render(&Shell::bare("n"));
        assert!(html.contains("<a href=\"/view/?contacts=ct_2\">Next page »</a>"), "the last shown id is the cursor");
        assert!(!html.contains("First page"));
        assert!(html.contains("<b>120,000</b>Contacts"));
        assert!(html.contains("<a href=\"/view/contact/ct_0\">Person 0</a>"));
        assert!(html.contains("<a href=\"/view/company/co_1\">Acme</a>"), "a task links what it is about");
        assert!(html.contains("No companies yet."));
    }

    #[test]
    fn a_later_page_offers_the_first_and_keeps_the_other_lists() {
        let query = DashboardQuery::parse(&pairs(&[("companies", "co_7")]));
        let mut r = row();
        r.companies = Some(json!([{"id": "co_9", "name": "Later Co"}]).to_string());
        let html = Dashboard::from_row(r, query, settings(), 3).render(&Shell::bare("n"));
        assert!(html.contains("<a href=\"/view/\">« First page</a>"), "{html}");
        assert!(html.contains("<a href=\"/view/?contacts=ct_2&amp;companies=co_7\">Next page »</a>"));
        let mut r = row();
        r.companies = Some("[]".into());
        let html = Dashboard::from_row(r, DashboardQuery::parse(&pairs(&[("companies", "co_7")])), settings(), 3).render(&Shell::bare("n"));
        assert!(html.contains("No more companies."), "{html}");
    }

    #[test]
    fn enginy_settings_name_the_header_and_templates_never_a_key() {
        let html = Dashboard::from_row(row(), DashboardQuery::default(), settings(), 25).render(&Shell::bare("n"));
        assert!(html.contains("<code>https://crm.example.com</code>"));
        assert!(html.contains("<code>X-API-Key</code>"));
        assert!(html.contains("<code>https://crm.example.com/view/contact/{{crmId}}</code>"));
        assert!(html.contains("<code>https://crm.example.com/view/company/{{crmId}}</code>"));
        // The JSON of Enginy's /connect call, escaped, with a placeholder where the key goes.
        let d = Dashboard::from_row(row(), DashboardQuery::default(), settings(), 25);
        let body: serde_json::Value = serde_json::from_str(&d.connect_body()).unwrap();
        assert_eq!(body["baseUrl"], "https://crm.example.com");
        assert_eq!(body["apiKeyHeader"], "X-API-Key");
        assert_eq!(body["contactLinkTemplate"], "https://crm.example.com/view/contact/{{crmId}}");
        assert_eq!(body["apiKey"], "<one of API_KEYS>");
        assert!(html.contains("&quot;apiKey&quot;: &quot;&lt;one of API_KEYS&gt;&quot;"), "{html}");
        assert!(html.contains("/v1/custom-crm/connect"));
    }

    #[test]
    fn the_header_keeps_a_search_escaped() {
        let shell = Shell { person: Some("ada@example.com".into()), q: "<script>x".into(), ..Shell::bare("n") };
        let html = Dashboard::from_row(row(), DashboardQuery::default(), settings(), 25).render(&shell);
        assert!(html.contains("value=\"&lt;script&gt;x\""), "the header's search box keeps the search");
        assert!(html.contains("action=\"/view/search\""));
        assert!(!html.contains("<script"));
    }
}
