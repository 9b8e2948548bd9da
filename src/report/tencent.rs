//! Tencent Cloud CAM user credential reports: their columns and their cell vocabulary.
//! The vendor's description is `shared/seeds/tencent-cam-credential-report.txt`.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::cells::{parse_count, parse_local_datetime};
use super::{
    columns, csv_error, quote_left_open, CellError, ReadOptions, ReadSummary, ReportError,
};
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
/// Key slot `n` (1 or 2) has its seven columns from `KEY_BASE[n - 1]` on, in the order
/// SecretId, MayBeAtRisk, CreationTime, Status, lastUsedDate, CreatedOver90Days, CreatedOver30Days.
const KEY_BASE: [usize; 2] = [11, 18];

pub fn read(
    text: &[u8],
    options: &ReadOptions,
    mut sink: impl FnMut(User),
) -> Result<ReadSummary, ReportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(text);
    let mut record = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut record).map_err(csv_error)? {
        return Err(ReportError::Empty);
    }
    let positions = columns::locate(&record, &COLUMNS)?;
    let mut summary = ReadSummary::default();
    let mut last_record_start = 0;
    loop {
        let start = reader.position().byte() as usize;
        if !reader.read_byte_record(&mut record).map_err(csv_error)? {
            break;
        }
        last_record_start = start;
        let line = record.position().map_or(0, csv::Position::line);
        let mut row = Row {
            record: &record,
            positions: &positions,
            line,
            zone: &options.timezone,
            summary: &mut summary,
        };
        let user = row.user();
        summary.rows += 1;
        sink(user);
    }
    if summary.rows > 0 && quote_left_open(&text[last_record_start..]) {
        let line = line_of(text, last_record_start);
        return Err(ReportError::UnterminatedQuote { line });
    }
    Ok(summary)
}

fn line_of(text: &[u8], offset: usize) -> u64 {
    text[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

/// One data row being read; every cell error is recorded in the summary as it is met.
struct Row<'a> {
    record: &'a csv::ByteRecord,
    positions: &'a [usize; 25],
    line: u64,
    zone: &'a TimeZone,
    summary: &'a mut ReadSummary,
}

impl<'a> Row<'a> {
    fn user(&mut self) -> User {
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
            keys: (1..=2).filter_map(|slot| self.key(slot)).collect(),
        }
    }

    fn cell(&self, column: usize) -> &'a [u8] {
        let record: &'a csv::ByteRecord = self.record;
        let cell = record.get(self.positions[column]).unwrap_or_default();
        cell.trim_ascii()
    }

    fn error(&mut self, column: usize, expected: &'static str) {
        let error = CellError::new(self.line, COLUMNS[column], expected, self.cell(column));
        self.summary.record_cell_error(error);
    }

    fn id(&mut self, column: usize) -> String {
        let cell = self.cell(column);
        if cell.is_empty() {
            self.error(column, "a non-empty value");
        }
        // The text was decoded to UTF-8 before it was split into cells.
        String::from_utf8_lossy(cell).into_owned()
    }

    fn user_type(&mut self) -> UserType {
        match self.cell(USER_TYPE).to_ascii_lowercase().as_slice() {
            b"sub-user" => UserType::SubUser,
            b"collaborator" => UserType::Collaborator,
            b"wework-sub-user" => UserType::WeComSubUser,
            b"message-receiver" => UserType::MessageReceiver,
            _ => {
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
        let parsed = parse_local_datetime(cell, self.zone);
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

    fn key(&mut self, slot: u8) -> Option<AccessKey> {
        let base = KEY_BASE[usize::from(slot) - 1];
        let secret_id = self.cell(base);
        if is_absent(secret_id) {
            return None;
        }
        let secret_id = String::from_utf8_lossy(secret_id).into_owned();
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
