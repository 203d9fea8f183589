//! Running the statements of [`super::sql_import`], and keeping a page's uploaded file in KV.
//!
//! The file is kept as its header and its parts (each the text of the rows one transaction of
//! the import writes), for 24 hours, under `import/<id>/…` in the KV namespace the match cache
//! uses (whose names never start so). A part is written once and never changed, so KV's
//! eventual consistency can only make a part late, never wrong; the pages say so and try again.

use serde::Deserialize;
use worker::kv::KvStore;
use worker::Env;

use super::d1::{json_arg, text, Result, Store, StoreError};
use super::kv::KV_BINDING;
use super::sql_import::{CREATED_BY, STEPS};

/// How long an uploaded file is kept, in seconds.
pub const UPLOAD_TTL_SECONDS: u64 = 24 * 60 * 60;

/// A step of a page's import, as the idempotency table holds it.
#[derive(Debug, Clone, Deserialize)]
pub struct StepRow {
    pub key: String,
    /// `None` while running, `Some(0)` written but not answered, else the answer's status.
    #[serde(default, deserialize_with = "status")]
    pub status: Option<u16>,
    pub created_at: String,
}

fn status<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<u16>, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.map(|s| s as u16))
}

impl Store {
    /// Which of `ids` request `request_id` created (one statement; none for no ids).
    pub async fn created_by(&self, request_id: &str, ids: &[&str]) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<Id> = self.rows(CREATED_BY, &[json_arg(ids), text(request_id)]).await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// The steps of these keys that ran or run (one statement).
    pub async fn import_steps(&self, keys: &[String]) -> Result<Vec<StepRow>> {
        self.rows(STEPS, &[json_arg(keys)]).await
    }
}

/// Uploaded files, in KV.
pub struct Uploads {
    kv: KvStore,
}

fn meta_name(id: &str) -> String {
    format!("import/{id}/meta")
}

fn part_name(id: &str, part: usize) -> String {
    format!("import/{id}/part/{part}")
}

fn kv_error(e: worker::kv::KvError) -> StoreError {
    StoreError::Database(format!("KV: {e}"))
}

impl Uploads {
    pub fn from_env(env: &Env) -> Result<Uploads> {
        env.kv(KV_BINDING).map(|kv| Uploads { kv }).map_err(|e| StoreError::Database(format!("the KV binding {KV_BINDING}: {e}")))
    }

    async fn put(&self, name: &str, value: &str) -> Result<()> {
        self.kv.put(name, value).map_err(kv_error)?.expiration_ttl(UPLOAD_TTL_SECONDS).execute().await.map_err(kv_error)
    }

    /// Keeps a file's parts, then its description (last: a description found means its parts
    /// were all written).
    pub async fn keep(&self, id: &str, meta: &str, parts: &[&str]) -> Result<()> {
        for (i, part) in parts.iter().enumerate() {
            self.put(&part_name(id, i), part).await?;
        }
        self.put(&meta_name(id), meta).await
    }

    pub async fn meta(&self, id: &str) -> Result<Option<String>> {
        self.kv.get(&meta_name(id)).text().await.map_err(kv_error)
    }

    pub async fn part(&self, id: &str, part: usize) -> Result<Option<String>> {
        self.kv.get(&part_name(id, part)).text().await.map_err(kv_error)
    }
}
