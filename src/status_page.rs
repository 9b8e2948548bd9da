//! The status page, `/`: what this exporter is, whether its folder can be read, and each
//! report's state and headline findings at a glance. Plain HTML and a little CSS, no
//! scripts; every value from a report or the file system is HTML-escaped.

use std::fmt::Write;
use std::path::Path;

use jiff::{SignedDuration, Timestamp};

use crate::build_info;
use crate::model::KeyStatus;
use crate::snapshot::{KeyCounts, ReportState, Snapshot};

pub const DOCS_URL: &str =
    "https://github.com/credential-report-exporter/credential-report-exporter/tree/main/docs";

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}\
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f4f4f4}td.n{text-align:right}\
.bad{color:#b00020;font-weight:bold}.good{color:#1b7f3b}\
.muted{color:#666}code{background:#f4f4f4;padding:0 .2em}";

/// The headline findings of one report: what an operator acts on first.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Findings {
    console_without_mfa: u64,
    /// `None` where the provider does not flag keys at risk (AWS, Alibaba).
    active_keys_at_risk: Option<u64>,
    active_keys_over_90_days: u64,
    active_keys_never_used: u64,
}

impl Findings {
    /// The counts as of `now`, as the gauges, the alerts and `check` make them.
    fn of(report: &ReportState, now: Timestamp) -> Option<Findings> {
        let data = report.data.as_ref()?;
        let active = active_keys(&data.aggregates.keys_by_status().collect::<Vec<_>>());
        Some(Findings {
            console_without_mfa: data.aggregates.console_users_without_mfa(),
            active_keys_at_risk: data
                .checks
                .keys_at_risk
                .then(|| active.map_or(0, |k| k.at_risk)),
            active_keys_over_90_days: active.map_or(0, |k| k.ages.over_90_days(now)),
            active_keys_never_used: active.map_or(0, |k| k.never_used),
        })
    }

    fn add(self, other: Findings) -> Findings {
        Findings {
            console_without_mfa: self.console_without_mfa + other.console_without_mfa,
            active_keys_at_risk: match (self.active_keys_at_risk, other.active_keys_at_risk) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            },
            active_keys_over_90_days: self.active_keys_over_90_days
                + other.active_keys_over_90_days,
            active_keys_never_used: self.active_keys_never_used + other.active_keys_never_used,
        }
    }

    fn cells(self) -> String {
        [
            Some(self.console_without_mfa),
            self.active_keys_at_risk,
            Some(self.active_keys_over_90_days),
            Some(self.active_keys_never_used),
        ]
        .iter()
        .map(|&n| n.map_or("<td class=\"n muted\">n/a</td>".to_owned(), count))
        .collect()
    }
}

fn active_keys<'a>(keys: &[(KeyStatus, &'a KeyCounts)]) -> Option<&'a KeyCounts> {
    keys.iter()
        .find(|(status, _)| *status == KeyStatus::Active)
        .map(|(_, counts)| *counts)
}

/// A count as a cell, marked when it is a finding.
fn count(n: u64) -> String {
    match n {
        0 => "<td class=\"n good\">0</td>".to_owned(),
        n => format!("<td class=\"n bad\">{n}</td>"),
    }
}

pub fn render(snapshot: &Snapshot, dir: &Path, telemetry_path: &str, now: Timestamp) -> String {
    let mut page = String::with_capacity(4096);
    let metrics = escape_html(telemetry_path);
    let revision = &build_info::REVISION[..build_info::REVISION.len().min(12)];
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Credential Report Exporter</title><style>{STYLE}</style></head>\n<body>\n\
         <h1>Credential Report Exporter</h1>\n\
         <p>Version {} <span class=\"muted\">(revision <code>{}</code>, rustc {}, {})</span></p>\n\
         <p><a href=\"{metrics}\">Metrics</a> · <a href=\"/-/healthy\">Health</a> · \
         <a href=\"/-/ready\">Readiness</a> · <a href=\"{DOCS_URL}\">Documentation</a> \
         (<a href=\"{DOCS_URL}/metrics.md\">metrics</a>, <a href=\"{DOCS_URL}/runbook.md\">runbook</a>)</p>\n",
        escape_html(build_info::VERSION),
        escape_html(revision),
        escape_html(build_info::RUST_VERSION),
        escape_html(build_info::TARGET),
    );
    let (folder_class, folder_state) = match (snapshot.scanned, snapshot.folder.is_readable()) {
        (false, _) => ("muted", "not scanned yet".to_owned()),
        (true, true) => ("good", snapshot.folder.describe()),
        (true, false) => ("bad", snapshot.folder.describe()),
    };
    let _ = writeln!(
        page,
        "<h2>Report folder</h2>\n<p><code>{}</code>: <span class=\"{folder_class}\">{}</span></p>",
        escape_html(&dir.display().to_string()),
        escape_html(&folder_state),
    );

    page.push_str("<h2>Reports</h2>\n");
    if snapshot.reports.is_empty() {
        page.push_str("<p>No reports found in the report folder.</p>\n");
        page.push_str("</body></html>\n");
        return page;
    }
    page.push_str(
        "<table>\n<tr><th>Report</th><th>Provider</th><th>State</th><th>File</th><th>File age</th>\
         <th>Users</th><th>Console users without MFA</th><th>Active keys at risk</th>\
         <th>Active keys over 90 days</th><th>Active keys never used</th>\
         <th>Longest an active key went unused</th><th>Encoding</th><th>Cell errors</th>\
         <th>Last successful reload</th><th>Last error</th></tr>\n",
    );
    let mut total = Findings::default();
    let mut users = 0;
    for (name, report) in &snapshot.reports {
        let state = match report.up {
            true => "<td class=\"good\">up</td>",
            false => "<td class=\"bad\">down</td>",
        };
        let findings = Findings::of(report, now);
        total = total.add(findings.unwrap_or_default());
        let data = report.data.as_ref();
        users += data.map_or(0, |d| d.rows);
        let unused_for = data
            .and_then(|d| {
                active_keys(&d.aggregates.keys_by_status().collect::<Vec<_>>())?
                    .least_recent_use
                    .get()
            })
            .map_or("–".to_owned(), |t| age(now.duration_since(t)));
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td>{state}<td>{}</td><td>{}</td><td class=\"n\">{}</td>{}\
             <td>{unused_for}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(name),
            data.map_or("–", |d| d.provider.name()),
            escape_html(&report.path.display().to_string()),
            report
                .file_modified
                .map_or("–".to_owned(), |t| age(now.duration_since(t))),
            data.map_or("–".to_owned(), |d| d.rows.to_string()),
            findings.map_or("<td>–</td>".repeat(4), Findings::cells),
            data.map_or("–", |d| d.encoding.name()),
            data.map_or("–".to_owned(), |d| d.cell_errors.to_string()),
            report.last_success.map_or("never".to_owned(), |t| {
                t.round(jiff::Unit::Second)
                    .map_or(t.to_string(), |t| t.to_string())
            }),
            escape_html(report.last_error.as_deref().unwrap_or("")),
        );
    }
    if snapshot.reports.len() > 1 {
        let _ = writeln!(
            page,
            "<tr><th colspan=\"5\">All reports</th><td class=\"n\">{users}</td>{}\
             <td colspan=\"5\"></td></tr>",
            total.cells()
        );
    }
    page.push_str("</table>\n</body></html>\n");
    page
}

/// How long ago, to the two largest units: `45s`, `12m 5s`, `3h 12m`, `4d 2h`.
fn age(elapsed: SignedDuration) -> String {
    let seconds = elapsed.as_secs().max(0);
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, m) => format!("{m}m {}s", seconds % 60),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<b>\"x\" & 'y'</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn ages_read_in_two_units() {
        assert_eq!(age(SignedDuration::from_secs(45)), "45s");
        assert_eq!(age(SignedDuration::from_secs(12 * 60 + 5)), "12m 5s");
        assert_eq!(age(SignedDuration::from_secs(3 * 3600 + 12 * 60)), "3h 12m");
        assert_eq!(
            age(SignedDuration::from_secs(4 * 86_400 + 7200 + 5)),
            "4d 2h"
        );
        assert_eq!(age(SignedDuration::from_secs(-5)), "0s", "a clock skew");
    }
}
