//! PATH arguments → the reports they name → each report's findings. Folders are read by
//! the serving rules (reload's glob, name pattern and newest-file-per-name); files on every core.

use std::fs;
use std::path::{Path, PathBuf};

use super::checks::{Finding, Judge, Severity};
use super::AHEAD;
use crate::cores::on_every_core_in_order;
use crate::model::{Time, User};
use crate::reload::{self, LoadError, Selection, Version};
use crate::report::{self, Coverage, Provider, ReadOptions, Sink};

/// What checking one report gave, less its findings (which are rendered as they are found:
/// a folder of large reports has millions).
#[derive(Debug)]
pub struct Outcome {
    pub report: String,
    pub path: PathBuf,
    /// `None` where the file could not be read far enough to tell.
    pub provider: Option<Provider>,
    /// What the report can answer (nothing, when it could not be read).
    pub coverage: Coverage,
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

/// What a format makes of one report's findings, given to it as they are found, in order:
/// the report's own first, then, after [`Render::begin`], its users'.
pub trait Render: Send {
    type Output: Send;

    /// The report's header was read: its provider is known, and its users' findings follow.
    /// `report_bytes`: the size of the report, to make room for what they make.
    fn begin(&mut self, provider: Provider, report_bytes: usize);

    fn add(&mut self, finding: &Finding<'_>);

    /// The report was refused after [`Render::begin`]: its users' findings are void, as a
    /// refused version's users are not served.
    fn refused(&mut self);

    /// What the report's findings made, given how checking it went.
    fn finish(self, outcome: &Outcome) -> Self::Output;
}

/// One report to check: its name and its file, or why there is none.
type Target = (String, PathBuf, Result<Version, String>);

impl Walk {
    /// Checks every report `paths` name, on every core, each into the [`Render`] that
    /// `start` makes for it (given the report's place in the run, from 0, its name and its
    /// file). What each makes is handed to `each` with its outcome on the calling thread, in
    /// the order given (a folder's by report name). Stops at the first error of `each`.
    pub fn run<R: Render, E>(
        &self,
        paths: &[PathBuf],
        start: impl Fn(usize, &str, &Path) -> R + Sync,
        mut each: impl FnMut(Outcome, R::Output) -> Result<(), E>,
    ) -> Result<(), E> {
        let targets: Vec<(usize, Target)> = (paths.iter())
            .flat_map(|path| self.targets(path))
            .enumerate()
            .collect();
        let check = |(index, (name, path, version)): &(usize, Target)| {
            let render = start(*index, name, path);
            let (outcome, render) = match version {
                Ok(version) => self.check(name, version, render),
                Err(error) => (Outcome::refused(name, path, [0; 3], error.clone()), render),
            };
            let made = render.finish(&outcome);
            (outcome, made)
        };
        on_every_core_in_order(&targets, AHEAD, check, |(outcome, made)| {
            each(outcome, made)
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

    fn check<R: Render>(&self, name: &str, version: &Version, render: R) -> (Outcome, R) {
        let modified = (version.modified)
            .and_then(|m| jiff::Timestamp::try_from(m).ok())
            .map(Time::from);
        let mut judging = Judging {
            judge: &self.judge,
            render,
            report_bytes: 0,
            coverage: None,
            found: [0; 3],
            own_found: [0; 3],
            users: 0,
        };
        // The report's age is known even when its contents are refused, as the alert's is.
        if let Some(stale) = self.judge.report(modified) {
            judging.record(&stale);
        }
        let own_found = judging.found;
        judging.own_found = own_found;
        let (mut file, generated) = match reload::read_version(version, self.max_bytes) {
            Ok(read) => read,
            Err(error) => {
                let outcome = Outcome::refused(name, &version.path, own_found, error.to_string());
                return (outcome, judging.render);
            }
        };
        judging.report_bytes = usize::try_from(file.size).unwrap_or(usize::MAX);
        match report::read_from(&mut file, &self.read, generated, &mut judging) {
            Ok(summary) => {
                let outcome = Outcome {
                    report: name.to_owned(),
                    path: version.path.clone(),
                    provider: Some(summary.provider),
                    coverage: summary.coverage,
                    error: None,
                    users: judging.users,
                    found: judging.found,
                    first_cell_errors: (summary.first_cell_errors.iter())
                        .map(ToString::to_string)
                        .collect(),
                    cell_errors: summary.cell_errors,
                };
                (outcome, judging.render)
            }
            Err(error) => {
                if judging.coverage.is_some() {
                    judging.render.refused();
                }
                let error = file.refusal(error).to_string();
                let outcome = Outcome::refused(name, &version.path, own_found, error);
                (outcome, judging.render)
            }
        }
    }
}

/// A report's users judged as they are read, their findings handed to the format's
/// [`Render`] and counted.
struct Judging<'j, R> {
    judge: &'j Judge,
    render: R,
    report_bytes: usize,
    /// What the report answers, known once its header is read.
    coverage: Option<Coverage>,
    /// How many findings of each severity, as [`Outcome::found`].
    found: [u64; 3],
    /// Of those, the report's own (its file's age), found before its rows were read.
    own_found: [u64; 3],
    users: u64,
}

impl<R: Render> Judging<'_, R> {
    /// Counts `finding` and hands it to the format.
    fn record(&mut self, finding: &Finding<'_>) {
        self.found[finding.check.severity as usize] += 1;
        self.render.add(finding);
    }
}

impl<R: Render> Sink for Judging<'_, R> {
    fn begin(&mut self, provider: Provider, coverage: &Coverage) {
        self.coverage = Some(*coverage);
        self.render.begin(provider, self.report_bytes);
    }

    fn add(&mut self, line: u64, user: &User<'_>) {
        self.users += 1;
        let judge = self.judge;
        let coverage = self
            .coverage
            .expect("a report's header comes before its rows");
        judge.user(user, line, &coverage, |finding| self.record(finding));
    }

    fn start_over(&mut self) {
        if self.coverage.take().is_some() {
            self.render.refused();
        }
        self.found = self.own_found;
        self.users = 0;
    }
}

impl Outcome {
    /// A report not read, whose own findings (its file's age) were `found`.
    fn refused(name: &str, path: &Path, found: [u64; 3], error: String) -> Outcome {
        Outcome {
            report: name.to_owned(),
            path: path.to_owned(),
            provider: None,
            coverage: Coverage::default(),
            error: Some(error),
            users: 0,
            found,
            first_cell_errors: Vec::new(),
            cell_errors: 0,
        }
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
