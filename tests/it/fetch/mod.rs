//! The fetcher contract: what `fetch` must do whatever the cloud, each case written once here
//! and run against each cloud's fake (tests/cloud_fakes/). A provider's file beside this one
//! holds its [`Cloud`] (how to start its fake and call the fetcher for it, what a clean fetch
//! writes) and only the tests its API alone needs.
//!
//! A case scripts its scenario as data: a [`Fault`] for the next calls of an action, which
//! each fake answers in its vendor's words, and asserts the same of every fetcher. A new API
//! plugs in the same way (the organisation fetchers: a listing API, STS AssumeRole, one report
//! per member): its fakes answer the new actions in the vendor's words and take the same
//! [`Fault`]s per action; its members are accounts keyed by the credentials the fake issued,
//! as `cloud_fakes::aws` keys AssumeRole's; a trait extending [`Cloud`] says how to add or
//! remove a member and how to ask the fetcher for the organisation; and each case (paging, a
//! refused role, an expired token, throttling, a member that leaves, no secret in the output)
//! is one function here and one line in [`every_case!`].

mod alibaba;
mod aws;
mod tencent;

use std::path::Path;
use std::time::SystemTime;

use serde_json::Value;

use crate::cloud_fakes::{assert_no_secrets, fetch_once, printed, Fault, Fetcher};

/// One cloud's fake, and how the fetcher is pointed at it.
pub trait Cloud {
    /// `--provider`.
    const PROVIDER: &'static str;
    /// The report's name, the account id: it is written as `ACCOUNT.csv`.
    const ACCOUNT: &'static str;
    /// The call a refusal is scripted on: the first the fetcher makes.
    const FIRST_ACTION: &'static str;
    /// The call that carries the report, or the first list it is rebuilt from.
    const REPORT_ACTION: &'static str;
    /// The variables holding the fetcher's credentials; the first is the secret.
    const CREDENTIALS: &'static [&'static str];
    /// What the fetcher says without them: the variables (or other sources) it reads.
    const NO_CREDENTIALS_SAYS: &'static [&'static str];
    /// The code the fake refuses a request signed with another secret with.
    const BAD_SIGNATURE: &'static str;
    /// The fetcher's key id as the fetcher masks it where the cloud's message quotes it.
    const MASKED_KEY_ID: &'static str;
    /// False where a throttled call is retried within the attempt (Tencent's pacing).
    const THROTTLING_FAILS_THE_ATTEMPT: bool;

    /// Its fake on loopback, with one clean account.
    fn start() -> Self;
    /// The fetcher's flags (after `--provider`) and environment for this fake.
    fn args(&self) -> Vec<String>;
    fn env(&self) -> Vec<(&'static str, String)>;
    /// The next `times` answers to `action` are `fault`, in the vendor's words.
    fn fail(&self, action: &str, fault: Fault, times: usize);
    /// What the fetcher's message says of `fault`, besides its reason.
    fn says(fault: Fault) -> &'static str;
    /// Every action called, in order.
    fn actions(&self) -> Vec<String>;
    /// How many requests the fake refused for their signature or token.
    fn refused(&self) -> usize;
    /// Every secret, token and whole key id the fake knows or issued.
    fn secrets(&self) -> Vec<String>;
    /// Every answer given, as tests/vendor_models.py takes them.
    fn model_answers(&self) -> Vec<Value>;
    /// Asserts what a clean fetch wrote, and how it called the API for it.
    fn assert_clean_fetch(&self, written: &[u8]);
    /// The report's generation time, which the file's mtime must carry, where the API gives one.
    fn generated(&self) -> Option<&'static str>;
    /// The enumerated words a clean fetch's answers used, by `Action.Field`.
    fn words(&self) -> Vec<(&'static str, Value)>;
    /// The exporter's lines for the fetched report, and series it must not serve.
    fn exporter_lines(&self, report: &str) -> Vec<String>;
    fn absent_series(&self) -> Vec<&'static str>;
    /// The fetcher's own metrics after [`the_loop_counts_failures_by_reason_and_serves_no_secret`]'s
    /// scenario, beyond what that case asserts of every fetcher.
    fn loop_lines(&self) -> Vec<String>;
}

/// One `fetch --once` into `dir`, with `extra` flags and `env` as given; its exit code and logs.
pub fn run<C: Cloud>(
    cloud: &C,
    dir: &Path,
    extra: &[&str],
    env: &[(&str, String)],
) -> (i32, String) {
    let mut args = vec!["--provider".to_owned(), C::PROVIDER.to_owned()];
    args.extend(cloud.args());
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
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
    let mut args = vec!["--provider".to_owned(), C::PROVIDER.to_owned()];
    args.extend(cloud.args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env = cloud.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Fetcher::spawn(dir, &args, &env)
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

pub const LAST_GOOD: &[u8] = b"last good report\r\n\xef";
const LAST_GOOD_TIME: &str = "2026-01-02T03:04:05Z";

/// The report at `path` is still the last good one, byte for byte and time, alone in its folder.
pub fn assert_left_alone(path: &Path) {
    assert_eq!(std::fs::read(path).unwrap(), LAST_GOOD);
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    assert_eq!(mtime, timestamp(LAST_GOOD_TIME));
    assert_eq!(
        names(path.parent().unwrap()).len(),
        1,
        "nothing else written"
    );
}

fn assert_all_signed<C: Cloud>(cloud: &C) {
    assert!(!cloud.actions().is_empty(), "the fake saw no requests");
    assert_eq!(cloud.refused(), 0, "the fake refused requests");
}

fn assert_models<C: Cloud>(cloud: &C) -> serde_json::Map<String, Value> {
    crate::python::assert_vendor_models(cloud.model_answers())
}

/// Fetched and written whole: the report (as the provider's file checks it) alone in the
/// folder, dated by the report's generation time, every call signed, the answers in the
/// vendor's words, no secret in the logs.
fn writes_the_report_whole_and_signs_every_call<C: Cloud>() {
    let cloud = C::start();
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (code, logs) = run_once(&cloud, &reports, &[]);
    assert_eq!(code, 0, "fetch failed:\n{logs}");
    assert_eq!(
        names(&reports),
        [format!("{}.csv", C::ACCOUNT)],
        "only the report"
    );
    let path = reports.join(format!("{}.csv", C::ACCOUNT));
    cloud.assert_clean_fetch(&std::fs::read(&path).unwrap());
    if let Some(generated) = cloud.generated() {
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(
            mtime,
            timestamp(generated),
            "the mtime is the generation time"
        );
    }
    assert_all_signed(&cloud);
    assert_no_secrets(
        &logs,
        &cloud
            .secrets()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let words = assert_models(&cloud);
    for (field, seen) in cloud.words() {
        assert_eq!(words[field], seen, "{field}");
    }
}

/// Access denied and an expired token: `access_denied` with the cloud's code, the key id
/// masked, not retried (no call after the refused one), the last report left alone.
fn refused_credentials_fail_as_access_denied_at_once<C: Cloud>() {
    for fault in [Fault::Deny, Fault::ExpiredToken] {
        let cloud = C::start();
        cloud.fail(C::FIRST_ACTION, fault, 1);
        let dir = tempfile::tempdir().unwrap();
        let last = last_good_report(dir.path(), C::ACCOUNT);
        let (code, logs) = run_once(&cloud, dir.path(), &[]);
        assert_eq!(code, 1, "{fault:?}: {logs}");
        assert!(
            logs.contains("access_denied") && logs.contains(C::says(fault)),
            "{fault:?}: {logs}"
        );
        if fault == Fault::Deny {
            // The cloud's denial quotes the caller's key id; the fetcher masks it.
            assert!(logs.contains(C::MASKED_KEY_ID), "the key id masked: {logs}");
        }
        let actions = cloud.actions();
        assert_eq!(
            count(&actions, C::FIRST_ACTION),
            1,
            "{fault:?} was retried: {actions:?}"
        );
        assert_eq!(actions.last().unwrap(), C::FIRST_ACTION, "{actions:?}");
        assert_left_alone(&last);
        assert_all_signed(&cloud);
        assert_no_secrets(
            &logs,
            &cloud
                .secrets()
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert_models(&cloud);
    }
}

/// The fake's verifier checks something: signed with another secret, every request is
/// refused, the fetch fails as `access_denied` and writes nothing.
fn a_wrong_secret_fails_the_fakes_signature_check<C: Cloud>() {
    let cloud = C::start();
    let dir = tempfile::tempdir().unwrap();
    let wrong = "AnotherSecretThanTheFakeKnows0123".to_owned();
    let mut env = cloud.env();
    env.iter_mut()
        .find(|(k, _)| *k == C::CREDENTIALS[0])
        .unwrap()
        .1 = wrong.clone();
    let (code, logs) = run(&cloud, dir.path(), &[], &env);
    assert_eq!(code, 1, "{logs}");
    assert!(
        logs.contains(C::BAD_SIGNATURE) && logs.contains("access_denied"),
        "{logs}"
    );
    let actions = cloud.actions();
    assert!(
        !actions.is_empty() && cloud.refused() == actions.len(),
        "{actions:?}"
    );
    assert!(names(dir.path()).is_empty(), "nothing written");
    let mut secrets = cloud.secrets();
    secrets.push(wrong);
    assert_no_secrets(
        &logs,
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

/// An answer that is not the documented one: `invalid_response` saying what was wrong, each
/// attempt, and nothing written.
fn a_malformed_answer_is_an_invalid_response_and_writes_nothing<C: Cloud>() {
    let cloud = C::start();
    cloud.fail(C::REPORT_ACTION, Fault::Garbage, 2);
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = run_once(&cloud, dir.path(), &["--fetch.attempts", "2"]);
    assert_eq!(code, 1, "{logs}");
    assert!(
        logs.contains("invalid_response") && logs.contains(C::says(Fault::Garbage)),
        "{logs}"
    );
    assert_eq!(
        count(&cloud.actions(), C::REPORT_ACTION),
        2,
        "{:?}",
        cloud.actions()
    );
    assert!(names(dir.path()).is_empty(), "nothing written");
    assert_all_signed(&cloud);
    assert_no_secrets(
        &logs,
        &cloud
            .secrets()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
}

/// A failing service is worth retrying: every attempt (five by default), then `server`.
fn a_server_error_is_retried_then_reported_as_server<C: Cloud>() {
    let cloud = C::start();
    cloud.fail(C::FIRST_ACTION, Fault::ServerError, 5);
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = run_once(&cloud, dir.path(), &[]);
    assert_eq!(code, 1, "{logs}");
    assert!(
        logs.contains("(server)") && logs.contains(C::says(Fault::ServerError)),
        "{logs}"
    );
    assert_eq!(
        count(&cloud.actions(), C::FIRST_ACTION),
        5,
        "--fetch.attempts defaults to 5"
    );
    assert!(names(dir.path()).is_empty(), "nothing written");
}

/// Without credentials the fetcher says which variables it reads, and calls nothing.
fn missing_credentials_are_named_before_any_call<C: Cloud>() {
    let cloud = C::start();
    let dir = tempfile::tempdir().unwrap();
    let mut env = cloud.env();
    env.retain(|(k, _)| !C::CREDENTIALS.contains(k));
    let (code, logs) = run(&cloud, dir.path(), &[], &env);
    assert_eq!(code, 1, "{logs}");
    for variable in C::NO_CREDENTIALS_SAYS {
        assert!(logs.contains(variable), "{variable} not named: {logs}");
    }
    assert!(cloud.actions().is_empty(), "{:?}", cloud.actions());
}

/// The exporter reads what the fetcher wrote: the provider's numbers, no cell errors, and
/// no series for checks its reports cannot answer.
fn the_exporter_reads_the_fetched_report<C: Cloud>() {
    let cloud = C::start();
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = run_once(&cloud, dir.path(), &[]);
    assert_eq!(code, 0, "{logs}");
    let exporter = crate::common::Exporter::start(dir.path(), &[]);
    let r = format!("report=\"{}\"", C::ACCOUNT);
    let mut lines = cloud.exporter_lines(&r);
    lines.push(format!("credential_report_up{{{r}}} 1"));
    lines.push(format!(
        "credential_report_info{{{r},provider=\"{}\"}} 1",
        C::PROVIDER
    ));
    lines.push(format!("credential_report_cell_errors{{{r}}} 0"));
    if let Some(generated) = cloud.generated() {
        let seconds = generated.parse::<jiff::Timestamp>().unwrap().as_second();
        lines.push(format!(
            "credential_report_generated_timestamp_seconds{{{r}}} {seconds}.0"
        ));
    }
    for line in &lines {
        exporter.wait_for_sample(line);
    }
    let metrics = exporter.metrics();
    assert_eq!(
        metrics.matches("credential_report_cell_errors{").count(),
        1,
        "{metrics}"
    );
    for series in cloud.absent_series() {
        assert!(
            !metrics.contains(&format!("{series}{{")),
            "{series}:\n{metrics}"
        );
    }
}

/// The loop through a throttled call and a malformed answer: its metrics count each by
/// reason and by action, the probes answer, OpenMetrics ends with `# EOF`, SIGTERM exits 0,
/// and no secret reaches the logs or the metrics.
fn the_loop_counts_failures_by_reason_and_serves_no_secret<C: Cloud>() {
    let cloud = C::start();
    cloud.fail(C::REPORT_ACTION, Fault::Throttle, 1);
    cloud.fail(C::REPORT_ACTION, Fault::Garbage, 1);
    let dir = tempfile::tempdir().unwrap();
    let fetcher = spawn(&cloud, dir.path());
    let metrics = fetcher.metrics_when(|m| {
        m.contains("credential_report_fetch_last_success_timestamp_seconds{account=\"default\"}")
    });
    assert_eq!(fetcher.get("/-/healthy", "*/*").unwrap().0, 200);
    assert_eq!(fetcher.get("/-/ready", "*/*").unwrap().0, 200);
    let failures = |reason: &str, n: bool| {
        format!(
            "credential_report_fetch_failures_total{{account=\"default\",reason=\"{reason}\"}} {}",
            u8::from(n)
        )
    };
    let calls = |result: &str| {
        format!(
            "credential_report_fetch_api_calls_total{{action=\"{}\",result=\"{result}\"}} 1",
            C::REPORT_ACTION
        )
    };
    let mut lines = vec![
        failures("throttled", C::THROTTLING_FAILS_THE_ATTEMPT),
        failures("invalid_response", true),
        failures("access_denied", false),
        calls("throttled"),
    ];
    lines.extend(cloud.loop_lines());
    for line in lines {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in:\n{metrics}"
        );
    }
    assert!(metrics.contains("credential_report_fetch_duration_seconds{account=\"default\"}"));
    let (_, openmetrics) = fetcher
        .get("/metrics", "application/openmetrics-text")
        .unwrap();
    assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
    let (status, logs) = fetcher.stop();
    assert!(status.success(), "SIGTERM should exit 0: {status}");
    let secrets = cloud.secrets();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_no_secrets(&logs, &secrets);
    assert_no_secrets(&metrics, &secrets);
    assert_all_signed(&cloud);
}

/// Every case, one test per cloud: `fetch::contract::aws::a_wrong_secret_fails_…`.
macro_rules! every_case {
    ($cloud:ty) => {
        #[test]
        fn writes_the_report_whole_and_signs_every_call() {
            super::super::writes_the_report_whole_and_signs_every_call::<$cloud>()
        }
        #[test]
        fn refused_credentials_fail_as_access_denied_at_once() {
            super::super::refused_credentials_fail_as_access_denied_at_once::<$cloud>()
        }
        #[test]
        fn a_wrong_secret_fails_the_fakes_signature_check() {
            super::super::a_wrong_secret_fails_the_fakes_signature_check::<$cloud>()
        }
        #[test]
        fn a_malformed_answer_is_an_invalid_response_and_writes_nothing() {
            super::super::a_malformed_answer_is_an_invalid_response_and_writes_nothing::<$cloud>()
        }
        #[test]
        fn a_server_error_is_retried_then_reported_as_server() {
            super::super::a_server_error_is_retried_then_reported_as_server::<$cloud>()
        }
        #[test]
        fn missing_credentials_are_named_before_any_call() {
            super::super::missing_credentials_are_named_before_any_call::<$cloud>()
        }
        #[test]
        fn the_exporter_reads_the_fetched_report() {
            super::super::the_exporter_reads_the_fetched_report::<$cloud>()
        }
        #[test]
        fn the_loop_counts_failures_by_reason_and_serves_no_secret() {
            super::super::the_loop_counts_failures_by_reason_and_serves_no_secret::<$cloud>()
        }
    };
}

mod contract {
    mod aws {
        every_case!(super::super::aws::Aws);
    }
    mod alibaba {
        every_case!(super::super::alibaba::Alibaba);
    }
    mod tencent {
        every_case!(super::super::tencent::Tencent);
    }
}
