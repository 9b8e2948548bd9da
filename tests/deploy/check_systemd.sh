#!/usr/bin/env bash
# Checks deploy/systemd/credential-report-exporter.service and
# credential-report-fetcher.service: `systemd-analyze verify` accepts each (with ExecStart
# pointed at the binary cargo built) and `systemd-analyze security --offline` scores its
# sandbox at most MAX_EXPOSURE (0 is fully locked down, 10 is not sandboxed at all).
set -euo pipefail
cd "$(dirname "$0")/../.."

binary="${1:-target/release/credential-report-exporter}"
max_exposure="${MAX_EXPOSURE:-2.0}"
# systemd-analyze would only say the ExecStart= command "is not executable": name the cause.
if [[ ! -x "$binary" ]]; then
  echo "systemd: FAILED: no executable binary at '$binary' to put in ExecStart=;" \
    "build it (cargo build) and pass its path: $0 PATH" >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for unit in deploy/systemd/credential-report-exporter.service deploy/systemd/credential-report-fetcher.service; do
  name="$(basename "$unit")"
  sed "s#^ExecStart=/usr/local/bin/credential-report-exporter#ExecStart=$(realpath "$binary")#" "$unit" \
    >"$work/$name"
  if ! verify="$(systemd-analyze verify "$work/$name" 2>&1)"; then
    echo "systemd: FAILED: systemd-analyze verify rejects $unit (ExecStart=$(realpath "$binary")):" >&2
    echo "$verify" >&2
    exit 1
  fi
  [[ -z "$verify" ]] || echo "$verify"
  exposure="$(systemd-analyze security --offline=true "$work/$name" 2>/dev/null |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')"
  if [[ -z "$exposure" ]]; then
    echo "systemd: FAILED: no 'Overall exposure level' in the output of systemd-analyze security --offline=true" >&2
    exit 1
  fi
  if ! awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
    echo "systemd: FAILED: $unit scores a sandbox exposure of $exposure, above $max_exposure; what it lacks:" >&2
    systemd-analyze security --offline=true "$work/$name" | grep '✗' >&2
    exit 1
  fi
  echo "systemd: $name verifies; sandbox exposure $exposure (at most $max_exposure)"
done
