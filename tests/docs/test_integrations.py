"""docs/integrations.md, the register of third-party contract points, kept true to the tree.

Each table row of the register is ``| # | what we rely on | where in our code | source | test |``.
Checked here: the table is there and large (>= 60 rows), ids are unique, every backticked path in
"where" exists, every ``path::name`` in "test" is a test file defining that function (read with
``ast``, nothing imported), a row without a test says ``none`` and is listed under "Found by the
walk", and every pin has a row naming it: each chart and image of
``triton_platform/catalog/versions.py``, each tool of ``scripts/tools.lock``, each action of the
workflows (with the release its comment names) and the Pulumi SDK of ``requirements.txt``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from triton_platform.catalog import versions

# The repository root, found from here: importing tests.support would load the whole program.
REPO = Path(__file__).resolve().parents[2]
REGISTER = REPO / "docs" / "integrations.md"
FOUND_HEADING = "## Found by the walk"
MIN_ROWS = 60
_ROW_ID = re.compile(r"^[A-Z][A-Z0-9]*-\d+$")
_TICKED = re.compile(r"`([^`]+)`")
_TEST_REF = re.compile(r"^(?P<path>tests/[\w/.-]+\.py)::(?P<names>\w+(?:::\w+)*)$")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_ACTION = re.compile(r"uses:\s*(?P<action>[\w.-]+/[\w./-]+)@[0-9a-f]{40}\s*#\s*(?P<version>v[\w.]+)")


@dataclass(frozen=True)
class Row:
    id: str
    what: str
    where: str
    source: str
    test: str

    @property
    def text(self) -> str:
        return " ".join((self.what, self.where, self.source, self.test))


def _cells(line: str) -> list[str]:
    # Table cells never hold a literal '|' (the register writes none), so a plain split is exact.
    return [c.strip() for c in line.strip().strip("|").split("|")]


@cache
def _register() -> str:
    return REGISTER.read_text(encoding="utf-8")


def _table_lines() -> list[list[str]]:
    """The cells of every table line before "Found by the walk", header and separator rows left out."""
    lines = [_cells(line) for line in _register().split(FOUND_HEADING)[0].splitlines() if line.startswith("|")]
    return [cells for cells in lines if cells[0] not in ("#", "---")]


@cache
def rows() -> tuple[Row, ...]:
    """Every data row of every table of the register."""
    return tuple(Row(*cells) for cells in _table_lines() if len(cells) == 5 and _ROW_ID.match(cells[0]))


def _found_section() -> str:
    parts = _register().split(FOUND_HEADING)
    assert len(parts) == 2, f"{REGISTER} needs exactly one {FOUND_HEADING!r} section"
    return parts[1]


def _table_text() -> str:
    return "\n".join(r.text for r in rows())


def _test_refs(row: Row) -> Iterator[tuple[str, str]]:
    for token in _TICKED.findall(row.test):
        m = _TEST_REF.match(token)
        if m:
            yield m["path"], m["names"]


@cache
def _defined(path: str) -> frozenset[str]:
    """``name`` and ``Class::name`` of every function the test module defines."""
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"), filename=path)
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {
                f"{node.name}::{f.name}" for f in node.body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
            }
    return frozenset(names)


# --------------------------------------------------------------------------- the table


def test_the_register_has_its_rows_and_unique_ids() -> None:
    # A row with a malformed id or a stray '|' would drop out of every check below: refuse it.
    malformed = [cells[:2] for cells in _table_lines() if len(cells) != 5 or not _ROW_ID.match(cells[0])]
    assert malformed == [], f"table rows that are not '| <AREA>-<n> | what | where | source | test |': {malformed}"
    ids = [r.id for r in rows()]
    assert len(ids) >= MIN_ROWS, f"{REGISTER} has {len(ids)} rows, fewer than {MIN_ROWS}"
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == [], f"row ids used twice: {duplicates}"
    empty = [r.id for r in rows() if not all((r.what, r.where, r.source, r.test))]
    assert empty == [], f"rows with an empty cell: {empty}"


def test_every_code_path_exists() -> None:
    missing = []
    for row in rows():
        paths = _TICKED.findall(row.where)
        if not paths:
            missing.append(f"{row.id}: no backticked path in 'where'")
        missing += [f"{row.id}: {p}" for p in paths if not (REPO / p).exists()]
    assert missing == [], f"paths in {REGISTER.name} that do not exist: {missing}"


def test_every_test_reference_exists() -> None:
    refs = [(row.id, path, names) for row in rows() for path, names in _test_refs(row)]
    assert len(refs) >= MIN_ROWS, refs
    missing = []
    for row_id, path, names in refs:
        if not (REPO / path).is_file():
            missing.append(f"{row_id}: {path} (no such file)")
        elif names not in _defined(path):
            missing.append(f"{row_id}: {path}::{names} (no such test)")
    assert missing == [], f"test references in {REGISTER.name} that do not exist: {missing}"


def _found_items() -> list[tuple[str, str]]:
    """``(F-<n>, the rows it names)`` of each item of "Found by the walk"."""
    return re.findall(r"^- \*\*(F-\d+) \(([^)]*)\)", _found_section(), flags=re.MULTILINE)


def _found_row_ids() -> set[str]:
    """Every row id the Found items name, ranges (``CI-2..CI-5``) expanded."""
    refs = " ".join(r for _, r in _found_items())
    named = set(re.findall(r"\b[A-Z][A-Z0-9]*-\d+", refs))
    for prefix, lo, hi in re.findall(r"\b([A-Z][A-Z0-9]*)-(\d+)\.\.[A-Z][A-Z0-9]*-(\d+)", refs):
        named |= {f"{prefix}-{n}" for n in range(int(lo), int(hi) + 1)}
    return named


def test_a_row_without_a_test_says_none_and_is_found_by_the_walk() -> None:
    untested = [r for r in rows() if not any(_test_refs(r))]
    unmarked = [r.id for r in untested if "none" not in r.test]
    assert unmarked == [], f"rows without a test reference must say 'none': {unmarked}"
    marked = [r for r in rows() if re.search(r"\bnone\b", r.test)]
    assert marked, "the register's rows without a test point to the Found section"
    unlisted = [r.id for r in marked if r.id not in _found_row_ids()]
    assert unlisted == [], f"rows saying 'none' that 'Found by the walk' does not list: {unlisted}"


def test_found_by_the_walk_names_existing_rows() -> None:
    items = _found_items()
    assert items, f"{FOUND_HEADING} lists its items as '- **F-<n> (<row ids>)'"
    numbers = [int(f.removeprefix("F-")) for f, _ in items]
    assert numbers == list(range(1, len(items) + 1)), numbers
    unknown = sorted(_found_row_ids() - {r.id for r in rows()})
    assert unknown == [], f"Found items name rows that do not exist: {unknown}"


# --------------------------------------------------------------------------- every pin has a row


def _without_digest(image: str) -> str:
    return _DIGEST.sub("", image)


def _version_pins() -> list[tuple[str, list[str]]]:
    """(what, strings one row must all contain) for every pin of triton_platform/catalog/versions.py."""
    pins: list[tuple[str, list[str]]] = []
    for name, value in sorted(vars(versions).items()):
        if name.startswith("_") or not name.isupper():
            continue
        if isinstance(value, versions.ChartPin):
            pins.append((name, [value.chart, value.version]))
        elif isinstance(value, str):
            pins.append((name, [_without_digest(value)]))
        elif isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            pins += [(f"{name}[{k}]", [_without_digest(v)]) for k, v in value.items()]
        elif isinstance(value, dict) and all(isinstance(v, versions.NgcRelease) for v in value.values()):
            first, last = min(value), max(value)
            default = value[versions.DEFAULT_NGC_RELEASE]
            pins.append((name, [first, last, default.triton, default.tensorrt]))
    pins.append(("triton_image", [versions.triton_image(versions.DEFAULT_NGC_RELEASE)]))
    pins.append(("tensorrt_image", [versions.tensorrt_image(versions.DEFAULT_NGC_RELEASE)]))
    return pins


def _named(needles: list[str]) -> bool:
    return any(all(n in row.text for n in needles) for row in rows())


def test_every_pin_of_the_catalog_has_a_row() -> None:
    pins = _version_pins()
    assert {"KUBE_PROMETHEUS_STACK", "GPU_OPERATOR", "CLUSTER_AUTOSCALER", "SEAWEEDFS"} <= {p for p, _ in pins}
    missing = [f"{what}: {needles}" for what, needles in pins if not _named(needles)]
    assert missing == [], f"pins of triton_platform/catalog/versions.py with no row naming them: {missing}"


def _tool_pins() -> list[tuple[str, str]]:
    pins = set()
    for line in (REPO / "scripts" / "tools.lock").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and not line.startswith("#"):
            pins.add((fields[0], fields[1]))
    return sorted(pins)


def test_every_tool_pin_has_a_row() -> None:
    pins = _tool_pins()
    assert {tool for tool, _ in pins} >= {"kind", "helm", "pulumi"}, pins
    missing = [f"{tool} {version}" for tool, version in pins if not _named([tool, version])]
    assert missing == [], f"tools of scripts/tools.lock with no row naming them at their version: {missing}"


def _action_pins() -> list[tuple[str, str]]:
    pins = set()
    for workflow in sorted((REPO / ".github" / "workflows").glob("*.yml")):
        yaml.safe_load(workflow.read_text(encoding="utf-8"))  # a workflow that does not parse fails here
        pins |= {(m["action"], m["version"]) for m in _ACTION.finditer(workflow.read_text(encoding="utf-8"))}
    return sorted(pins)


def test_every_action_of_the_workflows_has_a_row_at_its_release() -> None:
    pins = _action_pins()
    assert len(pins) >= 5, pins
    missing = [f"{action} {version}" for action, version in pins if not _named([action, version])]
    assert missing == [], f"actions of .github/workflows with no row naming them and their release: {missing}"


def test_the_pulumi_sdk_pin_has_a_row() -> None:
    requirements = (REPO / "requirements.txt").read_text(encoding="utf-8")
    (version,) = re.findall(r"^pulumi==(\S+)$", requirements, flags=re.MULTILINE)
    assert _named(["Pulumi SDK", version]), f"no row names the Pulumi SDK {version} the engine formats come from"
