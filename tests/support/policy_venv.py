"""The policy pack's own virtualenv, ``.cache/policy-venv`` (the path PulumiPolicy.yaml names).

pulumi-policy pins protobuf 5.x and the program's onnx needs protobuf 6, so the pack cannot
live in the test venv; like checkov's (tests/support/tools.py) it gets its own, built with pip
from policy/requirements.txt the first time a test needs it.
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".cache" / "policy-venv"
REQUIREMENTS = ROOT / "policy" / "requirements.txt"


def python() -> Path:
    """The venv's interpreter, created (or refreshed when the requirements change) first."""
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    marker = VENV / ".requirements.sha256"
    exe = VENV / "bin" / "python"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with (VENV.parent / "policy-venv.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (exe.is_file() and marker.is_file() and marker.read_text().strip() == want):
            base = getattr(sys, "_base_executable", sys.executable)
            subprocess.run([base, "-m", "venv", "--clear", str(VENV)], check=True, timeout=300)
            result = subprocess.run(
                [str(exe), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"pip install -r {REQUIREMENTS} failed:\n{result.stdout}\n{result.stderr}")
            marker.write_text(want + "\n")
    return exe
