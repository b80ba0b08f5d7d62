"""The two workflows, validated offline: GitHub's workflow schema (check-jsonschema's vendored
copy of SchemaStore's github-workflow.json) and zizmor's security audits (no finding at medium
severity or above, with the auditor persona, which shows everything), plus what issue 8 asks of them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(".github/workflows")
FILES = [WORKFLOWS / "preview.yml", WORKFLOWS / "deploy.yml"]
BIN = Path(sys.executable).parent
_PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def _steps(wf: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for job in wf["jobs"].values() for s in job.get("steps", [])]


def _tool(name: str) -> str:
    path = BIN / name
    assert path.is_file(), f"{name} is missing from the test venv: install requirements-dev.txt"
    return str(path)


def test_schema_valid() -> None:
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, FILES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_has_no_medium_or_higher_finding() -> None:
    result = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            "--persona",
            "auditor",
            "--min-severity",
            "medium",
            "--format",
            "plain",
            *map(str, FILES),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_actions_pinned_and_least_privilege(path: Path) -> None:
    text = path.read_text()
    wf = _load(path)
    assert wf["permissions"] == {}
    for job in wf["jobs"].values():
        assert "permissions" in job  # every job states what it needs
        assert "write-all" not in str(job["permissions"])
    for line in text.splitlines():
        m = re.match(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$", line)
        if m:
            assert _PINNED.match(m.group(1)), line
            assert re.search(r"#\s*v\d+(\.\d+)*", m.group(2)), f"no version comment: {line}"
    for step in _steps(wf):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
    # Keyless only: no static cloud keys from secrets anywhere.
    for key in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "aws-access-key-id",
        "credentials_json",
        "creds:",
        "GOOGLE_CREDENTIALS",
        "ARM_CLIENT_SECRET",
        "client-secret",
    ):
        assert key not in text, key


def test_preview_workflow() -> None:
    wf = _load(WORKFLOWS / "preview.yml")
    assert set(wf["on"]) == {"pull_request"}
    jobs = wf["jobs"]
    preview, comment = jobs["preview"], jobs["comment"]
    # Forks never get cloud credentials: the jobs that log in (and comment) only run for this repo's branches.
    for job in (preview, comment):
        assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    assert preview["permissions"] == {"contents": "read", "id-token": "write"}
    assert comment["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "always()" in comment["if"]  # a failed preview still gets its section
    uses = [str(s.get("uses", "")).split("@")[0] for s in _steps(wf)]
    for action in (
        "pulumi/actions",
        "aws-actions/configure-aws-credentials",
        "google-github-actions/auth",
        "azure/login",
        "actions/upload-artifact",
        "actions/download-artifact",
        "marocchino/sticky-pull-request-comment",
    ):
        assert action in uses, action
    run = "\n".join(str(s.get("run", "")) for s in preview["steps"])
    for flag in (
        "pulumi preview",
        "--diff",
        "--event-log",
        "--save-plan",
        "--policy-pack policy",
        "--policy-pack-config",
        "GITHUB_STEP_SUMMARY",
    ):
        assert flag in run, flag
    assert "python -m triton_platform.preview.stacks matrix" in jobs["stacks"]["steps"][-1]["run"]
    assert "fromJSON(needs.stacks.outputs.matrix)" in str(preview["strategy"]["matrix"])
    built = "\n".join(str(s.get("run", "")) for s in comment["steps"])
    assert "python -m triton_platform.preview" in built
    sticky = next(s for s in comment["steps"] if "sticky-pull-request-comment" in str(s.get("uses")))
    assert sticky["with"]["header"]  # one comment per PR, found again by its header


def test_deploy_workflow() -> None:
    wf = _load(WORKFLOWS / "deploy.yml")
    assert wf["on"] == {"push": {"branches": ["main"]}}
    deploy = wf["jobs"]["deploy"]
    assert deploy["strategy"]["max-parallel"] == 1
    assert deploy["strategy"]["fail-fast"] is True
    assert deploy["environment"] == "${{ matrix.environment }}"
    run = "\n".join(str(s.get("run", "")) for s in deploy["steps"])
    assert "pulumi up" in run
    assert "--plan" in run
    assert "--policy-pack policy" in run
    assert wf["concurrency"]["cancel-in-progress"] is False
