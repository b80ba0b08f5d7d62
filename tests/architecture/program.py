"""The program code the architecture tests look at, and small AST helpers shared by them."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Packages of program code (what `pulumi up`, the policy pack and the scripts run), and the entry point.
PROGRAM_PACKAGES = ("stacks", "components", "triton_platform", "policy", "scripts")
ENTRY_POINT = REPO / "__main__.py"


def program_files() -> list[Path]:
    """Every Python file of program code, sorted: the packages' modules and __main__.py."""
    files = [ENTRY_POINT]
    for package in PROGRAM_PACKAGES:
        files += sorted(p for p in (REPO / package).rglob("*.py") if "__pycache__" not in p.parts)
    return files


def rel(path: Path) -> str:
    """A path as the report prints it: relative to the repository (if under it), with forward slashes."""
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path.as_posix()


def module_name(path: Path) -> str:
    """The dotted module name of a file under REPO (a package's __init__.py names the package)."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function and method, nested ones included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node
