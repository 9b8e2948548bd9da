//! Any bytes into the report reader: `Ok` or `Err`, never a panic, memory bounded by the
//! input; and `check`'s read, which leaves the facts only the metrics show unread, refuses
//! exactly what serving's refuses and sees the same rows.
#![no_main]

use std::sync::OnceLock;

use credential_report_exporter::model::User;
use credential_report_exporter::report::{self, ReadOptions, Sink};
use credential_report_exporter::snapshot::ReportData;
use libfuzzer_sys::fuzz_target;

fn options() -> &'static ReadOptions {
    static OPTIONS: OnceLock<ReadOptions> = OnceLock::new();
    OPTIONS.get_or_init(|| ReadOptions {
        timezone: jiff::tz::TimeZone::get("Asia/Shanghai").unwrap(),
        provider: None,
    })
}

/// Counts the users as `check` reads them.
struct JudgedOnly(u64);

impl Sink for JudgedOnly {
    const FOR_METRICS: bool = false;

    fn add(&mut self, _line: u64, _user: &User<'_>) {
        self.0 += 1;
    }
}

fuzz_target!(|bytes: &[u8]| {
    let built = ReportData::build("fuzz.csv".into(), bytes, options(), jiff::Timestamp::UNIX_EPOCH, true);
    let mut judged = JudgedOnly(0);
    let judged_read = report::read_into(bytes, options(), jiff::Timestamp::UNIX_EPOCH, &mut judged);
    match (built, judged_read) {
        (Ok((data, summary)), Ok(judged_summary)) => {
            // What was read is consistent with itself.
            assert_eq!(data.rows, data.users.len() as u64);
            assert_eq!(data.rows, data.aggregates.users.values().map(|c| c.users).sum::<u64>());
            assert!(summary.first_cell_errors.len() as u64 <= summary.cell_errors);
            assert_eq!((judged.0, judged_summary.rows), (data.rows, data.rows));
            assert_eq!((judged_summary.provider, judged_summary.checks), (summary.provider, summary.checks));
        }
        (Err(error), Err(judged_error)) => assert_eq!(error.to_string(), judged_error.to_string()),
        (built, judged_read) => panic!("serving read {:?}, check read {:?}", built.map(|_| ()), judged_read.map(|_| ())),
    }
});
