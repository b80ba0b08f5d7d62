"""The concrete input shapes of a published model, read from its ONNX graph as the publisher reads it.

The load test sends requests of these shapes (``triton_platform.values.autoscaling`` builds the
perf_analyzer command lines from them), and the config rules check before any resource that
every model has them (``triton_platform.config.rules.autoscaling``). Plain Python: no Pulumi.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from triton_platform.publisher.spec import ModelSpec


class LoadTestShapeError(ValueError):
    """A model input whose load-test shape cannot be derived; names the key, why, and an example."""

    def __init__(self, key: str, reason: str, example: str) -> None:
        self.key, self.reason, self.example = key, reason, example
        super().__init__(f"triton-platform:{key}: {reason} (example: {example})")


class ModelShapes(NamedTuple):
    """One published model and the ``--shape`` of each input (without the batch dimension)."""

    name: str
    shapes: dict[str, list[int]]
    max_batch_size: int


def _signature_file(spec: ModelSpec, base_dir: Path) -> Path | None:
    if "://" in spec.source:
        return None  # a remote source: perf_analyzer reads the dims from the served config
    source = base_dir / spec.source
    candidate = source / (spec.signature or "model.onnx") if spec.format == "python" else source
    # No graph here (a Python model without one, or a source not on this machine): perf_analyzer
    # then takes the dims from the config Triton serves, which are fixed unless declared dynamic.
    return candidate if candidate.is_file() else None


def model_shapes(spec: ModelSpec, base_dir: Path, *, key: str = "models[]") -> ModelShapes:
    """Input shapes of a published model, read from its ONNX graph exactly as the publisher does.

    The publisher declares ``dims`` as the graph shape without the batch dimension
    (``onnx_graph.triton_dims``); a remaining dynamic dimension takes the ``opt`` of the model's
    ``shapes`` entry (its TensorRT optimization profile).
    """
    path = _signature_file(spec, base_dir)
    if path is None:
        return ModelShapes(spec.name, {}, spec.max_batch_size)
    from triton_platform.publisher.onnx_graph import read_signature, triton_dims

    # The weight-free reader without onnx.checker: the program never imports onnx (or numpy) for
    # shapes; the provider host checks the whole graph when it publishes.
    sig = read_signature(path, model=spec.name, check=False)
    shapes: dict[str, list[int]] = {}
    for tensor in sig.inputs:
        dims = triton_dims(tensor, spec.max_batch_size, model=spec.name)
        if -1 in dims:
            profile = spec.shapes.get(tensor.name)
            if profile is None:
                raise LoadTestShapeError(
                    f"{key}.shapes",
                    f"input {tensor.name!r} of model {spec.name!r} has a dynamic dimension {dims}; the load test "
                    "needs a concrete shape (the opt of a shapes entry), or set triton.loadTest.enabled: false",
                    f"shapes: {{{tensor.name}: {{min: [1, 16], opt: [8, 16], max: [32, 16]}}}}",
                )
            opt = list(profile.opt)
            dims = opt[1:] if spec.max_batch_size > 0 else opt
        shapes[tensor.name] = [int(d) for d in dims]
    return ModelShapes(spec.name, shapes, spec.max_batch_size)
