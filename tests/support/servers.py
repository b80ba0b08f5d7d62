"""Real object-store servers on 127.0.0.1 for integration tests: moto (S3), the GCS emulator, Azurite.

Each context manager picks a free port, starts the server as a subprocess, waits (bounded)
until it answers HTTP, yields its endpoint, and stops it (terminate, then kill) on exit.
Server logs go to a temporary file whose tail is shown when a server fails to start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import integration, tools

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
# Azurite's documented, public development account (the same in every Azurite install).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class ServerUnavailable(RuntimeError):
    """A server's program is not installed here; tests skip with this reason."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class S3Endpoint:
    url: str
    pid: int | None = None  # the server process, for benchmarks that count its CPU time
    access_key: str = "testing"
    secret_key: str = "testing"
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        """Environment for boto3 / awscli / s5cmd / tritonserver against this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client of this server with its keys; ``config``: botocore Config options."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(**config),
        )


@dataclass(frozen=True)
class GcsEndpoint:
    url: str

    def env(self) -> dict[str, str]:
        # STORAGE_EMULATOR_HOST for google-cloud-storage; CLOUD_STORAGE_EMULATOR_ENDPOINT for Triton.
        return {
            "STORAGE_EMULATOR_HOST": self.url,
            "CLOUD_STORAGE_EMULATOR_ENDPOINT": self.url,
            "GOOGLE_CLOUD_PROJECT": "test",
        }


@dataclass(frozen=True)
class AzuriteEndpoint:
    blob_url: str
    account: str = AZURITE_ACCOUNT
    key: str = AZURITE_KEY

    @property
    def account_url(self) -> str:
        return f"{self.blob_url}/{self.account}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
            f"BlobEndpoint={self.account_url};"
        )

    def env(self) -> dict[str, str]:
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string}


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer (403 from Azurite) means it is serving
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"{proc.args!r} not ready after {timeout:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextlib.contextmanager
def _serve(
    argv: list[str], ready_url: str, *, env: Mapping[str, str] | None = None, timeout: float = READY_TIMEOUT_S
) -> Iterator[int]:
    integration.require_integration(" ".join(Path(arg).name for arg in argv[:3]))
    with tempfile.TemporaryDirectory(prefix="store-server-") as tmp:
        log = Path(tmp) / "server.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=tmp,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
            try:
                _wait_http(ready_url, proc, log, timeout)
                yield proc.pid
            finally:
                proc.terminate()
                try:
                    proc.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(STOP_TIMEOUT_S)


@contextlib.contextmanager
def moto_server(timeout: float = READY_TIMEOUT_S) -> Iterator[S3Endpoint]:
    """moto's S3 server (``python -m moto.server``) on a free loopback port."""
    try:
        import moto  # noqa: F401
    except ImportError:
        raise ServerUnavailable("moto[server] is not installed (pip install -r requirements-dev.txt)") from None
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with _serve(argv, f"{url}/moto-api/", timeout=timeout) as pid:
        yield S3Endpoint(url, pid=pid)


@contextlib.contextmanager
def gcs_emulator(timeout: float = READY_TIMEOUT_S) -> Iterator[GcsEndpoint]:
    """gcp-storage-emulator, in memory, on a free loopback port."""
    program = Path(sys.executable).parent / "gcp-storage-emulator"
    if not program.exists():
        found = shutil.which("gcp-storage-emulator")
        if not found:
            raise ServerUnavailable("gcp-storage-emulator is not installed (pip install -r requirements-dev.txt)")
        program = Path(found)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [str(program), "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory"]
    with _serve(argv, f"{url}/storage/v1/b", timeout=timeout):
        yield GcsEndpoint(url)


def azurite_program() -> Path:
    """``azurite-blob`` from ``.cache/npm`` (tests.support.tools installs it on first use)."""
    try:
        return tools.azurite_path()
    except RuntimeError as exc:
        raise ServerUnavailable(str(exc)) from exc


@contextlib.contextmanager
def azurite(timeout: float = READY_TIMEOUT_S) -> Iterator[AzuriteEndpoint]:
    """Azurite's blob service, in memory, on a free loopback port."""
    program = azurite_program()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # --inMemoryPersistence and --location exclude each other; in memory leaves nothing behind.
    argv = [
        str(program),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--inMemoryPersistence",
        "--loose",
    ]
    with _serve(argv, f"{url}/{AZURITE_ACCOUNT}?comp=list", timeout=timeout):
        yield AzuriteEndpoint(url)


def new_bucket(endpoint: S3Endpoint | GcsEndpoint | AzuriteEndpoint, prefix: str = "rel") -> dict[str, Any]:
    """A fresh bucket (or Azure container) ``<prefix>-<random>`` on ``endpoint``, as a StoreRef's dict."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    create_bucket(endpoint, name)
    if isinstance(endpoint, S3Endpoint):
        return {"kind": "s3", "bucket": name, "endpoint_url": endpoint.url, "region": endpoint.region}
    if isinstance(endpoint, GcsEndpoint):
        return {"kind": "gcs", "bucket": name}
    return {"kind": "azure", "bucket": name, "account_url": endpoint.account_url}


def create_bucket(endpoint: S3Endpoint | GcsEndpoint | AzuriteEndpoint, name: str) -> None:
    """Create a bucket (or Azure container) on an emulator, with the SDKs directly."""
    if isinstance(endpoint, S3Endpoint):
        endpoint.client().create_bucket(Bucket=name)
    elif isinstance(endpoint, GcsEndpoint):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        previous = os.environ.get("STORAGE_EMULATOR_HOST")
        os.environ["STORAGE_EMULATOR_HOST"] = endpoint.url
        try:
            storage.Client(project="test", credentials=AnonymousCredentials()).create_bucket(name)
        finally:
            if previous is None:
                os.environ.pop("STORAGE_EMULATOR_HOST", None)
            else:
                os.environ["STORAGE_EMULATOR_HOST"] = previous
    else:
        from azure.storage.blob import BlobServiceClient

        BlobServiceClient.from_connection_string(endpoint.connection_string).create_container(name)
