//! The record page (`/view/contact/{id}`, `/view/company/{id}`): what Enginy's "Open in CRM"
//! opens. Built from the one row of `store::sql_pages::CONTACT_PAGE` / `COMPANY_PAGE`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::html::{mail_address, web_url, Html};
use super::layout::{label, page, truncate, value_text, when, Shell};
use super::edit::{FormState, Notice};
use super::form::Forms;
use super::merge::{duplicates_section, MergeNotice};
use super::parts::{activity_item, actor_text, optional, record_href, shown_identity, shown_name, task_summary, Activity, Linked, Owner, Task};
use super::work::{task_actions, TaskRef};
use crate::domain::merge::DuplicateGroup;
use crate::domain::record::{RecordKind, EXTERNAL_ID};

/// Longest old or new value shown in the history.
const MAX_HISTORY_VALUE_CHARS: usize = 300;

/// The row as the store reads it: plain columns, and JSON text for the lists.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordRow {
    pub id: String,
    pub external_id: Option<String>,
    pub fields: String,
    pub properties: String,
    pub created_at: String,
    pub updated_at: String,
    pub last_activity_at: Option<String>,
    pub owner: Option<String>,
    pub links: Option<String>,
    pub link_count: f64,
    pub parent: Option<String>,
    pub children: Option<String>,
    pub open_tasks: Option<String>,
    pub done_tasks: Option<String>,
    pub activities: Option<String>,
    pub activity_count: f64,
    pub history: Option<String>,
    pub history_count: f64,
    /// The CRM's users (for the owner and assignee selects), by name.
    #[serde(default)]
    pub users: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub at: String,
    pub request_id: String,
    /// The value as sent, where it was stored otherwise.
    #[serde(default)]
    pub sent: Option<String>,
    /// Who made the change: a person's email, `dashboard`, or `api`.
    #[serde(default)]
    pub actor: Option<String>,
    /// `false` on a value sent and not applied: a deduplicated create kept the stored value
    /// (`old`, `new`) and this is what it sent (`sent`).
    #[serde(default = "applied")]
    pub applied: bool,
}

fn applied() -> bool {
    true
}

/// Everything a record page shows.
#[derive(Debug, Clone)]
pub struct RecordPage {
    pub kind: RecordKind,
    pub id: String,
    pub external_id: Option<String>,
    pub fields: Map<String, Value>,
    pub properties: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
    pub last_activity_at: Option<String>,
    pub owner: Option<Owner>,
    /// A contact's companies, or a company's contacts.
    pub links: Vec<Linked>,
    /// How many associations there are in all (`links` stops at the list limit).
    pub link_count: usize,
    pub parent: Option<Linked>,
    pub children: Vec<Linked>,
    pub open_tasks: Vec<Task>,
    pub done_tasks: Vec<Task>,
    /// Newest first.
    pub activities: Vec<Activity>,
    pub activity_count: usize,
    /// Newest first.
    pub history: Vec<Change>,
    pub history_count: usize,
    /// Groups of possible duplicates this record belongs to.
    pub duplicates: Vec<DuplicateGroup>,
    /// What a merge or an undo through the pages just did to this record.
    pub notice: Option<MergeNotice>,
    /// What a form just did (`?done=`).
    pub done: Option<Notice>,
    /// The CRM's users, for the owner and assignee selects.
    pub users: Vec<Owner>,
    /// The token and ids of the page's forms.
    pub forms: Forms,
    /// A form the server refused, drawn again as the person left it.
    pub state: Option<FormState>,
}

/// A JSON column the page's own statement wrote; a column it left NULL is an empty list.
fn parse_list<T: for<'de> Deserialize<'de>>(column: Option<&str>) -> Vec<T> {
    column.and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default()
}

fn parse_object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

impl RecordPage {
    pub fn from_row(kind: RecordKind, row: RecordRow) -> RecordPage {
        RecordPage {
            kind,
            fields: parse_object(&row.fields),
            properties: parse_object(&row.properties),
            owner: row.owner.as_deref().and_then(|o| serde_json::from_str(o).ok()),
            links: parse_list(row.links.as_deref()),
            link_count: row.link_count as usize,
            parent: row.parent.as_deref().and_then(|p| serde_json::from_str(p).ok()),
            children: parse_list(row.children.as_deref()),
            open_tasks: parse_list(row.open_tasks.as_deref()),
            done_tasks: parse_list(row.done_tasks.as_deref()),
            activities: parse_list(row.activities.as_deref()),
            activity_count: row.activity_count as usize,
            history: parse_list(row.history.as_deref()),
            history_count: row.history_count as usize,
            duplicates: Vec::new(),
            notice: None,
            done: None,
            users: parse_list(row.users.as_deref()),
            forms: Forms::default(),
            state: None,
            id: row.id,
            external_id: row.external_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_activity_at: row.last_activity_at,
        }
    }

    /// The name at the top of the page and in the tab: the record's name, or what identifies it.
    pub fn name(&self) -> String {
        shown_identity(self.kind, &self.fields)
    }

    pub fn render(&self, shell: &Shell) -> String {
        let name = self.name();
        let title = if self.state.is_some() { format!("Error: {name}") } else { name.clone() };
        page(&title, shell, |h| {
            h.raw("<p class=\"mute\"><a href=\"/view/\">Dashboard</a> › ").text(self.kind.noun()).raw("</p>");
            h.element("<h1>", &name, "</h1>");
            h.raw("<p class=\"mute\">").text(self.kind.noun()).raw(" <code>").text(&self.id).raw("</code>");
            if let Some(last) = &self.last_activity_at {
                h.raw(" · last activity ").text(&when(last));
            }
            h.raw("</p>");
            if let Some(notice) = &self.notice {
                notice.render(h, self.kind);
            }
            if let Some(done) = self.done {
                h.raw("<section class=\"notice\" role=\"status\"><p>").raw(done.sentence()).raw("</p></section>");
            }
            self.error_summary(h);
            self.kept_values(h);
            self.details(h);
            self.edit_form(h);
            duplicates_section(h, "Possible duplicates", self.kind, &self.duplicates, Some(&self.id), false);
            self.custom(h);
            self.tasks(h);
            self.activity_form(h);
            self.timeline(h);
            self.associations(h);
            self.changes(h);
            self.delete_link(h);
        })
    }

    /// Every core field, in the contract's order; an empty one shows a dash, so the shape of the
    /// page never changes.
    fn details(&self, h: &mut Html) {
        h.raw("<section><h2>Details</h2><div class=\"scroll\"><table class=\"kv\">");
        for spec in self.kind.fields() {
            h.raw("<tr><th>").text(label(spec.name)).raw("</th><td>");
            if spec.name == EXTERNAL_ID {
                optional(h, self.external_id.as_deref());
            } else {
                self.field_value(h, spec.name, self.fields.get(spec.name));
            }
            h.raw("</td></tr>");
        }
        h.raw("<tr><th>Created</th><td>").text(&when(&self.created_at)).raw("</td></tr>");
        h.raw("<tr><th>Updated</th><td>").text(&when(&self.updated_at)).raw("</td></tr>");
        h.raw("</table></div></section>");
    }

    fn field_value(&self, h: &mut Html, name: &str, value: Option<&Value>) {
        let text = value.map(value_text).unwrap_or_default();
        if text.trim().is_empty() {
            h.raw("<span class=\"mute\">—</span>");
            return;
        }
        match name {
            "ownerId" => match &self.owner {
                Some(owner) => {
                    h.text(&owner.name).raw(" <span class=\"mute\">").text(&owner.email).raw("</span>");
                }
                None => {
                    h.element("<code>", &text, "</code>");
                }
            },
            "parentCrmId" => match &self.parent {
                Some(parent) => {
                    h.link(&record_href(RecordKind::Company, &parent.id), &shown_name(&parent.name));
                }
                None => {
                    h.element("<code>", &text, "</code>").raw(" <span class=\"mute\">(not found)</span>");
                }
            },
            "email" => match mail_address(&text) {
                Some(address) => {
                    h.raw("<a href=\"mailto:").text(address).raw("\">").text(&text).raw("</a>");
                }
                None => {
                    h.text(&text);
                }
            },
            _ => match web_url(&text) {
                Some(url) => {
                    h.link(url, &text);
                }
                None => {
                    h.text(&text);
                }
            },
        }
    }

    /// Every custom property (engagement fields among them), by name.
    fn custom(&self, h: &mut Html) {
        h.raw("<section><h2>Custom properties</h2>");
        if self.properties.is_empty() {
            h.raw("<p class=\"mute\">None.</p></section>");
            return;
        }
        h.raw("<div class=\"scroll\"><table class=\"kv\">");
        for (name, value) in &self.properties {
            h.raw("<tr><th>").text(name).raw("</th><td>").text(&value_text(value)).raw("</td></tr>");
        }
        h.raw("</table></div></section>");
    }

    fn associations(&self, h: &mut Html) {
        let (title, other, primary_note) = match self.kind {
            RecordKind::Contact => ("Companies", RecordKind::Company, "primary"),
            RecordKind::Company => ("Contacts", RecordKind::Contact, "primary company"),
        };
        h.raw("<section id=\"links\"><h2>").text(title).raw("</h2>");
        if self.links.is_empty() {
            h.raw("<p class=\"mute\">None linked.</p>");
        } else {
            h.raw("<ul>");
            for link in &self.links {
                h.raw("<li>").link(&record_href(other, &link.id), &shown_name(&link.name));
                if link.primary {
                    h.raw("<span class=\"badge\">").text(primary_note).raw("</span>");
                }
                h.raw(" ");
                self.unlink_form(h, &link.id, &shown_name(&link.name));
                h.raw("</li>");
            }
            h.raw("</ul>");
            more_note(h, "first", self.links.len(), self.link_count);
        }
        self.link_form(h);
        if self.kind == RecordKind::Company && !self.children.is_empty() {
            h.raw("<h3>Subsidiaries</h3><ul>");
            for child in &self.children {
                h.raw("<li>").link(&record_href(RecordKind::Company, &child.id), &shown_name(&child.name)).raw("</li>");
            }
            h.raw("</ul>");
        }
        h.raw("</section>");
    }

    fn tasks(&self, h: &mut Html) {
        h.raw("<section id=\"tasks\"><h2>Tasks</h2>");
        if self.open_tasks.is_empty() {
            h.raw("<p class=\"mute\">No open tasks.</p>");
        } else {
            h.raw("<table class=\"stack\"><caption>Open tasks</caption><thead><tr><th scope=\"col\">Due</th><th scope=\"col\">Task</th>");
            h.raw("<th scope=\"col\">Assigned to</th><th scope=\"col\">Actions</th></tr></thead><tbody>");
            for task in &self.open_tasks {
                h.raw("<tr><td class=\"date\" data-label=\"Due\">");
                optional(h, task.due_date.as_deref().map(when).as_deref());
                h.raw("</td><td>");
                task_summary(h, task);
                if let Some(priority) = task.priority.as_deref().filter(|p| !p.is_empty()) {
                    h.raw(" <span class=\"badge\">").text(priority).raw("</span>");
                }
                h.raw("</td><td data-label=\"Assigned to\">");
                optional(h, task.owner_name.as_deref());
                h.raw("</td><td>");
                task_actions(h, TaskRef::of(task, task.owner_id.as_deref()), &self.users, &self.forms, &self.href());
                h.raw("</td></tr>");
            }
            h.raw("</tbody></table>");
        }
        self.task_form(h);
        if !self.done_tasks.is_empty() {
            h.raw("<table class=\"stack\"><caption>Completed tasks</caption><thead><tr><th scope=\"col\">Completed</th><th scope=\"col\">Task</th>");
            h.raw("<th scope=\"col\">Actions</th></tr></thead><tbody>");
            for task in &self.done_tasks {
                h.raw("<tr><td class=\"date\" data-label=\"Completed\">");
                optional(h, task.completed_at.as_deref().map(when).as_deref());
                h.raw("</td><td>");
                task_summary(h, task);
                h.raw("</td><td>");
                task_actions(h, TaskRef::of(task, task.owner_id.as_deref()), &self.users, &self.forms, &self.href());
                h.raw("</td></tr>");
            }
            h.raw("</tbody></table>");
        }
        h.raw("</section>");
    }

    /// Activities newest first; the direction is told in words and by colour, so it survives
    /// a screen reader and a black-and-white printout.
    fn timeline(&self, h: &mut Html) {
        h.raw("<section><h2>Activity</h2>");
        if self.activities.is_empty() {
            h.raw("<p class=\"mute\">No activity yet.</p></section>");
            return;
        }
        h.raw("<ol class=\"timeline\">");
        for activity in &self.activities {
            activity_item(h, activity, Some(self.kind));
        }
        h.raw("</ol>");
        more_note(h, "latest", self.activities.len(), self.activity_count);
        h.raw("</section>");
    }

    /// The record's history, folded away: it is for the curious, not for every visit.
    fn changes(&self, h: &mut Html) {
        h.raw("<section><details><summary>History (").number(self.history_count);
        h.raw(if self.history_count == 1 { " change)" } else { " changes)" }).raw("</summary>");
        if self.history.is_empty() {
            h.raw("<p class=\"mute\">No changes recorded.</p>");
        } else {
            h.raw("<table class=\"stack\"><caption class=\"vh\">Changes, newest first</caption><thead><tr><th scope=\"col\">When</th><th scope=\"col\">Who</th>");
            h.raw("<th scope=\"col\">Field</th><th scope=\"col\">Old</th><th scope=\"col\">New</th></tr></thead><tbody>");
            for change in &self.history {
                h.raw("<tr><td class=\"date\">").text(&when(&change.at)).raw("<br><span class=\"mute\">");
                h.text(&change.request_id).raw("</span></td><td data-label=\"By\">").text(actor_text(change.actor.as_deref()));
                h.raw("</td><td data-label=\"Field\">").text(&change.field).raw("</td><td data-label=\"Old\">");
                history_value(h, change.old.as_deref());
                h.raw("</td><td data-label=\"New\">");
                if !change.applied {
                    // A value sent and kept out: the stored value stayed; say so, show what was
                    // sent, and offer to apply it.
                    h.raw("<strong>Sent, not applied:</strong> ");
                    history_value(h, change.sent.as_deref());
                    h.raw("<br><span class=\"mute\">the stored value was kept</span> ");
                    if let Some(sent) = change.sent.as_deref() {
                        self.apply_kept_form(h, &change.field, sent);
                    }
                    h.raw("</td></tr>");
                    continue;
                }
                history_value(h, change.new.as_deref());
                if let Some(sent) = change.sent.as_deref() {
                    h.raw("<br><span class=\"mute\">as sent:</span> ");
                    history_value(h, Some(sent));
                }
                h.raw("</td></tr>");
            }
            h.raw("</tbody></table>");
            more_note(h, "latest", self.history.len(), self.history_count);
        }
        h.raw("</details></section>");
    }
}

/// "Showing the first/latest N of M." under a list that was cut at the list limit.
fn more_note(h: &mut Html, which: &'static str, shown: usize, total: usize) {
    if total > shown {
        h.raw("<p class=\"mute\">Showing the ").raw(which).raw(" ").number(shown).raw(" of ").number(total).raw(".</p>");
    }
}

fn history_value(h: &mut Html, value: Option<&str>) {
    match value {
        Some(v) => h.element("<code>", &truncate(v, MAX_HISTORY_VALUE_CHARS), "</code>"),
        None => h.raw("<span class=\"mute\">—</span>"),
    };
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const XSS: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>";

    fn row(kind: RecordKind) -> RecordRow {
        let fields = match kind {
            RecordKind::Contact => json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
                "linkedinUrl": "https://www.linkedin.com/in/ada", "ownerId": "us_1"}),
            RecordKind::Company => json!({"name": "Acme", "domain": "acme.com", "website": "javascript:alert(1)",
                "tags": ["b2b", "saas"], "customFields": {"segment": "smb"}, "employeeCount": 250, "parentCrmId": "co_p"}),
        };
        RecordRow {
            id: "ct_1".into(),
            external_id: Some("ext-1".into()),
            fields: fields.to_string(),
            properties: json!({"genesy_score": 7, "stage": "lead"}).to_string(),
            created_at: "2024-01-01T09:00:00.000Z".into(),
            updated_at: "2024-01-02T09:00:00.000Z".into(),
            last_activity_at: Some("2024-01-03T09:00:00.000Z".into()),
            owner: Some(json!({"id": "us_1", "name": "Sam Seller", "email": "sam@x.com"}).to_string()),
            links: Some(json!([{"id": "co_1", "name": "Acme", "primary": true}, {"id": "co_2", "name": "", "primary": false}]).to_string()),
            link_count: 2.0,
            parent: None,
            children: Some("[]".into()),
            open_tasks: Some(json!([{"id": "tk_1", "subject": "Call back", "description": null, "type": "CALL",
                "priority": "HIGH", "status": null, "dueDate": "2024-02-01T00:00:00.000Z", "completed": false,
                "completedAt": null, "contactId": "ct_1", "contactName": "Ada Lovelace", "companyId": null, "companyName": null}]).to_string()),
            done_tasks: Some(json!([{"id": "tk_2", "subject": "Intro email", "description": "sent", "type": null,
                "priority": null, "status": null, "dueDate": null, "completed": true,
                "completedAt": "2024-01-05T00:00:00.000Z", "contactId": "ct_1", "contactName": "Ada Lovelace",
                "companyId": null, "companyName": null}]).to_string()),
            activities: Some(json!([
                {"id": "ac_2", "type": "EMAIL", "subject": "Re: hello", "body": "Sounds good", "direction": "INBOUND",
                 "occurredAt": "2024-01-04T10:00:00.000Z", "contactId": "ct_1", "contactName": "Ada Lovelace",
                 "companyId": "co_1", "companyName": "Acme"},
                {"id": "ac_1", "type": "LINKEDIN", "subject": null, "body": "Hi Ada", "direction": "OUTBOUND",
                 "occurredAt": "2024-01-03T09:00:00.000Z", "contactId": "ct_1", "contactName": "Ada Lovelace",
                 "companyId": null, "companyName": null}
            ]).to_string()),
            activity_count: 2.0,
            history: Some(json!([{"field": "email", "old": "\"a@x.com\"", "new": "\"ada@example.com\"",
                "at": "2024-01-02T09:00:00.000Z", "requestId": "req_1", "sent": "\" ADA@example.com\""}]).to_string()),
            history_count: 1.0,
            users: Some(json!([{"id": "us_1", "name": "Sam Seller", "email": "sam@x.com"}]).to_string()),
        }
    }

    fn rendered(kind: RecordKind) -> String {
        RecordPage::from_row(kind, row(kind)).render(&Shell::bare("nonce1"))
    }

    #[test]
    fn contact_page_shows_fields_links_tasks_timeline_and_history() {
        let html = rendered(RecordKind::Contact);
        assert!(html.contains("<title>Ada Lovelace · edge-crm</title>"));
        assert!(html.contains("<h1>Ada Lovelace</h1>"));
        assert!(html.contains("<a href=\"mailto:ada@example.com\">ada@example.com</a>"));
        assert!(html.contains("<a href=\"https://www.linkedin.com/in/ada\">"));
        assert!(html.contains("Sam Seller"), "the owner by name");
        assert!(html.contains("<th>genesy_score</th><td>7</td>"), "custom properties in a table");
        assert!(html.contains("<a href=\"/view/company/co_1\">Acme</a><span class=\"badge\">primary</span>"));
        assert!(html.contains("<a href=\"/view/company/co_2\">(no name)</a> <form class=\"inline\""));
        assert!(html.contains("Call back") && html.contains("Intro email"));
        assert!(html.contains("<caption>Completed tasks</caption>"));
        let inbound = html.find("← Inbound").unwrap();
        let outbound = html.find("→ Outbound").unwrap();
        assert!(inbound < outbound, "newest first");
        assert!(html.contains("<li class=\"in\">") && html.contains("<li class=\"out\">"));
        assert!(html.contains("<details><summary>History (1 change)</summary>"));
        assert!(html.contains("&quot;ada@example.com&quot;"));
        assert!(html.contains("<span class=\"mute\">as sent:</span> <code>&quot; ADA@example.com&quot;</code>"), "{html}");
        // Every core field has a row, empty ones a dash.
        for spec in RecordKind::Contact.fields() {
            assert!(html.contains(&format!("<th>{}</th>", label(spec.name))), "{}", spec.name);
        }
        assert!(html.contains("<th>Title</th><td><span class=\"mute\">—</span>"));
    }

    #[test]
    fn a_value_sent_and_not_applied_is_shown_as_such_with_a_button_to_apply_it() {
        let mut r = row(RecordKind::Company);
        let mut fields: Map<String, Value> = serde_json::from_str(&r.fields).unwrap();
        fields.insert("industry".into(), json!("Financial Services"));
        fields.insert("country".into(), json!("ES"));
        r.fields = Value::Object(fields).to_string();
        let kept = |field: &str, stored: &str, sent: &str| {
            json!({"field": field, "old": stored, "new": stored, "at": "2024-01-02T09:00:00.000Z",
                   "requestId": "req_2", "sent": sent, "applied": false, "actor": "api"})
        };
        r.history = Some(
            json!([
                kept("industry", "\"Financial Services\"", "\"Fintech\""),
                kept("properties.stage", "\"lead\"", "\"customer\""),
                kept("country", "\"FR\"", "\"ES\""),
                kept("externalId", "\"a\"", "\"b\""),
            ])
            .to_string(),
        );
        let html = RecordPage::from_row(RecordKind::Company, r).render(&Shell::bare("n"));
        assert!(html.contains("<strong>Sent, not applied:</strong> <code>&quot;Fintech&quot;</code>"), "{html}");
        assert!(html.contains("the stored value was kept"));
        assert!(html.contains("<td data-label=\"Old\"><code>&quot;Financial Services&quot;</code>"));
        // Apply: the edit form's save of that field, over the value stored now.
        assert!(html.contains("<input type=\"hidden\" name=\"industry\" value=\"Fintech\"><input type=\"hidden\" name=\"was.industry\" value=\"Financial Services\">"), "{html}");
        assert!(html.contains("<input type=\"hidden\" name=\"properties.stage\" value=\"customer\"><input type=\"hidden\" name=\"was.properties.stage\" value=\"lead\">"));
        // Not offered when the record holds the value already, or for a field a page does not edit.
        assert_eq!(html.matches("Apply this value").count(), 4, "at the top of the page and in history: {html}");
        let top = &html[html.find("<section class=\"notice\" id=\"kept\">").expect("the kept values at the top")..html.find("<h2>Details</h2>").unwrap()];
        assert!(top.contains("<strong>Industry</strong>: “Fintech” (now “Financial Services”"), "{top}");
        assert!(top.contains("<strong>stage</strong>: “customer” (now “lead”") && !top.contains("country"), "{top}");
        // An ordinary change reads as before.
        assert!(!rendered(RecordKind::Contact).contains("not applied"));
    }

    fn with_forms(kind: RecordKind, state: Option<FormState>) -> String {
        let mut page = RecordPage::from_row(kind, row(kind));
        page.forms = Forms::new("t0ken", "seed");
        page.state = state;
        page.render(&Shell::bare("n"))
    }

    #[test]
    fn the_page_offers_every_write_as_a_form_named_like_the_api() {
        let html = with_forms(RecordKind::Contact, None);
        assert!(html.contains("<form method=\"post\" action=\"/view/contact/ct_1\">"), "the edit form");
        assert!(html.contains("name=\"title\" value=\"\">") && html.contains("name=\"was.title\" value=\"\""));
        assert!(html.contains("name=\"properties.genesy_score\" value=\"7\"") && html.contains("name=\"was.properties.genesy_score\" value=\"7\""));
        assert!(html.contains("<select id=\"f-ownerId\" name=\"ownerId\">"), "the owner is chosen among users");
        assert!(html.contains("<option value=\"us_1\" selected>Sam Seller (sam@x.com)</option>"));
        assert!(!html.contains("name=\"externalId\""), "Enginy's key is not edited by hand");
        assert!(html.contains("action=\"/view/contact/ct_1/activities\"") && html.contains("<option value=\"CALL\">Call</option>"));
        assert!(html.contains("action=\"/view/contact/ct_1/tasks\"") && html.contains("type=\"date\" id=\"t-dueDate\" name=\"dueDate\""));
        assert!(html.contains("action=\"/view/contact/ct_1/associations\"") && html.contains("name=\"companyCRMId\""));
        assert!(html.contains("action=\"/view/tasks/tk_1\"") && html.contains("name=\"completed\" value=\"true\">Complete task"));
        assert!(html.contains("name=\"completed\" value=\"false\">Reopen task"), "a completed task can be reopened");
        assert!(html.contains("href=\"/view/contact/ct_1/delete\""));
        // Every form carries the session's token and an id of its own.
        let forms = html.matches("<form ").count();
        assert_eq!(html.matches("name=\"token\" value=\"t0ken\"").count(), forms);
        let ids: std::collections::HashSet<&str> = html.match_indices("name=\"formId\" value=\"").map(|(i, m)| &html[i + m.len()..i + m.len() + 7]).collect();
        assert_eq!(ids.len(), forms, "one formId per form");
        // Every input, select and textarea is labelled.
        for (i, _) in html.match_indices(" id=\"f-").chain(html.match_indices(" id=\"t-")).chain(html.match_indices(" id=\"a-")) {
            let id = &html[i + 5..i + 5 + html[i + 5..].find('"').unwrap()];
            assert!(html.contains(&format!("<label for=\"{id}\">")), "{id} has no label");
        }
    }

    #[test]
    fn a_refused_form_keeps_what_was_typed_and_says_what_is_wrong_twice() {
        use super::super::edit::{FieldError, FormName};
        let typed = vec![("subject".to_string(), "".to_string()), ("dueDate".to_string(), "someday".to_string())];
        let state = FormState::invalid(FormName::Task, &typed, vec![FieldError::new("subject", "Enter what the task is"), FieldError::new("dueDate", "Enter a date")]);
        let html = with_forms(RecordKind::Contact, Some(state));
        assert!(html.contains("<title>Error: Ada Lovelace · edge-crm</title>"));
        assert!(html.contains("<h2 id=\"problem\">There is a problem</h2>"));
        assert!(html.contains("<li><a href=\"#t-subject\">Enter what the task is</a></li>"), "the summary links to the input");
        assert!(html.contains("<p class=\"error\" id=\"t-dueDate-error\"><span class=\"vh\">Error: </span>Enter a date</p>"), "and says it next to it");
        assert!(html.contains("name=\"dueDate\" value=\"someday\""), "what was typed is kept");
        assert!(html.contains("<details open><summary>Create a task</summary>"));
    }

    #[test]
    fn a_stale_edit_shows_the_stored_value_beside_the_sent_one() {
        use super::super::edit::{Conflict, FormName};
        let state = FormState {
            form: FormName::Edit,
            typed: vec![("title".into(), "CEO".into())],
            errors: vec![],
            conflicts: vec![Conflict { field: "title".into(), stored: "VP".into(), sent: "CEO".into() }],
        };
        let html = with_forms(RecordKind::Contact, Some(state));
        assert!(html.contains("This record changed since you opened the form"));
        assert!(html.contains("<a href=\"#f-title\">Title</a>: now “VP”, you sent “CEO”"));
        assert!(html.contains("name=\"title\" value=\"CEO\">"), "the sent value stays in the input");
        assert!(html.contains("name=\"was.title\" value=\"VP\""), "saving again means: over what is stored now");
    }

    #[test]
    fn history_says_who_made_each_change() {
        let mut r = row(RecordKind::Contact);
        r.history = Some(json!([
            {"field": "title", "old": null, "new": "\"CEO\"", "at": "2024-01-02T09:00:00.000Z", "requestId": "r2", "actor": "ada@example.com"},
            {"field": "email", "old": null, "new": "\"a@x.com\"", "at": "2024-01-01T09:00:00.000Z", "requestId": "r1", "actor": "api"}
        ]).to_string());
        let html = RecordPage::from_row(RecordKind::Contact, r).render(&Shell::bare("n"));
        assert!(html.contains("<td data-label=\"By\">ada@example.com</td>") && html.contains("<td data-label=\"By\">API</td>"), "{html}");
    }

    #[test]
    fn a_record_without_a_name_is_shown_by_what_identifies_it() {
        let id = |kind, v: Value| shown_identity(kind, v.as_object().unwrap());
        assert_eq!(id(RecordKind::Contact, json!({"firstName": "Ada", "email": "a@x.com"})), "Ada");
        assert_eq!(id(RecordKind::Contact, json!({"email": "a@x.com", "phone": "+34 600"})), "a@x.com");
        assert_eq!(id(RecordKind::Contact, json!({"linkedinUrl": "https://www.linkedin.com/in/ada-l/", "phone": "+34 600"})), "LinkedIn: in/ada-l");
        assert_eq!(id(RecordKind::Contact, json!({"phone": " +34 600 "})), "+34 600");
        assert_eq!(id(RecordKind::Company, json!({"domain": "acme.com"})), "acme.com");
        assert_eq!(id(RecordKind::Company, json!({"linkedinUrl": "https://linkedin.com/company/acme"})), "LinkedIn: company/acme");
        assert_eq!(id(RecordKind::Company, json!({})), "(company without a name)");
    }

    #[test]
    fn company_page_links_contacts_and_never_links_a_script_url() {
        let html = rendered(RecordKind::Company);
        assert!(html.contains("<h2>Contacts</h2>"));
        assert!(html.contains("<a href=\"/view/contact/co_1\">Acme</a><span class=\"badge\">primary company</span>"));
        assert!(html.contains("<td>javascript:alert(1)</td>"), "shown as text");
        assert!(!html.contains("href=\"javascript"));
        assert!(html.contains("<td>b2b, saas</td>"));
        assert!(html.contains("{&quot;segment&quot;:&quot;smb&quot;}"));
        assert!(html.contains("<code>co_p</code> <span class=\"mute\">(not found)</span>"));
        // On the company's page, its own name is not repeated on its activities.
        assert!(!html.contains("href=\"/view/company/co_1\""));
    }

    #[test]
    fn every_stored_value_is_escaped() {
        let mut r = row(RecordKind::Company);
        let mut fields = Map::new();
        for spec in RecordKind::Company.fields() {
            fields.insert(spec.name.to_string(), json!(XSS));
        }
        fields.insert("tags".into(), json!([XSS]));
        fields.insert("customFields".into(), json!({ XSS: XSS }));
        r.fields = Value::Object(fields).to_string();
        r.properties = json!({ XSS: XSS }).to_string();
        r.external_id = Some(XSS.into());
        r.id = XSS.into();
        r.owner = Some(json!({"id": XSS, "name": XSS, "email": XSS}).to_string());
        r.parent = Some(json!({"id": XSS, "name": XSS}).to_string());
        r.links = Some(json!([{"id": XSS, "name": XSS, "primary": true}]).to_string());
        r.children = r.links.clone();
        let task = json!({"id": XSS, "subject": XSS, "description": XSS, "type": XSS, "priority": XSS, "status": XSS,
            "dueDate": XSS, "completed": false, "completedAt": XSS, "contactId": XSS, "contactName": XSS,
            "companyId": XSS, "companyName": XSS});
        r.open_tasks = Some(json!([task]).to_string());
        r.done_tasks = Some(json!([task]).to_string());
        r.activities = Some(json!([{"id": XSS, "type": XSS, "subject": XSS, "body": XSS, "direction": XSS,
            "occurredAt": XSS, "contactId": XSS, "contactName": XSS, "companyId": XSS, "companyName": XSS}]).to_string());
        r.history = Some(json!([{"field": XSS, "old": XSS, "new": XSS, "at": XSS, "requestId": XSS, "sent": XSS}]).to_string());
        r.last_activity_at = Some(XSS.into());
        r.created_at = XSS.into();
        let html = RecordPage::from_row(RecordKind::Company, r).render(&Shell::bare("n"));
        assert!(!html.contains("<script") && !html.contains("<img"), "{html}");
        assert!(!html.contains("alert(1)>"), "no tag was closed by data");
        assert!(html.matches("&lt;script&gt;alert(1)&lt;/script&gt;").count() > 30);
    }

    #[test]
    fn broken_json_columns_read_as_empty() {
        let mut r = row(RecordKind::Contact);
        r.links = Some("not json".into());
        r.activities = None;
        r.fields = "[]".into();
        let p = RecordPage::from_row(RecordKind::Contact, r);
        assert!(p.links.is_empty() && p.activities.is_empty() && p.fields.is_empty());
        assert_eq!(p.name(), "(contact without a name)");
    }

    #[test]
    fn record_links_encode_the_id() {
        assert_eq!(record_href(RecordKind::Contact, "ct_1"), "/view/contact/ct_1");
        assert_eq!(record_href(RecordKind::Company, "a/b?c"), "/view/company/a%2Fb%3Fc");
    }

    #[test]
    fn an_activity_names_the_user_it_is_attributed_to_escaped() {
        let activity = Activity {
            id: "ac_1".into(),
            kind: "LINKEDIN".into(),
            subject: Some("Connected".into()),
            body: None,
            direction: Some("OUTBOUND".into()),
            occurred_at: "2024-01-01T00:00:00.000Z".into(),
            contact_id: None,
            contact_name: None,
            company_id: None,
            company_name: None,
            owner_name: Some(format!("Olive {XSS}")),
        };
        let mut h = Html::new();
        activity_item(&mut h, &activity, None);
        let html = h.finish();
        assert!(html.contains("by Olive &lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"));
        let mut h = Html::new();
        activity_item(&mut h, &Activity { owner_name: None, ..activity }, None);
        assert!(!h.finish().contains(" by "), "no user, no name");
    }
}
