"""Releases: the immutable, content-addressed set of what a stack serves, and the checks on promoting one.

A release manifest names the Triton (NGC) release and, per model, the published version, the
sha256 of its source, of its config.pbtxt and of every file in its version directory, and for
TensorRT models the engine per GPU architecture plus what rebuilding one needs: the ONNX's
sha256 (the ONNX is kept with the release as the blob ``releases/blobs/<sha256>``) and the build
options exactly as the engine key (fingerprint.build_options) uses them. Its canonical JSON (sorted keys, compact
separators, ASCII, no timestamps) is hashed into the digest ``sha256:<hex>``: the same models
give the same digest on every machine, any changed byte a new one.

Plain Python (no Pulumi): the stack builds the manifest from its ModelVersion outputs, the
promoting stack checks the upstream's against its own configuration before registering anything.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from triton_platform.publisher import fingerprint
from triton_platform.publisher.spec import NAME_PATTERN, ModelSpec
from triton_platform.publisher.wire import restore_ints

RELEASE_SCHEMA = 1
# A bucket keeps the artifacts of its last KEEP_RELEASES releases (so the previous one survives the
# next promotion, and rolling back is promoting one of them again).
KEEP_RELEASES = 5
DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
_DIGEST = re.compile(DIGEST_PATTERN)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CC = re.compile(r"^\d{1,2}\.\d$")
# The file a single-architecture engine has in its version directory, and the per-architecture
# names Triton's cc_model_filenames picks from (triton_platform.publisher.pbtxt / fingerprint).
SINGLE_ENGINE_FILENAME = "model.plan"


class ReleaseError(ValueError):
    """A release that cannot be built, parsed or promoted; the message says why and what to do."""


class _Model(BaseModel):
    # defer_build: validators built on first use; the Pulumi program imports this module for its
    # helpers and validates a manifest only when a release is pinned or promoted.
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True, defer_build=True
    )


def _sha(value: str) -> str:
    if not _SHA256.match(value):
        raise ValueError(f"{value!r} is not a lowercase sha256 hex digest")
    return value


class EngineEntry(_Model):
    """One TensorRT engine of a model: the GPU architecture and TensorRT it runs on, and its bytes."""

    compute_capability: str = Field(examples=["8.0"])
    tensorrt_version: str = Field(min_length=1, examples=["10.8.0"])
    sha256: str

    @field_validator("compute_capability")
    @classmethod
    def _cc(cls, value: str) -> str:
        if not _CC.match(value):
            raise ValueError(f"computeCapability {value!r} is not 'major.minor' (valid example: '8.0')")
        return value

    @field_validator("sha256")
    @classmethod
    def _sha256(cls, value: str) -> str:
        return _sha(value)


class ModelEntry(_Model):
    """One model of a release, as published: its version number and the sha256 of everything in it."""

    name: str = Field(pattern=NAME_PATTERN)
    format: Literal["tensorrt", "onnx", "python"]
    version: int = Field(ge=1)
    source_sha256: str
    config_sha256: str
    # Path inside the version directory -> sha256 of its bytes.
    files: dict[str, str] = Field(min_length=1)
    engines: list[EngineEntry] = Field(default=[])
    # TensorRT only, what a promoting stack needs to build an engine for another GPU architecture
    # (release.buildMissingEngines): the sha256 of the ONNX the engines were built from (kept as a
    # release blob, so promotion copies it) and the build options exactly as the engine key uses them
    # (triton_platform.publisher.fingerprint.build_options: snake_case keys, kept verbatim; an option
    # that is null, e.g. no calibration cache, is left out).
    onnx_sha256: str | None = None
    build_options: dict[str, Any] | None = None

    @field_validator("source_sha256", "config_sha256")
    @classmethod
    def _shas(cls, value: str) -> str:
        return _sha(value)

    @field_validator("onnx_sha256")
    @classmethod
    def _onnx(cls, value: str | None) -> str | None:
        return None if value is None else _sha(value)

    @field_validator("build_options")
    @classmethod
    def _options(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # Props and stack outputs cross the wire as protobuf Structs: 4 arrives as 4.0, and a key whose
        # value is null does not arrive at all. So the manifest keeps ints, and only the non-null options.
        return None if value is None else _non_null(restore_ints(value))

    @property
    def calibration_sha256(self) -> str | None:
        """The INT8 calibration cache the engines were built with (a release blob too), if any."""
        value = (self.build_options or {}).get("calibration_cache_sha256")
        return str(value) if value else None

    def rebuild_inputs(self) -> set[str]:
        """The sha256 of the blobs a rebuild reads: the ONNX and, for INT8, the calibration cache."""
        return {s for s in (self.onnx_sha256, self.calibration_sha256) if s}

    @field_validator("files")
    @classmethod
    def _files(cls, value: dict[str, str]) -> dict[str, str]:
        for path, sha in value.items():
            if not path or path.startswith("/") or ".." in path.split("/"):
                raise ValueError(f"file path {path!r} must be relative, without '..'")
            _sha(sha)
        return dict(sorted(value.items()))

    @model_validator(mode="after")
    def _engines(self) -> ModelEntry:
        if self.format != "tensorrt" and self.engines:
            raise ValueError(f"model {self.name!r}: only format 'tensorrt' has engines")
        if self.format == "tensorrt":
            if not self.engines:
                raise ValueError(f"model {self.name!r}: format 'tensorrt' needs at least one engine")
            ccs = [e.compute_capability for e in self.engines]
            if len(set(ccs)) != len(ccs):
                raise ValueError(f"model {self.name!r}: two engines for one compute capability {ccs}")
            shas = set(self.files.values())
            for engine in self.engines:
                if engine.sha256 not in shas:
                    raise ValueError(
                        f"model {self.name!r}: engine for {engine.compute_capability} is not one of its files"
                    )
        if (self.onnx_sha256 is None) != (self.build_options is None):
            raise ValueError(f"model {self.name!r}: onnxSha256 and buildOptions go together")
        if self.onnx_sha256 is not None:
            if self.format != "tensorrt":
                raise ValueError(f"model {self.name!r}: only format 'tensorrt' records onnxSha256/buildOptions")
            rebuild_spec(self)  # the options must be exactly the ones an engine key is taken over
            calibration = self.calibration_sha256
            if calibration is not None:
                _sha(calibration)
        return self


class RebuiltEngine(_Model):
    """An engine the promoting stack built itself from the release's ONNX (release.buildMissingEngines)."""

    model: str = Field(pattern=NAME_PATTERN)
    compute_capability: str
    tensorrt_version: str
    # The ONNX it was built from (the model's onnxSha256) and its content-addressed engine key
    # (fingerprint.engine_key over that ONNX, the model's buildOptions, TensorRT and compute capability).
    onnx_sha256: str
    engine_key: str
    sha256: str

    @field_validator("onnx_sha256", "engine_key", "sha256")
    @classmethod
    def _shas(cls, value: str) -> str:
        return _sha(value)


class ReleaseManifest(_Model):
    """What a stack serves: the Triton release and every model, byte for byte."""

    schema_version: int = Field(default=RELEASE_SCHEMA, alias="schema")
    triton_version: str = Field(pattern=r"^\d{2}\.\d{2}$", examples=["25.01"])
    models: list[ModelEntry] = Field(min_length=1)
    # Only when a promotion rebuilt engines: which, from which ONNX, and the digest of the release
    # they were added to (the upstream's). The digest of this manifest then differs from it.
    rebuilt_engines: list[RebuiltEngine] = Field(default=[])
    rebuilt_from: str | None = Field(default=None, pattern=DIGEST_PATTERN)

    @field_validator("models")
    @classmethod
    def _sorted(cls, value: list[ModelEntry]) -> list[ModelEntry]:
        names = [m.name for m in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate model names {duplicates}")
        return sorted(value, key=lambda m: m.name)

    @model_validator(mode="after")
    def _rebuilt(self) -> ReleaseManifest:
        if bool(self.rebuilt_engines) != (self.rebuilt_from is not None):
            raise ValueError("rebuiltEngines and rebuiltFrom go together")
        models = {m.name: m for m in self.models}
        for r in self.rebuilt_engines:
            m = models.get(r.model)
            served = {(e.compute_capability, e.tensorrt_version, e.sha256) for e in (m.engines if m else [])}
            if m is None or (r.compute_capability, r.tensorrt_version, r.sha256) not in served:
                raise ValueError(f"rebuilt engine {r.compute_capability} of {r.model!r} is not one of its engines")
            if r.onnx_sha256 != m.onnx_sha256:
                raise ValueError(f"rebuilt engine {r.compute_capability} of {r.model!r} is not from its ONNX")
        return self

    def to_json(self) -> dict[str, Any]:
        """The manifest as a JSON object (camelCase keys); empty or absent optional fields are left out.

        Leaving them out keeps the digest of a release that has none of them what it always was.
        """
        data = self.model_dump(by_alias=True, mode="json")
        if not data["rebuiltEngines"]:
            data.pop("rebuiltEngines")
        if data["rebuiltFrom"] is None:
            data.pop("rebuiltFrom")
        for model in data["models"]:
            if not model["engines"]:
                model.pop("engines")
            for key in ("onnxSha256", "buildOptions"):
                if model[key] is None:
                    model.pop(key)
        return data

    def canonical(self) -> bytes:
        """The canonical bytes the digest is taken over (and that the bucket stores)."""
        return canonical_json(self.to_json()).encode("ascii")

    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.canonical()).hexdigest()

    def model(self, name: str) -> ModelEntry:
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(name)

    def artifacts(self) -> set[str]:
        """The sha256 of every object the release needs: every file of every model (engines are files),
        and what rebuilding an engine reads (the ONNX, an INT8 calibration cache)."""
        return {sha for m in self.models for sha in (*m.files.values(), *m.rebuild_inputs())}


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, compact separators and ASCII only: one text per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def digest_hex(digest: str) -> str:
    """The hex part of ``sha256:<hex>``; ReleaseError otherwise."""
    if not _DIGEST.match(digest):
        raise ReleaseError(f"{digest!r} is not a release digest (valid example: 'sha256:{'0' * 64}')")
    return digest.removeprefix("sha256:")


class Release(BaseModel):
    """A stack's ``release`` output: the digest and the manifest it is the digest of.

    ``store`` is where the publishing stack keeps the release's artifacts (a StoreRef dict,
    never credentials): what a promoting stack copies from.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    digest: str = Field(pattern=DIGEST_PATTERN)
    manifest: ReleaseManifest
    store: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Release:
        actual = self.manifest.digest()
        if actual != self.digest:
            raise ValueError(f"digest {self.digest} is not the digest of its manifest ({actual}); it was altered")
        return self

    @classmethod
    def of(cls, manifest: ReleaseManifest, store: Mapping[str, Any] | None = None) -> Release:
        return cls(digest=manifest.digest(), manifest=manifest, store=dict(store) if store is not None else None)

    @classmethod
    def parse(cls, value: Any, *, where: str) -> Release:
        """A ``release`` output read from ``where`` (numbers may arrive as floats); ReleaseError if bad."""
        if not isinstance(value, Mapping):
            raise ReleaseError(f"{where} exports no `release` output (a stack with `models` exports one)")
        try:
            return cls.model_validate(restore_ints(value))
        except ValidationError as err:
            first = err.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise ReleaseError(
                f"{where}: its `release` output is not a valid release ({loc}: {first['msg']})"
            ) from None

    def to_output(self) -> dict[str, Any]:
        """The stack output: ``{"digest", "manifest"}`` (+ ``store``)."""
        out: dict[str, Any] = {"digest": self.digest, "manifest": self.manifest.to_json()}
        if self.store is not None:
            out["store"] = dict(self.store)
        return out


def _non_null(options: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): v for k, v in options.items() if v is not None}


# --- building a manifest from what ModelVersion published ---------------------------------------------


def engine_file(compute_capability: str, capabilities: Sequence[str]) -> str:
    """The file an engine has in its version directory: ``model.plan`` alone, ``model.sm80.plan`` among several.

    The same rule as pipeline._engine_files (Triton picks among several with cc_model_filenames).
    """
    return SINGLE_ENGINE_FILENAME if len(capabilities) == 1 else fingerprint.engine_filename(compute_capability)


def model_entry(published: Mapping[str, Any]) -> ModelEntry:
    """One ModelEntry from a ModelVersion's outputs (its props: spec, version, files, engine_objects...)."""
    props = restore_ints(published)
    spec = props["spec"]
    name, fmt = str(spec["name"]), str(spec["format"])
    files = {str(f["path"]): str(f["sha256"]) for f in props.get("files") or []}
    engines: list[EngineEntry] = []
    if fmt == "tensorrt":
        ccs = sorted(str(cc) for cc in (props.get("engine_objects") or {}))
        trt = str(props.get("tensorrt_version") or "")
        for cc in ccs:
            filename = engine_file(cc, ccs)
            if filename not in files:
                raise ReleaseError(f"model {name!r}: no {filename!r} among its published files {sorted(files)}")
            engines.append(EngineEntry(compute_capability=cc, tensorrt_version=trt, sha256=files[filename]))
    # What a rebuild needs (ModelVersion outputs of the publisher since it records them; older ones have none).
    onnx_sha = props.get("onnx_sha256") if fmt == "tensorrt" else None
    options = props.get("build_options") if onnx_sha else None
    return ModelEntry(
        name=name,
        format=fmt,
        version=int(props["version"]),
        source_sha256=str(props["source_fingerprint"]),
        config_sha256=str(props["config_sha256"]),
        files=files,
        engines=engines,
        onnx_sha256=str(onnx_sha) if onnx_sha and options else None,
        build_options=dict(options) if onnx_sha and options else None,
    )


def rebuild_spec(entry: ModelEntry, *, calibration_cache: str | None = None) -> ModelSpec:
    """The ModelSpec an engine of ``entry`` is rebuilt with: exactly its recorded build options.

    Only the fields fingerprint.build_options reads are set (the rest never change an engine);
    ValueError unless build_options of the result is exactly the recorded one, so the engine key
    of a rebuilt engine is the one the publishing stack would have used for that architecture.
    ``calibration_cache`` is the local path of the INT8 calibration blob when building.
    """
    if entry.onnx_sha256 is None or entry.build_options is None:
        raise ReleaseError(f"model {entry.name!r} records no ONNX and build options to rebuild from")
    options = entry.build_options
    calibration = entry.calibration_sha256
    try:
        spec = ModelSpec(
            name=entry.name,
            # Where the ONNX is kept: the release blob of its sha256 (promotion.blob_key).
            source=f"releases/blobs/{entry.onnx_sha256}",
            format="tensorrt",
            precision=options["precision"],
            max_batch_size=options["max_batch_size"],
            shapes=options["shapes"],
            workspace_mb=options["workspace_mb"],
            hardware_compatibility=options["hardware_compatibility"],
            calibration_cache=(calibration_cache or f"releases/blobs/{calibration}") if calibration else None,
        )
    except (KeyError, ValidationError) as err:
        raise ValueError(
            f"model {entry.name!r}: buildOptions {options} are not an engine's build options ({err})"
        ) from None
    if _non_null(fingerprint.build_options(spec, calibration_sha256=calibration)) != options:
        raise ValueError(f"model {entry.name!r}: buildOptions {options} are not exactly an engine's build options")
    return spec


def manifest_from_published(triton_version: str, published: Sequence[Mapping[str, Any]]) -> ReleaseManifest:
    """The release manifest of a stack from its ModelVersions' outputs."""
    return ReleaseManifest(triton_version=triton_version, models=[model_entry(p) for p in published])


# --- what a promoting stack checks before it registers anything --------------------------------------


def missing_engines(
    manifest: ReleaseManifest, compute_capabilities: Sequence[str], tensorrt_version: str
) -> dict[str, list[str]]:
    """Per TensorRT model, the compute capabilities (of ``compute_capabilities``) it has no engine for."""
    missing: dict[str, list[str]] = {}
    for m in manifest.models:
        if m.format != "tensorrt":
            continue
        have = {e.compute_capability for e in m.engines if e.tensorrt_version == tensorrt_version}
        lacking = [cc for cc in compute_capabilities if cc not in have]
        if lacking:
            missing[m.name] = lacking
    return missing


def kept_in_history(history: Any, keep: int = KEEP_RELEASES) -> list[str]:
    """The digests a ``releaseHistory`` output says are still kept: the last ``keep`` distinct ones."""
    out: list[str] = []
    for entry in history if isinstance(history, list | tuple) else []:
        digest = entry.get("digest") if isinstance(entry, Mapping) else None
        if isinstance(digest, str) and digest not in out:
            out.append(digest)
        if len(out) == keep:
            break
    return out


def pinned_release(
    exported: Release,
    history: Any,
    pinned_digest: str,
    fetch: Callable[[str], bytes | None],
    *,
    keep: int = KEEP_RELEASES,
) -> Release | None:
    """The release a stack pinning ``pinned_digest`` promotes: the exported one, or an older one the upstream keeps.

    An older digest (a rollback) must be among the upstream's kept releases (its ``releaseHistory``);
    ``fetch(digest)`` returns the canonical manifest the upstream's bucket keeps for it, which must
    hash to the digest. None when the upstream neither exports nor keeps the pinned digest.
    """
    if exported.digest == pinned_digest:
        return exported
    if pinned_digest not in kept_in_history(history, keep):
        return None
    raw = fetch(pinned_digest)
    if raw is None or "sha256:" + hashlib.sha256(raw).hexdigest() != pinned_digest:
        return None
    try:
        manifest = ReleaseManifest.model_validate(json.loads(raw))
    except (ValueError, ValidationError):
        return None
    return Release(digest=pinned_digest, manifest=manifest, store=exported.store)


def release_problems(
    release: Release,
    *,
    from_stack: str,
    pinned_digest: str,
    triton_version: str,
    compute_capabilities: Sequence[str],
    tensorrt_version: str,
    build_missing_engines: bool,
) -> list[tuple[str, str, str]]:
    """(config key, why, example) for every reason this stack cannot serve the upstream release.

    The digest comes first: a release other than the pinned one is never looked at further.
    """
    if release.digest != pinned_digest:
        return [
            (
                "release.digest",
                f"the pinned digest {pinned_digest} is not the release {from_stack} exports ({release.digest}) "
                "nor one it still keeps; promote again (python -m triton_platform.release) or pin the digest the "
                "upstream exports",
                repr(release.digest),
            )
        ]
    if release.manifest.triton_version != triton_version:
        return [
            (
                "triton.version",
                f"{triton_version!r} is not the Triton release {release.manifest.triton_version!r} that release "
                f"{release.digest} of {from_stack} was tested with; engines and configs are tied to it",
                repr(release.manifest.triton_version),
            )
        ]
    return _engine_problems(
        release,
        from_stack,
        missing_engines(release.manifest, compute_capabilities, tensorrt_version),
        tensorrt_version=tensorrt_version,
        build_missing_engines=build_missing_engines,
    )


def _engine_problems(
    release: Release,
    from_stack: str,
    missing: Mapping[str, list[str]],
    *,
    tensorrt_version: str,
    build_missing_engines: bool,
) -> list[tuple[str, str, str]]:
    """The engines the release lacks for this stack's GPUs: refused, or (buildMissingEngines) refused
    only where the release records no ONNX to build them from."""
    example = "{fromStack: acme/triton-platform/staging, digest: 'sha256:...', buildMissingEngines: true}"
    problems: list[tuple[str, str, str]] = []
    for model, ccs in sorted(missing.items()):
        listed = ", ".join(repr(cc) for cc in ccs)
        lacks = (
            f"model {model!r} of release {release.digest} has no TensorRT {tensorrt_version} engine for "
            f"compute capability {listed}"
        )
        if not build_missing_engines:
            why = (
                f"{lacks} (this stack's GPU); add {listed} to publisher.computeCapabilities "
                f"of {from_stack} (on a GPU pool of that architecture), publish there and promote the new "
                "digest, or set release.buildMissingEngines: true to build them here from the release's ONNX"
            )
            problems.append(("release", why, example))
        elif release.manifest.model(model).onnx_sha256 is None:
            why = (
                f"{lacks} and records no ONNX to build one from (it was published "
                f"before releases kept their ONNX); bump models[].revision of {model!r} on {from_stack} "
                "and run `pulumi up` there (the new version records its ONNX), then promote the new "
                f"digest, or add {listed} to publisher.computeCapabilities of {from_stack}"
            )
            problems.append(("release.buildMissingEngines", why, example))
    return problems
