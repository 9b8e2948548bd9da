#!/usr/bin/env python3
"""Renders the benchmark table (Markdown) from one run of benches/run.sh: criterion's
estimates for the in-process figures and whole_process.py's JSON for the rest."""

import argparse
import datetime
import json
import os

from bench_common import TARGET, machine

MIB = 1024 * 1024


def estimate(path):
    """Criterion's mean time for one benchmark, in seconds."""
    with open(os.path.join(TARGET, "criterion", path, "new", "estimates.json")) as f:
        return json.load(f)["mean"]["point_estimate"] / 1e9


def ms(seconds):
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def verdict(ok):
    return "met" if ok else "**missed**"


def reader_rows():
    """Rows 1 and 2: each provider's parse against the CSV floor, and the whole reload of
    one large report against the floor on the same bytes."""
    rows = []
    for file, form in [("account-0000.csv", "Tencent CAM, international console, `2019/8/16 9:25:56`"),
                       ("account-0001.csv", "Tencent CAM, Chinese console, `2019-08-16 09:25:56`"),
                       ("aws-iam-account-0000.csv", "AWS IAM, `2019-08-16T01:25:56Z`"),
                       ("alibaba-ram-account-0000.csv", "Alibaba RAM, five key slots")]:
        floor = estimate(f"parse/csv_floor/{file}")
        full = estimate(f"parse/users_and_aggregates/{file}")
        aggregates = estimate(f"parse/aggregates/{file}")
        rows.append(("1", f"Floor: one `csv::ByteRecord` pass touching every field, {file} "
                     f"(1,000 users, {form})", f"{floor * 1e6:.0f} µs", "", ""))
        rows.append(("2", f"Full parse of {file} into users and aggregates "
                     f"(aggregates only: {aggregates * 1e6:.0f} µs, {aggregates / floor:.2f}×)",
                     f"{full * 1e6:.0f} µs = **{full / floor:.2f}×** the floor", "≤ 1.5×",
                     verdict(full / floor <= 1.5)))

    with open(os.path.join(TARGET, "bench-results/reload.json")) as f:
        reload = json.load(f)
    floor = estimate("reload_floor/csv_floor_100000_users")
    whole_reload = reload["median_seconds"]
    rows.append(("2", f"Whole reload of one {reload['users']:,}-user Tencent report "
                 f"({reload['bytes'] / MIB:.1f} MiB), per-user metrics on, as the exporter reports it in "
                 f"`credential_report_last_reload_duration_seconds` (median of {len(reload['runs'])} "
                 f"starts, from {ms(min(reload['runs']))} to {ms(max(reload['runs']))}), against the "
                 f"floor on the same bytes ({ms(floor)})",
                 f"{ms(whole_reload)} = **{whole_reload / floor:.2f}×** the floor", "≤ 1.5×",
                 verdict(whole_reload / floor <= 1.5)))

    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--command", default="benches/run.sh")
    parser.add_argument("--readers-only", action="store_true",
                        help="print only the readers' section, from `cargo bench --bench parse` "
                             "and benches/reload.py")
    args = parser.parse_args()
    if args.readers_only:
        print("## Every provider's reader, and the whole reload (issue 8)\n")
        print(f"From `{args.command}`, one run. Machine: {machine()}; "
              f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.\n")
        print("| # | What | Figure | Target | |")
        print("|---|---|---|---|---|")
        for row in reader_rows():
            print("| " + " | ".join(row) + " |")
        return
    with open(os.path.join(TARGET, "bench-results/whole_process.json")) as f:
        whole = json.load(f)
    sizes = {}
    with open(os.path.join(TARGET, "criterion/encode-sizes.tsv")) as f:
        for line in f:
            name, size, series = line.split()
            sizes[name] = (int(size), int(series))

    rows = reader_rows()

    off = whole["per_user_off"]
    on = whole["per_user_on"]
    reports, users = whole["files"], whole["users"]
    per_report = users // reports
    rows.append(("3", f"Cold start, {reports:,} reports of {per_report:,} users, `--metrics.per-user=false`: "
                 f"process start → folder scanned and read ({ms(off['ready_seconds'])}, "
                 f"{off['cores_used_while_loading']:.2f} cores busy) → first `/metrics` "
                 f"({ms(off['first_scrape_seconds'])}, {off['scrape_bytes'] / MIB:.1f} MiB)",
                 f"**{ms(off['cold_start_seconds'])}**", "both cores",
                 verdict(off["cores_used_while_loading"] > 1.5)))
    rows.append(("3", "Cold start with per-user metrics on: process start → ready "
                 "(its first scrape would be a million users' series: see the limit flag)",
                 ms(on["ready_seconds"]), "", ""))

    change = whole["change"]
    others = len(change["other_reports_reread"])
    rows.append(("4", f"One report of the {reports:,} rewritten ({change['rounds']} times, "
                 f"`--watch.debounce={change['debounce_ms']}ms`): end of the debounce → "
                 "first scrape serving the new value, completed (upper bound: includes "
                 f"the client's polling scrapes of {change['scrape_ms_median']} ms each); "
                 "the exporter's own share, to its rescan log line, in brackets",
                 f"median {change['latency_after_debounce_ms_median']} ms, "
                 f"**max {change['latency_after_debounce_ms_max']} ms** "
                 f"(rescanned by {change['rescanned_after_debounce_ms_max']} ms)",
                 "≤ 50 ms", verdict(change["latency_after_debounce_ms_max"] <= 50)))
    rows.append(("4", "Other reports re-read by those rewrites "
                 f"(`credential_report_reloads_total` of the other {reports - change['rounds']:,})",
                 f"**{others}**", "0", verdict(others == 0)))

    for case, what in [("aggregates_1000_reports", "Aggregates only, 1,000 reports"),
                       ("per_user_10000_users", "Per-user series, 10,000 users"),
                       ("per_user_100000_users", "Per-user series, 100,000 users")]:
        for fmt, label in [("openmetrics", "OpenMetrics"), ("classic", "text 0.0.4")]:
            size, series = sizes[f"{case}/{fmt}"]
            seconds = estimate(f"encode/{case}/{fmt}")
            rows.append(("5", f"`/metrics` encoding, {what}, {label} ({series:,} series)",
                         f"{ms(seconds)}, {size / MIB:.1f} MiB", "", ""))

    csv_bytes = whole["csv_bytes"]
    ratio = on["peak_rss_bytes_after_load"] / csv_bytes
    rows.append(("6", f"Peak RSS (VmHWM) after loading {users:,} users, per-user metrics on; "
                 f"CSV files: {csv_bytes / MIB:.0f} MiB",
                 f"{on['peak_rss_bytes_after_load'] / MIB:.0f} MiB = **{ratio:.2f}×** the CSV",
                 "≤ 1.2×", verdict(ratio <= 1.2)))
    peak_off = off["peak_rss_bytes_after_load"]
    rows.append(("6", f"Peak RSS (VmHWM) after loading {users:,} users, "
                 "`--metrics.per-user=false`",
                 f"**{peak_off / MIB:.1f} MiB**", "< 64 MiB", verdict(peak_off < 64 * MIB)))

    idle = whole["idle"]
    rows.append(("7", f"CPU time over {idle['seconds']} idle seconds, {reports:,} reports loaded, "
                 f"nothing changing (threads' schedstat; utime+stime says "
                 f"{idle['cpu_ms_from_ticks']:.0f} ms at 10 ms resolution; "
                 f"{idle['context_switches']} wake-ups)",
                 f"**{idle['cpu_ms']} ms**", "< 10 ms", verdict(idle["cpu_ms"] < 10)))

    print("# Benchmark results\n")
    print(f"Regenerate with `{args.command}` (criterion benches `parse` and `encode`, then "
          "`benches/whole_process.py` on the real binary). Every figure below comes from that "
          "one run, on reports from `generate-reports --users "
          f"{users} --files {reports} --seed {whole['seed']}` "
          f"({csv_bytes:,} bytes written by the whole-process step; the criterion benches "
          "regenerate the same bytes in memory).\n")
    print(f"- Machine: {machine()}")
    print(f"- Run: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n")
    print("| # | What | Figure | Target | |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
