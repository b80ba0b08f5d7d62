"""checkov over the rendered manifests of every example: the security baseline holds, and every
accepted failure is on the allow-list and documented in the chart's README ("Security exceptions")."""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.chart.conftest import CHART_DIR, SCENARIO_NAMES, Rendered
from tests.support.tools import checkov_path

pytestmark = pytest.mark.chart

CHECKOV_TIMEOUT_S = 300

# Checks that must pass on every Deployment of every example (no exception possible).
REQUIRED_PASS = {
    "CKV_K8S_8",  # liveness probe
    "CKV_K8S_9",  # readiness probe
    "CKV_K8S_10",  # CPU requests
    "CKV_K8S_11",  # CPU limits
    "CKV_K8S_12",  # memory requests
    "CKV_K8S_13",  # memory limits
    "CKV_K8S_14",  # image tag is not latest
    "CKV_K8S_16",  # not privileged
    "CKV_K8S_20",  # allowPrivilegeEscalation false
    "CKV_K8S_21",  # not in the default namespace
    "CKV_K8S_22",  # read-only root filesystem
    "CKV_K8S_23",  # no root containers
    "CKV_K8S_25",  # no added capabilities
    "CKV_K8S_28",  # NET_RAW dropped
    "CKV_K8S_29",  # pod securityContext
    "CKV_K8S_30",  # container securityContext
    "CKV_K8S_31",  # seccomp RuntimeDefault
    "CKV_K8S_37",  # capabilities minimised (drop ALL)
    "CKV_K8S_38",  # service account token only where needed
    "CKV_K8S_39",  # no CAP_SYS_ADMIN
}

# Accepted failures, each with the condition under which it is expected; every ID here must be
# explained in the chart README's "Security exceptions" section.
ALLOWED_FAILURES: dict[str, str] = {
    "CKV_K8S_15": "imagePullPolicy IfNotPresent on a tag (pinning image.digest satisfies it)",
    "CKV_K8S_43": "image pinned by NGC release tag, not digest (image.digest satisfies it)",
    "CKV_K8S_40": "UID 1000, the NGC image's triton-server user (securityContext.runAsUser >= 10000 satisfies it)",
    "CKV_K8S_35": "MinIO credentials as env vars (only with modelRepository.credentialsSecret)",
}
# The example that opts into every hardening knob passes everything.
STRICT_SCENARIOS = {"hardened"}
# CKV_K8S_35 is only acceptable where a credentials Secret is configured.
SECRET_SCENARIOS = {"cpu"}


@pytest.fixture(scope="module")
def checkov_results(rendered: dict[str, Rendered], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One checkov run over every example's manifests (one sub-folder per example)."""
    checkov = checkov_path()  # installs on first use; an install failure raises with pip's output
    assert checkov is not None, (
        "checkov is missing from .cache/checkov-venv: run `python -m tests.support.tools install`"
    )
    root = tmp_path_factory.mktemp("rendered")
    for name in SCENARIO_NAMES:
        (root / name).mkdir()
        (root / name / "manifest.yaml").write_text(rendered[name].text)
    # Without --quiet checkov also lists passed checks, so the test can tell "passed" from "not run".
    proc = subprocess.run(
        [str(checkov), "--skip-download", "--framework", "kubernetes", "-d", str(root), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=CHECKOV_TIMEOUT_S,
        check=False,
        cwd=root,
    )
    # checkov exits 1 when any check fails; anything else (or no JSON) is a crash.
    assert proc.returncode in (0, 1), f"checkov crashed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    kube = [r for r in reports if r.get("check_type") == "kubernetes"]
    assert len(kube) == 1, f"no kubernetes report from checkov:\n{proc.stdout[:2000]}"
    result: dict[str, Any] = kube[0]
    return result


def _by_scenario(checks: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in checks:
        out[Path(c["file_path"].lstrip("/")).parts[0]].append(c)
    return out


def test_checkov_scanned_everything(checkov_results: dict[str, Any]) -> None:
    summary = checkov_results["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= len(SCENARIO_NAMES) * 3
    passed = _by_scenario(checkov_results["results"]["passed_checks"])
    assert set(passed) == set(SCENARIO_NAMES)


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_required_checks_pass(checkov_results: dict[str, Any], name: str) -> None:
    passed = {
        c["check_id"]
        for c in _by_scenario(checkov_results["results"]["passed_checks"])[name]
        if c["resource"].startswith("Deployment.")
    }
    missing = REQUIRED_PASS - passed
    assert not missing, f"{name}: required checks not passed on the Deployment: {sorted(missing)}"


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_no_unexpected_failures(checkov_results: dict[str, Any], name: str) -> None:
    failed = _by_scenario(checkov_results["results"]["failed_checks"])[name]
    allowed = set() if name in STRICT_SCENARIOS else set(ALLOWED_FAILURES)
    if name not in SECRET_SCENARIOS:
        allowed.discard("CKV_K8S_35")
    unexpected = [
        f"{c['check_id']} {c['check_name']} ({c['resource']})" for c in failed if c["check_id"] not in allowed
    ]
    assert unexpected == [], f"{name}: checkov failures not on the allow-list: {unexpected}"


def test_exceptions_are_real_and_documented(checkov_results: dict[str, Any]) -> None:
    readme = (CHART_DIR / "README.md").read_text()
    m = re.search(r"^### Security exceptions\n(.*?)(?=^#|\Z)", readme, re.MULTILINE | re.DOTALL)
    assert m, "charts/triton-inference-server/README.md has no 'Security exceptions' section"
    section = m.group(1)
    documented = set(re.findall(r"CKV2?_K8S_\d+", section))
    assert documented == set(ALLOWED_FAILURES)
    # No stale entries: each allowed failure does occur with the defaults or an example.
    occurring = {c["check_id"] for c in checkov_results["results"]["failed_checks"]}
    assert occurring == set(ALLOWED_FAILURES)
