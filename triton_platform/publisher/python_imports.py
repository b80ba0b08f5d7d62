"""Warns when a Python-backend model imports a module the stock Triton image does not have.

A ``model.py`` that imports what the Python environment of ``nvcr.io/nvidia/tritonserver:<release>-py3``
lacks (onnxruntime, torch, ...) makes tritonserver fail to load the model; with ``--exit-on-error``
(its default) the server stops at start-up and an atomic Helm release rolls back. Reading the
file's imports with ``ast`` (nothing is imported or run) finds that before anything is published.

What the stock image's Python backend environment has (``STOCK_PYTHON_MODULES``): the standard
library of its Python, the backend's own ``triton_python_backend_utils`` (and the C module it wraps,
``c_python_backend_utils``), and what Triton's build installs for the Python backend: Ubuntu's
python3, python3-pip, python3-wheel, python3-setuptools, then ``pip3 install "numpy<2" virtualenv``
(triton-inference-server/server build.py, ``create_dockerfile_linux``: "python3, python3-pip and
some pip installs required for the python backend"). Modules beside ``model.py`` in the model's
directory import too (the backend puts that directory on ``sys.path``); an import inside a ``try``
that handles ImportError is optional and not reported. A model that needs more ships an execution
environment: a conda-pack tarball named by its config's ``EXECUTION_ENV_PATH`` parameter.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from triton_platform.publisher.sources import SOURCE_URI, local_source
from triton_platform.publisher.spec import ModelSpec

# The third-party modules of the stock image's Python backend environment (see above): numpy,
# pip, setuptools (with pkg_resources and its _distutils_hack), wheel, virtualenv and what
# virtualenv depends on (distlib, filelock, platformdirs), and the backend's own two modules.
STOCK_THIRD_PARTY = frozenset(
    {
        "numpy",
        "triton_python_backend_utils",
        "c_python_backend_utils",
        "pip",
        "setuptools",
        "pkg_resources",
        "_distutils_hack",
        "wheel",
        "virtualenv",
        "distlib",
        "filelock",
        "platformdirs",
    }
)
# The standard library of this interpreter (3.11/3.12) stands for the image's (Python 3.12 on the
# Ubuntu 24.04 of the 24.xx/25.xx releases): the names differ only by modules 3.12 removed.
STOCK_PYTHON_MODULES = STOCK_THIRD_PARTY | frozenset(sys.stdlib_module_names)
_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def _handles_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(t, ast.Name) and t.id in _IMPORT_ERRORS for t in types)


def imported_modules(source: str, filename: str = "model.py") -> list[tuple[str, int]]:
    """(top-level module, line) of every absolute import that is not optional (try/except ImportError)."""
    tree = ast.parse(source, filename=filename)
    optional: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_handles_import_error(h) for h in node.handlers):
            optional.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno))
    return sorted(set(found), key=lambda item: (item[1], item[0]))


def missing_modules(model_dir: Path) -> list[tuple[str, int]]:
    """The imports of ``model_dir/model.py`` that neither the stock image nor the directory provides."""
    local = {p.stem for p in model_dir.glob("*.py")} | {p.name for p in model_dir.iterdir() if p.is_dir()}
    source = (model_dir / "model.py").read_text(encoding="utf-8")
    return [
        (module, line)
        for module, line in imported_modules(source, str(model_dir / "model.py"))
        if module not in STOCK_PYTHON_MODULES and module not in local
    ]


def python_import_warnings(spec: ModelSpec, base_dir: str | Path) -> list[str]:
    """One warning per import of a ``python`` model's local ``model.py`` that the stock image lacks.

    Nothing for other formats, for sources in a bucket (read only at publish time), or for a
    directory without model.py (the publisher's own error names that).
    """
    if spec.format != "python" or SOURCE_URI.match(spec.source):
        return []
    model_dir = local_source(spec, base_dir)
    if not (model_dir / "model.py").is_file():
        return []
    try:
        missing = missing_modules(model_dir)
    except SyntaxError as err:
        return [f"model {spec.name!r}: {spec.source}/model.py does not parse ({err.msg}, line {err.lineno})"]
    return [
        f"model {spec.name!r}: {spec.source}/model.py line {line} imports {module!r}, which the Python "
        "environment of the stock Triton image does not have (the standard library, numpy and "
        "triton_python_backend_utils), so Triton would fail to load the model; use those, or ship the "
        "dependencies as an execution environment (a conda-pack tarball named by the model's "
        "EXECUTION_ENV_PATH parameter)"
        for module, line in missing
    ]
