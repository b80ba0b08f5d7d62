"""Every machine that runs the program gets the kubeconfig file, and the MinIO key lookup works
from a machine that never had it (issue 7, item 7).

The first machine's ``pulumi up`` created the kind cluster and wrote ``.state/kind-<name>.kubeconfig``.
A teammate's checkout or a CI runner sharing the state runs no create, and a ModelVersion's
delete runs with the path the state recorded. So (1) every program run (up and preview) writes
the file from the state's kubeconfig output, and (2) the Secret lookup falls back to
``kind get kubeconfig --name <cluster>`` when that path is not on this machine.

The Secret is read with the real kubernetes client from a loopback server answering the core/v1
route the client calls (``GET /api/v1/namespaces/{namespace}/secrets/{name}``, a ``v1.Secret``
with base64 ``data``: the Kubernetes API reference, "read the specified Secret"), and the keys
it returns reach a real moto S3 server.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.kubeconfig_file import kubeconfig_file
from components.local.kind_cluster import KindCluster, KindClusterArgs
from components.providers.model_version import ModelVersionProvider
from samples import make_samples
from tests.support import servers
from tests.support.fakes import provider_props, wire_floats
from tests.support.pulumi_mocks import MOCK_KUBECONFIG, SECRET_SIG, RecordingMocks, run_program
from triton_platform.clouds.kind import PortMapping
from triton_platform.clouds.kubeconfig import write_private_file
from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.spec import ModelSpec
from triton_platform.publisher.stores import StoreRef, open_store
from triton_platform.publisher.stores.credentials import s3_session

ACCESS_KEY = "AKIAKINDMINIOROOT"
SECRET_KEY = f"minio-root-{uuid.uuid4().hex}"


# --- the file, written by every program run --------------------------------------------------------


def test_write_private_file_is_owner_only_and_atomic(tmp_path: Path) -> None:
    path = tmp_path / "deep" / ".state" / "kind-dev.kubeconfig"
    assert write_private_file(path, "one") == str(path)
    assert path.read_text() == "one"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    write_private_file(path, "two")
    assert path.read_text() == "two"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["kind-dev.kubeconfig"]  # no temp file left


def test_kind_program_run_writes_the_kubeconfig_on_a_machine_without_it(mocks: RecordingMocks, tmp_path: Path) -> None:
    # A fresh checkout: no .state/ at all. The kubeconfig comes from the state (here the mock's
    # Command stdout), as it does in a preview once the cluster exists.
    path = tmp_path / "checkout" / ".state" / "kind-dev.kubeconfig"

    def program() -> dict[str, Any]:
        cluster = KindCluster(
            "dev",
            KindClusterArgs(
                cluster_name="dev",
                node_image="kindest/node:v1.31.4",
                kubeconfig_path=str(path),
                port_mappings=[PortMapping("http", 30800, 8000)],
            ),
        )
        return {"kubeconfigFile": cluster.kubeconfig_file, "kubeconfig": cluster.kubeconfig}

    result = run_program(program)
    assert path.read_text() == MOCK_KUBECONFIG
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The path may go into plain inputs (the store descriptor); the contents stay secret.
    assert result.values["kubeconfigFile"] == str(path)
    assert result.secret == {"kubeconfig"}


def test_cloud_kubeconfig_file_is_written_by_the_program_and_stays_secret(
    mocks: RecordingMocks, tmp_path: Path
) -> None:
    path = tmp_path / ".state" / "eks-prod.kubeconfig"

    def program() -> dict[str, Any]:
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        kubeconfig = pulumi.Output.secret(MOCK_KUBECONFIG)
        cmd = kubeconfig_file("prod", str(path), kubeconfig, parent=parent)
        return {"stdin": cmd.stdin}

    result = run_program(program)
    assert path.read_text() == MOCK_KUBECONFIG
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "stdin" in result.secret
    wire = mocks.wire_inputs["prod-kubeconfig-file"]["stdin"]
    assert isinstance(wire, dict)
    assert SECRET_SIG in wire


# --- the key lookup from a machine that never had the file ---------------------------------------


class _SecretApi(BaseHTTPRequestHandler):
    secrets: dict[str, dict[str, str]] = {}

    def do_GET(self) -> None:
        prefix = "/api/v1/namespaces/"
        path = self.path.split("?", 1)[0]
        parts = path[len(prefix) :].split("/") if path.startswith(prefix) else []
        found = self.secrets.get("/".join((parts[0], parts[2]))) if len(parts) == 3 and parts[1] == "secrets" else None
        if found is None:
            body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}
            self._reply(404, body)
            return
        namespace, name = parts[0], parts[2]
        data = {k: base64.b64encode(v.encode()).decode() for k, v in found.items()}
        secret = {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": name, "namespace": namespace}}
        self._reply(200, {**secret, "type": "Opaque", "data": data})

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *_args: Any) -> None:
        return


@pytest.fixture
def api_server() -> Iterator[str]:
    _SecretApi.secrets = {"minio/minio-root": {"rootUser": ACCESS_KEY, "rootPassword": SECRET_KEY}}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SecretApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _kubeconfig(server: str) -> str:
    return (
        "apiVersion: v1\nkind: Config\ncurrent-context: kind-dev\n"
        f"clusters:\n- name: kind-dev\n  cluster:\n    server: {server}\n"
        "contexts:\n- name: kind-dev\n  context:\n    cluster: kind-dev\n    user: kind-dev\n"
        "users:\n- name: kind-dev\n  user:\n    token: test-token\n"
    )


@pytest.fixture
def kind_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api_server: str) -> Path:
    """A `kind` that prints cluster dev's kubeconfig (`kind get kubeconfig --name dev`) and fails otherwise."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    printed = tmp_path / "kind-dev-kubeconfig.yaml"
    printed.write_text(_kubeconfig(api_server))
    script = bin_dir / "kind"
    script.write_text(
        "#!/usr/bin/env bash\n"
        f'if [ "$*" = "get kubeconfig --name dev" ]; then cat {printed}; exit 0; fi\n'
        "echo \"ERROR: could not locate any control plane nodes for cluster named '${4:-}'\" >&2; exit 1\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def _store(kubeconfig_path: str, *, kind_cluster: str | None = "dev", **extra: Any) -> dict[str, Any]:
    credentials: dict[str, Any] = {
        "source": "kubernetes-secret",
        "kubeconfig_path": kubeconfig_path,
        "namespace": "minio",
        "name": "minio-root",
        "access_key_field": "rootUser",
        "secret_key_field": "rootPassword",
    }
    if kind_cluster:
        credentials["kind_cluster"] = kind_cluster
    return {"kind": "s3", "bucket": "triton-models", "region": "us-east-1", "credentials": credentials, **extra}


@pytest.mark.integration
def test_lookup_reads_the_file_where_it_exists(tmp_path: Path, api_server: str) -> None:
    path = write_private_file(tmp_path / ".state" / "kind-dev.kubeconfig", _kubeconfig(api_server))
    creds = s3_session(StoreRef.model_validate(_store(path, kind_cluster=None))).get_credentials()
    assert (creds.access_key, creds.secret_key) == (ACCESS_KEY, SECRET_KEY)


@pytest.mark.integration
def test_lookup_on_another_machine_asks_kind(tmp_path: Path, kind_on_path: Path) -> None:
    # The state's store descriptor names the first machine's path, which this one does not have.
    elsewhere = "/home/first-machine/triton-platform/.state/kind-dev.kubeconfig"
    assert not os.path.exists(elsewhere)
    creds = s3_session(StoreRef.model_validate(_store(elsewhere))).get_credentials()
    assert (creds.access_key, creds.secret_key) == (ACCESS_KEY, SECRET_KEY)


@pytest.mark.integration
def test_lookup_without_file_or_cluster_says_how_to_fix(tmp_path: Path, kind_on_path: Path) -> None:
    missing = str(tmp_path / "nowhere.kubeconfig")
    with pytest.raises(StoreError, match="is not on this machine") as no_fallback:
        s3_session(StoreRef.model_validate(_store(missing, kind_cluster=None)))
    assert "pulumi preview" in str(no_fallback.value)
    with pytest.raises(StoreError, match="kind get kubeconfig --name other") as unknown:
        s3_session(StoreRef.model_validate(_store(missing, kind_cluster="other")))
    assert SECRET_KEY not in str(unknown.value)


@pytest.fixture(scope="module")
def moto() -> Iterator[servers.S3Endpoint]:
    try:
        with servers.moto_server() as endpoint:
            yield endpoint
    except servers.ServerUnavailable as exc:
        pytest.fail(f"moto server unavailable: {exc}")


@pytest.mark.integration
def test_delete_from_a_fresh_directory_given_the_states_outputs(
    tmp_path: Path, kind_on_path: Path, api_server: str, moto: servers.S3Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No AWS keys in the environment: the only keys are MinIO's, read from the cluster Secret.
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TRITON_PLATFORM_CACHE_DIR", str(tmp_path / "hash-cache"))
    bucket = f"t-{uuid.uuid4().hex[:16]}"
    servers.create_bucket(servers.S3Endpoint(moto.url, access_key=ACCESS_KEY, secret_key=SECRET_KEY), bucket)
    first = tmp_path / "first-checkout"
    kubeconfig = write_private_file(first / ".state" / "kind-dev.kubeconfig", _kubeconfig(api_server))
    make_samples.write_mlp(first / "mlp.onnx", 1)
    store = _store(kubeconfig, bucket=bucket, endpoint_url=moto.url)
    spec = ModelSpec(name="mlp", source="mlp.onnx", format="onnx", max_batch_size=8)
    provider = ModelVersionProvider()
    state = provider.create(provider_props(spec, store, first, owner="triton-platform/dev/dev-models-mlp")).outs
    assert state is not None
    keys = [o.key for o in open_store(StoreRef.model_validate(store)).list("models/")]
    assert "models/mlp/1/model.onnx" in keys
    # Another machine: a fresh directory, none of the first checkout's files. Delete runs with
    # the props the state holds (the first machine's path) and nothing else.
    os.unlink(kubeconfig)
    fresh = tmp_path / "ci-runner"
    fresh.mkdir()
    monkeypatch.chdir(fresh)
    provider.delete("id", wire_floats(state))
    assert not [o.key for o in open_store(StoreRef.model_validate(store)).list("models/mlp/")]
