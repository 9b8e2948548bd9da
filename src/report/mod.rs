//! Reading credential reports: bytes → decoded text → CSV rows → typed [`User`] records.
//! One file per provider ([`tencent_cam`], [`aws_iam`], [`alibaba_ram`]) over one shared
//! table reader; this module names the providers, tells them apart and owns their errors.

mod alibaba_ram;
mod aws_iam;
mod cells;
mod columns;
mod decode;
mod format;
pub mod generate;
mod records;
mod row;
mod tencent_cam;

use std::io;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::model::User;
use columns::HeaderRow;
pub use decode::Encoding;
use decode::{Guess, Text};
pub use format::Sink;
use records::Records;
pub use records::{HEADER_WITHIN_BYTES, MAX_FIELDS, MAX_RECORD_BYTES};

/// Evaluates `$body` with `$format` naming `$provider`'s [`format::ReportFormat`]: the one place
/// a provider is tied to its file. A `match`, not a table of function pointers, so each
/// use (above all each provider's row loop) is compiled for its provider.
macro_rules! with_format {
    ($provider:expr, $format:ident => $body:expr) => {
        match $provider {
            $crate::report::Provider::TencentCam => {
                type $format = $crate::report::tencent_cam::TencentCam;
                $body
            }
            $crate::report::Provider::AwsIam => {
                type $format = $crate::report::aws_iam::AwsIam;
                $body
            }
            $crate::report::Provider::AlibabaRam => {
                type $format = $crate::report::alibaba_ram::AlibabaRam;
                $body
            }
        }
    };
}

/// The clouds whose credential reports the exporter reads. Their names are the
/// `--report.provider` and `fetch --provider` values and the `provider` label.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Provider {
    // The default of `generate-reports` and the benchmarks: the first provider served.
    #[default]
    TencentCam,
    AwsIam,
    AlibabaRam,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::TencentCam, Provider::AwsIam, Provider::AlibabaRam];

    /// The same name clap's `ValueEnum` derives (kebab case), as a `&'static str` for labels.
    pub fn name(self) -> &'static str {
        match self {
            Provider::TencentCam => "tencent-cam",
            Provider::AwsIam => "aws-iam",
            Provider::AlibabaRam => "alibaba-ram",
        }
    }

    /// Every column the exporter reads from this provider's reports, comma-separated in
    /// the documented order: the header of a report written from scratch.
    pub fn documented_header(self) -> String {
        with_format!(self, F => format::columns::<F>()).join(",")
    }

    /// The columns every report of this provider has, in the documented order: the header
    /// of a report rebuilt from an API that gives nothing more (the Tencent fetcher's).
    pub fn required_columns(self) -> Vec<String> {
        with_format!(self, F => format::required_columns::<F>())
    }

    /// The controls of this provider's CIS benchmark that `check`'s checks stand for, as
    /// (check id, control).
    pub fn cis_controls(self) -> &'static [(&'static str, &'static str)] {
        with_format!(self, F => <F as format::ReportFormat>::CIS_CONTROLS)
    }

    /// File `index` of `spec`: a realistic report of this provider, the same bytes for the
    /// same seed ([`generate`]).
    pub fn generated_report(self, spec: &generate::Spec, index: usize) -> Vec<u8> {
        with_format!(self, F => <F as format::ReportFormat>::generated_report(spec, index))
    }

    /// How well `header` fits this provider's reports: how many of its columns are there.
    fn fit(self, header: &HeaderRow) -> usize {
        with_format!(self, F => format::fit::<F>(header))
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The checks a report can answer. A provider whose reports lack a check (or a file that
/// lacks its columns) gets no series for it, rather than zeros that read as "all clear".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Keys flagged as possibly leaked (Tencent's MayBeAtRisk).
    pub keys_at_risk: bool,
    pub login_protection: bool,
    pub operation_protection: bool,
    pub abnormal_logins: bool,
    /// The report says when passwords were last used (AWS, Alibaba).
    pub password_last_used: bool,
    /// The report has a row for the account's root user (AWS, Alibaba).
    pub root_user: bool,
    /// X.509 signing certificates (AWS).
    pub signing_certificates: bool,
}

/// Whether a report of this [`Coverage`] answers a check (its findings, its series): each
/// check's is in `check::CHECKS`, and the families that show a check's data take it there.
pub type Answers = fn(&Coverage) -> bool;

impl Coverage {
    /// Every report answers most checks.
    pub const ALWAYS: Answers = |_| true;
}

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
    #[error("line 1 (the header): not a credential report of a known provider ({known}); its first columns are {seen:?}", known = known_providers())]
    UnknownFormat { seen: Vec<String> },
    #[error(
        "line 1 (the header): required column {column:?} is missing from this {provider} report"
    )]
    MissingColumn { provider: Provider, column: String },
    #[error("line 1 (the header): column {column:?} appears more than once")]
    DuplicateColumn { column: String },
    #[error("line {line}: expected {expected} fields like the header, found {found} (a ragged row or a file cut off mid-write)")]
    RaggedRow {
        line: u64,
        expected: u64,
        found: u64,
    },
    #[error("line {line}: a quoted field is never closed (a file cut off mid-write?)")]
    UnterminatedQuote { line: u64 },
    #[error("line {line}: more than {max} fields, more than any report has columns (a spreadsheet export with thousands of empty columns?)")]
    TooManyFields { line: u64, max: u64 },
    #[error("line {line}: a row of more than {max} bytes, longer than any report's row can be (a line of megabytes, or a quote never closed?)")]
    RecordTooLong { line: u64, max: u64 },
    #[error("line {line}: no header in the first {within} bytes, only blank lines")]
    NoHeader { line: u64, within: u64 },
}

/// Why a report read from a file stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read the file: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// Why reading stopped, within this module: [`ReadError`], or a file taken for UTF-8 that
/// is not, which is then read again from its start.
#[derive(Debug)]
enum Stop {
    Io(io::Error),
    Report(ReportError),
    NotUtf8 { line: u64 },
}

impl From<ReportError> for Stop {
    fn from(error: ReportError) -> Self {
        Stop::Report(error)
    }
}

impl From<Stop> for ReadError {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Io(error) => ReadError::Io(error),
            Stop::Report(error) => ReadError::Report(error),
            // Only a read that guessed UTF-8 stops so, and it reads again.
            Stop::NotUtf8 { line } => ReadError::Report(ReportError::Undecodable { line }),
        }
    }
}

/// At most this many characters of a file's text are quoted in any one error, and so in
/// any log line, page or `check` output: a file may be a link to anything (a secret, the
/// process's environment), and may be a single line of megabytes. Every quote is escaped
/// (Rust's `{:?}` or `escape_debug`), so no control character reaches a terminal or a log.
pub const QUOTED_CHARS: usize = 120;

/// The first `chars` characters of `text`, with `…` where it was cut.
pub(crate) fn prefix(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn known_providers() -> String {
    Provider::ALL.map(Provider::name).join(", ")
}

/// A cell whose value is outside the states its column can hold. It voids that cell
/// only: the row is kept, the cell is treated as absent and counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {}: expected {expected}, found {found:?}", .column.escape_debug())]
pub struct CellError {
    pub line: u64,
    /// The column as the file's header names it (shortened: see [`QUOTED_CHARS`]).
    pub column: String,
    pub expected: &'static str,
    /// The cell as found, shortened (a cell may be megabytes long), and masked if it is a key id.
    pub found: String,
}

/// How to read reports; the same for every file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The zone Tencent reports' local date-times are in (AWS and Alibaba write theirs).
    pub timezone: TimeZone,
    /// Read every file as this provider's; `None` tells each file's provider by its header.
    pub provider: Option<Provider>,
}

/// What reading one file produced besides its users.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadSummary {
    pub provider: Provider,
    pub coverage: Coverage,
    pub rows: u64,
    pub cell_errors: u64,
    /// The first few cell errors, for the log; `cell_errors` counts them all.
    pub first_cell_errors: Vec<CellError>,
    pub encoding: Encoding,
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

/// Where a report's bytes come from: read a chunk at a time, and rewound once if a file
/// taken for UTF-8 turns out to be GB18030.
pub trait Source: io::Read + io::Seek {}

impl<T: io::Read + io::Seek> Source for T {}

/// Reads one report from `source` a chunk at a time, handing each user to `sink` as soon as
/// its row is read: what is held is the buffer of a chunk and the longest row (see
/// [`MAX_RECORD_BYTES`]), never the file. A file taken for UTF-8 that turns out to be
/// GB18030 is read again from its start, after [`Sink::start_over`]. `generated` is when
/// the report was made (its file's modification time): key ages count up to it. `sink` may
/// also take the line each user's row starts on (from 1, the header's), for findings that
/// point into the file, and the provider before the first row.
pub fn read_from(
    source: &mut dyn Source,
    options: &ReadOptions,
    generated: Timestamp,
    sink: &mut impl Sink,
) -> Result<ReadSummary, ReadError> {
    match read_as(source, Guess::Utf8, options, generated, sink) {
        Err(Stop::NotUtf8 { line }) => {
            source.rewind()?;
            sink.start_over();
            let guess = Guess::Gb18030 { not_utf8_at: line };
            Ok(read_as(source, guess, options, generated, sink)?)
        }
        read => Ok(read?),
    }
}

/// Reads one report held in memory, handing each user to `sink` as soon as its row is read.
pub fn read(
    bytes: &[u8],
    options: &ReadOptions,
    generated: Timestamp,
    sink: impl FnMut(&User<'_>),
) -> Result<ReadSummary, ReportError> {
    read_into(bytes, options, generated, &mut EachUser(sink))
}

/// [`read`] into any [`Sink`].
pub fn read_into(
    bytes: &[u8],
    options: &ReadOptions,
    generated: Timestamp,
    sink: &mut impl Sink,
) -> Result<ReadSummary, ReportError> {
    // All of the bytes are at hand: whether they are UTF-8 is known before the first row.
    let guess = decode::guess(bytes);
    let read = read_as(&mut io::Cursor::new(bytes), guess, options, generated, sink);
    read.map_err(|stop| match ReadError::from(stop) {
        ReadError::Report(error) => error,
        ReadError::Io(error) => unreachable!("reading memory cannot fail: {error}"),
    })
}

/// Each user to a closure; the bytes of [`read`] are never read twice.
struct EachUser<F>(F);

impl<F: FnMut(&User<'_>)> Sink for EachUser<F> {
    fn add(&mut self, _line: u64, user: &User<'_>) {
        (self.0)(user)
    }

    fn start_over(&mut self) {
        unreachable!("a report in memory is read once: its encoding is known before its rows")
    }
}

/// Reads one report from `source`, taking it for what `guess` says until its bytes tell.
fn read_as(
    source: &mut dyn Source,
    guess: Guess,
    options: &ReadOptions,
    generated: Timestamp,
    sink: &mut impl Sink,
) -> Result<ReadSummary, Stop> {
    let mut records = Records::new(Text::new(source, guess));
    let header = records.header()?;
    let provider = match options.provider {
        Some(provider) => provider,
        None => detect(&header)?,
    };
    let input = format::Input {
        encoding: records.encoding(),
        records,
        header: &header,
        generated,
        timezone: &options.timezone,
    };
    with_format!(provider, F => format::read::<F>(input, sink))
}

/// The provider whose columns fit `header` best. At least two of its columns must be
/// there, so that a stray file is refused as unknown rather than as a report missing most
/// of its columns.
pub fn detect(header: &HeaderRow) -> Result<Provider, ReportError> {
    let fits = Provider::ALL.map(|provider| (provider.fit(header), provider));
    // The first of equals wins, in the order of `Provider::ALL`.
    let (fit, provider) = fits
        .into_iter()
        .rev()
        .max_by_key(|&(fit, _)| fit)
        .expect("there are providers");
    match fit >= 2 {
        true => Ok(provider),
        false => Err(ReportError::UnknownFormat {
            seen: header.first_cells(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cells: &str) -> HeaderRow {
        HeaderRow::new(cells.split(','))
    }

    #[test]
    fn each_provider_is_told_by_its_header() {
        for provider in Provider::ALL {
            let documented = header(&provider.documented_header());
            assert_eq!(detect(&documented), Ok(provider));
        }
    }

    #[test]
    fn an_unknown_header_names_the_known_formats_and_what_it_saw() {
        let error = detect(&header("id,name,email,team,phone")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 1 (the header): not a credential report of a known provider (tencent-cam, aws-iam, alibaba-ram); its first columns are [\"id\", \"name\", \"email\", \"team\"]"
        );
    }

    /// A file may be a link to a secret, or one long line: an error quotes at most a short,
    /// escaped start of it.
    #[test]
    fn an_unknown_header_is_quoted_short_and_escaped() {
        // Two cells as long as a row may be.
        let secret = format!(
            "PASSWORD=\u{1b}[31m{}",
            "s".repeat(MAX_RECORD_BYTES / 2 - 20)
        );
        let line = format!("{secret},{secret}\n");
        let options = ReadOptions {
            timezone: TimeZone::UTC,
            provider: None,
        };
        let error = read(line.as_bytes(), &options, Timestamp::UNIX_EPOCH, |_| {})
            .unwrap_err()
            .to_string();
        let longest_run = error.split(|c| c != 's').map(str::len).max().unwrap();
        assert!(
            longest_run < QUOTED_CHARS,
            "{longest_run} characters of it: {error}"
        );
        assert!(error.len() < 2 * QUOTED_CHARS + 200, "{error}");
        assert_eq!(
            error.matches("PASSWORD").count(),
            1,
            "one cell quoted: {error}"
        );
        assert!(error.contains("PASSWORD=\\u{1b}[31m"), "escaped: {error}");
        assert!(!error.contains('\u{1b}'), "{error}");
    }

    #[test]
    fn a_cell_error_escapes_its_column_name() {
        let error = CellError {
            line: 2,
            column: "Pass\nword".into(),
            expected: "TRUE or FALSE",
            found: "x\u{7}".into(),
        };
        assert_eq!(
            error.to_string(),
            "line 2, column Pass\\nword: expected TRUE or FALSE, found \"x\\u{7}\""
        );
    }

    #[test]
    fn a_partial_header_is_its_providers_with_a_missing_column() {
        let error = read(
            b"AccountID,Username\n1,u\n",
            &ReadOptions {
                timezone: TimeZone::UTC,
                provider: None,
            },
            Timestamp::UNIX_EPOCH,
            |_| {},
        )
        .unwrap_err();
        assert_eq!(
            error,
            ReportError::MissingColumn {
                provider: Provider::TencentCam,
                column: "UserType".into()
            }
        );
    }

    /// The bounds leave room for columns the consoles may add: eight times the widest
    /// report's, and sixteen times a row of every column at its longest (about 4 KiB).
    #[test]
    fn the_bounds_have_room_beyond_every_providers_report() {
        for provider in Provider::ALL {
            let columns = with_format!(provider, F => format::columns::<F>()).len();
            assert!(8 * columns <= MAX_FIELDS, "{provider}: {columns} columns");
        }
        const { assert!(16 * 4096 <= MAX_RECORD_BYTES) };
    }

    /// Spreadsheets save the empty rows under a table as rows of commas: they are no user
    /// and no cell error, and the lines after them keep their numbers.
    #[test]
    fn empty_rows_are_no_one() {
        let header = Provider::TencentCam.documented_header();
        let cells = header.split(',').count();
        let empty = ",".repeat(cells - 1);
        let spaced = format!("\"\", {}", ",".repeat(cells - 2));
        let rest = ",".repeat(cells - 3);
        let text =
            format!("{header}\n{empty}\n1,u,{rest}\n{spaced}\n\n{empty}\n2,v,?{rest}\n{empty}\n");
        let options = ReadOptions {
            timezone: TimeZone::UTC,
            provider: None,
        };
        let mut names = Vec::new();
        let summary = read(text.as_bytes(), &options, Timestamp::UNIX_EPOCH, |user| {
            names.push(user.username.to_owned())
        })
        .unwrap();
        assert_eq!((names.join(" "), summary.rows), ("u v".to_owned(), 2));
        // The unknown user type of `v`, on line 7.
        let types: Vec<_> = (summary.first_cell_errors.iter())
            .filter(|error| error.column == "UserType")
            .map(|error| (error.line, error.found.as_str()))
            .collect();
        assert_eq!(types, [(3, ""), (7, "?")]);
        let only_empty = format!("{header}\n{empty}\n{empty}\n");
        let error = read(
            only_empty.as_bytes(),
            &options,
            Timestamp::UNIX_EPOCH,
            |_| {},
        );
        assert_eq!(error.unwrap_err(), ReportError::NoUsers);
    }

    /// Users that record each start over, as the exporter's and `check`'s sinks do.
    #[derive(Default)]
    struct Names {
        names: Vec<String>,
        starts: usize,
    }

    impl Sink for Names {
        fn add(&mut self, _line: u64, user: &User<'_>) {
            self.names.push(user.username.to_owned());
        }

        fn start_over(&mut self) {
            self.names.clear();
            self.starts += 1;
        }
    }

    /// A GBK file is read as UTF-8 until a byte shows it is not, then again from its start:
    /// its first names, though valid UTF-8 by chance, come out as the GBK they are, once.
    #[test]
    fn a_gbk_file_that_starts_like_utf8_is_read_again_as_gbk() {
        use encoding_rs::GB18030;
        // A Chinese name whose GBK bytes happen to be UTF-8 too.
        let lucky = ('\u{4e00}'..='\u{9fff}')
            .map(String::from)
            .find(|name| {
                let (bytes, _, _) = GB18030.encode(name);
                std::str::from_utf8(&bytes).is_ok()
            })
            .unwrap();
        let header = Provider::TencentCam.documented_header();
        let row = |name: &str| {
            let cells = header.split(',').count();
            format!("1,{name}{}", ",".repeat(cells - 2))
        };
        let text = format!("{header}\n{}\n{}\n", row(&lucky), row("张三"));
        let (bytes, _, _) = GB18030.encode(&text);
        let options = ReadOptions {
            timezone: TimeZone::UTC,
            provider: None,
        };
        let mut names = Names::default();
        let mut source = io::Cursor::new(&bytes[..]);
        let summary = read_from(&mut source, &options, Timestamp::UNIX_EPOCH, &mut names).unwrap();
        assert_eq!(summary.encoding, Encoding::Gb18030);
        assert_eq!(names.names, [lucky.as_str(), "张三"]);
        assert_eq!(names.starts, 1);
        // Read from memory, the same, at once.
        let mut names = Names::default();
        read_into(&bytes, &options, Timestamp::UNIX_EPOCH, &mut names).unwrap();
        assert_eq!((names.names.len(), names.starts), (2, 0));
    }
}
