{{/*
The scrape endpoints of a ServiceMonitor or PodMonitor (the same ports by name). Each
sets `job`, so that the rules find the exporter whatever the release is called; the
fetcher's metrics are a job of their own, so the exporter's alerts never count it.
*/}}
{{- define "cre.monitorEndpoints" -}}
{{- $monitor := .monitor }}
{{- $endpoints := list (dict "port" "metrics" "job" "credential-report-exporter") }}
{{- if .root.Values.fetcher.enabled }}
{{- $endpoints = append $endpoints (dict "port" "fetch-metrics" "job" "credential-report-fetcher") }}
{{- end }}
{{- range $endpoints }}
- port: {{ .port }}
  path: /metrics
  interval: {{ $monitor.interval }}
  scrapeTimeout: {{ $monitor.scrapeTimeout }}
  relabelings:
    - action: replace
      targetLabel: job
      replacement: {{ .job }}
    {{- with $monitor.relabelings }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $monitor.metricRelabelings }}
  metricRelabelings:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
