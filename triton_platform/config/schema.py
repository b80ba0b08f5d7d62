"""The typed stack configuration: every ``triton-platform:`` key, validated before any resource.

``load_config`` reads ``pulumi.Config("triton-platform")``; ``parse_config`` validates a plain
dict (what tests and tools use). Either raises ``ConfigError`` naming every bad key, why,
and a valid example, so a bad stack never half-creates resources.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from triton_platform.catalog import gpu
from triton_platform.catalog.versions import DEFAULT_NGC_RELEASE, NGC_RELEASES
from triton_platform.config.providers import PROVIDER_KEYS, apply_provider_defaults
from triton_platform.config.rules import access as cluster_access
from triton_platform.publisher.spec import NAME_PATTERN, ModelSpec

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
DNS_LABEL = r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$"
# A Kubernetes label value (apimachinery validation.IsValidLabelValue), lowercase as mig-parted names its layouts.
MIG_CONFIG_PATTERN = r"^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$"


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


# --- cluster API access (apiAccessCidrs, privateEndpoint, aks): rules in triton_platform.config.rules.access
Ipv4Cidr = Annotated[str, AfterValidator(cluster_access.ipv4_cidr)]
EntraObjectId = Annotated[str, AfterValidator(cluster_access.entra_object_id)]


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
    kubernetes_version: str = Field(default="1.31", pattern=r"^1\.(2[89]|3[0-9])$", examples=["1.31"])
    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", examples=["us-east-1"])
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
    mig_profile: str | None = Field(default=None, pattern=r"^\d+g\.\d+gb(\+me)?$", examples=["1g.5gb"])
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
    bucket: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", examples=["acme-triton-models"]
    )
    prefix: str = Field(default="models", pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", examples=["models"])
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
    cpu: str = Field(default="2", pattern=r"^\d+(\.\d+)?m?$", examples=["2", "500m"])
    memory: str = Field(default="8Gi", pattern=r"^\d+(Ki|Mi|Gi|Ti)$", examples=["8Gi"])


class TritonConfig(_Cfg):
    version: str = Field(default=DEFAULT_NGC_RELEASE, pattern=r"^\d{2}\.\d{2}$", examples=["25.01"])
    replicas: int = Field(default=1, ge=1, le=1000, examples=[2])
    model_control_mode: Literal["none", "poll", "explicit"] = Field(default="poll", examples=["poll"])
    repository_poll_seconds: int = Field(default=15, ge=1, le=3600, examples=[15])
    namespace: str = Field(default="triton", pattern=DNS_LABEL, examples=["triton"])
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig)
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig)
    load_test: LoadTestConfig = Field(default_factory=LoadTestConfig)


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
    cache_prefix: str = Field(default="_cache", pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", examples=["_cache"])


# A fully qualified Pulumi stack name <organization>/<project>/<stack>; each part "may only contain
# alphanumeric characters, hyphens, underscores, or periods" (https://www.pulumi.com/docs/iac/concepts/stacks/).
STACK_REF_PATTERN = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"


class ReleaseConfig(_Cfg):
    """Promotion: serve exactly the release another stack exports, pinned by digest (instead of ``models``)."""

    from_stack: str = Field(pattern=STACK_REF_PATTERN, examples=["acme/triton-platform/dev"])
    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$", examples=["sha256:" + "0" * 64])
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


class Issue:
    """One bad key: where, why, and a valid example."""

    def __init__(self, key: str, reason: str, example: str | None = None) -> None:
        self.key, self.reason, self.example = key, reason, example

    def __str__(self) -> str:
        tail = f" (example: {self.example})" if self.example else ""
        return f"  - {self.key}: {self.reason}{tail}"


class ConfigError(ValueError):
    """Every problem in a stack configuration, in one message."""

    def __init__(self, issues: list[Issue], stack: str | None = None) -> None:
        self.issues = issues
        where = f" of stack '{stack}'" if stack else ""
        lines = [f"invalid configuration{where} ({len(issues)} problem{'s' if len(issues) != 1 else ''}):"]
        lines += [str(i) for i in issues]
        super().__init__("\n".join(lines))

    @property
    def keys(self) -> list[str]:
        return [i.key for i in self.issues]


PATTERN_MEANING = {
    DNS_LABEL: "must be a DNS label: lowercase letters, digits and '-', starting with a letter, at most 40 characters",
    r"^1\.(2[89]|3[0-9])$": "must be a supported Kubernetes minor version, 1.28 or newer",
    r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$": "must be a bucket name: 3-63 lowercase letters, digits, '.' and '-'",
    r"^\d+g\.\d+gb(\+me)?$": "must be a MIG profile name like '1g.5gb'",
    r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$": "must be a path of letters, digits, '_', '.', '-' without leading or "
    "trailing '/'",
    MIG_CONFIG_PATTERN: "must be a mig-manager layout name and a label value: at most 63 lowercase letters, digits, "
    "'-', '_', '.', starting and ending with a letter or digit (media extensions are '.me', e.g. 'all-1g.5gb.me')",
    r"^[a-z]{2}(-[a-z]+)+-\d$": "must be an AWS region name",
    r"^\d+(Ki|Mi|Gi|Ti)$": "must be a Kubernetes memory quantity in Ki/Mi/Gi/Ti",
    r"^\d+(\.\d+)?m?$": "must be a Kubernetes CPU quantity: cores ('2', '0.5') or millicores ('500m')",
    r"^\d{2}\.\d{2}$": "must be an NGC release 'YY.MM'",
    NAME_PATTERN: "must be a Triton model name: letters, digits, '_', '.', '-' (at most 63)",
}


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = NAMESPACE
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i == 0:
            out += f":{part}"
        else:
            out += f".{part}"
    return out


def _example_for(model: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    """Walk the pydantic schema along ``loc`` to the field's declared example."""
    current: Any = model
    example: Any = None
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = next(
            (f for n, f in current.model_fields.items() if part in (n, f.alias)),
            None,
        )
        if field is None:
            return None
        example = field.examples[0] if field.examples else None
        current = _inner_model(field.annotation)
    if example is None:
        return None
    return repr(example) if isinstance(example, str) else str(example)


def _inner_model(annotation: Any) -> Any:
    for arg in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        for sub in getattr(arg, "__args__", ()):
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                return sub
    return None


def _strip_validator_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # pydantic puts union/function tags in loc ("function-after[...]"): drop them.
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("str", "int"))))


def _pydantic_issues(err: ValidationError) -> list[Issue]:
    issues: list[Issue] = []
    for e in err.errors(include_url=False):
        loc = _strip_validator_loc(tuple(e["loc"]))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check spelling; keys are camelCase)"
        elif e["type"] == "string_pattern_mismatch":
            pattern = str((e.get("ctx") or {}).get("pattern", ""))
            msg = PATTERN_MEANING.get(pattern, msg)
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        issues.append(Issue(_key_path(loc), msg, _example_for(PlatformConfig, loc)))
    return issues


def _autoscaling_issues(cfg: PlatformConfig) -> list[Issue]:
    """triton.autoscaling against the rest of the stack: what feeds its metric."""
    auto = cfg.triton.autoscaling
    issues: list[Issue] = []
    k = lambda path: f"{NAMESPACE}:triton.autoscaling.{path}"  # noqa: E731
    if not auto.enabled:
        return issues
    metric, target = auto.effective_metric, auto.effective_target
    if target is None:
        issues.append(
            Issue(k("target"), f"metric {metric!r} has no default target: give requests per second per pod", "100")
        )
    elif metric in ("gpuUtilization", "cpu") and target > 100:
        issues.append(Issue(k("target"), f"metric {metric!r} is a percentage: at most 100, got {target:g}", "80"))
    if metric != "cpu" and not cfg.monitoring.enabled:
        issues.append(
            Issue(
                k("metric"),
                f"{metric!r} is read from the stack's Prometheus by prometheus-adapter; it needs monitoring.enabled "
                "(or use metric 'cpu')",
                "'cpu'",
            )
        )
    pool = cfg.cluster.gpu_node_pool
    if metric == "gpuUtilization":
        if pool is None:
            issues.append(
                Issue(k("metric"), "'gpuUtilization' needs a GPU node pool (cluster.gpuNodePool)", "'queueTime'")
            )
        elif cfg.gpu.mig_strategy != "none":
            # DCGM does not report DCGM_FI_DEV_GPU_UTIL for MIG instances.
            issues.append(
                Issue(
                    k("metric"),
                    "DCGM reports no GPU utilisation per MIG slice; use 'queueTime' with MIG",
                    "'queueTime'",
                )
            )
    return issues


def _load_test_issues(cfg: PlatformConfig, base_dir: Path) -> list[Issue]:
    """Every model's load-test input shapes can be derived from its ONNX graph (as the Job will need)."""
    from triton_platform.publisher.errors import PublisherError
    from triton_platform.values.autoscaling import LoadTestShapeError, model_shapes

    issues: list[Issue] = []
    if not cfg.triton.load_test.enabled:
        return issues
    for i, m in enumerate(cfg.models):
        try:
            model_shapes(m, base_dir, key=f"models[{i}]")
        except LoadTestShapeError as exc:
            issues.append(Issue(f"{NAMESPACE}:{exc.key}", exc.reason, exc.example))
        except PublisherError:
            pass  # an unreadable graph or a bad spec: the model's own checks (and the publisher) report it
    return issues


def _semantic_issues(cfg: PlatformConfig, base_dir: Path) -> list[Issue]:
    """Cross-key checks that need the whole configuration, the cloud rules (config.rules.clouds) last."""
    issues: list[Issue] = []
    k = lambda path: f"{NAMESPACE}:{path}"  # noqa: E731
    pool = cfg.cluster.gpu_node_pool

    if cfg.triton.version not in NGC_RELEASES:
        issues.append(
            Issue(
                k("triton.version"),
                f"unknown NGC release {cfg.triton.version!r}; known: {', '.join(NGC_RELEASES)}",
                repr(DEFAULT_NGC_RELEASE),
            )
        )
    # Where the cluster lives.
    if cfg.cloud == "aws" and not cfg.cluster.region:
        issues.append(
            Issue(k("cluster.region"), "required for cloud 'aws' (or set the provider's aws:region)", "'us-east-1'")
        )
    if cfg.cloud in ("gcp", "azure") and not cfg.cluster.location:
        issues.append(
            Issue(
                k("cluster.location"),
                f"required for cloud {cfg.cloud!r} (or set the provider's "
                f"{'gcp:region / gcp:zone' if cfg.cloud == 'gcp' else 'azure-native:location'})",
                "'us-central1'" if cfg.cloud == "gcp" else "'westeurope'",
            )
        )
    if cfg.cloud == "gcp" and not cfg.cluster.project:
        issues.append(
            Issue(
                k("cluster.project"),
                "required for cloud 'gcp' (the GCP project id; or set the provider's gcp:project)",
                "'my-gcp-project'",
            )
        )
    if cfg.cloud != "aws" and cfg.cluster.region:
        issues.append(
            Issue(k("cluster.region"), f"applies to cloud 'aws' only; use cluster.location for {cfg.cloud!r}", None)
        )
    if cfg.cloud in ("local", "aws") and cfg.cluster.location:
        issues.append(Issue(k("cluster.location"), "applies to clouds 'gcp' and 'azure' only", None))
    if cfg.cloud != "local" and (cfg.cluster.kind.node_image or cfg.cluster.kind.host_model_dir):
        issues.append(Issue(k("cluster.kind"), "kind options apply to cloud 'local' only", None))
    if cfg.cloud != "local" and cfg.cluster.system_node_pool is None:
        pass  # each cloud composition has a sensible default system pool

    # GPUs.
    product = gpu.find_product(pool.gpu_product) if pool else None
    if pool and product is None:
        issues.append(
            Issue(
                k("cluster.gpuNodePool.gpuProduct"),
                f"unknown GPU product {pool.gpu_product!r}; known: {', '.join(gpu.known_products())}",
                "'A100-SXM4-40GB'",
            )
        )
    if pool and cfg.cloud == "local":
        issues.append(
            Issue(k("cluster.gpuNodePool"), "kind clusters have no GPU node pool; remove it for cloud 'local'", None)
        )
    if pool and product and cfg.cloud in ("aws", "gcp", "azure"):
        machine = gpu.find_machine_type(cfg.cloud, pool.machine_type)
        choices = ", ".join(gpu.machine_types_for(cfg.cloud, product.product)) or "none in the catalogue"
        if machine is None:
            issues.append(
                Issue(
                    k("cluster.gpuNodePool.machineType"),
                    f"{pool.machine_type!r} is not a known {cfg.cloud} GPU machine type; "
                    f"for {product.product}: {choices}",
                    repr(choices.split(", ")[0]),
                )
            )
        elif machine.gpu_product != product.product:
            issues.append(
                Issue(
                    k("cluster.gpuNodePool.machineType"),
                    f"{pool.machine_type!r} carries {machine.gpu_product}, not the configured gpuProduct "
                    f"{product.product}; machine types with {product.product}: {choices}",
                    repr(choices.split(", ")[0]),
                )
            )
        elif pool.gpu_count != machine.gpu_count:
            issues.append(
                Issue(
                    k("cluster.gpuNodePool.gpuCount"),
                    f"{pool.machine_type!r} has {machine.gpu_count} GPU(s), not {pool.gpu_count}",
                    str(machine.gpu_count),
                )
            )
    g = cfg.gpu
    wants_gpu = g.mig_strategy != "none" or g.time_slicing_replicas or g.gpus_per_replica != 1
    if wants_gpu and pool is None:
        issues.append(Issue(k("gpu"), "GPU settings need cluster.gpuNodePool (a pool with GPUs)", None))
    if g.mig_strategy != "none" and product is not None and g.mig_profile:
        if not product.supports_mig:
            issues.append(
                Issue(
                    k("gpu.migProfile"),
                    f"{product.product} has no MIG; use migStrategy 'none' (optionally timeSlicingReplicas)",
                    None,
                )
            )
        elif g.mig_profile not in product.mig_profiles:
            issues.append(
                Issue(
                    k("gpu.migProfile"),
                    f"{product.product} has no MIG profile {g.mig_profile!r}; "
                    f"it has: {', '.join(product.mig_profiles)}",
                    repr(product.mig_profiles[0]),
                )
            )
        elif cfg.cloud == "gcp" and g.mig_profile not in product.gke_partition_sizes:
            issues.append(
                Issue(
                    k("gpu.migProfile"),
                    f"GKE cannot partition {product.product} as {g.mig_profile!r}; "
                    f"GKE partition sizes: {', '.join(product.gke_partition_sizes) or 'none'}",
                    repr(product.gke_partition_sizes[0]) if product.gke_partition_sizes else None,
                )
            )
        if cfg.cloud == "gcp" and g.mig_strategy == "mixed":
            issues.append(
                Issue(k("gpu.migStrategy"), "GKE partitions whole node pools; use 'single' on cloud 'gcp'", "'single'")
            )
    if pool and g.gpus_per_replica > pool.gpu_count:
        issues.append(
            Issue(
                k("gpu.gpusPerReplica"),
                f"{g.gpus_per_replica} exceeds the {pool.gpu_count} GPU(s) of one node",
                str(pool.gpu_count),
            )
        )

    # Bucket names differ per cloud: each cloud's naming rules are in triton_platform.config.rules.clouds.
    if cfg.model_repository.static_keys and cfg.cloud == "local":
        issues.append(
            Issue(k("modelRepository.staticKeys"), "MinIO always uses a Secret; staticKeys is the cloud opt-in", None)
        )

    # Service.
    svc = cfg.triton.service
    if svc.node_ports and svc.type != "NodePort":
        issues.append(Issue(k("triton.service.nodePorts"), f"needs service type 'NodePort' (is {svc.type!r})", None))
    if len({svc.http_port, svc.grpc_port, svc.metrics_port}) != 3:
        issues.append(Issue(k("triton.service"), "httpPort, grpcPort and metricsPort must differ", "8000/8001/8002"))
    if svc.node_ports and len({svc.node_ports.http, svc.node_ports.grpc, svc.node_ports.metrics}) != 3:
        issues.append(
            Issue(k("triton.service.nodePorts"), "http, grpc and metrics node ports must differ", "30800/30801/30802")
        )
    auto = cfg.triton.autoscaling
    if auto.enabled and auto.min_replicas > auto.max_replicas:
        issues.append(Issue(k("triton.autoscaling.minReplicas"), "must be <= maxReplicas", "1"))
    issues += _autoscaling_issues(cfg)
    issues += _load_test_issues(cfg, base_dir)
    if cfg.triton.namespace == cfg.monitoring.namespace:
        issues.append(Issue(k("monitoring.namespace"), "must differ from triton.namespace", "'monitoring'"))

    # Models, or a release promoted from another stack: one of the two.
    if cfg.models and cfg.release is not None:
        issues.append(
            Issue(
                k("release"),
                "set either models (publish them here) or release (serve another stack's tested release), "
                "not both; a promoted release is exactly the upstream's models",
                "{fromStack: acme/triton-platform/dev, digest: 'sha256:...'} and no models",
            )
        )
    if not cfg.models and cfg.release is None:
        issues.append(
            Issue(
                k("models"),
                "at least one model (or a release to promote) is needed: Triton does not start on an empty "
                "model repository",
                "[{name: sample-mlp, source: samples/sample-mlp/model.onnx, format: onnx}]",
            )
        )
    seen: dict[str, int] = {}
    for i, m in enumerate(cfg.models):
        mk = f"models[{i}]"
        if m.name in seen:
            issues.append(
                Issue(
                    k(f"{mk}.name"),
                    f"duplicate model name {m.name!r} (also models[{seen[m.name]}])",
                    repr(m.name + "-v2"),
                )
            )
        seen.setdefault(m.name, i)
        issues += _source_issues(k(f"{mk}.source"), m, base_dir)
        if m.format == "tensorrt" and pool is None:
            issues.append(
                Issue(
                    k(f"{mk}.format"),
                    "TensorRT engines need a GPU node pool (cluster.gpuNodePool); use 'onnx' for CPU",
                    "'onnx'",
                )
            )
        if m.instance_kind == "gpu" and pool is None:
            issues.append(Issue(k(f"{mk}.instanceKind"), "'gpu' needs cluster.gpuNodePool", "'cpu'"))
        if m.format == "tensorrt" and cfg.builder == "local" and cfg.cloud != "local":
            pass  # allowed: engines built here must match the pool's compute capability (checked by the builder)
    cache, served = cfg.publisher.cache_prefix, cfg.model_repository.prefix
    if cache == served or cache.startswith(served + "/") or served.startswith(cache + "/"):
        issues.append(
            Issue(
                k("publisher.cachePrefix"),
                f"must lie outside modelRepository.prefix {served!r} so Triton never loads it",
                "'_cache'",
            )
        )
    # An engine is built on a GPU of its own architecture (a Job selected by GPU feature discovery's
    # nvidia.com/gpu.compute.major/minor, or this machine's GPU for the local builder), so every
    # capability asked for must be one a GPU pool of the stack provides; a stack has one GPU pool.
    pool_cc = product.compute_capability if product else None
    for cc in cfg.publisher.compute_capabilities:
        if not re.fullmatch(r"\d{1,2}\.\d", cc):
            issues.append(Issue(k("publisher.computeCapabilities"), f"{cc!r} is not a compute capability", "'8.0'"))
        elif cc != pool_cc and not (pool and product is None):
            where = (
                f"the GPU pool's {product.product} is {pool_cc}" if product else "the stack has no cluster.gpuNodePool"
            )
            issues.append(
                Issue(
                    k("publisher.computeCapabilities"),
                    f"no GPU pool of this stack provides compute capability {cc!r} ({where}); each engine is built "
                    "on a GPU of its own architecture, so an engine for it could be neither built nor tested",
                    repr(pool_cc) if pool_cc else "[]",
                )
            )
    if cfg.models and cfg.triton.model_control_mode == "none" and any(m.version_policy.all for m in cfg.models):
        pass

    # Rules only the chosen cloud can answer (imported here: cloud_rules imports this module).
    from triton_platform.config.rules.clouds import cloud_issues

    issues += cluster_access.access_issues(cfg)
    issues += cloud_issues(cfg)
    return issues


def _source_issues(key: str, m: ModelSpec, base_dir: Path) -> list[Issue]:
    src = m.source
    if re.match(r"^(s3|gs|az)://[^/]+/.+", src):
        return []
    if "://" in src:
        return [
            Issue(
                key, f"unsupported URI {src!r}; use a local path or s3://, gs://, az:// URIs", "'models/resnet50.onnx'"
            )
        ]
    path = (base_dir / src) if not Path(src).is_absolute() else Path(src)
    if m.format in ("tensorrt", "onnx"):
        if not path.is_file():
            return [Issue(key, f"ONNX file {src!r} not found (relative to {base_dir})", "'models/resnet50.onnx'")]
        if path.suffix != ".onnx":
            return [Issue(key, f"{src!r} is not an .onnx file", "'models/resnet50.onnx'")]
        return []
    if not path.is_dir() or not (path / "model.py").is_file():
        return [Issue(key, f"python models need a directory with model.py; {src!r} is not one", "'models/preprocess'")]
    sig = m.signature or "model.onnx"
    if not (path / sig).is_file():
        return [
            Issue(
                key,
                f"python model {src!r} has no {sig!r} to read its inputs/outputs from (set signature)",
                "'model.onnx'",
            )
        ]
    return []


def parse_config(
    raw: Mapping[str, Any],
    *,
    base_dir: Path | str = ".",
    stack: str | None = None,
    provider_config: Mapping[str, str] | None = None,
) -> PlatformConfig:
    """Validate a whole configuration (camelCase keys) or raise one ConfigError.

    ``provider_config`` holds the stack's provider keys (``aws:region``, ``gcp:project``, ...):
    defaults for the cluster's region, location and project (triton_platform.config.providers).
    """
    data, conflicts = apply_provider_defaults(raw, provider_config or {})
    issues: list[Issue] = [Issue(f"{NAMESPACE}:{key}", why, example) for key, why, example in conflicts]
    unknown = [key for key in data if key not in TOP_LEVEL_KEYS]
    for key in unknown:
        issues.append(Issue(f"{NAMESPACE}:{key}", f"unknown key; known keys: {', '.join(TOP_LEVEL_KEYS)}", None))
        data.pop(key)
    try:
        cfg = PlatformConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(issues + _pydantic_issues(err), stack) from None
    issues += _semantic_issues(cfg, Path(base_dir))
    if issues:
        raise ConfigError(issues, stack)
    return cfg


def load_config(base_dir: Path | str = ".") -> PlatformConfig:
    """Read and validate the current stack's ``triton-platform:`` configuration."""
    import json

    import pulumi
    from pulumi.runtime import config as runtime_config

    # Enumerate every key of our namespace (pulumi.Config only answers for known keys,
    # and an unknown key must be an error, not ignored). Values arrive as strings;
    # structured ones are JSON.
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    providers = {key: str(everything[key]) for key in PROVIDER_KEYS if everything.get(key)}
    raw: dict[str, Any] = {}
    for full_key, value in everything.items():
        ns, _, key = full_key.partition(":")
        if ns != NAMESPACE or not key:
            continue
        try:
            raw[key] = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            raw[key] = value
    return parse_config(raw, base_dir=base_dir, stack=pulumi.get_stack(), provider_config=providers)
