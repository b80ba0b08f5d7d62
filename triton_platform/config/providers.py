"""The cloud providers' own stack settings as defaults for ``cluster.region/location/project``.

A Pulumi user sets ``aws:region``, ``gcp:project``, ``gcp:region`` / ``gcp:zone`` or
``azure-native:location`` once per stack (``pulumi config set aws:region us-east-1``); these are
the documented configuration keys of the providers:

- https://www.pulumi.com/registry/packages/aws/installation-configuration/ (``aws:region``)
- https://www.pulumi.com/registry/packages/gcp/installation-configuration/ (``gcp:project``,
  ``gcp:region``, ``gcp:zone``)
- https://www.pulumi.com/registry/packages/azure-native/installation-configuration/
  (``azure-native:location``)

Our compositions create explicit providers, which do not read those keys themselves, so the
values are folded into the typed config here: a key of ours left out takes the provider's, and
a stack that sets both to different values gets one clear error before any resource.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from triton_platform.clouds.gcp import REGION_PATTERN, ZONE_PATTERN

PROVIDER_KEYS = ("aws:region", "gcp:project", "gcp:region", "gcp:zone", "azure-native:location")


def _region_of(location: str) -> str | None:
    if re.fullmatch(ZONE_PATTERN, location):
        return location.rsplit("-", 1)[0]
    if re.fullmatch(REGION_PATTERN, location):
        return location
    return None


def _azure_location(value: str) -> str:
    # Azure accepts display names too ("West Europe"); ARM compares them case- and space-insensitively.
    return value.replace(" ", "").lower()


def _gcp_location(cluster: dict[str, Any], provider_config: Mapping[str, str]) -> list[tuple[str, str, str | None]]:
    """Fill ``location`` from ``gcp:zone`` / ``gcp:region`` (in place), or the ways it disagrees with them."""
    zone, region = provider_config.get("gcp:zone"), provider_config.get("gcp:region")
    location = cluster.get("location")
    if location is None:
        # A zone makes a zonal cluster (one control-plane zone); otherwise a regional one.
        if zone or region:
            cluster["location"] = zone or region
        return []
    if not isinstance(location, str):
        return []  # the schema reports a location that is not a string
    mine_region = _region_of(location)
    is_zone = mine_region is not None and mine_region != location
    # gcp:region: the cluster must lie in that region. gcp:zone: a zonal cluster must be
    # in that zone, a regional one in the zone's region.
    agrees = {
        "gcp:region": lambda v: mine_region == v,
        "gcp:zone": lambda v: location == v if is_zone else mine_region == _region_of(v),
    }
    return [
        (
            "cluster.location",
            f"{location!r} does not agree with the provider setting {key} = {value!r}; "
            "set one of them, or make them agree",
            repr(value),
        )
        for key, value in (("gcp:region", region), ("gcp:zone", zone))
        if value and mine_region is not None and not agrees[key](value)
    ]


def apply_provider_defaults(
    raw: Mapping[str, Any], provider_config: Mapping[str, str]
) -> tuple[dict[str, Any], list[tuple[str, str, str | None]]]:
    """``raw`` with cluster region/location/project filled from the providers' keys, and conflicts.

    Returns the new raw config and a list of ``(key, reason, example)`` for every key of ours
    that contradicts its provider's key. Only the chosen cloud's provider keys are read.
    """
    data = dict(raw)
    cluster_raw = data.get("cluster")
    if not isinstance(cluster_raw, Mapping):
        return data, []
    cluster = dict(cluster_raw)
    problems: list[tuple[str, str, str | None]] = []
    cloud = data.get("cloud")

    def take(ours: str, theirs: str, equal: Any = None) -> None:
        value = provider_config.get(theirs)
        if not value:
            return
        mine = cluster.get(ours)
        if mine is None:
            cluster[ours] = value
        elif not (equal(mine, value) if equal else mine == value):
            problems.append(
                (
                    f"cluster.{ours}",
                    f"{mine!r} differs from the provider setting {theirs} = {value!r}; set one of them, "
                    "or make them equal",
                    repr(value),
                )
            )

    if cloud == "aws":
        take("region", "aws:region")
    elif cloud == "gcp":
        take("project", "gcp:project")
        problems += _gcp_location(cluster, provider_config)
    elif cloud == "azure":
        take("location", "azure-native:location", lambda a, b: _azure_location(str(a)) == _azure_location(str(b)))
    data["cluster"] = cluster
    return data, problems
