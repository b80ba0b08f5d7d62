"""MIG devices per GPU against the GPU operator's own mig-parted config (what mig-manager applies)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from triton_platform.catalog import gpu, mig_layouts

# NVIDIA/gpu-operator v26.7.0 (10ee5b36) assets/state-mig-manager/0400_configmap.yaml, verbatim: the
# ConfigMap default-mig-parted-config mig-manager reads its ``all-<profile>`` layouts from.
CONFIG = Path(__file__).parent / "data" / "gpu-operator-v26.7.0-mig-parted-config.yaml"
# PCI device ids (vendor 10DE) as the config's device filters spell them, per catalogue product;
# the config's comments name the GPUs of each filter (0x20B0 A100-SXM4-40GB, 0x20B2 A100-SXM4-80GB,
# 0x20B5 A100 80GB PCIe, 0x2330 H100-SXM5-80GB, 0x2335 H200 141GB, 0x20B7 A30-24GB).
DEVICE_IDS = {
    "A100-SXM4-40GB": "0x20B010DE",
    "A100-SXM4-80GB": "0x20B210DE",
    "A100-80GB-PCIe": "0x20B510DE",
    "H100-80GB": "0x233010DE",
    "H200": "0x233510DE",
    "A30": "0x20B710DE",
}


def _layouts() -> dict[str, list[dict[str, Any]]]:
    config_map = yaml.safe_load(CONFIG.read_text())
    return dict(yaml.safe_load(config_map["data"]["config.yaml"])["mig-configs"])


def _devices(entries: list[dict[str, Any]], device_id: str) -> dict[str, int]:
    """mig-parted's choice of entry for one GPU: the one whose device-filter names it, or the unfiltered one."""
    for entry in entries:
        wanted = entry.get("device-filter")
        ids = [wanted] if isinstance(wanted, str) else (wanted or [])
        if not ids or device_id in ids:
            return dict(entry["mig-devices"])
    raise AssertionError(f"no entry for {device_id}")


MIG_PRODUCTS = [p for p in gpu.GPU_PRODUCTS if p.supports_mig]


@pytest.mark.parametrize("product", MIG_PRODUCTS, ids=[p.product for p in MIG_PRODUCTS])
def test_slices_per_gpu_are_what_mig_manager_cuts(product: gpu.GpuProduct) -> None:
    layouts = _layouts()
    assert product.mig_profiles, product.product
    for profile in product.mig_profiles:
        devices = _devices(layouts[gpu.mig_layout(profile)], DEVICE_IDS[product.product])
        # The layout cuts only this profile, as many times as the table says.
        assert devices == {profile: mig_layouts.slices_per_gpu(product.product, profile)}, (product.product, profile)


def test_unknown_product_or_profile_has_no_count() -> None:
    assert mig_layouts.slices_per_gpu("Tesla-T4", "1g.5gb") is None
    assert mig_layouts.slices_per_gpu("A100-SXM4-40GB", "1g.10gb+me") is None
    # Aliases name the same GPU (gpuProduct accepts them).
    assert mig_layouts.slices_per_gpu("A100-40GB", "1g.5gb") == 7
