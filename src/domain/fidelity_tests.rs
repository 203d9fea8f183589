//! Fidelity of the lazy, chunked batch path (`request::LazyBatch`, `chunk::AnswerText`,
//! `chunk::ArrayText`) against the small-body path, and of a value's way in and back out: parsed
//! from the body, checked by `record::parse_new`, bound to D1 as JSON text, decoded from the
//! stored JSON text, answered by `record::to_wire`. The rule: the two paths agree, and a value
//! stored reads back the same, or is refused with a 400 naming the field, never silently changed.

use serde_json::{json, Map, Value};

use crate::domain::chunk::{item_size, join_answers, plan_chunks, AnswerText, ArrayText, RECORD_CHUNKS};
use crate::domain::record::{parse_new, to_wire, RecordKind};
use crate::domain::request::{batch_items, lazy_item, parse_batch_body, parse_json_body};

const MAX: usize = 10 * 1024 * 1024;

/// The items of a body as the small path reads them (the whole body as one `Value`) and as the
/// lazy path reads them (each item parsed alone from its byte range), with their sizes; panics
/// when the two disagree. `None` when the body is refused (by both, with the same answer).
fn items_both_ways(body: &[u8], key: &str) -> Option<Vec<Value>> {
    let shown = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    let whole = parse_json_body(body, MAX);
    let lazy = parse_batch_body(body, MAX, key, 0);
    match (whole, lazy) {
        (Err(a), Err(b)) => {
            assert_eq!((a.status(), a.message("r")), (b.status(), b.message("r")), "{shown}");
            None
        }
        (Ok(whole), Ok(Err(fallback))) => {
            assert_eq!(whole, fallback, "{shown}");
            batch_items(&whole, key, usize::MAX).ok().map(<[Value]>::to_vec)
        }
        (Ok(whole), Ok(Ok(batch))) => {
            let items = batch_items(&whole, key, usize::MAX).expect("a lazy batch is a batch").to_vec();
            assert_eq!(items.len(), batch.items.len(), "{shown}");
            let sizes: Vec<usize> = items.iter().map(item_size).collect();
            assert_eq!(sizes, batch.sizes, "{shown}");
            assert_eq!(plan_chunks(&sizes, RECORD_CHUNKS), plan_chunks(&batch.sizes, RECORD_CHUNKS), "{shown}");
            for (i, item) in items.iter().enumerate() {
                assert_eq!(&lazy_item(body, &batch.items[i]), item, "item {i} of {shown}");
            }
            Some(items)
        }
        (a, b) => panic!("{shown}: whole {a:?}, lazy {b:?}"),
    }
}

/// A company sent as `item` (its JSON text), taken both ways, parsed, stored as the store binds
/// it (JSON text), decoded as `store::d1` decodes the stored columns, and answered as the read
/// routes answer it: the answer's JSON text, or `Err` when the body or the item is refused.
fn company_read_back(item: &str) -> Result<String, String> {
    let body = format!(r#"{{"companies": [{item}]}}"#);
    let items = items_both_ways(body.as_bytes(), "companies").ok_or("body refused")?;
    let record = parse_new(RecordKind::Company, &items[0]).map_err(|e| e.message.clone())?;
    let bound = serde_json::to_string(&json!({"fields": record.fields, "properties": record.properties})).unwrap();
    let stored: Value = serde_json::from_str(&bound).unwrap();
    let fields: Map<String, Value> = stored["fields"].as_object().unwrap().clone();
    let properties: Map<String, Value> = stored["properties"].as_object().unwrap().clone();
    let wire = to_wire(RecordKind::Company, "co_1", record.external_id.as_deref(), &fields, &properties, "t", "t");
    Ok(serde_json::to_string(&wire).unwrap())
}

// ---------------------------------------------------------------------------------------------
// Numbers and names, on both paths alike.

/// A JavaScript client sends a double as its shortest round-trip text (`JSON.stringify`); it reads
/// back as the same double (serde_json's `float_roundtrip`: without it about one double in ten
/// in [0, 1000) came back as its neighbour).
#[test]
fn a_double_sent_in_its_shortest_form_reads_back_as_the_same_double() {
    for sent in ["906.5098822821003", "985.6906946328695", "92.42132512813595", "972.6104788033849", "0.1", "5e-324", "1.7976931348623157e308"] {
        let exact: f64 = sent.parse().unwrap();
        let answer = company_read_back(&format!(r#"{{"name": "Acme", "score": {sent}}}"#)).expect("accepted");
        let back: Value = serde_json::from_str(&answer).unwrap();
        let read = back["properties"]["score"].clone();
        // Read as a client reads it (exactly), not through the same parser.
        let read_exact: f64 = read.to_string().parse().unwrap();
        assert_eq!(read_exact.to_bits(), exact.to_bits(), "sent {sent}, read back {read}");
    }
}

/// JSON numbers are kept as 64-bit integers when they are whole and fit, else as doubles (the
/// numbers JSON's parsers agree on): an integer beyond 64 bits reads back as the nearest double,
/// the very value a JavaScript client holds for it, and a number below the smallest double as 0,
/// as JavaScript reads it; one beyond the largest double is refused.
#[test]
fn numbers_beyond_64_bit_integers_are_doubles_as_javascript_reads_them() {
    for (sent, as_js_reads_it) in [("18446744073709551616", 18446744073709551616f64), ("-9223372036854775809", -9223372036854775809f64), ("1e-400", 0.0)] {
        let answer = company_read_back(&format!(r#"{{"name": "Acme", "n": {sent}}}"#)).expect("accepted");
        let back: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(back["properties"]["n"].as_f64().map(f64::to_bits), Some(as_js_reads_it.to_bits()), "{sent}: {answer}");
    }
    assert!(company_read_back(r#"{"name": "Acme", "n": 18446744073709551615}"#).unwrap().contains(r#""n":18446744073709551615"#), "u64::MAX exactly");
    assert!(company_read_back(r#"{"name": "Acme", "big": 1e400}"#).is_err());
}

/// A numeric externalId JSON's doubles cannot hold exactly is refused, naming the field: kept as a
/// double's text, two different ids would become one and the second create would link to the
/// first record. Whole numbers that fit 64 bits are kept exactly.
#[test]
fn a_numeric_external_id_is_kept_exactly_or_refused() {
    let body = br#"{"companies": [{"name": "A", "externalId": 18446744073709551616}, {"name": "B", "externalId": 18446744073709551617}, {"name": "C", "externalId": 9007199254740993}, {"name": "D", "externalId": 12.5}]}"#;
    let items = items_both_ways(body, "companies").expect("parsed");
    for item in &items[..2] {
        let e = parse_new(RecordKind::Company, item).expect_err("beyond 64 bits");
        assert_eq!(e.field.as_deref(), Some("externalId"));
        assert!(e.message.contains("send it as a string"), "{}", e.message);
    }
    assert_eq!(parse_new(RecordKind::Company, &items[2]).unwrap().external_id.as_deref(), Some("9007199254740993"), "fits 64 bits: exact");
    assert_eq!(parse_new(RecordKind::Company, &items[3]).unwrap().external_id.as_deref(), Some("12.5"));
}

/// A core name inside the nested `properties` object is that core field: so is
/// `properties.lastActivityDate` (the top level wins over it), and its error names it as sent.
#[test]
fn a_nested_last_activity_date_is_the_records_date() {
    let item = json!({"name": "Acme", "properties": {"lastActivityDate": "2024-05-01T10:00:00Z", "score": 1}});
    let record = parse_new(RecordKind::Company, &item).unwrap();
    assert_eq!(record.properties.get("score"), Some(&json!(1)));
    assert!(!record.properties.contains_key("lastActivityDate"));
    assert_eq!(record.last_activity.as_deref(), Some("2024-05-01T10:00:00.000Z"));
    let both = json!({"lastActivityDate": "2024-06-01T00:00:00Z", "properties": {"lastActivityDate": "2024-05-01T10:00:00Z"}});
    assert_eq!(parse_new(RecordKind::Company, &both).unwrap().last_activity.as_deref(), Some("2024-06-01T00:00:00.000Z"));
    let bad = parse_new(RecordKind::Company, &json!({"properties": {"lastActivityDate": "yesterday"}})).unwrap_err();
    assert_eq!(bad.field.as_deref(), Some("properties.lastActivityDate"), "{bad:?}");
}

/// A contact's `companyName` is another name for `company`: sent both with different values at
/// one level, one would be lost, so the item is refused naming `companyName`; the same value
/// twice, or one level over the other (the top level wins), is taken.
#[test]
fn a_contact_sent_two_different_company_names_is_refused() {
    for item in [json!({"company": "Acme", "companyName": "Beta"}), json!({"properties": {"company": "Acme", "companyName": "Beta"}})] {
        let e = parse_new(RecordKind::Contact, &item).unwrap_err();
        assert!(e.field.as_deref().is_some_and(|f| f.ends_with("companyName")), "{e:?}");
    }
    let same = parse_new(RecordKind::Contact, &json!({"company": "Acme", "companyName": "Acme"})).unwrap();
    assert_eq!(same.fields["company"], "Acme");
    let over = parse_new(RecordKind::Contact, &json!({"companyName": "Beta", "properties": {"company": "Acme"}})).unwrap();
    assert_eq!(over.fields["company"], "Beta");
    assert!(parse_new(RecordKind::Company, &json!({"name": "Acme", "companyName": "Beta"})).is_ok(), "a company's companyName is a property");
}

// ---------------------------------------------------------------------------------------------
// Passing: the lazy path and the text answers agree with the small path.

/// Escapes, raw and escaped U+2028/2029, `\/`, control characters, surrogate pairs, 4-byte UTF-8,
/// duplicate keys, numbers in every form, nested values, items that are not objects, whitespace
/// of every kind: each item read alone from its byte range is the item of the whole body, with the
/// same size and chunks; and bodies the whole parse refuses are refused the same way.
#[test]
fn the_lazy_reading_gives_the_items_of_the_whole_body() {
    let bodies: Vec<Vec<u8>> = vec![
        br#"{"companies": []}"#.to_vec(),
        "{\"companies\":\t[\r\n{\"name\":\"a\\/b\\u2028\u{2028}\u{2029}\\u0000\\u001f\\b\\f\\n\\r\\t\\\"\\\\\"}\n]\r\n}\n".as_bytes().to_vec(),
        r#"{"companies": [{"name": "\ud83d\ude00😀𝄞", "dup": 1, "dup": 2, "dup": {"x": [1]}}, 7, "s", null, true, [], [{}]]}"#.as_bytes().to_vec(),
        br#"{"companies": [{"n": [0, -0, 1.0, 1e2, 1E+2, -1.5e-3, 9007199254740993, 18446744073709551615, 18446744073709551616, 1e-400, 0.30000000000000004]}]}"#.to_vec(),
        br#"{"other": {"companies": [1]}, "companies": [{"properties": {"a": {"b": [{"c": null}]}}}], "more": [1, "x"]}"#.to_vec(),
        b"\xEF\xBB\xBF{\"companies\": [{\"name\": \"bom\"}]}".to_vec(),
        br#"{"companies": [{"name": "A"}], "companies": [{"name": "B"}]}"#.to_vec(),
        br#"{"companies": [{"name": "\udc00"}]}"#.to_vec(),
        br#"{"companies": [{"name": "x"}] "#.to_vec(),
        b"{\"companies\": [{\"name\": \"\x7f\xc3\xa9\"}]}".to_vec(),
    ];
    for body in &bodies {
        items_both_ways(body, "companies");
    }
    // A body over the lazy threshold, items of 4-byte characters and escapes, ranges ending and
    // starting next to multi-byte characters.
    let mut body = String::from("{\"companies\":[");
    for i in 0..6000 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            "{{\"name\":\"{}\",\"p\":\"\\ud83d\\ude00\\u2028{}\",\"n\":{}}}",
            "😀".repeat(i % 97),
            "é".repeat(i % 13),
            i as f64 * 1.1
        ));
    }
    body.push_str("]}");
    assert!(body.len() >= crate::domain::request::LAZY_FROM_BYTES);
    let items = items_both_ways(body.as_bytes(), "companies").expect("parsed");
    assert_eq!(items.len(), 6000);
    assert_eq!(items[5999]["n"], json!(5999.0 * 1.1));
}

/// The text answers are byte for byte the serialised `Value`s, whatever the characters and
/// numbers they hold, and error indexes are shifted by each chunk's offset.
#[test]
fn text_answers_keep_every_character_and_number() {
    let tricky = json!({
        "s": "\u{2028}\u{2029}/\u{0}\u{1f}\u{7f}\"\\😀𝄞é",
        "n": [0, -0.0, 1.0, 1e21, 5e-324, 18446744073709551615u64, -9223372036854775808i64],
        "nested": {"b": [null, true, {"a": []}], "a": {}},
    });
    let parts = vec![
        (0, json!({"results": [tricky.clone()], "errors": [{"index": 1, "code": "invalid", "field": "s", "externalId": tricky["s"]}]})),
        (1000, json!({"results": [], "errors": [{"index": 0, "code": "invalid"}, {"index": 999, "code": "invalid"}]})),
        (2000, json!({"results": [tricky.clone(), tricky.clone()], "errors": []})),
    ];
    let mut text = AnswerText::default();
    for (offset, answer) in parts.clone() {
        text.push(offset, answer);
    }
    let joined = join_answers(parts);
    let indexes: Vec<u64> = joined["errors"].as_array().unwrap().iter().map(|e| e["index"].as_u64().unwrap()).collect();
    assert_eq!(indexes, vec![1, 1000, 1999]);
    assert_eq!(text.finish(), serde_json::to_string(&joined).unwrap());

    let items = vec![tricky.clone(), json!("\u{2028}"), json!(null), tricky];
    let mut array = ArrayText::default();
    array.extend(items[..1].iter().cloned());
    array.extend(items[1..].iter().cloned());
    let written = array.finish();
    assert_eq!(written, serde_json::to_string(&items).unwrap());
    assert_eq!(serde_json::from_str::<Value>(&written).unwrap(), Value::Array(items));
}
