//! Bad input against the running binary: each broken version gets a clear error that names
//! the file and line, is counted in a metric, and loses nothing.

use std::fs;
use std::path::Path;

use crate::common::{report_with_users, write_atomically, Exporter};

fn corpus(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Each refused corpus file, as a report name, and what its log line must say.
const REFUSED: [(&str, &str); 13] = [
    ("empty", "the file is empty"),
    ("header-only", "header but no users"),
    (
        "missing-column",
        "line 1 (the header): required column \\\"MFADeviceActive\\\" is missing from this tencent-cam report",
    ),
    (
        "aws-missing-column",
        "line 1 (the header): required column \\\"mfa_active\\\" is missing from this aws-iam report",
    ),
    (
        "alibaba-ragged-row",
        "line 3: expected 28 fields like the header, found 27",
    ),
    (
        "unknown-format",
        "line 1 (the header): not a credential report of a known provider (tencent-cam, aws-iam, alibaba-ram); its first columns are [\\\"id\\\", \\\"name\\\"",
    ),
    (
        "duplicate-column",
        "line 1 (the header): column \\\"Username\\\" appears more than once",
    ),
    (
        "ragged-row",
        "line 3: expected 25 fields like the header, found 26",
    ),
    (
        "unterminated-quote",
        "line 3: a quoted field is never closed",
    ),
    (
        "cut-off-mid-row",
        "line 4: expected 25 fields like the header",
    ),
    (
        "binary-garbage",
        "line 1: bytes are neither UTF-8 nor GB18030",
    ),
    (
        "neither-utf8-nor-gb18030",
        "line 3: bytes are neither UTF-8 nor GB18030",
    ),
    ("too-large", "more than --report.max-bytes=3000"),
];

#[test]
fn structural_faults_refuse_the_version_and_keep_the_last_good_one() {
    let dir = tempfile::tempdir().unwrap();
    for (name, _) in REFUSED {
        fs::write(dir.path().join(format!("{name}.csv")), report_with_users(3)).unwrap();
    }
    fs::write(dir.path().join("bystander.csv"), report_with_users(2)).unwrap();
    let exporter = Exporter::start(dir.path(), &["--report.max-bytes", "3000"]);
    for (name, _) in REFUSED {
        exporter.wait_for_sample(&format!("credential_report_up{{report=\"{name}\"}} 1"));
    }

    for (name, _) in REFUSED {
        let broken = match name {
            "too-large" => report_with_users(20).into_bytes(),
            _ => corpus(&format!("refused/{name}.csv")),
        };
        write_atomically(&dir.path().join(format!("{name}.csv")), &broken);
    }
    for (name, _) in REFUSED {
        exporter.wait_for_sample(&format!("credential_report_up{{report=\"{name}\"}} 0"));
    }

    let metrics = exporter.metrics();
    let logs = exporter.logs();
    for (name, reason) in REFUSED {
        let kept = format!("credential_report_users{{report=\"{name}\",user_type=\"sub_user\"}} 3");
        assert!(
            metrics.contains(&kept),
            "{name}: last good version still served"
        );
        let counted =
            format!("credential_report_reloads_total{{report=\"{name}\",result=\"failure\"}} 1");
        assert!(metrics.contains(&counted), "{name}: failure counted");
        let logged = logs.lines().any(|line| {
            line.contains(&format!("{name}.csv"))
                && line.contains(reason)
                && line.contains("level=error")
        });
        assert!(
            logged,
            "{name}: no error log naming the file and {reason:?}:\n{logs}"
        );
    }
    assert!(
        metrics.contains("credential_report_up{report=\"bystander\"} 1"),
        "other reports untouched"
    );
    assert!(
        metrics.contains("credential_report_users{report=\"bystander\",user_type=\"sub_user\"} 2")
    );
    assert!(!logs.contains("panicked"), "{logs}");
    assert_eq!(exporter.status("/-/healthy"), 200);
    let (_, _, page) = exporter.get("/", None);
    assert!(
        page.contains("<td>header-only</td><td>tencent-cam</td><td class=\"bad\">down</td>"),
        "{page}"
    );
}

#[test]
fn bad_values_void_their_cell_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("unknown-user-type.csv"),
        corpus("voided/unknown-user-type.csv"),
    )
    .unwrap();
    for name in ["impossible-dates", "aws-bad-values", "alibaba-bad-values"] {
        fs::write(
            dir.path().join(format!("{name}.csv")),
            corpus(&format!("voided/{name}.csv")),
        )
        .unwrap();
    }
    // As long as a name can be in a row a report may have (a longer row is refused: see
    // tests/hostile.rs).
    let huge_name = "x".repeat(48 << 10);
    let long_field = report_with_users(2).replace("user1", &huge_name);
    fs::write(dir.path().join("long-field.csv"), long_field).unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    for name in [
        "unknown-user-type",
        "impossible-dates",
        "long-field",
        "alibaba-bad-values",
    ] {
        exporter.wait_for_sample(&format!("credential_report_up{{report=\"{name}\"}} 1"));
        exporter.wait_for_sample(&format!(
            "credential_report_cell_errors{{report=\"{name}\"}} 1"
        ));
    }
    exporter.wait_for_sample("credential_report_cell_errors{report=\"aws-bad-values\"} 2");
    let metrics = exporter.metrics();
    assert!(metrics
        .contains("credential_report_users{report=\"unknown-user-type\",user_type=\"unknown\"} 1"));
    assert!(metrics
        .contains("credential_report_users{report=\"impossible-dates\",user_type=\"sub_user\"} 2"));
    assert!(
        !metrics.contains(&huge_name[..2000]),
        "a long cell never becomes a label"
    );
    let logs = exporter.logs();
    for expected in [
        "unknown-user-type.csv",
        "line 3, column UserType: expected Sub-user, Collaborator, WeWork-Sub-user or Message-receiver, found \\\"Robot\\\"",
        "impossible-dates.csv",
        "line 3, column CreationTime: expected a date like 2019/8/16 9:25:56, N/A or not_supported, found \\\"2019/13/45 25:61:00\\\"",
        "long-field.csv",
        "line 3, column Username: expected an id of at most 1024 bytes",
        "aws-bad-values.csv",
        "line 3, column user_creation_time: expected a date like 2024-05-06T07:08:09+00:00, N/A or not_supported, found \\\"2019-02-30T00:00:00+00:00\\\"",
        "line 3, column mfa_active: expected TRUE, FALSE, N/A or not_supported, found \\\"maybe\\\"",
        "alibaba-bad-values.csv",
        "line 3, column access_key_1_last_rotated: expected a date like 2024-05-06T07:08:09+00:00, N/A or not_supported, found \\\"yesterday\\\"",
    ] {
        assert!(logs.contains(expected), "log lacks {expected:?}:\n{}", &logs[..logs.len().min(5000)]);
    }
    assert!(
        !logs.contains(&huge_name[..200]),
        "a long cell is shortened in the log"
    );
}

#[test]
fn odd_usernames_are_escaped_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("odd.csv"),
        corpus("accepted/odd-usernames.csv"),
    )
    .unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample("credential_report_up{report=\"odd\"} 1");
    // The line break, a control character, is shown as `\n` text (markup::printable),
    // whose backslash the format escapes.
    let metrics = exporter.metrics();
    assert!(
        metrics.contains(r#"username="<script>alert('x')</script>""#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"username="back\\\\slash \"quoted\"\\nnew line""#),
        "{metrics}"
    );
    let (_, _, openmetrics) = exporter.get("/metrics", Some("application/openmetrics-text"));
    assert!(openmetrics.contains(r#"username="back\\\\slash \"quoted\"\\nnew line""#));
    assert!(openmetrics.ends_with("# EOF\n"));
    let (_, _, page) = exporter.get("/", None);
    assert!(!page.contains("<script>"), "{page}");
}
