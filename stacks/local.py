"""The dev stack (cloud ``local``): kind + MinIO + Prometheus operator + CPU Triton.

Everything runs on the machine that runs ``pulumi up``: the kind node publishes Triton's and
MinIO's NodePorts on 127.0.0.1, the publisher uploads to MinIO through that port with MinIO's
root credentials read from the cluster Secret (never a resource input), and Triton reads the
bucket in-cluster through a Secret in its namespace.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from components.local.kind_cluster import KindCluster, KindClusterArgs
from components.local.minio import ROOT_SECRET, Minio, MinioArgs
from stacks.common import CloudPlatform, ClusterBinding, StorageBinding, kubeconfig_path
from triton_platform.catalog.versions import KIND_NODE_IMAGE
from triton_platform.clouds.kind import PortMapping
from triton_platform.config.schema import NodePorts, PlatformConfig

DEFAULT_BUCKET = "triton-models"
MINIO_NODE_PORT = 30900
MINIO_HOST_PORT = 9000
REGION = "us-east-1"  # MinIO ignores it; the AWS SDKs in Triton and boto3 need one.


def provision(cfg: PlatformConfig, base_dir: Path) -> CloudPlatform:
    """kind + MinIO: the cluster and the bucket of the dev stack."""
    stack = pulumi.get_stack()
    svc = cfg.triton.service
    node_ports = svc.node_ports or NodePorts()
    kubeconfig_file = kubeconfig_path(base_dir, "kind", cfg.cluster.name)
    host_dir = cfg.cluster.kind.host_model_dir
    cluster = KindCluster(
        cfg.cluster.name,
        KindClusterArgs(
            cluster_name=cfg.cluster.name,
            node_image=cfg.cluster.kind.node_image or KIND_NODE_IMAGE,
            kubeconfig_path=kubeconfig_file,
            host_model_dir=str((base_dir / host_dir).resolve()) if host_dir else None,
            port_mappings=[
                PortMapping("triton-http", node_ports.http, svc.http_port),
                PortMapping("triton-grpc", node_ports.grpc, svc.grpc_port),
                PortMapping("triton-metrics", node_ports.metrics, svc.metrics_port),
                PortMapping("minio", MINIO_NODE_PORT, MINIO_HOST_PORT),
            ],
        ),
    )
    bucket = cfg.model_repository.bucket or DEFAULT_BUCKET
    prefix = cfg.model_repository.prefix
    minio = Minio(
        f"{stack}-minio",
        MinioArgs(k8s_provider=cluster.provider, bucket=bucket, node_port=MINIO_NODE_PORT, host_port=MINIO_HOST_PORT),
    )
    storage = StorageBinding(
        repository_uri=minio.namespace.apply(
            lambda ns: f"s3://http://minio.{ns}.svc.cluster.local:9000/{bucket}/{prefix}"
        ),
        # The store waits for this run's kubeconfig file (written on every machine that runs the
        # program); kind_cluster lets a delete elsewhere get the kubeconfig from `kind` instead.
        publisher_store=pulumi.Output.all(minio.namespace, cluster.kubeconfig_file).apply(
            lambda a: {
                "kind": "s3",
                "bucket": bucket,
                "prefix": prefix,
                "cache_prefix": cfg.publisher.cache_prefix,
                # The publisher on this machine reaches MinIO through kind's port mapping; pods
                # (the engine-build Job) through its Service.
                "endpoint_url": f"http://127.0.0.1:{MINIO_HOST_PORT}",
                "cluster_endpoint_url": f"http://minio.{a[0]}.svc.cluster.local:9000",
                "region": REGION,
                # Where the publisher finds MinIO's keys at apply time: never the keys themselves.
                "credentials": {
                    "source": "kubernetes-secret",
                    "kubeconfig_path": a[1],
                    "kind_cluster": cfg.cluster.name,
                    "namespace": a[0],
                    "name": ROOT_SECRET,
                    "access_key_field": "rootUser",
                    "secret_key_field": "rootPassword",
                },
            }
        ),
        env={"AWS_DEFAULT_REGION": REGION},
        credentials_env={"AWS_ACCESS_KEY_ID": minio.root_user, "AWS_SECRET_ACCESS_KEY": minio.root_password},
        ready=[minio.release],
    )
    return CloudPlatform(
        cluster=ClusterBinding.of(
            cluster,
            kubeconfig_path=kubeconfig_file,
        ),
        storage=storage,
        outputs={"bucket": bucket, "minioEndpoint": minio.host_endpoint},
        # kind publishes Triton's NodePorts on 127.0.0.1: reach it from this machine there.
        endpoint_overrides={
            "tritonHttp": f"http://127.0.0.1:{svc.http_port}",
            "tritonGrpc": f"127.0.0.1:{svc.grpc_port}",
            "tritonMetrics": f"http://127.0.0.1:{svc.metrics_port}/metrics",
        },
    )
