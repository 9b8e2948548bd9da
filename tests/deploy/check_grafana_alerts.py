#!/usr/bin/env python3
"""Checks the Grafana alerting files against Grafana's own models and their Prometheus twins.

  * grafana/provisioning/alerting/credential-report.yaml: every rule decodes with the
    grafana-foundation-sdk models (alerting.Rule, its queries as prometheus.Dataquery and
    expr.TypeReduce/TypeMath/TypeThreshold) and encodes back to exactly what the file holds
    (a key those models do not know would be lost, and fails), with every enumerated value
    one the models allow; each expression reads only queries before it and the condition
    names one of them;
  * one Grafana rule for every Prometheus alerting rule of
    deploy/prometheus/credential-report-exporter.rules.yml and no other, with the same
    title, `for`, labels (severity, cis_control) and runbook_url, a summary and a
    description, no recording rule in its query and no Prometheus-only `$value`; a link to
    an existing dashboard panel that links the same runbook section, wherever one does;
  * every query is valid PromQL (promtool check rules on a file made of them);
  * the example contact points and notification policies decode with the SDK's models,
    every route's receiver exists, and every severity the rules use has a route.

Which series each rule fires on, against a real Prometheus, is tests/e2e/prometheus_e2e.py's.
Usage: tests/deploy/check_grafana_alerts.py
"""

import json
import re
import subprocess
import sys
import tempfile
import typing
from pathlib import Path

import yaml
from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import alerting, expr, prometheus

ROOT = Path(__file__).resolve().parents[2]
GRAFANA_RULES = ROOT / "grafana/provisioning/alerting/credential-report.yaml"
PROMETHEUS_RULES = ROOT / "deploy/prometheus/credential-report-exporter.rules.yml"
EXAMPLES = ROOT / "grafana/alerting-examples"
DASHBOARDS = ROOT / "grafana/dashboards"
EXPRESSION_MODELS = (expr.TypeMath, expr.TypeReduce, expr.TypeThreshold)

errors = []


def error(message):
    errors.append(message)


def encoded(model):
    return json.loads(json.dumps(model, cls=JSONEncoder))


def check_literals(model, where):
    """Every field the SDK types as an enumeration holds one of its values (the generated
    classes take any value; Grafana's API would refuse it)."""
    hints = typing.get_type_hints(type(model))
    for field, hint in hints.items():
        value = getattr(model, field, None)
        if value is None:
            continue
        options = [arg for arg in typing.get_args(hint) if typing.get_origin(arg) is typing.Literal] or (
            [hint] if typing.get_origin(hint) is typing.Literal else [])
        for literal in options:
            if value not in typing.get_args(literal):
                error(f"{where}: {field} is {value!r}, not one of {typing.get_args(literal)}")
        if hasattr(value, "to_json"):
            check_literals(value, f"{where}.{field}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if hasattr(item, "to_json"):
                    check_literals(item, f"{where}.{field}[{i}]")


def seconds(duration):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(int(n) * units[u] for n, u in parts)


def references(model):
    """The queries an expression reads: $A in math, the expression field elsewhere."""
    if isinstance(model, expr.TypeMath):
        return re.findall(r"\$\{?(\w+)\}?", model.expression)
    return [model.expression]


def check_rule(group, rule, where):
    api = dict(rule, folderUID=group["folder"], ruleGroup=group["name"], orgID=group["orgId"])
    decoded = alerting.Rule.from_json(api)
    if encoded(decoded) != api:
        error(f"{where}: the SDK's alerting.Rule does not encode back to the file (unknown or mistyped keys):\n"
              f"    file: {json.dumps(api, sort_keys=True)}\n    sdk:  {json.dumps(encoded(decoded), sort_keys=True)}")
    check_literals(decoded, where)
    seen = []
    for query in decoded.data:
        model = query.model
        if model.ref_id != query.ref_id:
            error(f"{where}: query {query.ref_id}'s model says refId {model.ref_id}")
        if isinstance(model, prometheus.Dataquery):
            if query.datasource_uid in ("", "__expr__") or not model.instant or model.range_val:
                error(f"{where}: query {query.ref_id} must be an instant query of a Prometheus data source")
            if not query.relative_time_range:
                error(f"{where}: query {query.ref_id} has no relativeTimeRange")
        elif isinstance(model, EXPRESSION_MODELS):
            if query.datasource_uid != "__expr__":
                error(f"{where}: expression {query.ref_id} must have datasourceUid __expr__")
            for ref in references(model):
                if ref not in seen:
                    error(f"{where}: expression {query.ref_id} reads {ref}, which no query before it defines")
        else:
            error(f"{where}: query {query.ref_id} decodes as {type(model).__name__}, not a Prometheus query "
                  f"or a math, reduce or threshold expression")
        seen.append(query.ref_id)
    kinds = [type(q.model) for q in decoded.data]
    if kinds[:1] != [prometheus.Dataquery] or expr.TypeReduce not in kinds:
        error(f"{where}: expected a Prometheus query, then a reduce: {[k.__name__ for k in kinds]}")
    if decoded.condition not in seen or decoded.condition == seen[0]:
        error(f"{where}: condition {decoded.condition!r} is not one of its expressions {seen[1:]}")
    if decoded.no_data_state != "OK":
        error(f"{where}: noDataState {decoded.no_data_state}: an empty answer means nothing fires, as in Prometheus")
    return decoded


def panel_links():
    """dashboard uid -> panel id -> the runbook anchors its description links."""
    links = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        panels = links.setdefault(dashboard["uid"], {})
        for top in dashboard.get("panels", []):
            for panel in [top, *top.get("panels", [])]:
                panels[str(panel["id"])] = set(re.findall(r"runbook\.md#([a-z0-9-]+)", panel.get("description", "")))
    return links


def check_twins(grafana, prometheus_rules):
    recorded = [r["record"] for g in prometheus_rules["groups"] for r in g["rules"] if "record" in r]
    alerts = {r["alert"]: r for g in prometheus_rules["groups"] for r in g["rules"] if "alert" in r}
    links = panel_links()
    linked_anchors = {a for panels in links.values() for anchors in panels.values() for a in anchors}
    titles = [rule.title for rule in grafana.values()]
    for title in sorted({t for t in titles if titles.count(t) > 1}):
        error(f"{title}: more than one Grafana rule")
    for name in sorted(set(alerts) - set(grafana)):
        error(f"{name}: no Grafana rule for this Prometheus alert")
    for name in sorted(set(grafana) - set(alerts)):
        error(f"{name}: a Grafana rule with no Prometheus alert of that name")
    for name in sorted(set(alerts) & set(grafana)):
        twin, rule = alerts[name], grafana[name]
        if rule.labels != twin.get("labels", {}):
            error(f"{name}: labels {rule.labels}, the Prometheus rule's {twin.get('labels', {})}")
        if seconds(rule.for_val) != seconds(twin.get("for", "0s")):
            error(f"{name}: for {rule.for_val}, the Prometheus rule's {twin.get('for', '0s')}")
        notes = rule.annotations or {}
        for key in ("summary", "description", "runbook_url"):
            if not notes.get(key):
                error(f"{name}: no {key} annotation")
        if notes.get("runbook_url") != twin["annotations"].get("runbook_url"):
            error(f"{name}: runbook_url differs from the Prometheus rule's")
        if set(twin["annotations"]) - set(notes):
            error(f"{name}: annotations {sorted(set(twin['annotations']) - set(notes))} of the Prometheus rule are missing")
        for key, text in [*notes.items(), *(rule.labels or {}).items()]:
            if re.search(r"\$value\b(?!s)", text):
                error(f"{name}: {key} uses $value, which Grafana fills with every expression's value; use $values.<refId>.Value")
            for ref in re.findall(r"\$values\.(\w+)", text):
                if ref not in [q.ref_id for q in rule.data]:
                    error(f"{name}: {key} reads $values.{ref}, which the rule does not define")
        query = rule.data[0].model.expr
        for record in recorded:
            if re.search(r"(?<![\w:])" + re.escape(record) + r"(?![\w:])", query):
                error(f"{name}: its query uses recording rule {record}, which a Grafana-only team does not load")
        anchor = twin["annotations"].get("runbook_url", "").rpartition("#")[2]
        dashboard, panel = notes.get("__dashboardUid__"), notes.get("__panelId__")
        if (dashboard is None) != (panel is None):
            error(f"{name}: __dashboardUid__ and __panelId__ come together")
        elif dashboard is not None:
            if panel not in links.get(dashboard, {}):
                error(f"{name}: links panel {panel} of dashboard {dashboard}, which does not exist")
            elif anchor not in links[dashboard][panel]:
                error(f"{name}: links panel {panel} of {dashboard}, whose description does not link its runbook section")
        elif anchor in linked_anchors:
            error(f"{name}: a dashboard panel links its runbook section, but the rule does not link the panel")


def check_promql(grafana):
    """promtool parses every query, as an alerting rule of a throwaway rules file."""
    rules = [{"alert": name, "expr": rule.data[0].model.expr} for name, rule in sorted(grafana.items())]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", encoding="utf-8") as file:
        yaml.safe_dump({"groups": [{"name": "grafana-queries", "rules": rules}]}, file, allow_unicode=True)
        file.flush()
        result = subprocess.run(["promtool", "check", "rules", file.name], capture_output=True, text=True)
    if result.returncode != 0:
        error(f"promtool check rules on the Grafana queries:\n{result.stdout}{result.stderr}")


def check_examples(severities):
    contact_file = EXAMPLES / "contact-points.example.yaml"
    policy_file = EXAMPLES / "notification-policies.example.yaml"
    contacts = yaml.safe_load(contact_file.read_text(encoding="utf-8"))
    names = set()
    for point in contacts["contactPoints"]:
        names.add(point["name"])
        for receiver in point["receivers"]:
            data = dict(receiver, name=point["name"])
            decoded = alerting.ContactPoint.from_json(data)
            if encoded(decoded) != data:
                error(f"{contact_file.name}: receiver {receiver.get('uid')} does not encode back through alerting.ContactPoint")
            check_literals(decoded, f"{contact_file.name}: {point['name']}")
    policies = yaml.safe_load(policy_file.read_text(encoding="utf-8"))
    routed = set()

    def walk(route, where):
        if route.get("receiver") and route["receiver"] not in names:
            error(f"{policy_file.name}: {where} sends to {route['receiver']!r}, no contact point of {contact_file.name}")
        for matcher in route.get("object_matchers", []):
            if len(matcher) != 3 or matcher[1] not in ("=", "!=", "=~", "!~"):
                error(f"{policy_file.name}: {where}: object matcher {matcher} is not [label, op, value]")
            elif matcher[0] == "severity" and matcher[1] == "=":
                routed.add(matcher[2])
        for i, child in enumerate(route.get("routes", [])):
            walk(child, f"{where}.routes[{i}]")

    for policy in policies["policies"]:
        data = {k: v for k, v in policy.items() if k != "orgId"}
        decoded = alerting.NotificationPolicy.from_json(data)
        if encoded(decoded) != data:
            error(f"{policy_file.name}: the policy does not encode back through alerting.NotificationPolicy")
        check_literals(decoded, policy_file.name)
        walk(policy, "policy")
    for severity in sorted(severities - routed):
        error(f"{policy_file.name}: no route for severity {severity!r}, which the rules use")


def main():
    plugins.register_default_plugins()
    document = yaml.safe_load(GRAFANA_RULES.read_text(encoding="utf-8"))
    if document.get("apiVersion") != 1 or not document.get("groups"):
        error(f"{GRAFANA_RULES.name}: expected apiVersion 1 and groups")
    grafana = {}
    for group in document.get("groups", []):
        where = f"group {group.get('name')}"
        for key in ("orgId", "name", "folder", "interval", "rules"):
            if key not in group:
                error(f"{where}: no {key}")
        interval = seconds(group["interval"])
        if interval % 10:
            error(f"{where}: interval {group['interval']} is not a multiple of 10s, as Grafana requires")
        alerting.RuleGroup.from_json({"title": group["name"], "folderUid": group["folder"], "interval": interval})
        for rule in group["rules"]:
            decoded = check_rule(group, rule, f"{where}: rule {rule.get('title')}")
            grafana.setdefault(decoded.title, decoded)
    check_twins(grafana, yaml.safe_load(PROMETHEUS_RULES.read_text(encoding="utf-8")))
    check_promql(grafana)
    check_examples({rule.labels.get("severity") for rule in grafana.values()})
    if errors:
        print("\n".join(f"  - {e}" for e in errors), file=sys.stderr)
        raise SystemExit(f"grafana alerting: {len(errors)} problem(s)")
    print(f"grafana alerting: {len(grafana)} rules decode with grafana-foundation-sdk and match their Prometheus twins; "
          f"the example contact points and policies decode and route every severity")


if __name__ == "__main__":
    main()
