"""The kind cluster config: loopback-only port mappings and the optional model mount."""

from __future__ import annotations

import pytest
import yaml

from triton_platform.kind import PortMapping, create_script, kind_config


def test_port_mappings_and_mount() -> None:
    doc = yaml.safe_load(
        kind_config(
            port_mappings=[PortMapping("http", 30800, 8000), PortMapping("minio", 30900, 9000)],
            node_image="kindest/node:v1.31.4",
            host_model_dir="/srv/models",
        )
    )
    assert doc["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    (node,) = doc["nodes"]
    assert node["image"] == "kindest/node:v1.31.4"
    assert {(m["containerPort"], m["hostPort"], m["listenAddress"]) for m in node["extraPortMappings"]} == {
        (30800, 8000, "127.0.0.1"),
        (30900, 9000, "127.0.0.1"),
    }
    assert node["extraMounts"] == [{"hostPath": "/srv/models", "containerPath": "/models", "readOnly": True}]


def test_no_mount_without_host_dir() -> None:
    doc = yaml.safe_load(kind_config(port_mappings=[], node_image="kindest/node:v1.31.4"))
    assert "extraMounts" not in doc["nodes"][0]


def test_host_port_used_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="same host port"):
        kind_config(port_mappings=[PortMapping("a", 30800, 8000), PortMapping("b", 30801, 8000)], node_image="x")


def test_create_script_is_idempotent_and_prints_the_kubeconfig() -> None:
    script = create_script("dev", "/tmp/kc")
    assert "kind get clusters" in script
    assert "grep -qx dev" in script
    assert "--config /dev/stdin" in script
    assert script.rstrip().endswith("cat /tmp/kc")
