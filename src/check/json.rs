//! `--format json`, for scripts: every finding and every report read (with its error, if
//! refused), in one document whose shape docs/check.md fixes. Written as the reports are
//! read, one object a line: a folder of large reports has millions of findings, and `jq`
//! reads it all the same. So "findings" comes first: "reports" is complete only at the end.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use super::checks::{Finding, CHECKS};
use super::walk::{Outcome, Render};
use super::Run;
use crate::report::Provider;

pub fn write(run: &Run, out: &mut impl Write) -> io::Result<Vec<Outcome>> {
    out.write_all(b"{\n  \"findings\": [")?;
    let outcomes = run.write_each(out, true, |_, report, path| Findings::new(report, path))?;
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
/// Written piece by piece as they are found: a run can have millions.
struct Findings {
    text: String,
    /// How every finding of the report starts, then (from `user_from`) how the findings of
    /// the user of `user_line` do, up to their key: a user's findings come together.
    start: String,
    user_from: usize,
    user_line: Option<Option<u64>>,
    /// What follows the key of each check's findings, in the order of [`CHECKS`], up to
    /// the detail: the same for every finding of a check in a report.
    after_key: [String; CHECKS.len()],
    /// Where the users' findings start in `text`.
    users_from: usize,
}

impl Findings {
    fn new(report: &str, path: &Path) -> Findings {
        let mut start = String::from(",\n    {\"report\":");
        string(&mut start, report);
        start.push_str(",\"path\":");
        string(&mut start, &path.to_string_lossy());
        start.push_str(",\"line\":");
        Findings {
            text: String::new(),
            user_from: start.len(),
            start,
            user_line: None,
            after_key: after_key(None),
            users_from: 0,
        }
    }
}

/// `,"check":…,"severity":…,"cis":…,"detail":` for each check, in the order of [`CHECKS`]; the
/// CIS control is the provider's (a report's own finding, made before its provider is
/// known, has none).
fn after_key(provider: Option<Provider>) -> [String; CHECKS.len()] {
    CHECKS.map(|check| {
        // Ids, severities and CIS controls are ours, with nothing to escape (a test says so).
        let cis = match provider.and_then(|p| check.cis(p)) {
            Some(cis) => format!("\"{cis}\""),
            None => "null".to_owned(),
        };
        format!(
            ",\"check\":\"{}\",\"severity\":\"{}\",\"cis\":{cis},\"detail\":",
            check.id,
            check.severity.name()
        )
    })
}

impl Render for Findings {
    type Output = Vec<u8>;

    fn begin(&mut self, provider: Provider, report_bytes: usize) {
        self.after_key = after_key(Some(provider));
        // Generated reports' findings take 1.3 times their size; room not written to
        // costs no memory.
        self.text.reserve(2 * report_bytes);
        self.users_from = self.text.len();
    }

    fn add(&mut self, finding: &Finding<'_>) {
        let (text, start) = (&mut self.text, &mut self.start);
        if self.user_line != Some(finding.line) {
            start.truncate(self.user_from);
            match finding.line {
                Some(line) => start.push_str(itoa::Buffer::new().format(line)),
                None => start.push_str("null"),
            }
            start.push_str(",\"user\":");
            optional_string(start, finding.user.as_deref());
            start.push_str(",\"key\":");
            self.user_line = Some(finding.line);
        }
        text.push_str(start);
        match finding.slot() {
            Some(slot) => {
                text.push('"');
                text.push_str(itoa::Buffer::new().format(slot));
                text.push('"');
            }
            None => text.push_str("null"),
        }
        text.push_str(&self.after_key[finding.check.position()]);
        written_string(text, |text| finding.write_detail(text));
        text.push('}');
    }

    fn refused(&mut self) {
        self.text.truncate(self.users_from);
    }

    fn finish(self, _outcome: &Outcome) -> Vec<u8> {
        self.text.into_bytes()
    }
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
