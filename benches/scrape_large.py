#!/usr/bin/env python3
"""Scrapes at scale (issue 11): one 100,000-user report with per-user series, scraped as
Prometheus scrapes it, by this tree's exporter, by the exporter as it was before (a build
of an older commit, --baseline), and by node_exporter's textfile collector serving the
same series written by a Python script (benches/textfile_writer.py), all in one run.

Release builds only; standard library only. Every time is a real HTTP scrape on
loopback, to the last byte; every memory figure is the kernel's (VmHWM, VmRSS), with the
high-water mark reset (`5 > /proc/PID/clear_refs`, which needs the process's owner or
root) between phases so that each phase's peak is its own.

    scrape_large.py --baseline OLD/credential-report-exporter [--markdown benches/RESULTS.md]
"""

import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib

from bench_common import ROOT, RELEASE, machine, splice, write_figures

MIB = 1024 * 1024
# What Prometheus 2.x sends (scrape.go): OpenMetrics first, gzip always.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                     "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
USERS_LINE = re.compile(rb'^credential_report_users\{report="[^"]+",user_type="[^"]+"\} (\d+)$', re.M)
SECTION_START = "<!-- scrape_large.py: begin -->"
SECTION_END = "<!-- scrape_large.py: end -->"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A server process, its log collected, its memory read from /proc."""

    def __init__(self, command):
        self.port = free_port()
        self.process = subprocess.Popen(
            [part.replace("{port}", str(self.port)) for part in command],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log = []
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self):
        for line in self.process.stderr:
            self.log.append((time.monotonic(), line.rstrip("\n")))

    def status(self, field):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise KeyError(field)

    def reset_peak(self):
        with open(f"/proc/{self.process.pid}/clear_refs", "w") as f:
            f.write("5")

    def wait_for(self, path, limit=300):
        started = time.monotonic()
        while time.monotonic() - started < limit:
            try:
                if scrape(self.port, path, gzip=False, accept="*/*")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError("not ready:\n" + "\n".join(l for _, l in self.log[-20:]))

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def scrape(port, path="/metrics", gzip=True, accept=PROMETHEUS_ACCEPT, timeout=120):
    """One scrape on a new connection: (status, seconds to the last byte, body as sent,
    Content-Encoding)."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Accept": accept}
    if gzip:
        headers["Accept-Encoding"] = "gzip"
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    seconds = time.monotonic() - started
    connection.close()
    return response.status, seconds, body, response.getheader("Content-Encoding")


def plain(body, encoding):
    return zlib.decompress(body, 16 + zlib.MAX_WBITS) if encoding == "gzip" else body


def users_served(body, encoding):
    """The users counted by credential_report_users, from the head of the body only (the
    aggregates come before the per-user series), without decompressing all of it."""
    if encoding == "gzip":
        head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body[:1 << 20], 4 << 20)
    else:
        head = body[:4 << 20]
    return sum(int(n) for n in USERS_LINE.findall(head))


def samples(text):
    return sum(1 for line in text.split(b"\n") if line and not line.startswith(b"#"))


def summary(times):
    times = sorted(times)
    return {"n": len(times), "p50": statistics.median(times),
            "p90": times[min(len(times) - 1, int(len(times) * 0.9))], "max": times[-1]}


def concurrently(port, clients, rounds, gzip):
    """`clients` scrapes at once, `rounds` times; every scrape's seconds."""
    times, errors = [], []

    def one():
        try:
            status, seconds, _, _ = scrape(port, gzip=gzip)
            assert status == 200, status
            times.append(seconds)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))

    for _ in range(rounds):
        threads = [threading.Thread(target=one) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise RuntimeError(f"concurrent scrapes failed: {errors[:3]}")
    return times


def drop_last_row(path):
    """A new version of the report, one user fewer, renamed over the old as writers should."""
    with open(path, "rb") as f:
        data = f.read()
    cut = data.rstrip(b"\n").rfind(b"\n") + 1
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(data[:cut])
    os.rename(temporary, path)


def first_scrape_after_reload(server, path, users, gzip, settle=False):
    """Rewrites the report and scrapes at once, again and again, until a scrape serves
    the new version: that scrape's time is the first scrape after the reload. Then waits
    for the gzip'd body, so that the next round starts from a settled exporter."""
    drop_last_row(path)
    written = time.monotonic()
    while True:
        status, seconds, body, encoding = scrape(server.port, gzip=gzip)
        assert status == 200
        served = users_served(body, encoding)
        if served == users - 1:
            first_encoding = encoding or "identity"
            while settle and encoding is None and time.monotonic() - written < 120:
                time.sleep(0.05)
                encoding = scrape(server.port, gzip=gzip)[3]
            return seconds, first_encoding
        if time.monotonic() - written > 120:
            raise RuntimeError(f"still {served} users after 120 s")


def reload_without_scrapes(server, path):
    """The peak of one reload with the previous version still loaded and nobody scraping:
    what a reload costs on its own, the yardstick for serving during reloads."""
    server.reset_peak()
    drop_last_row(path)
    written = time.monotonic()
    seen = len(server.log)
    while not any("report folder rescanned" in line for _, line in server.log[seen:]):
        if time.monotonic() - written > 60:
            raise RuntimeError("no reload within 60 s")
        time.sleep(0.01)
    time.sleep(0.5)
    return server.status("VmHWM")


def exporter(binary, folder):
    server = Process([binary, "--report.dir", folder, "--web.listen-address", "127.0.0.1:{port}",
                      "--watch.debounce", "250ms"])
    server.wait_for("/-/ready")
    return server


def measure_baseline(binary, folder, path, users, rounds):
    server = exporter(binary, folder)
    try:
        result = {"reload_peak_bytes": server.status("VmHWM")}
        result["reload_peak_bytes_with_previous_version"] = reload_without_scrapes(server, path)
        users -= 1
        first = scrape(server.port)
        body = plain(first[2], first[3])
        result["body_bytes"] = len(body)
        result["samples"] = samples(body)
        result["content_encoding"] = first[3]
        times = [scrape(server.port)[1] for _ in range(rounds)]
        result["scrape"] = summary(times)
        result["peak_bytes_after_scrapes"] = server.status("VmHWM")
        after = [first_scrape_after_reload(server, path, users - i, gzip=True)[0] for i in range(3)]
        result["first_scrape_after_reload"] = summary(after)
        return result
    finally:
        server.stop()


def measure_exporter(binary, folder, path, users, rounds):
    server = exporter(binary, folder)
    try:
        result = {"reload_peak_bytes": server.status("VmHWM"),
                  "rss_bytes_after_load": server.status("VmRSS")}
        result["reload_peak_bytes_with_previous_version"] = reload_without_scrapes(server, path)
        users -= 1
        # The first scrape asking for gzip gets the body streamed while it is compressed.
        status, seconds, _, encoding = scrape(server.port)
        assert status == 200, status
        result["first_scrape_seconds"] = seconds
        result["first_scrape_encoding"] = encoding or "identity"
        started = time.monotonic()
        while encoding != "gzip":
            assert time.monotonic() - started < 60, "never gzip'd"
            time.sleep(0.01)
            status, seconds, compressed, encoding = scrape(server.port)
        result["gzip_ready_after_seconds"] = time.monotonic() - started
        body = plain(compressed, encoding)
        result["body_bytes"] = len(body)
        result["gzip_bytes"] = len(compressed)
        result["samples"] = samples(body)
        status, _, streamed, encoding = scrape(server.port, gzip=False)
        assert encoding is None
        strip = re.compile(rb"^process_.*\n", re.M)
        result["gzip_and_plain_bodies_equal"] = strip.sub(b"", streamed) == strip.sub(b"", body)
        del body, streamed, compressed

        result["gzip_scrape"] = summary([scrape(server.port)[1] for _ in range(rounds)])
        result["plain_scrape"] = summary([scrape(server.port, gzip=False)[1] for _ in range(5)])

        server.reset_peak()
        time.sleep(0.2)
        result["rss_bytes_before_plain"] = server.status("VmRSS")
        serial = [scrape(server.port, gzip=False)[1] for _ in range(3)]
        result["plain_4_concurrent"] = summary(concurrently(server.port, 4, 3, gzip=False))
        result["peak_bytes_plain"] = server.status("VmHWM")
        del serial

        server.reset_peak()
        time.sleep(0.2)
        result["gzip_4_concurrent"] = summary(concurrently(server.port, 4, 5, gzip=True))
        result["peak_bytes_gzip"] = server.status("VmHWM")

        server.reset_peak()
        after = [first_scrape_after_reload(server, path, users - i, gzip=True, settle=True) for i in range(3)]
        result["first_gzip_scrape_after_reload"] = summary([seconds for seconds, _ in after])
        result["first_gzip_scrape_after_reload_encodings"] = [encoding for _, encoding in after]
        result["peak_bytes_across_reloads"] = server.status("VmHWM")
        after = [first_scrape_after_reload(server, path, users - 3 - i, gzip=False)[0] for i in range(2)]
        result["first_plain_scrape_after_reload"] = summary(after)
        result["process_cpu_seconds"] = cpu_seconds(server.process.pid)
        return result
    finally:
        server.stop()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_textfile(node_exporter, report, rounds, concurrent):
    """The Python writer's run, then node_exporter serving its file."""
    directory = tempfile.mkdtemp(prefix="textfile-")
    try:
        out = os.path.join(directory, "credential_report.prom")
        # Its own peak, not that of every child this script ran.
        runner = ("import resource, runpy, sys; sys.argv = sys.argv[1:]; "
                  "runpy.run_path(sys.argv[0], run_name='__main__'); "
                  "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-c", runner, os.path.join(ROOT, "benches/textfile_writer.py"),
                               report, out, "--report-name", "account-0000"],
                              check=True, capture_output=True, text=True)
        result = {"writer_seconds": time.monotonic() - started,
                  "writer_peak_bytes": int(done.stdout.split()[-1]) * 1024,
                  "prom_file_bytes": os.path.getsize(out)}
        server = Process([node_exporter, "--web.listen-address=127.0.0.1:{port}",
                          "--collector.disable-defaults", "--collector.textfile",
                          f"--collector.textfile.directory={directory}"])
        try:
            server.wait_for("/")
            result["rss_bytes_before_scrapes"] = server.status("VmRSS")
            status, seconds, body, encoding = scrape(server.port)
            assert status == 200, status
            text = plain(body, encoding)
            result["first_scrape_seconds"] = seconds
            result["content_encoding"] = encoding
            result["body_bytes"] = len(text)
            result["gzip_bytes"] = len(body) if encoding == "gzip" else None
            result["samples"] = samples(text)
            result["textfile_error"] = re.search(rb"^node_textfile_scrape_error 1$", text, re.M) is not None
            del text, body
            result["gzip_scrape"] = summary([scrape(server.port)[1] for _ in range(rounds)])
            result["peak_bytes_serial"] = server.status("VmHWM")
            # Four at once needs several GiB for a large file: only where the machine has room.
            if concurrent:
                result["gzip_4_concurrent"] = summary(concurrently(server.port, 4, 1, gzip=True))
            result["peak_bytes"] = server.status("VmHWM")
        finally:
            server.stop()
        return result
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def ms(seconds):
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def mib(n):
    return f"{n / MIB:.1f} MiB"


def verdict(ok):
    return "met" if ok else "**missed**"


def markdown(r, command):
    old, new, tf = r["baseline"], r["exporter"], r["textfile"]
    ceiling = new["reload_peak_bytes"] + 32 * MIB
    reload_ceiling = new["reload_peak_bytes_with_previous_version"] + 32 * MIB
    ratio = old["scrape"]["p50"] / new["gzip_scrape"]["p50"]
    first_after = new["first_gzip_scrape_after_reload"]["p50"]
    today_first = old["first_scrape_after_reload"]["p50"]
    rows = [
        ("Scrape of the unchanged report, `Accept-Encoding: gzip` as Prometheus sends it, p50 "
         f"(p90 {ms(new['gzip_scrape']['p90'])}, {new['gzip_scrape']['n']} scrapes; "
         f"{mib(new['gzip_bytes'])} sent for a {mib(new['body_bytes'])} body)",
         f"{ms(new['gzip_scrape']['p50'])} vs today's uncompressed render {ms(old['scrape']['p50'])} "
         f"= **{ratio:.0f}× faster**", "≥ 20×", verdict(ratio >= 20)),
        ("Peak RSS while serving without gzip: serial and 4 concurrent streamed scrapes "
         f"(p50 {ms(new['plain_4_concurrent']['p50'])} each), vs the reload's peak "
         f"{mib(new['reload_peak_bytes'])}",
         f"**{mib(new['peak_bytes_plain'])}** (+{mib(new['peak_bytes_plain'] - new['reload_peak_bytes'])})",
         f"≤ {mib(ceiling)}", verdict(new["peak_bytes_plain"] <= ceiling)),
        ("Peak RSS while serving gzip: 4 concurrent scrapes "
         f"(p50 {ms(new['gzip_4_concurrent']['p50'])} each), vs the reload's peak",
         f"**{mib(new['peak_bytes_gzip'])}** (+{mib(new['peak_bytes_gzip'] - new['reload_peak_bytes'])})",
         f"≤ {mib(ceiling)}", verdict(new["peak_bytes_gzip"] <= ceiling)),
        ("First gzip scrape after a reload (the report rewritten, scraped at once until the new "
         "version is served; median of 3)",
         f"**{ms(first_after)}** vs today's {ms(today_first)}", "no slower",
         verdict(first_after <= today_first)),
        ("First uncompressed scrape after a reload (streamed; median of 2)",
         ms(new["first_plain_scrape_after_reload"]["p50"]), "", ""),
        ("Uncompressed scrape of the unchanged report, streamed (p50 of 5)",
         ms(new["plain_scrape"]["p50"]), "", ""),
        ("Peak RSS across those reloads, served gzip'd before, during and after them, vs a reload's "
         f"peak with the previous version loaded and no scrapes ({mib(new['reload_peak_bytes_with_previous_version'])})",
         f"**{mib(new['peak_bytes_across_reloads'])}** "
         f"(+{mib(new['peak_bytes_across_reloads'] - new['reload_peak_bytes_with_previous_version'])})",
         f"≤ {mib(reload_ceiling)}", verdict(new["peak_bytes_across_reloads"] <= reload_ceiling)),
        ("Today's exporter: peak RSS after loading, after a reload with nobody scraping, and after its scrapes",
         f"{mib(old['reload_peak_bytes'])}, {mib(old['reload_peak_bytes_with_previous_version'])}, "
         f"{mib(old['peak_bytes_after_scrapes'])}", "", ""),
        ("node_exporter textfile collector serving the Python script's file of the same series "
         f"({tf['samples']:,} samples vs our {new['samples']:,}): gzip scrape p50 "
         f"(p90 {ms(tf['gzip_scrape']['p90'])})",
         f"{ms(tf['gzip_scrape']['p50'])} (ours: {ms(new['gzip_scrape']['p50'])})", "", ""),
        ("node_exporter textfile collector: peak RSS, "
         + ("serial and 4 concurrent scrapes " if "gzip_4_concurrent" in tf else "serial scrapes only ")
         +
         f"(RSS before scraping {mib(tf['rss_bytes_before_scrapes'])})",
         f"{mib(tf['peak_bytes'])} (ours: {mib(max(new['peak_bytes_gzip'], new['peak_bytes_plain']))})", "", ""),
        ("The Python script writing the .prom file from the report",
         f"{tf['writer_seconds']:.1f} s, peak RSS {mib(tf['writer_peak_bytes'])}, "
         f"{mib(tf['prom_file_bytes'])} written (ours reads the report in "
         f"{r['exporter_ready_seconds']:.2f} s)", "", ""),
    ]
    lines = [
        SECTION_START,
        "## Scrapes at scale (issue 11)",
        "",
        f"From one run of `{command}`, {r['run']}, on {r['machine']}: a **shared** 2-core machine "
        "(other work ran beside it), so the absolute times are noisy; each ratio compares figures "
        "taken minutes apart in the same run. One report, "
        f"`generate-reports --users {r['users']} --files 1 --seed {r['seed']}` "
        f"({mib(r['csv_bytes'])}), per-user series on. \"Today's\" is the exporter built from "
        f"commit {r['baseline_commit']} (release), scraped the same way (it ignores "
        "`Accept-Encoding`). node_exporter is Debian's prometheus-node-exporter "
        f"{r['node_exporter_version']} with only the textfile collector.",
        "",
        "| What | Figure | Target | |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += ["", f"Bodies: gzip'd and streamed hold the same text: {new['gzip_and_plain_bodies_equal']}. "
              f"node_exporter's textfile collector reported an error: {tf['textfile_error']}.",
              "",
              "Reading the memory rows: the reload's peak is the first load's (nothing else in memory). "
              "While a reload runs, the previous version's data and its compressed body are still "
              "served, and the reload compresses the new body before it swaps it in (once a client "
              "has asked for gzip), so the first scrape of a new version is already gzip'd; the row "
              "\"across those reloads\" scrapes without pause through three reloads and shows that "
              "sum. Times are from a shared machine and vary from run to run.",
              SECTION_END]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="today's exporter, a release build of --baseline-commit")
    parser.add_argument("--baseline-commit", default="3c4cc9a")
    parser.add_argument("--binary", help="the exporter to measure (default: this tree's release build)")
    parser.add_argument("--node-exporter", default="/usr/bin/prometheus-node-exporter")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", default=None, help="JSON figures (default: bench-results/scrape_large.json in the target folder)")
    parser.add_argument("--markdown", help="splice the figures into this Markdown file (benches/RESULTS.md)")
    parser.add_argument("--command", default="benches/scrape_large.py")
    args = parser.parse_args()

    binary = args.binary or os.path.join(RELEASE, "credential-report-exporter")
    generator = os.path.join(RELEASE, "generate-reports")
    for needed in (binary, args.baseline, generator, args.node_exporter):
        if not os.access(needed, os.X_OK):
            sys.exit(f"{needed} is missing: build with `cargo build --release --bins`, the baseline in "
                     "a checkout of --baseline-commit, and `apt-get install prometheus-node-exporter`")
    version = subprocess.run([args.node_exporter, "--version"], capture_output=True, text=True)
    node_version = re.search(r"version (\S+)", version.stdout + version.stderr)

    folder = tempfile.mkdtemp(prefix="credential-reports-")
    try:
        subprocess.run([generator, "--users", str(args.users), "--files", "1", "--seed", str(args.seed),
                        "--out", folder], check=True)
        path = os.path.join(folder, "account-0000.csv")
        pristine = open(path, "rb").read()
        results = {"users": args.users, "seed": args.seed, "csv_bytes": len(pristine),
                   "baseline_commit": args.baseline_commit, "machine": machine(),
                   "node_exporter_version": node_version.group(1) if node_version else "unknown",
                   "run": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}

        results["baseline"] = measure_baseline(args.baseline, folder, path, args.users, max(5, args.rounds // 4))
        print(f"baseline: {results['baseline']}", file=sys.stderr)

        with open(path, "wb") as f:
            f.write(pristine)
        started = time.monotonic()
        probe = exporter(binary, folder)
        results["exporter_ready_seconds"] = time.monotonic() - started
        probe.stop()
        results["exporter"] = measure_exporter(binary, folder, path, args.users, args.rounds)
        print(f"exporter: {results['exporter']}", file=sys.stderr)

        with open(path, "wb") as f:
            f.write(pristine)
        results["textfile"] = measure_textfile(args.node_exporter, path, max(5, args.rounds // 4),
                                               concurrent=args.users <= 20_000)
        print(f"textfile: {results['textfile']}", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    write_figures(results, args.out, "scrape_large")
    section = markdown(results, args.command)
    if args.markdown:
        splice(args.markdown, section, SECTION_START, SECTION_END)
    print(section)


if __name__ == "__main__":
    main()
