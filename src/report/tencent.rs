//! Tencent Cloud CAM user credential reports: their columns and their cell vocabulary.
//! The vendor's description is `shared/seeds/tencent-cam-credential-report.txt`.

use jiff::Timestamp;

use super::cells::{parse_count, LocalDates};
use super::records::Records;
use super::{columns, quote_left_open, CellError, ReadOptions, ReadSummary, ReportError};
use crate::model::{AccessKey, Flag, KeyStatus, User, UserType};

/// Every column the exporter reads, as the vendor documents it. All are required: a
/// report without one of them is refused rather than read with silent gaps.
const COLUMNS: [&str; 25] = [
    "AccountID",
    "Username",
    "UserType",
    "CreationTime",
    "PasswordEnabled",
    "PasswordLastRotation",
    "LoginConsoleActive",
    "LoginProtectionActive",
    "OperationProtectionActive",
    "MFADeviceActive",
    "Abnormal LoginsNumWithin30Days",
    "AccessKey1SecretId",
    "AccessKey1MayBeAtRisk",
    "AccessKey1CreationTime",
    "AccessKey1Status",
    "AccessKey1lastUsedDate",
    "AccessKey1CreatedOver90Days",
    "AccessKey1CreatedOver30Days",
    "AccessKey2SecretId",
    "AccessKey2MayBeAtRisk",
    "AccessKey2CreationTime",
    "AccessKey2Status",
    "AccessKey2lastUsedDate",
    "AccessKey2CreatedOver90Days",
    "AccessKey2CreatedOver30Days",
];

// Indices into COLUMNS.
const ACCOUNT_ID: usize = 0;
const USERNAME: usize = 1;
const USER_TYPE: usize = 2;
const CREATION_TIME: usize = 3;
const PASSWORD_ENABLED: usize = 4;
const PASSWORD_LAST_ROTATION: usize = 5;
const LOGIN_CONSOLE_ACTIVE: usize = 6;
const LOGIN_PROTECTION_ACTIVE: usize = 7;
const OPERATION_PROTECTION_ACTIVE: usize = 8;
const MFA_DEVICE_ACTIVE: usize = 9;
const ABNORMAL_LOGINS: usize = 10;
/// Longest account id, user name or SecretId taken; real ones are under 100 bytes.
const MAX_ID_BYTES: usize = 1024;
/// Key slot `n` (1 or 2) has its seven columns from `KEY_BASE[n - 1]` on, in the order
/// SecretId, MayBeAtRisk, CreationTime, Status, lastUsedDate, CreatedOver90Days, CreatedOver30Days.
const KEY_BASE: [usize; 2] = [11, 18];

pub fn read(
    text: &str,
    options: &ReadOptions,
    mut sink: impl FnMut(&User<'_>),
) -> Result<ReadSummary, ReportError> {
    let mut records = Records::new(text);
    let header = records.next_record().ok_or(ReportError::Empty)?;
    let positions = columns::locate(header.iter().map(str::as_bytes), &COLUMNS)?;
    let fields = header.len();
    // Which of COLUMNS each field of a row is, if any: rows are walked front to back once.
    let mut slot_of_field = vec![None; fields];
    for (slot, &position) in positions.iter().enumerate() {
        slot_of_field[position] = Some(slot);
    }
    let mut summary = ReadSummary::default();
    let mut dates = LocalDates::new(options.timezone.clone());
    let mut last_record_start = 0;
    while let Some(record) = records.next_record() {
        let line = record.line;
        if record.len() != fields {
            // A quote opened and never closed swallows the rest of the file into one
            // field, which then looks like a short row; name the real fault.
            return Err(match quote_left_open(&text.as_bytes()[record.start..]) {
                true => ReportError::UnterminatedQuote { line },
                false => ReportError::RaggedRow {
                    line,
                    expected: fields as u64,
                    found: record.len() as u64,
                },
            });
        }
        last_record_start = record.start;
        let mut row = Row {
            cells: [""; 25],
            line,
            dates: &mut dates,
            summary: &mut summary,
        };
        for (field, slot) in record.iter().zip(&slot_of_field) {
            if let Some(slot) = *slot {
                row.cells[slot] = field.trim_ascii();
            }
        }
        let user = row.user();
        summary.rows += 1;
        sink(&user);
    }
    // Every account has users to report; a header alone is a write cut off early.
    if summary.rows == 0 {
        return Err(ReportError::NoUsers);
    }
    if quote_left_open(&text.as_bytes()[last_record_start..]) {
        let line = line_of(text.as_bytes(), last_record_start);
        return Err(ReportError::UnterminatedQuote { line });
    }
    Ok(summary)
}

fn line_of(text: &[u8], offset: usize) -> u64 {
    text[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

/// One data row being read; every cell error is recorded in the summary as it is met.
struct Row<'a, 's> {
    /// The row's cells in the order of [`COLUMNS`], without surrounding spaces.
    cells: [&'a str; 25],
    line: u64,
    dates: &'s mut LocalDates,
    summary: &'s mut ReadSummary,
}

impl<'a> Row<'a, '_> {
    fn user(&mut self) -> User<'a> {
        User {
            account_id: self.id(ACCOUNT_ID),
            username: self.id(USERNAME),
            user_type: self.user_type(),
            created: self.date(CREATION_TIME, &[]),
            password_enabled: self.flag(PASSWORD_ENABLED),
            // FALSE here means "no password set", not a date.
            password_last_rotated: self.date(PASSWORD_LAST_ROTATION, &[b"false"]),
            console_login: self.flag(LOGIN_CONSOLE_ACTIVE),
            login_protection: self.flag(LOGIN_PROTECTION_ACTIVE),
            operation_protection: self.flag(OPERATION_PROTECTION_ACTIVE),
            mfa: self.flag(MFA_DEVICE_ACTIVE),
            abnormal_logins: self.abnormal_logins(),
            key_slots: [self.key(1), self.key(2)],
        }
    }

    fn cell(&self, column: usize) -> &'a [u8] {
        self.cells[column].as_bytes()
    }

    fn error(&mut self, column: usize, expected: &'static str) {
        let error = CellError::new(self.line, COLUMNS[column], expected, self.cell(column));
        self.summary.record_cell_error(error);
    }

    fn id(&mut self, column: usize) -> &'a str {
        let cell = self.cells[column];
        if cell.is_empty() {
            self.error(column, "a non-empty value");
        }
        // Ids become label values; a cell of megabytes is damage, not a name.
        if cell.len() > MAX_ID_BYTES {
            self.error(column, "an id of at most 1024 bytes");
            return "";
        }
        cell
    }

    fn user_type(&mut self) -> UserType {
        const NAMES: [(&[u8], UserType); 4] = [
            (b"sub-user", UserType::SubUser),
            (b"collaborator", UserType::Collaborator),
            (b"wework-sub-user", UserType::WeComSubUser),
            (b"message-receiver", UserType::MessageReceiver),
        ];
        let cell = self.cell(USER_TYPE);
        match NAMES
            .iter()
            .find(|(name, _)| cell.eq_ignore_ascii_case(name))
        {
            Some(&(_, user_type)) => user_type,
            None => {
                self.error(
                    USER_TYPE,
                    "Sub-user, Collaborator, WeWork-Sub-user or Message-receiver",
                );
                UserType::Unknown
            }
        }
    }

    fn flag(&mut self, column: usize) -> Flag {
        let flag = flag(self.cell(column));
        if flag == Flag::Unreadable {
            self.error(column, "TRUE, FALSE, N/A or not_supported");
        }
        flag
    }

    /// A date-time, or `None` where the report says there is none (`N/A`, `not_supported`,
    /// empty, or one of the column's own `absent` words).
    fn date(&mut self, column: usize, absent: &[&[u8]]) -> Option<Timestamp> {
        let cell = self.cell(column);
        if is_absent(cell) || absent.iter().any(|word| cell.eq_ignore_ascii_case(word)) {
            return None;
        }
        let parsed = self.dates.parse(cell);
        if parsed.is_none() {
            self.error(
                column,
                "a date like 2019/8/16 9:25:56, N/A or not_supported",
            );
        }
        parsed
    }

    /// The vendor documents TRUE/FALSE, but some reports carry a count of logins.
    fn abnormal_logins(&mut self) -> Flag {
        let cell = self.cell(ABNORMAL_LOGINS);
        match parse_count(cell) {
            Some(0) => Flag::False,
            Some(_) => Flag::True,
            None => {
                let flag = flag(cell);
                if flag == Flag::Unreadable {
                    self.error(ABNORMAL_LOGINS, "TRUE, FALSE or a count of logins");
                }
                flag
            }
        }
    }

    fn key(&mut self, slot: u8) -> Option<AccessKey<'a>> {
        let base = KEY_BASE[usize::from(slot) - 1];
        let secret_id = self.cell(base);
        if is_absent(secret_id) {
            return None;
        }
        let secret_id = self.id(base);
        Some(AccessKey {
            slot,
            secret_id,
            at_risk: self.flag(base + 1),
            created: self.date(base + 2, &[]),
            status: self.key_status(base + 3),
            // A key that exists but was never used has no date here.
            last_used: self.date(base + 4, &[b"-", b"never"]),
            created_over_90_days: self.flag(base + 5),
            created_over_30_days: self.flag(base + 6),
        })
    }

    fn key_status(&mut self, column: usize) -> Option<KeyStatus> {
        let cell = self.cell(column);
        if cell.eq_ignore_ascii_case(b"active") {
            Some(KeyStatus::Active)
        } else if cell.eq_ignore_ascii_case(b"disable") || cell.eq_ignore_ascii_case(b"disabled") {
            Some(KeyStatus::Disabled)
        } else {
            self.error(column, "Active or Disable");
            None
        }
    }
}

fn flag(cell: &[u8]) -> Flag {
    // The vendor's own spelling first: a report holds millions of these cells.
    match cell {
        b"TRUE" => return Flag::True,
        b"FALSE" => return Flag::False,
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

/// The report's ways of saying "nothing here".
fn is_absent(cell: &[u8]) -> bool {
    cell.is_empty()
        || cell.eq_ignore_ascii_case(b"n/a")
        || cell.eq_ignore_ascii_case(b"not_supported")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserTable;
    use crate::report::{read as read_report, ReportError};

    const HEADER: &str = "AccountID,Username,UserType,CreationTime,PasswordEnabled,PasswordLastRotation,LoginConsoleActive,LoginProtectionActive,OperationProtectionActive,MFADeviceActive,Abnormal LoginsNumWithin30Days,AccessKey1SecretId,AccessKey1MayBeAtRisk,AccessKey1CreationTime,AccessKey1Status,AccessKey1lastUsedDate,AccessKey1CreatedOver90Days,AccessKey1CreatedOver30Days,AccessKey2SecretId,AccessKey2MayBeAtRisk,AccessKey2CreationTime,AccessKey2Status,AccessKey2lastUsedDate,AccessKey2CreatedOver90Days,AccessKey2CreatedOver30Days";
    const NO_KEY: &str = "N/A,N/A,N/A,N/A,N/A,N/A,N/A";

    fn options() -> ReadOptions {
        ReadOptions {
            timezone: jiff::tz::TimeZone::get("Asia/Shanghai").unwrap(),
        }
    }

    fn read_text(text: &str) -> Result<(Vec<User<'static>>, ReadSummary), ReportError> {
        let mut table = UserTable::new();
        let summary = read_report(text.as_bytes(), &options(), |u| table.push(u))?;
        // Users borrow their text; a test may keep them as long as it likes.
        let table: &'static UserTable = Box::leak(Box::new(table));
        Ok((table.iter().collect(), summary))
    }

    fn one_user(row: &str) -> (User<'static>, ReadSummary) {
        let (mut users, summary) = read_text(&format!("{HEADER}\n{row}\n")).unwrap();
        assert_eq!(users.len(), 1);
        (users.remove(0), summary)
    }

    #[test]
    fn sub_user_with_two_keys_reads_every_field() {
        let (user, summary) = one_user(
            "1001,alice,Sub-user,2019/8/16 9:25:56,TRUE,2020/1/2 3:04:05,TRUE,FALSE,TRUE,FALSE,TRUE,\
             AKIDaaaa1111,TRUE,2019/8/16 10:00:00,Active,2024/5/6 7:08:09,TRUE,TRUE,\
             AKIDbbbb2222,FALSE,2024-11-01 08:00:00,Disable,N/A,FALSE,FALSE",
        );
        assert_eq!(summary.cell_errors, 0, "{:?}", summary.first_cell_errors);
        assert_eq!(user.account_id, "1001");
        assert_eq!(user.username, "alice");
        assert_eq!(user.user_type, UserType::SubUser);
        assert_eq!(user.created.unwrap().to_string(), "2019-08-16T01:25:56Z");
        assert_eq!(user.password_enabled, Flag::True);
        assert_eq!(
            user.password_last_rotated.unwrap().to_string(),
            "2020-01-01T19:04:05Z"
        );
        assert_eq!(user.console_login, Flag::True);
        assert_eq!(user.login_protection, Flag::False);
        assert_eq!(user.operation_protection, Flag::True);
        assert_eq!(user.mfa, Flag::False);
        assert_eq!(user.abnormal_logins, Flag::True);
        assert!(user.has_console_without_mfa());
        let [Some(first), Some(second)] = user.key_slots else {
            panic!("two keys expected")
        };
        assert_eq!((first.slot, first.secret_id), (1, "AKIDaaaa1111"));
        assert_eq!(first.status, Some(KeyStatus::Active));
        assert!(first.is_at_risk());
        assert_eq!(first.last_used.unwrap().to_string(), "2024-05-05T23:08:09Z");
        assert_eq!(first.created_over_90_days, Flag::True);
        assert_eq!((second.slot, second.status), (2, Some(KeyStatus::Disabled)));
        assert!(second.is_never_used());
        assert_eq!(second.created.unwrap().to_string(), "2024-11-01T00:00:00Z");
        assert_eq!(user.active_keys(), 1);
    }

    #[test]
    fn message_receiver_has_no_keys() {
        let ns = "not_supported";
        let row = format!(
            "1002,pager,Message-receiver,2023/8/8 8:08:08,{ns},{ns},{ns},{ns},{ns},{ns},FALSE,{}",
            [ns; 14].join(",")
        );
        let (user, summary) = one_user(&row);
        assert_eq!(summary.cell_errors, 0, "{:?}", summary.first_cell_errors);
        assert_eq!(user.user_type, UserType::MessageReceiver);
        assert_eq!(user.mfa, Flag::NotSupported);
        assert_eq!(user.password_last_rotated, None);
        assert_eq!(user.keys().count(), 0);
    }

    #[test]
    fn user_types_map_to_their_labels() {
        for (cell, label) in [
            ("Sub-user", "sub_user"),
            ("Collaborator", "collaborator"),
            ("WeWork-Sub-user", "wecom_sub_user"),
            ("Message-receiver", "message_receiver"),
        ] {
            let (user, _) = one_user(&format!("1,u,{cell},2020/1/1 0:00:00,TRUE,FALSE,TRUE,TRUE,TRUE,TRUE,FALSE,{NO_KEY},{NO_KEY}"));
            assert_eq!(user.user_type.label(), label);
        }
    }

    #[test]
    fn password_never_set_is_false_not_a_date() {
        let (user, summary) = one_user(&format!("1,u,Sub-user,2020/1/1 0:00:00,FALSE,FALSE,FALSE,FALSE,FALSE,FALSE,FALSE,{NO_KEY},{NO_KEY}"));
        assert_eq!(summary.cell_errors, 0);
        assert_eq!(user.password_enabled, Flag::False);
        assert_eq!(user.password_last_rotated, None);
    }

    #[test]
    fn abnormal_logins_accept_a_count() {
        for (cell, expected) in [
            ("0", Flag::False),
            ("3", Flag::True),
            ("TRUE", Flag::True),
            ("false", Flag::False),
        ] {
            let (user, summary) = one_user(&format!("1,u,Sub-user,2020/1/1 0:00:00,TRUE,FALSE,TRUE,TRUE,TRUE,TRUE,{cell},{NO_KEY},{NO_KEY}"));
            assert_eq!(
                (user.abnormal_logins, summary.cell_errors),
                (expected, 0),
                "cell {cell:?}"
            );
        }
    }

    #[test]
    fn unknown_values_void_only_their_cell() {
        let (user, summary) = one_user(
            "1,u,Robot,someday,maybe,FALSE,TRUE,TRUE,TRUE,yes,-1,\
             AKIDcccc3333,FALSE,2020/1/1 0:00:00,Paused,2020/1/2 0:00:00,FALSE,FALSE,N/A,N/A,N/A,N/A,N/A,N/A,N/A",
        );
        assert_eq!(user.user_type, UserType::Unknown);
        assert_eq!(user.created, None);
        assert_eq!(user.password_enabled, Flag::Unreadable);
        assert_eq!(user.mfa, Flag::Unreadable);
        assert_eq!(user.abnormal_logins, Flag::Unreadable);
        assert_eq!(user.key_slots[0].unwrap().status, None);
        assert_eq!(user.console_login, Flag::True, "readable cells are kept");
        assert_eq!(summary.cell_errors, 6);
        let columns: Vec<_> = summary.first_cell_errors.iter().map(|e| e.column).collect();
        assert_eq!(
            columns,
            [
                "UserType",
                "CreationTime",
                "PasswordEnabled",
                "MFADeviceActive",
                "Abnormal LoginsNumWithin30Days",
                "AccessKey1Status"
            ]
        );
        assert_eq!(
            summary.first_cell_errors[3].to_string(),
            "line 2, column MFADeviceActive: expected TRUE, FALSE, N/A or not_supported, found \"yes\""
        );
    }

    #[test]
    fn reordered_columns_with_extras_read_the_same() {
        let row = format!(
            "1,u,Sub-user,2020/1/1 0:00:00,TRUE,FALSE,TRUE,TRUE,TRUE,FALSE,FALSE,{NO_KEY},{NO_KEY}"
        );
        let (plain, _) = one_user(&row);
        let header: Vec<&str> = HEADER.split(',').collect();
        let cells: Vec<&str> = row.split(',').collect();
        let order: Vec<usize> = (0..header.len()).rev().collect();
        let shuffled_header: Vec<String> = order
            .iter()
            .map(|&i| header[i].to_uppercase())
            .chain(["Notes".into()])
            .collect();
        let shuffled_row: Vec<&str> = order.iter().map(|&i| cells[i]).chain(["extra"]).collect();
        let text = format!(
            "{}\n{}\n",
            shuffled_header.join(","),
            shuffled_row.join(",")
        );
        let (users, summary) = read_text(&text).unwrap();
        assert_eq!(summary.cell_errors, 0);
        assert_eq!(users, vec![plain]);
    }

    #[test]
    fn quoted_names_with_commas_and_crlf_and_bom_parse() {
        let text = format!(
            "\u{feff}{HEADER}\r\n1,\"Zhang, Wei \"\"DBA\"\"\",Sub-user,2020-01-01 00:00:00,TRUE,FALSE,TRUE,TRUE,TRUE,TRUE,FALSE,{NO_KEY},{NO_KEY}\r\n"
        );
        let (users, summary) = read_text(&text).unwrap();
        assert_eq!(summary.cell_errors, 0);
        assert_eq!(users[0].username, "Zhang, Wei \"DBA\"");
    }

    #[test]
    fn structural_faults_refuse_the_file() {
        assert_eq!(read_text("").unwrap_err(), ReportError::Empty);
        assert_eq!(read_text("\n\n").unwrap_err(), ReportError::Empty);
        assert_eq!(
            read_text("AccountID,Username\n1,u\n").unwrap_err(),
            ReportError::MissingColumn { column: "UserType" }
        );
        let ragged = format!("{HEADER}\n1,u,Sub-user\n");
        assert_eq!(
            read_text(&ragged).unwrap_err(),
            ReportError::RaggedRow {
                line: 2,
                expected: 25,
                found: 3
            }
        );
        let cut_in_quotes = format!("{HEADER}\n1,\"half a na");
        assert_eq!(
            read_text(&cut_in_quotes).unwrap_err(),
            ReportError::UnterminatedQuote { line: 2 }
        );
        let open_last_field = format!("{HEADER}\n1,u,Sub-user,2020/1/1 0:00:00,TRUE,FALSE,TRUE,TRUE,TRUE,TRUE,FALSE,{NO_KEY},N/A,N/A,N/A,N/A,N/A,N/A,\"N/A\n");
        assert_eq!(
            read_text(&open_last_field).unwrap_err(),
            ReportError::UnterminatedQuote { line: 2 }
        );
    }

    #[test]
    fn header_only_is_refused() {
        assert_eq!(
            read_text(&format!("{HEADER}\n")).unwrap_err(),
            ReportError::NoUsers
        );
    }

    #[test]
    fn megabyte_names_are_voided() {
        let long = "x".repeat(2 << 20);
        let (user, summary) = one_user(&format!("1,{long},Sub-user,2020/1/1 0:00:00,TRUE,FALSE,TRUE,TRUE,TRUE,TRUE,FALSE,{NO_KEY},{NO_KEY}"));
        assert_eq!(user.username, "");
        assert_eq!(summary.cell_errors, 1);
        assert!(summary.first_cell_errors[0].found.chars().count() <= 65);
    }
}
