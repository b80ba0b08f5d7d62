"""The whole dev stack, evaluated from Pulumi.dev.yaml as it stands, under Pulumi's mock runtime."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest

from stacks import build_stack
from tests.support.cloud import WORKLOAD_OUTPUTS
from tests.support.pulumi_mocks import ProgramResult, RecordingMocks, run_program
from tests.support.stacks import REPO, set_pulumi_config, stack_config
from triton_platform.config.schema import ConfigError, load_config

K8S_PREFIXES = ("kubernetes:",)


@pytest.fixture
def dev(mocks: RecordingMocks, samples_built: Path) -> ProgramResult:
    """The dev stack's outputs after the whole program has registered under the mocks."""
    set_pulumi_config(stack_config("dev"))
    return run_program(lambda: build_stack(load_config(REPO), REPO))


def test_dev_stack_registers_the_platform(mocks: RecordingMocks, dev: ProgramResult) -> None:
    types = {r.type for r in mocks.resources}
    for wanted in (
        "triton:local:KindCluster",
        "command:local:Command",
        "pulumi:providers:kubernetes",
        "triton:local:Minio",
        "triton:monitoring:Monitoring",
        "triton:publisher:ModelPublisher",
        "triton:serving:TritonServer",
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:core/v1:Secret",
        "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    ):
        assert wanted in types, f"{wanted} missing; have {sorted(types)}"
    charts = sorted(str(r.inputs.get("chart")) for r in mocks.of_type("kubernetes:helm.sh/v3:Release"))
    assert any(c.endswith("charts/triton-inference-server") for c in charts), charts
    assert "minio" in charts
    assert "kube-prometheus-stack" in charts
    assert set(dev.values) >= WORKLOAD_OUTPUTS
    # kind publishes Triton on 127.0.0.1; the in-cluster endpoints stay under their own names.
    assert dev.values["tritonHttp"] == "http://127.0.0.1:8000"
    assert dev.values["tritonInClusterHttp"] == "http://triton.triton.svc.cluster.local:8000"
    assert dev.values["bucket"] == "triton-models"


def test_every_kubernetes_resource_uses_the_kind_provider(mocks: RecordingMocks, dev: ProgramResult) -> None:
    k8s = [r for r in mocks.resources if r.type.startswith(K8S_PREFIXES) and r.custom]
    assert len(k8s) > 5
    for r in k8s:
        # Explicit provider: the kind cluster's, never the default (ambient kubeconfig) one.
        assert "pulumi:providers:kubernetes::triton-dev-k8s" in (r.provider or ""), (r.type, r.name, r.provider)


def test_triton_release_values_follow_the_config(mocks: RecordingMocks, dev: ProgramResult) -> None:
    values = mocks.release("triton-inference-server").inputs["values"]
    assert values["image"] == {
        "repository": "nvcr.io/nvidia/tritonserver",
        "tag": "25.01-py3",
        "pullPolicy": "IfNotPresent",
    }
    assert values["modelRepository"]["uri"] == "s3://http://minio.minio.svc.cluster.local:9000/triton-models/models"
    assert values["modelRepository"]["credentialsSecret"] == "triton-model-repository"
    assert values["service"]["type"] == "NodePort"
    assert values["service"]["nodePorts"] == {"http": 30800, "grpc": 30801, "metrics": 30802}
    assert values["triton"]["modelControlMode"] == "poll"
    # CPU Triton on kind: no GPU request, no GPU node selector.
    assert values["gpu"] == {"resources": {}, "nodeSelector": {}, "tolerations": []}
    assert values["metrics"]["serviceMonitor"]["enabled"] is True


def test_component_children_are_parented_to_their_component(mocks: RecordingMocks, dev: ProgramResult) -> None:
    stack = pulumi.get_stack()
    components = {
        "triton-dev": "triton:local:KindCluster",
        f"{stack}-minio": "triton:local:Minio",
        f"{stack}-monitoring": "triton:monitoring:Monitoring",
        f"{stack}-models": "triton:publisher:ModelPublisher",
        f"{stack}-triton": "triton:serving:TritonServer",
    }
    for component, type_ in components.items():
        assert mocks.registrations[component][0] == type_
        children = [n for n in mocks.registrations if n.startswith(component + "-")]
        assert children, component
        for child in children:
            assert mocks.parent_of(child).endswith(f"{type_}::{component}"), (child, mocks.parent_of(child))


def test_kind_config_maps_triton_and_minio_ports(mocks: RecordingMocks, dev: ProgramResult) -> None:
    (create,) = [r for r in mocks.of_type("command:local:Command") if r.name == "triton-dev-create"]
    stdin = create.inputs["stdin"]
    for node, host in ((30800, 8000), (30801, 8001), (30802, 8002), (30900, 9000)):
        assert f"containerPort: {node}\n    hostPort: {host}" in stdin, stdin
    assert "listenAddress: 127.0.0.1" in stdin
    assert "kind create cluster --name triton-dev" in create.inputs["create"]
    assert "kind delete cluster --name triton-dev" in create.inputs["delete"]


def test_secrets_stay_secret(mocks: RecordingMocks, dev: ProgramResult) -> None:
    assert {"kubeconfig", "grafanaAdminPassword"} <= dev.secret
    # No resource input but the Secrets' carries MinIO's generated root password.
    minio_password = "mock-password-dev-minio-root-password"
    for r in mocks.resources:
        if r.type == "kubernetes:core/v1:Secret":
            continue
        assert minio_password not in repr(r.inputs), (r.type, r.name)
    # And no plain output does.
    for key, value in dev.values.items():
        if key not in dev.secret:
            assert minio_password not in repr(value), key


def test_publisher_store_names_where_keys_are_not_the_keys(mocks: RecordingMocks, dev: ProgramResult) -> None:
    versions = [r for r in mocks.resources if r.name.endswith("-sample-mlp") and r.custom]
    assert versions, mocks.dump()
    store = versions[0].inputs["store"]
    assert store["endpoint_url"] == "http://127.0.0.1:9000"
    assert store["credentials"]["source"] == "kubernetes-secret"
    assert "mock-password" not in repr(store)


def test_triton_waits_for_models_and_monitoring(mocks: RecordingMocks, dev: ProgramResult) -> None:
    # depends_on holds a registration back until its dependencies are registered, so the
    # recorded order is the order pulumi up creates them in.
    order = [r.name for r in mocks.resources]
    stack = pulumi.get_stack()
    triton = order.index(f"{stack}-triton-release")
    assert order.index(f"{stack}-models-sample-mlp") < triton
    assert order.index(f"{stack}-monitoring-release") < triton
    assert order.index(f"{stack}-monitoring-rules") < triton
    assert order.index("triton-dev-create") < order.index(f"{stack}-minio-release")


def test_bad_stack_config_registers_nothing(mocks: RecordingMocks) -> None:
    raw = stack_config("dev")
    raw["triton"] = {**raw["triton"], "replicas": 0}
    raw["gpu"] = {"migStrategy": "single"}
    set_pulumi_config(raw)
    with pytest.raises(ConfigError) as info:
        load_config(REPO)
    assert "triton-platform:triton.replicas" in str(info.value)
    assert "triton-platform:gpu" in str(info.value)
    assert mocks.resources == []
