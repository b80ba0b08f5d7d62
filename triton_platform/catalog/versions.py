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
MINIO = ChartPin(chart="minio", version="5.4.0", repo="https://charts.min.io/")
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

TRITON_IMAGE_REPOSITORY = "nvcr.io/nvidia/tritonserver"
TENSORRT_IMAGE_REPOSITORY = "nvcr.io/nvidia/tensorrt"
KIND_NODE_IMAGE = "kindest/node:v1.31.4"
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
