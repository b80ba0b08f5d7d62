"""Cross-key rules on a parsed PlatformConfig, one module per area and per cloud.

``semantic_issues`` runs them all (``RULES``), in a fixed order (the order of the lines in the one
``ConfigError``): the Triton release, where the cluster lives, the GPU pool and ``gpu`` keys,
the model repository, the service, autoscaling and the load test, namespaces, models or
release, the publisher, API access, and last the rules only the chosen cloud can answer. On a
partial configuration (keys that failed the schema left out) it runs every rule whose keys are valid.
Plain checks: no Pulumi and no cloud SDK is imported, so validation stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from triton_platform.config.errors import Issue
from triton_platform.config.rules import (
    access,
    access_grants,
    autoscaling,
    autoscaling_cloud,
    aws,
    azure,
    cluster,
    gateway,
    gcp,
    gpu,
    gpu_sharing,
    local,
    models,
    publisher,
    release,
    repository,
    rollout,
    triton,
    triton_args,
)
from triton_platform.config.schema import PlatformConfig, UnvalidatedKey

CloudRule = Callable[[PlatformConfig], list[Issue]]
# A rule of the whole configuration; the Path is where relative model sources are read from.
Rule = Callable[[PlatformConfig, Path], list[Issue]]

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


def _config_only(rule: CloudRule) -> Rule:
    return lambda cfg, _base_dir: rule(cfg)


def _cloud(rules: Mapping[str, CloudRule]) -> Rule:
    return lambda cfg, _base_dir: _on_cloud(rules, cfg)


# In the order of the lines in the one ConfigError.
RULES: tuple[Rule, ...] = (
    _config_only(triton.version_issues),
    _cloud(LOCATION_RULES),
    _config_only(cluster.scope_issues),
    _config_only(gpu.pool_issues),
    _config_only(gpu.settings_issues),
    _cloud(GPU_RULES),
    _config_only(gpu_sharing.time_sharing_issues),
    _config_only(repository.static_keys_issues),
    _config_only(triton.service_issues),
    _config_only(gateway.gateway_issues),
    _config_only(rollout.rollout_issues),
    _config_only(triton_args.extra_args_issues),
    _config_only(autoscaling.autoscaling_issues),
    autoscaling.load_test_issues,
    _config_only(autoscaling_cloud.cluster_autoscaler_issues),
    _config_only(triton.namespace_issues),
    _config_only(release.models_or_release_issues),
    models.model_issues,
    _config_only(publisher.cache_prefix_issues),
    _config_only(publisher.compute_capability_issues),
    _config_only(access.access_issues),
    _config_only(access_grants.access_grant_issues),
    _cloud(CLOUD_RULES),
)


def semantic_issues(cfg: PlatformConfig, base_dir: Path) -> list[Issue]:
    """Every cross-key problem of ``cfg``; ``base_dir`` is where relative model sources are read from.

    ``cfg`` may be partial (``triton_platform.config.structure``: the keys that failed the schema
    left out): a rule that reads such a key raises ``UnvalidatedKey`` and is skipped, so every
    rule whose keys are all valid still reports. A valid ``cfg`` has every key: no rule is skipped.
    """
    issues: list[Issue] = []
    for rule in RULES:
        try:
            issues += rule(cfg, base_dir)
        except UnvalidatedKey:
            continue  # it reads a key the schema rejected; that key's own issue says what to fix
    return issues
