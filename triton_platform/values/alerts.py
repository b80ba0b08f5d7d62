"""Prometheus alert rules for Triton Inference Server, built from the stack's thresholds.

The Monitoring component wraps :func:`prometheus_rule_spec` in a ``PrometheusRule``
(monitoring.coreos.com/v1). The alerts are a table (``RULE_GROUPS``) rendered for one
namespace and its thresholds by :func:`build_rule_groups`; everything here is plain data, so
the rules are tested without Pulumi. Metric names are Triton's own (``nv_inference_*``, ``nv_gpu_*``; see Triton's
metrics documentation) plus ``up`` from Prometheus and ``kube_pod_status_*`` from
kube-state-metrics, which kube-prometheus-stack ships. With ``triton.gateway`` the group
``triton.gateway`` adds the Gateway's view: Envoy's per-route response-code counters
(``envoy_cluster_upstream_rq_xx``), which see the client errors Triton never counts.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass
from typing import Any, NamedTuple

# Triton's Service (and so its ServiceMonitor's job label) carries "triton" in its name.
TRITON_JOB_REGEX = ".*triton.*"
RUNBOOK_BASE = "https://github.com/triton-inference-server/server/blob/main/docs/user_guide"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DURATION = re.compile(r"^[0-9]+(s|m|h)$")


@dataclass(frozen=True)
class AlertThresholds:
    """When a Triton alert fires. Ratios are in [0, 1]; times in milliseconds."""

    queue_time_ms: int = 100
    failure_ratio: float = 0.05
    gpu_utilization: float = 0.95
    gpu_memory_ratio: float = 0.95
    # Share of a route's responses the Gateway answers with 4xx (or with 5xx), each class on its own.
    gateway_error_ratio: float = 0.05
    # How long a condition must hold before the alert fires (Prometheus durations).
    down_for: str = "5m"
    degraded_for: str = "10m"
    saturated_for: str = "15m"
    # The HPA at maxReplicas with its metric above target this long: it cannot add capacity.
    at_max_for: str = "15m"

    def __post_init__(self) -> None:
        problems: list[str] = []
        if isinstance(self.queue_time_ms, bool) or not isinstance(self.queue_time_ms, int) or self.queue_time_ms < 1:
            problems.append(
                f"monitoring.alerts.queueTimeMs: must be a whole number of milliseconds >= 1, "
                f"got {self.queue_time_ms!r} (example: 100)"
            )
        ratios: tuple[tuple[str, object, str], ...] = (
            ("monitoring.alerts.failureRatio", self.failure_ratio, "0.05"),
            ("monitoring.alerts.gatewayErrorRatio", self.gateway_error_ratio, "0.05"),
            ("gpuUtilization", self.gpu_utilization, "0.95"),
            ("gpuMemoryRatio", self.gpu_memory_ratio, "0.95"),
        )
        for key, value, example in ratios:
            if not _is_ratio(value):
                problems.append(f"{key}: must be a ratio in (0, 1], got {value!r} (example: {example})")
        for key, value in (
            ("downFor", self.down_for),
            ("degradedFor", self.degraded_for),
            ("saturatedFor", self.saturated_for),
            ("atMaxFor", self.at_max_for),
        ):
            if not isinstance(value, str) or not _DURATION.match(value):
                problems.append(f"{key}: must be a Prometheus duration like '5m', got {value!r}")
        if problems:
            raise ValueError("invalid alert thresholds:\n  " + "\n  ".join(problems))


def _is_ratio(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and 0 < value <= 1


def _fmt(value: float) -> str:
    """A threshold as PromQL writes it: 0.05 -> '0.05', 250 -> '250' (no float noise)."""
    return format(value, "g") if isinstance(value, float) else str(value)


def _selector(namespace: str, *extra: str) -> str:
    return "{" + ", ".join([f'namespace="{namespace}"', *extra]) + "}"


class _Text(string.Template):
    """A rule's text with ``@name`` placeholders: ``$`` and ``{{ }}`` belong to Prometheus' templates."""

    delimiter = "@"


class Alert(NamedTuple):
    """One alert rule of the PrometheusRule, as templates over the namespace and the thresholds.

    ``expr``, ``for_``, ``summary``, ``description`` and ``runbook`` may hold ``@name``
    placeholders, filled from ``_template_values``; ``doc`` is the page of Triton's user guide
    that explains the metric (the ``runbook_url``).
    """

    alert: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    runbook: str
    doc: str = "metrics.md"


# Rendered only when the stack has a Gateway (``build_rule_groups(..., gateway=True)``).
GATEWAY_GROUP = "triton.gateway"

# The rule groups, in the order Prometheus evaluates them. What to check first (runbook) and the
# Triton guide page that explains the metric go into each alert's annotations.
RULE_GROUPS: tuple[tuple[str, tuple[Alert, ...]], ...] = (
    (
        "triton.availability",
        (
            Alert(
                "TritonServerDown",
                "absent(@up) or (@up == 0)",
                "@down_for",
                "critical",
                "Triton Inference Server is down in namespace {{ $labels.namespace }}",
                # Two branches: `up == 0` keeps the target's pod label; absent() has only the
                # selector's equality labels (namespace), so name the pod only when there is one.
                "{{ if $labels.pod }}Triton pod {{ $labels.pod }} in @ns has failed every metrics scrape for "
                "@down_for.{{ else }}No Triton metrics target has existed in @ns for @down_for: no Triton pod "
                "is running, or the ServiceMonitor selects none.{{ end }}",
                "Check `kubectl -n @ns get pods,endpoints` and the Triton pod logs; a crash loop usually "
                "means the model repository is unreachable or a model failed to load with strict readiness.",
            ),
            Alert(
                "TritonPodNotReady",
                # Running-but-unready only: completed Job pods (engine builds) are never ready either.
                "(@not_ready == 1) and on (namespace, pod) (@running == 1)",
                "@degraded_for",
                "warning",
                "Triton pod {{ $labels.pod }} is running but not ready",
                "Pod {{ $labels.pod }} in @ns has failed its readiness probe (/v2/health/ready) for "
                "@degraded_for: a model is not loaded or the server is still starting.",
                "Look for 'failed to load' in the pod logs and query /v2/repository/index for each model's state; "
                "fix the model (or its config.pbtxt) and republish.",
                "model_management.md",
            ),
        ),
    ),
    (
        "triton.requests",
        (
            Alert(
                "TritonInferenceFailures",
                "@failure_rate / (@success_rate + @failure_rate) > @failure_ratio",
                "@degraded_for",
                "warning",
                "Triton model {{ $labels.model }} fails more than @failure_percent of requests",
                "Over 5m, {{ $value | humanizePercentage }} of inference requests to model {{ $labels.model }} "
                "in @ns failed inside Triton (threshold @failure_ratio). Client errors are not counted: Triton "
                "answers a wrong shape, batch size, datatype or input name with HTTP 400 (gRPC INVALID_ARGUMENT) "
                "before inference and adds nothing to nv_inference_request_failure.",
                # Triton's failure counter (reasons BACKEND, REJECTED, CANCELED, OTHER) counts only requests
                # it accepted; tests/components/monitoring/test_prometheus_scrape.py shows the 400s leave it at 0.
                "This alert sees server-side failures only (nv_inference_request_failure by reason: BACKEND, "
                "REJECTED, CANCELED, OTHER); find them in the Triton logs. Requests Triton rejects as invalid "
                "(HTTP 400) never reach this metric: watch the clients' (or the gateway's) 4xx rate for those. "
                "A new model version that fails every request should be rolled back by republishing the "
                "previous one.",
            ),
            Alert(
                "TritonHighQueueTime",
                "@queue_rate / @success_rate / 1000 > @queue_time_ms",
                "@degraded_for",
                "warning",
                "Requests to Triton model {{ $labels.model }} wait more than @queue_time_ms ms in the queue",
                "Average queue time per request of model {{ $labels.model }} in @ns is "
                "{{ $value | humanize }} ms (threshold @queue_time_ms ms).",
                "Add replicas or model instances (instanceCount), enable or tune dynamic batching, or move to a "
                "larger GPU/MIG profile.",
                "optimization.md",
            ),
        ),
    ),
    (
        "triton.gpu",
        (
            Alert(
                "TritonGpuUtilizationHigh",
                "avg by (namespace, pod, gpu_uuid) (nv_gpu_utilization@sel) > @gpu_utilization",
                "@saturated_for",
                "info",
                "Triton GPU {{ $labels.gpu_uuid }} is saturated",
                "GPU utilisation of pod {{ $labels.pod }} in @ns has stayed above "
                "@gpu_utilization_percent for @saturated_for.",
                "Saturation is fine if latency holds; if TritonHighQueueTime also fires, scale out replicas or GPUs.",
            ),
            Alert(
                "TritonGpuMemoryHigh",
                "max by (namespace, pod, gpu_uuid) (nv_gpu_memory_used_bytes@sel / nv_gpu_memory_total_bytes@sel) "
                "> @gpu_memory_ratio",
                "@saturated_for",
                "warning",
                "Triton GPU {{ $labels.gpu_uuid }} memory is almost full",
                "GPU memory of pod {{ $labels.pod }} in @ns is above @gpu_memory_percent used; "
                "loading another model or a larger batch may fail with out-of-memory.",
                "Lower instanceCount or maxBatchSize, unload unused models, or use a larger MIG profile / GPU.",
            ),
        ),
    ),
    (
        "triton.autoscaling",
        (
            Alert(
                "TritonAutoscalerAtMaxReplicas",
                "@hpa_at_max",
                "@at_max_for",
                "warning",
                "Triton's autoscaler {{ $labels.horizontalpodautoscaler }} is at maxReplicas and still above target",
                "The HPA {{ $labels.horizontalpodautoscaler }} in @ns has run at its maxReplicas for "
                "@at_max_for while its scaling metric stayed above target: Triton is short of capacity.",
                "Raise triton.autoscaling.maxReplicas (and cluster.gpuNodePool.maxNodes so new replicas get a GPU), "
                "check for Pending Triton pods (the node autoscaler cannot add GPUs), or make each replica faster "
                "(dynamic batching, instanceCount, a larger MIG profile).",
                "optimization.md",
            ),
        ),
    ),
    (
        GATEWAY_GROUP,
        (
            Alert(
                "TritonGatewayErrors",
                "@gateway_errors / on (envoy_cluster_name) group_left @gateway_responses > @gateway_error_ratio",
                "@degraded_for",
                "warning",
                "Triton's route {{ $labels.envoy_cluster_name }} answers more than @gateway_error_percent of "
                "requests with {{ $labels.envoy_response_code_class }}xx",
                "Over 5m, {{ $value | humanizePercentage }} of the responses the Gateway returned on route "
                "{{ $labels.envoy_cluster_name }} were {{ $labels.envoy_response_code_class }}xx (threshold "
                "@gateway_error_ratio). Unlike TritonInferenceFailures this counts client errors too.",
                # What each class means for Triton behind Envoy (Envoy's router charges upstream_rq_<code>
                # for Triton's own answers and for the 503/504 it sends itself when no endpoint answers).
                "4xx: requests Triton rejected (400: wrong shape, batch size, datatype or input name; 404: "
                "unknown model or version, e.g. a client still calling a model a release removed); look at the "
                "clients. 401/403 from the Gateway's auth are answered before routing and are not counted here. "
                "5xx: Triton's own errors (see TritonInferenceFailures and the pod logs) or Envoy's 503/504 "
                "when no ready Triton endpoint answers in time (see TritonServerDown, TritonPodNotReady). On "
                "the gRPC route Triton reports errors in grpc-status over HTTP 200, so only Envoy's own "
                "503/504 show there.",
            ),
        ),
    ),
)


def _hpa_at_max(ns: str) -> str:
    """The HPA runs at maxReplicas while a scaling metric stays above its target.

    kube-state-metrics' HPA series (docs/metrics/workload/horizontalpodautoscaler-metrics.md):
    replicas, and each metric's current (status) and target (spec) value, labelled metric_name
    and metric_target_type; the same for every scaling metric, so no per-stack threshold.
    """
    hpa = f'{{namespace="{ns}"}}'
    hpa_key = "on (namespace, horizontalpodautoscaler)"
    return (
        f"(kube_horizontalpodautoscaler_status_current_replicas{hpa} >= {hpa_key} "
        f"kube_horizontalpodautoscaler_spec_max_replicas{hpa}) and {hpa_key} "
        f"(kube_horizontalpodautoscaler_status_target_metric{hpa} > "
        f"on (namespace, horizontalpodautoscaler, metric_name, metric_target_type) "
        f"kube_horizontalpodautoscaler_spec_target_metric{hpa})"
    )


def _gateway_rate(ns: str, *by: str, code_class: str = "", routes: str = "", window: str = "5m") -> str:
    """Responses per second the Gateway returned on Triton's routes, per route (and ``by``).

    ``routes``: a regex of route names to count (all of Triton's routes when empty); ``window``: the
    ``rate()`` range. The canary analysis (triton_platform.values.rollout) reads this same definition.

    Envoy Gateway names a route rule's cluster ``<kind>/<namespace>/<name>/rule/<index>``
    (internal/gatewayapi/helpers.go irRouteDestinationName, v1.9.0), and Envoy's tag extraction
    turns ``cluster.<name>.upstream_rq_<d>xx`` into ``envoy_cluster_upstream_rq_xx`` with the
    labels ``envoy_cluster_name`` and ``envoy_response_code_class`` (source/common/config/
    well_known_names.cc); Envoy Gateway's own envoy-clusters dashboard reads the same series.
    The proxies' pods live in the controller's namespace, so Triton's namespace is matched in
    the cluster name, not the ``namespace`` label.
    """
    name = f"({routes})/rule/.+" if routes else ".+"
    selector = f'envoy_cluster_name=~"(httproute|grpcroute)/{ns}/{name}"'
    if code_class:
        selector += f', envoy_response_code_class=~"{code_class}"'
    labels = ", ".join(("envoy_cluster_name", *by))
    return f"sum by ({labels}) (rate(envoy_cluster_upstream_rq_xx{{{selector}}}[{window}]))"


gateway_rate = _gateway_rate


def _template_values(ns: str, t: AlertThresholds) -> dict[str, str]:
    """What the ``@name`` placeholders of ``RULE_GROUPS`` stand for in one namespace."""
    sel = _selector(ns)
    up = "up" + _selector(ns, f'job=~"{TRITON_JOB_REGEX}"')

    def rate(metric: str) -> str:
        return f"sum by (namespace, model) (rate({metric}{sel}[5m]))"

    return {
        "ns": ns,
        "sel": sel,
        "up": up,
        "not_ready": "kube_pod_status_ready" + _selector(ns, 'condition="false"'),
        "running": "kube_pod_status_phase" + _selector(ns, 'phase="Running"'),
        "failure_rate": rate("nv_inference_request_failure"),
        "success_rate": rate("nv_inference_request_success"),
        "queue_rate": rate("nv_inference_queue_duration_us"),
        "hpa_at_max": _hpa_at_max(ns),
        # Each error class (4, 5) against every response of the route.
        "gateway_errors": _gateway_rate(ns, "envoy_response_code_class", code_class="4|5"),
        "gateway_responses": _gateway_rate(ns),
        "down_for": t.down_for,
        "degraded_for": t.degraded_for,
        "saturated_for": t.saturated_for,
        "at_max_for": t.at_max_for,
        "failure_ratio": _fmt(t.failure_ratio),
        "failure_percent": f"{t.failure_ratio:.0%}",
        "queue_time_ms": _fmt(t.queue_time_ms),
        "gpu_utilization": _fmt(t.gpu_utilization),
        "gpu_utilization_percent": f"{t.gpu_utilization:.0%}",
        "gpu_memory_ratio": _fmt(t.gpu_memory_ratio),
        "gpu_memory_percent": f"{t.gpu_memory_ratio:.0%}",
        "gateway_error_ratio": _fmt(t.gateway_error_ratio),
        "gateway_error_percent": f"{t.gateway_error_ratio:.0%}",
    }


def _render(alert: Alert, values: dict[str, str]) -> dict[str, Any]:
    def fill(text: str) -> str:
        return _Text(text).substitute(values)

    return {
        "alert": alert.alert,
        "expr": fill(alert.expr),
        "for": fill(alert.for_),
        "labels": {"severity": alert.severity, "component": "triton"},
        "annotations": {
            "summary": fill(alert.summary),
            "description": fill(alert.description),
            "runbook": fill(alert.runbook),
            "runbook_url": f"{RUNBOOK_BASE}/{alert.doc}",
        },
    }


def build_rule_groups(
    triton_namespace: str, thresholds: AlertThresholds | None = None, *, gateway: bool = False
) -> list[dict[str, Any]]:
    """The rule groups of the Triton PrometheusRule (``RULE_GROUPS``), scoped to Triton's namespace;
    the Gateway's group only when the stack has one (``triton.gateway.enabled``)."""
    if not isinstance(triton_namespace, str) or not _DNS_LABEL.match(triton_namespace):
        raise ValueError(
            f"triton.namespace: must be a Kubernetes namespace name (DNS label), got {triton_namespace!r} "
            "(example: 'triton')"
        )
    values = _template_values(triton_namespace, thresholds or AlertThresholds())
    return [
        {"name": name, "rules": [_render(a, values) for a in alerts]}
        for name, alerts in RULE_GROUPS
        if gateway or name != GATEWAY_GROUP
    ]


def prometheus_rule_spec(
    triton_namespace: str, thresholds: AlertThresholds | None = None, *, gateway: bool = False
) -> dict[str, Any]:
    """The ``spec`` of the PrometheusRule custom resource."""
    return {"groups": build_rule_groups(triton_namespace, thresholds, gateway=gateway)}
