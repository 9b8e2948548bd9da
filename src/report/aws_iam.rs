//! AWS IAM credential reports (`GetCredentialReport`): their columns and their vocabulary.
//! Documented in the IAM User Guide, "Getting credential reports for your AWS account".

use std::fmt::Write as _;

use super::columns::{Column, Header};
use super::format::ReportFormat;
use super::generate::{Spec, Writer, FIRST_CREATION, REPORT_TIME};
use super::row::{is_absent, Row};
use super::{Coverage, Provider};
use crate::model::{AccessKey, Flag, KeyFacts, Time, User, UserFacts, UserType};

pub struct AwsIam;

pub struct Layout {
    user: Column,
    arn: Column,
    user_creation_time: Column,
    password_enabled: Column,
    password_last_used: Column,
    password_last_changed: Column,
    mfa_active: Column,
    keys: [KeyLayout; 2],
    certificates: [CertificateLayout; 2],
}

struct KeyLayout {
    active: Column,
    last_rotated: Column,
    last_used_date: Column,
    last_used_region: Column,
    last_used_service: Column,
}

struct CertificateLayout {
    active: Column,
    last_rotated: Column,
}

/// The account's own row.
const ROOT: &str = "<root_account>";

/// `no_information`: never used, or not since AWS began tracking (2014 for passwords,
/// 2015 for keys). Either way there is no use to report.
const NO_INFORMATION: &[&str] = &["no_information"];

impl ReportFormat for AwsIam {
    const PROVIDER: Provider = Provider::AwsIam;
    /// CIS Amazon Web Services Foundations Benchmark v3.0.0, section 1 (as Prowler's
    /// `cis_3.0_aws.json` maps its checks).
    const CIS_CONTROLS: &'static [(&'static str, &'static str)] = &[
        ("console_without_mfa", "CIS AWS Foundations v3.0.0 1.10"),
        ("key_over_90_days", "CIS AWS Foundations v3.0.0 1.14"),
        ("key_unused_45_days", "CIS AWS Foundations v3.0.0 1.12"),
        ("two_active_keys", "CIS AWS Foundations v3.0.0 1.13"),
        (
            "console_user_key_never_used",
            "CIS AWS Foundations v3.0.0 1.11",
        ),
        ("root_access_key", "CIS AWS Foundations v3.0.0 1.4"),
        ("root_without_mfa", "CIS AWS Foundations v3.0.0 1.5"),
        ("root_used_recently", "CIS AWS Foundations v3.0.0 1.7"),
        ("password_unused_45_days", "CIS AWS Foundations v3.0.0 1.12"),
    ];
    type Layout = Layout;

    fn layout(header: &mut Header<'_>) -> Layout {
        Layout {
            user: header.required("user"),
            arn: header.required("arn"),
            user_creation_time: header.required("user_creation_time"),
            password_enabled: header.required("password_enabled"),
            password_last_used: header.required("password_last_used"),
            password_last_changed: header.required("password_last_changed"),
            mfa_active: header.required("mfa_active"),
            keys: [1, 2].map(|n| KeyLayout {
                active: header.required(&format!("access_key_{n}_active")),
                last_rotated: header.required(&format!("access_key_{n}_last_rotated")),
                last_used_date: header.required(&format!("access_key_{n}_last_used_date")),
                last_used_region: header.required(&format!("access_key_{n}_last_used_region")),
                last_used_service: header.required(&format!("access_key_{n}_last_used_service")),
            }),
            certificates: [1, 2].map(|n| CertificateLayout {
                active: header.required(&format!("cert_{n}_active")),
                last_rotated: header.required(&format!("cert_{n}_last_rotated")),
            }),
        }
    }

    fn coverage(_: &Layout) -> Coverage {
        Coverage {
            password_last_used: true,
            root_user: true,
            signing_certificates: true,
            ..Coverage::default()
        }
    }

    fn user<'a>(layout: &Layout, row: &mut Row<'a, '_>, generated: Time) -> User<'a> {
        let username = row.id(layout.user);
        let is_root = username == ROOT;
        let arn = row.text(layout.arn);
        let account_id = account_of(arn).unwrap_or_else(|| {
            row.error(
                layout.arn,
                "an ARN like arn:aws:iam::123456789012:user/alice",
            );
            ""
        });
        // The root row's password_enabled is TRUE or FALSE now (FALSE: a member account
        // without root credentials); older reports say `not_supported`, which cannot rule a
        // password out, so it counts as one.
        let password_enabled = match row.flag(layout.password_enabled) {
            Flag::NotSupported if is_root => Flag::True,
            flag => flag,
        };
        let [first, second] = &layout.keys;
        User {
            account_id,
            username,
            facts: UserFacts {
                user_type: if is_root {
                    UserType::Root
                } else {
                    UserType::IamUser
                },
                created: row.utc_date(layout.user_creation_time, &[]),
                password_enabled,
                password_last_rotated: row.utc_date(layout.password_last_changed, &[]),
                password_last_used: row.utc_date(layout.password_last_used, NO_INFORMATION),
                // Console access is the password: there is no separate switch.
                console_login: password_enabled,
                login_protection: Flag::NotSupported,
                operation_protection: Flag::NotSupported,
                mfa: row.flag(layout.mfa_active),
                abnormal_logins: Flag::NotSupported,
                // Read for `check` too: signing_certificate_active and root_without_mfa judge them.
                signing_certificates: layout.certificates.each_ref().map(|certificate| {
                    // Like a key, a certificate exists where it has a rotation date.
                    let rotated = row.utc_date(certificate.last_rotated, &[]);
                    rotated.is_some().then(|| row.active(certificate.active))
                }),
            },
            key_slots: [
                key(row, 1, first, generated),
                key(row, 2, second, generated),
                None,
                None,
                None,
            ],
        }
    }

    /// As `GenerateCredentialReport` writes them: the root's row first.
    fn generated_report(spec: &Spec, index: usize) -> Vec<u8> {
        Writer::api_report(spec, index, DOCUMENTED_HEADER, write_row)
    }
}

/// The account id of an ARN: `arn:aws:iam::123456789012:user/alice` → `123456789012`.
fn account_of(arn: &str) -> Option<&str> {
    // By bytes, not `split(':')`: this runs for every row.
    let rest = arn.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_at(rest.bytes().position(|b| b == b':')?);
    let rest = rest[1..].strip_prefix("iam:")?;
    let (_region, rest) = rest.split_at(rest.bytes().position(|b| b == b':')?);
    let rest = &rest[1..];
    let account = &rest[..rest.bytes().position(|b| b == b':')?];
    (!account.is_empty() && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

fn key<'a>(
    row: &mut Row<'a, '_>,
    slot: u8,
    layout: &KeyLayout,
    generated: Time,
) -> Option<AccessKey<'a>> {
    // A slot is a key where it has a rotation date: `access_key_1_active=false` with
    // `N/A` dates is no key at all.
    if is_absent(row.text(layout.last_rotated).as_bytes(), &[]) {
        return None;
    }
    let created = row.utc_date(layout.last_rotated, &[]);
    let reported = |row: &Row<'a, '_>, column| {
        let text = row.text(column);
        if is_absent(text.as_bytes(), &[]) {
            ""
        } else {
            text
        }
    };
    Some(AccessKey {
        id: "",
        last_used_region: reported(row, layout.last_used_region),
        last_used_service: reported(row, layout.last_used_service),
        facts: KeyFacts {
            slot,
            status: row.active(layout.active),
            at_risk: Flag::NotSupported,
            created,
            last_used: row.utc_date(layout.last_used_date, NO_INFORMATION),
            created_over_90_days: created.older_than_days(90, generated),
            created_over_30_days: created.older_than_days(30, generated),
        },
    })
}

/// The header AWS documents: the exporter reads all but `password_next_rotation`.
const DOCUMENTED_HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// One user's row of a generated report: user `row` of the file, the root user first.
fn write_row(w: &mut Writer, row: usize) {
    let root = row == 0;
    let name = if root {
        "<root_account>".to_owned()
    } else {
        format!("svc-{row}")
    };
    let arn_tail = if root {
        "root".to_owned()
    } else {
        format!("user/{name}")
    };
    let _ = write!(w.out, "{name},arn:aws:iam::123456789012:{arn_tail},");
    let created = w.moment_between(FIRST_CREATION, REPORT_TIME);
    w.iso_date(created);
    let password = root || w.rng.chance(60);
    w.cell(match (root, password) {
        (true, _) => "not_supported",
        (false, true) => "true",
        (false, false) => "false",
    });
    match (password, w.rng.chance(10)) {
        (true, false) => w.iso_date_after(created),
        (true, true) => w.cell("no_information"),
        (false, _) => w.cell("N/A"),
    }
    match password && !root {
        true => w.iso_date_after(created),
        false => w.cell("N/A"),
    }
    w.cell("N/A");
    w.flag(60, "true", "false");
    let keys = w.rng.pick(&[(40, 0), (45, 1), (15, 2)]);
    for slot in 0..2 {
        if slot >= keys {
            w.cell("false");
            for _ in 0..4 {
                w.cell("N/A");
            }
            continue;
        }
        w.flag(85, "true", "false");
        let rotated = w.moment_between(created, REPORT_TIME);
        w.iso_date(rotated);
        match w.rng.chance(15) {
            true => w.cells(&["N/A", "N/A", "N/A"]),
            false => {
                w.iso_date_after(rotated);
                w.cells(&["us-east-1", "s3"]);
            }
        }
    }
    w.cells(&["false", "N/A", "false", "N/A"]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{KeyStatus, UserTable};
    use crate::report::{read, ReadOptions, ReadSummary};

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    fn read_rows(rows: &str) -> (Vec<User<'static>>, ReadSummary) {
        let text = format!("{HEADER}\n{rows}\n");
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

    #[test]
    fn the_root_row_is_the_root_user_with_a_password() {
        let (users, summary) = read_rows(
            "<root_account>,arn:aws:iam::123456789012:root,2014-03-01T10:00:00+00:00,not_supported,2026-11-20T09:00:00+00:00,not_supported,not_supported,false,true,2015-06-01T00:00:00+00:00,2026-11-01T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
        );
        assert_eq!(summary.provider, Provider::AwsIam);
        assert_eq!(summary.cell_errors, 0, "{:?}", summary.first_cell_errors);
        let root = users[0];
        assert_eq!(
            (root.account_id, root.username),
            ("123456789012", "<root_account>")
        );
        assert_eq!(root.facts.user_type, UserType::Root);
        assert_eq!(root.facts.password_enabled, Flag::True);
        assert!(root.has_console_without_mfa());
        let keys: Vec<_> = root.keys().collect();
        assert_eq!(keys.len(), 1, "key 2 has N/A dates: no key");
        assert_eq!(keys[0].facts.status, KeyStatus::Active);
        assert_eq!(keys[0].facts.created_over_90_days, Flag::True);
        assert_eq!(
            (keys[0].last_used_region, keys[0].last_used_service),
            ("us-east-1", "s3")
        );
        assert_eq!(root.facts.signing_certificates, [None, None]);
    }

    #[test]
    fn users_in_lower_and_upper_case_with_no_information() {
        let (users, summary) = read_rows(
            "alice,arn:aws:iam::123456789012:user/alice,2020-01-01T00:00:00Z,TRUE,no_information,2020-01-01T00:00:00Z,2020-04-01T00:00:00Z,TRUE,FALSE,2026-11-01T00:00:00Z,N/A,N/A,N/A,true,2020-01-02T00:00:00+00:00,no_information,N/A,N/A,TRUE,2021-01-01T00:00:00Z,false,2022-01-01T00:00:00Z",
        );
        assert_eq!(summary.cell_errors, 0, "{:?}", summary.first_cell_errors);
        let alice = users[0];
        assert_eq!(alice.facts.user_type, UserType::IamUser);
        assert_eq!(alice.facts.password_last_used, Time::NONE);
        assert_eq!(alice.facts.mfa, Flag::True);
        let [Some(first), Some(second), ..] = alice.key_slots else {
            panic!("two keys")
        };
        assert_eq!(first.facts.status, KeyStatus::Disabled);
        assert_eq!(first.facts.created_over_30_days, Flag::False);
        assert!(first.is_never_used() && second.is_never_used());
        assert_eq!(second.facts.created_over_90_days, Flag::True);
        assert_eq!(
            alice.facts.signing_certificates,
            [Some(KeyStatus::Active), Some(KeyStatus::Disabled)]
        );
    }

    #[test]
    fn account_ids_come_from_arns() {
        assert_eq!(
            account_of("arn:aws:iam::123456789012:user/a/b"),
            Some("123456789012")
        );
        assert_eq!(
            account_of("arn:aws-cn:iam::210987654321:root"),
            Some("210987654321")
        );
        for bad in [
            "arn:aws:s3:::bucket",
            "arn:aws:iam::12ab:root",
            "arn:aws:iam::",
            "user/x",
        ] {
            assert_eq!(account_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_bad_arn_voids_only_the_account_id() {
        let (users, summary) = read_rows(
            "bob,not-an-arn,2020-01-01T00:00:00Z,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
        );
        assert_eq!(users[0].account_id, "");
        assert_eq!(summary.cell_errors, 1);
        assert_eq!(summary.first_cell_errors[0].column, "arn");
    }
}
