//! The match cache in KV (API.md §10): reads and writes the names and entries that
//! `domain::cache` decides. Bulk reads go 100 names a call, the calls of a wave concurrent (the
//! waves, a probe and the rest, are planned by `domain::cache::plan_reads`); writes happen after
//! the response (`wait_until`), coalesced and bounded by the core (entries are encoded there, not
//! before the answer), and a write KV refuses
//! (one write per key per second, or an outage) is logged and dropped, never a failed request.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_util::future::join_all;
use worker::kv::KvStore;
use worker::{Context, Env};

use crate::domain::cache::{format, Entry, Forgotten, Writes};

thread_local! {
    /// What writes of this isolate forgot while its refreshes were pending (see [`Forgotten`]).
    static FORGOTTEN: RefCell<Forgotten> = RefCell::new(Forgotten::default());
}

/// Binding name in `wrangler.toml`.
pub const KV_BINDING: &str = "MATCH_KV";
/// KV reads at most 100 keys per bulk read.
pub const BULK: usize = 100;
/// Bulk reads one request may make (40,000 names); names past them are read from D1. With
/// [`MAX_WRITES`] this stays under the 1,000 KV operations an invocation may make.
pub const MAX_READ_CALLS: usize = 400;
/// KV writes (puts and deletes) one request may queue.
pub const MAX_WRITES: usize = 500;
/// Entries expire after an hour: the bound on how long a write that went past [`MAX_WRITES`], or a
/// refresh that raced a write, can leave a stale entry.
const TTL_SECONDS: u64 = 3_600;

#[derive(Clone)]
pub struct MatchCache {
    kv: KvStore,
    /// KV calls this request made (the `X-KV-Reads` header).
    calls: Rc<Cell<u32>>,
    /// Milliseconds this request waited for KV: its reads, and the forgets of its writes
    /// (`Server-Timing: kv`).
    waited: Rc<Cell<f64>>,
    format: Rc<String>,
}

impl MatchCache {
    pub fn from_env(env: &Env) -> Option<MatchCache> {
        env.kv(KV_BINDING).ok().map(|kv| MatchCache { kv, calls: Rc::default(), waited: Rc::default(), format: Rc::new(format()) })
    }

    /// KV read calls made so far by this request.
    pub fn calls(&self) -> u32 {
        self.calls.get()
    }

    pub fn waited_ms(&self) -> f64 {
        self.waited.get()
    }

    /// The entries of the names that have one, one bulk read per chunk (at most [`BULK`] names),
    /// the reads concurrent. A failed or unreadable read is a miss, never an error.
    pub async fn read(&self, chunks: &[Vec<String>]) -> HashMap<String, Entry> {
        self.calls.set(self.calls.get() + chunks.len() as u32);
        let reads = chunks.iter().map(|chunk| self.kv.get_bulk(chunk).text());
        let mut found = HashMap::new();
        let started = js_sys::Date::now();
        let answers = join_all(reads).await;
        self.waited.set(self.waited.get() + js_sys::Date::now() - started);
        for values in answers.into_iter().flatten() {
            for (name, value) in values {
                if let Some(entry) = value.and_then(|v| Entry::decode(&v, &self.format)) {
                    found.insert(name, entry);
                }
            }
        }
        found
    }

    /// Runs a refresh's `writes` after the response (its `ticket` taken before the read it
    /// refreshes from).
    pub fn write_later(&self, ctx: &Context, writes: Writes, ticket: RefreshTicket) {
        if writes.deletes.is_empty() && writes.puts.is_empty() {
            return;
        }
        let kv = self.kv.clone();
        ctx.wait_until(async move {
            // One turn of the event loop first, so that the response leaves before 500 puts start
            // (measured locally: they delayed a cold 1,000-record answer by about 40 ms).
            worker::Delay::from(std::time::Duration::ZERO).await;
            write_refresh(&kv, writes, ticket).await
        });
    }

    pub fn kv(&self) -> KvStore {
        self.kv.clone()
    }

    /// Forgets names for a write (see [`forget`]), the wait counted as this request's KV time.
    pub async fn forget(&self, writes: Writes) {
        let started = js_sys::Date::now();
        forget(&self.kv, writes).await;
        self.waited.set(self.waited.get() + js_sys::Date::now() - started);
    }
}

/// A refresh's place in line, taken before the read it will refresh the cache from: a name a
/// write of this isolate forgets after that is never stored by the refresh. Dropped (written,
/// or given up on any path), the refresh no longer waits.
pub struct RefreshTicket(u64);

impl RefreshTicket {
    pub fn take() -> RefreshTicket {
        RefreshTicket(FORGOTTEN.with(|f| f.borrow_mut().plan()))
    }
}

impl Drop for RefreshTicket {
    fn drop(&mut self) {
        FORGOTTEN.with(|f| f.borrow_mut().done());
    }
}

/// Writes a refresh holding `ticket`, less the entries a write forgot since it was taken.
pub async fn write_refresh(kv: &KvStore, mut writes: Writes, ticket: RefreshTicket) {
    let (puts, left_out) = FORGOTTEN.with(|f| f.borrow().keep(ticket.0, std::mem::take(&mut writes.puts)));
    writes.puts = puts;
    writes.dropped += left_out;
    write(kv, writes).await;
    drop(ticket);
}

/// Forgets names for a write (before it answers): pending refreshes will not store them.
pub async fn forget(kv: &KvStore, writes: Writes) {
    FORGOTTEN.with(|f| f.borrow_mut().forget(&writes.deletes));
    write(kv, writes).await;
}

/// Runs the writes, concurrently; failures are logged and dropped.
pub async fn write(kv: &KvStore, writes: Writes) {
    if writes.dropped > 0 {
        worker::console_warn!("match cache: {} writes over the per-request budget left out", writes.dropped);
    }
    let deletes = writes.deletes.iter().map(|name| kv.delete(name));
    let failed = join_all(deletes).await.into_iter().filter(Result::is_err).count();
    let puts = writes.puts.into_iter().map(|(name, entry)| async move {
        kv.put(&name, entry.encode())?.expiration_ttl(TTL_SECONDS).execute().await
    });
    let failed = failed + join_all(puts).await.into_iter().filter(Result::is_err).count();
    if failed > 0 {
        worker::console_warn!("match cache: KV refused {failed} writes");
        // `MATCH_CACHE=auto` leaves KV alone here for an hour (the Free plan's daily writes may
        // be spent); `on` keeps trying.
        super::isolate::kv_write_failed();
    }
}
