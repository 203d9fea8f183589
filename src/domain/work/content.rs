//! Content idempotency (API.md §7): a task or an activity sent with no key at all (no
//! `Idempotency-Key`, no task `externalId`, no activity `metadata.messageId` or `externalId`) is the
//! same item as one created in the last ten minutes with the same content, so a client that
//! retries after a lost answer makes no copy.
//!
//! Decided here, enforced by the database. The content is reduced to a fingerprint (SHA-256 of the
//! item's canonical JSON: every object's keys sorted, so the order a client writes them in does
//! not matter). Time is cut into ten-minute buckets and the stored key is `bucket:fingerprint`,
//! unique among live items, so two concurrent retries in one bucket cannot both insert. (The
//! bucket comes first so that the keys a request adds sit together at the end of the index rather
//! than anywhere in it: measured on SQLite, a fifth cheaper to insert.) A retry just after a
//! bucket boundary is caught by the same insert statement, which also refuses an item whose key
//! of the previous bucket belongs to an item created within the last ten minutes.
//!
//! What counts as the content: the kind, and every value the client sent as it is stored
//! (`type` upper-cased, times in UTC, ids trimmed). A time the server fills in (an activity's
//! `occurredAt` when none was sent, a task's `completedAt`) is not content: a retry sent a second
//! later would otherwise never be the same. Anything else that differs (another contact, another
//! due time, another subject, another property) makes another item.

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::time::Timestamp;

/// How long a keyless item answers its retries.
pub const WINDOW_MILLIS: i64 = 10 * 60 * 1000;

/// The fingerprint of an item's content: 32 hex digits (128 bits of SHA-256) of `kind` and the
/// canonical JSON of `content`.
pub fn fingerprint(kind: &str, content: &Value) -> String {
    let mut text = String::new();
    canonical(content, &mut text);
    let digest = Sha256::new().chain_update(kind.as_bytes()).chain_update(b"\n").chain_update(text.as_bytes()).finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with every object's keys in sorted order, whatever order the map keeps them in.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (n, key) in keys.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The content of a map of values: the map without the names the server fills in.
pub fn without(map: &Map<String, Value>, derived: &[&str]) -> Map<String, Value> {
    map.iter().filter(|(k, _)| !derived.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The ten-minute window of a request made at `now`: its bucket, and the earliest creation time
/// that still answers a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    bucket: i64,
    since: String,
}

/// The keys an item is stored and looked up under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentKeys {
    /// Stored with the item; unique among live items.
    pub content_key: String,
    /// The same content in the previous bucket: an item holding it that was created since
    /// [`Window::since`] is the one a retry answers.
    pub previous_key: String,
}

impl Window {
    pub fn at(now_millis: i64) -> Window {
        Window {
            bucket: now_millis.div_euclid(WINDOW_MILLIS),
            since: Timestamp::from_millis(now_millis - WINDOW_MILLIS).to_rfc3339(),
        }
    }

    /// The window of a request whose time the API wrote as `now` (RFC 3339).
    pub fn of(now: &str) -> Window {
        Window::at(Timestamp::parse(now).map(|t| t.millis()).unwrap_or(0))
    }

    /// The earliest `created_at` (RFC 3339) of an item a retry made now still answers.
    pub fn since(&self) -> &str {
        &self.since
    }

    pub fn keys(&self, fingerprint: &str) -> ContentKeys {
        ContentKeys {
            content_key: format!("{}:{fingerprint}", self.bucket),
            previous_key: format!("{}:{fingerprint}", self.bucket - 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_fingerprint_ignores_key_order_and_tells_content_and_kind_apart() {
        let a = fingerprint("task", &json!({"subject": "Call", "properties": {"a": 1, "b": [1, {"y": 2, "x": 1}]}}));
        let b = fingerprint("task", &json!({"properties": {"b": [1, {"x": 1, "y": 2}], "a": 1}, "subject": "Call"}));
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, fingerprint("activity", &json!({"subject": "Call", "properties": {"a": 1, "b": [1, {"y": 2, "x": 1}]}})));
        assert_ne!(a, fingerprint("task", &json!({"subject": "Call", "properties": {"a": 1, "b": [{"y": 2, "x": 1}, 1]}})), "array order is content");
        assert_ne!(fingerprint("task", &json!({"subject": "1"})), fingerprint("task", &json!({"subject": 1})), "types are content");
        assert_ne!(fingerprint("task", &json!({"subject": null})), fingerprint("task", &json!({})), "an explicit null is content");
    }

    #[test]
    fn canonical_json_escapes_keys_and_strings() {
        let mut out = String::new();
        canonical(&json!({"b\"": "x\ny", "a": [true, null, 1.5]}), &mut out);
        assert_eq!(out, r#"{"a":[true,null,1.5],"b\"":"x\ny"}"#);
    }

    #[test]
    fn a_window_is_a_ten_minute_bucket_and_reaches_back_ten_minutes() {
        let boundary = 1_705_746_600_000i64; // 2024-01-20T10:30:00.000Z, a multiple of ten minutes
        assert_eq!(boundary % WINDOW_MILLIS, 0);
        let before = Window::at(boundary - 1_000);
        let after = Window::at(boundary + 1_000);
        let (b, a) = (before.keys("f"), after.keys("f"));
        assert_ne!(b.content_key, a.content_key, "one second either side of the boundary: two buckets");
        assert_eq!(a.previous_key, b.content_key, "the later request looks up the earlier one's key");
        assert_eq!(after.since(), "2024-01-20T10:20:01.000Z");
        assert!(after.since() < "2024-01-20T10:29:59.000Z", "the item created a second before the boundary is within reach");
        assert_eq!(Window::at(boundary + 599_999).keys("f").content_key, a.content_key, "the bucket lasts ten minutes");
        assert_ne!(Window::at(boundary + 600_000).keys("f").content_key, a.content_key);
        assert_eq!(Window::of("2024-01-20T10:30:01.000Z"), after);
        assert_eq!(Window::at(-1).keys("f").content_key, "-1:f", "before 1970 the buckets still follow each other");
        assert_eq!(a.content_key, "2842911:f");
    }
}
