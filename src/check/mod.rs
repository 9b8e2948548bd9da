//! `credential-report-exporter check`: audits reports offline with the alerts' checks, for
//! CI pipelines and cron. checks.rs is the list, walk.rs the reports, one file per format.

pub mod checks;
mod config;
mod json;
mod junit;
mod sarif;
mod text;
mod walk;

use std::convert::Infallible;
use std::io::{self, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use jiff::Timestamp;

pub use checks::{Check, Finding, Severity, Threshold, CHECKS};
pub use config::{CheckConfig, FailOn, OutputFormat};
use walk::{Outcome, Render, Walk};

use crate::markup::printable;
use crate::report::Provider;

/// Exit statuses, as documented in docs/check.md (2 is also clap's for a bad flag).
const FINDINGS: u8 = 1;
const UNREADABLE: u8 = 2;

/// What every output format is written from: the reports to check, and how.
pub struct Run {
    walk: Walk,
    paths: Vec<PathBuf>,
    pub fail_on: FailOn,
    /// The time ages count up to.
    pub now: Timestamp,
}

impl Run {
    /// Whether a finding of `severity` fails the run (and a JUnit test case).
    pub fn fails(&self, severity: Severity) -> bool {
        let floor = match self.fail_on {
            FailOn::Info => Severity::Info,
            FailOn::Warning => Severity::Warning,
            FailOn::Critical => Severity::Critical,
            FailOn::Never => return false,
        };
        severity >= floor
    }

    /// Checks every report, each into the [`Render`] that `start` makes for it, and writes
    /// what each makes, in order, while the next are read, judged and rendered on every
    /// core: a folder of large reports has millions of findings, and neither they nor their
    /// text are ever held all at once. `write` writes what one report's makes. Returns each
    /// report's outcome, for what follows.
    fn write_each<R: Render>(
        &self,
        start: impl Fn(usize, &str, &Path) -> R + Sync,
        mut write: impl FnMut(R::Output) -> io::Result<()>,
    ) -> io::Result<Vec<Outcome>> {
        let mut outcomes = Vec::new();
        self.walk.run(&self.paths, start, |outcome, rendered| {
            report_to_stderr(&outcome);
            outcomes.push(outcome);
            write(rendered)
        })?;
        Ok(outcomes)
    }

    /// Checks every report and keeps every finding, for the formats that need them all
    /// before they write one: the table's column widths, SARIF's invocations.
    fn collect(&self) -> Vec<(Outcome, Vec<Finding<'static>>)> {
        let keep = |_: usize, _: &Outcome, findings: Vec<Finding<'static>>| findings;
        let mut all = Vec::new();
        let Ok(()) = self.walk.run(
            &self.paths,
            |index, _, _| Collected::new(index, &keep),
            |outcome, findings| {
                report_to_stderr(&outcome);
                all.push((outcome, findings));
                Ok::<(), Infallible>(())
            },
        );
        all
    }

    fn exit_code(&self, outcomes: &[Outcome]) -> u8 {
        let fails = |outcome: &Outcome| {
            let severities = [Severity::Info, Severity::Warning, Severity::Critical];
            (severities.into_iter()).any(|s| self.fails(s) && outcome.found(s) > 0)
        };
        if outcomes.iter().any(|o| o.error.is_some()) {
            UNREADABLE
        } else if outcomes.iter().any(fails) {
            FINDINGS
        } else {
            0
        }
    }
}

pub fn run(config: CheckConfig) -> ExitCode {
    let now = config.now.unwrap_or_else(Timestamp::now);
    let walk = Walk {
        selection: config.report.selection(),
        read: config.report.read_options(),
        max_bytes: config.report.max_bytes,
        judge: checks::Judge {
            now: now.as_second(),
            thresholds: checks::Thresholds {
                key_max_age: config.key_max_age,
                key_max_unused: config.key_max_unused,
                password_max_unused: config.password_max_unused,
                root_used_within: config.root_used_within,
                report_max_age: config.report_max_age,
            },
        },
    };
    let run = Run {
        walk,
        paths: config.paths,
        fail_on: config.fail_on,
        now,
    };
    let mut stdout = io::BufWriter::new(io::stdout().lock());
    let written = match config.format {
        OutputFormat::Table => text::write(&run, &mut stdout),
        OutputFormat::Json => json::write(&run, &mut stdout),
        OutputFormat::Junit => junit::write(&run, &mut stdout),
        OutputFormat::Sarif => sarif::write(&run, &mut stdout),
    };
    match written.and_then(|outcomes| stdout.flush().map(|()| outcomes)) {
        Ok(outcomes) => ExitCode::from(run.exit_code(&outcomes)),
        Err(error) => {
            eprintln!("error: writing the results to stdout: {error}");
            ExitCode::from(UNREADABLE)
        }
    }
}

/// How many reports may wait, read or rendered, for those before them to be written:
/// enough to keep every core busy, few enough that little text waits in memory.
const AHEAD: usize = 16;

/// Keeps a report's findings, for the formats that need them together: `then` makes what
/// they give, from the report's place in the run, its outcome and its findings.
struct Collected<'t, T, R> {
    index: usize,
    findings: Vec<Finding<'static>>,
    /// Where the users' findings start.
    users_from: usize,
    then: &'t T,
    made: PhantomData<fn() -> R>,
}

impl<'t, T, R> Collected<'t, T, R> {
    fn new(index: usize, then: &'t T) -> Self {
        Collected {
            index,
            findings: Vec::new(),
            users_from: 0,
            then,
            made: PhantomData,
        }
    }
}

impl<T, R: Send> Render for Collected<'_, T, R>
where
    T: Fn(usize, &Outcome, Vec<Finding<'static>>) -> R + Sync,
{
    type Output = R;

    fn begin(&mut self, _provider: Provider, _report_bytes: usize) {
        self.users_from = self.findings.len();
    }

    fn add(&mut self, finding: &Finding<'_>) {
        self.findings.push(finding.clone().into_owned());
    }

    fn refused(&mut self) {
        self.findings.truncate(self.users_from);
    }

    fn finish(self, outcome: &Outcome) -> R {
        (self.then)(self.index, outcome, self.findings)
    }
}

/// One finding in a line of text: `line 3: bob.ops, key 1: <detail>` (the report is
/// named by what holds the line).
fn describe(finding: &Finding) -> String {
    let mut text = String::new();
    if let Some(line) = finding.line {
        text.push_str(&format!("line {line}: "));
    }
    match (&finding.user, finding.slot()) {
        (Some(user), Some(key)) => text.push_str(&format!("{user}, key {key}: ")),
        (Some(user), None) => text.push_str(&format!("{user}: ")),
        _ => {}
    }
    finding.write_detail(&mut text);
    text
}

/// Refusals and unreadable cells, in the words serving logs them, for the person or the
/// CI log watching stderr whatever the format on stdout.
fn report_to_stderr(outcome: &Outcome) {
    let mut stderr = io::stderr().lock();
    // Names from a hostile folder: escaped, so no terminal escape reaches the terminal.
    let path = outcome.path.to_string_lossy();
    let (report, file) = (printable(&outcome.report), printable(&path));
    if let Some(error) = &outcome.error {
        let _ = writeln!(stderr, "error: report {report} ({file}) refused: {error}");
    }
    for cell_error in &outcome.first_cell_errors {
        let _ = writeln!(
            stderr,
            "warning: report {report} ({file}): unreadable cell, treated as absent: {cell_error}"
        );
    }
    let unlisted = outcome.cell_errors - outcome.first_cell_errors.len() as u64;
    if unlisted > 0 {
        let _ = writeln!(
            stderr,
            "warning: report {report} ({file}): {unlisted} more unreadable cells"
        );
    }
}
