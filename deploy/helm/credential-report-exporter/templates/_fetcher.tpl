{{/*
The fetcher's container: `credential-report-exporter fetch`, writing into the reports
volume. A native sidecar (an init container that keeps running) when
fetcher.nativeSidecar (by default, where the cluster has them), so it starts before the exporter and stops after it.
*/}}
{{- define "cre.fetcherContainer" -}}
{{- $fetcher := .Values.fetcher -}}
- name: fetcher
  image: {{ include "cre.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- if eq (include "cre.nativeSidecar" .) "true" }}
  restartPolicy: Always
  {{- end }}
  args:
    - fetch
    - --provider={{ $fetcher.provider }}
    - --report.dir=/reports
    - --fetch.interval={{ $fetcher.interval }}
    - --web.listen-address=:{{ $fetcher.port }}
    - --log.level={{ .Values.exporter.logLevel }}
    - --log.format={{ .Values.exporter.logFormat }}
    {{- with include "cre.webConfigArgs" . | trim }}{{ . | nindent 4 }}{{ end }}
    {{- with $fetcher.reportName }}
    - --report.name={{ . }}
    {{- end }}
    {{- $organization := $fetcher.organization }}
    {{- if $organization.enabled }}
    - --organization
    - --fetch.concurrency={{ $organization.concurrency }}
    - --organization.forget-after={{ $organization.forgetAfter }}
    {{- range $organization.exclude }}
    - {{ printf "--organization.exclude=%s" . | quote }}
    {{- end }}
    {{- with $organization.tagLabels }}
    - {{ printf "--organization.tag-labels=%s" (join "," .) | quote }}
    {{- end }}
    {{- if gt (int $organization.shards) 1 }}
    # This Pod's ordinal, from its pod-index label (ORGANIZATION_SHARD below).
    - --organization.shard=$(ORGANIZATION_SHARD)/{{ $organization.shards }}
    {{- end }}
    {{- with $organization.roleName }}
    {{- $prefix := get (dict "aws-iam" "aws" "alibaba-ram" "alibaba" "tencent-cam" "tencent") $fetcher.provider }}
    - --{{ $prefix }}.role-name={{ . }}
    {{- end }}
    {{- end }}
    {{- if eq $fetcher.provider "aws-iam" }}
    {{- range $fetcher.aws.roleArns }}
    - --aws.role-arn={{ . }}
    {{- end }}
    {{- with (and $organization.enabled $organization.externalId) | default $fetcher.aws.externalId }}
    - --aws.external-id={{ . }}
    {{- end }}
    {{- end }}
    {{- if and (eq $fetcher.provider "alibaba-ram") $fetcher.alibaba.endpoint }}
    - --alibaba.endpoint={{ $fetcher.alibaba.endpoint }}
    {{- end }}
    {{- if eq $fetcher.provider "tencent-cam" }}
    - --tencent.site={{ $fetcher.tencent.site }}
    {{- with $fetcher.tencent.endpoint }}
    - --tencent.endpoint={{ . }}
    {{- end }}
    {{- end }}
    {{- range $fetcher.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  {{- with $fetcher.existingSecret }}
  envFrom:
    - secretRef:
        name: {{ . }}
  {{- end }}
  {{- $rrsa := and (eq $fetcher.provider "alibaba-ram") $fetcher.alibaba.rrsa.enabled }}
  {{- $sharded := and $organization.enabled (gt (int $organization.shards) 1) }}
  {{- if or $rrsa $sharded $fetcher.env }}
  env:
    {{- if $sharded }}
    # The StatefulSet's ordinal of this Pod: its shard of the organization.
    - name: ORGANIZATION_SHARD
      valueFrom:
        fieldRef:
          fieldPath: metadata.labels['apps.kubernetes.io/pod-index']
    {{- end }}
    {{- if $rrsa }}
    - name: ALIBABA_CLOUD_ROLE_ARN
      value: {{ $fetcher.alibaba.rrsa.roleArn | quote }}
    - name: ALIBABA_CLOUD_OIDC_PROVIDER_ARN
      value: {{ $fetcher.alibaba.rrsa.oidcProviderArn | quote }}
    - name: ALIBABA_CLOUD_OIDC_TOKEN_FILE
      value: /var/run/secrets/ack.alibabacloud.com/rrsa-tokens/token
    {{- end }}
    {{- with $fetcher.env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  ports:
    - name: fetch-metrics
      containerPort: {{ $fetcher.port }}
      protocol: TCP
  volumeMounts:
    # The only writable mount: the fetcher writes each report by rename into it.
    - name: reports
      mountPath: /reports
    {{- if $rrsa }}
    - name: rrsa-token
      mountPath: /var/run/secrets/ack.alibabacloud.com/rrsa-tokens
      readOnly: true
    {{- end }}
    {{- with include "cre.webConfigMount" . | trim }}{{ . | nindent 4 }}{{ end }}
    {{- with $fetcher.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  # Ready as soon as it serves: a failing cloud API must not take the exporter's Pod out
  # of service; the fetcher's alerts say why reports stopped.
  {{- include "cre.probes" (dict "root" . "port" "fetch-metrics" "readinessPeriod" 10) | trim | nindent 2 }}
  resources:
    {{- toYaml $fetcher.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
{{- end }}
