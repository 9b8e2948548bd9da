//! Snapshot → metrics. One collector walks the current snapshot at scrape time; the same
//! walk is written as OpenMetrics 1.0 or as the classic Prometheus text format 0.0.4.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    prometheus_text, text, DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet, LabelSetEncoder,
    NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::build_info;
use crate::check::checks::{
    ABNORMAL_LOGINS, KEY_AT_RISK, PASSWORD_UNUSED_45_DAYS, ROOT_ACCESS_KEY, ROOT_USED_RECENTLY,
    ROOT_WITHOUT_MFA, SIGNING_CERTIFICATE_ACTIVE,
};
use crate::markup::printable;
use crate::model::{mask_key_id, AccessKey, Flag, Time, User, MAX_KEY_SLOTS};
use crate::report::{Answers, Coverage};
use crate::snapshot::{
    self, Aggregates, KeyAges, KeyCounts, ReportData, ReportState, RootCredential, Snapshot,
    UserCounts,
};

/// The two formats a scrape can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
    Classic,
}

impl Format {
    pub const OPENMETRICS_CONTENT_TYPE: &'static str =
        "application/openmetrics-text; version=1.0.0; charset=utf-8";

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => Self::OPENMETRICS_CONTENT_TYPE,
            Format::Classic => prometheus_text::CONTENT_TYPE,
        }
    }
}

/// What the metrics show beyond the aggregates.
#[derive(Debug, Clone, Copy)]
pub struct ExpositionOptions {
    pub per_user: bool,
    pub show_secret_ids: bool,
    /// At most this many per-user and per-key series; 0 for no limit. Users are kept whole,
    /// in report-name and then file order; `credential_report_per_user_series_dropped`
    /// says how many series the rest would have been.
    pub max_per_user_series: u64,
    /// The time ages count up to (`--now`); `None`: the clock, at each scrape.
    pub now: Option<jiff::Timestamp>,
}

impl ExpositionOptions {
    /// The time the counts that change with it (keys over 90 days, passwords unused for
    /// 45) count up to, for this scrape.
    pub fn now(&self) -> jiff::Timestamp {
        self.now.unwrap_or_else(jiff::Timestamp::now)
    }
}

/// Writes a snapshot's families as [`ExpositionOptions`] say: body.rs makes the `/metrics`
/// body of them.
pub struct Exposition {
    options: ExpositionOptions,
}

impl Exposition {
    pub fn new(options: ExpositionOptions) -> Self {
        Exposition { options }
    }

    /// Writes the families of `snapshot` that are the same at every scrape of it, without
    /// OpenMetrics' closing `# EOF`: a body made per snapshot, with more families after it.
    pub fn encode_snapshot(
        &self,
        snapshot: Arc<Snapshot>,
        format: Format,
        out: &mut impl fmt::Write,
    ) -> fmt::Result {
        let collector = SnapshotCollector {
            snapshot,
            options: self.options,
        };
        encode_collector(Box::new(collector), format, out)
    }

    /// Writes the families of `snapshot` that change with the time ([`encode_aging`]), as
    /// of this scrape's "now", without `# EOF`: they are encoded at every scrape, while
    /// the rest of a snapshot's body may be kept compressed for as long as it is served.
    pub fn encode_aging(
        &self,
        snapshot: Arc<Snapshot>,
        format: Format,
        out: &mut impl fmt::Write,
    ) -> fmt::Result {
        let collector = AgingCollector {
            snapshot,
            options: self.options,
        };
        encode_collector(Box::new(collector), format, out)
    }
}

/// One collector's families in `format`, without OpenMetrics' closing `# EOF`.
fn encode_collector(
    collector: Box<dyn Collector>,
    format: Format,
    out: &mut impl fmt::Write,
) -> fmt::Result {
    let mut registry = Registry::default();
    registry.register_collector(collector);
    match format {
        Format::OpenMetrics => text::encode_registry(out, &registry),
        Format::Classic => prometheus_text::encode(out, &registry),
    }
}

/// The counts that change as time passes, though the report does not.
#[derive(Debug)]
struct AgingCollector {
    snapshot: Arc<Snapshot>,
    options: ExpositionOptions,
}

impl Collector for AgingCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        encode_aging(&mut encoder, &self.snapshot, self.options.now())
    }
}

#[derive(Debug)]
struct SnapshotCollector {
    snapshot: Arc<Snapshot>,
    options: ExpositionOptions,
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let snapshot: &Snapshot = &self.snapshot;
        encode_build_info(&mut encoder)?;
        encode_report_status(&mut encoder, snapshot)?;
        encode_user_aggregates(&mut encoder, snapshot)?;
        encode_key_aggregates(&mut encoder, snapshot)?;
        if self.options.per_user {
            let served = PerUserSeries::served(snapshot, self.options.max_per_user_series);
            if self.options.max_per_user_series > 0 {
                gauges(
                    &mut encoder,
                    "credential_report_per_user_series_dropped",
                    "Per-user and per-key series left out of this scrape by --metrics.max-per-user-series; 0 when all fit.",
                    None,
                    [(Labels::<0>::default(), served.dropped)],
                )?;
            }
            let served = Served {
                users: served.users,
                duplicates: duplicates(snapshot, served.users),
            };
            encode_users(&mut encoder, snapshot, &served)?;
            encode_keys(
                &mut encoder,
                snapshot,
                &served,
                self.options.show_secret_ids,
            )?;
        }
        Ok(())
    }
}

/// Writes one gauge family; a family with no samples is left out.
fn gauges<S: EncodeLabelSet, V: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    samples: impl IntoIterator<Item = (S, V)>,
) -> fmt::Result {
    let mut samples = samples.into_iter().peekable();
    if samples.peek().is_none() {
        return Ok(());
    }
    let mut family = encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    for (labels, value) in samples {
        family.encode_family(&labels)?.encode_gauge(&value)?;
    }
    Ok(())
}

fn encode_build_info(encoder: &mut DescriptorEncoder) -> fmt::Result {
    gauges(
        encoder,
        "credential_report_exporter_build_info",
        "A metric with a constant 1 labelled by the version, git revision, Rust version and target of credential-report-exporter.",
        None,
        [(
            [
                ("version", build_info::VERSION),
                ("revision", build_info::REVISION),
                ("rustversion", build_info::RUST_VERSION),
                ("target", build_info::TARGET),
            ],
            1,
        )],
    )
}

/// One sample per report, where `value` has one.
fn per_report<V>(
    snapshot: &Snapshot,
    value: impl Fn(&ReportState) -> Option<V>,
) -> impl Iterator<Item = (Labels<'_, 1>, V)> {
    snapshot
        .reports
        .iter()
        .filter_map(move |(name, state)| Some(([("report", name.as_str())], value(state)?)))
}

/// Seconds since the epoch with millisecond precision, as Prometheus timestamps are.
fn epoch_seconds(timestamp: jiff::Timestamp) -> f64 {
    timestamp.as_millisecond() as f64 / 1000.0
}

/// A metric family mirroring one field: name, help, and how to read the value.
type Family<F> = (&'static str, &'static str, F);
type UserCount = fn(&UserCounts) -> u64;
type KeyCount = fn(&KeyCounts) -> u64;
type UserFlag = fn(&User) -> Flag;
type UserTime = fn(&User) -> Time;
type KeyFlag = fn(&AccessKey) -> Option<bool>;
type KeyTime = fn(&AccessKey) -> Time;
/// How many keys are over some age as of a time.
type KeysOver = fn(&KeyAges, jiff::Timestamp) -> u64;
/// Whether a report answers the check a family shows; one that does not gets no series.
const ALWAYS: Answers = Coverage::ALWAYS;

type Labels<'a, const N: usize> = [(&'static str, &'a str); N];

fn encode_report_status(encoder: &mut DescriptorEncoder, snapshot: &Snapshot) -> fmt::Result {
    if snapshot.scanned {
        gauges(
            encoder,
            "credential_report_folder_up",
            "1 if the report folder could be listed at the last scan; 0 while it is missing, not a folder, or unreadable.",
            None,
            [(Labels::<0>::default(), i64::from(snapshot.folder.is_readable()))],
        )?;
        gauges(
            encoder,
            "credential_report_files_skipped",
            "Report files in the folder not read at the last scan because there are more than --report.max-files (the first by name are read); 0 when all are.",
            None,
            [(Labels::<0>::default(), snapshot.files_skipped as u64)],
        )?;
    }
    gauges(
        encoder,
        "credential_report_up",
        "1 if the newest version of the report file was read successfully, 0 if it was refused (the last good version is still served).",
        None,
        per_report(snapshot, |s| Some(i64::from(s.up))),
    )?;
    let providers = snapshot.reports.iter().filter_map(|(name, state)| {
        let provider = state.data.as_ref()?.provider.name();
        Some(([("report", name.as_str()), ("provider", provider)], 1))
    });
    gauges(
        encoder,
        "credential_report_info",
        "A metric with a constant 1 for each report read, labelled by the provider whose report it is (as --report.provider names it).",
        None,
        providers,
    )?;
    gauges(
        encoder,
        "credential_report_generated_timestamp",
        "When the served version of the report was generated (its file's modification time), in seconds since the Unix epoch: key and password ages count up to it.",
        Some(&Unit::Seconds),
        per_report(snapshot, |s| Some(epoch_seconds(s.data.as_ref()?.generated))),
    )?;
    gauges(
        encoder,
        "credential_report_file_modified_timestamp",
        "When the report file was last modified, in seconds since the Unix epoch.",
        Some(&Unit::Seconds),
        per_report(snapshot, |s| s.file_modified.map(epoch_seconds)),
    )?;
    gauges(
        encoder,
        "credential_report_last_reload_success_timestamp",
        "When the report was last read successfully, in seconds since the Unix epoch.",
        Some(&Unit::Seconds),
        per_report(snapshot, |s| s.last_success.map(epoch_seconds)),
    )?;
    gauges(
        encoder,
        "credential_report_last_reload_duration",
        "How long the last reload of the report took, successful or not.",
        Some(&Unit::Seconds),
        per_report(snapshot, |s| Some(s.last_reload_duration_seconds)),
    )?;
    gauges(
        encoder,
        "credential_report_cell_errors",
        "Cells of the served version of the report whose value could not be read; each is treated as absent.",
        None,
        per_report(snapshot, |s| s.data.as_ref().map(|d| d.cell_errors)),
    )?;
    if snapshot.reports.is_empty() {
        return Ok(());
    }
    let mut reloads = encoder.encode_descriptor(
        "credential_report_reloads",
        "Reloads of the report file, by result (success or failure).",
        None,
        MetricType::Counter,
    )?;
    for (name, state) in &snapshot.reports {
        for (result, count) in [
            ("success", state.reloads_success),
            ("failure", state.reloads_failure),
        ] {
            reloads
                .encode_family(&[("report", name.as_str()), ("result", result)])?
                .encode_counter::<NoLabelSet, _, u64>(&count, None)?;
        }
    }
    Ok(())
}

fn encode_user_aggregates(encoder: &mut DescriptorEncoder, snapshot: &Snapshot) -> fmt::Result {
    let families: [(Family<UserCount>, Answers); 8] = [
        (("credential_report_users", "Users in the report.", |c| c.users), ALWAYS),
        (
            (
                "credential_report_users_console_login_enabled",
                "Users who can log in to the console (columns per provider: docs/providers/).",
                |c| c.console_login_enabled,
            ),
            ALWAYS,
        ),
        (
            (
                "credential_report_users_without_mfa",
                "Users without an MFA device (columns per provider: docs/providers/).",
                |c| c.without_mfa,
            ),
            ALWAYS,
        ),
        (
            (
                "credential_report_users_console_without_mfa",
                "Users who can log in to the console without an MFA device.",
                |c| c.console_without_mfa,
            ),
            ALWAYS,
        ),
        (
            (
                "credential_report_users_without_login_protection",
                "Users without login protection (the report's LoginProtectionActive FALSE).",
                |c| c.without_login_protection,
            ),
            |coverage| coverage.login_protection,
        ),
        (
            (
                "credential_report_users_without_operation_protection",
                "Users without operation protection (the report's OperationProtectionActive FALSE).",
                |c| c.without_operation_protection,
            ),
            |coverage| coverage.operation_protection,
        ),
        (
            (
                "credential_report_users_with_abnormal_logins",
                "Users with suspicious logins in the last 30 days.",
                |c| c.with_abnormal_logins,
            ),
            |coverage| ABNORMAL_LOGINS.answered_by(coverage),
        ),
        (
            (
                "credential_report_users_with_two_active_keys",
                "Users with two or more access keys active.",
                |c| c.with_two_active_keys,
            ),
            ALWAYS,
        ),
    ];
    for ((name, help, value), answers) in families {
        let samples = reports_answering(snapshot, answers).flat_map(|(report, data)| {
            data.aggregates
                .users
                .iter()
                .map(move |(user_type, counts)| {
                    (
                        [("report", report), ("user_type", user_type.label())],
                        value(counts),
                    )
                })
        });
        gauges(encoder, name, help, None, samples)?;
    }
    Ok(())
}

/// The served data of each report that answers a check.
fn reports_answering(
    snapshot: &Snapshot,
    answers: Answers,
) -> impl Iterator<Item = (&str, &ReportData)> {
    snapshot.reports.iter().filter_map(move |(report, state)| {
        let data = state.data.as_deref()?;
        answers(&data.coverage).then_some((report.as_str(), data))
    })
}

/// One sample per status of `counts`, for each report that answers a check.
fn by_status<'s>(
    snapshot: &'s Snapshot,
    answers: Answers,
    counts: fn(&Aggregates) -> &[u64; 3],
) -> impl Iterator<Item = (Labels<'s, 2>, u64)> {
    reports_answering(snapshot, answers).flat_map(move |(report, data)| {
        snapshot::by_status(counts(&data.aggregates), |&count| count)
            .map(move |(status, &count)| ([("report", report), ("status", status.label())], count))
    })
}

fn encode_key_aggregates(encoder: &mut DescriptorEncoder, snapshot: &Snapshot) -> fmt::Result {
    let families: [(Family<KeyCount>, Answers); 4] = [
        (
            (
                "credential_report_access_keys",
                "Access keys in the report.",
                |c| c.keys,
            ),
            ALWAYS,
        ),
        (
            (
                "credential_report_access_keys_at_risk",
                "Access keys the provider flags as possibly leaked (the report's MayBeAtRisk TRUE).",
                |c| c.at_risk,
            ),
            |coverage| KEY_AT_RISK.answered_by(coverage),
        ),
        (
            (
                "credential_report_access_keys_never_used",
                "Access keys with no last-used date.",
                |c| c.never_used,
            ),
            ALWAYS,
        ),
        (
            (
                "credential_report_access_keys_never_used_by_console_users",
                "Access keys with no last-used date whose user, other than the root user, has a console password (PasswordEnabled TRUE): keys made at the user's setup that nothing needed.",
                |c| c.never_used_by_console_users,
            ),
            ALWAYS,
        ),
    ];
    for ((name, help, value), answers) in families {
        let samples = reports_answering(snapshot, answers).flat_map(|(report, data)| {
            data.aggregates
                .keys_by_status()
                .map(move |(status, counts)| {
                    (
                        [("report", report), ("status", status.label())],
                        value(counts),
                    )
                })
        });
        gauges(encoder, name, help, None, samples)?;
    }
    let least_recent_use = snapshot.reports.iter().flat_map(|(report, state)| {
        state.data.iter().flat_map(move |data| {
            data.aggregates
                .keys_by_status()
                .filter_map(move |(status, counts)| {
                    let labels = [("report", report.as_str()), ("status", status.label())];
                    Some((labels, counts.least_recent_use.seconds()?))
                })
        })
    });
    gauges(
        encoder,
        "credential_report_access_keys_least_recent_use_timestamp",
        "The earliest last use among the report's keys of this status (creation for a never-used key), in seconds since the Unix epoch: time() minus it is the longest any key has gone unused.",
        Some(&Unit::Seconds),
        least_recent_use,
    )?;
    gauges(
        encoder,
        "credential_report_root_access_keys",
        "Access keys of the account's root user, by status; the CIS benchmarks want none.",
        None,
        by_status(
            snapshot,
            |c| ROOT_ACCESS_KEY.answered_by(c),
            |a| &a.root_keys,
        ),
    )?;
    let root_credentials = reports_answering(snapshot, |c| ROOT_WITHOUT_MFA.answered_by(c))
        .flat_map(|(report, data)| {
            (RootCredential::ALL.into_iter())
                .zip(data.aggregates.root_credentials)
                .map(move |(credential, count)| {
                    (
                        [("report", report), ("credential", credential.label())],
                        count,
                    )
                })
        });
    gauges(
        encoder,
        "credential_report_root_credentials",
        "What the account's root user may sign in or call with, by kind: password (1 where the report says it has one or cannot say), active access_key and active signing_certificate counts. Its MFA matters only where one is above 0.",
        None,
        root_credentials,
    )?;
    let root_last_used = reports_answering(snapshot, |c| ROOT_USED_RECENTLY.answered_by(c))
        .filter_map(|(report, data)| {
            Some((
                [("report", report)],
                data.aggregates.root_last_used.seconds()?,
            ))
        });
    gauges(
        encoder,
        "credential_report_root_last_used_timestamp",
        "When the account's root user last signed in or used an access key, in seconds since the Unix epoch; absent if never.",
        Some(&Unit::Seconds),
        root_last_used,
    )?;
    gauges(
        encoder,
        "credential_report_signing_certificates",
        "X.509 signing certificates of the report's users, by status.",
        None,
        by_status(
            snapshot,
            |c| SIGNING_CERTIFICATE_ACTIVE.answered_by(c),
            |a| &a.signing_certificates,
        ),
    )?;
    Ok(())
}

/// The counts that change as time passes, as of `now`: keys over 90 and over 30 days old,
/// passwords unused for 45 days or more. Counted as `check --now` and the alerts count them
/// (from the creation time, or the last use, against `now`), so that all three agree.
fn encode_aging(
    encoder: &mut DescriptorEncoder,
    snapshot: &Snapshot,
    now: jiff::Timestamp,
) -> fmt::Result {
    let ages: [Family<KeysOver>; 2] = [
        (
            "credential_report_access_keys_over_90d",
            "Access keys created more than 90 days before now (the scrape's time, or --now), from their creation time; a key whose creation time the report does not give counts by the report's CreatedOver90Days flag.",
            KeyAges::over_90_days,
        ),
        (
            "credential_report_access_keys_over_30d",
            "Access keys created more than 30 days before now (the scrape's time, or --now), from their creation time; a key whose creation time the report does not give counts by the report's CreatedOver30Days flag.",
            KeyAges::over_30_days,
        ),
    ];
    for (name, help, over) in ages {
        let samples = reports_answering(snapshot, ALWAYS).flat_map(|(report, data)| {
            data.aggregates
                .keys_by_status()
                .map(move |(status, counts)| {
                    (
                        [("report", report), ("status", status.label())],
                        over(&counts.ages, now),
                    )
                })
        });
        gauges(encoder, name, help, None, samples)?;
    }
    let unused = reports_answering(snapshot, |c| PASSWORD_UNUSED_45_DAYS.answered_by(c)).flat_map(
        |(report, data)| {
            data.aggregates.users.keys().map(move |&user_type| {
                (
                    [("report", report), ("user_type", user_type.label())],
                    data.aggregates
                        .passwords_unused_over_45_days(user_type, now),
                )
            })
        },
    );
    gauges(
        encoder,
        "credential_report_users_password_unused_over_45d",
        "Users with a console password last used (never used: last changed) 45 days or more before now (the scrape's time, or --now).",
        None,
        unused,
    )
}

/// The first `served` users of the snapshot, with their report's name.
fn users(snapshot: &Snapshot, served: usize) -> impl Iterator<Item = (&str, User<'_>)> {
    snapshot
        .reports
        .iter()
        .flat_map(|(report, state)| {
            state
                .data
                .iter()
                .flat_map(move |data| data.users.iter().map(move |user| (report.as_str(), user)))
        })
        .take(served)
}

/// How many of the snapshot's users a scrape shows under `--metrics.max-per-user-series`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PerUserSeries {
    users: usize,
    /// The series of the users left out.
    dropped: u64,
}

impl PerUserSeries {
    fn served(snapshot: &Snapshot, limit: u64) -> PerUserSeries {
        if limit == 0 {
            return PerUserSeries {
                users: usize::MAX,
                dropped: 0,
            };
        }
        let (mut users, mut series, mut dropped) = (0, 0, 0);
        for (_, user) in self::users(snapshot, usize::MAX) {
            let own = series_of(&user);
            // Whole users only, and none after the first that does not fit, so the same
            // users are shown from scrape to scrape while the reports stay the same.
            if dropped == 0 && series + own <= limit {
                users += 1;
                series += own;
            } else {
                dropped += own;
            }
        }
        PerUserSeries { users, dropped }
    }
}

/// The per-user and per-key series `user` makes: one for each family below where it has
/// a value.
fn series_of(user: &User<'_>) -> u64 {
    let user_series = 1
        + USER_FLAGS
            .iter()
            .filter(|(_, _, flag)| flag(user).as_bool().is_some())
            .count()
        + USER_TIMES
            .iter()
            .filter(|(_, _, time)| time(user).is_some())
            .count();
    let key_series: usize = user
        .keys()
        .map(|key| {
            1 + usize::from(has_last_use_place(key))
                + KEY_FLAGS
                    .iter()
                    .filter(|(_, _, flag)| flag(key).is_some())
                    .count()
                + KEY_TIMES
                    .iter()
                    .filter(|(_, _, time)| time(key).is_some())
                    .count()
        })
        .sum();
    (user_series + key_series) as u64
}

/// The users a scrape shows, and which of them repeat an earlier user's labels.
struct Served {
    users: usize,
    duplicates: HashMap<usize, u32>,
}

/// A user's labels: `report`, `account_id` and `username`, the last two as shown
/// ([`printable`]: control characters and bidirectional overrides escaped), and
/// `duplicate` on a user whose labels an earlier user of the same report already has (two
/// rows for one user, names voided as too long, names that escape alike): `2` on the
/// second of them in file order, `3` on the third, so that no series is written twice.
#[derive(Clone)]
struct UserLabels<'a> {
    labels: [(&'static str, Cow<'a, str>); 3],
    duplicate: Option<u32>,
}

impl EncodeLabelSet for UserLabels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        self.labels.encode(encoder)?;
        match self.duplicate {
            Some(n) => [("duplicate", n.to_string())].encode(encoder),
            None => Ok(()),
        }
    }
}

/// The served users whose labels an earlier user of their report has, by their place
/// among the served users, with their number among those alike (2, 3, …).
fn duplicates(snapshot: &Snapshot, served: usize) -> HashMap<usize, u32> {
    let mut duplicates = HashMap::new();
    let mut seen: HashMap<(Cow<str>, Cow<str>), u32> = HashMap::new();
    let mut report = None;
    for (index, (name, user)) in users(snapshot, served).enumerate() {
        if report != Some(name) {
            seen.clear();
            report = Some(name);
        }
        let alike = (printable(user.account_id), printable(user.username));
        let count = seen.entry(alike).or_insert(0);
        *count += 1;
        if *count > 1 {
            duplicates.insert(index, *count);
        }
    }
    duplicates
}

/// The served users with their labels.
fn labelled<'s>(
    snapshot: &'s Snapshot,
    served: &'s Served,
) -> impl Iterator<Item = (UserLabels<'s>, User<'s>)> {
    (users(snapshot, served.users).enumerate()).map(|(index, (report, user))| {
        let labels = UserLabels {
            labels: [
                ("report", Cow::Borrowed(report)),
                ("account_id", printable(user.account_id)),
                ("username", printable(user.username)),
            ],
            duplicate: served.duplicates.get(&index).copied(),
        };
        (labels, user)
    })
}

const USER_FLAGS: [Family<UserFlag>; 6] = [
    (
        "credential_report_user_password_enabled",
        "1 if the user has a console password, 0 if not; absent where not supported.",
        |u| u.facts.password_enabled,
    ),
    (
        "credential_report_user_console_login_enabled",
        "1 if the user may log in to the console, 0 if not; absent where not supported.",
        |u| u.facts.console_login,
    ),
    (
        "credential_report_user_login_protection_enabled",
        "1 if login protection is on (the report's LoginProtectionActive), 0 if not; absent where not supported.",
        |u| u.facts.login_protection,
    ),
    (
        "credential_report_user_operation_protection_enabled",
        "1 if operation protection is on (the report's OperationProtectionActive), 0 if not; absent where not supported.",
        |u| u.facts.operation_protection,
    ),
    (
        "credential_report_user_mfa_enabled",
        "1 if the user has an MFA device, 0 if not; absent where not supported.",
        |u| u.facts.mfa,
    ),
    (
        "credential_report_user_abnormal_logins",
        "1 if suspicious logins were seen in the last 30 days, 0 if not.",
        |u| u.facts.abnormal_logins,
    ),
];

const USER_TIMES: [Family<UserTime>; 3] = [
    (
        "credential_report_user_created_timestamp",
        "When the user was created, in seconds since the Unix epoch.",
        |u| u.facts.created,
    ),
    (
        "credential_report_user_password_last_rotated_timestamp",
        "When the user's console password was last changed, in seconds since the Unix epoch.",
        |u| u.facts.password_last_rotated,
    ),
    (
        "credential_report_user_password_last_used_timestamp",
        "When the user last signed in to the console with the password, in seconds since the Unix epoch; absent if never or not reported.",
        |u| u.facts.password_last_used,
    ),
];

fn encode_users(
    encoder: &mut DescriptorEncoder,
    snapshot: &Snapshot,
    served: &Served,
) -> fmt::Result {
    gauges(
        encoder,
        "credential_report_user_info",
        "A metric with a constant 1 for each user in the report, labelled by its type.",
        None,
        labelled(snapshot, served)
            .map(|(labels, user)| ((labels, [("user_type", user.facts.user_type.label())]), 1)),
    )?;
    for (name, help, flag) in USER_FLAGS {
        let samples = labelled(snapshot, served).filter_map(|(labels, user)| {
            let value = i64::from(flag(&user).as_bool()?);
            Some((labels, value))
        });
        gauges(encoder, name, help, None, samples)?;
    }
    for (name, help, time) in USER_TIMES {
        let samples = labelled(snapshot, served)
            .filter_map(|(labels, user)| Some((labels, time(&user).seconds()?)));
        gauges(encoder, name, help, Some(&Unit::Seconds), samples)?;
    }
    Ok(())
}

fn keys<'s>(
    snapshot: &'s Snapshot,
    served: &'s Served,
) -> impl Iterator<Item = (UserLabels<'s>, AccessKey<'s>)> {
    labelled(snapshot, served).flat_map(|(labels, user)| {
        (user.key_slots.into_iter().flatten()).map(move |key| (labels.clone(), key))
    })
}

type KeyLabels<'a> = (UserLabels<'a>, Labels<'static, 1>);

fn key_labels<'a>(user: UserLabels<'a>, key: &AccessKey) -> KeyLabels<'a> {
    const SLOTS: [&str; MAX_KEY_SLOTS] = ["1", "2", "3", "4", "5"];
    (user, [("key", SLOTS[usize::from(key.facts.slot) - 1])])
}

/// Whether the report says where and for what the key was last used (AWS).
fn has_last_use_place(key: &AccessKey) -> bool {
    !key.last_used_region.is_empty() || !key.last_used_service.is_empty()
}

const KEY_FLAGS: [Family<KeyFlag>; 4] = [
    (
        "credential_report_access_key_active",
        "1 if the access key is active, 0 if it is disabled.",
        |k| k.facts.status.is_active(),
    ),
    (
        "credential_report_access_key_at_risk",
        "1 if the provider flags the access key as possibly leaked (MayBeAtRisk), 0 if not.",
        |k| k.facts.at_risk.as_bool(),
    ),
    (
        "credential_report_access_key_created_over_90d",
        "1 if the report flags the access key as created more than 90 days before it was generated, 0 if not: the report's own word; the counts and alerts use the creation time.",
        |k| k.facts.created_over_90_days.as_bool(),
    ),
    (
        "credential_report_access_key_created_over_30d",
        "1 if the report flags the access key as created more than 30 days before it was generated, 0 if not: the report's own word; the counts and alerts use the creation time.",
        |k| k.facts.created_over_30_days.as_bool(),
    ),
];

const KEY_TIMES: [Family<KeyTime>; 2] = [
    (
        "credential_report_access_key_created_timestamp",
        "When the access key was created, in seconds since the Unix epoch.",
        |k| k.facts.created,
    ),
    (
        "credential_report_access_key_last_used_timestamp",
        "When the access key was last used, in seconds since the Unix epoch; absent if never used.",
        |k| k.facts.last_used,
    ),
];

fn encode_keys(
    encoder: &mut DescriptorEncoder,
    snapshot: &Snapshot,
    served: &Served,
    show_secret_ids: bool,
) -> fmt::Result {
    gauges(
        encoder,
        "credential_report_access_key_info",
        "A metric with a constant 1 for each access key, labelled by its SecretId (masked unless --metrics.show-secret-ids) and status.",
        None,
        keys(snapshot, served).map(|(user, key)| {
            let secret_id = match show_secret_ids || key.id.is_empty() {
                true => printable(key.id),
                false => Cow::Owned(printable(&mask_key_id(key.id)).into_owned()),
            };
            let status = Cow::Borrowed(key.facts.status.label());
            let extra = [("secret_id", secret_id), ("status", status)];
            ((key_labels(user, &key), extra), 1)
        }),
    )?;
    let places = keys(snapshot, served)
        .filter(|(_, key)| has_last_use_place(key))
        .map(|(user, key)| {
            let extra = [
                ("region", printable(key.last_used_region)),
                ("service", printable(key.last_used_service)),
            ];
            ((key_labels(user, &key), extra), 1)
        });
    gauges(
        encoder,
        "credential_report_access_key_last_used_info",
        "A metric with a constant 1 for each access key the report says where it was last used, labelled by that region and service.",
        None,
        places,
    )?;
    for (name, help, flag) in KEY_FLAGS {
        let samples = keys(snapshot, served)
            .filter_map(|(user, key)| Some((key_labels(user, &key), i64::from(flag(&key)?))));
        gauges(encoder, name, help, None, samples)?;
    }
    for (name, help, time) in KEY_TIMES {
        let samples = keys(snapshot, served)
            .filter_map(|(user, key)| Some((key_labels(user, &key), time(&key).seconds()?)));
        gauges(encoder, name, help, Some(&Unit::Seconds), samples)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::generate::{self, Spec};
    use crate::report::{Provider, ReadOptions};
    use crate::snapshot::ReportData;

    fn snapshot() -> Arc<Snapshot> {
        let spec = Spec {
            users: 300,
            files: 3,
            seed: 5,
        };
        let options = ReadOptions {
            timezone: jiff::tz::TimeZone::get("Asia/Shanghai").unwrap(),
            provider: None,
        };
        // One report of each provider, so every per-user family is counted.
        let reports: BTreeMap<String, Arc<ReportState>> = (0..spec.files)
            .map(|index| {
                let bytes = Provider::ALL[index].generated_report(&spec, index);
                let path = generate::file_name(index).into();
                let (data, _) =
                    ReportData::build(path, &bytes, &options, generate::GENERATED, true).unwrap();
                let state = ReportState {
                    data: Some(Arc::new(data)),
                    up: true,
                    ..ReportState::default()
                };
                (format!("account-{index}"), Arc::new(state))
            })
            .collect();
        Arc::new(Snapshot {
            reports,
            scanned: true,
            ..Snapshot::default()
        })
    }

    fn render(limit: u64) -> String {
        let options = ExpositionOptions {
            per_user: true,
            show_secret_ids: false,
            max_per_user_series: limit,
            now: None,
        };
        let (exposition, snapshot) = (Exposition::new(options), snapshot());
        let mut body = String::new();
        (exposition.encode_snapshot(Arc::clone(&snapshot), Format::Classic, &mut body))
            .and_then(|()| exposition.encode_aging(snapshot, Format::Classic, &mut body))
            .unwrap();
        body
    }

    /// Sample lines of the per-user and per-key families (`credential_report_user_…` and
    /// `credential_report_access_key_…`; the aggregates are `users` and `access_keys`).
    fn per_user_samples(body: &str) -> usize {
        body.lines()
            .filter(|line| {
                line.starts_with("credential_report_user_")
                    || line.starts_with("credential_report_access_key_")
            })
            .count()
    }

    #[test]
    fn series_are_counted_as_they_are_written() {
        let body = render(0);
        let snapshot = snapshot();
        let counted: u64 = users(&snapshot, usize::MAX)
            .map(|(_, user)| series_of(&user))
            .sum();
        assert_eq!(per_user_samples(&body) as u64, counted);
        assert!(!body.contains("credential_report_per_user_series_dropped"));
    }

    #[test]
    fn the_limit_keeps_whole_users_and_reports_the_rest() {
        let total = per_user_samples(&render(0)) as u64;
        let limit = total / 3;
        let body = render(limit);
        let shown = per_user_samples(&body) as u64;
        assert!(shown <= limit && shown > limit - 30, "{shown} of {limit}");
        let dropped = format!(
            "credential_report_per_user_series_dropped {}",
            total - shown
        );
        assert!(body.lines().any(|line| line == dropped), "{dropped}");
        // The aggregates still count every user.
        assert_eq!(
            body.lines()
                .filter(|line| line.starts_with("credential_report_users{"))
                .map(|line| line.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
                .sum::<u64>(),
            300
        );
        let all_fit = render(total);
        assert!(all_fit
            .lines()
            .any(|line| line == "credential_report_per_user_series_dropped 0"));
    }
}
