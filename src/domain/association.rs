//! Contact–company links (API.md §6): parsing a batch and planning its writes.
//!
//! `additional` adds a link; `primary` adds it and makes it the contact's primary company;
//! `primary_replace` does so and removes the contact's other links. When one request names
//! several primaries for the same contact, the last one wins, as if the items ran in order.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::error::{ApiError, Detail, ItemError};
use super::record::RecordKind;
use super::refs::{Known, Missing, Refs};
use super::request::json_type;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    Additional,
    Primary,
    PrimaryReplace,
}

impl LinkType {
    /// Read leniently: any case, spaces or hyphens for underscores, and Enginy's own labels ("Add
    /// association as Primary and remove previous").
    pub fn parse(text: &str) -> Option<LinkType> {
        let folded: String = text
            .trim()
            .chars()
            .map(|c| if c == ' ' || c == '-' { '_' } else { c.to_ascii_lowercase() })
            .collect();
        match folded.as_str() {
            "additional" | "add_association" => Some(LinkType::Additional),
            "primary" | "add_association_as_primary" => Some(LinkType::Primary),
            "primary_replace" | "add_association_as_primary_and_remove_previous" => Some(LinkType::PrimaryReplace),
            _ => None,
        }
    }
}

/// One valid item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub contact_id: String,
    pub company_id: String,
    pub link_type: LinkType,
}

impl Link {
    /// The contact and company it names: both must be live.
    pub fn refs(&self) -> Refs<'_> {
        Refs { contact: Some(&self.contact_id), company: Some(&self.company_id), owner: None }
    }
}

/// An id field, under its name or its alias (`contactCrmId` for `contactCRMId`): the error names
/// the field as the client wrote it.
fn id_field(item: &Value, name: &str, alias: &str) -> Result<String, ItemError> {
    let name = if item.get(name).is_none() && item.get(alias).is_some() { alias } else { name };
    match item.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 100 => Ok(s.clone()),
        Some(Value::String(_)) => Err(ItemError::invalid(name, "expected a crm id")),
        None | Some(Value::Null) => Err(ItemError::invalid(name, "is required")),
        Some(other) => Err(ItemError::invalid(name, format!("expected a string, got {}", json_type(other)))),
    }
}

/// The body-wide `associationType`, if any: `400` when it is not a known type.
pub fn default_type(body: &Value) -> Result<LinkType, ApiError> {
    match body.get("associationType") {
        None | Some(Value::Null) => Ok(LinkType::Additional),
        Some(Value::String(s)) => LinkType::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "invalid associationType",
                vec![Detail::new("associationType", format!("expected additional, primary or primary_replace, got {s:?}"))],
            )
        }),
        Some(other) => Err(ApiError::invalid(
            "invalid associationType",
            vec![Detail::new("associationType", format!("expected a string, got {}", json_type(other)))],
        )),
    }
}

/// Parses one item; its own `type` wins over the body's `associationType`.
pub fn parse_link(item: &Value, default: LinkType) -> Result<Link, ItemError> {
    if !item.is_object() {
        return Err(ItemError::whole(format!("expected an object, got {}", json_type(item))));
    }
    let contact_id = id_field(item, "contactCRMId", "contactCrmId")?;
    let company_id = id_field(item, "companyCRMId", "companyCrmId")?;
    let link_type = match item.get("type") {
        None | Some(Value::Null) => default,
        Some(Value::String(s)) => LinkType::parse(s)
            .ok_or_else(|| ItemError::invalid("type", format!("expected additional, primary or primary_replace, got {s:?}")))?,
        Some(other) => return Err(ItemError::invalid("type", format!("expected a string, got {}", json_type(other)))),
    };
    Ok(Link { contact_id, company_id, link_type })
}

/// Each parsed link checked against the live records: a link to a contact or company that does
/// not exist fails alone, in the reference server's words (`Contact not found`); one to a merged
/// record links its survivor.
pub fn check_links(parsed: Vec<Result<Link, ItemError>>, known: &Known) -> Vec<Result<Link, ItemError>> {
    parsed
        .into_iter()
        .map(|p| {
            let link = p?;
            match known.missing(link.refs()) {
                Some(Missing::Contact(id)) => Err(ItemError::missing(Some("contactCRMId"), RecordKind::Contact.key_kind(), id)),
                Some(Missing::Company(id)) => Err(ItemError::missing(Some("companyCRMId"), RecordKind::Company.key_kind(), id)),
                // A merged contact or company is linked through its survivor (the answer names it).
                _ => Ok(Link {
                    contact_id: known.acting(&link.contact_id).to_string(),
                    company_id: known.acting(&link.company_id).to_string(),
                    link_type: link.link_type,
                }),
            }
        })
        .collect()
}

/// The answer: `{success, results}`, one result per item in request order, `success` only when
/// every item succeeded.
pub fn answer_links(items: &[Value], outcomes: &[Result<Link, ItemError>]) -> Value {
    let results: Vec<Value> = outcomes
        .iter()
        .zip(items)
        .map(|(outcome, item)| match outcome {
            Ok(l) => json!({"contactCRMId": l.contact_id, "companyCRMId": l.company_id, "success": true}),
            Err(e) => {
                let sent = |name: &str, alias: &str| item.get(name).or_else(|| item.get(alias)).cloned().unwrap_or(Value::Null);
                let contact = sent("contactCRMId", "contactCrmId");
                let company = sent("companyCRMId", "companyCrmId");
                Value::Object(e.located([("contactCRMId", contact), ("companyCRMId", company), ("success", json!(false))]))
            }
        })
        .collect();
    json!({ "success": outcomes.iter().all(Result::is_ok), "results": results })
}

/// The JSON the write statements read: one entry per distinct link, `primary` set only on each
/// contact's final primary, `replace` on contacts whose final primary came with
/// `primary_replace`.
pub fn plan_writes(links: &[&Link]) -> Value {
    let mut final_primary: HashMap<&str, (&str, bool)> = HashMap::new();
    for link in links {
        if link.link_type != LinkType::Additional {
            final_primary.insert(&link.contact_id, (&link.company_id, link.link_type == LinkType::PrimaryReplace));
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for link in links {
        if !seen.insert((&link.contact_id, &link.company_id)) {
            continue;
        }
        let (primary, replace) = match final_primary.get(link.contact_id.as_str()) {
            Some((company, replace)) if *company == link.company_id => (true, *replace),
            _ => (false, false),
        };
        out.push(json!({
            "contactId": link.contact_id,
            "companyId": link.company_id,
            "primary": primary,
            "replace": replace,
        }));
    }
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(c: &str, co: &str, t: LinkType) -> Link {
        Link { contact_id: c.into(), company_id: co.into(), link_type: t }
    }

    #[test]
    fn parses_items_and_types() {
        let item = json!({"contactCRMId": "ct_1", "companyCRMId": "co_1"});
        assert_eq!(parse_link(&item, LinkType::Additional).unwrap().link_type, LinkType::Additional);
        assert_eq!(parse_link(&item, LinkType::Primary).unwrap().link_type, LinkType::Primary);
        let typed = json!({"contactCRMId": "ct_1", "companyCRMId": "co_1", "type": "primary_replace"});
        assert_eq!(parse_link(&typed, LinkType::Additional).unwrap().link_type, LinkType::PrimaryReplace);
    }

    #[test]
    fn aliases_and_enginy_labels_are_read() {
        let item = json!({"contactCrmId": "ct_1", "companyCrmId": "co_1", "type": "PRIMARY"});
        let link = parse_link(&item, LinkType::Additional).unwrap();
        assert_eq!((link.contact_id.as_str(), link.company_id.as_str(), link.link_type), ("ct_1", "co_1", LinkType::Primary));
        for (label, t) in [
            ("Add association", LinkType::Additional),
            ("Add association as Primary", LinkType::Primary),
            ("Add association as Primary and remove previous", LinkType::PrimaryReplace),
            ("primary-replace", LinkType::PrimaryReplace),
            (" Additional ", LinkType::Additional),
        ] {
            assert_eq!(LinkType::parse(label), Some(t), "{label}");
        }
        assert_eq!(LinkType::parse("best friend"), None);
        let err = parse_link(&json!({"contactCrmId": 5, "companyCRMId": "co_1"}), LinkType::Additional).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("contactCrmId"));
    }

    #[test]
    fn bad_items_name_the_field() {
        for (item, field) in [
            (json!({"companyCRMId": "co_1"}), "contactCRMId"),
            (json!({"contactCRMId": 5, "companyCRMId": "co_1"}), "contactCRMId"),
            (json!({"contactCRMId": "ct_1", "companyCRMId": ""}), "companyCRMId"),
            (json!({"contactCRMId": "ct_1", "companyCRMId": "co_1", "type": "best"}), "type"),
            (json!("ct_1"), "object"),
        ] {
            let err = parse_link(&item, LinkType::Additional).unwrap_err();
            assert!(err.message.contains(field), "{item}: {}", err.message);
        }
        assert_eq!(default_type(&json!({"associationType": "x"})).unwrap_err().status(), 400);
        assert_eq!(default_type(&json!({})).unwrap(), LinkType::Additional);
    }

    #[test]
    fn links_to_nothing_fail_alone_in_the_reference_servers_words() {
        let known = Known { contacts: ["ct_1".to_string()].into(), companies: ["co_1".to_string()].into(), ..Known::default() };
        let items = vec![
            json!({"contactCRMId": "ct_1", "companyCRMId": "co_1"}),
            json!({"contactCRMId": "ct_9", "companyCRMId": "co_1"}),
            json!({"contactCRMId": "ct_1", "companyCRMId": "co_9"}),
            json!({"contactCRMId": 5}),
        ];
        let parsed = items.iter().map(|i| parse_link(i, LinkType::Additional)).collect();
        let checked = check_links(parsed, &known);
        let a = answer_links(&items, &checked);
        assert_eq!(a["success"], false);
        assert_eq!(a["results"][0], json!({"contactCRMId": "ct_1", "companyCRMId": "co_1", "success": true}));
        assert_eq!((a["results"][1]["code"].as_str(), a["results"][1]["error"].as_str()), (Some("not_found"), Some("Contact not found")));
        assert_eq!((a["results"][2]["field"].as_str(), a["results"][2]["error"].as_str()), (Some("companyCRMId"), Some("Company not found")));
        assert_eq!((a["results"][3]["code"].as_str(), a["results"][3]["contactCRMId"].as_i64()), (Some("invalid"), Some(5)));
    }

    #[test]
    fn a_link_to_a_merged_record_links_its_survivor() {
        let known = Known {
            contacts: ["ct_old".to_string()].into(),
            companies: ["co_1".to_string()].into(),
            survivors: [("ct_old".to_string(), "ct_new".to_string())].into(),
            ..Known::default()
        };
        let parsed = vec![parse_link(&json!({"contactCRMId": "ct_old", "companyCRMId": "co_1"}), LinkType::Additional)];
        let checked = check_links(parsed, &known);
        assert_eq!(checked[0].as_ref().unwrap().contact_id, "ct_new");
    }

    #[test]
    fn last_primary_per_contact_wins_and_repeats_collapse() {
        let a = link("ct_1", "co_a", LinkType::Primary);
        let b = link("ct_1", "co_b", LinkType::PrimaryReplace);
        let c = link("ct_1", "co_a", LinkType::Additional);
        let d = link("ct_2", "co_a", LinkType::Additional);
        let plan = plan_writes(&[&a, &b, &c, &d]);
        assert_eq!(
            plan,
            json!([
                {"contactId": "ct_1", "companyId": "co_a", "primary": false, "replace": false},
                {"contactId": "ct_1", "companyId": "co_b", "primary": true, "replace": true},
                {"contactId": "ct_2", "companyId": "co_a", "primary": false, "replace": false},
            ])
        );
    }
}
