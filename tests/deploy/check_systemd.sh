#!/usr/bin/env bash
# Checks deploy/systemd/credential-report-exporter.service: `systemd-analyze verify`
# accepts it (with ExecStart pointed at the binary cargo built) and
# `systemd-analyze security --offline` scores its sandbox at most MAX_EXPOSURE
# (0 is fully locked down, 10 is not sandboxed at all).
set -euo pipefail
cd "$(dirname "$0")/../.."

binary="${1:-target/release/credential-report-exporter}"
max_exposure="${MAX_EXPOSURE:-2.0}"
unit=deploy/systemd/credential-report-exporter.service
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sed "s#^ExecStart=/usr/local/bin/credential-report-exporter#ExecStart=$(realpath "$binary")#" "$unit" \
  >"$work/credential-report-exporter.service"
systemd-analyze verify "$work/credential-report-exporter.service"
exposure="$(systemd-analyze security --offline=true "$work/credential-report-exporter.service" 2>/dev/null |
  sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')"
if [[ -z "$exposure" ]]; then
  echo "systemd: could not read the exposure level" >&2
  exit 1
fi
if ! awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
  echo "systemd: exposure $exposure is above $max_exposure" >&2
  systemd-analyze security --offline=true "$work/credential-report-exporter.service" | grep '✗' >&2
  exit 1
fi
echo "systemd: unit verifies; sandbox exposure $exposure (at most $max_exposure)"
