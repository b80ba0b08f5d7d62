"""The layout is the design (docs/architecture.md): folders, type tokens, signatures, docstrings.

- components/<module>/: at most one ComponentResource per file, type token ``triton:<module>:<Class>``
  with <module> the folder, signature ``(self, name, args, opts=None)``, args a frozen pydantic
  model that rejects unknown fields, ``register_outputs`` last; dynamic resources live in
  components/providers/ only, with a named type (``module="triton", name="<Class>"``) and the same signature.
- triton_platform/: exactly the documented subpackages, and no loose module but the entry-point shims.
- every folder of program code is a package (grimp and import-linter do not see namespace
  packages), and every module says in its docstring what it provisions or does.
- the tree in docs/architecture.md is the real tree, so the page cannot go stale.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import typing
from pathlib import Path
from types import ModuleType

import pulumi
import pulumi.dynamic
import pytest
from pydantic import BaseModel

from tests.architecture.program import PROGRAM_PACKAGES, REPO, module_name, parse, program_files, rel

COMPONENTS = REPO / "components"
PROVIDERS = COMPONENTS / "providers"
TRITON_PLATFORM = REPO / "triton_platform"
DOC = REPO / "docs" / "architecture.md"

# One subpackage per concern (docs/architecture.md says what each holds).
TRITON_PLATFORM_PACKAGES = {
    "catalog",
    "clouds",
    "config",
    "preview",
    "process",
    "publisher",
    "release",
    "sidecars",
    "values",
}
# Loose modules: the package docstring and the old entry points kept working (README):
# `python -m triton_platform.promote` and `python -m triton_platform.preview_comment`.
TRITON_PLATFORM_MODULES = {"__init__.py", "promote.py", "preview_comment.py"}


def _component_files() -> list[Path]:
    """The modules of components/<module>/ (providers/ included), __init__ files excepted."""
    return sorted(p for p in COMPONENTS.glob("*/*.py") if p.name != "__init__.py")


def _classes(module: ModuleType) -> list[type]:
    """Classes defined in ``module`` itself (not imported into it)."""
    return [obj for obj in vars(module).values() if inspect.isclass(obj) and obj.__module__ == module.__name__]


def _class_node(path: Path, name: str) -> ast.ClassDef:
    return next(n for n in ast.walk(parse(path)) if isinstance(n, ast.ClassDef) and n.name == name)


def _super_init_tokens(node: ast.ClassDef) -> list[str | None]:
    """The first argument of each ``super().__init__(...)`` in the class's ``__init__``."""
    tokens: list[str | None] = []
    for init in (n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"):
        for call in ast.walk(init):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "__init__"
                and isinstance(call.func.value, ast.Call)
                and isinstance(call.func.value.func, ast.Name)
                and call.func.value.func.id == "super"
            ):
                first = call.args[0] if call.args else None
                tokens.append(first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None)
    return tokens


def _ends_with_register_outputs(node: ast.ClassDef) -> bool:
    """The last statement of ``__init__`` is ``self.register_outputs(...)``: the outputs are final."""
    init = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    last = init.body[-1]
    return isinstance(last, ast.Expr) and ast.unparse(last.value).startswith("self.register_outputs(")


def _signature_problems(cls: type) -> list[str]:
    """What differs from ``__init__(self, name, args, opts=None)`` with frozen, closed args."""
    params = list(inspect.signature(cls.__init__).parameters.values())  # type: ignore[misc]
    if [p.name for p in params] != ["self", "name", "args", "opts"] or params[3].default is not None:
        return [f"signature {inspect.signature(cls.__init__)} is not (self, name, args, opts=None)"]  # type: ignore[misc]
    hints = typing.get_type_hints(cls.__init__)  # type: ignore[misc]
    args = hints.get("args")
    if not (inspect.isclass(args) and issubclass(args, BaseModel)):
        return [f"args is {args!r}, not a pydantic model"]
    config = args.model_config
    problems = []
    if config.get("frozen") is not True:
        problems.append(f"{args.__name__} is not frozen")
    if config.get("extra") != "forbid":
        problems.append(f"{args.__name__} does not forbid unknown fields (extra={config.get('extra')!r})")
    return problems


@pytest.fixture(scope="module")
def component_modules() -> dict[Path, ModuleType]:
    return {path: importlib.import_module(module_name(path)) for path in _component_files()}


def test_components_follow_their_folder(component_modules: dict[Path, ModuleType]) -> None:
    problems: list[str] = []
    seen = 0
    for path, module in component_modules.items():
        components = [c for c in _classes(module) if issubclass(c, pulumi.ComponentResource)]
        if path.parent == PROVIDERS and components:
            problems.append(f"{rel(path)}: components/providers/ holds dynamic providers only, not {components}")
        if len(components) > 1:
            problems.append(f"{rel(path)}: one ComponentResource per file, found {[c.__name__ for c in components]}")
        for cls in components:
            seen += 1
            want = f"triton:{path.parent.name}:{cls.__name__}"
            tokens = _super_init_tokens(_class_node(path, cls.__name__))
            if tokens != [want]:
                problems.append(f"{rel(path)}: {cls.__name__} passes type token(s) {tokens}, want [{want!r}]")
            problems += [f"{rel(path)}: {cls.__name__}: {p}" for p in _signature_problems(cls)]
            if not _ends_with_register_outputs(_class_node(path, cls.__name__)):
                problems.append(f"{rel(path)}: {cls.__name__}.__init__ does not end with self.register_outputs(...)")
    assert seen >= 15, f"found only {seen} components: the test looks in the wrong place"
    assert not problems, "\n".join(problems)


def test_every_component_folder_holds_a_component(component_modules: dict[Path, ModuleType]) -> None:
    kinds = (pulumi.ComponentResource, pulumi.dynamic.Resource)
    folders = {p.parent for p in COMPONENTS.glob("*/__init__.py")}
    empty = sorted(
        rel(folder)
        for folder in folders
        if not any(
            issubclass(c, kinds) for path, m in component_modules.items() if path.parent == folder for c in _classes(m)
        )
    )
    assert not empty, f"component folders without a component: {empty}"
    loose = sorted(
        f"{rel(p)}: {node.name}"
        for p in COMPONENTS.glob("*.py")
        for node in ast.walk(parse(p))
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(b).endswith(("ComponentResource", "dynamic.Resource")) for b in node.bases)
    )
    assert not loose, f"components/*.py are shared helpers; a component goes into components/<module>/: {loose}"


def _dynamic_resource_classes() -> list[tuple[Path, ast.ClassDef]]:
    """Classes in program code whose bases name ``dynamic.Resource`` or ``dynamic.ResourceProvider``."""
    found = []
    for path in program_files():
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.ClassDef) and any(
                ast.unparse(base).endswith(("dynamic.Resource", "dynamic.ResourceProvider")) for base in node.bases
            ):
                found.append((path, node))
    return found


def test_dynamic_resources_live_in_providers_with_a_named_type(component_modules: dict[Path, ModuleType]) -> None:
    found = _dynamic_resource_classes()
    assert found, "no dynamic resource found: the test looks in the wrong place"
    problems = [
        f"{rel(path)}: {node.name} belongs in components/providers/" for path, node in found if path.parent != PROVIDERS
    ]
    resources = 0
    for path, module in component_modules.items():
        for cls in (c for c in _classes(module) if issubclass(c, pulumi.dynamic.Resource)):
            resources += 1
            keywords = {k.arg: ast.literal_eval(k.value) for k in _class_node(path, cls.__name__).keywords}
            if keywords != {"module": "triton", "name": cls.__name__}:
                problems.append(
                    f'{rel(path)}: {cls.__name__} has type keywords {keywords}, want module="triton", name=<class>'
                )
            problems += [f"{rel(path)}: {cls.__name__}: {p}" for p in _signature_problems(cls)]
    assert resources >= 2, "the dynamic resources ModelVersion and ReleasePromotion were not found"
    assert not problems, "\n".join(problems)


def test_triton_platform_has_one_subpackage_per_concern() -> None:
    packages = {p.name for p in TRITON_PLATFORM.iterdir() if p.is_dir() and p.name != "__pycache__"}
    modules = {p.name for p in TRITON_PLATFORM.glob("*.py")}
    assert packages == TRITON_PLATFORM_PACKAGES, f"subpackages {sorted(packages)}"
    assert modules == TRITON_PLATFORM_MODULES, f"loose modules {sorted(modules - TRITON_PLATFORM_MODULES)}"


def test_every_folder_of_program_code_is_a_package() -> None:
    folders = {p.parent for p in program_files() if p.parent != REPO}
    missing = sorted(rel(f) for f in folders if not (f / "__init__.py").is_file())
    assert not missing, f"folders without __init__.py (invisible to the import checks): {missing}"


def test_every_module_has_a_docstring() -> None:
    missing = [rel(p) for p in program_files() if not (ast.get_docstring(parse(p)) or "").strip()]
    assert not missing, f"modules without a docstring saying what they provision or do: {missing}"


# --- the tree in docs/architecture.md ------------------------------------------------------------------


def doc_tree(text: str) -> list[str]:
    """The paths of the ```tree block: two spaces of indent per level, folders end with '/'.

    Each line is ``<indent><name>[  comment]``; a name is relative to the folder above it.
    """
    match = re.search(r"^```tree\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert match, "docs/architecture.md has no ```tree block"
    parents: list[str] = []
    paths: list[str] = []
    for number, line in enumerate(match.group(1).splitlines(), 1):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 2 == 0, f"tree line {number}: indent by two spaces per level: {line!r}"
        assert indent // 2 <= len(parents), f"tree line {number}: deeper than the folder above: {line!r}"
        del parents[indent // 2 :]
        name = line.split()[0]
        paths.append("".join(parents) + name)
        if name.endswith("/"):
            parents.append(name)
    return paths


def _real_program_tree() -> set[str]:
    """Every program package folder ('x/') and module (__init__.py excepted), as the tree names them."""
    paths = {rel(p) for p in program_files() if p.name != "__init__.py"}
    paths |= {rel(p.parent) + "/" for p in program_files() if p.parent != REPO}
    return paths


def test_doc_tree_parser() -> None:
    text = "x\n```tree\na.py  top\nb/    folder\n  c.py\n  d/\n    e.py  deep\nf/\n```\n"
    assert doc_tree(text) == ["a.py", "b/", "b/c.py", "b/d/", "b/d/e.py", "f/"]


def test_docs_architecture_tree_is_the_real_tree() -> None:
    listed = doc_tree(DOC.read_text(encoding="utf-8"))
    program = tuple(f"{p}/" for p in PROGRAM_PACKAGES)
    # Program code is listed completely; other files (scripts/*.sh, charts/, docs/, tests/) only need to exist.
    listed_program = {p for p in listed if p == "__main__.py" or (p.startswith(program) and p.endswith(("/", ".py")))}
    real = _real_program_tree()
    missing, stale = sorted(real - listed_program), sorted(listed_program - real)
    assert not missing, f"docs/architecture.md's tree lacks program code: {missing}"
    assert not stale, f"docs/architecture.md's tree names program code that does not exist: {stale}"
    gone = [p for p in listed if not any(REPO.glob(p.rstrip("/")))]
    assert not gone, f"docs/architecture.md names paths that do not exist: {gone}"


def test_readme_and_docs_name_only_files_and_modules_that_exist() -> None:
    """Every `path/to/module.py` of ours and `python -m module` in README.md and docs/ still exists.

    Only paths under our own top-level folders count: docs/integrations.md cites third-party
    sources by their repositories' paths (e.g. pulumi/pulumi ``sdk/python/lib/pulumi/...``).
    """
    ours = "|".join(re.escape(d) for d in (*PROGRAM_PACKAGES, "tests", "bench", "samples", "charts", "docs"))
    stale = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        paths = re.findall(rf"(?<![\w./-])((?:{ours})/(?:[\w.-]+/)*[\w.-]+\.py)\b", text)
        stale += [f"{rel(doc)}: {p}" for p in paths if not (REPO / p).is_file()]
        for module in re.findall(r"python3? -m ([\w.]+)", text):
            base = REPO.joinpath(*module.split("."))
            if module not in ("venv", "pip") and not (base.with_suffix(".py").is_file() or base.is_dir()):
                stale += [f"{rel(doc)}: python -m {module}"]
    assert not stale, "\n".join(stale)


def test_program_code_names_only_our_files_that_exist() -> None:
    """Comments and docstrings that point at one of our modules (or a test) point at a real one."""
    ours = "|".join((*PROGRAM_PACKAGES, "tests"))
    pattern = re.compile(rf"(?<![\w./-])((?:{ours})/[\w./-]*\.py)\b")
    stale = [
        f"{rel(path)}: {p}"
        for path in program_files()
        for p in pattern.findall(path.read_text(encoding="utf-8"))
        if not (REPO / p).is_file()
    ]
    assert not stale, "\n".join(stale)
