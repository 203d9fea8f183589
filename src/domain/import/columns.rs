//! Which field each column of an import file fills (API.md §4, Import), and a row as the record
//! a create would receive.
//!
//! A header names a core field when, compared without case, spaces or punctuation, it is the
//! field's API name (`first_name`, `First Name` and `firstName` are `firstName`) or one of the
//! headers HubSpot, Salesforce and Pipedrive write in their exports (`Company Name`, `Account
//! Name`, `Person - Email - Work`...). Pipedrive prefixes a column with its entity
//! (`Person - `, `Organization - `): in a contacts file an organisation's name and website are
//! the contact's `company` and `companyDomain`. Any other column is kept as a custom property
//! under its header; the CRM's own ids and timestamps (`id`, `crmId`, `createdAt`, `updatedAt`)
//! are not read.
//!
//! In a row, when several columns fill one field, the first that is not empty does; another's
//! different value is kept as a property under its header, so no value of the file is lost and
//! none is kept twice. A contact's whole name (`Name`, `Person - Name`) fills `firstName` and
//! `lastName` (first word, then the rest) only when the row has neither. A list field (`tags`,
//! `technologies`) splits on commas and semicolons; `customFields` reads a JSON object.
//! Everything else goes as text, which the create path reads as it reads any value.

use serde_json::{Map, Value};

use crate::domain::error::ItemError;
use crate::domain::record::{FieldType, RecordKind, MAX_FIELD_NAME_CHARS};

/// What a column fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A core field, by its API name.
    Field(&'static str),
    /// A contact's whole name: `firstName` and `lastName` when the row has neither.
    FullName,
    /// A custom property, under this name.
    Property(String),
    /// Not read, and why.
    Ignored(&'static str),
}

/// One column of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The header as written, trimmed; `Column 3` for a column without one; with ` (2)` after a
    /// header the file repeats.
    pub label: String,
    /// The property a value of this column is kept as, when it fills no field.
    pub key: String,
    pub target: Target,
}

/// How a file's columns are read, for one kind of record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub kind: RecordKind,
    pub columns: Vec<Column>,
}

/// A row made a record, with the column each core field came from (to name the column of an
/// error).
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub item: Map<String, Value>,
    /// `(field, column index)` of each core field filled.
    pub sources: Vec<(&'static str, usize)>,
}

/// Names the CRM sets: a column of one of these is not read.
const CRM_OWNED: [&str; 5] = ["id", "crmid", "createdat", "updatedat", "deletedat"];

/// Names a create body reads otherwise than as data: a property may not be stored under one.
const RESERVED: [&str; 7] = ["id", "crmId", "createdAt", "updatedAt", "properties", "lastActivityDate", "companyName"];

/// A header compared without case, spaces or punctuation: `First Name` is `firstname`.
pub fn fold(header: &str) -> String {
    header.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Contacts: folded header → field. Each core field's own name, then the export headers.
const CONTACT_ALIASES: &[(&str, &str)] = &[
    ("externalid", "externalId"),
    ("firstname", "firstName"),
    ("givenname", "firstName"),
    ("forename", "firstName"),
    ("lastname", "lastName"),
    ("surname", "lastName"),
    ("familyname", "lastName"),
    ("email", "email"),
    ("emailaddress", "email"),
    ("workemail", "email"),
    ("businessemail", "email"),
    ("primaryemail", "email"),
    ("emailwork", "email"),
    ("emailhome", "email"),
    ("emailother", "email"),
    ("phone", "phone"),
    ("phonenumber", "phone"),
    ("mobile", "phone"),
    ("mobilephone", "phone"),
    ("mobilephonenumber", "phone"),
    ("mobilenumber", "phone"),
    ("cellphone", "phone"),
    ("workphone", "phone"),
    ("businessphone", "phone"),
    ("directphone", "phone"),
    ("phonework", "phone"),
    ("phonemobile", "phone"),
    ("phonehome", "phone"),
    ("phoneother", "phone"),
    ("company", "company"),
    ("companyname", "company"),
    ("associatedcompany", "company"),
    ("accountname", "company"),
    ("account", "company"),
    ("organization", "company"),
    ("organisation", "company"),
    ("organizationname", "company"),
    ("organisationname", "company"),
    ("employer", "company"),
    ("companydomain", "companyDomain"),
    ("companydomainname", "companyDomain"),
    ("companywebsite", "companyDomain"),
    ("accountwebsite", "companyDomain"),
    ("website", "companyDomain"),
    ("websiteurl", "companyDomain"),
    ("title", "title"),
    ("jobtitle", "title"),
    ("position", "title"),
    ("jobposition", "title"),
    ("linkedinurl", "linkedinUrl"),
    ("linkedin", "linkedinUrl"),
    ("linkedinprofile", "linkedinUrl"),
    ("linkedinprofileurl", "linkedinUrl"),
    ("ownerid", "ownerId"),
];

/// Contacts: what an organisation's column (`Organization - Name`) fills.
const CONTACT_COMPANY_ALIASES: &[(&str, &str)] = &[
    ("name", "company"),
    ("companyname", "company"),
    ("organizationname", "company"),
    ("accountname", "company"),
    ("website", "companyDomain"),
    ("websiteurl", "companyDomain"),
    ("domain", "companyDomain"),
    ("domainname", "companyDomain"),
    ("companydomainname", "companyDomain"),
];

/// Contacts: headers of a whole name.
const CONTACT_NAMES: &[&str] = &["name", "fullname", "contactname", "personname"];

/// Companies: folded header → field.
const COMPANY_ALIASES: &[(&str, &str)] = &[
    ("externalid", "externalId"),
    ("name", "name"),
    ("companyname", "name"),
    ("accountname", "name"),
    ("organizationname", "name"),
    ("organisationname", "name"),
    ("organization", "name"),
    ("organisation", "name"),
    ("company", "name"),
    ("account", "name"),
    ("domain", "domain"),
    ("companydomain", "domain"),
    ("companydomainname", "domain"),
    ("domainname", "domain"),
    ("website", "website"),
    ("websiteurl", "website"),
    ("url", "website"),
    ("homepage", "website"),
    ("industry", "industry"),
    ("employeecount", "employeeCount"),
    ("employees", "employeeCount"),
    ("numberofemployees", "employeeCount"),
    ("headcount", "employeeCount"),
    ("employeerange", "employeeRange"),
    ("employeesrange", "employeeRange"),
    ("companysize", "employeeRange"),
    ("revenue", "revenue"),
    ("annualrevenue", "revenue"),
    ("foundedyear", "foundedYear"),
    ("yearfounded", "foundedYear"),
    ("founded", "foundedYear"),
    ("description", "description"),
    ("about", "description"),
    ("aboutus", "description"),
    ("companydescription", "description"),
    ("location", "location"),
    ("address", "location"),
    ("fulladdress", "location"),
    ("headquarters", "location"),
    ("city", "city"),
    ("billingcity", "city"),
    ("town", "city"),
    ("addresscity", "city"),
    ("addresscitytownvillagelocality", "city"),
    ("state", "state"),
    ("stateregion", "state"),
    ("stateprovince", "state"),
    ("province", "state"),
    ("region", "state"),
    ("billingstate", "state"),
    ("billingstateprovince", "state"),
    ("addressstateprovince", "state"),
    ("country", "country"),
    ("countryregion", "country"),
    ("billingcountry", "country"),
    ("addresscountry", "country"),
    ("phone", "phone"),
    ("phonenumber", "phone"),
    ("companyphone", "phone"),
    ("mainphone", "phone"),
    ("linkedinurl", "linkedinUrl"),
    ("linkedin", "linkedinUrl"),
    ("linkedincompanypage", "linkedinUrl"),
    ("linkedinpage", "linkedinUrl"),
    ("linkedinprofile", "linkedinUrl"),
    ("twitterurl", "twitterUrl"),
    ("twitter", "twitterUrl"),
    ("twitterhandle", "twitterUrl"),
    ("facebookurl", "facebookUrl"),
    ("facebook", "facebookUrl"),
    ("facebookcompanypage", "facebookUrl"),
    ("facebookpage", "facebookUrl"),
    ("technologies", "technologies"),
    ("technology", "technologies"),
    ("techstack", "technologies"),
    ("tags", "tags"),
    ("tag", "tags"),
    ("labels", "tags"),
    ("label", "tags"),
    ("customfields", "customFields"),
    ("vatid", "vatId"),
    ("vat", "vatId"),
    ("vatnumber", "vatId"),
    ("taxid", "vatId"),
    ("taxnumber", "vatId"),
    ("ownerid", "ownerId"),
    ("parentcrmid", "parentCrmId"),
];

/// Headers each field is read from, as people see them (the import page's help, the docs): a
/// few of those understood, each checked by a test to map to its field. `firstName+lastName` is
/// a contact's whole name.
pub const CONTACT_EXAMPLES: &[(&str, &[&str])] = &[
    ("externalId", &["External ID"]),
    ("firstName", &["First Name", "Person - First name"]),
    ("lastName", &["Last Name", "Surname", "Person - Last name"]),
    ("firstName+lastName", &["Name", "Full Name", "Person - Name"]),
    ("email", &["Email", "Email Address", "Person - Email - Work"]),
    ("phone", &["Phone Number", "Mobile Phone Number", "Mobile", "Person - Phone - Work"]),
    ("company", &["Company Name", "Associated Company", "Account Name", "Organization - Name", "Person - Organization"]),
    ("companyDomain", &["Company Domain Name", "Website URL", "Organization - Website"]),
    ("title", &["Job Title", "Title", "Person - Job title"]),
    ("linkedinUrl", &["LinkedIn URL", "LinkedIn Profile URL", "LinkedIn"]),
    ("ownerId", &["Owner ID"]),
];

/// See [`CONTACT_EXAMPLES`].
pub const COMPANY_EXAMPLES: &[(&str, &[&str])] = &[
    ("externalId", &["External ID"]),
    ("name", &["Company name", "Account Name", "Organization - Name"]),
    ("domain", &["Company Domain Name", "Domain"]),
    ("website", &["Website URL", "Website", "Organization - Website"]),
    ("industry", &["Industry"]),
    ("employeeCount", &["Number of Employees", "Employees"]),
    ("employeeRange", &["Employee Range", "Company Size"]),
    ("revenue", &["Annual Revenue"]),
    ("foundedYear", &["Year Founded"]),
    ("description", &["Description", "About Us"]),
    ("location", &["Location", "Address", "Organization - Address"]),
    ("city", &["City", "Billing City"]),
    ("state", &["State/Region", "Billing State/Province"]),
    ("country", &["Country/Region", "Billing Country"]),
    ("phone", &["Phone Number", "Phone"]),
    ("linkedinUrl", &["LinkedIn Company Page", "LinkedIn URL"]),
    ("twitterUrl", &["Twitter Handle"]),
    ("facebookUrl", &["Facebook Company Page"]),
    ("technologies", &["Technologies"]),
    ("tags", &["Tags", "Labels", "Organization - Labels"]),
    ("customFields", &["Custom Fields"]),
    ("vatId", &["VAT Number", "Tax ID"]),
    ("ownerId", &["Owner ID"]),
    ("parentCrmId", &["Parent CRM ID"]),
];

/// The examples of `kind`.
pub fn examples(kind: RecordKind) -> &'static [(&'static str, &'static [&'static str])] {
    match kind {
        RecordKind::Contact => CONTACT_EXAMPLES,
        RecordKind::Company => COMPANY_EXAMPLES,
    }
}

/// The entity a Pipedrive-style prefix (`Person - `, `Organization - `) names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entity {
    Person,
    Organization,
}

fn entity(prefix: &str) -> Option<Entity> {
    match fold(prefix).as_str() {
        "person" | "contact" | "lead" => Some(Entity::Person),
        "organization" | "organisation" | "company" | "account" => Some(Entity::Organization),
        _ => None,
    }
}

fn find(table: &[(&str, &'static str)], folded: &str) -> Option<&'static str> {
    table.iter().find(|(h, _)| *h == folded).map(|(_, f)| *f)
}

/// What a header names in a file of `kind`, by its own words only.
fn target_of(kind: RecordKind, header: &str) -> Option<Target> {
    let folded = fold(header);
    if CRM_OWNED.contains(&folded.as_str()) {
        return Some(Target::Ignored("set by the CRM"));
    }
    let own = |folded: &str| match kind {
        RecordKind::Contact if CONTACT_NAMES.contains(&folded) => Some(Target::FullName),
        RecordKind::Contact => find(CONTACT_ALIASES, folded).map(Target::Field),
        RecordKind::Company => find(COMPANY_ALIASES, folded).map(Target::Field),
    };
    if let Some(target) = own(&folded) {
        return Some(target);
    }
    // `Person - Email - Work`, `Organization - Name`: the entity, then the field.
    let (prefix, rest) = header.split_once(" - ")?;
    let rest = fold(rest);
    match (kind, entity(prefix)?) {
        (RecordKind::Contact, Entity::Person) | (RecordKind::Company, Entity::Organization) => own(&rest),
        (RecordKind::Contact, Entity::Organization) => find(CONTACT_COMPANY_ALIASES, &rest).map(Target::Field),
        (RecordKind::Company, Entity::Person) => None,
    }
}

impl Mapping {
    /// The mapping of a header row.
    pub fn of(kind: RecordKind, header: &[String]) -> Mapping {
        let mut columns: Vec<Column> = Vec::with_capacity(header.len());
        for (i, raw) in header.iter().enumerate() {
            let written = raw.trim();
            let base = if written.is_empty() { format!("Column {}", i + 1) } else { written.to_string() };
            let repeats = columns.iter().filter(|c| c.label == base || c.label.starts_with(&format!("{base} ("))).count();
            let label = if repeats == 0 { base } else { format!("{base} ({})", repeats + 1) };
            // A property may not take a name a create reads otherwise (a core field's, `id`...).
            let clashes = kind.field(&label).is_some() || RESERVED.contains(&label.as_str());
            let key = if clashes { format!("{label} (column {})", i + 1) } else { label.clone() };
            let target = match target_of(kind, written) {
                Some(target) => target,
                None if key.chars().count() > MAX_FIELD_NAME_CHARS => Target::Ignored("the header is longer than 200 characters"),
                None => Target::Property(key.clone()),
            };
            columns.push(Column { label, key, target });
        }
        Mapping { kind, columns }
    }

    /// Whether some column fills a core field: a file with none is not a file of this kind
    /// (or its separator was not understood).
    pub fn fills_a_field(&self) -> bool {
        self.columns.iter().any(|c| matches!(c.target, Target::Field(_) | Target::FullName))
    }

    /// The record of a row, or an error for the row as a whole when it has more cells than the
    /// header has columns (a separator inside a value that was not quoted shifts every value
    /// after it: no column of such a row can be trusted).
    pub fn build(&self, cells: &[String]) -> Result<Built, ItemError> {
        if cells.len() > self.columns.len() {
            return Err(ItemError::whole(format!(
                "the row has {} cells and the header {} columns: a separator inside a value must be quoted",
                cells.len(),
                self.columns.len()
            )));
        }
        let mut item = Map::new();
        let mut sources: Vec<(&'static str, usize)> = Vec::new();
        let mut used: Vec<(&'static str, &str)> = Vec::new();
        let mut spare: Vec<(&str, &str)> = Vec::new();
        let mut name: Option<(usize, &str)> = None;
        for (i, (column, cell)) in self.columns.iter().zip(cells).enumerate() {
            if cell.is_empty() {
                continue;
            }
            match &column.target {
                Target::Field(field) => match used.iter().find(|(f, _)| f == field) {
                    None => {
                        item.insert(field.to_string(), typed(self.kind, field, cell));
                        sources.push((field, i));
                        used.push((field, cell));
                    }
                    Some((_, first)) if same(first, cell) => {}
                    Some(_) => spare.push((&column.key, cell)),
                },
                Target::FullName => match name {
                    None => name = Some((i, cell)),
                    Some((_, first)) if same(first, cell) => {}
                    Some(_) => spare.push((&column.key, cell)),
                },
                Target::Property(key) => {
                    item.insert(key.clone(), Value::String(cell.clone()));
                }
                Target::Ignored(_) => {}
            }
        }
        if let Some((i, whole)) = name {
            let first = used.iter().find(|(f, _)| *f == "firstName").map(|(_, v)| *v);
            let last = used.iter().find(|(f, _)| *f == "lastName").map(|(_, v)| *v);
            match (first, last) {
                (None, None) => {
                    let mut words = whole.splitn(2, char::is_whitespace);
                    if let Some(first) = words.next() {
                        item.insert("firstName".into(), Value::String(first.to_string()));
                        sources.push(("firstName", i));
                    }
                    if let Some(rest) = words.next().map(str::trim).filter(|r| !r.is_empty()) {
                        item.insert("lastName".into(), Value::String(rest.to_string()));
                        sources.push(("lastName", i));
                    }
                }
                (first, last) => {
                    let joined = [first, last].into_iter().flatten().collect::<Vec<_>>().join(" ");
                    if !same(&joined, whole) {
                        spare.push((&self.columns[i].key, whole));
                    }
                }
            }
        }
        for (key, value) in spare {
            item.insert(key.to_string(), Value::String(value.to_string()));
        }
        Ok(Built { item, sources })
    }

    /// The column an error's field names in a row (`email`, `Notes`), given the row's sources.
    pub fn column_of<'m>(&'m self, field: &str, sources: &[(&'static str, usize)]) -> Option<&'m str> {
        let at = sources.iter().find(|(f, _)| *f == field).map(|(_, i)| *i);
        let at = at.or_else(|| self.columns.iter().position(|c| c.key == field));
        at.map(|i| self.columns[i].label.as_str())
    }

    /// What each column fills, by label: the field's name, `properties.<name>`, a contact's
    /// whole name as `firstName+lastName`, or `null` when it is not read.
    pub fn columns_json(&self) -> Map<String, Value> {
        self.columns
            .iter()
            .map(|c| {
                let to = match &c.target {
                    Target::Field(f) => Value::String(f.to_string()),
                    Target::FullName => Value::String("firstName+lastName".into()),
                    Target::Property(key) => Value::String(format!("properties.{key}")),
                    Target::Ignored(_) => Value::Null,
                };
                (c.label.clone(), to)
            })
            .collect()
    }

    /// The columns not read, by label, each with its reason.
    pub fn ignored_json(&self) -> Map<String, Value> {
        self.columns
            .iter()
            .filter_map(|c| match c.target {
                Target::Ignored(why) => Some((c.label.clone(), Value::String(why.to_string()))),
                _ => None,
            })
            .collect()
    }
}

/// Two values of a row are the same when they differ only in case and surrounding spaces.
fn same(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// A cell as the create body carries it: a list split on commas and semicolons, an object read
/// as JSON (when it is one: anything else goes as text and the create names the field), the rest
/// as text.
fn typed(kind: RecordKind, field: &str, cell: &str) -> Value {
    match kind.field(field).map(|spec| spec.ty) {
        Some(FieldType::TextList) => {
            Value::Array(cell.split([',', ';']).map(str::trim).filter(|t| !t.is_empty()).map(|t| Value::String(t.to_string())).collect())
        }
        Some(FieldType::Object) => match serde_json::from_str::<Value>(cell) {
            Ok(object @ Value::Object(_)) => object,
            _ => Value::String(cell.to_string()),
        },
        _ => Value::String(cell.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn header(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn targets(kind: RecordKind, list: &[&str]) -> Vec<Target> {
        Mapping::of(kind, &header(list)).columns.into_iter().map(|c| c.target).collect()
    }

    fn field(f: &'static str) -> Target {
        Target::Field(f)
    }

    fn prop(p: &str) -> Target {
        Target::Property(p.to_string())
    }

    fn row(mapping: &Mapping, cells: &[&str]) -> Value {
        Value::Object(mapping.build(&header(cells)).unwrap().item)
    }

    #[test]
    fn every_api_name_maps_in_any_spelling() {
        for kind in RecordKind::ALL {
            for spec in kind.fields() {
                let snake: String = spec.name.chars().flat_map(|c| if c.is_uppercase() { vec!['_', c.to_ascii_lowercase()] } else { vec![c] }).collect();
                for spelling in [spec.name.to_string(), spec.name.to_uppercase(), snake.clone(), snake.replace('_', " ")] {
                    assert_eq!(targets(kind, &[&spelling]), vec![field(spec.name)], "{kind:?} {spelling}");
                }
            }
        }
        assert_eq!(targets(RecordKind::Contact, &["companyName"]), vec![field("company")]);
    }

    #[test]
    fn a_hubspot_contacts_export() {
        let h = [
            "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number", "Job Title", "Company Name",
            "Associated Company", "Website URL", "LinkedIn URL", "LinkedIn Bio", "Contact owner", "Lifecycle Stage", "Lead Status",
            "Create Date", "Last Activity Date", "City", "Country/Region",
        ];
        assert_eq!(
            targets(RecordKind::Contact, &h),
            vec![
                prop("Record ID"), field("firstName"), field("lastName"), field("email"), field("phone"), field("phone"), field("title"),
                field("company"), field("company"), field("companyDomain"), field("linkedinUrl"), prop("LinkedIn Bio"), prop("Contact owner"),
                prop("Lifecycle Stage"), prop("Lead Status"), prop("Create Date"), prop("Last Activity Date"), prop("City"), prop("Country/Region"),
            ]
        );
    }

    #[test]
    fn a_hubspot_companies_export() {
        let h = [
            "Record ID", "Company name", "Company Domain Name", "Website URL", "Industry", "Number of Employees", "Annual Revenue",
            "Year Founded", "City", "State/Region", "Country/Region", "Phone Number", "LinkedIn Company Page", "Twitter Handle",
            "Facebook Company Page", "About Us", "Company owner",
        ];
        assert_eq!(
            targets(RecordKind::Company, &h),
            vec![
                prop("Record ID"), field("name"), field("domain"), field("website"), field("industry"), field("employeeCount"),
                field("revenue"), field("foundedYear"), field("city"), field("state"), field("country"), field("phone"),
                field("linkedinUrl"), field("twitterUrl"), field("facebookUrl"), field("description"), prop("Company owner"),
            ]
        );
    }

    #[test]
    fn salesforce_contacts_and_accounts() {
        let h = ["Contact ID", "First Name", "Last Name", "Title", "Account Name", "Email", "Phone", "Mobile", "Mailing City", "Contact Owner"];
        assert_eq!(
            targets(RecordKind::Contact, &h),
            vec![
                prop("Contact ID"), field("firstName"), field("lastName"), field("title"), field("company"), field("email"), field("phone"),
                field("phone"), prop("Mailing City"), prop("Contact Owner"),
            ]
        );
        let h = ["Account ID", "Account Name", "Website", "Industry", "Employees", "Annual Revenue", "Billing City", "Billing State/Province", "Billing Country", "Description", "Type"];
        assert_eq!(
            targets(RecordKind::Company, &h),
            vec![
                prop("Account ID"), field("name"), field("website"), field("industry"), field("employeeCount"), field("revenue"), field("city"),
                field("state"), field("country"), field("description"), prop("Type"),
            ]
        );
    }

    #[test]
    fn pipedrive_people_and_organizations() {
        let h = [
            "Person - ID", "Person - Name", "Person - First name", "Person - Last name", "Person - Email - Work", "Person - Email - Home",
            "Person - Phone - Work", "Person - Phone - Mobile", "Person - Organization", "Person - Job title", "Person - Owner",
            "Organization - Name", "Organization - Website", "Person - Labels",
        ];
        assert_eq!(
            targets(RecordKind::Contact, &h),
            vec![
                prop("Person - ID"), Target::FullName, field("firstName"), field("lastName"), field("email"), field("email"), field("phone"),
                field("phone"), field("company"), field("title"), prop("Person - Owner"), field("company"), field("companyDomain"),
                prop("Person - Labels"),
            ]
        );
        let h = ["Organization - ID", "Organization - Name", "Organization - Address", "Organization - Address - Country", "Organization - Labels", "Organization - Owner", "Person - Name"];
        assert_eq!(
            targets(RecordKind::Company, &h),
            vec![prop("Organization - ID"), field("name"), field("location"), field("country"), field("tags"), prop("Organization - Owner"), prop("Person - Name")]
        );
    }

    #[test]
    fn the_crms_own_names_are_not_read_and_no_property_takes_a_reserved_name() {
        let m = Mapping::of(RecordKind::Contact, &header(&["id", "crmId", "Created At", "updated_at", "lastActivityDate", "properties", "", "Email"]));
        let t: Vec<&Target> = m.columns.iter().map(|c| &c.target).collect();
        assert_eq!(t[..4], [&Target::Ignored("set by the CRM"); 4]);
        assert_eq!(t[4..7], [&prop("lastActivityDate (column 5)"), &prop("properties (column 6)"), &prop("Column 7")]);
        assert_eq!(m.ignored_json()["crmId"], "set by the CRM");
        assert_eq!(m.columns_json()["lastActivityDate"], "properties.lastActivityDate (column 5)");
        let long = "x".repeat(201);
        assert_eq!(targets(RecordKind::Company, &[&long]), vec![Target::Ignored("the header is longer than 200 characters")]);
    }

    #[test]
    fn repeated_headers_get_their_own_label() {
        let m = Mapping::of(RecordKind::Contact, &header(&["Notes", "Notes", "Email", "email"]));
        let labels: Vec<&str> = m.columns.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["Notes", "Notes (2)", "Email", "email"]);
        assert_eq!(m.columns[1].target, prop("Notes (2)"));
        assert_eq!(m.columns[3].key, "email (column 4)", "a value kept as a property never takes a core field's name");
    }

    #[test]
    fn the_first_value_fills_a_field_and_another_is_kept_as_a_property() {
        let m = Mapping::of(RecordKind::Contact, &header(&["Person - Email - Work", "Person - Email - Home", "Phone Number", "Mobile Phone Number", "Lead Status"]));
        assert_eq!(
            row(&m, &["", "ada@home.test", "+34 600", "+34 700", "New"]),
            json!({"email": "ada@home.test", "phone": "+34 600", "Mobile Phone Number": "+34 700", "Lead Status": "New"})
        );
        assert_eq!(row(&m, &["ada@work.test", "ADA@work.test ", "", "", ""]), json!({"email": "ada@work.test"}), "the same value is kept once");
        let built = m.build(&header(&["", "ada@home.test"])).unwrap();
        assert_eq!(m.column_of("email", &built.sources), Some("Person - Email - Home"));
        assert_eq!(m.column_of("Lead Status", &built.sources), Some("Lead Status"));
    }

    #[test]
    fn a_whole_name_fills_first_and_last_name_only_when_both_are_missing() {
        let m = Mapping::of(RecordKind::Contact, &header(&["Person - Name", "Person - First name", "Person - Last name"]));
        assert_eq!(row(&m, &["Ada King Lovelace", "", ""]), json!({"firstName": "Ada", "lastName": "King Lovelace"}));
        assert_eq!(row(&m, &["Cher", "", ""]), json!({"firstName": "Cher"}));
        assert_eq!(row(&m, &["Ada Lovelace", "Ada", "Lovelace"]), json!({"firstName": "Ada", "lastName": "Lovelace"}));
        assert_eq!(row(&m, &["Augusta Ada", "Ada", "Lovelace"]), json!({"firstName": "Ada", "lastName": "Lovelace", "Person - Name": "Augusta Ada"}));
    }

    #[test]
    fn lists_split_objects_parse_and_everything_else_is_text() {
        let m = Mapping::of(RecordKind::Company, &header(&["Name", "Tags", "Custom Fields", "Employees", "Notes"]));
        assert_eq!(
            row(&m, &["Acme", "saas; b2b,  ,eu", r#"{"tier": "gold"}"#, "120", "12"]),
            json!({"name": "Acme", "tags": ["saas", "b2b", "eu"], "customFields": {"tier": "gold"}, "employeeCount": "120", "Notes": "12"})
        );
        assert_eq!(row(&m, &["Acme", "", "gold", "", ""]), json!({"name": "Acme", "customFields": "gold"}), "the create names the field");
    }

    #[test]
    fn a_row_longer_than_the_header_fails() {
        let m = Mapping::of(RecordKind::Company, &header(&["Name", "Domain"]));
        let e = m.build(&header(&["Acme", "Inc", "acme.com"])).unwrap_err();
        assert!(e.message.contains("3 cells and the header 2 columns"), "{}", e.message);
        assert!(m.build(&header(&["Acme", "acme.com", ""])).is_err(), "an empty extra cell too: the values before it may have shifted");
        assert_eq!(row(&m, &["Acme"]), json!({"name": "Acme"}), "a short row is what it holds");
    }

    #[test]
    fn the_examples_people_read_are_what_the_mapping_does() {
        for kind in RecordKind::ALL {
            for (field, headers) in examples(kind) {
                for header in *headers {
                    let want = match *field {
                        "firstName+lastName" => Target::FullName,
                        f => field_of(kind, f),
                    };
                    assert_eq!(targets(kind, &[header]), vec![want], "{kind:?} {header}");
                }
            }
            let covered: Vec<&str> = examples(kind).iter().map(|(f, _)| *f).collect();
            for spec in kind.fields() {
                assert!(covered.contains(&spec.name), "{kind:?} {} has no example", spec.name);
            }
        }
    }

    fn field_of(kind: RecordKind, name: &str) -> Target {
        Target::Field(kind.field(name).map(|s| s.name).unwrap())
    }

    #[test]
    fn a_file_of_another_kind_fills_no_field() {
        assert!(!Mapping::of(RecordKind::Company, &header(&["First Name;Last Name;Email"])).fills_a_field());
        assert!(Mapping::of(RecordKind::Contact, &header(&["Name"])).fills_a_field());
        assert_eq!(fold("  Country/Region "), "countryregion");
        assert_eq!(fold("Teléfono"), "teléfono");
    }
}
