"""Who can reach each cloud cluster's Kubernetes API, and whether NetworkPolicy is enforced (issue 7, items 9-10).

The example stacks (Pulumi.prod.yaml: EKS, Pulumi.staging.yaml: GKE, Pulumi.prod-azure.yaml:
AKS) are built by ``stacks.build_stack`` under Pulumi's mocks, with ``cluster.apiAccessCidrs``,
``cluster.privateEndpoint`` and ``cluster.aks`` edited in, and the recorded inputs are compared
with the real APIs' field names and rules, cited next to each test:

- EKS: the vpc-cni add-on's configuration values are the aws-vpc-cni chart's values
  (github.com/aws/amazon-vpc-cni-k8s, charts/aws-vpc-cni/values.yaml); the endpoint fields
  are aws.eks.Cluster vpc_config (pulumi_aws eks ClusterVpcConfig).
- GKE: pulumi_gcp container Cluster master_authorized_networks_config / private_cluster_config.
- AKS: azure-native containerservice ManagedCluster aadProfile, disableLocalAccounts,
  apiServerAccessProfile; the built-in role ids of learn.microsoft.com/azure/role-based-access-
  control/built-in-roles; kubelogin's converter (github.com/Azure/kubelogin,
  pkg/internal/converter/convert.go).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime import rpc

import stacks
from components.aws.eks_cluster import VPC_CNI_CONFIGURATION
from components.azure.aks_cluster import AKS_RBAC_CLUSTER_ADMIN, kubelogin_azurecli
from tests.support.cloud import Built, build_stack
from tests.support.pulumi_mocks import (
    MOCK_AKS_AAD_KUBECONFIG,
    MOCK_AKS_SERVER_ID,
    MOCK_EKS_CLUSTER_SG,
    RecordingMocks,
)
from tests.support.stacks import Edit, parse_stack, set_key
from tests.support.tools import helm_path

AWS, GCP, AZURE = "prod", "staging", "prod-azure"
EKS_CLUSTER, GKE_CLUSTER, AKS_CLUSTER = "triton-prod", "triton-staging", "triton-prod-weu"
CIDRS = ["203.0.113.0/24", "198.51.100.7/32"]
OPEN_WARNING = "reachable from any address (0.0.0.0/0)"
ADMIN_CREDENTIALS = "azure-native:containerservice:listManagedClusterAdminCredentials"
USER_CREDENTIALS = "azure-native:containerservice:listManagedClusterUserCredentials"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"  # the mocks' getClientConfig


def _build(mocks: RecordingMocks, stack: str, *edits: Edit) -> Built:
    return build_stack(mocks, stacks.build_stack, parse_stack(stack, *edits))


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# --------------------------------------------------------------------------- EKS


def _vpc_cni(built: Built) -> dict[str, Any]:
    (addon,) = [a for a in built.mocks.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "vpc-cni"]
    return addon.inputs


def test_eks_vpc_cni_add_on_enforces_network_policy(mocks: RecordingMocks, samples_built: Path) -> None:
    # aws-vpc-cni chart values.yaml: `enableNetworkPolicy: "false"` (a quoted string, top level);
    # the add-on's configuration values are that chart's values, so the key and the string
    # "true" are what turns the network policy controller and node agent enforcement on.
    # Fails on a vpc-cni add-on without configuration values (NetworkPolicy stored, never enforced).
    addon = _vpc_cni(_build(mocks, AWS))
    values = json.loads(addon["configurationValues"])
    assert values["enableNetworkPolicy"] == "true"
    assert isinstance(values["enableNetworkPolicy"], str)  # the chart quotes it; a JSON boolean is another value
    # The node agent that enforces the policies is on by default (nodeAgent.enabled: true);
    # nothing here may turn it off.
    assert values.get("nodeAgent", {}).get("enabled", True) is True


def _vpc_cni_chart() -> Path | None:
    path = os.environ.get("AWS_VPC_CNI_CHART")
    return Path(path) if path and (Path(path) / "Chart.yaml").is_file() else None


@pytest.mark.chart
@pytest.mark.skipif(
    _vpc_cni_chart() is None,
    reason="the aws-vpc-cni chart is not vendored (third-party); set AWS_VPC_CNI_CHART to a checkout of "
    "aws/amazon-vpc-cni-k8s charts/aws-vpc-cni to render it",
)
def test_eks_vpc_cni_configuration_renders_enforcement_in_the_real_chart(tmp_path: Path) -> None:
    # The real chart rendered with our configuration values: its ConfigMap key
    # enable-network-policy-controller and the node agent's --enable-network-policy flag.
    chart = _vpc_cni_chart()
    assert chart is not None
    values = tmp_path / "values.json"
    values.write_text(json.dumps(VPC_CNI_CONFIGURATION))
    proc = subprocess.run(
        [str(helm_path()), "template", "aws-vpc-cni", str(chart), "--namespace", "kube-system", "-f", str(values)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "amazon-vpc-cni"]
    assert config_map["data"]["enable-network-policy-controller"] == "true"
    (daemonset,) = [d for d in docs if d["kind"] == "DaemonSet"]
    args = [a for c in daemonset["spec"]["template"]["spec"]["containers"] for a in c.get("args", [])]
    assert "--enable-network-policy=true" in args


def _vpc_config(built: Built) -> dict[str, Any]:
    config: dict[str, Any] = built.one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    return config


def test_eks_public_endpoint_follows_api_access_cidrs(
    mocks: RecordingMocks, samples_built: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # aws.eks.Cluster vpc_config.public_access_cidrs: "which CIDR blocks can access the Amazon
    # EKS public API server endpoint"; EKS's default is 0.0.0.0/0.
    vpc = _vpc_config(_build(mocks, AWS, set_key("cluster.apiAccessCidrs", CIDRS)))
    assert vpc["endpointPublicAccess"] is True
    assert vpc["endpointPrivateAccess"] is True  # nodes reach the API inside the VPC
    assert vpc["publicAccessCidrs"] == CIDRS
    assert not [w for w in _warnings(caplog) if OPEN_WARNING in w]


def test_eks_default_endpoint_stays_public_and_warns(
    mocks: RecordingMocks, samples_built: Path, caplog: pytest.LogCaptureFixture
) -> None:
    vpc = _vpc_config(_build(mocks, AWS))
    assert vpc["publicAccessCidrs"] == ["0.0.0.0/0"]  # explicit, so the preview shows it
    (warning,) = [w for w in _warnings(caplog) if OPEN_WARNING in w]
    assert EKS_CLUSTER in warning
    assert "triton-platform:cluster.apiAccessCidrs" in warning


def test_eks_private_endpoint_turns_the_public_one_off(
    mocks: RecordingMocks, samples_built: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # EKS: private access must be on to turn public access off (EKS user guide, "Configure
    # network access to cluster API server endpoint").
    built = _build(mocks, AWS, set_key("cluster.privateEndpoint", True))
    vpc = _vpc_config(built)
    assert vpc["endpointPublicAccess"] is False
    assert vpc["endpointPrivateAccess"] is True
    assert "publicAccessCidrs" not in vpc
    assert built.mocks.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == []
    assert not [w for w in _warnings(caplog) if OPEN_WARNING in w]


def test_eks_private_endpoint_admits_api_access_cidrs_on_the_cluster_security_group(
    mocks: RecordingMocks, samples_built: Path
) -> None:
    # "Private access endpoints: ... You can further lock down access to specific VPC CIDR
    # blocks through cluster security groups." (AWS knowledge center,
    # eks-lock-api-access-IP-addresses); the group is aws.eks.Cluster
    # vpc_config.cluster_security_group_id, the rule aws.vpc.SecurityGroupIngressRule.
    cidrs = ["10.8.0.0/24", "192.168.10.0/24"]
    built = _build(mocks, AWS, set_key("cluster.privateEndpoint", True), set_key("cluster.apiAccessCidrs", cidrs))
    rules = built.mocks.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert [r.inputs["cidrIpv4"] for r in rules] == cidrs
    for rule in rules:
        assert rule.inputs["securityGroupId"] == MOCK_EKS_CLUSTER_SG
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443)
    assert "publicAccessCidrs" not in _vpc_config(built)


# --------------------------------------------------------------------------- GKE


def _gke(built: Built) -> dict[str, Any]:
    return built.one("gcp:container/cluster:Cluster").inputs


def test_gke_master_authorized_networks_follow_api_access_cidrs(
    mocks: RecordingMocks, samples_built: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # pulumi_gcp container Cluster.master_authorized_networks_config.cidr_blocks[].cidr_block:
    # "External network that can access Kubernetes master through HTTPS. Must be specified in
    # CIDR notation."
    cluster = _gke(_build(mocks, GCP, set_key("cluster.apiAccessCidrs", CIDRS)))
    blocks = cluster["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert [b["cidrBlock"] for b in blocks] == CIDRS
    assert all(b["displayName"] for b in blocks)
    assert cluster["privateClusterConfig"]["enablePrivateEndpoint"] is False
    assert not [w for w in _warnings(caplog) if OPEN_WARNING in w]


def test_gke_default_has_no_authorized_networks_and_warns(
    mocks: RecordingMocks, samples_built: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cluster = _gke(_build(mocks, GCP))
    assert "masterAuthorizedNetworksConfig" not in cluster
    (warning,) = [w for w in _warnings(caplog) if OPEN_WARNING in w]
    assert GKE_CLUSTER in warning


def test_gke_private_endpoint_enforces_authorized_networks_on_it(mocks: RecordingMocks, samples_built: Path) -> None:
    # private_cluster_config.enable_private_endpoint: "the cluster's private endpoint is used as
    # the cluster endpoint and access through the public endpoint is disabled"; only for private
    # clusters (enable_private_nodes). master_authorized_networks_config.private_endpoint_
    # enforcement_enabled: "Whether authorized networks is enforced on the private endpoint".
    cluster = _gke(
        _build(mocks, GCP, set_key("cluster.privateEndpoint", True), set_key("cluster.apiAccessCidrs", ["10.8.0.0/24"]))
    )
    private = cluster["privateClusterConfig"]
    assert private["enablePrivateEndpoint"] is True
    assert private["enablePrivateNodes"] is True
    authorized = cluster["masterAuthorizedNetworksConfig"]
    assert [b["cidrBlock"] for b in authorized["cidrBlocks"]] == ["10.8.0.0/24"]
    assert authorized["privateEndpointEnforcementEnabled"] is True


# --------------------------------------------------------------------------- AKS


def _aks(built: Built) -> dict[str, Any]:
    return built.one("azure-native:containerservice:ManagedCluster").inputs


def _deployer_admin(built: Built) -> list[Any]:
    return [
        r
        for r in built.mocks.of_type("azure-native:authorization:RoleAssignment")
        if r.name == f"{AKS_CLUSTER}-deployer-cluster-admin"
    ]


def _no_credential(kubeconfig: dict[str, Any]) -> None:
    """No static credential of any kind in a kubeconfig's users (client-go AuthInfo fields)."""
    for user in kubeconfig.get("users") or []:
        auth = user["user"]
        for field in ("client-certificate-data", "client-key-data", "token", "password", "auth-provider"):
            assert field not in auth, (user["name"], field)


def test_aks_defaults_to_entra_id_with_azure_rbac_and_no_local_accounts(
    mocks: RecordingMocks, samples_built: Path
) -> None:
    # azure-native ManagedCluster: aadProfile {managed, enableAzureRBAC}, disableLocalAccounts
    # ("If set to true, getting static credentials will be disabled for this cluster. This
    # must only be used on Managed Clusters that are AAD enabled.").
    built = _build(mocks, AZURE)
    aks = _aks(built)
    assert aks["disableLocalAccounts"] is True
    assert aks["aadProfile"] == {"managed": True, "enableAzureRBAC": True}
    # The deployer administers this cluster through Azure RBAC, on this cluster only.
    (admin,) = _deployer_admin(built)
    role = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{AKS_RBAC_CLUSTER_ADMIN}"
    assert admin.inputs["roleDefinitionId"] == role
    assert admin.inputs["principalId"] == "o"  # getClientConfig().objectId: who runs `pulumi up`
    aks_resource = built.one("azure-native:containerservice:ManagedCluster")
    assert admin.inputs["scope"] == f"{aks_resource.name}-id"
    # The Kubernetes provider waits for that grant.
    assert admin.name in built.mocks.dependency_names(f"{AKS_CLUSTER}-k8s")


def test_aks_exports_and_writes_no_admin_kubeconfig(mocks: RecordingMocks, samples_built: Path) -> None:
    built = _build(mocks, AZURE, set_key("modelRepository.staticKeys", True))
    tokens = [c for c in built.mocks.calls if c[0] in (ADMIN_CREDENTIALS, USER_CREDENTIALS)]
    assert [t for t, _ in tokens] == [USER_CREDENTIALS]  # never the admin (static) credentials
    assert tokens[0][1]["format"] == "exec"  # "exec format kubeconfig, which requires kubelogin"
    exported = yaml.safe_load(built.result.values["kubeconfig"])
    _no_credential(exported)
    (user,) = exported["users"]
    # kubelogin convert-kubeconfig -l azurecli writes exactly these args (converter/convert.go).
    assert user["user"]["exec"]["command"] == "kubelogin"
    assert user["user"]["exec"]["args"] == ["get-token", "--login", "azurecli", "--server-id", MOCK_AKS_SERVER_ID]
    # The file for the engine builder is the same credential-free kubeconfig.
    (write,) = [r for r in built.mocks.of_type("command:local:Command") if r.name == f"{AKS_CLUSTER}-kubeconfig-file"]
    stdin = write.inputs["stdin"]
    assert rpc.is_rpc_secret(stdin)  # the file's content travels as a secret
    assert yaml.safe_load(rpc.unwrap_rpc_secret(stdin)) == exported
    assert "kubeconfig" in built.result.secret


def test_aks_local_accounts_escape_hatch_keeps_the_old_mode(mocks: RecordingMocks, samples_built: Path) -> None:
    built = _build(mocks, AZURE, set_key("cluster.aks.localAccounts", True))
    aks = _aks(built)
    assert aks["disableLocalAccounts"] is False
    assert "aadProfile" not in aks
    assert _deployer_admin(built) == []
    (call,) = [c for c in built.mocks.calls if c[0] == USER_CREDENTIALS]
    assert "format" not in call[1]


def test_aks_admin_groups_are_passed_to_entra_id(mocks: RecordingMocks, samples_built: Path) -> None:
    group = "5e0c4a6f-1b2c-4d3e-8f90-0123456789ab"
    aks = _aks(_build(mocks, AZURE, set_key("cluster.aks.adminGroupObjectIds", [group])))
    assert aks["aadProfile"]["adminGroupObjectIDs"] == [group]


def test_aks_authorized_ip_ranges_follow_api_access_cidrs(
    mocks: RecordingMocks, samples_built: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # ManagedClusterAPIServerAccessProfile.authorizedIPRanges.
    aks = _aks(_build(mocks, AZURE, set_key("cluster.apiAccessCidrs", CIDRS)))
    assert aks["apiServerAccessProfile"] == {"authorizedIPRanges": CIDRS}
    assert not [w for w in _warnings(caplog) if OPEN_WARNING in w]


def test_aks_default_api_server_is_public_and_warns(
    mocks: RecordingMocks, samples_built: Path, caplog: pytest.LogCaptureFixture
) -> None:
    aks = _aks(_build(mocks, AZURE))
    assert "apiServerAccessProfile" not in aks
    (warning,) = [w for w in _warnings(caplog) if OPEN_WARNING in w]
    assert AKS_CLUSTER in warning


def test_aks_private_endpoint_is_a_private_cluster(mocks: RecordingMocks, samples_built: Path) -> None:
    # A private AKS cluster needs a subnet the deployer reaches (cluster.aks.vnetSubnetId, issue 15).
    subnet = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/hub/subnets/aks"
    )
    aks = _aks(
        _build(mocks, AZURE, set_key("cluster.privateEndpoint", True), set_key("cluster.aks.vnetSubnetId", subnet))
    )
    assert aks["apiServerAccessProfile"] == {"enablePrivateCluster": True}


def test_kubelogin_conversion_drops_everything_but_the_server_id() -> None:
    out = yaml.safe_load(kubelogin_azurecli(MOCK_AKS_AAD_KUBECONFIG))
    source = yaml.safe_load(MOCK_AKS_AAD_KUBECONFIG)
    assert out["clusters"] == source["clusters"]  # endpoint and CA untouched
    (user,) = out["users"]
    assert user["user"] == {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "kubelogin",
            "args": ["get-token", "--login", "azurecli", "--server-id", MOCK_AKS_SERVER_ID],
            "installHint": "kubelogin is not installed",
        }
    }


def test_kubelogin_conversion_refuses_a_certificate_kubeconfig() -> None:
    cert = yaml.safe_dump(
        {"users": [{"name": "clusterUser", "user": {"client-certificate-data": "x", "client-key-data": "y"}}]}
    )
    with pytest.raises(ValueError, match="no kubelogin exec user"):
        kubelogin_azurecli(cert)
