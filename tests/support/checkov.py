"""Run the real checkov (``--skip-download``, offline) over rendered manifests and return its report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.tools import checkov_path


def scan(manifest: str, workdir: Path) -> dict[str, Any]:
    """checkov's JSON report for one rendered manifest (multi-document YAML)."""
    checkov = checkov_path()
    assert checkov is not None, "checkov is installed by python -m tests.support.tools install"
    manifests = workdir / "rendered"
    manifests.mkdir()
    (manifests / "manifest.yaml").write_text(manifest)
    proc = subprocess.run(
        [str(checkov), "--skip-download", "--framework", "kubernetes", "-d", str(manifests), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=manifests,
    )
    # 0: everything passed, 1: some checks failed; anything else is checkov itself failing.
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    return report[0] if isinstance(report, list) else report


def check_ids(report: dict[str, Any], outcome: str, resource_prefixes: tuple[str, ...] = ("",)) -> set[str]:
    """The ids of the ``passed_checks`` / ``failed_checks`` on resources whose name starts with a prefix."""
    return {c["check_id"] for c in report["results"][outcome] if c["resource"].startswith(resource_prefixes)}
