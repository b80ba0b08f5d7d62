"""The AWS stack (Pulumi.prod.yaml): EKS, S3, IRSA and the GPU operator under the Pulumi mocks.

The example stack file is parsed as the engine hands it over, ``stacks.aws.build`` runs under
the mock runtime, and the recorded resource graph is checked: least-privilege IAM (parsed
JSON policies), trust conditions, node groups, bucket protections, providers, secrets. The
Triton release's values are rendered with the real helm for each MIG strategy and the
Deployment's GPU requests and node selector compared with the MIG strategy table (README).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc

import stacks
import stacks.aws as aws_stack
from components.aws.eks_cluster import GPU_AMI, MIG_CONFIG_LABEL, kubeconfig, subnet_plan
from components.aws.irsa_access import web_identity_trust_policy
from components.aws.s3_model_bucket import generated_bucket_name, tls_only_policy
from tests.support.cloud import LOCATIONS_ROOT, WORKLOAD_OUTPUTS, Built, build_stack, secret_data_is_secret
from tests.support.cloud import provisioned_storage as storage_of
from tests.support.helm import assert_gpu_placement, pod_spec, render_triton
from tests.support.iam_eval import Request, allowed
from tests.support.pulumi_mocks import MOCK_AWS_SECRET_KEY, RecordingMocks, Registered
from tests.support.stacks import BEHIND_GATEWAY, REPO, Edit, drop_key, edited_config, parse_stack, set_key
from triton_platform.clouds import aws_iam
from triton_platform.config import ConfigError, PlatformConfig, parse_config

STACK = "prod"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/MOCK"
ISSUER_HOST = "oidc.eks.us-east-1.amazonaws.com/id/MOCK"
K8S_PROVIDER = "pulumi:providers:kubernetes::triton-prod-k8s::"
AWS_PROVIDER = "pulumi:providers:aws::aws::"
# The mocks run under the stack "test" (tests/conftest.py), which names the stack's resources.
TRITON_RELEASE = "test-triton-release"
GPU_OPERATOR_RELEASE = "test-gpu-operator-release"


def build(
    mocks: RecordingMocks, cfg: PlatformConfig, check: Callable[[Built], pulumi.Output[Any]] | None = None
) -> Built:
    """Run stacks.aws.build under the mock runtime; ``check`` may return an Output to await."""
    return build_stack(mocks, stacks.build_stack, cfg, check)


def unwrap_secret(value: Any) -> tuple[Any, bool]:
    """A recorded input and whether the engine received it as a secret (Pulumi's secret envelope)."""
    if rpc.is_rpc_secret(value):
        return rpc.unwrap_rpc_secret(value), True
    return value, False


def policy(r: Registered, key: str = "policy") -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(r.inputs[key])
    return doc


def statements_for(doc: dict[str, Any], action: str) -> list[dict[str, Any]]:
    out = []
    for s in doc["Statement"]:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        if action in actions:
            out.append(s)
    return out


def resources_of(statement: dict[str, Any]) -> list[str]:
    res = statement["Resource"]
    return res if isinstance(res, list) else [res]


# --- plain functions -------------------------------------------------------------------------


def test_subnet_plan_quarters_a_16() -> None:
    private, public = subnet_plan("10.0.0.0/16", 3)
    assert private == ["10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18"]
    assert public == ["10.0.192.0/21", "10.0.200.0/21", "10.0.208.0/21"]
    assert subnet_plan("10.8.0.0/20", 2) == (["10.8.0.0/22", "10.8.4.0/22"], ["10.8.12.0/25", "10.8.12.128/25"])


@pytest.mark.parametrize(
    ("cidr", "azs", "match"),
    [("10.0.0.0/8", 3, "/16 to /20"), ("not-a-cidr", 3, "not a network"), ("10.0.0.0/16", 4, "2 or 3")],
)
def test_subnet_plan_rejects_bad_input(cidr: str, azs: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        subnet_plan(cidr, azs)


def test_kubeconfig_authenticates_with_aws_eks_get_token() -> None:
    doc = yaml.safe_load(kubeconfig("c1", "https://x.eks.amazonaws.com", "Q0E=", "eu-west-1"))
    user = doc["users"][0]["user"]
    assert set(user) == {"exec"}, "no token, password or client key in the kubeconfig"
    assert user["exec"]["command"] == "aws"
    assert user["exec"]["args"] == [
        "eks",
        "get-token",
        "--cluster-name",
        "c1",
        "--region",
        "eu-west-1",
        "--output",
        "json",
    ]
    assert doc["clusters"][0]["cluster"] == {
        "server": "https://x.eks.amazonaws.com",
        "certificate-authority-data": "Q0E=",
    }
    assert doc["current-context"] == "c1"


def test_trust_policy_binds_one_service_account() -> None:
    doc = web_identity_trust_policy("arn:aws:iam::1:oidc-provider/x", ISSUER, "triton", "triton")
    (stmt,) = doc["Statement"]
    assert stmt["Principal"] == {"Federated": "arn:aws:iam::1:oidc-provider/x"}
    assert stmt["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert stmt["Condition"] == {
        "StringEquals": {
            f"{ISSUER_HOST}:sub": "system:serviceaccount:triton:triton",
            f"{ISSUER_HOST}:aud": "sts.amazonaws.com",
        }
    }


def test_tls_only_policy_denies_plain_http() -> None:
    (stmt,) = tls_only_policy("arn:aws:s3:::b")["Statement"]
    assert stmt["Effect"] == "Deny"
    assert stmt["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert stmt["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]


def test_generated_bucket_name_fits_s3() -> None:
    assert generated_bucket_name("triton-prod-prod-models", "0a1b2c3d") == "triton-prod-prod-models-0a1b2c3d"
    with pytest.raises(ValueError, match="63"):
        generated_bucket_name("x" * 60, "0a1b2c3d")


def test_service_annotations_internal_and_public(samples_built: Path) -> None:
    cfg = parse_stack(STACK)
    assert aws_stack.service_annotations(cfg) == {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
        "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    }
    public = parse_stack(STACK, set_key("triton.service.internal", False))
    assert aws_stack.service_annotations(public) == {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    }
    cluster_ip = parse_stack(STACK, set_key("triton.service", {"type": "ClusterIP"}))
    assert aws_stack.service_annotations(cluster_ip) == {}


# --- the prod stack ----------------------------------------------------------------------------


def test_prod_stack_graph(mocks: RecordingMocks, samples_built: Path) -> None:
    b = build(mocks, parse_stack(STACK))
    m = mocks
    assert "kubeconfig" in b.result.secret, "kubeconfig output must be secret"

    # Cluster: API authentication, private + public endpoint, logs, encrypted Secrets.
    eks = b.one("aws:eks/cluster:Cluster")
    assert eks.inputs["name"] == "triton-prod"
    assert eks.inputs["version"] == "1.35"
    assert eks.inputs["accessConfig"]["authenticationMode"] == "API"
    vpc_cfg = eks.inputs["vpcConfig"]
    assert vpc_cfg["endpointPrivateAccess"] is True
    assert vpc_cfg["endpointPublicAccess"] is True
    assert {"api", "audit", "authenticator"} <= set(eks.inputs["enabledClusterLogTypes"])
    assert eks.inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert len(m.of_type("aws:ec2/subnet:Subnet")) == 6
    assert len(m.of_type("aws:ec2/natGateway:NatGateway")) == 3
    private = [s for s in m.of_type("aws:ec2/subnet:Subnet") if "private" in s.name]
    assert all(s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in private)
    assert {a.inputs["addonName"] for a in m.of_type("aws:eks/addon:Addon")} >= {
        "vpc-cni",
        "coredns",
        "kube-proxy",
        "aws-ebs-csi-driver",
    }

    # IRSA: the OIDC provider and the GPU node group.
    oidc = b.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.inputs["url"] == ISSUER
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert len(oidc.inputs["thumbprintLists"]) == 1
    assert len(oidc.inputs["thumbprintLists"][0]) == 40
    gpu_ng = b.named("triton-prod-gpu")
    assert gpu_ng.inputs["amiType"] == GPU_AMI == "AL2023_x86_64_NVIDIA"
    assert gpu_ng.inputs["instanceTypes"] == ["p4d.24xlarge"]
    assert gpu_ng.inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert gpu_ng.inputs["labels"][MIG_CONFIG_LABEL] == "all-1g.5gb"
    assert gpu_ng.inputs["scalingConfig"] == {"minSize": 1, "maxSize": 2, "desiredSize": 1}
    assert gpu_ng.inputs["capacityType"] == "ON_DEMAND"
    assert gpu_ng.inputs["diskSize"] == 500
    system_ng = b.named("triton-prod-system")
    assert "taints" not in system_ng.inputs or not system_ng.inputs["taints"]
    assert system_ng.inputs["amiType"] == "AL2023_x86_64_STANDARD"

    # Reader role: trust bound to triton/triton, policy read-only on models/.
    reader = b.named("test-model-access-reader")
    (trust,) = policy(reader, "assumeRolePolicy")["Statement"]
    assert trust["Principal"]["Federated"] == "arn:aws:mock::123456789012:triton-prod-oidc"
    assert trust["Condition"]["StringEquals"] == {
        f"{ISSUER_HOST}:sub": "system:serviceaccount:triton:triton",
        f"{ISSUER_HOST}:aud": "sts.amazonaws.com",
    }
    bucket_arn = "arn:aws:mock::123456789012:test-models-bucket"
    reader_doc = policy(b.named("test-model-access-reader-s3"))
    assert reader_doc == aws_iam.reader_policy(bucket_arn, "models")
    # HeadBucket (s3:ListBucket, no s3:prefix key) is what Triton sends first.
    assert allowed(reader_doc, Request("s3:ListBucket", bucket_arn, {}, "HeadBucket"))
    assert allowed(reader_doc, Request("s3:GetObject", f"{bucket_arn}/models/m/config.pbtxt", {}, "GetObject"))
    assert not allowed(reader_doc, Request("s3:PutObject", f"{bucket_arn}/models/m/config.pbtxt", {}, "PutObject"))

    # Writer role: trust bound to the engine builder, writes only _cache/.
    writer = b.named("test-model-access-writer")
    (wtrust,) = policy(writer, "assumeRolePolicy")["Statement"]
    assert (
        wtrust["Condition"]["StringEquals"][f"{ISSUER_HOST}:sub"]
        == "system:serviceaccount:triton:triton-engine-builder"
    )
    writer_doc = policy(b.named("test-model-access-writer-s3"))
    assert writer_doc == aws_iam.builder_policy(bucket_arn, "models", "_cache")
    engine = f"{bucket_arn}/_cache/engines/m/k/sm80.plan"
    assert allowed(writer_doc, Request("s3:PutObject", engine, {}, "PutObject"))
    assert not allowed(writer_doc, Request("s3:PutObject", f"{bucket_arn}/models/m/1/model.plan", {}, "PutObject"))
    for doc in (reader_doc, writer_doc):
        for s in doc["Statement"]:
            assert all(r.startswith(bucket_arn) for r in resources_of(s)), s

    # Bucket: generated name, protections, retained with the protections.
    bucket = b.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == "triton-prod-test-models-0a1b2c3d"
    assert bucket.inputs["forceDestroy"] is False
    assert b.one("aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"]["status"] == "Enabled"
    (rule,) = b.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs[
        "rules"
    ]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("aws:kms", "AES256")
    pab = b.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        pab[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    own = b.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert own["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    (deny,) = policy(b.one("aws:s3/bucketPolicy:BucketPolicy"))["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    rules = {
        r["id"]: r for r in b.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    }
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"]["noncurrentDays"] > 0
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] > 0
    for r in m.resources:
        if r.type.startswith("aws:s3/"):
            assert m.retained[r.name] is True, f"{r.name} must be retained with the bucket"

    # Providers: every AWS resource uses the stack's provider, every Kubernetes one the cluster's.
    for r in m.resources:
        if r.custom and r.type.startswith("aws:"):
            assert AWS_PROVIDER in (r.provider or ""), (r.type, r.name, r.provider)
        if r.custom and r.type.startswith("kubernetes:"):
            assert K8S_PROVIDER in (r.provider or ""), (r.type, r.name, r.provider)
    assert len([r for r in m.resources if r.type.startswith("kubernetes:")]) >= 4

    # Keyless: no IAM user or access key, no Kubernetes Secret with cloud keys.
    assert not m.of_type("aws:iam/accessKey:AccessKey")
    assert not m.of_type("aws:iam/user:User")
    for s in m.of_type("kubernetes:core/v1:Secret"):
        blob = json.dumps(s.inputs)
        assert "AWS_ACCESS_KEY_ID" not in blob, s.name
        assert "AWS_SECRET_ACCESS_KEY" not in blob, s.name

    # Triton: IRSA annotation with the reader role, s3:// URI, region env, internal NLB.
    values = b.named(TRITON_RELEASE).inputs["values"]
    assert values["serviceAccount"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:mock::123456789012:test-model-access-reader"
    }
    assert values["modelRepository"]["uri"] == "s3://triton-prod-test-models-0a1b2c3d/models"
    assert values["modelRepository"]["credentialsSecret"] == ""
    assert values["modelRepository"]["env"]["AWS_DEFAULT_REGION"] == "us-east-1"
    annotations = values["service"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
    assert b.service_account("triton-engine-builder").inputs["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:mock::123456789012:test-model-access-writer"
    }

    # GPU operator: NVIDIA AMI ships driver and toolkit; mig-manager applies the layout.
    op = b.named(GPU_OPERATOR_RELEASE).inputs["values"]
    assert op["driver"] == {"enabled": False}
    assert op["toolkit"] == {"enabled": False}
    assert op["mig"] == {"strategy": "single"}
    assert op["migManager"]["enabled"] is True
    # The layout comes from the node group's label; the CRD admits only all-disabled/"" here
    # (gpu-operator v26.7.0 crds/nvidia.com_clusterpolicies.yaml; tests/components/gpu/test_cluster_policy.py).
    assert op["migManager"]["config"]["default"] == "all-disabled"
    assert op["migManager"]["env"] == [{"name": "WITH_REBOOT", "value": "true"}]

    # Outputs.
    assert b.outputs["cloud"] == "aws"
    for key in (
        "clusterName",
        "bucket",
        "modelRepository",
        "tritonReaderRoleArn",
        "engineBuilderRoleArn",
        "tritonHttp",
        "publishedModels",
    ):
        assert key in b.outputs, key
    assert set(b.outputs) >= WORKLOAD_OUTPUTS
    # The kubeconfig file the engine builder reads: written by a local command, contents secret.
    (write,) = [c for c in m.of_type("command:local:Command") if c.name == "triton-prod-kubeconfig-file"]
    assert b.outputs["kubeconfigPath"] in write.inputs["create"]
    assert "umask 077" in write.inputs["create"]
    assert rpc.is_rpc_secret(write.inputs["stdin"]), "kubeconfig contents must travel as a secret"
    assert b.result.values["tritonHttp"] == "http://triton.triton.svc.cluster.local:8000"
    assert "grafanaAdminPassword" in b.result.secret


def test_static_keys_only_when_opted_in(mocks: RecordingMocks, samples_built: Path) -> None:
    b = build(mocks, parse_stack(STACK, set_key("modelRepository.staticKeys", True)), secret_data_is_secret)
    m = mocks
    b.one("aws:iam/user:User")
    b.one("aws:iam/accessKey:AccessKey")
    user_doc = policy(b.one("aws:iam/userPolicy:UserPolicy"))
    # The static-key user reads exactly as Triton's role does (HeadBucket included).
    assert user_doc == aws_iam.reader_policy("arn:aws:mock::123456789012:test-models-bucket", "models")

    (secret,) = [s for s in m.of_type("kubernetes:core/v1:Secret") if "AWS_SECRET_ACCESS_KEY" in json.dumps(s.inputs)]
    string_data, was_secret = unwrap_secret(secret.inputs["stringData"])
    values = {k: unwrap_secret(v) for k, v in string_data.items()}
    assert set(values) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    # Sent to the engine as secrets: the whole map, or each value.
    assert was_secret or all(flag for _, flag in values.values())
    assert values["AWS_SECRET_ACCESS_KEY"][0] == MOCK_AWS_SECRET_KEY
    values = b.named(TRITON_RELEASE).inputs["values"]
    assert values["modelRepository"]["credentialsSecret"] == secret.inputs["metadata"]["name"]
    # The key travels only in that Secret: not in Triton's values, not in any other input.
    for r in m.resources:
        if r is not secret:
            assert MOCK_AWS_SECRET_KEY not in json.dumps(r.inputs, default=str), (r.type, r.name)
    # The engine builder stays keyless.
    assert "eks.amazonaws.com/role-arn" in b.service_account("triton-engine-builder").inputs["metadata"]["annotations"]


def test_explicit_bucket_not_retained(mocks: RecordingMocks, samples_built: Path) -> None:
    cfg = parse_stack(
        STACK, set_key("modelRepository.bucket", "acme-triton-models"), set_key("modelRepository.retainOnDelete", False)
    )
    b = build(mocks, cfg)
    bucket = b.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == "acme-triton-models"
    assert not mocks.of_type("random:index/randomId:RandomId")
    assert not mocks.retained[bucket.name]


# --- MIG strategies rendered with the real chart ---------------------------------------------

# Pinned to the label the stack puts on its own GPU node group, never to nvidia.com/gpu.product
# (GFD writes the driver's name there, e.g. NVIDIA-A100-SXM4-40GB: NVIDIA/k8s-device-plugin
# docs/gpu-feature-discovery/README.md). Resource names: the device plugin's (internal/rm/rm.go);
# layouts: the GPU operator's mig-parted config (assets/state-mig-manager/0400_configmap.yaml).
POOL = {"triton-platform/pool": "gpu"}
MIG_CASES = {
    "none": ({"migStrategy": "none"}, {"nvidia.com/gpu": 1}, POOL, None),
    "single": (
        {"migStrategy": "single", "migProfile": "1g.5gb"},
        {"nvidia.com/gpu": 1},
        {**POOL, "nvidia.com/mig.config": "all-1g.5gb", "nvidia.com/mig.config.state": "success"},
        "all-1g.5gb",
    ),
    "mixed": (
        {"migStrategy": "mixed", "migProfile": "1g.5gb"},
        {"nvidia.com/mig-1g.5gb": 1},
        POOL,
        "all-1g.5gb",
    ),
    "mixed media extensions": (
        {"migStrategy": "mixed", "migProfile": "1g.5gb+me"},
        {"nvidia.com/mig-1g.5gb.me": 1},
        POOL,
        "all-1g.5gb.me",
    ),
}


@pytest.mark.chart
@pytest.mark.parametrize("strategy", list(MIG_CASES))
def test_mig_strategy_renders_design_table(
    strategy: str, mocks: RecordingMocks, samples_built: Path, tmp_path: Path
) -> None:
    gpu_cfg, requests, selector, layout = MIG_CASES[strategy]
    b = build(mocks, parse_stack(STACK, gpu=gpu_cfg))

    # Node side: mig-manager's layout label on the GPU node group, operator strategy.
    labels = b.named("triton-prod-gpu").inputs["labels"]
    assert labels.get(MIG_CONFIG_LABEL) == layout
    # Every label Triton selects on is one the stack put on its GPU node group, except mig-manager's
    # own progress label, which the node must not carry before the GPUs are cut (NVIDIA/gpu-operator#2670).
    state = "nvidia.com/mig.config.state"
    assert {k: v for k, v in selector.items() if k != state}.items() <= labels.items()
    assert state not in labels
    # The engine-build Job: the same pool, narrowed per engine to GFD's architecture labels of
    # the pool's A100 (sm80; NVIDIA/k8s-device-plugin docs/gpu-feature-discovery/README.md).
    (version,) = mocks.of_type("pulumi-python:dynamic/triton:ModelVersion")
    builder = version.inputs["builder"]
    assert builder["node_selector"] == selector
    assert builder["compute_capability_selectors"] == {
        "8.0": {"nvidia.com/gpu.compute.major": "8", "nvidia.com/gpu.compute.minor": "0"}
    }
    op = b.named(GPU_OPERATOR_RELEASE).inputs["values"]
    assert op.get("mig") == ({"strategy": strategy.split()[0]} if strategy != "none" else None)

    # Pod side: the chart renders exactly the MIG table's requests and node selector.
    docs = render_triton(b.named(TRITON_RELEASE).inputs["values"], tmp_path)
    assert_gpu_placement(pod_spec(docs), requests, selector)
    sa = [d for d in docs if d["kind"] == "ServiceAccount"]
    assert sa
    assert sa[0]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("test-model-access-reader")

    # Scale from zero: the stack hands its GPU group's Auto Scaling group the node-template tags
    # cluster-autoscaler reads (cloudprovider/aws/aws_manager.go buildNodeFromTemplate): a template
    # node offering the resource the pod requests and carrying every label it selects on.
    prefix = "k8s.io/cluster-autoscaler/node-template/"
    tags = {t.inputs["tag"]["key"]: t.inputs["tag"]["value"] for t in mocks.of_type("aws:autoscaling/tag:Tag")}
    assert tags, "the GPU node group's ASG carries no node-template tags"
    (resource,) = requests
    assert int(tags[f"{prefix}resources/{resource}"]) >= requests[resource]
    assert {f"{prefix}label/{k}": v for k, v in selector.items()}.items() <= tags.items()
    assert tags[f"{prefix}taint/nvidia.com/gpu"] == "present:NoSchedule"
    # The autoscaler's image follows the cluster's minor (its version policy).
    ca = b.named("test-cluster-autoscaler-release").inputs["values"]
    assert ca["image"]["tag"].startswith("v1.35.")


def test_time_slicing_variant(mocks: RecordingMocks, samples_built: Path) -> None:
    cfg = parse_stack(
        STACK,
        set_key("cluster.gpuNodePool.machineType", "g5.xlarge"),
        set_key("cluster.gpuNodePool.gpuProduct", "A10G"),
        set_key("cluster.gpuNodePool.gpuCount", 1),
        gpu={"timeSlicingReplicas": 4},
    )
    b = build(mocks, cfg)
    op = b.named(GPU_OPERATOR_RELEASE).inputs["values"]
    assert op["devicePlugin"]["config"]["name"] == "time-slicing-config"
    assert op["migManager"] == {"enabled": False}
    assert MIG_CONFIG_LABEL not in b.named("triton-prod-gpu").inputs["labels"]
    (cm,) = [
        c
        for c in mocks.of_type("kubernetes:core/v1:ConfigMap")
        if c.inputs["metadata"]["name"] == "time-slicing-config"
    ]
    assert "replicas: 4" in next(iter(cm.inputs["data"].values()))


# --- bad configuration: one ConfigError naming the key, nothing registered --------------------


BAD_CONFIGS: dict[str, tuple[list[Edit], str, str]] = {
    "machine type without the GPU": (
        [set_key("cluster.gpuNodePool.gpuProduct", "H100-80GB")],
        "triton-platform:cluster.gpuNodePool.machineType",
        "p5.48xlarge",
    ),
    "unknown machine type": (
        [set_key("cluster.gpuNodePool.machineType", "p9.huge")],
        "triton-platform:cluster.gpuNodePool.machineType",
        "p4d.24xlarge",
    ),
    "MIG on a GPU without MIG": (
        [
            set_key("cluster.gpuNodePool.machineType", "g5.xlarge"),
            set_key("cluster.gpuNodePool.gpuProduct", "A10G"),
            set_key("cluster.gpuNodePool.gpuCount", 1),
        ],
        "triton-platform:gpu.migProfile",
        "has no MIG",
    ),
    "MIG profile the GPU lacks": (
        [set_key("gpu.migProfile", "2g.20gb"), set_key("gpu.migConfig", "all-2g.20gb")],
        "triton-platform:gpu.migProfile",
        "1g.5gb",
    ),
    "wrong GPU count": (
        [set_key("cluster.gpuNodePool.gpuCount", 4)],
        "triton-platform:cluster.gpuNodePool.gpuCount",
        "8",
    ),
    "no region": ([drop_key("cluster.region")], "triton-platform:cluster.region", "us-east-1"),
    "location on aws": ([set_key("cluster.location", "westeurope")], "triton-platform:cluster.location", "gcp"),
    "unknown key": (
        [set_key("cluster.gpuNodePool.acceleratorType", "x")],
        "triton-platform:cluster.gpuNodePool.acceleratorType",
        "unknown key",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_fails_before_any_resource(case: str, mocks: RecordingMocks, samples_built: Path) -> None:
    edits, key, hint = BAD_CONFIGS[case]
    raw = edited_config(STACK, *edits)
    errors: list[ConfigError] = []

    @pulumi.runtime.test
    def run() -> None:
        # What __main__ does: validate, then build; build must never be reached.
        try:
            cfg = parse_config(raw, base_dir=REPO, stack=STACK)
        except ConfigError as err:
            errors.append(err)
            return
        stacks.build_stack(cfg, REPO)

    run()
    assert errors, f"{case}: config was accepted"
    err = errors[0]
    assert key in err.keys, f"{case}: {err}"
    assert hint in str(err)
    assert mocks.resources == []


# --- canary rollouts: Triton reads each release's own location --------------------------------

CANARY = (*BEHIND_GATEWAY, set_key("triton.rollout.strategy", "canary"))


def provisioned_storage(_mocks: RecordingMocks, cfg: PlatformConfig) -> dict[str, Any]:
    """stacks.aws.provision's StorageBinding, resolved (tests.support.cloud.provisioned_storage)."""
    return storage_of(aws_stack.provision, cfg)


@pytest.mark.parametrize("static_keys", [False, True])
def test_canary_reader_reads_the_release_locations(mocks: RecordingMocks, static_keys: bool) -> None:
    cfg = parse_stack(STACK, *CANARY, set_key("modelRepository.staticKeys", static_keys))
    got = provisioned_storage(mocks, cfg)
    bucket = got["repo"].removeprefix("s3://").split("/")[0]
    assert got["repo"] == f"s3://{bucket}/models"
    assert got["root"] == f"s3://{bucket}/{LOCATIONS_ROOT}"
    assert got["values"] == {}
    bucket_arn = "arn:aws:mock::123456789012:test-models-bucket"
    reader_doc = policy(mocks.named("test-model-access-reader-s3"))
    assert reader_doc == aws_iam.reader_policy(bucket_arn, "models", LOCATIONS_ROOT)
    location = f"{bucket_arn}/{LOCATIONS_ROOT}/{'ab' * 32}"
    assert allowed(reader_doc, Request("s3:GetObject", f"{location}/m/config.pbtxt", {}, "GetObject"))
    assert allowed(reader_doc, Request("s3:ListBucket", bucket_arn, {"s3:prefix": f"{LOCATIONS_ROOT}/x/"}, "List"))
    assert not allowed(reader_doc, Request("s3:GetObject", f"{bucket_arn}/_cache/engines/m/k/sm80.plan", {}, "Get"))
    if static_keys:
        assert policy(mocks.one("aws:iam/userPolicy:UserPolicy")) == reader_doc


def test_instant_storage_has_no_release_locations(mocks: RecordingMocks) -> None:
    got = provisioned_storage(mocks, parse_stack(STACK))
    assert got["root"] is None
    assert got["values"] is None
    bucket_arn = "arn:aws:mock::123456789012:test-models-bucket"
    assert policy(mocks.named("test-model-access-reader-s3")) == aws_iam.reader_policy(bucket_arn, "models")
    description = mocks.named("test-model-access-reader").inputs["description"]
    assert description == "Triton (triton/triton) reads s3 prefix models/"
