//! Reading credential reports: bytes → decoded text → CSV rows → typed [`User`] records.
//! One module per provider; this one picks the provider and owns the errors they share.

mod cells;
mod columns;
mod decode;
mod records;
mod tencent;

use jiff::tz::TimeZone;

use crate::model::User;
pub use decode::Encoding;

/// Faults that refuse a whole version of a file: its structure cannot be trusted, so none
/// of its numbers are served and the last good version stays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the file is empty: expected a header row")]
    Empty,
    #[error("the file has a header but no users (a write cut off after the header?)")]
    NoUsers,
    #[error("line {line}: bytes are neither UTF-8 nor GB18030")]
    Undecodable { line: u64 },
    #[error("line 1 (the header): required column {column:?} is missing")]
    MissingColumn { column: &'static str },
    #[error("line 1 (the header): column {column:?} appears more than once")]
    DuplicateColumn { column: &'static str },
    #[error("line {line}: expected {expected} fields like the header, found {found} (a ragged row or a file cut off mid-write)")]
    RaggedRow {
        line: u64,
        expected: u64,
        found: u64,
    },
    #[error("line {line}: a quoted field is never closed (a file cut off mid-write?)")]
    UnterminatedQuote { line: u64 },
}

/// A cell whose value is outside the states its column can hold. It voids that cell
/// only: the row is kept, the cell is treated as absent and counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: expected {expected}, found {found:?}")]
pub struct CellError {
    pub line: u64,
    pub column: &'static str,
    pub expected: &'static str,
    /// The cell as found, shortened: a cell may be megabytes long.
    pub found: String,
}

impl CellError {
    fn new(line: u64, column: &'static str, expected: &'static str, cell: &[u8]) -> Self {
        const SHOWN: usize = 64;
        let text = String::from_utf8_lossy(cell);
        // Cell errors go to the log, and a log must never hold a whole SecretId.
        let found = if column.ends_with("SecretId") {
            crate::exposition::mask_secret_id(&text)
        } else {
            match text.char_indices().nth(SHOWN) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text.into_owned(),
            }
        };
        CellError {
            line,
            column,
            expected,
            found,
        }
    }
}

/// How to read reports; the same for every file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The zone the report's local date-times are in.
    pub timezone: TimeZone,
}

/// What reading one file produced besides its users.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadSummary {
    pub rows: u64,
    pub cell_errors: u64,
    /// The first few cell errors, for the log; `cell_errors` counts them all.
    pub first_cell_errors: Vec<CellError>,
    pub encoding: Option<Encoding>,
}

/// How many cell errors of one file are kept for the log.
const CELL_ERRORS_KEPT: usize = 20;

impl ReadSummary {
    fn record_cell_error(&mut self, error: CellError) {
        self.cell_errors += 1;
        if self.first_cell_errors.len() < CELL_ERRORS_KEPT {
            self.first_cell_errors.push(error);
        }
    }
}

/// Reads one report, handing each user to `sink` as soon as its row is read, so callers
/// that only aggregate never hold the whole report in memory.
pub fn read(
    bytes: &[u8],
    options: &ReadOptions,
    sink: impl FnMut(&User<'_>),
) -> Result<ReadSummary, ReportError> {
    let (text, encoding) =
        decode::decode(bytes).map_err(|e| ReportError::Undecodable { line: e.line })?;
    if text.bytes().all(|b| b.is_ascii_whitespace()) {
        return Err(ReportError::Empty);
    }
    let mut summary = tencent::read(&text, options, sink)?;
    summary.encoding = Some(encoding);
    Ok(summary)
}

/// The CSV reader ends an unclosed quoted field silently at the end of the file; in a
/// report that only happens when a write was cut off, so it must refuse the version.
/// Given the bytes of the last record, tells whether a quote is still open at the end.
fn quote_left_open(last_record: &[u8]) -> bool {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    for &byte in last_record {
        state = match (state, byte) {
            (State::FieldStart, b'"') => State::Quoted,
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            // `""` inside quotes is an escaped quote.
            (State::QuoteInQuoted, b'"') => State::Quoted,
            (_, b',' | b'\n') => State::FieldStart,
            (_, _) => State::Unquoted,
        };
    }
    state == State::Quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_id_cells_are_masked_in_cell_errors() {
        let secret = format!("AKID{}WXYZ", "s3cr3t".repeat(300));
        let error = CellError::new(7, "AccessKey2SecretId", "an id", secret.as_bytes());
        assert_eq!(error.found, "AKID…WXYZ");
        assert!(!error.to_string().contains("s3cr3t"));
        let other = CellError::new(7, "Username", "a name", b"alice");
        assert_eq!(other.found, "alice");
    }
}
