"""Who can reach a cluster's Kubernetes API, and how: the rules behind ``cluster.apiAccessCidrs``,
``cluster.privateEndpoint`` and ``cluster.aks``.

Plain checks, no Pulumi and no cloud SDK. ``access_issues`` holds the cross-key rules that
depend on the cloud, each from the cloud's own documentation (cited where they are checked);
``is_open_to_internet`` / ``open_endpoint_warning`` are what the cluster components warn with.
One entry of ``apiAccessCidrs`` is checked by the schema itself (``schema.ipv4_cidr``), so the
error names the entry.
"""

from __future__ import annotations

from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig

# What the endpoint is open to when apiAccessCidrs is left out (EKS's own default, and what
# GKE and AKS do without authorized networks / authorized IP ranges).
OPEN_TO_INTERNET = "0.0.0.0/0"
CIDR_EXAMPLE = "['203.0.113.0/24']"


def is_open_to_internet(cidrs: list[str] | None) -> bool:
    """Whether a public endpoint with these allowed CIDRs answers the whole internet."""
    return not cidrs or OPEN_TO_INTERNET in cidrs


def open_endpoint_warning(cluster: str) -> str:
    """The warning a stack logs when its cluster's public API endpoint is open to the internet."""
    return (
        f"the Kubernetes API endpoint of cluster {cluster!r} is reachable from any address (0.0.0.0/0); "
        "authentication still applies. Narrow it with triton-platform:cluster.apiAccessCidrs "
        f"(e.g. {CIDR_EXAMPLE}) or make it private with triton-platform:cluster.privateEndpoint: true"
    )


def access_issues(cfg: PlatformConfig) -> list[Issue]:
    """Cross-key rules of ``cluster.apiAccessCidrs``, ``cluster.privateEndpoint`` and ``cluster.aks``."""
    issues: list[Issue] = []
    c = cfg.cluster
    if cfg.cloud == "local":
        for name, is_set in (
            ("apiAccessCidrs", c.api_access_cidrs is not None),
            ("privateEndpoint", c.private_endpoint),
        ):
            if is_set:
                issues.append(Issue(key(f"cluster.{name}"), "applies to clouds 'aws', 'gcp' and 'azure' only", None))
    # With privateEndpoint, EKS turns the CIDRs into HTTPS rules on the cluster security group
    # (the private endpoint's) and GKE enforces authorized networks on the private endpoint.
    # AKS: "You can't use this feature [API server authorized IP ranges] with private
    # clusters." (learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges)
    if cfg.cloud == "azure" and c.private_endpoint and c.api_access_cidrs is not None:
        issues.append(
            Issue(
                key("cluster.apiAccessCidrs"),
                "AKS does not combine API server authorized IP ranges with a private cluster "
                "(privateEndpoint); remove one of the two keys",
                None,
            )
        )
    if cfg.cloud != "azure" and "aks" in c.model_fields_set:
        issues.append(Issue(key("cluster.aks"), "AKS options apply to cloud 'azure' only", None))
    return issues
