"""KindCluster under Pulumi's mock runtime: a secret kubeconfig, an explicit provider, delete-before-replace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.local.kind_cluster import KindCluster, KindClusterArgs
from tests.support.kind import dev_kind_cluster
from tests.support.pulumi_mocks import RecordingMocks, run_program
from triton_platform.clouds.kind import PortMapping, kind_config


def test_kind_cluster_kubeconfig_is_secret_and_provider_is_explicit(mocks: RecordingMocks, tmp_path: Path) -> None:
    def program() -> dict[str, Any]:
        cluster = dev_kind_cluster(tmp_path)
        assert isinstance(cluster.provider, k8s.Provider)
        return {"kubeconfig": cluster.kubeconfig, "name": cluster.cluster_name}

    result = run_program(program)
    assert result.secret == {"kubeconfig"}
    (cmd,) = mocks.of_type("command:local:Command")
    assert cmd.inputs["logging"] == "stderr"  # stdout (the kubeconfig) is never logged
    assert "kind create cluster" in cmd.inputs["create"]
    (prov,) = mocks.of_type("pulumi:providers:kubernetes")
    assert prov.inputs["context"] == "kind-dev"


def test_kind_command_is_replaced_delete_before_replace(mocks: RecordingMocks, tmp_path: Path) -> None:
    requests: dict[str, Any] = {}
    monitor: Any = pulumi.runtime.settings.get_monitor()
    original = monitor.RegisterResource

    def register(request: Any) -> Any:
        requests[request.name] = request
        return original(request)

    monitor.RegisterResource = register
    ports = [PortMapping("http", 30800, 8000)]

    def program() -> dict[str, Any]:
        cluster = KindCluster(
            "dev",
            KindClusterArgs(
                cluster_name="dev",
                node_image="kindest/node:v1.31.4",
                kubeconfig_path=str(tmp_path / "kind-dev.kubeconfig"),
                port_mappings=ports,
            ),
        )
        return {"name": cluster.cluster_name}

    run_program(program)
    request = requests["dev-create"]
    # RegisterResourceRequest fields (pulumi/proto/pulumi/resource.proto): deleteBeforeReplace,
    # deleteBeforeReplaceDefined, replaceOnChanges.
    assert request.deleteBeforeReplace is True
    assert request.deleteBeforeReplaceDefined is True
    assert "triggers" in list(request.replaceOnChanges)
    (cmd,) = mocks.of_type("command:local:Command")
    assert cmd.inputs["triggers"] == [kind_config(port_mappings=ports, node_image="kindest/node:v1.31.4")]
    assert "update" not in cmd.inputs  # so a trigger change replaces rather than reruns create
    # The Kubernetes provider is built on the Command's kubeconfig: a new cluster, a new provider.
    assert "dev-create" in mocks.dependency_names("dev-k8s")
