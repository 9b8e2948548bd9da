//! `fetch --provider tencent-cam` against the fake CAM and STS (tests/cloud_fakes/tencent.rs):
//! its [`Cloud`] for the contract, and what only Tencent's API makes the fetcher do: rebuild
//! the report from every list, page them, pace calls to CAM's rate limit, fail rather than
//! write "no key" for keys it could not read, exchange a TKE token.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{assert_left_alone, count, last_good_report, names, run, run_once, Cloud, Profile};
use crate::cloud_fakes::tencent::{self, FakeTencent, OWNER, SECRET_ID, SECRET_KEY, TOKEN};
use crate::cloud_fakes::{assert_no_secrets, Fault};

pub struct Tencent(FakeTencent);

impl Cloud for Tencent {
    const PROFILE: Profile = Profile {
        provider: "tencent-cam",
        account: OWNER,
        first_action: "GetUserAppId",
        report_action: "ListUsers",
        credentials: &[
            "TENCENTCLOUD_SECRET_KEY",
            "TENCENTCLOUD_SECRET_ID",
            "TENCENTCLOUD_SESSION_TOKEN",
        ],
        no_credentials_says: &["TENCENTCLOUD_SECRET_ID", "TKE_WEB_IDENTITY_TOKEN_FILE"],
        bad_signature: "AuthFailure.SignatureFailure",
        masked_key_id: "AKID…89ab",
        says: |fault| match fault {
            Fault::Throttle => "RequestLimitExceeded",
            Fault::Deny => "UnauthorizedOperation",
            Fault::ExpiredToken => "AuthFailure.TokenFailure",
            Fault::ServerError => "HTTP 503",
            Fault::Garbage => "ListUsers",
        },
        // Rebuilt now: no generation time of the cloud's.
        generated: None,
        throttling_fails_the_attempt: false,
        words: &[
            ("ListAccessKeys.AccessKeys.Status", &["Active", "Inactive"]),
            ("DescribeSubAccounts.SubAccounts.UserType", &["2", "3", "4"]),
        ],
        exporter_lines: &[
            r#"credential_report_users{REPORT,user_type="sub_user"} 10"#,
            r#"credential_report_users{REPORT,user_type="wecom_sub_user"} 1"#,
            r#"credential_report_users{REPORT,user_type="collaborator"} 2"#,
            r#"credential_report_users{REPORT,user_type="message_receiver"} 1"#,
            r#"credential_report_users_without_mfa{REPORT,user_type="sub_user"} 9"#,
            r#"credential_report_access_keys{REPORT,status="active"} 19"#,
            r#"credential_report_access_keys{REPORT,status="disabled"} 1"#,
            r#"credential_report_access_keys_over_90d{REPORT,status="active"} 18"#,
        ],
        // No API gives these checks: absent, not zero.
        absent_series: &[
            "credential_report_access_keys_at_risk",
            "credential_report_users_with_abnormal_logins",
        ],
        // Each of the 13 users' first ListAccessKeys is throttled, retried within the call.
        loop_lines: &[
            r#"credential_report_fetch_api_calls_total{action="ListUsers",result="invalid_response"} 1"#,
            r#"credential_report_fetch_api_calls_total{action="ListAccessKeys",result="throttled"} 13"#,
            r#"credential_report_fetch_api_calls_total{action="ListAccessKeys",result="success"} 13"#,
            r#"credential_report_fetch_api_calls_total{action="GetSecurityLastUsed",result="success"} 2"#,
            r#"credential_report_fetch_api_calls_total{action="DescribeSafeAuthFlagColl",result="invalid_response"} 1"#,
            r#"credential_report_fetch_api_calls_total{action="DescribeSafeAuthFlagColl",result="not_ready"} 1"#,
        ],
    };

    fn start() -> Tencent {
        Tencent(FakeTencent::start(None, None))
    }

    fn args(&self) -> Vec<String> {
        vec!["--tencent.endpoint".to_owned(), self.0.server.url()]
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TENCENTCLOUD_SECRET_ID", SECRET_ID.to_owned()),
            ("TENCENTCLOUD_SECRET_KEY", SECRET_KEY.to_owned()),
            ("TENCENTCLOUD_SESSION_TOKEN", TOKEN.to_owned()),
        ]
    }

    fn fail(&self, action: &str, fault: Fault, times: usize) {
        let answers = std::iter::repeat_n(Some(tencent::fault(fault)), times);
        self.0.state.scripts.push(action, answers);
    }

    fn actions(&self) -> Vec<String> {
        self.0.server.actions()
    }

    fn refused(&self) -> usize {
        self.0.state.bad.lock().unwrap().len()
    }

    /// And the users' key ids, which only the report may hold.
    fn secrets(&self) -> Vec<String> {
        [SECRET_ID, SECRET_KEY, TOKEN, "AKIDalice", "AKIDsvc"]
            .map(str::to_owned)
            .to_vec()
    }

    fn model_answers(&self) -> Vec<Value> {
        self.0.model_answers()
    }

    /// Rebuilt from every list: each kind of user once, with what each API says of it.
    fn assert_clean_fetch(&self, written: &[u8]) {
        let csv = String::from_utf8(written.to_vec()).unwrap();
        let header = csv.lines().next().unwrap();
        assert!(
            header.starts_with("AccountID,Username,UserType,CreationTime,PasswordEnabled"),
            "{header}"
        );
        assert!(
            !header.contains("MayBeAtRisk") && !header.contains("Abnormal"),
            "no API gives these: {header}"
        );
        let rows = rows(&csv);
        // 8 svc + alice + bot + carol + 2 partners + oncall; alice once although she also receives
        // messages; partner1, deleted after the lists were read, not at all.
        assert_eq!(rows.len(), 14, "{csv}");
        assert!(!rows.contains_key("partner1"), "{csv}");

        // user|column|cell; the comments say why a cell is what it is.
        let cells = [
            "alice|AccountID|100000000011",
            "alice|UserType|Sub-user",
            "alice|CreationTime|2019/8/16 9:25:56",
            "alice|PasswordEnabled|TRUE",
            "alice|LoginConsoleActive|TRUE",
            "alice|LoginProtectionActive|TRUE",
            "alice|OperationProtectionActive|TRUE",
            "alice|MFADeviceActive|TRUE", // a soft token is an MFA device
            "alice|AccessKey1SecretId|AKIDalice000000000000000000000000001",
            "alice|AccessKey1Status|Active",
            "alice|AccessKey1CreationTime|2020/3/14 11:22:33",
            // LastSecretUsedDate's moment, finer than the lagging LastUsedDate (2026-11-20).
            "alice|AccessKey1lastUsedDate|2026/11/21 8:09:10",
            "alice|AccessKey1CreatedOver90Days|TRUE",
            "alice|AccessKey2Status|Disable",
            "alice|AccessKey2lastUsedDate|N/A",
            "alice|AccessKey2CreatedOver30Days|FALSE",
            "bot, the \"builder\"|PasswordEnabled|FALSE",
            "bot, the \"builder\"|PasswordLastRotation|FALSE",
            "bot, the \"builder\"|MFADeviceActive|FALSE",
            "bot, the \"builder\"|AccessKey1CreatedOver30Days|TRUE",
            "bot, the \"builder\"|AccessKey1CreatedOver90Days|FALSE",
            "bot, the \"builder\"|AccessKey2SecretId|N/A",
            "carol|UserType|WeWork-Sub-user",
            "carol|PasswordEnabled|not_supported",
            "carol|LoginProtectionActive|TRUE",
            "carol|AccessKey1SecretId|N/A",
            "partner0|UserType|Collaborator",
            "partner0|LoginConsoleActive|not_supported",
            // A collaborator's API key is listed like a sub-user's.
            "partner0|AccessKey1SecretId|AKIDpartner0000000000000000000000000001",
            "partner0|AccessKey1Status|Active",
            "partner0|AccessKey1CreatedOver90Days|TRUE",
            "partner0|AccessKey1lastUsedDate|2026/11/19",
            "partner2|LoginProtectionActive|N/A", // DescribeSafeAuthFlagColl had nothing
            "partner2|AccessKey1SecretId|N/A",    // no keys
            "oncall|UserType|Message-receiver",
            "oncall|AccountID|555",
            "oncall|MFADeviceActive|not_supported",
            "svc7|AccessKey2SecretId|AKIDsvc7000000000000000000000000002",
        ];
        for expected in cells {
            let [user, column, cell] = expected.splitn(3, '|').collect::<Vec<_>>()[..] else {
                panic!("{expected}")
            };
            assert_eq!(rows[user][column], cell, "{user}'s {column}");
        }

        // Every list paged to its end; last use asked ten SecretIds at a time; throttled calls retried.
        let actions = self.actions();
        assert_eq!(count(&actions, "ListCollaborators"), 2, "{actions:?}");
        assert_eq!(
            count(&actions, "GetSecurityLastUsed"),
            2,
            "20 keys: 10 + 10"
        );
        // Each of 11 sub-users and 2 collaborators throttled once, then answered.
        assert_eq!(count(&actions, "ListAccessKeys"), 2 * 13);
        assert_eq!(count(&actions, "DescribeSubAccounts"), 1);
    }
}

/// The written CSV as rows keyed by Username, each a map column → cell.
fn rows(csv: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows = reader
        .deserialize::<BTreeMap<String, String>>()
        .map(Result::unwrap);
    rows.map(|row| (row["Username"].clone(), row)).collect()
}

#[test]
fn tke_workload_identity_exchanges_the_token_for_temporary_keys_once() {
    let cloud = Tencent::start();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.tke.token\n").unwrap();
    let env = vec![
        ("TKE_REGION", "ap-guangzhou".to_owned()),
        ("TKE_PROVIDER_ID", "tke-oidc-provider".to_owned()),
        (
            "TKE_ROLE_ARN",
            "qcs::cam::uin/100000000001:roleName/fetcher".to_owned(),
        ),
        (
            "TKE_WEB_IDENTITY_TOKEN_FILE",
            token_file.display().to_string(),
        ),
        ("TENCENTCLOUD_STS_ENDPOINT", cloud.0.server.url()),
    ];
    let reports = dir.path().join("reports");
    let (code, logs) = run(&cloud, &reports, &[], &env);
    assert_eq!(code, 0, "fetch failed:\n{logs}");
    assert_eq!(cloud.refused(), 0);
    let actions = cloud.actions();
    assert_eq!(actions[0], "AssumeRoleWithWebIdentity");
    assert_eq!(
        count(&actions, "AssumeRoleWithWebIdentity"),
        1,
        "cached for the run"
    );
    assert!(reports.join(format!("{OWNER}.csv")).exists());
    assert_no_secrets(&logs, &[SECRET_ID, SECRET_KEY, TOKEN, "tke.token"]);
    crate::python::assert_vendor_models(cloud.model_answers());
}

#[test]
fn keys_that_cannot_be_read_fail_the_fetch_and_keep_the_last_report() {
    let cloud = Tencent::start();
    *cloud.0.state.unreadable_keys.lock().unwrap() = Some(100000000103);
    let dir = tempfile::tempdir().unwrap();
    let last = last_good_report(dir.path(), OWNER);
    let (code, logs) = run_once(&cloud, dir.path(), &["--fetch.attempts", "2"]);
    assert_eq!(code, 1, "{logs}");
    // Never "no key" for "could not read": the whole fetch fails, with the reason.
    assert!(
        logs.contains("ListAccessKeys: InternalError") && logs.contains("(server)"),
        "{logs}"
    );
    assert_left_alone(&last);
    assert_no_secrets(&logs, &[SECRET_ID, SECRET_KEY, TOKEN]);
}

/// Fetches an account of `users` sub-users from a fake that refuses more than 20 calls of
/// one action in any second, as CAM documents; answers how many calls the fake refused.
fn fetch_paced(users: u64) -> u64 {
    let cloud = Tencent(FakeTencent::start(Some(users), Some(20)));
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    // One attempt, long enough for the whole account at the paced rate (about N / 18 s).
    let timeout = format!("{}s", 60 + users / 10);
    let flags = ["--fetch.attempts", "1", "--fetch.timeout", &timeout];
    let (code, logs) = run_once(&cloud, dir.path(), &flags);
    let took: Duration = started.elapsed();
    assert_eq!(code, 0, "{logs}");
    let csv = std::fs::read_to_string(dir.path().join(format!("{OWNER}.csv"))).unwrap();
    assert_eq!(csv.lines().count() as u64, users + 1);
    assert_eq!(names(dir.path()).len(), 1);
    let refused = *cloud.0.state.over_the_limit.lock().unwrap();
    eprintln!("{users} users: {took:?}, {refused} calls over the limit");
    refused
}

#[test]
fn calls_keep_within_twenty_a_second_per_action() {
    // 300 users: 300 ListAccessKeys and 300 DescribeSafeAuthFlagColl calls, paced.
    let refused = fetch_paced(300);
    assert!(refused <= 2, "{refused} calls were over CAM's rate limit");
}

#[test]
#[ignore = "takes about five minutes: 5,000 calls of each per-user action at 20 a second"]
fn five_thousand_users_keep_within_twenty_a_second_per_action() {
    let refused = fetch_paced(5_000);
    assert!(refused <= 2, "{refused} calls were over CAM's rate limit");
}
