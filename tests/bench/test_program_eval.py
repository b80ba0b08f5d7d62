"""bench/program_eval.py on bad arguments: argparse's usage message and exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stacks import REPO


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repeat", "0"], "--repeat 0: at least 1 round (e.g. --repeat 5)"),
        (["--baseline", "/nonexistent"], "--baseline /nonexistent: not a checkout of this project"),
    ],
)
def test_bad_arguments_are_a_message_before_anything_runs(args: list[str], message: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "program_eval.py"), *args, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing measured, no report written
