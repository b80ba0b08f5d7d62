"""The repository's Triton chart rendered with the real helm, and what the cloud tests read from it."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.support.tools import REPO_ROOT, helm_path

CHART = REPO_ROOT / "charts" / "triton-inference-server"
# Every GPU pod tolerates the GPU pools' taint (nvidia.com/gpu, set by each cluster component).
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def render_triton(values: Mapping[str, Any], workdir: Path) -> list[dict[str, Any]]:
    """``helm template`` of the chart with ``values`` (written under ``workdir``): the documents."""
    values_file = workdir / "values.yaml"
    values_file.write_text(yaml.safe_dump(dict(values)))
    proc = subprocess.run(
        [str(helm_path()), "template", "triton", str(CHART), "--namespace", "triton", "-f", str(values_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def pod_spec(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The pod spec of the one Deployment among rendered documents."""
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def triton_container(spec: Mapping[str, Any]) -> dict[str, Any]:
    (triton,) = [c for c in spec["containers"] if c["name"] == "triton"]
    return dict(triton)


def assert_gpu_placement(spec: Mapping[str, Any], resources: Mapping[str, int], selector: Mapping[str, str]) -> None:
    """A rendered pod matches a row of the MIG strategy table (README, "Choosing a MIG strategy").

    The GPU part of Triton's requests and of its limits is exactly ``resources`` (Kubernetes
    wants extended resources equal in both), the node selector is exactly ``selector``, and
    the pod tolerates the GPU taint.
    """
    triton = triton_container(spec)
    for kind in ("requests", "limits"):
        gpu_part = {k: v for k, v in triton["resources"].get(kind, {}).items() if k.startswith("nvidia.com/")}
        assert gpu_part == dict(resources), (kind, triton["resources"])
    assert spec["nodeSelector"] == dict(selector)
    assert GPU_TOLERATION in spec["tolerations"]
