"""Benchmark: what a no-op `pulumi preview` / `pulumi up` pays per model: fingerprints, Check and Diff.

Part 1 (``--size-mb``, default 1024): one file hashed once cold (the first preview; it fills
``$TRITON_PLATFORM_CACHE_DIR/hashes.json``), then ``fingerprint.file_sha256`` timed in fresh
interpreters, the way a second preview runs it (empty memo, warm persistent cache), against
``sha256sum`` of the same file (page cache warm, its best case).

Part 2 (``--models``, default 100): a no-op ``pulumi up`` over that many ONNX models. A first up
creates them (moto, through the real dynamic-provider host over gRPC: bench/engine.py). The
second up is timed as the engine runs it: a fresh program process fingerprints every model
(the program's share, per model), then the provider host answers Check and Diff for each
(one host process, as for one `pulumi up`; the first call pays its imports and is reported
apart). It checks that nothing happens: every Diff says no change (so no Create or Update is
called: 0 uploads, 0 engine builds), no file is hashed, the bucket holds the same objects.
It also times the provider's own check+diff code in-process (without gRPC and the SDK's
protobuf (de)serialization). Writes JSON to bench/results/.
Run: ``.venv/bin/python bench/noop_diff.py [--size-mb 1024 --models 100 --repeat 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from engine import ProviderHost, model_version_props, urn  # noqa: E402
from publish_throughput import BUCKET, make_models  # noqa: E402

from tests.support.servers import create_bucket, moto_server  # noqa: E402
from triton_platform.publisher import fingerprint  # noqa: E402
from triton_platform.publisher.spec import ModelSpec  # noqa: E402

MiB = 1024 * 1024
# Runs in a fresh interpreter, as a second `pulumi preview` would: import, then time the call.
_PROBE = """
import sys, time
from triton_platform.publisher import fingerprint
t = time.perf_counter()
digest = fingerprint.file_sha256(sys.argv[1])
print(time.perf_counter() - t, digest, fingerprint.STATS.hashed_files)
"""
# The program's share of a no-op up: every model's fingerprint, in a fresh process.
_PROGRAM = """
import json, sys, time
from pathlib import Path
from triton_platform.publisher import fingerprint
from triton_platform.publisher.pipeline import source_fingerprint
from triton_platform.publisher.spec import ModelSpec
base = Path(sys.argv[1])
specs = [ModelSpec(name=p.stem, source=p.name, format="onnx", max_batch_size=8, instance_kind="cpu")
         for p in sorted(base.glob("*.onnx"))]
t = time.perf_counter()
prints = [source_fingerprint(s, base) for s in specs]
print(json.dumps({"seconds": time.perf_counter() - t, "models": len(specs), "hashed": fingerprint.STATS.hashed_files}))
"""


def probe(path: Path, env: dict[str, str]) -> tuple[float, str, int]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)], capture_output=True, text=True, check=True, env=env, cwd=REPO
    ).stdout.split()
    return float(out[0]), out[1], int(out[2])


def single_file(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> dict[str, Any]:
    """Part 1: one large file, the warm check against sha256sum."""
    sha256sum = shutil.which("sha256sum")
    if not sha256sum:
        raise SystemExit("sha256sum (coreutils) not found")
    path = tmp / "model.onnx"
    print(f"writing {args.size_mb} MiB ...", flush=True)
    with open(path, "wb") as fh:
        for _ in range(args.size_mb):
            fh.write(os.urandom(MiB))
    past = time.time() - 3600  # the cache does not trust files modified in the last seconds
    os.utime(path, (past, past))
    t0 = time.perf_counter()
    cold_digest = fingerprint.file_sha256(path)
    cold = time.perf_counter() - t0
    warm: list[float] = []
    sums: list[float] = []
    for _ in range(args.repeat):  # alternating: the warm check, then sha256sum
        seconds, digest, hashed = probe(path, env)
        if digest != cold_digest or hashed != 0:
            raise SystemExit(f"warm check re-hashed the file ({hashed}) or disagreed ({digest})")
        warm.append(seconds)
        t0 = time.perf_counter()
        out = subprocess.run([sha256sum, str(path)], capture_output=True, text=True, check=True).stdout
        sums.append(time.perf_counter() - t0)
        if out.split()[0] != cold_digest:
            raise SystemExit("sha256sum disagrees with fingerprint.file_sha256")
    path.unlink()
    warm_median, sum_median = statistics.median(warm), statistics.median(sums)
    return {
        "size_mib": args.size_mb,
        "cold_hash_seconds": round(cold, 3),
        "warm_check_seconds": [round(s, 6) for s in warm],
        "warm_check_median_seconds": round(warm_median, 6),
        "sha256sum_median_seconds": round(sum_median, 3),
        "sha256sum_over_warm_check": round(sum_median / warm_median, 1),
    }


def _object_count(client: Any) -> int:
    return sum(page.get("KeyCount", 0) for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET))


def _in_process(states: list[tuple[dict[str, Any], dict[str, Any]]]) -> float:
    """The provider's own check + diff per model (median ms), on props as they arrive (ints as floats)."""
    from components.providers.model_version import ModelVersionProvider
    from tests.support.fakes import wire_floats

    provider = ModelVersionProvider()
    samples = []
    for olds, news in states:
        olds, news = wire_floats(olds), wire_floats(news)
        t0 = time.perf_counter()
        provider.check(olds, news)
        if provider.diff("id", olds, news).changes:
            raise SystemExit("in-process diff reported a change")
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def noop_up(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> dict[str, Any]:
    """Part 2: a no-op `pulumi up` over ``--models`` models."""
    base = tmp / "models"
    print(f"writing {args.models} ONNX models ...", flush=True)
    paths = make_models(base, args.models, 1)
    with moto_server() as endpoint:
        os.environ.update(endpoint.env())
        create_bucket(endpoint, BUCKET)
        client = endpoint.client()
        store = {"kind": "s3", "bucket": BUCKET, "endpoint_url": endpoint.url}
        specs = [
            ModelSpec(name=p.stem, source=p.name, format="onnx", max_batch_size=8, instance_kind="cpu") for p in paths
        ]
        host_env = {**endpoint.env(), "TRITON_PLATFORM_CACHE_DIR": env["TRITON_PLATFORM_CACHE_DIR"]}
        states: list[tuple[dict[str, Any], dict[str, Any]]] = []
        with ProviderHost(host_env) as host:  # the first `pulumi up`: every model created
            for spec in specs:
                props = model_version_props(spec, store, base, owner=f"bench/{spec.name}")
                inputs = host.check(urn(spec.name), {}, props)
                states.append((host.create(urn(spec.name), inputs), props))
        objects = _object_count(client)
        program = json.loads(
            subprocess.run(
                [sys.executable, "-c", _PROGRAM, str(base)],
                capture_output=True,
                text=True,
                check=True,
                env=env,
                cwd=REPO,
            ).stdout
        )
        changes = 0
        per_model: list[float] = []
        with ProviderHost(host_env) as host:  # the second `pulumi up`: a new host, as the engine starts one
            t0 = time.perf_counter()
            first = host.noop_requests(urn(specs[0].name), *states[0])
            changes += host.check_and_diff(*first)
            first_ms = (time.perf_counter() - t0) * 1000
            # The engine has its requests serialized (in Go) when it calls: build them ahead, untimed.
            requests = [host.noop_requests(urn(spec.name), *state) for spec, state in zip(specs, states, strict=True)]
            t0 = time.perf_counter()
            for check, diff in requests:
                t1 = time.perf_counter()
                changes += host.check_and_diff(check, diff)
                per_model.append((time.perf_counter() - t1) * 1000)
            total = time.perf_counter() - t0
        if changes or _object_count(client) != objects or program["hashed"]:
            raise SystemExit(f"not a no-op: {changes} diffs, {program['hashed']} files hashed")
    return {
        "models": args.models,
        "diffs_with_changes": changes,
        "creates_or_updates": 0,
        "files_hashed_by_the_program": program["hashed"],
        "objects_before_and_after": objects,
        "program_fingerprints_ms_per_model": round(program["seconds"] * 1000 / program["models"], 4),
        "host_first_call_ms": round(first_ms, 1),
        "host_check_diff_ms_per_model_warm_median": round(statistics.median(per_model), 3),
        "host_total_seconds": round(total, 3),
        "provider_code_check_diff_ms_per_model": round(_in_process([(s, p) for s, p in states]), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024, help="MiB of part 1's file (0 skips part 1)")
    parser.add_argument("--models", type=int, default=100, help="models of part 2's no-op up (0 skips part 2)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "benchmark": "noop_diff",
        "argv": sys.argv[1:],
        "repeat": args.repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    with tempfile.TemporaryDirectory(prefix="bench-noop-") as tmp:
        env = {**os.environ, "TRITON_PLATFORM_CACHE_DIR": str(Path(tmp) / "cache"), "PYTHONPATH": str(REPO)}
        os.environ["TRITON_PLATFORM_CACHE_DIR"] = env["TRITON_PLATFORM_CACHE_DIR"]
        if args.size_mb:
            report["single_file"] = single_file(args, Path(tmp), env)
        if args.models:
            report["noop_up"] = noop_up(args, Path(tmp), env)
    args.out.mkdir(parents=True, exist_ok=True)
    out_path = args.out / f"noop_diff-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out_path.write_text(json.dumps(report, indent=2))
    if "single_file" in report:
        r = report["single_file"]
        print(f"{r['size_mib']} MiB file, median of {args.repeat}:")
        print(f"  cold hash (first preview):        {r['cold_hash_seconds']:8.3f} s")
        print(f"  warm no-op check (next previews): {r['warm_check_median_seconds'] * 1000:8.2f} ms")
        print(f"  sha256sum:                        {r['sha256sum_median_seconds']:8.3f} s")
        print(f"  sha256sum / warm check:           {r['sha256sum_over_warm_check']:8.1f}x")
    if "noop_up" in report:
        r = report["noop_up"]
        print(f"no-op up over {r['models']} models: {r['diffs_with_changes']} changes, 0 uploads, 0 builds")
        print(f"  program: fingerprints            {r['program_fingerprints_ms_per_model']:8.4f} ms per model")
        print(f"  provider code: check + diff      {r['provider_code_check_diff_ms_per_model']:8.3f} ms per model")
        print(f"  host over gRPC: check + diff     {r['host_check_diff_ms_per_model_warm_median']:8.3f} ms per model")
        print(f"  host's first call (imports)      {r['host_first_call_ms']:8.1f} ms")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
