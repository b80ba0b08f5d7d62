"""KindCluster, Minio and TritonServer under Pulumi's mock runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi_kubernetes as k8s
import pytest

from components.local.kind_cluster import KindCluster, KindClusterArgs
from components.local.minio import Minio, MinioArgs
from components.serving.triton_server import CHART_PATH, TritonServer, TritonServerArgs
from tests.support.pulumi_mocks import RecordingMocks, run_program
from triton_platform.catalog.versions import MINIO
from triton_platform.clouds.kind import PortMapping


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # KindCluster writes its kubeconfig file on every program run: keep it in this test's directory.
    monkeypatch.chdir(tmp_path)


def _kind() -> KindCluster:
    return KindCluster(
        "dev",
        KindClusterArgs(
            cluster_name="dev",
            node_image="kindest/node:v1.31.4",
            kubeconfig_path=str(Path(".state/kind-dev.kubeconfig").resolve()),
            port_mappings=[PortMapping("http", 30800, 8000)],
        ),
    )


def test_kind_cluster_kubeconfig_is_secret_and_provider_is_explicit(mocks: RecordingMocks) -> None:
    def program() -> dict[str, Any]:
        cluster = _kind()
        assert isinstance(cluster.provider, k8s.Provider)
        return {"kubeconfig": cluster.kubeconfig, "name": cluster.cluster_name}

    result = run_program(program)
    assert result.secret == {"kubeconfig"}
    (cmd,) = mocks.of_type("command:local:Command")
    assert cmd.inputs["logging"] == "stderr"  # stdout (the kubeconfig) is never logged
    assert "kind create cluster" in cmd.inputs["create"]
    (prov,) = mocks.of_type("pulumi:providers:kubernetes")
    assert prov.inputs["context"] == "kind-dev"


def test_minio_uses_the_given_provider_and_keeps_keys_secret(mocks: RecordingMocks) -> None:
    def program() -> dict[str, Any]:
        minio = Minio("dev-minio", MinioArgs(k8s_provider=_kind().provider, bucket="models"))
        return {"user": minio.root_user, "password": minio.root_password, "endpoint": minio.host_endpoint}

    result = run_program(program)
    assert result.secret == {"user", "password"}
    assert result.values["endpoint"] == "http://127.0.0.1:9000"
    (release,) = mocks.of_type("kubernetes:helm.sh/v3:Release")
    assert (release.inputs["chart"], release.inputs["version"]) == (MINIO.chart, MINIO.version)
    values = release.inputs["values"]
    assert values["existingSecret"] == "minio-root"
    assert values["buckets"][0]["name"] == "models"
    assert "rootPassword" not in values  # keys only through the Secret
    for r in mocks.resources:
        if r.type.startswith("kubernetes:"):
            assert "dev-k8s" in (r.provider or ""), r


def test_triton_server_releases_the_repository_chart(mocks: RecordingMocks) -> None:
    values = {
        "ports": {"http": 8000, "grpc": 8001, "metrics": 8002},
        "service": {"type": "ClusterIP"},
        "replicaCount": 2,
    }

    def program() -> dict[str, Any]:
        t = TritonServer("t", TritonServerArgs(k8s_provider=_kind().provider, namespace="triton", values=values))
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
