//! Text inside HTML and XML 1.0 (the status page, `check --format junit`): usernames, file
//! names and errors are free text from a hostile folder, so every one goes through here.

/// Text for HTML and XML 1.0 elements and double-quoted attributes. Characters XML 1.0
/// cannot carry at all (most C0 controls) are written as `\u{…}` text instead.
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
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                escaped.extend(c.escape_unicode())
            }
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_controls_are_escaped() {
        assert_eq!(escape("a<b>&\"c\"'"), "a&lt;b&gt;&amp;&quot;c&quot;'");
        assert_eq!(escape("x\ny\u{1}"), "x&#10;y\\u{1}");
    }
}
