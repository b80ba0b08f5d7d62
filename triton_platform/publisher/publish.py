"""The atomic publish protocol: a model version becomes visible to Triton only when complete.

Triton serves the versions ``config.pbtxt`` names (``version_policy: specific``), so a version
directory is invisible until the config lists it. ``publish_version`` therefore (1) removes
leftovers of an interrupted earlier attempt, (2) uploads every file, (3) verifies every file
against what the server reports, and only then (4) writes ``config.pbtxt`` and (5) a manifest
in the cache prefix. A failure at any step leaves the config, and so what Triton serves,
untouched. Removal deletes only objects this publisher wrote.
Plain Python: no Pulumi.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.progress import Progress, ensure_progress
from triton_platform.publisher.spec import NAME_PATTERN
from triton_platform.publisher.stores import ObjectStore
from triton_platform.publisher.stores.base import claimed_sha256

CONFIG_FILENAME = "config.pbtxt"
MANIFEST_SCHEMA = 1
_NAME = re.compile(NAME_PATTERN)
_FILE_PART = re.compile(r"^[A-Za-z0-9_.=+@-]+$")


@dataclass(frozen=True)
class PublishedFile:
    """One file of a published version: its path inside the version directory, size and sha256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class PublishResult:
    """What ``publish_version`` did; ``to_state()`` is what the dynamic provider keeps."""

    model: str
    version: int
    files: list[PublishedFile]
    config_sha256: str
    bytes_uploaded: int
    seconds: float
    manifest_key: str = ""
    skipped_files: int = 0

    def to_state(self) -> dict[str, Any]:
        """JSON-safe, secret-free: names, sizes and digests only."""
        return {
            "model": self.model,
            "version": self.version,
            "files": [asdict(f) for f in self.files],
            "config_sha256": self.config_sha256,
            "bytes_uploaded": self.bytes_uploaded,
            "seconds": round(self.seconds, 3),
            "manifest_key": self.manifest_key,
            "skipped_files": self.skipped_files,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> PublishResult:
        """Back from ``to_state()``, also after protobuf turned every int into a float."""
        return cls(
            model=str(state["model"]),
            version=int(state["version"]),
            files=[PublishedFile(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in state.get("files", [])],
            config_sha256=str(state["config_sha256"]),
            bytes_uploaded=int(state.get("bytes_uploaded", 0)),
            seconds=float(state.get("seconds", 0.0)),
            manifest_key=str(state.get("manifest_key", "")),
            skipped_files=int(state.get("skipped_files", 0)),
        )


@dataclass(frozen=True)
class RemovedModel:
    """What ``remove_model`` deleted, and whether it left config.pbtxt alone (someone else's)."""

    deleted: list[str] = field(default_factory=list)
    config_deleted: bool = False
    config_kept_reason: str | None = None


# --- keys ------------------------------------------------------------------------------------------


def _check_model(model: str) -> str:
    if not _NAME.match(model):
        raise ValueError(f"model name {model!r} does not match {NAME_PATTERN} (valid example: 'resnet50')")
    return model


def model_prefix(store: ObjectStore, model: str) -> str:
    """``<prefix>/<model>/``."""
    return store.ref.served_key(_check_model(model)) + "/"


def version_prefix(store: ObjectStore, model: str, version: int) -> str:
    """``<prefix>/<model>/<version>/``."""
    return store.ref.served_key(_check_model(model), str(int(version))) + "/"


def config_key(store: ObjectStore, model: str) -> str:
    """``<prefix>/<model>/config.pbtxt``."""
    return store.ref.served_key(_check_model(model), CONFIG_FILENAME)


def manifest_key(store: ObjectStore, model: str, version: int) -> str:
    """``<cache_prefix>/manifests/<model>/<version>.json``."""
    return store.ref.cache_key("manifests", _check_model(model), f"{int(version)}.json")


def _relative_path(rel: str) -> str:
    parts = PurePosixPath(rel).parts
    if not parts or rel.startswith("/") or any(p in (".", "..") or not _FILE_PART.match(p) for p in parts):
        raise ValueError(f"file path {rel!r} must be relative, without '..', of [A-Za-z0-9_.=+@-] (e.g. 'model.plan')")
    return "/".join(parts)


# --- versions --------------------------------------------------------------------------------------


def versions_present(store: ObjectStore, model: str) -> list[int]:
    """The numeric version directories under ``<prefix>/<model>/``, sorted."""
    prefix = model_prefix(store, model)
    found: set[int] = set()
    for info in store.list(prefix):
        head = info.key[len(prefix) :].split("/", 1)
        if len(head) == 2 and head[0].isdigit():
            found.add(int(head[0]))
    return sorted(found)


def next_version(store: ObjectStore, model: str, published: Sequence[int]) -> int:
    """One more than any version that exists in the bucket or that state says was published.

    Never reuses a number, so Triton never sees different bytes under a version it has loaded.
    """
    known = [*versions_present(store, model), *(int(v) for v in published)]
    return max(known, default=0) + 1


# --- publish ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Local:
    rel: str
    key: str
    path: Path
    size: int
    sha256: str


def _checked_versions(model: str, version: int, served_versions: Sequence[int], files: Mapping[str, Path]) -> list[int]:
    """The served versions, sorted; ValueError for a request publish_version cannot honour."""
    _check_model(model)
    if version < 1:
        raise ValueError(f"version must be >= 1, got {version}")
    served = sorted({int(v) for v in served_versions})
    if version not in served:
        raise ValueError(f"served_versions {served} must include the version being published ({version})")
    if not files:
        raise ValueError(f"model {model!r} version {version}: no files to publish")
    return served


def _local_files(
    vprefix: str, model: str, files: Mapping[str, Path], digests: Mapping[str, str] | None = None
) -> dict[str, _Local]:
    """The files to publish by object key, with their size and sha256.

    The sha256 is the one ``digests`` names (the source's fingerprint), else the one the hash
    cache keeps for the file as it is; only a file neither knows is hashed here. The upload
    checks it against the bytes it sends, so a file is read once (see stores.transfer).
    """
    local: dict[str, _Local] = {}
    for rel, path in files.items():
        clean = _relative_path(rel)
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"{str(path)!r} is not a file", model=model, key=f"files[{rel!r}]")
        key = vprefix + clean
        sha = (digests or {}).get(rel) or claimed_sha256(path, model=model)
        local[key] = _Local(clean, key, path, path.stat().st_size, sha)
    return local


def _reusable(
    store: ObjectStore, vprefix: str, local: Mapping[str, _Local], progress: Progress, *, what: str
) -> set[str]:
    """Keys an interrupted attempt already uploaded exactly; anything else under ``vprefix`` is deleted."""
    keep: set[str] = set()
    stale: list[str] = []
    for info in store.list(vprefix):
        want = local.get(info.key)
        recorded = info.sha256
        if want is not None and recorded is None and info.size == want.size:
            stat = store.stat(info.key)  # listings of S3 carry no metadata
            recorded = stat.sha256 if stat else None
        if want is not None and info.size == want.size and recorded == want.sha256:
            keep.add(info.key)
        else:
            stale.append(info.key)
    if stale:
        progress.note(f"{what}: removing {len(stale)} leftover object(s) of an interrupted publish")
        store.delete(stale)
    return keep


def _upload_verified(
    store: ObjectStore, model: str, local: Mapping[str, _Local], keep: set[str], progress: Progress
) -> int:
    """Upload what is missing (files in parallel) and verify everything; the bytes uploaded.

    Uploads verify themselves (after the last of them finished); reused objects are checked
    against the server's checksum before the uploads, so they are looked at once more, after
    them, right before the config may name them.
    """
    for key in sorted(keep):
        store.verify(key, local[key].path, size=local[key].size, sha256=local[key].sha256)
    missing = [local[key] for key in sorted(local) if key not in keep]
    if missing:
        store.upload_files([(item.key, item.path, item.sha256) for item in missing], progress=progress)
    for key, item in sorted(local.items()):
        if key not in keep:
            continue  # verified by upload_files once every upload had finished
        now = store.stat(key)
        if now is None or now.size != item.size:
            raise store.error("vanished or changed before config.pbtxt was written; run again", key=key, model=model)
    return sum(item.size for item in missing)


def write_version_manifest(
    store: ObjectStore, model: str, version: int, published: list[PublishedFile], config_sha: str, served: list[int]
) -> str:
    """The manifest of a version: what it holds, for audits and for removal without state; returns its key.

    Written after its config.pbtxt, by ``publish_version`` and by a promotion that serves a release.
    """
    key = manifest_key(store, model, version)
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "model": model,
        "version": version,
        "files": [asdict(f) for f in published],
        "config_sha256": config_sha,
        "served_versions": served,
        "published_at": int(time.time()),
    }
    store.upload_bytes(key, json.dumps(manifest, indent=2, sort_keys=True).encode(), content_type="application/json")
    return key


def publish_version(
    store: ObjectStore,
    *,
    model: str,
    version: int,
    files: Mapping[str, Path],
    render_config: Callable[[list[int]], str],
    served_versions: Sequence[int],
    progress: Progress | None = None,
    digests: Mapping[str, str] | None = None,
    fresh: bool = False,
) -> PublishResult:
    """Upload ``files`` as ``<prefix>/<model>/<version>/`` and make them visible, config last.

    ``files`` maps paths inside the version directory (``model.plan``; ``model.py`` and
    ``helpers/util.py`` for a Python model) to local files. ``render_config(versions)`` returns the
    config.pbtxt text naming exactly ``versions``; ``served_versions`` must include ``version``.
    ``digests`` maps some of those paths to the sha256 their bytes must have (a fingerprint taken
    earlier): the upload checks it as it reads, and a file that differs is never published.
    Re-running after an interruption deletes leftovers and skips files already uploaded.
    ``fresh``: the caller has just listed the model and the version is a number never used
    (``pipeline.choose_version``): its directory holds nothing to list, and no config.pbtxt can
    already name it, so the current config is not read before it is replaced.
    """
    started = time.perf_counter()
    progress = ensure_progress(progress)
    version = int(version)
    served = _checked_versions(model, version, served_versions, files)
    vprefix = version_prefix(store, model, version)
    local = _local_files(vprefix, model, files, digests)
    # 1) Leftovers of an interrupted attempt: anything here that is not exactly what we publish.
    keep = set() if fresh else _reusable(store, vprefix, local, progress, what=f"{model} v{version}")
    # 2) + 3) Upload what is missing and verify everything.
    uploaded = _upload_verified(store, model, local, keep, progress)
    # 4) Config last: only now does Triton learn about the new version.
    config_sha = write_config(store, model, render_config(served), changed=fresh)
    # 5) The manifest.
    published = [PublishedFile(item.rel, item.size, item.sha256) for _, item in sorted(local.items())]
    return PublishResult(
        model=model,
        version=version,
        files=published,
        config_sha256=config_sha,
        bytes_uploaded=uploaded,
        seconds=time.perf_counter() - started,
        manifest_key=write_version_manifest(store, model, version, published, config_sha, served),
        skipped_files=len(keep),
    )


def write_config(store: ObjectStore, model: str, text: str, *, changed: bool = False) -> str:
    """Write ``<prefix>/<model>/config.pbtxt`` unless it already holds ``text``; returns its sha256.

    ``changed``: the caller knows the config differs (it names a new version): written unread.
    """
    data = text.encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    key = config_key(store, model)
    if changed or store.read_bytes(key) != data:
        store.upload_bytes(key, data, content_type="text/plain")
    return sha


def read_manifest(store: ObjectStore, model: str, version: int) -> dict[str, Any] | None:
    """The manifest ``publish_version`` wrote for a version, or None."""
    raw = store.read_bytes(manifest_key(store, model, version))
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("schema") == MANIFEST_SCHEMA else None


# --- removal ---------------------------------------------------------------------------------------


def _file_names(files: Iterable[str | PublishedFile]) -> list[str]:
    return [_relative_path(f.path if isinstance(f, PublishedFile) else f) for f in files]


def unpublish_version(
    store: ObjectStore,
    model: str,
    version: int,
    files: Iterable[str | PublishedFile],
    *,
    config_text: str | None = None,
) -> list[str]:
    """Delete exactly the files this publisher wrote for ``version`` (and its manifest).

    ``config_text``, when given, is written first: a config that no longer names the version,
    so Triton stops serving it before its files disappear. Returns the deleted keys.
    """
    if config_text is not None:
        write_config(store, model, config_text)
    keys = version_keys(store, model, version, files)
    store.delete(keys)
    return sorted(keys)


def version_keys(store: ObjectStore, model: str, version: int, files: Iterable[str | PublishedFile]) -> list[str]:
    """The keys of a version this publisher wrote: its files and its manifest."""
    vprefix = version_prefix(store, model, version)
    return [vprefix + rel for rel in _file_names(files)] + [manifest_key(store, model, version)]


def remove_model(
    store: ObjectStore,
    model: str,
    owned_versions: Mapping[int, Iterable[str | PublishedFile]] | Iterable[int],
    config_sha256: str | None,
) -> RemovedModel:
    """Delete the versions this resource published, and config.pbtxt only if it is still ours.

    ``owned_versions`` maps version -> files, or lists versions whose files the manifests name.
    A config.pbtxt whose sha256 differs from ``config_sha256`` was rewritten by someone else and
    stays, as does every object not named here.
    """
    if isinstance(owned_versions, Mapping):
        plan = {int(v): _file_names(fs) for v, fs in owned_versions.items()}
    else:
        plan = {}
        for v in owned_versions:
            manifest = read_manifest(store, model, int(v))
            plan[int(v)] = _file_names(f["path"] for f in manifest["files"]) if manifest else []
    deleted: list[str] = []
    # Config first: Triton must stop serving before the files go.
    key = config_key(store, model)
    current = store.read_bytes(key)
    config_deleted = False
    reason: str | None = None
    if current is None:
        reason = "absent"
    elif config_sha256 is None or hashlib.sha256(current).hexdigest() != config_sha256:
        reason = "rewritten by someone else"
    else:
        store.delete([key])
        deleted.append(key)
        config_deleted = True
    for version, names in sorted(plan.items()):
        deleted.extend(unpublish_version(store, model, version, names))
    return RemovedModel(deleted=sorted(deleted), config_deleted=config_deleted, config_kept_reason=reason)
