//! `fetch --provider alibaba-ram` against the fake IMS and STS (tests/cloud_fakes/alibaba.rs):
//! its [`Cloud`] for the contract, and what only Alibaba's API makes the fetcher do: join
//! the report's pages, generate again a report that expired between two, exchange an RRSA token.

use serde_json::Value;

use super::{count, run, spawn, timestamp, Cloud, Profile};
use crate::cloud_fakes::alibaba::{self, report, FakeAlibaba, ACCOUNT, GENERATED, KEY_ID};
use crate::cloud_fakes::alibaba::{OIDC_PROVIDER_ARN, ROLE_ARN, SECRET, TOKEN};
use crate::cloud_fakes::{assert_no_secrets, Fault};

pub struct Alibaba(FakeAlibaba);

impl Cloud for Alibaba {
    const PROFILE: Profile = Profile {
        provider: "alibaba-ram",
        account: ACCOUNT,
        first_action: "GenerateCredentialReport",
        report_action: "GetCredentialReport",
        credentials: &[
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_SECURITY_TOKEN",
        ],
        no_credentials_says: &[
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
        ],
        bad_signature: "SignatureDoesNotMatch",
        masked_key_id: "LTAI…ts01",
        says: |fault| match fault {
            Fault::Throttle => "Throttling.User",
            Fault::Deny => "Forbidden.RAM",
            Fault::ExpiredToken => "InvalidSecurityToken.Expired",
            Fault::ServerError => "ServiceUnavailable",
            Fault::Garbage => "not base64",
        },
        generated: Some(GENERATED),
        throttling_fails_the_attempt: true,
        words: &[
            (
                "GenerateCredentialReport.State",
                &["COMPLETED", "INPROGRESS", "STARTED"],
            ),
            ("GetCredentialReport.IsTruncated", &["false", "true"]),
        ],
        exporter_lines: &[
            r#"credential_report_users{REPORT,user_type="root"} 1"#,
            r#"credential_report_users{REPORT,user_type="ram_user"} 6"#,
            r#"credential_report_users_without_mfa{REPORT,user_type="ram_user"} 3"#,
            r#"credential_report_users_without_mfa{REPORT,user_type="root"} 1"#,
            r#"credential_report_access_keys{REPORT,status="active"} 7"#,
        ],
        absent_series: &[],
        // The page whose Content is not base64 counts as a successful call (its content is
        // judged after the call), unlike AWS's and Tencent's malformed answers.
        loop_lines: &[
            r#"credential_report_fetch_api_calls_total{action="GetCredentialReport",result="success"} 4"#,
            r#"credential_report_fetch_api_calls_total{action="GetCallerIdentity",result="success"} 1"#,
        ],
    };

    fn start() -> Alibaba {
        Alibaba(FakeAlibaba::start(KEY_ID, None))
    }

    fn args(&self) -> Vec<String> {
        vec!["--alibaba.endpoint".to_owned(), self.0.server.url()]
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID.to_owned()),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET.to_owned()),
            ("ALIBABA_CLOUD_SECURITY_TOKEN", TOKEN.to_owned()),
            ("ALIBABA_CLOUD_STS_ENDPOINT", self.0.server.url()),
        ]
    }

    fn fail(&self, action: &str, fault: Fault, times: usize) {
        let answers = std::iter::repeat_n(Some(alibaba::fault(fault)), times);
        self.0.state.scripts.push(action, answers);
    }

    fn actions(&self) -> Vec<String> {
        self.0.server.actions()
    }

    fn refused(&self) -> usize {
        self.0.state.bad_signatures.lock().unwrap().len()
    }

    fn secrets(&self) -> Vec<String> {
        [KEY_ID, SECRET, TOKEN].map(str::to_owned).to_vec()
    }

    fn model_answers(&self) -> Vec<Value> {
        self.0.model_answers()
    }

    /// Named by the account GetCallerIdentity gives; three pages joined with the header once.
    fn assert_clean_fetch(&self, written: &[u8]) {
        assert_eq!(String::from_utf8_lossy(written), report());
        let actions = self.actions();
        assert_eq!(count(&actions, "GetCallerIdentity"), 1, "{actions:?}");
        assert_eq!(
            count(&actions, "GenerateCredentialReport"),
            3,
            "polled until COMPLETED"
        );
        assert_eq!(count(&actions, "GetCredentialReport"), 3, "three pages");
    }
}

#[test]
fn a_report_expired_between_pages_is_generated_again_and_joined_whole() {
    let cloud = Alibaba::start();
    // The second page's call finds the report expired: generate again and start over.
    let expired = alibaba::error(
        404,
        "EntityNotExist.CredentialReport",
        "The credential report has expired.",
    );
    cloud
        .0
        .state
        .scripts
        .push("GetCredentialReport", [None, Some(expired)]);
    let dir = tempfile::tempdir().unwrap();
    let fetcher = spawn(&cloud, dir.path());
    let metrics = fetcher
        .metrics_when(|m| m.contains("credential_report_fetch_last_success_timestamp_seconds{"));
    let path = dir.path().join(format!("{ACCOUNT}.csv"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), report());
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    assert_eq!(mtime, timestamp(GENERATED));
    let actions = cloud.actions();
    assert_eq!(
        count(&actions, "GenerateCredentialReport"),
        4,
        "{actions:?}"
    );
    assert_eq!(count(&actions, "GetCredentialReport"), 2 + 3, "{actions:?}");
    let line = "credential_report_fetch_api_calls_total{action=\"GetCredentialReport\",result=\"not_ready\"} 1";
    assert!(metrics.lines().any(|l| l == line), "no {line}:\n{metrics}");
    let (_, logs) = fetcher.stop();
    assert_eq!(cloud.refused(), 0);
    assert_no_secrets(&logs, &[KEY_ID, SECRET, TOKEN]);
    crate::python::assert_vendor_models(cloud.model_answers());
}

#[test]
fn rrsa_exchanges_the_service_account_token_for_sts_credentials_once() {
    let sts_key = "STS.NTestStsKeyIdFromOidc0001";
    let oidc_token = "eyJhbGciOiJSUzI1NiJ9.projected.token";
    let cloud = Alibaba(FakeAlibaba::start(sts_key, Some((sts_key, oidc_token))));
    // A throttled page: the retry must reuse the exchanged credentials.
    cloud.fail("GetCredentialReport", Fault::Throttle, 1);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{oidc_token}\n")).unwrap();
    let reports = dir.path().join("reports");
    let env = vec![
        ("ALIBABA_CLOUD_ROLE_ARN", ROLE_ARN.to_owned()),
        (
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            OIDC_PROVIDER_ARN.to_owned(),
        ),
        (
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
            token_file.display().to_string(),
        ),
        ("ALIBABA_CLOUD_STS_ENDPOINT", cloud.0.server.url()),
    ];
    let (code, logs) = run(&cloud, &reports, &[], &env);
    assert_eq!(code, 0, "fetch failed:\n{logs}");
    assert_eq!(cloud.refused(), 0);
    let actions = cloud.actions();
    assert_eq!(actions[0], "AssumeRoleWithOIDC");
    assert_eq!(
        count(&actions, "AssumeRoleWithOIDC"),
        1,
        "one exchange for the run, retries included"
    );
    let written = std::fs::read_to_string(reports.join(format!("{ACCOUNT}.csv"))).unwrap();
    assert_eq!(written, report());
    assert_no_secrets(&logs, &[sts_key, SECRET, TOKEN, "projected.token"]);
    crate::python::assert_vendor_models(cloud.model_answers());
}
