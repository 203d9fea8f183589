//! The import page (API.md §9): upload a CSV file, see what its import would do, confirm, follow
//! its progress, read its result. Pure: what the upload keeps, where an import stands, and each
//! page as HTML.
//!
//! **Why parts, in requests of their own.** Pages run no script, and a Worker request has limits
//! (memory, CPU time, D1 statements), so a file of 100,000 rows is not imported in one request.
//! The upload keeps the file in KV, split into the parts its import writes one transaction each
//! (the chunks of a create, at most 1,000 rows); the preview decides every part without writing;
//! the "Import" button imports the first part, and each following page view imports the next one
//! and answers the progress ("rows done of rows") with a `<meta http-equiv="refresh">` to itself,
//! until the last part sends the browser to the result. Each part runs under the
//! `Idempotency-Key` `import-<id>-<part>`, and its transaction marks the key together with its
//! writes: a reload, a second tab or a refresh that arrives twice never imports a part twice, a
//! part whose request died before it wrote runs again, and the import can be left and resumed.
//! A queue would need a consumer and a binding to deploy; this needs neither, and the progress
//! the page shows is the import itself.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::form::Forms;
use super::html::{url_encode, Html};
use super::layout::{grouped, label, page, plural, Shell};
use super::parts::{record_href, shown_identity};
use crate::domain::import::columns::{examples, Target};
use crate::domain::import::{ImportFile, Mapping, Part, Tally, MAX_UPLOAD_BYTES, MAX_UPLOAD_ROWS, SAMPLES};
use crate::domain::record::RecordKind;
use crate::domain::time::Timestamp;

/// A part claimed this long ago and still without a status is a request that died before it
/// wrote (its writes would have marked the key): it may run again.
pub const ABANDONED_MS: i64 = 2 * 60 * 1000;

/// One part of an uploaded file, as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartInfo {
    pub first_row: usize,
    pub first_line: usize,
    pub rows: usize,
}

/// An uploaded file as the import page keeps it (its parts' text is kept beside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub id: String,
    /// `contact` or `company`.
    pub kind: String,
    /// Who uploaded it: only they see it, and its writes are theirs in history.
    pub actor: String,
    /// The file's name, or "pasted rows".
    pub name: String,
    pub delimiter: u8,
    pub header: Vec<String>,
    /// Rows that are not blank.
    pub rows: usize,
    pub parts: Vec<PartInfo>,
    pub uploaded_at: String,
}

/// Whether `id` can name an upload (`imp_` and 26 lower-case base32 characters): anything else
/// is never looked up.
pub fn is_upload_id(id: &str) -> bool {
    id.strip_prefix("imp_").is_some_and(|rest| rest.len() == 26 && rest.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()))
}

impl Upload {
    #[allow(clippy::too_many_arguments)]
    pub fn of(id: &str, kind: RecordKind, actor: &str, name: &str, file: &ImportFile<'_>, parts: &[Part<'_>], rows: usize, now: &str) -> Upload {
        Upload {
            id: id.to_string(),
            kind: kind.key_kind().to_string(),
            actor: actor.to_string(),
            name: name.to_string(),
            delimiter: file.table.delimiter,
            header: file.table.header.clone(),
            rows,
            parts: parts.iter().map(|p| PartInfo { first_row: p.first_row, first_line: p.first_line, rows: p.rows }).collect(),
            uploaded_at: now.to_string(),
        }
    }

    /// Whether the upload is this person's, of this kind.
    pub fn belongs_to(&self, kind: RecordKind, actor: &str) -> bool {
        self.kind == kind.key_kind() && self.actor == actor
    }

    /// The file, known by its header (its parts are read on their own).
    pub fn file(&self, kind: RecordKind) -> ImportFile<'static> {
        ImportFile::of_header(kind, self.delimiter, self.header.clone())
    }

    /// Part `i`, given its text.
    pub fn part<'t>(&self, i: usize, text: &'t str) -> Part<'t> {
        let p = &self.parts[i];
        Part { first_row: p.first_row, first_line: p.first_line, rows: p.rows, text }
    }

    /// The `Idempotency-Key` part `i` runs under.
    pub fn step_key(&self, i: usize) -> String {
        format!("import-{}-{i}", self.id)
    }

    pub fn step_keys(&self) -> Vec<String> {
        (0..self.parts.len()).map(|i| self.step_key(i)).collect()
    }

    /// The part a step key names.
    pub fn part_of(&self, key: &str) -> Option<usize> {
        key.strip_prefix(&format!("import-{}-", self.id))?.parse().ok().filter(|i| *i < self.parts.len())
    }

    /// The job page's address (`?next` imports the next part).
    pub fn href(&self) -> String {
        format!("/view/import/{}/{}", self.kind, url_encode(&self.id))
    }

    fn rows_of(&self, parts: std::ops::Range<usize>) -> usize {
        self.parts[parts].iter().map(|p| p.rows).sum()
    }
}

/// A part as the store says it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepStatus {
    pub part: usize,
    /// `None` while its request runs; `Some(0)` written but its answer not kept; else the answer's
    /// status.
    pub status: Option<u16>,
    pub claimed_at: String,
}

/// Whether another request holds the next part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Free,
    /// A request is importing it now.
    Running,
    /// A request claimed it and died before writing: it runs again.
    Abandoned,
}

/// Where an import stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// No part ran: the preview, and the button that starts the import.
    Preview,
    /// Parts ran; `next` is the first that has not.
    Importing { next: usize, done_rows: usize, claim: Claim, resume: Resume },
    /// Every part ran.
    Finished { resume: Resume },
}

/// Where the counts so far are: the last part whose answer was kept, and the rows of the parts
/// after it that were written but whose answer was not (a request that died between its commit
/// and its answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    pub answered: Option<usize>,
    pub unreported_rows: usize,
}

/// Where the import of `upload` stands, from its parts' statuses at `now_millis`.
pub fn job(upload: &Upload, steps: &[StepStatus], now_millis: i64) -> Job {
    let status = |i: usize| steps.iter().find(|s| s.part == i);
    let done = |i: usize| status(i).is_some_and(|s| s.status.is_some());
    let next = (0..upload.parts.len()).find(|i| !done(*i));
    if next == Some(0) && status(0).is_none() {
        return Job::Preview;
    }
    let end = next.unwrap_or(upload.parts.len());
    let answered = (0..end).rev().find(|i| status(*i).is_some_and(|s| s.status.is_some_and(|c| c != 0)));
    let unreported_rows = upload.rows_of(answered.map_or(0, |a| a + 1)..end);
    let resume = Resume { answered, unreported_rows };
    let Some(next) = next else { return Job::Finished { resume } };
    let claim = match status(next) {
        None => Claim::Free,
        Some(s) => {
            let age = Timestamp::parse(&s.claimed_at).map_or(i64::MAX, |t| now_millis - t.millis());
            if age > ABANDONED_MS {
                Claim::Abandoned
            } else {
                Claim::Running
            }
        }
    };
    Job::Importing { next, done_rows: upload.rows_of(0..next), claim, resume }
}

/// The fields of a sample's `values` the pages show (a record's name, and its details): a part's
/// answer keeps only these, so it stays under what an answer may weigh to be kept (1 MB).
pub const SHOWN_VALUES: &[&str] =
    &["firstName", "lastName", "email", "company", "title", "linkedinUrl", "phone", "name", "domain", "website", "industry", "country"];

/// What a part's request keeps as its answer: the counts of the import so far (this part
/// included), and this part's rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepAnswer {
    pub part: usize,
    pub tally: Tally,
    /// Rows written by earlier parts whose answer was not kept.
    pub unreported_rows: usize,
    pub results: Vec<Value>,
}

fn nouns(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Contact => "contacts",
        RecordKind::Company => "companies",
    }
}

/// The upload form: a file, or rows pasted; what went wrong with the last try, when it did.
pub fn upload_page(shell: &Shell, kind: RecordKind, forms: &Forms, problem: Option<&str>, pasted: &str) -> String {
    let title = format!("{}Import {}", if problem.is_some() { "Error: " } else { "" }, nouns(kind));
    let action = format!("/view/import/{}", kind.key_kind());
    page(&title, shell, |h| {
        if let Some(problem) = problem {
            h.raw("<section class=\"error-summary\" role=\"alert\" aria-labelledby=\"problem\"><h2 id=\"problem\">There is a problem</h2><p>Nothing was imported.</p><ul>");
            h.raw("<li><a href=\"#file\">").text(problem).raw("</a></li></ul></section>");
        }
        h.raw("<h1>Import ").text(nouns(kind)).raw("</h1>");
        h.raw("<section><p>Upload a CSV file, such as a HubSpot, Salesforce or Pipedrive export. You will see what the import would do before anything is written: which rows create a record, which are records the CRM already holds (and how each was recognised), and which cannot be imported.</p>");
        h.raw("<form method=\"post\" enctype=\"multipart/form-data\" action=\"").text(&action).raw("\">");
        forms.hidden(h, &action);
        h.raw(if problem.is_some() { "<div class=\"field bad\">" } else { "<div class=\"field\">" });
        h.raw("<label for=\"file\">CSV file</label><p class=\"hint\" id=\"file-hint\">UTF-8, separated by commas or semicolons, with a header row. Up to ");
        h.text(&plural(MAX_UPLOAD_ROWS, "row", "rows")).raw(" and ").number(MAX_UPLOAD_BYTES / (1024 * 1024)).raw(" MB.</p>");
        if let Some(problem) = problem {
            h.raw("<p class=\"error\" id=\"file-error\"><span class=\"vh\">Error: </span>").text(problem).raw("</p>");
        }
        h.raw("<input id=\"file\" name=\"file\" type=\"file\" accept=\".csv,.txt,text/csv\" aria-describedby=\"file-hint\"></div>");
        h.raw("<div class=\"field\"><label for=\"csv\">Or paste the rows</label><p class=\"hint\">The header row first.</p>");
        h.raw("<textarea id=\"csv\" name=\"csv\" rows=\"6\" spellcheck=\"false\">").text(pasted).raw("</textarea></div>");
        h.raw("<button type=\"submit\">Preview the import</button></form></section>");
        columns_help(h, kind);
    })
}

/// Which headers fill which field.
fn columns_help(h: &mut Html, kind: RecordKind) {
    h.raw("<section><details><summary>Which columns are read</summary>");
    h.raw("<p>A header names a field in any case, with spaces or underscores (<code>first_name</code>, <code>First Name</code>), or as HubSpot, Salesforce and Pipedrive export it. Any other column is kept on the record as a custom property under its header.</p>");
    h.raw("<table class=\"stack\"><caption class=\"vh\">Headers read as fields</caption><thead><tr><th scope=\"col\">Field</th><th scope=\"col\">Headers, for example</th></tr></thead><tbody>");
    for (field, headers) in examples(kind) {
        let name = if *field == "firstName+lastName" { "Whole name (first word, then the rest)" } else { label(field) };
        h.raw("<tr><td data-label=\"Field\">").text(name).raw("</td><td data-label=\"Headers\">").text(&headers.join(", ")).raw("</td></tr>");
    }
    h.raw("</tbody></table></details></section>");
}

/// What a column is read as, for people.
fn read_as(target: &Target) -> String {
    match target {
        Target::Field(f) => label(f).to_string(),
        Target::FullName => "First name and last name".to_string(),
        Target::Property(key) => format!("Custom property “{key}”"),
        Target::Ignored(why) => format!("Not read: {why}"),
    }
}

/// A term of the identifier in words: `firstName&lastName&company` reads "first name, last name
/// and company".
fn rule_words(term: &str) -> String {
    // A label's capital goes unless the word keeps capitals of its own (LinkedIn, VAT).
    let word = |l: &str| match l.chars().skip(1).any(char::is_uppercase) {
        true => l.to_string(),
        false => l.to_lowercase(),
    };
    let words: Vec<String> = term.split('&').map(|f| if f == "externalId" { "external id".to_string() } else { word(label(f)) }).collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => words.concat(),
    }
}

/// The counts of an import as boxes.
fn counts(h: &mut Html, tally: &Tally, dry: bool) {
    let m = &tally.matches;
    h.raw("<div class=\"counts\">");
    let boxes = [
        (tally.create, if dry { "to create" } else { "created" }),
        (m.by_external_id + m.by_identifier, if dry { "already in the CRM" } else { "matched" }),
        (tally.duplicate_in_file, "repeated in the file"),
        (tally.invalid + tally.ambiguous, if dry { "cannot be imported" } else { "not imported" }),
    ];
    for (n, text) in boxes {
        h.raw("<div><b>").text(&grouped(n as i64)).raw("</b>").text(text).raw("</div>");
    }
    h.raw("</div>");
    if m.by_external_id + m.by_identifier > 0 {
        h.raw("<p>Recognised ");
        let mut ways: Vec<String> = Vec::new();
        if m.by_external_id > 0 {
            ways.push(format!("{} by external id", grouped(m.by_external_id as i64)));
        }
        for (rule, n) in &m.by_rule {
            ways.push(format!("{} by {}", grouped(*n as i64), rule_words(rule)));
        }
        h.text(&ways.join(", ")).raw(".</p>");
    }
    if tally.blank > 0 {
        h.raw("<p class=\"mute\">").text(&plural(tally.blank, "blank row was", "blank rows were")).raw(" skipped.</p>");
    }
}

/// What else a sample's row says, in a few words: a contact's email, company and title; a
/// company's domain (or website), industry and country.
fn details(kind: RecordKind, sample: &Value) -> String {
    let values = &sample["values"];
    let fields: &[&str] = match kind {
        RecordKind::Contact => &["email", "company", "title"],
        RecordKind::Company if values["domain"].is_string() => &["domain", "industry", "country"],
        RecordKind::Company => &["website", "industry", "country"],
    };
    fields.iter().filter_map(|f| values[*f].as_str()).filter(|v| !v.is_empty()).collect::<Vec<_>>().join(" · ")
}

/// A sample's record, as a page names it.
fn who(kind: RecordKind, sample: &Value) -> String {
    sample["values"].as_object().map(|v| shown_identity(kind, v)).unwrap_or_default()
}

fn row_cell(h: &mut Html, sample: &Value) {
    h.raw("<td data-label=\"Row\" class=\"nowrap\">").text(&sample["row"].to_string()).raw("</td>");
}

fn record_cell(h: &mut Html, kind: RecordKind, sample: &Value, heading: &'static str) {
    h.raw("<td data-label=\"").raw(heading).raw("\">");
    let name = who(kind, sample);
    match sample["crmId"].as_str() {
        Some(id) => {
            h.link(&record_href(kind, id), if name.is_empty() { id } else { &name });
        }
        None => {
            h.text(&name);
        }
    }
    h.raw("</td>");
}

/// One outcome's rows, as a table (none when there are none).
fn samples(h: &mut Html, kind: RecordKind, title: &str, total: usize, list: &[Value], columns: &[&'static str], cell: impl Fn(&mut Html, &Value)) {
    if list.is_empty() {
        return;
    }
    h.raw("<section><h2>").text(title).raw(" (").text(&grouped(total as i64)).raw(")</h2>");
    if total > list.len() {
        h.raw("<p class=\"mute\">The first ").number(list.len()).raw(" rows.</p>");
    }
    h.raw("<div class=\"scroll\"><table class=\"stack\"><caption class=\"vh\">").text(title).raw("</caption><thead><tr><th scope=\"col\">Row</th>");
    for c in columns {
        h.raw("<th scope=\"col\">").raw(c).raw("</th>");
    }
    h.raw("</tr></thead><tbody>");
    for sample in list {
        h.raw("<tr>");
        row_cell(h, sample);
        cell(h, sample);
        h.raw("</tr>");
    }
    h.raw("</tbody></table></div></section>");
    let _ = kind;
}

/// The rows of each outcome, with what each is.
fn outcome_tables(h: &mut Html, kind: RecordKind, tally: &Tally, dry: bool) {
    let s = &tally.samples;
    let noun = kind.noun().to_lowercase();
    let created = if dry { format!("Rows that create a {noun}") } else { format!("Rows that created a {noun}") };
    samples(h, kind, &created, tally.create, &s.created, &[if dry { "Record" } else { "Created" }, "Details"], |h, r| {
        record_cell(h, kind, r, "Record");
        h.raw("<td data-label=\"Details\">").text(&details(kind, r)).raw("</td>");
    });
    let matched = format!("Rows that are a {noun} already in the CRM");
    let m = tally.matches.by_external_id + tally.matches.by_identifier;
    samples(h, kind, &matched, m, &s.matched, &["Record", "Recognised by", "Fills in", "Keeps its own"], |h, r| {
        record_cell(h, kind, r, "Record");
        let by = rule_words(r["matchedBy"].as_str().unwrap_or(""));
        h.raw("<td data-label=\"Recognised by\">").text(&by).raw("</td>");
        for (heading, list, none) in [("Fills in", "updatedFields", "nothing new"), ("Keeps its own", "keptFields", "")] {
            let names: Vec<String> = r[list].as_array().into_iter().flatten().filter_map(Value::as_str).map(|f| f.strip_prefix("properties.").unwrap_or_else(|| label(f)).to_string()).collect();
            h.raw("<td data-label=\"").raw(heading).raw("\">").text(&if names.is_empty() { none.to_string() } else { names.join(", ") }).raw("</td>");
        }
    });
    samples(h, kind, "Rows repeated in the file", tally.duplicate_in_file, &s.duplicate_in_file, &["Record", "Same as"], |h, r| {
        record_cell(h, kind, r, "Record");
        h.raw("<td data-label=\"Same as\">");
        match r["sameAsRow"].as_u64() {
            Some(first) => h.raw("row ").text(&first.to_string()),
            None => h.raw("a row imported earlier"),
        };
        h.raw("</td>");
    });
    let refused: Vec<Value> = s.invalid.iter().chain(&s.ambiguous).cloned().collect();
    let title = if dry { "Rows that cannot be imported" } else { "Rows not imported" };
    samples(h, kind, title, tally.invalid + tally.ambiguous, &refused, &["Column", "Problem"], |h, r| {
        h.raw("<td data-label=\"Column\">").text(r["column"].as_str().unwrap_or("the whole row")).raw("</td>");
        h.raw("<td data-label=\"Problem\">").text(r["error"].as_str().unwrap_or("")).raw("</td>");
    });
}

/// The file's columns and what each is read as.
fn mapping_table(h: &mut Html, mapping: &Mapping) {
    h.raw("<section><h2>Columns</h2><div class=\"scroll\"><table class=\"stack\"><caption class=\"vh\">What each column of the file is read as</caption>");
    h.raw("<thead><tr><th scope=\"col\">Column</th><th scope=\"col\">Read as</th></tr></thead><tbody>");
    for c in &mapping.columns {
        h.raw("<tr><td data-label=\"Column\">").text(&c.label).raw("</td><td data-label=\"Read as\">").text(&read_as(&c.target)).raw("</td></tr>");
    }
    h.raw("</tbody></table></div></section>");
}

/// What an import would do: the columns, the counts, the rows of each outcome, and the button.
pub fn preview_page(shell: &Shell, kind: RecordKind, upload: &Upload, mapping: &Mapping, tally: &Tally, forms: &Forms) -> String {
    page(&format!("Import {}: preview", nouns(kind)), shell, |h| {
        h.raw("<h1>Import ").text(nouns(kind)).raw(": preview</h1><section><p>");
        h.text(&upload.name).raw(": ").text(&plural(upload.rows, "row", "rows")).raw(", separated by “").text(delimiter_text(upload.delimiter)).raw("”. ");
        h.raw("<strong>Nothing has been written yet.</strong></p>");
        counts(h, tally, true);
        if tally.unidentified > 0 {
            h.raw("<p class=\"late-text\">").text(&plural(tally.unidentified, "row", "rows"));
            h.raw(" to create carry no external id and no value the CRM recognises records by, so importing this file again would create them again.</p>");
        }
        let writes = tally.create + tally.matches.by_external_id + tally.matches.by_identifier;
        if writes > 0 {
            h.raw("<form class=\"act\" method=\"post\" action=\"").text(&upload.href()).raw("\">");
            forms.hidden(h, &upload.href());
            h.raw("<button type=\"submit\">Import ").text(&plural(upload.rows, "row", "rows")).raw("</button> ");
            h.raw("<a href=\"/view/import/").text(&upload.kind).raw("\">Upload another file</a></form>");
        } else {
            h.raw("<p>No row of this file can be imported. <a href=\"/view/import/").text(&upload.kind).raw("\">Upload another file</a></p>");
        }
        h.raw("</section>");
        mapping_table(h, mapping);
        outcome_tables(h, kind, tally, true);
    })
}

fn delimiter_text(d: u8) -> &'static str {
    match d {
        b';' => ";",
        b'\t' => "tab",
        _ => ",",
    }
}

/// An import under way: rows done of rows, the counts so far; `refresh` reloads the page to
/// import the next part (`None` when another request holds it: then the page only waits).
pub fn progress_page(shell: &Shell, kind: RecordKind, upload: &Upload, done_rows: usize, tally: &Tally, waiting: Option<&str>) -> String {
    let mut shell = shell.clone();
    shell.refresh = Some((if waiting.is_some() { 3 } else { 0 }, format!("{}?next", upload.href())));
    page(&format!("Importing {}", nouns(kind)), &shell, |h| {
        let percent = (done_rows * 100).checked_div(upload.rows).unwrap_or(100);
        h.raw("<h1>Importing ").text(nouns(kind)).raw("</h1><section role=\"status\"><p>").text(&upload.name).raw(": <strong>");
        h.text(&grouped(done_rows as i64)).raw(" of ").text(&grouped(upload.rows as i64)).raw(" rows</strong> (").number(percent).raw("%).</p>");
        h.raw("<progress max=\"").number(upload.rows.max(1)).raw("\" value=\"").number(done_rows).raw("\">").number(percent).raw("%</progress>");
        if let Some(why) = waiting {
            h.raw("<p>").text(why).raw("</p>");
        }
        counts(h, tally, false);
        h.raw("<p class=\"mute\">This page moves on by itself. You may leave it: the import waits, and goes on when you come back to <a href=\"");
        h.text(&format!("{}?next", upload.href())).raw("\">this import</a>.</p></section>");
    })
}

/// An import that is not running (the person left it): where it stands, and how to go on.
pub fn paused_page(shell: &Shell, kind: RecordKind, upload: &Upload, done_rows: usize) -> String {
    page(&format!("Import of {} paused", nouns(kind)), shell, |h| {
        h.raw("<h1>Import of ").text(nouns(kind)).raw(" paused</h1><section><p>").text(&upload.name).raw(": ");
        h.text(&grouped(done_rows as i64)).raw(" of ").text(&grouped(upload.rows as i64)).raw(" rows imported.</p>");
        h.raw("<p><a href=\"").text(&format!("{}?next", upload.href())).raw("\">Continue the import</a></p></section>");
    })
}

/// A finished import: its counts, and the rows of each outcome with links to their records.
pub fn result_page(shell: &Shell, kind: RecordKind, upload: &Upload, tally: &Tally, unreported_rows: usize) -> String {
    page(&format!("Import of {} finished", nouns(kind)), shell, |h| {
        h.raw("<section class=\"notice\" role=\"status\"><h1>Import of ").text(nouns(kind)).raw(" finished</h1><p>").text(&upload.name).raw(": ");
        h.text(&plural(upload.rows, "row", "rows")).raw(" read.</p></section><section>");
        counts(h, tally, false);
        if unreported_rows > 0 {
            h.raw("<p class=\"late-text\">").text(&plural(unreported_rows, "row was", "rows were"));
            h.raw(" imported by a request that stopped before it could report them: their records are in the CRM, and not counted here.</p>");
        }
        h.raw("<p><a href=\"/view/import/").text(&upload.kind).raw("\">Import another file</a> · <a href=\"/view/\">Dashboard</a></p></section>");
        outcome_tables(h, kind, tally, false);
        if tally.samples.created.len() == SAMPLES || tally.samples.matched.len() == SAMPLES {
            h.raw("<p class=\"mute\">Each list shows its first ").number(SAMPLES).raw(" rows; every record is on the dashboard.</p>");
        }
    })
}

/// The page of an upload that is not here: expired, never made, or someone else's.
pub fn missing_page(shell: &Shell, kind: RecordKind) -> String {
    page("Import not found", shell, |h| {
        h.raw("<section><h1>Import not found</h1><p>There is no import of yours at this address. An uploaded file is kept for 24 hours.</p>");
        h.raw("<p><a href=\"/view/import/").text(kind.key_kind()).raw("\">Upload a file</a></p></section>");
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::import::ImportFile;
    use serde_json::json;

    fn upload(rows: &[usize]) -> Upload {
        let mut first = 2;
        let parts = rows
            .iter()
            .map(|&n| {
                let p = PartInfo { first_row: first, first_line: first, rows: n };
                first += n;
                p
            })
            .collect();
        Upload {
            id: "imp_0123456789abcdefghjkmnpqrs".into(),
            kind: "contact".into(),
            actor: "ana@team.test".into(),
            name: "export.csv".into(),
            delimiter: b',',
            header: vec!["Email".into()],
            rows: rows.iter().sum(),
            parts,
            uploaded_at: "2030-01-01T00:00:00.000Z".into(),
        }
    }

    const NOW: i64 = 1_893_456_000_000; // 2030-01-01T00:00:00Z

    fn step(part: usize, status: Option<u16>, ago_ms: i64) -> StepStatus {
        StepStatus { part, status, claimed_at: Timestamp::from_millis(NOW - ago_ms).to_rfc3339() }
    }

    #[test]
    fn ids_and_keys() {
        let u = upload(&[1000, 1000, 10]);
        assert!(is_upload_id(&u.id));
        for bad in ["imp_", "imp_0123456789ABCDEFGHJKMNPQRS", "ct_0123456789abcdefghjkmnpqrs", "imp_0123456789abcdefghjkmnpqrs/../x"] {
            assert!(!is_upload_id(bad), "{bad}");
        }
        assert_eq!(u.step_key(2), "import-imp_0123456789abcdefghjkmnpqrs-2");
        assert_eq!(u.part_of(&u.step_key(2)), Some(2));
        assert_eq!(u.part_of(&u.step_key(3)), None);
        assert_eq!(u.href(), "/view/import/contact/imp_0123456789abcdefghjkmnpqrs");
        assert!(u.belongs_to(RecordKind::Contact, "ana@team.test") && !u.belongs_to(RecordKind::Company, "ana@team.test") && !u.belongs_to(RecordKind::Contact, "bo@team.test"));
    }

    #[test]
    fn an_import_goes_from_preview_through_its_parts_to_its_result() {
        let u = upload(&[1000, 1000, 10]);
        assert_eq!(job(&u, &[], NOW), Job::Preview);
        let first_running = job(&u, &[step(0, None, 1000)], NOW);
        assert_eq!(first_running, Job::Importing { next: 0, done_rows: 0, claim: Claim::Running, resume: Resume { answered: None, unreported_rows: 0 } });
        let one = job(&u, &[step(0, Some(200), 5000)], NOW);
        assert_eq!(one, Job::Importing { next: 1, done_rows: 1000, claim: Claim::Free, resume: Resume { answered: Some(0), unreported_rows: 0 } });
        let stuck = job(&u, &[step(0, Some(200), 5000), step(1, None, ABANDONED_MS + 1)], NOW);
        assert!(matches!(stuck, Job::Importing { next: 1, claim: Claim::Abandoned, .. }), "{stuck:?}");
        // Part 1 wrote but its answer was lost: its rows are done, not reported.
        let lost = job(&u, &[step(0, Some(200), 5000), step(1, Some(0), 4000)], NOW);
        assert_eq!(lost, Job::Importing { next: 2, done_rows: 2000, claim: Claim::Free, resume: Resume { answered: Some(0), unreported_rows: 1000 } });
        let all = [step(0, Some(200), 5000), step(1, Some(200), 4000), step(2, Some(200), 3000)];
        assert_eq!(job(&u, &all, NOW), Job::Finished { resume: Resume { answered: Some(2), unreported_rows: 0 } });
    }

    fn shell() -> Shell {
        Shell { nonce: "n0nce".into(), person: Some("ana@team.test".into()), ..Shell::default() }
    }

    fn tally_of(text: &str, kind: RecordKind) -> (Mapping, Tally) {
        use crate::domain::config::{AmbiguousMatch, CreateMerge};
        use crate::domain::import::{parse_rows, ImportRun};
        use crate::domain::matching::MatchRule;
        use crate::domain::plan::CreateSettings;
        let file = ImportFile::open(kind, text).unwrap();
        let rule = MatchRule::parse(kind, if kind == RecordKind::Contact { "linkedin_or_name_company" } else { "domain" }).unwrap();
        let policy = Default::default();
        let settings = CreateSettings { kind, rule: &rule, dedupe: true, ambiguous: AmbiguousMatch::Pick, merge: CreateMerge::FillEmpty, policy: &policy };
        let mut run = ImportRun::new(settings, true, "2030-01-01T00:00:00.000Z");
        let (rows, blank) = file.prepare(file.table.rows());
        run.blank(blank);
        let items = parse_rows(kind, &rows);
        let plan = run.plan(&items, Vec::new(), &Default::default());
        run.record(&file.mapping, &rows, &items, &plan, &Default::default());
        (file.mapping, run.tally)
    }

    #[test]
    fn the_preview_names_columns_counts_and_rows_and_escapes_the_file() {
        let text = "Company name,Website URL,Number of Employees,<b>Notes</b>\nAcme,https://acme.com,12,<script>x</script>\nAcme again,acme.com,,\nBad,bad.com,many,\n";
        let (mapping, tally) = tally_of(text, RecordKind::Company);
        let mut u = upload(&[3]);
        u.kind = "company".into();
        let html = preview_page(&shell(), RecordKind::Company, &u, &mapping, &tally, &Forms::new("t0k", "seed"));
        assert!(html.contains("<strong>Nothing has been written yet.</strong>"));
        assert!(html.contains("<td data-label=\"Column\">Website URL</td><td data-label=\"Read as\">Website</td>"), "{html}");
        assert!(html.contains("Custom property “&lt;b&gt;Notes&lt;/b&gt;”"), "headers are escaped");
        assert!(!html.contains("<script>") && !html.contains("<b>Notes"), "{html}");
        assert!(html.contains("<div><b>1</b>to create</div>") && html.contains("<div><b>1</b>repeated in the file</div>") && html.contains("<div><b>1</b>cannot be imported</div>"), "{html}");
        assert!(html.contains("<td data-label=\"Same as\">row 2</td>"), "{html}");
        assert!(html.contains("<td data-label=\"Column\">Number of Employees</td>"), "{html}");
        assert!(html.contains("action=\"/view/import/company/imp_0123456789abcdefghjkmnpqrs\"") && html.contains("name=\"token\" value=\"t0k\""), "{html}");
        assert!(html.contains(">Import 3 rows</button>"), "{html}");
        assert!(html.contains("<td data-label=\"Details\">https://acme.com</td>"), "{html}");
        assert_eq!(rule_words("firstName&lastName&company"), "first name, last name and company");
        assert_eq!((rule_words("domain"), rule_words("externalId"), rule_words("linkedinUrl")), ("domain".into(), "external id".into(), "LinkedIn".to_string()));
    }

    #[test]
    fn progress_refreshes_to_the_next_part_and_the_result_links_the_records() {
        let u = upload(&[1000, 1000, 10]);
        let html = progress_page(&shell(), RecordKind::Contact, &u, 1000, &Tally::default(), None);
        assert!(html.contains("<meta http-equiv=\"refresh\" content=\"0; url=/view/import/contact/imp_0123456789abcdefghjkmnpqrs?next\">"), "{html}");
        assert!(html.contains("<strong>1,000 of 2,010 rows</strong> (49%)") && html.contains("<progress max=\"2010\" value=\"1000\">"), "{html}");
        let mut tally = Tally { create: 1, rows: 1, ..Tally::default() };
        tally.samples.created.push(json!({"row": 2, "line": 2, "outcome": "created", "crmId": "ct_1", "values": {"firstName": "Ada", "lastName": "Lovelace"}}));
        let html = result_page(&shell(), RecordKind::Contact, &u, &tally, 0);
        assert!(html.contains("<a href=\"/view/contact/ct_1\">Ada Lovelace</a>"), "{html}");
        assert!(!html.contains("http-equiv"), "a finished import stays put");
    }

    #[test]
    fn the_upload_form_is_multipart_and_says_what_went_wrong() {
        let html = upload_page(&shell(), RecordKind::Contact, &Forms::new("t0k", "seed"), Some("the file is empty"), "Email\n<x>");
        assert!(html.contains("enctype=\"multipart/form-data\" action=\"/view/import/contact\""), "{html}");
        assert!(html.contains("<title>Error: Import contacts · edge-crm</title>") && html.contains("<a href=\"#file\">the file is empty</a>"), "{html}");
        assert!(html.contains(">Email\n&lt;x&gt;</textarea>"), "what was pasted is kept");
        assert!(html.contains("Person - Email - Work"), "the help names export headers");
    }
}
