"""Where a model's source is: a local path (resolved against the project directory) or an s3:// gs:// az:// URI.

A URI's bucket is reached like the model repository's: the same cloud as the target store uses
its endpoint (MinIO) and credentials. Used by the pipeline to fetch and fingerprint sources, and
by releases to keep a TensorRT model's ONNX. ``source_fingerprint`` (what the Pulumi program puts
in a ModelVersion's inputs) lives here rather than in the pipeline, so the program does not import
the publishing work the provider host runs (bench/program_eval.py).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from triton_platform.publisher import fingerprint
from triton_platform.publisher.errors import ModelSourceError
from triton_platform.publisher.spec import ModelSpec, is_url
from triton_platform.publisher.stores import StoreRef, open_store

SOURCE_URI = re.compile(r"^(?P<scheme>s3|gs|az)://(?P<bucket>[^/]+)/(?P<key>.+)$")


def local_source(spec: ModelSpec, base_dir: str | Path) -> Path:
    """Where a local source is: ``spec.source`` itself when absolute, else under ``base_dir``."""
    path = Path(spec.source)
    return path if path.is_absolute() else Path(base_dir) / path


def uri_store(uri: str, spec: ModelSpec, target: StoreRef) -> tuple[StoreRef, str]:
    """A StoreRef for the bucket a source URI names, and the object key (or prefix) in it.

    Source buckets are reached like the target: an s3:// source uses the target's endpoint
    (MinIO) and credentials when the target is S3 too; az:// needs the target's account.
    """
    match = SOURCE_URI.match(uri)
    if match is None:
        raise ModelSourceError(
            f"unsupported source URI {uri!r}",
            model=spec.name,
            key="models[].source",
            example="s3://bucket/resnet50.onnx",
        )
    scheme, bucket, key = match["scheme"], match["bucket"], match["key"]
    kind = {"s3": "s3", "gs": "gcs", "az": "azure"}[scheme]
    same = target.kind == kind
    data: dict[str, Any] = {"kind": kind, "bucket": bucket}
    if same:
        data.update(
            endpoint_url=target.endpoint_url,
            region=target.region,
            account_url=target.account_url,
            credentials=target.credentials,
        )
    elif kind == "azure":
        raise ModelSourceError(
            "az:// sources need the model repository on Azure (the storage account comes from it)",
            model=spec.name,
            key="models[].source",
        )
    try:
        return StoreRef.model_validate(data), key.strip("/")
    except ValidationError as exc:
        raise ModelSourceError(
            f"source URI {uri!r}: {exc.errors()[0]['msg']}", model=spec.name, key="models[].source"
        ) from None


def source_fingerprint(spec: ModelSpec, base_dir: str | Path, store: StoreRef | None = None) -> str:
    """sha256 naming the source's content: what the program puts in the resource's inputs.

    Local files and directories go through the persistent hash cache (an unchanged 1 GB file
    is not hashed again); URI sources hash the server's listing (key, size, checksums); an
    https:// source is named by the sha256 its config gives (it is checked when downloaded).
    """
    if is_url(spec.source):
        if spec.sha256 is None:
            raise ModelSourceError("an https:// source needs sha256", model=spec.name, key="models[].sha256")
        return spec.sha256
    uri = SOURCE_URI.match(spec.source)
    if uri is not None:
        if store is None:
            raise ModelSourceError(
                "URI sources need the target store to resolve credentials", model=spec.name, key="models[].source"
            )
        ref, key = uri_store(spec.source, spec, store)
        remote = open_store(ref)
        objects = [remote.stat(key)] if spec.format != "python" else remote.list(key.rstrip("/") + "/")
        found = [o for o in objects if o is not None]
        if not found:
            raise ModelSourceError(
                f"{spec.source!r} does not exist",
                model=spec.name,
                key="models[].source",
                example="s3://bucket/model.onnx",
            )
        listing = [[o.key, o.size, o.sha256 or o.checksum or o.etag or ""] for o in found]
        return hashlib.sha256(fingerprint.canonical_json(listing).encode()).hexdigest()
    path = local_source(spec, base_dir)
    if spec.format == "python":
        return fingerprint.tree_sha256(path, model=spec.name)
    return fingerprint.file_sha256(path, model=spec.name)
