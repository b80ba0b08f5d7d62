"""Google Cloud Storage as the model repository store, with google-cloud-storage.

Large files go up as resumable uploads in big chunks with a CRC32C the library checks against
the server's; the file is read once, through a reader that computes its CRC32C and sha256 as the
library reads it (and refuses, before the last chunk is sent, bytes that do not hash to the
claimed sha256), and ``verify`` compares the server's CRC32C with that one. Copies between two
buckets of the service are rewrites on the server; downloads are parallel ranged GETs.
``STORAGE_EMULATOR_HOST`` (the GCS emulator) is honoured by the client library itself.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.stores.base import SHA256_METADATA, ByteCallback, ObjectInfo, ObjectStore, b64, digest
from triton_platform.publisher.stores.credentials import gcs_client
from triton_platform.publisher.stores.ref import StoreRef
from triton_platform.publisher.stores.transfer import Readable, Sent, StreamPut

MiB = 1024 * 1024


class _CountingWriter:
    def __init__(self, fh: IO[bytes], advance: ByteCallback) -> None:
        self._fh = fh
        self._advance = advance

    def write(self, data: bytes) -> int:
        n = self._fh.write(data)
        self._advance(len(data))
        return n

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


class GcsStore(ObjectStore):
    """A GCS bucket (or the GCS emulator's)."""

    kind = "gcs"

    def __init__(self, ref: StoreRef, *, chunk_size: int = 32 * MiB) -> None:
        super().__init__(ref)
        if chunk_size % (256 * 1024):
            raise ValueError("chunk_size must be a multiple of 256 KiB (a GCS resumable-upload rule)")
        self.chunk_size = chunk_size
        self._client_obj: Any = None
        self._client_lock = threading.Lock()

    @property
    def _client(self) -> Any:
        with self._client_lock:
            if self._client_obj is None:
                self._client_obj = gcs_client(self.ref)
            return self._client_obj

    @property
    def _bucket(self) -> Any:
        return self._client.bucket(self.bucket)

    def _store_error(self, exc: Exception, key: str | None) -> StoreError | None:
        from google.api_core import exceptions as gexc
        from google.auth.exceptions import GoogleAuthError
        from google.resumable_media.common import DataCorruption
        from requests.exceptions import ConnectionError as RequestsConnectionError

        if isinstance(exc, gexc.NotFound):
            if key is None or "bucket" in str(exc.message).lower():
                return self.missing_bucket_error(key)
            return self.error("object does not exist", key=key)
        if isinstance(exc, gexc.Forbidden | gexc.Unauthorized):
            return self.error(
                f"access denied (HTTP {exc.code})",
                key=key,
                hint="grant roles/storage.objectAdmin on the bucket to the publisher's identity",
            )
        if isinstance(exc, DataCorruption):
            return self.error("crc32c mismatch reported during transfer; run again", key=key)
        if isinstance(exc, gexc.GoogleAPICallError):
            return self.error(f"GCS request failed: HTTP {exc.code}", key=key)
        if isinstance(exc, GoogleAuthError):
            return self.error(f"Google credentials failed: {type(exc).__name__}", key=key)
        if isinstance(exc, RequestsConnectionError):
            return self.error("cannot connect to GCS", key=key, hint="is STORAGE_EMULATOR_HOST right?")
        return None

    def _info(self, blob: Any) -> ObjectInfo:
        return ObjectInfo(
            key=blob.name,
            size=int(blob.size or 0),
            sha256=(blob.metadata or {}).get(SHA256_METADATA),
            etag=blob.etag,
            checksum=blob.crc32c,
            checksum_algorithm="crc32c" if blob.crc32c else None,
            last_modified=blob.updated,
        )

    def check(self) -> None:
        with self._errors():
            for _ in self._client.list_blobs(self.bucket, prefix=self.ref.prefix + "/", max_results=1):
                break

    def stat(self, key: str) -> ObjectInfo | None:
        with self._errors(key):
            blob = self._bucket.get_blob(key)
        return None if blob is None else self._info(blob)

    def list(self, prefix: str) -> list[ObjectInfo]:
        with self._errors():
            return sorted(
                (self._info(b) for b in self._client.list_blobs(self.bucket, prefix=prefix)), key=lambda o: o.key
            )

    def delete(self, keys: Iterable[str]) -> None:
        from google.api_core.exceptions import NotFound

        bucket = self._bucket
        for key in sorted(set(keys)):
            with self._errors(key), contextlib.suppress(NotFound):
                bucket.delete_blob(key)

    def read_bytes(self, key: str) -> bytes | None:
        from google.api_core.exceptions import NotFound

        with self._errors(key):
            try:
                return bytes(self._bucket.blob(key).download_as_bytes())
            except NotFound:
                return None

    def _put_stream(self, key: str, stream: Readable, put: StreamPut) -> Sent:
        blob = self._bucket.blob(key, chunk_size=self.chunk_size)
        blob.metadata = {SHA256_METADATA: put.sha256}
        reader = put.reader(stream, "crc32c", bucket=self.bucket, key=key)
        with self._errors(key):
            blob.upload_from_file(reader, size=put.size, content_type="application/octet-stream", checksum="crc32c")
        return put.sent(reader, "crc32c")

    def _get_range(self, key: str, start: int, length: int) -> bytes:
        with self._errors(key):
            return bytes(self._bucket.blob(key).download_as_bytes(start=start, end=start + length - 1, checksum=None))

    def same_service(self, other: ObjectStore) -> bool:
        return isinstance(other, GcsStore) and other.ref.credentials == self.ref.credentials

    def _server_copy(self, source: ObjectStore, source_key: str, key: str, *, size: int, sha256: str) -> None:
        # A rewrite copies on the server (across locations and storage classes too), in as many calls as
        # it needs; the destination takes the source's metadata (our sha256) and CRC32C.
        src = self._client.bucket(source.bucket).blob(source_key)
        dst = self._bucket.blob(key)
        with self._errors(key):
            token, _, _ = dst.rewrite(src)
            while token is not None:
                token, _, _ = dst.rewrite(src, token=token)

    def _put_bytes(self, key: str, data: bytes, *, sha256: str, content_type: str) -> ObjectInfo | None:
        blob = self._bucket.blob(key)
        blob.metadata = {SHA256_METADATA: sha256}
        with self._errors(key):
            blob.upload_from_string(data, content_type=content_type, checksum="crc32c")
        # The upload's reply is the object's resource (size, metadata, the CRC32C the server computed).
        return self._info(blob) if blob.crc32c and blob.size is not None else None

    def _get_file(self, key: str, path: Path, *, advance: ByteCallback) -> None:
        blob = self._bucket.blob(key, chunk_size=self.chunk_size)
        with self._errors(key), open(path, "wb") as fh:
            blob.download_to_file(_CountingWriter(fh, advance), checksum="crc32c")

    def _expected_checksum(self, info: ObjectInfo, source: Path | bytes, sha256: str) -> str | None:
        if info.checksum_algorithm != "crc32c":
            return None
        return b64(digest(source, "crc32c"))
