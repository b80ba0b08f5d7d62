"""Generates the sample ONNX models the dev stack publishes and the end-to-end tests serve.

Deterministic: fixed seeds, a fixed opset and IR version and fixed producer fields, so the
same onnx release writes byte-identical files (same sha256, hence no new published version
after a re-run). Usage: ``python -m samples.make_samples`` (writes next to this file).

- ``sample-mlp/model.onnx``: float32 ``INPUT0`` [batch, 16] -> Gemm/Relu/Gemm ->
  ``OUTPUT0`` [batch, 4]; the dev stack serves it with format ``onnx``.
- ``python-onnx/model.onnx``: the same architecture with other weights, run by the
  Python-backend ``python-onnx/model.py`` with numpy alone (format ``python``): it reads the
  graph and weights from this file, so it loads in the stock Triton image, whose Python
  environment has no onnxruntime, and answers as onnxruntime does.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
# IR 8 is readable by every onnx / onnxruntime release Triton ships with (NGC 24.08+).
IR_VERSION = 8
FEATURES = 16
HIDDEN = 32
CLASSES = 4
INPUT_NAME = "INPUT0"
OUTPUT_NAME = "OUTPUT0"
SAMPLES_DIR = Path(__file__).resolve().parent
MLP_SEED = 20240101
PYTHON_ONNX_SEED = 20240202


def mlp_model(seed: int, *, features: int = FEATURES, hidden: int = HIDDEN, classes: int = CLASSES) -> onnx.ModelProto:
    """Gemm -> Relu -> Gemm with a dynamic batch dimension; weights drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((features, hidden)).astype(np.float32) / np.float32(np.sqrt(features))
    b1 = rng.standard_normal(hidden).astype(np.float32) * np.float32(0.1)
    w2 = rng.standard_normal((hidden, classes)).astype(np.float32) / np.float32(np.sqrt(hidden))
    b2 = rng.standard_normal(classes).astype(np.float32) * np.float32(0.1)
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", [INPUT_NAME, "w1", "b1"], ["hidden"], name="fc1"),
            helper.make_node("Relu", ["hidden"], ["hidden_relu"], name="relu"),
            helper.make_node("Gemm", ["hidden_relu", "w2", "b2"], [OUTPUT_NAME], name="fc2"),
        ],
        "mlp",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", features])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", classes])],
        [
            numpy_helper.from_array(w1, "w1"),
            numpy_helper.from_array(b1, "b1"),
            numpy_helper.from_array(w2, "w2"),
            numpy_helper.from_array(b2, "b2"),
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="triton-platform-samples",
        producer_version="1",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def write_mlp(path: Path, seed: int) -> str:
    """Write the MLP for ``seed`` to ``path`` (only when the bytes differ); return its sha256."""
    data = mlp_model(seed).SerializeToString(deterministic=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Leave an identical file untouched so its mtime (and the fingerprint cache entry) stays.
    if not (path.is_file() and path.read_bytes() == data):
        path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def generate(out_dir: Path = SAMPLES_DIR) -> dict[str, str]:
    """Write every sample model under ``out_dir``; returns {relative path: sha256}."""
    written = {
        "sample-mlp/model.onnx": write_mlp(out_dir / "sample-mlp" / "model.onnx", MLP_SEED),
        "python-onnx/model.onnx": write_mlp(out_dir / "python-onnx" / "model.onnx", PYTHON_ONNX_SEED),
    }
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out-dir", type=Path, default=SAMPLES_DIR, help="where to write (default: samples/)")
    args = parser.parse_args(argv)
    for rel, sha in generate(args.out_dir).items():
        print(f"{sha}  {args.out_dir / rel}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
