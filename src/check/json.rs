//! `--format json`, for scripts: every report read (with its error, if refused) and every
//! finding, in one document whose shape docs/check.md fixes. Streamed, one object a line:
//! a folder of large reports has millions of findings, and `jq` reads it all the same.

use std::io::{self, Write};

use serde::Serialize;

use super::checks::Words;
use super::{write_rendered, Run};

#[derive(Serialize)]
struct Report<'a> {
    report: &'a str,
    provider: Option<&'static str>,
    path: &'a str,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct Finding<'a> {
    report: &'a str,
    path: &'a str,
    line: Option<u64>,
    user: Option<&'a str>,
    /// The key's slot as a string, as the metrics' `key` label; null for a user or report.
    key: Option<String>,
    check: &'static str,
    severity: &'static str,
    cis: Option<&'static str>,
    #[serde(serialize_with = "as_text")]
    detail: Words<'a>,
}

pub fn write(run: &Run, out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"{\n  \"reports\": [")?;
    let mut first = true;
    for outcome in &run.outcomes {
        separate(out, &mut first)?;
        let report = Report {
            report: &outcome.report,
            provider: outcome.provider.map(|p| p.name()),
            path: &outcome.path.to_string_lossy(),
            error: outcome.error.as_deref(),
        };
        serde_json::to_writer(&mut *out, &report)?;
    }
    close(out, first)?;
    out.write_all(b",\n  \"findings\": [")?;
    write_rendered(run, out, true, |_, outcome| {
        // About the size of a finding's line, so the buffer grows once or twice.
        let mut text = Vec::with_capacity(outcome.findings.len() * 320);
        let path = outcome.path.to_string_lossy();
        for finding in &outcome.findings {
            text.extend_from_slice(b",\n    ");
            let finding = Finding {
                report: &outcome.report,
                path: &path,
                line: finding.line,
                user: finding.user.as_deref(),
                key: finding.slot().map(|slot| slot.to_string()),
                check: finding.check.id,
                severity: finding.check.severity.name(),
                cis: outcome.provider.and_then(|p| finding.check.cis(p)),
                detail: finding.words(),
            };
            serde_json::to_writer(&mut text, &finding).expect("a finding serializes");
        }
        text
    })?;
    close(out, run.findings().next().is_none())?;
    out.write_all(b"\n}\n")
}

/// Serialized as it is written, with no string made first.
fn as_text<S: serde::Serializer>(words: &Words<'_>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(words)
}

/// Before each element of an array: a comma after the previous one, and a new line.
fn separate(out: &mut impl Write, first: &mut bool) -> io::Result<()> {
    if !std::mem::take(first) {
        out.write_all(b",")?;
    }
    out.write_all(b"\n    ")
}

fn close(out: &mut impl Write, empty: bool) -> io::Result<()> {
    match empty {
        true => out.write_all(b"]"),
        false => out.write_all(b"\n  ]"),
    }
}
