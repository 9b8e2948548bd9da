//! The folder, followed: real files in a real folder, the real binary, real HTTP.

use std::fs;
use std::os::unix::fs::symlink;
use std::time::Duration;

use crate::common::{report_with_users, users_line, write_atomically, Exporter};

#[test]
fn new_report_is_served_within_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    assert!(!exporter.metrics().contains("credential_report_users{"));
    fs::write(dir.path().join("acme.csv"), report_with_users(3)).unwrap();
    let took = exporter.wait_for_sample(&users_line("acme", 3));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    exporter.wait_for_sample("credential_report_up{report=\"acme\"} 1");
}

#[test]
fn rewrite_in_place_rename_over_and_delete_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acme.csv");
    fs::write(&path, report_with_users(2)).unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample(&users_line("acme", 2));

    fs::write(&path, report_with_users(5)).unwrap();
    exporter.wait_for_sample(&users_line("acme", 5));

    write_atomically(&path, report_with_users(7).as_bytes());
    exporter.wait_for_sample(&users_line("acme", 7));

    fs::remove_file(&path).unwrap();
    exporter.wait_for_absent("credential_report_users{report=\"acme\"");
    exporter.wait_for_absent("credential_report_up{report=\"acme\"");
}

#[test]
fn broken_version_keeps_last_good_data_and_turns_up_to_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acme.csv");
    fs::write(&path, report_with_users(4)).unwrap();
    fs::write(dir.path().join("other.csv"), report_with_users(1)).unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample(&users_line("acme", 4));

    // A half-written file: the last row stops mid-way.
    let mut half = report_with_users(6);
    half.truncate(half.len() - 60);
    fs::write(&path, half).unwrap();
    exporter.wait_for_sample("credential_report_up{report=\"acme\"} 0");
    let metrics = exporter.metrics();
    assert!(
        metrics.lines().any(|l| l == users_line("acme", 4)),
        "last good data is still served"
    );
    assert!(
        metrics.contains("credential_report_reloads_total{report=\"acme\",result=\"failure\"} 1")
    );
    assert!(
        metrics.contains("credential_report_up{report=\"other\"} 1"),
        "other reports untouched"
    );
    // The log is read from the exporter's stderr by a thread: it may lag the metrics.
    exporter.wait_until("the log to name the file and line", || {
        let logs = exporter.logs();
        logs.contains("acme.csv") && logs.contains("line 7")
    });

    fs::write(&path, report_with_users(6)).unwrap();
    exporter.wait_for_sample("credential_report_up{report=\"acme\"} 1");
    exporter.wait_for_sample(&users_line("acme", 6));
}

#[test]
fn garbage_from_the_start_serves_nothing_but_up_zero() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("junk.csv"),
        b"\x00\xff\xfe\x00garbage\xff\x80",
    )
    .unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample("credential_report_up{report=\"junk\"} 0");
    assert!(!exporter
        .metrics()
        .contains("credential_report_users{report=\"junk\""));
    assert!(exporter.logs().contains("junk.csv"));
}

#[test]
fn unreadable_cells_are_counted_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let report = report_with_users(2).replace("user1,Sub-user", "user1,Robot");
    fs::write(dir.path().join("acme.csv"), report).unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample("credential_report_cell_errors{report=\"acme\"} 1");
    exporter.wait_for_sample("credential_report_users{report=\"acme\",user_type=\"unknown\"} 1");
    let logs = exporter.logs();
    assert!(logs.contains("line 3, column UserType"), "{logs}");
}

#[test]
fn folder_missing_at_start_is_waited_for() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("reports");
    let exporter = Exporter::start(&dir, &[]);
    assert_eq!(
        exporter.status("/-/ready"),
        200,
        "ready even with no folder"
    );
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("late.csv"), report_with_users(2)).unwrap();
    exporter.wait_for_sample(&users_line("late", 2));

    // Deleted and recreated: the new folder is watched too.
    fs::remove_dir_all(&dir).unwrap();
    exporter.wait_for_absent("credential_report_users{report=\"late\"");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("again.csv"), report_with_users(3)).unwrap();
    exporter.wait_for_sample(&users_line("again", 3));
}

/// The kubelet's atomic writer: files are symlinks through `..data`, itself a symlink to a
/// timestamped folder; an update writes a new folder and renames a new `..data` over the old.
#[test]
fn kubernetes_data_symlink_swap_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let first = root.join("..2026_11_24_10_00_00.000000001");
    fs::create_dir(&first).unwrap();
    fs::write(first.join("acme.csv"), report_with_users(2)).unwrap();
    symlink(first.file_name().unwrap(), root.join("..data")).unwrap();
    symlink("..data/acme.csv", root.join("acme.csv")).unwrap();
    let exporter = Exporter::start(root, &[]);
    exporter.wait_for_sample(&users_line("acme", 2));

    let second = root.join("..2026_11_24_14_00_00.000000002");
    fs::create_dir(&second).unwrap();
    fs::write(second.join("acme.csv"), report_with_users(8)).unwrap();
    symlink(second.file_name().unwrap(), root.join("..data_tmp")).unwrap();
    fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    fs::remove_dir_all(&first).unwrap();
    exporter.wait_for_sample(&users_line("acme", 8));
    assert!(!exporter.metrics().contains("report=\"..data"));
}

#[test]
fn dated_downloads_count_once_newest_wins() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("cam_1000123_20261101.csv"),
        report_with_users(2),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    fs::write(
        dir.path().join("cam_1000123_20261124.csv"),
        report_with_users(5),
    )
    .unwrap();
    let exporter = Exporter::start(dir.path(), &["--report.name-pattern", r"^cam_(\d+)_"]);
    exporter.wait_for_sample(&users_line("1000123", 5));
    let metrics = exporter.metrics();
    assert_eq!(
        metrics.matches("credential_report_users{").count(),
        1,
        "{metrics}"
    );
}

#[test]
fn glob_selects_which_files_are_reports() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.csv"), report_with_users(1)).unwrap();
    fs::write(dir.path().join("b.report"), report_with_users(2)).unwrap();
    let exporter = Exporter::start(dir.path(), &["--report.glob", "*.report"]);
    exporter.wait_for_sample(&users_line("b", 2));
    assert!(!exporter.metrics().contains("report=\"a\""));
}

#[test]
fn polling_finds_changes_without_events() {
    // Polling is what NFS users rely on; prove a rescan happens on the interval alone by
    // changing a file in a sub-folder (the folder is watched, not what is below it),
    // reached through a link inside the folder (links out of it are not read).
    let dir = tempfile::tempdir().unwrap();
    let below = dir.path().join("below");
    fs::create_dir(&below).unwrap();
    let target = below.join("real.csv");
    fs::write(&target, report_with_users(1)).unwrap();
    symlink("below/real.csv", dir.path().join("acme.csv")).unwrap();
    let exporter = Exporter::start(dir.path(), &["--watch.poll-interval", "1s"]);
    exporter.wait_for_sample(&users_line("acme", 1));
    // Written below the watched folder: no event reaches the exporter.
    fs::write(&target, report_with_users(9)).unwrap();
    exporter.wait_for_sample(&users_line("acme", 9));
}

#[test]
fn per_user_series_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("acme.csv"), report_with_users(2)).unwrap();
    let exporter = Exporter::start(dir.path(), &["--metrics.per-user=false"]);
    exporter.wait_for_sample(&users_line("acme", 2));
    let metrics = exporter.metrics();
    assert!(!metrics.contains("credential_report_user_"), "{metrics}");
    assert!(
        !metrics.contains("credential_report_access_key_"),
        "{metrics}"
    );
    assert!(metrics.contains("credential_report_access_keys{report=\"acme\",status=\"active\"} 2"));
}

#[test]
fn secret_ids_are_masked_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("acme.csv"), report_with_users(1)).unwrap();
    let masked = Exporter::start(dir.path(), &[]);
    masked.wait_for_sample("credential_report_up{report=\"acme\"} 1");
    let metrics = masked.metrics();
    assert!(metrics.contains("secret_id=\"AKID…0000\""), "{metrics}");
    assert!(!metrics.contains("AKIDtest00000000"));
    assert!(!masked.logs().contains("AKIDtest00000000"));

    let shown = Exporter::start(dir.path(), &["--metrics.show-secret-ids"]);
    shown.wait_for_sample("credential_report_up{report=\"acme\"} 1");
    assert!(shown.metrics().contains("secret_id=\"AKIDtest00000000\""));
}

#[test]
fn sigterm_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    let status = exporter.terminate();
    assert!(status.success(), "{status:?}");
}

/// `credential_report_folder_up` and the status page say when `--report.dir` is missing,
/// a file, or unreadable, and recover when it is fixed.
#[test]
fn folder_that_is_missing_a_file_or_unreadable_is_reported() {
    let parent = tempfile::tempdir().unwrap();
    crate::common::open_to_everyone(parent.path());
    let dir = parent.path().join("reports");
    let folder_page = |exporter: &Exporter| exporter.get("/", None).2;

    let exporter = Exporter::start(&dir, &[]);
    exporter.wait_for_sample("credential_report_folder_up 0");
    assert!(
        folder_page(&exporter).contains("missing"),
        "{}",
        folder_page(&exporter)
    );
    fs::create_dir(&dir).unwrap();
    exporter.wait_for_sample("credential_report_folder_up 1");
    drop(exporter);

    fs::remove_dir(&dir).unwrap();
    fs::write(&dir, "not a folder").unwrap();
    let exporter = Exporter::start(&dir, &[]);
    exporter.wait_for_sample("credential_report_folder_up 0");
    assert!(folder_page(&exporter).contains("not a folder"));
    exporter.wait_until("the log to say the path is a file", || {
        let logs = exporter.logs();
        logs.contains("--report.dir is a file, not a folder") && logs.contains("kept_reports=0")
    });
    fs::remove_file(&dir).unwrap();
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("r.csv"), report_with_users(2)).unwrap();
    exporter.wait_for_sample(&users_line("r", 2));
    exporter.wait_for_sample("credential_report_folder_up 1");
    drop(exporter);

    // Unreadable to the exporter's user (nobody when the tests run as root).
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o000)).unwrap();
    let exporter = Exporter::start_unprivileged(&dir, &[]);
    exporter.wait_for_sample("credential_report_folder_up 0");
    let page = folder_page(&exporter);
    assert!(page.contains("unreadable: Permission denied"), "{page}");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    exporter.wait_for_sample("credential_report_folder_up 1");
    exporter.wait_for_sample(&users_line("r", 2));
}
