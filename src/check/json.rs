//! `--format json`, for scripts: every report read (with its error, if refused) and every
//! finding, in one document whose shape docs/check.md fixes.

use std::io::{self, Write};

use serde::Serialize;

use super::Run;

#[derive(Serialize)]
struct Document<'a> {
    reports: Vec<Report<'a>>,
    findings: Vec<Finding<'a>>,
}

#[derive(Serialize)]
struct Report<'a> {
    report: &'a str,
    provider: Option<&'static str>,
    path: String,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct Finding<'a> {
    report: &'a str,
    path: String,
    line: Option<u64>,
    user: Option<&'a str>,
    /// The key's slot as a string, as the metrics' `key` label; null for a user or report.
    key: Option<String>,
    check: &'static str,
    severity: &'static str,
    cis: Option<&'static str>,
    detail: &'a str,
}

pub fn write(run: &Run, out: &mut impl Write) -> io::Result<()> {
    let document = Document {
        reports: (run.outcomes.iter())
            .map(|outcome| Report {
                report: &outcome.report,
                provider: outcome.provider.map(|p| p.name()),
                path: outcome.path.to_string_lossy().into_owned(),
                error: outcome.error.as_deref(),
            })
            .collect(),
        findings: run
            .findings()
            .map(|(outcome, finding)| Finding {
                report: &outcome.report,
                path: outcome.path.to_string_lossy().into_owned(),
                line: finding.line,
                user: finding.user.as_deref(),
                key: finding.key.map(|slot| slot.to_string()),
                check: finding.check.id,
                severity: finding.check.severity.name(),
                cis: outcome.provider.and_then(|p| finding.check.cis(p)),
                detail: &finding.detail,
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
