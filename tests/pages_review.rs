//! A review of the record page's edit form (API.md §9), as a browser fills and sends it: the
//! page is rendered by the pure core, its edit form read the way a browser reads it, the person's
//! typing applied, the body encoded the way a browser encodes it, and the save planned by
//! `domain::pages::edit::plan_edit` against what the store holds then (what the Worker does).
//!
//! What a browser does that matters here (HTML Living Standard):
//! - parsing turns every CR LF and lone CR of the page into LF (input stream preprocessing), and
//!   drops one LF right after a `<textarea>` start tag;
//! - an `<input>` of type text (the default) strips every CR and LF from its value (value
//!   sanitization); a hidden input keeps its value as written;
//! - an `application/x-www-form-urlencoded` submission turns every LF (and lone CR) of every
//!   name and value into CR LF ("convert to a list of name-value pairs").
//!
//! Each test but the last two failed when written: each showed a way a page edit lost or
//! corrupted a value, or refused a save it should make.

use edge_crm::domain::pages::edit::{plan_activity, plan_edit, Edit, FormName, FormState};
use edge_crm::domain::pages::form::Forms;
use edge_crm::domain::pages::{RecordPage, RecordRow, Shell};
use edge_crm::domain::record::RecordKind;
use serde_json::{json, Map, Value};

#[path = "support/html.rs"]
mod support_html;
use support_html::{attr, textareas_and_selects};

type Form = Vec<(String, String)>;

fn row(fields: Value, properties: Value) -> RecordRow {
    RecordRow {
        id: "ct_1".into(),
        external_id: None,
        fields: fields.to_string(),
        properties: properties.to_string(),
        created_at: "2024-01-01T09:00:00.000Z".into(),
        updated_at: "2024-01-02T09:00:00.000Z".into(),
        last_activity_at: None,
        owner: None,
        links: None,
        link_count: 0.0,
        parent: None,
        children: None,
        open_tasks: None,
        done_tasks: None,
        activities: None,
        activity_count: 0.0,
        history: None,
        history_count: 0.0,
        users: None,
    }
}

/// The record page for a contact holding `fields` and `properties`, with `state` a refused form.
fn page(fields: &Value, properties: &Value, state: Option<FormState>) -> String {
    let mut p = RecordPage::from_row(RecordKind::Contact, row(fields.clone(), properties.clone()));
    p.forms = Forms::new("tok", "seed");
    p.state = state;
    p.render(&Shell::bare("n"))
}


/// HTML parsing's newline preprocessing: CR LF and a lone CR become LF.
fn parsed(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// What the browser sends of the edit form (`Save changes`) of `html`, before the person types:
/// every named input (a text input's value without CR or LF), every textarea (without the LF
/// right after its start tag), every select's chosen option.
fn edit_form(html: &str) -> Form {
    let start = html.find("<section id=\"edit\">").expect("an edit form");
    let start = start + html[start..].find("<form").unwrap();
    let markup = &html[start..start + html[start..].find("</form>").unwrap()];
    assert!(markup.contains("Save changes"));
    let mut fields = Vec::new();
    for (i, _) in markup.match_indices("<input") {
        let tag = &markup[i..i + markup[i..].find('>').unwrap()];
        let Some(name) = attr(tag, "name") else { continue };
        let value = parsed(&attr(tag, "value").unwrap_or_default());
        let value = if tag.contains("type=\"hidden\"") { value } else { value.replace('\n', "") };
        fields.push((name, value));
    }
    fields.extend(textareas_and_selects(markup));
    fields
}

/// The person types `value` into input `name` (a textarea's LF stays LF until it is sent).
fn typed(mut form: Form, name: &str, value: &str) -> Form {
    form.iter_mut().find(|(k, _)| k == name).unwrap_or_else(|| panic!("no input {name}")).1 = value.to_string();
    form
}

/// The form as the browser sends it (what `parse_form` gives the Worker): every newline CR LF.
fn sent(form: Form) -> Form {
    form.into_iter().map(|(k, v)| (k, parsed(&v).replace('\n', "\r\n"))).collect()
}

fn map(v: &Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// Plans the save of `form` against the record as stored now.
fn plan(form: &Form, fields: &Value, properties: &Value) -> Edit {
    plan_edit(RecordKind::Contact, "ct_1", form, &map(fields), &map(properties))
}

fn saved(edit: &Edit) -> Map<String, Value> {
    match edit {
        Edit::Save { body, .. } => body["contacts"][0].as_object().unwrap().clone(),
        other => panic!("expected a save, got {other:?}"),
    }
}

/// A stale edit is refused and drawn again; the person saves it again to keep their value (as the
/// page tells them to). A field they never touched, which someone else changed before the refused
/// save, must keep the other person's value. The page drew it again with the *old* value the
/// refused form held, over a `was.` of the value stored now, so the second save writes the old
/// value back: someone else's change is reverted without a word.
#[test]
fn saving_a_refused_stale_edit_again_does_not_revert_a_field_the_person_never_touched() {
    let opened_fields = json!({"firstName": "Bob", "lastName": "Stale", "title": "CTO", "phone": "+34 600 000 001"});
    let opened = edit_form(&page(&opened_fields, &json!({}), None));
    // Someone else changes the title and the phone; this person changes the title only.
    let now_fields = json!({"firstName": "Bob", "lastName": "Stale", "title": "VP Sales", "phone": "+34 600 000 002"});
    let first = sent(typed(opened, "title", "Chief Executive"));
    let Edit::Stale(conflicts) = plan(&first, &now_fields, &json!({})) else { panic!("the title conflicts") };
    assert_eq!(conflicts.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(), ["title"]);
    // The page drawn again, saved again as it is.
    let state = FormState { form: FormName::Edit, typed: first, errors: Vec::new(), conflicts };
    let again = sent(edit_form(&page(&now_fields, &json!({}), Some(state))));
    let save = saved(&plan(&again, &now_fields, &json!({})));
    assert_eq!(save.get("title"), Some(&json!("Chief Executive")), "the person's own value is kept: {save:?}");
    assert_eq!(save.get("phone"), None, "the phone someone else set (+34 600 000 002) must not be written back to +34 600 000 001: {save:?}");
}

/// The same through a form refused for a bad value: the person fixes the value and saves again,
/// and the field someone else changed meanwhile is written back to what the first page showed.
#[test]
fn saving_a_form_refused_for_a_bad_value_again_does_not_revert_someone_elses_change() {
    let opened_fields = json!({"firstName": "Bea", "lastName": "Bad", "title": "CTO"});
    let opened = edit_form(&page(&opened_fields, &json!({}), None));
    let first = sent(typed(typed(opened, "newProperty", "tier"), "newValue", " "));
    let Edit::Invalid(errors) = plan(&first, &opened_fields, &json!({})) else { panic!("a new property without a value") };
    // Before the page is drawn again, someone else changes the title.
    let now_fields = json!({"firstName": "Bea", "lastName": "Bad", "title": "VP Sales"});
    let state = FormState::invalid(FormName::Edit, &first, errors);
    let fixed = sent(typed(edit_form(&page(&now_fields, &json!({}), Some(state))), "newValue", "gold"));
    let save = saved(&plan(&fixed, &now_fields, &json!({})));
    assert_eq!(save.get("tier"), Some(&json!("gold")));
    assert_eq!(save.get("title"), None, "the title someone else set (VP Sales) must not be written back to CTO: {save:?}");
}

/// A custom property holding two lines (an address: properties are whatever Enginy or the API
/// sent) is drawn in a one-line `<input>`, which drops its newline. Stored with LF (as JSON sends
/// it), the form's hidden `was.` comes back CR LF: every save of the form, of any other field, is
/// refused as if someone else had changed the address.
#[test]
fn a_record_with_a_two_line_property_can_still_be_edited_from_its_page() {
    let fields = json!({"firstName": "Ada", "lastName": "Lovelace", "title": "CTO"});
    let properties = json!({"address": "1 Main St\nSpringfield"});
    let form = sent(typed(edit_form(&page(&fields, &properties, None)), "title", "CEO"));
    let save = saved(&plan(&form, &fields, &properties));
    assert_eq!(save.get("title"), Some(&json!("CEO")));
    assert_eq!(save.get("address"), None, "the address was not touched: {save:?}");
}

/// Stored with CR LF, the same property is silently rewritten as one line (`1 Main StSpringfield`)
/// by a save of another field: the browser dropped the newline from the input, and its `was.`
/// matches what is stored.
#[test]
fn a_save_of_another_field_does_not_join_the_lines_of_a_property() {
    let fields = json!({"firstName": "Ada", "lastName": "Lovelace", "title": "CTO"});
    let properties = json!({"address": "1 Main St\r\nSpringfield"});
    let form = sent(typed(edit_form(&page(&fields, &properties, None)), "title", "CEO"));
    match plan(&form, &fields, &properties) {
        Edit::Save { body, .. } => {
            let item = &body["contacts"][0];
            assert_eq!(item["title"], "CEO");
            assert!(item.get("address").is_none(), "the address was not touched, yet it is saved as {}", item["address"]);
        }
        other => panic!("{other:?}"),
    }
}

/// A company's description (the one textarea) holding several lines as the API stored them (LF)
/// cannot be edited: the browser sends the textarea and its `was.` with CR LF, so the stored LF
/// text never equals what the form showed and the save is refused, naming a change by "someone
/// else" that nobody made. Saving the refused form again is refused again, forever.
#[test]
fn a_multi_line_description_stored_by_the_api_can_be_edited_on_its_page() {
    let fields = json!({"name": "Acme", "description": "Makes anvils.\nShips worldwide."});
    let mut p = RecordPage::from_row(RecordKind::Company, RecordRow { id: "co_1".into(), ..row(fields.clone(), json!({})) });
    p.forms = Forms::new("tok", "seed");
    let opened = edit_form(&p.render(&Shell::bare("n")));
    let form = sent(typed(opened, "description", "Makes anvils.\nShips worldwide.\nFounded 1949."));
    let edit = plan_edit(RecordKind::Company, "co_1", &form, &map(&fields), &Map::new());
    let Edit::Save { body, .. } = edit else { panic!("nobody else changed the description, yet: {edit:?}") };
    assert!(body["companies"][0]["description"].as_str().unwrap().ends_with("Founded 1949."), "{body}");
}

/// A custom property someone else removed after the form was opened, which this person changed:
/// their change is dropped without a word and the page says "Nothing was changed: the form held
/// the values already stored". It should be refused as stale, both values shown (the stored one
/// is now empty), like any field changed under the person.
#[test]
fn a_change_to_a_property_someone_else_removed_meanwhile_is_refused_not_dropped() {
    let fields = json!({"firstName": "Ada", "lastName": "Lovelace"});
    let opened = edit_form(&page(&fields, &json!({"stage": "lead"}), None));
    let form = sent(typed(opened, "properties.stage", "customer"));
    // Someone else cleared the property (an emptied input, or `null` through the API): removed.
    let edit = plan(&form, &fields, &json!({}));
    match &edit {
        Edit::Stale(conflicts) => assert_eq!(conflicts[0].field, "properties.stage", "{conflicts:?}"),
        Edit::Save { body, .. } => assert_eq!(body["contacts"][0]["stage"], "customer", "{body}"),
        other => panic!("the person's change to stage is lost: {other:?}"),
    }
}

/// A stray space stored in a field (an import, the API: text is stored as sent) cannot be removed
/// from the page: the form compares trimmed text, so the fix is "Nothing was changed".
#[test]
fn a_stray_space_can_be_removed_from_a_field_on_its_page() {
    let fields = json!({"firstName": " Ada", "lastName": "Lovelace "});
    let opened = edit_form(&page(&fields, &json!({}), None));
    let form = sent(typed(typed(opened, "firstName", "Ada"), "lastName", "Lovelace"));
    let save = saved(&plan(&form, &fields, &json!({})));
    assert_eq!((save.get("firstName"), save.get("lastName")), (Some(&json!("Ada")), Some(&json!("Lovelace"))), "{save:?}");
}

/// What a person types is stored as the API stores it: a core field's text without the spaces
/// and newlines at its ends (the API trims core text, and history keeps what was sent), its
/// inner lines with LF newlines whatever the browser sent; a custom property exactly as typed.
#[test]
fn typed_text_is_stored_as_the_api_stores_it() {
    let fields = json!({"name": "Acme"});
    let mut p = RecordPage::from_row(RecordKind::Company, RecordRow { id: "co_1".into(), ..row(fields.clone(), json!({"motto": "x"})) });
    p.forms = Forms::new("tok", "seed");
    let opened = edit_form(&p.render(&Shell::bare("n")));
    let description = "    indented first line\nsecond line\n";
    let form = sent(typed(typed(opened, "description", description), "properties.motto", "  Anvils  "));
    let edit = plan_edit(RecordKind::Company, "co_1", &form, &map(&fields), &map(&json!({"motto": "x"})));
    let Edit::Save { body, .. } = edit else { panic!("{edit:?}") };
    let item = &body["companies"][0];
    assert_eq!(item["motto"], "  Anvils  ", "a property keeps its spaces");
    assert_eq!(item["description"], "indented first line\nsecond line", "{item}");
}

/// A note keeps its inner lines as typed (an indented list), without the blank ends.
#[test]
fn a_note_keeps_its_lines() {
    let note = [("type", "NOTE"), ("body", "  - called twice\r\n  - no answer\r\n")].map(|(k, v)| (k.to_string(), v.to_string()));
    let activity = plan_activity(RecordKind::Company, "co_1", &note, None, "2026-01-01T00:00:00.000Z").unwrap();
    let body = activity["body"].as_str().unwrap();
    assert!(body.contains("called twice") && body.contains("\n  - no answer"), "{activity}");
}
