"""Event logs of every scenario, written once per test session from tests/triton_platform/preview/fixtures.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.triton_platform.preview.fixtures import SCENARIOS, write_log


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("event-logs")
    return {name: write_log(root / f"{name}.jsonl", build()) for name, build in SCENARIOS.items()}
