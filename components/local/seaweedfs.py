"""SeaweedFs: the dev stack's S3-compatible model bucket, in the cluster, with generated keys.

SeaweedFS's own chart (k8s/charts/seaweedfs of seaweedfs/seaweedfs, pinned in
triton_platform.catalog.versions) runs it all-in-one: one pod holding the master, a volume
server, the filer and the S3 gateway, with its data on a PersistentVolumeClaim. Its S3 keys come
from pulumi-random and live only in a Kubernetes Secret (and Pulumi state, encrypted): the chart
mounts that Secret as the S3 gateway's identity file (``allInOne.s3.existingConfigSecret``; the
publisher and Triton read the two keys from the same Secret). The chart's bucket hook creates the
bucket. The S3 API is a NodePort that kind publishes on 127.0.0.1 for the publisher.

Why not MinIO any more: its community edition is source-only since 2025-10 (no images for new
releases, minio/minio#21647) and its repository is archived; SeaweedFS is Apache-2.0 and releases
server, images and chart together.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import kubernetes_objects
from components.base import ComponentArgs, pinned_chart_release
from triton_platform.catalog.versions import SEAWEEDFS, SEAWEEDFS_IMAGE_TAG, ChartPin

CREDENTIALS_SECRET = "seaweedfs-s3"  # noqa: S105 - the Secret's name, not a password
# Keys of that Secret: the two S3 keys (what the publisher and Triton read) and the gateway's
# identity file, the key the chart mounts (values.yaml: "should have a secret key called
# seaweedfs_s3_config with an inline json config").
ACCESS_KEY_FIELD = "accessKey"
SECRET_KEY_FIELD = "secretKey"  # noqa: S105 - a key name, not a value
CONFIG_FIELD = "seaweedfs_s3_config"
# The chart's S3 port and its all-in-one Service (fullnameOverride "seaweedfs" + "-all-in-one").
S3_PORT = 8333
SERVICE = "seaweedfs-all-in-one"


def s3_identities(access_key: str, secret_key: str) -> str:
    """The S3 gateway's identity file: one identity with these keys, allowed everything.

    Format of SeaweedFS's ``-s3.config`` (weed/s3api/auth_credentials.go; the chart's s3-secret
    template writes the same shape): ``{"identities": [{"name", "credentials": [{"accessKey",
    "secretKey"}], "actions": [...]}]}``.
    """
    identity = {
        "name": "triton-platform",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    return json.dumps({"identities": [identity]}, sort_keys=True)


class SeaweedFsArgs(ComponentArgs):
    k8s_provider: pulumi.ProviderResource
    bucket: str
    namespace: str = "seaweedfs"
    node_port: int = 30900
    host_port: int = 9000
    storage_size: str = "10Gi"
    # Requests that fit the dev stack's 4-CPU, 8 GB Docker VM (the chart asks 500m / 1Gi); the
    # limit keeps a runaway gateway from taking the VM.
    cpu_request: str = "100m"
    memory_request: str = "256Mi"
    memory_limit: str = "1Gi"
    chart: ChartPin = SEAWEEDFS
    image_tag: str = SEAWEEDFS_IMAGE_TAG


def chart_values(args: SeaweedFsArgs) -> dict[str, object]:
    """The chart's values: all-in-one, S3 with our identity Secret, the bucket, a NodePort."""
    return {
        "fullnameOverride": "seaweedfs",
        "image": {"tag": args.image_tag},
        # All-in-one replaces the separate master, volume and filer StatefulSets.
        "master": {"enabled": False},
        "volume": {"enabled": False},
        "filer": {"enabled": False},
        "allInOne": {
            "enabled": True,
            "s3": {
                "enabled": True,
                "enableAuth": True,
                "existingConfigSecret": CREDENTIALS_SECRET,
                "createBuckets": [{"name": args.bucket, "anonymousRead": False}],
            },
            "service": {"type": "NodePort", "nodePorts": {"s3": args.node_port}},
            "data": {"type": "persistentVolumeClaim", "size": args.storage_size},
            # One node: the chart's default anti-affinity has nothing to spread over.
            "affinity": "",
            # Off: the Iceberg and Lance catalogs `weed server -s3` opens by default (weed 4.44's
            # flags; "0 to disable"). The dev stack needs the S3 API only.
            "extraArgs": ["-s3.port.iceberg=0", "-s3.port.lance=0"],
            "resources": {
                "requests": {"cpu": args.cpu_request, "memory": args.memory_request},
                "limits": {"memory": args.memory_limit},
            },
        },
    }


class SeaweedFs(pulumi.ComponentResource):
    """A SeaweedFS release, its S3 keys' Secret and the model bucket."""

    namespace: pulumi.Output[str]
    bucket: pulumi.Output[str]
    access_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]
    cluster_endpoint: pulumi.Output[str]
    host_endpoint: pulumi.Output[str]
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: SeaweedFsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:local:SeaweedFs", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        ns = kubernetes_objects.Namespace(
            f"{name}-ns",
            metadata=kubernetes_objects.object_meta(
                name=args.namespace, labels={"app.kubernetes.io/part-of": "triton-platform"}
            ),
            opts=child,
        )
        access = random.RandomString(
            f"{name}-access-key", length=20, special=False, upper=False, opts=pulumi.ResourceOptions(parent=self)
        )
        secret = random.RandomPassword(
            f"{name}-secret-key", length=40, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        self.access_key = pulumi.Output.secret(access.result)
        self.secret_key = pulumi.Output.secret(secret.result)
        keys = kubernetes_objects.Secret(
            f"{name}-s3-keys",
            metadata=kubernetes_objects.object_meta(name=CREDENTIALS_SECRET, namespace=ns.metadata["name"]),
            string_data={
                ACCESS_KEY_FIELD: self.access_key,
                SECRET_KEY_FIELD: self.secret_key,
                # Output.all of secrets is secret: so is the file that holds both keys.
                CONFIG_FIELD: pulumi.Output.all(self.access_key, self.secret_key).apply(
                    lambda k: s3_identities(k[0], k[1])
                ),
            },
            type="Opaque",
            opts=child,
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            pinned_chart_release(
                args.chart,
                name="seaweedfs",
                namespace=ns.metadata["name"],
                values=chart_values(args),
                # The bucket hook (a post-install Job) runs before the release counts as done.
                wait_for_jobs=True,
                timeout=600,
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, depends_on=[keys]),
        )
        self.namespace = ns.metadata["name"]
        # The bucket exists once the release (and its bucket hook) is done.
        self.bucket = self.release.name.apply(lambda _: args.bucket)
        self.cluster_endpoint = ns.metadata["name"].apply(lambda n: f"http://{SERVICE}.{n}.svc.cluster.local:{S3_PORT}")
        self.host_endpoint = pulumi.Output.from_input(f"http://127.0.0.1:{args.host_port}")
        self.register_outputs(
            {
                "namespace": self.namespace,
                "bucket": self.bucket,
                "clusterEndpoint": self.cluster_endpoint,
                "hostEndpoint": self.host_endpoint,
            }
        )
