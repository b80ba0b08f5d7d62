"""The test suite's own shape: it mirrors the source, and no assertion hides in a loop that may not run.

- Layout: ``tests/<layer>/<package>/test_<module>.py`` where ``<layer>/<package>`` is a real
  package of the program (``triton_platform``, ``components``, ``stacks``, ``policy``, ``scripts``),
  ``tests/chart/`` for the Helm chart and ``tests/architecture/`` for the import contract;
  ``tests/support/`` holds helpers only. Kind (``integration``, ``chart``) is a marker, not a folder.
- Loops: a test whose every assertion sits inside a ``for``/``while`` body passes silently when
  the loop has nothing to iterate; such a test must check first that the loop runs (``assert
  items``, an expected count), unless it loops over a literal that cannot be empty.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import integration
from tests.support.stacks import REPO

TESTS = REPO / "tests"
# tests/<root>/... mirrors <source>/... (the Helm chart is tests/chart/).
MIRRORS = {
    "triton_platform": REPO / "triton_platform",
    "components": REPO / "components",
    "stacks": REPO / "stacks",
    "policy": REPO / "policy",
    "scripts": REPO / "scripts",
    "chart": REPO / "charts" / "triton-inference-server",
    # docs/integrations.md, the register of third-party contract points (tests/docs/).
    "docs": REPO / "docs",
    # The benchmarks' own command-line behaviour (bench/README.md).
    "bench": REPO / "bench",
}
# Folders that mirror no source package: the import contract and the shared helpers.
OWN_FOLDERS = {"architecture", "support"}
LOOPS = (ast.For, ast.AsyncFor, ast.While)


def _test_modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if "__pycache__" not in p.parts)


def _folders() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*") if p.is_dir() and p.name != "__pycache__")


# --------------------------------------------------------------------------- layout


def test_every_test_module_mirrors_a_source_package() -> None:
    modules = _test_modules()
    assert len(modules) > 50, modules
    misplaced = []
    for path in modules:
        rel = path.relative_to(TESTS)
        if len(rel.parts) == 1:
            continue  # tests of the suite itself (this file)
        root, *packages, _ = rel.parts
        if root in OWN_FOLDERS - {"support"}:
            continue
        source = MIRRORS.get(root)
        if source is None or not source.joinpath(*packages).is_dir():
            misplaced.append(str(rel))
    assert misplaced == [], f"test modules outside the source mirror (see the module docstring): {misplaced}"


def test_support_holds_helpers_only() -> None:
    assert (TESTS / "support" / "__init__.py").is_file()
    assert sorted((TESTS / "support").rglob("test_*.py")) == []


def test_every_test_folder_is_a_package() -> None:
    # pytest imports test modules by package name: two test_base.py in different folders stay distinct.
    # (A folder of data files only, e.g. vendored fixtures, needs none.)
    folders = [p for p in _folders() if any(p.glob("*.py"))]
    assert folders, TESTS
    missing = [str(p.relative_to(REPO)) for p in folders if not (p / "__init__.py").is_file()]
    assert missing == [], f"add an __init__.py to: {missing}"


def test_kind_is_a_marker_not_a_folder() -> None:
    roots = {p.name for p in TESTS.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert roots <= set(MIRRORS) | OWN_FOLDERS, roots - set(MIRRORS) - OWN_FOLDERS


# --------------------------------------------------------------------------- loops


def _is_check(node: ast.AST) -> bool:
    """An ``assert``, a ``with pytest.raises/warns``, or a call to ``assert_*``/``pytest.fail``."""
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.With | ast.AsyncWith):
        calls = [item.context_expr for item in node.items if isinstance(item.context_expr, ast.Call)]
        return any(isinstance(c.func, ast.Attribute) and c.func.attr in ("raises", "warns") for c in calls)
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name.startswith("assert") or name == "fail"
    return False


def _runs_for_sure(loop: ast.AST) -> bool:
    """A ``for`` over a literal tuple/list/set/dict with elements always runs its body."""
    if not isinstance(loop, ast.For | ast.AsyncFor):
        return False
    it = loop.iter
    if isinstance(it, ast.Tuple | ast.List | ast.Set):
        return bool(it.elts)
    return isinstance(it, ast.Dict) and bool(it.keys)


def _checks(node: ast.AST, in_loop: bool = False) -> Iterator[bool]:
    """For each check under ``node``: whether it sits in a loop body that may run zero times."""
    for child in ast.iter_child_nodes(node):
        guarded = in_loop
        if isinstance(node, LOOPS) and child is not getattr(node, "iter", None) and not _runs_for_sure(node):
            guarded = True
        if _is_check(child):
            yield guarded
        yield from _checks(child, guarded)


def checks_only_in_loops(source: str) -> list[str]:
    """Names of the test functions in ``source`` whose every check may be skipped by an empty loop."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
            flags = list(_checks(node))
            if flags and all(flags):
                found.append(node.name)
    return found


def test_the_loop_scan_finds_a_loop_only_test_and_accepts_a_checked_one() -> None:
    source = """
def test_bad(items):
    for x in items:
        assert x

def test_good(items):
    assert items
    for x in items:
        assert x

def test_literal():
    for x in (1, 2):
        assert x

def test_raises_in_while(q):
    while q:
        with pytest.raises(ValueError):
            q.pop()
"""
    assert checks_only_in_loops(source) == ["test_bad", "test_raises_in_while"]


def test_no_test_asserts_only_inside_a_loop_that_may_not_run() -> None:
    modules = _test_modules()
    assert modules
    found = [f"{p.relative_to(REPO)}::{name}" for p in modules for name in checks_only_in_loops(p.read_text())]
    assert found == [], (
        "these tests assert only inside loops that may not run: check first that the loop has items "
        f"(e.g. `assert items, ...` or an expected count): {found}"
    )


# --------------------------------------------------------------------------- the integration marker


@dataclass
class _Item:
    """What tests.support.integration reads of a pytest item."""

    nodeid: str
    fixturenames: list[str]
    marks: set[str] = field(default_factory=set)

    def get_closest_marker(self, name: str) -> Any:
        return name if name in self.marks else None


def test_a_server_fixture_without_the_integration_marker_stops_the_run() -> None:
    unit = _Item("tests/x.py::test_unit", ["tmp_path"])
    marked = _Item("tests/x.py::test_marked", ["make_store", "moto_endpoint"], {"integration"})
    unmarked = _Item("tests/x.py::test_unmarked", ["tmp_path", "make_store", "moto_endpoint"])
    items: list[Any] = [unit, marked, unmarked]
    with pytest.raises(pytest.UsageError, match=r"must be marked @pytest\.mark\.integration") as info:
        integration.check_collection(items)
    assert "test_unmarked" in str(info.value)
    assert "test_marked" not in str(info.value).replace("test_unmarked", "")
    assert integration.unmarked_server_tests(items) == [
        f"tests/x.py::test_unmarked uses make_store ({integration.SERVER_FIXTURES['make_store']})"
    ]


def test_the_server_fixtures_exist() -> None:
    # Each listed fixture is defined where the list says: a rename would silently drop the check.
    sources = "".join(p.read_text() for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)
    missing = [name for name in integration.SERVER_FIXTURES if f"def {name}(" not in sources]
    assert missing == [], missing
