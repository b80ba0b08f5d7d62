"""The ReleasePromotion dynamic resource: keeps a stack's release, or promotes another stack's into its bucket.

``mode: publish`` (a stack with ``models``): after its ModelVersions, the release they make is kept
in the stack's own bucket (files as content-addressed blobs, the canonical manifest, the history),
so the release outlives the versions the publisher later retires and can be promoted.
``mode: promote`` (a stack with ``release``): the pinned release is copied from the upstream's
bucket into this one, every object verified by sha256, configs last, the previous release kept
until this one serves. With ``build_missing_engines`` (release.buildMissingEngines) an engine the
release lacks for one of this stack's ``compute_capabilities`` is first built from the release's
ONNX with this stack's ``builder`` (triton_platform.release.rebuild); the release it serves then
records the rebuild and has its own digest (``release_digest``, ``release_manifest``). The work
happens in :mod:`triton_platform.release.promotion`.

Dynamic-provider rules as in components/providers/model_version.py: no clients at import time (created in
the methods), no credentials among the inputs (store descriptors say where credentials come from
at run time), every output declared in the props, props parsed back into the typed models
(protobuf Structs turn every int into a float).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pulumi
import pulumi.dynamic
from pydantic import Field, ValidationError, field_validator

from components.base import ComponentArgs
from components.providers.props import (
    builder_props,
    check_parts,
    parse_builder,
    parse_store,
    required,
    store_arg,
    store_input,
    unknown,
    validation_failures,
    validation_message,
)
from triton_platform.publisher import stores
from triton_platform.publisher.builders import BuilderRef
from triton_platform.publisher.errors import PublisherError
from triton_platform.publisher.stores import StoreRef
from triton_platform.publisher.wire import restore_ints
from triton_platform.release.manifest import RebuiltEngine, Release, ReleaseError

# The release work (triton_platform.release.promotion, .rebuild, the engine builders) is imported in
# the provider's methods: they run in the provider host, and the Pulumi program that registers the
# resource needs only the resource and its args (bench/program_eval.py).
if TYPE_CHECKING:
    from triton_platform.publisher.builders import EngineBuilder
    from triton_platform.publisher.progress import Progress
    from triton_platform.publisher.stores import ObjectStore
    from triton_platform.release.promotion import PromotionResult
    from triton_platform.release.rebuild import RebuildResult

# Bump when the provider's behaviour changes so every ReleasePromotion runs again.
PROVIDER_VERSION = "2"
INPUT_KEYS = (
    "mode",
    "digest",
    "manifest",
    "source_store",
    "target_store",
    "from_stack",
    "keep",
    "provider_version",
    "build_missing_engines",
    "compute_capabilities",
    "builder",
    "sources",
)
# release_digest / release_manifest: what this bucket serves (the pinned release, or it plus rebuilt engines).
OUTPUT_KEYS = (
    "release_key",
    "history",
    "objects_copied",
    "bytes_copied",
    "seconds",
    "release_digest",
    "release_manifest",
    "rebuilt_engines",
)
# Inputs whose change changes what is served. ``builder`` and ``sources`` say where engines are built
# and where this machine finds a model's files: they differ between machines and change no byte served.
_SERVED_INPUTS = ("mode", "digest", "from_stack", "provider_version", "build_missing_engines", "compute_capabilities")
_STORE_IDENTITY = ("kind", "bucket", "prefix", "cache_prefix", "endpoint_url", "account_url")


def _release(props: Mapping[str, Any]) -> Release:
    return Release.model_validate({"digest": props["digest"], "manifest": restore_ints(props["manifest"])})


def _stores(props: Mapping[str, Any]) -> tuple[StoreRef, StoreRef]:
    return parse_store(props["source_store"]), parse_store(props["target_store"])


def _keep_count(props: Mapping[str, Any]) -> int:
    return int(restore_ints(props.get("keep") or 5))


class ReleasePromotionProvider(pulumi.dynamic.ResourceProvider):
    """Keeps or promotes one release per create/update; see the module docstring.

    ``builder``: an EngineBuilder to use instead of the one the ``builder`` input describes (tests).
    """

    serialize_as_secret_always = False

    def __init__(self, builder: Any = None) -> None:
        super().__init__()
        self._builder = builder

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        failures = required(news, ("mode", "digest", "manifest", "source_store", "target_store"))
        if failures or unknown(news):
            return pulumi.dynamic.CheckResult(news, failures)
        try:
            _release(news)
        except ValidationError as err:
            failures = validation_failures(err)
        failures += check_parts(news, {"source_store": StoreRef, "target_store": StoreRef, "builder": BuilderRef})
        return pulumi.dynamic.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        if unknown({k: news.get(k) for k in INPUT_KEYS}):
            return pulumi.dynamic.DiffResult(changes=True, replaces=[], delete_before_replace=False)
        try:
            _, old_target = _stores(olds)
            _, new_target = _stores(news)
        except (KeyError, ValidationError):
            return pulumi.dynamic.DiffResult(changes=True, replaces=[], delete_before_replace=False)
        replaces = (
            ["target_store"] if any(getattr(old_target, f) != getattr(new_target, f) for f in _STORE_IDENTITY) else []
        )
        changed = bool(replaces) or any(restore_ints(olds.get(k)) != restore_ints(news.get(k)) for k in _SERVED_INPUTS)
        return pulumi.dynamic.DiffResult(changes=changed, replaces=replaces, stables=[], delete_before_replace=False)

    def _run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        from triton_platform.publisher.progress import Progress

        release = _release(props)
        progress = Progress()
        try:
            if props["mode"] == "publish":
                served, rebuilt, result = release, list[RebuiltEngine](), self._keep(props, release, progress)
            else:
                served, rebuilt, result = self._promote(props, release, progress)
        except (PublisherError, ReleaseError):
            raise
        except ValidationError as err:
            raise PublisherError(f"release {release.digest}: invalid inputs: {validation_message(err)}") from None
        except Exception as exc:
            raise PublisherError(
                f"release {release.digest}: {props['mode']} failed ({type(exc).__name__}: {exc}); the previous "
                "release keeps serving; fix the cause and run `pulumi up` again"
            ) from exc
        finally:
            progress.close()
        return {
            **result.to_outputs(),
            "digest": release.digest,
            "release_digest": served.digest,
            "release_manifest": served.manifest.to_json(),
            "rebuilt_engines": [r.model_dump(by_alias=True, mode="json") for r in rebuilt],
        }

    def _keep(self, props: Mapping[str, Any], release: Release, progress: Progress) -> PromotionResult:
        """mode publish: keep the release the stack's ModelVersions made in its own bucket."""
        from triton_platform.release.promotion import snapshot_release

        _, target = _stores(props)
        sources = restore_ints(props.get("sources") or {})
        return snapshot_release(
            stores.open_store(target), release, keep=_keep_count(props), progress=progress, sources=sources
        )

    def _promote(
        self, props: Mapping[str, Any], release: Release, progress: Progress
    ) -> tuple[Release, list[RebuiltEngine], PromotionResult]:
        """mode promote: the release this bucket serves (with the engines built here), what was built, the copy."""
        from triton_platform.release.promotion import promote_release

        source_ref, target_ref = _stores(props)
        source, target = stores.open_store(source_ref), stores.open_store(target_ref)
        served, rebuilt = release, list[RebuiltEngine]()
        if props.get("build_missing_engines"):
            done = self._rebuild(props, source, target, release, progress)
            served, rebuilt = done.release, done.rebuilt
        result = promote_release(
            source,
            target,
            served,
            from_stack=str(props.get("from_stack") or ""),
            keep=_keep_count(props),
            progress=progress,
            derived_from=release if served is not release else None,
        )
        return served, rebuilt, result

    def _rebuild(
        self, props: Mapping[str, Any], source: ObjectStore, target: ObjectStore, release: Release, progress: Progress
    ) -> RebuildResult:
        """``release`` plus the engines it lacks for ``compute_capabilities``, built here with the stack's builder."""
        from triton_platform.publisher.builders import open_builder
        from triton_platform.release.rebuild import rebuild_missing_engines

        ref = parse_builder(props.get("builder"))
        builder: EngineBuilder = self._builder or open_builder(ref)
        with tempfile.TemporaryDirectory(prefix="triton-rebuild-") as tmp:
            done = rebuild_missing_engines(
                source,
                target,
                release,
                compute_capabilities=[str(cc) for cc in props.get("compute_capabilities") or []],
                builder=builder,
                workdir=Path(tmp),
                progress=progress,
                timeout_seconds=ref.timeout_seconds,
                builder_reads_bucket=ref.kind == "kubernetes",
            )
        for model, cc in done.built:
            progress.note(f"{model}: built the TensorRT engine for compute capability {cc} from the release's ONNX")
        return done

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        outs = self._run(props)
        _, target = _stores(props)
        resource_id = f"{target.kind}://{target.bucket}/{target.cache_prefix}/releases"
        return pulumi.dynamic.CreateResult(resource_id, {**{k: props.get(k) for k in INPUT_KEYS}, **outs})

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult({**{k: news.get(k) for k in INPUT_KEYS}, **self._run(news)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        # A promoted release is this resource's: stop serving it (configs first). A kept release
        # of a publishing stack stays: its models belong to the ModelVersions, its blobs to the history.
        if props.get("mode") != "promote":
            return
        from triton_platform.release.promotion import remove_release

        _, target = _stores(props)
        remove_release(stores.open_store(target), _release(props).manifest)


class ReleasePromotionArgs(ComponentArgs):
    """What to keep or promote, and between which stores (StoreRefs or Outputs of them, never credentials)."""

    mode: Literal["publish", "promote"]
    digest: Any
    manifest: Any
    # publish: the stack's own store (= target); promote: the upstream's store from its `release` output.
    source_store: StoreRef | pulumi.Output[StoreRef]
    target_store: StoreRef | pulumi.Output[StoreRef]
    from_stack: str | None = Field(default=None, examples=["acme/triton-platform/dev"])
    keep: int = Field(default=5, ge=2, le=100)
    # promote: build the engines the release lacks for these compute capabilities (this stack's GPUs)
    # with this builder (the stack's: stacks.common.builder_ref).
    build_missing_engines: bool = False
    compute_capabilities: list[str] = Field(default=[], examples=[["9.0"]])
    builder: BuilderRef | None = None
    # publish: per TensorRT model, where this machine finds its ONNX (and calibration cache) to keep
    # it with the release when no Kubernetes build put it into the bucket: {model: {onnx: path or URI}}.
    sources: Any = None

    @field_validator("source_store", "target_store", mode="before")
    @classmethod
    def _store(cls, value: Any) -> Any:
        return store_arg(value)

    def props(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "digest": self.digest,
            "manifest": self.manifest,
            "source_store": store_input(self.source_store),
            "target_store": store_input(self.target_store),
            "from_stack": self.from_stack,
            "keep": self.keep,
            "provider_version": PROVIDER_VERSION,
            "build_missing_engines": self.build_missing_engines,
            "compute_capabilities": list(self.compute_capabilities),
            "builder": builder_props(self.builder) if self.builder is not None else None,
            "sources": self.sources,
        }


class ReleasePromotion(pulumi.dynamic.Resource, module="triton", name="ReleasePromotion"):
    """The release kept in (or promoted into) a bucket; ``history`` is the bucket's release history."""

    digest: pulumi.Output[str]
    release_key: pulumi.Output[str]
    history: pulumi.Output[list[dict[str, Any]]]
    objects_copied: pulumi.Output[int]
    bytes_copied: pulumi.Output[int]
    seconds: pulumi.Output[float]
    release_digest: pulumi.Output[str]
    release_manifest: pulumi.Output[dict[str, Any]]
    rebuilt_engines: pulumi.Output[list[dict[str, Any]]]

    def __init__(self, name: str, args: ReleasePromotionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        props = args.props()
        props.update(dict.fromkeys(OUTPUT_KEYS))
        super().__init__(ReleasePromotionProvider(), name, props, opts)


__all__ = ["ReleasePromotion", "ReleasePromotionArgs", "ReleasePromotionProvider"]
