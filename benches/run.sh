#!/usr/bin/env bash
# Every benchmark figure in one run, on the same generated reports (seed 1), and
# benches/RESULTS.md rewritten from them. About 35 minutes on two cores (more the first
# time, which builds the baseline), 25 of them a Tencent organization's round at CAM's rate. `benches/run.sh --quick` is a smoke run whose table is
# not kept.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=${1:-}
# Where cargo builds, whatever says so (CARGO_TARGET_DIR, .cargo/config.toml): exported, so
# that every script below finds the binaries and the figures there.
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
export CARGO_TARGET_DIR="$target"

cargo build --release --bins
# The exporter as it was at COMMIT, for a before/after comparison: built once, from git's
# copy of that commit, in a target folder of its own under this tree's (so where this tree
# builds does not matter). Prints the binary's path.
baseline_binary() {
  local baseline
  baseline="$(realpath -m "$target")/baseline-$1"
  if [ ! -x "$baseline/target/release/credential-report-exporter" ]; then
    mkdir -p "$baseline"
    git archive "$1" | tar -x -C "$baseline"
    (cd "$baseline" && CARGO_TARGET_DIR="$baseline/target" cargo build --release --bin credential-report-exporter) >&2
  fi
  echo "$baseline/target/release/credential-report-exporter"
}
# Issue 11's comparison: the exporter before it.
baseline_binary="$(baseline_binary 3c4cc9a)"
# Issue 21's: the exporter before the reading machinery went.
before_reading_machinery="$(baseline_binary 0dfcf3f)"
# Issue 27's: the exporter before the reader was streamed and bounded.
before_streaming="$(baseline_binary 2c3adf4)"
streaming_title="The reload, streamed (issue 27)"
streaming_note="Before: the whole file read into memory, room reserved from its lines; after: read 256 KiB at a time, nothing reserved from what the file claims, users packed (UserTable), UTF-8 checked by str::from_utf8."
command -v prometheus-node-exporter >/dev/null || {
  echo "benches/run.sh: apt-get install prometheus-node-exporter (the textfile comparison)" >&2; exit 1; }
rm -rf "$target/criterion/parse" "$target/criterion/encode"
if [ "$quick" = --quick ]; then
  cargo bench --bench parse -- --quick
  cargo bench --bench encode -- --quick
  python3 benches/whole_process.py --users 100000 --files 100 --idle-seconds 5 --change-rounds 2
  python3 benches/reload.py --runs 2
  python3 benches/results.py --command "benches/run.sh --quick" >"$target/bench-results/RESULTS.quick.md"
  python3 benches/scrape_large.py --users 10000 --rounds 5 --baseline "$baseline_binary" \
    --command "benches/run.sh --quick" --markdown "$target/bench-results/RESULTS.quick.md"
  python3 benches/check.py --users 100000 --files 100 --runs 1 \
    --command "benches/run.sh --quick" --markdown "$target/bench-results/RESULTS.quick.md"
  python3 benches/before_after.py --before "$before_reading_machinery" --runs 1 \
    --command "benches/run.sh --quick" --markdown "$target/bench-results/RESULTS.quick.md"
  python3 benches/before_after.py --before "$before_streaming" --before-commit 2c3adf4 --runs 1 \
    --title "$streaming_title" --note "$streaming_note" \
    --command "benches/run.sh --quick" --markdown "$target/bench-results/RESULTS.quick.md"
  python3 benches/hostile_memory.py --before "$before_streaming" --markdown "$target/bench-results/RESULTS.quick.md"
  python3 benches/fetch_bounds.py --command "benches/run.sh --quick" --markdown "$target/bench-results/RESULTS.quick.md"
  python3 benches/organization.py --members 50 --command "benches/run.sh --quick" \
    --markdown "$target/bench-results/RESULTS.quick.md"
  echo "quick run: $target/bench-results/RESULTS.quick.md (benches/RESULTS.md untouched)"
else
  cargo bench --bench parse
  cargo bench --bench encode
  python3 benches/whole_process.py
  python3 benches/reload.py
  python3 benches/results.py --command "benches/run.sh" >benches/RESULTS.md
  python3 benches/scrape_large.py --baseline "$baseline_binary" \
    --command "benches/run.sh" --markdown benches/RESULTS.md
  python3 benches/check.py --command "benches/run.sh" --markdown benches/RESULTS.md
  python3 benches/before_after.py --before "$before_reading_machinery" --runs 7 \
    --command "benches/run.sh" --markdown benches/RESULTS.md
  python3 benches/before_after.py --before "$before_streaming" --before-commit 2c3adf4 --runs 7 \
    --title "$streaming_title" --note "$streaming_note" \
    --command "benches/run.sh" --markdown benches/RESULTS.md
  python3 benches/hostile_memory.py --before "$before_streaming" --markdown benches/RESULTS.md
  python3 benches/fetch_bounds.py --command "benches/run.sh" --markdown benches/RESULTS.md
  python3 benches/serve_bounds.py --markdown benches/RESULTS.md
  # Issue 26's organization round: about 25 minutes, Tencent's 1,000 members at CAM's rate.
  python3 benches/organization.py --command "benches/run.sh" --markdown benches/RESULTS.md
  echo "wrote benches/RESULTS.md"
fi
