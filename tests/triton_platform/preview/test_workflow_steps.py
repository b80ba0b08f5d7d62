"""preview.yml's own shell steps, run here as GitHub runs them (``bash -eo pipefail``).

What the schema and zizmor cannot see: which stacks a repository previews with only some (or none)
of the clouds' preview identities configured (a fork previews nothing, and the jobs that would get
an empty matrix are skipped), and that the comment is still posted when no event log could be read,
the job failing after. ``python -m pip`` is stubbed out (no network); ``python`` is this venv's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.stacks import REPO

WORKFLOW = REPO / ".github/workflows/preview.yml"
STUB_PYTHON = """#!/bin/bash
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then exit 0; fi
exec {python} "$@"
"""

pytestmark = pytest.mark.skipif(shutil.which("jq") is None, reason="the workflow's steps use jq (apt install jq)")


def _jobs() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]


def _step(job: str, step_id: str) -> dict[str, Any]:
    return next(s for s in _jobs()[job]["steps"] if s.get("id") == step_id)


def _run_step(
    step: dict[str, Any], tmp: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    stub = bin_dir / "python"
    stub.write_text(STUB_PYTHON.format(python=sys.executable))
    stub.chmod(0o755)
    output, summary, runner_temp = tmp / "output", tmp / "summary", tmp / "runner"
    runner_temp.mkdir(exist_ok=True)
    output.write_text("")
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=REPO,
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "RUNNER_TEMP": str(runner_temp),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return proc, outputs


IDENTITIES = {
    "aws": "AWS_PREVIEW_ROLE_ARN",
    "gcp": "GCP_WORKLOAD_IDENTITY_PROVIDER",
    "azure": "AZURE_PREVIEW_CLIENT_ID",
}


def test_the_step_reads_the_variables_the_logins_use() -> None:
    step = _step("stacks", "list")
    logins = WORKFLOW.read_text()
    assert len(IDENTITIES) == 3, IDENTITIES  # one identity variable per cloud
    for variable in IDENTITIES.values():
        assert step["env"][variable] == f"${{{{ vars.{variable} }}}}"
        assert f"vars.{variable} }}}}" in logins.split("jobs:", 1)[1].split("preview:", 1)[1]  # the login uses it


@pytest.mark.parametrize(
    ("configured", "stacks"),
    [
        ([], []),  # a fork, or a repository not set up yet: nothing to preview
        (["gcp"], ["staging"]),
        (["aws", "azure"], ["prod", "prod-azure"]),
        (["aws", "gcp", "azure"], ["staging", "prod", "prod-azure"]),
    ],
)
def test_only_the_clouds_with_a_preview_identity_are_previewed(
    tmp_path: Path, configured: list[str], stacks: list[str]
) -> None:
    env = {IDENTITIES[c]: ("set" if c in configured else "") for c in IDENTITIES}
    proc, outputs = _run_step(_step("stacks", "list"), tmp_path, env)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(outputs["matrix"])["include"]
    assert [r["stack"] for r in rows] == stacks
    assert outputs["any"] == ("true" if stacks else "false")
    summary = (tmp_path / "summary").read_text()
    if not stacks:
        assert "No stack to preview" in summary
    for name in {"staging", "prod", "prod-azure"} - set(stacks):
        assert f"not previewed: {name}" in summary


def test_the_jobs_that_need_a_stack_are_skipped_without_one() -> None:
    jobs = _jobs()
    assert jobs["stacks"]["outputs"]["any"] == "${{ steps.list.outputs.any }}"
    for job in ("preview", "comment"):
        assert "needs.stacks.outputs.any == 'true'" in jobs[job]["if"], job


def test_the_comment_is_posted_when_no_log_could_be_read_and_the_job_fails_after(tmp_path: Path) -> None:
    matrix = {"include": [{"stack": "staging"}, {"stack": "prod"}]}
    # No artifact downloaded: every preview failed before writing its event log.
    proc, outputs = _run_step(
        _step("comment", "build"),
        tmp_path,
        {"STACKS_JSON": json.dumps(matrix), "RUN_URL": "https://github.com/OWNER/REPO/actions/runs/1"},
    )
    assert proc.returncode == 0, proc.stderr  # the step itself goes on to post
    assert outputs["exit-code"] == "1"
    assert outputs["comment"] == "true"
    comment = (tmp_path / "runner" / "comment.md").read_text()
    assert "staging" in comment
    assert "prod" in comment
    assert "no event log could be read" in proc.stderr

    steps = _jobs()["comment"]["steps"]
    names = [s.get("name", "") for s in steps]
    post = next(s for s in steps if "sticky-pull-request-comment" in str(s.get("uses")))
    fail = next(s for s in steps if s.get("name") == "Fail the check when no event log could be read")
    assert post["if"] == "steps.build.outputs.comment == 'true'"
    assert fail["if"] == "steps.build.outputs.exit-code != '0'"
    assert names.index(post["name"]) < names.index(fail["name"])  # post first, then fail the job
    failed = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", fail["run"]], env={"RC": "1"}, capture_output=True, text=True
    )
    assert failed.returncode == 1
