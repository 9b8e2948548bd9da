//! `fetch --provider aws-iam` against the fake IAM and STS (tests/cloud_fakes/aws.rs): its
//! [`Cloud`] for the contract, and what only AWS's API makes the fetcher do: generate, poll
//! and get; retry a cut download; assume one role per account; name a report by its ARN.

use serde_json::{json, Value};

use super::organization::{Organization, MEMBERS};
use super::{count, last_good_report, names, run_once, timestamp, Cloud, Profile};
use crate::cloud_fakes::aws::{self, report, Answer, Credential, FakeAws};
use crate::cloud_fakes::Fault;

const ACCOUNT: &str = "123456789012";
const KEY_ID: &str = "ASIAFAKEBASEKEY00001";
const SECRET: &str = "base-secret-wJalrXUtnFEMI/K7MDENG+bPxRfiCY";
const TOKEN: &str = "base-token-IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH";
const GENERATED: &str = "2026-11-25T12:34:56Z";

pub struct Aws(FakeAws);

impl Cloud for Aws {
    const PROFILE: Profile = Profile {
        provider: "aws-iam",
        account: ACCOUNT,
        first_action: "GenerateCredentialReport",
        report_action: "GetCredentialReport",
        credentials: &[
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SESSION_TOKEN",
        ],
        no_credentials_says: &[
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            "no credentials found in chain",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ],
        bad_signature: "SignatureDoesNotMatch",
        masked_key_id: "ASIA…0001",
        says: |fault| match fault {
            Fault::Throttle => "Throttling",
            Fault::Deny => "AccessDenied",
            Fault::ExpiredToken => "ExpiredToken",
            Fault::ServerError => "ServiceUnavailable",
            Fault::Garbage => "GetCredentialReport",
        },
        generated: Some(GENERATED),
        throttling_fails_the_attempt: true,
        words: &[
            ("GenerateCredentialReport.State", &["COMPLETE"]),
            ("GetCredentialReport.ReportFormat", &["text/csv"]),
        ],
        exporter_lines: &[
            r#"credential_report_users{REPORT,user_type="root"} 1"#,
            r#"credential_report_users{REPORT,user_type="iam_user"} 2"#,
            r#"credential_report_users_without_mfa{REPORT,user_type="iam_user"} 2"#,
            r#"credential_report_users_without_mfa{REPORT,user_type="root"} 0"#,
            r#"credential_report_access_keys{REPORT,status="active"} 3"#,
            r#"credential_report_root_access_keys{REPORT,status="active"} 0"#,
            r#"credential_report_signing_certificates{REPORT,status="active"} 1"#,
        ],
        absent_series: &[],
        loop_lines: &[
            r#"credential_report_fetch_api_calls_total{action="GetCredentialReport",result="success"} 1"#,
            r#"credential_report_fetch_api_calls_total{action="GetCredentialReport",result="invalid_response"} 1"#,
            r#"credential_report_fetch_report_generated_timestamp_seconds{account="default"} 1795610096.0"#,
        ],
    };

    fn start() -> Aws {
        let fake = FakeAws::start();
        let credential = Credential {
            secret: SECRET.to_owned(),
            session_token: Some(TOKEN.to_owned()),
            account: ACCOUNT.to_owned(),
        };
        fake.add_credential(KEY_ID, credential);
        fake.set_report(ACCOUNT, &report(ACCOUNT), GENERATED);
        Aws(fake)
    }

    fn args(&self) -> Vec<String> {
        Vec::new()
    }

    /// The fake's credentials and endpoint and nothing else from this machine (no profiles,
    /// no instance metadata).
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HOME", "/nonexistent/home".to_owned()),
            ("AWS_ACCESS_KEY_ID", KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.to_owned()),
            ("AWS_SESSION_TOKEN", TOKEN.to_owned()),
            ("AWS_ENDPOINT_URL", self.0.url.clone()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", "/nonexistent/config".to_owned()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/credentials".to_owned(),
            ),
        ]
    }

    fn fail(&self, action: &str, fault: Fault, times: usize) {
        let answer = match action {
            "ListAccounts" | "ListTagsForResource" => aws::organizations_fault(fault),
            _ => aws::fault(fault),
        };
        self.0.script(ACCOUNT, action, &vec![answer; times]);
    }

    fn actions(&self) -> Vec<String> {
        self.0.calls().into_iter().map(|c| c.action).collect()
    }

    fn refused(&self) -> usize {
        self.0
            .calls()
            .iter()
            .filter(|c| c.verified.is_err())
            .count()
    }

    fn secrets(&self) -> Vec<String> {
        let mut secrets = self.0.secrets();
        secrets.extend(self.0.key_ids());
        // Nor the secret's distinctive middle, in case something shortens it.
        secrets.push("wJalrXUtnFEMI".to_owned());
        secrets
    }

    fn model_answers(&self) -> Vec<Value> {
        self.0.model_answers()
    }

    fn assert_clean_fetch(&self, written: &[u8]) {
        assert_eq!(written, report(ACCOUNT), "not byte for byte");
        let actions = self.actions();
        assert_eq!(
            count(&actions, "GenerateCredentialReport"),
            1,
            "{actions:?}"
        );
        assert_eq!(count(&actions, "GetCredentialReport"), 1, "{actions:?}");
    }
}

/// The organization's members: the management account (ACCOUNT, with no role), one
/// suspended, the rest active with a role and a report each.
const SUSPENDED: &str = "100000000007";

fn member_id(index: usize) -> String {
    match index {
        0 => ACCOUNT.to_owned(),
        n => format!("{}", 100_000_000_000u64 + n as u64),
    }
}

fn role_arn(id: &str) -> String {
    format!("arn:aws:iam::{id}:role/OrganizationAccountAccessRole")
}

impl Organization for Aws {
    const LISTING: &'static str = "ListAccounts";
    const ASSUME: &'static str = "AssumeRole";
    const ROLE_REFUSED: &'static str = "AccessDenied";

    fn start_organization() -> Aws {
        let aws = Aws::start();
        let members: Vec<aws::Member> = (0..MEMBERS)
            .map(|i| {
                let id = member_id(i);
                aws::Member {
                    name: format!("team-{i:02}"),
                    state: if id == SUSPENDED {
                        "SUSPENDED"
                    } else {
                        "ACTIVE"
                    },
                    tags: vec![("owner".to_owned(), format!("squad-{}", i % 3))],
                    id,
                }
            })
            .collect();
        for member in &members[1..] {
            aws.0.add_role(&role_arn(&member.id), &member.id);
            aws.0
                .set_report(&member.id, &report(&member.id), "2026-11-25T10:00:00Z");
        }
        aws.0.set_organization(ACCOUNT, members);
        aws
    }

    fn members(&self) -> Vec<(String, String)> {
        (0..MEMBERS)
            .map(|i| (member_id(i), format!("team-{i:02}")))
            .filter(|(id, _)| self.0.is_member(id))
            .collect()
    }

    fn inactive(&self) -> Option<String> {
        Some(SUSPENDED.to_owned())
    }

    fn organization_args(&self) -> Vec<String> {
        Vec::new()
    }

    fn refuse_role(&self, id: &str) {
        self.0.remove_role(&role_arn(id));
    }

    fn remove_member(&self, id: &str) {
        self.0.remove_member(id);
    }

    fn fail_member(&self, id: &str, action: &str, fault: Fault, times: usize) {
        self.0.script(id, action, &vec![aws::fault(fault); times]);
    }

    fn assert_member_report(&self, id: &str, written: &[u8]) {
        assert_eq!(written, report(id), "{id}: not byte for byte");
    }
}

/// `--organization` beside `--aws.role-arn` is refused, saying why, before any call.
#[test]
fn role_arns_and_the_organization_are_one_or_the_other() {
    let aws = Aws::start_organization();
    let dir = tempfile::tempdir().unwrap();
    let role = format!("--aws.role-arn={}", role_arn("111111111111"));
    let (code, logs) = run_once(&aws, dir.path(), &["--organization", &role]);
    assert_eq!(code, 1, "{logs}");
    assert!(logs.contains("use one or the other"), "{logs}");
    let (code, logs) = run_once(&aws, dir.path(), &["--organization", "--report.name=x"]);
    assert_eq!(code, 1, "{logs}");
    assert!(logs.contains("one per member account"), "{logs}");
    assert!(aws.actions().is_empty(), "{:?}", aws.actions());
}

/// With --organization.tag-labels, the members' tags of those keys label their info series,
/// and the tags are asked for with ListTagsForResource in Organizations' words.
#[test]
fn tag_labels_come_from_the_members_tags() {
    let aws = Aws::start_organization();
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--provider",
        "aws-iam",
        "--organization",
        "--organization.tag-labels=owner",
    ];
    let env = aws.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let fetcher = crate::cloud_fakes::Fetcher::spawn(dir.path(), &args, &env);
    let line = |i: usize| {
        format!(
            "credential_report_fetch_account_info{{account=\"{}\",account_name=\"team-{i:02}\",tag_owner=\"squad-{}\"}} 1",
            member_id(i),
            i % 3
        )
    };
    let metrics = fetcher.metrics_when(|m| m.contains(&line(MEMBERS - 1)));
    super::assert_lines(&metrics, &(0..MEMBERS).map(line).collect::<Vec<_>>());
    let actions = aws.actions();
    assert_eq!(
        count(&actions, "ListTagsForResource"),
        MEMBERS,
        "{actions:?}"
    );
    drop(fetcher);
    crate::python::assert_vendor_models(aws.0.model_answers());
}

#[test]
fn generate_is_polled_through_throttling_and_unfinished_reports() {
    let aws = Aws::start();
    let throttled = [
        Answer::Error(400, "Throttling"),
        Answer::Error(409, "LimitExceeded"),
        Answer::Error(500, "ServiceFailure"),
        Answer::State("STARTED"),
        Answer::State("INPROGRESS"),
    ];
    aws.0
        .script(ACCOUNT, "GenerateCredentialReport", &throttled);
    let not_yet = [
        Answer::Error(404, "ReportInProgress"),
        Answer::Error(410, "ReportExpired"),
    ];
    aws.0.script(ACCOUNT, "GetCredentialReport", &not_yet);
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = run_once(&aws, dir.path(), &["--fetch.attempts", "4"]);
    assert_eq!(code, 0, "fetch failed:\n{logs}");
    let written = std::fs::read(dir.path().join(format!("{ACCOUNT}.csv"))).unwrap();
    assert_eq!(written, report(ACCOUNT), "not byte for byte");
    assert_eq!(
        names(dir.path()).len(),
        1,
        "no temporary file left by the failed attempts"
    );
    // Three failed attempts, then STARTED, INPROGRESS, COMPLETE; after ReportExpired, once more.
    let actions = aws.actions();
    assert_eq!(
        count(&actions, "GenerateCredentialReport"),
        7,
        "{actions:?}"
    );
    assert_eq!(count(&actions, "GetCredentialReport"), 3, "{actions:?}");
    for reason in [
        "reason=throttled",
        "reason=server",
        "LimitExceeded",
        "ServiceFailure",
    ] {
        assert!(logs.contains(reason), "no {reason} in the logs:\n{logs}");
    }
    assert_eq!(aws.refused(), 0);
    crate::cloud_fakes::assert_no_secrets(&logs, &aws.secrets());
    let words = crate::python::assert_vendor_models(aws.0.model_answers());
    let states = json!(["COMPLETE", "INPROGRESS", "STARTED"]);
    assert_eq!(words["GenerateCredentialReport.State"], states);
}

#[test]
fn a_cut_or_header_only_download_is_retried_then_refused_and_the_last_report_kept() {
    let whole = report(ACCOUNT);
    let text = String::from_utf8(whole.clone()).unwrap();
    let cases = [
        // Cut inside alice's row: fewer fields than the header.
        (
            "cut inside a row",
            &whole[..text.find("alice").unwrap() + 30],
            "line 3",
        ),
        (
            "header only",
            &whole[..text.find('\n').unwrap() + 1],
            "no users",
        ),
    ];
    for (case, content, why) in cases {
        let aws = Aws::start();
        aws.0.set_report(ACCOUNT, content, GENERATED);
        let dir = tempfile::tempdir().unwrap();
        let last = last_good_report(dir.path(), ACCOUNT);
        let (code, logs) = run_once(&aws, dir.path(), &["--fetch.attempts", "2"]);
        assert_eq!(code, 1, "{case}: {logs}");
        assert!(
            logs.contains("refused_report") && logs.contains(why),
            "{case}: {logs}"
        );
        // Retried once (a cut download may arrive whole), then given up.
        assert_eq!(count(&aws.actions(), "GetCredentialReport"), 2, "{case}");
        super::assert_left_alone(&last);
    }
}

#[test]
fn a_report_that_is_not_one_or_has_no_time_is_an_invalid_response() {
    let aws = Aws::start();
    let not_a_report = "<GetCredentialReportResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetCredentialReportResult><Content>PGh0bWw+Z2F0ZXdheTwvaHRtbD4=</Content><ReportFormat>text/csv</ReportFormat><GeneratedTime>2026-11-25T12:34:56Z</GeneratedTime></GetCredentialReportResult></GetCredentialReportResponse>";
    let no_time = "<GetCredentialReportResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetCredentialReportResult><Content>dXNlcixhcm4sCg==</Content></GetCredentialReportResult></GetCredentialReportResponse>";
    let answers = [not_a_report, no_time].map(|body| Answer::Raw(200, body.to_owned()));
    aws.0.script(ACCOUNT, "GetCredentialReport", &answers);
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = run_once(&aws, dir.path(), &["--fetch.attempts", "2"]);
    assert_eq!(code, 1, "{logs}");
    assert!(logs.contains("not an IAM credential report"), "{logs}");
    assert!(logs.contains("without Content or GeneratedTime"), "{logs}");
    assert_eq!(count(&aws.actions(), "GetCredentialReport"), 2);
    assert!(names(dir.path()).is_empty());
    assert_eq!(aws.refused(), 0);
}

#[test]
fn one_report_per_assumed_role_named_by_account_and_a_denied_role_is_reported() {
    let aws = Aws::start();
    let (a, b, denied) = ("111111111111", "222222222222", "333333333333");
    let role = |account: &str| format!("arn:aws:iam::{account}:role/credential-report-reader");
    aws.0.add_role(&role(a), a);
    aws.0.add_role(&role(b), b);
    aws.0.set_report(a, &report(a), "2026-11-25T10:00:00Z");
    aws.0.set_report(b, &report(b), "2026-11-25T11:00:00Z");
    let in_progress = [Answer::Error(404, "ReportInProgress")];
    aws.0.script(b, "GetCredentialReport", &in_progress);
    let dir = tempfile::tempdir().unwrap();
    // The service-specific endpoint variables, not the general one.
    let mut env = aws.env();
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL_IAM", aws.0.url.clone()));
    env.push(("AWS_ENDPOINT_URL_STS", aws.0.url.clone()));
    let flags = [
        format!("--aws.role-arn={}", role(a)),
        format!("--aws.role-arn={},{}", role(denied), role(b)),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (code, logs) = super::run(&aws, dir.path(), &flags, &env);
    assert_eq!(code, 1, "{logs}");
    assert!(
        logs.contains(&format!("{denied}: AssumeRole")) && logs.contains("access_denied"),
        "{logs}"
    );
    assert_eq!(aws.refused(), 0);
    for (account, time) in [(a, "2026-11-25T10:00:00Z"), (b, "2026-11-25T11:00:00Z")] {
        let path = dir.path().join(format!("{account}.csv"));
        assert_eq!(std::fs::read(&path).unwrap(), report(account));
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            timestamp(time)
        );
    }
    // IAM was called only with the roles' temporary keys; STS with the fetcher's own.
    for call in aws.0.calls() {
        match call.action.as_str() {
            "AssumeRole" => assert_eq!(call.access_key_id, KEY_ID),
            _ => assert!(call.access_key_id.starts_with("ASIAFAKEISSUED"), "{call:?}"),
        }
    }
    assert_eq!(count(&aws.actions(), "AssumeRole"), 3);
    let secrets = aws.secrets();
    crate::cloud_fakes::assert_no_secrets(
        &logs,
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    crate::python::assert_vendor_models(aws.0.model_answers());
}

#[test]
fn a_report_naming_no_account_needs_report_name() {
    let aws = Aws::start();
    // A root row whose ARN holds no account id: nothing says which account this is.
    let text = String::from_utf8(report(ACCOUNT)).unwrap();
    let headless = text.replace(
        &format!("arn:aws:iam::{ACCOUNT}:root"),
        "arn:aws:iam::unknown:root",
    );
    aws.0.set_report(ACCOUNT, headless.as_bytes(), GENERATED);
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = run_once(&aws, dir.path(), &[]);
    assert_eq!(code, 1, "{logs}");
    assert!(logs.contains("--report.name"), "{logs}");
    let (code, logs) = run_once(&aws, dir.path(), &["--report.name", "prod"]);
    assert_eq!(code, 0, "{logs}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("prod.csv")).unwrap(),
        headless
    );
}

#[test]
fn one_report_name_for_many_roles_is_refused_before_any_call() {
    let aws = Aws::start();
    let dir = tempfile::tempdir().unwrap();
    let roles = "--aws.role-arn=arn:aws:iam::111111111111:role/a,arn:aws:iam::222222222222:role/b";
    let (code, logs) = run_once(&aws, dir.path(), &["--report.name=prod", roles]);
    assert_eq!(code, 1, "{logs}");
    assert!(logs.contains("--report.name names one report"), "{logs}");
    assert!(aws.actions().is_empty());
    let (code, logs) = run_once(&aws, dir.path(), &["--aws.role-arn=arn:aws:iam::1:user/x"]);
    assert_eq!(code, 1, "{logs}");
    assert!(logs.contains("is not a role ARN"), "{logs}");
}
