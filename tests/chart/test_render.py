"""Rendered manifests of every example: GPU placement, tritonserver args, security, Services,
NetworkPolicy, HPA, ServiceMonitor; and every manifest against the Kubernetes 1.30/1.31 schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from tests.chart.conftest import (
    CI_DIR,
    FULLNAME,
    NAMESPACE,
    SCENARIO_NAMES,
    SCENARIOS,
    Rendered,
    gpu_values,
    parse,
    render,
)

pytestmark = pytest.mark.chart

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}

# The MIG strategies, written out literally so a change in gpu.py cannot silently move both the
# expectation and the result. Pods select the label the stack puts on its GPU pool, never the
# driver's nvidia.com/gpu.product (GFD: NVIDIA/k8s-device-plugin docs/gpu-feature-discovery);
# the layout label is mig-manager's (NVIDIA/gpu-operator assets/state-mig-manager/0400_configmap.yaml).
POOL = {"triton-platform/pool": "gpu"}
EXPECTED_GPU: dict[str, tuple[dict[str, int], dict[str, str]]] = {
    "mig-none": ({"nvidia.com/gpu": 2}, POOL),
    # + mig-manager's "success" (NVIDIA/mig-parted reconfigure-mig.sh; NVIDIA/gpu-operator#2670).
    "mig-single": (
        {"nvidia.com/gpu": 1},
        {**POOL, "nvidia.com/mig.config": "all-1g.5gb", "nvidia.com/mig.config.state": "success"},
    ),
    "mig-mixed": ({"nvidia.com/mig-1g.5gb": 1}, POOL),
    "gke-partition": (
        {"nvidia.com/gpu": 1},
        {
            "cloud.google.com/gke-gpu-partition-size": "1g.5gb",
            "cloud.google.com/gke-accelerator": "nvidia-tesla-a100",
        },
    ),
    "time-slicing": ({"nvidia.com/gpu": 1}, POOL),
}
GPU_SCENARIOS = [s.name for s in SCENARIOS if s.placement is not None and s.placement.resources]
KUBERNETES_VERSIONS = ("1.30", "1.31")


def _is_gpu_resource(name: str) -> bool:
    return name.startswith("nvidia.com/") or "gpu" in name


# ---------------------------------------------------------------- GPU placement


def test_gpu_scenarios_cover_design_table() -> None:
    assert sorted(GPU_SCENARIOS) == sorted(EXPECTED_GPU)


@pytest.mark.parametrize("name", GPU_SCENARIOS)
def test_gpu_requests_limits_and_selector(rendered: dict[str, Rendered], name: str) -> None:
    r = rendered[name]
    gpu, selector = EXPECTED_GPU[name]
    resources = r.container["resources"]
    for section in ("requests", "limits"):
        got = {k: v for k, v in resources[section].items() if _is_gpu_resource(k)}
        assert got == gpu, f"{name} {section}"
        # CPU and memory stay alongside the GPU resources.
        assert {"cpu", "memory"} <= set(resources[section])
    assert r.pod_spec["nodeSelector"] == selector
    assert r.pod_spec["tolerations"] == [GPU_TOLERATION]


@pytest.mark.parametrize("name", [s.name for s in SCENARIOS if s.placement is not None])
def test_example_gpu_block_matches_placement(name: str) -> None:
    # The ci/ examples double as documentation: they must say what placement() computes.
    scenario = next(s for s in SCENARIOS if s.name == name)
    assert scenario.placement is not None
    example = yaml.safe_load(scenario.values_file.read_text())
    assert example["gpu"] == gpu_values(scenario.placement)


def test_cpu_scenario_requests_no_gpu(rendered: dict[str, Rendered]) -> None:
    r = rendered["cpu"]
    resources = r.container["resources"]
    assert resources == {
        "requests": {"cpu": "1", "memory": "2Gi"},
        "limits": {"cpu": "1", "memory": "2Gi"},
    }
    assert "nodeSelector" not in r.pod_spec
    assert "tolerations" not in r.pod_spec
    assert "nvidia.com" not in r.text


def test_node_selector_and_tolerations_merge(helm: Path, tmp_path: Path) -> None:
    values = tmp_path / "merge.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "nodeSelector": {"pool": "inference", "triton-platform/pool": "overridden"},
                "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "triton", "effect": "NoSchedule"}],
                "gpu": {
                    "resources": {"nvidia.com/gpu": 1},
                    "nodeSelector": {"triton-platform/pool": "gpu"},
                    "tolerations": [GPU_TOLERATION],
                },
            }
        )
    )
    deployment = next(d for d in parse(render(helm, [values])) if d["kind"] == "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    # The GPU placement wins on equal keys: a generic selector must not send the pod to the wrong GPU.
    assert spec["nodeSelector"] == {"pool": "inference", "triton-platform/pool": "gpu"}
    assert spec["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "triton", "effect": "NoSchedule"},
        GPU_TOLERATION,
    ]


# ---------------------------------------------------------------- tritonserver command line


def test_default_args(rendered_default: Rendered) -> None:
    c = rendered_default.container
    assert c["image"] == "nvcr.io/nvidia/tritonserver:25.01-py3"
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["command"] == ["tritonserver"]
    assert c["args"] == [
        "--model-repository=s3://bucket/models",
        "--model-control-mode=poll",
        "--repository-poll-secs=15",
        "--strict-readiness=true",
        "--disable-auto-complete-config",
        # Passed explicitly: the grace period is sized on it (templates/deployment.yaml).
        "--exit-timeout-secs=30",
        "--http-port=8000",
        "--grpc-port=8001",
        "--metrics-port=8002",
        # The dashboard's latency quantiles (nv_inference_request_summary_us) need it: Triton
        # docs/user_guide/metrics.md, "Summaries" are off by default.
        "--metrics-config=summary_latencies=true",
        "--log-verbose=0",
    ]
    assert rendered_default.deployment["spec"]["replicas"] == 1


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_args_name_repository_and_mode(rendered: dict[str, Rendered], name: str) -> None:
    r = rendered[name]
    values = yaml.safe_load(r.scenario.values_file.read_text())
    uri = values.get("modelRepository", {}).get("uri", "s3://bucket/models")
    mode = values.get("triton", {}).get("modelControlMode", "poll")
    args = r.container["args"]
    assert f"--model-repository={uri}" in args
    assert f"--model-control-mode={mode}" in args
    assert "--strict-readiness=true" in args
    assert "--disable-auto-complete-config" in args
    assert ("--repository-poll-secs=15" in args) == (mode == "poll")


def test_explicit_mode_minimal(rendered: dict[str, Rendered]) -> None:
    r = rendered["explicit-minimal"]
    args = r.container["args"]
    assert "--load-model=resnet50" in args
    assert "--load-model=tokenizer" in args
    assert args[-1] == "--model-load-thread-count=2"  # extraArgs come last
    assert "--allow-metrics=false" in args
    assert not any(a.startswith("--metrics-port") for a in args)
    assert [p["name"] for p in r.container["ports"]] == ["http", "grpc"]
    kinds = sorted(d["kind"] for d in r.docs)
    # No metrics Service, ServiceMonitor, NetworkPolicy, PDB or ServiceAccount.
    assert kinds == ["Deployment", "Service"]
    assert r.pod_spec["serviceAccountName"] == "triton-existing"


def test_credentials_secret_and_env(rendered: dict[str, Rendered]) -> None:
    c = rendered["cpu"].container
    assert c["envFrom"] == [{"secretRef": {"name": "triton-minio-credentials"}}]
    assert {"name": "AWS_DEFAULT_REGION", "value": "us-east-1"} in c["env"]
    # No secret value is ever in the manifest, only the Secret's name.
    assert "AWS_SECRET_ACCESS_KEY" not in rendered["cpu"].text


@pytest.mark.parametrize("name", ["mig-none", "gke-partition", "loadbalancer", "hpa"])
def test_keyless_scenarios_have_no_secret(rendered: dict[str, Rendered], name: str) -> None:
    assert "envFrom" not in rendered[name].container


# ---------------------------------------------------------------- pod security and health


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_pod_is_hardened(rendered: dict[str, Rendered], name: str) -> None:
    r = rendered[name]
    pod = r.pod_spec
    uid = 10001 if name == "hardened" else 1000
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    sc = r.container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["privileged"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["runAsNonRoot"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    # Writable scratch space on a read-only root filesystem.
    mounts = {m["mountPath"]: m["name"] for m in r.container["volumeMounts"]}
    assert mounts == {"/tmp": "tmp", "/dev/shm": "shm", "/home/triton-server": "home"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["shm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Gi"}
    assert {"name": "HOME", "value": "/home/triton-server"} in r.container["env"]
    assert pod["terminationGracePeriodSeconds"] == 60
    resources = r.container["resources"]
    for section in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[section])


def test_hardened_image_is_pinned(rendered: dict[str, Rendered]) -> None:
    r = rendered["hardened"]
    assert r.container["image"] == ("nvcr.io/nvidia/tritonserver:25.01-py3@sha256:" + "0" * 64)
    assert r.pod_spec["volumes"][0] == {"name": "tmp", "emptyDir": {"sizeLimit": "20Gi"}}


def test_probes(rendered_default: Rendered) -> None:
    c = rendered_default.container
    startup, ready, live = c["startupProbe"], c["readinessProbe"], c["livenessProbe"]
    assert startup["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    assert ready["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    assert live["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    # Large models: 30 minutes to start before the kubelet gives up.
    assert startup["periodSeconds"] * startup["failureThreshold"] == 1800
    assert (ready["periodSeconds"], ready["failureThreshold"]) == (5, 3)
    assert (live["periodSeconds"], live["failureThreshold"]) == (10, 3)


# ---------------------------------------------------------------- Services and networking


def _services(r: Rendered) -> tuple[dict[str, Any], dict[str, Any]]:
    return r.one("Service", FULLNAME), r.one("Service", f"{FULLNAME}-metrics")


def test_clusterip_services(rendered_default: Rendered) -> None:
    svc, metrics = _services(rendered_default)
    assert svc["spec"]["type"] == "ClusterIP"
    assert [(p["name"], p["port"]) for p in svc["spec"]["ports"]] == [("http", 8000), ("grpc", 8001)]
    assert all("nodePort" not in p for p in svc["spec"]["ports"])
    assert metrics["spec"]["type"] == "ClusterIP"
    assert metrics["spec"]["ports"] == [{"name": "metrics", "port": 8002, "targetPort": "metrics", "protocol": "TCP"}]


def test_nodeport_fixed_ports(rendered: dict[str, Rendered]) -> None:
    svc, metrics = _services(rendered["nodeport"])
    assert svc["spec"]["type"] == "NodePort"
    assert {p["name"]: p["nodePort"] for p in svc["spec"]["ports"]} == {"http": 30800, "grpc": 30801}
    assert metrics["spec"]["type"] == "NodePort"
    assert metrics["spec"]["ports"][0]["nodePort"] == 30802


def test_metrics_nodeport_only_with_nodeport_service(helm: Path) -> None:
    docs = parse(render(helm, [CI_DIR / "loadbalancer-values.yaml"], "--set", "service.nodePorts.metrics=30802"))
    metrics = next(d for d in docs if d["metadata"]["name"] == f"{FULLNAME}-metrics")
    assert metrics["spec"]["type"] == "ClusterIP"
    assert "nodePort" not in metrics["spec"]["ports"][0]


def test_loadbalancer(rendered: dict[str, Rendered]) -> None:
    r = rendered["loadbalancer"]
    svc, _ = _services(r)
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["spec"]["loadBalancerSourceRanges"] == ["10.0.0.0/16"]
    assert svc["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    sa = r.one("ServiceAccount")
    assert sa["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/triton-model-reader"
    }
    assert sa["automountServiceAccountToken"] is False
    assert r.pod_spec["serviceAccountName"] == sa["metadata"]["name"]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_selectors_match_pods(rendered: dict[str, Rendered], name: str) -> None:
    r = rendered[name]
    pod_labels = r.deployment["spec"]["template"]["metadata"]["labels"]
    assert _selects(r.deployment["spec"]["selector"]["matchLabels"], pod_labels)
    for svc in r.all("Service"):
        assert _selects(svc["spec"]["selector"], pod_labels), svc["metadata"]["name"]
    for kind in ("PodDisruptionBudget",):
        for doc in r.all(kind):
            assert _selects(doc["spec"]["selector"]["matchLabels"], pod_labels)
    for np in r.all("NetworkPolicy"):
        if np["metadata"]["labels"].get("app.kubernetes.io/component") == "loadtest":
            continue  # the helm-test pod's own policy (tests/chart/test_loadtest.py)
        assert _selects(np["spec"]["podSelector"]["matchLabels"], pod_labels)


def _np_rules(r: Rendered) -> dict[str, list[dict[str, Any]]]:
    """NetworkPolicy ingress peers keyed by the port names of each rule."""
    rules = r.one("NetworkPolicy")["spec"]["ingress"]
    return {",".join(p["port"] for p in rule["ports"]): rule["from"] for rule in rules}


def test_network_policy_default(rendered_default: Rendered) -> None:
    np = rendered_default.one("NetworkPolicy")
    assert np["spec"]["policyTypes"] == ["Ingress"]
    rules = _np_rules(rendered_default)
    # Any pod in any namespace may call Triton; nothing from outside the cluster.
    assert rules["http,grpc"] == [{"namespaceSelector": {}, "podSelector": {}}]
    # Metrics: only Prometheus' namespace.
    assert rules["metrics"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]


def test_network_policy_exposed_services(rendered: dict[str, Rendered]) -> None:
    nodeport = _np_rules(rendered["nodeport"])
    assert {"ipBlock": {"cidr": "0.0.0.0/0"}} in nodeport["http,grpc"]
    assert {"ipBlock": {"cidr": "0.0.0.0/0"}} in nodeport["metrics"]  # kind maps the metrics NodePort
    lb = _np_rules(rendered["loadbalancer"])
    assert lb["http,grpc"][1:] == [{"ipBlock": {"cidr": "10.0.0.0/16"}}]
    assert lb["metrics"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]


def test_network_policy_client_selectors(helm: Path) -> None:
    docs = parse(
        render(
            helm,
            (),
            "--set",
            "networkPolicy.clientNamespaceSelector.matchLabels.team=ml",
            "--set",
            "networkPolicy.clientPodSelector.matchLabels.role=client",
            "--set",
            "networkPolicy.prometheusNamespace=observability",
        )
    )
    np = next(d for d in docs if d["kind"] == "NetworkPolicy")
    http, metrics = np["spec"]["ingress"]
    assert http["from"] == [
        {"namespaceSelector": {"matchLabels": {"team": "ml"}}, "podSelector": {"matchLabels": {"role": "client"}}}
    ]
    assert metrics["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "observability"}


def test_hpa(rendered: dict[str, Rendered]) -> None:
    r = rendered["hpa"]
    hpa = r.one("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    # Triton's queue time per pod, served by prometheus-adapter (tests/chart/test_autoscaling.py has the rest).
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == "triton_queue_time_ms"
    assert hpa["spec"]["metrics"][0]["pods"]["target"] == {"type": "AverageValue", "averageValue": "40"}
    # The HPA owns the replica count.
    assert "replicas" not in r.deployment["spec"]
    labels = r.deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["azure.workload.identity/use"] == "true"
    assert r.pod_spec["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert r.maybe("HorizontalPodAutoscaler") is not None
    assert rendered["cpu"].maybe("HorizontalPodAutoscaler") is None


def test_pdb(rendered_default: Rendered) -> None:
    pdb = rendered_default.one("PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["maxUnavailable"] == 1


# ---------------------------------------------------------------- ServiceMonitor


def test_servicemonitor_needs_the_api_or_force(helm: Path) -> None:
    offline = parse(render(helm))
    assert not [d for d in offline if d["kind"] == "ServiceMonitor"]
    for extra in (("--api-versions", "monitoring.coreos.com/v1"), ("--set", "metrics.serviceMonitor.force=true")):
        docs = parse(render(helm, (), *extra))
        assert len([d for d in docs if d["kind"] == "ServiceMonitor"]) == 1, extra
    disabled = parse(
        render(helm, (), "--set", "metrics.serviceMonitor.enabled=false", "--api-versions", "monitoring.coreos.com/v1")
    )
    assert not [d for d in disabled if d["kind"] == "ServiceMonitor"]


def test_servicemonitor_selects_metrics_service_only(rendered_default: Rendered, helm: Path) -> None:
    r = rendered_default
    sm = r.one("ServiceMonitor")
    svc, metrics = _services(r)
    selector = sm["spec"]["selector"]["matchLabels"]
    assert _selects(selector, metrics["metadata"]["labels"])
    assert not _selects(selector, svc["metadata"]["labels"])
    assert sm["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert sm["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "15s", "scheme": "http"}]
    labelled = parse(
        render(
            helm,
            (),
            "--set",
            "metrics.serviceMonitor.force=true",
            "--set",
            "metrics.serviceMonitor.labels.release=kube-prometheus-stack",
        )
    )
    sm2 = next(d for d in labelled if d["kind"] == "ServiceMonitor")
    assert sm2["metadata"]["labels"]["release"] == "kube-prometheus-stack"


# A small schema for the one CRD kind the chart renders (kubernetes-validate only knows core kinds):
# the fields the chart sets, typed as the Prometheus operator's CRD types them.
SERVICEMONITOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name", "namespace"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
                "namespace": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["matchLabels"],
                    "properties": {"matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}},
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["port"],
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "interval": {
                                "type": "string",
                                "pattern": "^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
                            },
                            "scheme": {"enum": ["http", "https"]},
                        },
                    },
                },
            },
        },
    },
}
CRD_KINDS = {"ServiceMonitor": SERVICEMONITOR_SCHEMA}


# ---------------------------------------------------------------- Kubernetes schemas


def test_kubernetes_validate_ships_target_versions() -> None:
    shipped = {".".join(v.split(".")[:2]) for v in all_versions()}
    assert set(KUBERNETES_VERSIONS) <= shipped


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", ["default", *SCENARIO_NAMES])
def test_manifests_validate(rendered: dict[str, Rendered], rendered_default: Rendered, name: str, version: str) -> None:
    r = rendered_default if name == "default" else rendered[name]
    assert r.docs
    for doc in r.docs:
        where = f"{name}: {doc['kind']}/{doc['metadata']['name']} on Kubernetes {version}"
        if doc["kind"] in CRD_KINDS:
            # A CRD kind: validated against the chart's own schema of its fields.
            jsonschema.validate(doc, CRD_KINDS[doc["kind"]])
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{where}: {'.'.join(map(str, exc.path))}: {exc.message}")
        assert doc["metadata"]["namespace"] == NAMESPACE, where
