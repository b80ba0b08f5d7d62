"""MetricsAdapter: prometheus-adapter serving Triton's scaling metrics to the HPA.

One Helm release of the prometheus-adapter chart (pinned in triton_platform/catalog/versions.py) in the
monitoring namespace, reading the stack's Prometheus (kube-prometheus-stack) and serving only
the rules of triton_platform/values/autoscaling.py on ``custom.metrics.k8s.io``: ``triton_queue_time_ms``,
``triton_inference_rate`` and ``triton_gpu_utilization`` per Triton pod. The chart's
``autoscaling/v2`` HorizontalPodAutoscaler reads them as ``Pods`` metrics. The adapter listens
on 10250, a port a GKE private cluster's control plane may reach (``ADAPTER_LISTEN_PORT``).
"""

from __future__ import annotations

import re

import pulumi
import pulumi_kubernetes as k8s
from pydantic import field_validator

from components.base import ComponentArgs, pinned_chart_release
from triton_platform.catalog.versions import PROMETHEUS_ADAPTER, ChartPin
from triton_platform.values.autoscaling import adapter_values

RELEASE_NAME = "prometheus-adapter"
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


class MetricsAdapterArgs(ComponentArgs):
    """Where the adapter runs and which Prometheus and Triton namespace it serves."""

    k8s_provider: pulumi.ProviderResource
    namespace: pulumi.Output[str] | str
    triton_namespace: str
    # The Prometheus Service, without the port (the chart joins url and port).
    prometheus_url: pulumi.Output[str] | str
    prometheus_port: int = 9090
    chart: ChartPin = PROMETHEUS_ADAPTER

    @field_validator("triton_namespace")
    @classmethod
    def _namespace(cls, v: str) -> str:
        if not _DNS_LABEL.match(v):
            raise ValueError(f"{v!r} is not a Kubernetes namespace name (lowercase DNS label), e.g. 'triton'")
        return v


class MetricsAdapter(pulumi.ComponentResource):
    """prometheus-adapter with Triton's custom-metric rules."""

    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: MetricsAdapterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:monitoring:MetricsAdapter", name, None, opts)
        values = pulumi.Output.from_input(args.prometheus_url).apply(
            lambda url: adapter_values(url, args.prometheus_port, args.triton_namespace)
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            pinned_chart_release(
                args.chart,
                name=RELEASE_NAME,
                namespace=args.namespace,
                values=values,
                timeout=600,
                cleanup_on_fail=True,
                max_history=10,
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=args.k8s_provider),
        )
        self.register_outputs({"releaseName": self.release.name})
