//! The walk every provider's report shares: locate the provider's columns in the header,
//! then hand each row to the provider, refusing ragged rows, unclosed quotes and files
//! with a header but no users.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::cells::LocalDates;
use super::columns::{Header, HeaderRow};
use super::generate::Spec;
use super::records::Records;
use super::row::Row;
use super::{Coverage, Encoding, Provider, ReadSummary, ReportError, Stop};
use crate::model::{Time, User};

/// One provider's report: where its columns are, what it can tell, and how a row becomes
/// a [`User`]. Each provider is one file implementing this.
pub trait ReportFormat {
    const PROVIDER: Provider;

    /// The controls of the provider's CIS benchmark that `check`'s checks stand for, as
    /// (check id, control): the alerts' `cis_control` label and the findings' `cis`.
    const CIS_CONTROLS: &'static [(&'static str, &'static str)];

    /// Where the provider's columns are in one report.
    type Layout: Sync;

    /// Asks `header` for every column the provider reads, in the documented order.
    fn layout(header: &mut Header<'_>) -> Self::Layout;

    /// The checks a report with this layout answers.
    fn coverage(layout: &Self::Layout) -> Coverage;

    /// Reads one row. `generated` is when the report was made.
    fn user<'a>(layout: &Self::Layout, row: &mut Row<'a, '_>, generated: Time) -> User<'a>;

    /// File `index` of `spec`: a realistic report of this provider for benchmarks and
    /// tests, the same bytes for the same seed ([`generate`](super::generate)).
    fn generated_report(spec: &Spec, index: usize) -> Vec<u8>;
}

/// How many of `F`'s columns `header` has.
pub fn fit<F: ReportFormat>(row: &HeaderRow) -> usize {
    let mut header = Header::new(row, F::PROVIDER);
    F::layout(&mut header);
    header.found()
}

/// `F`'s columns, in its documented order.
pub fn columns<F: ReportFormat>() -> Vec<String> {
    let mut header = Header::noting_asked(F::PROVIDER);
    F::layout(&mut header);
    header.asked()
}

/// `F`'s required columns (those every report of it has), in its documented order.
pub fn required_columns<F: ReportFormat>() -> Vec<String> {
    let mut header = Header::noting_asked(F::PROVIDER);
    F::layout(&mut header);
    header.asked_required()
}

/// Where the users of a report go as they are read.
pub trait Sink {
    /// The report's header was read: its provider and what it answers are known, before
    /// any of its rows.
    fn begin(&mut self, _provider: Provider, _coverage: &Coverage) {}

    /// One user, and the line its row starts on (from 1, the header's).
    fn add(&mut self, line: u64, user: &User<'_>);

    /// Forget every user added: the file is read again from its start (it was taken for
    /// UTF-8 until a byte showed it is GB18030), and [`Sink::begin`] comes again.
    fn start_over(&mut self);
}

/// A report whose header row has been read.
pub struct Input<'t, 's> {
    /// The rows after the header.
    pub records: Records<'s>,
    pub header: &'t HeaderRow,
    pub encoding: Encoding,
    pub generated: Timestamp,
    pub timezone: &'t TimeZone,
}

/// Reads the rows, handing each user to `sink` in report order.
pub(super) fn read<F: ReportFormat>(
    input: Input<'_, '_>,
    sink: &mut impl Sink,
) -> Result<ReadSummary, Stop> {
    let mut located = Header::new(input.header, F::PROVIDER);
    let layout = F::layout(&mut located);
    located.finish()?;
    // The header's cells as written, for errors.
    let names = input.header.names();
    let mut summary = ReadSummary {
        provider: F::PROVIDER,
        coverage: F::coverage(&layout),
        rows: 0,
        cell_errors: 0,
        first_cell_errors: Vec::new(),
        encoding: input.encoding,
    };
    let generated = Time::from(input.generated);
    let mut dates = LocalDates::new(input.timezone.clone());
    let mut records = input.records;
    // The line the last record starts on, and whether it left a quote open.
    let mut last_record = None;
    sink.begin(F::PROVIDER, &summary.coverage);
    while let Some(record) = records.next_record()? {
        let line = record.line;
        if record.len() != names.len() {
            // A quote opened and never closed swallows the rest of the file into one
            // field, which then looks like a short row; name the real fault.
            return Err(match record.open_quote {
                true => ReportError::UnterminatedQuote { line },
                false => ReportError::RaggedRow {
                    line,
                    expected: names.len() as u64,
                    found: record.len() as u64,
                },
            }
            .into());
        }
        last_record = Some((line, record.open_quote));
        // A spreadsheet saves the empty rows below a table as rows of commas: they are no
        // one, so no user, and no cell of theirs is an error.
        if record.iter().all(|cell| cell.trim_ascii().is_empty()) {
            continue;
        }
        let mut row = Row::new(&record, names, &mut dates, &mut summary);
        let user = F::user(&layout, &mut row, generated);
        summary.rows += 1;
        sink.add(line, &user);
    }
    if let Some((line, true)) = last_record {
        return Err(ReportError::UnterminatedQuote { line }.into());
    }
    // Every account has users to report; a header alone (or with empty rows) is a write
    // cut off early.
    if summary.rows == 0 {
        return Err(ReportError::NoUsers.into());
    }
    Ok(summary)
}
