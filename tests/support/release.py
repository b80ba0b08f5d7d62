"""A release kept by an upstream stack, and the ReleasePromotion props a downstream stack sends.

``publish_upstream`` publishes with the real pipeline (a recording builder stands in for TensorRT)
and keeps the release as the publishing stack does; ``upstream_release`` is a release built from
outputs alone; ``promote_props`` are the promoting stack's provider props as they cross the wire.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from components.providers.release_promotion import ReleasePromotionArgs
from stacks.release import _sources
from tests.support.fakes import mlp_model, wire_floats
from triton_platform.catalog.versions import NGC_RELEASES
from triton_platform.publisher import pipeline
from triton_platform.publisher.spec import ModelSpec
from triton_platform.publisher.stores.base import ObjectStore
from triton_platform.publisher.stores.ref import StoreRef
from triton_platform.release.manifest import Release, engine_file, manifest_from_published
from triton_platform.release.promotion import snapshot_release

UPSTREAM = "acme/triton-platform/dev"
MODEL = "mlp-trt"
TRITON = "25.01"
TENSORRT = NGC_RELEASES[TRITON].tensorrt


# Where upstream_release's upstream keeps its models.
UPSTREAM_STORE = {"kind": "s3", "bucket": "acme-dev-models", "prefix": "models", "cache_prefix": "_cache"}


def sha_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def upstream_release(*capabilities: str, triton: str = "25.01", **recorded: Any) -> Release:
    """The upstream's release: one TensorRT model with engines for ``capabilities`` (and ``recorded``
    output fields of newer publishers)."""
    files = [
        {"path": engine_file(cc, capabilities), "size": 1, "sha256": sha_of(f"engine {cc}")} for cc in capabilities
    ]
    published = {
        "spec": {"name": "resnet50", "format": "tensorrt"},
        "version": 4,
        "source_fingerprint": sha_of("onnx"),
        "config_sha256": sha_of("config"),
        "files": files,
        "engine_objects": {cc: f"_cache/engines/resnet50/k/sm{cc.replace('.', '')}.plan" for cc in capabilities},
        "tensorrt_version": "10.8.0",
        **recorded,
    }
    return Release.of(manifest_from_published(triton, [published]), UPSTREAM_STORE)


def publish_upstream(
    store: ObjectStore, store_ref: dict[str, Any], base: Path, builder: Any, *, ccs: tuple[str, ...] = ("8.0",)
) -> tuple[Release, str]:
    """Publish a TensorRT model for ``ccs`` with the real pipeline and keep its release; (release, ONNX sha256)."""
    base.mkdir(parents=True, exist_ok=True)
    onnx = mlp_model(base / "mlp.onnx")
    spec = ModelSpec(name=MODEL, source="mlp.onnx", format="tensorrt", precision="fp16", max_batch_size=8)
    request = pipeline.PublishRequest(
        spec=spec,
        store=StoreRef.model_validate(store_ref),
        ngc_release=TRITON,
        compute_capabilities=list(ccs),
        source_fingerprint=pipeline.source_fingerprint(spec, base),
        base_dir=str(base),
    )
    state = pipeline.publish(request, builder=builder, store=store)
    # The ModelVersion's outputs as the program reads them: its inputs and what the provider returned.
    published = {
        "spec": spec.model_dump(by_alias=True, mode="json"),
        "source_fingerprint": request.source_fingerprint,
        "tensorrt_version": TENSORRT,
        "base_dir": str(base),
        **state.to_outputs(),
    }
    release = Release.of(manifest_from_published(TRITON, [wire_floats(published)]), store_ref)
    # What the publishing stack's ReleasePromotion (mode publish) does, with the sources the program passes.
    snapshot_release(store, release, sources=_sources([published]))
    return release, hashlib.sha256(onnx.read_bytes()).hexdigest()


def promote_props(release: Release, source: dict[str, Any], target: dict[str, Any], **over: Any) -> dict[str, Any]:
    """The promoting stack's ReleasePromotion props as they cross the wire."""
    args = ReleasePromotionArgs(
        mode="promote",
        digest=release.digest,
        manifest=release.manifest.to_json(),
        source_store=source,
        target_store=target,
        from_stack=UPSTREAM,
        build_missing_engines=True,
        compute_capabilities=["9.0"],
        builder={"kind": "local", "timeout_seconds": 600},
    )
    return wire_floats({**args.props(), **over})
