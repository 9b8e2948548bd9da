//! Reading one report, against the floor of the CSV reader alone, on the files
//! `benches/run.sh` generates (the same seed, so the same bytes).
//!
//! `cargo bench --bench parse`; `benches/run.sh` runs it with the other figures and writes
//! `benches/RESULTS.md`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use credential_report_exporter::generate::{self, Spec};
use credential_report_exporter::report::ReadOptions;
use credential_report_exporter::snapshot::ReportData;

const SPEC: Spec = Spec::BENCHMARKS;

fn options() -> ReadOptions {
    ReadOptions {
        timezone: jiff::tz::TimeZone::get("Asia/Shanghai").unwrap(),
        provider: None,
    }
}

/// The floor: one pass of the CSV reader over the file, touching every field.
fn csv_floor(bytes: &[u8]) -> u64 {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut touched = 0u64;
    while reader.read_byte_record(&mut record).unwrap() {
        for field in &record {
            touched += field.len() as u64 + u64::from(field.first().copied().unwrap_or(0));
        }
    }
    touched
}

fn parse(c: &mut Criterion) {
    let options = options();
    let mut group = c.benchmark_group("parse");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    // File 0 has the international console's dates, file 1 the Chinese console's.
    for index in [0, 1] {
        let bytes = generate::report(&SPEC, index);
        let file = generate::file_name(index);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("csv_floor", &file), &bytes, |b, bytes| {
            b.iter(|| csv_floor(black_box(bytes)))
        });
        group.bench_with_input(BenchmarkId::new("aggregates", &file), &bytes, |b, bytes| {
            b.iter(|| {
                ReportData::build(
                    file.clone().into(),
                    black_box(bytes),
                    &options,
                    generate::GENERATED,
                    false,
                )
            })
        });
        group.bench_with_input(
            BenchmarkId::new("users_and_aggregates", &file),
            &bytes,
            |b, bytes| {
                b.iter(|| {
                    ReportData::build(
                        file.clone().into(),
                        black_box(bytes),
                        &options,
                        generate::GENERATED,
                        true,
                    )
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
