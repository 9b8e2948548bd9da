//! The status page, `/`: what this exporter is, whether its folder can be read, and each
//! report's state and headline findings at a glance. Plain HTML and a little CSS, no
//! scripts; every value from a report or the file system is HTML-escaped.

use std::convert::Infallible;
use std::fmt::Write;
use std::ops::Bound::{Excluded, Unbounded};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;

use jiff::{SignedDuration, Timestamp};

use crate::build_info;
use crate::check::checks::{Severity, CONSOLE_WITHOUT_MFA, KEY_AT_RISK, KEY_OVER_90_DAYS};
use crate::markup::escape;
use crate::model::DAY;
use crate::snapshot::{ReportState, Snapshot};

pub const DOCS_URL: &str =
    "https://github.com/credential-report-exporter/credential-report-exporter/tree/main/docs";

/// Fits 1280 px without scrolling sideways: the long and rare facts of a report (its file,
/// encoding, cell errors and last error) sit on a second line under its row, and paths and
/// errors wrap anywhere. On a narrow screen only the table scrolls, inside its box.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1em 2em;color:#222}\
h1{margin:.3em 0}h2{margin:1.2em 0 .4em}\
.summary{display:flex;flex-wrap:wrap;gap:.8em}\
.tile{border:1px solid #ccc;border-radius:6px;padding:.5em 1em;min-width:11em}\
.tile b{display:block;font-size:1.8em}\
.tile.bad,.tile.critical{border-color:#b00020;background:#fdecee}\
.tile.warning{border-color:#b26a00;background:#fff4e0}.tile.good{border-color:#1b7f3b;background:#eaf6ee}\
.wide{overflow-x:auto}table{border-collapse:collapse;width:100%}\
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}\
th{background:#f4f4f4;font-weight:600}td.n{text-align:right;white-space:nowrap}\
td:nth-child(2),td:nth-child(4),td:nth-child(10),td:nth-child(11){white-space:nowrap}\
tr.detail td{border-top:0;background:#fafafa;font-size:.9em}\
.path,.error,code{overflow-wrap:anywhere}.path{font-family:ui-monospace,monospace}\
.error{color:#b00020;margin-top:.2em}\
.bad{color:#b00020;font-weight:bold}.good{color:#1b7f3b}\
.muted{color:#666}code{background:#f4f4f4;padding:0 .2em}";

/// Columns of a report's first line; its second line spans them all.
const COLUMNS: usize = 11;

/// `?refresh=N` reloads the page every N seconds (a meta refresh: the page has no
/// scripts), N within these bounds; anything else leaves the page still.
const REFRESH_SECONDS: std::ops::RangeInclusive<u32> = 5..=DAY as u32;

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
        let active = data.aggregates.active_keys();
        Some(Findings {
            console_without_mfa: data.aggregates.console_users_without_mfa(),
            active_keys_at_risk: KEY_AT_RISK
                .answered_by(&data.coverage)
                .then_some(active.at_risk),
            active_keys_over_90_days: active.ages.over_90_days(now),
            active_keys_never_used: active.never_used,
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

/// A count as a cell, marked when it is a finding.
fn count(n: u64) -> String {
    match n {
        0 => "<td class=\"n good\">0</td>".to_owned(),
        n => format!("<td class=\"n bad\">{n}</td>"),
    }
}

/// The seconds of a `refresh=N` in the page's query string, if within bounds.
pub fn refresh_seconds(query: Option<&str>) -> Option<u32> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("refresh="))
        .and_then(|n| n.parse().ok())
        .filter(|n| REFRESH_SECONDS.contains(n))
}

/// The page of one snapshot, written a few dozen reports at a time as the client reads
/// it: a folder of 10,000 reports makes a page of megabytes, which forty clients each held
/// whole. The summary on top needs the totals, so a first pass adds them up.
pub struct Page {
    snapshot: Arc<Snapshot>,
    now: Timestamp,
    head: Option<String>,
    /// The last report written, once rows are.
    after: Option<String>,
    total: Findings,
    users: u64,
    done: bool,
}

/// About this much is written at a time.
const CHUNK: usize = 64 * 1024;

impl Page {
    pub fn new(
        snapshot: Arc<Snapshot>,
        dir: &Path,
        telemetry_path: &str,
        now: Timestamp,
        refresh: Option<u32>,
    ) -> Page {
        let mut total = Findings::default();
        let (mut users, mut down) = (0, 0);
        for report in snapshot.reports.values() {
            total = total.add(Findings::of(report, now).unwrap_or_default());
            down += usize::from(!report.up);
            users += report.data.as_ref().map_or(0, |d| d.rows);
        }
        let head = head(&snapshot, dir, telemetry_path, refresh, down, total);
        Page {
            done: snapshot.reports.is_empty(),
            snapshot,
            now,
            head: Some(head),
            after: None,
            total,
            users,
        }
    }

    /// The next piece of the page, `None` once it is all written.
    fn next_chunk(&mut self) -> Option<String> {
        if let Some(head) = self.head.take() {
            return Some(head);
        }
        if self.done {
            return None;
        }
        let snapshot = Arc::clone(&self.snapshot);
        let after = self.after.take();
        let rest = match &after {
            None => snapshot.reports.range::<str, _>(..),
            Some(after) => {
                (snapshot.reports).range::<str, _>((Excluded(after.as_str()), Unbounded))
            }
        };
        let mut rows = String::with_capacity(CHUNK + 4096);
        for (name, report) in rest {
            report_rows(
                &mut rows,
                name,
                report,
                Findings::of(report, self.now),
                self.now,
            );
            if rows.len() >= CHUNK {
                self.after = Some(name.clone());
                return Some(rows);
            }
        }
        if snapshot.reports.len() > 1 {
            let _ = writeln!(
                rows,
                "<tr><th colspan=\"4\">All reports</th><td class=\"n\">{}</td>{}\
                 <td colspan=\"2\"></td></tr>",
                self.users,
                self.total.cells()
            );
        }
        rows.push_str("</table></div>\n</body></html>\n");
        self.done = true;
        Some(rows)
    }
}

impl http_body::Body for Page {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let chunk = self.get_mut().next_chunk();
        Poll::Ready(chunk.map(|text| Ok(Frame::data(Bytes::from(text)))))
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.done
    }
}

/// Everything above the reports' rows: the summary, the folder, and the table's head (or
/// the whole page's end, when there are no reports).
fn head(
    snapshot: &Snapshot,
    dir: &Path,
    telemetry_path: &str,
    refresh: Option<u32>,
    down: usize,
    total: Findings,
) -> String {
    let mut page = String::with_capacity(8192);
    let metrics = escape(telemetry_path);
    let revision = &build_info::REVISION[..build_info::REVISION.len().min(12)];
    let reload = refresh.map_or(String::new(), |n| {
        format!("<meta http-equiv=\"refresh\" content=\"{n}\">")
    });
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{reload}\
         <title>Credential Report Exporter</title><style>{STYLE}</style></head>\n<body>\n\
         <h1>Credential Report Exporter</h1>\n\
         <p>Version {} <span class=\"muted\">(revision <code>{}</code>, rustc {}, {})</span></p>\n\
         <p><a href=\"{metrics}\">Metrics</a> · <a href=\"/-/healthy\">Health</a> · \
         <a href=\"/-/ready\">Readiness</a> · <a href=\"{DOCS_URL}\">Documentation</a> \
         (<a href=\"{DOCS_URL}/metrics.md\">metrics</a>, <a href=\"{DOCS_URL}/runbook.md\">runbook</a>)</p>\n",
        escape(build_info::VERSION),
        escape(revision),
        escape(build_info::RUST_VERSION),
        escape(build_info::TARGET),
    );

    page.push_str("<h2>Summary</h2>\n<div class=\"summary\">\n");
    summary_tiles(&mut page, snapshot.reports.len(), down, total);
    let (folder_class, folder_state) = match (snapshot.scanned, snapshot.folder.is_readable()) {
        (false, _) => ("muted", "not scanned yet".to_owned()),
        (true, true) => ("good", snapshot.folder.describe()),
        (true, false) => ("bad", snapshot.folder.describe()),
    };
    let skipped = match snapshot.files_skipped {
        0 => String::new(),
        n => format!(
            "; <span class=\"bad\">{n} report file(s) not read: more than --report.max-files</span>"
        ),
    };
    let _ = writeln!(
        page,
        "</div>\n<p>Report folder <code>{}</code>: <span class=\"{folder_class}\">{}</span>{skipped}</p>",
        escape(&dir.display().to_string()),
        escape(&folder_state),
    );
    let _ = writeln!(
        page,
        "<p class=\"muted\">{}</p>",
        refresh.map_or(
            "Add <code>?refresh=60</code> to the address to reload this page every minute."
                .to_owned(),
            |n| format!("This page reloads every {n} s."),
        )
    );

    page.push_str("<h2>Reports</h2>\n");
    if snapshot.reports.is_empty() {
        page.push_str("<p>No reports found in the report folder.</p>\n");
        page.push_str("</body></html>\n");
        return page;
    }
    page.push_str(
        "<div class=\"wide\"><table>\n<tr><th>Report</th><th>Provider</th><th>State</th>\
         <th>File age</th><th>Users</th><th>Console users without MFA</th>\
         <th>Active keys at risk</th><th>Active keys over 90 days</th>\
         <th>Active keys never used</th><th>Longest an active key went unused</th>\
         <th>Last good read</th></tr>\n",
    );
    page
}

/// Reports up and down, and the headline findings by the severity their alerts carry.
fn summary_tiles(page: &mut String, reports: usize, down: usize, total: Findings) {
    let up = reports - down;
    let _ = writeln!(
        page,
        "<div class=\"tile {}\"><b>{up} of {reports}</b>reports up{}</div>",
        if down == 0 { "good" } else { "bad" },
        match down {
            0 => String::new(),
            n => format!(", <span class=\"bad\">{n} down</span>: the error is under its row"),
        }
    );
    let findings = [
        (
            &KEY_AT_RISK,
            "active keys at risk",
            total.active_keys_at_risk,
        ),
        (
            &CONSOLE_WITHOUT_MFA,
            "console users without MFA",
            Some(total.console_without_mfa),
        ),
        (
            &KEY_OVER_90_DAYS,
            "active keys over 90 days",
            Some(total.active_keys_over_90_days),
        ),
    ];
    for level in [Severity::Critical, Severity::Warning, Severity::Info] {
        let of_level: Vec<_> = findings
            .iter()
            .filter(|(check, _, n)| check.severity == level && n.is_some())
            .collect();
        if of_level.is_empty() {
            continue;
        }
        let sum: u64 = of_level.iter().filter_map(|(_, _, n)| *n).sum();
        let what: Vec<String> = of_level
            .iter()
            .map(|(_, label, n)| format!("{} {label}", n.unwrap_or(0)))
            .collect();
        let _ = writeln!(
            page,
            "<div class=\"tile {}\"><b>{sum}</b>{} findings: {}</div>",
            if sum == 0 { "good" } else { level.name() },
            level.name(),
            what.join(", ")
        );
    }
    let _ = writeln!(
        page,
        "<div class=\"tile\"><b>{}</b>active keys never used</div>",
        total.active_keys_never_used
    );
}

/// A report's line of numbers, and under it its file, encoding, cell errors and, when its
/// newest version was refused, the reason.
fn report_rows(
    rows: &mut String,
    name: &str,
    report: &ReportState,
    findings: Option<Findings>,
    now: Timestamp,
) {
    let state = match report.up {
        true => "<td class=\"good\">up</td>",
        false => "<td class=\"bad\">down</td>",
    };
    let data = report.data.as_ref();
    let unused_for = data
        .and_then(|d| d.aggregates.active_keys().least_recent_use.get())
        .map_or("–".to_owned(), |t| age(now.duration_since(t)));
    let _ = writeln!(
        rows,
        "<tr><td>{}</td><td>{}</td>{state}<td>{}</td><td class=\"n\">{}</td>{}\
         <td>{unused_for}</td><td>{}</td></tr>",
        escape(name),
        data.map_or("–", |d| d.provider.name()),
        report
            .file_modified
            .map_or("–".to_owned(), |t| age(now.duration_since(t))),
        data.map_or("–".to_owned(), |d| d.rows.to_string()),
        findings.map_or("<td>–</td>".repeat(4), Findings::cells),
        report.last_success.map_or("never".to_owned(), |t| {
            let at = t.round(jiff::Unit::Second).unwrap_or(t);
            format!(
                "<span title=\"{at}\">{} ago</span>",
                age(now.duration_since(t))
            )
        }),
    );
    let _ = write!(
        rows,
        "<tr class=\"detail\"><td colspan=\"{COLUMNS}\"><span class=\"path\">{}</span>",
        escape(&report.path.display().to_string()),
    );
    if let Some(d) = data {
        let _ = write!(
            rows,
            " · {} · {} unreadable cell(s)",
            d.encoding.name(),
            d.cell_errors
        );
    }
    if let Some(error) = &report.last_error {
        let _ = write!(
            rows,
            "<div class=\"error\">Last error: {}</div>",
            escape(error)
        );
    }
    rows.push_str("</td></tr>\n");
}

/// How long ago, to the two largest units: `45s`, `12m 5s`, `3h 12m`, `4d 2h`.
fn age(elapsed: SignedDuration) -> String {
    let seconds = elapsed.as_secs().max(0);
    let (days, hours, minutes) = (seconds / DAY, seconds / 3600 % 24, seconds / 60 % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, m) => format!("{m}m {}s", seconds % 60),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_is_asked_for_in_the_query_within_bounds() {
        assert_eq!(refresh_seconds(Some("refresh=30")), Some(30));
        assert_eq!(refresh_seconds(Some("x=1&refresh=60")), Some(60));
        assert_eq!(refresh_seconds(Some("refresh=1")), None, "too often");
        assert_eq!(refresh_seconds(Some("refresh=soon")), None);
        assert_eq!(refresh_seconds(Some("refresh=30\"><script>")), None);
        assert_eq!(refresh_seconds(None), None);
    }

    #[test]
    fn a_large_page_is_written_a_chunk_at_a_time_whole() {
        let reports = (0..2_000)
            .map(|i| (format!("report-{i:04}"), Arc::new(ReportState::default())))
            .collect();
        let snapshot = Snapshot {
            reports,
            scanned: true,
            ..Snapshot::default()
        };
        let now = Timestamp::UNIX_EPOCH;
        let mut page = Page::new(Arc::new(snapshot), Path::new("/r"), "/metrics", now, None);
        let chunks: Vec<String> = std::iter::from_fn(|| page.next_chunk()).collect();
        assert!(chunks.len() > 3, "{} chunks", chunks.len());
        assert!(chunks.iter().all(|chunk| chunk.len() < CHUNK + 4096));
        let whole = chunks.concat();
        assert!(
            whole.contains("<b>0 of 2000</b>reports up"),
            "the summary counts all"
        );
        for i in 0..2_000 {
            assert_eq!(whole.matches(&format!("<td>report-{i:04}</td>")).count(), 1);
        }
        assert!(whole.ends_with("</table></div>\n</body></html>\n"));
        assert_eq!(whole.matches("All reports").count(), 1);
    }

    #[test]
    fn ages_read_in_two_units() {
        assert_eq!(age(SignedDuration::from_secs(45)), "45s");
        assert_eq!(age(SignedDuration::from_secs(12 * 60 + 5)), "12m 5s");
        assert_eq!(age(SignedDuration::from_secs(3 * 3600 + 12 * 60)), "3h 12m");
        assert_eq!(age(SignedDuration::from_secs(4 * DAY + 7200 + 5)), "4d 2h");
        assert_eq!(age(SignedDuration::from_secs(-5)), "0s", "a clock skew");
    }
}
