"""The kind cluster's config (loopback-only ports, optional model mount), scripts, node images and local defaults."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from triton_platform.catalog.versions import KIND_DEFAULT_KUBERNETES_VERSION, KIND_NODE_IMAGES
from triton_platform.clouds.kind import (
    LOCAL_DEFAULTS,
    PortMapping,
    apply_local_defaults,
    create_script,
    delete_script,
    kind_config,
    node_image,
    node_image_minor,
    node_image_problem,
    prepull_script,
)


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


# --- replacing the cluster when its config changes (issue 7, item 6) ------------------------------
# kind applies a config (node image, extraPortMappings, extraMounts) only in `kind create cluster`
# (https://kind.sigs.k8s.io/docs/user/configuration/); no command changes a running cluster's. So
# a config change must recreate it. pulumi-command's local.Command replaces itself when `triggers`
# change and it has no `update` ("If the `update` command was provided the resource will be
# updated, otherwise it will be replaced using the `create` command": pulumi_command/local/command.py
# 1.2.1), and Pulumi replaces create-before-delete unless deleteBeforeReplace is set
# (https://www.pulumi.com/docs/iac/concepts/resources/options/deletebeforereplace/).

# A stand-in for the kind CLI with the behaviour kind documents and implements
# (kubernetes-sigs/kind pkg/cmd/kind/{create,get,delete}/...): `get clusters` lists names, one a
# line; `create cluster` refuses a name that exists ("node(s) already exist for a cluster with the
# name"); `get kubeconfig` fails for an unknown cluster; `delete cluster` succeeds when it is gone.
FAKE_KIND = r"""#!/usr/bin/env bash
set -eu
state="$FAKE_KIND_STATE"
mkdir -p "$state"
arg() { local want="$1"; shift; while [ $# -gt 0 ]; do [ "$1" = "$want" ] && { echo "$2"; return; }; shift; done; }
case "$1 $2" in
  "get clusters") ls "$state" ;;
  "create cluster")
    name="$(arg --name "$@")"; config="$(arg --config "$@")"; kc="$(arg --kubeconfig "$@")"
    if [ -e "$state/$name" ]; then
      echo "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \"$name\"" >&2; exit 1
    fi
    mkdir "$state/$name"; cat "$config" > "$state/$name/config"
    n=$(( $(cat "$state/.serial" 2>/dev/null || echo 0) + 1 ))
    echo "$n" > "$state/.serial"; echo "$n" > "$state/$name/serial"
    echo "created $name" >&2 ;;
  "get kubeconfig")
    name="$(arg --name "$@")"
    if [ ! -e "$state/$name" ]; then
      echo "ERROR: could not locate any control plane nodes for cluster named '$name'" >&2; exit 1
    fi
    printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: kind-%s\n  cluster: {server: "https://127.0.0.1:%s"}\n' \
      "$name" "$((40000 + $(cat "$state/$name/serial")))" ;;
  "delete cluster") name="$(arg --name "$@")"; rm -rf "${state:?}/$name"; echo "Deleting cluster \"$name\" ..." >&2 ;;
  *) echo "fake kind: unsupported $*" >&2; exit 2 ;;
esac
"""


@pytest.fixture
def fake_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kind = bin_dir / "kind"
    kind.write_text(FAKE_KIND)
    kind.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KIND_STATE", str(tmp_path / "clusters"))
    return tmp_path / "clusters"


def _sh(script: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    # How the Command runs them: interpreter ["/bin/bash", "-c"], the kind config on stdin.
    return subprocess.run(["/bin/bash", "-c", script], input=stdin, capture_output=True, text=True, timeout=30)


def _config(image: str) -> str:
    return kind_config(port_mappings=[PortMapping("http", 30800, 8000)], node_image=image)


def test_delete_before_replace_recreates_the_cluster_from_the_new_config(fake_kind: Path, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "state" / "kind-dev.kubeconfig"
    old, new = _config("kindest/node:v1.31.4"), _config("kindest/node:v1.32.2")
    first = _sh(create_script("dev", str(kubeconfig)), old)
    assert first.returncode == 0, first.stderr
    assert (fake_kind / "dev" / "config").read_text() == old
    # The replacement, in the order deleteBeforeReplace makes the engine run it: old delete, new create.
    assert _sh(delete_script("dev", str(kubeconfig))).returncode == 0
    assert not kubeconfig.exists()
    second = _sh(create_script("dev", str(kubeconfig)), new)
    assert second.returncode == 0, second.stderr
    assert (fake_kind / "dev" / "config").read_text() == new
    assert second.stdout == kubeconfig.read_text() != first.stdout  # a new cluster, a new kubeconfig
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600


def test_create_before_delete_would_leave_no_cluster(fake_kind: Path, tmp_path: Path) -> None:
    # Why the option matters: in Pulumi's default order the new create keeps the old cluster
    # (same name) and the old delete then removes the only cluster there is.
    kubeconfig = tmp_path / "kind-dev.kubeconfig"
    assert _sh(create_script("dev", str(kubeconfig)), _config("kindest/node:v1.31.4")).returncode == 0
    kept = _sh(create_script("dev", str(kubeconfig)), _config("kindest/node:v1.32.2"))
    assert kept.returncode == 0
    assert "exists: kept" in kept.stderr
    assert "v1.31.4" in (fake_kind / "dev" / "config").read_text()
    _sh(delete_script("dev", str(kubeconfig)))
    assert not (fake_kind / "dev").exists()


def test_rerun_with_the_same_config_keeps_the_cluster(fake_kind: Path, tmp_path: Path) -> None:
    # No `update` command: an input change other than `triggers` (a script edit, another
    # checkout's path) reruns create with the same config; it must keep the running cluster.
    kubeconfig = tmp_path / "kind-dev.kubeconfig"
    config = _config("kindest/node:v1.31.4")
    first = _sh(create_script("dev", str(kubeconfig)), config)
    again = _sh(create_script("dev", str(tmp_path / "other" / "kind-dev.kubeconfig")), config)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert (fake_kind / ".serial").read_text().strip() == "1"  # created once


# --- the node image of cluster.kubernetesVersion, and the local defaults (issue 16) ---------------


def test_every_listed_minor_has_its_image_and_others_none() -> None:
    for minor, image in KIND_NODE_IMAGES.items():
        assert node_image(minor) == image
        assert node_image_minor(image) == minor
        assert node_image_problem(minor) is None
    assert node_image("1.31") is None
    problem = node_image_problem("1.31")
    assert problem is not None
    assert problem.startswith("'1.31' has no kind node image: kind v0.33.0")
    assert "1.34, 1.35, 1.36, 1.37" in problem


@pytest.mark.parametrize(
    ("image", "minor"),
    [
        ("kindest/node:v1.31.4", "1.31"),
        ("kindest/node:v1.36.4@sha256:" + "0" * 64, "1.36"),
        ("registry.example.com/mirror/kindest/node:v1.35.8", "1.35"),
        ("my-node:latest", None),
        ("kindest/node:latest", None),
    ],
)
def test_node_image_minor(image: str, minor: str | None) -> None:
    assert node_image_minor(image) == minor


def test_local_defaults_fill_only_what_is_left_out() -> None:
    data = apply_local_defaults({"cloud": "local", "cluster": {"name": "x"}, "triton": {"resources": {"cpu": "3"}}})
    assert data["cluster"] == {"name": "x", "kubernetesVersion": KIND_DEFAULT_KUBERNETES_VERSION}
    assert data["triton"]["resources"] == {"cpu": "3", "memory": LOCAL_DEFAULTS["triton"]["resources"]["memory"]}
    given = {"cloud": "local", "cluster": {"name": "x", "kubernetesVersion": "1.36"}, "triton": {"replicas": 2}}
    data = apply_local_defaults(given)
    assert data["cluster"]["kubernetesVersion"] == "1.36"
    assert data["triton"] == {"replicas": 2, "resources": {"cpu": "1", "memory": "2Gi"}}
    assert "resources" not in given["triton"]  # the input is not changed
    # A wrong type stays for the schema to name.
    assert apply_local_defaults({"cloud": "local", "triton": "big"})["triton"] == "big"


def test_an_own_node_image_names_the_version_when_it_is_left_out() -> None:
    own = {"cloud": "local", "cluster": {"name": "x", "kind": {"nodeImage": "kindest/node:v1.31.4"}}}
    assert apply_local_defaults(own)["cluster"]["kubernetesVersion"] == "1.31"
    other = {"cloud": "local", "cluster": {"name": "x", "kind": {"nodeImage": "my-node:latest"}}}
    assert apply_local_defaults(other)["cluster"]["kubernetesVersion"] == KIND_DEFAULT_KUBERNETES_VERSION


# --- pulling Triton's image into the node before its release --------------------------------------
# A stand-in for `docker exec <node> crictl ...` with crictl's documented behaviour: `inspecti`
# fails for an image the node does not have, `pull` fetches it (cri-tools cmd/crictl/image.go).
FAKE_DOCKER = r"""#!/usr/bin/env bash
set -eu
[ "$1" = exec ] || { echo "fake docker: unsupported $*" >&2; exit 2; }
node="$2"; shift 2
[ "$node" = "$FAKE_NODE" ] || { echo "Error response from daemon: No such container: $node" >&2; exit 1; }
[ "$1" = crictl ] || exit 2
echo "$*" >> "$FAKE_DOCKER_LOG"
case "$2" in
  inspecti) grep -qxF "$4" "$FAKE_IMAGES" 2>/dev/null ;;
  pull) echo "$3" >> "$FAKE_IMAGES"; echo "Image is up to date for sha256:0" ;;
esac
"""


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "dbin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_NODE", "triton-dev-control-plane")
    monkeypatch.setenv("FAKE_IMAGES", str(tmp_path / "images"))
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(tmp_path / "docker.log"))
    return tmp_path / "docker.log"


def test_prepull_pulls_once_into_the_named_node(fake_docker: Path) -> None:
    image = "nvcr.io/nvidia/tritonserver:25.01-py3"
    first = _sh(prepull_script("triton-dev", image))
    assert first.returncode == 0, first.stderr
    assert f"pulling {image} into kind node triton-dev-control-plane" in first.stderr
    assert first.stdout == ""
    again = _sh(prepull_script("triton-dev", image))
    assert again.returncode == 0, again.stderr
    assert "already in kind node" in again.stderr
    assert [line.split()[1] for line in fake_docker.read_text().splitlines()] == ["inspecti", "pull", "inspecti"]


def test_prepull_fails_when_the_node_is_not_there(fake_docker: Path) -> None:
    result = _sh(prepull_script("other", "nvcr.io/nvidia/tritonserver:25.01-py3"))
    assert result.returncode != 0
    assert "No such container: other-control-plane" in result.stderr
