"""`helm test` through the Gateway (issue 18, item 4): ``loadTest.targetUrl`` replaces the plan's
in-cluster Service address (files/loadtest.py ``--url``), and the test's NetworkPolicy lets the
pod reach the Gateway's proxies (Envoy Gateway's labels, in its namespace) and nothing more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.helm import CHART, render_triton
from triton_platform.catalog.versions import DEFAULT_KUBERNETES_VERSION
from triton_platform.values.gateway import CONTROLLER_NAMESPACE, PROXY_LABELS

pytestmark = pytest.mark.chart
GATEWAY = "triton-gateway.example.internal:8001"


def _test_objects(tmp_path: Path, **load: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    values: dict[str, Any] = yaml.safe_load((CHART / "ci" / "hpa-values.yaml").read_text())
    values["loadTest"] = {**values.get("loadTest", {}), **load}
    docs = render_triton(values, tmp_path)
    (job,) = [d for d in docs if d["kind"] == "Job"]
    (policy,) = [d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith("-loadtest")]
    return job, policy


def test_target_url_goes_through_the_gateway(tmp_path: Path) -> None:
    job, policy = _test_objects(tmp_path, targetUrl=GATEWAY)
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--url") + 1] == GATEWAY
    proxies = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": CONTROLLER_NAMESPACE}},
        "podSelector": {"matchLabels": PROXY_LABELS},
    }
    assert {"to": [proxies]} in policy["spec"]["egress"]
    for doc in (job, policy):
        kubernetes_validate.validate(doc, DEFAULT_KUBERNETES_VERSION, strict=True)


def test_without_target_url_the_service_only(tmp_path: Path) -> None:
    job, policy = _test_objects(tmp_path)
    assert "--url" not in job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert len(policy["spec"]["egress"]) == 2  # Triton's pods and DNS
