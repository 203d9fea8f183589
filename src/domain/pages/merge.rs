//! The duplicates pages: the "Possible duplicates" list (on the dashboard and on a record's
//! page) and the merge review page, where a person picks the record that stays and, field by
//! field, whose value it keeps, then confirms. The review posts a form to the same path; the
//! Worker checks its session token ([`super::form`]) and runs the API's merge (`POST
//! /{kind}/merge`) with what the form chose ([`merge_body`]).

use serde_json::{json, Map, Value};

use super::html::{url_encode, Html};
use super::layout::{label, page, value_text, when, Shell};
use super::parts::{record_href, shown_identity, shown_name};
use crate::domain::merge::{DuplicateGroup, MAX_MERGED};
use crate::domain::record::{RecordKind, RecordRow, EXTERNAL_ID};

/// Groups of possible duplicates the dashboard shows per kind.
pub const DASHBOARD_GROUPS: usize = 10;
/// Groups per page of the possible-duplicates page.
pub const DUPLICATES_PAGE: usize = 50;

/// The path segment of a kind on the pages (`/view/contact/…`, `/merge/contact`).
pub fn segment(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Contact => "contact",
        RecordKind::Company => "company",
    }
}

/// The review page of `ids`, the first one offered as the record that stays.
pub fn review_href(kind: RecordKind, ids: &[&str]) -> String {
    let ids: Vec<String> = ids.iter().map(|id| url_encode(id)).collect();
    format!("/view/merge/{}?ids={}", segment(kind), ids.join(","))
}

/// The page listing every group of possible duplicates of a kind, from `cursor` on, `limit`
/// groups a page (left out when it is the default).
pub fn duplicates_href(kind: RecordKind, cursor: Option<&str>, limit: usize) -> String {
    let mut params = Vec::new();
    if let Some(c) = cursor {
        params.push(format!("cursor={}", url_encode(c)));
    }
    if limit != DUPLICATES_PAGE {
        params.push(format!("limit={limit}"));
    }
    match params.is_empty() {
        true => format!("/view/duplicates/{}", segment(kind)),
        false => format!("/view/duplicates/{}?{}", segment(kind), params.join("&")),
    }
}

/// The page of every group of possible duplicates of a kind, 50 groups at a time.
pub struct DuplicatesPage {
    pub kind: RecordKind,
    pub groups: Vec<DuplicateGroup>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
    /// Whether this is the first page.
    pub first: bool,
    /// Groups a page.
    pub limit: usize,
}

impl DuplicatesPage {
    pub fn render(&self, shell: &Shell) -> String {
        let title = format!("Possible duplicates: {}", self.kind.collection());
        page(&title, shell, |h| {
            h.raw("<p class=\"mute\"><a href=\"/view/\">Dashboard</a> › Possible duplicates</p>").element("<h1>", &title, "</h1>");
            h.raw("<p>Records the identifier would match with each other, grouped by the key they share. ");
            h.raw("Open a group's review to choose what stays.</p>");
            duplicates_section(h, "Groups", self.kind, &self.groups, None, false);
            h.raw("<p class=\"pager\">");
            if !self.first {
                h.link(&duplicates_href(self.kind, None, self.limit), "First page");
            }
            if let Some(next) = &self.next {
                h.link(&duplicates_href(self.kind, Some(next), self.limit), "Next groups");
            }
            h.raw("</p>");
        })
    }
}

/// `firstName&lastName&company` for people: "First name + Last name + Company".
fn term_label(term: &str) -> String {
    term.split('&').map(label).collect::<Vec<_>>().join(" + ")
}

/// The "Possible duplicates" section: each group with what joins it, its records, and a link to
/// review it. On a record's page (`current`), that record is listed and offered first.
/// `more`: the list stops before every group (the dashboard shows the first few).
pub fn duplicates_section(h: &mut Html, title: &str, kind: RecordKind, groups: &[DuplicateGroup], current: Option<&str>, more: bool) {
    h.raw("<section class=\"duplicates\" id=\"duplicates-").raw(segment(kind)).raw("\"><h2>").text(title).raw("</h2>");
    match (groups.is_empty(), current) {
        (false, _) => {}
        (true, Some(_)) => {
            h.raw("<p class=\"mute\">None found: no other live record shares an identifier that would match this one.</p>");
        }
        (true, None) => {
            h.raw("<p class=\"mute\">None found: no two live records share an identifier that would match them.</p>");
        }
    }
    for group in groups {
        let mut ids: Vec<&str> = group.records.iter().map(|r| r.id.as_str()).collect();
        if let Some(i) = current.and_then(|c| ids.iter().position(|id| *id == c)) {
            let me = ids.remove(i);
            ids.insert(0, me);
        }
        h.raw("<div class=\"group\"><p>Same <b>").text(&term_label(&group.term)).raw("</b> <code>").text(&group.key).raw("</code></p><ul>");
        for r in &group.records {
            h.raw("<li>");
            if current == Some(r.id.as_str()) {
                h.text(&shown_name(&r.name)).raw(" <span class=\"mute\">(this record)</span>");
            } else {
                h.link(&record_href(kind, &r.id), &shown_name(&r.name));
            }
            h.raw(" <span class=\"mute\"><code>").text(&r.id).raw("</code> · updated ").text(&when(&r.updated_at)).raw("</span></li>");
        }
        h.raw("</ul><p>").link(&review_href(kind, &ids), "Review and merge").raw("</p></div>");
    }
    if more {
        h.raw("<p>").link(&duplicates_href(kind, None, DUPLICATES_PAGE), "All possible duplicates").raw("</p>");
    }
    h.raw("</section>");
}

/// The ids a review page was asked for (`?ids=a,b,c`, or `ids` repeated): two to 51 distinct
/// ids, in the order given; otherwise the sentence that says what is wrong.
pub fn review_ids(query: &[(String, String)]) -> Result<Vec<String>, String> {
    let mut ids: Vec<String> = Vec::new();
    for id in query.iter().filter(|(k, _)| k == "ids").flat_map(|(_, v)| v.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }
    match ids.len() {
        0 | 1 => Err("A merge review needs at least two records: open it from a list of possible duplicates.".into()),
        n if n > MAX_MERGED + 1 => Err(format!("A merge takes at most {} records; this link names {n}.", MAX_MERGED + 1)),
        _ => Ok(ids),
    }
}

/// One row of the review: a field and each record's value of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewField {
    /// The field as a merge names it: a core field, or `properties.<name>`.
    pub name: String,
    pub label: String,
    /// Each record's value as text, in the review's record order (empty when it has none).
    pub values: Vec<String>,
    /// The record whose value the merge keeps unless the person picks another: the first with a
    /// value, which is what the merge does on its own when the first record stays.
    pub default: Option<usize>,
    /// Whether the records hold different values, so there is a choice to make.
    pub differs: bool,
}

/// The rows of a review of `records` (the one offered to stay first): every core field in the
/// contract's order, then every custom property by name; rows where no record has a value are
/// left out.
pub fn review_fields(kind: RecordKind, records: &[RecordRow]) -> Vec<ReviewField> {
    let row = |name: String, label: String, values: Vec<String>| {
        let filled: Vec<&String> = values.iter().filter(|v| !v.trim().is_empty()).collect();
        if filled.is_empty() {
            return None;
        }
        let differs = filled.iter().any(|v| *v != filled[0]);
        let default = values.iter().position(|v| !v.trim().is_empty());
        Some(ReviewField { name, label, values, default, differs })
    };
    let text = |v: Option<&Value>| v.map(value_text).unwrap_or_default();
    let mut rows: Vec<ReviewField> = kind
        .fields()
        .iter()
        .filter(|f| f.name != EXTERNAL_ID)
        .filter_map(|f| row(f.name.to_string(), label(f.name).to_string(), records.iter().map(|r| text(r.fields.get(f.name))).collect()))
        .collect();
    let mut names: Vec<&String> = records.iter().flat_map(|r| r.properties.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let values = records.iter().map(|r| text(r.properties.get(name.as_str()))).collect();
        rows.extend(row(format!("properties.{name}"), name.clone(), values));
    }
    rows
}

/// The merge review page.
pub struct MergeReview {
    pub kind: RecordKind,
    /// The records, the one offered to stay first.
    pub records: Vec<RecordRow>,
    /// The form's session token.
    pub token: String,
}

impl MergeReview {
    pub fn render(&self, shell: &Shell) -> String {
        let kind = self.kind;
        let title = format!("Merge {} {}", self.records.len(), kind.collection());
        let fields = review_fields(kind, &self.records);
        page(&title, shell, |h| {
            h.raw("<p class=\"mute\"><a href=\"/view/\">Dashboard</a> › Merge</p>").element("<h1>", &title, "</h1>");
            h.raw("<p>Choose the record that stays and, where the records differ, whose value it keeps. ");
            h.raw("Empty fields are filled from the others. Every externalId, association, task and activity of the merged records ");
            h.raw("moves to the record that stays; the merged records' ids keep working and lead to it.</p>");
            h.raw("<form method=\"post\" class=\"review\" action=\"/view/merge/").raw(segment(kind)).raw("\">");
            h.raw("<input type=\"hidden\" name=\"token\" value=\"").text(&self.token).raw("\">");
            for r in &self.records {
                h.raw("<input type=\"hidden\" name=\"ids\" value=\"").text(&r.id).raw("\">");
            }
            h.raw("<div class=\"scroll\"><table class=\"compare\"><tr><th>Keep</th>");
            for (i, r) in self.records.iter().enumerate() {
                h.raw("<th><label><input type=\"radio\" name=\"survivor\" value=\"").text(&r.id).raw("\"");
                if i == 0 {
                    h.raw(" checked");
                }
                h.raw("> this record</label><br>");
                h.link(&record_href(kind, &r.id), &shown_identity(kind, &r.fields)).raw("<br><code>").text(&r.id).raw("</code></th>");
            }
            h.raw("</tr>");
            for f in &fields {
                h.raw("<tr><th>").text(&f.label);
                if f.differs {
                    h.raw(" <span class=\"badge\">differs</span>");
                }
                h.raw("</th>");
                for (i, (r, value)) in self.records.iter().zip(&f.values).enumerate() {
                    h.raw("<td>");
                    if value.trim().is_empty() {
                        h.raw("<span class=\"mute\">—</span>");
                    } else if f.differs {
                        h.raw("<label><input type=\"radio\" name=\"field:").text(&f.name).raw("\" value=\"").text(&r.id).raw("\"");
                        if f.default == Some(i) {
                            h.raw(" checked");
                        }
                        h.raw("> ").text(value).raw("</label>");
                    } else {
                        h.text(value);
                    }
                    h.raw("</td>");
                }
                h.raw("</tr>");
            }
            for (heading, of) in [("External id", 0usize), ("Created", 1), ("Updated", 2)] {
                h.raw("<tr><th>").text(heading).raw("</th>");
                for r in &self.records {
                    let value = match of {
                        0 => r.external_id.clone().unwrap_or_default(),
                        1 => when(&r.created_at).into_owned(),
                        _ => when(&r.updated_at).into_owned(),
                    };
                    h.raw("<td class=\"mute\">").text(&value).raw("</td>");
                }
                h.raw("</tr>");
            }
            h.raw("</table></div><p><button type=\"submit\">Merge into the chosen record</button> ");
            h.raw("<a href=\"/view/\">Cancel</a></p></form>");
        })
    }
}

/// The page a merge (or its undo) asked for by a form answers when it was refused: why, and the
/// way back to a fresh review of the same records when there is one.
pub fn merge_refused(shell: &Shell, title: &str, message: &str, review: Option<&str>) -> String {
    page(title, shell, |h| {
        h.raw("<section>").element("<h1>", title, "</h1>").element("<p>", message, "</p><p>");
        if let Some(review) = review {
            h.link(review, "Back to the review").raw(" · ");
        }
        h.raw("<a href=\"/view/\">Dashboard</a></p></section>");
    })
}

/// What a record page says after a merge or an undo made through the pages (from its address:
/// `?merged=a,b&merge=mg_…` or `?restored=a,b`).
#[derive(Debug, Clone, PartialEq)]
pub enum MergeNotice {
    /// These ids were merged into this record; the merge can be undone with the form's token.
    Merged { ids: Vec<String>, merge_id: Option<String>, token: String },
    /// The merge was undone: these records are separate again.
    Restored { ids: Vec<String> },
    /// The page was asked for by the id of a record merged into this one (a link kept from
    /// before the merge, such as Enginy's "Open in CRM").
    Followed { from: String },
}

impl MergeNotice {
    pub fn from_query(query: &[(String, String)], token: &str) -> Option<MergeNotice> {
        let get = |name: &str| query.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let ids = |v: &str| v.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>();
        if let Some(restored) = get("restored") {
            return Some(MergeNotice::Restored { ids: ids(restored) });
        }
        if let Some(from) = get("mergedFrom").filter(|f| !f.is_empty()) {
            return Some(MergeNotice::Followed { from: from.to_string() });
        }
        let merged = ids(get("merged")?);
        let merge_id = get("merge").filter(|m| !m.is_empty()).map(str::to_string);
        Some(MergeNotice::Merged { ids: merged, merge_id, token: token.to_string() })
    }

    pub fn render(&self, h: &mut Html, kind: RecordKind) {
        let codes = |h: &mut Html, ids: &[String], linked: bool| {
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    h.raw(", ");
                }
                if linked {
                    h.raw("<a href=\"").text(&record_href(kind, id)).raw("\"><code>").text(id).raw("</code></a>");
                } else {
                    h.element("<code>", id, "</code>");
                }
            }
        };
        match self {
            MergeNotice::Merged { ids, merge_id, token } => {
                h.raw("<section class=\"notice\"><p>Merged into this record: ");
                codes(h, ids, false);
                h.raw(". Their ids now lead here.</p>");
                if let Some(merge_id) = merge_id {
                    h.raw("<form method=\"post\" class=\"undo\" action=\"/view/merge/").raw(segment(kind)).raw("/undo\">");
                    h.raw("<input type=\"hidden\" name=\"token\" value=\"").text(token).raw("\">");
                    h.raw("<input type=\"hidden\" name=\"merge\" value=\"").text(merge_id).raw("\">");
                    h.raw("<button type=\"submit\">Undo this merge</button></form>");
                }
                h.raw("</section>");
            }
            MergeNotice::Followed { from } => {
                h.raw("<section class=\"notice\"><p>The link you followed named <code>").text(from);
                h.raw("</code>, which was merged into this record.</p></section>");
            }
            MergeNotice::Restored { ids } => {
                h.raw("<section class=\"notice\"><p>The merge was undone: ");
                codes(h, ids, true);
                h.raw(" are separate records again, with what they held.</p></section>");
            }
        }
    }
}

/// The body of `POST /{kind}/merge` a review form asks for: the record chosen to stay, the
/// others merged into it in the review's order, and the source of each field picked. The API's
/// own checks (`MergeRequest::parse`) then apply as to any client.
pub fn merge_body(form: &[(String, String)]) -> Value {
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let survivor = get("survivor").unwrap_or_default();
    let merged: Vec<&str> = form.iter().filter(|(k, v)| k == "ids" && v != survivor).map(|(_, v)| v.as_str()).collect();
    let mut fields = Map::new();
    for (k, v) in form {
        if let Some(field) = k.strip_prefix("field:") {
            fields.insert(field.to_string(), json!(v));
        }
    }
    json!({"survivorId": survivor, "mergedIds": merged, "fields": fields})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::matching::MatchField;
    use crate::domain::merge::{DuplicateRow, MergeRequest};
    use crate::domain::record::KeySet;

    fn record(id: &str, fields: Value, properties: Value) -> RecordRow {
        RecordRow {
            id: id.into(),
            fields: fields.as_object().unwrap().clone(),
            properties: properties.as_object().unwrap().clone(),
            created_at: "2026-01-01T10:00:00.000Z".into(),
            updated_at: "2026-02-01T10:00:00.000Z".into(),
            ..Default::default()
        }
    }

    fn records() -> Vec<RecordRow> {
        vec![
            record("ct_1", json!({"firstName": "Ada", "email": "ada@old.example"}), json!({"tier": "gold"})),
            record("ct_2", json!({"firstName": "Ada", "email": "ada@new.example", "title": "CTO"}), json!({"tier": "gold", "seats": 4})),
        ]
    }

    #[test]
    fn the_review_offers_a_choice_only_where_records_differ() {
        let rows = review_fields(RecordKind::Contact, &records());
        let by = |name: &str| rows.iter().find(|r| r.name == name).unwrap();
        assert!(!by("firstName").differs);
        assert!(by("email").differs);
        assert_eq!(by("email").default, Some(0), "the record offered to stay keeps its value");
        assert_eq!(by("title").default, Some(1), "an empty field takes the other's value");
        assert!(!by("title").differs);
        assert_eq!(by("properties.seats").values, ["", "4"]);
        assert!(!by("properties.tier").differs);
        assert!(rows.iter().all(|r| r.name != "phone"), "a field nobody holds is left out");
    }

    #[test]
    fn the_review_page_is_a_form_with_the_token_and_every_choice_escaped() {
        let mut recs = records();
        recs[1].fields.insert("title".into(), json!("<script>alert(1)</script>"));
        recs[0].fields.insert("title".into(), json!("CEO"));
        let page = MergeReview { kind: RecordKind::Contact, records: recs, token: "t0k3n".into() }.render(&Shell::bare("n"));
        assert!(page.contains("<form method=\"post\" class=\"review\" action=\"/view/merge/contact\">"), "{page}");
        assert!(page.contains("name=\"token\" value=\"t0k3n\""));
        assert!(page.contains("name=\"survivor\" value=\"ct_1\" checked"));
        assert!(page.contains("name=\"field:email\" value=\"ct_1\" checked"));
        assert!(page.contains("name=\"field:email\" value=\"ct_2\">"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("<script"));
    }

    #[test]
    fn a_review_form_becomes_the_apis_merge_body() {
        let form: Vec<(String, String)> = [
            ("token", "t"),
            ("ids", "ct_1"),
            ("ids", "ct_2"),
            ("ids", "ct_3"),
            ("survivor", "ct_2"),
            ("field:email", "ct_1"),
            ("field:properties.seats", "ct_3"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .to_vec();
        let body = merge_body(&form);
        assert_eq!(body, json!({"survivorId": "ct_2", "mergedIds": ["ct_1", "ct_3"], "fields": {"email": "ct_1", "properties.seats": "ct_3"}}));
        let req = MergeRequest::parse(RecordKind::Contact, &body).unwrap();
        assert_eq!(req.ids(), ["ct_2", "ct_1", "ct_3"]);
        // A form without a survivor is the API's 400, naming it.
        let e = MergeRequest::parse(RecordKind::Contact, &merge_body(&form[..4])).unwrap_err();
        assert!(e.message("r").contains("survivorId"), "{}", e.message("r"));
    }

    #[test]
    fn a_merge_notice_offers_the_undo_and_an_undo_notice_links_the_restored() {
        let q = |pairs: &[(&str, &str)]| pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        assert_eq!(MergeNotice::from_query(&q(&[("x", "1")]), "t"), None);
        let notice = MergeNotice::from_query(&q(&[("merged", "ct_2,ct_3"), ("merge", "mg_1")]), "t0k").unwrap();
        let mut h = Html::new();
        notice.render(&mut h, RecordKind::Contact);
        let html = h.finish();
        assert!(html.contains("<code>ct_2</code>, <code>ct_3</code>"), "{html}");
        assert!(html.contains("action=\"/view/merge/contact/undo\"") && html.contains("name=\"merge\" value=\"mg_1\""), "{html}");
        assert!(html.contains("name=\"token\" value=\"t0k\""), "{html}");
        // Without a merge id (an address typed by hand) there is nothing to undo.
        let mut h = Html::new();
        MergeNotice::from_query(&q(&[("merged", "ct_2")]), "t").unwrap().render(&mut h, RecordKind::Contact);
        assert!(!h.finish().contains("<form"));
        let mut h = Html::new();
        MergeNotice::from_query(&q(&[("mergedFrom", "ct_9<i>")]), "t").unwrap().render(&mut h, RecordKind::Contact);
        assert!(h.finish().contains("named <code>ct_9&lt;i&gt;</code>, which was merged into this record"));
        let mut h = Html::new();
        MergeNotice::from_query(&q(&[("restored", "co_2\"><b>")]), "t").unwrap().render(&mut h, RecordKind::Company);
        let html = h.finish();
        assert!(html.contains("href=\"/view/company/co_2%22%3E%3Cb%3E\"") || html.contains("&quot;&gt;&lt;b&gt;"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn review_ids_are_two_to_fifty_one_distinct_ids() {
        let q = |v: &str| vec![("ids".to_string(), v.to_string())];
        assert_eq!(review_ids(&q("ct_1, ct_2,ct_1")).unwrap(), ["ct_1", "ct_2"]);
        assert!(review_ids(&q("ct_1")).is_err());
        assert!(review_ids(&[]).is_err());
        let many: Vec<String> = (0..52).map(|i| format!("ct_{i}")).collect();
        assert!(review_ids(&q(&many.join(","))).unwrap_err().contains("at most 51"));
        assert_eq!(review_href(RecordKind::Company, &["co_1", "co 2"]), "/view/merge/company?ids=co_1,co%202");
    }

    #[test]
    fn the_duplicates_list_offers_the_current_record_first() {
        let member = |id: &str| DuplicateRow {
            group_field: MatchField::Email,
            group_key: "ada@x.example".into(),
            id: id.into(),
            external_id: None,
            name: format!("Ada {id}"),
            fields: Map::new(),
            updated_at: "2026-02-01T10:00:00.000Z".into(),
            keys: KeySet::default(),
        };
        let groups = vec![DuplicateGroup {
            field: MatchField::Email,
            key: "ada@x.example".into(),
            term: "firstName&lastName".into(),
            records: vec![member("ct_1"), member("ct_2")],
        }];
        let mut h = Html::new();
        duplicates_section(&mut h, "Possible duplicates", RecordKind::Contact, &groups, Some("ct_2"), false);
        let html = h.finish();
        assert!(html.contains("Same <b>First name + Last name</b>"), "{html}");
        assert!(html.contains("href=\"/view/merge/contact?ids=ct_2,ct_1\""), "{html}");
        assert!(html.contains("Ada ct_2 <span class=\"mute\">(this record)</span>"), "{html}");
        let mut h = Html::new();
        duplicates_section(&mut h, "Possible duplicates", RecordKind::Contact, &[], None, true);
        let html = h.finish();
        assert!(html.contains("None found") && html.contains("<a href=\"/view/duplicates/contact\">All possible duplicates</a></p></section>"), "{html}");
        let page = DuplicatesPage { kind: RecordKind::Contact, groups: groups.clone(), next: Some("ZW1haWx8Yg".into()), first: false, limit: 50 }.render(&Shell::bare("n"));
        assert!(page.contains("<h1>Possible duplicates: contacts</h1>"), "{page}");
        assert!(page.contains("href=\"/view/duplicates/contact?cursor=ZW1haWx8Yg\">Next groups</a>"), "{page}");
        assert!(page.contains("href=\"/view/duplicates/contact\">First page</a>"), "{page}");
        let page = DuplicatesPage { kind: RecordKind::Contact, groups: groups.clone(), next: Some("ZW1haWx8Yg".into()), first: false, limit: 2 }.render(&Shell::bare("n"));
        assert!(page.contains("href=\"/view/duplicates/contact?cursor=ZW1haWx8Yg&amp;limit=2\">Next groups</a>"), "{page}");
        assert!(page.contains("href=\"/view/duplicates/contact?limit=2\">First page</a>"), "{page}");
    }
}
