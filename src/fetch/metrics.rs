//! The fetcher's own metrics: when each report was last attempted and fetched, why
//! attempts failed, which API calls were made, how long a fetch took.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{prometheus_text, text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{Account, ApiCalls, FailureReason};
use crate::exposition::Format;

type SecondsGauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountLabels {
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
    last_attempt: Family<AccountLabels, SecondsGauge>,
    last_success: Family<AccountLabels, SecondsGauge>,
    generated: Family<AccountLabels, SecondsGauge>,
    duration: Family<AccountLabels, SecondsGauge>,
    failures: Family<FailureLabels, Counter>,
    /// The listed accounts' names and chosen tags, by id: a label set of its own per
    /// account, so a `Vec` of pairs.
    account_info: Family<Vec<(String, String)>, Gauge>,
    tag_labels: Vec<(String, String)>,
}

impl FetchMetrics {
    /// `tag_labels` are the organization's tag keys that become labels of
    /// `credential_report_fetch_account_info` (`--organization.tag-labels`).
    pub fn new(provider: &'static str, tag_labels: &[String], calls: &ApiCalls) -> Self {
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
            account_info: Family::default(),
            tag_labels: tag_labels
                .iter()
                .cloned()
                .zip(tag_label_names(tag_labels).unwrap_or_default())
                .collect(),
            registry,
        };
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
            "credential_report_fetch_account_info",
            "A constant 1 for each account the organization listed, with its name and the tags of --organization.tag-labels",
            metrics.account_info.clone(),
        );
        registry.register(
            "credential_report_fetch_api_calls",
            "Calls to the provider's API by action and result: success, not_ready, or a failure reason",
            calls.family(),
        );
        metrics
    }

    /// The accounts of a round: each starts with every failure reason at 0, so increase()
    /// sees a failure after the first scrape (one before it, the alert's `offset` branch).
    /// Accounts with a name (an organization's) get an info series.
    pub fn listed(&self, accounts: &[Account]) {
        for account in accounts {
            for reason in FailureReason::ALL {
                let _ = self.failures.get_or_create(&FailureLabels {
                    account: account.id.clone(),
                    reason: reason.as_str(),
                });
            }
        }
        let named = accounts.iter().filter(|a| !a.name.is_empty());
        let infos: Vec<Vec<(String, String)>> = named.map(|a| self.info_labels(a)).collect();
        // Anew each round: a renamed or departed account's old series goes.
        self.account_info.clear();
        for labels in infos {
            self.account_info.get_or_create(&labels).set(1);
        }
    }

    fn info_labels(&self, account: &Account) -> Vec<(String, String)> {
        let mut labels = vec![
            ("account".to_owned(), account.id.clone()),
            ("account_name".to_owned(), account.name.clone()),
        ];
        for (key, label) in &self.tag_labels {
            let value = account.tags.iter().find(|(k, _)| k == key);
            let value = value.map_or(String::new(), |(_, v)| v.clone());
            labels.push((label.clone(), value));
        }
        labels
    }

    pub fn attempt_failed(&self, account: &Account, reason: FailureReason) {
        self.failures
            .get_or_create(&FailureLabels {
                account: account.id.clone(),
                reason: reason.as_str(),
            })
            .inc();
    }

    /// Records the end of one fetch (all its attempts).
    pub fn fetch_ended(
        &self,
        account: &Account,
        ended: jiff::Timestamp,
        seconds: f64,
        generated: Option<jiff::Timestamp>,
    ) {
        let labels = AccountLabels {
            account: account.id.clone(),
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

/// A tag key as a label name: `tag_` and the key with every character a label name may
/// not hold made `_` (`cost-center` gives `tag_cost_center`).
pub fn tag_label_name(key: &str) -> String {
    let key = key.chars().map(|c| match c.is_ascii_alphanumeric() {
        true => c.to_ascii_lowercase(),
        false => '_',
    });
    std::iter::once("tag_".to_owned())
        .chain(key.map(String::from))
        .collect()
}

/// The label names of `keys`, refused when two keys would make one label (`cost-center`
/// and `cost_center`): a series with a label twice is invalid.
pub fn tag_label_names(keys: &[String]) -> anyhow::Result<Vec<String>> {
    let names: Vec<String> = keys.iter().map(|key| tag_label_name(key)).collect();
    for (i, name) in names.iter().enumerate() {
        if let Some(j) = names[..i].iter().position(|earlier| earlier == name) {
            anyhow::bail!(
                "--organization.tag-labels: {:?} and {:?} both become the label {name}; keep one",
                keys[j],
                keys[i]
            );
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_start_at_zero_and_calls_are_counted() {
        let calls = ApiCalls::default();
        let target = Account::own();
        let metrics = FetchMetrics::new("some-cloud", &[], &calls);
        metrics.listed(std::slice::from_ref(&target));
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

    #[test]
    fn listed_accounts_carry_names_and_chosen_tags() {
        let calls = ApiCalls::default();
        let metrics = FetchMetrics::new("some-cloud", &["cost-center".to_owned()], &calls);
        let member = |id: &str, name: &str, tags: &[(&str, &str)]| Account {
            id: id.to_owned(),
            name: name.to_owned(),
            tags: tags
                .iter()
                .map(|&(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            active: true,
            role: None,
        };
        metrics.listed(&[
            member(
                "111111111111",
                "payments",
                &[("cost-center", "cc-7"), ("x", "y")],
            ),
            member("222222222222", "sandbox", &[]),
        ]);
        let text = metrics.render(Format::Classic);
        assert!(text.contains("credential_report_fetch_account_info{account=\"111111111111\",account_name=\"payments\",tag_cost_center=\"cc-7\"} 1"), "{text}");
        assert!(text.contains("credential_report_fetch_account_info{account=\"222222222222\",account_name=\"sandbox\",tag_cost_center=\"\"} 1"), "{text}");
        assert!(text.contains("credential_report_fetch_failures_total{account=\"222222222222\",reason=\"refused_report\"} 0"));
        // A departed account's info goes with the next listing.
        metrics.listed(&[member("111111111111", "payments", &[])]);
        assert!(!metrics.render(Format::Classic).contains("sandbox"));
    }

    #[test]
    fn tag_keys_that_make_one_label_are_refused() {
        let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            tag_label_names(&keys(&["Cost-Center", "team"])).unwrap(),
            ["tag_cost_center", "tag_team"]
        );
        let error = tag_label_names(&keys(&["cost-center", "cost_center"])).unwrap_err();
        assert!(error.to_string().contains("tag_cost_center"), "{error}");
    }
}
