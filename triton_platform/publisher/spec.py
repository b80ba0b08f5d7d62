"""The typed model spec: one entry of the stack config's ``models`` list.

Shared by the stack config (validation before any resource exists), the publisher's
plain modules (config.pbtxt, engine keys) and the dynamic provider, which parses its
props back into this model (protobuf Structs turn every int into a float).
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

ModelFormat = Literal["tensorrt", "onnx", "python"]
Precision = Literal["fp32", "fp16", "tf32", "int8"]
InstanceKind = Literal["auto", "gpu", "cpu"]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
URL_SCHEMES = ("https://", "http://")


def is_url(source: str) -> bool:
    """True for an ``https://`` (or loopback ``http://``) model source, fetched over HTTP."""
    return source.lower().startswith(URL_SCHEMES)


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses: the only hosts a plain ``http://`` source may name."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problems(source: str, sha256: str | None, fmt: str) -> list[str]:
    """Why an http(s) source cannot be used as it is configured ([] when it can)."""
    parsed = urllib.parse.urlsplit(source)
    problems: list[str] = []
    if not parsed.hostname:
        problems.append(f"source {source!r} has no host")
    elif parsed.scheme.lower() != "https" and not is_loopback(parsed.hostname):
        # Plain http carries the model unprotected; only a server on this machine (tests, a local mirror) may.
        problems.append(
            f"source {source!r} must use https:// (plain http only for a loopback host: 127.0.0.1, ::1, localhost)"
        )
    if parsed.username or parsed.password:
        problems.append("source URL must not carry credentials (they would be kept in the Pulumi state)")
    if sha256 is None:
        problems.append(f"an {parsed.scheme}:// source needs sha256 (the digest of the file it serves)")
    if fmt == "python":
        problems.append("an https:// source is one file: format 'onnx' or 'tensorrt'")
    return problems


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


class ShapeRange(_Spec):
    """A TensorRT optimization-profile range for one input, batch dimension included."""

    min: list[int] = Field(description="Smallest shape, batch dimension included.", examples=[[1, 3, 224, 224]])
    opt: list[int] = Field(
        description="Shape TensorRT optimizes for (and the INT8 calibration shape).", examples=[[8, 3, 224, 224]]
    )
    max: list[int] = Field(description="Largest shape.", examples=[[32, 3, 224, 224]])

    @model_validator(mode="after")
    def _ordered(self) -> ShapeRange:
        if not (len(self.min) == len(self.opt) == len(self.max)):
            raise ValueError("min, opt and max must have the same rank")
        if any(d < 1 for d in (*self.min, *self.opt, *self.max)):
            raise ValueError("every dimension must be >= 1")
        for lo, mid, hi in zip(self.min, self.opt, self.max, strict=True):
            if not lo <= mid <= hi:
                raise ValueError("each dimension needs min <= opt <= max")
        return self


class DynamicBatching(_Spec):
    """Triton's dynamic batcher for one model."""

    preferred_batch_sizes: list[int] = Field(
        description="Batch sizes the scheduler prefers.", default=[], examples=[[4, 8]]
    )
    max_queue_delay_microseconds: int = Field(
        description="How long a request may wait for a batch.", default=100, ge=0, le=10_000_000, examples=[100]
    )

    @model_validator(mode="after")
    def _positive(self) -> DynamicBatching:
        if any(b < 1 for b in self.preferred_batch_sizes):
            raise ValueError("preferredBatchSizes must be >= 1")
        return self


class VersionPolicy(_Spec):
    """Which published versions Triton serves: the latest N (default 1) or all of them."""

    latest: int | None = Field(description="Serve the latest N versions.", default=1, ge=1, examples=[1])
    all: bool = Field(default=False, description="Serve every version.")

    @model_validator(mode="after")
    def _one(self) -> VersionPolicy:
        if self.all and self.latest not in (None, 1):
            raise ValueError("set either latest or all, not both")
        return self


class ModelSpec(_Spec):
    """One model of the repository Triton serves."""

    name: str = Field(description="Triton model name.", pattern=NAME_PATTERN, examples=["resnet50"])
    # Local path (file for tensorrt/onnx, directory with model.py for python), an s3:// gs://
    # az:// URI readable with the environment's credentials, or an https:// URL (with sha256).
    source: str = Field(
        description=(
            "ONNX file (`tensorrt`, `onnx`), a directory with `model.py` (`python`); local path, `s3://`, `gs://`, "
            "`az://` URI, or an `https://` URL (with `sha256`)."
        ),
        min_length=1,
        examples=["models/resnet50.onnx"],
    )
    # The sha256 of an https:// source's file: downloaded once into the cache, verified, and
    # never published when it differs. Required for https:// sources, for them only.
    sha256: str | None = Field(
        description=(
            "sha256 of the file an `https://` source serves (required for those, for them only): downloaded once, "
            "checked before publishing."
        ),
        default=None,
        pattern=SHA256_PATTERN,
        examples=["9f86d0...(64 hex digits)"],
    )
    format: ModelFormat = Field(
        description=(
            "`tensorrt` (engine built from the ONNX) | `onnx` (ONNX Runtime backend) | `python` (Python backend)."
        ),
        examples=["onnx"],
    )
    max_batch_size: int = Field(description="0 disables batching.", default=8, ge=0, le=4096, examples=[8])
    precision: Precision = Field(
        description="`fp32` | `fp16` | `tf32` | `int8` (TensorRT only; int8 needs `calibrationCache`).",
        default="fp32",
        examples=["fp16"],
    )
    # TensorRT optimization profiles, keyed by ONNX input name.
    shapes: dict[str, ShapeRange] = Field(
        description="TensorRT optimization profile per input: `{INPUT: {min, opt, max}}`, batch dim included.",
        default_factory=dict,
    )
    dynamic_batching: DynamicBatching | None = Field(
        default=None, description="`preferredBatchSizes`, `maxQueueDelayMicroseconds`; left out, off."
    )
    instance_count: int = Field(description="Instances per Triton pod.", default=1, ge=1, le=64, examples=[1])
    instance_kind: InstanceKind = Field(description="`auto` | `gpu` | `cpu`.", default="auto", examples=["gpu"])
    cuda_graphs: bool = Field(default=False, description="TensorRT CUDA graphs.")
    workspace_mb: int = Field(
        description="TensorRT builder workspace.", default=4096, ge=16, le=262_144, examples=[4096]
    )
    hardware_compatibility: Literal["none", "ampere+"] = Field(
        default="none", description="`ampere+` for engines portable across Ampere and newer."
    )
    # INT8 needs a calibration cache (path or URI); TensorRT does not calibrate here.
    calibration_cache: str | None = Field(default=None, description="INT8 calibration cache (with `precision: int8`).")
    # python format: the ONNX file inside ``source`` whose graph gives inputs/outputs.
    signature: str | None = Field(
        description="python models: the ONNX file in the directory whose graph gives inputs/outputs.",
        default=None,
        examples=["model.onnx"],
    )
    version_policy: VersionPolicy = Field(description="`latest: N` versions served.", default_factory=VersionPolicy)
    # Bump to force a new published version without changing bytes or options.
    revision: int = Field(
        description="Bump to publish a new version without other changes.", default=0, ge=0, examples=[1]
    )

    @model_validator(mode="after")
    def _format_rules(self) -> ModelSpec:
        problems: list[str] = []
        if self.format != "tensorrt":
            if self.precision != "fp32":
                problems.append(f"precision {self.precision!r} needs format 'tensorrt'")
            if self.shapes:
                problems.append("shapes (optimization profiles) need format 'tensorrt'")
            if self.cuda_graphs:
                problems.append("cudaGraphs needs format 'tensorrt'")
        if self.precision == "int8" and not self.calibration_cache:
            problems.append("precision 'int8' needs calibrationCache (a TensorRT calibration cache file)")
        if self.dynamic_batching is not None and self.max_batch_size == 0:
            problems.append("dynamicBatching needs maxBatchSize > 0")
        if self.dynamic_batching is not None:
            too_big = [b for b in self.dynamic_batching.preferred_batch_sizes if b > self.max_batch_size]
            if too_big:
                problems.append(f"preferredBatchSizes {too_big} exceed maxBatchSize {self.max_batch_size}")
        if self.signature is not None and self.format != "python":
            problems.append("signature applies to format 'python' only")
        if is_url(self.source):
            problems += url_problems(self.source, self.sha256, self.format)
        elif self.sha256 is not None:
            problems.append("sha256 applies to https:// sources only")
        if problems:
            raise ValueError("; ".join(problems))
        return self
