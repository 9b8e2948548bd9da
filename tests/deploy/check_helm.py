#!/usr/bin/env python3
"""Lints and renders the Helm chart deploy/helm/credential-report-exporter, with Helm's own
library (helm-python-sdk bundles it: there is no helm binary here), and checks what comes out.

  * `helm lint --strict` with the default values and with every set of values below, for
    the oldest Kubernetes version the checks cover (1.29) and the SDK's own: no warning, no
    error; on 1.25 and 1.28 the default values lint clean (the fetcher becomes a classic
    sidecar by itself) and native sidecars asked for are refused; organization shards
    (which read the pod-index label) lint clean on 1.28 and are refused on 1.27;
  * each set of values renders; built-in kinds validate strictly against the Kubernetes
    OpenAPI schemas (kubernetes-validate) of 1.29 and of the newest it knows; the Prometheus
    Operator's kinds against the subset of their CRDs in check_kubernetes.py;
  * the Pod is hardened (non-root, read-only root, no privilege escalation, no capabilities,
    seccomp, requests and limits, no service account token), one exporter runs at a time
    (one replica, Recreate), the exporter mounts the reports read-only and only the fetcher
    writes them, a native sidecar is an init container with restartPolicy Always;
  * the monitor selects the Service (or the Pod), scrapes ports that exist, sets job (or
    leaves it to jobLabel), and carries additionalLabels, sampleLimit and targetLabels;
    with webConfig the exporter and the fetcher mount the Secret read-only and get
    --web.config.file, and with webConfig.tls both probe over HTTPS and both endpoints are
    scraped over https with the values' tlsConfig and basicAuth; the NetworkPolicy selects the Pod and admits the metrics port;
  * with default values the PrometheusRule's groups equal the rules file's and the dashboard
    ConfigMaps hold grafana/dashboards/ byte for byte; with overrides, exactly the rules
    asked for change, and in the way asked; the Grafana alert rules' ConfigMap, labelled
    for the alerts sidecar, holds grafana/provisioning/alerting/ byte for byte, or with
    every Prometheus query (and nothing else) on grafanaAlerts.datasourceUid;
  * values that must be refused are refused, with a message naming the value;
  * every value in values.yaml is described in docs/helm.md;
  * fetcher.organization gives the fetcher --organization and its companions, and only the
    chosen provider's role flag; with shards, a StatefulSet of that many Pods (one exporter
    per ordinal, never two) whose fetcher takes --organization.shard from the Pod's ordinal;
  * with --binary, the real binary accepts the flags each rendering gives the exporter and
    the fetcher (each command line, ended by --help, parses; for each ordinal where the
    command line takes one).
"""

import argparse
import copy
import subprocess
import sys
from pathlib import Path

import helm_python as helm
import jsonschema
import kubernetes_validate
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_kubernetes as k8s  # noqa: E402  (shares the CRD schemas and the small helpers)
from pod_hardening import check_pod_hardening  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy/helm/credential-report-exporter"
RULES = ROOT / "deploy/prometheus/credential-report-exporter.rules.yml"
GRAFANA_RULES = ROOT / "grafana/provisioning/alerting/credential-report.yaml"
DOCS = ROOT / "docs/helm.md"
RELEASE, NAMESPACE = "cre", "monitoring"
KPS = {"release": "kube-prometheus-stack"}

# name: (values, what the rendering must show beyond the common checks)
CASES = {
    "defaults": {},
    # kube-prometheus-stack, Alibaba Cloud through RRSA, the fetcher as a classic sidecar,
    # a PodMonitor, alerts tuned, dashboards in Grafana's namespace, a narrowed policy.
    "alibaba-rrsa-podmonitor": {
        "fullnameOverride": "creds",
        "commonLabels": {"team": "security"},
        "image": {"registry": "registry.example", "repository": "sec/cre", "tag": "0.1.0",
                  "digest": "sha256:" + "a" * 64},
        "fetcher": {"provider": "alibaba-ram", "reportName": "prod", "interval": "6h", "nativeSidecar": False,
                    "alibaba": {"endpoint": "https://ims.aliyuncs.com",
                                "rrsa": {"enabled": True, "roleArn": "acs:ram::1234567890123456:role/cre",
                                         "oidcProviderArn": "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1"}},
                    "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}}},
        "exporter": {"logFormat": "json", "perUserMetrics": False, "extraArgs": ["--report.timezone=UTC"],
                     "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}},
        "prometheus": {"monitor": {"enabled": False},
                       "podMonitor": {"enabled": True, "additionalLabels": KPS, "interval": "2m", "scrapeTimeout": "1m",
                                      "metricRelabelings": [{"action": "labeldrop", "regex": "secret_id"}]}},
        "prometheusRule": {
            "additionalLabels": KPS,
            "additionalRuleLabels": {"team": "security"},
            "alerts": {
                "CredentialReportUserWithTwoActiveKeys": {"enabled": False},
                "CredentialReportAccessKeyUnused": {"threshold": "90d", "severity": "info", "for": "1h"},
                "CredentialReportStale": {"threshold": "12h", "keepFiringFor": "30m"},
                "CredentialReportRootUsedRecently": {"threshold": "2d"},
                "CredentialReportConsolePasswordUnused": {"threshold": "90d"},
                "CredentialReportAccessKeyAtRisk": {"labels": {"page": "security-oncall"},
                                                    "annotations": {"dashboard": "https://grafana.example/d/x"}},
            },
        },
        "dashboards": {"namespace": "grafana", "annotations": {"grafana_folder": "Security"}},
        "grafanaAlerts": {"namespace": "grafana", "datasourceUid": "mimir-prod", "additionalLabels": {"team": "security"},
                          "annotations": {"grafana_folder": "Security"}},
        "networkPolicy": {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                          "extraEgress": [{"ports": [{"port": 80, "protocol": "TCP"}]}]},
    },
    # AWS across accounts with keys from a Secret, IRSA-less; monitors in another namespace.
    "aws-secret-roles": {
        "fetcher": {"existingSecret": "aws-credentials", "aws": {"roleArns": ["arn:aws:iam::111122223333:role/cre",
                                                                            "arn:aws:iam::444455556666:role/cre"],
                                                               "externalId": "cre"}},
        "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/cre-fetcher"}},
        "prometheus": {"monitor": {"namespace": "monitoring-system", "additionalLabels": KPS}},
        "podLabels": {"sidecar.istio.io/inject": "false"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "monitoring", "effect": "NoSchedule"}],
    },
    # TLS and basic auth from a web configuration; Prometheus checks the certificate and logs
    # in; a CA bundle of one's own mounted in both containers; the scrape bounded.
    "tls-basic-auth": {
        "webConfig": {"existingSecret": "cre-web-config", "tls": True},
        "prometheus": {"monitor": {"additionalLabels": KPS, "sampleLimit": 200000, "targetLabels": ["team"],
                                   "tlsConfig": {"ca": {"secret": {"name": "cre-web-config", "key": "ca.crt"}},
                                                 "serverName": "cre-credential-report-exporter.monitoring.svc"},
                                   "basicAuth": {"username": {"name": "cre-scrape", "key": "username"},
                                                 "password": {"name": "cre-scrape", "key": "password"}}}},
        "extraVolumes": [{"name": "corporate-ca", "configMap": {"name": "corporate-ca"}}],
        "extraVolumeMounts": [{"name": "corporate-ca", "mountPath": "/etc/ssl/corporate", "readOnly": True}],
        "fetcher": {"extraVolumeMounts": [{"name": "corporate-ca", "mountPath": "/etc/ssl/corporate", "readOnly": True}]},
    },
    # Client certificates required: kubelet cannot present one, so the probes only connect;
    # the PodMonitor takes job from a Pod label and copies another.
    "mtls-podmonitor-joblabel": {
        "webConfig": {"existingSecret": "cre-web-config", "tls": True, "tcpSocketProbes": True},
        "podLabels": {"scrape-job": "credential-report-exporter", "team": "security"},
        "prometheus": {"monitor": {"enabled": False},
                       "podMonitor": {"enabled": True, "jobLabel": "scrape-job", "targetLabels": ["team"], "sampleLimit": 1000,
                                      "tlsConfig": {"ca": {"secret": {"name": "cre-web-config", "key": "ca.crt"}},
                                                    "cert": {"secret": {"name": "cre-scrape-cert", "key": "tls.crt"}},
                                                    "keySecret": {"name": "cre-scrape-cert", "key": "tls.key"}}}},
        "fetcher": {"enabled": False},
    },
    "tencent-secret": {
        "fetcher": {"provider": "tencent-cam", "reportName": "tencent-prod", "existingSecret": "tencent-credentials",
                    "tencent": {"site": "international", "endpoint": "https://cam.intl.tencentcloudapi.com"}},
    },
    # A whole AWS organization split across three Pods: a StatefulSet whose Pod I fetches
    # shard I; a role name and external id of one's own, accounts excluded, tags as labels.
    "aws-organization-shards": {
        "fetcher": {"organization": {"enabled": True, "roleName": "CredentialReportReader", "externalId": "cre-org",
                                     "concurrency": 4, "exclude": ["111111111111", "sandbox-*"],
                                     "tagLabels": ["team", "cost-center"], "forgetAfter": "72h", "shards": 3}},
        "prometheus": {"monitor": {"additionalLabels": KPS}},
    },
    # A Tencent Cloud organization in one Pod, through the provider's default role.
    "tencent-organization": {
        "fetcher": {"provider": "tencent-cam", "existingSecret": "tencent-credentials",
                    "organization": {"enabled": True, "exclude": ["100000000001"]}},
    },
    # No fetcher: reports from a volume of one's own; nothing for the Prometheus Operator.
    "exporter-only": {
        "fetcher": {"enabled": False},
        "reports": {"volume": {"persistentVolumeClaim": {"claimName": "credential-reports", "readOnly": True}}},
        "prometheus": {"monitor": {"enabled": False}},
        "prometheusRule": {"enabled": False},
        "dashboards": {"enabled": False},
        "grafanaAlerts": {"enabled": False},
        "serviceAccount": {"create": False, "name": "reports-reader"},
    },
}

# Values Helm must refuse: (values, words the error must contain).
REFUSED = [
    ({"fetcher": {"provider": "gcp-iam"}}, "/fetcher/provider"),
    ({"prometheusRule": {"alerts": {"CredentialReportTypo": {"enabled": False}}}}, "prometheusRule.alerts.CredentialReportTypo"),
    ({"prometheusRule": {"alerts": {"CredentialReportExporterDown": {"threshold": "5m"}}}}, "has no threshold"),
    ({"prometheusRule": {"alerts": {"CredentialReportStale": {"threshold": "1.5d"}}}}, "threshold"),
    ({"prometheusRule": {"alerts": {"CredentialReportStale": {"for": "soon"}}}}, "/for"),
    ({"prometheus": {"podMonitor": {"enabled": True}}}, "both enabled"),
    ({"fetcher": {"provider": "alibaba-ram", "reportName": "x", "alibaba": {"rrsa": {"enabled": True}}}}, "rrsa needs roleArn"),
    ({"fetcher": {"aws": {"roleArns": ["not-an-arn"]}}}, "/fetcher/aws/roleArns"),
    ({"exporter": {"logLevel": "verbose"}}, "/exporter/logLevel"),
    ({"grafanaAlerts": {"datasourceUid": "a uid with spaces"}}, "/grafanaAlerts/datasourceUid"),
    ({"webConfig": {"tls": True}}, "webConfig.tls needs webConfig.existingSecret"),
    ({"prometheus": {"monitor": {"basicAuth": {"username": {"name": "s"}}}}}, "/prometheus/monitor/basicAuth"),
    ({"metricsPort": 9100}, "metricsPort"),
    ({"reports": {"volume": {"hostPath": {"path": "/srv/reports"}, "emptyDir": {}}}}, "/reports/volume"),
    ({"fetcher": {"organization": {"enabled": True}, "aws": {"roleArns": ["arn:aws:iam::111122223333:role/cre"]}}},
     "leave fetcher.aws.roleArns and fetcher.reportName empty"),
    ({"fetcher": {"organization": {"shards": 2}}}, "needs fetcher.enabled and fetcher.organization.enabled"),
    ({"fetcher": {"organization": {"enabled": True, "shards": 2}}, "reports": {"volume": {"emptyDir": {}}}},
     "reports.volume would be one folder for all"),
    ({"fetcher": {"organization": {"enabled": True, "shards": 0}}}, "/fetcher/organization/shards"),
]

# Values that are Kubernetes objects as they are (resources, security contexts).
PASSED_THROUGH = {"resources", "podSecurityContext", "securityContext"}

errors = []


def problem(where, message):
    errors.append(f"{where}: {message}")


def merged(values):
    """The chart's defaults with `values` on top, as Helm merges them."""
    with helm.Chart.load(str(CHART)) as chart:
        return chart.merge_values(values)


def render(values):
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


def validate(case, docs):
    for doc in docs:
        what = f"{case}: {doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in k8s.CRD_SCHEMAS:
            try:
                jsonschema.validate(doc, k8s.CRD_SCHEMAS[doc["kind"]])
            except jsonschema.ValidationError as error:
                problem(what, f"{error.message} at {'/'.join(map(str, error.absolute_path))}")
            continue
        for version in k8s.VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problem(what, f"invalid for Kubernetes {version}: {error.message} at {'/'.join(map(str, error.path))}")
            except kubernetes_validate.SchemaNotFoundError:
                problem(what, f"no schema in Kubernetes {version}")


WEB_CONFIG_DIR = "/etc/credential-report-exporter/web"


def check_web_config(where, spec, values):
    """webConfig: the Secret mounted read-only in the exporter and the fetcher, the flag
    passed to both, probes over HTTPS (or TCP); extraVolumes and their mounts."""
    web = values["webConfig"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    if web["existingSecret"]:
        if volumes.get("web-config", {}).get("secret", {}).get("secretName") != web["existingSecret"]:
            problem(where, "webConfig.existingSecret is not a volume of the Pod")
    elif "web-config" in volumes:
        problem(where, "a web-config volume without webConfig.existingSecret")
    for extra in values["extraVolumes"]:
        if volumes.get(extra["name"]) != extra:
            problem(where, f"extraVolumes {extra['name']} is not a volume of the Pod as given")
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        cw = f"{where} container {c['name']}"
        flag = f"--web.config.file={WEB_CONFIG_DIR}/web-config.yml"
        mounts = [m for m in c.get("volumeMounts", []) if m["name"] == "web-config"]
        if web["existingSecret"]:
            if flag not in c.get("args", []):
                problem(cw, f"no {flag}")
            if mounts != [{"name": "web-config", "mountPath": WEB_CONFIG_DIR, "readOnly": True}]:
                problem(cw, f"must mount the web configuration read-only at {WEB_CONFIG_DIR}: {mounts}")
        elif mounts or any(a.startswith("--web.config.file") for a in c.get("args", [])):
            problem(cw, "a web configuration without webConfig.existingSecret")
        extra = values["extraVolumeMounts"] if c["name"] == "exporter" else values["fetcher"]["extraVolumeMounts"]
        if any(m not in c.get("volumeMounts", []) for m in extra):
            problem(cw, "lacks its extraVolumeMounts")
        for probe in ("livenessProbe", "readinessProbe"):
            got = c.get(probe, {})
            if web["tcpSocketProbes"]:
                if "tcpSocket" not in got or "httpGet" in got:
                    problem(cw, f"{probe} must be a tcpSocket probe with webConfig.tcpSocketProbes")
            elif got.get("httpGet", {}).get("scheme", "HTTP") != ("HTTPS" if web["tls"] else "HTTP"):
                problem(cw, f"{probe} must use {'HTTPS' if web['tls'] else 'HTTP'}: {got}")


def check_containers(where, spec, values):
    containers = check_pod_hardening(where, spec, problem)
    by_name = {c["name"]: c for c in containers}
    exporter = by_name.get("exporter")
    if not exporter:
        problem(where, "no exporter container")
        return
    check_web_config(where, spec, values)
    if exporter["resources"] != values["exporter"]["resources"]:
        problem(where, "the exporter's resources are not exporter.resources")
    if not values["webConfig"]["tcpSocketProbes"] and (
            exporter.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/-/healthy" or
            exporter.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/-/ready"):
        problem(where, "the exporter's probes must be /-/healthy and /-/ready")
    exporter_mount = [m for m in exporter.get("volumeMounts", []) if m["mountPath"] == "/reports"]
    if not exporter_mount or exporter_mount[0].get("readOnly") is not True:
        problem(where, "the exporter must mount /reports read-only")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    source = {k: v for k, v in volumes.get("reports", {}).items() if k != "name"}
    if source != (values["reports"]["volume"] or {"emptyDir": {"sizeLimit": values["reports"]["sizeLimit"]}}):
        problem(where, "the reports volume is not reports.volume, nor an emptyDir of reports.sizeLimit")
    fetcher = by_name.get("fetcher")
    want = values["fetcher"]
    if not want["enabled"]:
        if fetcher:
            problem(where, "a fetcher runs though fetcher.enabled is false")
        return
    if not fetcher:
        problem(where, "no fetcher container")
        return
    # Unset, nativeSidecar follows the cluster: these renderings are for the SDK's own
    # Kubernetes version, which has native sidecars (1.28 is linted in check_old_kubernetes).
    native = want.get("nativeSidecar") is not False  # Helm drops a null value from the merge
    in_init = any(c["name"] == "fetcher" for c in spec.get("initContainers", []))
    if native and not (in_init and fetcher.get("restartPolicy") == "Always"):
        problem(where, "a native sidecar is an init container with restartPolicy: Always")
    if not native and in_init:
        problem(where, "with nativeSidecar false the fetcher is an ordinary container")
    args = fetcher.get("args", [])
    expected = ["fetch", f"--provider={want['provider']}", "--report.dir=/reports", f"--fetch.interval={want['interval']}"]
    if args[:4] != expected:
        problem(where, f"the fetcher's args start {args[:4]}, expected {expected}")
    if want["reportName"] and f"--report.name={want['reportName']}" not in args:
        problem(where, "fetcher.reportName is not passed")
    if want["provider"] == "tencent-cam":
        tencent = want["tencent"]
        flags = [f"--tencent.site={tencent['site']}"] + ([f"--tencent.endpoint={tencent['endpoint']}"] if tencent["endpoint"] else [])
        for flag in flags:
            if flag not in args:
                problem(where, f"{flag} is not passed")
    for arn in want["aws"]["roleArns"] if want["provider"] == "aws-iam" else []:
        if f"--aws.role-arn={arn}" not in args:
            problem(where, f"role {arn} is not passed")
    fetcher_mounts = [m for m in fetcher.get("volumeMounts", []) if m["mountPath"] == "/reports"]
    if not fetcher_mounts or fetcher_mounts[0].get("readOnly"):
        problem(where, "the fetcher must mount /reports read-write")
    writable = [m["name"] for m in fetcher.get("volumeMounts", []) if not m.get("readOnly")]
    if writable != ["reports"]:
        problem(where, f"the fetcher's writable mounts are {writable}; only the reports folder may be")
    secret = [e["secretRef"]["name"] for e in fetcher.get("envFrom", []) if "secretRef" in e]
    if secret != ([want["existingSecret"]] if want["existingSecret"] else []):
        problem(where, f"the fetcher's Secret is {secret}, not fetcher.existingSecret")
    env = {e["name"]: e.get("value") for e in fetcher.get("env", [])}
    rrsa = want["provider"] == "alibaba-ram" and want["alibaba"]["rrsa"]["enabled"]
    if rrsa:
        token = env.get("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "")
        mounted = [m for m in fetcher["volumeMounts"] if token.startswith(m["mountPath"] + "/")]
        source = volumes.get(mounted[0]["name"], {}) if mounted else {}
        audiences = [s["serviceAccountToken"].get("audience") for s in source.get("projected", {}).get("sources", [])]
        if env.get("ALIBABA_CLOUD_ROLE_ARN") != want["alibaba"]["rrsa"]["roleArn"] or audiences != ["sts.aliyuncs.com"]:
            problem(where, "RRSA needs the role, and a projected token for sts.aliyuncs.com at ALIBABA_CLOUD_OIDC_TOKEN_FILE")
    elif any(name.startswith("ALIBABA_CLOUD_") for name in env):
        problem(where, "RRSA variables without fetcher.alibaba.rrsa")


def check_monitoring(case, kinds, values, pod, service):
    service_monitor = values["prometheus"]["monitor"]
    pod_monitor = values["prometheus"]["podMonitor"]
    for kind, settings in (("ServiceMonitor", service_monitor), ("PodMonitor", pod_monitor)):
        found = kinds.get(kind, [])
        if len(found) != (1 if settings["enabled"] else 0):
            problem(case, f"{len(found)} {kind}(s) with enabled={settings['enabled']}")
            continue
        for m in found:
            where = f"{case}: {kind}"
            labels = m["metadata"].get("labels", {})
            if any(labels.get(k) != v for k, v in settings["additionalLabels"].items()):
                problem(where, "lacks additionalLabels")
            if m["metadata"]["namespace"] != (settings["namespace"] or NAMESPACE):
                problem(where, f"in namespace {m['metadata']['namespace']}")
            if settings["namespace"] and m["spec"].get("namespaceSelector", {}).get("matchNames") != [NAMESPACE]:
                problem(where, "in another namespace it must select the release's with namespaceSelector")
            if kind == "ServiceMonitor":
                targets, ports = service["metadata"]["labels"], {p["name"] for p in service["spec"]["ports"]}
            else:
                targets = pod["metadata"]["labels"]
                ports = {p["name"] for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", [])
                         for p in c.get("ports", [])}
            if not k8s.matches(m["spec"]["selector"], targets):
                problem(where, "selects nothing")
            endpoints = m["spec"].get("endpoints") or m["spec"].get("podMetricsEndpoints")
            target_key = "targetLabels" if kind == "ServiceMonitor" else "podTargetLabels"
            if m["spec"].get(target_key, []) != settings["targetLabels"] or \
                    m["spec"].get("sampleLimit", 0) != settings["sampleLimit"] or \
                    m["spec"].get("jobLabel", "") != settings["jobLabel"]:
                problem(where, f"does not carry the values' targetLabels (as {target_key}), sampleLimit and jobLabel")
            web = values["webConfig"]
            jobs = {}
            for e in endpoints:
                if e.get("scheme", "http") != ("https" if web["tls"] else "http"):
                    problem(where, f"port {e['port']} is scraped over {e.get('scheme', 'http')} with webConfig.tls={web['tls']}")
                if e.get("tlsConfig", {}) != (settings["tlsConfig"] if web["tls"] else {}):
                    problem(where, f"port {e['port']}'s tlsConfig is not the values'")
                if e.get("basicAuth", {}) != settings["basicAuth"]:
                    problem(where, f"port {e['port']}'s basicAuth is not the values'")
                if e["port"] not in ports:
                    problem(where, f"scrapes port {e['port']!r}, which does not exist")
                if k8s.parse_duration(e["scrapeTimeout"]) > k8s.parse_duration(e["interval"]):
                    problem(where, "scrapeTimeout exceeds interval")
                if e["interval"] != settings["interval"] or e.get("metricRelabelings", []) != settings["metricRelabelings"]:
                    problem(where, "does not use the values' interval and metricRelabelings")
                jobs[e["port"]] = [r.get("replacement") for r in e.get("relabelings", []) if r.get("targetLabel") == "job"]
            if settings["jobLabel"]:
                # job comes from the label: the chart must not overwrite it.
                if any(jobs.values()):
                    problem(where, "with jobLabel the endpoints must not set job themselves")
                continue
            if jobs.get("metrics") != ["credential-report-exporter"]:
                problem(where, "must set job=credential-report-exporter on the exporter's port, which the rules expect")
            if values["fetcher"]["enabled"] and jobs.get("fetch-metrics") != ["credential-report-fetcher"]:
                problem(where, "must scrape the fetcher as job credential-report-fetcher")


def expected_groups(values):
    """The rules file's groups with the values' overrides applied, written out in Python
    independently of the template."""
    groups = copy.deepcopy(yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"])
    settings = values["prometheusRule"]
    overrides = settings["alerts"]
    seconds = {"s": "", "m": " * 60", "h": " * 3600", "d": " * 86400", "w": " * 604800"}
    thresholds = {"CredentialReportStale": ("credential_report:stale_threshold_seconds", "24 * 3600"),
                  "CredentialReportAccessKeyOlderThan90Days": ("CredentialReportAccessKeyOlderThan90Days", "90 * 86400"),
                  "CredentialReportAccessKeyUnused": ("CredentialReportAccessKeyUnused", "45 * 86400"),
                  "CredentialReportRootUsedRecently": ("CredentialReportRootUsedRecently", "86400"),
                  "CredentialReportConsolePasswordUnused": ("CredentialReportConsolePasswordUnused", "45 * 86400")}
    out = []
    for group in groups:
        rules = []
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            for alert, (holder, literal) in thresholds.items():
                threshold = overrides.get(alert, {}).get("threshold")
                if holder == name and threshold:
                    rule["expr"] = rule["expr"].replace(literal, threshold[:-1] + seconds[threshold[-1]])
            if "alert" in rule:
                o = overrides.get(name, {})
                if o.get("enabled") is False:
                    continue
                if "for" in o:
                    rule["for"] = o["for"]
                if "keepFiringFor" in o:
                    rule["keep_firing_for"] = o["keepFiringFor"]
                labels = {**rule.get("labels", {}), **settings["additionalRuleLabels"], **o.get("labels", {})}
                if "severity" in o:
                    labels["severity"] = o["severity"]
                if labels:
                    rule["labels"] = labels
                annotations = {**rule.get("annotations", {}), **settings["additionalRuleAnnotations"], **o.get("annotations", {})}
                if annotations:
                    rule["annotations"] = annotations
            rules.append(rule)
        if rules:
            out.append({**group, "rules": rules})
    return out


def check_rules_and_dashboards(case, kinds, values, overridden):
    rules = kinds.get("PrometheusRule", [])
    if len(rules) != (1 if values["prometheusRule"]["enabled"] else 0):
        problem(case, f"{len(rules)} PrometheusRule(s) with enabled={values['prometheusRule']['enabled']}")
    for rule in rules:
        labels = rule["metadata"].get("labels", {})
        if any(labels.get(k) != v for k, v in values["prometheusRule"]["additionalLabels"].items()):
            problem(case, "the PrometheusRule lacks additionalLabels")
        got = rule["spec"]["groups"]
        if got != expected_groups(values):
            problem(case, "the PrometheusRule's groups are not the rules file's with the overrides applied")
        source = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
        if not overridden and got != source:
            problem(case, "with default values the PrometheusRule must be the rules file: run scripts/sync-kubernetes.py")
        if overridden and got == source:
            problem(case, "the overrides changed nothing")
    dashboards = values["dashboards"]
    maps = [c for c in kinds.get("ConfigMap", []) if c["metadata"].get("labels", {}).get(dashboards["label"]) == dashboards["labelValue"]]
    want = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "grafana/dashboards").glob("*.json")} if dashboards["enabled"] else {}
    served = {}
    for cm in maps:
        served.update(cm.get("data", {}))
        if cm["metadata"]["namespace"] != (dashboards["namespace"] or NAMESPACE):
            problem(case, f"dashboard ConfigMap in namespace {cm['metadata']['namespace']}")
        if any(cm["metadata"].get("annotations", {}).get(k) != v for k, v in dashboards["annotations"].items()):
            problem(case, "a dashboard ConfigMap lacks dashboards.annotations")
    if served != want:
        problem(case, f"dashboard ConfigMaps hold {sorted(served)}, not grafana/dashboards/ as it is: run scripts/sync-kubernetes.py")
    check_grafana_alerts(case, kinds, values["grafanaAlerts"])


def check_grafana_alerts(case, kinds, alerts):
    maps = [c for c in kinds.get("ConfigMap", []) if c["metadata"].get("labels", {}).get(alerts["label"]) == alerts["labelValue"]]
    if len(maps) != (1 if alerts["enabled"] else 0):
        problem(case, f"{len(maps)} Grafana alert ConfigMap(s) labelled {alerts['label']}={alerts['labelValue']} with enabled={alerts['enabled']}")
    source = GRAFANA_RULES.read_text(encoding="utf-8")
    for cm in maps:
        meta = cm["metadata"]
        if meta["namespace"] != (alerts["namespace"] or NAMESPACE):
            problem(case, f"the Grafana alert ConfigMap is in namespace {meta['namespace']}")
        if any(meta.get("labels", {}).get(k) != v for k, v in alerts["additionalLabels"].items()) or \
                any(meta.get("annotations", {}).get(k) != v for k, v in alerts["annotations"].items()):
            problem(case, "the Grafana alert ConfigMap lacks grafanaAlerts.additionalLabels or annotations")
        data = cm.get("data", {})
        if list(data) != [GRAFANA_RULES.name]:
            problem(case, f"the Grafana alert ConfigMap holds {sorted(data)}, not {GRAFANA_RULES.name}")
            continue
        if alerts["datasourceUid"] == "prometheus":
            if data[GRAFANA_RULES.name] != source:
                problem(case, "the Grafana alert ConfigMap is not grafana/provisioning/alerting/ as it is: run scripts/sync-kubernetes.py")
            continue
        # Another data source: the same rules, each Prometheus query pointed at it.
        want = yaml.safe_load(source)
        for group in want["groups"]:
            for rule in group["rules"]:
                for query in rule["data"]:
                    if query["datasourceUid"] != "__expr__":
                        query["datasourceUid"] = query["model"]["datasource"]["uid"] = alerts["datasourceUid"]
        if yaml.safe_load(data[GRAFANA_RULES.name]) != want:
            problem(case, f"with datasourceUid {alerts['datasourceUid']} the Grafana rules are not the file's with only their queries' data source changed")


def check_case(case, given):
    values = merged(given)
    try:
        docs = render(given)
    except helm.HelmError as error:
        problem(case, f"does not render: {error}")
        return None
    validate(case, docs)
    kinds = {}
    for doc in docs:
        kinds.setdefault(doc["kind"], []).append(doc)
        if doc["kind"] in ("Deployment", "StatefulSet", "Service", "ServiceAccount", "NetworkPolicy"):
            if doc["metadata"].get("namespace") != NAMESPACE:
                problem(case, f"{doc['kind']} not in the release's namespace")
        labels = doc["metadata"].get("labels", {})
        if any(labels.get(k) != v for k, v in values["commonLabels"].items()):
            problem(case, f"{doc['kind']}/{doc['metadata']['name']} lacks commonLabels")
    # A Deployment, or with fetcher.organization.shards a StatefulSet of one Pod per shard.
    workload_kind = "StatefulSet" if values["fetcher"]["organization"]["shards"] > 1 else "Deployment"
    deployments = kinds.get(workload_kind, [])
    if len(deployments) != 1 or len(kinds.get("Deployment", []) + kinds.get("StatefulSet", [])) != 1 \
            or len(kinds.get("Service", [])) != 1:
        problem(case, f"expected one {workload_kind} and one Service")
        return
    deployment, service = deployments[0], kinds["Service"][0]
    pod = deployment["spec"]["template"]
    if workload_kind == "Deployment":
        k8s.check_single_exporter(case, deployment)
    check_organization(case, deployment, service, values)
    check_containers(f"{case}: Deployment", pod["spec"], values)
    if not k8s.matches({"matchLabels": service["spec"]["selector"]}, pod["metadata"]["labels"]):
        problem(case, "the Service selects no Pod of the Deployment")
    account = pod["spec"]["serviceAccountName"]
    accounts = [a["metadata"]["name"] for a in kinds.get("ServiceAccount", [])]
    if values["serviceAccount"]["create"] != (accounts == [account]):
        problem(case, f"the Pod runs as {account}; the chart creates {accounts}")
    for a in kinds.get("ServiceAccount", []):
        if a.get("automountServiceAccountToken") is not False or a["metadata"].get("annotations", {}) != values["serviceAccount"]["annotations"]:
            problem(case, "the ServiceAccount must mount no token and carry serviceAccount.annotations")
    if values["networkPolicy"]["enabled"]:
        policies = kinds.get("NetworkPolicy", [])
        k8s.check_network_policies(case, policies, pod)
        for p in policies:
            egress = p["spec"].get("egress", [])
            if not values["fetcher"]["enabled"] and egress != values["networkPolicy"]["extraEgress"]:
                problem(case, "without a fetcher the Pod needs no egress beyond networkPolicy.extraEgress")
            if values["fetcher"]["enabled"] and not any(q.get("port") == 443 for r in egress for q in r.get("ports", [])):
                problem(case, "the fetcher cannot reach its cloud's API over HTTPS")
            if values["networkPolicy"]["from"] and any(r.get("from") != values["networkPolicy"]["from"] for r in p["spec"]["ingress"]):
                problem(case, "ingress is not limited to networkPolicy.from")
    check_monitoring(case, kinds, values, pod, service)
    check_rules_and_dashboards(case, kinds, values, overridden=bool(given.get("prometheusRule", {}).get("alerts")))
    return docs


ROLE_NAME_FLAGS = {"aws-iam": "--aws.role-name", "alibaba-ram": "--alibaba.role-name", "tencent-cam": "--tencent.role-name"}
POD_INDEX = "metadata.labels['apps.kubernetes.io/pod-index']"


def check_organization(case, workload, service, values):
    """fetcher.organization: the fetcher's --organization flags, exactly the values' and
    only the chosen provider's role flag; with shards, a StatefulSet of that many Pods whose
    fetcher reads its shard from the Pod's ordinal."""
    where = f"{case}: {workload['kind']}"
    want = values["fetcher"]["organization"]
    shards = want["shards"]
    spec = workload["spec"]["template"]["spec"]
    fetcher = next((c for c in spec.get("containers", []) + spec.get("initContainers", []) if c["name"] == "fetcher"), None)
    if shards > 1 and (workload["spec"].get("replicas") != shards or workload["spec"].get("serviceName") != service["metadata"]["name"]):
        problem(where, f"must run {shards} replicas under the Service {service['metadata']['name']}")
    if not fetcher:
        return
    args = fetcher.get("args", [])
    organization_args = [a for a in args if a.startswith("--organization") or a.startswith("--fetch.concurrency")
                         or a.split("=")[0] in ROLE_NAME_FLAGS.values()]
    expected = []
    if want["enabled"]:
        provider = values["fetcher"]["provider"]
        expected = ["--organization", f"--fetch.concurrency={want['concurrency']}",
                    f"--organization.forget-after={want['forgetAfter']}"]
        expected += [f"--organization.exclude={e}" for e in want["exclude"]]
        expected += [f"--organization.tag-labels={','.join(want['tagLabels'])}"] if want["tagLabels"] else []
        expected += [f"--organization.shard=$(ORGANIZATION_SHARD)/{shards}"] if shards > 1 else []
        expected += [f"{ROLE_NAME_FLAGS[provider]}={want['roleName']}"] if want["roleName"] else []
        if provider == "aws-iam" and want["externalId"] and f"--aws.external-id={want['externalId']}" not in args:
            problem(where, "fetcher.organization.externalId is not passed")
    if organization_args != expected:
        problem(where, f"the fetcher's organization flags are {organization_args}, expected {expected}")
    index = [e for e in fetcher.get("env", []) if e["name"] == "ORGANIZATION_SHARD"]
    source = [e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in index]
    if source != ([POD_INDEX] if want["enabled"] and shards > 1 else []):
        problem(where, f"ORGANIZATION_SHARD must be the Pod's ordinal ({POD_INDEX}) exactly when sharded, not {source}")


def check_flags(case, docs, binary):
    """The binary parses every command line the chart writes: a renamed or removed flag
    fails here, not in a user's crash-looping Pod. A $(VAR) Kubernetes expands from the
    Pod's ordinal is given each ordinal the workload has."""
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        spec = doc["spec"]["template"]["spec"]
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            ordinals = {e["name"] for e in c.get("env", [])
                        if e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == POD_INDEX}
            for ordinal in range(doc["spec"].get("replicas", 1)):
                args = list(c.get("args", []))
                for name in ordinals:
                    args = [a.replace(f"$({name})", str(ordinal)) for a in args]
                result = subprocess.run([binary, *args, "--help"], capture_output=True, text=True, timeout=60)
                if result.returncode != 0:
                    problem(f"{case}: container {c['name']}", f"{binary} refuses its args {args}: {result.stderr.strip()}")


def check_lint(case, values, kube_versions=("v1.29.0", None)):
    for kube_version in kube_versions:
        report = helm.lint(str(CHART), values, strict=True, namespace=NAMESPACE, kube_version=kube_version)
        for message in report.get("messages", []):
            if message["severity"] >= 2:
                problem(f"helm lint {case}", f"{message['path']}: {message['error']}")
        for error in report.get("errors", []):
            problem(f"helm lint {case}", error)


def lint_log(values, kube_version):
    """What lint logs for `values` on `kube_version`, read from a child process: lint only
    logs a template's `fail` (to the library's stderr), and rendering here cannot pretend to
    be an older Kubernetes."""
    code = ("import helm_python as h; "
            f"h.lint({str(CHART)!r}, {values!r}, strict=True, namespace={NAMESPACE!r}, kube_version={kube_version!r})")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return result.stdout + result.stderr


def check_old_kubernetes():
    """Native sidecars need 1.29: the default values install on every version kubeVersion
    admits (the fetcher falls back to a classic sidecar by itself), and native sidecars
    asked for on 1.28 are refused."""
    refused = lint_log({"fetcher": {"nativeSidecar": True}}, "v1.28.0")
    if "fetcher.nativeSidecar needs Kubernetes 1.29" not in refused:
        problem("helm lint on Kubernetes 1.28", f"native sidecars asked for were not refused:\n{refused[-2000:]}")
    for version in ("v1.25.0", "v1.28.0"):
        log = lint_log({}, version)
        if "nativeSidecar" in log or "error" in log.lower():
            problem(f"helm lint on Kubernetes {version}", f"the default values fail:\n{log[-2000:]}")
    check_lint("default values on Kubernetes 1.25 and 1.28", {}, ["v1.25.0", "v1.28.0"])
    # Shards read their ordinal from the pod-index label, which 1.28 brought.
    sharded = {"fetcher": {"organization": {"enabled": True, "shards": 2}}}
    refused = lint_log(sharded, "v1.27.0")
    if "fetcher.organization.shards needs Kubernetes 1.28" not in refused:
        problem("helm lint on Kubernetes 1.27", f"shards were not refused:\n{refused[-2000:]}")
    check_lint("shards on Kubernetes 1.28", sharded, ["v1.28.0"])


def check_refused():
    for values, words in REFUSED:
        try:
            render(values)
        except helm.HelmError as error:
            if words not in str(error):
                problem("refused values", f"{values}: the error does not name {words!r}: {error}")
        else:
            problem("refused values", f"{values} rendered; it must be refused")


def check_docs():
    """Every value of values.yaml appears in docs/helm.md's table as `path`."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""

    def leaves(node, prefix):
        # Kubernetes objects passed through whole are described whole.
        if isinstance(node, dict) and node and prefix.rsplit(".", 1)[-1] not in PASSED_THROUGH:
            for key, value in node.items():
                yield from leaves(value, f"{prefix}.{key}" if prefix else key)
        else:
            yield prefix

    with helm.Chart.load(str(CHART)) as chart:
        paths = list(leaves(chart.values, ""))
    missing = [p for p in paths if f"`{p}`" not in text]
    if missing:
        problem("docs/helm.md", f"values not described: {', '.join(missing)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", help="credential-report-exporter, to check the flags the chart passes it")
    args = parser.parse_args()
    print(f"helm SDK {helm.helm_sdk_version()}; Kubernetes schemas: {', '.join(k8s.VERSIONS)}")
    for case, values in CASES.items():
        check_lint(case, values)
        docs = check_case(case, values)
        if docs and args.binary:
            check_flags(case, docs, args.binary)
        if docs:
            print(f"rendered {case}: {len(docs)} objects ({', '.join(sorted({d['kind'] for d in docs}))})")
    check_old_kubernetes()
    check_refused()
    check_docs()
    if errors:
        print("\n".join(f"  - {e}" for e in errors), file=sys.stderr)
        raise SystemExit(f"helm: FAILED: {len(errors)} problem(s)")
    flags = f"; every command line parsed by {args.binary}" if args.binary else "; flags not checked (no --binary)"
    print(f"helm: lint clean; {len(CASES)} renderings valid, hardened and in sync; {len(REFUSED)} bad values refused{flags}")


if __name__ == "__main__":
    main()
