"""release.buildMissingEngines against moto (S3): the promoted repository carries both engines.

"dev" publishes a TensorRT model for compute capability 8.0 with the real pipeline into a moto
bucket and keeps its release; "prod" (9.0) promotes it with the ReleasePromotion provider, its
builder settings those of a Kubernetes Job (which reads the ONNX from the bucket). A recording
builder stands in for TensorRT (not installable here) and reads the ONNX only from the bucket,
as the Job does. Everything is read back from moto: both engines by sha256, config.pbtxt parsed
with tritonclient's ModelConfig naming both in cc_model_filenames, the ONNX kept with the
promoted release; a second run builds nothing, and promoting prod's release on to a third
bucket on a 9.0 GPU builds nothing either and keeps prod's digest.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import text_format
from tritonclient.grpc.model_config_pb2 import ModelConfig

from components.providers.release_promotion import ReleasePromotionProvider
from tests.support import servers
from tests.support.fakes import RecordingEngineBuilder
from tests.support.release import MODEL, promote_props, publish_upstream
from triton_platform.publisher import fingerprint
from triton_platform.publisher.stores import ObjectStore, open_store
from triton_platform.release.manifest import Release
from triton_platform.release.promotion import blob_key, read_history, release_key

pytestmark = pytest.mark.integration


class BucketOnlyBuilder(RecordingEngineBuilder):
    """Reads the ONNX from ``job.onnx_object`` in the bucket only, as the Kubernetes Job's init container does."""

    def build(self, job: Any, store: ObjectStore, progress: Any) -> None:
        super().build(job.model_copy(update={"onnx_path": None}), store, progress)


@pytest.mark.timeout(120)
def test_a_promotion_to_another_gpu_builds_the_missing_engine_and_serves_both_from_moto(
    moto_env: servers.S3Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(fingerprint.CACHE_ENV, str(tmp_path / "hash-cache"))
    dev_ref, prod_ref = servers.new_bucket(moto_env, "rebuild"), servers.new_bucket(moto_env, "rebuild")
    dev, prod = open_store(dev_ref), open_store(prod_ref)
    release, onnx_sha = publish_upstream(dev, dev_ref, tmp_path / "dev", RecordingEngineBuilder())
    assert dev.read_bytes(blob_key(dev, onnx_sha)) == (tmp_path / "dev" / "mlp.onnx").read_bytes()

    builder = BucketOnlyBuilder()
    provider = ReleasePromotionProvider(builder=builder)
    kubernetes = {"kind": "kubernetes", "kubeconfig_path": str(tmp_path / "kubeconfig"), "timeout_seconds": 600}
    props = promote_props(release, dev_ref, prod_ref, builder=kubernetes)
    outs = provider.create(props).outs
    assert outs is not None
    assert builder.built == [(MODEL, "9.0", onnx_sha)]
    # The Job's input: the release's ONNX in this bucket's content-addressed cache, recorded sha256 and all.
    cached = prod.stat(fingerprint.onnx_object_key(prod.ref.cache_prefix, onnx_sha))
    assert cached is not None
    assert cached.sha256 == onnx_sha

    served = Release.parse({"digest": outs["release_digest"], "manifest": outs["release_manifest"]}, where="prod")
    assert served.digest != release.digest
    assert served.manifest.rebuilt_from == release.digest
    entry = served.manifest.model(MODEL)
    # The upstream's single engine keeps its name (model.plan); the rebuilt one is named for its architecture.
    names = {"8.0": "model.plan", "9.0": "model.sm90.plan"}
    for engine in entry.engines:
        data = prod.read_bytes(prod.ref.served_key(MODEL, str(entry.version), names[engine.compute_capability]))
        assert data is not None
        assert hashlib.sha256(data).hexdigest() == engine.sha256
    upstream_engine = release.manifest.model(MODEL).engines[0]
    assert entry.engines[0] == upstream_engine
    text = prod.read_bytes(prod.ref.served_key(MODEL, "config.pbtxt"))
    assert text is not None
    assert hashlib.sha256(text).hexdigest() == entry.config_sha256
    config = text_format.Parse(text.decode("utf-8"), ModelConfig())
    assert dict(config.cc_model_filenames) == names
    assert config.name == MODEL
    assert config.platform == "tensorrt_plan"
    assert list(config.version_policy.specific.versions) == [entry.version]
    served_keys = sorted(o.key for o in prod.list(prod.ref.served_key(MODEL) + "/"))
    assert served_keys == sorted(
        [prod.ref.served_key(MODEL, "config.pbtxt")]
        + [prod.ref.served_key(MODEL, str(entry.version), n) for n in names.values()]
    )
    # The promoted release is kept like any other, ONNX included, and the history names both digests.
    assert prod.read_bytes(release_key(prod, served.digest)) == served.manifest.canonical()
    assert prod.read_bytes(blob_key(prod, onnx_sha)) == dev.read_bytes(blob_key(dev, onnx_sha))
    assert [(e.digest, e.upstreamDigest) for e in read_history(prod)] == [(served.digest, release.digest)]

    # Again: the engine is in the cache, nothing is built or copied, the digest is the same.
    again = provider.update("id", outs, props).outs
    assert again is not None
    assert builder.built == [(MODEL, "9.0", onnx_sha)]
    assert (again["release_digest"], again["objects_copied"]) == (served.digest, 0)

    # prod's release promoted on to another 9.0 stack: it has the engine, nothing is rebuilt, same digest.
    edge_ref = servers.new_bucket(moto_env, "rebuild")
    onward = Release.of(served.manifest, prod_ref)
    edge_builder = BucketOnlyBuilder()
    edge = ReleasePromotionProvider(builder=edge_builder).create(
        promote_props(onward, prod_ref, edge_ref, builder=kubernetes)
    )
    assert edge.outs is not None
    assert edge_builder.built == []
    assert edge.outs["release_digest"] == served.digest
