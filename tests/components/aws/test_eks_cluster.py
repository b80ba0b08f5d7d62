"""EksCluster: node group sizes left to cluster-autoscaler; access entries that skip the creator.

cluster-autoscaler resizes a managed node group through its Auto Scaling group
(SetDesiredCapacity), which EKS reports back as the node group's ``scalingConfig.desiredSize``
(pulumi-aws 7.51.1 ``aws.eks.NodeGroup``). Without ``ignore_changes`` on it, every ``pulumi up``
would set the size back to the configured start, draining GPU nodes the autoscaler added for
pending Triton pods (the AKS pool's ``count`` is held the same way: tests/components/azure).

``cluster.access`` under the mock runtime, with the functions' results shaped as AWS returns
them: STS GetCallerIdentity ``Arn`` (a role session: ``arn:aws:sts::<account>:assumed-role/
<role>/<session>``); EKS ListClusters ``clusters`` (aws.eks.getClusters ``names``) and
DescribeCluster ``cluster.tags`` (aws.eks.getCluster ``tags``), EKS API reference. The cluster
creator's bootstrap entry exists already (CreateCluster, bootstrapClusterCreatorAdminPermissions),
so no entry may be registered for it, on the first run or any later one by someone else.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.eks_cluster import EksCluster, EksClusterArgs, EksNodeGroupSpec
from tests.support.pulumi_mocks import RecordingMocks
from triton_platform.clouds import access


def test_node_group_sizes_belong_to_the_autoscaler(mocks: RecordingMocks) -> None:
    ignored: dict[str, list[str]] = {}

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        if args.type_ == "aws:eks/nodeGroup:NodeGroup":
            ignored[args.name] = list(args.opts.ignore_changes or [])

    gpu_spec = EksNodeGroupSpec(instance_type="p4d.24xlarge", min_size=0, max_size=2, desired_size=1)
    _cluster([], [], capture, gpu_node_group=gpu_spec)
    assert set(ignored) == {"triton-prod-system", "triton-prod-gpu"}, ignored
    assert all("scalingConfig.desiredSize" in fields for fields in ignored.values()), ignored
    (gpu,) = [g for g in mocks.of_type("aws:eks/nodeGroup:NodeGroup") if g.name == "triton-prod-gpu"]
    # The bounds stay Pulumi's: the autoscaler moves the size between them.
    assert gpu.inputs["scalingConfig"] == {"minSize": 0, "maxSize": 2, "desiredSize": 1}


# --------------------------------------------------------------------------- access entries

ACCOUNT = "123456789012"
PERSON = f"arn:aws:iam::{ACCOUNT}:user/alice"
DEPLOY = f"arn:aws:iam::{ACCOUNT}:role/ci/triton-deploy"
PREVIEW = f"arn:aws:iam::{ACCOUNT}:role/ci/triton-preview"
DEPLOY_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/triton-deploy/GitHubActions"
CALLER = "aws:index/getCallerIdentity:getCallerIdentity"
CLUSTERS = "aws:eks/getClusters:getClusters"
CLUSTER = "aws:eks/getCluster:getCluster"
ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"


def _caller(mocks: RecordingMocks, arn: str) -> None:
    """GetCallerIdentity: Account, Arn, UserId (a role session's UserId is <role id>:<session>)."""
    mocks.call_results[CALLER] = {"accountId": ACCOUNT, "arn": arn, "userId": "AROAEXAMPLE:GitHubActions"}


def _existing(mocks: RecordingMocks, tags: dict[str, str]) -> None:
    """The cluster exists: ListClusters lists it, DescribeCluster returns its tags."""
    mocks.call_results[CLUSTERS] = {"id": "us-east-1", "names": ["other", "triton-prod"], "region": "us-east-1"}
    mocks.call_results[CLUSTER] = {
        "name": "triton-prod",
        "arn": f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/triton-prod",
        "status": "ACTIVE",
        "accessConfigs": [{"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}],
        "tags": tags,
    }


def _cluster(admins: list[str], viewers: list[str], capture: Any = None, **extra: Any) -> None:
    """EksCluster ``triton-prod`` under the mock runtime (``extra``: more EksClusterArgs fields)."""

    @pulumi.runtime.test
    def program() -> None:
        EksCluster(
            "triton-prod",
            EksClusterArgs(
                provider=aws.Provider("aws", region="us-east-1"),
                cluster_name="triton-prod",
                kubernetes_version="1.34",
                region="us-east-1",
                system_node_group=EksNodeGroupSpec(instance_type="m6i.xlarge", min_size=2, max_size=4, desired_size=2),
                admins=admins,
                viewers=viewers,
                **extra,
            ),
            pulumi.ResourceOptions(transformations=[capture] if capture else []),
        )

    program()


def _granted(mocks: RecordingMocks) -> dict[str, str]:
    """principalArn -> the access policy's name, per association; every association has its entry."""
    entries = {r.inputs["principalArn"] for r in mocks.of_type(ENTRY)}
    policies = {r.inputs["principalArn"]: r.inputs["policyArn"].rsplit("/", 1)[1] for r in mocks.of_type(ASSOCIATION)}
    assert set(policies) == entries
    return policies


def test_the_creator_by_role_arn_gets_no_second_entry_and_is_recorded(mocks: RecordingMocks) -> None:
    _caller(mocks, DEPLOY)  # an IAM role ARN as the caller (e.g. credentials of the role itself)
    ignored: list[str] = []

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        if args.type_ == "aws:eks/cluster:Cluster":
            ignored.extend(args.opts.ignore_changes or [])

    _cluster([DEPLOY, PERSON], [PREVIEW], capture)
    assert _granted(mocks) == {PERSON: "AmazonEKSClusterAdminPolicy", PREVIEW: "AmazonEKSViewPolicy"}
    cluster = mocks.one("aws:eks/cluster:Cluster").inputs
    assert cluster["tags"][access.EKS_CREATOR_TAG] == DEPLOY
    # Set at creation, never rewritten by a later caller.
    assert ignored == ['tags["triton-platform/creator"]']


def test_the_creator_by_assumed_role_session_is_recorded_as_its_role(mocks: RecordingMocks) -> None:
    _caller(mocks, DEPLOY_SESSION)
    _cluster([DEPLOY, PERSON], [PREVIEW])
    assert _granted(mocks) == {PERSON: "AmazonEKSClusterAdminPolicy", PREVIEW: "AmazonEKSViewPolicy"}
    tags = mocks.one("aws:eks/cluster:Cluster").inputs["tags"]
    assert tags[access.EKS_CREATOR_TAG] == f"arn:aws:iam::{ACCOUNT}:role/triton-deploy"


def test_a_second_run_by_another_caller_skips_the_recorded_creator(mocks: RecordingMocks) -> None:
    # A person created the cluster; CI's deploy role updates it now.
    _caller(mocks, DEPLOY_SESSION)
    _existing(mocks, {"triton-platform/cluster": "triton-prod", access.EKS_CREATOR_TAG: PERSON})
    _cluster([DEPLOY, PERSON], [PREVIEW])
    # The person's bootstrap entry is left alone; the deploy role, not the creator, gets its entry.
    assert _granted(mocks) == {DEPLOY: "AmazonEKSClusterAdminPolicy", PREVIEW: "AmazonEKSViewPolicy"}
    assert any(token == CLUSTER and args.get("name") == "triton-prod" for token, args in mocks.calls)


def test_the_creator_run_again_keeps_the_entries_it_made_for_others(mocks: RecordingMocks) -> None:
    # CI created the cluster (recorded as its role); the person runs `pulumi up` next: the entry
    # CI made for the person stays (skipping the current caller would delete it).
    _caller(mocks, f"arn:aws:iam::{ACCOUNT}:user/alice")
    _existing(mocks, {access.EKS_CREATOR_TAG: f"arn:aws:iam::{ACCOUNT}:role/triton-deploy"})
    _cluster([DEPLOY, PERSON], [])
    assert _granted(mocks) == {PERSON: "AmazonEKSClusterAdminPolicy"}


def test_an_untagged_existing_cluster_assumes_the_caller_and_warns(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: warnings.append(message))
    _caller(mocks, DEPLOY_SESSION)
    _existing(mocks, {"triton-platform/cluster": "triton-prod"})
    _cluster([DEPLOY, PERSON], [])
    assert _granted(mocks) == {PERSON: "AmazonEKSClusterAdminPolicy"}
    assert [w for w in warnings if access.EKS_CREATOR_TAG in w and "aws eks tag-resource" in w]
