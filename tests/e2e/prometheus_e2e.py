#!/usr/bin/env python3
"""End to end: the real exporter, a real Prometheus, the real rules and dashboards.

Starts credential-report-exporter on a copy of examples/reports/ (all three providers,
plus a report cut off mid-write, one not modified for three days, and the AWS example with
its root user signed in an hour ago), a second exporter with --metrics.per-user=false (a
Tencent and an Alibaba report), a third on an empty folder, and a scrape target where nothing
listens; the real fetcher (`fetch --provider aws-iam --organization`) against a small AWS on
loopback (fake_aws_organization.py: an organization of two members, one whose role is
assumed and whose report is fetched, one refused as access denied, every request's
signature checked by botocore's signer: one it refuses fails the test), with a fourth exporter
on the folder it writes; then Debian's `prometheus`, scraping the exporters every second as
job credential-report-exporter and the fetcher as job credential-report-fetcher, with
deploy/prometheus/credential-report-exporter.rules.yml loaded. So the organization
dashboard and the fetcher's alert run on what a real fetcher serves and a real exporter
reads of what it wrote: each report named by its account id, each account's name on
credential_report_fetch_account_info. It then

  * checks every rule is healthy and runs every rule's expression through the HTTP API:
    an error or an empty result fails, except where EXPECTED_EMPTY_RULES says why;
  * runs every PromQL expression of every panel of every dashboard in grafana/dashboards/
    (template variables substituted, instant and range) with every variable at All and
    with every value ticked, and the variables' own queries: an error or an empty result
    fails, unless the panel's description says when it is empty ("Empty when ..."); the
    queries of one table must return the same labels, or Grafana's merge would split
    their rows; then once per provider, where no query may fail and the users tile must
    count that provider's reports only;
  * checks that the organization dashboard's accounts table shows both accounts by name,
    the fetched one's last fetch ok and the refused one's failed;
  * checks that the alerts the examples must raise are pending or firing with the
    expected labels (the refused member's CredentialReportFetchFailing with its name), that every annotation rendered and links to a runbook section that
    exists, and that users with nothing wrong raise nothing;
  * evaluates every Grafana-managed rule of grafana/provisioning/alerting/ the way
    Grafana's server-side expressions do (its Prometheus query as an instant query, then
    reduce, math and threshold, series by series) and checks that each fires on exactly
    the series the Prometheus alert of the same name is pending or firing on.

Usage: tests/e2e/prometheus_e2e.py [--binary PATH] [--keep]
Only loopback addresses are used; every process started is stopped on exit.
"""

import argparse
import ast
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from fake_aws_organization import MANAGEMENT_KEY_ID, MANAGEMENT_SECRET, FakeAwsOrganization

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/credential-report-exporter.rules.yml"
DASHBOARDS = sorted((ROOT / "grafana/dashboards").glob("*.json"))
RUNBOOK = ROOT / "docs/runbook.md"
GRAFANA_RULES = ROOT / "grafana/provisioning/alerting/credential-report.yaml"
JOB = "credential-report-exporter"

# Rules whose expression is empty in this test by design, and why.
EXPECTED_EMPTY_RULES = {
    "CredentialReportExporterAbsent": "fires only when Prometheus has no target in the job; this test scrapes five",
    # tests/rules/credential-report-fetcher.rules.test.yml covers it firing.
    "CredentialReportFetcherDown": "the fetcher this test runs is up",
}
# The fake organization's members (fake_aws_organization.py): one fetched, one refused.
FETCHED_ACCOUNT, REFUSED_ACCOUNT = ("210000000001", "payments"), ("210000000002", "sandbox-7")
FETCHER_JOB = "credential-report-fetcher"

# What the examples must raise: (alert, labels that must all match). Ages only grow and
# the report's flags are fixed, so each of these stays true as time passes.
def _u(report, username):
    return {"report": report, "username": username}


def _k(report, username, key):
    return {"report": report, "username": username, "key": key}


EXPECTED_ALERTS = [
    ("CredentialReportAccessKeyAtRisk", dict(_k("acme-prod", "bob.ops", "1"), secret_id="AKID…PLE2", status="active", account_id="100012340002", severity="critical")),
    ("CredentialReportAccessKeyAtRisk", dict(_k("acme-cn", "data.pipeline", "2"), secret_id="AKID…PLE9", status="active", severity="critical")),
    ("CredentialReportConsoleUserWithoutMFA", dict(_u("acme-prod", "bob.ops"), user_type="sub_user", severity="warning")),
    ("CredentialReportConsoleUserWithoutMFA", _u("acme-prod", "Zhang, Wei (DBA)")),
    ("CredentialReportConsoleUserWithoutMFA", _u("acme-cn", "运维-李娜")),
    ("CredentialReportConsoleUserWithoutMFA", dict(_u("acme-cn", "王芳@企业微信"), user_type="wecom_sub_user")),
    ("CredentialReportConsoleUserWithoutMFA", _u("legacy-gbk", "财务-陈静")),
    ("CredentialReportAccessKeyOlderThan90Days", dict(_k("acme-prod", "bob.ops", "1"), severity="warning")),
    ("CredentialReportAccessKeyOlderThan90Days", _k("acme-prod", "bob.ops", "2")),
    ("CredentialReportAccessKeyOlderThan90Days", _k("acme-prod", "ci+deploy@acme.example", "1")),
    ("CredentialReportAccessKeyOlderThan90Days", _k("acme-prod", "contractor-li", "1")),
    ("CredentialReportAccessKeyOlderThan90Days", _k("acme-cn", "运维-李娜", "1")),
    ("CredentialReportAccessKeyOlderThan90Days", _k("legacy-gbk", "报表机器人", "1")),
    # Never used, created in 2021: unused since creation.
    ("CredentialReportAccessKeyUnused", dict(_k("acme-prod", "ci+deploy@acme.example", "1"), secret_id="AKID…PLE4", severity="warning")),
    ("CredentialReportAccessKeyUnused", _k("acme-prod", "bob.ops", "2")),
    ("CredentialReportAccessKeyUnused", _k("acme-prod", "contractor-li", "1")),
    ("CredentialReportAccessKeyUnused", _k("acme-cn", "运维-李娜", "1")),
    ("CredentialReportAccessKeyUnused", _k("legacy-gbk", "报表机器人", "1")),
    ("CredentialReportUserWithTwoActiveKeys", dict(_u("acme-prod", "bob.ops"), severity="info")),
    ("CredentialReportUserWithTwoActiveKeys", _u("acme-cn", "data.pipeline")),
    ("CredentialReportSuspiciousLogins", dict(_u("acme-prod", "bob.ops"), severity="warning")),
    ("CredentialReportSuspiciousLogins", dict(_u("acme-prod", "contractor-li"), user_type="collaborator")),
    ("CredentialReportSuspiciousLogins", _u("acme-cn", "运维-李娜")),
    ("CredentialReportSuspiciousLogins", _u("legacy-gbk", "刘洋")),
    # The exporter with --metrics.per-user=false: one alert per report, no user.
    ("CredentialReportAccessKeyAtRisk", {"report": "aggregate-only", "status": "active", "username": None}),
    ("CredentialReportConsoleUserWithoutMFA", {"report": "aggregate-only", "username": None}),
    ("CredentialReportAccessKeyOlderThan90Days", {"report": "aggregate-only", "status": "active", "username": None}),
    ("CredentialReportUserWithTwoActiveKeys", {"report": "aggregate-only", "username": None}),
    ("CredentialReportSuspiciousLogins", {"report": "aggregate-only", "username": None}),
    # acme-cn's key of 运维-李娜 was last used 2024-08-01: the least recent use of the report.
    ("CredentialReportAccessKeyUnused", {"report": "aggregate-only", "status": "active", "username": None}),
    # AWS IAM and Alibaba RAM: the root user, console passwords, signing certificates, each
    # with the provider and the control of that provider's CIS benchmark.
    ("CredentialReportRootAccessKeyPresent", {"report": "aws-prod", "status": "active", "provider": "aws-iam",
                                              "cis_control": "CIS AWS Foundations v3.0.0 1.4", "severity": "critical"}),
    ("CredentialReportRootAccessKeyPresent", {"report": "alibaba-prod", "status": "active", "provider": "alibaba-ram",
                                              "cis_control": "CIS Alibaba Cloud Foundation v1.0.0 1.2"}),
    ("CredentialReportRootWithoutMFA", {"report": "aws-prod", "user_type": "root", "cis_control": "CIS AWS Foundations v3.0.0 1.5",
                                        "severity": "critical"}),
    ("CredentialReportRootWithoutMFA", {"report": "alibaba-prod", "cis_control": "CIS Alibaba Cloud Foundation v1.0.0 1.3"}),
    # aws-root-recent is aws-prod with the root user signed in an hour ago (see prepare_reports).
    ("CredentialReportRootUsedRecently", {"report": "aws-root-recent", "provider": "aws-iam",
                                          "cis_control": "CIS AWS Foundations v3.0.0 1.7", "severity": "warning"}),
    # Last signed in 2026-08-01; never since tracking began (no_information), password from 2013.
    ("CredentialReportConsolePasswordUnused", dict(_u("aws-prod", "bob.ops"), user_type="iam_user",
                                                   cis_control="CIS AWS Foundations v3.0.0 1.12", severity="warning")),
    ("CredentialReportConsolePasswordUnused", _u("aws-prod", "legacy-admin")),
    ("CredentialReportConsolePasswordUnused", dict(_u("alibaba-prod", "bob@acme.onaliyun.com"), user_type="ram_user",
                                                   cis_control="CIS Alibaba Cloud Foundation v1.0.0 1.5 (asks for 90 days)")),
    ("CredentialReportConsolePasswordUnused", {"report": "aggregate-alibaba", "provider": "alibaba-ram", "username": None}),
    ("CredentialReportSigningCertificateActive", {"report": "aws-prod", "status": "active", "provider": "aws-iam", "severity": "info"}),
    # CIS AWS 1.11: new-hire's key, active and never used, of a user with a console password.
    ("CredentialReportConsoleUserKeyNeverUsed", dict(_k("aws-prod", "new-hire", "1"), provider="aws-iam",
                                                     cis_control="CIS AWS Foundations v3.0.0 1.11", severity="warning")),
    # Every provider's alerts carry cis_control; Tencent Cloud has no CIS benchmark: none.
    ("CredentialReportAccessKeyOlderThan90Days", dict(_k("aws-prod", "bob.ops", "1"), cis_control="CIS AWS Foundations v3.0.0 1.14")),
    ("CredentialReportConsoleUserWithoutMFA", dict(_u("alibaba-prod", "bob@acme.onaliyun.com"),
                                                   cis_control="CIS Alibaba Cloud Foundation v1.0.0 1.4")),
    ("CredentialReportUserWithTwoActiveKeys", dict(_u("acme-prod", "bob.ops"), cis_control="none")),
    # The pipeline.
    ("CredentialReportParseFailed", {"report": "broken", "severity": "warning"}),
    ("CredentialReportStale", {"report": "stale", "severity": "warning"}),
    ("CredentialReportNoReports", {"instance": "@empty", "severity": "warning"}),
    ("CredentialReportExporterDown", {"instance": "@dead", "job": JOB, "severity": "warning"}),
    # The aggregates exporter's third file, past its --report.max-files=2.
    ("CredentialReportFilesSkipped", {"instance": "@aggregate", "severity": "warning"}),
]

# Users with nothing wrong, whatever the date: no alert may name them.
# The refused member fails for good; its alert names it by name (pending: `for` is 15m).
EXPECTED_ALERTS.append(("CredentialReportFetchFailing", {"job": FETCHER_JOB, "account": REFUSED_ACCOUNT[0],
                                                         "account_name": REFUSED_ACCOUNT[1], "reason": "access_denied"}))

CLEAN_USERS = [
    ("acme-prod", "partner-auditor"),  # collaborator with MFA and no keys
    ("acme-prod", "oncall-pager"),  # message receiver: nothing applies
    ("acme-prod", "wang.fang"),  # WeCom user: MFA not_supported, no keys
    ("acme-cn", "old-backup"),  # MFA on, its only key disabled
    ("acme-cn", "审计协作者"),  # collaborator with MFA and no keys
]

PROCESSES = []


def log(message):
    print(f"e2e: {message}", flush=True)


def fail(message):
    raise SystemExit(f"e2e: FAILED: {message}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name, argv, logfile, env=None):
    log(f"starting {name}: {' '.join(argv)}")
    out = open(logfile, "wb")
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                            env=env)
    PROCESSES.append((name, proc, logfile))
    return proc


def stop_all():
    for name, proc, _ in reversed(PROCESSES):
        if proc.poll() is None:
            proc.terminate()
    for name, proc, _ in reversed(PROCESSES):
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    PROCESSES.clear()


def on_signal(signum, _frame):
    raise SystemExit(f"e2e: interrupted by signal {signum}")


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def wait_for(what, check, timeout=60):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        for name, proc, logfile in PROCESSES:
            if proc.poll() is not None:
                fail(f"{name} exited with {proc.returncode} while waiting for {what}:\n{Path(logfile).read_text(errors='replace')[-3000:]}")
        try:
            result = check()
            if result:
                return result
        except (urllib.error.URLError, ConnectionError, OSError) as error:
            last = error
        time.sleep(0.25)
    fail(f"timed out after {timeout}s waiting for {what} (last error: {last})")


class Prometheus:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path, **params):
        url = f"{self.base}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        try:
            _, body = http_get(url, timeout=15)
        except urllib.error.HTTPError as error:
            body = error.read()
        answer = json.loads(body)
        if answer.get("status") != "success":
            raise QueryError(f"{answer.get('errorType')}: {answer.get('error')}")
        if answer.get("warnings"):
            raise QueryError(f"warnings: {answer['warnings']}")
        return answer["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def query_range(self, expr, seconds=20):
        end = time.time()
        return self.api("query_range", query=expr, start=f"{end - seconds:.3f}", end=f"{end:.3f}", step="1")["result"]


class QueryError(Exception):
    pass


def prepare_reports(work):
    """The examples, plus a report cut off mid-write and one left alone for three days."""
    reports = work / "reports"
    reports.mkdir()
    for source in sorted((ROOT / "examples/reports").glob("*.csv")):
        # A plain copy: the files get a fresh mtime, whatever the checkout's age.
        shutil.copyfile(source, reports / source.name)
    lines = (ROOT / "examples/reports/acme-prod.csv").read_text(encoding="utf-8").splitlines()
    # Header and half a row: what a reader sees when a writer is caught mid-write.
    (reports / "broken.csv").write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2], encoding="utf-8")
    stale = reports / "stale.csv"
    shutil.copyfile(ROOT / "examples/reports/legacy-gbk.csv", stale)
    three_days_ago = time.time() - 3 * 86400
    os.utime(stale, (three_days_ago, three_days_ago))
    # The AWS example with its root user signed in an hour ago: the example's own date only
    # gets older, and CredentialReportRootUsedRecently looks at the last day.
    aws = (ROOT / "examples/reports/aws-prod.csv").read_text(encoding="utf-8").splitlines()
    header = aws[0].split(",")
    root = aws[1].split(",")
    if root[0] != "<root_account>":
        fail(f"examples/reports/aws-prod.csv: expected the root user on line 2, found {root[0]!r}")
    an_hour_ago = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 3600))
    root[header.index("password_last_used")] = an_hour_ago
    (reports / "aws-root-recent.csv").write_text("\n".join([aws[0], ",".join(root), *aws[2:]]) + "\n", encoding="utf-8")
    aggregate = work / "aggregate"
    aggregate.mkdir()
    shutil.copyfile(ROOT / "examples/reports/acme-cn.csv", aggregate / "aggregate-only.csv")
    shutil.copyfile(ROOT / "examples/reports/alibaba-prod.csv", aggregate / "aggregate-alibaba.csv")
    # Last by name, and past the aggregates exporter's --report.max-files=2: never read.
    shutil.copyfile(ROOT / "examples/reports/acme-cn.csv", aggregate / "zz-left-unread.csv")
    empty = work / "empty"
    empty.mkdir()
    return reports, aggregate, empty


def start_exporter(binary, name, folder, work, extra=()):
    port = free_port()
    address = f"127.0.0.1:{port}"
    start(name, [str(binary), "--report.dir", str(folder), "--web.listen-address", address, "--log.level", "info", *extra], work / f"{name}.log")
    wait_for(f"{name} to be ready", lambda: http_get(f"http://{address}/-/ready")[0] == 200)
    return address


def start_fetcher(binary, work, fake, folder):
    """The real fetcher, fetching the fake organization into `folder`, with its metrics."""
    address = f"127.0.0.1:{free_port()}"
    # Only the fake's credentials and endpoint: no profile, no instance metadata.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(work), "AWS_ENDPOINT_URL": fake.url,
           "AWS_ACCESS_KEY_ID": MANAGEMENT_KEY_ID, "AWS_SECRET_ACCESS_KEY": MANAGEMENT_SECRET,
           "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": str(work / "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-credentials")}
    start("fetcher", [str(binary), "fetch", "--provider=aws-iam", f"--report.dir={folder}", "--organization",
                      "--organization.tag-labels=team", "--fetch.attempts=1", f"--web.listen-address={address}"],
          work / "fetcher.log", env=env)
    wait_for("the fetcher to be ready", lambda: http_get(f"http://{address}/-/ready")[0] == 200)
    wait_for("the fetched member's report", lambda: signatures_accepted(fake) and (folder / f"{FETCHED_ACCOUNT[0]}.csv").exists())
    # The refused member fails before Prometheus starts: its counter's first sample is 1.
    refused = f'credential_report_fetch_failures_total{{account="{REFUSED_ACCOUNT[0]}",reason="access_denied"}} 1'
    wait_for("the refused member's failure counted", lambda: refused in http_get(f"http://{address}/metrics")[1].decode())
    return address


def signatures_accepted(fake):
    """True, or the test fails: the fake AWS refused a request's signature."""
    if fake.refusals:
        fail(f"the fake AWS refused {len(fake.refusals)} request(s) of the fetcher: {fake.refusals}")
    return True


def start_prometheus(work, targets, fetcher):
    port = free_port()
    config = work / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 1s\n"
        "  evaluation_interval: 1s\n"
        "rule_files:\n"
        f"  - {json.dumps(str(RULES))}\n"
        "scrape_configs:\n"
        f"  - job_name: {JOB}\n"
        "    static_configs:\n"
        f"      - targets: {json.dumps(targets)}\n"
        f"  - job_name: {FETCHER_JOB}\n"
        "    static_configs:\n"
        f"      - targets: {json.dumps([fetcher])}\n",
        encoding="utf-8",
    )
    check = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        fail(f"promtool check config:\n{check.stdout}{check.stderr}")
    start(
        "prometheus",
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={work / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        work / "prometheus.log",
    )
    prometheus = Prometheus(port)
    wait_for("Prometheus to be ready", lambda: http_get(f"{prometheus.base}/-/ready")[0] == 200)
    return prometheus


# ---- Rules ----------------------------------------------------------------------------

def check_rules(prometheus, errors):
    groups = prometheus.api("rules")["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    if not rules:
        fail("Prometheus loaded no rules")
    checked = 0
    for rule in rules:
        name = rule["name"]
        if rule.get("health") != "ok" or rule.get("lastError"):
            errors.append(f"rule {name}: health {rule.get('health')}: {rule.get('lastError')}")
            continue
        try:
            result = prometheus.query(rule["query"])
        except QueryError as error:
            errors.append(f"rule {name}: {error}")
            continue
        checked += 1
        if not result and name not in EXPECTED_EMPTY_RULES:
            errors.append(f"rule {name}: empty result for {rule['query']!r}")
        if result and name in EXPECTED_EMPTY_RULES:
            errors.append(f"rule {name}: expected empty ({EXPECTED_EMPTY_RULES[name]}), got {len(result)} series")
        if rule["type"] == "recording" and not prometheus.query(name):
            errors.append(f"recording rule {name}: no series recorded")
    log(f"{checked} rule expressions ran ({len(rules)} rules loaded)")
    return rules


# ---- Dashboards -----------------------------------------------------------------------

def panels_of(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def regex_escape(value):
    # What Grafana does to a multi-value variable's values in a Prometheus regex
    # (prometheusSpecialRegexEscape): a regex escape, itself escaped for the PromQL string.
    value = value.replace("\\", "\\" * 4)
    return re.sub(r"([$^*{}\[\]'+?.()|])", r"\\\\\1", value)


def substitute(expr, variables):
    def replace(match):
        name = match.group(1) or match.group(2)
        if name not in variables:
            fail(f"unknown template variable ${name} in {expr!r}")
        return variables[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", replace, expr)


def label_keys(result):
    """The label columns Grafana makes of a table query: the union over its series (a series
    without a label, say a provider's key without an id, leaves that cell empty)."""
    return frozenset(k for series in result for k in series["metric"] if k != "__name__")


def variable_query(variable):
    query = variable.get("query")
    return query.get("query", "") if isinstance(query, dict) else query or ""


def variable_values(prometheus, path, variable, chosen):
    """What Grafana offers for a label_values() variable, given the variables before it."""
    match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", variable_query(variable))
    if not match:
        fail(f"{path.name}: cannot run the {variable['name']} variable's query {variable_query(variable)!r}")
    selector = substitute(match.group(1), chosen)
    return prometheus.api(f"label/{match.group(2)}/values", **{"match[]": selector})


def as_regex(values):
    return "(" + "|".join(regex_escape(v) for v in values) + ")"


def run_panels(prometheus, path, dashboard, variables, selection, errors, require_data=True):
    """Runs every query of every panel; returns how many ran and the results by panel title."""
    ran = 0
    results = {}
    for panel in panels_of(dashboard):
        if panel.get("type") == "row":
            continue
        may_be_empty = not require_data or "empty when" in panel.get("description", "").lower()
        keys = []
        for target in panel.get("targets", []):
            if "expr" not in target:
                continue
            where = f"{path.name}: panel {panel['title']!r} query {target['refId']} ({selection})"
            expr = substitute(target["expr"], variables)
            try:
                result = prometheus.query(expr)
                ranged = prometheus.query_range(expr) if target.get("range") else None
            except QueryError as error:
                errors.append(f"{where}: {error}\n    {expr}")
                continue
            ran += 1
            results[(panel["title"], target["refId"])] = result
            if not result and not may_be_empty:
                errors.append(f"{where}: empty result\n    {expr}")
            if ranged is not None and not ranged and not may_be_empty:
                errors.append(f"{where}: empty range result\n    {expr}")
            if result:  # an empty answer adds no rows and no columns to the merge
                keys.append((target["refId"], label_keys(result)))
        if panel["type"] == "table" and len(keys) > 1:
            shapes = {ref: sorted(shape) for ref, shape in keys}
            if len({shape for _, shape in keys}) > 1:
                errors.append(f"{path.name}: table {panel['title']!r}: its queries return different labels, "
                              f"so Grafana's merge would split rows: {shapes}")
    return ran, results


def check_dashboards(prometheus, errors):
    ran = 0
    checked_providers = 0
    fixed = {"datasource": "prometheus", "__interval": "1s", "__rate_interval": "4s", "__range": "20s"}
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        variables = [v for v in dashboard["templating"]["list"] if v["type"] == "query"]
        # Grafana's "All": each variable's allValue.
        everything = dict(fixed, **{v["name"]: v["allValue"] for v in variables})
        # Every value ticked: each variable's options, given the ones before it.
        ticked = dict(fixed)
        offered = {}
        for v in variables:
            offered[v["name"]] = variable_values(prometheus, path, v, ticked)
            # With no options (no cluster label), Grafana keeps All.
            ticked[v["name"]] = as_regex(offered[v["name"]]) if offered[v["name"]] else v["allValue"]
        if not {"acme-prod", "acme-cn", "legacy-gbk"} <= set(offered["report"]):
            errors.append(f"{path.name}: variable report offers {offered['report']}")
        if len(offered["instance"]) < 3 or offered["job"] != [JOB]:
            errors.append(f"{path.name}: variables job and instance offer {offered['job']} and {offered['instance']}")
        for selection, chosen in (("All", everything), ("every value ticked", ticked)):
            count, results = run_panels(prometheus, path, dashboard, chosen, selection, errors)
            ran += count
            if path.stem == "credential-report-organization":
                check_organization_table(results, selection, errors)
        # One provider at a time: the queries still run, and what they count is that
        # provider's reports only (checked on the users tile, which every provider has).
        if not {"tencent-cam", "aws-iam", "alibaba-ram"} <= set(offered["provider"]):
            errors.append(f"{path.name}: variable provider offers {offered['provider']}")
        for provider in offered["provider"]:
            chosen = dict(everything, provider=regex_escape(provider))
            report_var = next(v for v in variables if v["name"] == "report")
            listed = set(variable_values(prometheus, path, report_var, chosen))
            theirs = {s["metric"]["report"] for s in prometheus.query(f'credential_report_info{{provider="{provider}"}}')}
            if listed != theirs:
                errors.append(f"{path.name}: with provider {provider} the report variable offers {sorted(listed)}, "
                              f"not that provider's reports {sorted(theirs)}")
            count, results = run_panels(prometheus, path, dashboard, chosen, f"provider {provider}", errors,
                                        require_data=False)
            ran += count
            shown = results.get(("Users", "A"))
            if shown is not None:
                checked_providers += 1
                want = prometheus.query(f'sum(credential_report_users and on (job, instance, report) '
                                        f'credential_report_info{{provider="{provider}"}})')
                if [s["value"][1] for s in shown] != [s["value"][1] for s in want]:
                    errors.append(f"{path.name}: with provider {provider} the Users tile shows {shown}, "
                                  f"but that provider's reports have {want}")
    if not checked_providers:
        errors.append("no dashboard has a Users tile to check the provider filter on")
    log(f"{ran} dashboard queries ran ({len(DASHBOARDS)} dashboards; the provider filter checked {checked_providers} times)")


def check_organization_table(results, selection, errors):
    """Both members by name; the fetched one's last fetch ok (1) with its users, the
    refused one's failed (0) and without a report. Ticking reports ticks the reports that
    exist, so the refused member, which has none, is shown under All only."""
    last_fetch = {(s["metric"].get("account"), s["metric"].get("account_name")): s["value"][1]
                  for s in results.get(("Accounts", "A"), [])}
    want = {FETCHED_ACCOUNT: "1", REFUSED_ACCOUNT: "0"} if selection == "All" else {FETCHED_ACCOUNT: "1"}
    if last_fetch != want:
        errors.append(f"organization dashboard ({selection}): the accounts table's last fetch is {last_fetch}, expected {want}")
    users = {s["metric"].get("account_name") for s in results.get(("Accounts", "C"), [])}
    if users != {FETCHED_ACCOUNT[1]}:
        errors.append(f"organization dashboard ({selection}): users shown for {users}, expected only {FETCHED_ACCOUNT[1]}")


# ---- Alerts ---------------------------------------------------------------------------

def runbook_anchors():
    return {re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
            for line in RUNBOOK.read_text(encoding="utf-8").splitlines() if line.startswith("## ")}


def check_alerts(prometheus, addresses, errors):
    alerts = prometheus.api("alerts")["alerts"]
    anchors = runbook_anchors()
    for alert in alerts:
        name = alert["labels"]["alertname"]
        annotations = alert.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            text = annotations.get(key, "")
            if not text or "<no value>" in text or "error expanding" in text or "{{" in text:
                errors.append(f"alert {name} {alert['labels']}: annotation {key} is {text!r}")
        anchor = annotations.get("runbook_url", "").rpartition("#")[2]
        if anchor != name.lower() or anchor not in anchors:
            errors.append(f"alert {name}: runbook_url {annotations.get('runbook_url')!r} has no section in docs/runbook.md")
        if "severity" not in alert["labels"]:
            errors.append(f"alert {name}: no severity label")
    for name, want in EXPECTED_ALERTS:
        want = {k: addresses.get(v, v) if isinstance(v, str) else v for k, v in want.items()}
        found = [a for a in alerts if a["labels"]["alertname"] == name and a["state"] in ("pending", "firing")
                 and all(a["labels"].get(k) == v for k, v in want.items())]
        if not found:
            errors.append(f"alert {name} with {want} is neither pending nor firing")
    for report, username in CLEAN_USERS:
        for alert in alerts:
            if alert["labels"].get("report") == report and alert["labels"].get("username") == username:
                errors.append(f"alert {alert['labels']['alertname']} names {username} in {report}, who has nothing wrong")
    states = {}
    for alert in alerts:
        states.setdefault(alert["labels"]["alertname"], set()).add(alert["state"])
    log("alerts: " + ", ".join(f"{n} ({'/'.join(sorted(s))})" for n, s in sorted(states.items())))
    return alerts


# ---- Grafana-managed rules -------------------------------------------------------------
# Grafana's server-side expressions, series by series (pkg/expr in Grafana): a query's
# series, keyed by their labels, each reduced to one number; math and thresholds map those
# numbers. Only what the rules use is here; anything else stops the test, so a new kind of
# expression cannot be checked by accident as something else.

REDUCERS = {
    "last": lambda values: values[-1],
    "min": min,
    "max": max,
    "sum": math.fsum,
    "count": lambda values: float(len(values)),
    "mean": lambda values: math.fsum(values) / len(values),
}

THRESHOLDS = {
    "gt": lambda v, p: v > p[0],
    "lt": lambda v, p: v < p[0],
    "gte": lambda v, p: v >= p[0],
    "lte": lambda v, p: v <= p[0],
    "eq": lambda v, p: v == p[0],
    "ne": lambda v, p: v != p[0],
    "within_range": lambda v, p: p[0] < v < p[1],
    "outside_range": lambda v, p: v < p[0] or v > p[1],
}

MATH_FUNCTIONS = {
    "is_number": lambda v: float(not math.isnan(v) and not math.isinf(v)),
    "is_nan": lambda v: float(math.isnan(v)),
    "is_inf": lambda v: float(math.isinf(v)),
    "abs": abs,
}


def math_value(node, variables):
    """One number of a math expression, for one series (Go's rules: || and && give 1 or 0)."""
    if isinstance(node, ast.Expression):
        return math_value(node.body, variables)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id in variables:
        return variables[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in MATH_FUNCTIONS and len(node.args) == 1:
        return MATH_FUNCTIONS[node.func.id](math_value(node.args[0], variables))
    if isinstance(node, ast.BoolOp):
        values = [math_value(v, variables) != 0 for v in node.values]
        return float(any(values) if isinstance(node.op, ast.Or) else all(values))
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        a, b = math_value(node.left, variables), math_value(node.comparators[0], variables)
        ops = {ast.Gt: a > b, ast.Lt: a < b, ast.GtE: a >= b, ast.LtE: a <= b, ast.Eq: a == b, ast.NotEq: a != b}
        return float(ops[type(node.ops[0])])
    if isinstance(node, ast.BinOp) and type(node.op) in (ast.Add, ast.Sub, ast.Mult, ast.Div):
        a, b = math_value(node.left, variables), math_value(node.right, variables)
        return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}.get(type(node.op), a / b if b else math.nan)
    raise ValueError(f"math node {ast.dump(node)} is not one this test evaluates")


def evaluate_grafana_rule(prometheus, rule, at):
    """The series (label sets) on which the rule's condition is true at `at`, and a reason
    when it is not one this test can evaluate."""
    results = {}
    for query in rule["data"]:
        model = query["model"]
        kind = model.get("type") if query["datasourceUid"] == "__expr__" else "query"
        if kind == "query":
            series = prometheus.api("query", query=model["expr"], time=f"{at:.3f}")["result"]
            results[query["refId"]] = {
                frozenset((k, v) for k, v in s["metric"].items() if k != "__name__"): [float(s["value"][1])]
                for s in series}
        elif kind == "reduce":
            results[query["refId"]] = {labels: [REDUCERS[model["reducer"]](values)]
                                       for labels, values in results[model["expression"]].items()}
        elif kind == "threshold":
            (condition,) = model["conditions"]
            test = THRESHOLDS[condition["evaluator"]["type"]]
            results[query["refId"]] = {labels: [float(test(values[-1], condition["evaluator"]["params"]))]
                                       for labels, values in results[model["expression"]].items()}
        elif kind == "math":
            tree = ast.parse(re.sub(r"\$\{?(\w+)\}?", r"\1", model["expression"].replace("||", " or ").replace("&&", " and ")), mode="eval")
            refs = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in results})
            keys = set.intersection(*(set(results[r]) for r in refs))
            results[query["refId"]] = {labels: [math_value(tree, {r: results[r][labels][-1] for r in refs})] for labels in keys}
        else:
            raise ValueError(f"expression type {kind!r} is not one this test evaluates")
    return {labels for labels, values in results[rule["condition"]].items() if values[-1] != 0 and not math.isnan(values[-1])}


def check_grafana_rules(prometheus, alerts, errors):
    import yaml  # in .venv (tests/requirements.txt), like the other deployment checks

    groups = yaml.safe_load(GRAFANA_RULES.read_text(encoding="utf-8"))["groups"]
    at = time.time()
    compared = nonempty = 0
    for rule in (rule for group in groups for rule in group["rules"]):
        name = rule["title"]
        try:
            fired = evaluate_grafana_rule(prometheus, rule, at)
        except (QueryError, ValueError, KeyError) as problem:
            errors.append(f"Grafana rule {name}: {problem}")
            continue
        rule_labels = set(rule.get("labels", {})) | {"alertname"}
        # Active alerts only: one kept by keep_firing_for no longer matches its expression.
        twin = {frozenset((k, v) for k, v in a["labels"].items() if k not in rule_labels)
                for a in alerts if a["labels"]["alertname"] == name and a["state"] in ("pending", "firing")
                and not a.get("keepFiringSince")}
        compared += 1
        nonempty += bool(fired)
        if fired != twin:
            show = lambda sets: sorted(dict(s).get("report") or dict(s).get("instance") or "?" for s in sets)
            errors.append(f"Grafana rule {name} fires on {len(fired)} series, its Prometheus twin on {len(twin)}; "
                          f"only Grafana: {show(fired - twin)}; only Prometheus: {show(twin - fired)}")
        if not fired and name not in EXPECTED_EMPTY_RULES:
            errors.append(f"Grafana rule {name}: fires on nothing, but the examples raise its Prometheus twin")
    log(f"{compared} Grafana rules evaluated against their Prometheus twins, {nonempty} of them firing")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # Without --binary: the release build, wherever cargo puts it (CARGO_TARGET_DIR or target/).
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    parser.add_argument("--binary", default=os.environ.get("CREDENTIAL_REPORT_EXPORTER", str(target / "release/credential-report-exporter")))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, config, data)")
    args = parser.parse_args()
    binary = Path(args.binary)
    if not os.access(binary, os.X_OK):
        fail(f"{binary} is not an executable: build it with cargo build --release --locked")
    if not shutil.which("prometheus"):
        fail("prometheus is not on PATH (Debian package prometheus)")
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="credential-report-e2e."))
    ok = False
    try:
        reports, aggregate, empty = prepare_reports(work)
        fake = FakeAwsOrganization((ROOT / "examples/reports/aws-prod.csv").read_bytes())
        organization = work / "organization"
        fetcher_address = start_fetcher(binary, work, fake, organization)
        organization_address = start_exporter(binary, "exporter-organization", organization, work)
        main_address = start_exporter(binary, "exporter", reports, work)
        aggregate_address = start_exporter(binary, "exporter-aggregates", aggregate, work,
                                           ["--metrics.per-user=false", "--report.max-files=2"])
        empty_address = start_exporter(binary, "exporter-empty", empty, work)
        dead_address = f"127.0.0.1:{free_port()}"
        addresses = {"@main": main_address, "@empty": empty_address, "@dead": dead_address, "@aggregate": aggregate_address}
        prometheus = start_prometheus(work, [main_address, aggregate_address, empty_address, dead_address,
                                             organization_address], fetcher_address)

        # Every target scraped, every report in, and rules evaluated on that data.
        wait_for("five targets scraped", lambda: len(prometheus.query(f'up{{job="{JOB}"}}')) == 5)
        # The refused member failed before Prometheus started (start_fetcher), so its
        # counter is first scraped at 1: increase() sees nothing, and its alert must come
        # all the same.
        refused = f'credential_report_fetch_failures_total{{account="{REFUSED_ACCOUNT[0]}",reason="access_denied"}}'
        wait_for("the refused member's fetch failed", lambda: prometheus.query(f"{refused} == 1"))
        wait_for("its alert pending", lambda: any(a["labels"].get("account") == REFUSED_ACCOUNT[0]
                                                  for a in prometheus.api("alerts")["alerts"]))
        # The examples, broken, stale and aws-root-recent; the two of the aggregates
        # exporter; the organization's fetched member.
        reports_expected = len(list((ROOT / "examples/reports").glob("*.csv"))) + 3 + 2 + 1
        wait_for("every report ingested", lambda: len(prometheus.query("credential_report_up")) == reports_expected)
        wait_for("per-key ages recorded", lambda: prometheus.query("credential_report_access_key:age_seconds"))
        wait_for("alerts evaluated", lambda: any(a["labels"]["alertname"] == "CredentialReportParseFailed"
                                                 for a in prometheus.api("alerts")["alerts"]))
        time.sleep(2)  # two more evaluation rounds on complete data

        errors = []
        signatures_accepted(fake)
        check_rules(prometheus, errors)
        check_dashboards(prometheus, errors)
        alerts = check_alerts(prometheus, addresses, errors)
        check_grafana_rules(prometheus, alerts, errors)
        if errors:
            print("\n".join(f"  - {e}" for e in errors), file=sys.stderr)
            fail(f"{len(errors)} problem(s); logs in {work}")
        ok = True
        log(f"passed in {time.monotonic() - started:.1f}s")
    finally:
        stop_all()
        if "fake" in locals():
            fake.stop()
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"logs, config and data kept in {work}")


if __name__ == "__main__":
    main()
