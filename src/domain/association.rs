//! Contact–company links (API.md §6): parsing a batch and planning its writes.
//!
//! `additional` adds a link; `primary` adds it and makes it the contact's primary company;
//! `primary_replace` does so and removes the contact's other links. When one request names
//! several primaries for the same contact, the last one wins, as if the items ran in order.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::error::{ApiError, Detail};
use super::request::json_type;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    Additional,
    Primary,
    PrimaryReplace,
}

impl LinkType {
    pub fn parse(text: &str) -> Option<LinkType> {
        match text {
            "additional" => Some(LinkType::Additional),
            "primary" => Some(LinkType::Primary),
            "primary_replace" => Some(LinkType::PrimaryReplace),
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

/// A per-item problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkError {
    pub code: &'static str,
    pub message: String,
}

fn id_field(item: &Value, name: &str) -> Result<String, LinkError> {
    match item.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 100 => Ok(s.clone()),
        Some(Value::String(_)) => Err(LinkError { code: "invalid", message: format!("{name}: expected a crm id") }),
        None | Some(Value::Null) => Err(LinkError { code: "invalid", message: format!("{name}: is required") }),
        Some(other) => Err(LinkError { code: "invalid", message: format!("{name}: expected a string, got {}", json_type(other)) }),
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
pub fn parse_link(item: &Value, default: LinkType) -> Result<Link, LinkError> {
    if !item.is_object() {
        return Err(LinkError { code: "invalid", message: format!("expected an object, got {}", json_type(item)) });
    }
    let contact_id = id_field(item, "contactCRMId")?;
    let company_id = id_field(item, "companyCRMId")?;
    let link_type = match item.get("type") {
        None | Some(Value::Null) => default,
        Some(Value::String(s)) => LinkType::parse(s).ok_or_else(|| LinkError {
            code: "invalid",
            message: format!("type: expected additional, primary or primary_replace, got {s:?}"),
        })?,
        Some(other) => {
            return Err(LinkError { code: "invalid", message: format!("type: expected a string, got {}", json_type(other)) })
        }
    };
    Ok(Link { contact_id, company_id, link_type })
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
