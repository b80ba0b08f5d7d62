"""A kept release copied into its own immutable location, a complete model repository Triton can serve.

Under ``triton.rollout.strategy: canary`` the canary pods serve one release while the stable pods
serve another, so each needs a repository of its own that never changes under it:
``<cache>/releases/served/<hex>/<model>/config.pbtxt`` and ``.../<model>/<version>/<files>`` for the
release ``sha256:<hex>`` (the layout is ``release_location`` of triton_platform.publisher.stores.base,
which the IAM policies use too). Its files are the release's content-addressed blobs
(``<cache>/releases/blobs/<sha256>``, triton_platform.release.promotion), copied on the server
(``ObjectStore.copy_from``: S3 CopyObject, GCS rewrite, Azure Copy Blob) and verified by sha256;
every model's version directory first, every config.pbtxt last.

A location is immutable: an object already holding the sha256 the release names is left alone
(so materializing again copies nothing, and an interrupted copy is finished), and a key holding
other bytes, or a key the release does not name, is an error naming the key: never overwritten.

The root lies outside ``<prefix>``: Triton takes every subdirectory of its repository for a model,
hidden ones too (a ``.releases`` folder makes a pod serving ``<prefix>`` fail with
``--exit-on-error``; tests/triton_platform/release/test_hidden_folder_triton.py).
Plain Python: no Pulumi.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from triton_platform.publisher.progress import Progress, ensure_progress
from triton_platform.publisher.stores import ObjectStore
from triton_platform.publisher.stores.ref import join_key, release_location, release_locations_root
from triton_platform.publisher.stores.transfer import DigestMismatch
from triton_platform.release.manifest import ReleaseError, ReleaseManifest, digest_hex
from triton_platform.release.promotion import blob_key, read_release

_HEX = re.compile(r"[0-9a-f]{64}")


def location_key(store: ObjectStore, digest: str) -> str:
    """``<cache>/releases/served/<hex>``: the repository of release ``digest`` in ``store``."""
    return release_location(store.ref.cache_prefix, digest_hex(digest))


@dataclass
class MaterializeResult:
    """What ``materialize_release`` did: the location and the objects it copied (0 when it was complete)."""

    digest: str
    location: str
    objects: int = 0
    objects_copied: int = 0
    bytes_copied: int = 0
    seconds: float = 0.0


def wanted_files(manifest: ReleaseManifest, location: str) -> tuple[dict[str, str], dict[str, str]]:
    """(version files, configs) of a location: key -> sha256 of the blob it holds."""
    files: dict[str, str] = {}
    configs: dict[str, str] = {}
    for m in manifest.models:
        for rel, sha in m.files.items():
            files[join_key(location, m.name, str(m.version), rel)] = sha
        configs[join_key(location, m.name, "config.pbtxt")] = m.config_sha256
    return files, configs


def _check_immutable(store: ObjectStore, digest: str, location: str, want: dict[str, str]) -> set[str]:
    """The keys of ``want`` already in place; StoreError naming a key that holds other bytes or is not the release's."""
    done: set[str] = set()
    for info in store.list(location + "/"):
        sha = want.get(info.key)
        if sha is None:
            raise store.error(
                f"the location of release {digest} holds a key the release does not name; a release's location "
                f"is immutable and never rewritten: delete the objects under {location}/ and run again",
                key=info.key,
            )
        held = store.stat(info.key)  # a listing carries no metadata: the sha256 we recorded is in the stat
        if held is not None and held.sha256 != sha:
            raise store.error(
                f"holds bytes with sha256 {held.sha256 or '(not recorded)'}, release {digest} names {sha}; a "
                f"release's location is immutable and never overwritten: delete the objects under {location}/ "
                "and run again",
                key=info.key,
            )
        if held is not None:
            done.add(info.key)
    return done


def _copy(store: ObjectStore, want: dict[str, str], done: set[str], progress: Progress) -> tuple[int, int]:
    """Copy each blob of ``want`` not yet in place (on the server, verified), then check every key; (objects, bytes)."""
    copied = size = 0
    for key, sha in sorted(want.items()):
        if key in done:
            continue
        blob = blob_key(store, sha)
        if store.stat(blob) is None:
            raise store.error(
                "release blob missing: the release is no longer kept in this bucket (its history's last "
                "releases); promote or publish it again",
                key=blob,
            )
        try:
            info = store.copy_from(store, blob, key, sha256=sha, progress=progress)
        except DigestMismatch as exc:
            raise store.error(
                f"holds bytes with sha256 {exc.actual}, the release names {sha}; the blob was altered or corrupted",
                key=blob,
            ) from None
        copied, size = copied + 1, size + info.size
    for key, sha in sorted(want.items()):
        held = store.stat(key)
        if held is None or held.sha256 != sha:
            raise store.error("vanished or changed right after it was copied; run again", key=key)
    return copied, size


def _manifest(store: ObjectStore, release: str | ReleaseManifest) -> tuple[str, ReleaseManifest]:
    if isinstance(release, ReleaseManifest):
        return release.digest(), release
    manifest = read_release(store, release)
    if manifest is None:
        raise ReleaseError(
            f"release {release} is not kept in {store.ref.describe()} (no {release} manifest among its releases); "
            "only a kept release can be served from its own location"
        )
    return release, manifest


def materialize_release(
    store: ObjectStore, release: str | ReleaseManifest, *, progress: Progress | None = None
) -> MaterializeResult:
    """The kept release (its digest, or its manifest) as a complete repository at ``location_key``.

    Idempotent: what is in place already is not copied again; an interrupted copy is finished.
    Every model's version directory first, every config.pbtxt last, so a location is never
    served half-copied. StoreError naming the key when the location holds other bytes.
    """
    started = time.perf_counter()
    progress = ensure_progress(progress)
    digest, manifest = _manifest(store, release)
    location = location_key(store, digest)
    files, configs = wanted_files(manifest, location)
    done = _check_immutable(store, digest, location, {**files, **configs})
    n_files, b_files = _copy(store, files, done, progress)
    n_configs, b_configs = _copy(store, configs, done, progress)
    copied = n_files + n_configs
    if copied:
        progress.note(f"release {digest}: {copied} object(s) copied into its location {location}/")
    return MaterializeResult(
        digest, location, len(files) + len(configs), copied, b_files + b_configs, time.perf_counter() - started
    )


def _location_hexes(store: ObjectStore) -> dict[str, list[str]]:
    """Every folder under the locations' root, with its keys (a folder that is no digest's too)."""
    root = release_locations_root(store.ref.cache_prefix) + "/"
    found: dict[str, list[str]] = {}
    for info in store.list(root):
        name = info.key[len(root) :].split("/", 1)[0]
        found.setdefault(name, []).append(info.key)
    return found


def locations(store: ObjectStore) -> list[str]:
    """The digests that have a location (complete or not) in this bucket, sorted."""
    return sorted("sha256:" + h for h in _location_hexes(store) if _HEX.fullmatch(h))


def prune_locations(store: ObjectStore, keep_digests: list[str], *, progress: Progress | None = None) -> list[str]:
    """Delete the locations of every release not in ``keep_digests``; the deleted keys, sorted.

    Each location's configs go first, so a location being pruned never serves a partial release.
    """
    progress = ensure_progress(progress)
    keep = {d.removeprefix("sha256:") for d in keep_digests}
    doomed: list[str] = []
    for name, keys in sorted(_location_hexes(store).items()):
        if name in keep:
            continue
        configs = [k for k in keys if k.endswith("/config.pbtxt")]
        for batch in (configs, [k for k in keys if k not in configs]):
            if batch:
                store.delete(batch)
        progress.note(f"release sha256:{name}: its location pruned ({len(keys)} object(s))")
        doomed += keys
    return sorted(doomed)


__all__ = [
    "MaterializeResult",
    "location_key",
    "locations",
    "materialize_release",
    "prune_locations",
    "wanted_files",
]
