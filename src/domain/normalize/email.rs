//! E-mail addresses: the contact `email` key (API.md §5).
//!
//! Trimmed and lower-cased, nothing more: API.md does not ask for provider-specific rewriting
//! (Gmail dots, `+tags`), and doing it would merge addresses that other providers treat as
//! different mailboxes. A value only gets a key when it has the shape of an address (exactly one
//! `@`, something on both sides, no whitespace inside), so junk in the e-mail column (`n/a`,
//! `-`, two addresses) cannot make unrelated contacts match.
//!
//! Decisions: a leading `mailto:` (any case) is removed, with any `?subject=...` after it, since
//! people paste links; non-ASCII addresses are lower-cased in Unicode and NFC-composed.

use super::text;

const MAILTO: &str = "mailto:";

/// E-mail key, or `None` when the value is not shaped like one address.
///
/// ```
/// use edge_crm::domain::normalize::normalize_email;
/// assert_eq!(normalize_email(" John.Doe@ACME.com ").as_deref(), Some("john.doe@acme.com"));
/// assert_eq!(normalize_email("n/a"), None);
/// ```
#[must_use]
pub fn normalize_email(raw: &str) -> Option<String> {
    let mut s = raw.trim();
    let has_mailto = s
        .get(..MAILTO.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(MAILTO));
    if has_mailto {
        s = s[MAILTO.len()..].trim();
        s = s.split_once('?').map_or(s, |(address, _query)| address);
    }

    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = s.split_once('@')?;
    if local.is_empty() || domain.is_empty() || domain.contains('@') {
        return None;
    }

    if s.is_ascii() {
        Some(s.to_ascii_lowercase())
    } else {
        Some(text::nfc(&s.to_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(raw: &str) -> Option<String> {
        normalize_email(raw)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn trimmed_and_lower_cased() {
        assert_eq!(e("john@acme.com"), some("john@acme.com"));
        assert_eq!(e("  John.Doe@ACME.COM \n"), some("john.doe@acme.com"));
        assert_eq!(e("\tJOHN@ACME.COM\t"), some("john@acme.com"));
    }

    #[test]
    fn nothing_else_is_rewritten() {
        assert_eq!(e("john.doe+crm@gmail.com"), some("john.doe+crm@gmail.com"));
        assert_ne!(e("john.doe@gmail.com"), e("johndoe@gmail.com"));
        assert_eq!(e("john@mail.acme.com"), some("john@mail.acme.com"));
    }

    #[test]
    fn empty_gives_no_key() {
        assert_eq!(e(""), None);
        assert_eq!(e("   "), None);
        assert_eq!(e("\n"), None);
    }

    #[test]
    fn needs_exactly_one_at_with_both_sides() {
        assert_eq!(e("john"), None);
        assert_eq!(e("n/a"), None);
        assert_eq!(e("@acme.com"), None);
        assert_eq!(e("john@"), None);
        assert_eq!(e("@"), None);
        assert_eq!(e("john@@acme.com"), None);
        assert_eq!(e("a@b@acme.com"), None);
    }

    #[test]
    fn whitespace_inside_gives_no_key() {
        assert_eq!(e("john doe@acme.com"), None);
        assert_eq!(e("john@acme.com, jane@acme.com"), None);
        assert_eq!(e("john@acme.com\njane@acme.com"), None);
        assert_eq!(e("john@acme\u{0}.com"), None);
    }

    #[test]
    fn mailto_links() {
        assert_eq!(e("mailto:John@Acme.com"), some("john@acme.com"));
        assert_eq!(
            e("MAILTO:john@acme.com?subject=Hello%20there"),
            some("john@acme.com")
        );
        assert_eq!(e("mailto:"), None);
        assert_eq!(e("mailto:  "), None);
    }

    #[test]
    fn unicode_addresses() {
        assert_eq!(e("JOSÉ@Ejemplo.ES"), some("josé@ejemplo.es"));
        assert_eq!(e("jose\u{301}@ejemplo.es"), some("josé@ejemplo.es"));
        assert_eq!(e("用户@例子.广告"), some("用户@例子.广告"));
    }

    #[test]
    fn short_non_ascii_prefix_does_not_panic() {
        assert_eq!(e("mailé"), None);
        assert_eq!(e("maiíto:x"), None);
        assert_eq!(e("ééééé@x"), some("ééééé@x"));
    }

    #[test]
    fn very_long_address() {
        let local = "a".repeat(100_000);
        assert_eq!(
            e(&format!("{local}@ACME.COM")),
            Some(format!("{local}@acme.com"))
        );
    }
}
