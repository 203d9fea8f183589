//! Serving a batch larger than one D1 statement can carry (API.md §1: never refused below
//! `MAX_BATCH` and `MAX_BODY_BYTES`).
//!
//! The write statements bind a whole batch as one JSON string, and D1 binds at most 2 MB per
//! value; a statement over many thousand rows also runs long. So a batch is split, in request
//! order, into chunks of at most [`ChunkLimits::max_items`] items and
//! [`ChunkLimits::max_bytes`] bytes of items as sent (what the store binds is the same data,
//! normalised, plus the match keys: the byte budget leaves room for that). Each chunk is parsed,
//! loaded, planned and written on its own, and commits on its own: a failure after the first
//! chunk leaves the earlier chunks written, and a retry of the whole request is safe because
//! creates and links are idempotent on `externalId` and updates write the values sent. The answers
//! of the chunks are then joined ([`join_answers`]) so every result stays in request order.
//!
//! A batch that fits one chunk (up to 1,000 ordinary records) runs exactly as before: one
//! transaction, a fixed number of statements.

use std::ops::Range;

use serde_json::{json, Value};

use super::error::ItemError;

/// How much one chunk may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    pub max_items: usize,
    /// The sum of the items' sizes as sent (compact JSON), in bytes.
    pub max_bytes: usize,
    /// The largest single item, in bytes: one larger cannot be stored in a D1 row (2 MB) and
    /// fails alone ([`oversized`]).
    pub max_item_bytes: usize,
}

/// The limits of contacts and companies. 1,000 items is the batch the statements are measured
/// at (README, Performance). An update binds each record's values up to three times (the record,
/// and the old and new value of each change for history), so 600 KB of items as sent stays under
/// D1's 2 MB per bound value with room for match keys and search text.
pub const RECORD_CHUNKS: ChunkLimits = ChunkLimits { max_items: 1_000, max_bytes: 600_000, max_item_bytes: 600_000 };

/// The limits of tasks and activities: their writes bind each item's values about as often as a
/// record's update does (the row, its history, the answer read back).
pub const WORK_CHUNKS: ChunkLimits = RECORD_CHUNKS;

/// The size of an item as the chunk budget counts it: its compact JSON.
pub fn item_size(item: &Value) -> usize {
    /// Counts what is written, keeps nothing.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, item).map_or(0, |_| count.0)
}

/// Splits items of these sizes, in order, into consecutive chunks within `limits`. Every item
/// is in exactly one chunk; an item over the byte budget alone gets a chunk of its own. No chunk
/// is empty, and an empty batch has no chunk.
pub fn plan_chunks(sizes: &[usize], limits: ChunkLimits) -> Vec<Range<usize>> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, &size) in sizes.iter().enumerate() {
        let full = i - start >= limits.max_items || (i > start && bytes + size > limits.max_bytes);
        if full {
            chunks.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < sizes.len() {
        chunks.push(start..sizes.len());
    }
    chunks
}

/// The error of an item too large to be stored, if it is.
pub fn oversized(size: usize, limits: ChunkLimits) -> Option<ItemError> {
    (size > limits.max_item_bytes)
        .then(|| ItemError::whole(format!("the record holds {size} bytes of JSON; one record holds at most {}", limits.max_item_bytes)))
}

/// Joins the answers of a batch's chunks, each given with the index of its first item: the
/// `results` arrays and the `errors` arrays are concatenated in chunk order, and each error's
/// `index` (relative to its chunk) becomes the item's index in the request.
pub fn join_answers(parts: Vec<(usize, Value)>) -> Value {
    let mut results = Vec::new();
    let mut errors = Vec::new();
    let mut has_errors = false;
    for (offset, mut answer) in parts {
        if let Some(Value::Array(r)) = answer.get_mut("results").map(Value::take) {
            results.extend(r);
        }
        if let Some(Value::Array(e)) = answer.get_mut("errors").map(Value::take) {
            has_errors = true;
            errors.extend(e.into_iter().map(|mut entry| {
                if let Some(i) = entry.get("index").and_then(Value::as_u64) {
                    entry["index"] = json!(i as usize + offset);
                }
                entry
            }));
        }
    }
    match has_errors {
        true => json!({ "results": results, "errors": errors }),
        false => json!({ "results": results }),
    }
}

/// The answers of a batch's chunks joined as [`join_answers`] joins them, kept as JSON text: each
/// chunk's answer is written out when it is done and its `Value`s dropped, and the whole answer
/// exists once, as the response body ([`AnswerText::finish`]).
#[derive(Debug, Default)]
pub struct AnswerText {
    /// Each chunk's results (or errors), as the JSON of its items separated by commas.
    results: Vec<String>,
    errors: Vec<String>,
    has_errors: bool,
}

impl AnswerText {
    /// Adds the answer of the chunk whose first item is the request's item `offset`.
    pub fn push(&mut self, offset: usize, mut answer: Value) {
        if let Some(Value::Array(results)) = answer.get_mut("results").map(Value::take) {
            push_text(&mut self.results, &results);
        }
        if let Some(Value::Array(errors)) = answer.get_mut("errors").map(Value::take) {
            self.has_errors = true;
            let shifted: Vec<Value> = errors
                .into_iter()
                .map(|mut entry| {
                    if let Some(i) = entry.get("index").and_then(Value::as_u64) {
                        entry["index"] = json!(i as usize + offset);
                    }
                    entry
                })
                .collect();
            push_text(&mut self.errors, &shifted);
        }
    }

    /// The joined answer's JSON, byte for byte what `join_answers`' `Value` serialises to
    /// (serde_json orders an object's keys: `errors` before `results`).
    pub fn finish(self) -> String {
        let part = |parts: &[String]| parts.iter().map(|p| p.len() + 1).sum::<usize>();
        let mut out = String::with_capacity(32 + part(&self.results) + part(&self.errors));
        out.push('{');
        if self.has_errors {
            out.push_str("\"errors\":[");
            join_into(&mut out, &self.errors);
            out.push_str("],");
        }
        out.push_str("\"results\":[");
        join_into(&mut out, &self.results);
        out.push_str("]}");
        out
    }
}

/// A bare JSON array written an element at a time, each `Value` dropped once written: byte for
/// byte what the array of them serialises to.
#[derive(Debug, Default)]
pub struct ArrayText(Vec<u8>);

impl ArrayText {
    pub fn extend(&mut self, items: impl IntoIterator<Item = Value>) {
        for item in items {
            self.0.push(if self.0.is_empty() { b'[' } else { b',' });
            serde_json::to_writer(&mut self.0, &item).expect("a Value serialises");
        }
    }

    pub fn finish(mut self) -> String {
        if self.0.is_empty() {
            self.0.push(b'[');
        }
        self.0.push(b']');
        String::from_utf8(self.0).expect("serde_json writes UTF-8")
    }
}

/// The items' JSON, separated by commas, as one more part (none for no items).
fn push_text(parts: &mut Vec<String>, items: &[Value]) {
    if items.is_empty() {
        return;
    }
    let mut text = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            text.push(b',');
        }
        serde_json::to_writer(&mut text, item).expect("a Value serialises");
    }
    text.shrink_to_fit();
    parts.push(String::from_utf8(text).expect("serde_json writes UTF-8"));
}

fn join_into(out: &mut String, parts: &[String]) {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(part);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_array_written_in_parts_is_the_array_serialised() {
        let items: Vec<Value> = (0..5).map(|i| json!({"id": format!("tk_{i}"), "subject": "Call \"Ana\" é", "n": i})).collect();
        let mut text = ArrayText::default();
        text.extend(items[..2].iter().cloned());
        text.extend(Vec::new());
        text.extend(items[2..].iter().cloned());
        assert_eq!(text.finish(), serde_json::to_string(&items).unwrap());
        assert_eq!(ArrayText::default().finish(), "[]");
        let mut one = ArrayText::default();
        one.extend([json!(1)]);
        assert_eq!(one.finish(), "[1]");
    }

    const SMALL: ChunkLimits = ChunkLimits { max_items: 3, max_bytes: 100, max_item_bytes: 150 };

    fn covers_in_order(chunks: &[Range<usize>], n: usize) {
        let flat: Vec<usize> = chunks.iter().flat_map(|c| c.clone()).collect();
        assert_eq!(flat, (0..n).collect::<Vec<_>>());
        assert!(chunks.iter().all(|c| !c.is_empty()));
    }

    #[test]
    fn a_batch_within_the_limits_is_one_chunk() {
        assert_eq!(plan_chunks(&[10, 10, 10], SMALL), vec![0..3]);
        assert_eq!(plan_chunks(&[], SMALL), Vec::<Range<usize>>::new());
        let sizes = vec![300; 1000];
        assert_eq!(plan_chunks(&sizes, RECORD_CHUNKS), vec![0..1000], "1,000 ordinary records run as before");
    }

    #[test]
    fn chunks_hold_at_most_max_items() {
        let chunks = plan_chunks(&[1; 8], SMALL);
        assert_eq!(chunks, vec![0..3, 3..6, 6..8]);
        let chunks = plan_chunks(&vec![300; 2500], RECORD_CHUNKS);
        assert_eq!(chunks, vec![0..1000, 1000..2000, 2000..2500]);
    }

    #[test]
    fn chunks_hold_at_most_max_bytes_and_a_big_item_stands_alone() {
        let sizes = [40, 40, 40, 120, 10, 90, 10];
        let chunks = plan_chunks(&sizes, SMALL);
        assert_eq!(chunks, vec![0..2, 2..3, 3..4, 4..6, 6..7]);
        covers_in_order(&chunks, sizes.len());
        for c in &chunks {
            let bytes: usize = sizes[c.clone()].iter().sum();
            assert!(bytes <= SMALL.max_bytes || c.len() == 1, "{c:?} holds {bytes}");
        }
    }

    #[test]
    fn ten_mebibytes_of_records_fit_in_chunks_under_the_bound_value_limit() {
        // 100 companies with 20,000-character descriptions; 1,000 records of 9.5 KB; 10,000 of 1 KB.
        for (n, size) in [(100, 20_100), (1000, 9_500), (10_000, 1_000)] {
            let sizes = vec![size; n];
            let chunks = plan_chunks(&sizes, RECORD_CHUNKS);
            covers_in_order(&chunks, n);
            for c in &chunks {
                assert!(sizes[c.clone()].iter().sum::<usize>() <= RECORD_CHUNKS.max_bytes);
                assert!(c.len() <= RECORD_CHUNKS.max_items);
            }
        }
    }

    #[test]
    fn an_item_too_big_for_a_row_fails_alone() {
        assert!(oversized(150, SMALL).is_none());
        let e = oversized(151, SMALL).expect("over the limit");
        assert_eq!(e.code.as_str(), "invalid");
        assert!(e.message.contains("151 bytes"), "{}", e.message);
    }

    #[test]
    fn joined_answers_keep_request_order_and_shift_error_indexes() {
        let parts = vec![
            (0, json!({"results": [{"crmId": "a"}], "errors": [{"index": 1, "code": "invalid"}]})),
            (2, json!({"results": [{"crmId": "b"}, {"crmId": "c"}], "errors": [{"index": 0, "code": "not_found"}]})),
        ];
        assert_eq!(
            join_answers(parts),
            json!({
                "results": [{"crmId": "a"}, {"crmId": "b"}, {"crmId": "c"}],
                "errors": [{"index": 1, "code": "invalid"}, {"index": 2, "code": "not_found"}],
            })
        );
        let updates = vec![(0, json!({"results": [{"crmId": "a"}]})), (1, json!({"results": [{"crmId": "b"}]}))];
        assert_eq!(join_answers(updates), json!({"results": [{"crmId": "a"}, {"crmId": "b"}]}), "no errors key when no part had one");
    }

    #[test]
    fn answer_text_is_the_joined_answer_byte_for_byte() {
        let cases = vec![
            vec![
                (0, json!({"results": [{"crmId": "a", "externalId": "x\"y", "properties": {"z": 1.5, "a": [null, true]}}], "errors": [{"index": 1, "code": "invalid"}]})),
                (2, json!({"results": [{"crmId": "b"}, {"crmId": "c"}], "errors": [{"index": 0, "code": "not_found", "candidates": ["a"]}]})),
                (5, json!({"results": [], "errors": []})),
            ],
            vec![(0, json!({"results": [{"crmId": "a"}]})), (1, json!({"results": [{"crmId": "b"}]}))],
            vec![(0, json!({"results": [], "errors": []}))],
            vec![(0, json!({"results": []}))],
            vec![(0, json!({"results": [], "errors": [{"index": 0}]})), (1, json!({"results": [{"crmId": "é"}], "errors": []}))],
            vec![],
        ];
        for parts in cases {
            let mut text = AnswerText::default();
            for (offset, answer) in parts.clone() {
                text.push(offset, answer);
            }
            let want = serde_json::to_string(&join_answers(parts)).unwrap();
            assert_eq!(text.finish(), want);
        }
    }
}
