#!/usr/bin/env python3
"""Peak memory while reading one report, for the hostile shapes of issue 27 and the
well-formed 100,000-user report, against the bound the reader keeps: 1.2 times the file's
size plus 20 MiB. Each shape is generated here (none is committed) into a folder of its
own, then read by the release binary twice: the exporter serving that folder (peak RSS,
VmHWM, once it is ready, before any scrape), and `check --format json` of the file (its
maximum resident set size). `--report.max-bytes 1GiB` on both, so that every shape reaches
the reader rather than the size limit.

    cargo build --release --bins
    python3 benches/hostile_memory.py [--binary PATH] [--before PATH] [--markdown benches/RESULTS.md]

Then, at the default `--report.max-bytes`, the two reports that bound what it lets in (the
well-formed one, and the most users a byte can make), each read and read again.

`--before` reads every shape with a second build too (one that streams: before issue 27's
reader some took gigabytes).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import RELEASE, machine, splice, write_figures  # noqa: E402
from scrape_large import Process, scrape  # noqa: E402

MIB = 1 << 20
SECTION_START = "<!-- hostile_memory.py: start -->"
SECTION_END = "<!-- hostile_memory.py: end -->"
MAX_BYTES = ["--report.max-bytes", "1GiB"]


PROVIDERS = ("tencent-cam", "aws-iam", "alibaba-ram")


def header_of(provider):
    with tempfile.TemporaryDirectory() as folder:
        generate(folder, 1, provider)
        with open(os.path.join(folder, "account-0000.csv"), encoding="utf-8-sig") as f:
            return f.readline().rstrip("\r\n")


def tencent_header():
    return header_of("tencent-cam")


def generate(folder, users, provider="tencent-cam"):
    subprocess.run([os.path.join(RELEASE, "generate-reports"), "--users", str(users),
                    "--seed", "1", "--out", folder, "--provider", provider], check=True,
                   stdout=subprocess.DEVNULL)


def write_repeated(path, head, unit, size, tail=b""):
    """`head`, then whole `unit`s up to about `size` bytes in all, then `tail`."""
    with open(path, "wb") as f:
        f.write(head)
        units = (size - len(head) - len(tail)) // len(unit)
        per_block = max(1, (4 * MIB) // len(unit))
        while units > 0:
            f.write(unit * min(units, per_block))
            units -= per_block
        f.write(tail)


def tiny(provider, column):
    """The cell of `column` in the row that makes the most users and keys a byte can: every
    cell empty but one-letter ids and names and whatever makes a key (Tencent: a SecretId;
    AWS: a rotation date, here unreadable; Alibaba: `true` in each of its five `_exist`)."""
    if provider == "tencent-cam":
        return {"AccountID": "1", "Username": "u"}.get(
            column, "k" if column.endswith("SecretId") else "")
    if provider == "aws-iam":
        return "x" if column.endswith("_last_rotated") and "key" in column else ""
    if column == "user":
        return "u"
    return "true" if "key" in column and column.endswith("_exist") else ""


def valid(provider, column):
    """The cell of `column` in the shortest row with no unreadable cell: one-letter names,
    `N/A` where a state is needed, dates left empty (no date), no keys."""
    flags = {"PasswordEnabled", "LoginConsoleActive", "LoginProtectionActive",
             "OperationProtectionActive", "MFADeviceActive", "password_enabled", "mfa_active",
             "password_exist", "password_active"}
    cells = {"AccountID": "1", "Username": "u", "user": "u", "UserType": "subuser",
             "Abnormal LoginsNumWithin30Days": "0"}
    if provider == "aws-iam":
        cells["arn"] = "arn::iam::1:"
    if provider == "alibaba-ram" and column.endswith("_exist"):
        return "N/A"
    return "N/A" if column in flags else cells.get(column, "")


def row_of(header, cell):
    return (",".join(cell(column) for column in header.split(",")) + "\n").encode()


def provider_shapes(provider):
    header = header_of(provider)
    head = header.encode() + b"\n"
    columns = header.count(",") + 1
    size = 40_000_000
    return [
        (f"{provider}-letters", f"{provider}: rows of {columns} one-letter cells",
         lambda p: write_repeated(p, head, row_of(header, lambda _: "x"), size)),
        (f"{provider}-commas", f"{provider}: rows of only commas (empty spreadsheet rows)",
         lambda p: write_repeated(p, head, b"," * (columns - 1) + b"\n", size)),
        (f"{provider}-tiny", f"{provider}: rows of `{row_of(header, lambda c: tiny(provider, c)).decode().strip()}`"
         " (the most users and keys a byte can make)",
         lambda p: write_repeated(p, head, row_of(header, lambda c: tiny(provider, c)), size)),
        (f"{provider}-valid", f"{provider}: the shortest valid rows, "
         f"`{row_of(header, lambda c: valid(provider, c)).decode().strip()}`",
         lambda p: write_repeated(p, head, row_of(header, lambda c: valid(provider, c)), size)),
    ]


def shapes():
    """(name, what it is, how to write it into a path, peak measured before, in the issue)."""
    header = tencent_header().encode()
    hostile = [
        ("header-commas", "a 4 MB file whose header is only commas",
         lambda p: write_repeated(p, b"", b",", 4_000_000, b"\n"), "265 MB serving"),
        ("comma-rows", "a Tencent header, then 40 MB of rows that are only commas (1 MiB each)",
         lambda p: write_repeated(p, header + b"\n", b"," * (MIB - 1) + b"\n", 40_000_000),
         "2.57 GB in check"),
        ("bare-newlines", "45 MB of bare newlines",
         lambda p: write_repeated(p, b"", b"\n", 45_000_000), "3.6 GB asked"),
        ("one-line", "one 250 MB line",
         lambda p: write_repeated(p, b"", b"A", 250_000_000, b"\n"), "523 MB"),
    ]
    tiny_rows = [(name, what, write, "") for provider in PROVIDERS
                 for name, what, write in provider_shapes(provider)]
    return hostile + tiny_rows + [
        ("well-formed", "the 100,000-user report of `generate-reports --users 100000 --seed 1`",
         None, "50 MiB for 23 MiB"),
    ]


def serve_peak(binary, folder, name, *flags):
    """The exporter's peak RSS once it has read the folder, and its verdict on the file."""
    server = Process([binary, "--report.dir", folder, "--web.listen-address",
                      "127.0.0.1:{port}", *MAX_BYTES, *flags])
    try:
        server.wait_for("/-/ready")
        peak = server.status("VmHWM")
        time.sleep(0.2)
        errors = [line for _, line in server.log if "level=error" in line and name in line]
        return peak, reason(errors[0]) if errors else "served"
    finally:
        server.stop()


def check_peak(binary, path):
    """`check`'s maximum resident set size on the file, and its first complaint. Taken by
    /usr/bin/time, which forks small: a child forked from this script starts with the
    script's own pages, which the kernel would count as the child's peak."""
    with tempfile.NamedTemporaryFile("r") as peak:
        process = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", peak.name, binary, "check", "--format", "json",
             "--fail-on", "never", *MAX_BYTES, path],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert process.returncode in (0, 1, 2), process.stderr[-2000:]
        peak_bytes = int(peak.read().split()[-1]) * 1024
    lines = [line for line in process.stderr.splitlines() if "line" in line]
    return peak_bytes, reason(lines[0]) if lines else "read"


def reason(line):
    """The cause in a log line or `check` complaint, without the file's path."""
    found = re.search(r'error="([^"\\]*(?:\\.[^"\\]*)*)"', line)
    text = found.group(1) if found else line.split("): ", 1)[-1]
    return text.replace('\\"', '"').replace("\\'", "'")[:110]


def measure(binary, before, only):
    results = []
    for name, what, write, issue in shapes():
        if only and name not in only:
            continue
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, f"{name}.csv")
            if write:
                write(path)
            else:
                generate(folder, 100_000)
                os.rename(os.path.join(folder, "account-0000.csv"), path)
            size = os.path.getsize(path)
            row = {"shape": name, "what": what, "bytes": size, "issue": issue,
                   "bound_bytes": int(1.2 * size + 20 * MIB)}
            row["serve_peak_bytes"], row["serve_outcome"] = serve_peak(binary, folder, name)
            row["serve_aggregates_peak_bytes"], _ = serve_peak(
                binary, folder, name, "--metrics.per-user=false")
            row["check_peak_bytes"], row["check_outcome"] = check_peak(binary, path)
            if before:
                row["before_serve_peak_bytes"], _ = serve_peak(before, folder, name)
                row["before_check_peak_bytes"], _ = check_peak(before, path)
            print(row, file=sys.stderr)
            results.append(row)
    return results


def reload_peaks(binary, max_bytes):
    """At `max_bytes` (the default's size): for the well-formed report and the tiny users,
    each as large as the limit lets it be, the exporter's peak RSS (default flags, per-user
    series on) once it has read the file, once the file is rewritten and read again,
    while the version before is still held for serving, and after one scrape."""
    rows = []
    header = tencent_header().encode()
    for name in ("well-formed", "tencent-cam-tiny"):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, f"{name}.csv")
            if name == "tencent-cam-tiny":
                tiny_row = row_of(header.decode(), lambda c: tiny("tencent-cam", c))
                write_repeated(path, header + b"\n", tiny_row, max_bytes - 1)
            else:
                # 100,000 users are 20.6 MiB: as many as fill the limit.
                generate(folder, int(100_000 * max_bytes / 21_589_146 * 0.99))
                os.rename(os.path.join(folder, "account-0000.csv"), path)
            server = Process([binary, "--report.dir", folder, "--web.listen-address",
                              "127.0.0.1:{port}", "--log.level", "debug",
                              "--watch.debounce", "250ms"])
            try:
                server.wait_for("/-/ready")
                loaded = server.status("VmHWM")
                with open(path, "rb") as f:
                    contents = f.read()
                with open(path + ".tmp", "wb") as f:
                    f.write(contents)
                del contents
                os.rename(path + ".tmp", path)
                started = time.monotonic()
                while sum("report loaded" in line for _, line in server.log) < 2:
                    assert time.monotonic() - started < 120, server.log[-5:]
                    time.sleep(0.05)
                reloaded = server.status("VmHWM")
                status, seconds, body, _ = scrape(server.port, timeout=600)
                assert status == 200, status
                rows.append({"shape": name, "bytes": os.path.getsize(path),
                             "users": int(re.findall(r"users=(\d+)", "\n".join(
                                 line for _, line in server.log))[-1]),
                             "loaded_peak_bytes": loaded,
                             "reloaded_peak_bytes": reloaded,
                             "scraped_peak_bytes": server.status("VmHWM"),
                             "scrape_bytes": len(body), "scrape_seconds": seconds})
                print(rows[-1], file=sys.stderr)
            finally:
                server.stop()
    return rows


def reading_met(r):
    """The bound holds: in `check`, and in the exporter with and without per-user series."""
    peaks = ("serve_peak_bytes", "serve_aggregates_peak_bytes", "check_peak_bytes")
    return max(r[peak] for peak in peaks) <= r["bound_bytes"]


def mib(value):
    return f"{value / MIB:.1f} MiB"


def markdown_limits(rows, max_bytes):
    lines = ["", f"At the default `--report.max-bytes` ({max_bytes // MIB} MiB), default flags "
             "(per-user series on): a report as large as it allows, read, then rewritten "
             "and read again while the version before is held for serving, then scraped "
             "once, asking for gzip (the first scrapes are encoded as they are sent, "
             "uncompressed).", "",
             "| Report | Size | Users | Peak RSS, read | Peak RSS, read again | "
             "Peak RSS, after a scrape (bytes sent, time) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['shape']} | {mib(r['bytes'])} | {r['users']:,} | "
                     f"{mib(r['loaded_peak_bytes'])} | **{mib(r['reloaded_peak_bytes'])}** | "
                     f"{mib(r['scraped_peak_bytes'])} ({mib(r['scrape_bytes'])}, "
                     f"{r['scrape_seconds']:.1f} s) |")
    return lines


def markdown(results, command, limits=()):
    lines = [SECTION_START, "## Peak memory while reading hostile reports (issue 27)", "",
             f"From one run of `{command}`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
             f"on {machine()} (shared with other work). Each shape is generated by the script "
             "into a folder of its own; the exporter serves that folder (peak RSS, VmHWM, once "
             "ready, before any scrape) and `check --format json` reads the file (maximum "
             "resident set size), both with `--report.max-bytes 1GiB` so that every shape "
             "reaches the reader; the exporter again with `--metrics.per-user=false`, which keeps "
             "no user: the reading alone. The bound: 1.2 × the file's size + 20 MiB. For each "
             "provider, rows of one-letter cells, of only commas (empty rows: no users, so the "
             "file is refused), of the most users and keys a byte can make, and the shortest "
             "rows with no unreadable cell; a user kept takes 8 bytes, a key 2, plus a byte "
             "and the text of each name and id, and 8 bytes a time present.", "",
             "| Shape | Size | Bound | Exporter peak | Exporter, `--metrics.per-user=false` | "
             "`check` peak | Outcome | Before (`--before`, or the issue) | |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        met = "met" if reading_met(r) else "NOT MET"
        before = r["issue"] and f"issue: {r['issue']}"
        if "before_serve_peak_bytes" in r:
            before = "; ".join(filter(None, [f"{mib(r['before_serve_peak_bytes'])} serving, "
                                             f"{mib(r['before_check_peak_bytes'])} `check`",
                                             before]))
        lines.append(f"| {r['what']} | {mib(r['bytes'])} | {mib(r['bound_bytes'])} | "
                     f"**{mib(r['serve_peak_bytes'])}** | {mib(r['serve_aggregates_peak_bytes'])} | "
                     f"**{mib(r['check_peak_bytes'])}** | {r['serve_outcome']} | {before} | {met} |")
    if limits:
        lines += markdown_limits(*limits)
    lines += ["", SECTION_END]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=os.path.join(RELEASE, "credential-report-exporter"))
    parser.add_argument("--before", help="a second build to read every shape with")
    parser.add_argument("--markdown", help="splice the table into this file")
    parser.add_argument("--out", help="write the figures as JSON here")
    parser.add_argument("--only", help="comma-separated shapes to read (all by default)")
    parser.add_argument("--max-bytes", type=int, default=32 * MIB,
                        help="the default --report.max-bytes, for the reload figures")
    args = parser.parse_args()
    only = args.only.split(",") if args.only else None
    results = measure(args.binary, args.before, only)
    limits = reload_peaks(args.binary, args.max_bytes)
    write_figures({"shapes": results, "at_max_bytes": limits}, args.out, "hostile_memory")
    command = "python3 benches/hostile_memory.py" + (" --before BEFORE" if args.before else "")
    section = markdown(results, command, (limits, args.max_bytes))
    print(section)
    if args.markdown:
        splice(args.markdown, section, SECTION_START, SECTION_END)
    if not all(reading_met(r) for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
