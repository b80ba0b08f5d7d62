"""Rules of the GPU node pool and the ``gpu`` keys against the catalogue (triton_platform.catalog.gpu).

The GPU product must be a known one, the machine type must carry it (and as many GPUs as
``gpuCount`` says), and a MIG profile must be one the product has. What a cloud adds to that
(GKE's partition sizes, AKS's instance profiles) is in that cloud's rules.
"""

from __future__ import annotations

from triton_platform.catalog import gpu
from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import GpuNodePool, PlatformConfig


def _machine_type_issues(cloud: str, pool: GpuNodePool, product: gpu.GpuProduct) -> list[Issue]:
    """The pool's machine type is a known one of the cloud, with the configured GPU and GPU count."""
    machine = gpu.find_machine_type(cloud, pool.machine_type)
    choices = ", ".join(gpu.machine_types_for(cloud, product.product)) or "none in the catalogue"
    if machine is None:
        return [
            Issue(
                key("cluster.gpuNodePool.machineType"),
                f"{pool.machine_type!r} is not a known {cloud} GPU machine type; for {product.product}: {choices}",
                repr(choices.split(", ")[0]),
            )
        ]
    if machine.gpu_product != product.product:
        return [
            Issue(
                key("cluster.gpuNodePool.machineType"),
                f"{pool.machine_type!r} carries {machine.gpu_product}, not the configured gpuProduct "
                f"{product.product}; machine types with {product.product}: {choices}",
                repr(choices.split(", ")[0]),
            )
        ]
    if pool.gpu_count != machine.gpu_count:
        return [
            Issue(
                key("cluster.gpuNodePool.gpuCount"),
                f"{pool.machine_type!r} has {machine.gpu_count} GPU(s), not {pool.gpu_count}",
                str(machine.gpu_count),
            )
        ]
    return []


def pool_issues(cfg: PlatformConfig) -> list[Issue]:
    """``cluster.gpuNodePool``: a known GPU product, no pool on kind, a machine type that carries it."""
    pool = cfg.cluster.gpu_node_pool
    if pool is None:
        return []
    issues: list[Issue] = []
    product = gpu.find_product(pool.gpu_product)
    if product is None:
        issues.append(
            Issue(
                key("cluster.gpuNodePool.gpuProduct"),
                f"unknown GPU product {pool.gpu_product!r}; known: {', '.join(gpu.known_products())}",
                "'A100-SXM4-40GB'",
            )
        )
    if cfg.cloud == "local":
        issues.append(
            Issue(key("cluster.gpuNodePool"), "kind clusters have no GPU node pool; remove it for cloud 'local'", None)
        )
    elif product is not None:
        issues += _machine_type_issues(cfg.cloud, pool, product)
    return issues


def _mig_profile_issues(cfg: PlatformConfig) -> list[Issue]:
    """A MIG profile is one the configured GPU product has (and the product has MIG at all)."""
    g, product = cfg.gpu, gpu.find_product(cfg.gpu_product) if cfg.gpu_product else None
    if g.mig_strategy == "none" or product is None or not g.mig_profile:
        return []
    if not product.supports_mig:
        return [
            Issue(
                key("gpu.migProfile"),
                f"{product.product} has no MIG; use migStrategy 'none' (optionally timeSlicingReplicas)",
                None,
            )
        ]
    if g.mig_profile not in product.mig_profiles:
        return [
            Issue(
                key("gpu.migProfile"),
                f"{product.product} has no MIG profile {g.mig_profile!r}; it has: {', '.join(product.mig_profiles)}",
                repr(product.mig_profiles[0]),
            )
        ]
    return []


def settings_issues(cfg: PlatformConfig) -> list[Issue]:
    """The ``gpu`` keys need a GPU pool, a MIG profile of its product, and no more GPUs than a node has."""
    issues: list[Issue] = []
    g, pool = cfg.gpu, cfg.cluster.gpu_node_pool
    wants_gpu = g.mig_strategy != "none" or g.time_slicing_replicas or g.gpus_per_replica != 1
    if wants_gpu and pool is None:
        issues.append(Issue(key("gpu"), "GPU settings need cluster.gpuNodePool (a pool with GPUs)", None))
    issues += _mig_profile_issues(cfg)
    if pool and g.gpus_per_replica > pool.gpu_count:
        issues.append(
            Issue(
                key("gpu.gpusPerReplica"),
                f"{g.gpus_per_replica} exceeds the {pool.gpu_count} GPU(s) of one node",
                str(pool.gpu_count),
            )
        )
    return issues
