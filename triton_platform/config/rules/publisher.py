"""Rules of the ``publisher`` keys: where its cache lives, and which GPU architectures it builds for."""

from __future__ import annotations

import re

from triton_platform.catalog import gpu
from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig


def cache_prefix_issues(cfg: PlatformConfig) -> list[Issue]:
    """The cache (engines, uploaded ONNX, manifests) lies outside the prefix Triton serves."""
    cache, served = cfg.publisher.cache_prefix, cfg.model_repository.prefix
    if not (cache == served or cache.startswith(served + "/") or served.startswith(cache + "/")):
        return []
    return [
        Issue(
            key("publisher.cachePrefix"),
            f"must lie outside modelRepository.prefix {served!r} so Triton never loads it",
            "'_cache'",
        )
    ]


def compute_capability_issues(cfg: PlatformConfig) -> list[Issue]:
    """Every compute capability asked for is one a GPU pool of the stack provides.

    An engine is built on a GPU of its own architecture (a Job selected by GPU feature discovery's
    nvidia.com/gpu.compute.major/minor, or this machine's GPU for the local builder), and a stack
    has one GPU pool. An unknown GPU product is reported by ``rules.gpu``, so not again here.
    """
    issues: list[Issue] = []
    pool = cfg.cluster.gpu_node_pool
    product = gpu.find_product(pool.gpu_product) if pool else None
    pool_cc = product.compute_capability if product else None
    for cc in cfg.publisher.compute_capabilities:
        if not re.fullmatch(r"\d{1,2}\.\d", cc):
            issues.append(Issue(key("publisher.computeCapabilities"), f"{cc!r} is not a compute capability", "'8.0'"))
        elif cc != pool_cc and not (pool and product is None):
            where = (
                f"the GPU pool's {product.product} is {pool_cc}" if product else "the stack has no cluster.gpuNodePool"
            )
            issues.append(
                Issue(
                    key("publisher.computeCapabilities"),
                    f"no GPU pool of this stack provides compute capability {cc!r} ({where}); each engine is built "
                    "on a GPU of its own architecture, so an engine for it could be neither built nor tested",
                    repr(pool_cc) if pool_cc else "[]",
                )
            )
    return issues
