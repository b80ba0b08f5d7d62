"""GPU catalogue and the MIG mapping: which resources a Triton pod requests and where it lands.

The names here are the exact ones the NVIDIA GPU operator, its device plugin, GPU feature
discovery, mig-manager, GKE and AKS use (sources cited beside each constant; the README's
"Choosing a MIG strategy" section explains the strategies). Pure data and functions: no Pulumi, no cloud calls.

Pods are never pinned to ``nvidia.com/gpu.product``: GPU feature discovery writes the driver's
own product name, which changes with the driver. The stack labels the GPU pools it provisions
(``triton-platform/pool: gpu``) and selects on that; on GKE the GKE-managed accelerator and
partition labels select the pool. The GPU or MIG resource request does the rest.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

MigStrategy = Literal["none", "single", "mixed"]

# The label every composition puts on its GPU pool (EKS node group labels, GKE node pool
# labels, AKS agent pool nodeLabels), and on its system pool; Triton and the engine builds
# select on it.
POOL_LABEL = "triton-platform/pool"
GPU_POOL_SELECTOR = {POOL_LABEL: "gpu"}
SYSTEM_POOL_SELECTOR = {POOL_LABEL: "system"}
# mig-manager applies the mig-parted layout this node label names (gpu-operator
# assets/state-mig-manager/0400_configmap.yaml; NVIDIA/mig-parted deployments/container).
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
# mig-manager's progress on that layout: pending -> (rebooting ->) success | failed
# (NVIDIA/mig-parted v0.15.0 pkg/mig/reconfigure/reconfigure.go, the mig-manager
# gpu-operator v26.7.0 deploys). Until "success" a node under strategy 'single' still
# advertises whole GPUs as nvidia.com/gpu (NVIDIA/gpu-operator#2670).
MIG_CONFIG_STATE_LABEL = "nvidia.com/mig.config.state"
MIG_CONFIG_STATE_SUCCESS = "success"
# GPU feature discovery's compute capability labels, integers as strings ("8", "0"):
# NVIDIA/k8s-device-plugin docs/gpu-feature-discovery/README.md (label table).
GFD_COMPUTE_MAJOR = "nvidia.com/gpu.compute.major"
GFD_COMPUTE_MINOR = "nvidia.com/gpu.compute.minor"
# GKE's own node labels for GPU pools (GKE docs "Run multi-instance GPUs" / "About GPUs in GKE").
GKE_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
GKE_PARTITION_LABEL = "cloud.google.com/gke-gpu-partition-size"
# NVIDIA's name for MIG profiles with the media extensions ("1g.5gb+me", nvidia-smi mig -lgip).
MEDIA_EXTENSION_SUFFIX = "+me"


class GpuProduct(NamedTuple):
    """One GPU model as GPU feature discovery labels it (``nvidia.com/gpu.product``)."""

    product: str
    compute_capability: str
    memory_gb: int
    mig_profiles: tuple[str, ...] = ()
    # GKE's accelerator type and the MIG partition sizes GKE accepts (a subset of mig_profiles).
    gke_accelerator: str | None = None
    gke_partition_sizes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def supports_mig(self) -> bool:
        return bool(self.mig_profiles)


# MIG profiles per GPU, as the GPU operator's default mig-parted config lists them
# (NVIDIA/gpu-operator assets/state-mig-manager/0400_configmap.yaml: all-<profile> per GPU).
_A100_40_MIG = ("1g.5gb", "1g.5gb+me", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb")
_A100_80_MIG = ("1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")
_H100_80_MIG = ("1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")
_H200_MIG = ("1g.18gb", "1g.18gb+me", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb")
_A30_MIG = ("1g.6gb", "1g.6gb+me", "2g.12gb", "2g.12gb+me", "4g.24gb")

GPU_PRODUCTS: tuple[GpuProduct, ...] = (
    GpuProduct(
        "A100-SXM4-40GB",
        "8.0",
        40,
        _A100_40_MIG,
        gke_accelerator="nvidia-tesla-a100",
        gke_partition_sizes=("1g.5gb", "2g.10gb", "3g.20gb", "7g.40gb"),
        aliases=("A100-40GB", "A100-PCIE-40GB"),
    ),
    GpuProduct(
        "A100-SXM4-80GB",
        "8.0",
        80,
        _A100_80_MIG,
        gke_accelerator="nvidia-a100-80gb",
        gke_partition_sizes=("1g.10gb", "2g.20gb", "3g.40gb", "7g.80gb"),
        aliases=("A100-80GB",),
    ),
    # The PCIe card of Azure's NC A100 v4 (GFD writes NVML's "NVIDIA A100 80GB PCIe" as
    # NVIDIA-A100-80GB-PCIe); the same MIG profiles as the SXM4 part (device 0x20B5 is in the
    # 80GB filter of the GPU operator's mig-parted config).
    GpuProduct("A100-80GB-PCIe", "8.0", 80, _A100_80_MIG, aliases=("A100-PCIE-80GB",)),
    GpuProduct("A30", "8.0", 24, _A30_MIG, aliases=("A30-24GB",)),
    GpuProduct(
        "H100-80GB",
        "9.0",
        80,
        _H100_80_MIG,
        gke_accelerator="nvidia-h100-80gb",
        gke_partition_sizes=("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "7g.80gb"),
        aliases=("H100-80GB-HBM3", "H100-SXM5-80GB"),
    ),
    GpuProduct(
        "H200",
        "9.0",
        141,
        _H200_MIG,
        gke_accelerator="nvidia-h200-141gb",
        gke_partition_sizes=("1g.18gb", "2g.35gb", "3g.71gb", "7g.141gb"),
        aliases=("H200-141GB", "H200-SXM5-141GB"),
    ),
    GpuProduct("Tesla-T4", "7.5", 16, gke_accelerator="nvidia-tesla-t4", aliases=("T4",)),
    GpuProduct("L4", "8.9", 24, gke_accelerator="nvidia-l4"),
    GpuProduct("A10G", "8.6", 24),
    GpuProduct("L40S", "8.9", 48),
)


def _normalise(name: str) -> str:
    # GPU feature discovery prefixes newer drivers' names with "NVIDIA-"; accept both.
    n = name.strip()
    return n[len("NVIDIA-") :] if n.upper().startswith("NVIDIA-") else n


def find_product(name: str) -> GpuProduct | None:
    """The catalogue entry for a ``gpuProduct`` value (case-insensitive, aliases accepted)."""
    wanted = _normalise(name).lower()
    for p in GPU_PRODUCTS:
        if wanted == p.product.lower() or wanted in (a.lower() for a in p.aliases):
            return p
    return None


def known_products() -> list[str]:
    return [p.product for p in GPU_PRODUCTS]


class MachineType(NamedTuple):
    """A cloud instance type and the GPUs one node of it carries."""

    cloud: Literal["aws", "gcp", "azure"]
    name: str
    gpu_product: str
    gpu_count: int


# Each cloud's own VM documentation (tests/triton_platform/catalog/test_gpu.py pins the same table):
#   AWS   https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html (accelerated computing)
#   GCP   https://cloud.google.com/compute/docs/gpus and
#         https://cloud.google.com/compute/docs/accelerator-optimized-machines (A2, A3, G2; N1 + T4 attached)
#   Azure https://learn.microsoft.com/azure/virtual-machines/sizes/gpu-accelerated/ : nca100v4-series
#         (A100 PCIe 80GB), ndasra100v4-series (A100 40GB SXM4), ndma100v4-series (A100 80GB SXM4),
#         ndh100v5-series, nd-h200-v5-series, ncast4v3-series
MACHINE_TYPES: tuple[MachineType, ...] = (
    # AWS EC2
    MachineType("aws", "p4d.24xlarge", "A100-SXM4-40GB", 8),
    MachineType("aws", "p4de.24xlarge", "A100-SXM4-80GB", 8),
    MachineType("aws", "p5.48xlarge", "H100-80GB", 8),
    MachineType("aws", "p5e.48xlarge", "H200", 8),
    MachineType("aws", "p5en.48xlarge", "H200", 8),
    MachineType("aws", "g4dn.xlarge", "Tesla-T4", 1),
    MachineType("aws", "g4dn.12xlarge", "Tesla-T4", 4),
    MachineType("aws", "g5.xlarge", "A10G", 1),
    MachineType("aws", "g5.12xlarge", "A10G", 4),
    MachineType("aws", "g6.xlarge", "L4", 1),
    MachineType("aws", "g6e.xlarge", "L40S", 1),
    # Google Compute Engine (A2/A3 bundle their GPUs; G2 carries L4, N1 + T4 attach)
    MachineType("gcp", "a2-highgpu-1g", "A100-SXM4-40GB", 1),
    MachineType("gcp", "a2-highgpu-2g", "A100-SXM4-40GB", 2),
    MachineType("gcp", "a2-highgpu-4g", "A100-SXM4-40GB", 4),
    MachineType("gcp", "a2-highgpu-8g", "A100-SXM4-40GB", 8),
    MachineType("gcp", "a2-ultragpu-1g", "A100-SXM4-80GB", 1),
    MachineType("gcp", "a2-ultragpu-2g", "A100-SXM4-80GB", 2),
    MachineType("gcp", "a2-ultragpu-4g", "A100-SXM4-80GB", 4),
    MachineType("gcp", "a2-ultragpu-8g", "A100-SXM4-80GB", 8),
    MachineType("gcp", "a3-highgpu-1g", "H100-80GB", 1),
    MachineType("gcp", "a3-highgpu-2g", "H100-80GB", 2),
    MachineType("gcp", "a3-highgpu-4g", "H100-80GB", 4),
    MachineType("gcp", "a3-highgpu-8g", "H100-80GB", 8),
    MachineType("gcp", "a3-ultragpu-8g", "H200", 8),
    MachineType("gcp", "g2-standard-4", "L4", 1),
    MachineType("gcp", "g2-standard-8", "L4", 1),
    MachineType("gcp", "n1-standard-8", "Tesla-T4", 1),
    # Azure
    MachineType("azure", "Standard_NC24ads_A100_v4", "A100-80GB-PCIe", 1),
    MachineType("azure", "Standard_NC48ads_A100_v4", "A100-80GB-PCIe", 2),
    MachineType("azure", "Standard_NC96ads_A100_v4", "A100-80GB-PCIe", 4),
    MachineType("azure", "Standard_ND96asr_v4", "A100-SXM4-40GB", 8),
    MachineType("azure", "Standard_ND96amsr_A100_v4", "A100-SXM4-80GB", 8),
    MachineType("azure", "Standard_ND96isr_H100_v5", "H100-80GB", 8),
    MachineType("azure", "Standard_ND96isr_H200_v5", "H200", 8),
    MachineType("azure", "Standard_NC4as_T4_v3", "Tesla-T4", 1),
    MachineType("azure", "Standard_NC16as_T4_v3", "Tesla-T4", 1),
)


def find_machine_type(cloud: str, name: str) -> MachineType | None:
    for m in MACHINE_TYPES:
        if m.cloud == cloud and m.name.lower() == name.lower():
            return m
    return None


def machine_types_for(cloud: str, product: str | None = None) -> list[str]:
    p = find_product(product) if product else None
    return [m.name for m in MACHINE_TYPES if m.cloud == cloud and (p is None or m.gpu_product == p.product)]


# AKS expresses MIG through the agent pool's gpuInstanceProfile, one value per slice size.
AKS_GPU_INSTANCE_PROFILES = {
    "1g": "MIG1g",
    "2g": "MIG2g",
    "3g": "MIG3g",
    "4g": "MIG4g",
    "7g": "MIG7g",
}


def aks_gpu_instance_profile(mig_profile: str) -> str:
    """``1g.10gb`` -> ``MIG1g`` (AKS partitions by compute slices only)."""
    return AKS_GPU_INSTANCE_PROFILES[mig_profile.split(".", 1)[0]]


def mig_name(mig_profile: str) -> str:
    """The profile as label values and resource names spell it: ``1g.5gb+me`` -> ``1g.5gb.me``.

    ``+`` is valid in neither. The device plugin names the resource
    ``strings.ReplaceAll("mig-"+profile, "+", ".")`` (NVIDIA/k8s-device-plugin internal/rm/rm.go,
    AddDefaultResourcesToConfig) and the GPU operator's mig-parted config names the layout
    ``all-1g.5gb.me`` for ``"1g.5gb+me": 1`` (assets/state-mig-manager/0400_configmap.yaml).
    """
    return mig_profile.replace("+", ".")


def mig_layout(mig_profile: str) -> str:
    """mig-manager's ``all-<profile>`` layout: ``all-1g.5gb``, ``all-1g.5gb.me``."""
    return f"all-{mig_name(mig_profile)}"


def mig_resource(mig_profile: str) -> str:
    """The device plugin's resource for a MIG slice under strategy 'mixed': ``nvidia.com/mig-1g.5gb.me``."""
    return f"nvidia.com/mig-{mig_name(mig_profile)}"


def compute_capability_selector(compute_capability: str) -> dict[str, str]:
    """GPU feature discovery's labels of a GPU architecture: ``8.0`` -> major ``8``, minor ``0``."""
    major, minor = compute_capability.split(".")
    return {GFD_COMPUTE_MAJOR: str(int(major)), GFD_COMPUTE_MINOR: str(int(minor))}


class GpuPlacement(NamedTuple):
    """What a Triton pod requests and where it is scheduled, for one GPU setup."""

    resources: dict[str, int]
    node_selector: dict[str, str]
    tolerations: tuple[dict[str, str], ...]
    # mig-manager picks its layout from this node label (EKS with the GPU operator's mig-manager).
    mig_config_label: str | None = None


GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def placement(
    *,
    product: str | None,
    strategy: MigStrategy = "none",
    mig_profile: str | None = None,
    gpus_per_replica: int = 1,
    gke: bool = False,
    mig_config: str | None = None,
    mig_manager: bool = True,
) -> GpuPlacement:
    """The exact requests and node selector of the MIG strategies (README, "Choosing a MIG strategy").

    ``product`` None means a CPU-only Triton: no GPU request, no GPU selector. Otherwise the pod
    is pinned to the GPU pool the stack labelled (``triton-platform/pool: gpu``), on GKE to the
    GKE-managed ``gke-accelerator`` (+ ``gke-gpu-partition-size``) labels. ``mig_manager``: the
    GPU operator's mig-manager partitions the pool from ``nvidia.com/mig.config`` (EKS); False
    where the cloud partitions it (AKS gpuInstanceProfile): no layout label then.
    Time-slicing needs nothing special here: the device plugin advertises each GPU
    ``timeSlicingReplicas`` times as ``nvidia.com/gpu``.
    """
    if product is None:
        return GpuPlacement(resources={}, node_selector={}, tolerations=())
    entry = find_product(product)
    tol = (GPU_TOLERATION,)
    if strategy != "none" and mig_profile is None:
        raise ValueError(f"MIG strategy {strategy!r} needs a migProfile (e.g. '1g.5gb')")
    if gke:
        if entry is None or entry.gke_accelerator is None:
            raise ValueError(f"{product!r} has no GKE accelerator type in triton_platform.catalog.gpu")
        selector = {GKE_ACCELERATOR_LABEL: entry.gke_accelerator}
        if strategy != "none" and mig_profile:
            if MEDIA_EXTENSION_SUFFIX in mig_profile:
                raise ValueError(f"GKE has no partition size {mig_profile!r} (media-extension profiles)")
            selector[GKE_PARTITION_LABEL] = mig_profile
            return GpuPlacement({"nvidia.com/gpu": 1}, selector, tol)
        return GpuPlacement({"nvidia.com/gpu": gpus_per_replica}, selector, tol)
    selector = dict(GPU_POOL_SELECTOR)
    if strategy == "none":
        return GpuPlacement({"nvidia.com/gpu": gpus_per_replica}, selector, tol)
    assert mig_profile is not None  # checked above
    layout = (mig_config or mig_layout(mig_profile)) if mig_manager else None
    if strategy == "single":
        # Every GPU of the pool is cut the same way; the stack sets the layout label itself.
        # The label is there from the node's birth, before mig-manager has cut the GPUs: wait
        # for its "success" too, or a pod binds a whole GPU (NVIDIA/gpu-operator#2670).
        if layout:
            selector[MIG_CONFIG_LABEL] = layout
            selector[MIG_CONFIG_STATE_LABEL] = MIG_CONFIG_STATE_SUCCESS
        return GpuPlacement({"nvidia.com/gpu": 1}, selector, tol, mig_config_label=layout)
    return GpuPlacement({mig_resource(mig_profile): 1}, selector, tol, mig_config_label=layout)


def engine_build_selectors(product: str | None, *, gke: bool = False) -> dict[str, dict[str, str]]:
    """Per compute capability a GPU pool of the stack provides, the labels of nodes with that GPU.

    An engine-build Job for capability ``cc`` adds ``result[cc]`` to its node selector, so it
    runs on a GPU of the engine's own architecture; a capability missing here is one no pool
    provides (the config rejects it). GPU feature discovery (run by the GPU operator on EKS and
    AKS) labels nodes ``nvidia.com/gpu.compute.major``/``.minor``; GKE runs no GFD, but its
    ``gke-accelerator`` label names the GPU model and so the architecture.
    """
    entry = find_product(product) if product else None
    if entry is None:
        return {}
    if gke:
        if entry.gke_accelerator is None:
            return {}
        return {entry.compute_capability: {GKE_ACCELERATOR_LABEL: entry.gke_accelerator}}
    return {entry.compute_capability: compute_capability_selector(entry.compute_capability)}
