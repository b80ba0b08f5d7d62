{{/*
Named templates of the triton-inference-server chart. Every name is prefixed with the chart
name so it cannot collide with a parent chart's helpers.
*/}}

{{/* Chart name, overridable with nameOverride (63 chars: the DNS label limit). */}}
{{- define "triton-inference-server.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, used as the prefix of every resource name. A release already
named after the chart is not repeated ("triton-inference-server", not "...-triton-inference-server").
*/}}
{{- define "triton-inference-server.fullname" -}}
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

{{/* Name of the metrics Service (kept under 63 chars). */}}
{{- define "triton-inference-server.metricsServiceName" -}}
{{- printf "%s-metrics" (include "triton-inference-server.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{/* Chart label value: name-version ("+" is not allowed in label values). */}}
{{- define "triton-inference-server.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "triton-inference-server.labels" -}}
helm.sh/chart: {{ include "triton-inference-server.chart" . }}
{{ include "triton-inference-server.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: triton-platform
{{- end }}

{{/* Immutable labels that select the Triton pods (Deployment selector, Services, PDB, NetworkPolicy). */}}
{{- define "triton-inference-server.selectorLabels" -}}
app.kubernetes.io/name: {{ include "triton-inference-server.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of the metrics Service: what the ServiceMonitor selects. */}}
{{- define "triton-inference-server.metricsSelectorLabels" -}}
{{ include "triton-inference-server.selectorLabels" . }}
app.kubernetes.io/component: metrics
{{- end }}

{{/* ServiceAccount the pod runs as. */}}
{{- define "triton-inference-server.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "triton-inference-server.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Container image reference: repository:tag, pinned with @digest when one is given. */}}
{{- define "triton-inference-server.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/*
Container resources: the CPU/memory of .Values.resources plus the GPU extended resources of
.Values.gpu.resources in both requests and limits (Kubernetes requires them equal for
extended resources).
*/}}
{{- define "triton-inference-server.resources" -}}
{{- $requests := deepCopy .Values.resources.requests }}
{{- $limits := deepCopy .Values.resources.limits }}
{{- range $resource, $count := .Values.gpu.resources }}
{{- $_ := set $requests $resource $count }}
{{- $_ := set $limits $resource $count }}
{{- end }}
requests:
  {{- toYaml $requests | nindent 2 }}
limits:
  {{- toYaml $limits | nindent 2 }}
{{- end }}

{{/* Node selector: nodeSelector merged with gpu.nodeSelector (the GPU placement wins). */}}
{{- define "triton-inference-server.nodeSelector" -}}
{{- $selector := merge (deepCopy (default (dict) .Values.gpu.nodeSelector)) (deepCopy (default (dict) .Values.nodeSelector)) }}
{{- if $selector }}
{{- toYaml $selector }}
{{- end }}
{{- end }}

{{/* Tolerations: tolerations followed by gpu.tolerations. */}}
{{- define "triton-inference-server.tolerations" -}}
{{- $tolerations := concat (default (list) .Values.tolerations) (default (list) .Values.gpu.tolerations) }}
{{- if $tolerations }}
{{- toYaml $tolerations }}
{{- end }}
{{- end }}

{{/*
CIDRs outside the cluster allowed through the NetworkPolicy: only for an exposed Service
(NodePort/LoadBalancer); networkPolicy.externalCidrs, else the LoadBalancer's source
ranges, else anywhere (the Service was exposed on purpose). Rendered as a YAML list.
*/}}
{{- define "triton-inference-server.externalCidrs" -}}
{{- if ne .Values.service.type "ClusterIP" }}
{{- $cidrs := .Values.networkPolicy.externalCidrs }}
{{- if not $cidrs }}
{{- $cidrs = .Values.service.loadBalancerSourceRanges }}
{{- end }}
{{- if not $cidrs }}
{{- $cidrs = list "0.0.0.0/0" "::/0" }}
{{- end }}
{{- toYaml $cidrs }}
{{- end }}
{{- end }}

{{/*
The tritonserver command line. Latency summaries (--metrics-config=summary_latencies=true; Triton
docs/user_guide/metrics.md, "Summaries": off by default) feed the dashboard's quantile panel.
*/}}
{{- define "triton-inference-server.args" -}}
{{- include "triton-inference-server.checkExtraArgs" . }}
- {{ printf "--model-repository=%s" .Values.modelRepository.uri | quote }}
- {{ printf "--model-control-mode=%s" .Values.triton.modelControlMode | quote }}
{{- if eq .Values.triton.modelControlMode "poll" }}
- {{ printf "--repository-poll-secs=%d" (.Values.triton.repositoryPollSeconds | int) | quote }}
{{- end }}
{{- if eq .Values.triton.modelControlMode "explicit" }}
{{- range .Values.triton.loadModels }}
- {{ printf "--load-model=%s" . | quote }}
{{- end }}
{{- end }}
- "--strict-readiness=true"
- "--disable-auto-complete-config"
- {{ printf "--exit-timeout-secs=%d" (.Values.triton.exitTimeoutSeconds | int) | quote }}
- {{ printf "--http-port=%d" (.Values.ports.http | int) | quote }}
- {{ printf "--grpc-port=%d" (.Values.ports.grpc | int) | quote }}
{{- if .Values.metrics.enabled }}
- {{ printf "--metrics-port=%d" (.Values.ports.metrics | int) | quote }}
- "--metrics-config=summary_latencies=true"
{{- else }}
- "--allow-metrics=false"
{{- end }}
- {{ printf "--log-verbose=%d" (.Values.triton.logVerbose | int) | quote }}
{{- range .Values.triton.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/*
Refuse triton.extraArgs that set a flag the args above set (or an alias Triton treats the same),
or the --metrics-config keys the dashboard, alerts and HPA depend on: Triton would take the last
value and silently change what the probes, Service and metrics rely on. The same list is
triton_platform/config/rules/triton_args.py CHART_FLAGS; tests/chart/test_triton_args.py keeps them equal.
*/}}
{{- define "triton-inference-server.checkExtraArgs" -}}
{{- $owned := list "model-repository" "model-store" "model-control-mode" "repository-poll-secs" "load-model" "strict-readiness" "disable-auto-complete-config" "strict-model-config" "exit-timeout-secs" "allow-http" "allow-grpc" "allow-metrics" "http-address" "grpc-address" "metrics-address" "http-port" "grpc-port" "metrics-port" "log-verbose" }}
{{- range .Values.triton.extraArgs }}
{{- $name := regexReplaceAll "^--([^=]*).*$" . "${1}" }}
{{- if has $name $owned }}
{{- fail (printf "triton.extraArgs: %q sets --%s, which the chart sets itself; use the chart's value for it (e.g. extraArgs: [\"--model-load-thread-count=2\"])" . $name) }}
{{- end }}
{{- if regexMatch "^--metrics-config=(summary_latencies|counter_latencies)=" . }}
{{- fail (printf "triton.extraArgs: %q changes a --metrics-config key the chart sets; other keys are fine (e.g. \"--metrics-config=summary_quantiles=0.5:0.05,0.99:0.001\")" .) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"true" when the ServiceMonitor is rendered: asked for, and the cluster serves the Prometheus
operator's API (or force is set, for offline rendering); "" otherwise.
*/}}
{{- define "triton-inference-server.serviceMonitorRendered" -}}
{{- $sm := .Values.metrics.serviceMonitor }}
{{- $api := or (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") }}
{{- if and .Values.metrics.enabled $sm.enabled (or $sm.force $api) }}true{{ end }}
{{- end }}

{{/*
Labels of the load-test objects: the release's, but a name of their own, so the Deployment,
Services, PDB and NetworkPolicy (which select name + instance) never select the test pod.
*/}}
{{- define "triton-inference-server.loadTestLabels" -}}
helm.sh/chart: {{ include "triton-inference-server.chart" . }}
app.kubernetes.io/name: {{ printf "%s-loadtest" (include "triton-inference-server.name" . | trunc 54 | trimSuffix "-") }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: triton-platform
app.kubernetes.io/component: loadtest
{{- end }}

{{/* Selector labels of the load-test pod (NetworkPolicies select it by these). */}}
{{- define "triton-inference-server.loadTestSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-loadtest" (include "triton-inference-server.name" . | trunc 54 | trimSuffix "-") }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* "true" when the helm-test load test is rendered. */}}
{{- define "triton-inference-server.loadTestRendered" -}}
{{- if and .Values.loadTest.enabled .Values.loadTest.plan.runs }}true{{ end }}
{{- end }}
