"""Argo Rollouts' analysis of a Triton canary, from ``triton.rollout``: plain dicts, no Pulumi.

``analysis_template`` builds the ``AnalysisTemplate`` (argoproj.io/v1alpha1) that judges a canary
on Triton's own metrics, queried from the cluster's Prometheus:

- ``failure-ratio``: failed over all inference requests (``nv_inference_request_failure`` and
  ``nv_inference_request_success``), at most ``maxFailureRatio``;
- ``p99-latency-ms``: the slowest model's p99 request latency, from Triton's summary
  (``nv_inference_request_summary_us{quantile="0.99"}``; the chart passes
  ``--metrics-config=summary_latencies=true``), at most ``maxP99LatencyMs``;
- ``queue-time-ms``: the average time a successful request waited in Triton's queue
  (``nv_inference_queue_duration_us`` over ``nv_inference_request_success``), at most ``maxQueueTimeMs``;
- ``gateway-error-ratio`` when the caller passes ``gateway_error_query`` (``gateway_error_ratio_query``
  with the Gateway on): 4xx and 5xx over all responses of Triton's worst route at the Gateway, at most
  ``maxGatewayErrorRatio``. Envoy's counters are per route rule, and Envoy Gateway makes one cluster
  of a rule's weighted backends (stable and canary), so this is the routes' ratio: a canary failing
  every request at weight w raises it by about w. Triton's ``failure-ratio`` is the canary's own.

Every query is scoped to the canary's pods through the template's args (``namespace``, ``rollout``,
``canary-hash``; ``analysis_args`` gives the Rollout's side): Argo Rollouts names a pod
``<rollout>-<pod-template-hash>-<suffix>``, and the ServiceMonitor labels each series with ``pod``.

Conditions follow the controller's semantics (argo-rollouts v1.9.0 utils/evaluate/evaluate.go):
a Prometheus vector reaches ``successCondition``/``failureCondition`` (expr-lang) as ``result``,
a list of floats. Each metric has both, ``len(result) > 0 && result[0] <= T`` and
``len(result) > 0 && result[0] > T``, so a window without requests (an empty vector, or NaN from
0/0, which compares false) is *inconclusive*: the rollout pauses for a person instead of promoting
a canary nobody has called, and is not aborted either. ``canary_steps`` turns the configured steps
into the Rollout's ``setWeight``/``pause`` steps (100 % after the last is the controller's own end).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from triton_platform.config.schema import RolloutAnalysis, RolloutStep
from triton_platform.values.alerts import gateway_rate

API_VERSION = "argoproj.io/v1alpha1"
TEMPLATE_NAME = "triton-canary"
# The template's args: where the canary's pods are (filled by the Rollout, analysis_args).
ARG_NAMESPACE, ARG_ROLLOUT, ARG_CANARY_HASH = "namespace", "rollout", "canary-hash"
# Seconds Argo Rollouts waits for one Prometheus query (its own default is 30).
QUERY_TIMEOUT_S = 30

# The hook for the Gateway's error ratio: (regex of route names, window such as "1m") -> a PromQL
# expression whose one-element vector is the ratio of error responses (4xx and 5xx) to all responses
# the Gateway sent on those routes (gateway_error_ratio_query).
GatewayErrorQuery = Callable[[str, str], str]


def canary_selector() -> str:
    """PromQL label matchers of the canary's pods, with the template's args."""
    return (
        f'namespace="{{{{args.{ARG_NAMESPACE}}}}}",pod=~"{{{{args.{ARG_ROLLOUT}}}}}-{{{{args.{ARG_CANARY_HASH}}}}}-.*"'
    )


def failure_ratio_query(window: str, selector: str) -> str:
    """Failed / all inference requests over ``window``.

    Triton 2.51 exports the failure counters (one per ``reason``) at 0 from the start; ``or
    vector(0)`` keeps a healthy canary at 0, not nothing, should a release export them only after
    a failure. No request at all gives 0/0 = NaN (inconclusive). A Python-backend model that
    answers an error *response* (rather than raising) is counted a success by Triton (seen on
    2.51): the Gateway's error ratio, which counts HTTP 5xx, is what catches that.
    """
    failed = f"(sum(rate(nv_inference_request_failure{{{selector}}}[{window}])) or vector(0))"
    succeeded = f"sum(rate(nv_inference_request_success{{{selector}}}[{window}]))"
    return f"{failed} / ({succeeded} + {failed})"


def p99_latency_query(selector: str) -> str:
    """The slowest model's p99 request latency in ms (Triton's summary keeps its own sliding window)."""
    return f'max(nv_inference_request_summary_us{{{selector},quantile="0.99"}}) / 1000'


def queue_time_query(window: str, selector: str) -> str:
    """Average queue time of the successful requests over ``window``, in ms."""
    queued = f"sum(rate(nv_inference_queue_duration_us{{{selector}}}[{window}]))"
    return f"{queued} / sum(rate(nv_inference_request_success{{{selector}}}[{window}])) / 1000"


def gateway_error_ratio_query(routes: str, window: str) -> str:
    """The worst route's 4xx and 5xx over all its responses, of the routes ``routes`` (a regex of names).

    The series are the alerts' (triton_platform.values.alerts ``gateway_rate``: Envoy's
    ``envoy_cluster_upstream_rq_xx`` per Envoy Gateway route cluster) in the template's namespace.
    Per route, then the worst: gRPC errors travel as HTTP 200 with a grpc-status, so a healthy-looking
    gRPC route must not dilute the HTTP route's errors. Envoy creates a code class's counter at its
    first response, so a route without errors yet is ``or <all> * 0``; a route without requests in
    the window is 0/0 = NaN, which ``max`` passes over while another route has a number; no request
    at all is NaN or nothing: inconclusive, as for Triton's own metrics.
    """
    ns = f"{{{{args.{ARG_NAMESPACE}}}}}"
    errors = gateway_rate(ns, code_class="4|5", routes=routes, window=window)
    every = gateway_rate(ns, routes=routes, window=window)
    return f"max(({errors} or {every} * 0) / {every})"


def _number(value: float) -> str:
    """A threshold as an expr-lang literal: plain decimals (``0.00001``, never ``1e-05``)."""
    return format(Decimal(repr(value)), "f")


def conditions(threshold: float) -> dict[str, str]:
    """``successCondition``/``failureCondition`` of "at most ``threshold``" (inconclusive without data)."""
    limit = _number(threshold)
    return {
        "successCondition": f"len(result) > 0 && result[0] <= {limit}",
        "failureCondition": f"len(result) > 0 && result[0] > {limit}",
    }


def _metric(name: str, query: str, threshold: float, analysis: RolloutAnalysis, prometheus_url: str) -> dict[str, Any]:
    return {
        "name": name,
        # No count: the analysis runs in the background for the whole rollout, one measurement
        # per interval, and aborts it once a metric fails more than failureLimit times.
        "interval": analysis.interval,
        "failureLimit": analysis.failure_limit,
        **conditions(threshold),
        "provider": {"prometheus": {"address": prometheus_url, "query": query, "timeout": QUERY_TIMEOUT_S}},
    }


def analysis_metrics(
    analysis: RolloutAnalysis,
    prometheus_url: str,
    *,
    gateway_error_query: GatewayErrorQuery | None = None,
    route: str | None = None,
) -> list[dict[str, Any]]:
    """The template's metrics; ``gateway_error_query`` + ``route`` add the Gateway's error ratio."""
    window, selector = analysis.interval, canary_selector()
    metrics = [
        _metric(
            "failure-ratio",
            failure_ratio_query(window, selector),
            analysis.max_failure_ratio,
            analysis,
            prometheus_url,
        ),
        _metric("p99-latency-ms", p99_latency_query(selector), analysis.max_p99_latency_ms, analysis, prometheus_url),
        _metric(
            "queue-time-ms", queue_time_query(window, selector), analysis.max_queue_time_ms, analysis, prometheus_url
        ),
    ]
    if gateway_error_query is not None:
        if not route:
            raise ValueError("gateway_error_query needs the route whose errors it counts")
        query = gateway_error_query(route, window)
        metrics.append(
            _metric("gateway-error-ratio", query, analysis.max_gateway_error_ratio, analysis, prometheus_url)
        )
    return metrics


def analysis_template(
    analysis: RolloutAnalysis,
    *,
    namespace: str,
    prometheus_url: str,
    gateway_error_query: GatewayErrorQuery | None = None,
    route: str | None = None,
) -> dict[str, Any]:
    """The ``AnalysisTemplate`` of ``triton.rollout.canary.analysis``, in Triton's namespace."""
    return {
        "apiVersion": API_VERSION,
        "kind": "AnalysisTemplate",
        "metadata": {"name": TEMPLATE_NAME, "namespace": namespace},
        "spec": {
            "args": [{"name": ARG_NAMESPACE}, {"name": ARG_ROLLOUT}, {"name": ARG_CANARY_HASH}],
            "metrics": analysis_metrics(analysis, prometheus_url, gateway_error_query=gateway_error_query, route=route),
        },
    }


def analysis_args(rollout: str, namespace: str) -> list[dict[str, Any]]:
    """The Rollout's ``strategy.canary.analysis.args`` for the template: the canary's hash from the controller."""
    return [
        {"name": ARG_NAMESPACE, "value": namespace},
        {"name": ARG_ROLLOUT, "value": rollout},
        {"name": ARG_CANARY_HASH, "valueFrom": {"podTemplateHashValue": "Latest"}},
    ]


def canary_steps(steps: list[RolloutStep]) -> list[dict[str, Any]]:
    """The Rollout's ``strategy.canary.steps``: each weight, then its pause (none after 100 %)."""
    out: list[dict[str, Any]] = []
    for step in steps:
        out.append({"setWeight": step.weight})
        if step.pause is not None and step.weight < 100:
            out.append({"pause": {"duration": step.pause}})
    return out
