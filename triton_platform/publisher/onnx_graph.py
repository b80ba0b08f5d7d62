"""Reads an ONNX model's signature (inputs, outputs, opset) and checks a ModelSpec against it.

The signature is what config.pbtxt declares and what TensorRT optimization profiles refer
to, so it comes from the graph itself, never from the user. Plain Python: no Pulumi.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import onnx

from triton_platform.publisher.errors import ModelSourceError, ModelSpecError
from triton_platform.publisher.spec import ModelSpec, ShapeRange

# ONNX TensorProto element types -> Triton's DataType enum names (model_config.proto).
_ONNX_TO_TRITON: dict[int, str] = {
    onnx.TensorProto.BOOL: "TYPE_BOOL",
    onnx.TensorProto.UINT8: "TYPE_UINT8",
    onnx.TensorProto.UINT16: "TYPE_UINT16",
    onnx.TensorProto.UINT32: "TYPE_UINT32",
    onnx.TensorProto.UINT64: "TYPE_UINT64",
    onnx.TensorProto.INT8: "TYPE_INT8",
    onnx.TensorProto.INT16: "TYPE_INT16",
    onnx.TensorProto.INT32: "TYPE_INT32",
    onnx.TensorProto.INT64: "TYPE_INT64",
    onnx.TensorProto.FLOAT16: "TYPE_FP16",
    onnx.TensorProto.FLOAT: "TYPE_FP32",
    onnx.TensorProto.DOUBLE: "TYPE_FP64",
    onnx.TensorProto.BFLOAT16: "TYPE_BF16",
    onnx.TensorProto.STRING: "TYPE_STRING",
}

_SHAPES_EXAMPLE = "shapes: {input: {min: [1, 3, 224, 224], opt: [8, 3, 224, 224], max: [32, 3, 224, 224]}}"


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output as Triton sees it."""

    name: str
    data_type: str  # Triton enum name, e.g. "TYPE_FP32"
    dims: tuple[int, ...]  # -1 = dynamic

    @property
    def dynamic_axes(self) -> tuple[int, ...]:
        return tuple(i for i, d in enumerate(self.dims) if d == -1)


@dataclass(frozen=True)
class GraphSignature:
    """The inputs and outputs of an ONNX graph and its default-domain opset."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    opset: int

    def input(self, name: str) -> TensorSpec | None:
        return next((t for t in self.inputs if t.name == name), None)


def _tensor_spec(value: onnx.ValueInfoProto, *, model: str, role: str) -> TensorSpec:
    where = f"ONNX graph {role} {value.name!r}"
    if value.type.WhichOneof("value") != "tensor_type":
        raise ModelSourceError(
            f"{where} is not a tensor (sequences and maps are not supported by Triton's config)", model=model
        )
    tensor_type = value.type.tensor_type
    data_type = _ONNX_TO_TRITON.get(tensor_type.elem_type)
    if data_type is None:
        type_name = onnx.TensorProto.DataType.Name(tensor_type.elem_type)
        raise ModelSourceError(f"{where} has element type {type_name}, which Triton does not support", model=model)
    if not tensor_type.HasField("shape"):
        raise ModelSourceError(
            f"{where} has no shape; export the model with input/output shapes "
            "(symbolic names such as 'batch' for dynamic dimensions)",
            model=model,
        )
    dims = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1 for d in tensor_type.shape.dim)
    return TensorSpec(name=value.name, data_type=data_type, dims=dims)


def _signature_of(proto: onnx.ModelProto, *, model: str) -> GraphSignature:
    graph = proto.graph
    # Older exporters list weights as graph inputs too; they are not what clients send.
    initializers = {init.name for init in graph.initializer}
    inputs = tuple(_tensor_spec(v, model=model, role="input") for v in graph.input if v.name not in initializers)
    outputs = tuple(_tensor_spec(v, model=model, role="output") for v in graph.output)
    if not inputs:
        raise ModelSourceError("the ONNX graph has no inputs", model=model)
    if not outputs:
        raise ModelSourceError("the ONNX graph has no outputs", model=model)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
    return GraphSignature(inputs=inputs, outputs=outputs, opset=int(opset))


# Parsing a large ONNX file is expensive; a no-op preview reads the same unchanged file again.
_SIGNATURES: dict[tuple[str, int, int, int], GraphSignature] = {}


def read_signature(path: Path, *, model: str) -> GraphSignature:
    """The signature of the ONNX model at ``path``; ModelSourceError if missing or invalid."""
    path = Path(path)
    key_name = "models[].source"
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ModelSourceError(
            f"ONNX file {str(path)!r} does not exist", model=model, key=key_name, example="source: models/resnet50.onnx"
        ) from None
    except OSError as exc:
        raise ModelSourceError(f"cannot read {str(path)!r}: {exc.strerror}", model=model, key=key_name) from None
    if not path.is_file():
        raise ModelSourceError(
            f"{str(path)!r} is not a file (formats 'onnx' and 'tensorrt' need an .onnx file)",
            model=model,
            key=key_name,
            example="source: models/resnet50.onnx",
        )
    cache_key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    cached = _SIGNATURES.get(cache_key)
    if cached is not None:
        return cached
    try:
        # External weights are not needed for the signature; the checker validates structure.
        proto = onnx.load(os.fspath(path), load_external_data=False)
        onnx.checker.check_model(proto)
    except PermissionError:
        raise ModelSourceError(f"permission denied reading {str(path)!r}", model=model, key=key_name) from None
    except Exception as exc:  # DecodeError, ValidationError, ...: the file is not a valid model
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelSourceError(
            f"{str(path)!r} is not a valid ONNX model ({first_line[:300]})", model=model, key=key_name
        ) from None
    signature = _signature_of(proto, model=model)
    _SIGNATURES[cache_key] = signature
    return signature


def check_shapes(sig: GraphSignature, spec: ModelSpec) -> None:
    """Raise ModelSpecError unless ``spec.shapes`` fits the graph (names, ranks, fixed dims, batch)."""
    names = [t.name for t in sig.inputs]
    for name, rng in spec.shapes.items():
        tensor = sig.input(name)
        if tensor is None:
            raise ModelSpecError(
                f"{name!r} is not an input of the ONNX graph (inputs: {', '.join(names)})",
                model=spec.name,
                key=f"models[].shapes.{name}",
                example=_SHAPES_EXAMPLE.replace("input", names[0], 1),
            )
        problem = _range_problem(tensor, rng, spec.max_batch_size)
        if problem:
            raise ModelSpecError(
                problem,
                model=spec.name,
                key=f"models[].shapes.{name}",
                example=_example_range(tensor.dims, spec.max_batch_size),
            )
    if spec.format == "tensorrt":
        for tensor in sig.inputs:
            if tensor.name in spec.shapes:
                continue
            batch_axes = (0,) if spec.max_batch_size > 0 else ()
            missing = [a for a in tensor.dynamic_axes if a not in batch_axes]
            if missing:
                raise ModelSpecError(
                    f"input {tensor.name!r} has dynamic dimensions {missing} (graph shape {_fmt(tensor.dims)}); "
                    "TensorRT needs an optimization profile for them",
                    model=spec.name,
                    key=f"models[].shapes.{tensor.name}",
                    example=_example_range(tensor.dims, spec.max_batch_size),
                )


def _range_problem(tensor: TensorSpec, rng: ShapeRange, max_batch_size: int) -> str | None:
    """Why a configured shape range does not fit the graph input (rank, fixed dims, batch), or None."""
    if len(rng.min) != len(tensor.dims):
        return (
            f"rank {len(rng.min)} does not match the graph input's rank {len(tensor.dims)} "
            f"(graph shape {_fmt(tensor.dims)}, -1 = dynamic)"
        )
    problems: list[str] = []
    for axis, fixed in enumerate(tensor.dims):
        if fixed == -1:
            continue
        for label, values in (("min", rng.min), ("opt", rng.opt), ("max", rng.max)):
            if values[axis] != fixed:
                problems.append(f"{label}[{axis}] is {values[axis]} but the graph fixes dimension {axis} to {fixed}")
    if problems:
        return "; ".join(problems)
    if max_batch_size > 0 and rng.min[0] > 1:
        return f"min[0] (batch) is {rng.min[0]}; Triton sends batches of 1, so min[0] must be 1"
    if max_batch_size > 0 and rng.max[0] < max_batch_size:
        return (
            f"max[0] (batch) is {rng.max[0]}, below maxBatchSize {max_batch_size}; "
            "Triton would send batches the engine cannot run"
        )
    return None


def effective_shapes(sig: GraphSignature, spec: ModelSpec) -> dict[str, ShapeRange]:
    """The optimization profile a TensorRT build uses: ``spec.shapes`` plus derived batch-only ranges.

    An input whose only dynamic dimension is the batch gets min 1, opt and max ``maxBatchSize``.
    Call ``check_shapes`` first.
    """
    shapes = dict(spec.shapes)
    for tensor in sig.inputs:
        if tensor.name in shapes or not tensor.dynamic_axes:
            continue
        if spec.max_batch_size > 0 and tensor.dynamic_axes == (0,):
            rest = list(tensor.dims[1:])
            shapes[tensor.name] = ShapeRange(
                min=[1, *rest], opt=[spec.max_batch_size, *rest], max=[spec.max_batch_size, *rest]
            )
        else:
            raise ModelSpecError(
                f"input {tensor.name!r} has dynamic dimensions {list(tensor.dynamic_axes)} and no shapes entry",
                model=spec.name,
                key=f"models[].shapes.{tensor.name}",
                example=_example_range(tensor.dims, spec.max_batch_size),
            )
    return dict(sorted(shapes.items()))


def triton_dims(tensor: TensorSpec, max_batch_size: int, *, model: str | None = None) -> list[int]:
    """The ``dims`` Triton declares: the graph shape without the batch dimension when batching."""
    if max_batch_size <= 0:
        return list(tensor.dims)
    if not tensor.dims:
        raise ModelSpecError(
            f"tensor {tensor.name!r} is a scalar, so it has no batch dimension; set maxBatchSize: 0",
            model=model,
            key="models[].maxBatchSize",
            example="maxBatchSize: 0",
        )
    if tensor.dims[0] != -1:
        raise ModelSpecError(
            f"tensor {tensor.name!r} has a fixed first dimension {tensor.dims[0]} (graph shape {_fmt(tensor.dims)}), "
            f"so it cannot be batched up to {max_batch_size}; set maxBatchSize: 0 or export with a dynamic batch "
            "dimension",
            model=model,
            key="models[].maxBatchSize",
            example="maxBatchSize: 0",
        )
    return list(tensor.dims[1:])


def _fmt(dims: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


def _example_range(dims: tuple[int, ...], max_batch_size: int) -> str:
    # Batch axis: 1 .. maxBatchSize; other dynamic axes: an illustrative 1 / 64 / 256 range.
    top = max(max_batch_size, 1)

    def fill(batch: int, other: int) -> list[int]:
        out: list[int] = []
        for axis, d in enumerate(dims):
            if d != -1:
                out.append(d)
            elif axis == 0 and max_batch_size > 0:
                out.append(batch)
            else:
                out.append(other)
        return out

    return f"{{min: {fill(1, 1)}, opt: {fill(top, 64)}, max: {fill(top, 256)}}}"
