//! The HTTP surface: content negotiation, probes, the status page, unknown paths.

use crate::common::{examples_dir, examples_on_a_fixed_day, Exporter};

use std::path::Path;
use std::process::Command;

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[test]
fn prometheus_gets_openmetrics_and_curl_gets_classic_text() {
    let examples = examples_on_a_fixed_day();
    let exporter = Exporter::start(examples.path(), &[]);
    let (status, content_type, body) = exporter.get("/metrics", Some(PROMETHEUS_ACCEPT));
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(body.ends_with("# EOF\n"));
    assert!(body.contains("# TYPE credential_report_reloads counter"));

    let (status, content_type, body) = exporter.get("/metrics", None);
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert!(!body.contains("# EOF"));
    assert!(body.contains("# TYPE credential_report_reloads_total counter"));
    assert!(
        !body.contains("# TYPE credential_report_exporter_build_info info"),
        "no info-typed families"
    );
}

#[test]
fn probes_and_status_page() {
    let examples = examples_on_a_fixed_day();
    // Keys over 90 days count up to --now: the same on any day.
    let exporter = Exporter::start(examples.path(), &["--now", "2026-11-24T00:00:00Z"]);
    assert_eq!(exporter.get("/-/healthy", None).0, 200);
    assert_eq!(exporter.get("/-/ready", None).0, 200);
    let (status, content_type, page) = exporter.get("/", None);
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"));
    assert!(!page.contains("<script"), "no scripts");
    assert!(page.contains("<style>"), "a little CSS");
    assert!(page.contains(&format!("Version {}", env!("CARGO_PKG_VERSION"))));
    assert!(page.contains("(revision <code>"), "{page}");
    let folder = examples.path().display().to_string();
    assert!(
        page.contains(&format!(
            "<code>{folder}</code>: <span class=\"good\">readable</span>"
        )),
        "{page}"
    );
    for (report, provider) in [
        ("acme-prod", "tencent-cam"),
        ("acme-cn", "tencent-cam"),
        ("legacy-gbk", "tencent-cam"),
        ("aws-prod", "aws-iam"),
        ("alibaba-prod", "alibaba-ram"),
    ] {
        assert!(
            page.contains(&format!(
                "<tr><td>{report}</td><td>{provider}</td><td class=\"good\">up</td>"
            )),
            "{page}"
        );
    }
    // acme-prod's headline findings: console users without MFA, active keys at risk,
    // over 90 days, never used (as credential_report_users_console_without_mfa{user_type!="root"},
    // credential_report_access_keys_*{status="active"} and `check` count them: the root
    // user has its own check); totals over the five.
    let row = page
        .lines()
        .find(|line| line.starts_with("<tr><td>acme-prod</td>"))
        .unwrap();
    let bad = |n: u64| format!("<td class=\"n bad\">{n}</td>");
    assert!(
        row.contains(&[bad(2), bad(1), bad(4), bad(1)].concat()),
        "{row}"
    );
    // legacy-gbk has no key at risk: shown as good, not as a finding.
    let row = page
        .lines()
        .find(|line| line.starts_with("<tr><td>legacy-gbk</td>"))
        .unwrap();
    assert!(row.contains("<td class=\"n good\">0</td>"), "{row}");
    // AWS does not flag keys at risk: not applicable rather than a reassuring 0.
    let aws = page
        .lines()
        .find(|line| line.starts_with("<tr><td>aws-prod</td>"))
        .unwrap();
    assert!(aws.contains("<td class=\"n muted\">n/a</td>"), "{aws}");
    let totals = page
        .lines()
        .find(|line| line.contains("All reports"))
        .unwrap();
    // The totals are the metrics' sums, as of --now.
    let metrics = exporter.metrics();
    let sum = |family: &str, filter: &str| -> u64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(&format!("{family}{{")) && l.contains(filter))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum()
    };
    let active = "status=\"active\"";
    let want = [
        // The root user has alerts of its own: the page, like check, counts the others.
        sum("credential_report_users_console_without_mfa", "")
            - sum(
                "credential_report_users_console_without_mfa",
                "user_type=\"root\"",
            ),
        sum("credential_report_access_keys_at_risk", active),
        sum("credential_report_access_keys_over_90d", active),
        sum("credential_report_access_keys_never_used", active),
    ];
    assert_eq!(want, [8, 2, 17, 6], "{metrics}");
    assert!(
        totals.contains(&want.map(bad).concat()),
        "{totals} {want:?}"
    );
    // File age, after the state: the copies were modified at --now.
    assert!(
        row.split("</td><td>")
            .nth(2)
            .and_then(|cell| cell.split("</td>").next())
            .is_some_and(|age| age == "0s"),
        "{row}"
    );
    // The file, its encoding and cell errors on the line under each report's row.
    assert!(
        page.contains("legacy-gbk.csv</span> · GB18030 · 0 unreadable cell(s)"),
        "{page}"
    );
    // The summary: every report up, and the findings by their alerts' severity.
    assert!(page.contains("<b>5 of 5</b>reports up</div>"), "{page}");
    assert!(
        page.contains("<b>2</b>critical findings: 2 active keys at risk"),
        "{page}"
    );
    assert!(
        page.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"),
        "{page}"
    );
    assert!(
        !page.contains("http-equiv=\"refresh\""),
        "no reload unless asked for"
    );
    let (_, _, reloading) = exporter.get("/?refresh=30", None);
    assert!(reloading.contains("<meta http-equiv=\"refresh\" content=\"30\">"));
    assert!(page.contains("href=\"/metrics\""));
    assert!(page.contains("href=\"https://github.com/credential-report-exporter/credential-report-exporter/tree/main/docs\""));
    assert_eq!(exporter.get("/nothing-here", None).0, 404);
}

#[test]
fn telemetry_path_is_configurable() {
    let examples = examples_on_a_fixed_day();
    let exporter = Exporter::start(examples.path(), &["--web.telemetry-path", "/probe/metrics"]);
    let (status, _, body) = exporter.get("/probe/metrics", None);
    assert_eq!(status, 200);
    assert!(body.contains("credential_report_up{report=\"acme-prod\"} 1"));
    assert_eq!(exporter.get("/metrics", None).0, 404);
}

#[test]
fn usernames_are_escaped_in_both_formats_and_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let report =
        crate::common::report_with_users(1).replace("user0", "\"<b>x\\y</b>\"\"q\"\"\nz\"");
    std::fs::write(dir.path().join("odd.csv"), report).unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample("credential_report_up{report=\"odd\"} 1");
    // The quote and backslash escaped by the format; the line break, a control
    // character, shown as `\n` text (markup::printable), whose backslash the format escapes.
    let expected = r#"username="<b>x\\y</b>\"q\"\\nz""#;
    assert!(
        exporter.metrics().contains(expected),
        "{}",
        exporter.metrics()
    );
    let (_, _, openmetrics) = exporter.get("/metrics", Some(PROMETHEUS_ACCEPT));
    assert!(openmetrics.contains(expected), "{openmetrics}");
    let (_, _, page) = exporter.get("/", None);
    assert!(!page.contains("<b>x"), "{page}");
    assert!(page.contains("<td>odd</td>"));
}

/// Two rows for one user, and three user names over 1,024 bytes in one account (each
/// voided to an empty name), never write the same series twice, in either format: the
/// second and third get `duplicate="2"` and `duplicate="3"` (docs/metrics.md).
#[test]
fn users_with_the_same_labels_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let report = crate::common::report_with_users(6);
    let mut lines: Vec<String> = report.lines().map(str::to_owned).collect();
    // user1's row twice; users 3 to 5 in one account, each with a 1,025-byte name.
    lines.push(lines[2].clone());
    let long = "x".repeat(1025);
    for line in &mut lines[4..7] {
        *line = line
            .replacen("1003,", "1004,", 1)
            .replacen("1005,", "1004,", 1);
        let name = line.split(',').nth(1).unwrap().to_owned();
        *line = line.replacen(&format!(",{name},"), &format!(",{long},"), 1);
    }
    std::fs::write(dir.path().join("dup.csv"), lines.join("\n") + "\n").unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample(&crate::common::users_line("dup", 7));
    let (_, _, openmetrics) = exporter.get("/metrics", Some(PROMETHEUS_ACCEPT));
    for (format, body) in [
        ("classic", exporter.metrics()),
        ("OpenMetrics", openmetrics),
    ] {
        let mut seen = std::collections::HashSet::new();
        for line in body.lines().filter(|line| !line.starts_with('#')) {
            let series = line.rsplit_once(' ').map_or(line, |(series, _)| series);
            assert!(seen.insert(series.to_owned()), "{format}: {series} twice");
        }
        let info = |labels: &str| {
            (body.lines())
                .filter(|line| {
                    line.starts_with("credential_report_user_info{") && line.contains(labels)
                })
                .count()
        };
        assert_eq!(info("username=\"user1\""), 2, "{format}");
        assert_eq!(info("username=\"user1\",duplicate=\"2\""), 1, "{format}");
        assert_eq!(info("account_id=\"1004\",username=\"\""), 3, "{format}");
        assert_eq!(info("username=\"\",duplicate=\"3\""), 1, "{format}");
        assert_eq!(info("duplicate="), 3, "{format}");
    }
}

/// Headless Chromium (Debian's `chromium`), with a fresh profile and nothing that dials out.
fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    let profile = format!("--user-data-dir={}", profile.display());
    let mut command = Command::new("timeout");
    command.args([
        "120",
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
    ]);
    command.args([
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
    ]);
    command.args([
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    command.arg(profile).args(args);
    let output = command
        .output()
        .expect("chromium (Debian package chromium; scripts/test.sh installs it)");
    assert!(
        output.status.success(),
        "chromium {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// At 1280 px, in a real browser, the page of a folder with a broken report fits: nothing
/// sticks out to the right, and the broken report's error is on screen under its row.
/// Chromium lays out a copy of the page with a script added that measures every cell
/// (the page itself has none). Then it takes the screenshot docs/status-page.png shows:
/// `UPDATE_SCREENSHOT=1 cargo test --test it status_page` writes it there.
#[test]
fn status_page_fits_1280_px_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let example = std::fs::read_to_string(examples_dir().join("acme-prod.csv")).unwrap();
    let mut lines = example.lines();
    let (header, row) = (lines.next().unwrap(), lines.next().unwrap());
    // Header and half a row, as a writer caught mid-write leaves it; under a long name.
    std::fs::write(
        dir.path()
            .join("acme-finance-eu-west-production-account-credential-report.csv"),
        format!("{header}\n{}", &row[..row.len() / 2]),
    )
    .unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample(
        "credential_report_up{report=\"acme-finance-eu-west-production-account-credential-report\"} 0",
    );
    let (_, _, page) = exporter.get("/", None);
    // One self-contained page: no script, style sheet, image or font from anywhere.
    for external in ["<script", "<link", "<img", " src=", "url(", "@import"] {
        assert!(!page.contains(external), "{external} in {page}");
    }
    assert!(
        page.contains("<b>5 of 6</b>reports up, <span class=\"bad\">1 down</span>"),
        "{page}"
    );
    let broken = page
        .split("<tr><td>acme-finance-eu-west-production-account-credential-report</td>")
        .nth(1)
        .expect("the broken report's row");
    let detail = broken.lines().nth(1).unwrap();
    assert!(
        detail.starts_with("<tr class=\"detail\">")
            && detail.contains("<div class=\"error\">Last error: line 2:"),
        "the error right under the broken report's row: {detail}"
    );

    let work = tempfile::tempdir().unwrap();
    let measure = "<pre id=\"layout\"></pre><script>\
        const edge = e => e.getBoundingClientRect().right;\
        const out = [...document.querySelectorAll('td,th,.tile,.error,.path')].filter(e => edge(e) > innerWidth + 0.5);\
        const errors = [...document.querySelectorAll('.error')];\
        document.getElementById('layout').textContent = [innerWidth, document.documentElement.scrollWidth,\
          out.length, errors.length, Math.max(0, ...errors.map(edge)), document.documentElement.scrollHeight].join(' ');\
        </script></body>";
    let measured = work.path().join("measured.html");
    std::fs::write(&measured, page.replace("</body>", measure)).unwrap();
    let dom = chromium(
        &work.path().join("profile-measure"),
        &[
            "--window-size=1280,900",
            "--dump-dom",
            &format!("file://{}", measured.display()),
        ],
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    let layout: Vec<f64> = dom
        .split("<pre id=\"layout\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("no layout measured: {dom}"))
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let [width, scroll_width, sticking_out, errors, error_edge, height] = layout[..] else {
        panic!("layout {layout:?}")
    };
    assert_eq!(width, 1280.0, "the window is 1280 px wide");
    assert!(
        scroll_width <= width,
        "the page is {scroll_width} px wide at 1280"
    );
    assert_eq!(
        sticking_out, 0.0,
        "{sticking_out} cells or tiles end beyond 1280 px"
    );
    assert_eq!(errors, 1.0, "one broken report, one error shown");
    assert!(error_edge <= width, "the error ends at {error_edge} px");

    let screenshot = match std::env::var_os("UPDATE_SCREENSHOT") {
        Some(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/status-page.png"),
        None => work.path().join("status-page.png"),
    };
    chromium(
        &work.path().join("profile-screenshot"),
        &[
            &format!("--window-size=1280,{}", height.ceil() as u64 + 16),
            &format!("--screenshot={}", screenshot.display()),
            &exporter.url("/"),
        ],
    );
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let png_width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(png_width, 1280, "the screenshot is 1280 px wide");
}
