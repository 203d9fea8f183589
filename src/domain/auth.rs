//! Credentials: API keys (several at once, so a key can be rotated without downtime) and the
//! constant-time comparison they are checked with.

use std::fmt;

/// Shortest key accepted in `API_KEYS`: a short key can be guessed over the network.
pub const MIN_KEY_LEN: usize = 16;

/// The valid API keys. `Debug` never prints them. The default is no key, which verifies nothing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ApiKeys(Vec<String>);

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeys({} keys)", self.0.len())
    }
}

impl ApiKeys {
    /// Parses the comma-separated secret. Errors never quote a key.
    pub fn parse(raw: &str) -> Result<ApiKeys, String> {
        let keys: Vec<String> = raw
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect();
        if keys.is_empty() {
            return Err("is empty: set at least one key".to_string());
        }
        for (i, key) in keys.iter().enumerate() {
            if key.len() < MIN_KEY_LEN {
                return Err(format!(
                    "key {} of {} is shorter than {MIN_KEY_LEN} characters",
                    i + 1,
                    keys.len()
                ));
            }
            if !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(format!(
                    "key {} of {} has a character that cannot travel in an HTTP header",
                    i + 1,
                    keys.len()
                ));
            }
        }
        Ok(ApiKeys(keys))
    }

    /// Every key, as the secret of something only this server can make (the pages' form tokens
    /// when no dashboard password is set).
    pub fn secret_material(&self) -> String {
        self.0.join("\n")
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `presented` is one of the keys. Every key is compared, each in constant time, so
    /// the answer's timing says nothing about which key or how much of it matched.
    pub fn verify(&self, presented: Option<&str>) -> bool {
        let presented = presented.unwrap_or("").trim().as_bytes();
        let mut ok = false;
        for key in &self.0 {
            ok |= constant_time_eq(presented, key.as_bytes());
        }
        ok && !presented.is_empty()
    }
}

/// The Workers Rate Limiting binding that counts failed credentials (`[[ratelimits]]` in
/// `wrangler.toml`). Without it, failures are not counted.
pub const AUTH_LIMITER: &str = "AUTH_LIMITER";

/// The binding's period (`simple.period` in `wrangler.toml`): a client over the limit is told to
/// retry after it.
pub const AUTH_LIMIT_PERIOD_SECS: u32 = 60;

/// Whether a refused request counts against its client's limit: only a credential that was
/// presented and is wrong. A request with none (a browser asks for a page without one first, a
/// client that forgot the header) is no guess at a secret, and a right credential is never
/// counted or limited.
pub fn failure_counts(presented: Option<&str>) -> bool {
    presented.is_some_and(|p| !p.trim().is_empty())
}

/// The key failures are counted under: the client's address (`CF-Connecting-IP`, which
/// Cloudflare sets), so one client's guesses never lock out another. An IPv6 client is counted by
/// its /64, which is one client's (it is given the whole prefix and picks its source address in
/// it at will: counted per address, it could move to a fresh one every 99 guesses); an IPv4
/// address, also written IPv4-mapped, by itself.
pub fn limit_key(client: Option<&str>) -> String {
    let client = client.map(str::trim).filter(|c| !c.is_empty()).unwrap_or("unknown");
    match client.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("auth-failure:{v4}"),
            None => {
                let s = v6.segments();
                format!("auth-failure:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => format!("auth-failure:{v4}"),
        Err(_) => format!("auth-failure:{client}"),
    }
}

/// The clients an isolate saw go over their failure limit, each refused every credential, right
/// or wrong, until its period ends. Without it the limit would only change a wrong guess's answer
/// (`401` to `429`) while every guess was still checked, and the first `200` would tell a guesser
/// that ignores the `429`s the password: the limit would slow nobody down. The Rate Limiting
/// binding can only count (it cannot be asked whether a client is over without counting one more),
/// so the isolate keeps what it learnt; the binding counts per Cloudflare location and a client's
/// requests are spread over a location's isolates, so every isolate its wrong guesses reach learns
/// it. A credential is checked only once its client is known not to be locked out here.
#[derive(Debug, Default)]
pub struct Lockout {
    until: std::collections::HashMap<String, i64>,
}

impl Lockout {
    /// At most this many clients are remembered; past it the expired go first, then the
    /// soonest to expire (an isolate's memory stays bounded under a spread-out attack).
    pub const MAX_CLIENTS: usize = 10_000;

    /// `key` went over its limit at `now_ms`: refused until the period is over.
    pub fn over(&mut self, key: &str, now_ms: i64, period_secs: u32) {
        if self.until.len() >= Self::MAX_CLIENTS && !self.until.contains_key(key) {
            self.until.retain(|_, until| *until > now_ms);
            if self.until.len() >= Self::MAX_CLIENTS {
                if let Some(first) = self.until.iter().min_by_key(|(_, until)| **until).map(|(k, _)| k.clone()) {
                    self.until.remove(&first);
                }
            }
        }
        self.until.insert(key.to_string(), now_ms + i64::from(period_secs) * 1000);
    }

    /// Whether `key` is refused at `now_ms`.
    pub fn is_locked(&self, key: &str, now_ms: i64) -> bool {
        self.until.get(key).is_some_and(|until| *until > now_ms)
    }
}

/// Compares `presented` against `secret` in time that depends only on the secret's length.
pub fn constant_time_eq(presented: &[u8], secret: &[u8]) -> bool {
    let mut diff = (presented.len() ^ secret.len()) as u64;
    for (i, s) in secret.iter().enumerate() {
        let p = presented.get(i).copied().unwrap_or(0);
        diff |= u64::from(p ^ s);
    }
    // Keep the optimiser from turning the loop into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1_aaaaaaaaaaaaaaaaaaaa";
    const K2: &str = "k2_bbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_ipv4_by_its_address() {
        let one = limit_key(Some("2001:db8:abcd:12::1"));
        for same in ["2001:db8:abcd:12::2", "2001:db8:abcd:12:ffff:ffff:ffff:ffff", "2001:0db8:abcd:0012:0:0:0:7", "2001:DB8:ABCD:12::1", " 2001:db8:abcd:12::9 "] {
            assert_eq!(limit_key(Some(same)), one, "{same}");
        }
        assert_eq!(one, "auth-failure:2001:db8:abcd:12::/64");
        assert_ne!(limit_key(Some("2001:db8:abcd:13::1")), one, "another /64 is another client");
        assert_ne!(limit_key(Some("203.0.113.7")), limit_key(Some("203.0.113.8")));
        assert_eq!(limit_key(Some("::ffff:203.0.113.7")), limit_key(Some("203.0.113.7")), "IPv4-mapped is the IPv4 address");
        assert_eq!(limit_key(None), "auth-failure:unknown");
        assert_eq!(limit_key(Some("  ")), "auth-failure:unknown");
        assert_eq!(limit_key(Some("not an address")), "auth-failure:not an address");
    }

    #[test]
    fn a_client_over_its_limit_is_locked_out_for_the_period_only() {
        let mut lockout = Lockout::default();
        assert!(!lockout.is_locked("a", 0));
        lockout.over("a", 1_000, 60);
        assert!(lockout.is_locked("a", 1_000) && lockout.is_locked("a", 60_999));
        assert!(!lockout.is_locked("a", 61_000), "the period is over");
        assert!(!lockout.is_locked("b", 1_000), "another client is not");
        lockout.over("a", 61_000, 60);
        assert!(lockout.is_locked("a", 100_000), "over again: locked again");
    }

    #[test]
    fn the_lockout_remembers_a_bounded_number_of_clients() {
        let mut lockout = Lockout::default();
        for i in 0..Lockout::MAX_CLIENTS {
            lockout.over(&format!("c{i}"), i as i64, 60);
        }
        lockout.over("new", 5_000_000, 60);
        assert!(lockout.until.len() <= Lockout::MAX_CLIENTS);
        assert!(lockout.is_locked("new", 5_000_000), "the newest is kept");
        let mut full = Lockout::default();
        for i in 0..Lockout::MAX_CLIENTS {
            full.over(&format!("c{i}"), 0, 60 + i as u32);
        }
        full.over("new", 1, 60);
        assert_eq!(full.until.len(), Lockout::MAX_CLIENTS);
        assert!(!full.until.contains_key("c0") && full.is_locked("c1", 1) && full.is_locked("new", 1), "the soonest to expire goes");
    }

    #[test]
    fn accepts_each_of_several_keys() {
        let keys = ApiKeys::parse(&format!(" {K1} , {K2},")).unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys.verify(Some(K1)));
        assert!(keys.verify(Some(K2)));
    }

    #[test]
    fn refuses_wrong_missing_and_partial_keys() {
        let keys = ApiKeys::parse(K1).unwrap();
        assert!(!keys.verify(None));
        assert!(!keys.verify(Some("")));
        assert!(!keys.verify(Some(&K1[..K1.len() - 1])));
        assert!(!keys.verify(Some(&format!("{K1}x"))));
        assert!(!keys.verify(Some(&K1.to_uppercase())));
        assert!(!keys.verify(Some(K2)));
    }

    #[test]
    fn refuses_unusable_secrets_without_quoting_them() {
        assert!(ApiKeys::parse("").is_err());
        assert!(ApiKeys::parse(" , ,").is_err());
        let err = ApiKeys::parse(&format!("{K1},tiny1")).unwrap_err();
        assert!(err.contains("key 2 of 2"), "{err}");
        assert!(!err.contains("tiny1"), "{err}");
        assert!(ApiKeys::parse("aaaaaaaaaaaaaaaa\u{e9}aaaa").is_err());
    }

    #[test]
    fn debug_hides_the_keys() {
        let keys = ApiKeys::parse(K1).unwrap();
        assert!(!format!("{keys:?}").contains(K1));
    }

    #[test]
    fn only_a_presented_wrong_credential_counts_per_client_address() {
        assert!(failure_counts(Some("wrong-key")));
        assert!(!failure_counts(None));
        assert!(!failure_counts(Some("  ")));
        assert_eq!(limit_key(Some("203.0.113.7")), "auth-failure:203.0.113.7");
        assert_ne!(limit_key(Some("203.0.113.7")), limit_key(Some("203.0.113.8")));
        assert_eq!(limit_key(None), limit_key(Some("")));
    }

    #[test]
    fn constant_time_eq_is_plain_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        assert!(constant_time_eq(b"", b""));
    }
}
