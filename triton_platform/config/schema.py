"""The typed stack configuration: every ``triton-platform:`` key as a pydantic model.

Only the models, their field rules and the patterns they check. ``triton_platform.config.loading``
validates a raw configuration against ``PlatformConfig`` and the cross-key rules
(``triton_platform.config.rules``); ``triton_platform.config.errors`` turns every problem into one
``ConfigError`` naming the key, why, and a valid example.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from triton_platform.catalog import gpu
from triton_platform.catalog.versions import DEFAULT_NGC_RELEASE
from triton_platform.publisher.spec import ModelSpec

NAMESPACE = "triton-platform"
TOP_LEVEL_KEYS = (
    "cloud",
    "cluster",
    "gpu",
    "modelRepository",
    "triton",
    "monitoring",
    "models",
    "publisher",
    "release",
)

Cloud = Literal["local", "aws", "gcp", "azure"]

# The patterns fields are checked against; triton_platform.config.errors says what each one means.
DNS_LABEL = r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$"
# A Kubernetes label value (apimachinery validation.IsValidLabelValue), lowercase as mig-parted names its layouts.
MIG_CONFIG_PATTERN = r"^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$"
MIG_PROFILE_PATTERN = r"^\d+g\.\d+gb(\+me)?$"
KUBERNETES_VERSION_PATTERN = r"^1\.(2[89]|3[0-9])$"
AWS_REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d$"
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
# An object-store prefix: segments of letters, digits, '_', '.', '-' joined by '/'.
PREFIX_PATTERN = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"
CPU_PATTERN = r"^\d+(\.\d+)?m?$"
MEMORY_PATTERN = r"^\d+(Ki|Mi|Gi|Ti)$"
NGC_RELEASE_PATTERN = r"^\d{2}\.\d{2}$"
# A fully qualified Pulumi stack name <organization>/<project>/<stack>; each part "may only contain
# alphanumeric characters, hyphens, underscores, or periods" (https://www.pulumi.com/docs/iac/concepts/stacks/).
STACK_REF_PATTERN = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"


# --- cluster API access (apiAccessCidrs, aks.adminGroupObjectIds): per-entry field rules, so an
# error names the entry; the cross-key rules are in triton_platform.config.rules.access.


def ipv4_cidr(value: str) -> str:
    """One IPv4 CIDR block in canonical form, or ValueError saying what is wrong and what would do.

    IPv4 only: EKS accepts no IPv6 block for an IPv4 cluster (API reference,
    VpcConfigRequest.publicAccessCidrs), and the stacks build IPv4 clusters on every cloud.
    """
    text = value.strip()
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR block (e.g. '203.0.113.0/24')") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError(f"{value!r} is an IPv6 block; the clusters are IPv4, use an IPv4 block like '203.0.113.0/24'")
    if "/" not in text:
        raise ValueError(f"{value!r} has no prefix length; write a CIDR block, e.g. '{text}/32' for one address")
    if str(net) != text:
        raise ValueError(f"{value!r} has host bits set; the network is {str(net)!r}")
    return text


def entra_object_id(value: str) -> str:
    """An Entra ID object id (a GUID, as ``az ad group show --query id`` prints it), or ValueError."""
    if not re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", value):
        raise ValueError(f"{value!r} is not an Entra ID object id (a GUID like '00000000-0000-0000-0000-000000000000')")
    return value.lower()


Ipv4Cidr = Annotated[str, AfterValidator(ipv4_cidr)]
EntraObjectId = Annotated[str, AfterValidator(entra_object_id)]


class _Cfg(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


class GpuNodePool(_Cfg):
    machine_type: str = Field(min_length=1, examples=["p4d.24xlarge"])
    gpu_product: str = Field(min_length=1, examples=["A100-SXM4-40GB"])
    gpu_count: int = Field(default=1, ge=1, le=16, examples=[8])
    min_nodes: int = Field(default=0, ge=0, le=1000, examples=[0])
    max_nodes: int = Field(default=2, ge=1, le=1000, examples=[2])
    disk_size_gb: int = Field(default=200, ge=50, le=65_536, examples=[200])
    spot: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> GpuNodePool:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"minNodes ({self.min_nodes}) must be <= maxNodes ({self.max_nodes})")
        return self


class SystemNodePool(_Cfg):
    machine_type: str = Field(min_length=1, examples=["m6i.large"])
    min_nodes: int = Field(default=1, ge=1, le=100, examples=[1])
    max_nodes: int = Field(default=3, ge=1, le=100, examples=[3])


class KindOptions(_Cfg):
    node_image: str | None = Field(default=None, examples=["kindest/node:v1.31.4"])
    # A host directory mounted into the kind node (extraMounts) at /models.
    host_model_dir: str | None = Field(default=None, examples=["./model_repository"])


class AksOptions(_Cfg):
    # Escape hatch, off by default: keep AKS local accounts (certificate kubeconfig, Kubernetes
    # RBAC only) instead of Entra ID + Azure RBAC, for tenants where the deployer cannot be
    # granted an Azure role on the cluster.
    local_accounts: bool = Field(default=False, examples=[True])
    # Entra ID groups whose members are cluster-admin (aadProfile.adminGroupObjectIDs).
    admin_group_object_ids: list[EntraObjectId] = Field(
        default_factory=list, examples=[["00000000-0000-0000-0000-000000000000"]]
    )


class ClusterConfig(_Cfg):
    name: str = Field(pattern=DNS_LABEL, examples=["triton-dev"])
    kubernetes_version: str = Field(default="1.31", pattern=KUBERNETES_VERSION_PATTERN, examples=["1.31"])
    region: str | None = Field(default=None, pattern=AWS_REGION_PATTERN, examples=["us-east-1"])
    location: str | None = Field(default=None, min_length=2, examples=["us-central1", "westeurope"])
    resource_group: str | None = Field(default=None, examples=["triton-prod"])
    project: str | None = Field(default=None, examples=["my-gcp-project"])
    gpu_node_pool: GpuNodePool | None = None
    system_node_pool: SystemNodePool | None = None
    kind: KindOptions = Field(default_factory=KindOptions)
    # Who may reach the public Kubernetes API endpoint; left out: any address (a warning says so).
    api_access_cidrs: list[Ipv4Cidr] | None = Field(default=None, examples=[["203.0.113.0/24"]])
    # API endpoint inside the network only: `pulumi up` must then run from there.
    private_endpoint: bool = Field(default=False, examples=[True])
    aks: AksOptions = Field(default_factory=AksOptions)

    @field_validator("api_access_cidrs")
    @classmethod
    def _some_cidrs(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError(
                "lists no CIDR block; list the networks allowed to reach the API, or leave the key out "
                "for an endpoint open to any address"
            )
        return value


class GpuConfig(_Cfg):
    mig_strategy: gpu.MigStrategy = Field(default="none", examples=["single"])
    mig_profile: str | None = Field(default=None, pattern=MIG_PROFILE_PATTERN, examples=["1g.5gb"])
    # mig-manager layout label (nvidia.com/mig.config); defaults to all-<migProfile> ("+me" -> ".me").
    # A Kubernetes label value, so no '+': mig-parted names media-extension layouts all-1g.5gb.me.
    mig_config: str | None = Field(default=None, pattern=MIG_CONFIG_PATTERN, examples=["all-1g.5gb"])
    gpus_per_replica: int = Field(default=1, ge=1, le=16, examples=[1])
    time_slicing_replicas: int | None = Field(default=None, ge=2, le=48, examples=[4])

    @model_validator(mode="after")
    def _strategy(self) -> GpuConfig:
        if self.mig_strategy != "none" and self.mig_profile is None:
            raise ValueError(f"migStrategy {self.mig_strategy!r} needs migProfile, e.g. '1g.5gb'")
        if self.mig_strategy == "none" and self.mig_profile is not None:
            raise ValueError("migProfile is set but migStrategy is 'none'; set migStrategy 'single' or 'mixed'")
        if self.mig_strategy != "none" and self.gpus_per_replica != 1:
            raise ValueError("gpusPerReplica applies to migStrategy 'none' only (a MIG slice is one device)")
        if self.mig_strategy != "none" and self.time_slicing_replicas is not None:
            raise ValueError("timeSlicingReplicas is the fallback for GPUs without MIG; do not combine with MIG")
        return self


class ModelRepositoryConfig(_Cfg):
    bucket: str | None = Field(default=None, pattern=BUCKET_PATTERN, examples=["acme-triton-models"])
    prefix: str = Field(default="models", pattern=PREFIX_PATTERN, examples=["models"])
    # Static keys in a Kubernetes Secret on a cloud: explicit opt-in only (keyless by default).
    static_keys: bool = False
    # Keep the bucket (and the models in it) when the stack is destroyed.
    retain_on_delete: bool = True


class NodePorts(_Cfg):
    http: int = Field(default=30800, ge=30000, le=32767, examples=[30800])
    grpc: int = Field(default=30801, ge=30000, le=32767, examples=[30801])
    metrics: int = Field(default=30802, ge=30000, le=32767, examples=[30802])


class ServiceConfig(_Cfg):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(default="ClusterIP", examples=["LoadBalancer"])
    http_port: int = Field(default=8000, ge=1, le=65535, examples=[8000])
    grpc_port: int = Field(default=8001, ge=1, le=65535, examples=[8001])
    metrics_port: int = Field(default=8002, ge=1, le=65535, examples=[8002])
    node_ports: NodePorts | None = None
    # Internal (VPC-only) load balancer on clouds; public only when asked.
    internal: bool = True
    annotations: dict[str, str] = Field(default_factory=dict)


class AutoscalingConfig(_Cfg):
    """The HPA: on Triton's queue time by default (triton_platform.values.autoscaling has the queries)."""

    enabled: bool = False
    # queueTime | inferenceRate | gpuUtilization | cpu; None: queueTime (cpu when the old
    # targetCpuUtilization is given).
    metric: Literal["queueTime", "inferenceRate", "gpuUtilization", "cpu"] | None = Field(
        default=None, examples=["queueTime"]
    )
    # ms (queueTime), requests/s per pod (inferenceRate), percent (gpuUtilization, cpu).
    target: float | None = Field(default=None, gt=0, le=1_000_000, examples=[50])
    min_replicas: int = Field(default=1, ge=1, le=1000, examples=[1])
    max_replicas: int = Field(default=4, ge=1, le=1000, examples=[4])
    # The HPA waits this long at a lower recommendation before removing pods (a GPU pod is slow to return).
    scale_down_stabilization_seconds: int = Field(default=300, ge=0, le=3600, examples=[300])
    # Before `metric`/`target`: CPU percent. Still accepted, meaning metric 'cpu' with this target.
    target_cpu_utilization: int | None = Field(default=None, ge=1, le=100, examples=[80])

    @model_validator(mode="after")
    def _metric_target(self) -> AutoscalingConfig:
        if self.target_cpu_utilization is not None:
            if self.metric not in (None, "cpu"):
                raise ValueError(
                    f"targetCpuUtilization is the old key of metric 'cpu' and cannot go with metric "
                    f"{self.metric!r}; use target (example: metric: {self.metric}, target: 50)"
                )
            if self.target is not None:
                raise ValueError("targetCpuUtilization and target both set; keep target (example: target: 80)")
        return self

    @property
    def effective_metric(self) -> Literal["queueTime", "inferenceRate", "gpuUtilization", "cpu"]:
        if self.metric is not None:
            return self.metric
        return "cpu" if self.target_cpu_utilization is not None else "queueTime"

    @property
    def effective_target(self) -> float | None:
        if self.target is not None:
            return self.target
        if self.target_cpu_utilization is not None:
            return float(self.target_cpu_utilization)
        return {"queueTime": 50.0, "inferenceRate": None, "gpuUtilization": 80.0, "cpu": 80.0}[self.effective_metric]


class ConcurrencyRange(_Cfg):
    """perf_analyzer --concurrency-range start:end:step."""

    start: int = Field(default=1, ge=1, le=1024, examples=[1])
    end: int = Field(default=4, ge=1, le=1024, examples=[4])
    step: int = Field(default=1, ge=1, le=1024, examples=[1])

    @model_validator(mode="after")
    def _order(self) -> ConcurrencyRange:
        if self.start > self.end:
            raise ValueError(f"start ({self.start}) must be <= end ({self.end})")
        return self


class LoadTestConfig(_Cfg):
    """`helm test`: perf_analyzer against every published model, failing on a missed threshold."""

    enabled: bool = True
    protocol: Literal["grpc", "http"] = Field(default="grpc", examples=["grpc"])
    concurrency: ConcurrencyRange = Field(default_factory=ConcurrencyRange)
    # Requests carry this many samples (capped at each model's maxBatchSize).
    batch_size: int = Field(default=1, ge=1, le=4096, examples=[1])
    measurement_interval_ms: int = Field(default=5000, ge=100, le=600_000, examples=[5000])
    # perf_analyzer's stability rule: a level counts once 3 windows agree within this percent (-s),
    # trying at most maxTrials windows (-r); an unstable level fails the test.
    stability_percentage: int = Field(default=10, ge=1, le=1000, examples=[10])
    max_trials: int = Field(default=10, ge=3, le=100, examples=[10])
    # Thresholds, checked at every concurrency level of the report.
    max_p99_latency_ms: float = Field(default=1000, gt=0, le=3_600_000, examples=[250])
    min_throughput: float = Field(default=1, ge=0, le=10_000_000, examples=[100])
    # The Job's activeDeadlineSeconds.
    timeout_seconds: int = Field(default=900, ge=60, le=86_400, examples=[900])


class ResourcesConfig(_Cfg):
    cpu: str = Field(default="2", pattern=CPU_PATTERN, examples=["2", "500m"])
    memory: str = Field(default="8Gi", pattern=MEMORY_PATTERN, examples=["8Gi"])


class TritonConfig(_Cfg):
    version: str = Field(default=DEFAULT_NGC_RELEASE, pattern=NGC_RELEASE_PATTERN, examples=["25.01"])
    replicas: int = Field(default=1, ge=1, le=1000, examples=[2])
    model_control_mode: Literal["none", "poll", "explicit"] = Field(default="poll", examples=["poll"])
    repository_poll_seconds: int = Field(default=15, ge=1, le=3600, examples=[15])
    namespace: str = Field(default="triton", pattern=DNS_LABEL, examples=["triton"])
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig)
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig)
    load_test: LoadTestConfig = Field(default_factory=LoadTestConfig)
    # tritonserver flags appended after the chart's own (rules/triton_args.py checks them).
    extra_args: list[str] = Field(default_factory=list, examples=[["--model-load-thread-count=2"]])


class GrafanaConfig(_Cfg):
    enabled: bool = True


class AlertsConfig(_Cfg):
    queue_time_ms: int = Field(default=100, ge=1, examples=[100])
    failure_ratio: float = Field(default=0.05, gt=0, le=1, examples=[0.05])


class MonitoringConfig(_Cfg):
    enabled: bool = True
    namespace: str = Field(default="monitoring", pattern=DNS_LABEL, examples=["monitoring"])
    grafana: GrafanaConfig = Field(default_factory=GrafanaConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)


class PublisherConfig(_Cfg):
    # Where TensorRT engines are built: on the target GPU pool (safe default) or here.
    builder: Literal["kubernetes", "local"] | None = Field(default=None, examples=["kubernetes"])
    # Extra compute capabilities to build engines for (the pool's GPU is always included).
    compute_capabilities: list[str] = Field(default_factory=list, examples=[["8.0", "9.0"]])
    build_timeout_seconds: int = Field(default=3600, ge=60, le=86_400, examples=[3600])
    # Engines, uploaded ONNX and publish manifests live here, content-addressed, outside
    # the served prefix so Triton never sees them.
    cache_prefix: str = Field(default="_cache", pattern=PREFIX_PATTERN, examples=["_cache"])


class ReleaseConfig(_Cfg):
    """Promotion: serve exactly the release another stack exports, pinned by digest (instead of ``models``)."""

    from_stack: str = Field(pattern=STACK_REF_PATTERN, examples=["acme/triton-platform/dev"])
    digest: str = Field(pattern=DIGEST_PATTERN, examples=["sha256:" + "0" * 64])
    # Build engines the release lacks for this stack's GPU from its ONNX (same sha256, same options).
    build_missing_engines: bool = False


class PlatformConfig(_Cfg):
    cloud: Cloud = Field(examples=["local"])
    cluster: ClusterConfig
    gpu: GpuConfig = Field(default_factory=GpuConfig)
    model_repository: ModelRepositoryConfig = Field(default_factory=ModelRepositoryConfig)
    triton: TritonConfig = Field(default_factory=TritonConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    models: list[ModelSpec] = Field(default_factory=list)
    publisher: PublisherConfig = Field(default_factory=PublisherConfig)
    release: ReleaseConfig | None = None

    # Derived facts the compositions use (not config keys).
    @property
    def gpu_product(self) -> str | None:
        pool = self.cluster.gpu_node_pool
        return pool.gpu_product if pool else None

    @property
    def builder(self) -> Literal["kubernetes", "local"]:
        if self.publisher.builder:
            return self.publisher.builder
        return "local" if self.cloud == "local" else "kubernetes"

    @property
    def compute_capabilities(self) -> list[str]:
        caps = list(self.publisher.compute_capabilities)
        product = gpu.find_product(self.gpu_product) if self.gpu_product else None
        if product and product.compute_capability not in caps:
            caps.insert(0, product.compute_capability)
        return caps

    @property
    def bucket_name(self) -> str | None:
        return self.model_repository.bucket
