"""Where the model repository lives and how the publisher talks to it: one interface, three clouds.

``StoreRef`` is the descriptor the stacks hand to the publisher (never credentials, only where
to find them). ``ObjectStore`` is the small set of operations the atomic publish protocol
needs; every upload is verified against what the server reports (size and a content checksum
the server computed) before anything may point at it. The backends (``s3``, ``gcs``,
``azure_blob``) import this module, never the other way round: ``triton_platform.publisher.stores.open_store``
picks one.

Bytes move once (:mod:`triton_platform.publisher.stores.transfer`): an upload hashes the file as it
sends it and is verified with those digests (no second read), a download hashes what it writes,
and ``copy_from`` copies between buckets on the server when both are on one service (S3
CopyObject / UploadPartCopy, GCS rewrite, Azure Copy Blob), else streams ranged reads of the
source into the target's upload without a local copy.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.fingerprint import cached_sha256, file_sha256, remember_sha256
from triton_platform.publisher.progress import Progress, ensure_progress
from triton_platform.publisher.stores.ref import StoreRef
from triton_platform.publisher.stores.transfer import (
    DigestMismatch,
    RangedReader,
    Readable,
    Sent,
    StreamPut,
    mismatch,
    write_verified,
)

# Object metadata key holding the sha256 hex of the bytes we uploaded.
SHA256_METADATA = "sha256"
_READ_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    """One object as the server reports it.

    ``sha256``: the hex digest we recorded in the object's metadata (None for foreign objects).
    ``checksum``/``checksum_algorithm``: a content checksum the server computed itself
    (S3 ``sha256`` / ``sha256-composite``, GCS ``crc32c``, Azure ``md5``), base64 as served.
    """

    key: str
    size: int
    sha256: str | None = None
    etag: str | None = None
    checksum: str | None = None
    checksum_algorithm: str | None = None
    last_modified: datetime | None = None


ByteCallback = Callable[[int], None]
T = TypeVar("T")


@dataclass(frozen=True)
class PutItem:
    """One file to upload: where to, from where, its size and sha256, and where bytes are reported.

    ``sent`` receives what the backend's ``_put_file`` reports it read and sent (its digests), so
    the upload is verified without reading the file again; copies of the item share it.
    """

    key: str
    path: Path
    size: int
    sha256: str
    advance: ByteCallback
    sent: builtins.list[Sent] = field(default_factory=builtins.list, compare=False, repr=False)


class ObjectStore(ABC):
    """The operations the atomic publish protocol needs, on one bucket; keys are bucket-absolute."""

    kind: str = ""
    # What the provider calls a bucket, for messages (Azure: "container").
    bucket_noun: str = "bucket"
    # Files uploaded (and verified) at once by upload_files; each may itself go up in parallel parts.
    file_concurrency: int = 4
    # Downloads and cross-store copies: ranges of this size, this many fetched ahead at once.
    download_part_size: int = 8 * 1024 * 1024
    download_concurrency: int = 8

    def __init__(self, ref: StoreRef) -> None:
        self.ref = ref

    @property
    def bucket(self) -> str:
        return self.ref.bucket

    def __repr__(self) -> str:
        # Only where the store is; the SDK clients behind it are never part of the repr.
        return f"{type(self).__name__}({self.ref.describe()}, prefix={self.ref.prefix!r})"

    __str__ = __repr__

    # --- abstract operations per backend -----------------------------------------------------

    @abstractmethod
    def check(self) -> None:
        """Raise StoreError naming the bucket if it does not exist or is not accessible."""

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo | None:
        """The object's size, recorded sha256 and server checksum, or None when it does not exist."""

    @abstractmethod
    def list(self, prefix: str) -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix``, sorted by key."""

    @abstractmethod
    def delete(self, keys: Iterable[str]) -> None:
        """Delete these objects; missing ones are fine."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""

    def _put_file(self, key: str, path: Path, *, size: int, sha256: str, advance: ByteCallback) -> Sent | None:
        """Upload ``path`` to ``key`` with ``sha256`` in the metadata, reporting bytes to ``advance``.

        Returns the digests of what it read and sent (then verification reads nothing again), or
        None (then ``_expected_checksum`` reads the file to verify it). The file is read once, by
        ``_put_stream``, which hashes it whole on the way and refuses (``DigestMismatch``) to commit
        bytes that do not hash to ``sha256`` - unless ``sha256`` is the fingerprint the hash cache
        keeps for this very file (same size, mtime and inode: what the preview computed), which is
        then trusted as the preview trusts it.
        """
        put = StreamPut(size, sha256, advance, repr(str(path)), trusted=cached_sha256(path) == sha256)
        with open(path, "rb") as fh:
            return self._put_stream(key, fh, put)

    @abstractmethod
    def _put_bytes(self, key: str, data: bytes, *, sha256: str, content_type: str) -> ObjectInfo | None:
        """Upload a small object in one request with ``sha256`` in the metadata.

        Returns the object as the server's reply describes it when the reply carries the server's
        checksum (then it is verified from the reply, without another request), else None.
        """

    @abstractmethod
    def _get_file(self, key: str, path: Path, *, advance: ByteCallback) -> None:
        """Download ``key`` into ``path`` (a temporary file the caller renames)."""

    @abstractmethod
    def _expected_checksum(self, info: ObjectInfo, source: Path | bytes, sha256: str) -> str | None:
        """The checksum the server should report for ``source``, in ``info.checksum_algorithm``.

        None when the server reports nothing comparable (then only size and metadata are checked).
        """

    # --- optional operations: one pass over the bytes, and copies on the server ----------------

    def _put_stream(self, key: str, stream: Readable, put: StreamPut) -> Sent:
        """Upload ``put.size`` bytes read once from ``stream``; see ``_put_file`` and ``StreamPut``."""
        raise NotImplementedError

    def _get_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes of ``key`` from ``start`` (one ranged GET); backends without it download whole files."""
        raise NotImplementedError

    def _get_stream(self, key: str) -> Readable:
        """The whole object as one streamed GET (``download_concurrency`` 1); close it after use."""
        raise NotImplementedError

    def same_service(self, other: ObjectStore) -> bool:
        """True when ``other``'s objects can be copied into this store by the server, no byte through us."""
        return False

    def _server_copy(self, source: ObjectStore, source_key: str, key: str, *, size: int, sha256: str) -> None:
        """Copy ``source_key`` of ``source`` (``same_service``) to ``key`` on the server, metadata included."""
        raise NotImplementedError

    def _sent_checksum(self, info: ObjectInfo, sent: Sent) -> str | None:
        """The checksum ``info`` should show for the bytes ``sent`` reports, when it computed that kind."""
        return sent.checksum if sent.algorithm is not None and sent.algorithm == info.checksum_algorithm else None

    # --- shared behaviour ----------------------------------------------------------------------

    def error(
        self, detail: str, *, key: str | None = None, model: str | None = None, hint: str | None = None
    ) -> StoreError:
        """A StoreError naming this bucket; ``hint`` becomes the example."""
        return StoreError(detail, bucket=self.bucket, key=key, model=model, example=hint)

    def missing_bucket_error(self, key: str | None = None) -> StoreError:
        """The StoreError for a bucket (or container) that does not exist, with how to fix it."""
        noun = self.bucket_noun
        return self.error(
            f"{noun} does not exist",
            key=key,
            hint=f"create it first, or set modelRepository.bucket to an existing {noun}",
        )

    @contextlib.contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        """Turn an SDK exception raised in the block into a StoreError naming the bucket and ``key``.

        The backend's ``_store_error`` says which exceptions become which errors; the SDK's
        exception is not chained (the StoreError already says what failed and how to fix it).
        """
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            error = self._store_error(exc, key)
            if error is None:
                raise
            raise error from None

    def _store_error(self, exc: Exception, key: str | None) -> StoreError | None:
        """The StoreError for ``exc`` raised by the backend's SDK, or None to let ``exc`` through."""
        return None

    def upload_file(
        self, key: str, path: Path, *, sha256: str | None = None, progress: Progress | None = None
    ) -> ObjectInfo:
        """Upload a file, recording its sha256 in metadata, then verify size and checksum.

        Raises StoreError when the object the server holds differs from the file.
        """
        return self.upload_files([(key, Path(path), sha256)], progress=progress)[0]

    def upload_files(
        self, files: Sequence[tuple[str, Path, str | None]], *, progress: Progress | None = None
    ) -> builtins.list[ObjectInfo]:
        """Upload ``(key, path, sha256 or None)`` items, concurrently where the backend can, then verify each.

        Every item is attempted; the first failure is raised afterwards. An object that fails
        verification is deleted, so a retry cannot take it for a complete one.
        """
        progress = ensure_progress(progress)
        items: list[PutItem] = []
        before: dict[str, tuple[int, int, int]] = {}
        tasks = []
        for key, path, sha256 in files:
            path = Path(path)
            before[key] = _stat_id(path)
            task = progress.task(f"upload {key}", before[key][0])
            tasks.append(task)
            items.append(PutItem(key, path, before[key][0], sha256 or claimed_sha256(path), task.advance))
        try:
            self._put_files(items)
        finally:
            for task in tasks:
                task.finish()
        return self._map(lambda item: self._checked(item, before[item.key]), items)

    def _checked(self, item: PutItem, before: tuple[int, int, int]) -> ObjectInfo:
        try:
            if _stat_id(item.path) != before:
                raise self.error(f"{str(item.path)!r} changed while it was uploading; run again", key=item.key)
            sent = item.sent[-1] if item.sent else None
            if sent is None:
                # A backend that did not hash what it sent: the claimed sha256 is checked the slow way.
                actual = file_sha256(item.path)
                if actual != item.sha256:
                    raise mismatch(repr(str(item.path)), actual, item.sha256, bucket=self.bucket, key=item.key)
            info = self.verify(item.key, item.path, size=item.size, sha256=item.sha256, sent=sent)
            if sent is not None:
                # Hashed while it went up: the next preview's fingerprint need not read it again.
                remember_sha256(item.path, sent.sha256, before)
            return info
        except StoreError:
            # A rejected object must not pass for a complete one (same size, same metadata) later.
            with contextlib.suppress(StoreError):
                self.delete([item.key])
            raise

    def _put_files(self, items: Sequence[PutItem]) -> None:
        """Upload several files; by default up to ``file_concurrency`` at once through ``_put_file``."""
        self._map(self._put_item, items)

    def _put_item(self, item: PutItem) -> None:
        sent = self._put_file(item.key, item.path, size=item.size, sha256=item.sha256, advance=item.advance)
        if isinstance(sent, Sent):
            item.sent.append(sent)

    def _map(self, fn: Callable[[PutItem], T], items: Sequence[PutItem]) -> builtins.list[T]:
        # Run fn over items in a small thread pool; every item runs, the first error is raised.
        if len(items) <= 1 or self.file_concurrency <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.file_concurrency, len(items))) as pool:
            futures = [pool.submit(fn, item) for item in items]
            wait(futures)
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error
        return [f.result() for f in futures]

    def upload_bytes(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> ObjectInfo:
        """Upload a small object (config.pbtxt, a manifest) and verify it like a file."""
        sha256 = hashlib.sha256(data).hexdigest()
        reply = self._put_bytes(key, data, sha256=sha256, content_type=content_type)
        try:
            if isinstance(reply, ObjectInfo) and reply.checksum is not None:
                return self._confirmed(reply, data, sha256)
            return self.verify(key, data, size=len(data), sha256=sha256)
        except StoreError:
            with contextlib.suppress(StoreError):
                self.delete([key])
            raise

    def _confirmed(self, reply: ObjectInfo, data: bytes, sha256: str) -> ObjectInfo:
        """A small object verified from the server's reply to its upload: the checksum the server kept."""
        expected = self._expected_checksum(reply, data, sha256)
        if reply.size != len(data) or (reply.sha256 or sha256) != sha256 or expected != reply.checksum:
            raise self.error(
                f"the server kept {reply.checksum_algorithm} {reply.checksum} for {reply.size} bytes; "
                f"the {len(data)} bytes sent give {expected}: the upload was corrupted, run again",
                key=reply.key,
            )
        return reply

    def verify(
        self, key: str, source: Path | bytes | None, *, size: int, sha256: str, sent: Sent | None = None
    ) -> ObjectInfo:
        """Compare the stored object with ``source``: size, recorded sha256 and the server's checksum.

        ``sent``: the digests the upload computed as it read the bytes; the server's checksum is
        compared with those, and ``source`` is read only for a checksum the upload did not compute
        (``source`` None: an object streamed from another store, checked against ``sent`` only).
        The object is the one ``sent.stored`` describes (the server's reply to the upload) when known.
        """
        info = sent.stored if sent is not None and sent.stored is not None else self.stat(key)
        if info is None:
            raise self.error("object missing right after upload (eventual consistency or a concurrent delete)", key=key)
        if info.size != size:
            raise self.error(f"size mismatch after upload: server has {info.size} bytes, expected {size}", key=key)
        if info.sha256 is not None and info.sha256 != sha256:
            raise self.error(f"sha256 metadata mismatch after upload: {info.sha256} != {sha256}", key=key)
        if sent is not None and sent.sha256 != sha256:
            raise mismatch(f"the source of {key!r}", sent.sha256, sha256, bucket=self.bucket, key=key)
        expected = self._sent_checksum(info, sent) if sent is not None else None
        if expected is None and source is not None:
            expected = self._expected_checksum(info, source, sha256)
        if expected is not None and expected != info.checksum:
            raise self.error(
                f"{info.checksum_algorithm} checksum mismatch after upload: server computed {info.checksum}, "
                f"the local bytes give {expected}; the upload was corrupted, run again",
                key=key,
            )
        return info

    def download_file(
        self, key: str, path: Path, progress: Progress | None = None, *, sha256: str | None = None
    ) -> ObjectInfo:
        """Download ``key`` to ``path`` atomically; checks the size and the sha256 (``sha256``, else the recorded one).

        Ranges are fetched in parallel and written in order, hashed as they are written, so the
        file is never read back to verify it.
        """
        info = self.stat(key)
        if info is None:
            raise self.error("object does not exist", key=key)
        expected = sha256 or info.sha256
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        task = ensure_progress(progress).task(f"download {key}", info.size)
        try:
            try:
                written = self._download_into(key, info.size, tmp, task.advance)
            finally:
                task.finish()
            got = tmp.stat().st_size
            if got != info.size:
                raise self.error(f"downloaded {got} bytes, the object has {info.size}", key=key)
            actual = written or (sha256_file(tmp) if expected is not None else None)
            if expected is not None and actual != expected:
                raise DigestMismatch(
                    f"downloaded bytes do not match the recorded sha256 (they hash to {actual}, expected {expected})",
                    actual=str(actual),
                    expected=expected,
                    bucket=self.bucket,
                    key=key,
                )
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return info

    def _download_into(self, key: str, size: int, path: Path, advance: ByteCallback) -> str | None:
        """Fill ``path`` with the object; the sha256 of what was written when it was hashed on the way."""
        if self.download_concurrency <= 1 and type(self)._get_stream is not ObjectStore._get_stream:
            # One streamed GET: what a server that reads a whole object for every range (moto) prefers.
            stream = self._get_stream(key)
            try:
                return write_verified(stream, path, size, advance=advance)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        try:
            reader = self.ranged_reader(key, size)
        except NotImplementedError:
            self._get_file(key, path, advance=advance)
            return None
        with reader:
            return write_verified(reader, path, size, advance=advance)

    def ranged_reader(self, key: str, size: int) -> RangedReader:
        """``key`` (``size`` bytes) as a stream of parallel ranged GETs; NotImplementedError without them."""
        if type(self)._get_range is ObjectStore._get_range:
            raise NotImplementedError
        return RangedReader(
            lambda start, length: self._get_range(key, start, length),
            size,
            part_size=self.download_part_size,
            workers=self.download_concurrency,
            what=f"{self.ref.describe()} object {key!r}",
        )

    def copy_from(
        self, source: ObjectStore, source_key: str, key: str, *, sha256: str, progress: Progress | None = None
    ) -> ObjectInfo:
        """Copy ``source_key`` of ``source`` to ``key`` here, verified against ``sha256``; never a local copy.

        On one service (``same_service``) the server copies it and the copy is checked against the
        source's size, metadata and checksum (S3 recomputes its SHA256 on the server: checked
        against ``sha256`` itself). Across services the source's ranges stream into this store's
        upload, hashed on the way, and nothing is committed unless they hash to ``sha256``.
        """
        src = source.stat(source_key)
        if src is None:
            raise source.error("object does not exist", key=source_key)
        if src.sha256 is not None and src.sha256 != sha256:
            raise DigestMismatch(
                f"holds bytes with sha256 {src.sha256}, expected {sha256}; it was altered or corrupted",
                actual=src.sha256,
                expected=sha256,
                bucket=source.bucket,
                key=source_key,
            )
        task = ensure_progress(progress).task(f"copy {source_key} -> {key}", src.size)
        try:
            if self.same_service(source):
                self._server_copy(source, source_key, key, size=src.size, sha256=sha256)
                task.advance(src.size)
                return self.verify_copy(key, src, sha256)
            sent = self._stream_copy(source, source_key, key, src.size, sha256, task.advance)
            return self.verify(key, None, size=src.size, sha256=sha256, sent=sent)
        except StoreError:
            with contextlib.suppress(StoreError):
                self.delete([key])
            raise
        finally:
            task.finish()

    def _stream_copy(
        self, source: ObjectStore, source_key: str, key: str, size: int, sha256: str, advance: ByteCallback
    ) -> Sent | None:
        what = f"{source.ref.describe()} object {source_key!r}"
        if type(self)._put_stream is not ObjectStore._put_stream:
            try:
                reader = source.ranged_reader(source_key, size)
            except NotImplementedError:
                reader = None
            if reader is not None:
                with reader:
                    return self._put_stream(key, reader, StreamPut(size, sha256, advance, what))
        # A backend without streams (a test double): through one temporary file, verified on the way.
        with tempfile.TemporaryDirectory(prefix="triton-copy-") as tmp:
            local = Path(tmp) / "object"
            source.download_file(source_key, local, sha256=sha256)
            self.upload_files([(key, local, sha256)])
            return None

    def verify_copy(self, key: str, src: ObjectInfo, sha256: str) -> ObjectInfo:
        """A server-side copy against its source: size, recorded sha256, and the server's checksums."""
        info = self.stat(key)
        if info is None:
            raise self.error("object missing right after the copy", key=key)
        if info.size != src.size or (info.sha256 or sha256) != sha256:
            raise self.error(
                f"the copy has {info.size} bytes and sha256 {info.sha256}, expected {src.size} and {sha256}", key=key
            )
        if info.checksum_algorithm == "sha256" and info.checksum is not None:
            expected: str | None = b64(bytes.fromhex(sha256))
        elif info.checksum_algorithm == src.checksum_algorithm and info.checksum_algorithm != "sha256-composite":
            # (A composite depends on the part sizes, which a multipart copy need not share.)
            expected = src.checksum
        else:
            expected = None
        if expected is not None and info.checksum != expected:
            raise self.error(
                f"{info.checksum_algorithm} checksum mismatch after the copy: server computed {info.checksum}, "
                f"expected {expected}",
                key=key,
            )
        return info

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None


# --- local digests, matched to what each server computes -------------------------------------------


def _stat_id(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns, st.st_ino


def sha256_file(path: Path) -> str:
    """sha256 hex of a file (memoised through the publisher's persistent hash cache)."""
    return file_sha256(path)


def claimed_sha256(path: Path, *, model: str | None = None) -> str:
    """The sha256 an upload starts from: the one the hash cache keeps for the file as it is, else hashed now.

    Only a file that no fingerprint has seen (or that changed in the last seconds) is read here
    first; the upload then checks the claim against the bytes it sends.
    """
    return cached_sha256(path) or file_sha256(path, model=model)


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _iter_range(source: Path | bytes, start: int, length: int) -> Iterable[bytes]:
    if isinstance(source, bytes):
        yield source[start : start + length]
        return
    with open(source, "rb") as fh:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            chunk = fh.read(min(_READ_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def _source_size(source: Path | bytes) -> int:
    return len(source) if isinstance(source, bytes) else source.stat().st_size


def digest(source: Path | bytes, algorithm: str, start: int = 0, length: int | None = None) -> bytes:
    """Raw digest (``md5``, ``sha256`` or ``crc32c``) of a byte range of a file or bytes."""
    if length is None:
        length = _source_size(source) - start
    if algorithm == "crc32c":
        import google_crc32c

        crc = google_crc32c.Checksum()
        for chunk in _iter_range(source, start, length):
            crc.update(chunk)
        return bytes(crc.digest())
    h = hashlib.new(algorithm)
    for chunk in _iter_range(source, start, length):
        h.update(chunk)
    return h.digest()


def part_digests(source: Path | bytes, algorithm: str, part_size: int, *, workers: int = 4) -> list[bytes]:
    """Digest of every ``part_size`` slice (the last one shorter), hashed in parallel threads."""
    size = _source_size(source)
    if size == 0:
        return [digest(source, algorithm)]
    starts = list(range(0, size, part_size))
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(starts)))) as pool:
        return list(pool.map(lambda s: digest(source, algorithm, s, min(part_size, size - s)), starts))


def composite_digest(parts: list[bytes], algorithm: str) -> bytes:
    """S3's checksum of a multipart object: the digest of the concatenated part digests."""
    return hashlib.new(algorithm, b"".join(parts)).digest()
