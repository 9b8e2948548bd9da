//! `credential-report-exporter check`: audits reports offline with the alerts' checks, for
//! CI pipelines and cron. checks.rs is the list, walk.rs the reports, one file per format.

mod checks;
mod config;
mod json;
mod junit;
mod sarif;
mod table;
mod walk;

use std::io::Write;
use std::process::ExitCode;

use jiff::Timestamp;

pub use checks::{Check, Finding, Severity, Threshold, CHECKS};
pub use config::{CheckConfig, FailOn, OutputFormat};
use walk::{Outcome, Walk};

use crate::reload::Selection;
use crate::report::ReadOptions;

/// Exit statuses, as documented in docs/check.md (2 is also clap's for a bad flag).
const FINDINGS: u8 = 1;
const UNREADABLE: u8 = 2;

/// What every output format is written from.
pub struct Run {
    pub outcomes: Vec<Outcome>,
    pub fail_on: FailOn,
    /// The time ages counted up to.
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

    fn findings(&self) -> impl Iterator<Item = (&Outcome, &Finding)> {
        self.outcomes
            .iter()
            .flat_map(|outcome| outcome.findings.iter().map(move |f| (outcome, f)))
    }

    fn exit_code(&self) -> u8 {
        if self.outcomes.iter().any(|o| o.error.is_some()) {
            UNREADABLE
        } else if self.findings().any(|(_, f)| self.fails(f.check.severity)) {
            FINDINGS
        } else {
            0
        }
    }
}

pub fn run(config: CheckConfig) -> ExitCode {
    let now = config.now.unwrap_or_else(Timestamp::now);
    let walk = Walk {
        selection: Selection {
            glob: config.report_glob,
            name_pattern: config.report_name_pattern,
        },
        read: ReadOptions {
            timezone: config.report_timezone,
            provider: config.report_provider.into(),
        },
        max_bytes: config.report_max_bytes,
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
        outcomes: walk.run(&config.paths),
        fail_on: config.fail_on,
        now,
    };
    report_to_stderr(&run);
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match config.format {
        OutputFormat::Table => table::write(&run, &mut stdout),
        OutputFormat::Json => json::write(&run, &mut stdout),
        OutputFormat::Junit => junit::write(&run, &mut stdout),
        OutputFormat::Sarif => sarif::write(&run, &mut stdout),
    };
    if let Err(error) = written.and_then(|()| stdout.flush()) {
        eprintln!("error: writing the results to stdout: {error}");
        return ExitCode::from(UNREADABLE);
    }
    ExitCode::from(run.exit_code())
}

/// How many reports' output is rendered at a time: enough to keep every core busy, few
/// enough that the text waiting to be written stays small.
const RENDERED_AT_ONCE: usize = 64;

/// Writes what `render` makes of each report (with its index), in order, rendering on
/// every core: a folder of large reports has millions of findings, and writing them is
/// most of the work. `joined`: each rendering starts with a separator (a comma) that the
/// first non-empty one must drop, to join the findings of every report into one list.
fn write_rendered(
    run: &Run,
    out: &mut impl Write,
    joined: bool,
    render: impl Fn(usize, &Outcome) -> Vec<u8> + Sync,
) -> std::io::Result<()> {
    let indexed: Vec<(usize, &Outcome)> = run.outcomes.iter().enumerate().collect();
    let mut first = true;
    for batch in indexed.chunks(RENDERED_AT_ONCE) {
        for rendered in
            crate::reload::on_every_core(batch, |&(index, outcome)| render(index, outcome))
        {
            let skip = usize::from(joined && first && !rendered.is_empty());
            first &= rendered.is_empty();
            out.write_all(&rendered[skip..])?;
        }
    }
    Ok(())
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
    text.push_str(&finding.detail());
    text
}

/// Refusals and unreadable cells, in the words serving logs them, for the person or the
/// CI log watching stderr whatever the format on stdout.
fn report_to_stderr(run: &Run) {
    let mut stderr = std::io::stderr().lock();
    for outcome in &run.outcomes {
        let (report, file) = (&outcome.report, outcome.path.display());
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
}
