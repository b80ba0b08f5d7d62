"""The chart's canary (rollout.strategy canary): a Rollout that runs the Deployment's pod template
(workloadRef) while the Deployment runs none, the HPA scaling the Rollout, and only what the
values ask for: traffic routing with Gateway routes, the analysis with a template spec."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.helm import CHART, render_triton
from tests.support.k8s_names import label_key_errors
from tests.support.tools import helm_path

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


DIGESTS = ("sha256:" + "a" * 64, "sha256:" + "b" * 64)


def _template(values: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    (deployment,) = _by_kind(render_triton(values, tmp_path))["Deployment"]
    template: dict[str, Any] = deployment["spec"]["template"]
    return template


def _served(digest: str) -> dict[str, Any]:
    values = _values(release=digest)
    values["triton"] = {**values.get("triton", {}), "modelControlMode": "none"}
    values["modelRepository"] = {"uri": f"s3://bucket/_cache/releases/served/{digest.removeprefix('sha256:')}"}
    return values


def _refused(values: dict[str, Any], tmp_path: Path) -> str:
    """``helm template`` that must fail: its stderr."""
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    cmd = [str(helm_path()), "template", "triton", str(CHART), "-f", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0, proc.stdout[:500]
    return proc.stderr


def test_a_new_release_is_a_new_pod_template_naming_it(tmp_path: Path) -> None:
    """What makes Argo Rollouts run a release through the canary: its pod-template-hash covers the
    whole template, so the release annotation (and the location) change it; nothing else does."""
    old, new = (_template(_served(d), tmp_path) for d in DIGESTS)
    assert old["metadata"]["annotations"]["triton-platform.io/release"] == DIGESTS[0]
    assert new["metadata"]["annotations"]["triton-platform.io/release"] == DIGESTS[1]
    # Annotation keys are qualified names, as label keys (apimachinery ValidateAnnotations ->
    # IsQualifiedName); their values are free text.
    assert [e for key in new["metadata"]["annotations"] for e in label_key_errors(key)] == []
    args = new["spec"]["containers"][0]["args"]
    assert f"--model-repository=s3://bucket/_cache/releases/served/{'b' * 64}" in args
    assert "--model-control-mode=none" in args
    # The annotation and the location are the whole difference between the two templates.
    old["metadata"]["annotations"].pop("triton-platform.io/release")
    new["metadata"]["annotations"].pop("triton-platform.io/release")
    old_args, new_args = old["spec"]["containers"][0].pop("args"), new["spec"]["containers"][0].pop("args")
    assert old == new
    assert [a for a in old_args if a not in new_args] == [
        f"--model-repository=s3://bucket/_cache/releases/served/{'a' * 64}"
    ]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"triton": {"modelControlMode": "poll"}}, "triton.modelControlMode must be none with rollout.release"),
        ({"rollout": {"strategy": "instant", "release": DIGESTS[0]}}, "rollout.release is for rollout.strategy canary"),
    ],
)
def test_the_chart_refuses_a_release_it_cannot_serve_immutably(
    edit: dict[str, Any], message: str, tmp_path: Path
) -> None:
    values = _served(DIGESTS[0])
    for key, value in edit.items():
        values[key] = {**values[key], **value}
    assert message in _refused(values, tmp_path)


def test_a_release_that_is_not_a_digest_is_refused_by_the_schema(tmp_path: Path) -> None:
    assert "/rollout/release" in _refused(_served("latest"), tmp_path)
