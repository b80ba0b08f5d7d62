"""What the dashboard and alert tests check PromQL against: Triton's metric names, bracket balance."""

from __future__ import annotations

# Triton's documented metric names (docs/user_guide/metrics.md).
TRITON_METRICS = {
    "nv_inference_request_success",
    "nv_inference_request_failure",
    "nv_inference_count",
    "nv_inference_exec_count",
    "nv_inference_pending_request_count",
    "nv_inference_request_duration_us",
    "nv_inference_queue_duration_us",
    "nv_inference_compute_input_duration_us",
    "nv_inference_compute_infer_duration_us",
    "nv_inference_compute_output_duration_us",
    "nv_inference_request_summary_us",
    "nv_gpu_utilization",
    "nv_gpu_memory_total_bytes",
    "nv_gpu_memory_used_bytes",
    "nv_gpu_power_usage",
    "nv_gpu_power_limit",
    "nv_cpu_utilization",
    "nv_cpu_memory_total_bytes",
    "nv_cpu_memory_used_bytes",
}
# `up` (Prometheus) and kube-state-metrics' pod status, which kube-prometheus-stack ships.
OTHER_METRICS = {"up", "kube_pod_status_ready", "kube_pod_status_phase"}
# kube-state-metrics' HPA series (docs/metrics/workload/horizontalpodautoscaler-metrics.md; status_target_metric
# since v2.6.0), labelled namespace + horizontalpodautoscaler (+ metric_name, metric_target_type).
HPA_METRICS = {
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_horizontalpodautoscaler_status_desired_replicas",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_horizontalpodautoscaler_spec_min_replicas",
    "kube_horizontalpodautoscaler_spec_target_metric",
    "kube_horizontalpodautoscaler_status_target_metric",
}
OTHER_METRICS |= HPA_METRICS


def balanced(expr: str) -> bool:
    """Brackets of a PromQL expression match (outside string literals)."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    in_string = False
    for ch in expr:
        if ch == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif ch in "([{":
            stack.append(ch)
        elif ch in pairs and (not stack or stack.pop() != pairs[ch]):
            return False
    return not stack and not in_string


def parse(expr: str) -> object:
    """The PromQL AST of ``expr`` (promql-parser, a port of Prometheus' own parser); raises on bad syntax."""
    import promql_parser

    return promql_parser.parse(expr)


def selectors(expr: str) -> list[tuple[str, dict[str, str]]]:
    """Every vector selector of ``expr``: (metric name, {label: value}) of its matchers."""
    import promql_parser

    found: list[tuple[str, dict[str, str]]] = []

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            labels = {m.name: m.value for m in node.matchers.matchers if m.name != "__name__"}
            found.append((node.name or "", labels))

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def grouping_labels(expr: str) -> set[str]:
    """Labels named by ``by (...)``/``without (...)`` and ``on (...)``/``ignoring (...)`` in ``expr``."""
    import promql_parser

    labels: set[str] = set()

    def visit(node: object) -> None:
        modifier = getattr(node, "modifier", None)
        if isinstance(node, promql_parser.AggregateExpr) and modifier is not None:
            labels.update(modifier.labels)
        if isinstance(node, promql_parser.BinaryExpr) and modifier is not None and modifier.matching is not None:
            labels.update(modifier.matching.labels)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return labels
