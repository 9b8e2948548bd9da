//! The fetcher's own metrics: when each report was last attempted and fetched, why
//! attempts failed, which API calls were made, how long a fetch took.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{prometheus_text, text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{ApiCalls, FailureReason, Target};
use crate::exposition::Format;

type SecondsGauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    account: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    account: String,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    provider: &'static str,
}

pub struct FetchMetrics {
    registry: Registry,
    last_attempt: Family<TargetLabels, SecondsGauge>,
    last_success: Family<TargetLabels, SecondsGauge>,
    generated: Family<TargetLabels, SecondsGauge>,
    duration: Family<TargetLabels, SecondsGauge>,
    failures: Family<FailureLabels, Counter>,
}

impl FetchMetrics {
    pub fn new(provider: &'static str, targets: &[Target], calls: &ApiCalls) -> Self {
        let mut registry = Registry::default();
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                provider,
            })
            .set(1);
        registry.register(
            "credential_report_fetcher_build_info",
            "A metric with a constant 1, labelled by the fetcher's version and provider",
            build,
        );
        let metrics = FetchMetrics {
            last_attempt: Family::default(),
            last_success: Family::default(),
            generated: Family::default(),
            duration: Family::default(),
            failures: Family::default(),
            registry,
        };
        // Every reason exists from the start at 0, so increase() sees the first failure.
        for target in targets {
            for reason in FailureReason::ALL {
                let _ = metrics.failures.get_or_create(&FailureLabels {
                    account: target.label.clone(),
                    reason: reason.as_str(),
                });
            }
        }
        let mut metrics = metrics;
        let registry = &mut metrics.registry;
        registry.register(
            "credential_report_fetch_last_attempt_timestamp_seconds",
            "When the last fetch of the account's report ended, successful or not (Unix seconds)",
            metrics.last_attempt.clone(),
        );
        registry.register(
            "credential_report_fetch_last_success_timestamp_seconds",
            "When the account's report was last fetched and written (Unix seconds)",
            metrics.last_success.clone(),
        );
        registry.register(
            "credential_report_fetch_report_generated_timestamp_seconds",
            "When the provider generated the last report written for the account (Unix seconds); the file's modification time",
            metrics.generated.clone(),
        );
        registry.register(
            "credential_report_fetch_duration_seconds",
            "How long the last fetch of the account's report took, retries and waits included",
            metrics.duration.clone(),
        );
        registry.register(
            "credential_report_fetch_failures",
            format!(
                "Failed fetch attempts by account and reason: {}",
                FailureReason::ALL.map(FailureReason::as_str).join(", ")
            ),
            metrics.failures.clone(),
        );
        registry.register(
            "credential_report_fetch_api_calls",
            "Calls to the provider's API by action and result: success, not_ready, or a failure reason",
            calls.family(),
        );
        metrics
    }

    pub fn attempt_failed(&self, target: &Target, reason: FailureReason) {
        self.failures
            .get_or_create(&FailureLabels {
                account: target.label.clone(),
                reason: reason.as_str(),
            })
            .inc();
    }

    /// Records the end of one fetch (all its attempts).
    pub fn fetch_ended(
        &self,
        target: &Target,
        ended: jiff::Timestamp,
        seconds: f64,
        generated: Option<jiff::Timestamp>,
    ) {
        let labels = TargetLabels {
            account: target.label.clone(),
        };
        let unix = |t: jiff::Timestamp| t.as_millisecond() as f64 / 1000.0;
        self.last_attempt.get_or_create(&labels).set(unix(ended));
        self.duration.get_or_create(&labels).set(seconds);
        if let Some(generated) = generated {
            self.last_success.get_or_create(&labels).set(unix(ended));
            self.generated.get_or_create(&labels).set(unix(generated));
        }
    }

    pub fn render(&self, format: Format) -> String {
        let mut out = String::new();
        let result = match format {
            Format::OpenMetrics => text::encode(&mut out, &self.registry),
            Format::Classic => prometheus_text::encode(&mut out, &self.registry),
        };
        result.expect("encoding metrics into a String");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_start_at_zero_and_calls_are_counted() {
        let calls = ApiCalls::default();
        let target = Target::own_account();
        let metrics = FetchMetrics::new("some-cloud", std::slice::from_ref(&target), &calls);
        calls.record("GetCredentialReport", "success");
        metrics.attempt_failed(&target, FailureReason::Throttled);
        let text = metrics.render(Format::Classic);
        assert!(text.contains(
            "credential_report_fetch_failures_total{account=\"default\",reason=\"access_denied\"} 0"
        ), "{text}");
        assert!(text.contains(
            "credential_report_fetch_failures_total{account=\"default\",reason=\"throttled\"} 1"
        ));
        assert!(text.contains(
            "credential_report_fetch_api_calls_total{action=\"GetCredentialReport\",result=\"success\"} 1"
        ));
        let build = format!(
            "credential_report_fetcher_build_info{{version=\"{}\",provider=\"some-cloud\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.contains(&build), "{text}");
    }
}
