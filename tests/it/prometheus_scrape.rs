//! A real Prometheus (Debian's package) scrapes the real exporter: it negotiates
//! OpenMetrics and ingests every family without error.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{examples_on_a_fixed_day, free_port, Exporter};

struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn query(port: u16, promql: &str) -> serde_json::Value {
    let url = format!("http://127.0.0.1:{port}/api/v1/query");
    let mut response = ureq::get(&url)
        .query("query", promql)
        .call()
        .expect("querying Prometheus");
    let body: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["status"], "success", "{body}");
    body["data"]["result"].clone()
}

#[test]
fn prometheus_scrapes_openmetrics() {
    let examples = examples_on_a_fixed_day();
    let exporter = Exporter::start(examples.path(), &["--log.level", "debug"]);
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: credential-report\n    static_configs:\n      - targets: ['{}']\n",
            exporter.address
        ),
    )
    .unwrap();
    let port = free_port();
    let _prometheus = Prometheus(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", work.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus (Debian package prometheus) must be installed: scripts/test.sh installs it"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = ureq::get(&format!("http://127.0.0.1:{port}/-/ready"))
            .call()
            .is_ok();
        if ready
            && !query(port, "credential_report_users")
                .as_array()
                .unwrap()
                .is_empty()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus ingested nothing within 30s; exporter logs:\n{}",
            exporter.logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let up = query(port, "up{job=\"credential-report\"}");
    assert_eq!(up[0]["value"][1], "1", "{up}");
    // Every sample the exporter served was ingested: none dropped as invalid or duplicate.
    let served = exporter
        .metrics()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    let scraped = query(port, "scrape_samples_scraped{job=\"credential-report\"}");
    assert_eq!(scraped[0]["value"][1], served.to_string(), "{scraped}");
    let users = query(port, "sum(credential_report_users)");
    // 18 Tencent users in three reports, 7 AWS IAM and 5 Alibaba RAM users.
    assert_eq!(users[0]["value"][1], "30", "{users}");
    let counter = query(
        port,
        "credential_report_reloads_total{report=\"acme-prod\",result=\"success\"}",
    );
    assert_eq!(counter[0]["value"][1], "1", "{counter}");
    assert!(
        exporter.logs().contains("format=OpenMetrics"),
        "Prometheus negotiated OpenMetrics:\n{}",
        exporter.logs()
    );
}
