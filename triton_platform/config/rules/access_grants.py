"""Who is granted the Kubernetes API (``cluster.access``) and the AKS network a private cluster needs.

Plain checks, no Pulumi and no cloud SDK. The schema accepts an entry that is a principal of
some cloud; these rules match each entry to the chosen cloud (an IAM ARN on EKS, an Entra
object id on AKS, an IAM member on GKE: ``triton_platform.clouds.access``), naming the entry.
"""

from __future__ import annotations

from triton_platform.clouds import access
from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig

EXAMPLES = {"aws": access.EKS_EXAMPLE, "azure": access.AKS_EXAMPLE, "gcp": access.GKE_EXAMPLE}


def _entry_issues(cfg: PlatformConfig) -> list[Issue]:
    """Each entry a principal of the chosen cloud, listed once."""
    issues: list[Issue] = []
    granted = cfg.cluster.access
    seen: dict[str, str] = {}
    for level in access.LEVELS:
        for i, entry in enumerate(getattr(granted, level)):
            where = key(f"cluster.access.{level}[{i}]")
            reason = access.principal_issue(cfg.cloud, entry)
            if reason:
                issues.append(Issue(where, reason, EXAMPLES[cfg.cloud]))
            elif entry in seen:
                issues.append(Issue(where, f"{entry!r} is already listed in {seen[entry]}; list it once", None))
            seen.setdefault(entry, f"cluster.access.{level}")
    return issues


def access_grant_issues(cfg: PlatformConfig) -> list[Issue]:
    """Cross-key rules of ``cluster.access`` and ``cluster.aks.vnetSubnetId``."""
    c = cfg.cluster
    granted = c.access
    if cfg.cloud == "local":
        if granted.admins or granted.viewers:
            return [Issue(key("cluster.access"), "applies to clouds 'aws', 'gcp' and 'azure' only (kind has no IAM)")]
        return []
    issues = _entry_issues(cfg)
    if cfg.cloud == "azure" and c.aks.local_accounts and (granted.admins or granted.viewers):
        # The roles authorize through Azure RBAC, which local accounts leave off.
        issues.append(
            Issue(key("cluster.access"), "needs Entra ID and Azure RBAC; remove cluster.aks.localAccounts", None)
        )
    if cfg.cloud == "azure" and c.private_endpoint and c.aks.vnet_subnet_id is None:
        # A private API server answers inside its VNet only; an AKS-managed VNet exists only once
        # the cluster does, so `pulumi up` could never reach the cluster it just created.
        issues.append(
            Issue(
                key("cluster.aks.vnetSubnetId"),
                "privateEndpoint on AKS needs an existing subnet in a VNet the machine running `pulumi up` "
                "reaches (VPN, peering, or a runner inside it); set this key to its resource id, "
                "or turn privateEndpoint off and narrow apiAccessCidrs instead",
                "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>",
            )
        )
    return issues
