//! Importing contacts and companies from a CSV file (API.md §4, Import; §9, the import page):
//! pure, so every decision is unit-tested natively.
//!
//! - [`csv`] reads the file: encoding, separator, quoting, rows numbered as a spreadsheet does.
//! - [`columns`] maps the header to fields (the API's names in any spelling, and the export
//!   headers of HubSpot, Salesforce and Pipedrive) and makes each row the record a create would
//!   receive.
//! - [`run`] decides the file, part by part, with the create's own planner
//!   ([`plan_create`](crate::domain::plan::plan_create)): which rows create a record, which
//!   match one and how, which repeat an earlier row, which are refused; and counts it.
//!
//! **One import, one create.** A file is decided as one create request would decide it: rows in
//! file order, and a record an earlier row creates is, for a later row, what a create treats a
//! record it is creating as (the later row is that record, and adds nothing to it). The file is
//! written in parts of what one create statement carries ([`RECORD_CHUNKS`]), each part in one
//! transaction, so the records of earlier parts are in the store when a later part is decided:
//! the run marks them as this import's own ([`run::ImportRun::adjust`]) so the decision is the
//! same as in one request. A dry run writes nothing and decides against what the store would hold
//! ([`run::Overlay`]): the preview is what the import does, unless the store changes between
//! the two.

pub mod columns;
pub mod csv;
pub mod run;

use serde_json::Value;

pub use self::columns::{Built, Column, Mapping, Target};
pub use self::csv::{decode, FileError, Part, Row, Table};
pub use self::run::{ImportRun, Outcome, RowResult, Tally};

use crate::domain::chunk::{item_size, plan_chunks, ChunkLimits, RECORD_CHUNKS};
use crate::domain::error::{ApiError, ItemError};
use crate::domain::record::{parse_new, NewRecord, RecordKind};

/// Rows of each outcome a dry run shows (`samples`), and the import page.
pub const SAMPLES: usize = 100;

/// The largest file the import page takes (the API takes `MAX_BODY_BYTES`). Held in the
/// Worker's memory while it is split into parts, with room to spare under the isolate's 128 MB.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

/// The most rows of a file the import page takes (the API takes `MAX_BATCH` per request).
pub const MAX_UPLOAD_ROWS: usize = 200_000;

/// A file opened for import: its table and how its columns map.
#[derive(Debug, Clone)]
pub struct ImportFile<'t> {
    pub table: Table<'t>,
    pub mapping: Mapping,
}

/// A row made ready for the create path: where it is in the file, and its record (or why it is
/// none).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub number: usize,
    pub line: usize,
    pub built: Result<Built, ItemError>,
}

impl Prepared {
    /// The row's size as a create's chunks count it (its record as compact JSON).
    pub fn size(&self) -> usize {
        self.built.as_ref().map_or(0, |b| item_size(&Value::Object(b.item.clone())))
    }
}

impl<'t> ImportFile<'t> {
    /// Opens a decoded file for `kind`: `400` when it is no table, or when no column fills a
    /// field of the kind (a file of the other kind, or a separator that was not understood).
    pub fn open(kind: RecordKind, text: &'t str) -> Result<ImportFile<'t>, ApiError> {
        let table = Table::open(text).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let mapping = Mapping::of(kind, &table.header);
        if !mapping.fills_a_field() {
            let shown: Vec<String> = table.header.iter().take(8).map(|h| format!("{h:?}")).collect();
            return Err(ApiError::bad_request(format!(
                "no column names a field of a {}: the header was read as {} column(s) separated by \"{}\" ({}); name the columns like the fields (First Name, Email, Company Name, Domain...)",
                kind.noun().to_lowercase(),
                table.header.len(),
                table.delimiter_name(),
                shown.join(", ")
            )));
        }
        Ok(ImportFile { table, mapping })
    }

    /// A file kept in parts, known by its separator and header.
    pub fn of_header(kind: RecordKind, delimiter: u8, header: Vec<String>) -> ImportFile<'static> {
        let mapping = Mapping::of(kind, &header);
        ImportFile { table: Table::header_only(delimiter, header), mapping }
    }

    /// Decodes and opens raw bytes.
    pub fn read(kind: RecordKind, bytes: &'t [u8]) -> Result<ImportFile<'t>, ApiError> {
        let text = decode(bytes).map_err(|e| ApiError::bad_request(e.to_string()))?;
        ImportFile::open(kind, text)
    }

    /// The rows of `rows`, made records; blank rows are left out and counted.
    pub fn prepare(&self, rows: impl Iterator<Item = Row>) -> (Vec<Prepared>, usize) {
        let mut blank = 0;
        let mut out = Vec::new();
        for row in rows {
            if row.is_blank() {
                blank += 1;
                continue;
            }
            out.push(Prepared { number: row.number, line: row.line, built: self.mapping.build(&row.cells) });
        }
        (out, blank)
    }

    /// The file split into the parts its import writes one transaction each: the chunks a create
    /// of its rows would be served in (at most `limits.max_items` rows and `limits.max_bytes`
    /// of records), a blank row counting as a row of no size. Answers the parts and the number
    /// of rows that are not blank.
    pub fn parts(&self, limits: ChunkLimits) -> (Vec<Part<'t>>, usize) {
        let sizes: Vec<usize> = self
            .table
            .rows()
            .map(|row| match row.is_blank() {
                true => 0,
                false => self.mapping.build(&row.cells).map_or(0, |b| item_size(&Value::Object(b.item))),
            })
            .collect();
        let rows = self.table.rows().filter(|r| !r.is_blank()).count();
        let starts: std::collections::HashSet<usize> = plan_chunks(&sizes, limits).into_iter().map(|r| r.start).collect();
        (csv::split(&self.table, |i, _| starts.contains(&i)), rows)
    }

    /// The parts of a create's chunks ([`RECORD_CHUNKS`]).
    pub fn record_parts(&self) -> (Vec<Part<'t>>, usize) {
        self.parts(RECORD_CHUNKS)
    }
}

/// The records of prepared rows as the create path parses them; a record too large for one row
/// of the store fails alone (as in a create).
pub fn parse_rows(kind: RecordKind, rows: &[Prepared]) -> Vec<Result<NewRecord, ItemError>> {
    rows.iter()
        .map(|row| {
            let built = row.built.as_ref().map_err(Clone::clone)?;
            let item = Value::Object(built.item.clone());
            if let Some(e) = crate::domain::chunk::oversized(item_size(&item), RECORD_CHUNKS) {
                return Err(e);
            }
            parse_new(kind, &item)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_a_field_of_the_kind_is_refused_naming_its_header() {
        let e = ImportFile::open(RecordKind::Company, "First Name|Email\nAda|a@b.c\n").unwrap_err();
        assert_eq!(e.status(), 400);
        let m = e.message("r");
        assert!(m.contains("no column names a field of a company") && m.contains("\"First Name|Email\""), "{m}");
        assert_eq!(ImportFile::read(RecordKind::Contact, b"\xff").unwrap_err().status(), 400);
        assert_eq!(ImportFile::read(RecordKind::Contact, b"").unwrap_err().status(), 400);
    }

    #[test]
    fn parts_are_the_chunks_of_a_create_and_blank_rows_are_counted_apart() {
        let mut text = String::from("Name,Domain\n");
        for i in 0..25 {
            text.push_str(&format!("Company {i},c{i}.com\n"));
            if i == 3 {
                text.push_str(",\n");
            }
        }
        let file = ImportFile::open(RecordKind::Company, &text).unwrap();
        let limits = ChunkLimits { max_items: 10, max_bytes: 1_000_000, max_item_bytes: 1_000_000 };
        let (parts, rows) = file.parts(limits);
        assert_eq!(rows, 25);
        assert_eq!(parts.iter().map(|p| p.rows).collect::<Vec<_>>(), vec![10, 10, 6]);
        let (prepared, blank) = file.prepare(parts[0].rows(file.table.delimiter));
        assert_eq!((prepared.len(), blank), (9, 1));
        assert_eq!(prepared[4].number, 7, "row numbers count the blank row");
        let parsed = parse_rows(RecordKind::Company, &prepared);
        assert_eq!(parsed[0].as_ref().unwrap().fields["domain"], "c0.com");
    }
}
