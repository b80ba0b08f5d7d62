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
``--repeat`` (default 5). ``--imports`` also lists the heaviest modules the dev program imports
that the floor does not (``python -X importtime``). Writes JSON to bench/results/.
Run: ``.venv/bin/python bench/program_eval.py [--repeat 5 --imports]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
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
import sys
print("onnx" in sys.modules, "numpy" in sys.modules)
"""
_FLOOR = """
import pulumi, pulumi_command, pulumi_random, pydantic
from pulumi_kubernetes.helm.v3 import Release, ReleaseArgs
from tests.support.pulumi_mocks import RecordingMocks, run_program
RecordingMocks().install("dev")
run_program(lambda: {"name": Release("floor", ReleaseArgs(chart="triton", namespace="floor")).name})
import sys
print("onnx" in sys.modules, "numpy" in sys.modules)
"""
PROGRAMS = {"dev": _DEV, "floor": _FLOOR}


def engine_config() -> str:
    """Pulumi.dev.yaml's config as the engine hands it to the program (PULUMI_CONFIG: strings, JSON for the rest)."""
    import yaml

    raw = (yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text()) or {}).get("config") or {}
    return json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()})


def run(code: str, extra: list[str] | None = None) -> tuple[float, str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PULUMI_CONFIG": engine_config()}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *(extra or []), "-c", code], capture_output=True, text=True, cwd=REPO, env=env, check=False
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"program failed:\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout.strip(), proc.stderr


def import_times(code: str) -> dict[str, int]:
    """Cumulative import time (us) of each module a program imports itself (not those its imports import)."""
    _, _, stderr = run(code, ["-X", "importtime"])
    out: dict[str, int] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        # -X importtime indents nested imports: one space after the bar is a top-level import.
        if cumulative.strip().isdigit() and name.startswith(" ") and not name.startswith("  "):
            out[name.strip()] = int(cumulative.strip())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--imports", action="store_true", help="list the dev program's heaviest extra imports")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    run(_DEV)  # warm the file system cache and the bytecode caches, untimed
    run(_FLOOR)
    times: dict[str, list[float]] = {name: [] for name in PROGRAMS}
    flags: dict[str, str] = {}
    for round_no in range(args.repeat):
        order = list(PROGRAMS) if round_no % 2 == 0 else list(reversed(PROGRAMS))
        for name in order:
            seconds, out, _ = run(PROGRAMS[name])
            times[name].append(seconds)
            flags[name] = out
            print(f"round {round_no + 1} {name:5s} {seconds:6.3f} s", flush=True)
    dev, floor = statistics.median(times["dev"]), statistics.median(times["floor"])
    report: dict[str, Any] = {
        "benchmark": "program_eval",
        "argv": sys.argv[1:],
        "repeat": args.repeat,
        "seconds": {k: [round(s, 3) for s in v] for k, v in times.items()},
        "median_seconds": {"dev": round(dev, 3), "floor": round(floor, 3)},
        "ratio_dev_to_floor": round(dev / floor, 3),
        "dev_imports_onnx_numpy": flags.get("dev", ""),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    if args.imports:
        dev_imports, floor_imports = import_times(_DEV), import_times(_FLOOR)
        extra = {m: t for m, t in dev_imports.items() if m not in floor_imports}
        report["dev_extra_imports_ms"] = {
            m: round(t / 1000, 1) for m, t in sorted(extra.items(), key=lambda kv: -kv[1])[:15]
        }
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"program_eval-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nmedian of {args.repeat}: dev {dev:.3f} s, floor {floor:.3f} s: {dev / floor:.2f}x the floor")
    print(f"dev program imports (onnx, numpy): {flags.get('dev')}")
    for module, ms in report.get("dev_extra_imports_ms", {}).items():
        print(f"  {module:45s} {ms:8.1f} ms")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
