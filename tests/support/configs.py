"""Stack configs built in code (raw dicts, as the engine hands them over) and a base folder of placeholder models.

``raw_config`` is a valid minimal stack for each cloud; tests pass the keys they exercise.
``placeholder_models`` writes model sources whose bytes do not matter: ``parse_config`` only
checks that a model's source exists under the base folder.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Where each cloud's cluster lives (the keys config validation requires per cloud).
WHERE: dict[str, dict[str, str]] = {
    "local": {},
    "aws": {"region": "us-east-1"},
    "gcp": {"location": "us-central1", "project": "acme-ml"},
    "azure": {"location": "westeurope"},
}

# The model ``placeholder_models`` provides, as a stack lists it.
ONNX_MODEL: dict[str, Any] = {"name": "mlp", "source": "m/model.onnx", "format": "onnx"}
# The repository's generated sample (``python -m samples.make_samples``): parse with base_dir=REPO.
SAMPLE_MLP: dict[str, Any] = {"name": "sample-mlp", "source": "samples/sample-mlp/model.onnx", "format": "onnx"}
# The same placeholder source built into a TensorRT engine (a GPU pool's compute capability).
TRT_MODEL: dict[str, Any] = {"name": "mlp", "source": "m/model.onnx", "format": "tensorrt", "precision": "fp16"}


def gpu_pool(machine: str, product: str, count: int, **more: Any) -> dict[str, Any]:
    """A ``cluster.gpuNodePool`` entry."""
    return {"machineType": machine, "gpuProduct": product, "gpuCount": count, **more}


def raw_config(
    cloud: str = "local",
    /,
    *,
    name: str = "triton-test",
    pool: Mapping[str, Any] | None = None,
    models: Sequence[Mapping[str, Any]] | None = (ONNX_MODEL,),
    **over: Any,
) -> dict[str, Any]:
    """A raw stack config on ``cloud``: cluster ``name`` (with ``pool`` as its GPU pool), ``models``
    (None: no ``models`` key), then the other top-level keys in ``over``. A fresh copy each call:
    tests edit what they get."""
    cluster: dict[str, Any] = {"name": name, **WHERE[cloud]}
    if pool is not None:
        cluster["gpuNodePool"] = dict(pool)
    raw: dict[str, Any] = {"cloud": cloud, "cluster": cluster}
    if models is not None:
        raw["models"] = list(models)
    raw.update(over)
    return copy.deepcopy(raw)


def placeholder_models(base: Path) -> Path:
    """``base`` with ``m/model.onnx`` and a python model ``py/`` (model.py + model.onnx); returns ``base``."""
    (base / "m").mkdir(parents=True, exist_ok=True)
    (base / "m" / "model.onnx").write_bytes(b"onnx")
    py = base / "py"
    py.mkdir(exist_ok=True)
    (py / "model.py").write_text("class TritonPythonModel: ...\n")
    (py / "model.onnx").write_bytes(b"onnx")
    return base


MIG_1G5: dict[str, Any] = {"migStrategy": "single", "migProfile": "1g.5gb"}


def gke_a100(**over: Any) -> dict[str, Any]:
    """A GKE stack on one A100 (compute capability 8.0) split into 1g.5gb MIG slices, no models."""
    pool = gpu_pool("a2-highgpu-1g", "A100-SXM4-40GB", 1)
    return raw_config("gcp", name="triton-staging", pool=pool, **({"gpu": MIG_1G5, "models": None} | over))
