"""LocalTensorRTBuilder: TensorRT's documented API calls (a recording stand-in module), its refusals, a real build."""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from tests.support.engine_jobs import S3, TRT_VERSION, private_engine_cache, store_with_onnx
from tests.support.engine_jobs import engine_job as _job
from tests.support.engine_jobs import engine_spec as _spec
from tests.support.fakes import MemoryStore, mlp_model
from triton_platform.catalog import versions
from triton_platform.publisher import fingerprint as fp
from triton_platform.publisher.builders import EngineJob, LocalTensorRTBuilder
from triton_platform.publisher.builders import local_tensorrt as lt
from triton_platform.publisher.errors import BuildError
from triton_platform.publisher.onnx_graph import effective_shapes, read_signature
from triton_platform.publisher.progress import NullProgress


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private_engine_cache(tmp_path, monkeypatch)


def test_local_builder_without_tensorrt_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # makes `import tensorrt` raise ImportError
    job = _job()
    with pytest.raises(BuildError) as err:
        LocalTensorRTBuilder(compute_capability=lambda: "8.0").build(job, store_with_onnx(job), NullProgress())
    message = str(err.value)
    assert "model 'resnet'" in message
    assert "install requirements-tensorrt.txt" in message
    assert "builder: kubernetes" in message


def test_local_builder_skips_existing_engine_without_importing_tensorrt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    job = _job()
    store = store_with_onnx(job)
    store.put(job.engine_object, b"built before")
    LocalTensorRTBuilder().build(job, store, NullProgress())
    assert store.uploads() == []


def _fake_tensorrt(*, parse_ok: bool = True, build_ok: bool = True, version: str = TRT_VERSION + ".43") -> Any:
    """Test-only stand-in for the ``tensorrt`` module, recording the documented API calls made."""
    trt: Any = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.calls = []

    class Sev(int):
        @property
        def name(self) -> str:
            return ["INTERNAL_ERROR", "ERROR", "WARNING", "INFO", "VERBOSE"][int(self)]

    class ILogger:
        Severity = types.SimpleNamespace(
            INTERNAL_ERROR=Sev(0), ERROR=Sev(1), WARNING=Sev(2), INFO=Sev(3), VERBOSE=Sev(4)
        )

    class IInt8EntropyCalibrator2:
        pass

    class TimingCache:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def serialize(self) -> bytes:
            return b"TIMING:" + self.data

    class Config:
        def __init__(self) -> None:
            self.flags = {"TF32"}
            self.int8_calibrator: Any = None
            self.hardware_compatibility_level = "NONE"
            self.cache: TimingCache | None = None

        def set_memory_pool_limit(self, pool: str, size: int) -> None:
            trt.calls.append(("set_memory_pool_limit", pool, size))

        def set_flag(self, flag: str) -> None:
            self.flags.add(flag)

        def clear_flag(self, flag: str) -> None:
            self.flags.discard(flag)

        def add_optimization_profile(self, profile: Any) -> int:
            trt.calls.append(("add_optimization_profile", profile.shapes))
            return 0

        def create_timing_cache(self, data: bytes) -> TimingCache:
            trt.calls.append(("create_timing_cache", bytes(data)))
            return TimingCache(bytes(data))

        def set_timing_cache(self, cache: TimingCache, ignore_mismatch: bool) -> bool:
            self.cache = cache
            return True

        def get_timing_cache(self) -> TimingCache:
            assert self.cache is not None
            return self.cache

    class Profile:
        def __init__(self) -> None:
            self.shapes: dict[str, tuple[list[int], list[int], list[int]]] = {}

        def set_shape(self, name: str, lo: list[int], opt: list[int], hi: list[int]) -> None:
            self.shapes[name] = (list(lo), list(opt), list(hi))

    class Builder:
        def __init__(self, logger: Any) -> None:
            self.logger = logger

        def create_network(self, flags: int) -> str:
            trt.calls.append(("create_network", flags))
            return "network"

        def create_builder_config(self) -> Config:
            return Config()

        def create_optimization_profile(self) -> Profile:
            return Profile()

        def build_serialized_network(self, network: str, config: Config) -> bytes | None:
            self.logger.log(ILogger.Severity.VERBOSE, "tactic noise")
            self.logger.log(ILogger.Severity.INFO, "building")
            trt.calls.append(
                ("build", sorted(config.flags), config.hardware_compatibility_level, config.int8_calibrator)
            )
            if not build_ok:
                self.logger.log(ILogger.Severity.ERROR, "out of workspace memory")
                return None
            return b"PLAN:" + ",".join(sorted(config.flags)).encode()

    class OnnxParser:
        num_errors = 0 if parse_ok else 1

        def __init__(self, network: str, logger: Any) -> None:
            pass

        def parse_from_file(self, path: str) -> bool:
            trt.calls.append(("parse_from_file", path))
            return parse_ok

        def get_error(self, i: int) -> str:
            return "In node 3 (parseGraph): INVALID_NODE: unsupported operator FancyOp"

    trt.ILogger = ILogger
    trt.IInt8EntropyCalibrator2 = IInt8EntropyCalibrator2
    trt.Builder = Builder
    trt.OnnxParser = OnnxParser
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE="WORKSPACE")
    trt.BuilderFlag = types.SimpleNamespace(FP16="FP16", INT8="INT8", TF32="TF32")
    trt.HardwareCompatibilityLevel = types.SimpleNamespace(AMPERE_PLUS="AMPERE_PLUS")
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(EXPLICIT_BATCH=0)
    return trt


def _local(tmp_path: Path, cc: str | None = "8.0") -> LocalTensorRTBuilder:
    return LocalTensorRTBuilder(cache_dir=tmp_path / "timing", compute_capability=lambda: cc)


def test_local_builder_api_sequence_fp16(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trt = _fake_tensorrt()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    onnx_path = mlp_model(tmp_path / "m.onnx")
    spec = _spec(precision="fp16", workspace_mb=512, shapes={"x": {"min": [1, 4], "opt": [4, 4], "max": [8, 4]}})
    job = _job(spec, onnx_path=str(onnx_path))
    store = MemoryStore(S3)
    _local(tmp_path).build(job, store, NullProgress())
    assert ("create_network", 0) in trt.calls  # TensorRT 10: explicit batch is implicit
    assert ("parse_from_file", str(onnx_path)) in trt.calls
    assert ("set_memory_pool_limit", "WORKSPACE", 512 << 20) in trt.calls
    assert ("add_optimization_profile", {"x": ([1, 4], [4, 4], [8, 4])}) in trt.calls
    build = next(c for c in trt.calls if c[0] == "build")
    assert build[1] == ["FP16", "TF32"]
    assert build[2] == "NONE"
    engine = store.read_bytes(job.engine_object)
    assert engine == b"PLAN:FP16,TF32"
    assert store.stat(job.engine_object).sha256 == hashlib.sha256(engine).hexdigest()  # type: ignore[union-attr]
    # The timing cache was saved and is loaded by the next build.
    saved = tmp_path / "timing" / f"timing-trt{TRT_VERSION}-sm80.cache"
    assert saved.read_bytes() == b"TIMING:"
    store.delete([job.engine_object])
    _local(tmp_path).build(job, store, NullProgress())
    assert ("create_timing_cache", b"TIMING:") in trt.calls


def test_local_builder_int8_strict_fp32_and_ampere_plus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trt = _fake_tensorrt()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    onnx_path = mlp_model(tmp_path / "m.onnx")
    cal = tmp_path / "cal.cache"
    cal.write_bytes(b"TRT-100800-EntropyCalibration2\nx: 3c010a14\n")
    int8 = _job(
        _spec(precision="int8", calibration_cache=str(cal)), onnx_path=str(onnx_path), calibration_path=str(cal)
    )
    _local(tmp_path).build(int8, MemoryStore(S3), NullProgress())
    build = [c for c in trt.calls if c[0] == "build"][-1]
    assert build[1] == ["FP16", "INT8", "TF32"]
    calibrator = build[3]
    assert calibrator.read_calibration_cache() == cal.read_bytes()
    assert calibrator.get_batch(["x"]) is None
    fp32 = _job(_spec(precision="fp32", hardware_compatibility="ampere+"), onnx_path=str(onnx_path))
    _local(tmp_path, cc="9.0").build(fp32, MemoryStore(S3), NullProgress())  # ampere+: any Ampere+ GPU
    build = [c for c in trt.calls if c[0] == "build"][-1]
    assert build[1] == []
    assert build[2] == "AMPERE_PLUS"


def test_local_builder_downloads_the_onnx_when_no_local_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", _fake_tensorrt())
    job = _job()
    store = store_with_onnx(job)
    _local(tmp_path).build(job, store, NullProgress())
    assert ("download", job.onnx_object) in store.calls
    assert store.uploads() == [job.engine_object]


def test_local_builder_refuses_another_gpu_or_tensorrt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", _fake_tensorrt())
    job = _job(cc="9.0")
    with pytest.raises(BuildError, match=r"compute capability 8\.0, but the engine is for 9\.0"):
        _local(tmp_path, cc="8.0").build(job, store_with_onnx(job), NullProgress())
    with pytest.raises(BuildError, match="no CUDA GPU is visible"):
        _local(tmp_path, cc=None).build(job, store_with_onnx(job), NullProgress())
    ampere = _job(_spec(hardware_compatibility="ampere+"))
    with pytest.raises(BuildError, match="must be built on an Ampere or newer GPU"):
        _local(tmp_path, cc="7.5").build(ampere, store_with_onnx(ampere), NullProgress())
    monkeypatch.setitem(sys.modules, "tensorrt", _fake_tensorrt(version="10.3.0.26"))
    with pytest.raises(
        BuildError, match=r"installed TensorRT is 10\.3\.0\.26, but Triton 25\.01 loads engines of TensorRT 10\.8\.0"
    ):
        _local(tmp_path, cc="9.0").build(job, store_with_onnx(job), NullProgress())


def test_local_builder_reports_parser_and_build_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", _fake_tensorrt(parse_ok=False))
    job = _job()
    with pytest.raises(BuildError, match=r"ONNX parser rejected the model: .*unsupported operator FancyOp"):
        _local(tmp_path).build(job, store_with_onnx(job), NullProgress())
    monkeypatch.setitem(sys.modules, "tensorrt", _fake_tensorrt(build_ok=False))
    store = store_with_onnx(job)
    with pytest.raises(BuildError, match="could not build the engine") as err:
        _local(tmp_path).build(job, store, NullProgress())
    assert err.value.log_tail.splitlines() == ["[INFO] building", "[ERROR] out of workspace memory"]
    assert store.stat(job.engine_object) is None


def test_real_tensorrt_builds_an_engine(tmp_path: Path) -> None:
    trt = pytest.importorskip(
        "tensorrt", reason="TensorRT is not installable on these machines (NVIDIA index unreachable)"
    )
    cc = lt.local_compute_capability()
    if cc is None:
        pytest.skip("no CUDA GPU visible: a TensorRT engine build needs one")
    release = next((r for r in versions.NGC_RELEASES.values() if lt._same_release(trt.__version__, r.tensorrt)), None)
    if release is None:
        pytest.skip(f"installed TensorRT {trt.__version__} matches no NGC release in versions.py")
    onnx_path = mlp_model(tmp_path / "m.onnx")
    sig = read_signature(onnx_path, model="mlp")
    spec = _spec(name="mlp", precision="fp16", workspace_mb=256)
    job = EngineJob.for_model(
        spec,
        onnx_sha256=fp.file_sha256(onnx_path),
        cache_prefix="_cache",
        compute_capability=cc,
        ngc_release=release.release,
        onnx_path=str(onnx_path),
        profile=effective_shapes(sig, spec),
    )
    store = MemoryStore(S3)
    LocalTensorRTBuilder(cache_dir=tmp_path / "timing").build(job, store, NullProgress())
    engine = store.read_bytes(job.engine_object)
    assert engine
    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    deserialized = runtime.deserialize_cuda_engine(engine)
    assert deserialized is not None
    assert {deserialized.get_tensor_name(i) for i in range(deserialized.num_io_tensors)} == {"x", "y"}
