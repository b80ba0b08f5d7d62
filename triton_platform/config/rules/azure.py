"""Rules only Azure can answer: the location, AKS MIG profiles, resource group, VM size, container names.

Plain checks on a parsed PlatformConfig (no Pulumi, no cloud SDK), run by
``triton_platform.config.rules.semantic_issues`` for ``cloud: azure`` only.
"""

from __future__ import annotations

import re

from triton_platform.catalog import gpu
from triton_platform.clouds import azure as az
from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig


def location_issues(cfg: PlatformConfig) -> list[Issue]:
    """``cluster.location`` is required (or the azure-native provider's location)."""
    if cfg.cluster.location:
        return []
    return [
        Issue(
            key("cluster.location"),
            "required for cloud 'azure' (or set the provider's azure-native:location)",
            "'westeurope'",
        )
    ]


def _aks_mig_issues(cfg: PlatformConfig) -> list[Issue]:
    """AKS partitions through the agent pool's gpuInstanceProfile, which makes fewer profiles than MIG has."""
    g, product = cfg.gpu, cfg.gpu_product
    entry = gpu.find_product(product) if product else None
    if g.mig_strategy == "none" or not g.mig_profile or product is None or entry is None:
        return []
    allowed = az.aks_mig_profiles(product)
    if not entry.supports_mig or g.mig_profile not in entry.mig_profiles or g.mig_profile in allowed:
        return []  # no MIG, or a profile the product lacks: rules.gpu reports those
    return [
        Issue(
            key("gpu.migProfile"),
            f"AKS partitions {entry.product} through the agent pool's gpuInstanceProfile "
            f"(MIG1g..MIG7g), which makes {', '.join(allowed)} only; {g.mig_profile!r} is not one of them",
            repr(allowed[0]) if allowed else None,
        )
    ]


def azure_issues(cfg: PlatformConfig) -> list[Issue]:
    """AKS MIG profiles, resource group, keys of other clouds, VM size and container names."""
    issues = _aks_mig_issues(cfg)
    c = cfg.cluster
    if c.resource_group is not None and not re.fullmatch(r"[-\w.()]{0,89}[-\w()]", c.resource_group):
        issues.append(
            Issue(
                key("cluster.resourceGroup"),
                "Azure resource group names are 1-90 letters, digits, '-', '_', '.', '(', ')' and do not end with '.'",
                "'triton-prod'",
            )
        )
    if c.project is not None:
        issues.append(Issue(key("cluster.project"), "applies to cloud 'gcp' only", None))
    if c.system_node_pool and not c.system_node_pool.machine_type.startswith("Standard_"):
        issues.append(
            Issue(
                key("cluster.systemNodePool.machineType"),
                f"{c.system_node_pool.machine_type!r} is not an Azure VM size",
                "'Standard_D4ds_v5'",
            )
        )
    bucket = cfg.model_repository.bucket
    if bucket and ("." in bucket or "--" in bucket or len(bucket) < 3):
        issues.append(
            Issue(
                key("modelRepository.bucket"),
                "Azure container names are 3-63 lowercase letters, digits and '-', without '.' or consecutive '-'",
                "'triton-models'",
            )
        )
    return issues
