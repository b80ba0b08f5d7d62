"""Amazon S3 and S3-compatible servers (MinIO, moto) as the model repository store, with boto3.

Uploads read each file once. Below a threshold (64 MiB) a file is one PutObject whose body
streams from the file, with the claimed sha256 as its checksum: S3 checks the whole body against
it, and the reply's checksum verifies the object. Above it one thread reads the file part by part
in order, feeding the file's sha256 (checked against the claimed one before the upload is
completed), while a pool of threads hashes and sends the parts, each with its SHA256 checksum,
so the server validates every part as it arrives and reports a composite SHA256 that ``verify``
compares with the digests the upload computed. Copies within one service are server-side (CopyObject, or
UploadPartCopy above 5 GiB); downloads are parallel ranged GETs.
A custom ``endpoint_url`` switches to path-style addressing (MinIO, moto, on-prem servers).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.stores.base import (
    SHA256_METADATA,
    ByteCallback,
    ObjectInfo,
    ObjectStore,
    b64,
    composite_digest,
    part_digests,
)
from triton_platform.publisher.stores.credentials import s3_session
from triton_platform.publisher.stores.ref import StoreRef
from triton_platform.publisher.stores.transfer import HashingReader, Readable, Sent, StreamPut, mismatch, read_exact

MiB = 1024 * 1024
GiB = 1024 * MiB
# S3's limits: at most 10,000 parts; CopyObject copies at most 5 GiB, larger objects go as UploadPartCopy.
MAX_PARTS = 10_000
COPY_OBJECT_LIMIT = 5 * GiB
_PARTS_SUFFIX = re.compile(r"-(\d+)$")
_MISSING = {"404", "NoSuchKey", "NotFound"}
_NO_BUCKET = {"NoSuchBucket"}
_DENIED = {"403", "AccessDenied", "AllAccessDisabled", "AccountProblem"}
_BAD_DIGEST = {"BadDigest", "InvalidDigest", "XAmzContentChecksumMismatch"}
_BAD_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}


@dataclass(frozen=True)
class S3TransferSettings:
    """boto3 TransferConfig knobs, tuned with bench/publish_throughput.py (see bench/README.md).

    A file below ``multipart_threshold`` goes up as one PutObject streamed from the file (S3's
    single PUT takes up to 5 GiB): one request where a multipart upload of 8 MiB parts takes 9
    for a 50 MiB model (create, 7 parts, complete; and a HeadObject after it where the complete
    reply lacks the checksum, as moto's does), and about 28% less server CPU (moto: 0.31 s
    against 0.43 s for 50 MiB). Above it, 8 MiB parts measured cheapest for the
    server (moto: 25-30% less server CPU than 32 MiB parts, same wall time) and match awscli's;
    all files being published share one pool of ``max_concurrency`` part senders.
    """

    multipart_threshold: int = 64 * MiB
    multipart_chunksize: int = 8 * MiB
    max_concurrency: int = 10
    use_threads: bool = True

    def part_size(self, size: int) -> int:
        """The part size for ``size`` bytes: the chunk size, raised (whole MiB) to stay within 10,000 parts."""
        needed = -(-size // MAX_PARTS)
        return max(self.multipart_chunksize, -(-needed // MiB) * MiB)

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
        # Objects above this are copied as a multipart upload of UploadPartCopy ranges (tests lower it).
        self.copy_object_limit = COPY_OBJECT_LIMIT
        self.copy_part_size = 512 * MiB

    @property
    def _client(self) -> Any:
        # Created on first use, inside the process that uses it (dynamic providers are pickled), and
        # shared with every store of the process that reaches the same endpoint the same way: the
        # provider host publishes many models in one `pulumi up`, and a new client costs ~0.15 s.
        with self._client_lock:
            if self._client_obj is None:
                key = _client_key(self.ref, self.transfer.max_concurrency, self.max_attempts)
                with _CLIENTS_LOCK:
                    client = _CLIENTS.get(key)
                    if client is None:
                        client = _CLIENTS[key] = self._new_client()
                self._client_obj = client
            return self._client_obj

    def _new_client(self) -> Any:
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
            # Room for several publishes at once (the provider host runs 4), each with its part senders.
            max_pool_connections=4 * max(10, self.transfer.max_concurrency + 2),
            retries={"mode": "standard", "max_attempts": self.max_attempts},
            connect_timeout=10,
            read_timeout=120,
            # Checksums are requested explicitly (SHA256) where they matter.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = s3_session(self.ref)
        return session.client("s3", endpoint_url=self.ref.endpoint_url, config=config)

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
        if code in _BAD_DIGEST:
            # S3 compared the body with its x-amz-checksum-sha256 and kept nothing.
            return self.error(
                f"{op}: the bytes the server received do not hash to the sha256 sent ({code}); the file changed "
                "or was corrupted on the way, nothing was stored: run again",
                key=key,
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

    def _put_stream(self, key: str, stream: Readable, put: StreamPut) -> Sent:
        seekable = getattr(stream, "seekable", None)
        if put.size < self.transfer.multipart_threshold and seekable is not None and seekable():
            return self._put_streamed(key, stream, put)
        if put.size < self.transfer.multipart_chunksize:
            return self._put_single(key, stream, put)
        # One pool of part senders per process and endpoint: the parts of every file being published
        # (several files of a version, several models the provider host publishes at once) share its
        # threads and connections, so the link stays busy and the memory bound holds for them all.
        pool_key = _client_key(self.ref, self.transfer.max_concurrency, self.max_attempts)
        with _CLIENTS_LOCK:
            pool = _POOLS.get(pool_key)
            if pool is None:
                pool = _POOLS[pool_key] = _PartPool(self.transfer.max_concurrency, self.file_concurrency)
        return self._put_multipart(key, stream, pool, put)

    def _put_streamed(self, key: str, stream: Readable, put: StreamPut) -> Sent:
        """One PutObject whose body streams from a file (seekable, so botocore can retry it).

        Its ``x-amz-checksum-sha256`` is the claimed sha256, which S3 checks against the whole body
        before it keeps the object (a mismatch is refused with BadDigest); the reply carries the
        checksum kept, which verifies the object without a HeadObject. Unless the claim is the
        hash cache's for this very file, the stream is hashed on the way too, and bytes that differ
        fail the request at its last byte (DigestMismatch) before the server could commit them.
        Memory stays flat: no part is held.
        """
        body = _OneShotBody(
            stream,
            put.size,
            whole=not put.trusted,
            expect_sha256=None if put.trusted else put.sha256,
            advance=put.advance,
            what=put.what,
            bucket=self.bucket,
            key=key,
        )
        claim = b64(bytes.fromhex(put.sha256))
        try:
            with self._errors(key):
                reply = self._client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentLength=put.size,
                    Metadata={SHA256_METADATA: put.sha256},
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=claim,
                )
        except _BodyFailed as failed:
            raise failed.error from None
        if not body.complete:
            return Sent(put.size, put.sha256)  # a retry re-read past a gap: verified the slow way
        stored = self._replied(key, put.size, put.sha256, reply)
        return Sent(put.size, body.sha256() or put.sha256, claim, "sha256", stored=stored)

    def _put_single(self, key: str, stream: Readable, put: StreamPut) -> Sent:
        # A small part of a stream from another store (not seekable): held in memory, one PutObject.
        data = read_exact(stream, put.size)
        if len(data) != put.size:
            raise self.error(f"{put.what} ended after {len(data)} of {put.size} bytes; run again", key=key)
        digest = hashlib.sha256(data).digest()  # the request's checksum: the whole file's sha256 comes free
        if digest.hex() != put.sha256:
            raise mismatch(put.what, digest.hex(), put.sha256, bucket=self.bucket, key=key)
        with self._errors(key):
            reply = self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                Metadata={SHA256_METADATA: put.sha256},
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=b64(digest),
            )
        put.advance(put.size)
        return Sent(put.size, put.sha256, b64(digest), "sha256", stored=self._replied(key, put.size, put.sha256, reply))

    def _put_multipart(self, key: str, stream: Readable, pool: _PartPool, put: StreamPut) -> Sent:
        with self._errors(key):
            upload_id = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=key, Metadata={SHA256_METADATA: put.sha256}, ChecksumAlgorithm="SHA256"
            )["UploadId"]
        try:
            send = _PartSender(self, key, upload_id, put.advance)
            # A trusted fingerprint is not hashed whole again; else the whole sha256 is checked before completing.
            check = None if put.trusted else put.sha256
            size = put.size
            digests = pool.send_all(stream, size, self.transfer.part_size(size), send, sha256=check, what=put.what)
            parts = [
                {"PartNumber": n, "ETag": etag, "ChecksumSHA256": b64(digest)}
                for n, (digest, etag) in enumerate(digests, start=1)
            ]
            with self._errors(key):
                reply = self._client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
        except BaseException:
            # Ctrl-C, a failed part or bytes that are not the claimed ones: nothing may stay behind.
            with contextlib.suppress(Exception):
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        composite = b64(composite_digest([d for d, _ in digests], "sha256"))
        # S3 answers with the composite it computed from the parts (ChecksumType COMPOSITE,
        # API Reference: CompleteMultipartUpload); moto does not, and verify asks with a HeadObject.
        stored = self._replied(key, put.size, put.sha256, reply) if reply.get("ChecksumType") == "COMPOSITE" else None
        return Sent(put.size, put.sha256, composite, "sha256-composite", len(digests), stored=stored)

    def _get_stream(self, key: str) -> Readable:
        with self._errors(key):
            return self._client.get_object(Bucket=self.bucket, Key=key)["Body"]

    def _get_range(self, key: str, start: int, length: int) -> bytes:
        with self._errors(key):
            reply = self._client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{start + length - 1}")
            return bytes(reply["Body"].read())

    # --- server-side copies ----------------------------------------------------------------------

    def same_service(self, other: ObjectStore) -> bool:
        # One endpoint, one credential chain: the server reads the source with the same identity.
        return (
            isinstance(other, S3Store)
            and other.ref.endpoint_url == self.ref.endpoint_url
            and other.ref.credentials == self.ref.credentials
        )

    def _server_copy(self, source: ObjectStore, source_key: str, key: str, *, size: int, sha256: str) -> None:
        copy_source = {"Bucket": source.bucket, "Key": source_key}
        if size <= self.copy_object_limit:
            # ChecksumAlgorithm: the server recomputes the SHA256 of what it copied, which verify checks.
            with self._errors(key):
                self._client.copy_object(
                    Bucket=self.bucket,
                    Key=key,
                    CopySource=copy_source,
                    MetadataDirective="COPY",
                    ChecksumAlgorithm="SHA256",
                )
            return
        with self._errors(key):
            upload_id = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=key, Metadata={SHA256_METADATA: sha256}, ChecksumAlgorithm="SHA256"
            )["UploadId"]
        try:
            self._copy_parts(copy_source, key, upload_id, size)
        except BaseException:
            with contextlib.suppress(Exception):
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise

    def _copy_parts(self, copy_source: dict[str, str], key: str, upload_id: str, size: int) -> None:
        part = max(self.copy_part_size, -(-size // MAX_PARTS))
        ranges = [(n, start, min(start + part, size) - 1) for n, start in enumerate(range(0, size, part), start=1)]

        def copy(item: tuple[int, int, int]) -> dict[str, Any]:
            number, first, last = item
            with self._errors(key):
                reply = self._client.upload_part_copy(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource=copy_source,
                    CopySourceRange=f"bytes={first}-{last}",
                )
            result = reply["CopyPartResult"]
            entry = {"PartNumber": number, "ETag": result["ETag"]}
            if result.get("ChecksumSHA256"):
                entry["ChecksumSHA256"] = result["ChecksumSHA256"]
            return entry

        with ThreadPoolExecutor(max_workers=min(self.transfer.max_concurrency, len(ranges))) as pool:
            parts = list(pool.map(copy, ranges))
        with self._errors(key):
            self._client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )

    def _sent_checksum(self, info: ObjectInfo, sent: Sent) -> str | None:
        if info.checksum_algorithm != sent.algorithm or sent.checksum is None:
            return None
        if sent.algorithm == "sha256-composite" and info.checksum and _PARTS_SUFFIX.search(info.checksum):
            return f"{sent.checksum}-{sent.parts}"  # AWS writes the part count after a composite
        return sent.checksum

    def _put_bytes(self, key: str, data: bytes, *, sha256: str, content_type: str) -> ObjectInfo | None:
        # S3 checks the body against x-amz-checksum-sha256 and answers with the checksum it kept:
        # the reply verifies the object, no HeadObject needed (base.upload_bytes).
        with self._errors(key):
            reply = self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                Metadata={SHA256_METADATA: sha256},
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=b64(bytes.fromhex(sha256)),
            )
        return self._replied(key, len(data), sha256, reply)

    def _replied(self, key: str, size: int, sha256: str, reply: Mapping[str, Any]) -> ObjectInfo | None:
        """The object a PutObject (or CompleteMultipartUpload) reply describes, when it carries the SHA256
        the server kept (else None): ``size`` and ``sha256`` are what was sent with the checksum the server checked.
        """
        checksum = reply.get("ChecksumSHA256")
        if not checksum:
            return None
        multipart = reply.get("ChecksumType") == "COMPOSITE"
        return ObjectInfo(
            key=key,
            size=size,
            sha256=sha256,
            etag=str(reply.get("ETag", "")).strip('"') or None,
            checksum=str(checksum),
            checksum_algorithm="sha256-composite" if multipart else "sha256",
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


# Clients shared by the stores of one process; keyed by where and how they connect, and by a digest
# of the credential environment (never the values), so a changed environment gets a new client.
_CLIENTS: dict[tuple[str, ...], Any] = {}
_POOLS: dict[tuple[str, ...], _PartPool] = {}
_CLIENTS_LOCK = threading.Lock()
_CREDENTIAL_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_EC2_METADATA_DISABLED",
)


def _client_key(ref: StoreRef, concurrency: int, attempts: int) -> tuple[str, ...]:
    env = hashlib.sha256("\0".join(os.environ.get(name, "") for name in _CREDENTIAL_ENV).encode()).hexdigest()
    where = (ref.endpoint_url or "", ref.region or "", ref.credentials.model_dump_json())
    return (*where, str(concurrency), str(attempts), env)


class _BodyFailed(BaseException):
    """An error raised while botocore read a request body, carried past botocore to the caller.

    botocore takes any Exception raised while sending for a lost connection (HTTPClientError)
    and sends the body again; bytes that are not the claimed ones, or a source that fails, must
    end the upload instead. (A connection that drops while sending is still retried.)
    """

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class _OneShotBody(HashingReader):
    """A request body of exactly ``size`` bytes whose read errors stop the request instead of retrying it.

    http.client sends what ``read`` returns until it returns nothing, whatever the Content-Length:
    reads stop at ``size`` (a file that grew), and a source that ends early is an error at once
    (a file that shrank), not a request the server waits on until it times out.
    """

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.tell()
        want = left if n is None or n < 0 else min(n, left)
        try:
            data = super().read(want)
            if want > 0 and not data:
                raise StoreError(
                    f"{self._what} ended after {self.tell()} of {self.size} bytes; run again",
                    bucket=self._bucket,
                    key=self._key,
                )
            return data
        except Exception as exc:
            raise _BodyFailed(exc) from exc


class _PartSender:
    """Sends one part of one multipart upload (in a pool thread): its SHA256, then UploadPart with it."""

    def __init__(self, store: S3Store, key: str, upload_id: str, advance: ByteCallback) -> None:
        self.store, self.key, self.upload_id, self.advance = store, key, upload_id, advance

    def __call__(self, number: int, data: bytes) -> tuple[bytes, str]:
        digest = hashlib.sha256(data).digest()
        with self.store._errors(self.key):
            reply = self.store._client.upload_part(
                Bucket=self.store.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=data,
                ChecksumSHA256=b64(digest),
            )
        self.advance(len(data))
        return digest, str(reply["ETag"])


class _PartPool:
    """Threads sending parts, and a bound on the parts read but not yet sent (the upload's memory).

    ``senders`` threads send; each file being read may hold one more part while it waits, so at
    most ``senders + readers`` parts are in memory at once, whatever the files' sizes.
    """

    def __init__(self, senders: int, readers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, senders), thread_name_prefix="s3-part")
        self._slots = threading.BoundedSemaphore(max(1, senders) + max(1, readers))

    def _submit(self, send: _PartSender, number: int, data: bytes) -> Future[tuple[bytes, str]]:
        def run() -> tuple[bytes, str]:
            try:
                return send(number, data)
            finally:
                self._slots.release()

        return self._pool.submit(run)

    def send_all(
        self, stream: Readable, size: int, part_size: int, send: _PartSender, *, sha256: str | None, what: str
    ) -> list[tuple[bytes, str]]:
        """Read ``stream`` once, in order, into parts that ``send`` uploads; their (sha256, ETag) in order.

        With ``sha256``, the whole stream's sha256 is computed on the way and must be it, else
        nothing is completed (DigestMismatch). The first failed part stops the reading and is raised.
        """
        store, whole = send.store, hashlib.sha256() if sha256 is not None else None
        futures: list[Future[tuple[bytes, str]]] = []
        offset = 0
        try:
            for number in range(1, -(-size // part_size) + 1):
                self._slots.acquire()
                if any(f.done() and f.exception() is not None for f in futures):
                    self._slots.release()
                    break
                want = min(part_size, size - offset)
                data = read_exact(stream, want)
                if len(data) != want:
                    self._slots.release()
                    raise store.error(f"{what} ended after {offset + len(data)} of {size} bytes", key=send.key)
                if whole is not None:
                    whole.update(data)
                offset += want
                futures.append(self._submit(send, number, data))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        wait(futures)
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error
        if whole is not None and sha256 is not None and whole.hexdigest() != sha256:
            raise mismatch(what, whole.hexdigest(), sha256, bucket=store.bucket, key=send.key)
        return [f.result() for f in futures]
