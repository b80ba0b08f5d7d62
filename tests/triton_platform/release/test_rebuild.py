"""release.buildMissingEngines: a promotion builds the engine its GPU lacks from the release's ONNX, once.

The upstream publishes a TensorRT model for compute capability 8.0 with the real pipeline (a
recording builder stands in for TensorRT, which cannot run here) and keeps its release; the
promoting stack runs on 9.0. The ReleasePromotion provider builds exactly the 9.0 engine, from
the ONNX blob whose sha256 the release records, serves both engines with cc_model_filenames, and
records the rebuild in the manifest (its own digest) and the history (both digests). A second run
builds nothing. Stores are in-memory (tests/support/fakes.MemoryStore) behind ``open_store``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from components.providers.release_promotion import ReleasePromotionProvider
from tests.support.fakes import MemoryStore, RecordingEngineBuilder
from tests.support.release import MODEL, TENSORRT, UPSTREAM, promote_props, publish_upstream, upstream_release
from triton_platform.publisher import fingerprint
from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.spec import ModelSpec
from triton_platform.publisher.stores.ref import StoreRef
from triton_platform.release.manifest import Release
from triton_platform.release.promotion import blob_key, read_history, snapshot_release


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fingerprint.CACHE_ENV, str(tmp_path / "hash-cache"))


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> dict[str, MemoryStore]:
    """In-memory buckets by name, handed out by open_store (what the provider calls to reach a bucket)."""
    import triton_platform.publisher.stores as base

    buckets: dict[str, MemoryStore] = {}

    def open_memory(ref: Any) -> MemoryStore:
        ref = StoreRef.model_validate(ref) if not isinstance(ref, StoreRef) else ref
        return buckets.setdefault(ref.bucket, MemoryStore(ref))

    monkeypatch.setattr(base, "open_store", open_memory)
    return buckets


def test_the_missing_engine_is_built_once_from_the_releases_onnx_and_recorded(
    stores: dict[str, MemoryStore], tmp_path: Path
) -> None:
    from google.protobuf import text_format
    from tritonclient.grpc.model_config_pb2 import ModelConfig

    import triton_platform.publisher.stores as base

    dev_ref = {"kind": "s3", "bucket": "dev-models", "endpoint_url": "http://127.0.0.1:9000"}
    prod_ref = {"kind": "s3", "bucket": "prod-models", "endpoint_url": "http://127.0.0.1:9000"}
    upstream_builder = RecordingEngineBuilder()
    release, onnx_sha = publish_upstream(base.open_store(dev_ref), dev_ref, tmp_path / "dev", upstream_builder)
    dev, prod = stores["dev-models"], base.open_store(prod_ref)
    (model,) = release.manifest.models
    assert model.onnx_sha256 == onnx_sha
    assert [e.compute_capability for e in model.engines] == ["8.0"]
    # The ONNX is kept with the release (the local builder never put it into the engine cache).
    assert dev.read_bytes(blob_key(dev, onnx_sha)) == (tmp_path / "dev" / "mlp.onnx").read_bytes()

    builder = RecordingEngineBuilder()
    provider = ReleasePromotionProvider(builder=builder)
    props = promote_props(release, dev_ref, prod_ref)
    assert provider.check({}, props).failures == []
    outs = provider.create(props).outs
    assert outs is not None
    # Exactly the missing engine, once, from bytes that hash to the release's ONNX sha256.
    assert builder.built == [(MODEL, "9.0", onnx_sha)]

    served = Release.parse(
        {"digest": outs["release_digest"], "manifest": outs["release_manifest"]}, where="prod"
    ).manifest
    assert outs["digest"] == release.digest
    assert outs["release_digest"] != release.digest
    assert served.rebuilt_from == release.digest
    (rebuilt,) = served.rebuilt_engines
    assert (rebuilt.model, rebuilt.compute_capability, rebuilt.tensorrt_version) == (MODEL, "9.0", TENSORRT)
    assert rebuilt.onnx_sha256 == onnx_sha
    assert rebuilt.engine_key == fingerprint.engine_key(
        onnx_sha, ModelSpec(name=MODEL, source="x", format="tensorrt", precision="fp16"), TENSORRT, "9.0"
    )
    assert outs["rebuilt_engines"] == [rebuilt.model_dump(by_alias=True, mode="json")]
    entry = served.model(MODEL)
    assert [(e.compute_capability, e.tensorrt_version) for e in entry.engines] == [("8.0", TENSORRT), ("9.0", TENSORRT)]
    # The upstream's engine keeps its name and bytes; the new one is named for its architecture.
    assert sorted(entry.files) == ["model.plan", "model.sm90.plan"]
    v = entry.version
    sm80 = prod.read_bytes(prod.ref.served_key(MODEL, str(v), "model.plan"))
    assert sm80 == dev.read_bytes(dev.ref.served_key(MODEL, str(v), "model.plan"))
    sm90 = prod.read_bytes(prod.ref.served_key(MODEL, str(v), "model.sm90.plan"))
    assert sm90 is not None
    assert hashlib.sha256(sm90).hexdigest() == rebuilt.sha256
    assert f"sm9.0 onnx {onnx_sha}".encode() in sm90
    # config.pbtxt names both engines, parsed with Triton's own ModelConfig.
    text = prod.read_bytes(prod.ref.served_key(MODEL, "config.pbtxt"))
    assert text is not None
    assert hashlib.sha256(text).hexdigest() == entry.config_sha256
    config = text_format.Parse(text.decode(), ModelConfig())
    assert dict(config.cc_model_filenames) == {"8.0": "model.plan", "9.0": "model.sm90.plan"}
    assert config.platform == "tensorrt_plan"
    # Everything else is the upstream's config as it was (rendered from the spec by the publisher).
    upstream = text_format.Parse(
        (dev.read_bytes(dev.ref.served_key(MODEL, "config.pbtxt")) or b"").decode(), ModelConfig()
    )
    config.ClearField("cc_model_filenames")
    assert config == upstream
    assert list(config.version_policy.specific.versions) == [v]
    # The history shows both digests; the bucket keeps the rebuilt release's manifest and its blobs.
    (entry_h,) = read_history(prod)
    assert (entry_h.digest, entry_h.upstreamDigest, entry_h.fromStack) == (served.digest(), release.digest, UPSTREAM)
    assert [(h["digest"], h["upstreamDigest"]) for h in outs["history"]] == [(served.digest(), release.digest)]
    for sha in served.artifacts():
        assert prod.read_bytes(blob_key(prod, sha)) is not None, sha

    # A second run (a `pulumi up` after a refresh, or the provider version bumped) builds nothing.
    again = provider.update("id", outs, props).outs
    assert again is not None
    assert builder.built == [(MODEL, "9.0", onnx_sha)]
    assert again["release_digest"] == outs["release_digest"]
    assert again["objects_copied"] == 0
    assert len(read_history(prod)) == 1


def test_nothing_is_built_when_the_release_has_the_engine_and_the_digest_stays(
    stores: dict[str, MemoryStore], tmp_path: Path
) -> None:
    import triton_platform.publisher.stores as base

    dev_ref = {"kind": "s3", "bucket": "dev-models"}
    prod_ref = {"kind": "gcs", "bucket": "prod-models"}
    release, _ = publish_upstream(
        base.open_store(dev_ref), dev_ref, tmp_path / "dev", RecordingEngineBuilder(), ccs=("8.0", "9.0")
    )
    builder = RecordingEngineBuilder()
    outs = ReleasePromotionProvider(builder=builder).create(promote_props(release, dev_ref, prod_ref)).outs
    assert outs is not None
    assert builder.built == []
    assert outs["release_digest"] == outs["digest"] == release.digest
    assert outs["rebuilt_engines"] == []
    assert outs["history"][0]["upstreamDigest"] is None


def test_an_onnx_that_does_not_hash_to_the_release_is_refused_and_nothing_is_built_or_served(
    stores: dict[str, MemoryStore], tmp_path: Path
) -> None:
    import triton_platform.publisher.stores as base

    dev_ref = {"kind": "s3", "bucket": "dev-models"}
    prod_ref = {"kind": "s3", "bucket": "prod-models"}
    release, onnx_sha = publish_upstream(base.open_store(dev_ref), dev_ref, tmp_path / "dev", RecordingEngineBuilder())
    dev = stores["dev-models"]
    dev.put(blob_key(dev, onnx_sha), b"another model", sha256=onnx_sha)  # same name, other bytes
    builder = RecordingEngineBuilder()
    with pytest.raises(StoreError, match="sha256") as info:
        ReleasePromotionProvider(builder=builder).create(promote_props(release, dev_ref, prod_ref))
    assert blob_key(dev, onnx_sha) in str(info.value)
    assert builder.built == []
    prod = stores["prod-models"]
    assert prod.read_bytes(prod.ref.served_key(MODEL, "config.pbtxt")) is None


def test_a_release_whose_onnx_source_is_gone_is_not_kept_silently(
    stores: dict[str, MemoryStore], tmp_path: Path
) -> None:
    import triton_platform.publisher.stores as base

    dev_ref = {"kind": "s3", "bucket": "dev-models"}
    release, onnx_sha = publish_upstream(base.open_store(dev_ref), dev_ref, tmp_path / "dev", RecordingEngineBuilder())
    other = base.open_store({"kind": "s3", "bucket": "other-models"})
    for m in release.manifest.models:
        config = stores["dev-models"].read_bytes(stores["dev-models"].ref.served_key(m.name, "config.pbtxt"))
        assert config is not None
        other.upload_bytes(other.ref.served_key(m.name, "config.pbtxt"), config)
        for rel in m.files:
            data = stores["dev-models"].read_bytes(stores["dev-models"].ref.served_key(m.name, str(m.version), rel))
            assert data is not None
            other.upload_bytes(other.ref.served_key(m.name, str(m.version), rel), data)
    # No engine cache copy of the ONNX and no source: the snapshot says which model and what to do.
    with pytest.raises(StoreError, match=MODEL) as info:
        snapshot_release(other, release, sources={})
    assert onnx_sha in str(info.value)


def test_the_provider_diffs_on_the_rebuild_inputs_but_not_on_where_it_builds() -> None:
    provider = ReleasePromotionProvider()
    release = upstream_release("8.0")
    source = {"kind": "s3", "bucket": "dev-models"}
    target = {"kind": "gcs", "bucket": "prod-models"}
    props = promote_props(release, source, target)
    assert not provider.diff("id", props, promote_props(release, source, target)).changes
    moved = {"kind": "kubernetes", "kubeconfig_path": "/elsewhere/kubeconfig"}
    assert not provider.diff("id", props, promote_props(release, source, target, builder=moved)).changes
    assert provider.diff(
        "id", props, promote_props(release, source, target, compute_capabilities=["9.0", "8.6"])
    ).changes
    assert provider.diff("id", props, promote_props(release, source, target, build_missing_engines=False)).changes
    bad = promote_props(release, source, target, builder={"kind": "kubernetes"})
    (failure,) = provider.check({}, bad).failures
    assert "kubeconfig_path" in failure.reason


def test_a_bucket_serving_the_release_gets_the_new_engine_added_when_its_gpu_changes(
    stores: dict[str, MemoryStore], tmp_path: Path
) -> None:
    import triton_platform.publisher.stores as base

    dev_ref = {"kind": "s3", "bucket": "dev-models"}
    prod_ref = {"kind": "s3", "bucket": "prod-models"}
    release, onnx_sha = publish_upstream(base.open_store(dev_ref), dev_ref, tmp_path / "dev", RecordingEngineBuilder())
    builder = RecordingEngineBuilder()
    provider = ReleasePromotionProvider(builder=builder)
    # prod on A100 (8.0): the release as it is.
    first = provider.create(promote_props(release, dev_ref, prod_ref, compute_capabilities=["8.0"])).outs
    assert first is not None
    assert first["release_digest"] == release.digest
    prod = stores["prod-models"]
    v = release.manifest.model(MODEL).version
    served_before = prod.read_bytes(prod.ref.served_key(MODEL, str(v), "model.plan"))
    # Its GPU pool moves to H100 (9.0): the same version gains model.sm90.plan, nothing it served changes.
    props = promote_props(release, dev_ref, prod_ref, compute_capabilities=["9.0"])
    assert provider.diff("id", first, props).changes
    second = provider.update("id", first, props).outs
    assert second is not None
    assert builder.built == [(MODEL, "9.0", onnx_sha)]
    assert second["release_digest"] != release.digest
    assert prod.read_bytes(prod.ref.served_key(MODEL, str(v), "model.plan")) == served_before
    assert prod.read_bytes(prod.ref.served_key(MODEL, str(v), "model.sm90.plan")) is not None
    assert [(e.digest, e.upstreamDigest) for e in read_history(prod)] == [
        (second["release_digest"], release.digest),
        (release.digest, None),
    ]
