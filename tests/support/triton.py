"""Test harness: runs the real ``tritonserver`` shipped in the ``nvidia-pytriton`` wheel on 127.0.0.1.

The wheel carries Triton 2.51 with the Python backend only. It is prepared the way pytriton's
own launcher does it (``pytriton/triton.py`` and ``pytriton/server/triton_server.py``): the
``tritonserver`` tree is copied into a private directory without the per-Python stubs, the
stub for this interpreter is copied into ``backends/python``, ``LD_LIBRARY_PATH`` points at the
wheel's ``nvidia_pytriton.libs`` (and at libpython's directory, which the stub links against),
and this environment's ``bin`` goes first on ``PATH`` so the embedded interpreter of the stub
finds this virtualenv's site-packages (numpy<2, onnxruntime).

Used by tests only: every server binds 127.0.0.1 on free ports, is bounded in time, and is
killed on exit.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support import integration

READY_TIMEOUT_S = 60.0
# An error line of Triton's own startup (e.g. "repository path is not a valid directory").
_FATAL = re.compile(r"^E\d{4} [\d:.]+ +\d+ tritonserver\.cc:\d+\]")
STOP_TIMEOUT_S = 15.0


class TritonUnavailable(RuntimeError):
    """The pytriton wheel (or its platform) is not there: tests skip with this reason."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pytriton_paths() -> tuple[Path, Path, Path]:
    """(tritonserver dist dir, stub for this Python, nvidia_pytriton.libs)."""
    if not sys.platform.startswith("linux"):
        raise TritonUnavailable("the nvidia-pytriton wheel ships tritonserver for Linux only")
    try:
        import pytriton
    except ImportError:
        raise TritonUnavailable("nvidia-pytriton is not installed (pip install -r requirements-dev.txt)") from None
    root = Path(pytriton.__file__).resolve().parent
    dist = root / "tritonserver"
    stub = dist / "python_backend_stubs" / f"{sys.version_info[0]}.{sys.version_info[1]}" / "triton_python_backend_stub"
    libs = root.parent / "nvidia_pytriton.libs"
    for path in (dist / "bin" / "tritonserver", stub, libs):
        if not path.exists():
            raise TritonUnavailable(f"nvidia-pytriton is incomplete: {path} is missing")
    import numpy

    if int(numpy.__version__.split(".")[0]) >= 2:
        raise TritonUnavailable(f"the Python backend stub needs numpy<2 in this environment (have {numpy.__version__})")
    return dist, stub, libs


def prepare_install(workdir: Path) -> Path:
    """Copy the wheel's tritonserver tree into ``workdir`` with this interpreter's stub; return it."""
    dist, stub, _libs = _pytriton_paths()
    target = workdir / "tritonserver"
    if not (target / "bin" / "tritonserver").exists():
        shutil.copytree(dist, target, ignore=shutil.ignore_patterns("python_backend_stubs", "__pycache__"))
        shutil.copy(stub, target / "backends" / "python" / "triton_python_backend_stub")
    return target


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment tritonserver and its Python stub need, plus ``extra`` (store credentials...)."""
    _dist, _stub, libs = _pytriton_paths()
    env = dict(os.environ)
    lib_dirs = [str(libs)]
    libdir = sysconfig.get_config_var("LIBDIR")
    if libdir:
        lib_dirs.append(str(libdir))
    if env.get("LD_LIBRARY_PATH"):
        lib_dirs.append(env["LD_LIBRARY_PATH"])
    env["LD_LIBRARY_PATH"] = ":".join(lib_dirs)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    # The stub must not pick up a parent interpreter's settings.
    env.pop("PYTHONHOME", None)
    env.update(extra or {})
    return env


@dataclass
class TritonServer:
    """One running tritonserver process."""

    process: subprocess.Popen[bytes]
    http_port: int
    grpc_port: int
    metrics_port: int
    log_path: Path

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    def logs(self, last: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-last:])

    def alive(self) -> bool:
        return self.process.poll() is None

    def _get(self, path: str, timeout: float = 2.0) -> int:
        try:
            with urllib.request.urlopen(f"http://{self.http_url}{path}", timeout=timeout) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as err:
            return int(err.code)
        except (urllib.error.URLError, OSError):
            return 0

    def _metrics_listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.metrics_port), timeout=2.0):
                return True
        except OSError:
            return False

    def startup_error(self) -> str | None:
        """A fatal initialisation error Triton logged (it keeps running with --exit-on-error=false).

        "failed to load all models" is not one: with --exit-on-error=false Triton serves the models
        that did load (core src/tritonserver.cc logs this line and goes on when exit_on_error is off),
        and a test that publishes a model meant to fail reads that model's own state. Racing it
        against /v2/health/ready made such a test fail whenever the line came before the first poll.
        """
        for line in self.logs(last=400).splitlines():
            if _FATAL.match(line) and "failed to load all models" not in line:
                return line
        return None

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Wait for /v2/health/ready; raise with the log tail if it dies, fails to start or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"tritonserver exited with {self.process.returncode}:\n{self.logs()}")
            # Triton starts its metrics listener after the HTTP one reports ready (its log: "Started
            # HTTPService", then "Started Metrics Service"): ready means both answer.
            if self._get("/v2/health/ready") == 200 and self._metrics_listening():
                return
            if self.startup_error():
                raise RuntimeError(f"tritonserver failed to start: {self.startup_error()}\n{self.logs()}")
            time.sleep(0.25)
        raise TimeoutError(f"tritonserver not ready after {timeout:.0f} s:\n{self.logs()}")

    def wait_model(self, model: str, version: int, timeout: float = 30.0) -> None:
        """Wait until ``model`` version ``version`` is ready (poll mode loads asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"tritonserver exited with {self.process.returncode}:\n{self.logs()}")
            if self._get(f"/v2/models/{model}/versions/{version}/ready") == 200:
                return
            time.sleep(0.25)
        raise TimeoutError(f"model {model!r} version {version} not ready after {timeout:.0f} s:\n{self.logs()}")

    def model_ready(self, model: str, version: int) -> bool:
        return self._get(f"/v2/models/{model}/versions/{version}/ready") == 200

    def stop(self) -> None:
        """SIGINT (graceful), then SIGKILL; the Python stubs exit with their parent."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def run_triton(
    repository: str,
    *,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    poll_seconds: int = 1,
    ready_timeout: float = READY_TIMEOUT_S,
    extra_args: Sequence[str] = (),
) -> Iterator[TritonServer]:
    """Start tritonserver on ``repository`` (a path, ``s3://http://...`` or ``gs://...``) in poll mode.

    ``extra_args`` are appended to the command line (as the chart appends its own flags).
    """
    integration.require_integration("tritonserver")
    install = prepare_install(workdir)
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    log_path = workdir / f"tritonserver-{http_port}.log"
    # A private shared-memory prefix: several servers (other test sessions) may run at once.
    shm_prefix = f"tpe2e{os.getpid()}-{uuid.uuid4().hex[:8]}"
    args = [
        str(install / "bin" / "tritonserver"),
        f"--model-repository={repository}",
        "--model-control-mode=poll",
        f"--repository-poll-secs={poll_seconds}",
        "--disable-auto-complete-config",
        "--strict-readiness=false",
        "--exit-on-error=false",
        "--http-address=127.0.0.1",
        f"--http-port={http_port}",
        "--grpc-address=127.0.0.1",
        f"--grpc-port={grpc_port}",
        "--metrics-address=127.0.0.1",
        f"--metrics-port={metrics_port}",
        "--allow-gpu-metrics=false",
        f"--backend-directory={install / 'backends'}",
        f"--cache-directory={install / 'caches'}",
        f"--backend-config=python,shm-region-prefix-name={shm_prefix}",
        "--log-verbose=0",
        *extra_args,
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_env(env),
            cwd=workdir,
            start_new_session=True,
        )
    server = TritonServer(process, http_port, grpc_port, metrics_port, log_path)
    try:
        server.wait_ready(ready_timeout)
        yield server
    finally:
        server.stop()
