"""What the comment may print: resource types it knows and the allow-listed fields of each.

Type tokens are the providers' own (the string each SDK class passes to its constructor,
e.g. ``'aws:eks/nodeGroup:NodeGroup'`` in pulumi_aws/eks/node_group.py); field paths use the
wire (camelCase) names the engine records in a step's inputs (``@pulumi.getter(name=...)``
in the same SDKs). tests/triton_platform/preview/test_fields.py checks every one against the installed SDKs.
Nothing outside these lists is ever printed: no other input or output value appears.
"""

from __future__ import annotations

from pulumi.runtime import rpc

# The ModelVersion dynamic resource: pulumi.dynamic.Resource.__init_subclass__ makes the type
# "dynamic/<module>:<name>" and __init__ prefixes "pulumi-python:" (pulumi/dynamic/dynamic.py).
MODEL_VERSION = "pulumi-python:dynamic/triton:ModelVersion"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

# Resources whose replacement or deletion destroys data (models in a bucket/container).
DATA_TYPES = {
    "aws:s3/bucket:Bucket": "S3 bucket",
    "aws:s3/bucketV2:BucketV2": "S3 bucket",
    "gcp:storage/bucket:Bucket": "GCS bucket",
    "azure-native:storage:StorageAccount": "storage account",
    "azure-native:storage:BlobContainer": "blob container",
}
# Resources whose replacement or deletion destroys capacity (the cluster, its node pools).
CAPACITY_TYPES = {
    "aws:eks/cluster:Cluster": "EKS cluster",
    "gcp:container/cluster:Cluster": "GKE cluster",
    "azure-native:containerservice:ManagedCluster": "AKS cluster",
    "aws:eks/nodeGroup:NodeGroup": "EKS node group",
    "gcp:container/nodePool:NodePool": "GKE node pool",
    "azure-native:containerservice:AgentPool": "AKS agent pool",
}
NODE_POOL_TYPES = (
    "aws:eks/nodeGroup:NodeGroup",
    "gcp:container/nodePool:NodePool",
    "azure-native:containerservice:AgentPool",
)

# Allow-listed input paths per type, with the label the comment uses. Paths: dots for maps,
# ["a.b"] for a map key holding dots, [0] for a list element (GKE: one guest accelerator entry).
GPU_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    # pulumi_aws/eks/node_group.py: instanceTypes, scalingConfig{desiredSize,minSize,maxSize}, taints
    "aws:eks/nodeGroup:NodeGroup": (
        ("instanceTypes", "machine type"),
        ("scalingConfig.minSize", "min nodes"),
        ("scalingConfig.maxSize", "max nodes"),
        ("scalingConfig.desiredSize", "desired nodes"),
        ("capacityType", "capacity"),
        # mig-manager's layout label on the pool (triton_platform/catalog/gpu.py MIG_CONFIG_LABEL).
        ('labels["nvidia.com/mig.config"]', "MIG layout"),
        ("taints", "taints"),
    ),
    # pulumi_gcp/container/node_pool.py: nodeConfig{machineType, guestAccelerators[{type,count,
    # gpuPartitionSize}], taints}, autoscaling{totalMinNodeCount,totalMaxNodeCount,...}, nodeCount
    "gcp:container/nodePool:NodePool": (
        ("nodeConfig.machineType", "machine type"),
        ("nodeConfig.guestAccelerators[0].type", "accelerator"),
        ("nodeConfig.guestAccelerators[0].count", "GPUs per node"),
        ("nodeConfig.guestAccelerators[0].gpuPartitionSize", "MIG partition"),
        ("autoscaling.totalMinNodeCount", "min nodes"),
        ("autoscaling.totalMaxNodeCount", "max nodes"),
        ("autoscaling.minNodeCount", "min nodes per zone"),
        ("autoscaling.maxNodeCount", "max nodes per zone"),
        ("nodeCount", "nodes"),
        ("nodeConfig.spot", "spot"),
        ("nodeConfig.taints", "taints"),
    ),
    # pulumi_azure_native/containerservice/agent_pool.py: vmSize, count, minCount, maxCount,
    # gpuInstanceProfile (MIG1g...), nodeTaints
    "azure-native:containerservice:AgentPool": (
        ("vmSize", "machine type"),
        ("minCount", "min nodes"),
        ("maxCount", "max nodes"),
        ("count", "nodes"),
        ("gpuInstanceProfile", "MIG profile"),
        ("nodeTaints", "taints"),
    ),
    # Cluster versions: pulumi_aws/eks/cluster.py version, pulumi_gcp/container/cluster.py
    # minMasterVersion, pulumi_azure_native/containerservice/managed_cluster.py kubernetesVersion.
    "aws:eks/cluster:Cluster": (("version", "Kubernetes"),),
    "gcp:container/cluster:Cluster": (("minMasterVersion", "Kubernetes"),),
    "azure-native:containerservice:ManagedCluster": (("kubernetesVersion", "Kubernetes"),),
}
# Helm releases (pulumi_kubernetes/helm/v3/Release.py: chart, version, values). The values paths
# are our charts' keys: charts/triton-inference-server/values.yaml (replicaCount, image, service,
# autoscaling, gpu.resources) and the gpu-operator chart's mig.strategy / migManager.config.default
# (what components/gpu/gpu_operator.py sets). The MIG layout itself is the GPU pool's
# nvidia.com/mig.config label (node group fields above); the operator's default is always all-disabled.
RELEASE_FIELDS: tuple[tuple[str, str], ...] = (
    ("chart", "chart"),
    ("version", "chart version"),
    ("values.replicaCount", "Triton replicas"),
    ("values.autoscaling.minReplicas", "min replicas"),
    ("values.autoscaling.maxReplicas", "max replicas"),
    ("values.image.repository", "image"),
    ("values.image.tag", "image tag"),
    ("values.service.type", "service type"),
    ("values.gpu.resources", "GPU request"),
    ("values.mig.strategy", "MIG strategy"),
    ("values.migManager.config.default", "mig-manager default layout"),
)

# ModelVersion props (components/providers/model_version.py ModelVersionArgs.props and OUTPUT_KEYS).
MV_FINGERPRINT = "source_fingerprint"
MV_RELEASE = "ngc_release"
MV_TENSORRT = "tensorrt_version"
MV_CCS = "compute_capabilities"
MV_VERSION = "version"
# spec keys (camelCase, ModelSpec by_alias) that change a TensorRT engine: the fields of
# triton_platform.publisher.fingerprint.build_options (calibrationCache stands for its sha256).
BUILD_OPTION_KEYS = ("precision", "maxBatchSize", "shapes", "workspaceMb", "hardwareCompatibility", "calibrationCache")
# Build options whose values may be printed (the others print as "changed" only).
PRINTABLE_BUILD_OPTIONS = ("precision", "maxBatchSize", "workspaceMb", "hardwareCompatibility")
# Spec keys that change only config.pbtxt or serving: named when they change, values never printed.
SPEC_SERVING_KEYS = (
    "format",
    "instanceCount",
    "instanceKind",
    "dynamicBatching",
    "cudaGraphs",
    "versionPolicy",
    "signature",
    "source",
)

SECRET = "[secret]"  # noqa: S105 - the mask Pulumi prints, not a password
UNKNOWN_TEXT = "(known after apply)"
# How a secret looks in an event log: the blinded "[secret]" string, or the serialized secret
# object {<sig key>: <secret sig>, ...} (pulumi/runtime/rpc.py's _special_sig_key/_special_secret_sig).
SIG_KEY = rpc._special_sig_key
SECRET_SIG = rpc._special_secret_sig
UNKNOWN = rpc.UNKNOWN
