//! The `check` subcommand's flags. The `--report.*` flags mean what they mean for serving
//! and read the same environment variables; the rest are `CREDENTIAL_REPORT_CHECK_*`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use jiff::Timestamp;

use super::checks::{
    Threshold, KEY_OVER_90_DAYS, KEY_UNUSED_45_DAYS, PASSWORD_UNUSED_45_DAYS, ROOT_USED_RECENTLY,
    STALE_REPORT,
};
use crate::config::{parse_now, ReportFlags};

#[derive(Debug, Parser)]
#[command(
    name = "credential-report-exporter check",
    version = crate::build_info::LONG_VERSION,
    about = "Audits credential reports offline with the alerts' checks, for CI pipelines and cron.",
    long_about = "Audits credential reports offline with the alerts' checks, for CI pipelines and cron.\n\nExit status: 0 when no finding is at or above --fail-on, 1 when one is, 2 when a report could not be read (or a flag is wrong). Results on stdout, errors on stderr. See docs/check.md.",
    args_override_self = true
)]
pub struct CheckConfig {
    /// Report files, or folders of them (read like --report.dir: --report.glob, --report.name-pattern, the newest file per report name). The --report.* flags mean what they mean for serving.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    /// Output on stdout: `table` for people, `json` for scripts, `junit` for CI test tabs, `sarif` (2.1.0) for code-scanning views.
    #[arg(
        long,
        env = "CREDENTIAL_REPORT_CHECK_FORMAT",
        value_name = "FORMAT",
        default_value = "table"
    )]
    pub format: OutputFormat,

    /// Exit 1 when a finding is at or above this severity; `never` always exits 0 (or 2), for a cron mail.
    #[arg(
        long = "fail-on",
        env = "CREDENTIAL_REPORT_CHECK_FAIL_ON",
        value_name = "SEVERITY",
        default_value = "warning"
    )]
    pub fail_on: FailOn,

    /// The time ages count up to, as RFC 3339 (2026-11-24T00:00:00Z): the alerts' time(). Default: now. Set it for reproducible output.
    #[arg(long, env = "CREDENTIAL_REPORT_CHECK_NOW", value_name = "TIME", value_parser = parse_now)]
    pub now: Option<Timestamp>,

    /// key_over_90_days: an active key older than this (since creation or last rotation).
    #[arg(long = "check.key-max-age", env = "CREDENTIAL_REPORT_CHECK_KEY_MAX_AGE", value_name = "DURATION", default_value_t = KEY_OVER_90_DAYS.default_threshold())]
    pub key_max_age: Threshold,

    /// key_unused_45_days: an active key unused (never used: since creation) this long or longer.
    #[arg(long = "check.key-max-unused", env = "CREDENTIAL_REPORT_CHECK_KEY_MAX_UNUSED", value_name = "DURATION", default_value_t = KEY_UNUSED_45_DAYS.default_threshold())]
    pub key_max_unused: Threshold,

    /// password_unused_45_days: a console password unused (never used: since set) this long or longer. CIS Alibaba 1.5 alone asks for 90d.
    #[arg(long = "check.password-max-unused", env = "CREDENTIAL_REPORT_CHECK_PASSWORD_MAX_UNUSED", value_name = "DURATION", default_value_t = PASSWORD_UNUSED_45_DAYS.default_threshold())]
    pub password_max_unused: Threshold,

    /// root_used_recently: the root user signed in or used a key less than this long ago.
    #[arg(long = "check.root-used-within", env = "CREDENTIAL_REPORT_CHECK_ROOT_USED_WITHIN", value_name = "DURATION", default_value_t = ROOT_USED_RECENTLY.default_threshold())]
    pub root_used_within: Threshold,

    /// stale_report: the report file was not modified for longer than this (the rules' credential_report:stale_threshold_seconds).
    #[arg(long = "check.report-max-age", env = "CREDENTIAL_REPORT_CHECK_REPORT_MAX_AGE", value_name = "DURATION", default_value_t = STALE_REPORT.default_threshold())]
    pub report_max_age: Threshold,

    #[command(flatten)]
    pub report: ReportFlags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Junit,
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Warning,
    Critical,
    Never,
}
