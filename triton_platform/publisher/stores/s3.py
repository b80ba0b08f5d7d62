"""Amazon S3 and S3-compatible servers (MinIO, moto) as the model repository store, with boto3.

Uploads go through boto3's transfer manager (parallel multipart above a threshold) with a
SHA256 checksum per request, so the server validates every part as it arrives and reports a
whole-object (or composite, for multipart) SHA256 that ``verify`` recomputes locally.
A custom ``endpoint_url`` switches to path-style addressing (MinIO, moto, on-prem servers).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.stores.base import (
    SHA256_METADATA,
    ByteCallback,
    ObjectInfo,
    ObjectStore,
    PutItem,
    StoreRef,
    b64,
    composite_digest,
    part_digests,
)
from triton_platform.publisher.stores.credentials import s3_session

MiB = 1024 * 1024
_PARTS_SUFFIX = re.compile(r"-(\d+)$")
_MISSING = {"404", "NoSuchKey", "NotFound"}
_NO_BUCKET = {"NoSuchBucket"}
_DENIED = {"403", "AccessDenied", "AllAccessDisabled", "AccountProblem"}
_BAD_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}


@dataclass(frozen=True)
class S3TransferSettings:
    """boto3 TransferConfig knobs, tuned with bench/publish_throughput.py (see bench/README.md).

    8 MiB parts measured cheapest for the server (moto: 25-30% less server CPU than 32 MiB
    parts, same wall time) and match awscli's; all files of a version share one pool of
    ``max_concurrency`` threads, so several files upload at once.
    """

    multipart_threshold: int = 8 * MiB
    multipart_chunksize: int = 8 * MiB
    max_concurrency: int = 10
    use_threads: bool = True

    def transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=self.multipart_threshold,
            multipart_chunksize=self.multipart_chunksize,
            max_concurrency=self.max_concurrency,
            use_threads=self.use_threads,
        )


class S3Store(ObjectStore):
    """A bucket on S3 or an S3-compatible server."""

    kind = "s3"

    def __init__(self, ref: StoreRef, *, transfer: S3TransferSettings | None = None, max_attempts: int = 5) -> None:
        super().__init__(ref)
        self.transfer = transfer or S3TransferSettings()
        self.max_attempts = max_attempts
        self._client_obj: Any = None
        self._client_lock = threading.Lock()
        self._batch_lock = threading.Lock()
        self._batch_manager: Any = None

    @property
    def _client(self) -> Any:
        # Created on first use, inside the process that uses it (dynamic providers are pickled).
        with self._client_lock:
            if self._client_obj is None:
                from botocore.config import Config

                s3_options: dict[str, Any] = {
                    # Every body we send carries a signed x-amz-checksum-sha256 header that the
                    # server validates, so hashing the body a second time for the signature
                    # (what botocore does over plain http) only costs CPU.
                    "payload_signing_enabled": False,
                }
                if self.ref.endpoint_url:
                    s3_options["addressing_style"] = "path"
                config = Config(
                    s3=s3_options,
                    max_pool_connections=max(10, self.transfer.max_concurrency + 2),
                    retries={"mode": "standard", "max_attempts": self.max_attempts},
                    connect_timeout=10,
                    read_timeout=120,
                    # Checksums are requested explicitly (SHA256) where they matter.
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                )
                session = s3_session(self.ref)
                self._client_obj = session.client("s3", endpoint_url=self.ref.endpoint_url, config=config)
            return self._client_obj

    # --- errors --------------------------------------------------------------------------------

    def _store_error(self, exc: Exception, key: str | None) -> StoreError | None:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

        if isinstance(exc, ClientError):
            return self._client_error(exc, key)
        if isinstance(exc, S3UploadFailedError):
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ClientError):
                return self._client_error(cause, key)
            return self.error(f"upload failed: {exc}", key=key)
        if isinstance(exc, NoCredentialsError):
            return self.error(
                "no AWS credentials found in the environment",
                key=key,
                hint="IRSA on EKS, `aws sso login`, or AWS_PROFILE",
            )
        if isinstance(exc, EndpointConnectionError):
            return self.error(
                f"cannot connect to {self.ref.endpoint_url or 'S3'}",
                key=key,
                hint="is the endpoint (MinIO port-forward, moto) running?",
            )
        if isinstance(exc, BotoCoreError):
            # botocore messages name operations, URLs and causes, never credentials.
            return self.error(f"S3 client error: {exc}", key=key)
        return None

    def _client_error(self, exc: Any, key: str | None) -> StoreError:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        op = getattr(exc, "operation_name", "request")
        if code in _NO_BUCKET or (code in _MISSING and key is None):
            return self.missing_bucket_error(key)
        if code in _DENIED:
            return self.error(
                f"access denied ({op})",
                key=key,
                hint="grant s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on the bucket",
            )
        if code in _BAD_CREDENTIALS:
            return self.error(f"credentials rejected ({code})", key=key, hint="refresh the credentials")
        return self.error(f"{op} failed: {code or 'error'}", key=key)

    # --- operations ----------------------------------------------------------------------------

    def check(self) -> None:
        with self._errors():
            self._client.list_objects_v2(Bucket=self.bucket, Prefix=self.ref.prefix + "/", MaxKeys=1)

    def stat(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        with self._errors(key):
            try:
                head = self._client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                    return None
                raise
        etag = str(head.get("ETag", "")).strip('"') or None
        checksum = head.get("ChecksumSHA256")
        multipart = bool(etag and _PARTS_SUFFIX.search(etag)) or head.get("ChecksumType") == "COMPOSITE"
        return ObjectInfo(
            key=key,
            size=int(head["ContentLength"]),
            sha256=(head.get("Metadata") or {}).get(SHA256_METADATA),
            etag=etag,
            checksum=checksum,
            checksum_algorithm=None if checksum is None else ("sha256-composite" if multipart else "sha256"),
            last_modified=head.get("LastModified"),
        )

    def list(self, prefix: str) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        with self._errors():
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for obj in page.get("Contents", []):
                    found.append(
                        ObjectInfo(
                            key=obj["Key"],
                            size=int(obj["Size"]),
                            etag=str(obj.get("ETag", "")).strip('"') or None,
                            last_modified=obj.get("LastModified"),
                        )
                    )
        return sorted(found, key=lambda o: o.key)

    def delete(self, keys: Iterable[str]) -> None:
        batch = sorted(set(keys))
        with self._errors():
            for start in range(0, len(batch), 1000):
                chunk = batch[start : start + 1000]
                reply = self._client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
                )
                failed = [e for e in reply.get("Errors", []) if e.get("Code") not in _MISSING]
                if failed:
                    detail = ", ".join(f"{e.get('Key')}: {e.get('Code')}" for e in failed[:5])
                    raise self.error(f"delete failed for {len(failed)} object(s): {detail}")

    def read_bytes(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        with self._errors(key):
            try:
                reply = self._client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                    return None
                raise
            return bytes(reply["Body"].read())

    def _put_files(self, items: Sequence[PutItem]) -> None:
        # One transfer manager for the whole batch: the files' parts share one pool of threads
        # and connections, so small files do not wait for large ones and the link stays busy.
        # _put_file (run per file by the base class) submits to it.
        with self._batch_lock:
            self._batch_manager = self._transfer_manager()
            try:
                super()._put_files(items)
            except BaseException:
                self._batch_manager.shutdown(cancel=True)  # Ctrl-C: abort the multipart uploads
                raise
            else:
                self._batch_manager.shutdown()
            finally:
                self._batch_manager = None

    def _put_file(self, key: str, path: Path, *, size: int, sha256: str, advance: ByteCallback) -> None:
        from boto3.s3.transfer import ProgressCallbackInvoker

        shared = self._batch_manager
        manager = shared if shared is not None else self._transfer_manager()
        try:
            future = manager.upload(
                str(path),
                self.bucket,
                key,
                extra_args={"Metadata": {SHA256_METADATA: sha256}, "ChecksumAlgorithm": "SHA256"},
                subscribers=[ProgressCallbackInvoker(advance)],
            )
            with self._errors(key):
                future.result()
        except BaseException:
            if shared is None:
                manager.shutdown(cancel=True)
            raise
        if shared is None:
            manager.shutdown()

    def _transfer_manager(self) -> Any:
        from boto3.s3.transfer import create_transfer_manager

        return create_transfer_manager(self._client, self.transfer.transfer_config())

    def _put_bytes(self, key: str, data: bytes, *, sha256: str, content_type: str) -> None:
        with self._errors(key):
            self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                Metadata={SHA256_METADATA: sha256},
                ChecksumAlgorithm="SHA256",
            )

    def _get_file(self, key: str, path: Path, *, advance: ByteCallback) -> None:
        with self._errors(key):
            self._client.download_file(
                self.bucket, key, str(path), Callback=advance, Config=self.transfer.transfer_config()
            )

    def _expected_checksum(self, info: ObjectInfo, source: Path | bytes, sha256: str) -> str | None:
        if info.checksum_algorithm == "sha256":
            return b64(bytes.fromhex(sha256))
        if info.checksum_algorithm != "sha256-composite" or info.checksum is None:
            return None  # the server computed no SHA256: size and metadata only
        # Composite: sha256 over the parts' sha256s; the first part's size gives the split.
        with self._errors(info.key):
            first = self._client.head_object(Bucket=self.bucket, Key=info.key, PartNumber=1)
        part_size = int(first["ContentLength"])
        parts = part_digests(source, "sha256", part_size) if part_size > 0 else []
        value = b64(composite_digest(parts, "sha256"))
        suffix = _PARTS_SUFFIX.search(info.checksum)
        return f"{value}-{len(parts)}" if suffix else value
