//! What a page's form sends back, and why the server may believe it (API.md §9).
//!
//! The pages sign in with HTTP Basic, which a browser sends on its own with any request to this
//! site, a forged one from another site included. So a form that writes (the merge review) must
//! also prove it came from a page this server rendered for this browser:
//!
//! - **A session.** Every page sets a random session cookie when the browser has none:
//!   `HttpOnly`, `SameSite=Strict`, and over HTTPS `Secure` with the `__Host-` prefix, so another
//!   site can neither read it, nor send it, nor plant one of its own.
//! - **A token tied to it.** The form carries `HMAC-SHA-256(password, session)`: only a page this
//!   server rendered for this session holds it, it dies with the session, and it dies when the
//!   password changes.
//! - **Same origin.** A browser marks where a request came from (`Sec-Fetch-Site`, `Origin`); a
//!   form post from another site is refused whatever it carries.
//!
//! Everything here is pure; the Worker reads the headers and the body and sends what it is told.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::auth::constant_time_eq;

/// The session cookie's name over HTTPS: the `__Host-` prefix makes the browser refuse it unless
/// it is `Secure`, for this host only and for every path.
pub const SECURE_COOKIE: &str = "__Host-edge-crm-session";
/// Its name over plain HTTP (`wrangler dev` on localhost), where `Secure` cannot be asked for.
pub const PLAIN_COOKIE: &str = "edge-crm-session";
/// How long a session lives: a review page left open a working day still merges.
pub const SESSION_SECONDS: u32 = 12 * 60 * 60;
/// Hex digits of a session id (128 random bits).
const SESSION_LEN: usize = 32;

/// The cookie's name for a request over HTTPS (`secure`) or plain HTTP.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE
    } else {
        PLAIN_COOKIE
    }
}

/// The session id the `Cookie` header carries, when it is one this server could have set: 32
/// lowercase hex digits under this scheme's name.
pub fn session_of(cookie_header: Option<&str>, secure: bool) -> Option<String> {
    let name = cookie_name(secure);
    cookie_header?.split(';').find_map(|pair| {
        let (n, v) = pair.trim().split_once('=')?;
        let v = v.trim();
        (n.trim() == name && is_session(v)).then(|| v.to_string())
    })
}

fn is_session(text: &str) -> bool {
    text.len() == SESSION_LEN && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A session id from 16 random bytes.
pub fn new_session(random: [u8; 16]) -> String {
    hex(&random)
}

/// The `Set-Cookie` value that starts `session`.
pub fn set_cookie(session: &str, secure: bool) -> String {
    let mut cookie = format!("{}={session}; Path=/; Max-Age={SESSION_SECONDS}; HttpOnly; SameSite=Strict", cookie_name(secure));
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The key of a person's form tokens: the pages' secret (the dashboard password, or with Access
/// the API keys, which no page shows) and who the person is, so a token made for one person is
/// refused for another sharing the browser.
pub fn form_key(secret: &str, person: &str) -> String {
    format!("{person}\n{secret}")
}

/// The token a form of `session` carries: HMAC-SHA-256 keyed by the dashboard password, hex.
pub fn form_token(password: &str, session: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(password.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(b"edge-crm form v1\n");
    mac.update(session.as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What every form of a page carries: the session's token and an id of its own (`formId`), the
/// `Idempotency-Key` of the write it asks for, so a form sent twice (a double click, a reload
/// that posts again) writes once and answers the same. The ids are the page's random seed and a
/// counter: unique per form, per page view.
#[derive(Debug, Clone, Default)]
pub struct Forms {
    pub token: String,
    seed: String,
    issued: std::cell::Cell<usize>,
}

/// The most characters of a `formId` taken from a post (a seed of 32 hex digits and a counter).
pub const MAX_FORM_ID: usize = 48;

impl Forms {
    pub fn new(token: &str, seed: &str) -> Forms {
        Forms { token: token.to_string(), seed: seed.to_string(), issued: Default::default() }
    }

    /// A new form's id.
    pub fn next_id(&self) -> String {
        let n = self.issued.get() + 1;
        self.issued.set(n);
        format!("{}-{n}", self.seed)
    }

    /// The hidden inputs of a new form: its token, its id, and the page to go back to. Answers
    /// the form's id (its inputs' ids can start with it, so they are unique in the page too).
    pub fn hidden(&self, h: &mut super::html::Html, back: &str) -> String {
        let id = self.next_id();
        h.raw("<input type=\"hidden\" name=\"token\" value=\"").text(&self.token).raw("\">");
        h.raw("<input type=\"hidden\" name=\"formId\" value=\"").text(&id).raw("\">");
        h.raw("<input type=\"hidden\" name=\"back\" value=\"").text(back).raw("\">");
        id
    }
}

/// The idempotency key of a posted form: its `formId`, when it is one a page could have issued.
pub fn form_key_of(form: &[(String, String)]) -> Option<String> {
    let id = form.iter().find(|(k, _)| k == "formId").map(|(_, v)| v.trim())?;
    let plain = !id.is_empty() && id.len() <= MAX_FORM_ID && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    plain.then(|| format!("form-{id}"))
}

/// Why a form post was refused (`403`, nothing written). Each says what the person can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The browser marked the post as coming from another site.
    CrossSite,
    /// No session cookie came: cookies are blocked, or the session expired.
    NoSession,
    /// The token is missing or is not this session's (a stale page, or a forged form).
    BadToken,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::CrossSite => "This form was sent from another site, so nothing was changed.",
            Refusal::NoSession => {
                "Your session has expired or this browser does not keep cookies for this site, so nothing was changed. Reload the page and send it again."
            }
            Refusal::BadToken => "This form is out of date or was not made by this server, so nothing was changed. Reload the page and send it again.",
        }
    }
}

/// What the server knows of a form post.
#[derive(Debug, Clone, Copy, Default)]
pub struct Post<'a> {
    /// The session the cookie names ([`session_of`]).
    pub session: Option<&'a str>,
    /// The form's `token` field.
    pub token: Option<&'a str>,
    /// The `Sec-Fetch-Site` header.
    pub fetch_site: Option<&'a str>,
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// This server's origin as the request reached it (`https://crm.example.com`).
    pub own_origin: &'a str,
}

/// Whether a form post may write. The origin headers are checked when the browser sent them
/// (every current browser does on a post); the session and its token always. `Origin: null`
/// tells nothing: a browser sends it for a form of a page under `Referrer-Policy: no-referrer`,
/// which every page here is, so there `Sec-Fetch-Site` speaks.
pub fn check_post(password: &str, post: &Post<'_>) -> Result<(), Refusal> {
    if post.fetch_site.is_some_and(|s| !s.eq_ignore_ascii_case("same-origin")) {
        return Err(Refusal::CrossSite);
    }
    if post.origin.is_some_and(|o| o != "null" && o != post.own_origin) {
        return Err(Refusal::CrossSite);
    }
    let session = post.session.ok_or(Refusal::NoSession)?;
    let token = post.token.ok_or(Refusal::BadToken)?;
    match constant_time_eq(token.as_bytes(), form_token(password, session).as_bytes()) {
        true => Ok(()),
        false => Err(Refusal::BadToken),
    }
}

/// The fields of an `application/x-www-form-urlencoded` body, in order, names repeated as sent.
/// `+` is a space and `%XX` a byte; a bad escape is kept as written, and bytes that are not
/// UTF-8 become U+FFFD (a form field is never refused for its spelling).
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &[][..]),
            };
            (decode(name), decode(value))
        })
        .collect()
}

fn decode(text: &[u8]) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < text.len() => {
                match (hex_digit(text[i + 1]), hex_digit(text[i + 2])) {
                    (Some(a), Some(b)) => {
                        out.push(a * 16 + b);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn every_form_of_a_page_has_its_own_id_and_a_post_names_its_key() {
        let forms = Forms::new("t0k", "abc123");
        assert_eq!((forms.next_id(), forms.next_id()), ("abc123-1".to_string(), "abc123-2".to_string()));
        let mut h = super::super::html::Html::new();
        forms.hidden(&mut h, "/view/work");
        let html = h.finish();
        assert!(html.contains("name=\"token\" value=\"t0k\"") && html.contains("name=\"formId\" value=\"abc123-3\""), "{html}");
        assert!(html.contains("name=\"back\" value=\"/view/work\""), "{html}");
        let post = |id: &str| form_key_of(&[("formId".to_string(), id.to_string())]);
        assert_eq!(post("abc123-3").as_deref(), Some("form-abc123-3"));
        assert_eq!(post(""), None);
        assert_eq!(post("a b"), None);
        assert_eq!(post(&"a".repeat(49)), None);
        assert_eq!(form_key_of(&[]), None);
    }

    #[test]
    fn the_token_is_hmac_sha256_of_the_session_under_the_password() {
        // RFC 4231 test case 2 checks the primitive itself.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(hex(&mac.finalize().into_bytes()), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let t = form_token("pw", SESSION);
        assert_eq!(t.len(), 64);
        assert_eq!(t, form_token("pw", SESSION), "deterministic");
        assert_ne!(t, form_token("pw2", SESSION), "another password, another token");
        assert_ne!(t, form_token("pw", &SESSION.replace('0', "1")), "another session, another token");
    }

    fn post<'a>(session: Option<&'a str>, token: Option<&'a str>) -> Post<'a> {
        Post { session, token, fetch_site: Some("same-origin"), origin: Some("https://crm.example.com"), own_origin: "https://crm.example.com" }
    }

    #[test]
    fn only_this_sessions_token_from_this_site_may_write() {
        let token = form_token("pw", SESSION);
        assert_eq!(check_post("pw", &post(Some(SESSION), Some(&token))), Ok(()));
        assert_eq!(check_post("pw", &post(None, Some(&token))), Err(Refusal::NoSession));
        assert_eq!(check_post("pw", &post(Some(SESSION), None)), Err(Refusal::BadToken));
        let other = SESSION.replace('a', "b");
        assert_eq!(check_post("pw", &post(Some(&other), Some(&token))), Err(Refusal::BadToken), "a token of another session");
        assert_eq!(check_post("new password", &post(Some(SESSION), Some(&token))), Err(Refusal::BadToken));
        let mut cross = post(Some(SESSION), Some(&token));
        cross.fetch_site = Some("cross-site");
        assert_eq!(check_post("pw", &cross), Err(Refusal::CrossSite));
        let mut cross = post(Some(SESSION), Some(&token));
        cross.fetch_site = None;
        cross.origin = Some("https://evil.example");
        assert_eq!(check_post("pw", &cross), Err(Refusal::CrossSite));
        // Chromium's form post from a page under `no-referrer`: `Origin: null`, `same-origin`.
        let null = Post { origin: Some("null"), ..post(Some(SESSION), Some(&token)) };
        assert_eq!(check_post("pw", &null), Ok(()));
        let null_cross = Post { origin: Some("null"), fetch_site: Some("cross-site"), ..post(Some(SESSION), Some(&token)) };
        assert_eq!(check_post("pw", &null_cross), Err(Refusal::CrossSite));
        // An older client that sends neither header still needs the session and its token.
        let bare = Post { fetch_site: None, origin: None, ..post(Some(SESSION), Some(&token)) };
        assert_eq!(check_post("pw", &bare), Ok(()));
    }

    #[test]
    fn the_cookie_is_strict_and_only_a_well_formed_session_is_read_back() {
        let c = set_cookie(SESSION, true);
        assert!(c.starts_with("__Host-edge-crm-session=0123"), "{c}");
        for part in ["Path=/", "HttpOnly", "SameSite=Strict", "Secure", "Max-Age=43200"] {
            assert!(c.contains(part), "{c} lacks {part}");
        }
        assert!(!set_cookie(SESSION, false).contains("Secure"));
        let header = format!("theme=dark; __Host-edge-crm-session={SESSION}; x=y");
        assert_eq!(session_of(Some(&header), true).as_deref(), Some(SESSION));
        assert_eq!(session_of(Some(&header), false), None, "the plain name is another cookie");
        assert_eq!(session_of(Some("edge-crm-session=xyz"), false), None, "not a session this server sets");
        assert_eq!(session_of(Some(&format!("edge-crm-session={}", SESSION.to_uppercase())), false), None);
        assert_eq!(session_of(None, true), None);
        assert_eq!(new_session([0xab; 16]).len(), 32);
    }

    #[test]
    fn form_bodies_decode_like_browsers_encode_them() {
        let f = parse_form(b"token=ab&ids=ct_1&ids=ct_2&field%3Aemail=ct_2&note=a+b%20c%26d&empty=&bare&bad=%zz%4");
        assert_eq!(
            f,
            [
                ("token", "ab"),
                ("ids", "ct_1"),
                ("ids", "ct_2"),
                ("field:email", "ct_2"),
                ("note", "a b c&d"),
                ("empty", ""),
                ("bare", ""),
                ("bad", "%zz%4"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(parse_form("caf%C3%A9=%E2%9C%93".as_bytes()), [("café".to_string(), "✓".to_string())]);
        assert_eq!(parse_form(b"x=%FF")[0].1, "\u{FFFD}");
        assert!(parse_form(b"").is_empty());
    }
}
