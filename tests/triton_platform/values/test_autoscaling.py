"""triton.autoscaling and triton.loadTest: defaults, the old CPU key, and every bad value named by its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import pytest
from onnx import TensorProto, helper

from tests.support.configs import gpu_pool, placeholder_models, raw_config
from triton_platform.config import ConfigError, PlatformConfig, parse_config
from triton_platform.publisher.shapes import ModelShapes, model_shapes
from triton_platform.publisher.spec import ModelSpec
from triton_platform.values import autoscaling

GPU_POOL = gpu_pool("p4d.24xlarge", "A100-SXM4-40GB", 8, maxNodes=2)
MODEL = {"name": "m", "source": "m/model.onnx", "format": "onnx"}


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return placeholder_models(tmp_path)


def _raw(triton: dict[str, Any], *, gpu: bool = False, **over: Any) -> dict[str, Any]:
    pool = GPU_POOL if gpu else None
    return raw_config("aws" if gpu else "local", pool=pool, **({"models": [MODEL], "triton": triton} | over))


def _parse(raw: dict[str, Any], base: Path) -> PlatformConfig:
    return parse_config(raw, base_dir=base, stack="test")


def _error(raw: dict[str, Any], base: Path) -> str:
    with pytest.raises(ConfigError) as info:
        _parse(raw, base)
    return str(info.value)


def test_defaults_scale_on_queue_time(base: Path) -> None:
    auto = _parse(_raw({"autoscaling": {"enabled": True}}), base).triton.autoscaling
    assert (auto.effective_metric, auto.effective_target) == ("queueTime", 50.0)
    assert autoscaling.hpa_values(auto) == {
        "enabled": True,
        "metric": "queueTime",
        "target": 50,
        "minReplicas": 1,
        "maxReplicas": 4,
        "scaleDownStabilizationSeconds": 300,
    }


def test_old_cpu_key_means_metric_cpu(base: Path) -> None:
    auto = _parse(_raw({"autoscaling": {"enabled": True, "targetCpuUtilization": 70}}), base).triton.autoscaling
    assert (auto.effective_metric, auto.effective_target) == ("cpu", 70.0)


def test_the_stacks_old_cpu_key_still_parses(base: Path) -> None:
    # Pulumi.prod.yaml / Pulumi.prod-azure.yaml still say targetCpuUtilization.
    auto = _parse(_raw({"autoscaling": {"targetCpuUtilization": 70}}), base).triton.autoscaling
    assert auto.effective_metric == "cpu"


@pytest.mark.parametrize(
    ("autoscaling_raw", "key", "words", "gpu"),
    [
        ({"enabled": True, "metric": "latency"}, "triton.autoscaling.metric", ["queueTime"], False),
        ({"enabled": True, "target": 0}, "triton.autoscaling.target", ["greater than 0"], False),
        ({"enabled": True, "metric": "inferenceRate"}, "triton.autoscaling.target", ["requests per second"], False),
        ({"enabled": True, "metric": "cpu", "target": 150}, "triton.autoscaling.target", ["at most 100"], False),
        (
            {"enabled": True, "metric": "queueTime", "targetCpuUtilization": 70},
            "triton.autoscaling",
            ["old key"],
            False,
        ),
        ({"enabled": True, "targetCpuUtilization": 70, "target": 60}, "triton.autoscaling", ["both set"], False),
        ({"enabled": True, "metric": "gpuUtilization"}, "triton.autoscaling.metric", ["GPU node pool"], False),
        (
            {"enabled": True, "scaleDownStabilizationSeconds": -5},
            "triton.autoscaling.scaleDownStabilizationSeconds",
            [],
            False,
        ),
        (
            {"enabled": True, "minReplicas": 5, "maxReplicas": 2},
            "triton.autoscaling.minReplicas",
            ["maxReplicas"],
            False,
        ),
        ({"enabled": True, "scaleOn": "cpu"}, "triton.autoscaling.scaleOn", ["unknown key"], False),
    ],
    ids=[
        "unknown-metric",
        "zero-target",
        "rate-without-target",
        "cpu-over-100",
        "old-key-with-other-metric",
        "old-key-and-target",
        "gpu-metric-without-gpus",
        "negative-window",
        "min-over-max",
        "unknown-key",
    ],
)
def test_bad_autoscaling_is_named(
    base: Path, autoscaling_raw: dict[str, Any], key: str, words: list[str], gpu: bool
) -> None:
    msg = _error(_raw({"autoscaling": autoscaling_raw}, gpu=gpu), base)
    assert f"triton-platform:{key}:" in msg, msg
    for w in words:
        assert w in msg, msg


def test_gpu_metric_is_refused_on_mig(base: Path) -> None:
    raw = _raw({"autoscaling": {"enabled": True, "metric": "gpuUtilization"}}, gpu=True)
    raw["gpu"] = {"migStrategy": "single", "migProfile": "1g.5gb"}
    raw["models"] = [MODEL]
    msg = _error(raw, base)
    assert "triton-platform:triton.autoscaling.metric:" in msg
    assert "MIG" in msg


def test_triton_metrics_need_monitoring(base: Path) -> None:
    msg = _error(_raw({"autoscaling": {"enabled": True}}, monitoring={"enabled": False}), base)
    assert "triton-platform:triton.autoscaling.metric:" in msg
    assert "prometheus-adapter" in msg
    # CPU needs no Prometheus.
    _parse(_raw({"autoscaling": {"enabled": True, "metric": "cpu"}}, monitoring={"enabled": False}), base)


@pytest.mark.parametrize(
    ("load_test", "key"),
    [
        ({"concurrency": {"start": 8, "end": 2}}, "triton.loadTest.concurrency"),
        ({"concurrency": {"start": 0}}, "triton.loadTest.concurrency.start"),
        ({"protocol": "websocket"}, "triton.loadTest.protocol"),
        ({"measurementIntervalMs": 10}, "triton.loadTest.measurementIntervalMs"),
        ({"maxP99LatencyMs": 0}, "triton.loadTest.maxP99LatencyMs"),
        ({"minThroughput": -1}, "triton.loadTest.minThroughput"),
        ({"stabilityPercentage": 0}, "triton.loadTest.stabilityPercentage"),
        ({"maxErrors": 3}, "triton.loadTest.maxErrors"),
        ({"concurrency": {"step": 0}}, "triton.loadTest.concurrency.step"),
        ({"concurrency": {"end": 100_000}}, "triton.loadTest.concurrency.end"),
        ({"batchSize": 0}, "triton.loadTest.batchSize"),
        ({"maxTrials": 1}, "triton.loadTest.maxTrials"),
        ({"timeoutSeconds": 5}, "triton.loadTest.timeoutSeconds"),
        ({"enabled": "sometimes"}, "triton.loadTest.enabled"),
        ({"percentile": 99}, "triton.loadTest.percentile"),
    ],
)
def test_bad_load_test_is_named(base: Path, load_test: dict[str, Any], key: str) -> None:
    msg = _error(_raw({"loadTest": load_test}), base)
    assert f"triton-platform:{key}:" in msg, msg


def _dynamic_onnx(path: Path) -> Path:
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", "seq"])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", "seq"])
    graph = helper.make_graph([helper.make_node("Relu", ["X"], ["Y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_dynamic_dims_take_the_profile_opt(tmp_path: Path) -> None:
    _dynamic_onnx(tmp_path / "d.onnx")
    spec = ModelSpec(
        name="d",
        source="d.onnx",
        format="tensorrt",
        max_batch_size=8,
        shapes={"X": {"min": [1, 4], "opt": [4, 128], "max": [8, 512]}},
    )
    assert model_shapes(spec, tmp_path).shapes == {"X": [128]}


def test_dynamic_dims_without_a_profile_are_named(tmp_path: Path) -> None:
    _dynamic_onnx(tmp_path / "d.onnx")
    spec = ModelSpec(name="d", source="d.onnx", format="onnx", max_batch_size=8)
    with pytest.raises(ValueError, match=r"triton-platform:models\[3\]\.shapes: input 'X'"):
        model_shapes(spec, tmp_path, key="models[3]")


def test_config_refuses_a_load_test_it_cannot_shape(tmp_path: Path) -> None:
    _dynamic_onnx(tmp_path / "d.onnx")
    raw = _raw({}, models=[{"name": "d", "source": "d.onnx", "format": "onnx"}])
    msg = _error(raw, tmp_path)
    assert "triton-platform:models[0].shapes: input 'X'" in msg, msg
    assert "loadTest.enabled: false" in msg
    # Without the load test the same model is fine (Triton serves dynamic dims).
    _parse(
        _raw({"loadTest": {"enabled": False}}, models=[{"name": "d", "source": "d.onnx", "format": "onnx"}]), tmp_path
    )


def test_perf_analyzer_command(base: Path) -> None:
    cfg = _parse(_raw({"loadTest": {"protocol": "http", "batchSize": 64, "maxTrials": 5}}), base)
    shapes = ModelShapes("m", {"INPUT0": [3, 224, 224]}, max_batch_size=8)
    assert autoscaling.perf_analyzer_args(shapes, cfg.triton.load_test, "triton.triton.svc.cluster.local:8000") == [
        "perf_analyzer",
        "-m",
        "m",
        "-u",
        "triton.triton.svc.cluster.local:8000",
        "-i",
        "http",
        "-b",
        "8",
        "--concurrency-range",
        "1:4:1",
        "--measurement-interval",
        "5000",
        "--percentile=99",
        "--stability-percentage",
        "10",
        "--max-trials",
        "5",
        "--input-data",
        "random",
        "-f",
        "m.csv",
        "--shape",
        "INPUT0:3,224,224",
    ]
