//! Starts that fail: they say why in the configured log format and exit non-zero,
//! without a panic.

use std::net::TcpListener;
use std::process::{Command, Output};

use crate::common::{examples_dir, BINARY};

fn run(flags: &[&str]) -> Output {
    Command::new(BINARY)
        .arg("--report.dir")
        .arg(examples_dir())
        .args(flags)
        .output()
        .expect("running the exporter")
}

#[test]
fn port_in_use_is_a_logged_fatal_error_not_a_panic() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    for (format, expected) in [("logfmt", "level=error"), ("json", "\"level\":\"ERROR\"")] {
        let output = run(&["--web.listen-address", &address, "--log.format", format]);
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{log}");
        assert!(!log.contains("panicked"), "{log}");
        let fatal = log
            .lines()
            .find(|line| line.contains("cannot start"))
            .unwrap_or_else(|| panic!("no fatal line in {format}:\n{log}"));
        assert!(fatal.contains(expected), "{fatal}");
        assert!(fatal.contains(&address), "{fatal}");
        assert!(fatal.to_lowercase().contains("address"), "{fatal}");
        if format == "json" {
            serde_json::from_str::<serde_json::Value>(fatal).expect("one JSON object");
        }
    }
}

#[test]
fn listen_address_without_a_port_shows_the_expected_form() {
    let output = run(&["--web.listen-address", "localhost"]);
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(message.contains("host:port"), "{message}");
    assert!(message.contains(":9877"), "{message}");
}

#[test]
fn durations_take_units_together() {
    let exporter =
        crate::common::Exporter::start(&examples_dir(), &["--watch.poll-interval", "1m30s"]);
    assert_eq!(exporter.status("/-/ready"), 200);
}

#[test]
fn version_names_the_revision_compiler_and_target() {
    let output = Command::new(BINARY).arg("--version").output().unwrap();
    let version = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success());
    let revision = version
        .split("revision: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("{version}"));
    // A whole commit id in a git checkout, `unknown` outside one (a container build).
    assert!(
        revision == "unknown"
            || (revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit())),
        "{version}"
    );
    assert!(version.contains("rustc: 1."), "{version}");
    assert!(version.contains("target: "), "{version}");
}

#[test]
fn sizes_take_units() {
    let exporter = crate::common::Exporter::start(&examples_dir(), &["--report.max-bytes", "1KiB"]);
    let metrics = exporter.metrics();
    // acme-prod is larger than 1 KiB, so it is refused; the flag itself was accepted.
    assert!(
        metrics.contains("credential_report_up{report=\"acme-prod\"} 0"),
        "{metrics}"
    );
    let output = run(&["--report.max-bytes", "1KB2"]);
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("256MiB"), "{message}");
}

/// The subcommands are part of the command line's help, usage lines and errors, as for
/// `git`: what the help shows can be copied and run.
#[test]
fn help_and_errors_name_the_subcommands() {
    let text = |args: &[&str]| {
        let output = Command::new(BINARY).args(args).output().unwrap();
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        (output.status.code(), text)
    };
    let (code, help) = text(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(help.contains("Commands:\n  fetch"), "{help}");
    assert!(help.contains("\n  check"), "{help}");
    assert_eq!(text(&["help"]), (code, help));

    let (code, help) = text(&["help", "fetch"]);
    assert_eq!(code, Some(0));
    assert!(
        help.contains("Usage: credential-report-exporter fetch [OPTIONS] --provider"),
        "{help}"
    );
    assert_eq!(text(&["fetch", "--help"]), (code, help));

    let (code, error) = text(&["fetch", "--report.dir", "d"]);
    assert_eq!(code, Some(2));
    assert!(
        error.contains("Usage: credential-report-exporter fetch --provider"),
        "{error}"
    );
    let (code, error) = text(&["check"]);
    assert_eq!(code, Some(2));
    assert!(
        error.contains("Usage: credential-report-exporter check <PATH>"),
        "{error}"
    );
}

#[test]
fn fetch_makes_its_folder_even_when_the_fetch_fails() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("reports/new");
    let output = Command::new(BINARY)
        .env_clear()
        .args([
            "fetch",
            "--provider",
            "tencent-cam",
            "--once",
            "--report.dir",
        ])
        .arg(&folder)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert!(log.contains("no Tencent Cloud credentials"), "{log}");
    assert!(folder.is_dir(), "{log}");
}
