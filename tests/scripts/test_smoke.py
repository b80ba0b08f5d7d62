"""scripts/smoke.py: the smoke request of `make dev`, against a real tritonserver.

The server is the real ``tritonserver`` of the nvidia-pytriton wheel (tests/support/triton.py,
Python backend only): ``sample-mlp`` runs the sample ONNX graph with onnxruntime inside Triton (the
samples/python-onnx backend), so the script's own onnxruntime comparison must match;
``other-mlp`` serves the same graph with other weights, so it must not. The script takes the
stack output ``tritonHttp`` as it is (``http://...``), and fails when it cannot compare.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from samples import make_samples
from scripts import smoke
from tests.support.triton import TritonServer, TritonUnavailable, run_triton

REPO = Path(__file__).resolve().parents[2]
CONFIG = """name: "{name}"
backend: "python"
max_batch_size: 32
input [ {{ name: "INPUT0" data_type: TYPE_FP32 dims: [ {features} ] }} ]
output [ {{ name: "OUTPUT0" data_type: TYPE_FP32 dims: [ {classes} ] }} ]
instance_group [ {{ kind: KIND_CPU count: 1 }} ]
"""


def _python_model(repository: Path, name: str, seed: int) -> None:
    version = repository / name / "1"
    version.mkdir(parents=True)
    shutil.copy(REPO / "samples" / "python-onnx" / "model.py", version / "model.py")
    make_samples.write_mlp(version / "model.onnx", seed)
    config = CONFIG.format(name=name, features=make_samples.FEATURES, classes=make_samples.CLASSES)
    (repository / name / "config.pbtxt").write_text(config)


@pytest.fixture(scope="module")
def sample_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample-mlp ONNX file, as `make samples` writes it."""
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    make_samples.write_mlp(path, make_samples.MLP_SEED)
    return path


@pytest.fixture(scope="module")
def triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    repository = tmp_path_factory.mktemp("model-repository")
    _python_model(repository, "sample-mlp", make_samples.MLP_SEED)
    _python_model(repository, "other-mlp", make_samples.PYTHON_ONNX_SEED)
    try:
        with run_triton(str(repository), workdir=tmp_path_factory.mktemp("triton")) as server:
            server.wait_model("sample-mlp", 1)
            server.wait_model("other-mlp", 1)
            yield server
    except TritonUnavailable as exc:
        # The test command installs it: missing means a broken setup, never a silent skip.
        pytest.fail(f"tritonserver unavailable: {exc}")


def _smoke(*args: str) -> int:
    return smoke.main(["--wait", "20", *args])


@pytest.mark.integration
def test_the_triton_http_output_as_is_passes(
    triton: TritonServer, sample_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{triton.http_port}"  # what stacks/local.py exports as tritonHttp
    assert _smoke("--url", url, "--model", "sample-mlp", "--onnx", str(sample_onnx)) == 0
    out = capsys.readouterr().out
    assert "Triton's answer matches onnxruntime's" in out
    assert "INPUT0[4, 16] -> OUTPUT0" in out


@pytest.mark.integration
def test_a_bare_host_and_port_still_works(triton: TritonServer, sample_onnx: Path) -> None:
    assert _smoke("--url", triton.http_url, "--model", "sample-mlp", "--onnx", str(sample_onnx)) == 0


@pytest.mark.integration
def test_an_answer_that_differs_from_onnxruntime_fails(
    triton: TritonServer, sample_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{triton.http_port}"
    assert _smoke("--url", url, "--model", "other-mlp", "--onnx", str(sample_onnx)) == 1
    err = capsys.readouterr().err
    assert "Triton's answer differs from onnxruntime's" in err
    assert "OUTPUT0: values differ by up to" in err


@pytest.mark.integration
def test_a_model_triton_does_not_serve_fails_after_the_wait(
    triton: TritonServer, sample_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{triton.http_port}"
    assert smoke.main(["--url", url, "--model", "nope", "--onnx", str(sample_onnx), "--wait", "1"]) == 1
    assert "has no ready model 'nope' after 1s" in capsys.readouterr().err


def test_without_onnxruntime_the_check_fails_instead_of_passing(
    monkeypatch: pytest.MonkeyPatch, sample_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    # Port 9 (discard) on loopback: the script must stop before it contacts anything.
    assert smoke.main(["--url", "http://127.0.0.1:9", "--onnx", str(sample_onnx), "--wait", "0"]) == 2
    err = capsys.readouterr().err
    assert "onnxruntime is not installed" in err
    assert "pip install -r requirements.txt" in err


def test_without_the_onnx_file_the_check_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--url", "http://127.0.0.1:9", "--onnx", str(tmp_path / "none.onnx"), "--wait", "0"]) == 2
    assert "make samples" in capsys.readouterr().err


def test_the_program_requirements_hold_onnxruntime() -> None:
    """The dev stack's .venv (requirements.txt) can always compare."""
    pins = (REPO / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("onnxruntime==") for line in pins)


@pytest.mark.parametrize(
    ("url", "address", "ssl"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", False),
        ("http://127.0.0.1:8000/", "127.0.0.1:8000", False),
        ("127.0.0.1:8000", "127.0.0.1:8000", False),
        ("https://triton.example.com", "triton.example.com:443", True),
        ("http://triton.triton.svc.cluster.local:8000", "triton.triton.svc.cluster.local:8000", False),
        ("http://[::1]:8000", "[::1]:8000", False),
    ],
)
def test_url_forms(url: str, address: str, ssl: bool) -> None:
    assert smoke.parse_url(url) == smoke.Endpoint(address, ssl)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("grpc://127.0.0.1:8001", "http:// or https://, not grpc://"),
        ("http://127.0.0.1:8000/v2/models", "without a path"),
        ("http://127.0.0.1:99999", "the port is not a number"),
        ("http://:8000", "no host"),
    ],
)
def test_bad_urls_are_named(url: str, why: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--url", url, "--wait", "0"]) == 2
    assert why in capsys.readouterr().err
