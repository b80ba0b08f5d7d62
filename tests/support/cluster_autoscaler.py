"""cluster-autoscaler's template node for an empty node group, ported from its source, and a pod-fit check.

Ported line by line from kubernetes/autoscaler at tag cluster-autoscaler-1.31.0 (the app version
of the pinned chart 9.38.0):

- AWS, cloudprovider/aws/aws_manager.go ``buildNodeFromTemplate``: capacity ``nvidia.com/gpu`` =
  the instance type's GPUs (ec2_instance_types.go), then every
  ``k8s.io/cluster-autoscaler/node-template/resources/<name>`` tag overrides a capacity
  (``extractAllocatableResourcesFromAsg``); labels from ``.../label/<key>`` and ``eks:<key>`` tags
  (``extractLabelsFromAsg``), taints from ``.../taint/<key>`` tags whose value matches
  ``(.*):(?:NoSchedule|NoExecute|PreferNoSchedule)`` (``extractTaintsFromAsg``); for an EKS
  managed group, DescribeNodegroup's labels overwrite and its taints are appended.
- Azure, cloudprovider/azure/azure_template.go ``buildNodeFromTemplate`` (tag prefixes in
  azure_util.go): capacity ``nvidia.com/gpu`` = the SKU's GPUs; every scale-set tag is also a
  label; ``k8s.io_cluster-autoscaler_node-template_{label,taint,resources}_<name>`` with ``_`` for
  ``/`` and ``~2`` for ``_`` (resources: both to ``/``).

The fit check is what the scheduler framework the autoscaler simulates filters on for our pods:
extended resources (NodeResourcesFit), nodeSelector (NodeAffinity), NoSchedule/NoExecute taints
(TaintToleration).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

GPU = "nvidia.com/gpu"
_AWS = "k8s.io/cluster-autoscaler/node-template/"
_AZURE = "k8s.io_cluster-autoscaler_node-template_"
_TAINT_VALUE = re.compile(r"(.*):(?:NoSchedule|NoExecute|PreferNoSchedule)")


@dataclass
class TemplateNode:
    capacity: dict[str, int]
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[tuple[str, str, str]] = field(default_factory=list)  # key, value, effect


def _quantity(value: str) -> int | None:
    # resource.ParseQuantity; a tag that does not parse is skipped. Whole numbers suffice here.
    return int(value) if re.fullmatch(r"\d+", value) else None


def _taint(key: str, value: str) -> tuple[str, str, str] | None:
    if not _TAINT_VALUE.search(value):
        return None
    parts = value.split(":", 1)
    return (key, parts[0], parts[1]) if len(parts) > 1 else None


def aws_template(
    instance_gpus: int,
    asg_tags: Mapping[str, str],
    mng_labels: Mapping[str, str] | None = None,
    mng_taints: Sequence[tuple[str, str, str]] = (),
) -> TemplateNode:
    """The template node of an empty ASG (``mng_*``: what DescribeNodegroup returns, if it is reachable)."""
    node = TemplateNode(capacity={GPU: instance_gpus})
    for k, v in asg_tags.items():
        splits = k.split(_AWS + "resources/")
        if len(splits) > 1 and splits[1] and (q := _quantity(v)) is not None:
            node.capacity[splits[1]] = q
    for k, v in asg_tags.items():
        splits = k.split(_AWS + "label/")
        if len(splits) <= 1:
            splits = k.split("eks:")
        if len(splits) > 1 and splits[1]:
            node.labels[splits[1]] = v
    for k, v in asg_tags.items():
        splits = k.split(_AWS + "taint/")
        if len(splits) > 1 and (t := _taint(splits[1], v)):
            node.taints.append(t)
    node.labels.update(mng_labels or {})
    node.taints.extend(mng_taints)
    return node


def azure_template(sku_gpus: int, vmss_tags: Mapping[str, str]) -> TemplateNode:
    """The template node of an empty scale set."""
    node = TemplateNode(capacity={GPU: sku_gpus}, labels=dict(vmss_tags))
    for k, v in vmss_tags.items():
        splits = k.split(_AZURE + "label_")
        if len(splits) > 1 and (label := splits[1].replace("_", "/").replace("~2", "_")):
            node.labels[label] = v
    for k, v in vmss_tags.items():
        splits = k.split(_AZURE + "resources_")
        if len(splits) >= 2 and splits[1] and (q := _quantity(v)) is not None:
            node.capacity[splits[1].replace("_", "/").replace("~2", "/")] = q
    for k, v in vmss_tags.items():
        splits = k.split(_AZURE + "taint_")
        if len(splits) > 1 and (t := _taint(splits[1].replace("_", "/").replace("~2", "_"), v)):
            node.taints.append(t)
    return node


def _tolerates(taint: tuple[str, str, str], tolerations: Sequence[Mapping[str, str]]) -> bool:
    key, value, effect = taint
    for t in tolerations:
        if t.get("effect") not in (None, "", effect):
            continue
        if t.get("operator") == "Exists" and t.get("key") in (None, "", key):
            return True
        if t.get("operator", "Equal") == "Equal" and t.get("key") == key and t.get("value", "") == value:
            return True
    return False


def pod_fits(
    node: TemplateNode,
    requests: Mapping[str, int],
    node_selector: Mapping[str, str],
    tolerations: Sequence[Mapping[str, str]],
) -> bool:
    """Whether a pod with these extended-resource requests, selector and tolerations fits the node."""
    if any(node.capacity.get(r, 0) < n for r, n in requests.items()):
        return False
    if any(node.labels.get(k) != v for k, v in node_selector.items()):
        return False
    return all(_tolerates(t, tolerations) for t in node.taints if t[2] in ("NoSchedule", "NoExecute"))
