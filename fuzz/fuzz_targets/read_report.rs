//! Any bytes into the report reader: `Ok` or `Err`, never a panic, memory bounded by the input.
#![no_main]

use std::sync::OnceLock;

use credential_report_exporter::report::ReadOptions;
use credential_report_exporter::snapshot::ReportData;
use libfuzzer_sys::fuzz_target;

fn options() -> &'static ReadOptions {
    static OPTIONS: OnceLock<ReadOptions> = OnceLock::new();
    OPTIONS.get_or_init(|| ReadOptions {
        timezone: jiff::tz::TimeZone::get("Asia/Shanghai").unwrap(),
        provider: None,
    })
}

fuzz_target!(|bytes: &[u8]| {
    if let Ok((data, summary)) = ReportData::build("fuzz.csv".into(), bytes, options(), jiff::Timestamp::UNIX_EPOCH, true) {
        // What was read is consistent with itself.
        assert_eq!(data.rows, data.users.len() as u64);
        assert_eq!(data.rows, data.aggregates.users.values().map(|c| c.users).sum::<u64>());
        assert!(summary.first_cell_errors.len() as u64 <= summary.cell_errors);
    }
});
