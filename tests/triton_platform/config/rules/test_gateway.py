"""Validation of ``triton.gateway`` (issue 18, item 1): each bad value is rejected naming its key.

Exposure goes through the Gateway only (the Triton Service stays ClusterIP), TLS has one source,
cert-manager needs the hostname it certifies, and a public Gateway needs TLS and client auth.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stacks import config_error, parse_stack, set_key

STACK = "prod"  # EKS: the Gateway gets an internal NLB by default
GW = "triton-platform:triton.gateway"
API_KEYS = {"apiKeys": {"secretName": "triton-api-keys"}}
JWT = {"jwt": {"jwksUri": "https://issuer.example.com/.well-known/jwks.json", "issuer": "https://issuer.example.com"}}


def _gateway(**keys: Any) -> Any:
    """An edit enabling the Gateway with ``keys``, Triton's Service back to ClusterIP (prod's is a LoadBalancer)."""
    gateway, cluster_ip = (
        set_key("triton.gateway", {"enabled": True, **keys}),
        set_key("triton.service.type", "ClusterIP"),
    )

    def apply(raw: dict[str, Any]) -> None:
        gateway(raw)
        cluster_ip(raw)

    return apply


def _reasons(stack: str, *edits: Any) -> dict[str, str]:
    err = config_error(stack, *edits)
    return {i.key: i.reason for i in err.issues}


def test_off_by_default_and_internal_without_auth_or_tls_is_valid() -> None:
    assert parse_stack(STACK).triton.gateway.enabled is False
    gw = parse_stack(STACK, _gateway()).triton.gateway
    assert (gw.enabled, gw.internal, gw.tls, gw.auth) == (True, True, None, None)


@pytest.mark.parametrize(
    "keys",
    [
        {"internal": False, "tls": {"secretName": "triton-tls"}, "auth": API_KEYS},
        {"internal": False, "hostname": "triton.example.com", "tls": {"certManager": {"issuer": "le"}}, "auth": JWT},
        {"tls": {"certManager": {"issuer": "internal-ca", "kind": "Issuer"}}, "hostname": "triton.corp.example"},
    ],
)
def test_valid_gateways_parse(keys: dict[str, Any]) -> None:
    assert parse_stack(STACK, _gateway(**keys)).triton.gateway.enabled


@pytest.mark.parametrize("service_type", ["LoadBalancer", "NodePort"])
def test_the_triton_service_stays_cluster_ip(service_type: str) -> None:
    reasons = _reasons(STACK, _gateway(), set_key("triton.service.type", service_type))
    reason = reasons["triton-platform:triton.service.type"]
    # Both keys named: the service type (the issue's key) and the gateway switch (in its reason).
    assert f"{GW}.enabled" in reason
    assert "ClusterIP" in reason


def test_a_public_gateway_requires_auth() -> None:
    reasons = _reasons(STACK, _gateway(internal=False, tls={"secretName": "triton-tls"}))
    assert "required when the Gateway is public" in reasons[f"{GW}.auth"]
    # An empty auth block is no auth either.
    reasons = _reasons(STACK, _gateway(internal=False, tls={"secretName": "triton-tls"}, auth={}))
    assert f"{GW}.auth" in reasons


def test_a_public_gateway_requires_tls() -> None:
    assert "needs TLS" in _reasons(STACK, _gateway(internal=False, auth=API_KEYS))[f"{GW}.tls"]


def test_auth_takes_one_method() -> None:
    reasons = _reasons(STACK, _gateway(auth={**API_KEYS, **JWT}))
    assert "not both" in reasons[f"{GW}.auth"]


@pytest.mark.parametrize("tls", [{}, {"secretName": "triton-tls", "certManager": {"issuer": "le"}}])
def test_tls_takes_exactly_one_source(tls: dict[str, Any]) -> None:
    assert "exactly one" in _reasons(STACK, _gateway(tls=tls))[f"{GW}.tls"]


def test_cert_manager_needs_the_hostname() -> None:
    assert "certManager" in _reasons(STACK, _gateway(tls={"certManager": {"issuer": "le"}}))[f"{GW}.hostname"]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("enabled", "sometimes"),
        ("internal", "maybe"),
        ("hostname", "Not A Host"),
        ("hostname", "*.example.com"),
        ("tls.secretName", "Bad_Secret"),
        ("tls.certManager.issuer", ""),
        ("tls.certManager.kind", "Vault"),
        ("auth.apiKeys.secretName", "UPPER"),
        ("auth.apiKeys.header", "x api key"),
        ("auth.jwt.jwksUri", "http://issuer.example.com/jwks.json"),
        ("auth.jwt.audiences", [f"a{i}" for i in range(9)]),
        ("listenerPort", 443),
    ],
)
def test_each_bad_key_is_named(path: str, value: Any) -> None:
    keys: dict[str, Any] = {"internal": True}
    node = keys
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    if path.startswith("auth.jwt.") and leaf != "jwksUri":
        node.setdefault("jwksUri", "https://issuer.example.com/jwks.json")
    if path.startswith("tls.certManager.") and leaf != "issuer":
        node.setdefault("issuer", "le")
    err = config_error(STACK, _gateway(**keys))
    assert any(i.key.startswith(f"{GW}.{path}") for i in err.issues), err.keys
