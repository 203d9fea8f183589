//! Exports (API.md §4): a list as CSV (RFC 4180, UTF-8, one header row of field names) or as
//! NDJSON (one record a line, as the JSON API answers it), written a page at a time.
//!
//! A CSV cell is the field's value as text: a string as it is, a number or boolean as written, a
//! list of plain values joined by `, ` (as an import reads it back), anything else as JSON; the
//! record's custom properties are one JSON cell. A cell that a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'` (OWASP's
//! advice against CSV injection), and a cell holding a comma, a quote or a line break is quoted,
//! quotes doubled. Rows end with CRLF.

use serde_json::Value;

use super::list::Format;
use super::record::{RecordKind, EXTERNAL_ID};

/// The columns of a contact or company export: ids, every core field, the dates, the custom
/// properties.
pub fn record_columns(kind: RecordKind) -> Vec<&'static str> {
    let mut columns = vec!["id", EXTERNAL_ID];
    columns.extend(kind.fields().iter().map(|f| f.name).filter(|n| *n != EXTERNAL_ID));
    columns.extend(["lastActivityDate", "createdAt", "updatedAt", "properties"]);
    columns
}

/// The columns of a task export.
pub const TASK_COLUMNS: [&str; 16] = [
    "id", "externalId", "subject", "description", "type", "priority", "status", "ownerId", "dueDate", "contactId", "companyId",
    "completed", "completedAt", "createdAt", "updatedAt", "properties",
];

/// A value as one cell's text.
fn cell_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) if o.is_empty() => String::new(),
        Some(Value::Array(items)) if items.iter().all(|v| v.is_string() || v.is_number() || v.is_boolean()) => {
            items.iter().map(|v| cell_text(Some(v))).collect::<Vec<_>>().join(", ")
        }
        Some(Value::Array(items)) if items.is_empty() => String::new(),
        Some(other @ (Value::Number(_) | Value::Bool(_))) => other.to_string(),
        Some(other) => other.to_string(),
    }
}

/// One cell, neutralised and quoted as needed.
pub fn csv_cell(text: &str, out: &mut String) {
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = text.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in text.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

/// The header row.
pub fn csv_header(columns: &[&str]) -> String {
    let mut out = String::new();
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_cell(c, &mut out);
    }
    out.push_str("\r\n");
    out
}

/// A record as the JSON API answers it (its wire form), as one CSV row of `columns`.
pub fn csv_row(wire: &Value, columns: &[&str], out: &mut String) {
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_cell(&cell_text(wire.get(*c)), out);
    }
    out.push_str("\r\n");
}

/// Rows of wire records in `format` (CSV without its header, or NDJSON).
pub fn rows(format: Format, wires: &[Value], columns: &[&str]) -> String {
    let mut out = String::new();
    for wire in wires {
        match format {
            Format::Csv => csv_row(wire, columns, &mut out),
            Format::Ndjson | Format::Json => {
                out.push_str(&wire.to_string());
                out.push('\n');
            }
        }
    }
    out
}

/// The response's content type and its file name (`contacts.csv`).
pub fn content(format: Format, name: &str) -> (&'static str, String) {
    match format {
        Format::Csv => ("text/csv; charset=utf-8", format!("{name}.csv")),
        Format::Ndjson | Format::Json => ("application/x-ndjson; charset=utf-8", format!("{name}.ndjson")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cell(text: &str) -> String {
        let mut out = String::new();
        csv_cell(text, &mut out);
        out
    }

    #[test]
    fn cells_are_quoted_when_they_must_be() {
        assert_eq!(cell("Acme"), "Acme");
        assert_eq!(cell("Acme, Inc."), "\"Acme, Inc.\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("cr\r"), "\"cr\r\"");
        assert_eq!(cell(""), "");
        assert_eq!(cell("José Núñez"), "José Núñez");
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(cell("+34 600"), "'+34 600");
        assert_eq!(cell("-5"), "'-5");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("\rx"), "\"'\rx\"");
        assert_eq!(cell("a=b"), "a=b");
    }

    #[test]
    fn values_read_as_cells() {
        assert_eq!(cell_text(Some(&json!(12.5))), "12.5");
        assert_eq!(cell_text(Some(&json!(false))), "false");
        assert_eq!(cell_text(Some(&json!(null))), "");
        assert_eq!(cell_text(None), "");
        assert_eq!(cell_text(Some(&json!(["rust", "go"]))), "rust, go");
        assert_eq!(cell_text(Some(&json!({"tier": "gold"}))), r#"{"tier":"gold"}"#);
        assert_eq!(cell_text(Some(&json!({}))), "");
    }

    #[test]
    fn a_record_is_a_row_of_its_columns() {
        let columns = record_columns(RecordKind::Contact);
        assert_eq!(&columns[..3], &["id", "externalId", "firstName"]);
        assert_eq!(columns.last(), Some(&"properties"));
        assert_eq!(columns.iter().filter(|c| **c == "externalId").count(), 1);
        let header = csv_header(&columns);
        assert!(header.starts_with("id,externalId,firstName,lastName,email,") && header.ends_with("createdAt,updatedAt,properties\r\n"), "{header}");
        let wire = json!({"id": "ct_1", "externalId": null, "firstName": "Ana, \"A\"", "email": "=cmd", "properties": {"n": 1}});
        let mut out = String::new();
        csv_row(&wire, &["id", "externalId", "firstName", "email", "properties"], &mut out);
        assert_eq!(out, "ct_1,,\"Ana, \"\"A\"\"\",'=cmd,\"{\"\"n\"\":1}\"\r\n");
    }

    #[test]
    fn ndjson_is_a_record_a_line() {
        let text = rows(Format::Ndjson, &[json!({"id": "a"}), json!({"id": "b\nc"})], &[]);
        assert_eq!(text, "{\"id\":\"a\"}\n{\"id\":\"b\\nc\"}\n");
        assert_eq!(content(Format::Csv, "contacts"), ("text/csv; charset=utf-8", "contacts.csv".to_string()));
    }
}
