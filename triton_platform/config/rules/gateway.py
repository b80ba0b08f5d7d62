"""Rules of ``triton.gateway``: exposure only through the Gateway, one TLS source, auth when public."""

from __future__ import annotations

from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import GatewayConfig, PlatformConfig

GATEWAY = "triton.gateway"


def _tls_issues(gw: GatewayConfig) -> list[Issue]:
    tls = gw.tls
    if tls is None:
        if not gw.internal:
            # Client credentials must not cross the internet in clear text.
            return [
                Issue(key(f"{GATEWAY}.tls"), "a public Gateway (internal: false) needs TLS", "secretName: triton-tls")
            ]
        return []
    if (tls.secret_name is None) == (tls.cert_manager is None):
        return [Issue(key(f"{GATEWAY}.tls"), "set exactly one of secretName or certManager", "secretName: triton-tls")]
    if tls.cert_manager is not None and not gw.hostname:
        # cert-manager's gateway-shim issues a certificate for the listeners' hostname only.
        return [
            Issue(
                key(f"{GATEWAY}.hostname"), "needed by tls.certManager (the certificate's name)", "triton.example.com"
            )
        ]
    return []


def _auth_issues(gw: GatewayConfig) -> list[Issue]:
    auth = gw.auth
    if auth is None or (auth.api_keys is None and auth.jwt is None):
        if gw.internal:
            return []
        return [
            Issue(
                key(f"{GATEWAY}.auth"),
                "required when the Gateway is public (internal: false): apiKeys or jwt",
                "apiKeys: {secretName: triton-api-keys}",
            )
        ]
    if auth.api_keys is not None and auth.jwt is not None:
        return [
            Issue(
                key(f"{GATEWAY}.auth"), "set one of apiKeys or jwt, not both", "apiKeys: {secretName: triton-api-keys}"
            )
        ]
    return []


def gateway_issues(cfg: PlatformConfig) -> list[Issue]:
    """With ``triton.gateway.enabled`` the Triton Service stays ClusterIP; TLS and auth are consistent."""
    gw = cfg.triton.gateway
    if not gw.enabled:
        return []
    issues: list[Issue] = []
    svc_type = cfg.triton.service.type
    if svc_type != "ClusterIP":
        issues.append(
            Issue(
                key("triton.service.type"),
                f"must be ClusterIP when {key(GATEWAY + '.enabled')} is true (is {svc_type!r}): "
                "exposure goes through the Gateway only",
                "ClusterIP",
            )
        )
    return issues + _tls_issues(gw) + _auth_issues(gw)
