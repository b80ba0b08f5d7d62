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
from triton_platform.publisher.builders import EngineBuilder, EngineJob, static_input_shapes
from triton_platform.publisher.errors import BuildError
from triton_platform.publisher.onnx_graph import check_shapes, effective_shapes, read_signature
from triton_platform.publisher.progress import Progress
from triton_platform.publisher.spec import ModelSpec, ShapeRange
from triton_platform.publisher.stores import ObjectStore
from triton_platform.publisher.stores.base import sha256_file
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
from triton_platform.release.promotion import Blobs, holds


@dataclass
class RebuildResult:
    """The release this stack serves (the upstream's when nothing was missing) and what was built."""

    release: Release
    rebuilt: list[RebuiltEngine] = field(default_factory=list)
    # (model, compute capability) of the engines a builder actually ran for (not found in the cache).
    built: list[tuple[str, str]] = field(default_factory=list)


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


def _version_files(
    entry: ModelEntry, ccs: Sequence[str], engines: dict[str, EngineEntry], tensorrt: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The version directory (path -> sha256) and the engine file per compute capability.

    The upstream's files as they are (a target already serving this version keeps every byte it
    serves), plus one file per new engine, named as the publisher names them.
    """
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
    return dict(sorted(files.items())), names


@dataclass
class _Inputs:
    """One model's verified local build inputs; the ONNX is read only once an engine must be built."""

    onnx_sha256: str
    calibration_path: Path | None
    onnx_path: Path | None = None
    profile: dict[str, ShapeRange] = field(default_factory=dict)
    static_inputs: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class _Rebuild:
    """One ``rebuild_missing_engines`` run: the release, both buckets, the builder, and what it did."""

    release: Release
    source: ObjectStore
    target: ObjectStore
    builder: EngineBuilder
    timeout_seconds: int
    reads_bucket: bool
    blobs: Blobs
    result: RebuildResult

    @property
    def tensorrt(self) -> str:
        return NGC_RELEASES[self.release.manifest.triton_version].tensorrt

    def model(self, entry: ModelEntry, ccs: Sequence[str]) -> ModelEntry:
        """``entry`` with an engine for each of ``ccs`` (built, or found in the cache) and a config naming all."""
        if entry.onnx_sha256 is None:
            raise BuildError(
                f"release {self.release.digest} records no ONNX for model {entry.name!r}; publish it again upstream",
                model=entry.name,
                key="release.buildMissingEngines",
            )
        calibration = entry.calibration_sha256
        calibration_path = self.blobs.nearest(self.source, self.target, calibration) if calibration else None
        spec: ModelSpec = rebuild_spec(entry, calibration_cache=str(calibration_path) if calibration_path else None)
        inputs = _Inputs(entry.onnx_sha256, calibration_path)
        engines = {e.compute_capability: e for e in entry.engines}
        for cc in ccs:
            engines[cc] = self._engine(entry, spec, inputs, cc)
        files, names = _version_files(entry, ccs, engines, self.tensorrt)
        return entry.model_copy(
            update={
                "files": files,
                "engines": [engines[cc] for cc in sorted(engines)],
                "config_sha256": self._config(entry, names),
            }
        )

    def _engine(self, entry: ModelEntry, spec: ModelSpec, inputs: _Inputs, cc: str) -> EngineEntry:
        """The engine for ``cc`` under its content-addressed key, kept as a blob and recorded as rebuilt."""
        key = _engine_key(entry, spec, self.tensorrt, cc)
        engine_object = fingerprint.engine_object_key(self.target.ref.cache_prefix, entry.name, key, cc)
        if self.target.stat(engine_object) is None:
            self._build(entry, spec, inputs, cc, key, engine_object)
        if self.target.stat(engine_object) is None:
            raise BuildError(
                f"the builder finished but no engine for compute capability {cc} is at {engine_object}",
                model=entry.name,
            )
        local = self.blobs.workdir / f"engine-{key}"
        self.target.download_file(engine_object, local, self.blobs.progress)
        sha = sha256_file(local)
        self.blobs.keep(self.target, local, sha)
        self.result.rebuilt.append(
            RebuiltEngine(
                model=entry.name,
                compute_capability=cc,
                tensorrt_version=self.tensorrt,
                onnx_sha256=inputs.onnx_sha256,
                engine_key=key,
                sha256=sha,
            )
        )
        return EngineEntry(compute_capability=cc, tensorrt_version=self.tensorrt, sha256=sha)

    def _onnx(self, entry: ModelEntry, spec: ModelSpec, inputs: _Inputs) -> Path:
        # Only now is the ONNX needed: a second run finds the engines in the cache and reads nothing.
        if inputs.onnx_path is None:
            inputs.onnx_path = self.blobs.nearest(self.source, self.target, inputs.onnx_sha256)
            signature = read_signature(inputs.onnx_path, model=entry.name)
            check_shapes(signature, spec)
            inputs.profile = effective_shapes(signature, spec)
            inputs.static_inputs = static_input_shapes(signature)
        return inputs.onnx_path

    def _build(
        self, entry: ModelEntry, spec: ModelSpec, inputs: _Inputs, cc: str, key: str, engine_object: str
    ) -> None:
        onnx_path = self._onnx(entry, spec, inputs)
        job = EngineJob.for_model(
            spec,
            onnx_sha256=inputs.onnx_sha256,
            cache_prefix=self.target.ref.cache_prefix,
            compute_capability=cc,
            ngc_release=self.release.manifest.triton_version,
            timeout_seconds=self.timeout_seconds,
            calibration_sha256=entry.calibration_sha256,
            onnx_path=str(onnx_path),
            calibration_path=str(inputs.calibration_path) if inputs.calibration_path else None,
            profile=inputs.profile,
            static_inputs=inputs.static_inputs,
        )
        if job.key != key or job.engine_object != engine_object:
            raise BuildError(f"engine key mismatch for {cc}: {job.key} != {key}", model=entry.name)
        # A Kubernetes Job reads the ONNX from the cache: it must hold exactly the release's bytes
        # (the local builder reads the verified copy at job.onnx_path).
        for obj, sha, path in (
            (job.onnx_object, inputs.onnx_sha256, onnx_path),
            (job.calibration_object, entry.calibration_sha256, inputs.calibration_path),
        ):
            if self.reads_bucket and obj and sha and path is not None and not holds(self.target, obj, sha):
                self.target.upload_file(obj, path, sha256=sha, progress=self.blobs.progress)
        self.builder.build(job, self.target, self.blobs.progress)
        self.result.built.append((entry.name, cc))
        changed = sha256_file(onnx_path) != inputs.onnx_sha256
        if changed or (self.reads_bucket and not holds(self.target, job.onnx_object, inputs.onnx_sha256)):
            raise BuildError(
                f"the ONNX changed while the engine for compute capability {cc} was built; it is not from "
                f"sha256 {inputs.onnx_sha256}: run `pulumi up` again",
                model=entry.name,
            )

    def _config(self, entry: ModelEntry, names: dict[str, str]) -> str:
        """The upstream's config.pbtxt naming every engine, kept as a blob; its sha256."""
        text = self.blobs.nearest(self.source, self.target, entry.config_sha256).read_text(encoding="utf-8")
        path = self.blobs.workdir / f"config-{entry.name}.pbtxt"
        path.write_bytes(config_with_engines(text, entry.name, names).encode("utf-8"))
        sha = sha256_file(path)
        self.blobs.keep(self.target, path, sha)
        return sha


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
    run = _Rebuild(
        release, source, target, builder, timeout_seconds, builder_reads_bucket, Blobs(workdir, progress), result
    )
    models = [run.model(m, lacking[m.name]) if m.name in lacking else m for m in manifest.models]
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
