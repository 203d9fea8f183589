//! Person names: the contact `firstName` and `lastName` keys (API.md §5).
//!
//! Unicode folding, accents removed, case folded and whitespace collapsed (see [`text::fold`]),
//! so `  JOSÉ  María ` and `jose maria` are one key. Unlike company names, punctuation is kept:
//! API.md does not remove it, and in a name it is part of the spelling (`O'Brien`, `Jean-Luc`).
//! Typographic variants of the apostrophe and hyphen still fold to ASCII, so `O’Brien` equals
//! `O'Brien`.

use super::text;

/// Person-name key, or `None` when the value is empty or whitespace only.
///
/// ```
/// use edge_crm::domain::normalize::normalize_person_name;
/// assert_eq!(normalize_person_name("  José  María ").as_deref(), Some("jose maria"));
/// ```
#[must_use]
pub fn normalize_person_name(raw: &str) -> Option<String> {
    text::collapse_whitespace(&text::fold(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(raw: &str) -> Option<String> {
        normalize_person_name(raw)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn empty_gives_no_key() {
        assert_eq!(n(""), None);
        assert_eq!(n("   "), None);
        assert_eq!(n("\t\r\n"), None);
        assert_eq!(n("\u{00A0}\u{3000}"), None);
        assert_eq!(n("\u{200B}"), None);
    }

    #[test]
    fn accents_case_and_whitespace() {
        assert_eq!(n("  José  María "), some("jose maria"));
        assert_eq!(n("JOSÉ MARÍA"), some("jose maria"));
        assert_eq!(n("Jose\u{301} Mari\u{301}a"), some("jose maria"));
    }

    #[test]
    fn common_european_letters() {
        assert_eq!(n("Zoë Saldaña"), some("zoe saldana"));
        assert_eq!(n("Søren Kierkegaard"), some("soren kierkegaard"));
        assert_eq!(n("Gößmann"), some("gossmann"));
        assert_eq!(n("Wałęsa"), some("walesa"));
        assert_eq!(n("François"), some("francois"));
        assert_eq!(n("Çağlar Şahin"), some("caglar sahin"));
        assert_eq!(n("Nguyễn"), some("nguyen"));
    }

    #[test]
    fn punctuation_is_kept_but_typographic_forms_fold() {
        assert_eq!(n("O'Brien"), some("o'brien"));
        assert_eq!(n("O’Brien"), some("o'brien"));
        assert_eq!(n("Jean-Luc"), some("jean-luc"));
        assert_eq!(n("Jean‐Luc"), some("jean-luc"));
        assert_eq!(n("J.R.R."), some("j.r.r."));
    }

    #[test]
    fn full_width_and_invisible_characters() {
        assert_eq!(n("ＪＯＨＮ"), some("john"));
        assert_eq!(n("Jo\u{200B}hn\u{00AD}"), some("john"));
        assert_eq!(n("John\u{00A0}Paul"), some("john paul"));
    }

    #[test]
    fn non_latin_names_are_kept() {
        assert_eq!(n("山田 太郎"), some("山田 太郎"));
        assert_eq!(n("ИВАН"), some("иван"));
        assert_eq!(n("Γιώργος"), some("γιωργοσ"));
        assert_eq!(n("Γιώργος"), n("ΓΙΩΡΓΟΣ"));
        assert_eq!(n("김민준"), some("김민준"));
        assert_eq!(n("محمد"), some("محمد"));
    }

    #[test]
    fn newlines_and_tabs_inside_collapse() {
        assert_eq!(n("Mary\nAnn\tLee"), some("mary ann lee"));
    }

    #[test]
    fn very_long_name() {
        let long = "Ána ".repeat(50_000);
        let key = n(&long).unwrap();
        assert_eq!(key.len(), "ana ".len() * 50_000 - 1);
    }
}
