//! Company names: the company `name` key and the contact `company` key (API.md §5).
//!
//! `ACME, Inc.`, `Acme Inc`, `The ACME Incorporated` and `Acme` are one company to a person, so
//! they share one key: `acme`. Steps:
//!
//! 1. [`text::fold`]: compatibility folding, accents removed, case folded.
//! 2. Words: letters, digits (and the marks of scripts that keep them) form words. `&` is the word
//!    `and`. Dots, apostrophes and the middle dot are *removed*, joining what they separate
//!    (`S.A.` is `sa`, `McDonald's` is `mcdonalds`, `L'Oréal` is `loreal`). Every other character
//!    (hyphens, commas, slashes, brackets, symbols, whitespace) separates words, so `Coca-Cola`
//!    equals `Coca Cola` and `Acme,Inc` equals `Acme Inc`.
//! 3. Runs of two or more single-letter words are joined: `S. A.` and `A/S` read as `sa` and `as`
//!    like their dotted forms, and `J. P. Morgan` equals `J.P. Morgan` and `JP Morgan`.
//! 4. A leading `the` is removed.
//! 5. Trailing legal forms ([`LEGAL_FORMS`]) and any dangling `and` are removed, repeatedly, so
//!    `Pty Ltd`, `Co., Ltd.` and `GmbH & Co. KG` go entirely.
//! 6. If nothing is left, the key is the name's last word (`Inc` gives `inc`, `The Co` gives
//!    `co`), so a name never silently loses its key.
//!
//! Decisions where API.md leaves room:
//! * `Company` is removed like `Co`: it is the same word spelled out, and keeping it would make
//!   `Ford Motor Co` differ from `Ford Motor Company`. Likewise `Incorporated`, `Corporation`,
//!   `Limited`. Words that describe rather than incorporate (`Group`, `Holding`, `Partners`,
//!   `Sons`, `International`) are kept: `Acme Group` and `Acme` can be different companies.
//! * Only *trailing* legal forms go. Leading ones (`PT Bank ...`, `OOO Romashka`, `株式会社トヨタ`)
//!   stay: stripping the first word of a name is too likely to eat the name.
//! * Forms are matched as whole words, after step 3, so `Inc` inside `Incubator` is untouched.
//! * Scripts written without spaces (Chinese, Japanese) form one word per run; their legal forms
//!   are not recognised.

use super::text;

/// Trailing legal forms, as word sequences after folding and punctuation removal (`S.A.` is
/// `sa`, `A/S` is `as`, `Sp. z o.o.` is `sp z oo`). The longest matching sequence is removed
/// first; the loop in [`strip_trailing_forms`] then looks again, so combinations need no entry of
/// their own (`Pty Ltd`, `GmbH & Co KG`).
const LEGAL_FORMS: &[&[&str]] = &[
    // English-speaking countries
    &["inc"],
    &["incorporated"],
    &["corp"],
    &["corporation"],
    &["co"],
    &["cos"],
    &["company"],
    &["ltd"],
    &["limited"],
    &["llc"],
    &["pllc"],
    &["llp"],
    &["lp"],
    &["plc"],
    &["pty"],
    &["pte"],
    &["pvt"],
    &["private", "limited"],
    &["limited", "liability", "company"],
    &["public", "limited", "company"],
    // German-speaking countries
    &["gmbh"],
    &["mbh"],
    &["ag"],
    &["kg"],
    &["kgaa"],
    &["ohg"],
    &["ug"],
    &["ug", "haftungsbeschrankt"],
    &["aktiengesellschaft"],
    &["gesellschaft", "mit", "beschrankter", "haftung"],
    &["ev"],
    &["ek"],
    &["se"],
    // Romance languages
    &["sa"],
    &["sas"],
    &["sasu"],
    &["sarl"],
    &["eurl"],
    &["cie"],
    &["sl"],
    &["slu"],
    &["sau"],
    &["srl"],
    &["spa"],
    &["ltda"],
    &["lda"],
    &["sac"],
    &["sa", "de", "cv"],
    &["sab", "de", "cv"],
    &["sapi", "de", "cv"],
    &["srl", "de", "cv"],
    &["s", "de", "rl"],
    &["s", "de", "rl", "de", "cv"],
    // Benelux
    &["bv"],
    &["nv"],
    &["bvba"],
    &["sprl"],
    // Nordic countries
    &["ab"],
    &["publ"],
    &["as"],
    &["asa"],
    &["aps"],
    &["oy"],
    &["oyj"],
    // Central and Eastern Europe
    &["sro"],
    &["sp", "z", "oo"],
    &["doo"],
    &["kft"],
    &["zrt"],
    &["ooo"],
    // Asia
    &["kk"],
    &["kabushiki", "kaisha"],
    &["bhd"],
    &["berhad"],
    &["sdn", "bhd"],
    &["tbk"],
];

/// Company-name key, or `None` when the value has no letters or digits at all.
///
/// ```
/// use edge_crm::domain::normalize::normalize_company_name;
/// assert_eq!(normalize_company_name("The ACME Co., Ltd.").as_deref(), Some("acme"));
/// assert_eq!(normalize_company_name("Smith & Co").as_deref(), Some("smith"));
/// ```
#[must_use]
pub fn normalize_company_name(raw: &str) -> Option<String> {
    let folded = text::fold(raw);
    let words = join_initials(split_words(&folded));
    let last_word = words.last()?.clone();

    let mut words = words;
    if words.first().is_some_and(|w| w == "the") {
        words.remove(0);
    }
    strip_trailing_forms(&mut words);

    if words.is_empty() {
        return Some(last_word);
    }
    Some(words.join(" "))
}

/// Splits folded text into words as described in step 2 of the module documentation.
fn split_words(folded: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in folded.chars() {
        if c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c) {
            current.push(c);
        } else if matches!(c, '.' | '\'' | '\u{00B7}') {
            // Removed, joining: `S.A.` is `SA`.
        } else {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            if c == '&' {
                words.push("and".to_owned());
            }
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Joins each run of two or more one-letter words into one word (`s a` → `sa`, `j p morgan` →
/// `jp morgan`). A lone one-letter word (`Plan B`) is left alone. Digits are not joined: `3 2 1`
/// is more likely a number sequence than initials.
fn join_initials(words: Vec<String>) -> Vec<String> {
    let is_initial = |w: &str| {
        let mut chars = w.chars();
        matches!((chars.next(), chars.next()), (Some(c), None) if c.is_alphabetic())
    };
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut previous_was_initial = false;
    for word in words {
        let initial = is_initial(&word);
        match out.last_mut() {
            Some(last) if initial && previous_was_initial => last.push_str(&word),
            _ => out.push(word),
        }
        previous_was_initial = initial;
    }
    out
}

/// Removes trailing legal forms and dangling `and`s until neither is at the end. May empty the
/// list; the caller then falls back to the last word.
fn strip_trailing_forms(words: &mut Vec<String>) {
    loop {
        if words.last().is_some_and(|w| w == "and") {
            words.pop();
            continue;
        }
        let longest = LEGAL_FORMS
            .iter()
            .filter(|form| ends_with_form(words, form))
            .map(|form| form.len())
            .max();
        match longest {
            Some(n) => words.truncate(words.len() - n),
            None => return,
        }
    }
}

fn ends_with_form(words: &[String], form: &[&str]) -> bool {
    words.len() >= form.len()
        && words[words.len() - form.len()..]
            .iter()
            .zip(form)
            .all(|(w, f)| w == f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(raw: &str) -> Option<String> {
        normalize_company_name(raw)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    fn same(a: &str, b: &str) {
        assert_eq!(n(a), n(b), "{a:?} vs {b:?}");
        assert!(n(a).is_some(), "{a:?}");
    }

    #[test]
    fn empty_gives_no_key() {
        assert_eq!(n(""), None);
        assert_eq!(n("   "), None);
        assert_eq!(n("\t\n"), None);
        assert_eq!(n("..."), None);
        assert_eq!(n("-/-"), None);
        assert_eq!(n("™"), None);
        assert_eq!(n("🚀"), None);
    }

    #[test]
    fn case_is_folded() {
        assert_eq!(n("ACME"), some("acme"));
        same("acme widgets", "ACME WIDGETS");
    }

    #[test]
    fn accents_are_removed() {
        assert_eq!(n("Société Générale"), some("societe generale"));
        same("Nestlé", "Nestle");
        same("Müller", "MULLER");
        same("Telefónica", "telefonica");
    }

    #[test]
    fn compatibility_forms_fold() {
        same("ＡＣＭＥ", "acme");
        same("Acme™", "Acme");
        same("Acme®", "Acme");
        same("Acme©", "Acme");
    }

    #[test]
    fn whitespace_is_collapsed() {
        assert_eq!(n("  Acme   Widgets  "), some("acme widgets"));
        same("Acme\u{00A0}Widgets", "Acme Widgets");
        same("Acme\tWidgets\n", "Acme Widgets");
    }

    #[test]
    fn ampersand_reads_as_and() {
        assert_eq!(n("Johnson & Johnson"), some("johnson and johnson"));
        same("Johnson & Johnson", "Johnson and Johnson");
        same("AT&T", "AT & T");
        assert_eq!(n("AT&T"), some("at and t"));
    }

    #[test]
    fn dots_are_removed_joining() {
        assert_eq!(n("S.A.S. Widgets"), some("sas widgets"));
        same("Booking.com", "Bookingcom");
    }

    #[test]
    fn apostrophes_are_removed_joining() {
        same("McDonald's", "McDonalds");
        same("McDonald’s", "McDonalds");
        same("L'Oréal", "LOreal");
    }

    #[test]
    fn other_punctuation_separates() {
        same("Coca-Cola", "Coca Cola");
        same("Acme,Inc", "Acme");
        same("Acme (UK) Ltd", "Acme UK");
        same("Yahoo!", "Yahoo");
        same("Acme/Widgets", "Acme Widgets");
        same("Acme — Widgets", "Acme Widgets");
    }

    #[test]
    fn initials_are_joined() {
        same("J. P. Morgan", "J.P. Morgan");
        same("J P Morgan", "JP Morgan");
        assert_eq!(n("Plan B"), some("plan b"));
        assert_eq!(n("A B C Widgets"), some("abc widgets"));
    }

    #[test]
    fn leading_the_is_removed() {
        assert_eq!(n("The Coca-Cola Company"), some("coca cola"));
        same("The Acme Widgets", "Acme Widgets");
        same("THE ACME", "acme");
        // Only as a whole leading word.
        assert_eq!(n("Theranos"), some("theranos"));
        assert_eq!(n("Acme The Widgets"), some("acme the widgets"));
    }

    #[test]
    fn common_legal_forms_are_removed() {
        for raw in [
            "Acme Inc",
            "Acme Inc.",
            "Acme, Inc.",
            "Acme Incorporated",
            "Acme LLC",
            "Acme L.L.C.",
            "Acme LLP",
            "Acme LP",
            "Acme Ltd",
            "Acme Ltd.",
            "Acme Limited",
            "Acme Corp",
            "Acme Corp.",
            "Acme Corporation",
            "Acme Co",
            "Acme Co.",
            "Acme Company",
            "Acme & Co",
            "Acme and Co.",
            "Acme GmbH",
            "Acme AG",
            "Acme KG",
            "Acme SA",
            "Acme S.A.",
            "Acme S. A.",
            "Acme SAS",
            "Acme S.A.S.",
            "Acme SARL",
            "Acme SL",
            "Acme S.L.",
            "Acme SLU",
            "Acme S.L.U.",
            "Acme SRL",
            "Acme S.r.l.",
            "Acme SpA",
            "Acme S.p.A.",
            "Acme BV",
            "Acme B.V.",
            "Acme NV",
            "Acme N.V.",
            "Acme PLC",
            "Acme plc",
            "Acme Oy",
            "Acme Oyj",
            "Acme AB",
            "Acme AB (publ)",
            "Acme AS",
            "Acme ASA",
            "Acme A/S",
            "Acme ApS",
            "Acme Pty",
            "Acme Pty Ltd",
            "Acme Pty. Ltd.",
            "Acme Pvt Ltd",
            "Acme Private Limited",
            "Acme KK",
            "Acme K.K.",
            "Acme Kabushiki Kaisha",
            "Acme SE",
            "Acme Sdn Bhd",
            "Acme Sdn. Bhd.",
            "Acme Bhd",
            "Acme SAU",
            "Acme Ltda",
            "Acme Ltda.",
            "Acme SA de CV",
            "Acme S.A. de C.V.",
            "Acme S. de R.L. de C.V.",
            "Acme Co., Ltd.",
            "Acme GmbH & Co. KG",
            "Acme Sp. z o.o.",
            "Acme s.r.o.",
            "Acme e.V.",
            "Acme PLLC",
            "Acme Pte. Ltd.",
            "Acme UG (haftungsbeschränkt)",
            "Acme Limited Liability Company",
            "Acme Public Limited Company",
            "Acme & Cie",
            "Acme KGaA",
            "Acme BVBA",
            "Acme Aktiengesellschaft",
            "Acme Gesellschaft mit beschränkter Haftung",
            "Acme Tbk",
        ] {
            assert_eq!(n(raw), some("acme"), "{raw:?}");
        }
    }

    #[test]
    fn legal_forms_are_removed_repeatedly() {
        same("Acme Pty Ltd", "Acme");
        same("Acme Co., Ltd.", "Acme");
        same("Acme Holdings Co., Ltd.", "Acme Holdings");
        same("Acme AG & Co. KGaA", "Acme");
    }

    #[test]
    fn legal_forms_in_any_case_and_punctuation() {
        same("ACME INC.", "acme");
        same("acme, l.l.c.", "acme");
        same("Acme,LTD", "acme");
        same("Acme GMBH", "acme");
    }

    #[test]
    fn no_dangling_and() {
        assert_eq!(n("Smith & Co"), some("smith"));
        assert_eq!(n("Smith and Co."), some("smith"));
        assert_eq!(n("Smith & Co. Ltd"), some("smith"));
        assert_eq!(n("Smith &"), some("smith"));
        assert_eq!(n("Smith & Sons"), some("smith and sons"));
    }

    #[test]
    fn legal_forms_only_at_the_end_and_as_whole_words() {
        assert_eq!(n("Inc Magazine"), some("inc magazine"));
        assert_eq!(n("Acme Incubator"), some("acme incubator"));
        assert_eq!(n("Co-operative Bank"), some("co operative bank"));
        assert_eq!(n("Corporate Solutions"), some("corporate solutions"));
        assert_eq!(n("SAP"), some("sap"));
        assert_eq!(n("Saab"), some("saab"));
    }

    #[test]
    fn descriptive_words_are_kept() {
        assert_eq!(n("Acme Group"), some("acme group"));
        assert_eq!(n("Acme Holdings Ltd"), some("acme holdings"));
        assert_eq!(n("Acme International"), some("acme international"));
        assert_ne!(n("Acme Group"), n("Acme"));
    }

    #[test]
    fn name_that_would_become_empty_keeps_its_last_word() {
        assert_eq!(n("The Co"), some("co"));
        assert_eq!(n("Inc"), some("inc"));
        assert_eq!(n("Inc."), some("inc"));
        assert_eq!(n("The"), some("the"));
        assert_eq!(n("Pty Ltd"), some("ltd"));
        assert_eq!(n("& Co"), some("co"));
        assert_eq!(n("&"), some("and"));
        assert_eq!(n("S.A."), some("sa"));
    }

    #[test]
    fn numbers_are_kept() {
        assert_eq!(n("3M Company"), some("3m"));
        assert_eq!(n("7-Eleven, Inc."), some("7 eleven"));
        assert_eq!(n("1&1 Ionos SE"), some("1 and 1 ionos"));
    }

    #[test]
    fn non_latin_scripts_are_kept_and_case_folded() {
        assert_eq!(n("ООО Ромашка"), some("ооо ромашка"));
        assert_eq!(n("ΑΘΗΝΑ Α.Ε."), some("αθηνα αε"));
        assert_eq!(n("株式会社トヨタ"), some("株式会社トヨタ"));
        assert_eq!(n("삼성전자"), some("삼성전자"));
        assert_eq!(n("टाटा समूह"), some("टाटा समूह"));
        same("ソニー株式会社", "ソニー株式会社");
    }

    #[test]
    fn invisible_characters_do_not_split_or_change() {
        same("Ac\u{200B}me Inc", "Acme");
        same("\u{FEFF}Acme", "Acme");
    }

    #[test]
    fn real_world_variants_match() {
        same("Banco Santander, S.A.", "BANCO SANTANDER SA");
        same(
            "Industria de Diseño Textil, S.A.",
            "Industria de Diseno Textil",
        );
        same("Toyota Motor Corporation", "TOYOTA MOTOR CORP.");
        same("Samsung Electronics Co., Ltd.", "Samsung Electronics");
        same("Volkswagen AG", "VOLKSWAGEN");
        same("Koninklijke Philips N.V.", "Koninklijke Philips");
        same("Novo Nordisk A/S", "Novo Nordisk");
        same(
            "Telefonaktiebolaget LM Ericsson (publ)",
            "Telefonaktiebolaget LM Ericsson",
        );
        same("The Procter & Gamble Company", "Procter and Gamble");
        same("BHP Group Limited", "BHP Group");
        same("Nokia Oyj", "Nokia");
    }

    #[test]
    fn very_long_name_is_handled() {
        let long = "Acme ".repeat(20_000) + "Inc";
        let key = n(&long).unwrap();
        assert!(key.starts_with("acme acme"));
        assert!(!key.ends_with("inc"));
    }
}
