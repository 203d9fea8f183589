//! Whether a request uses the match cache (`MATCH_CACHE`, API.md §11). `on` and `off` force it;
//! `auto`, the default, uses it where it pays: the cache saves a sync its D1 round trip, so it is
//! worth its KV round trips and KV writes only when the Worker runs far from D1's primary. The
//! Worker cannot know where it runs, but it can time its own D1 calls: each isolate keeps its
//! recent round trips ([`RoundTrips`]), and while the shortest of them is at least
//! `MATCH_CACHE_MIN_D1_MS` a sync reads KV first; below it KV is not touched at all (no reads, no
//! writes, no forgets). A KV write that fails (the Free plan allows 1,000 a day) pauses the cache
//! in that isolate for an hour, the life of an entry, so an entry whose forget failed has expired
//! before this isolate reads the cache again.

use std::collections::VecDeque;

/// `MATCH_CACHE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    Off,
    On,
    Auto,
}

impl CacheMode {
    /// `auto`, or a boolean as the other switches take them (`on`/`off`, `true`/`false`, ...).
    pub fn parse(text: &str) -> Option<CacheMode> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Some(CacheMode::Auto),
            "true" | "on" | "yes" | "1" => Some(CacheMode::On),
            "false" | "off" | "no" | "0" => Some(CacheMode::Off),
            _ => None,
        }
    }
}

/// `MATCH_CACHE_MIN_D1_MS` unless set: a round trip of 25 ms is a Worker in another region than
/// its database (a Worker placed beside D1 measures a few milliseconds; one on another continent
/// about 100–150).
pub const DEFAULT_MIN_D1_MS: usize = 25;
/// The largest `MATCH_CACHE_MIN_D1_MS` taken (a minute: no round trip is longer).
pub const MAX_MIN_D1_MS: usize = 60_000;
/// How long a failed KV write keeps the cache off in an isolate: the entries' time to live.
pub const PAUSE_AFTER_FAILED_WRITE_MS: i64 = 3_600_000;
/// How many of an isolate's latest D1 round trips are kept.
pub const ROUND_TRIP_WINDOW: usize = 16;
/// How many round trips an isolate measures before `auto` trusts the measure: a new isolate's
/// first D1 call also opens its connection, and one slow call must not turn the cache on.
pub const ROUND_TRIPS_NEEDED: usize = 4;

/// An isolate's latest D1 round trips. Their shortest is the measure: distance sets a floor under
/// every round trip, while a large batch, a busy isolate or a cold connection only add to one, so
/// the floor tells near from far whatever else the isolate was doing. There is no measure before
/// [`ROUND_TRIPS_NEEDED`] of them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RoundTrips {
    recent: VecDeque<f64>,
}

impl RoundTrips {
    pub fn record(&mut self, ms: f64) {
        if !ms.is_finite() {
            return;
        }
        if self.recent.len() == ROUND_TRIP_WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(ms.max(0.0));
    }

    /// The shortest recent round trip, or `None` before [`ROUND_TRIPS_NEEDED`] were measured.
    pub fn floor(&self) -> Option<f64> {
        match self.recent.len() >= ROUND_TRIPS_NEEDED {
            true => self.recent.iter().copied().reduce(f64::min),
            false => None,
        }
    }
}

/// What an isolate knows that decides `auto`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CacheState {
    pub round_trips: RoundTrips,
    /// Until when (milliseconds since the epoch) a failed KV write keeps the cache off.
    pub paused_until: Option<i64>,
}

impl CacheState {
    /// A KV write failed at `now_ms`: no cache in this isolate for the next hour.
    pub fn write_failed(&mut self, now_ms: i64) {
        self.paused_until = Some(now_ms + PAUSE_AFTER_FAILED_WRITE_MS);
    }

    /// Whether a request at `now_ms` uses the cache. `auto` with no measure yet (a new isolate)
    /// uses it only when the threshold is 0.
    pub fn use_cache(&self, mode: CacheMode, min_d1_ms: usize, now_ms: i64) -> bool {
        match mode {
            CacheMode::Off => false,
            CacheMode::On => true,
            CacheMode::Auto if self.paused_until.is_some_and(|until| now_ms < until) => false,
            CacheMode::Auto => match self.round_trips.floor() {
                Some(ms) => ms >= min_d1_ms as f64,
                None => min_d1_ms == 0,
            },
        }
    }

    /// Why, in words, for the log line of a change.
    pub fn describe(&self, min_d1_ms: usize, now_ms: i64) -> String {
        match (self.paused_until.filter(|until| now_ms < *until), self.round_trips.floor()) {
            (Some(until), _) => format!("paused for {} s more after a failed KV write", (until - now_ms) / 1000),
            (None, Some(ms)) => format!("shortest recent D1 round trip {ms:.1} ms against MATCH_CACHE_MIN_D1_MS={min_d1_ms}"),
            (None, None) => format!("fewer than {ROUND_TRIPS_NEEDED} D1 round trips measured yet, MATCH_CACHE_MIN_D1_MS={min_d1_ms}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state that measured `trips`, each as many times as a measure needs.
    fn measured(trips: &[f64]) -> CacheState {
        let mut state = CacheState::default();
        for t in trips {
            for _ in 0..ROUND_TRIPS_NEEDED {
                state.round_trips.record(*t);
            }
        }
        state
    }

    #[test]
    fn parses_auto_and_the_booleans() {
        assert_eq!(CacheMode::parse("auto"), Some(CacheMode::Auto));
        assert_eq!(CacheMode::parse("AUTO"), Some(CacheMode::Auto));
        for on in ["on", "true", "yes", "1"] {
            assert_eq!(CacheMode::parse(on), Some(CacheMode::On), "{on}");
        }
        for off in ["off", "false", "no", "0"] {
            assert_eq!(CacheMode::parse(off), Some(CacheMode::Off), "{off}");
        }
        assert_eq!(CacheMode::parse("sometimes"), None);
    }

    #[test]
    fn on_and_off_force_it_whatever_was_measured() {
        for state in [CacheState::default(), measured(&[1.0]), measured(&[500.0])] {
            assert!(state.use_cache(CacheMode::On, 25, 0));
            assert!(!state.use_cache(CacheMode::Off, 25, 0));
            assert!(!state.use_cache(CacheMode::Off, 0, 0));
        }
        let mut failed = measured(&[500.0]);
        failed.write_failed(0);
        assert!(failed.use_cache(CacheMode::On, 25, 1), "on stays on after a failed write");
    }

    #[test]
    fn auto_follows_the_shortest_recent_round_trip() {
        // Near D1: a few ms, with spikes from large batches and a busy isolate.
        let near = measured(&[3.0, 40.0, 2.0, 90.0, 4.0]);
        assert_eq!(near.round_trips.floor(), Some(2.0));
        assert!(!near.use_cache(CacheMode::Auto, 25, 0), "near D1: no KV");
        // Far from D1: every round trip is long.
        let far = measured(&[140.0, 152.0, 180.0]);
        assert!(far.use_cache(CacheMode::Auto, 25, 0), "far from D1: KV first");
        // At the threshold counts as above it; 0 turns it on for any measure.
        assert!(measured(&[25.0]).use_cache(CacheMode::Auto, 25, 0));
        assert!(!measured(&[24.9]).use_cache(CacheMode::Auto, 25, 0));
        assert!(measured(&[0.0]).use_cache(CacheMode::Auto, 0, 0));
    }

    #[test]
    fn auto_before_a_measure_waits_unless_the_threshold_is_zero() {
        assert!(!CacheState::default().use_cache(CacheMode::Auto, 25, 0));
        assert!(CacheState::default().use_cache(CacheMode::Auto, 0, 0));
        // A new isolate's first calls, however slow, are not yet a measure.
        let mut state = CacheState::default();
        for _ in 1..ROUND_TRIPS_NEEDED {
            state.round_trips.record(300.0);
        }
        assert_eq!(state.round_trips.floor(), None);
        assert!(!state.use_cache(CacheMode::Auto, 25, 0));
        state.round_trips.record(140.0);
        assert_eq!(state.round_trips.floor(), Some(140.0));
        assert!(state.use_cache(CacheMode::Auto, 25, 0));
    }

    #[test]
    fn the_measure_keeps_only_the_latest_round_trips() {
        let mut state = measured(&[1.0]);
        assert!(!state.use_cache(CacheMode::Auto, 25, 0));
        for _ in 0..ROUND_TRIP_WINDOW - 1 {
            state.round_trips.record(150.0);
        }
        assert_eq!(state.round_trips.floor(), Some(1.0), "still in the window");
        for _ in 0..1 {
            state.round_trips.record(150.0);
        }
        assert_eq!(state.round_trips.floor(), Some(150.0), "the short one has left the window");
        assert!(state.use_cache(CacheMode::Auto, 25, 0));
        state.round_trips.record(f64::NAN);
        state.round_trips.record(-3.0);
        assert_eq!(state.round_trips.floor(), Some(0.0), "a negative wait counts as zero; NaN is ignored");
    }

    #[test]
    fn a_failed_write_pauses_auto_for_an_hour_in_this_isolate() {
        let mut state = measured(&[150.0]);
        let now = 1_700_000_000_000;
        state.write_failed(now);
        assert!(!state.use_cache(CacheMode::Auto, 25, now));
        assert!(!state.use_cache(CacheMode::Auto, 0, now + PAUSE_AFTER_FAILED_WRITE_MS - 1), "even with the threshold at 0");
        assert!(state.describe(25, now + 1_000).contains("paused for 3599 s"));
        assert!(state.use_cache(CacheMode::Auto, 25, now + PAUSE_AFTER_FAILED_WRITE_MS), "back after the hour");
        // Another failure starts the hour again.
        state.write_failed(now + PAUSE_AFTER_FAILED_WRITE_MS);
        assert!(!state.use_cache(CacheMode::Auto, 25, now + PAUSE_AFTER_FAILED_WRITE_MS + 10));
    }

    #[test]
    fn the_reason_names_the_measure_and_the_variable() {
        assert!(measured(&[3.0, 7.0]).describe(25, 0).contains("3.0 ms against MATCH_CACHE_MIN_D1_MS=25"));
        assert!(CacheState::default().describe(25, 0).contains("fewer than 4 D1 round trips measured yet"));
    }
}
