"""Benchmark: what a no-op `pulumi preview` pays to fingerprint an unchanged model, vs sha256sum.

Writes a ``--size-mb`` file (default 1024), hashes it once cold (what the first preview
pays; it fills the persistent cache), then measures the warm no-op check: a fresh process,
i.e. an empty in-process memo, that finds the (path, size, mtime_ns, inode) entry in
``$TRITON_PLATFORM_CACHE_DIR/hashes.json``. Compares with ``sha256sum`` of the same file
(page cache warm, its best case). Writes JSON to bench/results/.
Run: ``.venv/bin/python bench/noop_diff.py [--size-mb 1024 --repeat 5]``.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from triton_platform.publisher import fingerprint  # noqa: E402

MiB = 1024 * 1024
# Runs in a fresh interpreter, as a second `pulumi preview` would: import, then time the call.
_PROBE = """
import sys, time
from triton_platform.publisher import fingerprint
t = time.perf_counter()
digest = fingerprint.file_sha256(sys.argv[1])
print(time.perf_counter() - t, digest, fingerprint.STATS.hashed_files)
"""


def probe(path: Path, env: dict[str, str]) -> tuple[float, str, int]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)], capture_output=True, text=True, check=True, env=env, cwd=REPO
    ).stdout.split()
    return float(out[0]), out[1], int(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024, help="MiB (default 1024)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    sha256sum = shutil.which("sha256sum")
    if not sha256sum:
        raise SystemExit("sha256sum (coreutils) not found")

    with tempfile.TemporaryDirectory(prefix="bench-noop-") as tmp:
        env = {**os.environ, "TRITON_PLATFORM_CACHE_DIR": str(Path(tmp) / "cache"), "PYTHONPATH": str(REPO)}
        os.environ["TRITON_PLATFORM_CACHE_DIR"] = env["TRITON_PLATFORM_CACHE_DIR"]
        path = Path(tmp) / "model.onnx"
        print(f"writing {args.size_mb} MiB ...", flush=True)
        with open(path, "wb") as fh:
            for _ in range(args.size_mb):
                fh.write(os.urandom(MiB))
        # An mtime in the past: the cache does not trust files modified in the last seconds.
        past = time.time() - 3600
        os.utime(path, (past, past))

        t0 = time.perf_counter()
        cold_digest = fingerprint.file_sha256(path)
        cold = time.perf_counter() - t0

        warm: list[float] = []
        for _ in range(args.repeat):
            seconds, digest, hashed = probe(path, env)
            if digest != cold_digest or hashed != 0:
                raise SystemExit(f"warm check re-hashed the file ({hashed}) or disagreed ({digest})")
            warm.append(seconds)

        sums: list[float] = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = subprocess.run([sha256sum, str(path)], capture_output=True, text=True, check=True).stdout
            sums.append(time.perf_counter() - t0)
            if out.split()[0] != cold_digest:
                raise SystemExit("sha256sum disagrees with fingerprint.file_sha256")

    warm_median, sum_median = statistics.median(warm), statistics.median(sums)
    report = {
        "benchmark": "noop_diff",
        "size_mib": args.size_mb,
        "repeat": args.repeat,
        "cold_hash_seconds": round(cold, 3),
        "warm_check_seconds": [round(s, 6) for s in warm],
        "warm_check_median_seconds": round(warm_median, 6),
        "sha256sum_seconds": [round(s, 3) for s in sums],
        "sha256sum_median_seconds": round(sum_median, 3),
        "sha256sum_over_warm_check": round(sum_median / warm_median, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out_path = args.out / f"noop_diff-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out_path.write_text(json.dumps(report, indent=2))
    print(f"{args.size_mb} MiB file, median of {args.repeat}:")
    print(f"  cold hash (first preview):        {cold:8.3f} s")
    print(f"  warm no-op check (next previews): {warm_median * 1000:8.2f} ms")
    print(f"  sha256sum:                        {sum_median:8.3f} s")
    print(f"  sha256sum / warm check:           {sum_median / warm_median:8.1f}x")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
