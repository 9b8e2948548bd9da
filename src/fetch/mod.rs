//! `credential-report-exporter fetch`: gets credential reports from a cloud's API and
//! writes them into the folder the exporter reads.
//!
//! The seam every provider plugs into: a provider module offers a source whose `fetch`
//! returns one [`FetchedReport`] or a [`FetchError`] with its [`FailureReason`], and counts
//! each API call in [`ApiCalls`]. [`Source`] dispatches to the providers statically. The
//! rest is shared: [`config`] (flags), [`writer`] (atomic file), `run` (the loop, retries,
//! the fetcher's /metrics and probes).
//!
//! Adding a provider: a module with a type built from `&FetchConfig` (its endpoint flag,
//! `poll_interval`) offering `async fn fetch(&self, calls: &ApiCalls) -> Result<FetchedReport,
//! FetchError>`; a variant of [`Source`] and an arm in each of its three matches (a
//! single-account provider has the one target `default`). One attempt is one call of
//! `fetch`: it waits for the report to be generated itself, and leaves retries and backoff
//! across attempts to the loop (return the reason; access denied is not retried).

pub mod alibaba_ram;
pub mod api;
pub mod aws;
mod call;
pub mod config;
pub mod credentials;
mod metrics;
mod run;
pub mod sign;
pub mod tencent_cam;
mod validate;
pub mod writer;

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

pub use config::{FetchConfig, Provider};
pub use run::run;

/// One report as the provider produced it.
#[derive(Debug, Clone)]
pub struct FetchedReport {
    /// Default file name (without .csv) when --report.name is not given: the account id, if known.
    pub account_id: Option<String>,
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
#[derive(Debug, thiserror::Error)]
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

/// One report a source fetches. `label` is the `account` label of the fetcher's metrics and
/// logs, fixed before the first fetch: an assumed role's account id, or `default` for the
/// credentials' own account (the only target of single-account providers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub label: String,
}

impl Target {
    /// The credentials' own account.
    pub fn own_account() -> Target {
        Target {
            label: "default".to_owned(),
        }
    }
}

/// The providers, dispatched statically.
pub enum Source {
    Aws(aws::AwsIam),
    Alibaba(alibaba_ram::AlibabaRam),
    Tencent(tencent_cam::TencentCam),
}

impl Source {
    /// Builds the provider's client from the flags and its standard credential sources.
    pub async fn new(config: &FetchConfig) -> anyhow::Result<Source> {
        match config.provider {
            Provider::AwsIam => Ok(Source::Aws(aws::AwsIam::new(config).await?)),
            Provider::AlibabaRam => Ok(Source::Alibaba(alibaba_ram::AlibabaRam::new(
                &config.alibaba_endpoint,
                poll_interval(config),
                &|name| std::env::var(name).ok(),
            )?)),
            Provider::TencentCam => Ok(Source::Tencent(tencent_cam::TencentCam::new(
                &tencent_cam::Options {
                    site: config.tencent_site,
                    endpoint: config.tencent_endpoint.as_deref(),
                    per_second: config.tencent_rate_limit,
                },
                &|name| std::env::var(name).ok(),
            )?)),
        }
    }

    /// The reports one round fetches, in order.
    pub fn targets(&self) -> Vec<Target> {
        match self {
            Source::Aws(aws) => aws.targets(),
            Source::Alibaba(_) | Source::Tencent(_) => vec![Target::own_account()],
        }
    }

    /// One attempt at the report of `targets()[target]`.
    pub async fn fetch(
        &self,
        target: usize,
        calls: &ApiCalls,
    ) -> Result<FetchedReport, FetchError> {
        match self {
            Source::Aws(aws) => aws.fetch(target, calls).await,
            Source::Alibaba(alibaba) => alibaba.fetch(calls).await,
            Source::Tencent(tencent) => tencent.fetch(calls).await,
        }
    }
}

/// The waits between "is the report ready yet?" questions within one attempt: the
/// configured interval, forever (the attempt's --fetch.timeout bounds it).
pub fn poll_interval(config: &FetchConfig) -> Duration {
    config.fetch_poll_interval.max(Duration::from_millis(10))
}
