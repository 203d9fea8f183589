//! `POST /{kind}/import` (API.md §4, Import): a CSV file through the create path. The file is
//! read and mapped in the pure core (`domain::import`), then imported part by part, each part the
//! rows one create chunk carries: parsed as a create parses, planned by the create's planner,
//! written in one transaction by the create's own write (dedupe, `CREATE_MERGE`, history, feed,
//! match cache). Per part: one statement for the owners and parents named (when any), one for the
//! candidates (with dedupe), one batch; a dry run stops before the batch. The import page runs
//! the same parts (`pages/import.rs`), one per request.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::context::{now, HandlerResult};
use super::records::{create_parsed, load_for_create};
use super::{respond, Ctx};
use futures_util::future::join_all;

use crate::domain::error::{ApiError, ItemError};
use crate::domain::import::{parse_rows, ImportFile, ImportRun, Part, Prepared, RowResult};
use crate::domain::plan::CreateSettings;
use crate::domain::record::{NewRecord, RecordKind};
use crate::domain::refs::Known;
use crate::domain::sync::Candidate;

/// `POST /{kind}/import[?dryRun=true]`.
pub async fn import(ctx: &Ctx<'_>, kind: RecordKind, query: &[(String, String)]) -> HandlerResult {
    let dry_run = dry_run(query)?;
    let text = ctx.body().as_str().unwrap_or_default();
    let file = ImportFile::open(kind, text)?;
    let (parts, rows) = file.record_parts();
    if rows > ctx.config.max_batch {
        return Err(ApiError::PayloadTooLarge(format!(
            "the file has {rows} rows; at most {} are imported in one request (MAX_BATCH): send the rest in another request",
            ctx.config.max_batch
        )));
    }
    let mut run = ImportRun::new(CreateSettings::of(&ctx.config, kind), dry_run, &now());
    if dry_run {
        dry_run_parts(ctx, &file, &mut run, &parts, async |i| Ok(Some(parts[i].text.to_string()))).await?;
        return respond::json(&answer(&file, &run, None), 200);
    }
    let mut results = Vec::with_capacity(rows);
    for part in &parts {
        results.extend(import_part(ctx, &file, part, &mut run, ctx.request_id, false).await?);
    }
    respond::json(&answer(&file, &run, Some(&results)), 200)
}

/// `dryRun`: `true` or `false` (also `1`/`0`); absent is `false`.
fn dry_run(query: &[(String, String)]) -> Result<bool, ApiError> {
    match query.iter().find(|(k, _)| k == "dryRun").map(|(_, v)| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v == "true" || v == "1" || v.is_empty() => Ok(true),
        Some(v) if v == "false" || v == "0" => Ok(false),
        Some(v) => Err(ApiError::bad_request(format!("dryRun must be true or false, got {v:?}"))),
    }
}

/// The answer of an import: the counts, the column mapping, and every row's outcome (`results`)
/// or, for a dry run, the samples of each outcome.
pub fn answer(file: &ImportFile<'_>, run: &ImportRun<'_>, results: Option<&Vec<RowResult>>) -> Value {
    let mut out = run.tally.to_json(run.is_dry());
    out["dryRun"] = json!(run.is_dry());
    out["delimiter"] = json!(file.table.delimiter_name());
    out["columns"] = Value::Object(file.mapping.columns_json());
    out["ignoredColumns"] = Value::Object(file.mapping.ignored_json());
    if let Some(results) = results {
        out["results"] = Value::Array(results.iter().map(RowResult::to_json).collect());
    }
    out
}

/// One part of an import: its rows made records, decided, and (unless the run is dry) written in
/// one transaction whose history names `history_id`. A run that `spans_requests` (the import
/// page's) asks the store which candidates it created in its earlier requests.
pub async fn import_part(
    ctx: &Ctx<'_>,
    file: &ImportFile<'_>,
    part: &Part<'_>,
    run: &mut ImportRun<'_>,
    history_id: &str,
    spans_requests: bool,
) -> Result<Vec<RowResult>, ApiError> {
    if run.is_dry() {
        let read = read_part(ctx, file, part, run.settings.kind).await?;
        return Ok(decide_part(file, run, read));
    }
    let kind = run.settings.kind;
    let (rows, blank) = file.prepare(part.rows(file.table.delimiter));
    run.blank(blank);
    let items = parse_rows(kind, &rows);
    let (plan, resolved) = create_parsed(ctx, kind, &items, history_id, async |loaded| {
        let unknown: Vec<&str> = if spans_requests { run.unknown(&loaded) } else { Vec::new() };
        if !unknown.is_empty() {
            let earlier = ctx.store.created_by(history_id, &unknown).await?;
            run.learn(earlier);
        }
        Ok(run.adjust(loaded, &items))
    })
    .await?;
    Ok(run.record(&file.mapping, &rows, &items, &plan, &resolved))
}

/// A part of a dry run as the store answers for it: its rows, their records, and the owners,
/// parents and candidates they name. Reading a part does not depend on the parts before it, so
/// a preview reads several at once ([`dry_run_parts`]) and decides them in order.
pub struct ReadPart {
    rows: Vec<Prepared>,
    blank: usize,
    items: Vec<Result<NewRecord, ItemError>>,
    known: Known,
    loaded: Vec<Candidate>,
}

pub async fn read_part(ctx: &Ctx<'_>, file: &ImportFile<'_>, part: &Part<'_>, kind: RecordKind) -> Result<ReadPart, ApiError> {
    let (rows, blank) = file.prepare(part.rows(file.table.delimiter));
    let items = parse_rows(kind, &rows);
    let (known, loaded) = load_for_create(ctx, kind, &items).await?;
    Ok(ReadPart { rows, blank, items, known, loaded })
}

/// A part of a dry run decided, after the parts before it: the create's planner, against the
/// store as those parts would leave it.
pub fn decide_part(file: &ImportFile<'_>, run: &mut ImportRun<'_>, read: ReadPart) -> Vec<RowResult> {
    run.blank(read.blank);
    let candidates = run.adjust(read.loaded, &read.items);
    let plan = run.plan(&read.items, candidates, &read.known);
    run.record(&file.mapping, &read.rows, &read.items, &plan, &HashMap::new())
}

/// Parts read at once by a dry run: its D1 statements (one or two a part) wait together.
pub const READ_AT_ONCE: usize = 6;

/// A dry run of `parts` (their places in the file; each one's text read by `text`): read
/// [`READ_AT_ONCE`] at a time, decided in order. `None` when a part's text is not there.
pub async fn dry_run_parts(
    ctx: &Ctx<'_>,
    file: &ImportFile<'_>,
    run: &mut ImportRun<'_>,
    parts: &[Part<'_>],
    text: impl AsyncFn(usize) -> Result<Option<String>, ApiError>,
) -> Result<Option<()>, ApiError> {
    let kind = run.settings.kind;
    for wave in (0..parts.len()).collect::<Vec<_>>().chunks(READ_AT_ONCE) {
        let mut texts = Vec::with_capacity(wave.len());
        for t in join_all(wave.iter().map(|&i| text(i))).await {
            let Some(t) = t? else { return Ok(None) };
            texts.push(t);
        }
        let read: Vec<Part<'_>> = wave.iter().zip(&texts).map(|(&i, t)| parts[i].with_text(t)).collect();
        let reads = join_all(read.iter().map(|p| read_part(ctx, file, p, kind))).await;
        for read in reads {
            decide_part(file, run, read?);
        }
    }
    Ok(Some(()))
}
