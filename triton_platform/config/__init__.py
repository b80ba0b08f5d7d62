"""The typed stack configuration: schema, errors, loading, provider defaults and the rules per area and cloud.

The public API, re-exported here for the layers above (values, release, components, stacks):

- ``schema``: ``PlatformConfig`` and its parts, ``NAMESPACE`` and the patterns keys are checked against;
- ``errors``: ``ConfigError`` (every problem at once) made of ``Issue`` (key, why, example);
- ``loading``: ``parse_config`` (a plain dict) and ``load_config`` (the current Pulumi stack);
- ``rules``: the cross-key rules; ``rules.access`` also tells the cluster components when their
  API endpoint is open to the internet;
- ``stack_file``: a ``Pulumi.<stack>.yaml`` read as the Pulumi CLI hands it over, checked by
  ``python -m triton_platform.config Pulumi.<stack>.yaml [...]`` (``__main__``) without Pulumi.

Inside: ``structure`` (the schema pass, keeping the valid parts so the rules still run on them)
and ``explain`` (the schema's errors in the user's words).

Modules inside this package import their siblings directly, never this ``__init__``.
"""

from triton_platform.config.errors import ConfigError, Issue
from triton_platform.config.loading import load_config, parse_config
from triton_platform.config.rules.access import is_open_to_internet, open_endpoint_warning
from triton_platform.config.schema import (
    MIG_CONFIG_PATTERN,
    NAMESPACE,
    STACK_REF_PATTERN,
    AlertsConfig,
    AutoscalingConfig,
    ClusterConfig,
    GpuConfig,
    GpuNodePool,
    LoadTestConfig,
    ModelRepositoryConfig,
    MonitoringConfig,
    NodePorts,
    PlatformConfig,
    PublisherConfig,
    ReleaseConfig,
    ServiceConfig,
    SystemNodePool,
    TritonConfig,
    entra_object_id,
    ipv4_cidr,
)

__all__ = [
    "MIG_CONFIG_PATTERN",
    "NAMESPACE",
    "STACK_REF_PATTERN",
    "AlertsConfig",
    "AutoscalingConfig",
    "ClusterConfig",
    "ConfigError",
    "GpuConfig",
    "GpuNodePool",
    "Issue",
    "LoadTestConfig",
    "ModelRepositoryConfig",
    "MonitoringConfig",
    "NodePorts",
    "PlatformConfig",
    "PublisherConfig",
    "ReleaseConfig",
    "ServiceConfig",
    "SystemNodePool",
    "TritonConfig",
    "entra_object_id",
    "ipv4_cidr",
    "is_open_to_internet",
    "load_config",
    "open_endpoint_warning",
    "parse_config",
]
