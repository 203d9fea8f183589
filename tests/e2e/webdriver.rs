//! A browser a test can drive: Debian's ChromeDriver and Chromium, headless, spoken to over the
//! W3C WebDriver protocol (plain HTTP and JSON, so `ureq` is all it needs). One driver per
//! browser, on a free port, stopped with it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::random_hex;

/// The key W3C WebDriver names an element by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    profile: std::path::PathBuf,
    agent: ureq::Agent,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium with a fresh profile, `width` × `height`.
    pub fn start(width: u32, height: u32) -> Browser {
        let driver_binary = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("chromedriver is not installed: `bash scripts/setup.sh` installs it (apt-get install chromium-driver)");
        let port = free_port();
        let driver = Command::new(driver_binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "chromedriver did not answer in 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = std::env::temp_dir().join(format!("edge-crm-webdriver-{}", random_hex(6)));
        let mut browser = Browser { driver, base, session: String::new(), profile, agent };
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", browser.profile.display()), format!("--window-size={width},{height}")])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
        }}});
        let answer = browser.call("POST", "/session", Some(caps));
        browser.session = answer["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {answer}")).to_string();
        browser
    }

    /// One WebDriver command; answers its `value`, and fails the test on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let req = self.agent.request(method, &url);
        let result = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(status, r)) => panic!("WebDriver {method} {path}: {status} {}", r.into_string().unwrap_or_default()),
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        };
        let answer: Value = response.into_json().expect("WebDriver answers JSON");
        answer.get("value").cloned().unwrap_or(Value::Null)
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", &self.session_path("/url"), Some(json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.call("GET", &self.session_path("/url"), None).as_str().unwrap_or_default().to_string()
    }

    /// The document as the browser holds it now.
    pub fn source(&self) -> String {
        self.call("GET", &self.session_path("/source"), None).as_str().unwrap_or_default().to_string()
    }

    /// The first element `css` selects; fails the test when there is none.
    pub fn find(&self, css: &str) -> String {
        let found = self.call("POST", &self.session_path("/element"), Some(json!({"using": "css selector", "value": css})));
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_string()
    }

    /// Clicks what `css` selects, as a person would.
    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.call("POST", &self.session_path(&format!("/element/{element}/click")), Some(json!({})));
    }

    /// Types `text` into what `css` selects, after clearing it (a date input takes the date as
    /// the browser's locale writes it; `set_value` fills one without typing).
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.call("POST", &self.session_path(&format!("/element/{element}/clear")), Some(json!({})));
        self.call("POST", &self.session_path(&format!("/element/{element}/value")), Some(json!({ "text": text })));
    }

    /// Chooses a file for a file input, as a person picking it would (`path` on this machine).
    pub fn choose_file(&self, css: &str, path: &Path) {
        let element = self.find(css);
        self.call("POST", &self.session_path(&format!("/element/{element}/value")), Some(json!({ "text": path.display().to_string() })));
    }

    /// Sets an input's value directly (for inputs whose typing is locale-dependent, such as a
    /// date), through a script the test runs in the page: the page itself runs none.
    pub fn set_value(&self, css: &str, value: &str) {
        let element = self.find(css);
        let script = "arguments[0].value = arguments[1];";
        self.call("POST", &self.session_path("/execute/sync"), Some(json!({"script": script, "args": [{ ELEMENT: element }, value]})));
    }

    /// Presses keys on whatever has the focus, as a keyboard would (`\u{E004}` is Tab, `\u{E007}`
    /// Enter, `\u{E00D}` Space).
    pub fn keys(&self, keys: &str) {
        let actions = keys.chars().flat_map(|k| [json!({"type": "keyDown", "value": k.to_string()}), json!({"type": "keyUp", "value": k.to_string()})]).collect::<Vec<_>>();
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.call("POST", &self.session_path("/actions"), Some(body));
    }

    /// An attribute of the element that has the focus (`id`, `name`, `value`, or `outerHTML`
    /// through the property of that name).
    pub fn focused(&self, property: &str) -> String {
        let element = self.call("GET", &self.session_path("/element/active"), None);
        let id = element[ELEMENT].as_str().unwrap_or_default().to_string();
        let value = self.call("GET", &self.session_path(&format!("/element/{id}/property/{property}")), None);
        value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string())
    }

    /// What a script of the test computes in the page (its answer as JSON).
    pub fn eval(&self, script: &str) -> Value {
        self.call("POST", &self.session_path("/execute/sync"), Some(json!({"script": script, "args": []})))
    }

    /// Whether a checkbox or radio button `css` selects is checked.
    pub fn selected(&self, css: &str) -> bool {
        let element = self.find(css);
        self.call("GET", &self.session_path(&format!("/element/{element}/selected")), None).as_bool().unwrap_or(false)
    }

    /// A picture of the page, saved as PNG at `path`.
    pub fn screenshot(&self, path: &Path) {
        let data = self.call("GET", &self.session_path("/screenshot"), None);
        let bytes = edge_crm::domain::base64::decode(data.as_str().unwrap_or_default(), edge_crm::domain::base64::STANDARD)
            .expect("a screenshot is base64");
        assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(path, bytes).unwrap();
    }

    /// Waits until the page holds `text` (after a form whose answer stays at the same address);
    /// answers the page.
    pub fn wait_for_text(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let html = self.source();
            if html.contains(text) {
                return html;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "the page never showed {text:?}:\n{html}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the browser shows a page whose address contains `part`.
    pub fn wait_for_url(&self, part: &str) -> String {
        let started = Instant::now();
        loop {
            let url = self.url();
            if url.contains(part) {
                return url;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "the browser stayed at {url}, expected {part}:\n{}", self.source());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.agent.delete(&format!("{}/session/{}", self.base, self.session)).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
