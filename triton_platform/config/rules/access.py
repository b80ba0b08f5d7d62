"""Who can reach a cluster's Kubernetes API, and how: the rules behind ``cluster.apiAccessCidrs``,
``cluster.privateEndpoint`` and ``cluster.aks``.

Plain checks, no Pulumi and no cloud SDK. ``ipv4_cidr`` validates one entry of
``apiAccessCidrs`` (the config schema calls it per item, so the error names the entry);
``access_issues`` holds the cross-key rules that depend on the cloud, each from the cloud's
own documentation (cited where they are checked).
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # config imports this module; import it back only for types
    from triton_platform.config.schema import Issue, PlatformConfig

# What the endpoint is open to when apiAccessCidrs is left out (EKS's own default, and what
# GKE and AKS do without authorized networks / authorized IP ranges).
OPEN_TO_INTERNET = "0.0.0.0/0"
CIDR_EXAMPLE = "['203.0.113.0/24']"


def ipv4_cidr(value: str) -> str:
    """One IPv4 CIDR block in canonical form, or ValueError saying what is wrong and what would do.

    IPv4 only: EKS accepts no IPv6 block for an IPv4 cluster (API reference,
    VpcConfigRequest.publicAccessCidrs), and the stacks build IPv4 clusters on every cloud.
    """
    text = value.strip()
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR block (e.g. '203.0.113.0/24')") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError(f"{value!r} is an IPv6 block; the clusters are IPv4, use an IPv4 block like '203.0.113.0/24'")
    if "/" not in text:
        raise ValueError(f"{value!r} has no prefix length; write a CIDR block, e.g. '{text}/32' for one address")
    if str(net) != text:
        raise ValueError(f"{value!r} has host bits set; the network is {str(net)!r}")
    return text


def entra_object_id(value: str) -> str:
    """An Entra ID object id (a GUID, as ``az ad group show --query id`` prints it), or ValueError."""
    if not re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", value):
        raise ValueError(f"{value!r} is not an Entra ID object id (a GUID like '00000000-0000-0000-0000-000000000000')")
    return value.lower()


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
    from triton_platform.config.schema import NAMESPACE, Issue

    def key(path: str) -> str:
        return f"{NAMESPACE}:{path}"

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
