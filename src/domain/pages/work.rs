//! "My work" (`GET /view/work`, API.md §9): the signed-in person's open tasks, overdue first and
//! never hidden, then due today, upcoming, and without a date; each with one-step complete,
//! reschedule and reassign forms ([`task_actions`], which the record pages use too). The counts of
//! the four groups ([`WorkCounts`]) go in the header of every page.
//!
//! Built from the one row of `store::sql_work_page::WORK_PAGE` (the counts alone:
//! `WORK_COUNTS`). What the groups are, all in UTC:
//! - the person is the stored user (table `users`) whose `email_key` is the signed-in email
//!   normalised like `POST /users` normalises it ([`email_key`]); their tasks are those whose
//!   `owner_id` is that user's id. A person who is no stored user has no tasks, and the page says
//!   how a user is added;
//! - a task is open when `deleted_at IS NULL AND completed = 0`;
//! - `due_date` is stored as an RFC 3339 UTC timestamp with milliseconds
//!   (`2024-01-20T10:30:00.000Z`), or NULL, so text order is time order;
//! - **overdue**: `due_date < now`, oldest first;
//! - **due today**: `now <= due_date < start of tomorrow`, by due date;
//! - **upcoming**: `due_date >= start of tomorrow`, by due date;
//! - **no date**: `due_date IS NULL`, in creation order (ids are time-sortable).
//!
//! `now` and the start of tomorrow come from [`day_bounds`]. Each group shows at most the
//! statement's limit of tasks and says when it was cut; its count is always whole.
//!
//! Every form of the page carries the session's token, a `formId` unique in the page (so a
//! double submit of one form is recognised), and `back`, the page to return to ([`Forms`]).
//! Each also carries `shown`, the stored value of the field it edits as the page showed it, so a
//! save over someone else's change of that field can be refused (API.md §9, "No lost update").

use serde::Deserialize;

use super::form::Forms;
use super::html::{url_encode, Html};
use super::layout::{grouped, when, WorkCounts};
use super::parts::{about_links, task_summary, Owner, Task};
use crate::domain::normalize::normalize_email;
use crate::domain::record::RecordKind;
use crate::domain::time::Timestamp;

/// The page's path: where its forms send the person back to.
pub const WORK_PATH: &str = "/view/work";

const DAY_MS: i64 = 86_400_000;

/// The signed-in email as `users.email_key` holds it (trimmed, lower-cased, NFC); `None` for a
/// name that is no email address (the shared password's `dashboard`), which names no user.
pub fn email_key(email: &str) -> Option<String> {
    normalize_email(email)
}

/// `now` and the start of tomorrow (UTC midnight after `now`), as the statements take them
/// (`?2`, `?3`).
pub fn day_bounds(now: Timestamp) -> (String, String) {
    let tomorrow = (now.millis().div_euclid(DAY_MS) + 1) * DAY_MS;
    (now.to_rfc3339(), Timestamp::from_millis(tomorrow).to_rfc3339())
}

/// The `YYYY-MM-DD` a date input shows for a stored due date; empty for none (or for a stored
/// value that does not start with a date).
pub fn date_input_value(due: Option<&str>) -> &str {
    let Some(due) = due else { return "" };
    let b = due.as_bytes();
    let shaped = b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && [0, 1, 2, 3, 5, 6, 8, 9].iter().all(|&i| b[i].is_ascii_digit());
    if shaped {
        &due[..10]
    } else {
        ""
    }
}

/// The due date a reschedule form's `dueDate` (`YYYY-MM-DD`) stands for: that day at the time of
/// day of the due date it showed (`shown`), so moving a 10:30 call keeps it at 10:30; a task that
/// had none is due at the end of that day (UTC), so a task moved to today is due today, not
/// overdue. `None` when the date is not a real `YYYY-MM-DD`.
pub fn due_from_date(date: &str, shown: Option<&str>) -> Option<String> {
    let date = date.trim();
    if date.len() != 10 || date_input_value(Some(date)).is_empty() {
        return None;
    }
    let day = Timestamp::parse(&format!("{date}T00:00:00.000Z")).ok()?;
    let time_of_day = match shown.map(Timestamp::parse) {
        Some(Ok(previous)) => previous.millis().rem_euclid(DAY_MS),
        _ => DAY_MS - 1,
    };
    Some(Timestamp::from_millis(day.millis() + time_of_day).to_rfc3339())
}

/// The row of `WORK_COUNTS`: the person's user (JSON `{id, name, email}`, NULL when their email
/// names none) and their counts.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PersonRow {
    pub user: Option<String>,
    #[serde(flatten)]
    pub counts: WorkCounts,
}

impl PersonRow {
    pub fn user(&self) -> Option<Owner> {
        self.user.as_deref().and_then(|u| serde_json::from_str(u).ok())
    }
}

/// The row as the store reads it: JSON text per column (see `WORK_PAGE`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WorkRow {
    /// `{id, name, email}`, or NULL when no user has the email.
    pub user: Option<String>,
    /// `{overdue, today, upcoming, undated}`.
    pub counts: Option<String>,
    pub overdue: Option<String>,
    pub today: Option<String>,
    pub upcoming: Option<String>,
    pub undated: Option<String>,
    /// Every user, by name: the reassign select.
    pub users: Option<String>,
}

impl WorkRow {
    /// The person and their counts, as every page's header reads them: My work reads them in its
    /// own statement, so its header needs no other.
    pub fn person(&self) -> PersonRow {
        let counts = self.counts.as_deref().and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default();
        PersonRow { user: self.user.clone(), counts }
    }
}

/// A task of the page: what the record pages show of one, and its owner.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct WorkTask {
    #[serde(flatten)]
    pub task: Task,
    #[serde(default, rename = "ownerId")]
    pub owner_id: Option<String>,
}

/// What the action forms need of a task; the record pages build one from their own task rows
/// ([`TaskRef::of`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskRef<'a> {
    pub id: &'a str,
    pub subject: &'a str,
    pub due_date: Option<&'a str>,
    pub owner_id: Option<&'a str>,
    pub completed: bool,
}

impl<'a> TaskRef<'a> {
    pub fn of(task: &'a Task, owner_id: Option<&'a str>) -> TaskRef<'a> {
        TaskRef { id: &task.id, subject: &task.subject, due_date: task.due_date.as_deref(), owner_id, completed: task.completed }
    }
}

impl<'a> From<&'a WorkTask> for TaskRef<'a> {
    fn from(t: &'a WorkTask) -> TaskRef<'a> {
        TaskRef::of(&t.task, t.owner_id.as_deref())
    }
}

/// Opens a task's form: `POST /view/tasks/{id}` with the token, a fresh form id, the page to go
/// back to, and the value shown of the field it edits. Answers the form's id.
fn open_form(h: &mut Html, task: &TaskRef<'_>, forms: &Forms, back: &str, shown: &str) -> String {
    h.raw("<form class=\"act\" method=\"post\" action=\"/view/tasks/").text(&url_encode(task.id)).raw("\">");
    let form_id = forms.hidden(h, back);
    h.raw("<input type=\"hidden\" name=\"shown\" value=\"").text(shown).raw("\">");
    form_id
}

/// The task's subject for screen readers, so that each of many "Complete task" buttons and "New
/// due date" labels on a page says which task it is for.
fn for_task(h: &mut Html, sep: &'static str, task: &TaskRef<'_>) {
    h.raw("<span class=\"vh\">").raw(sep).raw("“").text(task.subject).raw("”</span>");
}

/// A user in the reassign select: name and email, or the email alone.
fn user_label(user: &Owner) -> String {
    if user.name.trim().is_empty() {
        user.email.clone()
    } else {
        format!("{} ({})", user.name, user.email)
    }
}

/// A task's one-step actions, three small forms to `POST /view/tasks/{id}`: complete it (or
/// reopen a completed one: `completed=true|false`), reschedule it (`dueDate`, a `YYYY-MM-DD`
/// date input showing its current due date; see [`due_from_date`]), and reassign it (`ownerId`, a
/// select of `users` with its owner selected; left out when there is no user). Every input is
/// labelled, and the labels and buttons name the task for screen readers.
pub fn task_actions(h: &mut Html, task: TaskRef<'_>, users: &[Owner], forms: &Forms, back: &str) {
    h.raw("<div class=\"actions\">");
    open_form(h, &task, forms, back, if task.completed { "true" } else { "false" });
    if task.completed {
        h.raw("<button name=\"completed\" value=\"false\">Reopen task");
    } else {
        h.raw("<button name=\"completed\" value=\"true\">Complete task");
    }
    for_task(h, ": ", &task);
    h.raw("</button></form>");

    let form_id = open_form(h, &task, forms, back, task.due_date.unwrap_or(""));
    h.raw("<label for=\"").text(&form_id).raw("-due\">New due date");
    for_task(h, " of ", &task);
    h.raw("</label><input type=\"date\" id=\"").text(&form_id).raw("-due\" name=\"dueDate\" value=\"");
    h.text(date_input_value(task.due_date)).raw("\"><button>Reschedule");
    for_task(h, ": ", &task);
    h.raw("</button></form>");

    if !users.is_empty() {
        let form_id = open_form(h, &task, forms, back, task.owner_id.unwrap_or(""));
        h.raw("<label for=\"").text(&form_id).raw("-owner\">Assign to");
        for_task(h, ", task ", &task);
        h.raw("</label><select id=\"").text(&form_id).raw("-owner\" name=\"ownerId\">");
        let known = task.owner_id.is_some_and(|o| users.iter().any(|u| u.id == o));
        match task.owner_id {
            None => {
                h.raw("<option value=\"\" selected>Nobody</option>");
            }
            Some(owner) if !known => {
                h.raw("<option value=\"").text(owner).raw("\" selected>Unknown user ").text(owner).raw("</option>");
            }
            Some(_) => {}
        }
        for user in users {
            h.raw("<option value=\"").text(&user.id).raw("\"");
            if task.owner_id == Some(user.id.as_str()) {
                h.raw(" selected");
            }
            h.raw(">").text(&user_label(user)).raw("</option>");
        }
        h.raw("</select><button>Reassign");
        for_task(h, ": ", &task);
        h.raw("</button></form>");
    }
    h.raw("</div>");
}

/// The four groups, in the page's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Overdue,
    Today,
    Upcoming,
    Undated,
}

impl Group {
    pub const ALL: [Group; 4] = [Group::Overdue, Group::Today, Group::Upcoming, Group::Undated];

    /// The section's id, for links to it.
    pub fn anchor(self) -> &'static str {
        match self {
            Group::Overdue => "overdue",
            Group::Today => "today",
            Group::Upcoming => "upcoming",
            Group::Undated => "undated",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Group::Overdue => "Overdue",
            Group::Today => "Due today",
            Group::Upcoming => "Upcoming",
            Group::Undated => "No due date",
        }
    }

    fn caption(self) -> &'static str {
        match self {
            Group::Overdue => "Overdue tasks, oldest first",
            Group::Today => "Tasks due today (UTC), earliest first",
            Group::Upcoming => "Upcoming tasks, soonest first",
            Group::Undated => "Tasks without a due date, oldest first",
        }
    }

    fn empty(self) -> &'static str {
        match self {
            Group::Overdue => "Nothing is overdue.",
            Group::Today => "Nothing is due today.",
            Group::Upcoming => "No upcoming tasks.",
            Group::Undated => "No tasks without a due date.",
        }
    }

    /// "Showing the oldest 100 of 250." under a cut group.
    fn cut_note(self) -> &'static str {
        match self {
            Group::Overdue | Group::Undated => "oldest",
            Group::Today | Group::Upcoming => "first",
        }
    }

    fn count(self, counts: &WorkCounts) -> usize {
        match self {
            Group::Overdue => counts.overdue,
            Group::Today => counts.today,
            Group::Upcoming => counts.upcoming,
            Group::Undated => counts.undated,
        }
    }
}

/// Everything "My work" shows.
#[derive(Debug, Clone)]
pub struct WorkPage {
    /// Who signed in, as they did (an email, or a name that is none).
    pub email: String,
    /// The stored user with that email; `None`: they have no tasks, and the page says why.
    pub user: Option<Owner>,
    pub counts: WorkCounts,
    pub overdue: Vec<WorkTask>,
    pub today: Vec<WorkTask>,
    pub upcoming: Vec<WorkTask>,
    pub undated: Vec<WorkTask>,
    /// Every user, by name: whom a task can be reassigned to.
    pub users: Vec<Owner>,
}

/// A JSON column the statement wrote; a column left NULL (or unreadable) is an empty list.
fn parse_list<T: for<'de> Deserialize<'de>>(column: Option<&str>) -> Vec<T> {
    column.and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default()
}

impl WorkPage {
    /// The page of the person signed in as `email`, from the row of `WORK_PAGE` (a default row
    /// when the store was not asked, e.g. for a name that is no email address).
    pub fn from_row(row: WorkRow, email: &str) -> WorkPage {
        WorkPage {
            email: email.to_string(),
            user: row.user.as_deref().and_then(|u| serde_json::from_str(u).ok()),
            counts: row.counts.as_deref().and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default(),
            overdue: parse_list(row.overdue.as_deref()),
            today: parse_list(row.today.as_deref()),
            upcoming: parse_list(row.upcoming.as_deref()),
            undated: parse_list(row.undated.as_deref()),
            users: parse_list(row.users.as_deref()),
        }
    }

    /// The tab's title.
    pub fn title(&self) -> &'static str {
        "My work"
    }

    pub fn group(&self, group: Group) -> &[WorkTask] {
        match group {
            Group::Overdue => &self.overdue,
            Group::Today => &self.today,
            Group::Upcoming => &self.upcoming,
            Group::Undated => &self.undated,
        }
    }

    /// The page's content, inside the shell's `<main>`.
    pub fn render_content(&self, h: &mut Html, forms: &Forms) {
        h.raw("<h1>My work</h1>");
        let Some(user) = &self.user else {
            self.not_a_user(h);
            return;
        };
        h.raw("<p class=\"mute\">Open tasks assigned to ").text(&user_label(user)).raw(". Times are in UTC.</p>");
        h.raw("<ul class=\"counts-nav\">");
        for group in Group::ALL {
            h.raw("<li><a href=\"#").raw(group.anchor()).raw("\">").raw(group.title()).raw(" (");
            h.text(&grouped(group.count(&self.counts) as i64)).raw(")</a></li>");
        }
        h.raw("</ul>");
        for group in Group::ALL {
            self.section(h, group, forms);
        }
    }

    fn section(&self, h: &mut Html, group: Group, forms: &Forms) {
        let tasks = self.group(group);
        let total = group.count(&self.counts).max(tasks.len());
        h.raw("<section id=\"").raw(group.anchor()).raw("\"");
        if group == Group::Overdue {
            h.raw(" class=\"late\"");
        }
        h.raw("><h2>").raw(group.title()).raw(" (").text(&grouped(total as i64)).raw(")</h2>");
        if tasks.is_empty() {
            h.raw("<p class=\"mute\">").raw(group.empty()).raw("</p></section>");
            return;
        }
        h.raw("<div class=\"scroll\"><table class=\"work\"><caption>").raw(group.caption()).raw("</caption>");
        h.raw("<thead><tr><th scope=\"col\">Due</th><th scope=\"col\">Task</th><th scope=\"col\">Regarding</th>");
        h.raw("<th scope=\"col\">Actions</th></tr></thead><tbody>");
        for task in tasks {
            self.row(h, group, task, forms);
        }
        h.raw("</tbody></table></div>");
        if total > tasks.len() {
            h.raw("<p class=\"mute\">Showing the ").raw(group.cut_note()).raw(" ").number(tasks.len());
            h.raw(" of ").text(&grouped(total as i64)).raw(".</p>");
        }
        h.raw("</section>");
    }

    fn row(&self, h: &mut Html, group: Group, task: &WorkTask, forms: &Forms) {
        let t = &task.task;
        h.raw(if group == Group::Overdue { "<tr class=\"late\">" } else { "<tr>" });
        h.raw("<td class=\"date\" data-label=\"Due\">");
        if group == Group::Overdue {
            h.raw("<strong class=\"late\">Overdue</strong><br>");
        }
        match t.due_date.as_deref() {
            Some(due) => h.text(&when(due)),
            None => h.raw("<span class=\"mute\">No date</span>"),
        };
        h.raw("</td><td data-label=\"Task\">");
        task_summary(h, t);
        for (label, value) in [("Priority", &t.priority), ("Status", &t.status)] {
            if let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                h.raw("<br><span class=\"mute\">").raw(label).raw(":</span> ").text(value);
            }
        }
        h.raw("</td><td data-label=\"Regarding\">");
        if t.contact_id.is_none() && t.company_id.is_none() {
            h.raw("<span class=\"mute\">—</span>");
        } else {
            let about = [(RecordKind::Contact, &t.contact_id, &t.contact_name), (RecordKind::Company, &t.company_id, &t.company_name)];
            about_links(h, about, None, "<br>", false);
        }
        h.raw("</td><td data-label=\"Actions\">");
        task_actions(h, TaskRef::from(task), &self.users, forms, WORK_PATH);
        h.raw("</td></tr>");
    }

    /// The signed-in person is no stored user: no task can be theirs. Says why and what to do.
    fn not_a_user(&self, h: &mut Html) {
        h.raw("<section><h2>No tasks can be assigned to you yet</h2>");
        match email_key(&self.email) {
            Some(_) => {
                h.raw("<p>Your email, <strong>").text(&self.email).raw("</strong>, has no user in the CRM, ");
                h.raw("so no tasks are assigned to you.</p>");
            }
            None => {
                h.raw("<p>You are signed in as <strong>").text(&self.email).raw("</strong>, which is not an email address, ");
                h.raw("so it names no user in the CRM and no tasks are assigned to you. ");
                h.raw("With the shared password, sign in with your email as the user name.</p>");
            }
        }
        h.raw("<p>A user is added through the API: <code>POST /users</code> with their email, for example ");
        h.raw("<code>{\"email\": \"").text(if email_key(&self.email).is_some() { self.email.trim() } else { "you@example.com" });
        h.raw("\", \"name\": \"Your Name\"}</code>. ");
        h.raw("Tasks whose <code>ownerId</code> is that user's id then show here.</p></section>");
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn my_works_row_carries_the_headers_person_and_counts() {
        let row = WorkRow {
            user: Some(r#"{"id": "us_1", "name": "Ana", "email": "ana@x.com"}"#.into()),
            counts: Some(r#"{"overdue": 2, "today": 1, "upcoming": 0, "undated": 4}"#.into()),
            ..WorkRow::default()
        };
        let person = row.person();
        assert_eq!(person.user().map(|u| u.id), Some("us_1".to_string()));
        assert_eq!((person.counts.overdue, person.counts.today, person.counts.undated), (2, 1, 4));
        let nobody = WorkRow::default().person();
        assert!(nobody.user().is_none() && nobody.counts == WorkCounts::default());
    }

    use std::collections::HashSet;

    use serde_json::{json, Value};

    use super::*;

    const XSS: &str = "<script>alert(1)</script>";

    fn task(id: &str, subject: &str, due: Option<&str>) -> Value {
        json!({"id": id, "subject": subject, "description": null, "type": "CALL", "priority": "HIGH", "status": null,
               "dueDate": due, "ownerId": "us_1", "completed": false, "completedAt": null,
               "contactId": "ct_1", "contactName": "Ada Lovelace", "companyId": "co_1", "companyName": "Acme"})
    }

    fn row() -> WorkRow {
        WorkRow {
            user: Some(json!({"id": "us_1", "name": "Sam Seller", "email": "sam@x.com"}).to_string()),
            counts: Some(json!({"overdue": 3, "today": 1, "upcoming": 1, "undated": 1}).to_string()),
            overdue: Some(json!([task("tk_o1", "Oldest", Some("2024-01-01T08:00:00.000Z")), task("tk_o2", "Older", Some("2024-01-02T08:00:00.000Z"))]).to_string()),
            today: Some(json!([task("tk_t", "Call today", Some("2024-01-10T15:00:00.000Z"))]).to_string()),
            upcoming: Some(json!([task("tk_u", "Later", Some("2024-02-01T09:30:00.000Z"))]).to_string()),
            undated: Some(json!([task("tk_n", "Someday", None)]).to_string()),
            users: Some(json!([{"id": "us_2", "name": "Ana", "email": "ana@x.com"}, {"id": "us_1", "name": "Sam Seller", "email": "sam@x.com"}]).to_string()),
        }
    }

    fn render(page: &WorkPage) -> String {
        let forms = Forms::new("tok123", "f");
        let mut h = Html::new();
        page.render_content(&mut h, &forms);
        h.finish()
    }

    fn ids(html: &str, attr: &str) -> Vec<String> {
        let needle = format!(" {attr}=\"");
        html.match_indices(&needle).map(|(i, _)| html[i + needle.len()..].split('"').next().unwrap().to_string()).collect()
    }

    #[test]
    fn groups_come_in_order_with_their_counts() {
        let page = WorkPage::from_row(row(), "sam@x.com");
        assert_eq!(page.counts, WorkCounts { overdue: 3, today: 1, upcoming: 1, undated: 1 });
        assert_eq!(page.counts.total(), 6);
        assert_eq!(page.overdue.iter().map(|t| t.task.id.as_str()).collect::<Vec<_>>(), ["tk_o1", "tk_o2"]);
        assert_eq!(page.overdue[0].owner_id.as_deref(), Some("us_1"));
        let html = render(&page);
        assert!(html.starts_with("<h1>My work</h1>"), "{html}");
        let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s} missing"));
        assert!(at("<h2>Overdue (3)</h2>") < at("<h2>Due today (1)</h2>"));
        assert!(at("<h2>Due today (1)</h2>") < at("<h2>Upcoming (1)</h2>"));
        assert!(at("<h2>Upcoming (1)</h2>") < at("<h2>No due date (1)</h2>"));
        assert!(at("Oldest") < at("Older") && at("Older") < at("Call today"));
        // Overdue is marked in words, not only by colour, and said to be cut.
        assert!(html.contains("<section id=\"overdue\" class=\"late\">"));
        assert_eq!(html.matches("<strong class=\"late\">Overdue</strong>").count(), 2);
        assert!(html.contains("Showing the oldest 2 of 3."), "{html}");
        // Tables with captions and column headers; links to what the task is about.
        assert_eq!(html.matches("<caption>").count(), 4);
        for th in ["Due", "Task", "Regarding", "Actions"] {
            assert_eq!(html.matches(&format!("<th scope=\"col\">{th}</th>")).count(), 4, "{th}");
        }
        assert!(html.contains("<a href=\"/view/contact/ct_1\">Ada Lovelace</a><br><a href=\"/view/company/co_1\">Acme</a>"));
        assert!(html.contains("2024-01-10 15:00 UTC"));
        assert!(html.contains("<span class=\"mute\">No date</span>"));
        assert!(html.contains("<a href=\"#overdue\">Overdue (3)</a>"));
    }

    #[test]
    fn empty_groups_say_so() {
        let mut r = row();
        r.overdue = Some("[]".into());
        r.today = None;
        r.upcoming = Some("not json".into());
        r.undated = Some("[]".into());
        r.counts = Some(json!({"overdue": 0, "today": 0, "upcoming": 0, "undated": 0}).to_string());
        let html = render(&WorkPage::from_row(r, "sam@x.com"));
        for (title, sentence) in [
            ("Overdue (0)", "Nothing is overdue."),
            ("Due today (0)", "Nothing is due today."),
            ("Upcoming (0)", "No upcoming tasks."),
            ("No due date (0)", "No tasks without a due date."),
        ] {
            assert!(html.contains(&format!("<h2>{title}</h2><p class=\"mute\">{sentence}</p>")), "{title}: {html}");
        }
        assert!(!html.contains("<table"));
        assert!(!html.contains("<form"));
    }

    #[test]
    fn every_stored_value_is_escaped() {
        let mut r = row();
        let mut t = task(XSS, XSS, Some(XSS));
        for field in ["description", "type", "priority", "status", "ownerId", "contactId", "contactName", "companyId", "companyName"] {
            t[field] = json!(XSS);
        }
        r.overdue = Some(json!([t]).to_string());
        r.user = Some(json!({"id": XSS, "name": XSS, "email": XSS}).to_string());
        r.users = Some(json!([{"id": XSS, "name": XSS, "email": XSS}]).to_string());
        let html = render(&WorkPage::from_row(r, XSS));
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("action=\"/view/tasks/%3Cscript%3Ealert%281%29%3C%2Fscript%3E\""), "the id is url-encoded");
        let html = render(&WorkPage::from_row(WorkRow::default(), XSS));
        assert!(!html.contains("<script") && html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn forms_carry_their_fields_and_ids_are_unique() {
        let page = WorkPage::from_row(row(), "sam@x.com");
        let html = render(&page);
        let tasks = 5;
        assert_eq!(html.matches("<form class=\"act\" method=\"post\" action=\"/view/tasks/").count(), 3 * tasks);
        assert!(html.contains("action=\"/view/tasks/tk_o1\""));
        for hidden in ["token\" value=\"tok123\"", "back\" value=\"/view/work\""] {
            assert_eq!(html.matches(&format!("<input type=\"hidden\" name=\"{hidden}>")).count(), 3 * tasks, "{hidden}");
        }
        assert_eq!(html.matches("name=\"formId\"").count(), 3 * tasks);
        assert_eq!(html.matches("name=\"shown\"").count(), 3 * tasks);
        assert_eq!(html.matches("<button name=\"completed\" value=\"true\">Complete task").count(), tasks);
        assert_eq!(html.matches("name=\"dueDate\"").count(), tasks);
        assert_eq!(html.matches("<select id=").count(), tasks);
        assert_eq!(html.matches("name=\"ownerId\"").count(), tasks);
        assert!(html.contains("<option value=\"us_1\" selected>Sam Seller (sam@x.com)</option>"));
        assert!(html.contains("<option value=\"us_2\">Ana (ana@x.com)</option>"));
        assert!(html.contains("<input type=\"date\" id=\"f-2-due\" name=\"dueDate\" value=\"2024-01-01\">"), "{html}");
        assert!(html.contains("<input type=\"hidden\" name=\"shown\" value=\"2024-01-01T08:00:00.000Z\">"));

        // Form ids and element ids: unique in the page; every label names an element that exists.
        let form_ids: Vec<String> = html
            .match_indices("name=\"formId\" value=\"")
            .map(|(i, m)| html[i + m.len()..].split('"').next().unwrap().to_string())
            .collect();
        assert_eq!(form_ids.len(), form_ids.iter().collect::<HashSet<_>>().len(), "{form_ids:?}");
        let element_ids = ids(&html, "id");
        let unique: HashSet<&String> = element_ids.iter().collect();
        assert_eq!(element_ids.len(), unique.len(), "{element_ids:?}");
        let labels = ids(&html, "for");
        assert_eq!(labels.len(), 2 * tasks, "a label for each date input and select");
        for label in &labels {
            assert!(unique.contains(label), "label for {label} names nothing");
        }
        // Each label and button names its task for screen readers.
        assert!(html.contains("New due date<span class=\"vh\"> of “Oldest”</span></label>"));
        assert!(html.contains("Complete task<span class=\"vh\">: “Someday”</span></button>"));
    }

    #[test]
    fn an_undated_task_has_an_empty_date_input() {
        let page = WorkPage::from_row(row(), "sam@x.com");
        let forms = Forms::new("t", "x");
        let mut h = Html::new();
        task_actions(&mut h, TaskRef::from(&page.undated[0]), &page.users, &forms, "/back?a=1&b=2");
        let html = h.finish();
        assert!(html.contains("<input type=\"date\" id=\"x-2-due\" name=\"dueDate\" value=\"\">"), "{html}");
        assert!(html.contains("name=\"back\" value=\"/back?a=1&amp;b=2\""));
        assert_eq!(forms.next_id(), "x-4", "three forms took three ids");
    }

    #[test]
    fn a_completed_task_offers_reopen_and_an_unknown_owner_stays_selected() {
        let page = WorkPage::from_row(row(), "sam@x.com");
        let mut t = page.today[0].clone();
        t.task.completed = true;
        t.owner_id = Some("us_gone".into());
        let forms = Forms::new("t", "x");
        let mut h = Html::new();
        task_actions(&mut h, TaskRef::from(&t), &page.users, &forms, WORK_PATH);
        let html = h.finish();
        assert!(html.contains("<button name=\"completed\" value=\"false\">Reopen task"), "{html}");
        assert!(!html.contains("Complete task"));
        assert!(html.contains("<option value=\"us_gone\" selected>Unknown user us_gone</option>"));
        assert!(!html.contains("<option value=\"us_1\" selected>"));

        t.owner_id = None;
        let mut h = Html::new();
        task_actions(&mut h, TaskRef::from(&t), &page.users, &forms, WORK_PATH);
        assert!(h.finish().contains("<option value=\"\" selected>Nobody</option>"));

        let mut h = Html::new();
        task_actions(&mut h, TaskRef::from(&t), &[], &forms, WORK_PATH);
        let html = h.finish();
        assert!(!html.contains("ownerId") && html.contains("dueDate"), "no user, no reassign form");
    }

    #[test]
    fn a_person_who_is_no_user_is_told_how_to_become_one() {
        let mut r = row();
        r.user = None;
        let html = render(&WorkPage::from_row(r, "New.Person@x.com"));
        assert!(html.contains("Your email, <strong>New.Person@x.com</strong>, has no user in the CRM, so no tasks are assigned to you."), "{html}");
        assert!(html.contains("<code>POST /users</code>"));
        assert!(html.contains("<code>{\"email\": \"New.Person@x.com\", \"name\": \"Your Name\"}</code>"), "{html}");
        assert!(!html.contains("<form") && !html.contains("<table"));
        let html = render(&WorkPage::from_row(WorkRow::default(), "dashboard"));
        assert!(html.contains("signed in as <strong>dashboard</strong>, which is not an email address"), "{html}");
        assert!(html.contains("<code>POST /users</code>"));
    }

    #[test]
    fn counts_read_from_d1_numbers() {
        let c: WorkCounts = serde_json::from_value(json!({"overdue": 2.0, "today": 0, "upcoming": 12000, "undated": 1})).unwrap();
        assert_eq!((c.overdue, c.today, c.upcoming, c.undated, c.total()), (2, 0, 12000, 1, 12003));
    }

    #[test]
    fn the_day_ends_at_utc_midnight() {
        let now = Timestamp::parse("2024-01-20T23:59:59.999Z").unwrap();
        assert_eq!(day_bounds(now), ("2024-01-20T23:59:59.999Z".to_string(), "2024-01-21T00:00:00.000Z".to_string()));
        let now = Timestamp::parse("2024-02-29T00:00:00.000Z").unwrap();
        assert_eq!(day_bounds(now).1, "2024-03-01T00:00:00.000Z");
        let now = Timestamp::parse("2024-12-31T12:00:00.000Z").unwrap();
        assert_eq!(day_bounds(now).1, "2025-01-01T00:00:00.000Z");
    }

    #[test]
    fn a_rescheduled_date_keeps_the_time_of_day() {
        assert_eq!(due_from_date("2024-03-05", Some("2024-01-20T10:30:00.000Z")).as_deref(), Some("2024-03-05T10:30:00.000Z"));
        assert_eq!(due_from_date(" 2024-03-05 ", None).as_deref(), Some("2024-03-05T23:59:59.999Z"), "no time shown: end of the day");
        assert_eq!(due_from_date("2024-03-05", Some("garbage")).as_deref(), Some("2024-03-05T23:59:59.999Z"));
        for bad in ["", "2024-02-30", "2024-3-5", "05/03/2024", "2024-03-05T10:00:00Z", "<script>"] {
            assert_eq!(due_from_date(bad, None), None, "{bad}");
        }
        assert_eq!(date_input_value(Some("2024-01-20T10:30:00.000Z")), "2024-01-20");
        assert_eq!(date_input_value(Some("soon")), "");
        assert_eq!(date_input_value(None), "");
    }

    #[test]
    fn the_email_key_is_the_users_one() {
        assert_eq!(email_key("  Sam@X.com ").as_deref(), Some("sam@x.com"));
        assert_eq!(email_key("dashboard"), None);
    }
}
