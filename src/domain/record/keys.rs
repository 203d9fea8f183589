//! The normalised match keys of a record (API.md §5), computed once at write time and stored in
//! `match_keys`.
//!
//! Keys are computed for every match field of the kind, not only for the fields of the configured
//! identifier, so changing `COMPANY_MATCH` or `CONTACT_MATCH` needs no re-indexing. A company's
//! `domain` and `domainAnyTld` keys come from both `domain` and `website` (a record that only has a
//! website is still found by domain), so one field may have two keys; [`KeySet`] compares such
//! records key against key.

use serde_json::{Map, Value};

use super::kind::RecordKind;
use crate::domain::matching::{MatchField, MatchTerm};
use crate::domain::normalize::{domain_keys, Normalizer};

/// Where each key comes from: (match field, core field read, normaliser).
type KeySource = (MatchField, &'static str, Normalizer);

const COMPANY_KEYS: &[KeySource] = &[
    (MatchField::Domain, "domain", Normalizer::Domain),
    (MatchField::Domain, "website", Normalizer::Domain),
    (MatchField::DomainAnyTld, "domain", Normalizer::DomainAnyTld),
    (MatchField::DomainAnyTld, "website", Normalizer::DomainAnyTld),
    (MatchField::Name, "name", Normalizer::CompanyName),
    (MatchField::LinkedinUrl, "linkedinUrl", Normalizer::LinkedinUrl),
    (MatchField::Phone, "phone", Normalizer::Phone),
    (MatchField::Country, "country", Normalizer::Country),
    (MatchField::VatId, "vatId", Normalizer::Vat),
];

/// `companyDomain` comes from `companyDomain` only, never from the e-mail's domain: people write
/// from gmail.com, and a shared mail domain must not make strangers "the same company".
const CONTACT_KEYS: &[KeySource] = &[
    (MatchField::Email, "email", Normalizer::Email),
    (MatchField::LinkedinUrl, "linkedinUrl", Normalizer::LinkedinUrl),
    (MatchField::FirstName, "firstName", Normalizer::PersonName),
    (MatchField::LastName, "lastName", Normalizer::PersonName),
    (MatchField::Company, "company", Normalizer::CompanyName),
    (MatchField::CompanyDomain, "companyDomain", Normalizer::Domain),
    (MatchField::Phone, "phone", Normalizer::Phone),
];

fn sources(kind: RecordKind) -> &'static [KeySource] {
    match kind {
        RecordKind::Contact => CONTACT_KEYS,
        RecordKind::Company => COMPANY_KEYS,
    }
}

/// The core fields a kind's keys come from: keys need computing again only when one changed.
pub fn key_fields(kind: RecordKind) -> impl Iterator<Item = &'static str> {
    sources(kind).iter().map(|&(_, source, _)| source)
}

/// Every match key of a record: `(field, key)`, sorted and without repeats. A field that is
/// absent, not a string, or gives no key (empty, an IP address as a domain, ...) contributes none.
pub fn match_keys(kind: RecordKind, fields: &Map<String, Value>) -> Vec<(MatchField, String)> {
    KeySet::of(kind, fields).into_vec()
}

/// The match keys of one record, usable by the matcher. A field may have several keys; two
/// records agree on a field when any key of one equals any key of the other.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeySet {
    /// Sorted, no repeats, no empty keys.
    keys: Vec<(MatchField, String)>,
}

impl KeySet {
    /// The keys of a record from its core fields.
    pub fn of(kind: RecordKind, fields: &Map<String, Value>) -> KeySet {
        // A value that gives both domain keys is read once for both (`domain_keys`).
        let mut read: Vec<(&str, Option<(String, String)>)> = Vec::new();
        let mut keys = Vec::new();
        for &(field, source, normalizer) in sources(kind) {
            let Some(raw) = fields.get(source).and_then(Value::as_str) else { continue };
            let key = match normalizer {
                Normalizer::Domain | Normalizer::DomainAnyTld => {
                    if !read.iter().any(|(r, _)| *r == raw) {
                        read.push((raw, domain_keys(raw)));
                    }
                    let pair = read.iter().find(|(r, _)| *r == raw).and_then(|(_, pair)| pair.as_ref());
                    pair.map(|(domain, any)| if normalizer == Normalizer::Domain { domain } else { any }.clone())
                }
                other => other.apply(raw),
            };
            if let Some(key) = key {
                keys.push((field, key));
            }
        }
        keys.into_iter().collect()
    }

    /// Keys already normalised (for example read back from `match_keys`).
    pub fn new(keys: impl IntoIterator<Item = (MatchField, String)>) -> KeySet {
        keys.into_iter().collect()
    }

    /// The keys that `keep` keeps.
    pub fn filtered(&self, keep: impl Fn(MatchField, &str) -> bool) -> KeySet {
        KeySet { keys: self.keys.iter().filter(|(f, k)| keep(*f, k)).cloned().collect() }
    }

    pub fn as_slice(&self) -> &[(MatchField, String)] {
        &self.keys
    }

    pub fn into_vec(self) -> Vec<(MatchField, String)> {
        self.keys
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys of one field, in order.
    pub fn keys(&self, field: MatchField) -> impl Iterator<Item = &str> {
        let start = self.keys.partition_point(|(f, _)| *f < field);
        self.keys[start..].iter().take_while(move |(f, _)| *f == field).map(|(_, k)| k.as_str())
    }

    pub fn has(&self, field: MatchField) -> bool {
        self.keys(field).next().is_some()
    }

    /// Whether this (incoming) record has every field of `term`: a term with a field missing never
    /// matches, so it needs no lookup.
    pub fn applies(&self, term: &MatchTerm) -> bool {
        term.fields().iter().all(|&f| self.has(f))
    }

    /// Whether `candidate` matches this record under `term`: for every field of the term, some key
    /// of this record equals some key of the candidate.
    pub fn matches(&self, term: &MatchTerm, candidate: &KeySet) -> bool {
        term.fields().iter().all(|&f| self.keys(f).any(|k| candidate.keys(f).any(|c| c == k)))
    }

}

/// Written as `[[field, key], ...]` (the match cache stores candidates with their keys); reading
/// refuses an unknown field rather than dropping it.
impl serde::Serialize for KeySet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.keys.len()))?;
        for (field, key) in &self.keys {
            seq.serialize_element(&(field.name(), key))?;
        }
        seq.end()
    }
}

impl<'de> serde::Deserialize<'de> for KeySet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KeySet, D::Error> {
        let pairs = Vec::<(String, String)>::deserialize(d)?;
        pairs
            .into_iter()
            .map(|(f, k)| MatchField::from_name(&f).map(|f| (f, k)).ok_or_else(|| serde::de::Error::custom(format!("unknown match field {f:?}"))))
            .collect()
    }
}

impl FromIterator<(MatchField, String)> for KeySet {
    fn from_iter<I: IntoIterator<Item = (MatchField, String)>>(iter: I) -> KeySet {
        let mut keys: Vec<(MatchField, String)> = iter.into_iter().filter(|(_, k)| !k.is_empty()).collect();
        keys.sort();
        keys.dedup();
        KeySet { keys }
    }
}

/// One key per field: the first. Enough for fields with a single key; for the two-key company
/// domains use [`KeySet::matches`], which compares every key.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::matching::MatchRule;
    use crate::domain::record::RecordKind;
    use serde_json::json;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn keys(kind: RecordKind, v: Value) -> Vec<(MatchField, String)> {
        match_keys(kind, &fields(v))
    }

    #[test]
    fn each_key_is_its_normaliser_s_whatever_is_read_once() {
        // Domain and website values of every sort, alone, together, equal or not: the keys are
        // those each field's own normaliser gives.
        let values = [
            "acme.com", "https://www.acme.co.uk/about", "acme.github.io", "beta.github.io", "bit.ly/x",
            "acme.squarespace.com", "192.168.0.1", "co.uk", "", "mail.acme.com.", "ACME.es", "xn--bcher-kva.de",
        ];
        for domain in values {
            for website in values {
                for kind in [RecordKind::Company, RecordKind::Contact] {
                    let f = fields(json!({"domain": domain, "website": website, "companyDomain": website, "name": "Acme", "email": "a@b.com"}));
                    let expected: KeySet = sources(kind)
                        .iter()
                        .filter_map(|&(field, source, normalizer)| Some((field, normalizer.apply(f.get(source)?.as_str()?)?)))
                        .collect();
                    assert_eq!(KeySet::of(kind, &f), expected, "{kind:?} domain {domain:?} website {website:?}");
                }
            }
        }
    }

    fn pairs(list: &[(MatchField, &str)]) -> Vec<(MatchField, String)> {
        list.iter().map(|(f, k)| (*f, k.to_string())).collect()
    }

    #[test]
    fn every_match_field_has_a_core_source() {
        for kind in RecordKind::ALL {
            for (_, source, _) in sources(kind) {
                assert!(kind.is_core(source), "{kind:?} reads {source}");
            }
            for field in kind.match_fields() {
                assert!(sources(kind).iter().any(|(f, _, _)| f == field), "{kind:?} has no {field} key");
            }
            for (field, _, _) in sources(kind) {
                assert!(field.allowed_for(kind));
            }
        }
    }

    #[test]
    fn company_keys() {
        let got = keys(
            RecordKind::Company,
            json!({
                "name": "Acme Inc.", "domain": "acme.com", "website": "https://www.acme.co.uk/about",
                "linkedinUrl": "https://www.linkedin.com/company/acme/about/", "phone": "+1 (555) 010",
                "country": " ES ", "vatId": "es b-1234567-8", "industry": "Tech"
            }),
        );
        assert_eq!(
            got,
            pairs(&[
                (MatchField::Domain, "acme.co.uk"),
                (MatchField::Domain, "acme.com"),
                (MatchField::DomainAnyTld, "acme"),
                (MatchField::Name, "acme"),
                (MatchField::LinkedinUrl, "company/acme"),
                (MatchField::Phone, "+1555010"),
                (MatchField::Country, "es"),
                (MatchField::VatId, "ESB12345678"),
            ])
        );
    }

    #[test]
    fn website_alone_gives_domain_keys_and_equal_sources_give_one() {
        let got = keys(RecordKind::Company, json!({"website": "http://shop.acme.es/"}));
        assert_eq!(got, pairs(&[(MatchField::Domain, "acme.es"), (MatchField::DomainAnyTld, "acme")]));
        let got = keys(RecordKind::Company, json!({"domain": "acme.es", "website": "https://acme.es"}));
        assert_eq!(got, pairs(&[(MatchField::Domain, "acme.es"), (MatchField::DomainAnyTld, "acme")]));
    }

    #[test]
    fn contact_keys() {
        let got = keys(
            RecordKind::Contact,
            json!({
                "email": " Ada@Example.COM ", "linkedinUrl": "linkedin.com/in/ada-l/", "firstName": " Adá ",
                "lastName": "LOVELACE", "company": "The Analytical Engines Ltd", "companyDomain": "www.engines.co.uk",
                "phone": "+44 20 7946 0000", "title": "Countess"
            }),
        );
        assert_eq!(
            got,
            pairs(&[
                (MatchField::LinkedinUrl, "in/ada-l"),
                (MatchField::Phone, "+442079460000"),
                (MatchField::Email, "ada@example.com"),
                (MatchField::FirstName, "ada"),
                (MatchField::LastName, "lovelace"),
                (MatchField::Company, "analytical engines"),
                (MatchField::CompanyDomain, "engines.co.uk"),
            ])
        );
    }

    #[test]
    fn company_domain_never_comes_from_the_email() {
        let got = keys(RecordKind::Contact, json!({"email": "ada@engines.co.uk"}));
        assert_eq!(got, pairs(&[(MatchField::Email, "ada@engines.co.uk")]));
    }

    #[test]
    fn empty_and_unusable_values_give_no_key() {
        let empty = json!({
            "name": "", "domain": "   ", "website": "192.168.0.1", "linkedinUrl": null, "phone": "",
            "country": 5, "vatId": "--"
        });
        assert!(keys(RecordKind::Company, empty).is_empty());
        assert!(keys(RecordKind::Contact, json!({"email": "", "firstName": " ", "company": null})).is_empty());
        assert!(keys(RecordKind::Contact, json!({})).is_empty());
    }

    #[test]
    fn key_set_is_sorted_and_deduplicated() {
        let set = KeySet::new(vec![
            (MatchField::Name, "b".to_string()),
            (MatchField::Domain, "x.com".to_string()),
            (MatchField::Name, "a".to_string()),
            (MatchField::Name, "b".to_string()),
            (MatchField::Phone, String::new()),
        ]);
        assert_eq!(set.as_slice(), pairs(&[(MatchField::Domain, "x.com"), (MatchField::Name, "a"), (MatchField::Name, "b")]));
        assert_eq!(set.keys(MatchField::Name).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(set.keys(MatchField::Phone).count(), 0);
        assert_eq!(set.keys(MatchField::Name).next(), Some("a"));
        assert!(!set.has(MatchField::Phone));
        assert!(KeySet::default().is_empty());
    }

    fn first_match(rule: &MatchRule, incoming: &KeySet, candidate: &KeySet) -> Option<usize> {
        rule.terms().iter().position(|term| incoming.matches(term, candidate))
    }

    #[test]
    fn any_key_of_a_field_can_match() {
        let rule = MatchRule::parse(RecordKind::Company, "domain | name").unwrap();
        let stored = KeySet::of(RecordKind::Company, &fields(json!({"domain": "acme.com", "website": "acme.co.uk"})));
        let by_website = KeySet::of(RecordKind::Company, &fields(json!({"domain": "https://acme.co.uk/x"})));
        assert_eq!(first_match(&rule, &by_website, &stored), Some(0));
        assert_eq!(first_match(&rule, &stored, &by_website), Some(0));
        let other = KeySet::of(RecordKind::Company, &fields(json!({"domain": "acme.org", "name": "Acme"})));
        assert_eq!(first_match(&rule, &other, &stored), None);
        let named = KeySet::of(RecordKind::Company, &fields(json!({"name": "ACME, Inc."})));
        assert_eq!(first_match(&rule, &other, &named), Some(1));
    }

    #[test]
    fn a_term_needs_every_field_on_both_sides() {
        let rule = MatchRule::parse(RecordKind::Contact, "name_company").unwrap();
        let term = &rule.terms()[0];
        let full = KeySet::of(
            RecordKind::Contact,
            &fields(json!({"firstName": "Ada", "lastName": "Lovelace", "company": "Engines"})),
        );
        let partial = KeySet::of(RecordKind::Contact, &fields(json!({"firstName": "Ada", "lastName": "Lovelace"})));
        assert!(full.applies(term));
        assert!(!partial.applies(term));
        assert!(full.matches(term, &full.clone()));
        assert!(!full.matches(term, &partial));
        assert!(!partial.matches(term, &full));
    }
}
