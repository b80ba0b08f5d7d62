"""scripts/venv.sh and pyproject.toml's requires-python: the interpreter is checked before .venv exists.

Run in a sandbox with stand-in interpreters (tests/support/script_sandbox.py), so no test creates a
real virtualenv or installs anything.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from tests.support.script_sandbox import REPO, Sandbox


def _supported_in_script() -> set[str]:
    match = re.search(r'^SUPPORTED_PYTHONS="([^"]+)"', (REPO / "scripts" / "venv.sh").read_text(), re.MULTILINE)
    assert match
    return set(match.group(1).split())


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


def test_requires_python_is_what_the_scripts_accept() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    spec = SpecifierSet(project["requires-python"])
    accepted = {f"3.{minor}" for minor in range(6, 20) if spec.contains(f"3.{minor}.0")}
    assert accepted == _supported_in_script() == {"3.11", "3.12"}


def test_the_tools_target_the_oldest_supported_python() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]
    oldest = min(_supported_in_script(), key=lambda v: tuple(map(int, v.split("."))))
    assert config["ruff"]["target-version"] == "py" + oldest.replace(".", "")
    assert config["mypy"]["python_version"] == oldest


def test_an_unsupported_python_is_refused_before_venv_exists(box: Sandbox) -> None:
    python = box.python("python3.13", "3.13")
    result = box.run("bash", "scripts/venv.sh", env={"PYTHON": str(python)})
    assert result.returncode == 1
    assert "this project supports Python 3.11, 3.12 (pyproject.toml requires-python)" in result.stderr
    assert f"Found: {python} (Python 3.13)" in result.stderr
    assert "PYTHON=/path/to/python3.12" in result.stderr
    assert not (box.root / ".venv").exists()
    assert [c for c in box.calls() if "-m venv" in c] == []


def test_without_python_on_path_the_message_says_how_to_get_one(box: Sandbox) -> None:
    box.python("python3", "3.9")
    result = box.run("bash", "scripts/venv.sh", "--check")
    assert result.returncode == 1
    assert "Found: python3 (Python 3.9)" in result.stderr
    assert "brew install python@3.12" in result.stderr


def test_a_supported_python_without_venv_module_is_named(box: Sandbox) -> None:
    box.python("python3.12", "3.12", venv_module=False)
    result = box.run("bash", "scripts/venv.sh", "--check")
    assert result.returncode == 1
    assert "python3.12 (Python 3.12, without its venv module: install python3.12-venv)" in result.stderr


def test_the_first_supported_python_makes_venv_and_installs_once(box: Sandbox) -> None:
    box.python("python3", "3.13")
    box.python("python3.11", "3.11")
    first = box.run("bash", "scripts/venv.sh", "requirements.txt")
    assert first.returncode == 0, first.stderr
    assert "creating .venv with python3.11 (Python 3.11)" in first.stdout
    assert (box.root / ".venv" / "bin" / "python").is_file()
    pip = [c for c in box.calls(".venv/bin/python") if "-m pip" in c]
    assert pip == [
        ".venv/bin/python -m pip install -q --upgrade pip",
        ".venv/bin/python -m pip install -q -r requirements.txt",
    ]
    assert (box.root / ".venv" / ".stamp-requirements.txt").read_text().strip() == "stamp-3.11"

    second = box.run("bash", "scripts/venv.sh", "requirements.txt")
    assert second.returncode == 0
    assert [c for c in box.calls(".venv/bin/python") if "-m pip" in c] == pip  # nothing new installed


def test_a_venv_of_an_unsupported_python_is_recreated(box: Sandbox) -> None:
    old = box.python("python3.13", "3.13")
    (box.root / ".venv" / "bin").mkdir(parents=True)
    (box.root / ".venv" / "bin" / "python").write_bytes(old.read_bytes())
    (box.root / ".venv" / "bin" / "python").chmod(0o755)
    python = box.python("python3.12", "3.12")
    result = box.run("bash", "scripts/venv.sh", "requirements-dev.txt", env={"PYTHON": str(python)})
    assert result.returncode == 0, result.stderr
    assert "recreating it with" in result.stdout
    assert f"{python} -m venv --clear .venv" in box.calls(str(python))
    assert ".venv/bin/python -m pip install -q -r requirements-dev.txt" in box.calls(".venv/bin/python")


def test_a_missing_requirements_file_is_named(box: Sandbox) -> None:
    result = box.run("bash", "scripts/venv.sh", "requirements-nope.txt")
    assert result.returncode == 2
    assert "no requirements file requirements-nope.txt" in result.stderr


def test_the_test_command_creates_venv_through_the_same_check() -> None:
    text = (REPO / "scripts" / "test.sh").read_text()
    assert "bash scripts/venv.sh requirements-dev.txt" in text
    assert "-m venv" not in text
