"""The Triton PrometheusRule groups: shape, thresholds, scoping, metric names, validation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.promql import HPA_METRICS, OTHER_METRICS, TRITON_METRICS, balanced, grouping_labels, parse, selectors
from triton_platform.values.alerts import AlertThresholds, build_rule_groups, prometheus_rule_spec

# The rules may use only these (plus kube-state-metrics, see tests.support.promql).
KNOWN_METRICS = TRITON_METRICS | OTHER_METRICS
PROMQL_WORDS = {"sum", "avg", "max", "by", "on", "and", "or", "rate", "absent", "namespace", "model", "pod", "gpu_uuid"}
# kube-state-metrics' HPA labels (docs/metrics/workload/horizontalpodautoscaler-metrics.md).
HPA_LABELS = {"horizontalpodautoscaler", "metric_name", "metric_target_type"}


def _rules(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for group in groups for rule in group["rules"]]


def _by_name(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for r in _rules(groups)}


def test_groups_have_the_prometheus_rule_shape() -> None:
    groups = build_rule_groups("triton")
    assert [g["name"] for g in groups] == ["triton.availability", "triton.requests", "triton.gpu", "triton.autoscaling"]
    for rule in _rules(groups):
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}
        assert re.fullmatch(r"[0-9]+[smh]", rule["for"])
        assert set(rule["annotations"]) == {"summary", "description", "runbook", "runbook_url"}
        assert all(isinstance(v, str) and v for v in rule["annotations"].values())
        assert rule["annotations"]["runbook_url"].startswith("https://")
    assert prometheus_rule_spec("triton") == {"groups": groups}


def test_expected_alerts_exist_with_unique_names_and_severities() -> None:
    rules = _rules(build_rule_groups("triton"))
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names))
    assert {"TritonServerDown", "TritonInferenceFailures", "TritonHighQueueTime", "TritonPodNotReady"} <= set(names)
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
    assert _by_name(build_rule_groups("triton"))["TritonServerDown"]["labels"]["severity"] == "critical"


def test_thresholds_are_substituted() -> None:
    groups = build_rule_groups("triton", AlertThresholds(queue_time_ms=250, failure_ratio=0.1, down_for="2m"))
    rules = _by_name(groups)
    queue = rules["TritonHighQueueTime"]
    assert queue["expr"].endswith("> 250")
    assert "nv_inference_queue_duration_us" in queue["expr"]
    assert "/ 1000" in queue["expr"]  # microseconds per request -> milliseconds
    assert "250 ms" in queue["annotations"]["summary"]
    failures = rules["TritonInferenceFailures"]
    assert failures["expr"].endswith("> 0.1")
    assert "nv_inference_request_failure" in failures["expr"]
    assert rules["TritonServerDown"]["for"] == "2m"


def test_defaults_match_stack_config_defaults() -> None:
    rules = _by_name(build_rule_groups("triton"))
    assert rules["TritonHighQueueTime"]["expr"].endswith("> 100")
    assert rules["TritonInferenceFailures"]["expr"].endswith("> 0.05")
    assert rules["TritonServerDown"]["for"] == "5m"


def test_every_expression_is_scoped_to_the_triton_namespace_and_well_formed() -> None:
    rules = _rules(build_rule_groups("triton-prod"))
    assert rules, "no alert rule to check"
    for rule in rules:
        expr = rule["expr"]
        assert balanced(expr), expr
        selectors = re.findall(r"\{[^}]*\}", expr)
        assert selectors, expr
        assert all('namespace="triton-prod"' in s for s in selectors), expr
        metrics = set(re.findall(r"\b([a-z_]+)\{", expr))
        assert metrics, expr
        assert metrics <= KNOWN_METRICS, metrics - KNOWN_METRICS
        # No stray identifiers: everything outside selectors is a metric, function or keyword.
        bare = set(re.findall(r"\b([a-z_]+)\b", re.sub(r"\{[^}]*\}|\[[^]]*\]", "", expr)))
        assert bare <= KNOWN_METRICS | PROMQL_WORDS | HPA_LABELS, bare - KNOWN_METRICS - PROMQL_WORDS - HPA_LABELS
        parse(expr)  # a real PromQL parser accepts it


def test_server_down_covers_missing_and_failing_targets() -> None:
    expr = _by_name(build_rule_groups("triton"))["TritonServerDown"]["expr"]
    assert expr.startswith("absent(up{")
    assert "== 0" in expr
    assert 'job=~".*triton.*"' in expr


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"queue_time_ms": 0}, "queueTimeMs"),
        ({"failure_ratio": 0}, "failureRatio"),
        ({"failure_ratio": 1.5}, "failureRatio"),
        ({"failure_ratio": float("nan")}, "failureRatio"),
        ({"gpu_utilization": 2}, "gpuUtilization"),
        ({"down_for": "5 minutes"}, "downFor"),
    ],
)
def test_bad_thresholds_name_the_key(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        AlertThresholds(**kwargs)


def test_bad_namespace_is_rejected_with_an_example() -> None:
    with pytest.raises(ValueError, match=r"triton\.namespace.*example: 'triton'"):
        build_rule_groups("Triton_NS")


def test_autoscaler_at_max_alert() -> None:
    rule = _by_name(build_rule_groups("triton"))["TritonAutoscalerAtMaxReplicas"]
    assert rule["for"] == "15m"
    expr = rule["expr"]
    names = {name for name, _ in selectors(expr)}
    # Replicas at max, and the metric (as the HPA sees it) above its target.
    assert names == {
        "kube_horizontalpodautoscaler_status_current_replicas",
        "kube_horizontalpodautoscaler_spec_max_replicas",
        "kube_horizontalpodautoscaler_status_target_metric",
        "kube_horizontalpodautoscaler_spec_target_metric",
    }
    assert names <= HPA_METRICS
    assert ">= on (namespace, horizontalpodautoscaler) kube_horizontalpodautoscaler_spec_max_replicas" in expr
    assert grouping_labels(expr) == {"namespace", "horizontalpodautoscaler", "metric_name", "metric_target_type"}
    assert build_rule_groups("triton", AlertThresholds(at_max_for="30m"))[3]["rules"][0]["for"] == "30m"


# Envoy's per-route response counter, as Envoy Gateway's proxies expose it (test_alert_rules.py cites the sources).
ENVOY_METRICS = {"envoy_cluster_upstream_rq_xx"}
ENVOY_LABELS = {"envoy_cluster_name", "envoy_response_code_class", "group_left"}


def test_gateway_group_only_when_the_stack_has_a_gateway() -> None:
    assert "triton.gateway" not in [g["name"] for g in build_rule_groups("triton")]
    groups = build_rule_groups("triton", gateway=True)
    assert [g["name"] for g in groups][-1] == "triton.gateway"
    assert prometheus_rule_spec("triton", gateway=True) == {"groups": groups}


def test_gateway_errors_alert_reads_triton_routes_per_class() -> None:
    rule = _by_name(build_rule_groups("triton-prod", AlertThresholds(gateway_error_ratio=0.02), gateway=True))[
        "TritonGatewayErrors"
    ]
    expr = rule["expr"]
    assert balanced(expr), expr
    assert expr.endswith("> 0.02")
    assert rule["for"] == "10m"
    names = {name for name, _ in selectors(expr)}
    assert names == ENVOY_METRICS
    # The proxies' namespace is Envoy Gateway's: Triton's namespace is matched in the cluster name.
    for _, labels in selectors(expr):
        assert labels["envoy_cluster_name"] == "(httproute|grpcroute)/triton-prod/.+", expr
        assert "namespace" not in labels, expr
    # Client (4) and server (5) errors, each against all of the route's responses.
    assert 'envoy_response_code_class=~"4|5"' in expr
    assert "sum by (envoy_cluster_name, envoy_response_code_class)" in expr
    assert "/ on (envoy_cluster_name) group_left sum by (envoy_cluster_name)" in expr
    bare = set(re.findall(r"\b([a-z_]+)\b", re.sub(r"\{[^}]*\}|\[[^]]*\]", "", expr)))
    assert bare <= ENVOY_METRICS | ENVOY_LABELS | PROMQL_WORDS, bare
    parse(expr)
    assert "2%" in rule["annotations"]["summary"]


def test_bad_gateway_error_ratio_names_the_key() -> None:
    with pytest.raises(ValueError, match=r"monitoring\.alerts\.gatewayErrorRatio"):
        AlertThresholds(gateway_error_ratio=0)
