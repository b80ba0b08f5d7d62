"""Each policy rule called directly on resource arguments: what our components and stacks set
passes, the insecure variants fail. Props use the engine's wire (camelCase) names."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.aws import eks_cluster
from components.gcp import gke_cluster
from policy import rules as R
from triton_platform.clouds import azure as az
from triton_platform.config import parse_config
from triton_platform.values.triton import triton_values

NONE: dict[str, Any] = {}


def _stack_config(stack: str, **triton_service: Any) -> Any:
    raw = yaml.safe_load(Path(f"Pulumi.{stack}.yaml").read_text())["config"]
    data = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("triton-platform:")}
    if triton_service:
        data["triton"]["service"].update(triton_service)
    return parse_config(data, base_dir=".", stack=stack)


# --- buckets private -------------------------------------------------------------------------


def test_s3_public_access_block_needs_all_four_flags() -> None:
    # What components/aws/s3_model_bucket.py sets.
    good = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True}
    assert R.buckets_private(R.S3_PUBLIC_ACCESS_BLOCK, good, NONE) == []
    [msg] = R.buckets_private(R.S3_PUBLIC_ACCESS_BLOCK, {**good, "restrictPublicBuckets": False}, NONE)
    assert "restrictPublicBuckets" in msg


@pytest.mark.parametrize("acl", ["public-read", "public-read-write", "authenticated-read"])
def test_public_s3_acls(acl: str) -> None:
    assert R.buckets_private("aws:s3/bucketAclV2:BucketAclV2", {"acl": acl}, NONE)
    assert R.buckets_private("aws:s3/bucket:Bucket", {"acl": acl}, NONE)
    assert R.buckets_private("aws:s3/bucketAcl:BucketAcl", {"acl": "private"}, NONE) == []


def test_gcs_bucket_and_iam() -> None:
    good = {
        "uniformBucketLevelAccess": True,
        "publicAccessPrevention": "enforced",
    }  # components/gcp/gcs_model_bucket.py
    assert R.buckets_private(R.GCS_BUCKET, good, NONE) == []
    assert len(R.buckets_private(R.GCS_BUCKET, {"publicAccessPrevention": "inherited"}, NONE)) == 2
    member = "gcp:storage/bucketIAMMember:BucketIAMMember"
    assert R.buckets_private(member, {"member": "allUsers", "role": "roles/storage.objectViewer"}, NONE)
    assert R.buckets_private(member, {"member": "serviceAccount:triton@p.iam.gserviceaccount.com"}, NONE) == []
    binding = "gcp:storage/bucketIAMBinding:BucketIAMBinding"
    assert R.buckets_private(binding, {"members": ["user:a@b.c", "allAuthenticatedUsers"]}, NONE)


def test_azure_account_and_container() -> None:
    # components/azure/model_container.py: allowBlobPublicAccess false, publicAccess None.
    assert R.buckets_private(R.AZ_ACCOUNT, {"allowBlobPublicAccess": False}, NONE) == []
    assert R.buckets_private(R.AZ_ACCOUNT, {"allowBlobPublicAccess": True}, NONE)
    assert R.buckets_private(R.AZ_ACCOUNT, {}, NONE)  # the API's default has allowed it
    assert R.buckets_private(R.AZ_CONTAINER, {"publicAccess": "None"}, NONE) == []
    assert R.buckets_private(R.AZ_CONTAINER, {"publicAccess": "Blob"}, NONE)


# --- buckets encrypted ------------------------------------------------------------------------


def _sse(algorithm: str | None) -> dict[str, Any]:
    default = {"sseAlgorithm": algorithm} if algorithm else {}
    return {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": default, "bucketKeyEnabled": True}]}


def test_s3_default_encryption() -> None:
    assert R.buckets_encrypted(R.S3_SSE, _sse("aws:kms"), NONE) == []
    assert R.buckets_encrypted(R.S3_SSE, _sse("AES256"), NONE) == []
    assert R.buckets_encrypted(R.S3_SSE, _sse(None), NONE)
    assert R.buckets_encrypted(R.S3_SSE, {"rules": []}, NONE)


def test_gcs_and_azure_encryption() -> None:
    cmek = {"encryption": {"defaultKmsKeyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k"}}
    assert R.buckets_encrypted(R.GCS_BUCKET, cmek, NONE) == []
    assert R.buckets_encrypted(R.GCS_BUCKET, {}, NONE) == []  # Google-managed encryption
    assert R.buckets_encrypted(R.GCS_BUCKET, {"encryption": {"defaultKmsKeyName": "my-key"}}, NONE)
    good = {"enableHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2"}  # components/azure/model_container.py
    assert R.buckets_encrypted(R.AZ_ACCOUNT, good, NONE) == []
    assert (
        len(R.buckets_encrypted(R.AZ_ACCOUNT, {"enableHttpsTrafficOnly": False, "minimumTlsVersion": "TLS1_0"}, NONE))
        == 2
    )


# --- no static cloud keys ---------------------------------------------------------------------


@pytest.mark.parametrize("token", [R.AWS_ACCESS_KEY, R.GCP_HMAC_KEY, R.GCP_SA_KEY])
def test_static_keys_need_the_opt_in(token: str) -> None:
    [msg] = R.no_static_cloud_keys(token, {"user": "triton-static-reader"}, {})
    assert "modelRepository.staticKeys" in msg
    assert R.no_static_cloud_keys(token, {}, {"allowStaticKeys": True}) == []


def test_azure_shared_key_access() -> None:
    assert R.no_static_cloud_keys(R.AZ_ACCOUNT, {"allowSharedKeyAccess": False}, {}) == []
    assert R.no_static_cloud_keys(R.AZ_ACCOUNT, {"allowSharedKeyAccess": True}, {})
    assert R.no_static_cloud_keys(R.AZ_ACCOUNT, {"allowSharedKeyAccess": True}, {"allowStaticKeys": True}) == []


# --- Triton not public ------------------------------------------------------------------------


def _release(values: dict[str, Any]) -> dict[str, Any]:
    return {"chart": "/repo/charts/triton-inference-server", "name": "triton", "values": values}


@pytest.mark.parametrize(
    ("stack", "annotations"),
    [
        ("prod", "stacks.aws"),
        ("staging", "stacks.gcp"),
        ("prod-azure", "azure"),
    ],
)
def test_triton_release_of_each_cloud_stack_is_internal(stack: str, annotations: str) -> None:
    cfg = _stack_config(stack)
    if annotations == "azure":
        svc = {az.INTERNAL_LB_ANNOTATION: "true"}  # what stacks/azure.py sets
    else:
        module = importlib.import_module(annotations)
        svc = module.service_annotations(cfg)
    values = triton_values(cfg, repository_uri="s3://b/models", service_annotations=svc)
    assert values["service"]["type"] == "LoadBalancer"
    assert R.triton_not_public(R.HELM_RELEASE, _release(values), {}) == []


def test_public_triton_needs_the_stack_to_say_so() -> None:
    cfg = _stack_config("prod", internal=False)
    from stacks.aws import service_annotations

    values = triton_values(cfg, repository_uri="s3://b/models", service_annotations=service_annotations(cfg))
    [msg] = R.triton_not_public(R.HELM_RELEASE, _release(values), {})
    assert "triton.service.internal: false" in msg
    assert R.triton_not_public(R.HELM_RELEASE, _release(values), {"allowPublicLoadBalancer": True}) == []
    # Other releases (Grafana behind a LoadBalancer, say) are not this rule's business.
    other = {"chart": "grafana", "values": {"service": {"type": "LoadBalancer"}}}
    assert R.triton_not_public(R.HELM_RELEASE, other, {}) == []


def test_a_plain_triton_service() -> None:
    metadata: dict[str, Any] = {"labels": {"app.kubernetes.io/name": "triton-inference-server"}, "annotations": {}}
    svc = {"metadata": metadata, "spec": {"type": "LoadBalancer"}}
    assert R.triton_not_public(R.K8S_SERVICE, svc, {})
    metadata["annotations"] = {"networking.gke.io/load-balancer-type": "Internal"}
    assert R.triton_not_public(R.K8S_SERVICE, svc, {}) == []


# --- GPU pools tainted ------------------------------------------------------------------------


def test_eks_gpu_node_group() -> None:
    good = {"amiType": eks_cluster.GPU_AMI, "instanceTypes": ["p4d.24xlarge"], "taints": [eks_cluster.GPU_TAINT]}
    assert R.gpu_pools_tainted(R.EKS_NODE_GROUP, good, NONE) == []
    assert R.gpu_pools_tainted(R.EKS_NODE_GROUP, {**good, "taints": []}, NONE)
    system = {"amiType": eks_cluster.SYSTEM_AMI, "taints": []}
    assert R.gpu_pools_tainted(R.EKS_NODE_GROUP, system, NONE) == []


def test_gke_gpu_node_pool() -> None:
    node = {"machineType": "a2-highgpu-1g", "guestAccelerators": [{"type": "nvidia-tesla-a100", "count": 1}]}
    assert R.gpu_pools_tainted(R.GKE_NODE_POOL, {"nodeConfig": {**node, "taints": [gke_cluster.GPU_TAINT]}}, NONE) == []
    assert R.gpu_pools_tainted(R.GKE_NODE_POOL, {"nodeConfig": node}, NONE)
    assert R.gpu_pools_tainted(R.GKE_NODE_POOL, {"nodeConfig": {"machineType": "e2-standard-4"}}, NONE) == []


def test_aks_gpu_agent_pool() -> None:
    good = {"vmSize": "Standard_NC24ads_A100_v4", "nodeTaints": [az.GPU_TAINT], "gpuInstanceProfile": "MIG1g"}
    assert R.gpu_pools_tainted(R.AKS_AGENT_POOL, good, NONE) == []
    assert R.gpu_pools_tainted(R.AKS_AGENT_POOL, {**good, "nodeTaints": ["other=x:NoSchedule"]}, NONE)
    assert R.gpu_pools_tainted(R.AKS_AGENT_POOL, {"vmSize": "Standard_D4ds_v5"}, NONE) == []


# --- stack rule -------------------------------------------------------------------------------


def test_s3_buckets_come_with_their_guards() -> None:
    parent = "urn:pulumi:prod::triton-platform::triton:storage:S3ModelBucket::prod-models"
    bucket = R.StackResource("aws:s3/bucket:Bucket", parent + "-bucket", parent)
    pab = R.StackResource(R.S3_PUBLIC_ACCESS_BLOCK, parent + "-pab", parent)
    sse = R.StackResource(R.S3_SSE, parent + "-sse", parent)
    assert R.s3_buckets_guarded([bucket, pab, sse], {}) == []
    [(urn, msg)] = R.s3_buckets_guarded([bucket, pab], {})
    assert urn == bucket.urn
    assert "BucketServerSideEncryptionConfiguration" in msg


# --- the names are the providers' own ---------------------------------------------------------

_SDK_MODULES = {
    R.S3_PUBLIC_ACCESS_BLOCK: "pulumi_aws.s3.bucket_public_access_block",
    R.S3_SSE: "pulumi_aws.s3.bucket_server_side_encryption_configuration",
    "aws:s3/bucketAcl:BucketAcl": "pulumi_aws.s3.bucket_acl",
    "aws:s3/bucketAclV2:BucketAclV2": "pulumi_aws.s3.bucket_acl_v2",
    "aws:s3/bucket:Bucket": "pulumi_aws.s3.bucket",
    "aws:s3/bucketV2:BucketV2": "pulumi_aws.s3.bucket_v2",
    R.GCS_BUCKET: "pulumi_gcp.storage.bucket",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "pulumi_gcp.storage.bucket_iam_member",
    "gcp:storage/bucketIAMBinding:BucketIAMBinding": "pulumi_gcp.storage.bucket_iam_binding",
    R.AZ_ACCOUNT: "pulumi_azure_native.storage.storage_account",
    R.AZ_CONTAINER: "pulumi_azure_native.storage.blob_container",
    R.AWS_ACCESS_KEY: "pulumi_aws.iam.access_key",
    R.GCP_HMAC_KEY: "pulumi_gcp.storage.hmac_key",
    R.GCP_SA_KEY: "pulumi_gcp.serviceaccount.key",
    R.HELM_RELEASE: "pulumi_kubernetes.helm.v3.Release",
    R.K8S_SERVICE: "pulumi_kubernetes.core.v1.Service",
    R.EKS_NODE_GROUP: "pulumi_aws.eks.node_group",
    R.GKE_NODE_POOL: "pulumi_gcp.container.node_pool",
    R.AKS_AGENT_POOL: "pulumi_azure_native.containerservice.agent_pool",
}
_PROPS = {
    R.S3_PUBLIC_ACCESS_BLOCK: ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"],
    R.S3_SSE: ["rules", "applyServerSideEncryptionByDefault", "sseAlgorithm"],
    R.GCS_BUCKET: ["publicAccessPrevention", "uniformBucketLevelAccess", "encryption", "defaultKmsKeyName"],
    R.AZ_ACCOUNT: ["allowBlobPublicAccess", "allowSharedKeyAccess", "enableHttpsTrafficOnly", "minimumTlsVersion"],
    R.AZ_CONTAINER: ["publicAccess"],
    R.EKS_NODE_GROUP: ["amiType", "taints"],
    R.GKE_NODE_POOL: ["nodeConfig", "guestAccelerators", "taints"],
    R.AKS_AGENT_POOL: ["vmSize", "nodeTaints"],
}


def _sdk_text(module: str) -> str:
    spec = importlib.util.find_spec(module)
    assert spec is not None
    assert spec.origin is not None
    text = Path(spec.origin).read_text()
    inputs = module.rsplit(".", 1)[0] + "._inputs"
    if importlib.util.find_spec(inputs) is not None:
        origin = importlib.util.find_spec(inputs).origin  # type: ignore[union-attr]
        text += Path(str(origin)).read_text()
    return text


def test_rule_types_and_props_are_the_sdks() -> None:
    assert _SDK_MODULES
    assert set(_PROPS) <= set(_SDK_MODULES), "every rule's token needs its SDK module"
    for token, module in _SDK_MODULES.items():
        text = _sdk_text(module)
        assert f"'{token}'" in text, token
        for prop in _PROPS.get(token, []):
            assert f'"{prop}"' in text, f"{token}.{prop}"


def test_internal_annotations_are_what_the_stacks_set() -> None:
    from stacks import aws, gcp

    assert R.INTERNAL_LB[aws.LB_SCHEME] == "internal"
    assert R.INTERNAL_LB[aws.LB_INTERNAL] == "true"
    assert R.INTERNAL_LB[gcp.INTERNAL_LB_ANNOTATION] == "Internal"
    assert R.INTERNAL_LB[az.INTERNAL_LB_ANNOTATION] == "true"
    assert eks_cluster.GPU_TAINT["key"] == R.GPU_TAINT_KEY
    assert az.GPU_TAINT.startswith(R.GPU_TAINT_KEY + "=")
