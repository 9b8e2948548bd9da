//! Encoding `/metrics` from a loaded snapshot: aggregates of 1,000 reports, and per-user
//! series of 10,000 and 100,000 users, from the files `benches/run.sh` generates. The
//! encoding the server does for a new snapshot (body.rs compresses it, or streams it to a
//! client without gzip), and at every scrape for the families that change with the time.
//!
//! `cargo bench --bench encode`; it also writes each body's size and series count to
//! `target/criterion/encode-sizes.tsv` for `benches/RESULTS.md`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use credential_report_exporter::exposition::{Exposition, ExpositionOptions, Format};
use credential_report_exporter::generate::{self, Spec};
use credential_report_exporter::report::ReadOptions;
use credential_report_exporter::snapshot::{ReportData, ReportState, Snapshot};

const SPEC: Spec = Spec::BENCHMARKS;

fn options() -> ReadOptions {
    ReadOptions {
        timezone: jiff::tz::TimeZone::get("Asia/Shanghai").unwrap(),
        provider: None,
    }
}

/// A snapshot of the reports of `files` in [`SPEC`], as the reloader would publish it.
fn snapshot(files: Range<usize>, keep_users: bool) -> Snapshot {
    let options = options();
    let reports: BTreeMap<String, Arc<ReportState>> = files
        .map(|index| {
            let bytes = generate::report(&SPEC, index);
            let path = PathBuf::from(generate::file_name(index));
            let (data, _) = ReportData::build(
                path.clone(),
                &bytes,
                &options,
                generate::GENERATED,
                keep_users,
            )
            .unwrap();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let state = ReportState {
                path,
                data: Some(Arc::new(data)),
                up: true,
                file_modified: Some(jiff::Timestamp::now()),
                last_success: Some(jiff::Timestamp::now()),
                last_reload_duration_seconds: 0.001,
                reloads_success: 1,
                ..ReportState::default()
            };
            (name, Arc::new(state))
        })
        .collect();
    Snapshot {
        reports,
        scanned: true,
        ..Snapshot::default()
    }
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let cases = [
        ("aggregates_1000_reports", 0..1000, false),
        ("per_user_10000_users", 0..10, true),
        ("per_user_100000_users", 0..100, true),
    ];
    let mut sizes = String::new();
    for (name, files, per_user) in cases {
        let snapshot = Arc::new(snapshot(files, per_user));
        let exposition = Exposition::new(ExpositionOptions {
            per_user,
            show_secret_ids: false,
            max_per_user_series: 0,
            now: None,
        });
        let encode = |format| {
            let mut body = String::new();
            (exposition.encode_snapshot(Arc::clone(&snapshot), format, &mut body))
                .and_then(|()| exposition.encode_aging(Arc::clone(&snapshot), format, &mut body))
                .expect("encoding into a String");
            body
        };
        for format in [Format::OpenMetrics, Format::Classic] {
            let body = encode(format);
            let series = body.lines().filter(|l| !l.starts_with('#')).count();
            let format_name = match format {
                Format::OpenMetrics => "openmetrics",
                Format::Classic => "classic",
            };
            sizes += &format!("{name}/{format_name}\t{}\t{series}\n", body.len());
            drop(body);
            group.throughput(Throughput::Elements(series as u64));
            group.bench_function(BenchmarkId::new(name, format_name), |b| {
                b.iter(|| encode(format).len())
            });
        }
    }
    group.finish();
    // Criterion records times; the sizes go beside its results for benches/run.sh.
    let target = std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into());
    let dir = PathBuf::from(target).join("criterion");
    std::fs::create_dir_all(&dir).unwrap();
    let mut file = std::fs::File::create(dir.join("encode-sizes.tsv")).unwrap();
    file.write_all(sizes.as_bytes()).unwrap();
}

criterion_group!(benches, encode);
criterion_main!(benches);
