//! The HTTP surface: content negotiation, probes, the status page, unknown paths.

mod common;

use common::{examples_dir, Exporter};

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[test]
fn prometheus_gets_openmetrics_and_curl_gets_classic_text() {
    let exporter = Exporter::start(&examples_dir(), &[]);
    let (status, content_type, body) = exporter.get("/metrics", Some(PROMETHEUS_ACCEPT));
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(body.ends_with("# EOF\n"));
    assert!(body.contains("# TYPE credential_report_reloads counter"));

    let (status, content_type, body) = exporter.get("/metrics", None);
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert!(!body.contains("# EOF"));
    assert!(body.contains("# TYPE credential_report_reloads_total counter"));
    assert!(
        !body.contains("# TYPE credential_report_exporter_build_info info"),
        "no info-typed families"
    );
}

#[test]
fn probes_and_status_page() {
    // Keys over 90 days count up to --now: the same on any day.
    let exporter = Exporter::start(&examples_dir(), &["--now", "2026-11-24T00:00:00Z"]);
    assert_eq!(exporter.get("/-/healthy", None).0, 200);
    assert_eq!(exporter.get("/-/ready", None).0, 200);
    let (status, content_type, page) = exporter.get("/", None);
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"));
    assert!(!page.contains("<script"), "no scripts");
    assert!(page.contains("<style>"), "a little CSS");
    assert!(page.contains(&format!("Version {}", env!("CARGO_PKG_VERSION"))));
    assert!(page.contains("(revision <code>"), "{page}");
    let folder = examples_dir().display().to_string();
    assert!(
        page.contains(&format!(
            "<code>{folder}</code>: <span class=\"good\">readable</span>"
        )),
        "{page}"
    );
    for (report, provider) in [
        ("acme-prod", "tencent-cam"),
        ("acme-cn", "tencent-cam"),
        ("legacy-gbk", "tencent-cam"),
        ("aws-prod", "aws-iam"),
        ("alibaba-prod", "alibaba-ram"),
    ] {
        assert!(
            page.contains(&format!(
                "<tr><td>{report}</td><td>{provider}</td><td class=\"good\">up</td>"
            )),
            "{page}"
        );
    }
    // acme-prod's headline findings: console users without MFA, active keys at risk,
    // over 90 days, never used (as credential_report_users_console_without_mfa{user_type!="root"},
    // credential_report_access_keys_*{status="active"} and `check` count them: the root
    // user has its own check); totals over the five.
    let row = page
        .lines()
        .find(|line| line.starts_with("<tr><td>acme-prod</td>"))
        .unwrap();
    let bad = |n: u64| format!("<td class=\"n bad\">{n}</td>");
    assert!(
        row.contains(&[bad(2), bad(1), bad(4), bad(1)].concat()),
        "{row}"
    );
    // legacy-gbk has no key at risk: shown as good, not as a finding.
    let row = page
        .lines()
        .find(|line| line.starts_with("<tr><td>legacy-gbk</td>"))
        .unwrap();
    assert!(row.contains("<td class=\"n good\">0</td>"), "{row}");
    // AWS does not flag keys at risk: not applicable rather than a reassuring 0.
    let aws = page
        .lines()
        .find(|line| line.starts_with("<tr><td>aws-prod</td>"))
        .unwrap();
    assert!(aws.contains("<td class=\"n muted\">n/a</td>"), "{aws}");
    let totals = page
        .lines()
        .find(|line| line.contains("All reports"))
        .unwrap();
    assert!(
        totals.contains(&[bad(8), bad(2), bad(17), bad(6)].concat()),
        "{totals}"
    );
    // File age: the examples were written at least a moment ago, in s, m, h or d.
    assert!(
        row.split("</td><td>")
            .nth(3)
            .and_then(|cell| cell.split("</td>").next())
            .is_some_and(|age| age.ends_with(['s', 'm', 'h'])),
        "{row}"
    );
    assert!(page.contains("GB18030"));
    assert!(page.contains("href=\"/metrics\""));
    assert!(page.contains("href=\"https://github.com/credential-report-exporter/credential-report-exporter/tree/main/docs\""));
    assert_eq!(exporter.get("/nothing-here", None).0, 404);
}

#[test]
fn telemetry_path_is_configurable() {
    let exporter = Exporter::start(&examples_dir(), &["--web.telemetry-path", "/probe/metrics"]);
    let (status, _, body) = exporter.get("/probe/metrics", None);
    assert_eq!(status, 200);
    assert!(body.contains("credential_report_up{report=\"acme-prod\"} 1"));
    assert_eq!(exporter.get("/metrics", None).0, 404);
}

#[test]
fn usernames_are_escaped_in_both_formats_and_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let report = common::report_with_users(1).replace("user0", "\"<b>x\\y</b>\"\"q\"\"\nz\"");
    std::fs::write(dir.path().join("odd.csv"), report).unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample("credential_report_up{report=\"odd\"} 1");
    let expected = r#"username="<b>x\\y</b>\"q\"\nz""#;
    assert!(
        exporter.metrics().contains(expected),
        "{}",
        exporter.metrics()
    );
    let (_, _, openmetrics) = exporter.get("/metrics", Some(PROMETHEUS_ACCEPT));
    assert!(openmetrics.contains(expected), "{openmetrics}");
    let (_, _, page) = exporter.get("/", None);
    assert!(!page.contains("<b>x"), "{page}");
    assert!(page.contains("<td>odd</td>"));
}
