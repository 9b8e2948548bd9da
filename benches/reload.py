#!/usr/bin/env python3
"""The whole reload of one 100,000-user Tencent report with per-user metrics on, as the
exporter itself reports it in credential_report_last_reload_duration_seconds: read the
file, decode, parse, aggregate, keep every user. The release binary is started afresh
on the report several times; the median is written to bench-results/reload.json, and
benches/results.py sets it beside the CSV reader's floor on the same bytes (criterion's
reload_floor group, from the same run of benches/run.sh)."""

import argparse
import json
import os
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

from bench_common import RELEASE, write_figures


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reload_seconds(folder, binary=os.path.join(RELEASE, "credential-report-exporter")):
    port = free_port()
    exporter = subprocess.Popen(
        [binary, "--report.dir", folder,
         "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        # Aggregates only: this scrape reads the figure, it is not measured.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("credential_report_last_reload_duration_seconds{"):
                    return float(line.rsplit(" ", 1)[1])
        raise SystemExit("the exporter served no reload duration")
    finally:
        exporter.terminate()
        exporter.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    # Starts vary with the kernel's cost of a page fault (a fresh process faults in every
    # page of the file and of its users: about 8,700 for this report), which on a shared VM
    # moves from run to run; fifteen starts keep the median steady.
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([os.path.join(RELEASE, "generate-reports"), "--users", str(args.users),
                        "--files", "1", "--seed", "1", "--out", folder],
                       check=True, stdout=subprocess.DEVNULL)
        size = os.path.getsize(os.path.join(folder, "account-0000.csv"))
        runs = [reload_seconds(folder) for _ in range(args.runs)]
    result = {"users": args.users, "bytes": size, "runs": runs,
              "median_seconds": statistics.median(runs)}
    write_figures(result, None, "reload")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
