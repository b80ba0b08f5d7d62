"""GCP naming rules the GKE stack is checked against: project ids, locations, bucket names.

Plain data and functions (no Pulumi, no cloud calls), so ``triton_platform.config.rules.gcp`` can validate a
``gcp`` stack before any resource and the GKE components reuse the same rules.
"""

from __future__ import annotations

import re

# A GCP project id (not the project number or display name).
PROJECT_ID = r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$"
ZONE_PATTERN = r"^[a-z]+-[a-z]+\d+-[a-z]$"
REGION_PATTERN = r"^[a-z]+-[a-z]+\d+$"
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$"


def is_zone(location: str) -> bool:
    """``us-central1-a`` is a zone (zonal cluster); ``us-central1`` a region."""
    return re.fullmatch(ZONE_PATTERN, location) is not None


def region_of(location: str) -> str:
    """The region of a GKE location: ``us-central1-a`` -> ``us-central1``."""
    if is_zone(location):
        return location.rsplit("-", 1)[0]
    if re.fullmatch(REGION_PATTERN, location):
        return location
    raise ValueError(f"{location!r} is neither a GCP region (us-central1) nor a zone (us-central1-a)")


def bucket_name_issue(name: str) -> str | None:
    """Why ``name`` is not a valid GCS bucket name, or None (GCS naming rules)."""
    if not re.fullmatch(BUCKET_PATTERN, name):
        return "3-63 characters: lowercase letters, digits, '-', '_' and '.'; start and end with a letter or digit"
    if name.startswith("goog") or "google" in name or "g00gle" in name:
        return "GCS reserves names that start with 'goog' or contain 'google'"
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return "a bucket name cannot be an IP address"
    return None
