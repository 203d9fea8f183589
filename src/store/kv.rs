//! The match cache in KV (API.md §10): normalised key → ids of the records holding it.
//!
//! The database stays the truth. A cached entry only adds candidate ids to the one candidates
//! statement, which still looks every key up in D1 and returns live records with their real keys;
//! the pure core then checks every field. So an empty, stale or missing cache gives the same
//! answers, and the cache can never hide a record (KV is eventually consistent: a delete can take
//! a minute to reach another location). Entries are refreshed from the database's answer after a
//! lookup and forgotten when a write changes a key, both after the response (`wait_until`).

use std::collections::HashMap;

use worker::kv::KvStore;
use worker::{Context, Env};

/// Binding name in `wrangler.toml`.
pub const KV_BINDING: &str = "MATCH_KV";
/// KV reads at most 100 keys per bulk read.
const BULK: usize = 100;
/// Entries expire after a day, so a key nobody asks for again does not linger.
const TTL_SECONDS: u64 = 86_400;
/// KV writes one request may queue (an invocation may run 1,000 KV operations).
const MAX_WRITES: usize = 400;

#[derive(Clone)]
pub struct MatchCache {
    kv: KvStore,
}

impl MatchCache {
    pub fn from_env(env: &Env) -> Option<MatchCache> {
        env.kv(KV_BINDING).ok().map(|kv| MatchCache { kv })
    }

    /// The cached ids of each name that has an entry. A KV failure is a miss, never an error.
    pub async fn read(&self, names: &[String]) -> HashMap<String, Vec<String>> {
        let mut found = HashMap::new();
        for chunk in names.chunks(BULK) {
            let Ok(values) = self.kv.get_bulk(chunk).text().await else { continue };
            for (name, value) in values {
                if let Some(ids) = value.and_then(|v| serde_json::from_str::<Vec<String>>(&v).ok()) {
                    found.insert(name, ids);
                }
            }
        }
        found
    }

    /// Stores entries after the response has been sent.
    pub fn write_later(&self, ctx: &Context, entries: Vec<(String, Vec<String>)>) {
        if entries.is_empty() {
            return;
        }
        let kv = self.kv.clone();
        ctx.wait_until(async move {
            for (name, ids) in entries.into_iter().take(MAX_WRITES) {
                let value = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
                if let Ok(put) = kv.put(&name, value) {
                    let _ = put.expiration_ttl(TTL_SECONDS).execute().await;
                }
            }
        });
    }

    /// Forgets entries after the response has been sent.
    pub fn forget_later(&self, ctx: &Context, names: Vec<String>) {
        if names.is_empty() {
            return;
        }
        let kv = self.kv.clone();
        ctx.wait_until(async move {
            for name in names.into_iter().take(MAX_WRITES) {
                let _ = kv.delete(&name).await;
            }
        });
    }
}
