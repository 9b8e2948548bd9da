//! Text from a hostile folder or a cloud, made safe where it is shown: inside HTML and XML
//! 1.0 (the status page, `check --format junit`), as a label value, in a terminal or a log.

use std::borrow::Cow;

/// Whether a character may not be shown as it is: a control character (C0, DEL, C1 such
/// as the 8-bit CSI U+009B, which a terminal runs) or a bidirectional override or isolate
/// (U+202A–U+202E, U+2066–U+2069), which reorders the text around it on screen.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with each unsafe character ([`is_unsafe`]) written as `\u{…}` (line breaks and
/// tabs as `\n`, `\r`, `\t`), so it stays one line and shows what it holds. Borrowed when
/// nothing needs escaping, as almost every name.
pub fn printable(text: &str) -> Cow<'_, str> {
    // Every unsafe character starts with a byte below 0x20, 0x7f, 0xc2 (C1) or 0xe2.
    let suspect = |b: &u8| *b < 0x20 || matches!(*b, 0x7f | 0xc2 | 0xe2);
    if !text.as_bytes().iter().any(suspect) || !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match is_unsafe(c) {
            true => shown.extend(c.escape_default()),
            false => shown.push(c),
        }
    }
    Cow::Owned(shown)
}

/// Text for HTML and XML 1.0 elements and double-quoted attributes. Characters XML 1.0
/// cannot carry at all (most C0 controls), the other controls and the bidirectional
/// overrides are written as `\u{…}` text instead.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            // Written as references, so attribute values keep them (a parser turns a
            // literal line break in an attribute into a space).
            '\n' => escaped.push_str("&#10;"),
            '\r' => escaped.push_str("&#13;"),
            '\t' => escaped.push_str("&#9;"),
            c if is_unsafe(c) || c == '\u{fffe}' || c == '\u{ffff}' => {
                escaped.extend(c.escape_unicode())
            }
            c => escaped.push(c),
        }
    }
    escaped
}

/// A log line with every unsafe character escaped, but its final line break: text from a
/// file or a cloud (file names, cells, API messages) reaches the log in many fields, and
/// neither logfmt nor JSON escapes C1 controls or bidirectional overrides. In JSON they
/// become `\u009b`, which JSON readers decode; in logfmt `\u{9b}`, as elsewhere.
pub fn log_line(line: &str, json: bool) -> Cow<'_, str> {
    let body = line.strip_suffix('\n').unwrap_or(line);
    if let Cow::Borrowed(_) = printable(body) {
        return Cow::Borrowed(line);
    }
    let mut shown = String::with_capacity(line.len() + 16);
    for c in body.chars() {
        match (is_unsafe(c), json) {
            (false, _) => shown.push(c),
            (true, true) => shown.push_str(&format!("\\u{:04x}", c as u32)),
            (true, false) => shown.extend(c.escape_default()),
        }
    }
    shown.push_str(&line[body.len()..]);
    Cow::Owned(shown)
}

/// Standard error for the log, each event written through [`log_line`] (both log formats
/// write an event in one piece).
pub struct LogWriter {
    pub json: bool,
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(log_line(&line, self.json).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_controls_are_escaped() {
        assert_eq!(escape("a<b>&\"c\"'"), "a&lt;b&gt;&amp;&quot;c&quot;'");
        assert_eq!(escape("x\ny\u{1}"), "x&#10;y\\u{1}");
        assert_eq!(escape("a\u{9b}2J\u{202e}b"), "a\\u{9b}2J\\u{202e}b");
    }

    #[test]
    fn c1_controls_nul_cr_and_bidi_overrides_are_shown_escaped() {
        assert!(matches!(printable("alice 甲 é"), Cow::Borrowed(_)));
        assert_eq!(printable("a\u{9b}31m"), "a\\u{9b}31m");
        assert_eq!(printable("\0\r\u{1b}"), "\\u{0}\\r\\u{1b}");
        assert_eq!(printable("x\u{202e}y\u{2066}z"), "x\\u{202e}y\\u{2066}z");
        // Near the escaped ranges, and sharing their first bytes, but harmless.
        assert!(matches!(
            printable("\u{a0}\u{2029}\u{2070}"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn log_lines_keep_their_line_break_and_their_format() {
        assert!(matches!(log_line("plain\n", false), Cow::Borrowed(_)));
        assert_eq!(log_line("f=a\u{9b}b\n", false), "f=a\\u{9b}b\n");
        assert_eq!(
            log_line("{\"f\":\"a\u{9b}\u{202e}\"}\n", true),
            "{\"f\":\"a\\u009b\\u202e\"}\n"
        );
        let decoded: serde_json::Value =
            serde_json::from_str(&log_line("{\"f\":\"\u{9b}\"}", true)).unwrap();
        assert_eq!(decoded["f"], "\u{9b}");
    }
}
