//! Who may see the pages (API.md §2): HTTP Basic auth with `DASHBOARD_PASSWORD`, any user name.
//! A browser following an "Open in CRM" link cannot send the API key header, so pages have their
//! own credential; the two never stand in for each other.

use crate::domain::auth::{constant_time_eq, ApiKeys};
use crate::domain::base64;

/// The challenge a `401` carries, so the browser asks for the password. `charset` tells it to
/// send the password as UTF-8 (RFC 7617), which [`basic_password`] expects.
pub const CHALLENGE: &str = "Basic realm=\"edge-crm\", charset=\"UTF-8\"";

/// What a page request may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAccess {
    /// No `DASHBOARD_PASSWORD` is set: the pages do not exist (`404`), so no record is readable
    /// without a credential.
    NoPages,
    /// A missing or wrong password (`401` with [`CHALLENGE`]).
    Denied,
    Granted,
}

/// Decides a page request from the configured password, the API keys and the `Authorization`
/// header. The password is compared in constant time. A presented password that is also an API
/// key is refused even when it equals the page password: an operator who set both to one value
/// would otherwise let the API key open the pages.
pub fn page_access(password: Option<&str>, api_keys: &ApiKeys, authorization: Option<&str>) -> PageAccess {
    let Some(password) = password else {
        return PageAccess::NoPages;
    };
    let Some(presented) = authorization.and_then(basic_password) else {
        return PageAccess::Denied;
    };
    let matches = constant_time_eq(presented.as_bytes(), password.as_bytes());
    if matches && !api_keys.verify(Some(&presented)) {
        PageAccess::Granted
    } else {
        PageAccess::Denied
    }
}

/// The password of an `Authorization: Basic <base64(user:password)>` header (RFC 7617): the
/// scheme name in any case, the user name ignored. `None` for any other scheme, bad base64, no
/// colon, or a password that is not UTF-8.
pub fn basic_password(header: &str) -> Option<String> {
    let header = header.trim();
    let (scheme, token) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64::decode(token.trim(), base64::STANDARD)?).ok()?;
    let (_user, password) = decoded.split_once(':')?;
    Some(password.to_string())
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

    #[test]
    fn no_password_means_no_pages() {
        assert_eq!(page_access(None, &keys(), Some(&header("anything"))), PageAccess::NoPages);
        assert_eq!(page_access(None, &keys(), None), PageAccess::NoPages);
    }

    #[test]
    fn only_the_right_password_opens_the_pages() {
        let pw = Some("correct horse");
        assert_eq!(page_access(pw, &keys(), Some(&header("correct horse"))), PageAccess::Granted);
        assert_eq!(page_access(pw, &keys(), None), PageAccess::Denied);
        assert_eq!(page_access(pw, &keys(), Some(&header("correct hors"))), PageAccess::Denied);
        assert_eq!(page_access(pw, &keys(), Some(&header("correct horse "))), PageAccess::Denied);
        assert_eq!(page_access(pw, &keys(), Some(&header("CORRECT HORSE"))), PageAccess::Denied);
        assert_eq!(page_access(pw, &keys(), Some("correct horse")), PageAccess::Denied, "not Basic");
    }

    #[test]
    fn an_api_key_never_opens_the_pages() {
        assert_eq!(page_access(Some("correct horse"), &keys(), Some(&header(KEY))), PageAccess::Denied);
        // Not even when the operator made the password equal to a key.
        assert_eq!(page_access(Some(KEY), &keys(), Some(&header(KEY))), PageAccess::Denied);
    }
}
