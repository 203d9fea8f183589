//! Running the statements of [`super::sql_work`]: tasks, activities and users. Like every store
//! function, a fixed number of statements whatever the batch size, writes in one transaction.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use wasm_bindgen::JsValue;

use super::d1::{json_arg, text, Answer, Result, Store, StoreError};
use crate::domain::record::RecordKind;
use crate::domain::refs::Refs;
use crate::domain::work::Window;
use crate::domain::search::with_task_terms;
use super::sql::REFERENCES_GUARD;
use super::sql_work::{activities, tasks, users};

/// A column holding a JSON object as text, decoded; a row whose column is not one fails to
/// read (an error, never an empty default).
fn json_object<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Map<String, Value>, D::Error> {
    let text = String::deserialize(d)?;
    serde_json::from_str(&text).map_err(serde::de::Error::custom)
}

/// The live records a deleted user owned, by kind.
#[derive(Debug, Default)]
pub struct Owned {
    pub contacts: Vec<String>,
    pub companies: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TaskRow {
    /// The position of the item a create answered with this task.
    #[serde(default)]
    pub i: Option<f64>,
    pub id: String,
    pub subject: Option<String>,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub task_type: Option<String>,
    pub priority: Option<String>,
    pub status: Option<String>,
    pub owner_id: Option<String>,
    pub due_date: Option<String>,
    pub contact_id: Option<String>,
    pub company_id: Option<String>,
    pub completed: f64,
    pub completed_at: Option<String>,
    #[serde(deserialize_with = "json_object")]
    pub properties: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActivityRow {
    #[serde(default)]
    pub i: Option<f64>,
    pub id: String,
    #[serde(rename = "type")]
    pub activity_type: String,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub direction: Option<String>,
    pub owner_id: Option<String>,
    pub occurred_at: String,
    pub contact_id: Option<String>,
    pub company_id: Option<String>,
    #[serde(deserialize_with = "json_object")]
    pub metadata: Map<String, Value>,
    #[serde(deserialize_with = "json_object")]
    pub properties: Map<String, Value>,
    pub created_at: String,
    /// The name of the user the activity is attributed to, when its owner is a stored user.
    #[serde(default)]
    pub owner_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UserRow {
    #[serde(default)]
    pub i: Option<f64>,
    pub id: String,
    pub name: String,
    pub email: String,
}

impl Store {
    /// Inserts tasks (`[{id, fields, properties, content?}]`) with their history; answers, for
    /// each item (by position `i`), the task it is now (a retry with a known `externalId`, or of a
    /// keyless task within `window`, answers the stored one). `Conflict` when a reference of
    /// `refs` is gone (see [`REFERENCES_GUARD`]). Each task's search terms go with it.
    pub async fn insert_tasks(&self, items: &[Value], refs: &[Refs<'_>], now: &str, window: &Window, request_id: &str) -> Result<Vec<TaskRow>> {
        let items = json_arg(&with_task_terms(items));
        let (since, prefix, previous) = (text(window.since()), text(&window.prefix()), text(&window.previous_prefix()));
        let statements = vec![
            self.prepare(REFERENCES_GUARD, &[json_arg(refs)])?,
            self.prepare(tasks::INSERT, &[items.clone(), text(now), since.clone(), prefix.clone(), previous.clone()])?,
            self.prepare(tasks::HISTORY_NEW, &[items.clone(), text(now), text(request_id)])?,
            self.prepare(tasks::RESOLVE, &[items, since, prefix, previous])?,
        ];
        self.batch_then_read(statements).await
    }

    /// Live tasks by id, in the order asked.
    pub async fn tasks_by_ids<S: AsRef<str>>(&self, ids: &[S]) -> Result<Vec<TaskRow>> {
        let ids: Vec<&str> = ids.iter().map(AsRef::as_ref).collect();
        self.rows(tasks::BY_IDS, &[json_arg(&ids)]).await
    }

    /// Writes updated tasks (`[{id, base, fields, properties, changes}]`) with history, refusing
    /// with `Conflict` when one changed since it was read or a reference of `refs` is gone;
    /// answers the tasks as stored.
    pub async fn update_tasks(&self, items: &[Value], refs: &[Refs<'_>], ids: &[&String], now: &str, request_id: &str) -> Result<Vec<TaskRow>> {
        let items = json_arg(&with_task_terms(items));
        let statements = vec![
            self.prepare(REFERENCES_GUARD, &[json_arg(refs)])?,
            self.prepare(tasks::GUARD, std::slice::from_ref(&items))?,
            self.prepare(tasks::UPDATE, &[items.clone(), text(now)])?,
            self.prepare(tasks::HISTORY_CHANGES, &[items, text(now), text(request_id)])?,
            self.prepare(tasks::BY_IDS, &[json_arg(ids)])?,
        ];
        self.batch_then_read(statements).await
    }

    /// Soft-deletes a task; `false` when it was not live.
    pub async fn delete_task(&self, id: &str, now: &str, request_id: &str) -> Result<bool> {
        let statements = vec![
            self.prepare(tasks::HISTORY_DELETE, &[text(id), text(now), text(request_id)])?,
            self.prepare(tasks::DELETE, &[text(id), text(now)])?,
        ];
        let results = self.batch(statements).await?;
        Ok(results.get(1).map_or(0, Answer::changes) > 0)
    }

    /// Logs activities, ignoring retries of a `(type, messageId)` already logged and of keyless
    /// content logged within `window`, and answers for each item the activity it is now.
    /// `Conflict` when a reference of `refs` is gone.
    pub async fn log_activities(&self, items: &[Value], refs: &[Refs<'_>], now: &str, window: &Window, request_id: &str) -> Result<Vec<ActivityRow>> {
        let items = json_arg(items);
        let (since, prefix, previous) = (text(window.since()), text(&window.prefix()), text(&window.previous_prefix()));
        let statements = vec![
            self.prepare(REFERENCES_GUARD, &[json_arg(refs)])?,
            self.prepare(activities::INSERT, &[items.clone(), text(now), since.clone(), prefix.clone(), previous.clone()])?,
            self.prepare(activities::HISTORY_NEW, &[items.clone(), text(now), text(request_id)])?,
            self.prepare(activities::BUMP_CONTACTS, std::slice::from_ref(&items))?,
            self.prepare(activities::BUMP_COMPANIES, std::slice::from_ref(&items))?,
            self.prepare(activities::RESOLVE, &[items, since, prefix, previous])?,
        ];
        self.batch_then_read(statements).await
    }

    /// The activities already logged under the `(type, messageId)` or the content of `items`
    /// (`[{i, type, messageId} | {i, content}]`, content within `window`), each with its `i`.
    pub async fn logged_activities(&self, items: &[Value], window: &Window) -> Result<Vec<ActivityRow>> {
        let args = [json_arg(items), text(window.since()), text(&window.prefix()), text(&window.previous_prefix())];
        self.rows(activities::LOGGED, &args).await
    }

    pub async fn activity(&self, id: &str) -> Result<Option<ActivityRow>> {
        Ok(self.rows(activities::ONE, &[text(id)]).await?.pop())
    }

    /// A record's activities, newest first, before `(occurred_at, id)`.
    pub async fn timeline(&self, kind: RecordKind, id: &str, before: (&str, &str), limit: usize) -> Result<Vec<ActivityRow>> {
        let sql = match kind {
            RecordKind::Company => activities::TIMELINE_COMPANY,
            RecordKind::Contact => activities::TIMELINE_CONTACT,
        };
        self.rows(sql, &[text(id), text(before.0), text(before.1), JsValue::from_f64(limit as f64)]).await
    }

    pub async fn users(&self) -> Result<Vec<UserRow>> {
        self.rows(users::LIST, &[]).await
    }

    /// Upserts users by normalised email (one item per email); answers, per item, the user it is
    /// now.
    pub async fn upsert_users(&self, items: &[Value], now: &str) -> Result<Vec<UserRow>> {
        let items = json_arg(items);
        let statements = vec![
            self.prepare(users::UPDATE_EXISTING, &[items.clone(), text(now)])?,
            self.prepare(users::INSERT_NEW, &[items.clone(), text(now)])?,
            self.prepare(users::RESOLVE, &[items])?,
        ];
        self.batch_then_read(statements).await
    }

    /// Deletes a user, clearing it as owner everywhere (with history); `false` when unknown.
    pub async fn delete_user(&self, id: &str, now: &str, request_id: &str) -> Result<Option<Owned>> {
        #[derive(Deserialize)]
        struct Row {
            kind: String,
            id: String,
        }
        let logged = [text(id), text(now), text(request_id)];
        let statements = vec![
            self.prepare(users::GUARD_EXISTS, &[text(id)])?,
            self.prepare(users::OWNED, &[text(id)])?,
            self.prepare(users::HISTORY_OWNERS, &logged)?,
            self.prepare(users::CLEAR_CONTACTS, &[text(id), text(now)])?,
            self.prepare(users::CLEAR_COMPANIES, &[text(id), text(now)])?,
            self.prepare(users::CLEAR_TASKS, &[text(id), text(now)])?,
            self.prepare(users::CLEAR_ACTIVITIES, &[text(id)])?,
            self.prepare(users::DELETE, &[text(id)])?,
        ];
        let results = match self.batch(statements).await {
            Ok(results) => results,
            Err(StoreError::Conflict) => return Ok(None),
            Err(e) => return Err(e),
        };
        let rows: Vec<Row> = match results.get(1) {
            Some(owned) => owned.rows::<Row>()?,
            None => Vec::new(),
        };
        let mut owned = Owned::default();
        for row in rows {
            match row.kind.as_str() {
                "contact" => owned.contacts.push(row.id),
                _ => owned.companies.push(row.id),
            }
        }
        Ok(Some(owned))
    }
}
