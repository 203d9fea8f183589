//! An import decided part by part (see the module above): the candidates each part is decided
//! against, each row's outcome, and the counts.
//!
//! Outcomes, from the create planner's:
//! - **created**: the row makes a new record;
//! - **matched**: the row is a record the store already held, by `externalId` or by a term of
//!   the identifier (`matchedBy` names it; `updatedFields` the fields `CREATE_MERGE` fills in,
//!   `keptFields` those whose value it sent and the record keeps its own);
//! - **duplicateInFile**: the row is the record an earlier row of the file creates (same
//!   `externalId`, or matched by the identifier); in a dry run `sameAsRow` names that row;
//! - **ambiguous** (`AMBIGUOUS_MATCH=error`) and **invalid** (the row's error, with its field and
//!   column): nothing is written for the row.
//!
//! A created row is also counted `unidentified` when nothing could recognise its record again:
//! no `externalId`, and no value for any term of the identifier (or `CREATE_DEDUPE` off). A
//! second import of the same file creates such a row again.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{Mapping, Prepared, SAMPLES};
use crate::domain::error::{ItemCode, ItemError};
use crate::domain::plan::{plan_create, CreatePlan, CreateSettings, Created};
use crate::domain::record::{KeySet, NewRecord};
use crate::domain::refs::Known;
use crate::domain::hash::{fnv1a, FNV_OFFSET};
use crate::domain::matching::{MatchField, MatchRule};
use crate::domain::sync::{anchor_fields, lookup_keys, Candidate, CandidatePool, MatchedBy};

/// What became of one row.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A new record (its id; none in a dry run).
    Created { id: Option<String> },
    /// A record the store held, and how it was found: the fields the row fills in on it
    /// (`CREATE_MERGE`), and those whose value the row sent differs from the one it keeps.
    Matched { id: String, by: String, updated: Vec<String>, kept: Vec<String> },
    /// The record of an earlier row of the file (its id, once written; the row, unless an
    /// earlier request created it).
    Duplicate { id: Option<String>, same_as: Option<usize> },
    Ambiguous { error: ItemError, column: Option<String> },
    Invalid { error: ItemError, column: Option<String> },
}

/// One row's outcome, located in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct RowResult {
    pub row: usize,
    pub line: usize,
    pub outcome: Outcome,
}

impl Outcome {
    /// The outcome's name on the wire, which is also its sample list's.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Created { .. } => "created",
            Outcome::Matched { .. } => "matched",
            Outcome::Duplicate { .. } => "duplicateInFile",
            Outcome::Ambiguous { .. } => "ambiguous",
            Outcome::Invalid { .. } => "invalid",
        }
    }

    /// The record the row is, once known.
    pub fn crm_id(&self) -> Option<&str> {
        match self {
            Outcome::Created { id } | Outcome::Duplicate { id, .. } => id.as_deref(),
            Outcome::Matched { id, .. } => Some(id),
            _ => None,
        }
    }
}

impl RowResult {
    /// `{"row", "line", "outcome", "crmId"?, "matchedBy"?, "updatedFields"?, "keptFields"?,
    /// "sameAsRow"?, "error"?, "code"?, "field"?, "column"?}`.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("row".into(), json!(self.row));
        out.insert("line".into(), json!(self.line));
        out.insert("outcome".into(), json!(self.outcome.name()));
        if let Some(id) = self.outcome.crm_id() {
            out.insert("crmId".into(), json!(id));
        }
        match &self.outcome {
            Outcome::Matched { by, updated, kept, .. } => {
                out.insert("matchedBy".into(), json!(by));
                if !updated.is_empty() {
                    out.insert("updatedFields".into(), json!(updated));
                }
                if !kept.is_empty() {
                    out.insert("keptFields".into(), json!(kept));
                }
            }
            Outcome::Duplicate { same_as: Some(row), .. } => {
                out.insert("sameAsRow".into(), json!(row));
            }
            Outcome::Ambiguous { error, column } | Outcome::Invalid { error, column } => {
                out.extend(error.to_json());
                if let Some(column) = column {
                    out.insert("column".into(), json!(column));
                }
            }
            _ => {}
        }
        Value::Object(out)
    }
}

/// The rows matched, by how.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matches {
    pub by_external_id: usize,
    pub by_identifier: usize,
    /// The identifier's matches by the term that matched (`email`, `firstName&lastName&company`).
    pub by_rule: BTreeMap<String, usize>,
}

/// Up to [`SAMPLES`] rows of each outcome, each with the values it carried.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Samples {
    pub created: Vec<Value>,
    pub matched: Vec<Value>,
    pub duplicate_in_file: Vec<Value>,
    pub ambiguous: Vec<Value>,
    pub invalid: Vec<Value>,
}

impl Samples {
    /// The samples with their `values` cut to the fields `keep` names, each text to `max_chars`
    /// characters: what a page shows of them, small enough to keep as a part's answer.
    pub fn trimmed(&self, keep: &[&str], max_chars: usize) -> Samples {
        let trim = |list: &Vec<Value>| -> Vec<Value> {
            list.iter()
                .map(|sample| {
                    let mut sample = sample.clone();
                    if let Some(values) = sample.get_mut("values").and_then(Value::as_object_mut) {
                        values.retain(|k, _| keep.contains(&k.as_str()));
                        for v in values.values_mut() {
                            if let Some(text) = v.as_str().filter(|t| t.chars().count() > max_chars) {
                                *v = Value::String(text.chars().take(max_chars).collect());
                            }
                        }
                    }
                    sample
                })
                .collect()
        };
        Samples {
            created: trim(&self.created),
            matched: trim(&self.matched),
            duplicate_in_file: trim(&self.duplicate_in_file),
            ambiguous: trim(&self.ambiguous),
            invalid: trim(&self.invalid),
        }
    }

    fn list(&mut self, outcome: &Outcome) -> &mut Vec<Value> {
        match outcome {
            Outcome::Created { .. } => &mut self.created,
            Outcome::Matched { .. } => &mut self.matched,
            Outcome::Duplicate { .. } => &mut self.duplicate_in_file,
            Outcome::Ambiguous { .. } => &mut self.ambiguous,
            Outcome::Invalid { .. } => &mut self.invalid,
        }
    }
}

/// The counts of an import so far, and its samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    /// Rows read, blank ones left out.
    pub rows: usize,
    /// Rows with no value in any cell, skipped.
    pub blank: usize,
    pub create: usize,
    #[serde(rename = "match")]
    pub matches: Matches,
    pub ambiguous: usize,
    pub invalid: usize,
    pub duplicate_in_file: usize,
    /// Created rows nothing could recognise again (no externalId, no identifier value).
    pub unidentified: usize,
    pub samples: Samples,
}

impl Tally {
    fn count(&mut self, result: &RowResult, values: Option<&Map<String, Value>>, by_external: bool) {
        self.rows += 1;
        match (&result.outcome, by_external) {
            (Outcome::Created { .. }, _) => self.create += 1,
            (Outcome::Matched { .. }, true) => self.matches.by_external_id += 1,
            (Outcome::Matched { by, .. }, false) => {
                self.matches.by_identifier += 1;
                *self.matches.by_rule.entry(by.clone()).or_default() += 1;
            }
            (Outcome::Duplicate { .. }, _) => self.duplicate_in_file += 1,
            (Outcome::Ambiguous { .. }, _) => self.ambiguous += 1,
            (Outcome::Invalid { .. }, _) => self.invalid += 1,
        }
        let list = self.samples.list(&result.outcome);
        if list.len() < SAMPLES {
            let mut sample = result.to_json();
            if let Some(values) = values {
                sample["values"] = Value::Object(values.clone());
            }
            list.push(sample);
        }
    }

    /// The counts on the wire: `{"rows", "blank", "create", "match": {...}, "ambiguous",
    /// "invalid", "duplicateInFile", "unidentified"}`, with the samples when asked for.
    pub fn to_json(&self, with_samples: bool) -> Value {
        let mut out = serde_json::to_value(self).unwrap_or(Value::Null);
        if !with_samples {
            if let Some(o) = out.as_object_mut() {
                o.remove("samples");
            }
        }
        out
    }
}

/// A record as a dry run remembers it, small (a file of 100,000 rows is previewed in one
/// request): its match keys in one string, its externalIds, and for a stored record the order of
/// the change the import makes to it.
#[derive(Debug)]
struct Shadow {
    /// `field\u{1f}key` pairs joined by `\u{1e}`.
    keys: Box<str>,
    external_ids: Vec<String>,
}

fn pack(keys: &KeySet) -> Box<str> {
    keys.as_slice().iter().map(|(f, k)| format!("{}\u{1f}{k}", f.name())).collect::<Vec<_>>().join("\u{1e}").into_boxed_str()
}

fn unpack(keys: &str) -> KeySet {
    KeySet::new(keys.split('\u{1e}').filter_map(|pair| {
        let (f, k) = pair.split_once('\u{1f}')?;
        Some((MatchField::from_name(f)?, k.to_string()))
    }))
}

/// A record of the overlay: one the import creates (its number), or a stored one it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ref {
    New(u32),
    Stored(u32),
}

/// What the store would hold after the parts a dry run decided so far: the records the import
/// would create (as records of the import itself) and the stored records it would change (merged
/// into, or linked to an externalId: their keys, links and the order of the change; not their
/// other fields). Found as the store finds candidates: by the anchor keys of the identifier and
/// by externalId (by 64-bit hashes: a collision only adds a candidate the planner then rejects).
#[derive(Debug, Default)]
pub struct Overlay {
    new: Vec<Shadow>,
    /// The row that creates each new record.
    new_rows: Vec<usize>,
    stored: Vec<(String, Shadow, u32)>,
    stored_at: HashMap<String, u32>,
    index: HashMap<u64, Vec<Ref>>,
    anchors: Vec<MatchField>,
    writes: u32,
    now: String,
}

fn key_hash(field: MatchField, key: &str) -> u64 {
    fnv1a(FNV_OFFSET, &[b"k", field.name().as_bytes(), b"\x1f", key.as_bytes()])
}

fn external_hash(ext: &str) -> u64 {
    fnv1a(FNV_OFFSET, &[b"x", ext.as_bytes()])
}

/// The id a dry run gives the n-th record it would create (never a CRM id).
fn new_id(n: usize) -> String {
    format!("(new {})", n + 1)
}

fn new_index(id: &str) -> Option<usize> {
    id.strip_prefix("(new ")?.strip_suffix(')')?.parse::<usize>().ok()?.checked_sub(1)
}

impl Overlay {
    fn add(&mut self, r: Ref, keys: &KeySet, external_ids: &[String]) {
        let hashes: Vec<u64> = keys
            .as_slice()
            .iter()
            .filter(|(f, _)| self.anchors.contains(f))
            .map(|(f, k)| key_hash(*f, k))
            .chain(external_ids.iter().map(|e| external_hash(e)))
            .collect();
        for h in hashes {
            let list = self.index.entry(h).or_default();
            if !list.contains(&r) {
                list.push(r);
            }
        }
    }

    fn put_new(&mut self, keys: &KeySet, external_id: Option<&String>) {
        let n = self.new.len() as u32;
        let external_ids: Vec<String> = external_id.into_iter().cloned().collect();
        self.add(Ref::New(n), keys, &external_ids);
        self.new.push(Shadow { keys: pack(keys), external_ids });
    }

    /// A stored record as the import leaves it: these keys and links, changed now.
    fn put_stored(&mut self, id: &str, keys: &KeySet, external_ids: Vec<String>) {
        self.writes += 1;
        let at = match self.stored_at.get(id) {
            Some(&i) => i,
            None => {
                self.stored.push((id.to_string(), Shadow { keys: "".into(), external_ids: Vec::new() }, 0));
                let i = self.stored.len() as u32 - 1;
                self.stored_at.insert(id.to_string(), i);
                i
            }
        };
        self.add(Ref::Stored(at), keys, &external_ids);
        self.stored[at as usize] = (id.to_string(), Shadow { keys: pack(keys), external_ids }, self.writes);
    }

    /// The time a stored record changed by the import's `n`-th write would carry: after every
    /// record the store holds, in the order of the writes.
    fn stamp(&self, n: u32) -> String {
        format!("{}~{n:09}", self.now)
    }

    fn candidate(&self, r: Ref) -> Candidate {
        match r {
            Ref::New(n) => {
                let s = &self.new[n as usize];
                Candidate { id: new_id(n as usize), keys: unpack(&s.keys), external_ids: s.external_ids.clone(), updated_at: None, ..Candidate::default() }
            }
            Ref::Stored(i) => {
                let (id, s, n) = &self.stored[i as usize];
                Candidate { id: id.clone(), keys: unpack(&s.keys), external_ids: s.external_ids.clone(), updated_at: Some(self.stamp(*n)), ..Candidate::default() }
            }
        }
    }

    /// A candidate the store loaded, as the import would have changed it.
    fn apply(&self, mut c: Candidate) -> Candidate {
        if let Some(&i) = self.stored_at.get(&c.id) {
            let (_, s, n) = &self.stored[i as usize];
            c.keys = unpack(&s.keys);
            c.external_ids = s.external_ids.clone();
            c.updated_at = Some(self.stamp(*n));
        }
        c
    }

    /// The records the store would return for these items: those holding one of their lookup
    /// keys, or one of their externalIds.
    fn relevant(&self, rule: &MatchRule, kind: crate::domain::record::RecordKind, items: &[Result<NewRecord, ItemError>]) -> Vec<Ref> {
        let keys: Vec<KeySet> = items.iter().flatten().map(|r| KeySet::of(kind, &r.fields)).collect();
        let hashes = lookup_keys(rule, keys.iter())
            .into_iter()
            .map(|(f, k)| key_hash(f, &k))
            .chain(items.iter().flatten().filter_map(|r| r.external_id.as_deref()).map(external_hash));
        let mut out: Vec<Ref> = hashes.flat_map(|h| self.index.get(&h).into_iter().flatten().copied()).collect();
        out.sort_by_key(|r| match r {
            Ref::New(n) => (0, *n),
            Ref::Stored(i) => (1, *i),
        });
        out.dedup();
        out
    }
}

/// A record this import created, as a create treats a record it is creating: only its keys and
/// externalId count, it is never merged into or linked, and it is the least recently updated.
fn as_own(c: Candidate) -> Candidate {
    Candidate { id: c.id, keys: c.keys, external_ids: c.external_ids, updated_at: None, ..Candidate::default() }
}

/// An import being decided: its settings, what it created, its counts; and in a dry run what the
/// store would hold.
pub struct ImportRun<'c> {
    pub settings: CreateSettings<'c>,
    pub tally: Tally,
    /// Records this import created in this request, with the row that created each.
    created: HashMap<String, usize>,
    /// Records this import created in earlier requests (a page's import runs one part a request).
    earlier: HashSet<String>,
    overlay: Option<Overlay>,
}

impl<'c> ImportRun<'c> {
    /// A run; `dry_run` decides without writing, against what the store holds at `now`.
    pub fn new(settings: CreateSettings<'c>, dry_run: bool, now: &str) -> ImportRun<'c> {
        let overlay = dry_run.then(|| Overlay { now: now.to_string(), anchors: anchor_fields(settings.rule), ..Overlay::default() });
        ImportRun { settings, tally: Tally::default(), created: HashMap::new(), earlier: HashSet::new(), overlay }
    }

    /// A run that continues `tally`, the counts of the import's earlier requests.
    pub fn resume(settings: CreateSettings<'c>, tally: Tally) -> ImportRun<'c> {
        ImportRun { tally, ..ImportRun::new(settings, false, "") }
    }

    pub fn is_dry(&self) -> bool {
        self.overlay.is_some()
    }

    /// The candidates among `loaded` this run does not know to be its own or not: a run that
    /// spans requests asks the store which of them it created earlier ([`Self::learn`]).
    pub fn unknown<'a>(&self, loaded: &'a [Candidate]) -> Vec<&'a str> {
        loaded.iter().map(|c| c.id.as_str()).filter(|id| !self.created.contains_key(*id) && !self.earlier.contains(*id)).collect()
    }

    /// Records this import created in earlier requests, as the store says.
    pub fn learn(&mut self, earlier: impl IntoIterator<Item = String>) {
        self.earlier.extend(earlier);
    }

    /// The candidates a part is decided against, from those the store loaded for it: the records
    /// this import created are its own (see [`as_own`]); in a dry run, the store as the earlier
    /// parts would have left it.
    pub fn adjust(&self, loaded: Vec<Candidate>, items: &[Result<NewRecord, ItemError>]) -> Vec<Candidate> {
        let Some(o) = &self.overlay else {
            return loaded.into_iter().map(|c| if self.created.contains_key(&c.id) || self.earlier.contains(&c.id) { as_own(c) } else { c }).collect();
        };
        let mut out: Vec<Candidate> = loaded.into_iter().map(|c| o.apply(c)).collect();
        let have: HashSet<String> = out.iter().map(|c| c.id.clone()).collect();
        for r in o.relevant(self.settings.rule, self.settings.kind, items) {
            let c = o.candidate(r);
            if !have.contains(&c.id) {
                out.push(c);
            }
        }
        out
    }

    /// A dry run's plan of a part: the create's planner, new records named by placeholders.
    pub fn plan(&mut self, items: &[Result<NewRecord, ItemError>], candidates: Vec<Candidate>, known: &Known) -> CreatePlan {
        let start = self.overlay.as_ref().map_or(0, |o| o.new.len());
        let mut n = start;
        let pool = CandidatePool::new(candidates.clone());
        let plan = plan_create(&self.settings, items, candidates, known, || {
            n += 1;
            new_id(n - 1)
        });
        self.remember(&plan, &pool);
        plan
    }

    /// In a dry run, what the part's plan would write becomes what later parts see.
    fn remember(&mut self, plan: &CreatePlan, pool: &CandidatePool) {
        let kind = self.settings.kind;
        let Some(overlay) = self.overlay.as_mut() else { return };
        for insert in &plan.inserts {
            overlay.put_new(&KeySet::of(kind, &insert.fields), insert.external_id.as_ref());
        }
        let before = |overlay: &Overlay, id: &str| -> Option<(KeySet, Vec<String>)> {
            match overlay.stored_at.get(id) {
                Some(&i) => {
                    let (_, s, _) = &overlay.stored[i as usize];
                    Some((unpack(&s.keys), s.external_ids.clone()))
                }
                None => pool.get(id).map(|c| (c.keys.clone(), c.external_ids.clone())),
            }
        };
        for change in &plan.merges {
            if let Some((_, ext)) = before(overlay, &change.record.id) {
                overlay.put_stored(&change.record.id, &KeySet::of(kind, &change.record.fields), ext);
            }
        }
        for link in &plan.links {
            if let Some((keys, mut ext)) = before(overlay, &link.id) {
                ext.push(link.external_id.clone());
                overlay.put_stored(&link.id, &keys, ext);
            }
        }
    }

    /// The row that created record `id` in this request (or, in a dry run, would create it).
    fn created_row(&self, id: &str) -> Option<usize> {
        match &self.overlay {
            Some(o) => new_index(id).and_then(|i| o.new_rows.get(i).copied()),
            None => self.created.get(id).copied(),
        }
    }

    /// Each row's outcome from a part's plan, counted. `rows` and `items` are the part's, in
    /// order; `resolved` maps a planned new id to the record that holds its externalId after
    /// the write (another request may have created it meanwhile).
    pub fn record(
        &mut self,
        mapping: &Mapping,
        rows: &[Prepared],
        items: &[Result<NewRecord, ItemError>],
        plan: &CreatePlan,
        resolved: &HashMap<String, String>,
    ) -> Vec<RowResult> {
        let dry = self.is_dry();
        let rule = self.settings.rule;
        let mut results = Vec::with_capacity(rows.len());
        for ((row, item), outcome) in rows.iter().zip(items).zip(&plan.outcomes) {
            let sources = row.built.as_ref().map(|b| b.sources.as_slice()).unwrap_or(&[]);
            let column = |e: &ItemError| e.field.as_deref().and_then(|f| mapping.column_of(f, sources)).map(str::to_string);
            let mut by_external = false;
            let outcome = match outcome {
                Err(e) if e.code == ItemCode::Ambiguous => Outcome::Ambiguous { error: e.clone(), column: column(e) },
                Err(e) => Outcome::Invalid { error: e.clone(), column: column(e) },
                Ok(Created::New { id }) => match resolved.get(id) {
                    Some(actual) if actual != id => {
                        by_external = true;
                        Outcome::Matched { id: actual.clone(), by: MatchedBy::ExternalId.label(rule), updated: Vec::new(), kept: Vec::new() }
                    }
                    _ => {
                        match self.overlay.as_mut() {
                            Some(o) => o.new_rows.push(row.number),
                            None => {
                                self.created.insert(id.clone(), row.number);
                            }
                        }
                        if self.unidentified(item) {
                            self.tally.unidentified += 1;
                        }
                        Outcome::Created { id: (!dry).then(|| id.clone()) }
                    }
                },
                Ok(Created::Same { id, by, merged, kept }) => {
                    let id = resolved.get(id).unwrap_or(id);
                    match self.created_row(id) {
                        Some(first) => Outcome::Duplicate { id: (!dry).then(|| id.clone()), same_as: Some(first) },
                        None if self.earlier.contains(id) => Outcome::Duplicate { id: Some(id.clone()), same_as: None },
                        None => {
                            by_external = *by == MatchedBy::ExternalId;
                            Outcome::Matched { id: id.clone(), by: by.label(rule), updated: merged.clone(), kept: kept.clone() }
                        }
                    }
                }
            };
            let result = RowResult { row: row.number, line: row.line, outcome };
            self.tally.count(&result, row.built.as_ref().ok().map(|b| &b.item), by_external);
            results.push(result);
        }
        results
    }

    /// Whether nothing could recognise a created record again.
    fn unidentified(&self, item: &Result<NewRecord, ItemError>) -> bool {
        let Ok(record) = item else { return false };
        if record.external_id.is_some() {
            return false;
        }
        let keys = KeySet::of(self.settings.kind, &record.fields);
        !self.settings.dedupe || lookup_keys(self.settings.rule, std::iter::once(&keys)).is_empty()
    }

    /// Counts the blank rows of a part.
    pub fn blank(&mut self, n: usize) {
        self.tally.blank += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::config::{AmbiguousMatch, CreateMerge, FieldPolicy};
    use crate::domain::import::ImportFile;
    use crate::domain::plan::RecordWrite;
    use crate::domain::record::RecordKind;


    fn settings<'a>(rule: &'a MatchRule, policy: &'a BTreeMap<String, FieldPolicy>) -> CreateSettings<'a> {
        CreateSettings { kind: rule.kind(), rule, dedupe: true, ambiguous: AmbiguousMatch::Pick, merge: CreateMerge::FillEmpty, policy }
    }

    fn stored(id: &str, fields: Value, ext: &[&str]) -> Candidate {
        let fields = fields.as_object().unwrap().clone();
        Candidate {
            id: id.into(),
            keys: KeySet::of(RecordKind::Contact, &fields),
            external_ids: ext.iter().map(|e| e.to_string()).collect(),
            updated_at: Some("2024-01-01T00:00:00.000Z".into()),
            fields,
            ..Candidate::default()
        }
    }

    /// The store of a test: records by id, as a candidate read would load them.
    #[derive(Default, Clone)]
    struct Store(Vec<Candidate>);

    impl Store {
        fn load(&self) -> Vec<Candidate> {
            self.0.clone()
        }

        /// Writes a plan as the store would: new records, merges, links.
        fn write(&mut self, plan: &CreatePlan, at: &str) {
            let fresh = |w: &RecordWrite| Candidate {
                id: w.id.clone(),
                keys: KeySet::of(RecordKind::Contact, &w.fields),
                external_ids: w.external_id.iter().cloned().collect(),
                updated_at: Some(at.to_string()),
                fields: w.fields.clone(),
                properties: w.properties.clone(),
                ..Candidate::default()
            };
            self.0.extend(plan.inserts.iter().map(fresh));
            for m in &plan.merges {
                let c = self.0.iter_mut().find(|c| c.id == m.record.id).unwrap();
                c.fields = m.record.fields.clone();
                c.keys = KeySet::of(RecordKind::Contact, &c.fields);
                c.updated_at = Some(at.to_string());
            }
            for l in &plan.links {
                let c = self.0.iter_mut().find(|c| c.id == l.id).unwrap();
                c.external_ids.push(l.external_id.clone());
                c.updated_at = Some(at.to_string());
            }
        }
    }

    const FILE: &str = "External ID,First Name,Last Name,Email,Company Name,LinkedIn URL\n\
        e1,Ada,Lovelace,ada@acme.test,Acme,\n\
        ,Alan,Turing,,Bletchley,https://www.linkedin.com/in/turing\n\
        e1,Ada,L.,,,\n\
        ,Grace,Hopper,grace@navy.test,Navy,\n\
        ,Alan,Turing,alan@bp.test,Bletchley,https://linkedin.com/in/turing/\n\
        ,Nobody,,,,,surplus\n\
        ,Grace,Hopper,grace@navy.test,,\n\
        ,Only,Name,,,\n\
        e9,Kept,Row,kept@acme.test,Acme,\n";

    const RULE: &str = "email | linkedinUrl | firstName & lastName & company";

    fn grace() -> Store {
        Store(vec![stored("ct_grace", json!({"firstName": "Grace", "lastName": "Hopper", "email": "grace@navy.test"}), &[])])
    }

    /// One run of `text` in parts of `size` rows against `store`, dry (nothing written) or real
    /// (each part written before the next is decided). Answers the results, the counts and the
    /// store afterwards.
    fn import(text: &str, rule: &str, size: usize, store: &Store, dry_run: bool) -> (Vec<RowResult>, Tally, Store) {
        let rule = MatchRule::parse(RecordKind::Contact, rule).unwrap();
        let policy = BTreeMap::new();
        let file = ImportFile::open(RecordKind::Contact, text).unwrap();
        let limits = crate::domain::chunk::ChunkLimits { max_items: size, max_bytes: 1 << 20, max_item_bytes: 1 << 20 };
        let (parts, _) = file.parts(limits);
        let mut run = ImportRun::new(settings(&rule, &policy), dry_run, "2030-01-01T00:00:00.000Z");
        let mut written = store.clone();
        let mut results = Vec::new();
        let mut n = 0;
        for (p, part) in parts.iter().enumerate() {
            let (rows, blank) = file.prepare(part.rows(file.table.delimiter));
            run.blank(blank);
            let items = super::super::parse_rows(RecordKind::Contact, &rows);
            let candidates = run.adjust(written.load(), &items);
            let plan = match dry_run {
                true => run.plan(&items, candidates, &Known::default()),
                false => {
                    let plan = plan_create(&run.settings, &items, candidates, &Known::default(), || {
                        n += 1;
                        format!("ct_{n}")
                    });
                    written.write(&plan, &format!("2030-01-{:02}T00:00:00.000Z", p + 2));
                    plan
                }
            };
            results.extend(run.record(&file.mapping, &rows, &items, &plan, &HashMap::new()));
        }
        (results, run.tally, written)
    }

    fn outcomes(results: &[RowResult]) -> Vec<(usize, &'static str)> {
        results.iter().map(|r| (r.row, r.outcome.name())).collect()
    }

    #[test]
    fn rows_are_created_matched_repeated_or_refused_and_counted() {
        let (dry, dry_tally, _) = import(FILE, RULE, 100, &grace(), true);
        let (real, tally, _) = import(FILE, RULE, 100, &grace(), false);
        assert_eq!(
            outcomes(&real),
            vec![
                (2, "created"),
                (3, "created"),
                (4, "duplicateInFile"),
                (5, "matched"),
                (6, "duplicateInFile"),
                (7, "invalid"),
                (8, "matched"),
                (9, "created"),
                (10, "created"),
            ]
        );
        assert_eq!(outcomes(&dry), outcomes(&real), "the dry run decides what the import does");
        assert_eq!(dry_tally.to_json(false), tally.to_json(false));
        assert_eq!((tally.rows, tally.create, tally.duplicate_in_file, tally.invalid, tally.unidentified), (9, 4, 2, 1, 1));
        assert_eq!(tally.matches, Matches { by_external_id: 0, by_identifier: 2, by_rule: [("email".to_string(), 2)].into() });
        // A duplicate names the row it repeats, and once imported its record.
        assert_eq!((dry[2].to_json()["sameAsRow"].as_u64(), real[2].to_json()["sameAsRow"].as_u64()), (Some(2), Some(2)));
        assert!(dry[0].to_json().get("crmId").is_none(), "a record not yet created has no id");
        assert_eq!(real[2].to_json()["crmId"], "ct_1");
        assert_eq!(real[4].to_json()["crmId"], real[1].to_json()["crmId"], "the same LinkedIn profile, written differently");
        assert_eq!(real[3].to_json()["updatedFields"], json!(["company"]));
        assert!(real[3].to_json().get("keptFields").is_none(), "nothing sent differs from what Grace holds");
        let invalid = real[5].to_json();
        assert!(invalid["error"].as_str().unwrap().contains("7 cells"), "{invalid}");
        assert_eq!(tally.samples.invalid[0]["row"], 7);
        assert_eq!(tally.samples.matched[0]["matchedBy"], "email");
        assert_eq!(tally.samples.created[0]["values"], json!({"externalId": "e1", "firstName": "Ada", "lastName": "Lovelace", "email": "ada@acme.test", "company": "Acme"}));
    }

    #[test]
    fn an_error_names_its_field_and_column() {
        let rule = MatchRule::parse(RecordKind::Company, "domain").unwrap();
        let policy = BTreeMap::new();
        let file = ImportFile::open(RecordKind::Company, "Company name,Number of Employees\nAcme,about forty\n").unwrap();
        let mut run = ImportRun::new(settings(&rule, &policy), true, "2030-01-01T00:00:00.000Z");
        let (rows, _) = file.prepare(file.table.rows());
        let items = super::super::parse_rows(RecordKind::Company, &rows);
        let plan = run.plan(&items, Vec::new(), &Known::default());
        let r = run.record(&file.mapping, &rows, &items, &plan, &HashMap::new())[0].to_json();
        assert_eq!((r["outcome"].as_str(), r["field"].as_str(), r["column"].as_str()), (Some("invalid"), Some("employeeCount"), Some("Number of Employees")), "{r}");
        assert_eq!(r["code"], "invalid");
    }

    #[test]
    fn the_same_file_decides_alike_in_one_part_or_in_many() {
        let (whole, whole_tally, _) = import(FILE, RULE, 100, &grace(), false);
        for size in [1, 2, 3] {
            let (dry, dry_tally, _) = import(FILE, RULE, size, &grace(), true);
            let (real, tally, _) = import(FILE, RULE, size, &grace(), false);
            assert_eq!(outcomes(&real), outcomes(&whole), "parts of {size}");
            assert_eq!(outcomes(&dry), outcomes(&whole), "dry run in parts of {size}");
            assert_eq!(tally.to_json(false), whole_tally.to_json(false), "parts of {size}");
            assert_eq!(dry_tally.to_json(false), whole_tally.to_json(false), "dry run in parts of {size}");
        }
    }

    #[test]
    fn a_second_import_of_the_same_file_creates_nothing_it_can_recognise() {
        let (_, first, written) = import(FILE, RULE, 2, &Store::default(), false);
        let (dry, _, _) = import(FILE, RULE, 2, &written, true);
        let (real, second, _) = import(FILE, RULE, 2, &written, false);
        assert_eq!((first.create, first.unidentified), (5, 1));
        assert_eq!(second.create, first.unidentified, "only the row nothing can recognise is created again");
        assert_eq!(outcomes(&dry), outcomes(&real));
        assert_eq!(second.matches.by_external_id, 3, "rows 2, 4 and 10: {:?}", second.matches);
        assert_eq!(second.duplicate_in_file, 0, "a record of an earlier import is matched, not a duplicate");
    }

    #[test]
    fn a_record_merged_in_an_earlier_part_is_seen_merged_by_a_later_one() {
        // Ada is stored without an email. Row 2 fills it; in a later part row 3 (same name and
        // company, another email) is then vetoed by it: the import creates row 3, and so says
        // its dry run.
        let text = "First Name,Last Name,Company,Email\nAda,Lovelace,Acme,ada@acme.test\nAda,Lovelace,Acme,other@acme.test\n";
        let rule = "email | firstName & lastName & company";
        let store = Store(vec![stored("ct_ada", json!({"firstName": "Ada", "lastName": "Lovelace", "company": "Acme"}), &[])]);
        let (dry, dry_tally, _) = import(text, rule, 1, &store, true);
        let (real, tally, _) = import(text, rule, 1, &store, false);
        assert_eq!(outcomes(&real), vec![(2, "matched"), (3, "created")]);
        assert_eq!(outcomes(&dry), outcomes(&real));
        assert_eq!(dry_tally.to_json(false), tally.to_json(false));
        assert_eq!(dry[0].to_json()["updatedFields"], json!(["email"]));
        assert!(MatchField::Email.is_strong(RecordKind::Contact));
    }

    #[test]
    fn records_of_an_earlier_request_are_this_imports_own() {
        // A page's import runs a part per request: the store names the records it created before.
        let rule = MatchRule::parse(RecordKind::Contact, RULE).unwrap();
        let policy = BTreeMap::new();
        let mut run = ImportRun::resume(settings(&rule, &policy), Tally { rows: 10, create: 10, ..Tally::default() });
        let mine = stored("ct_mine", json!({"email": "a@acme.test"}), &[]);
        let theirs = stored("ct_theirs", json!({"email": "b@acme.test"}), &[]);
        assert_eq!(run.unknown(&[mine.clone(), theirs.clone()]), vec!["ct_mine", "ct_theirs"]);
        run.learn(["ct_mine".to_string()]);
        assert_eq!(run.unknown(&[mine.clone(), theirs.clone()]), vec!["ct_theirs"]);
        let adjusted = run.adjust(vec![mine, theirs], &[]);
        assert!(!adjusted[0].is_stored() && adjusted[0].fields.is_empty() && adjusted[1].is_stored());
        let file = ImportFile::open(RecordKind::Contact, "Email\na@acme.test\n").unwrap();
        let (rows, _) = file.prepare(file.table.rows());
        let items = super::super::parse_rows(RecordKind::Contact, &rows);
        let plan = plan_create(&run.settings, &items, adjusted, &Known::default(), || "ct_x".into());
        let r = run.record(&file.mapping, &rows, &items, &plan, &HashMap::new());
        assert_eq!(r[0].to_json(), json!({"row": 2, "line": 2, "outcome": "duplicateInFile", "crmId": "ct_mine"}));
        assert_eq!((run.tally.rows, run.tally.duplicate_in_file), (11, 1));
    }

    #[test]
    fn the_overlay_keeps_keys_small_and_reads_them_back() {
        let keys = KeySet::of(RecordKind::Contact, json!({"email": "a@b.com", "firstName": "Ana", "company": "Acme, S.L."}).as_object().unwrap());
        assert_eq!(unpack(&pack(&keys)), keys);
        assert_eq!(unpack(""), KeySet::default());
        assert_eq!((new_index(&new_id(0)), new_index(&new_id(41)), new_index("ct_1"), new_index("(new 0)")), (Some(0), Some(41), None, None));
    }

    #[test]
    fn the_tally_reads_back_and_keeps_at_most_a_hundred_samples() {
        let mut tally = Tally::default();
        for row in 0..150 {
            let r = RowResult { row, line: row, outcome: Outcome::Created { id: Some(format!("ct_{row}")) } };
            tally.count(&r, None, false);
        }
        assert_eq!((tally.create, tally.samples.created.len()), (150, SAMPLES));
        let back: Tally = serde_json::from_value(serde_json::to_value(&tally).unwrap()).unwrap();
        assert_eq!(back, tally);
        tally.samples.created[0]["values"] = json!({"name": "x".repeat(500), "description": "long", "domain": "a.com"});
        let cut = tally.samples.trimmed(&["name", "domain"], 120);
        assert_eq!(cut.created[0]["values"], json!({"name": "x".repeat(120), "domain": "a.com"}));
        assert_eq!(cut.created.len(), SAMPLES);
        let wire = tally.to_json(false);
        assert!(wire.get("samples").is_none() && wire["match"]["byIdentifier"] == 0 && wire["duplicateInFile"] == 0, "{wire}");
    }
}
