"""Cross-key rules on a parsed PlatformConfig, one module per area and per cloud.

``semantic_issues`` runs them all, in a fixed order (the order of the lines in the one
``ConfigError``): the Triton release, where the cluster lives, the GPU pool and ``gpu`` keys,
the model repository, the service, autoscaling and the load test, namespaces, models or
release, the publisher, API access, and last the rules only the chosen cloud can answer.
Plain checks: no Pulumi and no cloud SDK is imported, so validation stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from triton_platform.config.errors import Issue
from triton_platform.config.rules import (
    access,
    autoscaling,
    autoscaling_cloud,
    aws,
    azure,
    cluster,
    gcp,
    gpu,
    gpu_sharing,
    local,
    models,
    publisher,
    release,
    repository,
    triton,
    triton_args,
)
from triton_platform.config.schema import PlatformConfig

CloudRule = Callable[[PlatformConfig], list[Issue]]

# What each cloud requires of the cluster's location (region, location, project).
LOCATION_RULES: Mapping[str, CloudRule] = {
    "aws": aws.location_issues,
    "gcp": gcp.location_issues,
    "azure": azure.location_issues,
}
# What a cloud adds to the GPU rules (GKE partitions whole node pools).
GPU_RULES: Mapping[str, CloudRule] = {"gcp": gcp.gke_gpu_issues}
# Everything else only the cloud can answer (kind: a node image for the Kubernetes version); none for 'aws'.
CLOUD_RULES: Mapping[str, CloudRule] = {
    "local": local.kind_issues,
    "gcp": gcp.gcp_issues,
    "azure": azure.azure_issues,
}


def _on_cloud(rules: Mapping[str, CloudRule], cfg: PlatformConfig) -> list[Issue]:
    rule = rules.get(cfg.cloud)
    return rule(cfg) if rule else []


def semantic_issues(cfg: PlatformConfig, base_dir: Path) -> list[Issue]:
    """Every cross-key problem of ``cfg``; ``base_dir`` is where relative model sources are read from."""
    return [
        *triton.version_issues(cfg),
        *_on_cloud(LOCATION_RULES, cfg),
        *cluster.scope_issues(cfg),
        *gpu.pool_issues(cfg),
        *gpu.settings_issues(cfg),
        *_on_cloud(GPU_RULES, cfg),
        *gpu_sharing.time_sharing_issues(cfg),
        *repository.static_keys_issues(cfg),
        *triton.service_issues(cfg),
        *triton_args.extra_args_issues(cfg),
        *autoscaling.autoscaling_issues(cfg),
        *autoscaling.load_test_issues(cfg, base_dir),
        *autoscaling_cloud.cluster_autoscaler_issues(cfg),
        *triton.namespace_issues(cfg),
        *release.models_or_release_issues(cfg),
        *models.model_issues(cfg, base_dir),
        *publisher.cache_prefix_issues(cfg),
        *publisher.compute_capability_issues(cfg),
        *access.access_issues(cfg),
        *_on_cloud(CLOUD_RULES, cfg),
    ]
