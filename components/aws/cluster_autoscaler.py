"""ClusterAutoscaler (EKS): the GPU node group grows with Triton's pods, through its own IRSA role.

When the HPA adds a Triton replica and no GPU is free, the pod is Pending; the Kubernetes
Cluster Autoscaler (Helm chart ``cluster-autoscaler``, pinned in triton_platform/catalog/versions.py)
raises the node group's Auto Scaling group within its min/max and, when pods go, drains and
removes idle nodes. It finds the node groups by the tags ``k8s.io/cluster-autoscaler/enabled``
and ``k8s.io/cluster-autoscaler/<cluster>`` (cluster-autoscaler/cloudprovider/aws/README.md,
"Auto-Discovery Setup"), which EKS puts on the Auto Scaling group of every managed node group
(EKS user guide, "Managed node groups": nodes "are automatically tagged for auto-discovery by the
Kubernetes Cluster Autoscaler").

Its IAM role trusts only the autoscaler's ServiceAccount (IRSA) and carries the README's policy
("IAM Policy": the minimum actions, ``autoscaling:DescribeScalingActivities`` among them, plus
``autoscaling:DescribeTags`` for auto-discovery and ``ec2:DescribeLaunchTemplateVersions`` for
launch templates), with the two actions that change capacity limited to this cluster's groups by
their ``k8s.io/cluster-autoscaler/<cluster>: owned`` tag (EKS user guide, "Cluster Autoscaler" policy).

Its image follows the cluster's Kubernetes minor (``autoscaler_image_tag``): the autoscaler's
version policy is CA minor == Kubernetes minor (cluster-autoscaler/README.md, "Releases").
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import field_validator

from components.aws.irsa_access import web_identity_trust_policy
from components.base import ComponentArgs, pinned_chart_release
from triton_platform.catalog.versions import CLUSTER_AUTOSCALER, CLUSTER_AUTOSCALER_IMAGE_TAGS, ChartPin

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
RELEASE_NAME = "cluster-autoscaler"
# README "IAM Policy". The README writes ec2:GetInstanceTypesFromInstanceRequirementsPages, the AWS
# SDK paginator; the IAM action (Service Authorization Reference, Amazon EC2) has no "Pages".
# DescribeScalingActivities: without it a failed launch (no GPU capacity in the AZ) goes unseen
# until --max-node-provision-time (15 min) instead of backing off to another group at once.
DESCRIBE_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
)
SCALE_ACTIONS = ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup")


def autoscaler_policy(cluster_name: str) -> dict[str, Any]:
    """The autoscaler's identity policy: read everything it inspects, resize only this cluster's groups."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Inspect", "Effect": "Allow", "Action": list(DESCRIBE_ACTIONS), "Resource": "*"},
            {
                "Sid": "ResizeOwnGroups",
                "Effect": "Allow",
                "Action": list(SCALE_ACTIONS),
                "Resource": "*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
            },
        ],
    }


def autoscaler_image_tag(kubernetes_version: str | None) -> str | None:
    """The autoscaler image for a cluster's ``1.<minor>``; None keeps the chart's own (``image.tag``).

    Raises for a minor the pinned chart does not serve (the config rejects it first, naming
    ``cluster.kubernetesVersion``: triton_platform/config/rules/autoscaling_cloud.py).
    """
    if kubernetes_version is None:
        return None
    minor = ".".join(kubernetes_version.split(".")[:2])
    tag = CLUSTER_AUTOSCALER_IMAGE_TAGS.get(minor)
    if tag is None:
        served = ", ".join(CLUSTER_AUTOSCALER_IMAGE_TAGS)
        chart = CLUSTER_AUTOSCALER.version
        raise ValueError(f"cluster-autoscaler chart {chart} serves Kubernetes {served}, not {minor}")
    return tag


def autoscaler_values(
    cluster_name: str, region: str, role_arn: str, kubernetes_version: str | None = None
) -> dict[str, Any]:
    """Values of the cluster-autoscaler chart (keys of its values.yaml)."""
    tag = autoscaler_image_tag(kubernetes_version)
    return {
        **({"image": {"tag": tag}} if tag else {}),
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "fullnameOverride": RELEASE_NAME,
        "rbac": {
            "create": True,
            "serviceAccount": {
                "create": True,
                "name": SERVICE_ACCOUNT,
                "annotations": {"eks.amazonaws.com/role-arn": role_arn},
            },
        },
        "extraArgs": {
            # Node groups of one kind (several AZs) grow together.
            "balance-similar-node-groups": True,
            # The cheapest group that fits the Pending pod.
            "expander": "least-waste",
            # A GPU node idle 10 minutes (after the HPA's own stabilization) goes.
            "scale-down-unneeded-time": "10m",
        },
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"cpu": "500m", "memory": "600Mi"}},
        # The image is distroless "nonroot" (uid 65532: cluster-autoscaler/Dockerfile.amd64); the
        # chart leaves both contexts empty (values.yaml securityContext / containerSecurityContext).
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "fsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containerSecurityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


class ClusterAutoscalerArgs(ComponentArgs):
    # The AWS provider (IAM role and policy) and the cluster's Kubernetes provider (the release).
    aws_provider: pulumi.ProviderResource
    k8s_provider: pulumi.ProviderResource
    cluster_name: pulumi.Output[str] | str
    region: str
    oidc_provider_arn: pulumi.Output[str] | str
    oidc_issuer_url: pulumi.Output[str] | str
    # The cluster's Kubernetes version (``1.31``): picks the image of the same minor. None keeps
    # the chart's own image (1.31).
    kubernetes_version: str | None = None
    tags: dict[str, str] = {}
    chart: ChartPin = CLUSTER_AUTOSCALER

    @field_validator("kubernetes_version")
    @classmethod
    def _served(cls, v: str | None) -> str | None:
        autoscaler_image_tag(v)  # raises for a minor the pinned chart does not serve
        return v


class ClusterAutoscaler(pulumi.ComponentResource):
    """The Kubernetes Cluster Autoscaler for an EKS cluster, with its own IRSA role."""

    role: aws.iam.Role
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:aws:ClusterAutoscaler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.aws_provider)
        trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer_url).apply(
            lambda o: json.dumps(web_identity_trust_policy(o[0], o[1], NAMESPACE, SERVICE_ACCOUNT))
        )
        self.role = aws.iam.Role(f"{name}-role", assume_role_policy=trust, tags=args.tags, opts=child)
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=pulumi.Output.from_input(args.cluster_name).apply(lambda c: json.dumps(autoscaler_policy(c))),
            opts=child,
        )
        values = pulumi.Output.all(args.cluster_name, self.role.arn).apply(
            lambda a: autoscaler_values(a[0], args.region, a[1], args.kubernetes_version)
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            pinned_chart_release(
                args.chart,
                name=RELEASE_NAME,
                namespace=NAMESPACE,
                values=values,
                timeout=600,
                cleanup_on_fail=True,
                max_history=10,
            ),
            # The role must carry its policy before the autoscaler first calls AWS.
            opts=pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, depends_on=[policy]),
        )
        self.register_outputs({"roleArn": self.role.arn})
