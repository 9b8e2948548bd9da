//! Alibaba Cloud RAM credential reports (IMS `GetCredentialReport`): their columns and
//! their vocabulary. Five key slots: two access keys and three additional ones.

use std::fmt::Write as _;

use super::columns::{Column, Header};
use super::format::{self, ReportFormat};
use super::generate::{Spec, Writer, FIRST_CREATION, REPORT_TIME};
use super::row::Row;
use super::{Coverage, Provider};
use crate::model::{AccessKey, Flag, KeyFacts, Time, User, UserFacts, UserType};

pub struct AlibabaRam;

pub struct Layout {
    user: Column,
    user_creation_time: Column,
    user_last_logon: Column,
    password_exist: Column,
    password_active: Column,
    password_last_changed: Column,
    mfa_active: Column,
    keys: [KeyLayout; 5],
}

struct KeyLayout {
    exist: Column,
    active: Column,
    last_rotated: Column,
    last_used: Column,
}

/// The account's own row.
const ROOT: &str = "<root>";

/// The key slots' column prefixes, in the order of the `key` label (1 to 5).
const KEY_PREFIXES: [&str; 5] = [
    "access_key_1",
    "access_key_2",
    "additional_access_key_1",
    "additional_access_key_2",
    "additional_access_key_3",
];

/// `-`: never (logged on, used, changed).
const NEVER: &[&str] = &["-"];

impl ReportFormat for AlibabaRam {
    const PROVIDER: Provider = Provider::AlibabaRam;
    /// CIS Alibaba Cloud Foundation Benchmark v1.0.0, section 1 (as Turbot's `cis_v100`
    /// maps its controls).
    const CIS_CONTROLS: &'static [(&'static str, &'static str)] = &[
        (
            "console_without_mfa",
            "CIS Alibaba Cloud Foundation v1.0.0 1.4",
        ),
        (
            "key_over_90_days",
            "CIS Alibaba Cloud Foundation v1.0.0 1.6",
        ),
        ("root_access_key", "CIS Alibaba Cloud Foundation v1.0.0 1.2"),
        (
            "root_without_mfa",
            "CIS Alibaba Cloud Foundation v1.0.0 1.3",
        ),
        (
            "root_used_recently",
            "CIS Alibaba Cloud Foundation v1.0.0 1.1",
        ),
        (
            "password_unused_45_days",
            "CIS Alibaba Cloud Foundation v1.0.0 1.5 (asks for 90 days)",
        ),
    ];
    type Layout = Layout;

    fn layout(header: &mut Header<'_>) -> Layout {
        Layout {
            user: header.required("user"),
            user_creation_time: header.required("user_creation_time"),
            user_last_logon: header.required("user_last_logon"),
            password_exist: header.required("password_exist"),
            password_active: header.required("password_active"),
            password_last_changed: header.required("password_last_changed"),
            mfa_active: header.required("mfa_active"),
            keys: KEY_PREFIXES.map(|prefix| KeyLayout {
                exist: header.required(&format!("{prefix}_exist")),
                active: header.required(&format!("{prefix}_active")),
                last_rotated: header.required(&format!("{prefix}_last_rotated")),
                last_used: header.required(&format!("{prefix}_last_used")),
            }),
        }
    }

    fn coverage(_: &Layout) -> Coverage {
        Coverage {
            password_last_used: true,
            root_user: true,
            ..Coverage::default()
        }
    }

    fn user<'a>(layout: &Layout, row: &mut Row<'a, '_>, generated: Time) -> User<'a> {
        let username = row.id(layout.user);
        let is_root = username == ROOT;
        let facts = UserFacts {
            user_type: if is_root {
                UserType::Root
            } else {
                UserType::RamUser
            },
            created: row.utc_date(layout.user_creation_time, NEVER),
            password_enabled: row.flag(layout.password_exist),
            password_last_rotated: row.utc_date(layout.password_last_changed, NEVER),
            password_last_used: row.utc_date(layout.user_last_logon, NEVER),
            console_login: row.flag(layout.password_active),
            login_protection: Flag::NotSupported,
            operation_protection: Flag::NotSupported,
            mfa: row.flag(layout.mfa_active),
            abnormal_logins: Flag::NotSupported,
            signing_certificates: [None; 2],
        };
        let mut slot = 0;
        let key_slots = layout.keys.each_ref().map(|key_layout| {
            slot += 1;
            key(row, slot, key_layout, generated)
        });
        User {
            account_id: account_of(username),
            username,
            facts,
            key_slots,
        }
    }

    /// As `GetCredentialReport` returns them: the root's row first.
    fn generated_report(spec: &Spec, index: usize) -> Vec<u8> {
        let header = format::columns::<AlibabaRam>().join(",");
        Writer::api_report(spec, index, &header, write_row)
    }
}

/// The account a RAM user's logon name belongs to: `alice@example.onaliyun.com` →
/// `example` (the account's alias, or its id where it has none). The root row has none.
fn account_of(username: &str) -> &str {
    // A plain loop from the end: the `@` is a few bytes from it, nearer than `memrchr`'s
    // setup is worth, on every row.
    let Some(at) = username.bytes().rposition(|byte| byte == b'@') else {
        return "";
    };
    let domain = &username[at + 1..];
    domain.strip_suffix(".onaliyun.com").unwrap_or(domain)
}

fn key<'a>(
    row: &mut Row<'a, '_>,
    slot: u8,
    layout: &KeyLayout,
    generated: Time,
) -> Option<AccessKey<'a>> {
    if !row.flag(layout.exist).is_true() {
        return None;
    }
    let created = row.utc_date(layout.last_rotated, NEVER);
    Some(AccessKey {
        id: "",
        last_used_region: "",
        last_used_service: "",
        facts: KeyFacts {
            slot,
            status: row.active(layout.active),
            at_risk: Flag::NotSupported,
            created,
            last_used: row.utc_date(layout.last_used, NEVER),
            created_over_90_days: created.older_than_days(90, generated),
            created_over_30_days: created.older_than_days(30, generated),
        },
    })
}

/// One user's row of a generated report: user `row` of the file, the root user first.
fn write_row(w: &mut Writer, row: usize) {
    let root = row == 0;
    match root {
        true => w.cell("<root>"),
        false => {
            let _ = write!(w.out, "svc-{row}@acme.onaliyun.com,");
        }
    }
    let created = w.moment_between(FIRST_CREATION, REPORT_TIME);
    w.iso_date(created);
    let password = root || w.rng.chance(60);
    match password {
        true => w.iso_date_after(created),
        false => w.cell("-"),
    }
    w.cell(if password { "TRUE" } else { "FALSE" });
    // Without a login profile Alibaba writes N/A for its state and its last change (its
    // credential report page); the root always has a password there.
    match password {
        true => w.flag(95, "TRUE", "FALSE"),
        false => w.cell("N/A"),
    }
    match password {
        true => w.iso_date_after(created),
        false => w.cell("N/A"),
    }
    w.flag(60, "TRUE", "FALSE");
    let keys = w.rng.pick(&[(40, 0), (45, 1), (10, 2), (5, 5)]);
    for slot in 0..5 {
        if slot >= keys {
            w.cells(&["FALSE", "N/A", "N/A", "N/A"]);
            continue;
        }
        w.cell("TRUE");
        w.flag(85, "TRUE", "FALSE");
        let rotated = w.moment_between(created, REPORT_TIME);
        w.iso_date(rotated);
        match w.rng.chance(15) {
            true => w.cell("-"),
            false => w.iso_date_after(rotated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{KeyStatus, UserTable};
    use crate::report::{read, ReadOptions, ReadSummary};

    fn read_rows(rows: &str) -> (Vec<User<'static>>, ReadSummary) {
        // The columns the exporter reads; real reports have password_next_rotation too.
        let header = Provider::AlibabaRam.documented_header();
        let text = format!("{header}\n{rows}\n");
        let mut table = UserTable::new();
        let options = ReadOptions {
            timezone: jiff::tz::TimeZone::get("Asia/Shanghai").unwrap(),
            provider: None,
        };
        let generated = "2026-11-24T08:00:00Z".parse().unwrap();
        let summary = read(text.as_bytes(), &options, generated, |u| table.push(u)).unwrap();
        let table: &'static UserTable = Box::leak(Box::new(table));
        (table.iter().collect(), summary)
    }

    const NO_KEY: &str = "FALSE,FALSE,-,-";

    #[test]
    fn root_and_a_user_with_an_additional_key() {
        let (users, summary) = read_rows(&format!(
            "<root>,2018-01-01T00:00:00Z,2026-11-23T10:00:00Z,TRUE,TRUE,2024-01-01T00:00:00Z,FALSE,TRUE,TRUE,2019-01-01T00:00:00Z,2026-11-20T00:00:00Z,{NO_KEY},{NO_KEY},{NO_KEY},{NO_KEY}\n\
             alice@example.onaliyun.com,2020-01-01T00:00:00Z,-,FALSE,FALSE,-,TRUE,{NO_KEY},{NO_KEY},{NO_KEY},{NO_KEY},TRUE,FALSE,2026-11-01T00:00:00Z,-"
        ));
        assert_eq!(summary.provider, Provider::AlibabaRam);
        assert_eq!(summary.cell_errors, 0, "{:?}", summary.first_cell_errors);
        let (root, alice) = (users[0], users[1]);
        assert_eq!(root.facts.user_type, UserType::Root);
        assert!(root.has_console_without_mfa());
        assert_eq!(
            root.keys().next().unwrap().facts.created_over_90_days,
            Flag::True
        );
        assert_eq!(alice.account_id, "example");
        assert_eq!(alice.facts.user_type, UserType::RamUser);
        assert_eq!(alice.facts.password_last_used, Time::NONE);
        let keys: Vec<_> = alice.keys().collect();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].facts.slot, 5);
        assert_eq!(keys[0].facts.status, KeyStatus::Disabled);
        assert!(keys[0].is_never_used());
        assert_eq!(keys[0].facts.created_over_30_days, Flag::False);
    }
}
