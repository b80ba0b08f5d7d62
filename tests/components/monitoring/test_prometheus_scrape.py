"""The dashboard and the autoscaler's queries on a real Prometheus scraping a real tritonserver under load.

The real tritonserver (pytriton wheel, CPU) runs with the metrics flags the chart renders
(``--metrics-config=summary_latencies=true``: Triton docs/user_guide/metrics.md, "Summaries") and
serves a Python model that takes a few milliseconds per batch, so concurrent clients queue. The
real ``prometheus`` (Debian's package, 2.42) scrapes it every second on 127.0.0.1, with the
target labels a ServiceMonitor's relabelling gives (namespace, pod, service, container, endpoint;
job = the metrics Service's name), as kube-prometheus-stack's Prometheus does in the cluster.
kube-state-metrics' pod and HPA series, which some panels join with Triton's, come from a static
exposition with kube-state-metrics' own names and labels (docs/metrics/workload/pod-metrics.md,
horizontalpodautoscaler-metrics.md), scraped with ``honor_labels`` as its ServiceMonitor is.

Checked: every dashboard query and template variable returns data (GPU panels excepted: no GPU
here); every prometheus-adapter rule (and so the HPA's metric) finds its series and returns a
value for the pod; the adapter's queue time equals the one computed from Triton's raw counters;
Triton's answer to bad requests (HTTP 400) adds nothing to ``nv_inference_request_failure``.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.helm import render_triton
from tests.support.prometheus import Prometheus, chart_metrics_args, run_prometheus, static_scrape
from tests.support.served import infer_status
from tests.support.stacks import REPO
from tests.support.triton import TritonServer, TritonUnavailable, free_port, run_triton
from triton_platform.values import autoscaling

pytestmark = pytest.mark.integration

NS = "triton"
POD = "triton-6c9f7d5b8d-x7k2p"
MODEL = "queued"
DASHBOARD = REPO / "dashboards" / "triton.json"
TARGET = {"namespace": NS, "pod": POD, "service": "triton-metrics", "container": "triton", "endpoint": "metrics"}
# Grafana's variables for "every pod, every model"; $__rate_interval: a window over the whole run.
VARIABLES = {"$namespace": NS, "$pod": ".*", "$model": ".*", "$__rate_interval": "1m"}
CLIENTS, REQUESTS_EACH = 8, 40
GPU_ONLY = "nv_gpu_"  # Triton reads these from DCGM on a GPU: none on the CPU-only test server
# The Gateway row reads Envoy's proxies, which nothing here runs (no Envoy binary installs from apt, PyPI
# or npm): its queries are checked by test_dashboard.py and promtool (docs/integrations.md GW-7, F-16).
ENVOY_ONLY = "envoy_cluster_"

_CONFIG = f"""
name: "{MODEL}"
backend: "python"
max_batch_size: 8
input [{{ name: "x" data_type: TYPE_FP32 dims: [1] }}]
output [{{ name: "y" data_type: TYPE_FP32 dims: [1] }}]
dynamic_batching {{}}
instance_group [{{ kind: KIND_CPU count: 1 }}]
"""
_MODEL_PY = """
import time

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        time.sleep(0.004)  # one batch takes a few ms: concurrent requests wait in Triton's queue
        return [
            pb_utils.InferenceResponse([pb_utils.Tensor("y", pb_utils.get_input_tensor_by_name(r, "x").as_numpy() * 2)])
            for r in requests
        ]
"""
_UID = "0b6e1a52-8c1e-4f0e-9d43-7f2b8e8f7c11"
_HPA = f'namespace="{NS}",horizontalpodautoscaler="triton"'
_TARGET_METRIC = f'{_HPA},metric_name="triton_queue_time_ms",metric_target_type="average"'
# What kube-state-metrics v2 exposes for one running, ready Triton pod and its HPA.
KSM_EXPOSITION = f"""# TYPE kube_pod_status_ready gauge
kube_pod_status_ready{{namespace="{NS}",pod="{POD}",uid="{_UID}",condition="true"}} 1
kube_pod_status_ready{{namespace="{NS}",pod="{POD}",uid="{_UID}",condition="false"}} 0
kube_pod_status_ready{{namespace="{NS}",pod="{POD}",uid="{_UID}",condition="unknown"}} 0
# TYPE kube_pod_status_phase gauge
kube_pod_status_phase{{namespace="{NS}",pod="{POD}",uid="{_UID}",phase="Running"}} 1
kube_pod_status_phase{{namespace="{NS}",pod="{POD}",uid="{_UID}",phase="Pending"}} 0
# TYPE kube_horizontalpodautoscaler_spec_max_replicas gauge
kube_horizontalpodautoscaler_spec_max_replicas{{{_HPA}}} 4
# TYPE kube_horizontalpodautoscaler_spec_min_replicas gauge
kube_horizontalpodautoscaler_spec_min_replicas{{{_HPA}}} 1
# TYPE kube_horizontalpodautoscaler_status_current_replicas gauge
kube_horizontalpodautoscaler_status_current_replicas{{{_HPA}}} 1
# TYPE kube_horizontalpodautoscaler_status_desired_replicas gauge
kube_horizontalpodautoscaler_status_desired_replicas{{{_HPA}}} 1
# TYPE kube_horizontalpodautoscaler_spec_target_metric gauge
kube_horizontalpodautoscaler_spec_target_metric{{{_TARGET_METRIC}}} 50
# TYPE kube_horizontalpodautoscaler_status_target_metric gauge
kube_horizontalpodautoscaler_status_target_metric{{{_TARGET_METRIC}}} 12
"""


@dataclass
class Run:
    """The servers after the load, the raw counters before and after it, and when it was measured."""

    triton: TritonServer
    prometheus: Prometheus
    before: dict[str, float]
    after: dict[str, float]
    at: float


def _counters(port: int) -> dict[str, float]:
    """Triton's /metrics for MODEL: every counter summed over its other labels (reason, version)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for name, labels, value in re.findall(r"^(\w+)\{([^}]*)\} (\S+)$", text, flags=re.MULTILINE):
        if f'model="{MODEL}"' in labels and "quantile" not in labels:
            out[name] = out.get(name, 0.0) + float(value)
    return out


def _infer(url: str, rows: int, name: str = "x", datatype: str = "FP32", cols: int = 1) -> int:
    return infer_status(url, MODEL, rows=rows, cols=cols, name=name, datatype=datatype)


def _load(url: str) -> None:
    def client(_: int) -> None:
        for i in range(REQUESTS_EACH):
            assert _infer(url, rows=1 + i % 4) == 200

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))


@contextlib.contextmanager
def _kube_state_metrics() -> Iterator[int]:
    """A loopback HTTP server answering kube-state-metrics' exposition; yields its port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = KSM_EXPOSITION.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    work = tmp_path_factory.mktemp("scrape")
    repo = work / "models"
    (repo / MODEL / "1").mkdir(parents=True)
    (repo / MODEL / "config.pbtxt").write_text(_CONFIG)
    (repo / MODEL / "1" / "model.py").write_text(_MODEL_PY)
    with contextlib.ExitStack() as stack:
        try:
            triton = stack.enter_context(run_triton(str(repo), workdir=work, extra_args=chart_metrics_args(work)))
        except TritonUnavailable as err:
            pytest.fail(f"no runnable tritonserver here: {err}")  # the test command installs it
        triton.wait_model(MODEL, 1)
        ksm_port = stack.enter_context(_kube_state_metrics())
        jobs = [
            static_scrape("triton-metrics", f"127.0.0.1:{triton.metrics_port}", TARGET),
            {**static_scrape("kube-state-metrics", f"127.0.0.1:{ksm_port}", {}), "honor_labels": True},
        ]
        prometheus = stack.enter_context(run_prometheus(jobs, work / "prometheus"))
        prometheus.wait_scraped()
        time.sleep(3)  # samples of the idle server before the load: the rate windows start flat
        before = _counters(triton.metrics_port)
        _load(triton.http_url)
        after = _counters(triton.metrics_port)
        time.sleep(3)  # the final counters are scraped
        yield Run(triton, prometheus, before, after, time.time())


def _fill(expr: str) -> str:
    for variable, value in sorted(VARIABLES.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(variable, value)
    return expr


def _dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return doc


def _panel_queries() -> list[tuple[str, str]]:
    panels = [p for top in _dashboard()["panels"] for p in (top, *top.get("panels", []))]
    return [(p["title"], t["expr"]) for p in panels for t in p.get("targets", [])]


@pytest.mark.timeout(300)
def test_every_dashboard_query_returns_data(run: Run) -> None:
    empty = [(title, expr) for title, expr in _panel_queries() if not run.prometheus.query(_fill(expr), at=run.at)]
    # A CPU-only tritonserver exports no nv_gpu_* (Triton reads them from DCGM on a GPU).
    assert [e for e in empty if GPU_ONLY not in e[1] and ENVOY_ONLY not in e[1]] == []
    gateway = {"Gateway requests / s by route", "Gateway 4xx ratio by route", "Gateway 5xx ratio by route"}
    assert {t for t, _ in empty} == {"GPU utilisation", "GPU memory", "GPU power", *gateway}


@pytest.mark.timeout(300)
def test_the_latency_quantile_panel_reads_the_summary_the_chart_turns_on(run: Run) -> None:
    (expr_50, expr_99) = [e for t, e in _panel_queries() if t.startswith("Request latency quantiles")]
    for expr in (expr_50, expr_99):
        (sample,) = run.prometheus.query(_fill(expr), at=run.at)
        assert sample["metric"] == {"model": MODEL}
        assert float(sample["value"][1]) > 0


@pytest.mark.timeout(300)
def test_every_template_variable_lists_values(run: Run) -> None:
    variables = [v for v in _dashboard()["templating"]["list"] if v["type"] == "query"]
    assert [v["name"] for v in variables] == ["namespace", "pod", "model"]
    for variable in variables:
        match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]["query"])
        assert match, variable["query"]
        selector, label = _fill(match.group(1)), match.group(2)
        assert run.prometheus.label_values(label, selector), (variable["name"], selector)


def _hpa_metric_name(metric: str, tmp_path: Path) -> str:
    """The custom metric the chart's HPA asks prometheus-adapter for (real helm)."""
    values = {"autoscaling": {"enabled": True, "metric": metric, "target": 50}}
    (hpa,) = [d for d in render_triton(values, tmp_path) if d["kind"] == "HorizontalPodAutoscaler"]
    name: str = hpa["spec"]["metrics"][0]["pods"]["metric"]["name"]
    return name


@pytest.mark.timeout(300)
@pytest.mark.parametrize("metric", ["queueTime", "inferenceRate", "gpuUtilization"])
def test_the_hpa_metric_is_served_by_an_adapter_rule_with_data(run: Run, metric: str, tmp_path: Path) -> None:
    name = _hpa_metric_name(metric, tmp_path)
    (rule,) = [r for r in autoscaling.adapter_rules(NS) if r["name"]["as"] == name]
    # Discovery: the adapter lists the series, then maps their namespace/pod labels to objects.
    found = run.prometheus.series(str(rule["seriesQuery"]))
    query = autoscaling.expand_rule(rule, NS, pods=[POD])
    if str(rule["seriesQuery"]).startswith(GPU_ONLY):
        # A CPU-only tritonserver exports no nv_gpu_* (DCGM on a GPU node): the query runs, empty.
        assert found == []
        assert run.prometheus.query(query, at=run.at) == []
        return
    assert found, rule["seriesQuery"]
    assert all(re.fullmatch(rule["name"]["matches"], s["__name__"]) for s in found)
    assert {(s["namespace"], s["pod"]) for s in found} == {(NS, POD)}
    # The query it runs for the HPA's pods.
    (sample,) = run.prometheus.query(query, at=run.at)
    assert sample["metric"] == {"pod": POD}
    assert float(sample["value"][1]) > 0


def test_every_adapter_rule_serves_an_hpa_metric(tmp_path: Path) -> None:
    names = {_hpa_metric_name(m, tmp_path) for m in ("queueTime", "inferenceRate", "gpuUtilization")}
    assert {r["name"]["as"] for r in autoscaling.adapter_rules(NS)} == names


@pytest.mark.timeout(300)
def test_the_adapters_queue_time_equals_tritons_raw_counters(run: Run) -> None:
    """rate(queue_us[2m]) / 1000 / rate(success[2m]) for the pod, against Δqueue_us / Δsuccess / 1000.

    Both counters come from the same scrapes (same timestamps) and start the window flat at their
    pre-load values, so rate()'s extrapolation scales numerator and denominator by the same factor
    (prometheus promql/functions.go extrapolatedRate) and it cancels: what is left differs from the
    raw ratio only by float rounding, hence a relative tolerance of 1e-9.
    """
    requests = run.after[autoscaling.REQUEST_SUCCESS] - run.before[autoscaling.REQUEST_SUCCESS]
    queue_us = run.after[autoscaling.QUEUE_DURATION] - run.before[autoscaling.QUEUE_DURATION]
    assert requests == CLIENTS * REQUESTS_EACH
    assert queue_us > 0
    raw_ms = queue_us / requests / 1000
    (rule,) = [r for r in autoscaling.adapter_rules(NS) if r["name"]["as"] == "triton_queue_time_ms"]
    (adapter,) = run.prometheus.query(autoscaling.expand_rule(rule, NS, pods=[POD]), at=run.at)
    (panel,) = run.prometheus.query(autoscaling.scaling_expr("queueTime", NS), at=run.at)
    print(f"queue time per request: adapter {adapter['value'][1]} ms, raw counters {raw_ms!r} ms")
    assert float(adapter["value"][1]) == pytest.approx(raw_ms, rel=1e-9)
    assert float(panel["value"][1]) == pytest.approx(raw_ms, rel=1e-9)


@pytest.mark.timeout(300)
def test_client_errors_are_not_counted_as_failures(run: Run) -> None:
    """Triton answers a wrong shape, batch size, input name or datatype with HTTP 400 and counts nothing."""
    before = _counters(run.triton.metrics_port)
    bad = [
        _infer(run.triton.http_url, rows=2, cols=3),  # wrong shape
        _infer(run.triton.http_url, rows=20),  # batch over max_batch_size 8
        _infer(run.triton.http_url, rows=2, name="nope"),  # unknown input
        _infer(run.triton.http_url, rows=2, datatype="INT32"),  # wrong datatype
    ]
    assert bad == [400, 400, 400, 400]
    after = _counters(run.triton.metrics_port)
    assert after["nv_inference_request_failure"] == before["nv_inference_request_failure"] == 0
    assert after[autoscaling.REQUEST_SUCCESS] == before[autoscaling.REQUEST_SUCCESS]
