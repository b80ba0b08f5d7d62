"""The tool locator: helm and kubectl from the npm layer package, overrides by environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import tools

pytestmark = pytest.mark.chart


def test_helm_and_kubectl_are_installed_and_run() -> None:
    helm, kubectl = tools.helm_path(), tools.kubectl_path()
    for path in (helm, kubectl):
        assert path.is_file()
        assert os.access(path, os.X_OK)
    out = subprocess.run([str(helm), "version", "--short"], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.startswith("v4.")
    out = subprocess.run([str(kubectl), "version", "--client"], capture_output=True, text=True, timeout=60, check=True)
    assert "Client Version: v1." in out.stdout


def test_helm_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    real = tools.helm_path()
    monkeypatch.setenv("HELM", str(real))
    assert tools.helm_path() == real


def test_helm_env_override_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HELM", str(tmp_path / "no-such-helm"))
    with pytest.raises(tools.ToolInstallError, match="HELM="):
        tools.helm_path()
