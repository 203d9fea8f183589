//! How long a write that lost a race waits before it decides again, and when it gives up.
//!
//! A read-decide-write fails its transaction when another request changed what it read (see
//! `http::context::retry`). Trying again at once makes colliding requests collide again, so each
//! retry waits a little longer, with jitter, so that they spread out: the wait before retry `n` is
//! half of `min(cap, base · 2^(n-1))` plus a random part of the other half ("equal jitter"). The
//! request gives up only when its time budget is spent, and then answers `503` with
//! `Retry-After`.

/// The schedule of retries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base_ms: f64,
    pub cap_ms: f64,
    /// The time after which the request stops trying (measured from its first attempt).
    pub budget_ms: f64,
    /// What `Retry-After` says once the budget is spent, in seconds.
    pub retry_after_secs: u32,
}

/// The writes' schedule: 8 or 16 concurrent updates of one record all get through (measured
/// locally: the slowest of 16 waits about a second), and a request that keeps losing gives up
/// after 10 s, well inside a Worker's time.
pub const WRITE_BACKOFF: Backoff = Backoff { base_ms: 8.0, cap_ms: 250.0, budget_ms: 10_000.0, retry_after_secs: 1 };

impl Backoff {
    /// The wait before retry `failures` (1 for the first retry); `unit` is a random number in
    /// `[0, 1)`.
    pub fn delay_ms(&self, failures: u32, unit: f64) -> f64 {
        let ceiling = (self.base_ms * 2f64.powi(failures.saturating_sub(1).min(30) as i32)).min(self.cap_ms);
        ceiling / 2.0 + unit.clamp(0.0, 1.0) * ceiling / 2.0
    }

    /// The wait before the next attempt, or `None` when it would end past the budget (the
    /// request then answers `503` with `Retry-After`).
    pub fn next(&self, failures: u32, elapsed_ms: f64, unit: f64) -> Option<f64> {
        let delay = self.delay_ms(failures, unit);
        (elapsed_ms + delay <= self.budget_ms).then_some(delay)
    }
}

/// A random number in `[0, 1)` from four random bytes.
pub fn unit_from_bytes(bytes: [u8; 4]) -> f64 {
    u32::from_le_bytes(bytes) as f64 / (u32::MAX as f64 + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff { base_ms: 10.0, cap_ms: 100.0, budget_ms: 1_000.0, retry_after_secs: 2 };

    #[test]
    fn waits_grow_to_the_cap_with_jitter_in_the_upper_half() {
        assert_eq!(B.delay_ms(1, 0.0), 5.0);
        assert!((B.delay_ms(1, 0.999_999) - 9.999_995).abs() < 1e-9);
        assert_eq!(B.delay_ms(2, 0.0), 10.0);
        assert_eq!(B.delay_ms(3, 0.5), 30.0);
        for failures in 1..100 {
            for unit in [0.0, 0.3, 0.99] {
                let d = B.delay_ms(failures, unit);
                assert!((0.0..=B.cap_ms).contains(&d), "{failures} {unit}: {d}");
            }
        }
        assert_eq!(B.delay_ms(50, 0.0), 50.0, "capped, never overflowing");
    }

    #[test]
    fn two_requests_with_different_draws_wait_differently() {
        assert_ne!(B.delay_ms(4, 0.1), B.delay_ms(4, 0.9));
    }

    #[test]
    fn gives_up_only_once_the_budget_is_spent() {
        let mut elapsed = 0.0;
        let mut failures = 0;
        while let Some(d) = B.next(failures + 1, elapsed, 0.5) {
            failures += 1;
            elapsed += d + 3.0; // the attempt itself takes time too
        }
        assert!(failures >= 10, "many tries before giving up: {failures}");
        assert!(elapsed <= B.budget_ms + 3.0, "{elapsed}");
        assert!(B.next(1, 999.0, 0.0).is_none());
        assert_eq!(B.next(1, 0.0, 0.0), Some(5.0));
    }

    #[test]
    fn random_units_are_in_range() {
        assert_eq!(unit_from_bytes([0; 4]), 0.0);
        let top = unit_from_bytes([255; 4]);
        assert!(top < 1.0 && top > 0.999_999, "{top}");
    }
}
