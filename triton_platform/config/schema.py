"""The typed stack configuration: every ``triton-platform:`` key as a pydantic model.

Only the models, their field rules and the patterns they check. ``triton_platform.config.loading``
validates a raw configuration against ``PlatformConfig`` and the cross-key rules
(``triton_platform.config.rules``); ``triton_platform.config.errors`` turns every problem into one
``ConfigError`` naming the key, why, and a valid example.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from triton_platform.catalog import gpu
from triton_platform.catalog.versions import DEFAULT_KUBERNETES_VERSION, DEFAULT_NGC_RELEASE
from triton_platform.clouds.access import any_principal
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

# The patterns fields are checked against; triton_platform.config.explain says what each one means.
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
AKS_SUBNET_ID_PATTERN = (
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Network/"
    r"virtualNetworks/[^/]+/subnets/[^/]+$"
)


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
# One cluster.access entry: a principal of some cloud; rules.access_grants matches it to the cloud.
AccessPrincipal = Annotated[str, AfterValidator(any_principal)]


class UnvalidatedKey(AttributeError):
    """A rule read a key the schema rejected (a partial config, ``triton_platform.config.structure``).

    The key's own issue already says what to fix; a rule that needs it is left out until it is valid.
    """


class _Cfg(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

    if not TYPE_CHECKING:  # as pydantic does: hidden from type checkers, so attributes keep their types

        def __getattr__(self, item: str) -> Any:
            # Only a partial config (model_construct without the keys that failed) lacks a field.
            if item in type(self).model_fields:
                raise UnvalidatedKey(f"{type(self).__name__}.{item} did not validate")
            return super().__getattr__(item)


class GpuNodePool(_Cfg):
    machine_type: str = Field(
        description=(
            "Machine type / VM size of the GPU pool; must carry `gpuProduct` (checked against the catalogue in "
            "triton_platform/catalog/gpu.py)."
        ),
        min_length=1,
        examples=["p4d.24xlarge"],
    )
    gpu_product: str = Field(
        description=(
            "The GPU model from the catalogue, e.g. `A100-SXM4-40GB` (GPU feature discovery's name, with or without "
            "`NVIDIA-`, is accepted); it decides the MIG profiles and the engines' compute capability."
        ),
        min_length=1,
        examples=["A100-SXM4-40GB"],
    )
    gpu_count: int = Field(
        description="GPUs per node; must match the machine type.", default=1, ge=1, le=16, examples=[8]
    )
    min_nodes: int = Field(
        description="Autoscaler lower bound of the GPU pool (on GKE a total over the region's zones).",
        default=0,
        ge=0,
        le=1000,
        examples=[0],
    )
    max_nodes: int = Field(
        description=(
            "Autoscaler upper bound of the GPU pool; keep `maxReplicas x gpusPerReplica` within `maxNodes x gpuCount`."
        ),
        default=2,
        ge=1,
        le=1000,
        examples=[2],
    )
    disk_size_gb: int = Field(
        description="OS disk of each GPU node, in GB (on AKS it also holds the keyless model mirror).",
        default=200,
        ge=50,
        le=65_536,
        examples=[200],
    )
    spot: bool = Field(default=False, description="Spot / preemptible VMs (cheaper; evicted VMs are deleted).")

    @model_validator(mode="after")
    def _bounds(self) -> GpuNodePool:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"minNodes ({self.min_nodes}) must be <= maxNodes ({self.max_nodes})")
        return self


class SystemNodePool(_Cfg):
    machine_type: str = Field(
        description=(
            "Machine type of the system pool (default per cloud: `m6i.xlarge`, `e2-standard-4`, `Standard_D4ds_v5`)."
        ),
        min_length=1,
        examples=["m6i.large"],
    )
    min_nodes: int = Field(
        description="Autoscaler lower bound of the system pool.", default=1, ge=1, le=100, examples=[1]
    )
    max_nodes: int = Field(
        description="Autoscaler upper bound of the system pool.", default=3, ge=1, le=100, examples=[3]
    )


class KindOptions(_Cfg):
    node_image: str | None = Field(
        description=(
            "local only: any kind node image of your own instead of the pinned one that follows "
            "`cluster.kubernetesVersion`."
        ),
        default=None,
        examples=["kindest/node:v1.31.4"],
    )
    # A host directory mounted into the kind node (extraMounts) at /models.
    host_model_dir: str | None = Field(
        description="local only: a host directory mounted at `/models` in the kind node (extraMounts).",
        default=None,
        examples=["./model_repository"],
    )


class AksOptions(_Cfg):
    # Escape hatch, off by default: keep AKS local accounts (certificate kubeconfig, Kubernetes
    # RBAC only) instead of Entra ID + Azure RBAC, for tenants where the deployer cannot be
    # granted an Azure role on the cluster.
    local_accounts: bool = Field(
        description=(
            "azure only. Escape hatch: `true` keeps AKS local accounts and Kubernetes RBAC only, no Entra ID, and a "
            "certificate (cluster-admin) kubeconfig. Only for tenants where the deployer cannot be given an Azure role"
            " on the cluster; default: Entra ID + Azure RBAC, local accounts off."
        ),
        default=False,
        examples=[True],
    )
    # Entra ID groups whose members are cluster-admin (aadProfile.adminGroupObjectIDs).
    admin_group_object_ids: list[EntraObjectId] = Field(
        description=(
            "azure only. Entra ID group object ids whose members are cluster-admin, e.g. "
            "`['5e0c4a6f-1b2c-4d3e-8f90-0123456789ab']` (`az ad group show -g <name> --query id -o tsv`)."
        ),
        default=[],
        examples=[["00000000-0000-0000-0000-000000000000"]],
    )
    # An existing subnet for the nodes (a VNet the deployer reaches, e.g. through a VPN or a
    # peering): required with privateEndpoint, whose API server is reachable from that network only.
    vnet_subnet_id: str | None = Field(
        description=(
            "azure only. An existing subnet for the nodes (a VNet the deployer reaches, e.g. through a VPN or a "
            "peering): required with `privateEndpoint`, whose API server is reachable from that network only."
        ),
        default=None,
        pattern=AKS_SUBNET_ID_PATTERN,
        examples=[
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/net/providers/"
            "Microsoft.Network/virtualNetworks/hub/subnets/aks"
        ],
    )


class ClusterAccess(_Cfg):
    """Who may use the Kubernetes API: principals per cloud (triton_platform.clouds.access)."""

    admins: list[AccessPrincipal] = Field(
        description=(
            "Identities made cluster admin: AWS role ARNs (EKS access entries, AmazonEKSClusterAdminPolicy), "
            "`serviceAccount:<email>` (GKE, roles/container.admin), `servicePrincipal:<object id>` (AKS RBAC Cluster "
            "Admin)."
        ),
        default=[],
        examples=[["arn:aws:iam::123456789012:role/deploy"]],
    )
    viewers: list[AccessPrincipal] = Field(
        description=(
            "Identities given read-only access to the Kubernetes API (AmazonEKSViewPolicy, roles/container.viewer, AKS"
            " RBAC Reader), e.g. the CI preview identity."
        ),
        default=[],
        examples=[["arn:aws:iam::123456789012:role/preview"]],
    )


class ClusterConfig(_Cfg):
    name: str = Field(
        description="Cluster name (a DNS label); also the prefix of node groups, roles, subnets and buckets.",
        pattern=DNS_LABEL,
        examples=["triton-dev"],
    )
    # A minor in standard support on EKS, GKE and AKS (catalog/versions.py says until when).
    kubernetes_version: str = Field(
        description=(
            "Kubernetes minor, `1.28` ... `1.39`; on `local` one the pinned kind ships a node image for (`1.34` ... "
            "`1.37`, default `1.34` there)."
        ),
        default=DEFAULT_KUBERNETES_VERSION,
        pattern=KUBERNETES_VERSION_PATTERN,
        examples=[DEFAULT_KUBERNETES_VERSION],
    )
    region: str | None = Field(
        description="AWS region (aws only); default: the provider setting `aws:region`.",
        default=None,
        pattern=AWS_REGION_PATTERN,
        examples=["us-east-1"],
    )
    location: str | None = Field(
        description=(
            "GCP region or zone (a zone gives a zonal GKE cluster), or Azure location; default: `gcp:zone`, else "
            "`gcp:region`; `azure-native:location`."
        ),
        default=None,
        min_length=2,
        examples=["us-central1", "westeurope"],
    )
    resource_group: str | None = Field(
        description="azure: an existing resource group to deploy into; left out, `<cluster name>-rg` is created.",
        default=None,
        examples=["triton-prod"],
    )
    project: str | None = Field(
        description="GCP project id (gcp; the id, not the number); default: the provider setting `gcp:project`.",
        default=None,
        examples=["my-gcp-project"],
    )
    gpu_node_pool: GpuNodePool | None = Field(
        default=None, description="The GPU node pool; left out, the cluster is CPU only."
    )
    system_node_pool: SystemNodePool | None = Field(
        default=None, description="The system node pool; left out, the cloud's default size."
    )
    kind: KindOptions = Field(description="kind options (cloud `local` only).", default_factory=KindOptions)
    # Who may reach the public Kubernetes API endpoint; left out: any address (a warning says so).
    api_access_cidrs: list[Ipv4Cidr] | None = Field(
        description=(
            "IPv4 CIDR blocks allowed to reach the cluster's Kubernetes API, e.g. `['203.0.113.0/24', "
            "'198.51.100.7/32']`. EKS: `publicAccessCidrs` of the public endpoint (with `privateEndpoint`: HTTPS rules"
            " on the cluster security group); GKE: master authorized networks; AKS: API server authorized IP ranges. "
            "Write each entry as a network (`203.0.113.0/24`, not `203.0.113.5/24`; one address is `/32`). Left out: "
            "the endpoint answers any address (`0.0.0.0/0`), and `pulumi preview`/`up` logs a warning saying so."
        ),
        default=None,
        examples=[["203.0.113.0/24"]],
    )
    # API endpoint inside the network only: `pulumi up` must then run from there.
    private_endpoint: bool = Field(
        description=(
            "`true`: the API endpoint is only reachable from inside the cluster's network (EKS: public endpoint off; "
            "GKE: `enablePrivateEndpoint`; AKS: private cluster). `pulumi up`, `kubectl` and the engine builder must "
            "then run from inside that network (a VM or CI runner in the VPC/VNet, or one connected by VPN/peering)."
        ),
        default=False,
        examples=[True],
    )
    aks: AksOptions = Field(description="AKS options (cloud `azure` only).", default_factory=AksOptions)
    # Identities granted the Kubernetes API (EKS access entries, AKS roles, GKE IAM roles).
    access: ClusterAccess = Field(
        description="Identities granted the Kubernetes API (EKS access entries, GKE IAM roles, AKS Azure roles).",
        default_factory=ClusterAccess,
    )

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
    mig_strategy: gpu.MigStrategy = Field(
        description="`none` | `single` | `mixed` (see docs/gpus-and-mig.md).", default="none", examples=["single"]
    )
    mig_profile: str | None = Field(
        description=(
            "MIG profile, e.g. `1g.5gb` or `1g.5gb+me`; must exist on `gpuProduct` (and be a GKE partition size on "
            "gcp, an AKS `gpuInstanceProfile` size on azure)."
        ),
        default=None,
        pattern=MIG_PROFILE_PATTERN,
        examples=["1g.5gb"],
    )
    # mig-manager layout label (nvidia.com/mig.config); defaults to all-<migProfile> ("+me" -> ".me").
    # A Kubernetes label value, so no '+': mig-parted names media-extension layouts all-1g.5gb.me.
    mig_config: str | None = Field(
        description=(
            "mig-manager layout label (`nvidia.com/mig.config`), a Kubernetes label value (`all-1g.5gb.me`, not "
            "`all-1g.5gb+me`); default `all-<migProfile>`, `+me` written `.me`."
        ),
        default=None,
        pattern=MIG_CONFIG_PATTERN,
        examples=["all-1g.5gb"],
    )
    gpus_per_replica: int = Field(
        description="GPUs per Triton pod (strategy `none` only).", default=1, ge=1, le=16, examples=[1]
    )
    time_slicing_replicas: int | None = Field(
        description="Share each GPU N ways (GPUs without MIG; no memory isolation between the sharers).",
        default=None,
        ge=2,
        le=48,
        examples=[4],
    )

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
    bucket: str | None = Field(
        description="Bucket (Azure: blob container) name; left out, generated (`triton-models` on kind).",
        default=None,
        pattern=BUCKET_PATTERN,
        examples=["acme-triton-models"],
    )
    prefix: str = Field(
        description="The prefix Triton serves (`s3://<bucket>/<prefix>`).",
        default="models",
        pattern=PREFIX_PATTERN,
        examples=["models"],
    )
    # Static keys in a Kubernetes Secret on a cloud: explicit opt-in only (keyless by default).
    static_keys: bool = Field(
        default=False, description="Explicit opt-in to static cloud keys in a Kubernetes Secret (keyless by default)."
    )
    # Keep the bucket (and the models in it) when the stack is destroyed.
    retain_on_delete: bool = Field(
        default=True,
        description=(
            "`true`: `pulumi destroy` (and removing or renaming a model in `models`) leaves the bucket and every "
            "published model in it; `false`: each model's delete removes only what this stack published (see "
            "docs/operations.md, Tearing down)."
        ),
    )


class NodePorts(_Cfg):
    http: int = Field(description="NodePort of HTTP.", default=30800, ge=30000, le=32767, examples=[30800])
    grpc: int = Field(description="NodePort of gRPC.", default=30801, ge=30000, le=32767, examples=[30801])
    metrics: int = Field(
        description="NodePort of the metrics endpoint.", default=30802, ge=30000, le=32767, examples=[30802]
    )


class ServiceConfig(_Cfg):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(
        description="`ClusterIP` | `NodePort` | `LoadBalancer`.", default="ClusterIP", examples=["LoadBalancer"]
    )
    http_port: int = Field(description="Triton's HTTP port.", default=8000, ge=1, le=65535, examples=[8000])
    grpc_port: int = Field(description="Triton's gRPC port.", default=8001, ge=1, le=65535, examples=[8001])
    metrics_port: int = Field(description="Triton's metrics port.", default=8002, ge=1, le=65535, examples=[8002])
    node_ports: NodePorts | None = Field(default=None, description="NodePorts with `type: NodePort`.")
    # Internal (VPC-only) load balancer on clouds; public only when asked.
    internal: bool = Field(
        default=True, description="Internal (VPC-only) load balancer on clouds; `false` makes it public."
    )
    annotations: dict[str, str] = Field(description="Extra annotations of the Service.", default_factory=dict)


class AutoscalingConfig(_Cfg):
    """The HPA: on Triton's queue time by default (triton_platform.values.autoscaling has the queries)."""

    enabled: bool = Field(
        default=False,
        description=(
            "An `autoscaling/v2` HPA on Triton's own signals (see docs/autoscaling.md); when on, by default "
            "`queueTime`, target 50 ms, 1-4 replicas."
        ),
    )
    # queueTime | inferenceRate | gpuUtilization | cpu; None: queueTime (cpu when the old
    # targetCpuUtilization is given).
    metric: Literal["queueTime", "inferenceRate", "gpuUtilization", "cpu"] | None = Field(
        description=(
            "`queueTime` (average ms a request waits in Triton's queue, per pod), `inferenceRate` (successful "
            "requests/s per pod), `gpuUtilization` (Triton's own `nv_gpu_utilization` x 100, percent, on every cloud; "
            "GPU pools without MIG only) or `cpu` (percent of the CPU request). All but `cpu` need "
            "`monitoring.enabled`. Left out: `queueTime`."
        ),
        default=None,
        examples=["queueTime"],
    )
    # ms (queueTime), requests/s per pod (inferenceRate), percent (gpuUtilization, cpu).
    target: float | None = Field(
        description="ms for queueTime, requests/s for inferenceRate (required there), percent for the others.",
        default=None,
        gt=0,
        le=1_000_000,
        examples=[50],
    )
    min_replicas: int = Field(
        description="Fewest Triton pods (>= 1: a GPU replica takes minutes to come back).",
        default=1,
        ge=1,
        le=1000,
        examples=[1],
    )
    max_replicas: int = Field(description="Most Triton pods.", default=4, ge=1, le=1000, examples=[4])
    # The HPA waits this long at a lower recommendation before removing pods (a GPU pod is slow to return).
    scale_down_stabilization_seconds: int = Field(
        description=(
            "The HPA waits this long at a lower recommendation before removing pods, then removes at most one a minute."
        ),
        default=300,
        ge=0,
        le=3600,
        examples=[300],
    )
    # Before `metric`/`target`: CPU percent. Still accepted, meaning metric 'cpu' with this target.
    target_cpu_utilization: int | None = Field(
        description="The old key: `targetCpuUtilization: N` still works and means `metric: cpu, target: N`.",
        default=None,
        ge=1,
        le=100,
        examples=[80],
    )

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

    start: int = Field(description="First concurrency level.", default=1, ge=1, le=1024, examples=[1])
    end: int = Field(description="Last concurrency level.", default=4, ge=1, le=1024, examples=[4])
    step: int = Field(description="Step between levels.", default=1, ge=1, le=1024, examples=[1])

    @model_validator(mode="after")
    def _order(self) -> ConcurrencyRange:
        if self.start > self.end:
            raise ValueError(f"start ({self.start}) must be <= end ({self.end})")
        return self


class LoadTestConfig(_Cfg):
    """`helm test`: perf_analyzer against every published model, failing on a missed threshold."""

    enabled: bool = Field(
        default=True,
        description=(
            "The `helm test` of the Triton release (`make loadtest STACK=<stack>`): perf_analyzer against every "
            "published model; failed requests always fail the test."
        ),
    )
    protocol: Literal["grpc", "http"] = Field(description="`grpc` | `http`.", default="grpc", examples=["grpc"])
    concurrency: ConcurrencyRange = Field(
        description="perf_analyzer's concurrency range {`start`, `end`, `step`}.", default_factory=ConcurrencyRange
    )
    # Requests carry this many samples (capped at each model's maxBatchSize).
    batch_size: int = Field(
        description=(
            "Samples per request (capped at each model's `maxBatchSize`). Input shapes come from each model's ONNX "
            "graph (a dynamic non-batch dimension takes its `shapes` entry's `opt`)."
        ),
        default=1,
        ge=1,
        le=4096,
        examples=[1],
    )
    measurement_interval_ms: int = Field(
        description="perf_analyzer's measurement window.", default=5000, ge=100, le=600_000, examples=[5000]
    )
    # perf_analyzer's stability rule: a level counts once 3 windows agree within this percent (-s),
    # trying at most maxTrials windows (-r); an unstable level fails the test.
    stability_percentage: int = Field(
        description="A level counts once 3 windows agree within this percent.", default=10, ge=1, le=1000, examples=[10]
    )
    max_trials: int = Field(
        description="At most this many windows per level; an unstable level fails the test.",
        default=10,
        ge=3,
        le=100,
        examples=[10],
    )
    # Thresholds, checked at every concurrency level of the report.
    max_p99_latency_ms: float = Field(
        description="Threshold: p99 latency at every concurrency level.",
        default=1000,
        gt=0,
        le=3_600_000,
        examples=[250],
    )
    min_throughput: float = Field(
        description="Threshold: inferences/s at every concurrency level.",
        default=1,
        ge=0,
        le=10_000_000,
        examples=[100],
    )
    # The Job's activeDeadlineSeconds.
    timeout_seconds: int = Field(
        description="The Job's deadline (activeDeadlineSeconds).", default=900, ge=60, le=86_400, examples=[900]
    )


class ResourcesConfig(_Cfg):
    cpu: str = Field(
        description="CPU of each Triton pod (requests = limits); on `local` `1` unless set.",
        default="2",
        pattern=CPU_PATTERN,
        examples=["2", "500m"],
    )
    memory: str = Field(
        description="Memory of each Triton pod (requests = limits); on `local` `2Gi` unless set.",
        default="8Gi",
        pattern=MEMORY_PATTERN,
        examples=["8Gi"],
    )


# A DNS name the Gateway's listeners and routes answer for (Gateway API Hostname, no wildcard here).
HOSTNAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$"
# A Kubernetes object name (DNS subdomain): Secrets, Issuers.
OBJECT_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"

API_KEY_HEADER = "x-api-key"


class GatewayCertManager(_Cfg):
    """cert-manager issues the Gateway's certificate (its gateway-shim reads the Gateway's annotation)."""

    issuer: str = Field(
        description="The cert-manager Issuer or ClusterIssuer that signs the Gateway's certificate.",
        pattern=OBJECT_NAME_PATTERN,
        examples=["letsencrypt"],
    )
    kind: Literal["Issuer", "ClusterIssuer"] = Field(
        description="`Issuer` (in Triton's namespace) | `ClusterIssuer`.", default="ClusterIssuer", examples=["Issuer"]
    )


class GatewayTls(_Cfg):
    """TLS on the Gateway's listeners: a Secret of the user's in Triton's namespace, or cert-manager."""

    secret_name: str | None = Field(
        description="A `kubernetes.io/tls` Secret in Triton's namespace holding the certificate.",
        default=None,
        pattern=OBJECT_NAME_PATTERN,
        examples=["triton-tls"],
    )
    cert_manager: GatewayCertManager | None = Field(
        default=None, description="Have cert-manager issue the certificate for `hostname` instead."
    )


class GatewayApiKeys(_Cfg):
    """API keys: a Secret in Triton's namespace, one key per client (name: client id, value: its key)."""

    secret_name: str = Field(
        description="Secret in Triton's namespace: one entry per client (client id: its API key).",
        pattern=OBJECT_NAME_PATTERN,
        examples=["triton-api-keys"],
    )
    header: str = Field(
        description="The request header carrying the key.",
        default=API_KEY_HEADER,
        pattern=r"^[A-Za-z0-9-]+$",
        examples=["x-api-key"],
    )


class GatewayJwt(_Cfg):
    """JWTs checked against the issuer's published keys (JWKS)."""

    jwks_uri: str = Field(
        description="HTTPS URL of the issuer's JSON Web Key Set.",
        pattern=r"^https://\S+$",
        examples=["https://issuer.example.com/.well-known/jwks.json"],
    )
    issuer: str | None = Field(
        description="Required `iss` claim (any issuer when unset).",
        default=None,
        min_length=1,
        examples=["https://issuer.example.com"],
    )
    audiences: list[str] = Field(
        description="Accepted `aud` claims (any when empty; at most 8).",
        default=[],
        max_length=8,
        examples=[["triton"]],
    )


class GatewayAuth(_Cfg):
    """Client authentication by Envoy Gateway's SecurityPolicy: API keys or JWTs."""

    api_keys: GatewayApiKeys | None = Field(default=None, description="Authenticate clients by API key.")
    jwt: GatewayJwt | None = Field(default=None, description="Authenticate clients by JWT.")


class GatewayConfig(_Cfg):
    """The serving edge: Envoy Gateway balancing requests (not connections) over Triton's pods."""

    enabled: bool = Field(
        default=False,
        description="Serve Triton through a Gateway (Envoy Gateway), balanced per request; Service stays ClusterIP.",
    )
    internal: bool = Field(
        default=True,
        description="Internal (VPC-only) load balancer on clouds; `false`: public, then `tls` and `auth` are required.",
    )
    hostname: str | None = Field(
        description="DNS name the Gateway answers for (any when unset; required by `tls.certManager`).",
        default=None,
        pattern=HOSTNAME_PATTERN,
        examples=["triton.example.com"],
    )
    tls: GatewayTls | None = Field(default=None, description="TLS on the Gateway: `secretName` or `certManager`.")
    auth: GatewayAuth | None = Field(
        default=None, description="Client authentication (`apiKeys` or `jwt`); required when the Gateway is public."
    )


# Argo Rollouts' durations (a step's pause, an analysis interval): a whole number of s, m or h.
DURATION_PATTERN = r"^[1-9]\d*[smh]$"


class RolloutStep(_Cfg):
    """One canary step: the share of requests the canary gets, and how long it holds before the next."""

    weight: int = Field(description="Percent of requests routed to the canary (1-100).", ge=1, le=100, examples=[10])
    pause: str | None = Field(
        description="How long the step holds (`30s`, `5m`, `1h`); needed below 100.",
        default=None,
        pattern=DURATION_PATTERN,
        examples=["5m"],
    )


def _default_steps() -> list[RolloutStep]:
    # A tenth of the traffic for 5 minutes (5 analysis intervals), half for 10, then everything.
    return [RolloutStep(weight=10, pause="5m"), RolloutStep(weight=50, pause="10m")]


class RolloutAnalysis(_Cfg):
    """The canary's thresholds on Triton's and the Gateway's metrics (triton_platform/values/rollout.py)."""

    interval: str = Field(
        description="How often each metric is measured, and the window it is measured over.",
        default="1m",
        pattern=DURATION_PATTERN,
        examples=["1m"],
    )
    failure_limit: int = Field(
        description="Failed measurements tolerated per metric before the rollout aborts.", default=1, ge=0, le=100
    )
    # 1 %: Triton fails no request of a healthy model; more is a broken model, not noise.
    max_failure_ratio: float = Field(
        description="Most failed/all inference requests of the canary.", default=0.01, gt=0, le=1, examples=[0.01]
    )
    # 5 %: the Gateway also counts clients' own 4xx, which a new release does not cause.
    max_gateway_error_ratio: float = Field(
        description="Most 4xx+5xx/all responses of Triton's worse Gateway route while a canary runs.",
        default=0.05,
        gt=0,
        le=1,
    )
    # 1 s: the load test's own p99 bound (triton.loadTest).
    max_p99_latency_ms: float = Field(
        description="Most p99 request latency of the canary (Triton's summary), ms.", default=1000, gt=0
    )
    # 100 ms: the queue-time alert's default (monitoring.alerts.queueTimeMs).
    max_queue_time_ms: float = Field(
        description="Most average queue time of the canary's requests, ms.", default=100, gt=0, examples=[100]
    )


class CanaryConfig(_Cfg):
    steps: list[RolloutStep] = Field(
        description="Weights and pauses, increasing; 100 % is implied after the last.",
        default_factory=_default_steps,
        min_length=1,
    )
    analysis: RolloutAnalysis = Field(description="Analysis of every step.", default_factory=RolloutAnalysis)


class RolloutConfig(_Cfg):
    strategy: Literal["instant", "canary"] = Field(
        description="`instant` (every pod switches at once, as before) | `canary` (Argo Rollouts, by weight).",
        default="instant",
    )
    canary: CanaryConfig = Field(description="Steps and analysis of `canary`.", default_factory=CanaryConfig)


class TritonConfig(_Cfg):
    version: str = Field(
        description="NGC release (`24.08` ... `25.06`); it fixes the TensorRT version.",
        default=DEFAULT_NGC_RELEASE,
        pattern=NGC_RELEASE_PATTERN,
        examples=["25.01"],
    )
    replicas: int = Field(description="Triton pods (without autoscaling).", default=1, ge=1, le=1000, examples=[2])
    model_control_mode: Literal["none", "poll", "explicit"] = Field(
        description="`none` | `poll` | `explicit`.", default="poll", examples=["poll"]
    )
    repository_poll_seconds: int = Field(
        description="Poll interval of the model repository.", default=15, ge=1, le=3600, examples=[15]
    )
    namespace: str = Field(description="Triton's namespace.", default="triton", pattern=DNS_LABEL, examples=["triton"])
    service: ServiceConfig = Field(
        description="Triton's Service: `type`, ports, `nodePorts`, `internal`, `annotations`.",
        default_factory=ServiceConfig,
    )
    resources: ResourcesConfig = Field(
        description="CPU and memory of each Triton pod.", default_factory=ResourcesConfig
    )
    autoscaling: AutoscalingConfig = Field(
        description="The HorizontalPodAutoscaler (off by default).", default_factory=AutoscalingConfig
    )
    load_test: LoadTestConfig = Field(
        description=(
            "The load test (`helm test`), on by default: concurrency 1-4, 5 s windows, p99 <= 1000 ms, >= 1 infer/s."
        ),
        default_factory=LoadTestConfig,
    )
    # tritonserver flags appended after the chart's own (rules/triton_args.py checks them).
    extra_args: list[str] = Field(
        description="tritonserver flags appended after the chart's own (checked against tritonserver's options).",
        default=[],
        examples=[["--model-load-thread-count=2"]],
    )
    # Exposure through a Gateway API route (triton_platform.values.gateway).
    gateway: GatewayConfig = Field(
        default_factory=GatewayConfig, description="The serving edge at layer 7 (docs/serving-gateway.md)."
    )
    # How a new release reaches the pods (triton_platform.values.rollout).
    rollout: RolloutConfig = Field(
        description="`strategy`: `instant` | `canary`, with `canary.steps` and `canary.analysis`.",
        default_factory=RolloutConfig,
    )


class GrafanaConfig(_Cfg):
    enabled: bool = Field(default=True, description="Grafana with the Triton dashboard.")


class AlertsConfig(_Cfg):
    queue_time_ms: int = Field(
        description="Alert threshold: average queue time, ms.", default=100, ge=1, examples=[100]
    )
    failure_ratio: float = Field(
        description="Alert threshold: ratio of failed requests.", default=0.05, gt=0, le=1, examples=[0.05]
    )
    gateway_error_ratio: float = Field(
        description=(
            "Alert threshold (with `triton.gateway.enabled`): ratio of a route's responses the Gateway returns "
            "as 4xx, or as 5xx (each class on its own; client errors included)."
        ),
        default=0.05,
        gt=0,
        le=1,
        examples=[0.05],
    )


class MonitoringConfig(_Cfg):
    enabled: bool = Field(default=True, description="kube-prometheus-stack + the Triton dashboard + alerts.")
    namespace: str = Field(
        description="Its namespace.", default="monitoring", pattern=DNS_LABEL, examples=["monitoring"]
    )
    grafana: GrafanaConfig = Field(description="Grafana.", default_factory=GrafanaConfig)
    alerts: AlertsConfig = Field(description="Alert thresholds.", default_factory=AlertsConfig)


class PublisherConfig(_Cfg):
    # Where TensorRT engines are built: on the target GPU pool (safe default) or here.
    builder: Literal["kubernetes", "local"] | None = Field(
        description=(
            "Where TensorRT engines are built: `kubernetes` (a Job on the target GPU pool) | `local`; left out, "
            "`kubernetes` on clouds, `local` on kind."
        ),
        default=None,
        examples=["kubernetes"],
    )
    # Extra compute capabilities to build engines for (the pool's GPU is always included).
    compute_capabilities: list[str] = Field(
        description=(
            "GPU architectures to build engines for; each must be one a GPU pool of the stack provides (today: the "
            "pool's own GPU, always included), since every engine is built on a GPU of its own architecture."
        ),
        default=[],
        examples=[["8.0", "9.0"]],
    )
    build_timeout_seconds: int = Field(
        description="Engine build timeout.", default=3600, ge=60, le=86_400, examples=[3600]
    )
    # Engines, uploaded ONNX and publish manifests live here, content-addressed, outside
    # the served prefix so Triton never sees them.
    cache_prefix: str = Field(
        description=(
            "Where engines, uploaded ONNX, publish manifests and releases live, content-addressed, outside the served "
            "prefix."
        ),
        default="_cache",
        pattern=PREFIX_PATTERN,
        examples=["_cache"],
    )


class ReleaseConfig(_Cfg):
    """Promotion: serve exactly the release another stack exports, pinned by digest (instead of ``models``)."""

    from_stack: str = Field(
        description=(
            "The upstream stack, fully qualified: `<organization>/<project>/<stack>` (file backend: `organization`)."
        ),
        pattern=STACK_REF_PATTERN,
        examples=["acme/triton-platform/dev"],
    )
    digest: str = Field(
        description="The release you tested, `sha256:...`: the one the upstream exports or one it still keeps.",
        pattern=DIGEST_PATTERN,
        examples=["sha256:" + "0" * 64],
    )
    # Build engines the release lacks for this stack's GPU from its ONNX (same sha256, same options).
    build_missing_engines: bool = Field(
        default=False,
        description=(
            "Build the engines the release lacks for this stack's GPU here, from the release's ONNX (same sha256, same"
            " options); see docs/models-and-releases.md."
        ),
    )


class PlatformConfig(_Cfg):
    cloud: Cloud = Field(description="`local` | `aws` | `gcp` | `azure`.", examples=["local"])
    cluster: ClusterConfig = Field(description="The cluster: name, version, where, node pools, API access.")
    gpu: GpuConfig = Field(
        description="How GPUs are shared: MIG strategy and profile, GPUs per replica, time-slicing.",
        default_factory=GpuConfig,
    )
    model_repository: ModelRepositoryConfig = Field(
        description="The bucket Triton reads.", default_factory=ModelRepositoryConfig
    )
    triton: TritonConfig = Field(description="The Triton release.", default_factory=TritonConfig)
    monitoring: MonitoringConfig = Field(
        description="kube-prometheus-stack, Grafana, alerts.", default_factory=MonitoringConfig
    )
    models: list[ModelSpec] = Field(
        description="The models to publish (model specs below); a stack that promotes sets `release` instead.",
        default=[],
    )
    publisher: PublisherConfig = Field(description="How models are published.", default_factory=PublisherConfig)
    release: ReleaseConfig | None = Field(
        default=None,
        description="Instead of `models`: promote another stack's release (see docs/models-and-releases.md).",
    )

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
