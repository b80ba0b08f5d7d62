"""What GKE's GPU time-sharing admits: at most one shared ``nvidia.com/gpu`` per container.

GKE's device plugin refuses an allocation of more than one time-shared GPU on a node with
several GPUs ("invalid request for sharing GPU, at most 1 nvidia.com/gpu can be requested on
multi-GPU nodes": GoogleCloudPlatform/container-engine-accelerators
``pkg/gpu/nvidia/gpusharing/gpusharing.go`` ``ValidateRequest``); on a one-GPU node more than
one is refused already (``gpusPerReplica`` above the node's GPU count, ``rules.gpu``). A Triton
pod asking for ``gpusPerReplica > 1`` on a time-shared GKE pool would never start, so the pair
is refused before anything is created.
"""

from __future__ import annotations

from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig


def time_sharing_issues(cfg: PlatformConfig) -> list[Issue]:
    """``gpu.timeSlicingReplicas`` with ``gpu.gpusPerReplica > 1`` on GKE."""
    g = cfg.gpu
    if cfg.cloud != "gcp" or g.time_slicing_replicas is None or g.gpus_per_replica <= 1:
        return []
    return [
        Issue(
            key("gpu.gpusPerReplica"),
            f"{g.gpus_per_replica} GPUs per replica cannot be time-shared on GKE: with "
            f"{key('gpu.timeSlicingReplicas')} ({g.time_slicing_replicas}) a container gets at most one shared "
            "nvidia.com/gpu; use gpusPerReplica 1 with timeSlicingReplicas, or drop timeSlicingReplicas",
            f"gpusPerReplica: 1 with timeSlicingReplicas: {g.time_slicing_replicas}",
        )
    ]
