"""The CRD schemas of the pinned Envoy Gateway chart (Gateway API v1 kinds, EnvoyProxy, SecurityPolicy).

tests/triton_platform/values/data/envoy-gateway-v1.9.0/ holds each CRD's ``openAPIV3Schema`` as the
chart ships it (SOURCE.md there says where from); ``validate`` checks one object against its kind's.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from triton_platform.catalog.versions import ENVOY_GATEWAY

SCHEMAS = (
    Path(__file__).resolve().parents[1]
    / "triton_platform"
    / "values"
    / "data"
    / f"envoy-gateway-{ENVOY_GATEWAY.version}"
)
# The served version of each kind in the pinned CRDs (the objects must use it).
API_VERSIONS = {
    "GatewayClass": "gateway.networking.k8s.io/v1",
    "Gateway": "gateway.networking.k8s.io/v1",
    "HTTPRoute": "gateway.networking.k8s.io/v1",
    "GRPCRoute": "gateway.networking.k8s.io/v1",
    "EnvoyProxy": "gateway.envoyproxy.io/v1alpha1",
    "SecurityPolicy": "gateway.envoyproxy.io/v1alpha1",
}


@cache
def schema(kind: str) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of ``kind`` in the pinned chart's CRDs."""
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{kind}.json").read_text())
    return loaded


def validate(obj: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless ``obj`` fits its kind's CRD schema at the served version."""
    kind = obj["kind"]
    assert obj["apiVersion"] == API_VERSIONS[kind], f"{kind}: {obj['apiVersion']} is not the CRD's served version"
    jsonschema.validate(obj, schema(kind))
