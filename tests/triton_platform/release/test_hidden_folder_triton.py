"""Does the real ``tritonserver`` skip a hidden folder (``<prefix>/.releases/``) of the repository it polls?

It does not (Triton 2.51, the pytriton wheel): every subdirectory of a model repository is a
model to it, hidden or not, on a local path and on ``s3://`` alike. A ``.releases`` folder in
``<prefix>`` makes a pod serving ``<prefix>`` log ``Poll failed for model directory '.releases'``
and, with Triton's default ``--exit-on-error=true`` (the chart's), fail to start. So a release's
own location must not lie in a repository some pod serves as a whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import servers
from tests.support.triton import TritonUnavailable, run_triton

pytestmark = pytest.mark.integration

_MODEL_PY = """import triton_python_backend_utils as pb_utils
class TritonPythonModel:
    def execute(self, requests):
        return [pb_utils.InferenceResponse([pb_utils.Tensor("OUT", pb_utils.get_input_tensor_by_name(r, "IN")
                .as_numpy())]) for r in requests]
"""


def _config(name: str) -> str:
    return (
        f'name: "{name}"\nbackend: "python"\nmax_batch_size: 0\n'
        'input [{name: "IN" data_type: TYPE_FP32 dims: [1]}]\noutput [{name: "OUT" data_type: TYPE_FP32 dims: [1]}]\n'
    )


def _repository() -> dict[str, str]:
    """A served model ``m`` and, beside it, a release location holding the same model."""
    files = {}
    for root in ("", ".releases/0123abcd/"):
        files[f"{root}m/1/model.py"] = _MODEL_PY
        files[f"{root}m/config.pbtxt"] = _config("m")
    return files


def _run(repository: str, workdir: Path, env: dict[str, str] | None = None, strict: bool = False) -> str:
    extra = ["--exit-on-error=true"] if strict else []
    try:
        with run_triton(repository, workdir=workdir, env=env, extra_args=extra) as server:
            server.wait_model("m", 1)
            return server.logs(200)
    except TritonUnavailable as exc:
        # The test command installs it (tests/support/tools.py): missing means a broken setup, never a skip.
        pytest.fail(f"tritonserver unavailable: {exc}")


def _local(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    for rel, text in _repository().items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    return repo


def test_a_local_repository_treats_the_hidden_folder_as_a_model(tmp_path: Path) -> None:
    logs = _run(str(_local(tmp_path)), tmp_path / "w")
    assert "Poll failed for model directory '.releases'" in logs


def test_with_exit_on_error_the_hidden_folder_stops_triton(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="failed to load all models"):
        _run(str(_local(tmp_path)), tmp_path / "w", strict=True)


def test_an_s3_repository_treats_the_hidden_folder_as_a_model(
    tmp_path: Path, moto_endpoint: servers.S3Endpoint
) -> None:
    servers.create_bucket(moto_endpoint, "hidden")
    s3 = moto_endpoint.client()
    for rel, text in _repository().items():
        s3.put_object(Bucket="hidden", Key=f"models/{rel}", Body=text.encode())
    logs = _run(f"s3://{moto_endpoint.url}/hidden/models", tmp_path / "w", env=moto_endpoint.env())
    assert "Poll failed for model directory '.releases'" in logs
