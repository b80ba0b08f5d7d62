"""``cluster.kubernetesVersion`` against what the cloud offers, under Pulumi's mock runtime (issue 15, item 1).

The providers' functions answer with results shaped as the clouds return them:

- EKS ``aws:eks/getClusterVersions:getClusterVersions`` is DescribeClusterVersions
  (https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeClusterVersions.html): a list
  ``clusterVersions`` of ClusterVersionInformation {clusterVersion, clusterType,
  defaultPlatformVersion, defaultVersion, releaseDate, endOfStandardSupportDate,
  endOfExtendedSupportDate, versionStatus, kubernetesPatchVersion}; without ``includeAll`` only
  the versions in standard or extended support. The dates are those of the EKS release calendar
  (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html) on 2026-12-06.
- GKE ``gcp:container/getEngineVersions:getEngineVersions`` is projects.locations.getServerConfig
  (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/ServerConfig):
  ``validMasterVersions`` newest first, and the provider's per-channel maps
  ``releaseChannelDefaultVersion`` / ``releaseChannelLatestVersion`` (a channel's ``validVersions[0]``)
  / ``releaseChannelUpgradeTargetVersion``.
- AKS has no provider function: the program asks ARM's "Managed Clusters - List Kubernetes
  Versions" (https://learn.microsoft.com/rest/api/aks/managed-clusters/list-kubernetes-versions?view=rest-aks-2025-10-01,
  api-version 2025-10-01), served here by a loopback server (``arm``, integration) answering its
  KubernetesVersionListResult ``values[]`` {version, isDefault, isPreview,
  capabilities.supportPlan [KubernetesOfficial | AKSLongTermSupport], patchVersions {<patch>:
  {upgrades}}}, and errors as its ErrorResponse ``{"error": {code, message}}``; the subscription
  comes from the mocks' ``azure-native:authorization:getClientConfig``, the token from a fake
  ``DefaultAzureCredential``.

A stack pinned to a minor not on offer is refused, naming the key and what is on offer, and the
real program (``__main__.py``, run as the language host runs it) registers no resource.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import azure.identity
import pulumi
import pytest
from azure.core.credentials import AccessToken
from azure.identity import CredentialUnavailableError

from stacks import build_stack, versions
from stacks.versions import aks_offered, check_kubernetes_version, gke_offered, minor_of
from tests.support import integration
from tests.support.pulumi_mocks import RecordingMocks
from tests.support.stacks import REPO, set_pulumi_config, stack_config
from tests.test_main import LanguageHost
from triton_platform.catalog.versions import DEFAULT_KUBERNETES_VERSION
from triton_platform.config import ConfigError, PlatformConfig, parse_config

EKS_VERSIONS = "aws:eks/getClusterVersions:getClusterVersions"
GKE_VERSIONS = "gcp:container/getEngineVersions:getEngineVersions"
KEY = "triton-platform:cluster.kubernetesVersion"


def _eks_version(minor: str, patch: str, status: str, released: str, standard: str, extended: str) -> dict[str, Any]:
    return {
        "clusterVersion": minor,
        "clusterType": "eks",
        "defaultPlatformVersion": "eks.5",
        "defaultVersion": minor == "1.35",
        "releaseDate": released,
        "endOfStandardSupportDate": standard,
        "endOfExtendedSupportDate": extended,
        "versionStatus": status,
        "kubernetesPatchVersion": f"{minor}.{patch}",
        "controlPlaneComponentConfigs": [],
        "controlPlaneScalingTiers": [],
    }


# us-east-1 on 2026-12-06: 1.34's standard support ended 2026-12-02; 1.31 (extended support
# ended 2026-11-26) is UNSUPPORTED and not listed without includeAll.
EKS_RESULT: dict[str, Any] = {
    "id": "us-east-1",
    "region": "us-east-1",
    "clusterVersions": [
        _eks_version("1.36", "2", "STANDARD_SUPPORT", "2026-06-10", "2027-08-10", "2028-08-10"),
        _eks_version("1.35", "6", "STANDARD_SUPPORT", "2026-01-27", "2027-03-27", "2028-03-27"),
        _eks_version("1.34", "9", "EXTENDED_SUPPORT", "2025-10-02", "2026-12-02", "2027-12-02"),
        _eks_version("1.33", "12", "EXTENDED_SUPPORT", "2025-05-29", "2026-07-29", "2027-07-29"),
        _eks_version("1.32", "13", "EXTENDED_SUPPORT", "2025-01-23", "2026-03-23", "2027-03-23"),
    ],
}
# us-east-1 after 2027-03-23, when 1.32's extended support ended: no longer listed.
EKS_LATER: dict[str, Any] = {
    **EKS_RESULT,
    "clusterVersions": [v for v in EKS_RESULT["clusterVersions"] if v["clusterVersion"] != "1.32"],
}
# us-central1: valid masters 1.33-1.37, REGULAR's newest 1.36 (1.37 only in RAPID so far).
GKE_RESULT: dict[str, Any] = {
    "id": "2026-12-06",
    "location": "us-central1",
    "project": "acme-ml-staging",
    "defaultClusterVersion": "1.35.6-gke.1127000",
    "latestMasterVersion": "1.37.1-gke.1062000",
    "latestNodeVersion": "1.37.1-gke.1062000",
    "validMasterVersions": [
        "1.37.1-gke.1062000",
        "1.36.4-gke.1301000",
        "1.36.3-gke.1204000",
        "1.35.8-gke.1169000",
        "1.35.6-gke.1127000",
        "1.34.10-gke.1088000",
        "1.33.12-gke.1042000",
    ],
    "validNodeVersions": ["1.37.1-gke.1062000", "1.36.4-gke.1301000", "1.35.8-gke.1169000"],
    "releaseChannelDefaultVersion": {
        "RAPID": "1.36.4-gke.1301000",
        "REGULAR": "1.35.8-gke.1169000",
        "STABLE": "1.34.10-gke.1088000",
        "EXTENDED": "1.34.10-gke.1088000",
    },
    "releaseChannelLatestVersion": {
        "RAPID": "1.37.1-gke.1062000",
        "REGULAR": "1.36.4-gke.1301000",
        "STABLE": "1.35.8-gke.1169000",
        "EXTENDED": "1.35.8-gke.1169000",
    },
    "releaseChannelUpgradeTargetVersion": {"RAPID": "1.36.4-gke.1301000", "REGULAR": "1.35.8-gke.1169000"},
}


def _aks_version(minor: str, patches: list[str], plans: list[str], **flags: bool) -> dict[str, Any]:
    """One KubernetesVersion of the listing: each patch upgrades to the later ones."""
    patch_versions = {p: {"upgrades": patches[i + 1 :]} for i, p in enumerate(patches)}
    return {"version": minor, **flags, "capabilities": {"supportPlan": plans}, "patchVersions": patch_versions}


BOTH_PLANS = ["KubernetesOfficial", "AKSLongTermSupport"]
# westeurope on 2026-12-06: 1.31 and 1.33 only with long-term support (Premium tier), 1.32 gone,
# 1.34-1.36 in community support (1.35 the default), 1.37 in preview.
AKS_RESULT: dict[str, Any] = {
    "values": [
        _aks_version("1.31", ["1.31.13", "1.31.14"], ["AKSLongTermSupport"]),
        _aks_version("1.33", ["1.33.7"], ["AKSLongTermSupport"]),
        _aks_version("1.34", ["1.34.4", "1.34.6"], BOTH_PLANS),
        _aks_version("1.35", ["1.35.3", "1.35.5"], BOTH_PLANS, isDefault=True),
        _aks_version("1.36", ["1.36.1"], ["KubernetesOfficial"]),
        _aks_version("1.37", ["1.37.0"], ["KubernetesOfficial"], isPreview=True),
    ]
}
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"  # the mocks' getClientConfig
AKS_PATH = (
    f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.ContainerService/locations/westeurope"
    "/kubernetesVersions?api-version=2025-10-01"
)
FAKE_TOKEN = "fake-arm-token"


class FakeCredential:
    """DefaultAzureCredential as the check uses it: get_token(scope), close(); records the scopes."""

    scopes: list[str] = []
    error: str | None = None

    def __init__(self, **kwargs: Any) -> None:  # DefaultAzureCredential(exclude_..._credential=True)
        self.kwargs = kwargs

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        FakeCredential.scopes += scopes
        if FakeCredential.error:
            raise CredentialUnavailableError(FakeCredential.error)
        return AccessToken(FAKE_TOKEN, 4102444800)

    def close(self) -> None:
        pass


class Arm(ThreadingHTTPServer):
    """The loopback ARM: one answer (status, JSON body) for every GET; records path and Authorization."""

    answer: tuple[int, dict[str, Any]] = (200, AKS_RESULT)
    requests: list[tuple[str, str | None]]


class _ArmHandler(BaseHTTPRequestHandler):
    server: Arm

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Authorization")))
        status, body = self.server.answer
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_credential(monkeypatch: pytest.MonkeyPatch) -> type[FakeCredential]:
    monkeypatch.setattr(FakeCredential, "scopes", [])
    monkeypatch.setattr(FakeCredential, "error", None)
    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", FakeCredential)
    return FakeCredential


@pytest.fixture
def arm(monkeypatch: pytest.MonkeyPatch, fake_credential: type[FakeCredential]) -> Iterator[Arm]:
    """A loopback ARM on a free port of 127.0.0.1, which stacks.versions asks instead of management.azure.com."""
    integration.require_integration("a loopback Azure Resource Manager")
    server = Arm(("127.0.0.1", 0), _ArmHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(versions, "ARM_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setattr(versions, "ARM_TIMEOUT_SECONDS", 5)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def pulumi_stack() -> str:
    return "prod"


@pytest.fixture
def clouds(mocks: RecordingMocks) -> RecordingMocks:
    mocks.call_results[EKS_VERSIONS] = EKS_RESULT
    mocks.call_results[GKE_VERSIONS] = GKE_RESULT
    return mocks


def _config(stack: str, version: str) -> PlatformConfig:
    raw = stack_config(stack)
    raw["cluster"] = {**raw["cluster"], "kubernetesVersion": version}
    return parse_config(raw, base_dir=REPO, stack=stack)


def _run(program: Callable[[], Awaitable[Any]]) -> None:
    """Run an async entrypoint (as ``pulumi.run`` does) under the mock runtime."""

    @pulumi.runtime.test
    def _test() -> pulumi.Output[Any]:
        return pulumi.Output.from_input(program())

    _test()


def _check(cfg: PlatformConfig) -> None:
    _run(lambda: check_kubernetes_version(cfg))


def _calls(mocks: RecordingMocks, token: str) -> list[dict[str, Any]]:
    return [args for t, args in mocks.calls if t == token]


def test_an_eks_minor_on_offer_passes_and_is_asked_of_the_stacks_region(clouds: RecordingMocks) -> None:
    _check(_config("prod", "1.35"))
    assert _calls(clouds, EKS_VERSIONS) == [{"region": "us-east-1"}]
    assert clouds.resources == []


def test_an_eks_minor_not_on_offer_is_refused_naming_the_key_and_the_minors_on_offer(clouds: RecordingMocks) -> None:
    # 1.32 passes the config's own rules (cluster-autoscaler serves it); EKS no longer creates it.
    clouds.call_results[EKS_VERSIONS] = EKS_LATER
    with pytest.raises(ConfigError) as info:
        _check(_config("prod", "1.32"))
    text = str(info.value)
    assert f"{KEY}: EKS does not offer Kubernetes 1.32 in region us-east-1" in text
    assert "on offer: 1.33, 1.34, 1.35, 1.36" in text
    assert "(example: '1.36')" in text
    assert clouds.resources == []


def test_an_unsupported_eks_minor_is_not_on_offer_even_if_listed(clouds: RecordingMocks) -> None:
    # With includeAll the API also lists UNSUPPORTED minors: no cluster can be created on them.
    unsupported = _eks_version("1.32", "13", "UNSUPPORTED", "2025-01-23", "2026-03-23", "2027-03-23")
    clouds.call_results[EKS_VERSIONS] = {**EKS_LATER, "clusterVersions": [*EKS_LATER["clusterVersions"], unsupported]}
    with pytest.raises(ConfigError, match=r"EKS does not offer Kubernetes 1\.32 in region us-east-1; on offer: 1\.33,"):
        _check(_config("prod", "1.32"))


def test_an_eks_minor_in_extended_support_passes_with_a_warning(
    clouds: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: warnings.append(message))
    _check(_config("prod", "1.34"))
    assert warnings == [
        f"{KEY}: EKS 1.34 is in extended support (billed per cluster hour); in standard support: 1.35, 1.36"
    ]


def test_a_gke_minor_in_the_release_channel_passes(clouds: RecordingMocks) -> None:
    _check(_config("staging", "1.35"))
    assert _calls(clouds, GKE_VERSIONS) == [{"location": "us-central1", "project": "acme-ml-staging"}]


@pytest.mark.parametrize("version", ["1.31", "1.37"])  # gone from GKE / newer than REGULAR offers yet
def test_a_gke_minor_off_the_release_channel_is_refused(clouds: RecordingMocks, version: str) -> None:
    with pytest.raises(ConfigError) as info:
        _check(_config("staging", version))
    text = str(info.value)
    assert f"{KEY}: GKE does not offer Kubernetes {version} in us-central1 (REGULAR release channel)" in text
    assert "on offer: 1.33, 1.34, 1.35, 1.36" in text


def test_gke_offers_the_valid_minors_up_to_the_channels_latest() -> None:
    valid, latest = GKE_RESULT["validMasterVersions"], GKE_RESULT["releaseChannelLatestVersion"]
    assert gke_offered(valid, latest, "STABLE") == ["1.33", "1.34", "1.35"]
    assert gke_offered(valid, latest, "RAPID") == ["1.33", "1.34", "1.35", "1.36", "1.37"]
    assert minor_of("1.34.10-gke.1088000") == "1.34"


def test_a_local_stack_asks_no_cloud(clouds: RecordingMocks) -> None:
    _check(_config("dev", "1.34"))
    assert clouds.calls == []


def test_the_stacks_and_the_default_are_on_offer(clouds: RecordingMocks) -> None:
    for stack in ("prod", "staging"):
        cfg = parse_config(stack_config(stack), base_dir=REPO, stack=stack)
        assert cfg.cluster.kubernetes_version == DEFAULT_KUBERNETES_VERSION
        _check(cfg)


@pytest.mark.parametrize(
    ("stack", "version", "results", "refusal"),
    [
        ("prod", "1.32", EKS_LATER, "EKS does not offer Kubernetes 1.32 in region us-east-1"),
        ("staging", "1.31", EKS_RESULT, "GKE does not offer Kubernetes 1.31 in us-central1 (REGULAR release channel)"),
    ],
)
def test_the_program_refuses_a_minor_not_on_offer_before_any_resource(
    clouds: RecordingMocks, samples_built: Path, stack: str, version: str, results: dict[str, Any], refusal: str
) -> None:
    # __main__.py as the language host runs it: the entrypoint awaits the check before composing.
    clouds.call_results[EKS_VERSIONS] = results
    raw = stack_config(stack)
    raw["cluster"] = {**raw["cluster"], "kubernetesVersion": version}
    set_pulumi_config(raw)
    error, traceback_printed = LanguageHost(clouds).run()
    assert not traceback_printed, error
    assert error is not None
    assert f"{KEY}: {refusal}" in error, error
    assert clouds.resources == [], clouds.dump()
    # Nothing but the program's own Stack reached the engine (the mocks' RegisterResource).
    assert [t for t, _, _ in clouds.registrations.values()] == ["pulumi:pulumi:Stack"]


def test_with_a_minor_on_offer_the_stack_is_composed_after_the_check(clouds: RecordingMocks) -> None:
    cfg = _config("prod", DEFAULT_KUBERNETES_VERSION)

    async def main() -> dict[str, Any]:
        await check_kubernetes_version(cfg)
        return build_stack(cfg, REPO)

    _run(main)
    assert clouds.calls[0][0] == EKS_VERSIONS
    assert clouds.of_type("aws:eks/cluster:Cluster"), clouds.dump()


def _run_main(mocks: RecordingMocks, stack: str, version: str) -> str:
    """__main__.py as the language host runs it; the RunError it would log (no traceback, no resource)."""
    raw = stack_config(stack)
    raw["cluster"] = {**raw["cluster"], "kubernetesVersion": version}
    set_pulumi_config(raw)
    error, traceback_printed = LanguageHost(mocks).run()
    assert not traceback_printed, error
    assert error is not None
    assert mocks.resources == [], mocks.dump()
    assert [t for t, _, _ in mocks.registrations.values()] == ["pulumi:pulumi:Stack"]
    return error


def test_aks_offers_a_standard_tier_cluster_its_community_minors_outside_preview() -> None:
    listed = aks_offered(AKS_RESULT["values"], "Standard")
    assert listed == {
        "1.31": "Premium tier",
        "1.33": "Premium tier",
        "1.34": "offered",
        "1.35": "offered",
        "1.36": "offered",
        "1.37": "preview",
    }
    assert aks_offered(AKS_RESULT["values"], "Premium")["1.31"] == "offered"


@pytest.mark.integration
def test_an_aks_minor_on_offer_passes_and_is_asked_of_arm_for_the_stacks_location(
    clouds: RecordingMocks, arm: Arm, fake_credential: type[FakeCredential]
) -> None:
    _check(_config("prod-azure", "1.35"))
    assert _calls(clouds, "azure-native:authorization:getClientConfig") == [{}]
    assert arm.requests == [(AKS_PATH, f"Bearer {FAKE_TOKEN}")]
    assert fake_credential.scopes == ["https://management.azure.com/.default"]
    assert clouds.resources == []


@pytest.mark.integration
def test_the_azure_stack_and_the_default_are_on_offer(clouds: RecordingMocks, arm: Arm) -> None:
    cfg = parse_config(stack_config("prod-azure"), base_dir=REPO, stack="prod-azure")
    assert cfg.cluster.kubernetes_version == DEFAULT_KUBERNETES_VERSION
    _check(cfg)


@pytest.mark.integration
def test_an_lts_only_aks_minor_is_refused_for_want_of_the_premium_tier(clouds: RecordingMocks, arm: Arm) -> None:
    with pytest.raises(ConfigError) as info:
        _check(_config("prod-azure", "1.31"))
    text = str(info.value)
    assert (
        f"{KEY}: AKS does not offer Kubernetes 1.31 in westeurope to a Standard-tier cluster: only with "
        "long-term support (AKSLongTermSupport), which needs the Premium tier; on offer: 1.34, 1.35, 1.36"
    ) in text, text
    assert "(example: '1.36')" in text


@pytest.mark.integration
@pytest.mark.parametrize(
    ("version", "refusal"),
    [
        ("1.32", "AKS does not offer Kubernetes 1.32 in westeurope; on offer: 1.34, 1.35, 1.36"),
        ("1.37", "AKS does not offer Kubernetes 1.37 in westeurope outside preview; on offer: 1.34, 1.35, 1.36"),
        ("1.33", "AKS does not offer Kubernetes 1.33 in westeurope to a Standard-tier cluster: only with long-term"),
    ],
)
def test_the_program_refuses_an_aks_minor_not_on_offer_before_any_resource(
    clouds: RecordingMocks, arm: Arm, samples_built: Path, version: str, refusal: str
) -> None:
    error = _run_main(clouds, "prod-azure", version)
    assert f"{KEY}: {refusal}" in error, error
    assert len(arm.requests) == 1


@pytest.mark.integration
def test_an_arm_error_is_a_clear_run_error_without_a_traceback(
    clouds: RecordingMocks, arm: Arm, samples_built: Path
) -> None:
    # ARM's ErrorResponse for an identity without read access to the subscription.
    message = "The client 'ci' does not have authorization to perform action 'Microsoft.ContainerService/...'"
    arm.answer = (403, {"error": {"code": "AuthorizationFailed", "message": message}})
    error = _run_main(clouds, "prod-azure", "1.35")
    assert error.startswith(f"{KEY}: could not ask Azure which Kubernetes versions AKS offers"), error
    assert f"Azure Resource Manager refused: HTTP 403 AuthorizationFailed: {message}" in error
    assert AKS_PATH in error
    assert "az login" in error
    assert FAKE_TOKEN not in error


def test_no_azure_login_is_a_clear_run_error_and_asks_no_server(
    clouds: RecordingMocks, fake_credential: type[FakeCredential], samples_built: Path
) -> None:
    fake_credential.error = "DefaultAzureCredential failed to retrieve a token from the included credentials."
    error = _run_main(clouds, "prod-azure", "1.35")
    assert f"{KEY}: could not ask Azure which Kubernetes versions AKS offers (no Azure token: " in error, error
    assert "DefaultAzureCredential failed to retrieve a token" in error
