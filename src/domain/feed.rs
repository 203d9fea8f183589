//! The change feed's query (`updatedAfter`, `limit`, `cursor`) and its opaque cursor.
//!
//! A page is the records after a position `(updatedAt, id)`, in that order. Because a write always
//! stores an `updatedAt` later than every stored one (see schema.sql), a record written between
//! two page calls lands after the cursor: it is never skipped, and a record appears again only
//! when it changed again.

use super::base64;
use super::error::{ApiError, Detail};
use super::time::Timestamp;

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedQuery {
    /// Records strictly after this `(updatedAt, id)`.
    pub after_time: String,
    pub after_id: String,
    pub limit: usize,
}

impl FeedQuery {
    /// From the query string's pairs. A cursor, when given, wins over `updatedAfter`.
    pub fn parse(pairs: &[(String, String)]) -> Result<FeedQuery, ApiError> {
        let get = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let bad = |path: &str, message: String| {
            ApiError::invalid(format!("invalid query parameter {path}"), vec![Detail::new(path, message)])
        };
        let limit = parse_limit(pairs, DEFAULT_LIMIT, MAX_LIMIT)?;
        if let Some(cursor) = get("cursor").filter(|c| !c.is_empty()) {
            let (after_time, after_id) =
                decode_cursor(cursor).ok_or_else(|| bad("cursor", "is not a cursor this API returned".into()))?;
            return Ok(FeedQuery { after_time, after_id, limit });
        }
        let after_time = match get("updatedAfter").filter(|v| !v.is_empty()) {
            None => String::new(),
            Some(raw) => Timestamp::parse(raw)
                .map_err(|e| bad("updatedAfter", format!("{e}, got {raw:?}")))?
                .to_rfc3339(),
        };
        // Strictly after the instant: every id sorts after "\u{10FFFF}"-free text of that time.
        let after_id = if after_time.is_empty() { String::new() } else { "\u{7f}".to_string() };
        Ok(FeedQuery { after_time, after_id, limit })
    }
}

/// The `limit` query parameter of a list (the feed, a history, a timeline): `default` when absent
/// or empty, otherwise a whole number from 1 to `max`; the last one given wins.
pub fn parse_limit(pairs: &[(String, String)], default: usize, max: usize) -> Result<usize, ApiError> {
    match pairs.iter().rev().find(|(k, _)| k == "limit").map(|(_, v)| v.as_str()) {
        None | Some("") => Ok(default),
        Some(raw) => raw.parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
            let message = format!("expected a whole number from 1 to {max}, got {raw:?}");
            ApiError::invalid("invalid query parameter limit", vec![Detail::new("limit", message)])
        }),
    }
}

/// The cursor after a record: its `updatedAt` and id, base64url-encoded so clients treat it as
/// opaque.
pub fn encode_cursor(updated_at: &str, id: &str) -> String {
    base64url(format!("{updated_at}|{id}").as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Option<(String, String)> {
    let bytes = unbase64url(cursor)?;
    let text = String::from_utf8(bytes).ok()?;
    let (time, id) = text.split_once('|')?;
    Timestamp::parse(time).ok()?;
    if id.is_empty() || id.len() > 64 {
        return None;
    }
    Some((time.to_string(), id.to_string()))
}

fn base64url(bytes: &[u8]) -> String {
    base64::encode(bytes, base64::URL_SAFE, false)
}

fn unbase64url(text: &str) -> Option<Vec<u8>> {
    if text.len() > 512 {
        return None;
    }
    base64::decode(text, base64::URL_SAFE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn cursor_round_trips_and_is_opaque() {
        for id in ["ct_0123456789abcdefghjkmnpqrs", "co_x"] {
            let c = encode_cursor("2024-01-20T10:30:00.000Z", id);
            assert!(c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{c}");
            assert_eq!(decode_cursor(&c), Some(("2024-01-20T10:30:00.000Z".into(), id.into())));
        }
    }

    #[test]
    fn bad_cursors_are_refused() {
        for bad in ["", "x", "!!!!", &base64url(b"no separator"), &base64url(b"yesterday|ct_1"), &base64url(b"2024-01-20T10:30:00.000Z|")] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
        let err = FeedQuery::parse(&pairs(&[("cursor", "nope")])).unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn defaults_start_at_the_beginning() {
        let q = FeedQuery::parse(&[]).unwrap();
        assert_eq!(q, FeedQuery { after_time: String::new(), after_id: String::new(), limit: DEFAULT_LIMIT });
    }

    #[test]
    fn updated_after_is_normalised_to_utc_and_exclusive() {
        let q = FeedQuery::parse(&pairs(&[("updatedAfter", "2024-01-20T12:30:00+02:00"), ("limit", "5")])).unwrap();
        assert_eq!(q.after_time, "2024-01-20T10:30:00.000Z");
        assert!(q.after_id.as_str() > "ct_zzzzzzzz" && q.after_id.as_str() > "co_zzzzzzzz");
        assert_eq!(q.limit, 5);
    }

    #[test]
    fn cursor_wins_over_updated_after() {
        let c = encode_cursor("2024-02-01T00:00:00.000Z", "co_1");
        let q = FeedQuery::parse(&pairs(&[("updatedAfter", "2024-01-01T00:00:00Z"), ("cursor", &c)])).unwrap();
        assert_eq!(q.after_time, "2024-02-01T00:00:00.000Z");
        assert_eq!(q.after_id, "co_1");
    }

    #[test]
    fn bad_parameters_name_themselves() {
        for (k, v) in [("limit", "0"), ("limit", "501"), ("limit", "ten"), ("updatedAfter", "yesterday")] {
            let err = FeedQuery::parse(&pairs(&[(k, v)])).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(err.body("r")["details"][0]["path"] == k, "{k}={v}");
        }
    }
}
