"""Fixtures starting real object-store servers on 127.0.0.1 (once per session) and stores on them.

``moto_endpoint`` / ``gcs_endpoint`` / ``azurite_endpoint`` start a server the first time a test
asks for it (``moto_env`` also puts moto's keys in the environment); ``make_store`` gives a store
on a fresh bucket with the environment its credential chain reads (moto keys,
``STORAGE_EMULATOR_HOST``, ``AZURE_STORAGE_CONNECTION_STRING``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from tests.support import servers
from triton_platform.publisher.stores.azure_blob import AzureBlobStore
from triton_platform.publisher.stores.base import ObjectStore
from triton_platform.publisher.stores.gcs import GcsStore
from triton_platform.publisher.stores.ref import StoreRef
from triton_platform.publisher.stores.s3 import S3Store, S3TransferSettings

KINDS = ["s3", "gcs", "azure"]
MiB = 1024 * 1024


def _start(cm: Callable[[], Any]) -> Iterator[Any]:
    try:
        with cm() as endpoint:
            yield endpoint
    except servers.ServerUnavailable as exc:
        # The test command installs it: missing means a broken setup, never a silent skip.
        pytest.fail(f"store emulator unavailable: {exc}")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[servers.S3Endpoint]:
    yield from _start(servers.moto_server)


@pytest.fixture
def moto_env(moto_endpoint: servers.S3Endpoint, monkeypatch: pytest.MonkeyPatch) -> servers.S3Endpoint:
    """moto, with its keys in the environment the S3 credential chain reads (as a CI runner's)."""
    for key, value in moto_endpoint.env().items():
        monkeypatch.setenv(key, value)
    return moto_endpoint


@pytest.fixture(scope="session")
def gcs_endpoint() -> Iterator[servers.GcsEndpoint]:
    yield from _start(servers.gcs_emulator)


@pytest.fixture(scope="session")
def azurite_endpoint() -> Iterator[servers.AzuriteEndpoint]:
    yield from _start(servers.azurite)


@pytest.fixture(autouse=True)
def _private_hash_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fingerprint cache must not touch the user's ~/.cache during tests.
    monkeypatch.setenv("TRITON_PLATFORM_CACHE_DIR", str(tmp_path_factory.mktemp("hash-cache")))


@dataclass
class StoreCase:
    """A store on a fresh bucket, with sizes that make each backend use its multi-part path."""

    kind: str
    store: ObjectStore
    endpoint: Any
    # A file this large goes up in several parts/chunks/blocks with the small-part settings.
    multipart_size: int


MULTIPART_SIZE = {"s3": 11 * MiB, "gcs": 3 * MiB, "azure": 3 * MiB}


def _store_class(kind: str, mixin: type | None) -> type[ObjectStore]:
    classes: dict[str, type[ObjectStore]] = {"s3": S3Store, "gcs": GcsStore, "azure": AzureBlobStore}
    base = classes[kind]
    if mixin is None:
        return base
    return cast(type[ObjectStore], type(f"{mixin.__name__}{base.__name__}", (mixin, base), {}))


def _small_parts(kind: str) -> dict[str, Any]:
    if kind == "s3":  # S3's smallest part is 5 MiB; one retry keeps injected failures quick
        return {
            "transfer": S3TransferSettings(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4),
            "max_attempts": 2,
        }
    if kind == "gcs":
        return {"chunk_size": 1 * MiB}
    return {"max_single_put_size": 1 * MiB, "max_block_size": 1 * MiB, "max_concurrency": 4}


@pytest.fixture
def make_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Callable[..., StoreCase]:
    """``make_store(kind, mixin=None, bucket=None, create=True)``: a StoreCase on a new bucket."""

    def make(kind: str, *, mixin: type | None = None, bucket: str | None = None, create: bool = True) -> StoreCase:
        name = bucket or f"t-{uuid.uuid4().hex[:16]}"
        if kind == "s3":
            endpoint = request.getfixturevalue("moto_endpoint")
            ref = StoreRef(kind="s3", bucket=name, endpoint_url=endpoint.url, region=endpoint.region)
        elif kind == "gcs":
            endpoint = request.getfixturevalue("gcs_endpoint")
            ref = StoreRef(kind="gcs", bucket=name)
        else:
            endpoint = request.getfixturevalue("azurite_endpoint")
            ref = StoreRef(kind="azure", bucket=name, account_url=endpoint.account_url)
        for var, value in endpoint.env().items():
            monkeypatch.setenv(var, value)
        if create:
            servers.create_bucket(endpoint, name)
        store = _store_class(kind, mixin)(ref, **_small_parts(kind))
        return StoreCase(kind, store, endpoint, MULTIPART_SIZE[kind])

    return make


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def write_file(path: Path, size: int, *, seed: int = 0) -> Path:
    """A file of ``size`` pseudo-random bytes (deterministic per seed)."""
    import random

    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        remaining = size
        while remaining:
            n = min(remaining, MiB)
            fh.write(rng.randbytes(n))
            remaining -= n
    return path
