//! The `fetch` subcommand's flags. Shared concepts keep the exporter's environment variables
//! (`CREDENTIAL_REPORT_DIR`, `CREDENTIAL_REPORT_LOG_*`); everything only the fetcher has is
//! `CREDENTIAL_REPORT_FETCH_*`, so one environment can hold both without the fetcher taking
//! the exporter's listen address.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

pub use crate::report::Provider;

use crate::config::{
    parse_duration, parse_listen_address, parse_optional_path, LogFormat, LogLevel,
};

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

    /// AWS: a role to assume for one account's report; repeat it (or separate with commas) for many accounts. Unset: the credentials' own account.
    #[arg(
        long = "aws.role-arn",
        env = "CREDENTIAL_REPORT_FETCH_AWS_ROLE_ARN",
        value_name = "ARN",
        value_delimiter = ',',
        action = clap::ArgAction::Append
    )]
    pub aws_role_arns: Vec<String>,

    /// AWS: the external id the roles' trust policies require, if any.
    #[arg(
        long = "aws.external-id",
        env = "CREDENTIAL_REPORT_FETCH_AWS_EXTERNAL_ID",
        value_name = "ID"
    )]
    pub aws_external_id: Option<String>,

    /// Alibaba Cloud: the IMS endpoint.
    #[arg(
        long = "alibaba.endpoint",
        env = "CREDENTIAL_REPORT_FETCH_ALIBABA_ENDPOINT",
        value_name = "URL",
        default_value = "https://ims.aliyuncs.com"
    )]
    pub alibaba_endpoint: String,

    /// Tencent Cloud: the site the account lives on, which picks the API domains: `china`
    /// (cam.tencentcloudapi.com) or `international` (cam.intl.tencentcloudapi.com, and STS's
    /// sts.intl.tencentcloudapi.com for TKE workload identity).
    #[arg(
        long = "tencent.site",
        env = "CREDENTIAL_REPORT_FETCH_TENCENT_SITE",
        value_name = "SITE",
        default_value = "china"
    )]
    pub tencent_site: super::tencent_cam::Site,

    /// Tencent Cloud: the CAM endpoint, overriding the one --tencent.site picks.
    #[arg(
        long = "tencent.endpoint",
        env = "CREDENTIAL_REPORT_FETCH_TENCENT_ENDPOINT",
        value_name = "URL"
    )]
    pub tencent_endpoint: Option<String>,

    /// Tencent Cloud: calls a second per CAM action. Tencent documents 20 for each action the
    /// fetcher uses; lower it when other tools call the same actions with this account.
    #[arg(
        long = "tencent.rate-limit",
        env = "CREDENTIAL_REPORT_FETCH_TENCENT_RATE_LIMIT",
        value_name = "N",
        default_value_t = 20,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub tencent_rate_limit: u32,

    /// Least severe log level written.
    #[arg(
        long = "log.level",
        env = "CREDENTIAL_REPORT_LOG_LEVEL",
        default_value = "info"
    )]
    pub log_level: LogLevel,

    /// Log line format.
    #[arg(
        long = "log.format",
        env = "CREDENTIAL_REPORT_LOG_FORMAT",
        default_value = "logfmt"
    )]
    pub log_format: LogFormat,
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
        let config =
            FetchConfig::try_parse_from(["x", "--provider", "aws-iam", "--report.dir", "d"])
                .unwrap();
        assert_eq!(config.provider, Provider::AwsIam);
        assert_eq!(config.fetch_interval, Duration::from_secs(4 * 3600));
        assert!(!config.once);
        assert!(config.web_listen_address.is_none());
        assert!(config.aws_role_arns.is_empty());
    }

    #[test]
    fn role_arns_repeat_and_split_on_commas() {
        let config = FetchConfig::try_parse_from([
            "x",
            "--provider=aws-iam",
            "--report.dir=d",
            "--aws.role-arn=arn:aws:iam::111111111111:role/a",
            "--aws.role-arn=arn:aws:iam::222222222222:role/b,arn:aws:iam::333333333333:role/c",
        ])
        .unwrap();
        assert_eq!(config.aws_role_arns.len(), 3);
    }

    #[test]
    fn report_names_cannot_escape_the_folder() {
        assert!(parse_report_name("acme-prod").is_ok());
        assert!(parse_report_name("../etc/passwd").is_err());
        assert!(parse_report_name(".hidden").is_err());
        assert!(parse_report_name("").is_err());
        let error = FetchConfig::try_parse_from([
            "x",
            "--provider=aws-iam",
            "--report.dir=d",
            "--report.name=a/b",
        ])
        .unwrap_err();
        assert!(error.to_string().contains("a/b"), "{error}");
    }
}
