#!/usr/bin/env python3
"""Keeps the Kubernetes manifests and the Helm chart in step with their one source each.

Neither kustomize nor Helm reads a file outside its own folder, so deploy/kubernetes/ and
the chart hold generated copies:

  deploy/kubernetes/base/prometheusrule.yaml      <- deploy/prometheus/credential-report-exporter.rules.yml
  deploy/kubernetes/base/dashboards/*.json        <- grafana/dashboards/*.json
  deploy/kubernetes/components/report-writer/example-report.csv <- examples/reports/acme-prod.csv
  deploy/helm/credential-report-exporter/files/credential-report-exporter.rules.yml <- the rules file, as it is
  deploy/helm/credential-report-exporter/files/dashboards/*.json <- grafana/dashboards/*.json
  deploy/helm/credential-report-exporter/files/grafana-alerting/credential-report.yaml
  deploy/kubernetes/components/grafana-alerts/credential-report.yaml
      <- grafana/provisioning/alerting/credential-report.yaml (itself made by scripts/grafana-alerts.py)

The chart's templates read its copies and apply the per-alert overrides of its values.

  scripts/sync-kubernetes.py          rewrite the copies after editing a source
  scripts/sync-kubernetes.py --check  fail if any copy differs from what its source makes
"""

import argparse
import difflib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy/prometheus/credential-report-exporter.rules.yml"
GRAFANA_RULES = ROOT / "grafana/provisioning/alerting/credential-report.yaml"
KUBE = ROOT / "deploy/kubernetes"
CHART = ROOT / "deploy/helm/credential-report-exporter"
# Folders that hold nothing but copies of grafana/dashboards/: a file there without a source is stray.
DASHBOARD_COPIES = [KUBE / "base/dashboards", CHART / "files/dashboards"]

PROMETHEUS_RULE_HEADER = """\
# Generated from deploy/prometheus/credential-report-exporter.rules.yml by
# scripts/sync-kubernetes.py. Do not edit: edit the rules file and run the script.
# Your Prometheus must select it: kube-prometheus-stack, for one, selects
# PrometheusRules labelled `release: <its release name>` unless told otherwise.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: credential-report-exporter
  labels:
    app.kubernetes.io/name: credential-report-exporter
spec:
"""


def prometheus_rule(rules_text):
    """The rules file's `groups:` and everything after it, indented under `spec:`.
    A text transform, so comments and block scalars survive exactly."""
    lines = rules_text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("groups:")), None)
    if start is None:
        raise SystemExit(f"{RULES}: no top-level `groups:` line")
    body = "\n".join(("  " + line) if line.strip() else "" for line in lines[start:])
    return PROMETHEUS_RULE_HEADER + body + "\n"


def expected_files():
    files = {KUBE / "base/prometheusrule.yaml": prometheus_rule(RULES.read_text(encoding="utf-8")).encode(),
             CHART / "files" / RULES.name: RULES.read_bytes(),
             CHART / "files/grafana-alerting" / GRAFANA_RULES.name: GRAFANA_RULES.read_bytes(),
             KUBE / "components/grafana-alerts" / GRAFANA_RULES.name: GRAFANA_RULES.read_bytes()}
    for dashboard in sorted((ROOT / "grafana/dashboards").glob("*.json")):
        for folder in DASHBOARD_COPIES:
            files[folder / dashboard.name] = dashboard.read_bytes()
    files[KUBE / "components/report-writer/example-report.csv"] = (ROOT / "examples/reports/acme-prod.csv").read_bytes()
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; change nothing")
    args = parser.parse_args()
    files = expected_files()
    stray = sorted({path for folder in DASHBOARD_COPIES for path in folder.glob("*")} - set(files))
    drift = []
    for path, content in files.items():
        current = path.read_bytes() if path.exists() else None
        if current == content:
            continue
        drift.append(path)
        if args.check:
            old = (current or b"").decode(errors="replace").splitlines(keepends=True)
            new = content.decode(errors="replace").splitlines(keepends=True)
            sys.stderr.writelines(list(difflib.unified_diff(old, new, str(path.relative_to(ROOT)), "generated"))[:40])
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            print(f"wrote {path.relative_to(ROOT)}")
    for path in stray:
        if args.check:
            drift.append(path)
            print(f"{path.relative_to(ROOT)} has no dashboard in grafana/dashboards/", file=sys.stderr)
        else:
            path.unlink()
            print(f"removed {path.relative_to(ROOT)}")
    if args.check:
        if drift:
            raise SystemExit(f"{len(drift)} generated file(s) out of date: run scripts/sync-kubernetes.py")
        print(f"in sync: {len(files)} generated files match their sources")


if __name__ == "__main__":
    main()
