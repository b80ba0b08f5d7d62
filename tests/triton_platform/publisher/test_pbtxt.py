"""config.pbtxt rendering, checked by parsing it with Triton's own ModelConfig proto."""

from __future__ import annotations

from pathlib import Path

import pytest
from tritonclient.grpc import model_config_pb2 as mc

from tests.support.fakes import image_model, mlp_model
from triton_platform.publisher.errors import ConfigPbtxtError, ModelSpecError
from triton_platform.publisher.onnx_graph import GraphSignature, TensorSpec, read_signature
from triton_platform.publisher.pbtxt import parse_config, render_config
from triton_platform.publisher.spec import ModelSpec


def _spec(**kw: object) -> ModelSpec:
    base: dict[str, object] = {"name": "mlp", "source": "mlp.onnx", "format": "onnx"}
    return ModelSpec.model_validate({**base, **kw})


@pytest.fixture
def mlp_sig(tmp_path: Path) -> GraphSignature:
    return read_signature(mlp_model(tmp_path / "mlp.onnx"), model="mlp")


def test_onnx_config_fields(mlp_sig: GraphSignature) -> None:
    spec = _spec(max_batch_size=8, instance_count=2)
    cfg = parse_config(render_config(spec, mlp_sig, versions=[1], instance_kind="KIND_CPU"))
    assert cfg.name == "mlp"
    assert cfg.platform == "onnxruntime_onnx"
    assert cfg.backend == ""
    assert cfg.max_batch_size == 8
    assert [(i.name, i.data_type, list(i.dims)) for i in cfg.input] == [("x", mc.TYPE_FP32, [4])]
    assert [(o.name, o.data_type, list(o.dims)) for o in cfg.output] == [("y", mc.TYPE_FP32, [3])]
    assert [(g.count, g.kind) for g in cfg.instance_group] == [(2, mc.ModelInstanceGroup.KIND_CPU)]
    assert not cfg.HasField("dynamic_batching")
    assert not cfg.HasField("optimization")


def test_version_policy_is_always_specific(mlp_sig: GraphSignature) -> None:
    text = render_config(_spec(), mlp_sig, versions=[3, 1, 3], instance_kind="KIND_CPU")
    cfg = parse_config(text)
    assert cfg.version_policy.WhichOneof("policy_choice") == "specific"
    assert list(cfg.version_policy.specific.versions) == [1, 3]
    with pytest.raises(ConfigPbtxtError, match="non-empty list of positive integers"):
        render_config(_spec(), mlp_sig, versions=[], instance_kind="KIND_CPU")
    with pytest.raises(ConfigPbtxtError, match="non-empty list of positive integers"):
        render_config(_spec(), mlp_sig, versions=[0], instance_kind="KIND_CPU")


def test_dims_without_batching_keep_the_batch_dim(mlp_sig: GraphSignature) -> None:
    cfg = parse_config(render_config(_spec(max_batch_size=0), mlp_sig, versions=[1], instance_kind="KIND_CPU"))
    assert cfg.max_batch_size == 0
    assert list(cfg.input[0].dims) == [-1, 4]
    assert list(cfg.output[0].dims) == [-1, 3]


def test_fixed_batch_model_with_batching_is_a_spec_error(tmp_path: Path) -> None:
    sig = read_signature(image_model(tmp_path / "fixed.onnx", batch=1), model="img")
    with pytest.raises(ModelSpecError, match="fixed first dimension"):
        render_config(_spec(name="img", max_batch_size=4), sig, versions=[1], instance_kind="KIND_CPU")
    cfg = parse_config(render_config(_spec(name="img", max_batch_size=0), sig, versions=[1], instance_kind="KIND_CPU"))
    assert list(cfg.input[0].dims) == [1, 3, 8, 8]


def test_dynamic_batching(mlp_sig: GraphSignature) -> None:
    spec = _spec(max_batch_size=8, dynamic_batching={"preferredBatchSizes": [8, 4], "maxQueueDelayMicroseconds": 250})
    cfg = parse_config(render_config(spec, mlp_sig, versions=[1], instance_kind="KIND_CPU"))
    assert list(cfg.dynamic_batching.preferred_batch_size) == [4, 8]
    assert cfg.dynamic_batching.max_queue_delay_microseconds == 250


def test_tensorrt_config_with_cuda_graphs_and_multi_arch_engines(tmp_path: Path) -> None:
    sig = read_signature(image_model(tmp_path / "img.onnx"), model="img")
    spec = _spec(name="img", format="tensorrt", precision="fp16", cuda_graphs=True, max_batch_size=4)
    text = render_config(
        spec,
        sig,
        versions=[2],
        instance_kind="KIND_GPU",
        cc_model_filenames={"9.0": "model.sm90.plan", "8.0": "model.sm80.plan"},
        default_model_filename="model.sm80.plan",
    )
    cfg = parse_config(text)
    assert cfg.platform == "tensorrt_plan"
    assert list(cfg.input[0].dims) == [3, 8, 8]
    assert list(cfg.output[0].dims) == [3, 1, 1]
    assert cfg.optimization.cuda.graphs is True
    assert dict(cfg.cc_model_filenames) == {"8.0": "model.sm80.plan", "9.0": "model.sm90.plan"}
    assert cfg.default_model_filename == "model.sm80.plan"
    assert [(g.count, g.kind) for g in cfg.instance_group] == [(1, mc.ModelInstanceGroup.KIND_GPU)]
    # Deterministic output: same inputs, same bytes (so the config's sha256 is stable).
    again = render_config(
        spec,
        sig,
        versions=[2],
        instance_kind="KIND_GPU",
        cc_model_filenames={"8.0": "model.sm80.plan", "9.0": "model.sm90.plan"},
        default_model_filename="model.sm80.plan",
    )
    assert again == text


def test_tensorrt_rules(mlp_sig: GraphSignature) -> None:
    trt = _spec(format="tensorrt")
    with pytest.raises(ConfigPbtxtError, match="TensorRT engines run on GPUs only"):
        render_config(trt, mlp_sig, versions=[1], instance_kind="KIND_CPU")
    with pytest.raises(ConfigPbtxtError, match="applies to format 'tensorrt' only"):
        render_config(_spec(), mlp_sig, versions=[1], instance_kind="KIND_GPU", cc_model_filenames={"8.0": "a.plan"})
    with pytest.raises(ConfigPbtxtError, match=r"compute capability 'major\.minor'"):
        render_config(trt, mlp_sig, versions=[1], instance_kind="KIND_GPU", cc_model_filenames={"sm80": "a.plan"})
    # cuda graphs are only emitted for TensorRT (the spec forbids them elsewhere)
    cfg = parse_config(render_config(trt, mlp_sig, versions=[1], instance_kind="KIND_GPU"))
    assert not cfg.HasField("optimization")


def test_python_backend(mlp_sig: GraphSignature) -> None:
    spec = _spec(name="pre", format="python", source="models/pre", signature="model.onnx", max_batch_size=0)
    cfg = parse_config(render_config(spec, mlp_sig, versions=[1], instance_kind="KIND_CPU"))
    assert cfg.backend == "python"
    assert cfg.platform == ""
    assert [i.name for i in cfg.input] == ["x"]
    # Without a signature the model's auto_complete_config declares its tensors.
    bare = parse_config(render_config(spec, None, versions=[1], instance_kind="KIND_CPU"))
    assert bare.backend == "python"
    assert len(bare.input) == 0
    with pytest.raises(ConfigPbtxtError, match="needs the ONNX graph signature"):
        render_config(_spec(), None, versions=[1], instance_kind="KIND_CPU")


def test_scalar_tensors_are_reshaped() -> None:
    sig = GraphSignature(
        inputs=(TensorSpec("temperature", "TYPE_FP32", ()),),
        outputs=(TensorSpec("out", "TYPE_FP32", (2,)),),
        opset=17,
    )
    cfg = parse_config(render_config(_spec(max_batch_size=0), sig, versions=[1], instance_kind="KIND_CPU"))
    assert list(cfg.input[0].dims) == [1]
    assert cfg.input[0].HasField("reshape")
    assert list(cfg.input[0].reshape.shape) == []


def test_names_are_escaped() -> None:
    sig = GraphSignature(
        inputs=(TensorSpec('in"put\\0', "TYPE_STRING", (-1,)),),
        outputs=(TensorSpec("out:0", "TYPE_BOOL", (-1, 2)),),
        opset=17,
    )
    cfg = parse_config(render_config(_spec(), sig, versions=[1], instance_kind="KIND_CPU"))
    assert cfg.input[0].name == 'in"put\\0'
    assert cfg.input[0].data_type == mc.TYPE_STRING
    assert cfg.output[0].name == "out:0"


def test_parse_config_rejects_invalid_text() -> None:
    with pytest.raises(ConfigPbtxtError, match="not a valid Triton ModelConfig"):
        parse_config('name: "x"\nplatfrom: "onnxruntime_onnx"\n', model="x")
    with pytest.raises(ConfigPbtxtError, match="not a valid Triton ModelConfig"):
        parse_config("instance_group [ { kind: KIND_TPU } ]")
