#!/usr/bin/env python3
"""Bounded by design, the serving side (issue 27), on the real release binary: the status
page of the largest folder read by default (10,000 reports) under 40 parallel requests and
beside 40 clients that never read it; a folder of 50,000 files, of which --report.max-files
(10,000) are read; scrapes beside 45 clients that opened /metrics of a 100,000-user report
and never read it; the gzip'd scrape of that unchanged snapshot. Memory is the kernel's
VmHWM, reset between phases (`5 > /proc/PID/clear_refs`, as scrape_large.py does).

    cargo build --release --bins
    python3 benches/serve_bounds.py [--bin-dir DIR] [--markdown benches/RESULTS.md]
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import RELEASE, machine, splice, write_figures  # noqa: E402
from scrape_large import MIB, Process, scrape, summary  # noqa: E402

SECTION_START = "<!-- serve_bounds.py: start -->"
SECTION_END = "<!-- serve_bounds.py: end -->"
STALLED = 45
PARALLEL = 40


def generate(bin_dir, folder, users, files):
    subprocess.run([os.path.join(bin_dir, "generate-reports"), "--users", str(users),
                    "--files", str(files), "--seed", "1", "--out", folder],
                   check=True, stdout=subprocess.DEVNULL)


def start(bin_dir, folder, *flags):
    server = Process([os.path.join(bin_dir, "credential-report-exporter"), "--report.dir",
                      folder, "--web.listen-address", "127.0.0.1:{port}", *flags])
    server.wait_for("/-/ready")
    return server


def gauge(port, name):
    body = scrape(port, gzip=False, accept="*/*")[2].decode()
    match = re.search(rf"^{name} (\S+)$", body, re.M)
    return float(match.group(1)) if match else None


def never_reading(port, path):
    """A client that asks for `path` and never reads: a receive buffer of 4 KiB, as
    tests/common's request_without_reading, so the server's writes stall at once."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", port))
    client.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    return client


def parallel(port, path, clients):
    """`clients` GETs of `path` at once, each read to the end: their statuses and times."""
    results = [None] * clients

    def one(i):
        status, seconds, body, _ = scrape(port, path, gzip=False, accept="*/*")
        results[i] = (status, seconds, len(body))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def status_page(bin_dir, work):
    folder = os.path.join(work, "reports-10000")
    generate(bin_dir, folder, 10_000, 10_000)
    server = start(bin_dir, folder)
    try:
        result = {"rss_after_load": server.status("VmRSS")}
        server.reset_peak()
        page = parallel(server.port, "/", PARALLEL)
        result["page_bytes"] = page[0][2]
        result["statuses"] = sorted({s for s, _, _ in page})
        result["times"] = summary([t for _, t, _ in page])
        result["peak_parallel"] = server.status("VmHWM")
        server.reset_peak()
        stalled = [never_reading(server.port, "/") for _ in range(PARALLEL)]
        time.sleep(3)
        result["peak_stalled"] = server.status("VmHWM")
        for client in stalled:
            client.close()
        return result
    finally:
        server.stop()


def many_files(bin_dir, work):
    folder = os.path.join(work, "reports-50000")
    generate(bin_dir, folder, 50_000, 50_000)
    started = time.monotonic()
    server = start(bin_dir, folder)
    try:
        result = {"ready_seconds": time.monotonic() - started}
        status, seconds, body, _ = scrape(server.port, gzip=False, accept="*/*")
        text = body.decode()
        result["reports_served"] = len(re.findall(r"^credential_report_up\{", text, re.M))
        result["skipped"] = gauge(server.port, "credential_report_files_skipped")
        result["series"] = sum(1 for line in text.splitlines() if line and line[0] != "#")
        result["body_bytes"] = len(body)
        result["peak"] = server.status("VmHWM")
        result["logged"] = sum(1 for _, line in server.log if "--report.max-files" in line)
        return result
    finally:
        server.stop()


def slow_clients(bin_dir, work):
    folder = os.path.join(work, "reports-100000")
    generate(bin_dir, folder, 100_000, 1)
    server = start(bin_dir, folder)
    try:
        # The first scrapes of each format start its compression; once made, the answers
        # are shared (a plain answer then has a Content-Length).
        started = time.monotonic()
        while scrape(server.port)[3] != "gzip":
            assert time.monotonic() - started < 120, "never gzip'd"
            time.sleep(0.05)
        while True:
            connection = socket.create_connection(("127.0.0.1", server.port))
            connection.sendall(b"GET /metrics HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            head = connection.recv(4096).lower()
            connection.close()
            if b"content-length:" in head:
                break
            assert time.monotonic() - started < 120, "plain answer never shared"
            time.sleep(0.2)
        result = {"gzip_alone": summary([scrape(server.port)[1] for _ in range(20)])}
        server.reset_peak()
        stalled = [never_reading(server.port, "/metrics") for _ in range(STALLED)]
        time.sleep(1)
        scrapes = [scrape(server.port) for _ in range(20)]
        result["statuses_beside_stalled"] = sorted({s for s, _, _, _ in scrapes})
        result["gzip_beside_stalled"] = summary([t for _, t, _, _ in scrapes])
        plain = [scrape(server.port, gzip=False) for _ in range(3)]
        result["plain_beside_stalled"] = summary([t for _, t, _, _ in plain])
        result["plain_bytes"] = len(plain[0][2])
        result["peak_beside_stalled"] = server.status("VmHWM")
        for client in stalled:
            client.close()
        return result
    finally:
        server.stop()


def markdown(r, command):
    page, files, slow = r["status_page"], r["many_files"], r["slow_clients"]
    mib = lambda n: f"{n / MIB:.1f} MiB"  # noqa: E731
    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    return "\n".join([
        SECTION_START,
        "## Bounded serving (issue 27)",
        "",
        f"From one run of `{command}`, {r['when']}, on {r['machine']} (shared with other "
        "work, so absolute times are loose; the memory figures are the kernel's).",
        "",
        "| What | Figure |",
        "|---|---|",
        f"| Status page of 10,000 reports (one user each): {PARALLEL} parallel requests, each "
        f"read to the end ({page['page_bytes'] / MIB:.1f} MiB a page, statuses "
        f"{page['statuses']}, p50 {page['times']['p50']:.2f} s) | peak RSS "
        f"**{mib(page['peak_parallel'])}** (after loading: {mib(page['rss_after_load'])}) |",
        f"| The same page, {PARALLEL} clients that never read it, 3 s | peak RSS "
        f"**{mib(page['peak_stalled'])}** |",
        f"| A folder of 50,000 report files, default `--report.max-files` (10,000): reports "
        f"served, `credential_report_files_skipped`, log lines naming a skipped file | "
        f"**{files['reports_served']:,}**, {files['skipped']:,.0f}, {files['logged']:,} |",
        f"| Its scrape: series, bytes; start to ready; peak RSS | {files['series']:,}, "
        f"{mib(files['body_bytes'])}; {files['ready_seconds']:.2f} s; {mib(files['peak'])} |",
        f"| Gzip'd scrape of an unchanged 100,000-user report, p50 (p90) of 20 | "
        f"**{ms(slow['gzip_alone']['p50'])}** ({ms(slow['gzip_alone']['p90'])}) |",
        f"| The same beside {STALLED} clients that opened its `/metrics` without gzip and "
        f"never read: statuses of 20 scrapes, p50 (p90) | {slow['statuses_beside_stalled']}, "
        f"**{ms(slow['gzip_beside_stalled']['p50'])}** ({ms(slow['gzip_beside_stalled']['p90'])}) |",
        f"| Uncompressed scrapes beside them ({mib(slow['plain_bytes'])} inflated from the "
        f"shared body), p50 of 3 | {slow['plain_beside_stalled']['p50']:.2f} s |",
        f"| Peak RSS while they stall and those scrapes run | "
        f"**{mib(slow['peak_beside_stalled'])}** |",
        "",
        "Before (issue 27's own figures, at 2c3adf4): the 45 stalled clients took all 40 "
        "`--web.max-requests` slots, and scrapes got 503 for `--web.write-timeout` (30 s).",
        SECTION_END,
        "",
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", default=RELEASE, help="where the release binaries are")
    parser.add_argument("--out", help="where to write the figures as JSON")
    parser.add_argument("--markdown", help="splice a section into this file (RESULTS.md)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        results = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": machine(),
            "status_page": status_page(args.bin_dir, work),
            "many_files": many_files(args.bin_dir, work),
            "slow_clients": slow_clients(args.bin_dir, work),
        }
    write_figures(results, args.out, "serve_bounds")
    command = "python3 benches/serve_bounds.py --markdown benches/RESULTS.md"
    text = markdown(results, command)
    print(text)
    if args.markdown:
        splice(args.markdown, text, SECTION_START, SECTION_END)


if __name__ == "__main__":
    main()
