"""The rules this platform promises, as plain functions of a resource's type, inputs and config.

Each rule is ``check(resource_type, props, config) -> list[str]`` (one message per violation)
so tests call it directly on resource arguments; ``__main__.py`` wraps the same functions in
pulumi-policy's ``ResourceValidationPolicy`` / ``StackValidationPolicy``. No Pulumi import here.

Type tokens and property names are the providers' own (each SDK's constructor token and
``@pulumi.getter(name=...)`` wire names, checked by tests/policy/test_rules.py against the
installed SDKs); the values allowed are the providers' documented ones, cited per rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Props = Mapping[str, Any]
Check = Callable[[str, Props, Mapping[str, Any]], list[str]]

# --- resource types ---------------------------------------------------------------------------
S3_BUCKET = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_ACL = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCS_IAM = ("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding")
AZ_ACCOUNT = "azure-native:storage:StorageAccount"
AZ_CONTAINER = "azure-native:storage:BlobContainer"
AWS_ACCESS_KEY = "aws:iam/accessKey:AccessKey"
GCP_HMAC_KEY = "gcp:storage/hmacKey:HmacKey"
GCP_SA_KEY = "gcp:serviceaccount/key:Key"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_SERVICE = "kubernetes:core/v1:Service"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
AKS_AGENT_POOL = "azure-native:containerservice:AgentPool"

# Canned ACLs that grant access beyond the owner (AWS S3 docs, "Canned ACL").
PUBLIC_CANNED_ACLS = {"public-read", "public-read-write", "authenticated-read"}
# Server-side encryption algorithms S3 accepts (AWS S3 API ServerSideEncryption values).
S3_SSE_ALGORITHMS = {"AES256", "aws:kms", "aws:kms:dsse"}
# GCS IAM principals meaning "anyone" (Cloud Storage docs, "allUsers" / "allAuthenticatedUsers").
GCS_PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}

# Internal load balancer annotations, per cloud (what stacks/aws.py, stacks/gcp.py and
# triton_platform/clouds/azure.py set): AWS Load Balancer Controller's aws-load-balancer-scheme,
# the in-tree AWS controller's aws-load-balancer-internal, GKE's networking.gke.io/
# load-balancer-type: Internal, AKS's azure-load-balancer-internal: "true".
INTERNAL_LB = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "networking.gke.io/load-balancer-type": "Internal",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
}
TRITON_IMAGE = "nvcr.io/nvidia/tritonserver"
TRITON_CHART = "triton-inference-server"

# The GPU taint (components/aws/eks_cluster.py, gke_cluster.py, triton_platform/clouds/azure.py): the GPU
# operator's daemonsets and Triton tolerate it, nothing else lands on GPU nodes.
GPU_TAINT_KEY = "nvidia.com/gpu"
# EKS GPU AMI types (EKS API AMITypes: ..._GPU, ..._NVIDIA); AKS GPU VM sizes are the N-series.
EKS_GPU_AMI_MARKERS = ("_GPU", "_NVIDIA")


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _get(props: Props | None, *path: str) -> Any:
    value: Any = props
    for p in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(p)
    return value


# --- buckets private ----------------------------------------------------------------------------


def buckets_private(resource_type: str, props: Props, _config: Mapping[str, Any]) -> list[str]:
    """Model buckets admit no anonymous or public access, on every cloud."""
    out: list[str] = []
    if resource_type == S3_PUBLIC_ACCESS_BLOCK:
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        off = [f for f in flags if not _true(props.get(f))]
        if off:
            out.append(f"S3 public access block must set {', '.join(off)} to true")
    elif resource_type in S3_BUCKET or resource_type in S3_ACL:
        acl = props.get("acl")
        if isinstance(acl, str) and acl in PUBLIC_CANNED_ACLS:
            out.append(f"S3 canned ACL {acl!r} makes the bucket readable beyond its owner; use 'private'")
    elif resource_type == GCS_BUCKET:
        if props.get("publicAccessPrevention") != "enforced":
            out.append("GCS bucket needs publicAccessPrevention 'enforced'")
        if not _true(props.get("uniformBucketLevelAccess")):
            out.append("GCS bucket needs uniformBucketLevelAccess true (no per-object ACLs)")
    elif resource_type in GCS_IAM:
        members = props.get("members") or ([props["member"]] if props.get("member") else [])
        public = sorted({m for m in members if isinstance(m, str) and m in GCS_PUBLIC_MEMBERS})
        if public:
            out.append(f"GCS bucket IAM grants {', '.join(public)}: the bucket becomes public")
    elif resource_type == AZ_ACCOUNT:
        if props.get("allowBlobPublicAccess") is not False:
            out.append("storage account needs allowBlobPublicAccess false")
    elif resource_type == AZ_CONTAINER:
        access = props.get("publicAccess")
        if access not in (None, "None"):
            out.append(f"blob container publicAccess {access!r} makes it public; use 'None'")
    return out


# --- buckets encrypted --------------------------------------------------------------------------


def buckets_encrypted(resource_type: str, props: Props, _config: Mapping[str, Any]) -> list[str]:
    """Models are encrypted at rest and in transit.

    GCS encrypts every object at rest (Google-managed keys, or the bucket's
    ``encryption.defaultKmsKeyName``) and Azure Storage encrypts every account, neither can be
    turned off, so for them the checks are the transport settings and a CMEK key's name.
    """
    out: list[str] = []
    if resource_type == S3_SSE:
        rules = props.get("rules") or []
        algos = [_get(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") for r in rules if isinstance(r, Mapping)]
        if not algos or any(a not in S3_SSE_ALGORITHMS for a in algos):
            out.append(
                f"S3 default encryption needs sseAlgorithm one of {', '.join(sorted(S3_SSE_ALGORITHMS))}, got {algos}"
            )
    elif resource_type == GCS_BUCKET:
        key = _get(props, "encryption", "defaultKmsKeyName")
        if key is not None and not (isinstance(key, str) and key.startswith("projects/")):
            out.append("GCS encryption.defaultKmsKeyName must be a Cloud KMS key (projects/.../cryptoKeys/...)")
    elif resource_type == AZ_ACCOUNT:
        if props.get("enableHttpsTrafficOnly") is False:
            out.append("storage account needs enableHttpsTrafficOnly true")
        if props.get("minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
            out.append("storage account needs minimumTlsVersion TLS1_2 or later")
    return out


# --- no static cloud keys -----------------------------------------------------------------------


def no_static_cloud_keys(resource_type: str, props: Props, config: Mapping[str, Any]) -> list[str]:
    """No long-lived cloud keys unless the stack opted in (modelRepository.staticKeys: true)."""
    if config.get("allowStaticKeys") is True:
        return []
    hint = "use keyless access (IRSA, GKE or AKS workload identity) or opt in with modelRepository.staticKeys: true"
    if resource_type == AWS_ACCESS_KEY:
        return [f"an IAM access key is a static cloud key; {hint}"]
    if resource_type in (GCP_HMAC_KEY, GCP_SA_KEY):
        return [f"a {'HMAC' if resource_type == GCP_HMAC_KEY else 'service account'} key is a static cloud key; {hint}"]
    if resource_type == AZ_ACCOUNT and props.get("allowSharedKeyAccess") is not False:
        return [f"the storage account allows shared-key (account key) access; set allowSharedKeyAccess false or {hint}"]
    return []


# --- Triton not public --------------------------------------------------------------------------


def _is_triton_release(props: Props) -> bool:
    chart = props.get("chart")
    image = _get(props, "values", "image", "repository")
    return (isinstance(chart, str) and chart.rstrip("/").endswith(TRITON_CHART)) or image == TRITON_IMAGE


def _internal(annotations: Any) -> bool:
    if not isinstance(annotations, Mapping):
        return False
    return any(str(annotations.get(k, "")).lower() == v.lower() for k, v in INTERNAL_LB.items())


def triton_not_public(resource_type: str, props: Props, config: Mapping[str, Any]) -> list[str]:
    """Triton is never on a public load balancer unless the stack says so (triton.service.internal: false)."""
    if config.get("allowPublicLoadBalancer") is True:
        return []
    if resource_type == HELM_RELEASE and _is_triton_release(props):
        service = _get(props, "values", "service") or {}
        if service.get("type") == "LoadBalancer" and not _internal(service.get("annotations")):
            return ["Triton's Service is a public LoadBalancer; keep it internal or set triton.service.internal: false"]
    if resource_type == K8S_SERVICE:
        labels = _get(props, "metadata", "labels") or {}
        is_triton = any(TRITON_CHART in str(v) or str(v) == "triton" for v in labels.values())
        if (
            is_triton
            and _get(props, "spec", "type") == "LoadBalancer"
            and not _internal(_get(props, "metadata", "annotations"))
        ):
            return ["Triton's Service is a public LoadBalancer; keep it internal or set triton.service.internal: false"]
    return []


# --- GPU pools tainted --------------------------------------------------------------------------


def _has_gpu_taint(taints: Iterable[Any]) -> bool:
    for t in taints:
        if isinstance(t, str):  # AKS: "key=value:Effect"
            key, _, rest = t.partition("=")
            if key == GPU_TAINT_KEY and rest.endswith(":NoSchedule"):
                return True
        elif (
            isinstance(t, Mapping)
            and t.get("key") == GPU_TAINT_KEY
            and t.get("effect") in ("NO_SCHEDULE", "NoSchedule")
        ):
            return True
    return False


def gpu_pools_tainted(resource_type: str, props: Props, _config: Mapping[str, Any]) -> list[str]:
    """GPU node pools carry the nvidia.com/gpu NoSchedule taint, so only GPU workloads land there."""
    msg = f"GPU node pool without the {GPU_TAINT_KEY} NoSchedule taint: other pods would take its GPUs' nodes"
    if resource_type == EKS_NODE_GROUP:
        ami = str(props.get("amiType") or "")
        if any(m in ami for m in EKS_GPU_AMI_MARKERS) and not _has_gpu_taint(props.get("taints") or []):
            return [msg]
    elif resource_type == GKE_NODE_POOL:
        node = props.get("nodeConfig") or {}
        if node.get("guestAccelerators") and not _has_gpu_taint(node.get("taints") or []):
            return [msg]
    elif resource_type == AKS_AGENT_POOL:
        size = str(props.get("vmSize") or "")
        # Azure's GPU VM families are the N-series (Standard_NC..., ND..., NV...).
        if size.startswith("Standard_N") and not _has_gpu_taint(props.get("nodeTaints") or []):
            return [msg]
    return []


# --- S3 buckets come with their guards (stack-level) --------------------------------------------


@dataclass(frozen=True)
class StackResource:
    """What a stack rule sees of a resource: its type, URN, parent's URN and properties."""

    resource_type: str
    urn: str
    parent: str | None
    props: Props = field(default_factory=dict)


def s3_buckets_guarded(resources: Sequence[StackResource], _config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every S3 bucket has a public access block and a default-encryption config beside it.

    components/aws/s3_model_bucket.py creates both as siblings of the bucket (same parent); a
    bucket without them relies on account defaults this stack does not control.
    """
    out: list[tuple[str, str]] = []
    for b in resources:
        if b.resource_type not in S3_BUCKET:
            continue
        siblings = {r.resource_type for r in resources if r.parent == b.parent and r is not b}
        missing = [t.split(":")[-1] for t in (S3_PUBLIC_ACCESS_BLOCK, S3_SSE) if t not in siblings]
        if missing:
            out.append((b.urn, f"S3 bucket without {' and '.join(missing)} next to it"))
    return out


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Check
    # Policy config properties (JSON schema), with their defaults.
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


RULES: tuple[Rule, ...] = (
    Rule(
        "buckets-private", "Model buckets are private: no public ACLs, policies or anonymous members.", buckets_private
    ),
    Rule("buckets-encrypted", "Model buckets are encrypted at rest and reached over TLS only.", buckets_encrypted),
    Rule(
        "no-static-cloud-keys",
        "No static cloud keys unless the stack opts in with modelRepository.staticKeys.",
        no_static_cloud_keys,
        {"allowStaticKeys": {"type": "boolean", "default": False}},
    ),
    Rule(
        "triton-not-public",
        "Triton is not exposed on a public load balancer unless triton.service.internal is false.",
        triton_not_public,
        {"allowPublicLoadBalancer": {"type": "boolean", "default": False}},
    ),
    Rule("gpu-pools-tainted", "GPU node pools carry the nvidia.com/gpu NoSchedule taint.", gpu_pools_tainted),
)
STACK_RULE_NAME = "s3-buckets-guarded"
STACK_RULE_DESCRIPTION = "Every S3 bucket has a public access block and default encryption."
