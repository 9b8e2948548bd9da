//! What a scrape reads: one report's numbers built from its users, and the set of all
//! reports with their reload history. Both are immutable once built; reloads swap them whole.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;

use crate::model::{KeyStatus, User, UserTable, UserType};
use crate::report::{self, Encoding, ReadOptions, ReadSummary, ReportError};

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
    pub least_recent_use: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aggregates {
    /// Only the user types present in the report appear.
    pub users: BTreeMap<UserType, UserCounts>,
    /// Indexed like [`KeyStatus::ALL`].
    pub keys: [KeyCounts; 2],
}

impl Aggregates {
    pub fn add(&mut self, user: &User<'_>) {
        let counts = self.users.entry(user.user_type).or_default();
        count(counts, &mut self.keys, user);
    }

    pub fn keys_by_status(&self) -> impl Iterator<Item = (KeyStatus, &KeyCounts)> {
        KeyStatus::ALL.into_iter().zip(&self.keys)
    }
}

/// Counts `user` into its type's `counts` and its keys into `keys`.
fn count(counts: &mut UserCounts, keys: &mut [KeyCounts; 2], user: &User<'_>) {
    counts.users += 1;
    counts.console_login_enabled += u64::from(user.console_login.is_true());
    counts.without_mfa += u64::from(user.mfa.is_false());
    counts.console_without_mfa += u64::from(user.has_console_without_mfa());
    counts.without_login_protection += u64::from(user.login_protection.is_false());
    counts.without_operation_protection += u64::from(user.operation_protection.is_false());
    counts.with_abnormal_logins += u64::from(user.abnormal_logins.is_true());
    counts.with_two_active_keys += u64::from(user.active_keys() >= 2);
    for key in user.keys() {
        let Some(status) = key.status else { continue };
        let counts = &mut keys[status as usize];
        counts.keys += 1;
        counts.at_risk += u64::from(key.is_at_risk());
        counts.over_90_days += u64::from(key.created_over_90_days.is_true());
        counts.over_30_days += u64::from(key.created_over_30_days.is_true());
        counts.never_used += u64::from(key.is_never_used());
        if let Some(used) = key.last_used.or(key.created) {
            counts.least_recent_use = Some(counts.least_recent_use.map_or(used, |t| t.min(used)));
        }
    }
}

/// Aggregates while a report is read: counts in an array by user type, which is cheaper
/// per row than the map [`Aggregates`] keeps.
#[derive(Default)]
struct Tally {
    users: [UserCounts; UserType::ALL.len()],
    keys: [KeyCounts; 2],
}

impl Tally {
    fn add(&mut self, user: &User<'_>) {
        count(
            &mut self.users[user.user_type as usize],
            &mut self.keys,
            user,
        );
    }

    fn into_aggregates(self) -> Aggregates {
        Aggregates {
            users: UserType::ALL
                .into_iter()
                .zip(self.users)
                .filter(|(_, counts)| counts.users > 0)
                .collect(),
            keys: self.keys,
        }
    }
}

/// One successfully read version of a report file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportData {
    pub path: PathBuf,
    pub aggregates: Aggregates,
    /// Empty when per-user metrics are off: aggregates need no per-user model.
    pub users: UserTable,
    pub rows: u64,
    pub cell_errors: u64,
    pub encoding: Option<Encoding>,
}

impl ReportData {
    /// Reads `bytes` into a report's numbers, keeping each user only if `keep_users`.
    pub fn build(
        path: PathBuf,
        bytes: &[u8],
        options: &ReadOptions,
        keep_users: bool,
    ) -> Result<(ReportData, ReadSummary), ReportError> {
        let mut tally = Tally::default();
        let mut users = UserTable::new();
        if keep_users {
            // A row per line, near enough: room for them all at once, not by doubling.
            users.reserve(count_lines(bytes));
        }
        let summary = report::read(bytes, options, |user| {
            tally.add(user);
            if keep_users {
                users.push(user);
            }
        })?;
        users.shrink_to_fit();
        let aggregates = tally.into_aggregates();
        let data = ReportData {
            path,
            aggregates,
            users,
            rows: summary.rows,
            cell_errors: summary.cell_errors,
            encoding: summary.encoding,
        };
        Ok((data, summary))
    }
}

/// Newlines in `bytes`, counted in runs of up to 255 into a byte, which the compiler turns
/// into wide vector adds (a plain `filter().count()` widens every byte to 64 bits first).
fn count_lines(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|run| run.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n')))
        .map(usize::from)
        .sum()
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
}
