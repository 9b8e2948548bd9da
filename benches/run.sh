#!/usr/bin/env bash
# Every benchmark figure in one run, on the same generated reports (seed 1), and
# benches/RESULTS.md rewritten from them. About five minutes on two cores, most of it the
# sixty idle seconds. `benches/run.sh --quick` is a smoke run whose table is not kept.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=${1:-}
target=${CARGO_TARGET_DIR:-target}

cargo build --release --bins
rm -rf "$target/criterion/parse" "$target/criterion/encode"
if [ "$quick" = --quick ]; then
  cargo bench --bench parse -- --quick
  cargo bench --bench encode -- --quick
  python3 benches/whole_process.py --users 100000 --files 100 --idle-seconds 5 --change-rounds 2
  python3 benches/results.py --command "benches/run.sh --quick" >"$target/bench-results/RESULTS.quick.md"
  echo "quick run: $target/bench-results/RESULTS.quick.md (benches/RESULTS.md untouched)"
else
  cargo bench --bench parse
  cargo bench --bench encode
  python3 benches/whole_process.py
  python3 benches/results.py --command "benches/run.sh" >benches/RESULTS.md
  echo "wrote benches/RESULTS.md"
fi
