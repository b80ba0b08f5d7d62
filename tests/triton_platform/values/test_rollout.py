"""The canary's AnalysisTemplate (triton_platform/values/rollout.py) against the pinned Argo Rollouts CRD.

data/argo-rollouts-v1.9.0-analysistemplate.schema.json is the ``openAPIV3Schema`` of
manifests/crds/analysis-template-crd.yaml at tag v1.9.0 of github.com/argoproj/argo-rollouts (commit
838d4e792be666ec11bd0c80331e0c5511b5010e), the appVersion of the pinned chart (catalog ARGO_ROLLOUTS).
The API server prunes fields a structural schema does not declare, so the check here also
rejects them (``additionalProperties: false`` wherever the schema lists ``properties`` and does
not preserve unknown fields), as ``kubectl apply --validate=strict`` would. The PromQL parses
with Prometheus' own grammar (promql-parser) once the controller has put in the args.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support import promql
from tests.support.crd_schema import validate_strict
from triton_platform.catalog.versions import ARGO_ROLLOUTS_APP_VERSION
from triton_platform.config.schema import RolloutAnalysis, RolloutStep
from triton_platform.values import rollout

SCHEMA = Path(__file__).parent / "data" / f"argo-rollouts-{ARGO_ROLLOUTS_APP_VERSION}-analysistemplate.schema.json"
PROMETHEUS = "http://kube-prometheus-stack-prometheus.monitoring:9090"
ARGS = {"namespace": "triton", "rollout": "triton", "canary-hash": "5f6d7c8b9"}


def _validate(obj: dict[str, Any]) -> None:
    validate_strict(obj, SCHEMA)


def resolve(text: str, args: dict[str, str]) -> str:
    """Argo Rollouts' argument substitution: ``{{args.NAME}}`` replaced by the arg's value."""
    for name, value in args.items():
        text = text.replace(f"{{{{args.{name}}}}}", value)
    assert "{{" not in text, text
    return text


def _gateway_query(route: str, window: str) -> str:
    # Stands for the Gateway module's query: Envoy's per-route responses by class.
    sel = f'envoy_cluster_name=~".*{route}.*canary.*"'
    return (
        f'sum(rate(envoy_cluster_upstream_rq_xx{{{sel},envoy_response_code_class=~"4|5"}}[{window}]))'
        f" / sum(rate(envoy_cluster_upstream_rq_xx{{{sel}}}[{window}]))"
    )


def test_template_validates_against_the_pinned_crd() -> None:
    template = rollout.analysis_template(RolloutAnalysis(), namespace="triton", prometheus_url=PROMETHEUS)
    _validate(template)
    assert template["apiVersion"] == "argoproj.io/v1alpha1"
    assert template["kind"] == "AnalysisTemplate"
    names = [m["name"] for m in template["spec"]["metrics"]]
    assert names == ["failure-ratio", "p99-latency-ms", "queue-time-ms"]


def test_strict_schema_catches_a_misspelt_field() -> None:
    template = rollout.analysis_template(RolloutAnalysis(), namespace="triton", prometheus_url=PROMETHEUS)
    bad = copy.deepcopy(template)
    bad["spec"]["metrics"][0]["successCondtion"] = "true"
    with pytest.raises(jsonschema.ValidationError):
        _validate(bad)


def test_gateway_hook_adds_its_metric() -> None:
    template = rollout.analysis_template(
        RolloutAnalysis(max_gateway_error_ratio=0.02),
        namespace="triton",
        prometheus_url=PROMETHEUS,
        gateway_error_query=_gateway_query,
        route="triton-http",
    )
    _validate(template)
    metric = template["spec"]["metrics"][-1]
    assert metric["name"] == "gateway-error-ratio"
    assert metric["successCondition"] == "len(result) > 0 && result[0] <= 0.02"
    assert "triton-http" in metric["provider"]["prometheus"]["query"]
    assert "[1m]" in metric["provider"]["prometheus"]["query"]
    with pytest.raises(ValueError, match="route"):
        rollout.analysis_metrics(RolloutAnalysis(), PROMETHEUS, gateway_error_query=_gateway_query)


def test_thresholds_interval_and_limits_come_from_the_config() -> None:
    analysis = RolloutAnalysis(
        interval="2m", failure_limit=3, max_failure_ratio=0.00001, max_p99_latency_ms=250, max_queue_time_ms=20.5
    )
    metrics = {m["name"]: m for m in rollout.analysis_metrics(analysis, PROMETHEUS)}
    assert {m["interval"] for m in metrics.values()} == {"2m"}
    assert {m["failureLimit"] for m in metrics.values()} == {3}
    assert metrics["failure-ratio"]["failureCondition"] == "len(result) > 0 && result[0] > 0.00001"
    assert metrics["p99-latency-ms"]["successCondition"] == "len(result) > 0 && result[0] <= 250.0"
    assert metrics["queue-time-ms"]["successCondition"] == "len(result) > 0 && result[0] <= 20.5"
    assert "[2m]" in metrics["failure-ratio"]["provider"]["prometheus"]["query"]
    assert "count" not in metrics["failure-ratio"]  # background analysis: for the whole rollout


def test_queries_parse_and_use_tritons_metrics() -> None:
    metrics = rollout.analysis_metrics(RolloutAnalysis(), PROMETHEUS)
    assert {m["name"] for m in metrics} >= {"failure-ratio", "p99-latency-ms", "queue-time-ms"}
    for metric in metrics:
        query = resolve(metric["provider"]["prometheus"]["query"], ARGS)
        promql.parse(query)
        assert 'pod=~"triton-5f6d7c8b9-.*"' in query
        assert 'namespace="triton"' in query
        names = {n for n in promql.TRITON_METRICS if n in query}
        assert names, query


def test_rollout_side_args_fill_every_template_arg() -> None:
    template = rollout.analysis_template(RolloutAnalysis(), namespace="triton", prometheus_url=PROMETHEUS)
    declared = {a["name"] for a in template["spec"]["args"]}
    given = rollout.analysis_args("triton", "triton")
    assert {a["name"] for a in given} == declared
    assert {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}} in given


def test_canary_steps() -> None:
    steps = [RolloutStep(weight=10, pause="5m"), RolloutStep(weight=50, pause="10m"), RolloutStep(weight=100)]
    assert rollout.canary_steps(steps) == [
        {"setWeight": 10},
        {"pause": {"duration": "5m"}},
        {"setWeight": 50},
        {"pause": {"duration": "10m"}},
        {"setWeight": 100},
    ]


def test_gateway_error_ratio_query_parses_and_reads_the_alerts_series() -> None:
    from triton_platform.values.alerts import gateway_rate

    query = rollout.gateway_error_ratio_query("triton-http|triton-grpc", "1m")
    resolved = resolve(query, ARGS)
    promql.parse(resolved)
    # One definition of the Gateway's series: the alerts' rate, over the template's window.
    assert gateway_rate("triton", routes="triton-http|triton-grpc", window="1m") in resolved
    assert 'envoy_cluster_name=~"(httproute|grpcroute)/triton/(triton-http|triton-grpc)/rule/.+"' in resolved
    template = rollout.analysis_template(
        RolloutAnalysis(),
        namespace="triton",
        prometheus_url=PROMETHEUS,
        gateway_error_query=rollout.gateway_error_ratio_query,
        route="triton-http|triton-grpc",
    )
    _validate(template)
