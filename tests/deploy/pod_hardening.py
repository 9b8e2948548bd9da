"""The hardening every Pod of the deployment files must have (docs/deployment.md, docs/helm.md):
one set of assertions for the kustomize renderings (check_kubernetes.py) and the Helm chart's
(check_helm.py), so the two cannot drift apart again."""


def check_pod_hardening(where, spec, problem):
    """Calls problem(where, message) for each way the Pod `spec` falls short; returns its
    containers (init containers included)."""
    if spec.get("automountServiceAccountToken") is not False:
        problem(where, "automountServiceAccountToken must be false")
    pod_sc = spec.get("securityContext", {})
    if pod_sc.get("runAsNonRoot") is not True or pod_sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problem(where, "the Pod must run as non-root with the RuntimeDefault seccomp profile")
    containers = spec.get("containers", []) + spec.get("initContainers", [])
    for c in containers:
        cw = f"{where} container {c['name']}"
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False:
            problem(cw, "allowPrivilegeEscalation must be false")
        # Explicit, as every manifest writes it: a default is one admission plugin away.
        if sc.get("privileged") is not False:
            problem(cw, "privileged must be false")
        if sc.get("readOnlyRootFilesystem") is not True:
            problem(cw, "readOnlyRootFilesystem must be true")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            problem(cw, "capabilities must drop ALL")
        # A container's own setting wins over the Pod's: runAsNonRoot false there, or uid 0,
        # runs it as root whatever the Pod says.
        effective = {**pod_sc, **sc}
        if effective.get("runAsNonRoot") is not True or effective.get("runAsUser") == 0:
            problem(cw, "must run as non-root (runAsNonRoot true, not uid 0, in the container or the Pod)")
        for kind in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(c.get("resources", {}).get(kind, {})):
                problem(cw, f"resources.{kind} must set cpu and memory")
    return containers
