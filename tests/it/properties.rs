//! Property: any valid report, in any column order and either date form, reads to the
//! same counts as a straightforward count of what was generated.

use credential_report_exporter::model::UserType;
use credential_report_exporter::report::{Provider, ReadOptions};
use credential_report_exporter::snapshot::{ReportData, UserCounts};
use jiff::tz::TimeZone;
use proptest::prelude::*;

/// Tencent's columns in the documented order, as the reader asks for them.
fn columns() -> Vec<String> {
    let header = Provider::TencentCam.documented_header();
    header.split(',').map(str::to_owned).collect()
}

/// The black-box tests' reports (`common::report_with_users`) take their header from the
/// example report: it must be the reader's.
#[test]
fn the_example_header_is_the_readers() {
    assert_eq!(
        crate::common::tencent_header(),
        Provider::TencentCam.documented_header()
    );
}

#[derive(Debug, Clone)]
struct Key {
    active: bool,
    at_risk: bool,
    over_90: bool,
    over_30: bool,
    last_used: Option<(u16, u8, u8)>,
}

#[derive(Debug, Clone)]
struct Row {
    user_type: usize,
    console: bool,
    login_protection: bool,
    operation_protection: bool,
    mfa: bool,
    abnormal: u8,
    created: (u16, u8, u8, u8, u8, u8),
    keys: [Option<Key>; 2],
    name: String,
}

const TYPES: [(&str, UserType); 4] = [
    ("Sub-user", UserType::SubUser),
    ("Collaborator", UserType::Collaborator),
    ("WeWork-Sub-user", UserType::WeComSubUser),
    ("Message-receiver", UserType::MessageReceiver),
];

fn key() -> impl Strategy<Value = Option<Key>> {
    proptest::option::of(
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of((2015u16..2027, 1u8..13, 1u8..29)),
        )
            .prop_map(|(active, at_risk, over_90, over_30, last_used)| Key {
                active,
                at_risk,
                over_90,
                over_30,
                last_used,
            }),
    )
}

fn row() -> impl Strategy<Value = Row> {
    (
        0usize..4,
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        0u8..4,
        (2010u16..2027, 1u8..13, 1u8..29, 0u8..24, 0u8..60, 0u8..60),
        (key(), key()),
        "[a-zA-Z0-9张伟][a-zA-Z0-9 ,.@+\"张伟\n-]{0,11}",
    )
        .prop_map(
            |(
                user_type,
                (console, login_protection, operation_protection, mfa),
                abnormal,
                created,
                (k1, k2),
                name,
            )| Row {
                user_type,
                console,
                login_protection,
                operation_protection,
                mfa,
                abnormal,
                created,
                keys: [k1, k2],
                name,
            },
        )
}

fn flag(value: bool) -> String {
    if value { "TRUE" } else { "FALSE" }.to_owned()
}

fn date(dash: bool, (y, mo, d, h, mi, s): (u16, u8, u8, u8, u8, u8)) -> String {
    match dash {
        true => format!("{y}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
        false => format!("{y}/{mo}/{d} {h}:{mi:02}:{s:02}"),
    }
}

fn quote(cell: &str) -> String {
    format!("\"{}\"", cell.replace('"', "\"\""))
}

/// The row's cells in vendor column order. Message receivers get `not_supported` as the vendor writes them.
fn cells(index: usize, row: &Row, dash: bool) -> Vec<String> {
    let receiver = row.user_type == 3;
    let ns = || "not_supported".to_owned();
    let mut cells = vec![
        format!("{}", 100_000 + index),
        quote(&row.name),
        TYPES[row.user_type].0.to_owned(),
        date(dash, row.created),
        if receiver { ns() } else { "TRUE".into() },
        if receiver {
            ns()
        } else {
            date(dash, row.created)
        },
        if receiver { ns() } else { flag(row.console) },
        if receiver {
            ns()
        } else {
            flag(row.login_protection)
        },
        if receiver {
            ns()
        } else {
            flag(row.operation_protection)
        },
        if receiver { ns() } else { flag(row.mfa) },
        match row.abnormal {
            0 => "FALSE".into(),
            1 => "TRUE".into(),
            n => n.to_string(),
        },
    ];
    for (slot, key) in row.keys.iter().enumerate() {
        match (receiver, key) {
            (true, _) => cells.extend((0..7).map(|_| ns())),
            (false, None) => cells.extend((0..7).map(|_| "N/A".to_owned())),
            (false, Some(key)) => cells.extend([
                format!("AKID{index:08}{slot}EXAMPLE"),
                flag(key.at_risk),
                date(dash, row.created),
                if key.active { "Active" } else { "Disable" }.into(),
                key.last_used
                    .map_or("N/A".into(), |(y, m, d)| date(dash, (y, m, d, 12, 0, 0))),
                flag(key.over_90),
                flag(key.over_30),
            ]),
        }
    }
    cells
}

/// "Now" for the key ages: keys over 90 and 30 days count from their creation time up to it.
const NOW: &str = "2026-11-24T00:00:00Z";

/// Whether a key created at `created` (Asia/Shanghai time, as the report writes it) is
/// more than `days` days old at [`NOW`].
fn older_than(created: (u16, u8, u8, u8, u8, u8), days: i64) -> bool {
    let (y, m, d, h, mi, s) = created;
    let created = jiff::civil::datetime(y as i16, m as i8, d as i8, h as i8, mi as i8, s as i8, 0);
    let created = TimeZone::get("Asia/Shanghai")
        .unwrap()
        .to_timestamp(created)
        .unwrap();
    let now: jiff::Timestamp = NOW.parse().unwrap();
    now.as_second() - created.as_second() > days * 86_400
}

/// The straightforward count the exporter must agree with.
fn reference(rows: &[Row]) -> (Vec<(UserType, UserCounts)>, [[u64; 5]; 3]) {
    let mut by_type: Vec<(UserType, UserCounts)> = Vec::new();
    let mut keys = [[0u64; 5]; 3];
    for row in rows {
        let user_type = TYPES[row.user_type].1;
        if !by_type.iter().any(|(t, _)| *t == user_type) {
            by_type.push((user_type, UserCounts::default()));
        }
        let counts = &mut by_type.iter_mut().find(|(t, _)| *t == user_type).unwrap().1;
        let receiver = row.user_type == 3;
        counts.users += 1;
        if !receiver {
            counts.console_login_enabled += row.console as u64;
            counts.without_mfa += !row.mfa as u64;
            counts.console_without_mfa += (row.console && !row.mfa) as u64;
            counts.without_login_protection += !row.login_protection as u64;
            counts.without_operation_protection += !row.operation_protection as u64;
        }
        counts.with_abnormal_logins += (row.abnormal > 0) as u64;
        let present: Vec<&Key> = if receiver {
            vec![]
        } else {
            row.keys.iter().flatten().collect()
        };
        counts.with_two_active_keys += (present.iter().filter(|k| k.active).count() == 2) as u64;
        for key in present {
            let status = if key.active { 0 } else { 1 };
            keys[status][0] += 1;
            keys[status][1] += key.at_risk as u64;
            // The report's own flags count only where it gives no creation time.
            keys[status][2] += older_than(row.created, 90) as u64;
            keys[status][3] += older_than(row.created, 30) as u64;
            keys[status][4] += key.last_used.is_none() as u64;
        }
    }
    by_type.sort_by_key(|(t, _)| *t);
    (by_type, keys)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn counts_match_a_reference_count(
        rows in proptest::collection::vec(row(), 1..40),
        order in Just((0..columns().len()).collect::<Vec<usize>>()).prop_shuffle(),
        dash in any::<bool>(),
        crlf in any::<bool>(),
        bom in any::<bool>(),
    ) {
        let newline = if crlf { "\r\n" } else { "\n" };
        let mut text = String::from(if bom { "\u{feff}" } else { "" });
        let columns = columns();
        text += &order.iter().map(|&i| columns[i].as_str()).collect::<Vec<_>>().join(",");
        text += newline;
        for (index, row) in rows.iter().enumerate() {
            let cells = cells(index, row, dash);
            text += &order.iter().map(|&i| cells[i].as_str()).collect::<Vec<_>>().join(",");
            text += newline;
        }
        let options = ReadOptions { timezone: TimeZone::get("Asia/Shanghai").unwrap(), provider: None };
        let (data, summary) = ReportData::build("generated.csv".into(), text.as_bytes(), &options, jiff::Timestamp::UNIX_EPOCH, true).unwrap();
        prop_assert_eq!(summary.cell_errors, 0, "{:?}", summary.first_cell_errors);
        prop_assert_eq!(data.rows, rows.len() as u64);
        let (by_type, keys) = reference(&rows);
        let actual: Vec<(UserType, UserCounts)> = data.aggregates.users.iter().map(|(t, c)| (*t, *c)).collect();
        prop_assert_eq!(actual, by_type);
        for (status, counts) in data.aggregates.keys.iter().enumerate() {
            let now = NOW.parse().unwrap();
            let actual = [counts.keys, counts.at_risk, counts.ages.over_90_days(now), counts.ages.over_30_days(now), counts.never_used];
            prop_assert_eq!(actual, keys[status]);
        }
        let names: Vec<&str> = data.users.iter().map(|u| u.username).collect();
        let expected: Vec<String> = rows.iter().map(|r| r.name.trim_ascii().to_owned()).collect();
        prop_assert_eq!(names, expected.iter().map(String::as_str).collect::<Vec<_>>());
    }
}
