//! VAT and company registration numbers: the company `vatId` key (API.md §5).
//!
//! Letters and digits only, upper case: `es b-1234567-8` is `ESB12345678`. Country prefixes are
//! neither added nor removed (`B12345678` and `ESB12345678` differ), because which one a record
//! holds is the sender's choice and API.md keeps values as given.
//!
//! Compatibility decomposition first, so full-width characters count as their ASCII forms and an
//! accented letter keeps its base letter (accents are not part of any registration number).

use unicode_normalization::UnicodeNormalization;

/// VAT / registration key, or `None` when the value holds no letter or digit.
///
/// ```
/// use edge_crm::domain::normalize::normalize_vat;
/// assert_eq!(normalize_vat("es b-1234567-8").as_deref(), Some("ESB12345678"));
/// ```
#[must_use]
pub fn normalize_vat(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len().min(64));
    if raw.is_ascii() {
        out.extend(
            raw.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_uppercase()),
        );
    } else {
        for c in raw.nfkd().filter(|c| c.is_alphanumeric()) {
            out.extend(c.to_uppercase());
        }
    }
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(raw: &str) -> Option<String> {
        normalize_vat(raw)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn letters_and_digits_upper_case() {
        assert_eq!(v("es b-1234567-8"), some("ESB12345678"));
        assert_eq!(v("ESB12345678"), some("ESB12345678"));
        assert_eq!(v("DE 123 456 789"), some("DE123456789"));
        assert_eq!(v("GB123 4567 89"), some("GB123456789"));
        assert_eq!(v("FR 40 303 265 045"), some("FR40303265045"));
        assert_eq!(v("NL.8547.21.653.B01"), some("NL854721653B01"));
        assert_eq!(v("12-3456789"), some("123456789"));
    }

    #[test]
    fn country_prefix_is_not_invented() {
        assert_ne!(v("B12345678"), v("ESB12345678"));
    }

    #[test]
    fn empty_gives_no_key() {
        assert_eq!(v(""), None);
        assert_eq!(v("   "), None);
        assert_eq!(v("- / ."), None);
    }

    #[test]
    fn full_width_and_accents() {
        assert_eq!(v("ＥＳＢ１２３"), some("ESB123"));
        assert_eq!(v("és b-1"), some("ESB1"));
    }

    #[test]
    fn non_latin_letters_are_kept_upper_cased() {
        assert_eq!(v("el 094259216"), some("EL094259216"));
        assert_eq!(v("бг 123"), some("БГ123"));
    }

    #[test]
    fn invisible_and_control_characters_are_dropped() {
        assert_eq!(v("ES\u{200B}B12\t34"), some("ESB1234"));
    }

    #[test]
    fn very_long_input() {
        let long = "a-".repeat(100_000);
        assert_eq!(v(&long).map(|s| s.len()), Some(100_000));
    }
}
