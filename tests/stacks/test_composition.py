"""The composition's shape, checked on every example stack under Pulumi's mock runtime.

- every resource belongs to a component: only providers (which compositions create and pass
  in) and components sit at the stack's root;
- the model publisher's ModelVersions wait for Triton's namespace and the engine builder's
  ServiceAccount (a first deploy must not race them);
- layering: nothing under ``triton_platform/`` or ``components/`` imports ``stacks``;
- one wiring: every cloud module provides a ``CloudPlatform`` and ``stacks.common.compose``
  is the only caller of ``deploy_workloads``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import stacks
from stacks.common import BUILDER_SERVICE_ACCOUNT
from tests.support.cloud import build_stack
from tests.support.pulumi_mocks import RecordingMocks
from tests.support.stacks import REPO, stack_config
from triton_platform.config import parse_config

STACKS = ("dev", "prod", "staging", "prod-azure")
ROOT_TYPE = "pulumi:pulumi:Stack"


def _built(mocks: RecordingMocks, stack: str) -> RecordingMocks:
    cfg = parse_config(stack_config(stack), base_dir=REPO, stack=stack)
    build_stack(mocks, stacks.build_stack, cfg)
    return mocks


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_belongs_to_a_component(mocks: RecordingMocks, samples_built: Path, stack: str) -> None:
    _built(mocks, stack)
    custom = {r.name: r for r in mocks.resources if r.custom}
    at_root = []
    for name, (type_, parent, _deps) in mocks.registrations.items():
        if f"::{ROOT_TYPE}::" not in parent or type_.startswith("pulumi:providers:"):
            continue
        # Component resources may sit at the root; custom resources may not.
        if name in custom and custom[name].type == type_:
            at_root.append(f"{type_} {name}")
    assert at_root == [], f"{stack}: resources created outside any component: {at_root}"


@pytest.mark.parametrize("stack", ["prod", "staging", "prod-azure"])
def test_model_versions_wait_for_namespace_and_builder_account(
    mocks: RecordingMocks, samples_built: Path, stack: str
) -> None:
    cfg = parse_config(stack_config(stack), base_dir=REPO, stack=stack)
    build_stack(mocks, stacks.build_stack, cfg)
    versions = [n for n, (t, _p, _d) in mocks.registrations.items() if t.endswith("triton:ModelVersion")]
    assert versions, f"{stack} publishes no model"
    (namespace,) = [
        r.name
        for r in mocks.of_type("kubernetes:core/v1:Namespace")
        if r.inputs["metadata"]["name"] == cfg.triton.namespace
    ]
    builder_sa = mocks.service_account(BUILDER_SERVICE_ACCOUNT).name
    for version in versions:
        deps = mocks.dependency_names(version)
        assert namespace in deps, (version, sorted(deps))
        assert builder_sa in deps, (version, sorted(deps))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", ["triton_platform", "components"])
def test_lower_layers_never_import_the_compositions(layer: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(n for n in _imports(path) if n == "stacks" or n.startswith("stacks."))
        for path in (REPO / layer).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_one_place_composes_the_workloads() -> None:
    callers = []
    for path in (REPO / "stacks").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "deploy_workloads":
                callers.append(path.name)
    assert callers == ["common.py"]
    for module in stacks.COMPOSITIONS.values():
        source = (REPO / (module.replace(".", "/") + ".py")).read_text()
        assert "def provision(" in source, module
        assert "CloudPlatform(" in source, module


def test_location_values_place_the_release_location_key_once_it_is_known(mocks: RecordingMocks) -> None:
    """Canary: a storage's ``location_values`` (Azure's mirror of one location) gets the release's key,
    an Output until the release's digest is known; the rest of its values stay as they are."""
    import pulumi

    from stacks.common import location_chart_values

    seen: list[str] = []

    def values(key: str) -> dict[str, object]:
        seen.append(key)
        return {
            "extraInitContainers": [{"name": "sync", "args": ["--prefix", key, "--dest", f"/repo/{key}"]}],
            "extraContainers": [],
            "interval": 30,
        }

    key = pulumi.Output.from_input("_cache/releases/served/abc")
    placed = location_chart_values(values, key)
    assert len(seen) == 1  # once, on a placeholder
    assert placed["extraContainers"] == []
    assert placed["interval"] == 30

    @pulumi.runtime.test
    def resolved() -> pulumi.Output[None]:
        def check(out: dict[str, object]) -> None:
            assert out["extraInitContainers"] == [
                {
                    "name": "sync",
                    "args": ["--prefix", "_cache/releases/served/abc", "--dest", "/repo/_cache/releases/served/abc"],
                }
            ]

        return pulumi.Output.from_input(placed).apply(check)

    resolved()
