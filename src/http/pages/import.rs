//! The import page (API.md §9; the decisions and the pages are `domain::pages::import`'s): the
//! upload form; the upload, kept in KV in the parts its import writes; the job page, which is
//! the preview (every part decided, nothing written), then the import's progress (with `?next`,
//! the next part imported, as the person), then its result. Each part is the API's import of
//! those rows (`http::import::import_part`) under the key `import-<id>-<part>`.

use serde_json::Value;
use worker::{FormData, FormEntry, Request};

use super::super::context::{new_id, now, now_millis};
use super::super::import::{dry_run_parts, import_part};
use super::super::{idempotency, respond};
use super::answer::{Answer, ViewResult};
use super::Page;
use crate::domain::error::ApiError;
use crate::domain::idempotency::fingerprint;
use crate::domain::ids::IdKind;
use crate::domain::import::{ImportFile, ImportRun, RowResult, Tally, MAX_UPLOAD_BYTES, MAX_UPLOAD_ROWS};
use crate::domain::pages::import::{
    is_upload_id, job as job_state, missing_page, paused_page, preview_page, progress_page, result_page, upload_page, Claim, Job, Resume, StepAnswer,
    StepStatus, Upload, SHOWN_VALUES,
};
use crate::domain::plan::CreateSettings;
use crate::domain::record::RecordKind;
use crate::store::d1_import::Uploads;

/// The largest part's answer written out whole: a kept answer weighs at most 1 MB.
const KEPT_ANSWER_BYTES: usize = 900_000;

/// `GET /view/import/{kind}`: the upload form.
pub fn upload_form(page: &Page<'_>, kind: RecordKind) -> ViewResult {
    Ok(Answer::page(200, upload_page(&page.shell, kind, &page.forms, None, "")))
}

/// The upload form again, saying what was wrong (nothing kept).
fn refused(page: &Page<'_>, kind: RecordKind, status: u16, problem: &str, pasted: &str) -> ViewResult {
    Ok(Answer::page(status, upload_page(&page.shell, kind, &page.forms, Some(problem), pasted)))
}

fn field(data: &FormData, name: &str) -> Option<String> {
    match data.get(name) {
        Some(FormEntry::Field(value)) => Some(value),
        _ => None,
    }
}

/// `POST /view/import/{kind}` (`multipart/form-data`): the file or the pasted rows, checked,
/// split into parts and kept; then the preview (`303`).
pub async fn upload(page: &Page<'_>, kind: RecordKind, mut req: Request) -> ViewResult {
    let content_type = req.headers().get("Content-Type").ok().flatten().unwrap_or_default();
    if !content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
        return Ok(page.message(415, "Not a form", "This address takes the upload form of the import page."));
    }
    let Ok(data) = req.form_data().await else { return refused(page, kind, 400, "The form could not be read: send it again", "") };
    if let Some(refusal) = page.refuse_post(&req, field(&data, "token").as_deref()) {
        return Ok(refusal);
    }
    let pasted = field(&data, "csv").unwrap_or_default();
    let (bytes, name) = match data.get("file") {
        Some(FormEntry::File(file)) if file.size() > 0 => match file.size() > MAX_UPLOAD_BYTES {
            true => return refused(page, kind, 413, &format!("The file is larger than {} MB: split it", MAX_UPLOAD_BYTES / (1024 * 1024)), &pasted),
            false => (file.bytes().await?, file.name()),
        },
        _ if !pasted.trim().is_empty() => (pasted.clone().into_bytes(), "pasted rows".to_string()),
        _ => return refused(page, kind, 400, "Choose a CSV file, or paste its rows", &pasted),
    };
    if bytes.len() > MAX_UPLOAD_BYTES {
        return refused(page, kind, 413, &format!("The rows are more than {} MB: split them", MAX_UPLOAD_BYTES / (1024 * 1024)), &pasted);
    }
    let file = match ImportFile::read(kind, &bytes) {
        Ok(file) => file,
        Err(e) => return refused(page, kind, 400, &capital(&e.message(page.ctx.request_id)), &pasted),
    };
    let (parts, rows) = file.record_parts();
    if rows == 0 {
        return refused(page, kind, 400, "The file has a header row but no rows to import", &pasted);
    }
    if rows > MAX_UPLOAD_ROWS {
        return refused(page, kind, 413, &format!("The file has {rows} rows; this page imports at most {MAX_UPLOAD_ROWS} at once: split it"), &pasted);
    }
    let id = new_id(IdKind::Import).into_string();
    let upload = Upload::of(&id, kind, page.person.actor(), &name, &file, &parts, rows, &now());
    let meta = serde_json::to_string(&upload).map_err(|e| ApiError::Internal(e.to_string()))?;
    let texts: Vec<&str> = parts.iter().map(|p| p.text).collect();
    Uploads::from_env(page.ctx.env)?.keep(&id, &meta, &texts).await?;
    Ok(Answer::redirect(303, upload.href()))
}

fn capital(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The upload the path names, when it is this person's, of this kind.
async fn load(page: &Page<'_>, kind: RecordKind) -> Result<Option<Upload>, ApiError> {
    let id = page.ctx.params[0];
    if !is_upload_id(id) {
        return Ok(None);
    }
    let Some(meta) = Uploads::from_env(page.ctx.env)?.meta(id).await? else { return Ok(None) };
    let upload: Upload = serde_json::from_str(&meta).map_err(|e| ApiError::Internal(format!("upload {id}: {e}")))?;
    Ok(upload.belongs_to(kind, page.person.actor()).then_some(upload))
}

/// Where the import of `upload` stands (one statement).
async fn state(page: &Page<'_>, upload: &Upload) -> Result<Job, ApiError> {
    let rows = page.ctx.store.import_steps(&upload.step_keys()).await?;
    let steps: Vec<StepStatus> =
        rows.into_iter().filter_map(|r| Some(StepStatus { part: upload.part_of(&r.key)?, status: r.status, claimed_at: r.created_at })).collect();
    Ok(job_state(upload, &steps, now_millis()))
}

/// `GET /view/import/{kind}/{id}`: the preview, the progress (importing the next part with
/// `?next`), or the result.
pub async fn job(page: &Page<'_>, kind: RecordKind) -> ViewResult {
    let Some(upload) = load(page, kind).await? else { return Ok(Answer::page(404, missing_page(&page.shell, kind))) };
    let wants_next = page.query.iter().any(|(k, _)| k == "next");
    match state(page, &upload).await? {
        Job::Preview => preview(page, kind, &upload).await,
        Job::Finished { resume } => {
            let (tally, unreported) = so_far(page, &upload, &resume).await?;
            Ok(Answer::page(200, result_page(&page.shell, kind, &upload, &tally, unreported)))
        }
        Job::Importing { done_rows, .. } if !wants_next => Ok(Answer::page(200, paused_page(&page.shell, kind, &upload, done_rows))),
        Job::Importing { next, done_rows, claim, resume } => match advance(page, kind, &upload, next, claim, &resume).await? {
            Advanced::Part(_) if next + 1 == upload.parts.len() => Ok(Answer::redirect(303, upload.href())),
            Advanced::Part(answer) => {
                let done = done_rows + upload.parts[next].rows;
                Ok(Answer::page(200, progress_page(&page.shell, kind, &upload, done, &answer.tally, None)))
            }
            Advanced::Wait(why) => {
                let (tally, _) = so_far(page, &upload, &resume).await?;
                Ok(Answer::page(200, progress_page(&page.shell, kind, &upload, done_rows, &tally, Some(why))))
            }
        },
    }
}

/// `POST /view/import/{kind}/{id}`: the preview's button. The first part is imported, then the
/// browser goes to the progress (`303`), which imports the rest.
pub async fn start(page: &Page<'_>, kind: RecordKind) -> ViewResult {
    let Some(upload) = load(page, kind).await? else { return Ok(Answer::page(404, missing_page(&page.shell, kind))) };
    // A second post of the same form finds the import started: the progress goes on.
    if state(page, &upload).await? == Job::Preview {
        advance(page, kind, &upload, 0, Claim::Free, &Resume { answered: None, unreported_rows: 0 }).await?;
    }
    Ok(Answer::redirect(303, format!("{}?next", upload.href())))
}

/// What an attempt at a part did.
enum Advanced {
    /// The part is imported (now, or by an earlier request whose answer this is).
    Part(StepAnswer),
    /// Another request holds it, or its text has not reached this location yet: wait.
    Wait(&'static str),
}

/// Imports part `next` of `upload`, as the person, under its key: at most once, whatever the
/// number of requests that try.
async fn advance(page: &Page<'_>, kind: RecordKind, upload: &Upload, next: usize, claim: Claim, resume: &Resume) -> Result<Advanced, ApiError> {
    let key = upload.step_key(next);
    match claim {
        Claim::Running => return Ok(Advanced::Wait("Another request is importing the next rows; this page looks again in a moment.")),
        // Claimed by a request that died before writing (a write would have marked the key).
        Claim::Abandoned => page.ctx.store.release_key(&key).await?,
        Claim::Free => {}
    }
    let Some(text) = Uploads::from_env(page.ctx.env)?.part(&upload.id, next).await? else {
        return Ok(Advanced::Wait("The file is still on its way to this location; this page looks again in a moment."));
    };
    let (tally, unreported) = so_far(page, upload, resume).await?;
    page.ctx.store.act_as(&upload.id, page.person.actor());
    let pattern = format!("/view/import/{}/{{id}}", kind.key_kind());
    let print = fingerprint("POST", &pattern, &[&upload.id], key.as_bytes());
    let ctx = &page.ctx;
    let outcome = idempotency::run(ctx, &key, &pattern, &print, async {
        let file = upload.file(kind);
        let mut run = ImportRun::resume(CreateSettings::of(&ctx.config, kind), tally);
        let results = import_part(ctx, &file, &upload.part(next, &text), &mut run, &upload.id, true).await?;
        let mut tally = run.tally;
        tally.samples = tally.samples.trimmed(SHOWN_VALUES, 200);
        let mut answer = StepAnswer { part: next, tally, unreported_rows: unreported, results: results.iter().map(RowResult::to_json).collect() };
        // Kept only under 1 MB: the counts matter, each row's outcome can go.
        if serde_json::to_string(&answer).map_or(0, |t| t.len()) > KEPT_ANSWER_BYTES {
            answer.results.clear();
        }
        respond::json(&serde_json::to_value(&answer).unwrap_or(Value::Null), 200)
    })
    .await;
    match outcome {
        Ok(mut response) => {
            let text = response.text().await?;
            let answer = serde_json::from_str(&text).map_err(|e| ApiError::Internal(format!("the answer of {key}: {e}")))?;
            Ok(Advanced::Part(answer))
        }
        Err(ApiError::Conflict(_)) => Ok(Advanced::Wait("Another request is importing the next rows; this page looks again in a moment.")),
        Err(e) => Err(e),
    }
}

/// The counts of the parts imported so far, from the last answer kept, and the rows imported
/// without an answer since.
async fn so_far(page: &Page<'_>, upload: &Upload, resume: &Resume) -> Result<(Tally, usize), ApiError> {
    let Some(part) = resume.answered else { return Ok((Tally::default(), resume.unreported_rows)) };
    let kept = page.ctx.store.used_key(&upload.step_key(part)).await?.and_then(|k| k.response);
    let answer: StepAnswer = kept.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default();
    Ok((answer.tally, answer.unreported_rows + resume.unreported_rows))
}

/// Every part decided against the store, nothing written: the preview. Parts are read a few at
/// a time (their KV reads and D1 statements wait together) and decided in order.
async fn preview(page: &Page<'_>, kind: RecordKind, upload: &Upload) -> ViewResult {
    let uploads = Uploads::from_env(page.ctx.env)?;
    let file = upload.file(kind);
    let mut run = ImportRun::new(CreateSettings::of(&page.ctx.config, kind), true, &now());
    let places: Vec<_> = (0..upload.parts.len()).map(|i| upload.part(i, "")).collect();
    let read = dry_run_parts(&page.ctx, &file, &mut run, &places, async |i| Ok(uploads.part(&upload.id, i).await?)).await?;
    if read.is_none() {
        let message = "The file is still on its way to this location. Reload this page in a minute.";
        return Ok(page.message(503, "Preview not ready", message));
    }
    Ok(Answer::page(200, preview_page(&page.shell, kind, upload, &file.mapping, &run.tally, &page.forms)))
}
