"""Every ClusterPolicy our GPU operator values make, checked against the pinned chart's own CRD.

The gpu-operator chart (NVIDIA/gpu-operator v26.7.0, ``triton_platform.catalog.versions.GPU_OPERATOR``)
turns its values into one ``ClusterPolicy`` (``deployments/gpu-operator/templates/clusterpolicy.yaml``),
which the API server validates against the CRD's ``openAPIV3Schema``
(``deployments/gpu-operator/crds/nvidia.com_clusterpolicies.yaml``). A value the schema refuses
fails the release, and the atomic release rolls back: no GPU operator at all. A field the schema
does not declare is pruned (structural schemas), so the value silently does nothing; both are
errors here.

The values come from the stacks themselves (``stacks.aws`` on EKS, ``stacks.azure`` on AKS, built
under the Pulumi mocks), for every MIG strategy and time-slicing; GKE runs no GPU operator.

- Without the chart: the values are mapped to the ClusterPolicy sections the chart copies them to
  (``CHART_MAPPING``, read from templates/clusterpolicy.yaml at v26.7.0) and validated against the
  CRD schema committed as test data (``data/clusterpolicy-crd-v26.7.0.json``: the CRD's schema with
  its descriptions removed, source and commit inside).
- With the chart: set ``GPU_OPERATOR_CHART`` to ``deployments/gpu-operator`` of the v26.7.0 tag
  (the NGC chart tarball, or a checkout whose Chart.yaml carries the tag as its version, as
  NVIDIA's packaging writes it), and the real helm renders it with the same values: the rendered
  ClusterPolicy must fit the chart's own CRD, the committed schema must be that CRD, and the
  mapping must be what the chart does. Without it those tests skip, saying so.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import stacks
from components.gpu.gpu_operator import AKS_RUNTIME_CLASS
from tests.support.cloud import build_stack
from tests.support.pulumi_mocks import RecordingMocks
from tests.support.stacks import Edit, parse_stack, set_key
from tests.support.tools import helm_path
from triton_platform.catalog.versions import DEFAULT_KUBERNETES_VERSION, GPU_OPERATOR

SCHEMA_FILE = Path(__file__).parent / "data" / "clusterpolicy-crd-v26.7.0.json"
CHART_ENV = "GPU_OPERATOR_CHART"
CRD_PATH = Path("crds") / "nvidia.com_clusterpolicies.yaml"

# What templates/clusterpolicy.yaml (v26.7.0) copies from our values into ClusterPolicy.spec:
# spec.<section>.<key> = .Values.<section>.<key>. test_mapping_is_what_the_chart_renders checks it.
CHART_MAPPING: dict[str, tuple[str, ...]] = {
    "operator": ("runtimeClass",),
    "driver": ("enabled",),
    "toolkit": ("enabled",),
    "devicePlugin": ("enabled", "config"),
    "gfd": ("enabled",),
    "migManager": ("enabled", "env", "config"),
    "dcgmExporter": ("enabled", "serviceMonitor"),
    "daemonsets": ("tolerations",),
    "mig": ("strategy",),
}
# Values that do not reach the ClusterPolicy: the operator Deployment's own nodeSelector
# (templates/operator.yaml) and the node-feature-discovery subchart.
NOT_IN_CLUSTER_POLICY = {("operator", "nodeSelector"), ("node-feature-discovery", None)}

T4_POOL = (
    set_key("cluster.gpuNodePool.gpuProduct", "Tesla-T4"),
    set_key("cluster.gpuNodePool.gpuCount", 1),
)
# name -> (example stack, edits, gpu block)
CASES: dict[str, tuple[str, tuple[Edit, ...], dict[str, Any]]] = {
    "eks-none": ("prod", (), {"migStrategy": "none"}),
    "eks-single": ("prod", (), {"migStrategy": "single", "migProfile": "1g.5gb"}),
    "eks-mixed": ("prod", (), {"migStrategy": "mixed", "migProfile": "1g.5gb"}),
    "eks-mixed-media": ("prod", (), {"migStrategy": "mixed", "migProfile": "1g.5gb+me"}),
    "eks-time-slicing": (
        "prod",
        (set_key("cluster.gpuNodePool.machineType", "g4dn.xlarge"), *T4_POOL),
        {"timeSlicingReplicas": 4},
    ),
    "aks-none": ("prod-azure", (), {"migStrategy": "none"}),
    "aks-single": ("prod-azure", (), {"migStrategy": "single", "migProfile": "1g.10gb"}),
    "aks-mixed": ("prod-azure", (), {"migStrategy": "mixed", "migProfile": "3g.40gb"}),
    "aks-time-slicing": (
        "prod-azure",
        (set_key("cluster.gpuNodePool.machineType", "Standard_NC4as_T4_v3"), *T4_POOL),
        {"timeSlicingReplicas": 4},
    ),
}
MIG_ON_EKS = ("eks-single", "eks-mixed", "eks-mixed-media")


def operator_values(mocks: RecordingMocks, case: str) -> dict[str, Any]:
    """The gpu-operator release values the stack of ``case`` registers."""
    stack, edits, gpu_cfg = CASES[case]
    build_stack(mocks, stacks.build_stack, parse_stack(stack, *edits, gpu=gpu_cfg))
    values: dict[str, Any] = mocks.release("gpu-operator").inputs["values"]
    return values


def committed_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())["openAPIV3Schema"]
    return schema


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with undeclared fields refused where the API server would prune them.

    Kubernetes prunes fields a structural schema does not declare unless the object says
    ``x-kubernetes-preserve-unknown-fields``; a pruned value of ours would do nothing.
    """
    out = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out


def without_nulls(node: Any) -> Any:
    """What the API server keeps of ``node``: a null field whose schema is not ``nullable`` is pruned.

    (Kubernetes docs, "Extend the Kubernetes API with CustomResourceDefinitions", Defaulting and
    Nullable; no field of this CRD is nullable.) The chart renders ``config.name: ""`` as null.
    """
    if isinstance(node, dict):
        return {k: without_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [without_nulls(v) for v in node]
    return node


def errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(strict(schema))
    found = validator.iter_errors(without_nulls(instance))
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in found]


def cluster_policy_sections(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ClusterPolicy.spec sections ``values`` fill, as the chart's template copies them."""
    unmapped = []
    for section, body in values.items():
        for key in body if isinstance(body, dict) else [None]:
            if (section, key) in NOT_IN_CLUSTER_POLICY or (section, None) in NOT_IN_CLUSTER_POLICY:
                continue
            if key not in CHART_MAPPING.get(section, ()):
                unmapped.append(f"{section}.{key}")
    # A new value must be placed here first: where does the chart put it?
    assert unmapped == [], f"values this test does not know the ClusterPolicy place of: {unmapped}"
    spec: dict[str, dict[str, Any]] = {}
    for section, keys in CHART_MAPPING.items():
        body = {k: values[section][k] for k in keys if k in values.get(section, {})}
        if body:
            spec[section] = body
    return spec


# --------------------------------------------------------------------------- without the chart


@pytest.mark.parametrize("case", list(CASES))
def test_every_cluster_policy_section_fits_the_crd(case: str, mocks: RecordingMocks, samples_built: Path) -> None:
    # On main, EKS with MIG set migManager.config.default to the layout ("all-1g.5gb"); the CRD's
    # enum is ["all-disabled", ""] (crds/nvidia.com_clusterpolicies.yaml v26.7.0).
    spec_schema = committed_schema()["properties"]["spec"]["properties"]
    sections = cluster_policy_sections(operator_values(mocks, case))
    assert {"driver", "toolkit", "devicePlugin", "migManager", "daemonsets"} <= set(sections)
    problems = {section: errors(body, spec_schema[section]) for section, body in sections.items()}
    assert {k: v for k, v in problems.items() if v} == {}


def test_the_crd_refuses_a_layout_as_mig_manager_default() -> None:
    # The very value main shipped, refused by the schema (the test above would catch it).
    mig_manager = committed_schema()["properties"]["spec"]["properties"]["migManager"]
    assert errors({"config": {"name": "default-mig-parted-config", "default": "all-1g.5gb"}}, mig_manager)
    assert not errors({"config": {"name": "default-mig-parted-config", "default": "all-disabled"}}, mig_manager)


@pytest.mark.parametrize("case", ["aks-none", "aks-single", "aks-mixed", "aks-time-slicing"])
def test_aks_operator_pods_use_the_runtime_aks_defines(case: str, mocks: RecordingMocks, samples_built: Path) -> None:
    # AKS GPU node images define the containerd runtime "nvidia-container-runtime" only
    # (Azure/AgentBaker containerd config template: IsNSeriesSKU -> runtimes.nvidia-container-runtime);
    # the operator puts runtimeClassName "nvidia" on its pods unless operator.runtimeClass says
    # otherwise (gpu-operator v26.7.0 controllers/object_controls.go DefaultRuntimeClass /
    # setRuntimeClassName, CDI or not), and NVIDIA's AKS recipe sets it (NVIDIA/cloud-native-docs
    # gpu-operator/microsoft-aks.rst@gpu-operator-v26.7-1: --set operator.runtimeClass=nvidia-container-runtime).
    sections = cluster_policy_sections(operator_values(mocks, case))
    assert AKS_RUNTIME_CLASS == "nvidia-container-runtime"
    assert sections["operator"]["runtimeClass"] == AKS_RUNTIME_CLASS
    assert sections["driver"] == {"enabled": False}
    assert sections["toolkit"] == {"enabled": False}


@pytest.mark.parametrize("case", ["eks-none", "eks-time-slicing"])
def test_eks_keeps_the_operator_runtime_class(case: str, mocks: RecordingMocks, samples_built: Path) -> None:
    # The EKS NVIDIA AMI's containerd runtime is the toolkit's "nvidia": the chart's default. With
    # operator.defaultRuntime gone (v26.7.0), EKS sets nothing of spec.operator.
    assert "runtimeClass" not in cluster_policy_sections(operator_values(mocks, case)).get("operator", {})


@pytest.mark.parametrize("case", MIG_ON_EKS)
def test_eks_mig_manager_reboots_for_a_mode_change(case: str, mocks: RecordingMocks, samples_built: Path) -> None:
    # A MIG mode change needs a GPU reset; where the VM cannot do it, mig-manager reboots the node
    # only with WITH_REBOOT=true (NVIDIA/mig-parted v0.15.0 pkg/mig/reconfigure/reconfigure.go,
    # the k8s-mig-manager gpu-operator v26.7.0 deploys; otherwise exit_failed marks
    # nvidia.com/mig.config.state=failed and 'single' pods get whole GPUs). mig-manager's default is
    # "false" (the chart sets no env); NVIDIA's MIG guide asks for "true" on cloud VMs
    # (NVIDIA/cloud-native-docs gpu-operator/gpu-operator-mig.rst@gpu-operator-v26.7-1).
    mig_manager = cluster_policy_sections(operator_values(mocks, case))["migManager"]
    assert mig_manager["enabled"] is True
    assert mig_manager["env"] == [{"name": "WITH_REBOOT", "value": "true"}]
    assert mig_manager["config"]["default"] == "all-disabled"


# --------------------------------------------------------------------------- with the chart


def _chart() -> Path | None:
    path = os.environ.get(CHART_ENV)
    if not path or not (Path(path) / "Chart.yaml").is_file():
        return None
    version = yaml.safe_load((Path(path) / "Chart.yaml").read_text())["version"]
    assert version == GPU_OPERATOR.version, (
        f"{CHART_ENV} is chart version {version}, the stack pins {GPU_OPERATOR.version}"
    )
    return Path(path)


CHART = _chart()
needs_chart: Callable[[Any], Any] = pytest.mark.skipif(
    CHART is None,
    reason=f"gpu-operator is a third-party chart, not vendored: set {CHART_ENV} to deployments/gpu-operator of "
    f"NVIDIA/gpu-operator {GPU_OPERATOR.version} (Chart.yaml version {GPU_OPERATOR.version})",
)


def chart_crd_schema() -> dict[str, Any]:
    assert CHART is not None
    crd = yaml.safe_load((CHART / CRD_PATH).read_text())
    (version,) = crd["spec"]["versions"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def render_cluster_policy(values: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    assert CHART is not None
    values_file = tmp_path / "gpu-operator-values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    proc = subprocess.run(
        [
            *(str(helm_path()), "template", "gpu-operator", str(CHART), "--namespace", "gpu-operator"),
            *("-f", str(values_file), "--kube-version", f"{DEFAULT_KUBERNETES_VERSION}.0"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (policy,) = [d for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] == "ClusterPolicy"]
    assert isinstance(policy, dict)
    return policy


@pytest.mark.chart
@needs_chart
def test_committed_schema_is_the_charts_crd() -> None:
    def no_descriptions(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: no_descriptions(v) for k, v in node.items() if k != "description"}
        if isinstance(node, list):
            return [no_descriptions(v) for v in node]
        return node

    assert committed_schema() == no_descriptions(chart_crd_schema())


@pytest.mark.chart
@needs_chart
@pytest.mark.parametrize("case", list(CASES))
def test_rendered_cluster_policy_fits_the_charts_crd(
    case: str, mocks: RecordingMocks, samples_built: Path, tmp_path: Path
) -> None:
    policy = render_cluster_policy(operator_values(mocks, case), tmp_path)
    assert errors(policy, chart_crd_schema()) == []


@pytest.mark.chart
@needs_chart
@pytest.mark.parametrize("case", list(CASES))
def test_mapping_is_what_the_chart_renders(
    case: str, mocks: RecordingMocks, samples_built: Path, tmp_path: Path
) -> None:
    # Helm merges a map of ours over the chart's defaults and replaces lists and scalars.
    values = operator_values(mocks, case)
    spec = render_cluster_policy(values, tmp_path)["spec"]
    sections = cluster_policy_sections(values)
    assert sections
    for section, body in sections.items():
        for key, value in body.items():
            rendered = spec[section][key]
            if isinstance(value, dict):
                assert {k: rendered.get(k) for k in value} == value, (section, key, rendered)
            else:
                assert rendered == value, (section, key)
