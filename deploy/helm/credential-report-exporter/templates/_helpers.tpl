{{/* Names, labels and the image, as the prometheus-community charts make them. */}}

{{- define "cre.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name; the release name alone when it already holds the chart's. */}}
{{- define "cre.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cre.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cre.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cre.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "cre.name" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{ include "cre.selectorLabels" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "cre.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cre.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cre.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s/%s:%s@%s" .Values.image.registry .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The namespace of a monitoring object: its own value, else the release's. */}}
{{- define "cre.namespace" -}}
{{- default .root.Release.Namespace .namespace }}
{{- end }}

{{/*
A duration of the values ("90d", "24h", "30m", "300s", "2w") as PromQL arithmetic in
seconds, written the way the rules file writes its thresholds: "90d" is "90 * 86400".
*/}}
{{- define "cre.promqlSeconds" -}}
{{- $number := regexFind "^[0-9]+" . }}
{{- $unit := trimPrefix $number . }}
{{- $seconds := dict "s" "" "m" " * 60" "h" " * 3600" "d" " * 86400" "w" " * 604800" }}
{{- if or (not $number) (not (hasKey $seconds $unit)) }}
{{- fail (printf "threshold %q: expected a whole number and one unit of s, m, h, d, w (for one, 90d)" .) }}
{{- end }}
{{- printf "%s%s" $number (get $seconds $unit) }}
{{- end }}

{{/*
The alerts whose threshold the values may change: where the number is written in the
rules file (`literal`, in the expression of `rule`: the alert itself unless named).
Rendering fails if the rules file no longer holds the literal, so a changed rule cannot
silently drop a user's threshold.
*/}}
{{- define "cre.thresholds" -}}
CredentialReportStale:
  rule: credential_report:stale_threshold_seconds
  literal: 24 * 3600
CredentialReportAccessKeyOlderThan90Days:
  literal: 90 * 86400
CredentialReportAccessKeyUnused:
  literal: 45 * 86400
CredentialReportRootUsedRecently:
  literal: "86400"
CredentialReportConsolePasswordUnused:
  literal: 45 * 86400
{{- end }}

{{/*
"true" when the fetcher runs as a native sidecar: fetcher.nativeSidecar when set, else
whether the cluster has them (Kubernetes 1.29 and later), so the defaults install on
every version kubeVersion admits.
*/}}
{{- define "cre.nativeSidecar" -}}
{{- $native := .Values.fetcher.nativeSidecar }}
{{- if kindIs "invalid" $native }}
{{- $native = semverCompare ">=1.29.0-0" .Capabilities.KubeVersion.Version }}
{{- end }}
{{- if $native }}true{{ end }}
{{- end }}

{{/* Where webConfig.existingSecret is mounted, in the exporter and the fetcher alike. */}}
{{- define "cre.webConfigDir" -}}
/etc/credential-report-exporter/web
{{- end }}

{{/*
The web configuration's part of a container: its flag, mount and probes. One web
configuration serves both the exporter and the fetcher (their ports, their probes).
*/}}
{{- define "cre.webConfigArgs" -}}
{{- if .Values.webConfig.existingSecret }}
- --web.config.file={{ include "cre.webConfigDir" . }}/web-config.yml
{{- end }}
{{- end }}

{{- define "cre.webConfigMount" -}}
{{- if .Values.webConfig.existingSecret }}
- name: web-config
  mountPath: {{ include "cre.webConfigDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{/*
A container's two probes on `port`. With webConfig.tls they speak HTTPS (kubelet does not
check the certificate); with webConfig.tcpSocketProbes they only connect, for a web
configuration that requires client certificates, which kubelet cannot present. Neither
probe needs basic auth: the exporter serves /-/healthy and /-/ready without it.
*/}}
{{- define "cre.probes" -}}
{{- $web := .root.Values.webConfig }}
{{- range $probe := list (dict "name" "livenessProbe" "path" "/-/healthy" "period" 10) (dict "name" "readinessProbe" "path" "/-/ready" "period" $.readinessPeriod) }}
{{ $probe.name }}:
  {{- if $web.tcpSocketProbes }}
  tcpSocket:
    port: {{ $.port }}
  {{- else }}
  httpGet:
    path: {{ $probe.path }}
    port: {{ $.port }}
    {{- if $web.tls }}
    scheme: HTTPS
    {{- end }}
  {{- end }}
  periodSeconds: {{ $probe.period }}
  timeoutSeconds: 3
  failureThreshold: 3
{{- end }}
{{- end }}
