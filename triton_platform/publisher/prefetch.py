"""Copies the model repository a Triton pod serves from its bucket onto local disk, verified, before Triton starts.

Triton's own cloud loaders fetch a model's files one after another, each in one stream. This
prefetch does what an init container would: for every model under the served prefix it reads
``config.pbtxt`` (the versions it serves), takes each version's files and sha256 from the
manifest the publisher wrote (``<cache>/manifests/<model>/<version>.json``; a version without
one is listed, with the sha256 recorded on each object), and downloads them several files at a
time, each as parallel ranged GETs written in order and hashed on the way (the platform's own
``ObjectStore.download_file``): a file whose bytes are not the manifest's is an error, and the
repository directory only appears (renamed into place) once everything is there.
``bench/time_to_ready.py`` measures it against Triton's loader. Plain Python: no Pulumi.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from triton_platform.publisher.progress import Progress, ensure_progress
from triton_platform.publisher.publish import CONFIG_FILENAME, read_manifest
from triton_platform.publisher.stores import ObjectStore, StoreRef, open_store

# version_policy: { specific: { versions: [1, 2] } }, as pbtxt.render_config writes it (parsed
# without tritonclient, which an init container does not need).
_VERSIONS = re.compile(r"versions\s*:\s*\[([\d\s,]*)\]|versions\s*:\s*(\d+)")


@dataclass(frozen=True)
class RemoteFile:
    """One file of the served repository: its key, where it goes under the destination, its size and sha256."""

    key: str
    rel: str
    size: int
    sha256: str | None


@dataclass
class PrefetchResult:
    """What a prefetch copied, and how long it took."""

    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    models: list[str] = field(default_factory=list)


def served_versions(config_text: str) -> list[int]:
    """The versions a config.pbtxt names (its ``specific`` version policy); [] when it names none."""
    found: set[int] = set()
    for listed, single in _VERSIONS.findall(config_text):
        found.update(int(v) for v in re.findall(r"\d+", listed or single))
    return sorted(found)


def _model_names(store: ObjectStore) -> list[str]:
    prefix = store.ref.served_key() + "/"
    names = {info.key[len(prefix) :].split("/", 1)[0] for info in store.list(prefix)}
    return sorted(n for n in names if n)


def _version_files(store: ObjectStore, model: str, version: int) -> list[RemoteFile]:
    vprefix = store.ref.served_key(model, str(version)) + "/"
    manifest = read_manifest(store, model, version)
    if manifest is not None:
        return [
            RemoteFile(vprefix + f["path"], f"{model}/{version}/{f['path']}", int(f["size"]), str(f["sha256"]))
            for f in manifest.get("files", [])
        ]
    return [
        RemoteFile(info.key, f"{model}/{version}/{info.key[len(vprefix) :]}", info.size, info.sha256)
        for info in store.list(vprefix)
    ]


def plan(store: ObjectStore, models: Sequence[str] | None = None) -> tuple[dict[str, bytes], list[RemoteFile]]:
    """Each served model's config.pbtxt, and every file of the versions it serves."""
    configs: dict[str, bytes] = {}
    files: list[RemoteFile] = []
    for model in models or _model_names(store):
        config = store.read_bytes(store.ref.served_key(model, CONFIG_FILENAME))
        if config is None:
            continue  # not a model directory (or not published yet): Triton would skip it too
        configs[model] = config
        for version in served_versions(config.decode("utf-8", errors="replace")):
            files += _version_files(store, model, version)
    return configs, files


def prefetch(
    store: ObjectStore,
    dest: Path,
    *,
    models: Sequence[str] | None = None,
    file_concurrency: int = 4,
    progress: Progress | None = None,
) -> PrefetchResult:
    """Copy the served models of ``store`` into ``dest``: ``<model>/config.pbtxt`` and ``<model>/<version>/...``."""
    started = time.perf_counter()
    progress = ensure_progress(progress)
    configs, files = plan(store, models)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for model, config in configs.items():
            (staging / model).mkdir(parents=True, exist_ok=True)
            (staging / model / CONFIG_FILENAME).write_bytes(config)

        def fetch(item: RemoteFile) -> None:
            store.download_file(item.key, staging / item.rel, progress, sha256=item.sha256)

        with ThreadPoolExecutor(max_workers=max(1, file_concurrency)) as pool:
            list(pool.map(fetch, sorted(files, key=lambda f: -f.size)))  # the largest first
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return PrefetchResult(
        files=len(files),
        bytes=sum(f.size for f in files),
        seconds=time.perf_counter() - started,
        models=sorted(configs),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m triton_platform.publisher.prefetch --store '<StoreRef JSON>' --dest /models``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True, help="the StoreRef as JSON (where, never credentials)")
    parser.add_argument("--dest", required=True, type=Path, help="the local model repository to fill")
    parser.add_argument("--models", default="", help="comma-separated model names (default: every served model)")
    parser.add_argument("--ranges", type=int, default=8, help="ranged GETs in flight per file (1: one streamed GET)")
    parser.add_argument("--range-mb", type=int, default=8, help="MiB per ranged GET (default 8)")
    args = parser.parse_args(argv)
    store = open_store(StoreRef.model_validate(json.loads(args.store)))
    store.download_concurrency, store.download_part_size = args.ranges, args.range_mb * 1024 * 1024
    models = [m for m in args.models.split(",") if m] or None
    result = prefetch(store, args.dest, models=models, progress=Progress())
    mb = result.bytes / 1e6
    print(f"prefetched {result.files} files ({mb:.1f} MB) of {', '.join(result.models)} in {result.seconds:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
