//! Who is at a page (API.md §2), before anything is read: the decision is the pure core's
//! (`domain::pages::auth::sign_in`); here the headers are read, the Access token verified, and a
//! wrong password counted against the client's address.

use worker::{Env, Request};

use super::super::context;
use crate::domain::auth::{ApiKeys, AUTH_LIMIT_PERIOD_SECS};
use crate::domain::error::ApiError;
use crate::domain::pages::{sign_in, Refusal, SignIn};

/// How the person got in.
pub enum Signed {
    /// Through Cloudflare Access: the email is verified.
    Access { email: String },
    /// With the shared password: `user` is the Basic user name, a person only if it is a stored
    /// user's email.
    Password { user: String },
}

/// What sign-in needs of the configuration, read even when the rest of it is broken: without a
/// credential there are no pages, and a stranger learns nothing about the server's state.
struct Credentials {
    access: Option<crate::domain::config::AccessConfig>,
    password: Option<String>,
    api_keys: ApiKeys,
}

fn credentials(env: &Env) -> Credentials {
    match context::config(env) {
        Ok(c) => Credentials { access: c.access.clone(), password: c.dashboard_password.clone(), api_keys: c.auth.api_keys.clone() },
        Err(_) => {
            let raw = |name: &str| env.var(name).ok().map(|v| v.to_string()).filter(|v| !v.is_empty());
            let api_keys = raw("API_KEYS").and_then(|k| ApiKeys::parse(&k).ok()).unwrap_or_default();
            let access = crate::domain::config::AccessConfig::from_lookup(|name| raw(name)).ok().flatten();
            Credentials { access, password: raw("DASHBOARD_PASSWORD"), api_keys }
        }
    }
}

/// The person at the page, or the refusal to answer.
pub async fn who(env: &Env, req: &Request) -> Result<Signed, Refusal> {
    let creds = credentials(env);
    let authorization = req.headers().get("Authorization").ok().flatten();
    match sign_in(creds.access.is_some(), creds.password.as_deref(), &creds.api_keys, authorization.as_deref()) {
        SignIn::NoPages => Err(Refusal::NoPages),
        // A client over its failure limit is not let in by the right password either: it would
        // tell a guesser which guess was right (see `Lockout`).
        SignIn::Password { .. } if context::locked_out(req) => Err(Refusal::wrong_password(true, AUTH_LIMIT_PERIOD_SECS)),
        SignIn::Password { user } => Ok(Signed::Password { user }),
        SignIn::Denied { presented } => {
            let limited = presented
                && matches!(context::refused(env, req, authorization.as_deref(), ApiError::Unauthorized).await, ApiError::RateLimited { .. });
            Err(Refusal::wrong_password(limited, AUTH_LIMIT_PERIOD_SECS))
        }
        SignIn::Access => {
            let access = creds.access.as_ref().expect("sign_in says Access only when it is configured");
            let assertion = req.headers().get("Cf-Access-Jwt-Assertion").ok().flatten();
            match super::super::access::verify(access, assertion.as_deref()).await {
                Ok(email) => Ok(Signed::Access { email }),
                Err(refused) => {
                    worker::console_log!("page sign-in refused: {}", refused.reason());
                    Err(refused.into())
                }
            }
        }
    }
}
