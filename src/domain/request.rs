//! Reading a request body: content type, size and JSON shape, each with its own status and a
//! sentence that says what was wrong.

use std::ops::Range;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use super::error::{ApiError, Detail};

/// `415` unless the content type is JSON (`application/json`, with or without parameters such as
/// `charset=utf-8`, or any `application/*+json`).
pub fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let media = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let is_json = media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"));
    if is_json {
        Ok(())
    } else if media.is_empty() {
        Err(ApiError::UnsupportedMediaType("missing Content-Type: send the body as application/json".into()))
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "unsupported Content-Type {media:?}: send the body as application/json"
        )))
    }
}

/// `415` unless the content type is CSV (`text/csv`, `application/csv`, or `text/plain`, with or
/// without parameters such as `charset=utf-8`): the body of `POST /{kind}/import`.
pub fn check_csv_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let media = content_type.and_then(|ct| ct.split(';').next()).map(|m| m.trim().to_ascii_lowercase()).unwrap_or_default();
    match media.as_str() {
        "text/csv" | "application/csv" | "text/plain" => Ok(()),
        "" => Err(ApiError::UnsupportedMediaType("missing Content-Type: send the file as text/csv".into())),
        other => Err(ApiError::UnsupportedMediaType(format!("unsupported Content-Type {other:?}: send the file as text/csv"))),
    }
}

/// A CSV body already read, as text: `413` past the limit, `400` when it is not UTF-8 (the byte
/// order mark is taken off).
pub fn csv_body(mut bytes: Vec<u8>, max_bytes: usize) -> Result<String, ApiError> {
    if bytes.len() > max_bytes {
        return Err(too_large(max_bytes));
    }
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        ApiError::bad_request(crate::domain::import::FileError::NotUtf8 { line }.to_string())
    })
}

fn too_large(max_bytes: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!("request body is larger than {max_bytes} bytes (MAX_BODY_BYTES)"))
}

/// `413` early, from the declared length, before the body is read.
pub fn check_declared_length(content_length: Option<&str>, max_bytes: usize) -> Result<(), ApiError> {
    match content_length.and_then(|v| v.trim().parse::<u64>().ok()) {
        Some(n) if n > max_bytes as u64 => Err(too_large(max_bytes)),
        _ => Ok(()),
    }
}

/// Parses a body already read: `413` past the limit (a chunked body declares no length), `400`
/// for anything that is not one JSON value.
pub fn parse_json_body(bytes: &[u8], max_bytes: usize) -> Result<Value, ApiError> {
    if bytes.len() > max_bytes {
        return Err(too_large(max_bytes));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("request body is empty: send a JSON object"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "request body is not valid JSON: {} at line {}, column {}",
            describe_json_error(&e),
            e.line(),
            e.column()
        ))
    })
}

fn describe_json_error(e: &serde_json::Error) -> String {
    // serde_json's message ends with " at line L column C"; the position is added back above in
    // the same words as every other message.
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A batch body read without holding it as one `Value`: where each item of the batch array is in
/// the body, and its size as the chunk budget counts it (compact JSON, `chunk::item_size`). The
/// handler parses the items of one chunk at a time from the body's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LazyBatch {
    pub items: Vec<Range<usize>>,
    pub sizes: Vec<usize>,
}

/// A body at least this large is read as a [`LazyBatch`] where it can be: below it, the whole
/// body as one `Value` is small, and reading it once costs less time.
pub const LAZY_FROM_BYTES: usize = 1024 * 1024;

/// Deeper items (or other values at the top level) leave the body to [`parse_json_body`]: read
/// alone, a value may nest deeper than serde_json accepts inside the whole body.
const LAZY_MAX_DEPTH: usize = 100;

/// The body of a batch route (`{"<key>": [...]}`): checked as [`parse_json_body`] checks it, then,
/// when it is at least `lazy_from` bytes, read as a [`LazyBatch`]. Every item and every other
/// value is parsed once here (and dropped) so a body the whole-body parse would refuse is refused
/// before anything is written, with the same answer: whenever the lazy reading is not sure (the
/// body is not an object with exactly one `<key>` array, a value does not parse, nests deep), the
/// body is parsed whole, as before, and its answer (`Err`, or a `Value` for `batch_items` to
/// refuse or serve) is the old one.
pub fn parse_batch_body(bytes: &[u8], max_bytes: usize, key: &str, lazy_from: usize) -> Result<Result<LazyBatch, Value>, ApiError> {
    if bytes.len() > max_bytes {
        return Err(too_large(max_bytes));
    }
    if bytes.len() >= lazy_from {
        if let Some(batch) = lazy_batch(bytes, key) {
            return Ok(Ok(batch));
        }
    }
    parse_json_body(bytes, max_bytes).map(Err)
}

/// The top-level entries of a batch body: the batch's items and every other value, each as its
/// text in the body. A `<key>` that is not an array fails the reading (the whole-body parse then
/// answers), and so does a second `<key>`.
struct Entries<'a> {
    items: Option<Vec<&'a RawValue>>,
    others: Vec<&'a RawValue>,
}

struct EntriesOf<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for EntriesOf<'_> {
    type Value = Entries<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Entries<'de>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntriesOf<'_> {
    type Value = Entries<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
        let mut entries = Entries { items: None, others: Vec::new() };
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if name == self.0 {
                if entries.items.is_some() {
                    return Err(serde::de::Error::custom("the batch key twice"));
                }
                entries.items = Some(map.next_value()?);
            } else {
                entries.others.push(map.next_value()?);
            }
        }
        Ok(entries)
    }
}

/// `None` whenever the body is not plainly `{"<key>": [...]}` with every value valid.
fn lazy_batch(bytes: &[u8], key: &str) -> Option<LazyBatch> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let entries = EntriesOf(key).deserialize(&mut deserializer).ok()?;
    deserializer.end().ok()?;
    for other in entries.others {
        check_value(other.get())?;
    }
    let items = entries.items?;
    let start = bytes.as_ptr() as usize;
    let mut batch = LazyBatch { items: Vec::with_capacity(items.len()), sizes: Vec::with_capacity(items.len()) };
    for raw in items {
        let text = raw.get();
        batch.sizes.push(check_value(text)?);
        let at = text.as_ptr() as usize - start;
        batch.items.push(at..at + text.len());
    }
    Some(batch)
}

/// The compact size of a value read alone, if it parses and nests at most [`LAZY_MAX_DEPTH`].
fn check_value(text: &str) -> Option<usize> {
    let value: Value = serde_json::from_str(text).ok()?;
    (depth(&value, LAZY_MAX_DEPTH) <= LAZY_MAX_DEPTH).then(|| crate::domain::chunk::item_size(&value))
}

/// How deep `value` nests (a scalar 0, `[]` 1), counted up to `limit + 1` at most.
fn depth(value: &Value, limit: usize) -> usize {
    let children: Box<dyn Iterator<Item = &Value>> = match value {
        Value::Array(items) => Box::new(items.iter()),
        Value::Object(map) => Box::new(map.values()),
        _ => return 0,
    };
    if limit == 0 {
        return 1;
    }
    let mut deepest = 0;
    for child in children {
        deepest = deepest.max(depth(child, limit - 1));
        if deepest >= limit {
            break;
        }
    }
    1 + deepest
}

/// One item of a [`LazyBatch`], parsed from the body it was read from.
pub fn lazy_item(bytes: &[u8], at: &Range<usize>) -> Value {
    serde_json::from_slice(&bytes[at.clone()]).expect("an item of a LazyBatch was parsed when the body was read")
}

/// `413` over `max_batch` items, in `batch_items`' words.
pub fn check_batch_len(key: &str, len: usize, max_batch: usize) -> Result<(), ApiError> {
    if len > max_batch {
        return Err(ApiError::PayloadTooLarge(format!(
            "{key} has {len} records; at most {max_batch} are accepted in one request (MAX_BATCH)"
        )));
    }
    Ok(())
}

/// The value of `field` in each item, as sent (`null` where absent): what the answer echoes to
/// locate an item (`externalId`, `crmId`).
pub fn sent(items: &[Value], field: &str) -> Vec<Value> {
    items.iter().map(|item| item.get(field).cloned().unwrap_or(Value::Null)).collect()
}

/// The ids of a `{"ids": [...]}` body, each a string: `400` naming every `ids[i]` that is not.
pub fn batch_ids(body: &Value, max_batch: usize) -> Result<Vec<String>, ApiError> {
    let ids = batch_items(body, "ids", max_batch)?;
    let mut details = Vec::new();
    let mut out = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match id.as_str() {
            Some(s) => out.push(s.to_string()),
            None => details.push(Detail::new(format!("ids[{i}]"), format!("expected a string, got {}", json_type(id)))),
        }
    }
    if !details.is_empty() {
        return Err(ApiError::invalid("ids must be strings", details));
    }
    Ok(out)
}

/// The records array of a batch body such as `{"companies": [...]}`: `400` when the body is not
/// an object or the key is missing or not an array, `413` over `max_batch` records.
pub fn batch_items<'a>(body: &'a Value, key: &str, max_batch: usize) -> Result<&'a [Value], ApiError> {
    let shape = || format!("request body must be an object with a {key:?} array");
    let object = body.as_object().ok_or_else(|| {
        ApiError::invalid(shape(), vec![Detail::new("", format!("expected an object, got {}", json_type(body)))])
    })?;
    let items = match object.get(key) {
        None => return Err(ApiError::invalid(shape(), vec![Detail::new(key, "is required")])),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ApiError::invalid(
                shape(),
                vec![Detail::new(key, format!("expected an array, got {}", json_type(other)))],
            ))
        }
    };
    check_batch_len(key, items.len(), max_batch)?;
    Ok(items)
}

/// The JSON type of a value, in the words error messages use.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_content_types_pass() {
        for ct in ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"] {
            assert!(check_content_type(Some(ct)).is_ok(), "{ct}");
        }
    }

    #[test]
    fn other_content_types_are_415() {
        for ct in [None, Some(""), Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data; boundary=x"), Some("application/jsonx")] {
            assert_eq!(check_content_type(ct).unwrap_err().status(), 415, "{ct:?}");
        }
    }

    #[test]
    fn csv_content_types_pass_and_others_are_415() {
        for ct in ["text/csv", "text/csv; charset=utf-8", "TEXT/CSV", "application/csv", "text/plain"] {
            assert!(check_csv_content_type(Some(ct)).is_ok(), "{ct}");
        }
        for ct in [None, Some("application/json"), Some("multipart/form-data; boundary=x")] {
            assert_eq!(check_csv_content_type(ct).unwrap_err().status(), 415, "{ct:?}");
        }
    }

    #[test]
    fn a_csv_body_is_text_without_its_bom() {
        assert_eq!(csv_body(b"\xEF\xBB\xBFa,b\n".to_vec(), 100).unwrap(), "a,b\n");
        assert_eq!(csv_body(vec![b'a'; 101], 100).unwrap_err().status(), 413);
        let e = csv_body(b"a,b\n1,\xff\n".to_vec(), 100).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.message("r").contains("line 2"), "{}", e.message("r"));
    }

    #[test]
    fn declared_length_over_the_limit_is_413() {
        assert!(check_declared_length(Some("100"), 100).is_ok());
        assert_eq!(check_declared_length(Some("101"), 100).unwrap_err().status(), 413);
        assert!(check_declared_length(None, 100).is_ok());
        assert!(check_declared_length(Some("nonsense"), 100).is_ok());
    }

    #[test]
    fn body_is_parsed_or_refused() {
        assert_eq!(parse_json_body(br#"{"a":1}"#, 100).unwrap(), json!({"a": 1}));
        assert_eq!(parse_json_body(&[b' '; 101], 100).unwrap_err().status(), 413);
        let err = parse_json_body(b"{\"a\":", 100).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.message("r").contains("line 1"), "{}", err.message("r"));
        assert_eq!(parse_json_body(b"  ", 100).unwrap_err().status(), 400);
        assert_eq!(parse_json_body(&[0xff, 0xfe], 100).unwrap_err().status(), 400);
    }

    #[test]
    fn deep_nesting_is_a_400_not_a_crash() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(parse_json_body(deep.as_bytes(), 1 << 20).unwrap_err().status(), 400);
    }

    /// What the lazy reading answers is what the whole-body parse answers: the same error, or the
    /// same items with their compact sizes. True when the body was read lazily.
    fn same_as_whole(body: &[u8]) -> bool {
        let whole = parse_json_body(body, 1 << 20);
        let lazy = parse_batch_body(body, 1 << 20, "companies", 0);
        let shown = String::from_utf8_lossy(body);
        match (whole, lazy) {
            (Err(a), Err(b)) => {
                assert_eq!((a.status(), a.message("r")), (b.status(), b.message("r")), "{shown}");
                false
            }
            (Ok(a), Ok(Err(b))) => {
                assert_eq!(a, b, "{shown}");
                false
            }
            (Ok(whole), Ok(Ok(batch))) => {
                let items = batch_items(&whole, "companies", usize::MAX).expect("a lazy batch is a batch");
                assert_eq!(items.len(), batch.items.len(), "{shown}");
                for (i, item) in items.iter().enumerate() {
                    assert_eq!(&lazy_item(body, &batch.items[i]), item, "{shown}");
                    assert_eq!(batch.sizes[i], crate::domain::chunk::item_size(item), "{shown}");
                }
                true
            }
            (a, b) => panic!("{shown}: whole {a:?}, lazy {b:?}"),
        }
    }

    #[test]
    fn a_large_batch_is_read_lazily_with_the_same_items_and_errors() {
        let nested = |n: usize| "[".repeat(n) + &"]".repeat(n);
        let lazy: Vec<String> = vec![
            r#"{"companies": []}"#.into(),
            r#"{"companies": [{"name": "A", "n": 1.5e3, "x": [1, {"y": null}]}, 5, "s", null, {"externalId": 12}]}"#.into(),
            "  {\n  \"companies\" : [ { \"name\" : \"Pretty\" ,\n \"tags\": [ \"a\" ] } ] ,\n \"other\": {\"k\": [1,2]} }  ".into(),
            r#"{"compan\u0069es": [{"name": "\u00e9\ud83d\ude00", "f": 0.30000000000000004, "g": -0, "h": 123456789012345678901234567890}]}"#.into(),
            format!(r#"{{"companies": [{{"deep": {}}}]}}"#, nested(90)),
        ];
        for body in &lazy {
            assert!(same_as_whole(body.as_bytes()), "read lazily: {body}");
        }
        let whole: Vec<Vec<u8>> = vec![
            br#"[{"name": "A"}]"#.to_vec(),
            br#"{"contacts": []}"#.to_vec(),
            br#"{"companies": {}}"#.to_vec(),
            br#"{"companies": null}"#.to_vec(),
            br#"{"companies": [], "companies": [{"name": "B"}]}"#.to_vec(),
            br#"{"companies": [{"name": "A"}, {"name": }]}"#.to_vec(),
            br#"{"companies": [{"name": "A"}]} x"#.to_vec(),
            br#"{"companies": [{"n": 1e400}]}"#.to_vec(),
            br#"{"companies": [], "other": 1e400}"#.to_vec(),
            br#"{"companies": [{"name": "\ud800"}]}"#.to_vec(),
            br#"{"companies": [{"name": "\ud800\u0041"}]}"#.to_vec(),
            b"{\"companies\": [{\"name\": \"a\xff\"}, {\"b\": 1}]}".to_vec(),
            b"{\"companies\": [{\"name\": \"a\x01\"}]}".to_vec(),
            b"{\"companies\": [{\"name\": \"a\"}]}\xff".to_vec(),
            format!(r#"{{"companies": [{{"deep": {}}}]}}"#, nested(110)).into_bytes(),
            format!(r#"{{"companies": [{}]}}"#, nested(127)).into_bytes(),
            format!(r#"{{"companies": [{}]}}"#, nested(200)).into_bytes(),
            format!(r#"{{"companies": [], "other": {}}}"#, nested(126)).into_bytes(),
            br#"{"companies": [1, 2"#.to_vec(),
        ];
        for body in &whole {
            assert!(!same_as_whole(body), "parsed whole: {}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn a_small_body_is_parsed_whole_and_limits_come_first() {
        let body = br#"{"companies": [{"name": "A"}]}"#;
        assert!(matches!(parse_batch_body(body, 100, "companies", 1 << 20), Ok(Err(_))));
        assert!(matches!(parse_batch_body(body, 100, "companies", 0), Ok(Ok(_))));
        assert_eq!(parse_batch_body(body, 10, "companies", 0).unwrap_err().status(), 413);
        assert_eq!(parse_batch_body(b"   ", 10, "companies", 0).unwrap_err().status(), 400);
        let whole = batch_items(&json!({"companies": [1, 2, 3]}), "companies", 2).unwrap_err();
        assert_eq!(check_batch_len("companies", 3, 2).unwrap_err().message("r"), whole.message("r"));
    }

    #[test]
    fn batch_shape_is_checked() {
        let ok = json!({"companies": [{}, {}]});
        assert_eq!(batch_items(&ok, "companies", 10).unwrap().len(), 2);
        for bad in [json!([]), json!({}), json!({"companies": null}), json!({"companies": {}}), json!({"contacts": []})] {
            let err = batch_items(&bad, "companies", 10).unwrap_err();
            assert_eq!(err.status(), 400, "{bad}");
            assert!(err.message("r").contains("companies"));
        }
        let err = batch_items(&json!({"companies": [1, 2, 3]}), "companies", 2).unwrap_err();
        assert_eq!(err.status(), 413);
    }
}
