//! Per-person sign-in to the pages through Cloudflare Access (API.md §2): the decisions about a
//! `Cf-Access-Jwt-Assertion`, with no platform type, so every rule is unit-tested natively.
//!
//! Access signs a token (a compact JWT, RS256) for each person it lets through, and publishes its
//! keys at `{team}/cdn-cgi/access/certs`. The Worker must check that token itself: a request can
//! reach the Worker without passing Access (its `workers.dev` address, another route), so the
//! header alone proves nothing. The glue (`http::access`) fetches the keys and checks the RS256
//! signature with WebCrypto; everything else is decided here, in this order:
//!
//! 1. [`parse`]: three base64url parts; the header says `alg: RS256` (nothing else, `none`
//!    and `HS256` above all: an `HS256` token "signed" with the public key is the classic forgery)
//!    and names its key (`kid`).
//! 2. [`KeyCache::decide`]: the key of that `kid`, or fetch the keys again (at most once a
//!    minute, so a stream of forged `kid`s cannot make the Worker hammer the team's endpoint), or
//!    refuse.
//! 3. The signature over `header.payload` (glue).
//! 4. [`check_claims`], only after the signature holds, so nothing unverified is trusted:
//!    issuer, audience, expiry and not-before (60 s leeway), and the person's `email`.
//!
//! Every failure is one [`AccessRefusal`]: its [`status`](AccessRefusal::status) and
//! [`message`](AccessRefusal::message) are for the person and name no internals; its
//! [`reason`](AccessRefusal::reason) is for the log and never quotes the token.

use serde_json::Value;

use super::base64;
use super::config::AccessConfig;

/// How far a token's `exp` and `nbf` may be off the Worker's clock, in seconds.
pub const LEEWAY_SECS: f64 = 60.0;

/// The keys are fetched again on an unknown `kid` at most this often, per isolate.
pub const REFETCH_INTERVAL_MS: f64 = 60_000.0;

/// After a failed fetch of the keys, the next try waits this long (a shorter wait than after a
/// success: with no keys at all, every person is refused until the keys arrive).
pub const RETRY_AFTER_FAILURE_MS: f64 = 10_000.0;

/// A longer assertion is refused before anything is decoded (Access tokens are about 1 KB).
pub const MAX_ASSERTION_BYTES: usize = 16 * 1024;

/// The shortest RSA modulus accepted from the key set, in bits.
pub const MIN_MODULUS_BITS: usize = 2048;

/// Why a page request is not let in. `Debug` and [`reason`](AccessRefusal::reason) are for the
/// log; the person sees [`message`](AccessRefusal::message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessRefusal {
    /// No `Cf-Access-Jwt-Assertion` header (or an empty one).
    Missing,
    /// Not a compact JWT: not three parts, bad base64url, a header or claims that are not a JSON
    /// object, or too long.
    Malformed,
    /// `alg` is not `RS256` (`none`, `HS256`, anything else), or the header lists `crit`.
    Algorithm,
    /// The header names no key (`kid`).
    NoKeyId,
    /// No key of the team's key set has the token's `kid`.
    UnknownKey,
    /// The team's keys could not be fetched or read.
    KeysUnavailable,
    /// The signature does not verify with the key of its `kid`.
    BadSignature,
    /// `iss` is not `ACCESS_TEAM_DOMAIN`.
    Issuer,
    /// `aud` does not contain `ACCESS_AUD`.
    Audience,
    /// No `exp`, or a non-numeric `exp` or `nbf`.
    NoExpiry,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` is still to come (beyond the leeway).
    NotYetValid,
    /// `email` is there but not a usable address.
    BadEmail,
    /// A valid token without `email`: a service token, not a person.
    ServiceToken,
}

impl AccessRefusal {
    /// `403` for a service token (authenticated, but not a person), `401` for everything else.
    pub fn status(self) -> u16 {
        match self {
            AccessRefusal::ServiceToken => 403,
            _ => 401,
        }
    }

    /// A sentence for the person, naming no internals.
    pub fn message(self) -> &'static str {
        match self {
            AccessRefusal::ServiceToken => "These pages are for people signed in with their own account; a service token cannot open them.",
            _ => "You are not signed in, or your sign-in has expired. Open this page again through your team's sign-in to continue.",
        }
    }

    /// A short code for the log line (never the token, nor any of its values).
    pub fn reason(self) -> &'static str {
        match self {
            AccessRefusal::Missing => "access_token_missing",
            AccessRefusal::Malformed => "access_token_malformed",
            AccessRefusal::Algorithm => "access_algorithm_refused",
            AccessRefusal::NoKeyId => "access_kid_missing",
            AccessRefusal::UnknownKey => "access_kid_unknown",
            AccessRefusal::KeysUnavailable => "access_keys_unavailable",
            AccessRefusal::BadSignature => "access_signature_invalid",
            AccessRefusal::Issuer => "access_issuer_wrong",
            AccessRefusal::Audience => "access_audience_wrong",
            AccessRefusal::NoExpiry => "access_expiry_missing",
            AccessRefusal::Expired => "access_token_expired",
            AccessRefusal::NotYetValid => "access_token_not_yet_valid",
            AccessRefusal::BadEmail => "access_email_invalid",
            AccessRefusal::ServiceToken => "access_service_token",
        }
    }
}

impl std::fmt::Display for AccessRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

/// A token whose structure and header passed: what the signature check and the claims need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The key the token names.
    pub kid: String,
    /// The bytes the signature covers: `base64url(header) "." base64url(payload)` as sent.
    pub signing_input: Vec<u8>,
    pub signature: Vec<u8>,
    /// The decoded claims, still unverified: read them only through [`check_claims`] after the
    /// signature holds.
    pub payload: Vec<u8>,
}

/// Splits and decodes a compact JWT and checks its header (`alg` exactly `RS256`, no `crit`, a
/// `kid`). The claims are decoded from base64url but not read.
pub fn parse(assertion: &str) -> Result<Assertion, AccessRefusal> {
    let assertion = assertion.trim();
    if assertion.is_empty() {
        return Err(AccessRefusal::Missing);
    }
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(AccessRefusal::Malformed);
    }
    let mut parts = assertion.split('.');
    let (Some(header_part), Some(payload_part), Some(signature_part), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(AccessRefusal::Malformed);
    };
    let decode = |part: &str| base64::decode(part, base64::URL_SAFE).ok_or(AccessRefusal::Malformed);
    let header: Value = serde_json::from_slice(&decode(header_part)?).map_err(|_| AccessRefusal::Malformed)?;
    let header = header.as_object().ok_or(AccessRefusal::Malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") || header.contains_key("crit") {
        return Err(AccessRefusal::Algorithm);
    }
    let kid = match header.get("kid").and_then(Value::as_str) {
        Some(kid) if !kid.is_empty() => kid.to_string(),
        _ => return Err(AccessRefusal::NoKeyId),
    };
    let signature = decode(signature_part)?;
    if signature.is_empty() {
        return Err(AccessRefusal::Malformed);
    }
    let payload = decode(payload_part)?;
    let signing_input = assertion.as_bytes()[..header_part.len() + 1 + payload_part.len()].to_vec();
    Ok(Assertion { kid, signing_input, signature, payload })
}

/// Checks the claims of a token whose signature holds, at `now_secs` (seconds since the epoch),
/// and returns the person's email.
pub fn check_claims(payload: &[u8], config: &AccessConfig, now_secs: f64) -> Result<String, AccessRefusal> {
    let claims: Value = serde_json::from_slice(payload).map_err(|_| AccessRefusal::Malformed)?;
    let claims = claims.as_object().ok_or(AccessRefusal::Malformed)?;
    if claims.get("iss").and_then(Value::as_str) != Some(config.team_domain.as_str()) {
        return Err(AccessRefusal::Issuer);
    }
    let audience_holds = match claims.get("aud") {
        Some(Value::String(aud)) => *aud == config.aud,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(config.aud.as_str())),
        _ => false,
    };
    if !audience_holds {
        return Err(AccessRefusal::Audience);
    }
    // NumericDate (RFC 7519 §2): seconds, possibly fractional.
    let exp = claims.get("exp").ok_or(AccessRefusal::NoExpiry)?.as_f64().ok_or(AccessRefusal::NoExpiry)?;
    // "The current time MUST be before the expiration time" (RFC 7519 §4.1.4).
    if now_secs >= exp + LEEWAY_SECS {
        return Err(AccessRefusal::Expired);
    }
    match claims.get("nbf") {
        None => {}
        Some(nbf) => {
            let nbf = nbf.as_f64().ok_or(AccessRefusal::NoExpiry)?;
            // "... MUST be after or equal to the not-before time" (RFC 7519 §4.1.5).
            if now_secs < nbf - LEEWAY_SECS {
                return Err(AccessRefusal::NotYetValid);
            }
        }
    }
    match claims.get("email") {
        None | Some(Value::Null) => Err(AccessRefusal::ServiceToken),
        Some(Value::String(email)) if is_email(email) => Ok(email.clone()),
        Some(_) => Err(AccessRefusal::BadEmail),
    }
}

/// An address the pages can name: `local@domain`, no space or control character, of a sane size.
fn is_email(email: &str) -> bool {
    let ok_chars = !email.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    match email.rsplit_once('@') {
        Some((local, domain)) => ok_chars && !local.is_empty() && !domain.is_empty() && email.len() <= 320,
        None => false,
    }
}

/// One RSA signing key of the team's key set (a JWK with `kty: RSA`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    pub kid: String,
    /// The modulus and the exponent, base64url as published (WebCrypto imports them as is).
    pub n: String,
    pub e: String,
}

/// Reads the key set of `{team}/cdn-cgi/access/certs`: `{"keys": [{"kty", "kid", "n", "e",
/// "alg"?, "use"?}, ...]}`. Keeps the RSA keys that may verify RS256 signatures (an `alg`, when
/// given, is `RS256`; a `use`, when given, is `sig`) with a base64url modulus of at least
/// [`MIN_MODULUS_BITS`] and exponent; other keys are skipped, not errors. A body that is not such
/// a document is an error (for the log).
pub fn parse_jwks(body: &[u8]) -> Result<Vec<Jwk>, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("the key set is not JSON: {e}"))?;
    let keys = doc.get("keys").and_then(Value::as_array).ok_or("the key set has no \"keys\" array")?;
    let text = |key: &Value, name: &str| key.get(name).and_then(Value::as_str).map(str::to_string);
    Ok(keys
        .iter()
        .filter(|key| text(key, "kty").as_deref() == Some("RSA"))
        .filter(|key| key.get("alg").is_none_or(|alg| alg.as_str() == Some("RS256")))
        .filter(|key| key.get("use").is_none_or(|usage| usage.as_str() == Some("sig")))
        .filter_map(|key| Some(Jwk { kid: text(key, "kid")?, n: text(key, "n")?, e: text(key, "e")? }))
        .filter(|jwk| !jwk.kid.is_empty() && modulus_bits(&jwk.n).is_some_and(|bits| bits >= MIN_MODULUS_BITS))
        .filter(|jwk| base64::decode(&jwk.e, base64::URL_SAFE).is_some_and(|e| e.iter().any(|b| *b != 0)))
        .collect())
}

/// The size in bits of a base64url big-endian modulus, `None` when it is not base64url.
fn modulus_bits(n: &str) -> Option<usize> {
    let bytes = base64::decode(n, base64::URL_SAFE)?;
    let first = bytes.iter().position(|b| *b != 0)?;
    Some((bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize)
}

/// What to do with a token's `kid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDecision<'a> {
    /// The cached key of that `kid`.
    Use(&'a Jwk),
    /// Fetch the key set (first time, or an unknown `kid` and the last fetch is old enough), then
    /// decide again.
    Fetch,
    /// Unknown `kid`, and the keys were fetched too recently to ask again.
    Refuse(AccessRefusal),
}

/// The team's keys as one isolate knows them, and when they were last asked for. Times are
/// milliseconds since the epoch (`Date.now()`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyCache {
    pub keys: Vec<Jwk>,
    /// When the key set was last fetched, and whether that fetch gave keys.
    pub last_fetch: Option<(f64, bool)>,
}

impl KeyCache {
    /// The key of `kid`, or whether to fetch the key set again first (see [`may_fetch`]).
    pub fn decide(&self, kid: &str, now_ms: f64) -> KeyDecision<'_> {
        if let Some(key) = self.keys.iter().find(|k| k.kid == kid) {
            return KeyDecision::Use(key);
        }
        if may_fetch(self.last_fetch, now_ms) {
            return KeyDecision::Fetch;
        }
        match self.last_fetch {
            Some((_, false)) if self.keys.is_empty() => KeyDecision::Refuse(AccessRefusal::KeysUnavailable),
            _ => KeyDecision::Refuse(AccessRefusal::UnknownKey),
        }
    }

    /// Records a fetch at `now_ms`: a key set read replaces the keys; a failure keeps the keys
    /// known so far (the current ones stay usable while the team's endpoint is unreachable).
    pub fn record(&mut self, fetched: Result<Vec<Jwk>, String>, now_ms: f64) {
        match fetched {
            Ok(keys) => {
                self.keys = keys;
                self.last_fetch = Some((now_ms, true));
            }
            Err(_) => self.last_fetch = Some((now_ms, false)),
        }
    }
}

/// Whether the key set may be fetched again, given the last fetch (its time and whether it gave
/// keys) and now: never fetched, or at least [`REFETCH_INTERVAL_MS`] since a fetch that
/// succeeded, or [`RETRY_AFTER_FAILURE_MS`] since one that failed. A clock that went backwards
/// allows a fetch rather than locking everyone out.
pub fn may_fetch(last_fetch: Option<(f64, bool)>, now_ms: f64) -> bool {
    match last_fetch {
        None => true,
        Some((at, succeeded)) => {
            let wait = if succeeded { REFETCH_INTERVAL_MS } else { RETRY_AFTER_FAILURE_MS };
            now_ms < at || now_ms - at >= wait
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEAM: &str = "https://acme.cloudflareaccess.com";
    const AUD: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
    const NOW: f64 = 1_700_000_000.0;

    fn config() -> AccessConfig {
        AccessConfig { team_domain: TEAM.to_string(), aud: AUD.to_string() }
    }

    fn b64(bytes: &[u8]) -> String {
        base64::encode(bytes, base64::URL_SAFE, false)
    }

    fn token(header: &Value, claims: &Value, signature: &[u8]) -> String {
        format!("{}.{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()), b64(signature))
    }

    fn header() -> Value {
        json!({"alg": "RS256", "kid": "key-1", "typ": "JWT"})
    }

    /// Claims as Access issues them: `aud` an array, the times around `NOW`.
    fn claims() -> Value {
        json!({
            "aud": [AUD],
            "email": "ada@example.com",
            "exp": NOW + 3600.0,
            "iat": NOW - 10.0,
            "nbf": NOW - 10.0,
            "iss": TEAM,
            "type": "app",
            "identity_nonce": "6ei69kawdKzMIAPF",
            "sub": "7335d417-61da-459d-899c-0a01c76a2f94",
            "country": "US"
        })
    }

    fn check(claims: &Value, now: f64) -> Result<String, AccessRefusal> {
        check_claims(claims.to_string().as_bytes(), &config(), now)
    }

    fn with(mut claims: Value, name: &str, value: Value) -> Value {
        claims[name] = value;
        claims
    }

    fn without(mut claims: Value, name: &str) -> Value {
        claims.as_object_mut().unwrap().remove(name);
        claims
    }

    #[test]
    fn parse_splits_and_decodes_a_compact_token() {
        let text = token(&header(), &claims(), &[1, 2, 3, 250]);
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed.kid, "key-1");
        assert_eq!(parsed.signature, vec![1, 2, 3, 250]);
        let (signed, _) = text.rsplit_once('.').unwrap();
        assert_eq!(parsed.signing_input, signed.as_bytes(), "the signature covers header.payload as sent");
        assert_eq!(serde_json::from_slice::<Value>(&parsed.payload).unwrap(), claims());
        assert_eq!(parse(&format!("  {text} ")).unwrap(), parsed, "surrounding space is not part of it");
    }

    #[test]
    fn parse_refuses_every_algorithm_but_rs256() {
        for alg in [json!("none"), json!("None"), json!("HS256"), json!("RS384"), json!("PS256"), json!("ES256"), json!("rs256"), json!(null), json!(["RS256"])] {
            let h = json!({"alg": alg, "kid": "key-1"});
            assert_eq!(parse(&token(&h, &claims(), b"sig")), Err(AccessRefusal::Algorithm), "{alg}");
        }
        // `alg: none` usually comes with an empty signature: still the algorithm that refuses it.
        let none = format!("{}.{}.", b64(br#"{"alg":"none","kid":"key-1"}"#), b64(claims().to_string().as_bytes()));
        assert_eq!(parse(&none), Err(AccessRefusal::Algorithm));
        assert_eq!(parse(&token(&json!({"kid": "key-1"}), &claims(), b"sig")), Err(AccessRefusal::Algorithm), "no alg");
        let crit = json!({"alg": "RS256", "kid": "key-1", "crit": ["exp"]});
        assert_eq!(parse(&token(&crit, &claims(), b"sig")), Err(AccessRefusal::Algorithm), "an extension we do not understand");
    }

    #[test]
    fn parse_needs_a_key_id() {
        for h in [json!({"alg": "RS256"}), json!({"alg": "RS256", "kid": ""}), json!({"alg": "RS256", "kid": 7})] {
            assert_eq!(parse(&token(&h, &claims(), b"sig")), Err(AccessRefusal::NoKeyId), "{h}");
        }
    }

    #[test]
    fn parse_refuses_what_is_not_a_compact_token() {
        let good = token(&header(), &claims(), b"sig");
        let (h, rest) = good.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        let cases = [
            "abc".to_string(),
            format!("{h}.{p}"),
            format!("{h}.{p}.{s}.{s}"),
            format!("{h}.{p}.{s}.{s}.{s}"), // a JWE's five parts
            format!("{h}.{p}."),            // no signature
            format!("{h}!.{p}.{s}"),        // not base64url
            format!("+{h}.{p}.{s}"),        // the standard alphabet's characters
            format!("{h}.{p}.{s}/"),
            format!("{h}.{p}.{s}=="),
            format!("{h}.{p}!.{s}"),
            format!("{h}.{p}.{s}A"),         // a length no base64 has
            format!("{}.{p}.{s}", b64(b"{not json")),
            format!("{}.{p}.{s}", b64(b"[\"RS256\"]")),
            format!("{h}.{p}.{}", "A".repeat(MAX_ASSERTION_BYTES)),
        ];
        for case in cases {
            assert_eq!(parse(&case), Err(AccessRefusal::Malformed), "…{}", &case[case.len().saturating_sub(60)..]);
        }
        assert_eq!(parse(""), Err(AccessRefusal::Missing));
        assert_eq!(parse("   "), Err(AccessRefusal::Missing));
    }

    #[test]
    fn claims_give_the_person() {
        assert_eq!(check(&claims(), NOW), Ok("ada@example.com".to_string()));
    }

    #[test]
    fn claims_that_are_not_a_json_object_are_malformed() {
        assert_eq!(check_claims(b"{not json", &config(), NOW), Err(AccessRefusal::Malformed));
        assert_eq!(check_claims(b"[]", &config(), NOW), Err(AccessRefusal::Malformed));
        assert_eq!(check_claims(b"\"ada@example.com\"", &config(), NOW), Err(AccessRefusal::Malformed));
    }

    #[test]
    fn the_issuer_must_be_the_team_exactly() {
        for iss in [json!("https://evil.cloudflareaccess.com"), json!(format!("{TEAM}/")), json!("http://acme.cloudflareaccess.com"), json!("HTTPS://ACME.CLOUDFLAREACCESS.COM"), json!(null), json!([TEAM])] {
            assert_eq!(check(&with(claims(), "iss", iss.clone()), NOW), Err(AccessRefusal::Issuer), "{iss}");
        }
        assert_eq!(check(&without(claims(), "iss"), NOW), Err(AccessRefusal::Issuer));
    }

    #[test]
    fn the_audience_may_be_a_string_or_an_array_holding_ours() {
        assert!(check(&with(claims(), "aud", json!(AUD)), NOW).is_ok(), "a string");
        assert!(check(&with(claims(), "aud", json!(["other", AUD])), NOW).is_ok(), "among others");
        for aud in [json!("other"), json!(["other"]), json!([]), json!(format!("{AUD} ")), json!(AUD.to_uppercase()), json!([[AUD]]), json!({"aud": AUD}), json!(null), json!(1)] {
            assert_eq!(check(&with(claims(), "aud", aud.clone()), NOW), Err(AccessRefusal::Audience), "{aud}");
        }
        assert_eq!(check(&without(claims(), "aud"), NOW), Err(AccessRefusal::Audience));
    }

    #[test]
    fn expiry_holds_with_a_minute_of_leeway() {
        let exp = |at: f64| with(claims(), "exp", json!(at));
        assert!(check(&exp(NOW + 1.0), NOW).is_ok());
        assert!(check(&exp(NOW), NOW).is_ok(), "just expired, within the leeway");
        assert!(check(&exp(NOW - 59.0), NOW).is_ok());
        assert!(check(&exp(NOW - 59.999), NOW).is_ok());
        assert_eq!(check(&exp(NOW - 60.0), NOW), Err(AccessRefusal::Expired), "the leeway's edge");
        assert_eq!(check(&exp(NOW - 3600.0), NOW), Err(AccessRefusal::Expired));
        assert!(check(&exp(NOW + 0.5), NOW + 60.4).is_ok(), "fractional times");
    }

    #[test]
    fn a_token_without_expiry_is_refused() {
        assert_eq!(check(&without(claims(), "exp"), NOW), Err(AccessRefusal::NoExpiry));
        for exp in [json!(null), json!("1700003600"), json!([NOW])] {
            assert_eq!(check(&with(claims(), "exp", exp.clone()), NOW), Err(AccessRefusal::NoExpiry), "{exp}");
        }
    }

    #[test]
    fn not_before_holds_with_a_minute_of_leeway() {
        let nbf = |at: f64| with(claims(), "nbf", json!(at));
        assert!(check(&nbf(NOW), NOW).is_ok());
        assert!(check(&nbf(NOW + 60.0), NOW).is_ok(), "the leeway's edge: now equals nbf - 60");
        assert_eq!(check(&nbf(NOW + 60.001), NOW), Err(AccessRefusal::NotYetValid));
        assert_eq!(check(&nbf(NOW + 3600.0), NOW), Err(AccessRefusal::NotYetValid));
        assert!(check(&without(claims(), "nbf"), NOW).is_ok(), "nbf is optional");
        assert_eq!(check(&with(claims(), "nbf", json!("soon")), NOW), Err(AccessRefusal::NoExpiry), "but must be a time when present");
    }

    #[test]
    fn a_token_without_email_is_a_service_token() {
        let service = json!({"aud": [AUD], "exp": NOW + 60.0, "iss": TEAM, "common_name": "1f2e.access", "sub": ""});
        assert_eq!(check(&service, NOW), Err(AccessRefusal::ServiceToken));
        assert_eq!(check(&with(claims(), "email", json!(null)), NOW), Err(AccessRefusal::ServiceToken));
        assert_eq!(AccessRefusal::ServiceToken.status(), 403);
        // Only a token that passed every other check is a service token.
        assert_eq!(check(&with(service.clone(), "aud", json!("other")), NOW), Err(AccessRefusal::Audience));
        assert_eq!(check(&with(service, "exp", json!(NOW - 3600.0)), NOW), Err(AccessRefusal::Expired));
    }

    #[test]
    fn an_email_that_is_not_an_address_is_refused() {
        for email in [json!(""), json!("ada"), json!("@example.com"), json!("ada@"), json!("ada @example.com"), json!("<ada@example.com>"), json!(7), json!(["ada@example.com"])] {
            assert_eq!(check(&with(claims(), "email", email.clone()), NOW), Err(AccessRefusal::BadEmail), "{email}");
        }
    }

    #[test]
    fn refusals_answer_401_or_403_and_name_no_internals() {
        let all = [
            AccessRefusal::Missing,
            AccessRefusal::Malformed,
            AccessRefusal::Algorithm,
            AccessRefusal::NoKeyId,
            AccessRefusal::UnknownKey,
            AccessRefusal::KeysUnavailable,
            AccessRefusal::BadSignature,
            AccessRefusal::Issuer,
            AccessRefusal::Audience,
            AccessRefusal::NoExpiry,
            AccessRefusal::Expired,
            AccessRefusal::NotYetValid,
            AccessRefusal::BadEmail,
            AccessRefusal::ServiceToken,
        ];
        let mut reasons = std::collections::HashSet::new();
        for refusal in all {
            assert_eq!(refusal.status(), if refusal == AccessRefusal::ServiceToken { 403 } else { 401 });
            let message = refusal.message().to_ascii_lowercase();
            for internal in ["jwt", "kid", "alg", "aud", "iss", "exp", "nbf", "rs256", "signature", "jwks", "cf-access", "header", "claim"] {
                assert!(!message.split(|c: char| !c.is_ascii_alphanumeric() && c != '-').any(|w| w == internal), "{refusal:?} says {internal}");
            }
            assert!(reasons.insert(refusal.reason()), "{refusal:?} has its own reason");
            assert_eq!(refusal.to_string(), refusal.reason());
        }
    }

    /// A modulus of `bits` bits, base64url.
    fn modulus(bits: usize) -> String {
        let mut bytes = vec![0xffu8; bits / 8];
        bytes[0] = 0x80 | 0x3f;
        b64(&bytes)
    }

    #[test]
    fn the_key_set_keeps_the_rsa_signing_keys() {
        let n = modulus(2048);
        let body = json!({
            "keys": [
                {"kid": "a", "kty": "RSA", "alg": "RS256", "use": "sig", "e": "AQAB", "n": n},
                {"kid": "b", "kty": "RSA", "e": "AQAB", "n": n},
                {"kid": "ec", "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
                {"kid": "enc", "kty": "RSA", "use": "enc", "e": "AQAB", "n": n},
                {"kid": "ps", "kty": "RSA", "alg": "PS256", "e": "AQAB", "n": n},
                {"kid": "short", "kty": "RSA", "e": "AQAB", "n": modulus(1024)},
                {"kid": "bad-n", "kty": "RSA", "e": "AQAB", "n": "!!"},
                {"kid": "zero-e", "kty": "RSA", "e": "AA", "n": n},
                {"kty": "RSA", "e": "AQAB", "n": n},
                {"kid": "", "kty": "RSA", "e": "AQAB", "n": n},
                {"kid": "no-e", "kty": "RSA", "n": n}
            ],
            "public_cert": {"kid": "a", "cert": "-----BEGIN CERTIFICATE-----"},
            "public_certs": []
        });
        let keys = parse_jwks(body.to_string().as_bytes()).unwrap();
        let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, ["a", "b"]);
        assert_eq!(keys[0], Jwk { kid: "a".into(), n: n.clone(), e: "AQAB".into() });
        assert_eq!(parse_jwks(br#"{"keys": []}"#), Ok(vec![]));
    }

    #[test]
    fn a_key_set_that_is_not_one_is_an_error() {
        for body in [&b"<html>"[..], b"{}", br#"{"keys": {}}"#, b"[]"] {
            assert!(parse_jwks(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn modulus_size_counts_significant_bits() {
        assert_eq!(modulus_bits(&b64(&[0x01, 0x00])), Some(9));
        assert_eq!(modulus_bits(&b64(&[0x00, 0x80, 0x00])), Some(16), "a leading zero byte does not count");
        assert_eq!(modulus_bits(&b64(&[0x00])), None);
        assert_eq!(modulus_bits(&modulus(2048)), Some(2048));
    }

    fn jwk(kid: &str) -> Jwk {
        Jwk { kid: kid.to_string(), n: modulus(2048), e: "AQAB".to_string() }
    }

    const T: f64 = 1_700_000_000_000.0;

    #[test]
    fn the_first_token_fetches_the_keys() {
        let cache = KeyCache::default();
        assert_eq!(cache.decide("key-1", T), KeyDecision::Fetch);
    }

    #[test]
    fn a_known_kid_uses_its_cached_key_without_fetching() {
        let mut cache = KeyCache::default();
        cache.record(Ok(vec![jwk("key-1"), jwk("key-2")]), T);
        assert_eq!(cache.decide("key-2", T + 1.0), KeyDecision::Use(&jwk("key-2")));
        assert_eq!(cache.decide("key-1", T + 86_400_000.0), KeyDecision::Use(&jwk("key-1")), "however old");
    }

    #[test]
    fn an_unknown_kid_refetches_at_most_once_a_minute() {
        let mut cache = KeyCache::default();
        cache.record(Ok(vec![jwk("key-1")]), T);
        assert_eq!(cache.decide("key-2", T + 1.0), KeyDecision::Refuse(AccessRefusal::UnknownKey));
        assert_eq!(cache.decide("key-2", T + 59_999.0), KeyDecision::Refuse(AccessRefusal::UnknownKey));
        assert_eq!(cache.decide("key-2", T + 60_000.0), KeyDecision::Fetch, "a minute on: the keys may have rotated");
        // The rotation: the new key arrives, the old one stays for its last days.
        cache.record(Ok(vec![jwk("key-2"), jwk("key-1")]), T + 60_000.0);
        assert_eq!(cache.decide("key-2", T + 60_001.0), KeyDecision::Use(&jwk("key-2")));
        assert_eq!(cache.decide("forged", T + 60_001.0), KeyDecision::Refuse(AccessRefusal::UnknownKey));
    }

    #[test]
    fn a_failed_fetch_keeps_the_keys_and_retries_sooner() {
        let mut cache = KeyCache::default();
        cache.record(Err("unreachable".into()), T);
        assert_eq!(cache.decide("key-1", T + 1.0), KeyDecision::Refuse(AccessRefusal::KeysUnavailable));
        assert_eq!(cache.decide("key-1", T + RETRY_AFTER_FAILURE_MS), KeyDecision::Fetch);
        cache.record(Ok(vec![jwk("key-1")]), T + 20_000.0);
        cache.record(Err("unreachable".into()), T + 90_000.0);
        assert_eq!(cache.decide("key-1", T + 90_001.0), KeyDecision::Use(&jwk("key-1")), "known keys survive a failed refetch");
        assert_eq!(cache.decide("key-2", T + 90_001.0), KeyDecision::Refuse(AccessRefusal::UnknownKey));
    }

    #[test]
    fn the_fetch_policy_as_a_function() {
        assert!(may_fetch(None, T));
        assert!(!may_fetch(Some((T, true)), T));
        assert!(!may_fetch(Some((T, true)), T + REFETCH_INTERVAL_MS - 1.0));
        assert!(may_fetch(Some((T, true)), T + REFETCH_INTERVAL_MS));
        assert!(!may_fetch(Some((T, false)), T + RETRY_AFTER_FAILURE_MS - 1.0));
        assert!(may_fetch(Some((T, false)), T + RETRY_AFTER_FAILURE_MS));
        assert!(may_fetch(Some((T, true)), T - 1.0), "a clock that went back does not lock everyone out");
    }
}
