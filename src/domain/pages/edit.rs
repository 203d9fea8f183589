//! What a page's forms ask for, as the API's own requests (API.md §9): a form becomes the JSON
//! body of the route that does the same thing through the API (`PUT /{kind}`, `POST /activities`,
//! `POST /tasks`, `PATCH /tasks/{id}`, `POST`/`DELETE /associations`), so a page's write runs the
//! API's write path: validation, field policies, history, the change feed, match keys and the
//! cache. Inputs are named like the API's fields (`title`, `dueDate`, `ownerId`, `completed`);
//! a custom property's input is `properties.<name>`.
//!
//! **No lost update.** The edit form carries what it showed: the record's `updatedAt`, and for
//! each field the value it displayed (`was.<name>`). A field the person changed is saved only if
//! the stored value is still the one they saw; otherwise the save is refused and both values are
//! shown ([`Conflict`]). A field someone else changed but this person did not touch never refuses
//! the save.
//!
//! Everything here is pure; the Worker reads the record, calls these, and runs the API handler.

use serde_json::{json, Map, Value};

use super::layout::value_text;
use super::work::{date_input_value, due_from_date};
use crate::domain::record::{FieldType, RecordKind, EXTERNAL_ID};

/// The prefix of the hidden inputs holding what the form showed.
pub const WAS: &str = "was.";
/// The prefix of a custom property's input.
pub const PROPERTY: &str = "properties.";

/// A problem with one input, shown next to it and in the summary at the top of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The input's name (`title`, `properties.stage`, `dueDate`).
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError { field: field.to_string(), message: message.into() }
    }
}

/// A field someone else changed since the form was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub field: String,
    /// The value stored now.
    pub stored: String,
    /// The value this person sent.
    pub sent: String,
}

/// The forms of a record page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormName {
    Edit,
    Activity,
    Task,
    Link,
}

/// A form the server refused, shown again as the person left it: what they typed, and what is
/// wrong (next to each input and in a summary at the top), or what changed under them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormState {
    pub form: FormName,
    pub typed: Vec<(String, String)>,
    pub errors: Vec<FieldError>,
    pub conflicts: Vec<Conflict>,
}

impl FormState {
    pub fn invalid(form: FormName, typed: &[(String, String)], errors: Vec<FieldError>) -> FormState {
        FormState { form, typed: typed.to_vec(), errors, conflicts: Vec::new() }
    }

    /// What was typed in `input`, when this is that form.
    pub fn typed(&self, form: FormName, input: &str) -> Option<&str> {
        (self.form == form).then(|| value(&self.typed, input)).flatten()
    }

    pub fn error(&self, form: FormName, input: &str) -> Option<&str> {
        (self.form == form).then(|| self.errors.iter().find(|e| e.field == input).map(|e| e.message.as_str())).flatten()
    }

    pub fn conflict(&self, input: &str) -> Option<&Conflict> {
        (self.form == FormName::Edit).then(|| self.conflicts.iter().find(|c| c.field == input)).flatten()
    }
}

/// A form's value by input name (the first, when repeated).
pub fn value<'f>(form: &'f [(String, String)], name: &str) -> Option<&'f str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A form's text with its newlines as stored: a browser sends every newline of a form as CR LF,
/// and a value the API stored may hold LF or CR LF; compared and written, they are LF.
pub fn form_newlines(text: &str) -> std::borrow::Cow<'_, str> {
    match text.contains('\r') {
        true => std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n")),
        false => std::borrow::Cow::Borrowed(text),
    }
}

/// Whether two texts of a form are the same value: exactly, but for how their newlines are
/// written (an input left as it was shown comes back as it was shown, spaces included).
pub fn same_text(a: &str, b: &str) -> bool {
    form_newlines(a) == form_newlines(b)
}

/// A value as an edit form shows it: text as it is, a list of plain values joined by commas,
/// an object as JSON, nothing as empty.
pub fn form_text(value: Option<&Value>) -> String {
    value.map(value_text).unwrap_or_default()
}

/// The core fields a person can change on a record page: all of the kind's but `externalId`,
/// which is Enginy's key for the record (changing it by hand would break its sync).
pub fn editable_fields(kind: RecordKind) -> impl Iterator<Item = &'static crate::domain::record::FieldSpec> {
    kind.fields().iter().filter(|spec| spec.name != EXTERNAL_ID)
}

/// What an edit form asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// The body of `PUT /{kind}`, and the inputs it changes.
    Save { body: Value, changed: Vec<String> },
    /// Nothing differs from what the form showed.
    Unchanged,
    /// Fields changed by someone else since the form was opened: nothing is saved.
    Stale(Vec<Conflict>),
    /// Inputs that cannot be read (an object that is not JSON, a new property without a name).
    Invalid(Vec<FieldError>),
}

/// Plans the edit form's save of record `id`, given the stored fields and properties now.
pub fn plan_edit(kind: RecordKind, id: &str, form: &[(String, String)], fields: &Map<String, Value>, properties: &Map<String, Value>) -> Edit {
    let mut item = Map::new();
    let (mut changed, mut conflicts, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let mut consider = |input: &str, stored: Option<&Value>, read: &dyn Fn(&str) -> Result<Value, String>, target: &str| {
        let Some(typed) = value(form, input) else { return };
        let shown = value(form, &format!("{WAS}{input}")).unwrap_or_default();
        if same_text(typed, shown) {
            return;
        }
        let now = form_text(stored);
        let typed = form_newlines(typed);
        if same_text(&now, &typed) {
            return; // someone made the same change already
        }
        if !same_text(&now, shown) {
            conflicts.push(Conflict { field: input.to_string(), stored: now, sent: typed.into_owned() });
            return;
        }
        match read(&typed) {
            Ok(v) => {
                item.insert(target.to_string(), v);
                changed.push(input.to_string());
            }
            Err(message) => errors.push(FieldError::new(input, message)),
        }
    };
    for spec in editable_fields(kind) {
        let ty = spec.ty;
        consider(spec.name, fields.get(spec.name), &|typed| read_core(ty, typed), spec.name);
    }
    for (name, stored) in properties {
        let input = format!("{PROPERTY}{name}");
        consider(&input, Some(stored), &|typed| Ok(read_property(Some(stored), typed)), name);
    }
    // A property the form showed that someone else removed since: changed here, it is stale
    // (now empty), never dropped.
    for (input, _) in form {
        let Some(name) = input.strip_prefix(PROPERTY) else { continue };
        if !properties.contains_key(name) && kind.field(name).is_none() {
            consider(input, None, &|typed| Ok(read_property(None, typed)), name);
        }
    }
    let new_name = value(form, "newProperty").unwrap_or_default().trim();
    let new_value = value(form, "newValue").unwrap_or_default();
    if !new_name.is_empty() || !new_value.trim().is_empty() {
        match new_property(kind, new_name, properties) {
            Err(message) => errors.push(FieldError::new("newProperty", message)),
            Ok(()) if new_value.trim().is_empty() => errors.push(FieldError::new("newValue", "Enter a value for the new property")),
            Ok(()) => {
                item.insert(new_name.to_string(), read_property(None, new_value));
                changed.push(format!("{PROPERTY}{new_name}"));
            }
        }
    }
    if !errors.is_empty() {
        return Edit::Invalid(errors);
    }
    if !conflicts.is_empty() {
        return Edit::Stale(conflicts);
    }
    if changed.is_empty() {
        return Edit::Unchanged;
    }
    item.insert("crmId".into(), json!(id));
    Edit::Save { body: json!({ kind.collection(): [Value::Object(item)] }), changed }
}

/// A new custom property's name: not blank, not a core field's, not one the record has.
fn new_property(kind: RecordKind, name: &str, properties: &Map<String, Value>) -> Result<(), String> {
    if name.is_empty() {
        return Err("Enter a name for the new property".into());
    }
    if kind.field(name).is_some() || ["crmId", "id", "createdAt", "updatedAt", "properties"].contains(&name) {
        return Err(format!("{name} is a field of every {}: change it above", kind.noun().to_lowercase()));
    }
    if properties.contains_key(name) {
        return Err(format!("The record already has {name}: change it above"));
    }
    Ok(())
}

/// A core field's typed text as the API reads it: empty clears it; an object must be JSON; the
/// rest goes as text, which the API reads leniently (a number from text, a list from commas).
fn read_core(ty: FieldType, typed: &str) -> Result<Value, String> {
    let t = typed.trim();
    if t.is_empty() {
        return Ok(Value::Null);
    }
    match ty {
        FieldType::Object => match serde_json::from_str::<Value>(t) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err("Enter a JSON object, such as {\"segment\": \"smb\"}".into()),
        },
        _ => Ok(Value::String(t.to_string())),
    }
}

/// A custom property's typed text, kept the type the stored value had where the text still reads
/// as that type (a number stays a number, `true` a boolean, JSON a list or object); otherwise text.
/// An empty input removes the value (null).
fn read_property(stored: Option<&Value>, typed: &str) -> Value {
    let t = typed.trim();
    if t.is_empty() {
        return Value::Null;
    }
    match stored {
        Some(Value::Number(_)) => serde_json::from_str::<serde_json::Number>(t).map(Value::Number).unwrap_or_else(|_| json!(typed)),
        Some(Value::Bool(_)) => match t {
            "true" => json!(true),
            "false" => json!(false),
            _ => json!(typed),
        },
        Some(Value::Array(items)) if items.iter().all(|v| v.is_string()) && !t.starts_with('[') => {
            json!(t.split(',').map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>())
        }
        Some(Value::Array(_) | Value::Object(_)) => serde_json::from_str(t).unwrap_or_else(|_| json!(typed)),
        _ => json!(typed),
    }
}

/// The kinds of activity a person logs from a page.
pub const LOGGED_TYPES: [&str; 2] = ["NOTE", "CALL"];

/// The body of `POST /activities` for a note or a call logged on record `id`, owned by the
/// person (`owner`, their user id, when they are one), at `now`.
pub fn plan_activity(kind: RecordKind, id: &str, form: &[(String, String)], owner: Option<&str>, now: &str) -> Result<Value, Vec<FieldError>> {
    let kind_of = value(form, "type").unwrap_or("NOTE").trim().to_ascii_uppercase();
    let subject = value(form, "subject").unwrap_or_default().trim();
    let body = value(form, "body").unwrap_or_default().trim();
    let direction = value(form, "direction").unwrap_or_default().trim().to_ascii_uppercase();
    let mut errors = Vec::new();
    if !LOGGED_TYPES.contains(&kind_of.as_str()) {
        errors.push(FieldError::new("type", "Choose a note or a call"));
    }
    if subject.is_empty() && body.is_empty() {
        errors.push(FieldError::new("body", "Write what happened"));
    }
    if !direction.is_empty() && direction != "INBOUND" && direction != "OUTBOUND" {
        errors.push(FieldError::new("direction", "Choose inbound or outbound"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut activity = json!({"type": kind_of, "occurredAt": now, record_ref(kind): id});
    for (name, text) in [("subject", subject), ("body", body), ("direction", direction.as_str())] {
        if !text.is_empty() {
            activity[name] = json!(text);
        }
    }
    if let Some(owner) = owner {
        activity["ownerId"] = json!(owner);
    }
    Ok(activity)
}

/// The field of a task or an activity that names a record of `kind`.
pub fn record_ref(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Contact => "contactId",
        RecordKind::Company => "companyId",
    }
}

/// The body of `POST /tasks` for a task created on record `id`; assigned to the chosen user, or
/// to the person creating it (`me`) when they chose nobody and are a user.
pub fn plan_task(kind: RecordKind, id: &str, form: &[(String, String)], me: Option<&str>) -> Result<Value, Vec<FieldError>> {
    let subject = value(form, "subject").unwrap_or_default().trim();
    let mut errors = Vec::new();
    if subject.is_empty() {
        errors.push(FieldError::new("subject", "Enter what the task is"));
    }
    let due = match value(form, "dueDate").map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(date) => match due_on(date, None) {
            Ok(due) => Some(due),
            Err(message) => {
                errors.push(FieldError::new("dueDate", message));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut task = json!({"subject": subject, record_ref(kind): id});
    for name in ["type", "priority", "description"] {
        if let Some(text) = value(form, name).map(str::trim).filter(|t| !t.is_empty()) {
            task[name] = json!(text);
        }
    }
    if let Some(due) = due {
        task["dueDate"] = json!(due);
    }
    match value(form, "ownerId").map(str::trim) {
        Some(owner) if !owner.is_empty() => task["ownerId"] = json!(owner),
        _ => {
            if let Some(me) = me {
                task["ownerId"] = json!(me);
            }
        }
    }
    Ok(task)
}

/// What a task's one-step form asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskAction {
    /// The body of `PATCH /tasks/{id}`.
    pub patch: Value,
    /// What the page says after it.
    pub notice: Notice,
}

/// A task's form: `completed` (`true` completes, `false` reopens), `dueDate` (a date: the task
/// keeps its time of day, `current_due`), or `ownerId` (empty: nobody).
pub fn plan_task_action(form: &[(String, String)], current_due: Option<&str>) -> Result<TaskAction, FieldError> {
    if let Some(done) = value(form, "completed") {
        return match done.trim() {
            "true" => Ok(TaskAction { patch: json!({"completed": true}), notice: Notice::TaskCompleted }),
            "false" => Ok(TaskAction { patch: json!({"completed": false}), notice: Notice::TaskReopened }),
            _ => Err(FieldError::new("completed", "Complete or reopen the task")),
        };
    }
    if let Some(date) = value(form, "dueDate") {
        let due = match date.trim() {
            "" => Value::Null,
            date => json!(due_on(date, current_due).map_err(|m| FieldError::new("dueDate", m))?),
        };
        return Ok(TaskAction { patch: json!({ "dueDate": due }), notice: Notice::TaskRescheduled });
    }
    if let Some(owner) = value(form, "ownerId") {
        let owner = match owner.trim() {
            "" => Value::Null,
            id => json!(id),
        };
        return Ok(TaskAction { patch: json!({ "ownerId": owner }), notice: Notice::TaskReassigned });
    }
    Err(FieldError::new("completed", "This form asks for nothing: complete, reschedule or reassign the task"))
}

/// Whether a task's reschedule or reassignment would overwrite someone else's change of that same
/// field: the page showed `shown` (the form's `shown` input), the task now holds another value,
/// and the form asks for yet another. Answers the sentence that says so, both values named. A
/// completion is never stale: completing twice is completing.
pub fn stale_task(form: &[(String, String)], due_now: Option<&str>, owner_now: Option<&str>) -> Option<String> {
    let (what, now, asked) = match (value(form, "dueDate"), value(form, "ownerId")) {
        (Some(asked), _) => ("due date", due_now.unwrap_or_default(), asked.trim()),
        (None, Some(asked)) => ("assignee", owner_now.unwrap_or_default(), asked.trim()),
        _ => return None,
    };
    let shown = value(form, "shown")?;
    let same_ask = now == asked || (what == "due date" && date_input_value(Some(now)) == asked && !asked.is_empty());
    if shown == now || same_ask {
        return None;
    }
    let now_text = if now.is_empty() { "none" } else { now };
    Some(format!(
        "Someone changed this task's {what} after the page was shown: it is now “{now_text}”; you asked for “{asked}”. \
         Nothing was changed. Go back to see the task as it is now, and change it again if you still want to."
    ))
}

/// A due timestamp for `date` (`YYYY-MM-DD`, as a date input sends it), keeping the time of day
/// of `current` (the stored due date) when there is one, else the end of that day (UTC): see
/// [`due_from_date`].
pub fn due_on(date: &str, current: Option<&str>) -> Result<String, String> {
    due_from_date(date, current).ok_or_else(|| "Enter a real date as year-month-day, such as 2026-12-31".to_string())
}

/// What a link form asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkForm {
    /// The other record as typed: its CRM id, or (to be looked up) a domain or an email.
    pub other: String,
    /// `primary` or `additional`.
    pub link_type: &'static str,
    pub remove: bool,
}

/// The input of a link form naming the other record: a contact's page links a company
/// (`companyCRMId`), a company's page a contact (`contactCRMId`).
pub fn other_input(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Contact => "companyCRMId",
        RecordKind::Company => "contactCRMId",
    }
}

pub fn plan_link(kind: RecordKind, form: &[(String, String)]) -> Result<LinkForm, FieldError> {
    let input = other_input(kind);
    let other = value(form, input).unwrap_or_default().trim();
    if other.is_empty() {
        let what = match kind {
            RecordKind::Contact => "Enter the company's domain or CRM id",
            RecordKind::Company => "Enter the contact's email or CRM id",
        };
        return Err(FieldError::new(input, what));
    }
    let link_type = match value(form, "type").unwrap_or_default() {
        "primary" => "primary",
        _ => "additional",
    };
    Ok(LinkForm { other: other.to_string(), link_type, remove: value(form, "remove").is_some_and(|r| r == "true") })
}

/// The body of `POST`/`DELETE /associations` linking record `id` (of `kind`) and `other`.
pub fn link_body(kind: RecordKind, id: &str, other: &str, link_type: &str) -> Value {
    let (contact, company) = match kind {
        RecordKind::Contact => (id, other),
        RecordKind::Company => (other, id),
    };
    json!({"associations": [{"contactCRMId": contact, "companyCRMId": company, "type": link_type}]})
}

/// Whether `text` is a CRM id of the other kind (`co_…` on a contact's page), rather than a
/// domain or email to look up.
pub fn is_crm_id(kind: RecordKind, text: &str) -> bool {
    let prefix = match kind {
        RecordKind::Contact => "co_",
        RecordKind::Company => "ct_",
    };
    text.starts_with(prefix) && !text.contains(['@', '.', '/', ' '])
}

/// What a page says after a form did its work (`?done=` on the page it returns to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Saved,
    Unchanged,
    NoteLogged,
    CallLogged,
    TaskCreated,
    TaskCompleted,
    TaskReopened,
    TaskRescheduled,
    TaskReassigned,
    Linked,
    Unlinked,
    Deleted,
}

const NOTICES: [(Notice, &str, &str); 12] = [
    (Notice::Saved, "saved", "Your changes are saved."),
    (Notice::Unchanged, "unchanged", "Nothing was changed: the form held the values already stored."),
    (Notice::NoteLogged, "note", "The note is logged."),
    (Notice::CallLogged, "call", "The call is logged."),
    (Notice::TaskCreated, "task", "The task is created."),
    (Notice::TaskCompleted, "completed", "The task is completed."),
    (Notice::TaskReopened, "reopened", "The task is open again."),
    (Notice::TaskRescheduled, "rescheduled", "The task is rescheduled."),
    (Notice::TaskReassigned, "reassigned", "The task is reassigned."),
    (Notice::Linked, "linked", "The link is added."),
    (Notice::Unlinked, "unlinked", "The link is removed."),
    (Notice::Deleted, "deleted", "The record is deleted."),
];

impl Notice {
    /// The `done` value that names it.
    pub fn code(self) -> &'static str {
        NOTICES.iter().find(|(n, _, _)| *n == self).map_or("", |(_, c, _)| c)
    }

    pub fn sentence(self) -> &'static str {
        NOTICES.iter().find(|(n, _, _)| *n == self).map_or("", |(_, _, s)| s)
    }

    /// The notice a page's `?done=` names; anything else is ignored.
    pub fn from_query(query: &[(String, String)]) -> Option<Notice> {
        let code = value(query, "done")?;
        NOTICES.iter().find(|(_, c, _)| *c == code).map(|(n, _, _)| *n)
    }
}

/// Where a form sends the browser back: `back` when it is a page of this site (a path under
/// `/view/`, never another host), else `fallback`; with `?done=` naming what happened.
pub fn back_to(back: Option<&str>, fallback: &str, notice: Notice) -> String {
    let safe = back.filter(|b| b.starts_with("/view/") && !b.contains("//") && !b.contains('\\') && b.bytes().all(|c| c.is_ascii_graphic()));
    let target = safe.unwrap_or(fallback);
    let path = target.split(['?', '#']).next().unwrap_or(target);
    format!("{path}?done={}", notice.code())
}

/// The problems an API answer reports for the one item a form sent, located at the form's inputs
/// where the API names a field (`dueDate: expected ...` is shown at `dueDate`); else at `whole`.
pub fn api_problems(answer: &Value, whole: &str) -> Vec<FieldError> {
    let item = answer.get("results").and_then(|r| r.get(0));
    let mut out = Vec::new();
    if let Some(item) = item.filter(|i| i.get("success") == Some(&json!(false)) || i.get("error").is_some()) {
        push_problem(&mut out, item.get("field").and_then(Value::as_str), item.get("error").and_then(Value::as_str), whole);
    }
    if out.is_empty() {
        for detail in answer.get("details").and_then(Value::as_array).into_iter().flatten() {
            push_problem(&mut out, detail.get("path").and_then(Value::as_str), detail.get("message").and_then(Value::as_str), whole);
        }
    }
    if out.is_empty() {
        if let Some(error) = answer.get("error").and_then(Value::as_str) {
            out.push(FieldError::new(whole, sentence(error)));
        }
    }
    out
}

fn push_problem(out: &mut Vec<FieldError>, path: Option<&str>, message: Option<&str>, whole: &str) {
    let message = message.unwrap_or("This value was refused");
    // `companies[0].industry` or `industry` → `industry`; a property's path is its own name.
    let field = path.map(|p| p.rsplit(']').next().unwrap_or(p).trim_start_matches('.')).filter(|f| !f.is_empty());
    let shown = match field {
        Some(f) => message.strip_prefix(&format!("{f}: ")).unwrap_or(message),
        None => message,
    };
    out.push(FieldError::new(field.unwrap_or(whole), sentence(shown)));
}

/// An API message as a sentence for people: capitalised, with a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn an_edit_sends_only_what_the_person_changed() {
        let fields = map(json!({"title": "CTO", "firstName": "Ada"}));
        let props = map(json!({"score": 3, "stage": "lead", "tags": ["a", "b"]}));
        let f = form(&[
            ("title", "CEO"),
            ("was.title", "CTO"),
            ("firstName", "Ada"),
            ("was.firstName", "Ada"),
            ("properties.tags", "a, b, c"),
            ("was.properties.tags", "a, b"),
            ("properties.score", "4"),
            ("was.properties.score", "3"),
            ("properties.stage", "lead"),
            ("was.properties.stage", "lead"),
        ]);
        let Edit::Save { body, changed } = plan_edit(RecordKind::Contact, "ct_1", &f, &fields, &props) else { panic!() };
        assert_eq!(body, json!({"contacts": [{"crmId": "ct_1", "title": "CEO", "tags": ["a", "b", "c"], "score": 4}]}));
        assert_eq!(changed, ["title", "properties.score", "properties.tags"]);
    }

    #[test]
    fn an_emptied_input_clears_the_field() {
        let fields = map(json!({"title": "CTO"}));
        let f = form(&[("title", ""), ("was.title", "CTO")]);
        let Edit::Save { body, .. } = plan_edit(RecordKind::Contact, "ct_1", &f, &fields, &Map::new()) else { panic!() };
        assert_eq!(body["contacts"][0]["title"], Value::Null);
    }

    #[test]
    fn a_field_changed_by_someone_else_since_the_form_opened_refuses_the_save() {
        // Someone set the title to "VP" after this form showed "CTO"; this person typed "CEO".
        let fields = map(json!({"title": "VP", "lastName": "King"}));
        let f = form(&[("title", "CEO"), ("was.title", "CTO"), ("lastName", "King"), ("was.lastName", "Byron")]);
        assert_eq!(
            plan_edit(RecordKind::Contact, "ct_1", &f, &fields, &Map::new()),
            Edit::Stale(vec![Conflict { field: "title".into(), stored: "VP".into(), sent: "CEO".into() }])
        );
    }

    #[test]
    fn a_change_to_another_field_does_not_refuse_the_save() {
        // lastName changed elsewhere, but this person only changed the title.
        let fields = map(json!({"title": "CTO", "lastName": "King"}));
        let f = form(&[("title", "CEO"), ("was.title", "CTO"), ("lastName", "Byron"), ("was.lastName", "Byron")]);
        let Edit::Save { body, .. } = plan_edit(RecordKind::Contact, "ct_1", &f, &fields, &Map::new()) else { panic!() };
        assert_eq!(body, json!({"contacts": [{"crmId": "ct_1", "title": "CEO"}]}));
    }

    #[test]
    fn the_same_change_made_elsewhere_is_no_conflict_and_nothing_to_save() {
        let fields = map(json!({"title": "CEO"}));
        let f = form(&[("title", "CEO"), ("was.title", "CTO")]);
        assert_eq!(plan_edit(RecordKind::Contact, "ct_1", &f, &fields, &Map::new()), Edit::Unchanged);
    }

    #[test]
    fn properties_keep_their_type_where_the_text_allows() {
        assert_eq!(read_property(Some(&json!(3)), "4.5"), json!(4.5));
        assert_eq!(read_property(Some(&json!(3)), "four"), json!("four"));
        assert_eq!(read_property(Some(&json!(true)), "false"), json!(false));
        assert_eq!(read_property(Some(&json!(["a"])), "a, b"), json!(["a", "b"]));
        assert_eq!(read_property(Some(&json!({"x": 1})), "{\"x\": 2}"), json!({"x": 2}));
        assert_eq!(read_property(Some(&json!("lead")), "  "), Value::Null);
        assert_eq!(read_property(None, "007"), json!("007"), "a new property is text as typed");
    }

    #[test]
    fn a_new_property_needs_a_fresh_name_and_a_value() {
        let props = map(json!({"stage": "lead"}));
        let plan = |pairs: &[(&str, &str)]| plan_edit(RecordKind::Contact, "ct_1", &form(pairs), &Map::new(), &props);
        let Edit::Save { body, changed } = plan(&[("newProperty", "tier"), ("newValue", "gold")]) else { panic!() };
        assert_eq!(body["contacts"][0]["tier"], "gold");
        assert_eq!(changed, ["properties.tier"]);
        let Edit::Invalid(e) = plan(&[("newProperty", "title"), ("newValue", "x")]) else { panic!() };
        assert_eq!(e[0].field, "newProperty");
        let Edit::Invalid(e) = plan(&[("newProperty", "stage"), ("newValue", "x")]) else { panic!() };
        assert!(e[0].message.contains("already has stage"), "{e:?}");
        let Edit::Invalid(e) = plan(&[("newProperty", "tier"), ("newValue", " ")]) else { panic!() };
        assert_eq!(e[0].field, "newValue");
        let Edit::Invalid(e) = plan(&[("newProperty", ""), ("newValue", "gold")]) else { panic!() };
        assert_eq!(e[0].field, "newProperty");
    }

    #[test]
    fn an_object_field_must_be_json() {
        let f = form(&[("customFields", "segment smb"), ("was.customFields", "")]);
        let Edit::Invalid(e) = plan_edit(RecordKind::Company, "co_1", &f, &Map::new(), &Map::new()) else { panic!() };
        assert_eq!(e[0].field, "customFields");
    }

    #[test]
    fn the_external_id_is_never_edited_from_a_page() {
        let f = form(&[("externalId", "new"), ("was.externalId", "old")]);
        assert_eq!(plan_edit(RecordKind::Contact, "ct_1", &f, &map(json!({})), &Map::new()), Edit::Unchanged);
    }

    #[test]
    fn notes_and_calls_become_activities_of_the_record_owned_by_the_person() {
        let f = form(&[("type", "call"), ("subject", "Intro call"), ("body", "Wants a demo"), ("direction", "outbound")]);
        let a = plan_activity(RecordKind::Company, "co_1", &f, Some("us_1"), "2026-12-04T10:00:00.000Z").unwrap();
        assert_eq!(
            a,
            json!({"type": "CALL", "subject": "Intro call", "body": "Wants a demo", "direction": "OUTBOUND", "ownerId": "us_1",
                "companyId": "co_1", "occurredAt": "2026-12-04T10:00:00.000Z"})
        );
        let a = plan_activity(RecordKind::Contact, "ct_1", &form(&[("body", "Met at the fair")]), None, "t").unwrap();
        assert_eq!(a, json!({"type": "NOTE", "body": "Met at the fair", "contactId": "ct_1", "occurredAt": "t"}));
        let e = plan_activity(RecordKind::Contact, "ct_1", &form(&[("type", "EMAIL"), ("body", " ")]), None, "t").unwrap_err();
        assert_eq!(e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["type", "body"]);
    }

    #[test]
    fn a_task_from_a_page_is_the_persons_unless_given_to_someone() {
        let f = form(&[("subject", "Send the deck"), ("dueDate", "2026-12-10"), ("priority", "HIGH"), ("ownerId", "")]);
        let t = plan_task(RecordKind::Contact, "ct_1", &f, Some("us_me")).unwrap();
        assert_eq!(t, json!({"subject": "Send the deck", "contactId": "ct_1", "priority": "HIGH", "dueDate": "2026-12-10T23:59:59.999Z", "ownerId": "us_me"}));
        let f = form(&[("subject", "Call"), ("ownerId", "us_2")]);
        assert_eq!(plan_task(RecordKind::Company, "co_1", &f, Some("us_me")).unwrap()["ownerId"], "us_2");
        let e = plan_task(RecordKind::Company, "co_1", &form(&[("subject", ""), ("dueDate", "next week")]), None).unwrap_err();
        assert_eq!(e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["subject", "dueDate"]);
    }

    #[test]
    fn task_actions_are_one_patch_each() {
        let a = plan_task_action(&form(&[("completed", "true")]), None).unwrap();
        assert_eq!((a.patch, a.notice), (json!({"completed": true}), Notice::TaskCompleted));
        assert_eq!(plan_task_action(&form(&[("completed", "false")]), None).unwrap().patch, json!({"completed": false}));
        let a = plan_task_action(&form(&[("dueDate", "2026-12-12")]), Some("2026-12-10T09:30:00.000Z")).unwrap();
        assert_eq!(a.patch, json!({"dueDate": "2026-12-12T09:30:00.000Z"}), "the time of day is kept");
        assert_eq!(plan_task_action(&form(&[("dueDate", "")]), None).unwrap().patch, json!({"dueDate": null}));
        let a = plan_task_action(&form(&[("ownerId", "us_2")]), None).unwrap();
        assert_eq!((a.patch, a.notice), (json!({"ownerId": "us_2"}), Notice::TaskReassigned));
        assert_eq!(plan_task_action(&form(&[("dueDate", "2026-02-30")]), None).unwrap_err().field, "dueDate");
        assert!(plan_task_action(&form(&[]), None).is_err());
    }

    #[test]
    fn a_reschedule_over_someone_elses_is_stale_and_a_completion_never() {
        let f = |pairs: &[(&str, &str)]| form(pairs);
        let due = Some("2026-12-10T09:00:00.000Z");
        // Shown what is stored: not stale.
        assert_eq!(stale_task(&f(&[("dueDate", "2026-12-12"), ("shown", "2026-12-10T09:00:00.000Z")]), due, None), None);
        // Someone moved it to the 10th since the page showed the 8th; this person asks for the 12th.
        let stale = stale_task(&f(&[("dueDate", "2026-12-12"), ("shown", "2026-12-08T09:00:00.000Z")]), due, None).unwrap();
        assert!(stale.contains("due date") && stale.contains("2026-12-10T09:00:00.000Z") && stale.contains("2026-12-12"), "{stale}");
        // ... or for the date it already has: nothing to refuse.
        assert_eq!(stale_task(&f(&[("dueDate", "2026-12-10"), ("shown", "2026-12-08T09:00:00.000Z")]), due, None), None);
        let stale = stale_task(&f(&[("ownerId", "us_2"), ("shown", "us_1")]), None, Some("us_3")).unwrap();
        assert!(stale.contains("assignee") && stale.contains("us_3") && stale.contains("us_2"), "{stale}");
        assert_eq!(stale_task(&f(&[("ownerId", "us_2"), ("shown", "us_1")]), None, Some("us_2")), None);
        assert_eq!(stale_task(&f(&[("completed", "true"), ("shown", "true")]), due, None), None);
        assert_eq!(stale_task(&f(&[("dueDate", "2026-12-12")]), due, None), None, "a form without shown is not checked");
    }

    #[test]
    fn due_dates_are_real_dates() {
        assert_eq!(due_on("2028-02-29", None).unwrap(), "2028-02-29T23:59:59.999Z");
        for bad in ["2027-02-29", "2026-13-01", "2026-00-10", "26-12-01", "2026/12/01", "", "2026-12-1x"] {
            assert!(due_on(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn links_name_the_other_record_by_id_or_by_what_identifies_it() {
        let l = plan_link(RecordKind::Contact, &form(&[("companyCRMId", " acme.com "), ("type", "primary")])).unwrap();
        assert_eq!(l, LinkForm { other: "acme.com".into(), link_type: "primary", remove: false });
        assert!(plan_link(RecordKind::Company, &form(&[("contactCRMId", "")])).is_err());
        assert!(is_crm_id(RecordKind::Contact, "co_01HX"));
        assert!(!is_crm_id(RecordKind::Contact, "co.uk") && !is_crm_id(RecordKind::Contact, "ct_1") && !is_crm_id(RecordKind::Company, "ct_a@b"));
        assert_eq!(
            link_body(RecordKind::Company, "co_1", "ct_1", "additional"),
            json!({"associations": [{"contactCRMId": "ct_1", "companyCRMId": "co_1", "type": "additional"}]})
        );
    }

    #[test]
    fn forms_go_back_only_to_pages_of_this_site() {
        assert_eq!(back_to(Some("/view/work"), "/view/", Notice::TaskCompleted), "/view/work?done=completed");
        assert_eq!(back_to(Some("/view/contact/ct_1?done=x#t"), "/view/", Notice::Saved), "/view/contact/ct_1?done=saved");
        for evil in ["https://evil.example/", "//evil.example/view/", "/view//evil", "/\\evil", "/other", "/view/a b"] {
            assert_eq!(back_to(Some(evil), "/view/", Notice::Saved), "/view/?done=saved", "{evil}");
        }
        assert_eq!(Notice::from_query(&form(&[("done", "completed")])), Some(Notice::TaskCompleted));
        assert_eq!(Notice::from_query(&form(&[("done", "<script>")])), None);
    }

    #[test]
    fn api_answers_become_problems_at_the_inputs() {
        let put = json!({"results": [{"crmId": "ct_1", "success": false, "error": "employeeCount: expected a number", "code": "invalid", "field": "employeeCount"}]});
        assert_eq!(api_problems(&put, "form"), vec![FieldError::new("employeeCount", "Expected a number.")]);
        let one = json!({"error": "invalid task: dueDate: not a timestamp", "code": "invalid", "details": [{"path": "dueDate", "message": "dueDate: not a timestamp"}]});
        assert_eq!(api_problems(&one, "form"), vec![FieldError::new("dueDate", "Not a timestamp.")]);
        let other = json!({"error": "Task not found", "code": "not_found"});
        assert_eq!(api_problems(&other, "form"), vec![FieldError::new("form", "Task not found.")]);
        let ok = json!({"results": [{"crmId": "ct_1", "success": true}]});
        assert!(api_problems(&ok, "form").is_empty());
        let links = json!({"success": false, "results": [{"contactCRMId": "ct_1", "companyCRMId": "co_x", "success": false, "error": "companyCRMId: no such company", "code": "not_found"}]});
        let problems = api_problems(&links, "companyCRMId");
        assert_eq!(problems[0].field, "companyCRMId");
        assert!(problems[0].message.ends_with("no such company."), "{problems:?}");
    }
}
