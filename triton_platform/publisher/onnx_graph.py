"""Reads an ONNX model's signature (inputs, outputs, opset) and checks a ModelSpec against it.

The signature is what config.pbtxt declares and what TensorRT optimization profiles refer
to, so it comes from the graph itself, never from the user. It is read at the protobuf wire
level (:mod:`triton_platform.publisher.onnx_wire`): the weights are skipped, so memory stays flat
whatever the model's size, and neither ``onnx`` nor ``numpy`` is imported for it (the program
reads shapes at evaluation; only the provider host, which publishes, runs ``onnx.checker``).
Plain Python: no Pulumi.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import NamedTuple

from triton_platform.publisher.errors import ModelSourceError, ModelSpecError
from triton_platform.publisher.onnx_wire import WireError, WireGraph, WireTensor, read_graph, skeleton
from triton_platform.publisher.spec import ModelSpec, ShapeRange

# ONNX TensorProto.DataType numbers (onnx/onnx.proto) -> Triton's DataType enum names (model_config.proto).
_ONNX_TO_TRITON: dict[int, str] = {
    9: "TYPE_BOOL",
    2: "TYPE_UINT8",
    4: "TYPE_UINT16",
    12: "TYPE_UINT32",
    13: "TYPE_UINT64",
    3: "TYPE_INT8",
    5: "TYPE_INT16",
    6: "TYPE_INT32",
    7: "TYPE_INT64",
    10: "TYPE_FP16",
    1: "TYPE_FP32",
    11: "TYPE_FP64",
    16: "TYPE_BF16",
    8: "TYPE_STRING",
}
# The names of the others, for messages (TensorProto.DataType in onnx/onnx.proto).
_ONNX_TYPE_NAMES: dict[int, str] = {
    0: "UNDEFINED",
    14: "COMPLEX64",
    15: "COMPLEX128",
    17: "FLOAT8E4M3FN",
    18: "FLOAT8E4M3FNUZ",
    19: "FLOAT8E5M2",
    20: "FLOAT8E5M2FNUZ",
    21: "UINT4",
    22: "INT4",
    23: "FLOAT4E2M1",
    24: "FLOAT8E8M0",
    25: "UINT2",
    26: "INT2",
    27: "FLOAT6E2M3",
    28: "FLOAT6E3M2",
}
# The empty file a checked skeleton's initializers point to (onnx_wire.skeleton).
_WEIGHTS_PLACEHOLDER = "weights.skipped"

_SHAPES_EXAMPLE = "shapes: {input: {min: [1, 3, 224, 224], opt: [8, 3, 224, 224], max: [32, 3, 224, 224]}}"


class TensorSpec(NamedTuple):
    """One graph input or output as Triton sees it."""

    name: str
    data_type: str  # Triton enum name, e.g. "TYPE_FP32"
    dims: tuple[int, ...]  # -1 = dynamic

    @property
    def dynamic_axes(self) -> tuple[int, ...]:
        return tuple(i for i, d in enumerate(self.dims) if d == -1)


class GraphSignature(NamedTuple):
    """The inputs and outputs of an ONNX graph and its default-domain opset."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    opset: int

    def input(self, name: str) -> TensorSpec | None:
        return next((t for t in self.inputs if t.name == name), None)


def _tensor_spec(value: WireTensor, *, model: str, role: str) -> TensorSpec:
    where = f"ONNX graph {role} {value.name!r}"
    if value.kind != "tensor_type":
        raise ModelSourceError(
            f"{where} is not a tensor (sequences and maps are not supported by Triton's config)", model=model
        )
    data_type = _ONNX_TO_TRITON.get(value.elem_type)
    if data_type is None:
        type_name = _ONNX_TYPE_NAMES.get(value.elem_type, str(value.elem_type))
        raise ModelSourceError(f"{where} has element type {type_name}, which Triton does not support", model=model)
    if not value.has_shape:
        raise ModelSourceError(
            f"{where} has no shape; export the model with input/output shapes "
            "(symbolic names such as 'batch' for dynamic dimensions)",
            model=model,
        )
    return TensorSpec(name=value.name, data_type=data_type, dims=value.dims)


def _signature_of(graph: WireGraph, *, model: str) -> GraphSignature:
    # Older exporters list weights as graph inputs too; they are not what clients send.
    initializers = graph.initializer_names
    inputs = tuple(_tensor_spec(v, model=model, role="input") for v in graph.inputs if v.name not in initializers)
    outputs = tuple(_tensor_spec(v, model=model, role="output") for v in graph.outputs)
    if not inputs:
        raise ModelSourceError("the ONNX graph has no inputs", model=model)
    if not outputs:
        raise ModelSourceError("the ONNX graph has no outputs", model=model)
    opset = next((version for domain, version in graph.opsets if domain in ("", "ai.onnx")), 0)
    return GraphSignature(inputs=inputs, outputs=outputs, opset=int(opset))


def check_model(path: Path) -> None:
    """Run ``onnx.checker`` on the model at ``path`` without loading its weights; raises what the checker raises.

    The checker sees a skeleton (onnx_wire.skeleton): every node, input and output as the file
    has them, large initializers as references to an empty external file, so its memory and time
    do not grow with the weights. ``onnx`` is imported here only: the provider host needs it, the
    program does not.
    """
    import onnx.checker

    with tempfile.TemporaryDirectory(prefix="onnx-check-") as tmp:
        (Path(tmp) / _WEIGHTS_PLACEHOLDER).touch()
        skeleton_path = Path(tmp) / "model.onnx"
        skeleton_path.write_bytes(skeleton(path, _WEIGHTS_PLACEHOLDER))
        onnx.checker.check_model(str(skeleton_path))


def _invalid(path: Path, exc: BaseException, model: str, key: str) -> ModelSourceError:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ModelSourceError(f"{str(path)!r} is not a valid ONNX model ({first_line[:300]})", model=model, key=key)


# Reading a graph costs little, but a no-op preview reads the same unchanged file again.
_SIGNATURES: dict[tuple[str, int, int, int, bool], GraphSignature] = {}


def read_signature(path: Path, *, model: str, check: bool = True) -> GraphSignature:
    """The signature of the ONNX model at ``path``; ModelSourceError if missing or invalid.

    The weights are never read. ``check`` also runs ``onnx.checker`` on the graph (what
    publishing does); without it only the wire format and the signature are checked, and
    ``onnx`` is not imported (what the program does to learn a model's shapes).
    """
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
    cache_key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino, check)
    cached = _SIGNATURES.get(cache_key) or _SIGNATURES.get((*cache_key[:4], True))
    if cached is not None:
        return cached
    try:
        graph = read_graph(path)
        if not graph.has_graph:
            raise WireError("it has no graph")
        if check:
            check_model(path)
    except PermissionError:
        raise ModelSourceError(f"permission denied reading {str(path)!r}", model=model, key=key_name) from None
    except Exception as exc:  # WireError, the checker's ValidationError, ...: the file is not a valid model
        raise _invalid(path, exc, model, key_name) from None
    signature = _signature_of(graph, model=model)
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
