"""renovate.json: the dependency-update bot's configuration covers every pin (issue 15, item 1).

Renovate publishes its configuration's JSON schema (docs.renovatebot.com/renovate-schema.json);
check-jsonschema vendors it as ``vendor.renovate``. Its regex managers are JavaScript regular
expressions with ``(?<name>...)`` groups; run here (as Python's ``(?P<name>...)``) against
triton_platform/catalog/versions.py, they must find every chart and image pinned there, each
with the version pinned, except the pins renovate.json says are moved by hand.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from triton_platform.catalog import versions
from triton_platform.catalog.versions import ChartPin

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "renovate.json"
VERSIONS = REPO / "triton_platform" / "catalog" / "versions.py"


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(CONFIG.read_text())
    return loaded


def _pattern(js: str) -> re.Pattern[str]:
    return re.compile(js.replace("(?<", "(?P<"))


def _file_pattern(pattern: str) -> re.Pattern[str]:
    assert pattern.startswith("/"), f"{pattern}: a regex, as /.../"
    assert pattern.endswith("/"), f"{pattern}: a regex, as /.../"
    return re.compile(pattern[1:-1])


def _manages(manager: dict[str, Any], path: str) -> bool:
    return any(_file_pattern(p).search(path) for p in manager["managerFilePatterns"])


def _template(template: str, groups: dict[str, str]) -> str:
    # Handlebars: {{x}} and {{{x}}} (unescaped) both insert a captured group.
    return re.sub(r"\{\{\{?\s*(\w+)\s*\}?\}\}", lambda m: groups[m.group(1)], template)


def _extract(manager: dict[str, Any], text: str) -> list[dict[str, str]]:
    """What one regex manager extracts from ``text`` (matchStringsStrategy any or recursive)."""
    patterns = [_pattern(s) for s in manager["matchStrings"]]
    if manager.get("matchStringsStrategy") == "recursive":
        scopes = [text]
        for pattern in patterns[:-1]:
            scopes = [m.group(0) for scope in scopes for m in pattern.finditer(scope)]
        matches = [m for scope in scopes for m in patterns[-1].finditer(scope)]
    else:
        matches = [m for pattern in patterns for m in pattern.finditer(text)]
    deps = []
    for m in matches:
        groups = {k: v for k, v in m.groupdict().items() if v is not None}
        dep = {
            field: _template(manager[f"{field}Template"], groups)
            for field in ("depName", "packageName", "datasource", "registryUrl")
            if f"{field}Template" in manager
        }
        deps.append({**groups, **dep})
    return deps


def _found(config: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(datasource, depName, currentValue) of every dependency the regex managers find in versions.py."""
    text = VERSIONS.read_text()
    found = set()
    for manager in config["customManagers"]:
        assert manager["customType"] == "regex"
        assert _manages(manager, "triton_platform/catalog/versions.py")
        for dep in _extract(manager, text):
            found.add((dep["datasource"], dep.get("packageName", dep["depName"]), dep["currentValue"]))
    return found


def _chart_pins() -> list[ChartPin]:
    return [p for p in vars(versions).values() if isinstance(p, ChartPin)]


def _pinned() -> set[tuple[str, str, str]]:
    """Every pin versions.py holds that Renovate moves, read from the module itself."""
    charts = {
        # A chart in an OCI registry is looked up as an artifact there (the docker datasource).
        ("docker", f"{p.repo.removeprefix('oci://')}/{p.chart}", p.version)
        if p.repo.startswith("oci://")
        else ("helm", p.chart, p.version)
        for p in _chart_pins()
    }
    images = {
        ("docker", value.rsplit(":", 1)[0], value.rsplit(":", 1)[1])
        for name, value in vars(versions).items()
        if name.endswith("_IMAGE") and isinstance(value, str) and "@" not in value
    }
    autoscaler = {
        ("docker", "registry.k8s.io/autoscaling/cluster-autoscaler", tag)
        for tag in versions.CLUSTER_AUTOSCALER_IMAGE_TAGS.values()
    }
    return {
        *charts,
        *images,
        *autoscaler,
        ("docker", "nvcr.io/nvidia/tritonserver", versions.DEFAULT_NGC_RELEASE),
        ("github-releases", "kubernetes-sigs/kind", versions.KIND_RELEASE),
    }


def test_the_config_is_valid_against_renovates_schema() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.renovate", str(CONFIG)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_regex_managers_find_every_pin_in_versions_py(config: dict[str, Any]) -> None:
    found, pinned = _found(config), _pinned()
    assert found == pinned, f"missed: {sorted(pinned - found)}; extra: {sorted(found - pinned)}"
    # Every chart with the repository it is pulled from (the helm datasource's registryUrl).
    text = VERSIONS.read_text()
    chart_manager = next(m for m in config["customManagers"] if m["datasourceTemplate"] == "helm")
    urls = {d["depName"]: d["registryUrl"] for d in _extract(chart_manager, text)}
    assert urls == {p.chart: p.repo for p in _chart_pins() if p.repo.startswith("https://")}


def test_the_pins_moved_by_hand_are_named_and_untouched(config: dict[str, Any]) -> None:
    # kind's node images (digests of one kind release) and the Kubernetes minor: no manager finds them.
    values = {v for _, _, v in _found(config)}
    for image in versions.KIND_NODE_IMAGES.values():
        assert not any(v in image for v in values if v.startswith("v1.")), image
    assert versions.DEFAULT_KUBERNETES_VERSION not in values
    stack_files = [p.name for p in REPO.glob("Pulumi.*.yaml")]
    managers = [m for m in config["customManagers"] if any(_manages(m, name) for name in stack_files)]
    assert managers == []
    described = " ".join(config["description"])
    for pin in ("DEFAULT_KUBERNETES_VERSION", "cluster.kubernetesVersion", "KIND_RELEASE", "SeaweedFS"):
        assert pin in described


def test_python_pins_and_action_shas_are_covered(config: dict[str, Any]) -> None:
    assert {"pip_requirements", "github-actions", "custom.regex"} <= set(config["enabledManagers"])
    requirements = sorted(p.name for p in REPO.glob("requirements*.txt"))
    assert requirements
    patterns = [_file_pattern(p) for p in config["pip_requirements"]["managerFilePatterns"]]
    assert all(any(p.search(name) for p in patterns) for name in requirements), requirements
    assert config["github-actions"]["pinDigests"] is True
    assert "helpers:pinGitHubActionDigests" in config["extends"]
    # The workflows already pin every action by commit SHA (Renovate keeps the SHA and its comment).
    for workflow in (REPO / ".github" / "workflows").glob("*.yml"):
        for line in workflow.read_text().splitlines():
            uses = re.search(r"uses:\s*([^\s#]+)", line)
            if uses and not uses.group(1).startswith("./"):
                assert re.search(r"@[0-9a-f]{40}\b", uses.group(1)), f"{workflow.name}: {line.strip()}"
