"""Shared fixtures: the Pulumi mock runtime with a recorder, and the generated sample models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.pulumi_mocks import RecordingMocks

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Kubeconfig files the programs write go to a temporary folder, never the checkout's .state/."""
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("TRITON_PLATFORM_STATE_DIR", str(path))
    return path


@pytest.fixture
def pulumi_stack() -> str:
    """The stack name the mocks run under; a test module overrides it to match its example stack."""
    return "test"


@pytest.fixture
def mocks(pulumi_stack: str) -> RecordingMocks:
    """Fresh Pulumi mocks for one test; resources registered under it are recorded."""
    m = RecordingMocks()
    m.install(stack=pulumi_stack)
    return m


@pytest.fixture(scope="session")
def samples_built() -> Path:
    """Generate the sample models (deterministic, no downloads) the example stacks point at."""
    subprocess.run([sys.executable, "-m", "samples.make_samples"], cwd=REPO, check=True, timeout=120)
    return REPO / "samples"
