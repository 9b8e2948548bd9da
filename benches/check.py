#!/usr/bin/env python3
"""`credential-report-exporter check` on a folder of 1,000 generated reports against the
exporter's cold start on the same folder (issue 12: "a folder of 1,000 reports checked in
the time the exporter's cold start takes").

Standard library only, like whole_process.py. Both sides run the real release binary on
the same files, alternately, `--runs` times; the medians are compared. The exporter's cold
start is process start to /-/ready (every report read) with its default flags, and, as
whole_process.py measures it, to the end of the first scrape with --metrics.per-user=false;
`check` is process start to exit, its whole output written to a file (json and table). Peak RSS of each from the kernel (wait4). Figures go to JSON
and, with --markdown, are spliced into benches/RESULTS.md between this script's markers.

    cargo build --release --bins && python3 benches/check.py --markdown benches/RESULTS.md
"""

import argparse
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bench_common import RELEASE, machine, splice, write_figures

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from whole_process import Exporter  # noqa: E402  (the same process driver as whole_process.py)

SECTION_START = "<!-- check.py: start -->"
SECTION_END = "<!-- check.py: end -->"


# Thresholds past every generated date: only the checks without one still find anything.
RELAXED = ["--check.key-max-age", "36500d", "--check.key-max-unused", "36500d",
           "--check.password-max-unused", "36500d"]


def run_check(binary, folder, fmt, flags=()):
    """Seconds from start to exit, peak RSS in bytes, the exit status, and stdout's size."""
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        process = subprocess.Popen([binary, "check", "--format", fmt, "--fail-on", "never", *flags, folder],
                                   stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        size = out.seek(0, os.SEEK_END)
    return {"seconds": seconds, "peak_rss_bytes": usage.ru_maxrss * 1024,
            "exit": process.returncode, "stdout_bytes": size}


def cold_start(binary, folder, reports, flags):
    """Process start to /-/ready (every report read), and to the end of the first scrape."""
    exporter = Exporter(binary, folder, flags)
    try:
        ready = exporter.wait_ready() - exporter.started
        peak = exporter.status("VmHWM")
        result = {"ready_seconds": ready, "peak_rss_bytes": peak}
        if "--metrics.per-user=false" in flags:
            # With per-user series on, the first scrape would be a million users' series,
            # which no Prometheus should take in one target (as whole_process.py says).
            status, body = exporter.get("/metrics")
            result["cold_start_seconds"] = time.monotonic() - exporter.started
            up = body.count(b"credential_report_up{")
            assert status == 200 and up == reports, f"{up} of {reports} reports served"
        return result
    finally:
        exporter.stop()


def count_findings(binary, folder, flags=()):
    """From the table's summary lines: `…: 1000 users, 1164 findings: …`. Read as it comes,
    so this script stays small: wait4's peak RSS of a child counts the parent it was forked
    from until it runs the binary."""
    process = subprocess.Popen([binary, "check", "--fail-on", "never", *flags, folder],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    found = 0
    for line in process.stdout:
        match = re.search(rb" users, (\d+) findings: ", line)
        found += int(match.group(1)) if match else 0
    assert process.wait() == 0
    return found


def median(runs, key):
    return statistics.median(run[key] for run in runs)


def mib(n):
    return f"{n / 1048576:.1f} MiB"


def markdown(r, command):
    ready = r["exporter"]["ready_seconds"]
    cold = r["exporter_aggregates"]["cold_start_seconds"]
    json_s, table_s = r["check_json"]["seconds"], r["check_table"]["seconds"]
    rows = [
        ("Exporter cold start, default flags (per-user series on): process start to every report "
         f"read (/-/ready); {mib(r['exporter']['peak_rss_bytes'])} peak RSS", f"{ready:.2f} s", "", ""),
        ("Exporter cold start, `--metrics.per-user=false`: process start to the end of the first "
         f"`/metrics` (whole_process.py's cold start); {mib(r['exporter_aggregates']['peak_rss_bytes'])} peak RSS",
         f"{cold:.2f} s", "", ""),
        (f"`check --format json` of the folder, start to exit: {r['findings']:,} findings, "
         f"{mib(r['check_json']['stdout_bytes'])} written; {mib(r['check_json']['peak_rss_bytes'])} peak RSS",
         f"**{json_s:.2f} s** = {json_s / ready:.1f}× the ready time", "≤ the cold start",
         "met" if json_s <= ready else "**missed**"),
        (f"`check --format table`: {mib(r['check_table']['stdout_bytes'])} written; "
         f"{mib(r['check_table']['peak_rss_bytes'])} peak RSS",
         f"{table_s:.2f} s = {table_s / ready:.1f}× the ready time", "", ""),
        (f"`check --format json` with the age thresholds at 100 years ({' '.join(RELAXED)}): "
         f"{r['relaxed_findings']:,} findings, {mib(r['check_relaxed']['stdout_bytes'])} written",
         f"{r['check_relaxed']['seconds']:.2f} s = {r['check_relaxed']['seconds'] / ready:.1f}× the ready time", "", ""),
    ]
    lines = [
        SECTION_START,
        "## `check` against the exporter's cold start (issue 12)",
        "",
        f"From one run of `{command}`, {r['run']}, on {r['machine']} (shared with other work, so "
        f"absolute times are noisy). `generate-reports --users {r['users']} --files {r['files']} "
        f"--seed {r['seed']}` ({mib(r['csv_bytes'])}); the exporter and `check --fail-on never` on "
        f"the same folder, alternately, {r['runs']} runs each, medians; `check`'s output to a file.",
        "",
        "| What | Figure | Target | |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        "Generated users are each given several faults, so these reports hold more than one "
        "finding per user. `check` reads the reports on both cores like the exporter's first scan; "
        "it judges and renders each user as its row is read, "
        "and writes each report's findings while the next are read. What it takes beyond reading "
        "is making and writing that text (see the bytes written; the kernel alone spends about "
        "0.1 s of CPU taking 286 MiB into a file).",
        SECTION_END,
    ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000, help="in all, spread over the files")
    parser.add_argument("--files", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--binary", help="default: this tree's release build")
    parser.add_argument("--out", help="JSON figures (default: bench-results/check.json in the target folder)")
    parser.add_argument("--markdown", help="splice the figures into this Markdown file")
    parser.add_argument("--command", default="python3 benches/check.py --markdown benches/RESULTS.md")
    args = parser.parse_args()

    binary = args.binary or os.path.join(RELEASE, "credential-report-exporter")
    generator = os.path.join(RELEASE, "generate-reports")
    folder = tempfile.mkdtemp(prefix="credential-reports-")
    try:
        subprocess.run([generator, "--users", str(args.users), "--files", str(args.files),
                        "--seed", str(args.seed), "--out", folder], check=True)
        reports = sum(1 for n in os.listdir(folder) if n.endswith(".csv"))
        csv_bytes = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
        findings = count_findings(binary, folder)
        relaxed_findings = count_findings(binary, folder, RELAXED)
        per_user, aggregates, check_json, check_table, check_relaxed = [], [], [], [], []
        for run in range(args.runs):
            per_user.append(cold_start(binary, folder, reports, []))
            aggregates.append(cold_start(binary, folder, reports, ["--metrics.per-user=false"]))
            check_json.append(run_check(binary, folder, "json"))
            check_table.append(run_check(binary, folder, "table"))
            check_relaxed.append(run_check(binary, folder, "json", RELAXED))
            print(f"run {run + 1}: exporter ready {per_user[-1]['ready_seconds']:.2f} s, "
                  f"aggregates-only cold start {aggregates[-1]['cold_start_seconds']:.2f} s, "
                  f"check json {check_json[-1]['seconds']:.2f} s, table {check_table[-1]['seconds']:.2f} s",
                  file=sys.stderr)
        assert all(r["exit"] == 0 for r in check_json + check_table + check_relaxed), "check failed"
        results = {
            "run": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(), "users": args.users, "files": args.files, "seed": args.seed,
            "runs": args.runs, "csv_bytes": csv_bytes, "findings": findings,
            "exporter": {k: median(per_user, k) for k in per_user[0]},
            "exporter_aggregates": {k: median(aggregates, k) for k in aggregates[0]},
            "check_json": {k: median(check_json, k) for k in check_json[0]},
            "check_table": {k: median(check_table, k) for k in check_table[0]},
            "relaxed_findings": relaxed_findings,
            "check_relaxed": {k: median(check_relaxed, k) for k in check_relaxed[0]},
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    write_figures(results, args.out, "check")
    section = markdown(results, args.command)
    if args.markdown:
        splice(args.markdown, section, SECTION_START, SECTION_END)
    print(section)


if __name__ == "__main__":
    main()
