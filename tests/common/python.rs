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
