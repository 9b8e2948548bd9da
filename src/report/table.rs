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
use super::{quote_left_open, Checks, Encoding, Provider, ReadSummary, ReportError};
use crate::model::{Time, User};

/// One provider's report: where its columns are, what it can tell, and how a row becomes
/// a [`User`]. Each provider is one file implementing this.
pub trait Format {
    const PROVIDER: Provider;

    /// The controls of the provider's CIS benchmark that `check`'s checks stand for, as
    /// (check id, control): the alerts' `cis_control` label and the findings' `cis`.
    const CIS_CONTROLS: &'static [(&'static str, &'static str)];

    /// Where the provider's columns are in one report.
    type Layout: Sync;

    /// Asks `header` for every column the provider reads, in the documented order.
    fn layout(header: &mut Header<'_>) -> Self::Layout;

    /// The checks a report with this layout answers.
    fn checks(layout: &Self::Layout) -> Checks;

    /// Reads one row. `generated` is when the report was made.
    fn user<'a>(layout: &Self::Layout, row: &mut Row<'a, '_>, generated: Time) -> User<'a>;

    /// File `index` of `spec`: a realistic report of this provider for benchmarks and
    /// tests, the same bytes for the same seed ([`generate`](super::generate)).
    fn generated_report(spec: &Spec, index: usize) -> Vec<u8>;
}

/// How many of `F`'s columns `header` has.
pub fn fit<F: Format>(row: &HeaderRow) -> usize {
    let mut header = Header::new(row, F::PROVIDER);
    F::layout(&mut header);
    header.found()
}

/// `F`'s columns, in its documented order.
pub fn columns<F: Format>() -> Vec<String> {
    let mut header = Header::noting_asked(F::PROVIDER);
    F::layout(&mut header);
    header.asked()
}

/// `F`'s required columns (those every report of it has), in its documented order.
pub fn required_columns<F: Format>() -> Vec<String> {
    let mut header = Header::noting_asked(F::PROVIDER);
    F::layout(&mut header);
    header.asked_required()
}

/// Where the users of a report go as they are read.
pub trait Sink {
    /// Whether the facts only the metrics show are read ([`Row::for_metrics`]): creation
    /// times, protections, certificates, the providers' own age flags. `check` judges
    /// none of them, and leaves them unread.
    const FOR_METRICS: bool = true;

    /// The report's header was read: its provider and what it answers are known, before
    /// any of its rows (the rows of this sink's stretch, in a read in stretches).
    fn begin(&mut self, _provider: Provider, _checks: &Checks) {}

    /// One user, and the line its row starts on: from the top of the file in a read in
    /// one piece, from the stretch's start in a read in stretches.
    fn add(&mut self, line: u64, user: &User<'_>);
}

/// Most sinks want only the users.
impl<T: FnMut(&User<'_>)> Sink for T {
    fn add(&mut self, _line: u64, user: &User<'_>) {
        self(user)
    }
}

/// A decoded report whose header row has been read.
pub struct Input<'t> {
    pub text: &'t str,
    /// The rows after the header.
    pub records: Records<'t>,
    pub header: &'t HeaderRow,
    pub encoding: Encoding,
    pub generated: Timestamp,
    pub timezone: &'t TimeZone,
}

/// Reads the rows in one piece, handing each user to `sink` in report order.
pub fn read<F: Format>(input: Input<'_>, sink: &mut impl Sink) -> Result<ReadSummary, ReportError> {
    Walk::<F>::new(&input)?.whole(input.records, sink)
}

/// How large a stretch of report is worth a thread of its own: a thread costs tens of
/// microseconds, a megabyte of rows a few milliseconds.
const PART_BYTES: usize = 1 << 20;

/// Reads the rows in up to `threads` stretches at once, each with its own sink made by
/// `new_sink` from the stretch's text; the sinks come back in report order. A large
/// report is read in about the time of its largest stretch.
pub fn read_in_parts<F: Format, S: Sink + Send>(
    input: Input<'_>,
    threads: usize,
    new_sink: impl Fn(&str) -> S + Sync,
) -> Result<(ReadSummary, Vec<S>), ReportError> {
    let starts = stretch_starts(input.text, input.records.position(), threads);
    read_in_stretches::<F, S>(input, &starts, new_sink)
}

/// Reads the stretches that start at `starts` (the first where `input`'s rows do) at once.
///
/// Where a later stretch starts is a guess: a line start, which could be inside a quoted
/// field with a line break. Each stretch is read from its guess, and the guess holds if
/// the stretch before it ends exactly there; if one does not, the report is read again in
/// one piece. Either way the users, summary and errors are those of a read in one piece.
fn read_in_stretches<F: Format, S: Sink + Send>(
    input: Input<'_>,
    starts: &[usize],
    new_sink: impl Fn(&str) -> S + Sync,
) -> Result<(ReadSummary, Vec<S>), ReportError> {
    let walk = Walk::<F>::new(&input)?;
    let text = input.text;
    let in_one_piece = |records: Records<'_>| {
        let mut sink = new_sink(&text[records.position()..]);
        let summary = walk.whole(records, &mut sink)?;
        Ok((summary, vec![sink]))
    };
    if starts.len() <= 1 {
        return in_one_piece(input.records);
    }
    let body = (input.records.position(), walk.body_line);
    let ends = starts.iter().skip(1).copied().chain([text.len()]);
    let bounds: Vec<(usize, usize)> = starts.iter().copied().zip(ends).collect();
    let read_stretch = |records: Records<'_>, end: usize| {
        let mut sink = new_sink(&text[records.position()..end]);
        let part = walk.part(records, end, &mut sink);
        (part, sink)
    };
    let (parts, sinks): (Vec<Part>, Vec<S>) = std::thread::scope(|scope| {
        let read_stretch = &read_stretch;
        let later: Vec<_> = (bounds[1..].iter())
            .map(|&(start, end)| {
                // Lines count from the stretch's start until an error needs them.
                scope.spawn(move || read_stretch(Records::starting_at(text, start, 1), end))
            })
            .collect();
        let first = read_stretch(input.records, bounds[0].1);
        let later =
            (later.into_iter()).map(|thread| thread.join().expect("a report reader panicked"));
        [first].into_iter().chain(later).unzip()
    });
    match walk.summary(parts) {
        Ok(summary) => Ok((summary, sinks)),
        Err(Disagreement::Error(error)) => Err(error),
        Err(Disagreement::Boundary) => in_one_piece(Records::starting_at(text, body.0, body.1)),
    }
}

/// Where each of up to `threads` stretches of the rows from `body` on starts: the first at
/// `body`, the others just after a line end, at least [`PART_BYTES`] apart.
fn stretch_starts(text: &str, body: usize, threads: usize) -> Vec<usize> {
    let stretches = threads.min((text.len() - body) / PART_BYTES).max(1);
    let mut starts = vec![body];
    for stretch in 1..stretches {
        let guess = body + (text.len() - body) * stretch / stretches;
        if let Some(line_end) = memchr::memchr(b'\n', &text.as_bytes()[guess..]) {
            starts.push(guess + line_end + 1);
        }
    }
    starts.dedup();
    starts
}

/// What every stretch of one report shares: the provider's layout of its columns.
struct Walk<'t, F: Format> {
    layout: F::Layout,
    /// The header's cells as written, for errors.
    names: &'t [String],
    /// The summary of a report with no rows read yet.
    empty: ReadSummary,
    text: &'t str,
    /// The line the rows after the header start on.
    body_line: u64,
    generated: Time,
    timezone: &'t TimeZone,
}

/// The rows of one stretch of a report. Lines count from the stretch's first line.
struct Part {
    /// Where the stretch was asked to start.
    from: usize,
    /// Where its first record starts; `None` if none does.
    first_start: Option<usize>,
    /// Where the record after its last one starts (past the stretch); `None` at the end.
    next_start: Option<usize>,
    last_record_start: Option<usize>,
    summary: ReadSummary,
    error: Option<ReportError>,
}

enum Disagreement {
    Error(ReportError),
    /// A stretch did not end where the next one started reading.
    Boundary,
}

impl<'t, F: Format> Walk<'t, F> {
    fn new(input: &Input<'t>) -> Result<Self, ReportError> {
        let mut located = Header::new(input.header, F::PROVIDER);
        let layout = F::layout(&mut located);
        located.finish()?;
        let names = input.header.names();
        let empty = ReadSummary {
            provider: F::PROVIDER,
            checks: F::checks(&layout),
            rows: 0,
            cell_errors: 0,
            first_cell_errors: Vec::new(),
            encoding: input.encoding,
        };
        Ok(Walk {
            layout,
            names,
            empty,
            text: input.text,
            body_line: input.records.line(),
            generated: Time::from(input.generated),
            timezone: input.timezone,
        })
    }

    /// Reads every row from `records` on, handing each user to `sink`.
    fn whole(
        &self,
        records: Records<'_>,
        sink: &mut impl Sink,
    ) -> Result<ReadSummary, ReportError> {
        let part = self.part(records, usize::MAX, sink);
        self.summary([part])
            .map_err(|disagreement| match disagreement {
                Disagreement::Error(error) => error,
                Disagreement::Boundary => unreachable!("one stretch has no boundary to agree on"),
            })
    }

    /// Reads the records that start before `end`, handing each user to `sink`.
    fn part<S: Sink>(&self, mut records: Records<'_>, end: usize, sink: &mut S) -> Part {
        let fields = self.names.len();
        let mut summary = self.empty.clone();
        let mut dates = LocalDates::new(self.timezone.clone());
        let from = records.position();
        let first_start = records.next_start();
        let mut last_record_start = None;
        let mut error = None;
        sink.begin(F::PROVIDER, &self.empty.checks);
        let next_start = loop {
            let start = records.next_start();
            if start.is_none_or(|start| start >= end) {
                break start;
            }
            let record = records.next_record().expect("a record starts here");
            let line = record.line;
            if record.len() != fields {
                // A quote opened and never closed swallows the rest of the file into one
                // field, which then looks like a short row; name the real fault.
                error = Some(
                    match quote_left_open(&self.text.as_bytes()[record.start..]) {
                        true => ReportError::UnterminatedQuote { line },
                        false => ReportError::RaggedRow {
                            line,
                            expected: fields as u64,
                            found: record.len() as u64,
                        },
                    },
                );
                break None;
            }
            last_record_start = Some(record.start);
            let mut row = Row::new(
                &record,
                self.names,
                &mut dates,
                &mut summary,
                S::FOR_METRICS,
            );
            let user = F::user(&self.layout, &mut row, self.generated);
            summary.rows += 1;
            sink.add(line, &user);
        };
        Part {
            from,
            first_start,
            next_start,
            last_record_start,
            summary,
            error,
        }
    }

    /// The summary of the whole report from its stretches, in order, or its first error.
    fn summary(&self, parts: impl IntoIterator<Item = Part>) -> Result<ReadSummary, Disagreement> {
        let text = self.text.as_bytes();
        let mut summary = self.empty.clone();
        let mut last_record_start = None;
        let mut expected_start = None;
        for (index, mut part) in parts.into_iter().enumerate() {
            if index > 0 && part.first_start != expected_start {
                return Err(Disagreement::Boundary);
            }
            // Only the first stretch counts its lines from the top; the others' lines are
            // counted when an error needs them.
            let lines_before = || match index {
                0 => 0,
                _ => line_of(text, part.from) - 1,
            };
            if let Some(error) = part.error {
                return Err(Disagreement::Error(error.lines_later(lines_before())));
            }
            if !part.summary.first_cell_errors.is_empty() {
                let lines_before = lines_before();
                for error in &mut part.summary.first_cell_errors {
                    error.line += lines_before;
                }
            }
            summary.add_rows_of(part.summary);
            last_record_start = part.last_record_start.or(last_record_start);
            expected_start = part.next_start;
        }
        // Every account has users to report; a header alone is a write cut off early.
        let Some(last_record_start) = last_record_start else {
            return Err(Disagreement::Error(ReportError::NoUsers));
        };
        if quote_left_open(&text[last_record_start..]) {
            let line = line_of(text, last_record_start);
            return Err(Disagreement::Error(ReportError::UnterminatedQuote { line }));
        }
        Ok(summary)
    }
}

fn line_of(text: &[u8], offset: usize) -> u64 {
    text[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::super::{aws_iam::AwsIam, tencent_cam::TencentCam, Opened, ReadOptions};
    use super::*;
    use crate::generate::{self, Spec};

    /// Every user as it came, written out.
    #[derive(Default)]
    struct Collect(Vec<String>);

    impl Sink for Collect {
        fn add(&mut self, _line: u64, user: &User<'_>) {
            self.0.push(format!("{user:?}"));
        }
    }

    type Outcome = Result<(ReadSummary, Vec<String>), ReportError>;

    fn options() -> ReadOptions {
        ReadOptions {
            timezone: TimeZone::get("Asia/Shanghai").unwrap(),
            provider: None,
        }
    }

    fn in_one_piece<F: Format>(text: &str) -> Outcome {
        let (opened, options) = (Opened::new(text.as_bytes(), &options())?, options());
        let mut users = Collect::default();
        let summary = read::<F>(opened.input(generate::GENERATED, &options), &mut users)?;
        Ok((summary, users.0))
    }

    /// Read in stretches that start at the body and at each line of `lines`.
    fn in_stretches<F: Format>(text: &str, lines: &[usize]) -> Outcome {
        let (opened, options) = (Opened::new(text.as_bytes(), &options())?, options());
        let line_starts: Vec<usize> = (text.match_indices('\n').map(|(at, _)| at + 1)).collect();
        let mut starts = vec![opened.body.0];
        starts.extend(lines.iter().map(|&line| line_starts[line - 2]));
        let input = opened.input(generate::GENERATED, &options);
        let (summary, sinks) = read_in_stretches::<F, _>(input, &starts, |_| Collect::default())?;
        Ok((summary, sinks.into_iter().flat_map(|sink| sink.0).collect()))
    }

    /// `text` with line `line` (counting from 1) passed through `change`.
    fn with_line(text: &str, line: usize, change: impl Fn(&str) -> String) -> String {
        let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
        lines[line - 1] = change(&lines[line - 1]);
        lines.concat()
    }

    /// Reports read in stretches from every line start, and from line starts inside quoted
    /// fields, come out exactly as read in one piece: the same users in the same order,
    /// the same summary with the same cell errors on the same lines, the same refusals.
    #[test]
    fn stretches_read_as_one_piece_does() {
        let spec = Spec {
            users: 60,
            files: 1,
            seed: 3,
        };
        let tencent =
            String::from_utf8(generate::report_of(Provider::TencentCam, &spec, 0)).unwrap();
        let aws = String::from_utf8(generate::report_of(Provider::AwsIam, &spec, 0)).unwrap();
        let second_field = |text: &str, value: &str| {
            let (first, rest) = text.split_once(',').unwrap();
            let (_, rest) = rest.split_once(',').unwrap();
            format!("{first},{value},{rest}")
        };
        let variants: Vec<(&str, String)> = vec![
            ("as generated", tencent.clone()),
            (
                "a name with line breaks",
                with_line(&tencent, 20, |line| {
                    second_field(line, "\"two\nlines\n\nand more\"")
                }),
            ),
            (
                "a quote left open",
                with_line(&tencent, 40, |line| second_field(line, "\"open")),
            ),
            (
                "a ragged row",
                with_line(&tencent, 45, |line| line.replacen(',', "", 1)),
            ),
            (
                "unreadable cells",
                with_line(&tencent, 50, |line| line.replace(",Active,", ",Gone,")),
            ),
            (
                "blank lines",
                with_line(&tencent, 30, |line| format!("\n\r\n{line}")),
            ),
            ("no line end at the end", tencent.trim_end().to_owned()),
        ];
        let lines = |text: &str| 2..=text.lines().count();
        for (name, text) in &variants {
            let whole = in_one_piece::<TencentCam>(text);
            for line in lines(text) {
                let split = in_stretches::<TencentCam>(text, &[line]);
                assert_eq!(split, whole, "{name}, split at line {line}");
            }
            let split = in_stretches::<TencentCam>(text, &[7, 21, 22, 44]);
            assert_eq!(split, whole, "{name}, split in five");
        }
        let whole = in_one_piece::<AwsIam>(&aws);
        assert!(whole.as_ref().is_ok_and(|(summary, _)| summary.rows == 60));
        for line in lines(&aws) {
            assert_eq!(
                in_stretches::<AwsIam>(&aws, &[line]),
                whole,
                "aws, split at line {line}"
            );
        }
    }
}
