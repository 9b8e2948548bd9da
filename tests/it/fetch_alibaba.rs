//! `fetch --provider alibaba-ram` against a fake IMS and STS on 127.0.0.1 that checks every
//! request's ACS3 signature with its own verifier, pages the report, and injects throttling, an
//! expired report, access denied and malformed answers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::cloud_fakes::{assert_no_secrets, fetch_once, printed, Acs3Verifier, Fake, Request};
use base64::Engine;

const KEY_ID: &str = "LTAI5tFakeKeyIdForTests01";
const SECRET: &str = "FakeSecretForTests0123456789ab";
const TOKEN: &str = "CAISFakeSecurityTokenForTestsOnly0123456789";
const ACCOUNT: &str = "1234567890123456";
const GENERATED: &str = "2026-11-24T03:04:05Z";

/// An Alibaba report (the IMS columns), long enough to take three pages of three lines.
fn report() -> String {
    let mut r = String::from(
        "user,user_creation_time,user_last_logon,password_exist,password_active,password_last_changed,password_next_rotation,mfa_active,\
access_key_1_exist,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used,access_key_2_exist,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used,\
additional_access_key_1_exist,additional_access_key_1_active,additional_access_key_1_last_rotated,additional_access_key_1_last_used,\
additional_access_key_2_exist,additional_access_key_2_active,additional_access_key_2_last_rotated,additional_access_key_2_last_used,\
additional_access_key_3_exist,additional_access_key_3_active,additional_access_key_3_last_rotated,additional_access_key_3_last_used\n",
    );
    r.push_str("<root>,2017-03-01T02:00:00Z,2026-11-23T12:00:00Z,TRUE,TRUE,2025-01-01T00:00:00Z,-,FALSE,TRUE,TRUE,2018-06-01T00:00:00Z,2026-11-22T03:00:00Z,FALSE,FALSE,-,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-\n");
    for (i, mfa) in ["TRUE", "FALSE", "FALSE", "TRUE", "FALSE", "TRUE"]
        .iter()
        .enumerate()
    {
        r.push_str(&format!(
            "user{i}@acme.onaliyun.com,2020-01-0{}T00:00:00Z,-,TRUE,TRUE,2026-01-01T00:00:00Z,-,{mfa},TRUE,TRUE,2026-02-01T00:00:00Z,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-\n",
            i + 1
        ));
    }
    r
}

/// The fake's behaviour, switched per test.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Throttles the first GetCredentialReport, expires the report on the second page once.
    Normal,
    AccessDenied,
    /// Content that is not base64.
    Malformed,
}

struct Ims {
    verifier: Acs3Verifier,
    mode: Mode,
    generate_calls: AtomicUsize,
    get_calls: AtomicUsize,
    bad_signatures: Mutex<Vec<String>>,
    /// For RRSA: the STS credentials the fake hands out, and the OIDC token it expects.
    oidc: Option<(String, String)>,
}

fn error(status: u16, code: &str, message: &str) -> (u16, String) {
    (
        status,
        serde_json::json!({"RequestId": "7A01826E-7601-44B0-B4DF-2B0C509836DE", "Code": code, "Message": message}).to_string(),
    )
}

impl Ims {
    fn handle(&self, r: &Request) -> (u16, String) {
        if r.param("Action").as_deref() == Some("AssumeRoleWithOIDC") {
            return self.assume_role(r);
        }
        if let Err(e) = self.verifier.verify(r) {
            self.bad_signatures.lock().unwrap().push(e.clone());
            return error(400, "SignatureDoesNotMatch", &e);
        }
        if r.header("x-acs-version")
            != Some(match r.header("x-acs-action") {
                Some("GetCallerIdentity") => "2015-04-01",
                _ => "2019-08-15",
            })
        {
            return error(400, "InvalidVersion", "wrong x-acs-version");
        }
        if self.mode == Mode::AccessDenied {
            return error(
                403,
                "Forbidden.RAM",
                &format!("User not authorized to operate on the specified resource, or this API doesn't support RAM. AccessKeyId: {KEY_ID}"),
            );
        }
        match r.header("x-acs-action") {
            Some("GenerateCredentialReport") => {
                let n = self.generate_calls.fetch_add(1, Ordering::SeqCst);
                // Alibaba's words (the alibabacloud-ims20190815 model): STARTED, INPROGRESS, COMPLETED.
                let state = ["STARTED", "INPROGRESS"].get(n).copied().unwrap_or("COMPLETED");
                (200, serde_json::json!({"RequestId": "r", "State": state}).to_string())
            }
            Some("GetCredentialReport") => self.page(r),
            Some("GetCallerIdentity") => (
                200,
                serde_json::json!({"RequestId": "r", "AccountId": ACCOUNT, "Arn": format!("acs:ram::{ACCOUNT}:user/fetcher"), "IdentityType": "RAMUser"}).to_string(),
            ),
            other => error(404, "InvalidAction.NotFound", &format!("{other:?}")),
        }
    }

    /// Three lines a page; page 2 repeats the header (the fetcher must keep it once).
    fn page(&self, r: &Request) -> (u16, String) {
        let n = self.get_calls.fetch_add(1, Ordering::SeqCst);
        if self.mode == Mode::Normal && n == 0 {
            return error(
                400,
                "Throttling.User",
                "Request was denied due to user flow control.",
            );
        }
        let page: usize = r
            .param("NextToken")
            .map_or(0, |t| t.trim_start_matches("page-").parse().unwrap());
        if self.mode == Mode::Normal && n == 2 {
            // Expired between two pages: the fetcher generates again and starts over.
            return error(
                404,
                "EntityNotExist.CredentialReport",
                "The credential report has expired.",
            );
        }
        let lines: Vec<&str> = report_lines();
        let chunks: Vec<Vec<&str>> = lines.chunks(3).map(|c| c.to_vec()).collect();
        let mut text = String::new();
        if page == 1 {
            text.push_str(lines[0]);
            text.push('\n');
        }
        for l in &chunks[page] {
            text.push_str(l);
            text.push('\n');
        }
        let content = if self.mode == Mode::Malformed {
            "%%% not base64 %%%".to_owned()
        } else {
            base64::engine::general_purpose::STANDARD.encode(text)
        };
        let last = page + 1 == chunks.len();
        // IsTruncated is a string, "true" or "false" (the SDK model's type and words).
        let mut body = serde_json::json!({"RequestId": "r", "GeneratedTime": GENERATED, "Content": content, "IsTruncated": (!last).to_string()});
        if !last {
            body["NextToken"] = format!("page-{}", page + 1).into();
        }
        (200, body.to_string())
    }

    fn assume_role(&self, r: &Request) -> (u16, String) {
        let (sts_key, expected_token) = self.oidc.clone().expect("RRSA not configured");
        let form = String::from_utf8(r.body.clone()).unwrap();
        let field = |name: &str| {
            form.split('&').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k == name).then(|| crate::cloud_fakes::decode(v))
            })
        };
        if field("OIDCToken").as_deref() != Some(expected_token.as_str())
            || field("RoleArn").as_deref() != Some("acs:ram::1234567890123456:role/fetcher")
            || field("OIDCProviderArn").as_deref()
                != Some("acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1")
        {
            return error(
                400,
                "AuthenticationFail.OIDCToken.Invalid",
                "bad OIDC exchange",
            );
        }
        (
            200,
            serde_json::json!({"RequestId": "r", "Credentials": {
                "AccessKeyId": sts_key, "AccessKeySecret": SECRET, "SecurityToken": TOKEN,
                "Expiration": "2099-01-01T00:00:00Z"}})
            .to_string(),
        )
    }
}

fn report_lines() -> Vec<&'static str> {
    let r: &'static str = Box::leak(report().into_boxed_str());
    r.lines().collect()
}

fn start(mode: Mode, oidc: Option<(String, String)>, key_id: &str) -> (Fake, Arc<Ims>) {
    let ims = Arc::new(Ims {
        verifier: Acs3Verifier::new(key_id, SECRET, Some(TOKEN)),
        mode,
        generate_calls: AtomicUsize::new(0),
        get_calls: AtomicUsize::new(0),
        bad_signatures: Mutex::new(Vec::new()),
        oidc,
    });
    let handler = Arc::clone(&ims);
    (Fake::start(move |r| handler.handle(r)), ims)
}

/// Every answer the fake gave, held to Alibaba's SDK models (alibabacloud-ims20190815 and
/// -sts20150401): names, types, and the words their comments list.
fn assert_answers_speak_alibabas_models(fake: &Fake) -> serde_json::Map<String, serde_json::Value> {
    let answers = fake
        .answers()
        .into_iter()
        .map(|a| {
            let api = match a.action.as_str() {
                "GetCallerIdentity" | "AssumeRoleWithOIDC" => "alibaba-sts",
                _ => "alibaba-ims",
            };
            serde_json::json!({"api": api, "action": a.action, "status": a.status, "body": a.body})
        })
        .collect();
    crate::python::assert_vendor_models(answers)
}

fn env(fake: &Fake) -> Vec<(&'static str, String)> {
    vec![
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID.to_owned()),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET.to_owned()),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", TOKEN.to_owned()),
        ("ALIBABA_CLOUD_STS_ENDPOINT", fake.url()),
    ]
}

fn run(fake: &Fake, dir: &std::path::Path, env: &[(&'static str, String)]) -> std::process::Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    fetch_once(
        dir,
        &[
            "--provider",
            "alibaba-ram",
            "--alibaba.endpoint",
            &fake.url(),
        ],
        &env,
    )
}

#[test]
fn the_report_is_fetched_through_throttling_and_expiry_and_written_byte_for_byte() {
    let (fake, ims) = start(Mode::Normal, None, KEY_ID);
    let dir = tempfile::tempdir().unwrap();
    let out = run(&fake, dir.path(), &env(&fake));
    let text = printed(&out);
    assert!(out.status.success(), "fetch failed:\n{text}");
    assert!(
        ims.bad_signatures.lock().unwrap().is_empty(),
        "{:?}",
        ims.bad_signatures.lock().unwrap()
    );

    // Named by the account GetCallerIdentity gives; the pages joined with the header once.
    let path = dir.path().join(format!("{ACCOUNT}.csv"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), report());
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    assert_eq!(
        jiff::Timestamp::try_from(mtime).unwrap(),
        GENERATED.parse::<jiff::Timestamp>().unwrap(),
        "the file's mtime is the report's GeneratedTime"
    );
    // Generate polled until COMPLETED, the throttled attempt retried, the expired report regenerated.
    let actions = fake.actions();
    assert!(
        ims.generate_calls.load(Ordering::SeqCst) >= 4,
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .filter(|a| *a == "GetCredentialReport")
            .count()
            >= 5,
        "{actions:?}"
    );
    assert_no_secrets(&text, &[KEY_ID, SECRET, TOKEN]);
    // The fake spoke Alibaba's words, and the fetcher waited for the ones that matter.
    let words = assert_answers_speak_alibabas_models(&fake);
    assert_eq!(
        words["GenerateCredentialReport.State"],
        serde_json::json!(["COMPLETED", "INPROGRESS", "STARTED"])
    );
    assert_eq!(
        words["GetCredentialReport.IsTruncated"],
        serde_json::json!(["false", "true"])
    );
}

#[test]
fn rrsa_exchanges_the_service_account_token_for_sts_credentials() {
    let sts_key = "STS.NTestStsKeyIdFromOidc0001";
    let (fake, ims) = start(
        Mode::Normal,
        Some((
            sts_key.to_owned(),
            "eyJhbGciOiJSUzI1NiJ9.projected.token".to_owned(),
        )),
        sts_key,
    );
    let dir = tempfile::tempdir().unwrap();
    let token_dir = tempfile::tempdir().unwrap();
    let token_file = token_dir.path().join("token");
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.projected.token\n").unwrap();
    let env = vec![
        (
            "ALIBABA_CLOUD_ROLE_ARN",
            "acs:ram::1234567890123456:role/fetcher".to_owned(),
        ),
        (
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1".to_owned(),
        ),
        (
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
            token_file.display().to_string(),
        ),
        ("ALIBABA_CLOUD_STS_ENDPOINT", fake.url()),
    ];
    let out = run(&fake, dir.path(), &env);
    let text = printed(&out);
    assert!(out.status.success(), "fetch failed:\n{text}");
    assert!(
        ims.bad_signatures.lock().unwrap().is_empty(),
        "{:?}",
        ims.bad_signatures.lock().unwrap()
    );
    assert_eq!(fake.actions()[0], "AssumeRoleWithOIDC");
    // Credentials are cached: one exchange for the whole run, retries included.
    assert_eq!(
        fake.actions()
            .iter()
            .filter(|a| *a == "AssumeRoleWithOIDC")
            .count(),
        1
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(format!("{ACCOUNT}.csv"))).unwrap(),
        report()
    );
    assert_no_secrets(&text, &[sts_key, SECRET, TOKEN, "projected.token"]);
    assert_answers_speak_alibabas_models(&fake);
}

#[test]
fn access_denied_fails_at_once_names_the_reason_and_keeps_the_last_report() {
    let (fake, ims) = start(Mode::AccessDenied, None, KEY_ID);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acme.csv");
    std::fs::write(&path, "the last good report").unwrap();
    let out = run(&fake, dir.path(), &env(&fake));
    let text = printed(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("access_denied") && text.contains("Forbidden.RAM"),
        "{text}"
    );
    // Not retried: access denied does not heal within an interval.
    assert_eq!(ims.generate_calls.load(Ordering::SeqCst), 0);
    assert_eq!(fake.actions().len(), 1, "{:?}", fake.actions());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "the last good report"
    );
    // The cloud's own message quoted our key id; the fetcher masks it.
    assert_no_secrets(&text, &[KEY_ID, SECRET, TOKEN]);
    assert!(text.contains("LTAI…ts01"), "{text}");
}

#[test]
fn a_malformed_answer_is_an_invalid_response_and_writes_nothing() {
    let (fake, _ims) = start(Mode::Malformed, None, KEY_ID);
    let dir = tempfile::tempdir().unwrap();
    let out = run(&fake, dir.path(), &env(&fake));
    let text = printed(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("invalid_response") && text.contains("not base64"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
    assert_no_secrets(&text, &[KEY_ID, SECRET, TOKEN]);
}

#[test]
fn missing_credentials_are_named() {
    let fake = Fake::start(|_| (500, String::new()));
    let dir = tempfile::tempdir().unwrap();
    let out = run(&fake, dir.path(), &[]);
    let text = printed(&out);
    assert!(!out.status.success());
    assert!(
        text.contains("ALIBABA_CLOUD_ACCESS_KEY_ID")
            && text.contains("ALIBABA_CLOUD_OIDC_TOKEN_FILE"),
        "{text}"
    );
    assert!(fake.requests.lock().unwrap().is_empty());
}

#[test]
fn the_fakes_verifier_refuses_a_request_signed_with_another_secret() {
    // Proves the verifier above checks something: the same run with a wrong secret fails.
    let (fake, ims) = start(Mode::Normal, None, KEY_ID);
    let dir = tempfile::tempdir().unwrap();
    let mut env = env(&fake);
    env[1].1 = "AnotherSecretThanTheFakeKnows0".to_owned();
    let out = run(&fake, dir.path(), &env);
    let text = printed(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("SignatureDoesNotMatch") && text.contains("access_denied"),
        "{text}"
    );
    assert!(!ims.bad_signatures.lock().unwrap().is_empty());
    assert_no_secrets(&text, &[KEY_ID, "AnotherSecretThanTheFakeKnows0", TOKEN]);
}

#[test]
fn the_exporter_reads_the_fetched_report() {
    let (fake, _ims) = start(Mode::Normal, None, KEY_ID);
    let dir = tempfile::tempdir().unwrap();
    let out = run(&fake, dir.path(), &env(&fake));
    assert!(out.status.success(), "{}", printed(&out));
    let exporter = crate::common::Exporter::start(dir.path(), &[]);
    let metrics = exporter.metrics();
    let r = format!("report=\"{ACCOUNT}\"");
    for line in [
        format!("credential_report_up{{{r}}} 1"),
        format!("credential_report_info{{{r},provider=\"alibaba-ram\"}} 1"),
        format!("credential_report_users{{{r},user_type=\"root\"}} 1"),
        format!("credential_report_users{{{r},user_type=\"ram_user\"}} 6"),
        format!("credential_report_users_without_mfa{{{r},user_type=\"ram_user\"}} 3"),
        format!("credential_report_users_without_mfa{{{r},user_type=\"root\"}} 1"),
        format!("credential_report_access_keys{{{r},status=\"active\"}} 7"),
        format!(
            "credential_report_generated_timestamp_seconds{{{r}}} {}.0",
            GENERATED.parse::<jiff::Timestamp>().unwrap().as_second()
        ),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line}:\n{metrics}"
        );
    }
    assert_eq!(metrics.matches("credential_report_cell_errors{").count(), 1);
    assert!(
        metrics.contains(&format!("credential_report_cell_errors{{{r}}} 0")),
        "{metrics}"
    );
}

#[test]
fn the_fetchers_metrics_count_the_throttled_attempt_and_the_expired_report() {
    let (fake, _ims) = start(Mode::Normal, None, KEY_ID);
    let dir = tempfile::tempdir().unwrap();
    let url = fake.url();
    let env = env(&fake);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let fetcher = crate::cloud_fakes::Fetcher::spawn(
        dir.path(),
        &["--provider", "alibaba-ram", "--alibaba.endpoint", &url],
        &env,
    );
    let metrics = fetcher
        .metrics_when(|m| m.contains("credential_report_fetch_last_success_timestamp_seconds{"));
    for line in [
        "credential_report_fetch_failures_total{account=\"default\",reason=\"throttled\"} 1",
        "credential_report_fetch_failures_total{account=\"default\",reason=\"access_denied\"} 0",
        "credential_report_fetch_api_calls_total{action=\"GetCredentialReport\",result=\"throttled\"} 1",
        "credential_report_fetch_api_calls_total{action=\"GetCredentialReport\",result=\"not_ready\"} 1",
        "credential_report_fetch_api_calls_total{action=\"GetCallerIdentity\",result=\"success\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing {line}:\n{metrics}");
    }
    assert_no_secrets(&metrics, &[KEY_ID, SECRET, TOKEN]);
}
