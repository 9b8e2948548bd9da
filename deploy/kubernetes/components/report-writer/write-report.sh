#!/bin/sh
# Report writer: puts a credential report into the shared folder, then again every
# REPORT_INTERVAL seconds (the console regenerates reports every 4 hours).
#
# This is a stand-in. Replace fetch() with however your reports arrive, e.g.
#   coscli cp cos://security-bucket/cam/credential-report.csv "$1"
# With REPORT_SOURCE_URL set it downloads that URL; otherwise it copies the example.
#
# It writes to a hidden temporary name and renames into place: the exporter never reads
# hidden files and never sees half a report.
set -u
dir="${REPORT_DIR:-/reports}"
name="${REPORT_NAME:-example}"
interval="${REPORT_INTERVAL:-14400}"
retry="${REPORT_RETRY_INTERVAL:-300}"
example="${REPORT_EXAMPLE:-/writer/example-report.csv}"

fetch() {
  if [ -n "${REPORT_SOURCE_URL:-}" ]; then
    wget -q -T 60 -O "$1" "$REPORT_SOURCE_URL"
  else
    cp "$example" "$1"
  fi
}

while true; do
  tmp="$dir/.$name.csv.incoming"
  if fetch "$tmp" && [ -s "$tmp" ] && mv "$tmp" "$dir/$name.csv"; then
    echo "report-writer: wrote $dir/$name.csv; next in ${interval}s"
    sleep "$interval"
  else
    # CredentialReportStale fires if this keeps failing for a day.
    echo "report-writer: fetching the report failed; retrying in ${retry}s" >&2
    rm -f "$tmp"
    sleep "$retry"
  fi
done
