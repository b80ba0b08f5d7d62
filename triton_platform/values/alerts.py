"""Prometheus alert rules for Triton Inference Server, built from the stack's thresholds.

The Monitoring component wraps :func:`prometheus_rule_spec` in a ``PrometheusRule``
(monitoring.coreos.com/v1). Everything here is plain data, so the rules are tested without
Pulumi. Metric names are Triton's own (``nv_inference_*``, ``nv_gpu_*``; see Triton's
metrics documentation) plus ``up`` from Prometheus and ``kube_pod_status_*`` from
kube-state-metrics, which kube-prometheus-stack ships.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

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


def _rule(
    alert: str,
    expr: str,
    for_: str,
    severity: str,
    summary: str,
    description: str,
    runbook: str,
    doc: str = "metrics.md",
) -> dict[str, Any]:
    return {
        "alert": alert,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, "component": "triton"},
        "annotations": {
            "summary": summary,
            "description": description,
            # What to check first, and the Triton guide page that explains the metric.
            "runbook": runbook,
            "runbook_url": f"{RUNBOOK_BASE}/{doc}",
        },
    }


def build_rule_groups(triton_namespace: str, thresholds: AlertThresholds | None = None) -> list[dict[str, Any]]:
    """The rule groups of the Triton PrometheusRule, scoped to Triton's namespace."""
    if not isinstance(triton_namespace, str) or not _DNS_LABEL.match(triton_namespace):
        raise ValueError(
            f"triton.namespace: must be a Kubernetes namespace name (DNS label), got {triton_namespace!r} "
            "(example: 'triton')"
        )
    t = thresholds or AlertThresholds()
    ns = triton_namespace
    job_matcher = f'job=~"{TRITON_JOB_REGEX}"'
    up = "up" + _selector(ns, job_matcher)
    sel = _selector(ns)
    not_ready = "kube_pod_status_ready" + _selector(ns, 'condition="false"')
    running = "kube_pod_status_phase" + _selector(ns, 'phase="Running"')
    by = "sum by (namespace, model)"

    def rate(metric: str) -> str:
        return f"{by} (rate({metric}{sel}[5m]))"

    availability = [
        _rule(
            "TritonServerDown",
            f"absent({up}) or ({up} == 0)",
            t.down_for,
            "critical",
            "Triton Inference Server is down in namespace {{ $labels.namespace }}",
            f"No Triton metrics target in namespace {ns} has been scraped successfully for {t.down_for} "
            "(target {{ $labels.pod }} down, or no target at all).",
            "Check `kubectl -n " + ns + " get pods,endpoints` and the Triton pod logs; a crash loop usually "
            "means the model repository is unreachable or a model failed to load with strict readiness.",
        ),
        _rule(
            "TritonPodNotReady",
            # Running-but-unready only: completed Job pods (engine builds) are never ready either.
            f"({not_ready} == 1) and on (namespace, pod) ({running} == 1)",
            t.degraded_for,
            "warning",
            "Triton pod {{ $labels.pod }} is running but not ready",
            f"Pod {{{{ $labels.pod }}}} in {ns} has failed its readiness probe (/v2/health/ready) for "
            f"{t.degraded_for}: a model is not loaded or the server is still starting.",
            "Look for 'failed to load' in the pod logs and query /v2/repository/index for each model's state; "
            "fix the model (or its config.pbtxt) and republish.",
            "model_management.md",
        ),
    ]
    requests = [
        _rule(
            "TritonInferenceFailures",
            f"{rate('nv_inference_request_failure')} / "
            f"({rate('nv_inference_request_success')} + {rate('nv_inference_request_failure')}) "
            f"> {_fmt(t.failure_ratio)}",
            t.degraded_for,
            "warning",
            "Triton model {{ $labels.model }} fails more than " + f"{t.failure_ratio:.0%} of requests",
            f"Over 5m, {{{{ $value | humanizePercentage }}}} of inference requests to model {{{{ $labels.model }}}} "
            f"in {ns} failed (threshold {_fmt(t.failure_ratio)}).",
            "Tell client errors (bad shapes or dtypes, unknown model) from server errors in the Triton logs; "
            "a new model version that fails every request should be rolled back by republishing the previous one.",
        ),
        _rule(
            "TritonHighQueueTime",
            f"{rate('nv_inference_queue_duration_us')} / {rate('nv_inference_request_success')} / 1000 "
            f"> {_fmt(t.queue_time_ms)}",
            t.degraded_for,
            "warning",
            "Requests to Triton model {{ $labels.model }} wait more than " + f"{t.queue_time_ms} ms in the queue",
            f"Average queue time per request of model {{{{ $labels.model }}}} in {ns} is "
            f"{{{{ $value | humanize }}}} ms (threshold {t.queue_time_ms} ms).",
            "Add replicas or model instances (instanceCount), enable or tune dynamic batching, or move to a "
            "larger GPU/MIG profile.",
            "optimization.md",
        ),
    ]
    gpu = [
        _rule(
            "TritonGpuUtilizationHigh",
            f"avg by (namespace, pod, gpu_uuid) (nv_gpu_utilization{sel}) > {_fmt(t.gpu_utilization)}",
            t.saturated_for,
            "info",
            "Triton GPU {{ $labels.gpu_uuid }} is saturated",
            f"GPU utilisation of pod {{{{ $labels.pod }}}} in {ns} has stayed above "
            f"{t.gpu_utilization:.0%} for {t.saturated_for}.",
            "Saturation is fine if latency holds; if TritonHighQueueTime also fires, scale out replicas or GPUs.",
        ),
        _rule(
            "TritonGpuMemoryHigh",
            f"max by (namespace, pod, gpu_uuid) (nv_gpu_memory_used_bytes{sel} / nv_gpu_memory_total_bytes{sel}) "
            f"> {_fmt(t.gpu_memory_ratio)}",
            t.saturated_for,
            "warning",
            "Triton GPU {{ $labels.gpu_uuid }} memory is almost full",
            f"GPU memory of pod {{{{ $labels.pod }}}} in {ns} is above {t.gpu_memory_ratio:.0%} used; "
            "loading another model or a larger batch may fail with out-of-memory.",
            "Lower instanceCount or maxBatchSize, unload unused models, or use a larger MIG profile / GPU.",
        ),
    ]
    # kube-state-metrics' HPA series (docs/metrics/workload/horizontalpodautoscaler-metrics.md):
    # replicas, and each metric's current (status) and target (spec) value, labelled metric_name
    # and metric_target_type; the same for every scaling metric, so no per-stack threshold.
    hpa = f'{{namespace="{ns}"}}'
    hpa_key = "on (namespace, horizontalpodautoscaler)"
    at_max = (
        f"(kube_horizontalpodautoscaler_status_current_replicas{hpa} >= {hpa_key} "
        f"kube_horizontalpodautoscaler_spec_max_replicas{hpa}) and {hpa_key} "
        f"(kube_horizontalpodautoscaler_status_target_metric{hpa} > "
        f"on (namespace, horizontalpodautoscaler, metric_name, metric_target_type) "
        f"kube_horizontalpodautoscaler_spec_target_metric{hpa})"
    )
    scaling = [
        _rule(
            "TritonAutoscalerAtMaxReplicas",
            at_max,
            t.at_max_for,
            "warning",
            "Triton's autoscaler {{ $labels.horizontalpodautoscaler }} is at maxReplicas and still above target",
            f"The HPA {{{{ $labels.horizontalpodautoscaler }}}} in {ns} has run at its maxReplicas for "
            f"{t.at_max_for} while its scaling metric stayed above target: Triton is short of capacity.",
            "Raise triton.autoscaling.maxReplicas (and cluster.gpuNodePool.maxNodes so new replicas get a GPU), "
            "check for Pending Triton pods (the node autoscaler cannot add GPUs), or make each replica faster "
            "(dynamic batching, instanceCount, a larger MIG profile).",
            "optimization.md",
        ),
    ]
    return [
        {"name": "triton.availability", "rules": availability},
        {"name": "triton.requests", "rules": requests},
        {"name": "triton.gpu", "rules": gpu},
        {"name": "triton.autoscaling", "rules": scaling},
    ]


def prometheus_rule_spec(triton_namespace: str, thresholds: AlertThresholds | None = None) -> dict[str, Any]:
    """The ``spec`` of the PrometheusRule custom resource."""
    return {"groups": build_rule_groups(triton_namespace, thresholds)}
