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
    let exporter = Exporter::start(&examples_dir(), &[]);
    assert_eq!(exporter.get("/-/healthy", None).0, 200);
    assert_eq!(exporter.get("/-/ready", None).0, 200);
    let (status, content_type, page) = exporter.get("/", None);
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"));
    for report in ["acme-prod", "acme-cn", "legacy-gbk"] {
        assert!(
            page.contains(&format!("<td>{report}</td><td>up</td>")),
            "{page}"
        );
    }
    assert!(page.contains("GB18030"));
    assert!(page.contains("href=\"/metrics\""));
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
}
