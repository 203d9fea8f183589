//! Configuration: every `[vars]` entry and secret of API.md §11, parsed once and validated.
//!
//! `Config::from_lookup` takes a function from variable name to value, so the Worker feeds it from
//! its environment and the tests from a map. A bad value is reported by its variable's name and
//! never silently replaced by a default; an empty value counts as unset. Secret values are never
//! quoted in an error.

use std::collections::BTreeMap;
use std::fmt;

use super::auth::ApiKeys;
use super::cache_mode::{CacheMode, DEFAULT_MIN_D1_MS, MAX_MIN_D1_MS};
use super::matching::MatchRule;
use super::record::RecordKind;

pub const DEFAULT_API_KEY_HEADER: &str = "X-API-Key";
pub const DEFAULT_MAX_BATCH: usize = 10_000;
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// A Worker's request body cannot exceed 100 MB on any plan.
const MAX_MAX_BODY_BYTES: usize = 100 * 1024 * 1024;
const MAX_MAX_BATCH: usize = 10_000;

/// What to do when several records match one input (API.md §4 sync).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmbiguousMatch {
    Pick,
    Error,
}

/// What a create does with the fields of an item that matched a stored record (`CREATE_MERGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateMerge {
    /// Empty stored fields are filled, filled ones kept (the default).
    FillEmpty,
    /// The field policy of an update applies (`FIELD_POLICY`, else overwrite).
    Overwrite,
    /// Nothing is merged.
    None,
}

/// How an update treats a field (API.md §4 PUT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldPolicy {
    Overwrite,
    FillEmpty,
    Union,
    Ignore,
}

impl FieldPolicy {
    pub fn parse(text: &str) -> Option<FieldPolicy> {
        match text {
            "overwrite" => Some(FieldPolicy::Overwrite),
            "fill_empty" => Some(FieldPolicy::FillEmpty),
            "union" => Some(FieldPolicy::Union),
            "ignore" => Some(FieldPolicy::Ignore),
            _ => None,
        }
    }
}

/// The part of the configuration needed to authenticate. Parsed on its own too, so a request with
/// a wrong key still gets `401` (not a `503` that describes the configuration) when some other
/// variable is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Header that carries the API key, as configured (HTTP header names are case-insensitive).
    pub api_key_header: String,
    pub api_keys: ApiKeys,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub auth: AuthConfig,
    /// Basic-auth password of the HTML pages; `None` turns the pages off.
    pub dashboard_password: Option<String>,
    pub company_match: MatchRule,
    pub contact_match: MatchRule,
    pub ambiguous_match: AmbiguousMatch,
    pub create_dedupe: bool,
    pub create_merge: CreateMerge,
    pub match_to_parent: bool,
    pub field_policy: BTreeMap<String, FieldPolicy>,
    /// `None`: every stored core and custom field.
    pub sync_back_fields_companies: Option<Vec<String>>,
    pub sync_back_fields_contacts: Option<Vec<String>>,
    pub max_batch: usize,
    pub max_body_bytes: usize,
    /// The edge read path of sync (`MATCH_CACHE`): `auto` by default, which uses it only while
    /// this isolate's D1 round trips are at least `match_cache_min_d1_ms` (see
    /// `domain::cache_mode`); `on` and `off` force it.
    pub match_cache: CacheMode,
    /// `MATCH_CACHE_MIN_D1_MS`: the shortest D1 round trip, in milliseconds, at which `auto` uses
    /// the cache.
    pub match_cache_min_d1_ms: usize,
    /// Base URL shown in the Enginy settings and record links, without a trailing slash.
    pub public_url: Option<String>,
    /// Per-person sign-in to the pages through Cloudflare Access (`ACCESS_TEAM_DOMAIN` and
    /// `ACCESS_AUD`); `None` leaves the pages to the shared password.
    pub access: Option<AccessConfig>,
    /// `EXPOSE_MEMORY`: every response says how large the Worker's wasm memory is
    /// (`X-Wasm-Memory-Bytes`), for the benchmark. Off by default: it tells a stranger something
    /// about the server, so it is set only on local test servers.
    pub expose_memory: bool,
}

/// The Cloudflare Access application that guards the pages (API.md §2). Both variables or
/// neither: half of it would verify tokens against nothing, so it is a configuration error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    /// The team's issuer origin, `https://<team>.cloudflareaccess.com`: lower case, no trailing
    /// slash, no path. A token's `iss` must equal it exactly. `http://` only on a loopback host.
    pub team_domain: String,
    /// The Access application's AUD tag; a token's `aud` must contain it.
    pub aud: String,
}

impl AccessConfig {
    /// Where the team publishes its signing keys (JWKS).
    pub fn certs_url(&self) -> String {
        format!("{}/cdn-cgi/access/certs", self.team_domain)
    }

    /// `ACCESS_TEAM_DOMAIN` and `ACCESS_AUD` alone, so the pages can still decide who may see
    /// them when some other variable is broken.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<AccessConfig>, ConfigError> {
        let mut r = Reader { lookup, problems: Vec::new() };
        let access = r.access();
        if r.problems.is_empty() {
            Ok(access)
        } else {
            Err(ConfigError { problems: r.problems })
        }
    }
}

/// The issuer origin of `ACCESS_TEAM_DOMAIN`, or why it is not one: `https://host[:port]`, or
/// `http://` on a loopback host (127.0.0.1, localhost, [::1]; local tests serve their own keys).
/// Trailing slashes are trimmed and the origin is lower-cased (hosts are case-insensitive, and
/// the token's `iss` is compared exactly).
fn parse_team_domain(raw: &str) -> Result<String, String> {
    let origin = raw.trim_end_matches('/').to_ascii_lowercase();
    let shape = "must be the team's origin, such as https://<team>.cloudflareaccess.com";
    let (secure, authority) = match (origin.strip_prefix("https://"), origin.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return Err(format!("{shape}, got {raw:?}")),
    };
    if authority.is_empty() || authority.contains(|c: char| "/?#@\\".contains(c) || c.is_whitespace() || c.is_control()) {
        return Err(format!("{shape} (no path, query or user name), got {raw:?}"));
    }
    let bad = || format!("{shape}, got {raw:?}");
    // `host`, `host:port`, `[v6]` or `[v6]:port`.
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']').ok_or_else(bad)?;
        let (host, after) = authority.split_at(end + 1);
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port_ok = port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok_and(|n| n > 0));
    if host.is_empty() || host == "[]" || !port_ok {
        return Err(bad());
    }
    if !secure && !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(format!("must use https:// (http:// is accepted only on a loopback host, for tests), got {raw:?}"));
    }
    Ok(origin)
}

/// Every problem found, each naming its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<(&'static str, String)>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid configuration: ")?;
        for (i, (name, message)) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{name} {message}")?;
        }
        Ok(())
    }
}

/// Reads variables and records the problems, so one pass reports all of them.
struct Reader<F> {
    lookup: F,
    problems: Vec<(&'static str, String)>,
}

impl<F: Fn(&str) -> Option<String>> Reader<F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    fn fail(&mut self, name: &'static str, message: String) {
        self.problems.push((name, message));
    }

    fn bool(&mut self, name: &'static str, default: bool) -> bool {
        let Some(raw) = self.get(name) else { return default };
        match raw.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" => true,
            "false" | "off" | "no" | "0" => false,
            _ => {
                self.fail(name, format!("must be true or false (or on/off), got {raw:?}"));
                default
            }
        }
    }

    fn number(&mut self, name: &'static str, default: usize, min: usize, max: usize) -> usize {
        let Some(raw) = self.get(name) else { return default };
        match raw.replace('_', "").parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                self.fail(name, format!("must be a whole number from {min} to {max}, got {raw:?}"));
                default
            }
        }
    }

    fn match_rule(&mut self, name: &'static str, kind: RecordKind) -> MatchRule {
        let Some(raw) = self.get(name) else { return MatchRule::default_for(kind) };
        match MatchRule::parse(kind, &raw) {
            Ok(rule) => rule,
            Err(err) => {
                self.fail(name, format!("is not a valid identifier: {err}"));
                MatchRule::default_for(kind)
            }
        }
    }

    fn field_list(&mut self, name: &'static str) -> Option<Vec<String>> {
        let raw = self.get(name)?;
        let fields: Vec<String> = raw
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        if fields.is_empty() {
            self.fail(name, "must list field names separated by commas".to_string());
            return None;
        }
        Some(fields)
    }

    /// `ACCESS_TEAM_DOMAIN` and `ACCESS_AUD`, both or neither; a problem names its variable.
    fn access(&mut self) -> Option<AccessConfig> {
        let team = self.get("ACCESS_TEAM_DOMAIN");
        let aud = self.get("ACCESS_AUD");
        let team_domain = match team.as_deref().map(parse_team_domain) {
            Some(Ok(origin)) => Some(origin),
            Some(Err(message)) => {
                self.fail("ACCESS_TEAM_DOMAIN", message);
                None
            }
            None => None,
        };
        if aud.as_deref().is_some_and(|a| a.contains(char::is_whitespace)) {
            self.fail("ACCESS_AUD", "must be the Access application's AUD tag, one word".to_string());
            return None;
        }
        match (team, aud) {
            (None, None) => None,
            (Some(_), None) => {
                self.fail("ACCESS_AUD", "is not set, but ACCESS_TEAM_DOMAIN is: set both (the Access application's AUD tag) or neither".to_string());
                None
            }
            (None, Some(_)) => {
                self.fail("ACCESS_TEAM_DOMAIN", "is not set, but ACCESS_AUD is: set both (https://<team>.cloudflareaccess.com) or neither".to_string());
                None
            }
            (Some(_), Some(aud)) => team_domain.map(|team_domain| AccessConfig { team_domain, aud }),
        }
    }

    fn auth(&mut self) -> Option<AuthConfig> {
        let header = self.get("API_KEY_HEADER").unwrap_or_else(|| DEFAULT_API_KEY_HEADER.to_string());
        let header_ok = header.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !header_ok {
            self.fail("API_KEY_HEADER", format!("is not a valid HTTP header name: {header:?}"));
        }
        let keys = match self.get("API_KEYS") {
            None => {
                self.fail("API_KEYS", "is not set: add it with `wrangler secret put API_KEYS` (or to .dev.vars locally)".to_string());
                None
            }
            Some(raw) => match ApiKeys::parse(&raw) {
                Ok(keys) => Some(keys),
                Err(message) => {
                    self.fail("API_KEYS", message);
                    None
                }
            },
        };
        match (header_ok, keys) {
            (true, Some(api_keys)) => Some(AuthConfig { api_key_header: header, api_keys }),
            _ => None,
        }
    }
}

impl AuthConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<AuthConfig, ConfigError> {
        let mut r = Reader { lookup, problems: Vec::new() };
        match r.auth() {
            Some(auth) => Ok(auth),
            None => Err(ConfigError { problems: r.problems }),
        }
    }
}

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut r = Reader { lookup, problems: Vec::new() };
        let auth = r.auth();
        let dashboard_password = r.get("DASHBOARD_PASSWORD");
        if dashboard_password.as_ref().is_some_and(|p| p.chars().count() < 8) {
            r.fail("DASHBOARD_PASSWORD", "is shorter than 8 characters".to_string());
        }
        // SHARED_DOMAINS: hosts that identify no company here, besides the built-in list.
        let shared_domains = r.field_list("SHARED_DOMAINS").unwrap_or_default();
        let company_match = r.match_rule("COMPANY_MATCH", RecordKind::Company).with_shared_domains(&shared_domains);
        let contact_match = r.match_rule("CONTACT_MATCH", RecordKind::Contact).with_shared_domains(&shared_domains);
        let ambiguous_match = match r.get("AMBIGUOUS_MATCH").as_deref() {
            None | Some("pick") => AmbiguousMatch::Pick,
            Some("error") => AmbiguousMatch::Error,
            Some(other) => {
                r.fail("AMBIGUOUS_MATCH", format!("must be pick or error, got {other:?}"));
                AmbiguousMatch::Pick
            }
        };
        let create_dedupe = r.bool("CREATE_DEDUPE", true);
        let create_merge = match r.get("CREATE_MERGE").as_deref() {
            None | Some("fill_empty") => CreateMerge::FillEmpty,
            Some("overwrite") => CreateMerge::Overwrite,
            Some("none") => CreateMerge::None,
            Some(other) => {
                r.fail("CREATE_MERGE", format!("must be fill_empty, overwrite or none, got {other:?}"));
                CreateMerge::FillEmpty
            }
        };
        let match_to_parent = r.bool("MATCH_TO_PARENT", false);
        let field_policy = match r.get("FIELD_POLICY") {
            None => BTreeMap::new(),
            Some(raw) => match parse_field_policy(&raw) {
                Ok(map) => map,
                Err(message) => {
                    r.fail("FIELD_POLICY", message);
                    BTreeMap::new()
                }
            },
        };
        let sync_back_fields_companies = r.field_list("SYNC_BACK_FIELDS_COMPANIES");
        let sync_back_fields_contacts = r.field_list("SYNC_BACK_FIELDS_CONTACTS");
        let max_batch = r.number("MAX_BATCH", DEFAULT_MAX_BATCH, 1, MAX_MAX_BATCH);
        let max_body_bytes = r.number("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1024, MAX_MAX_BODY_BYTES);
        // `auto` by default: the edge read path wins only when the Worker runs far from D1, which
        // the Worker measures (`domain::cache_mode`).
        let match_cache = match r.get("MATCH_CACHE") {
            None => CacheMode::Auto,
            Some(raw) => CacheMode::parse(&raw).unwrap_or_else(|| {
                r.fail("MATCH_CACHE", format!("must be auto, on or off, got {raw:?}"));
                CacheMode::Auto
            }),
        };
        let match_cache_min_d1_ms = r.number("MATCH_CACHE_MIN_D1_MS", DEFAULT_MIN_D1_MS, 0, MAX_MIN_D1_MS);
        let public_url = r.get("PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string());
        if let Some(url) = &public_url {
            let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
            if rest.is_none_or(|host| host.is_empty() || host.contains(char::is_whitespace)) {
                r.fail("PUBLIC_URL", format!("must be an http:// or https:// URL, got {url:?}"));
            }
        }
        let access = r.access();
        let expose_memory = r.bool("EXPOSE_MEMORY", false);
        match auth {
            Some(auth) if r.problems.is_empty() => Ok(Config {
                auth,
                dashboard_password,
                company_match,
                contact_match,
                ambiguous_match,
                create_dedupe,
                create_merge,
                match_to_parent,
                field_policy,
                sync_back_fields_companies,
                sync_back_fields_contacts,
                max_batch,
                max_body_bytes,
                match_cache,
                match_cache_min_d1_ms,
                public_url,
                access,
                expose_memory,
            }),
            _ => Err(ConfigError { problems: r.problems }),
        }
    }
}

impl Config {
    /// The identifier of a kind (`CONTACT_MATCH` / `COMPANY_MATCH`).
    pub fn match_rule(&self, kind: RecordKind) -> &MatchRule {
        match kind {
            RecordKind::Contact => &self.contact_match,
            RecordKind::Company => &self.company_match,
        }
    }

    /// `SYNC_BACK_FIELDS_{KIND}`; `None` means every field.
    pub fn sync_back_fields(&self, kind: RecordKind) -> Option<&[String]> {
        match kind {
            RecordKind::Contact => self.sync_back_fields_contacts.as_deref(),
            RecordKind::Company => self.sync_back_fields_companies.as_deref(),
        }
    }
}

fn parse_field_policy(raw: &str) -> Result<BTreeMap<String, FieldPolicy>, String> {
    let value: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| format!("is not valid JSON ({e}); expected an object such as {{\"industry\": \"fill_empty\"}}"))?;
    let object = value
        .as_object()
        .ok_or("must be a JSON object of field name to policy, such as {\"industry\": \"fill_empty\"}")?;
    let mut map = BTreeMap::new();
    for (field, policy) in object {
        let policy = policy
            .as_str()
            .and_then(FieldPolicy::parse)
            .ok_or_else(|| format!("gives field {field:?} the policy {policy}; expected overwrite, fill_empty, union or ignore"))?;
        map.insert(field.clone(), policy);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY: &str = "test_key_0123456789abcdef";

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = HashMap::from([("API_KEYS".to_string(), KEY.to_string())]);
        for (k, v) in vars {
            map.insert(k.to_string(), v.to_string());
        }
        Config::from_lookup(|name| map.get(name).cloned())
    }

    fn problem(vars: &[(&str, &str)]) -> String {
        config(vars).unwrap_err().to_string()
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = config(&[]).unwrap();
        assert_eq!(c.auth.api_key_header, "X-API-Key");
        assert_eq!(c.company_match, MatchRule::default_for(RecordKind::Company));
        assert_eq!(c.contact_match, MatchRule::default_for(RecordKind::Contact));
        assert_eq!(c.ambiguous_match, AmbiguousMatch::Pick);
        assert!(c.create_dedupe);
        assert_eq!(c.create_merge, CreateMerge::FillEmpty);
        assert!(!c.match_to_parent);
        assert!(c.field_policy.is_empty());
        assert_eq!(c.sync_back_fields_companies, None);
        assert_eq!(c.max_batch, 10_000);
        assert_eq!(c.max_body_bytes, 10 * 1024 * 1024);
        assert_eq!(c.match_cache, CacheMode::Auto, "the edge read path where it pays, measured");
        assert_eq!(c.match_cache_min_d1_ms, 25);
        assert_eq!(c.public_url, None);
        assert_eq!(c.dashboard_password, None);
        assert_eq!(c.access, None, "no Access without both variables");
        assert!(!c.expose_memory, "the memory size is told only where a test server asks for it");
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = config(&[("MAX_BATCH", ""), ("PUBLIC_URL", "  "), ("DASHBOARD_PASSWORD", "")]).unwrap();
        assert_eq!(c.max_batch, 10_000);
        assert_eq!(c.public_url, None);
        assert_eq!(c.dashboard_password, None);
    }

    #[test]
    fn reads_every_variable() {
        let c = config(&[
            ("API_KEY_HEADER", "Authorization-Key"),
            ("COMPANY_MATCH", "domain_or_name"),
            ("CONTACT_MATCH", "email | linkedinUrl"),
            ("AMBIGUOUS_MATCH", "error"),
            ("CREATE_DEDUPE", "false"),
            ("MATCH_TO_PARENT", "true"),
            ("FIELD_POLICY", r#"{"industry": "fill_empty", "tags": "union", "name": "ignore"}"#),
            ("SYNC_BACK_FIELDS_COMPANIES", "industry, accountTier"),
            ("SYNC_BACK_FIELDS_CONTACTS", "title"),
            ("MAX_BATCH", "500"),
            ("MAX_BODY_BYTES", "1_048_576"),
            ("MATCH_CACHE", "on"),
            ("MATCH_CACHE_MIN_D1_MS", "80"),
            ("CREATE_MERGE", "overwrite"),
            ("SHARED_DOMAINS", "hosting.example.com, https://pages.example.org/x"),
            ("PUBLIC_URL", "https://crm.example.com/"),
            ("DASHBOARD_PASSWORD", "correct horse"),
            ("EXPOSE_MEMORY", "true"),
        ])
        .unwrap();
        assert!(c.expose_memory);
        assert_eq!(c.auth.api_key_header, "Authorization-Key");
        let shared = ["hosting.example.com".to_string(), "https://pages.example.org/x".to_string()];
        assert_eq!(c.company_match, MatchRule::parse(RecordKind::Company, "domain | name").unwrap().with_shared_domains(&shared));
        assert!(c.company_match.is_shared(crate::domain::matching::MatchField::Domain, "example.org"));
        assert!(c.contact_match.is_shared(crate::domain::matching::MatchField::CompanyDomain, "example.com"));
        assert_eq!(c.ambiguous_match, AmbiguousMatch::Error);
        assert!(!c.create_dedupe);
        assert_eq!(c.create_merge, CreateMerge::Overwrite);
        assert!(c.match_to_parent);
        assert_eq!(c.field_policy["industry"], FieldPolicy::FillEmpty);
        assert_eq!(c.field_policy["tags"], FieldPolicy::Union);
        assert_eq!(c.field_policy["name"], FieldPolicy::Ignore);
        assert_eq!(c.sync_back_fields_companies, Some(vec!["industry".into(), "accountTier".into()]));
        assert_eq!(c.max_batch, 500);
        assert_eq!(c.max_body_bytes, 1_048_576);
        assert_eq!(c.match_cache, CacheMode::On);
        assert_eq!(c.match_cache_min_d1_ms, 80);
        assert_eq!(c.public_url.as_deref(), Some("https://crm.example.com"));
        assert_eq!(c.dashboard_password.as_deref(), Some("correct horse"));
    }

    #[test]
    fn bad_values_are_reported_by_name() {
        for (var, value) in [
            ("API_KEY_HEADER", "X API Key"),
            ("COMPANY_MATCH", "domian"),
            ("CONTACT_MATCH", "email &"),
            ("AMBIGUOUS_MATCH", "random"),
            ("CREATE_DEDUPE", "maybe"),
            ("MATCH_TO_PARENT", "2"),
            ("FIELD_POLICY", "{not json"),
            ("FIELD_POLICY", r#"["industry"]"#),
            ("FIELD_POLICY", r#"{"industry": "sometimes"}"#),
            ("SYNC_BACK_FIELDS_COMPANIES", " , "),
            ("MAX_BATCH", "abc"),
            ("MAX_BATCH", "0"),
            ("MAX_BATCH", "1000000"),
            ("MAX_BODY_BYTES", "-1"),
            ("MAX_BODY_BYTES", "200000000"),
            ("MATCH_CACHE", "sometimes"),
            ("MATCH_CACHE_MIN_D1_MS", "-1"),
            ("MATCH_CACHE_MIN_D1_MS", "fast"),
            ("MATCH_CACHE_MIN_D1_MS", "25ms"),
            ("MATCH_CACHE_MIN_D1_MS", "100000"),
            ("PUBLIC_URL", "crm.example.com"),
            ("DASHBOARD_PASSWORD", "short"),
            ("EXPOSE_MEMORY", "sometimes"),
        ] {
            let message = problem(&[(var, value)]);
            assert!(message.contains(var), "{var}={value:?} gave {message}");
        }
    }

    #[test]
    fn match_cache_takes_auto_on_off_and_a_threshold_from_zero() {
        for (value, mode) in [("auto", CacheMode::Auto), ("on", CacheMode::On), ("off", CacheMode::Off), ("true", CacheMode::On), ("0", CacheMode::Off)] {
            assert_eq!(config(&[("MATCH_CACHE", value)]).unwrap().match_cache, mode, "{value}");
        }
        assert_eq!(config(&[("MATCH_CACHE_MIN_D1_MS", "0")]).unwrap().match_cache_min_d1_ms, 0);
        assert_eq!(config(&[("MATCH_CACHE_MIN_D1_MS", "60000")]).unwrap().match_cache_min_d1_ms, 60_000);
        let message = problem(&[("MATCH_CACHE", "sometimes")]);
        assert!(message.contains("MATCH_CACHE must be auto, on or off"), "{message}");
        let message = problem(&[("MATCH_CACHE_MIN_D1_MS", "-5")]);
        assert!(message.contains("MATCH_CACHE_MIN_D1_MS must be a whole number from 0 to 60000"), "{message}");
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let message = problem(&[("MAX_BATCH", "x"), ("MATCH_CACHE", "y")]);
        assert!(message.contains("MAX_BATCH") && message.contains("MATCH_CACHE"), "{message}");
    }

    #[test]
    fn missing_or_weak_keys_are_reported_without_quoting_secrets() {
        let err = Config::from_lookup(|_| None).unwrap_err().to_string();
        assert!(err.contains("API_KEYS"), "{err}");
        let err = problem(&[("API_KEYS", "tooshort"), ("DASHBOARD_PASSWORD", "pw")]);
        assert!(err.contains("API_KEYS") && err.contains("DASHBOARD_PASSWORD"), "{err}");
        assert!(!err.contains("tooshort") && !err.contains("\"pw\""), "{err}");
    }

    fn access(team: &str, aud: &str) -> Result<Option<AccessConfig>, String> {
        config(&[("ACCESS_TEAM_DOMAIN", team), ("ACCESS_AUD", aud)]).map(|c| c.access).map_err(|e| e.to_string())
    }

    #[test]
    fn access_reads_the_team_origin_and_the_audience() {
        let aud = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
        let want = |team: &str| Ok(Some(AccessConfig { team_domain: team.to_string(), aud: aud.to_string() }));
        assert_eq!(access("https://acme.cloudflareaccess.com", aud), want("https://acme.cloudflareaccess.com"));
        assert_eq!(access(" https://acme.cloudflareaccess.com/ ", aud), want("https://acme.cloudflareaccess.com"), "trailing slash trimmed");
        assert_eq!(access("https://acme.cloudflareaccess.com//", aud), want("https://acme.cloudflareaccess.com"));
        assert_eq!(access("HTTPS://Acme.CloudflareAccess.com", aud), want("https://acme.cloudflareaccess.com"), "an origin is case-insensitive");
        assert_eq!(access("https://acme.example.com:8443", aud), want("https://acme.example.com:8443"));
        let c = config(&[("ACCESS_TEAM_DOMAIN", "https://acme.cloudflareaccess.com/"), ("ACCESS_AUD", aud)]).unwrap();
        assert_eq!(c.access.unwrap().certs_url(), "https://acme.cloudflareaccess.com/cdn-cgi/access/certs");
    }

    #[test]
    fn access_over_http_only_on_a_loopback_host() {
        for team in ["http://127.0.0.1:8787", "http://localhost:1", "http://[::1]:65535", "http://127.0.0.1", "http://localhost/"] {
            let got = access(team, "aud").unwrap().unwrap();
            assert_eq!(got.team_domain, team.trim_end_matches('/'), "{team}");
        }
        for team in ["http://acme.cloudflareaccess.com", "http://10.0.0.1:80", "http://127.0.0.2", "http://localhost.evil.com", "http://[::2]:80"] {
            let message = access(team, "aud").unwrap_err();
            assert!(message.contains("ACCESS_TEAM_DOMAIN") && message.contains("https://"), "{team}: {message}");
        }
    }

    #[test]
    fn access_team_domain_must_be_an_origin() {
        for team in [
            "acme.cloudflareaccess.com",
            "ftp://acme.cloudflareaccess.com",
            "https://",
            "https:///x",
            "https://acme.cloudflareaccess.com/cdn-cgi",
            "https://acme.cloudflareaccess.com?x=1",
            "https://acme.cloudflareaccess.com#x",
            "https://user@acme.cloudflareaccess.com",
            "https://acme cloudflareaccess.com",
            "https://acme.cloudflareaccess.com:",
            "https://acme.cloudflareaccess.com:0",
            "https://acme.cloudflareaccess.com:70000",
            "https://acme.cloudflareaccess.com:8a",
            "https://a:1:2",
            "https://[::1",
            "https://[::1]x",
            "https://[]",
        ] {
            let message = access(team, "aud").unwrap_err();
            assert!(message.contains("ACCESS_TEAM_DOMAIN"), "{team}: {message}");
            assert!(!message.contains("ACCESS_AUD"), "{team}: only the bad variable is named: {message}");
        }
    }

    #[test]
    fn access_needs_both_variables_or_neither() {
        let message = problem(&[("ACCESS_TEAM_DOMAIN", "https://acme.cloudflareaccess.com")]);
        assert!(message.contains("ACCESS_AUD is not set"), "{message}");
        let message = problem(&[("ACCESS_AUD", "aud")]);
        assert!(message.contains("ACCESS_TEAM_DOMAIN is not set"), "{message}");
        // Empty counts as unset, as for every variable.
        let message = problem(&[("ACCESS_TEAM_DOMAIN", "https://acme.cloudflareaccess.com"), ("ACCESS_AUD", " ")]);
        assert!(message.contains("ACCESS_AUD"), "{message}");
        assert_eq!(config(&[("ACCESS_TEAM_DOMAIN", ""), ("ACCESS_AUD", "")]).unwrap().access, None);
    }

    #[test]
    fn access_aud_is_one_word() {
        let message = access("https://acme.cloudflareaccess.com", "aud one, aud two").unwrap_err();
        assert!(message.contains("ACCESS_AUD"), "{message}");
        assert!(!message.contains("aud one"), "the value is not quoted: {message}");
    }

    #[test]
    fn access_parses_alone_when_other_variables_are_broken() {
        let map = HashMap::from([("MAX_BATCH", "x"), ("ACCESS_TEAM_DOMAIN", "https://acme.cloudflareaccess.com"), ("ACCESS_AUD", "tag")]);
        let lookup = |name: &str| map.get(name).map(|v| v.to_string());
        assert!(Config::from_lookup(lookup).is_err());
        let access = AccessConfig::from_lookup(lookup).unwrap().unwrap();
        assert_eq!(access.team_domain, "https://acme.cloudflareaccess.com");
        assert_eq!(AccessConfig::from_lookup(|_| None), Ok(None));
        let broken = AccessConfig::from_lookup(|name| (name == "ACCESS_AUD").then(|| "tag".to_string())).unwrap_err();
        assert!(broken.to_string().contains("ACCESS_TEAM_DOMAIN"), "{broken}");
    }

    #[test]
    fn auth_parses_alone_when_other_variables_are_broken() {
        let map = HashMap::from([("API_KEYS", KEY), ("MAX_BATCH", "x")]);
        let lookup = |name: &str| map.get(name).map(|v| v.to_string());
        assert!(Config::from_lookup(lookup).is_err());
        let auth = AuthConfig::from_lookup(lookup).unwrap();
        assert!(auth.api_keys.verify(Some(KEY)));
    }
}
