"""Every MIG profile of every catalogued GPU, under every strategy and cloud, end to end.

Each case is a real stack configuration (the first catalogued machine type of the GPU on that
cloud). It is either rejected by ``parse_config`` with an error naming a ``gpu.*`` key, or its
Triton values render with the real helm into manifests that

- pass kubernetes-validate (the Kubernetes OpenAPI schema, strict), and
- use names the API server accepts: kubernetes-validate's schema types node selectors and
  resource requests as plain string maps, so labels and extended resource names are checked
  with Kubernetes' own rules too (tests/support/k8s_names.py, ported from apimachinery).

On main a ``+me`` profile rendered ``nvidia.com/mig-1g.5gb+me`` and a product-name selector.
Rendering is the slow part (~0.3 s a helm call): one render per distinct ``gpu`` block
(resources, selector, tolerations), two at a time; every case is checked against its block.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.support.configs import gpu_pool, placeholder_models, raw_config
from tests.support.helm import pod_spec, render_triton, triton_container
from tests.support.k8s_names import extended_resource_errors, label_value_errors, labels_errors
from triton_platform.catalog import gpu
from triton_platform.config import ConfigError, parse_config
from triton_platform.values.triton import gpu_placement, triton_values

pytestmark = pytest.mark.chart

KUBERNETES_VERSION = "1.31"
CLOUDS = ("aws", "gcp", "azure")
# The kinds kubernetes-validate knows that carry the placement (Deployment) or belong to it.
VALIDATED_KINDS = {"Deployment", "Service", "ServiceAccount"}


@dataclass(frozen=True)
class Case:
    cloud: str
    product: str
    machine: str
    gpu_count: int
    strategy: str
    profile: str | None

    @property
    def id(self) -> str:
        return f"{self.cloud}-{self.product}-{self.strategy}-{self.profile or 'whole'}"

    def raw(self) -> dict[str, Any]:
        g: dict[str, Any] = {"migStrategy": self.strategy}
        if self.profile:
            g["migProfile"] = self.profile
        pool = gpu_pool(self.machine, self.product, self.gpu_count)
        return raw_config(self.cloud, name="triton-matrix", pool=pool, gpu=g)


def _cases() -> list[Case]:
    out = []
    for p in gpu.GPU_PRODUCTS:
        for cloud in CLOUDS:
            machines = gpu.machine_types_for(cloud, p.product)
            if not machines:
                continue  # no VM of this cloud carries the GPU: not a stack anyone can configure
            m = gpu.find_machine_type(cloud, machines[0])
            assert m is not None
            out.append(Case(cloud, p.product, m.name, m.gpu_count, "none", None))
            for strategy in ("single", "mixed"):
                for profile in p.mig_profiles:
                    out.append(Case(cloud, p.product, m.name, m.gpu_count, strategy, profile))
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return placeholder_models(tmp_path_factory.mktemp("matrix"))  # parse_config only checks they are there


@pytest.fixture(scope="module")
def outcomes(base: Path) -> dict[Case, tuple[gpu.GpuPlacement, dict[str, Any]] | ConfigError]:
    """Each case's placement and Triton values, or the ConfigError that rejected it."""
    out: dict[Case, tuple[gpu.GpuPlacement, dict[str, Any]] | ConfigError] = {}
    for case in CASES:
        try:
            cfg = parse_config(case.raw(), base_dir=base)
        except ConfigError as err:
            out[case] = err
            continue
        gke = case.cloud == "gcp"
        out[case] = (
            gpu_placement(cfg, gke=gke),
            triton_values(cfg, repository_uri="s3://acme-models/models", gke=gke),
        )
    return out


def _block_key(values: dict[str, Any]) -> str:
    return json.dumps(values["gpu"], sort_keys=True)


@pytest.fixture(scope="module")
def rendered(
    outcomes: dict[Case, tuple[gpu.GpuPlacement, dict[str, Any]] | ConfigError],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, list[dict[str, Any]]]:
    """helm template once per distinct gpu block: its documents."""
    firsts: dict[str, dict[str, Any]] = {}
    for outcome in outcomes.values():
        if not isinstance(outcome, ConfigError):
            firsts.setdefault(_block_key(outcome[1]), outcome[1])
    root = tmp_path_factory.mktemp("renders")

    def one(item: tuple[int, tuple[str, dict[str, Any]]]) -> tuple[str, list[dict[str, Any]]]:
        i, (key, values) = item
        work = root / str(i)
        work.mkdir()
        return key, render_triton(values, work)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, enumerate(firsts.items())))


def test_matrix_covers_every_profile_strategy_and_cloud() -> None:
    profiles = {(c.product, c.profile) for c in CASES if c.profile}
    offered = [p for p in gpu.GPU_PRODUCTS if any(gpu.machine_types_for(c, p.product) for c in CLOUDS)]
    assert profiles == {(p.product, x) for p in offered for x in p.mig_profiles}
    assert {c.cloud for c in CASES} == set(CLOUDS)
    assert {c.strategy for c in CASES} == {"none", "single", "mixed"}


def test_every_rendered_gpu_block_is_valid_kubernetes(rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert rendered
    for i, (block, docs) in enumerate(rendered.items()):
        for doc in docs:
            # The gpu block only reaches the Deployment: the other kinds once.
            if doc["kind"] == "Deployment" or (i == 0 and doc["kind"] in VALIDATED_KINDS):
                try:
                    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
                except kubernetes_validate.ValidationError as exc:
                    pytest.fail(f"{block}: {doc['kind']}: {'.'.join(map(str, exc.path))}: {exc.message}")
            assert labels_errors(doc["metadata"].get("labels") or {}) == [], (block, doc["kind"])
        spec = pod_spec(docs)
        assert labels_errors(spec.get("nodeSelector") or {}) == [], block
        container = triton_container(spec)
        for section in ("requests", "limits"):
            for name in container["resources"][section]:
                if "/" in name:
                    assert extended_resource_errors(name) == [], (block, name)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_renders_its_placement_or_is_rejected_clearly(
    case: Case,
    outcomes: dict[Case, tuple[gpu.GpuPlacement, dict[str, Any]] | ConfigError],
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    outcome = outcomes[case]
    if isinstance(outcome, ConfigError):
        # A profile the GPU or the cloud's partitioning cannot make: named, with the reason.
        assert outcome.keys, case
        assert all(k.startswith("triton-platform:gpu.") for k in outcome.keys), str(outcome)
        return
    place, values = outcome
    spec = pod_spec(rendered[_block_key(values)])
    # The rendered pod is exactly this case's placement (the render is shared by equal blocks).
    assert spec["nodeSelector"] == place.node_selector
    assert "nvidia.com/gpu.product" not in spec["nodeSelector"], case.id
    limits = triton_container(spec)["resources"]["limits"]
    assert {k: v for k, v in limits.items() if "/" in k} == place.resources
    assert labels_errors(place.node_selector) == [], case.id
    if place.mig_config_label is not None:
        assert label_value_errors(place.mig_config_label) == [], case.id
