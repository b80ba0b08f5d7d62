"""The EKS Cluster Autoscaler: its IAM policy under IAM's evaluation logic, its IRSA trust, its release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pydantic
import pytest

from components.aws.cluster_autoscaler import (
    DESCRIBE_ACTIONS,
    NAMESPACE,
    SCALE_ACTIONS,
    SERVICE_ACCOUNT,
    ClusterAutoscaler,
    ClusterAutoscalerArgs,
    autoscaler_image_tag,
    autoscaler_policy,
    autoscaler_values,
)
from tests.support.iam_eval import Request, allowed
from tests.support.pulumi_mocks import RecordingMocks
from triton_platform.catalog import versions

ASG = "arn:aws:autoscaling:us-east-1:111122223333:autoScalingGroup:0f1e:autoScalingGroupName/eks-gpu-0f1e"
OWN_TAG = "aws:ResourceTag/k8s.io/cluster-autoscaler/triton-prod"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC"


def test_policy_lets_the_autoscaler_inspect_and_resize_only_this_clusters_groups() -> None:
    policy = autoscaler_policy("triton-prod")
    # The README's minimum actions plus DescribeTags (auto-discovery) and DescribeLaunchTemplateVersions.
    for action in DESCRIBE_ACTIONS:
        assert allowed(policy, Request(action, "*")), action
    for action in SCALE_ACTIONS:
        # EKS tags a managed node group's ASG k8s.io/cluster-autoscaler/<cluster> = owned.
        assert allowed(policy, Request(action, ASG, {OWN_TAG: "owned"})), action
        assert not allowed(policy, Request(action, ASG, {})), action
        other = {"aws:ResourceTag/k8s.io/cluster-autoscaler/someone-else": "owned"}
        assert not allowed(policy, Request(action, ASG, other)), action
    assert not allowed(policy, Request("autoscaling:DeleteAutoScalingGroup", ASG, {OWN_TAG: "owned"}))
    assert not allowed(policy, Request("ec2:TerminateInstances", "*"))
    assert not allowed(policy, Request("s3:GetObject", "arn:aws:s3:::models/x"))


@pulumi.runtime.test
def test_release_runs_as_its_own_irsa_role(mocks: RecordingMocks) -> pulumi.Output[None]:
    provider = k8s.Provider("k8s", kubeconfig="{}")
    ca = ClusterAutoscaler(
        "ca",
        ClusterAutoscalerArgs(
            aws_provider=aws.Provider("aws", region="us-east-1"),
            k8s_provider=provider,
            cluster_name="triton-prod",
            region="us-east-1",
            oidc_provider_arn="arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC",
            oidc_issuer_url=ISSUER,
        ),
    )

    def check(resolved: list[Any]) -> None:
        release = mocks.one("kubernetes:helm.sh/v3:Release").inputs
        pin = versions.CLUSTER_AUTOSCALER
        assert (release["chart"], release["version"], release["repositoryOpts"]["repo"]) == (
            pin.chart,
            pin.version,
            pin.repo,
        )
        assert release["namespace"] == NAMESPACE
        values = release["values"]
        assert values["cloudProvider"] == "aws"
        assert values["awsRegion"] == "us-east-1"
        assert values["autoDiscovery"] == {"clusterName": "triton-prod"}
        sa = values["rbac"]["serviceAccount"]
        assert sa["name"] == SERVICE_ACCOUNT
        role = mocks.one("aws:iam/role:Role")
        assert sa["annotations"] == {"eks.amazonaws.com/role-arn": resolved[1]}
        assert resolved[1]
        trust = json.loads(role.inputs["assumeRolePolicy"])
        cond = trust["Statement"][0]["Condition"]["StringEquals"]
        assert (
            cond["oidc.eks.us-east-1.amazonaws.com/id/ABC:sub"]
            == f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
        )
        policy = json.loads(mocks.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
        assert policy == autoscaler_policy("triton-prod")
        # The release waits for the role's policy.
        _type, _parent, deps = mocks.registrations[release_name(mocks)]
        assert any("RolePolicy" in d for d in deps), deps

    return pulumi.Output.all(ca.release.id, ca.role.arn).apply(check)


def release_name(mocks: RecordingMocks) -> str:
    return mocks.one("kubernetes:helm.sh/v3:Release").name


def test_aws_stack_scales_on_queue_time_with_adapter_and_node_autoscaler(
    mocks: RecordingMocks, samples_built: Path
) -> None:
    """Pulumi.prod.yaml switched to queueTime: the adapter, the cluster autoscaler and the HPA values."""
    import stacks
    from tests.support.cloud import build_stack
    from tests.support.stacks import parse_stack, set_key

    cfg = parse_stack(
        "prod",
        drop_autoscaling_key("targetCpuUtilization"),
        set_key("triton.autoscaling.metric", "queueTime"),
        set_key("triton.autoscaling.target", 30),
    )
    built = build_stack(mocks, stacks.build_stack, cfg)
    assert built.result is not None
    adapter = mocks.release("prometheus-adapter")
    assert adapter.inputs["values"]["rules"]["custom"][0]["name"]["as"] == "triton_queue_time_ms"
    autoscaler = mocks.release("cluster-autoscaler")
    assert autoscaler.inputs["values"]["autoDiscovery"]["clusterName"] == cfg.cluster.name
    values = built.triton_values()
    assert values["autoscaling"]["metric"] == "queueTime"
    assert values["autoscaling"]["target"] == 30
    # The Triton release (its component) waits for the adapter: its HPA reads the adapter's metric.
    (triton,) = [n for n, r in mocks.registrations.items() if r[0] == "triton:serving:TritonServer"]
    deps = mocks.registrations[triton][2]
    # (a component in depends_on stands for its children: the adapter's Helm release)
    assert any("triton:monitoring:MetricsAdapter$kubernetes:helm.sh/v3:Release" in d for d in deps), deps
    assert values["loadTest"]["enabled"] is True
    assert values["loadTest"]["image"]["tag"] == f"{cfg.triton.version}-py3-sdk"


def drop_autoscaling_key(key: str) -> Any:
    def apply(raw: dict[str, Any]) -> None:
        raw.get("triton", {}).get("autoscaling", {}).pop(key, None)

    return apply


# kubernetes/autoscaler cluster-autoscaler-1.31.0, cluster-autoscaler/cloudprovider/aws/README.md,
# "Minimal IAM Permissions Policy": every action but the two that resize (tag-conditioned here).
README_MINIMUM_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "eks:DescribeNodegroup",
)


def test_policy_grants_the_readmes_minimum_policy() -> None:
    policy = autoscaler_policy("triton-prod")
    assert README_MINIMUM_ACTIONS, "the README's minimum policy lists no action"
    for action in README_MINIMUM_ACTIONS:
        # DescribeScalingActivities: a failed GPU launch is seen at once, not after 15 minutes.
        assert allowed(policy, Request(action, ASG)), action
    for action in SCALE_ACTIONS:
        assert allowed(policy, Request(action, ASG, {OWN_TAG: "owned"})), action


# cluster-autoscaler/README.md "Releases" (tags cluster-autoscaler-1.31.0 .. 1.35.0): the oldest
# chart for each Kubernetes minor; CA minor == Kubernetes minor (1.35: the chart's appVersion since 9.55.1).
OLDEST_CHART = {
    "1.28": "9.34.0",
    "1.29": "9.35.0",
    "1.30": "9.37.0",
    "1.31": "9.38.0",
    "1.32": "9.45.0",
    "1.33": "9.47.0",
    "1.34": "9.51.0",
    "1.35": "9.55.1",
}
# Minors past EKS' extended support on 2026-12-06 (no cluster can be created on them): not served.
EKS_RETIRED = {"1.28", "1.29", "1.30", "1.31"}


def _chart_version(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


@pytest.mark.parametrize("minor", sorted(OLDEST_CHART))
def test_image_minor_is_the_clusters_minor_or_the_chart_cannot_serve_it(minor: str) -> None:
    chart_serves = _chart_version(OLDEST_CHART[minor]) <= _chart_version(versions.CLUSTER_AUTOSCALER.version)
    served = chart_serves and minor not in EKS_RETIRED
    assert (minor in versions.CLUSTER_AUTOSCALER_IMAGE_TAGS) is served
    if not served:
        with pytest.raises(ValueError, match=f"not {minor}"):
            autoscaler_image_tag(minor)
        with pytest.raises(pydantic.ValidationError, match="serves Kubernetes"):
            ClusterAutoscalerArgs(
                aws_provider=aws.Provider("aws-bad", region="us-east-1"),
                k8s_provider=k8s.Provider("k8s-bad", kubeconfig="{}"),
                cluster_name="triton-prod",
                region="us-east-1",
                oidc_provider_arn="arn",
                oidc_issuer_url=ISSUER,
                kubernetes_version=minor,
            )
        return
    tag = autoscaler_image_tag(minor)
    assert tag is not None
    assert tag.removeprefix("v").rsplit(".", 1)[0] == minor
    # The chart's image.tag (values.yaml: image.repository registry.k8s.io/autoscaling/cluster-autoscaler).
    assert autoscaler_values("triton-prod", "us-east-1", "arn:role", minor)["image"] == {"tag": tag}


# The cluster-autoscaler release tags, read from github:kubernetes/autoscaler (source, snapshot
# commit and date inside the file).
RELEASE_TAGS = json.loads((Path(__file__).parent / "data" / "cluster-autoscaler-tags.json").read_text())


def _patch(tag: str) -> tuple[int, int, int]:
    major, minor, patch = tag.rsplit("-", 1)[-1].removeprefix("v").split(".")
    return int(major), int(minor), int(patch)


def test_recorded_release_tags_name_their_source_and_date() -> None:
    assert RELEASE_TAGS["source"].startswith("https://github.com/kubernetes/autoscaler")
    assert RELEASE_TAGS["read"] == "2026-12-06"
    assert len(RELEASE_TAGS["snapshot"]["commit"]) == 40
    assert all(tag.startswith("cluster-autoscaler-1.") for tag in RELEASE_TAGS["tags"])


@pytest.mark.parametrize("minor", sorted(versions.CLUSTER_AUTOSCALER_IMAGE_TAGS))
def test_each_image_pin_is_a_real_release_and_the_newest_patch_of_its_minor(minor: str) -> None:
    pin = versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[minor]
    assert f"cluster-autoscaler-{pin.removeprefix('v')}" in RELEASE_TAGS["tags"], pin
    same_minor = [_patch(t) for t in RELEASE_TAGS["tags"] if _patch(t)[:2] == _patch(pin)[:2]]
    assert max(same_minor) == _patch(pin), f"{minor}: newest is {max(same_minor)}, pinned {pin}"


def test_without_a_version_the_charts_own_image_stays() -> None:
    assert "image" not in autoscaler_values("triton-prod", "us-east-1", "arn:role")
