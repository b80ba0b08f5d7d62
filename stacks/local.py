"""The dev stack (cloud ``local``): kind + SeaweedFS (S3) + Prometheus operator + CPU Triton.

Everything runs on the machine that runs ``pulumi up``: the kind node (the image of
``cluster.kubernetesVersion``, by digest) publishes Triton's and the S3 server's NodePorts on
127.0.0.1, and gets Triton's image pulled in before Triton's release starts. The publisher
uploads to SeaweedFS through that port with the S3 keys read from the cluster Secret (never a
resource input), and Triton reads the bucket in-cluster through a Secret in its namespace. The
``local`` defaults (a Kubernetes version kind ships, requests that fit a 4-CPU, 8 GB Docker VM)
are triton_platform.clouds.kind.LOCAL_DEFAULTS, applied when the config is read.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from components.local.kind_cluster import KindCluster, KindClusterArgs
from components.local.seaweedfs import (
    ACCESS_KEY_FIELD,
    CREDENTIALS_SECRET,
    S3_PORT,
    SECRET_KEY_FIELD,
    SERVICE,
    SeaweedFs,
    SeaweedFsArgs,
)
from stacks.common import CloudPlatform, ClusterBinding, StorageBinding, kubeconfig_path
from triton_platform.catalog.versions import triton_image
from triton_platform.clouds.kind import PortMapping, node_image
from triton_platform.config import NodePorts, PlatformConfig
from triton_platform.publisher.stores import CredentialsRef, StoreRef
from triton_platform.publisher.stores.ref import release_locations_root

DEFAULT_BUCKET = "triton-models"
S3_NODE_PORT = 30900
S3_HOST_PORT = 9000
REGION = "us-east-1"  # SeaweedFS ignores it; the AWS SDKs in Triton and boto3 need one.
# The KindCluster child that pulls Triton's image into the node ("<cluster>-triton-image").
TRITON_IMAGE_PULL = "triton-image"


def provision(cfg: PlatformConfig, base_dir: Path) -> CloudPlatform:
    """kind + SeaweedFS: the cluster and the bucket of the dev stack."""
    stack = pulumi.get_stack()
    svc = cfg.triton.service
    kubeconfig_file = kubeconfig_path(base_dir, "kind", cfg.cluster.name)
    cluster = kind_cluster(cfg, base_dir, kubeconfig_file)
    bucket = cfg.model_repository.bucket or DEFAULT_BUCKET
    s3 = SeaweedFs(
        f"{stack}-s3",
        SeaweedFsArgs(k8s_provider=cluster.provider, bucket=bucket, node_port=S3_NODE_PORT, host_port=S3_HOST_PORT),
    )
    return CloudPlatform(
        cluster=ClusterBinding.of(
            cluster, kubeconfig_path=kubeconfig_file, serving_ready=list(cluster.preloaded.values())
        ),
        storage=storage_binding(cfg, cluster, s3, bucket),
        outputs={"bucket": bucket, "s3Endpoint": s3.host_endpoint},
        # kind publishes Triton's NodePorts on 127.0.0.1: reach it from this machine there.
        endpoint_overrides={
            "tritonHttp": f"http://127.0.0.1:{svc.http_port}",
            "tritonGrpc": f"127.0.0.1:{svc.grpc_port}",
            "tritonMetrics": f"http://127.0.0.1:{svc.metrics_port}/metrics",
        },
    )


def kind_node_image(cfg: PlatformConfig) -> str:
    """``cluster.kind.nodeImage``, else the pinned image of ``cluster.kubernetesVersion``.

    The config rules (triton_platform.config.rules.local) have refused a version without one.
    """
    image = cfg.cluster.kind.node_image or node_image(cfg.cluster.kubernetes_version)
    if image is None:
        raise ValueError(f"no kind node image for Kubernetes {cfg.cluster.kubernetes_version}")
    return image


def kind_cluster(cfg: PlatformConfig, base_dir: Path, kubeconfig_file: str) -> KindCluster:
    """The kind cluster, publishing Triton's and the S3 server's NodePorts on 127.0.0.1."""
    svc = cfg.triton.service
    node_ports = svc.node_ports or NodePorts()
    host_dir = cfg.cluster.kind.host_model_dir
    return KindCluster(
        cfg.cluster.name,
        KindClusterArgs(
            cluster_name=cfg.cluster.name,
            node_image=kind_node_image(cfg),
            kubeconfig_path=kubeconfig_file,
            host_model_dir=str((base_dir / host_dir).resolve()) if host_dir else None,
            port_mappings=[
                PortMapping("triton-http", node_ports.http, svc.http_port),
                PortMapping("triton-grpc", node_ports.grpc, svc.grpc_port),
                PortMapping("triton-metrics", node_ports.metrics, svc.metrics_port),
                PortMapping("s3", S3_NODE_PORT, S3_HOST_PORT),
            ],
            preload_images={TRITON_IMAGE_PULL: triton_image(cfg.triton.version)},
        ),
    )


def store_ref(cfg: PlatformConfig, bucket: str, s3_namespace: str, kubeconfig_file: str) -> StoreRef:
    """What the publisher gets: the bucket, its two endpoints and where its S3 keys are."""
    return StoreRef(
        kind="s3",
        bucket=bucket,
        prefix=cfg.model_repository.prefix,
        cache_prefix=cfg.publisher.cache_prefix,
        # The publisher on this machine reaches SeaweedFS through kind's port mapping; pods
        # (the engine-build Job) through its Service.
        endpoint_url=f"http://127.0.0.1:{S3_HOST_PORT}",
        cluster_endpoint_url=cluster_endpoint(s3_namespace),
        region=REGION,
        # Where the publisher finds the S3 keys at apply time: never the keys themselves.
        credentials=CredentialsRef(
            source="kubernetes-secret",
            kubeconfig_path=kubeconfig_file,
            kind_cluster=cfg.cluster.name,
            namespace=s3_namespace,
            name=CREDENTIALS_SECRET,
            access_key_field=ACCESS_KEY_FIELD,
            secret_key_field=SECRET_KEY_FIELD,
        ),
    )


def cluster_endpoint(s3_namespace: str) -> str:
    """SeaweedFS's S3 gateway as pods reach it (the chart's all-in-one Service)."""
    return f"http://{SERVICE}.{s3_namespace}.svc.cluster.local:{S3_PORT}"


def storage_binding(cfg: PlatformConfig, cluster: KindCluster, s3: SeaweedFs, bucket: str) -> StorageBinding:
    """How Triton (in-cluster, keys from a Secret) and the publisher (through 127.0.0.1) reach SeaweedFS."""
    prefix = cfg.model_repository.prefix
    # Canary: releases are served from <cache>/releases/served/<hex>. SeaweedFS's one S3 identity
    # (components/local/seaweedfs.py s3_identities) may read the whole bucket: nothing to grant.
    root = release_locations_root(cfg.publisher.cache_prefix) if cfg.triton.rollout.strategy == "canary" else None
    # The store waits for this run's kubeconfig file (written on every machine that runs the
    # program); kind_cluster lets a delete elsewhere get the kubeconfig from `kind` instead.
    store = pulumi.Output.all(s3.namespace, cluster.kubeconfig_file).apply(
        lambda a: store_ref(cfg, bucket, s3_namespace=a[0], kubeconfig_file=a[1])
    )
    return StorageBinding(
        # Triton's S3 client: s3://http://<host>:<port>/<bucket>/<prefix> for an S3-compatible server.
        repository_uri=s3.namespace.apply(lambda ns: f"s3://{cluster_endpoint(ns)}/{bucket}/{prefix}"),
        locations_root_uri=s3.namespace.apply(lambda ns: f"s3://{cluster_endpoint(ns)}/{bucket}/{root}")
        if root
        else None,
        location_values=(lambda _key: {}) if root else None,
        publisher_store=store,
        env={"AWS_DEFAULT_REGION": REGION},
        credentials_env={"AWS_ACCESS_KEY_ID": s3.access_key, "AWS_SECRET_ACCESS_KEY": s3.secret_key},
        ready=[s3.release],
    )
