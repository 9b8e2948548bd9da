//! Bytes on disk → UTF-8 text, a chunk at a time. Reports come from the console as UTF-8 (with or
//! without a byte-order mark); re-saved by a spreadsheet on a Chinese Windows they are GB18030/GBK.

use std::cell::Cell;
use std::io::{self, Read};

use encoding_rs::{Decoder, DecoderResult, GB18030, UTF_16BE, UTF_16LE};

/// How many bytes are read from the file at a time: large enough that the calls cost nothing
/// beside the parsing, small enough to stay in a core's cache.
pub const CHUNK_BYTES: usize = 256 << 10;

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

/// What a file without a byte-order mark is taken to be before its bytes are seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guess {
    /// UTF-8, until a byte shows it is not ([`Fault::NotUtf8`]): then the file is read
    /// again from its start as GB18030.
    Utf8,
    /// GB18030 (a superset of GBK and GB2312): the file's bytes are not UTF-8, first on
    /// line `not_utf8_at`, which is where an error points if they are not GB18030 either.
    Gb18030 { not_utf8_at: u64 },
}

/// What `bytes`, all of a file, are to be read as: the whole of them is at hand, so whether
/// they are UTF-8 is known before the first row, and a read never starts over.
pub fn guess(bytes: &[u8]) -> Guess {
    match std::str::from_utf8(bytes) {
        Ok(_) => Guess::Utf8,
        // A byte-order mark decides whatever follows.
        Err(_)
            if [&b"\xEF\xBB\xBF"[..], b"\xFF\xFE", b"\xFE\xFF"]
                .iter()
                .any(|bom| bytes.starts_with(bom)) =>
        {
            Guess::Utf8
        }
        Err(error) => Guess::Gb18030 {
            not_utf8_at: 1 + memchr::memchr_iter(b'\n', &bytes[..error.valid_up_to()]).count()
                as u64,
        },
    }
}

/// Why no more text came.
#[derive(Debug)]
pub enum Fault {
    Io(io::Error),
    /// Bytes in no supported encoding, at the end of the text decoded so far, or on `line`
    /// if it is known (where they first were not UTF-8).
    Undecodable {
        line: Option<u64>,
    },
    /// Bytes that are not UTF-8 in a file taken for UTF-8: it is to be read again as GB18030.
    NotUtf8,
}

enum Decoding {
    /// No bytes seen yet: a byte-order mark, or else the guess, decides.
    Sniffing(Guess),
    /// UTF-8: `strict` after a byte-order mark (anything else is undecodable), else
    /// [`Fault::NotUtf8`] at the first byte that is not.
    Utf8 { strict: bool },
    Other {
        decoder: Decoder,
        /// The line an error names instead of its own (see [`Guess::Gb18030`]).
        line: Option<u64>,
    },
}

/// A file's text, decoded a chunk at a time into one buffer that holds only what the reader
/// has not yet consumed: the memory it takes is a chunk and the longest record, whatever
/// the size of the file.
pub struct Text<'s> {
    source: &'s mut dyn Read,
    /// A chunk of bytes read; its first `pending` are not yet decoded (the start of a
    /// character cut by the last chunk's end).
    raw: Vec<u8>,
    pending: usize,
    /// Decoded text not yet consumed.
    text: String,
    decoding: Decoding,
    encoding: Encoding,
    /// Everything has been read and decoded.
    ended: bool,
}

thread_local! {
    /// The buffers of the last text read on this thread, for the next: `check` reads a
    /// report a millisecond, and a fresh chunk is zeroed before it is read into.
    static KEPT_BUFFERS: Cell<Option<(Vec<u8>, String)>> = const { Cell::new(None) };
}

impl Drop for Text<'_> {
    fn drop(&mut self) {
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        KEPT_BUFFERS.set(Some((std::mem::take(&mut self.raw), text)));
    }
}

impl<'s> Text<'s> {
    pub fn new(source: &'s mut dyn Read, guess: Guess) -> Self {
        // A character cut by a chunk's end is at most 3 bytes, kept before the next chunk.
        let (raw, text) = KEPT_BUFFERS.take().unwrap_or_else(|| {
            let raw = vec![0; CHUNK_BYTES + 3];
            (raw, String::with_capacity(CHUNK_BYTES))
        });
        Text {
            source,
            raw,
            pending: 0,
            text,
            decoding: Decoding::Sniffing(guess),
            encoding: Encoding::Utf8,
            ended: false,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the text holds the end of the file.
    pub fn ended(&self) -> bool {
        self.ended
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Drops the first `consumed` bytes of the text, and decodes the next chunk of the file
    /// after the rest (or notes its end).
    pub fn refill(&mut self, consumed: usize) -> Result<(), Fault> {
        self.text.drain(..consumed);
        if self.ended {
            return Ok(());
        }
        let start = self.pending;
        let read = loop {
            match self.source.read(&mut self.raw[start..]) {
                Ok(read) => break read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(Fault::Io(error)),
            }
        };
        self.pending += read;
        let last = read == 0;
        if let Decoding::Sniffing(guess) = self.decoding {
            // A byte-order mark is up to three bytes.
            if self.pending < 3 && !last {
                return Ok(());
            }
            self.decoding = self.sniff(guess);
        }
        self.decode(last)?;
        self.ended = last;
        Ok(())
    }

    /// Drops the first `count` bytes read.
    fn drop_raw(&mut self, count: usize) {
        self.raw.copy_within(count..self.pending, 0);
        self.pending -= count;
    }

    /// How the file is to be decoded, from its first bytes; a byte-order mark is dropped.
    fn sniff(&mut self, guess: Guess) -> Decoding {
        if self.raw[..self.pending].starts_with(b"\xEF\xBB\xBF") {
            self.drop_raw(3);
            return Decoding::Utf8 { strict: true };
        }
        // Excel's "Unicode text" export is UTF-16 with a byte-order mark.
        for (bom, encoding) in [(b"\xFF\xFE", UTF_16LE), (b"\xFE\xFF", UTF_16BE)] {
            if self.raw[..self.pending].starts_with(bom) {
                self.drop_raw(2);
                self.encoding = Encoding::Utf16;
                let decoder = encoding.new_decoder_without_bom_handling();
                return Decoding::Other {
                    decoder,
                    line: None,
                };
            }
        }
        match guess {
            Guess::Utf8 => Decoding::Utf8 { strict: false },
            Guess::Gb18030 { not_utf8_at } => {
                self.encoding = Encoding::Gb18030;
                // Its decoder marks malformed sequences, which tells garbage from Chinese text.
                let decoder = GB18030.new_decoder_without_bom_handling();
                Decoding::Other {
                    decoder,
                    line: Some(not_utf8_at),
                }
            }
        }
    }

    /// Decodes the bytes read onto the end of the text; `last` when the file has no more.
    fn decode(&mut self, last: bool) -> Result<(), Fault> {
        match &mut self.decoding {
            Decoding::Sniffing(_) => unreachable!("sniffed before decoding"),
            Decoding::Utf8 { strict } => {
                let read = &self.raw[..self.pending];
                // `from_utf8` checks a word at a time where the text is ASCII, several times
                // faster than walking `utf8_chunks` (a seventh of a reload's time, with perf).
                let valid = match std::str::from_utf8(read) {
                    Ok(text) => text,
                    Err(e) => std::str::from_utf8(&read[..e.valid_up_to()]).expect("valid so far"),
                };
                self.text.push_str(valid);
                let rest = &read[valid.len()..];
                // A character cut by the chunk's end is completed by the next chunk.
                let cut = || std::str::from_utf8(rest).is_err_and(|e| e.error_len().is_none());
                if !rest.is_empty() && (last || !cut()) {
                    return Err(match strict {
                        true => Fault::Undecodable { line: None },
                        false => Fault::NotUtf8,
                    });
                }
                let valid = valid.len();
                self.drop_raw(valid);
            }
            Decoding::Other { decoder, line } => {
                let read = &self.raw[..self.pending];
                let room = decoder.max_utf8_buffer_length_without_replacement(read.len());
                self.text
                    .reserve(room.expect("a chunk's text fits in memory"));
                let (result, _) =
                    decoder.decode_to_string_without_replacement(read, &mut self.text, last);
                match result {
                    DecoderResult::InputEmpty => self.pending = 0,
                    DecoderResult::OutputFull => unreachable!("room was made for the worst case"),
                    DecoderResult::Malformed(..) => {
                        return Err(Fault::Undecodable { line: *line });
                    }
                }
            }
        }
        Ok(())
    }
}

/// A reader that gives at most `chunk` bytes a call, as a pipe or a slow disk may.
#[cfg(test)]
pub struct Chunked<'b> {
    pub bytes: &'b [u8],
    pub chunk: usize,
}

#[cfg(test)]
impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All of `bytes` decoded, `chunk` bytes at a time, or the fault.
    fn decode_in_chunks(bytes: &[u8], chunk: usize) -> Result<(String, Encoding), Fault> {
        let mut reader = Chunked { bytes, chunk };
        let mut text = Text::new(&mut reader, guess(bytes));
        let mut all = String::new();
        while !text.ended() {
            text.refill(text.as_str().len())?;
            all.push_str(text.as_str());
        }
        Ok((all, text.encoding()))
    }

    fn decode(bytes: &[u8]) -> Result<(String, Encoding), Fault> {
        let whole = decode_in_chunks(bytes, usize::MAX);
        // Characters cut between chunks anywhere decode the same.
        for chunk in [1, 2, 3, 5] {
            let cut = decode_in_chunks(bytes, chunk);
            assert_eq!(
                format!("{cut:?}"),
                format!("{whole:?}"),
                "chunks of {chunk}"
            );
        }
        whole
    }

    #[test]
    fn utf8_passes_through() {
        let (text, encoding) = decode("AccountID,张三\n".as_bytes()).unwrap();
        assert_eq!(text, "AccountID,张三\n");
        assert_eq!(encoding, Encoding::Utf8);
    }

    #[test]
    fn utf8_byte_order_mark_is_dropped() {
        let (text, encoding) = decode(b"\xEF\xBB\xBFAccountID\n").unwrap();
        assert_eq!(text, "AccountID\n");
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
        let bytes = b"Username\nalice\n\xFF\xFF\x80\n";
        assert_eq!(guess(bytes), Guess::Gb18030 { not_utf8_at: 3 });
        let error = decode(bytes).unwrap_err();
        assert!(
            matches!(error, Fault::Undecodable { line: Some(3) }),
            "{error:?}"
        );
    }

    #[test]
    fn a_file_taken_for_utf8_that_is_not_says_so() {
        let (bytes, _, _) = GB18030.encode("Username\n张三\n");
        let mut reader = &bytes[..];
        let mut text = Text::new(&mut reader, Guess::Utf8);
        assert!(matches!(text.refill(0), Err(Fault::NotUtf8)));
        assert_eq!(
            text.as_str(),
            "Username\n",
            "the text up to the fault is kept"
        );
    }
}
