//! The `fetch` subcommand's flags. Shared concepts keep the exporter's environment variables
//! (`CREDENTIAL_REPORT_DIR`, `CREDENTIAL_REPORT_LOG_*`); everything only the fetcher has is
//! `CREDENTIAL_REPORT_FETCH_*`, so one environment can hold both without the fetcher taking
//! the exporter's listen address.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

pub use crate::report::Provider;

use crate::config::{parse_duration, parse_listen_address, parse_optional_path, LogFlags};

#[derive(Debug, Parser)]
#[command(
    name = "credential-report-exporter fetch",
    version,
    about = "Fetches credential reports from a cloud's API into the folder the exporter reads.",
    args_override_self = true
)]
pub struct FetchConfig {
    /// Whose reports to fetch.
    #[arg(
        long,
        env = "CREDENTIAL_REPORT_FETCH_PROVIDER",
        value_name = "PROVIDER"
    )]
    pub provider: Provider,

    /// Folder to write reports into (the exporter's --report.dir). Created if missing.
    #[arg(long = "report.dir", env = "CREDENTIAL_REPORT_DIR", value_name = "DIR")]
    pub report_dir: PathBuf,

    /// File name (without .csv) of the report. Default: the account id, where the report gives it.
    #[arg(
        long = "report.name",
        env = "CREDENTIAL_REPORT_FETCH_REPORT_NAME",
        value_name = "NAME",
        value_parser = parse_report_name
    )]
    pub report_name: Option<String>,

    /// Fetch once and exit: 0 when every report was written, 1 with the reason otherwise.
    #[arg(long, env = "CREDENTIAL_REPORT_FETCH_ONCE")]
    pub once: bool,

    /// Time between fetches (the clouds regenerate reports at most every 4 hours).
    #[arg(long = "fetch.interval", env = "CREDENTIAL_REPORT_FETCH_INTERVAL", value_name = "DURATION", default_value = "4h", value_parser = parse_duration)]
    pub fetch_interval: Duration,

    /// Attempts per report and interval before the fetch counts as failed. Access denied is not retried.
    #[arg(
        long = "fetch.attempts",
        env = "CREDENTIAL_REPORT_FETCH_ATTEMPTS",
        value_name = "N",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub fetch_attempts: u32,

    /// Wait before the first retry; it doubles with each further retry, up to a tenth of --fetch.interval.
    #[arg(long = "fetch.retry-backoff", env = "CREDENTIAL_REPORT_FETCH_RETRY_BACKOFF", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub fetch_retry_backoff: Duration,

    /// Time one attempt may take, waiting for the provider to generate the report included.
    #[arg(long = "fetch.timeout", env = "CREDENTIAL_REPORT_FETCH_TIMEOUT", value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub fetch_timeout: Duration,

    /// Wait between asking whether the provider has finished generating a report.
    #[arg(long = "fetch.poll-interval", env = "CREDENTIAL_REPORT_FETCH_POLL_INTERVAL", value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub fetch_poll_interval: Duration,

    /// Serve the fetcher's /metrics and probes here (e.g. `:9878`). Unset: no HTTP server.
    #[arg(
        long = "web.listen-address",
        env = "CREDENTIAL_REPORT_FETCH_WEB_LISTEN_ADDRESS",
        value_name = "HOST:PORT",
        value_parser = parse_listen_address
    )]
    pub web_listen_address: Option<String>,

    /// The Prometheus exporter-toolkit web configuration file (TLS, basic auth), as for the exporter.
    #[arg(long = "web.config.file", env = "CREDENTIAL_REPORT_FETCH_WEB_CONFIG_FILE", value_name = "FILE", value_parser = parse_optional_path)]
    pub web_config_file: Option<PathBuf>,

    /// `--organization` and its companions, and `--fetch.concurrency`.
    #[command(flatten)]
    pub organization: super::organization::Flags,

    /// Each provider's own flags (`--aws.*`, `--alibaba.*`, `--tencent.*`).
    #[command(flatten)]
    pub providers: super::ProviderFlags,

    #[command(flatten)]
    pub log: LogFlags,
}

/// A report name becomes a file name: no folders, nothing hidden, nothing empty.
pub fn parse_report_name(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && name.len() <= 200;
    match valid {
        true => Ok(name.to_owned()),
        false => Err(format!(
            "{name:?} is not a usable report name: it becomes NAME.csv, so no '/', no leading '.', not empty"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_suit_unattended_use() {
        let provider = Provider::default();
        let config =
            FetchConfig::try_parse_from(["x", "--provider", provider.name(), "--report.dir", "d"])
                .unwrap();
        assert_eq!(config.provider, provider);
        assert_eq!(config.fetch_interval, Duration::from_secs(4 * 3600));
        assert!(!config.once);
        assert!(config.web_listen_address.is_none());
    }

    #[test]
    fn report_names_cannot_escape_the_folder() {
        assert!(parse_report_name("acme-prod").is_ok());
        assert!(parse_report_name("../etc/passwd").is_err());
        assert!(parse_report_name(".hidden").is_err());
        assert!(parse_report_name("").is_err());
        let provider = format!("--provider={}", Provider::default());
        let error =
            FetchConfig::try_parse_from(["x", &provider, "--report.dir=d", "--report.name=a/b"])
                .unwrap_err();
        assert!(error.to_string().contains("a/b"), "{error}");
    }
}
