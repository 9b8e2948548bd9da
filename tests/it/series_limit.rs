//! `--metrics.max-per-user-series`: the real binary, generated reports, real HTTP. The
//! limit holds, whole users are shown, and what was left out is counted in a metric.

use crate::common::Exporter;
use credential_report_exporter::generate::{self, Spec};

/// Sample lines of the per-user and per-key families (not the `users`/`access_keys`
/// aggregates).
fn per_user_samples(body: &str) -> Vec<&str> {
    body.lines()
        .filter(|line| {
            line.starts_with("credential_report_user_")
                || line.starts_with("credential_report_access_key_")
        })
        .collect()
}

fn sample(body: &str, name: &str) -> Option<u64> {
    body.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn per_user_series_are_capped_and_the_rest_counted() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec {
        users: 200,
        files: 2,
        seed: 3,
    };
    generate::write_reports(dir.path(), &spec).unwrap();
    let ready = "credential_report_up{report=\"account-0001\"} 1";

    let unlimited = Exporter::start(dir.path(), &[]);
    unlimited.wait_for_sample(ready);
    let body = unlimited.metrics();
    let total = per_user_samples(&body).len() as u64;
    assert!(total > 1000, "{total} per-user series");
    assert_eq!(
        sample(&body, "credential_report_per_user_series_dropped"),
        None,
        "no limit, no metric"
    );

    let limit = 500;
    let limited = Exporter::start(
        dir.path(),
        &["--metrics.max-per-user-series", &limit.to_string()],
    );
    limited.wait_for_sample(ready);
    let body = limited.metrics();
    let shown = per_user_samples(&body);
    assert!(shown.len() as u64 <= limit, "{} series shown", shown.len());
    let dropped = sample(&body, "credential_report_per_user_series_dropped").unwrap();
    assert_eq!(dropped, total - shown.len() as u64);
    // Whole users: every user with a series shown has its info series shown, and only the
    // first report's users fit (reports in name order, users in file order).
    // (Generated account ids are unique, so they name the user.)
    let user_of = |line: &str| -> String {
        let id = &line[line.find("account_id=\"").unwrap() + 12..];
        id[..id.find('"').unwrap()].to_owned()
    };
    let infos: std::collections::BTreeSet<String> = shown
        .iter()
        .filter(|l| l.starts_with("credential_report_user_info{"))
        .map(|l| user_of(l))
        .collect();
    assert!(!infos.is_empty());
    for line in &shown {
        assert!(infos.contains(&user_of(line)), "{line} without its user");
    }
    assert!(shown.iter().all(|l| l.contains("report=\"account-0000\"")));
    // The aggregates are never capped.
    assert_eq!(
        sample(
            &body,
            "credential_report_users{report=\"account-0001\",user_type=\"sub_user\"}"
        ),
        sample(
            &unlimited.metrics(),
            "credential_report_users{report=\"account-0001\",user_type=\"sub_user\"}"
        )
    );
}
