"""prometheus-adapter as the clouds' control planes reach it and as its GPU rule reads Triton (issue 14, items 1-2).

Item 1. The API server reaches the adapter through the APIService ``v1beta1.custom.metrics.k8s.io``
-> the adapter's Service (port 443) -> the endpoint, the pod's IP and the container port the Service's
``targetPort: https`` names, which chart 4.11.0 sets from ``listenPort`` (prometheus-community/helm-charts
tag prometheus-adapter-4.11.0: templates/custom-metrics-apiservice.yaml, service.yaml, deployment.yaml
``--secure-port={{ .Values.listenPort }}`` and ``containerPort: {{ .Values.listenPort }}``, default 6443).
On a GKE private cluster the control plane may open connections to nodes (pods included) on TCP 443
and 10250 only (GKE docs, "Automatically created firewall rules", rule gke-<cluster>-<hash>-master).
tests/chart/test_third_party_releases.py checks the same on the real chart when a checkout is given.

Item 2. ``gpuUtilization`` is served from Triton's own ``nv_gpu_utilization`` (triton-inference-server/core
r25.01 src/metrics.cc: a gauge per GPU, label ``gpu_uuid``, set to DCGM's GPU_UTIL x 0.01 = "GPU
utilization rate [0.0 - 1.0)"): GKE runs no DCGM exporter, so ``DCGM_FI_DEV_GPU_UTIL`` has no series
there. The HPA's target is percent, so the rule must report 100 x the mean ratio of the pod's GPUs;
the query is evaluated here on such series exactly as the adapter expands it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tests.support.promql import parse
from triton_platform.values import autoscaling

NAMESPACE = "triton"
GKE_CONTROL_PLANE_PORTS = {443, 10250}
# prometheus-adapter chart 4.11.0 values.yaml: listenPort 6443, service.port 443, hostNetwork.enabled false.
CHART_DEFAULT_LISTEN_PORT = 6443


def test_adapter_listens_where_a_gke_private_control_plane_can_reach_it() -> None:
    values = autoscaling.adapter_values("http://prometheus.monitoring.svc", 9090, NAMESPACE)
    assert CHART_DEFAULT_LISTEN_PORT not in GKE_CONTROL_PLANE_PORTS  # why the default fails
    assert values["listenPort"] in GKE_CONTROL_PLANE_PORTS
    # The pod's own IP (not the node's, where the kubelet holds 10250), behind the chart's 443 Service.
    assert values.get("hostNetwork", {}).get("enabled", False) is False
    assert values.get("service", {}).get("port", 443) == 443


Series = tuple[Mapping[str, str], float]


def _evaluate(node: Any, series: Sequence[Series]) -> dict[tuple[tuple[str, str], ...], float]:
    """A PromQL subset (number * avg/sum by (...) (selector)) over instant samples, as Prometheus evaluates it."""
    import promql_parser

    if isinstance(node, promql_parser.VectorSelector):
        out = {}
        for labels, value in series:
            if labels["__name__"] != node.name:
                continue
            ok = True
            for m in node.matchers.matchers:
                have = labels.get(m.name, "")
                if m.op == promql_parser.MatchOp.Equal:
                    ok &= have == m.value
                elif m.op == promql_parser.MatchOp.Re:
                    ok &= re.fullmatch(m.value, have) is not None
                elif m.op == promql_parser.MatchOp.NotEqual:
                    ok &= have != m.value
                else:
                    raise NotImplementedError(m.op)
            if ok:
                out[tuple(sorted(labels.items()))] = value
        return out
    if isinstance(node, promql_parser.AggregateExpr):
        groups: dict[tuple[tuple[str, str], ...], list[float]] = {}
        assert node.modifier is not None, node  # "by (...)": our queries always group
        for key, value in _evaluate(node.expr, series).items():
            by = tuple((k, v) for k, v in key if k in node.modifier.labels)
            groups.setdefault(by, []).append(value)
        agg = {"avg": lambda xs: sum(xs) / len(xs), "sum": sum}[str(node.op)]
        return {k: agg(v) for k, v in groups.items()}
    if isinstance(node, promql_parser.BinaryExpr) and str(node.op) == "*":
        assert isinstance(node.lhs, promql_parser.NumberLiteral), node
        return {k: node.lhs.val * v for k, v in _evaluate(node.rhs, series).items()}
    raise NotImplementedError(type(node))


def _triton_gpu_series(pod: str, gpu: str, ratio: float) -> Series:
    # Triton's labels (gpu_uuid) plus the ServiceMonitor target labels (prometheus-operator).
    return (
        {"__name__": "nv_gpu_utilization", "gpu_uuid": gpu, "namespace": NAMESPACE, "pod": pod, "job": "triton"},
        ratio,
    )


def test_gpu_utilization_is_tritons_own_ratio_in_percent_per_pod() -> None:
    (rule,) = [r for r in autoscaling.adapter_rules(NAMESPACE) if r["name"]["as"] == "triton_gpu_utilization"]
    series = [
        _triton_gpu_series("triton-a", "GPU-1", 0.5),
        _triton_gpu_series("triton-a", "GPU-2", 0.7),
        _triton_gpu_series("triton-b", "GPU-3", 0.2),
        _triton_gpu_series("other-c", "GPU-4", 0.9),
    ]
    # The adapter discovers the metric from its seriesQuery, per pod of the namespace.
    found = _evaluate(parse(rule["seriesQuery"]), series)
    assert {dict(k)["pod"] for k in found} == {"triton-a", "triton-b", "other-c"}
    # ... and answers the HPA's request for its pods with the expanded metricsQuery.
    query = autoscaling.expand_rule(rule, NAMESPACE, pods=["triton-a", "triton-b"])
    result = {dict(k)["pod"]: round(v, 6) for k, v in _evaluate(parse(query), series).items()}
    assert result == {"triton-a": 60.0, "triton-b": 20.0}
    # The dashboard's and alerts' per-pod expression agrees.
    expr = {
        dict(k)["pod"]: round(v, 6)
        for k, v in _evaluate(parse(autoscaling.scaling_expr("gpuUtilization", NAMESPACE)), series).items()
    }
    assert expr == {"triton-a": 60.0, "triton-b": 20.0, "other-c": 90.0}
