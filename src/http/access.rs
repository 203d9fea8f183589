//! Per-person sign-in through Cloudflare Access (API.md §2): the platform half of
//! `domain::access`. It fetches the team's keys, keeps them per isolate, and checks the RS256
//! signature with WebCrypto (through `js_sys`, so no crate is added); every decision is the pure
//! core's.
//!
//! The order is the core's: the token's structure and header, the key of its `kid`, the
//! signature, and only then the claims, so nothing unverified is trusted. A failure of our own
//! (the keys unreachable, WebCrypto refusing a key) is a `401` refusal that is logged, never a
//! panic or a `500`: a person is told to sign in again, the log says why.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::{select, Either};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

use crate::domain::access::{check_claims, parse, parse_jwks, AccessRefusal, Jwk, KeyCache, KeyDecision};
use crate::domain::config::AccessConfig;

/// How long the fetch of the team's keys may take before the request is refused.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

thread_local! {
    /// The team's keys as this isolate knows them (the pure core's policy decides when to ask
    /// again), and the WebCrypto keys already imported from them, by `kid`.
    static KEYS: RefCell<KeyCache> = RefCell::new(KeyCache::default());
    static IMPORTED: RefCell<HashMap<String, JsValue>> = RefCell::new(HashMap::new());
}

/// Verifies the `Cf-Access-Jwt-Assertion` of a page request and returns the person's email.
/// `assertion` is the header's value (`None` when absent). The refusal's `status()` (401, or
/// 403 for a service token) and `message()` make the page; its `reason()` goes to the log.
pub async fn verify(access: &AccessConfig, assertion: Option<&str>) -> Result<String, AccessRefusal> {
    let token = parse(assertion.unwrap_or_default())?;
    let key = key_for(access, &token.kid).await?;
    if !signature_holds(&key, &token.signing_input, &token.signature).await? {
        return Err(AccessRefusal::BadSignature);
    }
    check_claims(&token.payload, access, js_sys::Date::now() / 1000.0)
}

/// The key of `kid`: from the cache, or after fetching the key set when the policy allows.
async fn key_for(access: &AccessConfig, kid: &str) -> Result<Jwk, AccessRefusal> {
    let decide = || {
        KEYS.with(|keys| match keys.borrow().decide(kid, js_sys::Date::now()) {
            KeyDecision::Use(key) => Ok(Some(key.clone())),
            KeyDecision::Fetch => Ok(None),
            KeyDecision::Refuse(refusal) => Err(refusal),
        })
    };
    if let Some(key) = decide()? {
        return Ok(key);
    }
    let fetched = fetch_keys(access).await;
    if let Err(cause) = &fetched {
        worker::console_error!("access: the team's keys could not be fetched from {}: {cause}", access.certs_url());
    }
    KEYS.with(|keys| keys.borrow_mut().record(fetched, js_sys::Date::now()));
    // Keys of a new set are imported afresh (a `kid` names one key for good, but this is cheap).
    IMPORTED.with(|imported| imported.borrow_mut().clear());
    match decide()? {
        Some(key) => Ok(key),
        // Just fetched, and still no such key.
        None => Err(AccessRefusal::UnknownKey),
    }
}

/// GETs `{team}/cdn-cgi/access/certs` and reads its RSA keys; an error says why, for the log.
async fn fetch_keys(access: &AccessConfig) -> Result<Vec<Jwk>, String> {
    let url = worker::Url::parse(&access.certs_url()).map_err(|e| format!("bad URL: {e}"))?;
    let fetch = Box::pin(async move {
        let mut response = worker::Fetch::Url(url).send().await.map_err(|e| format!("fetch failed: {e}"))?;
        if response.status_code() != 200 {
            return Err(format!("answered {}", response.status_code()));
        }
        let body = response.bytes().await.map_err(|e| format!("could not read the body: {e}"))?;
        parse_jwks(&body)
    });
    match select(fetch, worker::Delay::from(FETCH_TIMEOUT)).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(format!("no answer within {} s", FETCH_TIMEOUT.as_secs())),
    }
}

/// Whether `signature` is an RS256 signature of `data` by `key` (WebCrypto's
/// RSASSA-PKCS1-v1_5 with SHA-256). A key WebCrypto will not import is logged and refused.
async fn signature_holds(key: &Jwk, data: &[u8], signature: &[u8]) -> Result<bool, AccessRefusal> {
    let outcome = async {
        let subtle = subtle_crypto()?;
        let crypto_key = match IMPORTED.with(|imported| imported.borrow().get(&key.kid).cloned()) {
            Some(imported) => imported,
            None => {
                let imported = import_key(&subtle, key).await?;
                IMPORTED.with(|cache| cache.borrow_mut().insert(key.kid.clone(), imported.clone()));
                imported
            }
        };
        let verify = method(&subtle, "verify")?;
        let args = Array::of4(
            &JsValue::from_str("RSASSA-PKCS1-v1_5"),
            &crypto_key,
            &Uint8Array::from(signature).into(),
            &Uint8Array::from(data).into(),
        );
        let verified = JsFuture::from(verify.apply(&subtle, &args)?.dyn_into::<Promise>()?).await?;
        Ok::<bool, JsValue>(verified.as_bool() == Some(true))
    };
    outcome.await.map_err(|e: JsValue| {
        worker::console_error!("access: WebCrypto could not check a signature with key {}: {e:?}", key.kid);
        AccessRefusal::KeysUnavailable
    })
}

/// `crypto.subtle` of the Worker's global scope.
fn subtle_crypto() -> Result<Object, JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))?;
    Reflect::get(&crypto, &JsValue::from_str("subtle"))?.dyn_into::<Object>()
}

fn method(object: &Object, name: &str) -> Result<Function, JsValue> {
    Reflect::get(object, &JsValue::from_str(name))?.dyn_into::<Function>()
}

/// `subtle.importKey("jwk", {kty, n, e, alg: "RS256", ext: true}, {name: "RSASSA-PKCS1-v1_5",
/// hash: "SHA-256"}, false, ["verify"])`.
async fn import_key(subtle: &Object, key: &Jwk) -> Result<JsValue, JsValue> {
    let set = |object: &Object, name: &str, value: JsValue| Reflect::set(object, &JsValue::from_str(name), &value).map(|_| ());
    let jwk = Object::new();
    set(&jwk, "kty", "RSA".into())?;
    set(&jwk, "n", key.n.as_str().into())?;
    set(&jwk, "e", key.e.as_str().into())?;
    set(&jwk, "alg", "RS256".into())?;
    set(&jwk, "ext", true.into())?;
    let algorithm = Object::new();
    set(&algorithm, "name", "RSASSA-PKCS1-v1_5".into())?;
    set(&algorithm, "hash", "SHA-256".into())?;
    let usages = Array::of1(&JsValue::from_str("verify"));
    let args = Array::of5(&JsValue::from_str("jwk"), &jwk, &algorithm, &JsValue::FALSE, &usages);
    let import = method(subtle, "importKey")?;
    JsFuture::from(import.apply(subtle, &args)?.dyn_into::<Promise>()?).await
}
