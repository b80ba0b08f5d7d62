"""The typed model spec: one entry of the stack config's ``models`` list.

Shared by the stack config (validation before any resource exists), the publisher's
plain modules (config.pbtxt, engine keys) and the dynamic provider, which parses its
props back into this model (protobuf Structs turn every int into a float).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

ModelFormat = Literal["tensorrt", "onnx", "python"]
Precision = Literal["fp32", "fp16", "tf32", "int8"]
InstanceKind = Literal["auto", "gpu", "cpu"]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


class ShapeRange(_Spec):
    """A TensorRT optimization-profile range for one input, batch dimension included."""

    min: list[int] = Field(examples=[[1, 3, 224, 224]])
    opt: list[int] = Field(examples=[[8, 3, 224, 224]])
    max: list[int] = Field(examples=[[32, 3, 224, 224]])

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

    preferred_batch_sizes: list[int] = Field(default_factory=list, examples=[[4, 8]])
    max_queue_delay_microseconds: int = Field(default=100, ge=0, le=10_000_000, examples=[100])

    @model_validator(mode="after")
    def _positive(self) -> DynamicBatching:
        if any(b < 1 for b in self.preferred_batch_sizes):
            raise ValueError("preferredBatchSizes must be >= 1")
        return self


class VersionPolicy(_Spec):
    """Which published versions Triton serves: the latest N (default 1) or all of them."""

    latest: int | None = Field(default=1, ge=1, examples=[1])
    all: bool = False

    @model_validator(mode="after")
    def _one(self) -> VersionPolicy:
        if self.all and self.latest not in (None, 1):
            raise ValueError("set either latest or all, not both")
        return self


class ModelSpec(_Spec):
    """One model of the repository Triton serves."""

    name: str = Field(pattern=NAME_PATTERN, examples=["resnet50"])
    # Local path (file for tensorrt/onnx, directory with model.py for python) or an
    # s3:// gs:// az:// URI readable with the environment's credentials.
    source: str = Field(min_length=1, examples=["models/resnet50.onnx"])
    format: ModelFormat = Field(examples=["onnx"])
    max_batch_size: int = Field(default=8, ge=0, le=4096, examples=[8])
    precision: Precision = Field(default="fp32", examples=["fp16"])
    # TensorRT optimization profiles, keyed by ONNX input name.
    shapes: dict[str, ShapeRange] = Field(default_factory=dict)
    dynamic_batching: DynamicBatching | None = None
    instance_count: int = Field(default=1, ge=1, le=64, examples=[1])
    instance_kind: InstanceKind = Field(default="auto", examples=["gpu"])
    cuda_graphs: bool = False
    workspace_mb: int = Field(default=4096, ge=16, le=262_144, examples=[4096])
    hardware_compatibility: Literal["none", "ampere+"] = "none"
    # INT8 needs a calibration cache (path or URI); TensorRT does not calibrate here.
    calibration_cache: str | None = None
    # python format: the ONNX file inside ``source`` whose graph gives inputs/outputs.
    signature: str | None = Field(default=None, examples=["model.onnx"])
    version_policy: VersionPolicy = Field(default_factory=VersionPolicy)
    # Bump to force a new published version without changing bytes or options.
    revision: int = Field(default=0, ge=0, examples=[1])

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
        if problems:
            raise ValueError("; ".join(problems))
        return self
