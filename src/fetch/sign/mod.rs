//! Request signing for the clouds whose APIs we call without an SDK: Alibaba Cloud's
//! ACS3-HMAC-SHA256 ([`acs3`]) and Tencent Cloud's TC3-HMAC-SHA256 ([`tc3`]).
//! Also the [`Secret`] wrapper that keeps credentials out of logs and error messages.

pub mod acs3;
pub mod tc3;

use ring::{digest, hmac};
use std::fmt;

/// A credential value (secret key, session token): never printed, not even by `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value itself, for the signer and the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The values a cloud call's messages must never show: its secrets (removed) and key ids
/// (masked), as [`scrub`] takes them.
pub struct Known<'a> {
    pub secrets: Vec<&'a str>,
    pub key_ids: Vec<&'a str>,
}

impl Known<'_> {
    /// `text` without these values, and without anything else shaped like a credential.
    pub fn scrub(&self, text: &str) -> String {
        scrub(text, &self.secrets, &self.key_ids)
    }
}

/// Text from a cloud (an error message, a parser's complaint about an answer, a network
/// error) made safe to log; every provider's log and error paths go through it. The given
/// secrets are removed and the given key ids masked wherever they appear, in any of the forms
/// an answer may quote them in: raw, URL-encoded (`%2F` or `%2f`), JSON-escaped (`\/`,
/// `\u002F`), glued to the text before them (`Credential%3DAKIA…`). Whatever else looks like
/// a credential goes too: a run of 16 or more letters and digits holding both (a key id) is
/// masked, and such a run with `+` or `/` in it (a base64 secret or session token) removed.
/// Request ids (UUIDs, runs of at most 12), error codes and words (no digits) survive.
pub fn scrub(text: &str, secrets: &[&str], key_ids: &[&str]) -> String {
    let (plain, starts) = decode_escapes(text);
    // What to put in place of each range of `text`, by its start; found in the decoded text.
    let mut cuts: Vec<(usize, usize, String)> = Vec::new();
    let mut cut =
        |from: usize, to: usize, with: String| cuts.push((starts[from], starts[to], with));
    for (value, secret) in secrets
        .iter()
        .map(|v| (v, true))
        .chain(key_ids.iter().map(|v| (v, false)))
        .filter(|(v, _)| v.len() >= 4)
    {
        for at in memchr::memmem::find_iter(&plain, value.as_bytes()) {
            let with = match secret {
                true => "…".to_owned(),
                false => crate::model::mask_key_id(value),
            };
            cut(at, at + value.len(), with);
        }
    }
    let in_run = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let mut i = 0;
    while i < plain.len() {
        if !in_run(plain[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < plain.len() && in_run(plain[i]) {
            i += 1;
        }
        // base64 padding belongs to the run.
        while i < plain.len() && plain[i] == b'=' {
            i += 1;
        }
        let run = &plain[start..i];
        let looks_secret = run.len() >= 16
            && run.iter().any(u8::is_ascii_digit)
            && run.iter().any(u8::is_ascii_alphabetic);
        if looks_secret {
            let with = match run.iter().all(u8::is_ascii_alphanumeric) {
                true => crate::model::mask_key_id(std::str::from_utf8(run).expect("ASCII")),
                false => "…".to_owned(),
            };
            cut(start, i, with);
        }
    }
    cuts.sort_by_key(|&(from, to, _)| (from, std::cmp::Reverse(to)));
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (from, to, with) in cuts {
        if from < done {
            // Inside a range already cut (a key id inside a run): nothing more to hide.
            done = done.max(to);
            continue;
        }
        out.push_str(&text[done..from]);
        out.push_str(&with);
        done = to;
    }
    out.push_str(&text[done..]);
    out
}

/// `text` with `%XX`, `\/`, `\"`, `\\` and ASCII `\uXXXX` decoded, and where each decoded byte
/// starts in `text` (one entry more: the end). Every other byte stands for itself, so the
/// starts always fall on character boundaries.
fn decode_escapes(text: &str) -> (Vec<u8>, Vec<usize>) {
    let b = text.as_bytes();
    let hex = |s: &[u8]| {
        std::str::from_utf8(s)
            .ok()
            .filter(|s| s.bytes().all(|c| c.is_ascii_hexdigit()))
            .and_then(|s| u32::from_str_radix(s, 16).ok())
    };
    let mut plain = Vec::with_capacity(b.len());
    let mut starts = Vec::with_capacity(b.len() + 1);
    let mut i = 0;
    while i < b.len() {
        let (byte, len) = match b[i] {
            b'%' => match b.get(i + 1..i + 3).and_then(hex) {
                Some(v) if v < 0x80 => (v as u8, 3),
                _ => (b'%', 1),
            },
            b'\\' => match b.get(i + 1) {
                Some(&c @ (b'/' | b'"' | b'\\')) => (c, 2),
                Some(b'u') => match b.get(i + 2..i + 6).and_then(hex) {
                    Some(v) if v < 0x80 => (v as u8, 6),
                    _ => (b'\\', 1),
                },
                _ => (b'\\', 1),
            },
            other => (other, 1),
        };
        plain.push(byte);
        starts.push(i);
        i += len;
    }
    starts.push(b.len());
    (plain, starts)
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// RFC 3986 percent-encoding as both clouds canonicalise: letters, digits and `-_.~` stay,
/// every other byte of the UTF-8 becomes `%XX` (upper-case hex), so a space is `%20`, never `+`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_debug_print() {
        let s = Secret::new("very-secret-value");
        assert_eq!(format!("{s:?}"), "Secret(…)");
    }

    #[test]
    fn scrub_masks_key_ids_and_known_secrets_but_keeps_request_ids() {
        let text = "The AccessKeyId LTAI5tQ1examplexample9Zz1 is invalid (secret hunter2hunter2, \
                    RequestId 7A01826E-7601-44B0-B4DF-2B0C509836DE)";
        let out = scrub(text, &["hunter2hunter2"], &[]);
        assert_eq!(
            scrub("key AKIDshort1 bad", &[], &["AKIDshort1"]),
            "key AKID…ort1 bad"
        );
        assert!(!out.contains("LTAI5tQ1examplexample9Zz1"), "{out}");
        assert!(out.contains("LTAI…9Zz1"), "{out}");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(
            out.contains("7A01826E-7601-44B0-B4DF-2B0C509836DE"),
            "{out}"
        );
    }

    #[test]
    fn scrub_finds_secrets_tokens_and_key_ids_in_every_form() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+abc=";
        let key = "AKIAIOSFODNN7EXAMPLE";
        let upper = percent_encode(secret);
        let lower = upper.replace("%2F", "%2f");
        let forms = [
            format!("secret {secret} here"),
            format!("secret {upper} here"),
            format!("secret {lower} here"),
            format!("secret {} here", secret.replace('/', "\\/")),
            format!("secret {} here", secret.replace('/', "\\u002F")),
            format!("secret {} here", secret.replace('/', "\\u002f")),
            format!("token {token}"),
            format!("token {}", percent_encode(token)),
            format!("token {}", token.replace('/', "\\/")),
            format!(
                "{{\"X-Amz-Security-Token\":\"{}\"}}",
                token.replace('/', "\\u002F").replace('+', "\\u002b")
            ),
            format!("Credential={key}/20261206/us-east-1/iam/aws4_request"),
            format!("Credential%3D{key}%2F20261206"),
            format!("x{key}y"),
            format!("7{key}"),
        ];
        for text in &forms {
            let out = scrub(text, &[secret, token], &[key]);
            for whole in [secret, token, key] {
                let (raw, enc) = (whole, percent_encode(whole));
                assert!(!out.contains(raw) && !out.contains(&enc), "{text} -> {out}");
            }
            for piece in ["bPxRfiCYEXAMPLEKEY", "K7MDENG", "IOSFODNN7EX", "ZpZ2luX2Vj"] {
                assert!(!out.contains(piece), "{text} -> {out}");
            }
        }
        // Known values go even where no run gives them away (short, or among words).
        assert_eq!(scrub("pass=hunter22!", &["hunter22!"], &[]), "pass=…");
        assert_eq!(
            scrub("id %41KIDshort1", &[], &["AKIDshort1"]),
            "id AKID…ort1"
        );
        // What is not a credential stays as it was, escapes included.
        let plain = "Throttling: Rate exceeded (RequestId 7A01826E-7601-44B0-B4DF-2B0C509836DE) a%2Fb \\u00e9";
        assert_eq!(scrub(plain, &[secret], &[key]), plain);
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(
            percent_encode("a b*c+d/e=f&g:h"),
            "a%20b%2Ac%2Bd%2Fe%3Df%26g%3Ah"
        );
        assert_eq!(percent_encode("未"), "%E6%9C%AA");
    }
}
