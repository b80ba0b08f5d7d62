"""Canary releases in the stack (issue 18, items 2 and 4, the controller's side): Argo Rollouts from
its pinned chart with the Gateway API plugin, the Triton chart's Rollout (workloadRef to the
Deployment), its AnalysisTemplate and stable/canary Services, and the routes' two weighted backends.

Every custom object validates against the pinned CRDs' ``openAPIV3Schema``: the Rollout against
tests/triton_platform/values/data/argo-rollouts-v1.9.0-rollout.schema.json, which is
manifests/crds/rollout-crd.yaml (version v1alpha1) at tag v1.9.0 of github.com/argoproj/argo-rollouts
(commit 838d4e792be666ec11bd0c80331e0c5511b5010e) with its descriptions stripped; the AnalysisTemplate
against the committed analysis-template schema of the same tag; the routes against Envoy Gateway's
(tests/support/gateway_crds.py). The rendered chart passes kubernetes-validate and checkov's core checks.
An ``instant`` stack registers no controller and passes no ``rollout`` values (the chart renders as before).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pulumi
import pytest
import yaml

import stacks
from components.serving import rollouts
from tests.components.serving.test_gateway import CHART_ACCEPTED, CORE_POD_CHECKS
from tests.support import checkov
from tests.support.cloud import Built, build_stack
from tests.support.crd_schema import validate_strict
from tests.support.gateway_crds import validate as validate_gateway_object
from tests.support.helm import render_triton
from tests.support.pulumi_mocks import RecordingMocks
from tests.support.release import sha_of
from tests.support.stacks import parse_stack, set_key
from triton_platform.catalog.versions import (
    ARGO_ROLLOUTS,
    ARGO_ROLLOUTS_APP_VERSION,
    ARGO_ROLLOUTS_GATEWAY_PLUGIN_VERSION,
    DEFAULT_KUBERNETES_VERSION,
)
from triton_platform.config import PlatformConfig
from triton_platform.values import rollout
from triton_platform.values.triton import RELEASE_ANNOTATION

STACK = "prod"  # EKS, monitoring on
DATA = Path(__file__).resolve().parents[2] / "triton_platform" / "values" / "data"
SCHEMAS = {
    "Rollout": DATA / f"argo-rollouts-{ARGO_ROLLOUTS_APP_VERSION}-rollout.schema.json",
    "AnalysisTemplate": DATA / f"argo-rollouts-{ARGO_ROLLOUTS_APP_VERSION}-analysistemplate.schema.json",
}
CRD_KINDS = {"Rollout", "AnalysisTemplate", "ServiceMonitor"}
FULLNAME = "triton"  # the stack's release name (the chart's fullnameOverride)
VERSION = 3  # the version every published model comes back with


def validate_argo(obj: dict[str, Any]) -> None:
    validate_strict(obj, SCHEMAS[obj["kind"]])


def _cfg(strategy: str = "canary", **gateway: Any) -> PlatformConfig:
    return parse_stack(
        STACK,
        set_key("triton.rollout", {"strategy": strategy}),
        set_key("triton.gateway", {"enabled": True, **gateway}),
        set_key("triton.service.type", "ClusterIP"),
    )


class PublishedMocks(RecordingMocks):
    """RecordingMocks whose ModelVersions come back published, so the stack's release has its digest
    (the provider is not called under mocks; tests/stacks/test_release.py does the same)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        if args.typ == "pulumi-python:dynamic/triton:ModelVersion":
            outputs.update(
                version=VERSION,
                config_sha256=sha_of("config"),
                files=[{"path": "model.plan", "size": 4, "sha256": args.inputs["source_fingerprint"]}],
                # One engine (prod's GPU): a TensorRT model's only engine is its model.plan.
                engine_objects={"8.0": "engines/sample-mlp.plan"},
                tensorrt_version=outputs.get("tensorrt_version") or "10.7.0",
            )
        return resource_id, outputs


@pytest.fixture
def published(pulumi_stack: str) -> RecordingMocks:
    m = PublishedMocks()
    m.install(stack=pulumi_stack)
    return m


@pytest.fixture
def canary(published: RecordingMocks, samples_built: Path) -> Built:
    return build_stack(published, stacks.build_stack, _cfg())


def _routes(built: Built) -> dict[str, dict[str, Any]]:
    out = {}
    for r in built.mocks.resources:
        if r.inputs.get("kind") in ("HTTPRoute", "GRPCRoute"):
            out[r.inputs["kind"]] = {k: r.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}
    return out


def test_controller_values_load_the_pinned_gateway_plugin() -> None:
    values = rollouts.chart_values()
    (plugin,) = values["controller"]["trafficRouterPlugins"]
    assert plugin == {
        "name": "argoproj-labs/gatewayAPI",
        "location": "https://github.com/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi/releases/download/"
        f"{ARGO_ROLLOUTS_GATEWAY_PLUGIN_VERSION}/gatewayapi-plugin-linux-amd64",
        # What the controller checks the download against (a PluginItem's sha256).
        "sha256": "24816da0e613836b3f180a2b50f6199431668c72d7f4adeef09284bffc6582a1",
    }
    # An architecture without a pinned checksum downloads from the same release, unverified.
    (arm,) = rollouts.chart_values("arm64")["controller"]["trafficRouterPlugins"]
    assert "sha256" not in arm
    assert arm["location"].endswith(f"{ARGO_ROLLOUTS_GATEWAY_PLUGIN_VERSION}/gatewayapi-plugin-linux-arm64")
    rbac = values["providerRBAC"]
    assert rbac["providers"]["gatewayAPI"] is True
    assert [k for k, on in rbac["providers"].items() if on] == ["gatewayAPI"]
    # The chart grants get/list/watch/update on routes; the plugin patches them too.
    assert {
        "apiGroups": ["gateway.networking.k8s.io"],
        "resources": ["httproutes", "grpcroutes"],
        "verbs": ["patch"],
    } in (rbac["additionalRules"])


def test_canary_installs_argo_rollouts_before_triton(canary: Built) -> None:
    mocks = canary.mocks
    (component,) = mocks.of_type("triton:serving:ArgoRollouts")
    release = mocks.release(ARGO_ROLLOUTS.chart)
    assert release.inputs["version"] == ARGO_ROLLOUTS.version
    assert release.inputs["repositoryOpts"]["repo"] == ARGO_ROLLOUTS.repo
    assert release.inputs["namespace"] == rollouts.NAMESPACE
    assert mocks.parent_of(release.name).endswith(f"triton:serving:ArgoRollouts::{component.name}")
    (triton,) = mocks.of_type("triton:serving:TritonServer")
    # Depending on the component is depending on its children: the chart (CRDs and controller).
    assert release.name in mocks.dependency_names(triton.name)


def test_routes_split_between_stable_and_canary_services(canary: Built) -> None:
    routes = _routes(canary)
    for kind, port in (("HTTPRoute", 8000), ("GRPCRoute", 8001)):
        validate_gateway_object(routes[kind])
        assert routes[kind]["spec"]["rules"][0]["backendRefs"] == [
            {"name": f"{FULLNAME}-stable", "port": port, "weight": 100},
            {"name": f"{FULLNAME}-canary", "port": port, "weight": 0},
        ]


@pytest.mark.chart
def test_rendered_canary_fits_the_pinned_crds_and_passes_validation(canary: Built, tmp_path: Path) -> None:
    values = {**canary.triton_values(), "fullnameOverride": FULLNAME}
    docs = render_triton(values, tmp_path)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    (ro,) = by_kind["Rollout"]
    (template,) = by_kind["AnalysisTemplate"]
    validate_argo(ro)
    validate_argo(template)
    # The Rollout runs the Deployment's pod template; the Deployment itself runs no pod.
    (deployment,) = by_kind["Deployment"]
    assert deployment["spec"]["replicas"] == 0
    assert ro["spec"]["workloadRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": FULLNAME,
        "scaleDown": "never",
    }
    canary_spec = ro["spec"]["strategy"]["canary"]
    cfg = _cfg()
    assert canary_spec["steps"] == rollout.canary_steps(cfg.triton.rollout.canary.steps)
    assert canary_spec["stableService"] == f"{FULLNAME}-stable"
    assert canary_spec["canaryService"] == f"{FULLNAME}-canary"
    assert canary_spec["trafficRouting"]["plugins"]["argoproj-labs/gatewayAPI"] == {
        "namespace": "triton",
        "httpRoutes": [{"name": "triton-http"}],
        "grpcRoutes": [{"name": "triton-grpc", "useHeaderRoutes": False}],
    }
    assert canary_spec["analysis"]["args"] == rollout.analysis_args(FULLNAME, "triton")
    assert canary_spec["analysis"]["templates"] == [{"templateName": rollout.TEMPLATE_NAME}]
    assert {m["name"] for m in template["spec"]["metrics"]} == {
        "failure-ratio",
        "p99-latency-ms",
        "queue-time-ms",
        "gateway-error-ratio",  # the Gateway is on (canary requires it)
    }
    # The release is the pod template's: a new one is a new template, run through the steps above.
    digest = canary.result.values["release"]["digest"]
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["annotations"][RELEASE_ANNOTATION] == digest
    args = pod["spec"]["containers"][0]["args"]
    assert f"--model-repository={_location_uri(canary)}" in args
    assert "--model-control-mode=none" in args
    assert not [a for a in args if a.startswith("--repository-poll-secs")]
    # The routes' backends are the chart's Services and their ports.
    services = {d["metadata"]["name"]: {p["name"]: p["port"] for p in d["spec"]["ports"]} for d in by_kind["Service"]}
    for backend in _routes(canary)["HTTPRoute"]["spec"]["rules"][0]["backendRefs"]:
        assert services[backend["name"]]["http"] == backend["port"]
    for doc in docs:
        if doc["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(doc, DEFAULT_KUBERNETES_VERSION, strict=True)
    report = checkov.scan(yaml.safe_dump_all(docs), tmp_path)
    passed = checkov.check_ids(report, "passed_checks", ("Deployment.",))
    assert passed >= CORE_POD_CHECKS, sorted(CORE_POD_CHECKS - passed)
    failed = checkov.check_ids(report, "failed_checks", ("Deployment.", "Service.", "NetworkPolicy."))
    assert failed <= CHART_ACCEPTED, sorted(failed - CHART_ACCEPTED)


LOCATION = "pulumi-python:dynamic/triton:ReleaseLocation"


def _location_uri(built: Built) -> str:
    """Where prod's Triton reads a release under canary: s3://<bucket>/<cache>/releases/served/<hex>."""
    release = built.result.values["release"]
    return f"s3://{release['store']['bucket']}/_cache/releases/served/{release['digest'].removeprefix('sha256:')}"


def test_canary_serves_the_release_from_its_own_location(canary: Built) -> None:
    mocks, release = canary.mocks, canary.result.values["release"]
    assert release["digest"].startswith("sha256:")
    (location,) = mocks.of_type(LOCATION)
    (promotion,) = mocks.of_type("pulumi-python:dynamic/triton:ReleasePromotion")
    assert location.name == "test-models-location"
    assert location.inputs["digest"] == release["digest"]
    assert location.inputs["store"] == promotion.inputs["target_store"]
    assert location.inputs["keep"] == promotion.inputs["keep"]
    # Beside the promotion (a child of the ModelPublisher), after it; Triton after both.
    assert mocks.parent_of(location.name) == mocks.parent_of(promotion.name)
    assert promotion.name in mocks.dependency_names(location.name)
    (triton,) = mocks.of_type("triton:serving:TritonServer")
    assert location.name in mocks.dependency_names(triton.name)
    values = canary.triton_values()
    assert values["modelRepository"]["uri"] == _location_uri(canary)
    assert values["rollout"]["release"] == release["digest"]
    # prod says `poll`: the location never changes, so the pods load it once.
    assert values["triton"]["modelControlMode"] == "none"
    # Exported, never secret (None under the mocks: no rollout completed, nothing recorded as rolling).
    assert {"releaseServing", "releaseRollingOut"} <= set(canary.result.values)
    assert not {"releaseServing", "releaseRollingOut"} & canary.result.secret


def test_instant_registers_no_controller_and_passes_no_rollout_values(
    published: RecordingMocks, samples_built: Path
) -> None:
    mocks = published
    built = build_stack(mocks, stacks.build_stack, _cfg("instant"))
    assert mocks.of_type("triton:serving:ArgoRollouts") == []
    assert mocks.of_type(LOCATION) == []
    values = built.triton_values()
    assert "rollout" not in values
    assert "podAnnotations" not in values
    # Every pod reads <prefix>/ as before, polling it.
    assert values["modelRepository"]["uri"] == built.result.values["modelRepository"]
    assert values["triton"]["modelControlMode"] == "poll"
    release = built.result.values["release"]["digest"]
    assert (built.result.values["releaseServing"], built.result.values["releaseRollingOut"]) == (release, None)
    for route in _routes(built).values():
        assert route["spec"]["rules"][0]["backendRefs"] == [
            {"name": FULLNAME, "port": route["spec"]["rules"][0]["backendRefs"][0]["port"]}
        ]
