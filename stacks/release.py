"""Releases in a stack: export what it serves as a release, or serve the release another stack pinned.

A stack with ``models`` keeps the release its ModelVersions make (``ReleasePromotion`` in mode
``publish``) and exports ``release`` {digest, manifest, store} and ``releaseHistory``. A stack with
``release: {fromStack, digest}`` promotes instead of publishing: ``resolve_upstream`` reads the
upstream's ``release`` output through a ``pulumi.StackReference`` and checks it against this
stack's configuration *before anything else is registered*; ``deploy_release`` then copies it
into this stack's bucket (``ReleasePromotion`` in mode ``promote``) in place of the ModelPublisher.
With ``release.buildMissingEngines: true`` an engine the release lacks for this stack's GPU is built
there from the release's ONNX by this stack's engine builder; the stack then exports the release
that records the rebuild (its own digest), and ``releaseHistory`` both digests.

Why an awaited check: the pinned digest, Triton release and GPU architectures decide whether the
stack may exist at all, so a mismatch must fail like bad configuration, with no cluster or bucket
half-created. ``resolve_upstream`` is a coroutine that awaits
``StackReference.get_output_details("release")`` (pulumi/stack_reference.py); the program runs it
from its ``pulumi.run`` entrypoint (pulumi/runtime/stack.py: the entrypoint is awaited after the
module code) and builds the rest of the stack only after it returned. The StackReference is the
only resource registered before the check.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pulumi
from pydantic import ValidationError

from components.providers.props import store_input, validation_message
from components.providers.release_promotion import ReleasePromotion, ReleasePromotionArgs
from components.publisher.model_publisher import ModelPublisher
from triton_platform.catalog.versions import NGC_RELEASES
from triton_platform.config import NAMESPACE, ConfigError, Issue, PlatformConfig
from triton_platform.publisher.builders import BuilderRef
from triton_platform.publisher.stores import StoreRef, open_store
from triton_platform.publisher.wire import restore_ints
from triton_platform.release.manifest import (
    Release,
    ReleaseError,
    ReleaseManifest,
    manifest_from_published,
    missing_engines,
    pinned_release,
    release_problems,
)

UPSTREAM_RESOURCE = "release-upstream"
# What a ModelVersion's outputs must hold for its model's manifest entry.
_MANIFEST_PROPS = (
    "spec",
    "version",
    "source_fingerprint",
    "config_sha256",
    "files",
    "engine_objects",
    "tensorrt_version",
    "onnx_sha256",
    "build_options",
)


class UpstreamRelease(NamedTuple):
    """The upstream's release, read through ``reference`` and checked against this stack.

    ``store``: where the upstream keeps the release's artifacts (its ``release`` output's ``store``).
    """

    from_stack: str
    release: Release
    reference: pulumi.StackReference
    store: StoreRef


@dataclass
class ReleaseDeployment:
    """What deploy_release created, and the stack outputs ``release`` and ``releaseHistory``.

    ``resources``: what Triton waits for (the promotion that writes its model repository; nothing
    for a publishing stack, whose models the ModelPublisher writes). ``published_versions``: the
    versions a promotion serves (None for a publishing stack: the ModelPublisher's ``versions``).
    """

    resources: list[pulumi.Resource]
    published_versions: pulumi.Output[Mapping[str, int]] | None
    outputs: dict[str, Any] = field(default_factory=dict)
    release: ReleasePromotion | None = None

    @property
    def digest(self) -> pulumi.Output[str]:
        """The digest of the release this stack's bucket serves: the ``release`` output's (a rebuild's own)."""
        return pulumi.Output.from_input(self.outputs["release"]).apply(lambda r: r["digest"])


# resolve_upstream's result for deploy_release, keyed by (fromStack, digest): one program per process.
_RESOLVED: dict[tuple[str, str], UpstreamRelease] = {}


def _error(key: str, why: str, example: str | None) -> ConfigError:
    return ConfigError([Issue(f"{NAMESPACE}:{key}", why, example)], pulumi.get_stack())


async def resolve_upstream(cfg: PlatformConfig) -> UpstreamRelease | None:
    """Read and check the pinned upstream release; None for a stack that publishes its own models.

    Raises ConfigError (naming the key, both digests and the upstream stack) when the upstream
    exports no release, another digest (one it neither exports nor keeps), another Triton release,
    or no engine for this stack's GPU (with release.buildMissingEngines: a release that records no
    ONNX to build the engine from). An older digest the upstream keeps is a rollback: its manifest
    is read from the upstream's bucket (checked against the digest).
    """
    pinned = cfg.release
    if pinned is None:
        return None
    reference = pulumi.StackReference(UPSTREAM_RESOURCE, stack_name=pinned.from_stack)
    release, store = await _pinned(reference, pinned.from_stack, pinned.digest)
    problems = release_problems(
        release,
        from_stack=pinned.from_stack,
        pinned_digest=pinned.digest,
        triton_version=cfg.triton.version,
        compute_capabilities=cfg.compute_capabilities,
        tensorrt_version=NGC_RELEASES[cfg.triton.version].tensorrt,
        build_missing_engines=pinned.build_missing_engines,
    )
    if not problems and store is None:
        problems.append(
            ("release.fromStack", f"{pinned.from_stack} exports no release store to copy from", "a stack with models")
        )
    if problems or store is None:
        raise ConfigError([Issue(f"{NAMESPACE}:{k}", why, ex) for k, why, ex in problems], pulumi.get_stack())
    upstream = UpstreamRelease(pinned.from_stack, release, reference, store)
    _RESOLVED[(pinned.from_stack, pinned.digest)] = upstream
    return upstream


async def _pinned(reference: pulumi.StackReference, from_stack: str, digest: str) -> tuple[Release, StoreRef | None]:
    """The upstream's release (an older one it keeps, for a rollback to ``digest``) and its store."""
    details = await reference.get_output_details("release")
    value = details.value if details.value is not None else details.secret_value
    try:
        release = Release.parse(value, where=from_stack)
    except ReleaseError as exc:
        raise _error("release.fromStack", str(exc), "acme/triton-platform/dev") from None
    if release.store is None:
        return release, None
    try:
        store = StoreRef.model_validate(restore_ints(release.store))
    except ValidationError as err:
        why = f"{from_stack} exports a release store that is not valid ({validation_message(err, 'store')})"
        raise _error("release.fromStack", why, "a stack with models") from None
    if release.digest != digest:
        # A rollback: an older digest the upstream still keeps (its releaseHistory), read from its bucket.
        history = await reference.get_output_details("releaseHistory")
        kept = history.value if history.value is not None else history.secret_value
        release = pinned_release(release, kept, digest, functools.partial(_fetch_manifest, store)) or release
    return release, store


def rebuilds_engines(cfg: PlatformConfig) -> bool:
    """True when this stack may build engines while promoting (release.buildMissingEngines)."""
    return cfg.release is not None and cfg.release.build_missing_engines


def builds_engines(cfg: PlatformConfig) -> bool:
    """True when this stack builds TensorRT engines: it publishes TensorRT models, or rebuilds while promoting.

    The compositions give the engine builder its ServiceAccount and identity when this and
    ``cfg.builder == "kubernetes"`` hold.
    """
    return any(m.format == "tensorrt" for m in cfg.models) or rebuilds_engines(cfg)


def _lacking(cfg: PlatformConfig, release: Release) -> dict[str, list[str]]:
    return missing_engines(release.manifest, cfg.compute_capabilities, NGC_RELEASES[cfg.triton.version].tensorrt)


def _source_of(spec: Mapping[str, Any], base_dir: str | None) -> dict[str, str]:
    """Where this machine finds a TensorRT model's ONNX (and calibration cache): absolute path or URI."""
    out: dict[str, str] = {}
    for what, key in (("onnx", "source"), ("calibration", "calibrationCache")):
        where = spec.get(key) or spec.get("calibration_cache" if what == "calibration" else key)
        if not where:
            continue
        where = str(where)
        out[what] = where if "://" in where else os.path.abspath(os.path.join(base_dir or ".", where))
    return out


def _sources(published: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    return {
        str(p["spec"]["name"]): _source_of(p["spec"], p.get("base_dir"))
        for p in published
        if isinstance(p.get("spec"), Mapping) and p["spec"].get("format") == "tensorrt"
    }


def _fetch_manifest(store: StoreRef, digest: str) -> bytes | None:
    """The canonical manifest an upstream bucket keeps for ``digest`` (None when it does not)."""
    from triton_platform.release.promotion import release_key  # the promotion work: only for a pinned release

    upstream = open_store(store)
    return upstream.read_bytes(release_key(upstream, digest))


def _published_manifest(triton_version: str, published: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    # None until every ModelVersion has published (a test runtime that fills in no provider outputs).
    if any(p.get("version") is None for p in published):
        return None
    return manifest_from_published(triton_version, published).to_json()


def _digest_of(manifest: Mapping[str, Any] | None) -> str | None:
    return None if manifest is None else ReleaseManifest.model_validate(manifest).digest()


def _release_output(digest: Any, manifest: Any, store: StoreRef | pulumi.Output[StoreRef]) -> pulumi.Output[Any]:
    """The stack output ``release``: {digest, manifest, store} (the store as the providers get it)."""
    return pulumi.Output.all(digest, manifest, store_input(store)).apply(
        lambda a: {"digest": a[0], "manifest": a[1], "store": a[2]}
    )


def deploy_release(
    name: str,
    cfg: PlatformConfig,
    store: StoreRef | pulumi.Output[StoreRef],
    *,
    publisher: ModelPublisher | None,
    upstream: UpstreamRelease | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
    builder: BuilderRef | None = None,
) -> ReleaseDeployment:
    """Keep this stack's release or promote the pinned one; the outputs to export.

    ``store`` is the store the publisher uses (``StorageBinding.publisher_store``). The
    ReleasePromotion ``<name>-release`` is a child of ``publisher`` (the stack's ModelPublisher,
    with no models when the stack promotes), so every resource belongs to a component.
    ``builder``: the stack's engine builder (stacks.common.builder_ref), with which a promotion
    builds the engines the release lacks when release.buildMissingEngines is set.
    """
    pinned = cfg.release
    if pinned is None:
        if publisher is None:
            raise ValueError("deploy_release: a stack with models needs its ModelPublisher")
        return _keep_release(name, cfg, store, publisher, depends_on)
    upstream = upstream or _RESOLVED.get((pinned.from_stack, pinned.digest))
    if upstream is None:
        raise RuntimeError(
            "deploy_release: await stacks.release.resolve_upstream(cfg) first (from the program's pulumi.run "
            "entrypoint), so a bad upstream release fails before any resource is registered"
        )
    return _promote_release(name, cfg, store, upstream, publisher, depends_on, builder)


def _keep_release(
    name: str,
    cfg: PlatformConfig,
    store: StoreRef | pulumi.Output[StoreRef],
    publisher: ModelPublisher,
    depends_on: Sequence[pulumi.Resource],
) -> ReleaseDeployment:
    """A publishing stack: the release its ModelVersions make, kept in its own bucket and exported."""
    props = [
        pulumi.Output.all(**{key: getattr(resource, key) for key in _MANIFEST_PROPS})
        for resource in publisher.resources
    ]
    manifest = pulumi.Output.all(*props).apply(lambda ps: _published_manifest(cfg.triton.version, ps))
    # Where this machine finds each TensorRT model's ONNX, kept with the release for a later rebuild.
    sources = pulumi.Output.all(
        *[pulumi.Output.all(**{k: getattr(r, k) for k in ("spec", "base_dir")}) for r in publisher.resources]
    ).apply(_sources)
    kept = ReleasePromotion(
        f"{name}-release",
        ReleasePromotionArgs(
            mode="publish",
            digest=manifest.apply(_digest_of),
            manifest=manifest,
            source_store=store,
            target_store=store,
            sources=sources,
        ),
        pulumi.ResourceOptions(parent=publisher, depends_on=[*publisher.resources, *depends_on]),
    )
    return ReleaseDeployment(
        resources=[],
        published_versions=None,
        outputs={"release": _release_output(kept.digest, manifest, store), "releaseHistory": kept.history},
        release=kept,
    )


def _promote_release(
    name: str,
    cfg: PlatformConfig,
    store: StoreRef | pulumi.Output[StoreRef],
    upstream: UpstreamRelease,
    publisher: ModelPublisher | None,
    depends_on: Sequence[pulumi.Resource],
    builder: BuilderRef | None,
) -> ReleaseDeployment:
    """A stack pinning a release: it copied from the upstream's bucket (engines it lacks built first)."""
    release = upstream.release
    rebuilds = rebuilds_engines(cfg)
    promotion = ReleasePromotion(
        f"{name}-release",
        ReleasePromotionArgs(
            mode="promote",
            digest=release.digest,
            manifest=release.manifest.to_json(),
            source_store=upstream.store,
            target_store=store,
            from_stack=upstream.from_stack,
            build_missing_engines=rebuilds,
            compute_capabilities=list(cfg.compute_capabilities) if rebuilds else [],
            builder=builder if rebuilds else None,
        ),
        pulumi.ResourceOptions(
            parent=publisher,
            depends_on=list(depends_on),
            # modelRepository.retainOnDelete, as for published models: keep what was served.
            retain_on_delete=cfg.model_repository.retain_on_delete,
        ),
    )
    # resolve_upstream let a release without engines for this GPU through only with buildMissingEngines.
    if rebuilds and _lacking(cfg, release):
        # The release this bucket serves records the engines built here: its digest is known once they are.
        release_out = _release_output(promotion.release_digest, promotion.release_manifest, store)
    else:
        # Nothing rebuilt: exactly the upstream's release, digest for digest.
        release_out = _release_output(promotion.digest, release.manifest.to_json(), store)
    return ReleaseDeployment(
        resources=[promotion],
        published_versions=pulumi.Output.from_input({m.name: m.version for m in release.manifest.models}),
        outputs={"release": release_out, "releaseHistory": promotion.history},
        release=promotion,
    )
