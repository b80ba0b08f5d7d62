"""Building the engines a promoted release lacks for this stack's GPU (``release.buildMissingEngines``).

A release records, per TensorRT model, the sha256 of the ONNX its engines were built from (kept
as a release blob) and the build options exactly as the engine key uses them. For every compute
capability of the promoting stack that a model has no engine for (at the TensorRT of the
release's Triton), ``rebuild_missing_engines``:

1. reads the ONNX blob (this bucket's copy when it has one, else the upstream's) and checks it
   hashes to the recorded sha256, and rebuilds the ModelSpec from the recorded options
   (triton_platform.release.manifest.rebuild_spec refuses options that are not exactly an engine key's);
2. builds the engine with the stack's own builder (a Kubernetes Job on its GPU pool, pinned to
   the architecture by GPU feature discovery's labels, or local TensorRT) under the
   content-addressed key of that ONNX + options + TensorRT + compute capability, so a second run
   finds it in the cache and builds nothing; checks afterwards that the ONNX the builder read is
   still those bytes and that the engine sits under that key;
3. keeps the engine and a config.pbtxt naming every engine in ``cc_model_filenames`` as blobs of
   this bucket (the upstream's files keep their names and bytes; a new engine is ``model.sm90.plan``)
   and returns the release with them: its manifest records each rebuilt engine and
   the upstream digest (``rebuiltFrom``), so its digest differs from the upstream's.

promotion.promote_release then serves that release (configs last). Plain Python: no Pulumi.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import text_format

from triton_platform.catalog.versions import NGC_RELEASES
from triton_platform.publisher import fingerprint, pbtxt
from triton_platform.publisher.builders.base import EngineBuilder, EngineJob
from triton_platform.publisher.errors import BuildError
from triton_platform.publisher.onnx_graph import check_shapes, effective_shapes, read_signature
from triton_platform.publisher.progress import Progress
from triton_platform.publisher.spec import ModelSpec
from triton_platform.publisher.stores.base import ObjectStore, sha256_file
from triton_platform.release.manifest import (
    EngineEntry,
    ModelEntry,
    RebuiltEngine,
    Release,
    ReleaseManifest,
    engine_file,
    missing_engines,
    rebuild_spec,
)
from triton_platform.release.promotion import _Blobs, _has, _put, blob_key


@dataclass
class RebuildResult:
    """The release this stack serves (the upstream's when nothing was missing) and what was built."""

    release: Release
    rebuilt: list[RebuiltEngine] = field(default_factory=list)
    # (model, compute capability) of the engines a builder actually ran for (not found in the cache).
    built: list[tuple[str, str]] = field(default_factory=list)


def _local(blobs: _Blobs, source: ObjectStore, target: ObjectStore, sha: str) -> Path:
    """A verified local copy of blob ``sha``, from this bucket when it keeps it, else from the upstream's."""
    if _has(target, blob_key(target, sha), sha):
        return blobs.fetch(target, blob_key(target, sha), sha)
    return blobs.fetch(source, blob_key(source, sha), sha)


def _keep(blobs: _Blobs, target: ObjectStore, path: Path, sha: str) -> None:
    if not _has(target, blob_key(target, sha), sha):
        _put(target, blob_key(target, sha), path, sha, blobs)


def _file_of(entry: ModelEntry, engine: EngineEntry, ccs: Sequence[str]) -> str:
    """The file of an upstream engine in its version directory (``model.plan`` alone, ``model.sm80.plan`` ...)."""
    name = engine_file(engine.compute_capability, ccs)
    if entry.files.get(name) == engine.sha256:
        return name
    return sorted(rel for rel, sha in entry.files.items() if sha == engine.sha256)[0]


def config_with_engines(text: str, model: str, files: dict[str, str]) -> str:
    """The model's config.pbtxt naming one engine file per compute capability (Triton's cc_model_filenames).

    Everything else the upstream configured stays as it was, ``default_model_filename`` too (unset
    for a single engine: Triton's default ``model.plan``, the upstream's engine).
    """
    # triton-inference-server/common protobuf/model_config.proto: ``map<string, string>
    # cc_model_filenames = 9`` maps a CUDA compute capability to a file in the version directory;
    # ``default_model_filename = 8`` (default 'model.plan') serves any capability not in the map.
    config = pbtxt.parse_config(text, model=model)
    config.ClearField("cc_model_filenames")
    for cc, filename in sorted(files.items()):
        config.cc_model_filenames[cc] = filename
    rendered = text_format.MessageToString(config)
    parsed = pbtxt.parse_config(rendered, model=model)
    if dict(parsed.cc_model_filenames) != dict(sorted(files.items())):
        raise BuildError("the rewritten config.pbtxt does not read back with its engines", model=model)
    return rendered


def _engine_key(entry: ModelEntry, spec: ModelSpec, tensorrt: str, cc: str) -> str:
    assert entry.onnx_sha256 is not None  # rebuild_spec checked it
    return fingerprint.engine_key(entry.onnx_sha256, spec, tensorrt, cc, calibration_sha256=entry.calibration_sha256)


def _rebuild_model(
    entry: ModelEntry,
    ccs: Sequence[str],
    *,
    release: Release,
    source: ObjectStore,
    target: ObjectStore,
    builder: EngineBuilder,
    timeout_seconds: int,
    reads_bucket: bool,
    blobs: _Blobs,
    result: RebuildResult,
) -> ModelEntry:
    triton = release.manifest.triton_version
    tensorrt = NGC_RELEASES[triton].tensorrt
    onnx_sha = entry.onnx_sha256
    if onnx_sha is None:
        raise BuildError(
            f"release {release.digest} records no ONNX for model {entry.name!r}; publish it again upstream",
            model=entry.name,
            key="release.buildMissingEngines",
        )
    calibration_path: Path | None = None
    if entry.calibration_sha256:
        calibration_path = _local(blobs, source, target, entry.calibration_sha256)
    spec: ModelSpec = rebuild_spec(entry, calibration_cache=str(calibration_path) if calibration_path else None)
    engines = {e.compute_capability: e for e in entry.engines}
    onnx_path: Path | None = None
    for cc in ccs:
        key = _engine_key(entry, spec, tensorrt, cc)
        engine_object = fingerprint.engine_object_key(target.ref.cache_prefix, entry.name, key, cc)
        if target.stat(engine_object) is None:
            # Only now is the ONNX needed: a second run finds the engine in the cache and reads nothing.
            if onnx_path is None:
                onnx_path = _local(blobs, source, target, onnx_sha)
                signature = read_signature(onnx_path, model=entry.name)
                check_shapes(signature, spec)
                profile = effective_shapes(signature, spec)
            job = EngineJob.for_model(
                spec,
                onnx_sha256=onnx_sha,
                cache_prefix=target.ref.cache_prefix,
                compute_capability=cc,
                ngc_release=triton,
                timeout_seconds=timeout_seconds,
                calibration_sha256=entry.calibration_sha256,
                onnx_path=str(onnx_path),
                calibration_path=str(calibration_path) if calibration_path else None,
                profile=profile,
            )
            if job.key != key or job.engine_object != engine_object:
                raise BuildError(f"engine key mismatch for {cc}: {job.key} != {key}", model=entry.name)
            # A Kubernetes Job reads the ONNX from the cache: it must hold exactly the release's bytes
            # (the local builder reads the verified copy at job.onnx_path).
            for obj, sha, path in (
                (job.onnx_object, onnx_sha, onnx_path),
                (job.calibration_object, entry.calibration_sha256, calibration_path),
            ):
                if reads_bucket and obj and sha and path is not None and not _has(target, obj, sha):
                    target.upload_file(obj, path, sha256=sha, progress=blobs.progress)
            builder.build(job, target, blobs.progress)
            result.built.append((entry.name, cc))
            changed = sha256_file(onnx_path) != onnx_sha
            if changed or (reads_bucket and not _has(target, job.onnx_object, onnx_sha)):
                raise BuildError(
                    f"the ONNX changed while the engine for compute capability {cc} was built; it is not from "
                    f"sha256 {onnx_sha}: run `pulumi up` again",
                    model=entry.name,
                )
        if target.stat(engine_object) is None:
            raise BuildError(
                f"the builder finished but no engine for compute capability {cc} is at {engine_object}",
                model=entry.name,
            )
        local = blobs.workdir / f"engine-{key}"
        target.download_file(engine_object, local, blobs.progress)
        sha = sha256_file(local)
        _keep(blobs, target, local, sha)
        engines[cc] = EngineEntry(compute_capability=cc, tensorrt_version=tensorrt, sha256=sha)
        result.rebuilt.append(
            RebuiltEngine(
                model=entry.name,
                compute_capability=cc,
                tensorrt_version=tensorrt,
                onnx_sha256=onnx_sha,
                engine_key=key,
                sha256=sha,
            )
        )

    # The version directory: the upstream's files as they are (a target already serving this version
    # keeps every byte it serves), plus one file per new engine, named as the publisher names them.
    files = dict(entry.files)
    upstream_ccs = [e.compute_capability for e in entry.engines]
    names = {e.compute_capability: _file_of(entry, e, upstream_ccs) for e in entry.engines}
    for cc in ccs:
        name = fingerprint.engine_filename(cc)
        if name in files:
            raise BuildError(
                f"the version directory already has {name!r}, not an engine for TensorRT {tensorrt}", model=entry.name
            )
        files[name] = engines[cc].sha256
        names[cc] = name
    all_ccs = sorted(engines)
    text = _local(blobs, source, target, entry.config_sha256).read_text(encoding="utf-8")
    config = config_with_engines(text, entry.name, names).encode("utf-8")
    config_path = blobs.workdir / f"config-{entry.name}.pbtxt"
    config_path.write_bytes(config)
    config_sha = sha256_file(config_path)
    _keep(blobs, target, config_path, config_sha)
    return entry.model_copy(
        update={
            "files": dict(sorted(files.items())),
            "engines": [engines[cc] for cc in all_ccs],
            "config_sha256": config_sha,
        }
    )


def rebuild_missing_engines(
    source: ObjectStore,
    target: ObjectStore,
    release: Release,
    *,
    compute_capabilities: Sequence[str],
    builder: EngineBuilder,
    workdir: Path,
    progress: Progress,
    timeout_seconds: int = 3600,
    builder_reads_bucket: bool = True,
) -> RebuildResult:
    """The release ``target`` serves: ``release`` with an engine for every one of ``compute_capabilities``.

    Nothing is built (and ``release`` comes back as it is) when it has them all; see the module doc.
    ``builder_reads_bucket``: the builder fetches the ONNX from the bucket (a Kubernetes Job), so it
    is put into this bucket's ONNX cache first.
    """
    manifest = release.manifest
    tensorrt = NGC_RELEASES[manifest.triton_version].tensorrt
    lacking = missing_engines(manifest, compute_capabilities, tensorrt)
    result = RebuildResult(release=release)
    if not lacking:
        return result
    blobs = _Blobs(workdir, progress)
    models = []
    for m in manifest.models:
        if m.name not in lacking:
            models.append(m)
            continue
        models.append(
            _rebuild_model(
                m,
                lacking[m.name],
                release=release,
                source=source,
                target=target,
                builder=builder,
                timeout_seconds=timeout_seconds,
                reads_bucket=builder_reads_bucket,
                blobs=blobs,
                result=result,
            )
        )
    rebuilt = ReleaseManifest(
        schema_version=manifest.schema_version,
        triton_version=manifest.triton_version,
        models=models,
        rebuilt_engines=[*manifest.rebuilt_engines, *result.rebuilt],
        rebuilt_from=release.digest,
    )
    result.release = Release.of(rebuilt, release.store)
    return result


__all__ = ["RebuildResult", "config_with_engines", "rebuild_missing_engines"]
