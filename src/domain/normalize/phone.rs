//! Phone numbers: the `phone` key (API.md §5).
//!
//! Digits only, with a leading `+` kept: `+34 (91) 123-45-67` is `+34911234567`. The `+` matters
//! because `+34 91...` and `34 91...` are not known to be the same number without a country
//! context we do not have.
//!
//! Decisions where API.md leaves room:
//! * "Leading `+`" means a `+` before the first digit, whatever precedes it, so `tel:+34...` and
//!   `(+34) 91...` keep it. A `+` after the first digit is dropped like any other punctuation.
//! * `00` is not rewritten to `+`: API.md keeps digits as given, and `00` is not the international
//!   prefix everywhere.
//! * Digits are read from full-width forms and the Arabic-Indic, Persian and Devanagari digit
//!   blocks, since numbers copied from those locales are still the same number.
//! * Extensions and letters are not interpreted (`ext. 12` adds its digits, `1-800-FLOWERS` keeps
//!   only `1800`): digits only, as specified.

/// Phone key, or `None` when the value holds no digit.
///
/// ```
/// use edge_crm::domain::normalize::normalize_phone;
/// assert_eq!(normalize_phone("+34 (91) 123-45-67").as_deref(), Some("+34911234567"));
/// ```
#[must_use]
pub fn normalize_phone(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len().min(64));
    let mut plus = false;
    let mut seen_digit = false;
    for c in raw.chars() {
        if let Some(d) = decimal_digit(c) {
            if !seen_digit && plus {
                out.push('+');
            }
            seen_digit = true;
            out.push(char::from(b'0' + d));
        } else if !seen_digit && matches!(c, '+' | '\u{FF0B}') {
            plus = true;
        }
    }
    if seen_digit {
        Some(out)
    } else {
        None
    }
}

/// Value of a decimal digit from the scripts phone numbers are commonly written in.
fn decimal_digit(c: char) -> Option<u8> {
    let zero = match c {
        '0'..='9' => '0',
        '\u{FF10}'..='\u{FF19}' => '\u{FF10}', // full width
        '\u{0660}'..='\u{0669}' => '\u{0660}', // Arabic-Indic
        '\u{06F0}'..='\u{06F9}' => '\u{06F0}', // Extended Arabic-Indic (Persian, Urdu)
        '\u{0966}'..='\u{096F}' => '\u{0966}', // Devanagari
        _ => return None,
    };
    // Each block is ten consecutive code points, so the offset is the value (< 10).
    u8::try_from(u32::from(c) - u32::from(zero)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: &str) -> Option<String> {
        normalize_phone(raw)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn digits_only_with_leading_plus() {
        assert_eq!(p("+34 (91) 123-45-67"), some("+34911234567"));
        assert_eq!(p("+1 (555) 123-4567"), some("+15551234567"));
        assert_eq!(p("+44 20 7946 0958"), some("+442079460958"));
    }

    #[test]
    fn without_plus() {
        assert_eq!(p("(555) 123-4567"), some("5551234567"));
        assert_eq!(p("555.123.4567"), some("5551234567"));
        assert_eq!(p("0034 91 123 45 67"), some("0034911234567"));
        assert_ne!(p("0034911234567"), p("+34911234567"));
    }

    #[test]
    fn formatting_variants_match() {
        for raw in [
            "+34911234567",
            "+34 911 234 567",
            "+34-91-123-45-67",
            "+34.91.123.45.67",
            " +34 91 123 45 67 \n",
            "tel:+34911234567",
            "(+34) 911234567",
            "+ 34 911 23 45 67",
            "\u{202A}+34 911 23 45 67\u{202C}",
        ] {
            assert_eq!(p(raw), some("+34911234567"), "{raw:?}");
        }
    }

    #[test]
    fn plus_after_first_digit_is_dropped() {
        assert_eq!(p("34+911234567"), some("34911234567"));
        assert_eq!(p("++34 91"), some("+3491"));
    }

    #[test]
    fn no_digits_gives_no_key() {
        assert_eq!(p(""), None);
        assert_eq!(p("   "), None);
        assert_eq!(p("+"), None);
        assert_eq!(p("n/a"), None);
        assert_eq!(p("() -"), None);
    }

    #[test]
    fn letters_and_extensions_are_not_interpreted() {
        assert_eq!(p("1-800-FLOWERS"), some("1800"));
        assert_eq!(p("+1 555 123 4567 ext. 89"), some("+1555123456789"));
    }

    #[test]
    fn non_ascii_digits() {
        assert_eq!(p("＋３４ ９１"), some("+3491"));
        assert_eq!(p("٠١٢٣٤٥٦٧٨٩"), some("0123456789"));
        assert_eq!(p("۰۹۱۲"), some("0912"));
        assert_eq!(p("०९८"), some("098"));
    }

    #[test]
    fn other_numeric_characters_are_not_digits() {
        assert_eq!(p("½ ² ①"), None);
    }

    #[test]
    fn very_long_input() {
        let long = "1-".repeat(100_000);
        assert_eq!(p(&long).map(|s| s.len()), Some(100_000));
    }
}
