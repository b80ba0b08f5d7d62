"""GpuOperator: the NVIDIA GPU operator release (device plugin, GFD, DCGM exporter, mig-manager).

Used on EKS and AKS. The values are computed by the plain function ``operator_values`` (tested
without Pulumi); the component creates the operator's namespace (privileged: its daemonsets
load kernel modules and mount host paths), the optional time-slicing ConfigMap the device
plugin reads, and the Helm release pinned in ``triton_platform.catalog.versions.GPU_OPERATOR``.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pydantic import Field, model_validator

from components import kubernetes_objects
from components.base import ComponentArgs, pinned_chart_release
from triton_platform.catalog.gpu import GPU_TOLERATION, MigStrategy
from triton_platform.catalog.versions import GPU_OPERATOR, ChartPin

TIME_SLICING_CONFIG_MAP = "time-slicing-config"
# The key of the time-slicing ConfigMap that devicePlugin.config.default selects for every node.
TIME_SLICING_CONFIG_KEY = "any"
# The operator's own ConfigMap of mig-parted layouts (all-1g.5gb, all-2g.10gb, ...). Named on
# purpose: without a name, mig-manager generates its layouts from the node's hardware and falls back
# to this ConfigMap (gpu-operator v26.7.0 controllers/object_controls.go, mig-parted-config volume:
# CONFIG_FILE when a name is set, else DEFAULT_CONFIG_FILE); naming it keeps the static layouts
# triton_platform.catalog.mig_layouts counts slices from (assets/state-mig-manager/0400_configmap.yaml),
# and the operator still creates it under its default name.
MIG_PARTED_CONFIG_MAP = "default-mig-parted-config"
# mig-manager's layout for a node without a nvidia.com/mig.config label. The ClusterPolicy CRD
# admits only "all-disabled" or "" here (gpu-operator v26.7.0
# deployments/gpu-operator/crds/nvidia.com_clusterpolicies.yaml, spec.migManager.config.default):
# the layout itself comes from the node label the stack puts on its GPU pool.
MIG_MANAGER_DEFAULT = "all-disabled"
# The containerd runtime AKS GPU node images define (Azure/AgentBaker's containerd config
# template: runtimes.nvidia-container-runtime on N-series VMs, no runtime called "nvidia"). The
# operator runs its pods with runtimeClassName "nvidia" unless operator.runtimeClass says
# otherwise (controllers/object_controls.go setRuntimeClassName, v26.7.0: also with CDI, the
# chart's default since v25.10.0, on containerd); NVIDIA's AKS recipe sets it, with driver and
# toolkit off (NVIDIA/cloud-native-docs gpu-operator/microsoft-aks.rst, tag gpu-operator-v26.7-1).
AKS_RUNTIME_CLASS = "nvidia-container-runtime"
DNS_LABEL = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"


class GpuOperatorArgs(ComponentArgs):
    """How the GPU operator runs on one cluster."""

    k8s_provider: pulumi.ProviderResource
    namespace: str = Field(default="gpu-operator", pattern=DNS_LABEL)
    mig_strategy: MigStrategy = "none"
    # EKS: True (mig-manager partitions GPUs from the node label nvidia.com/mig.config).
    # AKS: False (the agent pool's gpuInstanceProfile partitions them).
    mig_manager_enabled: bool = False
    # mig-manager reboots the node when a MIG mode change needs a GPU reset the VM cannot do
    # (WITH_REBOOT; unset in the chart, "false" in mig-manager): EKS.
    mig_manager_reboot: bool = False
    # The RuntimeClass (= containerd runtime handler) of the operator's pods; None: the chart's "nvidia".
    runtime_class: str | None = Field(default=None, pattern=DNS_LABEL)
    time_slicing_replicas: int | None = Field(default=None, ge=2, le=48)
    # False where the node image ships the driver (EKS NVIDIA AMIs, AKS GPU node images).
    driver_enabled: bool = True
    # False where the node image ships the container toolkit (EKS AL2023 NVIDIA AMI).
    toolkit_enabled: bool = True
    # Where the operator's controller (and NFD master) run: the system pool.
    operator_node_selector: dict[str, str] = Field(default_factory=dict)
    # What the per-node daemonsets tolerate: the GPU pool's taint.
    tolerations: list[dict[str, str]] = Field(default_factory=lambda: [dict(GPU_TOLERATION)])
    # Labels on the DCGM exporter's ServiceMonitor (for a Prometheus that selects by label).
    service_monitor_labels: dict[str, str] = Field(default_factory=dict)
    chart: ChartPin = GPU_OPERATOR
    timeout_seconds: int = Field(default=900, ge=60, le=7200)

    @model_validator(mode="after")
    def _consistent(self) -> GpuOperatorArgs:
        if self.mig_strategy != "none" and self.time_slicing_replicas is not None:
            raise ValueError(
                "time_slicing_replicas is the fallback for GPUs without MIG; do not combine with a MIG strategy"
            )
        if self.mig_manager_reboot and not self.mig_manager_enabled:
            raise ValueError("mig_manager_reboot needs mig_manager_enabled=True (mig-manager reboots)")
        return self


def time_slicing_config(replicas: int) -> str:
    """The device plugin's sharing config: every GPU advertised ``replicas`` times."""
    doc = {
        "version": "v1",
        "flags": {"migStrategy": "none"},
        "sharing": {"timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": replicas}]}},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def operator_values(
    *,
    mig_strategy: MigStrategy,
    mig_manager_enabled: bool,
    driver_enabled: bool,
    toolkit_enabled: bool,
    mig_manager_reboot: bool = False,
    runtime_class: str | None = None,
    time_slicing_config_map: str | None = None,
    operator_node_selector: dict[str, str] | None = None,
    tolerations: list[dict[str, str]] | None = None,
    service_monitor_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Helm values of the gpu-operator chart for one GPU setup."""
    tols = [dict(t) for t in (tolerations if tolerations is not None else [GPU_TOLERATION])]
    mig_manager: dict[str, Any] = {"enabled": mig_manager_enabled}
    if mig_manager_enabled:
        mig_manager["config"] = {"name": MIG_PARTED_CONFIG_MAP, "default": MIG_MANAGER_DEFAULT}
    if mig_manager_reboot:
        # Replaces the chart's own (empty) list; env values are strings.
        mig_manager["env"] = [{"name": "WITH_REBOOT", "value": "true"}]
    # No operator.defaultRuntime: the operator detects the node's runtime itself and the chart no
    # longer copies it (v26.7.0 templates/clusterpolicy.yaml; the CRD marks it deprecated).
    operator: dict[str, Any] = {"nodeSelector": dict(operator_node_selector or {})}
    if runtime_class:
        operator["runtimeClass"] = runtime_class
    device_plugin: dict[str, Any] = {"enabled": True}
    if time_slicing_config_map:
        device_plugin["config"] = {"name": time_slicing_config_map, "default": TIME_SLICING_CONFIG_KEY}
    values: dict[str, Any] = {
        "operator": operator,
        "driver": {"enabled": driver_enabled},
        "toolkit": {"enabled": toolkit_enabled},
        "devicePlugin": device_plugin,
        "gfd": {"enabled": True},
        "migManager": mig_manager,
        "dcgmExporter": {
            "enabled": True,
            "serviceMonitor": {
                "enabled": True,
                "interval": "15s",
                "honorLabels": False,
                "additionalLabels": dict(service_monitor_labels or {}),
            },
        },
        "daemonsets": {"tolerations": tols},
        "node-feature-discovery": {
            "master": {"nodeSelector": dict(operator_node_selector or {})},
            "worker": {"tolerations": tols},
        },
    }
    # The ClusterPolicy's mig.strategy accepts single|mixed only; without MIG the chart's
    # default is left alone (it has no effect on GPUs whose MIG mode is off).
    if mig_strategy != "none":
        values["mig"] = {"strategy": mig_strategy}
    return values


class GpuOperator(pulumi.ComponentResource):
    """The NVIDIA GPU operator in its own privileged namespace."""

    namespace: pulumi.Output[str]
    release: k8s.helm.v3.Release
    time_slicing: kubernetes_objects.ConfigMap | None
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: GpuOperatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:gpu:GpuOperator", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        ns = kubernetes_objects.Namespace(
            f"{name}-ns",
            metadata=kubernetes_objects.object_meta(
                name=args.namespace,
                labels={
                    "app.kubernetes.io/part-of": "triton-platform",
                    # The driver/toolkit/device-plugin daemonsets need host access.
                    "pod-security.kubernetes.io/enforce": "privileged",
                    "pod-security.kubernetes.io/audit": "privileged",
                    "pod-security.kubernetes.io/warn": "privileged",
                },
            ),
            opts=child,
        )
        self.namespace = ns.metadata["name"]

        self.time_slicing = None
        deps: list[pulumi.Resource] = [ns]
        if args.time_slicing_replicas is not None:
            self.time_slicing = kubernetes_objects.ConfigMap(
                f"{name}-time-slicing",
                metadata=kubernetes_objects.object_meta(name=TIME_SLICING_CONFIG_MAP, namespace=self.namespace),
                data={TIME_SLICING_CONFIG_KEY: time_slicing_config(args.time_slicing_replicas)},
                opts=child,
            )
            deps.append(self.time_slicing)

        values = operator_values(
            mig_strategy=args.mig_strategy,
            mig_manager_enabled=args.mig_manager_enabled,
            mig_manager_reboot=args.mig_manager_reboot,
            runtime_class=args.runtime_class,
            driver_enabled=args.driver_enabled,
            toolkit_enabled=args.toolkit_enabled,
            time_slicing_config_map=TIME_SLICING_CONFIG_MAP if self.time_slicing is not None else None,
            operator_node_selector=args.operator_node_selector,
            tolerations=args.tolerations,
            service_monitor_labels=args.service_monitor_labels,
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            pinned_chart_release(
                args.chart,
                name="gpu-operator",
                namespace=self.namespace,
                values=values,
                timeout=args.timeout_seconds,
                # A failed upgrade rolls back: GPU nodes keep their working device plugin.
                atomic=True,
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, depends_on=deps),
        )
        self.ready = [self.release]
        self.register_outputs({"namespace": self.namespace, "releaseStatus": self.release.status})
