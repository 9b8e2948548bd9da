#!/usr/bin/env python3
"""The fetcher's peak memory (issue 27): the release binary's `fetch --once` against fake
clouds on loopback, each answering what the fetcher must refuse (a 100 MB Tencent page,
Alibaba pages that never end, a 1 GiB AWS answer) or the largest report it takes (AWS in one
answer, Alibaba in 1 MiB pages), for one account and for an organization of ten members,
eight fetched at once (`--organization --fetch.concurrency 8`), every member answering so.
Peak RSS is GNU time's maximum resident set size. The bound to hold: 1.5 x the largest
answer (43.7 MiB) + 30 MiB = 95.5 MiB for one account; for an organization, that and 3 MiB
for each other member fetched at once (each holds at most 1 MiB of answers and lists
without the one gate, and what they decode to), 116.5 MiB: both under the Helm fetcher
container's 128 MiB limit.

    cargo build --release && benches/fetch_bounds.py --markdown benches/RESULTS.md

`--before BINARY` runs the organizations with that binary too (an older build), for the
"Before" column.

(benches/run.sh runs it so.) Standard library only; needs /usr/bin/time."""

import argparse
import base64
import json
import os
import re
import subprocess
import urllib.parse
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
        target = self.headers.get("X-Amz-Target") or ""
        action = (self.headers.get("X-TC-Action") or self.headers.get("x-acs-action")
                  or target.rpartition(".")[2]
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

    def scenario(h, action):
        if action == "GenerateCredentialReport":
            return h.whole('{"State":"COMPLETED","RequestId":"r"}')
        if action == "GetCallerIdentity":
            return h.whole('{"AccountId":"1234567890123456","RequestId":"r"}')
        # The page after the one NextToken names: members of an organization page apart.
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query).get("NextToken", ["t-1"])[0]
        n = int(token[1:]) + 1
        last = pages is not None and n == len(chunks) - 1
        page = chunks[n] if pages is not None else chunks[0]
        h.whole(json.dumps({"RequestId": "r", "GeneratedTime": GENERATED,
                            "Content": base64.b64encode(page).decode(),
                            "IsTruncated": "false" if last else "true",
                            "NextToken": f"t{n}"}))
    return scenario


def aws(content=None, declared_size=None):
    head = b'<GetCredentialReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetCredentialReportResult><Content>'
    tail = b"</Content><GeneratedTime>%s</GeneratedTime></GetCredentialReportResult></GetCredentialReportResponse>" % GENERATED.encode()
    whole = head + base64.b64encode(content) + tail if content is not None else None

    def scenario(h, action):
        if action == "GenerateCredentialReport":
            return h.whole('<GenerateCredentialReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GenerateCredentialReportResult><State>COMPLETE</State></GenerateCredentialReportResult></GenerateCredentialReportResponse>', "text/xml")
        if whole is not None:
            return h.whole(whole, "text/xml")
        unit = b"dXNlcixhcm4K" * 64
        h.stream(head, unit, declared_size // len(unit), tail, "text/xml")
    return scenario


MEMBERS = [str(100000000001 + i) for i in range(10)]


def member_of(h):
    """The member a call acts for: the temporary keys `organization` hands out end with its id."""
    found = re.search(r"Credential=([^/,]+)", h.headers.get("Authorization") or "")
    return found.group(1)[-12:] if found else ""


def first_and_rest(first, rest):
    """The organization's first member answers as `first`, the others as `rest`."""
    return lambda h, action: (first if member_of(h) == MEMBERS[0] else rest)(h, action)


def organization(provider, member):
    """An organization of MEMBERS, listed and entered as `provider`'s is (each member's
    temporary key ends with its id), each member answering as `member` does."""
    def scenario(h, action):
        if provider == "aws-iam" and action == "ListAccounts":
            accounts = [{"Id": m, "Arn": f"arn:aws:organizations::111111111111:account/o-x/{m}",
                         "Name": f"m{m}", "Status": "ACTIVE", "State": "ACTIVE"} for m in MEMBERS]
            return h.whole(json.dumps({"Accounts": accounts}), "application/x-amz-json-1.1")
        if provider == "aws-iam" and action == "AssumeRole":
            form = urllib.parse.parse_qs(h.last_body.decode())
            account = form["RoleArn"][0].split(":")[4]
            return h.whole(f'<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIA0000{account}</AccessKeyId><SecretAccessKey>{"s" * 40}</SecretAccessKey><SessionToken>t{account}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>', "text/xml")
        if provider == "alibaba-ram" and action == "ListAccounts":
            accounts = [{"AccountId": m, "DisplayName": f"m{m}", "Status": "CreateSuccess"} for m in MEMBERS]
            return h.whole(json.dumps({"Accounts": {"Account": accounts}, "TotalCount": len(MEMBERS), "RequestId": "r"}))
        if provider == "alibaba-ram" and action == "AssumeRole":
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)
            account = query["RoleArn"][0].split(":")[3]
            return h.whole(json.dumps({"RequestId": "r", "Credentials": {
                "AccessKeyId": f"STS.{account}", "AccessKeySecret": "s" * 30, "SecurityToken": "t" * 30,
                "Expiration": "2099-01-01T00:00:00Z"}}))
        if provider == "tencent-cam" and action == "DescribeOrganizationMembers":
            items = [{"MemberUin": int(m), "Name": f"m{m}"} for m in MEMBERS]
            return h.whole(json.dumps({"Response": {"Items": items, "Total": len(MEMBERS), "RequestId": "r"}}))
        if provider == "tencent-cam" and action == "AssumeRole":
            uin = json.loads(h.last_body)["RoleArn"].split("uin/")[1].split(":")[0]
            return h.whole(json.dumps({"Response": {"Credentials": {
                "Token": "t" * 30, "TmpSecretId": f"AKIDtmp{uin}", "TmpSecretKey": "k" * 32},
                "ExpiredTime": 4000000000, "Expiration": "2096-10-02T07:06:40Z", "RequestId": "r"}}))
        if provider == "tencent-cam" and action == "GetUserAppId":
            return h.whole(json.dumps({"Response": {"OwnerUin": member_of(h), "RequestId": "r"}}))
        member(h, action)
    return scenario


SECTION_START = "<!-- fetch_bounds.py: begin -->"
SECTION_END = "<!-- fetch_bounds.py: end -->"
BOUND_MIB = 1.5 * ((32 * MIB // 3 * 4 + MIB) / MIB) + 30
ORGANIZATION_BOUND_MIB = BOUND_MIB + 7 * 3
LIMIT_MIB = 128
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
# Ten members, eight fetched at once, every one answering so.
ORGANIZATIONS = {
    "AWS organization: every member a 1 GiB answer": ("aws-iam", lambda: organization("aws-iam", aws(declared_size=1 << 30)), "refuse"),
    "AWS organization: every member the largest report (31.9 MiB)": ("aws-iam", lambda: organization("aws-iam", aws(report("aws-prod.csv", 32 * MIB - 80 * 1024))), "write"),
    "Alibaba organization: every member 1 MiB pages, IsTruncated forever": ("alibaba-ram", lambda: organization("alibaba-ram", alibaba_pages(MIB, None)), "refuse"),
    "Alibaba organization: every member the largest report (31.9 MiB, 32 pages)": ("alibaba-ram", lambda: organization("alibaba-ram", alibaba_pages(32 * MIB - 80 * 1024, 32)), "write"),
    "Tencent organization: every member a 100 MB ListUsers page": ("tencent-cam", lambda: organization("tencent-cam", tencent_100mb), "refuse"),
    "Tencent organization: every member the largest report rebuilt (99,000 people)": ("tencent-cam", lambda: organization("tencent-cam", tencent_people(99_000, 60)), "write"),
    # One member holds the gate at its largest; the others hold the most they may without it.
    "AWS organization: one member the largest report, nine a report just under the gate (0.74 MiB)": ("aws-iam", lambda: organization("aws-iam", first_and_rest(aws(report("aws-prod.csv", 32 * MIB - 80 * 1024)), aws(report("aws-prod.csv", int(0.74 * MIB))))), "write"),
    "Alibaba organization: one member the largest report, nine a report just under the gate (0.74 MiB, 1 page)": ("alibaba-ram", lambda: organization("alibaba-ram", first_and_rest(alibaba_pages(32 * MIB - 80 * 1024, 32), alibaba_pages(int(0.74 * MIB), 1))), "write"),
    "Tencent organization: one member the largest report, nine just under the gate (1,800 people)": ("tencent-cam", lambda: organization("tencent-cam", first_and_rest(tencent_people(99_000, 60), tencent_people(1_800, 1))), "write"),
}


def run(binary, name, provider, scenario, members=None):
    """One `fetch --once`; with `members`, of an organization (`--organization
    --fetch.concurrency 8`), whose every member's report is expected."""
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
                "--report.dir", f"{d}/reports", "--fetch.attempts", "1",
                "--tencent.endpoint", url, "--alibaba.endpoint", url]
        names = ["acme"]
        if members:
            env["TENCENTCLOUD_STS_ENDPOINT"] = url
            args += ["--organization", "--fetch.concurrency", "8", "--alibaba.resourcemanager-endpoint", url,
                     "--tencent.organization-endpoint", url]
            names = members
        else:
            args += ["--report.name", "acme"]
        start = time.monotonic()
        out = subprocess.run(args, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - start
        written = sum(os.path.exists(f"{d}/reports/{n}.csv") for n in names)
        wrote = written == len(names)
    server.shutdown()
    peak_kib = int(out.stderr.strip().splitlines()[-1])
    reason = next((w.split("=", 1)[1] for line in out.stderr.splitlines() for w in line.split()
                   if w.startswith("reason=")), "")
    return {"scenario": name, "peak_rss_mib": round(peak_kib / 1024, 1), "exit": out.returncode,
            "wrote": wrote, "written": written, "reason": reason, "seconds": round(seconds, 1)}


def judged(r, must, bound):
    r["as_it_must"] = ((r["exit"] == 0 and r["wrote"]) if must == "write"
                       else (r["exit"] == 1 and r["written"] == 0))
    r["bound_mib"] = bound
    return r


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(RELEASE, "credential-report-exporter"))
    parser.add_argument("--out", help="JSON figures here (default: bench-results/fetch_bounds.json)")
    parser.add_argument("--markdown", help="splice the section into this Markdown file")
    parser.add_argument("--command", default="benches/fetch_bounds.py --markdown benches/RESULTS.md",
                        help="the command named in the section")
    parser.add_argument("--before", help="an older build, run on the organizations too, for comparison")
    parser.add_argument("--before-name", default="the older build", help="what the section calls it")
    parser.add_argument("--only", help="only the scenarios whose name holds this text")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    results = []
    chosen = lambda table: {k: v for k, v in table.items() if not args.only or args.only in k}
    for name, (provider, scenario, must) in chosen(SCENARIOS).items():
        results.append(judged(run(args.binary, name, provider, scenario()), must, BOUND_MIB))
        print(json.dumps(results[-1]), flush=True)
    for name, (provider, scenario, must) in chosen(ORGANIZATIONS).items():
        r = judged(run(args.binary, name, provider, scenario(), MEMBERS), must, ORGANIZATION_BOUND_MIB)
        if args.before:
            r["before"] = judged(run(args.before, name, provider, scenario(), MEMBERS), must, ORGANIZATION_BOUND_MIB)
        results.append(r)
        print(json.dumps(r), flush=True)
    print(f"\n{machine()}\n")
    print("| Scenario | Peak RSS | Outcome | Time | Before |\n|---|---|---|---|---|")
    for r in results:
        before = f"{r['before']['peak_rss_mib']} MiB, {outcome(r['before'])}" if "before" in r else ""
        print(f"| {r['scenario']} | {r['peak_rss_mib']} MiB | {outcome(r)} | {r['seconds']} s | {before} |")
    write_figures({"machine": machine(), "load": load, "results": results}, args.out, "fetch_bounds")
    if args.markdown:
        splice(args.markdown, section(results, args.command, args.before_name, load), SECTION_START, SECTION_END)


def outcome(r):
    if r["wrote"]:
        return "written"
    if r["written"]:
        return f"{r['written']} of {len(MEMBERS)} written, exit {r['exit']}"
    if r["exit"] not in (0, 1):
        return f"killed (exit {r['exit']})"
    return f"refused, `{r['reason'] or 'exit ' + str(r['exit'])}`"


def section(results, command, before_name, load):
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        SECTION_START,
        "## The fetcher's peak memory (issue 27)",
        "",
        f"`{command}`, {when}, on {machine()}, load average {load:.1f} at the start. "
        "`fetch --once --fetch.attempts 1` of the "
        "release build against fake clouds on loopback (Python, in the script); an organization "
        f"is {len(MEMBERS)} members, `--organization --fetch.concurrency 8`, every member answering "
        "the same unless the row says otherwise. Peak RSS is GNU time's maximum resident set size. The bound: 1.5 x the "
        f"largest answer the fetcher takes (43.7 MiB) + 30 MiB = **{BOUND_MIB:.1f} MiB** for one "
        "account; for an organization, one account's and 3 MiB for each of the 7 others fetched "
        f"at once (each holds at most 1 MiB of answers and lists without the gate), **{ORGANIZATION_BOUND_MIB:.1f} MiB**; "
        f"both under the Helm chart's fetcher container limit of {LIMIT_MIB} MiB. \"Before\" is issue "
        f"27's figure for the same answer, or for an organization that of {before_name}, run in the "
        "same invocation.",
        "",
        "| Answer | Peak RSS | Before | Outcome | Bound |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        met = "met" if r["as_it_must"] and r["peak_rss_mib"] <= r["bound_mib"] else "**not met**"
        before = BEFORE.get(r["scenario"], "")
        if "before" in r:
            before = f"{r['before']['peak_rss_mib']} MiB, {outcome(r['before'])}"
        lines.append(f"| {r['scenario']} | **{r['peak_rss_mib']} MiB** | {before} "
                     f"| {outcome(r)}, {r['seconds']} s | {met} |")
    lines.append(SECTION_END)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
