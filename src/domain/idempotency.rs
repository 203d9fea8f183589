//! `Idempotency-Key` on `POST` and `PATCH`: the first answer to a key is kept for 24 hours, and a
//! retry with the same key and the same request gets it again (`Idempotent-Replayed: true`) and
//! writes nothing. The same key with another request is `422`; while the first is still running,
//! `409`. Decided here, pure; the pipeline claims the key, runs the handler and keeps its answer.

use super::error::ApiError;
use super::hash::{fnv1a, FNV_OFFSET};
use super::time::Timestamp;

/// The longest key accepted, in characters.
pub const MAX_KEY_CHARS: usize = 255;
/// How long an answer is kept.
pub const KEEP_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// The largest answer kept (a larger one is not replayed: the request runs again, which the
/// writes' own idempotency makes safe).
pub const MAX_KEPT_BYTES: usize = 1_000_000;

/// The key as sent: `422` when it is blank or over [`MAX_KEY_CHARS`].
pub fn check_key(raw: &str) -> Result<&str, ApiError> {
    let key = raw.trim();
    if key.is_empty() {
        return Err(ApiError::Unprocessable("Idempotency-Key is blank: send a unique token per operation".into()));
    }
    let chars = key.chars().count();
    if chars > MAX_KEY_CHARS {
        return Err(ApiError::Unprocessable(format!(
            "Idempotency-Key is {chars} characters long; at most {MAX_KEY_CHARS} are allowed"
        )));
    }
    Ok(key)
}

/// A fingerprint of the request a key was first used for: method, route, the path's parameters
/// (the record it acts on: an undo of one merge is not an undo of another) and body. Two 64-bit
/// FNV-1a hashes with different seeds (128 bits): enough to tell a reused key from a retry.
pub fn fingerprint(method: &str, route: &str, params: &[&str], body: &[u8]) -> String {
    let path = match params.is_empty() {
        true => route.to_string(),
        false => format!("{route} {}", params.join(" ")),
    };
    let parts: [&[u8]; 5] = [method.as_bytes(), b"\n", path.as_bytes(), b"\n", body];
    format!("{:016x}{:016x}", fnv1a(FNV_OFFSET, &parts), fnv1a(0x6c62_272e_07bb_0142, &parts))
}

/// The oldest `created_at` still kept, for a request at `now_millis`.
pub fn kept_since(now_millis: i64) -> String {
    Timestamp::from_millis(now_millis - KEEP_MILLIS).to_rfc3339()
}

/// A key already used, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedKey {
    pub fingerprint: String,
    /// `None` while the first request is running.
    pub status: Option<u16>,
    pub response: Option<String>,
}

/// What to do with a request whose key was used before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// Answer the kept response again.
    Answer { status: u16, body: String },
    /// Refuse: `409` (still running) or `422` (another request).
    Refuse(ApiError),
}

/// The status a key holds once the writes of the request that claimed it committed, until its
/// answer is kept (never an HTTP status).
pub const COMMITTED: u16 = 0;

const WRITTEN_NOT_ANSWERED: &str = "the first request with this Idempotency-Key has written its changes, which stand, but its answer is not kept \
     (yet, or it was lost when the server failed after the write): retry in a moment, and if this persists read \
     the records instead of sending the request again";
const STILL_RUNNING: &str = "a request with this Idempotency-Key is still running; retry in a moment";

/// Whether `e` refuses a request because the first one with its key has not answered yet: the
/// same request sent again (a page form clicked twice) waits for that answer rather than
/// offering to send it once more.
pub fn is_pending(e: &ApiError) -> bool {
    matches!(e, ApiError::Conflict(m) if m == WRITTEN_NOT_ANSWERED || m == STILL_RUNNING)
}

pub fn replay(used: &UsedKey, fingerprint: &str) -> Replay {
    if used.fingerprint != fingerprint {
        return Replay::Refuse(ApiError::Unprocessable(
            "this Idempotency-Key was used for another request (another route or body): use a new key".into(),
        ));
    }
    match (used.status, &used.response) {
        (Some(status), Some(body)) if status != COMMITTED => Replay::Answer { status, body: body.clone() },
        // Written, not answered: the first request is finishing, or failed after its writes.
        // Either way running it again would write twice.
        (Some(COMMITTED), _) => Replay::Refuse(ApiError::Conflict(WRITTEN_NOT_ANSWERED.into())),
        _ => Replay::Refuse(ApiError::Conflict(STILL_RUNNING.into())),
    }
}

/// Whether an answer is kept for replay: not a server failure (a retry should run again), and
/// not too large.
pub fn keeps(status: u16, body_len: usize) -> bool {
    status < 500 && body_len <= MAX_KEPT_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_whose_writes_committed_is_never_run_again() {
        let used = |status: Option<u16>, response: Option<&str>| UsedKey { fingerprint: "f".into(), status, response: response.map(String::from) };
        match replay(&used(Some(COMMITTED), None), "f") {
            Replay::Refuse(e) => {
                assert_eq!(e.status(), 409);
                assert!(e.message("r").contains("has written its changes"), "{}", e.message("r"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(replay(&used(None, None), "f"), Replay::Refuse(e) if e.message("r").contains("still running") && is_pending(&e)));
        assert!(matches!(replay(&used(Some(COMMITTED), None), "f"), Replay::Refuse(e) if is_pending(&e)));
        assert!(matches!(replay(&used(None, None), "g"), Replay::Refuse(e) if !is_pending(&e)), "another request is no wait");
        assert!(!is_pending(&ApiError::Conflict("this Idempotency-Key changed hands; retry".into())));
        assert_eq!(replay(&used(Some(201), Some("{}")), "f"), Replay::Answer { status: 201, body: "{}".into() });
        assert!(matches!(replay(&used(Some(COMMITTED), None), "g"), Replay::Refuse(e) if e.status() == 422));
    }

    #[test]
    fn keys_are_bounded_and_not_blank() {
        assert_eq!(check_key(" abc-123 ").unwrap(), "abc-123");
        assert_eq!(check_key(&"k".repeat(255)).unwrap().len(), 255);
        for bad in ["", "   ", &"k".repeat(256)] {
            assert_eq!(check_key(bad).unwrap_err().status(), 422, "{bad}");
        }
    }

    #[test]
    fn the_fingerprint_tells_route_and_body_apart() {
        let a = fingerprint("POST", "/tasks", &[], br#"{"subject":"x"}"#);
        assert_eq!(a, fingerprint("POST", "/tasks", &[], br#"{"subject":"x"}"#));
        assert_eq!(a.len(), 32);
        assert_ne!(a, fingerprint("POST", "/tasks", &[], br#"{"subject":"y"}"#));
        assert_ne!(a, fingerprint("PATCH", "/tasks", &[], br#"{"subject":"x"}"#));
        assert_ne!(a, fingerprint("POST", "/activities", &[], br#"{"subject":"x"}"#));
        let undo = |id: &str| fingerprint("POST", "/contacts/merge/{id}/undo", &[id], b"");
        assert_eq!(undo("mg_1"), undo("mg_1"));
        assert_ne!(undo("mg_1"), undo("mg_2"), "the record a path names is part of the request");
    }

    #[test]
    fn a_retry_replays_another_request_is_refused_a_running_one_conflicts() {
        let done = UsedKey { fingerprint: "f".into(), status: Some(200), response: Some("{}".into()) };
        assert_eq!(replay(&done, "f"), Replay::Answer { status: 200, body: "{}".into() });
        match replay(&done, "g") {
            Replay::Refuse(e) => assert_eq!(e.status(), 422),
            other => panic!("{other:?}"),
        }
        let running = UsedKey { fingerprint: "f".into(), status: None, response: None };
        match replay(&running, "f") {
            Replay::Refuse(e) => assert_eq!(e.status(), 409),
            other => panic!("{other:?}"),
        }
        assert!(keeps(200, 10) && keeps(400, 10) && !keeps(503, 10) && !keeps(200, MAX_KEPT_BYTES + 1));
        assert_eq!(kept_since(KEEP_MILLIS), "1970-01-01T00:00:00.000Z");
    }
}
