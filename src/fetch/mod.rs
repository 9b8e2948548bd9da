//! `credential-report-exporter fetch`: gets credential reports from a cloud's API and
//! writes them into the folder the exporter reads.
//!
//! The seam every provider plugs into: a provider module implements [`Source`], whose `fetch`
//! returns one [`FetchedReport`] or a [`FetchError`] with its [`FailureReason`]. Shared by the
//! providers: [`credentials`] (static keys or a web identity, cached), `call` (one paced,
//! recorded, retried API call), [`api`] (HTTP client and endpoints), [`sign`], `budget` (one
//! large answer or report at a time, process-wide). Shared by the loop: [`config`] (flags), `validate` (the exporter's reader judges a report before it is
//! written), [`writer`] (atomic file), `run` (rounds, retries, the fetcher's /metrics).
//!
//! Adding a provider: a module implementing [`Source`] (a single-account provider keeps the
//! default `targets`), an arm in [`source`], and its flags in [`ProviderFlags`]. One attempt
//! is one call of `fetch`: it waits for the report to be generated itself, and leaves
//! retries and backoff across attempts to the loop (return the reason; access denied is not
//! retried).

mod alibaba_ram;
mod api;
mod aws;
mod budget;
mod call;
mod config;
mod credentials;
mod metrics;
mod organization;
mod run;
pub mod sign;
mod tencent_cam;
mod validate;
mod writer;

use std::time::Duration;

use futures_util::future::BoxFuture;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

pub use config::{FetchConfig, Provider};
pub use run::run;

/// One report as the provider produced it.
#[derive(Debug, Clone)]
pub struct FetchedReport {
    /// Default file name (without .csv) when --report.name is not given: the account id, or
    /// why it is not known (so that a failure to learn it is reported as what it was).
    pub account_id: Result<String, FetchError>,
    /// The CSV exactly as the provider produced it (or, for Tencent, as we rebuilt it).
    pub content: Vec<u8>,
    /// The report's generation time; becomes the file's mtime.
    pub generated: jiff::Timestamp,
    /// How many users the API listed, where the fetcher lists them (Tencent): the report must
    /// hold at least as many.
    pub users_listed: Option<u64>,
}

/// Why a fetch failed; the `reason` label of the fetcher's metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureReason {
    /// Rate limits, and "no capacity to generate a report now" (AWS LimitExceeded).
    Throttled,
    /// The credentials are missing, wrong, expired, or lack the permission.
    AccessDenied,
    /// No answer: DNS, connection, TLS, timeouts.
    Network,
    /// The provider answered with a server-side error (5xx, ServiceFailure).
    Server,
    /// An answer we cannot use: malformed, missing fields, a report that is not a report or
    /// keeps expiring, or a report that cannot be written to the folder. (A report still
    /// unfinished when --fetch.timeout cuts the attempt short counts as `Network`.)
    InvalidResponse,
    /// A report arrived, but the exporter's reader refuses it (cut inside a row, a header
    /// alone, no root row where the provider always writes one) or it holds fewer users than
    /// the API listed. Retried: a cut download may arrive whole next time.
    RefusedReport,
}

impl FailureReason {
    pub const ALL: [FailureReason; 6] = [
        FailureReason::Throttled,
        FailureReason::AccessDenied,
        FailureReason::Network,
        FailureReason::Server,
        FailureReason::InvalidResponse,
        FailureReason::RefusedReport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Throttled => "throttled",
            FailureReason::AccessDenied => "access_denied",
            FailureReason::Network => "network",
            FailureReason::Server => "server",
            FailureReason::InvalidResponse => "invalid_response",
            FailureReason::RefusedReport => "refused_report",
        }
    }

    /// Whether another attempt in the same interval can help. Access denied does not
    /// change by itself within minutes, and retrying it only fills audit logs.
    pub fn retryable(self) -> bool {
        self != FailureReason::AccessDenied
    }
}

/// A failed fetch. The message never holds a secret, a session token or a whole key id.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    pub reason: FailureReason,
    pub message: String,
}

impl FetchError {
    pub fn new(reason: FailureReason, message: impl Into<String>) -> Self {
        FetchError {
            reason,
            message: message.into(),
        }
    }

    /// An answer of the API call `action` that the fetcher cannot use.
    pub fn invalid(action: &str, message: impl std::fmt::Display) -> Self {
        FetchError::new(
            FailureReason::InvalidResponse,
            format!("{action}: {message}"),
        )
    }
}

/// The `result` of an API call that did not fail: the provider answered as asked.
pub const CALL_SUCCESS: &str = "success";
/// The `result` of an API call answered "not yet" or "gone" (a report still being generated,
/// expired or not present; a user deleted since the lists were read): expected, and handled.
pub const CALL_NOT_READY: &str = "not_ready";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ApiCallLabels {
    action: &'static str,
    result: &'static str,
}

/// Counts API calls by action and result for the fetcher's /metrics. `result` is
/// [`CALL_SUCCESS`], [`CALL_NOT_READY`] or a [`FailureReason::as_str`].
#[derive(Clone, Debug, Default)]
pub struct ApiCalls {
    family: Family<ApiCallLabels, Counter>,
}

impl ApiCalls {
    pub fn record(&self, action: &'static str, result: &'static str) {
        self.family
            .get_or_create(&ApiCallLabels { action, result })
            .inc();
    }

    /// How many calls of `action` ended with `result` so far.
    pub fn count(&self, action: &'static str, result: &'static str) -> u64 {
        self.family
            .get_or_create(&ApiCallLabels { action, result })
            .get()
    }

    pub(crate) fn family(&self) -> Family<ApiCallLabels, Counter> {
        self.family.clone()
    }
}

/// One account a round fetches. `id` is the `account` label of the fetcher's metrics and
/// logs: the account id, or `default` for the credentials' own account (the only account
/// of a single-account fetch). In an organization it also names the report file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    /// The name the organization lists it by; empty outside one.
    pub name: String,
    /// The organization's tags of the account, where it lists them.
    pub tags: Vec<(String, String)>,
    /// Whether the organization lists it as active; only active accounts are fetched.
    pub active: bool,
    /// The role to assume in it, in the provider's own notation (an ARN); `None`: the
    /// credentials' own account.
    pub role: Option<String>,
}

impl Account {
    /// The credentials' own account.
    pub fn own() -> Account {
        Account {
            id: "default".to_owned(),
            name: String::new(),
            tags: Vec::new(),
            active: true,
            role: None,
        }
    }
}

/// What a provider's fetcher offers the loop: the accounts a round fetches, and one attempt
/// at one of them. Each provider implements it in its own file; [`source`] picks one.
pub trait Source: Send + Sync {
    /// The accounts of one round, listed anew each round (an organization changes).
    /// Single-account providers: the credentials' own.
    fn accounts<'a>(
        &'a self,
        _calls: &'a ApiCalls,
    ) -> BoxFuture<'a, Result<Vec<Account>, FetchError>> {
        Box::pin(async { Ok(vec![Account::own()]) })
    }

    /// One attempt at the report of `account`: it waits for the report to be generated
    /// itself, and leaves retries across attempts to the loop.
    fn fetch<'a>(
        &'a self,
        account: &'a Account,
        calls: &'a ApiCalls,
    ) -> BoxFuture<'a, Result<FetchedReport, FetchError>>;
}

/// Every provider's own flags, each declared in its provider's file.
#[derive(Debug, clap::Args)]
pub struct ProviderFlags {
    #[command(flatten)]
    pub aws: aws::Flags,
    #[command(flatten)]
    pub alibaba: alibaba_ram::Flags,
    #[command(flatten)]
    pub tencent: tencent_cam::Flags,
}

/// Builds the provider's fetcher from the flags and its standard credential sources.
pub async fn source(config: &FetchConfig) -> anyhow::Result<Box<dyn Source>> {
    let env = |name: &str| std::env::var(name).ok();
    let flags = &config.providers;
    let poll = poll_interval(config);
    let organization = &config.organization;
    Ok(match config.provider {
        Provider::AwsIam => {
            let members = organization.enabled.then(|| aws::Organization {
                role_name: flags.aws.role_name.clone(),
                tag_keys: organization.tag_labels.clone(),
            });
            Box::new(aws::AwsIamFetcher::new(&flags.aws, members, poll).await?)
        }
        Provider::AlibabaRam => Box::new(alibaba_ram::AlibabaRamFetcher::new(
            &flags.alibaba,
            organization,
            poll,
            &env,
        )?),
        Provider::TencentCam => Box::new(tencent_cam::TencentCamFetcher::new(
            &flags.tencent,
            organization,
            &env,
        )?),
    })
}

/// The waits between "is the report ready yet?" questions within one attempt: the
/// configured interval, forever (the attempt's --fetch.timeout bounds it).
pub fn poll_interval(config: &FetchConfig) -> Duration {
    config.fetch_poll_interval.max(Duration::from_millis(10))
}
