"""The real TensorRT 10.8 Python API on a machine without a GPU or NVIDIA's libraries.

NVIDIA's PyPI wheel ``tensorrt-cu12-bindings==10.8.0.43`` holds the pybind11 module
(``tensorrt_bindings/tensorrt.so``) that ``import tensorrt`` loads. It links
``libnvinfer.so.10``, ``libnvonnxparser.so.10`` and ``libnvinfer_plugin.so.10`` and imports
exactly nine symbols from them (``nm -D --undefined-only``): the factories and plugin registries
in STUB_SYMBOLS, none of which runs at import. Those libraries only come from NVIDIA's own index
(``tensorrt-cu12-libs`` on PyPI is a stub that downloads them), so this module compiles three
stub libraries of our own exporting those names, each aborting with its name if it is ever
called. With them loaded first, ``import tensorrt`` registers the real classes, enums,
properties and pybind11 signatures, and tests check every call of ours against them
(``tests/support/tensorrt_api.py``). Nothing may construct a ``Builder``, ``Runtime`` or parser
of the real module: those go straight into the stubs.

Installed by ``python -m tests.support.tools install`` (and on first use) into
``.cache/tensorrt-stubs/``: ``site/`` (the wheel's ``tensorrt_bindings`` plus the frontend
package ``tensorrt``, which is what NVIDIA's ``tensorrt-cu12`` sdist adds:
``from tensorrt_bindings import *`` and its ``__version__``) and ``lib/`` (the stubs, built with
the C compiler; on a root Debian machine without one, ``apt-get install gcc`` runs first).
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from types import ModuleType

from tests.support.tools import CACHE_DIR, ToolInstallError, _locked, _run

BINDINGS_WHEEL = "tensorrt-cu12-bindings==10.8.0.43"
TENSORRT_VERSION = "10.8.0.43"
STUBS_DIR = CACHE_DIR / "tensorrt-stubs"
# Per library (its soname), the symbols tensorrt.so imports from it. The loader matches a
# NEEDED entry against an already loaded library's soname, so these stand in for NVIDIA's.
STUB_SYMBOLS: dict[str, tuple[str, ...]] = {
    "libnvinfer.so.10": (
        "createInferBuilder_INTERNAL",
        "createInferRefitter_INTERNAL",
        "createInferRuntime_INTERNAL",
        "getBuilderPluginRegistry",
        "getPluginRegistry",
    ),
    "libnvonnxparser.so.10": (
        "createNvOnnxParser_INTERNAL",
        "createNvOnnxParserRefitter_INTERNAL",
        "getNvOnnxParserVersion",
    ),
    "libnvinfer_plugin.so.10": ("initLibNvInferPlugins",),
}
# The frontend package of NVIDIA's tensorrt-cu12 sdist re-exports the bindings under this name.
_FRONTEND = '"""tensorrt: the bindings wheel re-exported, as NVIDIA\'s tensorrt-cu12 frontend does."""\n' + (
    "from tensorrt_bindings import *  # noqa: F403\nfrom tensorrt_bindings import __version__  # noqa: F401\n"
)


def stub_source(library: str, symbols: tuple[str, ...]) -> str:
    """C source of one stub library: every symbol prints its name and aborts."""
    lines = [
        f"/* Stand-in for {library}: lets tensorrt.so load; any call is a bug in a test. */",
        "#include <stdio.h>",
        "#include <stdlib.h>",
    ]
    for symbol in symbols:
        lines.append(
            f'void *{symbol}(void) {{ fputs("tensorrt stub: {symbol} called; there is no real TensorRT here\\n", '
            "stderr); abort(); }"
        )
    return "\n".join(lines) + "\n"


def _marker() -> Path:
    return STUBS_DIR / f".{BINDINGS_WHEEL}.installed"


def _c_compiler() -> str:
    """cc or gcc; on a root Debian machine without either, apt-get installs gcc (like the other apt tools)."""
    for name in ("cc", "gcc"):
        found = shutil.which(name)
        if found:
            return found
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        _run(["apt-get", "update"], timeout=600)
        _run(["apt-get", "install", "-y", "--no-install-recommends", "gcc", "libc6-dev"], timeout=900)
        found = shutil.which("gcc")
        if found:
            return found
    raise ToolInstallError("the TensorRT stub libraries need a C compiler: apt-get install gcc")


def _stage(tmp: Path) -> Path:
    """Build the site and lib folders in ``tmp``; return the staged root."""
    staged = tmp / "tensorrt-stubs"
    site, lib = staged / "site", staged / "lib"
    (site / "tensorrt").mkdir(parents=True)
    lib.mkdir()
    _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(tmp), BINDINGS_WHEEL])
    (wheel,) = sorted(tmp.glob("tensorrt_cu12_bindings-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site, [m for m in zf.namelist() if m.startswith("tensorrt_bindings/")])
    (site / "tensorrt" / "__init__.py").write_text(_FRONTEND)
    compiler = _c_compiler()
    for library, symbols in STUB_SYMBOLS.items():
        source = tmp / f"{library}.c"
        source.write_text(stub_source(library, symbols))
        _run([compiler, "-shared", "-fPIC", "-o", str(lib / library), f"-Wl,-soname,{library}", str(source)])
    (staged / _marker().name).write_text(f"{BINDINGS_WHEEL}\n")
    return staged


def install() -> Path:
    """``.cache/tensorrt-stubs`` with the bindings and the stubs, installed when missing (atomic rename)."""
    if _marker().is_file():
        return STUBS_DIR
    with _locked("tensorrt-stubs"):
        if not _marker().is_file():
            shutil.rmtree(STUBS_DIR, ignore_errors=True)
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp:
                os.replace(_stage(Path(tmp)), STUBS_DIR)
    return STUBS_DIR


def bindings_library() -> Path:
    """The real pybind11 module of the wheel (for ``nm``)."""
    (found,) = sorted((install() / "site" / "tensorrt_bindings").glob("tensorrt*.so"))
    return found


def from_stubs(module: ModuleType) -> bool:
    """Whether ``module`` is the bindings loaded over the stubs (not a real installation)."""
    return Path(str(module.__file__)).resolve().is_relative_to(STUBS_DIR.resolve())


@functools.cache
def load() -> ModuleType:
    """The real ``tensorrt`` module, loaded once per process: over the stubs, unless TensorRT is installed.

    Over the stubs it is left out of ``sys.modules["tensorrt"]`` and ``sys.path`` afterwards, so
    ``import tensorrt`` elsewhere behaves as on a machine without TensorRT; tests hand this module
    to the code under test explicitly (``monkeypatch.setitem(sys.modules, "tensorrt", ...)``).
    On a machine with a real TensorRT (requirements-tensorrt.txt) that one is used instead: once
    the stubs are loaded, its bindings would resolve NVIDIA's libraries to them (same sonames),
    and the GPU test's real build would abort.
    """
    if importlib.util.find_spec("tensorrt") is not None:
        import tensorrt as installed

        return installed
    root = install()
    for library in STUB_SYMBOLS:
        ctypes.CDLL(str(root / "lib" / library), mode=ctypes.RTLD_GLOBAL)
    site = str(root / "site")
    sys.path.insert(0, site)
    try:
        import tensorrt

        module = tensorrt
    finally:
        sys.path.remove(site)
        sys.modules.pop("tensorrt", None)
    if module.__version__ != TENSORRT_VERSION:
        raise ToolInstallError(f"{root} holds TensorRT {module.__version__}, not {TENSORRT_VERSION}")
    return module
