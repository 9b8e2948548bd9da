//! `--format json`, for scripts: every finding and every report read (with its error, if
//! refused), in one document whose shape docs/check.md fixes. Written as the reports are
//! read, one object a line: a folder of large reports has millions of findings, and `jq`
//! reads it all the same. So "findings" comes first: "reports" is complete only at the end.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::checks::Finding;
use super::walk::Outcome;
use super::Run;

pub fn write(run: &Run, out: &mut impl Write) -> io::Result<Vec<Outcome>> {
    out.write_all(b"{\n  \"findings\": [")?;
    let outcomes = run.write_each(out, true, |_, outcome, findings| {
        findings_text(outcome, &findings)
    })?;
    close(out, outcomes.iter().all(|outcome| outcome.findings() == 0))?;
    out.write_all(b",\n  \"reports\": [")?;
    let mut text = String::new();
    for outcome in &outcomes {
        text.push_str(",\n    {\"report\":");
        string(&mut text, &outcome.report);
        text.push_str(",\"provider\":");
        optional_string(&mut text, outcome.provider.map(|p| p.name()));
        text.push_str(",\"path\":");
        string(&mut text, &outcome.path.to_string_lossy());
        text.push_str(",\"error\":");
        optional_string(&mut text, outcome.error.as_deref());
        text.push('}');
    }
    // The first report's comma is dropped.
    out.write_all(text.as_bytes().get(1..).unwrap_or_default())?;
    close(out, outcomes.is_empty())?;
    out.write_all(b"\n}\n")?;
    Ok(outcomes)
}

/// A report's findings, each on its own line after a comma:
/// `{"report", "path", "line", "user", "key", "check", "severity", "cis", "detail"}`, with
/// `key` the slot as a string (as the metrics' `key` label), null for a user or report.
/// Written piece by piece: a run can have millions of findings.
fn findings_text(outcome: &Outcome, findings: &[Finding]) -> Vec<u8> {
    // Every finding of a report starts the same, and a user's findings (which come
    // together, and are told apart by their line) the same up to their key.
    let mut start = String::from(",\n    {\"report\":");
    string(&mut start, &outcome.report);
    start.push_str(",\"path\":");
    string(&mut start, &outcome.path.to_string_lossy());
    start.push_str(",\"line\":");
    let report_start = start.len();
    let mut started_line = None;
    let mut text = String::with_capacity(findings.len() * (start.len() + 200));
    for finding in findings {
        if started_line != Some(finding.line) {
            start.truncate(report_start);
            match finding.line {
                Some(line) => start.push_str(itoa::Buffer::new().format(line)),
                None => start.push_str("null"),
            }
            start.push_str(",\"user\":");
            optional_string(&mut start, finding.user.as_deref());
            start.push_str(",\"key\":");
            started_line = Some(finding.line);
        }
        text.push_str(&start);
        match finding.slot() {
            Some(slot) => {
                text.push('"');
                text.push_str(itoa::Buffer::new().format(slot));
                text.push('"');
            }
            None => text.push_str("null"),
        }
        // Ids, severities and CIS controls are ours, with nothing to escape (a test says so).
        text.push_str(",\"check\":\"");
        text.push_str(finding.check.id);
        text.push_str("\",\"severity\":\"");
        text.push_str(finding.check.severity.name());
        text.push_str("\",\"cis\":");
        match outcome.provider.and_then(|p| finding.check.cis(p)) {
            Some(cis) => {
                text.push('"');
                text.push_str(cis);
                text.push('"');
            }
            None => text.push_str("null"),
        }
        text.push_str(",\"detail\":");
        written_string(&mut text, |text| {
            let _ = finding.write_detail(text);
        });
        text.push('}');
    }
    text.into_bytes()
}

/// `text` as a JSON string, escaped byte for byte as serde_json escapes it.
fn string(out: &mut String, text: &str) {
    out.push('"');
    if !needs_escaping(text.as_bytes()) {
        // Nearly every string: names, paths and details with nothing to escape.
        out.push_str(text);
        out.push('"');
        return;
    }
    let mut unescaped = 0;
    for (at, byte) in text.bytes().enumerate() {
        let short = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // `at` is an ASCII byte's, so a character's boundary.
        out.push_str(&text[unescaped..at]);
        match short.is_empty() {
            false => out.push_str(short),
            true => {
                let _ = write!(out, "\\u{byte:04x}");
            }
        }
        unescaped = at + 1;
    }
    out.push_str(&text[unescaped..]);
    out.push('"');
}

/// What `write` writes, as a JSON string as [`string`] writes it, with no string made first.
fn written_string(out: &mut String, write: impl FnOnce(&mut String)) {
    out.push('"');
    let at = out.len();
    write(out);
    if needs_escaping(&out.as_bytes()[at..]) {
        // Rare: a detail holds a report's text only in a masked key id.
        let text = out.split_off(at);
        out.pop();
        string(out, &text);
    } else {
        out.push('"');
    }
}

fn needs_escaping(bytes: &[u8]) -> bool {
    // 16 bytes at a time, without a branch per byte, so that the compiler vectorizes it.
    let escaped = |chunk: &[u8]| {
        (chunk.iter()).fold(false, |any, &byte| {
            any | (byte < 0x20) | (byte == b'"') | (byte == b'\\')
        })
    };
    bytes.chunks(16).any(escaped)
}

fn optional_string(out: &mut String, text: Option<&str>) {
    match text {
        Some(text) => string(out, text),
        None => out.push_str("null"),
    }
}

fn close(out: &mut impl Write, empty: bool) -> io::Result<()> {
    match empty {
        true => out.write_all(b"]"),
        false => out.write_all(b"\n  ]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CHECKS;
    use crate::report::Provider;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let samples = [
            "plain",
            "",
            "quote \" backslash \\ slash /",
            "\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}",
            "甲乙 \u{2028} é",
        ];
        for text in samples {
            let expected = serde_json::to_string(text).unwrap();
            let mut ours = String::from("[");
            string(&mut ours, text);
            assert_eq!(ours[1..], expected);
            ours.truncate(1);
            written_string(&mut ours, |out| out.push_str(text));
            assert_eq!(ours[1..], expected);
        }
    }

    #[test]
    fn what_findings_name_unescaped_needs_no_escaping() {
        for check in CHECKS {
            let cis = Provider::ALL.map(|provider| check.cis(provider).unwrap_or(""));
            for text in [check.id, check.severity.name()].iter().chain(&cis) {
                assert!(!needs_escaping(text.as_bytes()), "{text}");
            }
        }
    }
}
