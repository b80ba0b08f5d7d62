"""ServingGateway in the stack (issue 18, item 1): Envoy Gateway from its pinned OCI chart, then
the Gateway, routes, client auth and proxy metrics, each object as registered validating against
the chart's CRDs; Triton's Service stays ClusterIP and its rendered chart passes
kubernetes-validate and checkov's core checks; the Gateway gets each cloud's load-balancer
annotations, internal unless asked otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

import stacks
import stacks.aws as aws_stack
import stacks.azure as azure_stack
import stacks.gcp as gcp_stack
from stacks.common import gateway_exposure
from tests.support import checkov
from tests.support.cloud import Built, build_stack
from tests.support.gateway_crds import validate
from tests.support.helm import render_triton
from tests.support.pulumi_mocks import RecordingMocks, Registered
from tests.support.stacks import parse_stack, set_key
from triton_platform.catalog.versions import DEFAULT_KUBERNETES_VERSION, ENVOY_GATEWAY
from triton_platform.config import PlatformConfig

STACK = "prod"  # EKS
PUBLIC = {
    "enabled": True,
    "internal": False,
    "tls": {"secretName": "triton-tls"},
    "auth": {"apiKeys": {"secretName": "triton-api-keys"}},
}
CUSTOM_RESOURCE_KINDS = ("GatewayClass", "EnvoyProxy", "Gateway", "HTTPRoute", "GRPCRoute", "SecurityPolicy")


def _cfg(stack: str, gateway: dict[str, Any]) -> PlatformConfig:
    return parse_stack(stack, set_key("triton.gateway", gateway), set_key("triton.service.type", "ClusterIP"))


def _objects(mocks: RecordingMocks) -> dict[str, dict[str, Any]]:
    """The gateway's custom resources as registered, by kind."""
    out: dict[str, dict[str, Any]] = {}
    for r in _custom_resources(mocks):
        assert r.inputs["kind"] not in out, f"one {r.inputs['kind']} per gateway"
        out[r.inputs["kind"]] = {k: r.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}
    return out


def _custom_resources(mocks: RecordingMocks) -> list[Registered]:
    """The ServingGateway's custom resources (registered as kubernetes:<group>/<version>:<Kind>)."""
    (component,) = mocks.of_type("triton:serving:ServingGateway")
    parent = f"triton:serving:ServingGateway::{component.name}"
    children = [r for r in mocks.resources if mocks.parent_of(r.name).endswith(parent)]
    return [r for r in children if r.inputs.get("kind") in (*CUSTOM_RESOURCE_KINDS, "PodMonitor")]


@pytest.fixture
def public_gateway(mocks: RecordingMocks, samples_built: Path) -> Built:
    return build_stack(mocks, stacks.build_stack, _cfg(STACK, PUBLIC))


def test_envoy_gateway_comes_from_the_pinned_oci_chart(public_gateway: Built) -> None:
    (component,) = public_gateway.mocks.of_type("triton:serving:ServingGateway")
    release = public_gateway.mocks.release("gateway-helm")
    assert release.inputs["chart"] == f"oci://docker.io/envoyproxy/{ENVOY_GATEWAY.chart}"
    assert release.inputs["version"] == ENVOY_GATEWAY.version == "v1.9.0"
    assert "repositoryOpts" not in release.inputs  # Helm pulls OCI charts by reference
    assert release.inputs["namespace"] == "envoy-gateway-system"
    assert public_gateway.mocks.parent_of(release.name).endswith(f"triton:serving:ServingGateway::{component.name}")
    assert public_gateway.result.values["tritonGateway"] == "triton"


def test_every_registered_object_fits_the_pinned_crds(public_gateway: Built) -> None:
    objects = _objects(public_gateway.mocks)
    assert set(objects) == {*CUSTOM_RESOURCE_KINDS, "PodMonitor"}  # monitoring is on in prod
    for kind in CUSTOM_RESOURCE_KINDS:
        validate(objects[kind])
    mocks = public_gateway.mocks
    release = mocks.release("gateway-helm")
    for r in _custom_resources(mocks):
        assert release.name in mocks.dependency_names(r.name), f"{r.inputs['kind']} must wait for the chart's CRDs"


def test_public_gateway_is_a_public_nlb_with_auth(public_gateway: Built) -> None:
    objects = _objects(public_gateway.mocks)
    service = objects["EnvoyProxy"]["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service["annotations"] == {
        aws_stack.LB_TYPE: "nlb",
        aws_stack.LB_SCHEME: "internet-facing",
    }
    assert objects["SecurityPolicy"]["spec"]["apiKeyAuth"]["credentialRefs"] == [
        {"kind": "Secret", "name": "triton-api-keys"}
    ]


@pytest.mark.chart
def test_tritons_chart_stays_cluster_ip_and_passes_validation(public_gateway: Built, tmp_path: Path) -> None:
    values = public_gateway.triton_values()
    assert values["service"]["type"] == "ClusterIP"
    docs = render_triton(values, tmp_path)
    service = next(d for d in docs if d["kind"] == "Service" and {p["name"] for p in d["spec"]["ports"]} >= {"grpc"})
    assert service["spec"]["type"] == "ClusterIP"
    # The routes' backends are the Service's own http and grpc ports.
    ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    routes = _objects(public_gateway.mocks)
    assert routes["HTTPRoute"]["spec"]["rules"][0]["backendRefs"] == [
        {"name": service["metadata"]["name"], "port": ports["http"]}
    ]
    assert routes["GRPCRoute"]["spec"]["rules"][0]["backendRefs"] == [
        {"name": service["metadata"]["name"], "port": ports["grpc"]}
    ]
    crd_kinds = {"ServiceMonitor"}  # the Prometheus operator's: not a Kubernetes schema
    for doc in docs:
        if doc["kind"] not in crd_kinds:
            kubernetes_validate.validate(doc, DEFAULT_KUBERNETES_VERSION, strict=True)
    report = checkov.scan(yaml.safe_dump_all(docs), tmp_path)
    passed = checkov.check_ids(report, "passed_checks", ("Deployment.",))
    assert passed >= CORE_POD_CHECKS, sorted(CORE_POD_CHECKS - passed)
    failed = checkov.check_ids(report, "failed_checks", ("Deployment.", "Service.", "NetworkPolicy."))
    assert failed <= CHART_ACCEPTED, sorted(failed - CHART_ACCEPTED)


# checkov's core pod checks (as tests/chart/test_third_party_releases.py requires of every chart).
CORE_POD_CHECKS = {
    "CKV_K8S_8",  # liveness probe
    "CKV_K8S_9",  # readiness probe
    "CKV_K8S_10",  # CPU requests
    "CKV_K8S_12",  # memory requests
    "CKV_K8S_13",  # memory limits
    "CKV_K8S_20",  # no privilege escalation
    "CKV_K8S_22",  # read-only root filesystem
    "CKV_K8S_23",  # not root
    "CKV_K8S_28",  # no NET_RAW
    "CKV_K8S_37",  # capabilities dropped
}
# What the Triton chart decides on purpose: the image by tag (NGC publishes tags, CKV_K8S_43)
# pulled IfNotPresent (CKV_K8S_15), and uid 1000 (triton-server in the NGC image; checkov wants
# >= 10000, CKV_K8S_40). Nothing else fails on the Deployment, the Services or the NetworkPolicy.
CHART_ACCEPTED = {"CKV_K8S_15", "CKV_K8S_40", "CKV_K8S_43"}


def test_gateway_off_changes_nothing(mocks: RecordingMocks, samples_built: Path) -> None:
    built = build_stack(mocks, stacks.build_stack, parse_stack(STACK))
    assert mocks.of_type("triton:serving:ServingGateway") == []
    assert "tritonGateway" not in built.result.values


@pytest.mark.parametrize(
    ("module", "stack", "internal", "public"),
    [
        (
            aws_stack,
            "prod",
            {aws_stack.LB_TYPE: "nlb", aws_stack.LB_SCHEME: "internal", aws_stack.LB_INTERNAL: "true"},
            {aws_stack.LB_TYPE: "nlb", aws_stack.LB_SCHEME: "internet-facing"},
        ),
        (gcp_stack, "staging", {gcp_stack.INTERNAL_LB_ANNOTATION: "Internal"}, {}),
        (azure_stack, "prod-azure", {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}, {}),
    ],
)
def test_the_gateway_gets_the_clouds_load_balancer_annotations(
    module: Any, stack: str, internal: dict[str, str], public: dict[str, str]
) -> None:
    assert module.service_annotations(gateway_exposure(_cfg(stack, {"enabled": True}))) == internal
    assert module.service_annotations(gateway_exposure(_cfg(stack, PUBLIC))) == public
