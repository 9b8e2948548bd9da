//! No log line holds a whole SecretId, whatever the report holds and at any log level.

use crate::common::{report_with_users, Exporter};

#[test]
fn logs_never_show_a_whole_secret_id() {
    let dir = tempfile::tempdir().unwrap();
    // An oversized SecretId is a cell error, and cell errors are logged with their value.
    let secret = format!("AKID{}WXYZ", "LEAKED".repeat(300));
    let report = report_with_users(3).replace("AKIDtest00000001", &secret);
    std::fs::write(dir.path().join("acme.csv"), report).unwrap();
    let exporter = Exporter::start(dir.path(), &["--log.level", "debug"]);
    exporter.wait_for_sample("credential_report_up{report=\"acme\"} 1");
    exporter.metrics();
    let logs = exporter.logs();
    assert!(
        logs.contains("AccessKey1SecretId"),
        "the cell error is logged: {logs}"
    );
    assert!(
        logs.contains("AKID…WXYZ"),
        "masked as in the metrics: {logs}"
    );
    assert!(!logs.contains("LEAKED"), "{logs}");
    for i in 0..3 {
        assert!(!logs.contains(&format!("AKIDtest{i:08}")), "{logs}");
    }
}
