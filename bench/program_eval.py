"""Benchmark: evaluating the dev stack's program against the floor any such program pays, wall time.

Both run in a fresh interpreter (as `pulumi up` starts the program), under the same mock runtime
(tests/support/pulumi_mocks.py), timed from before the interpreter starts until it exits:

  dev     __main__.py's work for Pulumi.dev.yaml: load the config, compose the stack
          (``stacks.build_stack``), wait for every registration
  floor   import pulumi, pulumi_kubernetes (its helm module), pulumi_command, pulumi_random and
          pydantic, register one resource (a helm Release, what the stack releases Triton with),
          wait for it

The ratio dev / floor is what the program itself costs on top of its SDKs (the issue: 1.70x,
with onnx and numpy imported to read model shapes; target 1.3x). Alternating rounds, median of
``--repeat`` (default 5). ``--imports`` also lists, by package, the self import time of the
modules the dev program imports and the floor does not (``python -X importtime``). Writes JSON
to bench/results/.

Both read bytecode, as ``pulumi up`` does from its second run on: the programs run with their
bytecode cache in a private ``PYTHONPYCACHEPREFIX`` (a temporary folder the untimed warm-up run
fills; the tree gets no ``__pycache__``), and ``PYTHONDONTWRITEBYTECODE`` is dropped for them.
Without it the installed SDKs read their .pyc files while every module of ours is compiled from
source in every round. ``--no-bytecode-cache`` measures that case (the environment as it is).

The dev program must not import what only the provider host or another cloud needs
(``FORBIDDEN``): the script fails if it does.
``--baseline DIR`` runs another checkout's dev program (an older commit's ``git archive``, with
``samples`` built) in the same rounds, for a before/after on the same minute's machine.
Run: ``.venv/bin/python bench/program_eval.py [--repeat 5 --imports --baseline DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

_DEV = """
from pathlib import Path
from tests.support.pulumi_mocks import RecordingMocks, run_program
RecordingMocks().install("dev")
from stacks import build_stack
from triton_platform.config import load_config
repo = Path.cwd()
run_program(lambda: build_stack(load_config(repo), repo))
import json, sys
print(json.dumps(sorted(sys.modules)))
"""
_FLOOR = """
import pulumi, pulumi_command, pulumi_random, pydantic
from pulumi_kubernetes.helm.v3 import Release, ReleaseArgs
from tests.support.pulumi_mocks import RecordingMocks, run_program
RecordingMocks().install("dev")
run_program(lambda: {"name": Release("floor", ReleaseArgs(chart="triton", namespace="floor")).name})
import json, sys
print(json.dumps(sorted(sys.modules)))
"""
PROGRAMS = {"dev": _DEV, "floor": _FLOOR}
# Modules the dev program (local cloud) must not import: model-reading libraries, the Kubernetes
# SDK's core/v1 package (components.kubernetes_objects registers those kinds), the other clouds'
# SDKs, and the publisher's work that only the provider host runs.
FORBIDDEN = (
    "onnx",
    "numpy",
    "pulumi_kubernetes.core.v1",
    "pulumi_aws",
    "pulumi_gcp",
    "pulumi_azure_native",
    "stacks.aws",
    "stacks.gcp",
    "stacks.azure",
    # The provider host's work (tests/stacks/test_local.py checks the same list in the tests).
    "triton_platform.publisher.pipeline",
    "triton_platform.publisher.publish",
    "triton_platform.publisher.pbtxt",
    "triton_platform.publisher.builders.kubernetes_job",
    "triton_platform.publisher.builders.local_tensorrt",
    "triton_platform.release.materialize",
    "triton_platform.release.promotion",
    "triton_platform.release.rebuild",
)


def forbidden_imports(modules: list[str]) -> list[str]:
    """The FORBIDDEN modules (or their submodules) among ``modules``."""
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


def engine_config() -> str:
    """Pulumi.dev.yaml's config as the engine hands it to the program (PULUMI_CONFIG: strings, JSON for the rest)."""
    import yaml

    raw = (yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text()) or {}).get("config") or {}
    return json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()})


def program_env(pycache: str | None) -> dict[str, str]:
    """The programs' environment: the repository on the path, the dev stack's config, the bytecode cache."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PULUMI_CONFIG": engine_config()}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


ENV: dict[str, str] = {}


def run(code: str, extra: list[str] | None = None, tree: Path = REPO) -> tuple[float, str, str]:
    """Run ``code`` in a fresh interpreter in ``tree`` (this repository, or ``--baseline``'s copy)."""
    env = {**(ENV or program_env(None)), "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *(extra or []), "-c", code], capture_output=True, text=True, cwd=tree, env=env, check=False
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"program failed:\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout.strip(), proc.stderr


def import_tree(code: str) -> list[tuple[int, str, int]]:
    """Each module a program imports, in ``-X importtime`` order: (nesting depth, name, self time in us)."""
    _, _, stderr = run(code, ["-X", "importtime"])
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, _cumulative, name = line.removeprefix("import time:").split("|")
        if own.strip().isdigit():
            # -X importtime indents nested imports by two spaces a level, after one space.
            rows.append(((len(name) - len(name.lstrip()) - 1) // 2, name.strip(), int(own.strip())))
    return rows


def extra_imports(dev: list[tuple[int, str, int]], floor: set[str]) -> dict[str, int]:
    """Self import time (us) of the modules the dev program imports and the floor does not, by package.

    A package is a module's first two names (``triton_platform.config``, ``pydantic._internal``).
    """
    out: dict[str, int] = {}
    for _depth, name, own in dev:
        if name not in floor:
            package = ".".join(name.split(".")[:2])
            out[package] = out.get(package, 0) + own
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--imports", action="store_true", help="list the dev program's extra imports by package")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument(
        "--no-bytecode-cache", action="store_true", help="run with the environment's bytecode setting as it is"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. `git archive` of an older commit, samples built): its dev program "
        "runs in the same alternating rounds",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: at least 1 round (e.g. --repeat 5)")
    if args.baseline and not (args.baseline / "stacks" / "__init__.py").is_file():
        parser.error(f"--baseline {args.baseline}: not a checkout of this project (no stacks/__init__.py there)")
    with tempfile.TemporaryDirectory(prefix="program_eval-pycache-") as pycache:
        ENV.update(program_env(None if args.no_bytecode_cache else pycache))
        report = measure(args)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"program_eval-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    dev, floor = report["median_seconds"]["dev"], report["median_seconds"]["floor"]
    print(f"\nmedian of {args.repeat}: dev {dev:.3f} s, floor {floor:.3f} s: {dev / floor:.2f}x the floor")
    if args.baseline:
        base = report["median_seconds"]["baseline"]
        print(f"baseline ({args.baseline}) dev {base:.3f} s: {base / floor:.2f}x the floor")
    print(f"load average {report['load_average']}; dev imports no {', '.join(FORBIDDEN)}")
    for module, ms in report.get("dev_extra_imports_ms", {}).items():
        print(f"  {module:45s} {ms:8.1f} ms")
    print(f"wrote {out}")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """The alternating rounds (after an untimed warm-up of both), as the JSON report."""
    programs = {name: (code, REPO) for name, code in PROGRAMS.items()}
    if args.baseline:
        programs["baseline"] = (_DEV, args.baseline.resolve())
    _, modules, _ = run(_DEV)  # warm the file system cache and the bytecode caches, untimed
    for name, (code, tree) in programs.items():
        if name != "dev":
            run(code, tree=tree)
    bad = forbidden_imports(json.loads(modules))
    if bad:
        raise SystemExit(f"the dev program imports {bad}: none of {list(FORBIDDEN)} belongs in it")
    times: dict[str, list[float]] = {name: [] for name in programs}
    for round_no in range(args.repeat):
        order = list(programs) if round_no % 2 == 0 else list(reversed(programs))
        for name in order:
            seconds, _, _ = run(programs[name][0], tree=programs[name][1])
            times[name].append(seconds)
            print(f"round {round_no + 1} {name:8s} {seconds:6.3f} s", flush=True)
    dev, floor = statistics.median(times["dev"]), statistics.median(times["floor"])
    report: dict[str, Any] = {
        "benchmark": "program_eval",
        "argv": sys.argv[1:],
        "repeat": args.repeat,
        "bytecode_cache": not args.no_bytecode_cache,
        "seconds": {k: [round(s, 3) for s in v] for k, v in times.items()},
        "median_seconds": {name: round(statistics.median(t), 3) for name, t in times.items()},
        "ratio_dev_to_floor": round(dev / floor, 3),
        "dev_imports_none_of": list(FORBIDDEN),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    if args.imports:
        floor_modules = {name for _, name, _ in import_tree(_FLOOR)}
        extra = extra_imports(import_tree(_DEV), floor_modules)
        report["dev_extra_imports_ms"] = {
            m: round(t / 1000, 1) for m, t in sorted(extra.items(), key=lambda kv: -kv[1])[:15]
        }
    return report


if __name__ == "__main__":
    main()
