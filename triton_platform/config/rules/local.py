"""Rules only the ``local`` cloud (kind) can answer: which Kubernetes its node image runs.

Plain checks on a parsed PlatformConfig, run by ``triton_platform.config.rules.semantic_issues``
for ``cloud: local`` only. The node images (by digest, per Kubernetes minor) are those the kind
release of scripts/tools.lock lists (``triton_platform.catalog.versions.KIND_NODE_IMAGES``); the
local defaults that fill a left-out ``cluster.kubernetesVersion`` are
``triton_platform.clouds.kind.LOCAL_DEFAULTS``.
"""

from __future__ import annotations

from triton_platform.catalog.versions import KIND_DEFAULT_KUBERNETES_VERSION
from triton_platform.clouds.kind import node_image_minor, node_image_problem
from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig


def kind_issues(cfg: PlatformConfig) -> list[Issue]:
    """``cluster.kubernetesVersion`` must have a kind node image, or agree with ``cluster.kind.nodeImage``."""
    cluster = cfg.cluster
    version = cluster.kubernetes_version
    image = cluster.kind.node_image
    if image is None:
        problem = node_image_problem(version)
        example = repr(KIND_DEFAULT_KUBERNETES_VERSION)
        return [Issue(key("cluster.kubernetesVersion"), problem, example)] if problem else []
    # A node image of the user's own: it decides the version, which must then say the same.
    minor = node_image_minor(image)
    if minor is not None and minor != version:
        return [
            Issue(
                key("cluster.kubernetesVersion"),
                f"{version!r} differs from cluster.kind.nodeImage {image!r}, which runs Kubernetes {minor}; "
                "make them agree, or leave kubernetesVersion out",
                repr(minor),
            )
        ]
    return []
