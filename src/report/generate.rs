//! Deterministic, realistic credential reports for benchmarks and load tests: N users over
//! M files from a seed, every user type and cell state. What is shared lives here; each
//! provider's reader file writes its own rows (`format::ReportFormat::generated_report`).
//!
//! The same seed always gives the same bytes, so anyone can reproduce a benchmark's input
//! (`generate-reports --users 1000000 --files 1000 --seed 1 --out DIR`).

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use jiff::civil::DateTime;
use jiff::SignedDuration;

use super::Provider;

/// What to generate: `users` spread as evenly as possible over `files`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub users: usize,
    pub files: usize,
    pub seed: u64,
}

impl Spec {
    /// The set the benchmarks measure: 1,000 reports of 1,000 users. The criterion benches
    /// read it from here; `benches/whole_process.py` defaults to the same numbers.
    pub const BENCHMARKS: Spec = Spec {
        users: 1_000_000,
        files: 1_000,
        seed: 1,
    };

    /// Users in file `index`: the remainder of an uneven split goes to the first files.
    pub fn users_in_file(&self, index: usize) -> usize {
        let files = self.files.max(1);
        self.users / files + usize::from(index < self.users % files)
    }
}

/// How a console writes dates. The international console writes `2019/8/16 9:25:56`,
/// the Chinese one `2019-08-16 09:25:56` (and a byte-order mark, and login counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    International,
    Chinese,
}

impl Console {
    /// Files alternate between the two consoles, so any two files cover both date forms.
    pub fn of_file(index: usize) -> Console {
        match index % 2 {
            0 => Console::International,
            _ => Console::Chinese,
        }
    }
}

/// The name of file `index`; the report name is its stem.
pub fn file_name(index: usize) -> String {
    format!("account-{index:04}.csv")
}

/// Writes every file of `spec` into `dir` (created if missing); returns their paths.
pub fn write_reports(dir: &Path, spec: &Spec) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    (0..spec.files)
        .map(|index| {
            let path = dir.join(file_name(index));
            std::fs::write(&path, report(spec, index))?;
            Ok(path)
        })
        .collect()
}

/// The bytes of file `index` of `spec`, in the benchmarks' provider's format; any other's
/// are [`Provider::generated_report`].
pub fn report(spec: &Spec, index: usize) -> Vec<u8> {
    Provider::default().generated_report(spec, index)
}

/// The day the reports were downloaded; `CreatedOver90Days` and friends are relative to it.
pub const REPORT_TIME: DateTime = jiff::civil::datetime(2026, 11, 24, 8, 0, 0, 0);
/// `REPORT_TIME` in Asia/Shanghai (UTC+8), where the generated reports' dates are: the
/// time to read them as generated at.
pub const GENERATED: jiff::Timestamp = jiff::Timestamp::constant(1_795_478_400, 0);
/// The earliest creation time in a report.
pub const FIRST_CREATION: DateTime = jiff::civil::datetime(2015, 1, 1, 0, 0, 0, 0);

/// A report being written: its text, and the stream of the seed its cells are drawn from.
pub struct Writer {
    pub rng: SplitMix64,
    pub out: String,
}

impl Writer {
    /// For file `index` of `spec`, with room for its users at about `row_bytes` each; each
    /// file has its own stream of the seed.
    pub fn new(spec: &Spec, index: usize, row_bytes: usize) -> Writer {
        Writer {
            rng: SplitMix64::new(spec.seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407)),
            out: String::with_capacity(256 + spec.users_in_file(index) * row_bytes),
        }
    }

    /// A report whose rows `write_row` writes one cell at a time, after `header`: the
    /// clouds' APIs' reports, with a root row first and ISO 8601 times in UTC.
    pub fn api_report(
        spec: &Spec,
        index: usize,
        header: &str,
        write_row: fn(&mut Writer, usize),
    ) -> Vec<u8> {
        let mut writer = Writer::new(spec, index, 400);
        writer.out.push_str(header);
        writer.out.push('\n');
        for user in 0..spec.users_in_file(index) {
            write_row(&mut writer, user);
            writer.end_row();
        }
        writer.out.into_bytes()
    }

    /// Every row ends with its last cell's comma; the line ends instead.
    pub fn end_row(&mut self) {
        self.out.pop();
        self.out.push('\n');
    }

    pub fn cell(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push(',');
    }

    pub fn cells(&mut self, texts: &[&str]) {
        for text in texts {
            self.cell(text);
        }
    }

    /// `yes` with the given percentage, else `no`.
    pub fn flag(&mut self, percent_true: u64, yes: &str, no: &str) {
        let value = self.rng.chance(percent_true);
        self.cell(if value { yes } else { no });
    }

    /// An ISO 8601 time in UTC, as the clouds' APIs write them (the report's local
    /// `REPORT_TIME` taken as UTC: only the form matters here).
    pub fn iso_date(&mut self, at: DateTime) {
        let _ = write!(self.out, "{}Z,", at.strftime("%Y-%m-%dT%H:%M:%S"));
    }

    /// An ISO 8601 time between `from` and the report's time.
    pub fn iso_date_after(&mut self, from: DateTime) {
        let at = self.moment_between(from, REPORT_TIME);
        self.iso_date(at);
    }

    /// A whole second in `[from, to]`, weighted towards recent times as real accounts are.
    pub fn moment_between(&mut self, from: DateTime, to: DateTime) -> DateTime {
        let span = to.duration_since(from).as_secs().max(0) as u64;
        // The later of two uniform draws: more recent activity than old.
        let offset = self.rng.below(span + 1).max(self.rng.below(span + 1));
        from.checked_add(SignedDuration::from_secs(offset as i64))
            .expect("within the report's years")
    }
}

/// The splitmix64 generator: tiny, fast, and the same on every platform.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound` > 0), by multiply-shift: no modulo bias worth the name.
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// True with the given percentage.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `choices`, by weight.
    pub fn pick<T: Copy>(&mut self, choices: &[(u64, T)]) -> T {
        let total: u64 = choices.iter().map(|(weight, _)| weight).sum();
        let mut roll = self.below(total);
        for &(weight, choice) in choices {
            if roll < weight {
                return choice;
            }
            roll -= weight;
        }
        unreachable!("roll is below the total weight")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_spread_evenly_with_the_remainder_first() {
        let spec = Spec {
            users: 10,
            files: 4,
            seed: 1,
        };
        let counts: Vec<usize> = (0..4).map(|i| spec.users_in_file(i)).collect();
        assert_eq!(counts, [3, 3, 2, 2]);
    }

    #[test]
    fn files_alternate_between_the_two_date_forms() {
        let spec = Spec {
            users: 40,
            files: 2,
            seed: 7,
        };
        let international = String::from_utf8(report(&spec, 0)).unwrap();
        let chinese = String::from_utf8(report(&spec, 1)).unwrap();
        assert!(international.starts_with("AccountID,"));
        assert!(chinese.starts_with("\u{feff}AccountID,"));
        let dates = |text: &str| -> Vec<String> {
            text.split([',', '\n'])
                .filter(|cell| cell.starts_with("20") && cell.contains(':'))
                .map(str::to_owned)
                .collect()
        };
        let (slashed, dashed) = (dates(&international), dates(&chinese));
        assert!(!slashed.is_empty() && !dashed.is_empty());
        assert!(slashed.iter().all(|d| d.contains('/')), "{slashed:?}");
        assert!(
            dashed.iter().all(|d| d.len() == 19 && d.contains('-')),
            "{dashed:?}"
        );
    }

    #[test]
    fn splitmix_is_the_reference_sequence() {
        // The first outputs of splitmix64 seeded with 1234567, as published with it.
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }
}
