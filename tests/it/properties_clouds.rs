//! Property: any valid AWS IAM or Alibaba RAM report, in any column order, with booleans
//! in either case, CRLF or LF and with or without a byte-order mark, reads to the same
//! counts as a straightforward count of what was generated.
//!
//! The column lists are written out here from the vendors' documentation, not taken from
//! the readers: they are the reference the readers are checked against.

use credential_report_exporter::model::{KeyStatus, UserType};
use credential_report_exporter::report::{Provider, ReadOptions};
use credential_report_exporter::snapshot::ReportData;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use proptest::prelude::*;

/// When the generated reports were made: key ages count up to it.
const GENERATED: &str = "2026-11-24T00:00:00Z";
const DAY: i64 = 86_400;

#[derive(Debug, Clone)]
struct Key {
    active: bool,
    /// Days before the report's generation the key was last rotated.
    age_days: i64,
    used: bool,
}

#[derive(Debug, Clone)]
struct User {
    password: bool,
    mfa: bool,
    keys: Vec<Option<Key>>,
}

fn user(slots: usize) -> impl Strategy<Value = User> {
    let key = proptest::option::of((any::<bool>(), 0i64..2000, any::<bool>()).prop_map(
        |(active, age_days, used)| Key {
            active,
            age_days,
            used,
        },
    ));
    (
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(key, slots),
    )
        .prop_map(|(password, mfa, keys)| User {
            password,
            mfa,
            keys,
        })
}

fn time(seconds_before: i64, zulu: bool) -> String {
    let generated: Timestamp = GENERATED.parse().unwrap();
    let at = Timestamp::from_second(generated.as_second() - seconds_before).unwrap();
    let text = at.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    match zulu {
        true => text + "Z",
        false => text + "+00:00",
    }
}

fn boolean(value: bool, upper: bool) -> String {
    let text = if value { "true" } else { "false" };
    match upper {
        true => text.to_uppercase(),
        false => text.to_owned(),
    }
}

struct Style {
    upper: bool,
    zulu: bool,
}

/// AWS IAM: the documented columns and one user's cells; row 0 is the root user.
fn aws(index: usize, user: &User, style: &Style) -> (Vec<&'static str>, Vec<String>) {
    let b = |value| boolean(value, style.upper);
    let t = |days: i64| time(days * DAY, style.zulu);
    let root = index == 0;
    let mut row = vec![
        (
            "user",
            if root {
                "<root_account>".to_owned()
            } else {
                format!("user{index}")
            },
        ),
        (
            "arn",
            match root {
                true => "arn:aws:iam::123456789012:root".to_owned(),
                false => format!("arn:aws:iam::123456789012:user/user{index}"),
            },
        ),
        ("user_creation_time", t(3000)),
        (
            "password_enabled",
            if root {
                "not_supported".into()
            } else {
                b(user.password)
            },
        ),
        (
            "password_last_used",
            if user.password || root {
                t(10)
            } else {
                "N/A".into()
            },
        ),
        (
            "password_last_changed",
            if user.password && !root {
                t(100)
            } else {
                "N/A".into()
            },
        ),
        ("password_next_rotation", "N/A".into()),
        ("mfa_active", b(user.mfa)),
    ];
    let names: [[&str; 5]; 2] = [
        [
            "access_key_1_active",
            "access_key_1_last_rotated",
            "access_key_1_last_used_date",
            "access_key_1_last_used_region",
            "access_key_1_last_used_service",
        ],
        [
            "access_key_2_active",
            "access_key_2_last_rotated",
            "access_key_2_last_used_date",
            "access_key_2_last_used_region",
            "access_key_2_last_used_service",
        ],
    ];
    for (names, key) in names.iter().zip(&user.keys) {
        let cells = match key {
            None => [
                b(false),
                "N/A".into(),
                "N/A".into(),
                "N/A".into(),
                "N/A".into(),
            ],
            Some(key) => [
                b(key.active),
                t(key.age_days),
                if key.used { t(0) } else { "N/A".into() },
                if key.used {
                    "us-east-1".into()
                } else {
                    "N/A".into()
                },
                if key.used { "s3".into() } else { "N/A".into() },
            ],
        };
        row.extend(names.iter().copied().zip(cells));
    }
    row.extend([
        ("cert_1_active", b(false)),
        ("cert_1_last_rotated", "N/A".into()),
        ("cert_2_active", b(false)),
        ("cert_2_last_rotated", "N/A".into()),
    ]);
    row.into_iter().unzip()
}

/// Alibaba RAM: the documented columns and one user's cells; row 0 is the root user.
fn alibaba(index: usize, user: &User, style: &Style) -> (Vec<&'static str>, Vec<String>) {
    let b = |value| boolean(value, style.upper);
    let t = |days: i64| time(days * DAY, true);
    let root = index == 0;
    let mut row = vec![
        (
            "user",
            if root {
                "<root>".to_owned()
            } else {
                format!("user{index}@acme.onaliyun.com")
            },
        ),
        ("user_creation_time", t(3000)),
        (
            "user_last_logon",
            if user.password { t(10) } else { "-".into() },
        ),
        ("password_exist", b(user.password)),
        ("password_active", b(user.password)),
        (
            "password_last_changed",
            if user.password { t(100) } else { "-".into() },
        ),
        ("password_next_rotation", "-".into()),
        ("mfa_active", b(user.mfa)),
    ];
    let names: [[&str; 4]; 5] = [
        [
            "access_key_1_exist",
            "access_key_1_active",
            "access_key_1_last_rotated",
            "access_key_1_last_used",
        ],
        [
            "access_key_2_exist",
            "access_key_2_active",
            "access_key_2_last_rotated",
            "access_key_2_last_used",
        ],
        [
            "additional_access_key_1_exist",
            "additional_access_key_1_active",
            "additional_access_key_1_last_rotated",
            "additional_access_key_1_last_used",
        ],
        [
            "additional_access_key_2_exist",
            "additional_access_key_2_active",
            "additional_access_key_2_last_rotated",
            "additional_access_key_2_last_used",
        ],
        [
            "additional_access_key_3_exist",
            "additional_access_key_3_active",
            "additional_access_key_3_last_rotated",
            "additional_access_key_3_last_used",
        ],
    ];
    for (names, key) in names.iter().zip(&user.keys) {
        let cells = match key {
            None => [b(false), b(false), "-".into(), "-".into()],
            Some(key) => [
                b(true),
                b(key.active),
                t(key.age_days),
                if key.used { t(0) } else { "-".into() },
            ],
        };
        row.extend(names.iter().copied().zip(cells));
    }
    row.into_iter().unzip()
}

/// What the exporter must count: users, without MFA, console without MFA, and per key
/// status the keys, the never used, those over 90 days, and the root user's.
#[derive(Debug, Default, PartialEq)]
struct Counts {
    users: [u64; 2],
    without_mfa: [u64; 2],
    console_without_mfa: [u64; 2],
    keys: [[u64; 4]; 2],
}

fn reference(users: &[User], provider: Provider) -> Counts {
    let mut counts = Counts::default();
    for (index, user) in users.iter().enumerate() {
        let root = index == 0;
        let kind = usize::from(!root);
        // AWS's root user always has a password (not_supported means it does).
        let console = user.password || (root && provider == Provider::AwsIam);
        counts.users[kind] += 1;
        counts.without_mfa[kind] += u64::from(!user.mfa);
        counts.console_without_mfa[kind] += u64::from(console && !user.mfa);
        for key in user.keys.iter().flatten() {
            let status = usize::from(!key.active);
            counts.keys[status][0] += 1;
            counts.keys[status][1] += u64::from(!key.used);
            counts.keys[status][2] += u64::from(key.age_days > 90);
            counts.keys[status][3] += u64::from(root);
        }
    }
    counts
}

fn check(
    provider: Provider,
    users: &[User],
    order: &[usize],
    style: Style,
    crlf: bool,
    bom: bool,
) -> Result<(), TestCaseError> {
    let newline = if crlf { "\r\n" } else { "\n" };
    let mut text = String::from(if bom { "\u{feff}" } else { "" });
    for (index, user) in users.iter().enumerate() {
        let (names, cells) = match provider {
            Provider::AwsIam => aws(index, user, &style),
            _ => alibaba(index, user, &style),
        };
        if index == 0 {
            text += &order
                .iter()
                .map(|&i| names[i])
                .collect::<Vec<_>>()
                .join(",");
            text += newline;
        }
        text += &order
            .iter()
            .map(|&i| cells[i].as_str())
            .collect::<Vec<_>>()
            .join(",");
        text += newline;
    }
    let options = ReadOptions {
        timezone: TimeZone::get("Asia/Shanghai").unwrap(),
        provider: None,
    };
    let generated = GENERATED.parse().unwrap();
    let (data, summary) = ReportData::build(
        "generated.csv".into(),
        text.as_bytes(),
        &options,
        generated,
        true,
    )
    .unwrap();
    prop_assert_eq!(summary.cell_errors, 0, "{:?}", summary.first_cell_errors);
    prop_assert_eq!(data.provider, provider);
    let kinds = [
        UserType::Root,
        match provider {
            Provider::AwsIam => UserType::IamUser,
            _ => UserType::RamUser,
        },
    ];
    let users_of = |field: fn(&credential_report_exporter::snapshot::UserCounts) -> u64| {
        kinds.map(|kind| data.aggregates.users.get(&kind).map_or(0, field))
    };
    let aggregates = &data.aggregates;
    let status = |status: KeyStatus| {
        let counts = &aggregates.keys[status as usize];
        [
            counts.keys,
            counts.never_used,
            counts.ages.over_90_days(generated),
            aggregates.root_keys[status as usize],
        ]
    };
    let actual = Counts {
        users: users_of(|c| c.users),
        without_mfa: users_of(|c| c.without_mfa),
        console_without_mfa: users_of(|c| c.console_without_mfa),
        keys: [status(KeyStatus::Active), status(KeyStatus::Disabled)],
    };
    prop_assert_eq!(actual, reference(users, provider));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn aws_counts_match_a_reference_count(
        users in proptest::collection::vec(user(2), 1..30),
        order in Just((0..22).collect::<Vec<usize>>()).prop_shuffle(),
        (upper, zulu, crlf, bom) in any::<(bool, bool, bool, bool)>(),
    ) {
        check(Provider::AwsIam, &users, &order, Style { upper, zulu }, crlf, bom)?;
    }

    #[test]
    fn alibaba_counts_match_a_reference_count(
        users in proptest::collection::vec(user(5), 1..30),
        order in Just((0..28).collect::<Vec<usize>>()).prop_shuffle(),
        (upper, crlf, bom) in any::<(bool, bool, bool)>(),
    ) {
        check(Provider::AlibabaRam, &users, &order, Style { upper, zulu: true }, crlf, bom)?;
    }
}
