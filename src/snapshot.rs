//! What a scrape reads: one report's numbers built from its users, and the set of all
//! reports with their reload history. Both are immutable once built; reloads swap them whole.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;

use crate::model::{KeyFacts, KeyStatus, Over, Time, User, UserTable, UserType, DAY};
use crate::report::{
    self, Coverage, Encoding, Provider, ReadError, ReadOptions, ReadSummary, ReportError,
};

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
}

/// Times that make a count change as "now" moves on: a key's creation, a password's last
/// use. Kept sorted, so that how many lie more than some days before any "now" (a
/// scrape's, the status page's) is one binary search; the same count `check` and the
/// alerts make, with the same `>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Times {
    /// Never [`Time::NONE`]; sorted once the report is read.
    times: Vec<Time>,
}

impl Times {
    fn add(&mut self, time: Time) {
        if time.is_some() {
            self.times.push(time);
        }
    }

    fn sort(&mut self) {
        self.times.sort_unstable();
    }

    /// How many are, at `now`, `over` `limit` seconds old. Sorted, the oldest come first.
    pub fn older_than_seconds(&self, limit: i64, now: Timestamp, over: Over) -> u64 {
        let now = now.as_second();
        let older =
            (self.times).partition_point(|t| t.age(now).is_some_and(|age| over.holds(age, limit)));
        older as u64
    }
}

/// Access keys' ages, to count those over some days as of any "now": from the creation
/// time where the report gives one; only a key whose creation time it does not give counts
/// by the report's own flag (Tencent's CreatedOver90Days and CreatedOver30Days).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyAges {
    created: Times,
    /// Keys without a creation time that the report flags as over 90 and over 30 days.
    flagged_over_90_days: u64,
    flagged_over_30_days: u64,
}

impl KeyAges {
    fn add(&mut self, key: &KeyFacts) {
        match key.created {
            Time::NONE => {
                self.flagged_over_90_days += u64::from(key.created_over_90_days.is_true());
                self.flagged_over_30_days += u64::from(key.created_over_30_days.is_true());
            }
            created => self.created.add(created),
        }
    }

    /// Keys created more than 90 days before `now`.
    pub fn over_90_days(&self, now: Timestamp) -> u64 {
        self.created
            .older_than_seconds(90 * DAY, now, Over::MoreThan)
            + self.flagged_over_90_days
    }

    /// Keys created more than 30 days before `now`.
    pub fn over_30_days(&self, now: Timestamp) -> u64 {
        self.created
            .older_than_seconds(30 * DAY, now, Over::MoreThan)
            + self.flagged_over_30_days
    }
}

/// Per key status: how many keys, and how many of them fail each check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyCounts {
    pub keys: u64,
    pub at_risk: u64,
    pub ages: KeyAges,
    pub never_used: u64,
    /// Keys never used whose user (other than the root user) has a console password: keys
    /// made at the user's setup that nothing needed (CIS AWS Foundations 1.11).
    pub never_used_by_console_users: u64,
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
    /// The root user's credentials, as [`RootCredential::ALL`]; only reports with a root
    /// user's row have them.
    pub root_credentials: [u64; 3],
    /// When each password-enabled user other than the root user last used the password
    /// (or, never used, last changed it), by user type like `users`: passwords unused
    /// for 45 days or more as of any "now" (CIS AWS Foundations 1.12).
    pub password_unused_since: BTreeMap<UserType, Times>,
}

/// What the root user may sign in or call with: what makes its MFA matter (AWS's root-user
/// guide; Prowler's iam_root_mfa_enabled judges only a root that has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootCredential {
    /// A console password: `true`, or `not_supported`, which cannot rule one out.
    Password,
    /// Active access keys.
    AccessKey,
    /// Active X.509 signing certificates.
    SigningCertificate,
}

impl RootCredential {
    /// In the order of the enum, so `credential as usize` indexes it.
    pub const ALL: [RootCredential; 3] = [
        RootCredential::Password,
        RootCredential::AccessKey,
        RootCredential::SigningCertificate,
    ];

    /// The value of the `credential` label.
    pub fn label(self) -> &'static str {
        match self {
            RootCredential::Password => "password",
            RootCredential::AccessKey => "access_key",
            RootCredential::SigningCertificate => "signing_certificate",
        }
    }
}

impl Aggregates {
    /// Users other than the root user who may sign in to the console without MFA, as
    /// `check` and CredentialReportConsoleUserWithoutMFA count them (the root user has
    /// its own check).
    pub fn console_users_without_mfa(&self) -> u64 {
        (self.users.iter())
            .filter(|(user_type, _)| **user_type != UserType::Root)
            .map(|(_, counts)| counts.console_without_mfa)
            .sum()
    }

    /// Passwords of users of `user_type` unused for 45 days or more (`>=`) before `now`.
    pub fn passwords_unused_over_45_days(&self, user_type: UserType, now: Timestamp) -> u64 {
        (self.password_unused_since.get(&user_type)).map_or(0, |times| {
            times.older_than_seconds(PASSWORD_UNUSED_DAYS * DAY, now, Over::OrMore)
        })
    }

    /// The counts of active keys.
    pub fn active_keys(&self) -> &KeyCounts {
        &self.keys[KeyStatus::Active as usize]
    }

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
    password_unused_since: [Times; UserType::ALL.len()],
    rest: Aggregates,
}

/// How many days a console password may go unused (CIS AWS Foundations 1.12).
const PASSWORD_UNUSED_DAYS: i64 = 45;

impl Tally {
    fn new() -> Self {
        Tally {
            users: Default::default(),
            password_unused_since: Default::default(),
            rest: Aggregates::default(),
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
        let is_root = facts.user_type == UserType::Root;
        if facts.password_enabled.is_true() {
            self.password_unused_since[facts.user_type as usize].add(user.password_unused_since());
        }
        if is_root {
            self.rest.root_last_used = self.rest.root_last_used.max(user.last_used());
            let credentials = &mut self.rest.root_credentials;
            credentials[RootCredential::Password as usize] += u64::from(user.may_have_password());
            credentials[RootCredential::AccessKey as usize] += user.active_keys() as u64;
            credentials[RootCredential::SigningCertificate as usize] +=
                user.active_signing_certificates() as u64;
        }
        for status in facts.signing_certificates.into_iter().flatten() {
            self.rest.signing_certificates[status as usize] += 1;
        }
        let console_user = !is_root && facts.password_enabled.is_true();
        for key in user.keys() {
            let status = key.facts.status as usize;
            self.rest.root_keys[status] += u64::from(is_root);
            let counts = &mut self.rest.keys[status];
            counts.keys += 1;
            counts.at_risk += u64::from(key.is_at_risk());
            counts.ages.add(&key.facts);
            counts.never_used += u64::from(key.is_never_used());
            counts.never_used_by_console_users += u64::from(console_user && key.is_never_used());
            let used = match key.facts.last_used {
                Time::NONE => key.facts.created,
                used => used,
            };
            counts.least_recent_use = earliest(counts.least_recent_use, used);
        }
    }

    fn into_aggregates(mut self) -> Aggregates {
        for counts in &mut self.rest.keys {
            counts.ages.created.sort();
        }
        let users: BTreeMap<UserType, UserCounts> = (UserType::ALL.into_iter())
            .zip(self.users)
            .filter(|(_, counts)| counts.users > 0)
            .collect();
        let password_unused_since = (UserType::ALL.into_iter())
            .zip(self.password_unused_since)
            .filter(|(user_type, _)| users.contains_key(user_type))
            .map(|(user_type, mut times)| {
                times.sort();
                (user_type, times)
            })
            .collect();
        Aggregates {
            users,
            password_unused_since,
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

/// Where a report goes as it is read: its tally, and its users if they are kept.
struct Reading {
    tally: Tally,
    users: Option<UserTable>,
}

impl Reading {
    fn new(keep_users: bool) -> Self {
        Reading {
            tally: Tally::new(),
            users: keep_users.then(UserTable::new),
        }
    }

    fn finish(
        self,
        path: PathBuf,
        generated: Timestamp,
        summary: ReadSummary,
    ) -> (ReportData, ReadSummary) {
        let mut users = self.users.unwrap_or_default();
        users.shrink_to_fit();
        let data = ReportData {
            path,
            provider: summary.provider,
            coverage: summary.coverage,
            generated,
            aggregates: self.tally.into_aggregates(),
            users,
            rows: summary.rows,
            cell_errors: summary.cell_errors,
            encoding: summary.encoding,
        };
        (data, summary)
    }
}

impl report::Sink for Reading {
    fn add(&mut self, _line: u64, user: &User<'_>) {
        self.tally.add(user);
        if let Some(users) = &mut self.users {
            users.push(user);
        }
    }

    fn start_over(&mut self) {
        *self = Reading::new(self.users.is_some());
    }
}

/// One successfully read version of a report file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportData {
    pub path: PathBuf,
    pub provider: Provider,
    /// What the report can tell: families for checks it lacks are left out.
    pub coverage: Coverage,
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
        let mut reading = Reading::new(keep_users);
        let summary = report::read_into(bytes, options, generated, &mut reading)?;
        Ok(reading.finish(path, generated, summary))
    }

    /// [`ReportData::build`] from a file, read a chunk at a time: nothing is held but the
    /// users kept (their table grows with them: no room is made from the file's size or
    /// lines, which a hostile file chooses) and a buffer of a bounded size.
    pub fn read(
        path: PathBuf,
        source: &mut dyn report::Source,
        options: &ReadOptions,
        generated: Timestamp,
        keep_users: bool,
    ) -> Result<(ReportData, ReadSummary), ReadError> {
        let mut reading = Reading::new(keep_users);
        let summary = report::read_from(source, options, generated, &mut reading)?;
        Ok(reading.finish(path, generated, summary))
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
    /// Reports beyond `--report.max-files` at the last scan, not read.
    pub files_skipped: usize,
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
