"""Autoscaling on Triton's own signals, and the perf_analyzer load test: plain data, no Pulumi.

- ``adapter_rules`` / ``adapter_values``: the prometheus-adapter rules that serve the scaling
  metric on the custom metrics API (``custom.metrics.k8s.io``), where the chart's
  ``autoscaling/v2`` HorizontalPodAutoscaler reads it as a ``Pods`` metric.
- ``scaling_expr``: the same metric as one PromQL expression per pod, for the dashboard and the
  "HPA at maxReplicas" alert.
- ``gpu_node_template``: what cluster-autoscaler must be told of a GPU pool to add its first node
  (the resources one node offers, the labels Triton selects on), which the EKS and AKS cluster
  components write as the autoscaler's node-template tags.
- ``perf_analyzer_args`` builds the one perf_analyzer command line per model that the chart's
  ``helm test`` Job runs (and that the tests run against a real tritonserver); ``load_test_plan``
  puts those command lines and the thresholds into the plan the Job's checker reads. Each
  model's input shapes come from ``triton_platform.publisher.shapes.model_shapes``.

Metric names are Triton's own (server docs/user_guide/metrics.md: ``nv_inference_queue_duration_us``
"cumulative time requests spend waiting in the scheduling queue", ``nv_inference_request_success``;
labels ``model``, ``version``) plus the ``namespace`` and ``pod`` labels the Prometheus operator
adds to every target of a ServiceMonitor. GPU utilisation is Triton's own ``nv_gpu_utilization``
(triton-inference-server/core r25.01 src/metrics.cc: a gauge per GPU the server sees, label
``gpu_uuid``, set to DCGM's ``DCGM_FI_DEV_GPU_UTIL`` x 0.01, "GPU utilization rate [0.0 - 1.0)"),
on every cloud: GKE runs no DCGM exporter, and Triton's series already carry the pod's own
``namespace``/``pod`` (the dashboard and the saturation alert read the same series).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from triton_platform.catalog import gpu, mig_layouts
from triton_platform.publisher.shapes import ModelShapes

if TYPE_CHECKING:
    from triton_platform.config import AutoscalingConfig, LoadTestConfig, PlatformConfig

Metric = Literal["queueTime", "inferenceRate", "gpuUtilization", "cpu"]
METRICS: tuple[Metric, ...] = ("queueTime", "inferenceRate", "gpuUtilization", "cpu")
# What `target` means for each metric (README, error messages).
TARGET_UNITS: dict[Metric, str] = {
    "queueTime": "milliseconds of average queue time per request",
    "inferenceRate": "successful requests per second per pod",
    "gpuUtilization": "percent GPU utilisation (Triton's nv_gpu_utilization x 100)",
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
# Triton's GPU utilisation gauge, a ratio 0..1 per GPU (label gpu_uuid): the HPA target is percent.
GPU_UTILIZATION = "nv_gpu_utilization"
# prometheus-adapter's serving port. Its chart listens on listenPort (6443 by default) behind a
# Service on 443 whose targetPort is the named container port (chart 4.11.0 templates/service.yaml,
# deployment.yaml); the API server dials that pod port. A GKE private cluster's control plane may
# reach nodes on TCP 443 and 10250 only (GKE "Automatically created firewall rules",
# gke-<cluster>-<hash>-master), so the adapter listens on 10250, as kube-prometheus-stack's own
# webhook does for the same reason (values.yaml prometheusOperator.tls.internalPort).
ADAPTER_LISTEN_PORT = 10250
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
            "seriesQuery": GPU_UTILIZATION + triton_series,
            "resources": pod_resources,
            "name": {"matches": f"^{GPU_UTILIZATION}$", "as": CUSTOM_METRIC_NAMES["gpuUtilization"]},
            # Percent, the mean of the pod's GPUs (the gauge is a 0..1 ratio per GPU).
            "metricsQuery": f"100 * avg by (<<.GroupBy>>) ({GPU_UTILIZATION}{{<<.LabelMatchers>>}})",
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
    cluster on each relist. ``listenPort``: see ADAPTER_LISTEN_PORT (the Service stays on 443,
    where the APIService points).
    """
    return {
        "listenPort": ADAPTER_LISTEN_PORT,
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
        return f"100 * avg by (namespace, pod) ({GPU_UTILIZATION}{sel})"
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


# --- cluster-autoscaler's node template ---------------------------------------------------------

GPU_RESOURCE = "nvidia.com/gpu"


@dataclass(frozen=True)
class NodeTemplate:
    """What cluster-autoscaler must be told of a GPU pool's nodes to add one to an empty pool.

    For a node group without nodes it builds a template node from the instance type (CPU, memory,
    whole GPUs as ``nvidia.com/gpu``) and the group's node-template tags
    (kubernetes/autoscaler cluster-autoscaler-1.31.0: cloudprovider/aws/aws_manager.go
    ``buildNodeFromTemplate``, cloudprovider/azure/azure_template.go): a pod asking for a MIG
    device, or for more ``nvidia.com/gpu`` than the node has whole GPUs (MIG ``single``,
    time-slicing), fits no such template and an empty pool never grows.

    ``resources``: what one node offers once the GPU operator runs, by the device plugin's
    resource names (0 for ``nvidia.com/gpu`` where every GPU is cut into MIG devices);
    ``labels``: the node labels Triton's pods select on; ``gpu_product``: the catalogue name.
    """

    resources: Mapping[str, int] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    gpu_product: str | None = None

    @property
    def offers_gpu_resource(self) -> bool:
        """Nodes advertise ``nvidia.com/gpu`` (whole GPUs, time-sliced GPUs, or MIG ``single`` slices)."""
        return self.resources.get(GPU_RESOURCE, 0) > 0


def _slices_per_gpu(cfg: PlatformConfig, place: gpu.GpuPlacement) -> int | None:
    """MIG devices per GPU of the pool's layout; None for a custom mig-parted layout (count unknown)."""
    profile = cfg.gpu.mig_profile
    if profile is None or cfg.gpu_product is None:
        return None
    if place.mig_config_label and place.mig_config_label != gpu.mig_layout(profile):
        return None
    return mig_layouts.slices_per_gpu(cfg.gpu_product, profile)


def gpu_node_template(cfg: PlatformConfig, place: gpu.GpuPlacement) -> NodeTemplate | None:
    """The node template of the stack's GPU pool for pods placed by ``place``; None without a GPU pool.

    Per node: ``gpuCount`` GPUs x ``timeSlicingReplicas`` (the device plugin advertises each GPU
    that many times); with MIG, slices per GPU (triton_platform.catalog.mig_layouts) x ``gpuCount``,
    as ``nvidia.com/gpu`` under ``single`` and as ``nvidia.com/mig-<profile>`` under ``mixed``.
    """
    pool = cfg.cluster.gpu_node_pool
    if pool is None or not place.resources:
        return None
    g, resources = cfg.gpu, dict[str, int]()
    if g.mig_strategy == "none":
        resources[GPU_RESOURCE] = pool.gpu_count * (g.time_slicing_replicas or 1)
    elif (per_gpu := _slices_per_gpu(cfg, place)) is not None and g.mig_profile:
        slices = per_gpu * pool.gpu_count
        if g.mig_strategy == "single":
            resources[GPU_RESOURCE] = slices
        else:
            resources.update({gpu.mig_resource(g.mig_profile): slices, GPU_RESOURCE: 0})
    return NodeTemplate(resources=resources, labels=dict(place.node_selector), gpu_product=pool.gpu_product)


# --- load test ---------------------------------------------------------------------------------


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
