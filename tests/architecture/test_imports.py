"""The import rules of docs/architecture.md: the layer contracts and no import cycle.

Layers (import-linter, [tool.importlinter] in pyproject.toml): stacks -> components -> triton_platform,
never upward; inside triton_platform release -> values -> config -> clouds -> publisher -> catalog,
with preview and sidecars importing nothing of ours; policy/ and scripts/ stand alone.
Cycles (grimp): none at all between modules, counting imports inside functions (a cycle held
together by a function-local import is still a cycle); imports under ``if TYPE_CHECKING:`` do not
count, since they never run.
"""

from __future__ import annotations

import ast
import itertools
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Iterable
from pathlib import Path

import grimp
import pytest

from tests.architecture.program import ENTRY_POINT, PROGRAM_PACKAGES, REPO, parse

# Folders that are not program code: nothing the program runs may import them.
NOT_PROGRAM = ("tests", "bench", "samples")
# What __main__.py may import of ours: the compositions, the config loader, the pinned release, and
# the publisher's errors (reported as pulumi.RunError, like the config's and the release's).
# triton_platform.process: the process setup, run first (triton_platform/process/evaluation.py).
MAIN_MAY_IMPORT = (
    "stacks",
    "triton_platform.config",
    "triton_platform.release",
    "triton_platform.publisher.errors",
    "triton_platform.process",
)


def import_graph(*packages: str) -> grimp.ImportGraph:
    """The import graph of ``packages``: function-local imports in, TYPE_CHECKING imports out.

    Built without grimp's on-disk cache: a cached graph can miss a package that just got its
    ``__init__.py``, and the tests must see the tree as it is.
    """
    return grimp.build_graph(
        *packages, include_external_packages=True, exclude_type_checking_imports=True, cache_dir=None
    )


def _shortest_cycle(graph: grimp.ImportGraph, start: str, members: set[str]) -> list[str]:
    """The shortest chain start -> ... -> start inside one strongly connected component (BFS)."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for imported in sorted(graph.find_modules_directly_imported_by(module) & members):
            if imported == start:
                chain = [module]
                while chain[-1] != start:
                    chain.append(came_from[chain[-1]])
                return [start, *reversed(chain[:-1]), start]
            if imported not in came_from:
                came_from[imported] = module
                queue.append(imported)
    raise AssertionError(f"{start} is in no cycle")  # pragma: no cover - members form an SCC


def find_cycles(graph: grimp.ImportGraph, modules: Iterable[str]) -> list[list[str]]:
    """One chain of module names per strongly connected component with a cycle (Tarjan, iterative).

    Each chain starts and ends at the component's first module in sort order; the component's
    other modules are in further cycles through it, which the chain's modules lead to.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                members: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == module:
                        break
                self_import = module in graph.find_modules_directly_imported_by(module)
                if len(members) > 1 or self_import:
                    components.append(members)
    return [_shortest_cycle(graph, min(members), members) for members in sorted(components, key=min)]


def _describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    """``a (l.12) -> b (l.40) -> a``: after each module, the line(s) where it imports the next."""
    parts = []
    for importer, imported in itertools.pairwise(cycle):
        details = graph.get_import_details(importer=importer, imported=imported)
        lines = ", ".join(f"l.{detail['line_number']}" for detail in details)
        parts.append(f"{importer} ({lines})")
    return " -> ".join([*parts, cycle[-1]])


@pytest.fixture(scope="module")
def program_graph() -> grimp.ImportGraph:
    if str(REPO) not in sys.path:  # grimp finds the packages through the import system
        sys.path.insert(0, str(REPO))
    return import_graph(*PROGRAM_PACKAGES)


def test_import_contracts_hold() -> None:
    """import-linter's contracts ([tool.importlinter] in pyproject.toml) are all kept."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "lint-imports not installed: pip install -r requirements-dev.txt"
    proc = subprocess.run(
        [lint, "--no-cache", "--no-logo", str(REPO / "pyproject.toml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    report = proc.stdout + proc.stderr
    assert "Contracts:" in report, report
    returncode = proc.returncode
    assert returncode == 0, f"broken import contracts (lint-imports):\n{report}"


def test_no_import_cycle(program_graph: grimp.ImportGraph) -> None:
    """No module reaches itself through imports, function-local ones included."""
    ours = {m for m in program_graph.modules if m.split(".")[0] in PROGRAM_PACKAGES}
    assert "triton_platform.config.schema" in ours, "the graph misses the program's modules"
    cycles = find_cycles(program_graph, ours)
    report = "\n".join(_describe(program_graph, cycle) for cycle in cycles)
    assert not cycles, f"{len(cycles)} import cycle(s):\n{report}"


def test_program_imports_no_tests_bench_or_samples(program_graph: grimp.ImportGraph) -> None:
    """tests/, bench/ and samples/ use the program, never the other way round."""
    offenders = sorted(
        f"{importer} -> {imported}"
        for imported in NOT_PROGRAM
        if imported in program_graph.modules
        for importer in program_graph.find_modules_that_directly_import(imported)
    )
    assert not offenders, "\n".join(offenders)


def test_sidecars_import_only_the_standard_library(program_graph: grimp.ImportGraph) -> None:
    """Programs run inside the Triton image's own python3, where only the standard library exists."""
    sidecars = {m for m in program_graph.modules if m.startswith("triton_platform.sidecars")}
    assert sidecars, "no module found under triton_platform.sidecars"
    foreign = sorted(
        f"{module} -> {imported}"
        for module in sidecars
        for imported in program_graph.find_modules_directly_imported_by(module)
        if imported.split(".")[0] not in sys.stdlib_module_names and not imported.startswith("triton_platform.sidecars")
    )
    assert not foreign, "\n".join(foreign)


def test_main_imports_only_the_compositions_and_config() -> None:
    """__main__.py stays thin: it loads the config, awaits a pinned release and calls stacks."""
    ours: list[tuple[int, str]] = []
    for node in ast.walk(parse(ENTRY_POINT)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        else:
            continue
        ours += [(node.lineno, n) for n in names if n.split(".")[0] in (*PROGRAM_PACKAGES, *NOT_PROGRAM)]
    assert ours, "__main__.py imports nothing of ours: the test reads the wrong file"
    bad = [
        f"__main__.py:{line} imports {name}"
        for line, name in ours
        if not any(name == allowed or name.startswith(allowed + ".") for allowed in MAIN_MAY_IMPORT)
    ]
    assert not bad, "\n".join(bad)


# --- the checker checks what it claims: a tiny package in tmp_path ------------------------------------


def _write_package(root: Path, name: str, modules: dict[str, str]) -> None:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text('"""Fixture."""\n')
    for module, source in modules.items():
        (package / f"{module}.py").write_text(source)


def test_grimp_counts_function_local_imports_and_skips_type_checking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_package(
        tmp_path,
        "arch_fixture_edges",
        {
            "a": "def f():\n    from arch_fixture_edges import b\n    return b\n",
            "b": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from arch_fixture_edges import a\n"
                "def g(x: 'a.X') -> None:\n    return None\n"
            ),
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = import_graph("arch_fixture_edges")
    assert graph.direct_import_exists(importer="arch_fixture_edges.a", imported="arch_fixture_edges.b")
    assert not graph.direct_import_exists(importer="arch_fixture_edges.b", imported="arch_fixture_edges.a")
    assert find_cycles(graph, graph.modules) == []


def test_cycle_finder_reports_a_cycle_held_by_a_function_local_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_package(
        tmp_path,
        "arch_fixture_cycle",
        {
            "base": "def open_store():\n    from arch_fixture_cycle import s3\n    return s3\n",
            "s3": "from arch_fixture_cycle import base\n",
            "gcs": "from arch_fixture_cycle import s3\n",
            "selfish": "def f():\n    import arch_fixture_cycle.selfish\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = import_graph("arch_fixture_cycle")
    cycles = find_cycles(graph, graph.modules)
    assert cycles == [
        ["arch_fixture_cycle.base", "arch_fixture_cycle.s3", "arch_fixture_cycle.base"],
        ["arch_fixture_cycle.selfish", "arch_fixture_cycle.selfish"],
    ]
    assert _describe(graph, cycles[0]) == (
        "arch_fixture_cycle.base (l.2) -> arch_fixture_cycle.s3 (l.1) -> arch_fixture_cycle.base"
    )
