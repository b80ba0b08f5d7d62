"""Content fingerprints of model sources and the content-addressed keys of built engines.

Hashing a 1 GB ONNX file takes seconds, and every `pulumi preview` asks for it again, so
file hashes are memoised per process and in a persistent JSON cache keyed by
(absolute path, size, mtime_ns, inode). Engine keys cover exactly what changes an engine:
the ONNX bytes, the build options, the TensorRT version and the compute capability.
Plain Python: no Pulumi.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triton_platform.publisher.errors import ModelSourceError, ModelSpecError
from triton_platform.publisher.spec import ModelSpec

CACHE_ENV = "TRITON_PLATFORM_CACHE_DIR"
CACHE_FILENAME = "hashes.json"
_CACHE_SCHEMA = 1
# Bound the persistent cache; the oldest entries go first.
MAX_CACHE_ENTRIES = 20_000
# A file modified this recently may be modified again within the same mtime tick without
# changing size (the "racy git" problem): hash it, but do not trust a cached hash for it.
RACY_SECONDS = 2.0
# Never part of a Python model's identity: bytecode caches the interpreter writes next to it.
_TREE_IGNORED_DIRS = frozenset({"__pycache__", ".ipynb_checkpoints"})
_TREE_IGNORED_SUFFIXES = (".pyc", ".pyo")
ENGINE_KEY_SCHEMA = 1

_CC_PATTERN = re.compile(r"^\d+\.\d+$")
_SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class HashStats:
    """Counters for tests and benchmarks: where file hashes came from."""

    memo_hits: int = 0
    disk_hits: int = 0
    hashed_files: int = 0
    hashed_bytes: int = 0


STATS = HashStats()
_MEMO: dict[tuple[str, int, int, int], str] = {}


def cache_dir() -> Path:
    """``$TRITON_PLATFORM_CACHE_DIR`` or ``~/.cache/triton-platform``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "triton-platform"


def cache_path() -> Path:
    return cache_dir() / CACHE_FILENAME


def clear_memo() -> None:
    """Forget the in-process memo (the persistent cache stays)."""
    _MEMO.clear()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Serialise read-merge-write between concurrent pulumi processes; best effort where
    # fcntl does not exist (Windows): the atomic replace still keeps the file whole.
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


# The persistent cache as last parsed, by (path, size, mtime_ns): a no-op preview of 100 models
# parses it once, not once per model.
_PARSED: dict[str, tuple[tuple[int, int], dict[str, dict[str, Any]]]] = {}


def _lookup(path: Path, key: str) -> dict[str, Any] | None:
    """One entry of the persistent cache (read-only: parsed once per version of the file)."""
    try:
        st = path.stat()
    except OSError:
        return None
    stamp = (st.st_size, st.st_mtime_ns)
    parsed = _PARSED.get(str(path))
    if parsed is None or parsed[0] != stamp:
        parsed = (stamp, _load_entries(path))
        _PARSED[str(path)] = parsed
    return parsed[1].get(key)


def _load_entries(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or corrupt: start over, it is only a cache
    if not isinstance(data, dict) or data.get("schema") != _CACHE_SCHEMA or not isinstance(data.get("entries"), dict):
        return {}
    return {k: v for k, v in data["entries"].items() if isinstance(v, dict)}


def _write_entries(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    if len(entries) > MAX_CACHE_ENTRIES:
        newest = sorted(entries.items(), key=lambda kv: kv[1].get("seen", 0), reverse=True)
        entries = dict(newest[:MAX_CACHE_ENTRIES])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".hashes-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"schema": _CACHE_SCHEMA, "entries": entries}, fh, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _matches(entry: dict[str, Any], st: os.stat_result) -> bool:
    return (
        entry.get("size") == st.st_size
        and entry.get("mtime_ns") == st.st_mtime_ns
        and entry.get("inode") == st.st_ino
        and isinstance(entry.get("sha256"), str)
        and bool(_SHA256_PATTERN.match(entry["sha256"]))
    )


def _is_racy(st: os.stat_result) -> bool:
    return time.time() - st.st_mtime_ns / 1e9 < RACY_SECONDS


def _hash_file(path: Path) -> str:
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return digest


def file_sha256(path: Path | str, *, model: str | None = None) -> str:
    """sha256 hex of a file's bytes, from the memo or the persistent cache when unchanged."""
    abs_path = Path(os.path.abspath(path))
    try:
        st = abs_path.stat()
    except FileNotFoundError:
        raise ModelSourceError(f"{str(abs_path)!r} does not exist", model=model, key="models[].source") from None
    except OSError as exc:
        raise ModelSourceError(f"cannot stat {str(abs_path)!r}: {exc.strerror}", model=model) from None
    if not abs_path.is_file():
        raise ModelSourceError(f"{str(abs_path)!r} is not a regular file", model=model, key="models[].source")
    memo_key = (str(abs_path), st.st_size, st.st_mtime_ns, st.st_ino)
    racy = _is_racy(st)
    if not racy and memo_key in _MEMO:
        STATS.memo_hits += 1
        return _MEMO[memo_key]
    store = cache_path()
    if not racy:
        entry = _lookup(store, str(abs_path))
        if entry is not None and _matches(entry, st):
            STATS.disk_hits += 1
            _MEMO[memo_key] = entry["sha256"]
            return str(entry["sha256"])
    try:
        digest = _hash_file(abs_path)
    except OSError as exc:
        raise ModelSourceError(f"cannot read {str(abs_path)!r}: {exc.strerror}", model=model) from None
    STATS.hashed_files += 1
    STATS.hashed_bytes += st.st_size
    after = abs_path.stat()
    unchanged = (after.st_size, after.st_mtime_ns, after.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)
    if unchanged and not racy:
        _MEMO[memo_key] = digest
        _remember(store, str(abs_path), st, digest)
    return digest


def cached_sha256(path: Path | str) -> str | None:
    """The sha256 of a file when the memo or the persistent cache knows it for the file as it is now; else None.

    Reads nothing but the cache: what an upload uses to start with the digest the preview already
    computed (the same (path, size, mtime_ns, inode) key), then checks it against the bytes it sends.
    """
    abs_path = Path(os.path.abspath(path))
    try:
        st = abs_path.stat()
    except OSError:
        return None
    if _is_racy(st):
        return None
    memo_key = (str(abs_path), st.st_size, st.st_mtime_ns, st.st_ino)
    if memo_key in _MEMO:
        STATS.memo_hits += 1
        return _MEMO[memo_key]
    entry = _lookup(cache_path(), str(abs_path))
    if entry is None or not _matches(entry, st):
        return None
    STATS.disk_hits += 1
    _MEMO[memo_key] = str(entry["sha256"])
    return str(entry["sha256"])


def remember_sha256(path: Path | str, digest: str, before: tuple[int, int, int]) -> None:
    """Keep a digest computed while the file was read for something else (an upload), like ``file_sha256`` would.

    ``before`` is (size, mtime_ns, inode) from before the read; nothing is kept when the file
    changed since, or was modified too recently to be trusted (see RACY_SECONDS).
    """
    abs_path = Path(os.path.abspath(path))
    try:
        st = abs_path.stat()
    except OSError:
        return
    if (st.st_size, st.st_mtime_ns, st.st_ino) != before or _is_racy(st):
        return
    _MEMO[(str(abs_path), st.st_size, st.st_mtime_ns, st.st_ino)] = digest
    _remember(cache_path(), str(abs_path), st, digest)


def _remember(store: Path, key: str, st: os.stat_result, digest: str) -> None:
    entry = {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "inode": st.st_ino,
        "sha256": digest,
        "seen": int(time.time()),
    }
    try:
        with _locked(store):
            entries = _load_entries(store)
            entries[key] = entry
            _write_entries(store, entries)
    except OSError:
        pass  # a read-only home directory only costs a re-hash next time


def _tree_files(root: Path) -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in _TREE_IGNORED_DIRS)
        for name in filenames:
            if name.endswith(_TREE_IGNORED_SUFFIXES):
                continue
            full = Path(dirpath) / name
            if full.is_file():
                files.append((full.relative_to(root).as_posix(), full))
    return sorted(files)


def tree_files(root: Path | str) -> list[tuple[str, Path]]:
    """The files of a Python model directory as (relative posix path, path), sorted; caches skipped."""
    return _tree_files(Path(root))


def tree_sha256(root: Path | str, *, model: str | None = None) -> str:
    """sha256 over a directory's relative paths and file bytes, independent of mtimes and order."""
    root_path = Path(os.path.abspath(root))
    if not root_path.is_dir():
        raise ModelSourceError(
            f"{str(root_path)!r} is not a directory (format 'python' needs a directory with model.py)",
            model=model,
            key="models[].source",
            example="source: models/preprocess/",
        )
    outer = hashlib.sha256()
    for rel, full in _tree_files(root_path):
        outer.update(rel.encode("utf-8"))
        outer.update(b"\0")
        outer.update(file_sha256(full, model=model).encode("ascii"))
        outer.update(b"\n")
    return outer.hexdigest()


def build_options(spec: ModelSpec, *, calibration_sha256: str | None = None) -> dict[str, Any]:
    """The spec fields that change a TensorRT engine (and nothing else), JSON-safe and ordered.

    ``calibration_sha256`` is the sha256 of the INT8 calibration cache; when the spec points
    at a local file and it is not given, the file is hashed here.
    """
    calibration: str | None = None
    if spec.calibration_cache:
        if calibration_sha256 is None:
            if "://" in spec.calibration_cache:
                raise ModelSpecError(
                    f"calibration cache {spec.calibration_cache!r} is remote; fetch it and pass its sha256",
                    model=spec.name,
                    key="models[].calibrationCache",
                )
            calibration_sha256 = file_sha256(spec.calibration_cache, model=spec.name)
        calibration = calibration_sha256
    return {
        "precision": spec.precision,
        "max_batch_size": spec.max_batch_size,
        "shapes": {
            name: {"min": list(r.min), "opt": list(r.opt), "max": list(r.max)}
            for name, r in sorted(spec.shapes.items())
        },
        "workspace_mb": spec.workspace_mb,
        "hardware_compatibility": spec.hardware_compatibility,
        "calibration_cache_sha256": calibration,
    }


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def engine_key(
    onnx_sha256: str,
    spec: ModelSpec,
    tensorrt_version: str,
    compute_capability: str,
    *,
    calibration_sha256: str | None = None,
) -> str:
    """sha256 hex naming one engine: same inputs, same key, same object in the bucket."""
    if not _SHA256_PATTERN.match(onnx_sha256):
        raise ValueError(f"onnx_sha256 {onnx_sha256!r} is not a lowercase sha256 hex digest")
    if not _CC_PATTERN.match(compute_capability):
        raise ModelSpecError(
            f"compute capability {compute_capability!r} is not 'major.minor'",
            model=spec.name,
            key="compute_capability",
            example="8.0",
        )
    if not tensorrt_version.strip():
        raise ValueError("tensorrt_version is empty")
    payload = {
        "schema": ENGINE_KEY_SCHEMA,
        "onnx_sha256": onnx_sha256,
        "options": build_options(spec, calibration_sha256=calibration_sha256),
        "tensorrt": tensorrt_version,
        "compute_capability": compute_capability,
    }
    return hashlib.sha256(canonical_json(payload).encode("ascii")).hexdigest()


def _join(prefix: str, rest: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/{rest}" if prefix else rest


def engine_object_key(cache_prefix: str, model: str, key: str, cc: str) -> str:
    """``<cache_prefix>/engines/<model>/<key>/sm80.plan``: where a built engine lives."""
    return _join(cache_prefix, f"engines/{model}/{key}/sm{cc.replace('.', '')}.plan")


def onnx_object_key(cache_prefix: str, sha: str) -> str:
    """``<cache_prefix>/onnx/<sha256>.onnx``: the content-addressed ONNX the Kubernetes builder fetches."""
    return _join(cache_prefix, f"onnx/{sha}.onnx")


def calibration_object_key(cache_prefix: str, sha: str) -> str:
    """``<cache_prefix>/calibration/<sha256>.cache``: an INT8 calibration cache for remote builds."""
    return _join(cache_prefix, f"calibration/{sha}.cache")


def engine_filename(cc: str) -> str:
    """The file name of a per-architecture engine in a version directory (``model.sm80.plan``)."""
    return f"model.sm{cc.replace('.', '')}.plan"
