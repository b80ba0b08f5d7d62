"""Triton Python-backend model that needs nothing but numpy: it runs the ONNX graph next to it.

The Python environment of the stock Triton image holds the standard library, numpy and the
backend's own ``triton_python_backend_utils``, nothing else (Triton's build.py installs
``numpy<2`` and virtualenv for the Python backend): a model that imports onnxruntime there stops
tritonserver at start-up. So this model reads ``model.onnx`` itself (the few protobuf fields of
its graph and weights, onnx/onnx.proto) and evaluates the graph's operators with numpy.

Triton copies the whole version directory (this file and ``model.onnx``) from the bucket and
calls ``initialize`` once per instance; tensor names come from config.pbtxt, which the publisher
renders from the same ONNX graph. A model that needs more (onnxruntime, torch) ships its own
environment instead: a conda-pack tarball named by the model's ``EXECUTION_ENV_PATH`` parameter.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

ONNX_FLOAT = 1  # TensorProto.DataType.FLOAT


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (value - (1 << 64) if value >= 1 << 63 else value), pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of a protobuf message: ints, or bytes for the rest."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"model.onnx: unsupported protobuf wire type {wire}")
        yield number, wire, value


def _ints(wire: int, value: Any) -> list[int]:
    """A repeated int64, packed (wire type 2) or not."""
    if wire != 2:
        return [value]
    out, pos = [], 0
    while pos < len(value):
        item, pos = _varint(value, pos)
        out.append(item)
    return out


def _tensor(buf: bytes) -> tuple[str, np.ndarray]:
    """TensorProto: dims = 1, data_type = 2, float_data = 4, name = 8, raw_data = 9."""
    dims: list[int] = []
    name, dtype, raw, floats = "", ONNX_FLOAT, b"", b""
    for number, wire, value in _fields(buf):
        if number == 1:
            dims += _ints(wire, value)
        elif number == 2:
            dtype = value
        elif number == 4:
            floats += value  # packed, or one fixed32 at a time: little-endian floats either way
        elif number == 8:
            name = value.decode()
        elif number == 9:
            raw = value
    if dtype != ONNX_FLOAT:
        raise ValueError(f"model.onnx: initializer {name!r} is not float32")
    return name, np.frombuffer(raw or floats, dtype="<f4").reshape(dims).astype(np.float32)


def _node(buf: bytes) -> dict[str, Any]:
    """NodeProto: input = 1, output = 2, op_type = 4, attribute = 5 (name = 1, f = 2, i = 3)."""
    node: dict[str, Any] = {"inputs": [], "outputs": [], "op": "", "attrs": {}}
    for number, _wire, value in _fields(buf):
        if number in (1, 2):
            node["inputs" if number == 1 else "outputs"].append(value.decode())
        elif number == 4:
            node["op"] = value.decode()
        elif number == 5:
            attr = {n: v for n, _w, v in _fields(value)}
            val = struct.unpack("<f", attr[2])[0] if 2 in attr else attr.get(3)
            node["attrs"][attr[1].decode()] = val
    return node


def load_graph(path: str) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """The nodes (in order) and initializers of an ONNX file: ModelProto.graph = 7, node = 1, initializer = 5."""
    with open(path, "rb") as f:
        model = f.read()
    graph = next(value for number, _wire, value in _fields(model) if number == 7)
    nodes, weights = [], {}
    for number, _wire, value in _fields(graph):
        if number == 1:
            nodes.append(_node(value))
        elif number == 5:
            name, array = _tensor(value)
            weights[name] = array
    return nodes, weights


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` (2-D, float32) rounded as onnxruntime's CPU kernels (MLAS) round it.

    Each dot product is accumulated in k order with fused multiply-adds, so the answer equals
    onnxruntime's on the same file to the last bit (what scripts/smoke.py compares). The product
    of two float32 is exact in float64: ``acc + a*b`` there, rounded once to float32, is the FMA.
    """
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    acc = np.zeros((a.shape[0], b.shape[1]), dtype=np.float32)
    for k in range(a.shape[1]):
        acc = (acc + a64[:, k : k + 1] * b64[k : k + 1, :]).astype(np.float32)
    return acc


def _gemm(a: np.ndarray, b: np.ndarray, c: np.ndarray | None = None, **attrs: Any) -> np.ndarray:
    # ONNX Gemm: Y = alpha * A' B' + beta * C (A' = A^T when transA, B' likewise).
    a = a.T if attrs.get("transA") else a
    b = b.T if attrs.get("transB") else b
    y = _matmul(a, b)
    if attrs.get("alpha", 1.0) != 1.0:
        y = np.float32(attrs["alpha"]) * y
    return y if c is None else y + np.float32(attrs.get("beta", 1.0)) * c


OPS: dict[str, Callable[..., np.ndarray]] = {
    "Gemm": _gemm,
    "MatMul": _matmul,
    "Add": lambda a, b: a + b,
    "Relu": lambda x: np.maximum(x, np.float32(0)),
    "Sigmoid": lambda x: np.float32(1) / (np.float32(1) + np.exp(-x)),
    "Tanh": np.tanh,
    "Identity": lambda x: x,
}


def run_graph(nodes: list[dict[str, Any]], values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Evaluate ``nodes`` in order over ``values`` (initializers + inputs); returns every value."""
    values = dict(values)
    for node in nodes:
        if node["op"] not in OPS:
            raise ValueError(f"model.onnx: operator {node['op']!r} is not one this model runs ({', '.join(OPS)})")
        args = [values[name] for name in node["inputs"] if name]
        (out,) = node["outputs"]
        values[out] = OPS[node["op"]](*args, **node["attrs"]).astype(np.float32, copy=False)
    return values


class TritonPythonModel:
    """Serves ``model.onnx`` of the same version directory, with numpy."""

    def initialize(self, args: dict[str, str]) -> None:
        version_dir = os.path.join(args["model_repository"], args["model_version"])
        self.nodes, self.weights = load_graph(os.path.join(version_dir, "model.onnx"))
        config = json.loads(args["model_config"])
        self.input_names = [tensor["name"] for tensor in config["input"]]
        self.output_names = [tensor["name"] for tensor in config["output"]]

    def execute(self, requests: list[Any]) -> list[Any]:
        responses = []
        for request in requests:
            feeds = {name: pb_utils.get_input_tensor_by_name(request, name).as_numpy() for name in self.input_names}
            values = run_graph(self.nodes, {**self.weights, **feeds})
            tensors = [pb_utils.Tensor(name, values[name]) for name in self.output_names]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses

    def finalize(self) -> None:
        self.nodes, self.weights = [], {}
