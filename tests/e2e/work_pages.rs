//! Pages people work in (API.md §9): My work, and a record page's forms, as a salesperson uses
//! them: sign in as themselves (here the shared password with their email as the user name),
//! complete, reschedule and reassign tasks, edit fields, log notes, create tasks, link and
//! delete. Each write is then checked through the API, as Enginy would see it, and in history,
//! which names the person. Also: a stale edit refused with both values, a bad value kept and
//! named, a double submit written once, and the old page addresses redirected.

use serde_json::{json, Value};

use crate::harness::{basic_auth, unique, Client, Key, Resp};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("work_pages::my_work_groups_a_persons_tasks_and_acts_on_each_in_one_step", my_work_groups_a_persons_tasks_and_acts_on_each_in_one_step),
    ("work_pages::a_record_page_edits_logs_and_creates_as_the_person", a_record_page_edits_logs_and_creates_as_the_person),
    ("work_pages::a_stale_edit_is_refused_with_both_values_and_another_fields_change_is_not", a_stale_edit_is_refused_with_both_values_and_another_fields_change_is_not),
    ("work_pages::a_bad_value_keeps_what_was_typed_and_says_what_is_wrong", a_bad_value_keeps_what_was_typed_and_says_what_is_wrong),
    ("work_pages::a_double_submit_writes_once", a_double_submit_writes_once),
    ("work_pages::a_value_an_export_sent_and_the_record_kept_out_is_applied_from_its_page", a_value_an_export_sent_and_the_record_kept_out_is_applied_from_its_page),
    ("work_pages::links_are_added_by_domain_and_removed_and_a_record_deleted_after_confirming", links_are_added_by_domain_and_removed_and_a_record_deleted_after_confirming),
    ("work_pages::forms_need_the_sessions_token_and_the_same_person", forms_need_the_sessions_token_and_the_same_person),
    ("work_pages::the_shared_password_without_a_user_is_the_dashboard", the_shared_password_without_a_user_is_the_dashboard),
    ("work_pages::old_page_addresses_redirect_under_view", old_page_addresses_redirect_under_view),
    ("work_pages::a_person_works_in_the_browser", a_person_works_in_the_browser),
];

/// A person at the pages: the shared password with their email as the Basic user name, and the
/// session cookie their first page started.
pub struct Person<'a> {
    pub app: &'a App,
    pub c: &'a Client,
    pub email: String,
    pub user_id: String,
    cookie: std::cell::RefCell<Option<String>>,
}

impl<'a> Person<'a> {
    /// A new user of the CRM, at the pages.
    pub fn new(app: &'a App, name: &str) -> Person<'a> {
        let c = &app.api;
        let email = format!("{}@work.test", unique(name).to_lowercase().replace(' ', "."));
        let user = ok(c.json("POST", "/users", &json!({"name": name, "email": email})));
        Person { app, c, email, user_id: user["id"].as_str().unwrap().to_string(), cookie: Default::default() }
    }

    fn headers(&self) -> Vec<(String, String)> {
        let mut h = vec![("Authorization".to_string(), basic_auth(&self.email, &self.app.dashboard_password))];
        if let Some(cookie) = self.cookie.borrow().clone() {
            h.push(("Cookie".to_string(), cookie));
        }
        h
    }

    pub fn send(&self, method: &str, path: &str, extra: &[(&str, &str)], body: Option<&[u8]>) -> Resp {
        let owned = self.headers();
        let mut headers: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        headers.extend_from_slice(extra);
        let resp = self.c.send(method, path, Key::None, &headers, body);
        if let Some(set) = resp.header("set-cookie") {
            *self.cookie.borrow_mut() = Some(set.split(';').next().unwrap().to_string());
        }
        resp
    }

    /// A page, which must answer `200`.
    pub fn get(&self, path: &str) -> String {
        let resp = self.send("GET", path, &[], None);
        assert_eq!(resp.status, 200, "GET {path}: {}", resp.text());
        resp.text()
    }

    /// Posts a form as the browser does.
    pub fn post(&self, action: &str, fields: &[(String, String)]) -> Resp {
        let body = encode(fields);
        self.send("POST", action, &[("Content-Type", "application/x-www-form-urlencoded"), ("Sec-Fetch-Site", "same-origin")], Some(body.as_bytes()))
    }
}

pub fn ok(resp: Resp) -> Value {
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

fn encode(fields: &[(String, String)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

use crate::support_html::{attr, textareas_and_selects};

/// The fields of the first form posting to `action` whose markup contains `marker`: every named
/// input with its value (checkboxes only when checked), every textarea, every select's chosen
/// option. What a browser would send, before the person types anything.
pub fn form(html: &str, action: &str, marker: &str) -> Vec<(String, String)> {
    let want = format!("action=\"{action}\"");
    let mut rest = html;
    while let Some(start) = rest.find("<form") {
        let end = rest[start..].find("</form>").map(|e| start + e).expect("a form ends");
        let markup = &rest[start..end];
        rest = &rest[end..];
        if !markup[..markup.find('>').unwrap()].contains(&want) || !markup.contains(marker) {
            continue;
        }
        let mut fields = Vec::new();
        for (i, _) in markup.match_indices("<input") {
            let tag = &markup[i..i + markup[i..].find('>').unwrap()];
            let (Some(name), value) = (attr(tag, "name"), attr(tag, "value")) else { continue };
            if tag.contains("type=\"checkbox\"") && !tag.contains(" checked") {
                continue;
            }
            fields.push((name, value.unwrap_or_default()));
        }
        fields.extend(textareas_and_selects(markup));
        return fields;
    }
    panic!("no form to {action} holding {marker:?} in:\n{html}");
}

/// `fields` with `name` set to `value` (added when missing).
pub fn set(mut fields: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    match fields.iter_mut().find(|(k, _)| k == name) {
        Some(field) => field.1 = value.to_string(),
        None => fields.push((name.to_string(), value.to_string())),
    }
    fields
}

pub fn location(resp: &Resp) -> String {
    assert_eq!(resp.status, 303, "{}", resp.text());
    resp.header("location").unwrap_or_default().to_string()
}

/// Today's UTC date and the date `days` from it, as a date input writes them.
fn date_in(days: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    edge_crm::domain::time::Timestamp::from_millis(now + days * 86_400_000).to_rfc3339()[..10].to_string()
}

fn create(c: &Client, kind: &str, record: Value) -> String {
    let body = ok(c.json("POST", &format!("/{kind}"), &json!({ kind: [record] })));
    assert!(body["errors"].as_array().unwrap().is_empty(), "{body}");
    body["results"][0]["crmId"].as_str().unwrap().to_string()
}

fn task(c: &Client, body: Value) -> String {
    ok(c.json("POST", "/tasks", &body))["id"].as_str().unwrap().to_string()
}

/// The actors of `entity`'s history entries for `field`.
fn actors(c: &Client, path: &str, field: &str) -> Vec<String> {
    let history = ok(c.get(&format!("{path}/history")));
    history["history"].as_array().unwrap().iter().filter(|h| h["field"] == field).map(|h| h["actor"].as_str().unwrap_or("?").to_string()).collect()
}

fn my_work_groups_a_persons_tasks_and_acts_on_each_in_one_step(app: &App) {
    let me = Person::new(app, "Rita Rep");
    let other = Person::new(app, "Olga Other");
    let c = me.c;
    let lucia = create(c, "contacts", json!({"firstName": "Lucia", "lastName": unique("Work"), "email": format!("{}@lucia.test", unique("l"))}));
    let mine = |subject: &str, due: Option<String>| {
        let mut body = json!({"subject": subject, "contactId": lucia, "ownerId": me.user_id, "type": "CALL"});
        if let Some(due) = due {
            body["dueDate"] = json!(due);
        }
        task(c, body)
    };
    let overdue = mine("Call Lucia (late)", Some(format!("{}T09:00:00.000Z", date_in(-2))));
    let today = mine("Send the deck today", Some(format!("{}T23:59:59.000Z", date_in(0))));
    let upcoming = mine("Follow up next week", Some(format!("{}T10:30:00.000Z", date_in(5))));
    let undated = mine("Someday: lunch", None);
    let theirs = task(c, json!({"subject": "Not mine", "ownerId": other.user_id, "dueDate": format!("{}T09:00:00.000Z", date_in(-3))}));

    let resp = me.send("GET", "/view/work", &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.header("x-d1-statements"), Some("1"), "the page and its header's counts in one statement");
    let html = resp.text();
    assert!(html.contains(&format!("Signed in as {}", me.email)), "the header names the person");
    assert!(html.contains("4 open<span class=\"late\">1 overdue</span> · 1 today"), "the header counts: {html}");
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s} is not on my work"));
    assert!(at("<h2>Overdue (1)</h2>") < at("Call Lucia (late)"));
    assert!(at("Call Lucia (late)") < at("<h2>Due today (1)</h2>") && at("<h2>Due today (1)</h2>") < at("Send the deck today"));
    assert!(at("Send the deck today") < at("<h2>Upcoming (1)</h2>") && at("<h2>Upcoming (1)</h2>") < at("Follow up next week"));
    assert!(at("Follow up next week") < at("<h2>No due date (1)</h2>") && at("<h2>No due date (1)</h2>") < at("Someday: lunch"));
    assert!(!html.contains("Not mine") && !html.contains(&theirs), "another person's task is not mine");

    // Complete the overdue call in one step.
    let done = form(&html, &format!("/view/tasks/{overdue}"), "name=\"completed\"");
    assert_eq!(location(&me.post(&format!("/view/tasks/{overdue}"), &set(done, "completed", "true"))), "/view/work?done=completed");
    // Enginy sees it: GET /tasks/{id} and POST /tasks/batch.
    let got = ok(c.get(&format!("/tasks/{overdue}")));
    assert_eq!(got["completed"], true, "{got}");
    assert!(got["completedAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{got}");
    let batch = ok(c.json("POST", "/tasks/batch", &json!({"ids": [overdue]})));
    assert_eq!(batch[0]["completed"], true, "{batch}");
    assert_eq!(actors(c, &format!("/tasks/{overdue}"), "completed"), vec![me.email.clone()], "history names the person");

    // Reschedule the undated task: due at the end of that day (UTC).
    let html = me.get("/view/work?done=completed");
    assert!(html.contains("The task is completed.") && html.contains("<h2>Overdue (0)</h2>"), "{html}");
    let when = date_in(3);
    let fields = set(form(&html, &format!("/view/tasks/{undated}"), "name=\"dueDate\""), "dueDate", &when);
    assert_eq!(location(&me.post(&format!("/view/tasks/{undated}"), &fields)), "/view/work?done=rescheduled");
    assert_eq!(ok(c.get(&format!("/tasks/{undated}")))["dueDate"], format!("{when}T23:59:59.999Z"));
    // Reschedule a timed task: it keeps its time of day.
    let fields = set(form(&html, &format!("/view/tasks/{upcoming}"), "name=\"dueDate\""), "dueDate", &when);
    me.post(&format!("/view/tasks/{upcoming}"), &fields);
    assert_eq!(ok(c.get(&format!("/tasks/{upcoming}")))["dueDate"], format!("{when}T10:30:00.000Z"));

    // Reassign today's task to a colleague: it leaves my work.
    let fields = set(form(&html, &format!("/view/tasks/{today}"), "name=\"ownerId\""), "ownerId", &other.user_id);
    assert_eq!(location(&me.post(&format!("/view/tasks/{today}"), &fields)), "/view/work?done=reassigned");
    assert_eq!(ok(c.get(&format!("/tasks/{today}")))["ownerId"], other.user_id.as_str());
    let html = me.get("/view/work");
    assert!(!html.contains("Send the deck today") && html.contains("<h2>Due today (0)</h2>"), "{html}");
    assert!(other.get("/view/work").contains("Send the deck today"), "and joins theirs");

    // A reschedule over someone else's reschedule of the same task is refused, both dates named.
    let stale = set(form(&html, &format!("/view/tasks/{upcoming}"), "name=\"dueDate\""), "dueDate", &date_in(9));
    ok(c.json("PATCH", &format!("/tasks/{upcoming}"), &json!({"dueDate": format!("{}T08:00:00.000Z", date_in(7))})));
    let resp = me.post(&format!("/view/tasks/{upcoming}"), &stale);
    assert_eq!(resp.status, 409, "{}", resp.text());
    assert!(resp.text().contains(&format!("{}T08:00:00.000Z", date_in(7))) && resp.text().contains(&date_in(9)), "{}", resp.text());
    assert_eq!(ok(c.get(&format!("/tasks/{upcoming}")))["dueDate"], format!("{}T08:00:00.000Z", date_in(7)), "nothing written");
}

fn a_record_page_edits_logs_and_creates_as_the_person(app: &App) {
    let me = Person::new(app, "Eddie Editor");
    let c = me.c;
    let before = ok(c.get("/health"))["timestamp"].as_str().unwrap().to_string();
    let ext = unique("edit-ext");
    let ct = create(c, "contacts", json!({"externalId": ext, "firstName": "Ada", "lastName": unique("Edit"), "title": "CTO", "stage": "lead", "score": 3}));
    let path = format!("/view/contact/{ct}");
    let html = me.get(&path);

    // Change the title and two custom properties (the number stays a number).
    let fields = form(&html, &path, "Save changes");
    let fields = set(set(set(fields, "title", "CEO"), "properties.stage", "customer"), "properties.score", "4");
    assert_eq!(location(&me.post(&path, &fields)), format!("{path}?done=saved"));
    let got = ok(c.get(&format!("/contacts/{ct}")));
    let props = &got["properties"];
    assert_eq!((got["title"].clone(), props["stage"].clone(), props["score"].clone()), (json!("CEO"), json!("customer"), json!(4)), "{got}");
    assert_eq!(actors(c, &format!("/contacts/{ct}"), "title"), vec![me.email.clone()]);
    // Enginy's change feed carries the edit.
    let feed = ok(c.get(&format!("/contacts?updatedAfter={before}&limit=200")));
    let entry = feed["data"].as_array().unwrap().iter().find(|e| e["crmId"] == ct.as_str() || e["id"] == ct.as_str()).expect("the edited contact is in the feed");
    assert!(entry.to_string().contains("CEO"), "{entry}");
    // And Enginy's next sync answers the edited field in its properties.
    let synced = ok(c.json("POST", "/contacts/sync", &json!({"contacts": [{"externalId": ext, "firstName": "Ada"}]})));
    let found = synced["results"].as_array().unwrap().iter().find(|r| r["crmId"] == ct.as_str()).cloned().expect("the contact is found by its externalId");
    assert_eq!(found["properties"]["title"], "CEO", "{synced}");
    let page = me.get(&format!("{path}?done=saved"));
    assert!(page.contains("Your changes are saved.") && page.contains(&format!("<td data-label=\"By\">{}</td>", me.email)), "{page}");

    // Change the owner to me.
    let fields = set(form(&page, &path, "Save changes"), "ownerId", &me.user_id);
    me.post(&path, &fields);
    assert_eq!(ok(c.get(&format!("/contacts/{ct}")))["ownerId"], me.user_id.as_str());

    // Log a call: the person's, on the timeline, and the last activity date moves.
    let page = me.get(&path);
    let fields = set(set(set(form(&page, &format!("{path}/activities"), "Log it"), "type", "CALL"), "body", "Wants a demo on Friday"), "direction", "OUTBOUND");
    assert_eq!(location(&me.post(&format!("{path}/activities"), &fields)), format!("{path}?done=call"));
    let timeline = ok(c.get(&format!("/contacts/{ct}/activities")));
    let call = timeline["data"].as_array().or(timeline.as_array()).unwrap().iter().find(|a| a["type"] == "CALL").cloned().expect("the call is logged");
    assert_eq!((call["ownerId"].as_str(), call["body"].as_str(), call["direction"].as_str()), (Some(me.user_id.as_str()), Some("Wants a demo on Friday"), Some("OUTBOUND")));
    let got = ok(c.get(&format!("/contacts/{ct}")));
    assert_eq!(got["lastActivityDate"], call["occurredAt"], "{got}");

    // Create a task: mine unless I pick someone, due at the end of the chosen day.
    let due = date_in(2);
    let fields = form(&page, &format!("{path}/tasks"), "Create task");
    let fields = set(set(set(fields, "subject", "Send the deck"), "dueDate", &due), "priority", "HIGH");
    assert_eq!(location(&me.post(&format!("{path}/tasks"), &fields)), format!("{path}?done=task"));
    let page = me.get(&path);
    let at = page.find("Send the deck").expect("the task is on the page");
    let id_at = page[at..].find("/view/tasks/").unwrap() + at + "/view/tasks/".len();
    let task_id = &page[id_at..id_at + page[id_at..].find('"').unwrap()];
    let got = ok(c.get(&format!("/tasks/{task_id}")));
    assert_eq!((got["contactId"].as_str(), got["ownerId"].as_str(), got["priority"].as_str()), (Some(ct.as_str()), Some(me.user_id.as_str()), Some("HIGH")), "{got}");
    assert_eq!(got["dueDate"], format!("{due}T23:59:59.999Z"));
    assert!(me.get("/view/work").contains("Send the deck"), "and it is on my work");
}

fn a_stale_edit_is_refused_with_both_values_and_another_fields_change_is_not(app: &App) {
    let me = Person::new(app, "Sally Stale");
    let c = me.c;
    let ct = create(c, "contacts", json!({"firstName": "Bob", "lastName": unique("Stale"), "title": "CTO", "phone": "+34 600 000 001"}));
    let path = format!("/view/contact/{ct}");
    let opened = form(&me.get(&path), &path, "Save changes");
    // Someone else changes the title after the form was opened; this person changes it too.
    ok(c.json("PUT", "/contacts", &json!({"contacts": [{"crmId": ct, "title": "VP Sales"}]})));
    let resp = me.post(&path, &set(opened.clone(), "title", "Chief Executive"));
    assert_eq!(resp.status, 409, "{}", resp.text());
    let html = resp.text();
    assert!(html.contains("This record changed since you opened the form"), "{html}");
    assert!(html.contains("now “VP Sales”, you sent “Chief Executive”"), "both values: {html}");
    assert!(html.contains("name=\"title\" value=\"Chief Executive\""), "what was sent is kept in the form");
    assert_eq!(ok(c.get(&format!("/contacts/{ct}")))["title"], "VP Sales", "nothing written");
    // Saving the refused form again (it now knows the stored value) keeps this person's value.
    let again = form(&html, &path, "Save changes");
    assert_eq!(location(&me.post(&path, &again)), format!("{path}?done=saved"));
    assert_eq!(ok(c.get(&format!("/contacts/{ct}")))["title"], "Chief Executive");

    // A change to another field since the form opened does not refuse the save.
    let opened = form(&me.get(&path), &path, "Save changes");
    ok(c.json("PUT", "/contacts", &json!({"contacts": [{"crmId": ct, "phone": "+34 600 000 002"}]})));
    assert_eq!(location(&me.post(&path, &set(opened, "title", "Founder"))), format!("{path}?done=saved"));
    let got = ok(c.get(&format!("/contacts/{ct}")));
    assert_eq!((got["title"].as_str(), got["phone"].as_str()), (Some("Founder"), Some("+34 600 000 002")), "both changes kept: {got}");
}

fn a_value_an_export_sent_and_the_record_kept_out_is_applied_from_its_page(app: &App) {
    let me = Person::new(app, "Kim Kept");
    let c = me.c;
    let domain = format!("{}.com", unique("kept").to_lowercase());
    let co = create(c, "companies", json!({"name": unique("Kept Co"), "domain": domain, "industry": "Financial Services"}));
    // An export deduplicated onto it by domain carries another industry: kept out, and said.
    let export = ok(c.json("POST", "/companies", &json!({"companies": [{"externalId": unique("kept"), "domain": domain, "industry": "Fintech"}]})));
    assert_eq!(export["results"][0]["keptFields"], json!(["industry"]), "{export}");
    let path = format!("/view/company/{co}");
    let page = me.get(&path);
    assert!(page.contains("<strong>Sent, not applied:</strong> <code>&quot;Fintech&quot;</code>"), "{page}");
    let apply = form(&page, &path, "Apply this value");
    assert_eq!(location(&me.post(&path, &apply)), format!("{path}?done=saved"));
    assert_eq!(ok(c.get(&format!("/companies/{co}")))["industry"], "Fintech", "what Enginy reads back");
    let history = ok(c.get(&format!("/companies/{co}/history?limit=1")));
    let entry = &history["history"][0];
    assert_eq!((entry["field"].as_str(), entry["newValue"].as_str(), entry["actor"].as_str()), (Some("industry"), Some("Fintech"), Some(me.email.as_str())), "{history}");
    assert!(!me.get(&path).contains("Apply this value"), "applied: nothing left to apply");
    // Applying over someone else's change since the page was shown is refused, with both values.
    ok(c.json("POST", "/companies", &json!({"companies": [{"externalId": unique("kept"), "domain": domain, "industry": "Banking"}]})));
    let stale = form(&me.get(&path), &path, "Apply this value");
    ok(c.json("PUT", "/companies", &json!({"companies": [{"crmId": co, "industry": "Insurance"}]})));
    let resp = me.post(&path, &stale);
    assert_eq!(resp.status, 409, "{}", resp.text());
    assert!(resp.text().contains("now “Insurance”, you sent “Banking”"), "{}", resp.text());
    assert_eq!(ok(c.get(&format!("/companies/{co}")))["industry"], "Insurance", "nothing written");
}

fn a_bad_value_keeps_what_was_typed_and_says_what_is_wrong(app: &App) {
    let me = Person::new(app, "Bea Bad");
    let c = me.c;
    let co = create(c, "companies", json!({"name": unique("Badco"), "employeeCount": 40}));
    let path = format!("/view/company/{co}");
    let fields = set(set(form(&me.get(&path), &path, "Save changes"), "employeeCount", "about forty"), "industry", "Fintech");
    let resp = me.post(&path, &fields);
    assert_eq!(resp.status, 400, "{}", resp.text());
    let html = resp.text();
    assert!(html.contains("<title>Error: "), "the title says so");
    assert!(html.contains("<h2 id=\"problem\">There is a problem</h2>") && html.contains("<a href=\"#f-employeeCount\">"), "a summary at the top: {html}");
    assert!(html.contains("id=\"f-employeeCount-error\""), "and next to the field");
    assert!(html.contains("name=\"employeeCount\" inputmode=\"decimal\" value=\"about forty\""), "what was typed is kept");
    assert!(html.contains("name=\"industry\" value=\"Fintech\""), "and the rest of the form too");
    let got = ok(c.get(&format!("/companies/{co}")));
    assert_eq!((got["employeeCount"].clone(), got["industry"].clone()), (json!(40), Value::Null), "nothing written: {got}");

    // A task without a subject: the task form says so, next to it.
    let tasks = format!("{path}/tasks");
    let resp = me.post(&tasks, &set(form(&me.get(&path), &tasks, "Create task"), "dueDate", "2026-02-30"));
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(resp.text().contains("<a href=\"#t-subject\">Enter what the task is</a>") && resp.text().contains("id=\"t-dueDate-error\""), "{}", resp.text());
}

fn a_double_submit_writes_once(app: &App) {
    let me = Person::new(app, "Dora Double");
    let c = me.c;
    let ct = create(c, "contacts", json!({"firstName": "Twice", "lastName": unique("Double")}));
    let path = format!("/view/contact/{ct}");
    let fields = set(form(&me.get(&path), &format!("{path}/activities"), "Log it"), "body", "Met at the fair");
    let first = me.post(&format!("{path}/activities"), &fields);
    let second = me.post(&format!("{path}/activities"), &fields);
    assert_eq!((location(&first), location(&second)), (format!("{path}?done=note"), format!("{path}?done=note")), "both answered alike");
    let timeline = ok(c.get(&format!("/contacts/{ct}/activities")));
    let notes = timeline["data"].as_array().or(timeline.as_array()).unwrap().iter().filter(|a| a["type"] == "NOTE").count();
    assert_eq!(notes, 1, "one note: {timeline}");
    // The same holds for a task's one-step form.
    let tk = task(c, json!({"subject": "Once", "contactId": ct, "ownerId": me.user_id}));
    let done = set(form(&me.get(&path), &format!("/view/tasks/{tk}"), "name=\"completed\""), "completed", "true");
    me.post(&format!("/view/tasks/{tk}"), &done);
    me.post(&format!("/view/tasks/{tk}"), &done);
    assert_eq!(actors(c, &format!("/tasks/{tk}"), "completed").len(), 1, "completed once in history");
}

fn links_are_added_by_domain_and_removed_and_a_record_deleted_after_confirming(app: &App) {
    let me = Person::new(app, "Lina Linker");
    let c = me.c;
    let domain = format!("{}.com", unique("linkco").to_lowercase());
    let co = create(c, "companies", json!({"name": "Link Co", "domain": domain}));
    let ct = create(c, "contacts", json!({"firstName": "Linked", "lastName": unique("Person")}));
    let path = format!("/view/contact/{ct}");
    let links = format!("{path}/associations");
    // By domain, as primary.
    let fields = set(set(form(&me.get(&path), &links, "Add link"), "companyCRMId", &format!("https://www.{domain}/about")), "type", "primary");
    assert_eq!(location(&me.post(&links, &fields)), format!("{path}?done=linked"));
    let got = ok(c.get(&format!("/contacts/{ct}")));
    assert!(got.to_string().contains(&co), "linked: {got}");
    // An unknown domain is refused at the input.
    let resp = me.post(&links, &set(form(&me.get(&path), &links, "Add link"), "companyCRMId", &format!("{}.com", unique("nobody"))));
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(resp.text().contains("No company has the domain"), "{}", resp.text());
    // Removed with its button.
    let html = me.get(&path);
    let remove = form(&html, &links, "name=\"remove\"");
    assert_eq!(location(&me.post(&links, &remove)), format!("{path}?done=unlinked"));
    assert!(!ok(c.get(&format!("/contacts/{ct}"))).to_string().contains(&co), "unlinked");

    // Delete after a confirmation page.
    let confirm = me.get(&format!("{path}/delete"));
    assert!(confirm.contains("Delete Linked") && confirm.contains("Cancel"), "{confirm}");
    let fields = form(&confirm, &format!("{path}/delete"), "Delete");
    assert_eq!(location(&me.post(&format!("{path}/delete"), &fields)), "/view/?done=deleted");
    assert_eq!(c.get(&format!("/contacts/{ct}")).status, 404);
    assert!(me.get("/view/?done=deleted").contains("The record is deleted."));
    assert_eq!(actors(c, &format!("/contacts/{ct}"), "(deleted)"), vec![me.email.clone()]);
}

fn forms_need_the_sessions_token_and_the_same_person(app: &App) {
    let me = Person::new(app, "Tom Token");
    let c = me.c;
    let ct = create(c, "contacts", json!({"firstName": "Guarded", "lastName": unique("Token"), "title": "CTO"}));
    let path = format!("/view/contact/{ct}");
    let fields = set(form(&me.get(&path), &path, "Save changes"), "title", "Hacked");
    // Without the token, with another's token, or from another site: refused, nothing written.
    let resp = me.post(&path, &set(fields.clone(), "token", &"0".repeat(64)));
    assert_eq!(resp.status, 403, "{}", resp.text());
    let other = Person::new(app, "Ivy Intruder");
    *other.cookie.borrow_mut() = me.cookie.borrow().clone();
    let resp = other.post(&path, &fields);
    assert_eq!(resp.status, 403, "a token made for one person is refused for another: {}", resp.text());
    let body = encode(&fields);
    let resp = me.send("POST", &path, &[("Content-Type", "application/x-www-form-urlencoded"), ("Sec-Fetch-Site", "cross-site")], Some(body.as_bytes()));
    assert_eq!(resp.status, 403, "{}", resp.text());
    assert_eq!(ok(c.get(&format!("/contacts/{ct}")))["title"], "CTO", "nothing written");
}

fn the_shared_password_without_a_user_is_the_dashboard(app: &App) {
    let c = &app.api;
    let ct = create(c, "contacts", json!({"firstName": "Shared", "lastName": unique("Pw"), "title": "CTO"}));
    let path = format!("/view/contact/{ct}");
    let auth = basic_auth("salesperson", &app.dashboard_password);
    let resp = c.send("GET", &path, Key::None, &[("Authorization", &auth)], None);
    assert_eq!(resp.status, 200);
    let cookie = resp.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let html = resp.text();
    assert!(html.contains("Signed in as the team (shared password)"), "{html}");
    let fields = set(form(&html, &path, "Save changes"), "title", "CEO");
    let body = encode(&fields);
    let resp = c.send("POST", &path, Key::None, &[("Authorization", &auth), ("Cookie", &cookie), ("Content-Type", "application/x-www-form-urlencoded")], Some(body.as_bytes()));
    assert_eq!(resp.status, 303, "{}", resp.text());
    assert_eq!(actors(c, &format!("/contacts/{ct}"), "title"), vec!["dashboard".to_string()]);
    // The API's own writes are the API's.
    ok(c.json("PUT", "/contacts", &json!({"contacts": [{"crmId": ct, "title": "COO"}]})));
    assert_eq!(actors(c, &format!("/contacts/{ct}"), "title"), vec!["api".to_string(), "dashboard".to_string()]);
}

fn old_page_addresses_redirect_under_view(app: &App) {
    let c = &app.api;
    for (method, from, to) in [
        ("GET", "/", "/view/"),
        ("GET", "/?q=acme", "/view/?q=acme"),
        ("GET", "/duplicates/company?limit=2", "/view/duplicates/company?limit=2"),
        ("GET", "/merge/contact?ids=a,b", "/view/merge/contact?ids=a,b"),
        ("POST", "/merge/contact/undo", "/view/merge/contact/undo"),
    ] {
        let resp = c.send(method, from, Key::None, &[], None);
        assert_eq!((resp.status, resp.header("location")), (308, Some(to)), "{method} {from}");
    }
}

/// Percent-encodes a URL's user name (an email's `@`).
pub fn userinfo(text: &str) -> String {
    text.replace('%', "%25").replace('@', "%40").replace(':', "%3A")
}

/// A salesperson works in a real browser (ChromeDriver), at desktop and at phone width: opens My
/// work, completes an overdue task (with the keyboard alone at desktop), edits a contact's title,
/// logs a note, creates a task; meets a refused stale edit and a form error. Each write is then
/// checked through the API, as Enginy would see it. Screenshots in `target/screenshots/`.
pub fn a_person_works_in_the_browser(app: &App) {
    use crate::harness::repo_root;
    use crate::webdriver::Browser;
    let shots = repo_root().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let long_url = format!("https://docs.example.com/{}", "a".repeat(160));
    for (width, tag) in [(1280u32, "desktop"), (390, "phone")] {
        let me = Person::new(app, &format!("Rita {tag}"));
        let c = me.c;
        let ct = create(c, "contacts", json!({"firstName": "Lucia", "lastName": unique("Browser"), "title": "CTO", "email": format!("{}@lucia.test", unique("b")),
            "linkedinUrl": format!("https://www.linkedin.com/in/{}", unique("lucia")), "genesy_last_engaged_at": "2026-11-30T10:00:00.000Z",
            "mailing_address": "1 Main St\nSpringfield"}));
        let overdue = task(c, json!({"subject": format!("Call Lucia about {long_url}"), "contactId": ct, "ownerId": me.user_id, "type": "CALL",
            "dueDate": format!("{}T09:00:00.000Z", date_in(-1))}));
        let second = task(c, json!({"subject": "Send the deck", "contactId": ct, "ownerId": me.user_id, "dueDate": format!("{}T09:00:00.000Z", date_in(-2))}));
        let port = c.base.rsplit(':').next().unwrap();
        let origin = format!("http://{}:{}@127.0.0.1:{port}", userinfo(&me.email), app.dashboard_password);
        let browser = Browser::start(width, 1600);
        let fits = |what: &str| {
            let overflow = browser.eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth;");
            assert!(overflow.as_i64().unwrap_or(99) <= 0, "{what} at {width} px scrolls sideways by {overflow} px");
        };

        // My work: the overdue tasks first, the long subject wrapped, nothing wider than the screen.
        browser.goto(&format!("{origin}/view/work"));
        let html = browser.source();
        assert!(html.contains(&format!("Signed in as {}", me.email)) && html.contains("Overdue (2)"), "{html}");
        fits("my work");
        browser.screenshot(&shots.join(format!("my-work-{tag}.png")));
        if tag == "desktop" {
            // Keyboard alone: Tab to the first "Complete task" button (the oldest overdue task), Enter.
            let mut found = false;
            for _ in 0..40 {
                browser.keys("\u{E004}");
                if browser.focused("name") == "completed" {
                    found = true;
                    break;
                }
            }
            assert!(found, "Tab never reached a Complete task button");
            browser.keys("\u{E007}");
        } else {
            browser.click(&format!("form[action='/view/tasks/{second}'] button[name='completed']"));
        }
        browser.wait_for_url("done=completed");
        assert_eq!(ok(c.get(&format!("/tasks/{second}")))["completed"], true, "the oldest overdue task, completed from {tag}");
        // From a fresh My work (its address has no `done=` yet, so the wait below sees the answer).
        browser.goto(&format!("{origin}/view/work"));
        browser.click(&format!("form[action='/view/tasks/{overdue}'] button[name='completed']"));
        browser.wait_for_url("done=completed");
        let got = ok(c.get(&format!("/tasks/{overdue}")));
        assert!(got["completed"] == true && got["completedAt"].is_string(), "{got}");

        // The contact's page: edit the title.
        browser.goto(&format!("{origin}/view/contact/{ct}"));
        fits("the record page");
        browser.click("#edit summary");
        browser.screenshot(&shots.join(format!("record-forms-{tag}.png")));
        browser.type_into("#f-title", "Chief Technology Officer");
        browser.click("#edit button[type='submit']");
        browser.wait_for_url("done=saved");
        // Saved, and the property of two lines (a text area) kept as it was.
        let saved = ok(c.get(&format!("/contacts/{ct}")));
        assert_eq!((saved["title"].as_str(), saved["properties"]["mailing_address"].as_str()), (Some("Chief Technology Officer"), Some("1 Main St\nSpringfield")), "{saved}");

        // Log a note.
        browser.type_into("#a-body", "Met at the fair; wants pricing.");
        browser.click("#log button[type='submit']");
        browser.wait_for_url("done=note");
        let timeline = ok(c.get(&format!("/contacts/{ct}/activities")));
        let notes: Vec<&Value> = timeline["data"].as_array().or(timeline.as_array()).unwrap().iter().filter(|a| a["type"] == "NOTE").collect();
        assert!(notes.len() == 1 && notes[0]["ownerId"] == me.user_id.as_str(), "{timeline}");

        // Create a task.
        browser.click("#tasks summary");
        browser.type_into("#t-subject", "Send pricing");
        browser.set_value("#t-dueDate", &date_in(1));
        browser.click("form[action$='/tasks'] button[type='submit']");
        browser.wait_for_url("done=task");
        assert!(browser.source().contains("Send pricing"));
        assert!(me.get("/view/work").contains("Send pricing"), "the new task is mine, on My work");

        // A form error: a task without a subject.
        browser.click("#tasks summary");
        browser.click("form[action$='/tasks'] button[type='submit']");
        let html = browser.wait_for_text("There is a problem");
        assert!(html.contains("Enter what the task is"), "{html}");
        fits("a refused form");
        browser.screenshot(&shots.join(format!("form-error-{tag}.png")));

        // A stale edit: someone changes the title while the form is open.
        browser.goto(&format!("{origin}/view/contact/{ct}"));
        browser.click("#edit summary");
        ok(c.json("PUT", "/contacts", &json!({"contacts": [{"crmId": ct, "title": "VP Engineering"}]})));
        browser.type_into("#f-title", "CTO again");
        browser.click("#edit button[type='submit']");
        let html = browser.wait_for_text("This record changed since you opened the form");
        assert!(html.contains("VP Engineering") && html.contains("CTO again"), "{html}");
        fits("a refused stale edit");
        browser.screenshot(&shots.join(format!("stale-edit-{tag}.png")));
        assert_eq!(ok(c.get(&format!("/contacts/{ct}")))["title"], "VP Engineering", "nothing written");

        // The dashboard's task table keeps its dates readable beside a long unbroken subject.
        task(c, json!({"subject": format!("Read {long_url}"), "ownerId": me.user_id, "dueDate": format!("{}T09:00:00.000Z", date_in(-30))}));
        browser.goto(&format!("{origin}/view/"));
        fits("the dashboard");
        let date_width = browser.eval("var d = document.querySelector('#tasks td.date'); return d ? d.getBoundingClientRect().width : 0;");
        assert!(date_width.as_f64().unwrap_or(0.0) >= 60.0, "the due date column is squeezed to {date_width} px at {width}");
        browser.screenshot(&shots.join(format!("dashboard-{tag}.png")));
        // The lists and the search results fit the screen too, a long subject wrapped.
        for (path, what) in [
            (format!("/view/tasks?assignee={}&status=open", me.user_id), "the task list"),
            (format!("/view/contacts?ownerId=&q={}", ct), "the contacts list"),
            ("/view/contacts?sort=-updatedAt&limit=20".to_string(), "the contacts list by last change"),
            ("/view/search?q=lucia".to_string(), "the search results"),
        ] {
            browser.goto(&format!("{origin}{path}"));
            fits(what);
        }
        browser.goto(&format!("{origin}/view/tasks?assignee={}&status=open", me.user_id));
        assert!(browser.source().contains("Read https://docs.example.com/"), "the long task is on the list");
        browser.screenshot(&shots.join(format!("task-list-{tag}.png")));
        // History names the person.
        assert_eq!(actors(c, &format!("/contacts/{ct}"), "title")[1..], [me.email.clone()], "the API's change, then the person's");
    }
    eprintln!("[e2e] screenshots: my-work, record-forms, form-error, stale-edit, dashboard, task-list (-desktop, -phone) in {}", shots.display());
}
