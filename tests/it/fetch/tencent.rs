//! `fetch --provider tencent-cam` against the fake CAM and STS (tests/cloud_fakes/tencent.rs):
//! its [`Cloud`] for the contract, and what only Tencent's API makes the fetcher do: rebuild
//! the report from every list, page them, pace calls to CAM's rate limit, fail rather than
//! write "no key" for keys it could not read, exchange a TKE token.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{assert_left_alone, count, last_good_report, names, run, run_once, Cloud};
use crate::cloud_fakes::tencent::{self, FakeTencent, OWNER, SECRET_ID, SECRET_KEY, TOKEN};
use crate::cloud_fakes::{assert_no_secrets, Fault};

pub struct Tencent(FakeTencent);

impl Cloud for Tencent {
    const PROVIDER: &'static str = "tencent-cam";
    const ACCOUNT: &'static str = OWNER;
    const FIRST_ACTION: &'static str = "GetUserAppId";
    const REPORT_ACTION: &'static str = "ListUsers";
    const CREDENTIALS: &'static [&'static str] = &[
        "TENCENTCLOUD_SECRET_KEY",
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SESSION_TOKEN",
    ];
    const NO_CREDENTIALS_SAYS: &'static [&'static str] =
        &["TENCENTCLOUD_SECRET_ID", "TKE_WEB_IDENTITY_TOKEN_FILE"];
    const BAD_SIGNATURE: &'static str = "AuthFailure.SignatureFailure";
    const MASKED_KEY_ID: &'static str = "AKID…89ab";
    const THROTTLING_FAILS_THE_ATTEMPT: bool = false;

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

    fn says(fault: Fault) -> &'static str {
        match fault {
            Fault::Throttle => "RequestLimitExceeded",
            Fault::Deny => "UnauthorizedOperation",
            Fault::ExpiredToken => "AuthFailure.TokenFailure",
            Fault::ServerError => "HTTP 503",
            Fault::Garbage => "ListUsers",
        }
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

        let alice = &rows["alice"];
        assert_eq!(alice["AccountID"], "100000000011");
        assert_eq!(alice["UserType"], "Sub-user");
        assert_eq!(alice["CreationTime"], "2019/8/16 9:25:56");
        assert_eq!(alice["PasswordEnabled"], "TRUE");
        assert_eq!(alice["LoginConsoleActive"], "TRUE");
        assert_eq!(alice["LoginProtectionActive"], "TRUE");
        assert_eq!(alice["OperationProtectionActive"], "TRUE");
        assert_eq!(
            alice["MFADeviceActive"], "TRUE",
            "a soft token is an MFA device"
        );
        assert_eq!(
            alice["AccessKey1SecretId"],
            "AKIDalice000000000000000000000000001"
        );
        assert_eq!(alice["AccessKey1Status"], "Active");
        assert_eq!(alice["AccessKey1CreationTime"], "2020/3/14 11:22:33");
        // LastSecretUsedDate's moment, finer than the lagging LastUsedDate (2026-11-20).
        assert_eq!(alice["AccessKey1lastUsedDate"], "2026/11/21 8:09:10");
        assert_eq!(alice["AccessKey1CreatedOver90Days"], "TRUE");
        assert_eq!(alice["AccessKey2Status"], "Disable");
        assert_eq!(alice["AccessKey2lastUsedDate"], "N/A");
        assert_eq!(alice["AccessKey2CreatedOver30Days"], "FALSE");

        let bot = &rows["bot, the \"builder\""];
        assert_eq!(bot["PasswordEnabled"], "FALSE");
        assert_eq!(bot["PasswordLastRotation"], "FALSE");
        assert_eq!(bot["MFADeviceActive"], "FALSE");
        assert_eq!(bot["AccessKey1CreatedOver30Days"], "TRUE");
        assert_eq!(bot["AccessKey1CreatedOver90Days"], "FALSE");
        assert_eq!(bot["AccessKey2SecretId"], "N/A");

        let carol = &rows["carol"];
        assert_eq!(carol["UserType"], "WeWork-Sub-user");
        assert_eq!(carol["PasswordEnabled"], "not_supported");
        assert_eq!(carol["LoginProtectionActive"], "TRUE");
        assert_eq!(carol["AccessKey1SecretId"], "N/A");

        assert_eq!(rows["partner0"]["UserType"], "Collaborator");
        assert_eq!(rows["partner0"]["LoginConsoleActive"], "not_supported");
        assert_eq!(
            rows["partner2"]["LoginProtectionActive"], "N/A",
            "DescribeSafeAuthFlagColl had nothing for it"
        );
        // A collaborator's API key is listed like a sub-user's.
        let partner0 = &rows["partner0"];
        assert_eq!(
            partner0["AccessKey1SecretId"],
            "AKIDpartner0000000000000000000000000001"
        );
        assert_eq!(partner0["AccessKey1Status"], "Active");
        assert_eq!(partner0["AccessKey1CreatedOver90Days"], "TRUE");
        assert_eq!(partner0["AccessKey1lastUsedDate"], "2026/11/19");
        assert_eq!(rows["partner2"]["AccessKey1SecretId"], "N/A", "no keys");
        assert_eq!(rows["oncall"]["UserType"], "Message-receiver");
        assert_eq!(rows["oncall"]["AccountID"], "555");
        assert_eq!(rows["oncall"]["MFADeviceActive"], "not_supported");
        assert_eq!(
            rows["svc7"]["AccessKey2SecretId"],
            "AKIDsvc7000000000000000000000000002"
        );

        // Every list paged to its end; last use asked ten SecretIds at a time; throttled calls retried.
        let actions = self.actions();
        let count = |a: &str| actions.iter().filter(|x| *x == a).count();
        assert_eq!(count("ListCollaborators"), 2, "{actions:?}");
        assert_eq!(count("GetSecurityLastUsed"), 2, "20 keys: 10 + 10");
        assert_eq!(
            count("ListAccessKeys"),
            2 * 13,
            "each of 11 sub-users and 2 collaborators throttled once, then answered"
        );
        assert_eq!(count("DescribeSubAccounts"), 1);
    }

    fn generated(&self) -> Option<&'static str> {
        None
    }

    fn words(&self) -> Vec<(&'static str, Value)> {
        vec![
            (
                "ListAccessKeys.AccessKeys.Status",
                json!(["Active", "Inactive"]),
            ),
            (
                "DescribeSubAccounts.SubAccounts.UserType",
                json!(["2", "3", "4"]),
            ),
        ]
    }

    fn exporter_lines(&self, r: &str) -> Vec<String> {
        vec![
            format!("credential_report_users{{{r},user_type=\"sub_user\"}} 10"),
            format!("credential_report_users{{{r},user_type=\"wecom_sub_user\"}} 1"),
            format!("credential_report_users{{{r},user_type=\"collaborator\"}} 2"),
            format!("credential_report_users{{{r},user_type=\"message_receiver\"}} 1"),
            format!("credential_report_users_without_mfa{{{r},user_type=\"sub_user\"}} 9"),
            format!("credential_report_access_keys{{{r},status=\"active\"}} 19"),
            format!("credential_report_access_keys{{{r},status=\"disabled\"}} 1"),
            format!("credential_report_access_keys_over_90d{{{r},status=\"active\"}} 18"),
        ]
    }

    /// No API gives these checks: absent, not zero.
    fn absent_series(&self) -> Vec<&'static str> {
        vec![
            "credential_report_access_keys_at_risk",
            "credential_report_users_with_abnormal_logins",
        ]
    }

    fn loop_lines(&self) -> Vec<String> {
        [
            "credential_report_fetch_api_calls_total{action=\"ListUsers\",result=\"invalid_response\"} 1",
            "credential_report_fetch_api_calls_total{action=\"ListAccessKeys\",result=\"throttled\"} 13",
            "credential_report_fetch_api_calls_total{action=\"ListAccessKeys\",result=\"success\"} 13",
            "credential_report_fetch_api_calls_total{action=\"GetSecurityLastUsed\",result=\"success\"} 2",
            "credential_report_fetch_api_calls_total{action=\"DescribeSafeAuthFlagColl\",result=\"invalid_response\"} 1",
            "credential_report_fetch_api_calls_total{action=\"DescribeSafeAuthFlagColl\",result=\"not_ready\"} 1",
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

/// The written CSV as rows keyed by Username, each a map column → cell.
fn rows(csv: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let row: BTreeMap<String, String> = header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_owned))
                .collect();
            (row["Username"].clone(), row)
        })
        .collect()
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
