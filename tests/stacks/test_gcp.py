"""The GCP stack (Pulumi.staging.yaml): GKE, GCS and Workload Identity under the Pulumi mocks.

The example stack file is parsed as the engine hands it over, ``stacks.gcp.build`` runs under
the mock runtime and the recorded resource graph is checked: prefix-scoped IAM Conditions,
Workload Identity bindings, node pool accelerators and partitions, taints, bucket
protections, providers, secrets. The Triton release's values are rendered with the real helm
for each GPU setup GKE supports and the Deployment's GPU requests and node selector compared
with the README's MIG strategy table (GKE row).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc

import stacks
import stacks.gcp as gcp_stack
from components.gcp.gcs_model_bucket import GcsModelBucketArgs, generated_bucket_prefix, lifecycle_rules
from components.gcp.gke_cluster import (
    GkeClusterArgs,
    GpuPoolSpec,
    boot_disk_type,
    gke_kubeconfig,
    guest_accelerator,
    initial_node_count,
    service_account_id,
)
from components.gcp.gke_workload_identity import GkeWorkloadIdentityArgs, prefix_condition, workload_identity_member
from tests.support.cloud import LOCATIONS_ROOT, WORKLOAD_OUTPUTS, Built, build_stack, secret_data_is_secret
from tests.support.cloud import provisioned_storage as storage_of
from tests.support.gcs_iam import COMPOSITE_PREFIX, ObjectRequest, condition_allows, object_name
from tests.support.helm import assert_gpu_placement, pod_spec, render_triton
from tests.support.pulumi_mocks import MOCK_HMAC_SECRET, MOCK_RANDOM_HEX, RecordingMocks
from tests.support.stacks import BEHIND_GATEWAY, Edit, config_error, drop_key, parse_stack, set_key
from triton_platform.clouds.gcp import bucket_name_issue, is_zone, region_of
from triton_platform.config import PlatformConfig

STACK = "staging"
PROJECT = "acme-ml-staging"
POOL = f"{PROJECT}.svc.id.goog"
BUCKET = f"triton-staging-models-{MOCK_RANDOM_HEX}"
K8S_PROVIDER = "pulumi:providers:kubernetes::triton-staging-k8s::"
GCP_PROVIDER = "pulumi:providers:gcp::gcp::"
TRITON_GSA = "triton-staging-triton@mock-project.iam.gserviceaccount.com"
BUILDER_GSA = "triton-staging-builder@mock-project.iam.gserviceaccount.com"
A100 = "nvidia-tesla-a100"


@pytest.fixture
def pulumi_stack() -> str:
    """The mocks run under the example stack's name: it names the stack's resources."""
    return STACK


def build(
    mocks: RecordingMocks, cfg: PlatformConfig, check: Callable[[Built], pulumi.Output[Any]] | None = None
) -> Built:
    """Run stacks.gcp.build under the mock runtime; ``check`` may return an Output to await."""
    return build_stack(mocks, stacks.build_stack, cfg, check)


def _gpu_pool(b: Built) -> dict[str, Any]:
    pools = [p for p in b.mocks.of_type("gcp:container/nodePool:NodePool") if p.inputs["name"] == "gpu"]
    assert len(pools) == 1, b.mocks.dump()
    return pools[0].inputs


def _system_pool(b: Built) -> dict[str, Any]:
    (pool,) = [p for p in b.mocks.of_type("gcp:container/nodePool:NodePool") if p.inputs["name"] == "system"]
    return pool.inputs


def _iam(b: Built, role: str, email: str) -> list[dict[str, Any]]:
    return [
        r.inputs
        for r in b.mocks.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
        if r.inputs["role"] == role and r.inputs["member"] == f"serviceAccount:{email}"
    ]


# --- plain functions -------------------------------------------------------------------------


def test_region_of_zone_and_region() -> None:
    assert region_of("us-central1") == "us-central1"
    assert region_of("us-central1-a") == "us-central1"
    assert region_of("europe-west4-b") == "europe-west4"
    assert is_zone("us-central1-f")
    assert not is_zone("us-central1")
    with pytest.raises(ValueError, match="neither a GCP region"):
        region_of("westeurope")


def test_service_account_ids_fit_gcp_rules() -> None:
    assert service_account_id("triton-staging", "triton") == "triton-staging-triton"
    long = service_account_id("a-very-long-cluster-name-that-goes-on-and-on", "builder")
    assert len(long) <= 30
    assert long.endswith("-builder")
    assert not long.startswith("-")
    assert service_account_id("9lives", "nodes")[0].isalpha()
    for base in ("x", "triton-staging", "a" * 40, "abc--def"):
        for role in ("nodes", "triton", "builder"):
            sid = service_account_id(base, role)
            assert 6 <= len(sid) <= 30, sid
            assert sid[0].isalpha(), sid
            assert sid[-1].isalnum(), sid


def test_guest_accelerator_mig_time_sharing_and_driver() -> None:
    mig = guest_accelerator(accelerator=A100, count=1, partition_size="1g.5gb")
    assert mig == {
        "type": A100,
        "count": 1,
        "gpu_driver_installation_config": {"gpu_driver_version": "LATEST"},
        "gpu_partition_size": "1g.5gb",
    }
    shared = guest_accelerator(accelerator="nvidia-l4", count=1, time_sharing_clients=4, driver_version="DEFAULT")
    assert shared["gpu_sharing_config"] == {"gpu_sharing_strategy": "TIME_SHARING", "max_shared_clients_per_gpu": 4}
    assert "gpu_partition_size" not in shared
    assert shared["gpu_driver_installation_config"] == {"gpu_driver_version": "DEFAULT"}
    with pytest.raises(ValueError, match="fallback for GPUs without MIG"):
        guest_accelerator(accelerator=A100, count=1, partition_size="1g.5gb", time_sharing_clients=2)


def test_kubeconfig_uses_the_gke_auth_plugin_and_holds_no_credentials() -> None:
    doc = yaml.safe_load(gke_kubeconfig(cluster_name="c1", endpoint="34.1.2.3", ca_certificate="Q0E="))
    (user,) = doc["users"]
    assert set(user["user"]) == {"exec"}, "no token, password or client key in the kubeconfig"
    assert user["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert user["user"]["exec"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert doc["clusters"][0]["cluster"] == {"server": "https://34.1.2.3", "certificate-authority-data": "Q0E="}
    assert doc["current-context"] == "c1"


def test_prefix_condition_scopes_objects_and_listing() -> None:
    assert prefix_condition("b", "models") == (
        'resource.name.startsWith("projects/_/buckets/b/objects/models/") || '
        'api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("models/")'
    )
    # A sibling prefix ("models-old/") does not start with "models/": the trailing slash matters.
    assert '"models/"' in prefix_condition("b", "models")
    assert "objects/team/models/" in prefix_condition("b", "team/models")
    with pytest.raises(ValueError, match="must match"):
        prefix_condition("b", 'models") || true || ("')
    # Evaluated (tests/support/gcs_iam.py, the IAM Conditions CEL subset): the builder's condition on
    # its cache prefix admits its own objects and listing, not a sibling prefix nor gcloud's parallel
    # composite parts at the bucket root (why the build Job turns those uploads off).
    builder = prefix_condition("b", "_cache")
    assert condition_allows(
        builder, ObjectRequest("storage.objects.create", object_name("b", "_cache/engines/m/k/sm80.plan"))
    )
    assert condition_allows(
        builder, ObjectRequest("storage.objects.list", "projects/_/buckets/b", list_prefix="_cache/")
    )
    for outside in ("_cache-old/x", f"{COMPOSITE_PREFIX}123_abc_0", "models/m/1/model.plan"):
        assert not condition_allows(builder, ObjectRequest("storage.objects.create", object_name("b", outside)))


def test_workload_identity_member() -> None:
    assert workload_identity_member(POOL, "triton", "triton") == f"serviceAccount:{POOL}[triton/triton]"


def test_bucket_names_and_lifecycle() -> None:
    assert bucket_name_issue("acme-triton-models") is None
    assert bucket_name_issue("Upper") is not None
    assert "google" in (bucket_name_issue("my-google-models") or "")
    assert "goog" in (bucket_name_issue("goog-models") or "")
    prefix = generated_bucket_prefix("x" * 80)
    assert len(prefix) + 1 + 8 <= 63
    assert prefix.endswith("-models")
    rules = cast(list[dict[str, Any]], lifecycle_rules(noncurrent_days=30, noncurrent_kept=3))
    conditions = [r["condition"] for r in rules if r["action"]["type"] == "Delete"]
    assert {"days_since_noncurrent_time": 30, "with_state": "ARCHIVED"} in conditions
    assert {"num_newer_versions": 3, "with_state": "ARCHIVED"} in conditions
    assert any(r["action"]["type"] == "AbortIncompleteMultipartUpload" for r in rules)


def test_node_counts_and_disks() -> None:
    assert initial_node_count(2, zonal=True, floor=1) == 2
    assert initial_node_count(0, zonal=True, floor=1) == 1
    # Regional pools count per zone: start small and let the autoscaler reach the totals.
    assert initial_node_count(3, zonal=False, floor=0) == 0
    assert boot_disk_type("a2-highgpu-1g") == "pd-balanced"
    assert boot_disk_type("a3-ultragpu-8g") == "hyperdisk-balanced"


def test_component_args_reject_bad_input() -> None:
    # Validation only checks the type: an uninitialised instance registers nothing.
    provider = object.__new__(pulumi.ProviderResource)
    base: dict[str, Any] = {"project": PROJECT, "location": "us-central1", "cluster_name": "c1"}
    with pytest.raises(ValueError, match="overlaps"):
        GkeClusterArgs.model_validate({**base, "provider": provider, "pods_cidr": "10.8.0.0/14"})
    with pytest.raises(ValueError, match="not a CIDR block"):
        GkeClusterArgs.model_validate({**base, "provider": provider, "node_cidr": "10.10.0.0/33"})
    with pytest.raises(ValueError, match="neither a GCP region"):
        GkeClusterArgs.model_validate({**base, "provider": provider, "location": "westeurope"})
    with pytest.raises(ValueError, match="not both"):
        GpuPoolSpec(
            machine_type="a2-highgpu-1g", accelerator=A100, gpu_count=1, partition_size="1g.5gb", time_sharing_clients=2
        )
    with pytest.raises(ValueError, match="must lie outside"):
        GkeWorkloadIdentityArgs.model_validate(
            {
                "provider": provider,
                "project": PROJECT,
                "workload_pool": POOL,
                "bucket": "b1x",
                "prefix": "models",
                "cache_prefix": "models/_cache",
                "namespace": "triton",
                "account_base": "c1",
            }
        )
    with pytest.raises(ValueError, match="contain 'google'"):
        GcsModelBucketArgs.model_validate(
            {"provider": provider, "project": PROJECT, "location": "us-central1", "bucket_name": "google-models"}
        )
    with pytest.raises(ValueError, match="0 \\(off\\) or 7-90"):
        GcsModelBucketArgs.model_validate(
            {"provider": provider, "project": PROJECT, "location": "us-central1", "soft_delete_days": 3}
        )


def test_gpu_pool_spec_and_service_annotations(samples_built: Path) -> None:
    cfg = parse_stack(STACK)
    spec = gcp_stack.gpu_pool_spec(cfg)
    assert spec is not None
    assert (spec.machine_type, spec.accelerator, spec.gpu_count) == ("a2-highgpu-1g", A100, 1)
    assert spec.partition_size == "1g.5gb"
    assert spec.time_sharing_clients is None
    assert gcp_stack.service_annotations(cfg) == {"networking.gke.io/load-balancer-type": "Internal"}
    assert gcp_stack.label_value("Prod.EU") == "prod-eu"
    public = parse_stack(STACK, set_key("triton.service.internal", False))
    assert gcp_stack.service_annotations(public) == {}
    cluster_ip = parse_stack(STACK, set_key("triton.service", {"type": "ClusterIP"}))
    assert gcp_stack.service_annotations(cluster_ip) == {}


# --- the staging stack ---------------------------------------------------------------------------


def test_staging_stack_graph(mocks: RecordingMocks, samples_built: Path) -> None:
    b = build(mocks, parse_stack(STACK))
    m = mocks
    assert "kubeconfig" in b.result.secret, "kubeconfig output must be secret"

    # Network: custom VPC, VPC-native secondary ranges, private nodes with Cloud NAT.
    net = b.one("gcp:compute/network:Network").inputs
    assert net["autoCreateSubnetworks"] is False
    subnet = b.one("gcp:compute/subnetwork:Subnetwork").inputs
    assert subnet["region"] == "us-central1"
    assert subnet["privateIpGoogleAccess"] is True
    assert {r["rangeName"] for r in subnet["secondaryIpRanges"]} == {"pods", "services"}
    assert b.one("gcp:compute/routerNat:RouterNat").inputs["sourceSubnetworkIpRangesToNat"] == (
        "ALL_SUBNETWORKS_ALL_IP_RANGES"
    )

    # Cluster: Workload Identity, no default pool, release channel, VPC-native, private nodes.
    cluster = b.one("gcp:container/cluster:Cluster").inputs
    assert cluster["name"] == "triton-staging"
    assert cluster["location"] == "us-central1"
    assert cluster["project"] == PROJECT
    assert cluster["workloadIdentityConfig"] == {"workloadPool": POOL}
    assert cluster["removeDefaultNodePool"] is True
    assert cluster["releaseChannel"] == {"channel": "REGULAR"}
    assert cluster["minMasterVersion"] == "1.35"
    assert cluster["networkingMode"] == "VPC_NATIVE"
    assert cluster["ipAllocationPolicy"] == {
        "clusterSecondaryRangeName": "pods",
        "servicesSecondaryRangeName": "services",
    }
    assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True
    assert cluster["datapathProvider"] == "ADVANCED_DATAPATH"
    assert cluster["network"] == "triton-staging-network-id"
    assert cluster["subnetwork"] == "triton-staging-subnet-id"

    # GPU pool: the A100 accelerator, GKE-made 1g.5gb partitions, GKE's driver, taint, WI metadata.
    gpu = _gpu_pool(b)
    node = gpu["nodeConfig"]
    assert node["machineType"] == "a2-highgpu-1g"
    assert node["guestAccelerators"] == [
        {
            "type": A100,
            "count": 1,
            "gpuPartitionSize": "1g.5gb",
            "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"},
        }
    ]
    assert node["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert node["spot"] is False
    assert node["diskSizeGb"] == 200
    assert node["serviceAccount"] == "triton-staging-nodes@mock-project.iam.gserviceaccount.com"
    assert gpu["autoscaling"]["totalMinNodeCount"] == 1
    assert gpu["autoscaling"]["totalMaxNodeCount"] == 3
    assert gpu["location"] == "us-central1"
    assert gpu["cluster"] == "triton-staging"
    system = _system_pool(b)
    assert system["nodeConfig"]["machineType"] == "e2-standard-4"
    assert not system["nodeConfig"].get("taints")
    assert "guestAccelerators" not in system["nodeConfig"]
    assert system["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    (node_role,) = m.of_type("gcp:projects/iAMMember:IAMMember")
    assert node_role.inputs["role"] == "roles/container.defaultNodeServiceAccount"
    # No NVIDIA GPU operator on GKE: GKE runs the driver installer and the device plugin.
    assert not [r for r in m.of_type("kubernetes:helm.sh/v3:Release") if "gpu-operator" in str(r.inputs.get("chart"))]
    assert not m.of_type("triton:gpu:GpuOperator")

    # Bucket: generated name, IAM only, no public access, versioning + lifecycle, soft delete, retained.
    bucket = b.one("gcp:storage/bucket:Bucket")
    assert bucket.inputs["name"] == BUCKET
    assert bucket.inputs["location"] == "US-CENTRAL1"
    assert bucket.inputs["uniformBucketLevelAccess"] is True
    assert bucket.inputs["publicAccessPrevention"] == "enforced"
    assert bucket.inputs["versioning"] == {"enabled": True}
    assert bucket.inputs["forceDestroy"] is False
    assert bucket.inputs["softDeletePolicy"] == {"retentionDurationSeconds": 7 * 86_400}
    actions = [r["action"]["type"] for r in bucket.inputs["lifecycleRules"]]
    assert actions.count("Delete") == 2
    assert "AbortIncompleteMultipartUpload" in actions
    assert m.retained[bucket.name] is True

    # IAM: Triton reads objects under models/ only; the builder reads/writes _cache/ only.
    (triton_read,) = _iam(b, "roles/storage.objectViewer", TRITON_GSA)
    assert triton_read["bucket"] == BUCKET
    assert triton_read["condition"]["expression"] == prefix_condition(BUCKET, "models")
    assert f"projects/_/buckets/{BUCKET}/objects/models/" in triton_read["condition"]["expression"]
    (builder_write,) = _iam(b, "roles/storage.objectUser", BUILDER_GSA)
    assert builder_write["condition"]["expression"] == prefix_condition(BUCKET, "_cache")
    for email in (TRITON_GSA, BUILDER_GSA):
        (meta,) = _iam(b, "roles/storage.bucketViewer", email)
        assert "condition" not in meta or not meta["condition"]
    assert not _iam(b, "roles/storage.objectUser", TRITON_GSA), "Triton must not write"
    assert not _iam(b, "roles/storage.objectViewer", BUILDER_GSA)
    for r in m.of_type("gcp:storage/bucketIAMMember:BucketIAMMember"):
        # Every object-level role carries a prefix condition; only bucket metadata is unconditional.
        assert r.inputs["role"] == "roles/storage.bucketViewer" or r.inputs.get("condition"), r.name
        assert r.inputs["role"] not in ("roles/storage.admin", "roles/storage.objectAdmin"), r.name

    # Workload Identity: each GSA trusts exactly one KSA in Triton's namespace.
    wi = {r.inputs["member"]: r.inputs for r in m.of_type("gcp:serviceaccount/iAMMember:IAMMember")}
    assert set(wi) == {
        f"serviceAccount:{POOL}[triton/triton]",
        f"serviceAccount:{POOL}[triton/triton-engine-builder]",
    }
    for binding in wi.values():
        assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert wi[f"serviceAccount:{POOL}[triton/triton]"]["serviceAccountId"].endswith("/triton-staging-triton")
    assert wi[f"serviceAccount:{POOL}[triton/triton-engine-builder]"]["serviceAccountId"].endswith(
        "/triton-staging-builder"
    )

    # Keyless: no HMAC or JSON key, no Kubernetes Secret carrying cloud credentials.
    assert not m.of_type("gcp:storage/hmacKey:HmacKey")
    assert not m.of_type("gcp:serviceaccount/key:Key")
    for s in m.of_type("kubernetes:core/v1:Secret"):
        blob = json.dumps(s.inputs, default=str)
        for needle in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "private_key", "GOOGLE_APPLICATION_CREDENTIALS"):
            assert needle not in blob, (s.name, needle)

    # Providers: every GCP resource uses the stack's gcp provider, every Kubernetes one the cluster's.
    gcp_resources = [r for r in m.resources if r.custom and r.type.startswith("gcp:")]
    k8s_resources = [r for r in m.resources if r.custom and r.type.startswith("kubernetes:")]
    assert len(gcp_resources) >= 15
    assert len(k8s_resources) >= 4
    for r in gcp_resources:
        assert GCP_PROVIDER in (r.provider or ""), (r.type, r.name, r.provider)
    for r in k8s_resources:
        assert K8S_PROVIDER in (r.provider or ""), (r.type, r.name, r.provider)
    provider = b.one("pulumi:providers:gcp").inputs
    assert provider["project"] == PROJECT
    assert provider["region"] == "us-central1"

    # Triton: Workload Identity annotation, gs:// URI, no Secret, internal passthrough LB.
    values = b.triton_values()
    assert values["serviceAccount"]["annotations"] == {"iam.gke.io/gcp-service-account": TRITON_GSA}
    assert values["modelRepository"]["uri"] == f"gs://{BUCKET}/models"
    assert values["modelRepository"]["credentialsSecret"] == ""
    assert values["service"]["type"] == "LoadBalancer"
    assert values["service"]["annotations"]["networking.gke.io/load-balancer-type"] == "Internal"
    assert values["gpu"]["nodeSelector"] == {
        "cloud.google.com/gke-accelerator": A100,
        "cloud.google.com/gke-gpu-partition-size": "1g.5gb",
    }
    builder_sa = b.service_account("triton-engine-builder")
    assert builder_sa.inputs["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": BUILDER_GSA}

    # The kubeconfig file the engine builder reads: written by a local command, contents secret.
    (kubeconfig_file,) = [c for c in m.of_type("command:local:Command") if c.name == "triton-staging-kubeconfig-file"]
    # tests/conftest.py moves .state/ to a temporary folder (TRITON_PLATFORM_STATE_DIR).
    path = str(Path(os.environ["TRITON_PLATFORM_STATE_DIR"]).resolve() / "gke-triton-staging.kubeconfig")
    assert path in kubeconfig_file.inputs["create"]
    assert rpc.is_rpc_secret(kubeconfig_file.inputs["stdin"]), "kubeconfig contents must travel as a secret"
    assert "gke-gcloud-auth-plugin" in rpc.unwrap_rpc_secret(kubeconfig_file.inputs["stdin"])

    # The publisher: the GCS store with the operator's ambient credentials (never keys as inputs).
    (version,) = m.of_type("pulumi-python:dynamic/triton:ModelVersion")
    store = version.inputs["store"]
    assert (store["kind"], store["bucket"], store["prefix"], store["cache_prefix"]) == (
        "gcs",
        BUCKET,
        "models",
        "_cache",
    )
    assert store["credentials"]["source"] == "environment"
    assert version.inputs["builder"]["kubeconfig_path"] == path

    # Outputs.
    assert b.outputs["cloud"] == "gcp"
    assert b.outputs["kubeconfigPath"] == path
    for key in (
        "clusterName",
        "bucket",
        "modelRepository",
        "tritonServiceAccount",
        "builderServiceAccount",
        "workloadPool",
        "tritonInClusterHttp",
        "publishedModels",
    ):
        assert key in b.outputs, key
    assert set(b.outputs) >= WORKLOAD_OUTPUTS
    assert b.result.values["tritonInClusterHttp"] == "http://triton.triton.svc.cluster.local:8000"
    assert "grafanaAdminPassword" in b.result.secret


def test_static_keys_only_when_opted_in(mocks: RecordingMocks, samples_built: Path) -> None:
    b = build(mocks, parse_stack(STACK, set_key("modelRepository.staticKeys", True)), secret_data_is_secret)
    m = mocks
    hmac = b.one("gcp:storage/hmacKey:HmacKey")
    assert hmac.inputs["serviceAccountEmail"] == TRITON_GSA, "the key belongs to Triton's read-only GSA"
    assert not m.of_type("gcp:serviceaccount/key:Key")

    (secret,) = [s for s in m.of_type("kubernetes:core/v1:Secret") if "AWS_SECRET_ACCESS_KEY" in json.dumps(s.inputs)]
    assert rpc.is_rpc_secret(secret.inputs["stringData"])
    assert set(rpc.unwrap_rpc_secret(secret.inputs["stringData"])) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    values = b.triton_values()
    assert values["modelRepository"]["credentialsSecret"] == secret.inputs["metadata"]["name"]
    # Triton reads GCS through its XML (S3-compatible) API with the HMAC key.
    assert values["modelRepository"]["uri"] == f"s3://https://storage.googleapis.com:443/{BUCKET}/models"
    assert values["modelRepository"]["env"] == {"AWS_DEFAULT_REGION": "auto"}
    assert values["serviceAccount"]["annotations"] == {}
    # The key travels only in that Secret: no other input carries it.
    for r in m.resources:
        if r is not secret:
            assert MOCK_HMAC_SECRET not in json.dumps(r.inputs, default=str), (r.type, r.name)
    # Still least privilege: the same prefix condition binds the key's account.
    (triton_read,) = _iam(b, "roles/storage.objectViewer", TRITON_GSA)
    assert triton_read["condition"]["expression"] == prefix_condition(BUCKET, "models")
    # Triton has no keyless binding any more; the engine builder stays keyless.
    members = {r.inputs["member"] for r in m.of_type("gcp:serviceaccount/iAMMember:IAMMember")}
    assert members == {f"serviceAccount:{POOL}[triton/triton-engine-builder]"}
    assert b.service_account("triton-engine-builder").inputs["metadata"]["annotations"] == {
        "iam.gke.io/gcp-service-account": BUILDER_GSA
    }


def test_explicit_bucket_not_retained_and_zonal_cluster(mocks: RecordingMocks, samples_built: Path) -> None:
    cfg = parse_stack(
        STACK,
        set_key("modelRepository.bucket", "acme-triton-models"),
        set_key("modelRepository.retainOnDelete", False),
        set_key("cluster.location", "us-central1-a"),
    )
    b = build(mocks, cfg)
    bucket = b.one("gcp:storage/bucket:Bucket")
    assert bucket.inputs["name"] == "acme-triton-models"
    assert not mocks.of_type("random:index/randomId:RandomId")
    assert not mocks.retained[bucket.name]
    assert b.triton_values()["modelRepository"]["uri"] == "gs://acme-triton-models/models"
    # Zonal: the provider gets the zone, the bucket and subnet the region, pools start at minNodes.
    provider = b.one("pulumi:providers:gcp").inputs
    assert provider["zone"] == "us-central1-a"
    assert provider["region"] == "us-central1"
    assert bucket.inputs["location"] == "US-CENTRAL1"
    assert b.one("gcp:container/cluster:Cluster").inputs["location"] == "us-central1-a"
    assert _gpu_pool(b)["initialNodeCount"] == 1


# --- GPU setups rendered with the real chart ---------------------------------------------------

GKE_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, int], dict[str, str], dict[str, Any]]] = {
    # name: (gpuNodePool edits, gpu config, requests, nodeSelector, accelerator extras)
    "none": (
        {},
        {"migStrategy": "none"},
        {"nvidia.com/gpu": 1},
        {"cloud.google.com/gke-accelerator": A100},
        {},
    ),
    "single (GKE partition)": (
        {},
        {"migStrategy": "single", "migProfile": "1g.5gb"},
        {"nvidia.com/gpu": 1},
        {"cloud.google.com/gke-accelerator": A100, "cloud.google.com/gke-gpu-partition-size": "1g.5gb"},
        {"gpuPartitionSize": "1g.5gb"},
    ),
    "single 3g.20gb": (
        {},
        {"migStrategy": "single", "migProfile": "3g.20gb"},
        {"nvidia.com/gpu": 1},
        {"cloud.google.com/gke-accelerator": A100, "cloud.google.com/gke-gpu-partition-size": "3g.20gb"},
        {"gpuPartitionSize": "3g.20gb"},
    ),
    "time-sharing (L4, no MIG)": (
        {"machineType": "g2-standard-8", "gpuProduct": "L4", "gpuCount": 1},
        {"timeSlicingReplicas": 4},
        {"nvidia.com/gpu": 1},
        {"cloud.google.com/gke-accelerator": "nvidia-l4"},
        {"gpuSharingConfig": {"gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": 4}},
    ),
}


@pytest.mark.chart
@pytest.mark.parametrize("case", list(GKE_CASES))
def test_gke_gpu_setup_renders_design_table(
    case: str, mocks: RecordingMocks, samples_built: Path, tmp_path: Path
) -> None:
    pool_edits, gpu_cfg, requests, selector, extras = GKE_CASES[case]
    pool = [set_key(f"cluster.gpuNodePool.{key}", value) for key, value in pool_edits.items()]
    b = build(mocks, parse_stack(STACK, *pool, gpu=gpu_cfg))

    # Node side: GKE partitions / shares through the node pool's accelerator config.
    (accel,) = _gpu_pool(b)["nodeConfig"]["guestAccelerators"]
    assert accel["type"] == selector["cloud.google.com/gke-accelerator"]
    for key in ("gpuPartitionSize", "gpuSharingConfig"):
        assert accel.get(key) == extras.get(key), key

    # Pod side: the chart renders exactly the MIG table's GKE requests and node selector.
    docs = render_triton(b.triton_values(), tmp_path)
    assert_gpu_placement(pod_spec(docs), requests, selector)
    (sa,) = [d for d in docs if d["kind"] == "ServiceAccount"]
    assert sa["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": TRITON_GSA}
    (svc,) = [d for d in docs if d["kind"] == "Service" and d["spec"].get("type") == "LoadBalancer"]
    assert svc["metadata"]["annotations"]["networking.gke.io/load-balancer-type"] == "Internal"


# --- bad configuration: one ConfigError naming the key, before any resource -------------------


BAD_CONFIGS: dict[str, tuple[list[Edit], str, str]] = {
    "machine type without the GPU": (
        [set_key("cluster.gpuNodePool.gpuProduct", "H100-80GB")],
        "triton-platform:cluster.gpuNodePool.machineType",
        "a3-highgpu-1g",
    ),
    "unknown machine type": (
        [set_key("cluster.gpuNodePool.machineType", "a9-megagpu-1g")],
        "triton-platform:cluster.gpuNodePool.machineType",
        "a2-highgpu-1g",
    ),
    "MIG on a GPU without MIG": (
        [
            set_key("cluster.gpuNodePool.machineType", "g2-standard-8"),
            set_key("cluster.gpuNodePool.gpuProduct", "L4"),
        ],
        "triton-platform:gpu.migProfile",
        "has no MIG",
    ),
    "GKE partition size the accelerator lacks": (
        # 1g.10gb is an A100-40GB MIG profile, but not a GKE partition size.
        [set_key("gpu.migProfile", "1g.10gb")],
        "triton-platform:gpu.migProfile",
        "GKE cannot partition",
    ),
    "MIG profile of another GPU": (
        [set_key("gpu.migProfile", "1g.18gb")],
        "triton-platform:gpu.migProfile",
        "1g.5gb",
    ),
    "mixed strategy on GKE": (
        [set_key("gpu.migStrategy", "mixed")],
        "triton-platform:gpu.migStrategy",
        "single",
    ),
    "wrong GPU count": (
        [set_key("cluster.gpuNodePool.gpuCount", 2)],
        "triton-platform:cluster.gpuNodePool.gpuCount",
        "a2-highgpu-1g",
    ),
    "no project": ([drop_key("cluster.project")], "triton-platform:cluster.project", "my-gcp-project"),
    "no location": ([drop_key("cluster.location")], "triton-platform:cluster.location", "us-central1"),
    "region key on gcp": (
        [set_key("cluster.region", "us-east-1")],
        "triton-platform:cluster.region",
        "cluster.location",
    ),
    "project number instead of id": (
        [set_key("cluster.project", "123456789012")],
        "triton-platform:cluster.project",
        "not a GCP project id",
    ),
    "Azure location on gcp": (
        [set_key("cluster.location", "westeurope")],
        "triton-platform:cluster.location",
        "us-central1-a",
    ),
    "reserved bucket name": (
        [set_key("modelRepository.bucket", "google-triton-models")],
        "triton-platform:modelRepository.bucket",
        "goog",
    ),
    "unknown key": (
        [set_key("cluster.gpuNodePool.acceleratorType", "nvidia-tesla-a100")],
        "triton-platform:cluster.gpuNodePool.acceleratorType",
        "unknown key",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_is_one_config_error_naming_the_key(case: str, samples_built: Path) -> None:
    # parse_config (what __main__ runs before build) checks GCP's own rules too, so a bad
    # stack stops before any resource is registered.
    edits, key, hint = BAD_CONFIGS[case]
    err = config_error(STACK, *edits)
    assert key in err.keys, f"{case}: {err}"
    assert hint in str(err), f"{case}: {err}"


def test_missing_project_is_reported_once(samples_built: Path) -> None:
    err = config_error(STACK, drop_key("cluster.project"))
    assert err.keys.count("triton-platform:cluster.project") == 1, str(err)


def test_generic_and_gcp_problems_arrive_in_one_error(samples_built: Path) -> None:
    err = config_error(
        STACK,
        set_key("cluster.gpuNodePool.gpuCount", 2),  # generic: the machine type has one GPU
        set_key("cluster.project", "123456789012"),  # GCP's own: a project number, not an id
        set_key("modelRepository.bucket", "google-triton-models"),  # GCS's own naming rule
    )
    keys = err.keys
    assert "triton-platform:cluster.gpuNodePool.gpuCount" in keys, str(err)
    assert "triton-platform:cluster.project" in keys, str(err)
    assert "triton-platform:modelRepository.bucket" in keys, str(err)


# --- canary rollouts: Triton reads each release's own location --------------------------------

CANARY = (*BEHIND_GATEWAY, set_key("triton.rollout.strategy", "canary"))


def provisioned_storage(_mocks: RecordingMocks, cfg: PlatformConfig) -> dict[str, Any]:
    """stacks.gcp.provision's StorageBinding, resolved (tests.support.cloud.provisioned_storage)."""
    return storage_of(gcp_stack.provision, cfg)


def test_canary_triton_condition_admits_the_release_locations(mocks: RecordingMocks) -> None:
    got = provisioned_storage(mocks, parse_stack(STACK, *CANARY))
    assert got["repo"] == f"gs://{BUCKET}/models"
    assert got["root"] == f"gs://{BUCKET}/{LOCATIONS_ROOT}"
    assert got["values"] == {}
    (triton_read,) = _iam(Built(mocks), "roles/storage.objectViewer", TRITON_GSA)
    expression = triton_read["condition"]["expression"]
    assert expression == prefix_condition(BUCKET, "models", LOCATIONS_ROOT)
    location = object_name(BUCKET, f"{LOCATIONS_ROOT}/{'ab' * 32}/m/config.pbtxt")
    assert condition_allows(expression, ObjectRequest("storage.objects.get", location))
    assert not condition_allows(
        expression, ObjectRequest("storage.objects.get", object_name(BUCKET, "_cache/engines/m/k/sm80.plan"))
    )
    # The builder's condition (its cache prefix) is not touched.
    (builder_write,) = _iam(Built(mocks), "roles/storage.objectUser", BUILDER_GSA)
    assert builder_write["condition"]["expression"] == prefix_condition(BUCKET, "_cache")


def test_canary_with_hmac_keys_reads_the_root_through_the_xml_api(mocks: RecordingMocks) -> None:
    got = provisioned_storage(mocks, parse_stack(STACK, *CANARY, set_key("modelRepository.staticKeys", True)))
    assert got["repo"] == f"s3://https://storage.googleapis.com:443/{BUCKET}/models"
    assert got["root"] == f"s3://https://storage.googleapis.com:443/{BUCKET}/{LOCATIONS_ROOT}"


def test_instant_storage_has_no_release_locations(mocks: RecordingMocks) -> None:
    got = provisioned_storage(mocks, parse_stack(STACK))
    assert (got["root"], got["values"]) == (None, None)
    (triton_read,) = _iam(Built(mocks), "roles/storage.objectViewer", TRITON_GSA)
    assert triton_read["condition"] == {
        "title": "only models/",
        "description": f"objects under gs://{BUCKET}/models/ and listing them",
        "expression": prefix_condition(BUCKET, "models"),
    }
