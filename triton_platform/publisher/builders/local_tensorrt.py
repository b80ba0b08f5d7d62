"""Builds TensorRT engines on the machine running `pulumi up`, with the TensorRT Python API.

Written against the documented TensorRT 10 API (``tensorrt`` from requirements-tensorrt.txt):
Builder -> network -> OnnxParser -> BuilderConfig (workspace pool, precision flags, INT8
calibration cache and calibration profile, optimization profile, hardware compatibility, timing
cache) -> ``build_serialized_network``. The tests check every call against the real TensorRT
10.8 bindings (tests/support/tensorrt_api.py). An engine only runs on the GPU architecture and TensorRT
version it was built with, so the builder refuses to build for another compute capability
(unless the engine is hardware-compatible, ``ampere+``) or with another TensorRT version.
``tensorrt`` is imported inside methods only: this module imports on machines without it.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triton_platform.publisher.builders.base import EngineJob
from triton_platform.publisher.errors import BuildError
from triton_platform.publisher.fingerprint import cache_dir as default_cache_dir

if TYPE_CHECKING:
    from triton_platform.publisher.progress import Progress
    from triton_platform.publisher.stores.base import ObjectStore

LOG_TAIL_LINES = 50
# cuDeviceGetAttribute attributes (CUDA driver API, cuda.h).
_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75
_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76


def import_tensorrt(model: str | None = None) -> Any:
    """The ``tensorrt`` module, or a BuildError saying how to install it."""
    try:
        import tensorrt
    except (ImportError, OSError) as exc:
        raise BuildError(
            f"the local engine builder needs the TensorRT Python package, which cannot be imported ({exc}); "
            "install requirements-tensorrt.txt (pip install -r requirements-tensorrt.txt, matching your Triton "
            "release's TensorRT version), or build on the cluster instead",
            model=model,
            key="publisher.builder",
            example="publisher: {builder: kubernetes}",
        ) from None
    return tensorrt


def local_compute_capability() -> str | None:
    """The compute capability of CUDA device 0 (after CUDA_VISIBLE_DEVICES), or None without a GPU."""
    for lib_name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            cuda = ctypes.CDLL(lib_name)
        except OSError:
            continue
        device = ctypes.c_int()
        major, minor = ctypes.c_int(), ctypes.c_int()
        if (
            cuda.cuInit(0) == 0
            and cuda.cuDeviceGet(ctypes.byref(device), 0) == 0
            and cuda.cuDeviceGetAttribute(ctypes.byref(major), _CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device)
            == 0
            and cuda.cuDeviceGetAttribute(ctypes.byref(minor), _CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device)
            == 0
        ):
            return f"{major.value}.{minor.value}"
        break
    smi = shutil.which("nvidia-smi")
    if smi:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [smi, "--query-gpu=compute_cap", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout.split()
            if out:
                return out[0].strip()
    return None


def _same_release(installed: str, wanted: str) -> bool:
    # Engines are tied to major.minor.patch; the build number (10.8.0.43) does not matter.
    return installed.split(".")[:3] == wanted.split(".")[:3]


class LocalTensorRTBuilder:
    """EngineBuilder using the local GPU and the ``tensorrt`` package.

    ``cache_dir`` keeps TensorRT timing caches between builds (default: the publisher's
    cache dir). ``compute_capability`` returns the local GPU's (injectable for tests).
    """

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        compute_capability: Callable[[], str | None] = local_compute_capability,
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "timing"
        self._compute_capability = compute_capability

    def build(self, job: EngineJob, store: ObjectStore, progress: Progress) -> None:
        if store.stat(job.engine_object) is not None:
            progress.note(f"{job.model}: engine sm{job.compute_capability} {job.key[:10]} already built, skipping")
            return
        trt = import_tensorrt(job.model)
        self._check_versions(trt, job)
        with tempfile.TemporaryDirectory(prefix="trt-build-") as tmp:
            work = Path(tmp)
            onnx_path = self._local_copy(job.onnx_path, job.onnx_object, work / "model.onnx", store, progress)
            calibration_path: Path | None = None
            if job.spec.precision == "int8":
                calibration_path = self._local_copy(
                    job.calibration_path, job.calibration_object, work / "calibration.cache", store, progress
                )
            task = progress.task(
                f"build {job.model} engine sm{job.compute_capability} (local TensorRT {trt.__version__})"
            )
            try:
                engine = build_engine(
                    trt,
                    job,
                    onnx_path,
                    calibration_path=calibration_path,
                    timing_cache=self.cache_dir
                    / f"timing-trt{job.tensorrt_version}-sm{job.compute_capability.replace('.', '')}.cache",
                    warn=lambda message: progress.note(f"{job.model}: warning: {message}"),
                )
                task.advance(len(engine))
            finally:
                task.finish()
            engine_path = work / "engine.plan"
            engine_path.write_bytes(engine)
            store.upload_file(
                job.engine_object, engine_path, sha256=hashlib.sha256(engine).hexdigest(), progress=progress
            )

    def _check_versions(self, trt: Any, job: EngineJob) -> None:
        installed = str(getattr(trt, "__version__", "unknown"))
        if not _same_release(installed, job.tensorrt_version):
            raise BuildError(
                f"the installed TensorRT is {installed}, but Triton {job.ngc_release} loads engines of TensorRT "
                f"{job.tensorrt_version} only; install the matching version (requirements-tensorrt.txt) "
                "or build on the cluster",
                model=job.model,
                key="triton.version",
                example=f"pip install 'tensorrt-cu12=={job.tensorrt_version}.*'",
            )
        local = self._compute_capability()
        if local is None:
            raise BuildError(
                "no CUDA GPU is visible on this machine, so no engine can be built here",
                model=job.model,
                key="publisher.builder",
                example="publisher: {builder: kubernetes}",
            )
        if job.spec.hardware_compatibility == "ampere+":
            if int(local.split(".")[0]) < 8:
                raise BuildError(
                    f"hardwareCompatibility 'ampere+' engines must be built on an Ampere or newer GPU; this one is "
                    f"sm{local.replace('.', '')}",
                    model=job.model,
                    key="models[].hardwareCompatibility",
                )
        elif local != job.compute_capability:
            raise BuildError(
                f"this machine's GPU has compute capability {local}, but the engine is for {job.compute_capability}; "
                "an engine built here would not load on the target GPUs",
                model=job.model,
                key="publisher.builder",
                example="publisher: {builder: kubernetes}  (or hardwareCompatibility: ampere+)",
            )

    @staticmethod
    def _local_copy(local: str | None, key: str | None, dest: Path, store: ObjectStore, progress: Progress) -> Path:
        if local:
            return Path(local)
        if not key:
            raise BuildError("the job names neither a local file nor an object to download")
        store.download_file(key, dest, progress)
        return dest


class _Logs:
    """Keeps the last lines TensorRT logged, for BuildError's log tail."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque(maxlen=LOG_TAIL_LINES)

    def tail(self) -> str:
        return "\n".join(self.lines)


def _make_logger(trt: Any, logs: _Logs) -> Any:
    class _Logger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)

        def log(self, severity: Any, msg: str) -> None:
            # VERBOSE floods the tail; INFO and worse are what explains a failed build.
            if int(severity) <= int(trt.ILogger.Severity.INFO):
                logs.lines.append(f"[{getattr(severity, 'name', severity)}] {msg}")

    return _Logger()


def _make_calibrator(trt: Any, cache: bytes) -> Any:
    class _CacheCalibrator(trt.IInt8EntropyCalibrator2):
        """Feeds TensorRT a calibration cache made elsewhere; there is no calibration data here."""

        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)

        def get_batch_size(self) -> int:
            return 1

        def get_batch(self, names: list[str]) -> None:
            return None  # no batches: every scale must come from the cache

        def read_calibration_cache(self) -> bytes:
            return cache

        def write_calibration_cache(self, data: Any) -> None:
            return None

    return _CacheCalibrator()


def build_engine(
    trt: Any,
    job: EngineJob,
    onnx_path: Path,
    *,
    calibration_path: Path | None = None,
    timing_cache: Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> bytes:
    """Build the serialized engine for ``job`` from ``onnx_path``; BuildError with TensorRT's log on failure.

    ``timing_cache`` is only an optimisation: one TensorRT cannot read is replaced by a fresh one
    (or none) and ``warn`` is told, but the build goes on.
    """
    logs = _Logs()
    note = warn or (lambda _message: None)
    logger = _make_logger(trt, logs)
    builder = trt.Builder(logger)
    # The parser owns the weights the network refers to: it must live until the engine is built.
    network, _parser = _parse(trt, builder, logger, logs, job, onnx_path)
    config = builder.create_builder_config()
    _configure(trt, builder, config, job, calibration_path)
    _set_profiles(builder, config, job, logs)
    _load_timing_cache(config, timing_cache, note)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BuildError(
            "TensorRT could not build the engine (see the log below)",
            model=job.model,
            log_tail=logs.tail(),
        )
    if timing_cache is not None:
        _save_timing_cache(config, timing_cache, note)
    return bytes(memoryview(serialized))


def _parse(trt: Any, builder: Any, logger: Any, logs: _Logs, job: EngineJob, onnx_path: Path) -> tuple[Any, Any]:
    """The network parsed from the ONNX file, and its parser; BuildError with the parser's errors."""
    # TensorRT 10 networks are always explicit-batch (the flag is deprecated and ignored).
    flags = 0
    if int(str(trt.__version__).split(".")[0]) < 10:
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    # parse_from_file resolves external weight files next to the model.
    if not parser.parse_from_file(os.fspath(onnx_path)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise BuildError(
            f"TensorRT's ONNX parser rejected the model: {'; '.join(errors)[:2000] or 'unknown error'}",
            model=job.model,
            key="models[].source",
            log_tail=logs.tail(),
        )
    return network, parser


def _configure(trt: Any, builder: Any, config: Any, job: EngineJob, calibration_path: Path | None) -> None:
    """Workspace, precision and hardware compatibility, as the engine key says."""
    spec = job.spec
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, spec.workspace_mb * (1 << 20))
    if spec.precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    elif spec.precision == "int8":
        if calibration_path is None:
            raise BuildError(
                "precision 'int8' needs a calibration cache", model=job.model, key="models[].calibrationCache"
            )
        config.set_flag(trt.BuilderFlag.INT8)
        # FP16 as well, so layers without INT8 kernels fall back to FP16 rather than FP32.
        config.set_flag(trt.BuilderFlag.FP16)
        config.int8_calibrator = _make_calibrator(trt, calibration_path.read_bytes())
    elif spec.precision == "tf32":
        config.set_flag(trt.BuilderFlag.TF32)
    else:
        config.clear_flag(trt.BuilderFlag.TF32)  # strict FP32: TF32 is on by default
    if spec.hardware_compatibility == "ampere+":
        config.hardware_compatibility_level = trt.HardwareCompatibilityLevel.AMPERE_PLUS


def _set_profiles(builder: Any, config: Any, job: EngineJob, logs: _Logs) -> None:
    """The optimization profile and, for INT8 with dynamic shapes, the calibration profile.

    The calibration profile is what trtexec sets from the same shapes (every input at its ``opt``
    shape: ``EngineJob.calibration_shapes``), so both builders calibrate alike. TensorRT has
    deprecated it with implicit INT8 calibration since 10.1.
    """

    def profile(shapes: dict[str, tuple[list[int], list[int], list[int]]]) -> Any:
        made = builder.create_optimization_profile()
        for name, (lo, opt, hi) in shapes.items():
            made.set_shape(name, lo, opt, hi)
        return made

    shapes = job.shapes
    if shapes and config.add_optimization_profile(profile({n: (r.min, r.opt, r.max) for n, r in shapes.items()})) < 0:
        raise BuildError("TensorRT rejected the optimization profile", model=job.model, key="models[].shapes")
    calibration = job.calibration_shapes
    if calibration and not config.set_calibration_profile(profile({n: (d, d, d) for n, d in calibration.items()})):
        raise BuildError(
            "TensorRT rejected the INT8 calibration profile",
            model=job.model,
            key="models[].shapes",
            log_tail=logs.tail(),
        )


def _load_timing_cache(config: Any, path: Path | None, warn: Callable[[str], None]) -> None:
    """Attach the timing cache saved at ``path``, else a fresh one, else none (TensorRT builds without)."""
    data = b""
    if path is not None and path.is_file():
        try:
            data = path.read_bytes()
        except OSError as exc:
            warn(f"cannot read the timing cache {path} ({exc}); building with a fresh one")
    if data:
        # create_timing_cache returns None for bytes it cannot deserialize (NVIDIA's samples check
        # it), and set_timing_cache refuses a cache from another device or TensorRT: never trusted.
        cache = config.create_timing_cache(data)
        if cache is not None and config.set_timing_cache(cache, ignore_mismatch=False):
            return
        warn(
            f"TensorRT cannot use the timing cache {path} (corrupt, or from another GPU or TensorRT); "
            "building with a fresh one, which replaces it"
        )
    cache = config.create_timing_cache(b"")
    if cache is None or not config.set_timing_cache(cache, ignore_mismatch=False):
        warn("TensorRT could not create a timing cache; building without one")


def _save_timing_cache(config: Any, path: Path, warn: Callable[[str], None]) -> None:
    # Only an optimisation: a failed save must not fail the build.
    cache = config.get_timing_cache()
    if cache is None:  # none was attached (see _load_timing_cache): nothing to keep
        return
    serialized = cache.serialize()
    if serialized is None:
        warn(f"TensorRT could not serialize the timing cache; {path} is not updated")
        return
    with contextlib.suppress(OSError):
        data = bytes(memoryview(serialized))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".timing-", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
