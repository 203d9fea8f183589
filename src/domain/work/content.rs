//! Content idempotency (API.md §7): a task or an activity sent with no key at all (no
//! `Idempotency-Key`, no task `externalId`, no activity `metadata.messageId` or `externalId`) is the
//! same item as one created in the last ten minutes with the same content, so a client that
//! retries after a lost answer makes no copy.
//!
//! Decided here, enforced by the database. The content is reduced to a fingerprint: a 128-bit
//! FNV-1a hash of the item's values in a canonical encoding (each value tagged with its type and
//! length, an object's keys sorted, so the order a client writes them in does not matter),
//! streamed without building any text, because a batch of a thousand items pays it a thousand
//! times; and computed on two 64-bit halves, because the Worker is wasm, where a 128-bit multiply
//! is a call to a library routine per byte hashed. Time is cut into ten-minute buckets and the stored key is `bucket:fingerprint`, unique
//! among live items, so two concurrent retries in one bucket cannot both insert. (The bucket comes
//! first so that the keys a request adds sit together at the end of the index rather than anywhere
//! in it: measured on SQLite, a fifth cheaper to insert.) A retry just after a bucket boundary is
//! caught by the same insert statement, which also refuses an item whose key of the previous
//! bucket belongs to an item created within the last ten minutes. The items carry only their
//! fingerprint; the statements put the request's bucket prefixes ([`Window::prefix`],
//! [`Window::previous_prefix`]) in front of it.
//!
//! What counts as the content: the kind, and every value the client sent as it is stored
//! (`type` upper-cased, times in UTC, ids trimmed). A time the server fills in (an activity's
//! `occurredAt` when none was sent, a task's `completedAt`) is not content: a retry sent a second
//! later would otherwise never be the same. Anything else that differs (another contact, another
//! due time, another subject, another property) makes another item.

use serde_json::{Map, Value};

use crate::domain::base64;
use crate::domain::time::Timestamp;

/// How long a keyless item answers its retries.
pub const WINDOW_MILLIS: i64 = 10 * 60 * 1000;

const FNV128_OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
/// The FNV-128 prime is 2^88 + 315 (`0x0000_0000_0100_0000_0000_0000_0000_013b`).
const FNV128_PRIME_LOW: u64 = 315;

/// The fingerprint of an item's content, built part by part: `Fingerprint::new("task")`, then
/// each named value, then [`Fingerprint::finish`]: 22 characters (128 bits in URL-safe base64,
/// shorter than hex: the key is in every keyless row and in its index). FNV-1a 128 is no defence
/// against a chosen collision, and needs none: whoever could choose one holds the API key and
/// could write anything. Against accidental ones, 128 bits are plenty.
///
/// The state is kept as its high and low 64 bits. Multiplying by the prime modulo 2^128 then
/// needs no 128-bit product: `x · 2^88` only moves the low half, shifted by 24, into the high
/// one, and `x · 315` is the high half times 315 plus the low half times 315, whose carry into
/// the high half comes from two 32-bit products. The result is FNV-1a 128's, bit for bit (the
/// tests compare it with the plain `u128` form), so the keys stored before are still found.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    high: u64,
    low: u64,
}

impl Fingerprint {
    pub fn new(kind: &str) -> Fingerprint {
        let mut f = Fingerprint { high: (FNV128_OFFSET >> 64) as u64, low: FNV128_OFFSET as u64 };
        f.text(kind);
        f
    }

    fn bytes(&mut self, bytes: &[u8]) {
        let (mut high, mut low) = (self.high, self.low);
        for b in bytes {
            low ^= u64::from(*b);
            // low · 315 as 128 bits: the products of its two 32-bit halves (each under 2^41).
            let bottom = (low & 0xffff_ffff) * FNV128_PRIME_LOW;
            let top = (low >> 32) * FNV128_PRIME_LOW + (bottom >> 32);
            high = high.wrapping_mul(FNV128_PRIME_LOW).wrapping_add(top >> 32).wrapping_add(low << 24);
            low = (top << 32) | (bottom & 0xffff_ffff);
        }
        (self.high, self.low) = (high, low);
    }

    /// A length, so that the encoding is unambiguous (`"ab", "c"` is not `"a", "bc"`).
    fn len(&mut self, n: usize) {
        self.bytes(&(n as u64).to_le_bytes());
    }

    fn text(&mut self, text: &str) {
        self.bytes(b"s");
        self.len(text.len());
        self.bytes(text.as_bytes());
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.bytes(b"n"),
            Value::Bool(true) => self.bytes(b"t"),
            Value::Bool(false) => self.bytes(b"f"),
            Value::Number(n) => {
                self.bytes(b"#");
                self.text(&n.to_string());
            }
            Value::String(s) => self.text(s),
            Value::Array(items) => {
                self.bytes(b"[");
                self.len(items.len());
                items.iter().for_each(|item| self.value(item));
            }
            Value::Object(map) => self.object(map, &[]),
        }
    }

    /// An object's entries in key order (whatever order the map keeps them in), less `skip`.
    fn object(&mut self, map: &Map<String, Value>, skip: &[&str]) {
        let mut keys: Vec<&String> = map.keys().filter(|k| !skip.contains(&k.as_str())).collect();
        keys.sort_unstable();
        self.bytes(b"{");
        self.len(keys.len());
        for key in keys {
            self.text(key);
            self.value(&map[key]);
        }
    }

    /// A named value.
    pub fn field(&mut self, name: &str, value: &Value) -> &mut Fingerprint {
        self.text(name);
        self.value(value);
        self
    }

    /// A named text; absent (`None`) is not empty.
    pub fn optional(&mut self, name: &str, text: Option<&str>) -> &mut Fingerprint {
        self.text(name);
        match text {
            Some(t) => self.text(t),
            None => self.bytes(b"n"),
        }
        self
    }

    /// A named map of values, less the names in `skip` (values the server fills in).
    pub fn map(&mut self, name: &str, map: &Map<String, Value>, skip: &[&str]) -> &mut Fingerprint {
        self.text(name);
        self.object(map, skip);
        self
    }

    pub fn finish(&self) -> String {
        let value = (u128::from(self.high) << 64) | u128::from(self.low);
        base64::encode(&value.to_be_bytes(), base64::URL_SAFE, false)
    }
}

/// The ten-minute window of a request made at `now`: the prefixes of its bucket's keys and of the
/// previous bucket's, and the earliest creation time that still answers a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    bucket: i64,
    since: String,
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

    /// The prefix of this bucket's keys: an item's key is the prefix and its fingerprint.
    pub fn prefix(&self) -> String {
        format!("{}:", self.bucket)
    }

    /// The prefix of the previous bucket's keys.
    pub fn previous_prefix(&self) -> String {
        format!("{}:", self.bucket - 1)
    }

    /// The key an item with `fingerprint` is stored under now.
    pub fn key(&self, fingerprint: &str) -> String {
        format!("{}{fingerprint}", self.prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(content: &Value) -> String {
        Fingerprint::new("task").field("content", content).finish()
    }

    #[test]
    fn the_fingerprint_ignores_key_order_and_tells_content_and_kind_apart() {
        let a = of(&json!({"subject": "Call", "properties": {"a": 1, "b": [1, {"y": 2, "x": 1}]}}));
        let b = of(&json!({"properties": {"b": [1, {"x": 1, "y": 2}], "a": 1}, "subject": "Call"}));
        assert_eq!(a, b);
        assert_eq!(a.len(), 22);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{a}");
        let activity = Fingerprint::new("activity").field("content", &json!({"subject": "Call", "properties": {"a": 1, "b": [1, {"y": 2, "x": 1}]}})).finish();
        assert_ne!(a, activity, "the kind is content");
        assert_ne!(a, of(&json!({"subject": "Call", "properties": {"a": 1, "b": [{"y": 2, "x": 1}, 1]}})), "array order is content");
        assert_ne!(of(&json!({"subject": "1"})), of(&json!({"subject": 1})), "types are content");
        assert_ne!(of(&json!({"subject": null})), of(&json!({})), "an explicit null is content");
        assert_ne!(of(&json!({"a": "bc", "d": ""})), of(&json!({"a": "b", "d": "c"})), "lengths keep values apart");
        assert_ne!(of(&json!(["ab", "c"])), of(&json!(["a", "bc"])));
        assert_ne!(of(&json!([[], []])), of(&json!([[[]]])));
        assert_ne!(of(&json!(true)), of(&json!(false)));
    }

    /// FNV-1a 128 as its definition states it, on a `u128`.
    fn reference(bytes: &[u8]) -> u128 {
        const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
        bytes.iter().fold(FNV128_OFFSET, |h, b| (h ^ u128::from(*b)).wrapping_mul(PRIME))
    }

    #[test]
    fn the_halves_compute_fnv_1a_128_bit_for_bit() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len).map(|i| if len % 7 == 0 { 0xff - (i % 3) as u8 } else { next() as u8 }).collect();
            let mut f = Fingerprint { high: (FNV128_OFFSET >> 64) as u64, low: FNV128_OFFSET as u64 };
            // In two calls, as the encoding streams its parts.
            let (a, b) = bytes.split_at(len / 3);
            f.bytes(a);
            f.bytes(b);
            assert_eq!((u128::from(f.high) << 64) | u128::from(f.low), reference(&bytes), "{len} bytes: {bytes:?}");
        }
    }

    #[test]
    fn fingerprints_stay_those_already_stored() {
        // Computed with the first form (a `u128` multiplied by the prime): a key stored before
        // must still be found by a retry.
        let task = Fingerprint::new("task")
            .field("content", &json!({"subject": "Call", "properties": {"a": 1, "b": [1, {"y": 2, "x": null}]}, "done": true}))
            .finish();
        assert_eq!(task, "pZExWXOago7rlHDqq2ecmA");
        let activity = Fingerprint::new("activity").optional("type", Some("LINKEDIN")).optional("subject", Some("Invité ✓")).optional("body", None).finish();
        assert_eq!(activity, "fphX5zqKo8UgPaJJWm1pHw");
    }

    #[test]
    fn named_parts_skip_what_the_server_fills_in() {
        let map = json!({"subject": "x", "completedAt": "2024-01-01T00:00:00.000Z"});
        let other = json!({"subject": "x", "completedAt": "2030-01-01T00:00:00.000Z"});
        let fp = |m: &Value, skip: &[&str]| Fingerprint::new("task").map("fields", m.as_object().unwrap(), skip).finish();
        assert_eq!(fp(&map, &["completedAt"]), fp(&other, &["completedAt"]));
        assert_ne!(fp(&map, &["completedAt"]), fp(&map, &[]));
        let text = |t: Option<&str>| Fingerprint::new("activity").optional("subject", t).finish();
        assert_ne!(text(None), text(Some("")), "absent is not empty");
        assert_ne!(text(Some("")), text(Some("n")));
        assert_eq!(text(Some("x")), Fingerprint::new("activity").field("subject", &json!("x")).finish(), "a text is its JSON string");
    }

    #[test]
    fn a_window_is_a_ten_minute_bucket_and_reaches_back_ten_minutes() {
        let boundary = 1_705_746_600_000i64; // 2024-01-20T10:30:00.000Z, a multiple of ten minutes
        assert_eq!(boundary % WINDOW_MILLIS, 0);
        let before = Window::at(boundary - 1_000);
        let after = Window::at(boundary + 1_000);
        assert_ne!(before.key("f"), after.key("f"), "one second either side of the boundary: two buckets");
        assert_eq!(format!("{}f", after.previous_prefix()), before.key("f"), "the later request looks up the earlier one's key");
        assert_eq!(after.key("f"), "2842911:f");
        assert_eq!(after.since(), "2024-01-20T10:20:01.000Z");
        assert!(after.since() < "2024-01-20T10:29:59.000Z", "the item created a second before the boundary is within reach");
        assert_eq!(Window::at(boundary + 599_999).key("f"), after.key("f"), "the bucket lasts ten minutes");
        assert_ne!(Window::at(boundary + 600_000).key("f"), after.key("f"));
        assert_eq!(Window::of("2024-01-20T10:30:01.000Z"), after);
        assert_eq!(Window::at(-1).key("f"), "-1:f", "before 1970 the buckets still follow each other");
    }
}
