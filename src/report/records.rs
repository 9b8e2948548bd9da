//! Decoded text → CSV records, read the way the csv crate reads them. Console reports are
//! plain rows of commas, and those are split where they lie, faster than a general CSV
//! reader; a record with a quote or a lone carriage return goes through `csv_core`, the
//! csv crate's own parser.

use std::cell::Cell;
use std::ops::Range;

use memchr::memchr_iter;

/// The records of one report's text, one at a time.
pub struct Records<'t> {
    text: &'t str,
    /// Where the next record (or the blank lines before it) starts.
    at: usize,
    /// The line `at` is on, counting from 1.
    line: u64,
    /// The current record's fields, as ranges of its bytes.
    fields: Vec<Range<usize>>,
    /// Field data of a record read by `csv_core`, quotes removed.
    unquoted: Vec<u8>,
    /// The same as text, with the fields back to back (quotes are ASCII, so taking them out
    /// of UTF-8 leaves UTF-8).
    unquoted_text: String,
    ends: Vec<usize>,
    general: Option<csv_core::Reader>,
}

/// One record: its fields, and where it starts.
pub struct Record<'r> {
    /// The line the record starts on, counting from 1.
    pub line: u64,
    /// The byte offset in the text where the record starts.
    pub start: usize,
    text: &'r str,
    fields: &'r [Range<usize>],
}

impl<'r> Record<'r> {
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Field `index`; the caller has checked that the record is as wide as its header.
    pub fn get(&self, index: usize) -> &'r str {
        &self.text[self.fields[index].clone()]
    }

    /// The fields. They are cut where the text has ASCII commas, quotes and line ends, so
    /// each is whole UTF-8.
    pub fn iter(&self) -> impl Iterator<Item = &'r str> + '_ {
        let text = self.text;
        self.fields.iter().map(move |field| &text[field.clone()])
    }
}

thread_local! {
    /// Building a `csv_core` reader (its state machine) costs as much as reading a hundred
    /// rows, so each thread keeps the last one for its next report.
    static KEPT_READER: Cell<Option<csv_core::Reader>> = const { Cell::new(None) };
}

impl Drop for Records<'_> {
    fn drop(&mut self) {
        if let Some(reader) = self.general.take() {
            KEPT_READER.set(Some(reader));
        }
    }
}

impl<'t> Records<'t> {
    pub fn new(text: &'t str) -> Self {
        Self::starting_at(text, 0, 1)
    }

    /// The records from byte `at` on, which must be the start of line `line`: the rows
    /// after a header already read.
    pub fn starting_at(text: &'t str, at: usize, line: u64) -> Self {
        Records {
            text,
            at,
            line,
            fields: Vec::with_capacity(32),
            unquoted: Vec::new(),
            unquoted_text: String::new(),
            ends: Vec::new(),
            general: None,
        }
    }

    /// Where reading has got to: the end of the last record read.
    pub fn position(&self) -> usize {
        self.at
    }

    /// The line reading has got to.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Where the next record starts, or `None` if no record is left; blank lines before
    /// it are passed over.
    fn next_start(&mut self) -> Option<usize> {
        // Blank lines, and the line feed of a CRLF, come before a record: the csv crate
        // skips them too.
        while let Some(&byte) = self.text.as_bytes().get(self.at) {
            match byte {
                b'\n' => self.line += 1,
                b'\r' => {}
                _ => return Some(self.at),
            }
            self.at += 1;
        }
        None
    }

    /// The next record, or `None` at the end of the text.
    pub fn next_record(&mut self) -> Option<Record<'_>> {
        self.next_start()?;
        let start = self.at;
        let line = self.line;
        let rest = &self.text[start..];
        let Some(end) = split_plain_line(rest.as_bytes(), &mut self.fields) else {
            return self.general_record(start, line);
        };
        let content = &rest[..end];
        // The line end is left for the blank-line skip above.
        self.at = start + content.len();
        Some(Record {
            line,
            start,
            text: content,
            fields: &self.fields,
        })
    }

    /// A record with quotes (which may span lines) or carriage returns, read by `csv_core`
    /// from `start` on.
    fn general_record(&mut self, start: usize, line: u64) -> Option<Record<'_>> {
        use csv_core::ReadRecordResult;

        // Not `Reader::default()`: that one has an empty state machine and reads nothing.
        let reader = self
            .general
            .get_or_insert_with(|| match KEPT_READER.take() {
                Some(kept) => kept,
                None => csv_core::Reader::new(),
            });
        reader.reset();
        if self.unquoted.is_empty() {
            self.unquoted.resize(1024, 0);
            self.ends.resize(32, 0);
        }
        let (mut read, mut written, mut ended) = (0, 0, 0);
        loop {
            // Once the input is used up, an empty input tells the reader the text ended.
            let (result, nin, nout, nend) = reader.read_record(
                &self.text.as_bytes()[start + read..],
                &mut self.unquoted[written..],
                &mut self.ends[ended..],
            );
            read += nin;
            written += nout;
            ended += nend;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let larger = self.unquoted.len() * 2;
                    self.unquoted.resize(larger, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let larger = self.ends.len() * 2;
                    self.ends.resize(larger, 0);
                }
                ReadRecordResult::Record => break,
                ReadRecordResult::End => {
                    self.at = self.text.len();
                    return None;
                }
            }
        }
        let consumed = &self.text.as_bytes()[start..start + read];
        self.line += memchr_iter(b'\n', consumed).count() as u64;
        self.at = start + read;
        self.fields.clear();
        self.unquoted_text.clear();
        let mut field_start = 0;
        // UTF-8 text without its quotes, cut at its commas, is UTF-8 field by field (quotes and
        // commas are ASCII): checked once for the record.
        if let Ok(text) = std::str::from_utf8(&self.unquoted[..written]) {
            self.unquoted_text.push_str(text);
            for &end in &self.ends[..ended] {
                self.fields.push(field_start..end);
                field_start = end;
            }
        } else {
            for &end in &self.ends[..ended] {
                // Never so; were it ever, the field is shown as best it can be.
                let field = String::from_utf8_lossy(&self.unquoted[field_start..end]);
                let text_start = self.unquoted_text.len();
                self.unquoted_text.push_str(&field);
                self.fields.push(text_start..self.unquoted_text.len());
                field_start = end;
            }
        }
        Some(Record {
            line,
            start,
            text: &self.unquoted_text,
            fields: &self.fields,
        })
    }
}

/// Splits the line at the start of `text` at its commas into `fields`, and returns where
/// the line ends; or `None` if the line has a quote, or a carriage return not ending it,
/// which only the general reader reads right.
fn split_plain_line(text: &[u8], fields: &mut Vec<Range<usize>>) -> Option<usize> {
    fields.clear();
    let mut field_start = 0;
    // Eight bytes at a time: most words hold one comma or none, and only the bytes that
    // matter are looked at one by one. The last few bytes are padded with zeros.
    let mut word_start = 0;
    while word_start < text.len() {
        let word = match text[word_start..].first_chunk::<8>() {
            Some(word) => *word,
            None => {
                let mut padded = [0; 8];
                padded[..text.len() - word_start].copy_from_slice(&text[word_start..]);
                padded
            }
        };
        let word = u64::from_le_bytes(word);
        let mut special = bytes_equal(word, b',')
            | bytes_equal(word, b'\n')
            | bytes_equal(word, b'\r')
            | bytes_equal(word, b'"');
        while special != 0 {
            let at = word_start + special.trailing_zeros() as usize / 8;
            special &= special - 1;
            match text[at] {
                b',' => {
                    fields.push(field_start..at);
                    field_start = at + 1;
                }
                b'\n' => return Some(end_line(fields, field_start, at)),
                b'\r' if text.get(at + 1) == Some(&b'\n') => {
                    return Some(end_line(fields, field_start, at))
                }
                _ => return None,
            }
        }
        word_start += 8;
    }
    Some(end_line(fields, field_start, text.len()))
}

fn end_line(fields: &mut Vec<Range<usize>>, field_start: usize, end: usize) -> usize {
    fields.push(field_start..end);
    end
}

/// The high bit of each byte of `word` that equals `byte`, and nothing else: the exact form
/// of the bit trick, in which no byte carries into its neighbour.
fn bytes_equal(word: u64, byte: u8) -> u64 {
    const LOW_BITS: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let zero_where_equal = word ^ u64::from_le_bytes([byte; 8]);
    !(((zero_where_equal & LOW_BITS) + LOW_BITS) | zero_where_equal | LOW_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, fields) of every record, as these records read them.
    fn ours(text: &[u8]) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut records = Records::new(std::str::from_utf8(text).unwrap());
        let mut all = Vec::new();
        while let Some(record) = records.next_record() {
            all.push((
                record.line,
                record.iter().map(|f| f.as_bytes().to_vec()).collect(),
            ));
        }
        all
    }

    /// The fields of every record, as the csv crate reads them.
    fn csv_crate(text: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text);
        let mut record = csv::ByteRecord::new();
        let mut all = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            all.push(record.iter().map(<[u8]>::to_vec).collect());
        }
        all
    }

    fn fields_of(records: &[(u64, Vec<Vec<u8>>)]) -> Vec<Vec<Vec<u8>>> {
        records.iter().map(|(_, fields)| fields.clone()).collect()
    }

    #[test]
    fn bytes_equal_marks_exactly_the_equal_bytes() {
        for byte in 0..=255u8 {
            for other in 0..=255u8 {
                let word = u64::from_le_bytes([other, byte, other, byte, 0, 255, byte, other]);
                let expected = [other, byte, other, byte, 0, 255, byte, other]
                    .iter()
                    .enumerate()
                    .filter(|(_, &b)| b == byte)
                    .fold(0u64, |mask, (i, _)| mask | 0x80 << (8 * i));
                assert_eq!(bytes_equal(word, byte), expected, "{byte} among {other}");
            }
        }
    }

    #[test]
    fn plain_rows_split_at_commas() {
        let records = ours(b"a,b,c\n1,,3\n");
        assert_eq!(fields_of(&records), csv_crate(b"a,b,c\n1,,3\n"));
        assert_eq!(records[1], (2, vec![b"1".to_vec(), vec![], b"3".to_vec()]));
    }

    #[test]
    fn lines_are_where_records_start() {
        let lines = |text: &[u8]| -> Vec<u64> { ours(text).iter().map(|r| r.0).collect() };
        assert_eq!(lines(b"h\na\nb\n"), [1, 2, 3]);
        assert_eq!(lines(b"h\r\na\r\nb\r\n"), [1, 2, 3]);
        assert_eq!(lines(b"h\n\n\na\nb"), [1, 4, 5]);
        assert_eq!(lines(b"h\n\"x\ny\",z\nb\n"), [1, 2, 4]);
    }

    /// Random texts of commas, quotes, line ends and letters read exactly as the csv crate
    /// reads them: the fast path may only ever be faster, never different.
    #[test]
    fn every_text_reads_as_the_csv_crate_reads_it() {
        let alphabet: &[&[u8]] = &[
            b"a",
            b"bc",
            b",",
            b",",
            b"\"",
            b"\"\"",
            b"\n",
            b"\r\n",
            b"\r",
            b" ",
            b"\xE5\xBC\xA0",
        ];
        let mut state: u64 = 11;
        for _ in 0..10_000 {
            let mut text = Vec::new();
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let pieces = 1 + (state >> 59);
            for _ in 0..pieces {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.extend_from_slice(alphabet[(state >> 33) as usize % alphabet.len()]);
            }
            assert_eq!(
                fields_of(&ours(&text)),
                csv_crate(&text),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }
}
