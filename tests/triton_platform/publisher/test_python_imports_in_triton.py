"""The documented Python-backend example loads in the stock Triton image's Python environment.

The stock image's Python backend has the standard library, numpy and triton_python_backend_utils
only (triton_platform.publisher.python_imports). The real ``tritonserver`` (nvidia-pytriton) runs
its Python stub in an environment built the same way: this interpreter's standard library and
numpy, nothing else (no onnxruntime). There ``samples/python-onnx`` loads and answers exactly as
onnxruntime does on the same ONNX file (what the docs and scripts/smoke.py promise), while a
model importing onnxruntime fails to load: the environment is as bare as the image's, and the
publisher's import check warns about exactly that model.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
import venv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from components.providers.model_version import ModelVersionProvider
from samples import make_samples
from tests.support import servers
from tests.support.served import (
    cpu_props,
    infer,
    onnxruntime_output,
    python_onnx_source,
    python_spec,
    sample_batch,
)
from tests.support.stacks import REPO
from tests.support.triton import TritonServer, TritonUnavailable, run_triton
from triton_platform.publisher.python_imports import python_import_warnings
from triton_platform.publisher.spec import ModelSpec
from triton_platform.publisher.stores import StoreRef

pytestmark = pytest.mark.integration

# What the documented example was before: a model.py that needs onnxruntime.
NEEDS_ONNXRUNTIME = """\
import onnxruntime
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.version = onnxruntime.__version__  # loads wherever onnxruntime imports

    def execute(self, requests):
        return []
"""


def stock_python(workdir: Path) -> Path:
    """A virtualenv with this interpreter's standard library and numpy only; its ``bin``."""
    import numpy

    env = workdir / "stock-python"
    venv.create(env, with_pip=False, symlinks=True)
    (site,) = env.glob("lib/python3.*/site-packages")
    numpy_dir = Path(numpy.__file__).resolve().parent
    for package in (numpy_dir, numpy_dir.parent / "numpy.libs"):
        if package.exists():
            (site / package.name).symlink_to(package)
    return env / "bin"


@pytest.fixture(scope="module")
def stock_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bin_dir = stock_python(tmp_path_factory.mktemp("stock"))
    python = str(bin_dir / "python3")
    assert subprocess.run([python, "-c", "import numpy, json, struct"], check=False, timeout=60).returncode == 0
    missing = subprocess.run([python, "-c", "import onnxruntime"], capture_output=True, check=False, timeout=60)
    assert missing.returncode != 0, "the stock-like environment must not have onnxruntime"
    return bin_dir


@pytest.fixture
def repository(moto_endpoint: servers.S3Endpoint, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    bucket = f"stock-{uuid.uuid4().hex[:10]}"
    servers.create_bucket(moto_endpoint, bucket)
    for key, value in moto_endpoint.env().items():
        monkeypatch.setenv(key, value)
    return {"kind": "s3", "bucket": bucket, "prefix": "models", "endpoint_url": moto_endpoint.url}


def _unavailable_reason(server: TritonServer, model: str, timeout: float = 60.0) -> str:
    """The reason Triton gives for a model it failed to load (repository index), once it has tried."""
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(server.http_url, network_timeout=30.0)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for entry in client.get_model_repository_index():
                if entry.get("name") == model and entry.get("state") == "UNAVAILABLE" and entry.get("reason"):
                    return str(entry["reason"])
            time.sleep(0.5)
    finally:
        client.close()
    raise TimeoutError(f"{model} did not fail to load within {timeout:.0f} s:\n{server.logs()}")


@pytest.fixture
def published(repository: dict[str, Any], tmp_path: Path) -> Path:
    """The sample (as make_samples writes it) and a model importing onnxruntime, published to moto."""
    source = python_onnx_source(tmp_path, "preprocess", make_samples.PYTHON_ONNX_SEED)
    needs = tmp_path / "needs_ort"
    needs.mkdir()
    (needs / "model.py").write_text(NEEDS_ONNXRUNTIME)
    shutil.copy(source / "model.onnx", needs / "model.onnx")
    for name in ("preprocess", "needs_ort"):
        outs = ModelVersionProvider().create(cpu_props(python_spec(name), repository, tmp_path)).outs
        assert outs is not None
    return tmp_path


@pytest.mark.timeout(240)
def test_sample_loads_and_answers_like_onnxruntime_in_a_numpy_only_environment(
    stock_bin: Path, repository: dict[str, Any], published: Path, moto_endpoint: servers.S3Endpoint
) -> None:
    uri = StoreRef.model_validate(repository).repository_uri()
    env = {**moto_endpoint.env(), "PATH": f"{stock_bin}{os.pathsep}{os.environ['PATH']}"}
    try:
        with run_triton(uri, workdir=published / "triton", env=env) as server:
            server.wait_model("preprocess", 1, timeout=60)
            for seed in (7, 8, 9):
                x = sample_batch(seed)
                want = onnxruntime_output(published / "preprocess" / "model.onnx", x)
                np.testing.assert_array_equal(infer(server, "preprocess", x), want)
            reason = _unavailable_reason(server, "needs_ort")
    except TritonUnavailable as exc:
        pytest.fail(f"tritonserver unavailable: {exc}")
    assert "No module named 'onnxruntime'" in reason, reason
    # The publisher's check says so before anything is published: for that model, not the sample.
    assert python_import_warnings(python_spec("preprocess"), published) == []
    (warning,) = python_import_warnings(python_spec("needs_ort"), published)
    assert "model 'needs_ort'" in warning
    assert "imports 'onnxruntime'" in warning


def test_the_readme_example_is_this_sample() -> None:
    readme = (REPO / "docs" / "models-and-releases.md").read_text()
    assert "source: samples/python-onnx" in readme
    spec = ModelSpec(name="preprocess", source="samples/python-onnx", format="python")
    assert python_import_warnings(spec, REPO) == []
