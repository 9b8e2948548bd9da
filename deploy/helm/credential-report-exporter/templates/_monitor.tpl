{{/*
The scrape endpoints of a ServiceMonitor or PodMonitor (the same ports by name). Each
sets `job`, so that the rules find the exporter whatever the release is called; the
fetcher's metrics are a job of their own, so the exporter's alerts never count it. With
the monitor's jobLabel set, the job comes from that label instead: the rules' `job=`
selectors must then follow it. With webConfig.tls they scrape over HTTPS.
*/}}
{{- define "cre.monitorEndpoints" -}}
{{- $monitor := .monitor }}
{{- $web := .root.Values.webConfig }}
{{- $endpoints := list (dict "port" "metrics" "job" "credential-report-exporter") }}
{{- if .root.Values.fetcher.enabled }}
{{- $endpoints = append $endpoints (dict "port" "fetch-metrics" "job" "credential-report-fetcher") }}
{{- end }}
{{- range $endpoints }}
- port: {{ .port }}
  path: /metrics
  {{- if $web.tls }}
  scheme: https
  {{- with $monitor.tlsConfig }}
  tlsConfig:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- end }}
  {{- with $monitor.basicAuth }}
  basicAuth:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  interval: {{ $monitor.interval }}
  scrapeTimeout: {{ $monitor.scrapeTimeout }}
  {{- if or (not $monitor.jobLabel) $monitor.relabelings }}
  relabelings:
    {{- if not $monitor.jobLabel }}
    - action: replace
      targetLabel: job
      replacement: {{ .job }}
    {{- end }}
    {{- with $monitor.relabelings }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  {{- with $monitor.metricRelabelings }}
  metricRelabelings:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
