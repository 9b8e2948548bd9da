//! The one list of checks `check` runs: id, severity, CIS controls, threshold, and the alert
//! of deploy/prometheus/credential-report-exporter.rules.yml each mirrors; and how a user
//! (or a report) is judged against them, with the same comparisons as those alerts.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use clap::ValueEnum;

use crate::model::{key_id_ends, AccessKey, KeyStatus, Over, Time, User, UserType, DAY};
use crate::report::{Answers, Coverage, Provider};

/// As the alerts' `severity` label. Ordered, so `--fail-on` is a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// A length of time given as whole days (`90d`) or as any other duration (`24h`, `1h30m`).
/// Whole seconds, as the alerts' thresholds are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold(i64);

impl Threshold {
    pub const fn days(days: i64) -> Threshold {
        Threshold(days * DAY)
    }

    pub const fn hours(hours: i64) -> Threshold {
        Threshold(hours * 3600)
    }

    pub fn seconds(self) -> i64 {
        self.0
    }
}

/// Written back the way the defaults are given, so `--help` shows `90d`, not seconds.
impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.write(&mut text);
        f.write_str(&text)
    }
}

impl Threshold {
    fn write(self, out: &mut String) {
        let (n, unit) = match self.0 {
            s if s % DAY == 0 => (s / DAY, "d"),
            s if s % 3600 == 0 => (s / 3600, "h"),
            s => (s, "s"),
        };
        out.push_str(itoa::Buffer::new().format(n));
        out.push_str(unit);
    }
}

impl FromStr for Threshold {
    type Err = String;

    fn from_str(text: &str) -> Result<Threshold, String> {
        let seconds = match text.trim().strip_suffix('d').map(str::parse::<i64>) {
            Some(Ok(days)) if days >= 0 => days.checked_mul(DAY),
            _ => crate::config::parse_duration(text)
                .ok()
                .and_then(|d| i64::try_from(d.as_secs()).ok()),
        };
        seconds
            .map(Threshold)
            .ok_or_else(|| format!("{text:?} is not a length of time like 90d, 24h or 1h30m"))
    }
}

/// One check. Its `id` is stable: scripts, baselines and SARIF viewers key on it.
#[derive(Debug)]
pub struct Check {
    pub id: &'static str,
    pub severity: Severity,
    /// The alert of the bundled rules that fires for the same users, keys or reports.
    pub alert: &'static str,
    /// What a finding of this check means, in one line.
    pub title: &'static str,
    /// The flag that sets its threshold, and the default (the alert's number).
    pub threshold: Option<(&'static str, Threshold)>,
    /// Whether a report that can answer [`Coverage`] answers this check: some alerts read
    /// series the exporter serves only for some providers' reports.
    answered: Answers,
    /// Writes what a finding of this check says beyond its check and key, for people.
    words: fn(&Finding<'_>, &mut String),
}

const ALWAYS: Answers = Coverage::ALWAYS;
/// The alerts of the root checks read series the exporter serves only for reports that
/// have a root user's row (AWS IAM, Alibaba RAM).
const WITH_ROOT_ROW: Answers = |coverage| coverage.root_user;

impl Check {
    /// The control of `provider`'s CIS benchmark this check stands for, as the alert's
    /// `cis_control` label; each provider's reader lists its own.
    pub fn cis(&self, provider: Provider) -> Option<&'static str> {
        (provider.cis_controls().iter())
            .find(|(id, _)| *id == self.id)
            .map(|(_, control)| *control)
    }

    /// Every provider's control for this check, in the order of [`Provider::ALL`].
    pub fn cis_controls(&self) -> impl Iterator<Item = &'static str> + '_ {
        Provider::ALL
            .into_iter()
            .filter_map(|provider| self.cis(provider))
    }

    /// Whether a report that answers `checks` has findings of this check.
    pub fn answered_by(&self, coverage: &Coverage) -> bool {
        (self.answered)(coverage)
    }

    /// Where the check is in [`CHECKS`].
    pub fn position(&self) -> usize {
        (CHECKS.iter())
            .position(|check| std::ptr::eq(*check, self))
            .expect("every check is in CHECKS")
    }

    /// The default threshold, for the flags' defaults.
    pub const fn default_threshold(&self) -> Threshold {
        match self.threshold {
            Some((_, threshold)) => threshold,
            None => panic!("a check without a threshold"),
        }
    }
}

pub static CONSOLE_WITHOUT_MFA: Check = Check {
    id: "console_without_mfa",
    severity: Severity::Warning,
    alert: "CredentialReportConsoleUserWithoutMFA",
    title: "A user who may sign in to the console has no MFA device",
    threshold: None,
    answered: ALWAYS,
    words: |_, out| out.push_str("may sign in to the console without an MFA device"),
};
pub static KEY_AT_RISK: Check = Check {
    id: "key_at_risk",
    severity: Severity::Critical,
    alert: "CredentialReportAccessKeyAtRisk",
    title: "The provider flags an access key as possibly leaked",
    threshold: None,
    // Only Tencent flags keys (MayBeAtRisk).
    answered: |coverage| coverage.keys_at_risk,
    words: |finding, out| {
        finding.write_key(out);
        out.push_str(" is flagged as possibly leaked");
    },
};
pub static KEY_OVER_90_DAYS: Check = Check {
    id: "key_over_90_days",
    severity: Severity::Warning,
    alert: "CredentialReportAccessKeyOlderThan90Days",
    title: "An active access key is older than the threshold",
    threshold: Some(("check.key-max-age", Threshold::days(90))),
    answered: ALWAYS,
    words: |finding, out| {
        finding.write_key(out);
        match finding.fact {
            Fact::Age { .. } => {
                out.push_str(" was created or last rotated ");
                finding.write_age(out);
            }
            _ => out.push_str(
                " has no readable creation time; the report flags it as created more than 90 days ago",
            ),
        }
    },
};
pub static KEY_UNUSED_45_DAYS: Check = Check {
    id: "key_unused_45_days",
    severity: Severity::Warning,
    alert: "CredentialReportAccessKeyUnused",
    title:
        "An active access key was not used (or, never used, created) for the threshold or longer",
    threshold: Some(("check.key-max-unused", Threshold::days(45))),
    answered: ALWAYS,
    words: |finding, out| {
        finding.write_key(out);
        out.push_str(match finding.fell_back() {
            true => " never used, created ",
            false => " last used ",
        });
        finding.write_age(out);
    },
};
pub static TWO_ACTIVE_KEYS: Check = Check {
    id: "two_active_keys",
    severity: Severity::Info,
    alert: "CredentialReportUserWithTwoActiveKeys",
    title: "A user has two or more active access keys",
    threshold: None,
    answered: ALWAYS,
    words: |finding, out| {
        if let Fact::ActiveKeys(active) = finding.fact {
            out.push_str(itoa::Buffer::new().format(active));
        }
        out.push_str(" active access keys");
    },
};
pub static CONSOLE_USER_KEY_NEVER_USED: Check = Check {
    id: "console_user_key_never_used",
    severity: Severity::Warning,
    alert: "CredentialReportConsoleUserKeyNeverUsed",
    title: "A user with a console password has an active access key that was never used",
    threshold: None,
    answered: ALWAYS,
    words: |finding, out| {
        finding.write_key(out);
        out.push_str(" was never used, and the user has a console password");
    },
};
pub static SIGNING_CERTIFICATE_ACTIVE: Check = Check {
    id: "signing_certificate_active",
    severity: Severity::Info,
    alert: "CredentialReportSigningCertificateActive",
    title: "A user has an active X.509 signing certificate",
    threshold: None,
    // The alert reads a series the exporter serves only for reports that carry
    // certificates (AWS IAM).
    answered: |coverage| coverage.signing_certificates,
    words: |finding, out| {
        if let Fact::Certificate(slot) = finding.fact {
            out.push_str("active signing certificate ");
            out.push_str(itoa::Buffer::new().format(slot));
        }
    },
};
pub static ABNORMAL_LOGINS: Check = Check {
    id: "abnormal_logins",
    severity: Severity::Warning,
    alert: "CredentialReportSuspiciousLogins",
    title: "The provider saw suspicious logins of a user in the last 30 days",
    threshold: None,
    // Only Tencent counts suspicious logins.
    answered: |coverage| coverage.abnormal_logins,
    words: |_, out| out.push_str("suspicious logins in the last 30 days"),
};
pub static ROOT_ACCESS_KEY: Check = Check {
    id: "root_access_key",
    severity: Severity::Critical,
    alert: "CredentialReportRootAccessKeyPresent",
    title: "The root user has an access key (active or disabled)",
    threshold: None,
    answered: WITH_ROOT_ROW,
    words: |finding, out| {
        out.push_str("the root user has ");
        finding.write_key(out);
    },
};
pub static ROOT_WITHOUT_MFA: Check = Check {
    id: "root_without_mfa",
    severity: Severity::Critical,
    alert: "CredentialReportRootWithoutMFA",
    title: "The root user has a password, an active access key or an active signing certificate, and no MFA device",
    threshold: None,
    answered: WITH_ROOT_ROW,
    words: |_, out| out.push_str("the root user has no MFA device"),
};
pub static ROOT_USED_RECENTLY: Check = Check {
    id: "root_used_recently",
    severity: Severity::Warning,
    alert: "CredentialReportRootUsedRecently",
    title: "The root user signed in or used an access key within the threshold",
    threshold: Some(("check.root-used-within", Threshold::hours(24))),
    answered: WITH_ROOT_ROW,
    words: |finding, out| {
        out.push_str("the root user signed in or used an access key ");
        finding.write_age(out);
    },
};
pub static PASSWORD_UNUSED_45_DAYS: Check = Check {
    id: "password_unused_45_days",
    severity: Severity::Warning,
    alert: "CredentialReportConsolePasswordUnused",
    title: "A console password was not used (or, never used, set) for the threshold or longer",
    threshold: Some(("check.password-max-unused", Threshold::days(45))),
    // The alert reads a series the exporter serves only for reports that say when
    // passwords were used (AWS IAM, Alibaba RAM).
    answered: |coverage| coverage.password_last_used,
    words: |finding, out| {
        out.push_str(match finding.fell_back() {
            true => "console password never used, set ",
            false => "console password last used ",
        });
        finding.write_age(out);
    },
};
pub static STALE_REPORT: Check = Check {
    id: "stale_report",
    severity: Severity::Warning,
    alert: "CredentialReportStale",
    title: "The report file was not modified for longer than the threshold",
    threshold: Some(("check.report-max-age", Threshold::hours(24))),
    answered: ALWAYS,
    words: |finding, out| {
        out.push_str("the file was last modified ");
        finding.write_age(out);
    },
};

/// Every check, in the order findings about one user are listed. Checks are statics, not
/// consts, so that each is one place in memory: [`Check::position`] finds it by address.
pub static CHECKS: [&Check; 13] = [
    &STALE_REPORT,
    &KEY_AT_RISK,
    &ROOT_ACCESS_KEY,
    &ROOT_WITHOUT_MFA,
    &ROOT_USED_RECENTLY,
    &CONSOLE_WITHOUT_MFA,
    &ABNORMAL_LOGINS,
    &PASSWORD_UNUSED_45_DAYS,
    &KEY_OVER_90_DAYS,
    &KEY_UNUSED_45_DAYS,
    &CONSOLE_USER_KEY_NEVER_USED,
    &TWO_ACTIVE_KEYS,
    &SIGNING_CERTIFICATE_ACTIVE,
];

/// The thresholds in force (the flags'), in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub key_max_age: Threshold,
    pub key_max_unused: Threshold,
    pub password_max_unused: Threshold,
    pub root_used_within: Threshold,
    pub report_max_age: Threshold,
}

/// One thing a check found: about a user (`key` `None`), one of its keys, or (no `user`)
/// the report itself. Its text is written only on output ([`Finding::write_detail`]): a
/// folder of large reports has millions of findings.
#[derive(Debug, Clone)]
pub struct Finding<'a> {
    pub check: &'static Check,
    /// The line the user's row starts on.
    pub line: Option<u64>,
    /// Borrowed from the report while it is read; owned by the formats that keep findings.
    pub user: Option<Cow<'a, str>>,
    pub key: Option<FoundKey>,
    fact: Fact,
}

impl Finding<'_> {
    pub fn into_owned(self) -> Finding<'static> {
        Finding {
            user: self.user.map(|user| Cow::Owned(user.into_owned())),
            ..self
        }
    }
}

/// The key a finding is about.
#[derive(Debug, Clone, Copy)]
pub struct FoundKey {
    /// From 1, as the metrics' `key` label.
    pub slot: u8,
    status: KeyStatus,
    /// Masked as in the metrics; `None` where the report names no key id (AWS, Alibaba).
    masked_id: Option<MaskedId>,
}

impl FoundKey {
    fn of(key: &AccessKey<'_>) -> FoundKey {
        FoundKey {
            slot: key.facts.slot,
            status: key.facts.status,
            masked_id: (!key.id.is_empty()).then(|| MaskedId::of(key.id)),
        }
    }

    /// `active key 1 (AKID…1234)`: the status, the slot, the id masked as in the metrics.
    fn write(&self, out: &mut String) {
        out.push_str(self.status.label());
        out.push_str(" key ");
        out.push_str(itoa::Buffer::new().format(self.slot));
        if let Some(id) = &self.masked_id {
            out.push_str(" (");
            id.write(out);
            out.push(')');
        }
    }
}

/// A key id masked as [`mask_key_id`](crate::model::mask_key_id) masks it, kept in place: a run has hundreds of
/// thousands of key findings, and none allocates for its id.
#[derive(Debug, Clone, Copy)]
struct MaskedId {
    /// The shown ends, back to back; `head` bytes of it come before the `…`.
    ends: [u8; 32],
    head: u8,
    len: u8,
}

impl MaskedId {
    fn of(id: &str) -> MaskedId {
        let (head, tail) = key_id_ends(id);
        let mut ends = [0; 32];
        ends[..head.len()].copy_from_slice(head.as_bytes());
        ends[head.len()..head.len() + tail.len()].copy_from_slice(tail.as_bytes());
        MaskedId {
            ends,
            head: head.len() as u8,
            len: (head.len() + tail.len()) as u8,
        }
    }

    fn write(&self, out: &mut String) {
        let ends =
            std::str::from_utf8(&self.ends[..usize::from(self.len)]).expect("whole characters");
        let (head, tail) = ends.split_at(usize::from(self.head));
        out.push_str(head);
        out.push('…');
        out.push_str(tail);
    }
}

/// What a finding says beyond its check and key.
#[derive(Debug, Clone, Copy)]
enum Fact {
    Plain,
    /// How long ago, against which threshold; `fallback` where the time is the one the
    /// check falls back to (creation for a key never used, the last change for a password).
    Age {
        seconds: i64,
        threshold: Threshold,
        fallback: bool,
    },
    ActiveKeys(usize),
    /// The slot of a signing certificate, from 1.
    Certificate(usize),
}

impl Finding<'_> {
    pub fn slot(&self) -> Option<u8> {
        self.key.as_ref().map(|key| key.slot)
    }

    /// For people; key ids masked as in the metrics.
    pub fn detail(&self) -> String {
        let mut detail = String::new();
        self.write_detail(&mut detail);
        detail
    }
}

impl Finding<'_> {
    /// The detail, written into `out` (for `--format json`, the output itself: a run has
    /// millions of findings).
    pub fn write_detail(&self, out: &mut String) {
        (self.check.words)(self, out)
    }

    /// `active key 1 (AKID…1234)`.
    fn write_key(&self, out: &mut String) {
        self.key
            .as_ref()
            .expect("a key's finding names its key")
            .write(out)
    }

    /// `968 days ago (threshold 90d)`.
    fn write_age(&self, out: &mut String) {
        let Fact::Age {
            seconds, threshold, ..
        } = self.fact
        else {
            unreachable!("{} finds no age", self.check.id)
        };
        Ago(seconds).write(out);
        out.push_str(" ago (threshold ");
        threshold.write(out);
        out.push(')');
    }

    /// Whether the age is of the time the check falls back to (creation for a key never
    /// used, the last change for a password never used).
    fn fell_back(&self) -> bool {
        matches!(self.fact, Fact::Age { fallback: true, .. })
    }
}

/// What a user is judged against: the time ages count up to, and the thresholds.
#[derive(Debug, Clone, Copy)]
pub struct Judge {
    /// "Now", in seconds since the epoch: the alerts' `time()`.
    pub now: i64,
    pub thresholds: Thresholds,
}

impl Judge {
    /// The report's own finding: its file's age, as CredentialReportStale (`>`).
    pub fn report(&self, modified: Option<Time>) -> Option<Finding<'static>> {
        let age = modified?.age(self.now)?;
        let threshold = self.thresholds.report_max_age;
        Over::MoreThan
            .holds(age, threshold.seconds())
            .then_some(Finding {
                check: &STALE_REPORT,
                line: None,
                user: None,
                key: None,
                fact: Fact::Age {
                    seconds: age,
                    threshold,
                    fallback: false,
                },
            })
    }

    /// Every finding about `user`, whose row starts on `line`, in the order of [`CHECKS`],
    /// to `found`; only those of the checks a report that answers `checks` answers.
    pub fn user<'a>(
        &self,
        user: &User<'a>,
        line: u64,
        coverage: &Coverage,
        mut found: impl FnMut(&Finding<'a>),
    ) {
        let mut add = |check: &'static Check, key: Option<&AccessKey>, fact: Fact| {
            if check.answered_by(coverage) {
                found(&Finding {
                    check,
                    line: Some(line),
                    user: Some(Cow::Borrowed(user.username)),
                    key: key.map(FoundKey::of),
                    fact,
                })
            }
        };
        // An age `over` its threshold, as a finding's fact.
        let older = |time: Time, threshold: Threshold, over: Over, fallback: bool| {
            let seconds = time.age(self.now)?;
            over.holds(seconds, threshold.seconds())
                .then_some(Fact::Age {
                    seconds,
                    threshold,
                    fallback,
                })
        };
        let facts = &user.facts;
        let is_root = facts.user_type == UserType::Root;
        let t = &self.thresholds;

        for key in user.keys().filter(|key| key.is_at_risk()) {
            add(&KEY_AT_RISK, Some(key), Fact::Plain);
        }
        if is_root {
            for key in user.keys() {
                add(&ROOT_ACCESS_KEY, Some(key), Fact::Plain);
            }
            // Only a root user that has something to sign in or call with needs MFA: an
            // AWS Organizations member account's has nothing by default.
            if facts.mfa.is_false() && user.root_has_credentials() {
                add(&ROOT_WITHOUT_MFA, None, Fact::Plain);
            }
            // `<`: the alert fires for a day after each use.
            if let Some(seconds) = user.last_used().age(self.now) {
                if !Over::OrMore.holds(seconds, t.root_used_within.seconds()) {
                    let fact = Fact::Age {
                        seconds,
                        threshold: t.root_used_within,
                        fallback: false,
                    };
                    add(&ROOT_USED_RECENTLY, None, fact);
                }
            }
        }
        if !is_root && user.has_console_without_mfa() {
            add(&CONSOLE_WITHOUT_MFA, None, Fact::Plain);
        }
        if facts.abnormal_logins.is_true() {
            add(&ABNORMAL_LOGINS, None, Fact::Plain);
        }
        // As the alert: last use, or the last change where never used (the metrics carry
        // no other fallback), 45 days or more (`>=`).
        if !is_root && facts.password_enabled.is_true() {
            let (since, fallback) = match facts.password_last_used {
                Time::NONE => (facts.password_last_rotated, true),
                used => (used, false),
            };
            if let Some(fact) = older(since, t.password_max_unused, Over::OrMore, fallback) {
                add(&PASSWORD_UNUSED_45_DAYS, None, fact);
            }
        }
        for key in user.keys().filter(|key| key.is_active()) {
            // `>`, as the alert: a key exactly 90 days old is not over 90 days. A key with
            // no creation time counts by the report's own flag, as the gauge counts it,
            // where that flag answers the question asked (90 days).
            match key.facts.created {
                Time::NONE => {
                    let flagged = key.facts.created_over_90_days.is_true();
                    if flagged && t.key_max_age == Threshold::days(90) {
                        add(&KEY_OVER_90_DAYS, Some(key), Fact::Plain);
                    }
                }
                created => {
                    if let Some(fact) = older(created, t.key_max_age, Over::MoreThan, false) {
                        add(&KEY_OVER_90_DAYS, Some(key), fact);
                    }
                }
            }
        }
        for key in user.keys().filter(|key| key.is_active()) {
            // `>=`, as the alert and CIS ("45 days or more"); never used counts from creation.
            let (since, fallback) = match key.facts.last_used {
                Time::NONE => (key.facts.created, true),
                used => (used, false),
            };
            if let Some(fact) = older(since, t.key_max_unused, Over::OrMore, fallback) {
                add(&KEY_UNUSED_45_DAYS, Some(key), fact);
            }
        }
        // CIS AWS 1.11: a key nothing has used, of a user who signs in with a password, is
        // most likely one made with the user "just in case". The root user has its own.
        if !is_root && facts.password_enabled.is_true() {
            for key in user
                .keys()
                .filter(|key| key.is_active() && key.is_never_used())
            {
                add(&CONSOLE_USER_KEY_NEVER_USED, Some(key), Fact::Plain);
            }
        }
        let active = user.active_keys();
        if active >= 2 {
            add(&TWO_ACTIVE_KEYS, None, Fact::ActiveKeys(active));
        }
        for (slot, status) in facts.signing_certificates.iter().enumerate() {
            if *status == Some(KeyStatus::Active) {
                add(
                    &SIGNING_CERTIFICATE_ACTIVE,
                    None,
                    Fact::Certificate(slot + 1),
                );
            }
        }
    }
}

/// An age for people: days when it is two or more, else hours, else minutes.
#[derive(Clone, Copy)]
struct Ago(i64);

impl Ago {
    fn write(self, out: &mut String) {
        let (n, unit) = match self.0 {
            s if s >= 2 * DAY => (s / DAY, " days"),
            s if s >= 2 * 3600 => (s / 3600, " hours"),
            s if s >= 0 => (s / 60, " minutes"),
            // A date after "now": a clock or a report from the future.
            s => (-s / 60, " minutes in the future"),
        };
        out.push_str(itoa::Buffer::new().format(n));
        out.push_str(unit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::mask_key_id;

    #[test]
    fn ids_are_unique_and_snake_case() {
        let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CHECKS.len());
        assert!(ids.iter().all(|id| id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')));
    }

    /// The controls are listed in each provider's reader by check id: a renamed check
    /// would otherwise lose its control without a word.
    #[test]
    fn every_cis_control_names_a_check() {
        for provider in Provider::ALL {
            for (id, control) in provider.cis_controls() {
                assert!(
                    CHECKS.iter().any(|check| check.id == *id),
                    "{provider}'s {control:?} names no check {id:?}"
                );
            }
        }
    }

    #[test]
    fn thresholds_read_days_and_durations() {
        assert_eq!("90d".parse(), Ok(Threshold::days(90)));
        assert_eq!("24h".parse(), Ok(Threshold::hours(24)));
        assert_eq!("1h30m".parse::<Threshold>().unwrap().seconds(), 5400);
        assert!("soon".parse::<Threshold>().is_err());
        assert!("-3d".parse::<Threshold>().is_err());
        assert_eq!(Threshold::days(45).to_string(), "45d");
        assert_eq!(Threshold::hours(24).to_string(), "1d");
    }

    #[test]
    fn ages_read_as_days_hours_or_minutes() {
        let words = |seconds| {
            let mut words = String::new();
            Ago(seconds).write(&mut words);
            words
        };
        assert_eq!(words(3 * DAY + 5), "3 days");
        assert_eq!(words(30 * 3600), "30 hours");
        assert_eq!(words(90), "1 minutes");
        assert_eq!(words(-7200), "120 minutes in the future");
    }

    #[test]
    fn masked_ids_are_kept_as_mask_key_id_shows_them() {
        for id in [
            "AKIDabcdefgh1234",
            "short",
            "12345678",
            "LTAI甲乙丙丁戊己庚",
            "𝔸𝔹ℂ𝔻𝔼𝔽𝔾ℍ𝕀",
        ] {
            let mut shown = String::new();
            MaskedId::of(id).write(&mut shown);
            assert_eq!(shown, mask_key_id(id), "{id}");
        }
        assert_eq!(Threshold(i64::MIN).to_string(), "-9223372036854775808s");
    }
}
