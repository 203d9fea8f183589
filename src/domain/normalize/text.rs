//! Shared Unicode folding for the human-text normalisers (company and person names, VAT numbers,
//! countries, LinkedIn slugs).
//!
//! Matching compares what people *meant*, so two spellings a person would call "the same" must give
//! the same key: `JOSÉ`, `José` (precomposed), `Jose\u{301}` (decomposed) and `ｊｏｓｅ` (full width)
//! all fold to `jose`. The steps, in order:
//!
//! 1. Junk that copy-paste brings along is dropped: zero-width spaces, soft hyphens, byte-order
//!    marks, bidi controls. They are invisible, so no person would call them part of a name.
//! 2. Compatibility decomposition (NFKD): full-width and ligature forms become their plain letters,
//!    and accented letters split into base + combining mark.
//! 3. Combining marks are dropped when they sit on a Latin, Greek or Cyrillic letter (that is
//!    "accents removed"). In other scripts (Devanagari vowel signs, Japanese voicing marks, Arabic
//!    vowels) a mark changes the word itself, so there it is kept rather than silently merging
//!    different names.
//! 4. Lower-casing, then a few Latin letters that have no decomposition but an obvious ASCII
//!    reading (`ß`→`ss`, `ø`→`o`, `æ`→`ae`, `ł`→`l`, ...), and the Greek final sigma folded into
//!    `σ` (what Unicode case folding does).
//! 5. Typographic apostrophes and dashes become their ASCII forms, so `O’Brien` equals `O'Brien`.
//! 6. NFC recomposition of whatever is not ASCII, so kept marks and Hangul jamo are stored in the
//!    one canonical form.
//!
//! Pure ASCII input skips the Unicode machinery entirely: it is by far the common case.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Folds `s` as described in the module documentation. Whitespace is kept (control characters
/// become spaces) so callers decide how words are split; see [`collapse_whitespace`].
pub(crate) fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s
            .chars()
            .map(|c| {
                if c.is_ascii_control() {
                    ' '
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
    }

    let mut out = String::with_capacity(s.len());
    // Whether the last base (non-mark) character belongs to a script whose accents we remove.
    // A mark with no base at all (at the very start) is a stray accent: dropped too.
    let mut base_is_foldable = true;
    let pre = s
        .chars()
        .filter(|&c| !is_invisible(c))
        .map(pre_decomposition);
    for c in pre.nfkd() {
        if is_combining_mark(c) {
            if !base_is_foldable {
                out.push(c);
            }
            continue;
        }
        base_is_foldable = is_accent_folding_script(c);
        if c.is_control() {
            out.push(' ');
            continue;
        }
        for lower in c.to_lowercase() {
            push_folded_letter(&mut out, lower);
        }
    }

    if out.is_ascii() {
        out
    } else {
        out.nfc().collect()
    }
}

/// Words of `s` joined by single ASCII spaces; `None` when there are no words at all. Splits on
/// Unicode whitespace, so no-break and ideographic spaces separate words too.
pub(crate) fn collapse_whitespace(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

/// NFC form of `s`, skipping the work for ASCII (which is always NFC).
pub(crate) fn nfc(s: &str) -> String {
    if s.is_ascii() {
        s.to_owned()
    } else {
        s.nfc().collect()
    }
}

/// Characters nobody can see and that copy-paste from web pages, PDFs and spreadsheets carries
/// along: they must never make two names differ.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' // soft hyphen
            | '\u{180E}' // Mongolian vowel separator (formerly a space)
            | '\u{200B}'..='\u{200F}' // zero-width space, ZWNJ, ZWJ, LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner and invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}' // byte-order mark / zero-width no-break space
    )
}

/// Replacements applied before NFKD, for characters whose compatibility decomposition would glue
/// letters onto a word: `Acme™` must equal `Acme`, not become `acmetm`.
fn pre_decomposition(c: char) -> char {
    match c {
        '\u{2122}' | '\u{2120}' => ' ', // ™ and ℠ decompose to "TM" / "SM"
        _ => c,
    }
}

/// Scripts in which a combining mark is an accent that people routinely omit: Latin (including
/// Vietnamese and the extended blocks), Greek and Cyrillic. Also ASCII punctuation, digits and
/// spaces: a mark sitting on those is stray, not part of a word.
fn is_accent_folding_script(c: char) -> bool {
    c.is_ascii()
        || matches!(
            c,
            '\u{00C0}'..='\u{024F}' // Latin-1 Supplement letters, Latin Extended-A and -B
                | '\u{0370}'..='\u{03FF}' // Greek and Coptic
                | '\u{0400}'..='\u{052F}' // Cyrillic and its supplement
                | '\u{1E00}'..='\u{1FFF}' // Latin Extended Additional, Greek Extended
                | '\u{2C60}'..='\u{2C7F}' // Latin Extended-C
                | '\u{A720}'..='\u{A7FF}' // Latin Extended-D
                | '\u{AB30}'..='\u{AB6F}' // Latin Extended-E
        )
}

/// Pushes one lower-case character, spelling out the Latin letters NFKD leaves alone but that
/// everyone types in ASCII when a keyboard lacks them.
fn push_folded_letter(out: &mut String, c: char) {
    let replacement = match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'đ' | 'ð' => "d",
        'ł' => "l",
        'þ' => "th",
        'ı' => "i",
        'ħ' => "h",
        'ŧ' => "t",
        'ς' => "σ",
        // Typographic apostrophes and primes read as the ASCII apostrophe.
        '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{02BC}' | '\u{2032}' => "'",
        // Hyphen, non-breaking hyphen, figure dash, en and em dashes, bar, minus: all a hyphen.
        '\u{2010}'..='\u{2015}' | '\u{2212}' => "-",
        _ => {
            out.push(c);
            return;
        }
    };
    out.push_str(replacement);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_lower_cased_and_nothing_else() {
        assert_eq!(fold("ACME Inc."), "acme inc.");
        assert_eq!(fold("O'Brien-Smith"), "o'brien-smith");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn ascii_control_characters_become_spaces() {
        assert_eq!(fold("a\tb\nc\u{0}d"), "a b c d");
    }

    #[test]
    fn latin_accents_are_removed_in_both_composition_forms() {
        assert_eq!(fold("José"), "jose");
        assert_eq!(fold("Jose\u{301}"), "jose");
        assert_eq!(fold("ÀÉÎÕÜÇÑ"), "aeioucn");
        assert_eq!(fold("Łódź"), "lodz");
        assert_eq!(fold("Nguyễn Thị"), "nguyen thi");
        assert_eq!(fold("İstanbul"), "istanbul");
    }

    #[test]
    fn letters_without_decomposition_get_their_ascii_spelling() {
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("STRASSE"), "strasse");
        assert_eq!(fold("Ærø"), "aero");
        assert_eq!(fold("Œuvre"), "oeuvre");
        assert_eq!(fold("Þór"), "thor");
        assert_eq!(fold("Đorđe"), "dorde");
    }

    #[test]
    fn compatibility_forms_fold_to_plain_letters() {
        assert_eq!(fold("ＡＣＭＥ"), "acme");
        assert_eq!(fold("ﬁnance"), "finance");
        assert_eq!(fold("①"), "1");
    }

    #[test]
    fn trademark_signs_do_not_glue_letters_onto_words() {
        assert_eq!(fold("Acme™"), "acme ");
        assert_eq!(fold("Acme℠"), "acme ");
    }

    #[test]
    fn greek_and_cyrillic_are_case_folded_and_unaccented() {
        assert_eq!(fold("ΆΘΗΝΑ"), "αθηνα");
        assert_eq!(fold("Οδυσσευς"), fold("ΟΔΥΣΣΕΥΣ"));
        assert_eq!(fold("ПРИВЕТ"), "привет");
        assert_eq!(fold("Ёлка"), "елка");
    }

    #[test]
    fn meaningful_marks_of_other_scripts_are_kept_and_recomposed() {
        // Japanese: ガ (ga) must not become カ (ka).
        assert_eq!(fold("ガス"), "ガス");
        assert_ne!(fold("ガス"), fold("カス"));
        // Hangul syllables decompose under NFKD; they must come back composed.
        assert_eq!(fold("한국"), "한국");
        // Devanagari vowel signs are marks; the word must survive intact.
        assert_eq!(fold("हिंदी"), "हिंदी");
    }

    #[test]
    fn cjk_is_kept() {
        assert_eq!(fold("株式会社"), "株式会社");
    }

    #[test]
    fn invisible_characters_are_dropped() {
        assert_eq!(fold("Jo\u{200B}sé\u{00AD}"), "jose");
        assert_eq!(fold("\u{FEFF}Acme\u{200E}"), "acme");
    }

    #[test]
    fn typographic_punctuation_reads_as_ascii() {
        assert_eq!(fold("O’Brien"), "o'brien");
        assert_eq!(fold("Jean‐Luc"), "jean-luc");
        assert_eq!(fold("Jean–Luc"), "jean-luc");
    }

    #[test]
    fn stray_leading_mark_is_dropped() {
        assert_eq!(fold("\u{301}a"), "a");
    }

    #[test]
    fn collapse_whitespace_joins_words_with_single_spaces() {
        assert_eq!(
            collapse_whitespace("  a \t b\u{00A0}c\u{3000}d  ").as_deref(),
            Some("a b c d")
        );
        assert_eq!(collapse_whitespace(" \n\t "), None);
        assert_eq!(collapse_whitespace(""), None);
    }

    #[test]
    fn nfc_composes() {
        assert_eq!(nfc("e\u{301}"), "é");
        assert_eq!(nfc("abc"), "abc");
    }

    #[test]
    fn very_long_input_is_handled() {
        let long = "Á".repeat(100_000);
        assert_eq!(fold(&long), "a".repeat(100_000));
    }
}
