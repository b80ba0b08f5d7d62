"""Autoscaling on Triton's own signals, and the perf_analyzer load test: plain data, no Pulumi.

- ``adapter_rules`` / ``adapter_values``: the prometheus-adapter rules that serve the scaling
  metric on the custom metrics API (``custom.metrics.k8s.io``), where the chart's
  ``autoscaling/v2`` HorizontalPodAutoscaler reads it as a ``Pods`` metric.
- ``scaling_expr``: the same metric as one PromQL expression per pod, for the dashboard and the
  "HPA at maxReplicas" alert.
- ``perf_analyzer_args`` builds the one perf_analyzer command line per model that the chart's
  ``helm test`` Job runs (and that the tests run against a real tritonserver); ``load_test_plan``
  puts those command lines and the thresholds into the plan the Job's checker reads.

Metric names are Triton's own (server docs/user_guide/metrics.md: ``nv_inference_queue_duration_us``
"cumulative time requests spend waiting in the scheduling queue", ``nv_inference_request_success``;
labels ``model``, ``version``) plus the ``namespace`` and ``pod`` labels the Prometheus operator
adds to every target of a ServiceMonitor. GPU utilisation is the DCGM exporter's
``DCGM_FI_DEV_GPU_UTIL`` (dcgm-exporter etc/default-counters.csv); the exporter labels each series
with the pod using the GPU as ``pod``/``namespace``, which Prometheus renames to
``exported_pod``/``exported_namespace`` because the GPU operator's ServiceMonitor keeps
``honorLabels: false`` (components/gpu/gpu_operator.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from triton_platform.config.schema import AutoscalingConfig, LoadTestConfig
    from triton_platform.publisher.spec import ModelSpec

Metric = Literal["queueTime", "inferenceRate", "gpuUtilization", "cpu"]
METRICS: tuple[Metric, ...] = ("queueTime", "inferenceRate", "gpuUtilization", "cpu")
# What `target` means for each metric (README, error messages).
TARGET_UNITS: dict[Metric, str] = {
    "queueTime": "milliseconds of average queue time per request",
    "inferenceRate": "successful requests per second per pod",
    "gpuUtilization": "percent GPU utilisation (DCGM)",
    "cpu": "percent of the CPU request",
}
DEFAULT_TARGETS: dict[Metric, float | None] = {
    "queueTime": 50.0,
    "inferenceRate": None,  # depends on the model: the user must say it
    "gpuUtilization": 80.0,
    "cpu": 80.0,
}
# Names the adapter serves on custom.metrics.k8s.io; the chart's hpa.yaml uses the same names.
CUSTOM_METRIC_NAMES: dict[Metric, str] = {
    "queueTime": "triton_queue_time_ms",
    "inferenceRate": "triton_inference_rate",
    "gpuUtilization": "triton_gpu_utilization",
}
QUEUE_DURATION = "nv_inference_queue_duration_us"
REQUEST_SUCCESS = "nv_inference_request_success"
DCGM_GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"
# rate() window: 8 samples at the ServiceMonitor's 15 s interval, short enough to react in minutes.
RATE_WINDOW = "2m"
# Denominator floor (requests/s): an idle pod reports 0 ms of queue time, not NaN.
_IDLE_FLOOR = "0.001"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _check_namespace(namespace: str) -> None:
    if not _DNS_LABEL.match(namespace):
        raise ValueError(f"triton.namespace: {namespace!r} is not a namespace name (DNS label); e.g. 'triton'")


def adapter_rules(namespace: str) -> list[dict[str, Any]]:
    """prometheus-adapter ``rules.custom`` entries for every custom scaling metric of Triton pods.

    Format of prometheus-adapter docs/config.md: ``seriesQuery`` finds the series, ``resources``
    maps their labels to Kubernetes objects, ``name`` renames, ``metricsQuery`` is the query run
    per HPA request with ``<<.LabelMatchers>>`` (namespace + pods) and ``<<.GroupBy>>`` (pod).
    """
    _check_namespace(namespace)
    pod_resources = {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}}
    triton_series = f'{{namespace="{namespace}",pod!=""}}'
    return [
        {
            "seriesQuery": QUEUE_DURATION + triton_series,
            "resources": pod_resources,
            "name": {"matches": f"^{QUEUE_DURATION}$", "as": CUSTOM_METRIC_NAMES["queueTime"]},
            # Average queue time per successful request, in ms (the metric counts microseconds).
            "metricsQuery": (
                f"sum by (<<.GroupBy>>) (rate({QUEUE_DURATION}{{<<.LabelMatchers>>}}[{RATE_WINDOW}])) / 1000"
                f" / clamp_min(sum by (<<.GroupBy>>) (rate({REQUEST_SUCCESS}{{<<.LabelMatchers>>}}[{RATE_WINDOW}])),"
                f" {_IDLE_FLOOR})"
            ),
        },
        {
            "seriesQuery": REQUEST_SUCCESS + triton_series,
            "resources": pod_resources,
            "name": {"matches": f"^{REQUEST_SUCCESS}$", "as": CUSTOM_METRIC_NAMES["inferenceRate"]},
            "metricsQuery": f"sum by (<<.GroupBy>>) (rate({REQUEST_SUCCESS}{{<<.LabelMatchers>>}}[{RATE_WINDOW}]))",
        },
        {
            "seriesQuery": f'{DCGM_GPU_UTIL}{{exported_namespace="{namespace}",exported_pod!=""}}',
            "resources": {
                "overrides": {
                    "exported_namespace": {"resource": "namespace"},
                    "exported_pod": {"resource": "pod"},
                }
            },
            "name": {"matches": f"^{DCGM_GPU_UTIL}$", "as": CUSTOM_METRIC_NAMES["gpuUtilization"]},
            # A pod with several GPUs: their mean.
            "metricsQuery": f"avg by (<<.GroupBy>>) ({DCGM_GPU_UTIL}{{<<.LabelMatchers>>}})",
        },
    ]


def expand_rule(rule: Mapping[str, Any], namespace: str, pods: Sequence[str] = ()) -> str:
    """A rule's ``metricsQuery`` with the adapter's template filled in as it does for a Pods metric.

    prometheus-adapter (pkg/naming/metrics_query.go) replaces ``<<.LabelMatchers>>`` with the
    resource labels (namespace equal, pod regex of the HPA's pods) and ``<<.GroupBy>>`` with the
    pod label. Used by the tests to parse and to run the query against real series.
    """
    overrides = rule["resources"]["overrides"]
    ns_label = next(k for k, v in overrides.items() if v["resource"] == "namespace")
    pod_label = next(k for k, v in overrides.items() if v["resource"] == "pod")
    pod_regex = "|".join(pods) if pods else ".+"
    matchers = f'{ns_label}="{namespace}",{pod_label}=~"{pod_regex}"'
    query = str(rule["metricsQuery"])
    return query.replace("<<.LabelMatchers>>", matchers).replace("<<.GroupBy>>", pod_label)


def adapter_values(prometheus_url: str, prometheus_port: int, namespace: str) -> dict[str, Any]:
    """Values of the prometheus-adapter chart (keys of its values.yaml, chart 4.11.0).

    ``rules.default: false``: only our rules, so the adapter does not list every series of the
    cluster on each relist.
    """
    return {
        "prometheus": {"url": prometheus_url, "port": prometheus_port, "path": ""},
        "rules": {"default": False, "custom": adapter_rules(namespace), "external": []},
        "replicas": 1,
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "250m", "memory": "256Mi"}},
    }


def scaling_expr(metric: Metric, namespace: str, container: str = "triton") -> str:
    """The scaling metric per pod as one PromQL expression (labels: namespace, pod)."""
    _check_namespace(namespace)
    sel = f'{{namespace="{namespace}"}}'
    if metric == "queueTime":
        return (
            f"sum by (namespace, pod) (rate({QUEUE_DURATION}{sel}[{RATE_WINDOW}])) / 1000"
            f" / clamp_min(sum by (namespace, pod) (rate({REQUEST_SUCCESS}{sel}[{RATE_WINDOW}])), {_IDLE_FLOOR})"
        )
    if metric == "inferenceRate":
        return f"sum by (namespace, pod) (rate({REQUEST_SUCCESS}{sel}[{RATE_WINDOW}]))"
    if metric == "gpuUtilization":
        return (
            "label_replace(label_replace(avg by (exported_namespace, exported_pod) "
            f'({DCGM_GPU_UTIL}{{exported_namespace="{namespace}"}}), '
            '"namespace", "$1", "exported_namespace", "(.*)"), "pod", "$1", "exported_pod", "(.*)")'
        )
    # cAdvisor's CPU seconds (kubelet) over kube-state-metrics' CPU request, in percent.
    csel = f'{{namespace="{namespace}", container="{container}"}}'
    return (
        f"100 * sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{csel}[{RATE_WINDOW}]))"
        f' / sum by (namespace, pod) (kube_pod_container_resource_requests{{namespace="{namespace}", '
        f'container="{container}", resource="cpu"}})'
    )


def hpa_values(auto: AutoscalingConfig) -> dict[str, Any]:
    """The chart's ``autoscaling`` block for a validated AutoscalingConfig."""
    target = auto.effective_target
    return {
        "enabled": auto.enabled,
        "metric": auto.effective_metric,
        # Whole numbers stay integers: the HPA's quantity then reads "50", not "50.0".
        "target": int(target) if target is not None and float(target).is_integer() else target,
        "minReplicas": auto.min_replicas,
        "maxReplicas": auto.max_replicas,
        "scaleDownStabilizationSeconds": auto.scale_down_stabilization_seconds,
    }


# --- load test ---------------------------------------------------------------------------------


class LoadTestShapeError(ValueError):
    """A model input whose load-test shape cannot be derived; names the key, why, and an example."""

    def __init__(self, key: str, reason: str, example: str) -> None:
        self.key, self.reason, self.example = key, reason, example
        super().__init__(f"triton-platform:{key}: {reason} (example: {example})")


@dataclass(frozen=True)
class ModelShapes:
    """One published model and the ``--shape`` of each input (without the batch dimension)."""

    name: str
    shapes: dict[str, list[int]]
    max_batch_size: int


def _signature_file(spec: ModelSpec, base_dir: Path) -> Path | None:
    if "://" in spec.source:
        return None  # a remote source: perf_analyzer reads the dims from the served config
    source = base_dir / spec.source
    candidate = source / (spec.signature or "model.onnx") if spec.format == "python" else source
    # No graph here (a Python model without one, or a source not on this machine): perf_analyzer
    # then takes the dims from the config Triton serves, which are fixed unless declared dynamic.
    return candidate if candidate.is_file() else None


def model_shapes(spec: ModelSpec, base_dir: Path, *, key: str = "models[]") -> ModelShapes:
    """Input shapes of a published model, read from its ONNX graph exactly as the publisher does.

    The publisher declares ``dims`` as the graph shape without the batch dimension
    (``onnx_graph.triton_dims``); a remaining dynamic dimension takes the ``opt`` of the model's
    ``shapes`` entry (its TensorRT optimization profile).
    """
    from triton_platform.publisher.onnx_graph import read_signature, triton_dims

    path = _signature_file(spec, base_dir)
    if path is None:
        return ModelShapes(spec.name, {}, spec.max_batch_size)
    sig = read_signature(path, model=spec.name)
    shapes: dict[str, list[int]] = {}
    for tensor in sig.inputs:
        dims = triton_dims(tensor, spec.max_batch_size, model=spec.name)
        if -1 in dims:
            profile = spec.shapes.get(tensor.name)
            if profile is None:
                raise LoadTestShapeError(
                    f"{key}.shapes",
                    f"input {tensor.name!r} of model {spec.name!r} has a dynamic dimension {dims}; the load test "
                    "needs a concrete shape (the opt of a shapes entry), or set triton.loadTest.enabled: false",
                    f"shapes: {{{tensor.name}: {{min: [1, 16], opt: [8, 16], max: [32, 16]}}}}",
                )
            opt = list(profile.opt)
            dims = opt[1:] if spec.max_batch_size > 0 else opt
        shapes[tensor.name] = [int(d) for d in dims]
    return ModelShapes(spec.name, shapes, spec.max_batch_size)


def perf_analyzer_args(model: ModelShapes, load: LoadTestConfig, url: str) -> list[str]:
    """THE perf_analyzer command line of one model (the chart's Job runs it; the tests run it).

    Flags of perf_analyzer (``perf_analyzer --help``, client repo src/c++/perf_analyzer/docs/cli.md):
    ``-m`` model, ``-u`` server, ``-i`` protocol, ``-b`` batch size, ``--concurrency-range
    start:end:step``, ``--measurement-interval`` (ms), ``--percentile=99`` (stabilise and report on
    p99), ``--stability-percentage`` / ``--max-trials`` (when a level counts as measured; an unstable
    one makes perf_analyzer exit non-zero), ``--input-data random``, ``-f`` CSV report (relative: the
    Job's working directory), ``--shape NAME:d1,d2``. The thresholds are checked on that CSV by the
    chart's files/loadtest.py.
    """
    c = load.concurrency
    batch = min(load.batch_size, model.max_batch_size) if model.max_batch_size > 0 else 1
    args = [
        "perf_analyzer",
        "-m",
        model.name,
        "-u",
        url,
        "-i",
        load.protocol,
        "-b",
        str(batch),
        "--concurrency-range",
        f"{c.start}:{c.end}:{c.step}",
        "--measurement-interval",
        str(load.measurement_interval_ms),
        "--percentile=99",
        "--stability-percentage",
        str(load.stability_percentage),
        "--max-trials",
        str(load.max_trials),
        "--input-data",
        "random",
        "-f",
        f"{model.name}.csv",
    ]
    for name, dims in sorted(model.shapes.items()):
        args += ["--shape", f"{name}:{','.join(str(d) for d in dims)}"]
    return args


def load_test_plan(models: Sequence[ModelShapes], load: LoadTestConfig, url: str) -> dict[str, Any]:
    """What the chart's loadtest.py reads: one command per model and the thresholds."""
    return {
        "thresholds": {
            "maxP99LatencyMs": load.max_p99_latency_ms,
            "minThroughput": load.min_throughput,
            "maxErrors": 0,
        },
        "runs": [{"model": m.name, "command": perf_analyzer_args(m, load, url)} for m in models],
    }


def in_cluster_url(release: str, namespace: str, load: LoadTestConfig, http_port: int, grpc_port: int) -> str:
    """host:port of the Triton Service for the load test's protocol (the release's fullname)."""
    port = grpc_port if load.protocol == "grpc" else http_port
    return f"{release}.{namespace}.svc.cluster.local:{port}"
