//! Running the statements of [`super::sql_work`]: tasks, activities and users. Like every store
//! function, a fixed number of statements whatever the batch size, writes in one transaction.

use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::d1::{text, Result, Store, StoreError};
use super::sql::REFERENCES_GUARD;
use super::sql_work::{activities, tasks, users};

#[derive(Debug, Clone, Deserialize)]
pub struct TaskRow {
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
    pub properties: String,
    pub created_at: String,
    pub updated_at: String,
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
    pub metadata: String,
    pub properties: String,
    pub created_at: String,
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
    /// Inserts tasks (`[{id, fields, properties}]`) with their history; answers them as stored.
    /// `Conflict` when a reference of `refs` is gone (see [`REFERENCES_GUARD`]).
    pub async fn insert_tasks(&self, items: &str, refs: &str, ids: &str, now: &str, request_id: &str) -> Result<Vec<TaskRow>> {
        let statements = vec![
            self.prepare(REFERENCES_GUARD, &[text(refs)])?,
            self.prepare(tasks::INSERT, &[text(items), text(now)])?,
            self.prepare(tasks::HISTORY_NEW, &[text(items), text(now), text(request_id)])?,
            self.prepare(tasks::BY_IDS, &[text(ids)])?,
        ];
        self.batch_then_read(statements).await
    }

    /// Live tasks by id (`ids` a JSON array), in the order asked.
    pub async fn tasks_by_ids(&self, ids: &str) -> Result<Vec<TaskRow>> {
        self.rows(tasks::BY_IDS, &[text(ids)]).await
    }

    /// Writes updated tasks (`[{id, base, fields, properties, changes}]`) with history, refusing
    /// with `Conflict` when one changed since it was read or a reference of `refs` is gone;
    /// answers the tasks as stored.
    pub async fn update_tasks(&self, items: &str, refs: &str, ids: &str, now: &str, request_id: &str) -> Result<Vec<TaskRow>> {
        let statements = vec![
            self.prepare(REFERENCES_GUARD, &[text(refs)])?,
            self.prepare(tasks::GUARD, &[text(items)])?,
            self.prepare(tasks::UPDATE, &[text(items), text(now)])?,
            self.prepare(tasks::HISTORY_CHANGES, &[text(items), text(now), text(request_id)])?,
            self.prepare(tasks::BY_IDS, &[text(ids)])?,
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
        Ok(results.get(1).and_then(|r| r.meta().ok().flatten()).and_then(|m| m.changes).unwrap_or(0) > 0)
    }

    /// Logs activities, ignoring retries of a `(type, messageId)` already logged, and answers
    /// for each item the activity it is now. `Conflict` when a reference of `refs` is gone.
    pub async fn log_activities(&self, items: &str, refs: &str, now: &str, request_id: &str) -> Result<Vec<ActivityRow>> {
        let statements = vec![
            self.prepare(REFERENCES_GUARD, &[text(refs)])?,
            self.prepare(activities::INSERT, &[text(items), text(now)])?,
            self.prepare(activities::HISTORY_NEW, &[text(items), text(now), text(request_id)])?,
            self.prepare(activities::BUMP_CONTACTS, &[text(items)])?,
            self.prepare(activities::BUMP_COMPANIES, &[text(items)])?,
            self.prepare(activities::RESOLVE, &[text(items)])?,
        ];
        self.batch_then_read(statements).await
    }

    /// The activities already logged under the `(type, messageId)` of `items`
    /// (`[{i, type, messageId}]`), each with its `i`.
    pub async fn logged_activities(&self, items: &str) -> Result<Vec<ActivityRow>> {
        self.rows(activities::LOGGED, &[text(items)]).await
    }

    pub async fn activity(&self, id: &str) -> Result<Option<ActivityRow>> {
        Ok(self.rows(activities::ONE, &[text(id)]).await?.pop())
    }

    /// A record's activities, newest first, before `(occurred_at, id)`.
    pub async fn timeline(&self, company: bool, id: &str, before: (&str, &str), limit: usize) -> Result<Vec<ActivityRow>> {
        let sql = if company { activities::TIMELINE_COMPANY } else { activities::TIMELINE_CONTACT };
        self.rows(sql, &[text(id), text(before.0), text(before.1), JsValue::from_f64(limit as f64)]).await
    }

    pub async fn users(&self) -> Result<Vec<UserRow>> {
        self.rows(users::LIST, &[]).await
    }

    /// Upserts users by normalised email (one item per email); answers, per item, the user it is
    /// now.
    pub async fn upsert_users(&self, items: &str, now: &str) -> Result<Vec<UserRow>> {
        let statements = vec![
            self.prepare(users::UPDATE_EXISTING, &[text(items), text(now)])?,
            self.prepare(users::INSERT_NEW, &[text(items), text(now)])?,
            self.prepare(users::RESOLVE, &[text(items)])?,
        ];
        self.batch_then_read(statements).await
    }

    /// Deletes a user, clearing it as owner everywhere (with history); `false` when unknown.
    pub async fn delete_user(&self, id: &str, now: &str, request_id: &str) -> Result<bool> {
        let logged = [text(id), text(now), text(request_id)];
        let statements = vec![
            self.prepare(users::GUARD_EXISTS, &[text(id)])?,
            self.prepare(users::HISTORY_OWNERS, &logged)?,
            self.prepare(users::CLEAR_CONTACTS, &[text(id), text(now)])?,
            self.prepare(users::CLEAR_COMPANIES, &[text(id), text(now)])?,
            self.prepare(users::CLEAR_TASKS, &[text(id), text(now)])?,
            self.prepare(users::CLEAR_ACTIVITIES, &[text(id)])?,
            self.prepare(users::DELETE, &[text(id)])?,
        ];
        match self.batch(statements).await {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
