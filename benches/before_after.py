#!/usr/bin/env python3
"""The speed users feel, for two release builds in one run (issue 21: the reading
machinery removed, and nothing users feel lost): the whole reload of one 100,000-user
report against the CSV floor, the gzip'd scrape of that report's unchanged snapshot, and
`check --format json` of 1,000 reports against the exporter's start to ready on them.
Each figure is taken from both builds alternately, several times, and the medians are
compared, so a shared machine's noise falls on both alike. The floor is criterion's
`reload_floor` group of `cargo bench --bench parse`, run before this script.

    cargo bench --bench parse -- reload_floor
    python3 benches/before_after.py [--before BINARY] [--markdown benches/RESULTS.md]

benches/run.sh runs it (and the floor) with the before build it makes: commit 0dfcf3f built
into `baseline-0dfcf3f/target/` under the target folder (CARGO_TARGET_DIR, else cargo
metadata's target_directory), which is also `--before`'s default.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import RELEASE, TARGET, machine, splice, write_figures  # noqa: E402
from check import cold_start, run_check  # noqa: E402
from reload import reload_seconds  # noqa: E402
from scrape_large import exporter, scrape  # noqa: E402

# Each comparison (one before commit) is a section of its own, with its title and note.
ISSUE_21 = ("Before and after the reading machinery went (issue 21)",
            "After: one report is read in one piece on one core (several changed reports are spread "
            "over the cores), `check --format json` writes each finding through serde_json, and "
            "every provider's reader reads every cell. The before build read a lone report on both "
            "cores, so its reloads vary with what else the machine runs; the after build's are "
            "steady. Much of the after reload is the kernel giving a fresh process new pages for the "
            "file and the users (on this VM, reading the file into new memory takes several times "
            "as long as into memory touched before); the floor, timed in a warm loop, pays none.")


def markers(before_commit):
    return (f"<!-- before_after.py {before_commit}: start -->",
            f"<!-- before_after.py {before_commit}: end -->")


def generate(folder, users, files):
    subprocess.run([os.path.join(RELEASE, "generate-reports"), "--users", str(users), "--files",
                    str(files), "--seed", "1", "--out", folder], check=True, stdout=subprocess.DEVNULL)


def gzip_scrapes(binary, folder, scrapes):
    """Seconds of each of `scrapes` gzip'd scrapes of the unchanged snapshot, once the
    compressed body is ready (the first gzip scrape starts making it)."""
    server = exporter(binary, folder)
    try:
        started = time.monotonic()
        while scrape(server.port)[3] != "gzip":
            assert time.monotonic() - started < 120, "never gzip'd"
            time.sleep(0.05)
        return [scrape(server.port)[1] for _ in range(scrapes)]
    finally:
        server.stop()


def floor_seconds():
    path = os.path.join(TARGET, "criterion/reload_floor/csv_floor_100000_users/new/estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"] / 1e9


def measure(builds, runs, scrapes):
    results = {name: {"reload": [], "gzip_scrape": [], "ready": [], "check_json": []}
               for name in builds}
    with tempfile.TemporaryDirectory() as large, tempfile.TemporaryDirectory() as many:
        generate(large, 100_000, 1)
        generate(many, 1_000_000, 1_000)
        for _ in range(runs):
            for name, binary in builds.items():
                figures = results[name]
                figures["reload"].append(reload_seconds(large, binary))
                figures["gzip_scrape"].extend(gzip_scrapes(binary, large, scrapes))
                figures["ready"].append(cold_start(binary, many, 1_000, [])["ready_seconds"])
                figures["check_json"].append(run_check(binary, many, "json")["seconds"])
                print(name, {k: v[-1] for k, v in figures.items()}, file=sys.stderr)
    return results


def markdown(r, command, title, note):
    floor = r["floor_seconds"]
    median = {name: {k: statistics.median(v) for k, v in figures.items()}
              for name, figures in r["builds"].items()}
    before, after = median["before"], median["after"]
    ms = lambda seconds: f"{seconds * 1000:.1f} ms"  # noqa: E731
    rows = [
        ("Whole reload of one 100,000-user Tencent report, per-user metrics on "
         "(`credential_report_last_reload_duration_seconds`)",
         f"{ms(before['reload'])} = {before['reload'] / floor:.2f}× the floor",
         f"{ms(after['reload'])} = **{after['reload'] / floor:.2f}×** the floor",
         "≤ 2× the floor", after["reload"] <= 2 * floor),
        ("Gzip'd scrape of that report's unchanged snapshot, p50",
         ms(before["gzip_scrape"]), f"**{ms(after['gzip_scrape'])}**",
         "as fast as before", after["gzip_scrape"] <= before["gzip_scrape"] * 1.1),
        ("Exporter start to ready on 1,000 reports of 1,000 users (per-user series on)",
         f"{before['ready']:.2f} s", f"{after['ready']:.2f} s", "", None),
        ("`check --format json` of those reports, start to exit",
         f"{before['check_json']:.2f} s = {before['check_json'] / before['ready']:.1f}× the ready time",
         f"**{after['check_json']:.2f} s** = {after['check_json'] / after['ready']:.1f}× the ready time",
         "≤ 2× the ready time", after["check_json"] <= 2 * after["ready"]),
    ]
    verdict = {True: "met", False: "**missed**", None: ""}
    start, end = markers(r["before_commit"])
    lines = [
        start,
        f"## {title}",
        "",
        f"From one run of `{command}`, {r['run']}, on {r['machine']} (shared with other work, so "
        f"absolute times are noisy). Before: the release build of commit {r['before_commit']}; after: "
        f"this tree's. Each figure from both builds alternately, {r['runs']} rounds, medians (the "
        f"scrape: {r['scrapes']} scrapes a round). The floor is one `csv::ByteRecord` pass over the "
        f"same 100,000-user report (criterion's `reload_floor`): {ms(floor)}.",
        "",
        "| What | Before | After | Target | |",
        "|---|---|---|---|---|",
        *[f"| {what} | {b} | {a} | {target} | {verdict[ok]} |" for what, b, a, target, ok in rows],
        "",
        note,
        end,
    ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="the exporter before, a release build of --before-commit "
                        "(default: the one benches/run.sh builds under the target folder)")
    parser.add_argument("--before-commit", default="0dfcf3f")
    parser.add_argument("--after", default=os.path.join(RELEASE, "credential-report-exporter"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scrapes", type=int, default=10)
    parser.add_argument("--markdown", help="splice the figures into this Markdown file")
    parser.add_argument("--command", default="python3 benches/before_after.py")
    parser.add_argument("--title", default=ISSUE_21[0], help="the section's heading")
    parser.add_argument("--note", default=ISSUE_21[1], help="the paragraph under its table")
    args = parser.parse_args()
    before = args.before or os.path.join(TARGET, f"baseline-{args.before_commit}", "target", "release",
                                         "credential-report-exporter")
    builds = {"before": before, "after": args.after}
    results = {"machine": machine(), "run": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "before_commit": args.before_commit, "runs": args.runs, "scrapes": args.scrapes,
               "floor_seconds": floor_seconds(), "builds": measure(builds, args.runs, args.scrapes)}
    write_figures(results, None, "before_after")
    section = markdown(results, args.command, args.title, args.note)
    if args.markdown:
        splice(args.markdown, section, *markers(args.before_commit))
    print(section)


if __name__ == "__main__":
    main()
