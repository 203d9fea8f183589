//! What several pages show of a record, a task or an activity: the types their statements read,
//! a record's link and the name a page calls it by, and a task or an activity as a line of a list.
//! The record page, My work, the dashboard and the duplicates pages all draw them from here.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::html::{url_encode, Html};
use super::layout::{truncate, when};
use std::borrow::Cow;

use crate::domain::record::{display_name, RecordKind};

/// Longest activity body or task description shown; a longer one is cut with `…` (the API has
/// the whole text).
pub const MAX_BODY_CHARS: usize = 4_000;

/// Another record, as a link.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Linked {
    pub id: String,
    pub name: String,
    /// For associations: the contact's primary company.
    #[serde(default)]
    pub primary: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Owner {
    pub id: String,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    pub subject: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub priority: Option<String>,
    pub status: Option<String>,
    pub due_date: Option<String>,
    pub completed: bool,
    pub completed_at: Option<String>,
    /// The user the task is assigned to.
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub owner_name: Option<String>,
    pub contact_id: Option<String>,
    pub contact_name: Option<String>,
    pub company_id: Option<String>,
    pub company_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub direction: Option<String>,
    pub occurred_at: String,
    pub contact_id: Option<String>,
    pub contact_name: Option<String>,
    pub company_id: Option<String>,
    pub company_name: Option<String>,
    /// The user the activity is attributed to (its `ownerId`), when that is a stored user.
    #[serde(default)]
    pub owner_name: Option<String>,
}


/// Who made a change, in words: a person's email, "the API", or "the shared password".
pub fn actor_text(actor: Option<&str>) -> &str {
    match actor {
        None | Some("api") => "API",
        Some("dashboard") => "Shared password",
        Some(person) => person,
    }
}

/// The path of a record's page.
pub fn record_href(kind: RecordKind, id: &str) -> String {
    let segment = match kind {
        RecordKind::Contact => "contact",
        RecordKind::Company => "company",
    };
    format!("/view/{segment}/{}", url_encode(id))
}

/// What a page calls a record: its name; without one, what identifies it (a contact's email,
/// LinkedIn profile or phone; a company's domain, website, LinkedIn page or phone); without any,
/// "(contact without a name)".
pub fn shown_identity(kind: RecordKind, fields: &Map<String, Value>) -> String {
    let name = display_name(kind, fields);
    if !name.trim().is_empty() {
        return name;
    }
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty());
    if let Some(url) = text("linkedinUrl") {
        return linkedin_label(url);
    }
    if let Some(phone) = text("phone") {
        return phone.to_string();
    }
    format!("({} without a name)", kind.noun().to_lowercase())
}

/// A LinkedIn profile as a page names a record by it: the profile's path says who it is; the
/// scheme and host say nothing.
fn linkedin_label(url: &str) -> String {
    let path = url.split_once("linkedin.com/").map_or(url, |(_, path)| path).trim_end_matches('/');
    format!("LinkedIn: {path}")
}

/// A record's label as the statements read it beside a task, an activity or a link (its display
/// name, else its LinkedIn URL, else its phone: `sql_pages`' `label!`), as a page shows it: a
/// LinkedIn URL by its path, and a placeholder for a record with none of these.
pub fn shown_name(name: &str) -> Cow<'_, str> {
    let name = name.trim();
    if name.is_empty() {
        Cow::Borrowed("(no name)")
    } else if name.contains("linkedin.com/") && !name.contains(' ') {
        Cow::Owned(linkedin_label(name))
    } else {
        Cow::Borrowed(name)
    }
}

/// What a task or an activity is about: a link to each live record it names, and the deleted
/// ones as plain text (their pages answer `404`). `skip` leaves out the page's own kind; `sep`
/// goes between the records, and before the first too when `lead`.
pub fn about_links(
    h: &mut Html,
    about: [(RecordKind, &Option<String>, &Option<String>); 2],
    skip: Option<RecordKind>,
    sep: &'static str,
    lead: bool,
) {
    let mut first = true;
    for (kind, id, name) in about {
        let Some(id) = id else { continue };
        if Some(kind) == skip {
            continue;
        }
        if lead || !first {
            h.raw(sep);
        }
        first = false;
        match name {
            Some(name) => {
                h.link(&record_href(kind, id), &shown_name(name));
            }
            None => {
                h.raw("<span class=\"mute\">").text(kind.noun()).raw(" (deleted)</span>");
            }
        }
    }
}

pub fn optional(h: &mut Html, text: Option<&str>) {
    match text.filter(|t| !t.trim().is_empty()) {
        Some(t) => h.text(t),
        None => h.raw("<span class=\"mute\">—</span>"),
    };
}

/// A task's subject, type and description; also what it is about, when that is another record.
pub fn task_summary(h: &mut Html, task: &Task) {
    h.element("<strong>", &task.subject, "</strong>");
    if let Some(kind) = task.kind.as_deref().filter(|k| !k.is_empty()) {
        h.raw("<span class=\"badge\">").text(kind).raw("</span>");
    }
    if let Some(description) = task.description.as_deref().filter(|d| !d.trim().is_empty()) {
        h.raw("<br>").text(&truncate(description, MAX_BODY_CHARS));
    }
}

/// One activity of a timeline. On a record's own page (`page_kind`) the record itself is not
/// named again.
pub fn activity_item(h: &mut Html, activity: &Activity, page_kind: Option<RecordKind>) {
    let (class, arrow) = match activity.direction.as_deref() {
        Some("INBOUND") => ("in", "← Inbound"),
        Some("OUTBOUND") => ("out", "→ Outbound"),
        _ => ("", "·"),
    };
    h.raw("<li class=\"").raw(class).raw("\"><span class=\"dir\">").raw(arrow).raw("</span> ");
    h.element("<strong>", &activity.kind, "</strong>");
    h.raw(" <span class=\"mute\">").text(&when(&activity.occurred_at)).raw("</span>");
    if let Some(owner) = activity.owner_name.as_deref().filter(|n| !n.trim().is_empty()) {
        h.raw(" <span class=\"by\">by ").text(owner).raw("</span>");
    }
    let about = [
        (RecordKind::Contact, &activity.contact_id, &activity.contact_name),
        (RecordKind::Company, &activity.company_id, &activity.company_name),
    ];
    about_links(h, about, page_kind, " · ", true);
    if let Some(subject) = activity.subject.as_deref().filter(|s| !s.trim().is_empty()) {
        h.element("<p>", subject, "</p>");
    }
    if let Some(body) = activity.body.as_deref().filter(|b| !b.trim().is_empty()) {
        h.element("<p class=\"body\">", &truncate(body, MAX_BODY_CHARS), "</p>");
    }
    h.raw("</li>");
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_is_shown_as_what_identifies_the_record() {
        assert_eq!(shown_name("Ada Lovelace"), "Ada Lovelace");
        assert_eq!(shown_name("ada@acme.com"), "ada@acme.com");
        assert_eq!(shown_name("https://www.linkedin.com/in/ada-l/"), "LinkedIn: in/ada-l");
        assert_eq!(shown_name("+34 600 000 000"), "+34 600 000 000");
        assert_eq!(shown_name("  "), "(no name)");
        // A name that mentions the site is a name.
        assert_eq!(shown_name("Ada from linkedin.com/in"), "Ada from linkedin.com/in");
    }

}
