"""Rules only AWS can answer: the cluster's region.

Plain checks on a parsed PlatformConfig (no Pulumi, no cloud SDK), run by
``triton_platform.config.rules.semantic_issues`` for ``cloud: aws`` only. The other AWS facts are
data elsewhere: EC2 GPU machine types in ``triton_platform.catalog.gpu`` (checked by ``rules.gpu``),
IAM documents in ``triton_platform.clouds.aws_iam``; S3 bucket names are the schema's pattern.
"""

from __future__ import annotations

from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig


def location_issues(cfg: PlatformConfig) -> list[Issue]:
    """``cluster.region`` is required (or the aws provider's region)."""
    if cfg.cluster.region:
        return []
    return [Issue(key("cluster.region"), "required for cloud 'aws' (or set the provider's aws:region)", "'us-east-1'")]
