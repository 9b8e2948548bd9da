//! Finding a report's columns by header name. Vendors reorder columns, add new ones and
//! are inconsistent about case and spacing, so names are compared normalized.

use super::{Provider, ReportError};

/// A header cell as compared: without spaces, in lower case
/// (`Abnormal LoginsNumWithin30Days` and `AccessKey1lastUsedDate` match their documented
/// names, `Account ID` matches `AccountID`).
pub fn normalize(header: &str) -> String {
    // Header cells and column names are ASCII nearly always; comparing a report's header
    // with every provider's columns normalizes a few hundred of them per file.
    if header.is_ascii() {
        let bytes = (header.bytes())
            .filter(|&byte| !char::from(byte).is_whitespace())
            .map(|byte| byte.to_ascii_lowercase())
            .collect();
        return String::from_utf8(bytes).expect("ASCII is UTF-8");
    }
    header
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a normalized header cell is `name`, normalized: compared as they go, with no
/// string made for the (ASCII) names providers ask for.
fn same_name(normalized_cell: &str, name: &str) -> bool {
    if !name.is_ascii() {
        return normalized_cell == normalize(name);
    }
    let name = (name.bytes())
        .filter(|&byte| !char::from(byte).is_whitespace())
        .map(|byte| byte.to_ascii_lowercase());
    normalized_cell.bytes().eq(name)
}

/// Where a column is in the report's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column(pub(super) usize);

/// A report's header row, asked for columns by name. A provider's layout asks for every
/// column it reads, once; the header notes what it could not find, so that the same
/// layout code both reads a report and scores how well a header fits the provider.
pub struct Header {
    /// The header cells as written, without surrounding spaces.
    names: Vec<String>,
    normalized: Vec<String>,
    found: usize,
    /// Every column asked for, as the provider names it, in the order asked; kept only for
    /// [`Header::asked`] (a report's header is asked for its columns several times a file).
    asked: Option<Vec<String>>,
    /// The first fault met: a required column missing, or a column present twice.
    fault: Option<ReportError>,
    provider: Provider,
}

impl Header {
    pub fn new<'h>(cells: impl IntoIterator<Item = &'h str>, provider: Provider) -> Self {
        let names: Vec<String> = cells
            .into_iter()
            .map(|cell| cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}'))
            .map(str::to_owned)
            .collect();
        let normalized = names.iter().map(|name| normalize(name)).collect();
        Header {
            names,
            normalized,
            found: 0,
            asked: None,
            fault: None,
            provider,
        }
    }

    /// A header that notes every column asked for, for [`Header::asked`].
    pub fn noting_asked(provider: Provider) -> Self {
        Header {
            asked: Some(Vec::new()),
            ..Header::new([], provider)
        }
    }

    /// A column the provider's reports always have; a report without it is refused.
    pub fn required(&mut self, name: &str) -> Column {
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
        let mut found =
            (self.normalized.iter().enumerate()).filter(|(_, cell)| same_name(cell, name));
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

    /// The first fault met while the layout asked for its columns.
    pub fn finish(self) -> Result<Vec<String>, ReportError> {
        match self.fault {
            Some(fault) => Err(fault),
            None => Ok(self.names),
        }
    }

    /// The first few cells, as an error shows them.
    pub fn first_cells(&self) -> Vec<String> {
        self.names.iter().take(4).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_ignoring_case_and_spaces() {
        let mut header = Header::new(
            [
                "extra",
                "abnormal loginsnumwithin30days",
                " ACCESSKEY1LASTUSEDDATE",
            ],
            Provider::TencentCam,
        );
        assert_eq!(header.required("AccessKey1lastUsedDate"), Column(2));
        assert_eq!(
            header.optional("Abnormal LoginsNumWithin30Days"),
            Some(Column(1))
        );
        assert_eq!(header.found(), 2);
        assert_eq!(header.finish().unwrap()[2], "ACCESSKEY1LASTUSEDDATE");
    }

    #[test]
    fn missing_column_is_named_with_its_provider() {
        let mut header = Header::new(["Username"], Provider::TencentCam);
        header.required("Username");
        header.required("MFADeviceActive");
        assert_eq!(header.optional("AccessKey1MayBeAtRisk"), None);
        assert_eq!(
            header.finish().unwrap_err().to_string(),
            "line 1 (the header): required column \"MFADeviceActive\" is missing from this tencent-cam report"
        );
    }

    #[test]
    fn column_twice_is_refused() {
        let mut header = Header::new(["Username", "user name"], Provider::TencentCam);
        header.required("Username");
        assert!(matches!(
            header.finish().unwrap_err(),
            ReportError::DuplicateColumn { column } if column == "Username"
        ));
    }
}
