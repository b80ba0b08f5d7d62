"""The kind cluster configuration of the local dev stack, rendered as YAML (pure function).

kind maps NodePorts of its single node to the host (extraPortMappings) so Triton, MinIO and
Grafana are reachable on 127.0.0.1 without port-forwarding, and can mount a host directory
with models (extraMounts).
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class PortMapping:
    """A NodePort of the kind node published on the host, loopback only."""

    name: str
    node_port: int
    host_port: int


def kind_config(
    *,
    port_mappings: list[PortMapping],
    node_image: str,
    host_model_dir: str | None = None,
    container_model_dir: str = "/models",
) -> str:
    """The ``kind.x-k8s.io/v1alpha4`` Cluster document for ``kind create cluster --config``."""
    ports = sorted({(p.node_port, p.host_port) for p in port_mappings})
    if len({h for _, h in ports}) != len(ports):
        raise ValueError("two kind port mappings use the same host port")
    node: dict[str, object] = {
        "role": "control-plane",
        "image": node_image,
        "extraPortMappings": [
            # 127.0.0.1 only: the dev stack never listens on the machine's other interfaces.
            {"containerPort": node, "hostPort": host, "listenAddress": "127.0.0.1", "protocol": "TCP"}
            for node, host in ports
        ],
    }
    if host_model_dir:
        node["extraMounts"] = [{"hostPath": host_model_dir, "containerPath": container_model_dir, "readOnly": True}]
    doc = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "nodes": [node]}
    return yaml.safe_dump(doc, sort_keys=False)


def create_script(cluster: str, kubeconfig_path: str) -> str:
    """Create the cluster from the config on stdin unless it exists, then print its kubeconfig.

    The Command runs this on create, and (having no ``update``) again when an input other than
    its ``triggers`` changes: a script or path edit, with the config, and so the cluster, the
    same. A config change replaces the Command delete-before-replace (components.local.kind_cluster),
    so by the time this runs for a new config the old cluster is gone and kind builds a fresh one.
    The kind commands and flags are kind's documented CLI (https://kind.sigs.k8s.io/docs/user/quick-start/).
    """
    return (
        "set -eu\n"
        f'mkdir -p "$(dirname {kubeconfig_path})"\n'
        f"if ! kind get clusters 2>/dev/null | grep -qx {cluster}; then\n"
        f"  kind create cluster --name {cluster} --config /dev/stdin --kubeconfig {kubeconfig_path} --wait 180s >&2\n"
        "else\n"
        f"  echo 'kind cluster '{cluster}' exists: kept (kind applies a config only when it creates a cluster)' >&2\n"
        "fi\n"
        "umask 077\n"
        f"kind get kubeconfig --name {cluster} > {kubeconfig_path}\n"
        f"chmod 600 {kubeconfig_path}\n"
        f"cat {kubeconfig_path}\n"
    )


def delete_script(cluster: str, kubeconfig_path: str) -> str:
    """Delete the cluster (kind succeeds when it is already gone) and this machine's kubeconfig file."""
    return f"kind delete cluster --name {cluster} --kubeconfig {kubeconfig_path} >&2 && rm -f {kubeconfig_path}\n"
