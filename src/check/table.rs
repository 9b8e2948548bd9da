//! `--format table`, for people: one line per finding (report, user, key, check, severity,
//! detail) in aligned columns, then a summary line per report.

use std::io::{self, Write};

use super::{Run, Severity};

const HEADER: [&str; 6] = ["REPORT", "USER", "KEY", "CHECK", "SEVERITY", "DETAIL"];

pub fn write(run: &Run, out: &mut impl Write) -> io::Result<()> {
    let rows: Vec<[String; 6]> = run
        .findings()
        .map(|(outcome, finding)| {
            [
                printable(&outcome.report),
                finding.user.as_deref().map_or("-".to_owned(), printable),
                finding.key.map_or("-".to_owned(), |slot| slot.to_string()),
                finding.check.id.to_owned(),
                finding.check.severity.name().to_owned(),
                printable(&finding.detail),
            ]
        })
        .collect();
    if !rows.is_empty() {
        let mut widths = HEADER.map(|title| title.chars().count());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let header = HEADER.map(str::to_owned);
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (column, (cell, width)) in row.iter().zip(widths).enumerate() {
                line.push_str(cell);
                if column + 1 < row.len() {
                    let pad = width - cell.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(out, "{line}")?;
        }
        writeln!(out)?;
    }
    for outcome in &run.outcomes {
        let report = printable(&outcome.report);
        let path = printable(&outcome.path.to_string_lossy());
        if let Some(error) = &outcome.error {
            writeln!(out, "{report} ({path}): refused: {}", printable(error))?;
            continue;
        }
        let provider = outcome.provider.map_or("unknown", |p| p.name());
        let count = |severity| {
            (outcome.findings.iter())
                .filter(|f| f.check.severity == severity)
                .count()
        };
        let by_severity = [Severity::Critical, Severity::Warning, Severity::Info]
            .map(|severity| format!("{} {}", count(severity), severity.name()))
            .join(", ");
        writeln!(
            out,
            "{report} ({provider}, {path}): {} users, {} findings: {by_severity}",
            outcome.users,
            outcome.findings.len()
        )?;
    }
    Ok(())
}

/// Usernames and report names may hold line breaks and other control characters (a
/// report's cells are free text): shown escaped, so each finding stays one line.
fn printable(text: &str) -> String {
    match text.chars().any(char::is_control) {
        false => text.to_owned(),
        true => text
            .chars()
            .map(|c| match c.is_control() {
                true => c.escape_default().to_string(),
                false => c.to_string(),
            })
            .collect(),
    }
}
