"""The serving edge's objects (issue 18, item 1) against the CRDs of the pinned Envoy Gateway chart.

Every object ``gateway_objects`` builds, for each shape of ``triton.gateway`` (internal or public,
no TLS, a user's Secret or cert-manager, API keys or JWT), validates against its CRD's
``openAPIV3Schema`` (tests/support/gateway_crds.py); the routes reach Triton's two ports and
nothing else; the proxies' metrics are scraped where Envoy Gateway serves them.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.support.gateway_crds import schema, validate
from triton_platform.config.schema import GatewayConfig
from triton_platform.values import gateway as gw

TARGET = gw.GatewayTarget(
    name="triton",
    namespace="triton",
    service="triton",
    http_port=8000,
    grpc_port=8001,
    service_annotations={"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"},
)
API_KEYS = {"apiKeys": {"secretName": "triton-api-keys"}}
JWT = {
    "jwt": {
        "jwksUri": "https://issuer.example.com/.well-known/jwks.json",
        "issuer": "https://issuer.example.com",
        "audiences": ["triton"],
    }
}
SHAPES: dict[str, dict[str, Any]] = {
    "internal": {},
    "internal-api-keys": {"auth": API_KEYS},
    "public-secret-api-keys": {"internal": False, "tls": {"secretName": "triton-tls"}, "auth": API_KEYS},
    "public-cert-manager-jwt": {
        "internal": False,
        "hostname": "triton.example.com",
        "tls": {"certManager": {"issuer": "letsencrypt"}},
        "auth": JWT,
    },
    "internal-issuer": {"hostname": "triton.corp.example", "tls": {"certManager": {"issuer": "ca", "kind": "Issuer"}}},
}


def _cfg(shape: str) -> GatewayConfig:
    return GatewayConfig.model_validate({"enabled": True, **SHAPES[shape]})


def _by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = {o["kind"]: o for o in objects}
    assert len(kinds) == len(objects), "one object per kind"
    return kinds


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_object_fits_the_pinned_crds(shape: str) -> None:
    objects = gw.gateway_objects(_cfg(shape), TARGET, monitored=True)
    kinds = _by_kind(objects)
    assert {"GatewayClass", "EnvoyProxy", "Gateway", "HTTPRoute", "GRPCRoute", "PodMonitor"} <= set(kinds)
    for obj in objects:
        if obj["kind"] != "PodMonitor":  # the Prometheus operator's CRD, checked below
            validate(obj)


def test_the_schemas_reject_what_the_api_server_would() -> None:
    # The check has teeth: a listener without a port, a route backend with a port out of range.
    bad_gateway = gw.gateway(_cfg("internal"), TARGET)
    del bad_gateway["spec"]["listeners"][0]["port"]
    with pytest.raises(jsonschema.ValidationError, match="'port' is a required property"):
        validate(bad_gateway)
    bad_route = gw.grpc_route(_cfg("internal"), TARGET)
    bad_route["spec"]["rules"][0]["backendRefs"][0]["port"] = 70000
    with pytest.raises(jsonschema.ValidationError):
        validate(bad_route)
    assert schema("SecurityPolicy")["properties"]["spec"]["properties"]["apiKeyAuth"]["required"] == [
        "credentialRefs",
        "extractFrom",
    ]


def test_disabled_means_no_object() -> None:
    assert gw.gateway_objects(GatewayConfig(), TARGET, monitored=True) == []


def test_routes_reach_tritons_http_and_grpc_ports_through_their_own_listener() -> None:
    kinds = _by_kind(gw.gateway_objects(_cfg("internal"), TARGET, monitored=False))
    listeners = {item["name"]: item for item in kinds["Gateway"]["spec"]["listeners"]}
    assert {n: (item["port"], item["protocol"]) for n, item in listeners.items()} == {
        "http": (8000, "HTTP"),
        "grpc": (8001, "HTTP"),
    }
    for kind, section, port in (("HTTPRoute", "http", 8000), ("GRPCRoute", "grpc", 8001)):
        spec = kinds[kind]["spec"]
        assert spec["parentRefs"] == [
            {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "triton", "sectionName": section}
        ]
        assert spec["rules"] == [{"backendRefs": [{"name": "triton", "port": port}]}]
        assert listeners[section]["allowedRoutes"]["kinds"] == [{"group": "gateway.networking.k8s.io", "kind": kind}]
    assert kinds["Gateway"]["spec"]["gatewayClassName"] == kinds["GatewayClass"]["metadata"]["name"]
    assert kinds["GatewayClass"]["spec"]["controllerName"] == gw.CONTROLLER_NAME
    assert "SecurityPolicy" not in kinds
    assert "PodMonitor" not in kinds


def test_the_proxies_service_gets_the_clouds_load_balancer_annotations() -> None:
    proxy = gw.envoy_proxy(TARGET)
    service = proxy["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service == {"type": "LoadBalancer", "annotations": dict(TARGET.service_annotations)}
    gateway = gw.gateway(_cfg("internal"), TARGET)
    assert gateway["spec"]["infrastructure"]["parametersRef"] == {
        "group": "gateway.envoyproxy.io",
        "kind": "EnvoyProxy",
        "name": proxy["metadata"]["name"],
    }
    assert proxy["metadata"]["namespace"] == gateway["metadata"]["namespace"]


def test_tls_from_a_users_secret() -> None:
    listeners = gw.gateway(_cfg("public-secret-api-keys"), TARGET)["spec"]["listeners"]
    assert [item["name"] for item in listeners] == ["http", "grpc"]
    for listener in listeners:
        assert listener["protocol"] == "HTTPS"
        assert listener["tls"] == {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "triton-tls"}]}


@pytest.mark.parametrize(
    ("shape", "annotation"),
    [("public-cert-manager-jwt", "cert-manager.io/cluster-issuer"), ("internal-issuer", "cert-manager.io/issuer")],
)
def test_tls_from_cert_manager(shape: str, annotation: str) -> None:
    cfg = _cfg(shape)
    gateway = gw.gateway(cfg, TARGET)
    assert cfg.tls is not None
    assert cfg.tls.cert_manager is not None
    assert gateway["metadata"]["annotations"] == {annotation: cfg.tls.cert_manager.issuer}
    for listener in gateway["spec"]["listeners"]:
        # cert-manager's gateway-shim writes the certificate of the listener's hostname into this Secret.
        assert listener["hostname"] == cfg.hostname
        assert listener["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "triton-tls"}]


def test_api_keys_policy_covers_the_whole_gateway() -> None:
    policy = gw.security_policy(_cfg("public-secret-api-keys"), TARGET)
    assert policy is not None
    assert policy["spec"] == {
        "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "triton"}],
        "apiKeyAuth": {
            "credentialRefs": [{"kind": "Secret", "name": "triton-api-keys"}],
            "extractFrom": [{"headers": ["x-api-key"]}],
        },
    }


def test_jwt_policy_checks_the_issuers_keys() -> None:
    policy = gw.security_policy(_cfg("public-cert-manager-jwt"), TARGET)
    assert policy is not None
    assert policy["spec"]["jwt"] == {
        "providers": [
            {
                "name": "triton-clients",
                "remoteJWKS": {"uri": "https://issuer.example.com/.well-known/jwks.json"},
                "issuer": "https://issuer.example.com",
                "audiences": ["triton"],
            }
        ]
    }


def test_pod_monitor_scrapes_this_gateways_proxies_where_envoy_serves_stats() -> None:
    monitor = gw.pod_monitor(TARGET)
    spec = monitor["spec"]
    # The labels Envoy Gateway puts on every proxy pod it creates for a Gateway, in its own namespace.
    assert spec["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "envoy",
        "app.kubernetes.io/component": "proxy",
        "gateway.envoyproxy.io/owning-gateway-name": "triton",
        "gateway.envoyproxy.io/owning-gateway-namespace": "triton",
    }
    assert monitor["metadata"]["namespace"] == gw.CONTROLLER_NAMESPACE
    assert spec["namespaceSelector"] == {"matchNames": [gw.CONTROLLER_NAMESPACE]}
    assert spec["podMetricsEndpoints"] == [{"port": "metrics", "path": "/stats/prometheus"}]


def test_chart_values_install_its_crds() -> None:
    assert gw.chart_values() == {"crds": {"enabled": True}}
