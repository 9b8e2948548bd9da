#!/usr/bin/env bash
# Seeds the fuzz corpus with the example reports and the bad-input corpus, then fuzzes:
#   fuzz/seed-corpus.sh [seconds]     (default 600; needs `cargo install cargo-fuzz`)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/read_report
cp ../examples/reports/*.csv ../tests/corpus/*/*.csv corpus/read_report/
# cargo-fuzz wants nightly-only flags; RUSTC_BOOTSTRAP lets the one stable toolchain here accept them.
RUSTC_BOOTSTRAP=1 cargo fuzz run read_report corpus/read_report -- \
  -max_total_time="${1:-600}" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
