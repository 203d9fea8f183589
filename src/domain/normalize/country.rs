//! Countries: the company `country` key (API.md §5).
//!
//! Trimmed and case folded; ISO codes and names are compared as given, so `ES` equals `es` but
//! not `Spain` (mapping names to codes would need a table in every language, and API.md does not
//! ask for it). Accents are kept: `España` is how the sender wrote it, and API.md asks only for
//! trimming and case folding here.
//!
//! Decision: runs of inner whitespace collapse to one space as well (`United  Kingdom` equals
//! `United Kingdom`): no country is told apart by a double space, and spreadsheets produce them.

use super::text;

/// Country key, or `None` when the value is empty or whitespace only.
///
/// ```
/// use edge_crm::domain::normalize::normalize_country;
/// assert_eq!(normalize_country(" Spain ").as_deref(), Some("spain"));
/// ```
#[must_use]
pub fn normalize_country(raw: &str) -> Option<String> {
    let words = text::collapse_whitespace(raw)?;
    if words.is_ascii() {
        Some(words.to_ascii_lowercase())
    } else {
        Some(text::nfc(&words.to_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(raw: &str) -> Option<String> {
        normalize_country(raw)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn trimmed_and_case_folded() {
        assert_eq!(c("ES"), some("es"));
        assert_eq!(c("es"), some("es"));
        assert_eq!(c(" Spain "), some("spain"));
        assert_eq!(c("\tUSA\n"), some("usa"));
    }

    #[test]
    fn codes_and_names_are_not_mapped() {
        assert_ne!(c("ES"), c("Spain"));
        assert_ne!(c("UK"), c("GB"));
    }

    #[test]
    fn inner_whitespace_collapses() {
        assert_eq!(c("United  Kingdom"), some("united kingdom"));
        assert_eq!(c("United\u{00A0}Kingdom"), some("united kingdom"));
    }

    #[test]
    fn accents_are_kept_but_composed() {
        assert_eq!(c("ESPAÑA"), some("españa"));
        assert_eq!(c("Espan\u{303}a"), some("españa"));
        assert_ne!(c("España"), c("Espana"));
    }

    #[test]
    fn empty_gives_no_key() {
        assert_eq!(c(""), None);
        assert_eq!(c("   "), None);
        assert_eq!(c("\n\t"), None);
    }

    #[test]
    fn non_latin_names() {
        assert_eq!(c("日本"), some("日本"));
        assert_eq!(c("РОССИЯ"), some("россия"));
    }
}
