"""The python-onnx sample served by a real Triton: its source, spec and props, a batch, an inference.

``samples/python-onnx`` runs its ONNX graph with onnxruntime inside Triton's Python backend (the
only backend of the pytriton wheel), so Triton's answer must equal onnxruntime's on the same file.
``LazyTriton`` starts the server on first use: Triton refuses a repository prefix that holds nothing.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from samples import make_samples
from tests.support.fakes import provider_props
from tests.support.stacks import REPO
from tests.support.triton import TritonServer, TritonUnavailable, run_triton
from triton_platform.publisher.spec import ModelSpec

POLL_SECONDS = 1


def python_onnx_source(base: Path, name: str, seed: int) -> Path:
    """samples/python-onnx (model.py + a model.onnx with weights from ``seed``) under ``base/name``."""
    source = base / name
    source.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "samples" / "python-onnx" / "model.py", source / "model.py")
    make_samples.write_mlp(source / "model.onnx", seed)
    return source


def python_spec(name: str) -> ModelSpec:
    return ModelSpec(name=name, source=name, format="python", max_batch_size=8, instance_kind="cpu")


def cpu_props(spec: ModelSpec, store: dict[str, Any], base: Path) -> dict[str, Any]:
    return provider_props(spec, store, base, instance_kind="KIND_CPU")


def sample_batch(seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((3, make_samples.FEATURES)).astype(np.float32)


def infer(server: TritonServer, model: str, x: np.ndarray, version: int | None = None) -> np.ndarray:
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


def onnxruntime_output(model_path: Path, x: np.ndarray) -> np.ndarray:
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
def lazy_triton(repository: str, workdir: Path, env: dict[str, str]) -> Iterator[LazyTriton]:
    lazy = LazyTriton(repository, workdir, env)
    try:
        yield lazy
    finally:
        lazy.close()


def infer_status(
    http_url: str, model: str, *, rows: int = 1, cols: int = 1, name: str = "x", datatype: str = "FP32"
) -> int:
    """The HTTP status of one KServe-v2 infer request of ``rows`` x ``cols`` ones (4xx/5xx returned, not raised)."""
    body = {"inputs": [{"name": name, "shape": [rows, cols], "datatype": datatype, "data": [1] * (rows * cols)}]}
    request = urllib.request.Request(
        f"http://{http_url}/v2/models/{model}/infer", data=json.dumps(body).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
