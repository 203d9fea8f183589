//! Running the statements of [`super::sql`] against D1.

use std::fmt;

use worker::{D1Database, Env};

use super::sql;

/// Binding names in `wrangler.toml`.
pub const DB_BINDING: &str = "DB";

pub struct Store {
    db: D1Database,
}

/// A storage failure. Its full text goes to the log; clients see `public_message`.
#[derive(Debug)]
pub enum StoreError {
    /// The binding is missing from the Worker's configuration.
    Binding(String),
    /// The tables do not exist: `schema.sql` was not applied.
    NoSchema(String),
    /// Anything else D1 reported.
    Database(String),
}

impl StoreError {
    fn from_d1(err: worker::Error) -> StoreError {
        let text = err.to_string();
        if text.contains("no such table") {
            StoreError::NoSchema(text)
        } else {
            StoreError::Database(text)
        }
    }

    /// What may be said to an API client: no SQL, no internals.
    pub fn public_message(&self) -> String {
        match self {
            StoreError::Binding(_) => format!("the D1 binding {DB_BINDING} is missing from wrangler.toml"),
            StoreError::NoSchema(_) => "the schema has not been applied: run `wrangler d1 execute DB --file schema.sql`".to_string(),
            StoreError::Database(_) => "the database did not answer".to_string(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Binding(t) | StoreError::NoSchema(t) | StoreError::Database(t) => f.write_str(t),
        }
    }
}

impl Store {
    pub fn from_env(env: &Env) -> Result<Store, StoreError> {
        env.d1(DB_BINDING).map(|db| Store { db }).map_err(|e| StoreError::Binding(e.to_string()))
    }

    /// Reaches the database and checks the schema is there.
    pub async fn check(&self) -> Result<(), StoreError> {
        let version: Option<String> = self
            .db
            .prepare(sql::HEALTH_CHECK)
            .first(Some("value"))
            .await
            .map_err(StoreError::from_d1)?;
        match version {
            Some(_) => Ok(()),
            None => Err(StoreError::NoSchema("meta has no schema_version".into())),
        }
    }
}
