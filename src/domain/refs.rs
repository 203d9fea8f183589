//! References between entities: the owner, contact, company and parent an item names. One store
//! read finds which of a batch's references exist ([`Known`]); the same check then decides every
//! item of records, tasks, activities and associations, and the write re-checks them inside its
//! transaction (the store's reference guard reads [`Refs`] as JSON).

use std::collections::HashSet;

use serde::Serialize;

use super::error::ItemError;

/// The contact, company and owner one item names. A record's parent company is its `company`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Refs<'a> {
    pub contact: Option<&'a str>,
    pub company: Option<&'a str>,
    pub owner: Option<&'a str>,
}

impl<'a> Refs<'a> {
    /// Only the references that differ from `before`: an update checks what it changes, so a
    /// task whose contact was deleted since (or whose owner predates the first user) can still
    /// be completed.
    pub fn changed_from(self, before: Refs<'_>) -> Refs<'a> {
        Refs {
            contact: self.contact.filter(|id| before.contact != Some(*id)),
            company: self.company.filter(|id| before.company != Some(*id)),
            owner: self.owner.filter(|id| before.owner != Some(*id)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.contact.is_none() && self.company.is_none() && self.owner.is_none()
    }
}

/// The ids a batch names, by kind, each once: what the store looks up in one statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    pub contacts: Vec<String>,
    pub companies: Vec<String>,
    pub owners: Vec<String>,
}

impl Named {
    pub fn of<'a>(refs: impl IntoIterator<Item = Refs<'a>>) -> Named {
        let mut named = Named::default();
        let (mut c, mut co, mut o) = (HashSet::new(), HashSet::new(), HashSet::new());
        for r in refs {
            let add = |seen: &mut HashSet<&'a str>, list: &mut Vec<String>, id: Option<&'a str>| {
                if let Some(id) = id.filter(|id| seen.insert(id)) {
                    list.push(id.to_string());
                }
            };
            add(&mut c, &mut named.contacts, r.contact);
            add(&mut co, &mut named.companies, r.company);
            add(&mut o, &mut named.owners, r.owner);
        }
        named
    }

    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty() && self.companies.is_empty() && self.owners.is_empty()
    }
}

/// Which reference of an item names nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing<'a> {
    Contact(&'a str),
    Company(&'a str),
    Owner(&'a str),
}

/// The fields through which a route's items name their references, for the error's `field`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefFields {
    pub contact: &'static str,
    pub company: &'static str,
    pub owner: &'static str,
}

impl RefFields {
    /// Tasks and activities.
    pub const WORK: RefFields = RefFields { contact: "contactId", company: "companyId", owner: "ownerId" };
    /// Contacts and companies: the owner, and a company's parent.
    pub const RECORD: RefFields = RefFields { contact: "contactId", company: "parentCrmId", owner: "ownerId" };
}

/// Which of the ids a request names exist, as one store read found them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// Named contacts that are live, or were merged into a live one.
    pub contacts: HashSet<String>,
    /// Named companies that are live, or were merged into a live one.
    pub companies: HashSet<String>,
    /// A merged contact or company named, and the survivor that acts for it.
    pub survivors: std::collections::HashMap<String, String>,
    pub owners: HashSet<String>,
    /// Whether any user exists: owners are checked only then, so owner assignment stays off
    /// until the first user is added.
    pub users_exist: bool,
}

impl Known {
    /// The live record an id names: its survivor when it was merged, else itself.
    pub fn acting<'a>(&'a self, id: &'a str) -> &'a str {
        self.survivors.get(id).map(String::as_str).unwrap_or(id)
    }

    /// `refs` with every merged contact or company replaced by its survivor.
    pub fn resolve<'a>(&'a self, refs: Refs<'a>) -> Refs<'a> {
        Refs { contact: refs.contact.map(|id| self.acting(id)), company: refs.company.map(|id| self.acting(id)), owner: refs.owner }
    }

    /// The first reference of `refs` that names nothing, contact first, then company, then owner.
    pub fn missing<'a>(&self, refs: Refs<'a>) -> Option<Missing<'a>> {
        if let Some(id) = refs.contact.filter(|id| !self.contacts.contains(*id)) {
            return Some(Missing::Contact(id));
        }
        if let Some(id) = refs.company.filter(|id| !self.companies.contains(*id)) {
            return Some(Missing::Company(id));
        }
        refs.owner.filter(|id| self.users_exist && !self.owners.contains(*id)).map(Missing::Owner)
    }

    /// `not_found` at the field naming the first reference to nothing.
    pub fn check(&self, refs: Refs<'_>, fields: RefFields) -> Result<(), ItemError> {
        match self.missing(refs) {
            None => Ok(()),
            Some(Missing::Contact(id)) => Err(ItemError::unknown(fields.contact, "contact", id)),
            Some(Missing::Company(id)) => Err(ItemError::unknown(fields.company, "company", id)),
            Some(Missing::Owner(id)) => Err(ItemError::unknown(fields.owner, "user", id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn refs<'a>(contact: Option<&'a str>, company: Option<&'a str>, owner: Option<&'a str>) -> Refs<'a> {
        Refs { contact, company, owner }
    }

    #[test]
    fn references_are_checked_owners_only_while_users_exist() {
        let mut known = Known { contacts: set(&["ct_1"]), companies: set(&["co_1"]), owners: set(&["us_1"]), users_exist: false, ..Known::default() };
        assert!(known.check(refs(Some("ct_1"), Some("co_1"), Some("anyone")), RefFields::WORK).is_ok(), "owners off");
        let err = known.check(refs(Some("ct_2"), None, None), RefFields::WORK).unwrap_err();
        assert_eq!((err.field.as_deref(), err.code.as_str()), (Some("contactId"), "not_found"));
        assert_eq!(known.check(refs(None, Some("co_2"), None), RefFields::WORK).unwrap_err().field.as_deref(), Some("companyId"));
        known.users_exist = true;
        assert_eq!(known.check(refs(None, None, Some("anyone")), RefFields::WORK).unwrap_err().field.as_deref(), Some("ownerId"));
        assert!(known.check(refs(None, None, Some("us_1")), RefFields::WORK).is_ok());
    }

    #[test]
    fn one_cause_one_code_whatever_the_route() {
        let known = Known { users_exist: true, ..Known::default() };
        let on_task = known.check(refs(None, None, Some("us_9")), RefFields::WORK).unwrap_err();
        let on_contact = known.check(refs(None, None, Some("us_9")), RefFields::RECORD).unwrap_err();
        assert_eq!(on_task, on_contact);
        assert_eq!(on_task.message, "ownerId: no user has the id \"us_9\"");
        let parent = known.check(refs(None, Some("co_gone"), None), RefFields::RECORD).unwrap_err();
        assert_eq!((parent.field.as_deref(), parent.code.as_str()), (Some("parentCrmId"), "not_found"));
        assert_eq!(known.missing(refs(Some("ct_x"), Some("co_x"), None)), Some(Missing::Contact("ct_x")));
    }

    #[test]
    fn an_update_checks_only_the_references_it_changes() {
        let before = refs(Some("ct_gone"), Some("co_1"), Some("legacy"));
        let after = refs(Some("ct_gone"), Some("co_2"), Some("legacy"));
        assert_eq!(after.changed_from(before), refs(None, Some("co_2"), None));
        assert_eq!(before.changed_from(Refs::default()), before);
    }

    #[test]
    fn a_merged_record_is_known_and_acted_for_by_its_survivor() {
        let known = Known {
            contacts: set(&["ct_old", "ct_live"]),
            survivors: [("ct_old".to_string(), "ct_live".to_string())].into(),
            ..Known::default()
        };
        assert!(known.check(refs(Some("ct_old"), None, None), RefFields::WORK).is_ok());
        assert_eq!(known.resolve(refs(Some("ct_old"), Some("co_x"), None)), refs(Some("ct_live"), Some("co_x"), None));
        assert_eq!(known.acting("ct_live"), "ct_live");
    }

    #[test]
    fn named_ids_are_listed_once_each_in_order() {
        let n = Named::of([refs(Some("ct_1"), None, Some("us_1")), refs(Some("ct_1"), Some("co_1"), Some("us_2"))]);
        assert_eq!(n.contacts, vec!["ct_1"]);
        assert_eq!(n.companies, vec!["co_1"]);
        assert_eq!(n.owners, vec!["us_1", "us_2"]);
        assert!(Named::of([Refs::default()]).is_empty());
    }
}
