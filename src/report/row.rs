//! One data row as a provider reads it: typed cell readers (ids, flags, dates, words of a
//! vocabulary) that record every unreadable cell, with its line and column, as they go.

use super::cells::{parse_utc, LocalDates};
use super::columns::Column;
use super::records::Record;
use super::{CellError, ReadSummary};
use crate::model::{mask_key_id, Flag, KeyStatus, Time};

/// Longest account id, user name or key id taken; real ones are under 100 bytes.
const MAX_ID_BYTES: usize = 1024;

pub struct Row<'a, 's> {
    record: &'s Record<'a>,
    /// The header's cells as written, for errors.
    names: &'s [String],
    dates: &'s mut LocalDates,
    summary: &'s mut ReadSummary,
}

impl<'a, 's> Row<'a, 's> {
    pub(super) fn new(
        record: &'s Record<'a>,
        names: &'s [String],
        dates: &'s mut LocalDates,
        summary: &'s mut ReadSummary,
    ) -> Self {
        Row {
            record,
            names,
            dates,
            summary,
        }
    }

    /// The cell as written, without surrounding spaces.
    pub fn text(&self, column: Column) -> &'a str {
        self.record.get(column.0).trim_ascii()
    }

    fn cell(&self, column: Column) -> &'a [u8] {
        self.text(column).as_bytes()
    }

    /// Counts the cell as unreadable, and keeps the first few errors for the log.
    pub fn error(&mut self, column: Column, expected: &'static str) {
        self.error_showing(column, expected, shorten(self.text(column)));
    }

    fn error_showing(&mut self, column: Column, expected: &'static str, found: String) {
        self.summary.record_cell_error(CellError {
            line: self.record.line,
            column: self.names[column.0].clone(),
            expected,
            found,
        });
    }

    /// An id or name: required, and short enough to be a label value (a cell of megabytes
    /// is damage, not a name, and is voided).
    pub fn id(&mut self, column: Column) -> &'a str {
        self.checked_id(column, shorten)
    }

    /// A key id: like [`Row::id`], but an error shows it masked, since logs must never hold one whole.
    pub fn key_id(&mut self, column: Column) -> &'a str {
        self.checked_id(column, mask_key_id)
    }

    fn checked_id(&mut self, column: Column, show: fn(&str) -> String) -> &'a str {
        let cell = self.text(column);
        if cell.is_empty() {
            self.error_showing(column, "a non-empty value", String::new());
        }
        if cell.len() > MAX_ID_BYTES {
            self.error_showing(column, "an id of at most 1024 bytes", show(cell));
            return "";
        }
        cell
    }

    /// `TRUE`, `FALSE` (in any case), `N/A` or `not_supported`.
    pub fn flag(&mut self, column: Column) -> Flag {
        let flag = flag(self.cell(column));
        if flag == Flag::Unreadable {
            self.error(column, "TRUE, FALSE, N/A or not_supported");
        }
        flag
    }

    /// A key's or certificate's status from a boolean "active" cell (AWS, Alibaba);
    /// `Unknown` where the cell is not a boolean.
    pub fn active(&mut self, column: Column) -> KeyStatus {
        match self.flag(column) {
            Flag::True => KeyStatus::Active,
            Flag::False => KeyStatus::Disabled,
            _ => KeyStatus::Unknown,
        }
    }

    /// A word of the column's vocabulary, compared ignoring case, spaces, `-` and `_`
    /// (consoles write `WeWork-Sub-user`, their pages `WeWork Sub-user`).
    pub fn word<T: Copy>(
        &mut self,
        column: Column,
        vocabulary: &[(&str, T)],
        expected: &'static str,
    ) -> Option<T> {
        let cell = self.cell(column);
        // The vendor's own spelling first: a report holds hundreds of thousands of these.
        let found = (vocabulary.iter())
            .find(|(word, _)| word.as_bytes() == cell)
            .or_else(|| (vocabulary.iter()).find(|(word, _)| same_word(cell, word.as_bytes())));
        if found.is_none() {
            self.error(column, expected);
        }
        found.map(|&(_, value)| value)
    }

    /// A local date-time in the report's zone (Tencent's consoles), or `NONE` where the
    /// report says there is none: empty, `N/A`, `not_supported` or one of `absent`.
    pub fn local_date(&mut self, column: Column, absent: &[&str]) -> Time {
        let cell = self.cell(column);
        if is_absent(cell, absent) {
            return Time::NONE;
        }
        let parsed = self.dates.parse(cell);
        if parsed.is_none() {
            self.error(
                column,
                "a date like 2019/8/16 9:25:56, N/A or not_supported",
            );
        }
        Time::from(parsed)
    }

    /// An ISO 8601 date-time with its zone (`2024-05-06T07:08:09+00:00` or `…Z`), or `NONE`
    /// where the report says there is none: empty, `N/A`, `not_supported` or one of `absent`.
    pub fn utc_date(&mut self, column: Column, absent: &[&str]) -> Time {
        let cell = self.cell(column);
        if is_absent(cell, absent) {
            return Time::NONE;
        }
        let parsed = parse_utc(cell);
        if parsed.is_none() {
            self.error(
                column,
                "a date like 2024-05-06T07:08:09+00:00, N/A or not_supported",
            );
        }
        Time::from(parsed)
    }
}

/// A cell shortened for the log: a cell may be megabytes long.
fn shorten(text: &str) -> String {
    super::prefix(text, CELL_CHARS_SHOWN)
}

/// How much of a cell an error shows: enough to recognise a value.
const CELL_CHARS_SHOWN: usize = 64;

pub fn flag(cell: &[u8]) -> Flag {
    // The vendors' own spellings first: a report holds millions of these cells.
    match cell {
        b"TRUE" | b"true" => return Flag::True,
        b"FALSE" | b"false" => return Flag::False,
        b"N/A" => return Flag::NotApplicable,
        b"not_supported" => return Flag::NotSupported,
        _ => {}
    }
    if cell.eq_ignore_ascii_case(b"true") {
        Flag::True
    } else if cell.eq_ignore_ascii_case(b"false") {
        Flag::False
    } else if cell.eq_ignore_ascii_case(b"n/a") {
        Flag::NotApplicable
    } else if cell.eq_ignore_ascii_case(b"not_supported") {
        Flag::NotSupported
    } else {
        Flag::Unreadable
    }
}

/// The reports' ways of saying "nothing here", and a column's own (`absent`).
#[inline]
pub fn is_absent(cell: &[u8], absent: &[&str]) -> bool {
    // The vendors' own spellings first, and dates and ids, which start with a digit and
    // are never absent: a report holds millions of these cells.
    match cell {
        [] | b"N/A" | b"not_supported" => return true,
        [first, ..] if first.is_ascii_digit() => return false,
        _ => {}
    }
    cell.is_empty()
        || cell.eq_ignore_ascii_case(b"n/a")
        || cell.eq_ignore_ascii_case(b"not_supported")
        || absent
            .iter()
            .any(|word| cell.eq_ignore_ascii_case(word.as_bytes()))
}

/// Equal ignoring ASCII case and the separators ` `, `-` and `_`.
fn same_word(cell: &[u8], word: &[u8]) -> bool {
    fn letters(text: &[u8]) -> impl Iterator<Item = u8> + '_ {
        (text.iter())
            .filter(|b| !matches!(b, b' ' | b'-' | b'_'))
            .map(u8::to_ascii_lowercase)
    }
    cell.eq_ignore_ascii_case(word) || letters(cell).eq(letters(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_ignoring_case_and_separators() {
        assert!(same_word(b"WeWork Sub-user", b"WeWork-Sub-user"));
        assert!(same_word(b"message receiver", b"Message-receiver"));
        assert!(!same_word(b"Sub-user", b"WeWork-Sub-user"));
    }

    #[test]
    fn flags_read_both_cases() {
        assert_eq!(flag(b"TRUE"), Flag::True);
        assert_eq!(flag(b"true"), Flag::True);
        assert_eq!(flag(b"False"), Flag::False);
        assert_eq!(flag(b"n/a"), Flag::NotApplicable);
        assert_eq!(flag(b"yes"), Flag::Unreadable);
    }
}
