"""The AKS stack: plain Azure logic, then Pulumi.prod-azure.yaml evaluated under Pulumi's mocks.

The recorded resource graph is checked for what matters on Azure: workload identity and the
OIDC issuer, the GPU pool's taint, MIG profile and autoscaling, the storage protections, the
ABAC-conditioned role assignments, every Kubernetes resource on the cluster's provider, keys
only when opted in. MIG variants render the Triton release's values with the real helm.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

import stacks
import stacks.azure as azure_stack
from stacks.common import BUILDER_SERVICE_ACCOUNT, TRITON_SERVICE_ACCOUNT
from tests.support.cloud import LOCATION, LOCATIONS_ROOT, WORKLOAD_OUTPUTS, Built, build_stack
from tests.support.cloud import provisioned_storage as storage_of
from tests.support.helm import CHART, assert_gpu_placement, pod_spec, render_triton, triton_container
from tests.support.pulumi_mocks import (
    MOCK_AKS_PRINCIPAL_ID,
    MOCK_RANDOM_STRING,
    MOCK_STORAGE_KEY,
    SECRET_SIG,
    RecordingMocks,
    run_program,
)
from tests.support.stacks import BEHIND_GATEWAY, Edit, config_error, parse_stack, set_key
from triton_platform.catalog import gpu
from triton_platform.clouds import azure as az
from triton_platform.clouds import azure_rbac
from triton_platform.sidecars import azure_model_sync

STACK = "prod-azure"
CLUSTER = "triton-prod-weu"
K8S_PROVIDER = f"pulumi:providers:kubernetes::{CLUSTER}-k8s"
AZURE_PROVIDER = "pulumi:providers:azure-native::azure"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
# The storage account: the cluster's name, alphanumeric, and the mocks' random suffix.
ACCOUNT = f"tritonprodweu{MOCK_RANDOM_STRING}"
STATIC = set_key("modelRepository.staticKeys", True)


# --------------------------------------------------------------------------- plain logic


def test_reader_condition_confines_reads_and_listing_to_the_prefix() -> None:
    cond = az.blob_prefix_condition("triton-models", "models", write=False)
    assert cond.count("(") == cond.count(")")
    assert (
        "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'triton-models'" in cond
    )
    assert (
        "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith 'models/'"
        in cond
    )
    assert (
        "@Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:prefix] StringStartsWith 'models/'"
        in cond
    )
    assert "SubOperationMatches{'Blob.List'}" in cond
    assert "blobs/write" not in cond
    assert "blobs/delete" not in cond


def test_writer_condition_covers_every_write_action() -> None:
    cond = az.blob_prefix_condition("triton-models", "_cache", write=True)
    assert cond.count("(") == cond.count(")")
    for action in ("read", "write", "add/action", "delete", "move/action"):
        assert f"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/{action}'" in cond
    assert "StringStartsWith '_cache/'" in cond
    assert "models/" not in cond


@pytest.mark.parametrize(("container", "prefix"), [("models'", "models"), ("triton-models", "m' OR '1"), ("a--b", "x")])
def test_condition_refuses_names_that_could_change_it(container: str, prefix: str) -> None:
    with pytest.raises(ValueError, match="not a valid Azure blob"):
        az.blob_prefix_condition(container, prefix, write=False)


def test_builder_role_inputs_are_checked() -> None:
    role = azure_rbac.engine_builder_role(SUBSCRIPTION, "rg", "triton-models")
    assert role["permissions"]["actions"] == []
    # Stable: the same group and container give the same role (no new role on every `up`).
    assert role == azure_rbac.engine_builder_role(SUBSCRIPTION, "rg", "triton-models")
    assert (
        role["role_definition_id"]
        != azure_rbac.engine_builder_role(SUBSCRIPTION, "rg2", "triton-models")["role_definition_id"]
    )
    with pytest.raises(ValueError, match="GUID"):
        azure_rbac.engine_builder_role("not-a-subscription", "rg", "c")
    with pytest.raises(ValueError, match="128"):
        azure_rbac.engine_builder_role(SUBSCRIPTION, "g" * 90, "c" * 63)


def test_aks_mig_profiles_are_the_default_slice_of_each_size() -> None:
    assert az.aks_mig_profiles("A100-SXM4-80GB") == ("1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")
    assert az.aks_mig_profiles("NVIDIA-A100-80GB-PCIe") == az.aks_mig_profiles("A100-SXM4-80GB")
    assert az.aks_mig_profiles("A100-SXM4-40GB") == ("1g.5gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb")
    assert az.aks_mig_profiles("Tesla-T4") == ()
    assert az.gpu_instance_profile("single", "1g.10gb") == "MIG1g"
    assert az.gpu_instance_profile("mixed", "3g.40gb") == "MIG3g"
    assert az.gpu_instance_profile("none", None) is None


def test_gpu_pool_name_changes_with_what_aks_cannot_update() -> None:
    from components.azure.aks_cluster import AksGpuPool

    base = AksGpuPool(vm_size="Standard_NC24ads_A100_v4", gpu_instance_profile="MIG1g")
    assert re.fullmatch(r"gpu[0-9a-f]{6}", base.agent_pool_name)
    assert AksGpuPool(
        vm_size="Standard_NC24ads_A100_v4", gpu_instance_profile="MIG1g", max_count=9
    ).agent_pool_name == (base.agent_pool_name)  # autoscaling bounds update in place
    for changed in (
        AksGpuPool(vm_size="Standard_NC24ads_A100_v4", gpu_instance_profile="MIG3g"),
        AksGpuPool(vm_size="Standard_NC48ads_A100_v4", gpu_instance_profile="MIG1g"),
        AksGpuPool(vm_size="Standard_NC24ads_A100_v4", gpu_instance_profile="MIG1g", spot=True),
    ):
        assert changed.agent_pool_name != base.agent_pool_name
    assert AksGpuPool(name="gpu", vm_size="Standard_NC24ads_A100_v4").agent_pool_name == "gpu"


def test_storage_account_names_are_valid() -> None:
    for base in ("triton-prod-weu", "A_VERY-long.cluster-name-that-goes-on", "--"):
        name = az.storage_account_name(base, "ab12cd34")
        assert re.fullmatch(r"[a-z0-9]{3,24}", name), name
        assert name.endswith("ab12cd34")
    assert az.storage_account_name("triton-prod-weu", "ab12cd34") == "tritonprodweuab12cd34"


def test_model_sync_values_mirror_keylessly_and_read_only() -> None:
    values = az.model_sync_values(
        image="nvcr.io/nvidia/tritonserver:25.01-py3",
        script="print('sync')",
        account="acct",
        container="triton-models",
        prefix="models",
        interval_seconds=30,
    )
    assert values["modelRepository"] == {"uri": az.SYNC_REPOSITORY}
    (init,) = values["extraInitContainers"]
    (sidecar,) = values["extraContainers"]
    assert init["args"][-1] == "--once"
    assert sidecar["args"][-2:] == ["--interval", "30"]
    for c in (init, sidecar):
        assert c["command"] == ["python3", "-c", "print('sync')"]
        assert "https://acct.blob.core.windows.net" in c["args"]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert c["resources"]["limits"]
        assert not any(e["name"] in ("AZURE_STORAGE_KEY", "AZURE_CLIENT_SECRET") for e in c["env"])
    assert values["extraVolumeMounts"] == [{"name": az.SYNC_VOLUME, "mountPath": az.SYNC_ROOT, "readOnly": True}]
    once = az.model_sync_values(
        image="i", script="s", account="a", container="c-c", prefix="p", interval_seconds=5, sidecar=False
    )
    assert once["extraContainers"] == []


# --------------------------------------------------------------------------- Pulumi mocks


@pytest.fixture
def pulumi_stack() -> str:
    """The mocks run under the example stack's name: it names the stack's resources."""
    return STACK


def _build(mocks: RecordingMocks, *edits: Edit, **overrides: Any) -> Built:
    """The example stack, edited, built by stacks.azure under the mocks."""
    return build_stack(mocks, stacks.build_stack, parse_stack(STACK, *edits, **overrides))


@pytest.fixture
def keyless(mocks: RecordingMocks, samples_built: Path) -> Built:
    return _build(mocks)


@pytest.fixture
def static(mocks: RecordingMocks, samples_built: Path) -> Built:
    return _build(mocks, STATIC)


def test_example_stack_is_valid_config(samples_built: Path) -> None:
    cfg = parse_stack(STACK)
    assert cfg.cloud == "azure"
    assert cfg.model_repository.static_keys is False
    assert gpu.find_machine_type("azure", cfg.cluster.gpu_node_pool.machine_type) is not None  # type: ignore[union-attr]


def test_cluster_has_workload_identity_overlay_networking_and_a_system_pool(static: Built) -> None:
    aks = static.one("azure-native:containerservice:ManagedCluster")
    i = aks.inputs
    assert i["oidcIssuerProfile"] == {"enabled": True}
    assert i["securityProfile"] == {"workloadIdentity": {"enabled": True}}
    assert i["identity"] == {"type": "SystemAssigned"}
    assert i["kubernetesVersion"] == "1.35"
    assert i["location"] == "westeurope"
    net = i["networkProfile"]
    assert (net["networkPlugin"], net["networkPluginMode"], net["networkPolicy"]) == ("azure", "overlay", "cilium")
    (system,) = i["agentPoolProfiles"]
    assert (system["mode"], system["vmSize"], system["minCount"], system["maxCount"]) == (
        "System",
        "Standard_D4ds_v5",
        2,
        4,
    )
    assert static.result.values["oidcIssuerUrl"] == "https://oidc.mock.azure.com/"
    assert AZURE_PROVIDER in (aks.provider or "")


def test_gpu_pool_is_tainted_partitioned_and_autoscaled(static: Built) -> None:
    pool = static.one("azure-native:containerservice:AgentPool").inputs
    assert pool["mode"] == "User"
    assert pool["vmSize"] == "Standard_NC24ads_A100_v4"
    assert pool["gpuInstanceProfile"] == "MIG1g"
    assert pool["nodeTaints"] == ["nvidia.com/gpu=present:NoSchedule"]
    assert (pool["enableAutoScaling"], pool["minCount"], pool["maxCount"]) == (True, 1, 4)
    assert pool["osDiskSizeGB"] == 256
    assert pool["nodeLabels"]["triton-platform/pool"] == "gpu"
    assert "scaleSetPriority" not in pool  # on-demand unless spot is asked for


def test_gpu_operator_uses_aks_driver_and_partitions(static: Built) -> None:
    release = static.mocks.release("gpu-operator")
    assert release.inputs["chart"] == "gpu-operator"
    values = release.inputs["values"]
    assert values["driver"] == {"enabled": False}
    assert values["toolkit"] == {"enabled": False}
    assert values["migManager"]["enabled"] is False
    assert values["mig"] == {"strategy": "single"}
    assert values["operator"]["nodeSelector"] == {"kubernetes.azure.com/mode": "system"}


def test_storage_is_private_tls_only_versioned_and_kept(static: Built) -> None:
    account = static.one("azure-native:storage:StorageAccount")
    a = account.inputs
    assert a["kind"] == "StorageV2"
    assert a["allowBlobPublicAccess"] is False
    assert a["minimumTlsVersion"] == "TLS1_2"
    assert a["enableHttpsTrafficOnly"] is True
    assert a["encryption"]["requireInfrastructureEncryption"] is True
    assert re.fullmatch(r"[a-z0-9]{3,24}", a["accountName"])
    container = static.one("azure-native:storage:BlobContainer")
    assert container.inputs["publicAccess"] == "None"
    assert container.inputs["containerName"] == "triton-models"
    service = static.one("azure-native:storage:BlobServiceProperties").inputs
    assert service["isVersioningEnabled"] is True
    assert service["deleteRetentionPolicy"] == {"enabled": True, "days": 7}
    assert service["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 7}
    (rule,) = static.one("azure-native:storage:ManagementPolicy").inputs["policy"]["rules"]
    assert rule["definition"]["actions"]["version"]["delete"]["daysAfterCreationGreaterThan"] == 30
    # retainOnDelete: true keeps the account, the container and the group Azure would delete them with.
    assert static.mocks.retained[account.name] is True
    assert static.mocks.retained[container.name] is True
    assert static.mocks.retained[f"{CLUSTER}-rg"] is True


def test_storage_is_deleted_with_the_stack_when_not_retained(mocks: RecordingMocks, samples_built: Path) -> None:
    built = _build(mocks, STATIC, set_key("modelRepository.retainOnDelete", False))
    assert built.mocks.retained[built.one("azure-native:storage:StorageAccount").name] is False
    assert built.mocks.retained[f"{CLUSTER}-rg"] is False


def test_every_kubernetes_resource_uses_the_cluster_provider(static: Built) -> None:
    k8s = [r for r in static.mocks.resources if r.type.startswith("kubernetes:") and r.custom]
    assert len(k8s) > 5
    for r in k8s:
        assert K8S_PROVIDER in (r.provider or ""), (r.type, r.name, r.provider)
    for r in static.mocks.resources:
        if r.type.startswith("azure-native:"):
            assert AZURE_PROVIDER in (r.provider or ""), (r.type, r.name, r.provider)


def test_static_keys_only_in_a_secret_when_opted_in(static: Built) -> None:
    secrets = [r for r in static.mocks.of_type("kubernetes:core/v1:Secret") if MOCK_STORAGE_KEY in repr(r.inputs)]
    assert [s.name for s in secrets] == [f"{STACK}-model-repository-credentials"]
    wire = static.mocks.wire_inputs[secrets[0].name]["stringData"]
    assert SECRET_SIG in wire  # sent to the engine as a secret
    assert wire["value"] == {"AZURE_STORAGE_KEY": MOCK_STORAGE_KEY}
    for r in static.mocks.resources:
        if r.type != "kubernetes:core/v1:Secret":
            assert MOCK_STORAGE_KEY not in repr(r.inputs), (r.type, r.name)
    for key, value in static.result.values.items():
        assert MOCK_STORAGE_KEY not in repr(value), key
    values = static.triton_values()
    assert values["modelRepository"]["uri"] == f"as://{ACCOUNT}/triton-models/models"
    assert values["modelRepository"]["env"] == {"AZURE_STORAGE_ACCOUNT": ACCOUNT}
    assert values["modelRepository"]["credentialsSecret"]
    assert static.one("azure-native:storage:StorageAccount").inputs["allowSharedKeyAccess"] is True
    # Triton reads with the key: no Triton identity; the engine builder keeps its own.
    idents = [
        r.inputs["resourceName"] for r in static.mocks.of_type("azure-native:managedidentity:UserAssignedIdentity")
    ]
    assert idents == [f"{CLUSTER}-{BUILDER_SERVICE_ACCOUNT}"]


def test_keyless_no_key_anywhere(keyless: Built) -> None:
    assert keyless.one("azure-native:storage:StorageAccount").inputs["allowSharedKeyAccess"] is False
    assert not [c for c in keyless.mocks.calls if c[0] == "azure-native:storage:listStorageAccountKeys"]
    for r in keyless.mocks.of_type("kubernetes:core/v1:Secret"):
        assert "AZURE_STORAGE_KEY" not in repr(r.inputs), r.name
    values = keyless.triton_values()
    assert values["modelRepository"]["uri"] == az.SYNC_REPOSITORY
    assert values["modelRepository"]["credentialsSecret"] == ""
    assert values["podLabels"] == {"azure.workload.identity/use": "true"}
    assert values["serviceAccount"]["annotations"] == {
        "azure.workload.identity/client-id": "00000000-0000-0000-0000-00000000c1d0"
    }
    (init,) = values["extraInitContainers"]
    assert init["image"] == "nvcr.io/nvidia/tritonserver:25.01-py3"
    assert init["command"] == ["python3", "-c", azure_model_sync.source_text()]
    assert f"https://{ACCOUNT}.blob.core.windows.net" in init["args"]


def test_identities_are_federated_to_exactly_their_service_accounts(keyless: Built) -> None:
    idents = {r.name: r for r in keyless.mocks.of_type("azure-native:managedidentity:UserAssignedIdentity")}
    assert sorted(r.inputs["resourceName"] for r in idents.values()) == [
        f"{CLUSTER}-{TRITON_SERVICE_ACCOUNT}",
        f"{CLUSTER}-{BUILDER_SERVICE_ACCOUNT}",
    ]
    subjects = {}
    for fic in keyless.mocks.of_type("azure-native:managedidentity:FederatedIdentityCredential"):
        assert fic.inputs["issuer"] == "https://oidc.mock.azure.com/"
        assert fic.inputs["audiences"] == ["api://AzureADTokenExchange"]
        subjects[fic.inputs["resourceName"]] = fic.inputs["subject"]
    assert subjects == {
        f"{CLUSTER}-triton": "system:serviceaccount:triton:triton",
        f"{CLUSTER}-triton-engine-builder": "system:serviceaccount:triton:triton-engine-builder",
    }


def test_role_assignments_are_scoped_to_the_container_and_a_prefix(keyless: Built) -> None:
    container = keyless.one("azure-native:storage:BlobContainer")
    container_id = f"{container.name}-id"  # the mocks' resource id
    by_name = {r.name: r.inputs for r in keyless.mocks.of_type("azure-native:authorization:RoleAssignment")}
    reader = by_name[f"{STACK}-identity-triton-reader"]
    builder = by_name[f"{STACK}-identity-builder-cache"]
    deployer = by_name[f"{STACK}-identity-deployer"]
    role = lambda r: f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{r}"  # noqa: E731
    assert reader["roleDefinitionId"] == role(az.STORAGE_BLOB_DATA_READER)
    # The builder's role is the stack's own data-actions-only role (see the next test).
    assert builder["roleDefinitionId"] == f"{STACK}-identity-builder-role-id"  # the mocks' resource id
    assert deployer["roleDefinitionId"] == role(az.STORAGE_BLOB_DATA_CONTRIBUTOR)
    for a in (reader, builder, deployer):
        assert a["scope"] == container_id  # never the account, the group or the subscription
    assert reader["principalType"] == "ServicePrincipal"
    assert reader["conditionVersion"] == "2.0"
    assert reader["condition"] == az.blob_prefix_condition("triton-models", "models", write=False)
    assert builder["condition"] == az.blob_prefix_condition("triton-models", "_cache", write=True)
    assert "condition" not in deployer
    assert deployer["principalId"] == "o"  # the identity running `pulumi up`


# Microsoft's built-in "Storage Blob Data Contributor" (ba92f5b4-2d11-453d-a403-e96b0029c9fe),
# as listed in "Azure built-in roles for Storage"
# (learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage): its
# management-plane actions act on the container itself through Azure Resource Manager, and an
# ABAC condition constrains only the data actions it targets ("A condition is only applied to
# the specific targeted actions", role assignment conditions FAQ).
BLOB_DATA_CONTRIBUTOR_ACTIONS = {
    "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
    "Microsoft.Storage/storageAccounts/blobServices/containers/read",
    "Microsoft.Storage/storageAccounts/blobServices/containers/write",
    "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
}
BLOB_DATA_CONTRIBUTOR_DATA_ACTIONS = {
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
}


def test_builder_role_has_data_actions_only_and_each_is_conditioned(keyless: Built) -> None:
    # Fails on the main branch: the builder was given the built-in Contributor role, whose
    # actions let it delete or rewrite the model container through the management plane.
    (role,) = keyless.mocks.of_type("azure-native:authorization:RoleDefinition")
    assert role.name == f"{STACK}-identity-builder-role"
    (perm,) = role.inputs["permissions"]
    assert not perm.get("actions")  # no management-plane action at all
    assert not set(perm.get("actions") or []) & BLOB_DATA_CONTRIBUTOR_ACTIONS
    data = set(perm["dataActions"])
    # Only blob data actions that the built-in role also grants, and neither delete nor move:
    # the Job only downloads its inputs and uploads the engine.
    assert data <= BLOB_DATA_CONTRIBUTOR_DATA_ACTIONS
    assert data == {
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
    }
    assert role.inputs["roleType"] == "CustomRole"
    # Defined in, and assignable only within, the cluster's resource group (the container's).
    group = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{CLUSTER}-rg"
    assert role.inputs["scope"] == group
    assert role.inputs["assignableScopes"] == [group]
    assert role.inputs["roleName"] == f"triton-platform engine builder ({CLUSTER}-rg/triton-models)"
    assert len(role.inputs["roleName"]) <= 128  # custom role names: unique in the tenant, <= 128
    assert str(uuid.UUID(role.inputs["roleDefinitionId"])) == role.inputs["roleDefinitionId"]
    # Every data action the role grants is targeted by the assignment's condition, so none of
    # them reaches beyond the cache prefix (an untargeted action would be unconditioned).
    by_name = {r.name: r.inputs for r in keyless.mocks.of_type("azure-native:authorization:RoleAssignment")}
    condition = by_name[f"{STACK}-identity-builder-cache"]["condition"]
    targeted = set(re.findall(r"ActionMatches\{'([^']+)'\}", condition))
    assert data <= targeted, data - targeted
    assert "_cache/" in condition


def test_publisher_store_names_the_container_not_a_credential(keyless: Built) -> None:
    versions = [r for r in keyless.mocks.resources if r.type.startswith("pulumi-python:dynamic") and r.custom]
    assert versions, keyless.mocks.dump()
    store = versions[0].inputs["store"]
    assert store["kind"] == "azure"
    assert store["bucket"] == "triton-models"
    assert (store["prefix"], store["cache_prefix"]) == ("models", "_cache")
    assert store["account_url"] == f"https://{ACCOUNT}.blob.core.windows.net"
    assert store["credentials"] == {"source": "environment"}


def test_triton_waits_for_the_gpu_operator_and_the_role_assignments(keyless: Built) -> None:
    names = keyless.mocks.dependency_names(f"{STACK}-triton")
    for wanted in (
        f"{STACK}-gpu-operator-release",
        f"{CLUSTER}-gpu-pool",
        f"{STACK}-identity-triton-reader",
        f"{STACK}-identity-triton-federation",
        f"{STACK}-model-store-container",
        f"{STACK}-models-sample-mlp",
    ):
        assert wanted in names, (wanted, sorted(names))


def test_internal_load_balancer_annotation(static: Built) -> None:
    values = static.triton_values()
    assert values["service"]["type"] == "LoadBalancer"
    assert values["service"]["annotations"][az.INTERNAL_LB_ANNOTATION] == "true"


def test_secrets_stay_secret(static: Built) -> None:
    assert {"kubeconfig", "grafanaAdminPassword"} <= static.result.secret


def test_workload_outputs_have_the_names_of_every_platform(keyless: Built) -> None:
    assert set(keyless.outputs) >= WORKLOAD_OUTPUTS
    assert keyless.result.values["tritonHttp"] == "http://triton.triton.svc.cluster.local:8000"
    assert keyless.result.values["tritonInClusterGrpc"] == "triton.triton.svc.cluster.local:8001"


def test_builder_kubeconfig_is_written_for_the_engine_builder_as_a_secret(static: Built) -> None:
    (write,) = [r for r in static.mocks.of_type("command:local:Command") if r.name == f"{CLUSTER}-kubeconfig-file"]
    path = static.result.values["kubeconfigPath"]
    # tests/conftest.py moves .state/ to a temporary folder (TRITON_PLATFORM_STATE_DIR).
    assert path == str(Path(os.environ["TRITON_PLATFORM_STATE_DIR"]).resolve() / f"aks-{CLUSTER}.kubeconfig")
    assert "umask 077" in write.inputs["create"]
    assert path in write.inputs["create"]
    assert SECRET_SIG in static.mocks.wire_inputs[write.name]["stdin"]  # the kubeconfig travels as a secret
    assert write.name in static.mocks.dependency_names(f"{CLUSTER}-k8s")


def test_own_vnet_gets_a_subnet_and_network_contributor_for_the_cluster(mocks: RecordingMocks) -> None:
    from components.azure.aks_cluster import AksCluster, AksClusterArgs, AksGpuPool

    def program() -> dict[str, Any]:
        import pulumi_azure_native as azure

        provider = azure.Provider("azure", location="westeurope")
        cluster = AksCluster(
            "c1",
            AksClusterArgs(
                provider=provider,
                cluster_name="c1",
                location="westeurope",
                kubernetes_version="1.31",
                resource_group_name="existing-rg",
                vnet_cidr="10.20.0.0/16",
                node_subnet_cidr="10.20.0.0/20",
                gpu_pool=AksGpuPool(vm_size="Standard_NC24ads_A100_v4", spot=True),
            ),
        )
        return {"kubeconfig": cluster.kubeconfig, "rg": cluster.resource_group_name}

    result = run_program(program)
    assert result.values["rg"] == "existing-rg"
    assert "kubeconfig" in result.secret
    assert mocks.of_type("azure-native:resources:ResourceGroup") == []  # an existing group is used
    (vnet,) = mocks.of_type("azure-native:network:VirtualNetwork")
    assert vnet.inputs["addressSpace"] == {"addressPrefixes": ["10.20.0.0/16"]}
    (subnet,) = mocks.of_type("azure-native:network:Subnet")
    (aks,) = mocks.of_type("azure-native:containerservice:ManagedCluster")
    assert aks.inputs["agentPoolProfiles"][0]["vnetSubnetID"] == f"{subnet.name}-id"
    (pool,) = mocks.of_type("azure-native:containerservice:AgentPool")
    assert pool.inputs["vnetSubnetID"] == f"{subnet.name}-id"
    assert pool.inputs["scaleSetPriority"] == "Spot"
    # (the other assignment is the deployer's cluster admin, tests/stacks/test_cluster_access.py)
    (network,) = [
        r for r in mocks.of_type("azure-native:authorization:RoleAssignment") if r.name == "c1-subnet-network"
    ]
    assert network.inputs["scope"] == f"{subnet.name}-id"
    assert network.inputs["roleDefinitionId"].endswith(az.NETWORK_CONTRIBUTOR)
    assert network.inputs["principalId"] == MOCK_AKS_PRINCIPAL_ID


# --------------------------------------------------------------------------- MIG variants + helm


# Pinned to the agent pool's own nodeLabels, never to nvidia.com/gpu.product (GFD writes the
# driver's name there: NVIDIA-A100-80GB-PCIe, ...-MIG-1g.10gb). AKS partitions through the
# pool's gpuInstanceProfile, so there is no mig-manager layout label to select on.
MIG_VARIANTS: list[tuple[str, dict[str, Any], str | None, dict[str, int], dict[str, str]]] = [
    ("none", {"migStrategy": "none"}, None, {"nvidia.com/gpu": 1}, {"triton-platform/pool": "gpu"}),
    (
        "single",
        {"migStrategy": "single", "migProfile": "1g.10gb"},
        "MIG1g",
        {"nvidia.com/gpu": 1},
        {"triton-platform/pool": "gpu"},
    ),
    (
        "mixed",
        {"migStrategy": "mixed", "migProfile": "3g.40gb"},
        "MIG3g",
        {"nvidia.com/mig-3g.40gb": 1},
        {"triton-platform/pool": "gpu"},
    ),
]


@pytest.mark.chart
@pytest.mark.parametrize(
    ("label", "gpu_cfg", "profile", "resources", "selector"), MIG_VARIANTS, ids=[v[0] for v in MIG_VARIANTS]
)
def test_mig_variants_render_exactly_the_mig_table(
    mocks: RecordingMocks,
    samples_built: Path,
    tmp_path: Path,
    label: str,
    gpu_cfg: dict[str, Any],
    profile: str | None,
    resources: dict[str, int],
    selector: dict[str, str],
) -> None:
    built = _build(mocks, STATIC, gpu=gpu_cfg)
    pool = built.one("azure-native:containerservice:AgentPool").inputs
    assert pool.get("gpuInstanceProfile") == profile
    # Every label Triton selects on is one the stack put on its GPU agent pool.
    assert selector.items() <= pool["nodeLabels"].items()
    assert_gpu_placement(pod_spec(render_triton(built.triton_values(), tmp_path)), resources, selector)
    # Scale from zero: the pool's tags are cluster-autoscaler's node template in Azure's spelling
    # ('/' -> '_', '_' -> '~2'; kubernetes/autoscaler cloudprovider/azure/azure_template.go): it
    # offers the resource the pod requests (resources_<name>) and every label it selects on.
    tags = pool["tags"]
    prefix = "k8s.io_cluster-autoscaler_node-template_"
    (resource,) = resources
    assert int(tags[prefix + "resources_" + resource.replace("_", "~2").replace("/", "_")]) >= resources[resource]
    for key, value in selector.items():
        assert tags[prefix + "label_" + key.replace("_", "~2").replace("/", "_")] == value


@pytest.mark.chart
def test_spot_pool_is_tolerated(mocks: RecordingMocks, samples_built: Path, tmp_path: Path) -> None:
    built = _build(mocks, STATIC, set_key("cluster.gpuNodePool.spot", True))
    pool = built.one("azure-native:containerservice:AgentPool").inputs
    assert (pool["scaleSetPriority"], pool["scaleSetEvictionPolicy"], pool["spotMaxPrice"]) == ("Spot", "Delete", -1)
    spec = pod_spec(render_triton(built.triton_values(), tmp_path))
    assert az.SPOT_TOLERATION in spec["tolerations"]


@pytest.mark.chart
def test_keyless_pod_renders_the_mirror(keyless: Built, tmp_path: Path) -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    if "extraContainers" not in schema.get("properties", {}):
        pytest.skip("the chart has no extraInitContainers/extraContainers/extraVolumes/extraVolumeMounts yet")
    spec = pod_spec(render_triton(keyless.triton_values(), tmp_path))
    assert [c["name"] for c in spec["initContainers"]] == ["model-sync-init"]
    assert {c["name"] for c in spec["containers"]} == {"triton", "model-sync"}
    triton = triton_container(spec)
    assert f"--model-repository={az.SYNC_REPOSITORY}" in triton["args"]
    assert {"name": az.SYNC_VOLUME, "mountPath": az.SYNC_ROOT, "readOnly": True} in triton["volumeMounts"]


# --------------------------------------------------------------------------- bad configuration


@pytest.mark.parametrize(
    ("change", "key", "why"),
    [
        (
            lambda r: r["cluster"]["gpuNodePool"].update(machineType="Standard_NC4as_T4_v3"),
            "triton-platform:cluster.gpuNodePool.machineType",
            "carries Tesla-T4",
        ),
        (
            lambda r: (r["cluster"]["gpuNodePool"].update(machineType="Standard_NC4as_T4_v3", gpuProduct="Tesla-T4"),),
            "triton-platform:gpu.migProfile",
            "Tesla-T4 has no MIG",
        ),
        (
            lambda r: r["gpu"].update(migProfile="1g.5gb"),
            "triton-platform:gpu.migProfile",
            "has no MIG profile '1g.5gb'",
        ),
        (lambda r: r["cluster"].pop("location"), "triton-platform:cluster.location", "required for cloud 'azure'"),
        (
            lambda r: r["modelRepository"].update(bucket="triton.models"),
            "triton-platform:modelRepository.bucket",
            "Azure container",
        ),
        (
            lambda r: r["cluster"].update(region="us-east-1"),
            "triton-platform:cluster.region",
            "applies to cloud 'aws' only",
        ),
    ],
)
def test_bad_config_names_the_key(samples_built: Path, change: Edit, key: str, why: str) -> None:
    err = config_error(STACK, change)
    assert key in str(err)
    assert why in str(err)


@pytest.mark.parametrize(
    ("gpu_cfg", "cluster_change", "key", "why"),
    [
        ({"migStrategy": "single", "migProfile": "1g.20gb"}, None, "triton-platform:gpu.migProfile", "MIG1g"),
        (
            {"migStrategy": "mixed", "migProfile": "1g.10gb+me"},
            None,
            "triton-platform:gpu.migProfile",
            "gpuInstanceProfile",
        ),
        (None, {"resourceGroup": "bad name."}, "triton-platform:cluster.resourceGroup", "resource group names"),
        (None, {"project": "acme-ml"}, "triton-platform:cluster.project", "applies to cloud 'gcp' only"),
        (
            None,
            {"systemNodePool": {"machineType": "m6i.large"}},
            "triton-platform:cluster.systemNodePool.machineType",
            "not an Azure VM size",
        ),
    ],
)
def test_azure_only_problems_are_config_errors(
    samples_built: Path,
    gpu_cfg: dict[str, Any] | None,
    cluster_change: dict[str, Any] | None,
    key: str,
    why: str,
) -> None:
    # Valid for the generic schema, but not on AKS: parse_config (run before build) says so.
    edits = [set_key(f"cluster.{name}", value) for name, value in (cluster_change or {}).items()]
    if gpu_cfg:
        edits.append(set_key("gpu", gpu_cfg))
    err = config_error(STACK, *edits)
    assert key in err.keys, str(err)
    assert why in str(err)


def test_generic_and_azure_problems_arrive_in_one_error(samples_built: Path) -> None:
    err = config_error(
        STACK,
        set_key("cluster.region", "us-east-1"),
        set_key("cluster.resourceGroup", "bad name."),
        set_key("modelRepository.bucket", "triton--models"),
    )
    keys = err.keys
    assert "triton-platform:cluster.region" in keys, str(err)  # generic: aws only
    assert "triton-platform:cluster.resourceGroup" in keys, str(err)  # Azure's own
    assert "triton-platform:modelRepository.bucket" in keys, str(err)  # Azure's own


def test_dotted_container_name_is_reported_once(samples_built: Path) -> None:
    err = config_error(STACK, set_key("modelRepository.bucket", "triton.models--x"))
    assert err.keys.count("triton-platform:modelRepository.bucket") == 1, str(err)


# --------------------------------------------------------------------------- canary rollouts

CANARY = (*BEHIND_GATEWAY, set_key("triton.rollout.strategy", "canary"))


def provisioned_storage(_mocks: RecordingMocks, *edits: Edit) -> dict[str, Any]:
    """stacks.azure.provision's StorageBinding, resolved (tests.support.cloud.provisioned_storage)."""
    return storage_of(azure_stack.provision, parse_stack(STACK, *edits))


def _reader_condition(mocks: RecordingMocks) -> str:
    by_name = {r.name: r.inputs for r in mocks.of_type("azure-native:authorization:RoleAssignment")}
    condition: str = by_name[f"{STACK}-identity-triton-reader"]["condition"]
    return condition


def test_canary_mirror_syncs_the_release_location_once(mocks: RecordingMocks) -> None:
    got = provisioned_storage(mocks, *CANARY)
    # Triton reads the mirror; a release's folder in it is <root>/<hex>, as on the other clouds.
    assert got["repo"] == az.SYNC_REPOSITORY
    assert got["root"] == f"{az.SYNC_REPOSITORY}/{LOCATIONS_ROOT}"
    values = got["values"]
    assert values["modelRepository"]["uri"] == f"{got['root']}/{'ab' * 32}"
    (init,) = values["extraInitContainers"]
    args = init["args"]
    assert args[args.index("--prefix") + 1] == LOCATION
    assert args[args.index("--dest") + 1] == values["modelRepository"]["uri"]
    assert args[args.index("--account-url") + 1] == f"https://{ACCOUNT}.blob.core.windows.net"
    assert args[args.index("--container") + 1] == "triton-models"
    # Immutable location, loaded once (model control none under canary): no sidecar keeps it in step.
    assert values["extraContainers"] == []
    assert _reader_condition(mocks) == az.blob_prefix_condition("triton-models", "models", LOCATIONS_ROOT, write=False)


def test_canary_with_the_account_key_reads_the_root_itself(mocks: RecordingMocks) -> None:
    got = provisioned_storage(mocks, *CANARY, STATIC)
    assert got["repo"] == f"as://{ACCOUNT}/triton-models/models"
    assert got["root"] == f"as://{ACCOUNT}/triton-models/{LOCATIONS_ROOT}"
    assert got["values"] == {}


def test_instant_storage_has_no_release_locations(mocks: RecordingMocks) -> None:
    got = provisioned_storage(mocks)
    assert (got["root"], got["values"]) == (None, None)
    assert _reader_condition(mocks) == az.blob_prefix_condition("triton-models", "models", write=False)
