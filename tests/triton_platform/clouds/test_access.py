"""The EKS cluster creator, as ``cluster.access`` must skip it (triton_platform.clouds.access).

Shapes as the APIs return them: STS GetCallerIdentity ``Arn`` (an IAM user
``arn:aws:iam::<account>:user/<name>``, a role session
``arn:aws:sts::<account>:assumed-role/<role>/<session>``: the role's path is not in it); the
creator's bootstrap access entry names the role's IAM ARN, path included (EKS API reference,
AccessEntry.principalArn; terraform-aws-modules/terraform-aws-eks#2969 for an SSO role).
"""

from __future__ import annotations

import pytest

from triton_platform.clouds import access

ACCOUNT = "123456789012"
DEPLOY = f"arn:aws:iam::{ACCOUNT}:role/ci/triton-deploy"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/triton-deploy/GitHubActions"
SSO_ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_1f9ff11932198c00"
SSO_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin_1f9ff11932198c00/alice@example.com"


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        (SESSION, f"arn:aws:iam::{ACCOUNT}:role/triton-deploy"),
        (f"arn:aws-us-gov:sts::{ACCOUNT}:assumed-role/r/s", f"arn:aws-us-gov:iam::{ACCOUNT}:role/r"),
        (f"arn:aws:iam::{ACCOUNT}:user/alice", f"arn:aws:iam::{ACCOUNT}:user/alice"),
    ],
)
def test_iam_principal_arn_names_the_role_of_a_session(caller: str, principal: str) -> None:
    assert access.iam_principal_arn(caller) == principal


def test_creator_tag_records_the_role_and_fits_an_eks_tag_value() -> None:
    assert access.creator_tag(SSO_SESSION) == {
        "triton-platform/creator": f"arn:aws:iam::{ACCOUNT}:role/AWSReservedSSO_Admin_1f9ff11932198c00"
    }
    # A comma is a valid IAM name character but no EKS tag value character: nothing recorded.
    assert access.creator_tag(f"arn:aws:sts::{ACCOUNT}:assumed-role/a,b/s") == {}


def test_a_new_cluster_is_created_by_the_caller() -> None:
    creator = access.eks_creator("triton-prod", SESSION, None)
    assert creator.warning is None
    assert creator.created(DEPLOY)  # the configured ARN carries a path the session lacks
    assert not creator.created(f"arn:aws:iam::{ACCOUNT}:role/triton-preview")


def test_an_existing_cluster_answers_with_its_recorded_creator_whoever_runs() -> None:
    recorded = {"triton-platform/cluster": "triton-prod", **access.creator_tag(SSO_SESSION)}
    creator = access.eks_creator("triton-prod", SESSION, recorded)
    assert creator.warning is None
    assert creator.created(SSO_ROLE)  # the entry EKS made names the role with its path
    assert not creator.created(DEPLOY)  # the caller of this run is not the creator


def test_an_existing_cluster_without_the_tag_assumes_the_caller_and_says_how_to_record_it() -> None:
    creator = access.eks_creator("triton-prod", SESSION, {"triton-platform/cluster": "triton-prod"})
    assert creator.created(DEPLOY)
    assert creator.warning is not None
    assert "aws eks tag-resource" in creator.warning
    assert "triton-platform/creator=" in creator.warning
