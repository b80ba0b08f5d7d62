"""ObjectStore against real servers on 127.0.0.1: moto (S3), the GCS emulator and Azurite.

Every operation runs against each of the three; verification is shown to catch a corrupted
upload; the kubernetes-secret credential path is exercised with the real kubernetes client
against a local HTTP server standing in for the API server.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import re
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.support import servers
from tests.support.stores import StoreCase, write_file
from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.progress import NullProgress
from triton_platform.publisher.stores import CredentialsRef, StoreRef, open_store
from triton_platform.publisher.stores.azure_blob import AzureBlobStore
from triton_platform.publisher.stores.base import PutItem
from triton_platform.publisher.stores.gcs import GcsStore
from triton_platform.publisher.stores.s3 import S3Store

MakeStore = Callable[..., StoreCase]

# --------------------------------------------------------------------------- StoreRef (no server)


def test_repository_uri_for_each_kind() -> None:
    assert StoreRef(kind="s3", bucket="acme-models", prefix="models").repository_uri() == "s3://acme-models/models"
    minio = StoreRef(kind="s3", bucket="models", prefix="repo", endpoint_url="http://127.0.0.1:9000/")
    assert minio.repository_uri() == "s3://http://127.0.0.1:9000/models/repo"
    # Triton's S3 syntax needs a port: the scheme's default is filled in.
    assert StoreRef(kind="s3", bucket="models", endpoint_url="https://s3.example.com").repository_uri() == (
        "s3://https://s3.example.com:443/models/models"
    )
    in_cluster = StoreRef(
        kind="s3",
        bucket="models",
        endpoint_url="http://127.0.0.1:30900",
        cluster_endpoint_url="http://minio.minio:9000",
    )
    assert in_cluster.repository_uri() == "s3://http://minio.minio:9000/models/models"
    assert StoreRef(kind="gcs", bucket="acme_models", prefix="a/b").repository_uri() == "gs://acme_models/a/b"
    azure = StoreRef(kind="azure", bucket="models", account_url="https://acme.blob.core.windows.net")
    assert azure.repository_uri() == "as://acme/models/models"
    azurite = StoreRef(kind="azure", bucket="models", account_url="http://127.0.0.1:10000/devstoreaccount1")
    assert azurite.repository_uri() == "as://devstoreaccount1/models/models"


def test_keys_are_bucket_absolute_under_prefix_and_cache_prefix() -> None:
    ref = StoreRef(kind="gcs", bucket="acme-models", prefix="/serve/models/", cache_prefix="_cache")
    assert ref.prefix == "serve/models"
    assert ref.served_key("resnet", "config.pbtxt") == "serve/models/resnet/config.pbtxt"
    assert ref.cache_key("manifests", "resnet", "1.json") == "_cache/manifests/resnet/1.json"


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"kind": "s3", "bucket": "Bad_Bucket"}, "not a valid s3 bucket name"),
        ({"kind": "azure", "bucket": "a.b", "account_url": "https://x.blob.core.windows.net"}, "container"),
        ({"kind": "s3", "bucket": "models", "cache_prefix": "models/_cache"}, "must lie outside prefix"),
        ({"kind": "s3", "bucket": "models", "prefix": "a/../b"}, "prefix"),
        (
            {"kind": "s3", "bucket": "models", "endpoint_url": "http://user:pw@127.0.0.1:9000"},
            "must not carry credentials",
        ),
        ({"kind": "s3", "bucket": "models", "endpoint_url": "ftp://host"}, "must be an http(s) URL"),
        ({"kind": "gcs", "bucket": "models", "endpoint_url": "http://127.0.0.1:9000"}, "applies to kind 's3' only"),
        ({"kind": "azure", "bucket": "models"}, "needs account_url"),
        ({"kind": "s3", "bucket": "models", "color": "blue"}, "Extra inputs are not permitted"),
        (
            {"kind": "s3", "bucket": "models", "credentials": {"source": "kubernetes-secret"}},
            "needs kubeconfig_path, namespace, name",
        ),
    ],
)
def test_store_ref_rejects_bad_input_with_a_clear_message(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(fragment)):
        StoreRef.model_validate(fields)


def test_open_store_takes_provider_props_and_connects_lazily() -> None:
    # No server runs here: building a store must not call the cloud (dynamic providers pickle it).
    props = {"kind": "s3", "bucket": "models", "endpoint_url": "http://127.0.0.1:1", "credentials": {}}
    assert isinstance(open_store(props), S3Store)
    assert isinstance(open_store({"kind": "gcs", "bucket": "models"}), GcsStore)
    azure = open_store({"kind": "azure", "bucket": "models", "account_url": "https://a.blob.core.windows.net"})
    assert isinstance(azure, AzureBlobStore)
    assert "models" in repr(azure)


# --------------------------------------------------------------------------- every method, every emulator


@pytest.mark.integration
def test_check_accepts_an_existing_bucket(kind: str, make_store: MakeStore) -> None:
    make_store(kind).store.check()


@pytest.mark.integration
def test_missing_bucket_is_a_store_error_naming_it(kind: str, make_store: MakeStore, tmp_path: Path) -> None:
    bucket = f"absent-{uuid.uuid4().hex[:10]}"
    store = make_store(kind, bucket=bucket, create=False).store
    with pytest.raises(StoreError, match="does not exist") as info:
        store.check()
    assert bucket in str(info.value)
    assert info.value.bucket == bucket
    assert info.value.example  # a hint on what to do
    with pytest.raises(StoreError, match=bucket):
        store.upload_file("models/m/1/x.bin", write_file(tmp_path / "x.bin", 10))
    with pytest.raises(StoreError, match=bucket):
        store.list("models/")


@pytest.mark.integration
@pytest.mark.parametrize("multipart", [False, True], ids=["single", "multipart"])
def test_upload_file_records_sha256_and_verifies(
    kind: str, multipart: bool, make_store: MakeStore, tmp_path: Path
) -> None:
    case = make_store(kind)
    size = case.multipart_size if multipart else 1000
    path = write_file(tmp_path / "model.onnx", size, seed=3)
    from triton_platform.publisher.fingerprint import file_sha256

    sha = file_sha256(path)
    progress = NullProgress()
    info = case.store.upload_file("models/m/1/model.onnx", path, progress=progress)
    assert (info.size, info.sha256) == (size, sha)
    stat = case.store.stat("models/m/1/model.onnx")
    assert stat is not None
    assert (stat.size, stat.sha256, stat.checksum) == (size, sha, info.checksum)
    # S3 and GCS always report a server-computed checksum; Azure only for single-shot uploads.
    if kind != "azure" or not multipart:
        assert info.checksum is not None
        assert info.checksum_algorithm is not None
    [op] = progress.summary()
    assert op.bytes == size
    assert op.description == "upload models/m/1/model.onnx"


@pytest.mark.integration
def test_bytes_read_stat_list_delete(kind: str, make_store: MakeStore) -> None:
    store = make_store(kind).store
    store.upload_bytes("models/a/config.pbtxt", b'name: "a"\n', content_type="text/plain")
    store.upload_bytes("models/a/1/model.py", b"print(1)\n")
    store.upload_bytes("models/b/config.pbtxt", b'name: "b"\n')
    store.upload_bytes("_cache/other", b"x")
    assert store.read_bytes("models/a/config.pbtxt") == b'name: "a"\n'
    assert store.read_bytes("models/a/missing") is None
    assert store.stat("models/a/missing") is None
    stat = store.stat("models/a/1/model.py")
    assert stat is not None
    assert stat.size == 9
    assert [(o.key, o.size) for o in store.list("models/a/")] == [
        ("models/a/1/model.py", 9),
        ("models/a/config.pbtxt", 10),
    ]
    assert [o.key for o in store.list("models/")] == [
        "models/a/1/model.py",
        "models/a/config.pbtxt",
        "models/b/config.pbtxt",
    ]
    store.delete(["models/a/1/model.py", "models/a/config.pbtxt", "models/a/never-existed"])
    assert store.list("models/a/") == []
    assert store.exists("models/b/config.pbtxt")
    store.delete([])


@pytest.mark.integration
def test_download_file_round_trip(kind: str, make_store: MakeStore, tmp_path: Path) -> None:
    case = make_store(kind)
    src = write_file(tmp_path / "src.bin", case.multipart_size, seed=5)
    case.store.upload_file("_cache/onnx/x.onnx", src)
    progress = NullProgress()
    target = tmp_path / "out" / "x.onnx"
    info = case.store.download_file("_cache/onnx/x.onnx", target, progress)
    assert target.read_bytes() == src.read_bytes()
    assert info.size == case.multipart_size
    assert progress.summary()[0].bytes == case.multipart_size
    assert [p.name for p in target.parent.iterdir()] == ["x.onnx"]  # no temporary left behind
    with pytest.raises(StoreError, match="does not exist"):
        case.store.download_file("_cache/onnx/missing.onnx", tmp_path / "missing.onnx")
    assert not (tmp_path / "missing.onnx").exists()


# --------------------------------------------------------------------------- verification


class CorruptingUpload:
    """Test-only: uploads each file with one byte flipped (same size), as a broken link would."""

    def _put_files(self, items: Sequence[PutItem]) -> None:
        corrupted = []
        for item in items:
            data = bytearray(item.path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            copy = item.path.with_name(item.path.name + ".corrupted")
            copy.write_bytes(bytes(data))
            corrupted.append(dataclasses.replace(item, path=copy))
        super()._put_files(corrupted)  # type: ignore[misc]


class ChangingFile:
    """Test-only: the local file is rewritten while it uploads."""

    def _put_files(self, items: Sequence[PutItem]) -> None:
        super()._put_files(items)  # type: ignore[misc]
        for item in items:
            with open(item.path, "ab") as fh:
                fh.write(b"!")


CORRUPTION_CASES = [
    ("s3", False),
    ("s3", True),  # composite (multipart) SHA256
    ("gcs", False),
    ("gcs", True),  # resumable upload, crc32c
    ("azure", False),  # Azure computes Content-MD5 for single-shot uploads only
]


@pytest.mark.integration
@pytest.mark.parametrize(("store_kind", "multipart"), CORRUPTION_CASES)
def test_verification_catches_a_corrupted_upload(
    store_kind: str, multipart: bool, make_store: MakeStore, tmp_path: Path
) -> None:
    case = make_store(store_kind, mixin=CorruptingUpload)
    path = write_file(tmp_path / "model.plan", case.multipart_size if multipart else 4096, seed=7)
    with pytest.raises(StoreError, match="checksum mismatch") as info:
        case.store.upload_file("models/m/1/model.plan", path)
    assert "models/m/1/model.plan" in str(info.value)
    # The rejected object is removed, so a retry cannot mistake it for a complete one.
    assert case.store.stat("models/m/1/model.plan") is None


@pytest.mark.integration
def test_a_file_changing_during_upload_is_rejected(kind: str, make_store: MakeStore, tmp_path: Path) -> None:
    store = make_store(kind, mixin=ChangingFile).store
    path = write_file(tmp_path / "model.onnx", 2048)
    with pytest.raises(StoreError, match="changed while it was uploading"):
        store.upload_file("models/m/1/model.onnx", path)
    assert store.stat("models/m/1/model.onnx") is None


# --------------------------------------------------------------------------- kubernetes-secret credentials

SECRET_USER = "minio-user-Q7"
SECRET_PASSWORD = "s3cr3t-Pa55w0rd-ZX81"


@dataclass
class FakeKubeApi:
    """A loopback HTTP server answering GET for Secrets, like the Kubernetes API server."""

    url: str
    secrets: dict[tuple[str, str], dict[str, str]]
    requests: list[tuple[str, str | None]] = field(default_factory=list)


@contextlib.contextmanager
def fake_kube_api(secrets: dict[tuple[str, str], dict[str, str]]) -> Iterator[FakeKubeApi]:
    api = FakeKubeApi(url="", secrets=secrets)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            api.requests.append((path, self.headers.get("Authorization")))
            parts = path.strip("/").split("/")
            found = None
            if len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "secrets":
                found = api.secrets.get((parts[3], parts[5]))
            if found is None:
                body: dict[str, Any] = {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "reason": "NotFound",
                    "code": 404,
                    "message": f'secrets "{parts[-1]}" not found',
                }
                self._reply(404, body)
                return
            data = {k: base64.b64encode(v.encode()).decode() for k, v in found.items()}
            self._reply(
                200,
                {
                    "kind": "Secret",
                    "apiVersion": "v1",
                    "metadata": {"name": parts[5], "namespace": parts[3]},
                    "type": "Opaque",
                    "data": data,
                },
            )

        def _reply(self, code: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def write_kubeconfig(path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "fake", "user": {"token": "test-token"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
        "current-context": "fake",
    }
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def _no_secret_in(*texts: str) -> None:
    for text in texts:
        assert SECRET_PASSWORD not in text
        assert SECRET_USER not in text


@pytest.mark.integration
def test_kubernetes_secret_credentials_reach_the_store_and_stay_secret(
    moto_endpoint: servers.S3Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing in the environment: the only credentials are the Secret's.
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    servers.create_bucket(moto_endpoint, bucket)
    secrets = {("minio", "minio-root"): {"rootUser": SECRET_USER, "rootPassword": SECRET_PASSWORD}}
    with fake_kube_api(secrets) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url)
        cred = CredentialsRef(
            source="kubernetes-secret", kubeconfig_path=str(kubeconfig), namespace="minio", name="minio-root"
        )
        ref = StoreRef(kind="s3", bucket=bucket, endpoint_url=moto_endpoint.url, credentials=cred)
        store = open_store(ref)
        assert api.requests == []  # lazily: nothing read before first use
        store.check()
        store.upload_bytes("models/m/config.pbtxt", b'name: "m"\n')
        assert store.read_bytes("models/m/config.pbtxt") == b'name: "m"\n'
        assert api.requests == [("/api/v1/namespaces/minio/secrets/minio-root", "Bearer test-token")]
        frozen = store._client._request_signer._credentials.get_frozen_credentials()  # type: ignore[attr-defined]
        assert (frozen.access_key, frozen.secret_key) == (SECRET_USER, SECRET_PASSWORD)
        _no_secret_in(repr(store), str(store), repr(ref), ref.model_dump_json())

        # An error with the same credentials names the bucket, never the credentials.
        missing = open_store(ref.model_copy(update={"bucket": "absent-bucket"}))
        with pytest.raises(StoreError) as info:
            missing.check()
        assert "absent-bucket" in str(info.value)
        _no_secret_in(str(info.value), repr(info.value), "".join(traceback.format_exception(info.value)), repr(missing))


@pytest.mark.integration
def test_kubernetes_secret_errors_name_the_secret_not_its_values(tmp_path: Path) -> None:
    secrets = {("minio", "partial"): {"rootUser": SECRET_USER, "other": SECRET_PASSWORD}}
    with fake_kube_api(secrets) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url)

        def store_for(name: str) -> Any:
            cred = CredentialsRef(
                source="kubernetes-secret", kubeconfig_path=str(kubeconfig), namespace="minio", name=name
            )
            return open_store(StoreRef(kind="s3", bucket="models", endpoint_url="http://127.0.0.1:9", credentials=cred))

        with pytest.raises(StoreError, match=r"Secret minio/absent: HTTP 404") as absent:
            store_for("absent").check()
        with pytest.raises(StoreError, match=r"has no key\(s\) \['rootPassword'\]") as partial:
            store_for("partial").check()
        # Key names are listed; values are not.
        assert "'other'" in str(partial.value)
        assert "'rootUser'" in str(partial.value)
        for exc in (absent.value, partial.value):
            _no_secret_in(str(exc), repr(exc), "".join(traceback.format_exception(exc)))
    cred = CredentialsRef(
        source="kubernetes-secret", kubeconfig_path=str(tmp_path / "nope"), namespace="minio", name="x"
    )
    no_kubeconfig = open_store(StoreRef(kind="s3", bucket="models", credentials=cred))
    with pytest.raises(StoreError, match=r"is not on this machine .*run `pulumi up` or `pulumi preview` once here"):
        no_kubeconfig.check()


@pytest.mark.integration
def test_kubernetes_secret_account_key_for_azure(
    azurite_endpoint: servers.AzuriteEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The opt-in static-key path for Azure: an account key read from a Secret, shared-key auth.
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    container = f"t-{uuid.uuid4().hex[:12]}"
    servers.create_bucket(azurite_endpoint, container)
    secrets = {("triton", "storage-key"): {"accountKey": azurite_endpoint.key}}
    with fake_kube_api(secrets) as api:
        cred = CredentialsRef(
            source="kubernetes-secret",
            kubeconfig_path=str(write_kubeconfig(tmp_path / "kubeconfig", api.url)),
            namespace="triton",
            name="storage-key",
            secret_key_field="accountKey",
        )
        ref = StoreRef(kind="azure", bucket=container, account_url=azurite_endpoint.account_url, credentials=cred)
        store = open_store(ref)
        store.check()
        info = store.upload_bytes("models/m/config.pbtxt", b'name: "m"\n')
        assert info.checksum_algorithm == "md5"
        assert store.read_bytes("models/m/config.pbtxt") == b'name: "m"\n'
        assert [path for path, _ in api.requests] == ["/api/v1/namespaces/triton/secrets/storage-key"]
        assert azurite_endpoint.key not in repr(store)
