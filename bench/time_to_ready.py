"""Benchmark: how long the real tritonserver takes to serve the models, from the bucket or from local disk.

Publishes two Python-backend models into moto with the ModelVersion provider: the sample
``pyonnx`` (samples/python-onnx) and ``big``, the same model with ``--big-mb`` (default 1024) of
weights it reads at ``initialize`` (as a real model loads its weights). Then, in alternating
rounds, starts the ``tritonserver`` of the pytriton wheel (tests/support/triton.py) and times
from the start of the process until both models are ready, three ways:

  local     the repository already on local disk (copied once, before the rounds)
  bucket    ``--model-repository s3://http://127.0.0.1:<port>/<bucket>/models``: Triton's own S3
            loader downloads each model's files, one after another, then loads them
  prefetch  what an init container would do: ``triton_platform.publisher.prefetch`` copies the
            served models to local disk (several files at once, each as 8 parallel ranged GETs of
            8 MiB, verified against the manifests' sha256), then Triton starts on that directory
  prefetch1 the same with one streamed GET per file (files still in parallel): moto reads a
            whole object for every ranged GET, so on moto ranges cost what they save on S3

Reports the median of ``--repeat`` rounds per way and each as a ratio to ``local``.
Writes JSON to bench/results/.
Run: ``.venv/bin/python bench/time_to_ready.py [--big-mb 1024 --repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from components.providers.model_version import ModelVersionProvider  # noqa: E402
from samples import make_samples  # noqa: E402
from tests.support.fakes import provider_props  # noqa: E402
from tests.support.servers import S3Endpoint, create_bucket, moto_server  # noqa: E402
from tests.support.triton import run_triton  # noqa: E402
from triton_platform.publisher.prefetch import prefetch  # noqa: E402
from triton_platform.publisher.progress import NullProgress  # noqa: E402
from triton_platform.publisher.spec import ModelSpec  # noqa: E402
from triton_platform.publisher.stores import StoreRef, open_store  # noqa: E402

MiB = 1024 * 1024
BUCKET = "bench-ready"
MODELS = ("pyonnx", "big")
# Read the weights as a model loading them would (into memory, then kept).
_LOAD_WEIGHTS = """
        weights = os.path.join(version_dir, "weights.bin")
        if os.path.exists(weights):
            self.blob = np.fromfile(weights, dtype=np.uint8)
"""


def write_sources(base: Path, big_mb: int) -> None:
    sample = (REPO / "samples" / "python-onnx" / "model.py").read_text()
    anchor = '        self.nodes, self.weights = load_graph(os.path.join(version_dir, "model.onnx"))\n'
    if anchor not in sample:
        raise SystemExit("samples/python-onnx/model.py changed: update bench/time_to_ready.py")
    for name in MODELS:
        (base / name).mkdir(parents=True, exist_ok=True)
        make_samples.write_mlp(base / name / "model.onnx", make_samples.PYTHON_ONNX_SEED)
        (base / name / "model.py").write_text(
            sample.replace(anchor, anchor + _LOAD_WEIGHTS) if name == "big" else sample
        )
    with open(base / "big" / "weights.bin", "wb") as fh:
        block = os.urandom(MiB)
        for i in range(big_mb):
            fh.write(i.to_bytes(8, "little") + block[8:])


def publish(store: dict[str, Any], base: Path) -> None:
    provider = ModelVersionProvider()
    for name in MODELS:
        spec = ModelSpec(name=name, source=name, format="python", max_batch_size=8, instance_kind="cpu")
        provider.create(provider_props(spec, store, base, instance_kind="KIND_CPU"))


def time_triton(repository: str, workdir: Path, env: dict[str, str]) -> float:
    """Seconds from starting tritonserver until every model's version 1 is ready."""
    t0 = time.perf_counter()
    with run_triton(repository, workdir=workdir, env=env, ready_timeout=600) as server:
        for name in MODELS:
            server.wait_model(name, 1, timeout=600)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big-mb", type=int, default=1024, help="MiB of the big model's weights (default 1024)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    ways = ["local", "bucket", "prefetch", "prefetch1"]
    times: dict[str, list[float]] = {w: [] for w in ways}
    prefetch_only: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-ready-") as tmp_name, moto_server() as endpoint:
        tmp = Path(tmp_name)
        os.environ["TRITON_PLATFORM_CACHE_DIR"] = str(tmp / "hash-cache")
        os.environ.update(endpoint.env())
        create_bucket(endpoint, BUCKET)
        print(f"writing and publishing the models ({args.big_mb} MiB of weights) ...", flush=True)
        write_sources(tmp / "src", args.big_mb)
        store_ref = {"kind": "s3", "bucket": BUCKET, "endpoint_url": endpoint.url, "region": endpoint.region}
        publish(store_ref, tmp / "src")
        store = open_store(StoreRef.model_validate(store_ref))
        prefetch(store, tmp / "local", progress=NullProgress())  # the local-disk repository
        env = {**endpoint.env(), "AWS_DEFAULT_REGION": endpoint.region}
        workdir = tmp / "triton"
        workdir.mkdir()
        time_triton(str(tmp / "local"), workdir, env)  # untimed: the first start warms the install copy
        for round_no in range(args.repeat):
            order = ways[round_no % len(ways) :] + ways[: round_no % len(ways)]
            for way in order:
                times[way].append(run_way(way, store, endpoint, tmp, workdir, env, prefetch_only))
                print(f"round {round_no + 1} {way:8s} {times[way][-1]:7.2f} s", flush=True)
    write_report(args, times, prefetch_only)


def run_way(
    way: str,
    store: Any,
    endpoint: S3Endpoint,
    tmp: Path,
    workdir: Path,
    env: dict[str, str],
    prefetch_only: list[float],
) -> float:
    if way == "local":
        return time_triton(str(tmp / "local"), workdir, env)
    if way == "bucket":
        return time_triton(store.ref.repository_uri(), workdir, env)
    dest = tmp / "prefetched"
    store.download_concurrency = 1 if way == "prefetch1" else 8
    t0 = time.perf_counter()
    prefetch(store, dest, progress=NullProgress())
    if way == "prefetch":
        prefetch_only.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - t0 + time_triton(str(dest), workdir, env)
    shutil.rmtree(dest)
    return seconds


def write_report(args: argparse.Namespace, times: dict[str, list[float]], prefetch_only: list[float]) -> None:
    local = statistics.median(times["local"])
    results = {
        way: {
            "seconds": [round(s, 3) for s in samples],
            "median_seconds": round(statistics.median(samples), 3),
            "ratio_to_local": round(statistics.median(samples) / local, 2),
        }
        for way, samples in times.items()
    }
    results["prefetch"]["median_prefetch_seconds"] = round(statistics.median(prefetch_only), 3)
    report = {
        "benchmark": "time_to_ready",
        "argv": sys.argv[1:],
        "big_mib": args.big_mb,
        "repeat": args.repeat,
        "results": results,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"time_to_ready-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nboth models ready, {args.big_mb} MiB of weights, median of {args.repeat}:")
    for way, r in results.items():
        print(f"  {way:8s} {r['median_seconds']:7.2f} s  {r['ratio_to_local']:5.2f}x local")
    print(f"  (of which the prefetch itself: {results['prefetch']['median_prefetch_seconds']:.2f} s)")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
