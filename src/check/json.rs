//! `--format json`, for scripts: every finding and every report read (with its error, if
//! refused), in one document whose shape docs/check.md fixes. Written as the reports are
//! read, one object a line: a folder of large reports has millions of findings, and `jq`
//! reads it all the same. So "findings" comes first: "reports" is complete only at the end.

use std::fmt;
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
    let mut text = Vec::new();
    for outcome in &outcomes {
        text.extend_from_slice(b",\n    {\"report\":");
        string(&mut text, &outcome.report);
        text.extend_from_slice(b",\"provider\":");
        optional_string(&mut text, outcome.provider.map(|p| p.name()));
        text.extend_from_slice(b",\"path\":");
        string(&mut text, &outcome.path.to_string_lossy());
        text.extend_from_slice(b",\"error\":");
        optional_string(&mut text, outcome.error.as_deref());
        text.push(b'}');
    }
    // The first report's comma is dropped.
    out.write_all(text.get(1..).unwrap_or_default())?;
    close(out, outcomes.is_empty())?;
    out.write_all(b"\n}\n")?;
    Ok(outcomes)
}

/// A report's findings, each on its own line after a comma:
/// `{"report", "path", "line", "user", "key", "check", "severity", "cis", "detail"}`, with
/// `key` the slot as a string (as the metrics' `key` label), null for a user or report.
fn findings_text(outcome: &Outcome, findings: &[Finding]) -> Vec<u8> {
    // Every finding of a report starts the same.
    let mut start = b",\n    {\"report\":".to_vec();
    string(&mut start, &outcome.report);
    start.extend_from_slice(b",\"path\":");
    string(&mut start, &outcome.path.to_string_lossy());
    start.extend_from_slice(b",\"line\":");
    let mut text = Vec::with_capacity(findings.len() * (start.len() + 200));
    for finding in findings {
        text.extend_from_slice(&start);
        match finding.line {
            Some(line) => decimal(&mut text, line),
            None => text.extend_from_slice(b"null"),
        }
        text.extend_from_slice(b",\"user\":");
        optional_string(&mut text, finding.user.as_deref());
        text.extend_from_slice(b",\"key\":");
        match finding.slot() {
            Some(slot) => {
                text.push(b'"');
                decimal(&mut text, slot.into());
                text.push(b'"');
            }
            None => text.extend_from_slice(b"null"),
        }
        text.extend_from_slice(b",\"check\":");
        string(&mut text, finding.check.id);
        text.extend_from_slice(b",\"severity\":");
        string(&mut text, finding.check.severity.name());
        text.extend_from_slice(b",\"cis\":");
        optional_string(
            &mut text,
            outcome.provider.and_then(|p| finding.check.cis(p)),
        );
        text.extend_from_slice(b",\"detail\":");
        display_string(&mut text, finding.words());
        text.push(b'}');
    }
    text
}

/// `text` as a JSON string, escaped byte for byte as serde_json escapes it.
fn string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = text.as_bytes();
    if !needs_escaping(bytes) {
        // Nearly every string: names, paths and details with nothing to escape.
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut unescaped = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let short: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[unescaped..at]);
        match short.is_empty() {
            false => out.extend_from_slice(short),
            true => {
                let hex = [HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]];
                out.extend_from_slice(b"\\u00");
                out.extend_from_slice(&hex);
            }
        }
        unescaped = at + 1;
    }
    out.extend_from_slice(&bytes[unescaped..]);
    out.push(b'"');
}

/// `value` as a JSON string, as [`string`] writes it, with no string made first.
fn display_string(out: &mut Vec<u8>, value: impl fmt::Display) {
    out.push(b'"');
    let at = out.len();
    let _ = write!(out, "{value}");
    if needs_escaping(&out[at..]) {
        // Rare: a detail holds a report's text only in a masked key id.
        let text = out.split_off(at - 1);
        string(
            out,
            std::str::from_utf8(&text[1..]).expect("Display writes UTF-8"),
        );
    } else {
        out.push(b'"');
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

fn decimal(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn optional_string(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => string(out, text),
        None => out.extend_from_slice(b"null"),
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
            let mut ours = b"[".to_vec();
            string(&mut ours, text);
            assert_eq!(String::from_utf8_lossy(&ours[1..]), expected);
            ours.truncate(1);
            display_string(&mut ours, text);
            assert_eq!(String::from_utf8_lossy(&ours[1..]), expected);
        }
    }
}
