"""Benchmark: the provider host's peak memory while it publishes one large ONNX model (default 2 GiB).

Starts moto and the dynamic-provider host the engine runs (bench/engine.py), warms the host up
with a small publish (imports, the S3 client), records its RSS (the interpreter's baseline), then
per round resets its peak RSS (``/proc/<pid>/clear_refs``), publishes ``--size-mb`` of ONNX through Create
as the engine calls it, and reads the peak (VmHWM). The issue's bound: at most 256 MB above the
baseline, whatever the model's size (before: a 1 GB ONNX raised the peak by 3.1 GB, the graph
was parsed whole and the file read twice). ``--repeat`` rounds, each into a fresh prefix.
Writes JSON to bench/results/.
Run: ``.venv/bin/python bench/publish_memory.py [--size-mb 2048 --repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from engine import ProviderHost, model_version_props, urn  # noqa: E402
from publish_throughput import BUCKET, clear_prefix, make_models  # noqa: E402

from tests.support.servers import create_bucket, moto_server  # noqa: E402
from triton_platform.publisher import fingerprint  # noqa: E402
from triton_platform.publisher.spec import ModelSpec  # noqa: E402

MiB = 1024 * 1024
LIMIT_MB = 256


def publish(host: ProviderHost, endpoint_url: str, path: Path, prefix: str) -> dict[str, Any]:
    store = {"kind": "s3", "bucket": BUCKET, "prefix": prefix, "endpoint_url": endpoint_url}
    spec = ModelSpec(name=path.stem, source=path.name, format="onnx", max_batch_size=8, instance_kind="cpu")
    props = model_version_props(spec, store, path.parent, owner=f"bench/{prefix}")
    return host.create(urn(path.stem), host.check(urn(path.stem), {}, props))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=2048, help="MiB of the model (default 2048)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp, moto_server() as endpoint:
        os.environ["TRITON_PLATFORM_CACHE_DIR"] = str(Path(tmp) / "hash-cache")
        os.environ.update(endpoint.env())
        create_bucket(endpoint, BUCKET)
        client = endpoint.client()
        print(f"writing {args.size_mb} MiB ONNX ...", flush=True)
        (small,) = make_models(Path(tmp) / "small", 1, 16)
        (large,) = make_models(Path(tmp) / "large", 1, args.size_mb)
        for path in (small, large):
            fingerprint.file_sha256(path)  # the preview
        env = {**endpoint.env(), "TRITON_PLATFORM_CACHE_DIR": os.environ["TRITON_PLATFORM_CACHE_DIR"]}
        with ProviderHost(env) as host:
            publish(host, endpoint.url, small, "warmup")
            clear_prefix(client, "warmup")
            # The baseline: the host with everything imported and a client made, before any large publish
            # (freed memory is not always given back to the system, so later rounds measure from here too).
            baseline = host.rss()
            for n in range(args.repeat):
                host.reset_peak()
                t0 = time.perf_counter()
                publish(host, endpoint.url, large, f"round{n}")
                seconds = time.perf_counter() - t0
                peak = host.peak_rss()
                clear_prefix(client, f"round{n}")
                rounds.append({"baseline_mb": baseline / 1e6, "peak_mb": peak / 1e6, "seconds": seconds})
                print(
                    f"round {n + 1}: baseline {baseline / 1e6:7.1f} MB  peak {peak / 1e6:7.1f} MB  "
                    f"(+{(peak - baseline) / 1e6:6.1f} MB)  {seconds:6.2f} s",
                    flush=True,
                )
    growth = [r["peak_mb"] - r["baseline_mb"] for r in rounds]
    report = {
        "benchmark": "publish_memory",
        "argv": sys.argv[1:],
        "size_mib": args.size_mb,
        "rounds": rounds,
        "median_growth_mb": round(statistics.median(growth), 1),
        "max_growth_mb": round(max(growth), 1),
        "limit_mb": LIMIT_MB,
        "within_limit": max(growth) <= LIMIT_MB,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"publish_memory-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(
        f"\n{args.size_mb} MiB ONNX: peak RSS +{report['median_growth_mb']} MB (median), +{report['max_growth_mb']} MB "
        f"(max) above the host's baseline; limit {LIMIT_MB} MB: {'ok' if report['within_limit'] else 'EXCEEDED'}"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
