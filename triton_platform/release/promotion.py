"""Keeping and promoting releases: every artifact copied between any two stores and verified by sha256.

Layout in a bucket (under the cache prefix, outside what Triton reads)::

    <cache>/releases/<hex>.json        the canonical manifest of release sha256:<hex>
    <cache>/releases/blobs/<sha256>    every file a kept release names, content-addressed
    <cache>/releases/history.json      the last releases this bucket served: digest, when, from where
                                       (and, under canary rollouts, when one was promoted to 100 %: servedAt)
    <cache>/releases/served/<hex>/     a release's own model repository (triton_platform.release.materialize)

A TensorRT model's ONNX (and INT8 calibration cache) is a blob of its release too, so a stack
whose GPU the release has no engine for can build one from it (triton_platform.release.rebuild).

``snapshot_release`` keeps the release a stack just published: its served files are copied into
the content-addressed blobs (so retiring a version later does not lose a release), then the
manifest is written. ``promote_release`` copies a release from an upstream store into this one
with the protocol of :mod:`triton_platform.publisher.publish`, for the whole release at once:
(1) every blob is copied and checked against the manifest's sha256, (2) every model's version
directory is written and verified, and only then (3) every config.pbtxt, so Triton never sees a
half-copied version and an interruption leaves the previous release serving.

Copies never pass through this machine's disk, and within one service not even through its
network: a copy inside one bucket or between two buckets of one service (S3 endpoint, GCS, Azure
storage account) is server-side (``ObjectStore.copy_from``: S3 CopyObject, which recomputes the
SHA256 that is checked, or UploadPartCopy above 5 GiB; GCS rewrite; Azure Copy Blob); between
clouds the source's ranges stream into the target's upload and are hashed on the way, and nothing
is committed unless they hash to the manifest's sha256. (4) The versions of the previous
release that the new one does not serve are retired, (5) the manifest and history are written
and (6) blobs no kept release names are pruned. A release is kept while it is among the last
``keep`` of the history (or is the one a canary rollout last promoted to 100 %: ``serving_digest``),
so the previous one survives until the next promotion succeeded and rolling back is promoting an
older digest again.
Plain Python: no Pulumi.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triton_platform.publisher import http_source, pbtxt
from triton_platform.publisher.errors import PublisherError, StoreError
from triton_platform.publisher.fingerprint import calibration_object_key, onnx_object_key
from triton_platform.publisher.progress import Progress, ensure_progress
from triton_platform.publisher.publish import (
    PublishedFile,
    config_key,
    remove_model,
    unpublish_version,
    version_prefix,
    write_config,
    write_version_manifest,
)
from triton_platform.publisher.sources import uri_store
from triton_platform.publisher.spec import ModelSpec, is_url
from triton_platform.publisher.stores import ObjectInfo, ObjectStore, open_store
from triton_platform.publisher.stores.transfer import DigestMismatch
from triton_platform.release.manifest import (
    KEEP_RELEASES,
    ModelEntry,
    Release,
    ReleaseError,
    ReleaseManifest,
    digest_hex,
)

RELEASES = "releases"
HISTORY_LIMIT = 20


# --- keys ------------------------------------------------------------------------------------------


def release_key(store: ObjectStore, digest: str) -> str:
    """``<cache>/releases/<hex>.json``."""
    return store.ref.cache_key(RELEASES, f"{digest_hex(digest)}.json")


def blob_key(store: ObjectStore, sha256: str) -> str:
    """``<cache>/releases/blobs/<sha256>``."""
    return store.ref.cache_key(RELEASES, "blobs", sha256)


def history_key(store: ObjectStore) -> str:
    return store.ref.cache_key(RELEASES, "history.json")


# --- history ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One release this bucket served: its digest, when it became visible, and where it came from."""

    digest: str
    promotedAt: str
    fromStack: str | None = None
    models: dict[str, int] = field(default_factory=dict)
    # The upstream's digest when this bucket serves it with engines it built itself (``digest`` then
    # is the digest of the manifest that records the rebuild); None when both are the same release.
    upstreamDigest: str | None = None
    # When a canary rollout (triton.rollout.strategy canary) promoted this release to 100 % of the
    # traffic (`python -m triton_platform.release served`); None while it was not, or under ``instant``.
    servedAt: str | None = None

    @classmethod
    def parse(cls, data: Any) -> HistoryEntry:
        return cls(
            digest=str(data["digest"]),
            promotedAt=str(data["promotedAt"]),
            fromStack=str(data["fromStack"]) if data.get("fromStack") else None,
            models={str(k): int(v) for k, v in (data.get("models") or {}).items()},
            upstreamDigest=str(data["upstreamDigest"]) if data.get("upstreamDigest") else None,
            servedAt=str(data["servedAt"]) if data.get("servedAt") else None,
        )

    def to_json(self) -> dict[str, Any]:
        """The entry in history.json and the ``releaseHistory`` output; ``servedAt`` only once it is set,
        so the history of a stack that never rolled out a canary stays exactly what it was."""
        data = asdict(self)
        if self.servedAt is None:
            del data["servedAt"]
        return data


def read_history(store: ObjectStore) -> list[HistoryEntry]:
    """The bucket's release history, newest first ([] when it has none or it is unreadable)."""
    raw = store.read_bytes(history_key(store))
    if raw is None:
        return []
    try:
        data = json.loads(raw)
        return [HistoryEntry.parse(e) for e in data.get("releases", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        return []


def _write_history(store: ObjectStore, entries: list[HistoryEntry]) -> None:
    body = {"schema": 1, "releases": [e.to_json() for e in entries[:HISTORY_LIMIT]]}
    store.upload_bytes(history_key(store), json.dumps(body, indent=2).encode(), content_type="application/json")


def kept_releases(history: Iterable[HistoryEntry], keep: int = KEEP_RELEASES) -> list[str]:
    """The digests whose artifacts stay: the last ``keep`` distinct ones, newest first."""
    out: list[str] = []
    for entry in history:
        if entry.digest not in out:
            out.append(entry.digest)
        if len(out) == keep:
            break
    return out


def serving_digest(history: Iterable[HistoryEntry]) -> str | None:
    """The release a canary rollout last promoted to 100 % (the latest ``servedAt``); None when none was.

    The stable pods serve it until the next rollout completes, however many newer releases were
    kept meanwhile (aborted canaries). Equal times: the newer entry (history is newest first).
    """
    best: HistoryEntry | None = None
    for entry in history:
        if entry.servedAt is not None and (best is None or entry.servedAt > (best.servedAt or "")):
            best = entry
    return best.digest if best is not None else None


def mark_served(store: ObjectStore, digest: str, *, now: Callable[[], str] | None = None) -> list[HistoryEntry]:
    """Record in the history that ``digest`` now serves 100 % of the traffic; the history as written.

    The newest entry of ``digest`` gets ``servedAt``; nothing is written when it already is the
    serving release. ReleaseError when the bucket does not keep ``digest`` (no manifest, or no
    history entry): only a kept release can have been rolled out.
    """
    digest_hex(digest)
    history = read_history(store)
    kept = [e.digest for e in history]
    if read_release(store, digest) is None or digest not in kept:
        raise ReleaseError(
            f"{store.ref.describe()} does not keep release {digest} (its history keeps "
            f"{', '.join(dict.fromkeys(kept)) or 'none'}); only a release the stack kept can have been rolled out"
        )
    if serving_digest(history) == digest:
        return history
    at = (now or _now)()
    index = kept.index(digest)
    history[index] = replace(history[index], servedAt=at)
    _write_history(store, history)
    return history


def read_release(store: ObjectStore, digest: str) -> ReleaseManifest | None:
    """The manifest this bucket keeps for ``digest``, checked against it; None when not kept here."""
    raw = store.read_bytes(release_key(store, digest))
    if raw is None:
        return None
    if "sha256:" + hashlib.sha256(raw).hexdigest() != digest:
        raise store.error(
            f"the stored manifest of release {digest} does not hash to it", key=release_key(store, digest)
        )
    return ReleaseManifest.model_validate(json.loads(raw))


def kept_digests(store: ObjectStore) -> list[str]:
    """Every release this bucket keeps (has a manifest for)."""
    prefix = store.ref.cache_key(RELEASES) + "/"
    out = []
    for info in store.list(prefix):
        rest = info.key[len(prefix) :]
        if rest.endswith(".json") and "/" not in rest and len(rest) == 69:
            out.append("sha256:" + rest.removesuffix(".json"))
    return sorted(out)


# --- results ---------------------------------------------------------------------------------------


@dataclass
class PromotionResult:
    """What a snapshot or promotion did; ``to_outputs()`` is what the dynamic resource keeps."""

    digest: str
    release_key: str
    history: list[HistoryEntry]
    objects_copied: int = 0
    bytes_copied: int = 0
    pruned: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_outputs(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "release_key": self.release_key,
            "history": [e.to_json() for e in self.history],
            "objects_copied": self.objects_copied,
            "bytes_copied": self.bytes_copied,
            "seconds": round(self.seconds, 3),
        }


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- copying verified objects ------------------------------------------------------------------------


def holds(store: ObjectStore, key: str, sha256: str) -> bool:
    """True when ``key`` holds exactly ``sha256`` by the metadata we record (and the server's checksum)."""
    info = store.stat(key)
    return info is not None and info.sha256 == sha256


class Blobs:
    """A release's artifacts as they are copied between stores, and local copies where a build needs one.

    Counts what it copies (``objects_copied``, ``bytes_copied``: a promotion's outputs) and the
    size of every artifact it saw (``sizes``). ``fetch``/``nearest``/``keep`` give verified local
    files (rebuilding an engine reads its ONNX); everything else is copied store to store.
    """

    def __init__(self, workdir: Path, progress: Progress) -> None:
        self.workdir, self.progress = workdir, progress
        self.paths: dict[str, Path] = {}
        self.sizes: dict[str, int] = {}
        self.bytes_copied = 0
        self.objects_copied = 0

    def fetch(self, store: ObjectStore, key: str, sha256: str) -> Path:
        """Download ``key`` from ``store`` and check its bytes hash to ``sha256`` (hashed as they arrive)."""
        if sha256 in self.paths:
            return self.paths[sha256]
        path = self.workdir / sha256
        try:
            store.download_file(key, path, self.progress, sha256=sha256)
        except DigestMismatch as exc:
            raise _altered(store, key, exc.actual, sha256) from None
        self.paths[sha256] = path
        return path

    def put(self, store: ObjectStore, key: str, path: Path, sha256: str) -> None:
        """Upload ``path`` to ``key`` (verified by the upload itself) and count it."""
        store.upload_file(key, path, sha256=sha256, progress=self.progress)
        self.objects_copied += 1
        self.bytes_copied += path.stat().st_size

    def keep(self, store: ObjectStore, path: Path, sha256: str) -> None:
        """Keep ``path`` as the blob ``sha256`` of ``store`` unless it already is."""
        if not holds(store, blob_key(store, sha256), sha256):
            self.put(store, blob_key(store, sha256), path, sha256)

    def nearest(self, source: ObjectStore, target: ObjectStore, sha256: str) -> Path:
        """Blob ``sha256`` from ``target`` when it keeps it, else from ``source`` (the upstream)."""
        if holds(target, blob_key(target, sha256), sha256):
            return self.fetch(target, blob_key(target, sha256), sha256)
        return self.fetch(source, blob_key(source, sha256), sha256)

    def copy(self, source: ObjectStore, source_key: str, target: ObjectStore, key: str, sha256: str) -> ObjectInfo:
        """``source_key`` of ``source`` copied to ``key`` of ``target`` (server-side where it can be), verified."""
        try:
            info = target.copy_from(source, source_key, key, sha256=sha256, progress=self.progress)
        except DigestMismatch as exc:
            raise _altered(source, source_key, exc.actual, sha256) from None
        self.objects_copied += 1
        self.bytes_copied += info.size
        self.sizes[sha256] = info.size
        return info

    def ensure(self, source: ObjectStore, target: ObjectStore, sha256: str) -> int:
        """Blob ``sha256`` kept in ``target``: there already (a rollback), or copied from ``source``; its size."""
        key = blob_key(target, sha256)
        info = target.stat(key)
        if info is not None and info.sha256 == sha256:
            self.sizes[sha256] = info.size
            return info.size
        return self.copy(source, blob_key(source, sha256), target, key, sha256).size


def _altered(store: ObjectStore, key: str, actual: str, sha256: str) -> StoreError:
    return store.error(
        f"holds bytes with sha256 {actual}, the release names {sha256}; the artifact was altered or "
        "corrupted, so the release cannot be promoted from this bucket",
        key=key,
    )


def _blob_text(store: ObjectStore, sha256: str) -> str:
    """A small blob (a config.pbtxt) as text, checked against its sha256."""
    data = store.read_bytes(blob_key(store, sha256))
    actual = hashlib.sha256(data or b"").hexdigest()
    if data is None or actual != sha256:
        raise _altered(store, blob_key(store, sha256), actual, sha256)
    return data.decode("utf-8")


def _config_versions(text: str, model: str) -> list[int]:
    config = pbtxt.parse_config(text, model=model)
    return sorted(int(v) for v in config.version_policy.specific.versions)


# --- snapshot (the publishing stack) -------------------------------------------------------------------


def _keep_rebuild_inputs(store: ObjectStore, m: ModelEntry, sources: Mapping[str, Any], blobs: Blobs) -> None:
    """Keep a TensorRT model's ONNX (and calibration cache) as release blobs, each checked against its sha256.

    From the engine cache when a Kubernetes build put it there (content-addressed), else from the
    model's source (``sources[model]``: {"onnx": path or URI, "calibration": ...}, what the program
    knows of the machine running `pulumi up`).
    """
    wanted = {"onnx": (m.onnx_sha256, onnx_object_key), "calibration": (m.calibration_sha256, calibration_object_key)}
    for what, (sha, cache_key) in wanted.items():
        if sha is None or holds(store, blob_key(store, sha), sha):
            continue
        cached = cache_key(store.ref.cache_prefix, sha)
        if store.stat(cached) is not None:
            blobs.copy(store, cached, store, blob_key(store, sha), sha)
            continue
        where = (sources.get(m.name) or {}).get(what)
        if not where:
            raise store.error(
                f"model {m.name!r}: its {what} (sha256 {sha}) is neither kept nor in the engine cache, and the "
                "release knows no source for it; run `pulumi up` again from a checkout that has the model's source",
                key=blob_key(store, sha),
                model=m.name,
            )
        try:
            _keep_source(store, m.name, str(where), sha, blobs)
        except DigestMismatch as exc:
            raise store.error(
                f"model {m.name!r}: its {what} {where!r} has sha256 {exc.actual}, the release's engines were built "
                f"from {sha}; the source changed since it was published: run `pulumi up` to publish it again",
                key=blob_key(store, sha),
                model=m.name,
            ) from None


def _keep_source(store: ObjectStore, model: str, where: str, sha: str, blobs: Blobs) -> None:
    """A model's source kept as blob ``sha``: a local file uploaded, an https:// file from the download
    cache, an s3:// gs:// az:// object copied store to store; each checked against ``sha`` on the way."""
    if is_url(where):
        spec = ModelSpec(name=model, source=where, format="onnx", sha256=sha)
        blobs.put(store, blob_key(store, sha), http_source.fetch(spec, blobs.progress), sha)
    elif "://" in where:
        # The publisher's own rule for source buckets (same cloud as the target: its endpoint and credentials).
        ref, key = uri_store(where, ModelSpec(name=model, source=where, format="onnx"), store.ref)
        store.copy_from(open_store(ref), key, blob_key(store, sha), sha256=sha, progress=blobs.progress)
        blobs.objects_copied += 1
    else:
        blobs.put(store, blob_key(store, sha), Path(where), sha)


def snapshot_release(
    store: ObjectStore,
    release: Release,
    *,
    keep: int = KEEP_RELEASES,
    progress: Progress | None = None,
    now: Callable[[], str] = _now,
    sources: Mapping[str, Any] | None = None,
) -> PromotionResult:
    """Keep the release this stack serves: its files, configs and rebuild inputs as blobs, then its manifest
    and history (``sources``: see _keep_rebuild_inputs)."""
    started = time.perf_counter()
    progress = ensure_progress(progress)
    store.check()
    manifest = release.manifest
    with tempfile.TemporaryDirectory(prefix="triton-release-") as tmp:
        blobs = Blobs(Path(tmp), progress)
        for m in manifest.models:
            config = store.read_bytes(config_key(store, m.name))
            if config is None or hashlib.sha256(config).hexdigest() != m.config_sha256:
                raise store.error(
                    f"config.pbtxt of model {m.name!r} is not the one version {m.version} was published with; "
                    "someone rewrote it: run `pulumi up` again to publish it",
                    key=config_key(store, m.name),
                    model=m.name,
                )
            if not holds(store, blob_key(store, m.config_sha256), m.config_sha256):
                store.upload_bytes(blob_key(store, m.config_sha256), config, content_type="text/plain")
                blobs.objects_copied += 1
            vprefix = version_prefix(store, m.name, m.version)
            for rel, sha in m.files.items():
                if not holds(store, blob_key(store, sha), sha):
                    blobs.copy(store, vprefix + rel, store, blob_key(store, sha), sha)  # on the server
            _keep_rebuild_inputs(store, m, sources or {}, blobs)
    return _finish(store, release, None, keep, blobs, started, now)


def _finish(
    store: ObjectStore,
    release: Release,
    from_stack: str | None,
    keep: int,
    blobs: Blobs,
    started: float,
    now: Callable[[], str],
    upstream_digest: str | None = None,
) -> PromotionResult:
    """Write the manifest and the history, then prune what no kept release names."""
    key = release_key(store, release.digest)
    if store.read_bytes(key) != release.manifest.canonical():
        store.upload_bytes(key, release.manifest.canonical(), content_type="application/json")
    history = read_history(store)
    if not history or history[0].digest != release.digest or history[0].fromStack != from_stack:
        models = {m.name: m.version for m in release.manifest.models}
        entry = HistoryEntry(release.digest, now(), from_stack, models, upstream_digest)
        history = [entry, *history][:HISTORY_LIMIT]
        _write_history(store, history)
    # The release a canary rollout last promoted stays too: the stable pods serve it (and it can be
    # rolled back to) however many releases were kept since (aborted canaries).
    serving = serving_digest(history)
    pruned = prune(store, list(dict.fromkeys([*kept_releases(history, keep), *([serving] if serving else [])])))
    return PromotionResult(
        digest=release.digest,
        release_key=key,
        history=history,
        objects_copied=blobs.objects_copied,
        bytes_copied=blobs.bytes_copied,
        pruned=pruned,
        seconds=time.perf_counter() - started,
    )


def prune(store: ObjectStore, keep_digests: list[str]) -> list[str]:
    """Delete the manifests and blobs of releases not in ``keep_digests``; returns the deleted keys."""
    named: set[str] = set()
    for digest in keep_digests:
        manifest = read_release(store, digest)
        if manifest is not None:
            named |= manifest.artifacts() | {m.config_sha256 for m in manifest.models}
    doomed = [release_key(store, d) for d in kept_digests(store) if d not in keep_digests]
    prefix = store.ref.cache_key(RELEASES, "blobs") + "/"
    doomed += [info.key for info in store.list(prefix) if info.key[len(prefix) :] not in named]
    if doomed:
        store.delete(doomed)
    return sorted(doomed)


# --- promotion (the target stack) --------------------------------------------------------------------


def _check_upstream(source: ObjectStore, pinned: Release, from_stack: str) -> None:
    """The upstream bucket must keep ``pinned`` exactly as its ``release`` output names it."""
    upstream = read_release(source, pinned.digest)
    if upstream is None:
        kept = ", ".join(kept_digests(source)) or "none"
        raise ReleaseError(
            f"{from_stack} does not keep release {pinned.digest} in {source.ref.describe()} any more (kept: {kept}); "
            "promote a digest it still keeps"
        )
    if upstream.canonical() != pinned.manifest.canonical():
        raise ReleaseError(f"the manifest {from_stack} keeps for {pinned.digest} differs from its `release` output")


def _stage_artifacts(
    source: ObjectStore, target: ObjectStore, manifest: ReleaseManifest, blobs: Blobs
) -> dict[str, str]:
    """Step (1): every artifact into ``target``'s blobs, verified; each model's config.pbtxt text, checked."""
    configs: dict[str, str] = {}
    for m in manifest.models:
        blobs.ensure(source, target, m.config_sha256)
        text = _blob_text(target, m.config_sha256)
        served = _config_versions(text, m.name)
        if served != [m.version]:
            raise ReleaseError(
                f"model {m.name!r}: its config.pbtxt serves versions {served}, the release holds version "
                f"{m.version} only; set versionPolicy latest: 1 upstream and publish again"
            )
        configs[m.name] = text
        for sha in sorted(set(m.files.values()) | m.rebuild_inputs()):
            blobs.ensure(source, target, sha)
    return configs


def _write_version_dir(target: ObjectStore, m: ModelEntry, digest: str, blobs: Blobs) -> None:
    """Step (2) for one model: its version directory in ``target``, complete and verified (no config yet)."""
    vprefix = version_prefix(target, m.name, m.version)
    want = {vprefix + rel: sha for rel, sha in m.files.items()}
    stale = [info.key for info in target.list(vprefix) if info.key not in want]
    current = target.read_bytes(config_key(target, m.name))
    serving = current is not None and m.version in _safe_versions(current, m.name)
    if stale and serving:
        raise StoreError(
            f"version {m.version} is served with other files than release {digest} names; a version "
            "number is never reused for other bytes, so this bucket holds another stack's model of that name",
            bucket=target.bucket,
            model=m.name,
            key=vprefix,
        )
    if stale:
        target.delete(stale)
    for key, sha in sorted(want.items()):
        blob = target.stat(blob_key(target, sha))  # step (1) kept every file as a blob
        if blob is None:
            raise target.error(
                "vanished before its version directory was written; run again", key=blob_key(target, sha)
            )
        if holds(target, key, sha):
            # Already there (a resumed or repeated promotion): checked against the blob's size and checksum.
            target.verify_copy(key, blob, sha)
        else:
            blobs.copy(target, blob_key(target, sha), target, key, sha)  # on the server
    for key, sha in sorted(want.items()):
        info = target.stat(key)
        if info is None or info.sha256 != sha:
            raise target.error("vanished or changed before config.pbtxt was written; run again", key=key)


def _serve(target: ObjectStore, manifest: ReleaseManifest, configs: Mapping[str, str], blobs: Blobs) -> None:
    """Step (3): the configs, last; only now does Triton see the new release. Each version gets its manifest."""
    for m in manifest.models:
        write_config(target, m.name, configs[m.name])
        files = [PublishedFile(rel, blobs.sizes[sha], sha) for rel, sha in sorted(m.files.items())]
        write_version_manifest(target, m.name, m.version, files, m.config_sha256, [m.version])


def promote_release(
    source: ObjectStore,
    target: ObjectStore,
    release: Release,
    *,
    from_stack: str,
    keep: int = KEEP_RELEASES,
    progress: Progress | None = None,
    now: Callable[[], str] = _now,
    derived_from: Release | None = None,
) -> PromotionResult:
    """Serve ``release`` from ``target``, copied from ``source`` (where ``from_stack`` keeps it); see the module doc.

    ``derived_from``: the upstream release when ``release`` is it plus engines this stack built
    (triton_platform.release.rebuild, whose blobs are already in ``target``); the upstream keeps
    that one, and the history records both digests.
    """
    started = time.perf_counter()
    progress = ensure_progress(progress)
    manifest = release.manifest
    if derived_from is not None and manifest.rebuilt_from != derived_from.digest:
        raise ReleaseError(f"release {release.digest} does not record that it was rebuilt from {derived_from.digest}")
    source.check()
    target.check()
    _check_upstream(source, derived_from or release, from_stack)
    previous_digest = next((e.digest for e in read_history(target)), None)
    previous = read_release(target, previous_digest) if previous_digest else None
    with tempfile.TemporaryDirectory(prefix="triton-promote-") as tmp:
        blobs = Blobs(Path(tmp), progress)
        configs = _stage_artifacts(source, target, manifest, blobs)
        # (2) Every version directory, while Triton still serves the old configs; (3) configs last.
        for m in manifest.models:
            _write_version_dir(target, m, release.digest, blobs)
        _serve(target, manifest, configs, blobs)
    # (4) Retire what the previous release served and this one does not.
    if previous is not None:
        _retire(target, previous, manifest)
    # (5) + (6)
    upstream_digest = derived_from.digest if derived_from is not None else None
    return _finish(target, release, from_stack, keep, blobs, started, now, upstream_digest)


def _safe_versions(config: bytes, model: str) -> list[int]:
    try:
        return _config_versions(config.decode("utf-8", errors="replace"), model)
    except PublisherError:
        return []


def _retire(store: ObjectStore, previous: ReleaseManifest, current: ReleaseManifest) -> None:
    names = {m.name for m in current.models}
    for old in previous.models:
        if old.name not in names:
            # Config first (only if it is still the one the previous release wrote), then its files.
            remove_model(store, old.name, {old.version: list(old.files)}, old.config_sha256)
            continue
        new = current.model(old.name)
        if new.version != old.version:
            unpublish_version(store, old.name, old.version, list(old.files))


def remove_release(store: ObjectStore, manifest: ReleaseManifest) -> list[str]:
    """Stop serving a promoted release: each model's config (if still the release's) first, then its files."""
    deleted: list[str] = []
    for m in manifest.models:
        deleted += remove_model(store, m.name, {m.version: list(m.files)}, m.config_sha256).deleted
    return sorted(deleted)
