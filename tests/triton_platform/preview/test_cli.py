"""The command on a user's bad input, run as a user runs it: both entry points, in a subprocess.

A mistake is one clear line on stderr and an exit status, never a traceback (issue 16, item 3).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "pulumi_engine"
GOOD = DATA / "import-only-preview.jsonl"
ENTRY_POINTS = ["triton_platform.preview", "triton_platform.preview_comment"]


def _run(module: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(params=ENTRY_POINTS)
def module(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_unreadable_logs_are_named_with_their_full_path(module: str, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "events.jsonl"
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes("résumé\n".encode("latin-1"))
    console = tmp_path / "console.txt"  # the CLI's console output, given instead of the event log
    console.write_text("Previewing update (staging)\n\n     Type                 Name\n +   pulumi:pulumi:Stack  x\n")
    proc = _run(module, "--stack", f"a={missing}", "--stack", f"b={latin1}", "--stack", f"c={console}")
    assert proc.returncode == 1  # no input could be read
    err = proc.stderr
    assert f"stack 'a': no event log at {missing}" in err
    assert f"stack 'b': {latin1} is not UTF-8 text (byte 0xe9 at offset 1)" in err
    assert f"stack 'c': {console} is not a Pulumi engine event log" in err
    assert err.rstrip().endswith("error: no event log could be read")
    # The comment still has each stack's section, with the reason.
    assert f"no event log at {missing}" in proc.stdout
    assert proc.stdout.count(":x: preview failed") >= 3


def test_one_readable_log_is_enough(module: str, tmp_path: Path) -> None:
    missing = tmp_path / "prod.jsonl"
    proc = _run(module, "--stack", f"staging={GOOD}", "--stack", f"prod={missing}")
    assert proc.returncode == 0
    assert f"stack 'prod': no event log at {missing}" in proc.stderr
    assert "### Stack `staging`: :large_orange_diamond: changes" in proc.stdout


def test_a_directory_is_not_a_log(module: str, tmp_path: Path) -> None:
    proc = _run(module, "--stack", f"x={tmp_path}")
    assert proc.returncode == 1
    assert f"{tmp_path} is a directory, not an event log file" in proc.stderr


def test_the_same_stack_twice_is_an_error(module: str) -> None:
    proc = _run(module, "--stack", f"prod={GOOD}", "--stack", f"prod={GOOD}")
    assert proc.returncode == 2
    assert "stack 'prod' given more than once" in proc.stderr
    assert proc.stdout == ""


def test_a_malformed_stack_argument_is_an_error(module: str) -> None:
    proc = _run(module, "--stack", "no-equals-sign")
    assert proc.returncode == 2
    assert "--stack takes NAME=EVENT_LOG" in proc.stderr


def test_help_is_plain_text(module: str) -> None:
    proc = _run(module, "--help")
    assert proc.returncode == 0
    out = proc.stdout
    assert out.startswith("usage: python -m triton_platform.preview ")
    assert "--stack NAME=EVENT_LOG" in out
    assert "a stack's name and the event log its preview wrote" in out
    assert "'pulumi preview --event-log FILE'" in out
    # No reST/Markdown markup from the module docstring.
    assert "`" not in out
    assert ":mod:" not in out
