"""Rules of the ``triton`` keys against each other and the catalogue: release, service ports, namespaces."""

from __future__ import annotations

from triton_platform.catalog.versions import DEFAULT_NGC_RELEASE, NGC_RELEASES
from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig


def version_issues(cfg: PlatformConfig) -> list[Issue]:
    """``triton.version`` is an NGC release the catalogue pins images and TensorRT versions for."""
    if cfg.triton.version in NGC_RELEASES:
        return []
    return [
        Issue(
            key("triton.version"),
            f"unknown NGC release {cfg.triton.version!r}; known: {', '.join(NGC_RELEASES)}",
            repr(DEFAULT_NGC_RELEASE),
        )
    ]


def service_issues(cfg: PlatformConfig) -> list[Issue]:
    """Node ports go with a NodePort service; the three ports (and node ports) differ."""
    issues: list[Issue] = []
    svc = cfg.triton.service
    if svc.node_ports and svc.type != "NodePort":
        issues.append(Issue(key("triton.service.nodePorts"), f"needs service type 'NodePort' (is {svc.type!r})", None))
    if len({svc.http_port, svc.grpc_port, svc.metrics_port}) != 3:
        issues.append(Issue(key("triton.service"), "httpPort, grpcPort and metricsPort must differ", "8000/8001/8002"))
    if svc.node_ports and len({svc.node_ports.http, svc.node_ports.grpc, svc.node_ports.metrics}) != 3:
        issues.append(
            Issue(key("triton.service.nodePorts"), "http, grpc and metrics node ports must differ", "30800/30801/30802")
        )
    return issues


def namespace_issues(cfg: PlatformConfig) -> list[Issue]:
    """Triton and the monitoring stack live in namespaces of their own."""
    if cfg.triton.namespace != cfg.monitoring.namespace:
        return []
    return [Issue(key("monitoring.namespace"), "must differ from triton.namespace", "'monitoring'")]
