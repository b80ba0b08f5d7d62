"""The GPU pool's node template: what one node offers once the GPU operator runs, per MIG strategy.

An empty pool grows only if cluster-autoscaler's template node fits a pending Triton pod
(tests/support/cluster_autoscaler.py ports how it builds that node at cluster-autoscaler-1.31.0).
Without node-template resources it counts the instance type's whole GPUs as ``nvidia.com/gpu``
and nothing else: a ``mixed`` pod (``nvidia.com/mig-<profile>``) never fits, and ``single`` or
time-sliced pools look 7x or Nx smaller than they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster_autoscaler import aws_template, azure_template, pod_fits
from tests.support.configs import gpu_pool, placeholder_models, raw_config
from triton_platform.config import parse_config
from triton_platform.values.autoscaling import gpu_node_template
from triton_platform.values.triton import gpu_placement

P4D = gpu_pool("p4d.24xlarge", "A100-SXM4-40GB", 8, minNodes=0, maxNodes=2)
T4X4 = gpu_pool("g4dn.12xlarge", "Tesla-T4", 4, minNodes=0, maxNodes=2)
NC96 = gpu_pool("Standard_NC96ads_A100_v4", "A100-80GB-PCIe", 4, minNodes=0, maxNodes=2)

# cloud, pool, gpu keys -> what one node offers (7 x 1g.5gb per A100-40GB, 7 x 1g.10gb per A100-80GB:
# the GPU operator's mig-parted config, tests/triton_platform/catalog/test_mig_layouts.py).
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], dict[str, int]]] = [
    ("whole-gpus", "aws", P4D, {}, {"nvidia.com/gpu": 8}),
    ("single", "aws", P4D, {"migStrategy": "single", "migProfile": "1g.5gb"}, {"nvidia.com/gpu": 56}),
    (
        "mixed",
        "aws",
        P4D,
        {"migStrategy": "mixed", "migProfile": "1g.5gb"},
        {"nvidia.com/mig-1g.5gb": 56, "nvidia.com/gpu": 0},
    ),
    (
        "mixed-2g",
        "aws",
        P4D,
        {"migStrategy": "mixed", "migProfile": "2g.10gb"},
        {"nvidia.com/mig-2g.10gb": 24, "nvidia.com/gpu": 0},
    ),
    ("time-slicing", "aws", T4X4, {"timeSlicingReplicas": 4}, {"nvidia.com/gpu": 16}),
    ("aks-single", "azure", NC96, {"migStrategy": "single", "migProfile": "1g.10gb"}, {"nvidia.com/gpu": 28}),
    (
        "aks-mixed",
        "azure",
        NC96,
        {"migStrategy": "mixed", "migProfile": "3g.40gb"},
        {"nvidia.com/mig-3g.40gb": 8, "nvidia.com/gpu": 0},
    ),
]


def _cfg(tmp_path: Path, cloud: str, pool: dict[str, Any], gpu_keys: dict[str, Any]) -> Any:
    raw = raw_config(cloud, pool=pool, gpu=gpu_keys) if gpu_keys else raw_config(cloud, pool=pool)
    return parse_config(raw, base_dir=placeholder_models(tmp_path), stack="test")


@pytest.mark.parametrize(("case", "cloud", "pool", "gpu_keys", "offers"), CASES, ids=[c[0] for c in CASES])
def test_template_offers_every_device_a_node_will_advertise(
    tmp_path: Path, case: str, cloud: str, pool: dict[str, Any], gpu_keys: dict[str, Any], offers: dict[str, int]
) -> None:
    cfg = _cfg(tmp_path, cloud, pool, gpu_keys)
    place = gpu_placement(cfg)
    template = gpu_node_template(cfg, place)
    assert template is not None
    assert dict(template.resources) == offers
    # Every label Triton selects on is on the template (the pool label, mig-manager's layout ...).
    assert dict(template.labels) == dict(place.node_selector)
    assert template.offers_gpu_resource == (offers.get("nvidia.com/gpu", 0) > 0)


@pytest.mark.parametrize(("case", "cloud", "pool", "gpu_keys", "offers"), CASES, ids=[c[0] for c in CASES])
def test_a_pending_triton_pod_fits_the_autoscalers_template_node(
    tmp_path: Path, case: str, cloud: str, pool: dict[str, Any], gpu_keys: dict[str, Any], offers: dict[str, int]
) -> None:
    cfg = _cfg(tmp_path, cloud, pool, gpu_keys)
    place = gpu_placement(cfg)
    template = gpu_node_template(cfg, place)
    assert template is not None
    gpus = cfg.cluster.gpu_node_pool.gpu_count
    # As the clouds' components write the tags (resources and labels; taints in their own tests).
    if cloud == "aws":
        tags = {f"k8s.io/cluster-autoscaler/node-template/resources/{r}": str(n) for r, n in template.resources.items()}
        tags |= {f"k8s.io/cluster-autoscaler/node-template/label/{k}": v for k, v in template.labels.items()}
        node = aws_template(gpus, tags)
        bare = aws_template(gpus, {})
    else:
        enc = lambda s: s.replace("_", "~2").replace("/", "_")  # noqa: E731
        tags = {
            f"k8s.io_cluster-autoscaler_node-template_resources_{enc(r)}": str(n) for r, n in template.resources.items()
        }
        tags |= {f"k8s.io_cluster-autoscaler_node-template_label_{enc(k)}": v for k, v in template.labels.items()}
        node = azure_template(gpus, tags)
        bare = azure_template(gpus, {})
    assert pod_fits(node, place.resources, place.node_selector, place.tolerations)
    # The whole node's worth of replicas fits, not only the first one.
    per_node = {r: n * max(offers[r], 1) for r, n in place.resources.items() if offers.get(r)}
    assert pod_fits(node, per_node, {}, place.tolerations)
    # Without the template (the old pools) the same node is too small or lacks the device.
    if case != "whole-gpus":
        assert not pod_fits(bare, per_node, {}, place.tolerations)


def test_no_template_without_a_gpu_pool(tmp_path: Path) -> None:
    cfg = parse_config(raw_config("aws"), base_dir=placeholder_models(tmp_path), stack="test")
    assert gpu_node_template(cfg, gpu_placement(cfg)) is None


def test_a_custom_mig_parted_layout_has_no_slice_count(tmp_path: Path) -> None:
    keys = {"migStrategy": "mixed", "migProfile": "1g.5gb", "migConfig": "my-own-layout"}
    cfg = _cfg(tmp_path, "aws", P4D, keys)
    template = gpu_node_template(cfg, gpu_placement(cfg))
    # Unknown count: no resource claimed (the pool then needs minNodes >= 1 to scale, README).
    assert template is not None
    assert dict(template.resources) == {}
