//! Who may see the pages (API.md §2): a person signed in through Cloudflare Access (the token's
//! checks are in `domain::access`), or, for small teams and development, HTTP Basic auth with
//! `DASHBOARD_PASSWORD`. A browser following an "Open in CRM" link cannot send the API key
//! header, so pages have their own credentials; the API key never opens a page, and no page
//! credential opens the API. Decided here, pure: the Worker reads the headers and answers what
//! it is told.

use crate::domain::auth::{constant_time_eq, ApiKeys};
use crate::domain::base64;

/// The challenge a `401` carries, so the browser asks for the password. `charset` tells it to
/// send the password as UTF-8 (RFC 7617), which [`basic_password`] expects.
pub const CHALLENGE: &str = "Basic realm=\"edge-crm\", charset=\"UTF-8\"";

/// How a page request is let in (API.md §2), decided before anything is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Neither Cloudflare Access nor a password is configured: the pages do not exist (`404`),
    /// so no record is readable without a credential.
    NoPages,
    /// Cloudflare Access is configured: the request's token decides, and nothing else opens a
    /// page (the shared password included).
    Access,
    /// The shared password was right. `user` is the Basic user name: it names the person only
    /// when it is a stored user's email (anyone with the password can say it).
    Password { user: String },
    /// A missing or wrong password; `presented` when one was sent (it counts against the
    /// client's rate limit).
    Denied { presented: bool },
}

/// Decides a page request from the configuration (`access`: Access is set up) and the
/// `Authorization` header. The password is compared in constant time. A presented password that
/// is also an API key is refused even when it equals the page password: an operator who set both
/// to one value would otherwise let the API key open the pages.
pub fn sign_in(access: bool, password: Option<&str>, api_keys: &ApiKeys, authorization: Option<&str>) -> SignIn {
    if access {
        return SignIn::Access;
    }
    let Some(password) = password else {
        return SignIn::NoPages;
    };
    let Some((user, presented)) = authorization.and_then(basic_credentials) else {
        return SignIn::Denied { presented: authorization.is_some() };
    };
    let matches = constant_time_eq(presented.as_bytes(), password.as_bytes());
    if matches && !api_keys.verify(Some(&presented)) {
        SignIn::Password { user }
    } else {
        SignIn::Denied { presented: true }
    }
}

/// Why a page was not shown, and the page that says so. None of them names a record, a
/// configuration detail or why a token failed (that goes to the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No credential is configured (`404`).
    NoPages,
    /// The password is needed (`401` with [`CHALLENGE`]).
    PasswordNeeded,
    /// Too many wrong passwords from this address (`429` with `Retry-After`).
    TooManyAttempts { retry_after: u32 },
    /// No valid Cloudflare Access token (`401`).
    NotSignedIn,
    /// A valid Access token that names no person: a service token (`403`).
    NoPerson,
}

impl Refusal {
    /// The answer to a wrong password: `429` once the client's failures are over the limit.
    pub fn wrong_password(limited: bool, retry_after: u32) -> Refusal {
        match limited {
            true => Refusal::TooManyAttempts { retry_after },
            false => Refusal::PasswordNeeded,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Refusal::NoPages => 404,
            Refusal::PasswordNeeded | Refusal::NotSignedIn => 401,
            Refusal::NoPerson => 403,
            Refusal::TooManyAttempts { .. } => 429,
        }
    }

    /// The page's title and sentence.
    pub fn words(&self) -> (&'static str, String) {
        match self {
            Refusal::NoPages => ("Not found", "There is no page here.".into()),
            Refusal::PasswordNeeded => ("Sign-in needed", "This page needs the dashboard password (your email as the user name).".into()),
            Refusal::TooManyAttempts { retry_after } => {
                ("Too many attempts", format!("Too many wrong passwords from this address. Try again in {retry_after} seconds."))
            }
            Refusal::NotSignedIn => (
                "Sign-in needed",
                "This page is for people signed in through the team's Cloudflare Access. Open it again from the team's address to sign in.".into(),
            ),
            Refusal::NoPerson => ("Not a person", "This sign-in names no person, so it cannot open the CRM's pages.".into()),
        }
    }

    /// Headers the answer carries beside the pages' own.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Refusal::PasswordNeeded => vec![("WWW-Authenticate", CHALLENGE.to_string())],
            Refusal::TooManyAttempts { retry_after } => vec![("Retry-After", retry_after.to_string())],
            _ => Vec::new(),
        }
    }
}

/// A refused Access token: a service token is `403` (it names no person), anything else `401`.
impl From<crate::domain::access::AccessRefusal> for Refusal {
    fn from(refused: crate::domain::access::AccessRefusal) -> Refusal {
        match refused.status() {
            403 => Refusal::NoPerson,
            _ => Refusal::NotSignedIn,
        }
    }
}

/// Who is at a page, once let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The person's email: verified by Access, or a stored user's email given as the Basic user
    /// name. `None`: someone with the shared password who named no user.
    pub email: Option<String>,
}

/// What history says of a write from a page by someone who named no user.
pub const SHARED_ACTOR: &str = "dashboard";

impl Person {
    /// Who history says did a write: the person's email, or `dashboard`.
    pub fn actor(&self) -> &str {
        self.email.as_deref().unwrap_or(SHARED_ACTOR)
    }

    /// How the header names them.
    pub fn label(&self) -> String {
        match &self.email {
            Some(email) => email.clone(),
            None => "the team (shared password)".to_string(),
        }
    }
}

/// The user name and password of an `Authorization: Basic <base64(user:password)>` header
/// (RFC 7617), the scheme name in any case. `None` for any other scheme, bad base64, no colon,
/// or text that is not UTF-8.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let header = header.trim();
    let (scheme, token) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64::decode(token.trim(), base64::STANDARD)?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The password of a Basic `Authorization` header (see [`basic_credentials`]).
pub fn basic_password(header: &str) -> Option<String> {
    basic_credentials(header).map(|(_, password)| password)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "key_aaaaaaaaaaaaaaaaaaaa";

    fn keys() -> ApiKeys {
        ApiKeys::parse(KEY).unwrap()
    }

    #[test]
    fn basic_header_gives_the_password() {
        // "ada:s3cret pass" and "ada:pa:ss" (a colon in the password), "Zoë:pässword" in UTF-8.
        assert_eq!(basic_password("Basic YWRhOnMzY3JldCBwYXNz").as_deref(), Some("s3cret pass"));
        assert_eq!(basic_password("basic   YWRhOnBhOnNz ").as_deref(), Some("pa:ss"));
        assert_eq!(basic_password("BASIC Wm/Dqzpww6Rzc3dvcmQ=").as_deref(), Some("pässword"));
        assert_eq!(basic_password("Basic OnB3").as_deref(), Some("pw"), "empty user name");
    }

    #[test]
    fn basic_header_refuses_other_shapes() {
        for bad in ["Bearer YWRhOnB3", "Basic", "Basic !!!", "Basic YWRh", "YWRhOnB3", "Basic /w==", ""] {
            assert_eq!(basic_password(bad), None, "{bad}");
        }
    }

    fn header(password: &str) -> String {
        format!("Basic {}", base64::encode(format!("anyone:{password}").as_bytes(), base64::STANDARD, true))
    }

    #[test]
    fn the_test_encoder_matches_the_decoder() {
        assert_eq!(basic_password(&header("correct horse")).as_deref(), Some("correct horse"));
        assert_eq!(basic_password(&header("ab")).as_deref(), Some("ab"));
        assert_eq!(basic_password(&header("abc")).as_deref(), Some("abc"));
    }

    fn password(pw: Option<&str>, authorization: Option<&str>) -> SignIn {
        sign_in(false, pw, &keys(), authorization)
    }

    #[test]
    fn no_credential_configured_means_no_pages() {
        assert_eq!(password(None, Some(&header("anything"))), SignIn::NoPages);
        assert_eq!(password(None, None), SignIn::NoPages);
    }

    #[test]
    fn only_the_right_password_opens_the_pages() {
        let pw = Some("correct horse");
        assert_eq!(password(pw, Some(&header("correct horse"))), SignIn::Password { user: "anyone".into() });
        assert_eq!(password(pw, None), SignIn::Denied { presented: false });
        assert_eq!(password(pw, Some(&header("correct hors"))), SignIn::Denied { presented: true });
        assert_eq!(password(pw, Some(&header("correct horse "))), SignIn::Denied { presented: true });
        assert_eq!(password(pw, Some(&header("CORRECT HORSE"))), SignIn::Denied { presented: true });
        assert_eq!(password(pw, Some("correct horse")), SignIn::Denied { presented: true }, "not Basic");
    }

    #[test]
    fn the_basic_user_name_is_kept_to_name_the_person() {
        let h = format!("Basic {}", base64::encode(b"ada@example.com:correct horse", base64::STANDARD, true));
        assert_eq!(password(Some("correct horse"), Some(&h)), SignIn::Password { user: "ada@example.com".into() });
        assert_eq!(basic_credentials(&h), Some(("ada@example.com".into(), "correct horse".into())));
    }

    #[test]
    fn an_api_key_never_opens_the_pages() {
        assert_eq!(password(Some("correct horse"), Some(&header(KEY))), SignIn::Denied { presented: true });
        // Not even when the operator made the password equal to a key.
        assert_eq!(password(Some(KEY), Some(&header(KEY))), SignIn::Denied { presented: true });
    }

    #[test]
    fn with_access_set_up_the_password_opens_nothing() {
        for authorization in [None, Some(header("correct horse"))] {
            assert_eq!(sign_in(true, Some("correct horse"), &keys(), authorization.as_deref()), SignIn::Access);
        }
        assert_eq!(sign_in(true, None, &keys(), None), SignIn::Access);
    }

    #[test]
    fn refusals_answer_their_status_and_say_nothing_internal() {
        assert_eq!(Refusal::wrong_password(false, 60), Refusal::PasswordNeeded);
        assert_eq!(Refusal::wrong_password(true, 60), Refusal::TooManyAttempts { retry_after: 60 });
        let all = [Refusal::NoPages, Refusal::PasswordNeeded, Refusal::TooManyAttempts { retry_after: 60 }, Refusal::NotSignedIn, Refusal::NoPerson];
        let statuses: Vec<u16> = all.iter().map(Refusal::status).collect();
        assert_eq!(statuses, [404, 401, 429, 401, 403]);
        assert_eq!(Refusal::PasswordNeeded.headers(), vec![("WWW-Authenticate", CHALLENGE.to_string())]);
        assert_eq!(Refusal::TooManyAttempts { retry_after: 60 }.headers(), vec![("Retry-After", "60".to_string())]);
        assert!(Refusal::NotSignedIn.headers().is_empty(), "Access refusals never ask the browser for a password");
        for r in &all {
            let (_, sentence) = r.words();
            for word in ["kid", "aud", "iss", "JWT", "token", "exp"] {
                assert!(!sentence.contains(word), "{r:?}: {sentence}");
            }
        }
    }

    #[test]
    fn an_access_refusal_is_a_401_page_but_for_a_service_token() {
        use crate::domain::access::AccessRefusal;
        assert_eq!(Refusal::from(AccessRefusal::Expired), Refusal::NotSignedIn);
        assert_eq!(Refusal::from(AccessRefusal::BadSignature).status(), 401);
        assert_eq!(Refusal::from(AccessRefusal::ServiceToken), Refusal::NoPerson);
        assert_eq!(Refusal::from(AccessRefusal::ServiceToken).status(), 403);
    }

    #[test]
    fn a_person_is_their_email_or_the_shared_dashboard() {
        assert_eq!(Person { email: Some("ada@example.com".into()) }.actor(), "ada@example.com");
        assert_eq!(Person { email: None }.actor(), "dashboard");
    }
}
