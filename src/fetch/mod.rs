//! `credential-report-exporter fetch`: gets credential reports from a cloud's API and
//! writes them into the folder the exporter reads.
//!
//! The seam every provider plugs into: a provider module implements [`Source`], whose `fetch`
//! returns one [`FetchedReport`] or a [`FetchError`] with its [`FailureReason`]. Shared by the
//! providers: [`credentials`] (static keys or a web identity, cached), `call` (one paced,
//! recorded, retried API call), [`api`] (HTTP client and endpoints), [`sign`]. Shared by the
//! loop: [`config`] (flags), `validate` (the exporter's reader judges a report before it is
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
mod call;
mod config;
mod credentials;
mod metrics;
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

/// What a provider's fetcher offers the loop: the reports a round fetches, and one attempt
/// at one of them. Each provider implements it in its own file; [`source`] picks one.
pub trait Source: Send + Sync {
    /// The reports one round fetches, in order. Single-account providers: the one `default`.
    fn targets(&self) -> Vec<Target> {
        vec![Target::own_account()]
    }

    /// One attempt at the report of `targets()[target]`: it waits for the report to be
    /// generated itself, and leaves retries across attempts to the loop.
    fn fetch<'a>(
        &'a self,
        target: usize,
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
    Ok(match config.provider {
        Provider::AwsIam => Box::new(aws::AwsIam::new(&flags.aws, poll).await?),
        Provider::AlibabaRam => Box::new(alibaba_ram::AlibabaRam::new(
            &flags.alibaba.endpoint,
            poll,
            &env,
        )?),
        Provider::TencentCam => Box::new(tencent_cam::TencentCam::new(&flags.tencent, &env)?),
    })
}

/// The waits between "is the report ready yet?" questions within one attempt: the
/// configured interval, forever (the attempt's --fetch.timeout bounds it).
pub fn poll_interval(config: &FetchConfig) -> Duration {
    config.fetch_poll_interval.max(Duration::from_millis(10))
}
