#!/usr/bin/env python3
"""Writes Grafana-managed alert rules from the Prometheus rules file, the one source of truth.

  deploy/prometheus/credential-report-exporter.rules.yml -> grafana/provisioning/alerting/credential-report.yaml

One Grafana rule per Prometheus alerting rule, titled with the alert's name, with its `for`,
labels and annotations. A team whose Prometheus loads no rule files (a managed one, or one
that is not theirs) alerts from Grafana instead; load one set or the other, not both.

How a rule is translated, the same for every alert:

  * A: the alert's PromQL, with every recording rule it uses inlined (a Grafana-only team
    loads no recording rule), as an instant query of the Prometheus data source;
  * B: reduce A to its last value, series by series (one alert instance per series, like
    the Prometheus rule);
  * C, the condition: `is_number($B) || is_nan($B) || is_inf($B)`, 1 for every series A
    returns. A Prometheus rule fires on every series its expression returns, whatever the
    value (`credential_report_up == 0` returns 0, on which a threshold `> 0` never fires);
    Grafana's own import of Prometheus rules (pkg/services/ngalert/prom/query.go) uses
    the same math expression for the same reason.
  * `{{ $value }}` in annotations becomes `{{ $values.B.Value }}` (Grafana's `$value` is a
    string naming every expression); `noDataState: OK`, since an empty result means
    "nothing fires" to Prometheus; `execErrState: Error`, so a failing query is seen.
  * `__dashboardUid__`/`__panelId__`: the first panel of grafana/dashboards/ (files in name
    order, panels in order) whose description links the alert's runbook section.

  scripts/grafana-alerts.py                          rewrite the file after editing the rules
  scripts/grafana-alerts.py --check                  fail if the file differs from what this writes
  scripts/grafana-alerts.py --datasource-uid UID --output FILE   for a data source of another uid

Needs PyYAML (in .venv/ after scripts/test.sh, from tests/requirements.txt).
"""

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy/prometheus/credential-report-exporter.rules.yml"
DASHBOARDS = ROOT / "grafana/dashboards"
OUTPUT = ROOT / "grafana/provisioning/alerting/credential-report.yaml"
# The uid of grafana/provisioning/datasources/credential-report-prometheus.yaml, and of
# kube-prometheus-stack's own Prometheus data source.
DATASOURCE_UID = "prometheus"
# The folder grafana/provisioning/dashboards/ puts the dashboards in.
FOLDER = "Credential hygiene"
# Prometheus evaluates a group without `interval:` every global evaluation_interval (1m by default).
DEFAULT_INTERVAL = "1m"
QUERY, REDUCED, CONDITION = "A", "B", "C"
EXPRESSION_DATASOURCE = {"type": "__expr__", "uid": "__expr__"}
# Grafana's uids: at most 40 characters of letters, digits, - and _.
UID_LIMIT = 40

HEADER = """\
# Grafana-managed alert rules, generated from deploy/prometheus/credential-report-exporter.rules.yml
# by scripts/grafana-alerts.py. Do not edit: edit the rules file and run the script
# (scripts/test.sh fails while this file differs from what the script writes).
#
# Load these or the Prometheus rules, not both: each alert would notify twice.
# Copy into /etc/grafana/provisioning/alerting/ (or mount this folder there). The queries
# go to the Prometheus data source with uid "{uid}" (the one of
# grafana/provisioning/datasources/ and of kube-prometheus-stack); for another uid, run
#   scripts/grafana-alerts.py --datasource-uid YOUR_UID --output your-file.yaml
# Each rule: A, the alert's PromQL (recording rules inlined); B, A's last value per series;
# C, the condition, true for every series A returns (as Prometheus fires on each).
# docs/dashboards-and-alerts.md, "Grafana alerting", says how to install and tune them.
"""


def fail(message):
    raise SystemExit(f"{RULES.relative_to(ROOT)}: {message}")


def squeeze(expr):
    """The expression on one line: runs of white space outside string literals become one
    space (PromQL gives them no meaning), so an inlined rule reads as one term."""
    out, quote, i = [], None, 0
    while i < len(expr):
        c = expr[i]
        if quote:
            out.append(c)
            if c == "\\" and i + 1 < len(expr):
                out.append(expr[i + 1])
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
            out.append(c)
        elif c.isspace():
            if out and out[-1] != " ":
                out.append(" ")
        elif c == "#":  # a comment runs to the end of the line
            while i + 1 < len(expr) and expr[i + 1] != "\n":
                i += 1
        else:
            out.append(c)
        i += 1
    return "".join(out).strip()


def inline_recording_rules(name, expr, recorded):
    """The expression with each recording rule's name replaced by its expression in
    parentheses, until none is left. A name used with a selector, a range or a rule that
    adds labels cannot be replaced by its expression alone, so it stops the script."""
    for _ in range(len(recorded) + 1):
        changed = False
        for record, rule in recorded.items():
            pattern = re.compile(r"(?<![\w:])" + re.escape(record) + r"(?![\w:])")
            match = pattern.search(expr)
            if not match:
                continue
            following = expr[match.end():].lstrip()
            if following[:1] in ("{", "["):
                fail(f"{name} uses recording rule {record} with a selector or a range; inline it by hand")
            if rule.get("labels"):
                fail(f"recording rule {record} adds labels, which inlining its expression would lose")
            expr = pattern.sub(lambda _: "(" + squeeze(rule["expr"]) + ")", expr)
            changed = True
        if not changed:
            return expr
    fail(f"{name}: recording rules refer to each other in a loop")


def grafana_template(text):
    """A Prometheus alert template as Grafana's: $value is the reduced value of B."""
    return re.sub(r"\$value\b(?!s)", f"$values.{REDUCED}.Value", text)


def uid_of(alert):
    """A readable, stable uid: CredentialReportAccessKeyUnused -> cr-access-key-unused."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", alert).lower()
    uid = re.sub(r"^credential-report-", "cr-", words)
    if len(uid) > UID_LIMIT or not re.fullmatch(r"[a-z0-9-]+", uid):
        fail(f"alert {alert} makes the uid {uid!r}: Grafana wants at most {UID_LIMIT} of [a-z0-9-]")
    return uid


def panel_links():
    """runbook anchor -> (dashboard uid, panel id) of the first panel that links it."""
    links = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for top in dashboard.get("panels", []):
            for panel in [top, *top.get("panels", [])]:
                for anchor in re.findall(r"runbook\.md#([a-z0-9-]+)", panel.get("description", "")):
                    links.setdefault(anchor, (dashboard["uid"], panel["id"]))
    return links


def grafana_rule(rule, recorded, datasource_uid, links):
    name = rule["alert"]
    expr = inline_recording_rules(name, rule["expr"].strip(), recorded)
    annotations = {key: grafana_template(value) for key, value in rule.get("annotations", {}).items()}
    anchor = annotations.get("runbook_url", "").rpartition("#")[2]
    if anchor in links:
        dashboard, panel = links[anchor]
        annotations["__dashboardUid__"] = dashboard
        annotations["__panelId__"] = str(panel)
    return {
        "uid": uid_of(name),
        "title": name,
        "condition": CONDITION,
        "data": [
            {
                "refId": QUERY,
                "relativeTimeRange": {"from": 600, "to": 0},
                "datasourceUid": datasource_uid,
                "model": {
                    "refId": QUERY,
                    "datasource": {"type": "prometheus", "uid": datasource_uid},
                    "editorMode": "code",
                    "expr": expr,
                    "instant": True,
                    "range": False,
                },
            },
            {
                "refId": REDUCED,
                "datasourceUid": EXPRESSION_DATASOURCE["uid"],
                "model": {
                    "refId": REDUCED,
                    "datasource": EXPRESSION_DATASOURCE,
                    "type": "reduce",
                    "expression": QUERY,
                    "reducer": "last",
                },
            },
            {
                "refId": CONDITION,
                "datasourceUid": EXPRESSION_DATASOURCE["uid"],
                "model": {
                    "refId": CONDITION,
                    "datasource": EXPRESSION_DATASOURCE,
                    "type": "math",
                    "expression": f"is_number(${REDUCED}) || is_nan(${REDUCED}) || is_inf(${REDUCED})",
                },
            },
        ],
        "noDataState": "OK",
        "execErrState": "Error",
        "for": rule.get("for", "0s"),
        "labels": dict(rule.get("labels", {})),
        "annotations": annotations,
        "isPaused": False,
    }


def grafana_rules(rules_text, datasource_uid):
    source = yaml.safe_load(rules_text)
    recorded = {}
    for group in source.get("groups", []):
        for rule in group.get("rules", []):
            if "record" in rule:
                recorded[rule["record"]] = rule
    links = panel_links()
    groups = []
    for group in source.get("groups", []):
        alerts = [rule for rule in group.get("rules", []) if "alert" in rule]
        if not alerts:
            continue
        groups.append({
            "orgId": 1,
            "name": group["name"],
            "folder": FOLDER,
            "interval": group.get("interval", DEFAULT_INTERVAL),
            "rules": [grafana_rule(rule, recorded, datasource_uid, links) for rule in alerts],
        })
    if not groups:
        fail("no alerting rule")
    return {"apiVersion": 1, "groups": groups}


class Dumper(yaml.SafeDumper):
    """Block scalars for text that spans lines, one line for any other text (an annotation
    is easier to read whole than folded), no anchors; dictionaries in the order written."""

    def ignore_aliases(self, data):
        return True


def _string(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _string)


def render(datasource_uid):
    document = grafana_rules(RULES.read_text(encoding="utf-8"), datasource_uid)
    body = yaml.dump(document, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=1 << 16)
    return HEADER.format(uid=datasource_uid) + body


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the output file is up to date")
    parser.add_argument("--datasource-uid", default=DATASOURCE_UID,
                        help=f"uid of the Prometheus data source the rules query (default: {DATASOURCE_UID})")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write (default: %(default)s)")
    args = parser.parse_args()
    text = render(args.datasource_uid)
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
    if args.check:
        if current != text:
            diff = difflib.unified_diff(current.splitlines(True), text.splitlines(True), str(args.output), "generated")
            sys.stderr.writelines(list(diff)[:60])
            raise SystemExit(f"{args.output} is out of date: run scripts/grafana-alerts.py")
        print(f"in sync: {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
        return
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
