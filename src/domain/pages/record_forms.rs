//! The forms of a record page (API.md §9): edit the fields, custom properties and owner; log a
//! note or a call; create a task; add or remove a link; delete (through a confirmation page).
//! Each posts to the record's own address under `/view/`, named like the API's fields, and
//! carries the session's token and its own `formId` ([`super::form::Forms`]). A refused form is
//! drawn again from its [`FormState`]: what was typed, each problem next to its input and in a
//! summary at the top (each a link to its input), and for a stale edit the stored value beside
//! the one sent.

use super::edit::{editable_fields, form_newlines, form_text, other_input, same_text, FormName, LOGGED_TYPES, PROPERTY, WAS};
use super::html::Html;
use super::layout::{label, when};
use super::form::Forms;
use super::parts::{record_href, Owner};
use super::record::RecordPage;
use crate::domain::record::{FieldType, RecordKind};

/// Task types and priorities the create form offers (the API takes any text; these are the ones
/// Enginy's sequences use).
const TASK_TYPES: [&str; 5] = ["TODO", "CALL", "EMAIL", "LINKEDIN", "MEETING"];
const PRIORITIES: [&str; 3] = ["LOW", "MEDIUM", "HIGH"];

/// A text area holding `text`. A browser drops the newline right after the start tag, so one is
/// written there: a text that starts with a newline keeps it.
fn textarea(h: &mut Html, id: &str, name: &str, text: &str) {
    h.raw("<textarea id=\"").text(id).raw("\" name=\"").text(name).raw("\">\n").text(text).raw("</textarea>");
}

impl RecordPage {
    /// The path of this record's page, where its forms post.
    pub fn href(&self) -> String {
        record_href(self.kind, &self.id)
    }

    /// The id of a form's input, for its label and the error summary's links.
    pub fn input_id(&self, form: FormName, input: &str) -> String {
        let prefix = match form {
            FormName::Edit => "f",
            FormName::Activity => "a",
            FormName::Task => "t",
            FormName::Link => "l",
        };
        match input.strip_prefix(PROPERTY) {
            Some(name) => format!("f-p{}", self.properties.keys().position(|k| k == name).unwrap_or(usize::MAX)),
            None if input.bytes().all(|b| b.is_ascii_alphanumeric()) => format!("{prefix}-{input}"),
            None => format!("{prefix}-x"),
        }
    }

    /// "There is a problem": every error of a refused form, each a link to its input; or the
    /// fields someone else changed since the form was opened.
    pub(super) fn error_summary(&self, h: &mut Html) {
        let Some(state) = &self.state else { return };
        h.raw("<section class=\"error-summary\" role=\"alert\" aria-labelledby=\"problem\">");
        if !state.conflicts.is_empty() {
            h.raw("<h2 id=\"problem\">This record changed since you opened the form</h2>");
            h.raw("<p>Someone else changed these fields, so nothing was saved. Both values are below: save again to keep yours.</p><ul>");
            for c in &state.conflicts {
                h.raw("<li><a href=\"#").text(&self.input_id(FormName::Edit, &c.field)).raw("\">").text(&self.input_label(&c.field)).raw("</a>: now “");
                h.text(&c.stored).raw("”, you sent “").text(&c.sent).raw("”</li>");
            }
        } else {
            h.raw("<h2 id=\"problem\">There is a problem</h2><p>Nothing was saved.</p><ul>");
            for e in &state.errors {
                h.raw("<li><a href=\"#").text(&self.input_id(state.form, &e.field)).raw("\">").text(&e.message).raw("</a></li>");
            }
        }
        h.raw("</ul></section>");
    }

    fn input_label(&self, input: &str) -> String {
        input.strip_prefix(PROPERTY).unwrap_or_else(|| label(input)).to_string()
    }

    /// What an input shows: what was typed in a refused form, else the stored value. An input the
    /// refused form left as it showed it shows the value stored now (someone else's since,
    /// perhaps), not the old one: saved again, it must not write that back.
    fn shown(&self, form: FormName, input: &str, stored: impl FnOnce() -> String) -> String {
        let Some(state) = self.state.as_ref() else { return stored() };
        match (state.typed(form, input), state.typed(form, &format!("{WAS}{input}"))) {
            (Some(typed), Some(was)) if same_text(typed, was) => stored(),
            (Some(typed), _) => form_newlines(typed).into_owned(),
            (None, _) => stored(),
        }
    }

    /// One labelled input: its label, a hint, its error, and the control `control` writes.
    fn field(&self, h: &mut Html, form: FormName, input: &str, label_text: &str, control: impl FnOnce(&mut Html, &str)) {
        let id = self.input_id(form, input);
        let error = self.state.as_ref().and_then(|s| s.error(form, input));
        let conflict = self.state.as_ref().and_then(|s| s.conflict(input));
        h.raw(if error.is_some() || conflict.is_some() { "<div class=\"field bad\">" } else { "<div class=\"field\">" });
        h.raw("<label for=\"").text(&id).raw("\">").text(label_text).raw("</label>");
        if let Some(message) = error {
            h.raw("<p class=\"error\" id=\"").text(&id).raw("-error\"><span class=\"vh\">Error: </span>").text(message).raw("</p>");
        }
        if let Some(c) = conflict {
            h.raw("<p class=\"error\" id=\"").text(&id).raw("-error\"><span class=\"vh\">Error: </span>Changed by someone else: now “");
            h.text(&c.stored).raw("”. Yours, “").text(&c.sent).raw("”, is kept below.</p>");
        }
        control(h, &id);
        h.raw("</div>");
    }

    /// The edit form: every core field but the externalId, the owner, every custom property, and
    /// a new property. Each input carries the value it showed (`was.<name>`).
    pub(super) fn edit_form(&self, h: &mut Html) {
        let open = self.state.as_ref().is_some_and(|s| s.form == FormName::Edit);
        h.raw("<section id=\"edit\"><details").raw(if open { " open" } else { "" }).raw("><summary>Edit details</summary>");
        h.raw("<form method=\"post\" action=\"").text(&self.href()).raw("\">");
        self.forms.hidden(h, &self.href());
        h.raw("<input type=\"hidden\" name=\"updatedAt\" value=\"").text(&self.updated_at).raw("\"><div class=\"grid\">");
        for spec in editable_fields(self.kind) {
            let stored = form_text(self.fields.get(spec.name));
            let was = self.state.as_ref().and_then(|s| s.conflict(spec.name)).map_or(stored.clone(), |c| c.stored.clone());
            let current = self.shown(FormName::Edit, spec.name, || stored.clone());
            self.field(h, FormName::Edit, spec.name, label(spec.name), |h, id| {
                if spec.name == "ownerId" && !self.users.is_empty() {
                    owner_select(h, id, "ownerId", &self.users, &current, "Nobody");
                } else if spec.name == "description" {
                    textarea(h, id, "description", &current);
                } else {
                    let mode = match spec.ty {
                        FieldType::Number | FieldType::Integer => " inputmode=\"decimal\"",
                        _ => "",
                    };
                    h.raw("<input id=\"").text(id).raw("\" name=\"").raw(spec.name).raw("\"").raw(mode).raw(" value=\"").text(&current).raw("\">");
                }
                h.raw("<input type=\"hidden\" name=\"").raw(WAS).raw(spec.name).raw("\" value=\"").text(&was).raw("\">");
            });
        }
        h.raw("</div>");
        if !self.properties.is_empty() {
            h.raw("<h3>Custom properties</h3><div class=\"grid\">");
            for (name, value) in &self.properties {
                let input = format!("{PROPERTY}{name}");
                let stored = form_text(Some(value));
                let was = self.state.as_ref().and_then(|s| s.conflict(&input)).map_or(stored.clone(), |c| c.stored.clone());
                let current = self.shown(FormName::Edit, &input, || stored.clone());
                self.field(h, FormName::Edit, &input, name, |h, id| {
                    // A text of several lines in a one-line input would lose its newlines.
                    if current.contains(['\n', '\r']) || was.contains(['\n', '\r']) {
                        textarea(h, id, &input, &current);
                    } else {
                        h.raw("<input id=\"").text(id).raw("\" name=\"").text(&input).raw("\" value=\"").text(&current).raw("\">");
                    }
                    h.raw("<input type=\"hidden\" name=\"").raw(WAS).text(&input).raw("\" value=\"").text(&was).raw("\">");
                });
            }
            h.raw("</div>");
        }
        h.raw("<h3>Add a property</h3><div class=\"grid\">");
        let typed = |input| self.shown(FormName::Edit, input, String::new);
        self.field(h, FormName::Edit, "newProperty", "Property name", |h, id| {
            h.raw("<input id=\"").text(id).raw("\" name=\"newProperty\" value=\"").text(&typed("newProperty")).raw("\">");
        });
        self.field(h, FormName::Edit, "newValue", "Value", |h, id| {
            h.raw("<input id=\"").text(id).raw("\" name=\"newValue\" value=\"").text(&typed("newValue")).raw("\">");
        });
        h.raw("</div><button type=\"submit\">Save changes</button></form></details></section>");
    }

    /// A value a deduplicated create sent and the record kept out, as a page can apply it: the
    /// sent value and the stored one as the edit form reads them. `None` when the field cannot be
    /// edited here or already holds the value.
    pub(super) fn applicable(&self, field: &str, sent: &str) -> Option<(String, String)> {
        let sent = serde_json::from_str::<serde_json::Value>(sent).ok()?;
        let stored = match field.strip_prefix(PROPERTY) {
            Some(name) if self.properties.contains_key(name) => self.properties.get(name),
            None if editable_fields(self.kind).any(|spec| spec.name == field) => self.fields.get(field),
            _ => return None,
        };
        let (sent, now) = (form_text(Some(&sent)), form_text(stored));
        (sent.trim() != now.trim()).then_some((sent, now))
    }

    /// The button that applies such a value: the edit form's save of that one field, over the
    /// value stored now, so someone else's change since is refused like any stale edit.
    pub(super) fn apply_kept_form(&self, h: &mut Html, field: &str, sent: &str) {
        let Some((sent, now)) = self.applicable(field, sent) else { return };
        h.raw("<form method=\"post\" action=\"").text(&self.href()).raw("\" class=\"inline\">");
        self.forms.hidden(h, &self.href());
        h.raw("<input type=\"hidden\" name=\"updatedAt\" value=\"").text(&self.updated_at).raw("\">");
        h.raw("<input type=\"hidden\" name=\"").text(field).raw("\" value=\"").text(&sent).raw("\">");
        h.raw("<input type=\"hidden\" name=\"").raw(WAS).text(field).raw("\" value=\"").text(&now).raw("\">");
        h.raw("<button type=\"submit\" class=\"secondary\">Apply this value</button></form>");
    }

    /// The values sent and kept out that the record still differs from, the latest per field, at
    /// the top of the page (history, folded away, keeps every one): a person decides.
    pub(super) fn kept_values(&self, h: &mut Html) {
        let mut seen: Vec<&str> = Vec::new();
        let mut rows = Vec::new();
        for change in self.history.iter().filter(|c| !c.applied) {
            let Some(sent) = change.sent.as_deref() else { continue };
            if seen.contains(&change.field.as_str()) {
                continue;
            }
            seen.push(&change.field);
            if let Some((sent_text, now_text)) = self.applicable(&change.field, sent) {
                rows.push((change, sent, sent_text, now_text));
            }
        }
        if rows.is_empty() {
            return;
        }
        h.raw("<section class=\"notice\" id=\"kept\"><h2>Sent, not applied</h2><p>A create matched this record and sent ");
        h.raw(if rows.len() == 1 { "a value" } else { "values" }).raw(" the record kept out. Apply one if it is right.</p><ul>");
        for (change, sent, sent_text, now_text) in rows {
            let name = change.field.strip_prefix(PROPERTY).unwrap_or_else(|| label(&change.field));
            h.raw("<li><strong>").text(name).raw("</strong>: “").text(&sent_text).raw("” (now “").text(&now_text).raw("”, ");
            h.text(&when(&change.at)).raw(") ");
            self.apply_kept_form(h, &change.field, sent);
            h.raw("</li>");
        }
        h.raw("</ul></section>");
    }

    /// Log a note or a call: it goes on the timeline as the person's, and moves the record's
    /// last activity date.
    pub(super) fn activity_form(&self, h: &mut Html) {
        let typed = |input| self.shown(FormName::Activity, input, String::new);
        h.raw("<section id=\"log\"><h2>Log a note or a call</h2><form method=\"post\" action=\"").text(&self.href()).raw("/activities\">");
        self.forms.hidden(h, &self.href());
        h.raw("<div class=\"grid\">");
        self.field(h, FormName::Activity, "type", "Kind", |h, id| {
            let chosen = typed("type");
            h.raw("<select id=\"").text(id).raw("\" name=\"type\">");
            for (value, text) in LOGGED_TYPES.iter().zip(["Note", "Call"]) {
                option(h, value, text, chosen.eq_ignore_ascii_case(value));
            }
            h.raw("</select>");
        });
        self.field(h, FormName::Activity, "direction", "Direction of a call", |h, id| {
            let chosen = typed("direction");
            h.raw("<select id=\"").text(id).raw("\" name=\"direction\">");
            for (value, text) in [("", "Not said"), ("OUTBOUND", "Outbound (we called)"), ("INBOUND", "Inbound (they called)")] {
                option(h, value, text, chosen.eq_ignore_ascii_case(value));
            }
            h.raw("</select>");
        });
        self.field(h, FormName::Activity, "subject", "Subject (optional)", |h, id| {
            h.raw("<input id=\"").text(id).raw("\" name=\"subject\" value=\"").text(&typed("subject")).raw("\">");
        });
        h.raw("</div>");
        self.field(h, FormName::Activity, "body", "What happened", |h, id| {
            textarea(h, id, "body", &typed("body"));
        });
        h.raw("<button type=\"submit\">Log it</button></form></section>");
    }

    /// Create a task on this record, assigned to the person unless they pick someone.
    pub(super) fn task_form(&self, h: &mut Html) {
        let typed = |input| self.shown(FormName::Task, input, String::new);
        let open = self.state.as_ref().is_some_and(|s| s.form == FormName::Task);
        h.raw("<details").raw(if open { " open" } else { "" }).raw("><summary>Create a task</summary>");
        h.raw("<form method=\"post\" action=\"").text(&self.href()).raw("/tasks\">");
        self.forms.hidden(h, &self.href());
        self.field(h, FormName::Task, "subject", "Task", |h, id| {
            h.raw("<input id=\"").text(id).raw("\" name=\"subject\" value=\"").text(&typed("subject")).raw("\">");
        });
        h.raw("<div class=\"grid\">");
        self.field(h, FormName::Task, "type", "Type", |h, id| {
            let chosen = typed("type");
            h.raw("<select id=\"").text(id).raw("\" name=\"type\">");
            for value in TASK_TYPES {
                option(h, value, value, chosen == value);
            }
            h.raw("</select>");
        });
        self.field(h, FormName::Task, "priority", "Priority", |h, id| {
            let chosen = typed("priority");
            h.raw("<select id=\"").text(id).raw("\" name=\"priority\">");
            option(h, "", "None", chosen.is_empty());
            for value in PRIORITIES {
                option(h, value, value, chosen == value);
            }
            h.raw("</select>");
        });
        self.field(h, FormName::Task, "dueDate", "Due date", |h, id| {
            h.raw("<input type=\"date\" id=\"").text(id).raw("\" name=\"dueDate\" value=\"").text(&typed("dueDate")).raw("\">");
        });
        if !self.users.is_empty() {
            self.field(h, FormName::Task, "ownerId", "Assigned to", |h, id| {
                owner_select(h, id, "ownerId", &self.users, &typed("ownerId"), "Me");
            });
        }
        h.raw("</div>");
        self.field(h, FormName::Task, "description", "Details (optional)", |h, id| {
            textarea(h, id, "description", &typed("description"));
        });
        h.raw("<button type=\"submit\">Create task</button></form></details>");
    }

    /// A "Remove" button for one link.
    pub(super) fn unlink_form(&self, h: &mut Html, other: &str, other_name: &str) {
        h.raw("<form class=\"inline\" method=\"post\" action=\"").text(&self.href()).raw("/associations\">");
        self.forms.hidden(h, &self.href());
        h.raw("<input type=\"hidden\" name=\"remove\" value=\"true\"><input type=\"hidden\" name=\"").raw(other_input(self.kind));
        h.raw("\" value=\"").text(other).raw("\"><button type=\"submit\" class=\"secondary\">Remove<span class=\"vh\"> ").text(other_name);
        h.raw("</span></button></form>");
    }

    /// Link another record, by its domain or email (looked up) or its CRM id.
    pub(super) fn link_form(&self, h: &mut Html) {
        let input = other_input(self.kind);
        let (what, hint) = match self.kind {
            RecordKind::Contact => ("Add a company", "Its domain (acme.com) or its CRM id"),
            RecordKind::Company => ("Add a contact", "Their email or CRM id"),
        };
        let typed = |input| self.shown(FormName::Link, input, String::new);
        h.raw("<form method=\"post\" action=\"").text(&self.href()).raw("/associations\">");
        self.forms.hidden(h, &self.href());
        self.field(h, FormName::Link, input, what, |h, id| {
            h.raw("<p class=\"hint\">").text(hint).raw("</p><input id=\"").text(id).raw("\" name=\"").raw(input);
            h.raw("\" value=\"").text(&typed(input)).raw("\">");
        });
        let primary = typed("type") == "primary";
        h.raw("<div class=\"field\"><label><input type=\"checkbox\" name=\"type\" value=\"primary\"").raw(if primary { " checked" } else { "" });
        h.raw("> Primary company of the contact</label></div><button type=\"submit\">Add link</button></form>");
    }

    /// The link to the deletion's confirmation page.
    pub(super) fn delete_link(&self, h: &mut Html) {
        h.raw("<section><h2>Delete</h2><p><a href=\"").text(&self.href()).raw("/delete\">Delete this ");
        h.text(&self.kind.noun().to_lowercase()).raw("</a> <span class=\"mute\">(you will be asked to confirm)</span></p></section>");
    }
}

/// The page that asks before a record is deleted.
pub fn delete_confirmation(h: &mut Html, kind: RecordKind, id: &str, name: &str, forms: &Forms) {
    let href = record_href(kind, id);
    h.raw("<p class=\"mute\"><a href=\"/view/\">Dashboard</a> › <a href=\"").text(&href).raw("\">").text(name).raw("</a></p>");
    h.raw("<section><h1>Delete ").text(name).raw("?</h1><p>The ").text(&kind.noun().to_lowercase());
    h.raw(" leaves every list and search, and Enginy's next sync no longer finds it. Its history is kept.</p>");
    h.raw("<form method=\"post\" action=\"").text(&href).raw("/delete\">");
    forms.hidden(h, "/view/");
    h.raw("<button type=\"submit\" class=\"danger\">Delete ").text(name).raw("</button> <a href=\"").text(&href).raw("\">Cancel</a></form></section>");
}

fn option(h: &mut Html, value: &str, text: &str, selected: bool) {
    h.raw("<option value=\"").text(value).raw("\"").raw(if selected { " selected" } else { "" }).raw(">").text(text).raw("</option>");
}

/// A select of the CRM's users, `current` selected; the empty option reads `none`.
pub fn owner_select(h: &mut Html, id: &str, name: &'static str, users: &[Owner], current: &str, none: &str) {
    h.raw("<select id=\"").text(id).raw("\" name=\"").raw(name).raw("\">");
    option(h, "", none, current.is_empty());
    for user in users {
        let text = if user.name.trim().is_empty() { user.email.clone() } else { format!("{} ({})", user.name, user.email) };
        option(h, &user.id, &text, user.id == current);
    }
    if !current.is_empty() && !users.iter().any(|u| u.id == current) {
        option(h, current, current, true);
    }
    h.raw("</select>");
}
