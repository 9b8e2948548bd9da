//! Where a doc or a metric's HELP lists the values of a label, it lists the code's: each
//! enum's `ALL` against the line that names its values, so a value added in the code and
//! not in the docs (as `refused_report` once was missing from a HELP) fails here. The same
//! for flags: each command's `--help` against the doc that lists its flags.

use std::path::Path;

use credential_report_exporter::fetch::FailureReason;
use credential_report_exporter::model::{KeyStatus, UserType};
use credential_report_exporter::report::Provider;
use credential_report_exporter::snapshot::RootCredential;

fn read(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)).unwrap()
}

/// The paragraph or table row of `text` that starts with `start`, up to a blank line (or,
/// for a row, its end).
fn passage<'a>(text: &'a str, start: &str) -> &'a str {
    let at = (text.find(start)).unwrap_or_else(|| panic!("no {start:?}"));
    let rest = &text[at..];
    let end = match start.starts_with('|') {
        true => rest.find('\n'),
        false => rest.find("\n\n"),
    };
    &rest[..end.unwrap_or(rest.len())]
}

/// `passage` names every value, each as `quote` makes it (backticks in docs, bare in HELP).
fn names_all(passage: &str, values: &[&str], quote: fn(&str) -> String) {
    for value in values {
        assert!(
            passage.contains(&quote(value)),
            "{value:?} is a value of the label, and is missing from {passage:?}"
        );
    }
}

fn code(value: &str) -> String {
    format!("`{value}`")
}

#[test]
fn docs_list_every_value_of_the_labels() {
    let metrics = read("docs/metrics.md");
    let user_types = UserType::ALL.map(UserType::label);
    names_all(
        passage(&metrics, "Labels `report` and `user_type`:"),
        &user_types,
        code,
    );
    let statuses = KeyStatus::ALL.map(KeyStatus::label);
    names_all(
        passage(&metrics, "Labels `report` and `status`"),
        &statuses,
        code,
    );
    let credentials = RootCredential::ALL.map(RootCredential::label);
    let row = passage(&metrics, "| `credential_report_root_credentials`");
    names_all(row, &credentials, code);
    let providers = Provider::ALL.map(Provider::name);
    names_all(
        passage(&metrics, "| `credential_report_info`"),
        &providers,
        code,
    );

    // The reasons' table in docs/fetch.md: exactly the code's, in its order.
    let fetch = read("docs/fetch.md");
    let reasons = FailureReason::ALL.map(FailureReason::as_str);
    let table = &fetch[fetch.find("| Reason | When |").expect("a table of reasons")..];
    let rows = table.lines().take_while(|line| line.starts_with('|'));
    let listed: Vec<&str> = (rows.skip(2))
        .map(|row| row.split('`').nth(1).expect("a reason in backticks"))
        .collect();
    assert_eq!(listed, reasons, "docs/fetch.md's reasons");
    let count = [
        "", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let sentence = format!("Failures have one of {} reasons", count[reasons.len()]);
    assert!(
        fetch.contains(&sentence),
        "docs/fetch.md should say {sentence:?}"
    );
}

/// The Tencent page says how many columns the reader requires, and how many it reads.
#[test]
fn tencent_page_counts_the_readers_columns() {
    let page = read("docs/providers/tencent-cam.md");
    let required = Provider::TencentCam.required_columns().len();
    let all = Provider::TencentCam.documented_header().split(',').count();
    let sentence = format!("{required} of the {all} columns are required");
    assert!(
        page.contains(&sentence),
        "docs/providers/tencent-cam.md should say {sentence:?}"
    );
}

#[test]
fn helps_list_every_value_of_their_labels() {
    for golden in [
        "tests/golden/metrics.txt",
        "tests/golden/metrics.openmetrics.txt",
    ] {
        let metrics = read(golden);
        let help = passage(&metrics, "# HELP credential_report_root_credentials ");
        names_all(help, &RootCredential::ALL.map(RootCredential::label), |v| {
            format!(" {v} ")
        });
    }
}

/// Every flag of each command, with its environment variable, is in the table of the doc
/// that documents that command: a flag added in the code and not in the docs fails here.
#[test]
fn every_flag_and_its_variable_are_documented() {
    let binary = env!("CARGO_BIN_EXE_credential-report-exporter");
    for (command, doc) in [
        (&[][..], "README.md"),
        (&["fetch"][..], "docs/fetch.md"),
        (&["check"][..], "docs/check.md"),
    ] {
        let help = std::process::Command::new(binary)
            .args(command)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8(help.stdout).unwrap();
        let doc_text = read(doc);
        // Clap's long help: "      --flag <VALUE>" on its own line, "[env: NAME=]" below it.
        let flags = (help.lines().map(str::trim_start))
            .filter_map(|line| line.strip_prefix("--"))
            .map(|line| line.split([' ', '=']).next().unwrap());
        let mut flags: Vec<&str> = flags.filter(|f| !["help", "version"].contains(f)).collect();
        assert!(
            flags.len() > 3,
            "no flags read from {command:?} --help:\n{help}"
        );
        for flag in flags.drain(..) {
            assert!(
                doc_text.contains(&format!("`--{flag}")),
                "{doc} does not document --{flag}"
            );
        }
        for variable in help.split("[env: ").skip(1) {
            let variable = variable.split(['=', ']']).next().unwrap();
            assert!(
                doc_text.contains(variable),
                "{doc} does not name {variable}"
            );
        }
    }
}
