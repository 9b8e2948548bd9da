//! The test Python (tests/requirements.txt in .venv/, as scripts/test.sh installs it, or
//! CREDENTIAL_REPORT_TEST_PYTHON), running the cross-check scripts under tests/: JSON cases
//! on standard input, JSON answers on standard output.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

/// The test Python; fails the test, saying how to get it, if there is none.
pub fn test_python() -> PathBuf {
    if let Some(python) = std::env::var_os("CREDENTIAL_REPORT_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "this cross-check needs the test Python with tests/requirements.txt: run scripts/test.sh, \
         or `python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt`, or set \
         CREDENTIAL_REPORT_TEST_PYTHON (looked for {})",
        venv.display()
    );
    venv
}

/// Runs `tests/<script>` on `cases` and returns its answer.
pub fn run_script(script: &str, cases: &Value) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(script);
    let mut child = Command::new(test_python())
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the test Python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(cases.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "tests/{script} failed (is everything of tests/requirements.txt installed?):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("tests/{script} answered no JSON: {error}"))
}

/// Holds every answer of a fake cloud to the vendor's own SDK model (tests/vendor_models.py):
/// `answers` are `{"api", "action", "status", "body"}`. Fails the test on any problem; returns
/// the enumerated words the answers used, by `Action.Field`, for the test to check it saw them.
#[allow(dead_code)] // the signer cross-checks share this file and do not use it
pub fn assert_vendor_models(answers: Vec<Value>) -> serde_json::Map<String, Value> {
    let count = answers.len();
    assert!(count > 0, "no answers to check");
    let verdict = run_script(
        "vendor_models.py",
        &serde_json::json!({ "answers": answers }),
    );
    let problems = verdict["problems"].as_array().expect("problems");
    assert!(
        problems.is_empty(),
        "the fake's answers disagree with the vendor's model:\n{}",
        problems
            .iter()
            .map(|p| p.as_str().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(verdict["checked"], count, "every answer checked");
    verdict["words"].as_object().expect("words").clone()
}
