//! The benchmark generator writes reports the exporter reads without a single cell error,
//! with every user type, and the same seed always gives the same bytes.

use std::collections::BTreeMap;

use credential_report_exporter::generate::{self, Spec};
use credential_report_exporter::model::UserType;
use credential_report_exporter::report::{self, Provider, ReadOptions};
use credential_report_exporter::snapshot::ReportData;

fn options() -> ReadOptions {
    ReadOptions {
        timezone: jiff::tz::TimeZone::get("Asia/Shanghai").unwrap(),
        provider: None,
    }
}

#[test]
fn generated_reports_read_without_cell_errors() {
    let spec = Spec {
        users: 5_001,
        files: 4,
        seed: 42,
    };
    let mut types = BTreeMap::new();
    let mut keys = 0;
    let mut total = 0;
    for index in 0..spec.files {
        let bytes = generate::report(&spec, index);
        let mut users = 0;
        let summary = report::read(&bytes, &options(), generate::GENERATED, |user| {
            users += 1;
            *types.entry(user.facts.user_type).or_insert(0) += 1;
        })
        .unwrap();
        let (data, _) = ReportData::build(
            "generated.csv".into(),
            &bytes,
            &options(),
            generate::GENERATED,
            false,
        )
        .unwrap();
        keys += data
            .aggregates
            .keys
            .iter()
            .map(|counts| counts.keys)
            .sum::<u64>();
        assert_eq!(summary.cell_errors, 0, "{:?}", summary.first_cell_errors);
        assert_eq!(summary.rows, spec.users_in_file(index) as u64);
        assert_eq!(users, spec.users_in_file(index));
        total += users;
    }
    assert_eq!(total, spec.users);
    for user_type in [
        UserType::SubUser,
        UserType::Collaborator,
        UserType::WeComSubUser,
        UserType::MessageReceiver,
    ] {
        assert!(
            types.get(&user_type).copied().unwrap_or(0) > 50,
            "{types:?}"
        );
    }
    assert!(keys > spec.users as u64 / 2, "{keys} keys");
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let spec = Spec {
        users: 300,
        files: 3,
        seed: 9,
    };
    let first: Vec<Vec<u8>> = (0..3).map(|i| generate::report(&spec, i)).collect();
    let again: Vec<Vec<u8>> = (0..3).map(|i| generate::report(&spec, i)).collect();
    assert_eq!(first, again);
    let other = Spec { seed: 10, ..spec };
    assert_ne!(first[0], generate::report(&other, 0));
    assert_ne!(first[0], first[1], "each file has its own stream");
}

#[test]
fn files_land_in_the_folder_under_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec {
        users: 10,
        files: 3,
        seed: 1,
    };
    let paths = generate::write_reports(dir.path(), &spec).unwrap();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["account-0000.csv", "account-0001.csv", "account-0002.csv"]
    );
    assert_eq!(
        std::fs::read(&paths[1]).unwrap(),
        generate::report(&spec, 1)
    );
}

#[test]
fn every_providers_generated_reports_read_without_cell_errors() {
    let spec = Spec {
        users: 2_000,
        files: 2,
        seed: 7,
    };
    for provider in Provider::ALL {
        for index in 0..spec.files {
            let bytes = provider.generated_report(&spec, index);
            let (data, summary) = ReportData::build(
                "generated.csv".into(),
                &bytes,
                &options(),
                generate::GENERATED,
                true,
            )
            .unwrap();
            assert_eq!(data.provider, provider);
            assert_eq!(
                summary.cell_errors, 0,
                "{provider}: {:?}",
                summary.first_cell_errors
            );
            assert_eq!(data.rows, spec.users_in_file(index) as u64);
            let keys: u64 = data.aggregates.keys.iter().map(|counts| counts.keys).sum();
            assert!(keys > data.rows / 2, "{provider}: {keys} keys");
        }
    }
}
