//! What search finds (API.md §4, §9): the terms a contact, company or task is found by, and how a
//! typed query becomes the prefixes looked up among them.
//!
//! The terms are stored in the record's own `search_text` column, space-separated, sorted and
//! without repeats; triggers on the three tables keep the table `search_terms` (one row per term,
//! kind and record, on a B-tree) equal to them. So every write path that stores a record's fields
//! through the core stores its terms in the same statement, and no path can forget the index.
//!
//! A record is found by:
//! - every word of its names, title, company name or task subject, folded like [`search_fold`]
//!   (case and accents), and for a word with inner punctuation (`jean-pierre`, `o'brien`) its
//!   parts and the parts joined (`jean`, `pierre`, `jeanpierre`);
//! - an e-mail whole, its local part (and that part's words) and its domain;
//! - a domain (a company's domain and website, a contact's company domain);
//! - phone digits: all of them, and for a number written with its country code (`+34 600 12 34 56`,
//!   or `0034 ...`) also the national digits (`600123456`), so both `34600123456` and
//!   `600123456` find it, however the number is punctuated;
//! - a LinkedIn slug (`in/jose-nunez` gives `jose-nunez`, `jose`, `nunez`, `josenunez`);
//! - a tag, as `#tag`, for the `tag` filter only (a typed query never starts with `#`).
//!
//! A query is split into words the same way; every word must be the prefix of some term of the
//! record. The longest word drives the lookup (a range of the index); the others are checked on the
//! records it finds.

use serde_json::{Map, Value};

use super::normalize::{clean_domain, normalize_domain, normalize_email, normalize_linkedin_url, normalize_phone};
use super::record::{search_fold, RecordKind};

/// A term is cut to this many characters (a prefix query of more finds it by its first ones).
pub const MAX_TERM_CHARS: usize = 64;
/// Most terms one record keeps: the first ones found, in field order (names first).
pub const MAX_TERMS: usize = 96;
/// Most words of a query that count.
pub const MAX_QUERY_WORDS: usize = 8;
/// Longest query kept, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// Characters kept inside a term between letters or digits (`jose@acme.com`, `o'brien`).
fn is_inner(c: char) -> bool {
    matches!(c, '.' | '@' | '-' | '_' | '\'' | '&' | '+')
}

fn is_term_char(c: char) -> bool {
    c.is_alphanumeric() || is_inner(c)
}

/// Folded like [`search_fold`], with the typographic apostrophe read as `'`.
fn fold(s: &str) -> String {
    search_fold(&s.replace(['\u{2019}', '\u{2018}'], "'"))
}

fn cut(term: &str) -> &str {
    match term.char_indices().nth(MAX_TERM_CHARS) {
        Some((at, _)) => &term[..at],
        None => term,
    }
}

/// The terms of a record, collected in field order without repeats.
#[derive(Default)]
struct Terms(Vec<String>);

impl Terms {
    /// A term as it is, when it can be one: no space, quote, backslash or control character
    /// (the triggers read `search_text` as a JSON array of its space-separated terms).
    fn push(&mut self, term: &str) {
        let term = cut(term);
        if term.is_empty() || term.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\') {
            return;
        }
        if !self.0.iter().any(|t| t == term) {
            self.0.push(term.to_string());
        }
    }

    /// The words of a text (already folded or not).
    fn words(&mut self, text: &str) {
        for word in split_words(&fold(text)) {
            self.word(&word);
        }
    }

    /// One word: itself, and for one with inner punctuation its parts and the parts joined.
    fn word(&mut self, word: &str) {
        self.push(word);
        if word.contains(is_inner) {
            let parts: Vec<&str> = word.split(is_inner).filter(|p| !p.is_empty()).collect();
            for part in &parts {
                self.push(part);
            }
            self.push(&parts.concat());
        }
    }

    fn email(&mut self, raw: &str) {
        let Some(email) = normalize_email(raw) else {
            self.words(raw);
            return;
        };
        let email = fold(&email);
        self.push(&email);
        if let Some((local, domain)) = email.split_once('@') {
            self.word(local.trim_matches(|c: char| !c.is_alphanumeric()));
            self.push(domain);
        }
    }

    fn domain(&mut self, raw: &str) {
        match normalize_domain(raw) {
            Some(_) => self.push(&fold(&clean_domain(raw).0)),
            None => self.words(raw),
        }
    }

    fn phone(&mut self, raw: &str) {
        for term in phone_terms(raw) {
            self.push(&term);
        }
    }

    fn linkedin(&mut self, raw: &str) {
        let Some(key) = normalize_linkedin_url(raw) else {
            return;
        };
        // `in/jose-nunez`, `company/acme`: the slug after the profile type.
        let slug = key.split_once('/').map_or(key.as_str(), |(_, slug)| slug);
        for word in split_words(&fold(slug)) {
            self.word(&word);
        }
    }

    fn tag(&mut self, raw: &str) {
        if let Some(term) = tag_term(raw) {
            self.push(&term);
        }
    }

    /// Sorted, so that the same data always gives the same `search_text` (and an update that
    /// changes no term changes no index row).
    fn finish(mut self) -> Vec<String> {
        self.0.truncate(MAX_TERMS);
        self.0.sort();
        self.0
    }
}

/// Words of folded text: runs of letters, digits and inner punctuation, with the punctuation at
/// their ends trimmed.
fn split_words(folded: &str) -> Vec<String> {
    folded
        .split(|c: char| !is_term_char(c))
        .map(|w| w.trim_matches(is_inner))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// How many leading digits of an international number are its country code (ITU-T E.164): `1`
/// and `7` are one digit, the two-digit codes are listed, every other code has three.
pub fn country_code_len(digits: &str) -> usize {
    const TWO: [&str; 44] = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49", "51",
        "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84", "86", "90",
        "91", "92", "93", "94", "95", "98",
    ];
    if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO.iter().any(|cc| digits.starts_with(cc)) {
        2
    } else {
        3
    }
}

/// A phone's terms: its digits, and for a number with its country code (`+34...`, `0034...`) the
/// number with the code and without it.
pub fn phone_terms(raw: &str) -> Vec<String> {
    let Some(key) = normalize_phone(raw) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let international = match key.strip_prefix('+') {
        Some(digits) => Some(digits.to_string()),
        None => {
            out.push(key.clone());
            key.strip_prefix("00").filter(|d| d.len() > 6).map(str::to_string)
        }
    };
    if let Some(digits) = international {
        let national = &digits[country_code_len(&digits).min(digits.len())..];
        out.push(digits.clone());
        if national.len() >= 4 {
            out.push(national.to_string());
        }
    }
    out
}

/// A tag as the term the `tag` filter looks up: `#` and the tag folded, its spaces as `-`.
pub fn tag_term(raw: &str) -> Option<String> {
    let words = split_words(&fold(raw));
    (!words.is_empty()).then(|| cut(&format!("#{}", words.join("-"))).to_string())
}

fn text<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// The tags of a record: a company's `tags` field, a contact's `tags` property (a list, or a
/// comma-separated text as spreadsheets write it).
fn tags<'a>(kind: RecordKind, fields: &'a Map<String, Value>, properties: &'a Map<String, Value>) -> Vec<&'a str> {
    let value = match kind {
        RecordKind::Company => fields.get("tags"),
        RecordKind::Contact => properties.get("tags"),
    };
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => s.split(',').map(str::trim).filter(|t| !t.is_empty()).collect(),
        _ => Vec::new(),
    }
}

/// The search terms of a contact or company.
pub fn record_terms(kind: RecordKind, fields: &Map<String, Value>, properties: &Map<String, Value>) -> Vec<String> {
    let mut terms = Terms::default();
    let field = |name: &str| text(fields, name);
    match kind {
        RecordKind::Contact => {
            for name in ["firstName", "lastName", "company", "title"] {
                field(name).into_iter().for_each(|v| terms.words(v));
            }
            field("email").into_iter().for_each(|v| terms.email(v));
            field("companyDomain").into_iter().for_each(|v| terms.domain(v));
        }
        RecordKind::Company => {
            field("name").into_iter().for_each(|v| terms.words(v));
            for name in ["domain", "website"] {
                field(name).into_iter().for_each(|v| terms.domain(v));
            }
        }
    }
    field("phone").into_iter().for_each(|v| terms.phone(v));
    field("linkedinUrl").into_iter().for_each(|v| terms.linkedin(v));
    for tag in tags(kind, fields, properties) {
        terms.tag(tag);
    }
    terms.finish()
}

/// The search terms of a task: the words of its subject.
pub fn task_terms(subject: Option<&str>) -> Vec<String> {
    let mut terms = Terms::default();
    subject.into_iter().for_each(|s| terms.words(s));
    terms.finish()
}

/// Task writes (`[{id, fields: {subject, ...}, ...}]`, as the task paths build them) with the
/// `searchText` their statements store: the subject's terms. Every task write goes through the
/// store's two task statements, which take it from here.
pub fn with_task_terms(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .map(|item| {
            let mut item = item.clone();
            let subject = item.get("fields").and_then(|f| f.get("subject")).and_then(Value::as_str);
            let text = joined(&task_terms(subject));
            if let Some(object) = item.as_object_mut() {
                object.insert("searchText".into(), Value::String(text));
            }
            item
        })
        .collect()
}

/// The stored column: the terms joined by spaces.
pub fn joined(terms: &[String]) -> String {
    terms.join(" ")
}

/// A typed query: the folded words, each the prefix of a term the record must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub words: Vec<String>,
}

impl SearchQuery {
    /// `None` when the query holds no word (blank, or punctuation only).
    ///
    /// A query that is only a phone number (digits, spaces and `+-().\/`, three digits at least)
    /// is one word of its digits, so `+34 600 12 34 56` and `600-123-456` look up digits; a
    /// leading `00` is read as `+`.
    pub fn parse(raw: &str) -> Option<SearchQuery> {
        let raw: String = raw.trim().chars().take(MAX_QUERY_CHARS).collect();
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        let phone_like = digits.len() >= 3 && raw.chars().all(|c| c.is_ascii_digit() || c.is_whitespace() || "+-().\\/".contains(c));
        let mut words = if phone_like {
            let digits = if raw.starts_with("00") { digits[2..].to_string() } else { digits };
            vec![digits]
        } else {
            let mut words: Vec<String> = Vec::new();
            for word in split_words(&fold(&raw)) {
                let word = cut(&word).to_string();
                if !words.contains(&word) {
                    words.push(word);
                }
            }
            words
        };
        words.retain(|w| !w.is_empty());
        words.truncate(MAX_QUERY_WORDS);
        (!words.is_empty()).then_some(SearchQuery { words })
    }

    /// The word whose range of the index is read: the longest (the fewest terms start with it);
    /// the first of equals.
    pub fn driving(&self) -> &str {
        let mut best = &self.words[0];
        for w in &self.words[1..] {
            if w.chars().count() > best.chars().count() {
                best = w;
            }
        }
        best
    }

    /// The words checked on each record the driving word finds.
    pub fn others(&self) -> Vec<&str> {
        let driving = self.driving();
        let mut skipped = false;
        self.words
            .iter()
            .filter(|w| {
                if !skipped && w.as_str() == driving {
                    skipped = true;
                    return false;
                }
                true
            })
            .map(String::as_str)
            .collect()
    }
}

/// The end of the index range of the terms that start with `prefix`: every such term sorts before
/// it (UTF-8 bytes sort as code points, and no character is above U+10FFFF).
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn contact(v: Value) -> Vec<String> {
        record_terms(RecordKind::Contact, &map(v), &Map::new())
    }

    fn has(terms: &[String], want: &[&str]) {
        for w in want {
            assert!(terms.iter().any(|t| t == w), "{w:?} missing from {terms:?}");
        }
    }

    #[test]
    fn names_are_folded_words() {
        let t = contact(json!({"firstName": "José", "lastName": "ÑÚÑEZ García", "title": "Head of Sales", "company": "Acme, Inc."}));
        has(&t, &["jose", "nunez", "garcia", "head", "of", "sales", "acme", "inc"]);
        assert!(!t.iter().any(|w| w.contains(',') || w.chars().any(char::is_uppercase)), "{t:?}");
    }

    #[test]
    fn inner_punctuation_gives_parts_and_the_joined_word() {
        let t = contact(json!({"firstName": "Jean-Pierre", "lastName": "O’Brien"}));
        has(&t, &["jean-pierre", "jean", "pierre", "jeanpierre", "o'brien", "o", "brien", "obrien"]);
    }

    #[test]
    fn an_email_whole_its_local_part_and_its_domain() {
        let t = contact(json!({"email": " Jose.Nunez@ACME.com "}));
        has(&t, &["jose.nunez@acme.com", "jose.nunez", "jose", "nunez", "josenunez", "acme.com"]);
        // Not an address: its words.
        has(&contact(json!({"email": "n/a"})), &["n", "a"]);
    }

    #[test]
    fn domains_are_clean_hosts() {
        let t = record_terms(
            RecordKind::Company,
            &map(json!({"name": "Acme", "domain": "acme.com", "website": "https://www.Acme.io/en"})),
            &Map::new(),
        );
        has(&t, &["acme", "acme.com", "acme.io"]);
        has(&contact(json!({"companyDomain": "HTTPS://www.Acme.com/x"})), &["acme.com"]);
    }

    #[test]
    fn phones_give_their_digits_with_and_without_the_country_code() {
        assert_eq!(phone_terms("+34 600 12 34 56"), vec!["34600123456", "600123456"]);
        assert_eq!(phone_terms("+1 (555) 123-4567"), vec!["15551234567", "5551234567"]);
        assert_eq!(phone_terms("+44 20 7946 0958"), vec!["442079460958", "2079460958"]);
        assert_eq!(phone_terms("+351 912 345 678"), vec!["351912345678", "912345678"]);
        assert_eq!(phone_terms("0034 600 12 34 56"), vec!["0034600123456", "34600123456", "600123456"]);
        assert_eq!(phone_terms("600.12.34.56"), vec!["600123456"]);
        assert!(phone_terms("n/a").is_empty());
        let t = contact(json!({"phone": "+34 600 12 34 56"}));
        has(&t, &["34600123456", "600123456"]);
    }

    #[test]
    fn country_codes_have_their_length() {
        for (digits, len) in [("1555", 1), ("7495", 1), ("34600", 2), ("44207", 2), ("351912", 3), ("971", 3), ("86", 2)] {
            assert_eq!(country_code_len(digits), len, "{digits}");
        }
    }

    #[test]
    fn a_linkedin_slug_and_its_words() {
        let t = contact(json!({"linkedinUrl": "https://www.linkedin.com/in/José-Núñez-1a2b/?trk=x"}));
        has(&t, &["jose-nunez-1a2b", "jose", "nunez", "1a2b", "josenunez1a2b"]);
        let t = record_terms(RecordKind::Company, &map(json!({"linkedinUrl": "linkedin.com/company/acme-cloud"})), &Map::new());
        has(&t, &["acme-cloud", "acme", "cloud"]);
        assert!(contact(json!({"linkedinUrl": "https://example.com/in/x"})).is_empty());
    }

    #[test]
    fn tags_are_terms_a_query_never_reaches() {
        let t = record_terms(RecordKind::Company, &map(json!({"name": "Acme", "tags": ["Key Account", "EMEA"]})), &Map::new());
        has(&t, &["#key-account", "#emea"]);
        let t = record_terms(RecordKind::Contact, &Map::new(), &map(json!({"tags": "vip, Early Adopter"})));
        has(&t, &["#vip", "#early-adopter"]);
        assert_eq!(tag_term(" Key  Account "), Some("#key-account".into()));
        assert_eq!(tag_term("!!"), None);
        assert_eq!(SearchQuery::parse("#vip").unwrap().words, vec!["vip"]);
    }

    #[test]
    fn terms_are_sorted_unique_safe_and_bounded() {
        let t = contact(json!({"firstName": "ana ana", "lastName": "Ana", "title": "say \"hi\" \\ back"}));
        assert_eq!(t.iter().filter(|w| *w == "ana").count(), 1);
        let mut sorted = t.clone();
        sorted.sort();
        assert_eq!(t, sorted);
        assert!(t.iter().all(|w| !w.contains(['"', '\\', ' '])), "{t:?}");
        let long = "x".repeat(500);
        assert_eq!(contact(json!({"title": long}))[0].chars().count(), MAX_TERM_CHARS);
        let many: String = (0..300).map(|i| format!("w{i} ")).collect();
        assert_eq!(contact(json!({"title": many})).len(), MAX_TERMS);
        // The stored text is the terms, which the triggers read back as a JSON array.
        let text = joined(&t);
        let array: Vec<String> = serde_json::from_str(&format!("[\"{}\"]", text.replace(' ', "\",\""))).unwrap();
        assert_eq!(array, t);
    }

    #[test]
    fn tasks_are_found_by_the_words_of_their_subject() {
        assert_eq!(task_terms(Some("Call Zoë about Q3")), vec!["about", "call", "q3", "zoe"]);
        assert!(task_terms(None).is_empty());
    }

    #[test]
    fn task_writes_carry_their_terms() {
        let items = with_task_terms(&[json!({"id": "tk_1", "fields": {"subject": "Call Ana"}}), json!({"id": "tk_2", "fields": {}})]);
        assert_eq!(items[0]["searchText"], "ana call");
        assert_eq!(items[0]["id"], "tk_1");
        assert_eq!(items[1]["searchText"], "");
    }

    #[test]
    fn queries_are_folded_words_and_phone_numbers_are_digits() {
        let q = |s: &str| SearchQuery::parse(s).map(|q| q.words);
        assert_eq!(q("  José  NÚÑEZ "), Some(vec!["jose".into(), "nunez".into()]));
        assert_eq!(q("jose@acme.com"), Some(vec!["jose@acme.com".into()]));
        assert_eq!(q("acme."), Some(vec!["acme".into()]));
        assert_eq!(q("Acme, Inc"), Some(vec!["acme".into(), "inc".into()]));
        assert_eq!(q("+34 600 12 34 56"), Some(vec!["34600123456".into()]));
        assert_eq!(q("600-123-456"), Some(vec!["600123456".into()]));
        assert_eq!(q("0034 600 123 456"), Some(vec!["34600123456".into()]));
        assert_eq!(q("(+1) 555"), Some(vec!["1555".into()]));
        assert_eq!(q("12"), Some(vec!["12".into()]));
        assert_eq!(q("q3 2024"), Some(vec!["q3".into(), "2024".into()]));
        assert_eq!(q("   "), None);
        assert_eq!(q("!!! ??"), None);
        assert_eq!(q("a a b").unwrap().len(), 2);
        assert_eq!(q(&"w ".repeat(50)).unwrap().len(), 1);
        let many: String = (0..20).map(|i| format!("w{i} ")).collect();
        assert_eq!(q(&many).unwrap().len(), MAX_QUERY_WORDS);
    }

    #[test]
    fn the_longest_word_drives_and_the_others_are_checked() {
        let q = SearchQuery::parse("ana nunez garcia").unwrap();
        assert_eq!(q.driving(), "garcia");
        assert_eq!(q.others(), vec!["ana", "nunez"]);
        let q = SearchQuery::parse("bo li").unwrap();
        assert_eq!(q.driving(), "bo");
        assert_eq!(q.others(), vec!["li"]);
        assert!(SearchQuery::parse("x").unwrap().others().is_empty());
    }

    #[test]
    fn a_prefix_range_holds_exactly_the_terms_that_start_with_it() {
        let end = prefix_end("jos");
        for t in ["jos", "jose", "jose@acme.com", "josé", "jos\u{10FFFE}"] {
            assert!(t >= "jos" && t < end.as_str(), "{t}");
        }
        for t in ["jor", "jot", "jp", "jo"] {
            assert!(!(t >= "jos" && t < end.as_str()), "{t}");
        }
    }
}
