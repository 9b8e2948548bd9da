//! Decoded text → CSV records, read the way the csv crate reads them, a chunk of the file at
//! a time. Console reports are plain rows of commas, and those are split where they lie,
//! faster than a general CSV reader; a record with a quote or a lone carriage return goes
//! through `csv_core`, the csv crate's own parser. A record wider or longer than any report's
//! is refused as soon as it is seen, before more of it is held.

use std::cell::Cell;
use std::ops::Range;

use memchr::memchr_iter;

use super::columns::HeaderRow;
use super::decode::{Encoding, Fault, Text};
use super::{ReportError, Stop};

/// The most fields a record may have: eight times the widest report's (Alibaba RAM's 28
/// columns), room for columns the consoles may add. A spreadsheet's export with thousands
/// of empty columns is refused at its header, not held.
pub const MAX_FIELDS: usize = 256;

/// The longest a record may be, in bytes of UTF-8: sixteen times the longest row the
/// vendors' limits allow (about 4 KiB: AWS's ARN of up to 2,048 characters, names of up
/// to 128, every other cell a date, flag, region or key id of under 64 bytes).
pub const MAX_RECORD_BYTES: usize = 64 << 10;

/// How far into the file the header must start: past the blank lines a file may begin
/// with, it is the first thing in a report.
pub const HEADER_WITHIN_BYTES: usize = 64 << 10;

/// The records of one report's text, one at a time.
pub struct Records<'s> {
    input: Text<'s>,
    /// Where the next record (or the blank lines before it) starts in the input's text.
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
    /// The record last read.
    current: Current,
}

/// Where the record last read is.
#[derive(Default)]
struct Current {
    line: u64,
    /// Its bytes in the input's text, when its fields are ranges of them; else its fields
    /// are ranges of `unquoted_text`.
    plain: Option<Range<usize>>,
    open_quote: bool,
}

/// One record: its fields, and the line it starts on.
pub struct Record<'r> {
    /// The line the record starts on, counting from 1.
    pub line: u64,
    /// The record runs to the end of the file inside a quoted field: a quote was opened
    /// and never closed.
    pub open_quote: bool,
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

/// How far reading one record got.
enum Parsed {
    Record,
    /// The text holds no more records, and the file has no more text.
    End,
    /// The record (or the blank lines before it) runs past the text read so far.
    NeedMore,
}

impl<'s> Records<'s> {
    pub fn new(input: Text<'s>) -> Self {
        Records {
            input,
            at: 0,
            line: 1,
            fields: Vec::with_capacity(32),
            unquoted: Vec::new(),
            unquoted_text: String::new(),
            ends: Vec::new(),
            general: None,
            current: Current::default(),
        }
    }

    /// The encoding the text was found in (known once the header is read).
    pub fn encoding(&self) -> Encoding {
        self.input.encoding()
    }

    /// The cells of the header: the first record, which must start in the file's first
    /// [`HEADER_WITHIN_BYTES`].
    pub fn header(&mut self) -> Result<HeaderRow, Stop> {
        while self.input.as_str().len() < HEADER_WITHIN_BYTES && !self.input.ended() {
            self.refill()?;
        }
        let text = self.input.as_str().as_bytes();
        let window = &text[..text.len().min(HEADER_WITHIN_BYTES)];
        if window.iter().all(u8::is_ascii_whitespace) {
            if self.input.ended() && text.iter().all(u8::is_ascii_whitespace) {
                return Err(ReportError::Empty.into());
            }
            return Err(ReportError::NoHeader {
                line: 1 + memchr_iter(b'\n', window).count() as u64,
                within: HEADER_WITHIN_BYTES as u64,
            }
            .into());
        }
        match self.next_record()? {
            Some(record) => Ok(HeaderRow::new(record.iter())),
            None => Err(ReportError::Empty.into()),
        }
    }

    /// The next record, or `None` at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, Stop> {
        loop {
            match self.parse()? {
                Parsed::Record => break,
                Parsed::End => return Ok(None),
                Parsed::NeedMore => self.refill()?,
            }
        }
        let current = &self.current;
        let text = match &current.plain {
            Some(plain) => &self.input.as_str()[plain.clone()],
            None => &self.unquoted_text,
        };
        Ok(Some(Record {
            line: current.line,
            open_quote: current.open_quote,
            text,
            fields: &self.fields,
        }))
    }

    /// Drops the text read and decodes more.
    fn refill(&mut self) -> Result<(), Stop> {
        let consumed = std::mem::take(&mut self.at);
        self.input.refill(consumed).map_err(|fault| {
            // The text holds what was decoded up to the fault.
            let line =
                self.line + memchr_iter(b'\n', self.input.as_str().as_bytes()).count() as u64;
            match fault {
                Fault::Io(error) => Stop::Io(error),
                Fault::Undecodable { line: known } => ReportError::Undecodable {
                    line: known.unwrap_or(line),
                }
                .into(),
                Fault::NotUtf8 => Stop::NotUtf8 { line },
            }
        })
    }

    /// Reads the record at `at`, if the text holds all of it.
    fn parse(&mut self) -> Result<Parsed, Stop> {
        let text = self.input.as_str();
        // Blank lines, and the line feed of a CRLF, come before a record: the csv crate
        // skips them too.
        while let Some(&byte) = text.as_bytes().get(self.at) {
            match byte {
                b'\n' => self.line += 1,
                b'\r' => {}
                _ => break,
            }
            self.at += 1;
        }
        let start = self.at;
        if start == text.len() {
            return Ok(match self.input.ended() {
                true => Parsed::End,
                false => Parsed::NeedMore,
            });
        }
        let rest = &text.as_bytes()[start..];
        let end = match split_plain_line(rest, &mut self.fields) {
            Split::Line(end) => end,
            Split::Wide => return Err(self.too_wide()),
            Split::Quoted => return self.parse_general(start),
        };
        if end == rest.len() && !self.input.ended() {
            // The line may go on in the next chunk.
            return self.need_more(start);
        }
        if end > MAX_RECORD_BYTES {
            return Err(self.too_long());
        }
        // The line end is left for the blank-line skip above.
        self.at = start + end;
        self.current = Current {
            line: self.line,
            plain: Some(start..start + end),
            open_quote: false,
        };
        Ok(Parsed::Record)
    }

    /// The text from `start` on is not a whole record: more is read, unless it is already
    /// longer than a record may be.
    fn need_more(&self, start: usize) -> Result<Parsed, Stop> {
        match self.input.as_str().len() - start > MAX_RECORD_BYTES {
            true => Err(self.too_long()),
            false => Ok(Parsed::NeedMore),
        }
    }

    fn too_long(&self) -> Stop {
        ReportError::RecordTooLong {
            line: self.line,
            max: MAX_RECORD_BYTES as u64,
        }
        .into()
    }

    fn too_wide(&self) -> Stop {
        ReportError::TooManyFields {
            line: self.line,
            max: MAX_FIELDS as u64,
        }
        .into()
    }

    /// A record with quotes (which may span lines) or carriage returns, read by `csv_core`
    /// from `start` on.
    fn parse_general(&mut self, start: usize) -> Result<Parsed, Stop> {
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
        let text = self.input.as_str().as_bytes();
        let ended = self.input.ended();
        let (mut read, mut written, mut ended_fields) = (0, 0, 0);
        loop {
            // Once the input is used up, an empty input tells the reader the text ended.
            let (result, nin, nout, nend) = reader.read_record(
                &text[start + read..],
                &mut self.unquoted[written..],
                &mut self.ends[ended_fields..],
            );
            read += nin;
            written += nout;
            ended_fields += nend;
            match result {
                ReadRecordResult::InputEmpty if ended => {}
                ReadRecordResult::InputEmpty => return self.need_more(start),
                // Never more than the record's length, which is bounded.
                ReadRecordResult::OutputFull => {
                    let larger = self.unquoted.len() * 2;
                    self.unquoted.resize(larger, 0);
                }
                ReadRecordResult::OutputEndsFull if self.ends.len() >= MAX_FIELDS => {
                    return Err(self.too_wide());
                }
                ReadRecordResult::OutputEndsFull => {
                    let larger = (self.ends.len() * 2).min(MAX_FIELDS);
                    self.ends.resize(larger, 0);
                }
                ReadRecordResult::Record => break,
                ReadRecordResult::End => {
                    self.at = text.len();
                    return Ok(Parsed::End);
                }
            }
        }
        if read > MAX_RECORD_BYTES {
            return Err(self.too_long());
        }
        let consumed = &text[start..start + read];
        // A quote left open runs to the end of the file; the reader ends it there silently.
        let open_quote = ended && start + read == text.len() && quote_left_open(consumed);
        self.current = Current {
            line: self.line,
            plain: None,
            open_quote,
        };
        self.line += memchr_iter(b'\n', consumed).count() as u64;
        self.at = start + read;
        self.fields.clear();
        self.unquoted_text.clear();
        let mut field_start = 0;
        // UTF-8 text without its quotes, cut at its commas, is UTF-8 field by field (quotes and
        // commas are ASCII): checked once for the record.
        if let Ok(text) = std::str::from_utf8(&self.unquoted[..written]) {
            self.unquoted_text.push_str(text);
            for &end in &self.ends[..ended_fields] {
                self.fields.push(field_start..end);
                field_start = end;
            }
        } else {
            for &end in &self.ends[..ended_fields] {
                // Never so; were it ever, the field is shown as best it can be.
                let field = String::from_utf8_lossy(&self.unquoted[field_start..end]);
                let text_start = self.unquoted_text.len();
                self.unquoted_text.push_str(&field);
                self.fields.push(text_start..self.unquoted_text.len());
                field_start = end;
            }
        }
        Ok(Parsed::Record)
    }
}

/// The CSV reader ends an unclosed quoted field silently at the end of the file; in a
/// report that only happens when a write was cut off, so it must refuse the version.
/// Given the bytes of the last record, tells whether a quote is still open at the end.
fn quote_left_open(last_record: &[u8]) -> bool {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    for &byte in last_record {
        state = match (state, byte) {
            (State::FieldStart, b'"') => State::Quoted,
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            // `""` inside quotes is an escaped quote.
            (State::QuoteInQuoted, b'"') => State::Quoted,
            (_, b',' | b'\n') => State::FieldStart,
            (_, _) => State::Unquoted,
        };
    }
    state == State::Quoted
}

/// What splitting a plain line found.
enum Split {
    /// The line ends here (or the text does).
    Line(usize),
    /// A quote, or a carriage return not ending the line: only the general reader reads
    /// the line right.
    Quoted,
    /// More than [`MAX_FIELDS`] fields.
    Wide,
}

/// Splits the line at the start of `text` at its commas into `fields`, and tells where the
/// line ends (see [`Split`]).
fn split_plain_line(text: &[u8], fields: &mut Vec<Range<usize>>) -> Split {
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
                b',' if fields.len() + 1 >= MAX_FIELDS => return Split::Wide,
                b',' => {
                    fields.push(field_start..at);
                    field_start = at + 1;
                }
                b'\n' => return end_line(fields, field_start, at),
                b'\r' if text.get(at + 1) == Some(&b'\n') => {
                    return end_line(fields, field_start, at)
                }
                _ => return Split::Quoted,
            }
        }
        word_start += 8;
    }
    end_line(fields, field_start, text.len())
}

fn end_line(fields: &mut Vec<Range<usize>>, field_start: usize, end: usize) -> Split {
    fields.push(field_start..end);
    Split::Line(end)
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
    use crate::report::decode::{Chunked, Guess};

    /// A record's line and fields.
    type Read = (u64, Vec<Vec<u8>>);

    /// (line, fields) of every record, as these records read them from the file's bytes
    /// given `chunk` at a time, or the error that stopped them.
    fn ours_in_chunks(text: &[u8], chunk: usize) -> Result<Vec<Read>, String> {
        let mut reader = Chunked { bytes: text, chunk };
        let mut records = Records::new(Text::new(&mut reader, Guess::Utf8));
        let mut all = Vec::new();
        while let Some(record) = records.next_record().map_err(|e| format!("{e:?}"))? {
            all.push((
                record.line,
                record.iter().map(|f| f.as_bytes().to_vec()).collect(),
            ));
        }
        Ok(all)
    }

    /// (line, fields) of every record, the same however the file's bytes come.
    fn ours(text: &[u8]) -> Vec<Read> {
        let whole = ours_in_chunks(text, usize::MAX);
        for chunk in [1, 2, 7] {
            assert_eq!(
                ours_in_chunks(text, chunk),
                whole,
                "{chunk} bytes at a time"
            );
        }
        whole.unwrap()
    }

    fn error_of(text: &[u8]) -> String {
        ours_in_chunks(text, usize::MAX).unwrap_err()
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

    #[test]
    fn a_record_of_the_widest_width_is_read_and_one_field_more_refused() {
        let widest = ",".repeat(MAX_FIELDS - 1);
        assert_eq!(ours(widest.as_bytes())[0].1.len(), MAX_FIELDS);
        let quoted = format!("\"a\"{widest}");
        assert_eq!(ours(quoted.as_bytes())[0].1.len(), MAX_FIELDS);
        for wider in [format!("h\n{widest},\n"), format!("h\n\"a\"{widest},\n")] {
            assert_eq!(
                error_of(wider.as_bytes()),
                "Report(TooManyFields { line: 2, max: 256 })"
            );
        }
    }

    #[test]
    fn a_record_longer_than_a_report_row_is_refused_before_its_end_is_read() {
        let longest = "x".repeat(MAX_RECORD_BYTES);
        let read = ours_in_chunks(longest.as_bytes(), usize::MAX).unwrap();
        assert_eq!(read[0].1[0].len(), MAX_RECORD_BYTES);
        let too_long = format!("h\n\n{longest}y");
        let expected = "Report(RecordTooLong { line: 3, max: 65536 })";
        assert_eq!(error_of(too_long.as_bytes()), expected);
        let quoted = format!("h\n\n\"{longest}\"");
        assert_eq!(error_of(quoted.as_bytes()), expected);
        // A line of no end is refused once a record's length of it has been read.
        let mut endless = std::io::repeat(b'x');
        let mut records = Records::new(Text::new(&mut endless, Guess::Utf8));
        assert!(matches!(
            records.next_record(),
            Err(Stop::Report(ReportError::RecordTooLong { line: 1, .. }))
        ));
    }

    #[test]
    fn a_header_must_start_near_the_start() {
        let header = |text: &[u8]| {
            let mut reader = text;
            let mut records = Records::new(Text::new(&mut reader, Guess::Utf8));
            let header = records.header().map_err(|e| format!("{e:?}"))?;
            Ok::<_, String>(header.names().to_vec())
        };
        let blank = "\n".repeat(HEADER_WITHIN_BYTES - 2);
        assert_eq!(
            header(format!("{blank}a,b\n").as_bytes()).unwrap(),
            ["a", "b"]
        );
        assert_eq!(
            header(format!("{blank}\n\na,b\n").as_bytes()).unwrap_err(),
            "Report(NoHeader { line: 65537, within: 65536 })"
        );
        assert_eq!(header(b" \r\n\t\n").unwrap_err(), "Report(Empty)");
        assert_eq!(header(b"").unwrap_err(), "Report(Empty)");
        // Bare line ends of no end are refused once the first bytes are read.
        let mut endless = std::io::repeat(b'\n');
        let mut records = Records::new(Text::new(&mut endless, Guess::Utf8));
        assert!(matches!(
            records.header(),
            Err(Stop::Report(ReportError::NoHeader { .. }))
        ));
    }
}
