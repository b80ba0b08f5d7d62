"""The HPA the chart renders from the stack config: fed by the adapter's metric, valid on Kubernetes 1.30/1.31.

Stack configs go through the real config schema and triton_values(); the chart is rendered with
the real helm. The HPA's Pods metric must be the one a prometheus-adapter rule of
triton_platform/values/autoscaling.py serves (same name), so the HPA is fed by Triton's queue time.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.chart.conftest import CHART_DIR, FULLNAME, RELEASE, run_helm
from tests.support.configs import SAMPLE_MLP, gpu_pool, raw_config
from tests.support.helm import render_triton
from tests.support.stacks import REPO
from triton_platform.config import PlatformConfig, parse_config
from triton_platform.values import autoscaling
from triton_platform.values.triton import triton_values

pytestmark = pytest.mark.chart

KUBERNETES_VERSIONS = ("1.30", "1.31")
GPU_POOL = gpu_pool("p4d.24xlarge", "A100-SXM4-40GB", 8, maxNodes=2)


def _cfg(autoscaling_raw: dict[str, Any], *, gpu: bool = False) -> PlatformConfig:
    pool = GPU_POOL if gpu else None
    raw = raw_config("aws" if gpu else "local", pool=pool, models=[SAMPLE_MLP], triton={"autoscaling": autoscaling_raw})
    return parse_config(raw, base_dir=REPO, stack="test")


def _hpa(cfg: PlatformConfig, tmp_path: Path) -> dict[str, Any]:
    values = triton_values(cfg, repository_uri="s3://bucket/models", base_dir=REPO)
    (hpa,) = [d for d in render_triton(values, tmp_path) if d["kind"] == "HorizontalPodAutoscaler"]
    return hpa


def _rule_for(metric: str) -> dict[str, Any]:
    (rule,) = [r for r in autoscaling.adapter_rules("triton") if r["name"]["as"] == hpa_metric_name(metric)]
    return rule


def hpa_metric_name(metric: str) -> str:
    return autoscaling.CUSTOM_METRIC_NAMES[metric]  # type: ignore[index]


@pytest.mark.parametrize(
    ("metric", "target", "gpu", "expected_value"),
    [
        ("queueTime", 40, False, "40"),
        ("queueTime", 2.5, False, "2.5"),
        ("inferenceRate", 120, False, "120"),
        ("gpuUtilization", 75, True, "75"),
    ],
)
def test_custom_metric_hpa_is_fed_by_an_adapter_rule(
    tmp_path: Path, metric: str, target: float, gpu: bool, expected_value: str
) -> None:
    raw = {"enabled": True, "metric": metric, "target": target, "minReplicas": 1, "maxReplicas": 4}
    hpa = _hpa(_cfg(raw, gpu=gpu), tmp_path)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME}
    (m,) = hpa["spec"]["metrics"]
    assert m["type"] == "Pods"
    # The name the adapter serves (its rule's name.as) is the name the HPA asks for.
    rule = _rule_for(metric)
    assert m["pods"]["metric"]["name"] == rule["name"]["as"]
    assert m["pods"]["target"] == {"type": "AverageValue", "averageValue": expected_value}
    # The rule is scoped to Triton's namespace and maps the series to pods.
    assert 'namespace="triton"' in rule["seriesQuery"] or 'exported_namespace="triton"' in rule["seriesQuery"]
    assert "pod" in {v["resource"] for v in rule["resources"]["overrides"].values()}


def test_queue_time_is_the_default_metric(tmp_path: Path) -> None:
    hpa = _hpa(_cfg({"enabled": True}), tmp_path)
    (m,) = hpa["spec"]["metrics"]
    assert m["pods"]["metric"]["name"] == "triton_queue_time_ms"
    rule = _rule_for("queueTime")
    assert autoscaling.QUEUE_DURATION in rule["metricsQuery"]
    assert autoscaling.REQUEST_SUCCESS in rule["metricsQuery"]
    assert m["pods"]["target"]["averageValue"] == "50"
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300


def test_old_target_cpu_utilization_still_scales_on_cpu(tmp_path: Path) -> None:
    hpa = _hpa(_cfg({"enabled": True, "targetCpuUtilization": 70, "scaleDownStabilizationSeconds": 120}), tmp_path)
    assert hpa["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
    ]
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 120


def test_no_hpa_unless_enabled(tmp_path: Path) -> None:
    values = triton_values(_cfg({"enabled": False}), repository_uri="s3://b/m", base_dir=REPO)
    docs = render_triton(values, tmp_path)
    assert not [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    assert deployment["spec"]["replicas"] == 1


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("metric", ["queueTime", "inferenceRate", "gpuUtilization", "cpu"])
def test_hpa_validates(tmp_path: Path, metric: str, version: str) -> None:
    gpu = metric == "gpuUtilization"
    raw = {"enabled": True, "metric": metric, "target": 30 if metric != "inferenceRate" else 100}
    hpa = _hpa(_cfg(raw, gpu=gpu), tmp_path)
    try:
        kubernetes_validate.validate(hpa, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"HPA ({metric}) on Kubernetes {version}: {'.'.join(map(str, exc.path))}: {exc.message}")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--set", "autoscaling.enabled=true", "--set", "autoscaling.metric=latency"], ["autoscaling", "metric"]),
        (["--set", "autoscaling.enabled=true", "--set", "autoscaling.target=0"], ["autoscaling", "target"]),
        (
            ["--set", "autoscaling.enabled=true", "--set", "autoscaling.metric=cpu", "--set", "autoscaling.target=150"],
            ["autoscaling", "target"],
        ),
        (["--set", "autoscaling.scaleDownStabilizationSeconds=-1"], ["scaleDownStabilizationSeconds"]),
        (["--set", "autoscaling.targetCPUUtilizationPercentage=70"], ["targetCPUUtilizationPercentage"]),
    ],
    ids=["unknown-metric", "zero-target", "cpu-over-100", "negative-window", "removed-key"],
)
def test_chart_schema_rejects_bad_autoscaling(helm: Path, args: list[str], needles: list[str]) -> None:
    proc = run_helm(helm, "template", RELEASE, str(CHART_DIR), *args)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert re.search(r"at '[^']*': ", out), out
    for needle in needles:
        assert needle in out, out


def test_hpa_and_pdb_together_keep_capacity(tmp_path: Path) -> None:
    values = triton_values(_cfg({"enabled": True, "minReplicas": 2}), repository_uri="s3://b/m", base_dir=REPO)
    docs = render_triton(values, tmp_path)
    (pdb,) = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    (hpa,) = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    # Drains take at most one pod at a time; the HPA removes at most one pod a minute.
    assert pdb["spec"]["maxUnavailable"] == 1
    assert hpa["spec"]["behavior"]["scaleDown"]["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 60}]
    assert yaml.safe_dump(pdb["spec"]["selector"]) == yaml.safe_dump(
        {"matchLabels": {"app.kubernetes.io/instance": "triton", "app.kubernetes.io/name": "triton-inference-server"}}
    )
