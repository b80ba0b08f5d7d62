"""Azure Blob Storage (and Azurite) as the model repository store, with azure-storage-blob.

Files up to ``max_single_put_size`` go up in one Put Blob, for which the service computes a
Content-MD5 that ``verify`` compares with the local bytes. Larger files go up as parallel
blocks with a transactional MD5 per block (``validate_content``), which the service checks as
each block arrives; Azure keeps no whole-object hash of a block list, so there ``verify``
checks size and the recorded sha256 only. Either way the file is read once, through a reader
that computes its MD5 and sha256 as the SDK reads it and refuses, before the blob is committed,
bytes that do not hash to the claimed sha256. Copies within one storage account are Copy Blob
on the service (``start_copy_from_url``, authorized by the same credential); downloads are
parallel ranged GETs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.stores.base import SHA256_METADATA, ByteCallback, ObjectInfo, ObjectStore, b64, digest
from triton_platform.publisher.stores.credentials import azure_service_client
from triton_platform.publisher.stores.ref import StoreRef
from triton_platform.publisher.stores.transfer import Readable, Sent, StreamPut

MiB = 1024 * 1024
# How long a server-side copy may stay pending (Copy Blob is asynchronous for large blobs).
COPY_TIMEOUT_S = 6 * 3600


def _code(exc: BaseException) -> str | None:
    # azure-storage-blob attaches the service's error code to the exceptions it raises.
    code = getattr(exc, "error_code", None)
    return None if code is None else str(code)


class _HookToAdvance:
    """Adapts the SDK's cumulative ``progress_hook(current, total)`` to byte deltas."""

    def __init__(self, advance: ByteCallback) -> None:
        self._advance = advance
        self._seen = 0
        self._lock = threading.Lock()

    def __call__(self, current: int, total: int | None) -> None:
        with self._lock:
            delta, self._seen = current - self._seen, current
        if delta:
            self._advance(delta)


class AzureBlobStore(ObjectStore):
    """One container of a storage account (or Azurite's)."""

    kind = "azure"
    bucket_noun = "container"

    def __init__(
        self,
        ref: StoreRef,
        *,
        max_concurrency: int = 8,
        max_single_put_size: int = 64 * MiB,
        max_block_size: int = 16 * MiB,
    ) -> None:
        super().__init__(ref)
        self.max_concurrency = max_concurrency
        self._client_kwargs = {
            "max_single_put_size": max_single_put_size,
            "max_block_size": max_block_size,
            "max_single_get_size": 32 * MiB,
            "max_chunk_get_size": 16 * MiB,
        }
        self._service_obj: Any = None
        self._client_lock = threading.Lock()

    def _service(self) -> Any:
        with self._client_lock:
            if self._service_obj is None:
                self._service_obj = azure_service_client(self.ref, **self._client_kwargs)
            return self._service_obj

    @property
    def _container(self) -> Any:
        return self._service().get_container_client(self.bucket)

    def _store_error(self, exc: Exception, key: str | None) -> StoreError | None:
        from azure.core import exceptions as aexc

        if isinstance(exc, aexc.ResourceNotFoundError):
            if key is None or _code(exc) == "ContainerNotFound":
                return self.missing_bucket_error(key)
            return self.error("blob does not exist", key=key)
        if isinstance(exc, aexc.ClientAuthenticationError):
            return self.error(
                f"authentication failed ({_code(exc) or exc.status_code})",
                key=key,
                hint="`az login`, or AKS Workload Identity with the 'Storage Blob Data Contributor' role",
            )
        if isinstance(exc, aexc.HttpResponseError):
            if exc.status_code == 403:
                return self.error(
                    f"access denied ({_code(exc)})",
                    key=key,
                    hint="assign 'Storage Blob Data Contributor' on the container to the publisher's identity",
                )
            if _code(exc) in ("Md5Mismatch", "InvalidMd5", "Crc64Mismatch"):
                return self.error(f"the service rejected a corrupted block ({_code(exc)}); run again", key=key)
            return self.error(f"Azure request failed: HTTP {exc.status_code} {_code(exc)}", key=key)
        if isinstance(exc, aexc.ServiceRequestError):
            return self.error(f"cannot connect to {self.ref.account_url}", key=key)
        if isinstance(exc, aexc.AzureError):
            return self.error(f"Azure client error: {type(exc).__name__}", key=key)
        return None

    @staticmethod
    def _info(key: str, props: Any) -> ObjectInfo:
        md5 = props.content_settings.content_md5 if props.content_settings else None
        return ObjectInfo(
            key=key,
            size=int(props.size),
            sha256=(props.metadata or {}).get(SHA256_METADATA),
            etag=str(props.etag).strip('"') if props.etag else None,
            checksum=b64(bytes(md5)) if md5 else None,
            checksum_algorithm="md5" if md5 else None,
            last_modified=props.last_modified,
        )

    def check(self) -> None:
        # Listing needs only the data-plane role the publisher has anyway.
        with self._errors():
            for _ in self._container.list_blobs(name_starts_with=self.ref.prefix + "/", results_per_page=1):
                break

    def stat(self, key: str) -> ObjectInfo | None:
        from azure.core.exceptions import ResourceNotFoundError

        with self._errors(key):
            try:
                props = self._container.get_blob_client(key).get_blob_properties()
            except ResourceNotFoundError as exc:
                if _code(exc) == "ContainerNotFound":
                    raise
                return None
        return self._info(key, props)

    def list(self, prefix: str) -> list[ObjectInfo]:
        with self._errors():
            blobs = self._container.list_blobs(name_starts_with=prefix, include=["metadata"])
            return sorted((self._info(b.name, b) for b in blobs), key=lambda o: o.key)

    def delete(self, keys: Iterable[str]) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        container = self._container
        for key in sorted(set(keys)):
            with self._errors(key):
                try:
                    container.delete_blob(key)
                except ResourceNotFoundError as exc:
                    if _code(exc) == "ContainerNotFound":
                        raise

    def read_bytes(self, key: str) -> bytes | None:
        from azure.core.exceptions import ResourceNotFoundError

        with self._errors(key):
            try:
                return bytes(self._container.get_blob_client(key).download_blob().readall())
            except ResourceNotFoundError as exc:
                if _code(exc) == "ContainerNotFound":
                    raise
                return None

    def _put_stream(self, key: str, stream: Readable, put: StreamPut) -> Sent:
        # validate_content: an MD5 per request that the service checks; the SDK reads the stream in order.
        reader = put.reader(stream, "md5", bucket=self.bucket, key=key, report=False)
        with self._errors(key):
            self._container.get_blob_client(key).upload_blob(
                reader,
                length=put.size,
                overwrite=True,
                metadata={SHA256_METADATA: put.sha256},
                max_concurrency=self.max_concurrency,
                validate_content=True,
                progress_hook=_HookToAdvance(put.advance),
            )
        return put.sent(reader, "md5")

    def _get_range(self, key: str, start: int, length: int) -> bytes:
        with self._errors(key):
            return bytes(self._container.get_blob_client(key).download_blob(offset=start, length=length).readall())

    def same_service(self, other: ObjectStore) -> bool:
        # Copy Blob within one account is authorized by the request's own credential; across
        # accounts the source would need a SAS, so those copies stream instead.
        return (
            isinstance(other, AzureBlobStore)
            and other.ref.account_url == self.ref.account_url
            and other.ref.credentials == self.ref.credentials
        )

    def _server_copy(self, source: ObjectStore, source_key: str, key: str, *, size: int, sha256: str) -> None:
        src_url = self._service().get_blob_client(source.bucket, source_key).url
        blob = self._container.get_blob_client(key)
        with self._errors(key):
            blob.start_copy_from_url(src_url)
            deadline = time.monotonic() + COPY_TIMEOUT_S
            delay = 0.05
            while True:
                copy = blob.get_blob_properties().copy
                if copy.status in (None, "success"):
                    return
                if copy.status != "pending" or time.monotonic() > deadline:
                    raise self.error(f"server-side copy {copy.status}: {copy.status_description}", key=key)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _put_bytes(self, key: str, data: bytes, *, sha256: str, content_type: str) -> ObjectInfo | None:
        from azure.storage.blob import ContentSettings

        with self._errors(key):
            reply = self._container.get_blob_client(key).upload_blob(
                data,
                overwrite=True,
                metadata={SHA256_METADATA: sha256},
                content_settings=ContentSettings(content_type=content_type),
                validate_content=True,
            )
        # Put Blob answers with the Content-MD5 the service computed over what it stored.
        md5 = reply.get("content_md5") if isinstance(reply, dict) else None
        if not md5:
            return None
        return ObjectInfo(key=key, size=len(data), sha256=sha256, checksum=b64(bytes(md5)), checksum_algorithm="md5")

    def _get_file(self, key: str, path: Path, *, advance: ByteCallback) -> None:
        with self._errors(key), open(path, "wb") as fh:
            downloader = self._container.get_blob_client(key).download_blob(
                max_concurrency=self.max_concurrency, progress_hook=_HookToAdvance(advance)
            )
            downloader.readinto(fh)

    def _expected_checksum(self, info: ObjectInfo, source: Path | bytes, sha256: str) -> str | None:
        if info.checksum_algorithm != "md5":
            return None
        return b64(digest(source, "md5"))
