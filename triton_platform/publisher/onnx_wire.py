"""Reads an ONNX file at the protobuf wire level, skipping its weights: memory stays flat whatever the model's size.

An ONNX model is a ``ModelProto`` (onnx/onnx.proto): its graph's inputs, outputs and the opset
are a few hundred bytes, its ``initializer`` tensors (GraphProto field 5, and the
``sparse_initializer`` field 15) are nearly all of the file. ``read_graph`` walks the fields
with seeks, reads only the small messages it needs (inputs, outputs, opsets, the names of the
initializers) and seeks past everything else, so a 2 GB model costs a few kilobytes of reads
and no import of ``onnx`` or ``numpy``. ``skeleton`` writes the same model with every large
initializer turned into an empty external-data reference, which ``onnx.checker`` can check
(the publisher does, in the provider host) without the weights ever being in memory.
Plain Python: no Pulumi, no onnx.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NamedTuple

# Field numbers of onnx/onnx.proto (ir_version 10); only those read or rewritten here.
MODEL_GRAPH = 7
MODEL_OPSET_IMPORT = 8
GRAPH_INITIALIZER = 5
GRAPH_INPUT = 11
GRAPH_OUTPUT = 12
GRAPH_SPARSE_INITIALIZER = 15
TENSOR_DATA_TYPE = 2
TENSOR_NAME = 8
TENSOR_EXTERNAL_DATA = 13
TENSOR_DATA_LOCATION = 14
SPARSE_VALUES = 1
# TensorProto fields that describe a tensor (dims, data_type, segment, name, doc_string,
# metadata_props); every other field holds, or points to, its data.
_TENSOR_HEADER_FIELDS = frozenset({1, 2, 3, 8, 12, 16})
TENSOR_STRING = 8  # TensorProto.DataType.STRING: never stored as external data
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL
# Initializers at most this large stay as they are in a skeleton (the checker sees them whole).
SKELETON_INLINE_BYTES = 64 * 1024

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message (or not an ONNX model)."""


class WireTensor(NamedTuple):
    """A graph input or output as the file declares it, before any Triton mapping."""

    name: str
    # Which TypeProto oneof is set: "tensor_type", "sequence_type", ... or None.
    kind: str | None
    elem_type: int = 0
    has_shape: bool = False
    # One entry per dimension: its dim_value when set and > 0, else -1 (dynamic).
    dims: tuple[int, ...] = ()


@dataclass
class WireGraph:
    """What ``read_graph`` found: the graph's inputs and outputs, initializer names and opsets."""

    inputs: list[WireTensor] = field(default_factory=list)
    outputs: list[WireTensor] = field(default_factory=list)
    initializer_names: set[str] = field(default_factory=set)
    # (domain, version) of every opset_import entry, in file order.
    opsets: list[tuple[str, int]] = field(default_factory=list)
    has_graph: bool = False
    bytes_read: int = 0


class _Field(NamedTuple):
    number: int
    wire_type: int
    # A varint's value; for a length-delimited field, the offset of its payload.
    value: int
    length: int = 0


class _Reader:
    """Sequential field access over a seekable binary stream, counting the bytes actually read."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.bytes_read = 0

    def read(self, n: int) -> bytes:
        data = self.fh.read(n)
        self.bytes_read += len(data)
        if len(data) != n:
            raise WireError(f"truncated: wanted {n} bytes at offset {self.fh.tell() - len(data)}")
        return data

    def varint(self) -> int:
        shift = result = 0
        while True:
            byte = self.read(1)[0]
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise WireError(f"varint longer than 10 bytes at offset {self.fh.tell()}")

    def fields(self, end: int) -> Iterator[_Field]:
        """Every field up to ``end``; the stream sits past a field's payload before the next one is read."""
        pos = self.fh.tell()
        while pos < end:
            tag = self.varint()
            number, wire_type = tag >> 3, tag & 7
            if number == 0:
                raise WireError(f"field number 0 at offset {pos}")
            if wire_type == _VARINT:
                item = _Field(number, wire_type, self.varint())
            elif wire_type in (_FIXED64, _FIXED32):
                item = _Field(number, wire_type, self.fh.tell(), 8 if wire_type == _FIXED64 else 4)
            elif wire_type == _LENGTH:
                length = self.varint()
                item = _Field(number, wire_type, self.fh.tell(), length)
            else:
                raise WireError(f"unsupported wire type {wire_type} at offset {pos}")
            after = item.value + item.length if wire_type != _VARINT else self.fh.tell()
            if after > end:
                raise WireError(f"field {number} at offset {pos} runs past the end of its message ({after} > {end})")
            yield item
            self.fh.seek(after)
            pos = after
        if pos != end:
            raise WireError(f"message ends at offset {pos}, expected {end}")

    def payload(self, item: _Field) -> bytes:
        self.fh.seek(item.value)
        return self.read(item.length)


def _message(data: bytes) -> Iterator[tuple[_Field, bytes]]:
    """Fields of a small message held in memory, each with its payload (b"" for varints)."""
    reader = _Reader(io.BytesIO(data))
    for item in reader.fields(len(data)):
        body = data[item.value : item.value + item.length] if item.wire_type == _LENGTH else b""
        yield item, body


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError(f"a name is not valid UTF-8 ({exc.reason})") from None


def _dims(shape: bytes) -> tuple[int, ...]:
    dims: list[int] = []
    for item, body in _message(shape):
        if item.number != 1 or item.wire_type != _LENGTH:
            continue
        value = -1
        for dim, _ in _message(body):
            if dim.number == 1 and dim.wire_type == _VARINT:
                signed = dim.value - (1 << 64) if dim.value >= 1 << 63 else dim.value
                value = signed if signed > 0 else -1
            elif dim.number == 2:
                value = -1  # dim_param (the oneof's last member set wins)
        dims.append(value)
    return tuple(dims)


_TYPE_ONEOF = {1: "tensor_type", 4: "sequence_type", 5: "map_type", 8: "sparse_tensor_type", 9: "optional_type"}


def _value_info(data: bytes) -> WireTensor:
    name, kind, elem_type, shape = "", None, 0, None
    for item, body in _message(data):
        if item.number == 1 and item.wire_type == _LENGTH:
            name = _text(body)
        elif item.number == 2 and item.wire_type == _LENGTH:
            for member, inner in _message(body):
                if member.number in _TYPE_ONEOF:
                    kind, elem_type, shape = _TYPE_ONEOF[member.number], 0, None
                    if member.number == 1:
                        for part, value in _message(inner):
                            if part.number == 1 and part.wire_type == _VARINT:
                                elem_type = part.value
                            elif part.number == 2 and part.wire_type == _LENGTH:
                                shape = value
    return WireTensor(name, kind, elem_type, shape is not None, _dims(shape) if shape is not None else ())


def _tensor_name(reader: _Reader, item: _Field) -> str:
    """The ``name`` of a TensorProto in the file, seeking past its data."""
    name = ""
    for part in reader.fields(item.value + item.length):
        if part.number == TENSOR_NAME and part.wire_type == _LENGTH:
            name = _text(reader.payload(part))
    return name


def _sparse_name(reader: _Reader, item: _Field) -> str:
    name = ""
    for part in reader.fields(item.value + item.length):
        if part.number == SPARSE_VALUES and part.wire_type == _LENGTH:
            name = _tensor_name(reader, part)
    return name


def _graph(reader: _Reader, item: _Field, out: WireGraph) -> None:
    out.has_graph = True
    for part in reader.fields(item.value + item.length):
        if part.wire_type != _LENGTH:
            continue
        if part.number == GRAPH_INPUT:
            out.inputs.append(_value_info(reader.payload(part)))
        elif part.number == GRAPH_OUTPUT:
            out.outputs.append(_value_info(reader.payload(part)))
        elif part.number == GRAPH_INITIALIZER:
            out.initializer_names.add(_tensor_name(reader, part))
        elif part.number == GRAPH_SPARSE_INITIALIZER:
            out.initializer_names.add(_sparse_name(reader, part))


def _opset(data: bytes) -> tuple[str, int]:
    domain, version = "", 0
    for item, body in _message(data):
        if item.number == 1 and item.wire_type == _LENGTH:
            domain = _text(body)
        elif item.number == 2 and item.wire_type == _VARINT:
            version = item.value
    return domain, version


def read_graph(path: Path | str) -> WireGraph:
    """Inputs, outputs, initializer names and opsets of the ONNX model at ``path``, weights skipped.

    Raises WireError for bytes that are not a well-formed protobuf message, OSError when unreadable.
    """
    out = WireGraph()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        reader = _Reader(fh)
        for item in reader.fields(size):
            if item.wire_type != _LENGTH:
                continue
            if item.number == MODEL_GRAPH:
                _graph(reader, item, out)
            elif item.number == MODEL_OPSET_IMPORT:
                out.opsets.append(_opset(reader.payload(item)))
        out.bytes_read = reader.bytes_read
    return out


# --- the skeleton: the model without its weights, for onnx.checker ------------------------------------


def _varint_bytes(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return _varint_bytes(number << 3 | wire_type)


def _delimited(number: int, payload: bytes) -> bytes:
    return _key(number, _LENGTH) + _varint_bytes(len(payload)) + payload


def _raw_field(reader: _Reader, item: _Field) -> bytes:
    """A field exactly as the file has it (key, length and payload)."""
    if item.wire_type == _VARINT:
        return _key(item.number, _VARINT) + _varint_bytes(item.value)
    reader.fh.seek(item.value)
    payload = reader.read(item.length)
    if item.wire_type == _LENGTH:
        return _delimited(item.number, payload)
    return _key(item.number, item.wire_type) + payload


def _external_tensor(reader: _Reader, item: _Field, location: str) -> bytes:
    """A TensorProto with its header fields only, its data an (empty) external file; small ones stay whole."""
    header = bytearray()
    data_type = 0
    for part in reader.fields(item.value + item.length):
        if part.number == TENSOR_DATA_TYPE and part.wire_type == _VARINT:
            data_type = part.value
        if part.number in _TENSOR_HEADER_FIELDS:
            header += _raw_field(reader, part)
    if item.length <= SKELETON_INLINE_BYTES or data_type == TENSOR_STRING:
        reader.fh.seek(item.value)
        return reader.read(item.length)
    entry = _delimited(1, b"location") + _delimited(2, location.encode())
    header += _delimited(TENSOR_EXTERNAL_DATA, entry) + _key(TENSOR_DATA_LOCATION, _VARINT) + _varint_bytes(_EXTERNAL)
    return bytes(header)


def _skeleton_sparse(reader: _Reader, item: _Field, location: str) -> bytes:
    out = bytearray()
    for part in reader.fields(item.value + item.length):
        if part.number in (1, 2) and part.wire_type == _LENGTH:  # values, indices
            out += _delimited(part.number, _external_tensor(reader, part, location))
        else:
            out += _raw_field(reader, part)
    return bytes(out)


def _skeleton_graph(reader: _Reader, item: _Field, location: str) -> bytes:
    out = bytearray()
    for part in reader.fields(item.value + item.length):
        if part.number == GRAPH_INITIALIZER and part.wire_type == _LENGTH:
            out += _delimited(part.number, _external_tensor(reader, part, location))
        elif part.number == GRAPH_SPARSE_INITIALIZER and part.wire_type == _LENGTH:
            out += _delimited(part.number, _skeleton_sparse(reader, part, location))
        else:
            out += _raw_field(reader, part)
    return bytes(out)


def skeleton(path: Path | str, location: str) -> bytes:
    """The model at ``path`` with every large initializer's data moved to the external file ``location``.

    Everything else (nodes, inputs, outputs, opsets, metadata, small initializers) is kept byte
    for byte, so ``onnx.checker`` checks the same graph; with an empty file named ``location``
    next to it the checker accepts the external references without the weights being read.
    """
    out = bytearray()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        reader = _Reader(fh)
        for item in reader.fields(size):
            if item.number == MODEL_GRAPH and item.wire_type == _LENGTH:
                out += _delimited(MODEL_GRAPH, _skeleton_graph(reader, item, location))
            else:
                out += _raw_field(reader, item)
    return bytes(out)


__all__ = ["SKELETON_INLINE_BYTES", "WireError", "WireGraph", "WireTensor", "read_graph", "skeleton"]
