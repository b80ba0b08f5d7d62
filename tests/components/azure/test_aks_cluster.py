"""The AKS GPU agent pool as cluster-autoscaler reads it, and who owns its node count.

Sources (kubernetes/autoscaler, tag cluster-autoscaler-1.31.0): cloudprovider/azure/azure_template.go
``buildNodeFromTemplate`` builds an empty scale set's template node from the SKU's GPUs and the
scale set's ``k8s.io_cluster-autoscaler_node-template_*`` tags (azure_util.go; ported in
tests/support/cluster_autoscaler.py); AKS puts a node pool's tags on its scale set (AKS docs, "Use
Azure tags in AKS"). The autoscaler owns ``count`` after creation (enableAutoScaling), as it owns an
EKS node group's desiredSize.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.azure.aks_cluster import AksCluster, AksClusterArgs, AksGpuPool
from tests.support.cluster_autoscaler import azure_template, pod_fits
from tests.support.configs import gpu_pool, placeholder_models, raw_config
from tests.support.pulumi_mocks import RecordingMocks
from triton_platform.clouds import azure as az
from triton_platform.config import parse_config
from triton_platform.values.autoscaling import gpu_node_template
from triton_platform.values.triton import gpu_placement

# Standard_NC96ads_A100_v4: 4 x A100 80GB PCIe (the SKU API's GPU count the autoscaler reads).
NC96 = gpu_pool("Standard_NC96ads_A100_v4", "A100-80GB-PCIe", 4, minNodes=0, maxNodes=3)
NC96_GPUS = 4
STRATEGIES = {
    "none": {},
    "single": {"migStrategy": "single", "migProfile": "1g.10gb"},
    "mixed": {"migStrategy": "mixed", "migProfile": "1g.10gb"},
}


def _pool(tmp_path: Path, strategy: str) -> tuple[AksGpuPool, Any]:
    """The GPU pool of an AKS stack with ``strategy`` (as stacks/azure.py builds it) and its placement."""
    keys = STRATEGIES[strategy]
    raw = raw_config("azure", pool=NC96, gpu=keys) if keys else raw_config("azure", pool=NC96)
    cfg = parse_config(raw, base_dir=placeholder_models(tmp_path), stack="test")
    place = gpu_placement(cfg)
    pool = AksGpuPool(
        vm_size="Standard_NC96ads_A100_v4",
        min_count=0,
        max_count=3,
        gpu_instance_profile=az.gpu_instance_profile(cfg.gpu.mig_strategy, cfg.gpu.mig_profile),
        gpu_product="A100-80GB-PCIe",
        node_template=gpu_node_template(cfg, place),
    )
    return pool, place


def _cluster(pool: AksGpuPool, opts: pulumi.ResourceOptions | None = None) -> AksCluster:
    import pulumi_azure_native as azure

    return AksCluster(
        "c1",
        AksClusterArgs(
            provider=azure.Provider("azure", location="westeurope"),
            cluster_name="c1",
            location="westeurope",
            kubernetes_version="1.31",
            resource_group_name="rg",
            gpu_pool=pool,
        ),
        opts,
    )


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_empty_gpu_pool_scales_up_for_a_pending_triton_pod(
    mocks: RecordingMocks, tmp_path: Path, strategy: str
) -> None:
    pool, place = _pool(tmp_path, strategy)

    @pulumi.runtime.test
    def program() -> None:
        _cluster(pool)

    program()
    (agent_pool,) = mocks.of_type("azure-native:containerservice:AgentPool")
    node = azure_template(NC96_GPUS, agent_pool.inputs["tags"])
    assert pod_fits(node, place.resources, place.node_selector, place.tolerations)
    # The pool's taint is on the template; its node labels too.
    assert not pod_fits(node, {}, {}, [])
    assert agent_pool.inputs["nodeLabels"].items() <= node.labels.items()
    if strategy != "none":
        # 7 x 1g.10gb per A100 80GB (MIG1g) x 4 GPUs: one node takes 28 replicas.
        full = {r: 28 for r in place.resources}
        assert pod_fits(node, full, place.node_selector, place.tolerations)
        assert not pod_fits(azure_template(NC96_GPUS, {}), full, {}, place.tolerations)


def test_gpu_pool_count_belongs_to_the_autoscaler(mocks: RecordingMocks, tmp_path: Path) -> None:
    pool, _ = _pool(tmp_path, "mixed")
    ignored: dict[str, list[str]] = {}

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        ignored[args.name] = list(args.opts.ignore_changes or [])

    @pulumi.runtime.test
    def program() -> None:
        _cluster(pool, pulumi.ResourceOptions(transformations=[capture]))

    program()
    # Pulumi leaves the node count the autoscaler set alone (azure-native AgentPool ``count``).
    assert "count" in ignored["c1-gpu-pool"]
    (agent_pool,) = mocks.of_type("azure-native:containerservice:AgentPool")
    assert agent_pool.inputs["enableAutoScaling"] is True
