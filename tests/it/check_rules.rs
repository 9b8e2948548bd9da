//! `check` and the alert rules cannot drift apart: the same reports go to the real exporter,
//! whose scrape becomes the input of `promtool test rules` on
//! deploy/prometheus/credential-report-exporter.rules.yml, and to `check --format json`,
//! whose findings become the alerts promtool must see firing, no more and no fewer.
//! Reports at the thresholds' edges (a second either side) make `>` against `>=` count.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};

use crate::common::{examples_dir, Exporter, BINARY};
use credential_report_exporter::check::CHECKS;
use credential_report_exporter::markup::printable;

/// When the reports were generated and "now" for `check`; promtool evaluates at
/// EVAL_SECONDS, when every age is what it is at NOW (see [`input_series`]).
const NOW: i64 = 1_795_478_400; // 2026-11-24T00:00:00Z
const EVAL_SECONDS: i64 = 600;

/// Each check and the alert that fires for the same thing; per-report alerts name no user.
const ALERTS: [(&str, &str, bool); 13] = [
    (
        "console_without_mfa",
        "CredentialReportConsoleUserWithoutMFA",
        true,
    ),
    ("key_at_risk", "CredentialReportAccessKeyAtRisk", true),
    (
        "key_over_90_days",
        "CredentialReportAccessKeyOlderThan90Days",
        true,
    ),
    (
        "key_unused_45_days",
        "CredentialReportAccessKeyUnused",
        true,
    ),
    (
        "two_active_keys",
        "CredentialReportUserWithTwoActiveKeys",
        true,
    ),
    ("abnormal_logins", "CredentialReportSuspiciousLogins", true),
    (
        "password_unused_45_days",
        "CredentialReportConsolePasswordUnused",
        true,
    ),
    (
        "root_access_key",
        "CredentialReportRootAccessKeyPresent",
        false,
    ),
    ("root_without_mfa", "CredentialReportRootWithoutMFA", false),
    (
        "root_used_recently",
        "CredentialReportRootUsedRecently",
        false,
    ),
    ("stale_report", "CredentialReportStale", false),
    (
        "console_user_key_never_used",
        "CredentialReportConsoleUserKeyNeverUsed",
        true,
    ),
    (
        "signing_certificate_active",
        "CredentialReportSigningCertificateActive",
        false,
    ),
];

fn at(seconds_before_now: i64) -> String {
    let time = Timestamp::from_second(NOW).unwrap() - SignedDuration::from_secs(seconds_before_now);
    time.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

const DAY: i64 = 86_400;
const AWS_HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// An AWS IAM row: `password` is (last used, last changed) or `None` for no password;
/// `key` is (last rotated, last used) of an active key 1.
fn aws_row(
    user: &str,
    mfa: bool,
    password: Option<(&str, &str)>,
    key: Option<(&str, &str)>,
) -> String {
    let created = at(3000 * DAY);
    let (enabled, used, changed) = match password {
        Some((used, changed)) => ("true", used, changed),
        None => ("false", "N/A", "N/A"),
    };
    let key = match key {
        Some((rotated, used)) => format!("true,{rotated},{used},us-east-1,s3"),
        None => "false,N/A,N/A,N/A,N/A".to_owned(),
    };
    format!("{user},arn:aws:iam::111122223333:user/{user},{created},{enabled},{used},{changed},N/A,{mfa},{key},false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n")
}

/// Users a second either side of each threshold, as of NOW.
fn edges_report() -> String {
    let recent = at(DAY);
    let root = format!("<root_account>,arn:aws:iam::111122223333:root,{},not_supported,{},not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n", at(3000 * DAY), at(DAY));
    [
        AWS_HEADER.to_owned() + "\n",
        // Used exactly a day ago: `< 1d` does not hold.
        root,
        aws_row(
            "key-exactly-90-days",
            true,
            None,
            Some((&at(90 * DAY), &recent)),
        ),
        aws_row(
            "key-90-days-and-a-second",
            true,
            None,
            Some((&at(90 * DAY + 1), &recent)),
        ),
        aws_row(
            "key-unused-exactly-45-days",
            true,
            None,
            Some((&at(60 * DAY), &at(45 * DAY))),
        ),
        aws_row(
            "key-unused-a-second-less",
            true,
            None,
            Some((&at(60 * DAY), &at(45 * DAY - 1))),
        ),
        aws_row(
            "key-never-used-45-days",
            true,
            None,
            Some((&at(45 * DAY), "N/A")),
        ),
        aws_row(
            "password-unused-exactly-45-days",
            true,
            Some((&at(45 * DAY), &at(400 * DAY))),
            None,
        ),
        aws_row(
            "password-unused-a-second-less",
            true,
            Some((&at(45 * DAY - 1), &at(400 * DAY))),
            None,
        ),
        aws_row(
            "password-never-used",
            true,
            Some(("no_information", &at(50 * DAY))),
            None,
        ),
    ]
    .concat()
}

/// A root user without MFA, with a disabled key, used a second less than a day ago.
fn root_report() -> String {
    format!("{AWS_HEADER}\n<root_account>,arn:aws:iam::444455556666:root,{},not_supported,{},not_supported,not_supported,false,false,{},N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n", at(3000 * DAY), at(DAY - 1), at(900 * DAY))
}

/// An AWS Organizations member account's root user without MFA and with nothing to sign in
/// or call with: `password_enabled` false, as AWS's credential report page says of a member
/// account created without root user credentials, its only key disabled. root_without_mfa
/// must not find it, nor the alert fire, while root_access_key still does.
fn member_root_without_credentials_report() -> String {
    format!("{AWS_HEADER}\n<root_account>,arn:aws:iam::777788889999:root,{},false,N/A,N/A,N/A,false,false,{},N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n", at(3000 * DAY), at(900 * DAY))
}

/// The folder both sides read: the examples, the corpus' odd usernames and bad values
/// (generated two days before NOW, so stale), and the edge reports.
fn reports_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<(String, Vec<u8>, i64)> = Vec::new();
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        files.push((name, std::fs::read(&path).unwrap(), NOW));
    }
    for kind in ["accepted", "voided"] {
        for entry in std::fs::read_dir(corpus.join(kind)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            files.push((name, std::fs::read(&path).unwrap(), NOW - 2 * DAY));
        }
    }
    files.push(("edges.csv".into(), edges_report().into_bytes(), NOW));
    files.push(("root.csv".into(), root_report().into_bytes(), NOW));
    files.push((
        "member-root-no-credentials.csv".into(),
        member_root_without_credentials_report().into_bytes(),
        NOW,
    ));
    for (name, bytes, modified) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(UNIX_EPOCH + Duration::from_secs(modified as u64))
            .unwrap();
    }
    dir
}

/// A label value as PromQL (and so promtool's series notation) quotes it.
fn quoted(value: &str) -> String {
    let mut quoted = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            '\n' => quoted.push_str("\\n"),
            c => quoted.push(c),
        }
    }
    quoted + "\""
}

/// The scrape as promtool input series, each for 15 minutes. A timestamp becomes one that
/// moves with promtool's clock, so that every age (time() minus it) stays what it is at
/// NOW: `check` judges one instant, while an alert's `for` asks for the same verdict
/// over minutes of evaluations, which only constant ages give.
fn input_series(scrape: &str) -> Vec<Value> {
    let scraped: Vec<Value> = scrape
        .lines()
        .filter(|line| line.starts_with("credential_report"))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let value: f64 = value.parse().unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.strip_suffix('}').unwrap()),
                None => (series, ""),
            };
            let values = match name.ends_with("_timestamp_seconds") {
                true => format!("{}+60x15", value - NOW as f64),
                false => format!("{value}+0x15"),
            };
            let separator = if labels.is_empty() { "" } else { "," };
            json!({
                "series": format!("{name}{{{labels}{separator}job=\"credential-report-exporter\",instance=\"exporter:9877\"}}"),
                "values": values,
            })
        })
        .collect();
    assert!(scraped.len() > 100, "a scrape of every report");
    scraped
}

/// The alerts `check`'s findings say must fire, as `group by (alertname, report,
/// username, key, severity, cis_control) (ALERTS)` shows them.
fn expected_alerts(findings: &[Value]) -> BTreeSet<String> {
    findings
        .iter()
        .map(|finding| {
            let check = finding["check"].as_str().unwrap();
            let &(_, alert, per_user) = ALERTS.iter().find(|(id, _, _)| *id == check).unwrap();
            let mut labels = vec![
                format!("alertname={}", quoted(alert)),
                format!("report={}", quoted(finding["report"].as_str().unwrap())),
                format!("severity={}", quoted(finding["severity"].as_str().unwrap())),
            ];
            // The alerts of checks with a CIS control for some provider say `none` for the
            // others' reports (a label template cannot expand to no label).
            let has_controls =
                (CHECKS.iter()).any(|c| c.id == check && c.cis_controls().next().is_some());
            match finding["cis"].as_str() {
                Some(cis) => labels.push(format!("cis_control={}", quoted(cis))),
                None if has_controls => labels.push("cis_control=\"none\"".into()),
                None => {}
            }
            if per_user {
                // check's JSON holds the name as it is; a label shows it escaped
                // (docs/metrics.md), as the alert's label is.
                let user = printable(finding["user"].as_str().unwrap());
                labels.push(format!("username={}", quoted(&user)));
                if let Some(key) = finding["key"].as_str() {
                    labels.push(format!("key={}", quoted(key)));
                }
            }
            format!("{{{}}}", labels.join(","))
        })
        .collect()
}

#[test]
fn promtool_fires_exactly_the_alerts_check_finds() {
    let folder = reports_folder();
    let reports = std::fs::read_dir(folder.path()).unwrap().count();

    let output = Command::new(BINARY)
        .args(["check", "--format", "json", "--now", "2026-11-24T00:00:00Z"])
        .arg(folder.path())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    let checks: BTreeSet<&str> = findings
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks.len(),
        ALERTS.len(),
        "every check finds something: {checks:?}"
    );
    let expected = expected_alerts(findings);

    let exporter = Exporter::start(folder.path(), &["--now", "2026-11-24T00:00:00Z"]);
    exporter.wait_until("every report read", || {
        exporter
            .metrics()
            .lines()
            .filter(|l| l.starts_with("credential_report_up{"))
            .count()
            == reports
    });
    let series = input_series(&exporter.metrics());

    let names = ALERTS.map(|(_, alert, _)| alert).join("|");
    let rules = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/prometheus/credential-report-exporter.rules.yml");
    let exp_samples: Vec<Value> = expected
        .iter()
        .map(|labels| json!({"labels": labels, "value": 1}))
        .collect();
    // JSON is YAML, and quotes every series and label string safely.
    let test = json!({
        "rule_files": [rules],
        "evaluation_interval": "1m",
        "group_eval_order": ["credential-report-exporter.recording", "credential-report-exporter.alerts"],
        "tests": [{
            "name": "check's findings are the alerts that fire",
            "interval": "1m",
            "input_series": series,
            "promql_expr_test": [{
                "expr": format!("group by (alertname, report, username, key, severity, cis_control) (ALERTS{{alertstate=\"firing\",alertname=~\"{names}\"}})"),
                "eval_time": format!("{EVAL_SECONDS}s"),
                "exp_samples": exp_samples,
            }],
        }],
    });
    let test_file = folder.path().join("agreement.test.yml");
    std::fs::write(&test_file, serde_json::to_string_pretty(&test).unwrap()).unwrap();
    let promtool = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&test_file)
        .output()
        .expect(
            "promtool (Debian package prometheus) must be installed: scripts/test.sh installs it",
        );
    assert!(
        promtool.status.success(),
        "promtool and check disagree ({} alerts expected):\n{}{}",
        expected.len(),
        String::from_utf8_lossy(&promtool.stdout),
        String::from_utf8_lossy(&promtool.stderr)
    );
}

/// The value of each sample of `name` whose labels include every one of `with`, summed
/// per report; `without` excludes samples with that label pair.
fn sum_by_report(
    scrape: &str,
    name: &str,
    with: &[(&str, &str)],
    without: Option<(&str, &str)>,
) -> std::collections::BTreeMap<String, u64> {
    let mut sums = std::collections::BTreeMap::new();
    for line in scrape.lines() {
        let Some(rest) = line.strip_prefix(name).and_then(|r| r.strip_prefix('{')) else {
            continue;
        };
        let (labels, value) = rest.rsplit_once("} ").unwrap();
        let has = |(label, value): (&str, &str)| labels.contains(&format!("{label}=\"{value}\""));
        if !with.iter().all(|&pair| has(pair)) || without.is_some_and(has) {
            continue;
        }
        let report = labels
            .strip_prefix("report=\"")
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        *sums.entry(report).or_default() += value.parse::<f64>().unwrap() as u64;
    }
    sums
}

/// One question, one answer: for every report, the gauges the dashboards and the alerts'
/// aggregate branches read, the status page, and `check` count the same users, keys and
/// certificates, as of the same "now" (the exporter's and check's `--now`). Zeros are
/// dropped on both sides.
#[test]
fn gauges_status_page_and_check_agree_on_every_count() {
    let folder = reports_folder();
    let reports = std::fs::read_dir(folder.path()).unwrap().count();
    let output = Command::new(BINARY)
        .args(["check", "--format", "json", "--now", "2026-11-24T00:00:00Z"])
        .arg(folder.path())
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    let found = |check: &str| {
        let mut counts = std::collections::BTreeMap::<String, u64>::new();
        for finding in findings.iter().filter(|f| f["check"] == check) {
            *counts
                .entry(finding["report"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        counts
    };
    let exporter = Exporter::start(folder.path(), &["--now", "2026-11-24T00:00:00Z"]);
    exporter.wait_until("every report read", || {
        exporter
            .metrics()
            .lines()
            .filter(|l| l.starts_with("credential_report_up{"))
            .count()
            == reports
    });
    let scrape = exporter.metrics();
    let gauge = |name: &str, with: &[(&str, &str)], without: Option<(&str, &str)>| {
        let mut sums = sum_by_report(&scrape, name, with, without);
        sums.retain(|_, count| *count > 0);
        sums
    };
    let not_root = Some(("user_type", "root"));
    let active = [("status", "active")];
    let mut compared = 0;
    for (check, counted) in [
        (
            "console_without_mfa",
            gauge("credential_report_users_console_without_mfa", &[], not_root),
        ),
        (
            "key_at_risk",
            gauge("credential_report_access_keys_at_risk", &[], None),
        ),
        (
            "key_over_90_days",
            gauge("credential_report_access_keys_over_90d", &active, None),
        ),
        (
            "two_active_keys",
            gauge("credential_report_users_with_two_active_keys", &[], None),
        ),
        (
            "abnormal_logins",
            gauge("credential_report_users_with_abnormal_logins", &[], None),
        ),
        (
            "password_unused_45_days",
            gauge(
                "credential_report_users_password_unused_over_45d",
                &[],
                not_root,
            ),
        ),
        (
            "console_user_key_never_used",
            gauge(
                "credential_report_access_keys_never_used_by_console_users",
                &active,
                None,
            ),
        ),
        (
            "signing_certificate_active",
            gauge("credential_report_signing_certificates", &active, None),
        ),
        (
            "root_access_key",
            gauge("credential_report_root_access_keys", &[], None),
        ),
    ] {
        assert_eq!(
            counted,
            found(check),
            "{check}: the gauges (left) and check (right)"
        );
        compared += counted.values().sum::<u64>();
    }
    // The root user without MFA counts where it has something to sign in or call with.
    let with_credentials = gauge("credential_report_root_credentials", &[], None);
    let mut roots = gauge(
        "credential_report_users_without_mfa",
        &[("user_type", "root")],
        None,
    );
    roots.retain(|report, _| with_credentials.contains_key(report));
    assert_eq!(roots, found("root_without_mfa"), "root_without_mfa");
    let no_credentials = "member-root-no-credentials";
    assert!(found("root_access_key").contains_key(no_credentials));
    assert!(
        !found("root_without_mfa").contains_key(no_credentials),
        "a root with no password and only a disabled key needs no MFA"
    );
    assert!(compared > 50, "the reports have findings to compare");

    // The status page: each report's console users without MFA and active keys over 90
    // days, from the same counts (its layout is the page's business; the row's count
    // cells, in order, are users, those two after the keys at risk, never used, errors).
    let (_, _, page) = exporter.get("/", None);
    let console = found("console_without_mfa");
    let over_90 = found("key_over_90_days");
    let mut rows = 0;
    for line in page.lines() {
        let Some(rest) = line.strip_prefix("<tr><td>") else {
            continue;
        };
        let report = rest.split('<').next().unwrap();
        if report.is_empty() || !line.contains("class=\"n") {
            continue;
        }
        let counts: Vec<&str> = line
            .split("<td class=\"n")
            .skip(1)
            .map(|cell| cell.split('>').nth(1).unwrap().split('<').next().unwrap())
            .collect();
        let [_users, console_without_mfa, _at_risk, keys_over_90_days, ..] = counts[..] else {
            panic!("{line}");
        };
        let expected = |counts: &std::collections::BTreeMap<String, u64>| {
            counts.get(report).copied().unwrap_or(0).to_string()
        };
        assert_eq!(console_without_mfa, expected(&console), "{report}: {line}");
        assert_eq!(keys_over_90_days, expected(&over_90), "{report}: {line}");
        rows += 1;
    }
    assert_eq!(rows, reports, "a row for every report");
}
