"""Publishes one model into the bucket Triton reads: what the ModelVersion dynamic provider runs.

resolve the source (local path, s3:// gs:// az:// URI, or https:// URL with its sha256) -> read
the ONNX signature (weights skipped) -> check the spec against it -> [TensorRT: upload the ONNX to
the content-addressed cache, build one engine per compute capability with a builder, fetch it]
-> render config.pbtxt -> publish the version with the atomic protocol of
:mod:`triton_platform.publisher.publish` (files first and verified, config last) -> retire older
versions this resource published and no longer serves.

Each file is read once: its sha256 is known before the upload (the fingerprint the preview
computed, the hash cache, or the digest the download checked), the upload checks it against the
bytes it sends, and bytes that differ are never published (the source changed after the preview).

Plain Python (no Pulumi): the provider's methods stay thin and this is tested on its own.
An interrupted publish leaves a *pending* marker under ``<cache_prefix>/pending/<model>/``; the
next attempt resumes that version (files already uploaded and verified are skipped), so a
failure leaves the previous version serving and no stray version directory behind.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from triton_platform.catalog.versions import DEFAULT_NGC_RELEASE, NGC_RELEASES
from triton_platform.publisher import fingerprint, http_source, pbtxt
from triton_platform.publisher.builders import BuilderRef, EngineBuilder, EngineJob, open_builder, static_input_shapes
from triton_platform.publisher.errors import ModelSourceError, PublisherError, StoreError
from triton_platform.publisher.onnx_graph import GraphSignature, check_shapes, effective_shapes, read_signature
from triton_platform.publisher.progress import Progress, ensure_progress
from triton_platform.publisher.publish import (
    PublishedFile,
    next_version,
    publish_version,
    read_manifest,
    remove_model,
    version_keys,
)
from triton_platform.publisher.sources import SOURCE_URI, local_source, source_fingerprint, uri_store
from triton_platform.publisher.spec import ModelSpec, is_url
from triton_platform.publisher.stores import ObjectStore, StoreRef, open_store
from triton_platform.publisher.stores.transfer import DigestMismatch
from triton_platform.publisher.wire import restore_ints

InstanceKindName = Literal["KIND_GPU", "KIND_CPU"]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CC = re.compile(r"^\d{1,2}\.\d$")
PENDING = "pending"


class PublishRequest(BaseModel):
    """Everything one publish needs, parsed from the dynamic provider's props (floats become ints)."""

    # Built on first use: only the provider host parses requests, the program never does (its import stays cheap).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    spec: ModelSpec
    store: StoreRef
    builder: BuilderRef = Field(default_factory=BuilderRef)
    ngc_release: str = Field(default=DEFAULT_NGC_RELEASE, examples=["25.01"])
    tensorrt_version: str | None = Field(default=None, examples=["10.8.0"])
    compute_capabilities: list[str] = Field(default_factory=list, examples=[["8.0"]])
    source_fingerprint: str = Field(min_length=1)
    base_dir: str = "."
    # Instance kind for models whose spec says instanceKind 'auto'.
    instance_kind: InstanceKindName = "KIND_CPU"
    # Who publishes (``<project>/<stack>/<resource>``): written into pending markers so one
    # stack never resumes, or removes, an attempt another stack has in flight.
    owner: str | None = Field(default=None, examples=["triton-platform/dev/dev-models-resnet50"])

    @model_validator(mode="after")
    def _consistent(self) -> PublishRequest:
        problems: list[str] = []
        for cc in self.compute_capabilities:
            if not _CC.match(cc):
                problems.append(f"compute_capabilities: {cc!r} is not 'major.minor' (valid example: '8.0')")
        if self.spec.format == "tensorrt":
            release = NGC_RELEASES.get(self.ngc_release)
            if release is None:
                problems.append(f"ngc_release {self.ngc_release!r} is not one of {', '.join(sorted(NGC_RELEASES))}")
            elif self.tensorrt_version is not None and self.tensorrt_version != release.tensorrt:
                problems.append(
                    f"tensorrt_version {self.tensorrt_version!r} is not the TensorRT {release.tensorrt} of NGC "
                    f"release {self.ngc_release}; Triton could not load the engine"
                )
            if not self.compute_capabilities:
                problems.append(
                    "format 'tensorrt' needs at least one compute capability to build for (valid example: ['8.0'])"
                )
            if self.spec.instance_kind == "cpu":
                problems.append("format 'tensorrt' runs on GPUs only; set instanceKind 'gpu' or 'auto'")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def model(self) -> str:
        return self.spec.name

    @property
    def repository_path(self) -> str:
        return self.store.served_key(self.spec.name)

    def resolved_instance_kind(self) -> InstanceKindName:
        if self.spec.format == "tensorrt" or self.spec.instance_kind == "gpu":
            return "KIND_GPU"
        if self.spec.instance_kind == "cpu":
            return "KIND_CPU"
        return self.instance_kind


@dataclass
class ModelVersionState:
    """What the resource keeps in its state: the outputs of the ModelVersion dynamic resource."""

    version: int
    files: list[PublishedFile]
    config_sha256: str
    engine_objects: dict[str, str]
    published_versions: list[int]
    repository_path: str
    bytes_uploaded: int
    seconds: float
    # TensorRT: the ONNX the engines were built from and the build options of their keys
    # (fingerprint.build_options), so a release can rebuild an engine for another GPU.
    onnx_sha256: str | None = None
    build_options: dict[str, Any] | None = None

    def to_outputs(self) -> dict[str, Any]:
        """JSON-safe outputs; nothing secret is ever part of them."""
        return {
            "version": self.version,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
            "config_sha256": self.config_sha256,
            "engine_objects": dict(self.engine_objects),
            "published_versions": list(self.published_versions),
            "repository_path": self.repository_path,
            "bytes_uploaded": self.bytes_uploaded,
            "seconds": round(self.seconds, 3),
            "onnx_sha256": self.onnx_sha256,
            "build_options": dict(self.build_options) if self.build_options is not None else None,
        }

    @classmethod
    def from_outputs(cls, outs: Mapping[str, Any]) -> ModelVersionState | None:
        """Parse stored outputs (protobuf Structs: every number is a float); None if never published."""
        if outs.get("version") is None:
            return None
        return cls(
            version=int(outs["version"]),
            files=[PublishedFile(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in (outs.get("files") or [])],
            config_sha256=str(outs.get("config_sha256") or ""),
            engine_objects={str(k): str(v) for k, v in (outs.get("engine_objects") or {}).items()},
            published_versions=sorted({int(v) for v in (outs.get("published_versions") or [])}),
            repository_path=str(outs.get("repository_path") or ""),
            bytes_uploaded=int(outs.get("bytes_uploaded") or 0),
            seconds=float(outs.get("seconds") or 0.0),
            onnx_sha256=str(outs["onnx_sha256"]) if outs.get("onnx_sha256") else None,
            build_options=restore_ints(dict(outs["build_options"])) if outs.get("build_options") else None,
        )


@dataclass
class Prepared:
    """The files of one version directory and how config.pbtxt refers to them."""

    files: dict[str, Path]
    signature: GraphSignature | None
    cc_model_filenames: dict[str, str] | None = None
    default_model_filename: str | None = None
    engine_objects: dict[str, str] = field(default_factory=dict)
    onnx_sha256: str | None = None
    build_options: dict[str, Any] | None = None
    # The sha256 some files must have (their fingerprint, or a verified download's): the upload
    # starts from it and checks it as it reads, so none of them is read twice.
    digests: dict[str, str] = field(default_factory=dict)


# --- sources ---------------------------------------------------------------------------------------


def fetch_source(request: PublishRequest, workdir: Path, progress: Progress) -> Path:
    """The source as a local path: the file/directory itself, or a download of the URI into ``workdir``."""
    spec = request.spec
    if is_url(spec.source):
        return http_source.fetch(spec, progress)
    if SOURCE_URI.match(spec.source) is None:
        path = local_source(spec, request.base_dir)
        if not path.exists():
            raise ModelSourceError(
                f"{str(path)!r} does not exist (relative paths are resolved against {request.base_dir!r})",
                model=spec.name,
                key="models[].source",
                example="models/resnet50.onnx",
            )
        return path
    ref, key = uri_store(spec.source, spec, request.store)
    remote = open_store(ref)
    if spec.format != "python":
        target = workdir / "source" / Path(key).name
        remote.download_file(key, target, progress)
        return target
    root = workdir / "source"
    prefix = key.rstrip("/") + "/"
    objects = remote.list(prefix)
    if not objects:
        raise ModelSourceError(f"{spec.source!r} holds no files", model=spec.name, key="models[].source")
    for obj in objects:
        remote.download_file(obj.key, root / obj.key[len(prefix) :], progress)
    return root


def _fingerprinted(request: PublishRequest) -> str | None:
    """The sha256 the preview computed for a local source file or tree (None for URIs)."""
    spec = request.spec
    if SOURCE_URI.match(spec.source) is not None or is_url(spec.source):
        return None
    return request.source_fingerprint if _SHA256.match(request.source_fingerprint) else None


def _changed_after_preview(spec: ModelSpec) -> ModelSourceError:
    return ModelSourceError(
        f"{spec.source!r} changed after the preview computed its fingerprint; run the update again",
        model=spec.name,
        key="models[].source",
    )


def _verify_fingerprint(request: PublishRequest, source: Path) -> str | None:
    """Refuse a local source whose bytes are not the ones the preview fingerprinted; the verified sha256.

    Through the hash cache: a file the preview hashed is not read here. (An ONNX model's file is
    not checked here at all: its upload checks the bytes it sends against the fingerprint.)
    """
    expected = _fingerprinted(request)
    if expected is None:
        return None
    spec = request.spec
    actual = (
        fingerprint.tree_sha256(source, model=spec.name)
        if spec.format == "python"
        else fingerprint.file_sha256(source, model=spec.name)
    )
    if actual != expected:
        raise _changed_after_preview(spec)
    return actual


# --- preparing a version directory -------------------------------------------------------------------


def _python_files(request: PublishRequest, source: Path) -> Prepared:
    spec = request.spec
    if not source.is_dir() or not (source / "model.py").is_file():
        raise ModelSourceError(
            f"{spec.source!r} is not a directory with model.py (format 'python')",
            model=spec.name,
            key="models[].source",
            example="models/preprocess/",
        )
    files = dict(fingerprint.tree_files(source))
    signature_file = source / (spec.signature or "model.onnx")
    signature: GraphSignature | None = None
    if signature_file.is_file():
        signature = read_signature(signature_file, model=spec.name)
        check_shapes(signature, spec)
    elif spec.signature:
        raise ModelSourceError(
            f"signature file {spec.signature!r} is not in {spec.source!r}",
            model=spec.name,
            key="models[].signature",
            example="model.onnx",
        )
    return Prepared(files=files, signature=signature)


@dataclass(frozen=True)
class _EngineInputs:
    """The local ONNX (and INT8 calibration cache) engines are built from, with their sha256."""

    onnx_path: Path
    onnx_sha256: str
    calibration_path: Path | None = None
    calibration_sha256: str | None = None


def _engine_inputs(
    request: PublishRequest, onnx_path: Path, workdir: Path, progress: Progress, onnx_sha: str | None = None
) -> _EngineInputs:
    spec = request.spec
    onnx_sha = onnx_sha or fingerprint.file_sha256(onnx_path, model=spec.name)
    if not spec.calibration_cache:
        return _EngineInputs(onnx_path, onnx_sha)
    # The calibration cache is fetched like a source (a local path or a URI), as a plain file.
    calib_spec = spec.model_copy(update={"source": spec.calibration_cache, "format": "onnx", "precision": "fp32"})
    calib_request = request.model_copy(update={"spec": calib_spec})
    calibration_path = fetch_source(calib_request, workdir / "calibration", progress)
    return _EngineInputs(
        onnx_path, onnx_sha, calibration_path, fingerprint.file_sha256(calibration_path, model=spec.name)
    )


def _stage_inputs(request: PublishRequest, inputs: _EngineInputs, store: ObjectStore, progress: Progress) -> None:
    """Put the inputs into the bucket once, content-addressed: the Kubernetes Job fetches them from there."""
    cache_prefix = request.store.cache_prefix
    key = fingerprint.onnx_object_key(cache_prefix, inputs.onnx_sha256)
    _ensure_object(store, key, inputs.onnx_path, inputs.onnx_sha256, progress)
    if inputs.calibration_path is not None and inputs.calibration_sha256 is not None:
        key = fingerprint.calibration_object_key(cache_prefix, inputs.calibration_sha256)
        _ensure_object(store, key, inputs.calibration_path, inputs.calibration_sha256, progress)


def _engine_job(request: PublishRequest, inputs: _EngineInputs, signature: GraphSignature, cc: str) -> EngineJob:
    return EngineJob.for_model(
        request.spec,
        onnx_sha256=inputs.onnx_sha256,
        cache_prefix=request.store.cache_prefix,
        compute_capability=cc,
        ngc_release=request.ngc_release,
        timeout_seconds=request.builder.timeout_seconds,
        calibration_sha256=inputs.calibration_sha256,
        onnx_path=str(inputs.onnx_path),
        calibration_path=str(inputs.calibration_path) if inputs.calibration_path else None,
        # Inputs whose only dynamic dim is the batch get a 1..maxBatchSize profile.
        profile=effective_shapes(signature, request.spec),
        static_inputs=static_input_shapes(signature),
    )


def _engine_files(
    request: PublishRequest,
    onnx_path: Path,
    signature: GraphSignature,
    store: ObjectStore,
    builder: EngineBuilder,
    workdir: Path,
    progress: Progress,
    onnx_sha: str | None = None,
) -> Prepared:
    """One engine per compute capability, built (or found in the cache) and fetched into ``workdir``."""
    inputs = _engine_inputs(request, onnx_path, workdir, progress, onnx_sha)
    if request.builder.kind == "kubernetes":
        _stage_inputs(request, inputs, store, progress)
    ccs = request.compute_capabilities
    single = len(ccs) == 1
    files: dict[str, Path] = {}
    digests: dict[str, str] = {}
    engine_objects: dict[str, str] = {}
    for cc in ccs:
        job = _engine_job(request, inputs, signature, cc)
        builder.build(job, store, progress)
        name = pbtxt.DEFAULT_MODEL_FILENAMES["tensorrt"] if single else fingerprint.engine_filename(cc)
        files[name] = workdir / "engines" / name
        engine = store.download_file(job.engine_object, files[name], progress)
        if engine.sha256:
            digests[name] = engine.sha256  # the download checked the bytes against it
        engine_objects[cc] = job.engine_object
    prepared = Prepared(
        files=files,
        signature=signature,
        digests=digests,
        engine_objects=engine_objects,
        onnx_sha256=inputs.onnx_sha256,
        build_options=fingerprint.build_options(request.spec, calibration_sha256=inputs.calibration_sha256),
    )
    if single:
        return prepared
    prepared.cc_model_filenames = {cc: fingerprint.engine_filename(cc) for cc in ccs}
    # A GPU whose architecture has no engine gets the first one (it fails to load, loudly).
    prepared.default_model_filename = fingerprint.engine_filename(ccs[0])
    return prepared


def _ensure_object(store: ObjectStore, key: str, path: Path, sha256: str, progress: Progress) -> None:
    info = store.stat(key)
    if info is not None and info.size == path.stat().st_size and info.sha256 in (None, sha256):
        progress.note(f"{key} already in the bucket, skipping upload")
        return
    store.upload_file(key, path, sha256=sha256, progress=progress)


def prepare(
    request: PublishRequest,
    store: ObjectStore,
    workdir: Path,
    progress: Progress,
    *,
    builder: EngineBuilder | None = None,
) -> Prepared:
    """Resolve the source, check the spec against the graph and produce the version's files."""
    spec = request.spec
    source = fetch_source(request, workdir, progress)
    if spec.format == "python":
        _verify_fingerprint(request, source)
        return _python_files(request, source)
    signature = read_signature(source, model=spec.name)
    check_shapes(signature, spec)
    if spec.format == "onnx":
        # Not hashed here: the upload checks the bytes it reads against the fingerprint (or the download's digest).
        claim = spec.sha256 if is_url(spec.source) else _fingerprinted(request)
        return Prepared(
            files={"model.onnx": source}, signature=signature, digests={"model.onnx": claim} if claim else {}
        )
    onnx_sha = spec.sha256 if is_url(spec.source) else _verify_fingerprint(request, source)
    builder = builder or open_builder(request.builder)
    return _engine_files(request, source, signature, store, builder, workdir, progress, onnx_sha)


# --- versions --------------------------------------------------------------------------------------


def served_after(spec: ModelSpec, published: Sequence[int], new_version: int) -> list[int]:
    """The versions config.pbtxt names once ``new_version`` is out: the latest N, or all."""
    versions = sorted({*map(int, published), int(new_version)})
    if spec.version_policy.all:
        return versions
    keep = spec.version_policy.latest or 1
    return versions[-keep:]


def _pending_key(ref: StoreRef, model: str, version: int) -> str:
    return ref.cache_key(PENDING, model, f"{version}.json")


def _pending_versions(store: ObjectStore, model: str) -> list[int]:
    prefix = store.ref.cache_key(PENDING, model) + "/"
    out: list[int] = []
    for info in store.list(prefix):
        stem = info.key[len(prefix) :].removesuffix(".json")
        if stem.isdigit():
            out.append(int(stem))
    return sorted(out)


def _pending_owner(store: ObjectStore, model: str, version: int) -> str | None:
    """The owner a pending marker names; None for markers of older providers (which named none)."""
    raw = store.read_bytes(_pending_key(store.ref, model, version))
    try:
        data = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    owner = data.get("owner") if isinstance(data, dict) else None
    return str(owner) if owner else None


def _split_pending(store: ObjectStore, model: str, owner: str | None) -> tuple[list[int], list[int]]:
    """Pending attempts as (ours, someone else's in flight).

    A marker without an owner predates owners and is treated as ours, as it always was; a
    marker naming another owner is another stack's publish, possibly still running.
    """
    ours: list[int] = []
    foreign: list[int] = []
    for version in _pending_versions(store, model):
        marked = _pending_owner(store, model, version)
        (ours if marked is None or marked == owner else foreign).append(version)
    return ours, foreign


def _configured_versions(store: ObjectStore, model: str) -> list[int]:
    """The versions the model's current config.pbtxt serves ([] when there is none)."""
    data = store.read_bytes(store.ref.served_key(model, "config.pbtxt"))
    if data is None:
        return []
    try:
        config = pbtxt.parse_config(data.decode("utf-8", errors="replace"), model=model)
    except PublisherError:
        return []
    return sorted(int(v) for v in config.version_policy.specific.versions)


def _version_dir_keys(store: ObjectStore, model: str, version: int) -> list[str]:
    return [o.key for o in store.list(store.ref.served_key(model, str(version)) + "/")]


def choose_version(
    store: ObjectStore, model: str, published: Sequence[int], *, owner: str | None = None
) -> tuple[int, list[int]]:
    """The version to publish, and the versions this resource owns afterwards.

    An interrupted attempt left a pending marker: its version is reused (resumed) when it is
    the newest directory; if a crash hit after its config was written, it is adopted as
    published; older stale attempts are removed (they are ours: we wrote the marker).
    Another owner's pending attempts are left alone, and their numbers are never taken.
    """
    version, owned, _fresh = _choose_version(store, model, published, owner=owner)
    return version, owned


def _choose_version(
    store: ObjectStore, model: str, published: Sequence[int], *, owner: str | None = None
) -> tuple[int, list[int], bool]:
    """``choose_version``, and whether the version is fresh: a number above every directory just listed.

    A fresh version's directory is known to be empty (``publish_version(fresh=True)`` lists it
    no more); a resumed one may hold an interrupted attempt's files.
    """
    owned = sorted({int(v) for v in published})
    pending, foreign = _split_pending(store, model, owner)
    candidate = next_version(store, model, [*owned, *foreign])
    if not pending:
        return candidate, owned, True
    configured = set(_configured_versions(store, model))
    resume: int | None = None
    for version in pending:
        if version in owned:
            store.delete([_pending_key(store.ref, model, version)])
        elif version in configured:
            owned = sorted({*owned, version})
            store.delete([_pending_key(store.ref, model, version)])
        elif version == candidate - 1:
            resume = version
        else:
            store.delete([*_version_dir_keys(store, model, version), _pending_key(store.ref, model, version)])
    if resume is not None:
        return resume, owned, False
    return next_version(store, model, [*owned, *foreign]), owned, True


def _version_files(store: ObjectStore, model: str, version: int) -> list[str]:
    """Relative paths of a version we published: from its manifest, else its directory listing."""
    manifest = read_manifest(store, model, version)
    if manifest is not None:
        return [str(f["path"]) for f in manifest.get("files", [])]
    prefix = store.ref.served_key(model, str(version)) + "/"
    return [o.key[len(prefix) :] for o in store.list(prefix)]


# --- the operations the provider calls -------------------------------------------------------------


def _mark_pending(store: ObjectStore, request: PublishRequest, version: int) -> None:
    """The marker that lets an interrupted attempt be resumed (or removed) by its owner only."""
    marker = {"model": request.model, "version": version, "started": time.time(), "owner": request.owner}
    key = _pending_key(request.store, request.model, version)
    store.upload_bytes(key, json.dumps(marker).encode(), content_type="application/json")


def _config_renderer(request: PublishRequest, prepared: Prepared) -> Callable[[list[int]], str]:
    """config.pbtxt for a list of served versions: what publish_version writes last."""
    kind = request.resolved_instance_kind()

    def render(versions: list[int]) -> str:
        return pbtxt.render_config(
            request.spec,
            prepared.signature,
            versions=versions,
            instance_kind=kind,
            cc_model_filenames=prepared.cc_model_filenames,
            default_model_filename=prepared.default_model_filename,
        )

    return render


def _retired_keys(
    store: ObjectStore, model: str, owned: Sequence[int], served: Sequence[int], previous: ModelVersionState | None
) -> list[str]:
    """The keys of the versions this resource owns that the new config no longer serves.

    The files of the version the state names come from the state; older ones from their manifests.
    """
    keys: list[str] = []
    for old in owned:
        if old in served:
            continue
        if previous is not None and old == previous.version and previous.files:
            names: list[str] = [f.path for f in previous.files]
        else:
            names = _version_files(store, model, old)
        keys.extend(version_keys(store, model, old, names))
    return keys


def _prepare_uses_stores(spec: ModelSpec) -> bool:
    """Whether ``prepare`` downloads or builds (URI and URL sources, TensorRT), not just reads a local file."""
    return spec.format == "tensorrt" or is_url(spec.source) or SOURCE_URI.match(spec.source) is not None


def publish(
    request: PublishRequest,
    *,
    previous: ModelVersionState | None = None,
    progress: Progress | None = None,
    builder: EngineBuilder | None = None,
    store: ObjectStore | None = None,
) -> ModelVersionState:
    """Publish a new version of ``request.spec`` and retire the ones the policy no longer serves."""
    progress = ensure_progress(progress)
    started = time.perf_counter()
    model = request.model
    store = store or open_store(request.store)
    if _prepare_uses_stores(request.spec):
        store.check()  # before downloads and engine builds; otherwise choose_version's listings check the bucket
    with tempfile.TemporaryDirectory(prefix=f"triton-publish-{model}-") as tmp:
        prepared = prepare(request, store, Path(tmp), progress, builder=builder)
        version, owned, fresh = _choose_version(
            store, model, previous.published_versions if previous else [], owner=request.owner
        )
        served = served_after(request.spec, owned, version)
        _mark_pending(store, request, version)
        try:
            result = publish_version(
                store,
                model=model,
                version=version,
                files=prepared.files,
                render_config=_config_renderer(request, prepared),
                served_versions=served,
                progress=progress,
                digests=prepared.digests,
                fresh=fresh,
            )
        except DigestMismatch:
            if _fingerprinted(request) is None:
                raise
            raise _changed_after_preview(request.spec) from None
    # Only now that the config serves the new version: the marker goes, and with it (one request)
    # what the policy retired.
    store.delete([_pending_key(request.store, model, version), *_retired_keys(store, model, owned, served, previous)])
    seconds = time.perf_counter() - started
    uploaded = int(result.bytes_uploaded)
    progress.note(
        f"{model}: published version {version} (serving {served}) to {request.store.describe()}: "
        f"{uploaded / 1e6:.1f} MB uploaded in {seconds:.2f} s ({uploaded / 1e6 / seconds if seconds else 0:.1f} MB/s)"
    )
    return ModelVersionState(
        version=version,
        files=[PublishedFile(f.path, int(f.size), f.sha256) for f in result.files],
        config_sha256=result.config_sha256,
        engine_objects=prepared.engine_objects,
        published_versions=served,
        repository_path=request.repository_path,
        bytes_uploaded=uploaded,
        seconds=seconds,
        onnx_sha256=prepared.onnx_sha256,
        build_options=prepared.build_options,
    )


def remove(
    store_ref: StoreRef,
    model: str,
    state: ModelVersionState | None,
    *,
    owner: str | None = None,
    store: ObjectStore | None = None,
) -> None:
    """Remove exactly what this resource published (and its interrupted attempts); nothing else.

    Other models under the prefix, versions other owners published or are publishing, the
    cache (engines and ONNX are content-addressed and may serve other stacks) and a
    config.pbtxt someone rewrote all stay.
    """
    store = store or open_store(store_ref)
    try:
        store.check()
    except StoreError as exc:
        if "does not exist" in exc.detail:
            return  # the bucket is gone, and with it everything we published
        raise
    configured = set(_configured_versions(store, model))
    ours, _foreign = _split_pending(store, model, owner)
    for version in ours:
        if state is not None and version in state.published_versions:
            store.delete([_pending_key(store_ref, model, version)])
            continue
        keys = [] if version in configured else _version_dir_keys(store, model, version)
        store.delete([*keys, _pending_key(store_ref, model, version)])
    if state is None:
        return
    owned: dict[int, list[str]] = {}
    for version in state.published_versions:
        if version == state.version and state.files:
            owned[version] = [f.path for f in state.files]
        else:
            owned[version] = _version_files(store, model, version)
    remove_model(store, model, owned, state.config_sha256)


def parse_request(props: Mapping[str, Any]) -> PublishRequest:
    """Typed request from dynamic-provider props (camelCase spec; ints that arrived as floats)."""
    # Props also hold the provider's version and the outputs; the request takes its own fields.
    data = {k: restore_ints(props[k]) for k in PublishRequest.model_fields if props.get(k) is not None}
    return PublishRequest.model_validate(data)


__all__ = [
    "ModelVersionState",
    "Prepared",
    "PublishRequest",
    "PublishedFile",
    "choose_version",
    "parse_request",
    "prepare",
    "publish",
    "remove",
    "served_after",
    "source_fingerprint",
]
