"""Values for charts/triton-inference-server, computed from the typed stack config.

Plain function: the TritonServer component passes its result to the Helm release, and the
chart tests render the same values with real helm. Values may hold Pulumi Outputs (bucket
URIs, identity ids); this module only places them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from triton_platform import gpu
from triton_platform.versions import TRITON_IMAGE_REPOSITORY

if TYPE_CHECKING:
    from triton_platform.config import PlatformConfig


def gpu_placement(cfg: PlatformConfig, *, gke: bool = False) -> gpu.GpuPlacement:
    """Triton's GPU requests and node selector for this stack (DESIGN.md's MIG table)."""
    g = cfg.gpu
    return gpu.placement(
        product=cfg.gpu_product,
        strategy=g.mig_strategy,
        mig_profile=g.mig_profile,
        gpus_per_replica=g.gpus_per_replica,
        gke=gke,
        mig_config=g.mig_config,
    )


def triton_values(
    cfg: PlatformConfig,
    *,
    repository_uri: Any,
    credentials_secret: Any | None = None,
    env: Mapping[str, Any] | None = None,
    service_account_annotations: Mapping[str, Any] | None = None,
    pod_labels: Mapping[str, str] | None = None,
    service_annotations: Mapping[str, str] | None = None,
    gke: bool = False,
) -> dict[str, Any]:
    t = cfg.triton
    svc = t.service
    place = gpu_placement(cfg, gke=gke)
    node_ports: dict[str, int | None] = {"http": None, "grpc": None, "metrics": None}
    if svc.type == "NodePort" and svc.node_ports:
        node_ports = {"http": svc.node_ports.http, "grpc": svc.node_ports.grpc, "metrics": svc.node_ports.metrics}
    resources = {
        "requests": {"cpu": t.resources.cpu, "memory": t.resources.memory},
        # Memory limit = request: Triton holds models in host memory; no overcommit surprises.
        "limits": {"cpu": t.resources.cpu, "memory": t.resources.memory},
    }
    return {
        "replicaCount": t.replicas,
        "image": {"repository": TRITON_IMAGE_REPOSITORY, "tag": f"{t.version}-py3", "pullPolicy": "IfNotPresent"},
        "modelRepository": {
            "uri": repository_uri,
            "credentialsSecret": credentials_secret or "",
            "env": dict(env or {}),
        },
        "triton": {
            "modelControlMode": t.model_control_mode,
            "repositoryPollSeconds": t.repository_poll_seconds,
            "logVerbose": 0,
            "extraArgs": [],
        },
        "ports": {"http": svc.http_port, "grpc": svc.grpc_port, "metrics": svc.metrics_port},
        "service": {
            "type": svc.type,
            "annotations": {**(service_annotations or {}), **svc.annotations},
            "nodePorts": node_ports,
            "loadBalancerSourceRanges": [],
        },
        "metrics": {
            "enabled": True,
            "serviceMonitor": {
                "enabled": cfg.monitoring.enabled,
                "force": cfg.monitoring.enabled,
                "interval": "15s",
                "labels": {},
            },
        },
        "gpu": {
            "resources": dict(place.resources),
            "nodeSelector": dict(place.node_selector),
            "tolerations": [dict(x) for x in place.tolerations],
        },
        "resources": resources,
        "serviceAccount": {
            "create": True,
            "name": "triton",
            "annotations": dict(service_account_annotations or {}),
            "automountToken": False,
        },
        "podLabels": dict(pod_labels or {}),
        "networkPolicy": {"enabled": True, "prometheusNamespace": cfg.monitoring.namespace},
        "autoscaling": {
            "enabled": t.autoscaling.enabled,
            "minReplicas": t.autoscaling.min_replicas,
            "maxReplicas": t.autoscaling.max_replicas,
            "targetCPUUtilizationPercentage": t.autoscaling.target_cpu_utilization,
        },
    }
