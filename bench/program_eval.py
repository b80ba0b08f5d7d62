"""Benchmark: evaluating the dev stack's program against the floor any such program pays, wall time.

Each program runs in a fresh interpreter the way Pulumi's Python language host runs a program
(pulumi/pulumi ``sdk/python/cmd/pulumi-language-python-exec``: ``run_in_stack`` over
``runpy.run_path(PROGRAM, run_name="__main__")`` on the runtime's event loop, the loop closed, then
``sys.exit``), under the same mock runtime (tests/support/pulumi_mocks.py) in place of the engine,
timed from before the interpreter starts until it exits:

  dev     ``__main__.py`` for Pulumi.dev.yaml, as ``pulumi up`` runs it: its process setup
          (triton_platform/process/evaluation.py), load the config, check the cluster version and the
          pinned release, compose the stack, every registration awaited
  floor   a program that imports pulumi, pulumi_kubernetes (its helm module), pulumi_command,
          pulumi_random and pydantic and registers one resource (a helm Release, what the stack
          releases Triton with)
  floor+  the floor with the dev program's process setup first (reported, not the yardstick: it
          shows what that setup is worth to any program)

The ratio dev / floor is what the program itself costs on top of its SDKs (the issue: 1.70x,
with onnx and numpy imported to read model shapes; target 1.3x). Alternating rounds, median of
``--repeat`` (default 5). ``--imports`` also lists, by package, the self import time of the
modules the dev program imports and the floor does not (``python -X importtime``). Writes JSON
to bench/results/.

All read bytecode, as ``pulumi up`` does from its second run on: the programs run with their
bytecode cache in a private ``PYTHONPYCACHEPREFIX`` (a temporary folder the untimed warm-up run
fills; the tree gets no ``__pycache__``), and ``PYTHONDONTWRITEBYTECODE`` is dropped for them.
Without it the installed SDKs read their .pyc files while every module of ours is compiled from
source in every round. ``--no-bytecode-cache`` measures that case (the environment as it is).

The dev program must not import what only the provider host or another cloud needs
(``tests.support.stacks.NOT_IN_THE_DEV_PROGRAM``): the script fails if it does.
``--baseline DIR`` runs another checkout's ``__main__.py`` (an older commit's ``git archive``, with
``samples`` built) in the same rounds, for a before/after on the same minute's machine.
``--instructions`` also counts, once per program, the instructions it executes from interpreter start
to exit (valgrind's cachegrind, ``I refs``, cache simulation off; Debian's ``valgrind`` package): a
count that does not move with the machine's load, for comparing two trees where wall-clock rounds on
a shared machine move by more than the change. Wall time stays the yardstick; the count says which
way a change went and by how much of the program's own work.
Run: ``.venv/bin/python bench/program_eval.py [--repeat 5 --imports --baseline DIR --instructions]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from tests.support.stacks import NOT_IN_THE_DEV_PROGRAM, not_in_the_dev_program  # noqa: E402

# What pulumi-language-python-exec does with a program (see the module docstring), the engine
# replaced by the mock runtime; prints the modules the program left imported.
_HOST = """
import asyncio, json, logging, os, runpy, sys
import pulumi
from pulumi.runtime import settings
from tests.support.pulumi_mocks import RecordingMocks
RecordingMocks().install("dev")
settings.ROOT.set(None)  # run_in_stack makes the program's own Stack, as under `pulumi up`
graph, record = [], os.environ.get("PROGRAM_EVAL_RECORD")
if record:  # the untimed warm-up of dev: each registration as the engine received it, for --replay
    from google.protobuf import json_format
    monitor = settings.get_monitor()
    register = monitor.RegisterResource
    def recorded(request):
        response = register(request)
        graph.append({"type": request.type, "name": request.name, "parent": request.parent,
                      "custom": request.custom, "dependencies": list(request.dependencies),
                      "provider": request.provider, "urn": response.urn,
                      "inputs": json_format.MessageToDict(request.object)})
        return response
    monitor.RegisterResource = recorded
loop = asyncio.get_event_loop()
logging.getLogger("asyncio").setLevel(logging.CRITICAL)
loop.run_until_complete(pulumi.runtime.run_in_stack(lambda: runpy.run_path(sys.argv[1], run_name="__main__")))
loop.close()
if record:
    with open(record, "w") as out:
        json.dump(graph, out)
print(json.dumps(sorted(sys.modules)))
sys.exit(0)
"""
_FLOOR = """
import pulumi, pulumi_command, pulumi_random, pydantic
from pulumi_kubernetes.helm.v3 import Release, ReleaseArgs
pulumi.export("name", Release("floor", ReleaseArgs(chart="triton", namespace="floor")).name)
"""
_PREPARED = """
from triton_platform.process import prepare_for_one_evaluation
prepare_for_one_evaluation()
"""
# --replay: the dev program's registrations (recorded in the warm-up) registered again with no code
# of ours: the dev program's process setup, the floor's imports, pydantic's BaseModel (what
# validating a config with pydantic imports), then every resource as a plain pulumi
# Custom/Component/ProviderResource with the same type, name, parent, provider, dependencies and
# inputs. What any program that registers this stack's resources and validates its config with
# pydantic pays in the same process: dev minus replay is what the program's own code costs.
_REPLAY = """
import json
import pulumi, pulumi_command, pulumi_random, pydantic
from pulumi_kubernetes.helm.v3 import Release
from pydantic import BaseModel
from pulumi.runtime.rpc import _special_sig_key as SECRET

def plain(value):
    if isinstance(value, dict):
        if SECRET in value:
            return pulumi.Output.secret(plain(value["value"]))
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value

registered = {}
with open(GRAPH) as graph:
    for r in json.load(graph):
        if r["type"] == "pulumi:pulumi:Stack":
            continue
        opts = pulumi.ResourceOptions(
            parent=registered.get(r["parent"]),
            depends_on=[registered[urn] for urn in r["dependencies"] if urn in registered],
            provider=registered.get((r["provider"] or "").rsplit("::", 1)[0]),
        )
        if r["type"].startswith("pulumi:providers:"):
            res = pulumi.ProviderResource(r["type"].rsplit(":", 1)[1], r["name"], plain(r["inputs"]), opts)
        elif r["custom"]:
            res = pulumi.CustomResource(r["type"], r["name"], plain(r["inputs"]), opts)
        else:
            res = pulumi.ComponentResource(r["type"], r["name"], None, opts)
            res.register_outputs({})
        registered[r["urn"]] = res
"""


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


def run(
    program: Path, tree: Path = REPO, extra: list[str] | None = None, record: Path | None = None
) -> tuple[float, str, str]:
    """Run ``program`` as the language host does, in a fresh interpreter in ``tree`` (this repository, or
    ``--baseline``'s copy): (seconds, the modules it left imported as JSON, stderr)."""
    env = {**(ENV or program_env(None)), "PYTHONPATH": str(tree)}
    if record is not None:
        env["PROGRAM_EVAL_RECORD"] = str(record)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *(extra or []), "-c", _HOST, str(program)],
        capture_output=True,
        text=True,
        cwd=tree,
        env=env,
        check=False,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"program {program} failed:\n{proc.stderr[-3000:]}")
    lines = proc.stdout.strip().splitlines()
    return seconds, lines[-1] if lines else "[]", proc.stderr


def instructions(program: Path, tree: Path = REPO) -> int:
    """Instructions the program executes, interpreter start to exit (cachegrind's ``I refs``)."""
    with tempfile.TemporaryDirectory(prefix="cachegrind-") as tmp:
        cachegrind = ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={tmp}/out"]
        proc = subprocess.run(
            [*cachegrind, sys.executable, "-c", _HOST, str(program)],
            capture_output=True,
            text=True,
            cwd=tree,
            env={**ENV, "PYTHONPATH": str(tree)},
            check=False,
        )
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"valgrind could not count {program}:\n{proc.stderr[-3000:]}")
    return int(found.group(1).replace(",", ""))


def import_tree(program: Path) -> list[tuple[int, str, int]]:
    """Each module a program imports, in ``-X importtime`` order: (nesting depth, name, self time in us)."""
    _, _, stderr = run(program, extra=["-X", "importtime"])
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
    parser.add_argument(
        "--replay",
        action="store_true",
        help="also time the dev program's registrations replayed with no code of ours (what any program "
        "registering them pays)",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each program's instructions once under valgrind (cachegrind), a load-independent measure",
    )
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind on PATH (Debian: apt-get install valgrind)")
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: at least 1 round (e.g. --repeat 5)")
    if args.baseline and not (args.baseline / "stacks" / "__init__.py").is_file():
        parser.error(f"--baseline {args.baseline}: not a checkout of this project (no stacks/__init__.py there)")
    with tempfile.TemporaryDirectory(prefix="program_eval-") as work:
        ENV.update(program_env(None if args.no_bytecode_cache else str(Path(work) / "pycache")))
        report = measure(args, program_files(args, Path(work)))
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"program_eval-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    medians = report["median_seconds"]
    dev, floor, prepared = medians["dev"], medians["floor"], medians["floor_prepared"]
    print(f"\nmedian of {args.repeat}: dev {dev:.3f} s, floor {floor:.3f} s: {dev / floor:.2f}x the floor")
    print(f"floor with the dev program's process setup {prepared:.3f} s: dev is {dev / prepared:.2f}x that")
    if args.replay:
        replay = medians["replay"]
        print(f"replay (the same registrations and process setup, no code of ours) {replay:.3f} s")
        print(f"  the program's own code: {1000 * (dev - replay):.0f} ms")
    if args.baseline:
        base = report["median_seconds"]["baseline"]
        print(f"baseline ({args.baseline}) dev {base:.3f} s: {base / floor:.2f}x the floor")
    counted = report.get("instructions", {})
    for name, count in counted.items():
        print(f"instructions {name:14s} {count / 1e9:6.3f} G: {count / counted['floor']:.3f}x the floor's")
    print(f"load average {report['load_average']}; dev imports no {', '.join(NOT_IN_THE_DEV_PROGRAM)}")
    for module, ms in report.get("dev_extra_imports_ms", {}).items():
        print(f"  {module:45s} {ms:8.1f} ms")
    print(f"wrote {out}")


def program_files(args: argparse.Namespace, folder: Path) -> dict[str, tuple[Path, Path]]:
    """name -> (program file, the tree it runs in): the floor's two files are written to ``folder``."""
    floor, prepared = folder / "floor.py", folder / "floor_prepared.py"
    floor.write_text(_FLOOR)
    prepared.write_text(_PREPARED + _FLOOR)
    out = {"dev": (REPO / "__main__.py", REPO), "floor": (floor, REPO), "floor_prepared": (prepared, REPO)}
    if args.baseline:
        tree = args.baseline.resolve()
        out["baseline"] = (tree / "__main__.py", tree)
    if args.replay:
        replay = folder / "replay.py"
        replay.write_text(f"{_PREPARED}GRAPH = {str(folder / 'graph.json')!r}\n{_REPLAY}")
        out["replay"] = (replay, REPO)
    return out


def _registrations(path: Path) -> dict[str, dict[str, Any]]:
    """A recorded graph by URN, dependencies as a sorted list (their order is the SDK's set order)."""
    return {r["urn"]: {**r, "dependencies": sorted(r["dependencies"])} for r in json.loads(path.read_text())}


def check_replay(replay: Path, recorded: Path) -> None:
    """Fail unless the replay registers what the dev program registered: same URNs, parents, inputs."""
    again = recorded.with_name("graph-replayed.json")
    run(replay, record=again)
    want, got = _registrations(recorded), _registrations(again)
    differ = sorted(urn for urn in want.keys() | got.keys() if want.get(urn) != got.get(urn))
    if differ:
        raise SystemExit(f"the replay registers other resources than the dev program: {differ}")


def measure(args: argparse.Namespace, programs: dict[str, tuple[Path, Path]]) -> dict[str, Any]:
    """The alternating rounds (after an untimed warm-up of each program), as the JSON report."""
    # Warm the file system cache and the bytecode caches, untimed; the dev run records its
    # registrations for --replay (graph.json beside the replay program).
    record = programs["replay"][0].parent / "graph.json" if "replay" in programs else None
    _, modules, _ = run(*programs["dev"], record=record)
    for name, (program, tree) in programs.items():
        if name != "dev":
            run(program, tree=tree)
    if record is not None:
        check_replay(programs["replay"][0], record)
    bad = not_in_the_dev_program(json.loads(modules))
    if bad:
        raise SystemExit(f"the dev program imports {bad}: none of {list(NOT_IN_THE_DEV_PROGRAM)} belongs in it")
    times: dict[str, list[float]] = {name: [] for name in programs}
    for round_no in range(args.repeat):
        order = list(programs) if round_no % 2 == 0 else list(reversed(programs))
        for name in order:
            seconds, _, _ = run(*programs[name])
            times[name].append(seconds)
            print(f"round {round_no + 1} {name:14s} {seconds:6.3f} s", flush=True)
    dev, floor = statistics.median(times["dev"]), statistics.median(times["floor"])
    report: dict[str, Any] = {
        "benchmark": "program_eval",
        "argv": sys.argv[1:],
        "repeat": args.repeat,
        "bytecode_cache": not args.no_bytecode_cache,
        "seconds": {k: [round(s, 3) for s in v] for k, v in times.items()},
        "median_seconds": {name: round(statistics.median(t), 3) for name, t in times.items()},
        "ratio_dev_to_floor": round(dev / floor, 3),
        "ratio_dev_to_floor_prepared": round(dev / statistics.median(times["floor_prepared"]), 3),
        "dev_imports_none_of": list(NOT_IN_THE_DEV_PROGRAM),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    if args.instructions:
        report["instructions"] = {name: instructions(*programs[name]) for name in programs}
    if args.imports:
        floor_modules = {name for _, name, _ in import_tree(programs["floor"][0])}
        extra = extra_imports(import_tree(programs["dev"][0]), floor_modules)
        report["dev_extra_imports_ms"] = {
            m: round(t / 1000, 1) for m, t in sorted(extra.items(), key=lambda kv: -kv[1])[:15]
        }
    return report


if __name__ == "__main__":
    main()
