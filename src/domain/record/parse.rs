//! Parsing one record of a create or update body into checked values.
//!
//! Core fields are checked against their [`FieldType`]; every other field is data (API.md §1) and
//! is kept in `properties` exactly as sent, type preserved, within size limits that keep one record
//! far below D1's row limit. A problem is a [`ItemError`] for that record only: the batch goes on.
//!
//! Decisions where the contract leaves room:
//! - `externalId` is kept exactly as sent (not trimmed: it is Enginy's key, and a trimmed copy
//!   would not be the same key). It must be a string that is not blank, at most 255 characters,
//!   or a number, which is stored as its decimal text (`123` and `"123"` are one record).
//! - In an update, `externalId` is ignored without an error: links are made by create and sync,
//!   and Enginy may echo the whole record back in an update, which must not fail for it.
//!   `id`, `createdAt` and `updatedAt` are ignored in both bodies, and `crmId` in a create body.
//! - A nested `properties` object (accepted by Enginy's reference server) is read as if its entries
//!   were written at the top level: a core name in it is the core field (checked by its type), any
//!   other name a custom property. When both places carry a name, the top level wins. Reserved
//!   names inside it (`externalId`, `crmId`, `id`, `createdAt`, `updatedAt`, `properties`) are
//!   ignored. Errors name such entries `properties.<name>`. `"properties": null` adds nothing.
//! - An empty or blank string is accepted for a `Number`/`Integer` field and kept as sent: senders
//!   use `""` for "unknown", and failing a whole record for it would lose its other fields.
//! - `revenue` accepts a number or any string (see [`FieldType::NumberOrText`]).
//! - A record's data as a whole (core fields and properties) is capped at 1 MiB of JSON, so one
//!   oversized record is its own error rather than a database failure for the batch.

use std::io;

use serde_json::{Map, Value};

use super::kind::{
    FieldSpec, FieldType, RecordKind, EXTERNAL_ID, MAX_EXTERNAL_ID_CHARS, MAX_JSON_BYTES, MAX_JSON_DEPTH,
    MAX_LIST_ITEMS,
};
use crate::domain::error::ItemError;
use crate::domain::normalize::clean_domain;
use crate::domain::request::json_type;

/// Longest custom field name, in characters.
pub const MAX_FIELD_NAME_CHARS: usize = 200;

/// Largest record data (core fields and properties together, as JSON), in bytes. D1 refuses rows
/// over 2 MB; refusing the record here makes that a per-record error instead of a failed batch.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The key of the nested properties object, in bodies and on the wire.
pub const PROPERTIES: &str = "properties";

/// Names a body may carry that are never stored as data.
const READ_ONLY: [&str; 3] = ["id", "createdAt", "updatedAt"];
const CRM_ID: &str = "crmId";


/// Validated input of `POST /{kind}`. Nulls and absent fields are not stored on create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    /// As sent, or the decimal text of a number.
    pub external_id: Option<String>,
    /// Core fields except `externalId`, as sent.
    pub fields: Map<String, Value>,
    /// Every other field, as sent.
    pub properties: Map<String, Value>,
    /// `lastActivityDate` as sent (RFC 3339 UTC): it only moves the record's date forward.
    pub last_activity: Option<String>,
    /// The core fields stored otherwise than they came, as sent (history keeps them).
    pub sent: Map<String, Value>,
}

/// Validated item of `PUT /{kind}`: only the fields present, `Value::Null` meaning "clear".
#[derive(Debug, Clone, PartialEq)]
pub struct RecordUpdate {
    /// As sent.
    pub crm_id: String,
    pub fields: Map<String, Value>,
    pub properties: Map<String, Value>,
    /// `lastActivityDate` as sent: it only moves the record's date forward.
    pub last_activity: Option<String>,
    /// An `externalId` to link the record to (its old one stays linked, and in history).
    pub external_id: Option<String>,
    /// The core fields stored otherwise than they came, as sent (history keeps them).
    pub sent: Map<String, Value>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Update,
}

/// Parses one record of a create body.
pub fn parse_new(kind: RecordKind, value: &Value) -> Result<NewRecord, ItemError> {
    let object = record_object(kind, value)?;
    let external_id = match object.get(EXTERNAL_ID) {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_external_id(v)?),
    };
    let (fields, properties, sent) = parse_data(kind, object, Mode::Create)?;
    Ok(NewRecord { external_id, fields, properties, last_activity: last_activity(object)?, sent })
}

/// Parses one item of an update body.
pub fn parse_update(kind: RecordKind, value: &Value) -> Result<RecordUpdate, ItemError> {
    let object = record_object(kind, value)?;
    let crm_id = match object.get(CRM_ID) {
        None | Some(Value::Null) => return Err(ItemError::invalid(CRM_ID, "is required")),
        Some(Value::String(s)) if s.trim().is_empty() => return Err(ItemError::invalid(CRM_ID, "must not be empty")),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(ItemError::invalid(CRM_ID, format!("expected a string, got {}", json_type(other)))),
    };
    let (fields, properties, sent) = parse_data(kind, object, Mode::Update)?;
    let external_id = match object.get(EXTERNAL_ID) {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_external_id(v)?),
    };
    Ok(RecordUpdate { crm_id, fields, properties, last_activity: last_activity(object)?, external_id, sent })
}

fn record_object(kind: RecordKind, value: &Value) -> Result<&Map<String, Value>, ItemError> {
    value.as_object().ok_or_else(|| {
        ItemError::whole(format!("expected a {} object, got {}", kind.key_kind(), json_type(value)))
    })
}

/// An `externalId` (of a record, a task or an activity): a non-blank string of at most
/// [`MAX_EXTERNAL_ID_CHARS`] characters, kept exactly as sent, or a number (its decimal text).
pub fn parse_external_id(value: &Value) -> Result<String, ItemError> {
    match value {
        Value::String(s) if s.trim().is_empty() => Err(ItemError::invalid(EXTERNAL_ID, "must not be empty")),
        Value::String(s) => {
            check_length(s, MAX_EXTERNAL_ID_CHARS).map_err(|p| ItemError::invalid(EXTERNAL_ID, p))?;
            Ok(s.clone())
        }
        // An integer JSON's doubles cannot hold exactly (2^53 and beyond, read as a double when
        // it does not fit 64 bits) would be kept as another number's text: two ids could become
        // one.
        Value::Number(n) if n.as_u64().is_none() && n.as_i64().is_none() && n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() >= 9_007_199_254_740_992.0) => {
            Err(ItemError::invalid(EXTERNAL_ID, format!("is a number too large to keep exactly ({n}): send it as a string")))
        }
        Value::Number(n) => Ok(n.to_string()),
        other => Err(ItemError::invalid(
            EXTERNAL_ID,
            format!("expected a string or a number, got {}", json_type(other)),
        )),
    }
}

/// The name of the record's last activity date: one field, which the CRM computes from logged
/// activities and a client may move forward, never back.
pub const LAST_ACTIVITY: &str = "lastActivityDate";

/// `lastActivityDate` as sent (a timestamp, or `null`, which changes nothing): at the top level,
/// or else inside the nested `properties` object, as every core field is read (the top level
/// wins); an error names it as sent.
fn last_activity(object: &Map<String, Value>) -> Result<Option<String>, ItemError> {
    use crate::domain::work::{timestamp, timestamp_value};
    if object.contains_key(LAST_ACTIVITY) {
        return Ok(timestamp(object, LAST_ACTIVITY)?.flatten());
    }
    let nested = object.get(PROPERTIES).and_then(Value::as_object).and_then(|nested| nested.get(LAST_ACTIVITY));
    Ok(timestamp_value(nested, &format!("{PROPERTIES}.{LAST_ACTIVITY}"))?.flatten())
}

/// A contact's `company` and `companyName` (another name for it) sent side by side, at one level,
/// with different values: one would be lost, so the item is refused naming `companyName`.
fn check_company_names(kind: RecordKind, object: &Map<String, Value>, prefix: &str) -> Result<(), ItemError> {
    if kind != RecordKind::Contact {
        return Ok(());
    }
    match (object.get("company"), object.get("companyName")) {
        (Some(a), Some(b)) if !a.is_null() && !b.is_null() && a != b => Err(ItemError::invalid(
            &format!("{prefix}companyName"),
            format!("is another name for {prefix}company, which was sent with another value: send one of them"),
        )),
        _ => Ok(()),
    }
}

/// Core fields and custom properties of one record, and the core fields stored otherwise than
/// they came, as sent.
type Data = (Map<String, Value>, Map<String, Value>, Map<String, Value>);

/// Splits the data of a body into checked core fields and custom properties.
fn parse_data(kind: RecordKind, object: &Map<String, Value>, mode: Mode) -> Result<Data, ItemError> {
    let mut fields = Map::new();
    let mut properties = Map::new();
    let mut sent = Map::new();
    // A domain sent with a path (a page URL), kept as `website` when that is empty.
    let mut page: Option<Value> = None;
    let mut put = |path: &str, name: &str, value: &Value| -> Result<(), ItemError> {
        if READ_ONLY.contains(&name) || (name == CRM_ID && mode == Mode::Create) {
            return Err(ItemError::read_only(path));
        }
        // A contact's `companyName` is another name for `company`.
        let name = if kind == RecordKind::Contact && name == "companyName" { "company" } else { name };
        let (target, value) = match kind.field(name) {
            Some(spec) => {
                let read = read_core(spec, value).map_err(|p| ItemError::invalid(path, p))?;
                let read = match (name, read) {
                    ("domain" | "companyDomain", Value::String(raw)) => {
                        let (host, has_path) = clean_domain(&raw);
                        if has_path && name == "domain" {
                            page = Some(Value::String(raw));
                        }
                        Value::String(host)
                    }
                    (_, other) => other,
                };
                // Read otherwise than sent (a clean host, a number from text, a list from one
                // string): history keeps what came.
                if !value.is_null() && read != *value {
                    sent.insert(name.to_string(), value.clone());
                } else {
                    sent.remove(name);
                }
                (&mut fields, read)
            }
            None => {
                check_custom(value).map_err(|p| ItemError::invalid(path, p))?;
                (&mut properties, value.clone())
            }
        };
        if value.is_null() && mode == Mode::Create {
            // Nothing to store, and an earlier value of the same name (from the nested object) is
            // overridden by this explicit null.
            target.remove(name);
        } else {
            target.insert(name.to_string(), value);
        }
        Ok(())
    };

    check_company_names(kind, object, "")?;
    if let Some(Value::Object(nested)) = object.get(PROPERTIES) {
        check_company_names(kind, nested, "properties.")?;
    }
    let skip = |name: &str| name == PROPERTIES || name == EXTERNAL_ID || name == LAST_ACTIVITY || (name == CRM_ID && mode == Mode::Update);
    each_data_field(object, skip, |f| {
        put(&f.path, f.name, f.value)
    })?;
    // On create, a page URL sent as the domain is kept as the website when none was sent.
    if let (Some(page), Mode::Create) = (page, mode) {
        if kind.is_core("website") && crate::domain::record::is_empty(fields.get("website")) {
            fields.insert("website".to_string(), page);
        }
    }
    if !fits_as_json(&(&fields, &properties), MAX_RECORD_BYTES) {
        return Err(ItemError::whole(format!("record is larger than {MAX_RECORD_BYTES} bytes as JSON")));
    }
    Ok((fields, properties, sent))
}

/// One data field of an item, as [`each_data_field`] visits it.
pub struct DataField<'a> {
    /// As the client wrote it: `score`, or `properties.score` inside the nested object.
    pub path: String,
    pub name: &'a str,
    pub value: &'a Value,
    /// Whether it came from the nested `properties` object.
    pub nested: bool,
}

/// The one reader of custom data, for records, tasks, activities and users: visits the fields of
/// the nested `properties` object first (so the top level overrides them), then the top level,
/// skipping the names `skip` says are not data wherever they appear, after checking each name
/// (not empty, at most [`MAX_FIELD_NAME_CHARS`] characters). A `properties` that is not an
/// object is an error naming it; one level of nesting only.
pub fn each_data_field<'a>(
    object: &'a Map<String, Value>,
    skip: impl Fn(&str) -> bool,
    mut visit: impl FnMut(DataField<'a>) -> Result<(), ItemError>,
) -> Result<(), ItemError> {
    match object.get(PROPERTIES) {
        None | Some(Value::Null) => {}
        Some(Value::Object(nested)) => {
            for (name, value) in nested {
                if name == PROPERTIES || skip(name) {
                    continue;
                }
                check_name(name, Some(PROPERTIES))?;
                visit(DataField { path: format!("{PROPERTIES}.{name}"), name, value, nested: true })?;
            }
        }
        Some(other) => {
            return Err(ItemError::invalid(PROPERTIES, format!("expected an object, got {}", json_type(other))));
        }
    }
    for (name, value) in object {
        if name == PROPERTIES || skip(name) {
            continue;
        }
        check_name(name, None)?;
        visit(DataField { path: name.clone(), name, value, nested: false })?;
    }
    Ok(())
}

fn check_name(name: &str, parent: Option<&str>) -> Result<(), ItemError> {
    let at = |path: String, problem: String| Err(ItemError::invalid(&path, problem));
    let path = |n: &str| match parent {
        Some(p) => format!("{p}.{n}"),
        None => n.to_string(),
    };
    if name.is_empty() {
        return match parent {
            Some(p) => at(p.to_string(), "has a field with an empty name".to_string()),
            None => Err(ItemError::whole("a field has an empty name")),
        };
    }
    let length = name.chars().count();
    if length > MAX_FIELD_NAME_CHARS {
        let start: String = name.chars().take(40).collect();
        return at(
            path(&format!("{start}…")),
            format!("field name is {length} characters long; at most {MAX_FIELD_NAME_CHARS} are allowed"),
        );
    }
    Ok(())
}

/// A core value as stored: read leniently (Enginy sends user-mapped values as they come), then
/// checked. A list field sent as a string is split on commas (trimmed, empty items dropped); a
/// number field sent as a numeric string is that number. `null` stays `null` (a clear).
fn read_core(spec: &FieldSpec, value: &Value) -> Result<Value, String> {
    let read = match (spec.ty, value) {
        (_, Value::Null) => return Ok(Value::Null),
        (FieldType::TextList, Value::String(s)) => {
            Value::Array(s.split(',').map(str::trim).filter(|t| !t.is_empty()).map(|t| Value::String(t.to_string())).collect())
        }
        // Checked as sent (its length, that it is a number), then read as the number.
        (FieldType::Number | FieldType::Integer, Value::String(s)) => {
            check_core(spec, value)?;
            return Ok(number_of(s).unwrap_or_else(|| value.clone()));
        }
        _ => value.clone(),
    };
    check_core(spec, &read)?;
    Ok(read)
}

/// The number a numeric string holds (`" 120 "`, `"1e3"`, `"-2.5"`), if it is one and finite.
fn number_of(s: &str) -> Option<Value> {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(Value::from(i));
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite()).and_then(serde_json::Number::from_f64).map(Value::Number)
}

/// The problem with a core value, if any, in words that follow `<field>: `. `value` is not null.
fn check_core(spec: &FieldSpec, value: &Value) -> Result<(), String> {
    let got = || json_type(value);
    match spec.ty {
        FieldType::Text => match value {
            Value::String(s) => check_length(s, spec.max_chars),
            _ => Err(format!("expected a string, got {}", got())),
        },
        FieldType::Reference => match value {
            Value::String(s) if s.trim().is_empty() => Err("must not be empty".to_string()),
            Value::String(s) => check_length(s, spec.max_chars),
            _ => Err(format!("expected a string, got {}", got())),
        },
        FieldType::Number => match value {
            Value::Number(_) => Ok(()),
            Value::String(s) if s.trim().is_empty() => Ok(()),
            Value::String(s) => {
                check_length(s, spec.max_chars)?;
                match s.trim().parse::<f64>() {
                    Ok(n) if n.is_finite() => Ok(()),
                    _ => Err(format!("expected a number, got the string {}", quote(s))),
                }
            }
            _ => Err(format!("expected a number, got {}", got())),
        },
        FieldType::Integer => match value {
            Value::Number(n) if is_whole(n.as_f64()) || n.is_i64() || n.is_u64() => Ok(()),
            Value::Number(n) => Err(format!("expected a whole number, got {n}")),
            Value::String(s) if s.trim().is_empty() => Ok(()),
            Value::String(s) => {
                check_length(s, spec.max_chars)?;
                let t = s.trim();
                if t.parse::<i64>().is_ok() || is_whole(t.parse::<f64>().ok()) {
                    Ok(())
                } else {
                    Err(format!("expected a whole number, got the string {}", quote(s)))
                }
            }
            _ => Err(format!("expected a whole number, got {}", got())),
        },
        FieldType::NumberOrText => match value {
            Value::Number(_) => Ok(()),
            Value::String(s) => check_length(s, spec.max_chars),
            _ => Err(format!("expected a number or a string, got {}", got())),
        },
        FieldType::TextList => {
            let Value::Array(items) = value else {
                return Err(format!("expected an array of strings, got {}", got()));
            };
            if items.len() > MAX_LIST_ITEMS {
                return Err(format!("has {} items; at most {MAX_LIST_ITEMS} are allowed", items.len()));
            }
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => check_length(s, spec.max_chars).map_err(|p| format!("item {i} {p}"))?,
                    other => return Err(format!("expected an array of strings, but item {i} is {}", json_type(other))),
                }
            }
            Ok(())
        }
        FieldType::Object => match value {
            Value::Object(_) => check_json_limits(value, spec.max_chars),
            _ => Err(format!("expected an object, got {}", got())),
        },
    }
}

/// Custom values may have any type; only their size and depth are bounded.
pub fn check_custom(value: &Value) -> Result<(), String> {
    check_json_limits(value, MAX_JSON_BYTES)
}

fn check_json_limits(value: &Value, max_bytes: usize) -> Result<(), String> {
    if deeper_than(value, MAX_JSON_DEPTH) {
        return Err(format!("nests deeper than {MAX_JSON_DEPTH} levels"));
    }
    if !fits_as_json(value, max_bytes) {
        return Err(format!("is larger than {max_bytes} bytes as JSON"));
    }
    Ok(())
}

/// Whether `value` nests deeper than `limit` levels (a scalar is level 0, `[1]` level 1). Stops
/// looking at `limit + 1`.
fn deeper_than(value: &Value, limit: usize) -> bool {
    match value {
        Value::Array(items) => limit == 0 || items.iter().any(|child| deeper_than(child, limit - 1)),
        Value::Object(map) => limit == 0 || map.values().any(|child| deeper_than(child, limit - 1)),
        _ => false,
    }
}

/// Whether `value` serialises to at most `max_bytes` bytes. Serialisation stops as soon as the
/// limit is passed, so a huge value costs no more than the limit.
fn fits_as_json<T: serde::Serialize + ?Sized>(value: &T, max_bytes: usize) -> bool {
    struct Budget(usize);
    impl io::Write for Budget {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 = self.0.checked_sub(buf.len()).ok_or_else(|| io::Error::other("over budget"))?;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    serde_json::to_writer(&mut Budget(max_bytes), value).is_ok()
}

fn check_length(s: &str, max_chars: usize) -> Result<(), String> {
    // Bytes bound characters from above: most strings are decided without counting.
    if s.len() <= max_chars {
        return Ok(());
    }
    let length = s.chars().count();
    if length > max_chars {
        return Err(format!("is {length} characters long; at most {max_chars} are allowed"));
    }
    Ok(())
}

fn is_whole(n: Option<f64>) -> bool {
    // Beyond 2^53 a float no longer tells whole numbers apart; such a "year" is nonsense anyway.
    n.is_some_and(|n| n.is_finite() && n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0)
}

/// A value quoted for a message, cut short so an error never echoes a whole paragraph.
fn quote(s: &str) -> String {
    const SHOWN: usize = 40;
    if s.chars().count() <= SHOWN {
        format!("{s:?}")
    } else {
        let start: String = s.chars().take(SHOWN).collect();
        format!("{:?}", start + "…")
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn what_is_stored_otherwise_than_sent_is_kept_as_sent() {
        let r = parse_new(
            RecordKind::Company,
            &serde_json::json!({"name": "Acme", "domain": "HTTPS://www.Acme.com/en?utm=x", "employeeCount": "120", "tags": "a, b", "tier": "gold"}),
        )
        .unwrap();
        assert_eq!(r.fields["domain"], "acme.com");
        assert_eq!(
            serde_json::Value::Object(r.sent),
            serde_json::json!({"domain": "HTTPS://www.Acme.com/en?utm=x", "employeeCount": "120", "tags": "a, b"}),
            "the name, stored as sent, and custom properties, always stored as sent, are not listed"
        );
        let u = parse_update(RecordKind::Company, &serde_json::json!({"crmId": "co_1", "domain": "acme.com", "foundedYear": 1999})).unwrap();
        assert!(u.sent.is_empty(), "{:?}", u.sent);
    }

    use super::*;
    use serde_json::json;

    const CONTACT: RecordKind = RecordKind::Contact;
    const COMPANY: RecordKind = RecordKind::Company;

    fn company_err(body: Value) -> ItemError {
        parse_new(COMPANY, &body).unwrap_err()
    }

    fn assert_err(kind: RecordKind, body: Value, field: &str, message: &str) {
        let new = parse_new(kind, &body).unwrap_err();
        assert_eq!(new.field.as_deref(), Some(field), "{body}");
        assert_eq!(new.message, message, "{body}");
        assert_eq!(new.code.as_str(), "invalid");
        // Updates check values by the same rules.
        let mut update = body.clone();
        update["crmId"] = json!("co_x");
        let upd = parse_update(kind, &update).unwrap_err();
        assert_eq!(upd.message, message, "{update}");
    }

    #[test]
    fn a_full_company_parses() {
        let body = json!({
            "externalId": "company-123", "name": "Acme", "domain": "acme.com", "website": "https://acme.com",
            "industry": "Tech", "employeeCount": 500, "employeeRange": "100-500", "revenue": "100M-250M",
            "foundedYear": 1999, "description": "x", "location": "SF", "city": "SF", "state": "CA",
            "country": "US", "phone": "+1 555", "linkedinUrl": "https://linkedin.com/company/acme",
            "twitterUrl": "t", "facebookUrl": "f", "technologies": ["rust"], "tags": [],
            "customFields": {"a": {"b": 1}}, "vatId": "ES1", "ownerId": "us_1", "parentCrmId": "co_2",
            "genesy_score": 7
        });
        let rec = parse_new(COMPANY, &body).unwrap();
        assert_eq!(rec.external_id.as_deref(), Some("company-123"));
        assert_eq!(rec.fields.len(), 23);
        assert!(!rec.fields.contains_key("externalId"));
        assert_eq!(rec.fields["revenue"], json!("100M-250M"));
        assert_eq!(rec.properties, json!({"genesy_score": 7}).as_object().unwrap().clone());
    }

    #[test]
    fn a_contact_parses_and_unknown_fields_are_properties() {
        let body = json!({"externalId": "c-1", "firstName": "Ada", "email": "ada@x.com", "Email": "other",
            "name": "not a contact field"});
        let rec = parse_new(CONTACT, &body).unwrap();
        assert_eq!(rec.fields, json!({"firstName": "Ada", "email": "ada@x.com"}).as_object().unwrap().clone());
        assert_eq!(rec.properties["Email"], json!("other"));
        assert_eq!(rec.properties["name"], json!("not a contact field"));
    }

    #[test]
    fn custom_fields_keep_their_type() {
        let values = [
            json!("2024-12-31T10:00:00Z"),
            json!(3),
            json!(-2.5),
            json!("3"),
            json!(true),
            json!(["a", 1, null]),
            json!({"nested": {"deep": [1, 2]}}),
            json!(""),
        ];
        for v in values {
            let rec = parse_new(COMPANY, &json!({"genesy_x": v.clone()})).unwrap();
            assert_eq!(rec.properties["genesy_x"], v);
            let upd = parse_update(COMPANY, &json!({"crmId": "co_1", "genesy_x": v.clone()})).unwrap();
            assert_eq!(upd.properties["genesy_x"], v);
        }
    }

    #[test]
    fn text_fields_take_strings_only() {
        assert_err(CONTACT, json!({"email": 5}), "email", "email: expected a string, got a number");
        assert_err(CONTACT, json!({"title": {}}), "title", "title: expected a string, got an object");
        assert_err(COMPANY, json!({"name": ["a"]}), "name", "name: expected a string, got an array");
        assert_err(COMPANY, json!({"phone": true}), "phone", "phone: expected a string, got a boolean");
        assert!(parse_new(COMPANY, &json!({"name": ""})).is_ok());
    }

    #[test]
    fn text_lengths_are_limited_in_characters() {
        let ok = "é".repeat(2_000); // 4,000 bytes, 2,000 characters
        assert!(parse_new(COMPANY, &json!({"industry": ok})).is_ok());
        assert_err(
            COMPANY,
            json!({"industry": "a".repeat(2_001)}),
            "industry",
            "industry: is 2001 characters long; at most 2000 are allowed",
        );
        assert!(parse_new(COMPANY, &json!({"description": "a".repeat(20_000)})).is_ok());
        assert_err(
            COMPANY,
            json!({"description": "a".repeat(20_001)}),
            "description",
            "description: is 20001 characters long; at most 20000 are allowed",
        );
    }

    #[test]
    fn numbers_accept_numbers_and_numeric_strings() {
        for (sent, stored) in [
            (json!(500), json!(500)),
            (json!(2.5), json!(2.5)),
            (json!(-1), json!(-1)),
            (json!("500"), json!(500)),
            (json!(" 1e3 "), json!(1000.0)),
            (json!("0.5"), json!(0.5)),
            (json!(""), json!("")),
            (json!("  "), json!("  ")),
        ] {
            let rec = parse_new(COMPANY, &json!({"employeeCount": sent.clone()})).unwrap();
            assert_eq!(rec.fields["employeeCount"], stored, "{sent}: a numeric string is read as its number");
        }
        assert_err(
            COMPANY,
            json!({"employeeCount": {}}),
            "employeeCount",
            "employeeCount: expected a number, got an object",
        );
        assert_err(
            COMPANY,
            json!({"employeeCount": "many"}),
            "employeeCount",
            "employeeCount: expected a number, got the string \"many\"",
        );
        for bad in ["NaN", "inf", "-infinity", "1,000", "12abc"] {
            let err = company_err(json!({"employeeCount": bad}));
            assert!(err.message.starts_with("employeeCount: expected a number"), "{bad}: {}", err.message);
        }
        assert_err(
            COMPANY,
            json!({"employeeCount": "1".repeat(101)}),
            "employeeCount",
            "employeeCount: is 101 characters long; at most 100 are allowed",
        );
    }

    #[test]
    fn integers_accept_whole_numbers_and_their_strings() {
        for ok in [json!(1999), json!(1999.0), json!(-5), json!("1999"), json!(" 1999 "), json!("+7"), json!("2e3"), json!("")] {
            assert!(parse_new(COMPANY, &json!({"foundedYear": ok.clone()})).is_ok(), "{ok}");
        }
        assert_err(COMPANY, json!({"foundedYear": 1999.5}), "foundedYear", "foundedYear: expected a whole number, got 1999.5");
        assert_err(
            COMPANY,
            json!({"foundedYear": "1999.5"}),
            "foundedYear",
            "foundedYear: expected a whole number, got the string \"1999.5\"",
        );
        assert_err(COMPANY, json!({"foundedYear": [1]}), "foundedYear", "foundedYear: expected a whole number, got an array");
    }

    #[test]
    fn revenue_takes_a_number_or_a_range() {
        for ok in [json!(250000), json!("100M-250M"), json!("250000")] {
            assert!(parse_new(COMPANY, &json!({"revenue": ok.clone()})).is_ok(), "{ok}");
        }
        assert_err(COMPANY, json!({"revenue": {}}), "revenue", "revenue: expected a number or a string, got an object");
    }

    #[test]
    fn text_lists_are_arrays_of_bounded_strings() {
        assert!(parse_new(COMPANY, &json!({"tags": ["a", "b"], "technologies": []})).is_ok());
        assert_err(COMPANY, json!({"tags": 5}), "tags", "tags: expected an array of strings, got a number");
        assert_err(
            COMPANY,
            json!({"technologies": ["rust", 5]}),
            "technologies",
            "technologies: expected an array of strings, but item 1 is a number",
        );
        assert_err(
            COMPANY,
            json!({"tags": ["ok", "x".repeat(2_001)]}),
            "tags",
            "tags: item 1 is 2001 characters long; at most 2000 are allowed",
        );
        let many: Vec<String> = (0..501).map(|i| i.to_string()).collect();
        assert_err(COMPANY, json!({"tags": many}), "tags", "tags: has 501 items; at most 500 are allowed");
        let enough: Vec<String> = (0..500).map(|i| i.to_string()).collect();
        assert!(parse_new(COMPANY, &json!({"tags": enough})).is_ok());
    }

    #[test]
    fn objects_are_bounded_in_size_and_depth() {
        assert_err(COMPANY, json!({"customFields": []}), "customFields", "customFields: expected an object, got an array");
        assert_err(COMPANY, json!({"customFields": "x"}), "customFields", "customFields: expected an object, got a string");
        // 8 levels: {"a":{"a":...{"a":1}}} with eight objects.
        let mut eight = json!(1);
        for _ in 0..8 {
            eight = json!({ "a": eight });
        }
        assert!(parse_new(COMPANY, &json!({"customFields": eight.clone()})).is_ok());
        assert_err(
            COMPANY,
            json!({"customFields": {"b": eight}}),
            "customFields",
            "customFields: nests deeper than 8 levels",
        );
        // {"k":"..."} is 8 bytes plus the string.
        let fits = json!({"k": "x".repeat(MAX_JSON_BYTES - 8)});
        assert!(parse_new(COMPANY, &json!({"customFields": fits})).is_ok());
        let over = json!({"k": "x".repeat(MAX_JSON_BYTES - 7)});
        assert_err(
            COMPANY,
            json!({"customFields": over}),
            "customFields",
            "customFields: is larger than 32768 bytes as JSON",
        );
    }

    #[test]
    fn references_are_short_non_empty_strings() {
        assert!(parse_new(COMPANY, &json!({"ownerId": "us_1", "parentCrmId": "co_1"})).is_ok());
        assert_err(CONTACT, json!({"ownerId": ""}), "ownerId", "ownerId: must not be empty");
        assert_err(COMPANY, json!({"parentCrmId": "  "}), "parentCrmId", "parentCrmId: must not be empty");
        assert_err(CONTACT, json!({"ownerId": 5}), "ownerId", "ownerId: expected a string, got a number");
        assert_err(
            COMPANY,
            json!({"parentCrmId": "c".repeat(101)}),
            "parentCrmId",
            "parentCrmId: is 101 characters long; at most 100 are allowed",
        );
    }

    #[test]
    fn custom_values_are_bounded_in_size_and_depth() {
        let mut deep = json!(1);
        for _ in 0..9 {
            deep = json!([deep]);
        }
        assert_err(COMPANY, json!({"genesy_x": deep}), "genesy_x", "genesy_x: nests deeper than 8 levels");
        assert_err(
            CONTACT,
            json!({"notes": "x".repeat(MAX_JSON_BYTES)}), // plus two quotes
            "notes",
            "notes: is larger than 32768 bytes as JSON",
        );
        assert!(parse_new(CONTACT, &json!({"notes": "x".repeat(MAX_JSON_BYTES - 2)})).is_ok());
    }

    #[test]
    fn a_whole_record_is_bounded() {
        // 40 custom fields of 30 KiB each: every one fits, together they do not.
        let mut body = Map::new();
        for i in 0..40 {
            body.insert(format!("f{i}"), json!("x".repeat(30 * 1024)));
        }
        let err = parse_new(CONTACT, &Value::Object(body.clone())).unwrap_err();
        assert_eq!(err.field, None);
        assert_eq!(err.message, "record is larger than 1048576 bytes as JSON");
        body.insert("crmId".into(), json!("ct_1"));
        assert_eq!(parse_update(CONTACT, &Value::Object(body)).unwrap_err().message, err.message);
    }

    #[test]
    fn field_names_are_bounded() {
        let err = company_err(json!({"": 1}));
        assert_eq!(err.field, None);
        assert_eq!(err.message, "a field has an empty name");
        let long = "n".repeat(201);
        let err = company_err(json!({ long: 1 }));
        assert!(err.message.ends_with("field name is 201 characters long; at most 200 are allowed"), "{}", err.message);
        assert!(err.field.unwrap().len() < 60, "the name is cut short");
        assert!(parse_new(COMPANY, &json!({ "n".repeat(200): 1 })).is_ok());
        let err = company_err(json!({"properties": {"": 1}}));
        assert_eq!(err.message, "properties: has a field with an empty name");
    }

    #[test]
    fn external_id_rules() {
        let ext = |v: Value| parse_new(CONTACT, &json!({ "externalId": v })).map(|r| r.external_id);
        assert_eq!(ext(json!("abc")).unwrap().as_deref(), Some("abc"));
        assert_eq!(ext(json!(" abc ")).unwrap().as_deref(), Some(" abc "), "kept as sent");
        assert_eq!(ext(json!(123)).unwrap().as_deref(), Some("123"));
        assert_eq!(ext(json!(null)).unwrap(), None);
        assert_eq!(parse_new(CONTACT, &json!({})).unwrap().external_id, None);
        assert_eq!(ext(json!("x".repeat(255))).unwrap().unwrap().len(), 255);
        for (bad, message) in [
            (json!(""), "externalId: must not be empty"),
            (json!("   "), "externalId: must not be empty"),
            (json!("x".repeat(256)), "externalId: is 256 characters long; at most 255 are allowed"),
            (json!({}), "externalId: expected a string or a number, got an object"),
            (json!(true), "externalId: expected a string or a number, got a boolean"),
        ] {
            let err = ext(bad).unwrap_err();
            assert_eq!(err.message, message);
            assert_eq!(err.field.as_deref(), Some("externalId"));
        }
    }

    #[test]
    fn nulls_are_dropped_on_create_and_kept_as_clears_on_update() {
        let body = json!({"name": null, "domain": "acme.com", "genesy_x": null});
        let rec = parse_new(COMPANY, &body).unwrap();
        assert_eq!(rec.fields, json!({"domain": "acme.com"}).as_object().unwrap().clone());
        assert!(rec.properties.is_empty());
        let upd = parse_update(COMPANY, &json!({"crmId": "co_1", "name": null, "genesy_x": null, "tags": null})).unwrap();
        assert_eq!(upd.fields, json!({"name": null, "tags": null}).as_object().unwrap().clone());
        assert_eq!(upd.properties, json!({"genesy_x": null}).as_object().unwrap().clone());
    }

    #[test]
    fn names_the_crm_owns_are_refused_never_silently_dropped() {
        for (body, field) in [
            (json!({"id": "co_1", "name": "Acme"}), "id"),
            (json!({"crmId": "co_1", "name": "Acme"}), "crmId"),
            (json!({"createdAt": "x", "name": "Acme"}), "createdAt"),
            (json!({"name": "Acme", "properties": {"updatedAt": 5}}), "properties.updatedAt"),
        ] {
            let err = parse_new(COMPANY, &body).unwrap_err();
            assert_eq!((err.code.as_str(), err.field.as_deref()), ("read_only", Some(field)), "{body}");
        }
        // On update, crmId names the record; the others are still the CRM's.
        let upd = parse_update(COMPANY, &json!({"crmId": "co_1", "name": "A"})).unwrap();
        assert_eq!(upd.crm_id, "co_1");
        let err = parse_update(COMPANY, &json!({"crmId": "co_1", "updatedAt": 5})).unwrap_err();
        assert_eq!((err.code.as_str(), err.field.as_deref()), ("read_only", Some("updatedAt")));
    }

    #[test]
    fn values_are_read_leniently() {
        let rec = parse_new(COMPANY, &json!({"tags": "Hot lead, , VIP ", "employeeCount": " 120 ", "foundedYear": "1999", "revenue": "100M-250M"})).unwrap();
        assert_eq!(rec.fields["tags"], json!(["Hot lead", "VIP"]));
        assert_eq!(rec.fields["employeeCount"], json!(120));
        assert_eq!(rec.fields["foundedYear"], json!(1999));
        assert_eq!(rec.fields["revenue"], json!("100M-250M"), "a range stays text");
        let upd = parse_update(COMPANY, &json!({"crmId": "co_1", "tags": "Conversation A"})).unwrap();
        assert_eq!(upd.fields["tags"], json!(["Conversation A"]));
        let contact = parse_new(RecordKind::Contact, &json!({"companyName": "Acme"})).unwrap();
        assert_eq!(contact.fields["company"], json!("Acme"));
        // Still not a number: an error naming the field and what was expected.
        let err = company_err(json!({"employeeCount": "about forty"}));
        assert_eq!(err.field.as_deref(), Some("employeeCount"));
        assert!(err.message.contains("expected a number"), "{}", err.message);
    }

    #[test]
    fn domains_are_stored_clean_and_a_page_is_kept_as_the_website() {
        let rec = parse_new(COMPANY, &json!({"domain": "http://Hooli.com/en/home?utm_source=x"})).unwrap();
        assert_eq!(rec.fields["domain"], json!("hooli.com"));
        assert_eq!(rec.fields["website"], json!("http://Hooli.com/en/home?utm_source=x"));
        let rec = parse_new(COMPANY, &json!({"domain": "https://www.acme.com/x", "website": "https://acme.com"})).unwrap();
        assert_eq!((rec.fields["domain"].as_str(), rec.fields["website"].as_str()), (Some("acme.com"), Some("https://acme.com")));
        let rec = parse_new(COMPANY, &json!({"domain": "WWW.ACME.COM"})).unwrap();
        assert_eq!(rec.fields["domain"], json!("acme.com"));
        assert!(!rec.fields.contains_key("website"), "no path: nothing to keep");
        let contact = parse_new(RecordKind::Contact, &json!({"companyDomain": "https://www.acme.com/team"})).unwrap();
        assert_eq!(contact.fields["companyDomain"], json!("acme.com"));
    }

    #[test]
    fn crm_id_is_required_on_update() {
        for (body, message) in [
            (json!({"name": "x"}), "crmId: is required"),
            (json!({"crmId": null}), "crmId: is required"),
            (json!({"crmId": ""}), "crmId: must not be empty"),
            (json!({"crmId": 5}), "crmId: expected a string, got a number"),
        ] {
            let err = parse_update(COMPANY, &body).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("crmId"));
            assert_eq!(err.message, message);
        }
    }

    #[test]
    fn a_record_must_be_an_object() {
        let err = parse_new(COMPANY, &json!([1])).unwrap_err();
        assert_eq!(err.field, None);
        assert_eq!(err.message, "expected a company object, got an array");
        let err = parse_update(CONTACT, &json!("ct_1")).unwrap_err();
        assert_eq!(err.message, "expected a contact object, got a string");
    }

    #[test]
    fn nested_properties_merge_under_the_top_level() {
        let body = json!({
            "name": "Top",
            "score": 1,
            "properties": {"score": 2, "tier": "gold", "industry": "Tech", "name": "Nested", "externalId": "x",
                "properties": {"a": 1}}
        });
        let rec = parse_new(COMPANY, &body).unwrap();
        assert_eq!(rec.fields, json!({"name": "Top", "industry": "Tech"}).as_object().unwrap().clone());
        assert_eq!(rec.properties, json!({"score": 1, "tier": "gold"}).as_object().unwrap().clone());
        assert_eq!(rec.external_id, None);
        // A top-level null overrides a nested value.
        let rec = parse_new(COMPANY, &json!({"tier": null, "properties": {"tier": "gold"}})).unwrap();
        assert!(rec.properties.is_empty());
        // Errors inside name their place.
        let err = company_err(json!({"properties": {"employeeCount": {}}}));
        assert_eq!(err.field.as_deref(), Some("properties.employeeCount"));
        assert_eq!(err.message, "properties.employeeCount: expected a number, got an object");
        let err = company_err(json!({"properties": "x"}));
        assert_eq!(err.message, "properties: expected an object, got a string");
        assert!(parse_new(COMPANY, &json!({"properties": null})).unwrap().properties.is_empty());
        let upd = parse_update(CONTACT, &json!({"crmId": "ct_1", "properties": {"x": null}})).unwrap();
        assert_eq!(upd.properties["x"], Value::Null);
    }

    #[test]
    fn errors_become_details_under_the_item_path() {
        let err = company_err(json!({"employeeCount": {}}));
        let d = err.detail("companies[3]");
        assert_eq!(d.path, "companies[3].employeeCount");
        assert_eq!(d.message, "employeeCount: expected a number, got an object");
        let err = company_err(json!(5));
        assert_eq!(err.detail("companies[0]").path, "companies[0]");
    }
}
#[cfg(test)]
mod probe {
    use super::*;
    use serde_json::json;
    #[test]
    fn probe() {
        for v in [json!({"crmId": "x", "employeeCount": "120"}), json!({"crmId": "x", "tags": "a, b"}), json!({"crmId": "x", "employeeCount": "1,200"}), json!({"crmId":"x","foundedYear":"1999"})] {
            println!("{v} -> {:?}", parse_update(RecordKind::Company, &v).map(|u| u.fields));
        }
    }
}
