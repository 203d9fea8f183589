//! `PUT /{kind}`: partial updates under `FIELD_POLICY`, every real change kept for the history.
//!
//! Updates of one record apply in request order on top of each other. An item fails alone when it
//! is invalid or its record does not exist. A record whose update introduces an owner or parent
//! that does not exist is not written, and every item that updates it fails with that reason; a
//! reference the update leaves as it was is not checked again (a record whose parent was deleted
//! since can still be updated).

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::{record_refs, ExternalLink, RecordChange, Touched};
use crate::domain::config::FieldPolicy;
use crate::domain::error::ItemError;
use crate::domain::record::{apply_to, Change, KeySet, RecordKind, RecordRow, RecordUpdate, StoredRecord, EXTERNAL_ID, LAST_ACTIVITY};
use crate::domain::refs::{Known, RefFields, Refs};

/// One item's outcome: the `crmId` it names (as sent), and whether it was applied.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateOutcome {
    pub crm_id: Value,
    pub result: Result<(), ItemError>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UpdatePlan {
    pub outcomes: Vec<UpdateOutcome>,
    pub writes: Vec<RecordChange>,
    /// Records linked to the `externalId` an update sent (each also a write, with the change).
    pub links: Vec<ExternalLink>,
    /// The `updated_at` each loaded record was read at (its answer when nothing changed).
    pub read_at: HashMap<String, String>,
}

impl UpdatePlan {
    /// The old and new keys of the written records (`stored`: as they were read), for the match
    /// cache to forget. Computed on demand: normalising every key of 1,000 records is most of
    /// the plan's work, and without the cache nothing needs them.
    pub fn touched(&self, kind: RecordKind, stored: &[RecordRow]) -> Touched {
        let before: HashMap<&str, &RecordRow> = stored.iter().map(|r| (r.id.as_str(), r)).collect();
        let mut touched = Vec::with_capacity(self.writes.len() * 2);
        for w in &self.writes {
            let old = before.get(w.record.id.as_str()).map(|r| KeySet::of(kind, &r.fields)).unwrap_or_default();
            let new = match w.rekey {
                true => KeySet::of(kind, &w.record.fields),
                false => old.clone(),
            };
            touched.extend([old, new]);
        }
        touched
    }

    /// What the write's reference guard checks again: the references the updates introduce.
    pub fn refs<'a>(&'a self, stored: &'a [RecordRow]) -> Vec<Refs<'a>> {
        let before: HashMap<&str, &RecordRow> = stored.iter().map(|r| (r.id.as_str(), r)).collect();
        self.writes
            .iter()
            .map(|w| {
                let old = before.get(w.record.id.as_str()).map(|r| record_refs(&r.fields)).unwrap_or_default();
                w.record.refs().changed_from(old)
            })
            .collect()
    }
}

/// The ids an update names, each once, in request order: the records to load.
pub fn update_ids(items: &[Result<RecordUpdate, ItemError>]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.iter().flatten().map(|u| u.crm_id.clone()).filter(|id| seen.insert(id.clone())).collect()
}

/// The items with every `crmId` of a merged record replaced by its survivor's (`survivors`: merged
/// id → survivor), and the `crmId`s the answer names (the survivor's, which acted).
pub fn to_survivors(
    items: &[Result<RecordUpdate, ItemError>],
    sent: &[Value],
    survivors: &HashMap<String, String>,
) -> (Vec<Result<RecordUpdate, ItemError>>, Vec<Value>) {
    let mut items = items.to_vec();
    let mut sent = sent.to_vec();
    for (item, sent) in items.iter_mut().zip(sent.iter_mut()) {
        if let Ok(item) = item {
            if let Some(into) = survivors.get(&item.crm_id) {
                item.crm_id = into.clone();
                *sent = json!(into);
            }
        }
    }
    (items, sent)
}

/// Every `externalId` an update sends: the store reads who holds them (one statement, none when
/// no item sends one).
pub fn update_external_ids(items: &[Result<RecordUpdate, ItemError>]) -> Vec<&str> {
    items.iter().flatten().filter_map(|u| u.external_id.as_deref()).collect()
}

/// Every owner and parent an update sets: what the store checks in one read.
pub fn update_refs(items: &[Result<RecordUpdate, ItemError>]) -> Vec<Refs<'_>> {
    items.iter().flatten().map(|u| record_refs(&u.fields)).collect()
}

/// Plans an update against the live records `stored` (read by id), with `known` the owners and
/// parents that exist among those the items set, and `holders` the record that holds each
/// `externalId` the items send, if any.
pub fn plan_update(
    kind: RecordKind,
    items: &[Result<RecordUpdate, ItemError>],
    crm_ids: &[Value],
    stored: &[RecordRow],
    policy: &BTreeMap<String, FieldPolicy>,
    known: &Known,
    holders: &HashMap<String, String>,
) -> UpdatePlan {
    // The records as read, and as this request's earlier items left them (only those it changed:
    // copying every record first was a third of the plan's work on 1,000 records).
    let before: HashMap<&str, &RecordRow> = stored.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut current: HashMap<String, StoredRecord> = HashMap::new();
    // Each record's last activity date, moved forward by the items that send a later one.
    let mut activity: HashMap<&str, Option<String>> = stored.iter().map(|r| (r.id.as_str(), r.last_activity_at.clone())).collect();
    // Who holds each externalId, as this request leaves it, and each record's current one.
    let mut holders = holders.clone();
    let mut linked: HashMap<&str, Option<String>> = stored.iter().map(|r| (r.id.as_str(), r.external_id.clone())).collect();
    let mut links: Vec<ExternalLink> = Vec::new();
    let mut changes: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    let mut outcomes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let sent = crm_ids.get(i).cloned().unwrap_or(Value::Null);
        let update = match item {
            Ok(u) => u,
            Err(e) => {
                outcomes.push(UpdateOutcome { crm_id: sent, result: Err(e.clone()) });
                continue;
            }
        };
        let crm_id = json!(update.crm_id);
        let Some(row) = before.get(update.crm_id.as_str()) else {
            outcomes.push(UpdateOutcome { crm_id, result: Err(ItemError::missing(None, kind.key_kind(), &update.crm_id)) });
            continue;
        };
        let id = row.id.as_str();
        let (fields, properties) = match current.get(id) {
            Some(state) => (&state.fields, &state.properties),
            None => (&row.fields, &row.properties),
        };
        // An externalId another record holds: this item is refused whole.
        let link = match update.external_id.as_deref() {
            Some(ext) => match holders.get(ext) {
                Some(holder) if holder != &update.crm_id => {
                    let e = ItemError::conflict("externalId", format!("{ext:?} is linked to another {} ({holder})", kind.key_kind()));
                    outcomes.push(UpdateOutcome { crm_id, result: Err(e) });
                    continue;
                }
                Some(_) => None,
                None => Some(ext.to_string()),
            },
            None => None,
        };
        let mut applied = apply_to(fields, properties, update, policy);
        outcomes.push(UpdateOutcome { crm_id, result: Ok(()) });
        if let Some(ext) = link {
            holders.insert(ext.clone(), update.crm_id.clone());
            let old = linked.insert(id, Some(ext.clone())).flatten();
            applied.changes.push(Change { field: EXTERNAL_ID.to_string(), old: old.map(Value::String), new: Some(json!(ext)), sent: None });
            links.push(ExternalLink { id: update.crm_id.clone(), external_id: ext });
        }
        let date = activity.entry(id).or_default();
        if let Some(sent) = update.last_activity.as_ref().filter(|sent| date.as_ref().is_none_or(|d| d < *sent)) {
            let old = date.replace(sent.clone());
            applied.changes.push(Change { field: LAST_ACTIVITY.to_string(), old: old.map(Value::String), new: Some(json!(sent)), sent: None });
        }
        if applied.changes.is_empty() {
            continue;
        }
        changes.entry(update.crm_id.clone()).or_default().extend(applied.changes);
        current.insert(
            update.crm_id.clone(),
            StoredRecord { id: update.crm_id.clone(), fields: applied.fields, properties: applied.properties },
        );
    }

    // References are checked on what each changed record now names that it did not before.
    let mut refused: HashMap<String, ItemError> = HashMap::new();
    for id in changes.keys() {
        let old = record_refs(&before[id.as_str()].fields);
        if let Err(e) = known.check(record_refs(&current[id].fields).changed_from(old), RefFields::RECORD) {
            refused.insert(id.clone(), e);
        }
    }
    for outcome in outcomes.iter_mut() {
        if let (Ok(()), Some(e)) = (&outcome.result, outcome.crm_id.as_str().and_then(|id| refused.get(id))) {
            outcome.result = Err(e.clone());
        }
    }

    let mut writes = Vec::new();
    for (id, log) in changes {
        if refused.contains_key(&id) {
            continue;
        }
        let record = current.remove(&id).expect("a changed record is current");
        let row = before[id.as_str()];
        let moved = activity.get(id.as_str()).cloned().flatten().filter(|d| row.last_activity_at.as_ref() != Some(d));
        let mut write = RecordChange::rewrite(kind, id, &row.fields, record.fields, record.properties, row.updated_at.clone(), log);
        write.record = write.record.with_last_activity(moved);
        writes.push(write);
    }
    let read_at = stored.iter().map(|r| (r.id.clone(), r.updated_at.clone())).collect();
    // A record refused for a reference is not linked either.
    links.retain(|l| !refused.contains_key(&l.id));
    UpdatePlan { outcomes, writes, links, read_at }
}

/// The answer of an update: `{results}` in request order, each applied item with its record's
/// `updated_at` after the write (`written`) or as read when it did not change.
pub fn answer_update(plan: &UpdatePlan, written: &HashMap<String, String>) -> Value {
    let results: Vec<Value> = plan
        .outcomes
        .iter()
        .map(|o| match &o.result {
            Err(e) => Value::Object(e.located([("crmId", o.crm_id.clone()), ("success", json!(false))])),
            Ok(()) => {
                let id = o.crm_id.as_str().unwrap_or_default();
                let stamp = written.get(id).or_else(|| plan.read_at.get(id));
                json!({"crmId": id, "success": true, "properties": {"lastUpdated": stamp}})
            }
        })
        .collect();
    json!({ "results": results })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::parse_update;

    fn row(id: &str, fields: Value) -> RecordRow {
        RecordRow { id: id.into(), fields: fields.as_object().unwrap().clone(), updated_at: format!("t-{id}"), ..Default::default() }
    }

    fn run(body: Value, stored: &[RecordRow], policy: &BTreeMap<String, FieldPolicy>, known: &Known) -> UpdatePlan {
        let raw = body.as_array().unwrap();
        let items: Vec<_> = raw.iter().map(|v| parse_update(RecordKind::Company, v)).collect();
        let ids: Vec<Value> = raw.iter().map(|v| v.get("crmId").cloned().unwrap_or(Value::Null)).collect();
        plan_update(RecordKind::Company, &items, &ids, stored, policy, known, &HashMap::new())
    }

    #[test]
    fn updates_of_one_record_stack_in_request_order_into_one_write() {
        let stored = [row("co_1", json!({"name": "Acme", "domain": "acme.com"}))];
        let body = json!([{"crmId": "co_1", "industry": "Software"}, {"crmId": "co_1", "industry": "SaaS", "domain": "acme.io"}]);
        let p = run(body, &stored, &BTreeMap::new(), &Known::default());
        assert_eq!(p.writes.len(), 1);
        let w = &p.writes[0];
        assert_eq!((w.record.fields["industry"].as_str(), w.base.as_str()), (Some("SaaS"), "t-co_1"));
        let logged: Vec<(&str, Option<&Value>)> = w.changes.iter().map(|c| (c.field.as_str(), c.new.as_ref())).collect();
        // The first item's change, then the second's (each in field order).
        assert_eq!(logged, vec![("industry", Some(&json!("Software"))), ("domain", Some(&json!("acme.io"))), ("industry", Some(&json!("SaaS")))]);
        let touched = p.touched(RecordKind::Company, &stored);
        assert_eq!(touched.len(), 2, "old and new keys");
        assert!(touched[0].keys(crate::domain::matching::MatchField::Domain).any(|k| k == "acme.com"));
        assert!(touched[1].keys(crate::domain::matching::MatchField::Domain).any(|k| k == "acme.io"));
        assert!(w.rekey, "the domain changed");
    }

    #[test]
    fn a_sent_last_activity_date_only_moves_forward_and_is_in_history() {
        let mut r = row("co_1", json!({"name": "Acme"}));
        r.last_activity_at = Some("2024-05-01T00:00:00.000Z".into());
        let stored = [r];
        let back = run(json!([{"crmId": "co_1", "lastActivityDate": "2024-01-01T00:00:00Z"}]), &stored, &BTreeMap::new(), &Known::default());
        assert!(back.writes.is_empty(), "an earlier date changes nothing");
        let on = run(json!([{"crmId": "co_1", "lastActivityDate": "2024-06-01T10:00:00+02:00"}]), &stored, &BTreeMap::new(), &Known::default());
        let w = &on.writes[0];
        assert_eq!(w.record.last_activity_at.as_deref(), Some("2024-06-01T08:00:00.000Z"));
        assert_eq!(w.changes[0].field, "lastActivityDate");
        assert_eq!(w.changes[0].old, Some(json!("2024-05-01T00:00:00.000Z")));
        assert!(w.record.properties.is_empty(), "one field, never a custom property too");
    }

    #[test]
    fn an_external_id_sent_on_update_links_the_record_unless_another_holds_it() {
        let mut r1 = row("co_1", json!({"name": "A"}));
        r1.external_id = Some("old-1".into());
        let stored = [r1, row("co_2", json!({"name": "B"}))];
        let body = json!([
            {"crmId": "co_1", "externalId": "new-1", "name": "A2"},
            {"crmId": "co_2", "externalId": "taken"},
            {"crmId": "co_2", "externalId": "new-1"},
            {"crmId": "co_1", "externalId": "mine"},
        ]);
        let raw = body.as_array().unwrap();
        let items: Vec<_> = raw.iter().map(|v| parse_update(RecordKind::Company, v)).collect();
        let ids: Vec<Value> = raw.iter().map(|v| v["crmId"].clone()).collect();
        let holders: HashMap<String, String> = [("taken".to_string(), "co_9".to_string()), ("mine".to_string(), "co_1".to_string())].into();
        let p = plan_update(RecordKind::Company, &items, &ids, &stored, &BTreeMap::new(), &Known::default(), &holders);
        assert_eq!(p.links, vec![ExternalLink { id: "co_1".into(), external_id: "new-1".into() }]);
        let w = &p.writes[0];
        let ext_change = w.changes.iter().find(|c| c.field == "externalId").unwrap();
        assert_eq!((ext_change.old.clone(), ext_change.new.clone()), (Some(json!("old-1")), Some(json!("new-1"))), "the old one stays in history");
        for i in [1, 2] {
            let e = p.outcomes[i].result.as_ref().unwrap_err();
            assert_eq!((e.code.as_str(), e.field.as_deref()), ("conflict", Some("externalId")), "item {i}");
        }
        assert!(p.outcomes[3].result.is_ok(), "an externalId the record already holds changes nothing");
        assert!(p.writes.iter().all(|w| w.record.id == "co_1"), "co_2's items were refused whole");
    }

    #[test]
    fn a_merged_crm_id_is_updated_through_its_survivor() {
        let items = vec![parse_update(RecordKind::Company, &json!({"crmId": "co_old", "name": "A"})), parse_update(RecordKind::Company, &json!({"crmId": "co_2"}))];
        let sent = vec![json!("co_old"), json!("co_2")];
        let survivors: HashMap<String, String> = [("co_old".to_string(), "co_new".to_string())].into();
        let (items, sent) = to_survivors(&items, &sent, &survivors);
        assert_eq!(items[0].as_ref().unwrap().crm_id, "co_new");
        assert_eq!(sent, vec![json!("co_new"), json!("co_2")], "the answer names the record that acted");
        assert_eq!(update_ids(&items), vec!["co_new".to_string(), "co_2".to_string()]);
    }

    #[test]
    fn field_policy_decides_per_field() {
        let stored = [row("co_1", json!({"name": "Acme", "industry": "Retail"}))];
        let policy: BTreeMap<String, FieldPolicy> =
            [("industry".to_string(), FieldPolicy::FillEmpty), ("name".to_string(), FieldPolicy::Ignore)].into();
        let p = run(json!([{"crmId": "co_1", "industry": "Software", "name": "New", "phone": "+1 555"}]), &stored, &policy, &Known::default());
        let fields = &p.writes[0].record.fields;
        assert_eq!((fields["industry"].as_str(), fields["name"].as_str(), fields["phone"].as_str()), (Some("Retail"), Some("Acme"), Some("+1 555")));
        assert_eq!(p.writes[0].changes.len(), 1);
    }

    #[test]
    fn unknown_records_and_bad_items_fail_alone_and_nothing_unchanged_is_written() {
        let stored = [row("co_1", json!({"name": "Acme"}))];
        let p = run(json!([{"crmId": "co_9"}, {"crmId": 5}, {"crmId": "co_1", "name": "Acme"}]), &stored, &BTreeMap::new(), &Known::default());
        assert_eq!(p.outcomes[0].result.as_ref().unwrap_err().message, "Company not found");
        assert_eq!(p.outcomes[1].crm_id, json!(5));
        assert!(p.outcomes[2].result.is_ok());
        assert!(p.writes.is_empty(), "an update to the same value is not a change");
        let a = answer_update(&p, &HashMap::new());
        assert_eq!(a["results"][2], json!({"crmId": "co_1", "success": true, "properties": {"lastUpdated": "t-co_1"}}));
        assert_eq!((a["results"][0]["success"].as_bool(), a["results"][0]["code"].as_str()), (Some(false), Some("not_found")));
    }

    #[test]
    fn a_reference_that_vanished_refuses_its_record_but_an_unchanged_one_does_not() {
        let stored = [row("co_1", json!({"name": "A", "parentCrmId": "co_gone"})), row("co_2", json!({"name": "B"}))];
        let known = Known::default();
        let body = json!([{"crmId": "co_1", "name": "A2"}, {"crmId": "co_2", "parentCrmId": "co_deleted"}, {"crmId": "co_2", "name": "B2"}]);
        let p = run(body, &stored, &BTreeMap::new(), &known);
        assert!(p.outcomes[0].result.is_ok(), "co_1 keeps its old parent: not checked again");
        for i in [1, 2] {
            let e = p.outcomes[i].result.as_ref().unwrap_err();
            assert_eq!((e.code.as_str(), e.field.as_deref()), ("not_found", Some("parentCrmId")));
        }
        assert_eq!(p.writes.iter().map(|w| w.record.id.as_str()).collect::<Vec<_>>(), vec!["co_1"]);
        assert!(p.refs(&stored).iter().all(|r| r.is_empty()), "the guard checks only what changed");
    }
}
