"""The preview-time check that the cloud offers ``cluster.kubernetesVersion`` where the stack deploys.

A minor the cloud no longer creates (EKS past extended support, GKE off its release channels)
passes every local rule and fails only at the cluster, minutes into ``pulumi up``. So the program
asks the cloud first, through the providers' own functions, and refuses such a minor like bad
configuration: a ``ConfigError`` naming the key and the minors on offer, raised from the
``pulumi.run`` entrypoint before any resource is registered (as ``stacks.release`` does for a
pinned release). A function invoke registers nothing: it needs no provider resource, and the
region (EKS) or project and location (GKE) travel as its arguments.

- EKS: ``aws.eks.get_cluster_versions`` (DescribeClusterVersions; pulumi_aws 7.x result
  ``cluster_versions``: [{``cluster_version``, ``version_status``, ``end_of_standard_support_date``,
  ...}]). A cluster can be created on a version in STANDARD_SUPPORT or EXTENDED_SUPPORT (the
  latter costs extra per cluster hour: a warning), not on an UNSUPPORTED one.
- GKE: ``gcp.container.get_engine_versions`` (GetServerConfig: ``valid_master_versions``, newest
  first, and per channel ``release_channel_latest_version``). The stack's cluster is enrolled in
  a release channel (components/gcp/gke_cluster.py, REGULAR), which offers the valid minors up to
  its latest version. No ``version_prefix``: the error lists every minor on offer.
- AKS: azure-native (3.x) has no function for a location's Kubernetes versions, so the program
  asks ARM itself, as ``az aks get-versions`` does: "Managed Clusters - List Kubernetes Versions"
  (GET .../subscriptions/{id}/providers/Microsoft.ContainerService/locations/{location}/kubernetesVersions,
  https://learn.microsoft.com/rest/api/aks/managed-clusters/list-kubernetes-versions?view=rest-aks-2025-10-01),
  with the subscription of azure-native's ``authorization.get_client_config`` and a token of
  the publisher's Azure login (``stores.credentials.azure_credential``). Its ``values[]``
  {``version``, ``isPreview``, ``isDefault``, ``capabilities.supportPlan``, ``patchVersions``}: a
  Standard-tier cluster (components/azure/aks_cluster.py) can be created on a minor that is not in
  preview and whose supportPlan includes ``KubernetesOfficial``; a minor offered only with
  ``AKSLongTermSupport`` needs the Premium tier. A failed request is a ``pulumi.RunError`` saying
  what could not be asked and why, not a traceback.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pulumi

from triton_platform.config import ConfigError, Issue, PlatformConfig
from triton_platform.config.errors import key
from triton_platform.publisher.stores.credentials import azure_credential

KEY = "cluster.kubernetesVersion"
# DescribeClusterVersions' versionStatus values a new cluster may have (the EKS API reference,
# ClusterVersionInformation.versionStatus: UNSUPPORTED | STANDARD_SUPPORT | EXTENDED_SUPPORT).
EKS_CREATABLE = ("STANDARD_SUPPORT", "EXTENDED_SUPPORT")
# Azure Resource Manager (the public cloud) and the GA api-version of List Kubernetes Versions.
ARM_ENDPOINT = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"
AKS_API_VERSION = "2025-10-01"
ARM_TIMEOUT_SECONDS = 30
# KubernetesVersionCapabilities.supportPlan: the plan every tier gets, and the one only Premium buys.
AKS_COMMUNITY_PLAN = "KubernetesOfficial"
AKS_LTS_PLAN = "AKSLongTermSupport"


def minor_of(version: str) -> str:
    """``1.35.2-gke.1068000`` or ``1.35.2`` -> ``1.35``."""
    return ".".join(version.split("-")[0].split(".")[:2])


def _minor_key(minor: str) -> tuple[int, ...]:
    return tuple(int(part) for part in minor.split("."))


def eks_offered(cluster_versions: Iterable[Any]) -> dict[str, str]:
    """EKS minors a cluster can be created on -> their support status."""
    return {
        str(v.cluster_version): str(v.version_status)
        for v in cluster_versions
        if str(v.version_status) in EKS_CREATABLE
    }


def gke_offered(valid_master_versions: Sequence[str], channel_latest: Mapping[str, str], channel: str) -> list[str]:
    """GKE minors a cluster enrolled in ``channel`` can start at: valid ones up to the channel's latest."""
    latest = channel_latest.get(channel)
    ceiling = _minor_key(minor_of(latest)) if latest else None
    minors = {minor_of(v) for v in valid_master_versions}
    return sorted((m for m in minors if ceiling is None or _minor_key(m) <= ceiling), key=_minor_key)


def aks_offered(values: Iterable[Mapping[str, Any]], tier: str) -> dict[str, str]:
    """AKS minors of a kubernetesVersions listing -> ``"offered"``, ``"preview"`` or ``"Premium tier"``."""
    found = {}
    for entry in values:
        plans = (entry.get("capabilities") or {}).get("supportPlan") or []
        if entry.get("isPreview"):
            found[str(entry["version"])] = "preview"
        elif AKS_COMMUNITY_PLAN in plans or (tier == "Premium" and AKS_LTS_PLAN in plans):
            found[str(entry["version"])] = "offered"
        elif AKS_LTS_PLAN in plans:
            found[str(entry["version"])] = "Premium tier"
    return found


def _refusal(cfg: PlatformConfig, where: str, offered: Sequence[str], detail: str = "") -> ConfigError:
    on_offer = ", ".join(offered) or "none"
    example = repr(max(offered, key=_minor_key)) if offered else None
    cloud = {"aws": "EKS", "gcp": "GKE", "azure": "AKS"}.get(cfg.cloud, cfg.cloud)
    v = cfg.cluster.kubernetes_version
    why = f"{cloud} does not offer Kubernetes {v} in {where}{detail}; on offer: {on_offer}"
    return ConfigError([Issue(key(KEY), why, example)], pulumi.get_stack())


async def _eks(cfg: PlatformConfig) -> None:
    import pulumi_aws as aws  # only an AWS stack loads the AWS SDK

    region = cfg.cluster.region
    result = await aws.eks.get_cluster_versions_output(region=region).future()
    offered = eks_offered(result.cluster_versions if result is not None else [])
    wanted = minor_of(cfg.cluster.kubernetes_version)
    if wanted not in offered:
        raise _refusal(cfg, f"region {region}", sorted(offered, key=_minor_key))
    if offered[wanted] == "EXTENDED_SUPPORT":
        standard = sorted((m for m, s in offered.items() if s == "STANDARD_SUPPORT"), key=_minor_key)
        pulumi.log.warn(
            f"{key(KEY)}: EKS {wanted} is in extended support (billed per cluster hour); "
            f"in standard support: {', '.join(standard)}"
        )


async def _gke(cfg: PlatformConfig) -> None:
    import pulumi_gcp as gcp  # only a GCP stack loads the GCP SDK

    from components.gcp.gke_cluster import GkeClusterArgs

    channel = str(GkeClusterArgs.model_fields["release_channel"].default)
    location = cfg.cluster.location
    result = await gcp.container.get_engine_versions_output(location=location, project=cfg.cluster.project).future()
    valid = list(result.valid_master_versions) if result is not None else []
    latest = dict(result.release_channel_latest_version) if result is not None else {}
    offered = gke_offered(valid, latest, channel)
    if minor_of(cfg.cluster.kubernetes_version) not in offered:
        raise _refusal(cfg, f"{location} ({channel} release channel)", offered)


def _arm_failure(what: str, url: str, cause: str) -> pulumi.RunError:
    return pulumi.RunError(
        f"{key(KEY)}: could not ask Azure which Kubernetes versions AKS offers ({what}: {cause}; GET {url}). "
        "Log in with an identity that can read the subscription (`az login`, or the ARM_*/AZURE_* "
        "workload identity variables in CI) and run the preview again."
    )


def _arm_error(err: urllib.error.HTTPError) -> str:
    """``HTTP 403 AuthorizationFailed: <message>`` from ARM's ErrorResponse ``{"error": {code, message}}``."""
    try:
        error = json.loads(err.read().decode() or "{}").get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    detail = ": ".join(str(error[k]) for k in ("code", "message") if error.get(k))
    return f"HTTP {err.code} {detail or err.reason}"


def aks_versions(subscription_id: str, location: str) -> list[dict[str, Any]]:
    """The location's ``values[]`` of List Kubernetes Versions (blocking: run it in a thread)."""
    from azure.core.exceptions import ClientAuthenticationError

    url = (
        f"{ARM_ENDPOINT}/subscriptions/{subscription_id}/providers/Microsoft.ContainerService"
        f"/locations/{location}/kubernetesVersions?api-version={AKS_API_VERSION}"
    )
    # The publisher's login, created per call (nothing logs in at import time): on a GitHub runner a
    # credential re-federated from the Actions token, elsewhere DefaultAzureCredential.
    credential = azure_credential()
    try:
        token = credential.get_token(ARM_SCOPE).token
    except ClientAuthenticationError as err:
        raise _arm_failure("no Azure token", url, str(err).splitlines()[0]) from None
    finally:
        credential.close()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - ARM_ENDPOINT, https (a loopback in tests)
    try:
        with urllib.request.urlopen(request, timeout=ARM_TIMEOUT_SECONDS) as response:  # noqa: S310
            values = json.loads(response.read()).get("values")
    except urllib.error.HTTPError as err:
        raise _arm_failure("Azure Resource Manager refused", url, _arm_error(err)) from None
    except (OSError, ValueError, AttributeError) as err:  # unreachable, timed out, or not the documented JSON
        raise _arm_failure("no answer from Azure Resource Manager", url, repr(err)) from None
    return list(values or [])


async def _aks(cfg: PlatformConfig) -> None:
    import pulumi_azure_native as azure  # only an Azure stack loads the Azure SDK

    from components.azure.aks_cluster import AksClusterArgs

    tier = str(AksClusterArgs.model_fields["sku_tier"].default)
    location = str(cfg.cluster.location)
    client = await azure.authorization.get_client_config_output().future()
    subscription = str(client.subscription_id) if client is not None else ""
    # Off the event loop: the token and the request block.
    listed = aks_offered(await asyncio.to_thread(aks_versions, subscription, location), tier)
    offered = sorted((m for m, s in listed.items() if s == "offered"), key=_minor_key)
    status = listed.get(minor_of(cfg.cluster.kubernetes_version))
    if status == "Premium tier":
        lts = f" to a {tier}-tier cluster: only with long-term support ({AKS_LTS_PLAN}), which needs the Premium tier"
        raise _refusal(cfg, location, offered, lts)
    if status != "offered":
        raise _refusal(cfg, location, offered, " outside preview" if status == "preview" else "")


async def check_kubernetes_version(cfg: PlatformConfig) -> None:
    """Raise ConfigError when the cloud does not offer ``cluster.kubernetesVersion`` where the stack deploys."""
    if cfg.cloud == "aws":
        await _eks(cfg)
    elif cfg.cloud == "gcp":
        await _gke(cfg)
    elif cfg.cloud == "azure":
        await _aks(cfg)
