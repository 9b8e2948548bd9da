//! `fetch --provider alibaba-ram` against the fake IMS and STS (tests/cloud_fakes/alibaba.rs):
//! its [`Cloud`] for the contract, and what only Alibaba's API makes the fetcher do: join
//! the report's pages, generate again a report that expired between two, exchange an RRSA
//! token; and `--organization` over a Resource Directory (ListAccounts, AssumeRole).

use serde_json::Value;

use super::{assert_left_alone, assert_says, last_good_report, names};
use super::{count, run, run_once, spawn, timestamp, Cloud, Profile};
use crate::cloud_fakes::alibaba::{self, member_keys, report, report_of, FakeAlibaba};
use crate::cloud_fakes::alibaba::{ACCOUNT, GENERATED, KEY_ID, OIDC_PROVIDER_ARN, ROLE_ARN};
use crate::cloud_fakes::alibaba::{SECRET, TOKEN};
use crate::cloud_fakes::{assert_no_secrets, Fault, Fetcher};

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
            // Content that is not base64: not the model's answer, told as any other.
            Fault::Garbage => "GetCredentialReport: the answer is not the documented JSON",
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
        // The page whose Content is not base64 is an invalid answer, as AWS's and Tencent's
        // malformed answers are; the three pages of the next attempt succeed.
        loop_lines: &[
            r#"credential_report_fetch_api_calls_total{action="GetCredentialReport",result="invalid_response"} 1"#,
            r#"credential_report_fetch_api_calls_total{action="GetCredentialReport",result="success"} 3"#,
            r#"credential_report_fetch_api_calls_total{action="GetCallerIdentity",result="success"} 1"#,
        ],
    };

    fn start() -> Alibaba {
        Alibaba(FakeAlibaba::start(KEY_ID, None))
    }

    fn args(&self) -> Vec<String> {
        let url = self.0.server.url();
        let flags = ["--alibaba.endpoint", "--alibaba.resourcemanager-endpoint"];
        flags
            .into_iter()
            .flat_map(|f| [f.to_owned(), url.clone()])
            .collect()
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

    /// The management keys, and the temporary keys the fake hands out to each member.
    fn secrets(&self) -> Vec<String> {
        let own = [KEY_ID, SECRET, TOKEN].map(str::to_owned);
        let members = self.0.state.members.lock().unwrap();
        let issued = members.keys().flat_map(|id| member_keys(id));
        own.into_iter().chain(issued).collect()
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

/// The report does not name its account, so the default file name comes from
/// GetCallerIdentity: when that is refused, the failure says so (not "invalid response"),
/// and `--report.name` makes the call unneeded for the name.
#[test]
fn a_refused_get_caller_identity_fails_as_itself_unless_the_report_is_named() {
    let cloud = Alibaba::start();
    cloud.fail("GetCallerIdentity", Fault::Deny, 1);
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = run_once(&cloud, dir.path(), &[]);
    assert_eq!(code, 1, "{logs}");
    assert_says(
        &logs,
        &["GetCallerIdentity", "access_denied", "--report.name"],
    );
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
    assert_no_secrets(&logs, &[KEY_ID, SECRET, TOKEN]);

    cloud.fail("GetCallerIdentity", Fault::Deny, 1);
    let (code, logs) = run_once(&cloud, dir.path(), &["--report.name", "acme"]);
    assert_eq!(code, 0, "{logs}");
    assert_eq!(names(dir.path()), ["acme.csv"]);
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

impl super::organization::Organization for Alibaba {
    const LISTING: &'static str = "ListAccounts";
    const ASSUME: &'static str = "AssumeRole";
    const ROLE_REFUSED: &'static str = "EntityNotExist.Role";

    /// The management account first (listed like any member, without the role), 28 members
    /// with it, and one `Removed`.
    fn start_organization() -> Alibaba {
        let cloud = Alibaba::start();
        cloud.0.add_member(ACCOUNT, "management", false);
        let count = super::organization::MEMBERS - 1;
        for i in 1..=count {
            let id = format!("20000000000000{i:02}");
            cloud.0.add_member(&id, &format!("team-{i:02}"), true);
        }
        cloud.0.member(&format!("20000000000000{count:02}"), |m| {
            m.status = "Removed"
        });
        cloud
    }

    fn members(&self) -> Vec<(String, String)> {
        let members = self.0.state.members.lock().unwrap();
        let listed = members.iter().map(|(id, m)| (id.clone(), m.name.clone()));
        listed.collect()
    }

    fn inactive(&self) -> Option<String> {
        let members = self.0.state.members.lock().unwrap();
        let removed = members.iter().find(|(_, m)| m.status == "Removed");
        removed.map(|(id, _)| id.clone())
    }

    /// `args` already points `--alibaba.resourcemanager-endpoint` at the fake.
    fn organization_args(&self) -> Vec<String> {
        Vec::new()
    }

    fn refuse_role(&self, id: &str) {
        self.0.member(id, |m| m.role = false);
    }

    fn remove_member(&self, id: &str) {
        self.0.remove_member(id);
    }

    fn fail_member(&self, id: &str, action: &str, fault: Fault, times: usize) {
        let answers = std::iter::repeat_n(Some(alibaba::fault(fault)), times);
        self.0
            .state
            .scripts
            .push(&format!("{action}@{id}"), answers);
    }

    /// Byte for byte the member's own report, which the fake serves only to its keys.
    fn assert_member_report(&self, id: &str, written: &[u8]) {
        assert_eq!(String::from_utf8_lossy(written), report_of(id), "{id}");
    }
}

// ---- --organization: a Resource Directory ------------------------------------------------

const PAYMENTS: &str = "1111111111111111";
const SANDBOX: &str = "2222222222222222";
const LEDGER: &str = ".credential-report-fetcher.json";

/// The management account (its own role in place) and two members.
fn directory() -> Alibaba {
    let cloud = Alibaba::start();
    cloud.0.add_member(ACCOUNT, "management", true);
    cloud.0.add_member(PAYMENTS, "payments", true);
    cloud.0.add_member(SANDBOX, "sandbox", true);
    cloud
}

/// Every secret the fake knows or handed out, members' temporary keys included.
fn all_secrets(cloud: &Alibaba) -> Vec<String> {
    let members = [ACCOUNT, PAYMENTS, SANDBOX]
        .into_iter()
        .flat_map(member_keys);
    cloud.secrets().into_iter().chain(members).collect()
}

fn csv(id: &str) -> String {
    format!("{id}.csv")
}

/// The files a fetch left in `dir`, sorted, the fetcher's ledger left out.
fn reports(dir: &std::path::Path) -> Vec<String> {
    let mut found: Vec<String> = names(dir).into_iter().filter(|n| n != LEDGER).collect();
    found.sort();
    found
}

#[test]
fn every_member_is_fetched_with_its_own_temporary_keys_byte_for_byte() {
    let cloud = directory();
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = run_once(&cloud, dir.path(), &["--organization"]);
    assert_eq!(code, 0, "{logs}");
    assert_eq!(
        reports(dir.path()),
        [csv(PAYMENTS), csv(ACCOUNT), csv(SANDBOX)]
    );
    for id in [ACCOUNT, PAYMENTS, SANDBOX] {
        let written = std::fs::read_to_string(dir.path().join(csv(id))).unwrap();
        assert_eq!(written, report_of(id), "{id}");
        let mtime = std::fs::metadata(dir.path().join(csv(id)))
            .unwrap()
            .modified();
        assert_eq!(mtime.unwrap(), timestamp(GENERATED), "{id}");
    }
    let actions = cloud.actions();
    assert_eq!(count(&actions, "ListAccounts"), 1, "{actions:?}");
    assert_eq!(count(&actions, "AssumeRole"), 3, "one a member");
    assert_eq!(
        count(&actions, "GetCallerIdentity"),
        0,
        "the listing names them"
    );
    assert_eq!(count(&actions, "GetCredentialReport"), 3 * 3, "{actions:?}");
    // Every IMS call signed with the member's own temporary keys (the fake serves a member's
    // report only to them), every management call with the management keys.
    assert_eq!(cloud.refused(), 0);
    let requests = cloud.0.server.requests.lock().unwrap().clone();
    let signer = |r: &crate::cloud_fakes::Request| r.header("authorization").unwrap().to_owned();
    for r in &requests {
        let management =
            ["ListAccounts", "AssumeRole"].contains(&r.header("x-acs-action").unwrap());
        assert_eq!(
            signer(r).contains(KEY_ID),
            management,
            "{:?}",
            r.header("x-acs-action")
        );
    }
    let assumed: Vec<String> = (requests.iter())
        .filter(|r| r.header("x-acs-action") == Some("AssumeRole"))
        .map(|r| r.param("RoleArn").unwrap())
        .collect();
    for id in [ACCOUNT, PAYMENTS, SANDBOX] {
        let arn = format!("acs:ram::{id}:role/ResourceDirectoryAccountAccessRole");
        assert!(assumed.contains(&arn), "{arn} not in {assumed:?}");
    }
    let page = requests
        .iter()
        .find(|r| r.header("x-acs-action") == Some("ListAccounts"));
    let page = page.unwrap();
    assert_eq!(
        page.param("PageSize").as_deref(),
        Some("100"),
        "the most a page takes"
    );
    assert_eq!(
        page.param("IncludeTags"),
        None,
        "no tags asked, none listed"
    );
    assert_no_secrets(&logs, &all_secrets(&cloud));
    let words = crate::python::assert_vendor_models(cloud.model_answers());
    let status = &words["ListAccounts.Accounts.Account.Status"];
    assert_eq!(status, &serde_json::json!(["CreateSuccess"]));
}

#[test]
fn a_member_whose_role_is_refused_fails_alone_as_access_denied() {
    let cloud = directory();
    cloud.0.member(SANDBOX, |m| m.role = false);
    let dir = tempfile::tempdir().unwrap();
    let last = last_good_report(&dir.path().join("kept"), SANDBOX);
    let reports_dir = last.parent().unwrap();
    let (code, logs) = run_once(&cloud, reports_dir, &["--organization"]);
    assert_eq!(code, 1, "{logs}");
    // The --once error names the member, the action, the role and the vendor's code.
    let error = logs.lines().last().unwrap_or_default();
    assert_says(
        error,
        &[
            SANDBOX,
            "AssumeRole",
            "EntityNotExist.Role",
            "access_denied",
        ],
    );
    assert_says(
        error,
        &["acs:ram::2222222222222222:role/ResourceDirectoryAccountAccessRole"],
    );
    assert!(
        !error.contains(PAYMENTS),
        "only the refused member fails: {error}"
    );
    let actions = cloud.actions();
    assert_eq!(
        count(&actions, "AssumeRole"),
        3,
        "access denied is not retried"
    );
    for id in [ACCOUNT, PAYMENTS] {
        let written = std::fs::read_to_string(reports_dir.join(csv(id))).unwrap();
        assert_eq!(written, report_of(id));
    }
    // The refused member's last good report is left as it was.
    std::fs::remove_file(reports_dir.join(csv(ACCOUNT))).unwrap();
    std::fs::remove_file(reports_dir.join(csv(PAYMENTS))).unwrap();
    std::fs::remove_file(reports_dir.join(LEDGER)).unwrap();
    assert_left_alone(&last);
    assert_no_secrets(&logs, &all_secrets(&cloud));
    crate::python::assert_vendor_models(cloud.model_answers());
}

#[test]
fn the_listing_is_paged_and_its_names_tags_and_states_are_kept() {
    let cloud = directory();
    cloud.0.member(PAYMENTS, |m| {
        m.tags = vec![
            ("team".into(), "pay".into()),
            ("secret-ish".into(), "x".into()),
        ];
    });
    // 230 more members: 24 pages of the fake's 10. Each is skipped by name, so only three are fetched.
    for n in 0..230 {
        cloud
            .0
            .add_member(&format!("9{n:015}"), &format!("skip-{n}"), true);
    }
    cloud
        .0
        .member("9000000000000007", |m| m.name = "removed".into());
    cloud.0.member("9000000000000007", |m| m.status = "Removed");
    cloud
        .0
        .member("9000000000000008", |m| m.name = "verifying".into());
    cloud
        .0
        .member("9000000000000008", |m| m.status = "PromoteVerifying");
    cloud.0.member(SANDBOX, |m| m.status = "InviteSuccess");
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--provider",
        "alibaba-ram",
        "--organization",
        "--organization.exclude",
        "skip-*",
        "--organization.tag-labels",
        "team",
    ];
    let own = cloud.args();
    let args: Vec<&str> = args
        .iter()
        .copied()
        .chain(own.iter().map(String::as_str))
        .collect();
    let env = cloud.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let fetcher = Fetcher::spawn(dir.path(), &args, &env);
    let done = |m: &str| {
        m.matches("credential_report_fetch_last_success_timestamp_seconds{")
            .count()
            == 4
    };
    let metrics = fetcher.metrics_when(done);
    let pages: Vec<(Option<String>, Option<String>)> =
        (cloud.0.server.requests.lock().unwrap().iter())
            .filter(|r| r.header("x-acs-action") == Some("ListAccounts"))
            .map(|r| (r.param("PageNumber"), r.param("IncludeTags")))
            .collect();
    let t = Some("true".to_owned());
    let page = |n: &str| (Some(n.to_owned()), t.clone());
    let all: Vec<_> = (1..=24).map(|n| page(&n.to_string())).collect();
    assert_eq!(pages[..24], all, "233 members in the fake's pages of 10");
    // Fetched: the three, and the member whose upgrade is being confirmed (still a member);
    // not the removed one, nor the excluded.
    let mut expected = vec![
        csv(ACCOUNT),
        csv(PAYMENTS),
        csv(SANDBOX),
        csv("9000000000000008"),
    ];
    expected.sort();
    assert_eq!(reports(dir.path()), expected);
    let info = |id: &str, name: &str, team: &str| {
        format!("credential_report_fetch_account_info{{account=\"{id}\",account_name=\"{name}\",tag_team=\"{team}\"}} 1")
    };
    let lines = [
        info(PAYMENTS, "payments", "pay"),
        info(SANDBOX, "sandbox", ""),
        info("9000000000000007", "removed", ""),
        "credential_report_fetch_api_calls_total{action=\"ListAccounts\",result=\"success\"} 24"
            .to_owned(),
    ];
    super::assert_lines(&metrics, &lines);
    assert!(
        !metrics.contains("secret-ish"),
        "only the tags asked:\n{metrics}"
    );
    let (_, logs) = fetcher.stop();
    assert_no_secrets(&logs, &all_secrets(&cloud));
    let words = crate::python::assert_vendor_models(cloud.model_answers());
    let status = &words["ListAccounts.Accounts.Account.Status"];
    let seen = [
        "CreateSuccess",
        "InviteSuccess",
        "PromoteVerifying",
        "Removed",
    ];
    assert_eq!(status, &serde_json::json!(seen));
}

#[test]
fn a_listing_that_fails_or_is_not_the_models_touches_no_report() {
    let bad_id = (200, serde_json::json!({"RequestId": "r", "PageNumber": 1, "PageSize": 100, "TotalCount": 1,
        "Accounts": {"Account": [{"AccountId": "../../etc/x", "DisplayName": "evil", "Status": "CreateSuccess"}]}}).to_string());
    let bad_status = (200, serde_json::json!({"RequestId": "r", "PageNumber": 1, "PageSize": 100, "TotalCount": 1,
        "Accounts": {"Account": [{"AccountId": PAYMENTS, "DisplayName": "payments", "Status": "ACTIVE"}]}}).to_string());
    let no_accounts = (
        200,
        serde_json::json!({"RequestId": "r", "TotalCount": 0}).to_string(),
    );
    let cases = [
        (
            alibaba::fault(Fault::Deny),
            vec!["access_denied", "Forbidden.RAM", "LTAI…ts01"],
        ),
        (
            alibaba::fault(Fault::ServerError),
            vec!["(server)", "ServiceUnavailable"],
        ),
        (
            bad_id,
            vec!["invalid_response", "evil", "not an account id"],
        ),
        (
            bad_status,
            vec!["invalid_response", PAYMENTS, "ACTIVE", "CreateSuccess"],
        ),
        (
            no_accounts,
            vec!["invalid_response", "missing field Accounts"],
        ),
    ];
    for (answer, says) in cases {
        let cloud = directory();
        cloud.0.state.scripts.push("ListAccounts", [Some(answer)]);
        let dir = tempfile::tempdir().unwrap();
        let last = last_good_report(dir.path(), PAYMENTS);
        let (code, logs) = run_once(
            &cloud,
            dir.path(),
            &[
                "--organization",
                "--organization.forget-after",
                "0s",
                "--fetch.attempts",
                "1",
            ],
        );
        assert_eq!(code, 1, "{logs}");
        let error = logs.lines().last().unwrap_or_default();
        assert_says(error, &["listing the accounts", "ListAccounts"]);
        assert_says(error, &says);
        assert_eq!(cloud.actions(), ["ListAccounts"], "nothing fetched");
        assert_left_alone(&last);
        assert_no_secrets(&logs, &all_secrets(&cloud));
    }
}

#[test]
fn a_member_that_leaves_has_its_report_forgotten_and_nothing_else() {
    let cloud = directory();
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("3333333333333333.csv");
    std::fs::write(&foreign, "not the fetcher's").unwrap();
    let args = ["--organization", "--organization.forget-after", "0s"];
    let (code, logs) = run_once(&cloud, dir.path(), &args);
    assert_eq!(code, 0, "{logs}");
    assert_eq!(
        reports(dir.path()).len(),
        4,
        "three reports and the foreign file"
    );
    cloud.0.remove_member(SANDBOX);
    cloud.0.member(PAYMENTS, |m| m.status = "Removed");
    let (code, logs) = run_once(&cloud, dir.path(), &args);
    assert_eq!(code, 0, "{logs}");
    assert_eq!(reports(dir.path()), [csv(ACCOUNT), csv("3333333333333333")]);
    assert_eq!(
        std::fs::read_to_string(&foreign).unwrap(),
        "not the fetcher's"
    );
}

#[test]
fn organization_flags_are_checked_before_any_call() {
    let cloud = directory();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 2] = [
        (
            &["--organization", "--alibaba.role-name", "a/b"],
            "--alibaba.role-name",
        ),
        (
            &[
                "--organization",
                "--alibaba.resourcemanager-endpoint",
                "http://example.com",
            ],
            "--alibaba.resourcemanager-endpoint",
        ),
    ];
    for (args, says) in cases {
        let (code, logs) = run_once(&cloud, dir.path(), args);
        assert_eq!(code, 1, "{logs}");
        assert_says(&logs, &[says]);
    }
    assert!(cloud.actions().is_empty(), "{:?}", cloud.actions());
}

/// A thousand members in one round: every report written, `ListAccounts` and `AssumeRole`
/// paced at 10 a second. Run by hand: `cargo test --test it -- --ignored alibaba::a_thousand`.
#[test]
#[ignore = "about two minutes: 1,000 members, 8,000 calls, AssumeRole at 10 a second"]
fn a_thousand_members_are_fetched_in_one_round() {
    let cloud = Alibaba::start();
    for i in 0..1000 {
        cloud
            .0
            .add_member(&format!("4{i:015}"), &format!("m{i}"), true);
    }
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let (code, logs) = run_once(&cloud, dir.path(), &["--organization"]);
    let took = started.elapsed();
    assert_eq!(code, 0, "{}", &logs[logs.len().saturating_sub(3000)..]);
    assert_eq!(reports(dir.path()).len(), 1000);
    let actions = cloud.actions();
    eprintln!(
        "1,000 members: {took:?}, {} calls, {} AssumeRole, {} listing pages",
        actions.len(),
        count(&actions, "AssumeRole"),
        count(&actions, "ListAccounts")
    );
}
