"""Issue 15 under the mock runtime: cluster access grants, EKS zones by ID, the AKS deployer's
principal type and private-endpoint network, with the providers' function results shaped as
the clouds return them:

- aws.getAvailabilityZones: ``names`` / ``zoneIds`` parallel lists (EC2 API reference,
  DescribeAvailabilityZones, AvailabilityZone.ZoneName / ZoneId); aws.ec2.getInstanceTypeOfferings
  with ``locationType: availability-zone-id``: ``instanceTypes`` / ``locations`` / ``locationTypes``
  (DescribeInstanceTypeOfferings, InstanceTypeOffering.InstanceType / Location / LocationType);
  aws.getCallerIdentity: ``arn`` (STS GetCallerIdentity; an assumed role reads
  ``arn:aws:sts::<account>:assumed-role/<role>/<session>``).
- azure-native authorization.getClientConfig: ``clientId``, ``objectId``, ``subscriptionId``,
  ``tenantId`` (the Azure CLI's public client id when a person signed in with ``az login``).
- EKS access entries and policy associations: aws.eks.AccessEntry / AccessPolicyAssociation
  (EKS API reference, CreateAccessEntry, AssociateAccessPolicy: accessScope.type ``cluster``).
"""

from __future__ import annotations

from typing import Any

import pytest

import stacks
from components.aws.eks_network import EKS_UNSUPPORTED_ZONE_IDS, plan_zones
from tests.support.cloud import Built, build_stack
from tests.support.pulumi_mocks import RecordingMocks
from tests.support.stacks import Edit, parse_stack, set_key
from triton_platform.clouds import access

AWS, GCP, AZURE = "prod", "staging", "prod-azure"
ACCOUNT = "123456789012"
DEPLOY = f"arn:aws:iam::{ACCOUNT}:role/triton-deploy"
PREVIEW = f"arn:aws:iam::{ACCOUNT}:role/ci/triton-preview"
ZONES = "aws:index/getAvailabilityZones:getAvailabilityZones"
CALLER = "aws:index/getCallerIdentity:getCallerIdentity"
CLIENT_CONFIG = "azure-native:authorization:getClientConfig"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def _build(mocks: RecordingMocks, stack: str, *edits: Edit) -> Built:
    return build_stack(mocks, stacks.build_stack, parse_stack(stack, *edits))


def _access(admins: list[str], viewers: list[str]) -> Edit:
    return set_key("cluster.access", {"admins": admins, "viewers": viewers})


# --------------------------------------------------------------------------- EKS access entries


def test_eks_access_entries_for_admins_and_viewers_but_not_the_creator(
    mocks: RecordingMocks, samples_built: Any
) -> None:
    # `pulumi up` runs as the deploy role: STS reports its session ARN, path dropped.
    mocks.call_results[CALLER] = {
        "accountId": ACCOUNT,
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/triton-deploy/pulumi-deploy-1",
        "userId": "AROAEXAMPLE:pulumi-deploy-1",
    }
    person = f"arn:aws:iam::{ACCOUNT}:user/alice"
    _build(mocks, AWS, _access([DEPLOY, person], [PREVIEW]))
    entries = {r.inputs["principalArn"]: r for r in mocks.of_type("aws:eks/accessEntry:AccessEntry")}
    # The creator holds the bootstrap entry (bootstrapClusterCreatorAdminPermissions): no second one.
    assert set(entries) == {person, PREVIEW}
    assert {e.inputs["type"] for e in entries.values()} == {"STANDARD"}
    policies = {
        r.inputs["principalArn"]: r.inputs
        for r in mocks.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    }
    assert policies[person]["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert policies[PREVIEW]["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
    assert {p["accessScope"]["type"] for p in policies.values()} == {"cluster"}
    cluster = mocks.one("aws:eks/cluster:Cluster").inputs
    assert cluster["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is True
    # The Kubernetes provider waits for every association.
    assocs = {r.name for r in mocks.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")}
    assert assocs <= mocks.dependency_names("triton-prod-k8s")


def test_eks_access_names_follow_the_principal_not_its_place(mocks: RecordingMocks, samples_built: Any) -> None:
    _build(mocks, AWS, _access([DEPLOY], [PREVIEW]))
    first = {r.inputs["principalArn"]: r.name for r in mocks.of_type("aws:eks/accessEntry:AccessEntry")}
    again = RecordingMocks()
    again.install(stack="test")
    _build(again, AWS, _access([DEPLOY], [PREVIEW]))
    assert first == {r.inputs["principalArn"]: r.name for r in again.of_type("aws:eks/accessEntry:AccessEntry")}


def test_same_iam_principal_matches_role_sessions_by_account_and_name() -> None:
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/triton-preview/gh-1"
    assert access.same_iam_principal(PREVIEW, session)  # the path is not in the STS ARN
    assert not access.same_iam_principal(DEPLOY, session)
    assert not access.same_iam_principal("arn:aws:iam::999999999999:role/triton-preview", session)


# --------------------------------------------------------------------------- EKS zones


def test_plan_zones_skips_the_ids_eks_refuses() -> None:
    names = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
    ids = ["use1-az3", "use1-az1", "use1-az2", "use1-az4"]
    plan = plan_zones(names, ids, 3)
    assert plan.ids == ["use1-az1", "use1-az2", "use1-az4"]
    assert plan.names == ["us-east-1b", "us-east-1c", "us-east-1d"]
    assert {"use1-az3", "usw1-az2", "cac1-az3"} == EKS_UNSUPPORTED_ZONE_IDS


def test_plan_zones_places_the_gpu_group_where_its_type_is_offered() -> None:
    names = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
    ids = ["use1-az1", "use1-az2", "use1-az4", "use1-az6"]
    assert plan_zones(names, ids, 3, gpu_zone_ids=["use1-az2", "use1-az6"]).gpu_indexes == [1]
    # Offered only beyond the first zones: the last place goes to an offering zone.
    plan = plan_zones(names, ids, 3, gpu_zone_ids=["use1-az6"])
    assert plan.ids == ["use1-az1", "use1-az2", "use1-az6"]
    assert plan.gpu_indexes == [2]


def test_plan_zones_names_the_key_and_region_when_no_zone_offers_the_gpu_type() -> None:
    with pytest.raises(ValueError, match="offered in no availability zone") as err:
        plan_zones(
            ["us-east-1a", "us-east-1b", "us-east-1c"],
            ["use1-az1", "use1-az2", "use1-az3"],
            2,
            gpu_zone_ids=["use1-az3"],
            gpu_instance_type="p5.48xlarge",
            region="us-east-1",
        )
    assert "cluster.gpuNodePool.machineType 'p5.48xlarge'" in str(err.value)
    assert "us-east-1" in str(err.value)


def test_eks_subnets_and_gpu_group_follow_zone_ids(mocks: RecordingMocks, samples_built: Any) -> None:
    # An account where us-east-1a is the refused use1-az3; p4d.24xlarge offered in two zones.
    mocks.call_results[ZONES] = {
        "names": ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"],
        "zoneIds": ["use1-az3", "use1-az1", "use1-az2", "use1-az4"],
    }
    mocks.instance_type_zones["p4d.24xlarge"] = ["use1-az2", "use1-az4", "use1-az3"]
    _build(mocks, AWS)
    subnets = {r.name: r.inputs["availabilityZone"] for r in mocks.of_type("aws:ec2/subnet:Subnet")}
    # Names unchanged (triton-prod-private-<i>); zones are the accepted ones in the region's order.
    assert [subnets[f"triton-prod-private-{i}"] for i in range(3)] == ["us-east-1b", "us-east-1c", "us-east-1d"]
    groups = {r.name: r.inputs for r in mocks.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert groups["triton-prod-gpu"]["subnetIds"] == ["triton-prod-private-1-id", "triton-prod-private-2-id"]
    assert len(groups["triton-prod-system"]["subnetIds"]) == 3
    (offerings,) = [a for t, a in mocks.calls if t == "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings"]
    assert offerings["locationType"] == "availability-zone-id"


# --------------------------------------------------------------------------- AKS

USER_OBJECT = "11111111-2222-3333-4444-555555555555"
SP_OBJECT = "66666666-7777-8888-9999-aaaaaaaaaaaa"
ROLE_ID = "/subscriptions/" + SUBSCRIPTION + "/providers/Microsoft.Authorization/roleDefinitions/"


def _client(client_id: str) -> dict[str, str]:
    return {"clientId": client_id, "objectId": USER_OBJECT, "subscriptionId": SUBSCRIPTION, "tenantId": "t"}


def _assignment(mocks: RecordingMocks, name: str) -> dict[str, Any]:
    return mocks.named(name).inputs


@pytest.mark.parametrize(
    ("client_id", "expected"),
    [(access.AZURE_CLI_CLIENT_ID, "User"), ("0f0e0d0c-0b0a-0908-0706-050403020100", "ServicePrincipal")],
    ids=["az-login", "oidc-service-principal"],
)
def test_aks_deployer_principal_type_follows_the_login(
    mocks: RecordingMocks, samples_built: Any, client_id: str, expected: str
) -> None:
    mocks.call_results[CLIENT_CONFIG] = _client(client_id)
    _build(mocks, AZURE)
    assert _assignment(mocks, "triton-prod-weu-deployer-cluster-admin")["principalType"] == expected
    (deployer,) = [
        r for r in mocks.of_type("azure-native:authorization:RoleAssignment") if r.name.endswith("-identity-deployer")
    ]
    assert deployer.inputs["principalType"] == expected


def test_aks_access_roles_for_admins_and_viewers(mocks: RecordingMocks, samples_built: Any) -> None:
    _build(mocks, AZURE, _access([USER_OBJECT], [f"servicePrincipal:{SP_OBJECT}"]))
    granted = {
        (r.inputs["principalId"], r.inputs["roleDefinitionId"].rsplit("/", 1)[-1], r.inputs.get("principalType"))
        for r in mocks.of_type("azure-native:authorization:RoleAssignment")
        if "-access-" in r.name
    }
    assert granted == {
        (USER_OBJECT, access.AKS_CLUSTER_USER, "User"),
        (USER_OBJECT, access.AKS_RBAC_CLUSTER_ADMIN, "User"),
        (SP_OBJECT, access.AKS_CLUSTER_USER, "ServicePrincipal"),
        (SP_OBJECT, access.AKS_RBAC_READER, "ServicePrincipal"),
    }
    names = {r.name for r in mocks.of_type("azure-native:authorization:RoleAssignment") if "-access-" in r.name}
    assert names <= mocks.dependency_names("triton-prod-weu-k8s")


def test_aks_private_endpoint_needs_a_reachable_subnet() -> None:
    from tests.support.stacks import config_error

    err = config_error(AZURE, set_key("cluster.privateEndpoint", True))
    assert any("cluster.aks.vnetSubnetId" in i.key for i in err.issues), str(err)


@pytest.mark.parametrize(
    "subnet",
    [
        "aks-subnet",  # a name, not the subnet's resource id
        "/subscriptions/x/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/hub",  # the VNet itself
    ],
)
def test_aks_subnet_must_be_a_subnet_resource_id(subnet: str) -> None:
    from tests.support.stacks import config_error

    err = config_error(AZURE, set_key("cluster.aks.vnetSubnetId", subnet))
    (issue,) = [i for i in err.issues if i.key.endswith("cluster.aks.vnetSubnetId")]
    assert "/subnets/" in (issue.example or ""), issue


def test_aks_private_endpoint_uses_the_given_subnet(mocks: RecordingMocks, samples_built: Any) -> None:
    subnet = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/hub/subnets/aks"
    )
    _build(
        mocks,
        AZURE,
        set_key("cluster.privateEndpoint", True),
        set_key("cluster.aks.vnetSubnetId", subnet),
    )
    cluster = mocks.one("azure-native:containerservice:ManagedCluster").inputs
    assert cluster["agentPoolProfiles"][0]["vnetSubnetID"] == subnet
    assert _assignment(mocks, "triton-prod-weu-subnet-network")["scope"] == subnet


def test_custom_role_assignment_waits_for_the_role_to_propagate(mocks: RecordingMocks, samples_built: Any) -> None:
    _build(mocks, AZURE, set_key("publisher.builder", "kubernetes"))
    waits = [r for r in mocks.of_type("command:local:Command") if r.name.endswith("-builder-role-propagated")]
    if not waits:
        pytest.skip("the example AKS stack builds no engine in the cluster")
    (wait,) = waits
    assert "az role definition list" in wait.inputs["create"]
    (cache,) = [r.name for r in mocks.of_type("azure-native:authorization:RoleAssignment") if r.name.endswith("-cache")]
    assert wait.name in mocks.dependency_names(cache)


# --------------------------------------------------------------------------- GKE


def test_gke_access_roles_at_project_level(mocks: RecordingMocks, samples_built: Any) -> None:
    deploy = "serviceAccount:deploy@acme-ml-staging.iam.gserviceaccount.com"
    preview = "serviceAccount:preview@acme-ml-staging.iam.gserviceaccount.com"
    _build(mocks, GCP, _access([deploy], [preview]))
    granted = {
        (r.inputs["member"], r.inputs["role"]): r.name
        for r in mocks.of_type("gcp:projects/iAMMember:IAMMember")
        if "-access-" in r.name
    }
    assert set(granted) == {(deploy, "roles/container.admin"), (preview, "roles/container.viewer")}
    assert set(granted.values()) <= mocks.dependency_names("triton-staging-k8s")


def test_access_entries_must_be_principals_of_the_cloud() -> None:
    from tests.support.stacks import config_error

    err = config_error(GCP, _access([DEPLOY], []))
    (issue,) = [i for i in err.issues if "cluster.access" in i.key]
    assert issue.key.endswith("cluster.access.admins[0]")
    assert "IAM member" in issue.reason


# --------------------------------------------------------------------------- README agrees with the code


def _item(cloud_heading: str) -> str:
    from tests.support.stacks import REPO

    text = (REPO / "docs" / "pull-request-previews.md").read_text()
    setup = text[text.index("## One-time setup (repository admin)") :]
    start = setup.index(f"**{cloud_heading}**")
    end = min(i for i in (setup.find("\n4. ", start), setup.find("\n5. ", start), setup.find("\n6. ", start)) if i > 0)
    return setup[start:end]


def test_readme_one_time_setup_lists_exactly_the_access_roles_of_the_code() -> None:
    import re

    aws_item, gcp_item, azure_item = _item("AWS"), _item("Google Cloud"), _item("Azure")
    assert set(re.findall(r"AmazonEKS\w+Policy", aws_item)) == set(access.EKS_ACCESS_POLICIES.values())
    assert set(re.findall(r"roles/container\.\w+", gcp_item)) == set(access.GKE_ACCESS_ROLES.values())
    named = set(re.findall(r"\*(Azure Kubernetes Service [^*]+)\*", azure_item))
    in_code = {access.AKS_ROLE_NAMES[r] for roles in access.AKS_ACCESS_ROLES.values() for r in roles}
    assert named == in_code
    assert "MaxSessionDuration" in aws_item
