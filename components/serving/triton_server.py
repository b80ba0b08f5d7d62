"""TritonServer: the Helm release of charts/triton-inference-server, with MIG-aware values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.base import ComponentArgs

CHART_PATH = Path(__file__).resolve().parents[2] / "charts" / "triton-inference-server"


class TritonServerArgs(ComponentArgs):
    k8s_provider: pulumi.ProviderResource
    namespace: pulumi.Output[str] | str
    # Values computed from the typed config by triton_platform.values.triton.triton_values.
    values: dict[str, Any]
    release_name: str = "triton"
    chart_path: str = str(CHART_PATH)
    # Fail the apply if Triton does not become ready (models load) within this time.
    timeout_seconds: int = 1800


class TritonServer(pulumi.ComponentResource):
    """Triton Inference Server released from the repository's own chart."""

    release: k8s.helm.v3.Release
    service_name: pulumi.Output[str]
    namespace: pulumi.Output[str]
    http_endpoint: pulumi.Output[str]
    grpc_endpoint: pulumi.Output[str]
    metrics_endpoint: pulumi.Output[str]
    load_balancer: pulumi.Output[str] | None

    def __init__(self, name: str, args: TritonServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:serving:TritonServer", name, None, opts)
        values = {**args.values, "fullnameOverride": args.release_name}
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            k8s.helm.v3.ReleaseArgs(
                name=args.release_name,
                chart=args.chart_path,
                namespace=args.namespace,
                values=values,
                # Roll back a release whose pods never become ready: the old Triton keeps serving.
                atomic=True,
                timeout=args.timeout_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=args.k8s_provider),
        )
        ports = args.values.get("ports", {"http": 8000, "grpc": 8001, "metrics": 8002})
        self.namespace = pulumi.Output.from_input(args.namespace)
        # The chart's fullnameOverride makes the Service name the release name.
        self.service_name = self.release.name.apply(lambda n: n or args.release_name)
        host = pulumi.Output.concat(args.release_name, ".", self.namespace, ".svc.cluster.local")
        self.http_endpoint = pulumi.Output.concat("http://", host, f":{ports['http']}")
        self.grpc_endpoint = pulumi.Output.concat(host, f":{ports['grpc']}")
        self.metrics_endpoint = pulumi.Output.concat("http://", host, f":{ports['metrics']}/metrics")
        self.load_balancer = None
        if args.values.get("service", {}).get("type") == "LoadBalancer":
            svc = k8s.core.v1.Service.get(
                f"{name}-service",
                pulumi.Output.concat(self.namespace, "/", args.release_name),
                opts=pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, depends_on=[self.release]),
            )
            self.load_balancer = svc.status.apply(_lb_address)
        self.register_outputs(
            {
                "serviceName": self.service_name,
                "httpEndpoint": self.http_endpoint,
                "grpcEndpoint": self.grpc_endpoint,
                "metricsEndpoint": self.metrics_endpoint,
            }
        )


def _lb_address(status: Any) -> str:
    try:
        ingress = status.load_balancer.ingress or []
        first = ingress[0]
        return first.hostname or first.ip or ""
    except (AttributeError, IndexError, TypeError):
        return ""
