//! The probes of a hostile report folder and hostile HTTP clients (docs/security.md), each
//! against the real binary on loopback, bounded in count and time: links out of the folder,
//! files with no end, wrong-password floods, clients that never read, and start-up faults.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{report_with_users, users_line, Exporter, BINARY};

/// What no page, metric or log may ever hold: it is only in files outside the folder.
const SECRET: &str = "OUTSIDE-SECRET-7f3a9c";

/// Runs the binary with `args`, killing it after `limit`; `None` if it had to be killed.
fn run_for_at_most(args: &[&str], limit: Duration) -> Option<Output> {
    let mut child = Command::new(BINARY)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().unwrap())
}

/// A file whose real path is outside the report folder is not read, by a link to it or
/// through a linked folder; the refusal names the file and never its content. Kubernetes'
/// `..data` links, which stay inside the folder, still work.
#[test]
fn links_out_of_the_folder_are_refused_and_never_quoted() {
    let outside = tempfile::tempdir().unwrap();
    // A line the reader would refuse as an unknown format, quoting its start, and a valid
    // report: neither may be read.
    let secret_line = format!("{SECRET},{SECRET},{SECRET}\n{SECRET}\n");
    fs::write(outside.path().join("secret.csv"), &secret_line).unwrap();
    let valid = report_with_users(3).replace("user", SECRET);
    fs::write(outside.path().join("valid.csv"), &valid).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    symlink(outside.path().join("secret.csv"), root.join("leak.csv")).unwrap();
    symlink(
        outside.path().join("valid.csv"),
        root.join("valid-leak.csv"),
    )
    .unwrap();
    symlink(outside.path(), root.join("linked-folder")).unwrap();
    symlink("linked-folder/secret.csv", root.join("via-folder.csv")).unwrap();
    // Kubernetes' layout: acme.csv -> ..data/acme.csv, ..data -> ..2026_…
    let timestamped = root.join("..2026_11_24_10_00_00.000000001");
    fs::create_dir(&timestamped).unwrap();
    fs::write(timestamped.join("acme.csv"), report_with_users(2)).unwrap();
    symlink(timestamped.file_name().unwrap(), root.join("..data")).unwrap();
    symlink("..data/acme.csv", root.join("acme.csv")).unwrap();

    let exporter = Exporter::start(root, &[]);
    exporter.wait_for_sample(&users_line("acme", 2));
    for name in ["leak", "valid-leak", "via-folder"] {
        exporter.wait_for_sample(&format!("credential_report_up{{report=\"{name}\"}} 0"));
    }
    let metrics = exporter.metrics();
    let (_, _, page) = exporter.get("/", None);
    let (_, _, openmetrics) = exporter.get("/metrics", Some("application/openmetrics-text"));
    let logs = exporter.logs();
    for (what, text) in [
        ("metrics", &metrics),
        ("OpenMetrics", &openmetrics),
        ("status page", &page),
        ("log", &logs),
    ] {
        assert!(
            !text.contains(SECRET),
            "the {what} quotes an outside file:\n{text}"
        );
        assert!(!text.contains("OUTSIDE-SECRET"), "the {what}:\n{text}");
    }
    for name in ["leak.csv", "valid-leak.csv", "via-folder.csv"] {
        let refused = logs.lines().any(|line| {
            line.contains("level=error")
                && line.contains(name)
                && line.contains("outside the report folder")
        });
        assert!(refused, "no refusal naming {name}:\n{logs}");
    }
    assert!(page.contains("outside the report folder"), "{page}");
}

/// A report of one line of megabytes is refused with at most a short, escaped start of it
/// in the log and on the page: neither grows with the file.
#[test]
fn a_huge_one_line_file_is_quoted_short() {
    let dir = tempfile::tempdir().unwrap();
    let cell = format!("{}\u{1b}[2J", "A".repeat(4 << 20));
    fs::write(
        dir.path().join("huge.csv"),
        format!("{cell},{cell},{cell}\n"),
    )
    .unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample("credential_report_up{report=\"huge\"} 0");
    let (_, _, page) = exporter.get("/", None);
    let logs = exporter.logs();
    let longest_run = |text: &str| text.split(|c| c != 'A').map(str::len).max().unwrap();
    assert!(longest_run(&logs) <= 120, "{}", longest_run(&logs));
    assert!(longest_run(&page) <= 120, "{}", longest_run(&page));
    assert!(page.len() < 20_000, "page of {} bytes", page.len());
    let refusal = logs.lines().find(|l| l.contains("huge.csv")).unwrap();
    assert!(refusal.len() < 1_000, "{refusal}");
    assert!(!logs.contains('\u{1b}') && !page.contains('\u{1b}'));
}

/// `/dev/zero` says it is 0 bytes long and never ends; only regular files are read.
#[test]
fn check_refuses_dev_zero_at_once() {
    let args = ["check", "--report.max-bytes", "1000000", "/dev/zero"];
    let started = Instant::now();
    let output = run_for_at_most(&args, Duration::from_secs(20)).expect("check ended");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not a regular file but a character device"),
        "{stderr}"
    );
    eprintln!("check /dev/zero: exit 2 after {:?}", started.elapsed());
}

/// A FIFO would make a reader wait for a writer for ever.
#[test]
fn check_refuses_a_fifo_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report.csv");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let started = Instant::now();
    let fifo = fifo.to_str().unwrap();
    let output = run_for_at_most(&["check", fifo], Duration::from_secs(20)).expect("check ended");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a regular file but a FIFO"), "{stderr}");
    eprintln!("check FIFO: exit 2 after {:?}", started.elapsed());
    // And in a folder, it is passed over rather than waited on.
    let folder = dir.path().to_str().unwrap();
    let output = run_for_at_most(&["check", folder], Duration::from_secs(20)).expect("ended");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no report in the folder"));
}

/// A link to a /proc file (whose size says 0, and which holds the process's secrets) is
/// refused by the folder's boundary before a byte of it is read.
#[test]
fn check_refuses_a_link_to_proc() {
    let dir = tempfile::tempdir().unwrap();
    symlink("/proc/self/environ", dir.path().join("environ.csv")).unwrap();
    let folder = dir.path().to_str().unwrap();
    let output = run_for_at_most(&["check", folder], Duration::from_secs(20)).expect("ended");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("environ.csv"), "{stderr}");
    assert!(stderr.contains("outside the report folder"), "{stderr}");
    assert!(!stderr.contains("PATH="), "{stderr}");
}
