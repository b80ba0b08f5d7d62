"""The remote charts the stack releases, rendered with the values our components give them.

prometheus-adapter (prometheus-community/helm-charts, tag ``prometheus-adapter-<version>``) and
cluster-autoscaler (kubernetes/autoscaler, tag ``cluster-autoscaler-chart-<version>``) come from
their chart repositories at ``pulumi up``; those repositories are third-party and not vendored,
and CI cannot reach them. Point ``PROMETHEUS_ADAPTER_CHART`` / ``CLUSTER_AUTOSCALER_CHART`` at a
checkout of the chart at the version pinned in ``triton_platform/catalog/versions.py`` and these tests
render it with the real helm, validate every object with kubernetes-validate (1.34, 1.35), scan it
with checkov (core pod checks must pass; what only the chart decides is listed below) and
check that the adapter rules and the autoscaler's identity land where the chart puts them.
Without a checkout they skip, saying so. The values' keys are also checked without the charts
(tests/components/monitoring/test_monitoring.py, tests/components/aws/test_cluster_autoscaler.py).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.aws.cluster_autoscaler import autoscaler_values
from tests.support import checkov
from tests.support.tools import helm_path
from triton_platform.catalog.versions import CLUSTER_AUTOSCALER, DEFAULT_KUBERNETES_VERSION, PROMETHEUS_ADAPTER
from triton_platform.values.autoscaling import adapter_values

pytestmark = pytest.mark.chart
KUBERNETES_VERSIONS = ("1.34", DEFAULT_KUBERNETES_VERSION)
ROLE_ARN = "arn:aws:iam::123456789012:role/triton-prod-cluster-autoscaler"


def _chart(env: str, pinned: str) -> Path | None:
    path = os.environ.get(env)
    if not path or not (Path(path) / "Chart.yaml").is_file():
        return None
    version = yaml.safe_load((Path(path) / "Chart.yaml").read_text())["version"]
    assert version == pinned, f"{env} is chart version {version}, the stack pins {pinned}"
    return Path(path)


def _render(chart: Path, values: dict[str, Any], namespace: str, tmp_path: Path) -> list[dict[str, Any]]:
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    proc = subprocess.run(
        [
            str(helm_path()),
            "template",
            "release",
            str(chart),
            "--namespace",
            namespace,
            "-f",
            str(values_file),
            # What a real 1.35 API server reports: the charts choose API versions by capability
            # (prometheus-adapter renders apiregistration.k8s.io/v1beta1 without it, gone since 1.22).
            "--kube-version",
            f"{DEFAULT_KUBERNETES_VERSION}.0",
            "--api-versions",
            "apiregistration.k8s.io/v1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def _validate(docs: list[dict[str, Any]]) -> None:
    for version in KUBERNETES_VERSIONS:
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)


# checkov's core pod checks our values must make pass on the chart's Deployment.
REQUIRED_PASS = {
    "CKV_K8S_8",  # liveness probe
    "CKV_K8S_10",  # CPU requests
    "CKV_K8S_11",  # CPU limits
    "CKV_K8S_12",  # memory requests
    "CKV_K8S_13",  # memory limits
    "CKV_K8S_20",  # no privilege escalation
    "CKV_K8S_22",  # read-only root filesystem
    "CKV_K8S_23",  # not root
    "CKV_K8S_28",  # no NET_RAW
    "CKV_K8S_37",  # capabilities dropped
    "CKV_K8S_40",  # high uid
}
# What the charts decide and values cannot change: image tags (not digests) and their pull policy,
# the API token both need (they call the Kubernetes API), the adapter's own aggregated-API RBAC,
# no NetworkPolicy of their own, and no readiness probe in the cluster-autoscaler chart.
ALLOWED_FAILURES = {
    "CKV_K8S_9",
    "CKV_K8S_15",
    "CKV_K8S_38",
    "CKV_K8S_43",
    "CKV_K8S_49",
    "CKV2_K8S_1",
    "CKV2_K8S_2",
    "CKV2_K8S_3",
    "CKV2_K8S_4",
    "CKV2_K8S_5",
    "CKV2_K8S_6",
}


def _checkov(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    report = checkov.scan(yaml.safe_dump_all(docs), tmp_path)
    passed = checkov.check_ids(report, "passed_checks", ("Deployment.",))
    assert passed >= REQUIRED_PASS, sorted(REQUIRED_PASS - passed)
    failed = checkov.check_ids(report, "failed_checks")
    assert failed <= ALLOWED_FAILURES, sorted(failed - ALLOWED_FAILURES)


ADAPTER = _chart("PROMETHEUS_ADAPTER_CHART", PROMETHEUS_ADAPTER.version)
AUTOSCALER = _chart("CLUSTER_AUTOSCALER_CHART", CLUSTER_AUTOSCALER.version)


@pytest.mark.skipif(
    ADAPTER is None,
    reason="prometheus-adapter is a third-party chart, not vendored: set PROMETHEUS_ADAPTER_CHART to a checkout "
    f"of prometheus-community/helm-charts charts/prometheus-adapter at {PROMETHEUS_ADAPTER.version}",
)
def test_prometheus_adapter_renders_valid_objects_with_our_rules(tmp_path: Path) -> None:
    assert ADAPTER is not None
    values = adapter_values("http://kube-prometheus-stack-prometheus.monitoring.svc", 9090, "triton")
    docs = _render(ADAPTER, values, "monitoring", tmp_path)
    _validate(docs)
    _checkov(docs, tmp_path)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "APIService", "ConfigMap", "Service"} <= kinds, kinds
    # The HPA reads Pods metrics from custom.metrics.k8s.io: the adapter must serve that group.
    groups = {d["spec"]["group"] for d in docs if d["kind"] == "APIService"}
    assert "custom.metrics.k8s.io" in groups, groups
    (config,) = [d for d in docs if d["kind"] == "ConfigMap"]
    rules = yaml.safe_load(config["data"]["config.yaml"])
    assert rules["rules"] == values["rules"]["custom"]
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    args = " ".join(deploy["spec"]["template"]["spec"]["containers"][0]["args"])
    assert "--prometheus-url=http://kube-prometheus-stack-prometheus.monitoring.svc:9090" in args
    # The port the API server dials: APIService -> Service port (443 when the APIService names
    # none) -> targetPort -> the pod's container port. A GKE private control plane reaches nodes and
    # their pods on TCP 443 and 10250 only (GKE "Automatically created firewall rules", -master rule).
    (api,) = [d for d in docs if d["kind"] == "APIService" and d["spec"]["group"] == "custom.metrics.k8s.io"]
    (svc,) = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == api["spec"]["service"]["name"]]
    (port,) = [p for p in svc["spec"]["ports"] if p["port"] == api["spec"]["service"].get("port", 443)]
    pod = deploy["spec"]["template"]["spec"]
    assert not pod.get("hostNetwork")
    (container_port,) = [
        p["containerPort"]
        for p in pod["containers"][0]["ports"]
        if port["targetPort"] in (p["name"], p["containerPort"])
    ]
    assert container_port in {443, 10250}
    assert f"--secure-port={container_port}" in args


@pytest.mark.skipif(
    AUTOSCALER is None,
    reason="cluster-autoscaler is a third-party chart, not vendored: set CLUSTER_AUTOSCALER_CHART to a checkout "
    f"of kubernetes/autoscaler charts/cluster-autoscaler at {CLUSTER_AUTOSCALER.version}",
)
def test_cluster_autoscaler_renders_valid_objects_with_its_own_identity(tmp_path: Path) -> None:
    assert AUTOSCALER is not None
    values = autoscaler_values("triton-prod", "us-east-1", ROLE_ARN, "1.34")
    docs = _render(AUTOSCALER, values, "kube-system", tmp_path)
    _validate(docs)
    _checkov(docs, tmp_path)
    (sa,) = [d for d in docs if d["kind"] == "ServiceAccount"]
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == ROLE_ARN
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    spec = deploy["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == sa["metadata"]["name"]
    command = " ".join(spec["containers"][0]["command"])
    # Auto-discovery by the tags EKS puts on managed node groups (cloudprovider/aws/README.md).
    assert (
        "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/triton-prod"
        in command
    )
    assert "--expander=least-waste" in command
    env = {e["name"]: e.get("value") for e in spec["containers"][0].get("env", [])}
    assert env.get("AWS_REGION") == "us-east-1"
    # The image of the cluster's own minor (CA minor == Kubernetes minor, its README "Releases").
    assert spec["containers"][0]["image"] == "registry.k8s.io/autoscaling/cluster-autoscaler:v1.34.5"
