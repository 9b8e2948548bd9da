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

/// Text from a cloud (an error message, a parser's complaint about an answer) made safe to log:
/// the given secrets are removed and the given key ids masked wherever they appear, and every
/// other run of 16 or more letters and digits (key ids, pieces of tokens) is masked too. Request
/// ids (UUIDs, runs of at most 12), error codes and words (no digits) survive.
pub fn scrub(text: &str, secrets: &[&str], key_ids: &[&str]) -> String {
    let mut text = text.to_owned();
    for value in secrets.iter().filter(|v| v.len() >= 4) {
        text = text.replace(value, "…");
    }
    for id in key_ids.iter().filter(|v| v.len() >= 4) {
        text = text.replace(id, &crate::model::mask_key_id(id));
    }
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        // Key ids and secrets mix letters and digits; error codes and words have no digits.
        if run.len() >= 16
            && run.bytes().any(|b| b.is_ascii_digit())
            && run.bytes().any(|b| b.is_ascii_alphabetic())
        {
            out.push_str(&crate::model::mask_key_id(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
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
    fn percent_encoding_keeps_only_unreserved() {
        assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(
            percent_encode("a b*c+d/e=f&g:h"),
            "a%20b%2Ac%2Bd%2Fe%3Df%26g%3Ah"
        );
        assert_eq!(percent_encode("未"), "%E6%9C%AA");
    }
}
