//! What a request cost (API.md §10), as every response says it: the D1 statements it ran, the
//! rows they read and wrote (D1 bills by those, from D1's own `meta` of each statement), the KV
//! bulk reads of the match cache, and where the time went (`Server-Timing`).

/// One D1 statement's `meta`, as far as cost goes. A field D1 leaves out counts as zero.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct StatementMeta {
    pub rows_read: u64,
    pub rows_written: u64,
    /// Milliseconds the database spent running the statement (`meta.duration`).
    pub sql_ms: f64,
}

impl StatementMeta {
    /// The figures of D1's `meta` as JavaScript numbers (each may be missing), read one by one so
    /// that no field can spoil another.
    pub fn read(rows_read: Option<f64>, rows_written: Option<f64>, duration: Option<f64>) -> StatementMeta {
        StatementMeta {
            rows_read: count(rows_read),
            rows_written: count(rows_written),
            sql_ms: duration.filter(|d| d.is_finite() && *d > 0.0).unwrap_or(0.0),
        }
    }
}

/// A count D1 gave as a JavaScript number: 0 when missing or not a count.
pub fn count(n: Option<f64>) -> u64 {
    match n {
        Some(n) if n.is_finite() && n > 0.0 => n as u64,
        _ => 0,
    }
}

/// What one request spent.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Cost {
    pub statements: u32,
    pub rows_read: u64,
    pub rows_written: u64,
    /// Milliseconds the Worker waited for D1 (round trips included), summed over its calls.
    pub d1_ms: f64,
    /// Milliseconds during which at least one D1 call was in flight: `d1_ms` less the overlap of
    /// calls sent together (a page's statements).
    pub d1_busy_ms: f64,
    /// Of which the database said it ran statements (the sum of `meta.duration`).
    pub sql_ms: f64,
    /// KV bulk-read calls of the match cache.
    pub kv_reads: u32,
    /// Milliseconds the Worker waited for KV (reads, and the forgets a write awaits).
    pub kv_ms: f64,
    /// Milliseconds the Worker waited for the request's body to arrive (under `wrangler dev`,
    /// its way through the local proxy; at the edge, the client's upload).
    pub body_ms: f64,
    /// Milliseconds from the request's start to its answer, by the Worker's clock.
    pub total_ms: f64,
}

impl Cost {
    /// Adds one statement's `meta` (the statement itself is counted when it is prepared).
    pub fn add(&mut self, meta: StatementMeta) {
        self.rows_read += meta.rows_read;
        self.rows_written += meta.rows_written;
        self.sql_ms += meta.sql_ms;
    }

    /// The request's own time: its total less the time some D1 call was in flight and what it
    /// waited for KV and for its body. The Workers clock
    /// only moves on I/O in production (so this is about zero there); under `wrangler dev` it is
    /// wall time, which is what the benchmark reads it for.
    pub fn own_ms(&self) -> f64 {
        (self.total_ms - self.d1_busy_ms - self.kv_ms - self.body_ms).max(0.0)
    }

    /// The response headers that say it. Every response carries the four counts, zeros included.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut timing = format!("d1;dur={:.1}, sql;dur={:.1}", self.d1_ms, self.sql_ms);
        if self.kv_reads > 0 || self.kv_ms > 0.0 {
            timing.push_str(&format!(", kv;dur={:.1}", self.kv_ms));
        }
        timing.push_str(&format!(", body;dur={:.1}", self.body_ms));
        timing.push_str(&format!(", own;dur={:.1}", self.own_ms()));
        vec![
            ("X-D1-Statements", self.statements.to_string()),
            ("X-D1-Rows-Read", self.rows_read.to_string()),
            ("X-D1-Rows-Written", self.rows_written.to_string()),
            ("X-KV-Reads", self.kv_reads.to_string()),
            ("Server-Timing", timing),
        ]
    }
}

/// How long one D1 call took to come back beyond the database's own work: the time the Worker
/// waited for it less the `meta.duration` of its statements (one call, one round trip, however
/// many statements a batch holds). Never negative: the two clocks differ.
pub fn round_trip_ms(waited_ms: f64, sql_ms: f64) -> f64 {
    (waited_ms - sql_ms).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> &'a str {
        headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn meta_figures_past_32_bits_are_read_whole() {
        // A database past 4 GiB: D1's figures are JavaScript numbers, and a count beyond u32 is
        // still exact.
        let meta = StatementMeta::read(Some(5_000_000_000.0), Some(7_000.0), Some(12.5));
        assert_eq!(meta, StatementMeta { rows_read: 5_000_000_000, rows_written: 7_000, sql_ms: 12.5 });
    }

    #[test]
    fn a_missing_or_odd_meta_figure_reads_zero_and_leaves_the_others() {
        let meta = StatementMeta::read(None, Some(f64::NAN), Some(3.0));
        assert_eq!(meta, StatementMeta { rows_read: 0, rows_written: 0, sql_ms: 3.0 });
        assert_eq!(StatementMeta::read(Some(-1.0), Some(f64::INFINITY), Some(-2.0)), StatementMeta::default());
        assert_eq!(count(Some(42.0)), 42);
        assert_eq!(count(None), 0);
    }

    #[test]
    fn a_request_that_touched_nothing_says_zero() {
        let h = Cost::default().headers();
        for name in ["X-D1-Statements", "X-D1-Rows-Read", "X-D1-Rows-Written", "X-KV-Reads"] {
            assert_eq!(header(&h, name), "0", "{name}");
        }
        assert_eq!(header(&h, "Server-Timing"), "d1;dur=0.0, sql;dur=0.0, body;dur=0.0, own;dur=0.0");
    }

    #[test]
    fn rows_add_up_over_the_statements() {
        let mut cost = Cost { statements: 3, ..Cost::default() };
        cost.add(StatementMeta { rows_read: 1_000, rows_written: 0, sql_ms: 2.5 });
        cost.add(StatementMeta { rows_read: 10, rows_written: 4_000, sql_ms: 7.0 });
        cost.add(StatementMeta::default());
        let h = cost.headers();
        assert_eq!(header(&h, "X-D1-Statements"), "3");
        assert_eq!(header(&h, "X-D1-Rows-Read"), "1010");
        assert_eq!(header(&h, "X-D1-Rows-Written"), "4000");
        assert!(header(&h, "Server-Timing").contains("sql;dur=9.5"));
    }

    #[test]
    fn own_time_is_what_was_not_waited_for() {
        let cost = Cost { total_ms: 46.5, d1_ms: 25.0, d1_busy_ms: 25.0, kv_ms: 5.0, kv_reads: 6, body_ms: 6.5, ..Cost::default() };
        assert_eq!(cost.own_ms(), 10.0);
        assert_eq!(header(&cost.headers(), "Server-Timing"), "d1;dur=25.0, sql;dur=0.0, kv;dur=5.0, body;dur=6.5, own;dur=10.0");
        assert_eq!(header(&cost.headers(), "X-KV-Reads"), "6");
        // Clocks that disagree never give a negative figure.
        assert_eq!(Cost { total_ms: 1.0, d1_busy_ms: 2.0, ..Cost::default() }.own_ms(), 0.0);
        assert_eq!(Cost { total_ms: 1.0, body_ms: 3.0, ..Cost::default() }.own_ms(), 0.0);
        // Three statements sent together for 10 ms each: 30 ms of D1 waits, 10 of them in flight.
        let page = Cost { total_ms: 14.0, d1_ms: 30.0, d1_busy_ms: 10.0, ..Cost::default() };
        assert_eq!(page.own_ms(), 4.0);
        assert!(page.headers().iter().any(|(n, v)| *n == "Server-Timing" && v.starts_with("d1;dur=30.0")));
    }

    #[test]
    fn a_round_trip_is_the_wait_less_the_database_work() {
        assert_eq!(round_trip_ms(150.0, 12.0), 138.0);
        assert_eq!(round_trip_ms(3.0, 4.0), 0.0);
    }
}
