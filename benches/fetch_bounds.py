#!/usr/bin/env python3
"""The fetcher's peak memory (issue 27): the release binary's `fetch --once` against fake
clouds on loopback, each answering what the fetcher must refuse (a 100 MB Tencent page,
Alibaba pages that never end, a 1 GiB AWS answer) or the largest report it takes (AWS in one
answer, Alibaba in 1 MiB pages). Peak RSS is GNU time's maximum resident set size. The bound
to hold: 1.5 x the largest answer (43.7 MiB) + 30 MiB = 95.5 MiB, under the Helm fetcher
container's 128 MiB limit.

    cargo build --release && benches/fetch_bounds.py --markdown benches/RESULTS.md

(benches/run.sh runs it so.) Standard library only; needs /usr/bin/time."""

import argparse
import base64
import json
import os
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import datetime

from bench_common import RELEASE, ROOT, machine, splice, write_figures

MIB = 1 << 20
GENERATED = "2026-11-24T03:04:05Z"


def report(template, size):
    """`template`'s header and rows, the rows repeated under new user names to `size` bytes."""
    lines = open(os.path.join(ROOT, "examples", "reports", template), "rb").read().splitlines()
    header, rows = lines[0], lines[1:]
    out = [header]
    total = len(header) + 1
    i = 0
    while True:
        row = rows[i % len(rows)]
        if i >= len(rows):
            name, rest = row.split(b",", 1)
            if name.startswith(b"<"):
                i += 1
                continue
            row = b"%s-%d,%s" % (name, i, rest)
        if total + len(row) + 1 > size:
            break
        out.append(row)
        total += len(row) + 1
        i += 1
    return b"\n".join(out) + b"\n"


class Fake(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    scenario = None

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.last_body = body
        action = (self.headers.get("X-TC-Action") or self.headers.get("x-acs-action")
                  or dict(p.split("=", 1) for p in body.decode().split("&") if "=" in p).get("Action"))
        self.scenario(self, action)

    def whole(self, body, content_type="application/json"):
        body = body.encode() if isinstance(body, str) else body
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stream(self, head, unit, count, tail, content_type="application/json"):
        """A body with no length, ended by closing the connection."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        block = unit * max(1, 65536 // len(unit))
        per = len(block) // len(unit)
        try:
            self.wfile.write(head)
            while count > 0:
                n = min(count, per)
                self.wfile.write(block[:n * len(unit)])
                count -= n
            self.wfile.write(tail)
        except (BrokenPipeError, ConnectionResetError):
            pass


def tencent_100mb(h, action):
    if action == "GetUserAppId":
        return h.whole('{"Response":{"OwnerUin":"100000000001","RequestId":"r"}}')
    unit = b'{"Uin":100000000002,"Name":"u","CreateTime":"2020-01-01 00:00:00"},'
    h.stream(b'{"Response":{"Data":[', unit, 100_000_000 // len(unit), b'{}],"RequestId":"r"}}')


def tencent_people(people, name_bytes):
    """CAM lists naming `people` message receivers (no per-user calls, so it takes seconds,
    not hours at CAM's rate), 1,000 a page, each with a name of `name_bytes`."""
    def scenario(h, action):
        if action == "GetUserAppId":
            return h.whole('{"Response":{"OwnerUin":"100000000001","RequestId":"r"}}')
        if action != "ListReceiver":
            return h.whole('{"Response":{"Data":[],"TotalNum":0,"TotalCount":0,"RequestId":"r"}}')
        offset = json.loads(h.last_body or b"{}").get("Offset", 0)
        page = [{"Uid": 200000000000 + i, "Name": f"r{i}-" + "x" * name_bytes}
                for i in range(offset, min(offset + 1000, people))]
        h.whole(json.dumps({"Response": {"Receivers": page, "TotalCount": people, "RequestId": "r"}}))
    return scenario


def alibaba_pages(size, pages):
    """GetCredentialReport: a report of `size` bytes in `pages` pages, each after the first
    starting with the header again; `pages` None: pages of `size` bytes that never end."""
    content = report("alibaba-prod.csv", size)
    header, rows = content.split(b"\n", 1)
    rows = rows.splitlines(keepends=True)
    per = -(-len(rows) // (pages or 1))
    chunks = [header + b"\n" + b"".join(rows[i:i + per]) for i in range(0, len(rows), per)]
    counter = iter(range(1 << 62))

    def scenario(h, action):
        if action == "GenerateCredentialReport":
            return h.whole('{"State":"COMPLETED","RequestId":"r"}')
        if action == "GetCallerIdentity":
            return h.whole('{"AccountId":"1234567890123456","RequestId":"r"}')
        n = next(counter)
        last = pages is not None and n == len(chunks) - 1
        page = chunks[n] if pages is not None else chunks[0]
        h.whole(json.dumps({"RequestId": "r", "GeneratedTime": GENERATED,
                            "Content": base64.b64encode(page).decode(),
                            "IsTruncated": "false" if last else "true",
                            "NextToken": f"t{n}"}))
    return scenario


def aws(content=None, declared_size=None):
    def scenario(h, action):
        if action == "GenerateCredentialReport":
            return h.whole('<GenerateCredentialReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GenerateCredentialReportResult><State>COMPLETE</State></GenerateCredentialReportResult></GenerateCredentialReportResponse>', "text/xml")
        head = b'<GetCredentialReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetCredentialReportResult><Content>'
        tail = b"</Content><GeneratedTime>%s</GeneratedTime></GetCredentialReportResult></GetCredentialReportResponse>" % GENERATED.encode()
        if content is not None:
            return h.whole(head + base64.b64encode(content) + tail, "text/xml")
        unit = b"dXNlcixhcm4K" * 64
        h.stream(head, unit, declared_size // len(unit), tail, "text/xml")
    return scenario


SECTION_START = "<!-- fetch_bounds.py: begin -->"
SECTION_END = "<!-- fetch_bounds.py: end -->"
BOUND_MIB = 1.5 * ((32 * MIB // 3 * 4 + MIB) / MIB) + 30
# The figures (27) for the same answers, before the bounds.
BEFORE = {
    "Tencent: a 100 MB ListUsers page": "4.4 GB",
    "Alibaba: 1 MiB pages, IsTruncated forever": "6 GB, then aborted",
    "AWS: a 1 GiB answer, no Content-Length": "272 MB",
}

SCENARIOS = {
    # name: (provider, scenario, what the fetch must do)
    "Tencent: a 100 MB ListUsers page": ("tencent-cam", lambda: tencent_100mb, "refuse"),
    "Alibaba: 1 MiB pages, IsTruncated forever": ("alibaba-ram", lambda: alibaba_pages(MIB, None), "refuse"),
    "AWS: a 1 GiB answer, no Content-Length": ("aws-iam", lambda: aws(declared_size=1 << 30), "refuse"),
    "AWS: the largest report taken (31.9 MiB)": ("aws-iam", lambda: aws(report("aws-prod.csv", 32 * MIB - 80 * 1024)), "write"),
    "Tencent: 99,000 people in 14 MiB of lists, rebuilding a report past 32 MiB": ("tencent-cam", lambda: tencent_people(99_000, 115), "refuse"),
    "Tencent: the largest report rebuilt (99,000 people, 31.5 MiB), read and written": ("tencent-cam", lambda: tencent_people(99_000, 60), "write"),
    "Alibaba: the largest report taken (31.9 MiB, 32 pages)": ("alibaba-ram", lambda: alibaba_pages(32 * MIB - 80 * 1024, 32), "write"),
}


def run(binary, name, provider, scenario):
    Fake.scenario = staticmethod(scenario)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as d:
        env = {"PATH": os.environ["PATH"], "HOME": d,
               "TENCENTCLOUD_SECRET_ID": "AKIDexampleexampleexample1", "TENCENTCLOUD_SECRET_KEY": "k" * 32,
               "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIexampleexample1", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s" * 30,
               "ALIBABA_CLOUD_STS_ENDPOINT": url,
               "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE01", "AWS_SECRET_ACCESS_KEY": "s" * 40,
               "AWS_ENDPOINT_URL": url, "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_CONFIG_FILE": f"{d}/none", "AWS_SHARED_CREDENTIALS_FILE": f"{d}/none"}
        args = ["/usr/bin/time", "-f", "%M", binary, "fetch", "--once", "--provider", provider,
                "--report.dir", f"{d}/reports", "--report.name", "acme", "--fetch.attempts", "1",
                "--tencent.endpoint", url, "--alibaba.endpoint", url]
        start = time.monotonic()
        out = subprocess.run(args, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - start
        wrote = os.path.exists(f"{d}/reports/acme.csv")
    server.shutdown()
    peak_kib = int(out.stderr.strip().splitlines()[-1])
    reason = next((w.split("=", 1)[1] for line in out.stderr.splitlines() for w in line.split()
                   if w.startswith("reason=")), "")
    return {"scenario": name, "peak_rss_mib": round(peak_kib / 1024, 1), "exit": out.returncode,
            "wrote": wrote, "reason": reason, "seconds": round(seconds, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(RELEASE, "credential-report-exporter"))
    parser.add_argument("--out", help="JSON figures here (default: bench-results/fetch_bounds.json)")
    parser.add_argument("--markdown", help="splice the section into this Markdown file")
    parser.add_argument("--command", default="benches/fetch_bounds.py --markdown benches/RESULTS.md",
                        help="the command named in the section")
    args = parser.parse_args()
    results = []
    for name, (provider, scenario, must) in SCENARIOS.items():
        r = run(args.binary, name, provider, scenario())
        r["as_it_must"] = (r["exit"] == 0 and r["wrote"]) if must == "write" else (r["exit"] == 1 and not r["wrote"])
        results.append(r)
        print(json.dumps(r), flush=True)
    print(f"\n{machine()}\n")
    print("| Scenario | Peak RSS | Outcome | Time |\n|---|---|---|---|")
    for r in results:
        outcome = "written" if r["wrote"] else f"refused ({r['reason'] or 'exit ' + str(r['exit'])})"
        print(f"| {r['scenario']} | {r['peak_rss_mib']} MiB | {outcome} | {r['seconds']} s |")
    write_figures({"machine": machine(), "results": results}, args.out, "fetch_bounds")
    if args.markdown:
        splice(args.markdown, section(results, args.command), SECTION_START, SECTION_END)


def section(results, command):
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        SECTION_START,
        "## The fetcher's peak memory (issue 27)",
        "",
        f"`{command}`, {when}, on {machine()}. `fetch --once --fetch.attempts 1` of the "
        "release build against fake clouds on loopback (Python, in the script); peak RSS is "
        "GNU time's maximum resident set size. The bound: 1.5 x the largest answer the "
        f"fetcher takes (43.7 MiB) + 30 MiB = **{BOUND_MIB:.1f} MiB**, under the Helm chart's "
        "fetcher container limit of 128 MiB. \"Before\" is issue 27's figure for the same answer.",
        "",
        "| Answer | Peak RSS | Before | Outcome | Bound |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        outcome = "written" if r["wrote"] else f"refused, `{r['reason'] or 'exit ' + str(r['exit'])}`"
        met = "met" if r["as_it_must"] and r["peak_rss_mib"] <= BOUND_MIB else "**not met**"
        lines.append(f"| {r['scenario']} | **{r['peak_rss_mib']} MiB** | {BEFORE.get(r['scenario'], '')} "
                     f"| {outcome}, {r['seconds']} s | {met} |")
    lines.append(SECTION_END)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
