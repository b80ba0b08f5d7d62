"""TensorRT engine builders: the local TensorRT Python API, or a Kubernetes Job on the GPU pool.

Both implement :class:`EngineBuilder` and are content-addressed: an engine already in the
bucket at ``job.engine_object`` is never rebuilt. ``open_builder`` makes the one a
:class:`BuilderRef` describes; the package owns it so that ``base`` imports no builder.
"""

from __future__ import annotations

from triton_platform.publisher.builders.base import BuilderRef, EngineBuilder, EngineJob, static_input_shapes
from triton_platform.publisher.builders.kubernetes_job import KubernetesJobBuilder, job_manifest, trtexec_args
from triton_platform.publisher.builders.local_tensorrt import LocalTensorRTBuilder


def open_builder(ref: BuilderRef) -> EngineBuilder:
    """The engine builder ``ref`` describes (no cluster or GPU is touched until it builds)."""
    if ref.kind == "kubernetes":
        return KubernetesJobBuilder(ref)
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
