//! The candidates of a sync or a deduplicating create, and the match cache around them (API.md
//! §10): a sync reads KV first and D1 only for what KV lacks; a create always reads D1; every
//! write forgets the entries it made stale. Shared by `records.rs` and `sync.rs`, which never
//! import each other.

use super::context::now_millis;
use super::Ctx;
use std::collections::HashSet;

use crate::domain::cache::{answer, merge, plan_reads, plan_writes, read_first, read_on, refresh, split, stale_names, subjects, Subject, Writes};
use crate::domain::error::ApiError;
use crate::domain::plan::ExternalLink;
use crate::domain::record::{KeySet, RecordKind};
use crate::domain::sync::{lookup_keys, Candidate, Links};
use crate::domain::routes::ReadFrom;
use crate::store::d1::Store;
use crate::store::kv::{self, RefreshTicket, BULK, MAX_READ_CALLS, MAX_WRITES};

/// The KV operations one request may spend on the match cache, reads and writes together.
/// An invocation may run 1,000; a batch served in chunks runs this path once per chunk, so the
/// chunks share this allowance, and once it is spent the cache is skipped (a miss, never a wrong
/// answer: the database decides). Measured locally: without it, a 2,500-record request queued
/// thousands of KV writes, and the isolate was restarted under the requests in flight.
pub const KV_BUDGET: usize = 900;

/// Takes up to `wanted` KV operations from the request's allowance; answers how many it may run.
fn take_kv(ctx: &Ctx<'_>, wanted: usize) -> usize {
    let left = KV_BUDGET.saturating_sub(ctx.kv_ops.get());
    let granted = wanted.min(left);
    ctx.kv_ops.set(ctx.kv_ops.get() + granted);
    granted
}

/// Returns KV operations taken but not spent.
fn give_back_kv(ctx: &Ctx<'_>, unspent: usize) {
    ctx.kv_ops.set(ctx.kv_ops.get().saturating_sub(unspent));
}

/// Every live record linked to one of the incoming externalIds or holding one of their lookup
/// keys, read from D1 in one statement (none when there is nothing to look up). A create decides
/// on this, never on the cache.
pub async fn load<'a>(
    ctx: &Ctx<'_>,
    kind: RecordKind,
    incoming: impl Iterator<Item = (Option<&'a str>, &'a KeySet)>,
) -> Result<Vec<Candidate>, ApiError> {
    let (external_ids, keys): (Vec<Option<&str>>, Vec<&KeySet>) = incoming.unzip();
    let external_ids: Vec<&str> = external_ids.into_iter().flatten().collect();
    let lookups = lookup_keys(ctx.config.match_rule(kind), keys.into_iter());
    if external_ids.is_empty() && lookups.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ctx.store.candidates(kind, &external_ids, &lookups, &[], Links::Deciding).await?)
}

/// What a sync looked up and which of it D1 answered.
pub struct SyncRead {
    subjects: Vec<Subject>,
    /// The subjects read from D1 (all of them with the cache off).
    missing: Vec<Subject>,
    /// Of those, the ones a cold probe left unread in KV (see `domain::cache::read_on`).
    unread: HashSet<Subject>,
    /// With the cache in use: the refresh's ticket, taken before anything was read, so a write
    /// that forgets a name while this sync runs keeps its refresh from storing it.
    ticket: Option<RefreshTicket>,
}

impl SyncRead {
    /// Whether this sync used the match cache (read it, or will refresh it).
    pub fn cached(&self) -> bool {
        self.ticket.is_some()
    }
}

/// A sync's candidates: from the cache's entries where it has them (unless the client sent
/// `Cache-Control: no-cache`), the rest from D1 in one statement. KV is read in two waves: a probe
/// of spread samples, then the rest only when the probe found the cache warm; a cold sync goes to
/// D1 after one KV round trip, not after all of them.
pub async fn load_for_sync<'a>(
    ctx: &Ctx<'_>,
    kind: RecordKind,
    incoming: impl Iterator<Item = (Option<&'a str>, &'a KeySet)>,
) -> Result<(Vec<Candidate>, SyncRead), ApiError> {
    // Decided once for the sync: with `MATCH_CACHE=auto` on this isolate's D1 round trips.
    let cache = ctx.cache();
    let ticket = cache.map(|_| RefreshTicket::take());
    let (external_ids, keys): (Vec<Option<&str>>, Vec<&KeySet>) = incoming.unzip();
    let lookups = lookup_keys(ctx.config.match_rule(kind), keys.into_iter());
    let subjects = subjects(&lookups, external_ids.into_iter().flatten());
    let mut unread = HashSet::new();
    let answered = match (cache, ctx.no_cache) {
        (Some(cache), false) if !subjects.is_empty() => {
            let names: Vec<String> = subjects.iter().filter_map(|s| s.name(kind)).collect();
            // One operation reads up to 100 names; names past the allowance are read from D1.
            let calls = take_kv(ctx, names.len().div_ceil(BULK).min(MAX_READ_CALLS));
            let plan = plan_reads(&names, BULK, calls);
            let mut found = cache.read(&plan.probe).await;
            let probed = plan.probe.iter().map(Vec::len).sum();
            if !plan.rest.is_empty() && read_on(probed, found.len()) {
                found.extend(cache.read(&plan.rest).await);
            } else if !plan.rest.is_empty() {
                // Cold: the rest goes to D1 with the probe's misses, in the same statement.
                give_back_kv(ctx, plan.rest.len());
                let skipped: HashSet<&String> = plan.rest.iter().flatten().collect();
                unread = subjects.iter().filter(|s| s.name(kind).is_some_and(|n| skipped.contains(&n))).cloned().collect();
            }
            answer(kind, &subjects, &found)
        }
        _ => crate::domain::cache::Answered { candidates: Vec::new(), missing: subjects.clone() },
    };
    let fresh = match answered.missing.is_empty() {
        true => Vec::new(),
        false => {
            let (external_ids, keys) = split(&answered.missing);
            // The cache stores each record under every link it holds, so it needs them all.
            let links = if cache.is_some() { Links::All } else { Links::Deciding };
            ctx.store.candidates(kind, &external_ids, &keys, &[], links).await?
        }
    };
    Ok((merge(answered.candidates, fresh), SyncRead { subjects, missing: answered.missing, unread, ticket }))
}

/// After a sync's plan on `candidates`: writes `links` after the response when `defer` (a sync
/// the cache answered runs no statement before its answer), then refreshes the cache from what
/// the database holds after the sync.
pub fn after_sync(ctx: &Ctx<'_>, kind: RecordKind, mut read: SyncRead, candidates: &[Candidate], links: Vec<ExternalLink>, defer: bool) {
    let (Some(cache), Some(ticket)) = (&ctx.cache, read.ticket.take()) else { return };
    let rule = ctx.config.match_rule(kind);
    let subjects = read_first(&read.subjects, &read.unread);
    let plan = refresh(kind, rule, &subjects, &read.missing, candidates, &links, ctx.config.create_dedupe, now_millis());
    let budget = take_kv(ctx, (plan.forget.len() + plan.store.len()).min(MAX_WRITES));
    let writes = plan_writes(plan.forget, plan.store, budget);
    if !defer || links.is_empty() {
        cache.write_later(ctx.worker, writes, ticket);
        return;
    }
    let (env, kv, request_id) = (ctx.env.clone(), cache.kv(), ctx.request_id.to_string());
    ctx.worker.wait_until(async move {
        let linked = match Store::open(&env, ReadFrom::Primary) {
            Ok(store) => store.link_external(kind, &links, &super::context::now(), &request_id).await,
            Err(e) => Err(e),
        };
        match linked {
            Ok(()) => kv::write_refresh(&kv, writes, ticket).await,
            // The cache is left as it was: the next sync finds the records unlinked and links them.
            Err(e) => {
                kv::write_refresh(&kv, Writes::default(), ticket).await;
                worker::console_error!("sync {request_id}: links after the response failed: {e}")
            }
        }
    });
}

/// Forgets the entries a write made stale: the anchor keys the written records held before and
/// after it, and their externalIds. Called after the commit and awaited, so the next request of
/// this location reads the new truth; a refused delete is logged, never an error.
/// Forgets the entries of these records, found by id (one statement, and only with the cache on):
/// for a write that changed what a sync sends back of them without changing their keys (an
/// activity moving their `lastActivityDate`, say).
pub async fn forget_records(ctx: &Ctx<'_>, kind: RecordKind, ids: &[&str]) {
    if ctx.cache().is_none() || ids.is_empty() {
        return;
    }
    match ctx.store.candidates(kind, &[], &[], ids, Links::All).await {
        Ok(records) => {
            let external_ids = records.iter().flat_map(|c| c.external_ids.iter().map(String::as_str));
            forget(ctx, kind, records.iter().map(|c| &c.keys), external_ids).await;
        }
        // The entries then expire on their own; the write itself stands.
        Err(e) => worker::console_error!("cache entries of {} {kind:?} records not forgotten: {e}", ids.len()),
    }
}

pub async fn forget<'a>(ctx: &Ctx<'_>, kind: RecordKind, keys: impl IntoIterator<Item = &'a KeySet>, external_ids: impl IntoIterator<Item = &'a str>) {
    if let Some(cache) = ctx.cache() {
        let names = stale_names(kind, ctx.config.match_rule(kind), keys, external_ids);
        let budget = take_kv(ctx, names.len().min(MAX_WRITES));
        cache.forget(plan_writes(names, Vec::new(), budget)).await;
    }
}
