//! The two kinds of record and their field tables.
//!
//! Contacts and companies go through one code path; everything that differs between them (names,
//! table, id prefix, messages, core fields and their types) is answered here by [`RecordKind`], so
//! adding a field is one line in a table, not a change to the logic.

use crate::domain::ids::IdKind;

/// Longest text of most core text fields, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Longest `externalId`, in characters: a key, not prose.
pub const MAX_EXTERNAL_ID_CHARS: usize = 255;
/// Longest `description`, in characters: company descriptions are paragraphs, not labels.
pub const MAX_LONG_TEXT_CHARS: usize = 20_000;
/// Longest reference (`ownerId`, `parentCrmId`), in characters. Real ids are under 40.
pub const MAX_REFERENCE_CHARS: usize = 100;
/// Longest string form of a number (`"250000"`), in characters.
pub const MAX_NUMBER_CHARS: usize = 100;
/// Most items of a text list (`tags`, `technologies`).
pub const MAX_LIST_ITEMS: usize = 500;
/// Largest object or custom value, as serialised JSON, in bytes (32 KiB). Stored records stay
/// far below D1's 2 MB row limit even with dozens of large custom fields.
pub const MAX_JSON_BYTES: usize = 32 * 1024;
/// Deepest nesting of an object or custom value (a scalar is 0, `{"a": 1}` is 1).
pub const MAX_JSON_DEPTH: usize = 8;

/// The JSON shape a core field accepts (the exact rules are in `record::parse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// A string.
    Text,
    /// A number, or a string holding a finite number (kept as sent: Enginy often sends numbers as
    /// strings).
    Number,
    /// A whole number, or a string holding one.
    Integer,
    /// An array of strings.
    TextList,
    /// A JSON object.
    Object,
    /// The id of another record: a non-empty string.
    Reference,
    /// A number or any string. Only `revenue`: Enginy documents it as a "revenue range" string
    /// and sends values such as `"100M-250M"`, which a strict number type would refuse.
    NumberOrText,
}

/// One core field: its wire name, its type, and its length limit.
///
/// `max_chars` is the longest text accepted, in characters: the string for `Text`, `Reference`,
/// `NumberOrText`, `Number` and `Integer` (their string form), each item for `TextList`. For
/// `Object` it is the serialised size, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub ty: FieldType,
    pub max_chars: usize,
}

const fn text(name: &'static str) -> FieldSpec {
    FieldSpec { name, ty: FieldType::Text, max_chars: MAX_TEXT_CHARS }
}

const fn of(name: &'static str, ty: FieldType) -> FieldSpec {
    let max_chars = match ty {
        FieldType::Text | FieldType::TextList | FieldType::NumberOrText => MAX_TEXT_CHARS,
        FieldType::Number | FieldType::Integer => MAX_NUMBER_CHARS,
        FieldType::Object => MAX_JSON_BYTES,
        FieldType::Reference => MAX_REFERENCE_CHARS,
    };
    FieldSpec { name, ty, max_chars }
}

/// The wire name of the external id, present in both tables. It is a core field (so it is never
/// a custom property) but it is not stored in `fields`: it lives in `external_ids`.
pub const EXTERNAL_ID: &str = "externalId";

const EXTERNAL_ID_SPEC: FieldSpec = FieldSpec { name: EXTERNAL_ID, ty: FieldType::Text, max_chars: MAX_EXTERNAL_ID_CHARS };

const CONTACT_FIELDS: &[FieldSpec] = &[
    EXTERNAL_ID_SPEC,
    text("firstName"),
    text("lastName"),
    text("email"),
    text("phone"),
    text("company"),
    text("companyDomain"),
    text("title"),
    text("linkedinUrl"),
    of("ownerId", FieldType::Reference),
];

const COMPANY_FIELDS: &[FieldSpec] = &[
    EXTERNAL_ID_SPEC,
    text("name"),
    text("domain"),
    text("website"),
    text("industry"),
    of("employeeCount", FieldType::Number),
    text("employeeRange"),
    of("revenue", FieldType::NumberOrText),
    of("foundedYear", FieldType::Integer),
    FieldSpec { name: "description", ty: FieldType::Text, max_chars: MAX_LONG_TEXT_CHARS },
    text("location"),
    text("city"),
    text("state"),
    text("country"),
    text("phone"),
    text("linkedinUrl"),
    text("twitterUrl"),
    text("facebookUrl"),
    of("technologies", FieldType::TextList),
    of("tags", FieldType::TextList),
    of("customFields", FieldType::Object),
    text("vatId"),
    of("ownerId", FieldType::Reference),
    of("parentCrmId", FieldType::Reference),
];

/// Contact or company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Contact,
    Company,
}

impl RecordKind {
    pub const ALL: [RecordKind; 2] = [RecordKind::Contact, RecordKind::Company];

    /// The kind named by a URL segment or body key: `contacts` or `companies`.
    pub fn from_collection(s: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.collection() == s)
    }

    /// URL segment and body key: `contacts` / `companies`.
    pub fn collection(self) -> &'static str {
        match self {
            RecordKind::Contact => "contacts",
            RecordKind::Company => "companies",
        }
    }

    /// Database table.
    pub fn table(self) -> &'static str {
        match self {
            RecordKind::Contact => "contacts",
            RecordKind::Company => "companies",
        }
    }

    /// The `kind` column of `external_ids` and `match_keys`.
    pub fn key_kind(self) -> &'static str {
        match self {
            RecordKind::Contact => "contact",
            RecordKind::Company => "company",
        }
    }

    pub fn id_kind(self) -> IdKind {
        match self {
            RecordKind::Contact => IdKind::Contact,
            RecordKind::Company => IdKind::Company,
        }
    }

    /// Capitalised singular noun, for sentences that start with it.
    pub fn noun(self) -> &'static str {
        match self {
            RecordKind::Contact => "Contact",
            RecordKind::Company => "Company",
        }
    }

    /// The `error` of an update or read naming an unknown id, word for word as Enginy's reference
    /// implementation answers it.
    pub fn not_found_message(self) -> &'static str {
        match self {
            RecordKind::Contact => "Contact not found",
            RecordKind::Company => "Company not found",
        }
    }

    /// Every core field, `externalId` first, in the order API.md §4 lists them (which is also
    /// the order of a record on the wire and of sync-back properties).
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            RecordKind::Contact => CONTACT_FIELDS,
            RecordKind::Company => COMPANY_FIELDS,
        }
    }

    /// The core field with this wire name (exact case: `Email` is a custom field).
    pub fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|f| f.name == name)
    }

    pub fn is_core(self, name: &str) -> bool {
        self.field(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_of_each_kind() {
        let c = RecordKind::Contact;
        assert_eq!(
            (c.collection(), c.table(), c.key_kind(), c.noun(), c.not_found_message()),
            ("contacts", "contacts", "contact", "Contact", "Contact not found")
        );
        assert_eq!(c.id_kind(), IdKind::Contact);
        assert_eq!(c, RecordKind::Contact);
        let co = RecordKind::Company;
        assert_eq!(
            (co.collection(), co.table(), co.key_kind(), co.noun(), co.not_found_message()),
            ("companies", "companies", "company", "Company", "Company not found")
        );
        assert_eq!(co.id_kind(), IdKind::Company);
        assert_eq!(co, RecordKind::Company);
    }

    #[test]
    fn collections_round_trip() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::from_collection(kind.collection()), Some(kind));
        }
        for bad in ["contact", "Contacts", "company", "", "tasks"] {
            assert_eq!(RecordKind::from_collection(bad), None, "{bad}");
        }
    }

    #[test]
    fn field_tables_follow_the_contract() {
        let names = |k: RecordKind| k.fields().iter().map(|f| f.name).collect::<Vec<_>>();
        assert_eq!(
            names(RecordKind::Contact),
            [
                "externalId", "firstName", "lastName", "email", "phone", "company", "companyDomain", "title",
                "linkedinUrl", "ownerId"
            ]
        );
        assert_eq!(names(RecordKind::Company).len(), 24);
        for kind in RecordKind::ALL {
            let unique: HashSet<_> = names(kind).into_iter().collect();
            assert_eq!(unique.len(), kind.fields().len(), "{kind:?} lists a field twice");
            assert_eq!(kind.fields()[0].name, EXTERNAL_ID);
        }
        let co = RecordKind::Company;
        let ty = |n: &str| co.field(n).unwrap().ty;
        assert_eq!(ty("employeeCount"), FieldType::Number);
        assert_eq!(ty("revenue"), FieldType::NumberOrText);
        assert_eq!(ty("foundedYear"), FieldType::Integer);
        assert_eq!(ty("technologies"), FieldType::TextList);
        assert_eq!(ty("tags"), FieldType::TextList);
        assert_eq!(ty("customFields"), FieldType::Object);
        assert_eq!(ty("ownerId"), FieldType::Reference);
        assert_eq!(ty("parentCrmId"), FieldType::Reference);
        assert_eq!(co.field("description").unwrap().max_chars, 20_000);
        assert_eq!(co.field("industry").unwrap().max_chars, 2_000);
        assert!(!co.is_core("Name"));
        assert!(!RecordKind::Contact.is_core("name"));
    }
}
