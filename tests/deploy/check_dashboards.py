#!/usr/bin/env python3
"""Checks the conventions of grafana/dashboards/*.json that a team relies on (their
queries are run against a real Prometheus by tests/e2e/prometheus_e2e.py):

  * a stable `uid` (the file name without .json) and links between the dashboards by it;
  * a `datasource` variable of type datasource (prometheus), used by every panel and
    every query, and a multi-select `report` variable (with All) used by every query;
  * `job` and `instance` variables as Grafana's dashboard linter wants them (its
    template-job and template-instance rules), a `cluster` variable that matches every
    series while the datasource has no cluster label, and a `provider` variable; every
    selector of every query matches `job`, `instance` and `cluster` (the linter's
    target-job and target-instance rules), and every selector but the provider join's is
    joined to `credential_report_info` by provider; the fetcher's series (job
    credential-report-fetcher, whose `account` is the exporter's `report`) match a
    `fetcher_job` variable instead of `job` and `instance` (the fetcher is another
    target), `report` through `account`, and are joined to
    `credential_report_fetcher_build_info` by provider;
  * counters only inside increase() or rate(); not editable;
  * on every panel: a description of what it means and what to do, a unit on the panel,
    and for tables a unit, a display name and an override for every value column;
  * tables filterable and sortable; no two panels overlapping;
  * the provisioning files point at these dashboards and a Prometheus datasource.
"""

import json
import re
import sys
from pathlib import Path

import yaml

from promql_selectors import selectors

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "grafana/dashboards").glob("*.json"))
errors = []


def problem(where, message):
    errors.append(f"{where}: {message}")


def panels_of(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def check(path, uids):
    d = json.loads(path.read_text(encoding="utf-8"))
    where = path.name
    if d.get("uid") != path.stem:
        problem(where, f"uid {d.get('uid')!r} should be the file name, {path.stem!r}")
    if len(d.get("uid", "")) > 40:
        problem(where, "uid longer than Grafana's 40 characters")
    if d.get("id") is not None:
        problem(where, "id must be null so that provisioning and import assign one")
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problem(where, "needs a `datasource` variable of type datasource for prometheus")
    report = variables.get("report", {})
    if report.get("type") != "query" or not report.get("multi") or not report.get("includeAll"):
        problem(where, "needs a multi-select `report` query variable with All")
    if report.get("datasource", {}).get("uid") != "${datasource}":
        problem(where, "the report variable must query ${datasource}")
    if d.get("editable") is not False:
        problem(where, "must not be editable: provisioned dashboards change in git, not in Grafana")
    check_variables(where, variables)
    for link in d.get("links", []):
        m = re.match(r"^/d/([^/?]+)", link.get("url", ""))
        if m and m.group(1) not in uids:
            problem(where, f"link {link['title']!r} points at unknown dashboard uid {m.group(1)!r}")
    cells = {}
    for panel in panels_of(d):
        title = panel.get("title", "?")
        pw = f"{where}: panel {title!r}"
        g = panel.get("gridPos", {})
        for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0)):
            for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0)):
                if (x, y) in cells:
                    problem(pw, f"overlaps panel {cells[(x, y)]!r}")
                cells[(x, y)] = title
        if panel.get("type") == "row":
            continue
        if len(panel.get("description", "")) < 40:
            problem(pw, "needs a description that says what it means and what to do")
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            problem(pw, "must use the ${datasource} variable")
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        if not defaults.get("unit"):
            problem(pw, "has no unit")
        if not panel.get("targets"):
            problem(pw, "has no query")
        for t in panel.get("targets", []):
            if t.get("datasource", {}).get("uid") != "${datasource}":
                problem(pw, f"query {t.get('refId')} must use the ${{datasource}} variable")
            if 'report=~"$report"' not in t.get("expr", "") and 'account=~"$report"' not in t.get("expr", ""):
                problem(pw, f"query {t.get('refId')} ignores the report variable")
            check_query(f"{pw} query {t.get('refId')}", t.get("expr", ""))
        if panel.get("type") == "table":
            if not defaults.get("custom", {}).get("filterable"):
                problem(pw, "table must be filterable")
            if not panel.get("options", {}).get("sortBy"):
                problem(pw, "table needs a default sort")
            overrides = {o["matcher"]["options"]: {p["id"]: p["value"] for p in o["properties"]}
                         for o in panel["fieldConfig"].get("overrides", []) if o["matcher"]["id"] == "byName"}
            for t in panel["targets"]:
                if t.get("format") != "table" or not t.get("instant"):
                    problem(pw, f"query {t['refId']} must be an instant query formatted as a table")
                column = overrides.get(f"Value #{t['refId']}", {})
                if not column.get("unit") or not column.get("displayName"):
                    problem(pw, f"column of query {t['refId']} needs a unit and a display name")
            shown = {o.get("displayName") for o in overrides.values()}
            for s in panel["options"]["sortBy"]:
                if s["displayName"] not in shown:
                    problem(pw, f"sorts by {s['displayName']!r}, which is no column")


# Grafana's dashboard linter: template-job-rule and template-instance-rule.
LINTED = {"job": ".+", "instance": ".+"}
# Matches series without a cluster label too, so a datasource without one shows everything.
OPEN = {"cluster": ".*", "provider": ".*", "report": ".*"}
PROVIDER_JOIN = "credential_report_info"
# The fetcher's series: another target (its own job and instance), `account` for `report`.
FETCHER_PREFIX = "credential_report_fetch"
FETCHER_PROVIDER_JOIN = "credential_report_fetcher_build_info"
FETCHER_JOB = "fetcher_job"


def check_variables(where, variables):
    for name, all_value in {**LINTED, **OPEN}.items():
        v = variables.get(name)
        if not v:
            problem(where, f"needs a `{name}` variable")
            continue
        if v.get("type") != "query" or v.get("datasource", {}).get("uid") != "${datasource}":
            problem(where, f"variable {name} must be a Prometheus query on ${{datasource}}")
        if v.get("label") != name.title():
            problem(where, f"variable {name} must be labelled {name.title()!r}")
        if not v.get("multi") or not v.get("includeAll") or v.get("allValue") != all_value:
            problem(where, f"variable {name} must be multi-select with All = {all_value!r}")
        query = v.get("query", {}).get("query", "") if isinstance(v.get("query"), dict) else v.get("query", "")
        if not query.startswith("label_values("):
            problem(where, f"variable {name} must be a label_values() query, not {query!r}")
    fetcher_job = variables.get(FETCHER_JOB)
    if fetcher_job is not None:
        query = variable_query(fetcher_job)
        if not (query.startswith(f"label_values({FETCHER_PROVIDER_JOIN}") and fetcher_job.get("multi")
                and fetcher_job.get("includeAll") and fetcher_job.get("allValue") == ".+"):
            problem(where, f"variable {FETCHER_JOB} must be a multi-select label_values({FETCHER_PROVIDER_JOIN}...) with All = '.+'")
    order = [v for v in variables if v in {**LINTED, **OPEN}]
    if order != ["cluster", "job", "instance", "provider", "report"]:
        problem(where, f"variables must narrow down cluster, job, instance, provider, report in that order, not {order}")
    if PROVIDER_JOIN not in str(variables.get("provider", {}).get("query")):
        problem(where, f"the provider variable must read {PROVIDER_JOIN}")


def variable_query(variable):
    query = variable.get("query")
    return query.get("query", "") if isinstance(query, dict) else query or ""


def check_query(where, expr):
    try:
        found = selectors(expr)
    except ValueError as error:
        problem(where, str(error))
        return
    joins = 0
    for name, matchers, start, _ in found:
        have = {(label, op, value) for label, op, value in matchers}
        if name.startswith(FETCHER_PREFIX):
            wanted = {("cluster", "=~", "$cluster"), ("job", "=~", f"${FETCHER_JOB}")}
            if name == FETCHER_PROVIDER_JOIN:
                joins += ("provider", "!~", "$provider") in have
            else:
                wanted.add(("account", "=~", "$report"))
            for label, op, value in sorted(wanted - have):
                problem(where, f"selector {name} lacks {label}{op}\"{value}\"")
            if name.endswith("_total") and not re.search(r"\b(increase|rate)\(\s*$", expr[:start]):
                problem(where, f"counter {name} outside increase() or rate(): its raw value counts since the fetcher started")
            continue
        for label in ("cluster", "job", "instance"):
            if (label, "=~", f"${label}") not in have:
                rule = f" (dashboard linter: target-{label}-rule)" if label in LINTED else ""
                problem(where, f"selector {name} lacks {label}=~\"${label}\"{rule}")
        if name == PROVIDER_JOIN:
            joins += ("provider", "!~", "$provider") in have
            continue
        if ("report", "=~", "$report") not in have:
            problem(where, f"selector {name} lacks report=~\"$report\"")
        if name.endswith("_total") and not re.search(r"\b(increase|rate)\(\s*$", expr[:start]):
            problem(where, f"counter {name} outside increase() or rate(): its raw value counts since the exporter started")
    if joins != len(found) - joins:
        problem(where, f"{len(found) - joins} selector(s) but {joins} provider join(s): each must be "
                       f"`(selector unless on (cluster, job, instance, report) {PROVIDER_JOIN}{{..., provider!~\"$provider\"}})`, "
                       f"or for the fetcher's `(selector unless on (cluster, job, instance) {FETCHER_PROVIDER_JOIN}{{..., provider!~\"$provider\"}})`")


def check_provisioning():
    folder = ROOT / "grafana/provisioning"
    dashboards = yaml.safe_load((folder / "dashboards/credential-report.yaml").read_text(encoding="utf-8"))
    provider = dashboards["providers"][0]
    if dashboards.get("apiVersion") != 1 or provider.get("type") != "file" or not provider.get("options", {}).get("path"):
        problem("grafana/provisioning/dashboards", "needs a file provider with a path")
    datasources = yaml.safe_load((folder / "datasources/credential-report-prometheus.yaml").read_text(encoding="utf-8"))
    if not any(ds.get("type") == "prometheus" and ds.get("url") for ds in datasources.get("datasources", [])):
        problem("grafana/provisioning/datasources", "needs a Prometheus datasource with a url")


def main():
    if len(DASHBOARDS) < 2:
        problem("grafana/dashboards", "expected the overview and the drill-down dashboards")
    uids = {json.loads(p.read_text(encoding="utf-8")).get("uid") for p in DASHBOARDS}
    for path in DASHBOARDS:
        check(path, uids)
    check_provisioning()
    if errors:
        print("\n".join(f"  - {e}" for e in errors), file=sys.stderr)
        raise SystemExit(f"dashboards: FAILED: {len(errors)} problem(s)")
    panels = sum(1 for p in DASHBOARDS for x in panels_of(json.loads(p.read_text(encoding='utf-8'))) if x.get("type") != "row")
    print(f"dashboards: {len(DASHBOARDS)} dashboards, {panels} panels follow the conventions")


if __name__ == "__main__":
    main()
