"""The EKS GPU node group as cluster-autoscaler reads it: ASG tags for an empty group, the GPU label.

Sources (kubernetes/autoscaler, tag cluster-autoscaler-1.31.0, the app of the pinned chart 9.38.0):
cloudprovider/aws/aws_manager.go ``buildNodeFromTemplate`` reads the template of an empty group from
the Auto Scaling group's tags (ported in tests/support/cluster_autoscaler.py); EKS does not copy a
managed node group's tags to that group, so the component tags the ASG itself.
cloudprovider/aws/aws_cloud_provider.go ``GPULabel`` = ``k8s.amazonaws.com/accelerator`` and
processors/customresources/gpu_processor.go: a labelled node without allocatable ``nvidia.com/gpu``
is "GPU not ready", not free capacity (README, "Special note on GPU instances").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.eks_cluster import EksCluster, EksClusterArgs, EksNodeGroupSpec, gpu_node_labels
from components.aws.eks_node_template import ACCELERATOR_LABEL, asg_name, gpu_type
from tests.support.cluster_autoscaler import aws_template, pod_fits
from tests.support.configs import gpu_pool, placeholder_models, raw_config
from tests.support.pulumi_mocks import RecordingMocks
from triton_platform.config import parse_config
from triton_platform.values.autoscaling import gpu_node_template
from triton_platform.values.triton import gpu_placement

P4D = gpu_pool("p4d.24xlarge", "A100-SXM4-40GB", 8, minNodes=0, maxNodes=2)
# p4d.24xlarge: GPU 8 in cluster-autoscaler's cloudprovider/aws/ec2_instance_types.go.
P4D_GPUS = 8
STRATEGIES = {
    "none": {},
    "single": {"migStrategy": "single", "migProfile": "1g.5gb"},
    "mixed": {"migStrategy": "mixed", "migProfile": "1g.5gb"},
}


def _build(tmp_path: Path, strategy: str) -> Any:
    """The GPU node group of an EKS stack with ``strategy``, as stacks/aws.py builds it, plus its placement."""
    keys = STRATEGIES[strategy]
    raw = raw_config("aws", pool=P4D, gpu=keys) if keys else raw_config("aws", pool=P4D)
    cfg = parse_config(raw, base_dir=placeholder_models(tmp_path), stack="test")
    place = gpu_placement(cfg)
    system = EksNodeGroupSpec(instance_type="m6i.xlarge", min_size=2, max_size=4, desired_size=2)
    spec = EksNodeGroupSpec(
        instance_type="p4d.24xlarge",
        min_size=0,
        max_size=2,
        desired_size=1,
        labels=gpu_node_labels(place.mig_config_label),
        node_template=gpu_node_template(cfg, place),
    )
    EksCluster(
        "triton-prod",
        EksClusterArgs(
            provider=aws.Provider("aws", region="us-east-1"),
            cluster_name="triton-prod",
            kubernetes_version="1.31",
            region="us-east-1",
            system_node_group=system,
            gpu_node_group=spec,
        ),
    )
    return place


def _asg_tags(mocks: RecordingMocks) -> dict[str, str]:
    tags = {}
    for r in mocks.of_type("aws:autoscaling/tag:Tag"):
        # On the GPU group's ASG (the mocks' eks-<node group>-mock), never copied to instances.
        assert r.inputs["autoscalingGroupName"] == "eks-triton-prod-gpu-mock", r.inputs
        assert r.inputs["tag"]["propagateAtLaunch"] is False
        tags[r.inputs["tag"]["key"]] = r.inputs["tag"]["value"]
    return tags


def _gpu_group(mocks: RecordingMocks) -> Any:
    (group,) = [g for g in mocks.of_type("aws:eks/nodeGroup:NodeGroup") if g.name == "triton-prod-gpu"]
    return group


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_empty_gpu_group_scales_up_for_a_pending_triton_pod(
    mocks: RecordingMocks, tmp_path: Path, strategy: str
) -> None:
    place = None

    @pulumi.runtime.test
    def program() -> None:
        nonlocal place
        place = _build(tmp_path, strategy)

    program()
    assert place is not None
    tags = _asg_tags(mocks)
    group = _gpu_group(mocks)
    taints = [(t["key"], t["value"], {"NO_SCHEDULE": "NoSchedule"}[t["effect"]]) for t in group.inputs["taints"]]
    # A private cluster without an EKS interface endpoint: the ASG tags alone.
    alone = aws_template(P4D_GPUS, tags)
    # DescribeNodegroup reachable: its labels and taints join the tags.
    with_eks = aws_template(P4D_GPUS, tags, group.inputs["labels"], taints)
    for node in (alone, with_eks):
        assert pod_fits(node, place.resources, place.node_selector, place.tolerations), (strategy, node)
        # The group's taint is on the template: a pod without the toleration does not fit.
        assert not pod_fits(node, {}, {}, [])
        # Every node label of the group is on the template too.
        assert group.inputs["labels"].items() <= node.labels.items()
    if strategy != "none":
        # A node holds 56 slices (7 per A100-40GB): one scale-up covers 56 pending replicas.
        full = {r: 56 for r in place.resources}
        assert pod_fits(alone, full, place.node_selector, place.tolerations)
        assert not pod_fits(aws_template(P4D_GPUS, {}), full, {}, place.tolerations)


@pytest.mark.parametrize(("strategy", "labelled"), [("none", True), ("single", True), ("mixed", False)])
def test_gpu_label_only_where_nodes_advertise_nvidia_gpu(
    mocks: RecordingMocks, tmp_path: Path, strategy: str, labelled: bool
) -> None:
    @pulumi.runtime.test
    def program() -> None:
        _build(tmp_path, strategy)

    program()
    labels = _gpu_group(mocks).inputs["labels"]
    # A mixed node never has allocatable nvidia.com/gpu: the label would keep it "unready" forever.
    assert (labels.get(ACCELERATOR_LABEL) == "nvidia-tesla-a100") is labelled
    assert (ACCELERATOR_LABEL in labels) is labelled
    # The system group gets neither the label nor template tags.
    (system,) = [g for g in mocks.of_type("aws:eks/nodeGroup:NodeGroup") if g.name == "triton-prod-system"]
    assert ACCELERATOR_LABEL not in system.inputs["labels"]


def test_gpu_types_are_the_autoscalers_names() -> None:
    # aws_cloud_provider.go availableGPUTypes: nvidia-tesla-t4, nvidia-tesla-a100, nvidia-a10g, nvidia-l4.
    assert [gpu_type(p) for p in ("Tesla-T4", "A100-SXM4-40GB", "A10G", "L4")] == [
        "nvidia-tesla-t4",
        "nvidia-tesla-a100",
        "nvidia-a10g",
        "nvidia-l4",
    ]


def test_asg_name_from_typed_and_plain_outputs() -> None:
    plain = [{"autoscalingGroups": [{"name": "eks-gpu-0f1e"}]}]
    assert asg_name(plain) == "eks-gpu-0f1e"
    with pytest.raises(ValueError, match="Auto Scaling group"):
        asg_name([])
