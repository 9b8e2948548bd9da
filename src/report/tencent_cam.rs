//! Tencent Cloud CAM user credential reports: their columns and their cell vocabulary.
//! The vendor's description of each column is quoted in `docs/providers/tencent-cam.md`.

use std::fmt::Write as _;

use jiff::civil::DateTime;

use super::cells::parse_count;
use super::columns::{Column, Header};
use super::format::{self, ReportFormat};
use super::generate::{Console, Spec, Writer, FIRST_CREATION, REPORT_TIME};
use super::row::{flag, Row};
use super::{Coverage, Provider};
use crate::model::{
    AccessKey, Flag, KeyFacts, KeyStatus, Over, Time, User, UserFacts, UserType, DAY,
};

pub struct TencentCam;

pub struct Layout {
    account_id: Column,
    username: Column,
    user_type: Column,
    creation_time: Column,
    password_enabled: Column,
    password_last_rotation: Column,
    login_console_active: Column,
    login_protection_active: Column,
    operation_protection_active: Column,
    mfa_device_active: Column,
    /// No API gives it, so reports rebuilt from the API (the fetcher's) lack it.
    abnormal_logins: Option<Column>,
    keys: [KeyLayout; 2],
}

struct KeyLayout {
    secret_id: Column,
    /// Lacking, like abnormal logins, in reports rebuilt from the API.
    may_be_at_risk: Option<Column>,
    creation_time: Column,
    status: Column,
    last_used_date: Column,
    created_over_90_days: Column,
    created_over_30_days: Column,
}

const USER_TYPES: [(&str, UserType); 4] = [
    ("Sub-user", UserType::SubUser),
    ("Collaborator", UserType::Collaborator),
    ("WeWork-Sub-user", UserType::WeComSubUser),
    ("Message-receiver", UserType::MessageReceiver),
];

/// `Disable` in the report, `Inactive` in the API and the console's pages.
const KEY_STATUSES: [(&str, KeyStatus); 4] = [
    ("Active", KeyStatus::Active),
    ("Disable", KeyStatus::Disabled),
    ("Disabled", KeyStatus::Disabled),
    ("Inactive", KeyStatus::Disabled),
];

impl ReportFormat for TencentCam {
    const PROVIDER: Provider = Provider::TencentCam;
    /// CIS publishes no Tencent Cloud benchmark.
    const CIS_CONTROLS: &'static [(&'static str, &'static str)] = &[];
    type Layout = Layout;

    fn layout(header: &mut Header<'_>) -> Layout {
        Layout {
            account_id: header.required("AccountID"),
            username: header.required("Username"),
            user_type: header.required("UserType"),
            creation_time: header.required("CreationTime"),
            password_enabled: header.required("PasswordEnabled"),
            password_last_rotation: header.required("PasswordLastRotation"),
            login_console_active: header.required("LoginConsoleActive"),
            login_protection_active: header.required("LoginProtectionActive"),
            operation_protection_active: header.required("OperationProtectionActive"),
            mfa_device_active: header.required("MFADeviceActive"),
            abnormal_logins: header.optional("Abnormal LoginsNumWithin30Days"),
            keys: [1, 2].map(|n| KeyLayout {
                secret_id: header.required(&format!("AccessKey{n}SecretId")),
                may_be_at_risk: header.optional(&format!("AccessKey{n}MayBeAtRisk")),
                creation_time: header.required(&format!("AccessKey{n}CreationTime")),
                status: header.required(&format!("AccessKey{n}Status")),
                last_used_date: header.required(&format!("AccessKey{n}lastUsedDate")),
                created_over_90_days: header.required(&format!("AccessKey{n}CreatedOver90Days")),
                created_over_30_days: header.required(&format!("AccessKey{n}CreatedOver30Days")),
            }),
        }
    }

    fn coverage(layout: &Layout) -> Coverage {
        Coverage {
            keys_at_risk: layout.keys.iter().all(|key| key.may_be_at_risk.is_some()),
            login_protection: true,
            operation_protection: true,
            abnormal_logins: layout.abnormal_logins.is_some(),
            ..Coverage::default()
        }
    }

    fn user<'a>(layout: &Layout, row: &mut Row<'a, '_>, _generated: Time) -> User<'a> {
        let [first, second] = &layout.keys;
        User {
            account_id: row.id(layout.account_id),
            username: row.id(layout.username),
            facts: UserFacts {
                user_type: row
                    .word(
                        layout.user_type,
                        &USER_TYPES,
                        "Sub-user, Collaborator, WeWork-Sub-user or Message-receiver",
                    )
                    .unwrap_or(UserType::Unknown),
                created: row.local_date(layout.creation_time, &[]),
                password_enabled: row.flag(layout.password_enabled),
                // FALSE here means "no password set", not a date.
                password_last_rotated: row.local_date(layout.password_last_rotation, &["false"]),
                password_last_used: Time::NONE,
                console_login: row.flag(layout.login_console_active),
                login_protection: row.flag(layout.login_protection_active),
                operation_protection: row.flag(layout.operation_protection_active),
                mfa: row.flag(layout.mfa_device_active),
                abnormal_logins: match layout.abnormal_logins {
                    Some(column) => abnormal_logins(row, column),
                    None => Flag::NotSupported,
                },
                signing_certificates: [None; 2],
            },
            key_slots: [key(row, 1, first), key(row, 2, second), None, None, None],
        }
    }

    /// Both consoles' forms, alternating by file ([`Console::of_file`]): the international
    /// console's `2019/8/16 9:25:56`, the Chinese one's `2019-08-16 09:25:56` with a
    /// byte-order mark and login counts.
    fn generated_report(spec: &Spec, index: usize) -> Vec<u8> {
        let mut writer = Writer::new(spec, index, 220);
        let console = Console::of_file(index);
        if console == Console::Chinese {
            writer.out.push('\u{feff}');
        }
        writer
            .out
            .push_str(&format::columns::<TencentCam>().join(","));
        writer.out.push('\n');
        // Sub-account UINs are 12-digit numbers, handed out in rising order within an account.
        let mut uin = 100_000_000_000 + writer.rng.below(800_000_000_000);
        for row in 0..spec.users_in_file(index) {
            uin += 1 + writer.rng.below(50);
            let mut user = UserRow {
                writer: &mut writer,
                console,
            };
            user.write(uin, row);
        }
        writer.out.into_bytes()
    }
}

/// The vendor documents TRUE/FALSE, but some reports carry a count of logins.
fn abnormal_logins(row: &mut Row<'_, '_>, column: Column) -> Flag {
    let cell = row.text(column).as_bytes();
    match parse_count(cell) {
        Some(0) => Flag::False,
        Some(_) => Flag::True,
        None => {
            let flag = flag(cell);
            if flag == Flag::Unreadable {
                row.error(column, "TRUE, FALSE or a count of logins");
            }
            flag
        }
    }
}

fn key<'a>(row: &mut Row<'a, '_>, slot: u8, layout: &KeyLayout) -> Option<AccessKey<'a>> {
    // A slot holding N/A (or not_supported, for message receivers) is no key at all.
    if super::row::is_absent(row.text(layout.secret_id).as_bytes(), &[]) {
        return None;
    }
    Some(AccessKey {
        id: row.key_id(layout.secret_id),
        last_used_region: "",
        last_used_service: "",
        facts: KeyFacts {
            slot,
            at_risk: match layout.may_be_at_risk {
                Some(column) => row.flag(column),
                None => Flag::NotSupported,
            },
            created: row.local_date(layout.creation_time, &[]),
            status: row
                .word(layout.status, &KEY_STATUSES, "Active, Disable or Inactive")
                .unwrap_or(KeyStatus::Unknown),
            // A key that exists but was never used has no date here.
            last_used: row.local_date(layout.last_used_date, &["-", "never"]),
            // A key whose creation time cannot be read is over 90 (or 30) days by these.
            created_over_90_days: row.flag(layout.created_over_90_days),
            created_over_30_days: row.flag(layout.created_over_30_days),
        },
    })
}

/// One user's row of a generated report, in the date form of the file's console.
struct UserRow<'a> {
    writer: &'a mut Writer,
    console: Console,
}

impl UserRow<'_> {
    fn write(&mut self, uin: u64, row: usize) {
        let user_type = self.writer.rng.pick(&[
            (80, "Sub-user"),
            (8, "Collaborator"),
            (7, "WeWork-Sub-user"),
            (5, "Message-receiver"),
        ]);
        let created = self.moment_between(FIRST_CREATION, REPORT_TIME);
        let _ = write!(self.writer.out, "{uin},");
        self.username(row);
        self.writer.out.push_str(user_type);
        self.writer.out.push(',');
        self.date(created);
        self.writer.out.push(',');
        let ns = "not_supported";
        match user_type {
            "Sub-user" => {
                let password = self.writer.rng.chance(75);
                self.cell(if password { "TRUE" } else { "FALSE" });
                match password {
                    true => {
                        let rotated = self.moment_between(created, REPORT_TIME);
                        self.date(rotated);
                        self.writer.out.push(',');
                        let console = self.writer.rng.chance(95);
                        self.cell(if console { "TRUE" } else { "FALSE" });
                    }
                    // No password: no rotation date and no console access.
                    false => self.cells(&["FALSE", "FALSE"]),
                }
                self.flag(60);
                self.flag(50);
                // not_supported: no mobile number or WeChat bound for MFA.
                let mfa = self
                    .writer
                    .rng
                    .pick(&[(50, "TRUE"), (40, "FALSE"), (10, ns)]);
                self.cell(mfa);
                self.abnormal_logins();
                let keys = self.writer.rng.pick(&[(40, 0), (45, 1), (15, 2)]);
                self.keys(created, keys);
            }
            "Collaborator" => {
                // Collaborators log in as their own root account.
                self.cells(&[ns, ns, ns]);
                self.flag(70);
                self.flag(60);
                self.flag(70);
                self.abnormal_logins();
                let keys = self.writer.rng.pick(&[(80, 0), (20, 1)]);
                self.keys(created, keys);
            }
            "WeWork-Sub-user" => {
                // WeCom sub-users log in by QR code, without a password.
                self.cells(&[ns, ns]);
                self.flag(80);
                self.flag(50);
                self.flag(40);
                let mfa = self
                    .writer
                    .rng
                    .pick(&[(40, "TRUE"), (40, "FALSE"), (20, ns)]);
                self.cell(mfa);
                self.abnormal_logins();
                let keys = self.writer.rng.pick(&[(90, 0), (10, 1)]);
                self.keys(created, keys);
            }
            _ => {
                // Message receivers only receive messages: nothing applies.
                self.cells(&[ns, ns, ns, ns, ns, ns]);
                self.abnormal_logins();
                for _ in 0..2 {
                    self.cells(&["N/A", ns, ns, ns, ns, ns, ns]);
                }
            }
        }
        self.writer.end_row();
    }

    /// Unique within the file; some need quoting, some are Chinese.
    fn username(&mut self, row: usize) {
        const GIVEN: [&str; 8] = [
            "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
        ];
        const TEAMS: [&str; 6] = ["ops", "data", "billing", "audit", "web", "ml"];
        const CHINESE: [&str; 6] = ["李娜", "王芳", "张伟", "刘洋", "陈静", "杨磊"];
        let given = GIVEN[self.writer.rng.below(GIVEN.len() as u64) as usize];
        let team = TEAMS[self.writer.rng.below(TEAMS.len() as u64) as usize];
        let chinese = CHINESE[self.writer.rng.below(CHINESE.len() as u64) as usize];
        let _ = match self.writer.rng.below(100) {
            0..=49 => write!(self.writer.out, "{given}.{team}{row}"),
            50..=69 => write!(self.writer.out, "svc-{team}-{row}"),
            70..=84 => write!(self.writer.out, "运维-{chinese}{row}"),
            85..=94 => write!(self.writer.out, "{given}+{row}@{team}.example"),
            // A display name with a comma and quotes: the CSV quotes it.
            _ => write!(self.writer.out, "\"{given}, {team} \"\"#{row}\"\"\""),
        };
        self.writer.out.push(',');
    }

    fn abnormal_logins(&mut self) {
        let suspicious = self.writer.rng.chance(3);
        match (self.console, suspicious) {
            (Console::International, true) => self.cell("TRUE"),
            (Console::International, false) => self.cell("FALSE"),
            // The Chinese console writes a count of logins.
            (Console::Chinese, true) => {
                let count = 1 + self.writer.rng.below(9);
                let _ = write!(self.writer.out, "{count},");
            }
            (Console::Chinese, false) => self.cell("0"),
        }
    }

    fn keys(&mut self, user_created: DateTime, keys: usize) {
        for slot in 0..2 {
            if slot >= keys {
                self.cells(&["N/A"; 7]);
                continue;
            }
            self.writer.out.push_str("AKID");
            const ALPHABET: &[u8] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
            for _ in 0..32 {
                let index = self.writer.rng.below(ALPHABET.len() as u64) as usize;
                self.writer.out.push(char::from(ALPHABET[index]));
            }
            self.writer.out.push(',');
            let at_risk = self.writer.rng.chance(1);
            self.cell(if at_risk { "TRUE" } else { "FALSE" });
            let created = self.moment_between(user_created, REPORT_TIME);
            self.date(created);
            self.writer.out.push(',');
            let active = self.writer.rng.chance(85);
            self.cell(if active { "Active" } else { "Disable" });
            match self.writer.rng.chance(15) {
                true => self.cell("N/A"),
                false => {
                    let used = self.moment_between(created, REPORT_TIME);
                    self.date(used);
                    self.writer.out.push(',');
                }
            }
            let age = REPORT_TIME.duration_since(created).as_secs();
            for days in [90, 30] {
                let over = Over::MoreThan.holds(age, days * DAY);
                self.cell(if over { "TRUE" } else { "FALSE" });
            }
        }
    }

    fn flag(&mut self, percent_true: u64) {
        self.writer.flag(percent_true, "TRUE", "FALSE");
    }

    fn cell(&mut self, text: &str) {
        self.writer.cell(text);
    }

    fn cells(&mut self, texts: &[&str]) {
        self.writer.cells(texts);
    }

    fn date(&mut self, at: DateTime) {
        let (y, mo, d) = (at.year(), at.month(), at.day());
        let (h, mi, s) = (at.hour(), at.minute(), at.second());
        let _ = match self.console {
            Console::International => write!(self.writer.out, "{y}/{mo}/{d} {h}:{mi:02}:{s:02}"),
            Console::Chinese => write!(self.writer.out, "{y}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
        };
    }

    fn moment_between(&mut self, from: DateTime, to: DateTime) -> DateTime {
        self.writer.moment_between(from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserTable;
    use crate::report::{read as read_report, ReadOptions, ReadSummary, ReportError};

    // Written out here, not taken from the layout: the test checks the layout against the vendor's list.
    const HEADER: &str = "AccountID,Username,UserType,CreationTime,PasswordEnabled,PasswordLastRotation,LoginConsoleActive,LoginProtectionActive,OperationProtectionActive,MFADeviceActive,Abnormal LoginsNumWithin30Days,AccessKey1SecretId,AccessKey1MayBeAtRisk,AccessKey1CreationTime,AccessKey1Status,AccessKey1lastUsedDate,AccessKey1CreatedOver90Days,AccessKey1CreatedOver30Days,AccessKey2SecretId,AccessKey2MayBeAtRisk,AccessKey2CreationTime,AccessKey2Status,AccessKey2lastUsedDate,AccessKey2CreatedOver90Days,AccessKey2CreatedOver30Days";
    const NO_KEY: &str = "N/A,N/A,N/A,N/A,N/A,N/A,N/A";

    fn options() -> ReadOptions {
        ReadOptions {
            timezone: jiff::tz::TimeZone::get("Asia/Shanghai").unwrap(),
            provider: None,
        }
    }

    fn read_text(text: &str) -> Result<(Vec<User<'static>>, ReadSummary), ReportError> {
        let mut table = UserTable::new();
        let summary = read_report(
            text.as_bytes(),
            &options(),
            jiff::Timestamp::UNIX_EPOCH,
            |u| table.push(u),
        )?;
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
        assert_eq!(user.facts.user_type, UserType::SubUser);
        assert_eq!(
            user.facts.created.get().unwrap().to_string(),
            "2019-08-16T01:25:56Z"
        );
        assert_eq!(user.facts.password_enabled, Flag::True);
        assert_eq!(
            user.facts.password_last_rotated.get().unwrap().to_string(),
            "2020-01-01T19:04:05Z"
        );
        assert_eq!(user.facts.console_login, Flag::True);
        assert_eq!(user.facts.login_protection, Flag::False);
        assert_eq!(user.facts.operation_protection, Flag::True);
        assert_eq!(user.facts.mfa, Flag::False);
        assert_eq!(user.facts.abnormal_logins, Flag::True);
        assert!(user.has_console_without_mfa());
        let [Some(first), Some(second), None, None, None] = user.key_slots else {
            panic!("two keys expected")
        };
        assert_eq!((first.facts.slot, first.id), (1, "AKIDaaaa1111"));
        assert_eq!(first.facts.status, KeyStatus::Active);
        assert!(first.is_at_risk());
        assert_eq!(
            first.facts.last_used.get().unwrap().to_string(),
            "2024-05-05T23:08:09Z"
        );
        assert_eq!(first.facts.created_over_90_days, Flag::True);
        assert_eq!(
            (second.facts.slot, second.facts.status),
            (2, KeyStatus::Disabled)
        );
        assert!(second.is_never_used());
        assert_eq!(
            second.facts.created.get().unwrap().to_string(),
            "2024-11-01T00:00:00Z"
        );
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
        assert_eq!(user.facts.user_type, UserType::MessageReceiver);
        assert_eq!(user.facts.mfa, Flag::NotSupported);
        assert_eq!(user.facts.password_last_rotated, Time::NONE);
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
            assert_eq!(user.facts.user_type.label(), label);
        }
    }

    #[test]
    fn password_never_set_is_false_not_a_date() {
        let (user, summary) = one_user(&format!("1,u,Sub-user,2020/1/1 0:00:00,FALSE,FALSE,FALSE,FALSE,FALSE,FALSE,FALSE,{NO_KEY},{NO_KEY}"));
        assert_eq!(summary.cell_errors, 0);
        assert_eq!(user.facts.password_enabled, Flag::False);
        assert_eq!(user.facts.password_last_rotated, Time::NONE);
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
                (user.facts.abnormal_logins, summary.cell_errors),
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
        assert_eq!(user.facts.user_type, UserType::Unknown);
        assert_eq!(user.facts.created, Time::NONE);
        assert_eq!(user.facts.password_enabled, Flag::Unreadable);
        assert_eq!(user.facts.mfa, Flag::Unreadable);
        assert_eq!(user.facts.abnormal_logins, Flag::Unreadable);
        assert_eq!(user.key_slots[0].unwrap().facts.status, KeyStatus::Unknown);
        assert_eq!(
            user.facts.console_login,
            Flag::True,
            "readable cells are kept"
        );
        assert_eq!(summary.cell_errors, 6);
        let columns: Vec<_> = summary
            .first_cell_errors
            .iter()
            .map(|e| e.column.as_str())
            .collect();
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
            ReportError::MissingColumn {
                provider: Provider::TencentCam,
                column: "UserType".into()
            }
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
    fn long_names_are_voided() {
        let long = "x".repeat(32 << 10);
        let (user, summary) = one_user(&format!("1,{long},Sub-user,2020/1/1 0:00:00,TRUE,FALSE,TRUE,TRUE,TRUE,TRUE,FALSE,{NO_KEY},{NO_KEY}"));
        assert_eq!(user.username, "");
        assert_eq!(summary.cell_errors, 1);
        assert!(summary.first_cell_errors[0].found.chars().count() <= 65);
    }

    /// A name of megabytes makes a row longer than any report's: the file is refused as
    /// soon as that much of the row is read, without holding the rest.
    #[test]
    fn a_row_of_megabytes_is_refused() {
        let long = "x".repeat(2 << 20);
        let row = format!("1,{long},Sub-user,2020/1/1 0:00:00,TRUE,FALSE,TRUE,TRUE,TRUE,TRUE,FALSE,{NO_KEY},{NO_KEY}");
        let error = read_text(&format!("{HEADER}\n{row}\n")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 2: a row of more than 65536 bytes, longer than any report's row can be (a line of megabytes, or a quote never closed?)"
        );
    }
}
