"""TritonServer under Pulumi's mock runtime: the repository's chart, released atomically on the given provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.serving.triton_server import CHART_PATH, TritonServer, TritonServerArgs
from tests.support.kind import dev_kind_cluster
from tests.support.pulumi_mocks import RecordingMocks, run_program


def test_triton_server_releases_the_repository_chart(mocks: RecordingMocks, tmp_path: Path) -> None:
    values = {
        "ports": {"http": 8000, "grpc": 8001, "metrics": 8002},
        "service": {"type": "ClusterIP"},
        "replicaCount": 2,
    }

    def program() -> dict[str, Any]:
        t = TritonServer(
            "t", TritonServerArgs(k8s_provider=dev_kind_cluster(tmp_path).provider, namespace="triton", values=values)
        )
        return {"http": t.http_endpoint, "grpc": t.grpc_endpoint}

    result = run_program(program)
    (release,) = mocks.of_type("kubernetes:helm.sh/v3:Release")
    assert release.inputs["chart"] == str(CHART_PATH)
    assert release.inputs["atomic"] is True
    assert release.inputs["values"]["fullnameOverride"] == "triton"
    assert release.inputs["values"]["replicaCount"] == 2
    assert "dev-k8s" in (release.provider or "")
    assert result.values["http"] == "http://triton.triton.svc.cluster.local:8000"
    assert result.values["grpc"] == "triton.triton.svc.cluster.local:8001"
