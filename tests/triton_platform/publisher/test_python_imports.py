"""A Python model's imports against the stock Triton image's Python environment, read with ast."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.publisher.model_publisher import ModelPublisher, ModelPublisherArgs
from samples import make_samples
from tests.support.pulumi_mocks import RecordingMocks
from tests.support.stacks import REPO
from triton_platform.publisher.python_imports import (
    STOCK_PYTHON_MODULES,
    imported_modules,
    missing_modules,
    python_import_warnings,
)
from triton_platform.publisher.spec import ModelSpec

ONNXRUNTIME_MODEL = """\
import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils
from torch.nn import functional
"""


def _model(tmp_path: Path, name: str, source: str, *extra: str) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "model.py").write_text(textwrap.dedent(source))
    for module in extra:
        (directory / module).write_text("VALUE = 1\n")
    return directory


def _spec(name: str, source: str = "", fmt: str = "python") -> ModelSpec:
    return ModelSpec(name=name, source=source or name, format=fmt)


def test_the_sample_needs_nothing_the_stock_image_lacks() -> None:
    sample = REPO / "samples" / "python-onnx"
    assert missing_modules(sample) == []
    assert {m for m, _ in imported_modules((sample / "model.py").read_text())} >= {
        "numpy",
        "triton_python_backend_utils",
    }
    assert python_import_warnings(_spec("preprocess", "samples/python-onnx"), REPO) == []


def test_each_missing_import_is_one_warning_naming_the_model_and_the_import(tmp_path: Path) -> None:
    _model(tmp_path, "ortmodel", ONNXRUNTIME_MODEL)
    warnings = python_import_warnings(_spec("tokenizer", "ortmodel"), tmp_path)
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("model 'tokenizer': ortmodel/model.py line 5 imports 'onnxruntime'")
    assert warnings[1].startswith("model 'tokenizer': ortmodel/model.py line 7 imports 'torch'")
    assert all("EXECUTION_ENV_PATH" in w for w in warnings)


def test_stdlib_numpy_backend_utils_local_and_optional_imports_are_fine(tmp_path: Path) -> None:
    source = """\
        from __future__ import annotations
        import collections.abc, json, sys
        from concurrent.futures import ThreadPoolExecutor
        import numpy.typing as npt
        import triton_python_backend_utils as pb_utils
        import helpers
        from tokenizer_pkg import vocab
        from . import sibling
        try:
            import orjson as fastjson
        except ImportError:
            fastjson = None
        try:
            import ujson
        except (ModuleNotFoundError, ValueError):
            ujson = None
        def later():
            import scipy  # only when called, still needed: reported
    """
    directory = _model(tmp_path, "m", source, "helpers.py")
    (directory / "tokenizer_pkg").mkdir()
    assert missing_modules(directory) == [("scipy", 18)]


def test_an_import_guarded_by_another_exception_still_counts() -> None:
    source = "try:\n    import torch\nexcept KeyError:\n    pass\n"
    assert imported_modules(source) == [("torch", 2)]


def test_a_model_that_does_not_parse_is_reported(tmp_path: Path) -> None:
    _model(tmp_path, "broken", "def execute(:\n")
    (warning,) = python_import_warnings(_spec("broken"), tmp_path)
    assert warning.startswith("model 'broken': broken/model.py does not parse")
    assert "line 1" in warning


def test_nothing_to_check_for_other_formats_bucket_sources_or_missing_model_py(tmp_path: Path) -> None:
    assert python_import_warnings(_spec("mlp", "mlp.onnx", "onnx"), tmp_path) == []
    assert python_import_warnings(_spec("remote", "s3://bucket/models/pre"), tmp_path) == []
    (tmp_path / "empty").mkdir()
    assert python_import_warnings(_spec("empty"), tmp_path) == []


def test_the_stock_environment_is_what_tritons_build_installs() -> None:
    # Standard library, numpy<2 + virtualenv (pip), Ubuntu's pip/setuptools/wheel, the backend's modules.
    assert {"os", "json", "asyncio", "numpy", "triton_python_backend_utils", "virtualenv"} <= STOCK_PYTHON_MODULES
    assert not {"onnxruntime", "torch", "tensorrt", "transformers", "scipy", "pandas"} & STOCK_PYTHON_MODULES


@pulumi.runtime.test
def test_model_publisher_warns_at_preview(
    mocks: RecordingMocks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    _model(tmp_path, "ortmodel", ONNXRUNTIME_MODEL)
    make_samples.write_mlp(tmp_path / "ortmodel" / "model.onnx", 3)
    warned: list[tuple[str, Any]] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, resource=None, *a, **k: warned.append((message, resource)))
    publisher = ModelPublisher(
        "publisher",
        ModelPublisherArgs(
            models=[ModelSpec(name="tokenizer", source="ortmodel", format="python")],
            store={"kind": "s3", "bucket": "models", "endpoint_url": "http://127.0.0.1:9000"},
            base_dir=str(tmp_path),
            instance_kind="KIND_CPU",
        ),
    )
    assert [m.split(" line ")[0] for m, _ in warned] == ["model 'tokenizer': ortmodel/model.py"] * 2
    assert all(resource is publisher for _, resource in warned)
    return publisher.versions
