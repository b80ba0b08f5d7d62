"""Bytes moved once: hashing streams, parallel ranged reads, and copies that stay on the server.

The copy tests run against moto, the GCS emulator and Azurite and prove that a copy within one
service moves no byte through the client: the store methods that send or receive object bytes
are spied on, and for S3 the operations the client sent are recorded.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.stores import StoreCase, write_file
from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.stores.base import ObjectStore
from triton_platform.publisher.stores.s3 import S3Store
from triton_platform.publisher.stores.transfer import DigestMismatch, HashingReader, RangedReader

MakeStore = Callable[..., StoreCase]
MiB = 1024 * 1024
DATA = bytes(range(256)) * 4096  # 1 MiB


# --------------------------------------------------------------------------- HashingReader


def test_hashing_reader_hashes_in_order_and_ignores_rewinds() -> None:
    seen: list[int] = []
    reader = HashingReader(io.BytesIO(DATA), len(DATA), algorithms=("md5", "crc32c"), advance=seen.append)
    assert reader.read(1000) == DATA[:1000]
    reader.seek(500)  # an SDK retrying a chunk
    assert reader.read(2000) == DATA[500:2500]
    assert reader.read() == DATA[2500:]
    assert reader.complete
    assert reader.sha256() == hashlib.sha256(DATA).hexdigest()
    assert reader.digest("md5") == hashlib.md5(DATA).digest()  # noqa: S324 - what Azure reports
    assert sum(seen) == len(DATA)  # every byte reported once


def test_hashing_reader_refuses_bytes_that_are_not_the_claimed_ones_at_the_last_byte() -> None:
    reader = HashingReader(io.BytesIO(DATA), len(DATA), expect_sha256="0" * 64, what="'model.onnx'")
    reader.read(len(DATA) - 1)  # nothing is known until the end
    with pytest.raises(DigestMismatch, match=r"sha256 checksum mismatch: the bytes read from 'model\.onnx'"):
        reader.read(1)


def test_hashing_reader_with_a_gap_is_not_complete() -> None:
    reader = HashingReader(io.BytesIO(DATA), len(DATA))
    reader.seek(10)
    reader.read()
    assert not reader.complete


# --------------------------------------------------------------------------- RangedReader


def test_ranged_reader_reads_in_order_with_a_bounded_window() -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def fetch(start: int, length: int) -> bytes:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.001 * (7 - start // 4096 % 7))  # out of order on purpose
        with lock:
            in_flight -= 1
        return DATA[start : start + length]

    with RangedReader(fetch, len(DATA), part_size=4096, workers=4) as reader:
        chunks = []
        while chunk := reader.read(3000):
            chunks.append(chunk)
    assert b"".join(chunks) == DATA
    assert 1 < peak <= 4


def test_ranged_reader_refuses_a_short_range() -> None:
    with (
        RangedReader(lambda s, n: DATA[s : s + n - 1], len(DATA), part_size=MiB // 4) as reader,
        pytest.raises(StoreError, match="changed while it was read"),
    ):
        reader.read()


# --------------------------------------------------------------------------- copies


class ByteSpy:
    """Counts the object bytes a store sends and receives through the methods that move them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cls: type[ObjectStore]) -> None:
        self.sent = 0
        self.received = 0
        self.server_copies: list[str] = []
        spy = self
        real_put_file, real_put_stream = cls._put_file, cls._put_stream
        real_get_range, real_server_copy = cls._get_range, cls._server_copy

        def put_file(store: Any, key: str, path: Path, **kw: Any) -> Any:
            spy.sent += path.stat().st_size
            return real_put_file(store, key, path, **kw)

        def put_stream(store: Any, key: str, stream: Any, put: Any) -> Any:
            spy.sent += put.size
            return real_put_stream(store, key, stream, put)

        def get_range(store: Any, key: str, start: int, length: int) -> bytes:
            data = real_get_range(store, key, start, length)
            spy.received += len(data)
            return data

        def server_copy(store: Any, source: Any, source_key: str, key: str, **kw: Any) -> None:
            spy.server_copies.append(key)
            real_server_copy(store, source, source_key, key, **kw)

        for name, fn in (
            ("_put_file", put_file),
            ("_put_stream", put_stream),
            ("_get_range", get_range),
            ("_server_copy", server_copy),
        ):
            monkeypatch.setattr(cls, name, fn)


@pytest.fixture
def s3_operations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The S3 operations every S3Store client sends (boto3's before-call event)."""
    names: list[str] = []
    real = S3Store._client.fget  # type: ignore[attr-defined]

    def client(self: S3Store) -> Any:
        made = self._client_obj is None
        obj = real(self)
        if made:
            obj.meta.events.register("before-call.s3.*", lambda model, **_: names.append(model.name))
        return obj

    monkeypatch.setattr(S3Store, "_client", property(client))
    return names


@pytest.mark.integration
@pytest.mark.parametrize("multipart", [False, True], ids=["small", "multipart"])
def test_a_copy_within_one_service_moves_no_byte_through_the_client(
    kind: str, multipart: bool, make_store: MakeStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_store(kind)
    target = make_store(kind)  # another bucket on the same server
    size = source.multipart_size if multipart else 3000
    path = write_file(tmp_path / "model.plan", size, seed=11)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    source.store.upload_file("models/m/1/model.plan", path)
    spy = ByteSpy(monkeypatch, type(target.store))
    if kind == "s3":
        assert isinstance(target.store, S3Store)
        target.store.copy_object_limit = 4 * MiB  # the multipart case goes as UploadPartCopy

    for store, key in ((target.store, "_cache/releases/blobs/" + sha), (source.store, "_cache/releases/blobs/" + sha)):
        info = store.copy_from(source.store, "models/m/1/model.plan", key, sha256=sha)
        assert (info.size, info.sha256) == (size, sha)
        assert store.read_bytes(key) == path.read_bytes()
    assert (spy.sent, spy.received) == (0, 0)
    assert len(spy.server_copies) == 2


@pytest.mark.integration
def test_s3_copies_are_copyobject_and_uploadpartcopy_requests(
    s3_operations: list[str], make_store: MakeStore, tmp_path: Path
) -> None:
    case = make_store("s3")
    store = case.store
    assert isinstance(store, S3Store)
    path = write_file(tmp_path / "w.bin", 9 * MiB, seed=3)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    store.upload_file("a/w.bin", path)
    s3_operations.clear()
    store.copy_from(store, "a/w.bin", "b/w.bin", sha256=sha)
    store.copy_object_limit = 4 * MiB
    store.copy_part_size = 5 * MiB
    store.copy_from(store, "a/w.bin", "c/w.bin", sha256=sha)
    moved = {"PutObject", "UploadPart", "GetObject"}
    assert not moved & set(s3_operations), s3_operations
    assert s3_operations.count("CopyObject") == 1
    assert s3_operations.count("UploadPartCopy") == 2
    assert store.read_bytes("c/w.bin") == path.read_bytes()


@pytest.mark.integration
@pytest.mark.parametrize(("src_kind", "dst_kind"), [("s3", "gcs"), ("gcs", "azure"), ("azure", "s3")])
def test_a_copy_between_services_streams_once_and_refuses_other_bytes(
    src_kind: str, dst_kind: str, make_store: MakeStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_store(src_kind)
    target = make_store(dst_kind)
    size = max(source.multipart_size, target.multipart_size)
    path = write_file(tmp_path / "model.plan", size, seed=5)
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    source.store.upload_file("blobs/x", path)
    spy = ByteSpy(monkeypatch, type(target.store))
    info = target.store.copy_from(source.store, "blobs/x", "blobs/x", sha256=sha)
    assert (info.size, info.sha256) == (size, sha)
    assert target.store.read_bytes("blobs/x") == data
    assert spy.sent == size  # streamed through once, never written to a local file
    assert spy.server_copies == []
    assert not list(tmp_path.glob("**/*.part"))

    # An object whose metadata names other bytes is refused before any byte moves ...
    with pytest.raises(DigestMismatch, match=r"blobs/x: holds bytes with sha256 .*altered or corrupted"):
        target.store.copy_from(source.store, "blobs/x", "blobs/y", sha256=hashlib.sha256(b"other").hexdigest())
    # ... and one whose bytes are not what its metadata says is never committed in the target.
    forged = data[: size // 2] + bytes(size - size // 2)
    source.store._put_bytes("blobs/forged", forged, sha256=sha, content_type="application/octet-stream")
    with pytest.raises(DigestMismatch, match=r"sha256 checksum mismatch: the bytes read from .*blobs/forged"):
        target.store.copy_from(source.store, "blobs/forged", "blobs/y", sha256=sha)
    assert target.store.stat("blobs/y") is None


@pytest.mark.integration
def test_downloads_are_ranged_and_hashed_on_the_way(kind: str, make_store: MakeStore, tmp_path: Path) -> None:
    case = make_store(kind)
    path = write_file(tmp_path / "src.bin", case.multipart_size, seed=9)
    case.store.upload_file("k/src.bin", path)
    case.store.download_part_size = MiB
    out = tmp_path / "out.bin"
    case.store.download_file("k/src.bin", out)
    assert out.read_bytes() == path.read_bytes()
    with pytest.raises(DigestMismatch, match="downloaded bytes do not match"):
        case.store.download_file("k/src.bin", tmp_path / "bad.bin", sha256="0" * 64)
    assert not (tmp_path / "bad.bin").exists()
