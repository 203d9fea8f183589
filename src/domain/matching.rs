//! The identifier language of API.md §5: which normalised keys make two records "the same".
//!
//! `COMPANY_MATCH` / `CONTACT_MATCH` hold a preset name or an expression such as
//! `email | linkedinUrl | (firstName & lastName & company)`. The text is parsed once, when the
//! configuration is read, into a [`MatchRule`] in disjunctive normal form: an ordered list of
//! [`MatchTerm`]s, each an ordered list of fields that must all be present and equal. DNF is what
//! the sync needs: every term becomes one indexed lookup, the first term that matches names the
//! match on the wire (`matchedBy`), and term order breaks ties between candidates.
//!
//! Evaluation lives with the keys: `KeySet::applies` and `KeySet::matches` compare two records'
//! normalised keys under a term, and `domain::sync::decide` picks among candidates.
//!
//! Decisions where the spec leaves room:
//! - Field and preset names are accepted in any ASCII case (`LinkedinURL`, `Domain_Or_Name`): no two
//!   names differ only in case, and the variables are typed by people. [`fmt::Display`] always
//!   writes the canonical spelling.
//! - Two terms with the same fields in another order are duplicates; the first one written is kept,
//!   with its field order (which is its `matchedBy` label).
//! - No absorption: `domain | domain & name` keeps both terms, as written.
//! - Preset names are whole-text only; a preset inside an expression is an error that shows its
//!   expansion.

use std::fmt;

use super::record::RecordKind;

/// Longest identifier text accepted, in characters.
pub const MAX_LEN: usize = 500;
/// Most terms an identifier may have once `&` is distributed over `|`. Each term is one lookup per
/// incoming record, so this also bounds the work of a sync.
pub const MAX_TERMS: usize = 32;
/// Deepest nesting of parentheses accepted. Real identifiers need two or three levels; the cap
/// keeps the recursive parser far from the stack limit whatever the input.
pub const MAX_DEPTH: usize = 16;

/// What each record kind's identifier may say.
impl RecordKind {
    /// The fields an identifier of this kind may use.
    pub fn match_fields(self) -> &'static [MatchField] {
        use MatchField::*;
        match self {
            RecordKind::Company => &[Domain, DomainAnyTld, Name, LinkedinUrl, Phone, Country, VatId],
            RecordKind::Contact => &[Email, LinkedinUrl, FirstName, LastName, Company, CompanyDomain, Phone],
        }
    }

    /// The presets of this kind as `(name, expression)`, the default first.
    pub fn presets(self) -> &'static [(&'static str, &'static str)] {
        match self {
            RecordKind::Company => {
                &[("domain", "domain"), ("domain_any_tld", "domainAnyTld"), ("domain_or_name", "domain | name")]
            }
            RecordKind::Contact => &[
                ("linkedin_or_name_company", "linkedinUrl | firstName & lastName & company"),
                ("name_company", "firstName & lastName & company"),
                ("email_or_linkedin_or_name_company", "email | linkedinUrl | firstName & lastName & company"),
            ],
        }
    }

    /// Name of the preset used when the variable is unset.
    pub fn default_preset(self) -> &'static str {
        self.presets()[0].0
    }

    fn other(self) -> RecordKind {
        match self {
            RecordKind::Contact => RecordKind::Company,
            RecordKind::Company => RecordKind::Contact,
        }
    }

    fn preset(self, name: &str) -> Option<&'static (&'static str, &'static str)> {
        self.presets().iter().find(|(preset, _)| preset.eq_ignore_ascii_case(name))
    }
}

/// A field an identifier can compare. `linkedinUrl` and `phone` exist for both kinds; the others
/// belong to one (see [`MatchField::allowed_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchField {
    Domain,
    DomainAnyTld,
    Name,
    LinkedinUrl,
    Phone,
    Country,
    VatId,
    Email,
    FirstName,
    LastName,
    Company,
    CompanyDomain,
}

impl MatchField {
    pub const ALL: [MatchField; 12] = [
        MatchField::Domain,
        MatchField::DomainAnyTld,
        MatchField::Name,
        MatchField::LinkedinUrl,
        MatchField::Phone,
        MatchField::Country,
        MatchField::VatId,
        MatchField::Email,
        MatchField::FirstName,
        MatchField::LastName,
        MatchField::Company,
        MatchField::CompanyDomain,
    ];

    /// The wire name, as written in identifiers and `matchedBy`.
    pub fn name(&self) -> &'static str {
        match self {
            MatchField::Domain => "domain",
            MatchField::DomainAnyTld => "domainAnyTld",
            MatchField::Name => "name",
            MatchField::LinkedinUrl => "linkedinUrl",
            MatchField::Phone => "phone",
            MatchField::Country => "country",
            MatchField::VatId => "vatId",
            MatchField::Email => "email",
            MatchField::FirstName => "firstName",
            MatchField::LastName => "lastName",
            MatchField::Company => "company",
            MatchField::CompanyDomain => "companyDomain",
        }
    }

    /// The field with this wire name, in any ASCII case.
    pub fn from_name(name: &str) -> Option<MatchField> {
        MatchField::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(name))
    }

    pub fn allowed_for(self, kind: RecordKind) -> bool {
        kind.match_fields().contains(&self)
    }

    /// Whether one value of this field identifies one record of `kind`: contacts' `email` and
    /// `linkedinUrl`; companies' `domain`, `linkedinUrl` and `vatId`. Two records holding
    /// different values of a strong field are two records, whatever else they share.
    pub fn is_strong(self, kind: RecordKind) -> bool {
        match kind {
            RecordKind::Contact => matches!(self, MatchField::Email | MatchField::LinkedinUrl),
            RecordKind::Company => matches!(self, MatchField::Domain | MatchField::LinkedinUrl | MatchField::VatId),
        }
    }

    /// One bit per field, so a term's field set is a `u16` and duplicate terms are found by
    /// comparing numbers.
    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for MatchField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One alternative of an identifier: fields that must all be present and equal, in written order.
/// Never empty, never with a field twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MatchTerm {
    fields: Vec<MatchField>,
}

impl MatchTerm {
    pub fn fields(&self) -> &[MatchField] {
        &self.fields
    }

    /// Whether the term holds a strong field of `kind` (see [`MatchField::is_strong`]): such a
    /// term is evidence enough and is never vetoed.
    pub fn is_strong(&self, kind: RecordKind) -> bool {
        self.fields.iter().any(|f| f.is_strong(kind))
    }

    /// The `matchedBy` value of this term: field names joined by `&`, e.g. `firstName&lastName&company`.
    pub fn label(&self) -> String {
        let names: Vec<&str> = self.fields.iter().map(MatchField::name).collect();
        names.join("&")
    }
}

impl fmt::Display for MatchTerm {
    /// The `matchedBy` label.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// A parsed identifier: the terms of its disjunctive normal form, in written order, without
/// duplicates. At least one term, at most [`MAX_TERMS`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MatchRule {
    kind: RecordKind,
    terms: Vec<MatchTerm>,
    /// Domain keys that identify no company here (`SHARED_DOMAINS`, normalised): they never
    /// match and never veto, like the built-in shared domains.
    shared: Vec<String>,
}

impl MatchRule {
    /// Parses a preset name or an expression (see the module documentation).
    pub fn parse(kind: RecordKind, text: &str) -> Result<MatchRule, MatchRuleError> {
        let length = text.chars().count();
        if length > MAX_LEN {
            return Err(MatchRuleError::new(
                MAX_LEN,
                format!("identifier is {length} characters long; at most {MAX_LEN} are allowed"),
            ));
        }
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(MatchRuleError::new(0, "empty expression".to_string()));
        }
        if let Some((_, expression)) = kind.preset(trimmed) {
            // Not `parse`: the preset `domain` is also a field name, and would come back here.
            return MatchRule::parse_expression(kind, expression);
        }
        let single_word = trimmed.chars().all(is_word_char);
        if single_word && MatchField::from_name(trimmed).is_none() {
            // A lone word is meant as a preset as often as a field, so the error lists both.
            let position = text.chars().take_while(|c| c.is_whitespace()).count();
            let message = match kind.other().preset(trimmed) {
                Some((name, _)) => format!(
                    "\"{name}\" at position {position} is a {} preset, not a {} preset ({} presets: {})",
                    kind.other().key_kind(),
                    kind.key_kind(),
                    kind.key_kind(),
                    preset_list(kind)
                ),
                None => format!(
                    "unknown preset or field \"{trimmed}\" at position {position} ({} presets: {}; {} fields: {})",
                    kind.key_kind(),
                    preset_list(kind),
                    kind.key_kind(),
                    field_list(kind)
                ),
            };
            return Err(MatchRuleError::new(position, message));
        }
        MatchRule::parse_expression(kind, text)
    }

    fn parse_expression(kind: RecordKind, text: &str) -> Result<MatchRule, MatchRuleError> {
        let mut parser = Parser { kind, lexer: Lexer { chars: text.chars().collect(), at: 0 }, prev: None };
        let dnf = parser.expression(0)?;
        let next = parser.peek()?;
        match next.tok {
            Tok::End => {}
            Tok::Close => {
                return Err(MatchRuleError::new(next.pos, format!("unbalanced \")\" at position {}", next.pos)))
            }
            _ => return Err(parser.expected("\"&\" or \"|\"", &next)),
        }
        Ok(MatchRule { kind, terms: dnf.into_iter().map(|fields| MatchTerm { fields }).collect(), shared: Vec::new() })
    }

    /// The rule of the kind's default preset (`domain` for companies, `linkedin_or_name_company`
    /// for contacts).
    pub fn default_for(kind: RecordKind) -> MatchRule {
        MatchRule::parse(kind, kind.default_preset()).expect("every preset parses (tested below)")
    }

    /// The rule with these domains treated as shared (`SHARED_DOMAINS`): each entry is
    /// normalised as a domain key and as a `domainAnyTld` key would be.
    pub fn with_shared_domains(mut self, domains: &[String]) -> MatchRule {
        use crate::domain::normalize::{domain_any_tld, normalize_domain};
        let mut shared: Vec<String> =
            domains.iter().flat_map(|d| [normalize_domain(d), domain_any_tld(d)]).flatten().collect();
        shared.sort();
        shared.dedup();
        self.shared = shared;
        self
    }

    /// Whether `key` of `field` is a domain this deployment declared shared.
    pub fn is_shared(&self, field: MatchField, key: &str) -> bool {
        matches!(field, MatchField::Domain | MatchField::DomainAnyTld | MatchField::CompanyDomain)
            && self.shared.binary_search_by(|s| s.as_str().cmp(key)).is_ok()
    }

    /// Whether any domain is declared shared (most deployments: none, and nothing is filtered).
    pub fn has_shared(&self) -> bool {
        !self.shared.is_empty()
    }

    pub fn kind(&self) -> RecordKind {
        self.kind
    }

    pub fn terms(&self) -> &[MatchTerm] {
        &self.terms
    }

    /// Every field the rule reads, each once, in order of first use: the keys a sync must load.
    pub fn fields(&self) -> Vec<MatchField> {
        let mut out: Vec<MatchField> = Vec::new();
        for &f in self.terms.iter().flat_map(|t| t.fields.iter()) {
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }
}

impl fmt::Display for MatchRule {
    /// The canonical expression: terms joined by ` | `, fields by ` & `. It parses back to an
    /// equal rule, because `&` binds tighter than `|` and the rule is already in DNF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, term) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            for (j, field) in term.fields.iter().enumerate() {
                if j > 0 {
                    f.write_str(" & ")?;
                }
                f.write_str(field.name())?;
            }
        }
        Ok(())
    }
}

/// Why an identifier was refused. `position` is the 0-based character offset of the offending
/// token (the text length for "end of input"), for a caret under the text; `message` is the whole
/// sentence, position included, ready to follow "is not a valid identifier: ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchRuleError {
    pub position: usize,
    pub message: String,
}

impl MatchRuleError {
    fn new(position: usize, message: String) -> MatchRuleError {
        MatchRuleError { position, message }
    }
}

impl fmt::Display for MatchRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MatchRuleError {}

fn field_list(kind: RecordKind) -> String {
    let names: Vec<&str> = kind.match_fields().iter().map(MatchField::name).collect();
    names.join(", ")
}

fn preset_list(kind: RecordKind) -> String {
    let names: Vec<&str> = kind.presets().iter().map(|(name, _)| *name).collect();
    names.join(", ")
}

/// Characters of a field or preset name. `-` and `.` are included so that `domain-any-tld` or
/// `company.name` is reported whole as an unknown name rather than as a stray character.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    And,
    Or,
    Open,
    Close,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

impl Token {
    /// How the token reads in a message.
    fn describe(&self) -> String {
        match &self.tok {
            Tok::Word(w) => format!("\"{w}\""),
            Tok::And => "\"&\"".to_string(),
            Tok::Or => "\"|\"".to_string(),
            Tok::Open => "\"(\"".to_string(),
            Tok::Close => "\")\"".to_string(),
            Tok::End => "end of input".to_string(),
        }
    }
}

/// Tokens are read on demand, so the first error in the text is the one reported.
struct Lexer {
    chars: Vec<char>,
    at: usize,
}

impl Lexer {
    fn next(&mut self) -> Result<Token, MatchRuleError> {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
        let pos = self.at;
        let Some(&c) = self.chars.get(pos) else { return Ok(Token { tok: Tok::End, pos }) };
        self.at += 1;
        let tok =
            match c {
                '&' => Tok::And,
                '|' => Tok::Or,
                '(' => Tok::Open,
                ')' => Tok::Close,
                c if is_word_char(c) => {
                    while self.chars.get(self.at).is_some_and(|&c| is_word_char(c)) {
                        self.at += 1;
                    }
                    Tok::Word(self.chars[pos..self.at].iter().collect())
                }
                other => return Err(MatchRuleError::new(
                    pos,
                    format!(
                        "unexpected character \"{other}\" at position {pos} (fields are joined with \"&\" and \"|\")"
                    ),
                )),
            };
        Ok(Token { tok, pos })
    }
}

/// A formula in DNF while it is being built: terms of fields, in written order.
type Dnf = Vec<Vec<MatchField>>;

/// Recursive descent over `expression := conjunction ("|" conjunction)*`,
/// `conjunction := factor ("&" factor)*`, `factor := field | "(" expression ")"`; each level
/// returns its DNF, so `&` distributes over `|` as the parse goes.
struct Parser {
    kind: RecordKind,
    lexer: Lexer,
    /// The last token consumed, for "after ..." in messages. Errors are raised on a peeked
    /// token, so this is always the one before the offending token.
    prev: Option<Token>,
}

impl Parser {
    fn peek(&mut self) -> Result<Token, MatchRuleError> {
        let at = self.lexer.at;
        let token = self.lexer.next()?;
        self.lexer.at = at;
        Ok(token)
    }

    fn next(&mut self) -> Result<Token, MatchRuleError> {
        let token = self.lexer.next()?;
        self.prev = Some(token.clone());
        Ok(token)
    }

    fn expected(&self, what: &str, found: &Token) -> MatchRuleError {
        let after = match &self.prev {
            Some(prev) => format!(" after {}", prev.describe()),
            None => String::new(),
        };
        MatchRuleError::new(
            found.pos,
            format!("expected {what}{after}, found {} at position {}", found.describe(), found.pos),
        )
    }

    fn expression(&mut self, depth: usize) -> Result<Dnf, MatchRuleError> {
        let mut dnf = self.conjunction(depth)?;
        while self.peek()?.tok == Tok::Or {
            let or = self.next()?;
            let rhs = self.conjunction(depth)?;
            for term in rhs {
                push_term(&mut dnf, term);
            }
            check_size(&dnf, &or)?;
        }
        Ok(dnf)
    }

    fn conjunction(&mut self, depth: usize) -> Result<Dnf, MatchRuleError> {
        let mut dnf = self.factor(depth)?;
        while self.peek()?.tok == Tok::And {
            let and = self.next()?;
            let rhs = self.factor(depth)?;
            // (a | b) & (c | d) = a&c | a&d | b&c | b&d: left terms first, fields left to right.
            let mut product: Dnf = Vec::new();
            for left in &dnf {
                for right in &rhs {
                    let mut term = left.clone();
                    for &f in right {
                        if !term.contains(&f) {
                            term.push(f);
                        }
                    }
                    push_term(&mut product, term);
                    // Checked inside the loop so a huge product is never built.
                    check_size(&product, &and)?;
                }
            }
            dnf = product;
        }
        Ok(dnf)
    }

    fn factor(&mut self, depth: usize) -> Result<Dnf, MatchRuleError> {
        let token = self.peek()?;
        match &token.tok {
            Tok::Word(word) => {
                let field = self.field(word, token.pos)?;
                self.next()?;
                Ok(vec![vec![field]])
            }
            Tok::Open => {
                if depth >= MAX_DEPTH {
                    return Err(MatchRuleError::new(
                        token.pos,
                        format!("parentheses nested more than {MAX_DEPTH} deep at position {}", token.pos),
                    ));
                }
                self.next()?;
                let inner = self.expression(depth + 1)?;
                let close = self.peek()?;
                match close.tok {
                    Tok::Close => {
                        self.next()?;
                        Ok(inner)
                    }
                    Tok::End => Err(MatchRuleError::new(
                        token.pos,
                        format!("missing \")\" for \"(\" at position {}", token.pos),
                    )),
                    _ => Err(self.expected("\"&\", \"|\" or \")\"", &close)),
                }
            }
            _ => Err(self.expected("a field name", &token)),
        }
    }

    fn field(&self, word: &str, pos: usize) -> Result<MatchField, MatchRuleError> {
        let kind = self.kind;
        if let Some(field) = MatchField::from_name(word) {
            if field.allowed_for(kind) {
                return Ok(field);
            }
            return Err(MatchRuleError::new(
                pos,
                format!(
                    "field \"{}\" at position {pos} is not a {} field ({} fields: {})",
                    field.name(),
                    kind.key_kind(),
                    kind.key_kind(),
                    field_list(kind)
                ),
            ));
        }
        let message = if let Some((name, expression)) = kind.preset(word) {
            format!("preset \"{name}\" at position {pos} cannot be part of an expression; write its fields instead: {expression}")
        } else if word.eq_ignore_ascii_case("externalId") {
            format!("\"externalId\" at position {pos} is always matched first, by link; leave it out of the identifier")
        } else {
            format!("unknown field \"{word}\" at position {pos} ({} fields: {})", kind.key_kind(), field_list(kind))
        };
        Err(MatchRuleError::new(pos, message))
    }
}

/// Adds `term` unless a term with the same fields (in any order) is there already.
fn push_term(dnf: &mut Dnf, term: Vec<MatchField>) {
    if !dnf.iter().any(|t| mask(t) == mask(&term)) {
        dnf.push(term);
    }
}

fn mask(fields: &[MatchField]) -> u16 {
    fields.iter().fold(0, |m, f| m | f.bit())
}

fn check_size(dnf: &Dnf, operator: &Token) -> Result<(), MatchRuleError> {
    if dnf.len() > MAX_TERMS {
        return Err(MatchRuleError::new(
            operator.pos,
            format!(
                "expression expands to more than {MAX_TERMS} terms by the {} at position {}",
                operator.describe(),
                operator.pos
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::KeySet;
    use RecordKind::{Company as Companies, Contact as Contacts};

    const COMPANY_FIELDS: &str = "company fields: domain, domainAnyTld, name, linkedinUrl, phone, country, vatId";
    const CONTACT_FIELDS: &str =
        "contact fields: email, linkedinUrl, firstName, lastName, company, companyDomain, phone";

    fn rule(kind: RecordKind, text: &str) -> MatchRule {
        MatchRule::parse(kind, text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn labels(kind: RecordKind, text: &str) -> Vec<String> {
        rule(kind, text).terms().iter().map(MatchTerm::label).collect()
    }

    fn err(kind: RecordKind, text: &str) -> MatchRuleError {
        match MatchRule::parse(kind, text) {
            Ok(rule) => panic!("{text:?} parsed as {rule}"),
            Err(e) => e,
        }
    }

    /// Asserts the error's position and its whole sentence.
    fn assert_err(kind: RecordKind, text: &str, position: usize, message: &str) {
        let e = err(kind, text);
        assert_eq!(e.message, message, "{text:?}");
        assert_eq!(e.position, position, "{text:?}");
        assert_eq!(e.to_string(), message);
    }

    fn keys(pairs: &[(MatchField, &str)]) -> KeySet {
        KeySet::new(pairs.iter().map(|&(f, v)| (f, v.to_string())))
    }

    /// The first term of `r` under which `candidate` matches `incoming`.
    fn first_match(r: &MatchRule, incoming: &KeySet, candidate: &KeySet) -> Option<usize> {
        r.terms().iter().position(|t| incoming.matches(t, candidate))
    }

    #[test]
    fn company_presets() {
        assert_eq!(labels(Companies, "domain"), ["domain"]);
        assert_eq!(labels(Companies, "domain_any_tld"), ["domainAnyTld"]);
        assert_eq!(labels(Companies, "domain_or_name"), ["domain", "name"]);
        assert_eq!(MatchRule::default_for(Companies), rule(Companies, "domain"));
        assert_eq!(Companies.default_preset(), "domain");
    }

    #[test]
    fn contact_presets() {
        assert_eq!(labels(Contacts, "name_company"), ["firstName&lastName&company"]);
        assert_eq!(labels(Contacts, "linkedin_or_name_company"), ["linkedinUrl", "firstName&lastName&company"]);
        assert_eq!(
            labels(Contacts, "email_or_linkedin_or_name_company"),
            ["email", "linkedinUrl", "firstName&lastName&company"]
        );
        assert_eq!(MatchRule::default_for(Contacts), rule(Contacts, "linkedin_or_name_company"));
        assert_eq!(MatchRule::default_for(Contacts), rule(Contacts, "linkedinUrl | (firstName & lastName & company)"));
    }

    #[test]
    fn every_preset_parses_to_its_expression() {
        for kind in [Companies, Contacts] {
            for (name, expression) in kind.presets() {
                let preset = rule(kind, name);
                assert_eq!(preset, rule(kind, expression), "{name}");
                assert_eq!(preset.to_string(), *expression, "{name} is listed in canonical form");
                assert_eq!(preset.kind(), kind);
            }
        }
        assert_eq!(
            rule(Contacts, "email_or_linkedin_or_name_company"),
            rule(Contacts, "email | linkedinUrl | (firstName & lastName & company)")
        );
    }

    #[test]
    fn presets_ignore_case_and_surrounding_whitespace() {
        assert_eq!(rule(Companies, "  Domain_Or_Name\n"), rule(Companies, "domain | name"));
        assert_eq!(rule(Contacts, "NAME_COMPANY"), rule(Contacts, "name_company"));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(labels(Companies, "domain | name & phone"), ["domain", "name&phone"]);
        assert_eq!(labels(Companies, "domain & name | phone"), ["domain&name", "phone"]);
        assert_eq!(labels(Companies, "vatId | domain & country | name"), ["vatId", "domain&country", "name"]);
    }

    #[test]
    fn parentheses_group_and_and_distributes_over_or() {
        assert_eq!(labels(Companies, "domain & (name | phone)"), ["domain&name", "domain&phone"]);
        assert_eq!(labels(Companies, "(name | phone) & domain"), ["name&domain", "phone&domain"]);
        assert_eq!(
            labels(Companies, "(domain | name) & (phone | country)"),
            ["domain&phone", "domain&country", "name&phone", "name&country"]
        );
        assert_eq!(
            labels(Companies, "vatId & (domain | name & (phone | country))"),
            ["vatId&domain", "vatId&name&phone", "vatId&name&country"]
        );
        assert_eq!(labels(Companies, "((domain))"), ["domain"]);
        assert_eq!(labels(Companies, "(domain | name)"), ["domain", "name"]);
        assert_eq!(labels(Contacts, "(email)|(phone)"), ["email", "phone"]);
    }

    #[test]
    fn duplicates_are_removed_and_the_first_spelling_kept() {
        assert_eq!(labels(Companies, "domain | domain"), ["domain"]);
        assert_eq!(labels(Companies, "domain & domain"), ["domain"]);
        assert_eq!(labels(Companies, "domain & name | name & domain"), ["domain&name"]);
        assert_eq!(labels(Companies, "name & (domain | name)"), ["name&domain", "name"]);
        assert_eq!(labels(Companies, "(domain | name) & (name | domain)"), ["domain&name", "domain", "name"]);
        // Not absorbed: a narrower term stays, in its place.
        assert_eq!(labels(Companies, "domain & name | domain"), ["domain&name", "domain"]);
    }

    #[test]
    fn whitespace_is_insignificant() {
        let expected = rule(Contacts, "email | firstName & lastName");
        for text in [
            "email|firstName&lastName",
            "  email |\tfirstName\n&\r\nlastName  ",
            "email\u{3000}|\u{a0}firstName & lastName",
        ] {
            assert_eq!(rule(Contacts, text), expected, "{text:?}");
        }
    }

    #[test]
    fn field_names_ignore_ascii_case_and_display_canonically() {
        let r = rule(Contacts, "LINKEDINURL | FirstName & lastname & COMPANY");
        assert_eq!(r, MatchRule::default_for(Contacts));
        assert_eq!(r.to_string(), "linkedinUrl | firstName & lastName & company");
    }

    #[test]
    fn kinds_give_different_rules() {
        assert_ne!(rule(Companies, "phone"), rule(Contacts, "phone"));
        assert_eq!(rule(Companies, "linkedinUrl").terms(), rule(Contacts, "linkedinUrl").terms());
    }

    #[test]
    fn fields_know_their_names_and_kinds() {
        for f in MatchField::ALL {
            assert_eq!(MatchField::from_name(f.name()), Some(f));
            assert_eq!(f.to_string(), f.name());
            assert!(f.allowed_for(Companies) || f.allowed_for(Contacts), "{f}");
        }
        let both: Vec<MatchField> =
            MatchField::ALL.into_iter().filter(|f| f.allowed_for(Companies) && f.allowed_for(Contacts)).collect();
        assert_eq!(both, [MatchField::LinkedinUrl, MatchField::Phone]);
        assert!(!MatchField::Email.allowed_for(Companies));
        assert!(!MatchField::Domain.allowed_for(Contacts));
        assert_eq!(MatchField::from_name("companydomain"), Some(MatchField::CompanyDomain));
        assert_eq!(MatchField::from_name("externalId"), None);
    }

    #[test]
    fn unknown_field_lists_the_kinds_fields() {
        assert_err(
            Companies,
            "domain | domian",
            9,
            &format!("unknown field \"domian\" at position 9 ({COMPANY_FIELDS})"),
        );
        assert_err(
            Contacts,
            "email & fristName",
            8,
            &format!("unknown field \"fristName\" at position 8 ({CONTACT_FIELDS})"),
        );
        // Dashes and dots are part of the word, so the whole name is quoted.
        assert_err(
            Companies,
            "name | domain-any-tld",
            7,
            &format!("unknown field \"domain-any-tld\" at position 7 ({COMPANY_FIELDS})"),
        );
    }

    #[test]
    fn a_lone_unknown_word_lists_presets_too() {
        assert_err(
            Companies,
            "domian",
            0,
            &format!("unknown preset or field \"domian\" at position 0 (company presets: domain, domain_any_tld, domain_or_name; {COMPANY_FIELDS})"),
        );
        assert_err(
            Contacts,
            "  linkedin",
            2,
            &format!("unknown preset or field \"linkedin\" at position 2 (contact presets: linkedin_or_name_company, name_company, email_or_linkedin_or_name_company; {CONTACT_FIELDS})"),
        );
        assert_err(
            Companies,
            "name_company",
            0,
            "\"name_company\" at position 0 is a contact preset, not a company preset (company presets: domain, domain_any_tld, domain_or_name)",
        );
    }

    #[test]
    fn a_field_of_the_other_kind_is_refused() {
        assert_err(
            Companies,
            "email",
            0,
            &format!("field \"email\" at position 0 is not a company field ({COMPANY_FIELDS})"),
        );
        assert_err(
            Contacts,
            "email | Domain",
            8,
            &format!("field \"domain\" at position 8 is not a contact field ({CONTACT_FIELDS})"),
        );
    }

    #[test]
    fn presets_and_external_id_inside_expressions_are_explained() {
        assert_err(
            Companies,
            "domain_or_name | vatId",
            0,
            "preset \"domain_or_name\" at position 0 cannot be part of an expression; write its fields instead: domain | name",
        );
        assert_err(
            Contacts,
            "externalId | email",
            0,
            "\"externalId\" at position 0 is always matched first, by link; leave it out of the identifier",
        );
    }

    #[test]
    fn missing_field_names_are_located() {
        assert_err(Contacts, "email &", 7, "expected a field name after \"&\", found end of input at position 7");
        assert_err(Contacts, "email & ", 8, "expected a field name after \"&\", found end of input at position 8");
        assert_err(Contacts, "& email", 0, "expected a field name, found \"&\" at position 0");
        assert_err(Contacts, "email | | phone", 8, "expected a field name after \"|\", found \"|\" at position 8");
        assert_err(Contacts, "email && phone", 7, "expected a field name after \"&\", found \"&\" at position 7");
        assert_err(Companies, "()", 1, "expected a field name after \"(\", found \")\" at position 1");
        assert_err(Companies, "domain & )", 9, "expected a field name after \"&\", found \")\" at position 9");
        assert_err(Companies, "|", 0, "expected a field name, found \"|\" at position 0");
    }

    #[test]
    fn missing_operators_are_located() {
        assert_err(
            Companies,
            "domain name",
            7,
            "expected \"&\" or \"|\" after \"domain\", found \"name\" at position 7",
        );
        assert_err(
            Companies,
            "domain (name)",
            7,
            "expected \"&\" or \"|\" after \"domain\", found \"(\" at position 7",
        );
        assert_err(
            Companies,
            "(domain name)",
            8,
            "expected \"&\", \"|\" or \")\" after \"domain\", found \"name\" at position 8",
        );
        assert_err(Companies, "(domain)(name)", 8, "expected \"&\" or \"|\" after \")\", found \"(\" at position 8");
    }

    #[test]
    fn unbalanced_parentheses_are_located() {
        assert_err(Companies, "domain | name)", 13, "unbalanced \")\" at position 13");
        assert_err(Companies, ")", 0, "expected a field name, found \")\" at position 0");
        assert_err(Companies, "domain & (name | phone", 9, "missing \")\" for \"(\" at position 9");
        assert_err(Companies, "((domain)", 0, "missing \")\" for \"(\" at position 0");
        assert_err(Companies, "(", 1, "expected a field name after \"(\", found end of input at position 1");
    }

    #[test]
    fn empty_and_stray_characters() {
        assert_err(Companies, "", 0, "empty expression");
        assert_err(Companies, " \t\n", 0, "empty expression");
        assert_err(
            Companies,
            "domain, name",
            6,
            "unexpected character \",\" at position 6 (fields are joined with \"&\" and \"|\")",
        );
        assert_err(
            Contacts,
            "email + phone",
            6,
            "unexpected character \"+\" at position 6 (fields are joined with \"&\" and \"|\")",
        );
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        // U+3000 is three bytes in UTF-8 but one character.
        assert_err(
            Companies,
            "domain\u{3000}\u{3000}name",
            8,
            "expected \"&\" or \"|\" after \"domain\", found \"name\" at position 8",
        );
        assert_err(Companies, "name | é", 7, &format!("unknown field \"é\" at position 7 ({COMPANY_FIELDS})"));
    }

    #[test]
    fn length_is_capped() {
        let at_limit = format!("domain{}", " ".repeat(MAX_LEN - 6));
        assert_eq!(at_limit.chars().count(), MAX_LEN);
        assert_eq!(rule(Companies, &at_limit), rule(Companies, "domain"));
        let over = format!("{at_limit} ");
        assert_err(Companies, &over, MAX_LEN, "identifier is 501 characters long; at most 500 are allowed");
        // Measured in characters: 500 two-byte characters are within the limit (and then unknown).
        let wide = "é".repeat(MAX_LEN);
        assert!(err(Companies, &wide).message.starts_with("unknown preset or field"));
    }

    #[test]
    fn term_count_is_capped() {
        let all = "(domain | domainAnyTld | name | linkedinUrl | phone | country | vatId)";
        // Pairs of seven fields: 7 singletons and 21 pairs.
        let pairs = format!("{all} & {all}");
        assert_eq!(rule(Companies, &pairs).terms().len(), 28);
        let triples = [
            "domain & name & phone",
            "domain & name & country",
            "domain & name & vatId",
            "domain & phone & country",
            "name & phone & country",
        ];
        let exactly = format!("{pairs} | {}", triples[..4].join(" | "));
        assert_eq!(rule(Companies, &exactly).terms().len(), MAX_TERMS);
        let one_more = format!("{exactly} | {}", triples[4]);
        let last_or = one_more.rfind('|').unwrap();
        assert_err(
            Companies,
            &one_more,
            last_or,
            &format!("expression expands to more than 32 terms by the \"|\" at position {last_or}"),
        );
        // Distribution is stopped at the "&" that overflows, before the product is built.
        let cubed = format!("{all} & {all} & {all}");
        let second_and = cubed.rfind('&').unwrap();
        assert_err(
            Companies,
            &cubed,
            second_and,
            &format!("expression expands to more than 32 terms by the \"&\" at position {second_and}"),
        );
    }

    #[test]
    fn nesting_depth_is_capped_without_overflowing_the_stack() {
        let nested = |n: usize| format!("{}domain{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(rule(Companies, &nested(MAX_DEPTH)), rule(Companies, "domain"));
        assert_err(Companies, &nested(MAX_DEPTH + 1), MAX_DEPTH, "parentheses nested more than 16 deep at position 16");
        assert_eq!(err(Companies, &"(".repeat(MAX_LEN)).position, MAX_DEPTH);
        assert_eq!(err(Companies, &"(".repeat(100_000)).position, MAX_LEN);
    }

    #[test]
    fn display_round_trips() {
        for (kind, text) in [
            (Companies, "domain"),
            (Companies, "domain_or_name"),
            (Companies, "domain & (name | phone)"),
            (Companies, "(domain | name) & (phone | country) | vatId"),
            (Companies, "vatId & (domain | name & (phone | country))"),
            (Companies, "name & domain | domain & name | country"),
            (Contacts, "email_or_linkedin_or_name_company"),
            (Contacts, "(email | phone) & (firstName & lastName)"),
            (Contacts, "COMPANYDOMAIN&firstName|email"),
        ] {
            let first = rule(kind, text);
            let shown = first.to_string();
            assert_eq!(rule(kind, &shown), first, "{text:?} shown as {shown:?}");
            assert_eq!(rule(kind, &shown).to_string(), shown);
        }
        assert_eq!(rule(Companies, "domain & (name | phone)").to_string(), "domain & name | domain & phone");
        assert_eq!(rule(Companies, "(domain|name)").to_string(), "domain | name");
    }

    #[test]
    fn term_labels_are_the_matched_by_values() {
        let r = rule(Contacts, "email_or_linkedin_or_name_company");
        let shown: Vec<String> = r.terms().iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["email", "linkedinUrl", "firstName&lastName&company"]);
        assert_eq!(r.terms()[2].fields(), [MatchField::FirstName, MatchField::LastName, MatchField::Company]);
    }

    #[test]
    fn rule_lists_its_fields_once_in_order_of_use() {
        let r = rule(Companies, "(domain | name) & country | vatId & domain");
        assert_eq!(r.fields(), [MatchField::Domain, MatchField::Country, MatchField::Name, MatchField::VatId]);
    }

    #[test]
    fn a_term_matches_when_every_field_is_present_and_equal() {
        use MatchField::*;
        let term = &rule(Contacts, "name_company").terms()[0].clone();
        let incoming = keys(&[(FirstName, "ana"), (LastName, "garcia"), (Company, "acme")]);
        assert!(incoming.applies(term));
        assert!(incoming.matches(term, &incoming));
        let other_company = keys(&[(FirstName, "ana"), (LastName, "garcia"), (Company, "globex")]);
        assert!(!incoming.matches(term, &other_company));
        let no_company = keys(&[(FirstName, "ana"), (LastName, "garcia")]);
        assert!(!incoming.matches(term, &no_company));
        assert!(!no_company.matches(term, &incoming));
    }

    #[test]
    fn empty_or_absent_fields_never_match() {
        use MatchField::*;
        let term = &rule(Companies, "domain").terms()[0].clone();
        let absent = keys(&[]);
        let empty = keys(&[(Domain, "")]);
        let acme = keys(&[(Domain, "acme.com")]);
        assert!(!absent.applies(term));
        assert!(!empty.applies(term));
        // Two records that both lack the key are not the same record.
        assert!(!absent.matches(term, &absent));
        assert!(!empty.matches(term, &empty));
        assert!(!empty.matches(term, &acme));
        assert!(!acme.matches(term, &empty));
        assert!(acme.matches(term, &acme));
    }

    #[test]
    fn first_match_names_the_earliest_term() {
        use MatchField::*;
        let r = MatchRule::default_for(Contacts);
        let incoming = keys(&[(LinkedinUrl, "in/ana"), (FirstName, "ana"), (LastName, "garcia"), (Company, "acme")]);
        let same_profile =
            keys(&[(LinkedinUrl, "in/ana"), (FirstName, "ana"), (LastName, "garcia"), (Company, "acme")]);
        let same_name = keys(&[(LinkedinUrl, "in/ana-g"), (FirstName, "ana"), (LastName, "garcia"), (Company, "acme")]);
        let stranger = keys(&[(LinkedinUrl, "in/bob"), (FirstName, "bob"), (LastName, "garcia"), (Company, "acme")]);
        assert_eq!(first_match(&r, &incoming, &same_profile), Some(0));
        assert_eq!(first_match(&r, &incoming, &same_name), Some(1));
        assert_eq!(r.terms()[1].label(), "firstName&lastName&company");
        assert_eq!(first_match(&r, &incoming, &stranger), None);
        // No LinkedIn URL on the incoming record: only the name term can match.
        let no_profile = keys(&[(LinkedinUrl, ""), (FirstName, "ana"), (LastName, "garcia"), (Company, "acme")]);
        assert_eq!(first_match(&r, &no_profile, &same_profile), Some(1));
        assert_eq!(first_match(&r, &keys(&[]), &same_profile), None);
    }

    #[test]
    fn errors_read_well_after_a_variable_name() {
        let e = err(Contacts, "email &");
        assert_eq!(
            format!("CONTACT_MATCH is not a valid identifier: {e}"),
            "CONTACT_MATCH is not a valid identifier: expected a field name after \"&\", found end of input at position 7"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.to_string().contains("position 7"));
    }

    #[test]
    fn a_declared_shared_domain_covers_its_subdomains_pages_and_addresses() {
        use crate::domain::normalize::{domain_any_tld, normalize_domain};
        let rule = MatchRule::default_for(RecordKind::Company).with_shared_domains(&["mybuilder.com".to_string(), "https://partner-mail.es/".to_string()]);
        for value in ["mybuilder.com", "https://acme.mybuilder.com/", "www.beta.mybuilder.com/about", "mybuilder.com/acme", "ana@partner-mail.es"] {
            let key = normalize_domain(value).unwrap();
            assert!(rule.is_shared(MatchField::Domain, &key), "{value}");
            assert!(rule.is_shared(MatchField::CompanyDomain, &key), "{value}");
            assert!(rule.is_shared(MatchField::DomainAnyTld, &domain_any_tld(value).unwrap()), "{value}");
        }
        assert!(!rule.is_shared(MatchField::Domain, "acme.com"));
        assert!(!rule.is_shared(MatchField::Name, "mybuilder.com"), "a name is never a shared domain");
    }
}
