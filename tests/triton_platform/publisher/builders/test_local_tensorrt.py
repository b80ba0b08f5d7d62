"""LocalTensorRTBuilder against the real TensorRT 10.8 Python API, its refusals, and a real build where a GPU is.

The real bindings (tensorrt-cu12-bindings 10.8.0.43) load over stub libraries
(tests/support/tensorrt_stubs.py); every call the builder makes is checked against the real
classes' pybind11 signatures before a fake acts on it (tests/support/tensorrt_api.py).
"""

from __future__ import annotations

import hashlib
import inspect
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support import tensorrt_stubs
from tests.support.engine_jobs import S3, TRT_VERSION, private_engine_cache, store_with_onnx
from tests.support.engine_jobs import engine_job as _job
from tests.support.engine_jobs import engine_spec as _spec
from tests.support.fakes import MemoryStore, mlp_model
from tests.support.tensorrt_api import ApiMisuse, CheckedApi, FakeTensorRT, checked_tensorrt
from triton_platform.catalog import versions
from triton_platform.publisher import fingerprint as fp
from triton_platform.publisher.builders import EngineJob, LocalTensorRTBuilder
from triton_platform.publisher.builders import local_tensorrt as lt
from triton_platform.publisher.errors import BuildError
from triton_platform.publisher.onnx_graph import effective_shapes, read_signature
from triton_platform.publisher.progress import NullProgress, Progress


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


# --- the real TensorRT 10.8 API (bindings over stub libraries), every call checked --------------


@pytest.fixture(scope="module")
def real_trt() -> ModuleType:
    return tensorrt_stubs.load()


def _checked(monkeypatch: pytest.MonkeyPatch, trt: ModuleType, **behaviour: Any) -> tuple[FakeTensorRT, CheckedApi]:
    """``import tensorrt`` gives the real module with Builder/OnnxParser checked and faked (``behaviour``)."""
    fake = FakeTensorRT(trt, **behaviour)
    module, api = checked_tensorrt(trt, fake)
    monkeypatch.setitem(sys.modules, "tensorrt", module)
    return fake, api


def _local(tmp_path: Path, cc: str | None = "8.0") -> LocalTensorRTBuilder:
    return LocalTensorRTBuilder(cache_dir=tmp_path / "timing", compute_capability=lambda: cc)


def _timing_file(tmp_path: Path) -> Path:
    return tmp_path / "timing" / f"timing-trt{TRT_VERSION}-sm80.cache"


def _recording() -> tuple[Progress, list[str]]:
    lines: list[str] = []
    return Progress(interactive=False, log=lines.append), lines


def test_the_stubs_stand_in_for_exactly_what_the_bindings_import(real_trt: ModuleType) -> None:
    # The wheel's module imports these nine symbols and nothing else from NVIDIA's libraries
    # (nm -D --undefined-only: strong undefined, unversioned, neither CPython's nor C++'s).
    out = subprocess.run(
        ["nm", "-D", "--undefined-only", str(tensorrt_stubs.bindings_library())],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    undefined = {line.split()[-1] for line in out.splitlines() if line.split()[0] == "U"}
    foreign = {n for n in undefined if "@" not in n and not n.startswith(("Py", "_Py", "_Z"))}
    assert foreign == {s for symbols in tensorrt_stubs.STUB_SYMBOLS.values() for s in symbols}
    # The TensorRT of the default Triton release (the engine key's version) is the one checked against.
    if tensorrt_stubs.from_stubs(real_trt):
        assert lt._same_release(real_trt.__version__, TRT_VERSION)


def test_every_tensorrt_name_the_local_builder_uses_exists(real_trt: ModuleType) -> None:
    # Every ``trt.X.Y`` in the module, run or not here (the TensorRT 9 branch included).
    names = set(re.findall(r"\btrt\.([A-Za-z_][\w.]*[\w])", inspect.getsource(lt)))
    assert {"Builder", "OnnxParser", "BuilderFlag.INT8", "ILogger.Severity.INFO"} <= names
    for dotted in sorted(names - {"__version__"}):
        obj: Any = real_trt
        for part in dotted.split("."):
            assert hasattr(obj, part), f"tensorrt.{dotted} does not exist in TensorRT {real_trt.__version__}"
            obj = getattr(obj, part)


def test_our_logger_and_calibrator_override_the_real_bases(real_trt: ModuleType) -> None:
    # Constructing them only runs pybind11's trampolines, never TensorRT itself.
    api = CheckedApi(real_trt)
    logger = lt._make_logger(real_trt, lt._Logs())
    assert isinstance(logger, real_trt.ILogger)
    assert api.call_override(logger, real_trt.ILogger, "log", real_trt.ILogger.Severity.INFO, "x") is None
    calibrator = lt._make_calibrator(real_trt, b"cache")
    assert isinstance(calibrator, real_trt.IInt8Calibrator)
    for name in ("get_batch_size", "read_calibration_cache", "write_calibration_cache", "get_batch"):
        assert name in dir(real_trt.IInt8EntropyCalibrator2), name
    assert api.call_override(calibrator, real_trt.IInt8Calibrator, "get_batch_size") == 1
    assert api.call_override(calibrator, real_trt.IInt8Calibrator, "read_calibration_cache") == b"cache"
    assert api.call_override(calibrator, real_trt.IInt8Calibrator, "get_batch", ["x"]) is None
    assert api.call_override(calibrator, real_trt.IInt8Calibrator, "write_calibration_cache", b"new") is None


def test_the_checker_refuses_what_the_real_api_refuses(real_trt: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake, _api = _checked(monkeypatch, real_trt)
    trt: Any = sys.modules["tensorrt"]
    config = trt.Builder(lt._make_logger(real_trt, lt._Logs())).create_builder_config()
    with pytest.raises(ApiMisuse, match=r"cache=None is not a tensorrt_bindings\.tensorrt\.ITimingCache"):
        config.set_timing_cache(None, ignore_mismatch=False)
    with pytest.raises(ApiMisuse, match=r"is not a tensorrt_bindings\.tensorrt\.BuilderFlag"):
        config.set_flag(1)
    with pytest.raises(ApiMisuse, match="has no attribute 'set_timing_cache_file'"):
        config.set_timing_cache_file("x")
    with pytest.raises(ApiMisuse, match="missing 'ignore_mismatch'"):
        config.set_timing_cache(config.create_timing_cache(b""))


def test_local_builder_api_sequence_fp16(real_trt: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, api = _checked(monkeypatch, real_trt)
    onnx_path = mlp_model(tmp_path / "m.onnx")
    spec = _spec(precision="fp16", workspace_mb=512, shapes={"x": {"min": [1, 4], "opt": [4, 4], "max": [8, 4]}})
    job = _job(spec, onnx_path=str(onnx_path))
    store = MemoryStore(S3)
    _local(tmp_path).build(job, store, NullProgress())
    assert api.named("Builder", "create_network")[0].args == (0,)  # TensorRT 10: explicit batch is implicit
    assert api.named("OnnxParser", "parse_from_file")[0].args == (str(onnx_path),)
    (config,) = fake.configs
    assert config.pools == {real_trt.MemoryPoolType.WORKSPACE: 512 << 20}
    assert [p.shapes for p in config.profiles] == [{"x": ([1, 4], [4, 4], [8, 4])}]
    assert config.calibration_profile is None
    assert config.flags == {real_trt.BuilderFlag.FP16, real_trt.BuilderFlag.TF32}
    assert config.hardware_compatibility_level == real_trt.HardwareCompatibilityLevel.NONE
    engine = store.read_bytes(job.engine_object)
    assert engine == b"PLAN:FP16,TF32"
    assert store.stat(job.engine_object).sha256 == hashlib.sha256(engine).hexdigest()  # type: ignore[union-attr]
    # The timing cache was saved and is loaded by the next build.
    assert _timing_file(tmp_path).read_bytes() == b"TIMING:"
    store.delete([job.engine_object])
    _local(tmp_path).build(job, store, NullProgress())
    assert api.named("IBuilderConfig", "create_timing_cache")[-1].args == (b"TIMING:",)


def test_local_builder_int8_strict_fp32_and_ampere_plus(
    real_trt: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, _api = _checked(monkeypatch, real_trt)
    flag = real_trt.BuilderFlag
    onnx_path = mlp_model(tmp_path / "m.onnx")
    cal = tmp_path / "cal.cache"
    cal.write_bytes(b"TRT-100800-EntropyCalibration2\nx: 3c010a14\n")
    int8 = _job(
        _spec(precision="int8", calibration_cache=str(cal)), onnx_path=str(onnx_path), calibration_path=str(cal)
    )
    _local(tmp_path).build(int8, MemoryStore(S3), NullProgress())
    assert fake.configs[-1].flags == {flag.FP16, flag.INT8, flag.TF32}
    # What TensorRT asks the calibrator: everything comes from the cache, no batches.
    assert fake.calibration_seen == {"batch_size": 1, "cache": cal.read_bytes(), "batch": None}
    assert fake.configs[-1].calibration_profile is None  # static shapes: TensorRT calibrates at the graph's
    fp32 = _job(_spec(precision="fp32", hardware_compatibility="ampere+"), onnx_path=str(onnx_path))
    _local(tmp_path, cc="9.0").build(fp32, MemoryStore(S3), NullProgress())  # ampere+: any Ampere+ GPU
    assert fake.configs[-1].flags == set()
    assert fake.configs[-1].hardware_compatibility_level == real_trt.HardwareCompatibilityLevel.AMPERE_PLUS


def _mixed_int8_job(tmp_path: Path) -> EngineJob:
    """INT8, one dynamic input (``tokens``) and one static (``scale``): the case trtexec needs every input for."""
    cal = tmp_path / "cal.cache"
    cal.write_bytes(b"TRT-100800-EntropyCalibration2\n")
    spec = _spec(
        precision="int8",
        calibration_cache=str(cal),
        max_batch_size=0,
        shapes={"tokens": {"min": [1, 1], "opt": [1, 64], "max": [1, 256]}},
    )
    return _job(
        spec,
        onnx_path=str(mlp_model(tmp_path / "m.onnx")),
        calibration_path=str(cal),
        static_inputs={"scale": [1]},
    )


def test_local_builder_sets_the_calibration_profile_trtexec_sets(
    real_trt: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # INT8 with dynamic shapes: TensorRT needs a calibration profile (IBuilderConfig.set_calibration_profile,
    # "must be set if int8 calibration is used ... with runtime dimensions"); trtexec sets one with every
    # input at its opt shape (sampleEngines.cpp), so the local builder does the same.
    fake, api = _checked(monkeypatch, real_trt)
    job = _mixed_int8_job(tmp_path)
    _local(tmp_path).build(job, MemoryStore(S3), NullProgress())
    (config,) = fake.configs
    assert [p.shapes for p in config.profiles] == [{"tokens": ([1, 1], [1, 64], [1, 256])}]
    assert config.calibration_profile is not None
    assert config.calibration_profile.shapes == {"scale": ([1], [1], [1]), "tokens": ([1, 64], [1, 64], [1, 64])}
    assert job.calibration_shapes == {"scale": [1], "tokens": [1, 64]}
    assert len(api.named("IBuilderConfig", "set_calibration_profile")) == 1


def test_a_corrupt_timing_cache_is_replaced_not_fatal(
    real_trt: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # create_timing_cache returns None for bytes it cannot read (NVIDIA's samples check it), and
    # set_timing_cache(None) is refused: the build goes on with a fresh cache, which replaces the file.
    _checked(monkeypatch, real_trt, timing_cache="corrupt")
    _timing_file(tmp_path).parent.mkdir(parents=True)
    _timing_file(tmp_path).write_bytes(b"\x00garbage")
    job = _job(onnx_path=str(mlp_model(tmp_path / "m.onnx")))
    store = MemoryStore(S3)
    progress, lines = _recording()
    _local(tmp_path).build(job, store, progress)
    assert store.read_bytes(job.engine_object) == b"PLAN:"  # fp32: TF32 cleared
    assert any("warning: TensorRT cannot use the timing cache" in line for line in lines), lines
    assert _timing_file(tmp_path).read_bytes() == b"TIMING:"


def test_without_any_timing_cache_the_build_still_runs(
    real_trt: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _checked(monkeypatch, real_trt, timing_cache="none")
    job = _job(onnx_path=str(mlp_model(tmp_path / "m.onnx")))
    store = MemoryStore(S3)
    progress, lines = _recording()
    _local(tmp_path).build(job, store, progress)
    assert store.stat(job.engine_object) is not None
    assert any("could not create a timing cache; building without one" in line for line in lines), lines
    assert not _timing_file(tmp_path).exists()


def test_a_lost_timing_cache_does_not_fail_a_finished_build(
    real_trt: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # get_timing_cache() is documented to return None "if no timing cache is set".
    _checked(monkeypatch, real_trt, timing_cache="lost")
    job = _job(onnx_path=str(mlp_model(tmp_path / "m.onnx")))
    store = MemoryStore(S3)
    _local(tmp_path).build(job, store, NullProgress())
    assert store.stat(job.engine_object) is not None


def test_local_builder_downloads_the_onnx_when_no_local_copy(
    real_trt: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _checked(monkeypatch, real_trt)
    job = _job()
    store = store_with_onnx(job)
    _local(tmp_path).build(job, store, NullProgress())
    assert ("download", job.onnx_object) in store.calls
    assert store.uploads() == [job.engine_object]


def test_local_builder_refuses_another_gpu_or_tensorrt(
    real_trt: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _checked(monkeypatch, real_trt)
    job = _job(cc="9.0")
    with pytest.raises(BuildError, match=r"compute capability 8\.0, but the engine is for 9\.0"):
        _local(tmp_path, cc="8.0").build(job, store_with_onnx(job), NullProgress())
    with pytest.raises(BuildError, match="no CUDA GPU is visible"):
        _local(tmp_path, cc=None).build(job, store_with_onnx(job), NullProgress())
    ampere = _job(_spec(hardware_compatibility="ampere+"))
    with pytest.raises(BuildError, match="must be built on an Ampere or newer GPU"):
        _local(tmp_path, cc="7.5").build(ampere, store_with_onnx(ampere), NullProgress())
    monkeypatch.setitem(sys.modules["tensorrt"].__dict__, "__version__", "10.3.0.26")
    with pytest.raises(
        BuildError, match=r"installed TensorRT is 10\.3\.0\.26, but Triton 25\.01 loads engines of TensorRT 10\.8\.0"
    ):
        _local(tmp_path, cc="9.0").build(job, store_with_onnx(job), NullProgress())


def test_local_builder_reports_parser_and_build_failures(
    real_trt: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _checked(monkeypatch, real_trt, parse_ok=False)
    job = _job()
    with pytest.raises(BuildError, match=r"ONNX parser rejected the model: .*unsupported operator FancyOp"):
        _local(tmp_path).build(job, store_with_onnx(job), NullProgress())
    _checked(monkeypatch, real_trt, build_ok=False)
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
