"""Cross-key rules only one cloud can answer, run by ``triton_platform.config.schema`` before any resource.

``parse_config`` appends ``cloud_issues(cfg)`` to its own findings, so a stack's generic and
cloud-specific problems arrive in one ConfigError. Plain checks on a parsed PlatformConfig:
no Pulumi and no cloud SDK is imported here, so validation stays fast.
"""

from __future__ import annotations

import re

from triton_platform.catalog import gpu
from triton_platform.clouds import azure as az
from triton_platform.clouds.gcp import PROJECT_ID, REGION_PATTERN, bucket_name_issue, is_zone
from triton_platform.config.schema import NAMESPACE, Issue, PlatformConfig


def _key(path: str) -> str:
    return f"{NAMESPACE}:{path}"


def gcp_issues(cfg: PlatformConfig) -> list[Issue]:
    """GCP-only rules: the project id, the location (region or zone) and the GCS bucket name.

    That ``cluster.project`` and ``cluster.location`` are set at all is checked by
    ``triton_platform.config.schema`` itself; here only the forms of the values that are set.
    """
    issues: list[Issue] = []
    c = cfg.cluster
    if c.project and not re.fullmatch(PROJECT_ID, c.project):
        issues.append(
            Issue(
                _key("cluster.project"),
                f"{c.project!r} is not a GCP project id (6-30 lowercase letters, digits and '-', starting with a "
                "letter; the id, not the project number or display name)",
                "'my-gcp-project'",
            )
        )
    if c.location and not (is_zone(c.location) or re.fullmatch(REGION_PATTERN, c.location)):
        issues.append(
            Issue(
                _key("cluster.location"),
                f"{c.location!r} is neither a GCP region nor a zone",
                "'us-central1' (regional cluster) or 'us-central1-a' (zonal)",
            )
        )
    bucket = cfg.model_repository.bucket
    if bucket and (problem := bucket_name_issue(bucket)):
        issues.append(Issue(_key("modelRepository.bucket"), problem, "'acme-triton-models'"))
    return issues


def azure_issues(cfg: PlatformConfig) -> list[Issue]:
    """Azure-only rules: AKS MIG profiles, resource group, VM size and container names."""
    issues: list[Issue] = []
    c, g = cfg.cluster, cfg.gpu
    product = cfg.gpu_product
    if g.mig_strategy != "none" and g.mig_profile and product and gpu.find_product(product):
        entry = gpu.find_product(product)
        allowed = az.aks_mig_profiles(product)
        if entry and entry.supports_mig and g.mig_profile in entry.mig_profiles and g.mig_profile not in allowed:
            issues.append(
                Issue(
                    _key("gpu.migProfile"),
                    f"AKS partitions {entry.product} through the agent pool's gpuInstanceProfile "
                    f"(MIG1g..MIG7g), which makes {', '.join(allowed)} only; {g.mig_profile!r} is not one of them",
                    repr(allowed[0]) if allowed else None,
                )
            )
    if c.resource_group is not None and not re.fullmatch(r"[-\w.()]{0,89}[-\w()]", c.resource_group):
        issues.append(
            Issue(
                _key("cluster.resourceGroup"),
                "Azure resource group names are 1-90 letters, digits, '-', '_', '.', '(', ')' and do not end with '.'",
                "'triton-prod'",
            )
        )
    if c.project is not None:
        issues.append(Issue(_key("cluster.project"), "applies to cloud 'gcp' only", None))
    if c.system_node_pool and not c.system_node_pool.machine_type.startswith("Standard_"):
        issues.append(
            Issue(
                _key("cluster.systemNodePool.machineType"),
                f"{c.system_node_pool.machine_type!r} is not an Azure VM size",
                "'Standard_D4ds_v5'",
            )
        )
    bucket = cfg.model_repository.bucket
    if bucket and ("." in bucket or "--" in bucket or len(bucket) < 3):
        issues.append(
            Issue(
                _key("modelRepository.bucket"),
                "Azure container names are 3-63 lowercase letters, digits and '-', without '.' or consecutive '-'",
                "'triton-models'",
            )
        )
    return issues


def cloud_issues(cfg: PlatformConfig) -> list[Issue]:
    """The rules of ``cfg.cloud`` (none for 'local' and 'aws', whose rules live in triton_platform.config.schema)."""
    if cfg.cloud == "gcp":
        return gcp_issues(cfg)
    if cfg.cloud == "azure":
        return azure_issues(cfg)
    return []
