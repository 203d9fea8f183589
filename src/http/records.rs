//! Contacts and companies: one code path for both kinds. Each handler parses, loads, plans in the
//! pure core (`domain::plan`), writes and answers, in a fixed number of statements per chunk (a
//! batch too large for one D1 statement is served in chunks, see `domain::chunk`).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use super::context::{new_id, now, retry, HandlerResult, Items};
use super::{candidates, respond, Ctx};
use crate::domain::chunk::{item_size, oversized, plan_chunks, AnswerText, RECORD_CHUNKS};
use crate::domain::error::{ApiError, ItemError};
use crate::domain::feed::{encode_cursor, parse_limit, FeedQuery, DEFAULT_LIMIT, MAX_LIMIT};
use crate::domain::list::is_list;
use crate::domain::plan::{
    answer_create, answer_update, plan_create, plan_update, record_refs, to_survivors, update_external_ids, update_ids, update_refs,
    CreatePlan, CreateSettings,
};
use crate::domain::record::{parse_new, parse_update, KeySet, NewRecord, RecordKind};
use crate::domain::refs::Known;
use crate::domain::sync::{Candidate, Links};
use crate::domain::request::{batch_ids, lazy_item, sent};

/// Runs `chunk` on each chunk of the batch in turn (see `domain::chunk`; each commits on its own)
/// with each item's size, and joins the answers in request order. Items still in the body's bytes
/// are parsed a chunk at a time, and each chunk's answer is kept as text once it is done, so
/// neither the whole batch nor the whole answer is ever held as `Value`s.
pub async fn chunked(items: Items<'_>, mut chunk: impl AsyncFnMut(&[Value], &[usize]) -> Result<Value, ApiError>) -> HandlerResult {
    let (values, mut lazy, sizes): (&[Value], _, Vec<usize>) = match items {
        Items::Values(values) => (values, None, values.iter().map(item_size).collect()),
        Items::Lazy(bytes, batch) => (&[], Some((bytes, batch.items)), batch.sizes),
    };
    let mut answer = AnswerText::default();
    let chunks = plan_chunks(&sizes, RECORD_CHUNKS);
    if chunks.is_empty() {
        // An empty batch still gets its answer, in the route's shape.
        answer.push(0, chunk(&[], &[]).await?);
    }
    let last = chunks.len();
    for (n, range) in chunks.into_iter().enumerate() {
        let part: Cow<[Value]> = match &lazy {
            None => Cow::Borrowed(&values[range.clone()]),
            Some((bytes, at)) => Cow::Owned(at[range.clone()].iter().map(|at| lazy_item(bytes, at)).collect()),
        };
        if n + 1 == last {
            // Every item is parsed: the body's bytes go before the last chunk and the answer.
            lazy = None;
        }
        let done = chunk(&part, &sizes[range.clone()]).await?;
        drop(part);
        answer.push(range.start, done);
    }
    drop(lazy);
    respond::json_text(answer.finish(), 200)
}

/// `POST /{kind}`: batch create, idempotent on externalId, deduplicated by the identifier, in
/// chunks. Decided again when the write finds that a reference vanished or another request
/// created a record with the same keys in between.
pub async fn create(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    chunked(ctx.batch(kind.collection())?, async |items, sizes| create_chunk(ctx, kind, items, sizes).await).await
}

/// Each item of a chunk parsed, one too large for a row failing alone.
fn parse_each<T>(items: &[Value], sizes: &[usize], parse: impl Fn(&Value) -> Result<T, ItemError>) -> Vec<Result<T, ItemError>> {
    items
        .iter()
        .zip(sizes)
        .map(|(item, size)| match oversized(*size, RECORD_CHUNKS) {
            Some(e) => Err(e),
            None => parse(item),
        })
        .collect()
}

async fn create_chunk(ctx: &Ctx<'_>, kind: RecordKind, items: &[Value], sizes: &[usize]) -> Result<Value, ApiError> {
    let parsed = parse_each(items, sizes, |item| parse_new(kind, item));
    let (plan, resolved) = create_parsed(ctx, kind, &parsed, ctx.request_id, async |candidates| Ok(candidates)).await?;
    Ok(answer_create(ctx.config.match_rule(kind), &plan, &sent(items, "externalId"), &resolved))
}

/// The owners and parents the items name that exist, and (with dedupe) the stored records they
/// may be: one statement each, none when there is nothing to look up.
pub async fn load_for_create(ctx: &Ctx<'_>, kind: RecordKind, parsed: &[Result<NewRecord, ItemError>]) -> Result<(Known, Vec<Candidate>), ApiError> {
    let known = ctx.store.references(parsed.iter().flatten().map(|r| record_refs(&r.fields))).await?;
    if !ctx.config.create_dedupe {
        return Ok((known, Vec::new()));
    }
    let keys: Vec<(Option<&str>, KeySet)> = parsed.iter().flatten().map(|r| (r.external_id.as_deref(), KeySet::of(kind, &r.fields))).collect();
    let candidates = candidates::load(ctx, kind, keys.iter().map(|(e, k)| (*e, k))).await?;
    Ok((known, candidates))
}

/// The create path of parsed items (one chunk): load, plan, write in one transaction, and decide
/// again when the write finds that a reference vanished or another request created a record with
/// the same keys in between. `own` sees the candidates before the plan (an import marks the
/// records it created itself as its own); `request_id` names the writes in history.
pub async fn create_parsed(
    ctx: &Ctx<'_>,
    kind: RecordKind,
    parsed: &[Result<NewRecord, ItemError>],
    request_id: &str,
    mut own: impl AsyncFnMut(Vec<Candidate>) -> Result<Vec<Candidate>, ApiError>,
) -> Result<(CreatePlan, HashMap<String, String>), ApiError> {
    let settings = CreateSettings::of(&ctx.config, kind);
    retry("records with the same keys are being created by other requests", async || {
        let (known, loaded) = load_for_create(ctx, kind, parsed).await?;
        let candidates = own(loaded).await?;
        // The keys of the stored records a create may link, for the cache to forget them.
        let stored_keys: HashMap<String, KeySet> = candidates.iter().map(|c| (c.id.clone(), c.keys.clone())).collect();
        let plan = plan_create(&settings, parsed, candidates, &known, || new_id(kind.id_kind()).into_string());
        if plan.writes_nothing() {
            return Ok((plan, HashMap::new()));
        }
        let resolved = ctx.store.create(kind, &plan, &now(), request_id).await?;
        let linked = plan.links.iter().filter_map(|l| stored_keys.get(&l.id));
        let external_ids = plan.inserts.iter().filter_map(|w| w.external_id.as_deref()).chain(plan.links.iter().map(|l| l.external_id.as_str()));
        candidates::forget(ctx, kind, plan.touched.iter().chain(linked), external_ids).await;
        Ok((plan, resolved))
    })
    .await
}

/// `PUT /{kind}`: partial batch update under FIELD_POLICY, every change in history, in chunks.
/// Decided again when a record changed between the read and the write.
pub async fn update(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    chunked(ctx.batch(kind.collection())?, async |items, sizes| update_chunk(ctx, kind, items, sizes).await).await
}

async fn update_chunk(ctx: &Ctx<'_>, kind: RecordKind, items: &[Value], sizes: &[usize]) -> Result<Value, ApiError> {
    let parsed = parse_each(items, sizes, |item| parse_update(kind, item));
    let ids = update_ids(&parsed);
    let sent_ids = sent(items, "crmId");

    let (plan, written) = retry("these records are being changed by other requests", async || {
        let mut stored = ctx.store.load(kind, &ids).await?;
        // A crmId of a merged record updates its survivor: resolved (one more statement) only
        // when some id is not a live record, so an ordinary update costs what it did.
        let live: HashSet<&str> = stored.iter().map(|r| r.id.as_str()).collect();
        let missing: Vec<String> = ids.iter().filter(|id| !live.contains(id.as_str())).cloned().collect();
        let survivors: HashMap<String, String> = ctx.store.merged_of(kind, &missing).await?.into_iter().collect();
        let (resolved, resent) = to_survivors(&parsed, &sent_ids, &survivors);
        if !survivors.is_empty() {
            stored = ctx.store.load(kind, &update_ids(&resolved)).await?;
        }
        let parsed = &resolved;
        let known = ctx.store.references(update_refs(parsed)).await?;
        let holders = external_holders(ctx, kind, &update_external_ids(parsed)).await?;
        let plan = plan_update(kind, parsed, &resent, &stored, &ctx.config.field_policy, &known, &holders);
        if plan.writes.is_empty() {
            return Ok((plan, HashMap::new()));
        }
        let written = ctx.store.update(kind, &plan, &plan.refs(&stored), &now(), ctx.request_id).await?;
        // The written records' externalIds: their cached copies hold the old fields.
        let external_ids = stored.iter().filter(|r| written.contains_key(&r.id)).filter_map(|r| r.external_id.as_deref());
        // Their keys before and after, computed only when the cache is in use.
        if ctx.cache().is_some() {
            candidates::forget(ctx, kind, &plan.touched(kind, &stored), external_ids).await;
        }
        Ok((plan, written))
    })
    .await?;
    Ok(answer_update(&plan, &written))
}

/// Which live record holds each of these externalIds (one statement, none when there are none).
async fn external_holders(ctx: &Ctx<'_>, kind: RecordKind, external_ids: &[&str]) -> Result<HashMap<String, String>, ApiError> {
    if external_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let holders = ctx.store.candidates(kind, external_ids, &[], &[], Links::Deciding).await?;
    Ok(holders.into_iter().flat_map(|c| c.external_ids.into_iter().map(move |e| (e, c.id.clone()))).collect())
}

/// `POST /{kind}/batch`: found records in request order, read 1,000 ids a statement, each
/// chunk's records written out as text when read (10,000 records with long fields answer tens of
/// MB: held as `Value`s whole, they outgrew the isolate's memory).
pub async fn batch(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    let ids = batch_ids(ctx.body(), ctx.config.max_batch)?;
    let mut answer = AnswerText::default();
    answer.push(0, json!({ "results": [] }));
    for chunk in ids.chunks(RECORD_CHUNKS.max_items) {
        let rows = ctx.store.by_ids(kind, chunk).await?;
        answer.push(0, json!({ "results": rows.iter().map(|r| r.to_wire(kind)).collect::<Vec<_>>() }));
    }
    respond::json_text(answer.finish(), 200)
}

fn not_found(kind: RecordKind, id: &str) -> ApiError {
    ApiError::not_found(kind.key_kind(), id)
}

/// `GET /{kind}/{id}`: the record with its associations.
pub async fn get(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    let asked = ctx.params[0];
    if let Some(row) = ctx.store.one(kind, asked).await? {
        return respond::json(&row.to_wire(kind), 200);
    }
    // A merged record answers with its survivor, and says so.
    let survivor = survivor_of(ctx, kind, asked).await?.ok_or_else(|| not_found(kind, asked))?;
    let row = ctx.store.one(kind, &survivor).await?.ok_or_else(|| not_found(kind, asked))?;
    let mut wire = row.to_wire(kind);
    wire["mergedFrom"] = json!(asked);
    respond::json(&wire, 200)
}

/// The record `id` was merged into, when it was (merges keep that one step long).
async fn survivor_of(ctx: &Ctx<'_>, kind: RecordKind, id: &str) -> Result<Option<String>, ApiError> {
    Ok(ctx.store.merged_of(kind, &[id.to_string()]).await?.pop().map(|(_, into)| into))
}

/// `DELETE /{kind}/{id}`: soft delete.
pub async fn delete(ctx: &Ctx<'_>, kind: RecordKind) -> HandlerResult {
    let asked = ctx.params[0];
    let (id, deleted) = match ctx.store.delete(kind, asked, &now(), ctx.request_id).await? {
        Some(deleted) => (asked.to_string(), deleted),
        // A merged record's id deletes its survivor, and the answer names it.
        None => {
            let survivor = survivor_of(ctx, kind, asked).await?.ok_or_else(|| not_found(kind, asked))?;
            let deleted = ctx.store.delete(kind, &survivor, &now(), ctx.request_id).await?.ok_or_else(|| not_found(kind, asked))?;
            (survivor, deleted)
        }
    };
    let (keys, external_ids) = deleted;
    candidates::forget(ctx, kind, [&keys], external_ids.iter().map(String::as_str)).await;
    let mut answer = json!({ "id": id, "deleted": true });
    if id != asked {
        answer["mergedFrom"] = json!(asked);
    }
    respond::json(&answer, 200)
}

/// `GET /{kind}?updatedAfter&limit&cursor`: the change feed, tombstones included. With a
/// parameter of lists (`q`, a filter, `sort`, `format`) it is a list instead (`lists`).
pub async fn feed(ctx: &Ctx<'_>, kind: RecordKind, query: &[(String, String)]) -> HandlerResult {
    if is_list(query) {
        return super::lists::records(ctx, kind, query).await;
    }
    let q = FeedQuery::parse(query)?;
    let rows = ctx.store.feed(kind, &q.after_time, &q.after_id, q.limit + 1).await?;
    let page = &rows[..rows.len().min(q.limit)];
    let next = (rows.len() > q.limit).then(|| page.last().map(|r| encode_cursor(&r.updated_at, &r.id))).flatten();
    let data: Vec<_> = page.iter().map(|r| r.to_feed_entry(kind)).collect();
    respond::json(&json!({ "data": data, "nextCursor": next }), 200)
}

/// `GET /{kind}/{id}/history`: newest first.
pub async fn history(ctx: &Ctx<'_>, kind: RecordKind, query: &[(String, String)]) -> HandlerResult {
    let id = ctx.params[0];
    if !ctx.store.exists_any(kind, id).await? {
        return Err(not_found(kind, id));
    }
    let limit = parse_limit(query, DEFAULT_LIMIT, MAX_LIMIT)?;
    let rows = ctx.store.history(id, f64::MAX, limit).await?;
    respond::history(id, &rows)
}

/// Whether a live record of this kind has this id (for the routes that name one).
pub async fn is_live(ctx: &Ctx<'_>, kind: RecordKind, id: &str) -> Result<bool, ApiError> {
    Ok(!ctx.store.load(kind, &[id.to_string()]).await?.is_empty())
}

