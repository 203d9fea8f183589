//! What the task, activity and user routes share (API.md §7, §8), wire-compatible with Enginy's
//! reference server: a body that is one object answers that object (or `400`), and the batch form
//! `{"<key>": [...]}` answers `{results, errors}` with each item's own failure; the contacts,
//! companies and owners a request names are checked in one read; and an entity's history.

use serde_json::{json, Value};

use super::context::{HandlerResult, Items};
use super::{respond, Ctx};
use crate::domain::chunk::{item_size, oversized, plan_chunks, AnswerText, WORK_CHUNKS};
use crate::domain::error::{ApiError, Detail};
use crate::domain::feed::{parse_limit, DEFAULT_LIMIT, MAX_LIMIT};
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::request::{batch_items, json_type, lazy_item};
use crate::domain::error::ItemError;
use crate::domain::refs::{Known, RefFields, Refs};


/// The items of a one-or-batch body, and whether it was the batch form (`{"<key>": [...]}`).
pub fn items<'a>(ctx: &'a Ctx<'_>, key: &str) -> Result<(bool, Vec<&'a Value>), ApiError> {
    let body = ctx.body();
    if !body.is_object() {
        return Err(ApiError::invalid(
            format!("request body must be an object, or an object with a {key:?} array"),
            vec![Detail::new("", format!("expected an object, got {}", json_type(body)))],
        ));
    }
    if body.get(key).is_some() {
        return Ok((true, batch_items(body, key, ctx.config.max_batch)?.iter().collect()));
    }
    Ok((false, vec![body]))
}

fn item_error(index: usize, e: &ItemError) -> Value {
    Value::Object(e.located([("index", json!(index))]))
}

/// The answer of a one-or-batch route from each item's outcome: the object (or `400`) for the
/// single form, `{results, errors}` for the batch form. `stored(i)` is what item `i` became.
pub fn answer(
    noun: &str,
    batch: bool,
    outcomes: Vec<Result<(), ItemError>>,
    stored: impl Fn(usize) -> Option<Value>,
) -> HandlerResult {
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Err(e) if !batch => return Err(e.into_api_error(noun)),
            Err(e) => errors.push(item_error(i, &e)),
            Ok(()) => results.push(stored(i).ok_or_else(|| ApiError::Internal(format!("written {noun} not read back")))?),
        }
    }
    if !batch {
        return respond::json(&results.pop().ok_or_else(|| ApiError::Internal(format!("no {noun}")))?, 200);
    }
    respond::json(&json!({ "results": results, "errors": errors }), 200)
}

/// Runs `part` on each chunk of the items (see `domain::chunk`: a batch too large for one D1
/// statement is served in chunks, each committing on its own) and answers every item's outcome
/// in request order: what it became, or its error. An item too large to store fails alone.
pub async fn each_in_chunks<'a>(
    items: &[&'a Value],
    mut part: impl AsyncFnMut(&[&'a Value]) -> Result<Vec<Result<Value, ItemError>>, ApiError>,
) -> Result<Vec<Result<Value, ItemError>>, ApiError> {
    let sizes: Vec<usize> = items.iter().map(|i| item_size(i)).collect();
    let mut each = Vec::with_capacity(items.len());
    for range in plan_chunks(&sizes, WORK_CHUNKS) {
        let fit: Vec<&Value> = range.clone().filter(|&i| oversized(sizes[i], WORK_CHUNKS).is_none()).map(|i| items[i]).collect();
        let mut done = if fit.is_empty() { Vec::new() } else { part(&fit).await? }.into_iter();
        for i in range {
            each.push(match oversized(sizes[i], WORK_CHUNKS) {
                Some(e) => Err(e),
                None => done.next().ok_or_else(|| ApiError::Internal("a chunk answered fewer items than it was given".into()))?,
            });
        }
    }
    Ok(each)
}

/// A one-or-batch create (tasks, activities): `part` writes the items of one chunk (told whether
/// the body was the batch form) and answers each one's outcome. The single form answers as
/// [`answer`] does. The batch form, which may be 10,000 items in 10 MiB, is never held whole: a
/// large body's items are parsed a chunk at a time from its bytes, and each chunk's answer is
/// written out as text when it is done (`AnswerText`), so the answer exists once, as the response.
pub async fn create_each(
    ctx: &Ctx<'_>,
    key: &str,
    noun: &str,
    mut part: impl AsyncFnMut(&[&Value], bool) -> Result<Vec<Result<Value, ItemError>>, ApiError>,
) -> HandlerResult {
    if ctx.body.as_ref().is_some_and(|body| body.get(key).is_none()) {
        let (batch, items) = items(ctx, key)?;
        let each = each_in_chunks(&items, async |chunk| part(chunk, batch).await).await?;
        return answer_each(noun, batch, each);
    }
    let (values, mut lazy, sizes): (&[Value], _, Vec<usize>) = match ctx.batch(key)? {
        Items::Values(values) => (values, None, values.iter().map(item_size).collect()),
        Items::Lazy(bytes, batch) => (&[], Some((bytes, batch.items)), batch.sizes),
    };
    let mut answer = AnswerText::default();
    let chunks = plan_chunks(&sizes, WORK_CHUNKS);
    if chunks.is_empty() {
        answer.push(0, json!({"results": [], "errors": []}));
    }
    let last = chunks.len();
    for (n, range) in chunks.into_iter().enumerate() {
        let parsed: Vec<Value> = match &lazy {
            Some((bytes, at)) => at[range.clone()].iter().map(|at| lazy_item(bytes, at)).collect(),
            None => Vec::new(),
        };
        if n + 1 == last {
            // Every item is parsed: the body's bytes go before the last chunk and the answer.
            lazy = None;
        }
        let chunk: Vec<&Value> = match parsed.is_empty() {
            true => values[range.clone()].iter().collect(),
            false => parsed.iter().collect(),
        };
        let fit: Vec<&Value> = range.clone().zip(&chunk).filter(|(i, _)| oversized(sizes[*i], WORK_CHUNKS).is_none()).map(|(_, v)| *v).collect();
        let mut done = if fit.is_empty() { Vec::new() } else { part(&fit, true).await? }.into_iter();
        let (mut results, mut errors) = (Vec::new(), Vec::new());
        for i in range {
            let outcome = match oversized(sizes[i], WORK_CHUNKS) {
                Some(e) => Err(e),
                None => done.next().ok_or_else(|| ApiError::Internal("a chunk answered fewer items than it was given".into()))?,
            };
            match outcome {
                Ok(stored) => results.push(stored),
                Err(e) => errors.push(item_error(i, &e)),
            }
        }
        // Indexes are the request's already (offset 0); `errors` is always there, as in [`answer`].
        answer.push(0, json!({"results": results, "errors": errors}));
    }
    drop(lazy);
    respond::json_text(answer.finish(), 200)
}

/// Each item's outcome with what it became (`stored(i)`), for [`each_in_chunks`].
pub fn stored_each(
    noun: &str,
    outcomes: Vec<Result<(), ItemError>>,
    stored: impl Fn(usize) -> Option<Value>,
) -> Result<Vec<Result<Value, ItemError>>, ApiError> {
    outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| match o {
            Ok(()) => stored(i).map(Ok).ok_or_else(|| ApiError::Internal(format!("written {noun} not read back"))),
            Err(e) => Ok(Err(e)),
        })
        .collect()
}

/// The answer of a one-or-batch route from each item's outcome (see [`answer`]).
pub fn answer_each(noun: &str, batch: bool, each: Vec<Result<Value, ItemError>>) -> HandlerResult {
    let outcomes = each.iter().map(|r| r.as_ref().map(|_| ()).map_err(Clone::clone)).collect();
    answer(noun, batch, outcomes, |i| each[i].as_ref().ok().cloned())
}

/// Each parsed item, checked against the contacts, companies and owners that exist now: an item
/// that names something unknown becomes its `not_found` error, and one that names a merged
/// contact or company names its survivor instead (`acting`). One statement for the batch.
pub async fn check_refs<'p, T>(
    ctx: &Ctx<'_>,
    parsed: &'p [Result<T, ItemError>],
    refs: impl Fn(&'p T) -> Refs<'p>,
    acting: impl Fn(&T, &Known) -> T,
) -> Result<Vec<Result<T, ItemError>>, ApiError> {
    let named: Vec<Refs> = parsed.iter().flatten().map(&refs).collect();
    let known = ctx.store.references(named).await?;
    Ok(parsed
        .iter()
        .map(|p| match p {
            Ok(item) => known.check(refs(item), RefFields::WORK).map(|()| acting(item, &known)),
            Err(e) => Err(e.clone()),
        })
        .collect())
}


/// `GET /tasks/{id}/history`, `GET /activities/{id}/history`: the entity's changes, newest first,
/// in the shape of a record's history. Every task and activity has its `(created)` entry, so no
/// entry means no such entity (deleted tasks keep theirs).
pub async fn history(ctx: &Ctx<'_>, kind: IdKind, noun: &str, query: &[(String, String)]) -> HandlerResult {
    let id = ctx.params[0];
    let limit = parse_limit(query, DEFAULT_LIMIT, MAX_LIMIT)?;
    // Another kind's id would read that entity's history: refused without a query.
    if !looks_like(kind, id) {
        return Err(ApiError::not_found(noun, id));
    }
    let rows = ctx.store.history(id, f64::MAX, limit).await?;
    if rows.is_empty() {
        return Err(ApiError::not_found(noun, id));
    }
    respond::history(id, &rows)
}
