//! Writes deterministic credential reports for benchmarks and load tests:
//! `generate-reports --users 1000000 --files 1000 --seed 1 --out /tmp/reports`
//! (Tencent CAM's; `--provider aws-iam` or `alibaba-ram` for the others').

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

use credential_report_exporter::generate::{self, Spec};
use credential_report_exporter::report::Provider;

#[derive(Debug, Parser)]
#[command(
    name = "generate-reports",
    about = "Writes realistic, reproducible credential reports (the same seed gives the same bytes)."
)]
struct Args {
    /// Users in all files together, spread evenly.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Report files (one per member account), named account-NNNN.csv.
    #[arg(long, default_value_t = 1)]
    files: usize,
    /// Seed of the pseudo-random stream.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder to write into; created if missing.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Whose reports to write.
    #[arg(long, value_enum, default_value_t)]
    provider: Provider,
    /// Write only this file of the set (by index), e.g. to change one report in place.
    #[arg(long, value_name = "INDEX")]
    only: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let spec = Spec {
        users: args.users,
        files: args.files,
        seed: args.seed,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let indices: Vec<usize> = match args.only {
        Some(index) => vec![index],
        None => (0..spec.files).collect(),
    };
    let mut bytes = 0;
    for index in &indices {
        let path = args.out.join(generate::file_name(*index));
        let report = args.provider.generated_report(&spec, *index);
        bytes += report.len();
        std::fs::write(&path, report).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!(
        "wrote {} file(s), {} bytes, into {}",
        indices.len(),
        bytes,
        args.out.display()
    );
    Ok(())
}
