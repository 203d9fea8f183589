//! Normalisers: turn user-entered values into the keys records are matched on.
//!
//! Every normaliser takes the raw value as sent and returns `Some(key)`, or `None` when the value
//! gives no key and so never matches anything (empty, whitespace only, or not a valid value of its
//! kind: an IP address as a domain, a non-LinkedIn URL as a LinkedIn URL). API.md §5 is the
//! specification; each module documents the choices it makes where §5 leaves room.
//!
//! All of this is pure, allocation-light and platform-independent: keys are computed once at
//! write time and stored indexed, so the same code must give the same key natively (tests) and in
//! the Worker (wasm32).

mod company_name;
mod country;
mod domain;
mod email;
mod linkedin;
mod person_name;
mod phone;
mod text;
mod url;
mod vat;

pub use company_name::normalize_company_name;
pub use country::normalize_country;
pub use domain::{clean_domain, domain_any_tld, domain_keys, normalize_domain};
pub use email::normalize_email;
pub use linkedin::normalize_linkedin_url;
pub use person_name::normalize_person_name;
pub use phone::normalize_phone;
pub use vat::normalize_vat;

/// The normalisers as values, so callers (the field tables, the match-expression compiler) can
/// pick one per field and iterate over them without a `match` of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Normalizer {
    /// [`normalize_domain`]: the company `domain` and contact `companyDomain` keys.
    Domain,
    /// [`domain_any_tld`]: the company `domainAnyTld` key.
    DomainAnyTld,
    /// [`normalize_linkedin_url`]: the `linkedinUrl` key of both kinds.
    LinkedinUrl,
    /// [`normalize_company_name`]: the company `name` and contact `company` keys.
    CompanyName,
    /// [`normalize_person_name`]: the contact `firstName` and `lastName` keys.
    PersonName,
    /// [`normalize_email`]: the contact `email` key.
    Email,
    /// [`normalize_phone`]: the `phone` key of both kinds.
    Phone,
    /// [`normalize_vat`]: the company `vatId` key.
    Vat,
    /// [`normalize_country`]: the company `country` key.
    Country,
}

impl Normalizer {
    /// Every normaliser, once.
    pub const ALL: [Normalizer; 9] = [
        Normalizer::Domain,
        Normalizer::DomainAnyTld,
        Normalizer::LinkedinUrl,
        Normalizer::CompanyName,
        Normalizer::PersonName,
        Normalizer::Email,
        Normalizer::Phone,
        Normalizer::Vat,
        Normalizer::Country,
    ];

    /// Runs this normaliser on a raw value.
    #[must_use]
    pub fn apply(self, raw: &str) -> Option<String> {
        match self {
            Normalizer::Domain => normalize_domain(raw),
            Normalizer::DomainAnyTld => domain_any_tld(raw),
            Normalizer::LinkedinUrl => normalize_linkedin_url(raw),
            Normalizer::CompanyName => normalize_company_name(raw),
            Normalizer::PersonName => normalize_person_name(raw),
            Normalizer::Email => normalize_email(raw),
            Normalizer::Phone => normalize_phone(raw),
            Normalizer::Vat => normalize_vat(raw),
            Normalizer::Country => normalize_country(raw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_input_gives_no_key_everywhere() {
        for normalizer in Normalizer::ALL {
            for raw in [
                "", " ", "   ", "\t", "\n", "\r\n", " \t \n ", "\u{00A0}", "\u{3000}",
            ] {
                assert_eq!(normalizer.apply(raw), None, "{normalizer:?} on {raw:?}");
            }
        }
    }

    #[test]
    fn apply_dispatches_to_each_normaliser() {
        assert_eq!(
            Normalizer::Domain.apply("www.acme.co.uk").as_deref(),
            Some("acme.co.uk")
        );
        assert_eq!(
            Normalizer::DomainAnyTld.apply("acme.co.uk").as_deref(),
            Some("acme")
        );
        assert_eq!(
            Normalizer::LinkedinUrl
                .apply("linkedin.com/in/x")
                .as_deref(),
            Some("in/x")
        );
        assert_eq!(
            Normalizer::CompanyName.apply("Acme Inc").as_deref(),
            Some("acme")
        );
        assert_eq!(
            Normalizer::PersonName.apply(" José ").as_deref(),
            Some("jose")
        );
        assert_eq!(Normalizer::Email.apply("A@B.C").as_deref(), Some("a@b.c"));
        assert_eq!(Normalizer::Phone.apply("+1 2").as_deref(), Some("+12"));
        assert_eq!(Normalizer::Vat.apply("es b-1").as_deref(), Some("ESB1"));
        assert_eq!(Normalizer::Country.apply(" ES ").as_deref(), Some("es"));
    }

    #[test]
    fn keys_are_stable_under_renormalisation() {
        // A stored key fed back through its normaliser gives itself, so keys computed from keys
        // (a re-import of exported data) still match. LinkedIn and domainAnyTld keys are not raw
        // values of their field, so they are left out.
        let samples = [
            (Normalizer::Domain, "https://WWW.München.DE./x"),
            (Normalizer::CompanyName, "The Procter & Gamble Company"),
            (Normalizer::PersonName, "  JOSÉ  María "),
            (Normalizer::Email, " John@ACME.com "),
            (Normalizer::Phone, "+34 (91) 123-45-67"),
            (Normalizer::Vat, "es b-1234567-8"),
            (Normalizer::Country, " United  Kingdom "),
        ];
        for (normalizer, raw) in samples {
            let key = normalizer.apply(raw).expect(raw);
            assert_eq!(
                normalizer.apply(&key).as_deref(),
                Some(key.as_str()),
                "{normalizer:?}"
            );
        }
    }

    #[test]
    fn nasty_inputs_never_panic() {
        let nasty = [
            "\u{0}",
            "%",
            "%%%",
            "@",
            "@@",
            ":",
            "://",
            "[",
            "]",
            "[]",
            "\\",
            "//",
            "#",
            "?",
            ".",
            "..",
            "-",
            "&",
            "+",
            "\u{301}",
            "\u{FFFD}",
            "\u{10FFFF}",
            "🚀🚀",
            "ﷺ",
            "a\u{0}b",
            "http://[",
            "http://]:80",
            "mailto:%",
            "linkedin.com/in/%",
            "linkedin.com/in/%C3",
            "xn--",
            "xn--.com",
            "İ",
            "ß",
            "ﬃ",
        ];
        for normalizer in Normalizer::ALL {
            for raw in nasty {
                let _ = normalizer.apply(raw);
            }
        }
    }
}
