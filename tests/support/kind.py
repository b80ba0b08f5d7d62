"""A kind cluster component for the local component tests (its provider is what SeaweedFs and TritonServer take)."""

from __future__ import annotations

from pathlib import Path

from components.local.kind_cluster import KindCluster, KindClusterArgs
from triton_platform.clouds.kind import PortMapping


def dev_kind_cluster(state_dir: Path) -> KindCluster:
    """The "dev" KindCluster; it writes its kubeconfig file under ``state_dir`` on every program run."""
    return KindCluster(
        "dev",
        KindClusterArgs(
            cluster_name="dev",
            node_image="kindest/node:v1.31.4",
            kubeconfig_path=str(state_dir / ".state" / "kind-dev.kubeconfig"),
            port_mappings=[PortMapping("http", 30800, 8000)],
        ),
    )
