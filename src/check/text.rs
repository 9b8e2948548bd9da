//! `--format table`, for people: one line per finding (report, user, key, check, severity,
//! detail) in aligned columns, then a summary line per report.

use std::borrow::Cow;
use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

use super::checks::Finding;
use super::walk::Outcome;
use super::{Run, Severity, AHEAD};
use crate::cores::on_every_core_in_order;
use crate::markup::printable;

const HEADER: [&str; 6] = ["REPORT", "USER", "KEY", "CHECK", "SEVERITY", "DETAIL"];

/// The cells before the detail, which is last and needs no padding.
fn cells<'a>(outcome: &'a Outcome, finding: &'a Finding) -> [Cow<'a, str>; 5] {
    [
        printable(&outcome.report),
        finding
            .user
            .as_deref()
            .map_or(Cow::Borrowed("-"), printable),
        finding
            .slot()
            .map_or(Cow::Borrowed("-"), |slot| Cow::Owned(slot.to_string())),
        Cow::Borrowed(finding.check.id),
        Cow::Borrowed(finding.check.severity.name()),
    ]
}

pub fn write(run: &Run, out: &mut impl Write) -> io::Result<Vec<Outcome>> {
    let checked = run.collect();
    // Two passes over the findings, widths then lines, rather than a copy of every cell.
    let mut widths: [usize; 5] = std::array::from_fn(|column| HEADER[column].len());
    let mut any = false;
    let findings =
        (checked.iter()).flat_map(|(outcome, found)| found.iter().map(move |f| (outcome, f)));
    for (outcome, finding) in findings {
        any = true;
        for (width, cell) in widths.iter_mut().zip(cells(outcome, finding)) {
            *width = (*width).max(cell.width());
        }
    }
    if any {
        let header = HEADER.map(Cow::Borrowed);
        let [head @ .., detail] = header;
        write_line(out, &widths, &head, &detail)?;
        let render = |(outcome, findings): &(Outcome, Vec<Finding>)| {
            let mut text = Vec::new();
            for finding in findings {
                let (cells, detail) = (cells(outcome, finding), finding.detail());
                write_line(&mut text, &widths, &cells, &printable(&detail))
                    .expect("writing to memory");
            }
            text
        };
        on_every_core_in_order(&checked, AHEAD, render, |text| out.write_all(&text))?;
        writeln!(out)?;
    }
    let outcomes: Vec<Outcome> = checked.into_iter().map(|(outcome, _)| outcome).collect();
    for outcome in &outcomes {
        let report = printable(&outcome.report);
        let path = outcome.path.to_string_lossy();
        let path = printable(&path);
        if let Some(error) = &outcome.error {
            writeln!(out, "{report} ({path}): refused: {}", printable(error))?;
            continue;
        }
        let provider = outcome.provider.map_or("unknown", |p| p.name());
        let by_severity = [Severity::Critical, Severity::Warning, Severity::Info]
            .map(|severity| format!("{} {}", outcome.found(severity), severity.name()))
            .join(", ");
        writeln!(
            out,
            "{report} ({provider}, {path}): {} users, {} findings: {by_severity}",
            outcome.users,
            outcome.findings()
        )?;
    }
    Ok(outcomes)
}

fn write_line(
    out: &mut impl Write,
    widths: &[usize; 5],
    cells: &[Cow<'_, str>; 5],
    detail: &str,
) -> io::Result<()> {
    for (cell, width) in cells.iter().zip(widths) {
        // Padded by the columns a terminal gives the text, not its characters: a CJK
        // character takes two.
        write!(out, "{cell}{:pad$}", "", pad = width - cell.width() + 2)?;
    }
    writeln!(out, "{detail}")
}
