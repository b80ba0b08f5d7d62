"""The Makefile: `make help` lists every target, and each target works or names what is missing.

Targets that would create .venv or call Pulumi run in a sandbox copy of the repository
(tests/support/script_sandbox.py) with ``PY=<this interpreter> VENV_TARGET=``, so no test installs
anything; ``make -n`` shows the commands of the others.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.script_sandbox import REPO, Sandbox, load_stack_file

MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")
DOCUMENTED = re.compile(r"^([a-z][a-z-]*):[^#\n]*## (.+)$", re.MULTILINE)


def _make(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    return subprocess.run(
        [MAKE, "--no-print-directory", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _documented_targets() -> dict[str, str]:
    targets = dict(DOCUMENTED.findall((REPO / "Makefile").read_text()))
    assert targets
    return targets


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    sandbox = Sandbox(tmp_path)
    sandbox.standin("curl")
    sandbox.uname("Linux", "x86_64")
    return sandbox


def _in_box(box: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    env = box.env(PYTHONPATH=str(REPO))
    return _make(*args, f"PY={sys.executable}", "VENV_TARGET=", cwd=box.root, env=env)


# --- help --------------------------------------------------------------------------------------


def test_help_lists_every_target_with_its_description() -> None:
    result = _make("help")
    assert result.returncode == 0, result.stderr
    listed = dict(re.findall(r"^  (\S+)\s+(.+)$", result.stdout, re.MULTILINE))
    assert listed == _documented_targets()
    assert {"help", "dev", "dev-check", "test", "validate", "stack", "tools", "venv", "destroy"} <= set(listed)


def test_make_without_a_target_is_help() -> None:
    assert _make().stdout == _make("help").stdout


def test_every_phony_target_is_documented() -> None:
    phony = re.search(r"^\.PHONY:(.*)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert phony
    assert set(phony.group(1).split()) == set(_documented_targets())


# --- validate ----------------------------------------------------------------------------------


def test_validate_checks_the_stack_file_with_the_config_command() -> None:
    result = _make("-n", "validate", "STACK=prod")
    assert result.stdout.splitlines()[-1] == ".venv/bin/python -m triton_platform.config Pulumi.prod.yaml"
    assert result.stdout.splitlines()[0] == "bash scripts/venv.sh requirements.txt"  # .venv made when needed


def test_validate_without_stack_checks_every_stack_file() -> None:
    stacks = " ".join(sorted(p.name for p in REPO.glob("Pulumi.*.yaml")))
    result = _make("-n", "validate")
    assert result.stdout.splitlines()[-1] == f".venv/bin/python -m triton_platform.config {stacks}"


# --- stack -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_stack_writes_a_valid_stack_file(box: Sandbox, cloud: str) -> None:
    result = _in_box(box, "stack", "NAME=ml-prod", f"CLOUD={cloud}")
    assert result.returncode == 0, result.stderr
    path = box.root / "Pulumi.ml-prod.yaml"
    assert "wrote Pulumi.ml-prod.yaml" in result.stdout
    cfg = load_stack_file(path, "ml-prod", box.root)
    assert cfg.cloud == cloud
    assert cfg.cluster.name == "triton-ml-prod"
    assert "# CHANGE" in path.read_text()


def test_stack_never_overwrites_an_existing_file(box: Sandbox) -> None:
    before = (box.root / "Pulumi.dev.yaml").read_text()
    result = _in_box(box, "stack", "NAME=dev", "CLOUD=aws")
    assert result.returncode != 0
    assert "Pulumi.dev.yaml exists already" in result.stderr
    assert "stacks here: dev" in result.stderr
    assert (box.root / "Pulumi.dev.yaml").read_text() == before


def test_stack_names_an_unknown_cloud_and_a_missing_name_at_once(box: Sandbox) -> None:
    result = _in_box(box, "stack", "CLOUD=oracle")
    assert result.returncode != 0
    assert "NAME is missing: make stack NAME=<name> CLOUD=<aws|gcp|azure>" in result.stderr
    assert "CLOUD 'oracle' is not one of aws, gcp, azure" in result.stderr
    assert sorted(p.name for p in box.root.glob("Pulumi.*.yaml")) == ["Pulumi.dev.yaml"]


def test_stack_refuses_a_name_pulumi_would_not_take(box: Sandbox) -> None:
    result = _in_box(box, "stack", "NAME=my stack", "CLOUD=gcp")
    assert result.returncode != 0
    assert "NAME 'my stack' is not a Pulumi stack name" in result.stderr


# --- targets that need a tool ------------------------------------------------------------------


def test_pulumi_targets_name_every_missing_tool_and_its_install_command(box: Sandbox) -> None:
    result = _in_box(box, "destroy")
    assert result.returncode != 0
    assert "Missing or too old tools:" in result.stderr
    assert "  - pulumi: not found" in result.stderr
    assert "curl -fsSL https://get.pulumi.com | sh" in result.stderr
    assert "  - kind: not found. Install the pinned release (sha256-verified) into .cache/tools:" in result.stderr
    assert "bash scripts/tools.sh install kind" in result.stderr


@pytest.mark.parametrize(("target", "tools"), [("preview", ["pulumi"]), ("loadtest", ["pulumi", "helm"])])
def test_a_missing_tool_stops_the_target_before_it_runs(box: Sandbox, target: str, tools: list[str]) -> None:
    result = _in_box(box, target)
    assert result.returncode != 0
    named = re.findall(r"^  - (\w+):", result.stderr, re.MULTILINE)
    assert named == tools
    assert box.calls("pulumi") == []


def test_dev_check_runs_the_dev_scripts_check_only() -> None:
    assert _make("-n", "dev-check").stdout.strip() == "bash scripts/dev-up.sh --check"
