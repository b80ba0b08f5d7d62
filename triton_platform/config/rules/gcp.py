"""Rules only GCP can answer: where the cluster lives, the project id, GKE's GPU partitions, bucket names.

Plain checks on a parsed PlatformConfig (no Pulumi, no cloud SDK), run by
``triton_platform.config.rules.semantic_issues`` for ``cloud: gcp`` only.
"""

from __future__ import annotations

import re

from triton_platform.catalog import gpu
from triton_platform.clouds.gcp import PROJECT_ID, REGION_PATTERN, bucket_name_issue, is_zone
from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig


def location_issues(cfg: PlatformConfig) -> list[Issue]:
    """``cluster.location`` and ``cluster.project`` are required (or the gcp provider's keys)."""
    issues: list[Issue] = []
    if not cfg.cluster.location:
        issues.append(
            Issue(
                key("cluster.location"),
                "required for cloud 'gcp' (or set the provider's gcp:region / gcp:zone)",
                "'us-central1'",
            )
        )
    if not cfg.cluster.project:
        issues.append(
            Issue(
                key("cluster.project"),
                "required for cloud 'gcp' (the GCP project id; or set the provider's gcp:project)",
                "'my-gcp-project'",
            )
        )
    return issues


def gke_gpu_issues(cfg: PlatformConfig) -> list[Issue]:
    """GKE partitions MIG through the node pool (gpu_partition_size): its sizes, one layout per pool.

    The product's own MIG profiles are checked first (``rules.gpu``); here only what GKE adds.
    """
    g, product = cfg.gpu, gpu.find_product(cfg.gpu_product) if cfg.gpu_product else None
    if g.mig_strategy == "none" or product is None or not g.mig_profile:
        return []
    issues: list[Issue] = []
    if (
        product.supports_mig
        and g.mig_profile in product.mig_profiles
        and g.mig_profile not in product.gke_partition_sizes
    ):
        issues.append(
            Issue(
                key("gpu.migProfile"),
                f"GKE cannot partition {product.product} as {g.mig_profile!r}; "
                f"GKE partition sizes: {', '.join(product.gke_partition_sizes) or 'none'}",
                repr(product.gke_partition_sizes[0]) if product.gke_partition_sizes else None,
            )
        )
    if g.mig_strategy == "mixed":
        issues.append(
            Issue(key("gpu.migStrategy"), "GKE partitions whole node pools; use 'single' on cloud 'gcp'", "'single'")
        )
    return issues


def gcp_issues(cfg: PlatformConfig) -> list[Issue]:
    """The forms of the project id, the location (region or zone) and the GCS bucket name.

    That ``cluster.project`` and ``cluster.location`` are set at all is ``location_issues``;
    here only the forms of the values that are set.
    """
    issues: list[Issue] = []
    c = cfg.cluster
    if c.project and not re.fullmatch(PROJECT_ID, c.project):
        issues.append(
            Issue(
                key("cluster.project"),
                f"{c.project!r} is not a GCP project id (6-30 lowercase letters, digits and '-', starting with a "
                "letter; the id, not the project number or display name)",
                "'my-gcp-project'",
            )
        )
    if c.location and not (is_zone(c.location) or re.fullmatch(REGION_PATTERN, c.location)):
        issues.append(
            Issue(
                key("cluster.location"),
                f"{c.location!r} is neither a GCP region nor a zone",
                "'us-central1' (regional cluster) or 'us-central1-a' (zonal)",
            )
        )
    bucket = cfg.model_repository.bucket
    if bucket and (problem := bucket_name_issue(bucket)):
        issues.append(Issue(key("modelRepository.bucket"), problem, "'acme-triton-models'"))
    return issues
