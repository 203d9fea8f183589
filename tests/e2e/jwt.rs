//! A stand-in for a Cloudflare Access team, for the tests of per-person sign-in (`access.rs`):
//! RSA keys made at the start of the run by the `openssl` command (none is committed), their key
//! set served over HTTP on 127.0.0.1 at `/cdn-cgi/access/certs` as Access serves it, and tokens
//! signed with them (RS256 through `openssl dgst -sha256 -sign`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edge_crm::domain::base64;
use serde_json::{json, Value};

use crate::harness::{random_hex, scratch_dir};

/// An RSA key pair in a PEM file, and its public half as a JWK.
pub struct RsaKey {
    pub kid: String,
    pem: PathBuf,
    /// The modulus, base64url.
    n: String,
}

impl RsaKey {
    fn generate(dir: &std::path::Path, kid: &str) -> RsaKey {
        let pem = dir.join(format!("{kid}.pem"));
        let out = Command::new("openssl")
            .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
            .arg(&pem)
            .output()
            .expect("run openssl genpkey");
        assert!(out.status.success(), "openssl genpkey: {}", String::from_utf8_lossy(&out.stderr));
        let out = Command::new("openssl").args(["rsa", "-noout", "-modulus", "-in"]).arg(&pem).output().expect("run openssl rsa");
        assert!(out.status.success(), "openssl rsa: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let hex = text.trim().strip_prefix("Modulus=").expect("openssl prints Modulus=<hex>");
        let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        RsaKey { kid: kid.to_string(), pem, n: b64(&bytes) }
    }

    /// The public key as Access publishes it.
    pub fn jwk(&self) -> Value {
        json!({"kid": self.kid, "kty": "RSA", "alg": "RS256", "use": "sig", "e": "AQAB", "n": self.n})
    }

    /// An RS256 signature (RSASSA-PKCS1-v1_5, SHA-256) of `data`.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&self.pem)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run openssl dgst");
        child.stdin.take().unwrap().write_all(data).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "openssl dgst: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout.len(), 256, "a 2048-bit signature");
        out.stdout
    }
}

pub fn b64(bytes: &[u8]) -> String {
    base64::encode(bytes, base64::URL_SAFE, false)
}

/// Seconds since the epoch, as a token's times are written.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The team: its origin (`ACCESS_TEAM_DOMAIN`), the application's AUD tag (`ACCESS_AUD`), its
/// keys, and the key set it serves.
pub struct Team {
    pub origin: String,
    pub aud: String,
    /// The key Access signs with, in the key set from the start.
    pub current: RsaKey,
    /// A key the team never publishes (a forger's).
    pub stray: RsaKey,
    /// A key published only once a test rotates to it ([`Team::publish`]).
    pub next: RsaKey,
    served: Arc<Mutex<Vec<Value>>>,
    /// How many times the key set was fetched.
    fetches: Arc<AtomicUsize>,
    dir: PathBuf,
}

impl Team {
    /// Makes the keys and starts serving the key set on a free port of 127.0.0.1.
    pub fn start() -> Team {
        let dir = scratch_dir().join(format!("edge-crm-access-{}-{}", std::process::id(), random_hex(4)));
        std::fs::create_dir_all(&dir).unwrap();
        let tag = random_hex(3);
        let current = RsaKey::generate(&dir, &format!("current-{tag}"));
        let stray = RsaKey::generate(&dir, &format!("stray-{tag}"));
        let next = RsaKey::generate(&dir, &format!("next-{tag}"));
        // Access's key set also lists keys of other types beside the current RSA keys; a Worker
        // must pick by kid, not by position.
        let served = Arc::new(Mutex::new(vec![
            json!({"kid": format!("ec-{tag}"), "kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}),
            current.jwk(),
        ]));
        let fetches = Arc::new(AtomicUsize::new(0));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let (keys, count) = (Arc::clone(&served), Arc::clone(&fetches));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (keys, count) = (Arc::clone(&keys), Arc::clone(&count));
                std::thread::spawn(move || answer(stream, &keys, &count));
            }
        });
        Team { origin, aud: random_hex(32), current, stray, next, served, fetches, dir }
    }

    /// Adds `key` to the key set (a rotation: the new key beside the old).
    pub fn publish(&self, key: &RsaKey) {
        self.served.lock().unwrap().push(key.jwk());
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// The claims Access puts in an application token for `email`, valid for ten minutes.
    pub fn claims(&self, email: &str) -> Value {
        let now = now();
        json!({
            "aud": [self.aud],
            "email": email,
            "exp": now + 600,
            "iat": now,
            "nbf": now,
            "iss": self.origin,
            "type": "app",
            "identity_nonce": random_hex(8),
            "sub": format!("{}-{}", random_hex(4), random_hex(6)),
            "country": "ES"
        })
    }

    /// A token of `claims` signed by `key` with its own kid.
    pub fn token(&self, key: &RsaKey, claims: &Value) -> String {
        signed(key, &json!({"alg": "RS256", "kid": key.kid, "typ": "JWT"}), claims)
    }
}

/// A token with this `header` and `claims`, signed RS256 by `key` (whatever the header says).
pub fn signed(key: &RsaKey, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    format!("{input}.{}", b64(&key.sign(input.as_bytes())))
}

/// A token with this `header` and `claims` and the given signature bytes.
pub fn with_signature(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!("{}.{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()), b64(signature))
}

/// An HS256 token "signed" with `secret` (the confusion attack uses the public key as the secret).
pub fn hs256(kid: &str, claims: &Value, secret: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let header = json!({"alg": "HS256", "kid": kid, "typ": "JWT"});
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

/// The public key's JWK text, as a forger would use it for an HS256 secret.
pub fn public_text(key: &RsaKey) -> Vec<u8> {
    key.jwk().to_string().into_bytes()
}

impl Drop for Team {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Answers one HTTP/1.1 request: the key set at `/cdn-cgi/access/certs`, `404` elsewhere.
fn answer(mut stream: TcpStream, keys: &Mutex<Vec<Value>>, count: &AtomicUsize) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
        if request.len() > 64 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&request);
    let target = text.split_whitespace().nth(1).unwrap_or_default();
    let (status, body) = if target == "/cdn-cgi/access/certs" {
        count.fetch_add(1, Ordering::SeqCst);
        let keys = keys.lock().unwrap().clone();
        // Access also publishes the certificates; a Worker reads `keys` only.
        ("200 OK", json!({"keys": keys, "public_cert": {"kid": "x", "cert": "-----BEGIN CERTIFICATE-----"}, "public_certs": []}).to_string())
    } else {
        ("404 Not Found", "{}".to_string())
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}
