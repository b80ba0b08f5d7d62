"""ServingGateway: Envoy Gateway from its pinned chart, and the Gateway, routes, client auth and
proxy metrics that put Triton behind it (``triton.gateway``).

The objects themselves come from ``triton_platform.values.gateway``; this component applies them
after the chart, whose CRDs they need.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import kubernetes_objects
from components.base import ComponentArgs, pinned_chart_release
from triton_platform.catalog.versions import ENVOY_GATEWAY
from triton_platform.config.schema import GatewayConfig
from triton_platform.values.gateway import (
    CONTROLLER_NAMESPACE,
    DEFAULT_GATEWAY_NAME,
    GatewayTarget,
    chart_values,
    gateway_objects,
)

RELEASE_NAME = "envoy-gateway"


class ServingGatewayArgs(ComponentArgs):
    k8s_provider: pulumi.ProviderResource
    gateway: GatewayConfig
    # Triton's namespace and Service (the chart's fullnameOverride: the release name) and its ports.
    namespace: str
    service_name: str
    http_port: int
    grpc_port: int
    # The cloud's load-balancer annotations for the proxies' Service (stacks: service_annotations).
    service_annotations: dict[str, str] = {}
    # Scrape the proxies (a PodMonitor: needs the Prometheus operator's CRDs).
    monitored: bool = False
    gateway_name: str = DEFAULT_GATEWAY_NAME
    # triton.rollout.strategy canary: the routes split between the stable and canary Services.
    canary: bool = False


class ServingGateway(pulumi.ComponentResource):
    """Envoy Gateway's controller and one Gateway routing HTTP and gRPC requests to Triton."""

    release: k8s.helm.v3.Release
    objects: list[kubernetes_objects.CustomObject]
    gateway_name: pulumi.Output[str]

    def __init__(self, name: str, args: ServingGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:serving:ServingGateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        namespace = kubernetes_objects.Namespace(
            f"{name}-namespace",
            metadata=kubernetes_objects.object_meta(
                name=CONTROLLER_NAMESPACE,
                # The controller is restricted-ready; the proxies it creates are checked at baseline.
                labels={
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            ),
            opts=child,
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            pinned_chart_release(
                ENVOY_GATEWAY,
                name=RELEASE_NAME,
                namespace=namespace.metadata["name"],
                values=chart_values(),
                atomic=True,
                timeout=600,
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace])),
        )
        target = GatewayTarget(
            name=args.gateway_name,
            namespace=args.namespace,
            service=args.service_name,
            http_port=args.http_port,
            grpc_port=args.grpc_port,
            service_annotations=dict(args.service_annotations),
            canary=args.canary,
        )
        # The objects need the chart's CRDs (and the controller to admit them): after the release.
        after = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.release]))
        self.objects = [
            _custom_resource(name, obj, after)
            for obj in gateway_objects(args.gateway, target, monitored=args.monitored)
        ]
        self.gateway_name = pulumi.Output.from_input(args.gateway_name)
        self.register_outputs({"gatewayName": self.gateway_name, "releaseStatus": self.release.status})


def _custom_resource(name: str, obj: dict[str, Any], opts: pulumi.ResourceOptions) -> kubernetes_objects.CustomObject:
    """One object of triton_platform.values.gateway, named ``<name>-<kind>``."""
    return kubernetes_objects.CustomObject(
        f"{name}-{obj['kind'].lower()}",
        api_version=obj["apiVersion"],
        kind=obj["kind"],
        metadata=obj["metadata"],
        spec=obj["spec"],
        opts=opts,
    )
