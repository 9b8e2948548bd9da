//! File-system faults with real files: permissions, a read-only folder, a storm of
//! rewrites, and a folder of ten thousand reports.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::common::{open_to_everyone, report_with_users, users_line, write_atomically, Exporter};

#[test]
fn unreadable_file_is_refused_while_others_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    open_to_everyone(dir.path());
    let locked = dir.path().join("locked.csv");
    fs::write(&locked, report_with_users(2)).unwrap();
    fs::write(dir.path().join("open.csv"), report_with_users(3)).unwrap();
    let exporter = Exporter::start_unprivileged(dir.path(), &[]);
    exporter.wait_for_sample(&users_line("locked", 2));

    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    fs::write(dir.path().join("open.csv"), report_with_users(4)).unwrap();
    exporter.wait_for_sample("credential_report_up{report=\"locked\"} 0");
    exporter.wait_for_sample(&users_line("open", 4));
    assert!(
        exporter.metrics().contains(&users_line("locked", 2)),
        "last good data kept"
    );
    assert!(
        exporter.logs().contains("Permission denied"),
        "{}",
        exporter.logs()
    );

    fs::set_permissions(&locked, fs::Permissions::from_mode(0o644)).unwrap();
    exporter.wait_for_sample("credential_report_up{report=\"locked\"} 1");
}

#[test]
fn read_only_folder_is_enough() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("acme.csv"), report_with_users(2)).unwrap();
    fs::set_permissions(
        dir.path().join("acme.csv"),
        fs::Permissions::from_mode(0o444),
    )
    .unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
    let exporter = Exporter::start_unprivileged(dir.path(), &[]);
    exporter.wait_for_sample(&users_line("acme", 2));
    exporter.wait_for_sample("credential_report_up{report=\"acme\"} 1");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_storm_of_rewrites_settles_on_the_final_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("storm.csv");
    fs::write(&path, report_with_users(1)).unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample(&users_line("storm", 1));
    let cpu_before = exporter.cpu_time();

    // 100 rewrites a second for 10 seconds, alternating in place and by rename.
    let started = Instant::now();
    let mut version = 0;
    while started.elapsed() < Duration::from_secs(10) {
        version += 1;
        let contents = report_with_users(1 + version % 50);
        match version % 2 {
            0 => fs::write(&path, contents).unwrap(),
            _ => write_atomically(&path, contents.as_bytes()),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let final_users = 1 + version % 50;
    exporter.wait_for_sample(&users_line("storm", final_users));
    exporter.wait_for_sample("credential_report_up{report=\"storm\"} 1");

    let cpu = exporter.cpu_time() - cpu_before;
    // Debouncing reads the file about once a second, not a thousand times: a bound on
    // work done, generous enough for a loaded machine.
    assert!(
        cpu < Duration::from_secs(5),
        "{cpu:?} of CPU for {version} rewrites"
    );
    let metrics = exporter.metrics();
    let reloads: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("credential_report_reloads_total{report=\"storm\""))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert!(
        reloads < 100,
        "{reloads} reloads for {version} rewrites: not debounced"
    );
    eprintln!("{version} rewrites in 10s: {reloads} reloads, {cpu:?} CPU");
}

#[test]
fn ten_thousand_reports() {
    let dir = tempfile::tempdir().unwrap();
    let report = report_with_users(1);
    for i in 0..10_000 {
        fs::write(dir.path().join(format!("account-{i:05}.csv")), &report).unwrap();
    }
    let started = Instant::now();
    // Aggregates only: this is about files; per-user scale is measured in benches/.
    let exporter = Exporter::start(dir.path(), &["--metrics.per-user=false"]);
    let metrics = exporter.metrics();
    let up = metrics
        .lines()
        .filter(|l| l.starts_with("credential_report_up{") && l.ends_with(" 1"))
        .count();
    assert_eq!(up, 10_000);
    eprintln!(
        "10,000 reports ready and scraped in {:?}",
        started.elapsed()
    );

    fs::write(dir.path().join("account-04242.csv"), report_with_users(3)).unwrap();
    exporter.wait_for_sample(&users_line("account-04242", 3));
    let metrics = exporter.metrics();
    let reread: Vec<&str> = metrics
        .lines()
        .filter(|l| {
            l.starts_with("credential_report_reloads_total{")
                && l.ends_with("result=\"success\"} 2")
        })
        .collect();
    assert_eq!(
        reread,
        ["credential_report_reloads_total{report=\"account-04242\",result=\"success\"} 2"],
        "only the changed file is re-read"
    );
}
