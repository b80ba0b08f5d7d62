"""The kind cluster of the local dev stack: its config, node image, scripts and local defaults.

kind maps NodePorts of its single node to the host (extraPortMappings) so Triton and the S3
server (SeaweedFS) are reachable on 127.0.0.1 without port-forwarding, and can mount a host
directory with models (extraMounts). The node image follows ``cluster.kubernetesVersion`` through
the digests the pinned kind release lists (triton_platform.catalog.versions.KIND_NODE_IMAGES);
Triton's image is pulled into the node before its Helm release starts (``prepull_script``); and
the ``local`` cloud's defaults fit a 4-CPU, 8 GB Docker VM (``LOCAL_DEFAULTS``).
"""

from __future__ import annotations

import copy
import re
import shlex
from collections.abc import Mapping
from typing import Any, NamedTuple

import yaml

from triton_platform.catalog.versions import KIND_DEFAULT_KUBERNETES_VERSION, KIND_NODE_IMAGES, KIND_RELEASE

# What the local stack asks when its config leaves a key out (camelCase, as in Pulumi.<stack>.yaml),
# sized with everything else in the dev stack for a Docker VM of 4 CPUs and 8 GB (scripts/dev-up.sh
# checks that VM; tests/stacks/test_local.py sums every request of the rendered dev stack).
LOCAL_DEFAULTS: dict[str, Any] = {
    "cluster": {"kubernetesVersion": KIND_DEFAULT_KUBERNETES_VERSION},
    # The schema's default (2 CPUs, 8Gi: sized for a cloud node) does not fit such a VM.
    "triton": {"resources": {"cpu": "1", "memory": "2Gi"}},
}
# kindest/node:v1.34.11[@sha256:...] -> 1.34
_NODE_TAG = re.compile(r"^(?:.*/)?node:v(\d+\.\d+)\.\d+")


class PortMapping(NamedTuple):
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


def node_image(kubernetes_version: str) -> str | None:
    """The kind node image (by digest) of a Kubernetes minor, or None when the pinned kind has none."""
    return KIND_NODE_IMAGES.get(kubernetes_version)


def node_image_problem(kubernetes_version: str) -> str | None:
    """Why ``kubernetes_version`` cannot run on kind (no node image for it), or None."""
    if node_image(kubernetes_version) is not None:
        return None
    return (
        f"{kubernetes_version!r} has no kind node image: kind v{KIND_RELEASE} (the release scripts/tools.lock "
        f"pins) ships {', '.join(sorted(KIND_NODE_IMAGES))}; pick one of them, or set cluster.kind.nodeImage"
    )


def node_image_minor(image: str) -> str | None:
    """The Kubernetes minor a ``kindest/node:v1.X.Y`` image runs, or None for another naming."""
    found = _NODE_TAG.match(image)
    return found.group(1) if found else None


def apply_local_defaults(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (a raw config, camelCase) with ``LOCAL_DEFAULTS`` under every key it leaves out.

    A ``cluster.kind.nodeImage`` given without ``cluster.kubernetesVersion`` names the version
    itself (``kindest/node:v1.31.4``: 1.31), so the config says what the cluster runs.
    """

    def merged(defaults: Mapping[str, Any], given: Any) -> Any:
        if not isinstance(given, Mapping):
            return given  # a wrong type stays as it is: the schema names it
        out = dict(given)
        for key, value in defaults.items():
            out[key] = merged(value, out[key]) if key in out else copy.deepcopy(value)
        return out

    defaults = copy.deepcopy(LOCAL_DEFAULTS)
    cluster = data.get("cluster")
    kind = cluster.get("kind") if isinstance(cluster, Mapping) else None
    image = kind.get("nodeImage") if isinstance(kind, Mapping) else None
    if isinstance(image, str) and node_image_minor(image):
        defaults["cluster"]["kubernetesVersion"] = node_image_minor(image)
    result: dict[str, Any] = merged(defaults, data)
    return result


def node_container(cluster: str) -> str:
    """The Docker container of a one-node kind cluster's node (kind names it ``<cluster>-control-plane``)."""
    return f"{cluster}-control-plane"


def prepull_script(cluster: str, image: str) -> str:
    """Pull ``image`` into the kind node's containerd (the CRI's image store), unless it is there.

    A registry image is pulled through the node's CRI with ``crictl pull`` (kind's ``kind load``
    is for images in the local Docker); its ``--pull-timeout`` is "disabled if set to 0s", the
    default (cri-tools cmd/crictl/image.go), so a slow link only takes longer. Pods then start
    from the node's copy: the chart pulls ``IfNotPresent``.
    """
    node, ref = shlex.quote(node_container(cluster)), shlex.quote(image)
    return (
        "set -eu\n"
        f"if docker exec {node} crictl inspecti -q {ref} >/dev/null 2>&1; then\n"
        f"  echo 'image '{ref}' is already in kind node '{node} >&2\n"
        "  exit 0\n"
        "fi\n"
        f"echo 'pulling '{ref}' into kind node '{node}' (several GB, once per cluster)...' >&2\n"
        f"docker exec {node} crictl pull {ref} >&2\n"
    )
