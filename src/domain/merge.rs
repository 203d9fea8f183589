//! Duplicates and merges, pure: which stored records are offered as duplicates of each
//! other, whether a merge request is sound, and what a merge writes.
//!
//! - [`group_duplicates`] turns the rows of the duplicates statement (records sharing a key of a
//!   term's anchor field, grouped in SQL) into groups of records the identifier would match with
//!   each other: every field of the term agrees, and a weak term never joins records that hold
//!   different strong keys (the veto of `sync::conflicts`).
//! - [`MergeRequest::parse`] checks a merge body; [`plan_merge`] checks it against the loaded
//!   records and decides the survivor's fields and the history. The links, externalIds, tasks,
//!   activities and children move in SQL, set-based, inside the merge's batch: what moves is what
//!   the merged records hold when the batch runs, not what was read before it.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::matching::{MatchField, MatchRule};
use super::plan::{RecordChange, RecordWrite};
use super::record::{is_empty, Change, KeySet, RecordKind, RecordRow, LAST_ACTIVITY};
use super::sync::{anchor, conflicts};

/// The most records one merge takes (survivor excluded).
pub const MAX_MERGED: usize = 50;

/// One member of a candidate group, as the duplicates statement answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateRow {
    pub group_field: MatchField,
    pub group_key: String,
    pub id: String,
    pub external_id: Option<String>,
    pub name: String,
    pub fields: Map<String, Value>,
    pub updated_at: String,
    pub keys: KeySet,
}

/// A group of records the identifier would match with each other.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateGroup {
    pub field: MatchField,
    pub key: String,
    /// The term that joins them, as the rule writes it (`firstName&lastName&company`).
    pub term: String,
    pub records: Vec<DuplicateRow>,
}

impl DuplicateGroup {
    pub fn to_json(&self) -> Value {
        let records: Vec<Value> = self
            .records
            .iter()
            .map(|r| json!({"crmId": r.id, "externalId": r.external_id, "name": r.name, "updatedAt": r.updated_at, "fields": r.fields}))
            .collect();
        json!({"field": self.field.name(), "key": self.key, "term": self.term, "records": records})
    }
}

/// The groups among `rows` (ordered by group, then id): for each `(field, key)` group and each
/// term of `rule` anchored on that field, the records that term joins, split where the term is
/// weak and two members hold different strong keys. A set of records is offered once.
pub fn group_duplicates(rule: &MatchRule, rows: &[DuplicateRow]) -> Vec<DuplicateGroup> {
    let kind = rule.kind();
    let mut out = Vec::new();
    let mut offered: HashSet<Vec<String>> = HashSet::new();
    let mut start = 0;
    while start < rows.len() {
        let (field, key) = (rows[start].group_field, &rows[start].group_key);
        let end = start + rows[start..].iter().take_while(|r| r.group_field == field && &r.group_key == key).count();
        let members = &rows[start..end];
        start = end;
        for term in rule.terms().iter().filter(|t| anchor(t) == field) {
            let strong = term.is_strong(kind);
            // Greedy clusters: a member joins the first cluster whose every member it matches
            // under the term without a conflict.
            let mut clusters: Vec<Vec<&DuplicateRow>> = Vec::new();
            for m in members.iter().filter(|m| m.keys.applies(term)) {
                let fits = |c: &Vec<&DuplicateRow>| {
                    c.iter().all(|o| m.keys.matches(term, &o.keys) && (strong || !conflicts(kind, term, &m.keys, &o.keys)))
                };
                match clusters.iter_mut().find(|c| fits(c)) {
                    Some(c) => c.push(m),
                    None => clusters.push(vec![m]),
                }
            }
            for c in clusters.into_iter().filter(|c| c.len() > 1) {
                let ids: Vec<String> = c.iter().map(|r| r.id.clone()).collect();
                if offered.insert(ids) {
                    out.push(DuplicateGroup {
                        field,
                        key: key.clone(),
                        term: term.label(),
                        records: c.into_iter().cloned().collect(),
                    });
                }
            }
        }
    }
    out
}

/// One page of duplicate groups from the rows of the duplicates statement read for `limit + 1`
/// `(field, key)` groups: the groups of the first `limit`, and the cursor after the last of them
/// when the extra one came (the page ends before it).
pub fn page_groups(rule: &MatchRule, mut rows: Vec<DuplicateRow>, limit: usize) -> (Vec<DuplicateGroup>, Option<String>) {
    let mut seen: Vec<(MatchField, &str)> = Vec::new();
    for r in &rows {
        let g = (r.group_field, r.group_key.as_str());
        if seen.last() != Some(&g) {
            seen.push(g);
        }
    }
    let next = match seen.get(limit.saturating_sub(1)) {
        Some(&(field, key)) if seen.len() > limit => {
            let (field, key) = (field.name(), key.to_string());
            rows.retain(|r| (r.group_field.name(), r.group_key.as_str()) <= (field, key.as_str()));
            Some(encode_group_cursor(field, &key))
        }
        _ => None,
    };
    (group_duplicates(rule, &rows), next)
}

/// The group a page's `cursor` parameter names: none for the first page, `400` for a cursor this
/// API did not hand out.
pub fn cursor_param(query: &[(String, String)]) -> Result<(String, String), ApiError> {
    match query.iter().rev().find(|(k, _)| k == "cursor").map(|(_, v)| v.as_str()).filter(|c| !c.is_empty()) {
        None => Ok((String::new(), String::new())),
        Some(c) => decode_group_cursor(c).ok_or_else(|| ApiError::bad_request("cursor is not a cursor this API returned")),
    }
}

/// The anchor fields of the rule's terms: the fields the duplicates statement groups by.
pub fn duplicate_fields(rule: &MatchRule) -> Vec<&'static str> {
    let fields: BTreeSet<MatchField> = rule.terms().iter().map(anchor).collect();
    fields.into_iter().map(|f| f.name()).collect()
}

/// The cursor after a group of `GET /{kind}/duplicates`: its field and key, base64url-encoded
/// so clients treat it as opaque.
pub fn encode_group_cursor(field: &str, key: &str) -> String {
    super::base64::encode(format!("{field}|{key}").as_bytes(), super::base64::URL_SAFE, false)
}

/// The group a cursor names; `None` for anything this API did not hand out.
pub fn decode_group_cursor(cursor: &str) -> Option<(String, String)> {
    if cursor.len() > 2048 {
        return None;
    }
    let text = String::from_utf8(super::base64::decode(cursor, super::base64::URL_SAFE)?).ok()?;
    let (field, key) = text.split_once('|')?;
    MatchField::from_name(field)?;
    Some((field.to_string(), key.to_string()))
}

/// A checked merge body.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeRequest {
    pub survivor: String,
    pub merged: Vec<String>,
    /// field -> the record whose value the survivor takes.
    pub sources: Vec<(String, String)>,
}

fn bad(message: String) -> ApiError {
    ApiError::bad_request(message)
}

impl MergeRequest {
    /// `{"survivorId", "mergedIds": [...], "fields"?: {field: sourceId}}`. Every problem is a
    /// `400` naming its cause: a missing or non-text id, no or more than 50 merged ids, an id
    /// repeated, the survivor among the merged, an id of the other kind, a field source that is
    /// not one of the records.
    pub fn parse(kind: RecordKind, body: &Value) -> Result<MergeRequest, ApiError> {
        let obj = body.as_object().ok_or_else(|| bad("the body must be an object with survivorId and mergedIds".into()))?;
        if let Some(extra) = obj.keys().find(|k| !["survivorId", "mergedIds", "fields"].contains(&k.as_str())) {
            return Err(bad(format!("{extra} is not a field of a merge (survivorId, mergedIds, fields)")));
        }
        let survivor = obj.get("survivorId").and_then(Value::as_str).filter(|s| !s.is_empty())
            .ok_or_else(|| bad("survivorId is required: the crmId of the record that stays".into()))?.to_string();
        let list = obj.get("mergedIds").and_then(Value::as_array)
            .ok_or_else(|| bad("mergedIds is required: a list of the crmIds merged into the survivor".into()))?;
        if list.is_empty() {
            return Err(bad("mergedIds is empty: name at least one record to merge".into()));
        }
        if list.len() > MAX_MERGED {
            return Err(bad(format!("mergedIds has {} ids; one merge takes at most {MAX_MERGED}", list.len())));
        }
        let mut merged = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            let id = v.as_str().filter(|s| !s.is_empty()).ok_or_else(|| bad(format!("mergedIds[{i}] must be a crmId (text)")))?;
            if id == survivor {
                return Err(bad(format!("mergedIds[{i}] is the survivor {id}: a record cannot be merged into itself")));
            }
            if merged.iter().any(|m| m == id) {
                return Err(bad(format!("mergedIds[{i}] repeats {id}")));
            }
            merged.push(id.to_string());
        }
        let other = match kind {
            RecordKind::Contact => RecordKind::Company,
            RecordKind::Company => RecordKind::Contact,
        };
        for id in std::iter::once(&survivor).chain(&merged) {
            if id.starts_with(&format!("{}_", other.id_kind().prefix())) {
                return Err(bad(format!(
                    "{id} is a {} id: a merge takes ids of one kind, {}",
                    other.noun().to_lowercase(),
                    kind.collection()
                )));
            }
        }
        let mut sources = Vec::new();
        match obj.get("fields") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (field, source) in map {
                    let source = source.as_str().ok_or_else(|| bad(format!("fields.{field} must be the crmId the value is taken from")))?;
                    if source != survivor && !merged.iter().any(|m| m == source) {
                        return Err(bad(format!("fields.{field} names {source}, which is not one of the merged records or the survivor")));
                    }
                    if field == "externalId" || field.is_empty() {
                        return Err(bad(format!("fields.{field}: externalIds all move to the survivor; choose a field")));
                    }
                    sources.push((field.clone(), source.to_string()));
                }
            }
            Some(_) => return Err(bad("fields must be an object mapping a field to the crmId its value is taken from".into())),
        }
        Ok(MergeRequest { survivor, merged, sources })
    }

    /// Every id the merge names, survivor first.
    pub fn ids(&self) -> Vec<String> {
        std::iter::once(self.survivor.clone()).chain(self.merged.iter().cloned()).collect()
    }
}

/// A loaded record of a merge: the row (links in `associations`) and where it was merged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MergeRow {
    pub row: RecordRow,
    pub merged_into: Option<String>,
}

/// What a merge writes.
#[derive(Debug, Clone, PartialEq)]
pub struct MergePlan {
    pub survivor: RecordChange,
    pub merged: Vec<String>,
    /// `[{id, base}]` of every record the merge read: the write fails when one changed since.
    pub bases: Vec<Value>,
    /// The externalId the survivor takes when it had none: the first merged record's.
    pub external_link: Option<String>,
    /// Every participant's keys before, and the survivor's after (the match cache forgets them).
    pub touched: Vec<KeySet>,
    /// Every participant's externalIds.
    pub external_ids: Vec<String>,
}

/// Checks the request against the loaded records and plans the merge: `400` for an unknown or
/// deleted id, `409` for one already merged (by another request, maybe a concurrent one).
pub fn plan_merge(kind: RecordKind, req: &MergeRequest, loaded: &[MergeRow]) -> Result<MergePlan, ApiError> {
    let by_id: HashMap<&str, &MergeRow> = loaded.iter().map(|r| (r.row.id.as_str(), r)).collect();
    let mut rows = Vec::new();
    for id in req.ids() {
        let Some(r) = by_id.get(id.as_str()) else {
            return Err(bad(format!("{id} is not a stored {} (unknown id)", kind.noun().to_lowercase())));
        };
        if let Some(into) = &r.merged_into {
            return Err(ApiError::Conflict(format!("{id} was already merged into {into}; merge into {into} or retry with fresh ids")));
        }
        if r.row.deleted_at.is_some() {
            return Err(bad(format!("{id} is deleted: only live records merge")));
        }
        rows.push(*r);
    }
    let survivor = &rows[0].row;
    let merged: Vec<&RecordRow> = rows[1..].iter().map(|r| &r.row).collect();
    let source = |id: &str| rows.iter().map(|r| &r.row).find(|r| r.id == id).expect("a source is a participant");

    let mut fields = survivor.fields.clone();
    let mut properties = survivor.properties.clone();
    let chosen: HashSet<&str> = req.sources.iter().map(|(f, _)| f.as_str()).collect();
    for (field, from) in &req.sources {
        let from = source(from);
        let (target, value) = if kind.is_core(field) {
            (&mut fields, from.fields.get(field))
        } else {
            let name = field.strip_prefix("properties.").unwrap_or(field);
            (&mut properties, from.properties.get(name))
        };
        let name = if kind.is_core(field) { field.as_str() } else { field.strip_prefix("properties.").unwrap_or(field) };
        match value.filter(|v| !v.is_null()) {
            Some(v) => target.insert(name.to_string(), v.clone()),
            None => target.remove(name),
        };
    }
    for m in &merged {
        for (name, value) in &m.fields {
            if !chosen.contains(name.as_str()) && is_empty(fields.get(name)) && !is_empty(Some(value)) {
                fields.insert(name.clone(), value.clone());
            }
        }
        for (name, value) in &m.properties {
            let path = format!("properties.{name}");
            if !chosen.contains(path.as_str()) && !chosen.contains(name.as_str()) && is_empty(properties.get(name)) && !is_empty(Some(value)) {
                properties.insert(name.clone(), value.clone());
            }
        }
    }
    // A company is never its own parent, nor a child of a record merged into it.
    let participants: HashSet<&str> = rows.iter().map(|r| r.row.id.as_str()).collect();
    if fields.get("parentCrmId").and_then(Value::as_str).is_some_and(|p| participants.contains(p)) {
        fields.remove("parentCrmId");
    }

    let mut changes = Vec::new();
    let names: BTreeSet<&String> = survivor.fields.keys().chain(fields.keys()).collect();
    for name in names {
        let (old, new) = (survivor.fields.get(name).filter(|v| !v.is_null()), fields.get(name).filter(|v| !v.is_null()));
        if old != new {
            changes.push(Change { field: name.clone(), old: old.cloned(), new: new.cloned(), sent: None });
        }
    }
    let names: BTreeSet<&String> = survivor.properties.keys().chain(properties.keys()).collect();
    for name in names {
        let (old, new) = (survivor.properties.get(name).filter(|v| !v.is_null()), properties.get(name).filter(|v| !v.is_null()));
        if old != new {
            changes.push(Change { field: format!("properties.{name}"), old: old.cloned(), new: new.cloned(), sent: None });
        }
    }
    let last_activity = rows.iter().filter_map(|r| r.row.last_activity_at.clone()).max();
    // The survivor's last activity date moves to the newest of all: in history, so an undo can
    // tell what it was.
    if last_activity.is_some() && last_activity > survivor.last_activity_at {
        changes.push(Change {
            field: LAST_ACTIVITY.to_string(),
            old: survivor.last_activity_at.clone().map(Value::String),
            new: last_activity.clone().map(Value::String),
            sent: None,
        });
    }
    let write = RecordWrite::of(kind, survivor.id.clone(), survivor.external_id.clone(), fields, properties).with_last_activity(last_activity);

    let external_link = match &survivor.external_id {
        Some(_) => None,
        None => merged.iter().find_map(|m| m.external_id.clone()),
    };
    let mut touched: Vec<KeySet> = rows.iter().map(|r| KeySet::of(kind, &r.row.fields)).collect();
    touched.push(KeySet::new(write.keys.iter().filter_map(|(f, k)| Some((MatchField::from_name(f)?, k.clone())))));
    Ok(MergePlan {
        bases: rows.iter().map(|r| json!({"id": r.row.id, "base": r.row.updated_at})).collect(),
        survivor: RecordChange { record: write, base: survivor.updated_at.clone(), changes, rekey: true, relist: true },
        merged: req.merged.clone(),
        external_link,
        touched,
        external_ids: rows.iter().filter_map(|r| r.row.external_id.clone()).collect(),
    })
}

/// The merge's answer.
pub fn answer_merge(plan: &MergePlan, merge_id: &str, record: Value) -> Value {
    let updated: Vec<&str> = plan.survivor.changes.iter().map(|c| c.field.as_str()).collect();
    json!({"mergeId": merge_id, "crmId": plan.survivor.record.id, "mergedIds": plan.merged, "updatedFields": updated, "record": record})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(id: &str, fields: Value) -> DuplicateRow {
        let fields = fields.as_object().unwrap().clone();
        DuplicateRow {
            group_field: MatchField::Company,
            group_key: "acme".into(),
            id: id.into(),
            external_id: None,
            name: id.into(),
            keys: KeySet::of(RecordKind::Contact, &fields),
            fields,
            updated_at: "t".into(),
        }
    }

    fn ids(g: &DuplicateGroup) -> Vec<&str> {
        g.records.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn a_weak_term_never_groups_records_with_different_strong_keys() {
        let rule = MatchRule::parse(RecordKind::Contact, "linkedinUrl | (firstName & lastName & company)").unwrap();
        let john = |id: &str, li: Option<&str>| {
            let mut f = json!({"firstName": "John", "lastName": "Smith", "company": "Acme"});
            if let Some(li) = li {
                f["linkedinUrl"] = json!(li);
            }
            contact(id, f)
        };
        let rows = vec![
            john("ct_a", Some("https://linkedin.com/in/john-smith-1")),
            john("ct_b", Some("https://linkedin.com/in/john-smith-2")),
            john("ct_c", None),
        ];
        let groups = group_duplicates(&rule, &rows);
        assert_eq!(groups.len(), 1, "{groups:?}");
        assert_eq!(ids(&groups[0]), ["ct_a", "ct_c"]);
        assert_eq!(groups[0].term, "firstName&lastName&company");
        assert_eq!(groups[0].to_json()["field"], "company");
        // Every field of the term must agree: another John at Acme is no duplicate of Jane.
        let rows = vec![john("ct_a", None), contact("ct_d", json!({"firstName": "Jane", "lastName": "Smith", "company": "Acme"}))];
        assert!(group_duplicates(&rule, &rows).is_empty());
    }

    #[test]
    fn a_strong_term_groups_and_a_set_is_offered_once() {
        let rule = MatchRule::parse(RecordKind::Contact, "email | linkedinUrl").unwrap();
        let mut rows = Vec::new();
        for (field, key) in [(MatchField::Email, "a@x.com"), (MatchField::LinkedinUrl, "in/a")] {
            for id in ["ct_1", "ct_2"] {
                let mut r = contact(id, json!({"email": "a@x.com", "linkedinUrl": "https://linkedin.com/in/a"}));
                r.group_field = field;
                r.group_key = key.into();
                rows.push(r);
            }
        }
        let groups = group_duplicates(&rule, &rows);
        assert_eq!(groups.len(), 1);
        assert_eq!((groups[0].field, groups[0].term.as_str()), (MatchField::Email, "email"));
        let mut fields = duplicate_fields(&rule);
        fields.sort();
        assert_eq!(fields, ["email", "linkedinUrl"]);
    }

    #[test]
    fn a_page_of_groups_ends_before_the_extra_group_and_names_it_by_cursor() {
        let rule = MatchRule::parse(RecordKind::Contact, "email").unwrap();
        let member = |key: &str, id: &str| {
            let mut r = contact(id, json!({"email": format!("{key}@x.com")}));
            r.group_field = MatchField::Email;
            r.group_key = format!("{key}@x.com");
            r
        };
        let rows = vec![member("a", "ct_1"), member("a", "ct_2"), member("b", "ct_3"), member("b", "ct_4"), member("c", "ct_5"), member("c", "ct_6")];
        let (groups, next) = page_groups(&rule, rows.clone(), 2);
        assert_eq!(groups.len(), 2);
        assert_eq!(ids(&groups[1]), ["ct_3", "ct_4"]);
        assert_eq!(decode_group_cursor(next.as_deref().unwrap()), Some(("email".into(), "b@x.com".into())));
        let (groups, next) = page_groups(&rule, rows, 3);
        assert_eq!((groups.len(), next), (3, None), "no extra group came: the last page");
        let q = |c: &str| vec![("cursor".to_string(), c.to_string())];
        assert_eq!(cursor_param(&q(&encode_group_cursor("email", "b@x.com"))).unwrap(), ("email".into(), "b@x.com".into()));
        assert_eq!(cursor_param(&[]).unwrap(), (String::new(), String::new()));
        assert_eq!(cursor_param(&q("nope")).unwrap_err().status(), 400);
    }

    #[test]
    fn a_group_cursor_round_trips_and_refuses_strangers() {
        let c = encode_group_cursor("name", "acme|x");
        assert_eq!(decode_group_cursor(&c), Some(("name".into(), "acme|x".into())));
        assert_eq!(decode_group_cursor("%%%"), None);
        assert_eq!(decode_group_cursor(&encode_group_cursor("nope", "k")), None);
    }

    fn req(body: Value) -> Result<MergeRequest, ApiError> {
        MergeRequest::parse(RecordKind::Contact, &body)
    }

    fn message(e: ApiError) -> (u16, String) {
        (e.status(), e.message("r"))
    }

    #[test]
    fn bad_merge_bodies_are_400_naming_the_cause() {
        let (s, m) = message(req(json!({"survivorId": "ct_1", "mergedIds": ["ct_2", "ct_1"]})).unwrap_err());
        assert_eq!(s, 400);
        assert!(m.contains("into itself"), "{m}");
        let many: Vec<String> = (0..51).map(|i| format!("ct_{i}x")).collect();
        let (_, m) = message(req(json!({"survivorId": "ct_1", "mergedIds": many})).unwrap_err());
        assert!(m.contains("at most 50"), "{m}");
        let (_, m) = message(req(json!({"survivorId": "ct_1", "mergedIds": ["co_2"]})).unwrap_err());
        assert!(m.contains("co_2 is a company id"), "{m}");
        let (_, m) = message(req(json!({"survivorId": "ct_1", "mergedIds": ["ct_2"], "fields": {"email": "ct_9"}})).unwrap_err());
        assert!(m.contains("ct_9"), "{m}");
        let (_, m) = message(req(json!({"survivorId": "ct_1", "mergedIds": []})).unwrap_err());
        assert!(m.contains("empty"), "{m}");
        assert!(req(json!({"survivorId": "ct_1", "mergedIds": ["ct_2", "ct_2"]})).is_err());
        let ok = req(json!({"survivorId": "ct_1", "mergedIds": ["ct_2"], "fields": {"email": "ct_2"}})).unwrap();
        assert_eq!(ok.ids(), ["ct_1", "ct_2"]);
    }

    fn row(id: &str, fields: Value, links: Value) -> MergeRow {
        MergeRow {
            row: RecordRow {
                id: id.into(),
                fields: fields.as_object().unwrap().clone(),
                updated_at: format!("t-{id}"),
                associations: links.as_array().cloned(),
                ..Default::default()
            },
            merged_into: None,
        }
    }

    #[test]
    fn a_merge_fills_empty_fields_takes_chosen_sources_and_moves_links() {
        let loaded = vec![
            row("ct_1", json!({"firstName": "Ann", "email": "ann@old.com"}), json!([{"companyId": "co_1", "primary": false}])),
            row("ct_2", json!({"firstName": "Annie", "jobTitle": "CTO", "email": "ann@new.com"}), json!([{"companyId": "co_2", "primary": true}])),
            row("ct_3", json!({"phone": "+34 600 000 000"}), json!([{"companyId": "co_1", "primary": false}])),
        ];
        let r = req(json!({"survivorId": "ct_1", "mergedIds": ["ct_2", "ct_3"], "fields": {"email": "ct_2"}})).unwrap();
        let plan = plan_merge(RecordKind::Contact, &r, &loaded).unwrap();
        let f = &plan.survivor.record.fields;
        assert_eq!((f["firstName"].as_str(), f["jobTitle"].as_str(), f["email"].as_str()), (Some("Ann"), Some("CTO"), Some("ann@new.com")));
        assert_eq!(f["phone"], "+34 600 000 000");
        let changed: Vec<&str> = plan.survivor.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(changed, ["email", "jobTitle", "phone"]);
        assert_eq!(plan.survivor.base, "t-ct_1");
        assert_eq!(plan.bases.len(), 3);
        // Links move in SQL, set-based (tests/schema.rs runs those statements with data).
        let answer = answer_merge(&plan, "mg_1", json!({}));
        assert_eq!((answer["mergedIds"].clone(), answer["mergeId"].clone()), (json!(["ct_2", "ct_3"]), json!("mg_1")));
    }

    #[test]
    fn the_survivor_takes_the_newest_last_activity_date_in_history() {
        let mut a = row("ct_1", json!({}), json!([]));
        a.row.last_activity_at = Some("2024-01-01T00:00:00.000Z".into());
        let mut b = row("ct_2", json!({}), json!([]));
        b.row.last_activity_at = Some("2024-06-01T00:00:00.000Z".into());
        let r = req(json!({"survivorId": "ct_1", "mergedIds": ["ct_2"]})).unwrap();
        let plan = plan_merge(RecordKind::Contact, &r, &[a.clone(), b.clone()]).unwrap();
        let change = plan.survivor.changes.iter().find(|c| c.field == LAST_ACTIVITY).unwrap();
        assert_eq!((change.old.clone(), change.new.clone()), (Some(json!("2024-01-01T00:00:00.000Z")), Some(json!("2024-06-01T00:00:00.000Z"))));
        // The survivor's own date is the newest: nothing changes.
        let r = req(json!({"survivorId": "ct_2", "mergedIds": ["ct_1"]})).unwrap();
        let plan = plan_merge(RecordKind::Contact, &r, &[a, b]).unwrap();
        assert!(plan.survivor.changes.iter().all(|c| c.field != LAST_ACTIVITY));
    }

    #[test]
    fn a_company_is_never_its_own_parent() {
        let loaded = vec![row("co_1", json!({"parentCrmId": "co_2"}), json!([])), row("co_2", json!({"name": "Acme"}), json!([]))];
        let r = MergeRequest::parse(RecordKind::Company, &json!({"survivorId": "co_1", "mergedIds": ["co_2"]})).unwrap();
        let plan = plan_merge(RecordKind::Company, &r, &loaded).unwrap();
        assert_eq!(plan.survivor.record.parent_id, None);
        assert_eq!(plan.survivor.record.fields.get("name"), Some(&json!("Acme")));
    }

    #[test]
    fn unknown_and_deleted_ids_are_400_and_merged_ones_409() {
        let r = req(json!({"survivorId": "ct_1", "mergedIds": ["ct_2"]})).unwrap();
        let one = vec![row("ct_1", json!({}), json!([]))];
        let (s, m) = message(plan_merge(RecordKind::Contact, &r, &one).unwrap_err());
        assert_eq!(s, 400);
        assert!(m.contains("ct_2") && m.contains("unknown"), "{m}");
        let mut gone = row("ct_2", json!({}), json!([]));
        gone.row.deleted_at = Some("t".into());
        let (s, m) = message(plan_merge(RecordKind::Contact, &r, &[one[0].clone(), gone.clone()]).unwrap_err());
        assert_eq!(s, 400);
        assert!(m.contains("deleted"), "{m}");
        gone.merged_into = Some("ct_9".into());
        let (s, m) = message(plan_merge(RecordKind::Contact, &r, &[one[0].clone(), gone]).unwrap_err());
        assert_eq!(s, 409);
        assert!(m.contains("ct_9"), "{m}");
    }
}
