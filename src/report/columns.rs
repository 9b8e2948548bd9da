//! Finding a report's columns by header name. Vendors reorder columns, add new ones and
//! are inconsistent about case and spacing, so names are compared normalized.

use super::ReportError;

/// A header cell as compared: without spaces, in lower case
/// (`Abnormal LoginsNumWithin30Days` and `AccessKey1lastUsedDate` match their documented names).
pub fn normalize(header: &[u8]) -> String {
    String::from_utf8_lossy(header)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where each wanted column is in the header, in the order they were asked for.
/// Unknown columns are ignored; a wanted column that is missing or present twice refuses the report.
pub fn locate<'h, const N: usize>(
    header: impl IntoIterator<Item = &'h [u8]>,
    wanted: &[&'static str; N],
) -> Result<[usize; N], ReportError> {
    let names: Vec<String> = header.into_iter().map(normalize).collect();
    let mut positions = [0; N];
    for (slot, column) in wanted.iter().enumerate() {
        let key = normalize(column.as_bytes());
        let mut found = names.iter().enumerate().filter(|(_, name)| **name == key);
        positions[slot] = match (found.next(), found.next()) {
            (Some((index, _)), None) => index,
            (None, _) => return Err(ReportError::MissingColumn { column }),
            (Some(_), Some(_)) => return Err(ReportError::DuplicateColumn { column }),
        };
    }
    Ok(positions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(cells: &[&'a str]) -> Vec<&'a [u8]> {
        cells.iter().map(|cell| cell.as_bytes()).collect()
    }

    #[test]
    fn names_match_ignoring_case_and_spaces() {
        let found = locate(
            header(&[
                "extra",
                "abnormal loginsnumwithin30days",
                "ACCESSKEY1LASTUSEDDATE",
            ]),
            &["AccessKey1lastUsedDate", "Abnormal LoginsNumWithin30Days"],
        )
        .unwrap();
        assert_eq!(found, [2, 1]);
    }

    #[test]
    fn missing_column_is_named() {
        let error = locate(header(&["Username"]), &["Username", "MFADeviceActive"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 1 (the header): required column \"MFADeviceActive\" is missing"
        );
    }

    #[test]
    fn column_twice_is_refused() {
        let error = locate(header(&["Username", "user name"]), &["Username"]).unwrap_err();
        assert!(matches!(
            error,
            ReportError::DuplicateColumn { column: "Username" }
        ));
    }
}
