//! A lenient splitter for URL-ish values as people type them into a CRM: with or without a
//! scheme, with credentials, ports, paths, queries and fragments, or as an e-mail address.
//!
//! This is not a URL parser (the `url` crate is not a dependency and a full WHATWG parser would be
//! far more than matching needs): it only finds the host and the path, and refuses the shapes
//! that have no host name at all (IPv6 literals, non-numeric ports).

use std::borrow::Cow;

/// The parts of a URL-ish value that the normalisers look at. Both are slices of the input,
/// untouched: case, percent-encoding and trailing dots are for the caller to handle.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UrlParts<'a> {
    /// Host as written, without credentials or port. May be empty (`http://`).
    pub host: &'a str,
    /// Path as written (starting with `/` or `\` when present), without query or fragment.
    pub path: &'a str,
}

/// Splits `raw` into host and path. `None` for an IPv6 literal (bracketed, or bare with several
/// colons) and for a port that is not a number: neither has a host name to match on.
pub(crate) fn split(raw: &str) -> Option<UrlParts<'_>> {
    let rest = strip_scheme(unwrap_angle_brackets(raw.trim()));

    // The authority ends where the path, query or fragment begins. Browsers treat `\` as `/` in
    // http(s) URLs, and people paste such URLs.
    let authority_end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(authority_end);
    let path_end = after.find(['?', '#']).unwrap_or(after.len());
    let path = &after[..path_end];

    // Credentials (`user:pw@`) or the local part of an e-mail address: the host is what follows the
    // last `@`, as in URL parsing.
    let host_port = authority.rsplit('@').next().unwrap_or(authority);

    if host_port.starts_with('[') {
        return None;
    }
    let host = match host_port.split_once(':') {
        None => host_port,
        Some((_, port)) if port.contains(':') => return None, // bare IPv6 such as `2001:db8::1`
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        Some(_) => return None,
    };
    Some(UrlParts { host, path })
}

/// `John Doe <john@acme.com>` and `<https://acme.com>` (mail headers, Markdown autolinks, rich-text
/// pastes) name the value between the last `<` and a final `>`.
fn unwrap_angle_brackets(s: &str) -> &str {
    match (s.strip_suffix('>'), s.rfind('<')) {
        (Some(inner), Some(open)) => inner[open + 1..].trim(),
        _ => s,
    }
}

/// Removes a leading scheme: `anything://`, `//` (scheme-relative), and the schemes people write
/// without slashes (`mailto:`, and the sloppy `http:acme.com` that browsers accept). A value such
/// as `acme.com:8080` or `localhost:3000` is *not* a scheme: a scheme is only taken when `//`
/// follows it or it is one of those few names.
fn strip_scheme(s: &str) -> &str {
    if let Some(rest) = s.strip_prefix("//") {
        return rest;
    }
    let Some((scheme, rest)) = s.split_once(':') else {
        return s;
    };
    if !is_scheme(scheme) {
        return s;
    }
    if rest.starts_with("//") || rest.starts_with("\\\\") {
        return &rest[2..];
    }
    let known_slashless = ["mailto", "http", "https"];
    if known_slashless
        .iter()
        .any(|k| scheme.eq_ignore_ascii_case(k))
    {
        return rest.trim_start_matches(['/', '\\']);
    }
    s
}

/// RFC 3986 scheme syntax: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Decodes `%XX` escapes. A `%` not followed by two hex digits stays literal (as browsers do).
/// `None` when the decoded bytes are not UTF-8: such a value cannot be a real name, and guessing
/// an encoding would make keys that depend on the guess.
pub(crate) fn percent_decode(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('%') {
        return Some(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(raw: &str) -> Option<(&str, &str)> {
        split(raw).map(|p| (p.host, p.path))
    }

    #[test]
    fn bare_host() {
        assert_eq!(parts("acme.com"), Some(("acme.com", "")));
        assert_eq!(parts("  acme.com  "), Some(("acme.com", "")));
    }

    #[test]
    fn full_url() {
        assert_eq!(
            parts("https://user:pw@WWW.Acme.COM.:8080/x/y?q=1#frag"),
            Some(("WWW.Acme.COM.", "/x/y"))
        );
    }

    #[test]
    fn scheme_relative_and_other_schemes() {
        assert_eq!(parts("//acme.com/a"), Some(("acme.com", "/a")));
        assert_eq!(parts("ftp://acme.com"), Some(("acme.com", "")));
        assert_eq!(parts("HTTPS://acme.com"), Some(("acme.com", "")));
        assert_eq!(parts("http:acme.com/x"), Some(("acme.com", "/x")));
        assert_eq!(parts("https:/acme.com"), Some(("acme.com", "")));
    }

    #[test]
    fn email_and_mailto() {
        assert_eq!(parts("john@mail.acme.com"), Some(("mail.acme.com", "")));
        assert_eq!(
            parts("mailto:john@acme.com?subject=hi"),
            Some(("acme.com", ""))
        );
        assert_eq!(parts("a@b@acme.com"), Some(("acme.com", "")));
    }

    #[test]
    fn angle_brackets() {
        assert_eq!(parts("John Doe <John@Acme.com>"), Some(("Acme.com", "")));
        assert_eq!(parts("<https://acme.com/x>"), Some(("acme.com", "/x")));
        assert_eq!(parts("< acme.com >"), Some(("acme.com", "")));
        assert_eq!(parts("acme.com>"), Some(("acme.com>", "")));
    }

    #[test]
    fn at_sign_in_path_is_not_credentials() {
        assert_eq!(parts("medium.com/@acme"), Some(("medium.com", "/@acme")));
    }

    #[test]
    fn host_with_port_is_not_a_scheme() {
        assert_eq!(parts("acme.com:8080/x"), Some(("acme.com", "/x")));
        assert_eq!(parts("localhost:3000"), Some(("localhost", "")));
        assert_eq!(parts("acme.com:"), Some(("acme.com", "")));
    }

    #[test]
    fn bad_port_and_ipv6_are_refused() {
        assert_eq!(parts("acme.com:http"), None);
        assert_eq!(parts("http://[::1]:8080/"), None);
        assert_eq!(parts("[2001:db8::1]"), None);
        assert_eq!(parts("2001:db8::1"), None);
        assert_eq!(parts("::1"), None);
    }

    #[test]
    fn backslash_ends_the_authority() {
        assert_eq!(
            parts("https://acme.com\\about"),
            Some(("acme.com", "\\about"))
        );
    }

    #[test]
    fn query_and_fragment_without_path() {
        assert_eq!(parts("acme.com?x=/y"), Some(("acme.com", "")));
        assert_eq!(parts("acme.com#/y"), Some(("acme.com", "")));
    }

    #[test]
    fn empty_after_scheme() {
        assert_eq!(parts("http://"), Some(("", "")));
        assert_eq!(parts(""), Some(("", "")));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("abc").as_deref(), Some("abc"));
        assert_eq!(percent_decode("jos%C3%A9").as_deref(), Some("josé"));
        assert_eq!(percent_decode("a%2db").as_deref(), Some("a-b"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("100%-x").as_deref(), Some("100%-x"));
        assert_eq!(percent_decode("%4").as_deref(), Some("%4"));
        assert_eq!(percent_decode("%FF%FE"), None);
    }
}
