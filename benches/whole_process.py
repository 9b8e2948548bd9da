#!/usr/bin/env python3
"""Whole-process figures of the real exporter binary on 1,000 generated reports of 1,000
users: cold start, one changed report, peak memory, and idle CPU.

Run by benches/run.sh after `cargo build --release`; standard library only. It writes its
figures as JSON (default bench-results/whole_process.json in the target folder). Every
figure comes from the kernel (/proc) or a real HTTP scrape on loopback; nothing is estimated.
"""

import argparse
import csv
import datetime
import io
import json
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
import urllib.request

from bench_common import RELEASE, write_figures

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
DEBOUNCE_MS = 250  # the exporter's default --watch.debounce


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    """The real binary on `folder`, with its log collected and /proc read for its figures."""

    def __init__(self, binary, folder, flags):
        self.port = free_port()
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [binary, "--report.dir", folder,
             "--web.listen-address", f"127.0.0.1:{self.port}",
             "--watch.debounce", f"{DEBOUNCE_MS}ms", *flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log = []
        threading.Thread(target=self._collect_log, daemon=True).start()

    def _collect_log(self):
        for line in self.process.stderr:
            self.log.append((time.monotonic(), line.rstrip("\n")))

    def get(self, path, timeout=60):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as r:
            return r.status, r.read()

    def wait_ready(self, limit=120):
        while time.monotonic() - self.started < limit:
            try:
                if self.get("/-/ready", timeout=5)[0] == 200:
                    return time.monotonic()
            except OSError:
                pass
            time.sleep(0.002)
        raise RuntimeError("exporter not ready:\n" + "\n".join(l for _, l in self.log[-20:]))

    def status(self, field):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024  # kB
        raise KeyError(field)

    def cpu_ticks(self):
        """utime + stime of the whole process, dead threads included, in clock ticks."""
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def threads_cpu_ns(self):
        """Time on CPU of each live thread, in nanoseconds (schedstat), and its wakeups."""
        threads = {}
        for tid in os.listdir(f"/proc/{self.process.pid}/task"):
            try:
                with open(f"/proc/{self.process.pid}/task/{tid}/schedstat") as f:
                    on_cpu = int(f.read().split()[0])
                with open(f"/proc/{self.process.pid}/task/{tid}/status") as f:
                    switches = sum(int(l.split()[1]) for l in f
                                   if l.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))
                threads[tid] = (on_cpu, switches)
            except FileNotFoundError:
                pass
        return threads

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def metric(body, name_and_labels):
    prefix = name_and_labels + " "
    for line in body.decode().splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    return None


def reloads(body):
    """Successful reloads of every report, from credential_report_reloads_total."""
    pattern = re.compile(r'^credential_report_reloads_total\{report="([^"]+)",result="success"\} (\d+)$')
    found = {}
    for line in body.decode().splitlines():
        m = pattern.match(line)
        if m:
            found[m.group(1)] = int(m.group(2))
    return found


def cold_start(binary, folder, reports, flags):
    """Process start → folder scanned and every report read (ready) → first full scrape."""
    exporter = Exporter(binary, folder, flags)
    try:
        ready = exporter.wait_ready()
        peak_after_load = exporter.status("VmHWM")
        rss_after_load = exporter.status("VmRSS")
        cpu_at_ready = exporter.cpu_ticks() / TICKS
        scrape_started = time.monotonic()
        status, body = exporter.get("/metrics")
        done = time.monotonic()
        up = len(re.findall(rb'^credential_report_up\{report="[^"]+"\} 1$', body, re.M))
        assert status == 200 and up == reports, f"{up} of {reports} reports up"
        return exporter, {
            "flags": " ".join(flags),
            "ready_seconds": ready - exporter.started,
            "first_scrape_seconds": done - scrape_started,
            "cold_start_seconds": done - exporter.started,
            "cpu_seconds_at_ready": cpu_at_ready,
            "cores_used_while_loading": cpu_at_ready / (ready - exporter.started),
            "scrape_bytes": len(body),
            "peak_rss_bytes_after_load": peak_after_load,
            "rss_bytes_after_load": rss_after_load,
        }
    except BaseException:
        exporter.stop()
        raise


def change_one_report(exporter, folder, names, rounds):
    """Rewrites one report (its last row dropped, written to a temporary file renamed over
    it) and scrapes until the new count is served. Latency is from the rename plus the
    debounce to the end of the first scrape that serves the new value: an upper bound,
    as it includes up to two scrapes of all 1,000 reports by the polling client."""
    before = exporter.get("/metrics")[1]
    reloads_before = reloads(before)
    latencies, swaps, scrape_times, changed = [], [], [], []
    for round_ in range(rounds):
        name = names[(len(names) // 2 + 97 * round_) % len(names)]
        path = os.path.join(folder, name + ".csv")
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
        rows = list(csv.reader(io.StringIO(text)))
        user_type = {"Sub-user": "sub_user", "Collaborator": "collaborator",
                     "WeWork-Sub-user": "wecom_sub_user",
                     "Message-receiver": "message_receiver"}[rows[-1][2]]
        series = f'credential_report_users{{report="{name}",user_type="{user_type}"}}'
        old = metric(exporter.get("/metrics")[1], series)
        lines = text.splitlines(keepends=True)
        temporary = path + ".tmp"
        with open(temporary, "w", encoding="utf-8", newline="") as f:
            f.writelines(lines[:-1])
        os.rename(temporary, path)
        written, written_wall = time.monotonic(), time.time()
        while True:
            started = time.monotonic()
            body = exporter.get("/metrics")[1]
            done = time.monotonic()
            if metric(body, series) == old - 1:
                break
            scrape_times.append(done - started)
            if done - written > 30:
                raise RuntimeError(f"{name} not reloaded after 30 s")
        latencies.append(done - written - DEBOUNCE_MS / 1000)
        # The exporter logs each rescan once its files are read, just before it swaps the
        # snapshot: from the end of the debounce to there is the exporter's own share.
        rescanned = [l for t, l in exporter.log if t >= written and "report folder rescanned" in l]
        if rescanned:
            stamp = re.search(r"ts=(\S+)Z", rescanned[0]).group(1)
            logged = datetime.datetime.fromisoformat(stamp[:26]).replace(
                tzinfo=datetime.timezone.utc).timestamp()
            swaps.append(logged - written_wall - DEBOUNCE_MS / 1000)
        changed.append(name)
        time.sleep(0.5)
    after = reloads(exporter.get("/metrics")[1])
    rereads = {n: after[n] - reloads_before.get(n, 0) for n in after if after[n] != reloads_before.get(n, 0)}
    others_reread = {n: c for n, c in rereads.items() if n not in changed}
    rescans = [l for _, l in exporter.log if "report folder rescanned" in l]
    return {
        "rounds": rounds,
        "debounce_ms": DEBOUNCE_MS,
        "latency_after_debounce_ms": [round(l * 1000, 1) for l in latencies],
        "latency_after_debounce_ms_median": round(statistics.median(latencies) * 1000, 1),
        "latency_after_debounce_ms_max": round(max(latencies) * 1000, 1),
        "rescanned_after_debounce_ms": [round(l * 1000, 1) for l in swaps],
        "rescanned_after_debounce_ms_max": round(max(swaps) * 1000, 1) if swaps else None,
        "scrape_ms_median": round(statistics.median(scrape_times) * 1000, 1) if scrape_times else None,
        "changed_reports_reread": {n: rereads.get(n, 0) for n in changed},
        "other_reports_reread": others_reread,
        "rescan_log": rescans[-rounds:],
    }


def idle(exporter, seconds):
    """CPU time of the loaded, untouched exporter over `seconds`. Threads are summed from
    schedstat (nanoseconds); utime+stime (clock ticks, dead threads too) cross-checks."""
    # Let the runtime's blocking threads, kept 10 s after their last job, exit first.
    time.sleep(12)
    threads_before, ticks_before = exporter.threads_cpu_ns(), exporter.cpu_ticks()
    time.sleep(seconds)
    threads_after, ticks_after = exporter.threads_cpu_ns(), exporter.cpu_ticks()
    common = threads_before.keys() & threads_after.keys()
    on_cpu_ns = sum(threads_after[t][0] - threads_before[t][0] for t in common)
    wakeups = sum(threads_after[t][1] - threads_before[t][1] for t in common)
    return {
        "seconds": seconds,
        "cpu_ms": round(on_cpu_ns / 1e6, 2),
        "cpu_ms_from_ticks": (ticks_after - ticks_before) * 1000 / TICKS,
        "context_switches": wakeups,
        "threads": len(threads_after),
        "threads_started_or_ended": len(threads_before.keys() ^ threads_after.keys()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--idle-seconds", type=int, default=60)
    parser.add_argument("--change-rounds", type=int, default=5)
    parser.add_argument("--out", help="JSON figures (default: bench-results/whole_process.json in the target folder)")
    parser.add_argument("--binary", help="the exporter to measure (default: this tree's release build)")
    args = parser.parse_args()

    binary = args.binary or os.path.join(RELEASE, "credential-report-exporter")
    generator = os.path.join(RELEASE, "generate-reports")
    folder = tempfile.mkdtemp(prefix="credential-reports-")
    results = {"users": args.users, "files": args.files, "seed": args.seed}
    try:
        started = time.monotonic()
        subprocess.run([generator, "--users", str(args.users), "--files", str(args.files),
                        "--seed", str(args.seed), "--out", folder], check=True)
        results["generate_seconds"] = time.monotonic() - started
        names = sorted(n[:-4] for n in os.listdir(folder) if n.endswith(".csv"))
        results["csv_bytes"] = sum(os.path.getsize(os.path.join(folder, n + ".csv")) for n in names)
        print(f"generated {len(names)} reports, {results['csv_bytes']} bytes", file=sys.stderr)

        # Per-user metrics on (the default): load time and memory; no scrape of a million
        # users' series, which no Prometheus should take in one target.
        exporter = Exporter(binary, folder, [])
        try:
            ready = exporter.wait_ready()
            results["per_user_on"] = {
                "ready_seconds": ready - exporter.started,
                "cpu_seconds_at_ready": exporter.cpu_ticks() / TICKS,
                "peak_rss_bytes_after_load": exporter.status("VmHWM"),
                "rss_bytes_after_load": exporter.status("VmRSS"),
            }
        finally:
            exporter.stop()
        print(f"per-user on: {results['per_user_on']}", file=sys.stderr)

        # Aggregates only, as a thousand accounts would run it: cold start, one change, idle.
        exporter, results["per_user_off"] = cold_start(
            binary, folder, len(names), ["--metrics.per-user=false"])
        try:
            print(f"per-user off: {results['per_user_off']}", file=sys.stderr)
            results["change"] = change_one_report(exporter, folder, names, args.change_rounds)
            print(f"change: {results['change']}", file=sys.stderr)
            results["idle"] = idle(exporter, args.idle_seconds)
            print(f"idle: {results['idle']}", file=sys.stderr)
        finally:
            exporter.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    write_figures(results, args.out, "whole_process")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
