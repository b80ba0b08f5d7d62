"""dashboards/triton.json: a Grafana dashboard whose queries use only real Triton metrics."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.promql import HPA_METRICS, OTHER_METRICS, TRITON_METRICS, balanced, parse
from tests.support.stacks import REPO

DASHBOARD = REPO / "dashboards" / "triton.json"

PROMQL_WORDS = {"sum", "avg", "max", "count", "by", "on", "and", "or", "rate", "label_values", "clamp_min"}
LABELS = {"namespace", "pod", "model", "gpu_uuid", "quantile", "job", "condition", "phase"}
# kube-state-metrics' HPA series carry these instead of a pod.
HPA_LABELS = {"horizontalpodautoscaler", "metric_name"}
GRAFANA_VARIABLES = {"datasource", "namespace", "pod", "model", "__rate_interval"}
# The Gateway row: Envoy's per-cluster response-code counter as Envoy Gateway's proxies expose it on
# /stats/prometheus. Envoy's tag extraction (source/common/config/well_known_names.cc: `_rq_(\d)xx$`
# -> envoy.response_code_class, `^cluster\.(([^\.]+)\.)` -> envoy.cluster_name) turns
# cluster.<name>.upstream_rq_5xx into envoy_cluster_upstream_rq_xx{envoy_cluster_name, envoy_response_code_class};
# Envoy Gateway v1.9.0 names a route rule's cluster <kind>/<namespace>/<name>/rule/<n>
# (internal/gatewayapi/helpers.go irRouteDestinationName; test/e2e/tests/retry.go queries
# envoy_cluster_name="httproute/<ns>/<name>/rule/0") and its own envoy-clusters dashboard
# (charts/gateway-addons-helm/dashboards/envoy-clusters.json) charts the same series.
ENVOY_METRICS = {"envoy_cluster_upstream_rq_xx"}
ENVOY_LABELS = {"envoy_cluster_name", "envoy_response_code_class"}
# The proxies run in Envoy Gateway's namespace: Triton's namespace is matched in the route's cluster name.
ENVOY_ROUTES = 'envoy_cluster_name=~"(httproute|grpcroute)/$namespace/.+"'


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return doc


def _panels(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for panel in doc["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # collapsed rows nest their panels
    return out


def _exprs(doc: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in _panels(doc) for t in p.get("targets", [])]


def test_identity_and_schema(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "triton-inference-server"
    assert dashboard["title"] == "Triton Inference Server"
    assert 36 <= dashboard["schemaVersion"] <= 41
    # Provisioned dashboards must not carry a database id.
    assert dashboard["id"] is None
    assert "triton" in dashboard["tags"]


def test_template_variables(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert set(variables) == {"datasource", "namespace", "pod", "model"}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("namespace", "pod", "model"):
        var = variables[name]
        assert var["type"] == "query"
        assert var["datasource"]["uid"] == "${datasource}"
        assert var["query"]["query"].startswith("label_values(nv_inference_request_success")
        assert var["query"]["query"].endswith(f", {name})")


def test_every_panel_queries_prometheus_through_the_variable(dashboard: dict[str, Any]) -> None:
    panels = [p for p in _panels(dashboard) if p["type"] != "row"]
    assert len(panels) >= 15
    ids = [p["id"] for p in _panels(dashboard)]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["title"], panel
        assert panel.get("description"), panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids))
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            assert target["expr"].strip()
        grid = panel["gridPos"]
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 24


def test_expressions_use_only_known_metrics_and_are_well_formed(dashboard: dict[str, Any]) -> None:
    used: set[str] = set()
    for expr in _exprs(dashboard):
        assert balanced(expr), expr
        without_strings = re.sub(r'"[^"]*"', '""', expr)
        assert "[$__rate_interval]" in expr or "rate(" not in expr, expr
        variables = set(re.findall(r"\$\{?(\w+)", expr))
        assert variables <= GRAFANA_VARIABLES, expr
        # Every selector filters on the dashboard's namespace and pod variables.
        for name, selector in re.findall(r"\b([a-z_:]+)\s*(\{[^{}]*\})", expr):
            if name in ENVOY_METRICS:
                assert ENVOY_ROUTES in selector, expr
                continue
            assert 'namespace=~"$namespace"' in selector, expr
            # An HPA's series have no pod label (kube-state-metrics): namespace only.
            assert 'pod=~"$pod"' in selector or name in HPA_METRICS, expr
        names = set(re.findall(r"\b([a-z_:]+)\s*\{", expr))
        assert names, expr
        known = TRITON_METRICS | OTHER_METRICS | ENVOY_METRICS
        assert names <= known, names - known
        bare = set(re.findall(r"\b([a-z_]+)\b", re.sub(r"\{[^{}]*\}|\[[^]]*\]", "", without_strings)))
        assert bare <= known | PROMQL_WORDS | LABELS | HPA_LABELS | ENVOY_LABELS, bare
        parse(expr.replace("$__rate_interval", "5m"))  # a real PromQL parser accepts it (Grafana vars filled)
        used |= names
    # The panels the platform promises: requests, latency, queue, batching, GPU, CPU, status.
    assert {
        "nv_inference_request_success",
        "nv_inference_request_failure",
        "nv_inference_request_duration_us",
        "nv_inference_queue_duration_us",
        "nv_inference_compute_infer_duration_us",
        "nv_inference_count",
        "nv_inference_exec_count",
        "nv_gpu_utilization",
        "nv_gpu_memory_used_bytes",
        "nv_cpu_utilization",
        "up",
        "envoy_cluster_upstream_rq_xx",
    } <= used


def test_gateway_row_charts_requests_and_4xx_5xx_ratios_per_route(dashboard: dict[str, Any]) -> None:
    """Issue 18 item 1: the Gateway's status codes per route, client (4xx) and server (5xx) errors apart."""
    panels = {p["title"]: p for p in _panels(dashboard)}
    assert panels["Gateway"]["type"] == "row"
    every = f"sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_xx{{{ENVOY_ROUTES}}}[$__rate_interval]))"
    (rate,) = [t["expr"] for t in panels["Gateway requests / s by route"]["targets"]]
    assert rate == every
    for code_class in ("4", "5"):
        panel = panels[f"Gateway {code_class}xx ratio by route"]
        (expr,) = [t["expr"] for t in panel["targets"]]
        errors = every.replace("}[", f', envoy_response_code_class="{code_class}"}}[')
        assert expr == f"{errors} / {every}"
        assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit"
        assert panel["targets"][0]["legendFormat"] == "{{envoy_cluster_name}}"


def test_batching_efficiency_divides_inferences_by_executions(dashboard: dict[str, Any]) -> None:
    panel = next(p for p in _panels(dashboard) if p["title"].startswith("Batching efficiency"))
    (expr,) = [t["expr"] for t in panel["targets"]]
    assert re.search(r"rate\(nv_inference_count\{.*\}.*/.*rate\(nv_inference_exec_count\{", expr)


def test_per_model_panels_filter_on_the_model_variable(dashboard: dict[str, Any]) -> None:
    found = [(sel, expr) for expr in _exprs(dashboard) for sel in re.findall(r"nv_inference_\w+\{[^{}]*\}", expr)]
    assert found, "no panel queries a per-model nv_inference_ metric"
    for selector, expr in found:
        assert 'model=~"$model"' in selector, expr


# Needs a GPU: the CPU-only tritonserver of the pytriton wheel does not export these.
GPU_ONLY = {m for m in TRITON_METRICS if m.startswith("nv_gpu_")}

_MODEL_CONFIG = """
name: "double"
backend: "python"
max_batch_size: 8
input [{ name: "x" data_type: TYPE_FP32 dims: [1] }]
output [{ name: "y" data_type: TYPE_FP32 dims: [1] }]
dynamic_batching {}
"""
_MODEL_PY = """
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        return [
            pb_utils.InferenceResponse([pb_utils.Tensor("y", pb_utils.get_input_tensor_by_name(r, "x").as_numpy() * 2)])
            for r in requests
        ]
"""


SUCCESS_LINE = 'nv_inference_request_success{model="double",version="1"} 3'


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_a_real_triton_exports_every_metric_the_dashboard_and_alerts_query(
    dashboard: dict[str, Any], tmp_path: Path
) -> None:
    """Scrape a real tritonserver (CPU, the chart's metrics flags) after a few inferences: every
    non-GPU name must be there, the latency summary included (Triton docs/user_guide/metrics.md)."""
    import contextlib
    import urllib.request

    from tests.support.prometheus import chart_metrics_args
    from tests.support.triton import TritonUnavailable, run_triton
    from triton_platform.values.alerts import build_rule_groups

    repo = tmp_path / "models"
    (repo / "double" / "1").mkdir(parents=True)
    (repo / "double" / "config.pbtxt").write_text(_MODEL_CONFIG)
    (repo / "double" / "1" / "model.py").write_text(_MODEL_PY)
    body = json.dumps({"inputs": [{"name": "x", "shape": [2, 1], "datatype": "FP32", "data": [1, 2]}]}).encode()
    with contextlib.ExitStack() as stack:
        try:
            # The chart's metrics flags: nv_inference_request_summary_us needs summary_latencies=true.
            extra = chart_metrics_args(tmp_path)
            server = stack.enter_context(run_triton(str(repo), workdir=tmp_path, extra_args=extra))
        except TritonUnavailable as err:
            # The test command installs it: missing means a broken setup, never a silent skip.
            pytest.fail(f"no runnable tritonserver here: {err}")
        server.wait_model("double", 1)
        for _ in range(3):
            request = urllib.request.Request(
                f"http://{server.http_url}/v2/models/double/infer", data=body, method="POST"
            )
            with urllib.request.urlopen(request, timeout=10) as resp:
                assert resp.status == 200
        # Triton counts a request once its response is released, which can follow the HTTP reply by
        # a moment: read the metrics until the three requests are counted (bounded).
        deadline = time.monotonic() + 10
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10) as resp:
                exposition = resp.read().decode()
            if SUCCESS_LINE in exposition or time.monotonic() > deadline:
                break
            time.sleep(0.1)

    exported = set(re.findall(r"^# TYPE (\w+) ", exposition, flags=re.MULTILINE))
    alert_exprs = [r["expr"] for g in build_rule_groups("triton") for r in g["rules"]]
    queried = {name for expr in _exprs(dashboard) + alert_exprs for name in re.findall(r"\b(nv_\w+)\s*\{", expr)}
    assert queried
    missing = queried - exported - GPU_ONLY
    assert not missing, f"queried but not exported by Triton: {sorted(missing)}"
    assert SUCCESS_LINE in exposition


def test_autoscaling_row_shows_replicas_against_the_metric_and_its_target(dashboard: dict[str, Any]) -> None:
    panels = {p["title"]: p for p in _panels(dashboard)}
    assert panels["Autoscaling"]["type"] == "row"
    replicas = " ".join(t["expr"] for t in panels["HPA replicas"]["targets"])
    for name in ("status_current_replicas", "spec_max_replicas", "spec_min_replicas"):
        assert f"kube_horizontalpodautoscaler_{name}" in replicas
    metric = [t["expr"] for t in panels["Scaling metric vs. target"]["targets"]]
    assert any("kube_horizontalpodautoscaler_status_target_metric" in e for e in metric)
    assert any("kube_horizontalpodautoscaler_spec_target_metric" in e for e in metric)
    (queue,) = [t["expr"] for t in panels["Queue time per pod (queueTime metric)"]["targets"]]
    # The adapter's queueTime rule, per pod, with the dashboard's filters.
    assert "sum by (pod) (rate(nv_inference_queue_duration_us{" in queue
    assert "/ 1000 / clamp_min(sum by (pod) (rate(nv_inference_request_success{" in queue
