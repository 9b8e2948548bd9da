//! The walk every provider's report shares: locate the provider's columns in the header,
//! then hand each row to the provider, refusing ragged rows, unclosed quotes and files
//! with a header but no users.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::cells::LocalDates;
use super::columns::Header;
use super::records::Records;
use super::row::Row;
use super::{quote_left_open, Checks, Encoding, Provider, ReadSummary, ReportError};
use crate::model::{Time, User};

/// One provider's report: where its columns are, what it can tell, and how a row becomes
/// a [`User`]. Each provider is one file implementing this.
pub trait Format {
    const PROVIDER: Provider;

    /// Where the provider's columns are in one report.
    type Layout;

    /// Asks `header` for every column the provider reads, in the documented order.
    fn layout(header: &mut Header) -> Self::Layout;

    /// The checks a report with this layout answers.
    fn checks(layout: &Self::Layout) -> Checks;

    /// Reads one row. `generated` is when the report was made.
    fn user<'a>(layout: &Self::Layout, row: &mut Row<'a, '_>, generated: Time) -> User<'a>;
}

/// How many of `F`'s columns `header` has.
pub fn fit<F: Format>(header: &[String]) -> usize {
    let mut header = Header::new(header.iter().map(String::as_str), F::PROVIDER);
    F::layout(&mut header);
    header.found()
}

/// `F`'s columns, in its documented order.
pub fn columns<F: Format>() -> Vec<String> {
    let mut header = Header::new([], F::PROVIDER);
    F::layout(&mut header);
    header.asked()
}

/// A decoded report whose header row has been read.
pub struct Input<'t> {
    pub text: &'t str,
    /// The rows after the header.
    pub records: Records<'t>,
    pub header: &'t [String],
    pub encoding: Encoding,
    pub generated: Timestamp,
    pub timezone: &'t TimeZone,
}

pub fn read<F: Format>(
    input: Input<'_>,
    mut sink: impl FnMut(&User<'_>),
) -> Result<ReadSummary, ReportError> {
    let Input {
        text,
        mut records,
        header,
        encoding,
        generated,
        timezone,
    } = input;
    let mut located = Header::new(header.iter().map(String::as_str), F::PROVIDER);
    let layout = F::layout(&mut located);
    let names = located.finish()?;
    let fields = names.len();
    let mut summary = ReadSummary {
        provider: F::PROVIDER,
        checks: F::checks(&layout),
        rows: 0,
        cell_errors: 0,
        first_cell_errors: Vec::new(),
        encoding,
    };
    let generated = Time::from(generated);
    let mut dates = LocalDates::new(timezone.clone());
    let mut last_record_start = 0;
    while let Some(record) = records.next_record() {
        let line = record.line;
        if record.len() != fields {
            // A quote opened and never closed swallows the rest of the file into one
            // field, which then looks like a short row; name the real fault.
            return Err(match quote_left_open(&text.as_bytes()[record.start..]) {
                true => ReportError::UnterminatedQuote { line },
                false => ReportError::RaggedRow {
                    line,
                    expected: fields as u64,
                    found: record.len() as u64,
                },
            });
        }
        last_record_start = record.start;
        let mut row = Row::new(&record, &names, &mut dates, &mut summary);
        let user = F::user(&layout, &mut row, generated);
        summary.rows += 1;
        sink(&user);
    }
    // Every account has users to report; a header alone is a write cut off early.
    if summary.rows == 0 {
        return Err(ReportError::NoUsers);
    }
    if quote_left_open(&text.as_bytes()[last_record_start..]) {
        let line = line_of(text.as_bytes(), last_record_start);
        return Err(ReportError::UnterminatedQuote { line });
    }
    Ok(summary)
}

fn line_of(text: &[u8], offset: usize) -> u64 {
    text[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}
