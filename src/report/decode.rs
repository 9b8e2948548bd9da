//! Bytes on disk → UTF-8 text. Reports come from the console as UTF-8 (with or without a
//! byte-order mark); re-saved by a spreadsheet on a Chinese Windows they are GB18030/GBK.

use std::borrow::Cow;

use encoding_rs::{GB18030, UTF_16BE, UTF_16LE};

/// Which encoding a report was found to be in; shown on the status page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Gb18030,
    Utf16,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Gb18030 => "GB18030",
            Encoding::Utf16 => "UTF-16",
        }
    }
}

/// The file's bytes could not be read as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndecodableBytes {
    /// 1-based line of the first byte that fits no supported encoding.
    pub line: u64,
}

/// Decodes `bytes` to UTF-8, borrowing when they already are (the common, fast case).
pub fn decode(bytes: &[u8]) -> Result<(Cow<'_, str>, Encoding), UndecodableBytes> {
    const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return match std::str::from_utf8(rest) {
            Ok(text) => Ok((Cow::Borrowed(text), Encoding::Utf8)),
            Err(error) => Err(undecodable(rest, error.valid_up_to())),
        };
    }
    // Excel's "Unicode text" export is UTF-16 with a byte-order mark.
    for (bom, encoding) in [(b"\xFF\xFE", UTF_16LE), (b"\xFE\xFF", UTF_16BE)] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            let (text, had_errors) = encoding.decode_without_bom_handling(rest);
            return match had_errors {
                false => Ok((Cow::Owned(text.into_owned()), Encoding::Utf16)),
                true => Err(UndecodableBytes { line: 1 }),
            };
        }
    }
    let utf8_error = match std::str::from_utf8(bytes) {
        Ok(text) => return Ok((Cow::Borrowed(text), Encoding::Utf8)),
        Err(error) => error,
    };
    // Not UTF-8: GB18030 is a superset of GBK and GB2312, so one decoder covers them all.
    // Its decoder marks malformed sequences, which tells garbage from Chinese text.
    let (text, had_errors) = GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(undecodable(bytes, utf8_error.valid_up_to()));
    }
    Ok((Cow::Owned(text.into_owned()), Encoding::Gb18030))
}

fn undecodable(bytes: &[u8], offset: usize) -> UndecodableBytes {
    let newlines = bytes[..offset].iter().filter(|&&b| b == b'\n').count();
    UndecodableBytes {
        line: newlines as u64 + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_passes_through_borrowed() {
        let (text, encoding) = decode("AccountID,张三\n".as_bytes()).unwrap();
        assert!(matches!(text, Cow::Borrowed(_)));
        assert_eq!(encoding, Encoding::Utf8);
    }

    #[test]
    fn utf8_byte_order_mark_is_dropped() {
        let (text, encoding) = decode(b"\xEF\xBB\xBFAccountID\n").unwrap();
        assert_eq!(&*text, "AccountID\n");
        assert_eq!(encoding, Encoding::Utf8);
    }

    #[test]
    fn gb18030_is_detected_and_decoded() {
        let (bytes, _, _) = GB18030.encode("Username\n张三,运维\n");
        let (text, encoding) = decode(&bytes).unwrap();
        assert_eq!(text, "Username\n张三,运维\n");
        assert_eq!(encoding, Encoding::Gb18030);
    }

    #[test]
    fn utf16_with_byte_order_mark_is_decoded() {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend("Username\n李四\n".encode_utf16().flat_map(u16::to_le_bytes));
        let (text, encoding) = decode(&bytes).unwrap();
        assert_eq!(text, "Username\n李四\n");
        assert_eq!(encoding, Encoding::Utf16);
    }

    #[test]
    fn bytes_in_no_encoding_name_their_line() {
        let error = decode(b"Username\nalice\n\xFF\xFF\x80\n").unwrap_err();
        assert_eq!(error, UndecodableBytes { line: 3 });
    }
}
