//! `scripts/connect-enginy.sh --dry-run`: the requests it would send to Enginy's public API, built
//! from a deployment's wrangler.toml, with both keys kept out of the output.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{json, Value};

const CRM_KEY: &str = "prod_0123456789abcdef0123456789abcdef";
const ENGINY_KEY: &str = "gsk_enginy_secret_42";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A deployment's configuration: the project's wrangler.toml with these `[vars]` values.
fn config(public_url: &str, header: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("wrangler.toml")).unwrap();
    let text = text
        .lines()
        .map(|line| {
            if line.starts_with("PUBLIC_URL =") {
                format!("PUBLIC_URL = \"{public_url}\"")
            } else if line.starts_with("API_KEY_HEADER =") {
                format!("API_KEY_HEADER = \"{header}\"")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let dir = std::env::temp_dir().join(format!("edge-crm-connect-{}-{}", std::process::id(), header));
    std::fs::create_dir_all(&dir).unwrap();
    let name: String = public_url.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let path = dir.join(format!("wrangler-{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("scripts/connect-enginy.sh")).args(args).env_remove("EDGE_CRM_API_KEY").env_remove("ENGINY_API_KEY").env_remove("ENGINY_API_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run scripts/connect-enginy.sh")
}

/// The dry run's requests: (request line, headers, JSON body if any).
fn requests(stdout: &str) -> Vec<(String, Vec<String>, Option<Value>)> {
    stdout
        .split("\n\n")
        .filter(|block| !block.starts_with('#'))
        .fold(Vec::new(), |mut out: Vec<(String, Vec<String>, Option<Value>)>, block| {
            let block = block.trim();
            if block.starts_with('{') {
                out.last_mut().expect("a body follows its request").2 = Some(serde_json::from_str(block).unwrap());
            } else {
                let mut lines = block.lines();
                let line = lines.next().unwrap().to_string();
                out.push((line, lines.map(str::to_string).collect(), None));
            }
            out
        })
}

#[test]
fn dry_run_prints_test_then_connect_built_from_the_deployment() {
    let cfg = config("https://crm.acme.example/", "X-Acme-Key");
    let out = run(
        &["--dry-run", "--config", cfg.to_str().unwrap()],
        &[("EDGE_CRM_API_KEY", CRM_KEY), ("ENGINY_API_KEY", ENGINY_KEY)],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains(CRM_KEY) && !stdout.contains(ENGINY_KEY), "a key leaked:\n{stdout}");

    let reqs = requests(&stdout);
    let lines: Vec<&str> = reqs.iter().map(|(l, _, _)| l.as_str()).collect();
    assert_eq!(
        lines,
        [
            "GET https://crm.acme.example/health",
            "POST https://openapi.enginy.ai/v1/custom-crm/test",
            "POST https://openapi.enginy.ai/v1/custom-crm/connect",
            "GET https://openapi.enginy.ai/v1/custom-crm/status",
        ]
    );
    // The deployment's own header carries the CRM key; Enginy's API takes x-api-key.
    assert!(reqs[0].1.iter().any(|h| h.starts_with("X-Acme-Key: <EDGE_CRM_API_KEY, 37 characters>")), "{:?}", reqs[0].1);
    assert!(reqs[1].1.iter().any(|h| h == "x-api-key: <ENGINY_API_KEY, 20 characters>"), "{:?}", reqs[1].1);
    let masked = "<EDGE_CRM_API_KEY, 37 characters>";
    assert_eq!(
        reqs[1].2,
        Some(json!({"baseUrl": "https://crm.acme.example", "apiKey": masked, "apiKeyHeader": "X-Acme-Key"}))
    );
    assert_eq!(
        reqs[2].2,
        Some(json!({
            "baseUrl": "https://crm.acme.example",
            "apiKey": masked,
            "apiKeyHeader": "X-Acme-Key",
            "contactLinkTemplate": "https://crm.acme.example/view/contact/{{crmId}}",
            "companyLinkTemplate": "https://crm.acme.example/view/company/{{crmId}}",
        }))
    );
    assert_eq!(reqs[3].2, None);
}

#[test]
fn base_url_flag_wins_and_links_can_be_left_out() {
    let cfg = config("https://ignored.example", "X-API-Key");
    let out = run(
        &["--dry-run", "--no-links", "--base-url", "https://edge-crm.team.workers.dev", "--config", cfg.to_str().unwrap()],
        &[("EDGE_CRM_API_KEY", CRM_KEY), ("ENGINY_API_URL", "https://enginy.test/")],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let reqs = requests(&stdout);
    assert_eq!(reqs[2].0, "POST https://enginy.test/v1/custom-crm/connect");
    let connect = reqs[2].2.as_ref().unwrap();
    assert_eq!(connect["baseUrl"], "https://edge-crm.team.workers.dev");
    assert_eq!(connect["apiKeyHeader"], "X-API-Key");
    assert!(connect.get("contactLinkTemplate").is_none() && connect.get("companyLinkTemplate").is_none(), "{connect}");
}

#[test]
fn missing_or_unusable_settings_are_refused_with_a_reason() {
    let no_url = config("", "X-API-Key");
    let plain_http = config("http://crm.example.com", "X-API-Key");
    let with_url = config("https://crm.example.com", "X-API-Key");
    for (args, env, reason) in [
        (vec!["--dry-run", "--config", no_url.to_str().unwrap()], vec![("EDGE_CRM_API_KEY", CRM_KEY)], "PUBLIC_URL"),
        (vec!["--dry-run", "--config", plain_http.to_str().unwrap()], vec![("EDGE_CRM_API_KEY", CRM_KEY)], "https://"),
        (vec!["--dry-run", "--config", with_url.to_str().unwrap()], vec![], "EDGE_CRM_API_KEY"),
        (vec!["--dry-run", "--config", with_url.to_str().unwrap()], vec![("EDGE_CRM_API_KEY", "short")], "16 characters"),
        // Without --dry-run, the Enginy key is needed before anything is sent.
        (vec!["--config", with_url.to_str().unwrap()], vec![("EDGE_CRM_API_KEY", CRM_KEY)], "ENGINY_API_KEY"),
        (vec!["--bogus"], vec![], "unknown argument"),
    ] {
        let out = run(&args, &env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(out.stdout.is_empty(), "{args:?} printed requests");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}
