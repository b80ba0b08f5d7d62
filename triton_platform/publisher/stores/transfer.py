"""Moving bytes once: streams that hash what they pass on, and ranged reads fetched ahead in parallel.

Every upload reads its source exactly once. ``HashingReader`` wraps the source (a file, or a
stream from another store) and feeds each byte to the sha256 the publisher records, and to the
checksum the server computes (crc32c for GCS, md5 for Azure), in order, as the SDK reads it;
when the last byte has been read it compares the sha256 with the one the caller claimed (the
fingerprint the preview computed) and raises ``DigestMismatch`` *before* the SDK can commit the
object, so bytes that are not the fingerprinted ones never become an object. ``RangedReader``
turns an object of known size into a sequential stream whose ranges are fetched by a few threads
ahead of the reader (bounded memory: ``workers`` ranges), which is how downloads, prefetches and
cross-store copies go without ever holding a whole file.
Plain Python: no Pulumi, no cloud SDK.
"""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from triton_platform.publisher.errors import StoreError

if TYPE_CHECKING:
    from triton_platform.publisher.stores.base import ObjectInfo

ByteCallback = Callable[[int], None]
# A read: bytes (at most n; b"" at the end).
RangeFetch = Callable[[int, int], bytes]


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Sent:
    """What an upload read and sent, hashed as it went: nothing has to be read again to verify it.

    ``checksum`` (base64, as the server reports it) in ``algorithm`` is what the server should
    report for the object (``sha256``, ``sha256-composite``, ``crc32c``, ``md5``); None when the
    upload computed none the server keeps. ``stored``: the object as the server's reply to the
    upload described it, when that reply carries the checksum the server kept (S3's PutObject
    answers with its ``x-amz-checksum-sha256``): verification compares with it and asks nothing more.
    """

    size: int
    sha256: str
    checksum: str | None = None
    algorithm: str | None = None
    parts: int = 0
    stored: ObjectInfo | None = None


@dataclass(frozen=True)
class StreamPut:
    """One upload read from a stream: its size, the sha256 its bytes must have, where bytes are reported.

    ``what`` names the source in errors; ``trusted``: ``sha256`` is the fingerprint the hash cache
    keeps for the very file read (same size, mtime, inode), so the stream is not hashed whole again.
    """

    size: int
    sha256: str
    advance: ByteCallback
    what: str
    trusted: bool = False

    def reader(self, stream: Readable, algorithm: str, *, bucket: str, key: str, report: bool = True) -> HashingReader:
        """The stream, hashed with ``algorithm`` (what the server reports) and, unless trusted, sha256."""
        return HashingReader(
            stream,
            self.size,
            algorithms=(algorithm,),
            whole=not self.trusted,
            expect_sha256=None if self.trusted else self.sha256,
            advance=self.advance if report else None,
            what=self.what,
            bucket=bucket,
            key=key,
        )

    def sent(self, reader: HashingReader, algorithm: str) -> Sent:
        """What the upload sent, from its reader (a reader that re-read past a gap: the claim only)."""
        if not reader.complete:
            return Sent(self.size, self.sha256)  # verify reads the source instead
        return Sent(self.size, reader.sha256() or self.sha256, b64_digest(reader.digest(algorithm)), algorithm)


def b64_digest(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


class DigestMismatch(StoreError):
    """The bytes read do not hash to the sha256 the caller claimed: the source changed, or was corrupted."""

    def __init__(self, detail: str, *, actual: str, expected: str, **parts: Any) -> None:
        self.actual, self.expected = actual, expected
        super().__init__(detail, **parts)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "actual": self.actual, "expected": self.expected}


def mismatch(what: str, actual: str, expected: str, *, bucket: str | None, key: str | None) -> DigestMismatch:
    """The DigestMismatch for ``what`` (a path or an object), with both digests and what to do."""
    return DigestMismatch(
        f"sha256 checksum mismatch: the bytes read from {what} hash to {actual}, expected {expected}; "
        "it changed or was corrupted while it was read: run again",
        actual=actual,
        expected=expected,
        bucket=bucket,
        key=key,
    )


def new_digest(algorithm: str) -> Any:
    """A hash object with ``update``/``digest`` for ``sha256``, ``md5`` or ``crc32c``."""
    if algorithm == "crc32c":
        import google_crc32c

        return google_crc32c.Checksum()
    return hashlib.new(algorithm)


@dataclass
class _Hashes:
    """The running digests of a stream, fed in order."""

    algorithms: tuple[str, ...]
    objects: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.objects = {a: new_digest(a) for a in self.algorithms}

    def update(self, data: bytes) -> None:
        for h in self.objects.values():
            h.update(data)

    def hexdigest(self) -> str:
        return str(self.objects["sha256"].hexdigest())

    def digest(self, algorithm: str) -> bytes:
        return bytes(self.objects[algorithm].digest())


class HashingReader(io.RawIOBase):
    """A read-only stream over ``source`` that hashes every byte once, in order, as it is read.

    ``size`` bytes are expected; ``algorithms`` are computed, the sha256 too unless ``whole`` is
    False (the caller trusts a cached fingerprint). Rewinds (an SDK retrying a chunk) re-read bytes that are not
    hashed twice; a read past a gap marks the digests unusable (``complete`` is then False and
    the caller verifies the slow way). When the last byte arrives and ``expect_sha256`` is set,
    a different digest raises ``DigestMismatch`` from ``read``, so the SDK never commits the object.
    ``advance`` gets the number of bytes read for the first time.
    """

    def __init__(
        self,
        source: BinaryIO | Readable,
        size: int,
        *,
        algorithms: tuple[str, ...] = (),
        whole: bool = True,
        expect_sha256: str | None = None,
        advance: ByteCallback | None = None,
        what: str = "the source",
        bucket: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__()
        self._source = source
        self.size = size
        self._hashes = _Hashes((*algorithms, "sha256") if whole else algorithms)
        self._expect = expect_sha256
        self._advance = advance
        self._what, self._bucket, self._key = what, bucket, key
        self._pos = 0  # where the next read starts
        self._hashed = 0  # bytes fed to the digests
        self._gap = False
        self._checked = False

    # io.RawIOBase protocol ------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        seekable = getattr(self._source, "seekable", None)
        return bool(seekable and seekable())

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            offset += self.size
        if offset != self._pos:
            if not self.seekable():
                raise io.UnsupportedOperation("the source stream cannot seek (retry the whole transfer)")
            self._source.seek(offset)  # type: ignore[union-attr]
            self._pos = offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = max(0, self.size - self._pos)
        data = self._source.read(n) if n else b""
        self._take(bytes(data) if not isinstance(data, bytes) else data)
        return data

    # hashing --------------------------------------------------------------------------------

    def _take(self, data: bytes) -> None:
        start, end = self._pos, self._pos + len(data)
        self._pos = end
        if start > self._hashed:
            self._gap = True
        elif end > self._hashed:
            fresh = data[self._hashed - start :] if self._hashed > start else data
            self._hashes.update(fresh)
            self._hashed = end
            if self._advance is not None:
                self._advance(len(fresh))
        if self._hashed >= self.size and not self._checked and not self._gap:
            self._checked = True
            actual = self._hashes.hexdigest() if self._expect is not None else ""
            if self._expect is not None and actual != self._expect:
                raise mismatch(self._what, actual, self._expect, bucket=self._bucket, key=self._key)

    @property
    def complete(self) -> bool:
        """Every byte was hashed exactly once, in order."""
        return not self._gap and self._hashed == self.size

    def sha256(self) -> str | None:
        """The sha256 of what was read (None when it was not computed: ``whole`` False)."""
        return self._hashes.hexdigest() if "sha256" in self._hashes.objects else None

    def digest(self, algorithm: str) -> bytes:
        return self._hashes.digest(algorithm)


def read_exact(source: BinaryIO | Readable, n: int) -> bytes:
    """``n`` bytes from ``source`` (fewer only at its end)."""
    chunks: list[bytes] = []
    remaining = n
    while remaining > 0:
        chunk = source.read(remaining)
        if not chunk:
            break
        chunks.append(bytes(chunk))
        remaining -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class RangedReader(io.RawIOBase):
    """An object of ``size`` bytes as a sequential stream, its ranges fetched ahead by ``workers`` threads.

    ``fetch(start, length)`` returns those bytes of the object (a ranged GET). At most
    ``workers`` ranges of ``part_size`` are held at once, so memory stays bounded whatever the
    size. A short range is an error (the object changed under us). Close it (or use ``with``)
    to stop the threads.
    """

    def __init__(
        self, fetch: RangeFetch, size: int, *, part_size: int = 8 * 1024 * 1024, workers: int = 8, what: str = ""
    ) -> None:
        super().__init__()
        if part_size < 1:
            raise ValueError("part_size must be >= 1")
        self._fetch, self.size, self.part_size = fetch, size, part_size
        self._what = what
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ranged-get")
        self._window = max(1, workers)
        self._pending: deque[tuple[int, int, Future[bytes]]] = deque()
        self._next = 0  # the first byte not requested yet
        self._current = memoryview(b"")
        self._pos = 0
        self._lock = threading.Lock()

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def _fill(self) -> None:
        while len(self._pending) < self._window and self._next < self.size:
            length = min(self.part_size, self.size - self._next)
            self._pending.append((self._next, length, self._pool.submit(self._fetch, self._next, length)))
            self._next += length

    def _advance_part(self) -> bool:
        with self._lock:
            self._fill()
            if not self._pending:
                return False
            start, length, future = self._pending.popleft()
            self._fill()
        data = future.result()
        if len(data) != length:
            raise StoreError(
                f"{self._what or 'the object'}: got {len(data)} bytes for the range at {start} of {length}; "
                "the object changed while it was read: run again"
            )
        self._current = memoryview(data)
        return True

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.size - self._pos
        out: list[bytes] = []
        while n > 0:
            if not self._current and not self._advance_part():
                break
            take = self._current[:n]
            self._current = self._current[len(take) :]
            out.append(take.tobytes())
            n -= len(take)
            self._pos += len(take)
        return out[0] if len(out) == 1 else b"".join(out)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        for _, _, future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        super().close()


def write_verified(
    reader: BinaryIO | Readable, path: Path, size: int, *, advance: ByteCallback | None = None, chunk: int = 1 << 20
) -> str:
    """Copy ``size`` bytes of ``reader`` into ``path``; the sha256 of what was written (hashed as it went)."""
    sha = hashlib.sha256()
    written = 0
    with open(path, "wb") as fh:
        while written < size:
            data = reader.read(min(chunk, size - written))
            if not data:
                break
            fh.write(data)
            sha.update(data)
            written += len(data)
            if advance is not None:
                advance(len(data))
    if written != size:
        raise StoreError(f"{str(path)!r}: got {written} bytes, the object has {size}")
    return sha.hexdigest()


__all__ = [
    "DigestMismatch",
    "HashingReader",
    "RangedReader",
    "Sent",
    "StreamPut",
    "mismatch",
    "new_digest",
    "read_exact",
    "write_verified",
]
