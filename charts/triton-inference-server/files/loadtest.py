"""Runs the load-test plan: each model's perf_analyzer command, then checks its CSV report.

Shipped in the chart's loadtest ConfigMap and run by the ``helm test`` Job in Triton's SDK image
(python3, standard library only). The plan (plan.json) is built by
triton_platform/values/autoscaling.py: ``runs`` = [{model, command}] with the exact perf_analyzer argv,
``thresholds`` = {maxP99LatencyMs, minThroughput, maxErrors}. Every concurrency level of the
report must meet the thresholds; a perf_analyzer that exits non-zero (it stops on the first
failed request) counts as errors. Exit status: 0 when every model passes, 1 otherwise.

Outside the cluster (through ``kubectl port-forward``): ``--url 127.0.0.1:8001`` replaces the
plan's in-cluster address, ``--perf-analyzer PATH`` the program (argv[0]).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

# Columns of perf_analyzer's CSV report (-f); latencies are in microseconds.
THROUGHPUT = "Inferences/Second"
P99 = "p99 latency"
CONCURRENCY = "Concurrency"


def _flag_value(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def _command(command: list[str], url: str | None, program: str | None) -> list[str]:
    out = list(command)
    if url:
        out[out.index("-u") + 1] = url
    if program:
        out[0] = program
    return out


def check_report(rows: list[dict[str, str]], thresholds: dict[str, float]) -> list[str]:
    """Threshold violations of one model's CSV rows (an empty report is one)."""
    if not rows:
        return ["perf_analyzer wrote no measurement"]
    problems: list[str] = []
    for row in rows:
        level = row.get(CONCURRENCY, "?")
        p99_ms = float(row[P99]) / 1000.0
        rate = float(row[THROUGHPUT])
        if p99_ms > float(thresholds["maxP99LatencyMs"]):
            problems.append(
                f"concurrency {level}: p99 latency {p99_ms:.2f} ms > maxP99LatencyMs {thresholds['maxP99LatencyMs']}"
            )
        if rate < float(thresholds["minThroughput"]):
            problems.append(
                f"concurrency {level}: throughput {rate:.2f} infer/s < minThroughput {thresholds['minThroughput']}"
            )
    return problems


def run(plan: dict[str, Any], workdir: Path, url: str | None = None, program: str | None = None) -> int:
    thresholds = plan["thresholds"]
    failed: list[str] = []
    for entry in plan["runs"]:
        model, command = entry["model"], _command(entry["command"], url, program)
        print(f"=== {model}: {' '.join(command)}", flush=True)
        report = workdir / _flag_value(command, "-f")
        report.unlink(missing_ok=True)
        proc = subprocess.run(command, cwd=workdir, check=False)
        problems: list[str] = []
        if proc.returncode != 0:
            # perf_analyzer stops on the first failed request, and on a level it cannot measure stably.
            problems.append(
                f"perf_analyzer exited with {proc.returncode}: failed requests (maxErrors is 0) or no stable "
                "measurement (see its output above)"
            )
        rows: list[dict[str, str]] = []
        if report.is_file():
            text = report.read_text()
            print(f"--- {model}: report ({report.name})\n{text}", flush=True)
            rows = list(csv.DictReader(text.splitlines()))
        problems += check_report(rows, thresholds) if proc.returncode == 0 else []
        verdict = "PASS" if not problems else "FAIL"
        print(f"--- {model}: {verdict}", flush=True)
        for p in problems:
            print(f"    {p}", flush=True)
        if problems:
            failed.append(model)
    print(f"=== load test: {'FAILED: ' + ', '.join(failed) if failed else 'passed'}", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, type=Path)
    parser.add_argument("--workdir", type=Path, default=Path.cwd())
    parser.add_argument("--url", help="host:port replacing the plan's in-cluster address")
    parser.add_argument("--perf-analyzer", dest="program", help="perf_analyzer program replacing argv[0]")
    args = parser.parse_args(argv)
    plan = json.loads(args.plan.read_text())
    return run(plan, args.workdir, args.url, args.program)


if __name__ == "__main__":
    sys.exit(main())
