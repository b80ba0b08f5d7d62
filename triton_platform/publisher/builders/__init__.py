"""TensorRT engine builders: the local TensorRT Python API, or a Kubernetes Job on the GPU pool.

Both implement :class:`EngineBuilder` and are content-addressed: an engine already in the
bucket at ``job.engine_object`` is never rebuilt.
"""

from __future__ import annotations

from triton_platform.publisher.builders.base import EngineBuilder, EngineJob
from triton_platform.publisher.builders.kubernetes_job import KubernetesJobBuilder, job_manifest, trtexec_args
from triton_platform.publisher.builders.local_tensorrt import LocalTensorRTBuilder

__all__ = [
    "EngineBuilder",
    "EngineJob",
    "KubernetesJobBuilder",
    "LocalTensorRTBuilder",
    "job_manifest",
    "trtexec_args",
]
