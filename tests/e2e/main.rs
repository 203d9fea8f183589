//! End-to-end tests: the real Worker under `wrangler dev` (workerd, local D1, local KV), over HTTP.
//!
//! `main` builds the Worker once, starts the servers this run needs, runs every test (in parallel,
//! each with its own data), and stops the servers. `cargo test --test e2e -- <filter>` runs some.

mod access;
mod activities;
mod associations;
mod bodies;
mod cost;
mod harness;
mod merge;
mod merge_pages;
mod health;
mod import;
mod jwt;
mod limits;
mod openapi;
mod pages;
mod pipeline;
mod races;
mod records;
mod schemas;
mod search;
#[path = "../support/html.rs"]
mod support_html;
mod sync;
mod tasks;
mod trust;
mod users;
mod webdriver;
mod work_pages;

use std::sync::Arc;
use std::time::Duration;

use harness::{random_hex, Client, Resp, Server, ServerOptions};
use libtest_mimic::{Arguments, Failed, Trial};

/// What every test gets.
pub struct App {
    /// The server as a team would run it: defaults (but the match cache on), schema applied, two
    /// valid keys.
    pub api: Client,
    pub server: Server,
    /// A server with a broken variable and no schema, for the `503` paths.
    pub broken: Client,
    pub broken_server: Server,
    /// A server with `COMPANY_MATCH=domain | name`, `AMBIGUOUS_MATCH=error`, `MATCH_TO_PARENT=true`,
    /// no dedupe on create, and the match cache on.
    pub matching: Client,
    pub matching_server: Server,
    /// A server with the defaults and the match cache off: the matching scenarios run on it and on
    /// `api` (cache on). It also sends `X-Wasm-Memory-Bytes` (`EXPOSE_MEMORY`).
    pub plain: Client,
    pub plain_server: Server,
    /// A server with no user, for the tests that need owners off and then on; otherwise the
    /// defaults (`MATCH_CACHE=auto`, which on local D1 leaves KV alone).
    pub users: Client,
    pub users_server: Server,
    /// A server with field write policies (FIELD_POLICY), contacts matched by email first
    /// (CONTACT_MATCH=email_or_linkedin_or_name_company), and `MATCH_CACHE=auto` with
    /// `MATCH_CACHE_MIN_D1_MS=0`: the cache in use whatever local D1's round trips.
    pub policy: Client,
    pub policy_server: Server,
    /// The served OpenAPI document; every client above checks the request bodies the Worker
    /// accepts against it (see `harness::Client`).
    pub spec: Arc<openapi::Spec>,
    /// The `api`, `broken`, `matching` and `access` servers' `DASHBOARD_PASSWORD` (the others
    /// have none: their pages are 404). The `matching` server also has a `PUBLIC_URL`.
    pub dashboard_password: String,
    /// A server with Cloudflare Access set (`ACCESS_TEAM_DOMAIN` is `team`'s origin, `ACCESS_AUD`
    /// its AUD tag), a `DASHBOARD_PASSWORD` that must open nothing, and the match cache off.
    pub access: Client,
    pub access_server: Server,
    /// The run's stand-in Access team: its keys, the key set it serves, tokens (`jwt.rs`).
    pub team: jwt::Team,
    /// The run's build, for a test that needs a server of its own. Last: dropped after the
    /// servers that serve it.
    pub build: harness::Build,
}

impl App {
    /// Fails unless `resp` matches what the OpenAPI document says `method pattern` answers.
    pub fn conforms(&self, pattern: &str, method: &str, resp: &Resp) {
        if let Err(e) = self.spec.check(pattern, method, resp.status, &resp.json()) {
            panic!("response does not match openapi.json: {e}");
        }
    }
}

type TestFn = fn(&App);

/// Held by the tests that send the largest bodies (megabytes, thousands of records), so that they
/// take turns while every other test still runs beside them: requests to one `wrangler dev` share
/// one isolate, and two such requests at once make every request in flight wait seconds.
static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn main() {
    let args = Arguments::from_args();
    let tests: Vec<(&str, TestFn)> = [health::TESTS, pipeline::TESTS, bodies::TESTS, records::TESTS, associations::TESTS, sync::BOTH, sync::TESTS, cost::TESTS, tasks::TESTS, activities::TESTS, users::TESTS, schemas::TESTS, pages::TESTS, trust::TESTS, merge::TESTS, merge_pages::TESTS, work_pages::TESTS, import::TESTS, races::TESTS, limits::TESTS, access::TESTS, search::TESTS].concat();
    if args.list {
        let trials = tests.iter().map(|(name, _)| Trial::test(*name, || Ok(()))).collect();
        libtest_mimic::run(&args, trials).exit();
    }

    let build = harness::build_worker();
    let keys = vec![format!("e2e_primary_{}", random_hex(16)), format!("e2e_rotated_{}", random_hex(16))];
    let dashboard_password = format!("e2e_pages_{}", random_hex(12));
    let mut server = Server::spawn(&build, ServerOptions {
        name: "api",
        // The match cache on: every test then also shows that the cache never changes an answer.
        vars: vec![("MATCH_CACHE", "on".to_string())],
        secrets: vec![("API_KEYS", keys.join(",")), ("DASHBOARD_PASSWORD", dashboard_password.clone())],
        apply_schema: true,
    });
    let mut broken_server = Server::spawn(&build, ServerOptions {
        name: "broken",
        vars: vec![("MAX_BATCH", "lots".to_string())],
        secrets: vec![("API_KEYS", keys[0].clone()), ("DASHBOARD_PASSWORD", dashboard_password.clone())],
        apply_schema: false,
    });
    let mut policy_server = Server::spawn(&build, ServerOptions {
        name: "policy",
        vars: vec![
            ("FIELD_POLICY", r#"{"industry":"fill_empty","tags":"union","name":"ignore","tier":"fill_empty"}"#.to_string()),
            ("CONTACT_MATCH", "email_or_linkedin_or_name_company".to_string()),
            ("MATCH_CACHE", "auto".to_string()),
            ("MATCH_CACHE_MIN_D1_MS", "0".to_string()),
        ],
        secrets: vec![("API_KEYS", keys[0].clone())],
        apply_schema: true,
    });
    let mut matching_server = Server::spawn(&build, ServerOptions {
        name: "matching",
        vars: vec![
            ("COMPANY_MATCH", "domain | name".to_string()),
            ("AMBIGUOUS_MATCH", "error".to_string()),
            ("MATCH_TO_PARENT", "true".to_string()),
            ("CREATE_DEDUPE", "false".to_string()),
            ("PUBLIC_URL", "https://crm.e2e.test/".to_string()),
            ("MATCH_CACHE", "on".to_string()),
        ],
        secrets: vec![("API_KEYS", keys[0].clone()), ("DASHBOARD_PASSWORD", dashboard_password.clone())],
        apply_schema: true,
    });
    let mut plain_server = Server::spawn(&build, ServerOptions {
        name: "plain",
        // EXPOSE_MEMORY: its answers say how large the Worker's wasm memory is (never asserted on).
        vars: vec![("MATCH_CACHE", "off".to_string()), ("EXPOSE_MEMORY", "true".to_string())],
        secrets: vec![("API_KEYS", keys[0].clone())],
        apply_schema: true,
    });
    let mut users_server = Server::spawn(&build, ServerOptions {
        name: "users",
        vars: vec![],
        secrets: vec![("API_KEYS", keys[0].clone())],
        apply_schema: true,
    });
    let team = jwt::Team::start();
    let mut access_server = Server::spawn(&build, ServerOptions {
        name: "access",
        vars: vec![
            ("ACCESS_TEAM_DOMAIN", team.origin.clone()),
            ("ACCESS_AUD", team.aud.clone()),
            ("MATCH_CACHE", "off".to_string()),
        ],
        secrets: vec![("API_KEYS", keys[0].clone()), ("DASHBOARD_PASSWORD", dashboard_password.clone())],
        apply_schema: true,
    });
    for s in [&mut server, &mut broken_server, &mut policy_server, &mut matching_server, &mut plain_server, &mut users_server, &mut access_server] {
        s.wait_ready(Duration::from_secs(120));
    }

    let doc = Client::new(&server.base, vec![]).send("GET", "/openapi.json", harness::Key::None, &[], None).json();
    let spec = Arc::new(openapi::Spec::new(doc));
    let client = |base: &str, keys: Vec<String>| Client::new(base, keys).with_spec(Arc::clone(&spec));
    let app = Arc::new(App {
        api: client(&server.base, keys.clone()),
        broken: client(&broken_server.base, vec![keys[0].clone()]),
        policy: client(&policy_server.base, vec![keys[0].clone()]),
        matching: client(&matching_server.base, vec![keys[0].clone()]),
        matching_server,
        plain: client(&plain_server.base, vec![keys[0].clone()]),
        plain_server,
        users: client(&users_server.base, vec![keys[0].clone()]),
        users_server,
        access: client(&access_server.base, vec![keys[0].clone()]),
        access_server,
        team,
        policy_server,
        server,
        broken_server,
        spec,
        dashboard_password,
        build,
    });

    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            let app = Arc::clone(&app);
            Trial::test(name, move || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(&app))).map_err(|panic| {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "test panicked".to_string());
                    Failed::from(message)
                })
            })
        })
        .collect();
    let mut conclusion = libtest_mimic::run(&args, trials);
    // After every test, every store's links hold (`races::link_problems`): what the tests did,
    // in parallel, on shared servers, left no record whose externalId disagrees with its links.
    let stores = [&app.server, &app.policy_server, &app.matching_server, &app.plain_server, &app.users_server, &app.access_server];
    for server in stores {
        let problems = races::link_problems(server);
        if !problems.is_empty() {
            eprintln!("\n[e2e] server {}: the store's links do not hold after the tests:", server.name);
            for problem in problems.iter().take(20) {
                eprintln!("  {problem}");
            }
            conclusion.num_failed += 1;
        }
    }
    if conclusion.has_failed() {
        let servers = [&app.server, &app.broken_server, &app.policy_server, &app.matching_server, &app.users_server, &app.access_server];
        for server in servers {
            let trouble = server.trouble();
            if !trouble.is_empty() {
                eprintln!("\n[e2e] server {} reported:", server.name);
                for line in trouble.iter().rev().take(40).rev() {
                    eprintln!("  {line}");
                }
            }
        }
    }
    // Stop the servers before exiting: `exit` skips destructors.
    drop(Arc::try_unwrap(app).ok());
    conclusion.exit();
}
