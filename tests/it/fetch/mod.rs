//! The fetcher contract: what `fetch` must do whatever the cloud, each case written once here
//! and run against each cloud's fake (tests/cloud_fakes/) as `fetch::contract::<cloud>::<case>`.
//! A provider's file beside this one holds its [`Cloud`] (how to start its fake and point the
//! fetcher at it, a [`Profile`] of what the contract expects, what a clean fetch writes) and
//! only the tests its API alone needs.
//!
//! Scenarios are data: a case scripts a [`Fault`] for the next calls of an action, each fake
//! answers it in its vendor's words, and the case asserts the same of every fetcher. A new
//! API plugs in without rewriting this (the organisation fetchers: a listing API, STS
//! AssumeRole, one report per member):
//! 1. each fake answers the new actions from the vendor's model, checked by
//!    tests/vendor_models.py, and its `fault()` answers every [`Fault`] for them too;
//! 2. members are accounts keyed by the credentials the fake issued for them, as
//!    `cloud_fakes::aws` already keys AssumeRole's (`add_role`, `set_report` and `script`
//!    per account); the Alibaba and Tencent fakes, one account today, key their verifier,
//!    scripts and report the same way;
//! 3. a trait `Organization: Cloud` adds what a member needs (add one, remove one, the
//!    listing action, the fetcher's flags for the organisation), its profile beside [`Profile`];
//! 4. each case (paging, a refused role, an expired token, throttling, a member that leaves,
//!    no secret in the output) is one generic function here and one name in [`every_case!`]
//!    (or in a second list of the same macro for the organisation cases).

mod alibaba;
mod aws;
mod organization;
mod tencent;

use std::path::Path;
use std::time::SystemTime;

use serde_json::Value;

use crate::cloud_fakes::{assert_no_secrets, fetch_once, printed, Fault, Fetcher};

/// One contract case, written once for every cloud: `fetch::contract::aws::CASE`, …
macro_rules! every_case {
    ($cloud:ty) => {
        every_case!($cloud; a_clean_fetch_is_written_whole_signed_and_read_by_the_exporter
            refused_credentials_fail_as_access_denied_at_once
            a_wrong_secret_fails_the_fakes_signature_check a_malformed_answer_is_an_invalid_response
            a_server_error_is_retried_then_reported_as_server
            missing_credentials_are_named_before_any_call
            the_loop_counts_failures_by_reason_and_serves_no_secret);
    };
    ($cloud:ty; $($case:ident)+) => {
        $(#[test]
        fn $case() {
            super::super::$case::<$cloud>()
        })+
    };
}

/// One organization case, written once for every cloud: `fetch::organization::aws::CASE`.
macro_rules! every_organization_case {
    ($cloud:ty) => {
        every_organization_case!($cloud; every_active_member_is_fetched_by_its_role
            a_refused_member_fails_alone_and_keeps_its_last_report
            the_loop_names_every_listed_account_and_counts_by_account
            a_failed_listing_touches_no_report a_throttled_listing_is_retried
            departed_members_are_forgotten_and_nothing_else_is
            excluded_accounts_and_other_shards_are_not_called);
    };
    ($cloud:ty; $($case:ident)+) => {
        $(#[test]
        fn $case() {
            super::super::organization::$case::<$cloud>()
        })+
    };
}

mod contract {
    mod aws {
        every_case!(super::super::aws::Aws);
    }
    mod organization_aws {
        every_organization_case!(super::super::aws::Aws);
    }
    mod alibaba {
        every_case!(super::super::alibaba::Alibaba);
    }
    mod organization_alibaba {
        every_organization_case!(super::super::alibaba::Alibaba);
    }
    mod tencent {
        every_case!(super::super::tencent::Tencent);
    }
    mod organization_tencent {
        every_organization_case!(super::super::tencent::Tencent);
    }
}

/// What the contract expects of one cloud's fetcher, as data.
pub struct Profile {
    /// `--provider`.
    pub provider: &'static str,
    /// The report's name, the account id: it is written as `ACCOUNT.csv`.
    pub account: &'static str,
    /// The call a refusal is scripted on: the first the fetcher makes.
    pub first_action: &'static str,
    /// The call that carries the report, or the first list it is rebuilt from.
    pub report_action: &'static str,
    /// The variables holding the fetcher's credentials, the secret first, and what the
    /// fetcher says without them.
    pub credentials: &'static [&'static str],
    pub no_credentials_says: &'static [&'static str],
    /// The code the fake refuses a request signed with another secret with.
    pub bad_signature: &'static str,
    /// The fetcher's key id as the fetcher masks it where the cloud's message quotes it.
    pub masked_key_id: &'static str,
    /// What the fetcher's message says of a fault, besides its reason.
    pub says: fn(Fault) -> &'static str,
    /// The report's generation time, which the file's mtime must carry, if the API gives one.
    pub generated: Option<&'static str>,
    /// False where a throttled call is retried within the attempt (Tencent's pacing).
    pub throttling_fails_the_attempt: bool,
    /// The enumerated words a clean fetch's answers used: `Action.Field`, words sorted.
    pub words: &'static [(&'static str, &'static [&'static str])],
    /// The exporter's lines for the fetched report (`REPORT` is its label), and series it
    /// must not serve.
    pub exporter_lines: &'static [&'static str],
    pub absent_series: &'static [&'static str],
    /// The fetcher's metrics after [`the_loop_counts_failures_by_reason_and_serves_no_secret`]'s
    /// scenario, beyond what that case asserts of every fetcher.
    pub loop_lines: &'static [&'static str],
}

/// One cloud's fake, and how the fetcher is pointed at it.
pub trait Cloud {
    const PROFILE: Profile;
    /// Its fake on loopback, with one clean account.
    fn start() -> Self;
    /// The fetcher's flags (after `--provider`) and environment for this fake.
    fn args(&self) -> Vec<String>;
    fn env(&self) -> Vec<(&'static str, String)>;
    /// The next `times` answers to `action` are `fault`, in the vendor's words.
    fn fail(&self, action: &str, fault: Fault, times: usize);
    /// Every action called, in order, and how many requests the fake refused for their
    /// signature or token.
    fn actions(&self) -> Vec<String>;
    fn refused(&self) -> usize;
    /// Every secret, token and whole key id the fake knows or issued.
    fn secrets(&self) -> Vec<String>;
    /// Every answer given, as tests/vendor_models.py takes them.
    fn model_answers(&self) -> Vec<Value>;
    /// Asserts what a clean fetch wrote, and how it called the API for it.
    fn assert_clean_fetch(&self, written: &[u8]);
}

/// One `fetch --once` into `dir`, with `extra` flags and `env` as given; its exit code and logs.
pub fn run<C: Cloud>(
    cloud: &C,
    dir: &Path,
    extra: &[&str],
    env: &[(&str, String)],
) -> (i32, String) {
    let own = cloud.args();
    let args = [&["--provider", C::PROFILE.provider][..], &strs(&own), extra].concat();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = fetch_once(dir, &args, &env);
    (output.status.code().expect("exited"), printed(&output))
}

/// [`run`] with the cloud's own environment.
pub fn run_once<C: Cloud>(cloud: &C, dir: &Path, extra: &[&str]) -> (i32, String) {
    run(cloud, dir, extra, &cloud.env())
}

/// The fetcher in its loop on this fake, serving its metrics on a free port.
pub fn spawn<C: Cloud>(cloud: &C, dir: &Path) -> Fetcher {
    let own = cloud.args();
    let args = [&["--provider", C::PROFILE.provider][..], &strs(&own)].concat();
    let env = cloud.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Fetcher::spawn(dir, &args, &env)
}

fn strs(strings: &[String]) -> Vec<&str> {
    strings.iter().map(String::as_str).collect()
}

pub fn count(actions: &[String], action: &str) -> usize {
    actions.iter().filter(|a| *a == action).count()
}

pub fn timestamp(text: &str) -> SystemTime {
    SystemTime::try_from(text.parse::<jiff::Timestamp>().unwrap()).unwrap()
}

/// The names in a folder (none if it does not exist).
pub fn names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let names = entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
    names.collect()
}

/// Fails unless `text` holds each of `words`.
pub fn assert_says(text: &str, words: &[&str]) {
    for word in words {
        assert!(text.contains(word), "no {word:?} in:\n{text}");
    }
}

/// Fails unless `metrics` holds each of `lines`, whole.
pub fn assert_lines(metrics: &str, lines: &[String]) {
    for line in lines {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in:\n{metrics}"
        );
    }
}

/// The last good report, written before a fetch that must leave it alone: odd bytes, a fixed
/// time. Returns its path.
pub fn last_good_report(reports: &Path, name: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(reports).unwrap();
    let path = reports.join(format!("{name}.csv"));
    std::fs::write(&path, LAST_GOOD).unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(timestamp(LAST_GOOD_TIME)).unwrap();
    path
}

const LAST_GOOD: &[u8] = b"last good report\r\n\xef";
const LAST_GOOD_TIME: &str = "2026-01-02T03:04:05Z";

/// The report at `path` is still the last good one, byte for byte and time, alone in its folder.
pub fn assert_left_alone(path: &Path) {
    assert_eq!(std::fs::read(path).unwrap(), LAST_GOOD);
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    assert_eq!(mtime, timestamp(LAST_GOOD_TIME));
    assert_eq!(names(path.parent().unwrap()).len(), 1, "nothing else");
}

fn assert_all_signed<C: Cloud>(cloud: &C) {
    assert!(!cloud.actions().is_empty(), "the fake saw no requests");
    assert_eq!(cloud.refused(), 0, "the fake refused requests");
}

/// A `fetch --once` that must fail, over a folder holding the last good report: exit 1, the
/// report left alone, no secret in the logs. The fake, for its calls, and the logs.
fn failed_fetch<C: Cloud>(cloud: C, extra: &[&str], env: &[(&str, String)]) -> (C, String) {
    let dir = tempfile::tempdir().unwrap();
    let last = last_good_report(dir.path(), C::PROFILE.account);
    let (code, logs) = run(&cloud, dir.path(), extra, env);
    assert_eq!(code, 1, "{logs}");
    assert_left_alone(&last);
    assert_no_secrets(&logs, &cloud.secrets());
    (cloud, logs)
}

/// [`failed_fetch`] with the next `times` answers to `action` being `fault`.
fn faulted<C: Cloud>(action: &str, fault: Fault, times: usize, extra: &[&str]) -> (C, String) {
    let cloud = C::start();
    cloud.fail(action, fault, times);
    let env = cloud.env();
    failed_fetch(cloud, extra, &env)
}

/// Fetched and written whole: the report (as the provider's file checks it) alone in the
/// folder, dated by the report's generation time, every call signed, the answers in the
/// vendor's words, no secret in the logs. The exporter reads it: the provider's numbers, no
/// cell errors, no series for checks its reports cannot answer.
fn a_clean_fetch_is_written_whole_signed_and_read_by_the_exporter<C: Cloud>() {
    let p = &C::PROFILE;
    let cloud = C::start();
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (code, logs) = run_once(&cloud, &reports, &[]);
    assert_eq!(code, 0, "fetch failed:\n{logs}");
    assert_eq!(names(&reports), [format!("{}.csv", p.account)]);
    let path = reports.join(format!("{}.csv", p.account));
    cloud.assert_clean_fetch(&std::fs::read(&path).unwrap());
    assert_all_signed(&cloud);
    assert_no_secrets(&logs, &cloud.secrets());
    let words = crate::python::assert_vendor_models(cloud.model_answers());
    for (field, seen) in p.words {
        assert_eq!(words[*field], serde_json::json!(seen), "{field}");
    }
    let r = format!("report=\"{}\"", p.account);
    let mut lines: Vec<String> = p
        .exporter_lines
        .iter()
        .map(|l| l.replace("REPORT", &r))
        .collect();
    lines.push(format!("credential_report_up{{{r}}} 1"));
    lines.push(format!(
        "credential_report_info{{{r},provider=\"{}\"}} 1",
        p.provider
    ));
    lines.push(format!("credential_report_cell_errors{{{r}}} 0"));
    if let Some(generated) = p.generated {
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(mtime, timestamp(generated), "the generation time");
        let at = generated.parse::<jiff::Timestamp>().unwrap().as_second();
        lines.push(format!(
            "credential_report_generated_timestamp_seconds{{{r}}} {at}.0"
        ));
    }
    let exporter = crate::common::Exporter::start(&reports, &[]);
    for line in &lines {
        exporter.wait_for_sample(line);
    }
    let metrics = exporter.metrics();
    assert_eq!(
        metrics.matches("credential_report_cell_errors{").count(),
        1,
        "{metrics}"
    );
    for series in p.absent_series {
        assert!(
            !metrics.contains(&format!("{series}{{")),
            "{series}:\n{metrics}"
        );
    }
}

/// Access denied and an expired token: `access_denied` with the cloud's code, the key id
/// masked, not retried (no call after the refused one).
fn refused_credentials_fail_as_access_denied_at_once<C: Cloud>() {
    let p = &C::PROFILE;
    for fault in [Fault::Deny, Fault::ExpiredToken] {
        let (cloud, logs) = faulted::<C>(p.first_action, fault, 1, &[]);
        assert_says(&logs, &["access_denied", (p.says)(fault)]);
        if fault == Fault::Deny {
            // The cloud's denial quotes the caller's key id; the fetcher masks it.
            assert_says(&logs, &[p.masked_key_id]);
        }
        assert_eq!(cloud.actions(), [p.first_action], "one call, not retried");
        assert_all_signed(&cloud);
        crate::python::assert_vendor_models(cloud.model_answers());
    }
}

/// The fake's verifier checks something: signed with another secret, every request is
/// refused and the fetch fails as `access_denied`.
fn a_wrong_secret_fails_the_fakes_signature_check<C: Cloud>() {
    let p = &C::PROFILE;
    let wrong = "AnotherSecretThanTheFakeKnows0123";
    let cloud = C::start();
    let mut env = cloud.env();
    env.retain(|(k, _)| *k != p.credentials[0]);
    env.push((p.credentials[0], wrong.to_owned()));
    let (cloud, logs) = failed_fetch(cloud, &[], &env);
    assert_says(&logs, &["access_denied", p.bad_signature]);
    let actions = cloud.actions();
    assert!(
        !actions.is_empty() && cloud.refused() == actions.len(),
        "{actions:?}"
    );
    assert_no_secrets(&logs, &[wrong]);
}

/// An answer that is not the documented one: `invalid_response` saying what was wrong, at
/// each attempt.
fn a_malformed_answer_is_an_invalid_response<C: Cloud>() {
    let p = &C::PROFILE;
    let (cloud, logs) = faulted::<C>(p.report_action, Fault::Garbage, 2, &["--fetch.attempts=2"]);
    assert_says(&logs, &["invalid_response", (p.says)(Fault::Garbage)]);
    assert_eq!(count(&cloud.actions(), p.report_action), 2, "one a try");
    assert_all_signed(&cloud);
}

/// A failing service is worth retrying: every attempt (five by default), then `server`.
fn a_server_error_is_retried_then_reported_as_server<C: Cloud>() {
    let p = &C::PROFILE;
    let (cloud, logs) = faulted::<C>(p.first_action, Fault::ServerError, 5, &[]);
    assert_says(&logs, &["(server)", (p.says)(Fault::ServerError)]);
    assert_eq!(
        cloud.actions(),
        [p.first_action; 5],
        "--fetch.attempts is 5"
    );
}

/// Without credentials the fetcher says where it looked for them, and calls nothing.
fn missing_credentials_are_named_before_any_call<C: Cloud>() {
    let cloud = C::start();
    let mut env = cloud.env();
    env.retain(|(k, _)| !C::PROFILE.credentials.contains(k));
    let (cloud, logs) = failed_fetch(cloud, &[], &env);
    assert_says(&logs, C::PROFILE.no_credentials_says);
    assert!(cloud.actions().is_empty(), "{:?}", cloud.actions());
}

/// The loop through a throttled call and a malformed answer: its metrics count each by
/// reason and by action, the probes answer, OpenMetrics ends with `# EOF`, SIGTERM exits 0,
/// and no secret reaches the logs or the metrics.
fn the_loop_counts_failures_by_reason_and_serves_no_secret<C: Cloud>() {
    let p = &C::PROFILE;
    let cloud = C::start();
    cloud.fail(p.report_action, Fault::Throttle, 1);
    cloud.fail(p.report_action, Fault::Garbage, 1);
    let dir = tempfile::tempdir().unwrap();
    let fetcher = spawn(&cloud, dir.path());
    let done = "credential_report_fetch_last_success_timestamp_seconds{account=\"default\"}";
    let metrics = fetcher.metrics_when(|m| m.contains(done));
    assert_eq!(fetcher.get("/-/healthy", "*/*").unwrap().0, 200);
    assert_eq!(fetcher.get("/-/ready", "*/*").unwrap().0, 200);
    let failed = |reason: &str, n: bool| {
        let n = u8::from(n);
        format!(
            "credential_report_fetch_failures_total{{account=\"default\",reason=\"{reason}\"}} {n}"
        )
    };
    let action = p.report_action;
    let mut lines = vec![
        failed("throttled", p.throttling_fails_the_attempt),
        failed("invalid_response", true),
        failed("access_denied", false),
        format!(
            "credential_report_fetch_api_calls_total{{action=\"{action}\",result=\"throttled\"}} 1"
        ),
    ];
    lines.extend(p.loop_lines.iter().map(|l| l.to_string()));
    assert_lines(&metrics, &lines);
    assert_says(
        &metrics,
        &["credential_report_fetch_duration_seconds{account=\"default\"}"],
    );
    let (_, openmetrics) = fetcher
        .get("/metrics", "application/openmetrics-text")
        .unwrap();
    assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
    let (status, logs) = fetcher.stop();
    assert!(status.success(), "SIGTERM should exit 0: {status}");
    assert_no_secrets(&logs, &cloud.secrets());
    assert_no_secrets(&metrics, &cloud.secrets());
    assert_all_signed(&cloud);
}
