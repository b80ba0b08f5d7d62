"""Engine jobs for the builder tests: a TensorRT spec, its EngineJob, a bucket holding its ONNX.

Shared by the Kubernetes Job builder's and the local TensorRT builder's tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.fakes import MemoryStore
from triton_platform.catalog import versions
from triton_platform.publisher import fingerprint as fp
from triton_platform.publisher.builders import EngineJob
from triton_platform.publisher.spec import ModelSpec
from triton_platform.publisher.stores.ref import StoreRef

ONNX_SHA = "0" * 63 + "1"
CAL_SHA = "c" * 64
RELEASE = "25.01"
TRT_VERSION = versions.NGC_RELEASES[RELEASE].tensorrt
# The static keys private_engine_cache puts in the environment: no manifest may show it.
SECRET_SENTINEL = "s3cr3t-value-that-must-never-appear"

S3 = StoreRef(kind="s3", bucket="acme-models", region="eu-west-1")


def private_engine_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private fingerprint cache, and static cloud keys in the environment that no Job may carry."""
    monkeypatch.setenv(fp.CACHE_ENV, str(tmp_path / "hash-cache"))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_SENTINEL)
    monkeypatch.setenv("AZURE_STORAGE_KEY", SECRET_SENTINEL)


def engine_spec(**kw: Any) -> ModelSpec:
    """A TensorRT model spec (``resnet``, batch 8) with ``kw`` set."""
    base: dict[str, Any] = {"name": "resnet", "source": "resnet.onnx", "format": "tensorrt", "max_batch_size": 8}
    return ModelSpec.model_validate({**base, **kw})


def engine_job(spec: ModelSpec | None = None, *, cc: str = "8.0", **kw: Any) -> EngineJob:
    """The engine job of ``spec`` for compute capability ``cc`` (int8: with the calibration cache)."""
    spec = spec or engine_spec()
    cal = CAL_SHA if spec.precision == "int8" else None
    return EngineJob.for_model(
        spec,
        onnx_sha256=ONNX_SHA,
        cache_prefix="_cache",
        compute_capability=cc,
        ngc_release=RELEASE,
        calibration_sha256=cal,
        **kw,
    )


def store_with_onnx(job: EngineJob) -> MemoryStore:
    """An in-memory S3 bucket holding the job's ONNX where builders fetch it."""
    store = MemoryStore(S3)
    store.put(job.onnx_object, b"onnx-bytes")
    return store
