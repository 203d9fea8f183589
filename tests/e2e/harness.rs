//! Starts the Worker under `wrangler dev` (workerd, local D1 and KV) and talks to it over HTTP.
//!
//! One build, then one server per configuration, each with its own `--persist-to` state on a free
//! port, stopped (its whole process group) when the run ends. Tests share a server and keep to
//! their own data by using unique ids (`App::unique`).

use std::collections::HashMap;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::openapi::Spec;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where a run keeps its build snapshot and server state: under this checkout's `target/`, not the
/// machine's shared temporary directory, so runs of other checkouts on the same machine (which
/// use the same names) can never see, reuse or delete them.
pub fn scratch_dir() -> PathBuf {
    let dir = repo_root().join("target").join("e2e-tmp");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Random hex from the OS, for keys and unique ids.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut buf).unwrap();
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The environment of `scripts/env.sh`, so the harness needs no shell.
fn tool_env(cmd: &mut Command) -> &mut Command {
    let root = repo_root();
    // Where `cargo install` put worker-build and wasm-bindgen (scripts/env.sh does the same).
    let cargo_bin = match std::env::var("CARGO_HOME") {
        Ok(home) if !home.is_empty() => PathBuf::from(home).join("bin"),
        _ => PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo/bin"),
    };
    let path = format!(
        "{}:{}:{}",
        cargo_bin.display(),
        root.join("node_modules/.bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.current_dir(&root)
        .env("PATH", path)
        .env("WASM_BINDGEN_BIN", cargo_bin.join("wasm-bindgen"))
        .env("ESBUILD_BIN", root.join("node_modules/.bin/esbuild"))
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CI", "true")
}

/// A snapshot of the built Worker with its own `wrangler.toml` (no build step), so servers of
/// this run never reload when someone edits `src/` or rebuilds `build/` meanwhile.
pub struct Build {
    dir: PathBuf,
}

impl Build {
    fn config(&self) -> PathBuf {
        self.dir.join("wrangler.toml")
    }
}

impl Drop for Build {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Builds the Worker once for the whole run, and snapshots it.
pub fn build_worker() -> Build {
    let started = Instant::now();
    eprintln!("[e2e] building the Worker (scripts/build.sh)");
    let status = tool_env(Command::new("bash").arg("scripts/build.sh")).status().expect("run scripts/build.sh");
    assert!(status.success(), "the Worker did not build");
    let build = snapshot(&repo_root());
    eprintln!("[e2e] built in {:.1}s", started.elapsed().as_secs_f64());
    build
}

/// A snapshot of the Worker built in `root` (a checkout whose `scripts/build.sh` has run): its
/// `build/`, migrations and configuration, less the build step. A benchmark serves another
/// checkout's build this way, as its baseline.
pub fn snapshot(root: &Path) -> Build {
    assert!(root.join("build").is_dir(), "no Worker built in {}", root.display());
    let dir = scratch_dir().join(format!("edge-crm-build-{}-{}", std::process::id(), random_hex(4)));
    copy_dir(&root.join("build"), &dir.join("build"));
    // The migrations go with it: `migrations_dir` is relative to the configuration file.
    copy_dir(&root.join("migrations"), &dir.join("migrations"));
    // The project's configuration, less its build step.
    let config = std::fs::read_to_string(root.join("wrangler.toml")).unwrap();
    let mut in_build = false;
    let kept: Vec<&str> = config
        .lines()
        .filter(|line| {
            if line.starts_with('[') {
                in_build = line.trim() == "[build]";
            }
            !in_build
        })
        .collect();
    std::fs::write(dir.join("wrangler.toml"), kept.join("\n")).unwrap();
    Build { dir }
}

pub struct ServerOptions<'a> {
    pub name: &'a str,
    /// Plain variables, passed with `--var`.
    pub vars: Vec<(&'a str, String)>,
    /// Secrets, passed in an env file so wrangler never prints them.
    pub secrets: Vec<(&'a str, String)>,
    /// Applies `migrations/` (`wrangler d1 migrations apply DB --local`) before serving.
    pub apply_schema: bool,
}

/// One `wrangler dev` process group with its own state directory.
pub struct Server {
    pub name: String,
    pub base: String,
    child: Option<Child>,
    config: PathBuf,
    vars: Vec<(String, String)>,
    secrets: PathBuf,
    state: PathBuf,
    log: PathBuf,
    /// How many times `wrangler dev` was started (again after a port was taken).
    starts: u32,
}

impl Server {
    /// Spawns the server; `wait_ready` then waits until it answers.
    pub fn spawn(build: &Build, opts: ServerOptions) -> Server {
        let state = scratch_dir().join(format!("edge-crm-e2e-{}-{}-{}", opts.name, std::process::id(), random_hex(4)));
        std::fs::create_dir_all(&state).unwrap();
        if opts.apply_schema {
            // As a team does it: every migration in migrations/, recorded in d1_migrations.
            let out = tool_env(Command::new("wrangler").args(["d1", "migrations", "apply", "DB", "--local", "-c"]))
                .arg(build.config())
                .arg("--persist-to")
                .arg(&state)
                .output()
                .expect("run wrangler d1 migrations apply");
            assert!(
                out.status.success(),
                "applying the migrations failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let secrets = state.join("secrets.env");
        let text: String = opts.secrets.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(&secrets, text).unwrap();
        let log = state.join("wrangler.log");
        let mut server = Server {
            name: opts.name.to_string(),
            base: String::new(),
            child: None,
            config: build.config(),
            vars: opts.vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            secrets,
            state,
            log,
            starts: 0,
        };
        server.start();
        server
    }

    /// Starts `wrangler dev` on two ports free a moment ago (the server's and its inspector's).
    fn start(&mut self) {
        if let Some(mut old) = self.child.take() {
            stop(&mut old);
        }
        let port = free_port();
        self.starts += 1;
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let mut cmd = Command::new("wrangler");
        tool_env(&mut cmd)
            .args(["dev", "-c"])
            .arg(&self.config)
            .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
            .args(["--inspector-port", &free_port().to_string()])
            .arg("--persist-to")
            .arg(&self.state)
            .args(["--show-interactive-dev-session=false", "--log-level", "log"])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            // Its own process group, so stopping it also stops workerd, wrangler's child.
            .process_group(0);
        cmd.arg("--env-file").arg(&self.secrets);
        for (k, v) in &self.vars {
            cmd.arg("--var").arg(format!("{k}:{v}"));
        }
        self.child = Some(cmd.spawn().expect("spawn wrangler dev"));
        self.base = format!("http://127.0.0.1:{port}");
    }

    /// Waits until the server answers HTTP at all (any status), or fails with its log.
    pub fn wait_ready(&mut self, timeout: Duration) {
        let started = Instant::now();
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(2)).build();
        loop {
            match agent.get(&format!("{}/openapi.json", self.base)).call() {
                Ok(_) | Err(ureq::Error::Status(..)) => break,
                Err(_) => {}
            }
            if let Ok(Some(status)) = self.child.as_mut().expect("started").try_wait() {
                // A port picked free was taken before the runtime bound it (another server's
                // runtime picks its own ports too): start again on other ports.
                if self.log_text().contains("Address already in use") && self.starts < 3 {
                    eprintln!("[e2e] server {}: a port was taken meanwhile; starting again on others", self.name);
                    self.start();
                    continue;
                }
                panic!("wrangler dev ({}) exited with {status}:\n{}", self.name, self.log_text());
            }
            if started.elapsed() > timeout {
                panic!("wrangler dev ({}) did not answer within {timeout:?}:\n{}", self.name, self.log_text());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!("[e2e] server {} ready at {} in {:.1}s", self.name, self.base, started.elapsed().as_secs_f64());
    }

    /// Everything the server printed so far (the Worker's own log lines among it).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The lines of the log that tell of a failure on the Worker's side (a panic, an uncaught
    /// exception, a restart, a 5xx answer), for the report of a failed run: the log itself goes
    /// with the server's state.
    pub fn trouble(&self) -> Vec<String> {
        let signs = ["panic", "Uncaught", "restart", "RuntimeError", "\"status\":5", "✘", "internal error"];
        self.log_text().lines().filter(|l| signs.iter().any(|s| l.contains(s))).map(str::to_string).collect()
    }

    pub fn state_dir(&self) -> &Path {
        &self.state
    }

    /// The process group of `wrangler dev` and its runtime (the benchmark reads their CPU time).
    pub fn process_group(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server, keeping its state (a benchmark writes the database file meanwhile).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child);
        }
    }

    /// Serves the same state again (on new ports): `wait_ready` then waits for it.
    pub fn restart(&mut self) {
        self.start();
    }

    /// Serves the same state again with another build of the Worker (a benchmark's baseline),
    /// which this server serves from then on: `wait_ready` then waits for it.
    pub fn restart_with(&mut self, build: &Build) {
        self.config = build.config();
        self.start();
    }
}

/// Stops a `wrangler dev` process group (wrangler and its runtime).
fn stop(child: &mut Child) {
    let pgid = child.id().to_string();
    // `--` matters: procps `kill -TERM -<n>` without it does not read `-<n>` as a group.
    let group = format!("-{pgid}");
    let _ = Command::new("kill").args(["-s", "TERM", "--", &group]).stderr(Stdio::null()).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill").args(["-s", "KILL", "--", &group]).stderr(Stdio::null()).status();
    let _ = child.wait();
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            stop(child);
        }
        if std::env::var_os("EDGE_CRM_KEEP_STATE").is_none() {
            let _ = std::fs::remove_dir_all(&self.state);
        }
    }
}

/// A response, whatever its status.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("status {} body is not JSON ({e}): {}", self.status, String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client for one server, with the keys that server accepts.
///
/// With a [`Spec`] (every client of the suite has one), each request body the Worker accepts is
/// checked against the request schema of its route in the served OpenAPI document, so the
/// description cannot drift from what the Worker takes. The rule:
/// - only a `2xx` answer counts as accepted: a body a test sends on purpose to be refused gets a
///   `4xx` and is not checked (and nothing else need mark it);
/// - in a batch that answers `200` with per-item outcomes, the items the answer reports as failed
///   are left out and the rest of the body is checked (see [`accepted_part`]): one bad item on
///   purpose does not exempt its neighbours;
/// - a route whose operation documents no body (the Worker reads none) is not checked; the
///   native test `tests/openapi_document.rs` keeps "documents a body" equal to "reads a body".
///
/// A mismatch panics, failing the test, with the method, the route, and each place in the body
/// (`$.contacts[0].email`) with what the schema wanted.
pub struct Client {
    pub base: String,
    pub keys: Vec<String>,
    agent: ureq::Agent,
    spec: Option<Arc<Spec>>,
}

/// How a request is authenticated.
#[derive(Clone, Copy)]
pub enum Key<'a> {
    /// The first valid key.
    Valid,
    None,
    Given(&'a str),
}

impl Client {
    pub fn new(base: &str, keys: Vec<String>) -> Client {
        Client {
            base: base.to_string(),
            keys,
            // A redirect is an answer to check, not to follow (the pages answer `302`/`303`).
            agent: ureq::AgentBuilder::new().redirects(0).timeout(Duration::from_secs(60)).build(),
            spec: None,
        }
    }

    /// The same client, checking every accepted request body against `spec` (see [`Client`]).
    pub fn with_spec(mut self, spec: Arc<Spec>) -> Client {
        self.spec = Some(spec);
        self
    }

    /// The general form: any method, key, extra headers and raw body.
    pub fn send(&self, method: &str, path: &str, key: Key, headers: &[(&str, &str)], body: Option<&[u8]>) -> Resp {
        let mut req = self.agent.request(method, &format!("{}{}", self.base, path));
        match key {
            Key::Valid => req = req.set("X-API-Key", &self.keys[0]),
            Key::Given(k) => req = req.set("X-API-Key", k),
            Key::None => {}
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let result = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .map(|n| {
                let v = response.header(&n).unwrap_or_default().to_string();
                (n.to_ascii_lowercase(), v)
            })
            .collect();
        let mut bytes = Vec::new();
        response.into_reader().read_to_end(&mut bytes).unwrap();
        let resp = Resp { status, headers, body: bytes };
        if let (Some(spec), Some(sent)) = (&self.spec, body) {
            if (200..300).contains(&resp.status) {
                if let Err(e) = check_accepted_request(spec, method, path, sent, &resp) {
                    panic!("the Worker accepted a request body that openapi.json does not allow: {e}");
                }
            }
        }
        resp
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send("GET", path, Key::Valid, &[], None)
    }

    /// A JSON request with the valid key.
    pub fn json(&self, method: &str, path: &str, body: &serde_json::Value) -> Resp {
        self.send(method, path, Key::Valid, &[("Content-Type", "application/json")], Some(body.to_string().as_bytes()))
    }
}

/// Checks a body the Worker answered `2xx` to against its route's request schema (see [`Client`]).
pub fn check_accepted_request(spec: &Spec, method: &str, path: &str, sent: &[u8], resp: &Resp) -> Result<(), String> {
    let Some(route) = spec.route_of(method, path) else {
        // Not an API operation (the HTML pages): nothing documents its body.
        return Ok(());
    };
    if spec.request_schema(&route, method)?.is_none() {
        return Ok(());
    }
    let body: Value = serde_json::from_slice(sent)
        .map_err(|e| format!("{method} {route} ({path}) answered {} to a body that is not JSON ({e})", resp.status))?;
    let answer: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let accepted = accepted_part(method, &route, &body, &answer);
    spec.check_request(&route, method, &accepted).map_err(|e| {
        let mut shown = accepted.to_string();
        if shown.len() > 2_000 {
            let cut = (0..=2_000).rev().find(|i| shown.is_char_boundary(*i)).unwrap_or(0);
            shown.truncate(cut);
            shown.push('…');
        }
        format!("{e} (sent to {path}, answered {})\nbody as checked: {shown}", resp.status)
    })
}

/// The part of a `2xx` request the Worker accepted: for a batch route with per-item outcomes, the
/// body without the items its answer reports as failed ([`item_outcomes`]). Any other body was
/// accepted whole.
pub fn accepted_part(method: &str, route: &str, body: &Value, answer: &Value) -> Value {
    let Some((key, outcomes)) = item_outcomes(method, route, body, answer) else { return body.clone() };
    let mut out = body.clone();
    let kept = body[key].as_array().into_iter().flatten().zip(&outcomes).filter(|(_, failed)| failed.is_none());
    out[key] = Value::Array(kept.map(|(item, _)| item.clone()).collect());
    out
}

/// For a batch route that answers each item's outcome: the key of the items in the body, and per
/// item the `code` of its failure (`None` when it succeeded). A failure is read from
/// `errors[].index` for creates, sync, tasks, activities and users, and from
/// `results[i].success == false` for updates and associations. `None` for every other route, and
/// for the single form of the one-or-batch routes (the body lacks the key).
pub fn item_outcomes(method: &str, route: &str, body: &Value, answer: &Value) -> Option<(&'static str, Vec<Option<String>>)> {
    enum Failed {
        ErrorIndexes,
        UnsuccessfulResults,
    }
    let (key, failed) = match (method, route) {
        ("POST", "/contacts" | "/contacts/sync") => ("contacts", Failed::ErrorIndexes),
        ("POST", "/companies" | "/companies/sync") => ("companies", Failed::ErrorIndexes),
        ("PUT", "/contacts") => ("contacts", Failed::UnsuccessfulResults),
        ("PUT", "/companies") => ("companies", Failed::UnsuccessfulResults),
        ("POST" | "DELETE", "/associations") => ("associations", Failed::UnsuccessfulResults),
        ("POST", "/tasks") => ("tasks", Failed::ErrorIndexes),
        ("POST", "/activities") => ("activities", Failed::ErrorIndexes),
        ("POST", "/users") => ("users", Failed::ErrorIndexes),
        _ => return None,
    };
    let items = body.get(key)?.as_array()?;
    let mut outcomes: Vec<Option<String>> = vec![None; items.len()];
    let code = |v: &Value| v["code"].as_str().unwrap_or("(no code)").to_string();
    match failed {
        Failed::ErrorIndexes => {
            for e in answer["errors"].as_array().into_iter().flatten() {
                if let Some(slot) = e["index"].as_u64().and_then(|i| outcomes.get_mut(i as usize)) {
                    *slot = Some(code(e));
                }
            }
        }
        Failed::UnsuccessfulResults => {
            for (slot, r) in outcomes.iter_mut().zip(answer["results"].as_array().into_iter().flatten()) {
                if r["success"] == Value::Bool(false) {
                    *slot = Some(code(r));
                }
            }
        }
    }
    Some((key, outcomes))
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A string no other test (and no other run) uses, for external ids, names and domains.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", random_hex(4), COUNTER.fetch_add(1, Ordering::Relaxed))
}


/// An `Authorization` header for HTTP Basic auth (RFC 7617), as a browser sends it for the pages.
pub fn basic_auth(user: &str, password: &str) -> String {
    use edge_crm::domain::base64;
    format!("Basic {}", base64::encode(format!("{user}:{password}").as_bytes(), base64::STANDARD, true))
}
