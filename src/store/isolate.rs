//! What an isolate remembers between its requests about its stores: its latest D1 round trips
//! (timed by `d1`) and whether a failed KV write paused the match cache (reported by `kv`), which
//! together decide `MATCH_CACHE=auto` (`domain::cache_mode`).

use std::cell::{Cell, RefCell};

use crate::domain::cache_mode::{CacheMode, CacheState};

thread_local! {
    static STATE: RefCell<CacheState> = RefCell::new(CacheState::default());
    /// The last decision of `auto`, so that a change is logged once.
    static USING: Cell<Option<bool>> = const { Cell::new(None) };
}

fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// One D1 call came back `ms` after it left, beyond the database's own time.
pub fn record_d1_round_trip(ms: f64) {
    STATE.with(|s| s.borrow_mut().round_trips.record(ms));
}

/// A KV write failed: `auto` leaves the cache alone in this isolate for an hour.
pub fn kv_write_failed() {
    STATE.with(|s| s.borrow_mut().write_failed(now_ms()));
}

/// Whether a request uses the match cache now. A change of `auto`'s mind is logged with why.
pub fn use_match_cache(mode: CacheMode, min_d1_ms: usize) -> bool {
    let now = now_ms();
    STATE.with(|s| {
        let state = s.borrow();
        let on = state.use_cache(mode, min_d1_ms, now);
        if mode == CacheMode::Auto && USING.replace(Some(on)) != Some(on) {
            let word = if on { "on" } else { "off" };
            worker::console_log!("match cache auto: {word} ({})", state.describe(min_d1_ms, now));
        }
        on
    })
}
