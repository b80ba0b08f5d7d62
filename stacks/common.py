"""The one wiring every platform shares: cluster + storage -> namespace, monitoring, models, Triton.

Each cloud module (``stacks/local.py``, ``aws.py``, ``gcp.py``, ``azure.py``) has a
``provision(cfg, base_dir)`` that creates its cluster, bucket, identities and GPU operator and
returns a ``CloudPlatform``: the cluster as a ``ClusterBinding``, how Triton reaches the bucket
as a ``StorageBinding``, and its own outputs. ``compose`` is the one place that deploys the
workloads onto it (``deploy_workloads``) and assembles the stack outputs. The order is the one
of the README's diagram: monitoring (its CRDs) and published models before the Triton release.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import pulumi
import pulumi_kubernetes as k8s

from components.monitoring.monitoring import RELEASE_NAME as PROMETHEUS_RELEASE
from components.monitoring.monitoring import Monitoring, MonitoringArgs
from components.providers.release_promotion import ReleasePromotionArgs
from components.publisher.model_publisher import ModelPublisher, ModelPublisherArgs
from components.serving.triton_namespace import BuilderServiceAccount, TritonNamespace, TritonNamespaceArgs
from components.serving.triton_server import TritonServer, TritonServerArgs
from stacks.release import ReleaseDeployment, builds_engines, deploy_release
from triton_platform.catalog.versions import NGC_RELEASES
from triton_platform.config import PlatformConfig
from triton_platform.publisher.builders import BuilderRef
from triton_platform.publisher.stores import StoreRef
from triton_platform.publisher.stores.ref import release_location
from triton_platform.release.manifest import digest_hex
from triton_platform.values.triton import engine_build_selectors, gpu_placement, location_uri, triton_values

# The components a stack creates only with a feature on (prometheus-adapter with autoscaling on
# Triton's metrics, Argo Rollouts and the release locations with a canary rollout, the Gateway)
# are imported where they are created: a stack without the feature does not load them.
if TYPE_CHECKING:
    from components.providers.release_location import ReleaseLocation
    from components.serving.gateway import ServingGateway
    from components.serving.rollouts import ArgoRollouts

STATE_DIR_ENV = "TRITON_PLATFORM_STATE_DIR"
TRITON_SERVICE_ACCOUNT = "triton"
BUILDER_SERVICE_ACCOUNT = "triton-engine-builder"
# The Triton Service's name: TritonServerArgs.release_name, the chart's fullnameOverride.
TRITON_RELEASE = TritonServerArgs.model_fields["release_name"].default


def kubeconfig_path(base_dir: Path, kind: str, cluster_name: str) -> str:
    """Where a composition writes its cluster's kubeconfig for tools beside ``pulumi up``.

    ``.state/`` is git-ignored; the engine builder and ``kubectl`` (see the README) read the file there.
    ``TRITON_PLATFORM_STATE_DIR`` moves it (the tests point it at a temporary folder, so a test
    run never overwrites a developer's real kubeconfig).
    """
    state_dir = Path(os.environ.get(STATE_DIR_ENV) or base_dir / ".state")
    return str((state_dir / f"{kind}-{cluster_name}.kubeconfig").resolve())


@dataclass(frozen=True)
class StorageBinding:
    """How Triton and the publisher reach the model repository.

    ``repository_uri`` is what Triton gets as ``--model-repository``:
    ``s3://bucket/prefix``, ``s3://http://seaweedfs-all-in-one.seaweedfs:8333/bucket/prefix``,
    ``gs://bucket/prefix`` or ``as://account/container/prefix``.
    ``publisher_store`` is where the publisher and the release promotion write (an Output of it
    when the bucket's name is generated): never credentials, only where to find them.
    """

    repository_uri: pulumi.Input[str]
    publisher_store: StoreRef | pulumi.Output[StoreRef]
    # Non-secret env for Triton (AWS_DEFAULT_REGION, ...).
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # Credentials Triton reads as env (SeaweedFS on kind, or static keys explicitly opted in): values
    # must be secret Outputs. deploy_workloads puts them in a Kubernetes Secret in Triton's
    # namespace; nothing else ever holds them.
    credentials_env: Mapping[str, pulumi.Output[str]] | None = None
    # Annotations/labels that bind Triton's ServiceAccount to a keyless cloud identity.
    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    # The same for the engine-builder Job's ServiceAccount (write access to the cache).
    builder_service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    builder_pod_labels: Mapping[str, str] = field(default_factory=dict)
    # Resources that must exist before anything reads the bucket (bucket policy, IAM bindings).
    ready: Sequence[pulumi.Resource] = ()
    # Extra chart values this storage needs (e.g. Azure's model-sync sidecar), deep-merged
    # over the values computed from the config.
    chart_values: Mapping[str, Any] = field(default_factory=dict)
    # triton.rollout.strategy canary: the URI Triton is given for <cache>/releases/served (the
    # parent of every release's own repository, publisher.stores.base.release_locations_root), in
    # repository_uri's form; a release is served from locations_root_uri + "/" + <hex>. None when
    # the stack is instant (Triton's identity may read <prefix> only).
    locations_root_uri: pulumi.Input[str] | None = None
    # Given one release's location key <cache>/releases/served/<hex>, the chart values the storage
    # needs to serve it (Azure keyless: the model-sync containers mirror that key instead of
    # <prefix>), deep-merged after modelRepository.uri is set; {} on the others.
    location_values: Callable[[str], Mapping[str, Any]] | None = None


class ClusterComponent(Protocol):
    """What every cluster component (KindCluster, EksCluster, GkeCluster, AksCluster) exposes."""

    cluster_name: pulumi.Output[str]
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]


class ClusterBinding(NamedTuple):
    """A cluster the stack deploys into, with the provider every Kubernetes resource uses."""

    @classmethod
    def of(cls, cluster: ClusterComponent, **extra: Any) -> ClusterBinding:
        """The binding of a cluster component; ``extra`` sets the cloud-specific fields."""
        return cls(name=cluster.cluster_name, provider=cluster.provider, kubeconfig=cluster.kubeconfig, **extra)

    name: pulumi.Input[str]
    provider: pulumi.ProviderResource
    kubeconfig: pulumi.Output[str]  # secret
    # A kubeconfig file the publisher's Kubernetes engine builder may read (path, not contents).
    kubeconfig_path: str | None = None
    # Resources Triton must wait for (GPU operator, node pools).
    ready: Sequence[pulumi.Resource] = ()
    # What only Triton's release waits for, while the rest proceeds (kind: its image pulled into the node).
    serving_ready: Sequence[pulumi.Resource] = ()
    gke: bool = False
    # Taints of the GPU pool beyond nvidia.com/gpu (e.g. AKS spot) that pods there must tolerate.
    gpu_pool_tolerations: Sequence[Mapping[str, str]] = ()


@dataclass
class WorkloadOutputs:
    """What deploy_workloads created that the stack exports, and the cluster it created it in."""

    cluster: ClusterBinding
    triton_namespace: pulumi.Output[str]
    triton_service: pulumi.Output[str]
    http_endpoint: pulumi.Output[str]
    grpc_endpoint: pulumi.Output[str]
    metrics_endpoint: pulumi.Output[str]
    published_versions: pulumi.Output[Mapping[str, int]]
    load_balancer: pulumi.Output[str] | None = None
    grafana_admin_password: pulumi.Output[str] | None = None
    prometheus_url: pulumi.Output[str] | None = None
    # `release` and `releaseHistory` (stacks/release.py).
    release_outputs: dict[str, Any] = field(default_factory=dict)
    # The Gateway in front of Triton (triton.gateway.enabled).
    gateway: pulumi.Output[str] | None = None
    # `releaseServing` / `releaseRollingOut`: the release at 100 % and the one a canary rolls out (or None).
    release_serving: pulumi.Input[str | None] = None
    release_rolling_out: pulumi.Input[str | None] = None


@dataclass
class CloudPlatform:
    """What one cloud's composition provides: its cluster, its storage, and its own outputs.

    ``compose`` (below) is the one place that turns it into a stack: the workloads of
    ``deploy_workloads`` go into ``cluster`` reading ``storage``, and the stack outputs are
    ``outputs`` + ``workload_outputs`` + ``endpoint_overrides`` (kind publishes Triton on 127.0.0.1).
    """

    cluster: ClusterBinding
    storage: StorageBinding
    outputs: dict[str, Any] = field(default_factory=dict)
    service_annotations: Mapping[str, str] = field(default_factory=dict)
    endpoint_overrides: dict[str, Any] = field(default_factory=dict)
    # The same cloud's annotations for the Gateway's LoadBalancer (service_annotations(gateway_exposure(cfg))).
    gateway_annotations: Mapping[str, str] = field(default_factory=dict)


def compose(cfg: PlatformConfig, platform: CloudPlatform, base_dir: Path) -> dict[str, Any]:
    """Deploy the workloads onto a cloud's cluster and storage; return the stack outputs."""
    workloads = deploy_workloads(
        pulumi.get_stack(),
        cfg,
        cluster=platform.cluster,
        storage=platform.storage,
        base_dir=base_dir,
        service_annotations=platform.service_annotations,
        gateway_annotations=platform.gateway_annotations,
    )
    return {
        "cloud": cfg.cloud,
        **platform.outputs,
        "modelRepository": platform.outputs.get("modelRepository", platform.storage.repository_uri),
        **workload_outputs(workloads),
        **platform.endpoint_overrides,
    }


def deploy_workloads(
    name: str,
    cfg: PlatformConfig,
    *,
    cluster: ClusterBinding,
    storage: StorageBinding,
    base_dir: Path,
    service_annotations: Mapping[str, str] | None = None,
    gateway_annotations: Mapping[str, str] | None = None,
) -> WorkloadOutputs:
    """Triton's namespace, monitoring, the model publisher and the Triton release, in that order."""
    # TensorRT models to publish, or (release.buildMissingEngines) engines a promotion may build.
    builds_in_cluster = cfg.builder == "kubernetes" and builds_engines(cfg)
    home = _triton_namespace(name, cfg, cluster, storage, builds_in_cluster=builds_in_cluster)
    triton_deps: list[pulumi.Resource] = [*home.ready, *cluster.ready, *cluster.serving_ready, *storage.ready]
    monitoring: Monitoring | None = None
    if cfg.monitoring.enabled:
        monitoring, ready = _monitoring(name, cfg, cluster, base_dir)
        # Triton's ServiceMonitor (and the HPA's metrics) need the Prometheus operator's CRDs first.
        triton_deps += ready
    builder = builder_ref(cfg, cluster, storage, builds_in_cluster=builds_in_cluster)
    # The engine-build Jobs run in Triton's namespace as the builder ServiceAccount: both first.
    publish_deps = [*storage.ready, *cluster.ready, *home.ready]
    publisher = _model_publisher(name, cfg, storage, builder, base_dir, publish_deps)
    triton_deps += publisher.resources
    # The release: kept from what the publisher wrote, or (triton-platform:release) promoted from
    # another stack, which resolve_upstream checked before anything was registered (stacks/release.py).
    release = deploy_release(
        f"{name}-models", cfg, storage.publisher_store, publisher=publisher, depends_on=publish_deps, builder=builder
    )
    triton_deps += release.resources
    location: ReleaseLocation | None = None
    if cfg.triton.rollout.strategy == "canary":
        # The chart's Rollout and AnalysisTemplate need Argo Rollouts' CRDs (and its controller) first.
        triton_deps.append(_argo_rollouts(name, cluster))
        # Each release in its own immutable location: the canary pods serve it, the stable ones the previous.
        location = _release_location(name, storage, publisher, release)
        triton_deps.append(location)
    triton = _triton_server(
        name, cfg, cluster, storage, home, base_dir, service_annotations, triton_deps, release if location else None
    )
    gateway = (
        _serving_gateway(name, cfg, cluster, triton, gateway_annotations, monitoring)
        if cfg.triton.gateway.enabled
        else None
    )
    return WorkloadOutputs(
        cluster=cluster,
        triton_namespace=home.namespace,
        triton_service=triton.service_name,
        http_endpoint=triton.http_endpoint,
        grpc_endpoint=triton.grpc_endpoint,
        metrics_endpoint=triton.metrics_endpoint,
        published_versions=publisher.versions if release.published_versions is None else release.published_versions,
        load_balancer=triton.load_balancer,
        grafana_admin_password=monitoring.grafana_admin_password if monitoring else None,
        prometheus_url=monitoring.prometheus_url if monitoring else None,
        release_outputs=release.outputs,
        gateway=gateway.gateway_name if gateway else None,
        # Instant: every pod serves the release at once, nothing rolls out.
        release_serving=location.serving if location else release.digest,
        release_rolling_out=location.rolling_out if location else None,
    )


def _release_location(
    name: str, storage: StorageBinding, publisher: ModelPublisher, release: ReleaseDeployment
) -> ReleaseLocation:
    """The release copied into ``<cache>/releases/served/<hex>`` once kept (or promoted); older locations pruned.

    A child of the stack's ModelPublisher, as the ReleasePromotion is; it keeps the locations of the
    releases the bucket's history keeps (the promotion's own ``keep``), so a rollback finds its location.
    """
    from components.providers.release_location import ReleaseLocation, ReleaseLocationArgs

    return ReleaseLocation(
        f"{name}-models-location",
        ReleaseLocationArgs(
            digest=release.digest,
            store=storage.publisher_store,
            keep=ReleasePromotionArgs.model_fields["keep"].default,
        ),
        pulumi.ResourceOptions(parent=publisher, depends_on=[release.release] if release.release else []),
    )


def _triton_namespace(
    name: str, cfg: PlatformConfig, cluster: ClusterBinding, storage: StorageBinding, *, builds_in_cluster: bool
) -> TritonNamespace:
    """Triton's namespace, its credentials Secret (if any) and the engine builder's ServiceAccount."""
    builder_account = (
        BuilderServiceAccount(
            name=BUILDER_SERVICE_ACCOUNT,
            annotations=dict(storage.builder_service_account_annotations),
            labels=dict(storage.builder_pod_labels),
        )
        if builds_in_cluster
        else None
    )
    return TritonNamespace(
        name,
        TritonNamespaceArgs(
            k8s_provider=cluster.provider,
            namespace=cfg.triton.namespace,
            credentials_env=storage.credentials_env or None,
            builder_service_account=builder_account,
        ),
        opts=pulumi.ResourceOptions(depends_on=list(cluster.ready)),
    )


def _monitoring(
    name: str, cfg: PlatformConfig, cluster: ClusterBinding, base_dir: Path
) -> tuple[Monitoring, list[pulumi.Resource]]:
    """kube-prometheus-stack with Triton's dashboard and alerts (and prometheus-adapter when the HPA
    scales on Triton's metrics); with what Triton must wait for."""
    monitoring = Monitoring(
        f"{name}-monitoring",
        MonitoringArgs(
            k8s_provider=cluster.provider,
            namespace=cfg.monitoring.namespace,
            grafana_enabled=cfg.monitoring.grafana.enabled,
            queue_time_ms=cfg.monitoring.alerts.queue_time_ms,
            failure_ratio=cfg.monitoring.alerts.failure_ratio,
            gateway_enabled=cfg.triton.gateway.enabled,
            gateway_error_ratio=cfg.monitoring.alerts.gateway_error_ratio,
            triton_namespace=cfg.triton.namespace,
            dashboard_path=str(base_dir / "dashboards" / "triton.json"),
            cloud=cfg.cloud,
        ),
        opts=pulumi.ResourceOptions(depends_on=list(cluster.ready)),
    )
    ready: list[pulumi.Resource] = list(monitoring.ready)
    if cfg.triton.autoscaling.enabled and cfg.triton.autoscaling.effective_metric != "cpu":
        # The HPA's Triton metrics come from prometheus-adapter reading this Prometheus.
        from components.monitoring.metrics_adapter import MetricsAdapter, MetricsAdapterArgs

        adapter = MetricsAdapter(
            f"{name}-metrics-adapter",
            MetricsAdapterArgs(
                k8s_provider=cluster.provider,
                namespace=monitoring.namespace,
                triton_namespace=cfg.triton.namespace,
                prometheus_url=prometheus_service(cfg),
            ),
            opts=pulumi.ResourceOptions(depends_on=monitoring.ready),
        )
        ready.append(adapter)
    return monitoring, ready


def _model_publisher(
    name: str,
    cfg: PlatformConfig,
    storage: StorageBinding,
    builder: BuilderRef,
    base_dir: Path,
    depends_on: Sequence[pulumi.Resource],
) -> ModelPublisher:
    return ModelPublisher(
        f"{name}-models",
        ModelPublisherArgs(
            models=list(cfg.models),
            store=storage.publisher_store,
            builder=builder,
            ngc_release=cfg.triton.version,
            tensorrt_version=NGC_RELEASES[cfg.triton.version].tensorrt,
            compute_capabilities=cfg.compute_capabilities,
            base_dir=str(base_dir),
            instance_kind="KIND_GPU" if cfg.gpu_product else "KIND_CPU",
            retain_on_delete=cfg.model_repository.retain_on_delete,
        ),
        opts=pulumi.ResourceOptions(depends_on=list(depends_on)),
    )


def _triton_server(
    name: str,
    cfg: PlatformConfig,
    cluster: ClusterBinding,
    storage: StorageBinding,
    home: TritonNamespace,
    base_dir: Path,
    service_annotations: Mapping[str, str] | None,
    depends_on: Sequence[pulumi.Resource],
    canary_release: ReleaseDeployment | None = None,
) -> TritonServer:
    """The Triton Helm release: values from the config, the storage's access and its extra chart values.

    ``canary_release`` (triton.rollout.strategy canary): the pods serve that release from its own location.
    """
    digest = canary_release.digest if canary_release else None
    values = triton_values(
        cfg,
        repository_uri=served_location_uri(storage, digest) if digest else storage.repository_uri,
        credentials_secret=home.credentials_secret,
        env=storage.env,
        service_account_annotations=storage.service_account_annotations,
        pod_labels=storage.pod_labels,
        service_annotations=service_annotations,
        gke=cluster.gke,
        base_dir=base_dir,
        # A canary's analysis queries the stack's Prometheus (none without monitoring).
        prometheus_url=f"{prometheus_service(cfg)}:9090" if cfg.monitoring.enabled else None,
        release_digest=digest,
    )
    values = deep_merge(values, storage.chart_values)
    if digest is not None and storage.location_values is not None:
        # After the storage's own values: e.g. Azure's sync sidecar mirrors the location, not <prefix>.
        key = digest.apply(lambda d: release_location(cfg.publisher.cache_prefix, digest_hex(d)))
        values = deep_merge(values, location_chart_values(storage.location_values, key))
    return TritonServer(
        f"{name}-triton",
        TritonServerArgs(k8s_provider=cluster.provider, namespace=home.namespace, values=values),
        opts=pulumi.ResourceOptions(depends_on=list(depends_on)),
    )


def served_location_uri(storage: StorageBinding, digest: pulumi.Output[str]) -> pulumi.Output[str]:
    """The URI of release ``digest``'s own location: ``storage.locations_root_uri`` + ``/<hex>``."""
    if storage.locations_root_uri is None:
        raise ValueError("StorageBinding.locations_root_uri is needed under triton.rollout.strategy canary")
    return pulumi.Output.all(storage.locations_root_uri, digest).apply(lambda a: location_uri(a[0], digest_hex(a[1])))


# What location_values gets in place of the location key, which is an Output until the release is known.
_LOCATION_PLACEHOLDER = "@@release-location@@"


def location_chart_values(fn: Callable[[str], Mapping[str, Any]], key: pulumi.Output[str]) -> dict[str, Any]:
    """``fn(key)`` for a key that is an Output: ``fn`` runs once on a placeholder, and every string
    of its result that holds the placeholder becomes an Output of the string with the key in place.

    ``StorageBinding.location_values`` only places the key (an argument, a prefix), so this is exact;
    the rest of its values stay plain (a preview shows them before the release's digest is known).
    """

    def placed(text: str) -> pulumi.Output[str]:
        return key.apply(lambda k: text.replace(_LOCATION_PLACEHOLDER, k))

    def fill(value: Any) -> Any:
        if isinstance(value, str) and _LOCATION_PLACEHOLDER in value:
            return placed(value)
        if isinstance(value, Mapping):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [fill(v) for v in value]
        return value

    return fill(dict(fn(_LOCATION_PLACEHOLDER)))


def prometheus_service(cfg: PlatformConfig) -> str:
    """kube-prometheus-stack's Prometheus Service, without the port (prometheus-adapter adds its own)."""
    return f"http://{PROMETHEUS_RELEASE}-prometheus.{cfg.monitoring.namespace}.svc"


def _argo_rollouts(name: str, cluster: ClusterBinding) -> ArgoRollouts:
    """Argo Rollouts with its Gateway API plugin (triton.rollout.strategy canary)."""
    from components.serving.rollouts import ArgoRollouts, ArgoRolloutsArgs

    return ArgoRollouts(
        f"{name}-rollouts",
        ArgoRolloutsArgs(k8s_provider=cluster.provider),
        opts=pulumi.ResourceOptions(depends_on=list(cluster.ready)),
    )


def gateway_exposure(cfg: PlatformConfig) -> PlatformConfig:
    """``cfg`` as if Triton's Service were the Gateway's: a LoadBalancer, internal as ``triton.gateway.internal``.

    Each cloud's ``service_annotations`` reads it, so the Gateway gets the same load-balancer
    annotations a LoadBalancer Service of Triton would (``gateway_annotations`` of CloudPlatform).
    """
    triton = cfg.triton
    service = triton.service.model_copy(update={"type": "LoadBalancer", "internal": triton.gateway.internal})
    return cfg.model_copy(update={"triton": triton.model_copy(update={"service": service})})


def _serving_gateway(
    name: str,
    cfg: PlatformConfig,
    cluster: ClusterBinding,
    triton: TritonServer,
    annotations: Mapping[str, str] | None,
    monitoring: Monitoring | None,
) -> ServingGateway:
    """Envoy Gateway and the Gateway routing to Triton's Service; its proxies scraped when monitoring is on."""
    from components.serving.gateway import ServingGateway, ServingGatewayArgs

    svc = cfg.triton.service
    return ServingGateway(
        f"{name}-gateway",
        ServingGatewayArgs(
            k8s_provider=cluster.provider,
            gateway=cfg.triton.gateway,
            namespace=cfg.triton.namespace,
            service_name=TRITON_RELEASE,
            http_port=svc.http_port,
            grpc_port=svc.grpc_port,
            service_annotations=dict(annotations or {}),
            monitored=monitoring is not None,
            canary=cfg.triton.rollout.strategy == "canary",
        ),
        # The PodMonitor needs the Prometheus operator's CRDs; the routes need Triton's Service.
        opts=pulumi.ResourceOptions(depends_on=[triton, *(monitoring.ready if monitoring else [])]),
    )


def workload_outputs(workloads: WorkloadOutputs) -> dict[str, Any]:
    """The stack outputs of the cluster and of what deploy_workloads created in it.

    The same keys on every platform (the README's table, scripts and tests read them).
    ``tritonHttp``/``tritonGrpc``/``tritonMetrics`` are where Triton is reached: the in-cluster
    Service unless a composition knows better (kind publishes them on 127.0.0.1) and replaces
    them; ``tritonInCluster*`` are always the in-cluster ones.
    """
    cluster = workloads.cluster
    outputs: dict[str, Any] = {
        "clusterName": cluster.name,
        "kubeconfig": cluster.kubeconfig,
        "tritonNamespace": workloads.triton_namespace,
        "tritonService": workloads.triton_service,
        "tritonHttp": workloads.http_endpoint,
        "tritonGrpc": workloads.grpc_endpoint,
        "tritonMetrics": workloads.metrics_endpoint,
        "tritonInClusterHttp": workloads.http_endpoint,
        "tritonInClusterGrpc": workloads.grpc_endpoint,
        "tritonInClusterMetrics": workloads.metrics_endpoint,
        "publishedModels": workloads.published_versions,
    }
    if cluster.kubeconfig_path:
        outputs["kubeconfigPath"] = cluster.kubeconfig_path
    if workloads.load_balancer is not None:
        outputs["tritonLoadBalancer"] = workloads.load_balancer
    if workloads.grafana_admin_password is not None:
        # Secret already (a generated password); said again so no composition can export it plain.
        outputs["grafanaAdminPassword"] = pulumi.Output.secret(workloads.grafana_admin_password)
    if workloads.prometheus_url is not None:
        outputs["prometheusUrl"] = workloads.prometheus_url
    if workloads.gateway is not None:
        outputs["tritonGateway"] = workloads.gateway
    outputs.update(workloads.release_outputs)
    # Digests, never secrets: the release at 100 % of traffic and the one a canary rolls out (or None).
    outputs["releaseServing"] = pulumi.Output.unsecret(pulumi.Output.from_input(workloads.release_serving))
    outputs["releaseRollingOut"] = pulumi.Output.unsecret(pulumi.Output.from_input(workloads.release_rolling_out))
    return outputs


def builder_ref(
    cfg: PlatformConfig, cluster: ClusterBinding, storage: StorageBinding, *, builds_in_cluster: bool
) -> BuilderRef:
    """Where TensorRT engines are built: a Job on the GPU pool (as the builder ServiceAccount) or here.

    The one description of the builder: the publisher and a promotion that rebuilds engines get it
    whole, and it reaches the Job manifest unchanged.
    """
    timeout = cfg.publisher.build_timeout_seconds
    if not builds_in_cluster:
        return BuilderRef(kind="local", timeout_seconds=timeout)
    place = gpu_placement(cfg, gke=cluster.gke)
    return BuilderRef(
        kind="kubernetes",
        kubeconfig_path=cluster.kubeconfig_path,
        namespace=cfg.triton.namespace,
        service_account=BUILDER_SERVICE_ACCOUNT,
        node_selector=dict(place.node_selector),
        # Each engine on a GPU of its own architecture (GFD's gpu.compute.major/minor; GKE's accelerator).
        compute_capability_selectors=engine_build_selectors(cfg),
        tolerations=[dict(t) for t in (*place.tolerations, *cluster.gpu_pool_tolerations)],
        resources=dict(place.resources),
        pod_labels=dict(storage.builder_pod_labels),
        timeout_seconds=timeout,
    )


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, recursing into nested mappings (lists and scalars replace)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
