//! The real `fetch --provider aws-iam` against a fake IAM and STS API on loopback that
//! checks every request's signature, then the real exporter reading what it wrote.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::cloud_fakes::aws::{report, Answer, Credential, FakeAws};
use crate::common::{Exporter, BINARY};

const ACCOUNT: &str = "123456789012";
const KEY_ID: &str = "ASIAFAKEBASEKEY00001";
const SECRET: &str = "base-secret-wJalrXUtnFEMI/K7MDENG+bPxRfiCY";
const TOKEN: &str = "base-token-IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH";
const GENERATED: &str = "2026-11-25T12:34:56Z";

fn fake() -> FakeAws {
    let fake = FakeAws::start();
    fake.add_credential(
        KEY_ID,
        Credential {
            secret: SECRET.to_owned(),
            session_token: Some(TOKEN.to_owned()),
            account: ACCOUNT.to_owned(),
        },
    );
    fake.set_report(ACCOUNT, &report(ACCOUNT), GENERATED);
    fake
}

/// The fetcher with the fake's credentials and endpoint and nothing else from this machine's
/// environment (no profiles, no instance metadata).
fn fetcher(fake: &FakeAws, dir: &Path, flags: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.join("no-home"))
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", TOKEN)
        .env("AWS_ENDPOINT_URL", &fake.url)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .args(["fetch", "--provider", "aws-iam", "--report.dir"])
        .arg(dir.join("reports"))
        .args([
            "--fetch.poll-interval",
            "20ms",
            "--fetch.retry-backoff",
            "20ms",
            "--log.level",
            "debug",
        ])
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn run(mut command: Command) -> (Output, String) {
    let output = command.output().expect("running the fetcher");
    let logs = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, logs)
}

/// Every request reached the fake with a valid signature and session token.
fn assert_all_signed(fake: &FakeAws) {
    let calls = fake.calls();
    assert!(!calls.is_empty(), "the fake saw no requests");
    for call in &calls {
        assert!(
            call.verified.is_ok(),
            "{} was refused: {:?}",
            call.action,
            call.verified
        );
    }
}

fn count(fake: &FakeAws, action: &str) -> usize {
    fake.calls().iter().filter(|c| c.action == action).count()
}

/// Every answer the fake gave, held to botocore's IAM and STS models: names, types, every
/// `enum` (ReportStateType, ReportFormatType), and each error code among the operation's
/// errors or AWS's common ones.
fn assert_answers_speak_botocores_models(
    fake: &FakeAws,
) -> serde_json::Map<String, serde_json::Value> {
    let answers = fake
        .answers()
        .into_iter()
        .map(|(action, status, body)| {
            let api = if action == "AssumeRole" {
                "aws-sts"
            } else {
                "aws-iam"
            };
            serde_json::json!({"api": api, "action": action, "status": status, "body": body})
        })
        .collect();
    crate::python::assert_vendor_models(answers)
}

fn generated() -> SystemTime {
    SystemTime::try_from(GENERATED.parse::<jiff::Timestamp>().unwrap()).unwrap()
}

/// No secret, session token or whole access key id in `text`.
fn assert_no_secrets(fake: &FakeAws, text: &str) {
    for secret in fake.secrets().iter().chain(fake.key_ids().iter()) {
        assert!(
            !text.contains(secret.as_str()),
            "{secret:?} leaked into:\n{text}"
        );
    }
    // Nor the secret's distinctive middle, in case something shortens it.
    assert!(!text.contains("wJalrXUtnFEMI"), "{text}");
}

#[test]
fn waits_out_throttling_and_unfinished_reports_and_writes_the_report_byte_for_byte() {
    let fake = fake();
    fake.script(
        ACCOUNT,
        "GenerateCredentialReport",
        &[
            Answer::Error(400, "Throttling"),
            Answer::Error(409, "LimitExceeded"),
            Answer::Error(500, "ServiceFailure"),
            Answer::State("STARTED"),
            Answer::State("INPROGRESS"),
        ],
    );
    fake.script(
        ACCOUNT,
        "GetCredentialReport",
        &[
            Answer::Error(404, "ReportInProgress"),
            Answer::Error(410, "ReportExpired"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let (output, logs) = run(fetcher(
        &fake,
        dir.path(),
        &["--once", "--fetch.attempts", "4"],
    ));
    assert!(output.status.success(), "fetch failed:\n{logs}");
    assert_all_signed(&fake);

    let path = dir.path().join("reports").join(format!("{ACCOUNT}.csv"));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        report(ACCOUNT),
        "not byte for byte"
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        generated()
    );
    // Three failed attempts, then STARTED, INPROGRESS, COMPLETE; after ReportExpired, once more.
    assert_eq!(count(&fake, "GenerateCredentialReport"), 7);
    assert_eq!(count(&fake, "GetCredentialReport"), 3);
    for reason in [
        "reason=throttled",
        "reason=server",
        "LimitExceeded",
        "ServiceFailure",
    ] {
        assert!(logs.contains(reason), "no {reason} in the logs:\n{logs}");
    }
    // Only the report is left in the folder: no temporary files.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert_no_secrets(&fake, &logs);
    let words = assert_answers_speak_botocores_models(&fake);
    assert_eq!(
        words["GenerateCredentialReport.State"],
        serde_json::json!(["COMPLETE", "INPROGRESS", "STARTED"])
    );
    assert_eq!(
        words["GetCredentialReport.ReportFormat"],
        serde_json::json!(["text/csv"])
    );
}

#[test]
fn access_denied_is_not_retried_exits_non_zero_and_keeps_the_last_report() {
    let fake = fake();
    fake.script(
        ACCOUNT,
        "GenerateCredentialReport",
        &[Answer::Error(403, "AccessDenied")],
    );
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let last = reports.join(format!("{ACCOUNT}.csv"));
    std::fs::write(&last, "last good report").unwrap();
    let before = std::fs::metadata(&last).unwrap().modified().unwrap();

    let (output, logs) = run(fetcher(&fake, dir.path(), &["--once"]));
    assert_eq!(output.status.code(), Some(1), "{logs}");
    assert!(
        logs.contains("access_denied") && logs.contains("AccessDenied"),
        "{logs}"
    );
    // The fake quoted the key id; the fetcher shows only its ends.
    assert!(logs.contains("ASIA…0001"), "{logs}");
    assert_eq!(
        count(&fake, "GenerateCredentialReport"),
        1,
        "access denied was retried"
    );
    assert_eq!(std::fs::read_to_string(&last).unwrap(), "last good report");
    assert_eq!(
        std::fs::metadata(&last).unwrap().modified().unwrap(),
        before
    );
    assert_all_signed(&fake);
    assert_no_secrets(&fake, &logs);
}

#[test]
fn a_cut_or_header_only_download_fails_and_leaves_the_last_report_byte_for_byte() {
    let whole = report(ACCOUNT);
    let text = String::from_utf8(whole.clone()).unwrap();
    let header_end = text.find('\n').unwrap() + 1;
    let cases = [
        // Cut inside alice's row: fewer fields than the header.
        (
            "cut inside a row",
            whole[..text.find("alice").unwrap() + 30].to_vec(),
            "line 3",
        ),
        // Cut right after the header.
        ("header only", whole[..header_end].to_vec(), "no users"),
    ];
    for (case, content, why) in cases {
        let fake = fake();
        fake.set_report(ACCOUNT, &content, GENERATED);
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path().join("reports");
        std::fs::create_dir(&reports).unwrap();
        let last = reports.join(format!("{ACCOUNT}.csv"));
        std::fs::write(&last, b"last good report\r\n\xef").unwrap();
        let before = std::fs::metadata(&last).unwrap().modified().unwrap();

        let (output, logs) = run(fetcher(
            &fake,
            dir.path(),
            &["--once", "--fetch.attempts", "2"],
        ));
        assert_eq!(output.status.code(), Some(1), "{case}: {logs}");
        assert!(
            logs.contains("refused_report") && logs.contains(why),
            "{case}: {logs}"
        );
        // Retried once (a cut download may arrive whole), then given up.
        assert_eq!(count(&fake, "GetCredentialReport"), 2, "{case}");
        assert_eq!(
            std::fs::read(&last).unwrap(),
            b"last good report\r\n\xef",
            "{case}"
        );
        assert_eq!(
            std::fs::metadata(&last).unwrap().modified().unwrap(),
            before,
            "{case}"
        );
        let names: Vec<_> = std::fs::read_dir(&reports).unwrap().collect();
        assert_eq!(names.len(), 1, "{case}: nothing else written");
    }
}

#[test]
fn a_wrong_secret_fails_the_fakes_signature_check() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let mut command = fetcher(&fake, dir.path(), &["--once"]);
    command.env("AWS_SECRET_ACCESS_KEY", "not-the-secret");
    let (output, logs) = run(command);
    assert_eq!(output.status.code(), Some(1), "{logs}");
    assert!(
        logs.contains("SignatureDoesNotMatch") && logs.contains("access_denied"),
        "{logs}"
    );
    let calls = fake.calls();
    assert!(
        !calls.is_empty() && calls.iter().all(|c| c.verified.is_err()),
        "{calls:?}"
    );
    assert!(!dir
        .path()
        .join("reports")
        .join(format!("{ACCOUNT}.csv"))
        .exists());
}

#[test]
fn malformed_answers_fail_as_invalid_response_and_write_nothing() {
    let fake = fake();
    let not_a_report = "<GetCredentialReportResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetCredentialReportResult><Content>PGh0bWw+Z2F0ZXdheTwvaHRtbD4=</Content><ReportFormat>text/csv</ReportFormat><GeneratedTime>2026-11-25T12:34:56Z</GeneratedTime></GetCredentialReportResult></GetCredentialReportResponse>";
    let no_time = "<GetCredentialReportResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetCredentialReportResult><Content>dXNlcixhcm4sCg==</Content></GetCredentialReportResult></GetCredentialReportResponse>";
    fake.script(
        ACCOUNT,
        "GetCredentialReport",
        &[
            Answer::Raw(
                200,
                "<GetCredentialReportResponse><GetCredentialReportResult><Content>".to_owned(),
            ),
            Answer::Raw(200, not_a_report.to_owned()),
            Answer::Raw(200, no_time.to_owned()),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let (output, logs) = run(fetcher(
        &fake,
        dir.path(),
        &["--once", "--fetch.attempts", "3"],
    ));
    assert_eq!(output.status.code(), Some(1), "{logs}");
    assert!(logs.contains("invalid_response"), "{logs}");
    assert!(logs.contains("not an IAM credential report"), "{logs}");
    assert!(logs.contains("without Content or GeneratedTime"), "{logs}");
    assert_eq!(count(&fake, "GetCredentialReport"), 3);
    let reports = dir.path().join("reports");
    assert!(!reports.exists() || std::fs::read_dir(&reports).unwrap().next().is_none());
    assert_all_signed(&fake);
}

#[test]
fn one_report_per_assumed_role_named_by_account_and_a_denied_role_is_reported() {
    let fake = fake();
    let (a, b, denied) = ("111111111111", "222222222222", "333333333333");
    let role = |account: &str| format!("arn:aws:iam::{account}:role/credential-report-reader");
    fake.add_role(&role(a), a);
    fake.add_role(&role(b), b);
    fake.set_report(a, &report(a), "2026-11-25T10:00:00Z");
    fake.set_report(b, &report(b), "2026-11-25T11:00:00Z");
    fake.script(
        b,
        "GetCredentialReport",
        &[Answer::Error(404, "ReportInProgress")],
    );
    let dir = tempfile::tempdir().unwrap();
    let mut command = fetcher(
        &fake,
        dir.path(),
        &[
            "--once",
            &format!("--aws.role-arn={}", role(a)),
            &format!("--aws.role-arn={},{}", role(denied), role(b)),
        ],
    );
    // The service-specific endpoint variables, not the general one.
    command
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ENDPOINT_URL_IAM", &fake.url)
        .env("AWS_ENDPOINT_URL_STS", &fake.url);
    let (output, logs) = run(command);
    assert_eq!(output.status.code(), Some(1), "{logs}");
    assert!(
        logs.contains(&format!("{denied}: AssumeRole")) && logs.contains("access_denied"),
        "{logs}"
    );
    assert_all_signed(&fake);
    for (account, time) in [(a, "2026-11-25T10:00:00Z"), (b, "2026-11-25T11:00:00Z")] {
        let path = dir.path().join("reports").join(format!("{account}.csv"));
        assert_eq!(std::fs::read(&path).unwrap(), report(account));
        let time = SystemTime::try_from(time.parse::<jiff::Timestamp>().unwrap()).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), time);
    }
    // IAM was called only with the roles' temporary keys; STS with the fetcher's own.
    for call in fake.calls() {
        match call.action.as_str() {
            "AssumeRole" => assert_eq!(call.access_key_id, KEY_ID),
            _ => assert!(call.access_key_id.starts_with("ASIAFAKEISSUED"), "{call:?}"),
        }
    }
    assert_eq!(count(&fake, "AssumeRole"), 3);
    assert_no_secrets(&fake, &logs);
    assert_answers_speak_botocores_models(&fake);
}

#[test]
fn the_loop_serves_metrics_that_say_why_and_never_a_secret() {
    let fake = fake();
    fake.script(
        ACCOUNT,
        "GenerateCredentialReport",
        &[Answer::Error(400, "Throttling")],
    );
    fake.script(
        ACCOUNT,
        "GetCredentialReport",
        &[Answer::Raw(200, "garbage".to_owned())],
    );
    let dir = tempfile::tempdir().unwrap();
    let address = format!("127.0.0.1:{}", crate::common::free_port());
    let mut child = fetcher(
        &fake,
        dir.path(),
        &["--web.listen-address", &address, "--fetch.interval", "1h"],
    )
    .spawn()
    .unwrap();
    let stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut { stderr }, &mut text).unwrap();
        text
    });
    let get = |path: &str| -> Option<(u16, String)> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent.get(format!("http://{address}{path}")).call().ok()?;
        Some((
            response.status().as_u16(),
            response.body_mut().read_to_string().ok()?,
        ))
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        if let Some((200, body)) = get("/metrics") {
            if body.contains(
                "credential_report_fetch_last_success_timestamp_seconds{account=\"default\"}",
            ) {
                break body;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no successful fetch in the metrics"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(get("/-/healthy").unwrap().0, 200);
    assert_eq!(get("/-/ready").unwrap().0, 200);
    for line in [
        "credential_report_fetch_failures_total{account=\"default\",reason=\"throttled\"} 1",
        "credential_report_fetch_failures_total{account=\"default\",reason=\"invalid_response\"} 1",
        "credential_report_fetch_failures_total{account=\"default\",reason=\"access_denied\"} 0",
        "credential_report_fetch_api_calls_total{action=\"GenerateCredentialReport\",result=\"throttled\"} 1",
        "credential_report_fetch_api_calls_total{action=\"GetCredentialReport\",result=\"invalid_response\"} 1",
        "credential_report_fetch_api_calls_total{action=\"GetCredentialReport\",result=\"success\"} 1",
        "credential_report_fetch_report_generated_timestamp_seconds{account=\"default\"} 1795610096.0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "no {line:?} in:\n{metrics}");
    }
    assert!(metrics.contains("credential_report_fetch_duration_seconds{account=\"default\"}"));
    let (_, openmetrics) = {
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let mut response = agent
            .get(format!("http://{address}/metrics"))
            .header("Accept", "application/openmetrics-text")
            .call()
            .unwrap();
        (
            response.status().as_u16(),
            response.body_mut().read_to_string().unwrap(),
        )
    };
    assert!(openmetrics.ends_with("# EOF\n"));

    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM should exit 0: {status}");
    let logs = logs.join().unwrap();
    assert_no_secrets(&fake, &logs);
    assert_no_secrets(&fake, &metrics);
    assert_all_signed(&fake);
}
#[test]
fn the_exporter_reads_the_fetched_report() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (output, logs) = run(fetcher(&fake, dir.path(), &["--once"]));
    assert!(output.status.success(), "{logs}");
    let exporter = Exporter::start(&dir.path().join("reports"), &[]);
    let r = ACCOUNT;
    for line in [
        format!("credential_report_info{{report=\"{r}\",provider=\"aws-iam\"}} 1"),
        format!("credential_report_users{{report=\"{r}\",user_type=\"root\"}} 1"),
        format!("credential_report_users{{report=\"{r}\",user_type=\"iam_user\"}} 2"),
        format!("credential_report_users_without_mfa{{report=\"{r}\",user_type=\"iam_user\"}} 2"),
        format!("credential_report_users_without_mfa{{report=\"{r}\",user_type=\"root\"}} 0"),
        format!("credential_report_access_keys{{report=\"{r}\",status=\"active\"}} 3"),
        format!("credential_report_root_access_keys{{report=\"{r}\",status=\"active\"}} 0"),
        format!("credential_report_signing_certificates{{report=\"{r}\",status=\"active\"}} 1"),
    ] {
        exporter.wait_for_sample(&line);
    }
    // The file's mtime, which the fetcher set to the report's GeneratedTime.
    let generated = format!("credential_report_generated_timestamp_seconds{{report=\"{r}\"}} ");
    let metrics = exporter.metrics();
    let value = metrics.lines().find_map(|l| l.strip_prefix(&generated));
    assert_eq!(
        value.map(|v| v.parse::<f64>().unwrap()),
        Some(1795610096.0),
        "{metrics}"
    );
}

#[test]
fn a_report_naming_no_account_needs_report_name() {
    let fake = fake();
    // A root row whose ARN holds no account id: nothing says which account this is.
    let headless = String::from_utf8(report(ACCOUNT))
        .unwrap()
        .replace(
            &format!("arn:aws:iam::{ACCOUNT}:root"),
            "arn:aws:iam::unknown:root",
        )
        .into_bytes();
    fake.set_report(ACCOUNT, &headless, GENERATED);
    let dir = tempfile::tempdir().unwrap();
    let (output, logs) = run(fetcher(&fake, dir.path(), &["--once"]));
    assert_eq!(output.status.code(), Some(1), "{logs}");
    assert!(logs.contains("--report.name"), "{logs}");

    let (output, logs) = run(fetcher(
        &fake,
        dir.path(),
        &["--once", "--report.name", "prod"],
    ));
    assert!(output.status.success(), "{logs}");
    assert_eq!(
        std::fs::read(dir.path().join("reports/prod.csv")).unwrap(),
        headless
    );
}

#[test]
fn one_report_name_for_many_roles_is_refused_before_any_call() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (output, logs) = run(fetcher(
        &fake,
        dir.path(),
        &[
            "--once",
            "--report.name=prod",
            "--aws.role-arn=arn:aws:iam::111111111111:role/a,arn:aws:iam::222222222222:role/b",
        ],
    ));
    assert_eq!(output.status.code(), Some(1), "{logs}");
    assert!(logs.contains("--report.name names one report"), "{logs}");
    assert!(fake.calls().is_empty());

    let (output, logs) = run(fetcher(
        &fake,
        dir.path(),
        &["--once", "--aws.role-arn=arn:aws:iam::1:user/x"],
    ));
    assert_eq!(output.status.code(), Some(1), "{logs}");
    assert!(logs.contains("is not a role ARN"), "{logs}");
}
