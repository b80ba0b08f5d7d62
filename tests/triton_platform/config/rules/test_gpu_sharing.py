"""GKE time-sharing: at most one shared ``nvidia.com/gpu`` per container (rules/gpu_sharing.py).

GKE's device plugin validates every allocation of time-shared GPUs
(GoogleCloudPlatform/container-engine-accelerators ``pkg/gpu/nvidia/gpusharing/gpusharing.go``,
``ValidateRequest``): more than one virtual device in one request on a node with more than one
GPU is refused, "invalid request for sharing GPU, at most 1 nvidia.com/gpu can be requested on
multi-GPU nodes". A Triton pod with ``gpusPerReplica: 2`` on such a pool never starts.
"""

from __future__ import annotations

import pytest

from tests.support.stacks import config_error, parse_stack, set_key

STACK = "staging"  # the GKE example stack
TWO_GPU_POOL = (
    set_key("cluster.gpuNodePool.machineType", "a2-highgpu-2g"),
    set_key("cluster.gpuNodePool.gpuCount", 2),
)


def gke_allocates(requested: int, gpus_on_node: int) -> bool:
    """GKE's ValidateRequest on time-shared device ids (``nvidia0/vgpu0``, ...), transcribed."""
    return not (requested > 1 and gpus_on_node > 1)


def test_two_time_shared_gpus_per_replica_are_refused_naming_both_keys() -> None:
    assert not gke_allocates(requested=2, gpus_on_node=2)
    err = config_error(STACK, *TWO_GPU_POOL, gpu={"timeSlicingReplicas": 4, "gpusPerReplica": 2})
    assert "triton-platform:gpu.gpusPerReplica" in err.keys
    message = str(err)
    assert "triton-platform:gpu.timeSlicingReplicas" in message, message
    assert "at most one shared nvidia.com/gpu" in message, message
    assert "(example: gpusPerReplica: 1 with timeSlicingReplicas: 4)" in message, message


@pytest.mark.parametrize(
    "gpu",
    [
        {"timeSlicingReplicas": 4, "gpusPerReplica": 1},  # GKE allocates one shared GPU
        {"gpusPerReplica": 2},  # whole GPUs, not shared
    ],
)
def test_what_gke_allocates_is_accepted(gpu: dict[str, int]) -> None:
    requested = gpu["gpusPerReplica"]
    assert gke_allocates(requested, 2) or "timeSlicingReplicas" not in gpu
    cfg = parse_stack(STACK, *TWO_GPU_POOL, gpu=gpu)
    assert cfg.gpu.gpus_per_replica == requested


def test_the_rule_is_gkes_only() -> None:
    # EKS and AKS share GPUs through NVIDIA's device plugin (its own sharing config), not GKE's.
    cfg = parse_stack(
        "prod",
        set_key("cluster.gpuNodePool.machineType", "g4dn.12xlarge"),
        set_key("cluster.gpuNodePool.gpuProduct", "Tesla-T4"),
        set_key("cluster.gpuNodePool.gpuCount", 4),
        gpu={"timeSlicingReplicas": 4, "gpusPerReplica": 2},
    )
    assert (cfg.gpu.time_slicing_replicas, cfg.gpu.gpus_per_replica) == (4, 2)
