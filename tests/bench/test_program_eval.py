"""bench/program_eval.py: bad arguments are a message before anything runs; one round runs every
program; the instruction count (valgrind) counts a whole program."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stacks import REPO

SCRIPT = REPO / "bench" / "program_eval.py"


def _bench(
    *args: str, out: Path, timeout: int = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The benchmark script run with ``args``, its report written under ``out``."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repeat", "0"], "--repeat 0: at least 1 round (e.g. --repeat 5)"),
        (["--baseline", "/nonexistent"], "--baseline /nonexistent: not a checkout of this project"),
    ],
)
def test_bad_arguments_are_a_message_before_anything_runs(args: list[str], message: str, tmp_path: Path) -> None:
    result = _bench(*args, out=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing measured, no report written


def test_one_round_times_every_program_and_the_replay_registers_what_dev_registered(
    tmp_path: Path, samples_built: Path
) -> None:
    # The benchmark itself, one round: no timing is asserted (bench/ measures, tests do not), only
    # that every program ran as the language host runs it, the dev program imported none of
    # NOT_IN_THE_DEV_PROGRAM, and the replay's registrations equal the dev program's (the script checks them).
    result = _bench("--repeat", "1", "--replay", out=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (report_file,) = tmp_path.iterdir()
    report = json.loads(report_file.read_text())
    assert set(report["seconds"]) == {"dev", "floor", "floor_prepared", "replay"}
    assert all(len(rounds) == 1 and rounds[0] > 0 for rounds in report["seconds"].values())


def test_counting_instructions_without_valgrind_is_a_message(tmp_path: Path) -> None:
    result = _bench("--instructions", out=tmp_path, env={"PATH": str(tmp_path)})  # no valgrind there
    assert result.returncode == 2, result.stderr
    assert "--instructions needs valgrind on PATH (Debian: apt-get install valgrind)" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    shutil.which("valgrind") is None, reason="valgrind is not installed (the instruction count is an optional measure)"
)
def test_instructions_are_counted_from_start_to_exit(tmp_path: Path) -> None:
    # Loaded from its file: bench/ holds scripts, not a package.
    spec = importlib.util.spec_from_file_location("program_eval", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    program_eval = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program_eval)
    floor = tmp_path / "floor.py"
    floor.write_text(program_eval._FLOOR)
    program_eval.ENV.update(program_eval.program_env(str(tmp_path / "pycache")))
    program_eval.run(floor)  # fills the bytecode cache, as the benchmark's warm-up does
    empty = tmp_path / "empty.py"
    empty.write_text("")
    # The host alone (pulumi and the mocks) against the host running the floor: both positive, and
    # the floor's imports and registration add to it.
    assert 0 < program_eval.instructions(empty) < program_eval.instructions(floor)
