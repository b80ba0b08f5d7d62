"""How many MIG devices one GPU yields under mig-manager's ``all-<profile>`` layouts.

A pool's nodes offer ``slices per GPU x GPUs per node`` of the MIG resource once mig-manager (EKS)
or the agent pool's ``gpuInstanceProfile`` (AKS) has cut them; cluster-autoscaler must be told
that number to scale an empty pool up (``triton_platform.values.autoscaling.gpu_node_template``).

The counts are those of the GPU operator's default mig-parted config (NVIDIA/gpu-operator
v26.7.0, ``assets/state-mig-manager/0400_configmap.yaml``: ``all-<profile>`` -> ``mig-devices``,
per device filter where a profile exists on several GPUs with different counts, e.g. ``1g.10gb``:
7 on 80GB parts, 4 on A100-40GB). AKS cuts the same counts for its instance profiles (AKS docs,
"Create a multi-instance GPU node pool": MIG1g on A100 80GB = 7 x 1g.10gb ... MIG7g = 1 x 7g.80gb).
Pure data: no Pulumi, no cloud calls.
"""

from __future__ import annotations

from triton_platform.catalog import gpu

# Per catalogue product (triton_platform.catalog.gpu.GPU_PRODUCTS): profile -> devices per GPU.
_A100_40 = {"1g.5gb": 7, "1g.5gb+me": 1, "1g.10gb": 4, "2g.10gb": 3, "3g.20gb": 2, "4g.20gb": 1, "7g.40gb": 1}
# H100-80GB, A100-80GB (SXM4 and PCIe) share the 80GB filter of the config.
_GB80 = {"1g.10gb": 7, "1g.10gb+me": 1, "1g.20gb": 4, "2g.20gb": 3, "3g.40gb": 2, "4g.40gb": 1, "7g.80gb": 1}
_H200 = {"1g.18gb": 7, "1g.18gb+me": 1, "1g.35gb": 4, "2g.35gb": 3, "3g.71gb": 2, "4g.71gb": 1, "7g.141gb": 1}
_A30 = {"1g.6gb": 4, "1g.6gb+me": 1, "2g.12gb": 2, "2g.12gb+me": 1, "4g.24gb": 1}
SLICES_PER_GPU: dict[str, dict[str, int]] = {
    "A100-SXM4-40GB": _A100_40,
    "A100-SXM4-80GB": _GB80,
    "A100-80GB-PCIe": _GB80,
    "H100-80GB": _GB80,
    "H200": _H200,
    "A30": _A30,
}


def slices_per_gpu(product: str, mig_profile: str) -> int | None:
    """MIG devices of ``mig_profile`` that ``all-<profile>`` cuts from one ``product`` GPU; None if unknown."""
    entry = gpu.find_product(product)
    if entry is None:
        return None
    return SLICES_PER_GPU.get(entry.product, {}).get(mig_profile)
