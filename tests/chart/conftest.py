"""Fixtures of the chart tests: the real helm binary and every example scenario rendered once.

A scenario is one values file of ``charts/triton-inference-server/ci/``. GPU scenarios are
rendered with the ``gpu`` block computed by ``triton_platform.catalog.gpu.placement()`` (layered over the
example file), so the chart and the MIG mapping are tested together.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.tools import REPO_ROOT, helm_path
from triton_platform.catalog.gpu import GpuPlacement, placement

CHART_DIR = REPO_ROOT / "charts" / "triton-inference-server"
CI_DIR = CHART_DIR / "ci"
RELEASE = "triton"
NAMESPACE = "triton"
FULLNAME = f"{RELEASE}-triton-inference-server"
# Rendering as if the Prometheus operator's CRDs were installed (as Pulumi orders it).
WITH_SERVICEMONITOR_API = ("--api-versions", "monitoring.coreos.com/v1/ServiceMonitor")
HELM_TIMEOUT_S = 60


@dataclass(frozen=True)
class Scenario:
    """One example values file, and the GPU placement it stands for (None: no GPU override)."""

    name: str
    placement: GpuPlacement | None = None
    extra_args: tuple[str, ...] = field(default=())

    @property
    def values_file(self) -> Path:
        return CI_DIR / f"{self.name}-values.yaml"


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("cpu", placement(product=None)),
    Scenario("mig-none", placement(product="A100-SXM4-40GB", strategy="none", gpus_per_replica=2)),
    Scenario("mig-single", placement(product="A100-SXM4-40GB", strategy="single", mig_profile="1g.5gb")),
    Scenario("mig-mixed", placement(product="A100-SXM4-40GB", strategy="mixed", mig_profile="1g.5gb")),
    Scenario("gke-partition", placement(product="A100-SXM4-40GB", strategy="single", mig_profile="1g.5gb", gke=True)),
    Scenario("time-slicing", placement(product="Tesla-T4")),
    Scenario("nodeport"),
    Scenario("loadbalancer"),
    Scenario("hpa"),
    Scenario("hardened"),
    Scenario("explicit-minimal"),
)
SCENARIO_NAMES = [s.name for s in SCENARIOS]


def gpu_values(p: GpuPlacement) -> dict[str, Any]:
    """The chart's ``gpu`` values for a placement (what the TritonServer component passes)."""
    return {
        "resources": dict(p.resources),
        "nodeSelector": dict(p.node_selector),
        "tolerations": [dict(t) for t in p.tolerations],
    }


def run_helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run helm offline (no repositories, no cluster), bounded in time; never raises on failure."""
    return subprocess.run(
        [str(helm), *args],
        capture_output=True,
        text=True,
        timeout=HELM_TIMEOUT_S,
        check=False,
        cwd=REPO_ROOT,
    )


def render(helm: Path, values_files: Sequence[Path] = (), *extra: str) -> str:
    """``helm template`` of the chart; fails the test with helm's output when it does not render."""
    args = ["template", RELEASE, str(CHART_DIR), "--namespace", NAMESPACE]
    for f in values_files:
        args += ["--values", str(f)]
    proc = run_helm(helm, *args, *extra)
    if proc.returncode != 0:
        pytest.fail(f"helm template failed:\n{proc.stderr}\n{proc.stdout}")
    return proc.stdout


def parse(manifest: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(manifest) if d]


@dataclass(frozen=True)
class Rendered:
    """One scenario's rendered manifest: the raw text and its documents."""

    scenario: Scenario
    text: str
    docs: list[dict[str, Any]]

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [d for d in self.all(kind) if name is None or d["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.scenario.name}: expected one {kind} {name or ''}, got {len(found)}"
        return found[0]

    def maybe(self, kind: str, name: str | None = None) -> dict[str, Any] | None:
        found = [d for d in self.all(kind) if name is None or d["metadata"]["name"] == name]
        return found[0] if found else None

    @property
    def deployment(self) -> dict[str, Any]:
        return self.one("Deployment")

    @property
    def pod_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.deployment["spec"]["template"]["spec"]
        return spec

    @property
    def container(self) -> dict[str, Any]:
        containers = self.pod_spec["containers"]
        assert len(containers) == 1
        c: dict[str, Any] = containers[0]
        return c


@pytest.fixture(scope="session")
def helm() -> Path:
    """The real helm v4 binary (installed into .cache/tools on first use)."""
    path = helm_path()
    proc = run_helm(path, "version", "--short")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("v4."), f"helm v4 expected, got {proc.stdout!r}"
    return path


@pytest.fixture(scope="session")
def rendered(helm: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """Every scenario rendered once (with the ServiceMonitor API available, as Pulumi deploys it)."""
    overrides = tmp_path_factory.mktemp("gpu-values")
    out: dict[str, Rendered] = {}
    for s in SCENARIOS:
        files = [s.values_file]
        if s.placement is not None:
            # The placement's gpu block, layered over the example: what the Pulumi program passes.
            gpu_file = overrides / f"{s.name}.yaml"
            gpu_file.write_text(yaml.safe_dump({"gpu": gpu_values(s.placement)}))
            files.append(gpu_file)
        text = render(helm, files, *WITH_SERVICEMONITOR_API, *s.extra_args)
        out[s.name] = Rendered(s, text, parse(text))
    return out


@pytest.fixture(scope="session")
def rendered_default(helm: Path) -> Rendered:
    """The chart's defaults, with the ServiceMonitor API available."""
    text = render(helm, (), *WITH_SERVICEMONITOR_API)
    return Rendered(Scenario("default"), text, parse(text))
