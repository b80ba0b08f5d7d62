"""GPU catalogue and the MIG mapping: which resources a Triton pod requests and where it lands.

The names here are the exact ones the NVIDIA GPU operator, its device plugin, GPU feature
discovery, mig-manager, GKE and AKS use (see DESIGN.md, "MIG strategies"). Pure data and
functions: no Pulumi, no cloud calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MigStrategy = Literal["none", "single", "mixed"]


@dataclass(frozen=True)
class GpuProduct:
    """One GPU model as GPU feature discovery labels it (``nvidia.com/gpu.product``)."""

    product: str
    compute_capability: str
    memory_gb: int
    mig_profiles: tuple[str, ...] = ()
    # GKE's accelerator type and the MIG partition sizes GKE accepts (a subset of mig_profiles).
    gke_accelerator: str | None = None
    gke_partition_sizes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = field(default=())

    @property
    def supports_mig(self) -> bool:
        return bool(self.mig_profiles)


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
        aliases=("A100-80GB", "A100-80GB-PCIe"),
    ),
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


@dataclass(frozen=True)
class MachineType:
    """A cloud instance type and the GPUs one node of it carries."""

    cloud: Literal["aws", "gcp", "azure"]
    name: str
    gpu_product: str
    gpu_count: int


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
    MachineType("azure", "Standard_NC24ads_A100_v4", "A100-SXM4-80GB", 1),
    MachineType("azure", "Standard_NC48ads_A100_v4", "A100-SXM4-80GB", 2),
    MachineType("azure", "Standard_NC96ads_A100_v4", "A100-SXM4-80GB", 4),
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


@dataclass(frozen=True)
class GpuPlacement:
    """What a Triton pod requests and where it is scheduled, for one GPU setup."""

    resources: dict[str, int]
    node_selector: dict[str, str]
    tolerations: tuple[dict[str, str], ...]
    # mig-manager picks its layout from this node label (EKS/AKS with the GPU operator).
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
) -> GpuPlacement:
    """The exact requests and node selector of DESIGN.md's MIG table.

    ``product`` None means a CPU-only Triton: no GPU request, no GPU selector.
    Time-slicing needs nothing special here: the device plugin advertises each GPU
    ``timeSlicingReplicas`` times as ``nvidia.com/gpu``.
    """
    if product is None:
        return GpuPlacement(resources={}, node_selector={}, tolerations=())
    entry = find_product(product)
    label = product  # the label value as configured: GFD writes it verbatim
    tol = (GPU_TOLERATION,)
    if gke:
        selector = {
            "cloud.google.com/gke-accelerator": entry.gke_accelerator if entry and entry.gke_accelerator else product
        }
        if strategy != "none" and mig_profile:
            selector["cloud.google.com/gke-gpu-partition-size"] = mig_profile
            return GpuPlacement({"nvidia.com/gpu": 1}, selector, tol)
        return GpuPlacement({"nvidia.com/gpu": gpus_per_replica}, selector, tol)
    if strategy == "none":
        return GpuPlacement({"nvidia.com/gpu": gpus_per_replica}, {"nvidia.com/gpu.product": label}, tol)
    if mig_profile is None:
        raise ValueError(f"MIG strategy {strategy!r} needs a migProfile (e.g. '1g.5gb')")
    layout = mig_config or f"all-{mig_profile}"
    if strategy == "single":
        return GpuPlacement(
            {"nvidia.com/gpu": 1},
            {"nvidia.com/gpu.product": f"{label}-MIG-{mig_profile}"},
            tol,
            mig_config_label=layout,
        )
    return GpuPlacement(
        {f"nvidia.com/mig-{mig_profile}": 1},
        {"nvidia.com/gpu.product": label},
        tol,
        mig_config_label=layout,
    )
