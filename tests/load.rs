//! A bounded load test on loopback: 200 concurrent clients scrape for 30 seconds while a
//! report is replaced every 100 ms. No scrape fails, none sees a torn snapshot, memory
//! stays flat. Figures are printed (run with --nocapture), not asserted as speeds.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{report_with_users, write_atomically, Exporter};

const CLIENTS: usize = 200;
const DURATION: Duration = Duration::from_secs(30);

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn sample(body: &str, prefix: &str) -> Option<u64> {
    let line = body.lines().find(|l| l.starts_with(prefix))?;
    line.rsplit_once(' ')?.1.parse().ok()
}

#[test]
fn two_hundred_clients_while_the_report_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("load.csv");
    fs_write(&path, 100);
    // The default bound of 40 requests at once answers the rest with 503 by design;
    // this test is about serving all 200, so it lifts the bound above them.
    let exporter = Arc::new(Exporter::start(
        dir.path(),
        &["--watch.debounce", "20ms", "--web.max-requests", "256"],
    ));
    exporter.wait_for_sample("credential_report_users{report=\"load\",user_type=\"sub_user\"} 100");

    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let url = exporter.url("/metrics");
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (stop, latencies, failures, url) = (
                stop.clone(),
                latencies.clone(),
                failures.clone(),
                url.clone(),
            );
            std::thread::spawn(move || {
                // Generous: 200 client threads share two cores with the exporter (and, in
                // `cargo test`, run unoptimised), so a slow answer here measures the clients'
                // load. Latency is reported from release runs, not asserted.
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(Duration::from_secs(60)))
                    .build()
                    .into();
                let mut mine = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let body = agent
                        .get(&url)
                        .call()
                        .and_then(|mut r| r.body_mut().read_to_string());
                    mine.push(started.elapsed());
                    let problem = match body {
                        Err(error) => Some(format!("scrape failed: {error}")),
                        Ok(body) => torn(&body),
                    };
                    if let Some(problem) = problem {
                        failures.lock().unwrap().push(problem);
                    }
                }
                latencies.lock().unwrap().extend(mine);
            })
        })
        .collect();

    // The writer: a new version every 100 ms, each with a different number of users.
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let rss_warm = rss_kib(exporter.pid(), "VmRSS:");
    let mut versions = 0;
    while started.elapsed() < DURATION {
        versions += 1;
        fs_write(&path, 50 + versions % 100);
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let elapsed = started.elapsed();
    let rss_end = rss_kib(exporter.pid(), "VmRSS:");
    let rss_peak = rss_kib(exporter.pid(), "VmHWM:");

    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} bad scrapes, first: {:?}",
        failures.len(),
        failures.first()
    );
    let mut latencies = latencies.lock().unwrap();
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    let requests = latencies.len();
    eprintln!(
        "load: {CLIENTS} clients, {versions} versions written, {requests} scrapes in {elapsed:.1?} = {:.0} req/s, p50 {:?}, p99 {p99:?}, RSS warm {rss_warm} KiB, end {rss_end} KiB, peak {rss_peak} KiB",
        requests as f64 / elapsed.as_secs_f64(),
        latencies[latencies.len() / 2],
    );
    assert!(requests > CLIENTS, "every client scraped");
    // Flat memory: whatever is allocated per request or per reload is given back.
    assert!(
        rss_end < rss_warm * 2 + 16 * 1024,
        "RSS grew from {rss_warm} KiB to {rss_end} KiB"
    );
}

fn fs_write(path: &std::path::Path, users: usize) {
    write_atomically(path, report_with_users(users).as_bytes());
}

/// Every version has as many users as active keys and users without MFA: a scrape that
/// mixes two versions shows different numbers.
fn torn(body: &str) -> Option<String> {
    let users = sample(
        body,
        "credential_report_users{report=\"load\",user_type=\"sub_user\"}",
    );
    let keys = sample(
        body,
        "credential_report_access_keys{report=\"load\",status=\"active\"}",
    );
    let without_mfa = sample(
        body,
        "credential_report_users_without_mfa{report=\"load\",user_type=\"sub_user\"}",
    );
    let user_infos = body
        .lines()
        .filter(|l| l.starts_with("credential_report_user_info{report=\"load\""))
        .count() as u64;
    match (users, keys, without_mfa) {
        (Some(u), Some(k), Some(m)) if u == k && k == m && m == user_infos => None,
        other => Some(format!(
            "torn snapshot: users/keys/without_mfa {other:?}, user_info lines {user_infos}"
        )),
    }
}
