//! The command-line and environment surface, shaped like every other Prometheus exporter's:
//! `--web.*`, `--log.*`, plus `--report.*`, `--watch.*` and `--metrics.*`.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgAction, Args, Parser, ValueEnum};
use jiff::tz::TimeZone;
use regex::Regex;

use crate::reload::{FileGlob, Selection};
use crate::report::{Provider, ReadOptions};

/// Serves cloud credential reports (Tencent Cloud CAM, AWS IAM, Alibaba Cloud RAM) as Prometheus metrics.
#[derive(Debug, Parser)]
#[command(
    name = "credential-report-exporter",
    version = crate::build_info::LONG_VERSION,
    // A flag given twice takes its last value, as wrappers that append flags expect.
    args_override_self = true
)]
pub struct Config {
    /// Folder of credential reports to watch. It may not exist yet: it is waited for.
    #[arg(long = "report.dir", env = "CREDENTIAL_REPORT_DIR", value_name = "DIR")]
    pub report_dir: PathBuf,

    #[command(flatten)]
    pub report: ReportFlags,

    /// At most this many report files are read, the first by name; the rest are counted in credential_report_files_skipped and named in the log once. Bounds what a folder of many files costs a scrape; split larger folders across replicas with --report.glob.
    #[arg(
        long = "report.max-files",
        env = "CREDENTIAL_REPORT_MAX_FILES",
        value_name = "N",
        default_value_t = 10_000
    )]
    pub report_max_files: usize,

    /// Quiet time after a file event before the folder is rescanned, so a burst of writes is read once.
    #[arg(long = "watch.debounce", env = "CREDENTIAL_REPORT_WATCH_DEBOUNCE", value_name = "DURATION", default_value = "250ms", value_parser = parse_duration)]
    pub watch_debounce: Duration,

    /// Also rescan on this interval (e.g. 30s), for file systems that send no events (NFS, some CSI volumes). 0 turns it off.
    #[arg(long = "watch.poll-interval", env = "CREDENTIAL_REPORT_WATCH_POLL_INTERVAL", value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub watch_poll_interval: Duration,

    /// Serve per-user and per-key series. Turn off for very large organisations to keep only the aggregates.
    #[arg(long = "metrics.per-user", env = "CREDENTIAL_REPORT_METRICS_PER_USER", value_name = "BOOL", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub metrics_per_user: bool,

    /// Show whole SecretIds in labels instead of their prefix and last four characters.
    #[arg(long = "metrics.show-secret-ids", env = "CREDENTIAL_REPORT_METRICS_SHOW_SECRET_IDS", value_name = "BOOL", default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub metrics_show_secret_ids: bool,

    /// At most this many per-user and per-key series in a scrape; 0 for no limit. Whole users are kept, in report order; the rest are counted in credential_report_per_user_series_dropped. Set it below your Prometheus sample_limit.
    #[arg(
        long = "metrics.max-per-user-series",
        env = "CREDENTIAL_REPORT_METRICS_MAX_PER_USER_SERIES",
        value_name = "SERIES",
        default_value_t = 0
    )]
    pub metrics_max_per_user_series: u64,

    /// The time the counts that change with it (keys over 90 days, passwords unused for 45) count up to, as RFC 3339 (2026-11-24T00:00:00Z), like `check --now`. Default: the clock at each scrape. Set it only for reproducible output (tests, demos).
    #[arg(long = "now", env = "CREDENTIAL_REPORT_NOW", value_name = "TIME", value_parser = parse_now)]
    pub now: Option<jiff::Timestamp>,

    /// Address to listen on, as host:port; `:9877` means every interface.
    #[arg(long = "web.listen-address", env = "CREDENTIAL_REPORT_WEB_LISTEN_ADDRESS", value_name = "HOST:PORT", default_value = ":9877", value_parser = parse_listen_address)]
    pub web_listen_address: String,

    /// Path under which metrics are served.
    #[arg(long = "web.telemetry-path", env = "CREDENTIAL_REPORT_WEB_TELEMETRY_PATH", value_name = "PATH", default_value = "/metrics", value_parser = parse_path)]
    pub web_telemetry_path: String,

    /// The Prometheus exporter-toolkit web configuration file (TLS, basic auth, headers); see docs/web-config.md. Unset: plain HTTP, no auth.
    #[arg(long = "web.config.file", env = "CREDENTIAL_REPORT_WEB_CONFIG_FILE", value_name = "FILE", value_parser = parse_optional_path)]
    pub web_config_file: Option<PathBuf>,

    /// Requests served at once; more get 503 at once. The probes are not counted. 0: no bound.
    #[arg(
        long = "web.max-requests",
        env = "CREDENTIAL_REPORT_WEB_MAX_REQUESTS",
        value_name = "N",
        default_value_t = 40
    )]
    pub web_max_requests: usize,

    /// Time a client has to send a request's headers (and the TLS handshake), and to keep an idle connection. Lower it to shed slow clients sooner. 0: no limit.
    #[arg(long = "web.read-header-timeout", env = "CREDENTIAL_REPORT_WEB_READ_HEADER_TIMEOUT", value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub web_read_header_timeout: Duration,

    /// Time a client may accept no byte of an answer before it is dropped and its request slot freed. Keep it above your longest scrape_timeout (Prometheus's default is 10s); a scraper that reads never meets it. 0: no limit.
    #[arg(long = "web.write-timeout", env = "CREDENTIAL_REPORT_WEB_WRITE_TIMEOUT", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub web_write_timeout: Duration,

    #[command(flatten)]
    pub log: LogFlags,
}

/// `--log.*`, the same for the exporter and `fetch`.
#[derive(Debug, Args)]
pub struct LogFlags {
    /// Least severe log level written.
    #[arg(
        id = "log.level",
        long = "log.level",
        env = "CREDENTIAL_REPORT_LOG_LEVEL",
        value_name = "LOG_LEVEL",
        default_value = "info"
    )]
    pub level: LogLevel,

    /// Log line format.
    #[arg(
        id = "log.format",
        long = "log.format",
        env = "CREDENTIAL_REPORT_LOG_FORMAT",
        value_name = "LOG_FORMAT",
        default_value = "logfmt"
    )]
    pub format: LogFormat,
}

/// How reports are chosen in a folder and read: the `--report.*` flags serving and `check`
/// share, with the same environment variables.
#[derive(Debug, Args)]
pub struct ReportFlags {
    /// Which files in a report folder are reports: `*`, `?` (one character), `[abc]`, `{a,b}`. Split a large folder across replicas with it.
    #[arg(long = "report.glob", env = "CREDENTIAL_REPORT_GLOB", value_name = "GLOB", default_value = "*.csv", value_parser = parse_glob)]
    pub glob: FileGlob,

    /// Regex over the file name whose `report` group (or first group) names the report, for dated
    /// downloads side by side. Files sharing a name: the newest wins. Default: the file stem.
    #[arg(
        long = "report.name-pattern",
        env = "CREDENTIAL_REPORT_NAME_PATTERN",
        value_name = "REGEX"
    )]
    pub name_pattern: Option<Regex>,

    /// Time zone of the dates in Tencent CAM reports (its console writes local times; AWS and Alibaba reports carry their zone).
    #[arg(long = "report.timezone", env = "CREDENTIAL_REPORT_TIMEZONE", value_name = "TZ", default_value = "Asia/Shanghai", value_parser = parse_timezone)]
    pub timezone: TimeZone,

    /// Whose reports the folder holds: `auto` tells each file's provider by its header
    /// (tencent-cam, aws-iam or alibaba-ram); name one to refuse any other kind of file.
    #[arg(
        long = "report.provider",
        env = "CREDENTIAL_REPORT_PROVIDER",
        value_name = "PROVIDER",
        default_value = "auto",
        value_parser = ProviderChoice::parser()
    )]
    pub provider: ProviderChoice,

    /// Larger files are refused before they are read (a report of 100,000 users is about 21 MB); memory grows with the users a file lets in (docs/scaling.md). In bytes, or with a unit: 512KiB, 32MiB, 1GiB (KB, MB, GB count in thousands).
    #[arg(long = "report.max-bytes", env = "CREDENTIAL_REPORT_MAX_BYTES", value_name = "BYTES", default_value = "32MiB", value_parser = parse_bytes)]
    pub max_bytes: u64,
}

impl ReportFlags {
    pub fn selection(&self) -> Selection {
        Selection {
            glob: self.glob.clone(),
            name_pattern: self.name_pattern.clone(),
        }
    }

    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            timezone: self.timezone.clone(),
            provider: self.provider.0,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_filter(self) -> tracing::level_filters::LevelFilter {
        use tracing::level_filters::LevelFilter;
        match self {
            LogLevel::Debug => LevelFilter::DEBUG,
            LogLevel::Info => LevelFilter::INFO,
            LogLevel::Warn => LevelFilter::WARN,
            LogLevel::Error => LevelFilter::ERROR,
        }
    }
}

/// `--report.provider`: one provider, or `auto` (`None`) to tell each file's by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderChoice(pub Option<Provider>);

impl ProviderChoice {
    const AUTO: &'static str = "auto";

    /// `auto` or a provider's name, listed in `--help` and in errors as clap lists an enum's.
    fn parser() -> impl TypedValueParser<Value = ProviderChoice> {
        let names = std::iter::once(Self::AUTO).chain(Provider::ALL.map(Provider::name));
        PossibleValuesParser::new(names)
            .map(|name| ProviderChoice(Provider::ALL.into_iter().find(|p| p.name() == name)))
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Logfmt,
    Json,
}

pub(crate) fn parse_timezone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|error| format!("unknown time zone {name:?}: {error}"))
}

/// Durations as operators write them: `250ms`, `30s`, `1m30s`, `1h`, also `1m 30s` and
/// ISO 8601 (`PT1M30S`), parsed by jiff; `0` alone is accepted for "off".
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    let expected = || format!("{text:?} is not a duration like 250ms, 30s, 1m30s or 1h");
    let duration: jiff::SignedDuration = text.trim().parse().map_err(|_| expected())?;
    Duration::try_from(duration).map_err(|_| expected())
}

/// Sizes as the docs write them: `268435456`, `256MiB`, `30 MB`; the binary units (KiB, MiB,
/// GiB) count in 1024s, the decimal ones (KB, MB, GB) in 1000s, as `ls -h --si` and
/// Kubernetes do.
pub(crate) fn parse_bytes(text: &str) -> Result<u64, String> {
    let expected = || format!("{text:?} is not a size like 268435456, 512KiB, 256MiB or 1GiB");
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().map_err(|_| expected())?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "mb" => 1000 * 1000,
        "gb" => 1000 * 1000 * 1000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return Err(expected()),
    };
    number.checked_mul(multiplier).ok_or_else(expected)
}

/// The `--now` of serving and of `check`: an RFC 3339 time the ages count up to.
pub(crate) fn parse_now(text: &str) -> Result<jiff::Timestamp, String> {
    text.parse().map_err(|error| {
        format!("{text:?} is not an RFC 3339 time like 2026-11-24T00:00:00Z: {error}")
    })
}

/// host:port, :port or [v6]:port. Only the form is checked here; whether the host
/// resolves and the port is free is found out by listening on it.
pub(crate) fn parse_listen_address(address: &str) -> Result<String, String> {
    let well_formed = address.rsplit_once(':').is_some_and(|(host, port)| {
        let bracketed = host.starts_with('[') && host.ends_with(']');
        port.parse::<u16>().is_ok() && (bracketed || !host.contains([':', '[', ']']))
    });
    match well_formed {
        true => Ok(address.to_owned()),
        false => Err(format!(
            "{address:?} is not host:port; for example :9877 (every interface), 127.0.0.1:9877 or [::1]:9877"
        )),
    }
}

pub(crate) fn parse_glob(pattern: &str) -> Result<FileGlob, String> {
    FileGlob::new(pattern)
}

/// `--web.config.file=` is more likely a broken template than a wish for plain HTTP.
pub(crate) fn parse_optional_path(path: &str) -> Result<PathBuf, String> {
    match path.is_empty() {
        true => Err("must not be empty; leave the flag out for plain HTTP".to_owned()),
        false => Ok(PathBuf::from(path)),
    }
}

fn parse_path(path: &str) -> Result<String, String> {
    match path.starts_with('/') && path.len() > 1 {
        true => Ok(path.to_owned()),
        false => Err(format!("{path:?} must start with / and not be / itself")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_the_units_the_docs_use() {
        assert_eq!(parse_bytes("268435456"), Ok(268_435_456));
        assert_eq!(parse_bytes("256MiB"), Ok(256 << 20));
        assert_eq!(parse_bytes("1KiB"), Ok(1024));
        assert_eq!(parse_bytes("30 MB"), Ok(30_000_000));
        assert_eq!(parse_bytes("2gib"), Ok(2 << 30));
        for wrong in ["", "MiB", "1.5MiB", "1 KiBs", "-1", "99999999999GiB"] {
            let error = parse_bytes(wrong).unwrap_err();
            assert!(error.contains("256MiB"), "{wrong:?}: {error}");
        }
    }

    #[test]
    fn durations_parse_in_exporter_style() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-5s").is_err(), "no negative durations");
    }

    #[test]
    fn per_user_can_be_turned_off_with_equals_false() {
        let config =
            Config::try_parse_from(["x", "--report.dir", "d", "--metrics.per-user=false"]).unwrap();
        assert!(!config.metrics_per_user);
        let config = Config::try_parse_from(["x", "--report.dir", "d"]).unwrap();
        assert!(config.metrics_per_user);
        assert!(!config.metrics_show_secret_ids);
        assert_eq!(
            config.metrics_max_per_user_series, 0,
            "no limit unless asked"
        );
    }

    #[test]
    fn listen_address_must_be_host_and_port() {
        for good in [
            ":9877",
            "127.0.0.1:9877",
            "localhost:9877",
            "[::1]:9877",
            "[::]:0",
        ] {
            assert_eq!(parse_listen_address(good).as_deref(), Ok(good));
        }
        for bad in [
            "localhost",
            "9877",
            "::1:9877",
            "host:port",
            "host:99999",
            "",
        ] {
            let error = parse_listen_address(bad).unwrap_err();
            assert!(error.contains("host:port"), "{bad}: {error}");
        }
    }

    #[test]
    fn unknown_time_zone_is_refused() {
        let error = Config::try_parse_from([
            "x",
            "--report.dir",
            "d",
            "--report.timezone",
            "Mars/Olympus",
        ])
        .unwrap_err();
        assert!(error.to_string().contains("Mars/Olympus"));
    }
}
