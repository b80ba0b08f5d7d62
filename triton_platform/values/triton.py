"""Values for charts/triton-inference-server, computed from the typed stack config.

Plain function: the TritonServer component passes its result to the Helm release, and the
chart tests render the same values with real helm. Values may hold Pulumi Outputs (bucket
URIs, identity ids); this module only places them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triton_platform.catalog import gpu
from triton_platform.catalog.versions import TRITON_IMAGE_REPOSITORY
from triton_platform.publisher.shapes import model_shapes
from triton_platform.values import autoscaling, rollout
from triton_platform.values.gateway import DEFAULT_GATEWAY_NAME, route_name

if TYPE_CHECKING:
    from triton_platform.config import PlatformConfig

# Shutdown (chart: drain.preStopSleepSeconds, triton.exitTimeoutSeconds, terminationGracePeriodSeconds).
# The preStop sleep keeps Triton serving while the endpoint leaves the Service and the proxies'
# copies of it: on SIGTERM Triton refuses new HTTP connections and stops its models at once
# (server src/main.cc, src/http_server.cc; core InferenceServer::Stop; server#6230).
PRESTOP_SLEEP_SECONDS = 10
# Triton's own default, passed explicitly: how long open connections and in-flight requests get.
EXIT_TIMEOUT_SECONDS = 30
# Covers both, plus time for Triton's exit after the timeout (gRPC and metrics stop after it).
TERMINATION_GRACE_SECONDS = PRESTOP_SLEEP_SECONDS + EXIT_TIMEOUT_SECONDS + 20
# Under triton.rollout.strategy canary: the pod template's annotation naming the release its pods
# serve (the chart's rollout.release). A new release changes the template, so Argo Rollouts computes
# a new pod-template-hash and runs it through the canary steps (its ComputeHash, like Kubernetes'
# controller.ComputeHash, hashes the whole PodTemplateSpec, metadata and annotations included).
RELEASE_ANNOTATION = "triton-platform.io/release"


def gpu_placement(cfg: PlatformConfig, *, gke: bool = False) -> gpu.GpuPlacement:
    """Triton's GPU requests and node selector for this stack (``triton_platform.catalog.gpu.placement``).

    On AKS the agent pool's gpuInstanceProfile partitions the GPUs, not mig-manager, so there
    is no ``nvidia.com/mig.config`` layout label to set or select on.
    """
    g = cfg.gpu
    return gpu.placement(
        product=cfg.gpu_product,
        strategy=g.mig_strategy,
        mig_profile=g.mig_profile,
        gpus_per_replica=g.gpus_per_replica,
        gke=gke or cfg.cloud == "gcp",
        mig_config=g.mig_config,
        mig_manager=cfg.cloud != "azure",
    )


def engine_build_selectors(cfg: PlatformConfig) -> dict[str, dict[str, str]]:
    """Per compute capability the stack's GPU pool provides, the node labels of that architecture.

    What the Kubernetes engine builder adds to the pool selector per engine (publisher
    ``compute_capability_selectors``); see ``triton_platform.catalog.gpu.engine_build_selectors``.
    """
    return gpu.engine_build_selectors(cfg.gpu_product, gke=cfg.cloud == "gcp")


def _service_values(cfg: PlatformConfig, extra_annotations: Mapping[str, str] | None) -> dict[str, Any]:
    """The chart's ``service`` block: node ports only for a NodePort service; configured annotations win."""
    svc = cfg.triton.service
    node_ports: dict[str, int | None] = {"http": None, "grpc": None, "metrics": None}
    if svc.type == "NodePort" and svc.node_ports:
        node_ports = {"http": svc.node_ports.http, "grpc": svc.node_ports.grpc, "metrics": svc.node_ports.metrics}
    return {
        "type": svc.type,
        "annotations": {**(extra_annotations or {}), **svc.annotations},
        "nodePorts": node_ports,
        "loadBalancerSourceRanges": [],
    }


def triton_values(
    cfg: PlatformConfig,
    *,
    repository_uri: Any,
    credentials_secret: Any | None = None,
    env: Mapping[str, Any] | None = None,
    service_account_annotations: Mapping[str, Any] | None = None,
    pod_labels: Mapping[str, str] | None = None,
    service_annotations: Mapping[str, str] | None = None,
    gke: bool = False,
    base_dir: Path | None = None,
    release_name: str = "triton",
    prometheus_url: str | None = None,
    release_digest: Any | None = None,
) -> dict[str, Any]:
    """The chart values; ``base_dir`` resolves model sources (load-test shapes come from their ONNX graphs).

    ``prometheus_url`` is where a canary's analysis queries (the stack's Prometheus, with monitoring on).
    ``release_digest`` (canary only): the release the pods serve; ``repository_uri`` is then its own
    location (``location_uri``), which never changes, so Triton loads it once (``--model-control-mode=none``).
    """
    t = cfg.triton
    svc = t.service
    place = gpu_placement(cfg, gke=gke)
    resources = {
        "requests": {"cpu": t.resources.cpu, "memory": t.resources.memory},
        # Memory limit = request: Triton holds models in host memory; no overcommit surprises.
        "limits": {"cpu": t.resources.cpu, "memory": t.resources.memory},
    }
    values: dict[str, Any] = {
        "replicaCount": t.replicas,
        "image": {"repository": TRITON_IMAGE_REPOSITORY, "tag": f"{t.version}-py3", "pullPolicy": "IfNotPresent"},
        "modelRepository": {
            "uri": repository_uri,
            "credentialsSecret": credentials_secret or "",
            "env": dict(env or {}),
        },
        "triton": {
            "modelControlMode": t.model_control_mode,
            "repositoryPollSeconds": t.repository_poll_seconds,
            "logVerbose": 0,
            "exitTimeoutSeconds": EXIT_TIMEOUT_SECONDS,
            # Checked by triton_platform/config/rules/triton_args.py (and by the chart itself).
            "extraArgs": list(t.extra_args),
        },
        "ports": {"http": svc.http_port, "grpc": svc.grpc_port, "metrics": svc.metrics_port},
        "service": _service_values(cfg, service_annotations),
        "metrics": {
            "enabled": True,
            "serviceMonitor": {
                "enabled": cfg.monitoring.enabled,
                "force": cfg.monitoring.enabled,
                "interval": "15s",
                "labels": {},
            },
        },
        "gpu": {
            "resources": dict(place.resources),
            "nodeSelector": dict(place.node_selector),
            "tolerations": [dict(x) for x in place.tolerations],
        },
        "resources": resources,
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "drain": {"preStopSleepSeconds": PRESTOP_SLEEP_SECONDS},
        "serviceAccount": {
            "create": True,
            "name": "triton",
            "annotations": dict(service_account_annotations or {}),
            "automountToken": False,
        },
        "podLabels": dict(pod_labels or {}),
        "networkPolicy": {"enabled": True, "prometheusNamespace": cfg.monitoring.namespace},
        "autoscaling": autoscaling.hpa_values(t.autoscaling),
        "loadTest": load_test_values(cfg, base_dir=base_dir or Path.cwd(), release_name=release_name),
    }
    if t.rollout.strategy == "canary":
        # Only under canary: an instant stack's values (and its Helm release) stay exactly as before.
        values["rollout"] = rollout_values(cfg, prometheus_url=prometheus_url, release_digest=release_digest)
        if release_digest is not None:
            # The location is immutable: nothing to poll (and `explicit` is refused by the config rules).
            values["triton"]["modelControlMode"] = "none"
    return values


def location_uri(locations_root_uri: str, digest_hex: str) -> str:
    """The URI Triton gets for one release's own location: ``<locations root URI>/<hex>``.

    ``locations_root_uri`` is the storage's URI of ``<cache>/releases/served``
    (``stacks.common.StorageBinding.locations_root_uri``), in the form of ``repository_uri``.
    """
    if not digest_hex or "/" in digest_hex:
        raise ValueError(f"location_uri: {digest_hex!r} is not a release digest's hex")
    return f"{locations_root_uri.rstrip('/')}/{digest_hex}"


def rollout_values(
    cfg: PlatformConfig, *, prometheus_url: str | None, release_digest: Any | None = None
) -> dict[str, Any]:
    """The chart's ``rollout`` block for ``triton.rollout.strategy: canary``.

    The analysis needs Prometheus (monitoring on); the weighted routes need the Gateway. Without
    the Gateway, Argo Rollouts weighs by replica counts; without monitoring, no analysis judges.
    """
    canary, namespace = cfg.triton.rollout.canary, cfg.triton.namespace
    spec: dict[str, Any] = {}
    routed = cfg.triton.gateway.enabled
    routes = [route_name(DEFAULT_GATEWAY_NAME, section) for section in ("http", "grpc")]
    if prometheus_url:
        template = rollout.analysis_template(
            canary.analysis,
            namespace=namespace,
            prometheus_url=prometheus_url,
            # With the Gateway (canary requires it): its error ratio on Triton's two routes too.
            gateway_error_query=rollout.gateway_error_ratio_query if routed else None,
            route="|".join(routes) if routed else None,
        )
        spec = template["spec"]
    return {
        "strategy": "canary",
        "release": release_digest if release_digest is not None else "",
        "steps": rollout.canary_steps(canary.steps),
        "analysis": {
            "templateName": rollout.TEMPLATE_NAME,
            # The chart fills the template's args (the Rollout's name and namespace, the canary's hash).
            "spec": spec,
        },
        "gatewayRoutes": {
            "namespace": namespace,
            "httpRoute": routes[0] if routed else "",
            "grpcRoute": routes[1] if routed else "",
        },
    }


def load_test_values(cfg: PlatformConfig, *, base_dir: Path, release_name: str = "triton") -> dict[str, Any]:
    """The chart's ``loadTest`` block: the SDK image of Triton's release and the perf_analyzer plan."""
    t, load = cfg.triton, cfg.triton.load_test
    models = [model_shapes(m, base_dir, key=f"models[{i}]") for i, m in enumerate(cfg.models)]
    url = autoscaling.in_cluster_url(release_name, t.namespace, load, t.service.http_port, t.service.grpc_port)
    return {
        "enabled": load.enabled and bool(models),
        # perf_analyzer ships in the SDK image of the same NGC release as the server.
        "image": {"repository": TRITON_IMAGE_REPOSITORY, "tag": f"{t.version}-py3-sdk", "pullPolicy": "IfNotPresent"},
        "timeoutSeconds": load.timeout_seconds,
        "plan": autoscaling.load_test_plan(models, load, url),
    }
