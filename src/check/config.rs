//! The `check` subcommand's flags. The `--report.*` flags mean what they mean for serving
//! and read the same environment variables; the rest are `CREDENTIAL_REPORT_CHECK_*`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use regex::Regex;

use super::checks::{
    Threshold, KEY_OVER_90_DAYS, KEY_UNUSED_45_DAYS, PASSWORD_UNUSED_45_DAYS, ROOT_USED_RECENTLY,
    STALE_REPORT,
};
use crate::config::{parse_glob, parse_timezone, ProviderChoice};
use crate::reload::FileGlob;

#[derive(Debug, Parser)]
#[command(
    name = "credential-report-exporter check",
    bin_name = "credential-report-exporter check",
    version = crate::build_info::LONG_VERSION,
    about = "Audits credential reports offline with the alerts' checks, for CI pipelines and cron.",
    long_about = "Audits credential reports offline with the alerts' checks, for CI pipelines and cron.\n\nExit status: 0 when no finding is at or above --fail-on, 1 when one is, 2 when a report could not be read (or a flag is wrong). Results on stdout, errors on stderr. See docs/check.md.",
    args_override_self = true
)]
pub struct CheckConfig {
    /// Report files, or folders of them (read like --report.dir: --report.glob, --report.name-pattern, the newest file per report name).
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

    /// Which files in a folder are reports, as for serving.
    #[arg(long = "report.glob", env = "CREDENTIAL_REPORT_GLOB", value_name = "GLOB", default_value = "*.csv", value_parser = parse_glob)]
    pub report_glob: FileGlob,

    /// Regex over the file name whose `report` group (or first group) names the report, as for serving. Default: the file stem.
    #[arg(
        long = "report.name-pattern",
        env = "CREDENTIAL_REPORT_NAME_PATTERN",
        value_name = "REGEX"
    )]
    pub report_name_pattern: Option<Regex>,

    /// Time zone of the dates in Tencent CAM reports, as for serving.
    #[arg(long = "report.timezone", env = "CREDENTIAL_REPORT_TIMEZONE", value_name = "TZ", default_value = "Asia/Shanghai", value_parser = parse_timezone)]
    pub report_timezone: TimeZone,

    /// `auto` tells each file's provider by its header; name one to refuse any other kind of file.
    #[arg(
        long = "report.provider",
        env = "CREDENTIAL_REPORT_PROVIDER",
        value_name = "PROVIDER",
        default_value = "auto"
    )]
    pub report_provider: ProviderChoice,

    /// Larger files are refused before they are read, as for serving.
    #[arg(long = "report.max-bytes", env = "CREDENTIAL_REPORT_MAX_BYTES", value_name = "BYTES", default_value_t = 256 * 1024 * 1024)]
    pub report_max_bytes: u64,
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

fn parse_now(text: &str) -> Result<Timestamp, String> {
    text.parse().map_err(|error| {
        format!("{text:?} is not an RFC 3339 time like 2026-11-24T00:00:00Z: {error}")
    })
}
