//! The `/metrics` output for `examples/reports/`, compared with checked-in golden files,
//! and checked by Debian's `promtool`. After an intended change of the output, regenerate
//! with `UPDATE_GOLDEN=1 cargo test --test it golden` and review the diff.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{examples_on_a_fixed_day, Exporter};

const OPENMETRICS: &str = "application/openmetrics-text;version=1.0.0";

/// Values that change from run to run (file times, reload times and durations, and the
/// process's own figures).
const VOLATILE: [&str; 4] = [
    "credential_report_file_modified_timestamp_seconds{",
    "credential_report_last_reload_success_timestamp_seconds{",
    "credential_report_last_reload_duration_seconds{",
    "process_",
];

/// The build's revision, compiler and target differ from one checkout to the next.
const BUILD_INFO: &str = "credential_report_exporter_build_info{";

fn normalize(exposition: &str) -> String {
    exposition
        .lines()
        .map(|line| match line.starts_with(BUILD_INFO) {
            true => format!("{BUILD_INFO}<build>}} 1"),
            false => line.to_owned(),
        })
        .map(
            |line: String| match VOLATILE.iter().any(|prefix| line.starts_with(prefix)) {
                true => format!("{} <volatile>", line.rsplit_once(' ').unwrap().0),
                false => line.to_owned(),
            },
        )
        .map(|line| line + "\n")
        .collect()
}

fn compare_with_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run UPDATE_GOLDEN=1 cargo test --test it golden",
            path.display()
        )
    });
    if expected != actual {
        let first_difference = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the output at line {}:\n  golden: {:?}\n  actual: {:?}\nIf the change is intended: UPDATE_GOLDEN=1 cargo test --test it golden",
            path.display(),
            first_difference + 1,
            expected.lines().nth(first_difference),
            actual.lines().nth(first_difference),
        );
    }
}

/// Waits until every example report is served.
fn start_on_examples() -> (Exporter, tempfile::TempDir) {
    let folder = examples_on_a_fixed_day();
    // Keys over 90 days and passwords unused for 45 count up to --now: the same on any day.
    let exporter = Exporter::start(folder.path(), &["--now", "2026-11-24T00:00:00Z"]);
    for report in [
        "acme-cn",
        "acme-prod",
        "alibaba-prod",
        "aws-prod",
        "legacy-gbk",
    ] {
        exporter.wait_for_sample(&format!("credential_report_up{{report=\"{report}\"}} 1"));
    }
    (exporter, folder)
}

#[test]
fn examples_match_the_golden_files() {
    let (exporter, _folder) = start_on_examples();
    compare_with_golden("metrics.txt", &normalize(&exporter.metrics()));
    let (_, _, openmetrics) = exporter.get("/metrics", Some(OPENMETRICS));
    compare_with_golden("metrics.openmetrics.txt", &normalize(&openmetrics));
}

#[test]
fn promtool_accepts_the_classic_output() {
    let (exporter, _folder) = start_on_examples();
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect(
            "promtool (Debian package prometheus) must be installed: scripts/test.sh installs it",
        );
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(exporter.metrics().as_bytes())
        .unwrap();
    let output = promtool.wait_with_output().unwrap();
    let findings: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&output.stderr).lines())
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    // Clean, exit 0: thresholds sit in names as `over_90d`, never as a `days` part, which
    // promtool reads as a unit and would have in seconds.
    assert!(
        findings.is_empty(),
        "promtool check metrics found: {findings:#?}"
    );
    assert!(output.status.success(), "promtool exited {}", output.status);
}
