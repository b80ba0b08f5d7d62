"""Test-only helpers for the publisher tests: tiny ONNX models built in code, an in-memory store,
and ModelVersion props as the provider receives them.

Nothing here is used outside tests.
"""

from __future__ import annotations

import builtins
import hashlib
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from components.providers.model_version import ModelVersionArgs
from triton_platform.publisher import pipeline
from triton_platform.publisher.spec import ModelSpec
from triton_platform.publisher.stores.base import ByteCallback, ObjectInfo, ObjectStore, b64, digest
from triton_platform.publisher.stores.ref import StoreRef

OPSET = 17


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by every onnx / onnxruntime release we pin
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def mlp_model(path: Path, *, features: int = 4, hidden: int = 8, classes: int = 3) -> Path:
    """Gemm -> Relu -> Gemm with a dynamic batch: input ``x`` [batch, features], output ``y`` [batch, classes]."""
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.standard_normal((features, hidden)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(np.zeros(hidden, np.float32), "b1")
    w2 = numpy_helper.from_array(rng.standard_normal((hidden, classes)).astype(np.float32), "w2")
    b2 = numpy_helper.from_array(np.zeros(classes, np.float32), "b2")
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["x", "w1", "b1"], ["h"]),
            helper.make_node("Relu", ["h"], ["r"]),
            helper.make_node("Gemm", ["r", "w2", "b2"], ["y"]),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", classes])],
        [w1, b1, w2, b2],
    )
    return _save(graph, path)


def image_model(path: Path, *, batch: int | str = "N") -> Path:
    """An image-like model: input ``images`` [N, 3, 8, 8] -> GlobalAveragePool -> ``pooled`` [N, 3, 1, 1].

    ``batch`` fixed (e.g. 1) makes a model with a fixed batch dimension.
    """
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["images"], ["pooled"])],
        "image",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, 8, 8])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [batch, 3, 1, 1])],
    )
    return _save(graph, path)


def text_model(path: Path) -> Path:
    """Two inputs with a dynamic sequence axis: ``ids`` int64 [batch, seq], ``mask`` int64 [batch, seq]."""
    graph = helper.make_graph(
        [helper.make_node("Mul", ["ids", "mask"], ["masked"])],
        "text",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("masked", TensorProto.INT64, ["batch", "seq"])],
    )
    return _save(graph, path)


def legacy_initializer_inputs_model(path: Path) -> Path:
    """An old-exporter style graph that also lists its weight ``w`` as a graph input."""
    w = numpy_helper.from_array(np.ones((4, 2), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "legacy",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 2]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [w],
    )
    return _save(graph, path)


def corrupt_model(path: Path) -> Path:
    """Random bytes with an .onnx name."""
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


def provider_props(spec: ModelSpec, store: dict[str, Any], base: Path, **extra: Any) -> dict[str, Any]:
    """The props a ModelVersion sends its provider for ``spec`` with its source under ``base``."""
    fingerprint = pipeline.source_fingerprint(spec, base)
    args = ModelVersionArgs(spec=spec, store=store, source_fingerprint=fingerprint, base_dir=str(base), **extra)
    return args.props()


def wire_floats(value: Any) -> Any:
    """What protobuf Structs do to dynamic-provider props: every int becomes a float."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: wire_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire_floats(v) for v in value]
    return value


class MemoryStore(ObjectStore):
    """An ObjectStore in a dict: keys -> (bytes, recorded sha256), with an MD5 "server checksum".

    ``calls`` records every operation, so tests can assert what was (not) uploaded.
    """

    kind = "memory"

    def __init__(self, ref: StoreRef | None = None) -> None:
        super().__init__(ref or StoreRef(kind="s3", bucket="models-test", endpoint_url="http://127.0.0.1:9000"))
        self.objects: dict[str, tuple[bytes, str | None]] = {}
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes, *, sha256: str | None = None) -> None:
        """Place an object directly (what another writer, e.g. the build Job's pod, would do)."""
        with self._lock:
            self.objects[key] = (data, sha256 if sha256 is not None else hashlib.sha256(data).hexdigest())

    def check(self) -> None:
        self.calls.append(("check", ""))

    def stat(self, key: str) -> ObjectInfo | None:
        self.calls.append(("stat", key))
        with self._lock:
            found = self.objects.get(key)
        if found is None:
            return None
        data, sha = found
        return ObjectInfo(
            key=key, size=len(data), sha256=sha, checksum=b64(digest(data, "md5")), checksum_algorithm="md5"
        )

    def list(self, prefix: str) -> list[ObjectInfo]:
        with self._lock:
            keys = sorted(k for k in self.objects if k.startswith(prefix))
        return [info for k in keys if (info := self.stat(k)) is not None]

    def delete(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self.calls.append(("delete", key))
                self.objects.pop(key, None)

    def read_bytes(self, key: str) -> bytes | None:
        with self._lock:
            found = self.objects.get(key)
        return None if found is None else found[0]

    def _put_file(self, key: str, path: Path, *, size: int, sha256: str, advance: ByteCallback) -> None:
        self.calls.append(("upload", key))
        data = path.read_bytes()
        advance(len(data))
        self.put(key, data, sha256=sha256)

    def _put_bytes(self, key: str, data: bytes, *, sha256: str, content_type: str) -> None:
        self.calls.append(("upload", key))
        self.put(key, data, sha256=sha256)

    def _get_file(self, key: str, path: Path, *, advance: ByteCallback) -> None:
        self.calls.append(("download", key))
        data = self.read_bytes(key) or b""
        path.write_bytes(data)
        advance(len(data))

    def _expected_checksum(self, info: ObjectInfo, source: Path | bytes, sha256: str) -> str | None:
        return b64(digest(source, "md5"))

    def uploads(self) -> builtins.list[str]:
        return [key for op, key in self.calls if op == "upload"]


class RecordingEngineBuilder:
    """A test EngineBuilder (no TensorRT here): writes a stand-in engine where a real builder would put one.

    Content-addressed like the real builders (an engine already at ``job.engine_object`` is not
    built again). It reads the ONNX the job names, as a builder does (the local copy at
    ``job.onnx_path``, else ``job.onnx_object`` from the bucket), and records per build
    ``(model, compute capability, sha256 of the ONNX it read)``; the engine's bytes name the job's
    key, architecture and that sha256, so a test can tell which ONNX an engine came from.
    """

    def __init__(self) -> None:
        self.built: list[tuple[str, str, str]] = []

    def build(self, job: Any, store: ObjectStore, progress: Any) -> None:
        if store.stat(job.engine_object) is not None:
            return
        if job.onnx_path and Path(job.onnx_path).is_file():
            onnx = Path(job.onnx_path).read_bytes()
        else:
            onnx = store.read_bytes(job.onnx_object) or b""
        onnx_sha = hashlib.sha256(onnx).hexdigest()
        self.built.append((job.model, job.compute_capability, onnx_sha))
        store.upload_bytes(job.engine_object, f"engine {job.key} sm{job.compute_capability} onnx {onnx_sha}".encode())
