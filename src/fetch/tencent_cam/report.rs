//! The rebuilt report: one row per person the lists gave, in the columns the exporter's reader
//! asks of every Tencent report (its layout is the one place their names are written), in the
//! international console's spelling of cells.

use crate::model::{Over, Time, DAY};
use crate::report::Provider;

/// The console writes local times of this zone; so do we (the exporter's default --report.timezone).
pub const REPORT_TZ: &str = "Asia/Shanghai";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    SubUser,
    WeComSubUser,
    Collaborator,
    MessageReceiver,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::SubUser => "Sub-user",
            Kind::WeComSubUser => "WeWork-Sub-user",
            Kind::Collaborator => "Collaborator",
            Kind::MessageReceiver => "Message-receiver",
        }
    }

    /// DescribeSubAccounts' `UserType`: 2 sub-user, 3 WeCom sub-user, 4 collaborator, 5 receiver.
    pub fn from_user_type(t: i64) -> Option<Kind> {
        match t {
            2 => Some(Kind::SubUser),
            3 => Some(Kind::WeComSubUser),
            4 => Some(Kind::Collaborator),
            5 => Some(Kind::MessageReceiver),
            _ => None,
        }
    }

    /// Whether the person can hold API keys: sub-users and collaborators can, at most two
    /// each (Tencent's CAM guide, "Access Key"); WeCom sub-users are sub-users. Message
    /// receivers cannot (the console's report marks their key columns not_supported).
    pub fn has_keys(self) -> bool {
        match self {
            Kind::SubUser | Kind::WeComSubUser | Kind::Collaborator => true,
            Kind::MessageReceiver => false,
        }
    }
}

/// One row's facts as the list calls give them.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: String,
    pub uin: Option<u64>,
    pub name: String,
    pub kind: Kind,
    pub created: Option<jiff::civil::DateTime>,
    pub console_login: Option<bool>,
}

#[derive(Debug, Default)]
pub struct Protection {
    pub login: bool,
    pub operation: bool,
    pub mfa: bool,
}

/// When a key was last used, as finely as the API says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastUsed {
    /// `LastUsedDate`: a day, a day late.
    Day(jiff::civil::Date),
    /// `LastSecretUsedDate`: the moment, in the report's zone.
    Moment(jiff::civil::DateTime),
}

#[derive(Debug)]
pub struct Key {
    pub id: String,
    pub active: bool,
    pub created: Option<jiff::civil::DateTime>,
    pub last_used: Option<LastUsed>,
}

/// What the per-person calls found.
pub struct Details {
    /// `None` where DescribeSafeAuthFlagColl had nothing for the person: unknown, written N/A.
    pub protection: Option<Protection>,
    /// Every key the person has (none for a message receiver). Never a guess: a person whose
    /// keys could not be read fails the fetch.
    pub keys: Vec<Key>,
}

/// The international console's date form, `2019/8/16 9:25:56`.
pub fn console_time(t: jiff::civil::DateTime) -> String {
    format!(
        "{}/{}/{} {}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn flag(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

/// The CSV, header first, one row per person, with RFC 4180 quoting where a cell needs it.
/// The columns are those every Tencent report has (the reader's required ones), in its order;
/// the two no API gives (`Abnormal LoginsNumWithin30Days`, `AccessKeyNMayBeAtRisk`) are
/// optional to the reader and left out.
pub fn render(people: &[Person], details: &[Details], generated: jiff::Timestamp) -> Vec<u8> {
    let header = Provider::TencentCam.required_columns();
    let tz = jiff::tz::TimeZone::get(REPORT_TZ).expect("the bundled time zone database");
    let mut out = String::new();
    out.push_str(&header.join(","));
    out.push('\n');
    const NS: &str = "not_supported";
    for (p, d) in people.iter().zip(details) {
        let mut row: Vec<String> = vec![p.id.clone(), p.name.clone(), p.kind.label().to_owned()];
        row.push(p.created.map_or("N/A".to_owned(), console_time));
        let console = p.console_login.unwrap_or(false);
        // Only a sub-user has a password; WeCom sub-users scan a code, collaborators log in as
        // their own root account, receivers never log in (the console's own not_supported cases).
        match p.kind {
            Kind::SubUser => {
                row.push(flag(console).to_owned());
                // No API gives when a password last changed: unknown (N/A), or FALSE for no password.
                row.push(if console { "N/A" } else { "FALSE" }.to_owned());
                row.push(flag(console).to_owned());
            }
            Kind::WeComSubUser => {
                row.extend([NS.to_owned(), NS.to_owned(), flag(console).to_owned()]);
            }
            Kind::Collaborator | Kind::MessageReceiver => {
                row.extend([NS.to_owned(), NS.to_owned(), NS.to_owned()]);
            }
        }
        match (&d.protection, p.kind) {
            (_, Kind::MessageReceiver) => row.extend([NS, NS, NS].map(String::from)),
            (Some(pr), _) => {
                row.extend([flag(pr.login), flag(pr.operation), flag(pr.mfa)].map(String::from))
            }
            (None, _) => row.extend(["N/A", "N/A", "N/A"].map(String::from)),
        }
        for slot in 0..2 {
            match d.keys.get(slot) {
                _ if !p.kind.has_keys() => {
                    row.extend(["N/A", NS, NS, NS, NS, NS].map(String::from))
                }
                Some(k) => {
                    // Counted as the exporter counts it from the creation time: to the second.
                    let age = k.created.and_then(|c| {
                        Time::from(tz.to_timestamp(c).ok()).age(generated.as_second())
                    });
                    row.push(k.id.clone());
                    row.push(k.created.map_or("N/A".to_owned(), console_time));
                    row.push(if k.active { "Active" } else { "Disable" }.to_owned());
                    row.push(match k.last_used {
                        None => "N/A".to_owned(),
                        Some(LastUsed::Day(d)) => format!("{}/{}/{}", d.year(), d.month(), d.day()),
                        Some(LastUsed::Moment(t)) => console_time(t),
                    });
                    let over =
                        |days| age.map_or("N/A", |a| flag(Over::MoreThan.holds(a, days * DAY)));
                    row.push(over(90).to_owned());
                    row.push(over(30).to_owned());
                }
                None => row.extend(["N/A"; 6].map(String::from)),
            }
        }
        assert_eq!(
            row.len(),
            header.len(),
            "a rebuilt row has one cell per column the reader asks for"
        );
        out.push_str(
            &row.iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out.into_bytes()
}

fn csv_cell(c: &str) -> String {
    if c.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn civil(s: &str) -> Option<jiff::civil::DateTime> {
        super::super::civil_time(s)
    }

    #[test]
    fn console_dates_have_no_padding() {
        let t = civil("2019-08-16 09:05:06").unwrap();
        assert_eq!(console_time(t), "2019/8/16 9:05:06");
    }

    #[test]
    fn rows_follow_the_consoles_states() {
        let t = civil("2020-01-01 00:00:00");
        let people = vec![
            Person {
                id: "1".into(),
                uin: Some(1),
                name: "a,\"b\"".into(),
                kind: Kind::SubUser,
                created: t,
                console_login: Some(true),
            },
            Person {
                id: "2".into(),
                uin: Some(2),
                name: "partner".into(),
                kind: Kind::Collaborator,
                created: t,
                console_login: Some(true),
            },
            Person {
                id: "9".into(),
                uin: None,
                name: "r".into(),
                kind: Kind::MessageReceiver,
                created: None,
                console_login: None,
            },
        ];
        let details = vec![
            Details {
                protection: Some(Protection {
                    login: true,
                    operation: false,
                    mfa: true,
                }),
                // The age flags count to the second, as the exporter does: 90 days and 5
                // minutes before `now` (Beijing time) is over 90 days; exactly 90 is not.
                keys: vec![Key {
                    id: "AKID1".into(),
                    active: false,
                    created: civil("2026-08-27 07:55:00"),
                    last_used: None,
                }],
            },
            Details {
                protection: None,
                keys: vec![Key {
                    id: "AKID2".into(),
                    active: true,
                    created: civil("2026-08-27 08:00:00"),
                    last_used: civil("2026-11-24 08:09:10").map(LastUsed::Moment),
                }],
            },
            Details {
                protection: None,
                keys: Vec::new(),
            },
        ];
        let now = "2026-11-25T00:00:00Z".parse().unwrap();
        let csv = String::from_utf8(render(&people, &details, now)).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "AccountID,Username,UserType,CreationTime,PasswordEnabled,PasswordLastRotation,LoginConsoleActive,\
             LoginProtectionActive,OperationProtectionActive,MFADeviceActive,\
             AccessKey1SecretId,AccessKey1CreationTime,AccessKey1Status,AccessKey1lastUsedDate,AccessKey1CreatedOver90Days,AccessKey1CreatedOver30Days,\
             AccessKey2SecretId,AccessKey2CreationTime,AccessKey2Status,AccessKey2lastUsedDate,AccessKey2CreatedOver90Days,AccessKey2CreatedOver30Days"
        );
        assert_eq!(
            lines[1],
            "1,\"a,\"\"b\"\"\",Sub-user,2020/1/1 0:00:00,TRUE,N/A,TRUE,TRUE,FALSE,TRUE,AKID1,2026/8/27 7:55:00,Disable,N/A,TRUE,TRUE,N/A,N/A,N/A,N/A,N/A,N/A"
        );
        // A collaborator's key is listed like anyone's, its last use to the second.
        assert_eq!(
            lines[2],
            "2,partner,Collaborator,2020/1/1 0:00:00,not_supported,not_supported,not_supported,N/A,N/A,N/A,AKID2,2026/8/27 8:00:00,Active,2026/11/24 8:09:10,FALSE,TRUE,N/A,N/A,N/A,N/A,N/A,N/A"
        );
        assert_eq!(
            lines[3],
            "9,r,Message-receiver,N/A,not_supported,not_supported,not_supported,not_supported,not_supported,not_supported,\
             N/A,not_supported,not_supported,not_supported,not_supported,not_supported,N/A,not_supported,not_supported,not_supported,not_supported,not_supported"
        );
    }
}
