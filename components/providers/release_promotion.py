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

from collections.abc import Mapping
from typing import Any, Literal

import pulumi
import pulumi.dynamic
from pydantic import Field, ValidationError, field_validator

from components.base import ComponentArgs
from components.providers.model_version import validate_builder_input, validate_store_input

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


def _restore(value: Any) -> Any:
    from triton_platform.publisher.pipeline import restore_ints

    return restore_ints(value)


def _release(props: Mapping[str, Any]) -> Any:
    from triton_platform.release.manifest import Release

    return Release.model_validate({"digest": props["digest"], "manifest": _restore(props["manifest"])})


def _stores(props: Mapping[str, Any]) -> tuple[Any, Any]:
    from triton_platform.publisher.stores.base import StoreRef

    return (
        StoreRef.model_validate(_restore(props["source_store"])),
        StoreRef.model_validate(_restore(props["target_store"])),
    )


class ReleasePromotionProvider(pulumi.dynamic.ResourceProvider):
    """Keeps or promotes one release per create/update; see the module docstring.

    ``builder``: an EngineBuilder to use instead of the one the ``builder`` input describes (tests).
    """

    serialize_as_secret_always = False

    def __init__(self, builder: Any = None) -> None:
        super().__init__()
        self._builder = builder

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        from pulumi.runtime import rpc

        failures: list[pulumi.dynamic.CheckFailure] = []
        for key in ("mode", "digest", "manifest", "source_store", "target_store"):
            if news.get(key) is None:
                failures.append(pulumi.dynamic.CheckFailure(key, f"{key} is required"))
        if failures or rpc.UNKNOWN in repr(news):
            return pulumi.dynamic.CheckResult(news, failures)
        try:
            _release(news)
            _stores(news)
            if news.get("builder"):
                from triton_platform.publisher.pipeline import BuilderRef

                BuilderRef.model_validate(_restore(news["builder"]))
        except ValidationError as err:
            for e in err.errors():
                where = ".".join(str(p) for p in e["loc"]) or "inputs"
                failures.append(pulumi.dynamic.CheckFailure(where, f"{where}: {e['msg']}"))
        return pulumi.dynamic.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        from pulumi.runtime import rpc

        if rpc.UNKNOWN in repr({k: news.get(k) for k in INPUT_KEYS}):
            return pulumi.dynamic.DiffResult(changes=True, replaces=[], delete_before_replace=False)
        try:
            _, old_target = _stores(olds)
            _, new_target = _stores(news)
        except (KeyError, ValidationError):
            return pulumi.dynamic.DiffResult(changes=True, replaces=[], delete_before_replace=False)
        replaces = (
            ["target_store"] if any(getattr(old_target, f) != getattr(new_target, f) for f in _STORE_IDENTITY) else []
        )
        changed = bool(replaces) or any(_restore(olds.get(k)) != _restore(news.get(k)) for k in _SERVED_INPUTS)
        return pulumi.dynamic.DiffResult(changes=changed, replaces=replaces, stables=[], delete_before_replace=False)

    def _run(self, props: Mapping[str, Any]) -> dict[str, Any]:
        from triton_platform.publisher.errors import PublisherError
        from triton_platform.publisher.progress import Progress
        from triton_platform.publisher.stores.base import open_store
        from triton_platform.release.manifest import ReleaseError
        from triton_platform.release.promotion import promote_release, snapshot_release

        release = _release(props)
        source_ref, target_ref = _stores(props)
        keep = int(_restore(props.get("keep") or 5))
        progress = Progress()
        served: Any = release
        rebuilt: list[Any] = []
        try:
            if props["mode"] == "publish":
                sources = _restore(props.get("sources") or {})
                result = snapshot_release(
                    open_store(target_ref), release, keep=keep, progress=progress, sources=sources
                )
            else:
                source, target = open_store(source_ref), open_store(target_ref)
                if props.get("build_missing_engines"):
                    served, rebuilt = self._rebuild(props, source, target, release, progress)
                result = promote_release(
                    source,
                    target,
                    served,
                    from_stack=str(props.get("from_stack") or ""),
                    keep=keep,
                    progress=progress,
                    derived_from=release if served is not release else None,
                )
        except (PublisherError, ReleaseError):
            raise
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

    def _rebuild(
        self, props: Mapping[str, Any], source: Any, target: Any, release: Any, progress: Any
    ) -> tuple[Any, list[Any]]:
        """The release to serve: ``release`` plus the engines it lacks for ``compute_capabilities``, built here."""
        import tempfile
        from pathlib import Path

        from triton_platform.publisher.pipeline import BuilderRef
        from triton_platform.release.rebuild import rebuild_missing_engines

        ref = BuilderRef.model_validate(_restore(props.get("builder") or {"kind": "local"}))
        with tempfile.TemporaryDirectory(prefix="triton-rebuild-") as tmp:
            done = rebuild_missing_engines(
                source,
                target,
                release,
                compute_capabilities=[str(cc) for cc in props.get("compute_capabilities") or []],
                builder=self._builder or ref.make(),
                workdir=Path(tmp),
                progress=progress,
                timeout_seconds=ref.timeout_seconds,
                builder_reads_bucket=ref.kind == "kubernetes",
            )
        for model, cc in done.built:
            progress.note(f"{model}: built the TensorRT engine for compute capability {cc} from the release's ONNX")
        return done.release, done.rebuilt

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
        from triton_platform.publisher.stores.base import open_store
        from triton_platform.release.promotion import remove_release

        _, target = _stores(props)
        remove_release(open_store(target), _release(props).manifest)


class ReleasePromotionArgs(ComponentArgs):
    """What to keep or promote, and between which stores (StoreRef dicts or Outputs of them, never credentials)."""

    mode: Literal["publish", "promote"]
    digest: Any
    manifest: Any
    # publish: the stack's own store (= target); promote: the upstream's store from its `release` output.
    source_store: Any
    target_store: Any
    from_stack: str | None = Field(default=None, examples=["acme/triton-platform/dev"])
    keep: int = Field(default=5, ge=2, le=100)
    # promote: build the engines the release lacks for these compute capabilities (this stack's GPUs)
    # with this builder (a BuilderRef dict: stacks.common._builder_settings).
    build_missing_engines: bool = False
    compute_capabilities: list[str] = Field(default_factory=list, examples=[["9.0"]])
    builder: Any = None
    # publish: per TensorRT model, where this machine finds its ONNX (and calibration cache) to keep
    # it with the release when no Kubernetes build put it into the bucket: {model: {onnx: path or URI}}.
    sources: Any = None

    @field_validator("source_store", "target_store")
    @classmethod
    def _store(cls, value: Any) -> Any:
        return validate_store_input(value)

    @field_validator("builder")
    @classmethod
    def _builder(cls, value: Any) -> Any:
        return None if value is None or isinstance(value, pulumi.Output) else validate_builder_input(value)

    def props(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "digest": self.digest,
            "manifest": self.manifest,
            "source_store": self.source_store,
            "target_store": self.target_store,
            "from_stack": self.from_stack,
            "keep": self.keep,
            "provider_version": PROVIDER_VERSION,
            "build_missing_engines": self.build_missing_engines,
            "compute_capabilities": list(self.compute_capabilities),
            "builder": self.builder,
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
