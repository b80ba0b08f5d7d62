"""GpuOperator: the operator's Helm values (plain) and the resources it registers (Pulumi mocks)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml
from pydantic import ValidationError

from components.gpu.gpu_operator import (
    AKS_RUNTIME_CLASS,
    MIG_PARTED_CONFIG_MAP,
    TIME_SLICING_CONFIG_KEY,
    TIME_SLICING_CONFIG_MAP,
    GpuOperator,
    GpuOperatorArgs,
    operator_values,
    time_slicing_config,
)
from tests.support.pulumi_mocks import RecordingMocks
from triton_platform.catalog.gpu import GPU_TOLERATION
from triton_platform.catalog.versions import GPU_OPERATOR

RELEASE = "kubernetes:helm.sh/v3:Release"


def _values(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "mig_strategy": "none",
        "mig_manager_enabled": False,
        "driver_enabled": False,
        "toolkit_enabled": False,
    }
    return operator_values(**{**base, **overrides})


# --- plain values ----------------------------------------------------------------------------


def test_time_slicing_config_is_the_device_plugin_sharing_schema() -> None:
    doc = yaml.safe_load(time_slicing_config(4))
    assert doc == {
        "version": "v1",
        "flags": {"migStrategy": "none"},
        "sharing": {"timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}},
    }


def test_values_without_mig_leave_the_mig_strategy_alone() -> None:
    v = _values()
    assert "mig" not in v
    assert v["migManager"] == {"enabled": False}
    assert v["driver"] == {"enabled": False}
    assert v["toolkit"] == {"enabled": False}
    assert v["devicePlugin"] == {"enabled": True}
    assert v["dcgmExporter"]["serviceMonitor"]["enabled"] is True
    assert v["daemonsets"]["tolerations"] == [GPU_TOLERATION]
    assert v["node-feature-discovery"]["worker"]["tolerations"] == [GPU_TOLERATION]


@pytest.mark.parametrize("strategy", ["single", "mixed"])
def test_values_with_mig_manager_take_the_layout_from_the_node_label(strategy: str) -> None:
    # The ClusterPolicy CRD admits only "all-disabled" or "" as migManager.config.default
    # (gpu-operator v26.7.0 deployments/gpu-operator/crds/nvidia.com_clusterpolicies.yaml; every
    # rendered ClusterPolicy is validated in test_cluster_policy.py): the layout is the node's
    # nvidia.com/mig.config label, which the stack puts on its GPU node group.
    v = _values(mig_strategy=strategy, mig_manager_enabled=True)
    assert v["mig"] == {"strategy": strategy}
    assert v["migManager"] == {"enabled": True, "config": {"name": MIG_PARTED_CONFIG_MAP, "default": "all-disabled"}}


def test_values_mig_manager_reboots_for_a_mode_change() -> None:
    # mig-manager resets the GPU for a MIG mode change and, where the VM forbids the reset,
    # reboots the node only with WITH_REBOOT=true (NVIDIA/mig-parted v0.15.0, the mig-manager
    # gpu-operator v26.7.0 deploys: pkg/mig/reconfigure/reconfigure.go applies the MIG mode and,
    # where it did not take, reboots only with WithReboot (env WITH_REBOOT), else "failed"). Its default is
    # "false" (the chart sets no migManager.env); NVIDIA's MIG guide sets it to "true" on cloud VMs
    # (NVIDIA/cloud-native-docs gpu-operator/gpu-operator-mig.rst@gpu-operator-v26.7-1).
    v = _values(mig_strategy="single", mig_manager_enabled=True, mig_manager_reboot=True)
    assert v["migManager"]["env"] == [{"name": "WITH_REBOOT", "value": "true"}]
    assert "env" not in _values(mig_strategy="single", mig_manager_enabled=True)["migManager"]


def test_values_runtime_class_only_where_asked() -> None:
    # Without operator.runtimeClass the operator runs its pods with runtimeClassName "nvidia"
    # (gpu-operator v26.7.0 controllers/object_controls.go: DefaultRuntimeClass, setRuntimeClassName).
    assert "runtimeClass" not in _values()["operator"]
    v = _values(runtime_class=AKS_RUNTIME_CLASS)
    assert v["operator"]["runtimeClass"] == "nvidia-container-runtime"


def test_values_aks_style_mig_without_mig_manager() -> None:
    # AKS partitions through gpuInstanceProfile: strategy set, mig-manager off.
    v = _values(mig_strategy="mixed", driver_enabled=False, toolkit_enabled=True)
    assert v["mig"] == {"strategy": "mixed"}
    assert v["migManager"] == {"enabled": False}
    assert v["toolkit"] == {"enabled": True}


def test_values_time_slicing_reference_the_config_map() -> None:
    v = _values(time_slicing_config_map="ts")
    assert v["devicePlugin"]["config"] == {"name": "ts", "default": TIME_SLICING_CONFIG_KEY}


def test_values_operator_placement_and_monitor_labels() -> None:
    v = _values(operator_node_selector={"pool": "system"}, service_monitor_labels={"release": "kps"})
    assert v["operator"]["nodeSelector"] == {"pool": "system"}
    # The chart no longer copies operator.defaultRuntime (v26.7.0 templates/clusterpolicy.yaml).
    assert "defaultRuntime" not in v["operator"]
    assert v["node-feature-discovery"]["master"]["nodeSelector"] == {"pool": "system"}
    assert v["dcgmExporter"]["serviceMonitor"]["additionalLabels"] == {"release": "kps"}


# --- args validation -------------------------------------------------------------------------


@pulumi.runtime.test
def test_args_reject_inconsistent_settings(mocks: RecordingMocks) -> None:
    provider = k8s.Provider("k8s", kubeconfig="{}")
    with pytest.raises(ValidationError, match="time_slicing_replicas"):
        GpuOperatorArgs(k8s_provider=provider, mig_strategy="single", time_slicing_replicas=4)
    with pytest.raises(ValidationError, match="mig_manager_enabled"):
        GpuOperatorArgs(k8s_provider=provider, mig_strategy="single", mig_manager_reboot=True)
    with pytest.raises(ValidationError, match="namespace"):
        GpuOperatorArgs(k8s_provider=provider, namespace="Bad_NS")
    with pytest.raises(ValidationError, match="runtime_class"):
        GpuOperatorArgs(k8s_provider=provider, runtime_class="Nvidia Runtime")
    with pytest.raises(ValidationError, match="k8s_provider"):
        GpuOperatorArgs(k8s_provider="not-a-provider")
    # The layout is no operator setting any more: the node label carries it.
    with pytest.raises(ValidationError, match="default_mig_config"):
        GpuOperatorArgs(k8s_provider=provider, mig_manager_enabled=True, default_mig_config="all-1g.5gb")  # type: ignore[call-arg]
    GpuOperatorArgs(k8s_provider=provider, mig_strategy="mixed", mig_manager_enabled=True, mig_manager_reboot=True)


# --- resources under the mock runtime --------------------------------------------------------


def _build(mocks: RecordingMocks, **args: Any) -> None:
    @pulumi.runtime.test
    def run() -> pulumi.Output[Any]:
        provider = k8s.Provider("cluster-k8s", kubeconfig="{}")
        op = GpuOperator("gpu", GpuOperatorArgs(k8s_provider=provider, **args))
        assert op.ready == [op.release]
        return pulumi.Output.all(op.namespace, op.release.id).apply(lambda a: a)

    run()


def test_component_mig_on_eks(mocks: RecordingMocks) -> None:
    _build(
        mocks,
        mig_strategy="single",
        mig_manager_enabled=True,
        mig_manager_reboot=True,
        driver_enabled=False,
        toolkit_enabled=False,
    )
    ns = mocks.of_type("kubernetes:core/v1:Namespace")
    assert len(ns) == 1
    labels = ns[0].inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert ns[0].inputs["metadata"]["name"] == "gpu-operator"
    assert mocks.of_type("kubernetes:core/v1:ConfigMap") == []

    (release,) = mocks.of_type(RELEASE)
    inputs = release.inputs
    assert inputs["chart"] == GPU_OPERATOR.chart
    assert inputs["version"] == GPU_OPERATOR.version
    assert inputs["repositoryOpts"]["repo"] == GPU_OPERATOR.repo
    assert inputs["namespace"] == "gpu-operator"
    values = inputs["values"]
    assert values["mig"] == {"strategy": "single"}
    assert values["migManager"] == {
        "enabled": True,
        "config": {"name": MIG_PARTED_CONFIG_MAP, "default": "all-disabled"},
        "env": [{"name": "WITH_REBOOT", "value": "true"}],
    }
    assert values["driver"] == {"enabled": False}
    assert values["toolkit"] == {"enabled": False}
    assert values["dcgmExporter"]["serviceMonitor"]["enabled"] is True

    component = mocks.of_type("triton:gpu:GpuOperator")
    assert [c.name for c in component] == ["gpu"]
    # Every Kubernetes child uses the cluster's provider, passed in explicitly.
    k8s_children = [r for r in mocks.resources if r.type.startswith("kubernetes:")]
    assert k8s_children
    for r in k8s_children:
        assert "cluster-k8s" in (r.provider or ""), (r.type, r.name, r.provider)


def test_component_time_slicing(mocks: RecordingMocks) -> None:
    _build(mocks, time_slicing_replicas=4, driver_enabled=False)
    (cm,) = mocks.of_type("kubernetes:core/v1:ConfigMap")
    assert cm.inputs["metadata"]["name"] == TIME_SLICING_CONFIG_MAP
    assert cm.inputs["metadata"]["namespace"] == "gpu-operator"
    sharing = yaml.safe_load(cm.inputs["data"][TIME_SLICING_CONFIG_KEY])["sharing"]
    assert sharing["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
    (release,) = mocks.of_type(RELEASE)
    assert release.inputs["values"]["devicePlugin"]["config"] == {
        "name": TIME_SLICING_CONFIG_MAP,
        "default": TIME_SLICING_CONFIG_KEY,
    }
    assert "mig" not in release.inputs["values"]
    assert cm.provider
    assert "cluster-k8s" in cm.provider
