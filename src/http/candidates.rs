//! The candidates of a sync or a deduplicating create, read in one statement, with the match
//! cache in front when `MATCH_CACHE` is on; and forgetting the cache entries a write changed.
//! Shared by `records.rs` and `sync.rs`, which never import each other.

use std::collections::{HashMap, HashSet};

use super::Ctx;
use crate::domain::error::ApiError;
use crate::domain::record::{KeySet, RecordKind};
use crate::domain::sync::{cache_entries, cache_key, lookup_keys, Candidate};

/// The KV operations one request may spend on the match cache, reads and queued writes together.
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

/// Every live record linked to one of the incoming externalIds or holding one of their lookup
/// keys: one statement, none when there is nothing to look up. With the match cache on, the
/// cached ids of those keys join the statement as hints and the cache is refreshed afterwards.
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
    let names: Vec<Option<String>> = lookups.iter().map(|(f, k)| cache_key(kind.key_kind(), *f, k)).collect();
    let cached = match &ctx.cache {
        Some(cache) => {
            // One operation reads up to 100 names.
            let wanted: Vec<String> = names.iter().flatten().cloned().collect();
            let reads = take_kv(ctx, wanted.len().div_ceil(100));
            cache.read(&wanted[..wanted.len().min(reads * 100)]).await
        }
        None => HashMap::new(),
    };
    let (found, looked_up) = ctx.cache_use.get();
    ctx.cache_use.set((found + cached.len(), looked_up + names.iter().flatten().count()));
    let hinted: Vec<&str> = cached.values().flatten().map(String::as_str).collect::<HashSet<_>>().into_iter().collect();
    let candidates = ctx.store.candidates(kind, &external_ids, &lookups, &hinted).await?;
    if let Some(cache) = &ctx.cache {
        // Refresh the entries that were missing or differ from the database's answer.
        let mut changed: Vec<(String, Vec<String>)> = cache_entries(&lookups, &candidates)
            .into_iter()
            .zip(names)
            .filter_map(|((_, ids), name)| {
                let name = name?;
                (cached.get(&name) != Some(&ids)).then_some((name, ids))
            })
            .collect();
        changed.truncate(take_kv(ctx, changed.len()));
        cache.write_later(ctx.worker, changed);
    }
    Ok(candidates)
}

/// Forgets the cache entries of these keys after the response: a write changed who holds them.
pub fn forget<'a>(ctx: &Ctx<'_>, kind: RecordKind, keys: impl IntoIterator<Item = &'a KeySet>) {
    if let Some(cache) = &ctx.cache {
        let names: HashSet<String> = keys
            .into_iter()
            .flat_map(|k| k.as_slice().iter().filter_map(|(f, key)| cache_key(kind.key_kind(), *f, key)))
            .collect();
        let mut names: Vec<String> = names.into_iter().collect();
        names.truncate(take_kv(ctx, names.len()));
        cache.forget_later(ctx.worker, names);
    }
}
