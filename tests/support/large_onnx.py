"""Valid ONNX models of any size, written as a stream: the weights never sit in memory.

``write_large_onnx`` builds the small part of the model with onnx's own helpers (a graph
``y = x + bias`` with a dynamic batch) and appends one ``weights`` initializer whose raw data is
written in chunks at the protobuf wire level, so tests and benchmarks can make a 2 GB model in
constant memory (onnx.save would hold it all, and refuses models over 2 GB).
"""

from __future__ import annotations

import random
from pathlib import Path

MiB = 1024 * 1024
# Field numbers of onnx/onnx.proto.
_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_RAW_DATA = 7, 5, 9


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _key(number: int) -> bytes:
    return _varint(number << 3 | 2)  # length-delimited


def write_large_onnx(path: Path, weight_bytes: int, *, features: int = 4, seed: int = 0) -> Path:
    """A valid model (onnx.checker accepts it) whose ``weights`` initializer holds ``weight_bytes`` (4 | size)."""
    from onnx import TensorProto, helper

    if weight_bytes % 4:
        raise ValueError("weight_bytes must be a multiple of 4 (float32 weights)")
    bias = helper.make_tensor("bias", TensorProto.FLOAT, [features], [0.5] * features)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "bias"], ["y"])],
        "large",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", features])],
        [bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    graph_bytes = model.graph.SerializeToString()
    model.ClearField("graph")
    head = model.SerializeToString()
    header = TensorProto(name="weights", dims=[weight_bytes // 4], data_type=TensorProto.FLOAT).SerializeToString()
    tensor_len = len(header) + len(_key(_TENSOR_RAW_DATA)) + len(_varint(weight_bytes)) + weight_bytes
    initializer = _key(_GRAPH_INITIALIZER) + _varint(tensor_len)
    graph_len = len(graph_bytes) + len(initializer) + tensor_len
    rng = random.Random(seed)  # noqa: S311 - test data
    block = rng.randbytes(MiB)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(head + _key(_MODEL_GRAPH) + _varint(graph_len) + graph_bytes + initializer + header)
        fh.write(_key(_TENSOR_RAW_DATA) + _varint(weight_bytes))
        written = 0
        counter = 0
        while written < weight_bytes:
            # Distinct blocks (a counter in front), so no two parts of an upload are identical.
            chunk = (counter.to_bytes(8, "little") + block[8:])[: weight_bytes - written]
            fh.write(chunk)
            written += len(chunk)
            counter += 1
    return path


__all__ = ["write_large_onnx"]
