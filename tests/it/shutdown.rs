//! SIGTERM ends the exporter cleanly and promptly, even while it is reading a large report.

use std::time::{Duration, Instant};

use crate::common::{report_with_users, write_atomically, Exporter};

/// Large enough that reading it takes the exporter a while (about 45 MB)...
const USERS: usize = 200_000;
/// ...and read, not refused for its size by the default --report.max-bytes (32 MiB).
const MAX_BYTES: &str = "--report.max-bytes=64MiB";

#[test]
fn sigterm_during_the_first_scan_exits_cleanly_within_5s() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.csv"), report_with_users(USERS)).unwrap();
    let exporter = Exporter::spawn(dir.path(), &[MAX_BYTES]);
    assert_eq!(
        exporter.status("/-/ready"),
        503,
        "the scan should still be running, or this test proves nothing"
    );
    let started = Instant::now();
    let status = exporter.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn sigterm_right_after_a_large_write_exits_cleanly_within_5s() {
    let dir = tempfile::tempdir().unwrap();
    let exporter = Exporter::start(dir.path(), &[MAX_BYTES]);
    write_atomically(
        &dir.path().join("big.csv"),
        report_with_users(USERS).as_bytes(),
    );
    // Past the 100 ms debounce the tests use, so the rescan has begun.
    std::thread::sleep(Duration::from_millis(300));
    let status = exporter.terminate();
    assert!(status.success(), "exit status {status:?}");
}
