"""End to end: the ModelVersion provider publishes into a bucket and a real Triton serves it.

The real ``tritonserver`` of the nvidia-pytriton wheel (Python backend only, CPU) reads the
model repository straight from moto (S3) or the GCS emulator, in poll mode, exactly as the
cluster's Triton reads the bucket. The sample ``samples/python-onnx`` model runs its ONNX
graph with onnxruntime inside the Python backend, so Triton's answer must equal
onnxruntime's on the same file.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from components.providers.model_version import ModelVersionProvider
from samples import make_samples
from tests.integration import servers
from tests.integration.triton import TritonServer, TritonUnavailable, run_triton
from tests.publisher.fakes import provider_props
from triton_platform.publisher.errors import PublisherError
from triton_platform.publisher.spec import ModelSpec
from triton_platform.publisher.stores.base import StoreRef, open_store

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
POLL_SECONDS = 1


def _python_onnx(base: Path, name: str, seed: int) -> Path:
    """samples/python-onnx (model.py + a model.onnx with weights from ``seed``) under ``base/name``."""
    source = base / name
    source.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "samples" / "python-onnx" / "model.py", source / "model.py")
    make_samples.write_mlp(source / "model.onnx", seed)
    return source


def _spec(name: str) -> ModelSpec:
    return ModelSpec(name=name, source=name, format="python", max_batch_size=8, instance_kind="cpu")


def _props(spec: ModelSpec, store: dict[str, Any], base: Path) -> dict[str, Any]:
    return provider_props(spec, store, base, instance_kind="KIND_CPU")


def _batch(seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((3, make_samples.FEATURES)).astype(np.float32)


def _infer(server: TritonServer, model: str, x: np.ndarray, version: int | None = None) -> np.ndarray:
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(server.http_url, network_timeout=30.0)
    try:
        inp = httpclient.InferInput(make_samples.INPUT_NAME, list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        result = client.infer(model, [inp], model_version=str(version or ""))
        out = result.as_numpy(make_samples.OUTPUT_NAME)
        assert out is not None
        return out
    finally:
        client.close()


def _onnxruntime(model_path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run([make_samples.OUTPUT_NAME], {make_samples.INPUT_NAME: x})[0])


class LazyTriton:
    """Starts Triton on first use: it refuses a repository prefix that holds nothing yet."""

    def __init__(self, repository: str, workdir: Path, env: dict[str, str]) -> None:
        self.repository, self.workdir, self.env = repository, workdir, env
        self._stack = contextlib.ExitStack()
        self._server: TritonServer | None = None

    def __call__(self) -> TritonServer:
        if self._server is None:
            try:
                self._server = self._stack.enter_context(
                    run_triton(self.repository, workdir=self.workdir, env=self.env, poll_seconds=POLL_SECONDS)
                )
            except TritonUnavailable as exc:
                # The test command installs it: missing means a broken setup, never a silent skip.
                pytest.fail(f"tritonserver unavailable: {exc}")
        return self._server

    def close(self) -> None:
        self._stack.close()


@contextlib.contextmanager
def _lazy_triton(repository: str, workdir: Path, env: dict[str, str]) -> Iterator[LazyTriton]:
    lazy = LazyTriton(repository, workdir, env)
    try:
        yield lazy
    finally:
        lazy.close()


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
    with _lazy_triton(uri, tmp_path_factory.mktemp("triton-s3"), moto_endpoint.env()) as lazy:
        yield lazy


@pytest.fixture
def s3_env(moto_endpoint: servers.S3Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in moto_endpoint.env().items():
        monkeypatch.setenv(key, value)


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("s3_env")
def test_published_python_model_serves_from_s3(
    triton_s3: LazyTriton, s3_repository: dict[str, Any], tmp_path: Path
) -> None:
    source = _python_onnx(tmp_path, "pyonnx", make_samples.PYTHON_ONNX_SEED)
    outs = ModelVersionProvider().create(_props(_spec("pyonnx"), s3_repository, tmp_path)).outs
    assert outs is not None
    assert outs["version"] == 1

    server = triton_s3()
    server.wait_model("pyonnx", 1)
    x = _batch()
    np.testing.assert_allclose(_infer(server, "pyonnx", x), _onnxruntime(source / "model.onnx", x), rtol=1e-5)


@pytest.mark.timeout(150)
@pytest.mark.usefixtures("s3_env")
def test_interrupted_update_keeps_v1_serving_then_v2_takes_over(
    triton_s3: LazyTriton, s3_repository: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triton_platform.publisher.stores.s3 import S3Store

    name = "pyonnx_fault"
    source = _python_onnx(tmp_path, name, seed=101)
    spec = _spec(name)
    provider = ModelVersionProvider()
    v1 = provider.create(_props(spec, s3_repository, tmp_path)).outs
    assert v1 is not None
    assert v1["version"] == 1
    server = triton_s3()
    server.wait_model(name, 1)
    x = _batch()
    v1_expected = _onnxruntime(source / "model.onnx", x)
    np.testing.assert_allclose(_infer(server, name, x), v1_expected, rtol=1e-5)

    # New weights; the upload of the version's second file dies after some bytes went out.
    v1_bytes = (source / "model.onnx").read_bytes()
    make_samples.write_mlp(source / "model.onnx", seed=202)
    v2_expected = _onnxruntime(source / "model.onnx", x)
    assert not np.allclose(v1_expected, v2_expected)
    news = _props(spec, s3_repository, tmp_path)
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
        np.testing.assert_allclose(_infer(server, name, x), v1_expected, rtol=1e-5)
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
    np.testing.assert_allclose(_infer(server, name, x), v2_expected, rtol=1e-5)
    np.testing.assert_allclose(_infer(server, name, x, version=2), v2_expected, rtol=1e-5)

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
    source = _python_onnx(tmp_path, "pyonnx", make_samples.PYTHON_ONNX_SEED)
    outs = ModelVersionProvider().create(_props(_spec("pyonnx"), store, tmp_path)).outs
    assert outs is not None
    assert outs["version"] == 1

    uri = StoreRef.model_validate(store).repository_uri()
    assert uri == f"gs://{bucket}/models"
    with _lazy_triton(uri, tmp_path_factory.mktemp("triton-gcs"), gcs_endpoint.env()) as lazy:
        server = lazy()
        server.wait_model("pyonnx", 1)
        x = _batch()
        np.testing.assert_allclose(_infer(server, "pyonnx", x), _onnxruntime(source / "model.onnx", x), rtol=1e-5)
