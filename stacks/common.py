"""What every platform deploys once it has a cluster and a bucket: monitoring, models, Triton.

Each composition (``stacks/local.py``, ``aws.py``, ``gcp.py``, ``azure.py``) creates its
cluster, bucket, identities and GPU operator, describes how Triton reaches the bucket as a
``StorageBinding``, and hands over to ``deploy_workloads``. The order is the one of DESIGN.md:
monitoring (its CRDs) and published models before the Triton release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.model_publisher import ModelPublisher, ModelPublisherArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.triton_server import TritonServer, TritonServerArgs
from triton_platform.config import PlatformConfig
from triton_platform.triton_values import gpu_placement, triton_values
from triton_platform.versions import NGC_RELEASES

TRITON_SERVICE_ACCOUNT = "triton"
BUILDER_SERVICE_ACCOUNT = "triton-engine-builder"


def kubeconfig_path(base_dir: Path, kind: str, cluster_name: str) -> str:
    """Where a composition writes its cluster's kubeconfig for tools beside ``pulumi up``.

    ``.state/`` is git-ignored; the engine builder and ``kubectl`` (see the README) read the file there.
    """
    return str((base_dir / ".state" / f"{kind}-{cluster_name}.kubeconfig").resolve())


@dataclass(frozen=True)
class StorageBinding:
    """How Triton and the publisher reach the model repository.

    ``repository_uri`` is what Triton gets as ``--model-repository``:
    ``s3://bucket/prefix``, ``s3://http://minio.minio:9000/bucket/prefix``,
    ``gs://bucket/prefix`` or ``as://account/container/prefix``.
    ``publisher_store`` is the store descriptor the ModelVersion dynamic provider parses
    (``triton_platform.publisher.stores.base.StoreRef``): never credentials, only where to find them.
    """

    repository_uri: pulumi.Input[str]
    publisher_store: pulumi.Input[Mapping[str, Any]]
    # Non-secret env for Triton (AWS_DEFAULT_REGION, ...).
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # Credentials Triton reads as env (MinIO, or static keys explicitly opted in): values
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


@dataclass(frozen=True)
class ClusterBinding:
    """A cluster the stack deploys into, with the provider every Kubernetes resource uses."""

    name: pulumi.Input[str]
    provider: pulumi.ProviderResource
    kubeconfig: pulumi.Output[str]  # secret
    # A kubeconfig file the publisher's Kubernetes engine builder may read (path, not contents).
    kubeconfig_path: str | None = None
    # Resources Triton must wait for (GPU operator, node pools).
    ready: Sequence[pulumi.Resource] = ()
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


def deploy_workloads(
    name: str,
    cfg: PlatformConfig,
    *,
    cluster: ClusterBinding,
    storage: StorageBinding,
    base_dir: Path,
    service_annotations: Mapping[str, str] | None = None,
) -> WorkloadOutputs:
    """Triton's namespace, monitoring, the model publisher and the Triton release, in that order."""
    k8s_opts = pulumi.ResourceOptions(provider=cluster.provider)
    ns = k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=cfg.triton.namespace,
            labels={
                "app.kubernetes.io/part-of": "triton-platform",
                # Triton runs non-root with all capabilities dropped: the restricted profile holds.
                "pod-security.kubernetes.io/enforce": "restricted",
            },
        ),
        opts=k8s_opts,
    )
    namespace = ns.metadata.name

    secret_name: pulumi.Output[str] | None = None
    triton_deps: list[pulumi.Resource] = [ns, *cluster.ready, *storage.ready]
    if storage.credentials_env:
        credentials: dict[str, pulumi.Output[str]] = {
            key: pulumi.Output.secret(value) for key, value in storage.credentials_env.items()
        }
        secret = k8s.core.v1.Secret(
            f"{name}-model-repository-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="triton-model-repository", namespace=namespace),
            string_data=credentials,
            type="Opaque",
            opts=pulumi.ResourceOptions(provider=cluster.provider, additional_secret_outputs=["data", "stringData"]),
        )
        secret_name = secret.metadata.name
        triton_deps.append(secret)

    monitoring: Monitoring | None = None
    if cfg.monitoring.enabled:
        monitoring = Monitoring(
            f"{name}-monitoring",
            MonitoringArgs(
                k8s_provider=cluster.provider,
                namespace=cfg.monitoring.namespace,
                grafana_enabled=cfg.monitoring.grafana.enabled,
                queue_time_ms=cfg.monitoring.alerts.queue_time_ms,
                failure_ratio=cfg.monitoring.alerts.failure_ratio,
                triton_namespace=cfg.triton.namespace,
                dashboard_path=str(base_dir / "dashboards" / "triton.json"),
            ),
            opts=pulumi.ResourceOptions(depends_on=list(cluster.ready)),
        )
        # Triton's ServiceMonitor needs the Prometheus operator's CRDs first.
        triton_deps += monitoring.ready

    builder = _builder_settings(name, cfg, cluster, storage, namespace, ns)
    publisher = ModelPublisher(
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
        ),
        opts=pulumi.ResourceOptions(depends_on=[*storage.ready, *cluster.ready]),
    )
    triton_deps += publisher.resources

    values = triton_values(
        cfg,
        repository_uri=storage.repository_uri,
        credentials_secret=secret_name,
        env=storage.env,
        service_account_annotations=storage.service_account_annotations,
        pod_labels=storage.pod_labels,
        service_annotations=service_annotations,
        gke=cluster.gke,
    )
    values = deep_merge(values, storage.chart_values)
    triton = TritonServer(
        f"{name}-triton",
        TritonServerArgs(k8s_provider=cluster.provider, namespace=namespace, values=values),
        opts=pulumi.ResourceOptions(depends_on=triton_deps),
    )
    return WorkloadOutputs(
        cluster=cluster,
        triton_namespace=namespace,
        triton_service=triton.service_name,
        http_endpoint=triton.http_endpoint,
        grpc_endpoint=triton.grpc_endpoint,
        metrics_endpoint=triton.metrics_endpoint,
        published_versions=publisher.versions,
        load_balancer=triton.load_balancer,
        grafana_admin_password=monitoring.grafana_admin_password if monitoring else None,
        prometheus_url=monitoring.prometheus_url if monitoring else None,
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
    return outputs


def _builder_settings(
    name: str,
    cfg: PlatformConfig,
    cluster: ClusterBinding,
    storage: StorageBinding,
    namespace: pulumi.Output[str],
    ns: pulumi.Resource,
) -> dict[str, Any]:
    """Where TensorRT engines are built; a builder ServiceAccount when Jobs build them."""
    timeout = cfg.publisher.build_timeout_seconds
    if cfg.builder == "local" or not any(m.format == "tensorrt" for m in cfg.models):
        return {"kind": "local", "timeout_seconds": timeout}
    place = gpu_placement(cfg, gke=cluster.gke)
    k8s.core.v1.ServiceAccount(
        f"{name}-engine-builder-sa",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=BUILDER_SERVICE_ACCOUNT,
            namespace=namespace,
            annotations=dict(storage.builder_service_account_annotations),
            labels=dict(storage.builder_pod_labels),
        ),
        automount_service_account_token=False,
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[ns]),
    )
    return {
        "kind": "kubernetes",
        "kubeconfig_path": cluster.kubeconfig_path,
        "namespace": cfg.triton.namespace,
        "service_account": BUILDER_SERVICE_ACCOUNT,
        "node_selector": dict(place.node_selector),
        "tolerations": [dict(t) for t in (*place.tolerations, *cluster.gpu_pool_tolerations)],
        "resources": dict(place.resources),
        "pod_labels": dict(storage.builder_pod_labels),
        "timeout_seconds": timeout,
    }


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, recursing into nested mappings (lists and scalars replace)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
