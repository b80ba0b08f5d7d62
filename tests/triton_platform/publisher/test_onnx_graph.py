"""ONNX signatures and the spec-vs-graph checks, on small models built in code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fakes import (
    OPSET,
    corrupt_model,
    image_model,
    legacy_initializer_inputs_model,
    mlp_model,
    text_model,
)
from triton_platform.publisher.errors import ModelSourceError, ModelSpecError
from triton_platform.publisher.onnx_graph import (
    GraphSignature,
    TensorSpec,
    check_shapes,
    effective_shapes,
    read_signature,
    triton_dims,
)
from triton_platform.publisher.spec import ModelSpec, ShapeRange


def _spec(**kw: object) -> ModelSpec:
    base: dict[str, object] = {"name": "m", "source": "m.onnx", "format": "tensorrt"}
    return ModelSpec.model_validate({**base, **kw})


def test_mlp_signature(tmp_path: Path) -> None:
    sig = read_signature(mlp_model(tmp_path / "mlp.onnx"), model="mlp")
    assert sig.inputs == (TensorSpec("x", "TYPE_FP32", (-1, 4)),)
    assert sig.outputs == (TensorSpec("y", "TYPE_FP32", (-1, 3)),)
    assert sig.opset == OPSET


def test_image_and_int64_types(tmp_path: Path) -> None:
    img = read_signature(image_model(tmp_path / "img.onnx"), model="img")
    assert img.inputs[0] == TensorSpec("images", "TYPE_FP32", (-1, 3, 8, 8))
    txt = read_signature(text_model(tmp_path / "txt.onnx"), model="txt")
    assert [(t.name, t.data_type, t.dims) for t in txt.inputs] == [
        ("ids", "TYPE_INT64", (-1, -1)),
        ("mask", "TYPE_INT64", (-1, -1)),
    ]


def test_initializers_listed_as_inputs_are_ignored(tmp_path: Path) -> None:
    sig = read_signature(legacy_initializer_inputs_model(tmp_path / "legacy.onnx"), model="legacy")
    assert [t.name for t in sig.inputs] == ["x"]


def test_missing_file_names_model_and_key(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match=r"model 'resnet'.*models\[\]\.source.*does not exist"):
        read_signature(tmp_path / "nope.onnx", model="resnet")


def test_corrupt_file(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match=r"model 'bad'.*is not a valid ONNX model"):
        read_signature(corrupt_model(tmp_path / "bad.onnx"), model="bad")


def test_directory_is_not_an_onnx_file(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match="is not a file"):
        read_signature(tmp_path, model="dir")


def test_signature_memoised_until_the_file_changes(tmp_path: Path) -> None:
    path = mlp_model(tmp_path / "m.onnx")
    first = read_signature(path, model="m")
    assert read_signature(path, model="m") is first
    image_model(path)  # rewrite in place: different size and mtime
    assert read_signature(path, model="m").inputs[0].name == "images"


def test_check_shapes_accepts_matching_ranges(tmp_path: Path) -> None:
    sig = read_signature(image_model(tmp_path / "img.onnx"), model="img")
    spec = _spec(shapes={"images": {"min": [1, 3, 8, 8], "opt": [4, 3, 8, 8], "max": [8, 3, 8, 8]}})
    check_shapes(sig, spec)


def test_unknown_input_is_named(tmp_path: Path) -> None:
    sig = read_signature(image_model(tmp_path / "img.onnx"), model="img")
    spec = _spec(shapes={"input": {"min": [1, 3, 8, 8], "opt": [1, 3, 8, 8], "max": [8, 3, 8, 8]}})
    with pytest.raises(ModelSpecError) as err:
        check_shapes(sig, spec)
    message = str(err.value)
    assert "models[].shapes.input" in message
    assert "'input' is not an input of the ONNX graph (inputs: images)" in message
    assert "valid example" in message


def test_wrong_rank(tmp_path: Path) -> None:
    sig = read_signature(image_model(tmp_path / "img.onnx"), model="img")
    spec = _spec(shapes={"images": {"min": [1, 3, 8], "opt": [1, 3, 8], "max": [8, 3, 8]}})
    with pytest.raises(ModelSpecError, match=r"shapes\.images: rank 3 does not match the graph input's rank 4"):
        check_shapes(sig, spec)


def test_fixed_dimension_mismatch(tmp_path: Path) -> None:
    sig = read_signature(image_model(tmp_path / "img.onnx"), model="img")
    spec = _spec(shapes={"images": {"min": [1, 3, 8, 8], "opt": [1, 3, 16, 8], "max": [8, 3, 16, 8]}})
    with pytest.raises(ModelSpecError, match=r"opt\[2\] is 16 but the graph fixes dimension 2 to 8"):
        check_shapes(sig, spec)


def test_batch_range_must_cover_max_batch_size(tmp_path: Path) -> None:
    sig = read_signature(image_model(tmp_path / "img.onnx"), model="img")
    spec = _spec(max_batch_size=16, shapes={"images": {"min": [1, 3, 8, 8], "opt": [4, 3, 8, 8], "max": [8, 3, 8, 8]}})
    with pytest.raises(ModelSpecError, match=r"max\[0\] \(batch\) is 8, below maxBatchSize 16"):
        check_shapes(sig, spec)
    spec = _spec(shapes={"images": {"min": [2, 3, 8, 8], "opt": [4, 3, 8, 8], "max": [8, 3, 8, 8]}})
    with pytest.raises(ModelSpecError, match=r"min\[0\] \(batch\) is 2"):
        check_shapes(sig, spec)


def test_tensorrt_needs_profiles_for_non_batch_dynamic_dims(tmp_path: Path) -> None:
    sig = read_signature(text_model(tmp_path / "txt.onnx"), model="txt")
    with pytest.raises(ModelSpecError, match=r"shapes\.ids: input 'ids' has dynamic dimensions \[1\]"):
        check_shapes(sig, _spec())
    # The same graph served by onnxruntime needs no profile.
    check_shapes(sig, _spec(format="onnx"))


def test_effective_shapes_derive_batch_only_profiles(tmp_path: Path) -> None:
    sig = read_signature(image_model(tmp_path / "img.onnx"), model="img")
    shapes = effective_shapes(sig, _spec(max_batch_size=4))
    assert shapes == {"images": ShapeRange(min=[1, 3, 8, 8], opt=[4, 3, 8, 8], max=[4, 3, 8, 8])}
    given = {"min": [1, 3, 8, 8], "opt": [2, 3, 8, 8], "max": [16, 3, 8, 8]}
    assert effective_shapes(sig, _spec(shapes={"images": given}))["images"].max == [16, 3, 8, 8]


def test_triton_dims_strip_batch() -> None:
    t = TensorSpec("images", "TYPE_FP32", (-1, 3, 8, 8))
    assert triton_dims(t, 8) == [3, 8, 8]
    assert triton_dims(t, 0) == [-1, 3, 8, 8]


def test_fixed_batch_dim_cannot_batch(tmp_path: Path) -> None:
    sig = read_signature(image_model(tmp_path / "fixed.onnx", batch=1), model="fixed")
    assert sig.inputs[0].dims == (1, 3, 8, 8)
    assert triton_dims(sig.inputs[0], 0) == [1, 3, 8, 8]
    with pytest.raises(ModelSpecError, match=r"model 'fixed': models\[\]\.maxBatchSize: .*fixed first dimension 1"):
        triton_dims(sig.inputs[0], 8, model="fixed")


def test_signature_lookup() -> None:
    sig = GraphSignature(inputs=(TensorSpec("a", "TYPE_FP32", (-1,)),), outputs=(), opset=17)
    assert sig.input("a") is sig.inputs[0]
    assert sig.input("b") is None
