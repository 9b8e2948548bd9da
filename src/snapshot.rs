//! What a scrape reads: one report's numbers built from its users, and the set of all
//! reports with their reload history. Both are immutable once built; reloads swap them whole.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;

use crate::model::{KeyStatus, Time, User, UserTable, UserType};
use crate::report::{self, Checks, Encoding, Provider, ReadOptions, ReadSummary, ReportError};

/// Per user type: how many users, and how many of them fail each check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserCounts {
    pub users: u64,
    pub console_login_enabled: u64,
    pub without_mfa: u64,
    pub console_without_mfa: u64,
    pub without_login_protection: u64,
    pub without_operation_protection: u64,
    pub with_abnormal_logins: u64,
    pub with_two_active_keys: u64,
    /// Users with a console password unused for 45 days or more (CIS AWS 1.12), as of
    /// the report's generation; never used counts from the password's last change.
    pub password_unused_over_45_days: u64,
}

/// Per key status: how many keys, and how many of them fail each check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyCounts {
    pub keys: u64,
    pub at_risk: u64,
    pub over_90_days: u64,
    pub over_30_days: u64,
    pub never_used: u64,
    /// The earliest last use among these keys, a never-used key counting from its
    /// creation: `time()` minus it is the longest any key has gone unused, so an alert on
    /// unused keys works without per-user series and keeps its threshold in PromQL.
    pub least_recent_use: Time,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregates {
    /// Only the user types present in the report appear.
    pub users: BTreeMap<UserType, UserCounts>,
    /// Indexed like [`KeyStatus::ALL`].
    pub keys: [KeyCounts; 3],
    /// The root user's keys, by status like `keys`.
    pub root_keys: [u64; 3],
    /// The latest sign-in or key use of the root user.
    pub root_last_used: Time,
    /// Signing certificates, by status like `keys`.
    pub signing_certificates: [u64; 3],
}

impl Aggregates {
    /// The key counts by status, as [`by_status`] shows them.
    pub fn keys_by_status(&self) -> impl Iterator<Item = (KeyStatus, &KeyCounts)> {
        by_status(&self.keys, |counts| counts.keys)
    }
}

/// Counts indexed by [`KeyStatus`]: active and disabled always; unknown (unreadable
/// status cells) only where there are such, so a clean report adds no series for it.
pub fn by_status<T>(
    counts: &[T; 3],
    how_many: impl Fn(&T) -> u64,
) -> impl Iterator<Item = (KeyStatus, &T)> {
    (KeyStatus::ALL.into_iter().zip(counts))
        .filter(move |(status, counts)| *status != KeyStatus::Unknown || how_many(counts) > 0)
}

/// Aggregates while a report is read: counts in an array by user type, which is cheaper
/// per row than the map [`Aggregates`] keeps.
struct Tally {
    users: [UserCounts; UserType::ALL.len()],
    rest: Aggregates,
    /// When the report was generated: passwords unused for 45 days before it count.
    unused_since: Time,
}

/// How many days a console password may go unused (CIS AWS Foundations 1.12).
const PASSWORD_UNUSED_DAYS: i64 = 45;

impl Tally {
    fn new(generated: Timestamp) -> Self {
        Tally {
            users: Default::default(),
            rest: Aggregates::default(),
            unused_since: Time::from(generated),
        }
    }

    fn add(&mut self, user: &User<'_>) {
        let facts = &user.facts;
        let counts = &mut self.users[facts.user_type as usize];
        counts.users += 1;
        counts.console_login_enabled += u64::from(facts.console_login.is_true());
        counts.without_mfa += u64::from(facts.mfa.is_false());
        counts.console_without_mfa += u64::from(user.has_console_without_mfa());
        counts.without_login_protection += u64::from(facts.login_protection.is_false());
        counts.without_operation_protection += u64::from(facts.operation_protection.is_false());
        counts.with_abnormal_logins += u64::from(facts.abnormal_logins.is_true());
        counts.with_two_active_keys += u64::from(user.active_keys() >= 2);
        if facts.password_enabled.is_true() {
            let since = [
                facts.password_last_used,
                facts.password_last_rotated,
                facts.created,
            ]
            .into_iter()
            .find(|time| time.is_some())
            .unwrap_or(Time::NONE);
            let unused = since.older_than(PASSWORD_UNUSED_DAYS, self.unused_since);
            counts.password_unused_over_45_days += u64::from(unused.is_true());
        }
        let is_root = facts.user_type == UserType::Root;
        if is_root {
            self.rest.root_last_used = self.rest.root_last_used.max(user.last_used());
        }
        for status in facts.signing_certificates.into_iter().flatten() {
            self.rest.signing_certificates[status as usize] += 1;
        }
        for key in user.keys() {
            let status = key.facts.status as usize;
            self.rest.root_keys[status] += u64::from(is_root);
            let counts = &mut self.rest.keys[status];
            counts.keys += 1;
            counts.at_risk += u64::from(key.is_at_risk());
            counts.over_90_days += u64::from(key.facts.created_over_90_days.is_true());
            counts.over_30_days += u64::from(key.facts.created_over_30_days.is_true());
            counts.never_used += u64::from(key.is_never_used());
            let used = match key.facts.last_used {
                Time::NONE => key.facts.created,
                used => used,
            };
            counts.least_recent_use = earliest(counts.least_recent_use, used);
        }
    }

    /// Adds the tally of the users read from further down the same report.
    fn add_tally(&mut self, later: Tally) {
        for (counts, later) in self.users.iter_mut().zip(later.users) {
            let UserCounts {
                users,
                console_login_enabled,
                without_mfa,
                console_without_mfa,
                without_login_protection,
                without_operation_protection,
                with_abnormal_logins,
                with_two_active_keys,
                password_unused_over_45_days,
            } = later;
            counts.users += users;
            counts.console_login_enabled += console_login_enabled;
            counts.without_mfa += without_mfa;
            counts.console_without_mfa += console_without_mfa;
            counts.without_login_protection += without_login_protection;
            counts.without_operation_protection += without_operation_protection;
            counts.with_abnormal_logins += with_abnormal_logins;
            counts.with_two_active_keys += with_two_active_keys;
            counts.password_unused_over_45_days += password_unused_over_45_days;
        }
        let Aggregates {
            users: _,
            keys,
            root_keys,
            root_last_used,
            signing_certificates,
        } = later.rest;
        for (counts, later) in self.rest.keys.iter_mut().zip(keys) {
            let KeyCounts {
                keys,
                at_risk,
                over_90_days,
                over_30_days,
                never_used,
                least_recent_use,
            } = later;
            counts.keys += keys;
            counts.at_risk += at_risk;
            counts.over_90_days += over_90_days;
            counts.over_30_days += over_30_days;
            counts.never_used += never_used;
            counts.least_recent_use = earliest(counts.least_recent_use, least_recent_use);
        }
        for (count, later) in self.rest.root_keys.iter_mut().zip(root_keys) {
            *count += later;
        }
        self.rest.root_last_used = self.rest.root_last_used.max(root_last_used);
        for (count, later) in (self.rest.signing_certificates.iter_mut()).zip(signing_certificates)
        {
            *count += later;
        }
    }

    fn into_aggregates(self) -> Aggregates {
        Aggregates {
            users: UserType::ALL
                .into_iter()
                .zip(self.users)
                .filter(|(_, counts)| counts.users > 0)
                .collect(),
            ..self.rest
        }
    }
}

/// The earlier of two times, either of which may be [`Time::NONE`].
fn earliest(a: Time, b: Time) -> Time {
    match (a, b) {
        (Time::NONE, other) | (other, Time::NONE) => other,
        (a, b) => a.min(b),
    }
}

/// Where one stretch of a report goes as it is read: its tally, and its users if they
/// are kept.
struct Reading {
    tally: Tally,
    users: Option<UserTable>,
}

impl Reading {
    /// Ready for the users of `text`, and room for them at once rather than by doubling.
    fn new(generated: Timestamp, keep_users: bool, text: &str) -> Self {
        let users = keep_users.then(|| {
            let mut users = UserTable::new();
            // A row per line, near enough.
            users.reserve(report::count_lines(text.as_bytes()), text.len());
            users
        });
        Reading {
            tally: Tally::new(generated),
            users,
        }
    }

    /// Adds what was read from further down the same report.
    fn append(&mut self, later: Reading) {
        self.tally.add_tally(later.tally);
        if let (Some(users), Some(later)) = (&mut self.users, later.users) {
            users.append(later);
        }
    }
}

impl report::Sink for Reading {
    fn add(&mut self, _line: u64, user: &User<'_>) {
        self.tally.add(user);
        if let Some(users) = &mut self.users {
            users.push(user);
        }
    }
}

/// One successfully read version of a report file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportData {
    pub path: PathBuf,
    pub provider: Provider,
    /// What the report can tell: families for checks it lacks are left out.
    pub checks: Checks,
    /// When the report was generated (its file's modification time).
    pub generated: Timestamp,
    pub aggregates: Aggregates,
    /// Empty when per-user metrics are off: aggregates need no per-user model.
    pub users: UserTable,
    pub rows: u64,
    pub cell_errors: u64,
    pub encoding: Encoding,
}

impl ReportData {
    /// Reads `bytes`, generated at `generated`, into a report's numbers, keeping each
    /// user only if `keep_users`.
    pub fn build(
        path: PathBuf,
        bytes: &[u8],
        options: &ReadOptions,
        generated: Timestamp,
        keep_users: bool,
    ) -> Result<(ReportData, ReadSummary), ReportError> {
        Self::build_on_threads(path, bytes, options, generated, keep_users, 1)
    }

    /// Like [`ReportData::build`], on up to `threads` threads if the report is large.
    pub fn build_on_threads(
        path: PathBuf,
        bytes: &[u8],
        options: &ReadOptions,
        generated: Timestamp,
        keep_users: bool,
        threads: usize,
    ) -> Result<(ReportData, ReadSummary), ReportError> {
        let (summary, readings) =
            report::read_in_parts(bytes, options, generated, threads, |stretch| {
                Reading::new(generated, keep_users, stretch)
            })?;
        let mut readings = readings.into_iter();
        let mut reading = readings
            .next()
            .expect("a report is read in at least one part");
        for later in readings {
            reading.append(later);
        }
        let mut users = reading.users.unwrap_or_default();
        users.shrink_to_fit();
        let data = ReportData {
            path,
            provider: summary.provider,
            checks: summary.checks,
            generated,
            aggregates: reading.tally.into_aggregates(),
            users,
            rows: summary.rows,
            cell_errors: summary.cell_errors,
            encoding: summary.encoding,
        };
        Ok((data, summary))
    }
}

/// A report as the exporter knows it: the last good data and how reloading it went.
#[derive(Debug, Clone, Default)]
pub struct ReportState {
    /// The file the report currently comes from.
    pub path: PathBuf,
    /// The last version that was read successfully; served even after a failed reload.
    pub data: Option<Arc<ReportData>>,
    /// Whether the newest version of the file was read successfully.
    pub up: bool,
    pub last_error: Option<String>,
    pub file_modified: Option<Timestamp>,
    pub last_success: Option<Timestamp>,
    pub last_reload_duration_seconds: f64,
    pub reloads_success: u64,
    pub reloads_failure: u64,
}

/// Everything a scrape shows, swapped in whole by each reload.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Keyed by report name (the `report` label).
    pub reports: BTreeMap<String, Arc<ReportState>>,
    /// The report folder has been scanned at least once.
    pub scanned: bool,
    /// What the last scan found at the folder's path.
    pub folder: FolderState,
}

/// Whether the last scan could list the report folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FolderState {
    #[default]
    Readable,
    /// Nothing at the path (yet): no reports are served.
    Missing,
    /// A file, not a folder, at the path: the reports read before are still served.
    NotAFolder,
    /// A folder that cannot be listed (permissions, I/O), and why: the reports read before
    /// are still served.
    Unreadable(String),
}

impl FolderState {
    pub fn is_readable(&self) -> bool {
        *self == FolderState::Readable
    }

    /// For people: the status page.
    pub fn describe(&self) -> String {
        match self {
            FolderState::Readable => "readable".to_owned(),
            FolderState::Missing => "missing: no such folder (yet)".to_owned(),
            FolderState::NotAFolder => "not a folder: the path is a file".to_owned(),
            FolderState::Unreadable(why) => format!("unreadable: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{self, Spec};

    /// A report large enough to be read in stretches comes out as read in one piece:
    /// the same users in order, and the same aggregates, whichever provider.
    #[test]
    fn a_report_read_on_threads_is_the_report_read_on_one() {
        let spec = Spec {
            users: 12_000,
            files: 1,
            seed: 5,
        };
        let options = ReadOptions {
            timezone: jiff::tz::TimeZone::get("Asia/Shanghai").unwrap(),
            provider: None,
        };
        for provider in Provider::ALL {
            let bytes = generate::report_of(provider, &spec, 0);
            let build = |threads| {
                let (data, _) = ReportData::build_on_threads(
                    PathBuf::from("r.csv"),
                    &bytes,
                    &options,
                    generate::GENERATED,
                    true,
                    threads,
                )
                .unwrap();
                data
            };
            let (one, three) = (build(1), build(3));
            assert_eq!(three.aggregates, one.aggregates, "{provider}");
            assert_eq!(three.rows, 12_000, "{provider}");
            assert!(three.users.iter().eq(one.users.iter()), "{provider}");
        }
    }
}
