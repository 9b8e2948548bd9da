//! PATH arguments → the reports they name → each report's findings. Folders are read by
//! the serving rules (reload's glob, name pattern and newest-file-per-name); files on every core.

use std::fs;
use std::path::{Path, PathBuf};

use super::checks::{answered_by, Finding, Judge, Severity};
use super::AHEAD;
use crate::cores::on_every_core_in_order;
use crate::model::Time;
use crate::reload::{self, LoadError, Selection, Version};
use crate::report::{self, Checks, Provider, ReadOptions};

/// What checking one report gave, less its findings (which are rendered as they are found:
/// a folder of large reports has millions).
#[derive(Debug)]
pub struct Outcome {
    pub report: String,
    pub path: PathBuf,
    /// `None` where the file could not be read far enough to tell.
    pub provider: Option<Provider>,
    /// What the report can answer (nothing, when it could not be read).
    pub checks: Checks,
    /// Why the report could not be read, as serving says it.
    pub error: Option<String>,
    pub users: u64,
    /// How many findings of each severity, by [`Outcome::found`].
    found: [u64; 3],
    /// The first unreadable cells, for stderr; `cell_errors` counts them all.
    pub first_cell_errors: Vec<String>,
    pub cell_errors: u64,
}

pub struct Walk {
    pub selection: Selection,
    pub read: ReadOptions,
    pub max_bytes: u64,
    pub judge: Judge,
}

/// One report to check: its name and its file, or why there is none.
type Target = (String, PathBuf, Result<Version, String>);

impl Walk {
    /// Checks every report `paths` name, on every core. What `render` makes of each
    /// report's findings (given the report's place in the run, from 0) is handed to `each`
    /// with its outcome on the calling thread, in the order given (a folder's by report
    /// name). Stops at the first error of `each`.
    pub fn run<R: Send, E>(
        &self,
        paths: &[PathBuf],
        render: impl Fn(usize, &Outcome, Vec<Finding>) -> R + Sync,
        mut each: impl FnMut(Outcome, R) -> Result<(), E>,
    ) -> Result<(), E> {
        let targets: Vec<(usize, Target)> = (paths.iter())
            .flat_map(|path| self.targets(path))
            .enumerate()
            .collect();
        let check = |(index, (name, path, version)): &(usize, Target)| {
            let (outcome, findings) = match version {
                Ok(version) => self.check(name, version),
                Err(error) => Outcome::refused(name, path, Vec::new(), error.clone()),
            };
            let rendered = render(*index, &outcome, findings);
            (outcome, rendered)
        };
        on_every_core_in_order(&targets, AHEAD, check, |(outcome, rendered)| {
            each(outcome, rendered)
        })
    }

    fn targets(&self, path: &Path) -> Vec<Target> {
        let stem = || {
            let stem = path.file_stem().unwrap_or(path.as_os_str());
            stem.to_string_lossy().into_owned()
        };
        let metadata = match fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(error) => {
                let error = LoadError::Io(error).to_string();
                return vec![(stem(), path.to_owned(), Err(error))];
            }
        };
        if !metadata.is_dir() {
            // A file named on the command line is checked whatever the glob says; its name
            // still follows --report.name-pattern where the pattern matches.
            let file_name = path.file_name().unwrap_or_default().to_string_lossy();
            let name = self.selection.report_name(&file_name).unwrap_or_else(stem);
            let version = Version::of(path.to_owned(), &metadata);
            return vec![(name, path.to_owned(), Ok(version))];
        }
        match reload::list_reports(path, &self.selection) {
            Ok(found) if found.is_empty() => {
                // A gate that passes on an empty folder would pass for ever once the
                // downloads stop: an empty folder is an error, as CredentialReportNoReports is.
                let error = format!(
                    "no report in the folder: no file name matches --report.glob={}{}",
                    self.selection.glob.pattern(),
                    match &self.selection.name_pattern {
                        Some(pattern) => format!(" and --report.name-pattern={pattern}"),
                        None => String::new(),
                    }
                );
                vec![(stem(), path.to_owned(), Err(error))]
            }
            Ok(found) => found
                .into_iter()
                .map(|(name, version)| (name, version.path.clone(), Ok(version)))
                .collect(),
            Err(error) => {
                let error = format!("cannot list the report folder: {error}");
                vec![(stem(), path.to_owned(), Err(error))]
            }
        }
    }

    fn check(&self, name: &str, version: &Version) -> (Outcome, Vec<Finding>) {
        let modified = (version.modified)
            .and_then(|m| jiff::Timestamp::try_from(m).ok())
            .map(Time::from);
        // The report's age is known even when its contents are refused, as the alert's is.
        let stale = self.judge.report(modified);
        // One thread per file: the reports themselves are spread over the cores.
        let (bytes, generated) = match reload::read_version(version, self.max_bytes, 1) {
            Ok(read) => read,
            Err(error) => {
                let findings = stale.into_iter().collect();
                return Outcome::refused(name, &version.path, findings, error.to_string());
            }
        };
        let mut findings: Vec<Finding> = stale.into_iter().collect();
        let report_findings = findings.len();
        let mut users = 0;
        let read = report::read_with_lines(&bytes, &self.read, generated, |line, user| {
            users += 1;
            self.judge.user(user, line, &mut findings);
        });
        match read {
            Ok(summary) => {
                findings.retain(|finding| answered_by(finding.check, &summary.checks));
                let outcome = Outcome {
                    report: name.to_owned(),
                    path: version.path.clone(),
                    provider: Some(summary.provider),
                    checks: summary.checks,
                    error: None,
                    users,
                    found: count(&findings),
                    first_cell_errors: (summary.first_cell_errors.iter())
                        .map(ToString::to_string)
                        .collect(),
                    cell_errors: summary.cell_errors,
                };
                (outcome, findings)
            }
            Err(error) => {
                // A refused version's users are not served, so they find nothing either.
                findings.truncate(report_findings);
                let error = LoadError::Report(error).to_string();
                Outcome::refused(name, &version.path, findings, error)
            }
        }
    }
}

impl Outcome {
    fn refused(
        name: &str,
        path: &Path,
        findings: Vec<Finding>,
        error: String,
    ) -> (Outcome, Vec<Finding>) {
        let outcome = Outcome {
            report: name.to_owned(),
            path: path.to_owned(),
            provider: None,
            checks: Checks::default(),
            error: Some(error),
            users: 0,
            found: count(&findings),
            first_cell_errors: Vec::new(),
            cell_errors: 0,
        };
        (outcome, findings)
    }

    /// How many findings of `severity` the report has.
    pub fn found(&self, severity: Severity) -> u64 {
        self.found[severity as usize]
    }

    /// How many findings the report has.
    pub fn findings(&self) -> u64 {
        self.found.iter().sum()
    }
}

fn count(findings: &[Finding]) -> [u64; 3] {
    let mut found = [0; 3];
    for finding in findings {
        found[finding.check.severity as usize] += 1;
    }
    found
}
