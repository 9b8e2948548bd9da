//! Any bytes into the report reader: `Ok` or `Err`, never a panic, memory bounded by the
//! input; what serving builds from a report agrees with a plain read of it (`check`'s).
#![no_main]

use std::sync::OnceLock;

use credential_report_exporter::report::{self, ReadOptions};
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
    let generated = jiff::Timestamp::UNIX_EPOCH;
    let built = ReportData::build("fuzz.csv".into(), bytes, options(), generated, true);
    let mut users = 0u64;
    let read = report::read(bytes, options(), generated, |_| users += 1);
    match (built, read) {
        (Ok((data, summary)), Ok(read_summary)) => {
            // What was read is consistent with itself.
            assert_eq!(data.rows, data.users.len() as u64);
            assert_eq!(data.rows, data.aggregates.users.values().map(|c| c.users).sum::<u64>());
            assert!(summary.first_cell_errors.len() as u64 <= summary.cell_errors);
            assert_eq!((users, read_summary), (data.rows, summary));
        }
        (Err(error), Err(read_error)) => assert_eq!(error.to_string(), read_error.to_string()),
        (built, read) => panic!("serving read {:?}, a plain read {:?}", built.map(|_| ()), read.map(|_| ())),
    }
});
