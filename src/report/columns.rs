//! Finding a report's columns by header name. Vendors reorder columns, add new ones and
//! are inconsistent about case and spacing, so names are compared normalized.

use super::{prefix, Provider, ReportError, QUOTED_CHARS};

/// A header cell as compared: without spaces, in lower case
/// (`Abnormal LoginsNumWithin30Days` and `AccessKey1lastUsedDate` match their documented
/// names, `Account ID` matches `AccountID`). Written into `out`, which is cleared first.
fn normalize_into(header: &str, out: &mut String) {
    out.clear();
    // Header cells and column names are ASCII nearly always; comparing a report's header
    // with every provider's columns normalizes a few hundred of them per file.
    if header.is_ascii() {
        let bytes = (header.bytes()).filter(|&byte| !char::from(byte).is_whitespace());
        out.extend(bytes.map(|byte| char::from(byte.to_ascii_lowercase())));
        return;
    }
    let chars = header
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}');
    out.extend(chars.flat_map(char::to_lowercase));
}

fn normalize(header: &str) -> String {
    let mut normalized = String::with_capacity(header.len());
    normalize_into(header, &mut normalized);
    normalized
}

/// Where a column is in the report's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column(pub(super) usize);

/// A report's header row: its cells as written and as compared, made once per file for
/// every provider's layout to ask.
#[derive(Debug)]
pub struct HeaderRow {
    /// The cells as written, without surrounding spaces, shortened to what an error may
    /// quote ([`QUOTED_CHARS`]): they are kept only for errors.
    names: Vec<String>,
    normalized: Vec<String>,
}

impl HeaderRow {
    pub fn new<'h>(cells: impl IntoIterator<Item = &'h str>) -> Self {
        let (names, normalized) = cells
            .into_iter()
            .map(|cell| cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}'))
            .map(|cell| (prefix(cell, QUOTED_CHARS), normalize(cell)))
            .unzip();
        HeaderRow { names, normalized }
    }

    /// The cells as written (shortened), for errors.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The first few cells, as an error shows them: at most [`QUOTED_CHARS`] characters
    /// of them in all.
    pub fn first_cells(&self) -> Vec<String> {
        let mut room = QUOTED_CHARS;
        let mut cells = Vec::new();
        for name in self.names.iter().take(4) {
            if room == 0 {
                break;
            }
            let cell = prefix(name, room);
            room = room.saturating_sub(name.chars().count());
            cells.push(cell);
        }
        cells
    }
}

/// No cells: what [`Header::noting_asked`] asks.
static NO_CELLS: HeaderRow = HeaderRow {
    names: Vec::new(),
    normalized: Vec::new(),
};

/// A report's header row, asked for columns by name. A provider's layout asks for every
/// column it reads, once; the header notes what it could not find, so that the same
/// layout code both reads a report and scores how well a header fits the provider.
pub struct Header<'r> {
    row: &'r HeaderRow,
    found: usize,
    /// Every column asked for, as the provider names it, in the order asked; kept only for
    /// [`Header::asked`].
    asked: Option<Vec<String>>,
    /// Of those, the required ones, for [`Header::asked_required`].
    asked_required: Vec<String>,
    /// The first fault met: a required column missing, or a column present twice.
    fault: Option<ReportError>,
    provider: Provider,
    /// The name asked for, normalized: kept for the next, so asking makes no string.
    wanted: String,
}

impl<'r> Header<'r> {
    pub fn new(row: &'r HeaderRow, provider: Provider) -> Self {
        Header {
            row,
            found: 0,
            asked: None,
            asked_required: Vec::new(),
            fault: None,
            provider,
            wanted: String::new(),
        }
    }

    /// A header that notes every column asked for, for [`Header::asked`].
    pub fn noting_asked(provider: Provider) -> Header<'static> {
        Header {
            asked: Some(Vec::new()),
            ..Header::new(&NO_CELLS, provider)
        }
    }

    /// A column the provider's reports always have; a report without it is refused.
    pub fn required(&mut self, name: &str) -> Column {
        if self.asked.is_some() {
            self.asked_required.push(name.to_owned());
        }
        self.optional(name).unwrap_or_else(|| {
            self.fault.get_or_insert(ReportError::MissingColumn {
                provider: self.provider,
                column: name.to_owned(),
            });
            Column(0)
        })
    }

    /// A column some of the provider's reports lack; the check it feeds is then absent.
    pub fn optional(&mut self, name: &str) -> Option<Column> {
        if let Some(asked) = &mut self.asked {
            asked.push(name.to_owned());
        }
        normalize_into(name, &mut self.wanted);
        let wanted = &self.wanted;
        let mut found =
            (self.row.normalized.iter().enumerate()).filter(|(_, cell)| *cell == wanted);
        match (found.next(), found.next()) {
            (Some((index, _)), None) => {
                self.found += 1;
                Some(Column(index))
            }
            (None, _) => None,
            (Some(_), Some(_)) => {
                self.fault.get_or_insert(ReportError::DuplicateColumn {
                    column: name.to_owned(),
                });
                None
            }
        }
    }

    /// How many of the columns asked for were found.
    pub fn found(&self) -> usize {
        self.found
    }

    /// Every column asked for, in the order asked (a provider asks in its documented
    /// order), by a header made [`Header::noting_asked`].
    pub fn asked(self) -> Vec<String> {
        self.asked.unwrap_or_default()
    }

    /// The required columns asked for, in the order asked, by a header made
    /// [`Header::noting_asked`].
    pub fn asked_required(self) -> Vec<String> {
        self.asked_required
    }

    /// The first fault met while the layout asked for its columns.
    pub fn finish(self) -> Result<(), ReportError> {
        match self.fault {
            Some(fault) => Err(fault),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_ignoring_case_and_spaces() {
        let row = HeaderRow::new([
            "extra",
            "abnormal loginsnumwithin30days",
            " ACCESSKEY1LASTUSEDDATE",
        ]);
        let mut header = Header::new(&row, Provider::default());
        assert_eq!(header.required("AccessKey1lastUsedDate"), Column(2));
        assert_eq!(
            header.optional("Abnormal LoginsNumWithin30Days"),
            Some(Column(1))
        );
        assert_eq!(header.found(), 2);
        assert_eq!(header.finish(), Ok(()));
        assert_eq!(row.names()[2], "ACCESSKEY1LASTUSEDDATE");
    }

    #[test]
    fn missing_column_is_named_with_its_provider() {
        let row = HeaderRow::new(["Username"]);
        let mut header = Header::new(&row, Provider::default());
        header.required("Username");
        header.required("MFADeviceActive");
        assert_eq!(header.optional("AccessKey1MayBeAtRisk"), None);
        assert_eq!(
            header.finish().unwrap_err().to_string(),
            format!("line 1 (the header): required column \"MFADeviceActive\" is missing from this {} report", Provider::default())
        );
    }

    #[test]
    fn column_twice_is_refused() {
        let row = HeaderRow::new(["Username", "user name"]);
        let mut header = Header::new(&row, Provider::default());
        header.required("Username");
        assert!(matches!(
            header.finish().unwrap_err(),
            ReportError::DuplicateColumn { column } if column == "Username"
        ));
    }
}
