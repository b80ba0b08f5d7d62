"""Rules of node autoscaling that depend on the cloud: the cluster-autoscaler EKS stacks run.

The AWS stack runs cluster-autoscaler (chart pinned in triton_platform/catalog/versions.py) when
it has a GPU pool or Triton autoscales. Its version policy is "CA minor == Kubernetes minor"
(kubernetes/autoscaler cluster-autoscaler/README.md, "Releases"), and its table names the oldest
chart for each minor: the pinned chart serves the minors of ``CLUSTER_AUTOSCALER_IMAGE_TAGS``
and no other, so ``cluster.kubernetesVersion`` must be one of them.
"""

from __future__ import annotations

from triton_platform.catalog.versions import CLUSTER_AUTOSCALER, CLUSTER_AUTOSCALER_IMAGE_TAGS
from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig


def runs_cluster_autoscaler(cfg: PlatformConfig) -> bool:
    """The stacks' own condition (stacks/aws.py ``cluster_autoscaler``): EKS with a GPU pool or an HPA."""
    return cfg.cloud == "aws" and (cfg.cluster.gpu_node_pool is not None or cfg.triton.autoscaling.enabled)


def cluster_autoscaler_issues(cfg: PlatformConfig) -> list[Issue]:
    """An EKS cluster whose Kubernetes minor the pinned cluster-autoscaler chart has an image for."""
    version = cfg.cluster.kubernetes_version
    if not runs_cluster_autoscaler(cfg) or version in CLUSTER_AUTOSCALER_IMAGE_TAGS:
        return []
    served = ", ".join(CLUSTER_AUTOSCALER_IMAGE_TAGS)
    return [
        Issue(
            key("cluster.kubernetesVersion"),
            f"cluster-autoscaler must run the cluster's own Kubernetes minor, and chart {CLUSTER_AUTOSCALER.version} "
            f"(pinned) serves {served}, not {version}",
            repr(list(CLUSTER_AUTOSCALER_IMAGE_TAGS)[-1]),
        )
    ]
