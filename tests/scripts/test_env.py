"""scripts/env.sh: the dev stack's Pulumi backend and passphrase reach the user's shell.

Sourced by bash in a sandbox copy of the repository (tests/support/script_sandbox.py); the
Makefile's dev-stack targets and scripts/dev-up.sh use the same file.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.script_sandbox import REPO, Sandbox

SHOW = 'source scripts/env.sh && printf "%s\\n" "$PULUMI_BACKEND_URL" "${PULUMI_CONFIG_PASSPHRASE-unset}" "$PATH"'


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


def test_sourcing_points_pulumi_at_the_checkouts_file_backend(box: Sandbox) -> None:
    result = box.run("bash", "-c", SHOW)
    assert result.returncode == 0, result.stderr
    backend, passphrase, path = result.stdout.splitlines()
    assert backend == f"file://{box.root}/.state/pulumi"
    assert passphrase == ""  # set (empty): pulumi asks for nothing, as the dev commands expect
    assert path.split(":")[0] == f"{box.root}/.cache/tools"
    assert (box.root / ".state" / "pulumi").is_dir()  # `pulumi login file://...` needs it to exist
    assert result.stderr == ""


def test_it_works_from_any_directory(box: Sandbox) -> None:
    result = subprocess.run(
        ["bash", "-c", f'source "{box.root}/scripts/env.sh" && echo "$PULUMI_BACKEND_URL"'],
        cwd=box.home,
        env=box.env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.stdout.strip() == f"file://{box.root}/.state/pulumi"


def test_a_passphrase_and_a_backend_you_set_are_kept(box: Sandbox) -> None:
    result = box.run(
        "bash", "-c", SHOW, env={"PULUMI_BACKEND_URL": "s3://acme-state", "PULUMI_CONFIG_PASSPHRASE": "s3cret"}
    )
    backend, passphrase, _ = result.stdout.splitlines()
    assert (backend, passphrase) == ("s3://acme-state", "s3cret")
    assert f"the dev stack's state is file://{box.root}/.state/pulumi" in result.stderr


def test_sourcing_twice_does_not_grow_path(box: Sandbox) -> None:
    result = box.run("bash", "-c", 'source scripts/env.sh; source scripts/env.sh; echo "$PATH"')
    assert result.stdout.count(".cache/tools") == 1


def test_running_it_instead_of_sourcing_says_so(box: Sandbox) -> None:
    result = box.run("bash", "scripts/env.sh")
    assert result.returncode == 2
    assert "source it (source scripts/env.sh)" in result.stderr


def test_the_makefiles_dev_stack_targets_use_the_dev_backend() -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    for target in ("preview", "preview-comment", "destroy"):
        out = subprocess.run(
            [make, "-n", target], cwd=REPO, capture_output=True, text=True, timeout=30, check=True
        ).stdout
        assert 'source scripts/env.sh && export PULUMI_BACKEND_URL="$TRITON_PLATFORM_DEV_BACKEND"' in out, target
    loadtest = subprocess.run([make, "-n", "loadtest"], cwd=REPO, capture_output=True, text=True, timeout=30).stdout
    assert "source scripts/env.sh;" in loadtest  # your backend when you set one (make loadtest STACK=prod)


def test_the_readme_tells_how_to_reach_the_dev_stack_from_a_shell() -> None:
    readme = (REPO / "README.md").read_text()
    assert "source scripts/env.sh" in readme
    assert "organization/triton-platform/dev" in readme
