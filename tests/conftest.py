"""Shared fixtures and hooks: the Pulumi mock runtime with a recorder, the generated sample models, the
object-store emulators (tests/support/stores.py), and the check that server-starting tests are ``integration``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Generator
from pathlib import Path

import pytest

from tests.support import integration
from tests.support.pulumi_mocks import RecordingMocks

# The object-store emulator fixtures (moto_endpoint, gcs_endpoint, azurite_endpoint, make_store).
pytest_plugins = ["tests.support.stores"]

REPO = Path(__file__).resolve().parents[1]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a server-starting fixture without the integration marker stops the run."""
    integration.check_collection(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    # Fixtures start servers here: tests.support.integration checks the test's marker then.
    return (yield from integration.running(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from integration.running(item))


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
