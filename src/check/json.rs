//! `--format json`, for scripts: every finding and every report read (with its error, if
//! refused), in one document whose shape docs/check.md fixes. Written as the reports are
//! read, one object a line: a folder of large reports has millions of findings, and `jq`
//! reads it all the same. So "findings" comes first: "reports" is complete only at the end.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::checks::Finding;
use super::walk::{Outcome, Render};
use super::Run;
use crate::report::Provider;

pub fn write(run: &Run, out: &mut impl Write) -> io::Result<Vec<Outcome>> {
    out.write_all(b"{\n  \"findings\": [")?;
    let mut findings = Array::new(INDENT);
    let outcomes = run.write_each(
        |_, report, path| Findings::new(report, path),
        |rendered| findings.write(out, &rendered),
    )?;
    findings.close(out)?;
    out.write_all(b",\n  \"reports\": [")?;
    let mut reports = Array::new(INDENT);
    for outcome in &outcomes {
        let report = ReportLine {
            report: &outcome.report,
            provider: outcome.provider.map(Provider::name),
            path: outcome.path.to_string_lossy(),
            error: outcome.error.as_deref(),
        };
        reports.write(out, &serde_json::to_vec(&report)?)?;
    }
    reports.close(out)?;
    out.write_all(b"\n}\n")?;
    Ok(outcomes)
}

/// How deep the elements of the document's two arrays are indented.
const INDENT: &str = "    ";

/// One element of "findings"; the members in the order docs/check.md shows. `key` is the
/// slot as a string (as the metrics' `key` label), null for a user's or a report's finding.
#[derive(Serialize)]
struct FindingLine<'a> {
    report: &'a str,
    path: &'a str,
    line: Option<u64>,
    user: Option<&'a str>,
    key: Option<&'a str>,
    check: &'static str,
    severity: &'static str,
    cis: Option<&'static str>,
    detail: &'a str,
}

/// One element of "reports".
#[derive(Serialize)]
struct ReportLine<'a> {
    report: &'a str,
    provider: Option<&'static str>,
    path: Cow<'a, str>,
    error: Option<&'a str>,
}

/// What goes between two elements of an array whose elements are indented by `indent`.
pub(super) fn separator(indent: &str) -> Vec<u8> {
    format!(",\n{indent}").into_bytes()
}

/// A JSON array written as its elements come, one a line: in pieces of one or more
/// elements, those of a piece already joined by [`separator`].
pub(super) struct Array {
    indent: &'static str,
    empty: bool,
}

impl Array {
    /// An array whose `[` is written, with its elements indented by `indent`.
    pub(super) fn new(indent: &'static str) -> Array {
        Array {
            indent,
            empty: true,
        }
    }

    pub(super) fn write(&mut self, out: &mut impl Write, piece: &[u8]) -> io::Result<()> {
        if piece.is_empty() {
            return Ok(());
        }
        // The first element goes on a line of its own, without the comma.
        let separator = separator(self.indent);
        out.write_all(&separator[usize::from(self.empty)..])?;
        self.empty = false;
        out.write_all(piece)
    }

    /// Writes the `]`: at once after no element, else on a line of its own, indented two
    /// less than the elements.
    pub(super) fn close(self, out: &mut impl Write) -> io::Result<()> {
        match self.empty {
            true => out.write_all(b"]"),
            false => write!(out, "\n{}]", &self.indent[2..]),
        }
    }
}

/// A report's findings as elements of "findings", each written as it is found: a run
/// can have millions.
struct Findings {
    report: String,
    path: String,
    provider: Option<Provider>,
    text: Vec<u8>,
    separator: Vec<u8>,
    /// The detail of the finding being written, in a buffer kept for the next: a run
    /// writes millions.
    detail: String,
    /// Where the users' findings start in `text`.
    users_from: usize,
}

impl Findings {
    fn new(report: &str, path: &Path) -> Findings {
        Findings {
            report: report.to_owned(),
            path: path.to_string_lossy().into_owned(),
            provider: None,
            text: Vec::new(),
            separator: separator(INDENT),
            detail: String::new(),
            users_from: 0,
        }
    }
}

impl Render for Findings {
    type Output = Vec<u8>;

    fn begin(&mut self, provider: Provider, report_bytes: usize) {
        self.provider = Some(provider);
        // Generated reports' findings take 1.3 times their size; room not written to
        // costs no memory.
        self.text.reserve(2 * report_bytes);
        self.users_from = self.text.len();
    }

    fn add(&mut self, finding: &Finding<'_>) {
        if !self.text.is_empty() {
            self.text.extend_from_slice(&self.separator);
        }
        self.detail.clear();
        finding.write_detail(&mut self.detail);
        let mut slot = itoa::Buffer::new();
        let line = FindingLine {
            report: &self.report,
            path: &self.path,
            line: finding.line,
            user: finding.user.as_deref(),
            key: finding.slot().map(|key| slot.format(key)),
            check: finding.check.id,
            severity: finding.check.severity.name(),
            cis: (self.provider).and_then(|provider| finding.check.cis(provider)),
            detail: &self.detail,
        };
        serde_json::to_writer(&mut self.text, &line).expect("a finding serializes");
    }

    fn refused(&mut self) {
        self.text.truncate(self.users_from);
    }

    fn finish(self, _outcome: &Outcome) -> Vec<u8> {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_put_one_element_a_line_and_close_empty_ones_at_once() {
        let written = |pieces: &[&str]| {
            let mut out = b"[".to_vec();
            let mut array = Array::new(INDENT);
            for piece in pieces {
                array.write(&mut out, piece.as_bytes()).unwrap();
            }
            array.close(&mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(written(&[]), "[]");
        assert_eq!(written(&["", ""]), "[]");
        assert_eq!(
            written(&["1", "", "2,\n    3"]),
            "[\n    1,\n    2,\n    3\n  ]"
        );
    }
}
