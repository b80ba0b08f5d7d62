"""The whole dev stack, evaluated from Pulumi.dev.yaml as it stands, under Pulumi's mock runtime."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

import stacks.local as local_stack
from stacks import build_stack
from tests.support.cloud import LOCATIONS_ROOT, WORKLOAD_OUTPUTS
from tests.support.cloud import provisioned_storage as storage_of
from tests.support.helm import render_triton
from tests.support.pulumi_mocks import ProgramResult, RecordingMocks, run_program
from tests.support.stacks import (
    BEHIND_GATEWAY,
    REPO,
    Edit,
    drop_key,
    fresh_interpreter,
    not_in_the_dev_program,
    parse_stack,
    set_key,
    set_pulumi_config,
    stack_config,
)
from triton_platform.catalog.versions import KIND_DEFAULT_KUBERNETES_VERSION, KIND_NODE_IMAGES
from triton_platform.config import ConfigError, load_config

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
        "triton:local:SeaweedFs",
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
    assert "seaweedfs" in charts
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
    assert values["modelRepository"]["uri"] == (
        "s3://http://seaweedfs-all-in-one.seaweedfs.svc.cluster.local:8333/triton-models/models"
    )
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
        f"{stack}-s3": "triton:local:SeaweedFs",
        f"{stack}-monitoring": "triton:monitoring:Monitoring",
        f"{stack}-models": "triton:publisher:ModelPublisher",
        f"{stack}-triton": "triton:serving:TritonServer",
    }
    assert set(components) <= set(mocks.registrations), sorted(mocks.registrations)
    for component, type_ in components.items():
        assert mocks.registrations[component][0] == type_
        children = [n for n in mocks.registrations if n.startswith(component + "-")]
        assert children, component
        for child in children:
            assert mocks.parent_of(child).endswith(f"{type_}::{component}"), (child, mocks.parent_of(child))


def test_kind_config_maps_triton_and_s3_ports(mocks: RecordingMocks, dev: ProgramResult) -> None:
    (create,) = [r for r in mocks.of_type("command:local:Command") if r.name == "triton-dev-create"]
    stdin = create.inputs["stdin"]
    for node, host in ((30800, 8000), (30801, 8001), (30802, 8002), (30900, 9000)):
        assert f"containerPort: {node}\n    hostPort: {host}" in stdin, stdin
    assert "listenAddress: 127.0.0.1" in stdin
    assert "kind create cluster --name triton-dev" in create.inputs["create"]
    assert "kind delete cluster --name triton-dev" in create.inputs["delete"]


def test_secrets_stay_secret(mocks: RecordingMocks, dev: ProgramResult) -> None:
    assert {"kubeconfig", "grafanaAdminPassword"} <= dev.secret
    # No resource input but the Secrets' carries the generated S3 secret key.
    s3_secret_key = "mock-password-dev-s3-secret-key"
    for r in mocks.resources:
        if r.type == "kubernetes:core/v1:Secret":
            continue
        assert s3_secret_key not in repr(r.inputs), (r.type, r.name)
    # And no plain output does.
    for key, value in dev.values.items():
        if key not in dev.secret:
            assert s3_secret_key not in repr(value), key


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
    assert order.index("triton-dev-create") < order.index(f"{stack}-s3-release")


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


# --- the kind node image follows cluster.kubernetesVersion (issue 16: pins and fit) ---------------


def _node_image(mocks: RecordingMocks) -> str:
    (create,) = [r for r in mocks.of_type("command:local:Command") if r.name == "triton-dev-create"]
    node = yaml.safe_load(create.inputs["stdin"])["nodes"][0]
    return str(node["image"])


def test_node_image_is_the_pinned_digest_of_the_configured_version(mocks: RecordingMocks, dev: ProgramResult) -> None:
    assert stack_config("dev")["cluster"]["kubernetesVersion"] == "1.34"
    assert _node_image(mocks) == KIND_NODE_IMAGES["1.34"]
    assert re.fullmatch(r"kindest/node:v1\.34\.\d+@sha256:[0-9a-f]{64}", _node_image(mocks))


@pytest.mark.parametrize("version", sorted(KIND_NODE_IMAGES))
def test_every_listed_version_gets_its_image(mocks: RecordingMocks, samples_built: Path, version: str) -> None:
    raw = stack_config("dev")
    raw["cluster"] = {**raw["cluster"], "kubernetesVersion": version}
    set_pulumi_config(raw)
    run_program(lambda: build_stack(load_config(REPO), REPO))
    assert _node_image(mocks) == KIND_NODE_IMAGES[version]


def test_left_out_version_is_the_kind_default(mocks: RecordingMocks, samples_built: Path) -> None:
    raw = stack_config("dev")
    raw["cluster"] = {k: v for k, v in raw["cluster"].items() if k != "kubernetesVersion"}
    set_pulumi_config(raw)
    run_program(lambda: build_stack(load_config(REPO), REPO))
    assert _node_image(mocks) == KIND_NODE_IMAGES[KIND_DEFAULT_KUBERNETES_VERSION]


def test_version_without_a_kind_image_is_a_config_error(mocks: RecordingMocks) -> None:
    raw = stack_config("dev")
    raw["cluster"] = {**raw["cluster"], "kubernetesVersion": "1.31"}
    set_pulumi_config(raw)
    with pytest.raises(ConfigError) as info:
        load_config(REPO)
    message = str(info.value)
    assert "triton-platform:cluster.kubernetesVersion: '1.31' has no kind node image" in message
    assert "1.34, 1.35, 1.36, 1.37" in message
    assert mocks.resources == []


def test_own_node_image_must_agree_with_an_explicit_version(mocks: RecordingMocks, samples_built: Path) -> None:
    raw = stack_config("dev")
    raw["cluster"] = {**raw["cluster"], "kind": {"nodeImage": "kindest/node:v1.31.4"}}
    set_pulumi_config(raw)
    with pytest.raises(ConfigError, match=r"cluster.kubernetesVersion: '1.34' differs from cluster.kind.nodeImage"):
        load_config(REPO)
    # Left out, the version is the image's own, and the image is used as given.
    raw["cluster"] = {k: v for k, v in raw["cluster"].items() if k != "kubernetesVersion"}
    set_pulumi_config(raw)
    cfg = load_config(REPO)
    assert cfg.cluster.kubernetes_version == "1.31"
    run_program(lambda: build_stack(cfg, REPO))
    assert _node_image(mocks) == "kindest/node:v1.31.4"


# --- Triton's image is in the node before Triton's release starts ---------------------------------


def test_triton_image_is_pulled_into_the_node_before_the_release(mocks: RecordingMocks, dev: ProgramResult) -> None:
    stack = pulumi.get_stack()
    pull = mocks.named("triton-dev-triton-image")
    assert pull.type == "command:local:Command"
    assert mocks.parent_of("triton-dev-triton-image").endswith("triton:local:KindCluster::triton-dev")
    image = "nvcr.io/nvidia/tritonserver:25.01-py3"
    assert f"docker exec triton-dev-control-plane crictl pull {image}" in pull.inputs["create"]
    # A new cluster (its config) or another image pulls again.
    assert image in pull.inputs["triggers"]
    assert "triton-dev-create" in mocks.dependency_names("triton-dev-triton-image")
    # Triton's release waits for the pull (its component depends on it, so the release registers
    # only once the pull is done): the release's timeout never includes it. The rest does not wait.
    assert "triton-dev-triton-image" in mocks.dependency_names(f"{stack}-triton")
    order = [r.name for r in mocks.resources]
    assert order.index("triton-dev-triton-image") < order.index(f"{stack}-triton-release")
    for other in (f"{stack}-monitoring", f"{stack}-s3", f"{stack}-models", f"{stack}-namespace"):
        assert "triton-dev-triton-image" not in mocks.dependency_names(other), other


# --- the dev stack fits a 4-CPU, 8 GB Docker VM -----------------------------------------------------
# Every request of the dev stack's pods, summed, against what scripts/dev-up.sh checks before it
# starts anything: $MIN_CPUS CPUs, and $MIN_FREE_MEMORY_MIB free in the Docker VM.
#
# kind's own pods on its one node: kubeadm's static pods (kube-apiserver 250m, kube-controller-
# manager 200m, kube-scheduler 100m: kubeadm cmd/kubeadm/app/phases/controlplane/manifests.go;
# etcd 100m + 100Mi: cmd/kubeadm/app/phases/etcd/local.go), CoreDNS (kubeadm's Deployment: 2
# replicas of 100m + 70Mi), kindnet (100m + 50Mi: kind pkg/build/nodeimage/const_cni.go);
# kube-proxy and local-path-provisioner request nothing.
KIND_SYSTEM_MILLICPU = 250 + 200 + 100 + 100 + 2 * 100 + 100
KIND_SYSTEM_MIB = 100 + 2 * 70 + 50
# kube-prometheus-stack 66.3.1 (values.yaml) leaves `resources: {}` on every component it runs
# (prometheus-operator and its config reloader, Prometheus, Alertmanager, Grafana,
# kube-state-metrics, node-exporter), and SeaweedFS 4.44.0's all-in-one asks only what its
# `allInOne.resources` say: their requests are the ones in the values the stack passes.
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$")


def _millicpu(q: str) -> int:
    number, unit = _QUANTITY.fullmatch(str(q)).groups()  # type: ignore[union-attr]
    return int(float(number) * (1 if unit == "m" else 1000))


def _mib(q: str) -> int:
    number, unit = _QUANTITY.fullmatch(str(q)).groups()  # type: ignore[union-attr]
    return int(float(number) * {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}[unit])


def _requests_in(values: Any) -> list[dict[str, str]]:
    """Every ``resources.requests`` (cpu/memory) anywhere in a chart's values."""
    found: list[dict[str, str]] = []
    if isinstance(values, dict):
        resources = values.get("resources")
        requests = resources.get("requests") if isinstance(resources, dict) else None
        if isinstance(requests, dict) and {"cpu", "memory"} & set(requests):
            found.append(requests)
        for value in values.values():
            found += _requests_in(value)
    elif isinstance(values, list):
        for value in values:
            found += _requests_in(value)
    return found


def _dev_up_number(name: str) -> int:
    found = re.search(rf"^{name}=(\d+)", (REPO / "scripts" / "dev-up.sh").read_text(), re.M)
    assert found, f"scripts/dev-up.sh no longer sets {name}"
    return int(found.group(1))


@pytest.mark.chart
def test_dev_stack_requests_fit_the_docker_vm_dev_up_checks(
    mocks: RecordingMocks, dev: ProgramResult, tmp_path: Path
) -> None:
    triton_docs = render_triton(mocks.release("triton-inference-server").inputs["values"], tmp_path)
    pods = [
        d["spec"]["template"]["spec"]
        for d in triton_docs
        if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet")
        and "helm.sh/hook" not in (d["metadata"].get("annotations") or {})
    ]
    requests = [c.get("resources", {}).get("requests", {}) for pod in pods for c in pod["containers"]]
    for chart in ("kube-prometheus-stack", "seaweedfs"):
        requests += _requests_in(mocks.release(chart).inputs["values"])
    millicpu = KIND_SYSTEM_MILLICPU + sum(_millicpu(r["cpu"]) for r in requests if "cpu" in r)
    mib = KIND_SYSTEM_MIB + sum(_mib(r["memory"]) for r in requests if "memory" in r)
    assert millicpu <= _dev_up_number("MIN_CPUS") * 1000, (millicpu, requests)
    assert mib <= _dev_up_number("MIN_FREE_MEMORY_MIB"), (mib, requests)
    assert _dev_up_number("MIN_FREE_MEMORY_MIB") < _dev_up_number("MIN_MEMORY_MIB")
    # What Triton asked before (2 CPUs, 4Gi) did not fit with the rest.
    assert mib - 2048 + 4096 > _dev_up_number("MIN_FREE_MEMORY_MIB")


# --- canary rollouts: Triton reads each release's own location --------------------------------


def provisioned_storage(_mocks: RecordingMocks, *edits: Edit) -> dict[str, Any]:
    """stacks.local.provision's StorageBinding, resolved (tests.support.cloud.provisioned_storage)."""
    return storage_of(local_stack.provision, parse_stack("dev", *edits))


def test_canary_reads_the_locations_root_through_the_same_s3_endpoint(mocks: RecordingMocks) -> None:
    canary = (*BEHIND_GATEWAY, drop_key("triton.service.nodePorts"), set_key("triton.rollout.strategy", "canary"))
    got = provisioned_storage(mocks, *canary)
    endpoint = "s3://http://seaweedfs-all-in-one.seaweedfs.svc.cluster.local:8333/triton-models"
    assert got["repo"] == f"{endpoint}/models"
    assert got["root"] == f"{endpoint}/{LOCATIONS_ROOT}"
    # SeaweedFS's one S3 identity (components/local/seaweedfs.py) reads the whole bucket: nothing to add.
    assert got["values"] == {}


def test_instant_storage_has_no_release_locations(mocks: RecordingMocks) -> None:
    got = provisioned_storage(mocks)
    assert (got["root"], got["values"]) == (None, None)


_DEV_PROGRAM = """
import json, sys
from pathlib import Path
from tests.support.pulumi_mocks import RecordingMocks, run_program
RecordingMocks().install("dev")
from stacks import build_stack
from triton_platform.config import load_config
run_program(lambda: build_stack(load_config(Path.cwd()), Path.cwd()))
print(json.dumps(sorted(sys.modules)))
"""


def test_dev_program_imports_no_provider_host_work(samples_built: Path) -> None:
    """A fresh interpreter evaluating the dev stack (as `pulumi up` starts one) loads none of NOT_IN_THE_DEV_PROGRAM."""
    loaded = set(fresh_interpreter(_DEV_PROGRAM))
    assert "stacks.local" in loaded  # the program ran
    assert not_in_the_dev_program(loaded) == []
