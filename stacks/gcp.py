"""The GKE composition (cloud ``gcp``): GKE cluster + GCS bucket + Workload Identity + Triton.

Creates the gcp.Provider from the stack config and passes it explicitly to every GCP
component; the GkeCluster creates the Kubernetes provider for the cluster it provisions and
every Kubernetes resource uses that one. GKE installs the NVIDIA driver and runs its own
device plugin, and partitions (MIG) or time-shares GPUs through the node pool itself, so
no NVIDIA GPU operator is deployed here. Triton reads ``gs://<bucket>/<prefix>`` keylessly
through Workload Identity; the publisher uploads with the operator's own gcloud
credentials (Application Default Credentials), never with keys passed as inputs.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pulumi
import pulumi_gcp as gcp

from components.gcp.gcs_model_bucket import GcsModelBucket, GcsModelBucketArgs
from components.gcp.gke_cluster import GkeCluster, GkeClusterArgs, GpuPoolSpec, SystemPoolSpec
from components.gcp.gke_workload_identity import GkeWorkloadIdentity, GkeWorkloadIdentityArgs
from stacks.common import (
    BUILDER_SERVICE_ACCOUNT,
    TRITON_SERVICE_ACCOUNT,
    CloudPlatform,
    ClusterBinding,
    StorageBinding,
    gateway_exposure,
    kubeconfig_path,
)
from triton_platform.catalog import gpu
from triton_platform.clouds.gcp import is_zone, region_of
from triton_platform.config import PlatformConfig
from triton_platform.publisher.stores import CredentialsRef, StoreRef
from triton_platform.publisher.stores.ref import release_locations_root

# GCS's XML API speaks S3: with static (HMAC) keys Triton reads the bucket through it.
GCS_S3_ENDPOINT = "https://storage.googleapis.com:443"
INTERNAL_LB_ANNOTATION = "networking.gke.io/load-balancer-type"


def system_pool_spec(cfg: PlatformConfig) -> SystemPoolSpec:
    """The GKE system pool of the config (the component's defaults when the config names none)."""
    system = cfg.cluster.system_node_pool
    if system is None:
        return SystemPoolSpec()
    return SystemPoolSpec(machine_type=system.machine_type, min_nodes=system.min_nodes, max_nodes=system.max_nodes)


def gpu_pool_spec(cfg: PlatformConfig) -> GpuPoolSpec | None:
    """The GKE GPU pool for the config: accelerator from the catalogue, MIG partition or time-sharing."""
    pool = cfg.cluster.gpu_node_pool
    if pool is None:
        return None
    product = gpu.find_product(pool.gpu_product)
    if product is None or product.gke_accelerator is None:
        # parse_config rejects these first; this guards direct callers.
        raise ValueError(f"{pool.gpu_product!r} has no GKE accelerator type in triton_platform.catalog.gpu")
    return GpuPoolSpec(
        machine_type=pool.machine_type,
        accelerator=product.gke_accelerator,
        gpu_count=pool.gpu_count,
        min_nodes=pool.min_nodes,
        max_nodes=pool.max_nodes,
        disk_size_gb=pool.disk_size_gb,
        spot=pool.spot,
        partition_size=cfg.gpu.mig_profile if cfg.gpu.mig_strategy == "single" else None,
        time_sharing_clients=cfg.gpu.time_slicing_replicas,
    )


def label_value(value: str) -> str:
    """A GCP label value: lowercase letters, digits, '-' and '_', at most 63 characters."""
    return re.sub(r"[^a-z0-9_-]", "-", value.lower())[:63]


def service_annotations(cfg: PlatformConfig) -> dict[str, str]:
    """Keep a LoadBalancer Service inside the VPC unless a public one is asked for."""
    svc = cfg.triton.service
    if svc.type == "LoadBalancer" and svc.internal:
        return {INTERNAL_LB_ANNOTATION: "Internal"}
    return {}


def provision(cfg: PlatformConfig, base_dir: Path) -> CloudPlatform:
    """GKE, the GCS bucket and the Workload Identity bindings for ``cfg``."""
    stack = pulumi.get_stack()
    provider = gcp_provider(cfg, stack)
    kubeconfig_file = kubeconfig_path(base_dir, "gke", cfg.cluster.name)
    cluster = gke_cluster(cfg, provider, kubeconfig_file)
    bucket = model_bucket(cfg, stack, provider)
    identity = workload_identity(cfg, stack, provider, cluster, bucket)
    return CloudPlatform(
        cluster=ClusterBinding.of(cluster, kubeconfig_path=kubeconfig_file, ready=cluster.ready, gke=True),
        storage=storage_binding(cfg, bucket, identity),
        outputs={
            "project": cfg.cluster.project,
            "location": cfg.cluster.location,
            "bucket": bucket.name,
            "tritonServiceAccount": identity.triton_email,
            "builderServiceAccount": identity.builder_email,
            "nodeServiceAccount": cluster.node_service_account,
            "workloadPool": cluster.workload_pool,
        },
        service_annotations=service_annotations(cfg),
        gateway_annotations=service_annotations(gateway_exposure(cfg)),
    )


def project_and_location(cfg: PlatformConfig) -> tuple[str, str]:
    """The project and the region or zone of the cluster (``cluster.project``, ``cluster.location``)."""
    c = cfg.cluster
    # parse_config guarantees both for cloud 'gcp' (and their forms, through triton_platform.config.rules.gcp).
    assert c.project is not None
    assert c.location is not None
    return c.project, c.location


def gcp_provider(cfg: PlatformConfig, stack: str) -> gcp.Provider:
    """The one gcp.Provider every GCP component gets: the project, region, zone and default labels."""
    project, location = project_and_location(cfg)
    return gcp.Provider(
        "gcp",
        project=project,
        region=region_of(location),
        zone=location if is_zone(location) else None,
        default_labels={"app": "triton-platform", "stack": label_value(stack)},
    )


def gke_cluster(cfg: PlatformConfig, provider: gcp.Provider, kubeconfig_file: str) -> GkeCluster:
    """The GKE cluster: network, control plane, system and GPU pools, and who may reach its API."""
    c = cfg.cluster
    project, location = project_and_location(cfg)
    return GkeCluster(
        c.name,
        GkeClusterArgs(
            provider=provider,
            project=project,
            location=location,
            cluster_name=c.name,
            kubernetes_version=c.kubernetes_version,
            system_pool=system_pool_spec(cfg),
            gpu_pool=gpu_pool_spec(cfg),
            kubeconfig_path=kubeconfig_file,
            master_authorized_networks=list(c.api_access_cidrs or []),
            private_endpoint=c.private_endpoint,
            # cluster.access: project IAM roles for the CI service accounts and people.
            admins=list(c.access.admins),
            viewers=list(c.access.viewers),
        ),
    )


def model_bucket(cfg: PlatformConfig, stack: str, provider: gcp.Provider) -> GcsModelBucket:
    """The GCS model bucket, in the cluster's region."""
    project, location = project_and_location(cfg)
    repo = cfg.model_repository
    return GcsModelBucket(
        f"{stack}-model-repository",
        GcsModelBucketArgs(
            provider=provider,
            project=project,
            location=region_of(location),
            bucket_name=repo.bucket,
            name_prefix=cfg.cluster.name,
            retain_on_delete=repo.retain_on_delete,
        ),
    )


def workload_identity(
    cfg: PlatformConfig, stack: str, provider: gcp.Provider, cluster: GkeCluster, bucket: GcsModelBucket
) -> GkeWorkloadIdentity:
    """Google service accounts for Triton (reads) and the engine builder (writes the cache), bound to theirs."""
    project, _location = project_and_location(cfg)
    repo = cfg.model_repository
    return GkeWorkloadIdentity(
        f"{stack}-identity",
        GkeWorkloadIdentityArgs(
            provider=provider,
            project=project,
            workload_pool=cluster.workload_pool,
            bucket=bucket.name,
            prefix=repo.prefix,
            cache_prefix=cfg.publisher.cache_prefix,
            # Canary pods read each release's own repository under <cache>/releases/served.
            release_locations_root=locations_root(cfg),
            namespace=cfg.triton.namespace,
            triton_service_account=TRITON_SERVICE_ACCOUNT,
            builder_service_account=BUILDER_SERVICE_ACCOUNT,
            account_base=cfg.cluster.name,
            static_keys=repo.static_keys,
        ),
    )


def locations_root(cfg: PlatformConfig) -> str | None:
    """``<cache>/releases/served`` when releases roll out as canaries (Triton reads there), else None."""
    if cfg.triton.rollout.strategy != "canary":
        return None
    return release_locations_root(cfg.publisher.cache_prefix)


def publisher_store(cfg: PlatformConfig, bucket: GcsModelBucket) -> pulumi.Output[StoreRef]:
    """What the publisher gets: the bucket and prefixes.

    It uploads with the operator's own gcloud Application Default Credentials (credentials
    source "environment"), at apply time: no key is ever an input.
    """
    return bucket.name.apply(
        lambda b: StoreRef(
            kind="gcs",
            bucket=b,
            prefix=cfg.model_repository.prefix,
            cache_prefix=cfg.publisher.cache_prefix,
            credentials=CredentialsRef(source="environment"),
        )
    )


def storage_binding(cfg: PlatformConfig, bucket: GcsModelBucket, identity: GkeWorkloadIdentity) -> StorageBinding:
    """How Triton (Workload Identity, or opted-in HMAC keys), the engine builder and the publisher reach the bucket."""
    prefix, root = cfg.model_repository.prefix, locations_root(cfg)
    binding = StorageBinding(
        repository_uri=pulumi.Output.concat("gs://", bucket.name, "/", prefix),
        # gs://<bucket>/<cache>/releases/served (canary): Workload Identity's condition admits it.
        locations_root_uri=pulumi.Output.concat("gs://", bucket.name, "/", root) if root else None,
        location_values=(lambda _key: {}) if root else None,
        publisher_store=publisher_store(cfg, bucket),
        service_account_annotations=identity.triton_annotations,
        builder_service_account_annotations=identity.builder_annotations,
        ready=[bucket.bucket, *identity.ready],
    )
    if not cfg.model_repository.static_keys or identity.hmac_access_id is None or identity.hmac_secret is None:
        return binding
    # Opted in: Triton reads the bucket through GCS's S3 API with HMAC keys from a Secret.
    xml_api = pulumi.Output.concat("s3://", GCS_S3_ENDPOINT, "/", bucket.name)
    return replace(
        binding,
        repository_uri=pulumi.Output.concat(xml_api, "/", prefix),
        # HMAC requests are authorized by the same bindings, the canary condition included.
        locations_root_uri=pulumi.Output.concat(xml_api, "/", root) if root else None,
        # GCS signs SigV4 requests with region "auto".
        env={"AWS_DEFAULT_REGION": "auto"},
        credentials_env={"AWS_ACCESS_KEY_ID": identity.hmac_access_id, "AWS_SECRET_ACCESS_KEY": identity.hmac_secret},
        service_account_annotations={},
    )
