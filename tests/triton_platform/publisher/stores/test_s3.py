"""S3Store's uploads on moto: a file below the multipart threshold is one PutObject streamed from it.

The requests the client sends are recorded (``s3_requests``): one PutObject, verified from its
reply (no HeadObject); bytes that are not the claimed ones, or a file that ends early, stop the
request at once instead of being sent again by botocore's retries, and nothing is stored.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.stores import StoreCase, write_file
from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.stores.base import b64
from triton_platform.publisher.stores.s3 import S3Store, S3TransferSettings
from triton_platform.publisher.stores.transfer import DigestMismatch, StreamPut

MakeStore = Callable[..., StoreCase]
MiB = 1024 * 1024


def _default_store(case: StoreCase) -> S3Store:
    """A store on the case's bucket with the settings the provider uses (the default threshold)."""
    return S3Store(case.store.ref)


@pytest.mark.integration
def test_a_file_below_the_threshold_is_one_streamed_put_verified_from_its_reply(
    s3_requests: list[str], make_store: MakeStore, tmp_path: Path
) -> None:
    store = _default_store(make_store("s3"))
    size = 20 * MiB
    assert size < S3TransferSettings().multipart_threshold
    path = write_file(tmp_path / "model.onnx", size, seed=5)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    info = store.upload_file("models/m/1/model.onnx", path, sha256=sha)
    assert s3_requests == ["PutObject"]
    assert (info.size, info.sha256, info.checksum) == (size, sha, b64(bytes.fromhex(sha)))
    stored = store.stat("models/m/1/model.onnx")
    assert stored is not None
    assert (stored.size, stored.sha256, stored.checksum, stored.checksum_algorithm) == (
        size,
        sha,
        b64(bytes.fromhex(sha)),
        "sha256",
    )
    assert store.read_bytes("models/m/1/model.onnx") == path.read_bytes()


@pytest.mark.integration
def test_bytes_that_are_not_the_claimed_ones_are_refused_once_and_never_stored(
    s3_requests: list[str], make_store: MakeStore, tmp_path: Path
) -> None:
    store = _default_store(make_store("s3"))
    path = write_file(tmp_path / "model.onnx", 6 * MiB, seed=6)
    claimed = hashlib.sha256(b"the bytes the preview saw").hexdigest()
    with pytest.raises(DigestMismatch, match="sha256 checksum mismatch") as info:
        store.upload_file("models/m/1/model.onnx", path, sha256=claimed)
    assert info.value.expected == claimed
    assert info.value.actual == hashlib.sha256(path.read_bytes()).hexdigest()
    assert s3_requests.count("PutObject") == 1  # not sent again by botocore's retries
    assert store.stat("models/m/1/model.onnx") is None


@pytest.mark.integration
def test_a_file_that_ends_early_fails_at_once_and_stores_nothing(
    s3_requests: list[str], make_store: MakeStore, tmp_path: Path
) -> None:
    store = _default_store(make_store("s3"))
    path = write_file(tmp_path / "model.onnx", 2 * MiB, seed=7)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    put = StreamPut(3 * MiB, sha, lambda _n: None, repr(str(path)))  # the file shrank after it was stat'ed
    started = time.monotonic()
    with open(path, "rb") as fh, pytest.raises(StoreError, match=r"ended after 2097152 of 3145728 bytes"):
        store._put_stream("models/m/1/model.onnx", fh, put)
    assert time.monotonic() - started < 10  # not the server's read timeout
    assert s3_requests.count("PutObject") == 1
    assert store.stat("models/m/1/model.onnx") is None


def _as_s3_replies(store: S3Store, checksum: Callable[[str], str]) -> Callable[[], None]:
    """Complete moto's CompleteMultipartUpload replies as S3 sends them (ChecksumSHA256, ChecksumType).

    moto leaves both out (S3's API Reference, CompleteMultipartUpload, lists them in the reply);
    ``checksum(key)`` gives the value. Returns the function that removes the handler again.
    """

    def complete(parsed: dict[str, object], **_: object) -> None:
        parsed["ChecksumSHA256"] = checksum(str(parsed["Key"]))
        parsed["ChecksumType"] = "COMPOSITE"

    events = store._client.meta.events
    events.register("after-call.s3.CompleteMultipartUpload", complete)
    return lambda: events.unregister("after-call.s3.CompleteMultipartUpload", complete)


@pytest.mark.integration
@pytest.mark.parametrize("corrupted", [False, True], ids=["verified", "refused"])
def test_a_multipart_upload_is_verified_from_the_composite_in_s3s_complete_reply(
    corrupted: bool, s3_requests: list[str], make_store: MakeStore, tmp_path: Path
) -> None:
    case = make_store("s3")  # 5 MiB parts
    store = case.store
    assert isinstance(store, S3Store)
    path = write_file(tmp_path / "model.plan", case.multipart_size, seed=8)
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    parts = [hashlib.sha256(data[i : i + 5 * MiB]).digest() for i in range(0, len(data), 5 * MiB)]
    composite = b64(hashlib.sha256(b"".join(parts)).digest()) + f"-{len(parts)}"
    remove = _as_s3_replies(store, lambda _key: b64(b"\0" * 32) + f"-{len(parts)}" if corrupted else composite)
    try:
        if corrupted:
            with pytest.raises(StoreError, match="checksum mismatch after upload"):
                store.upload_file("models/m/1/model.plan", path, sha256=sha)
        else:
            info = store.upload_file("models/m/1/model.plan", path, sha256=sha)
            assert (info.size, info.sha256, info.checksum) == (len(data), sha, composite)
    finally:
        remove()
    assert "HeadObject" not in s3_requests, s3_requests  # the reply verified it (or refused it)
    assert s3_requests.count("UploadPart") == len(parts)
    stored = store.stat("models/m/1/model.plan")
    if corrupted:
        assert stored is None  # a refused upload is deleted
    else:
        assert stored is not None
        assert (stored.size, stored.sha256) == (len(data), sha)
