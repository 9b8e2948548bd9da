//! `credential-report-exporter check`, the real binary: each output format for the examples
//! and the bad-input corpus of every provider against golden files in tests/golden/check/,
//! exit statuses, masked key ids, and the serving rules for folders. After an intended
//! change of the output, regenerate with `UPDATE_GOLDEN=1 cargo test --test it check::` and
//! review the diff.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, UNIX_EPOCH};

use crate::common::{examples_dir, BINARY};

/// The examples are copied as generated at 2026-11-24T00:00:00Z, as tests/it/golden.rs does,
/// and checked as of then: the ages, and so the findings, are the same on any day.
const GENERATED: u64 = 1_795_478_400;
const NOW: &str = "2026-11-24T00:00:00Z";
/// The corpus is made two days earlier, so stale_report has something to find.
const CORPUS_GENERATED: u64 = GENERATED - 2 * 86_400;

/// Copies `from`'s files into `to`, modified at `modified` (seconds since the epoch).
fn copy_folder(from: &Path, to: &Path, modified: u64) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let from = entry.unwrap().path();
        let to = to.join(from.file_name().unwrap());
        std::fs::copy(&from, &to).unwrap();
        let file = std::fs::File::options().write(true).open(&to).unwrap();
        file.set_modified(UNIX_EPOCH + Duration::from_secs(modified))
            .unwrap();
    }
}

/// examples/ and corpus/{accepted,voided,refused}/ in a temporary folder; `check` runs in it
/// with relative paths, so the paths in its output are the same on every machine.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_folder(&examples_dir(), &dir.path().join("examples"), GENERATED);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    for kind in ["accepted", "voided", "refused"] {
        let to = dir.path().join("corpus").join(kind);
        copy_folder(&corpus.join(kind), &to, CORPUS_GENERATED);
    }
    dir
}

const ALL: [&str; 4] = [
    "examples",
    "corpus/accepted",
    "corpus/voided",
    "corpus/refused",
];

fn check(dir: &Path, args: &[&str]) -> Output {
    Command::new(BINARY)
        .current_dir(dir)
        .arg("check")
        .args(["--now", NOW])
        .args(args)
        .env_clear()
        .output()
        .expect("running check")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("check writes UTF-8")
}

fn compare_with_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/check")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run UPDATE_GOLDEN=1 cargo test --test it check::",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the output at line {}:\n  golden: {:?}\n  actual: {:?}\nIf the change is intended: UPDATE_GOLDEN=1 cargo test --test it check::",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line),
        );
    }
}

#[test]
fn every_format_matches_its_golden_file() {
    let dir = workspace();
    for (format, golden) in [
        ("table", "all.table.txt"),
        ("json", "all.json"),
        ("junit", "all.junit.xml"),
        ("sarif", "all.sarif.json"),
    ] {
        let mut args = vec!["--format", format];
        args.extend(ALL);
        let output = check(dir.path(), &args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{format}: the corpus has refused reports"
        );
        compare_with_golden(golden, &stdout(&output));
        // Refusals and unreadable cells, in serving's words, whatever the format.
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        compare_with_golden("all.stderr.txt", &stderr);
    }
}

#[test]
fn every_check_is_exercised_by_the_golden_files() {
    let dir = workspace();
    let mut args = vec!["--format", "json"];
    args.extend(ALL);
    let json: serde_json::Value = serde_json::from_str(&stdout(&check(dir.path(), &args))).unwrap();
    let found: std::collections::BTreeSet<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    for check in credential_report_exporter::check::CHECKS {
        assert!(found.contains(check.id), "no finding of {}", check.id);
    }
}

#[test]
fn exit_status_follows_fail_on() {
    let dir = workspace();
    let status = |args: &[&str]| check(dir.path(), args).status.code();
    // The examples have critical, warning and info findings.
    assert_eq!(status(&["examples"]), Some(1));
    assert_eq!(status(&["--fail-on", "critical", "examples"]), Some(1));
    assert_eq!(status(&["--fail-on", "never", "examples"]), Some(0));
    // legacy-gbk's findings are all warnings.
    let legacy = "examples/legacy-gbk.csv";
    assert_eq!(status(&["--fail-on", "critical", legacy]), Some(0));
    assert_eq!(status(&["--fail-on", "warning", legacy]), Some(1));
    // A refused report wins over findings, and over --fail-on never.
    let refused = "corpus/refused/ragged-row.csv";
    assert_eq!(
        status(&["--fail-on", "never", "examples", refused]),
        Some(2)
    );
    assert_eq!(status(&["no-such-file.csv"]), Some(2));
    // Usage errors are 2 as well, on stderr.
    let output = check(dir.path(), &["--format", "yaml", "examples"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("yaml"));
}

/// alice of the AWS example alone, as `clean/aws.csv` in `dir`: MFA on, key and password
/// used within days, so nothing is found.
fn write_clean_report(dir: &Path) -> &'static str {
    let aws = std::fs::read_to_string(examples_dir().join("aws-prod.csv")).unwrap();
    let header = aws.lines().take(1);
    let alice = aws.lines().filter(|line| line.starts_with("alice,"));
    let clean: String = header
        .chain(alice)
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::create_dir_all(dir.join("clean")).unwrap();
    let path = dir.join("clean/aws.csv");
    std::fs::write(&path, clean).unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(UNIX_EPOCH + Duration::from_secs(GENERATED))
        .unwrap();
    "clean"
}

#[test]
fn a_clean_report_passes_with_nothing_found() {
    let dir = workspace();
    let clean = write_clean_report(dir.path());
    let output = check(dir.path(), &["--format", "json", clean]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["findings"], serde_json::json!([]));
    assert_eq!(json["reports"][0]["provider"], "aws-iam");
    assert_eq!(json["reports"][0]["error"], serde_json::Value::Null);
}

#[test]
fn thresholds_are_flags() {
    let dir = workspace();
    let findings = |args: &[&str]| -> usize {
        let mut all = vec!["--format", "json", "--fail-on", "never"];
        all.extend(args);
        let json: serde_json::Value =
            serde_json::from_str(&stdout(&check(dir.path(), &all))).unwrap();
        json["findings"].as_array().unwrap().len()
    };
    let aws = "examples/aws-prod.csv";
    let default = findings(&[aws]);
    // Every key of the report is younger than 100 years, none used within a second.
    assert!(findings(&["--check.key-max-age", "36500d", aws]) < default);
    assert!(findings(&["--check.key-max-unused", "1s", aws]) > default);
    let output = check(dir.path(), &["--check.key-max-age", "soon", aws]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("90d, 24h"));
}

/// No whole key id of the examples reaches any output: they are masked as in the metrics.
#[test]
fn key_ids_are_masked_in_every_format() {
    let dir = workspace();
    let ids: Vec<String> = ["examples/acme-cn.csv", "examples/acme-prod.csv"]
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
            text.split([',', '\n'])
                .filter(|cell| cell.starts_with("AKID"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(ids.len() >= 8, "{ids:?}");
    for format in ["table", "json", "junit", "sarif"] {
        let output = check(dir.path(), &["--format", format, "examples"]);
        let (out, err) = (stdout(&output), String::from_utf8_lossy(&output.stderr));
        for id in &ids {
            assert!(
                !out.contains(id.as_str()) && !err.contains(id.as_str()),
                "{format} shows {id}"
            );
        }
        assert!(
            out.contains("AKID…PLE2"),
            "{format}: the masked form names the key"
        );
    }
}

/// Folders are read as serving reads them: --report.glob, --report.name-pattern, the
/// newest file per report name, hidden files skipped; an empty folder is an error.
#[test]
fn folders_follow_the_serving_rules() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("dated");
    std::fs::create_dir(&reports).unwrap();
    let aws = std::fs::read(examples_dir().join("aws-prod.csv")).unwrap();
    let gbk = std::fs::read(examples_dir().join("legacy-gbk.csv")).unwrap();
    for (name, bytes, modified) in [
        ("prod-2026-11-01.csv", &aws, GENERATED - 86_400),
        ("prod-2026-11-23.csv", &gbk, GENERATED),
        (".prod-2026-11-24.csv", &aws, GENERATED),
        ("notes.txt", &aws, GENERATED),
    ] {
        let path = reports.join(name);
        std::fs::write(&path, bytes).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(UNIX_EPOCH + Duration::from_secs(modified))
            .unwrap();
    }
    let output = check(
        dir.path(),
        &[
            "--format",
            "json",
            "--report.name-pattern",
            r"^(?P<report>.+)-\d{4}-\d{2}-\d{2}\.csv$",
            "dated",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        json["reports"],
        serde_json::json!([{
            "report": "prod",
            "provider": "tencent-cam",
            "path": "dated/prod-2026-11-23.csv",
            "error": null
        }])
    );

    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let output = check(dir.path(), &["empty"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--report.glob=*.csv"));
    // A file named on the command line is read whatever the glob.
    let output = check(dir.path(), &["--format", "json", "dated/notes.txt"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["reports"][0]["provider"], "aws-iam");
    assert_eq!(json["reports"][0]["report"], "notes");
}

/// The Python with tests/requirements.txt (jsonschema, xmlschema), as scripts/test.sh makes it.
fn test_python() -> std::path::PathBuf {
    if let Some(python) = std::env::var_os("CREDENTIAL_REPORT_TEST_PYTHON") {
        return python.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "the schema checks need the test Python: run scripts/test.sh, or `python3 -m venv .venv && \
         .venv/bin/pip install -r tests/requirements.txt`, or set CREDENTIAL_REPORT_TEST_PYTHON"
    );
    venv
}

/// Runs tests/check_schemas.py on `files`; its exit status and what it printed.
fn validate(kind: &str, files: &[&Path]) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check_schemas.py");
    let output = Command::new(test_python())
        .arg(script)
        .arg(kind)
        .args(files)
        .output()
        .expect("running tests/check_schemas.py");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), printed)
}

/// SARIF against the SARIF 2.1.0 JSON schema and JUnit against Ant's JUnit XSD
/// (tests/schemas/), for the examples and the whole corpus, and for a run with no finding
/// at all; a document broken on purpose is refused, so the validators do validate.
#[test]
fn sarif_and_junit_outputs_validate_against_their_schemas() {
    let dir = workspace();
    let clean = write_clean_report(dir.path());
    for format in ["sarif", "junit"] {
        let mut all = vec!["--format", format];
        all.extend(ALL);
        let everything = dir.path().join(format!("all.{format}"));
        std::fs::write(&everything, stdout(&check(dir.path(), &all))).unwrap();
        let nothing = dir.path().join(format!("nothing.{format}"));
        let output = check(dir.path(), &["--format", format, clean]);
        assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
        std::fs::write(&nothing, stdout(&output)).unwrap();
        let (valid, printed) = validate(format, &[&everything, &nothing]);
        assert!(valid, "{printed}");

        let broken_text = std::fs::read_to_string(&everything)
            .unwrap()
            .replacen("\"2.1.0\"", "\"2.0.0\"", 1)
            .replacen(" hostname=\"localhost\"", "", 1);
        let broken = dir.path().join(format!("broken.{format}"));
        std::fs::write(&broken, broken_text).unwrap();
        let (valid, printed) = validate(format, &[&broken]);
        assert!(!valid, "a broken {format} document passed: {printed}");
    }
}

/// docs/check.md's table sample is what the command it names prints (its lines, in order,
/// among the others of the report), in a folder laid out like the repository's.
#[test]
fn the_documented_table_sample_is_true() {
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/check.md"))
        .unwrap();
    let (_, after) = docs
        .split_once("From `credential-report-exporter check ")
        .expect("docs/check.md names the command of its table sample");
    let (command, after) = after.split_once('`').unwrap();
    let sample = after.split("```").nth(1).unwrap().trim();
    let args: Vec<&str> = command.split_whitespace().collect();
    assert!(args.contains(&"--now"), "{command}");

    let dir = tempfile::tempdir().unwrap();
    copy_folder(
        &examples_dir(),
        &dir.path().join("examples/reports"),
        GENERATED,
    );
    let output = Command::new(BINARY)
        .current_dir(dir.path())
        .arg("check")
        .args(&args)
        .env_clear()
        .output()
        .unwrap();
    let printed = stdout(&output);
    let mut rest = printed.as_str();
    for line in sample.lines().filter(|line| !line.is_empty()) {
        let at = rest.find(line).unwrap_or_else(|| {
            panic!("docs/check.md's {line:?} is not printed, in order:\n{printed}")
        });
        rest = &rest[at + line.len()..];
    }
}

/// A file's name is free text from whoever writes into the folder: on stderr, as in the
/// table, its control characters are escaped, so none reaches the terminal.
#[test]
fn a_file_name_with_terminal_escapes_is_escaped_on_stderr() {
    let dir = workspace();
    let folder = dir.path().join("hostile");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("\u{1b}[2Jwiped.csv"), "id,name\n1,a\n").unwrap();
    let output = check(dir.path(), &["hostile"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(stderr.contains("\\u{1b}[2Jwiped"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(!stdout(&output).contains('\u{1b}'), "{}", stdout(&output));
}
