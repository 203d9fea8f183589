//! What is derived from a stored record for people and for Enginy: its display name and search
//! text (stored columns, for lists and search), its sync-back properties, and its wire form.

use serde_json::{json, Map, Value};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::apply::is_empty;
use super::kind::{RecordKind, EXTERNAL_ID};
use super::parse::PROPERTIES;

fn text<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// The name shown in lists: a contact's "First Last" (or either alone), else its e-mail; a
/// company's name, else its domain, else its website. `""` when there is nothing to show.
pub fn display_name(kind: RecordKind, fields: &Map<String, Value>) -> String {
    match kind {
        RecordKind::Contact => {
            let parts: Vec<&str> = ["firstName", "lastName"].iter().filter_map(|n| text(fields, n)).collect();
            if parts.is_empty() {
                text(fields, "email").unwrap_or_default().to_string()
            } else {
                parts.join(" ")
            }
        }
        RecordKind::Company => ["name", "domain", "website"]
            .iter()
            .find_map(|n| text(fields, n))
            .unwrap_or_default()
            .to_string(),
    }
}

/// The core fields a record's list columns come from: its display name, its search terms, its
/// owner and its parent. They need writing again only when one of these changed (a contact's
/// tags, which are a custom property, are checked apart: see `RecordChange`).
pub fn listing_fields(kind: RecordKind) -> impl Iterator<Item = &'static str> {
    let display: &'static [&'static str] = match kind {
        RecordKind::Contact => &["firstName", "lastName", "email"],
        RecordKind::Company => &["name", "domain", "website"],
    };
    display.iter().chain(search_fields(kind)).chain(&["ownerId", "parentCrmId"]).copied()
}

/// The core fields the search terms come from (`domain::search::record_terms`).
fn search_fields(kind: RecordKind) -> &'static [&'static str] {
    match kind {
        RecordKind::Contact => &["firstName", "lastName", "email", "phone", "company", "companyDomain", "title", "linkedinUrl"],
        RecordKind::Company => &["name", "domain", "website", "phone", "linkedinUrl", "tags"],
    }
}

/// The stored search column: the record's search terms ([`crate::domain::search::record_terms`])
/// joined by spaces. Triggers keep the `search_terms` index equal to it.
pub fn search_text(kind: RecordKind, fields: &Map<String, Value>, properties: &Map<String, Value>) -> String {
    crate::domain::search::joined(&crate::domain::search::record_terms(kind, fields, properties))
}

/// Lower case, accents removed (`José` → `jose`), compatibility forms unfolded (`ﬁ` → `fi`), runs
/// of whitespace made one space. Looser than the match normalisers on purpose: it only has to make
/// a typed query find what a person would expect.
pub fn search_fold(s: &str) -> String {
    let folded: String = s.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Core fields that sync-back leaves out by default: ids, which Enginy keeps on its side.
const NOT_SYNCED_BY_DEFAULT: [&str; 3] = [EXTERNAL_ID, "ownerId", "parentCrmId"];

/// The `properties` of a sync result (API.md §4 sync): the listed names (`None`: every core field
/// but the ids, then every custom property), drawn from core fields for core names and from
/// custom properties otherwise, and never a value that is null or empty (`""`, blank, `[]`, `{}`):
/// Enginy clears a field it receives as null, so an empty value would erase its data.
pub fn sync_back(kind: RecordKind, fields: &Map<String, Value>, properties: &Map<String, Value>, only: Option<&[String]>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut put = |name: &str, value: Option<&Value>| {
        if let Some(value) = value.filter(|v| !is_empty(Some(v))) {
            out.entry(name.to_string()).or_insert_with(|| value.clone());
        }
    };
    match only {
        Some(names) => {
            for name in names {
                if kind.is_core(name) {
                    put(name, fields.get(name));
                } else {
                    put(name, properties.get(name));
                }
            }
        }
        None => {
            for spec in kind.fields().iter().filter(|f| !NOT_SYNCED_BY_DEFAULT.contains(&f.name)) {
                put(spec.name, fields.get(spec.name));
            }
            for (name, value) in properties {
                // A core name wins over a custom property of the same name (only possible in
                // data written around the parser).
                if !kind.is_core(name) {
                    put(name, Some(value));
                }
            }
        }
    }
    out
}

/// A record as the API returns it: `id` and `crmId` (the same), `externalId`, every core field
/// (absent ones as `null`, so the shape never varies), `properties`, `createdAt`, `updatedAt`.
pub fn to_wire(
    kind: RecordKind,
    id: &str,
    external_id: Option<&str>,
    stored_fields: &Map<String, Value>,
    properties: &Map<String, Value>,
    created_at: &str,
    updated_at: &str,
) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("crmId".into(), json!(id));
    out.insert(EXTERNAL_ID.into(), json!(external_id));
    for spec in kind.fields().iter().filter(|f| f.name != EXTERNAL_ID) {
        out.insert(spec.name.into(), stored_fields.get(spec.name).cloned().unwrap_or(Value::Null));
    }
    out.insert(PROPERTIES.into(), Value::Object(properties.clone()));
    out.insert("createdAt".into(), json!(created_at));
    out.insert("updatedAt".into(), json!(updated_at));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::apply::StoredRecord;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn back(kind: RecordKind, r: &StoredRecord, only: Option<&[String]>) -> Map<String, Value> {
        sync_back(kind, &r.fields, &r.properties, only)
    }

    #[test]
    fn contact_display_names() {
        let name = |v: Value| display_name(RecordKind::Contact, &map(v));
        assert_eq!(name(json!({"firstName": " Ada ", "lastName": "Lovelace", "email": "a@x.com"})), "Ada Lovelace");
        assert_eq!(name(json!({"firstName": "Ada"})), "Ada");
        assert_eq!(name(json!({"lastName": "Lovelace", "firstName": " "})), "Lovelace");
        assert_eq!(name(json!({"email": "ada@x.com", "firstName": null})), "ada@x.com");
        assert_eq!(name(json!({"title": "CEO"})), "");
    }

    #[test]
    fn company_display_names() {
        let name = |v: Value| display_name(RecordKind::Company, &map(v));
        assert_eq!(name(json!({"name": "Acme", "domain": "acme.com"})), "Acme");
        assert_eq!(name(json!({"name": "", "domain": "acme.com"})), "acme.com");
        assert_eq!(name(json!({"website": "https://acme.com"})), "https://acme.com");
        assert_eq!(name(json!({})), "");
    }

    #[test]
    fn search_text_is_the_terms() {
        let t = search_text(
            RecordKind::Contact,
            &map(json!({"firstName": "José", "lastName": "ÑÚÑEZ", "email": "Jose@Acme.com", "company": "Acme  Ltd",
                "companyDomain": "acme.com", "industry": "not searched"})),
            &Map::new(),
        );
        assert_eq!(t, "acme acme.com jose jose@acme.com ltd nunez");
        let t = search_text(RecordKind::Company, &map(json!({"name": "Ｃafé ﬁne", "domain": "cafe.fr", "industry": "x"})), &Map::new());
        assert_eq!(t, "cafe cafe.fr fine");
        assert_eq!(search_text(RecordKind::Company, &map(json!({})), &Map::new()), "");
        assert_eq!(search_fold("  Zoë\tSMITH "), "zoe smith");
    }

    fn record() -> StoredRecord {
        StoredRecord {
            id: "co_1".into(),
            fields: map(json!({
                "name": "Acme", "domain": "acme.com", "industry": "", "city": "  ", "tags": [], "customFields": {},
                "technologies": ["rust"], "employeeCount": 0, "phone": null, "ownerId": "us_1", "parentCrmId": "co_0"
            })),
            properties: map(json!({"tier": "gold", "score": 0, "empty": "", "none": null, "list": [], "obj": {}, "flag": false})),
        }
    }

    #[test]
    fn sync_back_defaults_to_everything_but_ids_and_never_sends_empties() {
        let out = back(RecordKind::Company, &record(), None);
        assert_eq!(
            out,
            map(json!({
                "name": "Acme", "domain": "acme.com", "technologies": ["rust"], "employeeCount": 0,
                "tier": "gold", "score": 0, "flag": false
            }))
        );
        assert!(out.values().all(|v| !v.is_null()));
    }

    #[test]
    fn sync_back_honours_the_list() {
        let only: Vec<String> =
            ["tier", "industry", "ownerId", "none", "missing", "domain", "externalId"].iter().map(|s| s.to_string()).collect();
        let out = back(RecordKind::Company, &record(), Some(&only));
        assert_eq!(out, map(json!({"tier": "gold", "ownerId": "us_1", "domain": "acme.com"})));
        assert!(back(RecordKind::Company, &record(), Some(&[])).is_empty());
    }

    #[test]
    fn sync_back_reads_core_names_from_core_fields_only() {
        let mut r = record();
        r.properties.insert("name".into(), json!("shadow"));
        let only = vec!["name".to_string()];
        assert_eq!(back(RecordKind::Company, &r, Some(&only))["name"], json!("Acme"));
        assert_eq!(back(RecordKind::Company, &r, None)["name"], json!("Acme"));
        // "name" is not a contact field: for a contact it is a custom property.
        assert_eq!(back(RecordKind::Contact, &r, Some(&only))["name"], json!("shadow"));
    }

    #[test]
    fn wire_shape() {
        let fields = map(json!({"firstName": "Ada", "email": "ada@x.com"}));
        let props = map(json!({"genesy_score": "7"}));
        let w = to_wire(RecordKind::Contact, "ct_1", Some("e-1"), &fields, &props, "2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z");
        assert_eq!(
            w,
            json!({
                "id": "ct_1", "crmId": "ct_1", "externalId": "e-1", "firstName": "Ada", "lastName": null,
                "email": "ada@x.com", "phone": null, "company": null, "companyDomain": null, "title": null,
                "linkedinUrl": null, "ownerId": null, "properties": {"genesy_score": "7"},
                "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-02T00:00:00.000Z"
            })
        );
        let w = to_wire(RecordKind::Company, "co_1", None, &Map::new(), &Map::new(), "a", "b");
        let o = w.as_object().unwrap();
        assert_eq!(o.len(), RecordKind::Company.fields().len() + 5); // + id, crmId, properties, two times
        assert_eq!(o["externalId"], Value::Null);
        assert_eq!(o["properties"], json!({}));
        assert_eq!(o["tags"], Value::Null);
    }
}
