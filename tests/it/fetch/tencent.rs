//! `fetch --provider tencent-cam` against the fake CAM, STS and Organization
//! (tests/cloud_fakes/tencent.rs): its [`Cloud`] and [`Organization`] for the contracts, and
//! what only Tencent's API makes the fetcher do: rebuild the report from every list, page
//! them, pace calls to CAM's rate limit, fail rather than write "no key" for keys it could not
//! read, exchange a TKE token; with `--organization`, assume each member's role in STS's
//! notation, follow the listing's short pages, renew a member's keys before they expire.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::organization::{spawn_organization, Organization, MEMBERS};
use super::{assert_left_alone, count, last_good_report, names, run, run_once, Cloud, Profile};
use crate::cloud_fakes::tencent::{self, FakeTencent, Member, OWNER, SECRET_ID, SECRET_KEY, TOKEN};
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
            // STS for the roles of an organization's members.
            ("TENCENTCLOUD_STS_ENDPOINT", self.0.server.url()),
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

    /// And the users' key ids, which only the report may hold, and the members' role keys.
    fn secrets(&self) -> Vec<String> {
        let own = [
            SECRET_ID,
            SECRET_KEY,
            TOKEN,
            "AKIDalice",
            "AKIDsvc",
            "AKIDmember",
        ];
        let mut secrets = own.map(str::to_owned).to_vec();
        secrets.extend(self.0.state.issued());
        secrets
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
    let limits = cloud.0.state.limits.as_ref().unwrap();
    let refused = limits.refused.load(std::sync::atomic::Ordering::Relaxed);
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

// ---- --organization: Tencent Cloud Organization's members, each through its role ----------

const PROD: u64 = 200000000101;
const DEV: u64 = 200000000102;

impl Organization for Tencent {
    const LISTING: &'static str = "DescribeOrganizationMembers";
    const ASSUME: &'static str = "AssumeRole";
    const ROLE_REFUSED: &'static str = "ResourceNotFound.RoleNotFound";

    /// The management account first, without the role; 29 members with it.
    fn start_organization() -> Tencent {
        let members: Vec<(u64, String)> = (1..MEMBERS as u64)
            .map(|i| (200000000100 + i, format!("team-{i:02}")))
            .collect();
        let members: Vec<(u64, &str)> = members.iter().map(|(u, n)| (*u, n.as_str())).collect();
        organization(&members)
    }

    fn members(&self) -> Vec<(String, String)> {
        let org = self.0.state.org.lock().unwrap();
        (org.members.iter())
            .map(|m| (m.uin.to_string(), m.name.clone()))
            .collect()
    }

    /// OrgMember has no state: every member listed is one.
    fn inactive(&self) -> Option<String> {
        None
    }

    fn organization_args(&self) -> Vec<String> {
        vec![
            "--tencent.organization-endpoint".to_owned(),
            self.0.server.url(),
        ]
    }

    fn refuse_role(&self, id: &str) {
        let mut org = self.0.state.org.lock().unwrap();
        let member = org.members.iter_mut().find(|m| m.uin.to_string() == id);
        member.unwrap().role = None;
    }

    fn remove_member(&self, id: &str) {
        let mut org = self.0.state.org.lock().unwrap();
        org.members.retain(|m| m.uin.to_string() != id);
    }

    fn fail_member(&self, id: &str, action: &str, fault: Fault, times: usize) {
        let answers = std::iter::repeat_n(Some(tencent::fault(fault)), times);
        self.0
            .state
            .scripts
            .push(&format!("{action}@{id}"), answers);
    }

    /// Rebuilt from the member's own answers: its two users and its CI user's key.
    fn assert_member_report(&self, id: &str, written: &[u8]) {
        assert_eq!(
            String::from_utf8_lossy(written),
            member_report(id.parse().unwrap()),
            "{id}"
        );
    }
}

/// The report the fetcher rebuilds from a member's account as the fake serves it.
fn member_report(member: u64) -> String {
    MEMBER_REPORT
        .replace("MEMBER", &member.to_string())
        .replace("ADMIN_UIN", &(member * 10 + 1).to_string())
        .replace("CI_UIN", &(member * 10 + 2).to_string())
        .replace("CI_KEY", &tencent::member_key(member))
}

/// Every column as today's single-account report; the admin has a console password and no
/// key, the CI user one key, last used the day GetSecurityLastUsed says.
const MEMBER_REPORT: &str = "\
AccountID,Username,UserType,CreationTime,PasswordEnabled,PasswordLastRotation,LoginConsoleActive,\
LoginProtectionActive,OperationProtectionActive,MFADeviceActive,AccessKey1SecretId,\
AccessKey1CreationTime,AccessKey1Status,AccessKey1lastUsedDate,AccessKey1CreatedOver90Days,\
AccessKey1CreatedOver30Days,AccessKey2SecretId,AccessKey2CreationTime,AccessKey2Status,\
AccessKey2lastUsedDate,AccessKey2CreatedOver90Days,AccessKey2CreatedOver30Days
ADMIN_UIN,admin-of-MEMBER,Sub-user,2024/2/3 4:05:06,TRUE,N/A,TRUE,FALSE,FALSE,FALSE,\
N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A
CI_UIN,ci-of-MEMBER,Sub-user,2024/2/3 4:05:06,FALSE,FALSE,FALSE,FALSE,FALSE,FALSE,\
CI_KEY,2024/2/3 4:05:06,Active,2026/11/19,TRUE,TRUE,N/A,N/A,N/A,N/A,N/A,N/A
";

/// The fake as an organization of `members`, its management account listed first (without
/// the role, as a management account is).
fn organization(members: &[(u64, &str)]) -> Tencent {
    let cloud = Tencent::start();
    let mut org = cloud.0.state.org.lock().unwrap();
    org.members.push(Member {
        role: None,
        ..Member::new(OWNER.parse().unwrap(), "management")
    });
    for (uin, name) in members {
        org.members.push(Member::new(*uin, name));
    }
    drop(org);
    cloud
}

/// An organization fetch against `cloud` with `extra` flags.
fn org_run(cloud: &Tencent, dir: &Path, extra: &[&str]) -> (i32, String) {
    let own = cloud.organization_args();
    let own: Vec<&str> = own.iter().map(String::as_str).collect();
    let flags = [&["--organization"][..], &own, extra].concat();
    run(cloud, dir, &flags, &cloud.env())
}

/// The reports in a folder, without the fetcher's hidden record of what it wrote.
fn reports(dir: &Path) -> Vec<String> {
    let names = names(dir).into_iter().filter(|n| !n.starts_with('.'));
    let mut names: Vec<String> = names.collect();
    names.sort();
    names
}

fn requests_of(cloud: &Tencent, action: &str) -> Vec<Value> {
    let requests = cloud.0.server.requests.lock().unwrap();
    let asked = requests
        .iter()
        .filter(|r| r.header("x-tc-action") == Some(action));
    asked
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// `--tencent.role-name` in STS's notation, one AssumeRole a member, the management
/// account excluded by id; the answers in the SDK models' words.
#[test]
fn each_members_role_is_assumed_in_stss_notation() {
    let cloud = organization(&[(PROD, "prod"), (DEV, "dev")]);
    for member in &mut cloud.0.state.org.lock().unwrap().members[1..] {
        member.role = Some("CredentialReportReader".to_owned());
    }
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--organization.exclude",
        OWNER,
        "--tencent.role-name",
        "CredentialReportReader",
    ];
    let (code, logs) = org_run(&cloud, dir.path(), &flags);
    assert_eq!(code, 0, "{logs}");
    assert_eq!(
        reports(dir.path()),
        [format!("{PROD}.csv"), format!("{DEV}.csv")]
    );
    let arns: Vec<Value> = requests_of(&cloud, "AssumeRole")
        .into_iter()
        .map(|body| body["RoleArn"].clone())
        .collect();
    assert_eq!(arns.len(), 2);
    for member in [PROD, DEV] {
        let arn = format!("qcs::cam::uin/{member}:roleName/CredentialReportReader");
        assert!(arns.contains(&arn.into()), "{arns:?}");
    }
    assert_eq!(cloud.refused(), 0);
    assert_no_secrets(&logs, &cloud.secrets());
    let words = crate::python::assert_vendor_models(cloud.model_answers());
    let members = "DescribeOrganizationMembers.Items";
    assert_eq!(
        words[&format!("{members}.MemberType")],
        serde_json::json!(["Create"])
    );
    assert_eq!(
        words[&format!("{members}.PermissionStatus")],
        serde_json::json!(["Confirmed"])
    );
}

/// A member that left between the listing and its fetch (STS: the account is not available)
/// fails alone as `access_denied`, named with the action and the role.
#[test]
fn a_member_gone_since_the_listing_fails_alone_as_access_denied() {
    let cloud = organization(&[(PROD, "prod"), (DEV, "dev")]);
    let gone = tencent::err("InvalidParameter.AccountNotAvaliable", "not available");
    (cloud.0.state.scripts).push(&format!("AssumeRole@{DEV}"), [Some(gone)]);
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = org_run(
        &cloud,
        dir.path(),
        &["--organization.exclude", "management"],
    );
    assert_eq!(code, 1, "{logs}");
    let said = format!("{DEV}: AssumeRole qcs::cam::uin/{DEV}:roleName/OrganizationAccessControlRole: InvalidParameter.AccountNotAvaliable: not available (access_denied)");
    assert!(logs.contains(&said), "{logs}");
    assert_eq!(reports(dir.path()), [format!("{PROD}.csv")]);
    assert_eq!(count(&cloud.actions(), "AssumeRole"), 2, "not retried");
}

/// The listing follows Offset by the members each page gave (the fake gives 7 of the 50
/// asked) to Total.
#[test]
fn the_listing_follows_short_pages_to_the_total() {
    let members: Vec<(u64, String)> = (0..20)
        .map(|i| (300000000000 + i, format!("m{i}")))
        .collect();
    let members: Vec<(u64, &str)> = members.iter().map(|(u, n)| (*u, n.as_str())).collect();
    let cloud = organization(&members);
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = org_run(
        &cloud,
        dir.path(),
        &["--organization.exclude", "management"],
    );
    assert_eq!(code, 0, "{logs}");
    assert_eq!(reports(dir.path()).len(), 20);
    let pages = requests_of(&cloud, "DescribeOrganizationMembers");
    let asked = |offset: u64| serde_json::json!({"Offset": offset, "Limit": 50});
    // 21 members listed, the management account among them: 7, 7 and 7.
    assert_eq!(pages, [asked(0), asked(7), asked(14)]);
}

/// A delegated administrator names its trusted service: every page of the listing asks
/// with that `Product` (the model: a delegated administrator must give it).
#[test]
fn a_delegated_administrator_lists_with_its_product() {
    let cloud = organization(&[(300000000001, "payments")]);
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--organization.exclude", "management"];
    let (code, logs) = org_run(
        &cloud,
        dir.path(),
        &[
            &flags[..],
            &["--tencent.organization-product", "cloudaudit"],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{logs}");
    assert_eq!(reports(dir.path()).len(), 1);
    let asked = serde_json::json!({"Offset": 0, "Limit": 50, "Product": "cloudaudit"});
    assert_eq!(requests_of(&cloud, "DescribeOrganizationMembers"), [asked]);
}

/// A listing that is not in the model's words, ends before its Total, names a member by
/// something that is not an account id, gives more than the fetcher holds (a page of over
/// 1,000 members, a name over 1,024 bytes), or is refused: the round fails naming the
/// listing, nothing is fetched, and no report is touched (even with forget-after 0s).
#[test]
fn a_listing_that_is_not_the_models_touches_no_report() {
    let page = |items: Value, total: u64| {
        Some(tencent::ok(
            serde_json::json!({"Items": items, "Total": total}),
        ))
    };
    let member = |uin: Value| serde_json::json!({"MemberUin": uin, "Name": "x"});
    let crowd: Vec<Value> = (1..=1001u64).map(|uin| member(uin.into())).collect();
    let long_name = serde_json::json!({"MemberUin": PROD, "Name": "n".repeat(1025)});
    let cases = [
        (
            Some(tencent::fault(Fault::Garbage)),
            "DescribeOrganizationMembers: HTTP 200: the answer is not the documented JSON",
        ),
        (
            page(serde_json::json!(crowd), 5000),
            "(invalid length 1001, expected a list of at most 1000 entries)",
        ),
        (
            page(serde_json::json!([{"Name": "x"}]), 1),
            "(missing field MemberUin)",
        ),
        (
            page(serde_json::json!([long_name]), 1),
            &format!("member {PROD}: a Name or tag value is longer than 1024 bytes"),
        ),
        (
            page(serde_json::json!([]), 3),
            "the pages end after 0 members, where Total says 3",
        ),
        (
            page(serde_json::json!([member("../x".into())]), 1),
            "is not an account id (a positive integer)",
        ),
        (Some(tencent::fault(Fault::Deny)), "UnauthorizedOperation"),
    ];
    for (answer, says) in cases {
        let cloud = organization(&[(PROD, "prod")]);
        cloud
            .0
            .state
            .scripts
            .push("DescribeOrganizationMembers", [answer]);
        let dir = tempfile::tempdir().unwrap();
        let last = last_good_report(dir.path(), &PROD.to_string());
        // One attempt: the listing is retried like a report otherwise.
        let flags = ["--organization.forget-after", "0s", "--fetch.attempts", "1"];
        let (code, logs) = org_run(&cloud, dir.path(), &flags);
        assert_eq!(code, 1, "{logs}");
        assert!(
            logs.contains("listing the accounts") && logs.contains(says),
            "{says}:\n{logs}"
        );
        assert_eq!(
            cloud.actions(),
            ["DescribeOrganizationMembers"],
            "nothing after it"
        );
        assert_left_alone(&last);
        assert_no_secrets(&logs, &cloud.secrets());
    }
}

/// A listing whose pages never reach their Total stops at 100,000 members, the most the
/// fetcher holds: 100 pages of the 1,000 members it takes of one page, then the round fails
/// naming the bound, before a 101st page is asked or any member fetched.
#[test]
fn a_listing_past_a_hundred_thousand_members_ends() {
    let cloud = organization(&[(PROD, "prod")]);
    let items: Vec<Value> = (1..=1000u64)
        .map(|uin| serde_json::json!({"MemberUin": uin, "Name": "x"}))
        .collect();
    let page = tencent::ok(serde_json::json!({"Items": items, "Total": 1_000_000_000u64}));
    (cloud.0.state.scripts).push(
        "DescribeOrganizationMembers",
        (0..101).map(|_| Some(page.clone())),
    );
    let dir = tempfile::tempdir().unwrap();
    let last = last_good_report(dir.path(), &PROD.to_string());
    let flags = ["--organization.forget-after", "0s", "--fetch.attempts", "1"];
    let (code, logs) = org_run(&cloud, dir.path(), &flags);
    assert_eq!(code, 1, "{logs}");
    assert!(
        logs.contains("more than 100000 members listed: the pages do not end"),
        "{logs}"
    );
    let actions = cloud.actions();
    assert_eq!(actions.len(), 100, "{actions:?}");
    assert_eq!(count(&actions, "DescribeOrganizationMembers"), 100);
    assert_left_alone(&last);
}

#[test]
fn member_keys_are_assumed_again_before_they_expire_and_expired_ones_fail_the_member() {
    // Keys that live a minute, under the tenth of two hours the fetcher keeps in hand: each
    // call of the member's is made with keys assumed anew, and all succeed.
    let cloud = organization(&[(PROD, "prod")]);
    cloud.0.state.org.lock().unwrap().session_seconds = Some(60);
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = org_run(
        &cloud,
        dir.path(),
        &["--organization.exclude", "management"],
    );
    assert_eq!(code, 0, "{logs}");
    let actions = cloud.actions();
    let cam_calls = actions.len() - count(&actions, "AssumeRole") - 1;
    // Once before the first call, then before each.
    assert_eq!(count(&actions, "AssumeRole"), cam_calls + 1, "{actions:?}");
    cloud.assert_member_report(
        &PROD.to_string(),
        &std::fs::read(dir.path().join(format!("{PROD}.csv"))).unwrap(),
    );

    // Keys already expired when they arrive: refused, named with the member and the action,
    // and nothing is written.
    let cloud = organization(&[(PROD, "prod")]);
    cloud.0.state.org.lock().unwrap().session_seconds = Some(-1);
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = org_run(
        &cloud,
        dir.path(),
        &["--organization.exclude", "management"],
    );
    assert_eq!(code, 1, "{logs}");
    assert!(
        logs.contains(&format!("{PROD}: AssumeRole")) && logs.contains("ExpiredTime"),
        "{logs}"
    );
    assert!(reports(dir.path()).is_empty());
    assert_no_secrets(&logs, &cloud.secrets());
}

/// Keys that GetUserAppId says act on another account than the member write nothing.
#[test]
fn keys_that_act_on_another_account_write_nothing() {
    let cloud = organization(&[(PROD, "prod")]);
    let owner = "200000000999";
    let other =
        tencent::ok(serde_json::json!({"Uin": owner, "OwnerUin": owner, "AppId": 1250000000}));
    cloud
        .0
        .state
        .scripts
        .push(&format!("GetUserAppId@{PROD}"), [Some(other)]);
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--organization.exclude",
        "management",
        "--fetch.attempts",
        "1",
    ];
    let (code, logs) = org_run(&cloud, dir.path(), &flags);
    assert_eq!(code, 1, "{logs}");
    assert!(
        logs.contains("act on account 200000000999, not on the member")
            && logs.contains("invalid_response"),
        "{logs}"
    );
    assert!(reports(dir.path()).is_empty());
}

/// `--organization.tag-labels` takes the tags the listing carries: no other call.
#[test]
fn tag_labels_come_from_the_listing() {
    let cloud = organization(&[(PROD, "prod"), (DEV, "dev")]);
    let dir = tempfile::tempdir().unwrap();
    let mut args = cloud.organization_args();
    args.extend(["--organization.tag-labels", "team"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let fetcher = spawn_organization(&cloud, dir.path(), &args);
    let done =
        format!("credential_report_fetch_last_success_timestamp_seconds{{account=\"{DEV}\"}}");
    let metrics = fetcher.metrics_when(|m| m.contains(&done));
    let lines = [
        format!("credential_report_fetch_account_info{{account=\"{PROD}\",account_name=\"prod\",tag_team=\"team-prod\"}} 1"),
        format!("credential_report_fetch_account_info{{account=\"{DEV}\",account_name=\"dev\",tag_team=\"team-dev\"}} 1"),
        "credential_report_fetch_api_calls_total{action=\"DescribeOrganizationMembers\",result=\"success\"} 1".to_owned(),
    ];
    super::assert_lines(&metrics, &lines);
    let (status, logs) = fetcher.stop();
    assert!(status.success(), "{status}");
    assert_no_secrets(&logs, &cloud.secrets());
}

/// A thousand members in one round: every report written, each member's calls paced on
/// their own. Run by hand: `cargo test --test it -- --ignored a_thousand_members`.
#[test]
#[ignore = "about a minute: 1,000 members, 12,000 calls"]
fn a_thousand_members_are_fetched_in_one_round() {
    let members: Vec<(u64, String)> = (0..1000)
        .map(|i| (400000000000 + i, format!("m{i}")))
        .collect();
    let members: Vec<(u64, &str)> = members.iter().map(|(u, n)| (*u, n.as_str())).collect();
    let cloud = organization(&members);
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let flags = [
        "--organization.exclude",
        "management",
        "--fetch.timeout",
        "600s",
    ];
    let (code, logs) = org_run(&cloud, dir.path(), &flags);
    let took = started.elapsed();
    assert_eq!(code, 0, "{}", &logs[logs.len().saturating_sub(3000)..]);
    assert_eq!(reports(dir.path()).len(), 1000);
    let actions = cloud.actions();
    eprintln!(
        "1,000 members: {took:?}, {} calls, {} AssumeRole, {} listing pages",
        actions.len(),
        count(&actions, "AssumeRole"),
        count(&actions, "DescribeOrganizationMembers")
    );
}
