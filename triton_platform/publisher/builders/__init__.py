"""TensorRT engine builders: the local TensorRT Python API, or a Kubernetes Job on the GPU pool.

Both implement :class:`EngineBuilder` and are content-addressed: an engine already in the
bucket at ``job.engine_object`` is never rebuilt. ``open_builder`` makes the one a
:class:`BuilderRef` describes; the package owns it so that ``base`` imports no builder.

The two builders' modules are imported when first used (``open_builder``, or their names read
from this package, PEP 562 ``__getattr__``): the Pulumi program needs ``BuilderRef`` only, and
the builders run in the provider host (bench/program_eval.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from triton_platform.publisher.builders.base import BuilderRef, EngineBuilder, EngineJob, static_input_shapes

if TYPE_CHECKING:
    from triton_platform.publisher.builders.kubernetes_job import KubernetesJobBuilder, job_manifest, trtexec_args
    from triton_platform.publisher.builders.local_tensorrt import LocalTensorRTBuilder

# Names this package exports from its builder modules, loaded on first use.
_LAZY = {
    "KubernetesJobBuilder": "kubernetes_job",
    "job_manifest": "kubernetes_job",
    "trtexec_args": "kubernetes_job",
    "LocalTensorRTBuilder": "local_tensorrt",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def open_builder(ref: BuilderRef) -> EngineBuilder:
    """The engine builder ``ref`` describes (no cluster or GPU is touched until it builds)."""
    if ref.kind == "kubernetes":
        from triton_platform.publisher.builders.kubernetes_job import KubernetesJobBuilder

        return KubernetesJobBuilder(ref)
    from triton_platform.publisher.builders.local_tensorrt import LocalTensorRTBuilder

    return LocalTensorRTBuilder()


__all__ = [
    "BuilderRef",
    "EngineBuilder",
    "EngineJob",
    "KubernetesJobBuilder",
    "LocalTensorRTBuilder",
    "job_manifest",
    "open_builder",
    "static_input_shapes",
    "trtexec_args",
]
