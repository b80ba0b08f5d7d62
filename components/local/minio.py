"""Minio: the dev stack's S3-compatible model bucket, in the cluster, with generated root keys.

MinIO's official chart runs it standalone; its root credentials come from pulumi-random and
live only in a Kubernetes Secret (and Pulumi state, encrypted). The bucket is created by the
chart's bucket job. The API is a NodePort that kind publishes on 127.0.0.1 for the publisher.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.base import ComponentArgs, pinned_chart_release
from triton_platform.catalog.versions import MINIO, ChartPin

ROOT_SECRET = "minio-root"  # noqa: S105 - the Secret's name, not a password


class MinioArgs(ComponentArgs):
    k8s_provider: pulumi.ProviderResource
    bucket: str
    namespace: str = "minio"
    node_port: int = 30900
    host_port: int = 9000
    storage_size: str = "10Gi"
    chart: ChartPin = MINIO


class Minio(pulumi.ComponentResource):
    """A MinIO release, its root Secret and the model bucket."""

    namespace: pulumi.Output[str]
    bucket: pulumi.Output[str]
    root_user: pulumi.Output[str]
    root_password: pulumi.Output[str]
    cluster_endpoint: pulumi.Output[str]
    host_endpoint: pulumi.Output[str]
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: MinioArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:local:Minio", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        ns = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace, labels={"app.kubernetes.io/part-of": "triton-platform"}
            ),
            opts=child,
        )
        user = random.RandomString(
            f"{name}-root-user", length=16, special=False, upper=False, opts=pulumi.ResourceOptions(parent=self)
        )
        password = random.RandomPassword(
            f"{name}-root-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        self.root_user = pulumi.Output.secret(user.result)
        self.root_password = pulumi.Output.secret(password.result)
        secret = k8s.core.v1.Secret(
            f"{name}-root",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ROOT_SECRET, namespace=ns.metadata.name),
            # The chart reads these two keys from existingSecret.
            string_data={"rootUser": self.root_user, "rootPassword": self.root_password},
            type="Opaque",
            opts=child,
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            pinned_chart_release(
                args.chart,
                name="minio",
                namespace=ns.metadata.name,
                values={
                    "fullnameOverride": "minio",
                    "mode": "standalone",
                    "replicas": 1,
                    "existingSecret": ROOT_SECRET,
                    "persistence": {"enabled": True, "size": args.storage_size},
                    "resources": {"requests": {"memory": "512Mi", "cpu": "250m"}, "limits": {"memory": "1Gi"}},
                    "service": {"type": "NodePort", "port": 9000, "nodePort": args.node_port},
                    "consoleService": {"type": "ClusterIP"},
                    "buckets": [{"name": args.bucket, "policy": "none", "purge": False, "versioning": False}],
                    "users": [],
                    "policies": [],
                },
                wait_for_jobs=True,
                timeout=600,
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, depends_on=[secret]),
        )
        self.namespace = ns.metadata.name
        # The bucket exists once the release (and its bucket job) is done.
        self.bucket = self.release.name.apply(lambda _: args.bucket)
        self.cluster_endpoint = ns.metadata.name.apply(lambda n: f"http://minio.{n}.svc.cluster.local:9000")
        self.host_endpoint = pulumi.Output.from_input(f"http://127.0.0.1:{args.host_port}")
        self.register_outputs(
            {
                "namespace": self.namespace,
                "bucket": self.bucket,
                "clusterEndpoint": self.cluster_endpoint,
                "hostEndpoint": self.host_endpoint,
            }
        )
