"""Rules of where the cluster lives: keys that belong to another cloud than the configured one.

What each cloud requires (region, location, project) is that cloud's own rule (``rules.aws``,
``rules.gcp``, ``rules.azure``); the GPU pool's rules are ``rules.gpu``.
"""

from __future__ import annotations

from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig


def scope_issues(cfg: PlatformConfig) -> list[Issue]:
    """``cluster.region`` is AWS's, ``cluster.location`` GCP's and Azure's, ``cluster.kind`` kind's."""
    issues: list[Issue] = []
    c = cfg.cluster
    if cfg.cloud != "aws" and c.region:
        issues.append(
            Issue(key("cluster.region"), f"applies to cloud 'aws' only; use cluster.location for {cfg.cloud!r}", None)
        )
    if cfg.cloud in ("local", "aws") and c.location:
        issues.append(Issue(key("cluster.location"), "applies to clouds 'gcp' and 'azure' only", None))
    if cfg.cloud != "local" and (c.kind.node_image or c.kind.host_model_dir):
        issues.append(Issue(key("cluster.kind"), "kind options apply to cloud 'local' only", None))
    # No rule for a missing systemNodePool: each cloud composition has a sensible default.
    return issues
