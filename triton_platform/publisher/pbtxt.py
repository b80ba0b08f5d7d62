"""Renders a model's config.pbtxt for Triton and validates it with Triton's own ModelConfig proto.

The version policy is always ``specific``: a version directory uploaded to the bucket stays
invisible until the config names it, which is what makes publishing atomic (the config is
written last). Plain Python: no Pulumi.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from google.protobuf import text_encoding, text_format

from triton_platform.publisher.errors import ConfigPbtxtError
from triton_platform.publisher.onnx_graph import GraphSignature, TensorSpec, triton_dims
from triton_platform.publisher.spec import ModelSpec

if TYPE_CHECKING:
    from tritonclient.grpc.model_config_pb2 import ModelConfig

InstanceKindName = Literal["KIND_GPU", "KIND_CPU"]

PLATFORMS: dict[str, str] = {"tensorrt": "tensorrt_plan", "onnx": "onnxruntime_onnx"}
# The file Triton loads from a version directory when nothing else is configured.
DEFAULT_MODEL_FILENAMES: dict[str, str] = {"tensorrt": "model.plan", "onnx": "model.onnx", "python": "model.py"}

_CC_PATTERN = re.compile(r"^\d+\.\d+$")
_FILENAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _q(text: str) -> str:
    return '"' + text_encoding.CEscape(text, as_utf8=True) + '"'


def _ints(values: Sequence[int]) -> str:
    return "[ " + ", ".join(str(int(v)) for v in values) + " ]"


def _tensor_block(tensor: TensorSpec, max_batch_size: int, model: str) -> list[str]:
    dims = triton_dims(tensor, max_batch_size, model=model)
    lines = ["  {", f"    name: {_q(tensor.name)}", f"    data_type: {tensor.data_type}"]
    if dims:
        lines.append(f"    dims: {_ints(dims)}")
    else:
        # A scalar: Triton needs non-empty dims, so declare [1] and reshape to a rank-0 tensor.
        lines.append("    dims: [ 1 ]")
        lines.append("    reshape: { shape: [ ] }")
    lines.append("  }")
    return lines


def _tensor_list(field: str, tensors: Sequence[TensorSpec], max_batch_size: int, model: str) -> list[str]:
    lines = [f"{field} ["]
    for i, tensor in enumerate(tensors):
        block = _tensor_block(tensor, max_batch_size, model)
        if i < len(tensors) - 1:
            block[-1] += ","
        lines.extend(block)
    lines.append("]")
    return lines


def render_config(
    spec: ModelSpec,
    sig: GraphSignature | None,
    *,
    versions: Sequence[int],
    instance_kind: InstanceKindName,
    cc_model_filenames: Mapping[str, str] | None = None,
    default_model_filename: str | None = None,
) -> str:
    """The config.pbtxt text for ``spec``, serving exactly ``versions``.

    ``sig`` may be None only for format ``python`` (the model's ``auto_complete_config``
    then declares its tensors). ``cc_model_filenames`` maps compute capabilities to engine
    files (``{"8.0": "model.sm80.plan"}``) for TensorRT models carrying several engines.
    """
    model = spec.name
    served = sorted({int(v) for v in versions})
    if not served or served[0] < 1:
        raise ConfigPbtxtError(
            f"versions {list(versions)} must be a non-empty list of positive integers",
            model=model,
            key="version_policy.specific.versions",
            example="versions: [1, 2]",
        )
    _check_instance_kind(spec, instance_kind)
    if sig is None and spec.format != "python":
        raise ConfigPbtxtError(
            f"format {spec.format!r} needs the ONNX graph signature to declare inputs and outputs", model=model
        )
    _check_filenames(spec, cc_model_filenames or {}, default_model_filename)
    lines = [f"name: {_q(model)}"]
    if spec.format == "python":
        lines.append('backend: "python"')
    else:
        lines.append(f"platform: {_q(PLATFORMS[spec.format])}")
    lines.append(f"max_batch_size: {spec.max_batch_size}")
    lines.append(f"version_policy: {{ specific: {{ versions: {_ints(served)} }} }}")
    if default_model_filename is not None:
        lines.append(f"default_model_filename: {_q(default_model_filename)}")
    if sig is not None:
        lines.extend(_tensor_list("input", sig.inputs, spec.max_batch_size, model))
        lines.extend(_tensor_list("output", sig.outputs, spec.max_batch_size, model))
    lines.extend(_scheduling_lines(spec, instance_kind))
    for cc, filename in sorted((cc_model_filenames or {}).items()):
        lines.append(f"cc_model_filenames {{ key: {_q(cc)} value: {_q(filename)} }}")
    text = "\n".join(lines) + "\n"

    parsed = parse_config(text, model=model)
    if parsed.name != model or list(parsed.version_policy.specific.versions) != served:
        raise ConfigPbtxtError("the rendered config does not read back as written", model=model)
    return text


def _check_instance_kind(spec: ModelSpec, instance_kind: str) -> None:
    if instance_kind not in ("KIND_GPU", "KIND_CPU"):
        raise ConfigPbtxtError(
            f"instance kind {instance_kind!r} is not KIND_GPU or KIND_CPU", model=spec.name, key="instance_group.kind"
        )
    if spec.format == "tensorrt" and instance_kind != "KIND_GPU":
        raise ConfigPbtxtError(
            "TensorRT engines run on GPUs only; instanceKind 'cpu' is not possible with format 'tensorrt'",
            model=spec.name,
            key="models[].instanceKind",
            example="instanceKind: gpu",
        )


def _check_filenames(spec: ModelSpec, cc_model_filenames: Mapping[str, str], default: str | None) -> None:
    """The engine file names config.pbtxt may name: plain names, per compute capability for TensorRT only."""
    if cc_model_filenames and spec.format != "tensorrt":
        raise ConfigPbtxtError(
            "cc_model_filenames (one engine per GPU architecture) applies to format 'tensorrt' only",
            model=spec.name,
            key="cc_model_filenames",
        )
    for cc, filename in cc_model_filenames.items():
        if not _CC_PATTERN.match(cc) or not _FILENAME_PATTERN.match(filename):
            raise ConfigPbtxtError(
                f"entry {cc!r}: {filename!r} needs a compute capability 'major.minor' and a plain file name",
                model=spec.name,
                key="cc_model_filenames",
                example='{"8.0": "model.sm80.plan", "9.0": "model.sm90.plan"}',
            )
    if default is not None and not _FILENAME_PATTERN.match(default):
        raise ConfigPbtxtError(
            f"{default!r} is not a plain file name", model=spec.name, key="default_model_filename", example="model.plan"
        )


def _scheduling_lines(spec: ModelSpec, instance_kind: str) -> list[str]:
    """Dynamic batching, the instance group and (TensorRT) CUDA graphs."""
    lines: list[str] = []
    if spec.dynamic_batching is not None:
        db = spec.dynamic_batching
        lines.append("dynamic_batching {")
        if db.preferred_batch_sizes:
            lines.append(f"  preferred_batch_size: {_ints(sorted(set(db.preferred_batch_sizes)))}")
        lines.append(f"  max_queue_delay_microseconds: {db.max_queue_delay_microseconds}")
        lines.append("}")
    lines.append(f"instance_group [ {{ count: {spec.instance_count}, kind: {instance_kind} }} ]")
    if spec.format == "tensorrt" and spec.cuda_graphs:
        lines.append("optimization { cuda { graphs: true } }")
    return lines


def parse_config(text: str, *, model: str | None = None) -> ModelConfig:
    """Parse config.pbtxt exactly as Triton does (protobuf text format of ``inference.ModelConfig``)."""
    from tritonclient.grpc.model_config_pb2 import ModelConfig

    config = ModelConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as exc:
        raise ConfigPbtxtError(f"config.pbtxt is not a valid Triton ModelConfig: {exc}", model=model) from None
    return config
