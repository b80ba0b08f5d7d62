"""The serving edge at layer 7 (``triton.gateway``): Envoy Gateway's chart values and the objects
the stack applies with it: a GatewayClass, an EnvoyProxy (the proxies' Service), a Gateway with
one listener per Triton protocol, an HTTPRoute and a GRPCRoute to the Triton Service, the
SecurityPolicy that authenticates clients, and the PodMonitor that scrapes the proxies.

Why a Gateway: kube-proxy balances connections, and a gRPC client keeps its one HTTP/2 connection
to one pod (triton-inference-server/server#6177); Envoy balances requests across the Service's
endpoints. Plain dicts, validated in the tests against the CRDs of the pinned chart
(``triton_platform.catalog.versions.ENVOY_GATEWAY``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from triton_platform.config.schema import GatewayConfig

GATEWAY_API = "gateway.networking.k8s.io/v1"
GATEWAY_GROUP = "gateway.networking.k8s.io"
ENVOY_GATEWAY_API = "gateway.envoyproxy.io/v1alpha1"
# The controller of the chart's own GatewayClass (examples/kubernetes/quickstart.yaml@v1.9.0).
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
# Where the chart installs the controller; the proxies it creates live there too (not the Gateway's namespace).
CONTROLLER_NAMESPACE = "envoy-gateway-system"
GATEWAY_CLASS = "triton-envoy"
# What Envoy Gateway labels every proxy pod with (internal/infrastructure/kubernetes/proxy/resource.go
# EnvoyAppLabel, and gatewayapi OwningGateway*Label), and the port that serves Envoy's
# /stats/prometheus (container port "metrics", 19001: site/.../boilerplates/open-ports.md).
PROXY_LABELS = {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy"}
OWNING_GATEWAY_NAME = "gateway.envoyproxy.io/owning-gateway-name"
OWNING_GATEWAY_NAMESPACE = "gateway.envoyproxy.io/owning-gateway-namespace"
PROXY_METRICS_PORT = "metrics"
PROXY_METRICS_PATH = "/stats/prometheus"
# cert-manager's gateway-shim reads these on a Gateway and fills the listeners' certificateRefs Secret.
CERT_MANAGER_ANNOTATION = {"Issuer": "cert-manager.io/issuer", "ClusterIssuer": "cert-manager.io/cluster-issuer"}
API_KEY_HEADER = "x-api-key"
# The Gateway's name unless the stack names it (components.serving.gateway.ServingGatewayArgs).
DEFAULT_GATEWAY_NAME = "triton"


@dataclass(frozen=True)
class GatewayTarget:
    """Where the Gateway lives and what it routes to: Triton's Service and its two ports."""

    name: str
    namespace: str
    service: str
    http_port: int
    grpc_port: int
    # The cloud's load-balancer annotations for the proxies' Service, internal or public as
    # ``triton.gateway.internal`` says: what the stacks compute for a LoadBalancer Service.
    service_annotations: Mapping[str, str] = field(default_factory=dict)
    # triton.rollout.strategy canary: each route splits between the chart's ``<service>-stable`` and
    # ``<service>-canary`` Services (templates/service-canary.yaml), whose weights Argo Rollouts'
    # Gateway API plugin moves (100/0 while no canary runs).
    canary: bool = False


def route_name(gateway_name: str, section: str) -> str:
    """The name of the Gateway's route for ``section`` (``http``, ``grpc``): what the Rollout names."""
    return f"{gateway_name}-{section}"


def backend_refs(target: GatewayTarget, port: int) -> list[dict[str, Any]]:
    """A route's backends: Triton's Service, or its stable and canary Services under a canary strategy."""
    if not target.canary:
        return [{"name": target.service, "port": port}]
    return [
        {"name": f"{target.service}-stable", "port": port, "weight": 100},
        {"name": f"{target.service}-canary", "port": port, "weight": 0},
    ]


def chart_values() -> dict[str, Any]:
    """Values of the ``gateway-helm`` chart: its CRDs and the controller, nothing beyond its defaults."""
    return {"crds": {"enabled": True}}


def _meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, **extra}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def gateway_class() -> dict[str, Any]:
    """The GatewayClass served by Envoy Gateway (cluster-scoped)."""
    return {
        "apiVersion": GATEWAY_API,
        "kind": "GatewayClass",
        "metadata": _meta(GATEWAY_CLASS),
        "spec": {"controllerName": CONTROLLER_NAME},
    }


def envoy_proxy(target: GatewayTarget) -> dict[str, Any]:
    """The EnvoyProxy the Gateway points at: its Service, a LoadBalancer with the cloud's annotations."""
    service: dict[str, Any] = {"type": "LoadBalancer"}
    if target.service_annotations:
        service["annotations"] = dict(target.service_annotations)
    return {
        "apiVersion": ENVOY_GATEWAY_API,
        "kind": "EnvoyProxy",
        "metadata": _meta(target.name, target.namespace),
        "spec": {"provider": {"type": "Kubernetes", "kubernetes": {"envoyService": service}}},
    }


def tls_secret_name(cfg: GatewayConfig, target: GatewayTarget) -> str | None:
    """The Secret holding the listeners' certificate: the user's, or the one cert-manager fills; None: no TLS."""
    if cfg.tls is None:
        return None
    return cfg.tls.secret_name or f"{target.name}-tls"


def _listener(name: str, port: int, route_kind: str, cfg: GatewayConfig, secret: str | None) -> dict[str, Any]:
    listener: dict[str, Any] = {
        "name": name,
        "port": port,
        "protocol": "HTTPS" if secret else "HTTP",
        # Only this listener's protocol attaches: HTTP routes to Triton's HTTP port, gRPC to its gRPC port.
        "allowedRoutes": {"namespaces": {"from": "Same"}, "kinds": [{"group": GATEWAY_GROUP, "kind": route_kind}]},
    }
    if cfg.hostname:
        listener["hostname"] = cfg.hostname
    if secret:
        listener["tls"] = {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": secret}]}
    return listener


def gateway(cfg: GatewayConfig, target: GatewayTarget) -> dict[str, Any]:
    """The Gateway: listeners on Triton's own HTTP and gRPC ports, TLS when configured."""
    secret = tls_secret_name(cfg, target)
    annotations: dict[str, str] = {}
    if cfg.tls is not None and cfg.tls.cert_manager is not None:
        cm = cfg.tls.cert_manager
        annotations[CERT_MANAGER_ANNOTATION[cm.kind]] = cm.issuer
    meta = _meta(target.name, target.namespace, **({"annotations": annotations} if annotations else {}))
    return {
        "apiVersion": GATEWAY_API,
        "kind": "Gateway",
        "metadata": meta,
        "spec": {
            "gatewayClassName": GATEWAY_CLASS,
            "infrastructure": {
                "parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": target.name}
            },
            "listeners": [
                _listener("http", target.http_port, "HTTPRoute", cfg, secret),
                _listener("grpc", target.grpc_port, "GRPCRoute", cfg, secret),
            ],
        },
    }


def _route(kind: str, section: str, port: int, cfg: GatewayConfig, target: GatewayTarget) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "parentRefs": [{"group": GATEWAY_GROUP, "kind": "Gateway", "name": target.name, "sectionName": section}],
        "rules": [{"backendRefs": backend_refs(target, port)}],
    }
    if cfg.hostname:
        spec["hostnames"] = [cfg.hostname]
    return {
        "apiVersion": GATEWAY_API,
        "kind": kind,
        "metadata": _meta(route_name(target.name, section), target.namespace),
        "spec": spec,
    }


def http_route(cfg: GatewayConfig, target: GatewayTarget) -> dict[str, Any]:
    """Every HTTP request (KServe v2 REST) to Triton's HTTP port."""
    return _route("HTTPRoute", "http", target.http_port, cfg, target)


def grpc_route(cfg: GatewayConfig, target: GatewayTarget) -> dict[str, Any]:
    """Every gRPC call to Triton's gRPC port, balanced per request over the Service's endpoints."""
    return _route("GRPCRoute", "grpc", target.grpc_port, cfg, target)


def security_policy(cfg: GatewayConfig, target: GatewayTarget) -> dict[str, Any] | None:
    """Client authentication on the whole Gateway (API keys from a Secret, or JWTs); None without ``auth``."""
    auth = cfg.auth
    if auth is None or (auth.api_keys is None and auth.jwt is None):
        return None
    spec: dict[str, Any] = {"targetRefs": [{"group": GATEWAY_GROUP, "kind": "Gateway", "name": target.name}]}
    if auth.api_keys is not None:
        spec["apiKeyAuth"] = {
            "credentialRefs": [{"kind": "Secret", "name": auth.api_keys.secret_name}],
            "extractFrom": [{"headers": [auth.api_keys.header]}],
        }
    if auth.jwt is not None:
        provider: dict[str, Any] = {"name": "triton-clients", "remoteJWKS": {"uri": auth.jwt.jwks_uri}}
        if auth.jwt.issuer:
            provider["issuer"] = auth.jwt.issuer
        if auth.jwt.audiences:
            provider["audiences"] = list(auth.jwt.audiences)
        spec["jwt"] = {"providers": [provider]}
    return {
        "apiVersion": ENVOY_GATEWAY_API,
        "kind": "SecurityPolicy",
        "metadata": _meta(target.name, target.namespace),
        "spec": spec,
    }


def pod_monitor(target: GatewayTarget) -> dict[str, Any]:
    """The PodMonitor of this Gateway's proxies: Envoy's per-route request and status-code counters."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": _meta(f"{target.name}-envoy", CONTROLLER_NAMESPACE),
        "spec": {
            "selector": {
                "matchLabels": {
                    **PROXY_LABELS,
                    OWNING_GATEWAY_NAME: target.name,
                    OWNING_GATEWAY_NAMESPACE: target.namespace,
                }
            },
            "namespaceSelector": {"matchNames": [CONTROLLER_NAMESPACE]},
            "podMetricsEndpoints": [{"port": PROXY_METRICS_PORT, "path": PROXY_METRICS_PATH}],
        },
    }


def gateway_objects(cfg: GatewayConfig, target: GatewayTarget, *, monitored: bool) -> list[dict[str, Any]]:
    """Every object the stack applies for ``cfg`` (after the chart), in order; [] when the gateway is off."""
    if not cfg.enabled:
        return []
    objects = [gateway_class(), envoy_proxy(target), gateway(cfg, target)]
    objects += [http_route(cfg, target), grpc_route(cfg, target)]
    policy = security_policy(cfg, target)
    if policy is not None:
        objects.append(policy)
    if monitored:
        objects.append(pod_monitor(target))
    return objects
