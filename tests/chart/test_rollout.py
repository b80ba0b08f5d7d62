"""The chart's canary (rollout.strategy canary): a Rollout that runs the Deployment's pod template
(workloadRef) while the Deployment runs none, the HPA scaling the Rollout, and only what the
values ask for: traffic routing with Gateway routes, the analysis with a template spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.helm import CHART, render_triton

pytestmark = pytest.mark.chart


def _values(**rollout: Any) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHART / "ci" / "hpa-values.yaml").read_text())
    values["rollout"] = {"strategy": "canary", "steps": [{"setWeight": 20}, {"pause": {"duration": "2m"}}], **rollout}
    return values


def _by_kind(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        out.setdefault(d["kind"], []).append(d)
    return out


def test_hpa_scales_the_rollout_and_the_deployment_runs_no_pod(tmp_path: Path) -> None:
    docs = _by_kind(render_triton(_values(), tmp_path))
    (hpa,) = docs["HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "name": "triton-triton-inference-server",
    }
    (deployment,) = docs["Deployment"]
    assert deployment["spec"]["replicas"] == 0
    (ro,) = docs["Rollout"]
    assert "replicas" not in ro["spec"]  # the HPA's
    assert ro["spec"]["selector"] == deployment["spec"]["selector"]
    assert ro["spec"]["strategy"]["canary"]["steps"] == [{"setWeight": 20}, {"pause": {"duration": "2m"}}]


def test_only_what_the_values_ask_for(tmp_path: Path) -> None:
    docs = _by_kind(render_triton(_values(), tmp_path))
    canary = docs["Rollout"][0]["spec"]["strategy"]["canary"]
    # No Gateway routes: Argo Rollouts weighs by replica counts; no template spec: no analysis.
    assert "trafficRouting" not in canary
    assert "analysis" not in canary
    assert "AnalysisTemplate" not in docs
    assert sorted(d["metadata"]["name"] for d in docs["Service"]) == [
        "triton-triton-inference-server",
        "triton-triton-inference-server-canary",
        "triton-triton-inference-server-metrics",
        "triton-triton-inference-server-stable",
    ]


def test_instant_renders_no_canary_object(tmp_path: Path) -> None:
    values = _values()
    values["rollout"] = {"strategy": "instant"}
    docs = _by_kind(render_triton(values, tmp_path))
    assert not {"Rollout", "AnalysisTemplate"} & set(docs)
    assert docs["HorizontalPodAutoscaler"][0]["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    assert len(docs["Service"]) == 2
