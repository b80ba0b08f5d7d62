"""ArgoRollouts: the Argo Rollouts controller from its pinned chart, with the Gateway API traffic
router plugin in its config (``triton.rollout.strategy: canary``).

The controller runs the chart's Rollout (charts/triton-inference-server/templates/rollout.yaml):
it starts canary pods when the pod template changes, moves the Gateway routes' weights through the
configured steps with the plugin, and aborts on a failed analysis (triton_platform.values.rollout).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import kubernetes_objects
from components.base import ComponentArgs, pinned_chart_release
from triton_platform.catalog.versions import ARGO_ROLLOUTS, ARGO_ROLLOUTS_GATEWAY_PLUGIN_VERSION

RELEASE_NAME = "argo-rollouts"
NAMESPACE = "argo-rollouts"
# The name the plugin answers to: a Rollout's trafficRouting.plugins key (plugin README, v0.15.0).
GATEWAY_PLUGIN = "argoproj-labs/gatewayAPI"
PLUGIN_RELEASES = "https://github.com/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi/releases/download"


# The sha256 of the plugin binary, per architecture, that the controller checks its download against
# (the `sha256` of a trafficRouterPlugins entry, Argo Rollouts docs "Plugins"; a mismatch and the
# controller refuses the plugin). v0.15.0 linux-amd64: the value a deployed configuration of this same
# release pins (the plugin publishes no checksums file); other architectures download unverified.
PLUGIN_SHA256 = {"amd64": "24816da0e613836b3f180a2b50f6199431668c72d7f4adeef09284bffc6582a1"}


def plugin_location(arch: str = "amd64") -> str:
    """The plugin binary of the pinned release (an asset of its GitHub release) that the controller downloads."""
    return f"{PLUGIN_RELEASES}/{ARGO_ROLLOUTS_GATEWAY_PLUGIN_VERSION}/gatewayapi-plugin-linux-{arch}"


def _plugin(arch: str) -> dict[str, str]:
    """The controller's trafficRouterPlugins entry: name, location, and the sha256 it verifies when pinned."""
    plugin = {"name": GATEWAY_PLUGIN, "location": plugin_location(arch)}
    if arch in PLUGIN_SHA256:
        plugin["sha256"] = PLUGIN_SHA256[arch]
    return plugin


def chart_values(arch: str = "amd64") -> dict[str, Any]:
    """Values of the ``argo-rollouts`` chart: the plugin, and RBAC for the Gateway API provider only.

    The chart's gatewayAPI rules grant get/list/watch/update on the routes; the plugin also
    patches them (docs/installation.md "Permissions", v0.15.0), hence the one extra rule.
    The other providers' rules (Istio, SMI, ...) are off: nothing here uses them.
    """
    providers = ("istio", "smi", "ambassador", "awsLoadBalancerController", "awsAppMesh", "traefik", "apisix")
    return {
        "controller": {"trafficRouterPlugins": [_plugin(arch)]},
        "providerRBAC": {
            "enabled": True,
            "providers": {
                **dict.fromkeys(providers, False),
                "contour": False,
                "glooPlatform": False,
                "gatewayAPI": True,
            },
            "additionalRules": [
                {
                    "apiGroups": ["gateway.networking.k8s.io"],
                    "resources": ["httproutes", "grpcroutes"],
                    "verbs": ["patch"],
                }
            ],
        },
        "dashboard": {"enabled": False},
    }


class ArgoRolloutsArgs(ComponentArgs):
    k8s_provider: pulumi.ProviderResource
    # The nodes' CPU architecture: which plugin binary the controller downloads.
    arch: str = "amd64"


class ArgoRollouts(pulumi.ComponentResource):
    """The Argo Rollouts controller (and its CRDs) in its own namespace."""

    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: ArgoRolloutsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:serving:ArgoRollouts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        namespace = kubernetes_objects.Namespace(
            f"{name}-namespace",
            metadata=kubernetes_objects.object_meta(
                name=NAMESPACE,
                labels={"pod-security.kubernetes.io/enforce": "restricted"},
            ),
            opts=child,
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            pinned_chart_release(
                ARGO_ROLLOUTS,
                name=RELEASE_NAME,
                namespace=namespace.metadata["name"],
                values=chart_values(args.arch),
                atomic=True,
                timeout=600,
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace])),
        )
        self.register_outputs({"releaseStatus": self.release.status})
