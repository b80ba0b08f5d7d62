"""End to end: the ModelVersion provider publishes into a bucket and a real Triton serves it.

The real ``tritonserver`` of the nvidia-pytriton wheel (Python backend only, CPU) reads the
model repository straight from moto (S3) or the GCS emulator, in poll mode, exactly as the
cluster's Triton reads the bucket. The sample ``samples/python-onnx`` model runs its ONNX
graph with onnxruntime inside the Python backend, so Triton's answer must equal
onnxruntime's on the same file.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from components.providers.model_version import ModelVersionProvider
from samples import make_samples
from tests.support import servers
from tests.support.served import (
    POLL_SECONDS,
    LazyTriton,
    cpu_props,
    infer,
    lazy_triton,
    onnxruntime_output,
    python_onnx_source,
    python_spec,
    sample_batch,
)
from triton_platform.publisher.errors import PublisherError
from triton_platform.publisher.stores import StoreRef, open_store

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def s3_repository(moto_endpoint: servers.S3Endpoint) -> dict[str, Any]:
    bucket = f"e2e-{uuid.uuid4().hex[:12]}"
    servers.create_bucket(moto_endpoint, bucket)
    return {
        "kind": "s3",
        "bucket": bucket,
        "prefix": "models",
        "endpoint_url": moto_endpoint.url,
        "region": moto_endpoint.region,
    }


@pytest.fixture(scope="module")
def triton_s3(
    moto_endpoint: servers.S3Endpoint, s3_repository: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LazyTriton]:
    uri = StoreRef.model_validate(s3_repository).repository_uri()
    assert uri.startswith("s3://http://127.0.0.1:")
    with lazy_triton(uri, tmp_path_factory.mktemp("triton-s3"), moto_endpoint.env()) as lazy:
        yield lazy


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("moto_env")
def test_published_python_model_serves_from_s3(
    triton_s3: LazyTriton, s3_repository: dict[str, Any], tmp_path: Path
) -> None:
    source = python_onnx_source(tmp_path, "pyonnx", make_samples.PYTHON_ONNX_SEED)
    outs = ModelVersionProvider().create(cpu_props(python_spec("pyonnx"), s3_repository, tmp_path)).outs
    assert outs is not None
    assert outs["version"] == 1

    server = triton_s3()
    server.wait_model("pyonnx", 1)
    x = sample_batch()
    np.testing.assert_allclose(infer(server, "pyonnx", x), onnxruntime_output(source / "model.onnx", x), rtol=1e-5)


@pytest.mark.timeout(150)
@pytest.mark.usefixtures("moto_env")
def test_interrupted_update_keeps_v1_serving_then_v2_takes_over(
    triton_s3: LazyTriton, s3_repository: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triton_platform.publisher.stores.s3 import S3Store

    name = "pyonnx_fault"
    source = python_onnx_source(tmp_path, name, seed=101)
    spec = python_spec(name)
    provider = ModelVersionProvider()
    v1 = provider.create(cpu_props(spec, s3_repository, tmp_path)).outs
    assert v1 is not None
    assert v1["version"] == 1
    server = triton_s3()
    server.wait_model(name, 1)
    x = sample_batch()
    v1_expected = onnxruntime_output(source / "model.onnx", x)
    np.testing.assert_allclose(infer(server, name, x), v1_expected, rtol=1e-5)

    # New weights; the upload of the version's second file dies after some bytes went out.
    v1_bytes = (source / "model.onnx").read_bytes()
    make_samples.write_mlp(source / "model.onnx", seed=202)
    v2_expected = onnxruntime_output(source / "model.onnx", x)
    assert not np.allclose(v1_expected, v2_expected)
    news = cpu_props(spec, s3_repository, tmp_path)
    real_put = S3Store._put_file

    class InjectedFault(ConnectionError):
        pass

    def interrupted_put(self: S3Store, key: str, path: Path, **kwargs: Any) -> None:
        if not key.endswith("/model.py"):
            real_put(self, key, path, **kwargs)
            return
        advance = kwargs["advance"]
        sent = 0

        def failing_advance(n: int) -> None:
            nonlocal sent
            advance(n)
            sent += n
            if sent > 0:
                raise InjectedFault(f"injected: connection lost after {sent} bytes of {key}")

        real_put(self, key, path, **{**kwargs, "advance": failing_advance})

    monkeypatch.setattr(S3Store, "_put_file", interrupted_put)
    with pytest.raises(PublisherError, match="injected"):
        provider.update("id", v1, news)
    monkeypatch.setattr(S3Store, "_put_file", real_put)

    store = open_store(StoreRef.model_validate(s3_repository))
    # A half-published version directory: the new weights are there, the config does not name them
    # (whether the interrupted object itself landed depends on when the connection died).
    half = {o.key for o in store.list(f"models/{name}/2/")}
    assert f"models/{name}/2/model.onnx" in half, half
    assert half <= {f"models/{name}/2/model.onnx", f"models/{name}/2/model.py"}, half
    # Across several poll periods Triton keeps serving v1 and never loads the half version.
    for _ in range(4):
        time.sleep(POLL_SECONDS)
        assert server.model_ready(name, 1)
        assert not server.model_ready(name, 2)
        np.testing.assert_allclose(infer(server, name, x), v1_expected, rtol=1e-5)
    assert (source / "model.onnx").read_bytes() != v1_bytes

    v2 = provider.update("id", v1, news).outs
    assert v2 is not None
    assert v2["version"] == 2
    assert v2["published_versions"] == [2]
    server.wait_model(name, 2)
    deadline = time.monotonic() + 30
    while server.model_ready(name, 1) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not server.model_ready(name, 1)
    np.testing.assert_allclose(infer(server, name, x), v2_expected, rtol=1e-5)
    np.testing.assert_allclose(infer(server, name, x, version=2), v2_expected, rtol=1e-5)

    keys = sorted(o.key for o in store.list(f"models/{name}/"))
    assert keys == [f"models/{name}/2/model.onnx", f"models/{name}/2/model.py", f"models/{name}/config.pbtxt"]
    assert not store.list(f"_cache/pending/{name}/")


@pytest.mark.timeout(150)
def test_published_python_model_serves_from_gcs(
    gcs_endpoint: servers.GcsEndpoint,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in gcs_endpoint.env().items():
        monkeypatch.setenv(key, value)
    bucket = f"e2e-{uuid.uuid4().hex[:12]}"
    servers.create_bucket(gcs_endpoint, bucket)
    store = {"kind": "gcs", "bucket": bucket, "prefix": "models"}
    source = python_onnx_source(tmp_path, "pyonnx", make_samples.PYTHON_ONNX_SEED)
    outs = ModelVersionProvider().create(cpu_props(python_spec("pyonnx"), store, tmp_path)).outs
    assert outs is not None
    assert outs["version"] == 1

    uri = StoreRef.model_validate(store).repository_uri()
    assert uri == f"gs://{bucket}/models"
    with lazy_triton(uri, tmp_path_factory.mktemp("triton-gcs"), gcs_endpoint.env()) as lazy:
        server = lazy()
        server.wait_model("pyonnx", 1)
        x = sample_batch()
        np.testing.assert_allclose(infer(server, "pyonnx", x), onnxruntime_output(source / "model.onnx", x), rtol=1e-5)
