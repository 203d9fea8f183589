//! Reading an import file (API.md §4, Import): UTF-8 text, a byte order mark skipped, comma,
//! semicolon or tab separated (detected from the header row, or named by Excel's `sep=;` first
//! line), RFC 4180 quoting (separators, quotes and line breaks inside quoted cells), CRLF or LF.
//! The `csv` crate reads the records; this module decides what a file is and numbers its rows.
//!
//! Rows are numbered as a spreadsheet shows them: the header is row 1 and the first data row is
//! row 2 (a line that is entirely empty is no row). Each row also says the line of the file it
//! starts on, which differs once a quoted cell held a line break.
//!
//! A file is read in two passes that never hold every row at once: [`Table::rows`] walks the
//! rows (to count them and to split the file into parts), and [`Part::rows`] reads one part
//! again, so a 100,000-row file never becomes 100,000 parsed rows in memory.

use std::fmt;

/// The most columns a header may have: more is not a table of contacts or companies.
pub const MAX_COLUMNS: usize = 500;

/// Why a file cannot be read as a table (a `400` naming the problem).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// Nothing but blank lines.
    Empty,
    /// A byte sequence that is not UTF-8, on this line.
    NotUtf8 { line: usize },
    /// The header row has no name in any column.
    NoHeader,
    /// The header has more columns than [`MAX_COLUMNS`].
    TooManyColumns(usize),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Empty => f.write_str("the file is empty: send a header row naming the columns, then one row per record"),
            FileError::NotUtf8 { line } => write!(
                f,
                "the file is not UTF-8 text (line {line} holds a byte that is not): save it as \"CSV UTF-8\" and send it again"
            ),
            FileError::NoHeader => f.write_str("the first row names no column: the first row must be a header such as \"First Name,Last Name,Email\""),
            FileError::TooManyColumns(n) => write!(f, "the header has {n} columns; at most {MAX_COLUMNS} are read"),
        }
    }
}

/// The text of a file, checked as UTF-8, without its byte order mark.
pub fn decode(bytes: &[u8]) -> Result<&str, FileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        FileError::NotUtf8 { line }
    })
}

/// A file read as a table: its separator, its header, and the text of its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table<'t> {
    pub delimiter: u8,
    /// The header row's cells, trimmed.
    pub header: Vec<String>,
    /// The text after the header row.
    body: &'t str,
    /// The line of the file the body starts on.
    body_line: usize,
}

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The row as a spreadsheet numbers it (the header is row 1).
    pub number: usize,
    /// The line of the file the row starts on.
    pub line: usize,
    /// Its cells, trimmed, with the apostrophe that guards a formula (`'=1+1`) taken off.
    pub cells: Vec<String>,
    /// Where the row starts and ends in the text it was read from, in bytes.
    span: (usize, usize),
}

/// Consecutive rows of a table, as text that [`Part::rows`] reads again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'t> {
    pub first_row: usize,
    pub first_line: usize,
    pub rows: usize,
    pub text: &'t str,
}

impl<'t> Table<'t> {
    /// Reads the header of `text` (already decoded): the separator is Excel's `sep=` line when
    /// the file starts with one, else the one of `,`, `;` and tab that the header row holds most
    /// often outside quotes (a comma on a tie, or when it holds none).
    pub fn open(text: &'t str) -> Result<Table<'t>, FileError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let (declared, text, skipped) = match sep_line(text) {
            Some((d, rest)) => (Some(d), rest, 1),
            None => (None, text, 0),
        };
        // Blank lines before the header are no rows (the csv reader skips them too).
        let start = text.len() - text.trim_start_matches(['\r', '\n']).len();
        let leading_lines = text[..start].matches('\n').count();
        let text = &text[start..];
        if text.trim().is_empty() {
            return Err(FileError::Empty);
        }
        let delimiter = declared.unwrap_or_else(|| detect(text));
        let mut rows = Rows::new(delimiter, text, 1, 1 + skipped + leading_lines);
        let header = rows.next().ok_or(FileError::Empty)?;
        if header.cells.iter().all(String::is_empty) {
            return Err(FileError::NoHeader);
        }
        if header.cells.len() > MAX_COLUMNS {
            return Err(FileError::TooManyColumns(header.cells.len()));
        }
        let body_start = header.span.1;
        let body_line = header.line + text[header.span.0..body_start].matches('\n').count();
        Ok(Table { delimiter, header: header.cells, body: &text[body_start..], body_line })
    }

    /// A table known by its header alone (a file kept in parts: each part is read on its own).
    pub fn header_only(delimiter: u8, header: Vec<String>) -> Table<'static> {
        Table { delimiter, header, body: "", body_line: 2 }
    }

    /// Every data row, in order.
    pub fn rows(&self) -> Rows<'t> {
        Rows::new(self.delimiter, self.body, 2, self.body_line)
    }

    /// The separator as text, for people (`,`, `;`, `tab`).
    pub fn delimiter_name(&self) -> &'static str {
        match self.delimiter {
            b';' => ";",
            b'\t' => "tab",
            _ => ",",
        }
    }

    /// The rows from `first` to `last` (both as [`Table::rows`] yields them), `count` of them,
    /// as a part.
    fn part(&self, first: &Row, last: &Row, count: usize) -> Part<'t> {
        Part { first_row: first.number, first_line: first.line, rows: count, text: &self.body[first.span.0..last.span.1] }
    }
}

impl<'t> Part<'t> {
    /// The same rows, read from `text` (a copy of the part's text).
    pub fn with_text<'u>(&self, text: &'u str) -> Part<'u> {
        Part { first_row: self.first_row, first_line: self.first_line, rows: self.rows, text }
    }

    /// The part's rows, numbered as in the whole file.
    pub fn rows(&self, delimiter: u8) -> Rows<'t> {
        Rows::new(delimiter, self.text, self.first_row, self.first_line)
    }
}

/// Excel's first line `sep=;` (or `sep=,`, `sep=\t`): the separator, and the text after it.
fn sep_line(text: &str) -> Option<(u8, &str)> {
    let rest = text.strip_prefix("sep=").or_else(|| text.strip_prefix("SEP="))?;
    let mut chars = rest.chars();
    let d = chars.next().filter(|c| c.is_ascii() && *c != '"' && *c != '\n' && *c != '\r')? as u8;
    let after = chars.as_str();
    let after = after.strip_prefix("\r\n").or_else(|| after.strip_prefix('\n')).or_else(|| after.strip_prefix('\r'))?;
    Some((d, after))
}

/// The separator the first record uses most outside quotes, of `,`, `;` and tab.
fn detect(text: &str) -> u8 {
    let (mut commas, mut semicolons, mut tabs) = (0, 0, 0);
    let mut quoted = false;
    for b in text.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            b'\t' if !quoted => tabs += 1,
            _ => {}
        }
    }
    if semicolons > commas && semicolons >= tabs {
        b';'
    } else if tabs > commas && tabs > semicolons {
        b'\t'
    } else {
        b','
    }
}

/// The rows of a text, in order.
pub struct Rows<'t> {
    text: &'t [u8],
    reader: csv::Reader<&'t [u8]>,
    record: csv::StringRecord,
    first_row: usize,
    first_line: usize,
    read: usize,
}

impl<'t> Rows<'t> {
    fn new(delimiter: u8, text: &'t str, first_row: usize, first_line: usize) -> Rows<'t> {
        let reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
        Rows { text: text.as_bytes(), reader, record: csv::StringRecord::new(), first_row, first_line, read: 0 }
    }
}

impl Iterator for Rows<'_> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        // The text is UTF-8 and read from memory: the reader cannot fail, only end.
        if !self.reader.read_record(&mut self.record).unwrap_or(false) {
            return None;
        }
        // The record's position is where the previous one ended: before the rest of its line
        // break and any blank line. Its first cell starts after them.
        let position = self.record.position().cloned().unwrap_or_else(csv::Position::new);
        let text = self.text;
        let mut start = position.byte() as usize;
        let mut line = position.line() as usize;
        while let Some(&b) = text.get(start).filter(|b| matches!(b, b'\r' | b'\n')) {
            line += usize::from(b == b'\n');
            start += 1;
        }
        let end = self.reader.position().byte() as usize;
        let row = Row {
            number: self.first_row + self.read,
            line: self.first_line + line - 1,
            cells: self.record.iter().map(cell).collect(),
            span: (start, end),
        };
        self.read += 1;
        Some(row)
    }
}

/// A cell as stored: trimmed, and without the apostrophe a spreadsheet or an export puts before
/// a value that would otherwise be read as a formula (`'=1+1`, `'+34 600`).
fn cell(raw: &str) -> String {
    let t = raw.trim();
    match t.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_string(),
        _ => t.to_string(),
    }
}

impl Row {
    /// Whether every cell is empty (a blank line a spreadsheet saved as `,,,`).
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(String::is_empty)
    }
}

/// Splits the rows of `table` into parts of at most `max` rows each, cut where `cut` says (given
/// the index of a row in the table, whether a new part starts there). Answers each part and how
/// many rows it holds, blank ones included.
pub fn split<'t>(table: &Table<'t>, mut cut: impl FnMut(usize, &Row) -> bool) -> Vec<Part<'t>> {
    let mut parts = Vec::new();
    let mut open: Option<(Row, Row, usize)> = None;
    for (i, row) in table.rows().enumerate() {
        if let Some((first, last, n)) = open.take() {
            if cut(i, &row) {
                parts.push(table.part(&first, &last, n));
                open = Some((row.clone(), row, 1));
            } else {
                open = Some((first, row, n + 1));
            }
        } else {
            cut(i, &row);
            open = Some((row.clone(), row, 1));
        }
    }
    if let Some((first, last, n)) = open {
        parts.push(table.part(&first, &last, n));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(table: &Table<'_>) -> Vec<Vec<String>> {
        table.rows().map(|r| r.cells).collect()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_comma_file_reads_header_and_rows() {
        let t = Table::open("First Name,Last Name,Email\nAda,Lovelace,ada@example.com\nAlan,Turing,\n").unwrap();
        assert_eq!((t.delimiter, t.header.clone()), (b',', strings(&["First Name", "Last Name", "Email"])));
        assert_eq!(cells(&t), vec![strings(&["Ada", "Lovelace", "ada@example.com"]), strings(&["Alan", "Turing", ""])]);
        let numbers: Vec<(usize, usize)> = t.rows().map(|r| (r.number, r.line)).collect();
        assert_eq!(numbers, vec![(2, 2), (3, 3)]);
    }

    #[test]
    fn a_semicolon_file_with_a_bom_crlf_and_quoted_line_breaks() {
        let bytes = "\u{feff}Nombre;Empresa;Notas\r\n\"García; Ana\";\"Acme, S.L.\";\"line one\r\nline \"\"two\"\"\"\r\nLuis;Beta;x\r\n".as_bytes();
        let text = decode(bytes).unwrap();
        let t = Table::open(text).unwrap();
        assert_eq!((t.delimiter, t.delimiter_name()), (b';', ";"));
        assert_eq!(t.header, strings(&["Nombre", "Empresa", "Notas"]));
        let rows: Vec<Row> = t.rows().collect();
        assert_eq!(rows[0].cells, strings(&["García; Ana", "Acme, S.L.", "line one\r\nline \"two\""]));
        assert_eq!((rows[0].number, rows[0].line), (2, 2));
        assert_eq!((rows[1].number, rows[1].line), (3, 4), "the quoted line break moves the next row's line, not its number");
    }

    #[test]
    fn the_separator_is_the_one_the_header_uses_most_outside_quotes() {
        assert_eq!(Table::open("a;b;c\n1;2;3").unwrap().delimiter, b';');
        assert_eq!(Table::open("\"a,1\";\"b,2\"\n").unwrap().delimiter, b';', "commas inside quotes do not count");
        assert_eq!(Table::open("a\tb\tc\n").unwrap().delimiter, b'\t');
        assert_eq!(Table::open("a,b;c\n").unwrap().delimiter, b',', "a tie is a comma");
        assert_eq!(Table::open("Email\nx@y.z\n").unwrap().delimiter, b',', "one column: a comma");
        let t = Table::open("sep=;\nFirst Name;Email,Work\nAda;a@b.c\n").unwrap();
        assert_eq!((t.delimiter, t.header.clone()), (b';', strings(&["First Name", "Email,Work"])), "Excel's sep= line wins");
        assert_eq!(t.rows().next().map(|r| (r.number, r.line)), Some((2, 3)));
    }

    #[test]
    fn cells_are_trimmed_and_lose_the_formula_guard() {
        let t = Table::open("a,b,c,d\n  x  ,'=SUM(A1),'+34 600 000 000,'quoted\n").unwrap();
        assert_eq!(cells(&t), vec![strings(&["x", "=SUM(A1)", "+34 600 000 000", "'quoted"])]);
    }

    #[test]
    fn rows_may_be_short_or_long_and_blank_lines_are_no_rows() {
        let t = Table::open("\n\na,b,c\n1\n\n1,2,3,4\n,,\n").unwrap();
        let rows: Vec<Row> = t.rows().collect();
        assert_eq!(rows.iter().map(|r| r.cells.len()).collect::<Vec<_>>(), vec![1, 4, 3]);
        assert_eq!(rows.iter().map(|r| (r.number, r.line)).collect::<Vec<_>>(), vec![(2, 4), (3, 6), (4, 7)]);
        assert!(rows[2].is_blank() && !rows[0].is_blank());
    }

    #[test]
    fn what_is_not_a_table_is_refused_with_a_reason() {
        assert_eq!(Table::open(""), Err(FileError::Empty));
        assert_eq!(Table::open("\r\n\n  \n"), Err(FileError::Empty));
        assert_eq!(Table::open(",,\n1,2,3\n"), Err(FileError::NoHeader));
        let wide = vec!["c"; MAX_COLUMNS + 1].join(",");
        assert_eq!(Table::open(&wide), Err(FileError::TooManyColumns(MAX_COLUMNS + 1)));
        assert_eq!(decode(b"a,b\n\xff,1\n"), Err(FileError::NotUtf8 { line: 2 }));
        assert!(FileError::NotUtf8 { line: 2 }.to_string().contains("CSV UTF-8"));
        assert_eq!(decode(b"\xEF\xBB\xBFa,b"), Ok("a,b"));
        // A header only: a table without rows.
        assert_eq!(Table::open("a,b").unwrap().rows().count(), 0);
    }

    #[test]
    fn a_table_splits_into_parts_that_read_back_the_same_rows() {
        let text = "name,note\nA,\"multi\nline\"\nB,2\r\n\nC,3\nD,4\nE,5";
        let t = Table::open(text).unwrap();
        let all: Vec<Row> = t.rows().collect();
        let parts = split(&t, |i, _| i % 2 == 0);
        assert_eq!(parts.iter().map(|p| (p.first_row, p.first_line, p.rows)).collect::<Vec<_>>(), vec![(2, 2, 2), (4, 6, 2), (6, 8, 1)]);
        let again: Vec<Row> = parts.iter().flat_map(|p| p.rows(t.delimiter)).collect();
        assert_eq!(again.iter().map(|r| (&r.cells, r.number, r.line)).collect::<Vec<_>>(), all.iter().map(|r| (&r.cells, r.number, r.line)).collect::<Vec<_>>());
        assert_eq!(split(&Table::open("a,b\n").unwrap(), |_, _| true), vec![], "no rows, no parts");
    }
}
