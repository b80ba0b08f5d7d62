"""The canary's Gateway error ratio (triton_platform/values/rollout.py ``gateway_error_ratio_query``)
computed by the real Prometheus engine (``promtool test rules``, Debian's ``prometheus`` package).

The input series carry the names and labels the Gateway's proxies export and the PodMonitor scrapes
(the same as tests/triton_platform/values/test_alert_rules.py): ``envoy_cluster_upstream_rq_xx``
with ``envoy_cluster_name`` = Envoy Gateway's route cluster ``<kind>/<namespace>/<route>/rule/<i>``
and ``envoy_response_code_class``. The query is the AnalysisTemplate's own, with the Rollout's args
put in as argo-rollouts does, evaluated as a recording rule at 10 minutes; its value is then judged
with the template's ``successCondition``/``failureCondition`` as the controller does (``phase``
of tests/triton_platform/values/test_rollout_prometheus.py: argo-rollouts v1.9.0 evaluate.go).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tests.support.prometheus import run_rule_tests
from tests.triton_platform.values.test_alert_rules import ENVOY_TARGET, GRPC_ROUTE, HTTP_ROUTE, NS, series
from tests.triton_platform.values.test_rollout import PROMETHEUS, resolve
from tests.triton_platform.values.test_rollout_prometheus import phase
from triton_platform.config.schema import RolloutAnalysis
from triton_platform.values import rollout

RECORD = "canary:gateway_error_ratio"
ROUTES = "triton-http|triton-grpc"  # what triton_platform.values.triton passes: the Gateway's two routes


def _metric() -> dict[str, Any]:
    (metric,) = [
        m
        for m in rollout.analysis_metrics(
            RolloutAnalysis(), PROMETHEUS, gateway_error_query=rollout.gateway_error_ratio_query, route=ROUTES
        )
        if m["name"] == "gateway-error-ratio"
    ]
    return metric


def _responses(route: str, **per_min: int) -> list[dict[str, str]]:
    """One route's counters: ``per_min`` responses a minute of each class ("c2" = 2xx); 0 = a flat counter."""
    return [
        series(
            "envoy_cluster_upstream_rq_xx",
            f"0+{count}x15",
            envoy_cluster_name=route,
            envoy_response_code_class=code_class[1:],
            **ENVOY_TARGET,
        )
        for code_class, count in per_min.items()
    ]


# name -> (input series, the ratio Prometheus must compute, the analysis phase of that value).
CASES: dict[str, tuple[list[dict[str, str]], float, str]] = {
    "healthy": (_responses(HTTP_ROUTE, c2=100) + _responses(GRPC_ROUTE, c2=100), 0.0, "Successful"),
    # Clients' own 4xx (a wrong shape) stay under the 5 % default.
    "client-noise": (_responses(HTTP_ROUTE, c2=98, c4=2) + _responses(GRPC_ROUTE, c2=50), 0.02, "Successful"),
    # A 25 % canary answering every HTTP request with 5xx; the healthy gRPC route does not dilute it.
    "failing-canary": (
        _responses(HTTP_ROUTE, c2=75, c5=25) + _responses(GRPC_ROUTE, c2=100),
        0.25,
        "Failed",
    ),
    # Nobody calls gRPC (its counter is flat: 0/0 on that route); the HTTP route decides.
    "grpc-idle": (_responses(HTTP_ROUTE, c2=96, c5=4) + _responses(GRPC_ROUTE, c2=0), 0.04, "Successful"),
    # Another namespace's route fails: not Triton's.
    "other-namespace": (
        _responses(HTTP_ROUTE, c2=100) + _responses("httproute/other/web/rule/0", c2=10, c5=90),
        0.0,
        "Successful",
    ),
    # No request in the window: NaN, inconclusive (the rollout pauses, it neither promotes nor aborts).
    "no-traffic": (_responses(HTTP_ROUTE, c2=0) + _responses(GRPC_ROUTE, c2=0), math.nan, "Inconclusive"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_gateway_error_ratio_on_prometheus_and_its_phase(case: str, tmp_path: Path) -> None:
    metric = _metric()
    query = resolve(metric["provider"]["prometheus"]["query"], {"namespace": NS})
    inputs, ratio, expected_phase = CASES[case]
    groups = [{"name": "canary", "rules": [{"record": RECORD, "expr": query}]}]
    if math.isnan(ratio):
        # NaN equals nothing, itself included: the one sample unequal to itself is NaN.
        check = {"expr": f"count({RECORD} != {RECORD})", "eval_time": "10m", "exp_samples": [{"value": 1}]}
    else:
        check = {"expr": RECORD, "eval_time": "10m", "exp_samples": [{"labels": RECORD, "value": ratio}]}
    test = {"interval": "1m", "input_series": inputs, "promql_expr_test": [check]}
    proc = run_rule_tests(groups, [test], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # What the controller gets from that vector is [ratio]; its conditions decide the phase.
    assert phase(metric, [ratio]) == expected_phase


def test_no_series_at_all_is_an_empty_vector_inconclusive(tmp_path: Path) -> None:
    # Before the Gateway has answered anything: the query returns nothing (not 0).
    metric = _metric()
    query = resolve(metric["provider"]["prometheus"]["query"], {"namespace": NS})
    groups = [{"name": "canary", "rules": [{"record": RECORD, "expr": query}]}]
    unrelated = series("up", "1x15", job="kube-state-metrics", instance="10.8.1.3:8080")
    test = {
        "interval": "1m",
        "input_series": [unrelated],
        "promql_expr_test": [{"expr": RECORD, "eval_time": "10m", "exp_samples": []}],
    }
    proc = run_rule_tests(groups, [test], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert phase(metric, []) == "Inconclusive"
