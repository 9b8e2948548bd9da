#!/usr/bin/env python3
"""Issue 26's "speed and size": one `fetch --organization --once` round per cloud against a
fake organization of MEMBERS members of USERS users each, the clouds' documented per-action
limits enforced by the fakes (`cargo bench --bench organization`, the tests' own fakes), and
the exporter serving the reports that round wrote: gzip'd scrape p50 and peak RSS, per-user
series off, and on with --metrics.max-per-user-series.

    python3 benches/organization.py --markdown benches/RESULTS.md
    python3 benches/organization.py --members 50 --clouds tencent   # a quick look
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import RELEASE, ROOT, TARGET, machine, splice, write_figures  # noqa: E402
from scrape_large import MIB, Process, samples, scrape, summary  # noqa: E402

SECTION_START = "<!-- organization.py: start -->"
SECTION_END = "<!-- organization.py: end -->"
CLOUDS = {"aws": "AWS Organizations", "alibaba": "Alibaba Resource Directory",
          "tencent": "Tencent Organization"}


def load():
    return "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def fetch_round(cloud, members, users, work):
    """The bench's round for `cloud`: its figures, the reports left in work/cloud."""
    folder = os.path.join(work, cloud)
    out = os.path.join(work, f"{cloud}.json")
    command = ["cargo", "bench", "--quiet", "--bench", "organization", "--", "--cloud", cloud,
               "--members", str(members), "--users", str(users), "--dir", folder, "--json", out]
    before = load()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        figures = json.load(f)
    figures["load_before"], figures["load_after"] = before, load()
    return figures


def serve(folder, scrapes, *flags):
    """The exporter on `folder`: gzip'd scrapes of the unchanged reports, their p50, what one
    holds, and the peak RSS (VmHWM) after them."""
    server = Process([os.path.join(RELEASE, "credential-report-exporter"), "--report.dir",
                      folder, "--web.listen-address", "127.0.0.1:{port}", *flags])
    try:
        started = time.monotonic()
        server.wait_for("/-/ready")
        ready = time.monotonic() - started
        # The first gzip client makes the exporter compress its body once, off the request:
        # the scrapes timed are those served that shared compressed body.
        for _ in range(100):
            status, _, body, encoding = scrape(server.port)
            assert status == 200, status
            if encoding == "gzip":
                break
            time.sleep(0.1)
        assert encoding == "gzip", "never served gzip'd"
        text = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        dropped = re.search(rb"^credential_report_per_user_series_dropped (\S+)$", text, re.M)
        times = [scrape(server.port)[1] for _ in range(scrapes)]
        return {"flags": list(flags), "ready_seconds": ready, "scrape": summary(times),
                "gzip_bytes": len(body), "bytes": len(text), "series": samples(text),
                "dropped": float(dropped.group(1)) if dropped else None,
                "peak_rss_bytes": server.status("VmHWM")}
    finally:
        server.stop()


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def mib(n):
    return f"{n / MIB:.1f} MiB"


def duration(seconds):
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds:.0f} s ({seconds / 60:.1f} min)"


def markdown(r, command):
    lines = [
        SECTION_START,
        "## An organization's round, and serving its reports (issue 26)",
        "",
        f"From one run of `{command}`, {r['when']}, on {r['machine']}. Each cloud's fake "
        f"(tests/cloud_fakes/, on loopback, in the bench's process) lists {r['members']:,} "
        f"members of {r['users']} users each and enforces the cloud's documented per-action "
        "limits, answering calls over them in its throttling words; the release fetcher runs "
        "`fetch --organization --once --fetch.concurrency 8 --fetch.poll-interval 10ms` "
        "(`cargo bench --bench organization`). Peak RSS is the fetcher's `ru_maxrss` from "
        "`wait4`. The bound is the shortest round the modelled limits and 8 members at a time "
        "allow; its arithmetic is under the table. Load averages (1, 5, 15 min) before and "
        "after each round: the machine is shared, 2 cores.",
        "",
        "| Cloud | Reports written | Round | Bound | Ratio | Target | Fetcher peak RSS | "
        "Target | Calls (throttled) | Load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cloud, f in r["rounds"].items():
        calls = sum(f["calls"].values())
        ratio = f"**{f['ratio']:.2f}x**" if f["ratio"] else "no bound"
        target = ""
        if cloud == "tencent":
            target = "met" if f["ratio"] <= 1.25 else "missed"
            target = f"<= 1.25x: {target}"
        rss = "met" if f["peak_rss_bytes"] < 128 * MIB else "missed"
        lines.append(
            f"| {CLOUDS[cloud]} | {f['reports']:,} of {f['members']:,} (exit {f['exit_code']}) "
            f"| **{duration(f['seconds'])}** | "
            f"{duration(f['bound_seconds']) if f['bound_seconds'] else '-'} | {ratio} | {target} "
            f"| **{mib(f['peak_rss_bytes'])}** | < 128 MiB: {rss} | "
            f"{calls:,} ({f.get('throttled', 0)}) | {f['load_before']} / {f['load_after']} |")
    lines += ["", "The bounds:", ""]
    for cloud, f in r["rounds"].items():
        bound = f["bound"] or ("AWS documents no per-action rate for Organizations "
                               "`ListAccounts`, STS `AssumeRole` or IAM's report calls: the "
                               "fake enforces none, and the round is the fetcher's and the "
                               "fake's own speed")
        lines.append(f"- {CLOUDS[cloud]}: {bound}.")
    lines += [
        "",
        "Where a round's time goes beyond its bound: the fetcher paces each action a tenth "
        "under the limit (Tencent: a call every 55 ms, so a member's 200 calls of each "
        "per-user action take 11 s, not 10), and each Tencent member's lists, its "
        "`DescribeSubAccounts` and its last keys' `GetSecurityLastUsed` add about half a "
        "second. Alibaba's `AssumeRole` is paced at 10 a second, a tenth of STS's 100, leaving "
        "the rest to the account's other callers: 1,000 members take at least 110 s however "
        "fast IMS answers.",
    ]
    lines += [
        "",
        "The exporter (release) serving each folder those rounds wrote, "
        f"{r['scrapes']} scrapes of the unchanged reports with `Accept-Encoding: gzip` "
        "(Prometheus's `Accept`), p50 (p90); peak RSS (VmHWM) after them. Per-user series "
        f"on are bounded by `--metrics.max-per-user-series={r['max_series']}`: the figure "
        "docs/scaling.md suggests (about 20,000 users), under a `sample_limit` of a few hundred "
        "thousand; the other users' series are counted in "
        "`credential_report_per_user_series_dropped`.",
        "",
        "| Reports | Per-user series | Series | Body (gzip'd) | Scrape p50 (p90) | Peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for cloud, modes in r["serving"].items():
        for name, s in modes.items():
            dropped = f", {s['dropped']:,.0f} dropped" if s["dropped"] else ""
            lines.append(
                f"| {CLOUDS[cloud]}, {r['rounds'][cloud]['reports']:,} | {name}{dropped} | "
                f"{s['series']:,} | {mib(s['bytes'])} ({mib(s['gzip_bytes'])}) | "
                f"**{ms(s['scrape']['p50'])}** ({ms(s['scrape']['p90'])}) | "
                f"**{mib(s['peak_rss_bytes'])}** |")
    lines += [SECTION_END, ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--clouds", default="tencent,alibaba,aws")
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--max-series", type=int, default=250000)
    parser.add_argument("--work", default=os.path.join(TARGET, "bench-organization"),
                        help="where the rounds write their reports (kept, for a look)")
    parser.add_argument("--command", default="python3 benches/organization.py")
    parser.add_argument("--out", help="where to write the figures as JSON")
    parser.add_argument("--markdown", help="splice a section into this file (RESULTS.md)")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    results = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "machine": machine(), "members": args.members, "users": args.users,
               "scrapes": args.scrapes, "max_series": args.max_series,
               "rounds": {}, "serving": {}}
    for cloud in args.clouds.split(","):
        f = fetch_round(cloud, args.members, args.users, args.work)
        results["rounds"][cloud] = f
        print(json.dumps(f), flush=True)
        folder = f["dir"]
        results["serving"][cloud] = {
            "off": serve(folder, args.scrapes, "--metrics.per-user=false"),
            "on": serve(folder, args.scrapes, f"--metrics.max-per-user-series={args.max_series}"),
        }
    write_figures(results, args.out, "organization")
    text = markdown(results, args.command)
    print(text)
    if args.markdown:
        splice(args.markdown, text, SECTION_START, SECTION_END)


if __name__ == "__main__":
    main()
