"""What cluster-autoscaler reads of an EKS GPU node group: the GPU label and the node-template tags.

Provisions, as children of the EksCluster component, one ``aws.autoscaling.Tag`` per
node-template tag on the Auto Scaling group EKS created for a managed node group
(``<name>-<part>-template-<tag>``). Managed node group tags are not copied to that group, and
cluster-autoscaler builds the template node of an empty group from the group's own tags
(kubernetes/autoscaler cluster-autoscaler-1.31.0, cloudprovider/aws/aws_manager.go
``buildNodeFromTemplate``: ``k8s.io/cluster-autoscaler/node-template/resources/<name>`` ->
capacity, ``.../label/<key>`` -> labels, ``.../taint/<key>`` = ``<value>:<Effect>`` -> taints;
cloudprovider/aws/README.md, "Auto-Discovery Setup"). It also asks EKS (DescribeNodegroup) for
the group's labels and taints, but not where the cluster has no EKS interface endpoint, and
never for labels the node only gets later (a MIG state label): the tags carry them all.

``template_node_labels`` adds cluster-autoscaler's AWS GPU label to nodes that advertise
``nvidia.com/gpu``. Plain functions are tested without Pulumi.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from triton_platform.catalog import gpu
from triton_platform.values.autoscaling import NodeTemplate

TEMPLATE_PREFIX = "k8s.io/cluster-autoscaler/node-template/"
# cloudprovider/aws/aws_cloud_provider.go GPULabel. A node with this label but no allocatable
# nvidia.com/gpu counts as "GPU not ready yet" (processors/customresources/gpu_processor.go
# FilterOutNodesWithUnreadyResources), so the autoscaler waits for the device plugin instead of
# adding another node (README, "Special note on GPU instances": value = the GPU type). Only where
# nodes advertise nvidia.com/gpu: a MIG "mixed" node never does, and would stay unready forever.
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"
# EKS spells taint effects NO_SCHEDULE ...; the tag value is "<value>:<Kubernetes effect>".
_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def gpu_type(product: str | None) -> str:
    """The GPU type value of ACCELERATOR_LABEL: the autoscaler's own names (nvidia-tesla-a100, nvidia-a10g ...).

    aws_cloud_provider.go availableGPUTypes and GKE's accelerator names agree; a product with no
    GKE name gets ``nvidia-<product>`` (only the label's presence decides readiness).
    """
    entry = gpu.find_product(product) if product else None
    if entry is None:
        return "nvidia"
    return entry.gke_accelerator or re.sub(r"[^a-z0-9.-]", "-", f"nvidia-{entry.product.lower()}")


def template_node_labels(template: NodeTemplate | None) -> dict[str, str]:
    """Labels the node group sets on its nodes for the autoscaler: the GPU label where nodes offer nvidia.com/gpu."""
    if template is None or not template.offers_gpu_resource:
        return {}
    return {ACCELERATOR_LABEL: gpu_type(template.gpu_product)}


def autoscaler_tags(
    labels: Mapping[str, str], taints: Sequence[Mapping[str, str]], template: NodeTemplate
) -> dict[str, str]:
    """The node-template tags of a group whose nodes carry ``labels`` and ``taints`` (EKS spelling)."""
    tags = {f"{TEMPLATE_PREFIX}label/{k}": v for k, v in {**labels, **template.labels}.items()}
    for t in taints:
        tags[f"{TEMPLATE_PREFIX}taint/{t['key']}"] = f"{t['value']}:{_EFFECTS[t['effect']]}"
    for resource, count in template.resources.items():
        tags[f"{TEMPLATE_PREFIX}resources/{resource}"] = str(count)
    return tags


def _field(obj: Any, attr: str, key: str) -> Any:
    # Typed outputs carry attributes; plain dicts (mocks, older SDKs) carry camelCase keys.
    return getattr(obj, attr) if hasattr(obj, attr) else obj[key]


def asg_name(resources: Sequence[Any] | None) -> str:
    """The Auto Scaling group of a managed node group (its ``resources[0].autoscalingGroups[0].name``)."""
    for resource in resources or []:
        for group in _field(resource, "autoscaling_groups", "autoscalingGroups") or []:
            return str(_field(group, "name", "name"))
    raise ValueError("the EKS node group reports no Auto Scaling group to tag for cluster-autoscaler")


def tag_autoscaling_group(
    name: str, group: aws.eks.NodeGroup, tags: Mapping[str, str], opts: pulumi.ResourceOptions
) -> list[aws.autoscaling.Tag]:
    """One ``<name>-template-<tag>`` per tag on the node group's Auto Scaling group (not on its instances)."""
    asg = group.resources.apply(asg_name)
    return [
        aws.autoscaling.Tag(
            f"{name}-template-{key.removeprefix(TEMPLATE_PREFIX).replace('/', '-')}",
            autoscaling_group_name=asg,
            tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
            opts=opts,
        )
        for key, value in sorted(tags.items())
    ]
